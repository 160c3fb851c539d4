"""DerSimonian and Kacker (2007): the CLASP example (aspirin in pregnancy, six trials, log odds ratios).

Where the numbers were read
---------------------------
The paper is not in the stored corpora (its abstract is, at
https://www.nist.gov/publications/random-effects-model-meta-analysis-clinical-trials-update). The trial
counts and the results of Tables 3 and 4 (pp. 111-112: tau, mu and the standard error of mu for each
estimator, to 4 decimals) were read in the checks of the metafor analysis example that reproduces the
paper (metafor-project.org/doku.php/analyses:dersimonian2007),
https://github.com/wviechtb/metafor/blob/0d037744fd8f50f54537adece968394c911b6073/tests/testthat/test_analysis_example_dersimonian2007.r
(SOURCE; the same counts are on https://rdrr.io/cran/metafor/src/tests/testthat/test_analysis_example_dersimonian2007.r).
Tolerance: 5e-5, half a unit in the 4th decimal.

Estimators, in the paper's names and mgmeta's: Paule-Mandel (PM), Cochran ANOVA (CA, mgmeta's "HE"),
DerSimonian-Laird (DL), empirical Bayes (EB), ML, REML, Hunter-Schmidt (HS), Sidik-Jonkman (SJ).
Not tested: the paper's two-step estimators CA2 and DL2 (a general method-of-moments tau^2 with weights
1/(v_i + tau^2) from a first step) and SJ started from the CA estimate, which mgmeta does not offer.

References
----------
DerSimonian, R., & Kacker, R. (2007). Random-effects model for meta-analysis of clinical trials: an update.
Contemporary Clinical Trials, 28(2), 105-114. doi:10.1016/j.cct.2006.04.004
"""
from __future__ import annotations

import numpy as np
import pytest

import mgmeta

# CLASP data, as given in SOURCE: events / patients, treated (aspirin) and control
N1I = [156, 303, 565, 1570, 103, 4659]
N2I = [74, 303, 477, 1565, 105, 4650]
AI = [5, 5, 12, 69, 9, 313]
CI = [8, 17, 9, 94, 11, 352]

# DerSimonian & Kacker (2007) pp. 111-112, Tables 3 and 4: (tau, mu, se of mu), as quoted in SOURCE
TABLES_3_4 = {
    "PM": ("0.3681", "-0.3811", "0.2060"),
    "HE": ("0.4410", "-0.4035", "0.2327"),  # "CA"; SOURCE writes 0.441 (trailing zero dropped)
    "DL": ("0.2323", "-0.3240", "0.1540"),
    "EB": ("0.3681", "-0.3811", "0.2060"),
    "ML": ("0.0023", "-0.1974", "0.0694"),
    "REML": ("0.1843", "-0.2980", "0.1343"),
    "HS": ("0.1330", "-0.2666", "0.1125"),
    "SJ": ("0.4572", "-0.4079", "0.2386"),
}


def assert_printed(actual, printed, what: str) -> None:
    """``actual`` rounds to each ``printed`` string (tolerance: half a unit in its last decimal)."""
    printed = np.atleast_1d(printed)
    actual = np.atleast_1d(np.asarray(actual, dtype=float))
    assert actual.shape == printed.shape, what
    for i, (a, p) in enumerate(zip(actual, printed)):
        decimals = len(p.split(".")[1]) if "." in p else 0
        tol = 0.5 * 10.0 ** -decimals + 1e-12
        assert abs(a - float(p)) <= tol, f"{what}[{i}]: mgmeta {a!r}, published {p} (tolerance {tol:g})"


@pytest.fixture(scope="module")
def clasp():
    return mgmeta.effect_sizes("OR", ai=AI, n1i=N1I, ci=CI, n2i=N2I)


@pytest.mark.parametrize("method", list(TABLES_3_4))
def test_tables_3_and_4(clasp, method):
    tau, mu, se = TABLES_3_4[method]
    res = mgmeta.meta_analysis(clasp, method=method)
    # DerSimonian & Kacker (2007) pp. 111-112, Tables 3 and 4, tau (4 decimals), as quoted in SOURCE
    assert_printed(np.sqrt(res.tau2), tau, f"Tables 3-4 {method} tau")
    # DerSimonian & Kacker (2007) pp. 111-112, Tables 3 and 4, mu = pooled log OR (4 decimals), as quoted in SOURCE
    assert_printed(res.estimate, mu, f"Tables 3-4 {method} mu")
    # DerSimonian & Kacker (2007) pp. 111-112, Tables 3 and 4, se of mu (4 decimals), as quoted in SOURCE
    assert_printed(res.se, se, f"Tables 3-4 {method} se")
