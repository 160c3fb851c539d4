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
from mgmeta import report
from mgmeta.review.pages import route_results, route_summary

findings = route_results(ROUTE, FIGURE_DIR, TABLE_DIR, method=METHOD, test=TEST,
                         allow_assumptions=ALLOW_ASSUMPTIONS, across=ACROSS)

# %%
report.what_this_means(route_summary(findings, ROUTE))
