"""The scalar paths of one intercept-only fit (issue 16) take the batched code's steps exactly.

A single fit runs through scalar versions of the estimators (Fisher scoring, DerSimonian-Laird,
Paule-Mandel with Brent's root finder) and of ``fit_arrays``; a batch of one runs through the batched
code. Both must take the same iterates: the same tau² to the last bit and the same number of
iterations, under metafor's default control and under ``control=``.
"""
from __future__ import annotations

import numpy as np
import pytest

import mgmeta
from mgmeta.control import Control
from mgmeta.estimators import estimate_tau2
from mgmeta.errors import ConvergenceError, DataError
from mgmeta.models import fit_arrays

CONTROLS = [None, Control(stepadj=0.5), Control(tau2_init=0.3, threshold=1e-8), Control(maxiter=3),
            Control(tol=1e-10, maxiter=5)]


def _data(seed: int):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 40))
    vi = rng.uniform(0.01, 1.0, k) ** 2 * rng.uniform(0.1, 10)
    yi = rng.normal(0.3, np.sqrt(vi + rng.uniform(0, 0.5)))
    return yi, vi


@pytest.mark.parametrize("method", ["REML", "ML", "EB", "DL", "PM"])
@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: "default" if c is None else repr(c.to_dict()))
def test_scalar_estimator_takes_the_batched_iterates(method, control):
    for seed in range(150):
        yi, vi = _data(seed)
        one = estimate_tau2(method, yi, vi, raise_on_failure=False, control=control)
        batch = estimate_tau2(method, yi[None], vi[None], raise_on_failure=False, control=control)
        assert float(one.tau2) == float(batch.tau2[0]), seed
        assert int(one.iterations) == int(batch.iterations[0]), seed
        assert bool(one.converged) == bool(batch.converged[0]), seed
        np.testing.assert_allclose(one.se_tau2, batch.se_tau2[0], rtol=1e-14)


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "EE", "HE", "SJ"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_scalar_fit_arrays_matches_a_batch_of_one(method, test):
    for seed in range(40):
        yi, vi = _data(seed)
        one = fit_arrays(yi, vi, method=method, test=test, raise_on_failure=False)
        batch = fit_arrays(yi[None], vi[None], method=method, test=test, raise_on_failure=False)
        for name in ("beta", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "vb", "pi_lower", "pi_upper",
                     "tau2", "i2", "h2", "q", "q_pvalue", "weights", "vt", "s2w", "iterations"):
            a, b = np.asarray(getattr(one, name)), np.asarray(getattr(batch, name))[0]
            assert a.shape == b.shape, name
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-300, err_msg=f"{name}, seed {seed}")


def test_pm_bracket_too_narrow_is_flagged_on_both_paths():
    # Q(100) > k - 1: the root lies beyond metafor's upper bound; both paths flag non-convergence
    yi = np.array([0.0, 0.0, 0.0, 0.0, 100.0, -100.0])     # mad 0: upper bound 100, tau² near 3,333
    vi = np.full(6, 0.01)
    one = estimate_tau2("PM", yi, vi, raise_on_failure=False)
    batch = estimate_tau2("PM", yi[None], vi[None], raise_on_failure=False)
    assert not bool(one.converged) and not bool(batch.converged[0])
    assert float(one.tau2) == float(batch.tau2[0])
    with pytest.raises(ConvergenceError):
        estimate_tau2("PM", yi, vi)


def test_plain_arrays_still_checked():
    # the shortcut for plain float arrays hands anything unusual to the general checks
    with pytest.raises(DataError, match="vi"):
        mgmeta.meta_analysis(np.array([0.1, 0.2]), np.array([0.1, -0.2]))
    with pytest.raises(DataError, match="missing"):
        mgmeta.meta_analysis(np.array([0.1, np.nan]), np.array([0.1, 0.2]))
    with pytest.raises(DataError, match="inf"):
        mgmeta.meta_analysis(np.array([0.1, 0.2]), np.array([0.1, np.inf]))
    with pytest.raises(DataError, match="length"):
        mgmeta.meta_analysis(np.array([0.1, 0.2, 0.3]), np.array([0.1, 0.2]))
    yi = np.array([0.1, 0.3, 0.2])
    res = mgmeta.meta_analysis(yi, np.array([0.1, 0.2, 0.3]))
    yi[0] = 5.0                                   # the fit keeps its own copy
    assert res.yi[0] == 0.1 and res.labels == ("1", "2", "3")
