"""Permutation tests give the same p-values as before the batched engine (issue 16), seed for seed.

The stored values (tests/baseline/permutation_pvalues.json) were computed by the implementation of
commit 4199209, which fitted the permutations chunk by chunk with the k x k projection matrix; the
engine now fits them in threads without forming that matrix. The permutations drawn from a seed, the
fits that fail to converge and every p-value must stay the same.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import mgmeta
from mgmeta.analyses.regression import meta_regression, permutation_test

BASELINE = json.loads((Path(__file__).parent / "baseline" / "permutation_pvalues.json").read_text())
DATA = BASELINE["data"]


def _fit(name: str):
    which, method, kind = name.split("_", 2)[0], name.split("_")[1], name.split("_", 2)[2]
    d = DATA[which]
    yi, vi = np.array(d["yi"]), np.array(d["vi"])
    mods = ({"year_c": np.array(d["year_c"], float), "cohort": np.array(d["cohort"], float)} if which == "hackshaw"
            else {"x1": np.array(d["x1"]), "x2": np.array(d["x2"])})
    if kind == "exact_x2":
        return meta_regression(yi[:10], vi[:10], {"x2": mods["x2"][:10]}, method=method)
    if kind == "intercept_signs":
        return mgmeta.meta_analysis(yi, vi, method=method)
    return meta_regression(yi, vi, mods, method=method, test="knha" if kind == "knha" else "z")


@pytest.mark.parametrize("name", sorted(BASELINE["cases"]))
def test_pvalues_unchanged(name):
    case = BASELINE["cases"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # some permuted fits do not converge (counted below)
        pt = permutation_test(_fit(name), **case["call"])
    assert pt.n == case["n"]
    assert pt.pvalue.tolist() == case["pvalue"]
    assert pt.qm_pvalue == case["qm_pvalue"]
    assert int(np.isnan(pt.qm_perm).sum()) == case["n_failed"]


def test_threads_do_not_change_the_distribution():
    res = _fit("hard_REML_z")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = permutation_test(res, n=700, seed=11, n_jobs=1)
        two = permutation_test(res, n=700, seed=11, n_jobs=2)
    np.testing.assert_array_equal(one.statistic_perm, two.statistic_perm)
    np.testing.assert_array_equal(one.qm_perm, two.qm_perm)
