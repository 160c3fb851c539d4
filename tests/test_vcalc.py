"""vcov_shared_arm against the Gleser & Olkin (2009) formulas written out in R (multivariate.json)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mgmeta
from conftest import TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta.errors import DataError

REF = load_reference("multivariate.json")["vcov"]
ARMS = pd.DataFrame(REF["arms"])


def effects(measure: str) -> pd.DataFrame:
    a = ARMS
    if measure == "OR":
        return mgmeta.effect_sizes(measure, ai=a.ai, bi=a.bi, ci=a.ci, di=a.di)
    if measure in ("RR", "RD"):
        return mgmeta.effect_sizes(measure, ai=a.ai, n1i=a.n1i, ci=a.ci, n2i=a.n2i)
    return mgmeta.effect_sizes(measure, m1i=a.m1i, sd1i=a.sd1i, n1i=a.n1i, m2i=a.m2i, sd2i=a.sd2i, n2i=a.n2i)


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: c["id"])
def test_shared_arm_covariance(case):
    es = effects(case["measure"])
    np.testing.assert_allclose(es["yi"], case["yi"], rtol=TOL_CLOSED)
    V = mgmeta.vcov_shared_arm(es, ARMS["trial"])
    np.testing.assert_allclose(V, np.array(case["V"]), rtol=TOL_CLOSED, atol=0)
    assert np.allclose(V, V.T)
    # rows of different trials are independent
    trial = ARMS["trial"].to_numpy()
    assert np.all(V[trial[:, None] != trial[None, :]] == 0)
    assert np.all(np.linalg.eigvalsh(V) > 0)


def test_cluster_as_column_name_and_measure_from_frame():
    es = effects("MD")
    es["trial"] = ARMS["trial"].to_numpy()
    np.testing.assert_array_equal(mgmeta.vcov_shared_arm(es, "trial"), mgmeta.vcov_shared_arm(es, ARMS["trial"]))


def test_multivariate_model_on_the_shared_arm_covariance():
    fit = REF["fit"]
    es = effects("OR")
    df = pd.DataFrame({"trial": ARMS["trial"], "arm": np.arange(len(es)) + 1})
    V = mgmeta.vcov_shared_arm(es, df["trial"])
    res = mgmeta.meta_analysis_mv(es["yi"], V, random="~ 1 | trial/arm", data=df)
    assert res.beta[0] == pytest.approx(fit["beta"], rel=TOL_ITERATIVE)
    assert res.se[0] == pytest.approx(fit["se"], rel=TOL_ITERATIVE)
    np.testing.assert_allclose(res.sigma2, fit["sigma2"], rtol=TOL_ITERATIVE, atol=1e-7)
    assert res.ll == pytest.approx(fit["ll"], rel=TOL_ITERATIVE)
    assert res.qe == pytest.approx(fit["QE"], rel=TOL_CLOSED)


def test_continuity_corrected_rows():
    with pytest.warns(mgmeta.ContinuityCorrectionWarning):
        es = mgmeta.effect_sizes("OR", ai=[0, 5], bi=[30, 25], ci=[4, 4], di=[26, 26])
    V = mgmeta.vcov_shared_arm(es, ["A", "A"])
    corrected = 1 / 4.5 + 1 / 26.5
    plain = 1 / 4 + 1 / 26
    assert V[0, 1] == pytest.approx(np.sqrt(corrected * plain), rel=1e-12)


def test_errors():
    es = effects("OR")
    with pytest.raises(DataError, match="different control arms"):
        mgmeta.vcov_shared_arm(es, ["A"] * len(es))
    with pytest.raises(DataError, match="cluster has 2 entries"):
        mgmeta.vcov_shared_arm(es, ["A", "B"])
    with pytest.raises(DataError, match="available for"):
        mgmeta.vcov_shared_arm(es, ARMS["trial"], measure="PETO")
    with pytest.raises(DataError, match="effect_sizes"):
        mgmeta.vcov_shared_arm(pd.DataFrame({"a": [1]}), ["A"])
    with pytest.raises(DataError, match="lacks the arm column"):
        mgmeta.vcov_shared_arm(es.drop(columns="di"), ARMS["trial"])
