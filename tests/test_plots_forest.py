"""Forest plots: what is drawn equals what the fitted result holds.

Checked on the BCG trials (Colditz et al. 1994): one row per study with its label, whisker ends at
the study CIs (display scale), squares sized by weight, the diamond spanning the pooled CI, the
prediction-interval bar, printed weights summing to 100 %, log axis for ratio measures, arrows for
CIs off the axis, subgroups (one with a single study), k = 1, long labels, sorting, per-arm data,
risk-of-bias dots, narrow (3.5 in) figures, no overlapping text, and saving to PNG/SVG/PDF.
"""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import importlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_plots_support import (
    BCG,
    bcg_effects,
    bcg_fit,
    by_gid,
    inside_figure,
    overlapping_texts,
    panel,
    parse_num,
    rob_frame,
    texts,
    to_gallery,
)

import mgmeta
from mgmeta.errors import DataError
from mgmeta.plots import cumulative_forest, forest, leave_one_out_forest, style

forest_module = importlib.import_module("mgmeta.plots.forest")
Z95 = stats.norm.isf(0.025)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def study_cis(res):
    se = np.sqrt(res.vi)
    return np.exp(res.yi - Z95 * se), np.exp(res.yi + Z95 * se)


def whiskers(fig):
    (coll,) = by_gid(fig, "study-ci")
    segs = coll.get_segments()
    return np.array([[s[0][0], s[1][0], s[0][1]] for s in segs])  # x0, x1, y


def squares_and_whiskers_in_points(fig, gid="study-square"):
    """Per drawn study (top to bottom): square side, whisker left end, centre and right end, in points."""
    ax = panel(fig)
    (sq,) = by_gid(fig, gid)
    side = np.sqrt(sq.get_sizes())
    off = np.asarray(sq.get_offsets())
    w = whiskers(fig)
    w = w[np.argsort(w[:, 2])]
    off = off[np.argsort(off[:, 1])]
    to_pt = 72.0 / fig.dpi
    x0 = ax.transData.transform(np.column_stack([w[:, 0], w[:, 2]]))[:, 0] * to_pt
    x1 = ax.transData.transform(np.column_stack([w[:, 1], w[:, 2]]))[:, 0] * to_pt
    xc = ax.transData.transform(off)[:, 0] * to_pt
    return side[np.argsort(np.asarray(sq.get_offsets())[:, 1])], x0, xc, x1


def label_rows(fig, gid="study-label"):
    return [(t.get_text(), t.get_position()[1]) for t in by_gid(fig, gid)]


# --------------------------------------------------------------------------
# one analysis
# --------------------------------------------------------------------------

def test_forest_draws_every_study_with_its_ci_and_weight():
    res = bcg_fit("RR")
    fig = forest(res, xlim=(0.05, 10))
    to_gallery(fig, "forest_bcg_rr")
    # one labelled row per study, in input order
    rows = label_rows(fig)
    assert [r[0] for r in rows] == list(res.labels)
    ys = [r[1] for r in rows]
    assert ys == sorted(ys)
    # whisker ends are the study CIs on the display scale (all inside 0.05 .. 10 here)
    lo, hi = study_cis(res)
    w = whiskers(fig)
    assert len(w) == res.k
    order = np.argsort(w[:, 2])
    np.testing.assert_allclose(w[order, 0], lo, rtol=1e-12)
    np.testing.assert_allclose(w[order, 1], hi, rtol=1e-12)
    # whiskers sit on their label's row
    np.testing.assert_allclose(np.sort(w[:, 2]), ys)
    # squares at the estimates; area proportional to the weight, unless capped at 70% of the CI
    (sq,) = by_gid(fig, "study-square")
    off = sq.get_offsets()
    np.testing.assert_allclose(np.asarray(off[:, 0]), np.exp(res.yi), rtol=1e-12)
    side, x0, _, x1 = squares_and_whiskers_in_points(fig)
    capped = np.isclose(side, 0.7 * (x1 - x0), rtol=1e-6)
    assert (~capped).sum() >= 2
    area = side ** 2
    ratio = area[~capped] / res.weights[~capped]
    np.testing.assert_allclose(ratio / ratio.max(), 1.0, rtol=1e-9)
    assert np.all(area[capped] / res.weights[capped] < ratio.max())
    # printed weights: one per study, summing to 100 % (to rounding), and the total row says 100.0%
    wt = texts(fig, "weight")
    assert len(wt) == res.k + 1
    study_w = [parse_num(t) for t in wt[:-1]]
    np.testing.assert_allclose(study_w, res.weights, atol=0.05 + 1e-9)
    assert abs(sum(study_w) - 100) <= 0.05 * res.k
    assert wt[-1] == "100.0%"
    # ratio measure: logarithmic axis, readable ticks, line of no effect at 1
    ax = panel(fig)
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in labels and all("e" not in s and "^" not in s for s in labels)
    (null,) = by_gid(fig, "null-line")
    assert np.allclose([p[0][0] for p in null.get_segments()], 1.0)
    assert not overlapping_texts(fig)
    assert not inside_figure(fig)


