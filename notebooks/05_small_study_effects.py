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
# # Small-study effects
#
# Do small trials report larger effects than large ones? The funnel plot, Egger's and Begg's tests and
# trim and fill look for it, but they have no power below 10 trials and can mislead (Cochrane Handbook
# 13.3.5.4), so they are run only for an analysis with at least 10 trials. The table says, for every
# result, whether they were run.

# %% tags=["parameters"]
FIGURE_DIR = "../report/figures/05_small_study_effects"
TABLE_DIR = "../report/tables/05_small_study_effects"
METHOD = "REML"
TEST = "knha"

# %%
from IPython.display import Markdown, display

from mgmeta import plots, report
from mgmeta.analyses.bias import begg_test, egger_test, trim_and_fill
from mgmeta.review.comparisons import comparisons
from mgmeta.review.outcomes import MIN_K_SMALL_STUDY, assessment_table, review_pools

every = [p for c in comparisons() for p in review_pools(c, method=METHOD, test=TEST)]
assessed = assessment_table(every)
report.show_table(assessed, "small_study_assessment", TABLE_DIR,
                  columns={"comparison": "Comparison", "outcome": "Outcome", "k": "Trials",
                           "small_study": "Funnel plot, Egger, Begg, trim and fill"},
                  caption="Small-study tests, by analysis", kinds={"k": "int"})

# %%
enough = [p for p in every if p.k >= MIN_K_SMALL_STUDY]
for pool in enough:
    egger, begg, filled = egger_test(pool.result), begg_test(pool.result), trim_and_fill(pool.result)
    display(Markdown(f"{pool.title}: Egger's test p = {egger.pvalue:.3f}, Begg's test p = {begg.pvalue:.3f}; "
                     f"trim and fill adds {filled.k0} trials."))
    fig = plots.funnel(pool.result, contours=True, title=pool.title)
    report.show_figure(fig, f"funnel-{pool.name}", FIGURE_DIR,
                       alt=f"{pool.title}. Contour-enhanced funnel plot of {pool.k} trials.")

# %%
report.what_this_means(
    f"No analysis has the {MIN_K_SMALL_STUDY} trials small-study tests need (the largest has "
    f"{int(assessed['k'].max()) if len(assessed) else 0}), so publication bias cannot be assessed from the "
    f"data and GRADE's publication-bias domain is 'not assessed' throughout. That is not reassurance: the "
    f"evidence is a handful of small trials, the setting in which small-study effects are most common (see "
    f"the myocardial-infarction example)." if not enough else
    f"{len(enough)} analyses have at least {MIN_K_SMALL_STUDY} trials; their tests are above.")
