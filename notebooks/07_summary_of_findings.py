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
# # Summary of findings
#
# One table per comparison, in GRADE's layout: for each outcome, the risk with the control and with
# magnesium per 1000 patients (or the mean difference), the relative effect with its 95% CI,
# participants and trials, the certainty of the evidence (GRADE: high, moderate, low, very low, with the
# reasons), and what it means in words. The number needed to treat is given only when the confidence
# interval excludes no effect. The assumed control risk is the median risk in the control arms.
#
# Certainty is rated by written rules in five domains (risk of bias, inconsistency, indirectness,
# imprecision, publication bias; `mgmeta.review.grade`), and a reviewer can override any domain with a
# reason in `data/grade.csv`; the domain table shows both.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/07_summary_of_findings"
TABLE_DIR = "../report/tables/07_summary_of_findings"
METHOD = "REML"
TEST = "knha"
BASELINE = "median"

# %%
import pandas as pd
from IPython.display import Markdown, display

from mgmeta import report
from mgmeta.review.comparisons import comparisons
from mgmeta.review.grade import load_overrides, rate_certainty
from mgmeta.review.outcomes import review_pools
from mgmeta.review.reproduction import PARTIAL, REPRODUCED, reproduction_table
from mgmeta.review.sof import LAYOUT_COLUMNS, grade_evidence, save_key_findings, sof_layout, summary_of_findings

overrides = load_overrides()
comps = comparisons()
pools = {c.id: review_pools(c, method=METHOD, test=TEST) for c in comps}
table = summary_of_findings([p for ps in pools.values() for p in ps], baseline=BASELINE, overrides=overrides)
report.save_table(table, "summary_of_findings", TABLE_DIR)

# %% [markdown]
# ## By comparison

# %%
for comp in comps:
    part = table[table["comparison_id"] == comp.id]
    if not len(part):
        continue
    display(Markdown(f"### {comp.label}"))
    report.show_table(sof_layout(part), f"summary_of_findings_{comp.id}", TABLE_DIR,
                      columns={c: c for c in LAYOUT_COLUMNS},
                      caption=f"Summary of findings: {comp.label}")

# %% [markdown]
# ## Certainty of the evidence, domain by domain
#
# The rating of every domain for every result with data, the reason for it, and a reviewer's override
# where `data/grade.csv` has one.

# %%
domains = pd.concat([rate_certainty(grade_evidence(p), overrides).to_frame().assign(
    comparison=p.comparison_label, outcome=p.outcome_label)
    for ps in pools.values() for p in ps if p.result is not None], ignore_index=True)
report.show_table(domains, "grade_domains", TABLE_DIR,
                  columns={"comparison": "Comparison", "outcome": "Outcome", "domain": "Domain",
                           "rating": "Rating", "reason": "Reason", "override_reason": "Reviewer's override"},
                  caption="GRADE domains", collapse=True)

# %%
reproduction = reproduction_table()
reproduced = int((reproduction["status"] == REPRODUCED).sum())
partial = int((reproduction["status"] == PARTIAL).sum())
with_data = table[table["studies"] > 0]
keys = save_key_findings(table, TABLE_DIR, note=(
    f"**What could not be done.** {reproduced} of {len(reproduction)} published pooled results of magnesium for "
    f"migraine could be reproduced and {partial} partially recomputed; the rest are blocked because the "
    f"reviews' trial lists and the trials' per-arm numbers are not public (see Reproduction). Of {len(table)} outcome rows of the review, {len(table) - len(with_data)} have no "
    f"trial with usable numbers, and every other rests on a single trial, so no result here is a pooled "
    f"estimate, and heterogeneity and publication bias could not be assessed."))
report.what_this_means(
    f"The certainty of the evidence is {', '.join(sorted(set(with_data['certainty'])))} for every outcome with "
    f"data: each result comes from one small trial, mostly known from its abstract, with a confidence interval "
    f"too wide to exclude no effect or an important one. "
    f"{int(with_data['nnt'].notna().sum())} of {len(with_data)} results exclude no effect. No firm conclusion "
    f"about magnesium for migraine, intravenous or oral, follows from the public trial data.")