@pytest.mark.parametrize("measure", ["OR", "RR"])
def test_every_whisker_shows_on_both_sides_of_its_square(measure):
    """dat.bcg: uncapped squares hid the whiskers of 4 of 13 studies; the side is now at most 70% of the CI."""
    fig = forest(bcg_fit(measure))
    side, x0, xc, x1 = squares_and_whiskers_in_points(fig)
    assert len(side) == 13
    assert np.all(xc - side / 2 - x0 >= 0.15 * (x1 - x0) - 1e-6)
    assert np.all(x1 - (xc + side / 2) >= 0.15 * (x1 - x0) - 1e-6)
    # two studies: the same holds
    fig = forest(bcg_fit(measure, rows=[3, 7]))
    side, x0, xc, x1 = squares_and_whiskers_in_points(fig)
    assert len(side) == 2 and np.all(side <= 0.7 * (x1 - x0) + 1e-6)


def test_diamond_spans_the_pooled_ci_and_bar_the_prediction_interval():
    res = bcg_fit("RR")
    fig = forest(res)
    (dia,) = by_gid(fig, "summary-diamond")
    xy = dia.get_xy()
    assert xy[:, 0].min() == pytest.approx(np.exp(res.ci_lower), rel=1e-12)
    assert xy[:, 0].max() == pytest.approx(np.exp(res.ci_upper), rel=1e-12)
    top = xy[np.argmin(xy[:, 1]), 0]
    assert top == pytest.approx(np.exp(res.estimate), rel=1e-12)
    (pi,) = by_gid(fig, "prediction-interval")
    x0 = pi.get_x()
    assert x0 == pytest.approx(np.exp(res.pi_lower), rel=1e-12)
    assert x0 + pi.get_width() == pytest.approx(np.exp(res.pi_upper), rel=1e-12)
    # the effect column prints the pooled estimate and CI, exponentiated
    est = texts(fig, "effect-est")
    lo = texts(fig, "effect-lo")
    hi = texts(fig, "effect-hi")
    assert est[-1] == f"{np.exp(res.estimate):.2f}"
    assert lo[-2] == f"[{np.exp(res.ci_lower):.2f},"
    assert hi[-2] == f"{np.exp(res.ci_upper):.2f}]"
    # prediction interval row: [lo, hi]
    assert lo[-1] == f"[{np.exp(res.pi_lower):.2f},"
    assert hi[-1] == f"{np.exp(res.pi_upper):.2f}]"
    # per-study text equals the study CI
    slo, shi = study_cis(res)
    assert [parse_num(s) for s in est[: res.k]] == pytest.approx(np.round(np.exp(res.yi), 2), abs=1e-9)
    assert [parse_num(s) for s in lo[: res.k]] == pytest.approx(np.round(slo, 2), abs=1e-9)
    assert [parse_num(s) for s in hi[: res.k]] == pytest.approx(np.round(shi, 2), abs=1e-9)
    # heterogeneity and overall test lines
    het = texts(fig, "heterogeneity")
    assert len(het) == 1
    assert f"I² = {res.i2:.0f}%" in het[0] and f"Q = {res.q:.2f}, df = {res.k - 1}" in het[0]
    assert f"τ² (REML) = {res.tau2:.3f}" in het[0] and "p < 0.001" in het[0]
    foot = texts(fig, "footnote")
    assert any(t.startswith("Test for overall effect: z = −") for t in foot)


