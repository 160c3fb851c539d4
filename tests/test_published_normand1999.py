"""Normand (1999): the two worked examples of the Statistics in Medicine tutorial.

Example 1 is the risk difference (in percentage points) of death with prophylactic lidocaine after a heart
attack (Hine et al. 1989, six trials); example 2 is the mean difference in length of hospital stay (days) of
stroke patients under specialist versus routine care (nine studies).

Where the numbers were read
---------------------------
The paper itself is not in the stored corpora (only its first page is, e.g.
https://vdocuments.net/download/tutorial-in-biostatistics-meta-analysis-formulating-evaluating-meta-analysis.html).
The published values below were read in the metafor analysis example that reproduces the paper and names
the page and table of every value: metafor-project.org/doku.php/analyses:normand1999, whose checks are
https://github.com/wviechtb/metafor/blob/5c1589e8ccb445d0dff2e147bbe89a108c0d1177/tests/testthat/test_analysis_example_normand1999.r
(called SOURCE below). Each printed value is kept as the string it was printed as, and its tolerance is
half a unit in its last printed decimal.

The input data are metadat's ``dat.hine1989`` and ``dat.normand1999``, read from
``tests/reference/core.json`` (cases ``hine_MH_RD`` and ``normand_MD``).

References
----------
Normand, S.-L. T. (1999). Meta-analysis: formulating, evaluating, combining, and reporting. Statistics in
Medicine, 18(3), 321-359. doi:10.1002/(SICI)1097-0258(19990215)18:3<321::AID-SIM28>3.0.CO;2-P
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

import mgmeta
from conftest import load_reference

CORE = load_reference("core.json")
HINE = next(c for c in CORE["mh"] if c["id"] == "hine_MH_RD")["inputs"]
STROKE = next(c for c in CORE["escalc"] if c["id"] == "normand_MD")["inputs"]
Z975 = norm.ppf(0.975)


def assert_printed(actual, printed, what: str) -> None:
    """``actual`` rounds to each ``printed`` string (tolerance: half a unit in its last decimal)."""
    printed = np.atleast_1d(printed)
    actual = np.atleast_1d(np.asarray(actual, dtype=float))
    assert actual.shape == printed.shape, what
    for i, (a, p) in enumerate(zip(actual, printed)):
        decimals = len(p.split(".")[1]) if "." in p else 0
        tol = 0.5 * 10.0 ** -decimals + 1e-12
        assert abs(a - float(p)) <= tol, f"{what}[{i}]: mgmeta {a!r}, published {p} (tolerance {tol:g})"


# --------------------------------------------------------------------------------------------------
# Example 1: lidocaine, risk difference in percentage points (dat.hine1989)
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lidocaine():
    es = mgmeta.effect_sizes("RD", ai=HINE["ai"], n1i=HINE["n1i"], ci=HINE["ci"], n2i=HINE["n2i"])
    # the paper works in percentage points: RD x 100, variance x 100^2
    return es["yi"].to_numpy() * 100, es["vi"].to_numpy() * 100**2


def test_lidocaine_study_risk_differences(lidocaine):
    yi, vi = lidocaine
    # Normand (1999) p. 330, Table III, risk differences (%), as quoted in SOURCE
    assert_printed(yi, ["2.8026", "0.0000", "1.9711", "1.7961", "3.5334", "4.4031"], "Table III yi")
    # Normand (1999) p. 330, Table III, their variances, as quoted in SOURCE
    assert_printed(vi, ["17.7575", "37.5657", "8.1323", "10.8998", "8.0114", "6.1320"], "Table III vi")


def test_lidocaine_study_confidence_intervals(lidocaine):
    yi, vi = lidocaine
    se = np.sqrt(vi)
    # Normand (1999) p. 330, Table III, 95% CI lower bounds (1 decimal), as quoted in SOURCE
    assert_printed(yi - Z975 * se, ["-5.5", "-12.0", "-3.6", "-4.7", "-2.0", "-0.5"], "Table III ci.lb")
    # Normand (1999) p. 330, Table III, 95% CI upper bounds (1 decimal), as quoted in SOURCE
    assert_printed(yi + Z975 * se, ["11.1", "12.0", "7.6", "8.3", "9.1", "9.3"], "Table III ci.ub")


@pytest.mark.parametrize("method", ["EE", "REML", "DL"])
def test_lidocaine_pooled_risk_difference(lidocaine, method):
    yi, vi = lidocaine
    res = mgmeta.meta_analysis(yi, vi, method=method)
    # Normand (1999) p. 349, Table VII: fixed effect, REML and DL all give 2.94 (0.4, 5.5), as quoted in SOURCE
    assert_printed(res.estimate, "2.94", f"Table VII {method} estimate")
    assert_printed(res.ci_lower, "0.4", f"Table VII {method} ci.lb")
    assert_printed(res.ci_upper, "5.5", f"Table VII {method} ci.ub")
    if method != "EE":
        # Normand (1999) p. 349, Table VII: between-study variance 0.000 for REML and DL, as quoted in SOURCE
        assert_printed(res.tau2, "0.000", f"Table VII {method} tau2")


# --------------------------------------------------------------------------------------------------
# Example 2: length of hospital stay, mean difference in days (dat.normand1999)
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stroke():
    n1 = np.asarray(STROKE["n1i"], dtype=float)
    n2 = np.asarray(STROKE["n2i"], dtype=float)
    sd1 = np.asarray(STROKE["sd1i"], dtype=float)
    sd2 = np.asarray(STROKE["sd2i"], dtype=float)
    # Normand's Table VIII variances use the pooled within-study SD for both arms
    sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    return mgmeta.effect_sizes("MD", m1i=STROKE["m1i"], sd1i=sdp, n1i=n1,
                               m2i=STROKE["m2i"], sd2i=sdp, n2i=n2)


def test_stroke_study_mean_differences(stroke):
    # Normand (1999) p. 351, Table VIII, mean differences in days, as quoted in SOURCE
    assert_printed(stroke["yi"], ["-20", "-2", "-55", "-71", "-4", "1", "11", "-10", "7"], "Table VIII yi")
    # Normand (1999) p. 351, Table VIII, their variances (2 decimals), as quoted in SOURCE
    assert_printed(stroke["vi"], ["40.59", "2.05", "15.28", "150.22", "20.19", "1.22", "95.38", "8.03", "20.69"],
                   "Table VIII vi")


def test_stroke_fixed_effect(stroke):
    res = mgmeta.meta_analysis(stroke, method="EE")
    # Normand (1999) p. 352, Table IX, fixed effect: -3.49 (-5.03, -1.96), as quoted in SOURCE
    assert_printed(res.estimate, "-3.49", "Table IX EE estimate")
    assert_printed(res.ci_lower, "-5.03", "Table IX EE ci.lb")
    assert_printed(res.ci_upper, "-1.96", "Table IX EE ci.ub")


def test_stroke_random_effects_dl(stroke):
    res = mgmeta.meta_analysis(stroke, method="DL")
    # Normand (1999) p. 352, Table IX, DerSimonian-Laird: -14.10 (-24.45, -3.75), tau2 218.72, as quoted in SOURCE
    assert_printed(res.estimate, "-14.10", "Table IX DL estimate")
    assert_printed(res.ci_lower, "-24.45", "Table IX DL ci.lb")
    assert_printed(res.ci_upper, "-3.75", "Table IX DL ci.ub")
    assert_printed(res.tau2, "218.72", "Table IX DL tau2")


def test_stroke_random_effects_reml(stroke):
    res = mgmeta.meta_analysis(stroke, method="REML")
    # Normand (1999) p. 352, Table IX, REML: -15.12 (-32.67, 2.43), tau2 685.20, as quoted in SOURCE
    assert_printed(res.estimate, "-15.12", "Table IX REML estimate")
    assert_printed(res.ci_lower, "-32.67", "Table IX REML ci.lb")
    assert_printed(res.ci_upper, "2.43", "Table IX REML ci.ub")
    assert_printed(res.tau2, "685.20", "Table IX REML tau2")
