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

The analyses the notebooks and ``mgmeta pool`` share (one outcome from the
data to a fitted model, the catalogue, the reproduction and summary-of-findings
tables) live in :mod:`mgmeta.review.outcomes`; this module only runs and
renders.

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


# Interim display helpers (the report issue replaces them with formatted rendering): the notebooks
# already call them by these names.
def show_table(frame: Any, name: str, directory: str | os.PathLike[str], *, columns: Mapping[str, str] | None = None,
               caption: str | None = None, notes: Sequence[str] | None = None, kinds: Mapping[str, str] | None = None,
               collapse: bool | None = None) -> str:
    """Write ``frame`` as CSV (:func:`save_table`) and display it without its index."""
    from IPython.display import HTML, display

    save_table(frame, name, directory)
    shown = frame[list(columns)].rename(columns=dict(columns)) if columns else frame
    text = (f"<p><b>{html.escape(caption)}</b></p>" if caption else "") + shown.to_html(index=False, na_rep="—")
    display(HTML(text))
    return text


def show_figure(fig: Any, name: str, directory: str | os.PathLike[str], *, alt: str,
                caption: str | None = None) -> Path:
    """Write the figure (:func:`save_figure`), display it once and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    path = save_figure(fig, name, directory)
    display(Image(filename=str(path)))
    plt.close(fig)
    return path


def what_this_means(text: str) -> None:
    """Display the closing section of a notebook page."""
    from IPython.display import Markdown, display

    display(Markdown(f"## What this means\n\n{text}"))


def note(text: str) -> None:
    """Display a note for the reader."""
    from IPython.display import Markdown, display

    display(Markdown(f"*Note:* {text}"))


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
    """The trial table through mgmeta.review.data (the only module that reads data files)."""
    from mgmeta.review import data as mgdata

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
# `mgmeta pool`
# --------------------------------------------------------------------------

def add_pool_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``mgmeta pool`` to ``parser`` and return it."""
    from mgmeta.review.outcomes import _BINARY, _CONTINUOUS

    parser.add_argument("outcome", help="outcome code of data/outcomes.csv, e.g. pain_relief")
    parser.add_argument("timepoint", help="time-point code, e.g. 30min, 120min, month3")
    parser.add_argument("--measure", "-m", default=None, type=str.upper,
                        choices=list(_BINARY + _CONTINUOUS), help="effect measure (default: the review's "
                        "measure for the outcome and comparison: OR for events, MD for means on one scale, SMD "
                        "otherwise)")
    parser.add_argument("--comparison", "-c", metavar="ID",
                        help="the comparison, e.g. iv-placebo or iv-active-metoclopramide (see "
                             "mgmeta.review.comparisons.comparisons(); default: placebo of --route)")
    parser.add_argument("--route", choices=["iv", "oral"], default="iv",
                        help="route of the default comparison (default iv)")
    parser.add_argument("--method", default="REML", type=str.upper,
                        choices=["EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"],
                        help="tau² estimator (default REML)")
    parser.add_argument("--test", default="knha", choices=["z", "knha"],
                        help="z or Hartung-Knapp (knha, the default)")
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
    from mgmeta.review.outcomes import pool_outcome, pool_table

    try:
        pool = pool_outcome(args.outcome, args.timepoint, measure=args.measure,
                            comparison=args.comparison or f"{args.route}-placebo",
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
