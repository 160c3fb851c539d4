"""The rendered report: execute every notebook from scratch and build a static HTML site.

``make report`` (``python -m mgmeta.report``) and ``mgmeta report`` call
:func:`build_report`, which

1. finds the notebooks ``notebooks/NN_topic.py`` (py:percent scripts paired with
   ``.ipynb`` files through jupytext; the ``.py`` is the reviewed source),
2. executes each one from scratch in a fresh kernel with nbclient, with an
   explicit per-cell timeout, injecting papermill-style parameters after the
   cell tagged ``parameters`` (at least ``FIGURE_DIR`` and ``TABLE_DIR``,
   where the notebook writes its figures and CSV tables), and stops at the
   first error,
3. renders every executed notebook for readers: code folded away, pandas
   tables formatted (:func:`format_table`), warnings and :func:`note` items
   listed as sentences under "Notes" at the end, the :func:`what_this_means`
   section last, every image with an alt text; no script or font is fetched
   from the network, so the site works offline,
4. writes an index page that opens with the key findings
   (``tables/*/key_findings.csv`` and ``key_findings_note.md``), then links
   every page; a gallery of the report's figures; the trial data with their
   sources (mirrors labelled as copies); package versions, the SHA-256 of
   every data file and the build date, plus ``manifest.json`` with the same
   facts for machines.

What a notebook calls to show results to people: :func:`show_table` (a CSV at
full precision plus a formatted table), :func:`show_figure` (PNG at 2x and
SVG, displayed once with its alt text), :func:`what_this_means`,
:func:`note` and :func:`sentence`. :func:`save_table` and
:func:`save_figure` only write files.

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
from html.parser import HTMLParser as _HTMLParser
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

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
    "show_table",
    "show_figure",
    "what_this_means",
    "note",
    "sentence",
    "format_table",
    "format_estimate",
    "format_p",
    "format_int",
    "format_pct",
    "is_mirror",
    "MIRROR_HOSTS",
    "KEY_FINDINGS_COLUMNS",
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
    """

    output_dir: Path
    notebooks: tuple[NotebookRun, ...]
    build_date: str
    seconds: float
    checksums: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

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
    _check_name(name, "figure")
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
    _check_name(name, "table")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.csv"
    frame.to_csv(path, index=any(n is not None for n in frame.index.names))
    return path


# --------------------------------------------------------------------------
# tables, figures and sentences for people (what the notebooks display)
# --------------------------------------------------------------------------

#: What a missing value looks like in a table for people, and the footnote that explains it.
MISSING = "\u2014"
MISSING_NOTE = "\u2014 not reported / not applicable"
#: Tables with more rows than this are folded into a "Show all N rows" disclosure.
LONG_TABLE_ROWS = 15
#: Column kinds understood by :func:`format_table` (``kinds=``).
TABLE_KINDS = ("estimate", "p", "int", "pct", "bool", "text")
#: Resolution of the PNG written by :func:`show_figure` (2x a 100 dpi screen).
FIGURE_DPI = 200
#: Figures are shown at full column width, but never larger than this many CSS pixels per inch of the
#: figure (8 pt text then reads at about 17 px) unless that is narrower than MIN_FIGURE_PX: a small
#: plot is neither blown up to the column nor left tiny.
SCREEN_PX_PER_INCH = 150
MIN_FIGURE_PX = 640


def _figure_style(px: float | None) -> str:
    """The inline style of a figure: full column width, capped as SCREEN_PX_PER_INCH says."""
    if px is None:
        return "width:100%;height:auto"
    return f"width:100%;max-width:{max(round(px), MIN_FIGURE_PX)}px;height:auto"


_P_COLUMN = re.compile(r"^(p|pval|pvalue|p_value)$|_(p|pval|pvalue|p_value)$", re.I)
_COUNT_COLUMN = re.compile(r"^(n|k|df|year|nnt|nnt[bh]|participants|patients|studies|trials|events|arms|count)$"
                           r"|^(n|k|trials|studies|events|count|number)_|_(n|k|count|events|participants|studies|trials)$"
                           r"|^n\d*i$|^(ai|bi|ci|di)$", re.I)
_PCT_COLUMN = re.compile(r"^(i2|i²)$|(^|_)(pct|percent)($|_)", re.I)
#: Words of snake_case column names that readers know in another spelling.
_HEADER_WORDS = {"ci": "CI", "pvalue": "p", "p": "p", "i2": "I²", "tau2": "τ²", "tau": "τ", "h2": "H²",
                 "se": "SE", "sd": "SD", "nnt": "NNT", "nntb": "NNTB", "nnth": "NNTH", "or": "OR", "rr": "RR",
                 "rd": "RD", "md": "MD", "smd": "SMD", "rom": "ROM", "iv": "IV", "id": "ID", "doi": "DOI",
                 "pmid": "PMID", "url": "URL", "rob": "RoB", "ae": "AE", "ed": "ED", "q": "Q", "df": "df",
                 "hksj": "HKSJ", "knha": "KNHA", "reml": "REML", "dl": "DL", "mg": "Mg", "k": "k", "n": "n"}


def _human_header(column: Any) -> str:
    """``"ci_lower"`` -> ``"CI lower"``: words for a snake_case column name.

    >>> _human_header("trials_usable"), _human_header("ci_lower"), _human_header("i2")
    ('Trials usable', 'CI lower', 'I²')
    """
    if isinstance(column, tuple):
        return " ".join(_human_header(c) for c in column if str(c))
    words = [w for w in re.split(r"[_\s]+", str(column).strip()) if w]
    if not words:
        return ""
    out = [_HEADER_WORDS.get(w.lower(), w) for w in words]
    if words[0].lower() not in _HEADER_WORDS:
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        import pandas as pd
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(missing) if isinstance(missing, (bool, np.bool_)) else False


def format_estimate(x: Any) -> str:
    """An estimate for people: 2 decimals, 3 when ``|x| < 0.1``; ``—`` when missing.

    >>> format_estimate(0.4567), format_estimate(-0.0456), format_estimate(12), format_estimate(None)
    ('0.46', '-0.046', '12.00', '—')
    """
    if _is_missing(x):
        return MISSING
    v = float(x)
    if not np.isfinite(v):
        return "∞" if v > 0 else ("-∞" if v < 0 else MISSING)
    text = f"{v:.3f}" if 0 < abs(v) < 0.1 else f"{v:.2f}"
    return text[1:] if re.fullmatch(r"-0\.0+", text) else text


