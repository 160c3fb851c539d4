"""The magnesium analyses of mgmeta.review.outcomes: one outcome from data/ to a fitted model,
the catalogue, the reproduction table and the summary of findings."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mgmeta.review import outcomes
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


def test_pool_outcome_matches_effect_sizes_and_meta_analysis():
    import mgmeta
    comp = ["placebo", "add-on", "active"]
    pool = outcomes.pool_outcome("pain_score", ["60min", "120min"], measure="MD", route="iv", comparison=comp,
                               method="REML", test="knha")
    rows = _usable_rows("pain_score", "60min", "MD", "iv", comp)
    assert pool.k >= 1 and set(rows["trial_id"]) <= set(pool.data["trial_id"])
    es = mgmeta.effect_sizes("MD", m1i=pool.data["m1i"], sd1i=pool.data["sd1i"], n1i=pool.data["n1i"],
                             m2i=pool.data["m2i"], sd2i=pool.data["sd2i"], n2i=pool.data["n2i"],
                             labels=list(pool.data["study"]))
    assert list(pool.effects["yi"]) == list(es["yi"])
    if pool.k == 1:
        assert pool.result.method == "EE" and "one trial" in " ".join(pool.notes)
    else:
        ref = mgmeta.meta_analysis(es, method="REML", test="knha")
        assert pool.result.estimate == ref.estimate and pool.result.tau2 == ref.tau2
    # a window: each trial contributes the first time point it reports usable numbers for
    assert (pool.data.groupby("trial_id")["timepoint"].count() == 1).all()
    first = pool.data.set_index("trial_id")["timepoint"]
    for tid in rows["trial_id"]:
        assert first[tid] == "60min"
    summary = pool.summary()
    assert summary["k"] == pool.k and summary["measure"] == "MD"
    assert summary["studies"] == "; ".join(pool.data["study"])


def test_pool_outcome_sign_reverses_outcomes_of_opposite_direction():
    comp = ["placebo", "add-on", "active"]
    pool = outcomes.pool_outcome(["pain_score", "pain_improvement"], ["120min", "90min", "60min", "final"],
                               measure="SMD", route="iv", comparison=comp, allow_assumptions=True)
    if pool.effects is None:
        pytest.skip("no usable trial")  # pragma: no cover - the shipped data have some
    flipped = pool.effects["sign_reversed"] if "sign_reversed" in pool.effects else []
    for i, row in pool.data.iterrows():
        assert bool(flipped[i] if len(flipped) else False) == (row["outcome"] == "pain_improvement")
    plain = outcomes.pool_outcome("pain_improvement", "60min", measure="SMD", route="iv", comparison=comp)
    if plain.effects is not None and "pain_improvement" in set(pool.data["outcome"]):
        tid = plain.data["trial_id"].iloc[0]
        here = pool.effects.loc[pool.data["trial_id"] == tid, "yi"].iloc[0]
        assert here == -plain.effects["yi"].iloc[0]


def test_pool_outcome_without_usable_numbers_and_bad_input():
    pool = outcomes.pool_outcome("pain_relief", "30min", measure="OR", route="iv", comparison="placebo")
    assert pool.result is None and pool.k == 0 and len(pool.incomplete) >= 1
    assert "no trial reports usable numbers" in str(pool)
    assert pool.summary()["estimate"] is None
    with pytest.raises(DataError, match="nothing to plot"):
        pool.forest()
    with pytest.raises(DataError, match="measure"):
        outcomes.pool_outcome("pain_relief", "30min", measure="HR")
    with pytest.raises(DataError, match="unknown outcome"):
        outcomes.pool_outcome("no_such_outcome", "30min", measure="OR")
    with pytest.raises(DataError):
        outcomes.pool_outcome("pain_relief", [], measure="OR")


def test_analysis_catalogue_counts_usable_trials():
    cat = outcomes.analysis_catalogue("iv", ["placebo", "add-on", "active"])
    assert {"outcome", "timepoint", "measure", "trials_usable", "trials_incomplete"} <= set(cat.columns)
    assert not (cat["timepoint"] == "baseline").any() and not (cat["outcome"] == "participants").any()
    for row in cat[cat["trials_usable"] > 0].itertuples():
        pool = outcomes.pool_outcome(row.outcome, row.timepoint, measure=row.measure, route="iv",
                                   comparison=["placebo", "add-on", "active"])
        assert pool.k == row.trials_usable


def test_within_rounding():
    assert outcomes.within_rounding(0.2349, 0.23) and outcomes.within_rounding(0.225, 0.23)
    assert not outcomes.within_rounding(0.2351, 0.23)
    assert outcomes.within_rounding(-9.734, -9.73) and not outcomes.within_rounding(-9.74, -9.73)
    assert not outcomes.within_rounding(float("nan"), 0.23)


def test_corresponding_risk_and_nnt():
    # Cochrane Handbook 15.4.4: ACR 0.5 and OR 1 give 0.5; OR 3 at ACR 0.2 gives 0.6/1.4
    assert outcomes.corresponding_risk(0.5, 1.0, "OR") == 0.5
    assert outcomes.corresponding_risk(0.2, 3.0, "OR") == pytest.approx(0.6 / 1.4)
    assert outcomes.corresponding_risk(0.4, 0.5, "RR") == pytest.approx(0.2)
    assert outcomes.corresponding_risk(0.9, 2.0, "RR") == 1.0
    assert outcomes.corresponding_risk(0.3, -0.1, "RD") == pytest.approx(0.2)
    with pytest.raises(DataError):
        outcomes.corresponding_risk(0.3, 1.0, "MD")


def test_summary_of_findings_single_trial_equals_its_arms():
    comp = ["placebo", "add-on", "active"]
    pools = [outcomes.pool_outcome("rescue_medication", "30min", measure="OR", route="iv", comparison=comp),
             outcomes.pool_outcome("pain_relief", "30min", measure="OR", route="iv", comparison="placebo")]
    sof = outcomes.summary_of_findings(pools)
    assert list(sof["outcome"]) == ["rescue_medication", "pain_relief"]
    rows = pools[0].data
    first = sof.iloc[0]
    acr = float(rows["ci"].iloc[0] / rows["n2i"].iloc[0])
    assert first["assumed_risk"] == pytest.approx(acr)
    # one trial: the corresponding risk is the magnesium arm's own risk
    assert first["corresponding_risk"] == pytest.approx(float(rows["ai"].iloc[0] / rows["n1i"].iloc[0]))
    diff = first["corresponding_risk"] - acr
    assert first["nnt_value"] == int(np.ceil(1 / abs(diff)))
    assert first["nnt"].startswith("NNTB" if diff < 0 else "NNTH")  # rescue medication: fewer is better
    assert first["studies"] == 1 and first["participants"] == int(rows["n1i"].iloc[0] + rows["n2i"].iloc[0])
    assert sof.iloc[1]["relative_effect"] == "no usable data"
    with pytest.raises(DataError):
        outcomes.summary_of_findings(pools, baseline="mean")


def test_reproduction_table_lists_every_published_result():
    from mgmeta.review import data as mgdata
    table = outcomes.reproduction_table()
    published = mgdata.load_published()
    assert list(table["result_id"]) == list(published["result_id"])
    assert set(table["status"]) <= {outcomes.REPRODUCED, outcomes.DIFFERS, outcomes.NOT_RECOMPUTABLE}
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
