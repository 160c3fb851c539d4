"""The rendered report: execute every notebook from scratch and build a static HTML site.

``make report`` (``python -m mgmeta.report``) and ``mgmeta report`` call
:func:`build_report`, which

1. finds the notebooks ``notebooks/NN_topic.py`` (py:percent scripts paired with
   ``.ipynb`` files through jupytext; the ``.py`` is the reviewed source),
2. executes each one from scratch in a fresh kernel with nbclient, with an
   explicit per-cell timeout, injecting papermill-style parameters after the
   cell tagged ``parameters`` (at least ``FIGURE_DIR`` and ``TABLE_DIR``,
   where the notebook writes its figures and CSV tables with
   :func:`save_figure` and :func:`save_table`), and stops at the first error,
3. renders every executed notebook to HTML with nbconvert (figures embedded,
   no script or font fetched from the network, so the site works offline),
4. writes an index page linking every notebook, a gallery of the figures
   (each written by a named notebook; the plot tests' PNGs from
   ``build/gallery/`` in a separate, labelled section when present), the
   trial data table with provenance links, package versions, the SHA-256 of
   every data file and the build date, plus ``manifest.json`` with the same
   facts for machines.

It also holds what the notebooks and ``mgmeta pool`` share, so that no
notebook repeats a cell: :func:`pool_outcome` (one outcome at one time point
or time window, from ``data/`` to a fitted model and its forest plot),
:func:`analysis_catalogue` (what the trials report), :func:`reproduction_table`
(every published pooled result with its status) and
:func:`summary_of_findings` (GRADE-style table). These orchestrate
:mod:`mgmeta.data`, :func:`mgmeta.effect_sizes`, :func:`mgmeta.meta_analysis`
and :mod:`mgmeta.reproduce`; the statistics live there.

Exit codes of :func:`report_command` (``mgmeta report``, ``python -m mgmeta.report``):
0 the report was built; 1 a notebook failed (error or timeout); 2 bad
arguments or missing notebooks/data (argparse also exits 2 on usage errors).
Exit codes of :func:`pool_command` (``mgmeta pool``): 0 the analysis was
printed; 1 no trial reports usable numbers for that outcome and time point;
2 bad input.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as _dt
import hashlib
import html
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from mgmeta.errors import MgmetaError

__all__ = [
    "ReportError",
    "NotebookRun",
    "ReportResult",
    "OutcomeInfo",
    "OUTCOMES",
    "DEFAULT_COMPARISON",
    "OutcomePool",
    "outcome_info",
    "pool_outcome",
    "pool_table",
    "analysis_catalogue",
    "reproduction_table",
    "summary_of_findings",
    "corresponding_risk",
    "within_rounding",
    "REPRODUCED",
    "DIFFERS",
    "NOT_RECOMPUTABLE",
    "DEFAULT_TIMEOUT",
    "find_project_root",
    "find_notebooks",
    "execute_notebook",
    "build_report",
    "save_figure",
    "save_table",
    "data_checksums",
    "package_versions",
    "add_report_arguments",
    "report_command",
    "add_pool_arguments",
    "pool_command",
    "main",
]

#: Default per-cell timeout in seconds (an explicit limit: a hung cell fails the build).
DEFAULT_TIMEOUT = 300
#: Packages whose versions the report records.
VERSIONED_PACKAGES = ("mgmeta", "numpy", "scipy", "pandas", "statsmodels", "matplotlib", "jupytext",
                      "nbclient", "nbconvert", "nbformat", "ipykernel")
_NOTEBOOK_RE = re.compile(r"^\d\d_[a-z0-9_]+\.py$")
_FIGURE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg")
_MARKER = ".mgmeta-report"


class ReportError(MgmetaError):
    """The report could not be built: a notebook failed, timed out, or is malformed.

    Attributes
    ----------
    notebook : str or None
        Stem of the notebook at fault (``"02_iv_magnesium"``).
    cell : int or None
        0-based index of the failing cell in the executed notebook.
    """

    def __init__(self, message: str, *, notebook: str | None = None, cell: int | None = None):
        super().__init__(message)
        self.notebook = notebook
        self.cell = cell


@dataclass(frozen=True)
class NotebookRun:
    """One executed notebook.

    Attributes
    ----------
    name : str
        Stem, e.g. ``"01_data_overview"``.
    title : str
        First Markdown heading of the notebook.
    summary : str
        First paragraph after the heading.
    source : Path
        The py:percent source that was executed.
    html : str
        File name of the rendered page inside the report folder.
    seconds : float
        Wall-clock execution time (kernel start included).
    figures : tuple of str
        Figure files it wrote, relative to the report folder.
    tables : tuple of str
        CSV tables it wrote, relative to the report folder.
    """

    name: str
    title: str
    summary: str
    source: Path
    html: str
    seconds: float
    figures: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` produced.

    Attributes
    ----------
    output_dir : Path
        The report folder; ``index`` is its front page.
    notebooks : tuple of NotebookRun
        In report order.
    build_date : str
        ISO 8601 UTC timestamp (``SOURCE_DATE_EPOCH`` is honoured).
    seconds : float
        Wall-clock time of the whole build.
    checksums : dict
        File name -> SHA-256 of every data file, plus ``"combined"``.
    versions : dict
        Package -> version (and ``python``, ``platform``, ``git_commit``).
    test_gallery : tuple of str
        Plot-test PNGs copied from ``build/gallery/`` (relative to the report folder).
    """

    output_dir: Path
    notebooks: tuple[NotebookRun, ...]
    build_date: str
    seconds: float
    checksums: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    test_gallery: tuple[str, ...] = ()

    @property
    def index(self) -> Path:
        """Path of the front page."""
        return self.output_dir / "index.html"

    @property
    def figures(self) -> tuple[str, ...]:
        """Every figure written by a notebook (relative to the report folder)."""
        return tuple(f for nb in self.notebooks for f in nb.figures)


# --------------------------------------------------------------------------
# locating things
# --------------------------------------------------------------------------

def find_project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The checkout holding ``notebooks/`` and ``pyproject.toml``.

    Searches ``start`` (default: the working directory) and its parents, then
    the folder above the installed package (editable installs).

    Raises
    ------
    ReportError
        No such folder was found.
    """
    candidates = []
    here = Path(start or os.getcwd()).resolve()
    candidates += [here, *here.parents]
    candidates += list(Path(__file__).resolve().parents)
    for c in candidates:
        if (c / "pyproject.toml").is_file() and (c / "notebooks").is_dir():
            return c
    raise ReportError(f"no project root (a folder with pyproject.toml and notebooks/) above {here}")


def find_notebooks(notebooks_dir: str | os.PathLike[str]) -> list[Path]:
    """The notebook sources ``NN_topic.py`` of a folder, in order.

    Raises
    ------
    ReportError
        The folder does not exist or holds no notebook.
    """
    d = Path(notebooks_dir)
    if not d.is_dir():
        raise ReportError(f"notebook folder {str(d)!r} does not exist")
    found = sorted(p for p in d.iterdir() if _NOTEBOOK_RE.match(p.name))
    if not found:
        raise ReportError(f"no notebook (NN_topic.py) in {str(d)!r}")
    return found


# --------------------------------------------------------------------------
# helpers used by the notebooks
# --------------------------------------------------------------------------

def save_figure(fig: Any, name: str, directory: str | os.PathLike[str], *, dpi: int = 150) -> Path:
    """Write a matplotlib figure as ``<directory>/<name>.png`` for the report's gallery.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (it stays open, so the notebook still shows it inline).
    name : str
        File stem: lower-case letters, digits, ``_`` and ``-``.
    directory : path
        The notebook's ``FIGURE_DIR`` parameter (created when missing).
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    Path
        The file written.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", str(name)):
        raise ReportError(f"figure name must be lower-case letters, digits, '_' or '-', got {name!r}")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def save_table(frame: Any, name: str, directory: str | os.PathLike[str]) -> Path:
    """Write a table as ``<directory>/<name>.csv`` (linked from the report's index page).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (its index is written only when it is named).
    name : str
        File stem: lower-case letters, digits, ``_`` and ``-``.
    directory : path
        The notebook's ``TABLE_DIR`` parameter (created when missing).

    Returns
    -------
    Path
        The file written.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", str(name)):
        raise ReportError(f"table name must be lower-case letters, digits, '_' or '-', got {name!r}")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.csv"
    frame.to_csv(path, index=any(n is not None for n in frame.index.names))
    return path


# --------------------------------------------------------------------------
# provenance facts
# --------------------------------------------------------------------------

def data_checksums(data_dir: str | os.PathLike[str]) -> dict[str, str]:
    """SHA-256 of every file in ``data_dir`` (sorted by name), plus a combined digest.

    The combined digest hashes the lines ``"<sha256>  <name>\\n"`` (``sha256sum``
    format) in name order, so it changes when any data file changes.
    """
    d = Path(data_dir)
    if not d.is_dir():
        raise ReportError(f"data folder {str(d)!r} does not exist")
    sums: dict[str, str] = {}
    for p in sorted(d.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            sums[p.relative_to(d).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    combined = hashlib.sha256("".join(f"{h}  {n}\n" for n, h in sums.items()).encode()).hexdigest()
    sums["combined"] = combined
    return sums


def package_versions(root: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Versions of Python, the platform, the packages the report depends on and the git commit."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    if root is not None:
        try:
            commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                    timeout=10, check=True).stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                   capture_output=True, text=True, timeout=10, check=True).stdout.strip()
            out["git_commit"] = commit + (" (with uncommitted changes)" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            out["git_commit"] = "unknown"
    return out


def _build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        when = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc)
    else:
        when = _dt.datetime.now(tz=_dt.timezone.utc)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------
# executing one notebook
# --------------------------------------------------------------------------

def _title_and_summary(nb: Any, fallback: str) -> tuple[str, str]:
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.strip().splitlines()
        if lines and lines[0].startswith("#"):
            title = lines[0].lstrip("#").strip()
            para: list[str] = []
            for line in lines[1:]:
                if line.strip():
                    para.append(line.strip())
                elif para:
                    break
            return title, " ".join(para)
    return fallback, ""


def _parameters_cell(nb: Any, name: str) -> int:
    """Index of the first code cell, which must be tagged ``parameters``."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if "parameters" not in cell.get("metadata", {}).get("tags", []):
                raise ReportError(f"notebook {name}: the first code cell must hold the parameters and be "
                                  f"tagged 'parameters' (papermill convention)", notebook=name, cell=i)
            return i
    raise ReportError(f"notebook {name}: no code cell", notebook=name)