def format_p(p: Any) -> str:
    """A p-value for people: ``0.074``, ``<0.001``; ``—`` when missing.

    >>> format_p(0.07413), format_p(0.00004), format_p(0.9608776), format_p(float("nan"))
    ('0.074', '<0.001', '0.961', '—')
    """
    if _is_missing(p):
        return MISSING
    v = float(p)
    if not np.isfinite(v):
        return MISSING
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def p_text(p: Any) -> str:
    """A p-value in a sentence: ``p = 0.074``, ``p < 0.001``.

    >>> p_text(0.07413), p_text(0.00004)
    ('p = 0.074', 'p < 0.001')
    """
    text = format_p(p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def format_int(x: Any) -> str:
    """A count: ``157`` (never ``157.0``); ``—`` when missing.

    >>> format_int(157.0), format_int(None)
    ('157', '—')
    """
    if _is_missing(x):
        return MISSING
    v = float(x)
    return f"{v:.0f}" if np.isfinite(v) else MISSING


def format_pct(x: Any) -> str:
    """A percentage with one decimal: ``42.5%``; ``—`` when missing.

    >>> format_pct(42.46)
    '42.5%'
    """
    if _is_missing(x):
        return MISSING
    v = float(x)
    return f"{v:.1f}%" if np.isfinite(v) else MISSING


def _format_cell(value: Any, kind: str) -> tuple[str, bool]:
    """(escaped HTML of one cell, whether it is right-aligned as a number)."""
    if _is_missing(value):
        return MISSING, False
    if kind == "bool" or isinstance(value, (bool, np.bool_)):
        return ("Yes" if value else "No"), False
    if kind != "text" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return ("Yes" if value.strip().lower() == "true" else "No"), False
    if kind == "text" or not isinstance(value, (int, float, np.integer, np.floating)):
        text = html.escape(_plain(value))
        # GRADE symbols (⊕⊕◯◯) stay on one line
        return re.sub(r"^([⊕◯○]+)", r'<span class="mg-grade">\1</span>', text), False
    if kind == "p":
        return format_p(value), True
    if kind == "pct":
        return format_pct(value), True
    if kind == "int" or (kind == "mixed" and isinstance(value, (int, np.integer))):
        return format_int(value), True
    return format_estimate(value), True


def _plain(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def _column_kind(name: Any, series: Any, given: str | None) -> str:
    import pandas as pd
    from pandas.api import types as ptypes

    if given is not None:
        if given not in TABLE_KINDS:
            raise ReportError(f"kinds[{name!r}] must be one of {TABLE_KINDS}, got {given!r}")
        return given
    label = "_".join(str(n) for n in name) if isinstance(name, tuple) else str(name)
    label = re.sub(r"\s+", "_", label.strip())
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype):
        return "bool"
    if _P_COLUMN.search(label) and ptypes.is_numeric_dtype(dtype):
        return "p"
    if ptypes.is_integer_dtype(dtype):
        return "int"
    if ptypes.is_float_dtype(dtype):
        values = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float)
        if _PCT_COLUMN.search(label):
            return "pct"
        if _COUNT_COLUMN.search(label) and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            return "int"
        return "estimate"
    if ptypes.is_numeric_dtype(dtype):
        return "estimate"
    return "mixed"


def _readable_frame(frame: Any) -> Any:
    """A DataFrame (a Series becomes one) whose meaningful index is a column and whose default one is gone."""
    import pandas as pd

    if isinstance(frame, pd.Series):
        frame = frame.to_frame(name=frame.name if frame.name is not None else "value")
    if not isinstance(frame, pd.DataFrame):
        raise ReportError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if frame.columns.duplicated().any():  # one column per label, so that every column can be formatted
        seen: dict[Any, int] = {}
        labels = []
        for c in frame.columns:
            seen[c] = seen.get(c, 0) + 1
            labels.append(c if seen[c] == 1 else f"{c} ({seen[c]})")
        frame = frame.set_axis(labels, axis=1)
    idx = frame.index
    default = isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1
    if not default:
        names = [n if n is not None else "" for n in idx.names]
        if len(names) == 1 and names[0] == "" and "" in frame.columns:
            names = [" "]
        frame = frame.copy()
        frame.index = frame.index.set_names(names)
        frame = frame.reset_index()
    return frame


