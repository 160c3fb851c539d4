"""GOSH (mgmeta.analyses.gosh): every subset fit against metafor's gosh() and against single fits."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mgmeta
from mgmeta.analyses.gosh import DEFAULT_MAX_SUBSETS, GoshResult, gosh, subset_membership
from mgmeta.errors import DataError, MgmetaWarning

from conftest import ITERATIVE, load_reference

# batched fits against single fits and against metafor (the tolerances)
TOL_CLOSED = 1e-10
TOL_ITER = 1e-8
ATOL = 1e-12          # tau² and I² that are ~0

REF = load_reference("gosh.json")
CASES = {c["id"]: c for c in REF["cases"]}

# the first 12 log risk ratios of dat.bcg (Colditz et al. 1994), as core.R passed them to rma()
_BCG = next(c for c in load_reference("core.json")["rma"] if c["id"] == "bcg_RR_REML_z")
BCG_YI = np.array(_BCG["yi"][:12], dtype=float)
BCG_VI = np.array(_BCG["vi"][:12], dtype=float)


def _tol(method: str) -> float:
    return TOL_ITER if method in ITERATIVE else TOL_CLOSED


class _Fit:
    """Stands in for a model metafor could not fit (gosh only needs yi, vi, method)."""

    def __init__(self, yi, vi, method):
        self.yi, self.vi, self.method = np.asarray(yi), np.asarray(vi), method
        self.labels, self.measure = None, None


def _ref_array(case, name):
    return np.array([np.nan if x is None else x for x in case[name]], dtype=float)


@pytest.mark.parametrize("case_id", list(CASES))
def test_every_subset_matches_metafor(case_id):
    """gosh() equals metafor 3.8's gosh() on all 127 subsets (matched by membership)."""
    case = CASES[case_id]
    if case["full_model_converged"]:
        res = mgmeta.meta_analysis(case["yi"], case["vi"], method=case["method"])
    else:
        res = _Fit(case["yi"], case["vi"], case["method"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        g = gosh(res)
    assert g.exact and len(g) == 127 == len(case["k"])
    incl = np.array(case["incl"], dtype=bool)
    ids = (incl * (1 << np.arange(incl.shape[1]))).sum(axis=1)
    np.testing.assert_array_equal(g.membership[ids - 1], incl)
    ours = g.frame.iloc[ids - 1]
    np.testing.assert_array_equal(ours["k"].to_numpy(), case["k"])
    tol = _tol(case["method"])
    tau2_ref = _ref_array(case, "tau2") if case["tau2"] is not None else np.zeros(127)
    failed = np.isnan(_ref_array(case, "estimate"))
    # metafor's NA fits are exactly ours that did not converge
    np.testing.assert_array_equal(~ours["converged"].to_numpy(), failed)
    for name, ref in [("estimate", _ref_array(case, "estimate")), ("tau2", tau2_ref),
                      ("i2", _ref_array(case, "i2")), ("q", _ref_array(case, "q"))]:
        got = ours[name].to_numpy()
        np.testing.assert_array_equal(np.isnan(got[~failed]), False)
        np.testing.assert_allclose(got[~failed], ref[~failed], rtol=tol, atol=ATOL, err_msg=name)
    h2, h2_ref = ours["h2"].to_numpy(), _ref_array(case, "h2")
    if case["method"] == "DL":
        # metafor's gosh() shortcut for DL reports H² = Q/df even when tau² is truncated at 0 (Q < df);
        # rma() and mgmeta give H² = 1 there (see the Notes of gosh)
        trunc = (ours["tau2"].to_numpy() == 0) & (ours["k"].to_numpy() > 1)
        assert trunc.any()
        np.testing.assert_allclose(h2_ref[trunc], ours["q"].to_numpy()[trunc] / (ours["k"].to_numpy()[trunc] - 1),
                                   rtol=1e-12)
        np.testing.assert_array_equal(h2[trunc], 1.0)
        keep = ~trunc & ~failed
    else:
        keep = ~failed
    np.testing.assert_allclose(h2[keep], h2_ref[keep], rtol=tol, atol=ATOL)


@pytest.mark.parametrize("method", ["EE", "DL", "HE", "SJ", "HS", "REML", "ML", "PM", "EB"])
def test_subset_fits_equal_single_fits(method):
    """Random subsets: each row equals meta_analysis() on the same studies (1e-10 closed, 1e-8 iterative)."""
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI, method=method)
    g = res.gosh()
    rng = np.random.default_rng(7)
    rows = rng.choice(len(g), size=25, replace=False)
    rows = np.concatenate([rows, [0, 2, len(g) - 1]])       # a single study, two studies, all studies
    tol = _tol(method)
    for row in rows:
        m = g.membership[row]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MgmetaWarning)    # k = 1 warns that tau² is set to 0
            single = mgmeta.meta_analysis(BCG_YI[m], BCG_VI[m], method=method)
        got = g.frame.iloc[row]
        assert got["k"] == single.k
        for name in ("estimate", "tau2", "i2", "h2", "q"):
            np.testing.assert_allclose(got[name], getattr(single, name), rtol=tol, atol=ATOL,
                                       err_msg=f"{method} row {row} {name}")