def test_cis_off_the_axis_end_in_arrows():
    res = bcg_fit("RR")
    fig = forest(res, xlim=(0.25, 2))
    to_gallery(fig, "forest_arrows")
    lo, hi = study_cis(res)
    w = whiskers(fig)
    # drawn ends are clipped at the limits
    drawn = w[np.argsort(w[:, 2])]
    inside = np.maximum(lo, 0.25) < np.minimum(hi, 2.0)
    np.testing.assert_allclose(drawn[:, 0], np.maximum(lo, 0.25)[inside], rtol=1e-12)
    np.testing.assert_allclose(drawn[:, 1], np.minimum(hi, 2.0)[inside], rtol=1e-12)
    arrows = by_gid(fig, "ci-arrow")
    n_left = sum(c.get_offsets().shape[0] for c in arrows if np.allclose(c.get_offsets()[:, 0], 0.25))
    n_right = sum(c.get_offsets().shape[0] for c in arrows if np.allclose(c.get_offsets()[:, 0], 2.0))
    # studies, and the prediction interval, that run off either side get an arrow
    assert n_left == int(np.sum(lo < 0.25)) + int(np.exp(res.pi_lower) < 0.25)
    assert n_right == int(np.sum(hi > 2.0)) + int(np.exp(res.pi_upper) > 2.0)
    assert n_left > 0 and n_right > 0
    assert panel(fig).get_xlim() == pytest.approx((0.25, 2.0))


def test_automatic_limits_are_symmetric_nice_and_hold_the_summaries():
    res = bcg_fit("OR")
    fig = forest(res)
    lo, hi = panel(fig).get_xlim()
    assert lo * hi == pytest.approx(1.0)  # symmetric about 1 on the log scale
    assert lo <= np.exp(res.pi_lower) and hi >= np.exp(res.pi_upper)
    mant = hi / 10 ** np.floor(np.log10(hi))
    assert round(mant, 6) in (1.0, 2.0, 5.0)
    fig2 = forest(res, symmetric=False)
    lo2, hi2 = panel(fig2).get_xlim()
    assert lo2 * hi2 != pytest.approx(1.0)


def test_linear_axis_and_arm_columns_for_a_mean_difference():
    rng = np.random.default_rng(2)
    k = 6
    n1, n2 = rng.integers(15, 60, k), rng.integers(15, 60, k)
    m1, m2 = rng.normal(3.0, 0.6, k), rng.normal(4.0, 0.6, k)
    sd1, sd2 = rng.uniform(1.5, 2.5, k), rng.uniform(1.5, 2.5, k)
    es = mgmeta.effect_sizes("MD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2,
                             labels=[f"Trial {chr(65 + i)}" for i in range(k)])
    res = mgmeta.meta_analysis(es, method="DL")
    fig = forest(res, arm_labels=("Magnesium", "Placebo"), favours=("magnesium", "placebo"))
    to_gallery(fig, "forest_md_arms")
    ax = panel(fig)
    assert ax.get_xscale() == "linear"
    w = whiskers(fig)
    order = np.argsort(w[:, 2])
    np.testing.assert_allclose(w[order, 0], res.yi - Z95 * np.sqrt(res.vi), rtol=1e-12)
    assert [parse_num(t) for t in texts(fig, "cell-n1")[:k]] == list(n1)
    assert [parse_num(t) for t in texts(fig, "cell-m2")[:k]] == pytest.approx(np.round(m2, 2), abs=1e-9)
    # the total row sums the arm sizes
    assert parse_num(texts(fig, "cell-n1")[-1]) == n1.sum()
    headers = texts(fig, "header")
    assert {"Magnesium", "Placebo", "Mean", "SD", "Total", "Mean difference"} <= set(headers)
    assert "Favours placebo →" in texts(fig, "favours-right")
    assert not overlapping_texts(fig)


def test_binary_arm_columns_show_events_and_totals():
    res = bcg_fit("OR")
    fig = forest(res)
    assert [parse_num(t) for t in texts(fig, "cell-e1")[:-1]] == list(BCG["tpos"])
    assert [parse_num(t) for t in texts(fig, "cell-n1")[:-1]] == list(BCG["tpos"] + BCG["tneg"])
    assert [parse_num(t) for t in texts(fig, "cell-e2")[:-1]] == list(BCG["cpos"])
    assert parse_num(texts(fig, "cell-n2")[-1]) == (BCG["cpos"] + BCG["cneg"]).sum()
    assert "Events" in texts(fig, "header")
    fig2 = forest(res, arms=False)
    assert not texts(fig2, "cell-e1")


