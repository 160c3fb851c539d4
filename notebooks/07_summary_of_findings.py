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
# The main outcomes as clinicians and guideline panels read them (GRADE "Summary of findings"
# layout): the relative effect with its 95 % CI, the assumed risk on control and the corresponding risk
# on magnesium per 1000 patients, the number of participants and studies, and the number needed to
# treat for one more patient to benefit (NNTB) or be harmed (NNTH).
#
# The assumed control risk is the median risk in the control arms of the trials pooled. Certainty of
# the evidence is a judgement that no code makes; with one or two trials per outcome, mostly known from
# their abstracts, it would be low or very low throughout.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/07_summary_of_findings"
TABLE_DIR = "../report/tables/07_summary_of_findings"
METHOD = "REML"
TEST = "knha"
BASELINE = "median"
IV_COMPARISON = ["placebo", "add-on", "active"]
ORAL_COMPARISON = ["placebo", "add-on", "usual care", "active"]
ALLOW_ASSUMPTIONS = False
IV_OUTCOMES = [
    ["relief 15-45 min", ["pain_relief"], ["15min", "20min", "30min", "45min"], "OR"],
    ["relief 120 min", ["pain_relief"], ["120min"], "OR"],
    ["relief 24 h", ["pain_relief", "no_recurrence"], ["24h"], "OR"],
    ["during ED stay", ["rescue_medication"], ["ed_stay", "30min", "60min", "final"], "OR"],
    ["during ED stay", ["adverse_events"], ["ed_stay", "final", "treatment_period"], "OR"],
]
ORAL_OUTCOMES = [
    ["end of treatment", ["attack_frequency"], ["end_of_treatment", "month3", "wk12", "wk9-12", "month2"], "MD"],
    ["end of treatment", ["severity"], ["end_of_treatment", "month3", "wk12", "month2"], "SMD"],
    ["end of treatment", ["responders_50"], ["end_of_treatment", "month3", "wk12", "month2"], "OR"],
    ["during treatment", ["adverse_events", "ae_diarrhoea", "ae_gastric_irritation"], ["treatment_period"], "OR"],
]

# %%
import matplotlib.pyplot as plt
import pandas as pd

from mgmeta import report
from mgmeta.review.outcomes import pool_outcome, summary_of_findings

pd.set_option("display.max_colwidth", 120)
iv = [pool_outcome(outcomes, timepoints, measure=measure, comparison=IV_COMPARISON, route="iv",
                          method=METHOD, test=TEST, window=name, allow_assumptions=ALLOW_ASSUMPTIONS)
      for name, outcomes, timepoints, measure in IV_OUTCOMES]
oral = [pool_outcome(outcomes, timepoints, measure=measure, comparison=ORAL_COMPARISON, route="oral",
                            method=METHOD, test=TEST, window=name, allow_assumptions=ALLOW_ASSUMPTIONS)
        for name, outcomes, timepoints, measure in ORAL_OUTCOMES]

# %% [markdown]
# ## Intravenous magnesium for acute migraine attacks
#
# Patients: adults with a migraine attack in the emergency department or clinic. Intervention:
# intravenous magnesium sulfate. Comparison: placebo, or the same treatment without magnesium, or an
# active drug where no placebo arm exists.

# %%
columns = ["label", "timepoint", "relative_effect", "assumed_per_1000", "corresponding_per_1000", "absolute_effect",
           "participants", "studies", "nnt", "comments"]
iv_table = summary_of_findings(iv, baseline=BASELINE)
report.save_table(iv_table, "summary_of_findings_iv", TABLE_DIR)
iv_table[columns]

# %% [markdown]
# ## Oral magnesium for migraine prevention
#
# Patients: adults and children with migraine. Intervention: oral magnesium (citrate, oxide,
# dicitrate, pidolate...). Comparison: placebo, the same prophylaxis without magnesium, or usual care.

# %%
oral_table = summary_of_findings(oral, baseline=BASELINE)
report.save_table(oral_table, "summary_of_findings_oral", TABLE_DIR)
oral_table[columns]

# %% [markdown]
# ## Per 1000 patients
#
# Assumed risk on control (grey) and corresponding risk on magnesium with its 95 % CI (blue) for the
# binary outcomes with usable data.

# %%
both = pd.concat([iv_table.assign(route="IV"), oral_table.assign(route="oral")], ignore_index=True)
shown = both[both["assumed_risk"].notna()].iloc[::-1]
fig, ax = plt.subplots(figsize=(8, 2 + len(shown)), layout="constrained")
per = shown[["assumed_risk", "corresponding_risk", "corresponding_lower", "corresponding_upper"]].astype(float) * 1000
ax.plot(per["assumed_risk"], range(len(shown)), "o", color="#999999", label="control (assumed)")
ax.errorbar(per["corresponding_risk"], range(len(shown)),
            xerr=[per["corresponding_risk"] - per["corresponding_lower"],
                  per["corresponding_upper"] - per["corresponding_risk"]],
            fmt="s", color="#0072B2", capsize=3, label="magnesium (corresponding)")
ax.set_yticks(range(len(shown)), [f"{r.route}: {r.label}, {r.timepoint}" for r in shown.itertuples()])
ax.set_xlim(0, 1000)
ax.set_xlabel("patients per 1000")
fig.legend(loc="outside lower center", ncol=2, fontsize=8)
ax.set_title("Summary of findings: risks per 1000")
fig.tight_layout()
report.save_figure(fig, "risks_per_1000", FIGURE_DIR)
plt.show()