def test_exhaustive_membership_order_and_frame():
    res = mgmeta.meta_analysis(BCG_YI[:5], BCG_VI[:5], method="DL", labels=list("ABCDE"))
    g = res.gosh()
    assert isinstance(g, GoshResult)
    assert (len(g), g.n_subsets, g.n_possible, g.k, g.exact, g.seed) == (31, 31, 31, 5, True, None)
    np.testing.assert_array_equal(g.membership, subset_membership(np.arange(1, 32), 5))
    assert g.membership[0].tolist() == [True, False, False, False, False]
    assert g.membership[-1].all()
    assert list(g.frame.columns) == ["k", "estimate", "tau2", "i2", "h2", "q", "converged"]
    np.testing.assert_array_equal(g.frame["k"], g.membership.sum(axis=1))
    full = g.frame.iloc[-1]
    assert full["estimate"] == pytest.approx(res.estimate, rel=1e-12)
    wide = g.to_frame(membership=True)
    assert list(wide.columns[-5:]) == ["in_A", "in_B", "in_C", "in_D", "in_E"]
    assert list(g.membership_frame().columns) == list("ABCDE")
    # single-study subsets: the study itself, no heterogeneity
    singles = g.frame[g.frame["k"] == 1]
    np.testing.assert_allclose(sorted(singles["estimate"]), sorted(BCG_YI[:5]), rtol=1e-14)
    assert (singles[["tau2", "i2", "q"]] == 0).all().all() and (singles["h2"] == 1).all()


def test_results_do_not_depend_on_chunks_or_threads():
    res = mgmeta.meta_analysis(BCG_YI[:10], BCG_VI[:10], method="REML")
    ref = res.gosh(n_jobs=1)
    for kw in ({"chunk_size": 1}, {"chunk_size": 100, "n_jobs": 2}, {"chunk_size": 1024, "n_jobs": 3}):
        other = res.gosh(**kw)
        pd.testing.assert_frame_equal(other.frame, ref.frame, check_exact=True)
        np.testing.assert_array_equal(other.membership, ref.membership)


def test_random_sample_of_subsets():
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI, method="DL")
    g = res.gosh(max_subsets=300, seed=11)
    assert not g.exact and len(g) == 300 and g.n_possible == 4095 and g.seed == 11
    ids = (g.membership * (1 << np.arange(12))).sum(axis=1)
    assert len(np.unique(ids)) == 300 and ids.min() >= 1               # distinct, non-empty
    again = res.gosh(max_subsets=300, seed=11, chunk_size=64, n_jobs=2)
    pd.testing.assert_frame_equal(again.frame, g.frame, check_exact=True)
    other = res.gosh(max_subsets=300, seed=12)
    assert not np.array_equal(other.membership, g.membership)
    # without a seed, the entropy drawn is recorded and reproduces the sample
    fresh = res.gosh(max_subsets=50)
    assert isinstance(fresh.seed, int)
    np.testing.assert_array_equal(res.gosh(max_subsets=50, seed=fresh.seed).membership, fresh.membership)
    # the cap at or above 2^k - 1 means every subset
    assert res.gosh(max_subsets=4095).exact


def test_sample_for_many_studies():
    """k > 62: subsets are drawn study by study (no subset numbers), still reproducible."""
    rng = np.random.default_rng(3)
    yi, vi = rng.normal(0.2, 0.3, 70), rng.uniform(0.01, 0.1, 70)
    res = mgmeta.meta_analysis(yi, vi, method="DL")
    g = res.gosh(max_subsets=200, seed=5)
    assert len(g) == 200 and g.membership.shape == (200, 70) and g.membership.any(axis=1).all()
    assert g.n_possible == 2 ** 70 - 1
    np.testing.assert_array_equal(res.gosh(max_subsets=200, seed=5, chunk_size=7).membership, g.membership)
    row = 17
    m = g.membership[row]
    single = mgmeta.meta_analysis(yi[m], vi[m], method="DL")
    assert g.frame["estimate"].iloc[row] == pytest.approx(single.estimate, rel=TOL_CLOSED)


