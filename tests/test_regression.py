"""meta_regression and permutation tests against R metafor 3.8 (rma(mods=), permutest; analyses.json)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mgmeta
from conftest import ATOL, load_reference
from mgmeta.analyses import MetaRegressionResult, meta_regression, permutation_test
from mgmeta.analyses.regression import design_matrix

REF = load_reference("analyses.json")
DATA = REF["datasets"]
# closed-form estimators agree to ~1e-12 on well-conditioned designs; uncentered years as moderators make
# X'WX ill-conditioned and both implementations lose digits there (metafor more than mgmeta: ~1e-7 for
# dat.egger2001 with year), so the acceptance tolerance of the issue (1e-6) is used throughout
TOL = 1e-6


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol=TOL, atol=ATOL):
    exp = _arr(np.atleast_1d(expected))
    act = np.atleast_1d(np.asarray(np.nan if actual is None else actual, dtype=float))
    np.testing.assert_allclose(act, exp, rtol=rtol, atol=atol, equal_nan=True)


def _mods(d, names):
    cols = {}
    for n in names:
        vals = d["mods"][n]
        cols[n] = np.array(vals, dtype=object) if isinstance(vals[0], str) else _arr(vals)
    return pd.DataFrame(cols)


def _r_name(name):
    """metafor's column name for an mgmeta design column (``alloc[random]`` -> ``allocrandom``)."""
    return name.replace("[", "").replace("]", "")


@pytest.mark.parametrize("case", REF["rma_mods"], ids=[c["id"] for c in REF["rma_mods"]])
def test_meta_regression_matches_rma_mods(case):
    d = DATA[case["dataset"]]
    fit = meta_regression(_arr(d["yi"]), _arr(d["vi"]), _mods(d, case["mods"]), method=case["method"],
                          test=case["test"], labels=d["labels"])
    o = case["out"]
    assert [_r_name(n) for n in fit.names] == o["names"]
    for name in ("coef", "se", "statistic", "ci_lower", "ci_upper", "qm", "qe", "tau2", "i2", "h2"):
        close(getattr(fit, name), o[name], atol=1e-10)
    for name in ("pvalue", "qm_pvalue", "qe_pvalue"):
        close(getattr(fit, name), o[name], atol=1e-300)
    if o["se_tau2"] is not None and case["method"] not in ("EE", "FE"):
        close(fit.se_tau2, o["se_tau2"])
    close(fit.r2, o["r2"], atol=1e-8)
    assert fit.qm_df == o["qm_df"][0]
    assert fit.k == o["k"] and fit.p == o["p"]
    if case["test"] == "knha":
        assert fit.df == o["df"] == o["qm_df"][1]
    else:
        assert fit.df is None


