"""subgroup_analysis against R metafor 3.8: common tau² (rma(mods = ~ factor(g))) and separate tau² per subgroup."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mgmeta
from conftest import ATOL, ITERATIVE, TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta.analyses import SubgroupResult, subgroup_analysis

REF = load_reference("analyses.json")
DATA = REF["datasets"]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), _arr(np.atleast_1d(expected)), rtol=rtol,
                               atol=atol, equal_nan=True)


def _run(case):
    d = DATA[case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        return subgroup_analysis(_arr(d["yi"]), _arr(d["vi"]), d["mods"][case["group"]], method=case["method"],
                                 test=case["test"], labels=d["labels"])


@pytest.mark.parametrize("case", REF["subgroup"], ids=[c["id"] for c in REF["subgroup"]])
def test_subgroups_match_metafor(case):
    sub = _run(case)
    o = case["out"]
    # separate tau²: the acceptance tolerance is 1e-7 (closed forms), 1e-6 where the subgroup tau² iterate
    tol_sep = TOL_ITERATIVE if case["method"] in ITERATIVE else TOL_CLOSED
    assert list(sub.groups) == [str(x) for x in o["levels"]]
    close(sub.q_between, o["q_between"], tol_sep)
    close(sub.pvalue, o["pvalue_between"], tol_sep)
    assert sub.df == o["df"]
    for col in ("k", "estimate", "se", "pvalue", "ci_lower", "ci_upper", "tau2", "i2", "q"):
        close(sub.table[col], o[col], tol_sep, atol=1e-10)
    assert list(sub.table["test"]) == o["test_used"]
    # common tau² (metafor's mixed-effects model): 1e-6
    close(sub.q_between_common, o["q_between_common"], TOL_ITERATIVE)
    close(sub.pvalue_common, o["pvalue_common"], TOL_ITERATIVE)
    close(sub.tau2_common, o["tau2_common"], TOL_ITERATIVE, atol=1e-10)
    close(sub.qe_common, o["qe_common"], TOL_ITERATIVE)
    assert sub.df_common == o["df_common"][0]
    assert sub.df2_common == (o["df_common"][1] if case["test"] == "knha" else None)


def test_single_study_subgroup_warns_and_has_tau2_zero():
    d = DATA["sub1"]
    with pytest.warns(mgmeta.MgmetaWarning, match="'single' has a single study: tau² = 0 and the z test"):
        sub = subgroup_analysis(_arr(d["yi"]), _arr(d["vi"]), d["mods"]["g"], test="knha")
    row = sub.table.loc["single"]
    assert row["k"] == 1 and row["tau2"] == 0 and row["test"] == "z"
    assert row["estimate"] == pytest.approx(d["yi"][7], rel=1e-14)


def test_result_shape_for_forest_plots():
    d = DATA["bcg_RR"]
    sub = subgroup_analysis(_arr(d["yi"]), _arr(d["vi"]), d["mods"]["alloc"], labels=d["labels"])
    assert isinstance(sub, SubgroupResult)
    assert set(sub.fits) == set(sub.groups) and sub.results is sub.fits
    assert sub.overall.k == 13
    assert sum(f.k for f in sub.fits.values()) == 13
    assert sub.fits["random"].labels[0] == d["labels"][0]
    assert sub.df_within == 13 - 3
    assert sub.q_within == pytest.approx(sub.table["q"].sum())
    assert list(sub.tests_frame().index) == ["separate_tau2", "common_tau2"]
    assert "Test for subgroup differences" in str(sub)
    assert "<table>" in sub._repr_html_()


def test_groups_from_a_column_and_categorical_order():
    d = DATA["bcg_RR"]
    es = mgmeta.effect_sizes("RR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], labels=d["labels"])
    es["alloc"] = pd.Categorical(d["mods"]["alloc"], categories=["systematic", "random", "alternate"])
    sub = subgroup_analysis(es, groups="alloc")
    assert sub.groups == ("systematic", "random", "alternate")
    ref = subgroup_analysis(_arr(d["yi"]), _arr(d["vi"]), d["mods"]["alloc"])
    assert sub.q_between == pytest.approx(ref.q_between, rel=1e-12)
    assert sub.q_between_common == pytest.approx(ref.q_between_common, rel=1e-10)


def test_errors():
    d = DATA["bcg_RR"]
    with pytest.raises(mgmeta.DataError, match="at least two subgroups"):
        subgroup_analysis(_arr(d["yi"]), _arr(d["vi"]), ["a"] * 13)
    with pytest.raises(mgmeta.DataError, match="groups has 3"):
        subgroup_analysis(_arr(d["yi"]), _arr(d["vi"]), ["a", "b", "a"])
    g = list(d["mods"]["alloc"])
    g[2] = None
    with pytest.raises(mgmeta.DataError, match="groups is missing.*na_action=.omit."):
        subgroup_analysis(_arr(d["yi"]), _arr(d["vi"]), g, labels=d["labels"])


def test_common_model_unavailable_with_too_few_studies():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", mgmeta.MgmetaWarning)
        sub = subgroup_analysis([0.1, 0.5], [0.04, 0.05], ["a", "b"])
    messages = [str(w.message) for w in caught]
    assert any("common-tau² model cannot be fitted" in m for m in messages)
    assert any("'a', 'b' have a single study" in m for m in messages)
    assert sub.q_between_common is None and sub.pvalue_common is None
    assert sub.q_between == pytest.approx((0.4) ** 2 / (0.04 + 0.05), rel=1e-12)
