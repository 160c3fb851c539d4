# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Intravenous magnesium for acute migraine attacks
#
# Randomized trials of intravenous magnesium sulfate for a migraine attack, mostly in emergency
# departments, against placebo, against an active drug (metoclopramide, prochlorperazine,
# dexamethasone with metoclopramide, dihydroergotamine), or added to metoclopramide. The outcomes are
# those the published reviews pooled: relief at 15-45 min, 120 min and 24 h, pain scores at 60-120 min,
# rescue medication and adverse events during the emergency-department stay.
#
# Each comparison is analysed on its own: a comparator is never pooled with another. Magnesium is
# always the first arm, so an odds ratio above 1 means more events on magnesium. Numbers that rest on a
# conversion (a mean from a median, a count from a percentage, a crossover trial analysed paired) carry
# a letter, explained under the plot and in the table. The model is REML with the Hartung-Knapp test;
# a single trial is shown as its own estimate, not pooled.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/02_iv_magnesium"
TABLE_DIR = "../report/tables/02_iv_magnesium"
ROUTE = "iv"
METHOD = "REML"
TEST = "knha"
ALLOW_ASSUMPTIONS = False
ACROSS = [[['pain_score', 'pain_improvement', 'pain_change'], ['60min', '90min', '120min'], 'at 60-120 min'], [['rescue_medication'], ['ed_stay', '30min', '60min', 'final'], 'during the ED stay']]

# %%
import pandas as pd
from IPython.display import Markdown, display

from mgmeta import report
from mgmeta.review.comparisons import comparisons
from mgmeta.review.outcomes import missing_in_words, pool_across_comparators, pool_table, review_pools
from mgmeta.review.sof import summary_of_findings

comps = comparisons(ROUTE)
pools = {c.id: review_pools(c, method=METHOD, test=TEST, allow_assumptions=ALLOW_ASSUMPTIONS) for c in comps}
every = [p for ps in pools.values() for p in ps]
findings = summary_of_findings(every)

# %% [markdown]
# ## Results at a glance
#
# Every comparison and outcome with at least one trial reporting usable numbers; p-values come from
# the test named beside them.

# %%
summary = pool_table([p for p in every if p.result is not None])
report.show_table(summary.merge(findings[["comparison", "outcome", "certainty"]],
                                left_on=["comparison", "outcome_label"], right_on=["comparison", "outcome"],
                                suffixes=("", "_sof")),
                  "results", TABLE_DIR,
                  columns={"comparison": "Comparison", "outcome_label": "Outcome", "measure": "Measure",
                           "k": "Trials", "participants": "Participants", "estimate": "Estimate",
                           "ci_lower": "95% CI lower", "ci_upper": "95% CI upper", "pvalue": "p",
                           "p_test": "Test", "certainty": "Certainty", "studies": "Trials (footnote)"},
                  caption="Results by comparison (odds ratios and ratios of means on their natural scale)",
                  kinds={"k": "int", "participants": "int"})

# %% [markdown]
# ## Comparison by comparison

# %%
for comp in comps:
    display(Markdown(f"### {comp.label}"))
    shown = [p for p in pools[comp.id] if p.result is not None]
    lacking = [p for p in pools[comp.id] if p.result is None]
    if not shown:
        display(Markdown("No trial of this comparison reports any of the review's outcomes with usable numbers."))
    for pool in shown:
        display(Markdown(pool.sentence()))
        fig = pool.forest()
        report.show_figure(fig, f"forest-{pool.name}", FIGURE_DIR,
                           alt=f"{pool.title}. Forest plot of {pool.k} trial(s): {pool.sentence()}")
    for pool in lacking:
        gaps = "; ".join(f"{r.study} ({missing_in_words(r.missing)})" for r in pool.incomplete.itertuples())
        display(Markdown(f"{pool.outcome_label}: reported without usable numbers by {gaps}."))

# %% [markdown]
# ## Where the reviews pooled across comparators
#
# Published reviews pooled magnesium against any control. Here each comparator stays a subgroup with
# its own estimate, and the test for subgroup differences says whether they differ; no estimate across
# comparators is given. A magnesium arm compared with two comparators is split between them, so that
# no patient is counted twice (Cochrane Handbook 23.3.4).

# %%
for outcome, timepoints, window in ACROSS:
    across = pool_across_comparators(outcome, timepoints, route=ROUTE, window=window, method=METHOD, test=TEST)
    if across.subgroups is None:
        display(Markdown(f"{across.title}: fewer than two comparisons report it with usable numbers."))
        continue
    fig = across.forest()
    report.show_figure(fig, f"across-{across.pools[0].outcome}", FIGURE_DIR,
                       alt=f"{across.title}. Subgroup forest plot, one subgroup per comparator, with the test "
                           f"for subgroup differences (p = {across.subgroups.pvalue:.2f}).")
    for text in across.notes:
        report.note(text)

# %%
rated = findings[findings["studies"] > 0]
best = rated.sort_values("participants", ascending=False).iloc[0] if len(rated) else None
report.what_this_means(
    f"{len(comps)} comparisons of {'intravenous' if ROUTE == 'iv' else 'oral'} magnesium have randomized "
    f"trials, but at most {int(rated['studies'].max()) if len(rated) else 0} trial per comparison and "
    f"outcome reports usable numbers, so nothing here is a pooled estimate of several trials. The certainty "
    f"of the evidence is {' or '.join(sorted(set(rated['certainty'])))} for every result. "
    + (f"The largest result, {best['outcome'].lower()} ({best['comparison']}, {int(best['participants'])} "
       f"participants), reads: {best['statement']} " if best is not None else "")
    + "Until the full texts of the trials yield their numbers, these results describe single trials, not "
      "the evidence base.")