def format_table(frame: Any, *, columns: Mapping[Any, str] | Sequence[Any] | None = None,
                 caption: str | None = None, notes: str | Sequence[str] | None = None,
                 kinds: Mapping[Any, str] | None = None, collapse: bool | None = None,
                 csv_href: str | None = None) -> str:
    """A table formatted for people, as HTML (what :func:`show_table` displays).

    Parameters
    ----------
    frame : pandas.DataFrame or pandas.Series
        The table. A default ``0..n-1`` index is not shown; a meaningful index becomes the first column(s).
    columns : mapping or sequence, optional
        ``{column: "Human header"}`` giving the columns shown, their order and headers (a sequence keeps
        the default headers). Default: every column, headers de-snake_cased (``ci_lower`` -> ``CI lower``).
    caption : str, optional
        A line above the table (Markdown inline code, emphasis and links allowed).
    notes : str or sequence of str, optional
        Footnotes under the table.
    kinds : mapping, optional
        ``{column: kind}`` with kind one of ``"estimate"`` (2 decimals, 3 when ``|x| < 0.1``), ``"p"``
        (``0.074``, ``<0.001``), ``"int"``, ``"pct"`` (one decimal and ``%``), ``"bool"`` (Yes/No),
        ``"text"``. Inferred when not given: p-values from the column name (``p``, ``pvalue``, ``p_value``,
        ``*_p``, ``*_pvalue``), counts from integer dtypes (and whole-number floats in count columns such
        as ``participants``, ``k``, ``n_*``), percentages from ``i2`` and ``*_pct``, booleans as Yes/No.
    collapse : bool, optional
        Fold the table into a "Show all N rows" disclosure (default: when it has more than
        :data:`LONG_TABLE_ROWS` rows).
    csv_href : str, optional
        Link to the CSV with the full-precision table.

    Returns
    -------
    str
        HTML: no index column, missing values as ``—`` with a footnote, text escaped, inside its own
        horizontally scrolling container (the page itself never scrolls sideways).

    Examples
    --------
    >>> import pandas as pd
    >>> out = format_table(pd.DataFrame({"study": ["A", "B"], "estimate": [0.4567, None], "pvalue": [0.0004, 0.5],
    ...                                  "participants": [157.0, 60.0]}))
    >>> [c for c in ("0.46", "<0.001", "0.500", ">157<", "— not reported") if c in out]
    ['0.46', '<0.001', '0.500', '>157<', '— not reported']
    """
    frame = _readable_frame(frame)
    if columns is None:
        mapping: dict[Any, str] = {c: _human_header(c) for c in frame.columns}
    elif isinstance(columns, Mapping):
        mapping = dict(columns)
    else:
        mapping = {c: _human_header(c) for c in columns}
    unknown = [c for c in mapping if c not in frame.columns]
    if unknown:
        raise ReportError(f"columns {unknown} are not in the table (it has {list(frame.columns)})")
    kinds = dict(kinds or {})
    bad = [c for c in kinds if c not in frame.columns]
    if bad:
        raise ReportError(f"kinds names columns {bad} that are not in the table")
    col_kinds = {c: _column_kind(c, frame[c], kinds.get(c)) for c in mapping}
    numeric_kinds = ("estimate", "p", "int", "pct")
    right = ' class="mg-num"'
    head = "".join(f'<th scope="col"{right if col_kinds[c] in numeric_kinds else ""}>{html.escape(str(h))}</th>'
                   for c, h in mapping.items())
    any_missing = False
    rows = []
    for values in zip(*(frame[c].tolist() for c in mapping)):
        cells = []
        for c, v in zip(mapping, values):
            text, numeric = _format_cell(v, col_kinds[c])
            if text == MISSING:
                any_missing = True
                numeric_column = col_kinds[c] in numeric_kinds
                cls = ' class="mg-num mg-missing"' if numeric_column else ' class="mg-missing"'
            elif numeric:
                cls = ' class="mg-num"'
            else:
                cls = ' class="mg-url"' if re.match(r"(https?://|www\.)\S{30,}", text) else ""
            cells.append(f"<td{cls}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    n = len(frame)
    table = (f'<div class="mg-scroll" style="overflow-x:auto;max-width:100%">'
             f'<table class="mg-data"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    long = (n > LONG_TABLE_ROWS) if collapse is None else bool(collapse)
    if long:
        table = (f'<details class="mg-long"><summary>Show all {n} row{"s" if n != 1 else ""}</summary>'
                 f"{table}</details>")
    foot = []
    if any_missing:
        foot.append(html.escape(MISSING_NOTE) + ".")
    if isinstance(notes, str):
        notes = [notes]
    foot += [_inline_markdown(str(t)) for t in notes or ()]
    if csv_href:
        foot.append(f'<a class="mg-file" href="{html.escape(csv_href, quote=True)}">'
                    f"{html.escape(Path(csv_href).name)}</a> (CSV, full precision)")
    parts = ['<div class="mg-table">']
    if caption:
        parts.append(f'<p class="mg-caption">{_inline_markdown(caption)}</p>')
    parts.append(table)
    if n == 0:
        parts.append('<p class="mg-table-foot">No rows.</p>')
    if foot:
        parts.append('<p class="mg-table-foot">' + " ".join(foot) + "</p>")
    parts.append("</div>")
    return "".join(parts)


class _Shown(str):
    """HTML that was already displayed: a notebook's last expression does not show it a second time."""

    def _ipython_display_(self) -> None:
        return None


class _ShownPath(type(Path())):  # type: ignore[misc]
    """A path whose figure was already displayed (not echoed as ``PosixPath(...)`` by a notebook)."""

    def _ipython_display_(self) -> None:
        return None


def _display(data: Mapping[str, str], role: str | None = None) -> None:
    """Display raw MIME data in IPython (with the role the report renderer looks for); print the plain
    text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with the notebook extra
        print(data.get("text/plain", ""))
        return
    if get_ipython() is None:
        print(data.get("text/plain", ""))
        return
    metadata = {"mgmeta": {"role": role}} if role else None
    display(dict(data), raw=True, metadata=metadata)


def _check_name(name: str, what: str) -> None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", str(name)):
        raise ReportError(f"{what} name must be lower-case letters, digits, '_' or '-', got {name!r}")


def show_table(frame: Any, name: str, directory: str | os.PathLike[str], *,
               columns: Mapping[Any, str] | Sequence[Any] | None = None, caption: str | None = None,
               notes: str | Sequence[str] | None = None, kinds: Mapping[Any, str] | None = None,
               collapse: bool | None = None) -> str:
    """Write ``<directory>/<name>.csv`` at full precision and display the table formatted for people.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    name : str
        File stem: lower-case letters, digits, ``_`` and ``-``.
    directory : path
        The notebook's ``TABLE_DIR`` parameter (created when missing).
    columns, caption, notes, kinds, collapse
        As in :func:`format_table`.

    Returns
    -------
    str
        The HTML displayed (a notebook's last line ``show_table(...)`` does not show it twice).

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = show_table(pd.DataFrame({"k": [3], "pvalue": [0.0741]}), "demo", d)
    ...     print(open(d + "/demo.csv").read().strip())
    table demo (1 row), demo.csv
    k,pvalue
    3,0.0741
    >>> "0.074" in out
    True
    """
    path = save_table(frame, name, directory)
    text = format_table(frame, columns=columns, caption=caption, notes=notes, kinds=kinds, collapse=collapse,
                        csv_href=Path(os.path.relpath(path)).as_posix() if not Path(directory).is_absolute()
                        else path.as_posix())
    plain = f"{caption + ': ' if caption else ''}table {name} ({len(frame)} row{'s' if len(frame) != 1 else ''}), {path.name}"
    _display({"text/html": text, "text/plain": plain}, role="table")
    return _Shown(text)


def show_figure(fig: Any, name: str, directory: str | os.PathLike[str], *, alt: str,
                caption: str | None = None) -> Path:
    """Save a figure as PNG (at 2x for screens) and SVG, display it once at full width, and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; it is closed afterwards, so that Jupyter's inline backend does not show it again.
    name : str
        File stem: lower-case letters, digits, ``_`` and ``-``.
    directory : path
        The notebook's ``FIGURE_DIR`` parameter (created when missing).
    alt : str
        Alternative text for readers who cannot see the figure: its title plus one sentence on what it
        shows. Required.
    caption : str, optional
        A caption under the figure (Markdown inline code, emphasis and links allowed).

    Returns
    -------
    Path
        The PNG written (``<name>.svg`` and ``<name>.json``, holding the alt text and caption, beside it).

    Examples
    --------
    >>> import tempfile
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = show_figure(fig, "demo", d, alt="Demo. An empty plot.")
    ...     sorted(p.name for p in path.parent.iterdir())
    Demo. An empty plot.
    ['demo.json', 'demo.png', 'demo.svg']
    """
    _check_name(name, "figure")
    if not isinstance(alt, str) or not alt.strip():
        raise ReportError(f"figure {name!r}: alt must be a non-empty description (its title plus one sentence)")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    png, svg = d / f"{name}.png", d / f"{name}.svg"
    try:
        fig.savefig(png, dpi=FIGURE_DPI, bbox_inches="tight")
        fig.savefig(svg, bbox_inches="tight", metadata={"Date": None})
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)
    (d / f"{name}.json").write_text(json.dumps({"alt": alt.strip(), "caption": caption}, ensure_ascii=False)
                                    + "\n", encoding="utf-8")
    import base64

    raw = png.read_bytes()
    data = base64.b64encode(raw).decode("ascii")
    width_px = int.from_bytes(raw[16:20], "big")  # PNG IHDR
    style = _figure_style(width_px * SCREEN_PX_PER_INCH / FIGURE_DPI)
    rel = (lambda p: p.as_posix() if d.is_absolute() else Path(os.path.relpath(p)).as_posix())
    links = (f'<a class="mg-file" href="{html.escape(rel(svg), quote=True)}">SVG</a> · '
             f'<a class="mg-file" href="{html.escape(rel(png), quote=True)}">PNG</a>')
    cap = f"{_inline_markdown(caption)} " if caption else ""
    text = (f'<figure class="mg-figure"><img src="data:image/png;base64,{data}" alt="{html.escape(alt.strip())}" '
            f'style="{style}"><figcaption>{cap}<span class="mg-muted">{links}</span>'
            f"</figcaption></figure>")
    _display({"text/html": text, "text/plain": alt.strip()}, role="figure")
    return _ShownPath(png)


def _paragraphs(text: str) -> str:
    """Paragraphs (blank-line separated) of escaped text with inline Markdown."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    return "".join(f"<p>{_inline_markdown(' '.join(p.split()))}</p>" for p in paras)


def what_this_means(text: str) -> None:
    """Display the closing section "What this means" (the report puts it at the end of the page).

    Parameters
    ----------
    text : str
        A short paragraph generated from the notebook's results (blank lines separate paragraphs;
        Markdown inline code, emphasis and links allowed).

    Examples
    --------
    Outside a notebook the text is printed:

    >>> what_this_means("Magnesium *may* reduce pain at 30 minutes (low certainty).")
    What this means
    <BLANKLINE>
    Magnesium *may* reduce pain at 30 minutes (low certainty).
    """
    body = f'<section class="mg-what-this-means"><h2>What this means</h2>{_paragraphs(text)}</section>'
    _display({"text/html": body, "text/plain": f"What this means\n\n{text}"}, role="what_this_means")


def note(text: str) -> None:
    """A note for the reader; the report lists the notes of a page under "Notes" at its end."""
    _display({"text/html": f'<p class="mg-note">Note: {_inline_markdown(str(text))}</p>',
              "text/plain": str(text)}, role="note")


def sentence(text: str) -> None:
    """Display a sentence (or paragraphs) of text, e.g. a single trial's result in words."""
    _display({"text/html": f'<div class="mg-sentence">{_paragraphs(text)}</div>', "text/plain": str(text)})


def _styler_frame(styler: Any) -> Any:
    """The table a pandas Styler shows (its hidden columns and hidden index dropped), to be formatted by
    :func:`format_table` like any other table (the Styler's own number formats are not for readers)."""
    frame = styler.data
    hidden = list(getattr(styler, "hidden_columns", []) or [])
    if hidden:
        frame = frame.drop(columns=frame.columns[hidden])
    hide_index = getattr(styler, "hide_index_", False)
    if (all(hide_index) if isinstance(hide_index, (list, tuple)) else bool(hide_index)):
        frame = frame.reset_index(drop=True)
    return frame


def _reader_mode() -> None:
    """Kernel set-up done by :func:`build_report`: pandas tables display through :func:`format_table`
    (no index column, formatted numbers) and inline figures are drawn at 2x."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the report always runs in IPython
        return
    ip = get_ipython()
    if ip is None:
        return
    import pandas as pd

    def table(obj: Any) -> str | None:
        try:
            return format_table(obj)
        except Exception:  # noqa: BLE001 - a table this cannot format is shown as pandas would
            return None

    def styled(styler: Any) -> str | None:
        return table(_styler_frame(styler))

    fmt = ip.display_formatter.formatters["text/html"]
    fmt.for_type(pd.DataFrame, table)
    fmt.for_type(pd.Series, table)
    fmt.for_type_by_name("pandas.io.formats.style", "Styler", styled)  # without importing it (jinja2)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover
        pass


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


#: The line the injected cell runs so that tables and figures are shown for readers (see _reader_mode).
_READER_MODE_LINE = '__import__("mgmeta.report").report._reader_mode()  # tables and figures for readers'


def _inject_parameters(nb: Any, name: str, parameters: Mapping[str, Any], *, for_readers: bool = False) -> None:
    import nbformat

    at = _parameters_cell(nb, name)
    lines = ["# Parameters injected by mgmeta.report"]
    for key, value in parameters.items():
        if not key.isidentifier():
            raise ReportError(f"parameter name {key!r} is not a Python identifier", notebook=name)
        lines.append(f"{key} = {value!r}")
    if for_readers:
        lines.append(_READER_MODE_LINE)
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
                     cwd: str | os.PathLike[str] | None = None, for_readers: bool = True) -> Any:
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
    for_readers : bool
        Set the kernel up for the report (the injected cell calls ``_reader_mode``): pandas tables are
        displayed through :func:`format_table` (no index column, formatted numbers) and inline
        figures are drawn at 2x.

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
    if parameters or for_readers:
        _inject_parameters(nb, name, parameters or {}, for_readers=for_readers)
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
:root { --mg-ink: #1b1f24; --mg-muted: #56606d; --mg-line: #d5dae1; --mg-head: #eef2f7; --mg-accent: #17324d;
        --mg-link: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--mg-ink); background: #fff; }
header.mg-nav { background: var(--mg-accent); padding: .6em 1.5em; }
header.mg-nav a { color: #fff; margin-right: 1.4em; text-decoration: none; font-weight: 600; }
header.mg-nav a:hover { text-decoration: underline; }
main.mg-page { max-width: 1100px; margin: 1.2em auto 4em; padding: 0 1.5em; overflow-wrap: break-word; }
h1 { font-size: 1.75em; line-height: 1.2; margin: .5em 0 .6em; }
h2 { font-size: 1.3em; line-height: 1.25; margin: 1.8em 0 .5em; padding-bottom: .2em;
     border-bottom: 1px solid var(--mg-line); }
h3 { font-size: 1.08em; margin: 1.4em 0 .4em; }
p, li { max-width: 78ch; }
a { color: var(--mg-link); }
a.anchor-link { display: none; }
code, .mg-mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; }
p code, li code, td code { background: #f2f4f7; padding: 0 .2em; border-radius: 3px; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .9em; margin: .4em 0; }
th, td { border-bottom: 1px solid var(--mg-line); padding: .35em .6em; text-align: left; vertical-align: top; }
thead th { background: var(--mg-head); border-bottom: 2px solid #b9c2ce; }
th.mg-num { text-align: right; }
td.mg-num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.mg-missing { color: var(--mg-muted); }
td.mg-url, .mg-url { overflow-wrap: anywhere; }
.mg-scroll { overflow-x: auto; max-width: 100%; }
.mg-table { margin: .6em 0 1.4em; }
.mg-caption { font-weight: 600; margin: .2em 0 .3em; }
.mg-table-foot { font-size: .85em; color: var(--mg-muted); margin: .3em 0 0; }
details.mg-long > summary { cursor: pointer; color: var(--mg-link); margin: .2em 0; }
.mg-muted { color: var(--mg-muted); font-size: .9em; }
figure.mg-figure { margin: 1em 0 1.6em; }
figure.mg-figure img, .output_png img, .output_jpeg img { display: block; width: 100%; height: auto; }
figure figcaption { font-size: .88em; color: var(--mg-muted); margin-top: .3em; }
details.mg-code { margin: .1em 0 .3em; }
details.mg-code > summary { cursor: pointer; font-size: .75em; color: var(--mg-muted); width: max-content; }
details.mg-code[open] > summary { margin-bottom: .3em; }
.highlight pre { background: #f6f8fa; border: 1px solid #e3e7ec; border-radius: 4px; padding: .6em .8em;
                 overflow-x: auto; font-size: .82em; line-height: 1.4; margin: 0; }
.output_text pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .85em; margin: .3em 0; }
.output_subarea { max-width: 100%; overflow-x: auto; }
.mg-toolbar { float: right; margin: .6em 0 .4em 1em; font-size: .85em; }
.mg-toolbar button { font: inherit; padding: .25em .8em; border: 1px solid var(--mg-line); border-radius: 4px;
                     background: #f6f8fa; cursor: pointer; }
section.mg-what-this-means { background: #f3f7fb; border-left: 4px solid var(--mg-accent);
                             padding: .1em 1.3em .5em; margin: 2.5em 0 1em; }
section.mg-what-this-means h2 { border: none; margin-top: .6em; }
section.mg-notes { font-size: .92em; color: #333a44; }
section.mg-notes li { margin-bottom: .3em; }
p.mg-note { font-size: .92em; color: var(--mg-muted); }
table.mg-findings { width: 100%; }
table.mg-findings td, table.mg-findings th { padding: .45em .6em; }
table.mg-findings tr.mg-group th { background: #f7f9fb; font-size: 1.02em; border-bottom: 1px solid #b9c2ce;
                                   padding-top: .8em; }
.mg-nowrap { white-space: nowrap; }
td.mg-files { min-width: 14em; max-width: 24em; font-size: .92em; }
td.mg-files summary { cursor: pointer; color: var(--mg-muted); }
td.mg-about { min-width: 18em; }
.mg-grade { font-size: 1.1em; letter-spacing: .05em; white-space: nowrap; color: var(--mg-accent); }
.mg-gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 1.2em;
               align-items: start; }
.mg-gallery figure { margin: 0; border: 1px solid var(--mg-line); padding: .6em; background: #fbfcfd; }
.mg-gallery img { width: 100%; height: auto; }
@media (max-width: 900px) { .mg-gallery { grid-template-columns: 1fr; } }
"""

_NAV_LINKS = (("index.html", "Report"), ("gallery.html", "Figures"), ("data.html", "Data"))

_TOGGLE_JS = """(function () {
  var button = document.querySelector('.mg-toggle-code');
  if (!button) { return; }
  button.addEventListener('click', function () {
    var open = button.getAttribute('aria-expanded') !== 'true';
    document.querySelectorAll('details.mg-code').forEach(function (d) { d.open = open; });
    button.setAttribute('aria-expanded', String(open));
    button.textContent = open ? 'Hide all code' : 'Show all code';
  });
})();"""


def _nav(prefix: str = "") -> str:
    links = "".join(f'<a href="{prefix}{href}">{html.escape(text)}</a>' for href, text in _NAV_LINKS)
    return f'<header class="mg-nav"><nav>{links}</nav></header>'


def _page(title: str, body: str, *, head: str = "", script: str = "") -> str:
    js = f"<script>{script}</script>" if script else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}{head}</style></head>"
            f"<body>{_nav()}<main class=\"mg-page\">{body}</main>{js}</body></html>\n")


_TEMPLATE = """{%- extends 'classic/base.html.j2' -%}
{% block input_group -%}
{%- if cell.source.strip() -%}
<details class="mg-code"><summary>show code</summary>
{{ super() }}
</details>
{%- endif -%}
{% endblock input_group %}
"""


def _html_exporter() -> Any:
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", extra_loaders=[jinja2.DictLoader({"mgmeta_report.html.j2": _TEMPLATE})],
                            template_file="mgmeta_report.html.j2")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def _code_css() -> str:
    from pygments.formatters import HtmlFormatter

    css = str(HtmlFormatter(style="default").get_style_defs(".highlight"))
    return re.sub(r"\s*/\*.*?\*/", "", css)  # its comments name token types such as Generic.Traceback


