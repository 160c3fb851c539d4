"""The report builder (mgmeta.report) on small notebooks written here.

The real notebooks are executed in tests/test_notebooks.py; these tests check
the machinery: execution from scratch with parameters injected, the stop at the
first error, the cell timeout, the pages for readers (formatted tables, folded
code, notes, "What this means", alt texts, key findings first), the figure
gallery, the data page, the checksums, versions and build date, and the
Makefile and CI contract. The same small report is opened in Chromium by
tests/test_report_browser.py.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from mgmeta import report
from mgmeta.errors import MgmetaError
from mgmeta.report import ReportError, build_report, data_checksums, save_figure

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

HEADER = """\
# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---
"""


def write_notebook(folder: Path, name: str, body: str, params: str = 'FIGURE_DIR = "figures"\nTABLE_DIR = "tables"') -> Path:
    """A py:percent notebook: title cell, parameters cell, then ``body`` (cells separated by '# %%')."""
    text = (HEADER + f"\n# %% [markdown]\n# # Title of {name}\n#\n# Summary of {name}.\n\n"
            f'# %% tags=["parameters"]\n{params}\n\n' + textwrap.dedent(body))
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    return path


FIGURE_BODY = """\
# %%
import matplotlib.pyplot as plt
import pandas as pd
from mgmeta.report import save_figure, save_table
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([0, 1], [0, 1])
save_figure(fig, "line", FIGURE_DIR)
save_table(pd.DataFrame({"a": [1, 2]}), "numbers", TABLE_DIR)
print("injected", FIGURE_DIR)
"""


#: A page for readers: every display of the report API, the raw pandas output the report must
#: re-format, a warning and a stderr line that must become notes, and the key findings of the index.
READERS_BODY = """\
# %%
import sys
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mgmeta import report

trials = pd.DataFrame({"study": ["Bigal 2002", "Cete 2005", "Demirkaya 2001"],
                       "estimate": [0.4567, 1.2, -0.0456], "ci_lower": [0.1, 0.5, None],
                       "pvalue": [0.0004, 0.07413, 0.9608776], "participants": [157.0, 60.0, np.nan],
                       "double_blind": [True, False, True], "i2": [42.46, 0.0, np.nan],
                       "notes": ["a <b>bold</b> claim", None, "see https://example.org/" + "x" * 120]})
report.show_table(trials, "trials", TABLE_DIR, caption="Three trials", notes="Estimates are log odds ratios.")

# %%
report.show_table(pd.DataFrame(np.arange(90).reshape(3, 30) / 7, columns=[f"column_number_{i}" for i in range(30)]),
                  "wide", TABLE_DIR)
report.show_table(pd.DataFrame({"trial": [f"Trial {i}" for i in range(40)], "events": range(40)}), "long", TABLE_DIR)

# %% [markdown]
# ## Raw pandas output

# %%
trials

# %%
trials["double_blind"].value_counts()

# %%
trials.style.format(precision=4, na_rep="NaN").hide(axis="index")

# %%
warnings.warn("tau² is on the boundary (0)", UserWarning)
print("an error line to stderr", file=sys.stderr)

# %% [markdown]
# ## Relief at 30 minutes

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot([0, 1, 2], [1, 0, 2], marker="o")
report.show_figure(fig, "relief", FIGURE_DIR, alt="Relief at 30 minutes. A line through three trials.",
                   caption="A *demo* figure.")

# %% [markdown]
# ## An inline chart

# %%
fig, ax = plt.subplots(figsize=(4, 2))
ax.bar([1, 2], [3, 4])

# %%
report.what_this_means("Magnesium **may** reduce pain at 30 minutes.\\n\\nThe evidence is of *low* certainty.")
report.note("Bigal 2002 reports no per-arm counts.")
report.sentence("One trial (Cete 2005): odds ratio 1.20 (95% CI 0.50 to 2.88).")
report.save_table(pd.DataFrame({
    "comparison": ["IV magnesium vs placebo", "IV magnesium vs placebo", "Oral magnesium vs placebo"],
    "outcome": ["Pain relief", "Adverse events", "Attack frequency"],
    "timepoint": ["30 min", "during the ED stay", "3 months"],
    "effect_text": ["OR 1.45 (0.80 to 2.63): 96 more per 1000 with relief", "OR 2.10 (1.10 to 4.00)",
                    "MD -1.2 attacks a month (-2.0 to -0.4)"],
    "studies": [3, 4, 2], "participants": [245, 310, None], "certainty": ["low", "very low", "moderate"],
    "certainty_symbols": ["⊕⊕◯◯", None, "⊕⊕⊕◯"],
    "statement": ["Magnesium may increase relief.", "Magnesium may increase adverse events.",
                  "Oral magnesium probably reduces attacks."]}), "key_findings", TABLE_DIR)
