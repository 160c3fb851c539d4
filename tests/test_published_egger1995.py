"""Egger & Davey Smith (1995), "Misleading meta-analysis": the cumulative meta-analysis of magnesium trials.

Where the numbers were read
---------------------------
The BMJ full text, http://www.bmj.com/content/310/6982/752.full: "Trials were cumulatively included until
the treatment effect was significant at P<0.001. For magnesium, seven small trials whose results were
published in the 1980s were sufficient to establish the effect" and "a substantial fall in mortality was
evident by 1990, after inclusion of seven trials". The table's odds ratio was not in the stored copy, so
the claim (P<0.001 first reached with the seventh trial) is what is checked. Trial data: Egger, Davey Smith
& Altman (2001) Table 18.2 as given by metadat's dat.egger2001, in its (publication year) order.

References
----------
Egger M, Davey Smith G. Misleading meta-analysis. BMJ 1995;310:752-4. doi:10.1136/bmj.310.6982.752
"""
from __future__ import annotations

import numpy as np
import pytest

import mgmeta
from conftest import TOL_CLOSED, load_reference
from mgmeta.review.mi import first_significant, reproduction_table, trial_data

REF = load_reference("mi_crosscheck.json")


@pytest.fixture(scope="module")
def cumulative():
    frame = trial_data("short_term")
    # Peto's O-E/V needs no continuity correction for Bertschat 1989's zero cell (as rma.peto)
    es = mgmeta.effect_sizes("PETO", ai=frame["ai"], n1i=frame["n1i"], ci=frame["ci"], n2i=frame["n2i"],
                             labels=frame["study"], to="none")
    return frame, mgmeta.meta_analysis(es, method="EE").cumulative()


def test_order_is_that_of_table_18_2(cumulative):
    frame, _ = cumulative
    assert frame["year"].tolist() == REF["datasets"]["egger2001"]["year"]
    assert frame["ai"].tolist() == REF["datasets"]["egger2001"]["ai"]


def test_cumulative_agrees_with_metafor(cumulative):
    _, cum = cumulative
    # cumul(rma.peto(ai, n1i, ci, n2i, data=dat.egger2001))
    np.testing.assert_allclose(cum["estimate"], REF["cumul"]["estimate"], rtol=TOL_CLOSED)
    np.testing.assert_allclose(cum["pvalue"], REF["cumul"]["pvalue"], rtol=1e-6)


def test_seven_trials_reach_p_below_0001(cumulative):
    frame, cum = cumulative
    # Egger & Davey Smith (1995) p. 752, text: P<0.001 reached after seven trials, all published in the 1980s
    assert first_significant(cum, 0.001) == 7
    assert frame["year"].iloc[:7].max() <= 1989
    # ... and lost once ISIS-4 is added (ISIS-4 1995, p. 752: "negative results")
    assert cum["pvalue"].iloc[-1] > 0.05


def test_reproduction_table_row():
    row = reproduction_table().set_index("result_id").loc["egger1995.cumulative"]
    assert row["status"] == "reproduced"
    assert (row["published_k"], row["recomputed_k"]) == (7, 7)
    assert np.isnan(row["published_estimate"])
