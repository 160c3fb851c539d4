"""GRADE certainty (src/mgmeta/review/grade.py) on constructed cases.

Every domain is checked to downgrade when, and only when, its rule fires, on
both sides of each threshold; then the level arithmetic (cap at very low,
non-randomized start), the override table and the plain-language statements.
The baseline evidence below rates "not serious" in every domain.
"""
from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mgmeta.errors import DataError
from mgmeta.review import grade
from mgmeta.review.grade import (
    DOMAINS,
    LEVELS,
    Certainty,
    GradeEvidence,
    effect_direction,
    load_overrides,
    optimal_information_size,
    plain_language,
    rate_certainty,
)

DATA = Path(__file__).resolve().parents[1] / "data"
COMPARISON = "IV magnesium vs placebo"
OUTCOME = "Pain relief at 30 min"


def evidence(**changes) -> GradeEvidence:
    """Three low-risk, direct, consistent, precise trials (OIS 1074 for a control risk of 30%)."""
    base = GradeEvidence(
        comparison=COMPARISON, outcome=OUTCOME, measure="OR", k=3,
        estimate=-0.5, ci_lower=-0.7, ci_upper=-0.3,
        yi=(-0.5, -0.45, -0.55), vi=(0.02, 0.02, 0.02), weights=(100 / 3, 100 / 3, 100 / 3),
        rob=("low", "low", "low"), indirect=("", "", ""), i2=0.0,
        participants=2000, events=600, control_risk=0.3, studies=("A 2001", "B 2002", "C 2003"))
    return dataclasses.replace(base, **changes)


def two(**changes) -> GradeEvidence:
    """Two trials (for weight-share boundaries)."""
    base = dict(k=2, yi=(-0.5, -0.5), vi=(0.02, 0.02), weights=(50.0, 50.0), rob=("low", "low"),
                indirect=("", ""), studies=("A 2001", "B 2002"))
    base.update(changes)
    return evidence(**base)


def rating(ev: GradeEvidence, domain: str) -> int:
    return rate_certainty(ev).domain(domain).rating


def test_baseline_is_high_certainty_with_no_footnotes():
    c = rate_certainty(evidence())
    assert isinstance(c, Certainty)
    assert [d.domain for d in c.domains] == list(DOMAINS)
    assert [d.rating for d in c.domains] == [0, 0, 0, 0, 0]
    assert (c.level, c.symbols, c.start) == ("high", "⊕⊕⊕⊕", "high")
    assert c.footnotes == () and c.reasons == ""
    assert (c.comparison, c.outcome) == (COMPARISON, OUTCOME)


# ---------------------------------------------------------------------------------------------
# risk of bias: weight shares (more than 50 % not at low risk: -1; more than 50 % high: -2)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("weights, rob, expected", [
    ((50.0, 50.0), ("unclear", "low"), 0),          # exactly half not at low risk: not "more than"
    ((50.1, 49.9), ("unclear", "low"), -1),
    ((50.1, 49.9), ("some concerns", "low"), -1),
    ((50.1, 49.9), ("no information", "low"), -1),
    ((50.0, 50.0), ("high", "low"), 0),             # half the weight at high risk: not "more than"
    ((50.1, 49.9), ("high", "low"), -2),
    ((50.0, 50.0), ("high", "unclear"), -1),        # all not low, but high only 50 %
    ((49.9, 50.1), ("high", "high"), -2),
    ((20.0, 80.0), ("high", "low"), 0),
])
def test_risk_of_bias_weight_shares(weights, rob, expected):
    d = rate_certainty(two(weights=weights, rob=rob)).domain("risk_of_bias")
    assert d.computed == d.rating == expected
    assert "% of the weight" in d.reason