# --------------------------------------------------------------------------
# subgroups
# --------------------------------------------------------------------------

def _subgroups():
    es = bcg_effects("RR")
    alloc = BCG["alloc"].to_numpy()
    groups = {}
    for g in ("random", "alternate", "systematic"):
        groups[g.capitalize()] = mgmeta.meta_analysis(es.loc[alloc == g], method="REML")
    return groups, mgmeta.meta_analysis(es, method="REML")


def test_subgroups_headers_diamonds_and_test_for_differences():
    groups, overall = _subgroups()
    fig = forest(groups, overall=overall, subgroup_test=(1.86, 2, 0.394), sort_by="year")
    to_gallery(fig, "forest_subgroups")
    assert texts(fig, "group-label") == ["Random", "Alternate", "Systematic"]
    # subgroup diamonds span each subgroup's pooled CI
    dias = by_gid(fig, "subgroup-diamond")
    assert len(dias) == 3
    for d, fit in zip(sorted(dias, key=lambda p: p.get_xy()[:, 1].mean()), groups.values()):
        xy = d.get_xy()
        assert xy[:, 0].min() == pytest.approx(np.exp(fit.ci_lower), rel=1e-12)
        assert xy[:, 0].max() == pytest.approx(np.exp(fit.ci_upper), rel=1e-12)
    (dia,) = by_gid(fig, "summary-diamond")
    assert dia.get_xy()[:, 0].min() == pytest.approx(np.exp(overall.ci_lower), rel=1e-12)
    # weights are those of the overall model; subtotals are their sums; all sum to 100
    wt = [parse_num(t) for t in texts(fig, "weight")]
    assert wt[-1] == 100.0
    assert len(wt) == overall.k + 3 + 1
    labels = texts(fig, "study-label")
    lookup = dict(zip(overall.labels, overall.weights))
    printed = dict(zip(labels, [parse_num(t) for t in _study_weight_texts(fig)]))
    for lab, w in printed.items():
        assert w == pytest.approx(lookup[lab], abs=0.05 + 1e-9)
    assert abs(sum(printed.values()) - 100) <= 0.05 * overall.k
    # sort_by="year" within subgroups
    years = dict(zip(BCG["study"], BCG["year"]))
    sub = [lab for lab in labels if lab in groups["Random"].labels]
    assert [years[s] for s in sub] == sorted(years[s] for s in sub)
    foot = texts(fig, "footnote")
    assert "Test for subgroup differences: Q = 1.86, df = 2 (p = 0.39)" in foot
    assert sum(t.startswith("Test for overall effect") for t in foot) == 4
    assert not overlapping_texts(fig)


def _study_weight_texts(fig):
    """Weight texts on study rows (same y as a study label)."""
    ys = {round(t.get_position()[1], 6) for t in by_gid(fig, "study-label")}
    return [t.get_text() for t in by_gid(fig, "weight") if round(t.get_position()[1], 6) in ys]


def test_subgroup_with_one_study_and_k_equal_one():
    es = bcg_effects("RR")
    with pytest.warns(mgmeta.MgmetaWarning, match="only one study"):
        single = mgmeta.meta_analysis(es.iloc[[0]])
    groups = {"Several": mgmeta.meta_analysis(es.iloc[1:6]), "One": single}
    fig = forest(groups)
    to_gallery(fig, "forest_subgroup_single")
    assert any(t.replace("\u00a0", " ").startswith("Subtotal (k = 1)") for t in texts(fig, "summary-label"))
    het = texts(fig, "heterogeneity")
    assert "Heterogeneity: not applicable (one study)" in het
    dias = by_gid(fig, "subgroup-diamond")
    one = max(dias, key=lambda p: p.get_xy()[:, 1].mean())
    assert one.get_xy()[:, 0].min() == pytest.approx(np.exp(single.ci_lower), rel=1e-12)
    # without an overall model: each subgroup's own weights, subtotals 100 %
    assert texts(fig, "weight").count("100.0%") == 3  # the single study and both subtotals
    # the last subgroup's own lines stay under its subtotal, above the axis, like the first subgroup's
    fig.canvas.draw()
    axis_bottom = one.axes.get_window_extent().y0
    het_y = [t.get_transform().transform(t.get_position())[1] for t in by_gid(fig, "heterogeneity")]
    assert len(het_y) == 2 and min(het_y) > axis_bottom
    # k = 1 on its own: one row, a diamond equal to the study CI, no prediction interval
    fig1 = forest(single)
    assert texts(fig1, "study-label") == [single.labels[0]]
    assert not by_gid(fig1, "prediction-interval")
    (d,) = by_gid(fig1, "summary-diamond")
    lo, hi = study_cis(single)
    assert d.get_xy()[:, 0].min() == pytest.approx(lo[0], rel=1e-12)
    assert d.get_xy()[:, 0].max() == pytest.approx(hi[0], rel=1e-12)


