"""Fits that share one design matrix (issue 16): permuted data instead of permuted designs.

A permutation test refits a meta-regression with the rows of its design shuffled against the data. The
engine gives every permuted fit the same design (its rows in a fixed order) and shuffles the data instead
(:func:`mgmeta.models.permuted_data`), so that the projection needs neither a k x k matrix nor one design
per fit (:class:`mgmeta.estimators._ProjectionSharedX`). These tests check the algebra against the
explicit projection, the equivalence of the two ways of permuting, and that a fit's numbers do not depend
on the batch it is fitted in (chunk sizes and threads change nothing, bit for bit).
"""
from __future__ import annotations

import numpy as np
import pytest

from mgmeta import estimators as E
from mgmeta.engine import even_chunk_size, fit_permutations, run_chunks, wald_qm
from mgmeta.models import fit_arrays, permuted_data


def _design(rng: np.random.Generator, k: int, p: int, scale: float = 1.0, year: float = 0.0) -> np.ndarray:
    cols = [np.ones(k)] + [rng.normal(size=k) * scale ** j + (year if j == 1 else 0.0) for j in range(1, p)]
    return np.column_stack(cols)


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5])
def test_shared_design_projection_equals_explicit_projection(p):
    rng = np.random.default_rng(p)
    k, n = 12, 7
    X = _design(rng, k, p, scale=10.0, year=1985.0)     # an uncentred year, columns of very different scales
    w = rng.uniform(0.1, 1.1, (n, k))
    y = rng.normal(size=(n, k))
    a, b = rng.random((n, k)), rng.random((n, k))
    new = E.projection(w, y, X)
    old = E._Projection(w, y, X)
    assert isinstance(new, E._ProjectionSharedX)
    for got, want in [(new.beta, old.beta), (new.B, old.B), (new.rss(), old.rss()), (new.ypp(), old.ypp()),
                      (new.trace(), old.trace()), (new.diag(), old.diag()), (new.quad(), old.quad()),
                      (new.quad(a, b), old.quad(a, b)), (new.quad(a, a), old.quad(a, a)),
                      (new.logdet(), np.linalg.slogdet(np.linalg.inv(old.B))[1])]:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_rank_deficient_design_keeps_the_explicit_projection():
    X = np.column_stack([np.ones(6), np.arange(6.0), 2 * np.arange(6.0)])
    assert E._shared_design(X) is None
    assert E._shared_design(X[:, :2]) is not None


