"""Funnel plots: points at (effect, SE) on a reversed SE axis, pseudo-CI and significance contours,
trim-and-fill studies hollow, Egger's line (BCG trials, Colditz et al. 1994)."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from scipy import stats
from test_plots_support import bcg_fit, by_gid, overlapping_texts, to_gallery

import mgmeta
from mgmeta.analyses import egger_test, trim_and_fill
from mgmeta.errors import DataError
from mgmeta.plots import funnel

Z95 = stats.norm.isf(0.025)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_points_sit_at_effect_and_standard_error_on_a_reversed_axis():
    res = bcg_fit("RR")
    fig = funnel(res)
    to_gallery(fig, "funnel_bcg")
    (pts,) = by_gid(fig, "studies")
    off = np.asarray(pts.get_offsets())
    np.testing.assert_allclose(off[:, 0], np.exp(res.yi), rtol=1e-12)
    np.testing.assert_allclose(off[:, 1], np.sqrt(res.vi), rtol=1e-12)
    ax = pts.axes
    lo, hi = ax.get_ylim()
    assert lo > hi == 0  # standard error grows downwards, 0 at the top
    assert lo >= np.sqrt(res.vi).max()
    assert ax.get_xscale() == "log"
    # pseudo 95% CI: estimate ± 1.96 se, meeting at the estimate at se = 0
    lines = by_gid(fig, "pseudo-ci")
    assert len(lines) == 2
    for line, sign in zip(lines, (-1, 1)):
        x, y = line.get_data()
        np.testing.assert_allclose(np.log(x), res.estimate + sign * Z95 * y, rtol=1e-10, atol=1e-12)
    (est,) = by_gid(fig, "estimate-line")
    assert np.allclose(est.get_xdata(), np.exp(res.estimate))
    assert not overlapping_texts(fig)


def test_contour_enhanced_regions_are_significance_bands_around_the_null():
    res = bcg_fit("OR")
    fig = funnel(res, contours=True)
    to_gallery(fig, "funnel_contours")
    for j, p in enumerate((0.10, 0.05, 0.01)):
        polys = by_gid(fig, f"contour-{j}")
        assert len(polys) == 2
        z = stats.norm.isf(p / 2)
        for poly in polys:
            xy = poly.get_xy()
            # the inner edge runs from (null, 0) to (z * se_max on the log scale, se_max)
            se_max = xy[:, 1].max()
            edge = [pt for pt in xy if pt[1] == se_max and abs(abs(np.log(pt[0])) - z * se_max) < 1e-9]
            assert edge, f"no vertex at z = {z:.3f} for p = {p}"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:4] == ["p > 0.1", "0.05 < p < 0.1", "0.01 < p < 0.05", "p < 0.01"]
    # other cut-offs
    fig2 = funnel(res, contours=[0.05, 0.001])
    assert len(by_gid(fig2, "contour-1")) == 2 and not by_gid(fig2, "contour-2")
    with pytest.raises(DataError, match="contour"):
        funnel(res, contours=[1.5])


def test_trim_and_fill_studies_are_hollow_and_both_estimates_shown():
    # small studies with larger benefits: an asymmetric funnel (11 synthetic log odds ratios)
    sei = np.array([0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6])
    yi = -0.3 - 1.2 * sei + np.array([0.02, -0.03, 0.05, -0.02, 0.04, -0.05, 0.06, -0.04, 0.03, -0.06, 0.05])
    res = mgmeta.meta_analysis(yi, sei ** 2, measure="OR", labels=[f"Study {i + 1}" for i in range(11)])
    tf = trim_and_fill(res)
    assert tf.k0 == 5 and tf.side == "right"
    fig = funnel(tf, labels=True)
    to_gallery(fig, "funnel_trim_and_fill")
    (obs,) = by_gid(fig, "studies")
    (fill,) = by_gid(fig, "filled-studies")
    assert len(obs.get_offsets()) == res.k
    assert len(fill.get_offsets()) == tf.k0
    filled_y = np.asarray(tf.result.yi)[tf.filled]
    np.testing.assert_allclose(np.sort(np.asarray(fill.get_offsets())[:, 0]), np.sort(np.exp(filled_y)), rtol=1e-12)
    # hollow: white face, dark edge
    assert tuple(fill.get_facecolor()[0]) == to_rgba("white")
    assert fill.get_edgecolor()[0][3] == 1.0
    (adj,) = by_gid(fig, "estimate-line")
    (orig,) = by_gid(fig, "original-estimate-line")
    assert np.allclose(adj.get_xdata(), np.exp(tf.result.estimate))
    assert np.allclose(orig.get_xdata(), np.exp(res.estimate))
    assert by_gid(fig, "point-label")


def test_egger_line_is_the_fitted_regression_on_the_standard_error():
    res = bcg_fit("RR")
    eg = egger_test(res)
    fig = funnel(res, egger=eg, contours=True)
    to_gallery(fig, "funnel_egger")
    (line,) = by_gid(fig, "egger-line")
    x, se = line.get_data()
    np.testing.assert_allclose(np.log(x), eg.coef[0] + eg.coef[1] * se, rtol=1e-10, atol=1e-12)
    eg_vi = egger_test(res, predictor="vi")
    (curve,) = by_gid(funnel(res, egger=eg_vi), "egger-line")
    x, se = curve.get_data()
    np.testing.assert_allclose(np.log(x), eg_vi.coef[0] + eg_vi.coef[1] * se ** 2, rtol=1e-10, atol=1e-12)
    (tup,) = by_gid(funnel(res, egger=(0.1, -2.0)), "egger-line")
    x, se = tup.get_data()
    np.testing.assert_allclose(np.log(x), 0.1 - 2.0 * se, rtol=1e-12)


def test_linear_axis_for_differences_and_bad_input():
    res = bcg_fit("RD")
    fig = funnel(res, legend=False)
    (pts,) = by_gid(fig, "studies")
    assert pts.axes.get_xscale() == "linear"
    np.testing.assert_allclose(np.asarray(pts.get_offsets())[:, 0], res.yi, rtol=1e-12)
    assert pts.axes.get_legend() is None
    with pytest.raises(DataError, match="funnel\\(\\) needs"):
        funnel("not a fit")
