"""The report pages of the review that show one route's comparisons (the IV and oral notebooks).

Both pages show the same things for their route, so the code lives here once: the results at a glance,
each comparison with a sentence and a forest plot per result, the subgroup plots where the published
reviews pooled across comparators, and the closing paragraph. Display goes through
:mod:`mgmeta.report` (formatted tables, described figures).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

__all__ = ["route_results", "route_summary"]


def route_results(route: str, figure_dir: str | os.PathLike[str], table_dir: str | os.PathLike[str], *,
                  method: str = "REML", test: str = "knha", allow_assumptions: bool = False,
                  across: Sequence[Sequence[Any]] = ()) -> Any:
    """Display every comparison of a route and return its summary-of-findings table.

    Parameters
    ----------
    route : {"iv", "oral"}
    figure_dir, table_dir : path
        The notebook's ``FIGURE_DIR`` and ``TABLE_DIR``.
    method, test : str
        Model of :func:`mgmeta.review.outcomes.pool_outcome`.
    allow_assumptions : bool
        Use numbers flagged as resting on an assumption.
    across : sequence of (outcomes, timepoints, window)
        Outcomes to show across comparators as subgroups
        (:func:`mgmeta.review.outcomes.pool_across_comparators`).

    Returns
    -------
    DataFrame
        :func:`mgmeta.review.sof.summary_of_findings` of the route's analyses.
    """
    from IPython.display import Markdown, display

    from mgmeta import report
    from mgmeta.review.comparisons import comparisons
    from mgmeta.review.outcomes import missing_in_words, pool_across_comparators, pool_table, review_pools
    from mgmeta.review.sof import summary_of_findings

    comps = comparisons(route)
    pools = {c.id: review_pools(c, method=method, test=test, allow_assumptions=allow_assumptions) for c in comps}
    every = [p for ps in pools.values() for p in ps]
    findings = summary_of_findings(every)
    findings.attrs["comparisons"] = len(comps)

    display(Markdown("## Results at a glance\n\nEvery comparison and outcome with at least one trial reporting "
                     "usable numbers; each p-value comes from the test named beside it."))
    summary = pool_table([p for p in every if p.result is not None])
    report.show_table(summary.merge(findings[["comparison", "outcome", "certainty"]],
                                    left_on=["comparison", "outcome_label"], right_on=["comparison", "outcome"],
                                    suffixes=("", "_sof")),
                      "results", table_dir,
                      columns={"comparison": "Comparison", "outcome_label": "Outcome", "measure": "Measure",
                               "k": "Trials", "participants": "Participants", "estimate": "Estimate",
                               "ci_lower": "95% CI lower", "ci_upper": "95% CI upper", "pvalue": "p",
                               "p_test": "Test", "certainty": "Certainty", "studies": "Trials (footnote)"},
                      caption="Results by comparison (odds ratios and ratios of means on their natural scale)",
                      kinds={"k": "int", "participants": "int"})

    display(Markdown("## Comparison by comparison"))
    for comp in comps:
        display(Markdown(f"### {comp.label}"))
        shown = [p for p in pools[comp.id] if p.result is not None]
        if not shown:
            display(Markdown("No trial of this comparison reports any of the review's outcomes with usable "
                             "numbers."))
        for pool in shown:
            display(Markdown(pool.sentence()))
            report.show_figure(pool.forest(), f"forest-{pool.name}", figure_dir,
                               alt=f"{pool.title}. Forest plot of {pool.k} trial(s): {pool.sentence()}")
        for pool in pools[comp.id]:
            if pool.result is None:
                gaps = "; ".join(f"{r.study} ({missing_in_words(r.missing)})" for r in pool.incomplete.itertuples())
                display(Markdown(f"{pool.outcome_label}: reported without usable numbers by {gaps}."))

    if across:
        display(Markdown(
            "## Where the reviews pooled across comparators\n\nPublished reviews pooled magnesium against any "
            "control. Here each comparator stays a subgroup with its own estimate, and the test for subgroup "
            "differences says whether they differ; no estimate across comparators is given. A magnesium arm "
            "compared with two comparators is split between them, so that no patient is counted twice (Cochrane "
            "Handbook 23.3.4)."))
    for outcomes, timepoints, window in across:
        res = pool_across_comparators(outcomes, timepoints, route=route, window=window, method=method, test=test)
        if res.subgroups is None:
            display(Markdown(f"{res.title}: fewer than two comparisons report it with usable numbers."))
            continue
        report.show_figure(res.forest(), f"across-{res.pools[0].outcome}", figure_dir,
                           alt=f"{res.title}. Subgroup forest plot, one subgroup per comparator, with the test for "
                               f"subgroup differences ({report.p_text(res.subgroups.pvalue)}).")
        for text in res.notes:
            report.note(text)
    return findings


def route_summary(findings: Any, route: str) -> str:
    """The closing paragraph of a route's page, generated from its summary-of-findings table."""
    rated = findings[findings["studies"] > 0]
    n = findings.attrs.get("comparisons", findings["comparison"].nunique())
    text = (f"{n} comparisons of {'intravenous' if route == 'iv' else 'oral'} magnesium have randomized trials, "
            f"but at most {int(rated['studies'].max()) if len(rated) else 0} trial per comparison and outcome "
            "reports usable numbers, so nothing here is a pooled estimate of several trials. ")
    if len(rated):
        best = rated.sort_values("participants", ascending=False).iloc[0]
        text += (f"The certainty of the evidence is {' or '.join(sorted(set(rated['certainty'])))} for every "
                 f"result. The largest result, {best['outcome'][:1].lower() + best['outcome'][1:]} "
                 f"({best['comparison']}, {int(best['participants'])} participants), reads: {best['statement']} ")
    return text + ("Until the full texts of the trials yield their numbers, these results describe single trials, "
                   "not the evidence base.")