open(TABLE_DIR + "/key_findings_note.md", "w").write(
    "0 of 25 published pooled results could be recomputed; see [the readers page](03_readers.html).\\n")

# %% [markdown]
# ## A section after the closing one
"""


def build_small_report(base: Path) -> tuple:
    """Three small notebooks (a figure, an injected parameter, a page for readers) built into base/out."""
    nbs = base / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "01_first", FIGURE_BODY)
    write_notebook(nbs, "02_second", "# %%\nprint(EXTRA * 2)\n", params='FIGURE_DIR = "figures"\nTABLE_DIR = "tables"\nEXTRA = 1')
    write_notebook(nbs, "03_readers", READERS_BODY)
    (nbs / "README.md").write_text("not a notebook")
    lines: list[str] = []
    data = base / "data"  # a snapshot: the checksums are compared with the files the report read
    shutil.copytree(DATA, data)
    result = build_report(nbs, base / "out", data_dir=data, timeout=120, jobs=2, parameters={"EXTRA": 21},
                          log=lines.append)
    return result, base, lines


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_small_report(tmp_path_factory.mktemp("report"))


def test_report_pages_and_manifest(built):
    result, base, lines = built
    out = result.output_dir
    assert result.index == out / "index.html"
    for page in ("index.html", "gallery.html", "data.html", "01_first.html", "02_second.html", "manifest.json",
                 "notebooks/01_first.ipynb", "notebooks/02_second.ipynb"):
        assert (out / page).is_file(), page
    assert [nb.name for nb in result.notebooks] == ["01_first", "02_second", "03_readers"]  # not README.md
    assert result.notebooks[0].title == "Title of 01_first"
    assert result.notebooks[0].summary == "Summary of 01_first."
    index = (out / "index.html").read_text()
    for nb in result.notebooks:
        assert f'href="{nb.html}"' in index
        assert nb.title in index
    assert 'href="gallery.html"' in index and 'href="data.html"' in index
    manifest = json.loads((out / "manifest.json").read_text())
    assert [n["name"] for n in manifest["notebooks"]] == ["01_first", "02_second", "03_readers"]
    assert manifest["timeout"] == 120
    assert any("report written" in line for line in lines)


def test_parameters_injected_after_the_parameters_cell(built):
    result, _, _ = built
    import nbformat
    nb = nbformat.read(result.output_dir / "notebooks" / "02_second.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata["tags"]
    assert "injected-parameters" in code[1].metadata["tags"]
    assert "EXTRA = 21" in code[1].source
    assert code[2].outputs[0]["text"].strip() == "42"  # the injected value won
    # the figure folder is injected relative to the notebook folder (no absolute build path in the page)
    nb1 = nbformat.read(result.output_dir / "notebooks" / "01_first.ipynb", as_version=4)
    assert "FIGURE_DIR = '../out/figures/01_first'" in nb1.cells[2].source


def test_figures_written_by_named_notebooks(built):
    result, _, _ = built
    out = result.output_dir
    assert result.notebooks[0].figures == ("figures/01_first/line.png",)
    assert result.notebooks[1].figures == ()
    # show_figure writes a PNG and its SVG twin (one figure, not two) and the alt text beside them
    assert result.figures == ("figures/01_first/line.png", "figures/03_readers/relief.png")
    assert (out / "figures/03_readers/relief.svg").read_text().lstrip().startswith("<?xml")
    assert json.loads((out / "figures/03_readers/relief.json").read_text())["alt"].startswith("Relief at 30")
    assert result.notebooks[0].tables == ("tables/01_first/numbers.csv",)
    assert (out / "tables/01_first/numbers.csv").read_text() == "a\n1\n2\n"
    assert 'href="tables/01_first/numbers.csv"' in (out / "index.html").read_text()
    assert (out / "figures/01_first/line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gallery = (out / "gallery.html").read_text()
    assert 'src="figures/01_first/line.png"' in gallery and 'href="figures/03_readers/relief.svg"' in gallery
    assert 'alt="Relief at 30 minutes. A line through three trials."' in gallery
    assert "drawn by" in gallery and 'href="01_first.html"' in gallery
    # the plot tests' PNGs (build/gallery/) are a developer artefact, not part of the report
    assert "test-gallery" not in gallery and not (out / "test-gallery").exists()


def test_notebook_pages_are_static_and_embed_their_figures(built):
    result, _, _ = built
    page = (result.output_dir / "01_first.html").read_text()
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page), "inline figure not embedded"
    assert "<script src=" not in page  # no require.js / MathJax fetched from a CDN: the site works offline
    assert 'href="index.html"' in page  # navigation back to the index
    assert "Traceback" not in page


def test_checksums_versions_and_date(built):
    result, base, _ = built
    for name, digest in result.checksums.items():
        if name != "combined":
            assert digest == hashlib.sha256((base / "data" / name).read_bytes()).hexdigest()
    assert "trials.csv" in result.checksums
    index = (result.output_dir / "index.html").read_text()
    assert result.checksums["combined"] in index
    for pkg in ("numpy", "scipy", "pandas", "matplotlib", "mgmeta", "nbclient"):
        assert result.versions[pkg] != "not installed"
        assert result.versions[pkg] in index
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result.build_date)
    assert result.build_date in index


def test_data_page_links_every_trial_to_its_source(built):
    from mgmeta.review import data as mgdata
    result, base, _ = built
    page = (result.output_dir / "data.html").read_text()
    trials = mgdata.load_trials(base / "data")
    for study in trials["study"]:
        assert study in page
    assert page.count('">doi:') == trials["doi"].notna().sum()
    assert page.count(">source</a>") + page.count(">copy</a>") >= trials["source_url"].notna().sum()
    # a mirror (a bare IP address, a document aggregator) is labelled a copy, after the original citation
    mirrored = trials[trials["source_url"].fillna("").str.contains(r"//\d+\.\d+\.\d+\.\d+")]
    assert len(mirrored)
    row = page[page.index(mirrored["study"].iloc[0]):]
    row = row[:row.index("</tr>")]
    cite = html.escape(mirrored["citation"].iloc[0])
    assert cite[:40] in row and row.index(cite[:40]) < row.index(">copy</a>")
    assert f'href="{html.escape(mirrored["source_url"].iloc[0])}"' in row


def test_stops_at_the_first_error(tmp_path):
    nbs = tmp_path / "nb"
    nbs.mkdir()
    marker = tmp_path / "third_ran"
    write_notebook(nbs, "01_ok", "# %%\nx = 1\n")
    write_notebook(nbs, "02_bad", "# %%\ny = 2\n\n# %%\nraise ValueError('deliberate failure')\n")
    write_notebook(nbs, "03_after", f"# %%\nopen({str(marker)!r}, 'w').close()\n")
    with pytest.raises(ReportError, match=r"02_bad: cell 4 \(raise ValueError.*\) failed: ValueError: deliberate failure") as info:
        build_report(nbs, tmp_path / "out", data_dir=DATA, timeout=60, jobs=1)
    assert info.value.notebook == "02_bad" and info.value.cell == 4
    assert isinstance(info.value, MgmetaError)
    assert not marker.exists(), "the build went on after the first error"
    assert not (tmp_path / "out" / "index.html").exists()
    assert (tmp_path / "out" / "02_bad.failed.ipynb").is_file()  # kept for diagnosis


def test_cell_timeout_is_enforced(tmp_path):
    nbs = tmp_path / "nb"
    nbs.mkdir()
    write_notebook(nbs, "01_slow", "# %%\nimport time\ntime.sleep(60)\n")
    with pytest.raises(ReportError, match=r"01_slow.*2 s cell timeout"):
        build_report(nbs, tmp_path / "out", data_dir=DATA, timeout=2)


def test_first_code_cell_must_be_tagged_parameters(tmp_path):
    nbs = tmp_path / "nb"
    nbs.mkdir()
    (nbs / "01_untagged.py").write_text(HEADER + "\n# %%\nMETHOD = 'REML'\n")
    with pytest.raises(ReportError, match="tagged 'parameters'"):
        build_report(nbs, tmp_path / "out", data_dir=DATA)


def test_bad_arguments(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        build_report(tmp_path / "missing", tmp_path / "out", data_dir=DATA)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="no notebook"):
        build_report(tmp_path / "empty", tmp_path / "out", data_dir=DATA)
    nbs = tmp_path / "nb"
    nbs.mkdir()
    write_notebook(nbs, "01_x", "")
    with pytest.raises(ReportError, match="table name"):
        report.save_table(None, "a b", tmp_path)
    with pytest.raises(ReportError, match="unknown notebook"):
        build_report(nbs, tmp_path / "out", data_dir=DATA, only=["09_nothing"])
    with pytest.raises(ReportError, match="timeout"):
        report.execute_notebook(nbs / "01_x.py", timeout=0)
    with pytest.raises(ReportError, match="jobs"):
        build_report(nbs, tmp_path / "out", data_dir=DATA, jobs=0)


def test_save_figure(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, _ = plt.subplots()
    try:
        path = save_figure(fig, "forest_iv-relief", tmp_path / "new")
        assert path == tmp_path / "new" / "forest_iv-relief.png" and path.is_file()
        with pytest.raises(ReportError, match="figure name"):
            save_figure(fig, "Bad Name", tmp_path)
    finally:
        plt.close(fig)


def test_data_checksums_change_with_the_data(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("y\n2\n")
    first = data_checksums(tmp_path)
    assert set(first) == {"a.csv", "b.csv", "combined"}
    assert first["a.csv"] == hashlib.sha256(b"x\n1\n").hexdigest()
    assert data_checksums(tmp_path) == first
    (tmp_path / "b.csv").write_text("y\n3\n")
    assert data_checksums(tmp_path)["combined"] != first["combined"]
    with pytest.raises(ReportError):
        data_checksums(tmp_path / "missing")


def test_build_date_honours_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert report._build_date() == "2023-11-14T22:13:20Z"


# ---- the two-command contract and CI ---------------------------------------------------------

def _make_targets() -> dict[str, str]:
    text = (ROOT / "Makefile").read_text()
    targets = {}
    for m in re.finditer(r"^([A-Za-z$().\-/_]+):([^\n=]*)\n((?:\t[^\n]*\n?)*)", text, re.M):
        targets[m.group(1)] = m.group(2) + "\n" + m.group(3)
    return targets


def test_makefile_contract():
    targets = _make_targets()
    for name in ("report", "test", "reference", "benchmark", "$(STAMP)", "browser"):
        assert name in targets, name
    assert "$(STAMP)" in targets["report"] and "mgmeta.report" in targets["report"]
    assert "--timeout" in targets["report"]
    assert "$(STAMP)" in targets["test"] and "browser" in targets["test"] and "pytest" in targets["test"]
    assert "-m venv" in targets["$(STAMP)"] and "pip install" in targets["$(STAMP)"]
    assert "command -v chromium" in targets["browser"] and "apt-get install -y chromium" in targets["browser"]
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")
                and not line.startswith(("set ", "cd "))]
    assert commands == ["make test"]


def test_github_workflow_builds_the_report_with_make():
    import yaml  # jupytext depends on PyYAML
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "report.yml").read_text())
    on = wf.get("on", wf.get(True))  # PyYAML reads the bare key `on` as True
    assert "push" in on
    steps = wf["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "make report" in runs
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["with"]["path"].rstrip("/") == "report"
    assert any(str(s.get("uses", "")).startswith("actions/upload-pages-artifact") for s in steps)
    assert "deploy-pages" in str(wf["jobs"]["publish"]["steps"])


# ---- analyses from the data: pool_outcome, reproduction_table, summary_of_findings ------------------


def test_index_renders_the_summaries_markdown():
    out = report._inline_markdown("a `data/x.csv` <b> *reproduced*, 2 * 3 * 4")
    assert out == "a <code>data/x.csv</code> &lt;b&gt; <em>reproduced</em>, 2 * 3 * 4"


def test_refuses_to_empty_a_folder_it_did_not_write(tmp_path):
    nbs = tmp_path / "nb"
    nbs.mkdir()
    write_notebook(nbs, "01_x", "")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ReportError, match="refusing to empty"):
        build_report(nbs, precious, data_dir=DATA)
    assert (precious / "thesis.tex").read_text() == "years of work"


# ---- tables for people -------------------------------------------------------------------------

def _cells(page: str) -> list[list[str]]:
    """The text of every body row of the first table in an HTML fragment."""
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    rows = [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]
    return [r for r in rows if r]


def _heads(page: str) -> list[str]:
    return re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", page)


def test_format_table_numbers_words_and_missing():
    import numpy as np
    import pandas as pd
    frame = pd.DataFrame({"study": ["A <i>", "B"], "estimate": [0.4567, -0.0456], "ci_lower": [1.0, None],
                          "pvalue": [0.0004, 0.07413], "egger_p": [0.9608776, np.nan],
                          "participants": [157.0, 60.0], "k": pd.array([3, None], dtype="Int64"),
                          "double_blind": [True, False], "i2": [42.46, 0.0], "notes": [None, "fine"]})
    out = report.format_table(frame)
    heads = _heads(out)
    assert heads == ["Study", "Estimate", "CI lower", "p", "Egger p", "Participants", "k", "Double blind", "I²",
                     "Notes"]
    assert _cells(out) == [["A <i>", "0.46", "1.00", "<0.001", "0.961", "157", "3", "Yes", "42.5%", "—"],
                           ["B", "-0.046", "—", "0.074", "—", "60", "—", "No", "0.0%", "fine"]]
    assert "A &lt;i&gt;" in out  # text is escaped
    assert "— not reported / not applicable." in out  # the footnote of the dash
    for raw in ("NaN", "None", "<NA>", "True", "False", "157.0", "e-01", "<th></th>"):
        assert raw not in out, raw
    assert 'overflow-x:auto' in out  # wide tables scroll inside their own container


def test_format_table_columns_kinds_and_index():
    import pandas as pd
    frame = pd.DataFrame({"outcome": ["relief"], "p_value": [0.5], "share": [12.345], "n_events": [3.0],
                          "code": [12.0]})
    out = report.format_table(frame, columns={"outcome": "Outcome", "share": "Share", "code": "Code",
                                              "p_value": "p"}, kinds={"share": "pct", "code": "text"})
    assert _heads(out) == ["Outcome", "Share", "Code", "p"]
    assert _cells(out) == [["relief", "12.3%", "12", "0.500"]]
    assert "—" not in out  # no footnote without a missing value
    # a meaningful index is a column; the default 0..n-1 index is not
    counts = pd.Series([2, 1], index=pd.Index(["reproduced", "differs"], name="status"), name="count")
    assert _cells(report.format_table(counts)) == [["reproduced", "2"], ["differs", "1"]]
    with pytest.raises(ReportError, match="not in the table"):
        report.format_table(frame, columns={"missing": "M"})
    with pytest.raises(ReportError, match="must be one of"):
        report.format_table(frame, kinds={"share": "percent"})


def test_format_table_long_tables_fold():
    import pandas as pd
    long = pd.DataFrame({"x": range(16)})
    out = report.format_table(long, csv_href="tables/nb/long.csv")
    assert "<details" in out and "Show all 16 rows" in out and 'href="tables/nb/long.csv"' in out
    assert "<details" not in report.format_table(long.head(15))
    assert "<details" in report.format_table(long.head(2), collapse=True)
    assert "<details" not in report.format_table(long, collapse=False)


def test_number_formats():
    assert [report.format_estimate(x) for x in (1.005, 0.0999, -0.0004, 0, 2.5e-5, float("inf"))] == \
        ["1.00", "0.100", "0.000", "0.00", "0.000", "∞"]
    assert [report.format_p(p) for p in (0.001, 0.000999, 1.0, None)] == ["0.001", "<0.001", "1.000", "—"]
    assert report.format_int(1e3) == "1000" and report.format_pct(None) == "—"


def test_pandas_html_repr_is_reformatted():
    import pandas as pd
    frame = pd.DataFrame({"study": ["A", "B"], "pvalue": [9.608776e-01, None], "n": [157.0, 12.0]})
    out = report._reformat_dataframe_html(frame._repr_html_())
    assert 'class="dataframe"' not in out and "<style" not in out
    assert _cells(out) == [["A", "0.961", "157"], ["B", "—", "12"]]


def test_stderr_becomes_sentences():
    text = ("/usr/lib/python3/site-packages/matplotlib/axes/_base.py:123: UserWarning: Attempting to set "
            "identical low and high xlims\n  ax.set_xlim(0, 0)\n"
            "/tmp/ipykernel_1/2.py:1: RuntimeWarning: divide by zero encountered\n  x = 1 / 0\n"
            "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nValueError: bad thing\n"
            "plain message without a stop\n")
    assert report._stderr_notes(text) == [
        "Attempting to set identical low and high xlims. (from matplotlib)",
        "Divide by zero encountered.",
        "Bad thing.",
        "Plain message without a stop.",
    ]
    assert report._as_sentence("FutureWarning: use x") == "Future warning: use x."


def test_show_figure_needs_alt_text(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, _ = plt.subplots()
    with pytest.raises(ReportError, match="alt"):
        report.show_figure(fig, "x", tmp_path, alt=" ")
    path = report.show_figure(fig, "x", tmp_path, alt="A title. What it shows.")
    assert path == tmp_path / "x.png" and (tmp_path / "x.svg").is_file()
    assert not plt.fignum_exists(fig.number)  # closed: the inline backend will not draw it a second time
    from PIL import Image
    assert Image.open(path).info["dpi"][0] == pytest.approx(report.FIGURE_DPI, abs=1)


def test_mirrors():
    assert report.is_mirror("http://47.251.13.51:8081/15689195")
    assert report.is_mirror("https://www.researchgate.net/publication/1")
    assert report.is_mirror("https://pdfs.semanticscholar.org/a/b.pdf")
    assert not report.is_mirror("https://link.springer.com/article/10.1007/s13760-019-01101-x")
    assert not report.is_mirror("not a url")


# ---- pages for readers ----------------------------------------------------------------------

def _readers_page(built) -> str:
    result, _, _ = built
    return (result.output_dir / "03_readers.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    """The text of a page outside <style>, <script> and the folded code."""
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", page, flags=re.S)
    page = re.sub(r'<details class="mg-code">.*?</details>', "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_code_is_folded_and_the_injected_cell_is_gone(built):
    page = _readers_page(built)
    assert "Parameters injected" not in page and "_reader_mode" not in page
    assert page.count('<details class="mg-code"><summary>show code</summary>') >= 5
    assert 'class="mg-toggle-code"' in page and "document.querySelectorAll('details.mg-code')" in page
    assert "<script src=" not in page
    code = re.findall(r'<details class="mg-code">.*?</details>', page, flags=re.S)
    assert not any("jp-OutputArea" in c or "output_area" in c for c in code)  # outputs stay visible


def test_tables_are_formatted_and_no_raw_repr_remains(built):
    page = _readers_page(built)
    text = _text(page)
    assert 'class="dataframe"' not in page
    for raw in ("NaN", "None", "<NA>", "True", "False", "157.0", "dtype", "Warning", "Traceback"):
        assert raw not in text, raw
    # 3 show_table + the raw DataFrame, Series and Styler
    assert page.count('<table class="mg-data">') == 6
    # show_table / show_figure as a cell's last line: displayed once, their return value not echoed
    assert "&lt;div class=" not in page and "PosixPath" not in page and "_ShownPath" not in page
    assert "<0.001" in html.unescape(page) and "Show all 40 rows" in page and "Three trials" in page
    # the CSV links of show_table point into the report folder
    for href in re.findall(r'<a class="mg-file" href="([^"]+)"', page):
        assert not href.startswith(("..", "/")), href
        assert (built[0].output_dir / href).is_file(), href
    assert 'href="tables/03_readers/trials.csv"' in page


def test_notes_and_what_this_means_close_the_page(built):
    page = _readers_page(built)
    main = page[page.index("<main"):page.index("</main>")]
    what = main.index("<h2>What this means</h2>")
    notes = main.index("<h2>Notes</h2>")
    assert main.index("A section after the closing one") < what < notes
    tail = _text(main[notes:])
    assert "Tau² is on the boundary (0)." in tail and "An error line to stderr." in tail
    assert "Bigal 2002 reports no per-arm counts." in tail
    assert main.count("What this means") == 1
    assert "One trial (Cete 2005)" in main[:what]  # a sentence stays where it was said


def test_every_image_has_a_description(built):
    for page in built[0].output_dir.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<img\b[^>]*>", text):
            alt = re.search(r'\balt="([^"]*)"', tag)
            assert alt and alt.group(1).strip(), f"{page.name}: {tag[:80]}"
            assert "No description has been provided" not in alt.group(1)
    page = _readers_page(built)
    assert 'alt="Relief at 30 minutes. A line through three trials."' in page
    assert 'alt="Figure: An inline chart"' in page  # an inline figure takes its heading
    assert page.count('alt="Relief at 30') == 1  # show_figure displays once, the inline backend does not repeat it
    # full column width, but a small figure is not blown up: at most SCREEN_PX_PER_INCH (or MIN_FIGURE_PX)
    styles = re.findall(r'<img [^>]*style="([^"]*)"', page)
    assert len(styles) == 2 and all(s.startswith("width:100%;max-width:") for s in styles)
    widths = [int(re.search(r"max-width:(\d+)px", s).group(1)) for s in styles]
    assert all(w >= report.MIN_FIGURE_PX for w in widths)


def test_index_opens_with_the_key_findings(built):
    index = (built[0].output_dir / "index.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", index)
    assert headings[0] == "Key findings"
    findings = index[index.index("Key findings"):index.index(headings[1])]
    assert findings.count('class="mg-group"') == 2  # one header row per comparison
    rows = _cells(findings)
    assert rows[0] == ["Pain relief (30 min)", "OR 1.45 (0.80 to 2.63): 96 more per 1000 with relief",
                       "3 (245)", "⊕⊕◯◯ Low", "Magnesium may increase relief."]
    assert rows[1][3] == "⊕◯◯◯ Very low"  # symbols from the word when the column is empty
    assert rows[2][2] == "2 (—)" and "— not reported / not applicable" in findings
    assert "0 of 25 published pooled results could be recomputed" in findings
    assert '<a href="03_readers.html">the readers page</a>' in findings
    assert index.index("Key findings") < index.index("01_first.html")


def test_key_findings_csv_must_have_its_columns(tmp_path):
    (tmp_path / "tables" / "nb").mkdir(parents=True)
    (tmp_path / "tables" / "nb" / "key_findings.csv").write_text("comparison,outcome\na,b\n")
    with pytest.raises(ReportError, match="lacks the column"):
        report._key_findings_html(tmp_path, [])
    (tmp_path / "tables" / "nb" / "key_findings.csv").unlink()
    assert "No notebook of this report wrote key findings" in report._key_findings_html(tmp_path, [])


def test_make_report_does_not_run_the_plot_tests():
    targets = _make_targets()
    assert "gallery" not in targets["report"].splitlines()[0]
    assert "pytest" not in targets["report"]
    assert "gallery" in targets and "tests/test_plots" in targets["gallery"]


def test_code_cells_without_output_join_the_next_one():
    import nbformat
    cells = [nbformat.v4.new_code_cell("a = 1"), nbformat.v4.new_code_cell("b = 2"),
             nbformat.v4.new_code_cell("a + b", outputs=[nbformat.v4.new_output("stream", text="3")]),
             nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell("c = 3")]
    merged = report._merge_silent_code(cells)
    assert [c.cell_type for c in merged] == ["code", "markdown", "code"]
    assert merged[0].source == "a = 1\n\nb = 2\n\na + b" and merged[2].source == "c = 3"


def test_grade_symbols_stay_on_one_line():
    import pandas as pd
    out = report.format_table(pd.DataFrame({"certainty": ["⊕⊕◯◯ low", None]}))
    assert '<span class="mg-grade">⊕⊕◯◯</span> low' in out


def test_index_file_lists_fold_long_lists_and_break_long_names():
    from mgmeta.report import _file_list

    few = _file_list(["tables/a_b.csv", "tables/c.csv"])
    assert "<details>" not in few and few.count("<a ") == 2 and "a_<wbr>b.csv" in few
    many = _file_list([f"tables/summary_of_findings_{i}.csv" for i in range(9)])
    assert many.count("<a ") == 9 and "<summary>5 more</summary>" in many
    assert many.index("<details>") > many.index("summary_<wbr>of_<wbr>findings_<wbr>3.csv")