# ---- cleaning an executed notebook for readers -----------------------------------------------

_WARNING_LINE = re.compile(r"^(?P<path>\S.*?):(?P<line>\d+): (?P<category>[A-Za-z_][\w.]*): (?P<message>.*)$")
_OBJECT_REPR = re.compile(r"^\s*(\(?\s*<[^<>]+>(\s*,\s*<[^<>]+>)*\s*\)?|\[\s*<[^\]]*>\s*\]|Text\(.*\)|"
                          r"(Posix|Windows)?Path\(.*\)|Axes\(.*\))\s*$", re.S)
_MISSING_TOKENS = {"", "NaN", "nan", "None", "<NA>", "NaT", "NA"}
_DEFAULT_ALT = "No description has been provided for this image"


def _as_sentence(text: str, origin: str | None = None) -> str:
    """One note for readers from a line of stderr: no warning class, first letter capital, a full stop."""
    s = " ".join(str(text).split())
    s = re.sub(r"^(warning|note)\s*:\s*", "", s, flags=re.I)
    s = re.sub(r"\b([A-Z]?[a-z]*)Warning\b", lambda m: (m.group(1).lower() + " warning").strip(), s)
    s = s.replace("Traceback", "traceback")
    if not s:
        return ""
    s = s[:1].upper() + s[1:]
    if s[-1] not in ".!?":
        s += "."
    if origin:
        s += f" (from {origin})"
    return s


