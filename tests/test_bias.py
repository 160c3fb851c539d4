"""Small-study effects: regtest, ranktest, trimfill, fsn (metafor 3.8) and Peters'/Harbord's tests (R lm)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import mgmeta
from conftest import ATOL, ITERATIVE, TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta.analyses import (
    begg_test,
    egger_test,
    fail_safe_n,
    harbord_test,
    meta_regression,
    peters_test,
    trim_and_fill,
)
from mgmeta.analyses.bias import _mahonian_cdf, kendall_exact_pvalue

REF = load_reference("analyses.json")
DATA = REF["datasets"]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol, atol=ATOL):
    exp = _arr(np.atleast_1d(expected))
    act = np.atleast_1d(np.asarray(np.nan if actual is None else actual, dtype=float))
    np.testing.assert_allclose(act, exp, rtol=rtol, atol=atol, equal_nan=True)


def _fit(dataset, method="REML", test="z"):
    d = DATA[dataset]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        return mgmeta.meta_analysis(_arr(d["yi"]), _arr(d["vi"]), method=method, test=test, labels=d["labels"])


def _tol(method):
    return TOL_ITERATIVE if method in ITERATIVE else TOL_CLOSED


# --------------------------------------------------------------------------
# regtest
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", REF["regtest"], ids=[c["id"] for c in REF["regtest"]])
def test_egger_test_matches_regtest(case):
    res = _fit(case["dataset"], case["method"], case["test"])
    d = DATA[case["dataset"]]
    out = egger_test(res, model=case["model"], predictor=case["predictor"], ni=d.get("ni"))
    o = case["out"]
    tol = _tol(case["method"]) if case["model"] == "rma" else TOL_CLOSED
    close(out.statistic, o["statistic"], tol)
    close(out.pvalue, o["pvalue"], tol, atol=1e-300)
    close(out.coef, o["coef"], tol)
    close(out.se, o["se"], tol)
    for name in ("limit_estimate", "ci_lower", "ci_upper"):
        close(getattr(out, name), o[name], tol)
    assert (out.df is None and o["df"] is None) or out.df == o["df"]
    if case["model"] == "rma":
        close(out.fit.tau2, o["tau2"], tol, atol=1e-10)


def test_egger_line_and_printing():
    res = _fit("egger_OR")
    eg = egger_test(res)
    assert eg.line == (float(eg.coef[0]), float(eg.coef[1]))
    assert "Regression Test for Funnel Plot Asymmetry" in str(eg)
    lm = egger_test(res, model="lm")
    # the classic form: yi/sei regressed on 1/sei has intercept = slope on sei here, and the same t test
    sei = np.sqrt(res.vi)
    X = np.column_stack([np.ones(res.k), 1 / sei])
    b, *_ = np.linalg.lstsq(X, res.yi / sei, rcond=None)
    assert b[0] == pytest.approx(lm.coef[1], rel=1e-10)
    assert egger_test(res, predictor="vi").line is None


def test_egger_edge_cases():
    with pytest.raises(mgmeta.DataError, match="constant"):
        egger_test(mgmeta.meta_analysis([0.1, 0.3, 0.2, 0.5], [0.04] * 4))
    k2 = _fit("bcg2_RR")
    with pytest.raises(mgmeta.DataError, match="too few"):
        egger_test(k2)
    with pytest.raises(mgmeta.DataError, match="more studies"):
        egger_test(k2, model="lm")
    # EE with k = 2 is estimable (p = 2 coefficients, z test), as in metafor
    k2ee = _fit("bcg2_RR", method="EE")
    assert np.isfinite(egger_test(k2ee).statistic)
    with pytest.raises(mgmeta.DataError, match="sample sizes"):
        egger_test(_fit("hackshaw"), predictor="ni")
    with pytest.raises(mgmeta.DataError, match="unknown model"):
        egger_test(k2ee, model="glm")


def test_egger_on_a_meta_regression_adds_the_predictor():
    d = DATA["bcg_RR"]
    fit = meta_regression(_arr(d["yi"]), _arr(d["vi"]), {"ablat": d["mods"]["ablat"]})
    eg = egger_test(fit)
    direct = meta_regression(_arr(d["yi"]), _arr(d["vi"]), {"ablat": d["mods"]["ablat"],
                                                           "sei": np.sqrt(_arr(d["vi"]))})
    assert eg.statistic == pytest.approx(direct.statistic[-1], rel=1e-12)
    assert eg.limit_estimate is None


def test_egger_sample_sizes_from_the_effect_size_frame():
    d = DATA["bcg_OR"]
    es = mgmeta.effect_sizes("OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"])
    res = mgmeta.meta_analysis(es)
    a = egger_test(res, predictor="ninv")
    b = egger_test(res, predictor="ninv", ni=d["ni"])
    assert a.statistic == pytest.approx(b.statistic, rel=1e-14)


# --------------------------------------------------------------------------
# ranktest
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", REF["ranktest"], ids=[c["id"] for c in REF["ranktest"]])
def test_begg_test_matches_ranktest(case):
    out = begg_test(_fit(case["dataset"]))
    close(out.statistic, case["out"]["tau"], 1e-12)
    close(out.pvalue, case["out"]["pvalue"], 1e-10)
    # R warns "Cannot compute exact p-value with ties" exactly when the normal approximation is used
    assert out.exact == (not any("ties" in w for w in case["warnings"]))
    assert out.tau == out.statistic


def test_begg_ties_use_the_normal_approximation():
    out = begg_test(_fit("ties"))
    assert not out.exact
    assert "ties" in str(out)


def test_kendall_exact_distribution():
    # the two implementations (exact integers up to n = 60, normalised floats above) agree
    for n in (5, 12, 30, 60):
        total = n * (n - 1) // 2
        for m in (0, total // 5, total // 3, total // 2):
            assert _mahonian_cdf(m, n) == pytest.approx(_float_cdf(m, n), rel=1e-12, abs=1e-300)
    # against scipy's exact Kendall test
    rng = np.random.default_rng(1)
    for n in (4, 9, 25, 48, 70):
        x, y = rng.normal(size=n), rng.normal(size=n)
        ref = stats.kendalltau(x, y, method="exact")
        tau = ref.statistic
        q = int(round((tau + 1) * n * (n - 1) / 4))
        assert kendall_exact_pvalue(q, n) == pytest.approx(ref.pvalue, rel=1e-9)


def _float_cdf(m, n):
    prob = np.zeros(m + 1)
    prob[0] = 1.0
    for j in range(2, n + 1):
        pref = np.concatenate([[0.0], np.cumsum(prob)])
        lo = np.maximum(0, np.arange(m + 1) - j + 1)
        prob = (pref[1:] - pref[lo]) / j
    return prob.sum()


def test_begg_edge_cases():
    with pytest.raises(mgmeta.DataError, match="at least 2"):
        begg_test(mgmeta.meta_analysis([0.1], [0.1], method="EE"))
    k2 = begg_test(_fit("bcg2_RR"))
    assert k2.statistic in (-1.0, 1.0) and k2.pvalue == 1.0


# --------------------------------------------------------------------------
# trim and fill
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", REF["trimfill"], ids=[c["id"] for c in REF["trimfill"]])
def test_trim_and_fill_matches_trimfill(case):
    res = _fit(case["dataset"], case["method"], case["test"])
    out = trim_and_fill(res, side=case["side_arg"], estimator=case["estimator"])
    o = case["out"]
    assert out.k0 == o["k0"]
    assert out.side == o["side"]
    close(out.se_k0, o["se_k0"], 1e-10)
    close(np.nan if out.p_k0 is None else out.p_k0, o["p_k0"], 1e-14)
    r = out.result
    tol = _tol(case["method"])
    close(r.yi, o["yi"], 1e-12)
    close(r.vi, o["vi"], 1e-14)
    assert list(out.filled) == o["fill"]
    assert r.test == o["test"]
    for name in ("estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "tau2", "q", "i2", "k"):
        close(getattr(r, name), o[name], tol, atol=1e-300 if name == "pvalue" else ATOL)


TF_FAILURES = [f for f in REF["failures"] if "Q0" in f["id"]]


@pytest.mark.parametrize("failure", TF_FAILURES, ids=[f["id"] for f in TF_FAILURES])
def test_trim_and_fill_q0_undefined_raises(failure):
    dataset, method, test, estimator, side = failure["id"].rsplit("_", 4)
    res = _fit(dataset, method, test)
    with pytest.raises(mgmeta.MgmetaError, match="Q0"):
        trim_and_fill(res, estimator=estimator, side=None if side == "auto" else side)


def test_trim_and_fill_result_for_plots():
    res = _fit("egger_OR", "EE")
    tf = trim_and_fill(res)
    assert tf.k0 > 0
    assert tf.result.labels[-1] == f"Filled {tf.k0}"
    assert tf.filled.sum() == tf.k0 and len(tf.filled) == tf.result.k
    np.testing.assert_array_equal(tf.yi_filled, tf.result.yi[res.k:])
    assert tf.original is res
    assert "missing studies" in str(tf)
    assert list(tf.to_frame().columns) == ["study", "yi", "vi", "filled"]


def test_trim_and_fill_edge_cases():
    k2 = _fit("bcg2_RR")
    with pytest.raises(mgmeta.DataError, match="give side"):
        trim_and_fill(k2)
    out = trim_and_fill(k2, side="left")
    # metafor 3.8: trimfill(rma(yi, vi, data = escalc("RR", ...)[1:2, ]), side = "left")$k0 == 1; the second
    # iteration fits one study alone, whose deviation from itself must count as exactly 0
    assert out.k0 == 1
    assert out.result.k == 3
    homog = _fit("homog")
    out = trim_and_fill(homog, side="right")
    assert out.k0 == 0 and out.result is homog        # metafor: 0 (the model is returned unchanged)
    with pytest.raises(mgmeta.DataError, match="unknown side"):
        trim_and_fill(homog, side="up")
    with pytest.raises(mgmeta.DataError, match="unknown estimator"):
        trim_and_fill(homog, estimator="L1")
    with pytest.raises(mgmeta.DataError, match="same variance"):
        trim_and_fill(mgmeta.meta_analysis([0.1, 0.3, 0.2, 0.5], [0.04] * 4))


def test_trim_and_fill_is_symmetric_under_a_sign_flip():
    res = _fit("hackshaw", "DL")
    neg = mgmeta.meta_analysis(-res.yi, res.vi, method="DL")
    a = trim_and_fill(res, side="left")
    b = trim_and_fill(neg, side="right")
    assert a.k0 == b.k0
    assert a.result.estimate == pytest.approx(-b.result.estimate, rel=1e-12)


# --------------------------------------------------------------------------
# fail-safe N
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", REF["fsn"], ids=[c["id"] for c in REF["fsn"]])
def test_fail_safe_n_matches_fsn(case):
    d = DATA[case["dataset"]]
    out = fail_safe_n(_arr(d["yi"]), _arr(d["vi"]), type=case["type"], weighted=case["weighted"],
                      target=case["target_arg"], alpha=case["alpha"])
    o = case["out"]
    assert out.fsn == o["fsn"]
    close(out.pvalue, o["pvalue"], 1e-12, atol=1e-300)
    close(out.mean_effect, o["mean_effect"], 1e-12)
    close(out.target, o["target"], 1e-12)


def test_fail_safe_n_from_a_model():
    res = _fit("bcg_RR")
    a = fail_safe_n(res)
    b = fail_safe_n(res.yi, res.vi)
    assert a.fsn == b.fsn and a.statistic == b.statistic
    assert fail_safe_n([0.2, 0.4, -0.1], type="Orwin").fsn == fail_safe_n([0.2, 0.4, -0.1], [1, 1, 1],
                                                                            type="Orwin").fsn
    assert math.isinf(fail_safe_n(res, type="Orwin", target=0).fsn)
    assert "Fail-safe N" in str(a)
    with pytest.raises(mgmeta.DataError, match="vi"):
        fail_safe_n([0.1, 0.2])
    with pytest.raises(mgmeta.DataError, match="unknown type"):
        fail_safe_n(res, type="Fisher")


# --------------------------------------------------------------------------
# Peters and Harbord
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", REF["smallstudy"], ids=[c["id"] for c in REF["smallstudy"]])
def test_peters_and_harbord_match_r(case):
    d = DATA[case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.ContinuityCorrectionWarning)
        es = mgmeta.effect_sizes("OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], labels=d["labels"])
    res = mgmeta.meta_analysis(es)
    np.testing.assert_allclose(res.yi, _arr(d["yi"]), rtol=1e-13)
    out = peters_test(res) if case["test"] == "peters" else harbord_test(res)
    o = case["out"]
    for name in ("statistic", "pvalue", "coef", "se"):
        close(getattr(out, name), o[name], TOL_CLOSED)
    assert out.df == o["df"]
    assert out.test == case["test"]


def test_peters_and_harbord_need_counts():
    res = _fit("bcg_OR")
    with pytest.raises(mgmeta.DataError, match="2x2 counts"):
        peters_test(res)
    with pytest.raises(mgmeta.DataError, match="2x2 counts"):
        harbord_test(res)
    es = mgmeta.effect_sizes("MD", m1i=[1, 2, 3], sd1i=[1, 1, 1], n1i=[10, 20, 30], m2i=[0, 1, 1],
                             sd2i=[1, 2, 1], n2i=[10, 10, 30])
    with pytest.raises(mgmeta.DataError, match="2x2 counts"):
        peters_test(mgmeta.meta_analysis(es))


def test_harbord_and_peters_zero_events():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.ContinuityCorrectionWarning)
        es = mgmeta.effect_sizes("OR", ai=[0, 3, 5, 8], n1i=[20, 40, 50, 60], ci=[0, 6, 9, 10],
                                 n2i=[22, 38, 50, 60], labels=["Z", "B", "C", "D"])
    res = mgmeta.meta_analysis(es)
    with pytest.raises(mgmeta.DataError, match="'Z'"):
        harbord_test(res)
    with pytest.raises(mgmeta.DataError, match="'Z'"):
        peters_test(res)
