"""Parametric bootstrap (mgmeta.bootstrap): draws = single fits of the drawn data, reproducible, sensible."""
from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import mgmeta
from mgmeta.bootstrap import DRAW_COLUMNS, BootstrapResult, bootstrap, draw_data
from mgmeta.engine import resolve_seed
from mgmeta.errors import DataError, MgmetaWarning

from conftest import ITERATIVE, load_reference

TOL_CLOSED = 1e-10
TOL_ITER = 1e-8
ATOL = 1e-12

_BCG = next(c for c in load_reference("core.json")["rma"] if c["id"] == "bcg_RR_REML_z")
BCG_YI = np.array(_BCG["yi"], dtype=float)        # dat.bcg, log risk ratios (k = 13)
BCG_VI = np.array(_BCG["vi"], dtype=float)


@pytest.mark.parametrize("method,test", [("REML", "z"), ("DL", "knha"), ("PM", "z"), ("EE", "z")])
def test_each_draw_is_the_single_fit_of_its_data(method, test):
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI, method=method, test=test)
    boot = bootstrap(res, n_boot=300, seed=21, chunk_size=64)
    tau2 = res.tau2 if res.random else 0.0
    data = draw_data(res.estimate, tau2, BCG_VI, 300, resolve_seed(21))
    tol = TOL_ITER if method in ITERATIVE else TOL_CLOSED
    for b in (0, 1, 63, 64, 150, 299):
        single = mgmeta.meta_analysis(data[b], BCG_VI, method=method, test=test)
        row = boot.draws.iloc[b]
        for name in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q"):
            np.testing.assert_allclose(row[name], getattr(single, name), rtol=tol, atol=ATOL,
                                       err_msg=f"draw {b}: {name}")
    # the data are drawn from N(mu^, v_i + tau²^)
    z = (data - res.estimate) / np.sqrt(BCG_VI + tau2)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05


def test_reproducible_and_independent_of_chunks():
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI)
    a = bootstrap(res, n_boot=2500, seed=4, n_jobs=1)
    b = bootstrap(res, n_boot=2500, seed=4, chunk_size=100, n_jobs=2)
    pd.testing.assert_frame_equal(a.draws, b.draws, check_exact=True)
    pd.testing.assert_frame_equal(a.intervals, b.intervals, check_exact=True)
    c = bootstrap(res, n_boot=2500, seed=5)
    assert not np.array_equal(a.draws["estimate"], c.draws["estimate"])
    d = bootstrap(res, n_boot=30)
    assert isinstance(d.seed, int)
    pd.testing.assert_frame_equal(bootstrap(res, n_boot=30, seed=d.seed).draws, d.draws, check_exact=True)
    # the first draws do not depend on how many are drawn
    e = bootstrap(res, n_boot=1000, seed=4)
    pd.testing.assert_frame_equal(e.draws, a.draws.iloc[:1000], check_exact=True)


