"""Shared data and helpers of the plot tests (test_plots_*.py); holds no tests of its own.

Data: the BCG vaccine trials (Colditz et al. 1994, JAMA 271:698-702; metafor's ``dat.bcg``),
13 trials with 2x2 tables, absolute latitude and allocation, a standard test set for forest
plots. The PNGs drawn by the tests go to ``build/gallery/`` for the report's gallery.
"""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Text

import mgmeta
from mgmeta.plots import save

GALLERY = Path(__file__).resolve().parents[1] / "build" / "gallery"

BCG = pd.DataFrame({
    "study": ["Aronson 1948", "Ferguson & Simes 1949", "Rosenthal 1960", "Hart & Sutherland 1977",
              "Frimodt-Moller 1973", "Stein & Aronson 1953", "Vandiviere 1973", "TPT Madras 1980",
              "Coetzee & Berjak 1968", "Rosenthal 1961", "Comstock 1974", "Comstock & Webster 1969",
              "Comstock 1976"],
    "year": [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976],
    "tpos": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    "tneg": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    "cpos": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    "cneg": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
    "ablat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33],
    "alloc": ["random", "random", "random", "random", "alternate", "alternate", "random", "random", "random",
              "systematic", "systematic", "systematic", "systematic"],
})


def bcg_effects(measure: str = "RR", rows: slice | list[int] | None = None) -> pd.DataFrame:
    d = BCG if rows is None else BCG.iloc[rows]
    return mgmeta.effect_sizes(measure, ai=d["tpos"], bi=d["tneg"], ci=d["cpos"], di=d["cneg"],
                               labels=list(d["study"]))


def bcg_fit(measure: str = "RR", method: str = "REML", rows: Any = None, **kw: Any) -> Any:
    return mgmeta.meta_analysis(bcg_effects(measure, rows), method=method, **kw)


def rob_frame(labels: list[str], seed: int = 7) -> pd.DataFrame:
    """Risk-of-bias judgements for the tests (fixed by a seed; every judgement occurs)."""
    rng = np.random.default_rng(seed)
    levels = ["low", "some concerns", "high", "no information"]
    out = {"study": labels}
    for col in ("rob_randomization", "rob_deviations", "rob_missing", "rob_measurement", "rob_selection"):
        out[col] = list(rng.choice(levels, len(labels)))
    out["rob_randomization"][:4] = levels
    out["rob_overall"] = ["high" if "high" in v else "some concerns" if "some concerns" in v else "low"
                          for v in zip(*(out[c] for c in out if c.startswith("rob_")))]
    out["rob_basis"] = ["free text"] * len(labels)
    return pd.DataFrame(out)


def to_gallery(fig: Figure, name: str) -> Path:
    """Write the figure as a 200 dpi PNG into build/gallery/ (for the report) and return the path."""
    GALLERY.mkdir(parents=True, exist_ok=True)
    return save(fig, GALLERY / name, formats=("png",), dpi=200)[0]


def by_gid(fig: Figure, gid: str, prefix: bool = False) -> list:
    """Artists of the figure whose gid is ``gid`` (or starts with it)."""
    def match(a):
        g = a.get_gid()
        return g is not None and (g.startswith(gid) if prefix else g == gid)
    return list(fig.findobj(match=match))


def texts(fig: Figure, gid: str) -> list[str]:
    return [t.get_text() for t in by_gid(fig, gid) if isinstance(t, Text)]


def panel(fig: Figure):
    """The plot panel of a forest plot (the axes holding the whiskers)."""
    coll = by_gid(fig, "study-ci") + by_gid(fig, "summary-diamond")
    return coll[0].axes


def _renderer(fig: Figure):
    """Draw the figure on an Agg canvas (figures are returned detached from pyplot) and return the renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def overlapping_texts(fig: Figure, pad: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of visible, non-empty texts whose rendered boxes overlap (in pixels, shrunk by ``pad``)."""
    r = _renderer(fig)
    items = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        bb = t.get_window_extent(r)
        if bb.width <= 0 or bb.height <= 0:
            continue
        items.append((t.get_text(), bb))
    bad = []
    for (ta, a), (tb, b) in combinations(items, 2):
        if (min(a.x1, b.x1) - max(a.x0, b.x0) > pad) and (min(a.y1, b.y1) - max(a.y0, b.y0) > pad):
            bad.append((ta, tb))
    return bad


def inside_figure(fig: Figure, tol: float = 1.0) -> list[str]:
    """Texts that stick out of the figure."""
    r = _renderer(fig)
    W, H = fig.bbox.width, fig.bbox.height
    out = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        bb = t.get_window_extent(r)
        if bb.x0 < -tol or bb.y0 < -tol or bb.x1 > W + tol or bb.y1 > H + tol:
            out.append(t.get_text())
    return out


def parse_num(s: str) -> float:
    return float(s.replace("\u2212", "-").strip("[],% "))