def test_risk_of_bias_uses_weight_not_study_count():
    # two of three studies at high risk but with 30 % of the weight: no downgrade
    ev = evidence(weights=(15.0, 15.0, 70.0), rob=("high", "high", "low"))
    assert rating(ev, "risk_of_bias") == 0
    # weights that do not add up to 100 are rescaled
    assert rating(evidence(weights=(3.0, 3.0, 14.0), rob=("high", "high", "low")), "risk_of_bias") == 0
    assert rating(evidence(weights=(6.0, 6.0, 1.0), rob=("high", "high", "low")), "risk_of_bias") == -2


def test_risk_of_bias_judgements_are_case_insensitive_and_checked():
    assert rating(two(rob=("Low", " LOW ")), "risk_of_bias") == 0
    with pytest.raises(DataError, match="study 'B 2002': unknown risk-of-bias judgement 'moderate'"):
        rate_certainty(two(rob=("low", "moderate")))


# ---------------------------------------------------------------------------------------------
# inconsistency
# ---------------------------------------------------------------------------------------------

def test_inconsistency_not_assessable_for_one_study():
    ev = evidence(k=1, yi=(-0.5,), vi=(0.01,), weights=(100.0,), rob=("low",), indirect=("",), i2=90.0,
                  studies=("A 2001",), pi_lower=-1.0, pi_upper=1.0)
    d = rate_certainty(ev).domain("inconsistency")
    assert d.rating == 0 and d.reason == "not assessable, single study"


@pytest.mark.parametrize("i2, expected", [(0.0, 0), (49.9, 0), (50.0, -1), (74.9, -1), (90.0, -1), (None, 0)])
def test_inconsistency_i2(i2, expected):
    assert rating(evidence(i2=i2), "inconsistency") == expected


def test_inconsistency_prediction_interval_only_when_the_ci_excludes_no_effect():
    # PI includes 0, CI excludes it: -1
    assert rating(evidence(pi_lower=-1.2, pi_upper=0.2), "inconsistency") == -1
    # PI touches 0: includes it
    assert rating(evidence(pi_lower=-1.2, pi_upper=0.0), "inconsistency") == -1
    # PI excludes 0: no downgrade
    assert rating(evidence(pi_lower=-1.2, pi_upper=-0.01), "inconsistency") == 0
    # PI and CI both include 0: imprecision, not inconsistency
    ev = evidence(estimate=-0.1, ci_lower=-0.3, ci_upper=0.1, pi_lower=-1.0, pi_upper=0.8)
    assert rating(ev, "inconsistency") == 0
    assert rating(ev, "imprecision") == -1


def test_inconsistency_opposite_directions_with_non_overlapping_cis():
    # CIs: 0.5 +- 0.196 = [0.304, 0.696] and -0.5 +- 0.196 = [-0.696, -0.304]: disjoint, opposite sides
    apart = dict(yi=(0.5, -0.5, -0.45), vi=(0.01, 0.01, 0.01))
    assert rating(evidence(i2=0.0, **apart), "inconsistency") == -1
    assert rating(evidence(i2=60.0, **apart), "inconsistency") == -1
    assert rating(evidence(i2=75.0, **apart), "inconsistency") == -2
    d = rate_certainty(evidence(i2=80.0, **apart)).domain("inconsistency")
    assert "A 2001" in d.reason and "I² = 80%" in d.reason
    # opposite sides but overlapping CIs: no downgrade (I² low)
    assert rating(evidence(yi=(0.1, -0.1, -0.2), vi=(0.04, 0.04, 0.04)), "inconsistency") == 0
    # non-overlapping CIs on the same side: not this rule
    assert rating(evidence(yi=(-0.1, -1.5, -0.5), vi=(0.01, 0.01, 0.01)), "inconsistency") == 0
    # CIs that touch at 0 ([0, 0.39] and [-0.39, 0]) overlap; a hair apart they do not
    z = 1.959963984540054
    se = 0.1
    touching = (z * se, -z * se, -z * se)
    assert rating(evidence(yi=touching, vi=(se**2,) * 3), "inconsistency") == 0
    apart2 = (z * se + 1e-6, -z * se - 1e-6, -z * se)
    assert rating(evidence(yi=apart2, vi=(se**2,) * 3), "inconsistency") == -1
    # I² of 75 % or more without opposite directions: only -1
    assert rating(evidence(i2=95.0), "inconsistency") == -1


