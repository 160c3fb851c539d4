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
# # Reproduction: the published pooled results, recomputed where the data allow
#
# Every pooled result a review of magnesium for migraine published (Chiu 2016, Choi & Parmar 2014,
# AHRQ CER 84, Okoli 2019, ...) with its status: *reproduced* within the paper's rounding, *differs*
# (and which software convention moves it), or *cannot be recomputed* (and what is missing). A
# published pool may mix comparators; it is recomputed as the review pooled it, and labelled so.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/06_reproduction"
TABLE_DIR = "../report/tables/06_reproduction"
PROFILES = ["metafor", "revman5", "revman_web_2025", "meta", "stata_metan"]

# %%
from IPython.display import Markdown, display

from mgmeta import report
from mgmeta.review import data as mgdata
from mgmeta.review.figures import published_estimates
from mgmeta.review.reproduction import DIFFERS, NOT_RECOMPUTABLE, PARTIAL, REPRODUCED, reproduction_table

table = reproduction_table(profiles=PROFILES)
counts = table["status"].value_counts()
display(Markdown(
    f"**{counts.get(REPRODUCED, 0)} of {len(table)}** published results reproduced, "
    f"{counts.get(DIFFERS, 0)} recomputed but different, {counts.get(PARTIAL, 0)} partially recomputable (the "
    f"closest recomputation from the trials that have usable numbers, shown beside the published number), "
    f"{counts.get(NOT_RECOMPUTABLE, 0)} blocked: the reviews' trial lists or the trials' numbers are not public."))

# %% [markdown]
# ## Every published result

# %%
report.show_table(table, "reproduction", TABLE_DIR,
                  columns={"result_id": "Result", "review": "Review", "outcome": "Outcome", "timepoint": "Time point",
                           "measure": "Measure", "published_estimate": "Published", "published_ci_lower": "CI lower",
                           "published_ci_upper": "CI upper", "published_k": "Trials (published)",
                           "recomputed_estimate": "Recomputed", "recomputed_k": "Trials (recomputed)",
                           "status": "Status", "reason": "Why"},
                  caption="Published pooled results of magnesium for migraine, and their reproduction status",
                  kinds={"published_k": "int", "recomputed_k": "int", "result_id": "text"}, collapse=False)

# %%
fig = published_estimates(table)
report.show_figure(fig, "published_estimates", FIGURE_DIR,
                   alt="Published pooled results, and what could be recomputed. One panel per effect measure, "
                       "each estimate with its confidence interval where the review printed one; none could be "
                       "recomputed from public trial data.")

# %% [markdown]
# ## Differences, convention by convention
#
# For each recomputed result, every quantity under every software profile, and which convention moves it.

# %%
for result_id, diff in table.attrs["diffs"].items():
    report.show_table(diff, f"diff-{result_id.replace('.', '-').lower()}", TABLE_DIR, caption=result_id)
if not table.attrs["diffs"]:
    display(Markdown("No published result could be recomputed, so there is nothing to compare convention by "
                     "convention."))

# %% [markdown]
# ## What a full reproduction still needs
#
# The numbers still to extract for each published result (`mgmeta gaps` prints the same list).

# %%
gaps = mgdata.data_gaps()
report.show_table(gaps, "data_gaps", TABLE_DIR,
                  columns={"result_id": "Result", "kind": "What", "study": "Trial", "item": "Item",
                           "status": "Status", "detail": "Detail"},
                  caption="Extraction to-do list", collapse=True)

# %%
no_list = int(table["reason"].str.contains("trial list is not known").sum())
no_numbers = int(table["reason"].str.contains("no usable numbers").sum())
no_estimate = int(table["reason"].str.startswith("no pooled estimate").sum())
report.what_this_means(
    f"{counts.get(REPRODUCED, 0)} of the {len(table)} published pooled results could be reproduced and "
    f"{counts.get(PARTIAL, 0)} partially recomputed from a fraction of their trials. "
    f"For {no_list} the review's list of trials is not public, for {no_numbers} some of its trials' numbers are "
    f"not, and {no_estimate} published no pooled estimate. A reader cannot check the published odds ratios "
    f"for intravenous or oral magnesium against the trials; the myocardial-infarction page shows the same "
    f"machinery reproducing reviews whose trial data are public.")
