"""The house style of mgmeta's figures: palette, fonts, sizes, saving.

Every plot function draws inside :func:`plot_style` (a matplotlib
``rc_context``), so that all figures share one look: the colour-blind-safe
Okabe-Ito palette, matplotlib's bundled DejaVu Sans (the same glyphs, and so
the same layout, on every machine), thin axes, no top/right spines, 300 dpi
PNG, editable text in SVG and PDF.

Figures are created detached from pyplot's figure manager (they never pile up
in a loop, and Jupyter shows the returned figure once); to draw into a pyplot
window, pass ``ax=plt.subplots()[1]``.

References
----------
Okabe M, Ito K (2008). Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from mgmeta.errors import DataError

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "COLORS",
    "ROB_COLORS",
    "ROB_SYMBOLS",
    "RC",
    "FONT_FAMILY",
    "plot_style",
    "new_figure",
    "root_figure",
    "save",
    "text_width",
    "wrap_text",
    "format_value",
    "format_p",
    "format_tau2",
    "log_ticks",
    "place_labels",
    "measure_name",
    "RATIO_MEASURES",
]

#: The eight colours of Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Colour cycle (black last: it is kept for summaries and text).
PALETTE: tuple[str, ...] = tuple(OKABE_ITO[n] for n in ("blue", "vermillion", "bluish_green", "orange",
                                                        "reddish_purple", "sky_blue", "yellow", "black"))

#: Roles of colours in mgmeta's figures.
COLORS: dict[str, str] = {
    "study": OKABE_ITO["blue"],          # squares / points of single studies
    "ci": "#222222",                      # confidence-interval whiskers
    "summary": "#000000",                 # pooled diamond
    "subgroup": "#7F7F7F",                # subgroup diamonds (grey fill, black edge)
    "prediction": OKABE_ITO["vermillion"],  # prediction-interval bar
    "filled": OKABE_ITO["vermillion"],    # studies imputed by trim-and-fill (hollow)
    "reference": "#444444",               # line of no effect
    "grid": "#DDDDDD",
    "muted": "#8C8C8C",                   # single-study curves, secondary text
    "region": "#E6E6E6",                  # pseudo-confidence regions
}

#: Risk-of-bias judgements: colour and glyph (robvis' convention: the glyph repeats the colour's meaning,
#: so the plot reads in greyscale and for colour-blind readers).
ROB_COLORS: dict[str, str] = {
    "low": OKABE_ITO["bluish_green"],
    "some concerns": OKABE_ITO["yellow"],
    "high": OKABE_ITO["vermillion"],
    "no information": OKABE_ITO["sky_blue"],
}
ROB_SYMBOLS: dict[str, str] = {"low": "+", "some concerns": "\u2212", "high": "\u00d7", "no information": "?"}

#: The bundled font: identical metrics everywhere, so layouts and image baselines are reproducible.
FONT_FAMILY = "DejaVu Sans"

RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 8.0,
    "axes.linewidth": 0.6,
    "axes.edgecolor": "#222222",
    "axes.labelcolor": "#000000",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "axes.axisbelow": True,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 3.0,
    "ytick.major.size": 3.0,
    "xtick.direction": "out",
    "ytick.direction": "out",
    "lines.linewidth": 0.9,
    "lines.solid_capstyle": "butt",
    "legend.fontsize": 7.0,
    "legend.frameon": False,
    "grid.color": COLORS["grid"],
    "grid.linewidth": 0.5,
    "figure.dpi": 100.0,
    "savefig.dpi": 300.0,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "pdf.fonttype": 42,          # TrueType: text stays editable in Illustrator/Inkscape
    "ps.fonttype": 42,
    "svg.fonttype": "none",      # text stays text in SVG
    "svg.hashsalt": "mgmeta",    # deterministic SVG ids
    "path.simplify": True,
    "mathtext.default": "regular",
}

RATIO_MEASURES = ("OR", "RR", "PETO", "ROM", "HR", "IRR")
_MEASURE_NAMES = {
    "OR": "Odds ratio", "RR": "Risk ratio", "PETO": "Peto odds ratio", "ROM": "Ratio of means",
    "RD": "Risk difference", "MD": "Mean difference", "SMD": "Std. mean difference",
    "HR": "Hazard ratio", "IRR": "Rate ratio", "GEN": "Estimate",
    # analysis scales of the measures beyond two-group trials (shown with transf=None)
    "PR": "Proportion", "PLN": "Log proportion", "PLO": "Logit proportion", "PAS": "Arcsine proportion",
    "PFT": "Freeman-Tukey proportion", "IR": "Incidence rate", "IRLN": "Log incidence rate",
    "IRS": "Square-root incidence rate", "IRFT": "Freeman-Tukey incidence rate", "MN": "Mean",
    "MNLN": "Log mean", "CVLN": "Log coefficient of variation", "SDLN": "Log standard deviation",
    "COR": "Correlation", "UCOR": "Correlation (unbiased)", "ZCOR": "Fisher's z", "IRD": "Rate difference",
    "IRSD": "Square-root rate difference", "SMDH": "Std. mean difference", "MC": "Mean change",
    "SMCC": "Std. mean change", "SMCR": "Std. mean change", "SMCRH": "Std. mean change",
}


@contextlib.contextmanager
def plot_style(**overrides: Any) -> Iterator[None]:
    """Context manager applying mgmeta's rcParams (plus ``overrides``)."""
    rc: Any = dict(RC)
    rc.update(overrides)
    with mpl.rc_context(rc):
        try:
            yield
        finally:
            # rc_context restores rcParams["interactive"] on exit; keep the state the
            # backend set meanwhile (e.g. Jupyter's inline backend turning it on)
            interactive = mpl.is_interactive()
    mpl.interactive(interactive)


