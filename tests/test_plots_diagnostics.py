"""Baujat, L'Abbé, radial, drapery, GOSH and bubble plots: the drawn coordinates are the
quantities the fitted results hold (BCG trials, Colditz et al. 1994)."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats
from test_plots_support import BCG, bcg_effects, bcg_fit, by_gid, overlapping_texts, to_gallery

import mgmeta
from mgmeta.analyses import meta_regression
from mgmeta.errors import DataError
from mgmeta.plots import baujat, bubble, drapery, gosh, labbe, radial


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def offsets(fig, gid):
    (coll,) = by_gid(fig, gid)
    return np.asarray(coll.get_offsets())


# --------------------------------------------------------------------------
# Baujat
# --------------------------------------------------------------------------

def test_baujat_coordinates_are_residuals_and_leave_one_out_shifts():
    res = bcg_fit("RR")
    loo = res.leave_one_out()
    fig = baujat(res)
    to_gallery(fig, "baujat")
    xy = offsets(fig, "studies")
    np.testing.assert_allclose(xy[:, 0], (res.yi - res.estimate) ** 2 / (res.vi + res.tau2), rtol=1e-12)
    np.testing.assert_allclose(xy[:, 1], (loo["estimate"] - res.estimate) ** 2 / loo["se"] ** 2, rtol=1e-12)
    assert fig.axes[0].get_xlabel() == "Squared Pearson residual"
    # labels never overlap each other or the axis labels
    assert by_gid(fig, "point-label")
    assert not overlapping_texts(fig)
    # equal-effects model: contribution to Q, which sums to Q
    ee = bcg_fit("RR", method="EE")
    xe = offsets(baujat(ee, labels=False), "studies")[:, 0]
    assert xe.sum() == pytest.approx(ee.q, rel=1e-10)
    with pytest.warns(mgmeta.MgmetaWarning), pytest.raises(DataError, match="at least 2"):
        baujat(bcg_fit("RR", rows=[0]))


# --------------------------------------------------------------------------
# L'Abbé
# --------------------------------------------------------------------------

def test_labbe_points_are_the_arm_risks_and_the_curve_the_pooled_effect():
    res = bcg_fit("OR")
    fig = labbe(res, labels=True)
    to_gallery(fig, "labbe")
    xy = offsets(fig, "studies")
    n1 = BCG["tpos"] + BCG["tneg"]
    n2 = BCG["cpos"] + BCG["cneg"]
    np.testing.assert_allclose(xy[:, 0], BCG["cpos"] / n2, rtol=1e-12)
    np.testing.assert_allclose(xy[:, 1], BCG["tpos"] / n1, rtol=1e-12)
    (curve,) = by_gid(fig, "pooled-effect")
    pc, pt = curve.get_data()
    odds = np.exp(res.estimate) * pc / (1 - pc)
    np.testing.assert_allclose(pt, odds / (1 + odds), rtol=1e-12)
    (coll,) = by_gid(fig, "studies")
    s = coll.get_sizes()
    assert np.argmax(s) == np.argmax(res.weights)
    rr = bcg_fit("RR")
    (c2,) = by_gid(labbe(rr), "pooled-effect")
    pc, pt = c2.get_data()
    np.testing.assert_allclose(pt, np.exp(rr.estimate) * pc, rtol=1e-12)
    with pytest.raises(DataError, match="binary measure"):
        labbe(mgmeta.meta_analysis(res.yi, res.vi, measure="MD"))
    with pytest.raises(DataError, match="arm counts"):
        labbe(mgmeta.meta_analysis(res.yi, res.vi, measure="OR"))


# --------------------------------------------------------------------------
# radial
# --------------------------------------------------------------------------

def test_radial_plot_points_and_line():
    res = bcg_fit("RR")
    fig = radial(res)
    to_gallery(fig, "radial")
    xy = offsets(fig, "studies")
    w = 1 / np.sqrt(res.vi + res.tau2)
    np.testing.assert_allclose(xy[:, 0], w, rtol=1e-12)
    np.testing.assert_allclose(xy[:, 1], res.yi * w, rtol=1e-12)
    (line,) = by_gid(fig, "pooled-line")
    x, y = line.get_data()
    np.testing.assert_allclose(y, res.estimate * x, rtol=1e-12)
    arc_labels = [t.get_text() for t in by_gid(fig, "arc-label")]
    assert len(arc_labels) >= 2
    assert not overlapping_texts(fig)
    fig2 = radial(bcg_fit("RR", method="EE"), arc=False, labels=True)
    xy2 = offsets(fig2, "studies")
    np.testing.assert_allclose(xy2[:, 0], 1 / np.sqrt(res.vi), rtol=1e-12)


# --------------------------------------------------------------------------
# drapery
# --------------------------------------------------------------------------

def test_drapery_curves_peak_at_the_estimates_and_cross_alpha_at_the_ci():
    res = bcg_fit("RR")
    fig = drapery(res)
    to_gallery(fig, "drapery")
    curves = by_gid(fig, "study-curve")
    assert len(curves) == res.k
    for c, y, v in zip(curves, res.yi, res.vi):
        x, p = c.get_data()
        np.testing.assert_allclose(p, 2 * stats.norm.sf(np.abs(y - np.log(x)) / np.sqrt(v)), rtol=1e-10)
    (pooled,) = by_gid(fig, "pooled-curve")
    x, p = pooled.get_data()
    theta = np.log(x)
    # p = 1 at the estimate; p = 0.05 at the confidence limits
    assert theta[np.argmax(p)] == pytest.approx(res.estimate, abs=np.diff(theta).max())
    assert np.interp(res.ci_lower, theta, p) == pytest.approx(0.05, abs=2e-3)
    assert np.interp(res.ci_upper, theta, p) == pytest.approx(0.05, abs=2e-3)
    (pred,) = by_gid(fig, "prediction-curve")
    xp, pp = pred.get_data()
    assert np.interp(res.pi_lower, np.log(xp), pp) == pytest.approx(0.05, abs=2e-3)
    # log p axis and the Hartung-Knapp t distribution
    kn = bcg_fit("RR", test="knha")
    fig2 = drapery(kn, log_p=True, labels=True)
    (pooled2,) = by_gid(fig2, "pooled-curve")
    x2, p2 = pooled2.get_data()
    expect = np.maximum(2 * stats.t.sf(np.abs(kn.estimate - np.log(x2)) / kn.se, kn.df), 1e-4)
    np.testing.assert_allclose(p2, expect, rtol=1e-10)
    assert pooled2.axes.get_yscale() == "log"
    with pytest.raises(DataError, match="random-effects"):
        drapery(bcg_fit("RR", method="EE"), prediction=True)


# --------------------------------------------------------------------------
# GOSH
# --------------------------------------------------------------------------

def test_gosh_plot_of_every_subset():
    res = bcg_fit("RR", rows=slice(0, 10))
    g = res.gosh()
    fig = gosh(g)
    to_gallery(fig, "gosh")
    frame = g.frame
    ok = np.isfinite(frame["estimate"]) & np.isfinite(frame["i2"])
    xy = offsets(fig, "gosh-points")
    assert len(xy) == ok.sum() == 2 ** 10 - 1
    np.testing.assert_allclose(xy[:, 0], np.exp(frame.loc[ok, "estimate"]), rtol=1e-12)
    np.testing.assert_allclose(xy[:, 1], frame.loc[ok, "i2"], rtol=1e-12)
    full = offsets(fig, "gosh-full")
    assert full[0, 0] == pytest.approx(np.exp(res.estimate), rel=1e-9)
    assert full[0, 1] == pytest.approx(res.i2, rel=1e-9, abs=1e-9)
    assert by_gid(fig, "gosh-hist-estimate") or by_gid(fig, "gosh-hist-estimate", prefix=True)
    fig2 = gosh(g, kind="hexbin", marginals=False)
    to_gallery(fig2, "gosh_hexbin")
    (hb,) = by_gid(fig2, "gosh-hexbin")
    assert hb.get_array().sum() == ok.sum()
    # the table alone, and a fitted model (which runs its GOSH analysis)
    assert len(offsets(gosh(frame, measure="RR"), "gosh-points")) == ok.sum()
    assert len(offsets(gosh(bcg_fit("RR", rows=slice(0, 6))), "gosh-points")) == 2 ** 6 - 1
    with pytest.raises(DataError, match="kind"):
        gosh(g, kind="contour")


# --------------------------------------------------------------------------
# bubble
# --------------------------------------------------------------------------

def test_bubble_plot_of_a_meta_regression_on_latitude():
    es = bcg_effects("RR")
    reg = meta_regression(es, mods=BCG[["ablat"]])
    fig = bubble(reg, labels=True)
    to_gallery(fig, "bubble")
    xy = offsets(fig, "studies")
    np.testing.assert_allclose(xy[:, 0], BCG["ablat"], rtol=1e-12)
    np.testing.assert_allclose(xy[:, 1], np.exp(reg.yi), rtol=1e-12)
    (coll,) = by_gid(fig, "studies")
    w = 1 / (reg.vi + reg.tau2)
    np.testing.assert_allclose((coll.get_sizes() - 10) / 300, w / w.max(), rtol=1e-9)
    (line,) = by_gid(fig, "regression-line")
    x, y = line.get_data()
    np.testing.assert_allclose(np.log(y), reg.coef[0] + reg.coef[1] * x, rtol=1e-10)
    (band,) = by_gid(fig, "regression-ci")
    verts = band.get_paths()[0].vertices
    i = np.argmin(np.abs(verts[:, 0] - 30))
    se = np.sqrt(np.array([1, verts[i, 0]]) @ reg.vb @ np.array([1, verts[i, 0]]))
    fit_i = reg.coef[0] + reg.coef[1] * verts[i, 0]
    assert np.log(verts[i, 1]) == pytest.approx(fit_i - 1.959963984540054 * se, rel=1e-6) or \
        np.log(verts[i, 1]) == pytest.approx(fit_i + 1.959963984540054 * se, rel=1e-6)
    assert fig.axes[0].get_yscale() == "log"
    assert fig.axes[0].get_xlabel() == "ablat"
    # two moderators: choose the one on the x axis; the other is held at its mean
    reg2 = meta_regression(es, mods=BCG[["ablat", "year"]])
    fig2 = bubble(reg2, mod="year")
    (line2,) = by_gid(fig2, "regression-line")
    x2, y2 = line2.get_data()
    np.testing.assert_allclose(np.log(y2), reg2.coef[0] + reg2.coef[1] * BCG["ablat"].mean() + reg2.coef[2] * x2,
                               rtol=1e-10)
    with pytest.raises(DataError, match="moderator 'dose'"):
        bubble(reg2, mod="dose")


# --------------------------------------------------------------------------
# every plot: formats and palette
# --------------------------------------------------------------------------

def _all_plots():
    from mgmeta.analyses import egger_test, trim_and_fill
    from mgmeta.plots import cumulative_forest, forest, funnel, leave_one_out_forest, rob_summary
    from test_plots_support import rob_frame
    res = bcg_fit("RR")
    es = bcg_effects("RR")
    small = bcg_fit("RR", rows=slice(0, 8))
    return {
        "forest": lambda: forest(res, rob=rob_frame(list(res.labels)), arms=False),
        "funnel": lambda: funnel(trim_and_fill(res), contours=True, egger=egger_test(res)),
        "baujat": lambda: baujat(res),
        "labbe": lambda: labbe(res),
        "radial": lambda: radial(res),
        "drapery": lambda: drapery(res),
        "gosh": lambda: gosh(small.gosh()),
        "bubble": lambda: bubble(meta_regression(es, mods=BCG[["ablat"]])),
        "rob_summary": lambda: rob_summary(rob_frame(list(res.labels)), weights=res),
        "leave_one_out_forest": lambda: leave_one_out_forest(res),
        "cumulative_forest": lambda: cumulative_forest(res),
    }


@pytest.mark.parametrize("name", sorted(_all_plots()))
def test_every_plot_saves_to_png_svg_and_pdf(name, tmp_path):
    from mgmeta.plots import save
    fig = _all_plots()[name]()
    assert isinstance(fig, plt.Figure)
    paths = save(fig, tmp_path / name)
    assert [p.suffix for p in paths] == [".png", ".svg", ".pdf"]
    from PIL import Image
    with Image.open(paths[0]) as im:
        w, h = fig.get_size_inches()
        assert abs(im.size[0] - w * 300) <= 1 and abs(im.size[1] - h * 300) <= 1
    assert paths[1].read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert paths[2].read_bytes()[:5] == b"%PDF-"


def _colours(fig):
    """Every RGB colour the figure's artists paint with (fills, edges, lines, text), as hex."""
    from matplotlib.collections import Collection, PolyCollection
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.text import Text
    out = set()

    def add(c):
        arr = np.atleast_2d(np.asarray(c, dtype=float)) if not isinstance(c, str) else None
        if arr is None:
            if c != "none":
                out.add(to_hex(c))
            return
        for row in arr:
            if row.size >= 3 and (row.size < 4 or row[3] > 0):
                out.add(to_hex(row[:3]))

    for a in fig.findobj():
        if not a.get_visible():
            continue
        if isinstance(a, PolyCollection) and a.get_array() is not None:
            continue  # colour-mapped (GOSH hexbin: one sequential hue)
        if isinstance(a, Line2D):
            if a.get_linestyle() not in ("None", "none", ""):
                add(a.get_color())
            if a.get_marker() not in (None, "None", "none", ""):
                add(a.get_markerfacecolor())
        elif isinstance(a, Collection):
            add(a.get_facecolor())
            add(a.get_edgecolor())
        elif isinstance(a, Patch):
            if a.get_fill():
                add(a.get_facecolor())
        elif isinstance(a, Text) and a.get_text().strip():
            add(a.get_color())
    return out


@pytest.mark.parametrize("name", sorted(_all_plots()))
def test_every_plot_paints_only_okabe_ito_colours_and_greys(name):
    from matplotlib.colors import to_rgb
    from mgmeta.plots import style
    allowed = {c.lower() for c in style.OKABE_ITO.values()}
    for hexc in _colours(_all_plots()[name]()):
        r, g, b = to_rgb(hexc)
        grey = max(r, g, b) - min(r, g, b) < 1e-6
        assert grey or hexc.lower() in allowed, f"{name}: colour {hexc} is neither Okabe-Ito nor grey"
