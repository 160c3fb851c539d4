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
# # The trials: what they compared, what they report, where each number was read
#
# Every randomized trial of intravenous magnesium for acute migraine and of oral magnesium for
# prevention that the published reviews pooled or discussed: the comparisons they make, the outcomes
# they report with usable numbers, how every number was obtained (reported, derived with its
# arithmetic, or missing), and their risk of bias. Everything is read from `data/`, validated against
# `data/datapackage.json`; nothing is typed in here.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/01_data_overview"
TABLE_DIR = "../report/tables/01_data_overview"

# %%
import matplotlib.pyplot as plt
import pandas as pd

from mgmeta import report
from mgmeta.plots import rob_summary
from mgmeta.review import data as mgdata
from mgmeta.review.comparisons import comparisons
from mgmeta.review.outcomes import analysis_catalogue

problems = mgdata.validate()
trials = mgdata.load_trials()
outcomes = mgdata.load_outcomes()
included = trials[trials["include_default"].fillna(False).astype(bool)]
comps = comparisons()

# %% [markdown]
# ## The trials
#
# Studies that are not randomized trials of magnesium alone (non-randomized studies, combination
# products) are listed but left out of every analysis; the last column says why.

# %%
report.show_table(
    trials.assign(included=trials["include_default"].fillna(False).astype(bool),
                  route=trials["route"].str.upper().replace({"ORAL": "Oral"})),
    "trials", TABLE_DIR,
    columns={"study": "Study", "route": "Route", "design": "Design", "blinding": "Blinding",
             "population_group": "Population", "mg_salt": "Magnesium salt", "mg_dose": "Dose",
             "comparator": "Control", "n_randomized": "Randomized", "included": "Analysed",
             "exclusion_reason": "Why not analysed"},
    caption="Trials of magnesium for migraine in data/trials.csv",
    kinds={"n_randomized": "int"})

# %% [markdown]
# ## The comparisons
#
# A comparison is a route and one comparator: magnesium against placebo, against a named drug, or
# added to a co-treatment that both arms receive. Different comparators are never pooled into one
# estimate; a multi-arm trial appears in each comparison its arms make.

# %%
comparison_table = pd.DataFrame(
    [{"comparison": c.label, "id": c.id, "trials": len(c.trials),
      "studies": "; ".join(trials.set_index("trial_id").loc[list(c.trials), "study"])} for c in comps])
report.show_table(comparison_table, "comparisons", TABLE_DIR,
                  columns={"comparison": "Comparison", "trials": "Trials", "studies": "Studies", "id": "Identifier"},
                  caption="The comparisons of the review (randomized trials analysed by default)")

# %% [markdown]
# ## What each comparison reports with usable numbers
#
# One row per comparison, outcome and time point: trials with numbers complete enough to analyse, and
# trials that report the outcome without them (a mean without its SD, percentages without arm sizes).

# %%
catalogue = pd.concat([analysis_catalogue(c) for c in comps], ignore_index=True)
report.show_table(catalogue, "outcome_catalogue", TABLE_DIR,
                  columns={"comparison": "Comparison", "label": "Outcome", "timepoint": "Time point",
                           "measure": "Measure", "trials_usable": "Trials with numbers",
                           "trials_incomplete": "Trials without usable numbers", "studies": "Studies"},
                  caption="Outcomes and time points per comparison", collapse=True)

# %% [markdown]
# ## How every number was obtained
#
# Every number in `data/outcomes.csv` is *reported* (read from the source at its locator), *derived*
# (computed here, with the arithmetic written down, e.g. a count from a percentage) or *missing*
# (looked for and not found).

# %%
status = pd.crosstab(outcomes["trial_id"].map(trials.set_index("trial_id")["study"]), outcomes["status"]).reindex(
    columns=["reported", "derived", "missing"], fill_value=0)
report.save_table(status.rename_axis("study").reset_index(), "extraction_status", TABLE_DIR)
fig, ax = plt.subplots(figsize=(7.5, 6.5), layout="constrained")
status.plot.barh(stacked=True, ax=ax, color={"reported": "#0072B2", "derived": "#E69F00", "missing": "#BBBBBB"},
                 width=0.8)
ax.invert_yaxis()
ax.set_xlabel("Numbers in data/outcomes.csv")
ax.set_ylabel("")
ax.legend(title=None, frameon=False, loc="lower right")
ax.set_title("How every number was obtained, per trial")
report.show_figure(fig, "extraction_status", FIGURE_DIR,
                   alt="How every number was obtained, per trial. Stacked bars of reported, derived and missing "
                       "numbers for each trial; most trials are known from their abstracts, with many numbers missing.")

# %% [markdown]
# Numbers kept as printed but not used (they contradict their own source, or another source), or used
# only under a stated assumption, are listed with the reason in `known_issues.csv`.

# %%
issues = mgdata.known_issues()
report.show_table(issues, "known_issues", TABLE_DIR,
                  columns={"trial_id": "Trial", "flag": "Flag", "value": "Value", "notes": "Why"},
                  caption="Judgement calls on individual numbers", collapse=True)

# %% [markdown]
# ## Risk of bias
#
# RoB 2 domains as far as the sources allow a judgement; "No information" where they do not (most
# trials are known from their abstracts only). `rob_basis` in `data/trials.csv` says what each
# judgement rests on.

# %%
fig = rob_summary(included, title="Risk of bias of the analysed trials (RoB 2)")
report.show_figure(fig, "risk_of_bias", FIGURE_DIR,
                   alt="Risk of bias of the analysed trials (RoB 2). One row of coloured judgements per trial and "
                       "domain; most domains have no information because only abstracts were available.")

# %%
rob_counts = included["rob_overall"].fillna("no information").replace({"unclear": "no information"}).value_counts()
n_reported = int((outcomes["status"] == "reported").sum())
n_derived = int((outcomes["status"] == "derived").sum())
n_missing = int((outcomes["status"] == "missing").sum())
usable = catalogue[catalogue["trials_usable"] > 0]
report.what_this_means(
    f"The review rests on {len(included)} randomized trials in {len(comps)} comparisons, but only "
    f"{usable['studies'].str.split('; ').explode().nunique()} trials give numbers complete enough to analyse "
    f"any outcome, and no comparison has more than {int(catalogue['trials_usable'].max())} trial with usable "
    f"numbers for the same outcome and time point. Of the {len(outcomes)} numbers sought, {n_reported} were "
    f"reported, {n_derived} derived with their arithmetic and {n_missing} could not be found. The overall risk "
    f"of bias is {rob_counts.get('no information', 0)} times 'no information' and "
    f"{rob_counts.get('high', 0)} times high among {len(included)} trials, because most trials are known from "
    f"their abstracts only. Data validation found {len(problems)} problems.")