def test_intervals_table():
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI, method="REML", level=0.9)
    boot = bootstrap(res, n_boot=1000, seed=8)
    assert isinstance(boot, BootstrapResult)
    tab = boot.intervals
    assert list(tab.index) == ["estimate", "tau2", "tau", "i2", "h2"]
    assert list(tab.columns) == ["observed", "mean", "bias", "se", "ci_lower", "ci_upper"]
    assert boot.level == 0.9 and boot.n_boot == 1000 and boot.n_failed == 0
    assert list(boot.draws.columns) == list(DRAW_COLUMNS)
    for name, obs in (("estimate", res.estimate), ("tau2", res.tau2), ("tau", res.tau), ("i2", res.i2),
                      ("h2", res.h2)):
        x = np.sqrt(boot.draws["tau2"]) if name == "tau" else boot.draws[name]
        assert tab.loc[name, "observed"] == obs
        assert tab.loc[name, "mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert tab.loc[name, "bias"] == pytest.approx(x.mean() - obs, rel=1e-9, abs=1e-12)
        assert tab.loc[name, "se"] == pytest.approx(x.std(ddof=1), rel=1e-12)
        lo, hi = np.quantile(x, [0.05, 0.95])
        assert tab.loc[name, "ci_lower"] == pytest.approx(lo, rel=1e-12)
        assert tab.loc[name, "ci_upper"] == pytest.approx(hi, rel=1e-12)
    # a level for the intervals only
    wide = bootstrap(res, n_boot=1000, seed=8, level=0.99)
    assert wide.intervals.loc["estimate", "ci_lower"] < tab.loc["estimate", "ci_lower"]
    pd.testing.assert_frame_equal(wide.draws, boot.draws)
    text = str(boot)
    assert "Parametric bootstrap (1,000 draws; tau^2 estimator: REML" in text and "tau^2" in text
    assert "<table" in boot._repr_html_()
    pd.testing.assert_frame_equal(boot.to_frame(), tab)


def test_equal_effects_model_matches_theory():
    """EE: the estimate is a linear function of normal data, so its bootstrap SD is the model's SE."""
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI, method="EE")
    boot = bootstrap(res, n_boot=4000, seed=2)
    assert list(boot.intervals.index) == ["estimate", "i2", "h2"]
    assert boot.tau2 == 0.0 and (boot.draws["tau2"] == 0).all()
    assert boot.intervals.loc["estimate", "se"] == pytest.approx(res.se, rel=0.04)
    assert boot.intervals.loc["estimate", "bias"] == pytest.approx(0, abs=4 * res.se / np.sqrt(4000))
    # Q of data drawn from the EE model is chi² with k - 1 df
    assert boot.draws["q"].mean() == pytest.approx(12, rel=0.05)


def test_failed_draws_are_flagged_and_left_out():
    case = next(c for c in load_reference("gosh.json")["cases"] if c["id"] == "hack7_REML")
    # metafor cannot fit REML to these 7 studies by default; bootstrap from nearby values (tau² = 0.0375 is
    # metafor's REML estimate with maxiter = 1000)
    model = SimpleNamespace(yi=np.array(case["yi"]), vi=np.array(case["vi"]), method="REML", test="z",
                            level=0.95, estimate=0.1, tau2=0.0375, i2=30.0, h2=1.4, measure=None)
    with pytest.warns(MgmetaWarning, match="did not converge"):
        boot = bootstrap(model, n_boot=500, seed=1)
    bad = ~boot.draws["converged"]
    assert boot.n_failed == int(bad.sum()) > 0
    assert boot.draws.loc[bad, ["estimate", "tau2", "i2"]].isna().all().all()
    ok = boot.draws.loc[~bad, "estimate"]
    assert boot.intervals.loc["estimate", "mean"] == pytest.approx(ok.mean(), rel=1e-12)


def test_bad_input():
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI)
    for bad in (1, 0, 2.5, True):
        with pytest.raises(DataError, match="n_boot"):
            bootstrap(res, n_boot=bad)
    with pytest.raises(DataError, match="level"):
        bootstrap(res, n_boot=10, level=1.2)
    with pytest.raises(DataError, match="fitted model"):
        bootstrap("model", n_boot=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        one = mgmeta.meta_analysis([0.2], [0.1])
    with pytest.raises(DataError, match="at least 2 studies"):
        bootstrap(one, n_boot=10)
    before = res.yi.copy()
    bootstrap(res, n_boot=10, seed=1)
    np.testing.assert_array_equal(res.yi, before)


def test_fixed_tau2_and_regressions():
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI, tau2=0.2)
    boot = bootstrap(res, n_boot=200, seed=1)
    assert (boot.draws["tau2"] == 0.2).all() and boot.tau2 == 0.2
    data = draw_data(res.estimate, 0.2, BCG_VI, 200, resolve_seed(1))
    single = mgmeta.meta_analysis(data[7], BCG_VI, tau2=0.2)
    assert boot.draws["estimate"].iloc[7] == pytest.approx(single.estimate, rel=TOL_CLOSED)
    from mgmeta.analyses.regression import meta_regression

    reg = meta_regression(BCG_YI, BCG_VI, {"x": np.arange(13.0)})
    with pytest.raises(DataError, match="without moderators"):
        bootstrap(reg, n_boot=10)
