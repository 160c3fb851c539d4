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
# # Oral magnesium for migraine prevention
#
# Randomized trials of oral magnesium taken daily to prevent migraine attacks, against placebo,
# against an active preventive (sodium valproate, propranolol), or added to one. The outcomes are
# attack frequency, responders (at least 50% fewer attacks), migraine days, attack severity and adverse
# events at the end of treatment.
#
# Each comparison is analysed on its own: a comparator is never pooled with another. Magnesium is
# always the first arm, so an odds ratio above 1 means more events on magnesium. Numbers that rest on a
# conversion (a mean from a median, a count from a percentage, a crossover trial analysed paired) carry
# a letter, explained under the plot and in the table. The model is REML with the Hartung-Knapp test;
# a single trial is shown as its own estimate, not pooled.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/03_oral_magnesium"
TABLE_DIR = "../report/tables/03_oral_magnesium"
ROUTE = "oral"
METHOD = "REML"
TEST = "knha"
ALLOW_ASSUMPTIONS = False
ACROSS = [[['attack_frequency'], ['end_of_treatment', 'month3', 'wk12', 'wk9-12', 'month2'], 'at the end of treatment']]

# %%
from mgmeta import report
from mgmeta.review.pages import route_results, route_summary

findings = route_results(ROUTE, FIGURE_DIR, TABLE_DIR, method=METHOD, test=TEST,
                         allow_assumptions=ALLOW_ASSUMPTIONS, across=ACROSS)

# %%
report.what_this_means(route_summary(findings, ROUTE))
