"""The Dask path: the same chunks on a (local) Dask cluster give results identical to the local run."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import mgmeta
from mgmeta.bootstrap import bootstrap
from mgmeta.engine import fit_batch, fit_permutations, run_chunks
from mgmeta.simulate import simulate

from conftest import load_reference

_BCG = next(c for c in load_reference("core.json")["rma"] if c["id"] == "bcg_RR_REML_z")
BCG_YI = np.array(_BCG["yi"], dtype=float)        # dat.bcg, log risk ratios (k = 13)
BCG_VI = np.array(_BCG["vi"], dtype=float)


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    cl = Client(cluster)
    try:
        yield cl
    finally:
        cl.close()
        cluster.close()


def test_gosh_on_dask_is_identical(client):
    res = mgmeta.meta_analysis(BCG_YI[:11], BCG_VI[:11], method="REML")
    local = res.gosh(chunk_size=300)
    remote = res.gosh(chunk_size=300, client=client)
    pd.testing.assert_frame_equal(remote.frame, local.frame, check_exact=True)
    np.testing.assert_array_equal(remote.membership, local.membership)
    sampled = res.gosh(max_subsets=500, seed=3, chunk_size=64, client=client)
    pd.testing.assert_frame_equal(sampled.frame, res.gosh(max_subsets=500, seed=3).frame, check_exact=True)


def test_bootstrap_on_dask_is_identical(client):
    res = mgmeta.meta_analysis(BCG_YI, BCG_VI, method="PM", test="knha")
    local = bootstrap(res, n_boot=3000, seed=5, chunk_size=1024)
    remote = bootstrap(res, n_boot=3000, seed=5, chunk_size=1024, client=client)
    pd.testing.assert_frame_equal(remote.draws, local.draws, check_exact=True)
    pd.testing.assert_frame_equal(remote.intervals, local.intervals, check_exact=True)


def test_simulate_on_dask_is_identical(client):
    kw = dict(k=6, mu=0.1, tau2=0.02, vi=("uniform", 0.02, 0.2), n_sim=4000, methods=("DL", "PM", "HS"), seed=8)
    local = simulate(**kw, chunk_size=1024)
    remote = simulate(**kw, chunk_size=1024, client=client)
    pd.testing.assert_frame_equal(remote.summary, local.summary, check_exact=True)


def test_batches_and_permutations_on_dask_are_identical(client):
    rng = np.random.default_rng(1)
    masks = rng.random((700, BCG_YI.size)) < 0.7
    local = fit_batch(BCG_YI, BCG_VI, mask=masks, method="ML", chunk_size=100)
    remote = fit_batch(BCG_YI, BCG_VI, mask=masks, method="ML", chunk_size=100, client=client)
    for name in local:
        np.testing.assert_array_equal(remote[name], local[name], err_msg=name)
    X = np.column_stack([np.ones(13), np.arange(13.0), rng.normal(size=13)])
    a = fit_permutations(BCG_YI, BCG_VI, X, 2000, seed=4, chunk_size=512)
    b = fit_permutations(BCG_YI, BCG_VI, X, 2000, seed=4, chunk_size=512, client=client)
    for name in a:
        np.testing.assert_array_equal(b[name], a[name], err_msg=name)


def _failing(payload, chunk):
    if chunk.index == 2:
        raise ValueError("worker failure in chunk 2")
    return {"x": np.zeros(chunk.size)}


def test_scheduler_address_and_errors(client):
    res = mgmeta.meta_analysis(BCG_YI[:8], BCG_VI[:8], method="DL")
    by_address = res.gosh(client=client.scheduler.address)
    pd.testing.assert_frame_equal(by_address.frame, res.gosh().frame, check_exact=True)
    with pytest.raises(ValueError, match="worker failure in chunk 2"):
        run_chunks(_failing, None, 100, chunk_size=10, client=client)
    # the cluster still works after a failed run
    assert len(res.gosh(client=client)) == 255


def test_separate_worker_process():
    """Kernels, payloads and results cross a process boundary (pickled), as on a real cluster."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as cl:
        res = mgmeta.meta_analysis(BCG_YI[:9], BCG_VI[:9], method="REML")
        pd.testing.assert_frame_equal(res.gosh(client=cl).frame, res.gosh().frame, check_exact=True)
        kw = dict(k=4, vi=lambda g, shape: g.uniform(0.05, 0.1, shape), n_sim=1500, methods=("DL",), seed=2)
        pd.testing.assert_frame_equal(simulate(**kw, client=cl).summary, simulate(**kw).summary, check_exact=True)
