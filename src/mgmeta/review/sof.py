"""Summary-of-findings tables in GRADE's layout, one per comparison.

Each row is an outcome at a time point: the risk with the control and with
magnesium per 1000 (binary outcomes; from the relative effect and an assumed
control risk, Cochrane Handbook 15.4.4) or the mean difference (continuous
outcomes), the relative effect with its 95% CI, participants and studies, the
certainty of the evidence (GRADE, :mod:`mgmeta.review.grade`, with reasons and
a reviewer's overrides), comments, and a plain-language statement. The number
needed to treat is given only when the confidence interval excludes no effect.

Every numeric column of the table holds numbers only (empty where not
applicable); :func:`sof_layout` formats it for people.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from mgmeta.errors import DataError
from mgmeta.review.outcomes import _BINARY, _RATIO, OutcomePool, missing_in_words, outcome_info

__all__ = ["corresponding_risk", "grade_evidence", "summary_of_findings", "sof_layout", "key_findings",
           "save_key_findings", "SOF_COLUMNS", "LAYOUT_COLUMNS"]

#: Columns of :func:`summary_of_findings`, in order.
SOF_COLUMNS = ["comparison", "comparison_id", "outcome", "outcome_code", "timepoint", "measure",
               "risk_control", "risk_magnesium", "risk_magnesium_lower", "risk_magnesium_upper",
               "control_mean", "difference", "difference_lower", "difference_upper",
               "relative_effect", "relative_lower", "relative_upper", "pvalue", "p_test",
               "participants", "studies", "certainty", "certainty_symbols", "certainty_reasons",
               "nnt", "nnt_kind", "comments", "statement", "study_list"]
#: The columns of :func:`sof_layout` shown to people (GRADE's summary-of-findings layout).
LAYOUT_COLUMNS = ["Outcome", "Risk with control", "Risk with magnesium (95% CI)", "Relative effect (95% CI)",
                  "Participants (studies)", "Certainty", "Comments"]
_MEASURE_NAMES = {"OR": "OR", "RR": "RR", "PETO": "Peto OR", "RD": "RD", "MD": "MD", "SMD": "SMD",
                  "ROM": "Ratio of means"}


def corresponding_risk(assumed: float, effect: float, measure: str) -> float:
    """Risk on magnesium implied by a relative (or absolute) effect and an assumed control risk.

    Parameters
    ----------
    assumed : float
        Assumed control-group risk (0-1).
    effect : float
        The effect on its natural scale: an odds ratio or risk ratio (not
        its log), or a risk difference.
    measure : {"OR", "PETO", "RR", "RD"}

    Returns
    -------
    float
        ``OR·ACR / (1 - ACR + OR·ACR)`` for odds ratios, ``RR·ACR`` for risk
        ratios (capped at 1), ``ACR + RD`` for risk differences (within 0-1).

    References
    ----------
    Schünemann HJ, Vist GE, Higgins JPT, et al. Interpreting results and
    drawing conclusions. Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4, chapter 15.4.4 (2023).

    Examples
    --------
    >>> round(corresponding_risk(0.5, 2.0, "OR"), 4)
    0.6667
    """
    if measure in ("OR", "PETO"):
        return effect * assumed / (1 - assumed + effect * assumed)
    if measure == "RR":
        return min(1.0, effect * assumed)
    if measure == "RD":
        return min(1.0, max(0.0, assumed + effect))
    raise DataError(f"no corresponding risk for measure {measure!r}", field="measure")


def _indirectness(pool: OutcomePool) -> tuple[str, ...]:
    """Per pooled study, why it answers the question only indirectly ("" when it does not)."""
    out = []
    first = pool.outcome
    for r in pool.data.itertuples():
        why = []
        if str(r.population).startswith("Mixed headache"):
            why.append("population includes headache other than migraine")
        if str(r.outcome) != first:
            why.append(f"outcome measured as {outcome_info(str(r.outcome)).label.lower()}")
        out.append("; ".join(why))
    return tuple(out)


def grade_evidence(pool: OutcomePool, *, path: str | os.PathLike[str] | None = None) -> Any:
    """The facts a GRADE rating of one pooled analysis rests on (:class:`mgmeta.review.grade.GradeEvidence`).

    Risk of bias comes from each trial's overall RoB 2 judgement
    (``trials.csv``), weights from the fitted model, indirectness from the
    population (mixed headache) and the outcome each trial contributed.
    """
    import numpy as np

    from mgmeta import egger_test
    from mgmeta.review import data as mgdata
    from mgmeta.review.grade import GradeEvidence
    from mgmeta.review.outcomes import MIN_K_SMALL_STUDY

    res = pool.result
    if res is None:
        raise DataError(f"{pool.title}: no pooled result to rate", field="outcome")
    trials = mgdata.load_trials(path).set_index("trial_id")
    rob = tuple(str(trials.loc[t, "rob_overall"]) if not _isna(trials.loc[t, "rob_overall"]) else "no information"
                for t in pool.data["trial_id"])
    w = np.asarray(res.weights, dtype=float)
    w = 100 * w / w.sum()
    arms = pool.data[pool.data["data_form"] == "arms"]
    binary = pool.measure in _BINARY
    events = int(round(float((arms["ai"] + arms["ci"]).sum()))) if binary and len(arms) == len(pool.data) else None
    control_risk = _control_risk(pool) if binary else None
    small_p = egger_test(res).pvalue if res.k >= MIN_K_SMALL_STUDY else None
    return GradeEvidence(
        comparison=pool.comparison_label, outcome=pool.outcome_label, measure=pool.measure, k=int(res.k),
        estimate=float(res.estimate), ci_lower=float(res.ci_lower), ci_upper=float(res.ci_upper),
        yi=tuple(float(x) for x in res.yi), vi=tuple(float(x) for x in res.vi), weights=tuple(float(x) for x in w),
        rob=rob, indirect=_indirectness(pool),
        pi_lower=None if res.pi_lower is None or res.k < 2 else float(res.pi_lower),
        pi_upper=None if res.pi_upper is None or res.k < 2 else float(res.pi_upper),
        i2=float(res.i2) if res.k > 1 else None, participants=pool.participants, events=events,
        control_risk=control_risk, randomized=True, small_study_p=small_p)


def _isna(x: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(x))


def _control_risk(pool: OutcomePool, baseline: str = "median") -> float | None:
    """The assumed control risk: median (or pooled) risk of the control arms pooled."""
    import numpy as np

    arms = pool.data[pool.data["data_form"] == "arms"]
    if not len(arms):
        return None
    risks = (arms["ci"] / arms["n2i"]).to_numpy(float)
    if baseline == "median":
        return float(np.median(risks))
    return float(arms["ci"].sum() / arms["n2i"].sum())


def summary_of_findings(pools: Sequence[OutcomePool], *, baseline: str = "median", overrides: Any = None,
                        path: str | os.PathLike[str] | None = None) -> Any:
    """A summary-of-findings table (GRADE layout) of the analyses of one or more comparisons.

    Parameters
    ----------
    pools : sequence of OutcomePool
        The analyses (outcome x time point) to summarise; those without a
        result are listed with "no usable data".
    baseline : {"median", "pooled"}
        The assumed control risk: the median control-group risk of the trials,
        or the pooled risk ``sum events / sum n``.
    overrides : DataFrame, optional
        A reviewer's overrides of GRADE domains
        (:func:`mgmeta.review.grade.load_overrides`; default ``data/grade.csv``).
    path : path, optional
        Data folder.

    Returns
    -------
    DataFrame
        :data:`SOF_COLUMNS`: effects on the natural scale (odds ratios, not
        logs), risks per 1000, ``nnt`` (rounded up; empty unless the CI
        excludes no effect) with ``nnt_kind`` (NNTB/NNTH), ``certainty``
        (high / moderate / low / very low) with its ``certainty_reasons``, and
        the plain-language ``statement``.

    References
    ----------
    Schünemann HJ, Higgins JPT, Vist GE, et al. Completing 'Summary of
    findings' tables and grading the certainty of the evidence. Cochrane
    Handbook, version 6.4, chapter 14 (2023).
    """
    import pandas as pd

    from mgmeta.review.grade import effect_direction, load_overrides, plain_language, rate_certainty

    if baseline not in ("median", "pooled"):
        raise DataError(f"baseline must be 'median' or 'pooled', got {baseline!r}", field="baseline")
    if overrides is None:
        overrides = load_overrides(path)
    rows = []
    for pool in pools:
        info = outcome_info(pool.outcome)
        row: dict[str, Any] = {c: None for c in SOF_COLUMNS}
        row.update(comparison=pool.comparison_label,
                   comparison_id=pool.comparison.id if pool.comparison is not None else "",
                   outcome=pool.outcome_label, outcome_code=pool.outcome, timepoint=pool.timepoint,
                   measure=pool.measure, participants=pool.participants, studies=pool.k, comments="",
                   statement="", certainty_reasons="", nnt_kind="")
        if pool.result is None:
            missing = "; ".join(f"{r.study}: {missing_in_words(r.missing)}" for r in pool.incomplete.itertuples())
            row.update(comments=f"No usable data ({missing})" if missing else "No trial reports it",
                       studies=0)
            rows.append(row)
            continue
        res = pool.result
        s = pool.summary()
        row.update(pvalue=float(res.pvalue), p_test=pool.p_test,
                   study_list="; ".join(pool.data["study"]))
        if pool.measure in _RATIO:
            row.update(relative_effect=s["estimate"], relative_lower=s["ci_lower"], relative_upper=s["ci_upper"])
        else:
            row.update(difference=s["estimate"], difference_lower=s["ci_lower"], difference_upper=s["ci_upper"])
        significant = not (res.ci_lower <= 0 <= res.ci_upper)
        comments = []
        if pool.measure in _BINARY:
            acr = _control_risk(pool, baseline)
            if acr is None:
                comments.append("No control-arm counts (reported contrast only): no absolute effect")
            else:
                cr, lo, hi = (corresponding_risk(acr, s[k], pool.measure) for k in ("estimate", "ci_lower",
                                                                                     "ci_upper"))
                row.update(risk_control=1000 * acr, risk_magnesium=1000 * cr, risk_magnesium_lower=1000 * min(lo, hi),
                           risk_magnesium_upper=1000 * max(lo, hi))
                diff = cr - acr
                if significant and diff != 0:
                    row["nnt"] = math.ceil(1 / abs(diff) - 1e-9)
                    row["nnt_kind"] = "NNTB" if (diff > 0) == info.higher_is_better else "NNTH"
                else:
                    comments.append("NNT not given: not significant (the CI includes no effect)")
        else:
            arms = pool.data[pool.data["data_form"] == "arms"]
            if pool.measure == "MD" and len(arms):
                row["control_mean"] = float(arms["m2i"].median())
        if pool.k == 1:
            comments.append("Single trial")
        if pool.footnotes:
            comments.append("Numbers rest on conversions: " + "; ".join(pool.footnotes.values()))
        certainty = rate_certainty(grade_evidence(pool, path=path), overrides)
        row.update(certainty=certainty.level, certainty_symbols=certainty.symbols,
                   certainty_reasons=certainty.reasons)
        direction = effect_direction(float(res.estimate), float(res.ci_lower), float(res.ci_upper), pool.measure)
        intervention = pool.comparison.intervention if pool.comparison is not None else "magnesium"
        control = pool.comparison.control if pool.comparison is not None else "control"
        label = pool.outcome_label
        row["statement"] = plain_language(certainty.level, intervention,
                                          f"{label[:1].lower() + label[1:]} compared with {control}", direction)
        row["comments"] = ". ".join(comments)
        rows.append(row)
    out = pd.DataFrame(rows, columns=SOF_COLUMNS)
    for col in ("participants", "studies", "nnt"):
        out[col] = pd.array([None if v is None or pd.isna(v) else int(v) for v in out[col]], dtype="Int64")
    for col in ("risk_control", "risk_magnesium", "risk_magnesium_lower", "risk_magnesium_upper", "control_mean",
                "difference", "difference_lower", "difference_upper", "relative_effect", "relative_lower",
                "relative_upper", "pvalue"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out


def _num(x: Any, digits: int | None = None) -> str:
    if x is None or _isna(x):
        return ""
    x = float(x)
    if digits is not None:
        return f"{x:.{digits}f}"
    return f"{x:.3f}" if abs(x) < 0.1 else f"{x:.2f}"


def sof_layout(table: Any) -> Any:
    """The summary-of-findings table as people read it (GRADE layout, text columns).

    Columns: Outcome, Risk with control, Risk with magnesium (95% CI) or the
    difference, Relative effect (95% CI), Participants (studies), Certainty,
    Comments (the plain-language statement first); then, for machines, the
    ``comparison``, ``certainty``, ``certainty_reasons`` and numeric ``nnt``
    of :func:`summary_of_findings`.
    """
    import pandas as pd

    rows = []
    for r in table.itertuples():
        machine = {"comparison": r.comparison, "certainty": r.certainty, "certainty_reasons": r.certainty_reasons,
                   "nnt": r.nnt}
        if r.studies == 0 or _isna(r.studies):
            rows.append({"Outcome": r.outcome, "Risk with control": "", "Risk with magnesium (95% CI)": "",
                         "Relative effect (95% CI)": "", "Participants (studies)": "0",
                         "Certainty": "", "Comments": r.comments, **machine})
            continue
        if not _isna(r.risk_control):
            control = f"{round(r.risk_control)} per 1000"
            mg = (f"{round(r.risk_magnesium)} per 1000 ({round(r.risk_magnesium_lower)} to "
                  f"{round(r.risk_magnesium_upper)})")
        elif not _isna(r.difference):
            control = f"mean {_num(r.control_mean)}" if not _isna(r.control_mean) else ""
            name = "MD" if r.measure == "MD" else "SMD"
            mg = f"{name} {_num(r.difference)} ({_num(r.difference_lower)} to {_num(r.difference_upper)})"
        else:
            control, mg = "", ""
        rel = (f"{_MEASURE_NAMES[r.measure]} {_num(r.relative_effect)} ({_num(r.relative_lower)} to "
               f"{_num(r.relative_upper)})") if not _isna(r.relative_effect) else ""
        people = f"{int(r.participants)} ({int(r.studies)})" if not _isna(r.participants) else f"— ({int(r.studies)})"
        nnt = f"{r.nnt_kind} {int(r.nnt)}. " if not _isna(r.nnt) else ""
        rows.append({"Outcome": r.outcome, "Risk with control": control, "Risk with magnesium (95% CI)": mg,
                     "Relative effect (95% CI)": rel, "Participants (studies)": people,
                     "Certainty": f"{r.certainty_symbols} {r.certainty}",
                     "Comments": f"{r.statement} {nnt}{r.comments + '.' if r.comments else ''}".strip(), **machine})
    out = pd.DataFrame(rows, columns=[*LAYOUT_COLUMNS, "comparison", "certainty", "certainty_reasons", "nnt"])
    out["nnt"] = pd.array(out["nnt"], dtype="Int64")
    return out


def save_key_findings(table: Any, directory: str | os.PathLike[str], *, note: str = "") -> Any:
    """Write ``key_findings.csv`` (:func:`key_findings`) and ``key_findings_note.md`` for the report's index.

    Parameters
    ----------
    table : DataFrame
        :func:`summary_of_findings` of every comparison.
    directory : path
        The notebook's table folder.
    note : str
        A paragraph for the index, after the findings (what could not be done).

    Returns
    -------
    DataFrame
        The key findings written.
    """
    from pathlib import Path

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    keys = key_findings(table)
    keys.to_csv(d / "key_findings.csv", index=False)
    (d / "key_findings_note.md").write_text(note.strip() + "\n" if note.strip() else "", encoding="utf-8")
    return keys


def key_findings(table: Any) -> Any:
    """The rows of summary-of-findings tables that the report's "Key findings" show (rows with a result).

    Columns ``comparison, outcome, timepoint, effect_text, studies,
    participants, certainty, certainty_symbols, statement``.
    """
    import pandas as pd

    rows = []
    for r in table.itertuples():
        if _isna(r.studies) or int(r.studies) == 0:
            continue
        if not _isna(r.relative_effect):
            name = {"OR": "odds ratio", "RR": "risk ratio", "PETO": "Peto odds ratio", "ROM": "ratio of means"}[
                r.measure]
            effect = f"{name} {_num(r.relative_effect)} (95% CI {_num(r.relative_lower)} to {_num(r.relative_upper)})"
            if not _isna(r.risk_control):
                diff = r.risk_magnesium - r.risk_control
                effect += (f"; {abs(round(diff))} {'more' if diff >= 0 else 'fewer'} per 1000 "
                           f"({round(r.risk_control)} per 1000 with {r.comparison.split(' vs ')[-1]})")
        else:
            name = "mean difference" if r.measure == "MD" else "standardized mean difference"
            effect = f"{name} {_num(r.difference)} (95% CI {_num(r.difference_lower)} to {_num(r.difference_upper)})"
        rows.append({"comparison": r.comparison, "outcome": outcome_info(str(r.outcome_code)).label,
                     "timepoint": r.timepoint,
                     "effect_text": effect, "studies": int(r.studies),
                     "participants": None if _isna(r.participants) else int(r.participants),
                     "certainty": r.certainty, "certainty_symbols": r.certainty_symbols, "statement": r.statement})
    out = pd.DataFrame(rows, columns=["comparison", "outcome", "timepoint", "effect_text", "studies",
                                      "participants", "certainty", "certainty_symbols", "statement"])
    out["participants"] = pd.array(out["participants"], dtype="Int64")
    return out
