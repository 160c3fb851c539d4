"""One outcome from the trial data, end to end: what the notebooks and ``mgmeta pool`` run.

The orchestration of the magnesium analyses, from ``data/`` through
:func:`mgmeta.review.data.analysis_data` and :func:`mgmeta.effect_sizes` to
:func:`mgmeta.meta_analysis`: pooling one outcome and time point (or a time
window), the catalogue of what the trials report, the published-vs-recomputed
reproduction table (with :func:`mgmeta.reproduce`), and the summary-of-findings
table (assumed and corresponding risks per 1000, NNT; Cochrane Handbook 15.4.4
and GRADE).
"""
from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mgmeta.errors import DataError

#: Comparisons pooled by default: magnesium against placebo, or added to a treatment both arms get.
DEFAULT_COMPARISON = ("placebo", "add-on")
_BINARY = ("OR", "RR", "RD", "PETO")
_CONTINUOUS = ("MD", "SMD", "ROM")


@dataclass(frozen=True)
class OutcomeInfo:
    """How an outcome code of the data reads, and which direction is good for the patient."""

    label: str
    kind: str  # "binary" or "continuous"
    higher_is_better: bool


#: The outcome codes of ``data/outcomes.csv`` (see data/README.md), with a label and the good direction.
OUTCOMES: dict[str, OutcomeInfo] = {
    "pain_free": OutcomeInfo("Pain free", "binary", True),
    "pain_diminished": OutcomeInfo("Pain diminished", "binary", True),
    "symptoms_resolved": OutcomeInfo("Symptoms resolved", "binary", True),
    "pain_relief": OutcomeInfo("Pain relief", "binary", True),
    "pain_relief_50": OutcomeInfo("Pain relief of 50 % or more", "binary", True),
    "pain_improvement": OutcomeInfo("Pain improvement", "binary", True),
    "pain_reduction": OutcomeInfo("Pain reduction", "continuous", True),
    "normal_function": OutcomeInfo("Return to normal function", "binary", True),
    "no_recurrence": OutcomeInfo("No recurrence", "binary", True),
    "responders_50": OutcomeInfo("Responders (50 % fewer attacks)", "binary", True),
    "rescue_medication": OutcomeInfo("Rescue medication", "binary", False),
    "adverse_events": OutcomeInfo("Adverse events", "binary", False),
    "ae_flushing": OutcomeInfo("Flushing", "binary", False),
    "ae_dystonia": OutcomeInfo("Dystonia", "binary", False),
    "ae_diarrhoea": OutcomeInfo("Diarrhoea", "binary", False),
    "ae_gastric_irritation": OutcomeInfo("Gastric irritation", "binary", False),
    "recurrence": OutcomeInfo("Recurrence", "binary", False),
    "pain_score": OutcomeInfo("Pain score", "continuous", False),
    "pain_change": OutcomeInfo("Change in pain score", "continuous", False),
    "attack_frequency": OutcomeInfo("Attack frequency", "continuous", False),
    "migraine_days": OutcomeInfo("Migraine days", "continuous", False),
    "headache_days": OutcomeInfo("Headache days", "continuous", False),
    "severity": OutcomeInfo("Attack severity (intensity)", "continuous", False),
    "duration": OutcomeInfo("Attack duration", "continuous", False),
    "hit6": OutcomeInfo("HIT-6 score", "continuous", False),
    "hit6_change": OutcomeInfo("Change in HIT-6 score", "continuous", False),
    "total_pain_index": OutcomeInfo("Total pain index", "continuous", False),
    "vep_p1_amplitude": OutcomeInfo("VEP P1 amplitude", "continuous", False),
}
_NOT_ANALYSED_TIMEPOINTS = {"baseline", "randomized", "enrolled", "excluded", "analysed", "completed"}


def outcome_info(outcome: str) -> OutcomeInfo:
    """The label and good direction of an outcome code (unknown codes: binary, lower is better)."""
    return OUTCOMES.get(outcome, OutcomeInfo(outcome.replace("_", " ").capitalize(), "binary", False))


def _timepoint_key(tp: str) -> tuple[int, float, str]:
    m = re.fullmatch(r"(\d+)(min|h)", tp)
    if m:
        return (0, float(m.group(1)) * (60 if m.group(2) == "h" else 1), tp)
    m = re.fullmatch(r"(?:month|wk|wk\d+-)(\d+)", tp)
    if m:
        weeks = float(m.group(1)) * (4.345 if tp.startswith("month") else 1)
        return (1, weeks, tp)
    return (2, 0.0, tp)


def _favours(outcome: str, measure: str) -> tuple[str, str]:
    """Labels (left, right) of the line of no effect: magnesium is arm 1, effects are mg minus/over control."""
    good_high = outcome_info(outcome).higher_is_better
    return ("control", "magnesium") if good_high else ("magnesium", "control")


