"""Summary-of-findings tables in GRADE's layout (mgmeta.review.sof)."""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgmeta.errors import DataError
from mgmeta.review import outcomes, sof

DATA = Path(__file__).resolve().parents[1] / "data"


def test_corresponding_risk():
    # Cochrane Handbook 15.4.4: ACR 0.5 and OR 1 give 0.5; OR 3 at ACR 0.2 gives 0.6/1.4
    assert sof.corresponding_risk(0.5, 1.0, "OR") == 0.5
    assert sof.corresponding_risk(0.2, 3.0, "OR") == pytest.approx(0.6 / 1.4)
    assert sof.corresponding_risk(0.4, 0.5, "RR") == pytest.approx(0.2)
    assert sof.corresponding_risk(0.9, 2.0, "RR") == 1.0
    assert sof.corresponding_risk(0.3, -0.1, "RD") == pytest.approx(0.2)
    with pytest.raises(DataError):
        sof.corresponding_risk(0.3, 1.0, "MD")


@pytest.fixture(scope="module")
def table():
    pools = outcomes.review_pools("iv-placebo") + outcomes.review_pools("oral-active-sodium-valproate")
    return pools, sof.summary_of_findings(pools)


def test_columns_are_numeric_and_named(table):
    pools, t = table
    assert list(t.columns) == sof.SOF_COLUMNS
    for col in ("risk_control", "risk_magnesium", "risk_magnesium_lower", "risk_magnesium_upper", "difference",
                "relative_effect", "relative_lower", "relative_upper", "pvalue"):
        assert t[col].dtype == float, col
    for col in ("participants", "studies", "nnt"):
        assert str(t[col].dtype) == "Int64", col
    assert set(t["comparison"]) == {"IV magnesium vs placebo", "Oral magnesium vs sodium valproate"}
    rated = t[t["studies"] > 0]
    assert set(rated["certainty"]) <= {"high", "moderate", "low", "very low"}
    assert (rated["certainty_reasons"].str.len() > 0).all()


def test_single_trial_row_equals_its_arms(table):
    pools, t = table
    pool = next(p for p in pools if p.outcome == "rescue_medication")
    row = t.set_index("outcome_code").loc["rescue_medication"]
    d = pool.data.iloc[0]
    acr = d["ci"] / d["n2i"]
    assert row["risk_control"] == pytest.approx(1000 * acr)
    assert row["risk_magnesium"] == pytest.approx(1000 * d["ai"] / d["n1i"])  # one trial: its own risk
    assert row["participants"] == 76 and row["studies"] == 1
    # OR 0.43 (0.17 to 1.09): the CI includes no effect, so no NNT, and the comment says why
    assert pd.isna(row["nnt"]) and "not significant" in row["comments"]
    assert row["statement"] == ("Intravenous magnesium may reduce rescue medication during the ED stay compared "
                                "with placebo (low certainty).")


def test_nnt_only_when_the_ci_excludes_no_effect(table):
    pools, t = table
    pool = next(p for p in pools if p.outcome == "rescue_medication")
    # a made-up result whose CI excludes no effect gets its NNT
    import dataclasses
    import mgmeta
    d = pool.data.iloc[0]
    es = mgmeta.effect_sizes("OR", ai=[5.0], n1i=[40.0], ci=[30.0], n2i=[40.0], labels=["X 2000"])
    res = mgmeta.meta_analysis(es, method="EE")
    data = pool.data.assign(ai=5.0, n1i=40.0, ci=30.0, n2i=40.0, bi=35.0, di=10.0, n_participants=80)
    strong = dataclasses.replace(pool, result=res, effects=es, data=data)
    row = sof.summary_of_findings([strong]).iloc[0]
    assert row["relative_upper"] < 1
    diff = row["risk_magnesium"] - row["risk_control"]
    assert row["nnt"] == math.ceil(1000 / abs(diff)) and row["nnt_kind"] == "NNTB"  # fewer rescue: benefit


def test_rows_without_data_say_so(table):
    pools, t = table
    empty = t[t["studies"] == 0]
    assert len(empty) and empty["comments"].str.startswith("No usable data").all()
    assert empty["certainty"].isna().all() and empty["nnt"].isna().all()


def test_layout_and_key_findings(table):
    pools, t = table
    lay = sof.sof_layout(t)
    assert list(lay.columns) == ["Outcome", "Risk with control", "Risk with magnesium (95% CI)",
                                 "Relative effect (95% CI)", "Participants (studies)", "Certainty", "Comments",
                                 "comparison", "certainty", "certainty_reasons", "nnt"]
    row = lay[lay["Outcome"].str.startswith("Rescue")].iloc[0]
    assert row["Relative effect (95% CI)"] == "OR 0.43 (0.17 to 1.09)" and row["Certainty"].endswith("low")
    keys = sof.key_findings(t)
    assert list(keys.columns) == ["comparison", "outcome", "timepoint", "effect_text", "studies", "participants",
                                  "certainty", "certainty_symbols", "statement"]
    assert (keys["studies"] > 0).all()
    karimi = keys[keys["outcome"] == "Attack frequency"].iloc[0]
    assert karimi["timepoint"] == "at the end of treatment"
    assert karimi["participants"] == 63  # the crossover trial counts its people once


def test_override_file_changes_the_certainty(tmp_path, table):
    pools, _ = table
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    with open(data / "grade.csv", "a", encoding="utf-8") as fh:
        fh.write("Rescue medication during the ED stay,IV magnesium vs placebo,risk_of_bias,0,"
                 "reviewer read the full text: double blind with concealed allocation\n")
    pool = next(p for p in pools if p.outcome == "rescue_medication")
    before = sof.summary_of_findings([pool]).iloc[0]
    from mgmeta.review.grade import load_overrides
    after = sof.summary_of_findings([pool], overrides=load_overrides(data)).iloc[0]
    assert before["certainty"] == "low" and after["certainty"] == "moderate"
    assert "reviewer read the full text" in after["certainty_reasons"]


def test_bad_baseline():
    with pytest.raises(DataError):
        sof.summary_of_findings([], baseline="mean")


def test_save_key_findings(tmp_path, table):
    pools, t = table
    keys = sof.save_key_findings(t, tmp_path, note="Nothing could be recomputed.")
    back = pd.read_csv(tmp_path / "key_findings.csv")
    assert list(back.columns) == list(keys.columns) and len(back) == len(keys)
    assert (tmp_path / "key_findings_note.md").read_text(encoding="utf-8") == "Nothing could be recomputed.\n"