def _inject_parameters(nb: Any, name: str, parameters: Mapping[str, Any]) -> None:
    import nbformat

    at = _parameters_cell(nb, name)
    lines = ["# Parameters injected by mgmeta.report"]
    for key, value in parameters.items():
        if not key.isidentifier():
            raise ReportError(f"parameter name {key!r} is not a Python identifier", notebook=name)
        lines.append(f"{key} = {value!r}")
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(at + 1, cell)


def _first_error(nb: Any) -> tuple[int, str] | None:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i, f"{out.get('ename')}: {out.get('evalue')}"
    return None


def _cell_ref(nb: Any, idx: int | None) -> str:
    """``cell 4 (first line of its source)``: the index counts every cell of the executed notebook."""
    if idx is None:
        return "a cell"
    lines = [line for line in nb.cells[idx].source.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    if len(first) > 60:
        first = first[:57] + "..."
    return f"cell {idx} ({first})"


def execute_notebook(source: str | os.PathLike[str], *, parameters: Mapping[str, Any] | None = None,
                     timeout: int = DEFAULT_TIMEOUT, kernel_name: str = "python3",
                     cwd: str | os.PathLike[str] | None = None) -> Any:
    """Execute a py:percent notebook from scratch and return the executed notebook.

    Parameters
    ----------
    source : path
        A jupytext py:percent script (or an ``.ipynb``).
    parameters : mapping, optional
        Values injected, papermill-style, in a cell after the one tagged
        ``parameters`` (which must be the first code cell).
    timeout : int
        Per-cell timeout in seconds.
    kernel_name : str
        Jupyter kernel.
    cwd : path, optional
        Working directory of the kernel (default: the notebook's folder).

    Returns
    -------
    nbformat.NotebookNode
        With outputs.

    Raises
    ------
    ReportError
        A cell raised, a cell exceeded ``timeout``, or the kernel died; the
        message names the notebook and the cell. The partly executed notebook
        is attached as ``err.executed``.
    """
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import (
        CellExecutionError,
        CellTimeoutError,
        DeadKernelError,
    )

    src = Path(source)
    name = src.stem
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        raise ReportError(f"timeout must be a positive number of seconds, got {timeout!r}", notebook=name)
    nb = jupytext.read(src)
    _parameters_cell(nb, name)
    if parameters:
        _inject_parameters(nb, name, parameters)
    workdir = Path(cwd) if cwd is not None else src.parent
    # the kernel only logs errors (ipykernel warns about its local TCP transport on every start)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(workdir)}})
    # figures are shown inline (and so embedded in the page) even when the caller set MPLBACKEND=Agg
    env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline")
    try:
        client.execute(env=env)
    except CellTimeoutError as exc:
        idx = _running_cell(nb)
        err = ReportError(f"notebook {name}: {_cell_ref(nb, idx)} exceeded the {timeout} s cell timeout",
                          notebook=name, cell=idx)
        err.executed = nb  # type: ignore[attr-defined]
        raise err from exc
    except CellExecutionError as exc:
        where = _first_error(nb)
        idx, what = where if where else (_running_cell(nb), (str(exc).strip().splitlines() or ["error"])[-1])
        err = ReportError(f"notebook {name}: {_cell_ref(nb, idx)} failed: {what}", notebook=name, cell=idx)
        err.executed = nb  # type: ignore[attr-defined]
        raise err from exc
    except DeadKernelError as exc:
        err = ReportError(f"notebook {name}: the kernel died ({exc})", notebook=name)
        err.executed = nb  # type: ignore[attr-defined]
        raise err from exc
    where = _first_error(nb)
    if where is not None:  # never render an error cell, even one allowed by cell metadata
        err = ReportError(f"notebook {name}: {_cell_ref(nb, where[0])} has an error output: {where[1]}",
                          notebook=name, cell=where[0])
        err.executed = nb  # type: ignore[attr-defined]
        raise err
    return nb


def _running_cell(nb: Any) -> int | None:
    """The last code cell that started executing (nbclient sets execution metadata)."""
    last = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "execution" in cell.get("metadata", {}):
            last = i
    return last


# --------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1b1b1b;
       line-height: 1.45; }
