"""Li et al. (2007), Cochrane review CD002755: intravenous magnesium for acute myocardial infarction.

Where the numbers were read
---------------------------
The abstract on the Cochrane Library page
https://cochranelibrary.com/cdsr/doi/10.1002/14651858.CD002755.pub2 (Main results): early mortality
"fixed-effect ... (OR 0.99, 95%CI 0.94 to 1.04)" and "random-effects ... (OR 0.66, 95% CI 0.53 to 0.82)".
The review's analyses (forest plots with per-trial counts) were not seen; the 22 trials with early
mortality are metadat's dat.li2007 (flagged ``secondary_only`` in data/mi/outcomes.csv). The review was
analysed in RevMan: fixed effect = Mantel-Haenszel odds ratio; random effects = DerSimonian-Laird with tau^2
from the Mantel-Haenszel Q (mgmeta profile ``revman5``).

The abstract's stratified results (no thrombolysis; < 75 mmol) and secondary outcomes (ventricular
fibrillation, hypotension, bradycardia, heart block, ventricular tachycardia, severe arrhythmia) cannot be
recomputed: no source seen gives the trials' strata or their secondary-outcome counts.

References
----------
Li J, Zhang Q, Zhang M, Egger M. Intravenous magnesium for acute myocardial infarction. Cochrane Database
Syst Rev 2007;(2):CD002755. doi:10.1002/14651858.CD002755.pub2
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import mgmeta
from conftest import TOL_CLOSED, load_reference
from mgmeta.review.mi import reproduction_table, trial_data


def assert_printed(actual: float, printed: str, what: str) -> None:
    """``actual`` rounds to ``printed`` (tolerance: half a unit in its last decimal)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    tol = 0.5 * 10.0 ** -decimals + 1e-12
    assert abs(actual - float(printed)) <= tol, f"{what}: mgmeta {actual!r}, published {printed}"


@pytest.fixture(scope="module")
def li():
    return trial_data("early_35d")


@pytest.fixture(scope="module")
def effects(li):
    with pytest.warns(mgmeta.ContinuityCorrectionWarning):  # Urek 1996 and Santoro 2000 have a zero cell
        return mgmeta.effect_sizes("OR", ai=li["ai"], n1i=li["n1i"], ci=li["ci"], n2i=li["n2i"], labels=li["study"])


def test_fixed_effect_mantel_haenszel(li):
    mh = mgmeta.mantel_haenszel(ai=li["ai"], n1i=li["n1i"], ci=li["ci"], n2i=li["n2i"], measure="OR")
    # Li et al. (2007) abstract, Main results: fixed-effect OR 0.99, 95% CI 0.94 to 1.04
    assert_printed(math.exp(mh.estimate), "0.99", "abstract fixed OR")
    assert_printed(math.exp(mh.ci_lower), "0.94", "abstract fixed ci.lb")
    assert_printed(math.exp(mh.ci_upper), "1.04", "abstract fixed ci.ub")
    ref = load_reference("mi_crosscheck.json")["fits"]["li2007_mh"]
    # rma.mh(ai, n1i, ci, n2i, data=dat.li2007, measure='OR')
    np.testing.assert_allclose([mh.estimate, mh.ci_lower, mh.ci_upper, mh.q],
                               [ref["estimate"], ref["ci_lower"], ref["ci_upper"], ref["q"]], rtol=TOL_CLOSED)


def test_random_effects_revman5(effects):
    res = mgmeta.meta_analysis(effects, method="DL", profile="revman5")
    # Li et al. (2007) abstract, Main results: random-effects OR 0.66, 95% CI 0.53 to 0.82
    assert_printed(math.exp(res.estimate), "0.66", "abstract random OR")
    assert_printed(math.exp(res.ci_lower), "0.53", "abstract random ci.lb")
    assert_printed(math.exp(res.ci_upper), "0.82", "abstract random ci.ub")


def test_random_effects_inverse_variance_also_rounds_the_same(effects):
    # metafor's DL (tau^2 from the inverse-variance Q) moves the estimate by about 1e-4 only: same digits
    res = mgmeta.meta_analysis(effects, method="DL")
    ref = load_reference("mi_crosscheck.json")["fits"]["li2007_dl"]
    # rma(measure='OR', ai, n1i, ci, n2i, data=dat.li2007, method='DL')
    np.testing.assert_allclose([res.estimate, res.ci_lower, res.ci_upper, res.tau2],
                               [ref["estimate"], ref["ci_lower"], ref["ci_upper"], ref["tau2"]], rtol=TOL_CLOSED)
    assert_printed(math.exp(res.estimate), "0.66", "abstract random OR (metafor DL)")


def test_reproduction_table_rows():
    tab = reproduction_table().set_index("result_id")
    assert tab.loc["li2007.death.fixed", "status"] == "reproduced"
    assert tab.loc["li2007.death.random", "status"] == "reproduced"
    assert tab.loc["li2007.death.random", "profile"] == "revman5"
    assert tab.loc["li2007.death.fixed", "recomputed_k"] == 22
    others = [r for r in tab.index if r.startswith("li2007.") and not r.startswith("li2007.death.fixed")
              and r != "li2007.death.random"]
    assert len(others) == 10
    assert (tab.loc[others, "status"] == "cannot be recomputed").all()
    assert all(tab.loc[others, "reason"].str.len() > 20)
