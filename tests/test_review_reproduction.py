"""The published pooled results recomputed (mgmeta.review.reproduction)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mgmeta.review import reproduction as outcomes
from mgmeta.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def _usable_rows(outcome, timepoint, measure, route, comparison):
    from mgmeta.review.data import analysis_data
    frame = analysis_data(outcome, timepoint, measure=measure, route=route, comparison=comparison)
    return frame[frame["data_form"] == "arms"]


def _data_with_published(tmp_path, rows, links):
    import csv
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    for name, new in (("published.csv", rows), ("published_trials.csv", links)):
        with open(data / name, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames
        with open(data / name, "a", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            for r in new:
                w.writerow({f: r.get(f, "") for f in fields})
    return data


def test_within_rounding():
    assert outcomes.within_rounding(0.2349, 0.23) and outcomes.within_rounding(0.225, 0.23)
    assert not outcomes.within_rounding(0.2351, 0.23)
    assert outcomes.within_rounding(-9.734, -9.73) and not outcomes.within_rounding(-9.74, -9.73)
    assert not outcomes.within_rounding(float("nan"), 0.23)


def test_reproduction_table_lists_every_published_result():
    from mgmeta.review import data as mgdata
    table = outcomes.reproduction_table()
    published = mgdata.load_published()
    assert list(table["result_id"]) == list(published["result_id"])
    assert set(table["status"]) <= {outcomes.REPRODUCED, outcomes.DIFFERS, outcomes.NOT_RECOMPUTABLE,
                                    outcomes.PARTIAL}
    assert (table["reason"].str.len() > 0).all(), "every status comes with its reason"
    none = table[published["measure"].to_numpy() == "none"]
    assert (none["status"] == outcomes.NOT_RECOMPUTABLE).all()
    assert none["reason"].str.startswith("no pooled estimate was published").all()


def test_reproduction_table_reproduced_and_differs(tmp_path):
    """Two made-up published results on one trial with complete counts: one rounds to our numbers."""
    import mgmeta
    from mgmeta.review import data as mgdata
    comp = ["placebo", "add-on", "active", "usual care"]
    rows = _usable_rows("rescue_medication", "30min", "OR", "iv", comp)
    tid = str(rows["trial_id"].iloc[0])
    fit = mgmeta.meta_analysis(mgmeta.effect_sizes("OR", ai=rows["ai"], n1i=rows["n1i"], ci=rows["ci"],
                                                   n2i=rows["n2i"]), method="EE")
    est, lo, hi = (round(float(np.exp(v)), 2) for v in (fit.estimate, fit.ci_lower, fit.ci_upper))
    base = {"review": "Test review", "citation": "made up for a test", "outcome": "rescue_medication",
            "timepoint": "30 min", "data_timepoint": "30min", "comparison": "magnesium vs placebo", "route": "iv",
            "measure": "OR", "direction": "OR < 1 favours magnesium", "ci_level": "95", "k": "1",
            "counts_scope": "analysis",
            "model": "fixed", "status": "reported", "source_url": "https://example.org/test",
            "locator": "made-up table", "source_type": "abstract"}
    new = [dict(base, result_id="test.same", estimate=est, ci_lower=lo, ci_upper=hi),
           dict(base, result_id="test.other", estimate=round(est + 0.2, 2), ci_lower=lo, ci_upper=hi)]
    links = [{"result_id": r["result_id"], "trial_id": tid, "basis": "stated", "notes": "test"} for r in new]
    data = _data_with_published(tmp_path, new, links)
    assert mgdata.validate(data) == []
    table = outcomes.reproduction_table(path=data, profiles=("metafor", "revman5")).set_index("result_id")
    same, other = table.loc["test.same"], table.loc["test.other"]
    assert same["status"] == outcomes.REPRODUCED, same["reason"]
    assert same["recomputed_estimate"] == pytest.approx(float(np.exp(fit.estimate)))
    assert same["recomputed_k"] == 1
    assert other["status"] == outcomes.DIFFERS and "estimate" in other["reason"]
    assert set(table.attrs["diffs"]) >= {"test.same", "test.other"}


def test_closest_recomputation_when_only_some_trials_have_numbers():
    """Issue 14 item 4: a published result with a usable trial shows the closest recomputation, k used of k."""
    table = outcomes.reproduction_table().set_index("result_id")
    partial = table[table["status"] == outcomes.PARTIAL]
    assert len(partial) >= 1
    for rid, row in partial.iterrows():
        assert row["recomputed_k"] >= 1 and np.isfinite(row["recomputed_estimate"])
        assert row["reason"].startswith("closest recomputation from") and "not a reproduction" in row["reason"]
        assert row["trials"]
