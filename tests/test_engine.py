"""The batched engine (mgmeta.engine): chunking, seeds, threads, progress, and batch fits = single fits."""
from __future__ import annotations

import threading
import tracemalloc
import warnings

import numpy as np
import pytest

import mgmeta
from mgmeta import engine
from mgmeta.engine import (
    FIT_FIELDS,
    MAX_CHUNK,
    RNG_BLOCK,
    Chunk,
    ItemRandom,
    chunk_size_for,
    fit_batch,
    fit_permutations,
    plan_chunks,
    resolve_seed,
    run_chunks,
    wald_qm,
)
from mgmeta.errors import DataError, MgmetaError, MgmetaWarning
from mgmeta.models import fit_arrays

from conftest import ITERATIVE, load_reference

TOL_CLOSED = 1e-10      # batched vs single fit, closed-form estimators (the tolerance)
TOL_ITER = 1e-8         # batched vs single fit, iterative estimators
ATOL = 1e-12
METHODS = ["EE", "DL", "HE", "SJ", "HS", "REML", "ML", "PM", "EB"]

_BCG = next(c for c in load_reference("core.json")["rma"] if c["id"] == "bcg_RR_REML_z")
BCG_YI = np.array(_BCG["yi"], dtype=float)        # dat.bcg, log risk ratios (k = 13)
BCG_VI = np.array(_BCG["vi"], dtype=float)


def _tol(method):
    return TOL_ITER if method in ITERATIVE else TOL_CLOSED


# --------------------------------------------------------------------------
# seeds and random streams
# --------------------------------------------------------------------------

def test_resolve_seed():
    assert resolve_seed(5).entropy == 5
    ss = np.random.SeedSequence(9)
    assert resolve_seed(ss) is ss
    assert isinstance(resolve_seed(None).entropy, int)
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    assert resolve_seed(g1).entropy == resolve_seed(g2).entropy
    assert resolve_seed(np.int64(3)).entropy == 3
    for bad in (-1, 1.5, True, "7", [1, 2]):
        with pytest.raises(DataError, match="seed"):
            resolve_seed(bad)


