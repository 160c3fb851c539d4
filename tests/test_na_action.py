"""``na_action="fail"|"omit"`` on every fitting function (issue 13, item 3), and ``se_tau2`` with a fixed tau².

Reference: tests/reference/usability.R -> usability.json, blocks ``na_action`` (metafor's default
na.action = "na.omit") and ``tau2_fixed``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _usability import REF, arr, frame
from conftest import TOL_ITERATIVE

import mgmeta
from mgmeta.analyses import meta_regression, subgroup_analysis
from mgmeta.errors import DataError, OmittedStudiesWarning

BCG = frame("bcg")
BCG_NA = frame("bcg_na")


def test_meta_regression_omits_like_metafor():
    case = REF["na_action"][0]
    with pytest.raises(DataError, match=r"study at position 2: mods \(ablat\) is missing.*na_action='omit'"):
        meta_regression("yi", "vi", mods="~ ablat", data=BCG_NA)
    with pytest.warns(OmittedStudiesWarning, match="2 studies with missing values omitted"):
        fit = meta_regression("yi", "vi", mods="~ ablat", data=BCG_NA, na_action="omit")
    assert fit.omitted == tuple(str(i + 1) for i in case["omitted"])     # positions 2 and 6 (0-based)
    out = case["out"]
    np.testing.assert_allclose(fit.coef, arr(out["coef"]), rtol=TOL_ITERATIVE)
    assert fit.tau2 == pytest.approx(out["tau2"], rel=TOL_ITERATIVE)
    assert fit.qm == pytest.approx(out["qm"], rel=TOL_ITERATIVE)
    assert fit.k == out["k"] == 11
    assert "Omitted for missing values: 3, 7" in str(fit)


def test_meta_analysis_omits_like_metafor():
    case = REF["na_action"][1]
    with pytest.raises(DataError, match="yi is missing"):
        mgmeta.meta_analysis("yi", "vi", data=BCG_NA, labels="author")
    with pytest.warns(OmittedStudiesWarning, match="Vandiviere et al"):
        res = mgmeta.meta_analysis("yi", "vi", data=BCG_NA, na_action="omit", labels="author")
    assert res.omitted == ("Vandiviere et al",)
    assert res.k == 12
    assert res.tau2 == pytest.approx(case["out"]["tau2"], rel=TOL_ITERATIVE)
    assert res.estimate == pytest.approx(case["out"]["estimate"], rel=TOL_ITERATIVE)
    # the follow-ups see the same 12 studies
    assert len(res.leave_one_out()) == 12 and "Vandiviere et al" not in res.leave_one_out().index


def test_effect_sizes_keeps_rows_with_missing_inputs_for_omit():
    d = BCG.copy()
    d.loc[4, "tpos"] = np.nan
    with pytest.raises(DataError, match="ai is missing.*na_action='omit'"):
        mgmeta.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=d.drop(columns=["yi", "vi"]))
    with pytest.warns(OmittedStudiesWarning):
        es = mgmeta.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg",
                                 data=d.drop(columns=["yi", "vi"]), na_action="omit")
    assert len(es) == 13 and np.isnan(es["yi"].iloc[4]) and np.isfinite(es["yi"]).sum() == 12
    with pytest.raises(DataError, match="na_action='omit'"):
        mgmeta.meta_analysis(es)
    with pytest.warns(OmittedStudiesWarning):
        res = mgmeta.meta_analysis(es, na_action="omit")
    assert res.k == 12 and res.omitted == ("5",)
    assert len(res.cumulative(order="year")) == 12


def test_binary_and_subgroups_omit():
    d = BCG.copy()
    d.loc[1, "cpos"] = np.nan
    with pytest.raises(DataError, match="ci is missing"):
        mgmeta.mantel_haenszel("tpos", "tneg", "cpos", "cneg", data=d)
    with pytest.warns(OmittedStudiesWarning):
        mh = mgmeta.mantel_haenszel("tpos", "tneg", "cpos", "cneg", data=d, na_action="omit")
    full = mgmeta.mantel_haenszel(d["tpos"].drop(1), d["tneg"].drop(1), d["cpos"].drop(1), d["cneg"].drop(1))
    assert mh.estimate == pytest.approx(full.estimate, rel=1e-12) and mh.omitted == ("2",)
    with pytest.warns(OmittedStudiesWarning):
        pt = mgmeta.peto("tpos", "tneg", "cpos", "cneg", data=d, na_action="omit")
    assert pt.k == 12
    g = BCG["alloc"].copy()
    g.iloc[0] = None
    with pytest.raises(DataError, match="groups is missing"):
        subgroup_analysis("yi", "vi", g, data=BCG)
    with pytest.warns(OmittedStudiesWarning):
        sub = subgroup_analysis("yi", "vi", g, data=BCG, na_action="omit")
    assert sub.overall.k == 12 and sub.omitted == ("1",)


def test_unknown_na_action():
    with pytest.raises(DataError, match="unknown na_action"):
        mgmeta.meta_analysis("yi", "vi", data=BCG, na_action="drop")
    # metafor's spelling is accepted
    assert mgmeta.meta_analysis("yi", "vi", data=BCG, na_action="na.omit").k == 13


@pytest.mark.parametrize("case", REF["tau2_fixed"], ids=[c["id"] for c in REF["tau2_fixed"]])
def test_se_tau2_with_fixed_tau2(case):
    res = mgmeta.meta_analysis("yi", "vi", data=BCG, method=case["method"], tau2=0.1)
    assert res.tau2 == 0.1 and res.tau2_fixed
    assert res.se_tau2 == pytest.approx(case["out"]["se_tau2"], rel=1e-10)
    assert res.estimate == pytest.approx(case["out"]["estimate"], rel=1e-12)


def test_se_tau2_with_fixed_tau2_meta_regression():
    case = REF["tau2_fixed_reg"]
    fit = meta_regression("yi", "vi", mods="~ ablat", data=BCG, tau2=0.05)
    assert fit.se_tau2 == pytest.approx(case["out"]["se_tau2"], rel=1e-10)
    np.testing.assert_allclose(fit.coef, arr(case["out"]["coef"]), rtol=1e-10)
    # follow-ups still keep tau² fixed
    assert (fit.influence()["tau2_del"] == 0.05).all()


def test_fixed_tau2_followups_stay_fixed():
    res = mgmeta.meta_analysis("yi", "vi", data=BCG, tau2=0.1)
    assert (res.leave_one_out()["tau2"] == 0.1).all()
    assert isinstance(pd.Series(res.predict()), pd.Series)
