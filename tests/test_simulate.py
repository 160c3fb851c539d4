"""Simulation studies (mgmeta.simulate): the replicates are single fits, summaries are right and reproducible."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mgmeta
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.simulate import SUMMARY_COLUMNS, SimulationResult, simulate, simulate_data

TOL_CLOSED = 1e-10
TOL_ITER = 1e-8

SETTING = dict(k=8, mu=0.3, tau2=0.04, vi=("uniform", 0.01, 0.15))


@pytest.mark.filterwarnings("ignore:simulate. the tau. estimator did not converge:mgmeta.errors.MgmetaWarning")
def test_replicates_are_single_fits():
    sim = simulate(**SETTING, n_sim=1500, methods=("DL", "REML", "SJ"), seed=3, keep_draws=True)
    yi, vi = simulate_data(**SETTING, n_sim=1500, seed=3)
    assert yi.shape == vi.shape == (1500, 8)
    draws = sim.draws
    for r in (0, 1, 1023, 1024, 1499):
        for method in ("DL", "REML", "SJ"):
            for test in ("z", "knha"):
                row = draws[(draws.replicate == r) & (draws.method == method) & (draws.test == test)].iloc[0]
                if not row["converged"]:
                    continue
                single = mgmeta.meta_analysis(yi[r], vi[r], method=method, test=test)
                tol = TOL_ITER if method == "REML" else TOL_CLOSED
                for name in ("estimate", "se", "ci_lower", "ci_upper", "pvalue", "tau2"):
                    np.testing.assert_allclose(row[name], getattr(single, name), rtol=tol, atol=1e-12,
                                               err_msg=f"replicate {r} {method} {test} {name}")
    # some replicates, from the middle of the run
    part = simulate_data(**SETTING, n_sim=1500, seed=3, start=1000, stop=1100)
    np.testing.assert_array_equal(part[0], yi[1000:1100])


def test_summary_is_computed_from_the_replicates():
    sim = simulate(**SETTING, n_sim=3000, methods=("EE", "DL", "PM"), seed=7, keep_draws=True, level=0.9)
    assert isinstance(sim, SimulationResult)
    s = sim.summary
    assert list(s.columns) == list(SUMMARY_COLUMNS)
    assert s[["method", "test"]].values.tolist() == [["EE", "z"], ["EE", "knha"], ["DL", "z"], ["DL", "knha"],
                                                     ["PM", "z"], ["PM", "knha"]]
    d = sim.draws
    mu, tau2 = SETTING["mu"], SETTING["tau2"]
    for row in s.itertuples():
        g = d[(d.method == row.method) & (d.test == row.test) & d.converged]
        e = g.estimate - mu
        assert row.n_sim == 3000 and row.n_failed == 3000 - len(g)
        assert row.bias == pytest.approx(e.mean(), rel=1e-9, abs=1e-14)
        assert row.emp_se == pytest.approx(e.std(ddof=1), rel=1e-9)
        assert row.rmse == pytest.approx(np.sqrt((e ** 2).mean()), rel=1e-9)
        assert row.mean_se == pytest.approx(g.se.mean(), rel=1e-9)
        cov = ((g.ci_lower <= mu) & (mu <= g.ci_upper)).mean()
        assert row.coverage == pytest.approx(cov, rel=1e-12)
        assert row.coverage_mcse == pytest.approx(np.sqrt(cov * (1 - cov) / len(g)), rel=1e-9)
        assert row.ci_width == pytest.approx((g.ci_upper - g.ci_lower).mean(), rel=1e-9)
        assert row.rejection_rate == pytest.approx((g.pvalue < 0.1).mean(), rel=1e-9)
        assert row.tau2_bias == pytest.approx((g.tau2 - tau2).mean(), rel=1e-9, abs=1e-14)
        assert row.tau2_rmse == pytest.approx(np.sqrt(((g.tau2 - tau2) ** 2).mean()), rel=1e-9)
        if row.method == "EE":
            assert np.isnan(row.pi_coverage)
        else:
            assert 0.5 < row.pi_coverage < 1
    text = str(sim)
    assert "3,000 meta-analyses of k = 8 studies" in text and "uniform(0.01, 0.15)" in text
    assert "<table" in sim._repr_html_()
    pd.testing.assert_frame_equal(sim.to_frame(), s)


@pytest.mark.filterwarnings("ignore:simulate. the tau. estimator did not converge:mgmeta.errors.MgmetaWarning")
def test_reproducible_and_independent_of_chunks_and_threads():
    kw = dict(**SETTING, n_sim=5000, methods=("DL", "REML"), seed=11)
    a = simulate(**kw, n_jobs=1)
    b = simulate(**kw, chunk_size=1024, n_jobs=2)
    c = simulate(**kw, chunk_size=3000, n_jobs=1)
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    pd.testing.assert_frame_equal(a.summary, c.summary, check_exact=True)
    other = simulate(**{**kw, "seed": 12})
    assert not np.array_equal(other.summary["bias"], a.summary["bias"])
    fresh = simulate(**{**kw, "seed": None, "n_sim": 100})
    assert isinstance(fresh.seed, int)
    again = simulate(**{**kw, "seed": fresh.seed, "n_sim": 100})
    pd.testing.assert_frame_equal(fresh.summary, again.summary, check_exact=True)


def test_statistical_properties():
    """Known answers: EE with tau² = 0 covers at the nominal level; estimates are unbiased."""
    sim = simulate(k=6, mu=-0.2, tau2=0.0, vi=[0.02, 0.05, 0.1, 0.04, 0.08, 0.03], n_sim=8000,
                   methods=("EE",), tests=("z",), seed=1)
    row = sim.summary.iloc[0]
    assert abs(row.coverage - 0.95) < 4 * row.coverage_mcse
    assert abs(row.bias) < 4 * row.emp_se / np.sqrt(8000)
    # the model-based SE of the EE estimate is exact
    assert row.mean_se == pytest.approx(row.emp_se, rel=0.03)
    # power of the z test: P(|Z + mu/se| > 1.96)
    se = 1 / np.sqrt(np.sum(1 / np.array([0.02, 0.05, 0.1, 0.04, 0.08, 0.03])))
    power = stats.norm.sf(1.959964 - 0.2 / se) + stats.norm.cdf(-1.959964 - 0.2 / se)
    assert abs(row.rejection_rate - power) < 4 * np.sqrt(power * (1 - power) / 8000)
    # random effects: HKSJ covers close to nominal, the z interval of DL under-covers with k = 5
    sim = simulate(k=5, mu=0.0, tau2=0.1, vi=0.05, n_sim=6000, methods=("DL",), seed=2)
    z, knha = sim.summary.iloc[0], sim.summary.iloc[1]
    assert z.coverage < 0.94 and abs(knha.coverage - 0.95) < 0.015
    assert abs(knha.rejection_rate - 0.05) < 0.015           # mu = 0: type I error


def test_variance_settings():
    fixed = simulate(mu=0, tau2=0.1, vi=[0.1, 0.2, 0.3], n_sim=50, methods=("DL",), tests=("z",), seed=1)
    assert fixed.k == 3 and fixed.vi == "fixed (0.1 to 0.3)"
    one = simulate(k=4, vi=0.2, n_sim=50, methods=("DL",), tests=("z",), seed=1)
    assert one.k == 4 and one.vi == "fixed (0.2)"
    logn = simulate(k=4, vi=("lognormal", -3, 0.5), n_sim=50, methods=("DL",), seed=1)
    assert logn.vi == "lognormal(-3, 0.5)"

    def sample_sizes(gen, shape):
        n = gen.integers(20, 200, size=shape)
        return 4.0 / n            # the variance of a standardised mean difference near 0, 1:1 arms

    fn = simulate(k=5, vi=sample_sizes, n_sim=50, methods=("REML",), seed=1)
    assert fn.vi == "drawn by sample_sizes"
    yi, vi = simulate_data(k=5, vi=sample_sizes, n_sim=50, seed=1)
    assert np.all((vi >= 4 / 200) & (vi <= 4 / 20))
    # the same normal deviates under any variance setting (common random numbers)
    y1, v1 = simulate_data(k=4, vi=0.2, n_sim=30, seed=9)
    y2, v2 = simulate_data(k=4, vi=("uniform", 0.1, 0.3), n_sim=30, seed=9)
    np.testing.assert_allclose((y1 / np.sqrt(v1)), (y2 / np.sqrt(v2)), rtol=1e-12)


def test_nonconvergence_is_reported():
    with pytest.warns(MgmetaWarning, match="did not converge"):
        sim = simulate(k=10, mu=0.2, tau2=0.05, vi=("uniform", 0.01, 0.2), n_sim=3000, methods=("DL", "REML"),
                       seed=1)
    s = sim.summary.set_index(["method", "test"])
    assert s.loc[("REML", "z"), "n_failed"] > 0 and s.loc[("DL", "z"), "n_failed"] == 0
    assert s.loc[("REML", "z"), "n_failed"] == s.loc[("REML", "knha"), "n_failed"]


def test_bad_input():
    with pytest.raises(DataError, match="vi"):
        simulate(k=3, n_sim=10)
    with pytest.raises(DataError, match="k"):
        simulate(vi=0.1, n_sim=10)
    with pytest.raises(DataError, match="k"):
        simulate(k=1, vi=0.1, n_sim=10)
    with pytest.raises(DataError, match="vi has 3 entries"):
        simulate(k=4, vi=[0.1, 0.2, 0.3], n_sim=10)
    with pytest.raises(DataError, match="position 1"):
        simulate(vi=[0.1, -0.2, 0.3], n_sim=10)
    with pytest.raises(DataError, match="uniform"):
        simulate(k=3, vi=("uniform", 0.3, 0.1), n_sim=10)
    with pytest.raises(DataError, match="vi must be"):
        simulate(k=3, vi=("gamma", 1, 2), n_sim=10)
    with pytest.raises(DataError, match="shape"):
        simulate(k=3, vi=lambda g, shape: np.ones(3), n_sim=10)
    with pytest.raises(DataError, match="positive"):
        simulate(k=3, vi=lambda g, shape: -np.ones(shape), n_sim=10)
    with pytest.raises(DataError, match="tau2"):
        simulate(k=3, vi=0.1, tau2=-1, n_sim=10)
    with pytest.raises(DataError, match="mu"):
        simulate(k=3, vi=0.1, mu=np.inf, n_sim=10)
    with pytest.raises(DataError, match="n_sim"):
        simulate(k=3, vi=0.1, n_sim=1)
    with pytest.raises(DataError, match="methods"):
        simulate(k=3, vi=0.1, n_sim=10, methods=("DL", "XX"))
    with pytest.raises(DataError, match="twice"):
        simulate(k=3, vi=0.1, n_sim=10, methods=("DL", "DL"))
    with pytest.raises(DataError, match="tests"):
        simulate(k=3, vi=0.1, n_sim=10, tests=("t",))
    with pytest.raises(DataError, match="level"):
        simulate(k=3, vi=0.1, n_sim=10, level=95)
    assert simulate(k=3, vi=0.1, n_sim=10, methods="DL", tests="z", seed=1).summary.shape[0] == 1