@pytest.mark.parametrize("size", [1, 7, 333, RNG_BLOCK, 2500, 5000])
def test_item_random_does_not_depend_on_chunks(size):
    n = 5000
    ss = resolve_seed(42)
    whole = ItemRandom(ss, n, 0, n).draw(lambda g, m: g.standard_normal((m, 3)))
    parts = [ItemRandom(ss, n, s, e).draw(lambda g, m: g.standard_normal((m, 3))) for s, e in plan_chunks(n, size)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_item_random_streams_are_independent_and_seeded():
    ss = resolve_seed(1)
    rnd = ItemRandom(ss, 100, 0, 100)
    a = rnd.draw(lambda g, m: g.random(m))
    b = rnd.draw(lambda g, m: g.random(m))
    assert not np.array_equal(a, b)                       # second call: the next stream
    c = ItemRandom(resolve_seed(2), 100, 0, 100).draw(lambda g, m: g.random(m))
    assert not np.array_equal(a, c)
    again = ItemRandom(resolve_seed(1), 100, 0, 100).draw(lambda g, m: g.random(m))
    np.testing.assert_array_equal(a, again)
    with pytest.raises(MgmetaError, match="leading axis"):
        ItemRandom(ss, 10, 0, 10).draw(lambda g, m: g.random(m + 1))


# --------------------------------------------------------------------------
# chunk plans
# --------------------------------------------------------------------------

def test_chunk_sizes_are_bounded_blocks():
    for k in (1, 2, 16, 20, 100, 1000):
        for p in (None, 1, 3):
            n = chunk_size_for(k, p)
            assert RNG_BLOCK <= n <= MAX_CHUNK and n % RNG_BLOCK == 0
    assert chunk_size_for(20) >= chunk_size_for(40) >= chunk_size_for(400)
    assert chunk_size_for(20, 3) < chunk_size_for(20)       # meta-regressions form k x k matrices
    # the working set of a chunk of 20-study fits stays near the budget
    assert chunk_size_for(20) * 20 * 8 * 64 <= engine.CHUNK_BYTES
    assert plan_chunks(10, 4) == [(0, 4), (4, 8), (8, 10)]


# --------------------------------------------------------------------------
# the runner
# --------------------------------------------------------------------------

def _square_kernel(payload, chunk: Chunk):
    x = chunk.items["x"]
    out = {"sq": x ** payload["power"], "pos": np.arange(chunk.start, chunk.stop)}
    if chunk.random is not None:
        out["u"] = chunk.random.draw(lambda g, m: g.random(m))
    return out


@pytest.mark.parametrize("chunk_size,n_jobs", [(1, 1), (64, 1), (64, 2), (1000, 3), (5000, 2)])
def test_run_chunks_concatenates_in_item_order(chunk_size, n_jobs):
    x = np.arange(3000, dtype=float)
    out = run_chunks(_square_kernel, {"power": 2}, 3000, chunk_size=chunk_size, items={"x": x},
                     seed=resolve_seed(3), n_jobs=n_jobs, progress=False)
    np.testing.assert_array_equal(out["sq"], x ** 2)
    np.testing.assert_array_equal(out["pos"], np.arange(3000))
    ref = ItemRandom(resolve_seed(3), 3000, 0, 3000).draw(lambda g, m: g.random(m))
    np.testing.assert_array_equal(out["u"], ref)


def _index_kernel(payload, chunk):
    return {"index": chunk.index, "n": chunk.size}


def test_reduce_receives_chunks_in_order():
    got = run_chunks(_index_kernel, None, 1000, chunk_size=30, reduce=lambda parts: [p["index"] for p in parts],
                     n_jobs=3)
    assert got == list(range(34))


def _bad_shape_kernel(payload, chunk):
    return {"x": np.zeros(chunk.size + 1)}


def _failing_kernel(payload, chunk):
    if chunk.index == 3:
        raise ValueError("boom in chunk 3")
    return {"x": np.zeros(chunk.size)}


def test_runner_errors():
    with pytest.raises(MgmetaError, match="leading axis"):
        run_chunks(_bad_shape_kernel, None, 10, chunk_size=4)
    for n_jobs in (1, 2):
        with pytest.raises(ValueError, match="boom in chunk 3"):
            run_chunks(_failing_kernel, None, 100, chunk_size=10, n_jobs=n_jobs)
    with pytest.raises(DataError, match="chunk_size"):
        run_chunks(_index_kernel, None, 10, chunk_size=0)
    with pytest.raises(DataError, match="n_jobs"):
        run_chunks(_index_kernel, None, 10, chunk_size=5, n_jobs=0)
    with pytest.raises(DataError, match="nothing to run"):
        run_chunks(_index_kernel, None, 0, chunk_size=5)
    with pytest.raises(DataError, match="leading axis"):
        run_chunks(_square_kernel, {"power": 1}, 10, chunk_size=5, items={"x": np.zeros(9)})
    with pytest.raises(DataError, match="client"):
        run_chunks(_index_kernel, None, 10, chunk_size=5, client=42)


def _thread_kernel(payload, chunk):
    return {"thread": np.full(chunk.size, threading.get_ident())}


def test_threads_share_the_work():
    out = run_chunks(_thread_kernel, None, 64, chunk_size=1, n_jobs=2)
    assert out["thread"].shape == (64,)
    assert threading.get_ident() not in set(out["thread"].tolist())     # ran on the pool's threads


def test_progress_bar(capsys):
    run_chunks(_index_kernel, None, 50, chunk_size=10, reduce=len, progress=True, desc="testing")
    err = capsys.readouterr().err
    assert "testing" in err and "50/50" in err
    run_chunks(_index_kernel, None, 50, chunk_size=10, reduce=len, progress=False, desc="quiet")
    run_chunks(_index_kernel, None, 50, chunk_size=10, reduce=len, progress=None, desc="auto")
    err = capsys.readouterr().err
    assert "quiet" not in err and "auto" not in err        # not a terminal, and short


# --------------------------------------------------------------------------
# fit_batch: every row equals the single fit of the same studies
# --------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_fit_batch_rows_equal_single_fits(method, test):
    rng = np.random.default_rng(11)
    masks = rng.random((40, BCG_YI.size)) < 0.6
    masks[:, :2] = True                                    # at least 2 studies in every fit
    masks[0] = True                                        # and all of them in one
    out = fit_batch(BCG_YI, BCG_VI, mask=masks, method=method, test=test, chunk_size=7, n_jobs=2)
    tol = _tol(method)
    for i in range(0, 40, 3):
        m = masks[i]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MgmetaWarning)         # knha with EE warns
            single = mgmeta.meta_analysis(BCG_YI[m], BCG_VI[m], method=method, test=test)
        got = {"estimate": out["beta"][i, 0], "se": out["se"][i, 0], "statistic": out["statistic"][i, 0],
               "pvalue": out["pvalue"][i, 0], "ci_lower": out["ci_lower"][i, 0], "ci_upper": out["ci_upper"][i, 0],
               "tau2": out["tau2"][i], "i2": out["i2"][i], "h2": out["h2"][i], "q": out["q"][i],
               "q_pvalue": out["q_pvalue"][i]}
        if single.random:
            got.update(pi_lower=out["pi_lower"][i], pi_upper=out["pi_upper"][i], se_tau2=out["se_tau2"][i])
        for name, value in got.items():
            np.testing.assert_allclose(value, getattr(single, name), rtol=tol, atol=ATOL,
                                       err_msg=f"{method}/{test} row {i}: {name}")
        np.testing.assert_allclose(out["weights"][i][m], single.weights, rtol=tol, atol=ATOL)
        assert np.all(out["weights"][i][~m] == 0)
        assert out["k"][i] == single.k and out["converged"][i]


