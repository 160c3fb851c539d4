"""meta_analysis with metafor's further tau² estimators (HSk GENQ PMM SJIT DLIT, aliases CE MP), the tests
"t" and "adhoc", user weights and weighted=False, against R metafor 3.8 (tests/reference/breadth.json)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import mgmeta
from conftest import ATOL, TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta.estimators import estimate_tau2

BREADTH = load_reference("breadth.json")
RMA = BREADTH["rma"]
MODS = BREADTH["mods"]
FAILED = {f["id"] for f in BREADTH["failures"]}
ITERATIVE = {"REML", "ML", "PM", "EB", "MP", "PMM", "SJIT", "DLIT"}
QUANTITIES = ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
              "tau2", "se_tau2", "i2", "h2", "q", "q_pvalue", "k"]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol, atol=ATOL):
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, float)), _arr(np.atleast_1d(expected)),
                               rtol=rtol, atol=atol, equal_nan=True)


def fit(case):
    kw = {}
    if case["weights"] is not None:
        kw["weights"] = _arr(case["weights"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        return mgmeta.meta_analysis(_arr(case["yi"]), _arr(case["vi"]), method=case["method"], test=case["test"],
                                    level=case["level"], weighted=case["weighted"], **kw)


@pytest.mark.parametrize("case", RMA, ids=[c["id"] for c in RMA])
def test_meta_analysis_matches_rma(case):
    res = fit(case)
    tol = TOL_ITERATIVE if case["method"] in ITERATIVE else TOL_CLOSED
    out = case["out"]
    ee = case["method"] in ("EE", "CE")
    for name in QUANTITIES:
        mine = getattr(res, name)
        if name in ("pi_lower", "pi_upper") and ee:
            continue                      # metafor's predict gives the CI there; mgmeta gives no PI for EE
        if name == "se_tau2" and ee:
            continue
        mine = np.nan if mine is None else mine
        close(mine, out[name], tol, atol=1e-10 if name != "pvalue" else 1e-300)
    close(res.weights, out["weights"], tol)
    assert res.df == out["df"]
    if case["test"] in ("knha", "adhoc"):
        close(res.s2w, out["s2w"], tol)


@pytest.mark.parametrize("cid", sorted(FAILED))
def test_non_convergence_raises_as_metafor_stops(cid):
    case = {c["id"]: c for c in RMA}.get(cid)
    assert case is None                    # R refused these fits, so they are not in rma[]
    dataset, method, test = cid.split("_")[0], cid.split("_")[1], cid.split("_")[2]
    ref = next(c for c in RMA if c["dataset"] == dataset)
    with pytest.raises(mgmeta.ConvergenceError, match="DLIT"):
        mgmeta.meta_analysis(_arr(ref["yi"]), _arr(ref["vi"]), method=method, test=test)


@pytest.mark.parametrize("case", MODS, ids=[c["id"] for c in MODS])
def test_estimators_with_moderators_match_rma(case):
    w = None if case["weights"] is None else _arr(case["weights"])
    est = estimate_tau2(case["method"], _arr(case["yi"]), _arr(case["vi"]), X=np.array(case["X"], float),
                        weights=w)
    tol = TOL_ITERATIVE if case["method"] in ITERATIVE else TOL_CLOSED
    close(est.tau2, case["out"]["tau2"], tol)
    if case["method"] != "EE":
        close(est.se_tau2, case["out"]["se_tau2"], tol)


def test_every_new_method_and_test_is_covered():
    methods = {c["method"] for c in RMA}
    assert {"HSk", "GENQ", "PMM", "SJIT", "DLIT", "CE", "MP"} <= methods
    assert {"t", "adhoc"} <= {c["test"] for c in RMA}
    assert any(c["weights"] is not None for c in RMA) and any(not c["weighted"] for c in RMA)


def test_aliases_are_stored_under_the_canonical_name():
    y, v = [0.1, 0.5, -0.2, 0.3], [0.05, 0.1, 0.08, 0.2]
    assert mgmeta.meta_analysis(y, v, method="CE").method == "EE"
    a, b = mgmeta.meta_analysis(y, v, method="MP"), mgmeta.meta_analysis(y, v, method="PM")
    assert a.method == "PM" and a.tau2 == b.tau2


def test_genq_needs_weights():
    with pytest.raises(mgmeta.DataError, match="weights"):
        mgmeta.meta_analysis([0.1, 0.5, -0.2], [0.05, 0.1, 0.08], method="GENQ")


@pytest.mark.parametrize("weights, match", [([1, 2], "weights has 2"), ([1, -2, 3], "negative"), ([0, 0, 0], "all 0"),
                                             ([1, np.nan, 3], "weights is missing")])
def test_bad_weights_raise(weights, match):
    with pytest.raises(mgmeta.DataError, match=match):
        mgmeta.meta_analysis([0.1, 0.5, -0.2], [0.05, 0.1, 0.08], weights=weights)


def test_inverse_variance_weights_reproduce_the_standard_fit():
    y, v = np.array([0.1, 0.5, -0.2, 0.3]), np.array([0.05, 0.1, 0.08, 0.2])
    std = mgmeta.meta_analysis(y, v, method="DL")
    user = mgmeta.meta_analysis(y, v, method="DL", weights=1 / (v + std.tau2))
    assert user.estimate == pytest.approx(std.estimate, rel=1e-12)
    assert user.se == pytest.approx(std.se, rel=1e-12)


def test_weighted_fits_refuse_follow_ups_that_assume_inverse_variance_weights():
    res = mgmeta.meta_analysis([0.1, 0.5, -0.2, 0.3], [0.05, 0.1, 0.08, 0.2], weights=[1, 2, 3, 4])
    with pytest.raises(mgmeta.MgmetaError, match="user weights"):
        res.leave_one_out()
    with pytest.raises(mgmeta.MgmetaError, match="user weights"):
        res.blup()
    with pytest.raises(mgmeta.MgmetaError, match="user weights"):
        mgmeta.selection_model(res, steps=[0.025])
    assert "user weights" in str(res)
    # refit keeps the weights
    assert res.refit(test="knha").user_weights.tolist() == [1, 2, 3, 4]


def test_t_tests_print_t_and_df():
    res = mgmeta.meta_analysis([0.1, 0.5, -0.2, 0.3], [0.05, 0.1, 0.08, 0.2], test="t")
    assert res.df == 3 and "tval" in str(res)


NEW = ["HSk", "PMM", "SJIT", "DLIT"]


@pytest.mark.parametrize("method", NEW + ["GENQ"])
def test_permuting_studies_changes_nothing(method):
    case = {c["id"]: c for c in RMA}["molloy_REML_z"]
    y, v = _arr(case["yi"]), _arr(case["vi"])
    w = 1 / np.sqrt(v)
    perm = np.random.default_rng(1).permutation(len(y))
    kw = {"weights": w} if method == "GENQ" else {}
    kp = {"weights": w[perm]} if method == "GENQ" else {}
    a = mgmeta.meta_analysis(y, v, method=method, **kw)
    b = mgmeta.meta_analysis(y[perm], v[perm], method=method, **kp)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-9, abs=1e-12)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-9)


@pytest.mark.parametrize("method", NEW)
def test_batched_leave_one_out_equals_single_fits(method):
    case = {c["id"]: c for c in RMA}["molloy_REML_z"]
    y, v = _arr(case["yi"]), _arr(case["vi"])
    res = mgmeta.meta_analysis(y, v, method=method, test="t")
    loo = res.leave_one_out()
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        one = mgmeta.meta_analysis(y[keep], v[keep], method=method, test="t")
        assert loo["tau2"].iloc[i] == pytest.approx(one.tau2, rel=1e-10, abs=1e-14)
        assert loo["ci_upper"].iloc[i] == pytest.approx(one.ci_upper, rel=1e-10)
