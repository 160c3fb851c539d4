"""Loading, validating and reshaping the trial data (src/mgmeta/review/data.py).

Validation is tested on the shipped data (clean) and on deliberately corrupted
copies written to tmp_path, one corruption per kind of problem.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mgmeta
from mgmeta.review import data
from mgmeta.errors import DataError, SchemaError

DATA = Path(__file__).resolve().parents[1] / "data"


# ---------------------------------------------------------------------------------------------
# helpers: corrupted copies
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A fresh copy of the shipped data package."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def read(folder: Path, table: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(folder / f"{table}.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write(folder: Path, table: str, header: list[str], rows: list[dict[str, str]]) -> None:
    with open(folder / f"{table}.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def edit(folder: Path, table: str, key_col: str, key: str, **changes: str) -> int:
    """Change cells of the row whose key_col equals key; returns its 0-based row index."""
    header, rows = read(folder, table)
    for i, row in enumerate(rows):
        if row[key_col] == key:
            row.update(changes)
            write(folder, table, header, rows)
            return i
    raise KeyError(key)


def problems_at(problems: list[data.Problem], table: str, row: int | None = None,
                column: str | None = None) -> list[data.Problem]:
    return [p for p in problems if p.table == table and (row is None or p.row == row)
            and (column is None or p.column == column)]


# ---------------------------------------------------------------------------------------------
# the shipped data
# ---------------------------------------------------------------------------------------------

def test_shipped_data_are_valid():
    assert data.validate() == []


def test_default_path_is_the_repository_data_folder(monkeypatch):
    monkeypatch.delenv("MGMETA_DATA", raising=False)
    assert data.data_path() == DATA
    assert data.data_path(DATA / "datapackage.json") == DATA


def test_env_var_overrides_the_default(monkeypatch, copy):
    edit(copy, "outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", value="40")
    monkeypatch.setenv("MGMETA_DATA", str(copy))
    assert data.data_path() == copy
    assert data.validate() != []
    assert data.validate(DATA) == []  # an explicit path wins over the env var


def test_loaders_return_typed_frames():
    trials = data.load_trials()
    assert trials["trial_id"].dtype == "string"
    assert trials["year"].dtype == "Int64"
    assert trials["n_randomized"].dtype == "Int64"
    assert trials["randomized"].dtype == "boolean"
    assert trials["include_default"].dtype == "boolean"
    assert trials["trial_id"].is_unique
    outcomes = data.load_outcomes()
    assert outcomes["value"].dtype == np.float64
    assert outcomes["record_id"].is_unique
    contrasts = data.load_contrasts()
    for col in ("estimate", "ci_lower", "ci_upper", "pvalue", "ci_level"):
        assert contrasts[col].dtype == np.float64
    published = data.load_published()
    assert published["estimate"].dtype == np.float64
    assert published["k"].dtype == "Int64"
    assert published["participants"].dtype == "Int64"
    arms = data.load_arms()
    assert set(arms["arm_role"]) == {"magnesium", "control", "other", "total"}
    links = data.load_published_trials()
    assert set(links["result_id"]) <= set(published["result_id"])


def test_missing_numbers_are_nan_not_zero():
    o = data.load_outcomes()
    missing = o[o["status"] == "missing"]
    assert len(missing) > 0
    assert missing["value"].isna().all()
    assert o.loc[o["status"] != "missing", "value"].notna().all()


def test_loading_never_writes_into_data():
    def digest() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(DATA.iterdir()) if p.is_file()}
    before = digest()
    data.load_trials(), data.load_outcomes(), data.validate(), data.data_gaps()
    data.analysis_data("responders_50", "wk12", measure="OR")
    assert digest() == before


def test_loaders_return_copies():
    a = data.load_trials()
    a.loc[0, "study"] = "changed"
    assert data.load_trials().loc[0, "study"] != "changed"


def test_datapackage_describes_every_csv():
    desc = json.loads((DATA / "datapackage.json").read_text())
    described = {r["path"] for r in desc["resources"]}
    on_disk = {p.name for p in DATA.glob("*.csv")}
    assert described == on_disk
    for r in desc["resources"]:
        assert r["schema"]["primaryKey"], r["name"]
        header, _ = read(DATA, r["name"])
        assert header == [f["name"] for f in r["schema"]["fields"]], r["name"]


def test_problem_str_names_table_line_column_and_value():
    p = data.Problem("outcomes", 10, "value", "40", "events (40) exceed arm size (35)")
    assert str(p) == "outcomes.csv line 12 (row 10), column 'value', value '40': events (40) exceed arm size (35)"
    assert p.to_dict()["line"] == 12
    assert data.Problem("trials", None, None, None, "file not found").line is None


# ---------------------------------------------------------------------------------------------
# validation catches each kind of problem
# ---------------------------------------------------------------------------------------------

def test_events_above_n(copy):
    row = edit(copy, "outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", value="40")
    found = problems_at(data.validate(copy), "outcomes", row, "value")
    assert any("exceed arm size (35" in p.message for p in found), found


def test_percent_not_matching_count(copy):
    # Zohaib's "13 (34.3 %)" is flagged in the shipped data; unflagged, the validator must catch it
    row = edit(copy, "outcomes", "record_id", "zohaib.dexmet.pain_relief.120min.percent", flag="")
    found = problems_at(data.validate(copy), "outcomes", row, "value")
    assert len(found) == 1
    assert "34.3% does not match 13/35 = 37.143%" in found[0].message


def test_percent_within_rounding_is_accepted(copy):
    # 13/35 = 37.14 %: "37.1" and "37" both round correctly
    edit(copy, "outcomes", "record_id", "zohaib.dexmet.pain_relief.120min.percent", flag="", value="37.1")
    assert data.validate(copy) == []
    edit(copy, "outcomes", "record_id", "zohaib.dexmet.pain_relief.120min.percent", value="37")
    assert data.validate(copy) == []


def test_arm_sizes_not_adding_up(copy):
    edit(copy, "outcomes", "record_id", "corbo2001.control.participants.randomized.n", value="24")
    _, rows = read(copy, "outcomes")
    total_row = next(i for i, r in enumerate(rows) if r["record_id"] == "corbo2001.all.participants.randomized.n")
    found = problems_at(data.validate(copy), "outcomes", total_row)
    assert any("21 + 24 = 45" in p.message and "total 44" in p.message for p in found), found


def test_trial_total_disagreeing_with_outcomes(copy):
    row = edit(copy, "trials", "trial_id", "wang2003", n_randomized="119")
    found = problems_at(data.validate(copy), "trials", row, "n_randomized")
    assert found and "119" in found[0].message


def test_derived_row_without_derivation(copy):
    row = edit(copy, "outcomes", "record_id", "pfaffenrath1996.mg.responders_50.wk12.events", derivation="")
    found = problems_at(data.validate(copy), "outcomes", row, "derivation")
    assert found and "derived value without derivation" in found[0].message


def test_derived_value_that_does_not_reproduce(copy):
    row = edit(copy, "outcomes", "record_id", "pfaffenrath1996.mg.responders_50.wk12.events", value="11")
    found = problems_at(data.validate(copy), "outcomes", row, "value")
    assert any("gives 10, not 11" in p.message for p in found), found
    row = edit(copy, "outcomes", "record_id", "peikert1996.mg.participants.randomized.n", value="44")
    found = problems_at(data.validate(copy), "outcomes", row, "value")
    assert any("difference) gives 43, not 44" in p.message for p in found), found


def test_derived_from_unknown_record(copy):
    row = edit(copy, "outcomes", "record_id", "khani2021.all.participants.randomized.n",
               derived_from="khani2021.mg.participants.randomized.n;no.such.record")
    found = problems_at(data.validate(copy), "outcomes", row, "derived_from")
    assert found and "unknown record 'no.such.record'" in found[0].message


def test_number_without_provenance(copy):
    row = edit(copy, "outcomes", "record_id", "shahrami2015.mg.pain_score.120min.mean", source_url="", locator="")
    found = problems_at(data.validate(copy), "outcomes", row)
    messages = " | ".join(p.message for p in found)
    assert "required value is empty" in messages
    assert "number without provenance" in messages


def test_value_of_wrong_type(copy):
    row = edit(copy, "outcomes", "record_id", "karimi2019.mg.attack_frequency.end_of_treatment.mean", value="1,72")
    found = problems_at(data.validate(copy), "outcomes", row, "value")
    assert found and "not a number" in found[0].message and found[0].value == "1,72"


def test_value_not_allowed_by_enum(copy):
    row = edit(copy, "outcomes", "record_id", "karimi2019.mg.attack_frequency.end_of_treatment.mean",
               status="guessed")
    found = problems_at(data.validate(copy), "outcomes", row, "status")
    assert found and "not an allowed value" in found[0].message


def test_negative_sd_and_fractional_count(copy):
    row = edit(copy, "outcomes", "record_id", "shahrami2015.mg.pain_score.120min.sd", value="-0.66")
    found = problems_at(data.validate(copy), "outcomes", row, "value")
    assert found and "sd must not be negative" in found[0].message
    row = edit(copy, "outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", value="22.5")
    found = problems_at(data.validate(copy), "outcomes", row, "value")
    assert any("events must be a whole number" in p.message for p in found)


def test_missing_status_with_a_value(copy):
    row = edit(copy, "outcomes", "record_id", "frank2004.mg.pain_improvement.final.q1", value="1")
    found = problems_at(data.validate(copy), "outcomes", row, "value")
    assert found and "status is missing but a value is given" in found[0].message


def test_foreign_key_to_an_unknown_arm(copy):
    row = edit(copy, "outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", arm="magnesium")
    found = problems_at(data.validate(copy), "outcomes", row, "trial_id,arm")
    assert found and "no matching row in arms" in found[0].message


def test_foreign_key_to_an_unknown_trial(copy):
    row = edit(copy, "published_trials", "trial_id", "demirkaya2001", trial_id="demirkaya2099")
    found = problems_at(data.validate(copy), "published_trials", row, "trial_id")
    assert found and "no matching row in trials" in found[0].message


def test_duplicate_primary_key(copy):
    header, rows = read(copy, "outcomes")
    rows.append(dict(rows[0]))
    write(copy, "outcomes", header, rows)
    found = problems_at(data.validate(copy), "outcomes", len(rows) - 1, "record_id")
    assert any("duplicate" in p.message for p in found), found


def test_second_usable_value_needs_a_flag(copy):
    # Pfaffenrath's printed "1 in each group" is flagged; unflagged it competes with the derived 10
    edit(copy, "outcomes", "record_id", "pfaffenrath1996.mg.responders_50.wk12.events.printed", flag="")
    messages = [p.message for p in problems_at(data.validate(copy), "outcomes")]
    assert any("a second usable value" in m and "events.printed" in m for m in messages), messages
    # and the printed "1" no longer agrees with 28.6 % of 35
    assert any("28.6% does not match 1/35" in m for m in messages), messages


def test_quartiles_out_of_order(copy):
    edit(copy, "outcomes", "record_id", "kandil2021.mg.pain_improvement.60min.q1", value="5")
    _, rows = read(copy, "outcomes")
    median_row = next(i for i, r in enumerate(rows) if r["record_id"] == "kandil2021.mg.pain_improvement.60min.median")
    found = problems_at(data.validate(copy), "outcomes", median_row, "value")
    assert found and "median (4) is below q1 (5" in found[0].message


def test_flagged_row_needs_a_note(copy):
    row = edit(copy, "outcomes", "record_id", "zohaib.dexmet.pain_relief.120min.percent", notes="")
    found = problems_at(data.validate(copy), "outcomes", row, "notes")
    assert found and "flagged" in found[0].message


def test_arm_role_disagreeing_with_arms(copy):
    row = edit(copy, "outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", arm_role="control")
    found = problems_at(data.validate(copy), "outcomes", row, "arm_role")
    assert found and "arms.csv gives arm_role 'magnesium'" in found[0].message


def test_missing_column(copy):
    header, rows = read(copy, "contrasts")
    header.remove("pvalue")
    for r in rows:
        del r["pvalue"]
    write(copy, "contrasts", header, rows)
    found = problems_at(data.validate(copy), "contrasts", None, "pvalue")
    assert found and "missing" in found[0].message


def test_row_with_wrong_number_of_fields(copy):
    path = copy / "arms.csv"
    path.write_text(path.read_text(encoding="utf-8") + "zohaib,extra\n", encoding="utf-8")
    _, rows = read(copy, "arms")
    found = problems_at(data.validate(copy), "arms", len(rows) - 1)
    assert any("fields, the header has" in p.message for p in found)


def test_missing_file_and_folder(copy, tmp_path):
    (copy / "contrasts.csv").unlink()
    assert any(p.table == "contrasts" and "file not found" in p.message for p in data.validate(copy))
    problems = data.validate(tmp_path / "nowhere")
    assert len(problems) == 1 and problems[0].table == "datapackage"


def test_included_trial_must_be_randomized(copy):
    row = edit(copy, "trials", "trial_id", "zohaib", randomized="false")
    found = problems_at(data.validate(copy), "trials", row, "include_default")
    assert found and "not known to be randomized" in found[0].message


def test_risk_of_bias_overall_better_than_domains(copy):
    row = edit(copy, "trials", "trial_id", "maizels2004", rob_overall="low")
    found = problems_at(data.validate(copy), "trials", row, "rob_overall")
    assert found and "better than the domains allow ('high')" in found[0].message


def test_published_estimate_outside_its_ci(copy):
    row = edit(copy, "published", "result_id", "ahrq2012.vas", estimate="-1.5")
    found = problems_at(data.validate(copy), "published", row, "estimate")
    assert found and "within its CI" in found[0].message


def test_published_i2_out_of_range(copy):
    row = edit(copy, "published", "result_id", "okoli2019.severity", i2="148")
    found = problems_at(data.validate(copy), "published", row, "i2")
    assert found and "above the maximum 100" in found[0].message


def test_contrast_pvalue_needs_its_relation(copy):
    row = edit(copy, "contrasts", "contrast_id", "zohaib.pain_relief.120min.p", pvalue_relation="")
    found = problems_at(data.validate(copy), "contrasts", row, "pvalue_relation")
    assert found


def test_every_problem_is_reported_not_just_the_first(copy):
    edit(copy, "outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", value="40")
    edit(copy, "trials", "trial_id", "maizels2004", rob_overall="low")
    edit(copy, "published", "result_id", "okoli2019.severity", i2="148")
    tables = {p.table for p in data.validate(copy)}
    assert {"outcomes", "trials", "published"} <= tables


def test_loaders_raise_schema_error_with_problems(copy):
    edit(copy, "outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", value="40")
    with pytest.raises(SchemaError) as info:
        data.load_outcomes(copy)
    assert info.value.problems and all(isinstance(p, data.Problem) for p in info.value.problems)
    assert "outcomes.csv line" in str(info.value)
    assert isinstance(info.value, DataError)
    # a problem in another table does not block loading this one
    assert len(data.load_trials(copy)) == len(data.load_trials())


# ---------------------------------------------------------------------------------------------
# analysis-ready data
# ---------------------------------------------------------------------------------------------

def test_binary_frame_from_derived_counts_feeds_effect_sizes():
    frame = data.analysis_data("responders_50", "wk12", measure="OR")
    assert frame[["trial_id", "ai", "n1i", "ci", "n2i"]].values.tolist() == [["pfaffenrath1996", 10, 35, 10, 34]]
    assert frame.loc[0, "bi"] == 25 and frame.loc[0, "di"] == 24
    assert "count_from_percent" in frame.loc[0, "conversion"]
    es = mgmeta.effect_sizes("OR", data=frame, ai="ai", n1i="n1i", ci="ci", n2i="n2i", labels="study")
    expected = np.log((10 / 25) / (10 / 24))
    assert float(np.asarray(es["yi"])[0]) == pytest.approx(expected, rel=1e-12)


def test_events_from_percent_at_run_time(copy):
    # drop the stored derived counts of Cete: the frame then converts the percentages itself
    header, rows = read(copy, "outcomes")
    rows = [r for r in rows if not (r["trial_id"] == "cete2005" and r["outcome"] == "rescue_medication"
                                    and r["quantity"] == "events")]
    write(copy, "outcomes", header, rows)
    assert data.validate(copy) == []
    frame = data.analysis_data("rescue_medication", "30min", measure="RR", path=copy)
    assert frame[["ai", "n1i", "ci", "n2i"]].values.tolist() == [[16, 36, 26, 40]]
    assert "events_from_percent" in frame.loc[0, "conversion"]


def test_placebo_and_active_comparisons_of_a_three_arm_trial():
    placebo = data.analysis_data("rescue_medication", "30min", measure="OR", comparison="placebo")
    active = data.analysis_data("rescue_medication", "30min", measure="OR", comparison="active")
    assert placebo.loc[0, "control"] == "Placebo" and placebo.loc[0, "ci"] == 26
    assert active.loc[0, "control"] == "Metoclopramide" and active.loc[0, "ci"] == 14


def test_continuous_frame_and_median_conversion_with_combined_controls():
    frame = data.analysis_data("pain_improvement", "60min", measure="MD", comparison="active")
    row = frame.set_index("trial_id").loc["kandil2021"]
    assert row["n1i"] == 61 and row["n2i"] == 52 + 44
    assert "mean_sd_from_median_iqr" in row["conversion"]
    assert "combine_arms" in row["conversion"]
    es = mgmeta.effect_sizes("MD", data=frame, m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i",
                             n2i="n2i")
    assert np.isfinite(np.asarray(es["yi"])).all()


def test_reported_contrast_becomes_yi_vi_magnesium_minus_control():
    frame = data.analysis_data("pain_improvement", "final", measure="MD", comparison="add-on")
    row = frame.set_index("trial_id").loc["corbo2001"]
    assert row["data_form"] == "contrast"
    assert row["yi"] == pytest.approx(-16.0)
    assert (row["ci_lower"], row["ci_upper"]) == (pytest.approx(-34.0), pytest.approx(2.0))
    assert row["vi"] == pytest.approx((36 / (2 * 1.959963984540054)) ** 2, rel=1e-9)
    assert "reoriented" in row["conversion"]


def test_crossover_is_paired_and_counts_each_participant_once():
    # Cochrane Handbook 23.2.7 / Elbourne et al. 2002: a paired analysis with an assumed correlation
    # (default 0.5), never the two periods as two groups of 63.
    frame = data.analysis_data("attack_frequency", "end_of_treatment", measure="MD", comparison="active")
    row = frame.set_index("trial_id").loc["karimi2019"]
    sd_diff2 = 1.18 ** 2 + 1.27 ** 2 - 2 * 0.5 * 1.18 * 1.27
    assert row["data_form"] == "contrast" and row["n_participants"] == 63
    assert row["yi"] == pytest.approx(0.45)
    assert row["vi"] == pytest.approx(sd_diff2 / 63, rel=1e-9)
    assert "assumed within-patient correlation 0.5" in row["conversion"]
    r8 = data.analysis_data("attack_frequency", "end_of_treatment", measure="MD", comparison="active",
                            crossover_corr=0.8).set_index("trial_id").loc["karimi2019"]
    assert r8["vi"] == pytest.approx((1.18 ** 2 + 1.27 ** 2 - 2 * 0.8 * 1.18 * 1.27) / 63, rel=1e-9)


def test_crossover_smd_is_the_paired_standardized_difference():
    # Becker 1988: var(d) = 2(1 - r)/n + d^2/(2n) when both SDs are equal; here the general form.
    row = data.analysis_data("attack_frequency", "end_of_treatment", measure="SMD", comparison="active"
                             ).set_index("trial_id").loc["karimi2019"]
    s2 = (1.18 ** 2 + 1.27 ** 2) / 2
    d = 0.45 / s2 ** 0.5
    sd_diff2 = 1.18 ** 2 + 1.27 ** 2 - 2 * 0.5 * 1.18 * 1.27
    assert row["yi"] == pytest.approx(d, rel=1e-12)
    assert row["vi"] == pytest.approx(sd_diff2 / (63 * s2) + d ** 2 / 126, rel=1e-12)


def test_assumptions_are_used_only_on_request():
    frame = data.analysis_data("pain_relief", "30min", measure="OR", comparison="active")
    assert "ginder2000" not in set(frame["trial_id"])
    frame = data.analysis_data("pain_relief", "30min", measure="OR", comparison="active", allow_assumptions=True)
    row = frame.set_index("trial_id").loc["ginder2000"]
    assert (row["ai"], row["n1i"], row["ci"], row["n2i"]) == (9, 16, 18, 20)


def test_nonrandomized_and_excluded_studies_stay_out_by_default():
    frame = data.analysis_data("pain_free", "20min", measure="OR", comparison="active", keep_missing=True)
    assert "zidverc2001" not in set(frame["trial_id"])
    reasons = {e["trial_id"]: e["reason"] for e in frame.attrs["excluded"]}
    assert "not randomized" in reasons["delavar2017"] or "randomized" in reasons["delavar2017"]
    frame = data.analysis_data("pain_free", "20min", measure="OR", comparison="active", keep_missing=True,
                               include_nonrandomized=True)
    assert "zidverc2001" in set(frame["trial_id"])
    frame = data.analysis_data("severity", "month3", measure="MD", comparison="add-on", exclude=["ahvaz_jsmj48959"])
    assert frame.empty


def test_keep_missing_lists_what_is_lacking():
    frame = data.analysis_data("pain_relief", "60min", measure="RD", keep_missing=True)
    bigal = frame[frame["trial_id"] == "bigal2002"]
    assert list(bigal["study"]) == ["Bigal 2002 (MA)", "Bigal 2002 (MO)"]
    assert (bigal["data_form"] == "missing").all()
    assert bigal["missing"].str.contains("events").all()
    assert bigal["ai"].isna().all()


def test_analysis_data_rejects_unknown_arguments():
    with pytest.raises(DataError, match="measure"):
        data.analysis_data("pain_relief", "30min", measure="XYZ")
    with pytest.raises(DataError, match="outcome"):
        data.analysis_data("happiness", "30min", measure="OR")
    with pytest.raises(DataError, match="time point"):
        data.analysis_data("pain_relief", "7min", measure="OR")
    with pytest.raises(DataError, match="trial id"):
        data.analysis_data("pain_relief", "30min", measure="OR", include=["nobody2000"])


def test_analysis_data_refuses_invalid_data(copy):
    edit(copy, "outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", value="40")
    with pytest.raises(SchemaError):
        data.analysis_data("pain_relief", "120min", measure="OR", comparison="active", path=copy)


# ---------------------------------------------------------------------------------------------
# gaps
# ---------------------------------------------------------------------------------------------

def test_gaps_cover_every_published_result():
    gaps = data.data_gaps()
    published = data.load_published()
    assert set(gaps["result_id"]) == set(published["result_id"])
    assert list(gaps.columns) == ["result_id", "review", "kind", "trial_id", "study", "item", "status", "detail",
                                  "source_url", "locator"]
    assert gaps["source_url"].str.match(r"https?://").all()


def test_gaps_of_chiu_2016():
    gaps = data.data_gaps(result="chiu2016.iv.relief.15-45min")
    pooled = set(gaps.loc[gaps["kind"] == "pooled_result", "item"])
    assert {"95% CI", "I2", "model and tau2 estimator", "direction of the effect measure"} <= pooled
    assert (gaps["kind"] == "trial_list").sum() == 1
    candidates = set(gaps.loc[gaps["kind"] == "candidate_trial_data", "trial_id"])
    assert {"bigal2002", "demirkaya2001", "cete2005"} <= candidates
    assert "kandil2021" not in candidates  # published after the review


def test_gaps_of_the_ahrq_vas_analysis_name_trials_and_numbers():
    gaps = data.data_gaps(result="ahrq2012.vas")
    assert set(gaps.loc[gaps["kind"] == "trial_data", "trial_id"]) == {"bigal2002", "cete2005", "frank2004"}
    items = set(gaps["item"])
    assert "mg mean of pain_score at 30min" in items
    assert "placebo sd of pain_score at final" in items
    assert not any(i.startswith("met ") for i in items)  # the metoclopramide arm is not part of it
    assert set(gaps.loc[gaps["kind"] == "trial_list", "status"]) == {"inferred"}


def test_gaps_reject_unknown_result():
    with pytest.raises(DataError):
        data.data_gaps(result="nobody")


def test_known_issues_list_the_judgement_calls():
    issues = data.known_issues()
    ids = set(issues["id"])
    assert "pfaffenrath1996.mg.responders_50.wk12.events.printed" in ids
    assert "zohaib.dexmet.pain_relief.120min.percent" in ids
    assert "ginder2000.mg.participants.enrolled.n" in ids
    assert "cete2005.mg.recurrence.24h.percent" in ids
    assert "bigal2002.mo.pain_relief.60min.nnt" in ids
    assert set(issues["flag"]) == {"source_inconsistent", "conflicting_sources", "assumption", "unverified",
                                   "denominator_unknown"}
    assert (issues["notes"].str.len() > 0).all()


def test_percentages_with_unknown_denominators_are_never_converted(copy):
    # Cete 2005 recurrence at 24 h: 43 % / 52 % / 53 %; 52 % is no whole count of the 36 analysed
    frame = data.analysis_data("recurrence", "24h", measure="OR", keep_missing=True)
    cete = frame[frame["trial_id"] == "cete2005"]
    assert list(cete["data_form"]) == ["missing"]
    assert cete["ai"].isna().all() and "mg: events" in cete["missing"].iloc[0]
    frame = data.analysis_data("recurrence", "24h", measure="OR")
    assert "cete2005" not in set(frame["trial_id"])
    assert any(e["trial_id"] == "cete2005" and "incomplete data" in e["reason"] for e in frame.attrs["excluded"])
    # without the flag the percentage would be read as a count of the analysed arm, which 52 % cannot be
    edit(copy, "outcomes", "record_id", "cete2005.mg.recurrence.24h.percent", flag="", notes="")
    with pytest.raises(DataError, match="52"):
        data.analysis_data("recurrence", "24h", measure="OR", path=copy)


def test_unknown_flag_is_refused(copy):
    row = edit(copy, "outcomes", "record_id", "cete2005.mg.recurrence.24h.percent", flag="doubtful")
    found = problems_at(data.validate(copy), "outcomes", row, "flag")
    assert found and "not an allowed value" in found[0].message