@dataclass(frozen=True, eq=False)
class OutcomePool:
    """A meta-analysis of one outcome at one time point, from the trial data.

    Attributes
    ----------
    outcome : str
        Outcome code of ``data/outcomes.csv`` (the first, when several were searched).
    timepoint : str
        The time point, or the name of the time window.
    measure : str
        Effect measure (magnesium is arm 1: OR > 1 means more events on magnesium).
    comparison : tuple of str
        Comparisons pooled (order of preference per trial).
    route : str or None
        ``"iv"``, ``"oral"`` or None (both).
    data : DataFrame
        The analysis-ready rows used (:func:`mgmeta.review.data.analysis_data`).
    incomplete : DataFrame
        Trials that report the outcome but not enough numbers to use it
        (column ``missing`` says what is lacking).
    excluded : tuple of dict
        Trials left out and why (not randomized, excluded by argument, ...).
    effects : DataFrame or None
        The effect sizes given to the model (:func:`mgmeta.effect_sizes`).
    result : MetaAnalysisResult or None
        The fitted model; None when no trial has usable numbers. A single
        trial is shown as its own estimate (equal-effects model of one study).
    notes : tuple of str
        What the reader should know: single trial, continuity corrections,
        warnings raised while fitting.
    timepoints, outcomes : tuple of str
        The codes searched, in order of preference (``data`` has the ones
        each trial contributed in its ``timepoint`` and ``outcome`` columns).
    method, test : str
        The model asked for (a single trial is fitted as equal-effects).
    """

    outcome: str
    timepoint: str
    measure: str
    comparison: tuple[str, ...]
    route: str | None
    data: Any
    incomplete: Any
    excluded: tuple[dict[str, str], ...]
    effects: Any
    result: Any
    notes: tuple[str, ...] = ()
    timepoints: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    method: str = "REML"
    test: str = "z"

    @property
    def name(self) -> str:
        """File-name-safe identifier, e.g. ``pain_relief-30min``."""
        return re.sub(r"[^a-z0-9_\-]+", "_", f"{self.outcome}-{self.timepoint}".lower())

    @property
    def label(self) -> str:
        """Human-readable title, e.g. ``Pain relief, 30min (OR)``."""
        return f"{outcome_info(self.outcome).label}, {self.timepoint} ({self.measure})"

    @property
    def k(self) -> int:
        """Number of trials (or strata) pooled."""
        return 0 if self.result is None else int(self.result.k)

    @property
    def participants(self) -> int | None:
        """Participants of the trials with arm-level data (None when any row is a reported contrast)."""
        if self.data is None or not len(self.data) or (self.data["data_form"] != "arms").any():
            return None
        return int(round(float((self.data["n1i"] + self.data["n2i"]).sum())))

    def summary(self) -> dict[str, Any]:
        """One row for a table of analyses; effects on the display scale (exp for ratio measures)."""
        import math

        res = self.result
        row: dict[str, Any] = {"outcome": self.outcome, "timepoint": self.timepoint, "measure": self.measure,
                               "comparison": "/".join(self.comparison), "k": self.k,
                               "participants": self.participants, "trials_incomplete": int(len(self.incomplete))}
        keys = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")
        if res is None:
            row.update({k: None for k in keys}, pvalue=None, i2=None, tau2=None, method=None, test=None)
        else:
            tr = math.exp if self.measure in ("OR", "RR", "PETO", "ROM") else (lambda x: x)
            row.update({k: (None if getattr(res, k) is None else tr(getattr(res, k))) for k in keys})
            row.update(pvalue=res.pvalue, i2=res.i2 if res.k > 1 else None,
                       tau2=res.tau2 if res.random and res.k > 1 else None, method=res.method, test=res.test)
        row["studies"] = "; ".join(self.data["study"]) if self.data is not None and len(self.data) else ""
        row["notes"] = " ".join(self.notes)
        return row

    def forest(self, **kwargs: Any) -> Any:
        """Forest plot (:func:`mgmeta.plots.forest`) titled with the outcome, favours labels set by its direction."""
        if self.result is None:
            raise DataError(f"{self.label}: nothing to plot, no trial reports usable numbers")
        from mgmeta.plots import forest

        kwargs.setdefault("title", self.label)
        kwargs.setdefault("favours", _favours(self.outcome, self.measure))
        return forest(self.result, **kwargs)

    def __str__(self) -> str:
        head = f"{self.label}; comparison {'/'.join(self.comparison)}" + (f"; route {self.route}" if self.route
                                                                             else "")
        body = str(self.result) if self.result is not None else "no trial reports usable numbers\n"
        extra = "".join(f"note: {n}\n" for n in self.notes)
        if len(self.incomplete):
            extra += "".join(f"not usable: {r.study} ({r.missing})\n" for r in self.incomplete.itertuples())
        return f"{head}\n\n{body}{extra}"

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(self.label)}</h4>"]
        parts.append(self.result._repr_html_() if self.result is not None
                     else "<p>No trial reports usable numbers.</p>")
        for n in self.notes:
            parts.append(f"<p><i>Note:</i> {html.escape(n)}</p>")
        if len(self.incomplete):
            items = "".join(f"<li>{html.escape(str(r.study))}: {html.escape(str(r.missing))}</li>"
                            for r in self.incomplete.itertuples())
            parts.append(f"<p>Trials reporting the outcome without usable numbers:</p><ul>{items}</ul>")
        return "".join(parts)