@pytest.mark.parametrize("method", ["DL", "REML", "PM"])
def test_fit_batch_equals_one_batched_call(method):
    """Chunking and threads change nothing: bit for bit the same as one fit_arrays call."""
    rng = np.random.default_rng(5)
    yi = rng.normal(0, 0.4, (500, 9))
    vi = rng.uniform(0.01, 0.3, (500, 9))
    ref = fit_arrays(yi, vi, method=method, raise_on_failure=False)
    for chunk_size, n_jobs in ((1, 1), (13, 2), (500, 1)):
        out = fit_batch(yi, vi, method=method, chunk_size=chunk_size, n_jobs=n_jobs, fields=("beta", "tau2", "i2"))
        assert set(out) == {"beta", "tau2", "i2", "converged"}
        for name in out:
            np.testing.assert_array_equal(out[name], getattr(ref, name), err_msg=name)


def test_fit_batch_per_item_designs_and_fixed_tau2():
    rng = np.random.default_rng(2)
    k = BCG_YI.size
    X = np.stack([np.column_stack([np.ones(k), rng.normal(size=k)]) for _ in range(12)])
    out = fit_batch(BCG_YI, BCG_VI, X=X, method="REML", chunk_size=5)
    for i in (0, 5, 11):
        single = fit_arrays(BCG_YI, BCG_VI, X=X[i], method="REML")
        np.testing.assert_allclose(out["beta"][i], single.beta, rtol=TOL_ITER)
        np.testing.assert_allclose(out["vb"][i], single.vb, rtol=TOL_ITER)
        np.testing.assert_allclose(out["tau2"][i], single.tau2, rtol=TOL_ITER)
    t2 = np.linspace(0, 0.5, 6)
    fixed = fit_batch(BCG_YI, BCG_VI, tau2=t2, method="REML", chunk_size=4)
    for i, t in enumerate(t2):
        single = mgmeta.meta_analysis(BCG_YI, BCG_VI, tau2=t)
        assert fixed["beta"][i, 0] == pytest.approx(single.estimate, rel=TOL_CLOSED)
        assert fixed["tau2"][i] == t


def test_fit_batch_flags_nonconvergence_and_checks_input():
    case = next(c for c in load_reference("gosh.json")["cases"] if c["id"] == "hack7_REML")
    out = fit_batch(np.array([case["yi"]] * 3), case["vi"], method="REML")
    assert not out["converged"].any()              # metafor: "Fisher scoring algorithm did not converge"
    with pytest.raises(DataError, match="batch axis"):
        fit_batch(BCG_YI, BCG_VI)
    with pytest.raises(DataError, match="batch axes differ"):
        fit_batch(np.zeros((3, 13)), np.ones((4, 13)))
    with pytest.raises(DataError, match="numbers of studies differ"):
        fit_batch(np.zeros((3, 13)), np.ones(12))
    with pytest.raises(DataError, match="method"):
        fit_batch(np.zeros((3, 13)), BCG_VI, method="XX")
    with pytest.raises(DataError, match="test"):
        fit_batch(np.zeros((3, 13)), BCG_VI, test="t")
    with pytest.raises(DataError, match="level"):
        fit_batch(np.zeros((3, 13)), BCG_VI, level=1.5)
    with pytest.raises(DataError, match="field"):
        fit_batch(np.zeros((3, 13)), BCG_VI, fields=("beta", "nonsense"))
    with pytest.raises(DataError, match="dimensions"):
        fit_batch(np.zeros((3, 2, 13)), BCG_VI)
    assert "converged" in FIT_FIELDS


