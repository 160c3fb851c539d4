"""mgmeta.review.validation: the worked examples of the methods papers, as a table for the report."""
from __future__ import annotations

from mgmeta.review.validation import validation_table


def test_every_pinned_quantity_is_listed_with_a_locator():
    tab = validation_table()
    assert set(tab["paper"]) == {"Normand 1999", "van Houwelingen 2002", "Viechtbauer 2005",
                                 "DerSimonian & Kacker 2007"}
    assert len(tab) == 68
    assert tab["locator"].str.contains("p").all()


def test_only_the_known_slip_of_the_paper_differs():
    tab = validation_table()
    off = tab[tab["status"] != "reproduced"]
    # van Houwelingen et al. (2002) p. 596 print .703 for the upper limit; metafor and mgmeta give 0.7024
    assert off[["paper", "quantity", "published"]].values.tolist() == [["van Houwelingen 2002", "EE CI upper", ".703"]]
    assert abs(off["mgmeta"].iloc[0] - 0.7024) < 5e-5
    assert "metafor" in off["note"].iloc[0]
