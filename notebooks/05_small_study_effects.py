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
# # Small-study effects: funnel plot, Egger's test, trim and fill
#
# Do small trials report larger effects than large ones? The funnel plot shows each trial's effect
# against its standard error; Egger's regression test (and Begg's rank test) look for asymmetry, and
# trim and fill imputes the trials an asymmetric funnel suggests are missing.
#
# These methods need trials of different sizes, and at least ten for any power (Cochrane Handbook
# 13.3.5.4); with the few trials that publish usable numbers they are shown for completeness, and
# each result must be read with that in mind. A test is run only when the analysis has at least
# `MIN_K` trials.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/05_small_study_effects"
TABLE_DIR = "../report/tables/05_small_study_effects"
METHOD = "REML"
TEST = "z"
ROUTE = "iv"
OUTCOMES = ["pain_score", "pain_improvement", "pain_change"]
TIMEPOINTS = ["120min", "90min", "60min", "final", "45min", "30min"]
WINDOW = "pain, latest time point up to 2 h"
MEASURE = "SMD"
COMPARISON = ["placebo", "add-on", "active"]
ALLOW_ASSUMPTIONS = True
MIN_K = 3

# %%
import pandas as pd
from IPython.display import display

from mgmeta import plots, report
from mgmeta.review.outcomes import analysis_catalogue, pool_outcome
from mgmeta.analyses.bias import begg_test, egger_test, trim_and_fill

pool = pool_outcome(OUTCOMES, TIMEPOINTS, measure=MEASURE, comparison=COMPARISON, route=ROUTE,
                           method=METHOD, test=TEST, window=WINDOW, allow_assumptions=ALLOW_ASSUMPTIONS)
res = pool.result
pool

# %% [markdown]
# ## Funnel plot
#
# Contour-enhanced: the shaded regions mark where a trial's own result would be significant at the
# 10 %, 5 % and 1 % levels.

# %%
fig = plots.funnel(res, contours=True, title=pool.label)
report.save_figure(fig, "funnel", FIGURE_DIR)
fig

# %% [markdown]
# ## Egger's regression test and Begg's rank correlation test

# %%
if res.k >= MIN_K:
    egger = egger_test(res)
    egger_lm = egger_test(res, model="lm")
    begg = begg_test(res)
    print(egger, egger_lm, begg, sep="\n")
    tests = pd.concat([egger.to_frame(), egger_lm.to_frame()], ignore_index=True)
    report.save_table(tests, "egger", TABLE_DIR)
    fig = plots.funnel(res, egger=egger, title=f"{pool.label}: Egger's line")
    report.save_figure(fig, "funnel-egger", FIGURE_DIR)
    display(fig)
else:
    print(f"k = {res.k} trial(s): Egger's and Begg's tests need at least {MIN_K}; not run.")

# %% [markdown]
# ## Trim and fill

# %%
if res.k >= MIN_K:
    tf = trim_and_fill(res)
    print(tf)
    fig = plots.funnel(tf, title=f"{pool.label}: trim and fill")
    report.save_figure(fig, "funnel-trim-and-fill", FIGURE_DIR)
    display(fig)
else:
    print(f"k = {res.k} trial(s): trim and fill needs at least {MIN_K}; not run.")

# %% [markdown]
# ## Every analysis with enough trials
#
# The same tests on every outcome and time point of the intravenous and oral analyses with at least
# `MIN_K` trials.

# %%
candidates = pd.concat([analysis_catalogue(route, COMPARISON).assign(route=route) for route in ("iv", "oral")],
                       ignore_index=True)
candidates = candidates[candidates["trials_usable"] >= MIN_K]
rows = []
for row in candidates.itertuples():
    other = pool_outcome(row.outcome, row.timepoint, measure=row.measure, comparison=COMPARISON,
                                route=row.route, method=METHOD, test=TEST)
    rows.append({"analysis": other.label, "k": other.k, "egger_p": egger_test(other.result).pvalue,
                 "begg_p": begg_test(other.result).pvalue, "trim_and_fill_k0": trim_and_fill(other.result).k0})
table = pd.DataFrame(rows, columns=["analysis", "k", "egger_p", "begg_p", "trim_and_fill_k0"])
report.save_table(table, "all_analyses", TABLE_DIR)
display(table) if len(table) else print(f"No other analysis has {MIN_K} or more trials with usable numbers.")