def test_subgroup_result_object_is_accepted():
    groups, overall = _subgroups()

    class Sub:  # the shape of mgmeta.subgroup_analysis' result as far as the plot reads it
        results = groups
        q_between, df, pvalue = 3.2, 2, 0.2019

    fig = forest(Sub(), overall=overall)
    assert "Test for subgroup differences: Q = 3.20, df = 2 (p = 0.20)" in texts(fig, "footnote")


# --------------------------------------------------------------------------
# labels, sorting, risk of bias, widths
# --------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:forest plot .* no room for the column:mgmeta.errors.MgmetaWarning")
def test_long_labels_wrap_without_overlap():
    es = bcg_effects("RR")
    labels = list(es["study"])
    labels[2] = "Rosenthal, Loewinsohn, Graham, Liveright, Thorne and Johnson, Chicago infants cohort 1960"
    es = es.assign(study=labels)
    res = mgmeta.meta_analysis(es)
    for width in (7.0, 3.5):
        fig = forest(res, width=width)
        lab = [t for t in by_gid(fig, "study-label") if t.get_text().startswith("Rosenthal,")]
        assert len(lab) == 1 and "\n" in lab[0].get_text()
        assert not overlapping_texts(fig)
        assert not inside_figure(fig)
        to_gallery(fig, f"forest_long_labels_{width:g}in")


def test_sorting_by_weight_effect_year_and_label():
    res = bcg_fit("RR")
    lab = np.array(res.labels)
    assert texts(forest(res, sort_by="weight"), "study-label") == list(lab[np.argsort(-res.weights, kind="stable")])
    assert texts(forest(res, sort_by="effect"), "study-label") == list(lab[np.argsort(res.yi, kind="stable")])
    yrs = BCG["year"].to_numpy()
    assert texts(forest(res, sort_by="year"), "study-label") == list(lab[np.argsort(yrs, kind="stable")])
    assert texts(forest(res, sort_by="year", descending=True), "study-label") == \
        list(lab[np.argsort(-yrs, kind="stable")])
    assert texts(forest(res, sort_by="label"), "study-label") == sorted(lab, key=str.lower)
    with pytest.raises(DataError, match="sort_by"):
        forest(res, sort_by="size")
    nolab = mgmeta.meta_analysis(res.yi, res.vi)
    with pytest.raises(DataError, match="no study has a year"):
        forest(nolab, sort_by="year")
    # studies without a year go last, with a warning naming them
    labs = list(res.labels)
    labs[0] = "Aronson (year not shown)"
    partly = mgmeta.meta_analysis(res.yi, res.vi, labels=labs, measure="RR")
    with pytest.warns(mgmeta.MgmetaWarning, match="no year for 1 study .'Aronson \\(year not shown\\)'"):
        got = texts(forest(partly, sort_by="year"), "study-label")
    assert got[-1] == "Aronson (year not shown)"
    with pytest.warns(mgmeta.MgmetaWarning):
        assert texts(forest(partly, sort_by="year", descending=True), "study-label")[-1] == labs[0]
    # years given explicitly
    got = texts(forest(partly, sort_by="year", years=dict(zip(labs, BCG["year"]))), "study-label")
    assert got == list(np.array(labs)[np.argsort(yrs, kind="stable")])