# ---------------------------------------------------------------------------------------------
# indirectness
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("weights, indirect, expected", [
    ((50.0, 50.0), ("population: children", ""), 0),
    ((50.1, 49.9), ("population: children", ""), -1),
    ((50.1, 49.9), ("population: children; outcome definition", ""), -2),
    ((50.0, 50.0), ("population; comparator", "population"), -1),  # two respects in only half the weight
    ((49.9, 50.1), ("population; comparator", "population"), -1),
    ((30.0, 70.0), ("population; comparator", "population; outcome"), -2),
    ((50.0, 50.0), ("", ""), 0),
])
def test_indirectness_weight_shares(weights, indirect, expected):
    d = rate_certainty(two(weights=weights, indirect=indirect)).domain("indirectness")
    assert d.rating == expected
    if expected < 0:
        assert "population" in d.reason


def test_indirectness_repeated_reason_counts_once():
    assert rating(two(weights=(60.0, 40.0), indirect=("population; population", "")), "indirectness") == -1


# ---------------------------------------------------------------------------------------------
# imprecision
# ---------------------------------------------------------------------------------------------

def test_optimal_information_size_matches_the_two_group_formula():
    for p0 in (0.1, 0.3, 0.5, 0.65):
        p1 = p0 * 0.75
        z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
        n = z**2 * (p0 * (1 - p0) + p1 * (1 - p1)) / (p0 - p1) ** 2
        assert optimal_information_size(p0) == 2 * math.ceil(n)
    assert optimal_information_size(0.3) == 1074
    with pytest.raises(DataError, match="control_risk"):
        optimal_information_size(1.0)


@pytest.mark.parametrize("ci, expected", [
    ((-0.7, -0.3), 0),
    ((-0.7, -1e-9), 0),
    ((-0.7, 0.0), -1),     # a CI that reaches no effect includes it
    ((-0.3, 0.1), -1),
    ((0.0, 0.2), -1),
])
def test_imprecision_ci_and_no_effect(ci, expected):
    est = (ci[0] + ci[1]) / 2
    assert rating(evidence(estimate=est, ci_lower=ci[0], ci_upper=ci[1]), "imprecision") == expected


def test_imprecision_decision_threshold():
    assert rating(evidence(threshold=math.log(0.7)), "imprecision") == -1     # -0.357 lies in (-0.7, -0.3)
    assert rating(evidence(threshold=-0.8), "imprecision") == 0
    d = rate_certainty(evidence(threshold=math.log(0.7))).domain("imprecision")
    assert "decision threshold" in d.reason


@pytest.mark.parametrize("participants, expected", [(1074, 0), (1073, -1), (269, -1), (268, -2)])
def test_imprecision_optimal_information_size_binary(participants, expected):
    # control risk 30 %: OIS 1074, a quarter of it 268.5
    d = rate_certainty(evidence(participants=participants)).domain("imprecision")
    assert d.rating == expected
    assert "1074" in d.reason


@pytest.mark.parametrize("events, expected", [(300, 0), (299, -1), (75, -1), (74, -2)])
def test_imprecision_events_rule_without_control_risk(events, expected):
    assert rating(evidence(control_risk=None, events=events), "imprecision") == expected


@pytest.mark.parametrize("participants, expected", [(400, 0), (399, -1), (100, -1), (99, -2)])
def test_imprecision_continuous_400_rule(participants, expected):
    ev = evidence(measure="MD", estimate=-2.0, ci_lower=-3.0, ci_upper=-1.0, control_risk=None, events=None,
                  participants=participants)
    assert rating(ev, "imprecision") == expected


