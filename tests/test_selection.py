"""selection_model against R metafor's selmodel (tests/reference/multivariate.R -> multivariate.json)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

import mgmeta
from conftest import TOL_ITERATIVE, load_reference
from mgmeta.errors import DataError
from mgmeta.selection import _ll_beta

REF = load_reference("multivariate.json")
DATA = REF["datasets"]
SEL = {c["id"]: c for c in REF["selmodel"]}

# each R case as the mgmeta call: (data set, method of the rma fit, type, steps)
CASES = {
    "hackshaw_step1": ("hackshaw1998", "ML", "stepfun", (0.025,)),
    "hackshaw_step2": ("hackshaw1998", "ML", "stepfun", (0.025, 0.5)),
    "hackshaw_step3": ("hackshaw1998", "ML", "stepfun", (0.025, 0.1, 0.5, 1)),
    "hackshaw_beta": ("hackshaw1998", "ML", "beta", None),
    "hackshaw_REML_step1": ("hackshaw1998", "REML", "stepfun", (0.025,)),
    "bcg_step1": ("bcg_RR", "ML", "stepfun", (0.025,)),
    "bcg_step2": ("bcg_RR", "ML", "stepfun", (0.05, 0.5)),
    "bcg_beta": ("bcg_RR", "ML", "beta", None),
    "hackshaw_EE_step1": ("hackshaw1998", "EE", "stepfun", (0.025,)),
}
# metafor's optimum is found by nlminb without derivatives and its standard errors by numDeriv's Richardson
# extrapolation; ours by BFGS + Newton steps and central differences. Both are good to about 1e-7 in the
# estimates; the standard errors (second derivatives) agree to about 2e-6.
TOL_SE = 1e-5

_FITS: dict = {}


def fit(case_id):
    if case_id not in _FITS:
        name, method, type_, steps = CASES[case_id]
        res = mgmeta.meta_analysis(DATA[name]["yi"], DATA[name]["vi"], method=method)
        _FITS[case_id] = mgmeta.selection_model(res, type=type_, **({"steps": steps} if steps else {}))
    return _FITS[case_id]


def test_every_reference_case_has_a_python_call():
    assert set(CASES) == set(SEL)


@pytest.mark.parametrize("case_id", sorted(SEL))
def test_estimates(case_id):
    sel, out = fit(case_id), SEL[case_id]["out"]
    assert sel.estimate == pytest.approx(out["beta"][0], rel=2 * TOL_ITERATIVE)
    # bounds near 0 come from a subtraction: compare on the scale of the standard error
    assert sel.ci_lower == pytest.approx(out["ci_lb"][0], rel=TOL_SE, abs=TOL_SE * out["se"][0])
    assert sel.ci_upper == pytest.approx(out["ci_ub"][0], rel=TOL_SE, abs=TOL_SE * out["se"][0])
    assert sel.pvalue == pytest.approx(out["pval"][0], rel=TOL_SE)
    assert sel.tau2 == pytest.approx(out["tau2"], rel=2 * TOL_ITERATIVE, abs=1e-9)
    np.testing.assert_allclose(sel.delta, out["delta"], rtol=2 * TOL_ITERATIVE)
    assert sel.ll == pytest.approx(out["ll"], rel=1e-9)
    assert sel.ll0 == pytest.approx(out["ll0"], rel=1e-9)
    assert sel.lrt == pytest.approx(out["LRT"], rel=1e-6, abs=1e-8)
    assert sel.lrt_pvalue == pytest.approx(out["LRTp"], rel=1e-6)
    assert sel.lrt_df == out["LRTdf"]
    np.testing.assert_allclose([sel.aic, sel.bic, sel.aicc], out["fit_stats"][2:5], rtol=1e-9)
    if out["LRT_tau2"] is not None:
        assert sel.lrt_tau2 == pytest.approx(out["LRT_tau2"], rel=1e-6, abs=1e-8)
    if out["ptable_k"] is not None:
        assert list(sel.k_steps) == out["ptable_k"]
        np.testing.assert_allclose(sel.steps, out["steps"])


@pytest.mark.parametrize("case_id", sorted(SEL))
def test_standard_errors(case_id):
    sel, out = fit(case_id), SEL[case_id]["out"]
    assert sel.se == pytest.approx(out["se"][0], rel=TOL_SE)
    if out["se_tau2"] is not None:
        assert sel.se_tau2 == pytest.approx(out["se_tau2"], rel=TOL_SE)
    else:
        assert np.isnan(sel.se_tau2)
    se_ref = np.array([np.nan if x is None else x for x in out["se_delta"]])
    np.testing.assert_allclose(sel.se_delta, se_ref, rtol=TOL_SE)
    pv = np.array([np.nan if x is None else x for x in out["pval_delta"]])
    np.testing.assert_allclose(sel.pvalue_delta, pv, rtol=TOL_SE, atol=1e-12)
    lo = np.array([np.nan if x is None else x for x in out["ci_lb_delta"]])
    np.testing.assert_allclose(sel.ci_lower_delta, lo, rtol=TOL_SE, atol=TOL_SE * np.nanmax(se_ref))


@pytest.mark.parametrize("case_id", ["hackshaw_step1", "hackshaw_beta"])
def test_printout(case_id):
    text = str(fit(case_id))
    assert "Test for Selection Model Parameters:" in text
    r_lines = SEL[case_id]["print"]
    # the LRT line as metafor prints it
    lrt_line = next(line for line in r_lines.splitlines() if line.startswith("LRT(df = ") and "Selection" not in line)
    assert f"LRT(df = {fit(case_id).lrt_df}) = {fit(case_id).lrt:.4f}" in text
    assert lrt_line.split(",")[0] in r_lines
    assert "<pre>" in fit(case_id)._repr_html_()
    assert len(fit(case_id).delta_frame()) == len(fit(case_id).delta)


def test_beta_quadrature_matches_adaptive_integration():
    y = np.array(DATA["hackshaw1998"]["yi"])[:5]
    v = np.array(DATA["hackshaw1998"]["vi"])[:5]
    delta = np.array([0.6, 1.7])
    mu, tau2 = 0.2, 0.05
    p = np.clip(special.ndtr(-y / np.sqrt(v)), 1e-5, 1 - 1e-5)
    ll = _ll_beta(mu, tau2, delta, y, v, p)
    s = np.sqrt(v + tau2)
    ref = 0.0
    for yi, vi, si, pi in zip(y, v, s, p):
        def integrand(x):
            pp = min(max(special.ndtr(-x / np.sqrt(vi)), 1e-5), 1 - 1e-5)
            return pp ** (delta[0] - 1) * (1 - pp) ** (delta[1] - 1) * np.exp(-0.5 * ((x - mu) / si) ** 2) / (
                si * np.sqrt(2 * np.pi))
        lo, hi = np.sqrt(vi) * -4.2649, np.sqrt(vi) * 4.2649
        A = sum(integrate.quad(integrand, a, b, epsabs=0, epsrel=1e-13, limit=500)[0]
                for a, b in ((-np.inf, lo), (lo, hi), (hi, np.inf)))
        ref += (delta[0] - 1) * np.log(pi) + (delta[1] - 1) * np.log1p(-pi) - 0.5 * np.log(
            2 * np.pi * si ** 2) - 0.5 * ((yi - mu) / si) ** 2 - np.log(A)
    assert ll == pytest.approx(ref, rel=1e-10)


def test_no_selection_when_deltas_are_one():
    # the model with delta = 1 is the ordinary ML random-effects model: ll0 is its log-likelihood
    sel = fit("hackshaw_step1")
    assert sel.ll >= sel.ll0


def test_less_mirrors_greater():
    y = np.array(DATA["hackshaw1998"]["yi"])
    v = np.array(DATA["hackshaw1998"]["vi"])
    a = mgmeta.selection_model(mgmeta.meta_analysis(y, v, method="ML"), steps=(0.025,))
    b = mgmeta.selection_model(mgmeta.meta_analysis(-y, v, method="ML"), steps=(0.025,), alternative="less")
    assert b.estimate == pytest.approx(-a.estimate, rel=1e-6)
    np.testing.assert_allclose(b.delta, a.delta, rtol=1e-5)


def test_errors():
    res = mgmeta.meta_analysis(DATA["hackshaw1998"]["yi"], DATA["hackshaw1998"]["vi"], method="ML")
    with pytest.raises(DataError, match="unknown type"):
        mgmeta.selection_model(res, type="halfnorm")
    with pytest.raises(DataError, match="steps must be"):
        mgmeta.selection_model(res, steps=(0, 0.5))
    with pytest.raises(DataError, match="no study has a p-value"):
        mgmeta.selection_model(res, steps=(0.025, 0.0251))
    with pytest.raises(DataError, match="meta_analysis"):
        mgmeta.selection_model("not a fit")