def _origin(path: str) -> str | None:
    """The package a warning came from (``.../site-packages/matplotlib/x.py`` -> ``matplotlib``)."""
    parts = Path(path).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            i = parts.index(marker)
            if i + 1 < len(parts):
                return parts[i + 1].removesuffix(".py")
    if "mgmeta" in parts:
        return "mgmeta"
    return None


def _stderr_notes(text: str) -> list[str]:
    """The notes in a stderr stream: each warning a sentence (no class name, no echoed source line); a
    traceback its last line; any other line a sentence."""
    lines = [line.rsplit("\r", 1)[-1] for line in str(text).splitlines()]
    notes: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = _WARNING_LINE.match(line)
        if m:
            message = m["message"]
            i += 1
            while (i < len(lines) and lines[i].strip() and not lines[i][:1].isspace()
                   and not _WARNING_LINE.match(lines[i])):
                message += " " + lines[i].strip()
                i += 1
            while i < len(lines) and lines[i][:1].isspace():  # the source line that warnings echo
                i += 1
            notes.append(_as_sentence(message, _origin(m["path"])))
            continue
        if line.startswith("Traceback"):
            i += 1
            while i < len(lines) and (lines[i][:1].isspace() or not lines[i].strip()):
                i += 1
            if i < len(lines):
                notes.append(_as_sentence(re.sub(r"^[\w.]*(Error|Exception)\s*:\s*", "", lines[i])))
                i += 1
            continue
        notes.append(_as_sentence(line))
        i += 1
    return [n for n in notes if n]