@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_small_symmetric_inverse(p):
    rng = np.random.default_rng(10 + p)
    A = rng.normal(size=(50, p, p))
    G = A @ A.transpose(0, 2, 1) + 0.1 * np.eye(p)
    inv, logdet = E.sym_inv_last(np.moveaxis(G, 0, -1))
    np.testing.assert_allclose(np.moveaxis(inv, -1, 0), np.linalg.inv(G), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(logdet, np.linalg.slogdet(G)[1], rtol=1e-12, atol=1e-12)
    singular = np.zeros((p, p, 1))
    with np.errstate(all="raise"):                    # no warning, no exception: inf or NaN
        bad, _ = E.sym_inv_last(singular)
    assert not np.isfinite(bad).all()


def test_wald_qm_closed_form_equals_solve():
    rng = np.random.default_rng(3)
    for q in (1, 2, 3, 4):
        A = rng.normal(size=(40, q + 1, q + 1))
        vb = A @ A.transpose(0, 2, 1) + 0.1 * np.eye(q + 1)
        beta = rng.normal(size=(40, q + 1))
        btt = np.arange(1, q + 1)
        sol = np.linalg.solve(vb[:, btt[:, None], btt], beta[:, btt, None])[..., 0]
        want = np.einsum("ni,ni->n", beta[:, btt], sol)
        np.testing.assert_allclose(wald_qm(beta, vb, btt), want, rtol=1e-10)


def test_permuted_data_is_the_permuted_design():
    """Study i with design row X[rows[b, i]] is the sorted design with the studies in the inverse order."""
    rng = np.random.default_rng(7)
    k = 11
    X = _design(rng, k, 3)
    yi, vi = rng.normal(0, 0.5, k), rng.uniform(0.02, 0.3, k)
    rows = np.argsort(rng.random((25, k)), axis=1)
    design, y, v, _ = permuted_data(yi, vi, X, rows)
    np.testing.assert_array_equal(design, X)
    for method in ("REML", "DL", "PM"):
        batch = fit_arrays(y, v, X=design, method=method)
        for b in range(25):
            one = fit_arrays(yi, vi, X=X[rows[b]], method=method)
            for name in ("beta", "vb", "tau2", "statistic", "q"):
                np.testing.assert_allclose(getattr(batch, name)[b], getattr(one, name), rtol=1e-9, atol=1e-12,
                                           err_msg=f"{method} {name} {b}")


def test_permuted_data_of_a_multiset_of_design_rows():
    """Exact tests permute labels of the distinct design rows: one design serves them too."""
    uniq = np.array([[1.0, 0.0], [1.0, 1.0]])
    groups = np.array([0, 0, 0, 1, 1])
    rows = np.array([[0, 1, 0, 1, 0], [1, 1, 0, 0, 0], [0, 0, 0, 1, 1]])
    yi, vi = np.array([0.1, -0.3, 0.5, 0.2, 0.0]), np.array([0.05, 0.1, 0.2, 0.08, 0.12])
    design, y, v, _ = permuted_data(yi, vi, uniq, rows)
    np.testing.assert_array_equal(design, uniq[groups])
    for b in range(3):
        a = fit_arrays(y[b], v[b], X=design, method="DL")
        c = fit_arrays(yi, vi, X=uniq[rows[b]], method="DL")
        np.testing.assert_allclose(a.beta, c.beta, rtol=1e-12)


@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_a_fit_does_not_depend_on_its_batch(p):
    """Any sub-batch gives every fit the same numbers, bit for bit (no BLAS or shape-dependent sums)."""
    rng = np.random.default_rng(20 + p)
    k = 15
    X = _design(rng, k, p)
    y = rng.normal(0, 0.5, (300, k))
    v = rng.uniform(0.01, 0.3, (300, k))
    for method in ("REML", "ML", "EB", "DL", "PM"):
        ref = fit_arrays(y, v, X=X, method=method, raise_on_failure=False)
        for idx in (np.array([5]), np.array([0, 299]), np.sort(rng.choice(300, 37, replace=False)),
                    np.arange(1, 300)):
            sub = fit_arrays(y[idx], v[idx], X=X, method=method, raise_on_failure=False)
            for name in ("beta", "vb", "tau2", "se_tau2", "statistic", "q", "iterations"):
                np.testing.assert_array_equal(getattr(sub, name), getattr(ref, name)[idx],
                                              err_msg=f"{method} {name}")


def test_permutations_do_not_depend_on_chunks_or_threads():
    rng = np.random.default_rng(8)
    k = 16
    X = _design(rng, k, 3)
    yi, vi = rng.normal(0, 0.5, k), rng.uniform(0.02, 0.4, k)
    a = fit_permutations(yi, vi, X, 2500, seed=3, n_jobs=1)
    for chunk_size, n_jobs in ((1024, 2), (7, 1), (2500, 2)):
        b = fit_permutations(yi, vi, X, 2500, seed=3, chunk_size=chunk_size, n_jobs=n_jobs)
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_even_chunk_size():
    assert even_chunk_size(10000, 8192, 2) == 5000
    assert even_chunk_size(10000, 3072, 2) == 2500           # 4 chunks: a multiple of the threads
    assert even_chunk_size(10000, 8192, 1) == 5000             # 2 chunks of 5000, not 8192 + 1808
    assert even_chunk_size(10, 8192, 4) == 3
    assert even_chunk_size(10000, 8192, 2, multiple=1024) == 5120
    assert even_chunk_size(1, 8192, 2) == 1


def test_blas_holds_one_thread_while_the_engine_runs_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def kernel(payload, chunk):
        blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        return {"blas": np.full(chunk.size, max(blas) if blas else 1)}

    out = run_chunks(kernel, None, 8, chunk_size=2, n_jobs=2)
    assert np.all(out["blas"] == 1)
