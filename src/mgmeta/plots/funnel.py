"""Funnel plots: standard error against effect, with pseudo-confidence and significance contours.

References
----------
Sterne JAC, Egger M (2001). Funnel plots for detecting bias in meta-analysis:
guidelines on choice of axis. J Clin Epidemiol 54(10):1046-55.
doi:10.1016/S0895-4356(01)00377-8

Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008).
Contour-enhanced meta-analysis funnel plots help distinguish publication bias
from other causes of asymmetry. J Clin Epidemiol 61(10):991-6.
doi:10.1016/j.jclinepi.2007.11.010

Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of
testing and adjusting for publication bias in meta-analysis. Biometrics
56(2):455-63. doi:10.1111/j.0006-341X.2000.00455.x
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats

from mgmeta.errors import DataError
from mgmeta.plots import style

__all__ = ["funnel"]

#: Fill colours of the significance contours (from the innermost band outwards).
_CONTOUR_GREYS = ("#A6A6A6", "#CFCFCF", "#EDEDED")


def _is_fit(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("yi", "vi", "estimate", "labels"))


def _unpack(res: Any) -> tuple[Any, np.ndarray, Any]:
    """(fit to draw, mask of filled studies, original fit or None) from a fit or a trim-and-fill result."""
    if _is_fit(res):
        filled = getattr(res, "filled", None)
        mask = np.zeros(len(res.yi), bool) if filled is None else np.asarray(filled, bool)
        return res, mask, None
    inner = getattr(res, "result", None)
    if inner is not None and _is_fit(inner) and hasattr(res, "k0"):
        k = len(inner.yi)
        filled = getattr(res, "filled", None)
        if filled is None:
            filled = getattr(inner, "filled", None)
        if filled is not None:
            mask = np.asarray(filled, bool)
            if mask.shape != (k,):
                raise DataError(f"the trim-and-fill result marks {mask.size} studies as filled or not, but its "
                                f"model has {k}", field="filled")
        else:
            # metafor's convention: the k0 filled studies are appended after the observed ones
            k0 = int(res.k0)
            mask = np.zeros(k, bool)
            if k0:
                mask[k - k0:] = True
        original = None
        for attr in ("original", "observed", "res", "fit"):
            o = getattr(res, attr, None)
            if o is not None and _is_fit(o):
                original = o
                break
        return inner, mask, original
    raise DataError(f"funnel() needs a fitted meta-analysis or a trim-and-fill result, got {type(res).__name__}",
                    field="res")


def _egger_curve(egger: Any) -> Any:
    """Egger's regression line as a function effect(se) for the funnel's axes.

    Accepts the result of :func:`mgmeta.egger_test` with predictor ``"sei"``
    (the line effect = b0 + b1 se) or ``"vi"`` (the curve b0 + b1 se²), or a
    pair ``(b0, b1)`` of the line effect = b0 + b1 se.
    """
    if isinstance(egger, tuple) and len(egger) == 2:
        b0, b1 = float(egger[0]), float(egger[1])
        return lambda se: b0 + b1 * se
    coef = getattr(egger, "coef", None)
    predictor = getattr(egger, "predictor", "sei")
    if coef is None or len(coef) != 2:
        raise DataError("egger must be the result of mgmeta.egger_test (on a model without moderators) or a pair "
                        "(effect at se = 0, slope per unit se)", field="egger")
    b0, b1 = float(coef[0]), float(coef[1])
    if predictor == "sei":
        return lambda se: b0 + b1 * se
    if predictor == "vi":
        return lambda se: b0 + b1 * se ** 2
    raise DataError(f"Egger's line can be drawn on a funnel plot for the predictors 'sei' and 'vi', not "
                    f"{predictor!r}", field="egger")


def funnel(res: Any, *, ax: Axes | None = None, contours: bool | Sequence[float] = False,
           pseudo_ci: bool = True, egger: Any = None, measure: str | None = None, labels: bool = False,
           level: float | None = None, width: float = 3.5, height: float | None = None,
           xlim: tuple[float, float] | None = None, legend: bool = True, title: str | None = None) -> Figure:
    """Funnel plot: each study's effect against its standard error (reversed axis).

    Parameters
    ----------
    res : MetaAnalysisResult or trim-and-fill result
        A fitted model, or the result of :func:`mgmeta.trim_and_fill` (then
        the refitted model is drawn, its filled studies as hollow circles, and
        the pooled estimates before and after filling as vertical lines).
    ax : Axes, optional
    contours : bool or sequence of float
        Contour-enhanced funnel (Peters et al. 2008): shade the regions where a
        study would be significant at p < 0.10, 0.05, 0.01 (two-sided) around
        the line of no effect; a sequence gives other p-value cut-offs.
    pseudo_ci : bool
        The pseudo-confidence region, estimate ± z se, around the pooled
        estimate.
    egger : egger_test result or (float, float), optional
        Draw Egger's regression line: the test's fitted regression of the
        effect on the standard error (predictor ``"sei"``; a curve for
        ``"vi"``), or a pair (intercept, slope).
    measure : str, optional
        Effect measure when the fit does not know it.
    labels : bool
        Label the points with the study labels.
    level : float, optional
        Level of the pseudo-confidence region (default the model's).
    width, height : float
        Figure size in inches (single column by default).
    xlim : (float, float), optional
        Limits on the display scale.
    legend : bool
    title : str, optional

    Returns
    -------
    Figure
        Artists carry gids: ``studies``, ``filled-studies``, ``pseudo-ci``,
        ``contour-*``, ``estimate-line``, ``egger-line``.

    References
    ----------
    Sterne JAC, Egger M (2001). doi:10.1016/S0895-4356(01)00377-8
    Peters JL, et al. (2008). doi:10.1016/j.jclinepi.2007.11.010

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.plots import funnel
    >>> res = mgmeta.meta_analysis([-0.89, -1.59, -1.35, -1.44, -0.22], [0.33, 0.19, 0.42, 0.02, 0.05],
    ...                            measure="RR")
    >>> fig = funnel(res, contours=True)
    >>> fig.axes[0].get_xscale()
    'log'
    """
    fit, filled, original = _unpack(res)
    meas = measure if measure is not None else getattr(fit, "measure", None)
    ratio = style.is_ratio(meas)
    yi = np.asarray(fit.yi, float)
    vi = np.asarray(fit.vi, float)
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    if not ok.any():
        raise DataError("no study has an effect size and a positive variance to draw", field="res")
    sei = np.sqrt(np.where(ok, vi, 1.0))
    lev = float(level if level is not None else getattr(fit, "level", 0.95))
    z = float(stats.norm.isf((1 - lev) / 2))
    est = float(fit.estimate)
    cut: tuple[float, ...]
    if contours is True:
        cut = (0.10, 0.05, 0.01)
    elif contours is False or contours is None:
        cut = ()
    else:
        cut = tuple(sorted((float(c) for c in contours), reverse=True))
        if any(not 0 < c < 1 for c in cut):
            raise DataError(f"contour p-values must be between 0 and 1, got {contours!r}", field="contours")
    tr = np.exp if ratio else (lambda v: v)
    se_max = float(sei[ok].max()) * 1.08
    se_grid = np.linspace(0.0, se_max, 60)

    with style.plot_style():
        fig, user_ax = style.new_figure(width, height or width * 0.9 + (0.55 if legend else 0.0), ax)
        a = user_ax if user_ax is not None else fig.add_subplot()
        # analysis-scale limits
        spread = [yi[ok] - 0.2 * sei[ok], yi[ok] + 0.2 * sei[ok], [est - z * se_max, est + z * se_max]]
        if cut:
            zc = stats.norm.isf(min(cut) / 2)
            spread.append([-zc * se_max * 1.02, zc * se_max * 1.02])
        curve = _egger_curve(egger) if egger is not None else None
        if curve is not None:
            spread.append(curve(se_grid))
        lo_a = float(np.min(np.concatenate([np.ravel(s) for s in spread])))
        hi_a = float(np.max(np.concatenate([np.ravel(s) for s in spread])))
        pad = 0.03 * (hi_a - lo_a)
        lo_a, hi_a = lo_a - pad, hi_a + pad
        if xlim is not None:
            lo_a, hi_a = (float(np.log(xlim[0])), float(np.log(xlim[1]))) if ratio else (float(xlim[0]), float(xlim[1]))
        handles: list[Any] = []
        # significance contours around the null (analysis scale 0)
        if cut:
            edges = [float(stats.norm.isf(c / 2)) for c in cut]  # increasing z
            far = max(abs(lo_a), abs(hi_a)) * 3 + 10 * se_max   # beyond the plot (clipped)
            if ratio:
                far = min(far, 30.0)
            for j, (z0, colour) in enumerate(zip(edges, _CONTOUR_GREYS)):
                # the region |x| > z0 se, painted from the innermost edge outwards (outer ones on top)
                for sign in (-1, 1):
                    xs = sign * np.array([0.0, z0 * se_max, far, far])
                    ys = np.array([0.0, se_max, se_max, 0.0])
                    a.fill(tr(xs), ys, color=colour, linewidth=0, zorder=0, gid=f"contour-{j}")
                hi_p = cut[j]
                lo_p = cut[j + 1] if j + 1 < len(cut) else 0.0
                band = f"{lo_p:g} < p < {hi_p:g}" if lo_p > 0 else f"p < {hi_p:g}"
                handles.append(Patch(facecolor=colour, edgecolor="none", label=band))
            handles.insert(0, Patch(facecolor="white", edgecolor="#999999", linewidth=0.5, label=f"p > {cut[0]:g}"))
            a.axvline(tr(0.0), color=style.COLORS["reference"], linewidth=0.6, zorder=1, gid="null-line")
        if pseudo_ci:
            left = est - z * se_grid
            right = est + z * se_grid
            if not cut:
                a.fill_betweenx(se_grid, tr(left), tr(right), color="#F2F2F2", linewidth=0, zorder=0,
                                gid="pseudo-ci-region")
            a.plot(tr(left), se_grid, color="#555555", linewidth=0.7, linestyle=(0, (4, 2)), zorder=1,
                   gid="pseudo-ci")
            a.plot(tr(right), se_grid, color="#555555", linewidth=0.7, linestyle=(0, (4, 2)), zorder=1,
                   gid="pseudo-ci")
            handles.append(Line2D([], [], color="#555555", linewidth=0.7, linestyle=(0, (4, 2)),
                                  label=f"Pseudo {100 * lev:g}% CI"))
        a.plot([tr(est), tr(est)], [0, se_max], color=style.COLORS["summary"], linewidth=0.9, zorder=2,
               gid="estimate-line")
        if original is not None and filled.any():
            e0 = float(original.estimate)
            a.plot([tr(e0), tr(e0)], [0, se_max], color=style.COLORS["muted"], linewidth=0.9, linestyle=":",
                   zorder=2, gid="original-estimate-line")
            handles.append(Line2D([], [], color=style.COLORS["summary"], linewidth=0.9, label="Adjusted estimate"))
            handles.append(Line2D([], [], color=style.COLORS["muted"], linewidth=0.9, linestyle=":",
                                  label="Observed estimate"))
        else:
            handles.append(Line2D([], [], color=style.COLORS["summary"], linewidth=0.9, label="Pooled estimate"))
        if curve is not None:
            a.plot(tr(curve(se_grid)), se_grid, color=style.OKABE_ITO["orange"], linewidth=1.1, zorder=2,
                   gid="egger-line")
            handles.append(Line2D([], [], color=style.OKABE_ITO["orange"], linewidth=1.1, label="Egger's regression"))
        obs = ok & ~filled
        a.scatter(tr(yi[obs]), sei[obs], s=22, c=style.COLORS["study"], edgecolors="white", linewidths=0.4,
                  zorder=4, gid="studies", clip_on=False)
        handles.append(Line2D([], [], marker="o", linestyle="none", markersize=5, color=style.COLORS["study"],
                              markerfacecolor=style.COLORS["study"], markeredgecolor="white", label="Studies"))
        if (ok & filled).any():
            a.scatter(tr(yi[ok & filled]), sei[ok & filled], s=22, facecolors="white",
                      edgecolors=style.COLORS["summary"], linewidths=0.8, zorder=4, gid="filled-studies",
                      clip_on=False)
            handles.append(Line2D([], [], marker="o", linestyle="none", markersize=5, color=style.COLORS["summary"],
                                  markerfacecolor="white", markeredgecolor=style.COLORS["summary"],
                                  label="Filled studies"))
        if ratio:
            style.set_log_xaxis(a, float(np.exp(lo_a)), float(np.exp(hi_a)))
        else:
            a.set_xlim(lo_a, hi_a)
        a.set_ylim(se_max, 0)
        a.set_ylabel("Standard error")
        a.set_xlabel(style.measure_name(meas) + (" (log scale)" if ratio else ""))
        if legend:
            a.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=6.5,
                     handlelength=1.6, columnspacing=1.2, borderaxespad=0.0)
        if title:
            a.set_title(title, loc="left", fontweight="bold")
        if user_ax is None:
            fig.set_layout_engine("constrained")
        if labels:
            lab = list(fit.labels)
            idx = np.flatnonzero(obs)
            style.place_labels(a, tr(yi[idx]), sei[idx], [lab[i] for i in idx], sizes=22,
                               priority=np.abs(yi[idx] - est) / sei[idx])
    return fig