def new_figure(width: float, height: float, ax: Axes | None = None, **kwargs: Any) -> tuple[Figure, Axes | None]:
    """A new figure of the given size in inches, or the figure of ``ax``.

    Without ``ax`` the figure is created through pyplot (so that the active
    backend, e.g. Jupyter's inline one, knows how to show it) and at once
    detached from pyplot's figure manager.
    """
    if ax is not None:
        if not isinstance(ax, Axes):
            raise DataError(f"ax must be a matplotlib Axes, got {type(ax).__name__}", field="ax")
        return root_figure(ax), ax
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(width, height), **kwargs)
    plt.close(fig)
    return fig, None


def root_figure(ax: Axes) -> Figure:
    """The top-level figure holding ``ax`` (also when ``ax`` sits in a subfigure)."""
    fig: Any = ax.figure
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig


_FORMATS = ("png", "svg", "pdf", "eps", "ps", "tif", "tiff", "jpg", "jpeg", "webp")


def save(fig: Figure, path: str | Path, formats: Sequence[str] = ("png", "svg", "pdf"), *,
         dpi: float = 300.0, **kwargs: Any) -> list[Path]:
    """Save a figure in several formats (PNG at ``dpi``, SVG and PDF as vector).

    Parameters
    ----------
    fig : Figure
    path : str or Path
        File name; a format suffix (``.png``, ``.pdf``...), if any, is replaced
        by each format's; any other name gets the format's suffix appended.
    formats : sequence of {"png", "svg", "pdf", "eps", "tiff", "jpg"}
    dpi : float
        Resolution of raster formats (journals ask for 300 or more).

    Returns
    -------
    list of Path
        The files written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    with plot_style():
        for ext in formats:
            ext = ext.lower().lstrip(".")
            known = path.suffix.lower().lstrip(".") in _FORMATS
            target = path.with_suffix("." + ext) if known else path.parent / f"{path.name}.{ext}"
            meta: dict[str, Any] = {}
            if ext == "png":
                meta = {"metadata": {"Software": "mgmeta"}}
            elif ext in ("svg", "pdf"):
                meta = {"metadata": {"Creator": "mgmeta"} if ext == "pdf" else {"Creator": "mgmeta",
                                                                                  "Date": None}}
            fig.savefig(target, format=ext, dpi=dpi, **meta, **kwargs)
            out.append(target)
    return out


# --------------------------------------------------------------------------
# text measurement (for laying out text columns without overlaps)
# --------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _font(size: float, weight: str, style: str) -> FontProperties:
    return FontProperties(family=FONT_FAMILY, size=size, weight=weight, style=style)  # type: ignore[arg-type]


@lru_cache(maxsize=16)
def _font_file(weight: str, style: str) -> str:
    from matplotlib.font_manager import findfont
    return findfont(_font(10.0, weight, style))


@lru_cache(maxsize=8192)
def _advance(ch: str, weight: str, style: str) -> float:
    """Advance width of a character at 1 pt, in points (unhinted, as rendered at high resolution)."""
    from matplotlib.font_manager import get_font
    from matplotlib.ft2font import LoadFlags
    font = get_font(_font_file(weight, style))
    font.set_size(100.0, 72)
    glyph = font.load_char(ord(ch), flags=LoadFlags.NO_HINTING)
    return glyph.linearHoriAdvance / 65536.0 / 100.0


#: Safety margin on measured widths (hinting at screen resolutions widens text a little).
_WIDTH_MARGIN = 1.06


def text_width(text: str, size: float, weight: str = "normal", style: str = "normal") -> float:
    """Width in inches of ``text`` set in the house font (the widest line of a multi-line text).

    Sums the glyphs' advance widths (cached per character), with a small
    margin for hinting at screen resolutions.
    """
    if not text:
        return 0.0
    return max(sum(_advance(c, weight, style) for c in line) for line in text.split("\n")) \
        * float(size) * _WIDTH_MARGIN / 72.0


def wrap_text(text: str, width: float, size: float, weight: str = "normal", max_lines: int = 3) -> str:
    """Wrap ``text`` at spaces to lines at most ``width`` inches wide (at most ``max_lines``; an ellipsis
    marks what does not fit)."""
    width = width + 1e-9  # a label exactly as wide as its column fits
    if text_width(text, size, weight) <= width:
        return text
    words = text.split(" ")
    lines: list[str] = []
    cur = ""
    for w in words:
        cand = w if not cur else cur + " " + w
        if text_width(cand, size, weight) <= width or not cur:
            cur = cand
        else:
            lines.append(cur)
            cur = w
    lines.append(cur)
    # a single word wider than the column is cut
    lines = [_ellipsize(line, width, size, weight) for line in lines]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _ellipsize(lines[-1] + "\u2026", width, size, weight, force=True)
    return "\n".join(lines)


def _ellipsize(line: str, width: float, size: float, weight: str, force: bool = False) -> str:
    if text_width(line, size, weight) <= width and not force:
        return line
    base = line.rstrip("\u2026")
    while base and text_width(base + "\u2026", size, weight) > width:
        base = base[:-1]
    return base.rstrip() + "\u2026"


# --------------------------------------------------------------------------
# number formatting for figures (journal style: leading zeros, true minus)
# --------------------------------------------------------------------------

def format_value(x: float | None, digits: int = 2) -> str:
    """A number for a figure: ``digits`` decimals, more significant digits for tiny values, a true minus."""
    if x is None or not np.isfinite(x):
        return "NA"
    ax = abs(x)
    if ax != 0 and ax < 10.0 ** (-digits):
        s = f"{x:.2g}" if ax >= 1e-4 else f"{x:.1e}"  # two significant figures
    elif ax >= 10000:
        s = f"{x:.3g}" if ax >= 1e6 else f"{x:.0f}"
    else:
        s = f"{x:.{digits}f}"
    if re.fullmatch(r"-0\.?0*", s):
        s = s[1:]
    return s.replace("-", "\u2212")


def format_tau2(x: float | None) -> str:
    """tau² for a figure: ``0`` when on the boundary, ``<0.001`` when tiny, else 3 (below 1) or 2 decimals."""
    if x is None or not np.isfinite(x):
        return "NA"
    if x == 0:
        return "0"
    if x < 0.001:
        return "<0.001"
    return format_value(x, 3 if x < 1 else 2)


def format_p(p: float | None) -> str:
    """A p-value for a figure: ``p = 0.021``, ``p < 0.001`` (leading zero, as journals print it)."""
    if p is None or not np.isfinite(p):
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    if p >= 0.995:
        return "p = 1.00"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def measure_name(measure: str | None) -> str:
    """Readable name of an effect measure (``"OR"`` -> ``"Odds ratio"``)."""
    if measure is None:
        return "Estimate"
    return _MEASURE_NAMES.get(measure, measure)


def is_ratio(measure: str | None) -> bool:
    """True for measures analysed on the log scale and displayed exponentiated."""
    return measure in RATIO_MEASURES


# --------------------------------------------------------------------------
# axes helpers
# --------------------------------------------------------------------------

def log_ticks(lo: float, hi: float, max_ticks: int = 7) -> np.ndarray:
    """Readable tick values for a log axis from ``lo`` to ``hi`` (display scale, > 0).

    1-2-5 steps (0.1, 0.2, 0.5, 1, 2, ...), thinned to powers of ten (and 5s)
    for wide ranges, and finer steps (1.5, 2, 2.5, 3) for narrow ones.
    """
    if not (lo > 0 and hi > lo):
        return np.array([lo, hi])
    e0, e1 = int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1

    def within(mants: Sequence[float]) -> np.ndarray:
        c = np.array([m * 10.0 ** e for e in range(e0, e1 + 1) for m in mants])
        return c[(c >= lo * (1 - 1e-9)) & (c <= hi * (1 + 1e-9))]

    for mants in ((1, 2, 5), (1, 5), (1,)):
        c = within(mants)
        if 3 <= len(c) <= max_ticks:
            return c
        if len(c) < 3:
            break
    c = within((1, 2, 5))
    if len(c) > max_ticks:
        c = within((1,))
        while len(c) > max_ticks:
            c = c[::2]
        return c
    from matplotlib.ticker import MaxNLocator
    t = np.asarray(MaxNLocator(nbins=5, steps=[1, 1.5, 2, 2.5, 3, 5, 10]).tick_values(lo, hi), float)
    t = t[(t >= lo * (1 - 1e-9)) & (t <= hi * (1 + 1e-9)) & (t > 0)]
    return t if len(t) >= 2 else np.array([lo, hi])


def tick_label(v: float) -> str:
    """A plain tick label (no scientific notation for usual ranges)."""
    if v >= 1:
        return f"{v:g}"
    return f"{v:.10f}".rstrip("0").rstrip(".")


def set_log_xaxis(ax: Axes, lo: float, hi: float) -> None:
    """Log x axis from ``lo`` to ``hi`` with plain labels (0.5, 1, 2) and no minor ticks."""
    from matplotlib.ticker import NullLocator
    ax.set_xscale("log")
    ticks = log_ticks(lo, hi)
    ax.set_xticks(ticks, [tick_label(float(v)) for v in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(lo, hi)


def set_log_yaxis(ax: Axes, lo: float, hi: float) -> None:
    """Log y axis from ``lo`` to ``hi`` with plain labels and no minor ticks."""
    from matplotlib.ticker import NullLocator
    ax.set_yscale("log")
    ticks = log_ticks(lo, hi)
    ax.set_yticks(ticks, [tick_label(float(v)) for v in ticks])
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_ylim(lo, hi)


def place_labels(ax: Axes, x: Any, y: Any, labels: Sequence[str], *, sizes: Any = None, fontsize: float = 6.5,
                 priority: Any = None, gid: str = "point-label") -> list[int]:
    """Label points without overlaps: each label goes to the first free spot around its point.

    Candidate spots (right, left, above, below, then the diagonals) are tried in
    display space against the labels already placed, the other points'
    markers and the axes box; a label with no free spot is left out.

    Parameters
    ----------
    ax : Axes
        With its final limits set.
    x, y : array_like
        Data coordinates of the points.
    labels : sequence of str
    sizes : array_like or float, optional
        Marker areas in points² (as ``scatter``'s ``s``); default 20.
    fontsize : float
    priority : array_like, optional
        Higher first (e.g. influence); default the input order.

    Returns
    -------
    list of int
        Indices of the points that got a label.
    """
    fig = root_figure(ax)
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = len(x)
    if n == 0:
        return []
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
    pts = ax.transData.transform(np.column_stack([x, y])) * 72.0 / fig.dpi     # points
    s = np.broadcast_to(np.asarray(20.0 if sizes is None else sizes, float), (n,))
    rad = np.sqrt(s) / 2.0
    box = ax.bbox.bounds
    ax0, ay0 = box[0] * 72.0 / fig.dpi, box[1] * 72.0 / fig.dpi
    ax1, ay1 = ax0 + box[2] * 72.0 / fig.dpi, ay0 + box[3] * 72.0 / fig.dpi
    order = np.arange(n) if priority is None else np.argsort(-np.asarray(priority, float), kind="stable")
    placed: list[tuple[float, float, float, float]] = []
    done: list[int] = []
    h = fontsize * 1.15
    for i in order:
        if not (np.isfinite(pts[i]).all()):
            continue
        w = text_width(str(labels[i]), fontsize) * 72.0
        g = rad[i] + 2.0
        px, py = pts[i]
        cands = [(g, -h / 2, "left", "center"), (-g - w, -h / 2, "right", "center"),
                 (-w / 2, g, "center", "bottom"), (-w / 2, -g - h, "center", "top"),
                 (g * 0.7, g * 0.7, "left", "bottom"), (g * 0.7, -g * 0.7 - h, "left", "top"),
                 (-g * 0.7 - w, g * 0.7, "right", "bottom"), (-g * 0.7 - w, -g * 0.7 - h, "right", "top")]
        for dx, dy, ha, va in cands:
            bx0, by0 = px + dx, py + dy
            bx1, by1 = bx0 + w, by0 + h
            if bx0 < ax0 - 1 or bx1 > ax1 + 1 or by0 < ay0 - 1 or by1 > ay1 + 1:
                continue
            if any(not (bx1 < q[0] or bx0 > q[2] or by1 < q[1] or by0 > q[3]) for q in placed):
                continue
            cx = np.clip(pts[:, 0], bx0, bx1)
            cy = np.clip(pts[:, 1], by0, by1)
            hit = np.hypot(cx - pts[:, 0], cy - pts[:, 1]) < rad * 0.9
            hit[i] = False
            if hit.any():
                continue
            placed.append((bx0, by0, bx1, by1))
            ox = {"left": dx, "right": dx + w, "center": dx + w / 2}[ha]
            oy = {"bottom": dy, "top": dy + h, "center": dy + h / 2}[va]
            ax.annotate(str(labels[i]), (x[i], y[i]), xytext=(ox, oy), textcoords="offset points",
                        fontsize=fontsize, ha=ha, va="center" if va == "center" else va, color="#333333",
                        gid=gid, annotation_clip=False)
            done.append(int(i))
            break
    return done