def test_nonconvergence_is_flagged_not_silent():
    case = CASES["hack7_REML"]
    with pytest.warns(MgmetaWarning, match="did not converge"):
        g = gosh(_Fit(case["yi"], case["vi"], "REML"))
    bad = ~g.frame["converged"]
    assert bad.sum() > 0 and bad.iloc[-1]
    assert g.frame.loc[bad, ["estimate", "tau2", "i2", "h2"]].isna().all().all()
    assert g.frame.loc[~bad, ["estimate", "tau2", "i2", "h2", "q"]].notna().all().all()
    assert g.n_converged == int((~bad).sum())
    text = str(g)
    assert f"Number of model fits succeeded: {g.n_converged}" in text


def test_summary_print_and_by_study():
    res = mgmeta.meta_analysis(BCG_YI[:6], BCG_VI[:6], method="REML", labels=[f"s{i}" for i in range(6)])
    g = res.gosh()
    tab = g.summary()
    assert list(tab.index) == ["q", "i2", "h2", "tau2", "estimate"]
    assert list(tab.columns) == ["mean", "min", "q1", "median", "q3", "max"]
    assert tab.loc["estimate", "mean"] == pytest.approx(g.frame["estimate"].mean())
    text = str(g)
    assert "all subsets of k = 6 studies" in text and "REML" in text and "63 of 63" in text
    assert "<table" in g._repr_html_()
    by = g.by_study()
    assert list(by.index) == [f"s{i}" for i in range(6)]
    assert (by["n_with"] == 32).all()
    j = 2
    inc = g.membership[:, j]
    assert by.loc["s2", "estimate_with"] == pytest.approx(g.frame["estimate"][inc].mean())
    assert by.loc["s2", "estimate_shift"] == pytest.approx(g.frame["estimate"][inc].mean()
                                                           - g.frame["estimate"][~inc].mean())


def test_bad_input():
    res = mgmeta.meta_analysis(BCG_YI[:4], BCG_VI[:4])
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(DataError, match="max_subsets"):
            res.gosh(max_subsets=bad)
    with pytest.raises(DataError, match="chunk_size"):
        res.gosh(chunk_size=0)
    with pytest.raises(DataError, match="seed"):
        res.gosh(max_subsets=3, seed=-1)
    with pytest.warns(MgmetaWarning):
        one = mgmeta.meta_analysis([0.1], [0.01])
    with pytest.raises(DataError, match="at least 2 studies"):
        one.gosh()
    with pytest.raises(DataError, match="fitted model"):
        gosh(object())


def test_inputs_untouched_and_default_cap():
    yi, vi = BCG_YI[:8].copy(), BCG_VI[:8].copy()
    res = mgmeta.meta_analysis(yi, vi)
    before = (res.yi.copy(), res.vi.copy())
    g = res.gosh()
    g.frame.iloc[0, 1] = 99.0             # the result is the caller's to change
    np.testing.assert_array_equal(res.yi, before[0])
    np.testing.assert_array_equal(res.vi, before[1])
    np.testing.assert_array_equal(yi, BCG_YI[:8])
    assert DEFAULT_MAX_SUBSETS == 2 ** 20


def test_fixed_tau2_model_keeps_its_tau2_and_regressions_are_refused():
    res = mgmeta.meta_analysis(BCG_YI[:6], BCG_VI[:6], method="REML", tau2=0.1)
    g = res.gosh()
    assert (g.frame["tau2"] == 0.1).all()
    m = g.membership[40]
    single = mgmeta.meta_analysis(BCG_YI[:6][m], BCG_VI[:6][m], tau2=0.1)
    assert g.frame["estimate"].iloc[40] == pytest.approx(single.estimate, rel=TOL_CLOSED)
    from mgmeta.analyses.regression import meta_regression

    reg = meta_regression(BCG_YI, BCG_VI, {"x": np.arange(12.0)})
    with pytest.raises(DataError, match="without moderators"):
        gosh(reg)


def test_warns_before_huge_results(monkeypatch):
    import mgmeta.analyses.gosh as gosh_module

    monkeypatch.setattr(gosh_module, "RESULT_WARN_BYTES", 1000)
    res = mgmeta.meta_analysis(BCG_YI[:6], BCG_VI[:6], method="DL")
    with pytest.warns(MgmetaWarning, match="GiB of results"):
        res.gosh()
