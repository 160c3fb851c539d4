"""meta_analysis_mv against R metafor's rma.mv (tests/reference/multivariate.R -> multivariate.json)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import mgmeta
from mgmeta.errors import DataError
from conftest import ATOL, TOL_CI, TOL_CLOSED, TOL_ITERATIVE, load_reference

REF = load_reference("multivariate.json")
DATA = REF["datasets"]
MV = {c["id"]: c for c in REF["mv"]}

# each R case written out as the mgmeta call (the R call is in the JSON: case["call"])
KONST = dict(data="konstantopoulos2011", random="~ 1 | district/school")
BERKEY = dict(data="berkey1998", V="matrix", mods="~ outcome - 1", random="~ outcome | trial")
ASSINK = dict(data="assink2016", random="~ 1 | study/esid")
SIM3 = dict(data="sim3", mods="~ outcome - 1", random="~ outcome | study")
CASES: dict[str, dict] = {
    "konst_3l_REML": dict(KONST),
    "konst_3l_ML": dict(KONST, method="ML"),
    "konst_3l_REML_t": dict(KONST, test="t"),
    "konst_list_REML": dict(KONST, random=["~ 1 | district", "~ 1 | study"]),
    "konst_2l_REML": dict(KONST, random="~ 1 | study"),
    "konst_3l_fix0_REML": dict(KONST, sigma2=[0, np.nan]),
    "konst_3l_year_REML": dict(KONST, mods="~ I(year - 1990)"),
    "konst_3l_year_ML": dict(KONST, mods="~ I(year - 1990)", method="ML"),
    "konst_CS_REML": dict(KONST, random="~ school | district", struct="CS"),
    "berkey_UN_REML": dict(BERKEY, struct="UN"),
    "berkey_UN_ML": dict(BERKEY, struct="UN", method="ML"),
    "berkey_UN_year_REML": dict(BERKEY, struct="UN", mods="~ outcome + outcome:I(year - 1983) - 1"),
    "berkey_CS_REML": dict(BERKEY, struct="CS"),
    "berkey_HCS_REML": dict(BERKEY, struct="HCS"),
    "berkey_HCS_ML": dict(BERKEY, struct="HCS", method="ML"),
    "sim3_UN_REML": dict(SIM3, struct="UN"),
    "sim3_UN_ML": dict(SIM3, struct="UN", method="ML"),
    "sim3_HCS_REML": dict(SIM3, struct="HCS"),
    "sim3_CS_nested_REML": dict(SIM3, struct="CS", mods="~ outcome", random=["~ 1 | study", "~ outcome | study"]),
    "assink_3l_REML": dict(ASSINK),
    "assink_deltype_REML": dict(ASSINK, mods="~ deltype"),
    "assink_deltype_year_ML": dict(ASSINK, mods="~ deltype + year", method="ML"),
    "assink_3l_ML": dict(ASSINK, method="ML"),
    "assink_deltype_ML": dict(ASSINK, mods="~ deltype", method="ML"),
}


def frame(name: str) -> pd.DataFrame:
    return pd.DataFrame({k: v for k, v in DATA[name].items() if k not in ("call", "V")})


_FITS: dict[str, mgmeta.MultivariateResult] = {}


def fit(case_id: str) -> mgmeta.MultivariateResult:
    if case_id not in _FITS:
        spec = dict(CASES[case_id])
        df = frame(spec.pop("data"))
        V = np.array(DATA["berkey1998"]["V"]) if spec.pop("V", None) == "matrix" else df["vi"].to_numpy()
        _FITS[case_id] = mgmeta.meta_analysis_mv(df["yi"], V, data=df, **spec)
    return _FITS[case_id]


def close(actual, expected, rel, abs_=ATOL):
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=rel, atol=abs_)


def test_every_reference_case_has_a_python_call():
    assert set(CASES) == set(MV)
    assert not REF["failures"]


@pytest.mark.parametrize("case_id", sorted(MV))
def test_coefficients(case_id):
    res, out = fit(case_id), MV[case_id]["out"]
    assert list(res.names) == out["names"]
    close(res.beta, out["beta"], TOL_ITERATIVE)
    close(res.se, out["se"], TOL_ITERATIVE)
    close(res.statistic, out["zval"], TOL_ITERATIVE)
    close(res.pvalue, out["pval"], TOL_ITERATIVE, 1e-12)
    close(res.ci_lower, out["ci_lb"], TOL_ITERATIVE)
    close(res.ci_upper, out["ci_ub"], TOL_ITERATIVE)
    close(res.vb, out["vb"], 2 * TOL_ITERATIVE)


# sigma² of study and a CS structure within study are not separately identified (only sigma² + rho tau²
# and sigma² + tau² are): metafor and mgmeta stop at different points of the ridge, with the same likelihood
NOT_IDENTIFIED = {"sim3_CS_nested_REML"}


def test_non_identified_components_agree_where_identified():
    res, out = fit("sim3_CS_nested_REML"), MV["sim3_CS_nested_REML"]["out"]
    s2, t2, rho = res.sigma2[0], res.tau2[0], res.rho[0]
    s2_r, t2_r, rho_r = out["sigma2"][0], out["tau2"][0], out["rho"][0]
    assert s2 + t2 == pytest.approx(s2_r + t2_r, rel=TOL_ITERATIVE)
    assert s2 + rho * t2 == pytest.approx(s2_r + rho_r * t2_r, rel=TOL_ITERATIVE)


@pytest.mark.parametrize("case_id", sorted(set(MV) - NOT_IDENTIFIED))
def test_variance_components(case_id):
    res, out = fit(case_id), MV[case_id]["out"]
    if out["sigma2"] is not None:
        close(res.sigma2, out["sigma2"], TOL_ITERATIVE)
        assert list(res.s_nlevels) == out["s_nlevels"]
        assert list(res.s_names) == out["s_names"]
    else:
        assert len(res.sigma2) == 0
    if out["tau2"] is not None:
        close(res.tau2, out["tau2"], TOL_ITERATIVE)
        close(res.rho, out["rho"], TOL_ITERATIVE)
        assert list(res.g_levels) == out["g_levels"]
        assert list(res.g_levels_k) == out["g_levels_k"]
        assert list(res.g_nlevels) == out["g_nlevels"]
    else:
        assert res.tau2 is None and res.rho is None


@pytest.mark.parametrize("case_id", sorted(MV))
def test_tests_and_fit_statistics(case_id):
    res, out = fit(case_id), MV[case_id]["out"]
    # QE uses V alone: a closed form
    close(res.qe, out["QE"], TOL_CLOSED)
    assert res.qe_df == out["QE_df"]
    close(res.qe_pvalue, out["QEp"], TOL_CLOSED, 1e-14)
    close(res.qm, out["QM"], TOL_ITERATIVE)
    close(res.qm_pvalue, out["QMp"], TOL_ITERATIVE, 1e-12)
    assert res.qm_df == out["QM_df"]
    assert [b + 1 for b in res.btt] == out["btt"]
    close(res.ll, out["logLik"], TOL_ITERATIVE)
    close(res.deviance, out["deviance"], TOL_ITERATIVE)
    close(res.aic, out["AIC"], TOL_ITERATIVE)
    close(res.bic, out["BIC"], TOL_ITERATIVE)
    close(res.aicc, out["AICc"], TOL_ITERATIVE)
    assert res.parms == out["parms"]
    assert res.k == out["k"] and res.p == out["p"]
    if res.test == "t":
        assert res.df == out["ddf"][0]


@pytest.mark.parametrize("case_id", sorted(c for c in MV if "predict" in MV[c]))
def test_predict(case_id):
    res, ref = fit(case_id), MV[case_id]["predict"]
    pred = res.predict(ref.get("newmods"))
    close(pred["pred"], np.atleast_1d(ref["pred"]), TOL_ITERATIVE)
    close(pred["se"], np.atleast_1d(ref["se"]), TOL_ITERATIVE)
    close(pred["ci_lower"], np.atleast_1d(ref["ci_lb"]), TOL_ITERATIVE)
    close(pred["ci_upper"], np.atleast_1d(ref["ci_ub"]), TOL_ITERATIVE)
    close(pred["pi_lower"], np.atleast_1d(ref["pi_lb"]), TOL_ITERATIVE)
    close(pred["pi_upper"], np.atleast_1d(ref["pi_ub"]), TOL_ITERATIVE)


def _confint_rows(case):
    comps = case["confint"]["components"]
    for comp in comps.values() if isinstance(comps, dict) else comps:
        for i, name in enumerate(comp["names"]):
            yield (name, comp["estimate"][i], comp["lower"][i], comp["upper"][i], comp.get("lb_sign", ""),
                   comp.get("ub_sign", ""))


@pytest.mark.parametrize("case_id", sorted(c for c in MV if "confint" in MV[c]))
def test_profile_likelihood_ci(case_id):
    res = fit(case_id)
    ci = res.confint()
    rows = list(_confint_rows(MV[case_id]))
    assert list(ci.index) == [r[0] for r in rows]
    compared = 0
    for name, est, lo, hi, lo_sign, hi_sign in rows:
        assert ci.loc[name, "estimate"] == pytest.approx(est, rel=TOL_ITERATIVE)
        # R gives NA where its profile refits fail; compare every bound it found. A bound R prints as
        # "<-0.62" is the last value its refits could fit: the interval reaches at least that far
        for col, val, sign in (("ci_lower", lo, lo_sign), ("ci_upper", hi, hi_sign)):
            if val is None:
                continue
            if sign == "<":
                assert ci.loc[name, col] <= val, (name, col)
            elif sign == ">":
                assert ci.loc[name, col] >= val, (name, col)
            else:
                assert ci.loc[name, col] == pytest.approx(val, rel=TOL_CI, abs=1e-9), (name, col)
                compared += 1
    assert compared > 0


def test_confint_of_unstructured_g_with_three_levels_profiles_like_metafor():
    """UN with three levels (fitted through the Cholesky factor of G): metafor's profile fits, each tau² or
    rho held while the others are refitted; the bounds of tau^2.2 and rho.2 are found only from metafor's
    own starting values (the estimate's correlation matrix is singular)."""
    ci = fit("sim3_UN_REML").confint()
    assert ci.loc["tau^2.2", "ci_upper"] == pytest.approx(0.0972897741806843, rel=TOL_CI)
    assert ci.loc["rho.1", "ci_lower"] == -1.0 and ci.loc["rho.1", "ci_upper"] == 1.0


def test_confint_alias_and_level():
    res = fit("konst_2l_REML")
    pd.testing.assert_frame_equal(res.heterogeneity_ci(), res.confint())
    narrow = res.confint(level=0.8)
    assert narrow.loc["sigma^2", "ci_lower"] > res.confint().loc["sigma^2", "ci_lower"]


@pytest.mark.parametrize("case", REF["anova"], ids=lambda c: c["id"])
def test_anova_likelihood_ratio_test(case):
    out = case["out"]
    lrt = fit(case["full"]).anova(fit(case["reduced"]))
    assert (lrt.df_full, lrt.df_reduced) == (out["df_full"], out["df_reduced"])
    close(lrt.lrt, out["LRT"], TOL_ITERATIVE, 1e-8)
    close(lrt.pvalue, out["pval"], TOL_ITERATIVE, 1e-12)
    close(lrt.ll_full, out["ll_full"], TOL_ITERATIVE)
    close(lrt.ll_reduced, out["ll_reduced"], TOL_ITERATIVE)
    close([lrt.aic_full, lrt.bic_full, lrt.aicc_full], [out["AIC_full"], out["BIC_full"], out["AICc_full"]],
          TOL_ITERATIVE)
    close([lrt.aic_reduced, lrt.bic_reduced, lrt.aicc_reduced],
          [out["AIC_reduced"], out["BIC_reduced"], out["AICc_reduced"]], TOL_ITERATIVE)
    close([lrt.qe_full, lrt.qe_reduced], [out["QE_full"], out["QE_reduced"]], TOL_CLOSED)
    # the order of the two fits does not matter; mgmeta.anova (metafor's anova()) gives the same test
    swapped = fit(case["reduced"]).anova(fit(case["full"]))
    assert swapped.lrt == lrt.lrt
    assert mgmeta.anova(fit(case["full"]), fit(case["reduced"])).lrt == lrt.lrt
    assert "LRT" in str(lrt) and list(lrt.to_frame().index) == ["full", "reduced"]


def test_anova_refuses_reml_fits_with_different_fixed_effects():
    with pytest.raises(DataError, match="method='ML'"):
        fit("konst_3l_year_REML").anova(fit("konst_3l_REML"))


def test_anova_refuses_a_multilevel_fit_against_a_univariate_one():
    one = fit("konst_3l_REML")
    uni = mgmeta.meta_analysis(one.yi, np.ones(one.k) * 0.05)
    with pytest.raises(DataError, match="not one of each"):
        mgmeta.anova(one, uni)


def test_anova_refuses_equal_parameter_counts():
    with pytest.raises(DataError, match="same number of parameters"):
        fit("konst_3l_REML").anova(fit("konst_list_REML"))


def _numbers(text: str) -> list[str]:
    # metafor prints p-values in tables as 0.0289, mgmeta (as everywhere in the package) as .0289
    return re.findall(r"-?\d*\.\d{4}", re.sub(r"(?<![\d.])0(\.\d{4})", r"\1", text))


@pytest.mark.parametrize("case_id", ["konst_3l_REML", "berkey_UN_REML", "assink_deltype_REML", "konst_CS_REML",
                                     "konst_3l_REML_t"])
def test_printout_shows_metafors_numbers(case_id):
    text = str(fit(case_id))
    r_text = MV[case_id]["print"]
    assert text.startswith(f"Multivariate Meta-Analysis Model (k = {MV[case_id]['out']['k']}; method:")
    for section in ("Variance Components:", "Model Results:"):
        assert section in text
    # every 4-decimal number metafor prints (fit statistics, components, Q tests, coefficients) appears in ours
    missing = [x for x in _numbers(r_text) if x not in _numbers(text)]
    assert not missing, missing
    assert "<table>" in fit(case_id)._repr_html_()


def test_to_frame_and_fitstats():
    res = fit("assink_deltype_REML")
    tab = res.to_frame()
    assert list(tab.columns) == ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper"]
    assert list(tab.index) == ["intrcpt", "deltypegeneral", "deltypeovert"]
    assert res.fitstats()["aic"] == res.aic


def test_list_of_terms_equals_nested_formula():
    # district/school nests schools in districts; school numbers repeat across districts, study does not
    a, b = fit("konst_3l_REML"), fit("konst_list_REML")
    close(a.sigma2, b.sigma2, 1e-8)
    close(a.beta, b.beta, 1e-8)


def test_permuting_rows_changes_nothing():
    df = frame("assink2016")
    perm = np.random.default_rng(1).permutation(len(df))
    a = fit("assink_deltype_REML")
    d2 = df.iloc[perm].reset_index(drop=True)
    b = mgmeta.meta_analysis_mv("yi", "vi", random="~ 1 | study/esid", mods="~ deltype", data=d2)
    close(b.beta, a.beta, 1e-8)
    close(b.sigma2, a.sigma2, 1e-7)
    assert b.ll == pytest.approx(a.ll, rel=1e-12)


def test_full_covariance_matrix_equals_vector_when_diagonal():
    df = frame("konstantopoulos2011")
    a = fit("konst_3l_REML")
    b = mgmeta.meta_analysis_mv(df["yi"], np.diag(df["vi"]), random="~ 1 | district/school", data=df)
    close(b.sigma2, a.sigma2, 1e-9)


def test_moderators_as_columns_match_the_formula():
    df = frame("konstantopoulos2011")
    a = fit("konst_3l_year_REML")
    b = mgmeta.meta_analysis_mv(df["yi"], df["vi"], random="~ 1 | district/school", data=df,
                                mods=pd.DataFrame({"year_c": df["year"] - 1990}))
    close(b.beta, a.beta, 1e-9)
    assert b.names == ("intrcpt", "year_c")


# ---- bad input --------------------------------------------------------------

def test_errors_name_the_argument():
    df = frame("konstantopoulos2011")
    y, v = df["yi"], df["vi"]
    with pytest.raises(DataError, match="random"):
        mgmeta.meta_analysis_mv(y, v, data=df)
    with pytest.raises(DataError, match="'region' names no column"):
        mgmeta.meta_analysis_mv(y, v, random="~ 1 | region", data=df)
    with pytest.raises(DataError, match="cannot read the random term"):
        mgmeta.meta_analysis_mv(y, v, random="1 + district", data=df)
    with pytest.raises(DataError, match="V has 3 sampling variances"):
        mgmeta.meta_analysis_mv(y, v[:3], random="~ 1 | district", data=df)
    with pytest.raises(DataError, match="position 2: sampling variance must be positive"):
        mgmeta.meta_analysis_mv(y, np.r_[v[:2], 0, v[3:]], random="~ 1 | district", data=df)
    with pytest.raises(DataError, match="symmetric"):
        bad = np.diag(v)
        bad[0, 1] = 0.01
        mgmeta.meta_analysis_mv(y, bad, random="~ 1 | district", data=df)
    with pytest.raises(DataError, match="unknown struct"):
        mgmeta.meta_analysis_mv(y, v, random="~ school | district", struct="AR", data=df)
    with pytest.raises(DataError, match="unknown method"):
        mgmeta.meta_analysis_mv(y, v, random="~ 1 | district", data=df, method="DL")
    with pytest.raises(DataError, match="needs data="):
        mgmeta.meta_analysis_mv(y, v, random="~ 1 | district")
    with pytest.raises(DataError, match="position 0: yi is missing"):
        mgmeta.meta_analysis_mv(np.r_[np.nan, y[1:]], v, random="~ 1 | district", data=df)
    with pytest.raises(DataError, match="mods"):
        mgmeta.meta_analysis_mv(y, v, random="~ 1 | district", data=df, mods="~ nothing_here")
    with pytest.raises(DataError, match="sigma2 has 1 values"):
        mgmeta.meta_analysis_mv(y, v, random="~ 1 | district/school", data=df, sigma2=[0.1])


def test_predict_needs_newmods_for_moderators():
    with pytest.raises(DataError, match="newmods"):
        fit("konst_3l_year_REML").predict()
    with pytest.raises(DataError, match="columns"):
        fit("konst_3l_year_REML").predict(np.ones((2, 3)))


def test_predict_with_tau2_levels():
    res = fit("berkey_UN_REML")
    pred = res.predict(np.eye(2), tau2_levels=["AL", "PD"])
    assert np.all(np.isnan(res.predict(np.eye(2))["pi_lower"]))
    half = (pred["pi_upper"] - pred["pred"]).to_numpy()
    se = pred["se"].to_numpy()
    close(half, 1.959963984540054 * np.sqrt(se ** 2 + res.tau2), 1e-12)
    with pytest.raises(DataError, match="not a level"):
        res.predict(np.eye(2), tau2_levels=["XX", "PD"])
