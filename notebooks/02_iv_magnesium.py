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
# Every outcome and time point the randomized trials of intravenous magnesium report, pooled where at
# least one trial gives usable numbers, with a forest plot each; then the time windows the published
# reviews pooled (relief at 15-45 min, 120 min and 24 h; adverse events; rescue medication).
#
# Magnesium is always the first arm: an odds ratio above 1 means more events on magnesium, a mean
# difference below 0 a lower score on magnesium. Each forest plot says which side favours magnesium.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/02_iv_magnesium"
TABLE_DIR = "../report/tables/02_iv_magnesium"
METHOD = "REML"
TEST = "knha"
COMPARISON = ["placebo", "add-on", "active"]
EXCLUDE = []
ALLOW_ASSUMPTIONS = False
WINDOWS = {
    "relief 15-45 min": [["pain_relief"], ["15min", "20min", "30min", "45min"], "OR"],
    "relief 120 min": [["pain_relief"], ["120min"], "OR"],
    "relief 24 h": [["pain_relief", "no_recurrence"], ["24h"], "OR"],
    "adverse events": [["adverse_events"], ["ed_stay", "final", "treatment_period"], "OR"],
    "rescue medication": [["rescue_medication"], ["ed_stay", "30min", "60min", "final"], "OR"],
    "pain score 60-120 min": [["pain_score"], ["60min", "90min", "120min"], "SMD"],
}

# %%
import pandas as pd
from IPython.display import display

from mgmeta import report
from mgmeta.review.outcomes import analysis_catalogue, pool_outcome, pool_table

pd.set_option("display.max_colwidth", 60)
pd.set_option("display.max_rows", 200)
print(f"tau² estimator {METHOD}, test {TEST}; comparisons pooled, in order of preference: {COMPARISON}; "
      f"excluded: {EXCLUDE or 'none'}; numbers resting on assumptions used: {ALLOW_ASSUMPTIONS}")

# %% [markdown]
# ## What the trials report
#
# One row per outcome and time point: how many trials give usable numbers, and how many report the
# outcome without enough numbers to analyse it.

# %%
catalogue = analysis_catalogue("iv", COMPARISON)
report.save_table(catalogue, "catalogue", TABLE_DIR)
catalogue[["label", "timepoint", "measure", "units", "trials_usable", "trials_incomplete", "studies"]]

# %% [markdown]
# ## Per outcome and time point
#
# A trial with several control arms contributes its first comparison in the order of `COMPARISON`
# (placebo before an active drug). A single trial is shown as its own estimate, not pooled.

# %%
pools = [pool_outcome(row.outcome, row.timepoint, measure=row.measure, comparison=COMPARISON, route="iv",
                             method=METHOD, test=TEST, exclude=EXCLUDE, allow_assumptions=ALLOW_ASSUMPTIONS)
         for row in catalogue.itertuples() if row.trials_usable > 0]
summary = pool_table(pools)
report.save_table(summary, "pooled_by_timepoint", TABLE_DIR)
summary[["outcome", "timepoint", "measure", "k", "participants", "estimate", "ci_lower", "ci_upper", "pvalue",
         "i2", "studies", "notes"]]

# %%
for pool in pools:
    display(pool)
    fig = pool.forest()
    report.save_figure(fig, f"forest-{pool.name}", FIGURE_DIR)
    display(fig)

# %% [markdown]
# ## The reviews' time windows
#
# Reviews pooled relief "at 15-45 min", "at 120 min" and "at 24 h" (Chiu 2016), and adverse events and
# rescue medication over the emergency-department stay (Choi & Parmar 2014). Each trial contributes the
# first time point of the window it reports usable numbers for.

# %%
windows = [pool_outcome(outcomes, timepoints, measure=measure, comparison=COMPARISON, route="iv",
                               method=METHOD, test=TEST, window=name, exclude=EXCLUDE,
                               allow_assumptions=ALLOW_ASSUMPTIONS)
           for name, (outcomes, timepoints, measure) in WINDOWS.items()]
window_summary = pool_table(windows)
report.save_table(window_summary, "pooled_by_window", TABLE_DIR)
window_summary[["outcome", "timepoint", "measure", "k", "participants", "estimate", "ci_lower", "ci_upper",
                "pvalue", "i2", "trials_incomplete", "studies", "notes"]]

# %%
for pool in windows:
    display(pool)
    if pool.result is not None:
        fig = pool.forest()
        report.save_figure(fig, f"forest-window-{pool.name}", FIGURE_DIR)
        display(fig)
