"""Teo et al. (1991): intravenous magnesium in suspected acute myocardial infarction, seven trials, Peto OR.

Where the numbers were read
---------------------------
The abstract of the BMJ paper (data/mi/published.csv, result ``teo1991.death``):
https://www.bmj.com/content/303/6816/1499 -- "25 (3.8%) deaths among 657 patients allocated to receive
magnesium and 53 (8.2%) deaths among 644 patients allocated control ... a 55% reduction in the odds of death
(p less than 0.001) with 95% confidence intervals ranging from about one third to about two thirds".
The full text (Table 1 with the per-trial deaths) was not seen; the per-trial numbers are metadat's
dat.egger2001 rows 1-7 (flagged ``secondary_only`` in data/mi/outcomes.csv), and their sums are checked here
against the printed totals.

References
----------
Teo KK, Yusuf S, Collins R, Held PH, Peto R. Effects of intravenous magnesium in suspected acute myocardial
infarction: overview of randomised trials. BMJ 1991;303:1499-503. doi:10.1136/bmj.303.6816.1499
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import mgmeta
from conftest import TOL_CLOSED, load_reference
from mgmeta.review.mi import reproduction_table, trial_data

TEO = ["morton1984", "rasmussen1986", "smith1986", "abraham1987", "feldstedt1988", "shechter1989",
       "ceremuzynski1989"]


def assert_printed(actual: float, printed: str, what: str) -> None:
    """``actual`` rounds to ``printed`` (tolerance: half a unit in its last decimal)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    tol = 0.5 * 10.0 ** -decimals + 1e-12
    assert abs(actual - float(printed)) <= tol, f"{what}: mgmeta {actual!r}, published {printed}"


@pytest.fixture(scope="module")
def teo():
    return trial_data("short_term", TEO)


@pytest.fixture(scope="module")
def peto(teo):
    return mgmeta.peto(ai=teo["ai"], n1i=teo["n1i"], ci=teo["ci"], n2i=teo["n2i"])


def test_trials_add_up_to_the_printed_totals(teo):
    # Teo et al. (1991) p. 1499, abstract (Results): 25/657 deaths with magnesium, 53/644 with control,
    # 1301 patients in seven trials
    assert len(teo) == 7
    assert (int(teo["ai"].sum()), int(teo["n1i"].sum())) == (25, 657)
    assert (int(teo["ci"].sum()), int(teo["n2i"].sum())) == (53, 644)
    assert int(teo["participants"].sum()) == 1301
    # the printed percentages: 3.8% and 8.2%
    assert_printed(100 * 25 / 657, "3.8", "abstract magnesium %")
    assert_printed(100 * 53 / 644, "8.2", "abstract control %")


def test_peto_odds_ratio(peto):
    # Teo et al. (1991) p. 1499, abstract (Results): "a 55% reduction in the odds of death" -> OR 0.45
    assert_printed(math.exp(peto.estimate), "0.45", "abstract Peto OR")
    assert_printed(1 - math.exp(peto.estimate), "0.55", "abstract odds reduction")
    # "(p less than 0.001)"
    assert peto.pvalue < 0.001
    # "95% confidence intervals ranging from about one third to about two thirds" (a reduction): only in
    # words; the recomputed reduction runs from 29% to 72%
    assert 0.25 < 1 - math.exp(peto.ci_upper) < 1 / 3 + 0.05
    assert 2 / 3 - 0.05 < 1 - math.exp(peto.ci_lower) < 0.75


def test_peto_agrees_with_metafor(peto):
    ref = load_reference("mi_crosscheck.json")["fits"]["teo1991_peto"]
    # rma.peto(ai, n1i, ci, n2i, data=dat.egger2001, subset=1:7)
    np.testing.assert_allclose([peto.estimate, peto.ci_lower, peto.ci_upper, peto.pvalue, peto.q],
                               [ref["estimate"], ref["ci_lower"], ref["ci_upper"], ref["pvalue"], ref["q"]],
                               rtol=TOL_CLOSED)


def test_reproduction_table_row():
    row = reproduction_table().set_index("result_id").loc["teo1991.death"]
    assert row["status"] == "reproduced"
    assert row["recomputed_k"] == 7
    assert row["trials"].split("; ") == TEO
    assert "metadat" in row["sources"]