class _TableParser(_HTMLParser):
    """The cells of the HTML tables of a pandas repr (``<table class="dataframe">``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[str, list[tuple[str, str]]]] = []
        self._section = "tbody"
        self._cell: list[str] | None = None
        self._tag = "td"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif tag == "tr":
            self.rows.append((self._section, []))
        elif tag in ("td", "th"):
            self._cell, self._tag = [], tag
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            if not self.rows:
                self.rows.append((self._section, []))
            self.rows[-1][1].append((self._tag, " ".join("".join(self._cell).split())))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _parse_value(text: str) -> Any:
    if text in _MISSING_TOKENS:
        return None
    if text in ("True", "False"):
        return text == "True"
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text.replace(",", "")) if re.fullmatch(r"[+-]?[\d,]*\.?\d+(e[+-]?\d+)?", text, re.I) else text
    except ValueError:
        return text


def _frame_from_html(table: str) -> Any:
    """A DataFrame from the HTML of a pandas table repr (the values parsed back into numbers)."""
    import pandas as pd

    parser = _TableParser()
    parser.feed(table)
    head = [cells for section, cells in parser.rows if section == "thead"]
    body = [cells for section, cells in parser.rows if section != "thead" and cells]
    n_index = 0
    if body:
        while n_index < len(body[0]) and body[0][n_index][0] == "th":
            n_index += 1
    width = max((len(r) for r in body), default=len(head[0]) if head else 0)
    names = [text for _, text in head[0]] if head else []
    names = (names + [""] * width)[:width]
    if len(head) > 1:  # pandas puts the index names on a second header row
        for j, (_, text) in enumerate(head[1][:n_index]):
            if text:
                names[j] = text
    columns: dict[str, list[Any]] = {}
    for j in range(width):
        key = names[j] if names[j] not in columns else f"{names[j]} ({j})"
        columns[key] = [_parse_value(r[j][1]) if j < len(r) else None for r in body]
    frame = pd.DataFrame(columns)
    keys = list(columns)
    if n_index == 1 and [v for v in frame[keys[0]]] == list(range(len(frame))):
        frame = frame.drop(columns=keys[0])
    for c in frame.columns:
        values = [v for v in frame[c] if v is not None]
        if values and all(isinstance(v, bool) for v in values):
            frame[c] = frame[c].astype("boolean")
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[c] = frame[c].astype("Int64")
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    return frame


def _reformat_dataframe_html(text: str) -> str:
    """Every pandas table repr in an HTML output, re-rendered by :func:`format_table`."""
    text = re.sub(r"<style scoped>.*?</style>", "", text, flags=re.S)
    text = re.sub(r"<p>\d+ rows × \d+ columns</p>", "", text)
    return re.sub(r"<table[^>]*class=\"dataframe\"[^>]*>.*?</table>",
                  lambda m: format_table(_frame_from_html(m.group(0))), text, flags=re.S)


def _heading_text(source: str) -> str | None:
    found = None
    for line in source.splitlines():
        m = re.match(r"^\s*#{1,6}\s+(.*\S)", line)
        if m:
            found = re.sub(r"[*_`]", "", m.group(1)).strip()
    return found


def _prepare_for_readers(nb: Any, title: str) -> tuple[Any, list[str], list[str]]:
    """A copy of an executed notebook cleaned for readers, with the page's closing sections and notes.

    The injected-parameters cell is dropped; stderr (warnings) and :func:`note` outputs become notes;
    :func:`what_this_means` outputs are moved to the end; pandas table reprs are re-rendered by
    :func:`format_table`; bare object reprs (``<Figure ...>``, ``PosixPath(...)``) are dropped; images get
    an alt text from their heading and are shown at full column width.
    """
    import copy

    nb = copy.deepcopy(nb)
    notes: list[str] = []
    closing: list[str] = []
    heading = title
    per_heading: dict[str, int] = {}
    cells = []
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "markdown":
            heading = _heading_text(cell.source) or heading
            cells.append(cell)
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        outputs = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            role = out.get("metadata", {}).get("mgmeta", {}).get("role")
            if kind == "stream":
                if out.get("name") == "stderr":
                    notes.extend(_stderr_notes(out.get("text", "")))
                elif str(out.get("text", "")).strip():
                    outputs.append(out)
                continue
            if kind not in ("display_data", "execute_result"):
                continue  # errors never reach a page: the build stops at the first one
            data = out.get("data", {})
            if role == "note":
                notes.append(_as_sentence(str(data.get("text/plain", ""))))
                continue
            if role == "what_this_means":
                closing.append(str(data.get("text/html", "")))
                continue
            if "text/html" in data and 'class="dataframe"' in str(data["text/html"]):
                data["text/html"] = _reformat_dataframe_html(str(data["text/html"]))
            if set(data) == {"text/plain"} and _OBJECT_REPR.match(str(data["text/plain"])):
                continue
            for mime in ("image/png", "image/jpeg"):
                if mime in data and "text/html" not in data:
                    meta = out.get("metadata", {}).get(mime, {})
                    alt = str(meta.get("alt") or "").strip()
                    if not alt:
                        per_heading[heading] = per_heading.get(heading, 0) + 1
                        count = per_heading[heading]
                        alt = f"Figure{' ' + str(count) if count > 1 else ''}: {heading}"
                    width = meta.get("width")  # 1x width of a 2x (retina) image, at figure.dpi
                    style = _figure_style(float(width) * SCREEN_PX_PER_INCH / 100
                                          if isinstance(width, (int, float)) else None)
                    data["text/html"] = (f'<figure class="mg-figure"><img src="data:{mime};base64,'
                                         f'{str(data[mime]).strip()}" alt="{html.escape(alt)}" '
                                         f'style="{style}"></figure>')
                    for other in ("image/png", "image/jpeg", "text/plain"):
                        data.pop(other, None)
                    break
            outputs.append(out)
        cell.outputs = outputs
        if cell.source.strip() or outputs:
            cells.append(cell)
    nb.cells = _merge_silent_code(cells)
    return nb, closing, [n for n in notes if n]


def _merge_silent_code(cells: list[Any]) -> list[Any]:
    """Code cells without output joined to the next code cell, so that a page has one "show code" per
    result rather than a column of them."""
    merged: list[Any] = []
    pending: list[str] = []
    for cell in cells:
        if cell.cell_type == "code":
            if pending:
                cell.source = "\n\n".join(pending + [cell.source])
                pending = []
                merged.pop()
            merged.append(cell)
            if not cell.outputs:
                pending = [cell.source]
            continue
        pending = []
        merged.append(cell)
    return merged


def _rewrite_file_links(page: str, base: Path, out: Path) -> str:
    """Links written by show_table/show_figure (relative to the notebook's folder) made relative to the
    report folder."""
    def fix(m: re.Match[str]) -> str:
        href = html.unescape(m.group(2))
        target = (base / href).resolve()
        try:
            rel = target.relative_to(out.resolve()).as_posix()
        except ValueError:
            return m.group(0)
        return f'{m.group(1)}{html.escape(rel, quote=True)}"'

    return re.sub(r'(<a class="mg-file" href=")([^"]*)"', fix, page)


def _notes_html(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    counts: dict[str, int] = {}
    for n in notes:
        counts[n] = counts.get(n, 0) + 1
    items = "".join(f"<li>{_inline_markdown(n)}{f' ({c} times)' if c > 1 else ''}</li>" for n, c in counts.items())
    return f'<section class="mg-notes" id="notes"><h2>Notes</h2><ol>{items}</ol></section>'


def _render_notebook(nb: Any, title: str, *, name: str = "", base: Path | None = None,
                     out: Path | None = None) -> str:
    """The page of one executed notebook: code folded, notes and "What this means" at the end."""
    clean, closing, notes = _prepare_for_readers(nb, title)
    body, _ = _html_exporter().from_notebook_node(clean)
    links = f' · <a href="notebooks/{html.escape(name)}.ipynb">executed notebook</a>' if name else ""
    toolbar = (f'<p class="mg-toolbar"><button type="button" class="mg-toggle-code" aria-expanded="false">'
               f"Show all code</button>{links}</p>")
    page = _page(title, toolbar + body + "".join(closing) + _notes_html(notes), head=_code_css(),
                 script=_TOGGLE_JS)
    page = page.replace(f'alt="{_DEFAULT_ALT}"', f'alt="{html.escape(title)}: figure"')
    if base is not None and out is not None:
        page = _rewrite_file_links(page, base, out)
    return page


def _inline_markdown(text: str) -> str:
    """Escaped text with Markdown's inline `code`, **bold**, *emphasis* and [links](href).

    >>> _inline_markdown("see [the data](data.html), **3** trials")
    'see <a href="data.html">the data</a>, <strong>3</strong> trials'
    """
    out = html.escape(text, quote=False)
    codes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        codes.append(f"<code>{m.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    out = re.sub(r"`([^`]+)`", keep, out)
    out = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)",
                 lambda m: f'<a href="{html.escape(html.unescape(m.group(2)), quote=True)}">{m.group(1)}</a>', out)
    out = re.sub(r"\*\*([^*\s][^*]*?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", out)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], out)


def _a(href: str, text: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<a href="{html.escape(href, quote=True)}"{c}>{html.escape(text)}</a>'


def _kv_table(rows: Mapping[str, str], head: tuple[str, str]) -> str:
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td class=\"mg-mono mg-url\">{html.escape(str(v))}</td></tr>"
                   for k, v in rows.items())
    return (f'<div class="mg-scroll"><table class="mg"><thead><tr><th>{html.escape(head[0])}</th>'
            f"<th>{html.escape(head[1])}</th></tr></thead><tbody>{body}</tbody></table></div>")


# ---- the index: key findings first ------------------------------------------------------------

#: Columns of ``tables/<notebook>/key_findings.csv`` (written by the summary-of-findings notebook).
KEY_FINDINGS_COLUMNS = ("comparison", "outcome", "timepoint", "effect_text", "studies", "participants",
                        "certainty", "certainty_symbols", "statement")
#: GRADE certainty as symbols (used when ``certainty_symbols`` is empty).
GRADE_SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}


def _key_findings_html(out: Path, runs: Sequence[NotebookRun]) -> str:
    """The "Key findings" section: every ``tables/*/key_findings.csv``, then every ``key_findings_note.md``."""
    import pandas as pd

    pages = {r.name: r for r in runs}
    parts = ['<section id="key-findings"><h2>Key findings</h2>']
    csvs = sorted(out.glob("tables/*/key_findings.csv"))
    any_missing = False
    for path in csvs:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True)
        missing = [c for c in KEY_FINDINGS_COLUMNS if c not in frame.columns]
        if missing:
            raise ReportError(f"{path.relative_to(out).as_posix()} lacks the column(s) {missing}; expected "
                              f"{list(KEY_FINDINGS_COLUMNS)}")
        rows = []
        current = None
        for rec in frame.to_dict("records"):
            vals = {k: _clean(rec.get(k)) for k in KEY_FINDINGS_COLUMNS}
            if vals["comparison"] != current:
                current = vals["comparison"]
                rows.append(f'<tr class="mg-group"><th colspan="5" scope="colgroup">'
                            f"{html.escape(current or MISSING)}</th></tr>")
            outcome = html.escape(vals["outcome"] or MISSING)
            if vals["timepoint"]:
                outcome += f' <span class="mg-muted">({html.escape(vals["timepoint"])})</span>'
            studies = format_int(_number(vals["studies"])) if vals["studies"] else MISSING
            people = format_int(_number(vals["participants"])) if vals["participants"] else MISSING
            word = vals["certainty"]
            symbols = vals["certainty_symbols"] or GRADE_SYMBOLS.get(word.lower(), "")
            certainty = (f'<span class="mg-grade" aria-hidden="true">{html.escape(symbols)}</span> '
                         if symbols else "") + html.escape(word[:1].upper() + word[1:] if word else MISSING)
            cells = [outcome, html.escape(vals["effect_text"] or MISSING), f"{studies} ({people})", certainty,
                     _inline_markdown(vals["statement"]) if vals["statement"] else MISSING]
            any_missing = any_missing or any(MISSING in c for c in cells)
            classes = ("", "", ' class="mg-nowrap"', ' class="mg-nowrap"', "")
            rows.append("<tr>" + "".join(f"<td{k}>{c}</td>" for k, c in zip(classes, cells)) + "</tr>")
        source = pages.get(path.parent.name)
        origin = (f'From {_a(source.html, source.title)}; ' if source else "") + \
            f'{_a(path.relative_to(out).as_posix(), "key_findings.csv")} (CSV).'
        foot = (html.escape(MISSING_NOTE) + ". " if any_missing else "") + \
            "Certainty of the evidence (GRADE): ⊕⊕⊕⊕ high, ⊕⊕⊕◯ moderate, ⊕⊕◯◯ low, ⊕◯◯◯ very low. " + origin
        parts.append('<div class="mg-scroll"><table class="mg-findings"><thead><tr>'
                     '<th scope="col">Outcome (time point)</th><th scope="col">Effect (95% CI)</th>'
                     '<th scope="col">Studies (participants)</th><th scope="col">Certainty</th>'
                     '<th scope="col">What it means</th></tr></thead>'
                     f'<tbody>{"".join(rows)}</tbody></table></div><p class="mg-table-foot">{foot}</p>')
    notes = sorted(out.glob("tables/*/key_findings_note.md"))
    for path in notes:
        parts.append(f'<div class="mg-findings-note">{_markdown(path.read_text(encoding="utf-8"))}</div>')
    if not csvs and not notes:
        parts.append("<p>No notebook of this report wrote key findings "
                     "(<code>tables/&lt;notebook&gt;/key_findings.csv</code>).</p>")
    parts.append("</section>")
    return "".join(parts)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _markdown(text: str) -> str:
    """Markdown to HTML as the notebook cells are rendered (nbconvert's mistune renderer)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return str(markdown2html_mistune(text))


def _file_list(paths: Sequence[str], shown: int = 5) -> str:
    """Links to files, one a line, long names breakable after '_' and '-'; past ``shown`` files the rest
    fold under "N more"."""
    if not paths:
        return MISSING

    def link(t: str) -> str:
        name = html.escape(Path(t).name)
        for sep in ("_", "-"):
            name = name.replace(sep, sep + "<wbr>")
        return f'<a href="{html.escape(t, quote=True)}">{name}</a>'

    links = [link(t) for t in paths]
    if len(links) <= shown + 1:
        return "<br>".join(links)
    head, rest = links[:shown - 1], links[shown - 1:]
    return ("<br>".join(head) + f"<details><summary>{len(rest)} more</summary>" + "<br>".join(rest)
            + "</details>")


def _index_html(result: ReportResult) -> str:
    rows = []
    for nb in result.notebooks:
        figs = _a(f"gallery.html#{nb.name}", str(len(nb.figures))) if nb.figures else "0"
        tables = _file_list(nb.tables)
        rows.append(f"<tr><td>{_a(nb.html, nb.title)}<br><span class=\"mg-muted\">{html.escape(nb.name)} · "
                    f"{_a('notebooks/' + nb.name + '.ipynb', 'executed .ipynb')}</span></td>"
                    f"<td class=\"mg-about\">{_inline_markdown(nb.summary)}</td><td class=\"mg-num\">{figs}</td>"
                    f"<td class=\"mg-files\">{tables}</td><td class=\"mg-num\">{nb.seconds:.1f}</td></tr>")
    table = ('<div class="mg-scroll"><table class="mg"><thead><tr><th>Page</th><th>What it shows</th>'
             '<th>Figures</th><th>Tables (CSV)</th><th>Run time (s)</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table></div>')
    sums = {k: v for k, v in result.checksums.items() if k != "combined"}
    body = [
        "<h1>Magnesium for migraine: the mgmeta report</h1>",
        _key_findings_html(result.output_dir, result.notebooks),
        '<section id="pages"><h2>The pages of this report</h2>',
        "<p>Every page below is a notebook of <code>notebooks/</code>, executed from scratch by "
        "<code>make report</code> (<code>mgmeta report</code>); every number comes from <code>data/</code> "
        "through mgmeta. The figures are collected in the " + _a("gallery.html", "gallery") + ", the trials "
        "with their sources in the " + _a("data.html", "data table") + ".</p>", table, "</section>",
        '<section id="provenance"><h2>How this report was built</h2>',
        f"<p>Built {html.escape(result.build_date)} in {result.seconds:.1f} s. Data checksum (SHA-256 over "
        f"the data files): <code class=\"mg-url\">{html.escape(result.checksums.get('combined', ''))}</code>.</p>",
        "<h3>Data files</h3>", _kv_table(sums, ("File (data/)", "SHA-256")),
        "<h3>Software</h3>", _kv_table(result.versions, ("Package", "Version")), "</section>",
    ]
    return _page("mgmeta report", "\n".join(body))


# ---- the gallery: the report's figures only ---------------------------------------------------

def _figure_text(out: Path, figure: str, nb: NotebookRun) -> tuple[str, str | None]:
    """(alt text, caption) of a figure: from the ``<name>.json`` that show_figure writes, else from its name."""
    side = (out / figure).with_suffix(".json")
    if side.is_file():
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
            if str(meta.get("alt") or "").strip():
                return str(meta["alt"]).strip(), meta.get("caption")
        except (ValueError, AttributeError):
            pass
    words = Path(figure).stem.replace("_", " ").replace("-", " ")
    return f"Figure '{words}' from the page {nb.title}", None


def _gallery_html(result: ReportResult) -> str:
    parts = ["<h1>Figures</h1>",
             "<p>Every figure of the report, grouped by the page that drew it. Each opens at full size; the "
             "SVG is the vector version for publication.</p>"]
    if not result.figures:
        parts.append("<p>No page of this report drew a figure.</p>")
    for nb in result.notebooks:
        if not nb.figures:
            continue
        parts.append(f"<h2 id=\"{html.escape(nb.name)}\">{_a(nb.html, nb.title)}</h2>")
        figs = []
        for f in nb.figures:
            alt, caption = _figure_text(result.output_dir, f, nb)
            svg = Path(f).with_suffix(".svg").as_posix()
            links = [_a(f, "PNG")] + ([_a(svg, "SVG")] if (result.output_dir / svg).is_file() and svg != f else [])
            text = _inline_markdown(caption) if caption else html.escape(alt)
            figs.append(f'<figure><a href="{html.escape(f)}"><img src="{html.escape(f)}" alt="{html.escape(alt)}" '
                        f'loading="lazy"></a><figcaption>{text}<br><span class="mg-muted">'
                        f'{" · ".join(links)} · drawn by {_a(nb.html, nb.name)}</span></figcaption></figure>')
        parts.append(f'<div class="mg-gallery">{"".join(figs)}</div>')
    return _page("mgmeta report: figures", "\n".join(parts))


# ---- the data page ----------------------------------------------------------------------------

#: Hosts whose copies of a paper are mirrors, not the publisher: document aggregators and indexes that
#: re-host abstracts or PDFs. A source URL on one of them (or on a raw IP address) is labelled "copy"
#: and shown after the citation, DOI and PMID of the original.
MIRROR_HOSTS = ("scribd.com", "researchgate.net", "academia.edu", "semanticscholar.org", "docplayer.net",
                "docplayer.com", "doczz.net", "studylib.net", "pdfcoffee.com", "dokumen.pub", "dokumen.tips",
                "documents.pub", "vdocuments.net", "vdocuments.mx", "coursehero.com", "issuu.com", "yumpu.com",
                "scite.ai", "metajournal.com", "referencecitationanalysis.com", "wilddata.cn", "mendeley.com",
                "bibliomed.org", "europepmc.org/abstract/AGR")
_IP_HOST = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$", re.I)
#: Columns of the trial table on the data page: (column, header, width in % of the table).
_DATA_COLUMNS = (("study", "Study", 14), ("mg_dose", "Magnesium", 15), ("comparator_type", "Control", 10),
                 ("n_randomized", "Randomized", 12), ("include_default", "Included", 9),
                 ("rob_overall", "Risk of bias", 10))


def _host(url: str) -> str:
    import urllib.parse

    return (urllib.parse.urlsplit(url).hostname or "").lower()


def is_mirror(url: str) -> bool:
    """Whether a source URL is a copy rather than the original: a raw IP address or a host of
    :data:`MIRROR_HOSTS`.

    >>> is_mirror("http://47.251.13.51:8081/15689195"), is_mirror("https://www.scribd.com/doc/1")
    (True, True)
    >>> is_mirror("https://pubmed.ncbi.nlm.nih.gov/25278139/")
    False
    """
    host = _host(url)
    if not host:
        return False
    if _IP_HOST.match(host) or re.fullmatch(r"[0-9.]+", host):
        return True
    full = url.lower()
    for m in MIRROR_HOSTS:
        dom, _, path = m.partition("/")
        if host == dom or host.endswith("." + dom):
            if not path or f"{dom}/{path}".lower() in full:
                return True
    return False


def _source_link(url: str, label: str = "source") -> str:
    if is_mirror(url):
        return _a(url, "copy", "mg-url") + f' <span class="mg-muted">({html.escape(_host(url))})</span>'
    return _a(url, label, "mg-url")


def _links(row: Mapping[str, Any]) -> str:
    out = []
    doi = _clean(row.get("doi"))
    pmid = _clean(row.get("pmid"))
    url = _clean(row.get("source_url"))
    if doi:
        out.append(_a(f"https://doi.org/{doi}", f"doi:{doi}", "mg-url"))
    if pmid:
        pm = pmid[:-2] if pmid.endswith(".0") else pmid
        out.append(_a(f"https://pubmed.ncbi.nlm.nih.gov/{pm}/", f"PMID {pm}"))
    if url:
        out.append(_source_link(url))
    return " · ".join(out)


def _provenance(text: str) -> str:
    """``field=URL|locator; ...`` as "field: link (locator)" lines."""
    items = []
    for entry in (e.strip() for e in text.split(";")):
        if not entry:
            continue
        field_name, _, rest = entry.partition("=")
        url, _, locator = rest.partition("|")
        url = url.strip()
        link = _source_link(url, _host(url) or url) if url.startswith(("http://", "https://")) else html.escape(url)
        loc = f' <span class="mg-muted">({html.escape(locator.strip())})</span>' if locator.strip() else ""
        items.append(f"{html.escape(field_name.strip().replace('_', ' '))}: {link}{loc}")
    return "<br>".join(items)


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
    cols = [(c, h, w) for c, h, w in _DATA_COLUMNS if c in trials.columns]
    width = 100 - sum(w for _, _, w in cols)
    colgroup = "".join(f'<col style="width:{w}%">' for _, _, w in cols) + f'<col style="width:{width}%">'
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for _, h, _ in cols) + '<th scope="col">Source</th>'
    rows = []
    any_missing = False
    for _, row in trials.iterrows():
        cells = []
        for c, _, _ in cols:
            value = row.get(c)
            cls = ""
            if c == "include_default" and not _is_missing(value):
                text = "Yes" if str(value).lower() in ("true", "1") else "No"
            elif c == "n_randomized":
                text = format_int(value)
                cls = ' class="mg-num"'
            else:
                text = html.escape(_clean(value).replace("_", " ")) or MISSING
            if c == "study":
                extra = " · ".join(html.escape(_clean(row.get(k)).replace("_", " ").replace("iv", "IV"))
                                   for k in ("route", "design") if _clean(row.get(k)))
                text = f"<strong>{text}</strong>" + (f'<br><span class="mg-muted">{extra}</span>' if extra else "")
            any_missing = any_missing or text == MISSING
            cells.append(f"<td{cls}>{text}</td>")
        citation = html.escape(_clean(row.get("citation")))
        locator = _clean(row.get("locator"))
        src = [f"<div>{citation}</div>" if citation else "", f"<div>{_links(row)}</div>"]
        if locator:
            src.append(f'<div class="mg-muted">Read: {html.escape(locator)}</div>')
        prov = _clean(row.get("provenance"))
        if prov:
            src.append(f'<div class="mg-muted">Other sources: {_provenance(prov)}</div>')
        rows.append(f'<tr>{"".join(cells)}<td class="mg-source">{"".join(src)}</td></tr>')
    foot = html.escape(MISSING_NOTE) + ". " if any_missing else ""
    body = ["<h1>Trial data</h1>",
            f"<p>{len(trials)} trials, from <code>data/trials.csv</code> (SHA-256 "
            f"<code class=\"mg-url\">{html.escape(checksums.get('trials.csv', ''))}</code>). Each row gives the "
            "citation of the original report, its DOI and PubMed record, and the page the numbers were read "
            "from; a link marked <em>copy</em> is a mirror of the original (a document aggregator or a bare "
            "server address), not the publisher. The arm-level outcomes and their provenance are tabulated in "
            "the data-overview page.</p>",
            f'<table class="mg mg-trials"><colgroup>{colgroup}</colgroup><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>",
            f'<p class="mg-table-foot">{foot}</p>' if foot else ""]
    css = ("table.mg-trials { width: 100%; table-layout: fixed; }"
           "table.mg-trials td { overflow-wrap: anywhere; } table.mg-trials th { overflow-wrap: normal; }"
           "table.mg-trials td { font-size: .95em; }")
    return _page("mgmeta report: data", "\n".join(body), head=css)


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
    page = _render_notebook(nb, title, name=name, base=source.parent, out=out)
    return nb, seconds, title, summary, page


def _files(out: Path, kind: str, name: str, suffixes: tuple[str, ...]) -> tuple[str, ...]:
    """Files of ``out/kind/name`` with these suffixes; an SVG beside a PNG of the same name is the PNG's
    vector twin, not another figure."""
    folder = out / kind / name
    if not folder.is_dir():
        return ()
    found = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in suffixes]
    stems = {p.stem for p in found if p.suffix.lower() != ".svg"}
    return tuple(p.relative_to(out).as_posix() for p in found if p.suffix.lower() != ".svg" or p.stem not in stems)


def build_report(notebooks_dir: str | os.PathLike[str] | None = None,
                 output_dir: str | os.PathLike[str] | None = None, *,
                 data_dir: str | os.PathLike[str] | None = None,
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
    if notebooks_dir is None or output_dir is None or data_dir is None:
        root = find_project_root()
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else root / "notebooks"  # type: ignore[operator]
    out = Path(output_dir) if output_dir is not None else root / "report"  # type: ignore[operator]
    dat = Path(data_dir) if data_dir is not None else root / "data"  # type: ignore[operator]
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

    result = ReportResult(output_dir=out, notebooks=tuple(runs), build_date=_build_date(), seconds=0.0,
                          checksums=checksums, versions=package_versions(root or nb_dir.parent))
    (out / "data.html").write_text(_data_html(trials, checksums), encoding="utf-8")
    (out / "gallery.html").write_text(_gallery_html(result), encoding="utf-8")
    seconds = time.perf_counter() - t_start
    result = ReportResult(output_dir=out, notebooks=result.notebooks, build_date=result.build_date,
                          seconds=seconds, checksums=checksums, versions=result.versions)
    (out / "index.html").write_text(_index_html(result), encoding="utf-8")
    manifest = {
        "build_date": result.build_date, "seconds": round(seconds, 2), "timeout": timeout,
        "notebooks": [{"name": r.name, "title": r.title, "summary": r.summary, "html": r.html,
                       "source": f"notebooks/{r.source.name}", "seconds": round(r.seconds, 2),
                       "figures": list(r.figures), "tables": list(r.tables)} for r in runs],
        "checksums": checksums, "versions": result.versions, "parameters": params,
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
        build_report(args.notebooks, args.output, data_dir=args.data,
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
