"""The report builder (mgmeta.report) on small notebooks written here.

The real notebooks are executed in tests/test_notebooks.py; these tests check
the machinery: execution from scratch with parameters injected, the stop at the
first error, the cell timeout, the pages and their links, the figure gallery,
the checksums, versions and build date, and the Makefile and CI contract.
"""
from __future__ import annotations

import hashlib
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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A report of two small notebooks (one with a figure), plus a fake plot-test gallery."""
    base = tmp_path_factory.mktemp("report")
    nbs = base / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "01_first", FIGURE_BODY)
    write_notebook(nbs, "02_second", "# %%\nprint(EXTRA * 2)\n", params='FIGURE_DIR = "figures"\nTABLE_DIR = "tables"\nEXTRA = 1')
    (nbs / "README.md").write_text("not a notebook")
    gallery = base / "gallery"
    gallery.mkdir()
    shutil.copy(ROOT / "tests" / "test_report.py", gallery / "ignored.txt")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1])
    fig.savefig(gallery / "forest_test.png")
    plt.close(fig)
    lines = []
    data = base / "data"  # a snapshot: the checksums are compared with the files the report read
    shutil.copytree(DATA, data)
    result = build_report(nbs, base / "out", data_dir=data, gallery_dir=gallery, timeout=120, jobs=2,
                          parameters={"EXTRA": 21}, log=lines.append)
    return result, base, lines


def test_report_pages_and_manifest(built):
    result, base, lines = built
    out = result.output_dir
    assert result.index == out / "index.html"
    for page in ("index.html", "gallery.html", "data.html", "01_first.html", "02_second.html", "manifest.json",
                 "notebooks/01_first.ipynb", "notebooks/02_second.ipynb"):
        assert (out / page).is_file(), page
    assert [nb.name for nb in result.notebooks] == ["01_first", "02_second"]  # README.md is not a notebook
    assert result.notebooks[0].title == "Title of 01_first"
    assert result.notebooks[0].summary == "Summary of 01_first."
    index = (out / "index.html").read_text()
    for nb in result.notebooks:
        assert f'href="{nb.html}"' in index
        assert nb.title in index
    assert 'href="gallery.html"' in index and 'href="data.html"' in index
    manifest = json.loads((out / "manifest.json").read_text())
    assert [n["name"] for n in manifest["notebooks"]] == ["01_first", "02_second"]
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
    assert result.figures == ("figures/01_first/line.png",)
    assert result.notebooks[0].tables == ("tables/01_first/numbers.csv",)
    assert (out / "tables/01_first/numbers.csv").read_text() == "a\n1\n2\n"
    assert 'href="tables/01_first/numbers.csv"' in (out / "index.html").read_text()
    assert (out / "figures/01_first/line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gallery = (out / "gallery.html").read_text()
    assert 'src="figures/01_first/line.png"' in gallery
    assert "produced by notebook" in gallery and 'href="01_first.html"' in gallery
    # plot-test PNGs are copied into a labelled section; other files are ignored
    assert result.test_gallery == ("test-gallery/forest_test.png",)
    assert (out / "test-gallery/forest_test.png").is_file()
    assert "Plot test gallery" in gallery and not (out / "test-gallery/ignored.txt").exists()


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
    assert page.count('href="https://doi.org/') == trials["doi"].notna().sum()
    assert page.count(">source</a>") == trials["source_url"].notna().sum()


def test_stops_at_the_first_error(tmp_path):
    nbs = tmp_path / "nb"
    nbs.mkdir()
    marker = tmp_path / "third_ran"
    write_notebook(nbs, "01_ok", "# %%\nx = 1\n")
    write_notebook(nbs, "02_bad", "# %%\ny = 2\n\n# %%\nraise ValueError('deliberate failure')\n")
    write_notebook(nbs, "03_after", f"# %%\nopen({str(marker)!r}, 'w').close()\n")
    with pytest.raises(ReportError, match=r"02_bad: cell 4 \(raise ValueError.*\) failed: ValueError: deliberate failure") as info:
        build_report(nbs, tmp_path / "out", data_dir=DATA, gallery_dir=tmp_path / "none", timeout=60, jobs=1)
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
        build_report(nbs, tmp_path / "out", data_dir=DATA, gallery_dir=tmp_path / "none", timeout=2)


def test_first_code_cell_must_be_tagged_parameters(tmp_path):
    nbs = tmp_path / "nb"
    nbs.mkdir()
    (nbs / "01_untagged.py").write_text(HEADER + "\n# %%\nMETHOD = 'REML'\n")
    with pytest.raises(ReportError, match="tagged 'parameters'"):
        build_report(nbs, tmp_path / "out", data_dir=DATA, gallery_dir=tmp_path / "none")


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
        build_report(nbs, precious, data_dir=DATA, gallery_dir=tmp_path / "none")
    assert (precious / "thesis.tex").read_text() == "years of work"