# --------------------------------------------------------------------------
# permutations of a meta-regression
# --------------------------------------------------------------------------

def _design():
    rng = np.random.default_rng(8)
    k = BCG_YI.size
    return np.column_stack([np.ones(k), np.linspace(-1, 1, k), rng.normal(size=k)])


@pytest.mark.parametrize("method,test", [("REML", "z"), ("DL", "knha"), ("ML", "z")])
def test_permutation_fits_equal_single_fits(method, test):
    X = _design()
    rng = np.random.default_rng(4)
    perms = np.argsort(rng.random((30, X.shape[0])), axis=1)
    out = fit_permutations(BCG_YI, BCG_VI, X, perms=perms, method=method, test=test, chunk_size=8,
                           fields=("beta", "vb", "se", "statistic", "pvalue", "tau2", "weights"))
    tol = _tol(method)
    for i in range(30):
        single = fit_arrays(BCG_YI, BCG_VI, X=X[perms[i]], method=method, test=test)
        for name in ("beta", "vb", "se", "statistic", "pvalue", "tau2", "weights"):      # weights: per study
            np.testing.assert_allclose(out[name][i], getattr(single, name), rtol=tol, atol=ATOL, err_msg=name)
        b, V = single.beta[1:], single.vb[1:, 1:]
        assert out["qm"][i] == pytest.approx(float(b @ np.linalg.solve(V, b)), rel=1e-9)


def test_random_permutations_are_reproducible():
    X = _design()
    a = fit_permutations(BCG_YI, BCG_VI, X, 3000, seed=9, return_permutations=True, chunk_size=1024, n_jobs=1)
    b = fit_permutations(BCG_YI, BCG_VI, X, 3000, seed=9, return_permutations=True, chunk_size=2048, n_jobs=2)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    perms = a["permutation"]
    assert perms.shape == (3000, 13)
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(13), perms.shape))
    assert len({tuple(p) for p in perms}) > 2990               # random, hardly any repeats among 13! orders
    c = fit_permutations(BCG_YI, BCG_VI, X, 50, seed=10, return_permutations=True)
    assert not np.array_equal(c["permutation"], perms[:50])
    # the given permutations reproduce the same fits
    d = fit_permutations(BCG_YI, BCG_VI, X, perms=perms[:100])
    np.testing.assert_array_equal(d["beta"], a["beta"][:100])


def test_wald_qm_and_permutation_errors():
    beta = np.array([[0.5, 1.0, -2.0]])
    vb = np.array([np.diag([1.0, 4.0, 0.25])])
    assert wald_qm(beta, vb, np.array([1, 2]))[0] == pytest.approx(1 / 4 + 16)
    X = _design()
    with pytest.raises(DataError, match="n_perm or perms"):
        fit_permutations(BCG_YI, BCG_VI, X, 10, perms=np.tile(np.arange(13), (2, 1)))
    with pytest.raises(DataError, match="permutations of"):
        fit_permutations(BCG_YI, BCG_VI, X, perms=np.zeros((2, 13), int))
    with pytest.raises(DataError, match="n_perm"):
        fit_permutations(BCG_YI, BCG_VI, X, 0)
    with pytest.raises(DataError, match="btt"):
        fit_permutations(BCG_YI, BCG_VI, X, 5, btt=[3])
    with pytest.raises(DataError, match="X must be"):
        fit_permutations(BCG_YI, BCG_VI, X[:5], 5)
    out = fit_permutations(BCG_YI, BCG_VI, X[:, 1:], 5, seed=1)      # no intercept: every column tested
    assert out["qm"].shape == (5,)


# --------------------------------------------------------------------------
# bounded memory
# --------------------------------------------------------------------------

def test_memory_is_bounded_by_the_chunk_not_the_run():
    """Working memory of a chunked run does not grow with the number of fits beyond its outputs."""
    rng = np.random.default_rng(0)
    masks = rng.random((20000, 20)) < 0.5
    yi = rng.normal(size=20)
    vi = rng.uniform(0.01, 0.2, 20)

    def peak(n, chunk):
        tracemalloc.start()
        try:
            fit_batch(yi, vi, mask=masks[:n], method="DL", fields=("tau2",), chunk_size=chunk, n_jobs=1)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(2048, 1024), peak(20000, 1024)
    # 10x the fits: the peak grows by about the extra outputs (tau2, converged: 9 bytes a fit), no more
    assert large - small < 9 * 18000 * 2 + 2 ** 20
    # and one unchunked call of the same fits needs far more
    assert peak(20000, 20000) > 5 * large
