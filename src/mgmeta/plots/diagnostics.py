"""Diagnostic plots: Baujat, L'Abbé, radial (Galbraith), GOSH, bubble and drapery plots.

Each takes a fitted result (or the analysis object it draws), an optional
``ax``, and returns the Figure. The quantities drawn are those of the result:
residuals and leave-one-out estimates (Baujat), arm risks (L'Abbé),
standardized effects and precisions (radial), subset fits (GOSH), the fitted
meta-regression line (bubble), and the p-value functions of the studies and of
the pooled estimate (drapery).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator
from scipy import stats

from mgmeta.errors import DataError
from mgmeta.plots import style

__all__ = ["baujat", "labbe", "radial", "gosh", "bubble", "drapery"]


def _is_fit(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("yi", "vi", "estimate", "labels"))


def _need_fit(res: Any, name: str) -> None:
    if not _is_fit(res):
        raise DataError(f"{name}() needs a fitted meta-analysis, got {type(res).__name__}", field="res")


def _finish(fig: Figure, a: Axes, user_ax: Axes | None, title: str | None) -> Figure:
    if title:
        a.set_title(title, loc="left", fontweight="bold")
    if user_ax is None:
        fig.set_layout_engine("constrained")
    return fig


# ==========================================================================
# Baujat
# ==========================================================================

def baujat(res: Any, loo: pd.DataFrame | None = None, *, ax: Axes | None = None, labels: bool = True,
           width: float = 3.5, title: str | None = None) -> Figure:
    """Baujat plot: each study's contribution to heterogeneity against its influence on the pooled result.

    Parameters
    ----------
    res : MetaAnalysisResult
    loo : DataFrame, optional
        The leave-one-out table (``res.leave_one_out()``, computed when not
        given), columns ``estimate`` and ``se``.
    ax : Axes, optional
    labels : bool
        Label the points with the study labels.
    width : float
    title : str, optional

    Returns
    -------
    Figure

    Notes
    -----
    As metafor's ``baujat``: x_i = (y_i - mu)² / (v_i + tau²), the squared
    Pearson residual (for an equal-effects model, study i's contribution to
    Cochran's Q); y_i = (mu_(-i) - mu)² / se(mu_(-i))², the squared change of
    the pooled estimate when study i is left out, in units of the variance of
    the leave-one-out estimate.

    References
    ----------
    Baujat B, Mahé C, Pignon J-P, Hill C (2002). A graphical method for
    exploring heterogeneity in meta-analyses: application to a meta-analysis
    of 65 trials. Stat Med 21(18):2641-52. doi:10.1002/sim.1221
    """
    _need_fit(res, "baujat")
    k = len(res.yi)
    if k < 2:
        raise DataError("a Baujat plot needs at least 2 studies (it leaves each out in turn)", field="res")
    if loo is None:
        loo = res.leave_one_out()
    if not isinstance(loo, pd.DataFrame) or not {"estimate", "se"} <= set(loo.columns) or len(loo) != k:
        raise DataError("loo must be the leave-one-out table of the model (columns estimate and se, one row per "
                        "study)", field="loo")
    yi = np.asarray(res.yi, float)
    vi = np.asarray(res.vi, float)
    tau2 = float(res.tau2) if res.random else 0.0
    x = (yi - float(res.estimate)) ** 2 / (vi + tau2)
    d_est = loo["estimate"].to_numpy(float)
    d_se = loo["se"].to_numpy(float)
    y = (d_est - float(res.estimate)) ** 2 / d_se ** 2
    with style.plot_style():
        fig, user_ax = style.new_figure(width, width * 0.9, ax)
        a = user_ax if user_ax is not None else fig.add_subplot()
        a.grid(True, zorder=0)
        a.scatter(x, y, s=22, c=style.COLORS["study"], edgecolors="white", linewidths=0.4, zorder=3,
                  gid="studies", clip_on=False)
        a.set_xlabel("Squared Pearson residual" if res.random else "Contribution to overall heterogeneity")
        a.set_ylabel("Influence on overall result")
        a.set_xlim(0, float(np.max(x)) * 1.12 if np.max(x) > 0 else 1.0)
        a.set_ylim(0, float(np.max(y)) * 1.12 if np.max(y) > 0 else 1.0)
        fig = _finish(fig, a, user_ax, title)
        if labels:
            style.place_labels(a, x, y, list(res.labels), priority=x / max(x.max(), 1e-300) + y / max(y.max(), 1e-300))
    return fig


# ==========================================================================
# L'Abbé
# ==========================================================================

def labbe(res: Any, *, ax: Axes | None = None, arm_labels: tuple[str, str] = ("experimental", "control"),
          labels: bool = False, width: float = 3.5, title: str | None = None) -> Figure:
    """L'Abbé plot: event risk in the treatment arm against the control arm (binary outcomes).

    Parameters
    ----------
    res : MetaAnalysisResult or BinaryPoolResult
        A fit of a binary measure (OR, RR, RD, PETO) whose data holds the arm
        counts (fit it on the frame from :func:`mgmeta.effect_sizes`).
    ax : Axes, optional
    arm_labels : (str, str)
        Names of the experimental and control arms for the axis labels
        ("Event risk, control").
    labels : bool
        Label the circles with the study labels.
    width : float
    title : str, optional

    Returns
    -------
    Figure
        Circles (gid ``studies``) have areas proportional to the weights; the
        dashed diagonal is no effect; the solid curve is the pooled effect
        drawn at every control risk (gid ``pooled-effect``).

    References
    ----------
    L'Abbé KA, Detsky AS, O'Rourke K (1987). Meta-analysis in clinical
    research. Ann Intern Med 107(2):224-33. doi:10.7326/0003-4819-107-2-224
    """
    if not (_is_fit(res) and hasattr(res, "measure")):
        raise DataError(f"labbe() needs a fitted meta-analysis, got {type(res).__name__}", field="res")
    meas = res.measure
    if meas not in ("OR", "RR", "RD", "PETO"):
        raise DataError(f"a L'Abbé plot needs a binary measure (OR, RR, RD, PETO), the fit has {meas!r}",
                        field="measure")
    data = getattr(res, "data", None)
    if not isinstance(data, pd.DataFrame) or not {"ai", "ci"} <= set(data.columns):
        raise DataError("a L'Abbé plot needs the arm counts (ai, ci with n1i/n2i or bi/di): fit the model on the "
                        "frame from mgmeta.effect_sizes()", field="data")
    if "dropped" in data.columns:
        data = data.loc[~data["dropped"].to_numpy(dtype=bool)]
    ai, ci = data["ai"].to_numpy(float), data["ci"].to_numpy(float)
    n1 = data["n1i"].to_numpy(float) if "n1i" in data.columns else ai + data["bi"].to_numpy(float)
    n2 = data["n2i"].to_numpy(float) if "n2i" in data.columns else ci + data["di"].to_numpy(float)
    p1, p2 = ai / n1, ci / n2
    w = np.asarray(res.weights, float)
    if len(w) != len(p1):
        raise DataError("the fit's weights do not match its arm data", field="data")
    est = float(res.estimate)
    pc = np.linspace(0.0005, 0.9995, 400)
    if meas in ("OR", "PETO"):
        odds = np.exp(est) * pc / (1 - pc)
        pt = odds / (1 + odds)
    elif meas == "RR":
        pt = np.exp(est) * pc
    else:
        pt = pc + est
    keep = (pt >= 0) & (pt <= 1)
    with style.plot_style():
        fig, user_ax = style.new_figure(width, width, ax)
        a = user_ax if user_ax is not None else fig.add_subplot()
        a.plot([0, 1], [0, 1], color=style.COLORS["reference"], linewidth=0.7, linestyle=(0, (4, 2)), zorder=1,
               gid="no-effect")
        a.plot(pc[keep], pt[keep], color=style.COLORS["summary"], linewidth=1.0, zorder=2, gid="pooled-effect")
        wmax = max(float(np.nanmax(w)), 1e-12)
        sizes = 12 + 260 * w / wmax
        a.scatter(p2, p1, s=sizes, c=style.COLORS["study"], alpha=0.55, edgecolors=style.COLORS["study"],
                  linewidths=0.7, zorder=3, gid="studies", clip_on=False)
        # zoom on small risks (both axes alike, so that the diagonal stays at 45 degrees)
        top = float(np.nanmax(np.concatenate([p1, p2]))) * 1.12
        lim = next(v for v in (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0) if v >= min(top, 1.0))
        a.set_xlim(0, lim)
        a.set_ylim(0, lim)
        a.set_aspect("equal")
        a.set_xlabel(f"Event risk, {arm_labels[1]}")
        a.set_ylabel(f"Event risk, {arm_labels[0]}")
        handles = [Line2D([], [], color=style.COLORS["reference"], linewidth=0.7, linestyle=(0, (4, 2)),
                          label="No effect"),
                   Line2D([], [], color=style.COLORS["summary"], linewidth=1.0,
                          label=f"Pooled {style.measure_name(meas).lower()} "
                                f"{style.format_value(float(np.exp(est)) if style.is_ratio(meas) else est)}")]
        a.legend(handles=handles, loc="upper left")
        fig = _finish(fig, a, user_ax, title)
        if labels:
            style.place_labels(a, p2, p1, list(res.labels), sizes=sizes, priority=w)
    return fig


# ==========================================================================
# radial (Galbraith)
# ==========================================================================

def radial(res: Any, *, ax: Axes | None = None, labels: bool = False, arc: bool = True, width: float = 4.0,
           title: str | None = None) -> Figure:
    """Radial (Galbraith) plot: standardized effect against precision.

    Parameters
    ----------
    res : MetaAnalysisResult
    ax : Axes, optional
    labels : bool
        Label the points with the study labels.
    arc : bool
        Draw the effect-size scale as an arc on the right (a line from the
        origin through a study meets the arc at its effect; the thick part is
        the pooled confidence interval), as Galbraith proposed.
    width : float
    title : str, optional

    Returns
    -------
    Figure

    Notes
    -----
    As metafor's ``radial``: x_i = 1 / sqrt(v_i + tau²), z_i = y_i x_i. The
    line through the origin with slope mu is the pooled estimate; studies
    within z = mu x ± z_{1-α/2} (shaded band) are consistent with it.

    References
    ----------
    Galbraith RF (1988). A note on graphical presentation of estimated odds
    ratios from several clinical trials. Stat Med 7(8):889-94.
    doi:10.1002/sim.4780070807
    """
    _need_fit(res, "radial")
    yi = np.asarray(res.yi, float)
    vi = np.asarray(res.vi, float)
    tau2 = float(res.tau2) if res.random else 0.0
    xi = 1.0 / np.sqrt(vi + tau2)
    zi = yi * xi
    mu = float(res.estimate)
    zc = float(stats.norm.isf((1 - float(res.level)) / 2))
    ratio = style.is_ratio(res.measure)
    with style.plot_style():
        fig, user_ax = style.new_figure(width, width * 0.85, ax)
        a = user_ax if user_ax is not None else fig.add_subplot()
        xmax = float(xi.max()) * 1.15
        xr = np.array([0.0, xmax])
        a.fill_between(xr, mu * xr - zc, mu * xr + zc, color=style.COLORS["region"], linewidth=0, zorder=0,
                       gid="radial-band")
        a.plot(xr, mu * xr, color=style.COLORS["summary"], linewidth=0.9, zorder=2, gid="pooled-line")
        for s in (-1, 1):
            a.plot(xr, mu * xr + s * zc, color="#555555", linewidth=0.6, linestyle=(0, (3, 2)), zorder=1)
        a.axhline(0, color=style.COLORS["reference"], linewidth=0.5, zorder=1)
        a.scatter(xi, zi, s=20, c=style.COLORS["study"], edgecolors="white", linewidths=0.4, zorder=3,
                  gid="studies", clip_on=False)
        zlo = min(-zc - 0.5, float(zi.min()) * 1.1, mu * xmax - zc - 0.5)
        zhi = max(zc + 0.5, float(zi.max()) * 1.1, mu * xmax + zc + 0.5)
        a.set_xlabel("Precision, 1/\u221a(v\u1d62 + \u03c4\u00b2)" if tau2 > 0 else "Precision, 1/se\u1d62")
        a.set_ylabel("Standardized effect, y\u1d62 / \u221a(v\u1d62 + \u03c4\u00b2)" if tau2 > 0
                     else "Standardized effect, y\u1d62 / se\u1d62")
        if arc:
            xlim_hi = xmax / 0.72
            a.set_xlim(0, xlim_hi)
            a.set_ylim(zlo, zhi)
            a.set_box_aspect(0.85)
            _radial_arc(a, yi, res, ratio, xlim_hi, zlo, zhi)
            a.spines["right"].set_visible(False)
        else:
            a.set_xlim(0, xmax)
            a.set_ylim(zlo, zhi)
        fig = _finish(fig, a, user_ax, title)
        if labels:
            style.place_labels(a, xi, zi, list(res.labels), priority=np.abs(zi - mu * xi))
    return fig


def _radial_arc(a: Axes, yi: np.ndarray, res: Any, ratio: bool, x1: float, z0: float, z1: float) -> None:
    """The effect-size arc, drawn in axes coordinates so that it is round on screen."""
    box = 0.85  # height / width of the axes box
    ox, oy = 0.0, -z0 / (z1 - z0)   # the origin in axes coordinates
    radius = 0.82                   # in units of the axes width

    def point(b: float, r: float) -> tuple[float, float]:
        dx, dy = 1.0 / x1, b / (z1 - z0) * box   # direction in screen-proportional units
        n = np.hypot(dx, dy)
        return ox + r * dx / n, oy + r * dy / n / box

    lo, hi = float(np.min(yi)), float(np.max(yi))
    lo, hi = min(lo, float(res.ci_lower)), max(hi, float(res.ci_upper))
    bs = np.linspace(lo, hi, 120)
    pts = np.array([point(b, radius) for b in bs])
    inside = (pts[:, 1] >= 0) & (pts[:, 1] <= 1)
    a.plot(pts[inside, 0], pts[inside, 1], color="#222222", linewidth=0.7, transform=a.transAxes, clip_on=False,
           gid="radial-arc")
    # pooled CI on the arc
    cb = np.linspace(float(res.ci_lower), float(res.ci_upper), 30)
    cp = np.array([point(b, radius - 0.012) for b in cb])
    ok = (cp[:, 1] >= 0) & (cp[:, 1] <= 1)
    a.plot(cp[ok, 0], cp[ok, 1], color=style.COLORS["summary"], linewidth=2.2, transform=a.transAxes,
           clip_on=False, solid_capstyle="butt", gid="radial-ci")
    # ticks with labels on the display scale; the arc spans the ticks and the data
    if ratio:
        cands = style.log_ticks(float(np.exp(lo)), float(np.exp(hi)), max_ticks=6)
        ticks = np.log(cands)
        texts = [style.tick_label(float(v)) for v in cands]
    else:
        from matplotlib.ticker import MaxNLocator
        ticks = np.asarray(MaxNLocator(nbins=5).tick_values(lo, hi), float)
        ticks = ticks[(ticks >= lo - 1e-12) & (ticks <= hi + 1e-12)]
        texts = [style.format_value(float(t), 2) for t in ticks]
    for t, s in zip(ticks, texts):
        p0 = point(float(t), radius)
        p1 = point(float(t), radius + 0.02)
        p2 = point(float(t), radius + 0.03)
        if not (0 <= p0[1] <= 1):
            continue
        a.plot([p0[0], p1[0]], [p0[1], p1[1]], color="#222222", linewidth=0.7, transform=a.transAxes,
               clip_on=False)
        a.text(p2[0], p2[1], s, fontsize=6.5, ha="left", va="center", transform=a.transAxes, gid="arc-label")
    name = style.measure_name(res.measure)
    top = point(hi, radius + 0.03)
    a.text(min(top[0], 0.98), min(1.02, top[1] + 0.06), name, fontsize=6.5, ha="left", va="bottom",
           transform=a.transAxes, color="#333333")


# ==========================================================================
# drapery (p-value functions)
# ==========================================================================

def drapery(res: Any, *, ax: Axes | None = None, prediction: bool | None = None, log_p: bool = False,
            labels: bool = False, xlim: tuple[float, float] | None = None, width: float = 5.0,
            title: str | None = None) -> Figure:
    """Drapery plot: the p-value function of every study and of the pooled estimate.

    For each value theta of the effect, the two-sided p-value of the test
    H0: effect = theta; the curve peaks (p = 1) at the estimate, and its width
    at height alpha is the (1 - alpha) confidence interval. The right axis reads
    the confidence level. Few meta-analysis tools draw it (R meta does).

    Parameters
    ----------
    res : MetaAnalysisResult
    ax : Axes, optional
    prediction : bool, optional
        Also draw the prediction "p-value function" of a random-effects model
        (normal with variance se² + tau²: its width at height alpha is the
        (1 - alpha) prediction interval). Default: random-effects models with
        tau² > 0.
    log_p : bool
        Logarithmic p-value axis (shows the tails).
    labels : bool
        Label each study curve at its peak.
    xlim : (float, float), optional
        Limits on the display scale.
    width : float
    title : str, optional

    Returns
    -------
    Figure
        Curves carry gids ``study-curve``, ``pooled-curve``, ``prediction-curve``.

    Notes
    -----
    Study i: p(theta) = 2 (1 - Phi(|y_i - theta| / se_i)); pooled: the same
    with the pooled estimate and its se (t with the model's df under the
    Hartung-Knapp test).

    References
    ----------
    Rücker G, Schwarzer G (2021). Beyond the forest plot: the drapery plot.
    Res Synth Methods 12(1):13-19. doi:10.1002/jrsm.1410
    """
    _need_fit(res, "drapery")
    yi = np.asarray(res.yi, float)
    sei = np.sqrt(np.asarray(res.vi, float))
    mu, se = float(res.estimate), float(res.se)
    ratio = style.is_ratio(res.measure)
    tr = np.exp if ratio else (lambda v: v)
    knha = getattr(res, "test", "z") == "knha" and getattr(res, "df", None)
    dist = stats.t(int(res.df)) if knha else stats.norm()
    show_pi = prediction if prediction is not None else (bool(res.random) and float(res.tau2) > 0)
    if show_pi and (not res.random or res.pi_lower is None):
        raise DataError("prediction=True needs a random-effects model", field="prediction")
    if xlim is None:
        span_lo = float(np.min(yi - 3.3 * sei))
        span_hi = float(np.max(yi + 3.3 * sei))
        core_lo = min(float(np.min(yi)), mu - 4 * se, float(res.pi_lower) if show_pi else mu)
        core_hi = max(float(np.max(yi)), mu + 4 * se, float(res.pi_upper) if show_pi else mu)
        wid = core_hi - core_lo
        lo, hi = max(span_lo, core_lo - wid), min(span_hi, core_hi + wid)
        lo, hi = min(lo, 0.0, core_lo), max(hi, 0.0, core_hi)
    else:
        lo, hi = (float(np.log(xlim[0])), float(np.log(xlim[1]))) if ratio else (float(xlim[0]), float(xlim[1]))
    theta = np.linspace(lo, hi, 600)
    with style.plot_style():
        fig, user_ax = style.new_figure(width, width * 0.62, ax)
        a = user_ax if user_ax is not None else fig.add_subplot()
        floor = 1e-4
        for i in range(len(yi)):
            p = 2 * stats.norm.sf(np.abs(yi[i] - theta) / sei[i])
            if log_p:
                p = np.maximum(p, floor)
            a.plot(tr(theta), p, color=style.COLORS["study"], alpha=0.55, linewidth=0.7, zorder=2, gid="study-curve")
            if labels:
                a.annotate(res.labels[i], (tr(yi[i]), 1.0), xytext=(0, 2), textcoords="offset points", fontsize=5.5,
                           rotation=90, ha="center", va="bottom", color="#333333")
        pp = 2 * dist.sf(np.abs(mu - theta) / se)
        if show_pi:
            sp = np.sqrt(se ** 2 + float(res.tau2))
            pr = 2 * stats.norm.sf(np.abs(mu - theta) / sp)
            if log_p:
                pr = np.maximum(pr, floor)
            a.fill_between(tr(theta), 0 if not log_p else floor, pr, color=style.COLORS["prediction"], alpha=0.15,
                           linewidth=0, zorder=1)
            a.plot(tr(theta), pr, color=style.COLORS["prediction"], linewidth=1.0, linestyle=(0, (4, 2)), zorder=3,
                   gid="prediction-curve")
        if log_p:
            pp = np.maximum(pp, floor)
        a.plot(tr(theta), pp, color=style.COLORS["summary"], linewidth=1.6, zorder=4, gid="pooled-curve")
        for alpha in (0.05, 0.01) if log_p else (0.05,):
            a.axhline(alpha, color="#555555", linewidth=0.5, linestyle=(0, (2, 2)), zorder=1)
        if lo <= 0 <= hi:
            a.axvline(tr(0.0), color=style.COLORS["reference"], linewidth=0.6, zorder=1, gid="null-line")
        if ratio:
            style.set_log_xaxis(a, float(np.exp(lo)), float(np.exp(hi)))
        else:
            a.set_xlim(lo, hi)
        if log_p:
            a.set_yscale("log")
            a.set_ylim(floor, 1.05)
        else:
            a.set_ylim(0, 1.02)
        a.set_xlabel(style.measure_name(res.measure) + (" (log scale)" if ratio else ""))
        a.set_ylabel("p-value")
        def to_level(p: Any) -> Any:
            return 100 * (1 - np.asarray(p))

        def to_p(c: Any) -> Any:
            return 1 - np.asarray(c) / 100

        sec = a.secondary_yaxis("right", functions=(to_level, to_p))
        sec.set_ylabel("Confidence level (%)")
        if not log_p:
            sec.set_yticks([0, 20, 40, 60, 80, 95, 100][::-1])
        else:
            sec.set_yticks([0, 90, 99, 99.9, 99.99])
            sec.yaxis.set_minor_locator(NullLocator())
        a.spines["right"].set_visible(False)
        handles = [Line2D([], [], color=style.COLORS["study"], alpha=0.55, linewidth=0.7, label="Studies"),
                   Line2D([], [], color=style.COLORS["summary"], linewidth=1.6,
                          label="Pooled estimate" + (" (HKSJ)" if knha else ""))]
        if show_pi:
            handles.append(Line2D([], [], color=style.COLORS["prediction"], linewidth=1.0, linestyle=(0, (4, 2)),
                                  label="Prediction"))
        a.legend(handles=handles, loc="upper right" if mu < (lo + hi) / 2 else "upper left", frameon=True,
                 framealpha=0.9, edgecolor="none", facecolor="white")
    return _finish(fig, a, user_ax, title)


# ==========================================================================
# GOSH
# ==========================================================================

def plt_colormap(name: str) -> Any:
    """A registered matplotlib colormap."""
    import matplotlib
    return matplotlib.colormaps[name]


def _gosh_frame(obj: Any) -> tuple[pd.DataFrame, Any]:
    """(table of subset fits, full model or None) from a GOSH result, a DataFrame or a fitted model."""
    if isinstance(obj, pd.DataFrame):
        return obj, None
    if _is_fit(obj) and hasattr(obj, "gosh"):
        return _gosh_frame(obj.gosh())
    for attr in ("frame", "fits", "results", "table", "subsets"):
        cand = getattr(obj, attr, None)
        if isinstance(cand, pd.DataFrame):
            full = None
            for fattr in ("result", "res", "model", "fit"):
                f = getattr(obj, fattr, None)
                if _is_fit(f):
                    full = f
                    break
            return cand, full
    if hasattr(obj, "to_frame"):
        fr = obj.to_frame()
        if isinstance(fr, pd.DataFrame):
            return fr, None
    raise DataError(f"gosh() needs a GOSH result (res.gosh()), its table or a fitted model, got "
                    f"{type(obj).__name__}", field="res")


def gosh(obj: Any, *, ax: Axes | None = None, kind: str = "auto", measure: str | None = None,
         marginals: bool = True, width: float = 4.5, title: str | None = None) -> Figure:
    """GOSH plot: pooled estimate against I² for fits to subsets of the studies.

    Parameters
    ----------
    obj : GOSH result, DataFrame or MetaAnalysisResult
        The result of ``res.gosh()`` (or its table with columns ``estimate``
        and ``i2``; a ``k`` column, if present, marks the fit of all studies);
        a fitted model is passed to its ``gosh()``.
    ax : Axes, optional
        Draw the main panel only, into this axes (no marginal histograms).
    kind : {"auto", "scatter", "hexbin"}
        Points (with transparency) or a hexagonal-bin density; "auto" bins
        beyond 5,000 subsets.
    measure : str, optional
        Effect measure (default: the model's, if the result knows it).
    marginals : bool
        Histograms of the estimate (top) and of I² (right).
    width : float
    title : str, optional

    Returns
    -------
    Figure

    References
    ----------
    Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of
    study heterogeneity. Res Synth Methods 3(3):214-23. doi:10.1002/jrsm.1053
    """
    if kind not in ("auto", "scatter", "hexbin"):
        raise DataError(f"kind must be 'auto', 'scatter' or 'hexbin', got {kind!r}", field="kind")
    frame, full = _gosh_frame(obj)
    for col in ("estimate", "i2"):
        if col not in frame.columns:
            raise DataError(f"the GOSH table has no column {col!r}", field=col)
    est = frame["estimate"].to_numpy(float)
    i2 = frame["i2"].to_numpy(float)
    ok = np.isfinite(est) & np.isfinite(i2)
    if not ok.any():
        raise DataError("the GOSH table has no finite estimate", field="estimate")
    meas = measure
    if meas is None:
        for src in (obj, full):
            meas = getattr(src, "measure", None) if src is not None else None
            if meas is not None:
                break
    ratio = style.is_ratio(meas)
    x = est[ok]
    y = i2[ok]
    n = len(x)
    use_hex = kind == "hexbin" or (kind == "auto" and n > 5000)
    with style.plot_style():
        fig, user_ax = style.new_figure(width, width * 0.85, ax)
        if user_ax is not None:
            a = user_ax
            ax_top = ax_right = None
        elif marginals:
            gs = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), wspace=0.04, hspace=0.04)
            a = fig.add_subplot(gs[1, 0])
            ax_top = fig.add_subplot(gs[0, 0], sharex=a)
            ax_right = fig.add_subplot(gs[1, 1], sharey=a)
            corner = fig.add_subplot(gs[0, 1])
            corner.set_axis_off()
        else:
            a = fig.add_subplot()
            ax_top = ax_right = None
        xd = np.exp(x) if ratio else x
        if ratio:
            a.set_xscale("log")
        if use_hex:
            from matplotlib.colors import LinearSegmentedColormap
            from matplotlib.ticker import LogFormatter
            blues = plt_colormap("Blues")
            cmap = LinearSegmentedColormap.from_list("mgmeta_blues", blues(np.linspace(0.3, 1.0, 256)))
            hb = a.hexbin(xd, y, gridsize=45, cmap=cmap, mincnt=1, bins="log", xscale="log" if ratio else "linear",
                          linewidths=0.1, gid="gosh-hexbin")
            cb = fig.colorbar(hb, ax=a if ax_right is None else [a, ax_right], pad=0.02, shrink=0.8, aspect=30)
            cb.set_label("Subsets per hexagon", fontsize=6.5)
            cb.ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
            cb.ax.tick_params(labelsize=6)
        else:
            alpha = float(np.clip(30.0 / np.sqrt(n), 0.05, 0.8))
            a.scatter(xd, y, s=6, c=style.COLORS["study"], alpha=alpha, edgecolors="none", zorder=2,
                      gid="gosh-points", rasterized=n > 2000)
        if "k" in frame.columns:
            kk = frame["k"].to_numpy(float)[ok]
            full_rows = kk == np.nanmax(kk)
            if full_rows.sum() == 1:
                a.scatter(xd[full_rows], y[full_rows], s=40, marker="D", c=style.OKABE_ITO["vermillion"],
                          edgecolors="white", linewidths=0.6, zorder=4, gid="gosh-full", label="All studies")
                if ax_top is not None:  # the empty corner above the I² histogram
                    handles, texts = a.get_legend_handles_labels()
                    corner.legend(handles, texts, loc="center", fontsize=6.5)
                else:
                    a.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=6.5, borderaxespad=0.2)
        a.set_xlabel(style.measure_name(meas) + (" (log scale)" if ratio else ""))
        a.set_ylabel("I\u00b2 (%)")
        if ratio:
            lo, hi = float(np.nanmin(xd)), float(np.nanmax(xd))
            pad = (hi / lo) ** 0.04
            style.set_log_xaxis(a, lo / pad, hi * pad)
        ylo, yhi = float(np.min(y)), float(np.max(y))
        a.set_ylim(max(-2.0, ylo - 0.05 * (yhi - ylo + 1)), min(102.0, yhi + 0.05 * (yhi - ylo + 1)))
        if ax_top is not None and ax_right is not None:
            bins_x: Any = np.geomspace(xd.min(), xd.max(), 40) if ratio and xd.min() > 0 and xd.max() > xd.min() else 40
            ax_top.hist(xd, bins=bins_x, color=style.COLORS["study"], alpha=0.75, gid="gosh-hist-estimate")
            ax_right.hist(y, bins=40, orientation="horizontal", color=style.COLORS["study"], alpha=0.75,
                          gid="gosh-hist-i2")
            ax_top.tick_params(labelbottom=False, left=False, labelleft=False)
            ax_right.tick_params(labelleft=False, bottom=False, labelbottom=False)
            ax_top.spines["left"].set_visible(False)
            ax_right.spines["bottom"].set_visible(False)
        if title:
            (ax_top or a).set_title(title, loc="left", fontweight="bold")
        if user_ax is None:
            fig.set_layout_engine("constrained")
    return fig


# ==========================================================================
# bubble plot (meta-regression)
# ==========================================================================

def bubble(reg: Any, mod: str | int | None = None, *, ax: Axes | None = None, ci: bool = True,
           labels: bool = False, measure: str | None = None, width: float = 4.0, title: str | None = None) -> Figure:
    """Bubble plot of a meta-regression: effects against a moderator, bubbles sized by weight.

    Parameters
    ----------
    reg : MetaRegressionResult
        The result of :func:`mgmeta.meta_regression`.
    mod : str or int, optional
        The moderator on the x axis (name or position among the moderators);
        default the first. With several moderators the others are held at
        their mean, and the line is the model's prediction.
    ax : Axes, optional
    ci : bool
        Shade the confidence band of the fitted line.
    labels : bool
        Label the bubbles with study labels.
    measure : str, optional
    width : float
    title : str, optional

    Returns
    -------
    Figure
        Bubbles (gid ``studies``) have areas proportional to the weights
        1 / (v_i + tau²); the fitted line is gid ``regression-line``.

    Notes
    -----
    The line is b0 + b1 x (+ the other moderators at their means) from the
    result's coefficients; its confidence band uses the coefficient
    covariance matrix: se(x) = sqrt(x' V x), with z or t (HKSJ) quantiles.

    References
    ----------
    Thompson SG, Higgins JPT (2002). How should meta-regression analyses be
    undertaken and interpreted? Stat Med 21(11):1559-73. doi:10.1002/sim.1187
    """
    X, yi, vi, names = _regression_data(reg)
    p = X.shape[1]
    if p < 2:
        raise DataError("the meta-regression has no moderator to put on the x axis", field="mod")
    mod_names = list(names[1:])
    if mod is None:
        j = 1
    elif isinstance(mod, (int, np.integer)):
        if not 0 <= int(mod) < len(mod_names):
            raise DataError(f"mod {mod} is not among the {len(mod_names)} moderators {mod_names}", field="mod")
        j = int(mod) + 1
    else:
        if mod not in mod_names:
            raise DataError(f"moderator {mod!r} not in the model; moderators are {mod_names}", field="mod")
        j = mod_names.index(mod) + 1
    coef = np.asarray(reg.coef, float)
    tau2 = float(getattr(reg, "tau2", 0.0) or 0.0)
    w = 1.0 / (vi + tau2)
    x = X[:, j]
    grid = np.linspace(float(x.min()), float(x.max()), 200)
    Xg = np.tile(X.mean(axis=0), (len(grid), 1))
    Xg[:, j] = grid
    Xg[:, 0] = 1.0
    fitline = Xg @ coef
    vb = _coef_cov(reg, p)
    meas = measure if measure is not None else getattr(reg, "measure", None)
    ratio = style.is_ratio(meas)
    with style.plot_style():
        fig, user_ax = style.new_figure(width, width * 0.8, ax)
        a = user_ax if user_ax is not None else fig.add_subplot()
        tr = np.exp if ratio else (lambda v: v)
        if ci and vb is not None:
            se_line = np.sqrt(np.einsum("ij,jk,ik->i", Xg, vb, Xg))
            level = float(getattr(reg, "level", 0.95))
            df = getattr(reg, "df", None)
            if getattr(reg, "test", "z") == "knha" and df:
                crit = float(stats.t.isf((1 - level) / 2, int(df)))
            else:
                crit = float(stats.norm.isf((1 - level) / 2))
            a.fill_between(grid, tr(fitline - crit * se_line), tr(fitline + crit * se_line),
                           color=style.COLORS["region"], linewidth=0, zorder=0, gid="regression-ci")
        a.plot(grid, tr(fitline), color=style.COLORS["summary"], linewidth=1.1, zorder=2, gid="regression-line")
        sizes = 10 + 300 * w / w.max()
        a.scatter(x, tr(yi), s=sizes, c=style.COLORS["study"], alpha=0.5, edgecolors=style.COLORS["study"],
                  linewidths=0.7, zorder=3, gid="studies", clip_on=False)
        if ratio:
            allv = np.concatenate([yi, fitline])
            if ci and vb is not None:
                allv = np.concatenate([allv, fitline - crit * se_line, fitline + crit * se_line])
            lo_v, hi_v = float(allv.min()), float(allv.max())
            pad = 0.05 * (hi_v - lo_v)
            style.set_log_yaxis(a, float(np.exp(lo_v - pad)), float(np.exp(hi_v + pad)))
            if lo_v - pad <= 0 <= hi_v + pad:
                a.axhline(1.0, color=style.COLORS["reference"], linewidth=0.5, zorder=1)
        else:
            a.axhline(0.0, color=style.COLORS["reference"], linewidth=0.5, zorder=1)
        a.set_xlabel(str(names[j]))
        a.set_ylabel(style.measure_name(meas) + (" (log scale)" if ratio else ""))
        fig = _finish(fig, a, user_ax, title)
        labs = getattr(reg, "labels", None)
        if labels and labs is not None:
            style.place_labels(a, x, tr(yi), list(labs), sizes=sizes, priority=w)
    return fig


def _regression_data(reg: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Design matrix (intercept first), yi, vi and coefficient names of a meta-regression result."""
    if not hasattr(reg, "coef"):
        raise DataError(f"bubble() needs a meta-regression result, got {type(reg).__name__}", field="reg")
    X = None
    for attr in ("X", "design", "x", "mods_matrix"):
        cand = getattr(reg, attr, None)
        if cand is not None:
            X = np.asarray(cand, float)
            break
    yi = getattr(reg, "yi", None)
    vi = getattr(reg, "vi", None)
    if X is None or yi is None or vi is None:
        raise DataError("the meta-regression result must hold its design matrix X, yi and vi", field="reg")
    names = getattr(reg, "names", None)
    names = list(names) if names is not None else ["intrcpt"] + [f"x{i}" for i in range(1, X.shape[1])]
    return X, np.asarray(yi, float), np.asarray(vi, float), names


def _coef_cov(reg: Any, p: int) -> np.ndarray | None:
    for attr in ("vb", "cov", "vcov", "covariance"):
        v = getattr(reg, attr, None)
        if v is not None:
            v = v() if callable(v) else v
            v = np.asarray(v, float)
            if v.shape == (p, p):
                return v
    return None
