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
# # The trial data: trials, arms, outcomes, provenance and risk of bias
#
# Every randomized trial of intravenous magnesium for acute migraine and of oral magnesium for
# prevention that the published reviews pooled or discussed, with what each trial reports, where each
# number was read, how complete the extraction is, and the risk of bias.
#
# Everything below is read from `data/` through `mgmeta.review.data`, which validates the files against
# `data/datapackage.json` before returning them; nothing is typed in here.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/01_data_overview"
TABLE_DIR = "../report/tables/01_data_overview"

# %%
import matplotlib.pyplot as plt
import pandas as pd

from mgmeta.review import data as mgdata
from mgmeta import report
from mgmeta.review.outcomes import analysis_catalogue
from mgmeta.plots import rob_summary

pd.set_option("display.max_colwidth", 80)
pd.set_option("display.max_rows", 500)
problems = mgdata.validate()
print(f"data/ validated: {len(problems)} problem(s)")
trials = mgdata.load_trials()
arms = mgdata.load_arms()
outcomes = mgdata.load_outcomes()

# %% [markdown]
# ## The trials
#
# `include_default` says whether a study enters the analyses by default; non-randomized studies and
# combination products are listed but kept out (the reason is in `exclusion_reason`).

# %%
overview = trials[["study", "year", "route", "randomized", "design", "blinding", "country", "population_group",
                   "mg_salt", "mg_dose", "comparator_type", "n_randomized", "include_default",
                   "exclusion_reason"]]
report.save_table(overview, "trials", TABLE_DIR)
overview

# %%
pd.crosstab([trials["route"], trials["randomized"].astype("string").fillna("not stated")],
            trials["include_default"].map({True: "included", False: "listed only"}), margins=True)

# %% [markdown]
# ## Arms and comparisons
#
# One row per arm (stratum totals and trial totals carry no numbers of their own). Magnesium is
# always arm 1 of an analysis; the comparison says whether the control is placebo, an active drug,
# or the same drug without magnesium (add-on).

# %%
arms.loc[arms["arm_role"] != "total", ["trial_id", "arm", "arm_role", "label", "intervention", "comparison",
                                       "stratum"]]

# %% [markdown]
# ## Outcomes and time points
#
# Which outcome each trial reports at which time point, and for how many trials the numbers are
# complete enough to analyse (`trials_usable`; `trials_incomplete` report the outcome without
# enough numbers, e.g. a mean without its SD, or percentages without arm sizes).

# %%
catalogue = pd.concat([analysis_catalogue(route, ["placebo", "add-on", "active", "usual care"])
                       .assign(route=route) for route in ("iv", "oral")], ignore_index=True)
report.save_table(catalogue, "outcome_catalogue", TABLE_DIR)
catalogue[["route", "label", "timepoint", "kind", "measure", "units", "trials_usable", "trials_incomplete",
           "studies"]]

# %%
coverage = pd.crosstab(outcomes["trial_id"], outcomes["outcome"])
fig, ax = plt.subplots(figsize=(10, 7))
ax.imshow(coverage.to_numpy() > 0, cmap="Blues", aspect="auto")
ax.set_xticks(range(coverage.shape[1]), coverage.columns, rotation=60, ha="right", fontsize=8)
ax.set_yticks(range(coverage.shape[0]), coverage.index, fontsize=8)
ax.set_title("Outcomes with at least one number in data/outcomes.csv (shaded)")
fig.tight_layout()
report.save_figure(fig, "outcome_coverage", FIGURE_DIR)
plt.show()

# %% [markdown]
# ## Provenance and completeness of extraction
#
# Every number in `data/outcomes.csv` is either *reported* (read from the source at its locator),
# *derived* (with its arithmetic written in `derivation`, e.g. a count from a percentage), or
# *missing* (looked for and not found). The chart shows the share per trial.

# %%
status = pd.crosstab(outcomes["trial_id"], outcomes["status"]).reindex(columns=["reported", "derived", "missing"],
                                                                      fill_value=0)
report.save_table(status.rename_axis("trial_id").reset_index(), "extraction_status", TABLE_DIR)
fig, ax = plt.subplots(figsize=(8, 7))
status.plot.barh(stacked=True, ax=ax, color={"reported": "#0072B2", "derived": "#E69F00", "missing": "#BBBBBB"})
ax.invert_yaxis()
ax.set_xlabel("numbers in data/outcomes.csv")
ax.set_ylabel("")
ax.set_title("Extraction status of every number, per trial")
fig.tight_layout()
report.save_figure(fig, "extraction_status", FIGURE_DIR)
plt.show()

# %%
pd.crosstab(outcomes["source_type"], outcomes["status"], margins=True)

# %% [markdown]
# ### Judgement calls
#
# Numbers kept as printed but not used, or used only under an explicit assumption (e.g. Pfaffenrath's
# printed "1 in each group" next to 28.6 % and 29.4 %), each with the source it was read from.

# %%
issues = mgdata.known_issues()
report.save_table(issues, "known_issues", TABLE_DIR)
issues[["trial_id", "table", "flag", "value", "notes", "locator"]]

# %% [markdown]
# ## Risk of bias
#
# RoB 2 domains as far as the sources allow a judgement (`unclear` where they do not; most trials are
# known from their abstracts only). `rob_basis` in `data/trials.csv` says what each judgement rests on.

# %%
randomized = trials[trials["randomized"].fillna(False).astype(bool)]
fig = rob_summary(randomized, title="Risk of bias of the randomized trials (RoB 2)")
report.save_figure(fig, "risk_of_bias", FIGURE_DIR)
fig

# %%
randomized[["study", "rob_overall", "rob_basis"]]

# %% [markdown]
# ## What is still missing
#
# For each published pooled result, the numbers still missing for an exact reproduction (the
# extraction to-do list for a reader with the full texts); the reproduction notebook uses the same
# list to explain every result it cannot recompute.

# %%
gaps = mgdata.data_gaps()
report.save_table(gaps, "data_gaps", TABLE_DIR)
pd.crosstab(gaps["result_id"], gaps["status"], margins=True)