def test_imprecision_not_assessed_without_size():
    ev = evidence(participants=None, events=None)
    d = rate_certainty(ev).domain("imprecision")
    assert d.rating == 0 and "not assessed" in d.reason
    ev = evidence(participants=None, events=None, estimate=0.0, ci_lower=-0.1, ci_upper=0.1)
    assert rating(ev, "imprecision") == -1


@pytest.mark.parametrize("measure, ci, threshold, expected", [
    ("OR", (math.log(0.70), math.log(1.30)), None, -2),
    ("RR", (math.log(0.75), math.log(1.25)), None, -2),     # boundaries included
    ("RR", (math.log(0.76), math.log(1.30)), None, -1),
    ("RR", (math.log(0.70), math.log(1.24)), None, -1),
    ("SMD", (-0.5, 0.5), None, -2),
    ("SMD", (-0.49, 0.6), None, -1),
    ("MD", (-10.0, 10.0), None, -1),                         # no MID given: only the null
    ("MD", (-10.0, 10.0), 2.0, -2),
    ("RD", (-0.2, 0.2), -0.1, -2),
    ("RD", (-0.2, 0.05), -0.1, -1),
])
def test_imprecision_appreciable_benefit_and_harm(measure, ci, threshold, expected):
    ev = evidence(measure=measure, estimate=(ci[0] + ci[1]) / 2, ci_lower=ci[0], ci_upper=ci[1],
                  threshold=threshold, participants=5000, control_risk=0.3 if measure in ("OR", "RR", "RD") else None)
    assert rating(ev, "imprecision") == expected


# ---------------------------------------------------------------------------------------------
# publication bias
# ---------------------------------------------------------------------------------------------

def many(k: int, **changes) -> GradeEvidence:
    base = dict(k=k, yi=(-0.5,) * k, vi=(0.05,) * k, weights=(100 / k,) * k, rob=("low",) * k,
                indirect=("",) * k, studies=tuple(f"S{i}" for i in range(k)))
    base.update(changes)
    return evidence(**base)


def test_publication_bias_not_assessed_below_ten_studies():
    d = rate_certainty(many(9, small_study_p=0.001)).domain("publication_bias")
    assert d.rating == 0 and d.reason == "not assessed: 9 studies (at least 10 needed)"
    d = rate_certainty(evidence(k=1, yi=(-0.5,), vi=(0.01,), weights=(100.0,), rob=("low",), indirect=("",),
                                studies=())).domain("publication_bias")
    assert d.reason == "not assessed: 1 study (at least 10 needed)"


@pytest.mark.parametrize("p, expected", [(0.099, -1), (0.0001, -1), (0.10, 0), (0.5, 0), (None, 0)])
def test_publication_bias_egger_from_ten_studies(p, expected):
    d = rate_certainty(many(10, small_study_p=p)).domain("publication_bias")
    assert d.rating == expected
    if p is None:
        assert d.reason.startswith("not assessed")


# ---------------------------------------------------------------------------------------------
# levels
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("down, level, symbols", [
    (0, "high", "⊕⊕⊕⊕"), (1, "moderate", "⊕⊕⊕◯"), (2, "low", "⊕⊕◯◯"), (3, "very low", "⊕◯◯◯"),
])
def test_levels_and_symbols(down, level, symbols):
    ratings = {0: {}, 1: {"i2": 60.0}, 2: {"i2": 60.0, "participants": 1000},
               3: {"i2": 60.0, "participants": 1000, "rob": ("unclear",) * 3}}[down]
    c = rate_certainty(evidence(**ratings))
    assert sum(d.rating for d in c.domains) == -down
    assert (c.level, c.symbols) == (level, symbols)
    assert len(c.footnotes) == down
    assert c.reasons == "; ".join(c.footnotes)