@pytest.mark.filterwarnings("ignore:forest plot .* no room for the column:mgmeta.errors.MgmetaWarning")
def test_risk_of_bias_dots_follow_the_judgements():
    res = bcg_fit("RR")
    rob = rob_frame(list(res.labels))
    fig = forest(res, rob=rob, sort_by="weight")
    to_gallery(fig, "forest_rob")
    doms = ["rob_randomization", "rob_deviations", "rob_missing", "rob_measurement", "rob_selection",
            "rob_overall"]
    order = np.argsort(-res.weights, kind="stable")
    for j, col in enumerate(doms):
        dots = [d for d in by_gid(fig, f"rob-dot-{j}") if hasattr(d, "get_facecolor")]
        assert len(dots) == res.k
        colours = [tuple(np.round(d.get_facecolor()[0], 4)) for d in sorted(dots, key=lambda d: d.get_offsets()[0][1])]
        from matplotlib.colors import to_rgba
        expected = [tuple(np.round(to_rgba(style.ROB_COLORS[rob[col].iloc[i]]), 4)) for i in order]
        assert colours == expected
        glyphs = [t.get_text() for t in sorted(by_gid(fig, f"rob-dot-{j}-glyph"), key=lambda t: t.get_position()[1])]
        assert glyphs == [style.ROB_SYMBOLS[rob[col].iloc[i]] for i in order]
    assert {"D1", "D2", "D3", "D4", "D5", "O"} <= set(texts(fig, "header"))
    assert "D1 randomization process" in texts(fig, "rob-legend")[0]
    assert not overlapping_texts(fig)
    with pytest.raises(DataError, match="unknown risk-of-bias judgement 'maybe'"):
        forest(res, rob=rob.assign(rob_missing=["maybe"] * res.k))
    with pytest.warns(mgmeta.MgmetaWarning, match="no risk-of-bias judgements for 'Aronson 1948'"):
        forest(res, rob=rob.iloc[1:])


def test_journal_column_width_keeps_text_legible_and_apart():
    groups, overall = _subgroups()
    with pytest.warns(mgmeta.MgmetaWarning, match="no room for the column.*'Experimental', 'Control', 'Weight'"):
        fig = forest(groups, overall=overall, subgroup_test=(1.86, 2, 0.394), width=3.5)
    to_gallery(fig, "forest_subgroups_3.5in")
    assert fig.get_size_inches()[0] == pytest.approx(3.5)
    sizes = {t.get_fontsize() for t in by_gid(fig, "study-label")}
    assert min(sizes) >= 7.0
    assert not overlapping_texts(fig)
    assert not inside_figure(fig)
    # the panel keeps at least an inch
    ax = panel(fig)
    assert ax.get_position().width * 3.5 >= 1.0


@pytest.mark.filterwarnings("ignore:forest plot .* no room for the column:mgmeta.errors.MgmetaWarning")
def test_height_grows_with_the_number_of_rows():
    # (a short summary label: a long one may take two lines in one layout and one in the other)
    h5 = forest(bcg_fit("RR", rows=slice(0, 5)), fontsize=7.5, summary_label="Total").get_size_inches()[1]
    h13 = forest(bcg_fit("RR"), fontsize=7.5, summary_label="Total").get_size_inches()[1]
    row = 7.5 * 1.6 / 72
    assert h13 - h5 == pytest.approx(8 * row, rel=1e-6)


def test_saves_to_png_svg_and_pdf(tmp_path):
    res = bcg_fit("RR")
    fig = forest(res)
    paths = mgmeta.plots.save(fig, tmp_path / "forest", formats=("png", "svg", "pdf"))
    assert [p.suffix for p in paths] == [".png", ".svg", ".pdf"]
    from PIL import Image
    with Image.open(paths[0]) as im:
        assert im.size[0] == round(7 * 300)
        assert im.info.get("dpi", (300, 300))[0] == pytest.approx(300, abs=1)
    svg = paths[1].read_text(encoding="utf-8")
    assert "Aronson 1948" in svg and 'id="summary-diamond' in svg
    assert paths[2].read_bytes()[:5] == b"%PDF-"


@pytest.mark.filterwarnings("ignore:forest plot .* no room for the column:mgmeta.errors.MgmetaWarning")
def test_plot_forest_method_and_ax_argument():
    res = bcg_fit("RR")
    fig = res.plot_forest(width=5)
    assert fig.get_size_inches()[0] == pytest.approx(5)
    outer_fig, ax = plt.subplots(figsize=(8, 5))
    got = forest(res, ax=ax)
    assert got is outer_fig
    assert len(whiskers(got)) == res.k


