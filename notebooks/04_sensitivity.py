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
# # Sensitivity: what changes the results
#
# How much each result depends on the choices behind it: the correlation assumed for the crossover
# trial, the method that turns medians into means, numbers that rest on an assumption, and the model.
# Analyses that need more trials than a comparison has (heterogeneity intervals, other tau² estimators,
# leaving one trial out, small-study tests) are not run; the first table says which and why.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/04_sensitivity"
TABLE_DIR = "../report/tables/04_sensitivity"
METHOD = "REML"
TEST = "knha"
CROSSOVER_CORRELATIONS = [0.0, 0.5, 0.8]
CROSSOVER = ["oral-active-sodium-valproate", ["attack_frequency", "migraine_days"],
             ["end_of_treatment"]]
MEDIAN_METHODS = ["luo_wan", "wan"]
MEDIANS = ["iv-active-prochlorperazine", ["pain_improvement"], ["60min"]]
ASSUMPTIONS = ["iv-active-prochlorperazine", ["pain_relief"], ["15min", "20min", "30min", "45min"]]

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mgmeta import report
from mgmeta.review.comparisons import comparisons
from mgmeta.review.outcomes import assessment_table, pool_outcome, pool_table, review_pools

every = [p for c in comparisons() for p in review_pools(c, method=METHOD, test=TEST)]

# %% [markdown]
# ## What can be assessed with this many trials
#
# Heterogeneity intervals, other tau² estimators and leave-one-out need at least 3 trials; a Bayesian
# estimate is shown beside REML for 2 to 4 trials; small-study tests need at least 10 (Cochrane
# Handbook 10.10.4 and 13.3.5.4).

# %%
assessed = assessment_table(every)
report.show_table(assessed, "assessable", TABLE_DIR,
                  columns={"comparison": "Comparison", "outcome": "Outcome", "k": "Trials",
                           "heterogeneity": "Heterogeneity, estimators, leave-one-out",
                           "bayesian": "Bayesian estimate", "small_study": "Small-study tests"},
                  caption="Analyses each result can support", kinds={"k": "int"})

# %% [markdown]
# ## The crossover trial's within-patient correlation
#
# Karimi 2019 gave every patient both treatments. It is analysed paired, each patient once; the trial
# reports no within-patient correlation, so 0.5 is assumed and the result is shown over a range
# (Elbourne et al. 2002; Cochrane Handbook 23.2.7).

# %%
comparison, outcomes, timepoints = CROSSOVER
rows = []
for outcome in outcomes:
    for r in CROSSOVER_CORRELATIONS:
        pool = pool_outcome(outcome, timepoints, comparison=comparison, crossover_corr=r, method=METHOD, test=TEST)
        rows.append(pool_table([pool]).assign(correlation=r))
crossover = pd.concat(rows, ignore_index=True)
report.show_table(crossover, "crossover_correlation", TABLE_DIR,
                  columns={"outcome_label": "Outcome", "correlation": "Assumed correlation",
                           "participants": "Participants", "estimate": "Mean difference",
                           "ci_lower": "95% CI lower", "ci_upper": "95% CI upper", "pvalue": "p"},
                  caption=f"{crossover['comparison'].iloc[0]}: the paired analysis under three assumed correlations",
                  kinds={"correlation": "estimate", "participants": "int"})

# %% [markdown]
# ## Means and SDs estimated from medians
#
# Kandil 2021 reports medians with interquartile ranges. The main analysis estimates the mean and SD
# with Luo et al. (2018) and Wan et al. (2014); the alternative uses Wan et al. for both.

# %%
comparison, outcomes, timepoints = MEDIANS
medians = pd.concat([pool_table([pool_outcome(outcomes, timepoints, comparison=comparison, median_method=m,
                                              method=METHOD, test=TEST)]).assign(method=m)
                     for m in MEDIAN_METHODS], ignore_index=True)
report.show_table(medians, "median_methods", TABLE_DIR,
                  columns={"outcome_label": "Outcome", "method": "Median-to-mean method", "estimate": "Estimate",
                           "ci_lower": "95% CI lower", "ci_upper": "95% CI upper", "pvalue": "p",
                           "footnotes": "Conversion"},
                  caption=f"{medians['comparison'].iloc[0]}: two methods for medians", kinds={"method": "text"})

# %% [markdown]
# ## Numbers that rest on an assumption
#
# Ginder 2000 reports 36 patients without the split between arms; an even split is an assumption,
# kept out of the main analysis (see the data overview's judgement calls). With it:

# %%
comparison, outcomes, timepoints = ASSUMPTIONS
base = pool_outcome(outcomes, timepoints, comparison=comparison, method=METHOD, test=TEST)
assumed = pool_outcome(outcomes, timepoints, comparison=comparison, method=METHOD, test=TEST, allow_assumptions=True)
display(Markdown(f"Without the assumption: {base.sentence()}"))
display(Markdown(f"With it: {assumed.sentence()}"))

# %%
fig, ax = plt.subplots(figsize=(7, 2.6), layout="constrained")
ax.errorbar(crossover["estimate"], range(len(crossover)),
            xerr=[crossover["estimate"] - crossover["ci_lower"], crossover["ci_upper"] - crossover["estimate"]],
            fmt="s", color="#0072B2", capsize=3, lw=1)
ax.set_yticks(range(len(crossover)), [f"{o}, r = {r:g}" for o, r in zip(crossover["outcome_label"],
                                                                         crossover["correlation"])], fontsize=8)
ax.invert_yaxis()
ax.axvline(0, color="0.2", lw=1)
ax.set_xlabel("Mean difference, magnesium minus sodium valproate (95% CI)")
ax.set_title("Karimi 2019 under three assumed within-patient correlations", fontsize=10)
report.show_figure(fig, "crossover_correlation", FIGURE_DIR,
                   alt="Karimi 2019 under three assumed within-patient correlations. The mean differences stay the "
                       "same and their confidence intervals narrow as the assumed correlation grows.")

# %%
significant = crossover.assign(significant=(crossover["ci_lower"] > 0) | (crossover["ci_upper"] < 0))
flips = significant.groupby("outcome_label")["significant"].nunique() > 1
report.what_this_means(
    f"None of the {len(assessed)} results can be checked for heterogeneity, leave-one-out influence or "
    f"small-study effects: each rests on one trial. For the crossover trial, the assumed correlation changes "
    f"the width of the confidence interval but not the estimate; "
    + ("it changes whether the interval includes no effect for "
       + ", ".join(flips[flips].index.str.lower()) if flips.any() else
       "the conclusion (whether the interval includes no effect) is the same from 0 to 0.8")
    + f". The method for medians moves Kandil 2021's estimate from {medians['estimate'].iloc[0]:.2f} to "
      f"{medians['estimate'].iloc[-1]:.2f}. Adding the numbers that rest on an assumption changes the number of "
      f"trials from {base.k} to {assumed.k}.")