@pytest.mark.parametrize("case", REF["permutest"], ids=[c["id"] for c in REF["permutest"]])
def test_permutation_test_matches_exact_permutest(case):
    d = DATA[case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        if case["mods"]:
            fit = meta_regression(_arr(d["yi"]), _arr(d["vi"]), _mods(d, case["mods"]), method=case["method"],
                                  test=case["test"])
        else:
            fit = mgmeta.meta_analysis(_arr(d["yi"]), _arr(d["vi"]), method=case["method"], test=case["test"])
    # the exact test is deterministic: the p-values are shares of the exact_iter distinct permutations
    n_exact = int(case["out"]["exact_iter"])
    with warnings.catch_warnings():
        # a few permuted REML fits do not converge; metafor drops them too (NA, na.rm = TRUE)
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        out = permutation_test(fit, exact=True) if n_exact > 1000 else permutation_test(fit)
    assert out.exact and out.exact_count == n_exact == out.n
    close(out.pvalue, case["out"]["pvalue"], rtol=1e-12)
    close(out.qm_pvalue, case["out"]["qm_pvalue"], rtol=1e-12)
    close(out.statistic, case["out"]["statistic"], rtol=1e-9)
    close(out.qm, case["out"]["qm"], rtol=1e-9)


# --------------------------------------------------------------------------
# behaviour
# --------------------------------------------------------------------------

BCG = DATA["bcg_RR"]
Y, V = _arr(BCG["yi"]), _arr(BCG["vi"])


def test_random_permutation_test_is_reproducible_and_sensible():
    fit = meta_regression(Y, V, {"ablat": BCG["mods"]["ablat"]})
    a = fit.permutation_test(n=400, seed=11)
    b = fit.permutation_test(n=400, seed=11)
    np.testing.assert_array_equal(a.pvalue, b.pvalue)
    assert not a.exact and a.n == 400 and a.exact_count == 389188800   # 13! / 2!^4 (tied latitudes)
    # the first permutation is the observed data, so p >= 1/n
    assert a.qm_pvalue >= 1 / 400
    # metafor's documented example: permutest(rma(yi, vi, mods = ~ ablat, data = dat.bcg)) p(ablat) ~ 0.001
    assert a.pvalue[1] < 0.02
    assert a.statistic_perm.shape == (400, 2) and a.qm_perm.shape == (400,)
    assert "permutation test" in str(a)
    assert list(a.to_frame().index) == ["intrcpt", "ablat"]


def test_permutation_chunks_agree_with_one_batch(monkeypatch):
    from mgmeta.analyses import regression
    fit = meta_regression(Y[:7], V[:7], {"ablat": BCG["mods"]["ablat"][:7], "year": BCG["mods"]["year"][:7]},
                          method="DL")
    full = fit.permutation_test(exact=True)
    monkeypatch.setattr(regression, "_CHUNK_ELEMENTS", 49 * 37)
    chunked = fit.permutation_test(exact=True)
    np.testing.assert_array_equal(full.pvalue, chunked.pvalue)
    assert full.qm_pvalue == chunked.qm_pvalue


def test_categorical_expansion_and_names():
    d = DATA["bcg_RR"]
    alloc = d["mods"]["alloc"]
    fit = meta_regression(Y, V, {"alloc": alloc, "ablat": d["mods"]["ablat"]})
    assert fit.names == ("intrcpt", "alloc[random]", "alloc[systematic]", "ablat")
    cat = pd.Categorical(alloc, categories=["systematic", "random", "alternate"])
    fit2 = meta_regression(Y, V, pd.DataFrame({"alloc": cat}))
    assert fit2.names == ("intrcpt", "alloc[random]", "alloc[alternate]")
    # the omnibus test does not depend on the reference level
    fit3 = meta_regression(Y, V, {"alloc": alloc})
    assert fit2.qm == pytest.approx(fit3.qm, rel=1e-10)
    boolean = meta_regression(Y, V, {"random": np.array(alloc) == "random"})
    assert boolean.names == ("intrcpt", "random[True]")


def test_mods_forms_give_the_same_fit():
    ablat = np.array(BCG["mods"]["ablat"], float)
    year = np.array(BCG["mods"]["year"], float)
    ref = meta_regression(Y, V, pd.DataFrame({"ablat": ablat, "year": year}))
    two_d = meta_regression(Y, V, np.column_stack([ablat, year]))
    assert two_d.names == ("intrcpt", "mod1", "mod2")
    np.testing.assert_allclose(two_d.coef, ref.coef, rtol=1e-13)
    one = meta_regression(Y, V, pd.Series(ablat, name="ablat"))
    assert one.names == ("intrcpt", "ablat")
    frame = pd.DataFrame({"y": Y, "v": V, "ablat": ablat, "year": year})
    by_name = meta_regression("y", "v", ["ablat", "year"], data=frame)
    np.testing.assert_allclose(by_name.coef, ref.coef, rtol=1e-13)
    es = mgmeta.effect_sizes("RR", ai=BCG["ai"], bi=BCG["bi"], ci=BCG["ci"], di=BCG["di"])
    es["ablat"] = ablat
    from_es = meta_regression(es, mods="ablat")
    assert from_es.coef[1] == pytest.approx(one.coef[1], rel=1e-12)
    no_icpt = meta_regression(Y, V, {"ablat": ablat}, intercept=False)
    assert no_icpt.names == ("ablat",) and no_icpt.r2 is None and no_icpt.btt == (0,)


def test_design_errors_are_clear():
    with pytest.raises(mgmeta.DataError, match="constant"):
        meta_regression(Y, V, {"dose": np.full(len(Y), 400.0)})
    with pytest.raises(mgmeta.DataError, match="single level"):
        meta_regression(Y, V, {"route": ["iv"] * len(Y)})
    ablat = np.array(BCG["mods"]["ablat"], float)
    with pytest.raises(mgmeta.DataError, match="rank-deficient.*'twice'"):
        meta_regression(Y, V, {"ablat": ablat, "twice": 2 * ablat + 1})
    with pytest.raises(mgmeta.DataError, match="too few"):
        meta_regression(Y[:3], V[:3], {"a": [1.0, 2.0, 4.0], "b": [0.0, 1.0, 5.0]})
    # EE needs k >= p only
    ee = meta_regression(Y[:3], V[:3], {"a": [1.0, 2.0, 4.0], "b": [0.0, 1.0, 5.0]}, method="EE")
    assert ee.k == ee.p == 3
    with pytest.raises(mgmeta.DataError, match="missing"):
        meta_regression(Y, V, {"ablat": np.where(np.arange(len(Y)) == 2, np.nan, ablat)}, labels=BCG["labels"])
    with pytest.raises(mgmeta.DataError, match="13 studies"):
        meta_regression(Y, V, {"ablat": ablat[:5]})
    with pytest.raises(mgmeta.DataError, match="mods"):
        meta_regression(Y, V)
    with pytest.raises(mgmeta.DataError, match="unknown method"):
        meta_regression(Y, V, {"ablat": ablat}, method="XX")


def test_missing_moderator_names_the_study():
    ablat = np.array(BCG["mods"]["ablat"], float)
    ablat[4] = np.nan
    with pytest.raises(mgmeta.DataError) as err:
        meta_regression(Y, V, {"ablat": ablat}, labels=BCG["labels"])
    assert BCG["labels"][4] in str(err.value)


def test_result_presentation_and_predict():
    fit = meta_regression(Y, V, {"ablat": BCG["mods"]["ablat"]}, test="knha")
    text = str(fit)
    assert "Mixed-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "F(df1 = 1, df2 = 11)" in text and "R^2" in text
    frame = fit.to_frame()
    assert list(frame.columns) == ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper"]
    assert "<table>" in fit._repr_html_()
    pred = fit.predict([[10.0], [50.0]])
    assert pred["pred"].iloc[0] == pytest.approx(fit.coef[0] + 10 * fit.coef[1], rel=1e-12)
    assert (pred["pi_lower"] < pred["ci_lower"]).all()
    np.testing.assert_allclose(fit.predict()["pred"], fit.fitted(), rtol=1e-12)
    assert fit.weights.sum() == pytest.approx(100)
    assert isinstance(fit, MetaRegressionResult)
    ee = meta_regression(Y, V, {"ablat": BCG["mods"]["ablat"]}, method="EE")
    assert "Fixed-Effects with Moderators Model" in str(ee)


def test_fixed_tau2_and_inputs_unchanged():
    ablat = np.array(BCG["mods"]["ablat"], float)
    y0, a0 = Y.copy(), ablat.copy()
    fit = meta_regression(Y, V, {"ablat": ablat}, tau2=0.1)
    assert fit.tau2 == 0.1 and fit.se_tau2 is not None and fit.tau2_fixed == 0.1  # metafor reports se.tau2 (issue 13)
    np.testing.assert_array_equal(Y, y0)
    np.testing.assert_array_equal(ablat, a0)


def test_design_matrix_intercept_first():
    X, names = design_matrix({"g": ["b", "a", "b", "c"], "x": [1.0, 2.0, 3.0, 5.0]}, 4)
    assert names == ["intrcpt", "g[b]", "g[c]", "x"]
    np.testing.assert_array_equal(X[:, 1], [1, 0, 1, 0])