header.mg-nav { background: #17324d; color: #fff; padding: .6em 1.2em; }
header.mg-nav a { color: #fff; margin-right: 1.2em; text-decoration: none; font-weight: 600; }
main.mg-page { max-width: 1200px; margin: 1.5em auto; padding: 0 1.2em; }
table.mg { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
table.mg th, table.mg td { border: 1px solid #ccd; padding: .3em .5em; vertical-align: top; text-align: left; }
table.mg th { background: #eef1f6; }
code, .mg-mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .9em; }
.mg-gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 1.2em; }
.mg-gallery figure { margin: 0; border: 1px solid #dde; padding: .5em; background: #fafbfd; }
.mg-gallery img { width: 100%; height: auto; }
.mg-gallery figcaption { font-size: .85em; margin-top: .4em; }
.mg-muted { color: #555; font-size: .9em; }
"""

_NAV_LINKS = (("index.html", "Report"), ("gallery.html", "Figures"), ("data.html", "Data"))


def _nav(prefix: str = "") -> str:
    links = "".join(f'<a href="{prefix}{href}">{html.escape(text)}</a>' for href, text in _NAV_LINKS)
    return f'<header class="mg-nav">{links}</header>'


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
            f"<body>{_nav()}<main class=\"mg-page\">{body}</main></body></html>\n")


_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">NAVCSS</style>{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
NAV
<main>
{%- endblock body_header -%}
"""


def _html_exporter() -> Any:
    import jinja2
    from nbconvert import HTMLExporter

    nav_css = ("header.mg-nav{background:#17324d;padding:.6em 1.2em;font-family:system-ui,sans-serif}"
               "header.mg-nav a{color:#fff;margin-right:1.2em;text-decoration:none;font-weight:600}")
    tpl = _TEMPLATE.replace("NAVCSS", nav_css).replace("NAV", _nav())
    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({"mgmeta_report.html.j2": tpl})],
                            template_file="mgmeta_report.html.j2")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def _render_notebook(nb: Any, title: str) -> str:
    exporter = _html_exporter()
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return body


def _inline_markdown(text: str) -> str:
    """Escaped text with Markdown's inline `code` and *emphasis* (the summaries of the notebooks)."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", out)


def _a(href: str, text: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


def _kv_table(rows: Mapping[str, str], head: tuple[str, str]) -> str:
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td class=\"mg-mono\">{html.escape(str(v))}</td></tr>"
                   for k, v in rows.items())
    return (f'<table class="mg"><thead><tr><th>{html.escape(head[0])}</th><th>{html.escape(head[1])}</th>'
            f"</tr></thead><tbody>{body}</tbody></table>")


def _index_html(result: ReportResult) -> str:
    rows = []
    for nb in result.notebooks:
        figs = _a(f"gallery.html#{nb.name}", str(len(nb.figures))) if nb.figures else "0"
        tables = "<br>".join(_a(t, Path(t).name) for t in nb.tables)
        rows.append(f"<tr><td>{_a(nb.html, nb.title)}<br><span class=\"mg-muted\">{html.escape(nb.name)} · "
                    f"{_a('notebooks/' + nb.name + '.ipynb', 'executed .ipynb')}</span></td>"
                    f"<td>{_inline_markdown(nb.summary)}</td><td>{figs}</td><td>{tables}</td>"
                    f"<td>{nb.seconds:.1f}</td></tr>")
    table = ('<table class="mg"><thead><tr><th>Notebook</th><th>What it shows</th><th>Figures</th>'
             f'<th>Tables (CSV)</th><th>Run time (s)</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    sums = {k: v for k, v in result.checksums.items() if k != "combined"}
    body = [
        "<h1>Magnesium for migraine: the mgmeta report</h1>",
        "<p>Every page below is a notebook of <code>notebooks/</code>, executed from scratch by "
        "<code>make report</code> (<code>mgmeta report</code>); every number comes from <code>data/</code> "
        "through mgmeta. The figures are collected in the " + _a("gallery.html", "gallery") + ", the trial "
        "data with their sources in the " + _a("data.html", "data table") + ".</p>",
        f"<p><b>Built</b> {html.escape(result.build_date)} in {result.seconds:.1f} s. "
        f"<b>Data checksum</b> (SHA-256 over the data files) "
        f"<code>{html.escape(result.checksums.get('combined', ''))}</code>.</p>",
        "<h2>Notebooks</h2>", table,
        "<h2>Data files</h2>", _kv_table(sums, ("file (data/)", "SHA-256")),
        "<h2>Software</h2>", _kv_table(result.versions, ("package", "version")),
    ]
    return _page("mgmeta report", "\n".join(body))


def _gallery_html(result: ReportResult) -> str:
    parts = ["<h1>Figures</h1>",
             "<p>Every figure of the report, grouped by the notebook that wrote it "
             "(<code>figures/&lt;notebook&gt;/&lt;name&gt;.png</code>).</p>"]
    for nb in result.notebooks:
        if not nb.figures:
            continue
        parts.append(f"<h2 id=\"{html.escape(nb.name)}\">{_a(nb.html, nb.title)} "
                     f"<span class=\"mg-muted\">({html.escape(nb.name)})</span></h2>")
        figs = "".join(
            f'<figure><a href="{html.escape(f)}"><img src="{html.escape(f)}" alt="{html.escape(Path(f).stem)}" '
            f'loading="lazy"></a><figcaption><code>{html.escape(Path(f).stem)}</code>, produced by notebook '
            f"{_a(nb.html, nb.name)}</figcaption></figure>" for f in nb.figures)
        parts.append(f'<div class="mg-gallery">{figs}</div>')
    if result.test_gallery:
        parts.append("<h2 id=\"plot-tests\">Plot test gallery</h2><p class=\"mg-muted\">Not part of the "
                     "analysis: PNGs written by the plot tests (<code>tests/test_plots*.py</code>, folder "
                     "<code>build/gallery/</code>) on test data, shown so that a reviewer can see every plot "
                     "type.</p>")
        figs = "".join(
            f'<figure><a href="{html.escape(f)}"><img src="{html.escape(f)}" alt="{html.escape(Path(f).stem)}" '
            f'loading="lazy"></a><figcaption><code>{html.escape(Path(f).name)}</code>, from the plot tests'
            f"</figcaption></figure>" for f in result.test_gallery)
        parts.append(f'<div class="mg-gallery">{figs}</div>')
    return _page("mgmeta report: figures", "\n".join(parts))


_DATA_COLUMNS = ("study", "route", "design", "population_group", "mg_salt", "mg_dose", "comparator_type",
                 "n_randomized", "include_default", "rob_overall")


def _links(row: Mapping[str, Any]) -> str:
    out = []
    doi = _clean(row.get("doi"))
    pmid = _clean(row.get("pmid"))
    url = _clean(row.get("source_url"))
    if doi:
        out.append(_a(f"https://doi.org/{doi}", f"doi:{doi}"))
    if pmid:
        pm = pmid[:-2] if pmid.endswith(".0") else pmid
        out.append(_a(f"https://pubmed.ncbi.nlm.nih.gov/{pm}/", f"PMID {pm}"))
    if url:
        out.append(_a(url, "source"))
    return " · ".join(out)


def _clean(value: Any) -> str:
    if value is None:
        return ""
    try:
        import pandas as pd
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _data_html(trials: Any, checksums: Mapping[str, str]) -> str:
    cols = [c for c in _DATA_COLUMNS if c in trials.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "<th>source (locator)</th><th>citation</th>"
    rows = []
    for _, row in trials.iterrows():
        cells = "".join(f"<td>{html.escape(_clean(row.get(c)))}</td>" for c in cols)
        locator = _clean(row.get("locator"))
        src = _links(row) + (f"<br><span class=\"mg-muted\">{html.escape(locator)}</span>" if locator else "")
        rows.append(f"<tr>{cells}<td>{src}</td><td class=\"mg-muted\">{html.escape(_clean(row.get('citation')))}"
                    f"</td></tr>")
    body = ["<h1>Trial data</h1>",
            f"<p>{len(trials)} trials, from <code>data/trials.csv</code> (SHA-256 "
            f"<code>{html.escape(checksums.get('trials.csv', ''))}</code>). Each row links to the source its "
            "numbers were read from; the locator says where in it. The arm-level outcomes and their provenance "
            "are tabulated in the data-overview notebook.</p>",
            f'<table class="mg"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>']
    return _page("mgmeta report: data", "\n".join(body))


def _load_trials(data_dir: Path) -> Any:
    """The trial table through mgmeta.data (the only module that reads data files)."""
    from mgmeta import data as mgdata

    return mgdata.load_trials(data_dir)


# --------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------

def _run_one(source: Path, out: Path, timeout: int, kernel_name: str,
             parameters: Mapping[str, Any]) -> tuple[Any, float, str, str, str]:
    """Execute one notebook and render its page (in a worker thread when jobs > 1)."""
    name = source.stem
    params = {"FIGURE_DIR": os.path.relpath(out / "figures" / name, source.parent),
              "TABLE_DIR": os.path.relpath(out / "tables" / name, source.parent), **parameters}
    t0 = time.perf_counter()
    try:
        nb = execute_notebook(source, parameters=params, timeout=timeout, kernel_name=kernel_name)
    except ReportError as exc:
        executed = getattr(exc, "executed", None)
        if executed is not None:
            import nbformat
            nbformat.write(executed, out / f"{name}.failed.ipynb")
        raise
    seconds = time.perf_counter() - t0
    title, summary = _title_and_summary(nb, name)
    page = _render_notebook(nb, title)
    return nb, seconds, title, summary, page


def _files(out: Path, kind: str, name: str, suffixes: tuple[str, ...]) -> tuple[str, ...]:
    folder = out / kind / name
    if not folder.is_dir():
        return ()
    return tuple(p.relative_to(out).as_posix() for p in sorted(folder.iterdir())
                 if p.is_file() and p.suffix.lower() in suffixes)


def build_report(notebooks_dir: str | os.PathLike[str] | None = None,
                 output_dir: str | os.PathLike[str] | None = None, *,
                 data_dir: str | os.PathLike[str] | None = None,
                 gallery_dir: str | os.PathLike[str] | None = None,
                 timeout: int = DEFAULT_TIMEOUT, jobs: int = 1, only: Sequence[str] | None = None,
                 parameters: Mapping[str, Any] | None = None, kernel_name: str = "python3",
                 log: Any = None) -> ReportResult:
    """Execute every notebook from scratch and render the static HTML report.

    Parameters
    ----------
    notebooks_dir : path, optional
        Folder of ``NN_topic.py`` notebooks (default ``<project>/notebooks``).
    output_dir : path, optional
        Report folder (default ``<project>/report``); emptied first, which
        mgmeta only does to an empty folder or one it wrote (marked by a
        ``.mgmeta-report`` file).
    data_dir : path, optional
        Data folder whose files are checksummed and whose trial table is
        rendered (default ``<project>/data``).
    gallery_dir : path, optional
        Folder of PNGs written by the plot tests (default
        ``<project>/build/gallery``); copied into a labelled section of the
        gallery when it exists.
    timeout : int
        Per-cell timeout in seconds.
    jobs : int
        Notebooks executed at once (each in its own kernel).
    only : sequence of str, optional
        Build only these notebooks (stems or file names).
    parameters : mapping, optional
        Extra parameters injected into every notebook (e.g. ``{"METHOD": "DL"}``).
    kernel_name : str
        Jupyter kernel.
    log : callable, optional
        Called with progress lines (e.g. ``print``).

    Returns
    -------
    ReportResult

    Raises
    ------
    ReportError
        At the first notebook that fails (error, timeout, dead kernel): no
        index page is written, and the partly executed notebook is kept as
        ``<output>/<name>.failed.ipynb``.
    """
    t_start = time.perf_counter()
    say = log or (lambda _msg: None)
    root: Path | None = None
    if notebooks_dir is None or output_dir is None or data_dir is None or gallery_dir is None:
        root = find_project_root()
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else root / "notebooks"  # type: ignore[operator]
    out = Path(output_dir) if output_dir is not None else root / "report"  # type: ignore[operator]
    dat = Path(data_dir) if data_dir is not None else root / "data"  # type: ignore[operator]
    gal = Path(gallery_dir) if gallery_dir is not None else root / "build" / "gallery"  # type: ignore[operator]
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ReportError(f"jobs must be a positive integer, got {jobs!r}")
    sources = find_notebooks(nb_dir)
    if only:
        wanted = {Path(o).stem for o in only}
        unknown = wanted - {s.stem for s in sources}
        if unknown:
            raise ReportError(f"unknown notebook(s) {sorted(unknown)}; available: {[s.stem for s in sources]}")
        sources = [s for s in sources if s.stem in wanted]
    checksums = data_checksums(dat)
    trials = _load_trials(dat)

    out = out.resolve()
    if out.exists():
        ours = (out / _MARKER).is_file() or (out / "manifest.json").is_file()
        if not out.is_dir() or (any(out.iterdir()) and not ours):
            raise ReportError(f"refusing to empty {str(out)!r}: it is not a report folder written by mgmeta "
                              f"(no {_MARKER} file); choose another --output")
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    (out / _MARKER).write_text("written by mgmeta.report; the folder is emptied on each build\n")
    (out / "tables").mkdir()
    (out / "notebooks").mkdir()
    params = dict(parameters or {})

    executed: dict[str, tuple[Any, float, str, str, str]] = {}
    say(f"executing {len(sources)} notebook(s) with a {timeout} s cell timeout ({jobs} at a time)")
    if jobs == 1:
        for src in sources:
            executed[src.stem] = _run_one(src, out, timeout, kernel_name, params)
            say(f"  {src.stem}: {executed[src.stem][1]:.1f} s")
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_run_one, src, out, timeout, kernel_name, params): src for src in sources}
            try:
                for fut in concurrent.futures.as_completed(futures):
                    src = futures[fut]
                    executed[src.stem] = fut.result()
                    say(f"  {src.stem}: {executed[src.stem][1]:.1f} s")
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    import nbformat

    runs = []
    for src in sources:
        nb, seconds, title, summary, html_page = executed[src.stem]
        page = f"{src.stem}.html"
        (out / page).write_text(html_page, encoding="utf-8")
        nbformat.write(nb, out / "notebooks" / f"{src.stem}.ipynb")
        runs.append(NotebookRun(name=src.stem, title=title, summary=summary, source=src, html=page,
                                seconds=seconds, figures=_files(out, "figures", src.stem, _FIGURE_SUFFIXES),
                                tables=_files(out, "tables", src.stem, (".csv",))))
    for kind in ("figures", "tables"):
        stray = [p.name for p in (out / kind).iterdir() if p.name not in {r.name for r in runs}]
        if stray:
            raise ReportError(f"{kind} folder(s) {stray} were not written by any notebook of the report")

    test_gallery: tuple[str, ...] = ()
    if gal.is_dir():
        dest = out / "test-gallery"
        copied = []
        for p in sorted(gal.rglob("*")):
            if p.is_file() and p.suffix.lower() in _FIGURE_SUFFIXES:
                target = dest / p.relative_to(gal)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, target)
                copied.append(target.relative_to(out).as_posix())
        test_gallery = tuple(copied)

    result = ReportResult(output_dir=out, notebooks=tuple(runs), build_date=_build_date(), seconds=0.0,
                          checksums=checksums, versions=package_versions(root or nb_dir.parent),
                          test_gallery=test_gallery)
    (out / "data.html").write_text(_data_html(trials, checksums), encoding="utf-8")
    (out / "gallery.html").write_text(_gallery_html(result), encoding="utf-8")
    seconds = time.perf_counter() - t_start
    result = ReportResult(output_dir=out, notebooks=result.notebooks, build_date=result.build_date,
                          seconds=seconds, checksums=checksums, versions=result.versions,
                          test_gallery=test_gallery)
    (out / "index.html").write_text(_index_html(result), encoding="utf-8")
    manifest = {
        "build_date": result.build_date, "seconds": round(seconds, 2), "timeout": timeout,
        "notebooks": [{"name": r.name, "title": r.title, "summary": r.summary, "html": r.html,
                       "source": f"notebooks/{r.source.name}", "seconds": round(r.seconds, 2),
                       "figures": list(r.figures), "tables": list(r.tables)} for r in runs],
        "test_gallery": list(test_gallery), "checksums": checksums, "versions": result.versions,
        "parameters": params,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    say(f"report written to {out / 'index.html'} in {seconds:.1f} s")
    return result


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------

def _parameter(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if not key.isidentifier():
        raise argparse.ArgumentTypeError(f"parameter name {key!r} is not a Python identifier")
    try:
        parsed: Any = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return key, parsed


def add_report_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``mgmeta report`` to ``parser`` and return it."""
    parser.add_argument("--notebooks", metavar="DIR", help="folder of NN_topic.py notebooks "
                        "(default: notebooks/ of the project)")
    parser.add_argument("--output", "-o", metavar="DIR", help="report folder, emptied first (default: report/)")
    parser.add_argument("--data", metavar="DIR", help="data folder (default: data/ of the project)")
    parser.add_argument("--gallery", metavar="DIR", help="plot-test PNGs to add to the gallery "
                        "(default: build/gallery/ when present)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"per-cell timeout (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--jobs", "-j", type=int, default=_default_jobs(), metavar="N",
                        help="notebooks executed at once (default: %(default)s)")
    parser.add_argument("--only", action="append", metavar="NOTEBOOK",
                        help="build only this notebook (repeatable), e.g. --only 02_iv_magnesium")
    parser.add_argument("--param", "-p", action="append", type=_parameter, default=[], metavar="NAME=VALUE",
                        help="parameter injected into every notebook (value parsed as JSON when it can be), "
                             "e.g. -p METHOD='\"DL\"'; repeatable")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    return parser


def _default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def report_command(args: argparse.Namespace) -> int:
    """Run ``mgmeta report``; returns the exit code (0 built, 1 a notebook failed, 2 bad input)."""
    log = None if args.quiet else (lambda msg: print(msg, flush=True))
    try:
        build_report(args.notebooks, args.output, data_dir=args.data, gallery_dir=args.gallery,
                     timeout=args.timeout, jobs=args.jobs, only=args.only, parameters=dict(args.param),
                     log=log)
    except ReportError as exc:
        print(f"mgmeta report: error: {exc}", file=sys.stderr)
        return 1 if exc.notebook is not None else 2
    except MgmetaError as exc:
        print(f"mgmeta report: error: {exc}", file=sys.stderr)
        return 2
    return 0


# --------------------------------------------------------------------------
# one outcome from the data: what the notebooks and `mgmeta pool` run
# --------------------------------------------------------------------------

#: Comparisons pooled by default: magnesium against placebo, or added to a treatment both arms get.
DEFAULT_COMPARISON = ("placebo", "add-on")
_BINARY = ("OR", "RR", "RD", "PETO")
_CONTINUOUS = ("MD", "SMD", "ROM")


@dataclass(frozen=True)
class OutcomeInfo:
    """How an outcome code of the data reads, and which direction is good for the patient."""

    label: str
    kind: str  # "binary" or "continuous"
    higher_is_better: bool


#: The outcome codes of ``data/outcomes.csv`` (see data/README.md), with a label and the good direction.
OUTCOMES: dict[str, OutcomeInfo] = {
    "pain_free": OutcomeInfo("Pain free", "binary", True),
    "pain_diminished": OutcomeInfo("Pain diminished", "binary", True),
    "symptoms_resolved": OutcomeInfo("Symptoms resolved", "binary", True),
    "pain_relief": OutcomeInfo("Pain relief", "binary", True),
    "pain_relief_50": OutcomeInfo("Pain relief of 50 % or more", "binary", True),
    "pain_improvement": OutcomeInfo("Pain improvement", "binary", True),
    "pain_reduction": OutcomeInfo("Pain reduction", "continuous", True),
    "normal_function": OutcomeInfo("Return to normal function", "binary", True),
    "no_recurrence": OutcomeInfo("No recurrence", "binary", True),
    "responders_50": OutcomeInfo("Responders (50 % fewer attacks)", "binary", True),
    "rescue_medication": OutcomeInfo("Rescue medication", "binary", False),
    "adverse_events": OutcomeInfo("Adverse events", "binary", False),
    "ae_flushing": OutcomeInfo("Flushing", "binary", False),
    "ae_dystonia": OutcomeInfo("Dystonia", "binary", False),
    "ae_diarrhoea": OutcomeInfo("Diarrhoea", "binary", False),
    "ae_gastric_irritation": OutcomeInfo("Gastric irritation", "binary", False),
    "recurrence": OutcomeInfo("Recurrence", "binary", False),
    "pain_score": OutcomeInfo("Pain score", "continuous", False),
    "pain_change": OutcomeInfo("Change in pain score", "continuous", False),
    "attack_frequency": OutcomeInfo("Attack frequency", "continuous", False),
    "migraine_days": OutcomeInfo("Migraine days", "continuous", False),
    "headache_days": OutcomeInfo("Headache days", "continuous", False),
    "severity": OutcomeInfo("Attack severity (intensity)", "continuous", False),
    "duration": OutcomeInfo("Attack duration", "continuous", False),
    "hit6": OutcomeInfo("HIT-6 score", "continuous", False),
    "hit6_change": OutcomeInfo("Change in HIT-6 score", "continuous", False),
    "total_pain_index": OutcomeInfo("Total pain index", "continuous", False),
    "vep_p1_amplitude": OutcomeInfo("VEP P1 amplitude", "continuous", False),
}
_NOT_ANALYSED_TIMEPOINTS = {"baseline", "randomized", "enrolled", "excluded", "analysed", "completed"}


def outcome_info(outcome: str) -> OutcomeInfo:
    """The label and good direction of an outcome code (unknown codes: binary, lower is better)."""
    return OUTCOMES.get(outcome, OutcomeInfo(outcome.replace("_", " ").capitalize(), "binary", False))


def _timepoint_key(tp: str) -> tuple[int, float, str]:
    m = re.fullmatch(r"(\d+)(min|h)", tp)
    if m:
        return (0, float(m.group(1)) * (60 if m.group(2) == "h" else 1), tp)
    m = re.fullmatch(r"(?:month|wk|wk\d+-)(\d+)", tp)
    if m:
        weeks = float(m.group(1)) * (4.345 if tp.startswith("month") else 1)
        return (1, weeks, tp)
    return (2, 0.0, tp)


def _favours(outcome: str, measure: str) -> tuple[str, str]:
    """Labels (left, right) of the line of no effect: magnesium is arm 1, effects are mg minus/over control."""
    good_high = outcome_info(outcome).higher_is_better
    return ("control", "magnesium") if good_high else ("magnesium", "control")


@dataclass(frozen=True, eq=False)
class OutcomePool:
    """A meta-analysis of one outcome at one time point, from the trial data.

    Attributes
    ----------
    outcome : str
        Outcome code of ``data/outcomes.csv`` (the first, when several were searched).
    timepoint : str
        The time point, or the name of the time window.
    measure : str
        Effect measure (magnesium is arm 1: OR > 1 means more events on magnesium).
    comparison : tuple of str
        Comparisons pooled (order of preference per trial).
    route : str or None
        ``"iv"``, ``"oral"`` or None (both).
    data : DataFrame
        The analysis-ready rows used (:func:`mgmeta.data.analysis_data`).
    incomplete : DataFrame
        Trials that report the outcome but not enough numbers to use it
        (column ``missing`` says what is lacking).
    excluded : tuple of dict
        Trials left out and why (not randomized, excluded by argument, ...).
    effects : DataFrame or None
        The effect sizes given to the model (:func:`mgmeta.effect_sizes`).
    result : MetaAnalysisResult or None
        The fitted model; None when no trial has usable numbers. A single
        trial is shown as its own estimate (equal-effects model of one study).
    notes : tuple of str
        What the reader should know: single trial, continuity corrections,
        warnings raised while fitting.
    timepoints, outcomes : tuple of str
        The codes searched, in order of preference (``data`` has the ones
        each trial contributed in its ``timepoint`` and ``outcome`` columns).
    method, test : str
        The model asked for (a single trial is fitted as equal-effects).
    """

    outcome: str
    timepoint: str
    measure: str
    comparison: tuple[str, ...]
    route: str | None
    data: Any
    incomplete: Any
    excluded: tuple[dict[str, str], ...]
    effects: Any
    result: Any
    notes: tuple[str, ...] = ()
    timepoints: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    method: str = "REML"
    test: str = "z"

    @property
    def name(self) -> str:
        """File-name-safe identifier, e.g. ``pain_relief-30min``."""
        return re.sub(r"[^a-z0-9_\-]+", "_", f"{self.outcome}-{self.timepoint}".lower())

    @property
    def label(self) -> str:
        """Human-readable title, e.g. ``Pain relief, 30min (OR)``."""
        return f"{outcome_info(self.outcome).label}, {self.timepoint} ({self.measure})"

    @property
    def k(self) -> int:
        """Number of trials (or strata) pooled."""
        return 0 if self.result is None else int(self.result.k)

    @property
    def participants(self) -> int | None:
        """Participants of the trials with arm-level data (None when any row is a reported contrast)."""
        if self.data is None or not len(self.data) or (self.data["data_form"] != "arms").any():
            return None
        return int(round(float((self.data["n1i"] + self.data["n2i"]).sum())))

    def summary(self) -> dict[str, Any]:
        """One row for a table of analyses; effects on the display scale (exp for ratio measures)."""
        import math

        res = self.result
        row: dict[str, Any] = {"outcome": self.outcome, "timepoint": self.timepoint, "measure": self.measure,
                               "comparison": "/".join(self.comparison), "k": self.k,
                               "participants": self.participants, "trials_incomplete": int(len(self.incomplete))}
        keys = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")
        if res is None:
            row.update({k: None for k in keys}, pvalue=None, i2=None, tau2=None, method=None, test=None)
        else:
            tr = math.exp if self.measure in ("OR", "RR", "PETO", "ROM") else (lambda x: x)
            row.update({k: (None if getattr(res, k) is None else tr(getattr(res, k))) for k in keys})
            row.update(pvalue=res.pvalue, i2=res.i2 if res.k > 1 else None,
                       tau2=res.tau2 if res.random and res.k > 1 else None, method=res.method, test=res.test)
        row["studies"] = "; ".join(self.data["study"]) if self.data is not None and len(self.data) else ""
        row["notes"] = " ".join(self.notes)
        return row

    def forest(self, **kwargs: Any) -> Any:
        """Forest plot (:func:`mgmeta.plots.forest`) titled with the outcome, favours labels set by its direction."""
        if self.result is None:
            raise ReportError(f"{self.label}: nothing to plot, no trial reports usable numbers")
        from mgmeta.plots import forest

        kwargs.setdefault("title", self.label)
        kwargs.setdefault("favours", _favours(self.outcome, self.measure))
        return forest(self.result, **kwargs)

    def __str__(self) -> str:
        head = f"{self.label}; comparison {'/'.join(self.comparison)}" + (f"; route {self.route}" if self.route
                                                                             else "")
        body = str(self.result) if self.result is not None else "no trial reports usable numbers\n"
        extra = "".join(f"note: {n}\n" for n in self.notes)
        if len(self.incomplete):
            extra += "".join(f"not usable: {r.study} ({r.missing})\n" for r in self.incomplete.itertuples())
        return f"{head}\n\n{body}{extra}"

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(self.label)}</h4>"]
        parts.append(self.result._repr_html_() if self.result is not None
                     else "<p>No trial reports usable numbers.</p>")
        for n in self.notes:
            parts.append(f"<p><i>Note:</i> {html.escape(n)}</p>")
        if len(self.incomplete):
            items = "".join(f"<li>{html.escape(str(r.study))}: {html.escape(str(r.missing))}</li>"
                            for r in self.incomplete.itertuples())
            parts.append(f"<p>Trials reporting the outcome without usable numbers:</p><ul>{items}</ul>")
        return "".join(parts)


def _effects_frame(rows: Any, measure: str, *, add: float = 0.5, to: str = "only0") -> tuple[Any, list[str]]:
    """Effect sizes of analysis-ready rows: arm data through effect_sizes, reported contrasts as yi/vi."""
    import warnings

    import pandas as pd

    import mgmeta

    notes: list[str] = []
    pieces = []
    arms = rows[rows["data_form"] == "arms"]
    contrast = rows[rows["data_form"] == "contrast"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if len(arms):
            frame = arms.reset_index(drop=True)
            if measure in _BINARY:
                es = mgmeta.effect_sizes(measure, data=frame, ai="ai", ci="ci", n1i="n1i", n2i="n2i",
                                         add=add, to=to, labels="study")
            else:
                es = mgmeta.effect_sizes(measure, data=frame, m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i",
                                         sd2i="sd2i", n2i="n2i", labels="study")
            es.index = arms.index
            pieces.append(es)
        if len(contrast):
            es = mgmeta.effect_sizes(measure, yi=contrast["yi"].to_numpy(), vi=contrast["vi"].to_numpy(),
                                     labels=list(contrast["study"]))
            es.index = contrast.index
            pieces.append(es)
    notes += [str(w.message) for w in caught]
    frame = pd.concat(pieces).loc[rows.index] if len(pieces) > 1 else pieces[0]
    for col in ("corrected", "dropped"):
        if col in frame.columns:
            frame[col] = frame[col].astype("boolean").fillna(False).astype(bool)
    if "dropped" not in frame.columns:
        frame["dropped"] = False
    for col in ("trial_id", "data_form", "conversion"):
        frame[col] = rows.loc[frame.index, col].to_numpy()
    frame = frame.reset_index(drop=True)
    frame.attrs["measure"] = measure
    return frame, notes


def pool_outcome(outcome: str | Sequence[str], timepoint: str | Sequence[str], *, measure: str,
                 comparison: Sequence[str] | str = DEFAULT_COMPARISON, route: str | None = None,
                 method: str = "REML", test: str = "z", window: str | None = None,
                 include: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                 allow_assumptions: bool = False, add: float = 0.5, to: str = "only0",
                 path: str | os.PathLike[str] | None = None) -> OutcomePool:
    """Meta-analysis of one outcome at one time point (or window), straight from the trial data.

    Reads the analysis-ready rows (:func:`mgmeta.data.analysis_data`), computes
    the effect sizes (:func:`mgmeta.effect_sizes`; reported contrasts enter as
    their yi and vi) and fits :func:`mgmeta.meta_analysis`.

    Parameters
    ----------
    outcome : str or sequence of str
        Outcome code of ``data/outcomes.csv`` (e.g. ``"pain_relief"``), or
        several codes measuring the same construct in order of preference
        (e.g. ``["pain_score", "pain_improvement"]`` with ``measure="SMD"``).
        Effects of outcomes whose good direction differs from the first one's
        are sign-reversed (so that one direction favours magnesium), as the
        Cochrane Handbook (section 10.5.2) describes.
    timepoint : str or sequence of str
        Time-point code (``"30min"``), or a time window: codes in order of
        preference, each trial contributing the first one it reports usable
        numbers for (as reviews pool "relief at 15-45 min"). Time points are
        searched before outcomes.
    measure : str
        ``"OR" "RR" "RD" "PETO"`` for events, ``"MD" "SMD" "ROM"`` for means.
    comparison : str or sequence of str
        Comparisons to pool, in order of preference per trial (default
        placebo, then add-on).
    route : {"iv", "oral"}, optional
    method, test : str
        tau² estimator and test of :func:`mgmeta.meta_analysis`.
    window : str, optional
        Name of the time window (default: the codes joined by ``;``).
    include, exclude : sequence of str, optional
        Trial ids to add (e.g. excluded by default) or drop.
    allow_assumptions : bool
        Use numbers flagged as resting on an assumption.
    add, to : float, str
        Continuity correction of 2x2 tables with zero cells, as in
        :func:`mgmeta.effect_sizes`.
    path : path, optional
        Data folder (default: the repository's ``data/``).

    Returns
    -------
    OutcomePool
        With ``result`` None when no trial has usable numbers. One trial is
        not pooled: its own estimate is shown (equal-effects fit of k = 1).

    Raises
    ------
    DataError
        Unknown outcome, time point, measure or trial id; outcomes of
        opposite directions pooled as a risk ratio.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Cochrane Handbook for Systematic
    Reviews of Interventions, version 6.4, chapters 6 and 10 (2023).
    https://training.cochrane.org/handbook
    """
    import warnings

    from mgmeta import meta_analysis
    from mgmeta.errors import DataError

    measure = str(measure).upper()
    if measure not in _BINARY + _CONTINUOUS:
        raise DataError(f"measure must be one of {', '.join(_BINARY + _CONTINUOUS)}, got {measure!r}",
                        field="measure")
    comp = (comparison,) if isinstance(comparison, str) else tuple(comparison)
    tps = (timepoint,) if isinstance(timepoint, str) else tuple(timepoint)
    ocs = (outcome,) if isinstance(outcome, str) else tuple(outcome)
    if not tps:
        raise DataError("give at least one time point", field="timepoint")
    if not ocs:
        raise DataError("give at least one outcome", field="outcome")
    label = window or ";".join(tps)
    usable, incomplete, excluded = _window_rows(ocs, tps, measure, comp, route, include, exclude,
                                                allow_assumptions, path)

    def pool(effects: Any, result: Any, notes: Sequence[str]) -> OutcomePool:
        return OutcomePool(ocs[0], label, measure, comp, route, usable, incomplete, excluded, effects, result,
                           tuple(dict.fromkeys(notes)), tps, ocs, method, test)

    if not len(usable):
        return pool(None, None, ["no trial reports usable numbers"])
    effects, notes = _effects_frame(usable, measure, add=add, to=to)
    good_high = outcome_info(ocs[0]).higher_is_better
    flip = usable["outcome"].map(lambda o: outcome_info(str(o)).higher_is_better != good_high).to_numpy(bool)
    if flip.any():
        if measure == "RR":
            raise DataError(f"outcomes {sorted(set(usable['outcome']))} point in opposite directions; a risk "
                            "ratio cannot be reversed (use OR or RD)", field="outcome")
        effects["yi"] = effects["yi"].where(~flip, -effects["yi"])
        effects["sign_reversed"] = flip
        names = ", ".join(effects.loc[flip, "study"])
        notes.append(f"effects sign-reversed so that every outcome points the way of {ocs[0]}: {names}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if len(effects) == 1:
            result = meta_analysis(effects, method="EE", test="z")
            notes.append("one trial: its own estimate, nothing pooled")
        else:
            result = meta_analysis(effects, method=method, test=test)
    notes += [str(w.message) for w in caught]
    return pool(effects, result, notes)


def _window_rows(ocs: tuple[str, ...], tps: tuple[str, ...], measure: str, comp: tuple[str, ...],
                 route: str | None, include: Any, exclude: Any, allow_assumptions: bool,
                 path: Any) -> tuple[Any, Any, tuple[dict[str, str], ...]]:
    """Per trial (or stratum), the first (time point, outcome) with usable numbers."""
    import pandas as pd

    from mgmeta import data as mgdata
    from mgmeta.errors import DataError

    chosen: dict[tuple[str, str], Any] = {}
    lacking: dict[tuple[str, str], Any] = {}
    excluded: dict[str, dict[str, str]] = {}
    known = 0
    columns: list[str] | None = None
    several = len(tps) > 1 or len(ocs) > 1
    for tp in tps:
        for oc in ocs:
            try:
                frame = mgdata.analysis_data(oc, tp, measure=measure, comparison=list(comp), route=route,
                                             include=include, exclude=exclude, allow_assumptions=allow_assumptions,
                                             keep_missing=True, path=path)
            except DataError as exc:
                if several and getattr(exc, "field", None) in ("timepoint", "outcome"):
                    continue  # a window may name time points (or outcomes) no trial reports
                raise
            known += 1
            frame = frame.assign(outcome=oc, timepoint=tp)
            columns = list(frame.columns)
            for e in frame.attrs.get("excluded", []):
                excluded.setdefault(str(e.get("trial_id")), dict(e))
            for _, row in frame.iterrows():
                key = (str(row["trial_id"]), str(row["stratum"]))
                if key in chosen:
                    continue
                if row["data_form"] != "missing":
                    chosen[key] = row
                    lacking.pop(key, None)
                else:
                    lacking.setdefault(key, row)
    if not known:
        raise DataError(f"no trial reports {list(ocs)} at any of the time points {list(tps)}", field="timepoint")
    usable = pd.DataFrame(list(chosen.values()), columns=columns).reset_index(drop=True)
    incomplete = pd.DataFrame(list(lacking.values()), columns=columns).reset_index(drop=True)
    for tid in list(excluded):
        if any(k[0] == tid for k in chosen):
            del excluded[tid]
    return usable, incomplete, tuple(excluded.values())


def analysis_catalogue(route: str | None = None, comparison: Sequence[str] | str = DEFAULT_COMPARISON, *,
                       path: str | os.PathLike[str] | None = None) -> Any:
    """Every outcome and time point the trials report, with how many trials give usable numbers.

    Parameters
    ----------
    route : {"iv", "oral"}, optional
    comparison : str or sequence of str
        As in :func:`pool_outcome`.
    path : path, optional
        Data folder.

    Returns
    -------
    DataFrame
        Columns ``outcome``, ``label``, ``timepoint``, ``kind`` (binary or
        continuous), ``measure`` (OR for events; MD when every trial reports
        the same unit, else SMD), ``units``, ``trials_usable``,
        ``trials_incomplete``, ``studies``; sorted by outcome and time.
    """
    import pandas as pd

    from mgmeta import data as mgdata

    comp = [comparison] if isinstance(comparison, str) else list(comparison)
    trials = mgdata.load_trials(path)
    outcomes = mgdata.load_outcomes(path)
    contrasts = mgdata.load_contrasts(path)
    ids = set(trials["trial_id"] if route is None else trials.loc[trials["route"] == route, "trial_id"])
    pairs = set()
    for tab in (outcomes, contrasts):
        sub = tab[tab["trial_id"].isin(ids)]
        pairs |= set(zip(sub["outcome"], sub["timepoint"]))
    rows = []
    for outcome, tp in sorted(pairs, key=lambda p: (p[0], _timepoint_key(str(p[1])))):
        if outcome == "participants" or tp in _NOT_ANALYSED_TIMEPOINTS:
            continue
        kind = outcome_info(outcome).kind
        recs = outcomes[(outcomes["outcome"] == outcome) & (outcomes["timepoint"] == tp)
                        & outcomes["trial_id"].isin(ids)]
        quantities = set(recs["quantity"].dropna())
        if quantities & {"events", "percent"}:
            kind = "binary"
        elif quantities & {"mean", "median", "sd"}:
            kind = "continuous"
        units = sorted(set(recs.loc[recs["quantity"].isin(["mean", "median", "sd", "se"]), "unit"].dropna()))
        measure = "OR" if kind == "binary" else ("MD" if len(units) <= 1 else "SMD")
        frame = mgdata.analysis_data(outcome, tp, measure=measure, comparison=comp, route=route, keep_missing=True,
                                     path=path)
        usable = frame[frame["data_form"] != "missing"]
        rows.append({"outcome": outcome, "label": outcome_info(outcome).label, "timepoint": tp, "kind": kind,
                     "measure": measure, "units": "; ".join(units), "trials_usable": len(usable),
                     "trials_incomplete": int((frame["data_form"] == "missing").sum()),
                     "studies": "; ".join(usable["study"])})
    return pd.DataFrame(rows, columns=["outcome", "label", "timepoint", "kind", "measure", "units", "trials_usable",
                                       "trials_incomplete", "studies"])


def pool_table(pools: Sequence[OutcomePool]) -> Any:
    """The summaries of several :class:`OutcomePool` as one DataFrame (display scale)."""
    import pandas as pd

    return pd.DataFrame([p.summary() for p in pools])


# --------------------------------------------------------------------------
# the published pooled results, recomputed
# --------------------------------------------------------------------------

#: Status of a published result in :func:`reproduction_table`.
REPRODUCED = "reproduced"
DIFFERS = "differs"
NOT_RECOMPUTABLE = "cannot be recomputed"
#: Comparisons searched for a published result, in order of preference per trial (its trial list decides).
_ANY_COMPARISON = ("placebo", "add-on", "active", "usual care")
_REPRO_COLUMNS = ["result_id", "review", "outcome", "timepoint", "route", "measure", "published_estimate",
                  "published_ci_lower", "published_ci_upper", "published_k", "recomputed_estimate",
                  "recomputed_ci_lower", "recomputed_ci_upper", "recomputed_k", "profile", "status", "reason",
                  "trials"]


def _decimals(x: float) -> int:
    text = repr(float(x))
    if "e" in text or "E" in text:
        return 6
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def within_rounding(recomputed: float, published: float) -> bool:
    """True when ``recomputed`` rounds to ``published`` at the decimals ``published`` is given with.

    The published value's decimals are those of its shortest representation
    (``0.23`` -> 2), so a value printed as 0.230 is treated as 0.23: the
    check is as lenient as the number kept in ``data/published.csv``.
    """
    import math

    if published is None or recomputed is None or math.isnan(published) or math.isnan(recomputed):
        return False
    half = 0.5 * 10.0 ** (-_decimals(published))
    return abs(recomputed - published) <= half + 1e-12


def _missing_items(gaps: Any, rid: str) -> str:
    """What data_gaps() lists as missing for a published result: its trials' numbers, or the candidates'."""
    sub = gaps[(gaps["result_id"] == rid) & (gaps["kind"] == "trial_data")]
    items = [f"{r.study + ': ' if r.study else ''}{r.item} ({r.status})" for r in sub.itertuples()]
    cand = gaps[(gaps["result_id"] == rid) & (gaps["kind"] == "candidate_trial_data")]
    if len(cand):
        items.append(f"{cand['trial_id'].nunique()} candidate trials with numbers still to extract "
                     f"({len(cand)} items in data_gaps())")
    return "; ".join(dict.fromkeys(items))


def reproduction_table(*, profiles: Sequence[str] = ("metafor", "revman5"),
                       path: str | os.PathLike[str] | None = None) -> Any:
    """Every published pooled result of ``data/published.csv``, recomputed where the data allow.

    For each published result: its trial list (``data/published_trials.csv``,
    trials stated or inferred from the arithmetic; candidates do not make a
    list) and the trials' numbers are looked up; when every trial has usable
    numbers, the analysis is re-run under each of ``profiles``
    (:func:`mgmeta.reproduce`) and compared with the published estimate and
    confidence limits at the paper's rounding.

    Parameters
    ----------
    profiles : sequence of str
        Software profiles to run (:func:`mgmeta.profiles.profiles`); the one
        closest to the published estimate is reported.
    path : path, optional
        Data folder.

    Returns
    -------
    DataFrame
        One row per published result, in the order of ``published.csv``:
        ``result_id review outcome timepoint route measure``, the published and
        recomputed ``estimate ci_lower ci_upper k`` (natural scale: odds
        ratios, not logs), ``profile`` (the closest), ``status`` (``reproduced``
        within the paper's rounding; ``differs``, with the conventions that
        move the numbers; ``cannot be recomputed``, with what is missing),
        ``reason`` and ``trials`` (the trial ids used or sought).
        ``frame.attrs["diffs"]`` maps result ids to the full
        :func:`mgmeta.reproduce` tables of the recomputed results.
    """
    import math

    import pandas as pd

    from mgmeta import data as mgdata
    from mgmeta.errors import DataError
    from mgmeta.reproduce import reproduce

    published = mgdata.load_published(path)
    links = mgdata.load_published_trials(path)
    trials = mgdata.load_trials(path)
    gaps = mgdata.data_gaps(path)
    all_ids = [str(t) for t in trials["trial_id"]]
    default = {str(t) for t, d in zip(trials["trial_id"], trials["include_default"]) if bool(d is True)}
    rows = []
    diffs: dict[str, Any] = {}

    def num(x: Any) -> float:
        return float(x) if x is not None and not pd.isna(x) else math.nan

    for pub in published.itertuples(index=False):
        rid = str(pub.result_id)
        measure = str(pub.measure)
        row: dict[str, Any] = {
            "result_id": rid, "review": pub.review, "outcome": pub.outcome, "timepoint": pub.timepoint,
            "route": pub.route, "measure": measure, "published_estimate": num(pub.estimate),
            "published_ci_lower": num(pub.ci_lower), "published_ci_upper": num(pub.ci_upper),
            "published_k": None if pd.isna(pub.k) else int(pub.k), "recomputed_estimate": math.nan,
            "recomputed_ci_lower": math.nan, "recomputed_ci_upper": math.nan, "recomputed_k": None,
            "profile": "", "status": NOT_RECOMPUTABLE, "reason": "", "trials": ""}
        mine = links[(links["result_id"] == rid) & (links["basis"] != "candidate")]  # candidates are no list
        ids = [str(t) for t in mine["trial_id"]]
        row["trials"] = "; ".join(ids)
        if measure == "none":
            row["reason"] = f"no pooled estimate was published ({pub.direction})"
        elif measure == "unknown" or math.isnan(row["published_estimate"]):
            row["reason"] = "the published estimate was not seen; " + (_missing_items(gaps, rid) or "")
        elif not ids:
            row["reason"] = "the trial list is not known (no public source seen names it); " + (
                _missing_items(gaps, rid) or "")
        elif pd.isna(pub.data_timepoint) or not str(pub.data_timepoint).strip():
            row["reason"] = "the time point of the pooled data is not stated; " + (_missing_items(gaps, rid) or "")
        else:
            tps = [t for t in str(pub.data_timepoint).split(";") if t]
            try:
                pool = pool_outcome(str(pub.outcome), tps, measure=measure, comparison=_ANY_COMPARISON,
                                    route=None if pd.isna(pub.route) else str(pub.route),
                                    include=[t for t in ids if t not in default],
                                    exclude=[t for t in all_ids if t not in ids], allow_assumptions=False,
                                    path=path)
            except DataError as exc:
                row["reason"] = f"{exc}; " + (_missing_items(gaps, rid) or "")
                rows.append(row)
                continue
            used = set(pool.data["trial_id"]) if len(pool.data) else set()
            lacking = [t for t in ids if t not in used]
            if lacking:
                detail = "; ".join(f"{r.study}: {r.missing}" for r in pool.incomplete.itertuples()
                                   if r.trial_id in lacking)
                row["reason"] = (f"no usable numbers for {', '.join(lacking)}"
                                 + (f" ({detail})" if detail else "") + "; " + (_missing_items(gaps, rid) or ""))
            else:
                given = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in pub._asdict().items()}
                tab = reproduce(given, pool.effects, profiles=list(profiles), measure=measure)
                diffs[rid] = tab
                q = tab.set_index("quantity")
                best = str(q.loc["estimate", "closest"]) or str(profiles[0])
                row.update(recomputed_estimate=float(q.loc["estimate", best]),
                           recomputed_ci_lower=float(q.loc["ci_lower", best]),
                           recomputed_ci_upper=float(q.loc["ci_upper", best]),
                           recomputed_k=int(q.loc["k", best]), profile=best)
                checks = [(n, row[f"recomputed_{n}"], row[f"published_{n}"]) for n in
                          ("estimate", "ci_lower", "ci_upper") if not math.isnan(row[f"published_{n}"])]
                off = [n for n, r, p in checks if not within_rounding(r, p)]
                if row["published_k"] is not None and row["published_k"] != row["recomputed_k"]:
                    off.append("k")
                if not off:
                    row["status"] = REPRODUCED
                    row["reason"] = (f"estimate and CI within the paper's rounding under the {best} profile"
                                     if len(checks) > 1 else f"estimate within the paper's rounding under the {best} "
                                     "profile (no CI published)")
                else:
                    row["status"] = DIFFERS
                    why = [f"{n}: {row['recomputed_' + n]:.4g} vs {row['published_' + n]:.4g}" if n != "k" else
                           f"k: {row['recomputed_k']} vs {row['published_k']}" for n in off]
                    moved = [f"{c.removeprefix('changed_by_')}: {q.loc['estimate', c]}" for c in q.columns
                             if c.startswith("changed_by_") and str(q.loc["estimate", c]).strip()]
                    row["reason"] = ("; ".join(why) + (" (conventions that move the estimate: "
                                                       + "; ".join(moved) + ")" if moved else
                                                       " (no software convention explains it; the trial data or "
                                                       "the trial list may differ)"))
        row["reason"] = row["reason"].strip().rstrip(";")
        rows.append(row)
    out = pd.DataFrame(rows, columns=_REPRO_COLUMNS)
    out.attrs["diffs"] = diffs
    return out


# --------------------------------------------------------------------------
# summary of findings
# --------------------------------------------------------------------------

_SOF_COLUMNS = ["outcome", "label", "timepoint", "measure", "relative_effect", "assumed_per_1000",
                "corresponding_per_1000", "absolute_effect", "participants", "studies", "nnt", "comments",
                "estimate", "ci_lower", "ci_upper", "assumed_risk", "corresponding_risk", "corresponding_lower",
                "corresponding_upper", "nnt_value"]


def corresponding_risk(assumed: float, effect: float, measure: str) -> float:
    """Risk on magnesium implied by a relative (or absolute) effect and an assumed control risk.

    Parameters
    ----------
    assumed : float
        Assumed control-group risk (0-1).
    effect : float
        The effect on its natural scale: an odds ratio or risk ratio (not
        its log), or a risk difference.
    measure : {"OR", "PETO", "RR", "RD"}

    Returns
    -------
    float
        ``OR·ACR / (1 - ACR + OR·ACR)`` for odds ratios, ``RR·ACR`` for risk
        ratios (capped at 1), ``ACR + RD`` for risk differences (within 0-1).

    References
    ----------
    Schünemann HJ, Vist GE, Higgins JPT, et al. Interpreting results and
    drawing conclusions. Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4, chapter 15.4.4 (2023).
    https://training.cochrane.org/handbook/current/chapter-15
    """
    if measure in ("OR", "PETO"):
        return effect * assumed / (1 - assumed + effect * assumed)
    if measure == "RR":
        return min(1.0, effect * assumed)
    if measure == "RD":
        return min(1.0, max(0.0, assumed + effect))
    raise ReportError(f"no corresponding risk for measure {measure!r}")


def summary_of_findings(pools: Sequence[OutcomePool], *, baseline: str = "median") -> Any:
    """A summary-of-findings table, as GRADE's 'Summary of findings' tables present them.

    For binary outcomes: the relative effect with its CI; the assumed risk
    per 1000 on control (``baseline``: the median control-group risk of the
    trials, or the pooled risk ``sum events / sum n``) and the corresponding
    risk per 1000 on magnesium with its CI (from the relative effect's
    limits, Cochrane Handbook 15.4.4); participants and studies; and the
    number needed to treat, for benefit (NNTB) or harm (NNTH) according to
    the outcome's good direction, rounded up. For continuous outcomes: the
    median control mean and the (standardized) mean difference with its CI.
    Certainty of the evidence (GRADE) is a judgement, not computed here.

    Parameters
    ----------
    pools : sequence of OutcomePool
        The analyses to summarise (those without a result are listed with
        "no usable data").
    baseline : {"median", "pooled"}
        How the assumed control risk is taken from the trials.

    Returns
    -------
    DataFrame
        One row per analysis; display columns (``relative_effect``,
        ``assumed_per_1000``, ``corresponding_per_1000``, ``absolute_effect``,
        ``participants``, ``studies``, ``nnt``, ``comments``) and the numbers
        behind them (``estimate ci_lower ci_upper assumed_risk
        corresponding_risk corresponding_lower corresponding_upper nnt_value``;
        effects on the natural scale).

    References
    ----------
    Schünemann HJ, Higgins JPT, Vist GE, et al. Completing 'Summary of
    findings' tables and grading the certainty of the evidence. Cochrane
    Handbook, version 6.4, chapter 14 (2023).
    https://training.cochrane.org/handbook/current/chapter-14
    """
    import math

    import pandas as pd

    if baseline not in ("median", "pooled"):
        raise ReportError(f"baseline must be 'median' or 'pooled', got {baseline!r}")
    rows = []
    for pool in pools:
        info = outcome_info(pool.outcome)
        s = pool.summary()
        row: dict[str, Any] = {c: None for c in _SOF_COLUMNS}
        row.update(outcome=pool.outcome, label=info.label, timepoint=pool.timepoint, measure=pool.measure,
                   participants=pool.participants, studies=pool.k, estimate=s["estimate"],
                   ci_lower=s["ci_lower"], ci_upper=s["ci_upper"], comments=" ".join(pool.notes))
        if pool.result is None:
            row.update(relative_effect="no usable data", comments="; ".join(
                f"{r.study}: {r.missing}" for r in pool.incomplete.itertuples()) or "no trial reports it")
            rows.append(row)
            continue
        effect = f"{s['estimate']:.2f} ({s['ci_lower']:.2f} to {s['ci_upper']:.2f})"
        if pool.measure in _BINARY:
            row["relative_effect"] = f"{pool.measure} {effect}"
            arms = pool.data[pool.data["data_form"] == "arms"]
            risks = (arms["ci"] / arms["n2i"]).to_numpy(float)
            if len(risks):
                acr = float(pd.Series(risks).median()) if baseline == "median" else \
                    float(arms["ci"].sum() / arms["n2i"].sum())
                cr, lo, hi = (corresponding_risk(acr, s[k], pool.measure) for k in ("estimate", "ci_lower",
                                                                                       "ci_upper"))
                row.update(assumed_risk=acr, corresponding_risk=cr, corresponding_lower=min(lo, hi),
                           corresponding_upper=max(lo, hi), assumed_per_1000=f"{round(1000 * acr)} per 1000",
                           corresponding_per_1000=f"{round(1000 * cr)} per 1000 ({round(1000 * min(lo, hi))} to "
                                                  f"{round(1000 * max(lo, hi))})")
                diff = cr - acr
                row["absolute_effect"] = f"{abs(round(1000 * diff))} {'more' if diff >= 0 else 'fewer'} per 1000"
                if diff != 0:
                    nnt = math.ceil(1 / abs(diff) - 1e-9)
                    benefit = (diff > 0) == info.higher_is_better
                    row.update(nnt_value=nnt, nnt=f"{'NNTB' if benefit else 'NNTH'} {nnt}")
            else:
                row["comments"] = (row["comments"] + " No control-arm counts (reported contrast only): no "
                                   "absolute effect.").strip()
        else:
            name = {"MD": "MD", "SMD": "SMD", "ROM": "Ratio of means"}[pool.measure]
            row["relative_effect"] = f"{name} {effect}"
            arms = pool.data[pool.data["data_form"] == "arms"]
            if pool.measure != "SMD" and len(arms):
                row["assumed_per_1000"] = f"control mean {float(arms['m2i'].median()):.3g}"
            row["absolute_effect"] = f"{name} {effect}"
        rows.append(row)
    out = pd.DataFrame(rows, columns=_SOF_COLUMNS)
    for col in ("participants", "studies", "nnt_value"):
        out[col] = pd.array([None if v is None or pd.isna(v) else int(v) for v in out[col]], dtype="Int64")
    return out


# --------------------------------------------------------------------------
# `mgmeta pool`
# --------------------------------------------------------------------------

def add_pool_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``mgmeta pool`` to ``parser`` and return it."""
    parser.add_argument("outcome", help="outcome code of data/outcomes.csv, e.g. pain_relief")
    parser.add_argument("timepoint", help="time-point code, e.g. 30min, 120min, month3")
    parser.add_argument("--measure", "-m", default=None, type=str.upper,
                        choices=list(_BINARY + _CONTINUOUS), help="effect measure (default: OR for events, "
                        "MD for means in one unit, SMD otherwise)")
    parser.add_argument("--comparison", "-c", action="append", metavar="KIND",
                        choices=["placebo", "active", "add-on", "usual care", "unclear"],
                        help="comparison to pool, repeatable in order of preference "
                             f"(default: {' then '.join(DEFAULT_COMPARISON)})")
    parser.add_argument("--route", choices=["iv", "oral"], help="keep one route only")
    parser.add_argument("--method", default="REML", type=str.upper,
                        choices=["EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"],
                        help="tau² estimator (default REML)")
    parser.add_argument("--test", default="z", choices=["z", "knha"], help="z or Hartung-Knapp (knha)")
    parser.add_argument("--exclude", action="append", metavar="TRIAL_ID", help="drop a trial (repeatable)")
    parser.add_argument("--include", action="append", metavar="TRIAL_ID",
                        help="add a trial excluded by default (repeatable)")
    parser.add_argument("--allow-assumptions", action="store_true",
                        help="use numbers flagged as resting on an assumption")
    parser.add_argument("--data", metavar="DIR", help="data folder (default: the repository's data/)")
    parser.add_argument("--forest", metavar="FILE", help="also write the forest plot (.png, .svg or .pdf)")
    parser.add_argument("--format", choices=["text", "json", "csv"], default="text",
                        help="text summary (default), or one JSON object / CSV row of the summary")
    return parser


def pool_command(args: argparse.Namespace) -> int:
    """Run ``mgmeta pool``; returns the exit code.

    0: the analysis was printed (and the forest plot written); 1: no trial
    reports usable numbers for this outcome and time point; 2: bad input
    (unknown outcome, time point, measure or trial; invalid data; unwritable
    plot file).
    """
    from mgmeta.errors import DataError

    try:
        measure = args.measure
        if measure is None:
            cat = analysis_catalogue(args.route, args.comparison or DEFAULT_COMPARISON, path=args.data)
            hit = cat[(cat["outcome"] == args.outcome) & (cat["timepoint"] == args.timepoint)]
            measure = str(hit["measure"].iloc[0]) if len(hit) else (
                "OR" if outcome_info(args.outcome).kind == "binary" else "MD")
        pool = pool_outcome(args.outcome, args.timepoint, measure=measure,
                            comparison=args.comparison or DEFAULT_COMPARISON, route=args.route,
                            method=args.method, test=args.test, include=args.include, exclude=args.exclude,
                            allow_assumptions=args.allow_assumptions, path=args.data)
    except (DataError, MgmetaError) as exc:
        print(f"mgmeta pool: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(pool.summary(), default=_json_default))
    elif args.format == "csv":
        print(pool_table([pool]).to_csv(index=False), end="")
    else:
        print(pool, end="")
    if pool.result is None:
        print(f"mgmeta pool: no trial reports usable numbers for {args.outcome} at {args.timepoint}",
              file=sys.stderr)
        return 1
    if args.forest:
        target = Path(args.forest)
        if target.suffix.lower() not in (".png", ".svg", ".pdf"):
            print(f"mgmeta pool: error: --forest must end in .png, .svg or .pdf, got {str(target)!r}",
                  file=sys.stderr)
            return 2
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig = pool.forest()
        try:
            fig.savefig(target, dpi=300, bbox_inches="tight")
        except OSError as exc:
            print(f"mgmeta pool: error: cannot write {str(target)!r}: {exc}", file=sys.stderr)
            return 2
        finally:
            plt.close(fig)
        if args.format == "text":
            print(f"forest plot written to {target}")
    return 0


def _json_default(x: Any) -> Any:
    try:
        return x.item()
    except AttributeError:
        return str(x)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mgmeta.report``: build the report (what ``make report`` runs)."""
    parser = argparse.ArgumentParser(prog="python -m mgmeta.report",
                                     description="Execute every notebook from scratch and render the "
                                                 "static HTML report into report/.")
    add_report_arguments(parser)
    return report_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
