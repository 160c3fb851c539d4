"""Forest plots on the back-transformed scale of single-group measures (issue 15): ``forest(res, transf=...)``
draws proportions, correlations and rates in their own units; the printed numbers, whiskers, diamond and
prediction bar are the back-transformed values. Data: metadat's dat.pritz1997 (proportions), dat.molloy2014
(correlations) and dat.hart1999 (incidence rates), as stored in tests/reference/display.json.
"""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from test_plots_support import by_gid, overlapping_texts, panel, parse_num, texts

import mgmeta
from conftest import TOL_ITERATIVE, load_reference
from mgmeta import transforms
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.plots import cumulative_forest, forest, leave_one_out_forest, style

DISPLAY = load_reference("display.json")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _fit(case_id, method="REML"):
    case = next(c for c in DISPLAY["cases"] if c["id"] == f"{case_id}_{method}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)      # continuity correction of PLO's 0 cells
        es = mgmeta.effect_sizes(case["measure"], **{k: np.asarray(v, float) for k, v in case["inputs"].items()})
    return case, es, mgmeta.meta_analysis(es, method=method)


def _study_limits(res):
    z = 1.959963984540054
    se = np.sqrt(res.vi)
    return res.yi - z * se, res.yi + z * se


def _whiskers(fig):
    segs = by_gid(fig, "study-ci")[0].get_segments()
    return np.array([[s[0][0], s[-1][0]] for s in sorted(segs, key=lambda s: s[0][1])])


def _printed(fig, key):
    return [t for t in texts(fig, f"effect-{key}")]


@pytest.mark.parametrize("measure,fn,name", [("PLO", transforms.transf_ilogit, "Proportion"),
                                             ("ZCOR", transforms.transf_ztor, "Correlation"),
                                             ("IRLN", transforms.transf_exp, "Incidence rate")])
def test_studies_and_pooled_estimate_are_drawn_and_printed_back_transformed(measure, fn, name):
    case, _, res = _fit(measure)
    fig = forest(res)
    lo, hi = _study_limits(res)
    want = np.column_stack([fn(lo), fn(hi)])
    np.testing.assert_allclose(_whiskers(fig), want, rtol=1e-12)
    back = np.array([case["back"][k] for k in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub")])  # R predict(transf=)
    ests, los, his = _printed(fig, "est"), _printed(fig, "lo"), _printed(fig, "hi")
    # 2 decimals; small effects (incidence rates about 0.02 here) get enough for two significant figures
    d = 3 if measure == "IRLN" else 2
    study_est = [style.format_value(float(v), d) for v in fn(res.yi)]
    assert ests == study_est + [style.format_value(back[0], d)]
    assert los[:res.k] == ["[" + style.format_value(float(v), d) + "," for v in fn(lo)]
    assert his[:res.k] == [style.format_value(float(v), d) + "]" for v in fn(hi)]
    # the pooled diamond spans the back-transformed CI, with its tip at the estimate; the bar is the PI
    xs = by_gid(fig, "summary-diamond")[0].get_xy()[:, 0]
    np.testing.assert_allclose([xs.min(), xs.max()], back[1:3], rtol=TOL_ITERATIVE)
    assert np.isclose(xs, back[0], rtol=TOL_ITERATIVE).any()
    bar = by_gid(fig, "prediction-interval")[0]
    ax = panel(fig)
    x0, x1 = ax.get_xlim()
    got = np.clip([bar.get_x(), bar.get_x() + bar.get_width()], x0, x1)
    np.testing.assert_allclose(got, np.clip(back[3:5], x0, x1), rtol=TOL_ITERATIVE)
    assert ax.get_xscale() == "linear"
    assert texts(fig, "xlabel") == [name] and name in texts(fig, "header")
    assert (len(by_gid(fig, "null-line")) == 1) == (measure == "ZCOR")       # r = 0; none for a proportion/rate
    assert not overlapping_texts(fig)


def test_pft_studies_use_their_own_n_and_the_pooled_estimate_the_harmonic_mean():
    case, es, res = _fit("PFT")
    fig = forest(res, digits=4)
    xi, ni = np.asarray(case["inputs"]["xi"], float), np.asarray(case["inputs"]["ni"], float)
    est = [parse_num(t) for t in _printed(fig, "est")]
    np.testing.assert_allclose(est[:-1], np.round(xi / ni, 4), atol=1e-12)     # the observed proportions
    assert _printed(fig, "est")[-1] == style.format_value(case["back"]["pred"], 4)
    xs = by_gid(fig, "summary-diamond")[0].get_xy()[:, 0]
    # R: predict(res, transf = transf.ipft.hm, targs = list(ni = dat$ni))
    np.testing.assert_allclose([xs.min(), xs.max()], [case["back"]["ci_lb"], case["back"]["ci_ub"]],
                               rtol=TOL_ITERATIVE)


def test_refline_number_draws_the_reference_line_on_the_display_scale():
    _, _, res = _fit("PLO")
    fig = forest(res, refline=0.5, favours=("low", "high"))
    line = by_gid(fig, "null-line")
    assert len(line) == 1
    assert np.allclose([seg[0][0] for seg in line[0].get_segments()], 0.5)
    assert by_gid(fig, "estimate-line")                                       # the dotted pooled-estimate line stays
    np.testing.assert_allclose(by_gid(fig, "estimate-line")[0].get_segments()[0][0][0],
                               transforms.transf_ilogit(res.estimate), rtol=1e-12)


def test_transf_none_shows_the_analysis_scale():
    _, _, res = _fit("PLO")
    fig = forest(res, transf=None)
    lo, hi = _study_limits(res)
    np.testing.assert_allclose(_whiskers(fig), np.column_stack([lo, hi]), rtol=1e-12)
    assert len(by_gid(fig, "null-line")) == 1
    es = mgmeta.effect_sizes("OR", ai=[4, 6, 3], n1i=[123, 306, 231], ci=[11, 29, 11], n2i=[139, 303, 220])
    fig = forest(mgmeta.meta_analysis(es), transf=None)
    assert panel(fig).get_xscale() == "linear" and texts(fig, "xlabel") == ["Log odds ratio"]
    assert panel(forest(mgmeta.meta_analysis(es))).get_xscale() == "log"     # the default keeps the OR axis


def test_a_function_transforms_every_number_and_a_decreasing_one_keeps_limits_in_order():
    es = mgmeta.effect_sizes("RR", ai=[4, 6, 3], n1i=[123, 306, 231], ci=[11, 29, 11], n2i=[139, 303, 220])
    res = mgmeta.meta_analysis(es)

    def reduction(x):
        return 100 * (1 - np.exp(x))                # percent reduction in risk: decreasing

    fig = forest(res, transf=reduction, digits=1, xlim=(-50, 100))   # no whisker cut at the axis ends
    lo, hi = _study_limits(res)
    np.testing.assert_allclose(_whiskers(fig), np.column_stack([reduction(hi), reduction(lo)]), rtol=1e-12)
    assert _printed(fig, "est")[-1] == style.format_value(float(reduction(res.estimate)), 1)
    assert texts(fig, "xlabel") == ["Risk ratio (transformed)"] and not by_gid(fig, "null-line")


def test_pft_without_sample_sizes_and_measures_without_a_back_transformation_stay_as_they_are():
    case, _, res = _fit("PFT")
    raw = mgmeta.meta_analysis(np.asarray(case["yi"]), np.asarray(case["vi"]), measure="PFT")
    np.testing.assert_allclose(_whiskers(forest(raw))[:, 0], _study_limits(raw)[0], rtol=1e-12)
    pr = mgmeta.meta_analysis(mgmeta.effect_sizes("PR", xi=[3, 5, 9], ni=[10, 20, 30]))
    np.testing.assert_allclose(_whiskers(forest(pr))[:, 0], _study_limits(pr)[0], rtol=1e-12)


def test_bad_transf_and_refline_raise():
    _, _, res = _fit("PLO")
    with pytest.raises(DataError, match="transf must be 'auto', None or a function"):
        forest(res, transf="exp")
    with pytest.raises(DataError, match="transf must return one value per input"):
        forest(res, transf=lambda x: 1.0)
    with pytest.raises(DataError, match="refline must be True, False or a number"):
        forest(res, refline="zero")
    es = mgmeta.effect_sizes("OR", ai=[4, 6, 3], n1i=[123, 306, 231], ci=[11, 29, 11], n2i=[139, 303, 220])
    with pytest.raises(DataError, match="refline must be a finite positive number"):
        forest(mgmeta.meta_analysis(es), refline=0)


def test_subgroups_back_transform_each_pooled_estimate():
    _, es, res = _fit("PFT", "DL")
    a = mgmeta.meta_analysis(es.iloc[:7], method="DL")
    b = mgmeta.meta_analysis(es.iloc[7:], method="DL")
    fig = forest({"first": a, "second": b}, overall=res, digits=4)
    est = _printed(fig, "est")
    pooled = [float(transforms.transf_ipft_hm(f.estimate, f.data["ni"])) for f in (a, b, res)]
    assert [est[7], est[-1]] == [style.format_value(pooled[0], 4), style.format_value(pooled[2], 4)]
    assert style.format_value(pooled[1], 4) in est


def test_leave_one_out_and_cumulative_forests_are_back_transformed_too():
    _, _, res = _fit("ZCOR", "DL")
    loo = res.leave_one_out()
    fig = leave_one_out_forest(res, loo)
    np.testing.assert_allclose(_whiskers(fig), np.tanh(loo[["ci_lower", "ci_upper"]].to_numpy(float)), rtol=1e-12)
    assert _printed(fig, "est") == [style.format_value(float(v), 2) for v in np.tanh(loo["estimate"])] + \
        [style.format_value(float(np.tanh(res.estimate)), 2)]
    assert texts(fig, "xlabel") == ["Correlation"] and len(by_gid(fig, "null-line")) == 1
    cum = res.cumulative()
    fig = cumulative_forest(res, cum)
    np.testing.assert_allclose(_whiskers(fig), np.tanh(cum[["ci_lower", "ci_upper"]].to_numpy(float)), rtol=1e-12)
    np.testing.assert_allclose(by_gid(fig, "estimate-line")[0].get_segments()[0][0][0], np.tanh(res.estimate),
                               rtol=1e-12)
    with pytest.raises(DataError, match="already transformed"):
        leave_one_out_forest(res, res.leave_one_out(transf=np.tanh))
    fig = cumulative_forest(res, cum, transf=None)
    np.testing.assert_allclose(_whiskers(fig), cum[["ci_lower", "ci_upper"]].to_numpy(float), rtol=1e-12)


def test_pft_leave_one_out_uses_the_full_models_harmonic_mean():
    _, _, res = _fit("PFT", "DL")
    loo = res.leave_one_out()
    fig = leave_one_out_forest(res, loo)
    want = transforms.transf_ipft_hm(loo[["ci_lower", "ci_upper"]].to_numpy(float), res.data["ni"])
    np.testing.assert_allclose(_whiskers(fig), want, rtol=1e-12)


def test_small_effects_keep_two_significant_figures_in_every_row():
    """Incidence rates of about 0.02 print as 0.023 [0.013, 0.041], not 0.02 [0.01, 0.04]; digits= wins."""
    x = np.array([12, 30, 7, 19])
    t = np.array([520.0, 1400.0, 610.0, 800.0])
    es = mgmeta.effect_sizes(measure="IRLN", xi=x, ti=t, labels=list("ABCD"))
    res = mgmeta.meta_analysis(es)
    fig = forest(res)
    ests = _printed(fig, "est")
    assert ests == [style.format_value(float(v), 3) for v in np.exp(res.yi)] + \
        [style.format_value(float(np.exp(res.estimate)), 3)]
    assert all(len(e.split(".")[1]) == 3 for e in ests + [h.rstrip("]") for h in _printed(fig, "hi")])
    # a tau² below the printed precision reads "τ² (REML) < 0.001", not "= <0.001"
    (het,) = texts(fig, "heterogeneity")
    assert "\u03c4\u00b2 (REML) < 0.001" in het.replace("\u00a0", " ")
    assert _printed(forest(res, digits=2), "est")[0] == "0.02"
    # the same rule in the leave-one-out and cumulative plots
    assert len(_printed(leave_one_out_forest(res), "est")[0].split(".")[1]) == 3
    assert len(_printed(cumulative_forest(res), "est")[-1].split(".")[1]) == 3
    plt.close("all")


def test_small_differences_keep_two_decimals():
    """Mean differences near 0 are not small quantities: 2 decimals, not more."""
    res = mgmeta.meta_analysis(np.array([0.03, -0.12, 0.08, 0.01]), np.array([0.01, 0.02, 0.015, 0.01]))
    ests = _printed(forest(res), "est")
    assert all(len(e.split(".")[1]) == 2 for e in ests if "." in e and "e" not in e)
    plt.close("all")