def test_mantel_haenszel_fit_with_a_study_not_estimable():
    ai, bi = [0, 4, 10, 7], [20, 16, 30, 25]
    ci, di = [0, 9, 15, 11], [22, 11, 25, 20]
    labs = ["Zero 2001", "Alpha 2003", "Beta 2005", "Gamma 2008"]
    with pytest.warns(mgmeta.MgmetaWarning):
        mh = mgmeta.binary.mantel_haenszel(ai, bi, ci, di, measure="OR", labels=labs)
    fig = forest(mh)
    to_gallery(fig, "forest_mantel_haenszel")
    assert texts(fig, "study-label") == labs
    assert texts(fig, "effect-note") == ["not estimable"]
    assert len(whiskers(fig)) == 3
    assert texts(fig, "summary-label") == ["Mantel-Haenszel model"]
    assert "MH, common, 95% CI" in texts(fig, "header")
    (dia,) = by_gid(fig, "summary-diamond")
    assert dia.get_xy()[:, 0].min() == pytest.approx(np.exp(mh.ci_lower), rel=1e-12)
    assert not by_gid(fig, "prediction-interval")


def test_invalid_arguments_raise_data_errors():
    res = bcg_fit("RR")
    with pytest.raises(DataError, match="xlim"):
        forest(res, xlim=(0, 2))
    with pytest.raises(DataError, match="columns"):
        forest(res, columns="some")
    with pytest.raises(DataError, match="prediction=True"):
        forest(bcg_fit("RR", method="EE"), prediction=True)
    with pytest.raises(DataError, match="forest\\(\\) needs"):
        forest([1, 2, 3])
    with pytest.raises(DataError, match="arms=True"):
        forest(mgmeta.meta_analysis(res.yi, res.vi, measure="RR"), arms=True)
    with pytest.raises(DataError, match="rob=True"):
        forest(res, rob=True)
    # columns="all" keeps every column (labels wrap) and says so when they cannot fit
    with pytest.raises(DataError, match="no room for its plot panel"):
        forest(bcg_fit("OR"), columns="all", width=3.5)
    fig = forest(bcg_fit("OR"), columns="all", width=7)
    assert texts(fig, "cell-e1") and texts(fig, "weight")


def test_equal_effects_model_has_no_prediction_interval_or_tau2():
    res = bcg_fit("RR", method="EE")
    fig = forest(res)
    assert not by_gid(fig, "prediction-interval")
    assert texts(fig, "summary-label") == ["Common-effect model"]
    assert "τ²" not in texts(fig, "heterogeneity")[0]
    assert "IV, common, 95% CI" in texts(fig, "header")


def test_hartung_knapp_prints_t_with_df():
    res = bcg_fit("RR", test="knha")
    fig = forest(res)
    assert any(t.startswith(f"Test for overall effect: t({res.k - 1}) = ") for t in texts(fig, "footnote"))


# --------------------------------------------------------------------------
# leave-one-out and cumulative forests
# --------------------------------------------------------------------------

def test_leave_one_out_forest_draws_the_sensitivity_table():
    res = bcg_fit("RR")
    loo = res.leave_one_out()
    fig = leave_one_out_forest(res)
    to_gallery(fig, "forest_leave_one_out")
    assert texts(fig, "study-label") == [f"Omitting {lab}" for lab in res.labels]
    w = whiskers(fig)
    order = np.argsort(w[:, 2])
    lo, hi = panel(fig).get_xlim()
    np.testing.assert_allclose(w[order, 0], np.maximum(np.exp(loo["ci_lower"]), lo), rtol=1e-12)
    np.testing.assert_allclose(w[order, 1], np.minimum(np.exp(loo["ci_upper"]), hi), rtol=1e-12)
    (pts,) = by_gid(fig, "study-point")
    np.testing.assert_allclose(np.sort(pts.get_offsets()[:, 0]), np.sort(np.exp(loo["estimate"])), rtol=1e-12)
    (dia,) = by_gid(fig, "summary-diamond")
    assert dia.get_xy()[:, 0].min() == pytest.approx(np.exp(res.ci_lower), rel=1e-12)
    i2 = texts(fig, "cell-i2")
    assert i2[:-1] == [f"{v:.0f}%" for v in loo["i2"]]
    assert i2[-1] == f"{res.i2:.0f}%"
    assert not overlapping_texts(fig)


