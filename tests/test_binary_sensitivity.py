"""Leave-one-out and influence of Mantel-Haenszel and Peto fits, and exponentiated output (issue 13, item 6).

Reference: tests/reference/usability.R -> usability.json, block ``binary_l1o`` (metafor 3.8-1
``leave1out()`` and ``rstudent()`` of ``rma.mh`` / ``rma.peto`` fits).
"""
from __future__ import annotations

import numpy as np
import pytest
from _usability import REF, arr, frame
from conftest import TOL_CLOSED

import mgmeta
from mgmeta.analyses import meta_regression, subgroup_analysis
from mgmeta.errors import DataError

LI = frame("li")
BCG = frame("bcg")


def _fit(case):
    if case["data"] == "li":
        args = dict(ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=LI, labels="study")
    else:
        args = dict(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=BCG)
    if case["fun"] == "mh":
        return mgmeta.mantel_haenszel(measure=case["measure"], **args)
    return mgmeta.peto(**args)


@pytest.mark.parametrize("case", REF["binary_l1o"], ids=[c["id"] for c in REF["binary_l1o"]])
def test_leave_one_out_matches_metafor(case):
    res = _fit(case)
    assert res.estimate == pytest.approx(case["full"]["estimate"], rel=TOL_CLOSED)
    loo = res.leave_one_out()
    out = case["out"]
    assert list(loo.columns) == ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "q",
                                 "q_pvalue", "i2", "h2"]
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("statistic", "zval"), ("ci_lower", "ci_lower"),
                         ("ci_upper", "ci_upper"), ("q", "q"), ("i2", "i2"), ("h2", "h2")):
        np.testing.assert_allclose(loo[ours], arr(out[theirs]), rtol=TOL_CLOSED, atol=1e-12, err_msg=ours)
    np.testing.assert_allclose(loo["pvalue"], arr(out["pval"]), rtol=TOL_CLOSED, atol=1e-300)
    np.testing.assert_allclose(loo["q_pvalue"], arr(out["q_pvalue"]), rtol=1e-6, atol=1e-300)
    inf = res.influence()
    np.testing.assert_allclose(inf["rstudent"], arr(case["rstudent"]["z"]), rtol=TOL_CLOSED, atol=1e-12)
    np.testing.assert_allclose(inf["estimate_del"], loo["estimate"], rtol=1e-14)
    assert list(inf.index) == list(loo.index) == list(res.labels)
    # exponentiated display: estimate and limits, no se
    if res.is_ratio:
        shown = res.leave_one_out(exp=True)
        assert "se" not in shown.columns
        np.testing.assert_allclose(shown["estimate"], np.exp(arr(out["estimate"])), rtol=TOL_CLOSED)


def test_influence_definitions():
    res = mgmeta.mantel_haenszel("tpos", "tneg", "cpos", "cneg", data=BCG)
    inf = res.influence()
    loo = res.leave_one_out()
    np.testing.assert_allclose(inf["dfbetas"], (res.estimate - loo["estimate"]) / res.se, rtol=1e-13)
    np.testing.assert_allclose(inf["cooks"], inf["dfbetas"] ** 2, rtol=1e-13)
    np.testing.assert_allclose(inf["covratio"], loo["se"] ** 2 / res.se ** 2, rtol=1e-13)
    np.testing.assert_allclose(inf["weight"].sum(), 100)


def test_exp_and_transf_everywhere():
    es = mgmeta.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=BCG.drop(columns=["yi", "vi"]))
    res = mgmeta.meta_analysis(es)
    p = res.predict(exp=True)
    assert "se" not in p.index
    assert p["estimate"] == pytest.approx(np.exp(res.estimate))
    assert p["pi_upper"] == pytest.approx(np.exp(res.pi_upper))
    cum = res.cumulative(exp=True)
    np.testing.assert_allclose(cum["ci_upper"], np.exp(res.cumulative()["ci_upper"]))
    loo = res.leave_one_out(transf=lambda x: 100 * (1 - np.exp(x)))      # percent reduction in risk
    np.testing.assert_allclose(loo["estimate"], 100 * (1 - np.exp(res.leave_one_out()["estimate"])))
    fit = meta_regression(es, mods="~ ablat")
    t = fit.to_frame(exp=True)
    np.testing.assert_allclose(t["estimate"], np.exp(fit.coef))
    assert "Transformed coefficients (exp)" in str(fit)
    assert "Transformed coefficients" not in fit.summary()
    sub = subgroup_analysis(es, groups="alloc")
    np.testing.assert_allclose(sub.to_frame(exp=True)["ci_lower"], np.exp(sub.table["ci_lower"]))
    assert "Transformed estimates (exp)" in str(sub)
    # exp=True is for ratio measures only
    md = mgmeta.meta_analysis([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], measure="MD")
    with pytest.raises(DataError, match="ratio measures"):
        md.leave_one_out(exp=True)
    with pytest.raises(DataError, match="transf must be a function"):
        res.leave_one_out(transf="exp")
    with pytest.raises(DataError, match="not both"):
        res.predict(transf=np.exp, exp=True)
