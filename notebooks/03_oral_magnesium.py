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
# Attack frequency, intensity (severity), migraine days, responders and adverse events in the
# randomized trials of oral magnesium, pooled where at least one trial gives usable numbers, with a
# forest plot each; then the end-of-treatment comparisons the published reviews pooled.
#
# Magnesium is always the first arm: a mean difference below 0 means fewer attacks (or lower
# intensity) on magnesium, an odds ratio above 1 more responders on magnesium.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/03_oral_magnesium"
TABLE_DIR = "../report/tables/03_oral_magnesium"
METHOD = "REML"
TEST = "knha"
COMPARISON = ["placebo", "add-on", "usual care", "active"]
EXCLUDE = []
ALLOW_ASSUMPTIONS = False
END_OF_TREATMENT = ["end_of_treatment", "month3", "wk12", "wk9-12", "month2", "2cycles", "month1"]
WINDOWS = {
    "attack frequency": [["attack_frequency"], "MD"],
    "attack intensity": [["severity"], "SMD"],
    "migraine days": [["migraine_days", "headache_days"], "MD"],
    "responders": [["responders_50"], "OR"],
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

# %%
catalogue = analysis_catalogue("oral", COMPARISON)
report.save_table(catalogue, "catalogue", TABLE_DIR)
catalogue[["label", "timepoint", "measure", "units", "trials_usable", "trials_incomplete", "studies"]]

# %% [markdown]
# ## Per outcome and time point
#
# Crossover trials without a reported within-patient correlation are analysed as parallel groups
# (conservative); a single trial is shown as its own estimate, not pooled.

# %%
pools = [pool_outcome(row.outcome, row.timepoint, measure=row.measure, comparison=COMPARISON,
                             route="oral", method=METHOD, test=TEST, exclude=EXCLUDE,
                             allow_assumptions=ALLOW_ASSUMPTIONS)
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
# ## At the end of treatment
#
# The reviews compare magnesium and control at the end of treatment, whatever its length: each trial
# contributes the last time point it reports usable numbers for (`END_OF_TREATMENT`, in order).

# %%
windows = [pool_outcome(outcomes, END_OF_TREATMENT, measure=measure, comparison=COMPARISON,
                               route="oral", method=METHOD, test=TEST, window="end of treatment",
                               exclude=EXCLUDE, allow_assumptions=ALLOW_ASSUMPTIONS)
           for name, (outcomes, measure) in WINDOWS.items()]
window_summary = pool_table(windows)
report.save_table(window_summary, "pooled_end_of_treatment", TABLE_DIR)
window_summary[["outcome", "timepoint", "measure", "k", "participants", "estimate", "ci_lower", "ci_upper",
                "pvalue", "i2", "trials_incomplete", "studies", "notes"]]

# %%
for pool in windows:
    display(pool)
    if pool.result is not None:
        fig = pool.forest()
        report.save_figure(fig, f"forest-end-{pool.name}", FIGURE_DIR)
        display(fig)
