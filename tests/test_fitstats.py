"""Fit statistics, likelihood-ratio tests (anova), blup and ranef against R metafor 3.8
(tests/reference/breadth.json, from breadth.R)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import mgmeta
from conftest import ATOL, TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta.fitstats import anova, fitstats

BREADTH = load_reference("breadth.json")
RMA = BREADTH["rma"]
MODS = [c for c in BREADTH["mods"] if c["method"] != "GENQ"]
ANOVA = BREADTH["anova"]
ITERATIVE = {"REML", "ML", "PM", "EB", "MP", "PMM", "SJIT", "DLIT"}
FIT_NAMES = ["ll_ml", "dev_ml", "aic_ml", "bic_ml", "aicc_ml", "ll_reml", "dev_reml", "aic_reml", "bic_reml",
             "aicc_reml"]
PLAIN = [c for c in RMA if c["weights"] is None and c["weighted"]]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol, atol=ATOL):
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, float)), _arr(np.atleast_1d(expected)),
                               rtol=rtol, atol=atol, equal_nan=True)


def fit(case):
    kw = {} if case["weights"] is None else {"weights": _arr(case["weights"])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        return mgmeta.meta_analysis(_arr(case["yi"]), _arr(case["vi"]), method=case["method"], test=case["test"],
                                    weighted=case["weighted"], **kw)


def _tol(method):
    return TOL_ITERATIVE if method in ITERATIVE else TOL_CLOSED


@pytest.mark.parametrize("case", RMA, ids=[c["id"] for c in RMA])
def test_fitstats_match_metafor(case):
    fs = fit(case).fitstats()
    for name in FIT_NAMES:
        close(getattr(fs, name), case["fitstats"][name], _tol(case["method"]), atol=1e-8)
    assert fs.parms == case["fitstats"]["parms"]


@pytest.mark.parametrize("case", PLAIN, ids=[c["id"] for c in PLAIN])
def test_blup_and_ranef_match_metafor(case):
    res = fit(case)
    tol = _tol(case["method"])
    for name, ref in (("blup", case["blup"]), ("ranef", case["ranef"])):
        got = getattr(res, name)()
        for col, key in (("pred", "pred"), ("se", "se"), ("pi_lower", "pi_lower"), ("pi_upper", "pi_upper")):
            close(got[col], ref[key], tol, atol=1e-9)
        assert list(got.index) == list(res.labels)


def test_blup_refused_with_user_weights_as_metafor():
    case = next(c for c in RMA if c["weights"] is not None)
    assert case["blup"] is None
    with pytest.raises(mgmeta.MgmetaError):
        fit(case).blup()


@pytest.mark.parametrize("case", MODS, ids=[c["id"] for c in MODS])
def test_fitstats_of_meta_regressions_match_metafor(case):
    X = np.array(case["X"], float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        res = mgmeta.meta_regression(_arr(case["yi"]), _arr(case["vi"]), mods=X[:, 1:], method=case["method"])
    close(res.coef, case["out"]["beta"], _tol(case["method"]))
    fs = fitstats(res)
    for name in FIT_NAMES:
        close(getattr(fs, name), case["fitstats"][name], _tol(case["method"]), atol=1e-8)
    assert fs.parms == case["fitstats"]["parms"]


def _bcg():
    rma = {c["id"]: c for c in RMA}["bcg_REML_z"]
    return _arr(rma["yi"]), _arr(rma["vi"])


BCG_ABLAT = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33], float)
BCG_YEAR = np.array([1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976], float)


def _model(spec, method):
    y, v = _bcg()
    if spec == "EE":
        return mgmeta.meta_analysis(y, v, method="EE")
    if spec == "0":
        return mgmeta.meta_analysis(y, v, method=method)
    mods = {"ablat": BCG_ABLAT} if spec == "ablat" else {"ablat": BCG_ABLAT, "year": BCG_YEAR}
    return mgmeta.meta_regression(y, v, mods=mods, method=method)


def _anova_models(case):
    cid = case["id"]
    dataset, method = cid.split("_")[0], cid.split("_")[1]
    if cid.endswith("_vs_EE") and "ablat" not in cid:
        rma = next(c for c in RMA if c["dataset"] == dataset)
        y, v = _arr(rma["yi"]), _arr(rma["vi"])
        return mgmeta.meta_analysis(y, v, method=method), mgmeta.meta_analysis(y, v, method="EE")
    if cid.endswith("_year"):
        return _model("ablat+year", method), _model("ablat", method)
    if cid.endswith("_ablat"):
        return _model("ablat", method), _model("0", method)
    return _model("ablat", "ML"), _model("EE", "ML")        # bcg_ML_ablat_vs_EE


@pytest.mark.parametrize("case", ANOVA, ids=[c["id"] for c in ANOVA])
def test_anova_matches_metafor(case):
    full, reduced = _anova_models(case)
    if case["id"] in ("bcg_REML_year", "bcg_REML_ablat"):
        # metafor only warns that REML likelihoods of different fixed effects are not comparable
        with pytest.raises(mgmeta.DataError, match="method='ML'"):
            anova(full, reduced)
        return
    a = anova(reduced, full)                                 # the order does not matter
    close(a.lrt, case["lrt"], TOL_ITERATIVE, atol=1e-8)
    close(a.pvalue, case["pvalue"], TOL_ITERATIVE, atol=1e-12)
    assert (a.parms_full, a.parms_reduced) == (case["parms_full"], case["parms_reduced"])
    assert a.method == case["method"]
    close(a.r2, case["r2"], TOL_ITERATIVE, atol=1e-8)
    for mine, ref in ((a.fit_full, case["fit_full"]), (a.fit_reduced, case["fit_reduced"])):
        close([mine.loglik, mine.deviance, mine.aic, mine.bic, mine.aicc],
              [ref["ll"], ref["dev"], ref["AIC"], ref["BIC"], ref["AICc"]], TOL_ITERATIVE, atol=1e-8)


def test_anova_refuses_unrelated_models():
    y, v = _bcg()
    a = mgmeta.meta_analysis(y, v, method="ML")
    with pytest.raises(mgmeta.DataError, match="same number"):
        anova(a, mgmeta.meta_analysis(y, v, method="ML", test="knha"))
    with pytest.raises(mgmeta.DataError, match="same yi"):
        anova(a, mgmeta.meta_analysis(y[:-1], v[:-1], method="EE"))
    with pytest.raises(mgmeta.DataError, match="ML"):
        anova(mgmeta.meta_analysis(y, v, method="REML"), _model("ablat", "ML"))
    with pytest.raises(mgmeta.DataError, match="equal-effects"):
        anova(_model("ablat+year", "EE"), mgmeta.meta_analysis(y, v, method="REML"))
    with pytest.warns(mgmeta.MgmetaWarning, match="ML or REML"):
        anova(mgmeta.meta_analysis(y, v, method="DL"), mgmeta.meta_analysis(y, v, method="EE"))


def test_anova_is_exported_and_prints():
    y, v = _bcg()
    a = mgmeta.anova(mgmeta.meta_analysis(y, v, method="ML"), mgmeta.meta_analysis(y, v, method="EE"))
    text = str(a)
    assert "LRT" in text and "Reduced" in text
    assert list(a.to_frame().index) == ["full", "reduced"]
