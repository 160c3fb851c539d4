"""compare_estimators: every row equals metafor's rma() for that method and test (core.json)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import mgmeta
from conftest import ITERATIVE, TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta.analyses import compare_estimators

CORE = load_reference("core.json")
COLUMNS = ["method", "test", "estimate", "se", "statistic", "df", "pvalue", "ci_lower", "ci_upper", "pi_lower",
           "pi_upper", "tau2", "tau", "se_tau2", "i2", "h2", "q", "q_pvalue", "k", "converged"]
SETS = sorted({c["id"].rsplit("_", 2)[0] for c in CORE["rma"] if c["level"] == 0.95 and not c["id"].startswith("k1")})


@pytest.mark.parametrize("dataset", SETS)
def test_rows_match_rma(dataset):
    cases = [c for c in CORE["rma"] if c["id"].rsplit("_", 2)[0] == dataset]
    methods = list(dict.fromkeys(c["method"] for c in cases))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        tab = compare_estimators(cases[0]["yi"], cases[0]["vi"], methods=methods)
    assert list(tab.columns) == COLUMNS
    assert len(tab) == 2 * len(methods)
    for c in cases:
        row = tab[(tab.method == c["method"]) & (tab.test == c["test"])].iloc[0]
        tol = TOL_ITERATIVE if c["method"] in ITERATIVE else TOL_CLOSED
        for name in ("estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
                     "tau2", "se_tau2", "i2", "h2", "q", "q_pvalue"):
            exp = c["out"][name]
            if exp is None:
                assert np.isnan(row[name])
            else:
                assert row[name] == pytest.approx(exp, rel=tol, abs=1e-10 if name != "pvalue" else 1e-300), name
        assert row["converged"]


def test_default_table_and_model_input():
    c = CORE["rma"][0]
    res = mgmeta.meta_analysis(c["yi"], c["vi"], level=0.9)
    tab = compare_estimators(res)
    assert list(tab["method"].unique()) == ["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]
    assert list(tab["test"][:2]) == ["z", "knha"]
    reml = tab[(tab.method == "REML") & (tab.test == "z")].iloc[0]
    assert reml["ci_lower"] == pytest.approx(res.ci_lower, rel=1e-12)          # the model's level is used
    knha = tab[(tab.method == "DL") & (tab.test == "knha")].iloc[0]
    assert knha["df"] == res.k - 1
    ee = tab[tab.method == "EE"].iloc[0]
    assert np.isnan(ee["pi_lower"]) and np.isnan(ee["se_tau2"]) and ee["tau2"] == 0


def test_errors():
    with pytest.raises(mgmeta.DataError, match="at least 2"):
        compare_estimators([0.1], [0.1])
    with pytest.raises(mgmeta.DataError, match="unknown method"):
        compare_estimators([0.1, 0.2], [0.1, 0.1], methods=["XX"])
    with pytest.raises(mgmeta.DataError, match="unknown test"):
        compare_estimators([0.1, 0.2], [0.1, 0.1], tests=["t"])