def test_total_is_capped_at_very_low():
    ev = many(12, rob=("high",) * 12, indirect=("population; comparator",) * 12, participants=50,
              estimate=0.0, ci_lower=-1.0, ci_upper=1.0, small_study_p=0.01, i2=80.0,
              yi=(1.0,) * 6 + (-1.0,) * 6, vi=(0.01,) * 12)
    c = rate_certainty(ev)
    assert [d.rating for d in c.domains] == [-2, -2, -2, -2, -1]
    assert c.level == "very low" and c.symbols == "⊕◯◯◯"
    assert len(c.footnotes) == 5
    assert c.footnotes[0].startswith("Risk of bias: very serious, downgraded two levels (")


def test_non_randomized_evidence_starts_low():
    c = rate_certainty(evidence(randomized=False))
    assert (c.start, c.level, c.symbols) == ("low", "low", "⊕⊕◯◯")
    c = rate_certainty(evidence(randomized=False, i2=60.0))
    assert c.level == "very low"


def test_to_frame_has_one_row_per_domain():
    frame = rate_certainty(evidence(i2=60.0)).to_frame()
    assert list(frame.columns) == ["domain", "computed", "override", "rating", "reason", "override_reason"]
    assert list(frame["domain"]) == list(DOMAINS)
    assert frame["override"].isna().all()
    assert list(frame["computed"]) == [0, -1, 0, 0, 0]
    assert (frame["override_reason"] == "").all()


def test_str_lists_the_domains():
    text = str(rate_certainty(evidence(i2=60.0)))
    assert "Certainty: moderate ⊕⊕⊕◯" in text and "Inconsistency" in text and "serious" in text


# ---------------------------------------------------------------------------------------------
# overrides
# ---------------------------------------------------------------------------------------------

def overrides(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["outcome", "comparison", "domain", "rating", "reason"])


def test_override_replaces_the_computed_rating_and_keeps_both():
    table = overrides(("pain relief at 30 MIN", "IV magnesium vs placebo", "inconsistency", "no serious",
                       "The two trials differ only in dose; the reviewers judge the difference unimportant."))
    c = rate_certainty(evidence(i2=60.0), table)
    d = c.domain("inconsistency")
    assert (d.computed, d.rating, d.overridden) == (-1, 0, True)
    assert d.override_reason.startswith("The two trials differ")
    assert c.level == "high"
    assert len(c.footnotes) == 1 and "reviewer judgement" in c.footnotes[0] and "I² = 60%" in c.footnotes[0]
    frame = c.to_frame()
    assert frame.loc[1, "override"] == 0 and frame.loc[1, "computed"] == -1
    assert frame.loc[0, "override"] is pd.NA


@pytest.mark.parametrize("value, expected", [
    ("serious", -1), ("very serious", -2), ("no serious", 0), ("not serious", 0), ("Very  Serious", -2),
    ("-1", -1), ("0", 0), ("-2", -2), (-1, -1), (-2.0, -2), (0, 0),
])
def test_override_rating_words_and_numbers(value, expected):
    table = overrides((OUTCOME, COMPARISON, "publication_bias", value, "Trial registry search found 3 "
                       "unpublished trials."))
    assert rating_with(table, "publication_bias") == expected


def rating_with(table: pd.DataFrame, domain: str) -> int:
    return rate_certainty(evidence(), table).domain(domain).rating


def test_override_for_another_outcome_or_comparison_is_ignored():
    table = overrides(("Pain relief at 60 min", COMPARISON, "imprecision", -2, "x"),
                      (OUTCOME, "IV magnesium vs metoclopramide", "imprecision", -2, "x"))
    c = rate_certainty(evidence(), table)
    assert c.level == "high" and not any(d.overridden for d in c.domains)


