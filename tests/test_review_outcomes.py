"""One outcome of one comparison, from data/ to a fitted model (mgmeta.review.outcomes).

The review's rules are tested here: one comparator per analysis, crossover trials counted once, shared arms
split, conversions footnoted, one measure per outcome and comparison, and what is run at few studies.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import mgmeta
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.review import comparisons as cmp
from mgmeta.review import outcomes
from mgmeta.review.data import analysis_data


# ---- comparisons ----------------------------------------------------------------------------------

def test_every_comparison_has_one_comparator_and_words():
    comps = cmp.comparisons()
    ids = [c.id for c in comps]
    assert len(ids) == len(set(ids))
    assert "iv-placebo" in ids and "iv-active-metoclopramide" in ids and "iv-active-prochlorperazine" in ids
    assert "oral-active-sodium-valproate" in ids and "oral-add-on-propranolol" in ids
    for c in comps:
        assert "_" not in c.label and " vs " in c.label
    # Shahrami 2015 (dexamethasone + metoclopramide) and Kandil 2021 are never in one comparison
    assert not any({"shahrami2015", "kandil2021"} <= set(c.trials) for c in comps)
    # Kandil's two control arms make two comparisons
    assert [c.id for c in comps if "kandil2021" in c.trials] == ["iv-active-metoclopramide",
                                                                   "iv-active-prochlorperazine"]
    assert cmp.get_comparison("IV magnesium vs placebo").id == "iv-placebo"
    with pytest.raises(DataError, match="unknown comparison"):
        cmp.get_comparison("iv-nothing")
    # excluded studies (non-randomized, combination products) make no comparison by default
    assert "iv-active-sumatriptan" not in ids
    assert "iv-active-sumatriptan" in [c.id for c in cmp.comparisons(include_excluded=True)]


def test_a_pool_holds_one_comparator_only():
    for comp in cmp.comparisons("iv"):
        pool = outcomes.pool_outcome("pain_score", ["60min", "120min"], comparison=comp)
        if pool.result is None:
            continue
        assert set(pool.data["comparator"]) == {comp.comparator}
        assert pool.title.startswith(comp.label)


def test_pool_outcome_matches_effect_sizes_and_meta_analysis():
    pool = outcomes.pool_outcome("pain_score", ["20min", "60min"], comparison="iv-active-dexamethasone-metoclopramide",
                                 method="REML", test="knha")
    assert pool.k >= 1
    d = pool.data
    es = mgmeta.effect_sizes(pool.measure, m1i=d["m1i"].to_numpy(), sd1i=d["sd1i"].to_numpy(),
                             n1i=d["n1i"].to_numpy(), m2i=d["m2i"].to_numpy(), sd2i=d["sd2i"].to_numpy(),
                             n2i=d["n2i"].to_numpy(), labels=list(d["study"]))
    assert list(pool.effects["yi"]) == list(es["yi"])
    if pool.k > 1:
        ref = mgmeta.meta_analysis(es, method="REML", test="knha")
        assert pool.result.estimate == ref.estimate and pool.result.tau2 == ref.tau2
        assert pool.p_test == f"Hartung-Knapp t-test, {pool.k - 1} df"
    assert (pool.data.groupby("trial_id")["timepoint"].count() == 1).all()


def test_single_trial_is_one_sentence():
    pool = outcomes.pool_outcome("rescue_medication", "30min", comparison="iv-placebo")
    assert pool.k == 1 and pool.result.method == "EE"
    s = pool.sentence()
    assert s.startswith("Rescue medication at 30 min (IV magnesium vs placebo): one trial (Cete 2005")
    assert "odds ratio" in s and "z-test (single trial)" in s
    assert "Q(df" not in str(pool)


def test_pool_outcome_without_usable_numbers_and_bad_input():
    pool = outcomes.pool_outcome("pain_relief", "30min", comparison="iv-placebo")
    assert pool.result is None and pool.k == 0 and len(pool.incomplete) >= 1
    assert "no trial reports usable numbers" in str(pool)
    assert pool.summary()["estimate"] is None
    with pytest.raises(DataError, match="nothing to plot"):
        pool.forest()
    with pytest.raises(DataError, match="measure"):
        outcomes.pool_outcome("pain_relief", "30min", comparison="iv-placebo", measure="HR")
    with pytest.raises(DataError, match="unknown outcome"):
        outcomes.pool_outcome("no_such_outcome", "30min", comparison="iv-placebo")
    with pytest.raises(DataError, match="comparison"):
        outcomes.pool_outcome("pain_relief", "30min", comparison="nonsense-comparison")
    with pytest.raises(DataError):
        outcomes.pool_outcome("pain_relief", [], comparison="iv-placebo")


# ---- unit of analysis -------------------------------------------------------------------------------

def test_crossover_trial_counts_its_63_participants_once():
    # Karimi 2019: 63 analysed, each received both treatments (Cochrane Handbook 23.2; Elbourne 2002)
    pool = outcomes.pool_outcome("attack_frequency", "end_of_treatment", comparison="oral-active-sodium-valproate")
    assert pool.participants == 63
    assert pool.summary()["participants"] == 63
    row = pool.data.set_index("trial_id").loc["karimi2019"]
    assert row["data_form"] == "contrast"
    sd_diff2 = 1.18 ** 2 + 1.27 ** 2 - 2 * 0.5 * 1.18 * 1.27
    assert pool.result.estimate == pytest.approx(0.45)
    assert pool.result.vi[0] == pytest.approx(sd_diff2 / 63, rel=1e-12)
    assert "correlation 0.5 assumed" in " ".join(pool.footnotes.values())
    # the sensitivity range over the assumed correlation
    ses = [outcomes.pool_outcome("attack_frequency", "end_of_treatment", comparison="oral-active-sodium-valproate",
                                 crossover_corr=r).result.se for r in (0.0, 0.5, 0.8)]
    assert ses[0] > ses[1] > ses[2]


def test_handbook_crossover_example():
    # Cochrane Handbook 23.2.7.3 worked example (16.4.6.4 in version 5.1): means 7.0 (SD 2.38) vs 6.5
    # (SD 2.21), 10 participants, correlation 0.68 -> MD 0.5, SE 0.583.
    from mgmeta.conversions import crossover_md
    res = crossover_md(7.0, 2.38, 6.5, 2.21, 10, corr=0.68)
    assert res.yi == pytest.approx(0.5) and round(float(res.se), 3) == 0.583


def test_multi_arm_shared_arm_is_split_across_comparators():
    # Kandil 2021 compares one magnesium arm with prochlorperazine and with metoclopramide: shown together,
    # the magnesium arm's 61 patients are split 30.5/30.5 (Cochrane Handbook 23.3.4), so 157 people count once.
    across = outcomes.pool_across_comparators("pain_improvement", "60min", route="iv")
    rows = [(p.comparison.id, r) for p in across.pools for _, r in p.data.iterrows() if r["trial_id"] == "kandil2021"]
    assert {c for c, _ in rows} == {"iv-active-metoclopramide", "iv-active-prochlorperazine"}
    for _, r in rows:
        assert r["n1i"] == pytest.approx(61 / 2)
        assert "shared arm split" in r["conversion"]
    assert sum(r["n_participants"] for _, r in rows) == pytest.approx(157)
    assert across.subgroups is not None and across.subgroups.df == len(across.pools) - 1
    # no estimate across comparators: the subgroups carry the test for subgroup differences
    assert "not pooled" in across.title


def test_split_binary_shared_arm_divides_events_too():
    frame = analysis_data("rescue_medication", "30min", measure="OR", comparison=["placebo"], comparator="placebo")
    assert len(frame)
    across = outcomes.pool_across_comparators("rescue_medication", "30min", route="iv")
    cete = [r for p in across.pools for _, r in p.data.iterrows() if r["trial_id"] == "cete2005"]
    assert len(cete) == 2  # vs placebo and vs metoclopramide, one magnesium arm of 36
    for r in cete:
        assert r["n1i"] == pytest.approx(18) and r["ai"] == pytest.approx(8)


# ---- conversions as footnotes -------------------------------------------------------------------------

def test_converted_numbers_carry_markers():
    pool = outcomes.pool_outcome("pain_improvement", "60min", comparison="iv-active-prochlorperazine")
    kandil = pool.data.set_index("trial_id").loc["kandil2021"]
    assert kandil["marker"]
    text = pool.footnotes[kandil["marker"].split(",")[0]]
    assert "median" in text and "interquartile range" in text and "Luo" in text
    assert f"{kandil['study']} ({kandil['marker']})" in pool.summary()["studies"]
    derived = outcomes.pool_outcome("rescue_medication", "30min", comparison="iv-placebo")
    assert derived.markers == ["a"] and "percentage" in derived.footnotes["a"]


def test_conversion_footnotes_letters_in_order():
    markers, notes = outcomes.conversion_footnotes(["", "contrast_from_ci", "sd_from_se; contrast_from_ci"])
    assert markers == ["", "a", "a,b"]
    assert notes["a"].startswith("Effect and its standard error") and notes["b"].startswith("SD computed")


# ---- one measure per outcome and comparison ---------------------------------------------------------

def test_one_measure_per_outcome_and_comparison_at_every_time_point():
    comp = "iv-active-dexamethasone-metoclopramide"
    measures = {outcomes.pool_outcome("pain_score", tp, comparison=comp).measure for tp in ("20min", "60min", "120min")}
    assert len(measures) == 1
    assert outcomes.choose_measure("attack_frequency", "oral-placebo") == "MD"
    assert outcomes.choose_measure("rescue_medication", "iv-placebo") == "OR"
    # a scale the source does not state cannot be assumed equal to another: SMD
    assert outcomes.choose_measure("severity", "oral-placebo") == "SMD"


# ---- few studies ------------------------------------------------------------------------------------

def test_small_study_tests_and_intervals_wait_for_enough_studies():
    pool = outcomes.pool_outcome("rescue_medication", "30min", comparison="iv-placebo")
    assert pool.small_study_status() == "not assessed: 1 study (at least 10 needed)"
    assert pool.heterogeneity_ci() is None and pool.bayesian() is None


def _two_trial_pool():
    """An OutcomePool of two made-up trials (no comparison of the shipped data has two with numbers)."""
    import pandas as pd
    es = mgmeta.effect_sizes("MD", m1i=[4.0, 5.0], sd1i=[2.0, 2.5], n1i=[30, 40], m2i=[5.0, 5.5],
                             sd2i=[2.2, 2.4], n2i=[31, 38], labels=["A 2001", "B 2002"])
    res = mgmeta.meta_analysis(es, method="REML", test="knha")
    data = pd.DataFrame({"trial_id": ["a", "b"], "study": ["A 2001", "B 2002"], "data_form": "arms",
                         "sd1i": [2.0, 2.5], "sd2i": [2.2, 2.4], "n_participants": [61, 78], "marker": "",
                         "population": "Adults with migraine", "outcome": "pain_score"})
    return outcomes.OutcomePool("pain_score", "60min", "MD", cmp.get_comparison("iv-placebo"), ("placebo",), "iv",
                                data, data.iloc[0:0], (), es, res, (), {})


def test_bayesian_estimate_beside_reml_for_two_to_four_studies():
    pool = _two_trial_pool()
    bayes = pool.bayesian()
    # half-normal prior on tau, scale 0.5 within-group SDs for an MD (Röver et al. 2021)
    assert bayes is not None and bayes.tau_prior.scale == pytest.approx(0.5 * np.median([2.0, 2.5, 2.2, 2.4]))
    ref = mgmeta.bayesian_meta_analysis(pool.result, tau_prior="half-normal", tau_scale=pool.tau_prior_scale)
    s = pool.summary()
    assert s["bayes_estimate"] == pytest.approx(ref.mu.median)
    assert s["bayes_ci_lower"] < s["bayes_estimate"] < s["bayes_ci_upper"]
    assert s["method"] == "REML, Hartung-Knapp" and s["p_test"] == "Hartung-Knapp t-test, 1 df"
    assert pool.small_study_status() == "not assessed: 2 studies (at least 10 needed)"
    assert pool.heterogeneity_ci() is None  # from 3 studies
    assert pool.participants == 139


def test_catalogue_of_a_comparison():
    cat = outcomes.analysis_catalogue("iv-placebo")
    assert set(cat["comparison"]) == {"IV magnesium vs placebo"}
    assert not (cat["timepoint"] == "baseline").any() and not (cat["outcome"] == "participants").any()
    for row in cat[cat["trials_usable"] > 0].itertuples():
        pool = outcomes.pool_outcome(row.outcome, row.timepoint, comparison="iv-placebo")
        assert pool.k == row.trials_usable and pool.measure == row.measure


def test_timepoint_labels():
    assert outcomes.timepoint_label("30min") == "at 30 min"
    assert outcomes.timepoint_label("month3") == "at 3 months"
    assert outcomes.timepoint_label("end_of_treatment") == "at the end of treatment"
    assert not math.isnan(np.float64(1.0))


def test_across_comparators_keeps_each_subgroup_as_pooled_alone():
    # the split keeps the sign alignment of the single-comparison analysis (pain improvement reversed)
    across = outcomes.pool_across_comparators(["pain_score", "pain_improvement", "pain_change"],
                                              ["60min", "90min", "120min"], route="iv", window="at 60-120 min")
    for p in across.pools:
        alone = outcomes.pool_outcome(["pain_score", "pain_improvement", "pain_change"], ["60min", "90min", "120min"],
                                      comparison=p.comparison, measure=p.measure)
        assert np.sign(p.result.estimate) == np.sign(alone.result.estimate)
    import warnings

    import matplotlib
    matplotlib.use("Agg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no column dropped for lack of room: arms left out on purpose
        fig = across.forest()
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert not any("Random-effects model" in t for t in texts)  # no estimate across comparators
    assert any("subgroup differences" in t for t in texts)
    assert not any(t in ("Mean", "SD") for t in texts)
    # a trial in two comparisons keeps its label in both subgroups: no note about duplicate labels
    assert not any("Duplicate study labels" in n for n in across.notes)


def test_every_review_forest_keeps_the_arms_numbers_without_warnings():
    """A reviewer checks the arms' numbers: no review plot drops them for lack of room (long labels wrap)."""
    import warnings

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mgmeta.review.comparisons import comparisons
    drawn = 0
    for route in ("iv", "oral"):
        for comp in comparisons(route):
            for pool in outcomes.review_pools(comp):
                if pool.result is None:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("error", MgmetaWarning)
                    fig = pool.forest()
                texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
                eff = pool.effects
                if "n1i" in eff and eff["n1i"].notna().all():      # per-arm numbers (not a paired crossover)
                    assert "Total" in texts, (comp.id, pool.outcome)
                plt.close(fig)
                drawn += 1
    assert drawn >= 10