def _effects_frame(rows: Any, measure: str, *, add: float = 0.5, to: str = "only0") -> tuple[Any, list[str]]:
    """Effect sizes of analysis-ready rows: arm data through effect_sizes, reported contrasts as yi/vi."""
    import warnings

    import pandas as pd

    import mgmeta

    notes: list[str] = []
    pieces = []
    arms = rows[rows["data_form"] == "arms"]
    contrast = rows[rows["data_form"] == "contrast"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if len(arms):
            frame = arms.reset_index(drop=True)
            if measure in _BINARY:
                es = mgmeta.effect_sizes(measure, data=frame, ai="ai", ci="ci", n1i="n1i", n2i="n2i",
                                         add=add, to=to, labels="study")
            else:
                es = mgmeta.effect_sizes(measure, data=frame, m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i",
                                         sd2i="sd2i", n2i="n2i", labels="study")
            es.index = arms.index
            pieces.append(es)
        if len(contrast):
            es = mgmeta.effect_sizes(measure, yi=contrast["yi"].to_numpy(), vi=contrast["vi"].to_numpy(),
                                     labels=list(contrast["study"]))
            es.index = contrast.index
            pieces.append(es)
    notes += [str(w.message) for w in caught]
    frame = pd.concat(pieces).loc[rows.index] if len(pieces) > 1 else pieces[0]
    for col in ("corrected", "dropped"):
        if col in frame.columns:
            frame[col] = frame[col].astype("boolean").fillna(False).astype(bool)
    if "dropped" not in frame.columns:
        frame["dropped"] = False
    for col in ("trial_id", "data_form", "conversion"):
        frame[col] = rows.loc[frame.index, col].to_numpy()
    frame = frame.reset_index(drop=True)
    frame.attrs["measure"] = measure
    return frame, notes


def pool_outcome(outcome: str | Sequence[str], timepoint: str | Sequence[str], *, measure: str,
                 comparison: Sequence[str] | str = DEFAULT_COMPARISON, route: str | None = None,
                 method: str = "REML", test: str = "z", window: str | None = None,
                 include: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                 allow_assumptions: bool = False, add: float = 0.5, to: str = "only0",
                 path: str | os.PathLike[str] | None = None) -> OutcomePool:
    """Meta-analysis of one outcome at one time point (or window), straight from the trial data.

    Reads the analysis-ready rows (:func:`mgmeta.review.data.analysis_data`), computes
    the effect sizes (:func:`mgmeta.effect_sizes`; reported contrasts enter as
    their yi and vi) and fits :func:`mgmeta.meta_analysis`.

    Parameters
    ----------
    outcome : str or sequence of str
        Outcome code of ``data/outcomes.csv`` (e.g. ``"pain_relief"``), or
        several codes measuring the same construct in order of preference
        (e.g. ``["pain_score", "pain_improvement"]`` with ``measure="SMD"``).
        Effects of outcomes whose good direction differs from the first one's
        are sign-reversed (so that one direction favours magnesium), as the
        Cochrane Handbook (section 10.5.2) describes.
    timepoint : str or sequence of str
        Time-point code (``"30min"``), or a time window: codes in order of
        preference, each trial contributing the first one it reports usable
        numbers for (as reviews pool "relief at 15-45 min"). Time points are
        searched before outcomes.
    measure : str
        ``"OR" "RR" "RD" "PETO"`` for events, ``"MD" "SMD" "ROM"`` for means.
    comparison : str or sequence of str
        Comparisons to pool, in order of preference per trial (default
        placebo, then add-on).
    route : {"iv", "oral"}, optional
    method, test : str
        tau² estimator and test of :func:`mgmeta.meta_analysis`.
    window : str, optional
        Name of the time window (default: the codes joined by ``;``).
    include, exclude : sequence of str, optional
        Trial ids to add (e.g. excluded by default) or drop.
    allow_assumptions : bool
        Use numbers flagged as resting on an assumption.
    add, to : float, str
        Continuity correction of 2x2 tables with zero cells, as in
        :func:`mgmeta.effect_sizes`.
    path : path, optional
        Data folder (default: the repository's ``data/``).

    Returns
    -------
    OutcomePool
        With ``result`` None when no trial has usable numbers. One trial is
        not pooled: its own estimate is shown (equal-effects fit of k = 1).

    Raises
    ------
    DataError
        Unknown outcome, time point, measure or trial id; outcomes of
        opposite directions pooled as a risk ratio.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Cochrane Handbook for Systematic
    Reviews of Interventions, version 6.4, chapters 6 and 10 (2023).
    https://training.cochrane.org/handbook
    """
    import warnings

    from mgmeta import meta_analysis
    from mgmeta.errors import DataError

    measure = str(measure).upper()
    if measure not in _BINARY + _CONTINUOUS:
        raise DataError(f"measure must be one of {', '.join(_BINARY + _CONTINUOUS)}, got {measure!r}",
                        field="measure")
    comp = (comparison,) if isinstance(comparison, str) else tuple(comparison)
    tps = (timepoint,) if isinstance(timepoint, str) else tuple(timepoint)
    ocs = (outcome,) if isinstance(outcome, str) else tuple(outcome)
    if not tps:
        raise DataError("give at least one time point", field="timepoint")
    if not ocs:
        raise DataError("give at least one outcome", field="outcome")
    label = window or ";".join(tps)
    usable, incomplete, excluded = _window_rows(ocs, tps, measure, comp, route, include, exclude,
                                                allow_assumptions, path)

    def pool(effects: Any, result: Any, notes: Sequence[str]) -> OutcomePool:
        return OutcomePool(ocs[0], label, measure, comp, route, usable, incomplete, excluded, effects, result,
                           tuple(dict.fromkeys(notes)), tps, ocs, method, test)

    if not len(usable):
        return pool(None, None, ["no trial reports usable numbers"])
    effects, notes = _effects_frame(usable, measure, add=add, to=to)
    good_high = outcome_info(ocs[0]).higher_is_better
    flip = usable["outcome"].map(lambda o: outcome_info(str(o)).higher_is_better != good_high).to_numpy(bool)
    if flip.any():
        if measure == "RR":
            raise DataError(f"outcomes {sorted(set(usable['outcome']))} point in opposite directions; a risk "
                            "ratio cannot be reversed (use OR or RD)", field="outcome")
        effects["yi"] = effects["yi"].where(~flip, -effects["yi"])
        effects["sign_reversed"] = flip
        names = ", ".join(effects.loc[flip, "study"])
        notes.append(f"effects sign-reversed so that every outcome points the way of {ocs[0]}: {names}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if len(effects) == 1:
            result = meta_analysis(effects, method="EE", test="z")
            notes.append("one trial: its own estimate, nothing pooled")
        else:
            result = meta_analysis(effects, method=method, test=test)
    notes += [str(w.message) for w in caught]
    return pool(effects, result, notes)


def _window_rows(ocs: tuple[str, ...], tps: tuple[str, ...], measure: str, comp: tuple[str, ...],
                 route: str | None, include: Any, exclude: Any, allow_assumptions: bool,
                 path: Any) -> tuple[Any, Any, tuple[dict[str, str], ...]]:
    """Per trial (or stratum), the first (time point, outcome) with usable numbers."""
    import pandas as pd

    from mgmeta.review import data as mgdata
    from mgmeta.errors import DataError

    chosen: dict[tuple[str, str], Any] = {}
    lacking: dict[tuple[str, str], Any] = {}
    excluded: dict[str, dict[str, str]] = {}
    known = 0
    columns: list[str] | None = None
    several = len(tps) > 1 or len(ocs) > 1
    for tp in tps:
        for oc in ocs:
            try:
                frame = mgdata.analysis_data(oc, tp, measure=measure, comparison=list(comp), route=route,
                                             include=include, exclude=exclude, allow_assumptions=allow_assumptions,
                                             keep_missing=True, path=path)
            except DataError as exc:
                if several and getattr(exc, "field", None) in ("timepoint", "outcome"):
                    continue  # a window may name time points (or outcomes) no trial reports
                raise
            known += 1
            frame = frame.assign(outcome=oc, timepoint=tp)
            columns = list(frame.columns)
            for e in frame.attrs.get("excluded", []):
                excluded.setdefault(str(e.get("trial_id")), dict(e))
            for _, row in frame.iterrows():
                key = (str(row["trial_id"]), str(row["stratum"]))
                if key in chosen:
                    continue
                if row["data_form"] != "missing":
                    chosen[key] = row
                    lacking.pop(key, None)
                else:
                    lacking.setdefault(key, row)
    if not known:
        raise DataError(f"no trial reports {list(ocs)} at any of the time points {list(tps)}", field="timepoint")
    usable = pd.DataFrame(list(chosen.values()), columns=columns).reset_index(drop=True)
    incomplete = pd.DataFrame(list(lacking.values()), columns=columns).reset_index(drop=True)
    for tid in list(excluded):
        if any(k[0] == tid for k in chosen):
            del excluded[tid]
    return usable, incomplete, tuple(excluded.values())


def analysis_catalogue(route: str | None = None, comparison: Sequence[str] | str = DEFAULT_COMPARISON, *,
                       path: str | os.PathLike[str] | None = None) -> Any:
    """Every outcome and time point the trials report, with how many trials give usable numbers.

    Parameters
    ----------
    route : {"iv", "oral"}, optional
    comparison : str or sequence of str
        As in :func:`pool_outcome`.
    path : path, optional
        Data folder.

    Returns
    -------
    DataFrame
        Columns ``outcome``, ``label``, ``timepoint``, ``kind`` (binary or
        continuous), ``measure`` (OR for events; MD when every trial reports
        the same unit, else SMD), ``units``, ``trials_usable``,
        ``trials_incomplete``, ``studies``; sorted by outcome and time.
    """
    import pandas as pd

    from mgmeta.review import data as mgdata

    comp = [comparison] if isinstance(comparison, str) else list(comparison)
    trials = mgdata.load_trials(path)
    outcomes = mgdata.load_outcomes(path)
    contrasts = mgdata.load_contrasts(path)
    ids = set(trials["trial_id"] if route is None else trials.loc[trials["route"] == route, "trial_id"])
    pairs = set()
    for tab in (outcomes, contrasts):
        sub = tab[tab["trial_id"].isin(ids)]
        pairs |= set(zip(sub["outcome"], sub["timepoint"]))
    rows = []
    for outcome, tp in sorted(pairs, key=lambda p: (p[0], _timepoint_key(str(p[1])))):
        if outcome == "participants" or tp in _NOT_ANALYSED_TIMEPOINTS:
            continue
        kind = outcome_info(outcome).kind
        recs = outcomes[(outcomes["outcome"] == outcome) & (outcomes["timepoint"] == tp)
                        & outcomes["trial_id"].isin(ids)]
        quantities = set(recs["quantity"].dropna())
        if quantities & {"events", "percent"}:
            kind = "binary"
        elif quantities & {"mean", "median", "sd"}:
            kind = "continuous"
        units = sorted(set(recs.loc[recs["quantity"].isin(["mean", "median", "sd", "se"]), "unit"].dropna()))
        measure = "OR" if kind == "binary" else ("MD" if len(units) <= 1 else "SMD")
        frame = mgdata.analysis_data(outcome, tp, measure=measure, comparison=comp, route=route, keep_missing=True,
                                     path=path)
        usable = frame[frame["data_form"] != "missing"]
        rows.append({"outcome": outcome, "label": outcome_info(outcome).label, "timepoint": tp, "kind": kind,
                     "measure": measure, "units": "; ".join(units), "trials_usable": len(usable),
                     "trials_incomplete": int((frame["data_form"] == "missing").sum()),
                     "studies": "; ".join(usable["study"])})
    return pd.DataFrame(rows, columns=["outcome", "label", "timepoint", "kind", "measure", "units", "trials_usable",
                                       "trials_incomplete", "studies"])


def pool_table(pools: Sequence[OutcomePool]) -> Any:
    """The summaries of several :class:`OutcomePool` as one DataFrame (display scale)."""
    import pandas as pd

    return pd.DataFrame([p.summary() for p in pools])


# --------------------------------------------------------------------------
# the published pooled results, recomputed
# --------------------------------------------------------------------------

#: Status of a published result in :func:`reproduction_table`.
REPRODUCED = "reproduced"
DIFFERS = "differs"
NOT_RECOMPUTABLE = "cannot be recomputed"
#: Comparisons searched for a published result, in order of preference per trial (its trial list decides).
_ANY_COMPARISON = ("placebo", "add-on", "active", "usual care")
_REPRO_COLUMNS = ["result_id", "review", "outcome", "timepoint", "route", "measure", "published_estimate",
                  "published_ci_lower", "published_ci_upper", "published_k", "recomputed_estimate",
                  "recomputed_ci_lower", "recomputed_ci_upper", "recomputed_k", "profile", "status", "reason",
                  "trials"]


def _decimals(x: float) -> int:
    text = repr(float(x))
    if "e" in text or "E" in text:
        return 6
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def within_rounding(recomputed: float, published: float) -> bool:
    """True when ``recomputed`` rounds to ``published`` at the decimals ``published`` is given with.

    The published value's decimals are those of its shortest representation
    (``0.23`` -> 2), so a value printed as 0.230 is treated as 0.23: the
    check is as lenient as the number kept in ``data/published.csv``.
    """
    import math

    if published is None or recomputed is None or math.isnan(published) or math.isnan(recomputed):
        return False
    half = 0.5 * 10.0 ** (-_decimals(published))
    return abs(recomputed - published) <= half + 1e-12


def _missing_items(gaps: Any, rid: str) -> str:
    """What data_gaps() lists as missing for a published result: its trials' numbers, or the candidates'."""
    sub = gaps[(gaps["result_id"] == rid) & (gaps["kind"] == "trial_data")]
    items = [f"{r.study + ': ' if r.study else ''}{r.item} ({r.status})" for r in sub.itertuples()]
    cand = gaps[(gaps["result_id"] == rid) & (gaps["kind"] == "candidate_trial_data")]
    if len(cand):
        items.append(f"{cand['trial_id'].nunique()} candidate trials with numbers still to extract "
                     f"({len(cand)} items in data_gaps())")
    return "; ".join(dict.fromkeys(items))


def reproduction_table(*, profiles: Sequence[str] = ("metafor", "revman5"),
                       path: str | os.PathLike[str] | None = None) -> Any:
    """Every published pooled result of ``data/published.csv``, recomputed where the data allow.

    For each published result: its trial list (``data/published_trials.csv``,
    trials stated or inferred from the arithmetic; candidates do not make a
    list) and the trials' numbers are looked up; when every trial has usable
    numbers, the analysis is re-run under each of ``profiles``
    (:func:`mgmeta.reproduce`) and compared with the published estimate and
    confidence limits at the paper's rounding.

    Parameters
    ----------
    profiles : sequence of str
        Software profiles to run (:func:`mgmeta.profiles.profiles`); the one
        closest to the published estimate is reported.
    path : path, optional
        Data folder.

    Returns
    -------
    DataFrame
        One row per published result, in the order of ``published.csv``:
        ``result_id review outcome timepoint route measure``, the published and
        recomputed ``estimate ci_lower ci_upper k`` (natural scale: odds
        ratios, not logs), ``profile`` (the closest), ``status`` (``reproduced``
        within the paper's rounding; ``differs``, with the conventions that
        move the numbers; ``cannot be recomputed``, with what is missing),
        ``reason`` and ``trials`` (the trial ids used or sought).
        ``frame.attrs["diffs"]`` maps result ids to the full
        :func:`mgmeta.reproduce` tables of the recomputed results.
    """
    import math

    import pandas as pd

    from mgmeta.review import data as mgdata
    from mgmeta.errors import DataError
    from mgmeta.reproduce import reproduce

    published = mgdata.load_published(path)
    links = mgdata.load_published_trials(path)
    trials = mgdata.load_trials(path)
    gaps = mgdata.data_gaps(path)
    all_ids = [str(t) for t in trials["trial_id"]]
    default = {str(t) for t, d in zip(trials["trial_id"], trials["include_default"]) if bool(d is True)}
    rows = []
    diffs: dict[str, Any] = {}

    def num(x: Any) -> float:
        return float(x) if x is not None and not pd.isna(x) else math.nan

    for pub in published.itertuples(index=False):
        rid = str(pub.result_id)
        measure = str(pub.measure)
        row: dict[str, Any] = {
            "result_id": rid, "review": pub.review, "outcome": pub.outcome, "timepoint": pub.timepoint,
            "route": pub.route, "measure": measure, "published_estimate": num(pub.estimate),
            "published_ci_lower": num(pub.ci_lower), "published_ci_upper": num(pub.ci_upper),
            "published_k": None if pd.isna(pub.k) else int(pub.k), "recomputed_estimate": math.nan,
            "recomputed_ci_lower": math.nan, "recomputed_ci_upper": math.nan, "recomputed_k": None,
            "profile": "", "status": NOT_RECOMPUTABLE, "reason": "", "trials": ""}
        mine = links[(links["result_id"] == rid) & (links["basis"] != "candidate")]  # candidates are no list
        ids = [str(t) for t in mine["trial_id"]]
        row["trials"] = "; ".join(ids)
        if measure == "none":
            row["reason"] = f"no pooled estimate was published ({pub.direction})"
        elif measure == "unknown" or math.isnan(row["published_estimate"]):
            row["reason"] = "the published estimate was not seen; " + (_missing_items(gaps, rid) or "")
        elif not ids:
            row["reason"] = "the trial list is not known (no public source seen names it); " + (
                _missing_items(gaps, rid) or "")
        elif pd.isna(pub.data_timepoint) or not str(pub.data_timepoint).strip():
            row["reason"] = "the time point of the pooled data is not stated; " + (_missing_items(gaps, rid) or "")
        else:
            tps = [t for t in str(pub.data_timepoint).split(";") if t]
            try:
                pool = pool_outcome(str(pub.outcome), tps, measure=measure, comparison=_ANY_COMPARISON,
                                    route=None if pd.isna(pub.route) else str(pub.route),
                                    include=[t for t in ids if t not in default],
                                    exclude=[t for t in all_ids if t not in ids], allow_assumptions=False,
                                    path=path)
            except DataError as exc:
                row["reason"] = f"{exc}; " + (_missing_items(gaps, rid) or "")
                rows.append(row)
                continue
            used = set(pool.data["trial_id"]) if len(pool.data) else set()
            lacking = [t for t in ids if t not in used]
            if lacking:
                detail = "; ".join(f"{r.study}: {r.missing}" for r in pool.incomplete.itertuples()
                                   if r.trial_id in lacking)
                row["reason"] = (f"no usable numbers for {', '.join(lacking)}"
                                 + (f" ({detail})" if detail else "") + "; " + (_missing_items(gaps, rid) or ""))
            else:
                given = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in pub._asdict().items()}
                tab = reproduce(given, pool.effects, profiles=list(profiles), measure=measure)
                diffs[rid] = tab
                q = tab.set_index("quantity")
                best = str(q.loc["estimate", "closest"]) or str(profiles[0])
                row.update(recomputed_estimate=float(q.loc["estimate", best]),
                           recomputed_ci_lower=float(q.loc["ci_lower", best]),
                           recomputed_ci_upper=float(q.loc["ci_upper", best]),
                           recomputed_k=int(q.loc["k", best]), profile=best)
                checks = [(n, row[f"recomputed_{n}"], row[f"published_{n}"]) for n in
                          ("estimate", "ci_lower", "ci_upper") if not math.isnan(row[f"published_{n}"])]
                off = [n for n, r, p in checks if not within_rounding(r, p)]
                if row["published_k"] is not None and row["published_k"] != row["recomputed_k"]:
                    off.append("k")
                if not off:
                    row["status"] = REPRODUCED
                    row["reason"] = (f"estimate and CI within the paper's rounding under the {best} profile"
                                     if len(checks) > 1 else f"estimate within the paper's rounding under the {best} "
                                     "profile (no CI published)")
                else:
                    row["status"] = DIFFERS
                    why = [f"{n}: {row['recomputed_' + n]:.4g} vs {row['published_' + n]:.4g}" if n != "k" else
                           f"k: {row['recomputed_k']} vs {row['published_k']}" for n in off]
                    moved = [f"{c.removeprefix('changed_by_')}: {q.loc['estimate', c]}" for c in q.columns
                             if c.startswith("changed_by_") and str(q.loc["estimate", c]).strip()]
                    row["reason"] = ("; ".join(why) + (" (conventions that move the estimate: "
                                                       + "; ".join(moved) + ")" if moved else
                                                       " (no software convention explains it; the trial data or "
                                                       "the trial list may differ)"))
        row["reason"] = row["reason"].strip().rstrip(";")
        rows.append(row)
    out = pd.DataFrame(rows, columns=_REPRO_COLUMNS)
    out.attrs["diffs"] = diffs
    return out


# --------------------------------------------------------------------------
# summary of findings
# --------------------------------------------------------------------------

_SOF_COLUMNS = ["outcome", "label", "timepoint", "measure", "relative_effect", "assumed_per_1000",
                "corresponding_per_1000", "absolute_effect", "participants", "studies", "nnt", "comments",
                "estimate", "ci_lower", "ci_upper", "assumed_risk", "corresponding_risk", "corresponding_lower",
                "corresponding_upper", "nnt_value"]


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
    https://training.cochrane.org/handbook/current/chapter-15
    """
    if measure in ("OR", "PETO"):
        return effect * assumed / (1 - assumed + effect * assumed)
    if measure == "RR":
        return min(1.0, effect * assumed)
    if measure == "RD":
        return min(1.0, max(0.0, assumed + effect))
    raise DataError(f"no corresponding risk for measure {measure!r}")


def summary_of_findings(pools: Sequence[OutcomePool], *, baseline: str = "median") -> Any:
    """A summary-of-findings table, as GRADE's 'Summary of findings' tables present them.

    For binary outcomes: the relative effect with its CI; the assumed risk
    per 1000 on control (``baseline``: the median control-group risk of the
    trials, or the pooled risk ``sum events / sum n``) and the corresponding
    risk per 1000 on magnesium with its CI (from the relative effect's
    limits, Cochrane Handbook 15.4.4); participants and studies; and the
    number needed to treat, for benefit (NNTB) or harm (NNTH) according to
    the outcome's good direction, rounded up. For continuous outcomes: the
    median control mean and the (standardized) mean difference with its CI.
    Certainty of the evidence (GRADE) is a judgement, not computed here.

    Parameters
    ----------
    pools : sequence of OutcomePool
        The analyses to summarise (those without a result are listed with
        "no usable data").
    baseline : {"median", "pooled"}
        How the assumed control risk is taken from the trials.

    Returns
    -------
    DataFrame
        One row per analysis; display columns (``relative_effect``,
        ``assumed_per_1000``, ``corresponding_per_1000``, ``absolute_effect``,
        ``participants``, ``studies``, ``nnt``, ``comments``) and the numbers
        behind them (``estimate ci_lower ci_upper assumed_risk
        corresponding_risk corresponding_lower corresponding_upper nnt_value``;
        effects on the natural scale).

    References
    ----------
    Schünemann HJ, Higgins JPT, Vist GE, et al. Completing 'Summary of
    findings' tables and grading the certainty of the evidence. Cochrane
    Handbook, version 6.4, chapter 14 (2023).
    https://training.cochrane.org/handbook/current/chapter-14
    """
    import math

    import pandas as pd

    if baseline not in ("median", "pooled"):
        raise DataError(f"baseline must be 'median' or 'pooled', got {baseline!r}")
    rows = []
    for pool in pools:
        info = outcome_info(pool.outcome)
        s = pool.summary()
        row: dict[str, Any] = {c: None for c in _SOF_COLUMNS}
        row.update(outcome=pool.outcome, label=info.label, timepoint=pool.timepoint, measure=pool.measure,
                   participants=pool.participants, studies=pool.k, estimate=s["estimate"],
                   ci_lower=s["ci_lower"], ci_upper=s["ci_upper"], comments=" ".join(pool.notes))
        if pool.result is None:
            row.update(relative_effect="no usable data", comments="; ".join(
                f"{r.study}: {r.missing}" for r in pool.incomplete.itertuples()) or "no trial reports it")
            rows.append(row)
            continue
        effect = f"{s['estimate']:.2f} ({s['ci_lower']:.2f} to {s['ci_upper']:.2f})"
        if pool.measure in _BINARY:
            row["relative_effect"] = f"{pool.measure} {effect}"
            arms = pool.data[pool.data["data_form"] == "arms"]
            risks = (arms["ci"] / arms["n2i"]).to_numpy(float)
            if len(risks):
                acr = float(pd.Series(risks).median()) if baseline == "median" else \
                    float(arms["ci"].sum() / arms["n2i"].sum())
                cr, lo, hi = (corresponding_risk(acr, s[k], pool.measure) for k in ("estimate", "ci_lower",
                                                                                       "ci_upper"))
                row.update(assumed_risk=acr, corresponding_risk=cr, corresponding_lower=min(lo, hi),
                           corresponding_upper=max(lo, hi), assumed_per_1000=f"{round(1000 * acr)} per 1000",
                           corresponding_per_1000=f"{round(1000 * cr)} per 1000 ({round(1000 * min(lo, hi))} to "
                                                  f"{round(1000 * max(lo, hi))})")
                diff = cr - acr
                row["absolute_effect"] = f"{abs(round(1000 * diff))} {'more' if diff >= 0 else 'fewer'} per 1000"
                if diff != 0:
                    nnt = math.ceil(1 / abs(diff) - 1e-9)
                    benefit = (diff > 0) == info.higher_is_better
                    row.update(nnt_value=nnt, nnt=f"{'NNTB' if benefit else 'NNTH'} {nnt}")
            else:
                row["comments"] = (row["comments"] + " No control-arm counts (reported contrast only): no "
                                   "absolute effect.").strip()
        else:
            name = {"MD": "MD", "SMD": "SMD", "ROM": "Ratio of means"}[pool.measure]
            row["relative_effect"] = f"{name} {effect}"
            arms = pool.data[pool.data["data_form"] == "arms"]
            if pool.measure != "SMD" and len(arms):
                row["assumed_per_1000"] = f"control mean {float(arms['m2i'].median()):.3g}"
            row["absolute_effect"] = f"{name} {effect}"
        rows.append(row)
    out = pd.DataFrame(rows, columns=_SOF_COLUMNS)
    for col in ("participants", "studies", "nnt_value"):
        out[col] = pd.array([None if v is None or pd.isna(v) else int(v) for v in out[col]], dtype="Int64")
    return out