@pytest.mark.parametrize("row, message", [
    ((OUTCOME, COMPARISON, "bias", -1, "r"), "overrides row 0 .*unknown domain 'bias'"),
    ((OUTCOME, COMPARISON, "imprecision", -3, "r"), "overrides row 0 .*unknown rating -3"),
    ((OUTCOME, COMPARISON, "imprecision", "moderate", "r"), "unknown rating 'moderate'"),
    ((OUTCOME, COMPARISON, "imprecision", True, "r"), "unknown rating True"),
    ((OUTCOME, COMPARISON, "imprecision", -1, ""), "reason is empty; every override needs the reviewer's reason"),
    ((OUTCOME, COMPARISON, "imprecision", -1, None), "reason is empty"),
    (("", COMPARISON, "imprecision", -1, "r"), "outcome is empty"),
])
def test_bad_override_rows_raise_naming_the_row(row, message):
    table = overrides((OUTCOME, COMPARISON, "risk_of_bias", 0, "fine"), row)
    with pytest.raises(DataError, match=message.replace("row 0", "row 1")):
        rate_certainty(evidence(), table)


def test_bad_override_table_shape():
    with pytest.raises(DataError, match="missing column"):
        rate_certainty(evidence(), pd.DataFrame({"outcome": [OUTCOME]}))
    table = overrides((OUTCOME, COMPARISON, "imprecision", -1, "a"), (OUTCOME, COMPARISON, "imprecision", 0, "b"))
    with pytest.raises(DataError, match="a second override of the same domain"):
        rate_certainty(evidence(), table)


def test_shipped_override_file_is_empty_and_matches_its_schema():
    table = load_overrides()
    assert list(table.columns) == ["outcome", "comparison", "domain", "rating", "reason"]
    assert len(table) == 0  # no reviewer judgement is invented
    desc = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
    res = next(r for r in desc["resources"] if r["name"] == "grade")
    fields = {f["name"]: f for f in res["schema"]["fields"]}
    assert list(fields) == ["outcome", "comparison", "domain", "rating", "reason"]
    assert tuple(fields["domain"]["constraints"]["enum"]) == DOMAINS
    assert set(fields["rating"]["constraints"]["enum"]) == set(grade._RATING_WORDS)


def test_override_file_in_a_copied_data_folder(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    (folder / "grade.csv").write_text(
        "outcome,comparison,domain,rating,reason\n"
        f"{OUTCOME},{COMPARISON},risk_of_bias,serious,\"Outcome assessors knew the allocation, \"\"per protocol\"\"\"\n"
        f"{OUTCOME},{COMPARISON},imprecision,-2,Only 70 participants in one trial.\n",
        encoding="utf-8")
    table = load_overrides(folder)
    assert list(table["rating"]) == [-1, -2]
    assert table["rating"].dtype == np.int64
    c = rate_certainty(evidence(), table)
    assert [d.rating for d in c.domains] == [-1, 0, 0, -2, 0]
    assert c.level == "very low"
    assert c.domain("risk_of_bias").override_reason == 'Outcome assessors knew the allocation, "per protocol"'
    # the same folder given as its datapackage.json
    assert len(load_overrides(folder / "datapackage.json")) == 2
    # the data package itself stays valid
    from mgmeta.review import data
    assert data.validate(folder) == []


def test_override_file_problems_name_the_line(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "grade.csv").write_text(
        "outcome,comparison,domain,rating,reason\n"
        f"{OUTCOME},{COMPARISON},imprecision,-1,ok\n"
        f"{OUTCOME},{COMPARISON},indirectnes,-1,typo\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"grade.csv line 3 .*unknown domain 'indirectnes'"):
        load_overrides(folder)
    (folder / "grade.csv").write_text("outcome,comparison,domain,rating\n", encoding="utf-8")
    with pytest.raises(DataError, match="header"):
        load_overrides(folder)
    (folder / "grade.csv").write_text("outcome,comparison,domain,rating,reason\na,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2: 2 fields"):
        load_overrides(folder)
    (folder / "grade.csv").unlink()
    with pytest.raises(DataError, match="not found"):
        load_overrides(folder)


# ---------------------------------------------------------------------------------------------
# bad evidence
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"measure": "HR"}, "unknown measure 'HR'"),
    ({"k": 0}, "k must be"),
    ({"weights": (50.0, 50.0)}, "weights has 2 entries but k is 3"),
    ({"studies": ("A",)}, "studies has 1 entries"),
    ({"estimate": 0.5}, "must lie within its CI"),
    ({"estimate": math.nan}, "estimate must be a finite number"),
    ({"vi": (0.02, 0.0, 0.02)}, "study 'B 2002': vi must be positive"),
    ({"weights": (50.0, -1.0, 51.0)}, "study 'B 2002': weights must not be negative"),
    ({"weights": (0.0, 0.0, 0.0)}, "weights add up to 0"),
    ({"i2": 120.0}, "i2 is a percentage"),
    ({"control_risk": 1.2}, "control_risk"),
    ({"pi_lower": -1.0}, "both prediction-interval limits"),
    ({"small_study_p": 2.0}, "small_study_p"),
    ({"indirect": ("", 3, "")}, "study 'B 2002': indirect must be"),
])
def test_bad_evidence_raises(changes, message):
    with pytest.raises(DataError, match=message):
        rate_certainty(evidence(**changes))


