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
# # Sensitivity: how robust are the pooled effects?
#
# The analysis with the most trials, re-run every way a reviewer would ask: other tau² estimators and
# the Hartung-Knapp-Sidik-Jonkman test, each trial left out in turn, influence diagnostics, without the
# trials at high risk of bias, without non-migraine populations or active comparators, other continuity
# corrections, subgroups, trials added one at a time, and a Bayesian model.
#
# Few trials publish usable numbers (see the data overview), so several of these analyses rest on two
# or three trials, or cannot be run at all; each section says so rather than printing a number it
# cannot support.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/04_sensitivity"
TABLE_DIR = "../report/tables/04_sensitivity"
METHOD = "REML"
TEST = "knha"
ROUTE = "iv"
OUTCOMES = ["pain_score", "pain_improvement", "pain_change"]
TIMEPOINTS = ["120min", "90min", "60min", "final", "45min", "30min"]
WINDOW = "pain, latest time point up to 2 h"
MEASURE = "SMD"
COMPARISON = ["placebo", "add-on", "active"]
ALLOW_ASSUMPTIONS = True
METHODS = ["EE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"]
BINARY_OUTCOME = "pain_relief"
BINARY_TIMEPOINTS = ["120min", "60min", "30min"]
CORRECTIONS = [[0.5, "only0"], [0.5, "all"], [0.25, "only0"], [0.5, "if0all"]]
SUBGROUPS = ["comparison", "mg_salt", "mg_dose", "population_group", "route"]
TAU_PRIOR = "half-normal"
TAU_SCALE = 0.5

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from mgmeta.review import data as mgdata
from mgmeta import plots, report
from mgmeta.analyses import bayesian_meta_analysis, compare_estimators, subgroup_analysis
from mgmeta.review.outcomes import pool_outcome, pool_table

pd.set_option("display.max_colwidth", 80)
trials = mgdata.load_trials()
pool = pool_outcome(OUTCOMES, TIMEPOINTS, measure=MEASURE, comparison=COMPARISON, route=ROUTE,
                           method=METHOD, test=TEST, window=WINDOW, allow_assumptions=ALLOW_ASSUMPTIONS)
res = pool.result
pool

# %%
fig = pool.forest()
report.save_figure(fig, "forest-primary", FIGURE_DIR)
fig

# %% [markdown]
# ## tau² estimators and the Hartung-Knapp-Sidik-Jonkman test
#
# The same trials under every tau² estimator, with the Wald z test and with HKSJ (t with k - 1 df).

