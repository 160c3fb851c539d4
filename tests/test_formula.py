"""Formula moderators (issue 13, item 2): ``mods="~ ablat + year"`` agrees with metafor's ``rma(mods = ~ ...)``.

Reference: tests/reference/usability.R -> usability.json, block ``formula`` (metafor 3.8-1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _usability import REF, arr, frame
from conftest import ATOL, TOL_CLOSED, TOL_ITERATIVE

import mgmeta
from mgmeta.analyses import meta_regression
from mgmeta.errors import DataError
from mgmeta.formula import formula_design

FRAMES = {"bcg": frame("bcg"), "raudenbush": frame("raudenbush")}


def _tol(method: str) -> float:
    return TOL_ITERATIVE if method in ("REML", "ML", "PM", "EB") else TOL_CLOSED


@pytest.mark.parametrize("case", REF["formula"], ids=[c["id"] for c in REF["formula"]])
def test_formula_matches_rma_mods(case):
    # R's I(ablat^2) is Python's I(ablat**2) inside patsy's I()
    fit = meta_regression("yi", "vi", mods=case["mods"].replace("^", "**"), data=FRAMES[case["data"]],
                          method=case["method"])
    out = case["out"]
    names = [n.replace("**", "^").replace(" ^ ", "^") for n in fit.names]
    assert names == out["names"]                       # metafor's coefficient names
    tol = _tol(case["method"])
    for ours, theirs in (("coef", "coef"), ("se", "se"), ("statistic", "zval"), ("ci_lower", "ci_lower"),
                         ("ci_upper", "ci_upper")):
        np.testing.assert_allclose(getattr(fit, ours), arr(out[theirs]), rtol=tol, atol=ATOL, err_msg=ours)
    np.testing.assert_allclose(fit.pvalue, arr(out["pval"]), rtol=tol, atol=1e-300)
    for ours, theirs in (("qm", "qm"), ("qe", "qe"), ("tau2", "tau2"), ("se_tau2", "se_tau2"), ("i2", "i2"),
                         ("h2", "h2"), ("qm_pvalue", "qm_pvalue"), ("qe_pvalue", "qe_pvalue")):
        assert getattr(fit, ours) == pytest.approx(out[theirs], rel=tol, abs=ATOL), ours
    assert fit.qm_df == out["qm_df"] and fit.k == out["k"] and fit.p == out["p"]
    if out["r2"] is None:
        assert fit.r2 is None                          # no intercept: no pseudo R²
    else:
        assert fit.r2 == pytest.approx(out["r2"], rel=tol, abs=1e-8)
    assert fit.formula == case["mods"].replace("^", "**")


def test_no_intercept_categorical_raudenbush():
    # the example: rma(yi, vi, mods = ~ tester - 1, data = dat.raudenbush1985): QM 3.41, tau² 0.0248
    fit = meta_regression("yi", "vi", mods="~ tester - 1", data=FRAMES["raudenbush"])
    assert fit.names == ("testeraware", "testerblind")
    assert fit.qm == pytest.approx(3.40928723499681, rel=1e-7)
    assert fit.tau2 == pytest.approx(0.0247646038719438, rel=1e-6)
    assert fit.btt == (0, 1) and not fit.intercept


def test_no_intercept_categorical_without_formula_uses_every_level():
    d = FRAMES["raudenbush"]
    fit = meta_regression(d["yi"], d["vi"], {"tester": d["tester"]}, intercept=False)
    ref = meta_regression("yi", "vi", mods="~ tester - 1", data=d)
    assert fit.names == ("tester[aware]", "tester[blind]")
    np.testing.assert_allclose(fit.coef, ref.coef, rtol=1e-12)
    assert fit.qm == pytest.approx(ref.qm, rel=1e-12)


def test_predict_one_moderator_with_a_list():
    case = REF["predict"]
    fit = meta_regression("yi", "vi", mods="~ ablat", data=FRAMES["bcg"])
    pred = fit.predict(newmods=[10, 30, 50])
    for col in ("pred", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper"):
        np.testing.assert_allclose(pred[col], arr(case[col]), rtol=TOL_ITERATIVE, err_msg=col)
    back = fit.predict(newmods=[10, 30, 50], transf=np.exp)
    assert "se" not in back.columns
    for col in ("pred", "ci_lower", "ci_upper", "pi_lower", "pi_upper"):
        np.testing.assert_allclose(back[col], arr(case["exp"][col]), rtol=TOL_ITERATIVE, err_msg=col)


def test_predict_factor_model():
    case = REF["predict_factor"]
    fit = meta_regression("yi", "vi", mods="~ factor(alloc)", data=FRAMES["bcg"])
    pred = fit.predict(newmods=[[0, 0], [1, 0], [0, 1]])
    np.testing.assert_allclose(pred["pred"], arr(case["pred"]), rtol=TOL_ITERATIVE)
    np.testing.assert_allclose(pred["se"], arr(case["se"]), rtol=TOL_ITERATIVE)


def test_formula_on_the_effect_size_frame_keeps_input_columns():
    d = FRAMES["bcg"]
    es = mgmeta.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=d.drop(columns=["yi", "vi"]))
    fit = meta_regression(es, mods="~ ablat + year")
    ref = meta_regression("yi", "vi", mods="~ ablat + year", data=d)
    np.testing.assert_allclose(fit.coef, ref.coef, rtol=1e-9)
    assert fit.measure == "RR"
    # meta_analysis(data=..., mods=...) is not a thing: moderators go to meta_regression
    res = mgmeta.meta_analysis(data=es)
    assert res.k == 13 and res.measure == "RR"


def test_formula_errors_name_the_problem():
    d = FRAMES["bcg"]
    with pytest.raises(DataError, match="data="):
        meta_regression(d["yi"].to_numpy(), d["vi"].to_numpy(), mods="~ ablat")
    with pytest.raises(DataError, match="nosuch"):
        meta_regression("yi", "vi", mods="~ nosuch", data=d)
    with pytest.raises(DataError, match="intercept"):
        meta_regression("yi", "vi", mods="~ ablat", data=d, intercept=False)


def test_formula_design_names():
    d = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": ["a", "b", "a", "c"], "b": [True, False, True, True]})
    assert formula_design("~ x * g", d)[1] == ["intrcpt", "x", "gb", "gc", "x:gb", "x:gc"]
    assert formula_design("~ 0 + g", d)[1] == ["ga", "gb", "gc"]
    assert formula_design("~ b", d)[1] == ["intrcpt", "bTRUE"]