# ---------------------------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("level, direction, expected", [
    ("high", "decrease", "IV magnesium reduces pain at 2 h (high certainty)."),
    ("high", "increase", "IV magnesium increases flushing (high certainty)."),
    ("high", "little or no difference", "IV magnesium results in little or no difference in recurrence "
                                        "(high certainty)."),
    ("moderate", "decrease", "IV magnesium probably reduces pain at 2 h (moderate certainty)."),
    ("moderate", "increase", "IV magnesium probably increases flushing (moderate certainty)."),
    ("moderate", "little or no difference", "IV magnesium probably results in little or no difference in "
                                            "recurrence (moderate certainty)."),
    ("low", "decrease", "IV magnesium may reduce pain at 2 h (low certainty)."),
    ("low", "increase", "IV magnesium may increase flushing (low certainty)."),
    ("low", "little or no difference", "IV magnesium may result in little or no difference in recurrence "
                                       "(low certainty)."),
])
def test_plain_language_statements(level, direction, expected):
    outcome = {"decrease": "pain at 2 h", "increase": "flushing", "little or no difference": "recurrence"}[direction]
    assert plain_language(level, "IV magnesium", outcome, direction) == expected


@pytest.mark.parametrize("direction", ["increase", "decrease", "little or no difference"])
def test_plain_language_very_low(direction):
    assert plain_language("very low", "oral magnesium", "attack frequency", direction) == \
        "The evidence is very uncertain about the effect of oral magnesium on attack frequency (very low certainty)."


def test_plain_language_capitalizes_and_checks():
    assert plain_language("low", "magnesium", "pain", "decrease") == "Magnesium may reduce pain (low certainty)."
    with pytest.raises(DataError, match="unknown certainty level 'medium'"):
        plain_language("medium", "magnesium", "pain", "decrease")
    with pytest.raises(DataError, match="unknown direction 'reduce'"):
        plain_language("low", "magnesium", "pain", "reduce")
    with pytest.raises(DataError, match="outcome must be"):
        plain_language("low", "magnesium", " ", "decrease")


@pytest.mark.parametrize("values, measure, expected", [
    ((math.log(2.0), math.log(1.2), math.log(3.3)), "OR", "increase"),
    ((math.log(0.5), math.log(0.3), math.log(0.8)), "RR", "decrease"),
    # CI includes no effect: the point estimate decides unless it is trivial (Santesso et al. 2020)
    ((math.log(0.43), math.log(0.17), math.log(1.09)), "OR", "decrease"),
    ((math.log(0.9), math.log(0.5), math.log(1.6)), "OR", "little or no difference"),
    ((-2.1, -2.9, -1.3), "MD", "decrease"),
    ((-2.1, -4.9, 0.3), "MD", "little or no difference"),  # no trivial band for an MD: the CI decides
    ((0.2, 0.0, 0.4), "SMD", "increase"),
    ((0.15, -0.1, 0.4), "SMD", "little or no difference"),
    ((0.0, 0.0, 0.0), "RD", "little or no difference"),
])
def test_effect_direction(values, measure, expected):
    assert effect_direction(*values, measure) == expected


