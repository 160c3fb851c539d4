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
# # Reproduction: every published pooled result, recomputed side by side
#
# Each pooled result that a review of magnesium for migraine published (`data/published.csv`: Chiu
# 2016, Choi & Parmar 2014, AHRQ CER 84, Okoli 2019, ...) with its status: *reproduced* within the
# paper's rounding, *differs* (with the software conventions that move the numbers), or *cannot be
# recomputed* (with what is missing: the trial list, or the trials' numbers).
#
# A result is recomputed only when its trial list is known (stated, or inferred from the arithmetic
# of its participant counts, `data/published_trials.csv`) and every one of its trials has usable
# numbers; it is then re-run under each software profile (`mgmeta.reproduce`), so that a difference
# reads as "RevMan 5 takes tau² from the Mantel-Haenszel Q" rather than as an error.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/06_reproduction"
TABLE_DIR = "../report/tables/06_reproduction"
PROFILES = ["metafor", "revman5", "revman_web_2025", "meta", "stata_metan"]

# %%
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter
from IPython.display import display

from mgmeta.review import data as mgdata
from mgmeta import report
from mgmeta.review.outcomes import reproduction_table

pd.set_option("display.max_colwidth", 200)
pd.set_option("display.max_rows", 200)
table = reproduction_table(profiles=PROFILES)
report.save_table(table, "reproduction", TABLE_DIR)
table["status"].value_counts()

# %% [markdown]
# ## The reproduction table
#
# Published and recomputed estimates on the published scale (odds ratios, not their logs); `profile`
# is the software convention closest to the published estimate.

# %%
table[["result_id", "review", "outcome", "timepoint", "measure", "published_estimate", "published_ci_lower",
       "published_ci_upper", "published_k", "recomputed_estimate", "recomputed_ci_lower", "recomputed_ci_upper",
       "recomputed_k", "profile", "status", "reason"]]

# %% [markdown]
# ## Differences, convention by convention
#
# For each recomputed result, every quantity under every profile, and which convention (changed one at a
# time from the first profile) moves it.

# %%
for result_id, diff in table.attrs["diffs"].items():
    print(result_id)
    display(diff)
if not table.attrs["diffs"]:
    print("No published result can be recomputed from the data yet: see the reasons above and the "
          "extraction to-do list below.")

# %% [markdown]
# ## The published estimates
#
# Every published pooled estimate, with its confidence interval where the source gives one, and the
# recomputed value where there is one.

# %%
shown = table[table["published_estimate"].notna()]
panels = [("Ratios (log scale)", shown[shown["measure"].isin(["OR", "RR"])]),
          ("Differences, as published", shown[~shown["measure"].isin(["OR", "RR"])])]
fig, axes = plt.subplots(1, 2, figsize=(11, 2 + len(shown) // 5))
for ax, (title, part) in zip(axes, panels):
    part = part.iloc[::-1]
    lower = (part["published_estimate"] - part["published_ci_lower"]).fillna(0)
    upper = (part["published_ci_upper"] - part["published_estimate"]).fillna(0)
    ax.errorbar(part["published_estimate"], range(len(part)), xerr=[lower, upper], fmt="s", color="#0072B2",
                capsize=2, label="published (with CI where given)")
    ax.plot(part["recomputed_estimate"], range(len(part)), "o", mfc="none", color="#D55E00", label="recomputed")
    ax.set_yticks(range(len(part)), [f"{r.result_id} ({r.measure})" for r in part.itertuples()], fontsize=8)
    ax.axvline(1 if title.startswith("Ratios") else 0, color="grey", lw=0.5)
    if title.startswith("Ratios"):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(title, fontsize=10)
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8)
fig.suptitle("Published pooled results of magnesium for migraine")
fig.tight_layout(rect=(0, 0.05, 1, 1))
report.save_figure(fig, "published_estimates", FIGURE_DIR)
plt.show()

# %% [markdown]
# ## What a full reproduction still needs
#
# The numbers to extract, per published result (`mgmeta gaps` prints the same list).

# %%
gaps = mgdata.data_gaps()
gaps[gaps["kind"].isin(["pooled_result", "trial_list", "trial_data"])][
    ["result_id", "kind", "study", "item", "status", "detail", "locator"]]