def test_cumulative_forest_follows_the_order():
    res = bcg_fit("RR")
    order = list(np.argsort(BCG["year"].to_numpy(), kind="stable"))
    cum = res.cumulative(order=order)
    fig = cumulative_forest(res, order=order)
    to_gallery(fig, "forest_cumulative")
    labs = texts(fig, "study-label")
    assert labs[0] == res.labels[order[0]]
    assert labs[1:] == [f"+ {res.labels[i]}" for i in order[1:]]
    w = whiskers(fig)
    order_rows = np.argsort(w[:, 2])
    lo, hi = panel(fig).get_xlim()
    np.testing.assert_allclose(w[order_rows, 0], np.maximum(np.exp(cum["ci_lower"]), lo), rtol=1e-12)
    # the last step is the full model
    assert np.exp(cum["estimate"].iloc[-1]) == pytest.approx(np.exp(res.estimate), rel=1e-10)
    assert not overlapping_texts(fig)
    # a precomputed table works as well, and a table that does not fit is refused
    fig2 = cumulative_forest(res, cum)
    assert texts(fig2, "study-label") == labs
    with pytest.raises(DataError, match="lacks column"):
        leave_one_out_forest(res, pd.DataFrame({"estimate": res.yi}))


@pytest.mark.filterwarnings("ignore:forest plot .* no room for the column:mgmeta.errors.MgmetaWarning")
def test_internal_tick_choice_fits_the_panel():
    # narrow panels drop intermediate ticks instead of overlapping labels
    res = bcg_fit("RR")
    fig = forest(res, width=3.5, xlim=(0.01, 100))
    labels = [t.get_text() for t in panel(fig).get_xticklabels()]
    assert labels[0] == "0.01" and labels[-1] == "100" and "1" in labels
    assert not overlapping_texts(fig)
    assert forest_module._tick_label(0.05) == "0.05"


def test_subgroup_analysis_result_is_drawn_with_its_tests():
    from mgmeta.analyses import subgroup_analysis
    es = bcg_effects("RR")
    sub = subgroup_analysis(es, groups=BCG["alloc"].to_numpy())
    fig = forest(sub)
    to_gallery(fig, "forest_subgroup_analysis")
    assert texts(fig, "group-label") == list(sub.groups)
    dias = sorted(by_gid(fig, "subgroup-diamond"), key=lambda p: p.get_xy()[:, 1].mean())
    for d, g in zip(dias, sub.groups):
        assert d.get_xy()[:, 0].min() == pytest.approx(np.exp(sub.fits[g].ci_lower), rel=1e-12)
    (dia,) = by_gid(fig, "summary-diamond")
    assert dia.get_xy()[:, 0].max() == pytest.approx(np.exp(sub.overall.ci_upper), rel=1e-12)
    line = [t for t in texts(fig, "footnote") if t.startswith("Test for subgroup differences")]
    assert line == [f"Test for subgroup differences: Q = {sub.q_between:.2f}, df = {sub.df} "
                    f"({style.format_p(sub.pvalue)})"]
    printed = dict(zip(texts(fig, "study-label"), [parse_num(t) for t in _study_weight_texts(fig)]))
    assert printed == pytest.approx(dict(zip(sub.overall.labels, np.round(sub.overall.weights, 1))), abs=1e-9)


def test_mean_and_sd_columns_share_their_decimals():
    # Shahrami 2015 as in data/outcomes.csv (NRS at 1 h: 2.3 ± 1.9 vs 6.0 ± 2.4, 35 per arm) next to a made-up trial
    es = mgmeta.effect_sizes("MD", m1i=[2.3, 4.25], sd1i=[1.9, 2.0], n1i=[35, 20],
                             m2i=[6.0, 5.0], sd2i=[2.4, 2.5], n2i=[35, 20], labels=["Shahrami 2015", "Other"])
    fig = mgmeta.plots.forest(mgmeta.meta_analysis(es, method="EE"))
    try:
        assert texts(fig, "cell-m1")[:2] == ["2.30", "4.25"]
        assert texts(fig, "cell-m2")[:2] == ["6.00", "5.00"]
        assert texts(fig, "cell-s1")[:2] == ["1.9", "2.0"]
    finally:
        plt.close(fig)