def test_effect_direction_checks():
    with pytest.raises(DataError, match="unknown measure"):
        effect_direction(0.1, 0.0, 0.2, "HR")
    with pytest.raises(DataError, match="within its CI"):
        effect_direction(0.5, 0.0, 0.2, "MD")
    with pytest.raises(DataError, match="finite"):
        effect_direction(math.inf, 0.0, 0.2, "MD")


def test_levels_constant():
    assert LEVELS == ("high", "moderate", "low", "very low")
    assert DOMAINS == ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")


# ---------------------------------------------------------------------------------------------
# from a fitted model
# ---------------------------------------------------------------------------------------------

def test_evidence_from_result_aligns_by_label():
    import mgmeta
    res = mgmeta.meta_analysis([0.8, 0.6, -0.1], [0.25, 0.30, 0.2], labels=["A", "B", "C"], measure="OR")
    ev = grade.evidence_from_result(res, comparison=COMPARISON, outcome=OUTCOME,
                                    rob={"C": "high", "A": "low", "B": "unclear"},
                                    indirect={"A": "", "B": "population: children", "C": ""},
                                    participants=400, control_risk=0.3)
    assert ev.rob == ("low", "unclear", "high")
    assert ev.indirect == ("", "population: children", "")
    assert ev.studies == ("A", "B", "C") and ev.k == 3 and ev.measure == "OR"
    assert ev.weights == pytest.approx(tuple(res.weights)) and sum(ev.weights) == pytest.approx(100)
    assert (ev.estimate, ev.ci_lower, ev.ci_upper, ev.i2) == (res.estimate, res.ci_lower, res.ci_upper, res.i2)
    assert (ev.pi_lower, ev.pi_upper) == (res.pi_lower, res.pi_upper)
    # a sequence in fit order works too, and indirectness defaults to direct
    ev2 = grade.evidence_from_result(res, comparison=COMPARISON, outcome=OUTCOME, rob=["low", "unclear", "high"])
    assert ev2.rob == ev.rob and ev2.indirect == ("", "", "")
    rate_certainty(ev)  # rates without error


def test_evidence_from_result_checks():
    import mgmeta
    res = mgmeta.meta_analysis([0.8, 0.6], [0.25, 0.30], labels=["A", "B"], measure="OR")
    with pytest.raises(DataError, match="study 'B': no rob given"):
        grade.evidence_from_result(res, comparison=COMPARISON, outcome=OUTCOME, rob={"A": "low"})
    with pytest.raises(DataError, match="rob has 1 entries but the analysis has 2 studies"):
        grade.evidence_from_result(res, comparison=COMPARISON, outcome=OUTCOME, rob=["low"])
    with pytest.raises(DataError, match="not a string"):
        grade.evidence_from_result(res, comparison=COMPARISON, outcome=OUTCOME, rob="low")
    with pytest.raises(DataError, match="95%"):
        grade.evidence_from_result(mgmeta.meta_analysis([0.8, 0.6], [0.25, 0.3], level=0.9, measure="OR"),
                                   comparison=COMPARISON, outcome=OUTCOME, rob=["low", "low"])
    raw = mgmeta.meta_analysis([0.8, 0.6], [0.25, 0.30])
    with pytest.raises(DataError, match="unknown measure None"):
        grade.evidence_from_result(raw, comparison=COMPARISON, outcome=OUTCOME, rob=["low", "low"])
    ev = grade.evidence_from_result(raw, comparison=COMPARISON, outcome=OUTCOME, rob=["low", "low"], measure="MD")
    assert ev.measure == "MD"
