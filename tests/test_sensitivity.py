"""leave_one_out, influence and cumulative against R metafor 3.8 (tests/reference/analyses.json, analyses.R)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mgmeta
from mgmeta._inputs import make_unique
from conftest import ATOL, ITERATIVE, TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta.analyses import meta_regression
from mgmeta.analyses.sensitivity import cumulative, influence, leave_one_out

REF = load_reference("analyses.json")
DATA = REF["datasets"]
FIT_COLUMNS = ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "q_pvalue"]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), _arr(np.atleast_1d(expected)), rtol=rtol,
                               atol=atol, equal_nan=True)


def _mods(d, names):
    cols = {}
    for n in names:
        vals = d["mods"][n]
        cols[n] = np.array(vals, dtype=object) if isinstance(vals[0], str) else _arr(vals)
    return pd.DataFrame(cols)


def _fit(case):
    d = DATA[case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        return mgmeta.meta_analysis(_arr(d["yi"]), _arr(d["vi"]), method=case["method"], test=case["test"],
                                    labels=d["labels"])


def _tol(case):
    return TOL_ITERATIVE if case["method"] in ITERATIVE else TOL_CLOSED


@pytest.mark.parametrize("case", REF["leave1out"], ids=[c["id"] for c in REF["leave1out"]])
def test_leave_one_out_matches_leave1out(case):
    res = _fit(case)
    loo = res.leave_one_out()
    assert list(loo.columns) == FIT_COLUMNS
    assert list(loo.index) == make_unique(list(DATA[case["dataset"]]["labels"]))  # metafor makes slabs unique
    for col in FIT_COLUMNS:
        # p-values near 0: absolute tolerance on the scale of the smallest R prints
        close(loo[col], case["out"][col], _tol(case), atol=1e-300 if col == "pvalue" else ATOL)


INFLUENCE_COLUMNS = ["rstudent", "dffits", "cooks", "covratio", "tau2_del", "q_del", "hat", "weight"]


@pytest.mark.parametrize("case", REF["influence"], ids=[c["id"] for c in REF["influence"]])
def test_influence_matches_metafor(case):
    if case["mods"]:
        d = DATA[case["dataset"]]
        fit = meta_regression(_arr(d["yi"]), _arr(d["vi"]), _mods(d, case["mods"]), method=case["method"],
                              test=case["test"], labels=d["labels"])
        inf = fit.influence()
        dfb = [inf[f"dfbetas_{j}"] for j in range(fit.p)]
    else:
        inf = _fit(case).influence()
        dfb = [inf["dfbetas"]]
    # case-deletion quantities depend on the deleted fits' tau²: iterative tolerance for iterative methods;
    # with moderators such as uncentered years, X'WX is ill-conditioned and both implementations lose
    # digits in differences of predictions (dffits), so the acceptance tolerance 1e-6 applies there
    tol = _tol(case) if case["method"] in ITERATIVE or case["mods"] else 1e-9
    for col in INFLUENCE_COLUMNS:
        close(inf[col], case["out"][col], tol, atol=1e-9)
    for mine, ref in zip(dfb, case["out"]["dfbetas"].values()):
        close(mine, ref, tol, atol=1e-9)
    assert list(inf["influential"]) == case["out"]["influential"]


@pytest.mark.parametrize("case", REF["cumul"], ids=[c["id"] for c in REF["cumul"]])
def test_cumulative_matches_cumul(case):
    res = _fit(case)
    positions = [int(p) for p in case["order_positions"]]
    failed = bool(np.isnan(_arr(case["out"]["estimate"])).any())   # fits R could not do: NaN and a warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", mgmeta.MgmetaWarning)
        by_positions = res.cumulative(order=positions)
        if case["order_values"] is None:
            frames = [res.cumulative(), by_positions]
        else:
            frames = [by_positions, res.cumulative(order=pd.Series(_arr(case["order_values"]))),
                      cumulative(res, order=list(_arr(case["order_values"]) + 0.25))]
    assert any("did not converge" in str(w.message) for w in caught) == failed
    labels = make_unique(list(DATA[case["dataset"]]["labels"]))   # metafor makes slabs unique
    for cum in frames:
        assert list(cum.index) == [labels[p] for p in positions]
        assert list(cum["position"]) == positions
        assert list(cum["k"]) == list(range(1, len(positions) + 1))
        for col in FIT_COLUMNS:
            close(cum[col], case["out"][col], _tol(case), atol=1e-300 if col == "pvalue" else ATOL)


# --------------------------------------------------------------------------
# properties and edge cases
# --------------------------------------------------------------------------

BCG = DATA["bcg_RR"]


def _bcg(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        return mgmeta.meta_analysis(_arr(BCG["yi"]), _arr(BCG["vi"]), labels=BCG["labels"], **kw)


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "EE"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_leave_one_out_rows_are_the_fits_without_each_study(method, test):
    res = _bcg(method=method, test=test)
    loo = leave_one_out(res)
    y, v = res.yi, res.vi
    for i in (0, 5, 12):
        keep = np.arange(res.k) != i
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
            sub = mgmeta.meta_analysis(y[keep], v[keep], method=method, test=test)
        assert loo["estimate"].iloc[i] == pytest.approx(sub.estimate, rel=1e-12)
        assert loo["tau2"].iloc[i] == pytest.approx(sub.tau2, rel=1e-12, abs=1e-15)
        assert loo["pvalue"].iloc[i] == pytest.approx(sub.pvalue, rel=1e-10)


def test_k2_each_deletion_is_a_single_study_with_z_test():
    d = DATA["bcg2_RR"]
    res = mgmeta.meta_analysis(_arr(d["yi"]), _arr(d["vi"]), test="knha")
    loo = res.leave_one_out()
    np.testing.assert_allclose(loo["estimate"], _arr(d["yi"])[::-1], rtol=1e-14)
    np.testing.assert_allclose(loo["se"], np.sqrt(_arr(d["vi"])[::-1]), rtol=1e-14)
    assert (loo["tau2"] == 0).all() and (loo["q"] == 0).all() and (loo["i2"] == 0).all()
    inf = res.influence()
    assert inf["tau2_del"].tolist() == [0.0, 0.0]
    cum = res.cumulative()
    assert cum["estimate"].iloc[0] == pytest.approx(d["yi"][0], rel=1e-14)


def test_one_study_raises():
    res = mgmeta.meta_analysis([0.1], [0.04], method="EE")
    with pytest.raises(mgmeta.MgmetaError, match="at least 2 studies"):
        res.leave_one_out()
    with pytest.raises(mgmeta.MgmetaError, match="at least 2 studies"):
        res.influence()


def test_not_a_model_raises():
    with pytest.raises(mgmeta.DataError, match="fitted model"):
        leave_one_out([0.1, 0.2])
    with pytest.raises(mgmeta.DataError, match="fitted model"):
        cumulative({"yi": [1]})


def test_tau2_zero_data():
    d = DATA["homog"]
    res = mgmeta.meta_analysis(_arr(d["yi"]), _arr(d["vi"]))
    assert res.tau2 == 0
    loo = res.leave_one_out()
    assert (loo["tau2"] == 0).all()
    inf = res.influence()
    assert not inf.isna().any().any()


def test_fixed_tau2_is_kept_in_refits():
    res = _bcg(tau2=0.2)
    loo = res.leave_one_out()
    assert np.allclose(loo["tau2"], 0.2)
    keep = np.arange(res.k) != 3
    sub = mgmeta.meta_analysis(res.yi[keep], res.vi[keep], tau2=0.2)
    assert loo["estimate"].iloc[3] == pytest.approx(sub.estimate, rel=1e-13)


def test_cumulative_order_forms():
    res = _bcg()
    years = np.array(DATA["bcg_RR"]["mods"]["year"])
    ref = res.cumulative(order=list(np.argsort(years, kind="stable")))
    pd.testing.assert_frame_equal(res.cumulative(order=pd.Series(years)), ref)
    pd.testing.assert_frame_equal(res.cumulative(order=years + 0.5), ref)
    dec = cumulative(res, order=pd.Series(years), decreasing=True)
    # R's order(decreasing = TRUE): ties keep their input order
    expect = sorted(range(len(years)), key=lambda i: (-years[i], i))
    assert list(dec["position"]) == expect
    with pytest.raises(mgmeta.DataError, match="one entry per study"):
        res.cumulative(order=[0, 1, 2])


def test_cumulative_missing_values_go_last_and_column_names():
    es = mgmeta.effect_sizes("RR", ai=[4, 6, 3, 62, 33], n1i=[123, 306, 231, 13598, 5069],
                             ci=[11, 29, 11, 248, 47], n2i=[139, 303, 220, 12867, 5808],
                             labels=["A", "B", "C", "D", "E"])
    es["year"] = [1960, np.nan, 1948, 1977, 1950]
    res = mgmeta.meta_analysis(es)
    cum = res.cumulative(order="year")
    assert list(cum.index) == ["C", "E", "A", "D", "B"]
    with pytest.raises(mgmeta.DataError, match="names no column"):
        res.cumulative(order="nope")


def test_inputs_not_modified():
    y = _arr(BCG["yi"])
    v = _arr(BCG["vi"])
    y0, v0 = y.copy(), v.copy()
    res = mgmeta.meta_analysis(y, v)
    res.leave_one_out()
    res.influence()
    res.cumulative(order=list(range(len(y)))[::-1])
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(v, v0)
    np.testing.assert_array_equal(res.yi, y0)


def test_influence_flags_the_dominant_study():
    # one huge study with an outlying effect dominates
    y = np.array([0.1, 0.12, 0.08, 0.11, 0.09, 0.9])
    v = np.array([0.04, 0.05, 0.04, 0.05, 0.04, 0.001])
    inf = mgmeta.meta_analysis(y, v, method="DL").influence()
    assert bool(inf["influential"].iloc[5])
    assert inf["hat"].iloc[5] == inf["hat"].max()
    assert inf["weight"].sum() == pytest.approx(100)
