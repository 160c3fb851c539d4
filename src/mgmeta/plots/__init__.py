"""Publication-quality plots of fitted meta-analyses.

Every function takes a fitted result (or the analysis it draws), an optional
matplotlib ``ax``, and returns the matplotlib Figure; none computes anything
that the result does not already hold. Figures share one colour-blind-safe
style (:mod:`mgmeta.plots.style`) and size themselves to their content; save
them with :func:`save` (PNG at 300 dpi, SVG, PDF).
"""
from mgmeta.plots.diagnostics import baujat, bubble, drapery, gosh, labbe, radial
from mgmeta.plots.forest import cumulative_forest, forest, leave_one_out_forest
from mgmeta.plots.funnel import funnel
from mgmeta.plots.rob import rob_summary
from mgmeta.plots.style import OKABE_ITO, plot_style, save

__all__ = [
    "forest",
    "funnel",
    "baujat",
    "labbe",
    "radial",
    "gosh",
    "bubble",
    "drapery",
    "rob_summary",
    "leave_one_out_forest",
    "cumulative_forest",
    "save",
    "plot_style",
    "OKABE_ITO",
]