# %%
if res.k >= 2:
    estimators = compare_estimators(res.yi, res.vi, labels=list(res.labels), methods=METHODS)
    report.save_table(estimators, "estimators", TABLE_DIR)
    fig, ax = plt.subplots(figsize=(7, 1 + len(estimators) // 2))
    labels = [f"{r.method}, {r.test}" for r in estimators.itertuples()]
    ax.errorbar(estimators["estimate"], range(len(estimators)),
                xerr=[estimators["estimate"] - estimators["ci_lower"], estimators["ci_upper"] - estimators["estimate"]],
                fmt="s", color="#0072B2", capsize=2)
    ax.set_yticks(range(len(estimators)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel(f"pooled {MEASURE} with its confidence interval")
    ax.set_title("The pooled effect under each tau² estimator and test")
    fig.tight_layout()
    report.save_figure(fig, "estimators", FIGURE_DIR)
    plt.show()
    display(estimators[["method", "test", "estimate", "ci_lower", "ci_upper", "pvalue", "tau2", "i2"]])
else:
    print(f"k = {res.k}: nothing to compare")

# %% [markdown]
# ## Leave one out, influence

# %%
if res.k >= 3:
    loo = res.leave_one_out()
    report.save_table(loo, "leave_one_out", TABLE_DIR)
    display(loo)
    fig = plots.leave_one_out_forest(res, loo)
    report.save_figure(fig, "leave_one_out", FIGURE_DIR)
    display(fig)
    display(res.influence())
    fig = plots.baujat(res, loo)
    report.save_figure(fig, "baujat", FIGURE_DIR)
    display(fig)
elif res.k == 2:
    print("k = 2: leaving one trial out leaves the other trial's own estimate:")
    display(pool.effects[["study", "yi", "vi"]])
else:
    print(f"k = {res.k}: no leave-one-out analysis")

# %% [markdown]
# ## Excluding trials: high risk of bias, non-migraine populations, active comparators

# %%
subsets = {
    "all trials": [],
    "without high risk of bias": list(trials.loc[trials["rob_overall"] == "high", "trial_id"]),
    "migraine populations only": list(trials.loc[~trials["population_group"].fillna("").str.contains("migraine"),
                                                 "trial_id"]),
    "placebo or add-on controls only": list(trials.loc[trials["comparator_type"] == "active", "trial_id"]),
}
restricted = [pool_outcome(OUTCOMES, TIMEPOINTS, measure=MEASURE, comparison=COMPARISON, route=ROUTE,
                                  method=METHOD, test=TEST, window=name, exclude=excluded,
                                  allow_assumptions=ALLOW_ASSUMPTIONS)
              for name, excluded in subsets.items()]
restricted_table = pool_table(restricted).rename(columns={"timepoint": "subset"})
report.save_table(restricted_table, "exclusions", TABLE_DIR)
restricted_table[["subset", "k", "participants", "estimate", "ci_lower", "ci_upper", "pvalue", "i2", "studies",
                  "notes"]]

# %% [markdown]
# ## Continuity corrections (binary outcome)
#
# Trials with a zero cell get `add` in every cell of their 2x2 table (`to="only0"`), or every trial does
# (`"all"`), or every trial when any has a zero cell (`"if0all"`).

# %%
corrected = [pool_outcome(BINARY_OUTCOME, BINARY_TIMEPOINTS, measure="OR", comparison=COMPARISON,
                                 route=ROUTE, method=METHOD, test=TEST, window=f"add {add} to {to}", add=add,
                                 to=to, allow_assumptions=ALLOW_ASSUMPTIONS)
               for add, to in CORRECTIONS]
correction_table = pool_table(corrected).rename(columns={"timepoint": "correction"})
report.save_table(correction_table, "continuity_corrections", TABLE_DIR)
correction_table[["correction", "k", "participants", "estimate", "ci_lower", "ci_upper", "studies", "notes"]]

# %% [markdown]
# ## Subgroups
#
# Comparison (placebo or add-on against an active drug), magnesium salt, dose, population and route,
# from the trials of the primary analysis: the test for subgroup differences with a separate tau² per
# subgroup (as RevMan and R meta report it) and with a common tau² (metafor's mixed-effects model).
# A characteristic shared by every trial gives no subgroups; with fewer than three trials no test is run.

# %%
characteristics = pool.data[["trial_id", "study", "comparison"]].merge(
    trials[["trial_id", "mg_salt", "mg_dose", "population_group", "route"]], on="trial_id", how="left")
display(characteristics)
subgroup_rows = []
for column in SUBGROUPS:
    groups = characteristics[column].astype("string").fillna("not stated")
    if res.k >= 3 and groups.nunique() >= 2:
        sub = subgroup_analysis(res.yi, res.vi, groups.to_numpy(), method=METHOD, test=TEST,
                                labels=list(res.labels))
        print(sub)
        subgroup_rows.append({"characteristic": column, "groups": groups.nunique(), "q_between": sub.q_between,
                              "df": sub.df, "pvalue": sub.pvalue, "pvalue_common_tau2": sub.pvalue_common})
        fig = plots.forest(sub, title=f"{pool.label}: subgroups by {column}")
        report.save_figure(fig, f"subgroups-{column}", FIGURE_DIR)
        display(fig)
    else:
        subgroup_rows.append({"characteristic": column, "groups": groups.nunique()})
subgroups = pd.DataFrame(subgroup_rows)
report.save_table(subgroups, "subgroups", TABLE_DIR)
subgroups

# %% [markdown]
# ## Trials added one at a time (cumulative analysis, by year)

# %%
if res.k >= 2:
    years = trials.set_index("trial_id").loc[pool.data["trial_id"], "year"].reset_index(drop=True)
    cumulative = res.cumulative(order=years)
    report.save_table(cumulative, "cumulative", TABLE_DIR)
    display(cumulative)
    fig = plots.cumulative_forest(res, cumulative)
    report.save_figure(fig, "cumulative", FIGURE_DIR)
    display(fig)
else:
    print(f"k = {res.k}: nothing to accumulate")

# %% [markdown]
# ## A Bayesian random-effects model
#
# The posterior of the mean effect and of tau, by numerical integration over tau (the approach of R's
# bayesmeta): with few trials the prior on tau matters, which is why it is a parameter. The default,
# a half-normal prior with scale 0.5, is weakly informative for log odds ratios and standardized mean
# differences (Röver et al. 2021, doi:10.1002/jrsm.1475).

# %%
bayes = bayesian_meta_analysis(res, tau_prior=TAU_PRIOR, tau_scale=TAU_SCALE)
report.save_table(bayes.to_frame(), "bayesian", TABLE_DIR)
print(bayes)
