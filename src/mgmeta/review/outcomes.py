"""One outcome of one comparison, from the trial data to a fitted model.

The review is organised as a Cochrane review: comparison
(:mod:`mgmeta.review.comparisons`) -> outcome -> time point. :func:`pool_outcome`
reads the analysis-ready rows of one comparison (:func:`mgmeta.review.data.analysis_data`,
every conversion recorded), computes the effect sizes (:func:`mgmeta.effect_sizes`)
and fits :func:`mgmeta.meta_analysis`. The rules a reviewer would write in the
protocol live here, once:

- **one measure per outcome and comparison** (:func:`choose_measure`): odds
  ratios for events; the mean difference when every trial of the comparison
  reports the outcome on the same stated scale, at any time point, else the
  standardized mean difference (Cochrane Handbook 6.5.1 and 10.5.2);
- **unit of analysis** (Cochrane Handbook chapter 23): crossover trials enter
  paired, each participant once; an arm that two comparisons share is split
  between them when both appear in one analysis (:func:`pool_across_comparators`);
- **conversions flagged**: every number resting on a conversion carries a
  footnote marker (:func:`conversion_footnotes`), drawn in the forest plot row
  and printed in tables;
- **few studies** (Cochrane Handbook 10.10.4 and 13.3.5): heterogeneity
  intervals and estimator comparisons only from 3 studies; small-study tests
  only from 10; for 2 to 4 studies a Bayesian random-effects estimate with a
  weakly informative half-normal prior on tau (Röver et al. 2021) beside
  REML with the Hartung-Knapp test.
"""
from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mgmeta.errors import DataError, DuplicateLabelWarning
from mgmeta.review.comparisons import CLASS_ORDER, Comparison, get_comparison, population_subgroup
from mgmeta.review.data import ASSUMED_CROSSOVER_CORR

#: Comparison classes of the published reviews' pools (reproduction only; the review never mixes them).
DEFAULT_COMPARISON = ("placebo", "add-on")
_BINARY = ("OR", "RR", "RD", "PETO")
_CONTINUOUS = ("MD", "SMD", "ROM")
_RATIO = ("OR", "RR", "PETO", "ROM")
#: Fewest studies for a heterogeneity interval or an estimator comparison, for small-study tests, and the
#: range (inclusive, exclusive) where a Bayesian estimate is shown beside REML + HKSJ.
MIN_K_HETEROGENEITY = 3
MIN_K_SMALL_STUDY = 10
BAYES_K = (2, 5)
#: Half-normal prior scale on tau for log ratios and SMDs (Röver et al. 2021); for MDs it is this many
#: within-group SDs (the same prior on the standardized scale).
TAU_PRIOR_SCALE = 0.5


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
    "pain_relief_50": OutcomeInfo("Pain relief of 50% or more", "binary", True),
    "pain_improvement": OutcomeInfo("Pain improvement", "continuous", True),
    "pain_reduction": OutcomeInfo("Pain reduction", "continuous", True),
    "normal_function": OutcomeInfo("Return to normal function", "binary", True),
    "no_recurrence": OutcomeInfo("No recurrence", "binary", True),
    "responders_50": OutcomeInfo("Responders (50% fewer attacks)", "binary", True),
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
    "severity": OutcomeInfo("Attack severity", "continuous", False),
    "duration": OutcomeInfo("Attack duration", "continuous", False),
    "hit6": OutcomeInfo("HIT-6 score", "continuous", False),
    "hit6_change": OutcomeInfo("Change in HIT-6 score", "continuous", False),
    "total_pain_index": OutcomeInfo("Total pain index", "continuous", False),
    "vep_p1_amplitude": OutcomeInfo("VEP P1 amplitude", "continuous", False),
}
_NOT_ANALYSED_TIMEPOINTS = {"baseline", "randomized", "enrolled", "excluded", "analysed", "completed"}
_NOT_ANALYSED_OUTCOMES = {"participants", "age", "female"}
_TIMEPOINT_WORDS = {"ed_stay": "during the ED stay", "final": "at the end of observation",
                    "end_of_treatment": "at the end of treatment", "treatment_period": "during treatment",
                    "baseline": "at baseline"}


def outcome_info(outcome: str) -> OutcomeInfo:
    """The label and good direction of an outcome code (unknown codes: binary, lower is better)."""
    return OUTCOMES.get(outcome, OutcomeInfo(outcome.replace("_", " ").capitalize(), "binary", False))


def timepoint_label(tp: str) -> str:
    """A time-point code in words: ``30min`` -> ``at 30 min``, ``month3`` -> ``at 3 months``.

    >>> timepoint_label("24h"), timepoint_label("wk12"), timepoint_label("ed_stay")
    ('at 24 h', 'at week 12', 'during the ED stay')
    """
    if tp in _TIMEPOINT_WORDS:
        return _TIMEPOINT_WORDS[tp]
    m = re.fullmatch(r"(\d+)(min|h)", tp)
    if m:
        return f"at {m.group(1)} {m.group(2)}"
    m = re.fullmatch(r"month(\d+)", tp)
    if m:
        return f"at {m.group(1)} month{'s' if m.group(1) != '1' else ''}"
    m = re.fullmatch(r"wk(\d+)", tp)
    if m:
        return f"at week {m.group(1)}"
    m = re.fullmatch(r"wk(\d+)-(\d+)", tp)
    if m:
        return f"in weeks {m.group(1)}-{m.group(2)}"
    return tp.replace("_", " ")


def _timepoint_key(tp: str) -> tuple[int, float, str]:
    m = re.fullmatch(r"(\d+)(min|h)", tp)
    if m:
        return (0, float(m.group(1)) * (60 if m.group(2) == "h" else 1), tp)
    m = re.fullmatch(r"(?:month|wk|wk\d+-)(\d+)", tp)
    if m:
        weeks = float(m.group(1)) * (4.345 if tp.startswith("month") else 1)
        return (1, weeks, tp)
    return (2, 0.0, tp)


# --------------------------------------------------------------------------
# conversions as footnotes
# --------------------------------------------------------------------------

_MEDIAN_METHODS = {"": "Luo et al. 2018 for the mean, Wan et al. 2014 for the SD", "_wan": "Wan et al. 2014",
                   "_hozo": "Hozo et al. 2005"}


def _footnote(step: str) -> str | None:
    """The footnote of one conversion step of ``analysis_data``'s ``conversion`` column (None: no footnote)."""
    m = re.search(r"mean_sd_from_median_(range_iqr|iqr|range)(_wan|_hozo)?", step)
    if m:
        what = {"iqr": "interquartile range", "range": "range", "range_iqr": "range and interquartile range"}
        return (f"Mean and SD estimated from the median and {what[m.group(1)]} "
                f"({_MEDIAN_METHODS[m.group(2) or '']})")
    if "count_from_percent" in step or "events_from_percent" in step:
        return "Events derived from the reported percentage"
    if "sd_from_se" in step:
        return "SD computed from the reported standard error"
    if "contrast_from_ci" in step:
        return "Effect and its standard error taken from the reported estimate and confidence interval"
    m = re.search(r"crossover_paired.*correlation ([0-9.]+)", step)
    if m:
        return f"Crossover trial analysed paired, each participant once; within-patient correlation {m.group(1)} assumed"
    if "arms combined" in step:
        return "Arms of the same comparison combined into one group (Cochrane Handbook 23.3.4)"
    if "shared arm split" in step:
        return "Arm shared with another comparison in this analysis: its participants (and events) split between them (Cochrane Handbook 23.3.4)"
    if "sign reversed" in step:
        return "Scale reversed so that every outcome points the same way (Cochrane Handbook 10.5.2)"
    return None


def conversion_footnotes(conversions: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Footnote markers for rows whose numbers rest on a conversion, as RevMan prints them.

    Parameters
    ----------
    conversions : sequence of str
        One ``"; "``-separated conversion string per row (the ``conversion``
        column of :func:`mgmeta.review.data.analysis_data`).

    Returns
    -------
    markers : list of str
        Per row, its markers (``"a"``, ``"a,b"`` or ``""``), letters given in
        order of first appearance.
    footnotes : dict
        Marker -> footnote text.

    Examples
    --------
    >>> conversion_footnotes(["", "mean_sd_from_median_iqr", "contrast_from_ci; mean_sd_from_median_iqr"])[0]
    ['', 'a', 'a,b']
    """
    texts: dict[str, str] = {}
    markers = []
    for conv in conversions:
        mine = []
        for step in str(conv or "").split("; "):
            note = _footnote(step)
            if note is None:
                continue
            if note not in texts:
                texts[note] = "abcdefghijklmnopqrstuvwxyz"[len(texts)]
            if texts[note] not in mine:
                mine.append(texts[note])
        markers.append(",".join(sorted(mine)))
    return markers, {m: t for t, m in texts.items()}


# --------------------------------------------------------------------------
# one measure per outcome and comparison
# --------------------------------------------------------------------------

def choose_measure(outcome: str | Sequence[str], comparison: str | Comparison, *,
                   path: str | os.PathLike[str] | None = None) -> str:
    """The review's effect measure for an outcome in a comparison, the same at every time point.

    Events: the odds ratio. Means: the mean difference when every trial of
    the comparison reports the outcome(s) on the same stated scale (at any
    time point), else the standardized mean difference (Cochrane Handbook
    6.5.1.2 and 10.5.2). A scale the source does not state ("scale not
    stated") counts as different from every other, so it gets the SMD.

    Examples
    --------
    >>> choose_measure("attack_frequency", "oral-placebo")
    'MD'
    >>> choose_measure("rescue_medication", "iv-placebo")
    'OR'
    """
    from mgmeta.review import data as mgdata

    ocs = [outcome] if isinstance(outcome, str) else list(outcome)
    comp = get_comparison(comparison, path=path)
    if outcome_info(ocs[0]).kind == "binary":
        return "OR"
    recs = mgdata.load_outcomes(path)
    recs = recs[recs["outcome"].isin(ocs) & recs["trial_id"].isin(comp.trials)
                & recs["quantity"].isin(["mean", "median", "sd", "se", "q1", "q3"])
                & ~recs["timepoint"].isin(_NOT_ANALYSED_TIMEPOINTS)]
    units = set(recs["unit"].dropna())
    if len(units) == 1 and "not stated" not in next(iter(units)):
        return "MD"
    return "SMD"


# --------------------------------------------------------------------------
# the pooled analysis of one outcome
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class OutcomePool:
    """A meta-analysis of one outcome at one time point (or time window) of one comparison.

    Attributes
    ----------
    outcome : str
        Outcome code of ``data/outcomes.csv`` (the first, when several were searched).
    timepoint : str
        The time point, or the name of the time window.
    measure : str
        Effect measure (magnesium is arm 1: OR > 1 means more events on magnesium).
    comparison : Comparison or None
        The comparison (None for a reproduction of a published pool, which
        uses the comparison classes in ``classes``).
    classes : tuple of str
        Comparison classes searched (one, the comparison's, for the review).
    route : str or None
    data : DataFrame
        The analysis-ready rows used (:func:`mgmeta.review.data.analysis_data`),
        with ``outcome``, ``timepoint``, ``population`` and ``marker`` columns.
    incomplete : DataFrame
        Trials reporting the outcome without enough numbers (``missing`` says what is lacking).
    excluded : tuple of dict
        Trials left out and why.
    effects : DataFrame or None
        The effect sizes given to the model.
    result : MetaAnalysisResult or None
        The fitted model (a single trial: its own estimate, equal-effects fit of k = 1).
    notes : tuple of str
    footnotes : dict
        Marker -> text of the conversions the numbers rest on.
    timepoints, outcomes : tuple of str
        The codes searched, in order of preference.
    method, test : str
    """

    outcome: str
    timepoint: str
    measure: str
    comparison: Comparison | None
    classes: tuple[str, ...]
    route: str | None
    data: Any
    incomplete: Any
    excluded: tuple[dict[str, str], ...]
    effects: Any
    result: Any
    notes: tuple[str, ...] = ()
    footnotes: Any = None
    timepoints: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    method: str = "REML"
    test: str = "knha"

    # ---- names -----------------------------------------------------------
    @property
    def name(self) -> str:
        """File-name-safe identifier, e.g. ``iv-placebo-pain_relief-30min``."""
        prefix = f"{self.comparison.id}-" if self.comparison is not None else ""
        return re.sub(r"[^a-z0-9_\-]+", "_", f"{prefix}{self.outcome}-{self.timepoint}".lower())

    @property
    def comparison_label(self) -> str:
        """The comparison in words."""
        if self.comparison is not None:
            return self.comparison.label
        route = {"iv": "IV magnesium", "oral": "Oral magnesium"}.get(self.route or "", "Magnesium")
        return f"{route} vs {' or '.join(self.classes)} (as a published review pooled them)"

    @property
    def outcome_label(self) -> str:
        """Outcome and time point in words, e.g. ``Pain relief at 30 min``."""
        tp = self.timepoint
        when = timepoint_label(tp) if (tp in _TIMEPOINT_WORDS or re.fullmatch(r"\d+(min|h)|month\d+|wk[\d-]+", tp)) \
            else tp
        return f"{outcome_info(self.outcome).label} {when}"

    @property
    def title(self) -> str:
        """Comparison, outcome and time point in plain words (forest plot titles)."""
        return f"{self.comparison_label}: {self.outcome_label}"

    @property
    def label(self) -> str:
        """Outcome, time point and measure, e.g. ``Pain relief at 30 min (OR)``."""
        return f"{self.outcome_label} ({self.measure})"

    # ---- counts ----------------------------------------------------------
    @property
    def k(self) -> int:
        """Number of trials (or strata) pooled."""
        return 0 if self.result is None else int(self.result.k)

    @property
    def participants(self) -> int | None:
        """Participants counted once (crossover trials paired; shared arms split); None when any is unknown."""
        if self.data is None or not len(self.data) or self.data["n_participants"].isna().any():
            return None
        return int(round(float(self.data["n_participants"].sum())))

    @property
    def p_test(self) -> str:
        """Which test the p-value of the pooled effect comes from."""
        res = self.result
        if res is None:
            return ""
        if res.k == 1:
            return "z-test (single trial)"
        if res.test == "knha":
            return f"Hartung-Knapp t-test, {res.df} df"
        if res.test == "t":
            return f"t-test, {res.df} df"
        return "z-test"

    @property
    def markers(self) -> list[str]:
        """Footnote markers per study row (see :attr:`footnotes`)."""
        return [] if self.data is None or not len(self.data) else list(self.data["marker"])

    # ---- what can be run at this k ----------------------------------------
    def small_study_status(self) -> str:
        """Why small-study tests are or are not run (Cochrane Handbook 13.3.5.4: at least 10 studies)."""
        if self.k >= MIN_K_SMALL_STUDY:
            return f"assessed: {self.k} studies"
        return f"not assessed: {self.k} {'study' if self.k == 1 else 'studies'} (at least {MIN_K_SMALL_STUDY} needed)"

    def heterogeneity_ci(self) -> Any:
        """Q-profile intervals for tau², I² and H², from 3 studies; None below."""
        if self.result is None or self.k < MIN_K_HETEROGENEITY:
            return None
        return self.result.heterogeneity_ci()

    @property
    def tau_prior_scale(self) -> float:
        """Scale of the half-normal prior on tau used by :meth:`bayesian`, on this measure's scale."""
        if self.measure != "MD":
            return TAU_PRIOR_SCALE
        arms = self.data[self.data["data_form"] == "arms"]
        sds = list(arms["sd1i"]) + list(arms["sd2i"]) if len(arms) else []
        import numpy as np

        return TAU_PRIOR_SCALE * float(np.median(sds)) if sds else float("nan")

    def bayesian(self) -> Any:
        """Bayesian random-effects estimate for 2 to 4 studies (None otherwise, or for an MD without SDs).

        Half-normal prior on tau with scale 0.5 on the log-ratio or SMD scale
        (0.5 within-group SDs for a mean difference), flat prior on the
        effect: the weakly informative choice of Röver et al. (2021,
        doi:10.1002/jrsm.1475) for few studies.
        """
        if self.result is None or not (BAYES_K[0] <= self.k < BAYES_K[1]):
            return None
        scale = self.tau_prior_scale
        if not scale > 0:
            return None
        from mgmeta.analyses.bayes import bayesian_meta_analysis

        return bayesian_meta_analysis(self.result, tau_prior="half-normal", tau_scale=scale)

    def population_subgroups(self) -> Any:
        """Subgroup analysis by population when the pooled trials span more than one (None otherwise)."""
        if self.result is None or self.k < 2 or self.data["population"].nunique() < 2:
            return None
        if (self.data.groupby("population")["trial_id"].count() < 1).any():
            return None
        from mgmeta import subgroup_analysis

        return subgroup_analysis(self.effects, groups=list(self.data["population"]), method=self.method,
                                 test=self.test if self.k > 1 else "z")

    # ---- display ------------------------------------------------------------
    def display_scale(self, x: float | None) -> float | None:
        """An estimate on the display scale (exp for ratio measures)."""
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return None
        return math.exp(x) if self.measure in _RATIO else float(x)

    def summary(self) -> dict[str, Any]:
        """One row for a table of analyses; effects on the display scale (exp for ratio measures)."""
        res = self.result
        row: dict[str, Any] = {"comparison": self.comparison_label,
                               "comparison_id": self.comparison.id if self.comparison is not None else "",
                               "outcome": self.outcome, "outcome_label": self.outcome_label,
                               "timepoint": self.timepoint, "measure": self.measure, "k": self.k,
                               "participants": self.participants, "trials_incomplete": int(len(self.incomplete))}
        keys = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")
        if res is None:
            row.update({k: None for k in keys}, pvalue=None, p_test="", i2=None, tau2=None, method=None)
        else:
            row.update({k: self.display_scale(getattr(res, k)) for k in keys})
            row.update(pvalue=res.pvalue, p_test=self.p_test, i2=res.i2 if res.k > 1 else None,
                       tau2=res.tau2 if res.random and res.k > 1 else None,
                       method=(f"{res.method}, Hartung-Knapp" if res.test == "knha" and res.k > 1 else
                               ("single trial" if res.k == 1 else res.method)))
        bayes = self.bayesian()
        row.update(bayes_estimate=self.display_scale(bayes.mu.median) if bayes else None,
                   bayes_ci_lower=self.display_scale(bayes.mu.ci_lower) if bayes else None,
                   bayes_ci_upper=self.display_scale(bayes.mu.ci_upper) if bayes else None)
        row["studies"] = "; ".join(
            f"{s}{' (' + m + ')' if m else ''}" for s, m in zip(self.data["study"], self.data["marker"])
        ) if self.data is not None and len(self.data) else ""
        row["footnotes"] = "; ".join(f"{m}: {t}" for m, t in (self.footnotes or {}).items())
        row["notes"] = " ".join(self.notes)
        return row

    def sentence(self) -> str:
        """The result in one sentence (how a single trial is reported, and the caption of a pooled one)."""
        if self.result is None:
            return f"{self.title}: no trial reports usable numbers."
        s = self.summary()
        name = {"OR": "odds ratio", "RR": "risk ratio", "RD": "risk difference", "PETO": "Peto odds ratio",
                "MD": "mean difference", "SMD": "standardized mean difference", "ROM": "ratio of means"}[self.measure]
        people = f", {self.participants} participants" if self.participants is not None else ""
        p = s["pvalue"]
        ptxt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"
        if self.k == 1:
            study = self.data["study"].iloc[0]
            return (f"{self.outcome_label} ({self.comparison_label}): one trial ({study}{people}), "
                    f"{name} {_fmt(s['estimate'])} (95% CI {_fmt(s['ci_lower'])} to {_fmt(s['ci_upper'])}; "
                    f"{ptxt}, {self.p_test}).")
        return (f"{self.outcome_label} ({self.comparison_label}): {self.k} trials{people}, pooled {name} "
                f"{_fmt(s['estimate'])} (95% CI {_fmt(s['ci_lower'])} to {_fmt(s['ci_upper'])}; {ptxt}, "
                f"{self.p_test}; I² = {s['i2']:.0f}%).")

    def forest(self, **kwargs: Any) -> Any:
        """Forest plot titled with the comparison, outcome and time point; conversions footnoted.

        Population subgroups are drawn as subgroups (with the test for
        subgroup differences) when the pooled trials span more than one.
        """
        if self.result is None:
            raise DataError(f"{self.title}: nothing to plot, no trial reports usable numbers")
        from mgmeta.plots import forest

        kwargs.setdefault("title", self.title)
        kwargs.setdefault("favours", _favours(self.outcome, self.comparison))
        kwargs.setdefault("arm_labels", ("Magnesium", _control_header(self.comparison)))
        kwargs.setdefault("columns", "all")     # a reviewer checks the arms' numbers: wrap long labels instead
        if any(self.markers):
            kwargs.setdefault("markers", self.markers)
            kwargs.setdefault("footnotes", dict(self.footnotes or {}))
        sub = self.population_subgroups()
        if sub is not None:
            kwargs.setdefault("data", self.effects)  # the subgroup fits keep no arm data of their own
        return forest(sub if sub is not None else self.result, **kwargs)

    def __str__(self) -> str:
        body = str(self.result) if self.result is not None and self.k > 1 else self.sentence() + "\n"
        extra = "".join(f"note: {n}\n" for n in self.notes)
        extra += "".join(f"{m}: {t}\n" for m, t in (self.footnotes or {}).items())
        if len(self.incomplete):
            extra += "".join(f"not usable: {r.study} ({missing_in_words(r.missing)})\n"
                             for r in self.incomplete.itertuples())
        return f"{self.title}\n\n{body}{extra}"

    def _repr_html_(self) -> str:
        parts = [f"<p><b>{html.escape(self.title)}</b>. {html.escape(self.sentence())}</p>"]
        if self.footnotes:
            parts.append("<ul>" + "".join(f"<li><sup>{html.escape(m)}</sup> {html.escape(t)}</li>"
                                          for m, t in self.footnotes.items()) + "</ul>")
        if len(self.incomplete):
            items = "; ".join(f"{html.escape(str(r.study))} ({html.escape(missing_in_words(r.missing))})"
                              for r in self.incomplete.itertuples())
            parts.append(f"<p>Reported without usable numbers: {items}.</p>")
        return "".join(parts)


_MISSING_WORDS = {"events": "event counts", "n": "arm sizes", "mean": "means", "sd": "SDs",
                  "quartiles or range": "quartiles or ranges"}


def missing_in_words(missing: str) -> str:
    """What a trial lacks, in words: ``"mg: events; placebo: events"`` -> ``"no event counts per arm"``.

    >>> missing_in_words("mg: events; placebo: events")
    'no event counts per arm'
    >>> missing_in_words("mg: sd; placebo: mean")
    'no SDs, means per arm'
    """
    what = []
    other = []
    for item in str(missing).split("; "):
        arm, sep, thing = item.partition(": ")
        if sep and thing in _MISSING_WORDS:
            what.append(_MISSING_WORDS[thing])
        elif item:
            other.append(item)
    parts = [f"no {', '.join(dict.fromkeys(what))} per arm"] if what else []
    return "; ".join(parts + other)


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3f}" if abs(x) < 0.1 else f"{x:.2f}"


def _favours(outcome: str, comparison: Comparison | None) -> tuple[str, str]:
    """Favours labels (left, right) of the line of no effect: magnesium is arm 1, effects are mg minus/over control."""
    control = comparison.control if comparison is not None else "control"
    good_high = outcome_info(outcome).higher_is_better
    return (control, "magnesium") if good_high else ("magnesium", control)


def _control_header(comparison: Comparison | None) -> str:
    """The control arm's column header: the comparator when it is short, else "Control" (it is in the title)."""
    if comparison is None or len(comparison.control) > 14:
        return "Control"
    text = comparison.control
    return text[:1].upper() + text[1:]


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
                es = mgmeta.effect_sizes(measure, ai=frame["ai"].to_numpy(float), ci=frame["ci"].to_numpy(float),
                                         n1i=frame["n1i"].to_numpy(float), n2i=frame["n2i"].to_numpy(float),
                                         add=add, to=to, labels=list(frame["study"]))
            else:
                es = mgmeta.effect_sizes(measure, m1i=frame["m1i"].to_numpy(float),
                                         sd1i=frame["sd1i"].to_numpy(float), n1i=frame["n1i"].to_numpy(float),
                                         m2i=frame["m2i"].to_numpy(float), sd2i=frame["sd2i"].to_numpy(float),
                                         n2i=frame["n2i"].to_numpy(float), labels=list(frame["study"]))
            es.index = arms.index
            pieces.append(es)
        if len(contrast):
            es = mgmeta.effect_sizes(measure, yi=contrast["yi"].to_numpy(float), vi=contrast["vi"].to_numpy(float),
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
    for col in ("trial_id", "data_form", "conversion", "population"):
        frame[col] = rows.loc[frame.index, col].to_numpy()
    frame = frame.reset_index(drop=True)
    frame.attrs["measure"] = measure
    return frame, notes


def _parse_comparison(comparison: Any, route: str | None, path: Any) -> tuple[Comparison | None, tuple[str, ...],
                                                                              str | None]:
    """A comparison (id, label or object) or, for reproductions, comparison classes in order of preference."""
    if isinstance(comparison, Comparison):
        return comparison, (comparison.kind,), comparison.route
    if isinstance(comparison, str) and comparison not in CLASS_ORDER:
        comp = get_comparison(comparison, path=path)
        return comp, (comp.kind,), comp.route
    classes = (comparison,) if isinstance(comparison, str) else tuple(comparison)
    bad = [c for c in classes if c not in CLASS_ORDER]
    if bad or not classes:
        raise DataError(f"comparison must be a comparison id (see mgmeta.review.comparisons.comparisons()) or "
                        f"comparison classes from {CLASS_ORDER}, got {comparison!r}", field="comparison")
    return None, classes, route


def pool_outcome(outcome: str | Sequence[str], timepoint: str | Sequence[str], *,
                 comparison: str | Comparison | Sequence[str], measure: str | None = None,
                 route: str | None = None, method: str = "REML", test: str = "knha", window: str | None = None,
                 include: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                 allow_assumptions: bool = False, add: float = 0.5, to: str = "only0",
                 crossover_corr: float = ASSUMED_CROSSOVER_CORR, median_method: str = "luo_wan",
                 path: str | os.PathLike[str] | None = None) -> OutcomePool:
    """Meta-analysis of one outcome at one time point (or window) of one comparison, from the trial data.

    Parameters
    ----------
    outcome : str or sequence of str
        Outcome code of ``data/outcomes.csv`` (e.g. ``"pain_relief"``), or
        several codes measuring the same construct in order of preference
        (e.g. ``["pain_score", "pain_improvement"]``). Effects of outcomes whose
        good direction differs from the first one's are sign-reversed
        (Cochrane Handbook 10.5.2), and footnoted.
    timepoint : str or sequence of str
        Time-point code (``"30min"``), or a time window: codes in order of
        preference, each trial contributing the first one it reports usable
        numbers for. Time points are searched before outcomes.
    comparison : str, Comparison or sequence of str
        The comparison: an id such as ``"iv-placebo"`` or
        ``"iv-active-metoclopramide"`` (:func:`mgmeta.review.comparisons.comparisons`).
        Only to recompute a published pool that mixed comparators: comparison
        classes (``["placebo", "add-on", "active"]``) with ``route``; each trial
        then contributes its first class, all its control arms of it combined.
    measure : str, optional
        Default: the review's measure for the outcome and comparison
        (:func:`choose_measure`).
    route : {"iv", "oral"}, optional
        With comparison classes only (a comparison knows its route).
    method, test : str
        tau² estimator and test of :func:`mgmeta.meta_analysis` (default REML
        with the Hartung-Knapp test).
    window : str, optional
        Name of the time window (default: the codes joined by ``;``).
    include, exclude : sequence of str, optional
        Trial ids to add (e.g. excluded by default) or drop.
    allow_assumptions : bool
        Use numbers flagged as resting on an assumption.
    add, to : float, str
        Continuity correction of 2x2 tables with zero cells, as in :func:`mgmeta.effect_sizes`.
    crossover_corr : float
        Within-patient correlation assumed for crossover trials.
    median_method : {"luo_wan", "wan", "hozo"}
        How medians with quartiles or ranges become means and SDs
        (:func:`mgmeta.conversions.mean_sd_from_median`).
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
        Unknown comparison, outcome, time point, measure or trial id; outcomes
        of opposite directions pooled as a risk ratio.

    Examples
    --------
    >>> pool = pool_outcome("attack_frequency", "end_of_treatment", comparison="oral-active-sodium-valproate")
    >>> pool.title
    'Oral magnesium vs sodium valproate: Attack frequency at the end of treatment'
    >>> pool.participants   # Karimi 2019, a crossover trial: 63 people, not 126
    63
    """
    comp, classes, route = _parse_comparison(comparison, route, path)
    tps = (timepoint,) if isinstance(timepoint, str) else tuple(timepoint)
    ocs = (outcome,) if isinstance(outcome, str) else tuple(outcome)
    if not tps:
        raise DataError("give at least one time point", field="timepoint")
    if not ocs:
        raise DataError("give at least one outcome", field="outcome")
    if measure is None:
        if comp is None:
            raise DataError("give the measure when pooling comparison classes", field="measure")
        measure = choose_measure(ocs, comp, path=path)
    measure = str(measure).upper()
    if measure not in _BINARY + _CONTINUOUS:
        raise DataError(f"measure must be one of {', '.join(_BINARY + _CONTINUOUS)}, got {measure!r}",
                        field="measure")
    label = window or ";".join(tps)
    usable, incomplete, excluded = _window_rows(ocs, tps, measure, classes, comp, route, include, exclude,
                                                allow_assumptions, crossover_corr, median_method, path)
    notes: list[str] = []

    def pool(effects: Any, result: Any, frame: Any, footnotes: Any) -> OutcomePool:
        return OutcomePool(ocs[0], label, measure, comp, classes, route, frame, incomplete, excluded, effects,
                           result, tuple(dict.fromkeys(notes)), footnotes, tps, ocs, method, test)

    if not len(usable):
        notes.append("no trial reports usable numbers")
        return pool(None, None, usable.assign(marker=[]), {})
    good_high = outcome_info(ocs[0]).higher_is_better
    flip = usable["outcome"].map(lambda o: outcome_info(str(o)).higher_is_better != good_high).to_numpy(bool)
    if flip.any() and measure == "RR":
        raise DataError(f"outcomes {sorted(set(usable['outcome']))} point in opposite directions; a risk "
                        "ratio cannot be reversed (use OR or RD)", field="outcome")
    usable = usable.copy()
    usable.loc[flip, "conversion"] = [f"{c}; sign reversed" if c else "sign reversed"
                                      for c in usable.loc[flip, "conversion"]]
    markers, footnotes = conversion_footnotes(list(usable["conversion"]))
    usable["marker"] = markers
    effects, caught = _aligned_effects(usable, measure, ocs[0], add=add, to=to)
    notes += caught
    return pool(effects, _fit(effects, method, test, notes), usable, footnotes)


def _aligned_effects(rows: Any, measure: str, first: str, *, add: float = 0.5,
                     to: str = "only0") -> tuple[Any, list[str]]:
    """Effect sizes of the rows, sign-reversed where an outcome's good direction differs from ``first``'s."""
    effects, notes = _effects_frame(rows, measure, add=add, to=to)
    good_high = outcome_info(first).higher_is_better
    flip = rows["outcome"].map(lambda o: outcome_info(str(o)).higher_is_better != good_high).to_numpy(bool)
    if flip.any():
        effects["yi"] = effects["yi"].where(~flip, -effects["yi"])
        effects["sign_reversed"] = flip
    return effects, notes


def _fit(effects: Any, method: str, test: str, notes: list[str]) -> Any:
    """REML + HKSJ (or as asked) for k >= 2; a single trial as its own estimate; warnings into notes."""
    import warnings

    from mgmeta import meta_analysis

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if len(effects) == 1:
            result = meta_analysis(effects, method="EE", test="z")
            notes.append("one trial: its own estimate, nothing pooled")
        else:
            result = meta_analysis(effects, method=method, test=test)
    notes += [str(w.message) for w in caught]
    return result


def _window_rows(ocs: tuple[str, ...], tps: tuple[str, ...], measure: str, classes: tuple[str, ...],
                 comp: Comparison | None, route: str | None, include: Any, exclude: Any, allow_assumptions: bool,
                 crossover_corr: float, median_method: str,
                 path: Any) -> tuple[Any, Any, tuple[dict[str, str], ...]]:
    """Per trial (or stratum), the first (time point, outcome) with usable numbers."""
    import pandas as pd

    from mgmeta.review import data as mgdata

    chosen: dict[tuple[str, str], Any] = {}
    lacking: dict[tuple[str, str], Any] = {}
    excluded: dict[str, dict[str, str]] = {}
    known = 0
    columns: list[str] | None = None
    several = len(tps) > 1 or len(ocs) > 1
    for tp in tps:
        for oc in ocs:
            try:
                frame = mgdata.analysis_data(oc, tp, measure=measure, comparison=list(classes), route=route,
                                             comparator=comp.comparator if comp is not None else None,
                                             include=include, exclude=exclude, allow_assumptions=allow_assumptions,
                                             crossover_corr=crossover_corr, median_method=median_method,
                                             keep_missing=True, path=path)
            except DataError as exc:
                if several and getattr(exc, "field", None) in ("timepoint", "outcome"):
                    continue  # a window may name time points (or outcomes) no trial reports
                raise
            known += 1
            frame = frame.assign(outcome=oc, timepoint=tp,
                                 population=[population_subgroup(p) for p in frame["population_group"]])
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


# --------------------------------------------------------------------------
# several comparisons in one plot: subgroups, shared arms split
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class AcrossComparators:
    """Several comparisons of one outcome shown together: one subgroup each, never one pooled estimate.

    Attributes
    ----------
    pools : tuple of OutcomePool
        One per comparison with usable numbers, shared arms already split.
    subgroups : SubgroupResult or None
        :func:`mgmeta.subgroup_analysis` by comparison, with the test for
        subgroup differences (None with fewer than two comparisons).
    title : str
    notes : tuple of str
        Warnings of the subgroup analysis, in words.
    """

    pools: tuple[OutcomePool, ...]
    subgroups: Any
    title: str
    notes: tuple[str, ...] = ()

    def forest(self, **kwargs: Any) -> Any:
        """Subgroup forest plot: one subgroup per comparison and its test for subgroup differences."""
        import pandas as pd

        from mgmeta.plots import forest

        if self.subgroups is None:
            raise DataError(f"{self.title}: fewer than two comparisons with usable numbers")
        kwargs.setdefault("title", self.title)
        kwargs.setdefault("subgroup_test", self.subgroups)
        kwargs.setdefault("arm_labels", ("Magnesium", "Control"))
        if self.pools[0].measure not in _BINARY:
            # six mean/SD/n columns beside the comparators' long labels leave no room for the plot: the
            # per-comparison plots above show them, this one shows the subgroups
            kwargs.setdefault("arms", False)
        kwargs.setdefault("favours", _favours(self.pools[0].outcome, None))
        kwargs.setdefault("data", pd.concat([p.effects for p in self.pools], ignore_index=True))
        markers = [m for p in self.pools for m in p.markers]
        if any(markers):
            kwargs.setdefault("markers", markers)
            kwargs.setdefault("footnotes", dict(self.pools[0].footnotes or {}))
        # one subgroup per comparison and no overall diamond: comparators are never pooled together
        return forest({p.comparison_label: p.result for p in self.pools}, **kwargs)


def pool_across_comparators(outcome: str | Sequence[str], timepoint: str | Sequence[str], *, route: str,
                            comparisons: Sequence[str | Comparison] | None = None, measure: str | None = None,
                            method: str = "REML", test: str = "knha", window: str | None = None,
                            path: str | os.PathLike[str] | None = None) -> AcrossComparators:
    """One outcome across the comparisons of a route, as subgroups (where a published review mixed them).

    Each comparison is its own subgroup with its own pooled estimate, and the
    test for subgroup differences says whether the comparators differ; there
    is no estimate across comparators (the reviews' mixed pools are
    reproduced in :mod:`mgmeta.review.reproduction`). A multi-arm trial can
    appear in two subgroups with the same magnesium arm (Kandil 2021 against
    prochlorperazine and metoclopramide): its participants and events are
    then split evenly between the comparisons, so that no one is counted
    twice in the plot (Cochrane Handbook 23.3.4).

    Parameters
    ----------
    outcome, timepoint, window : as in :func:`pool_outcome`
    route : {"iv", "oral"}
    comparisons : sequence, optional
        Default: every comparison of the route.
    measure : str, optional
        One measure for all (default: OR for events; for means the MD when
        every comparison would use it, else the SMD).
    method, test : str

    Returns
    -------
    AcrossComparators
    """
    import warnings

    import pandas as pd

    from mgmeta import subgroup_analysis
    from mgmeta.review.comparisons import comparisons as all_comparisons

    comps = [get_comparison(c, path=path) for c in comparisons] if comparisons is not None else \
        all_comparisons(route, path=path)
    if measure is None:
        chosen = {choose_measure(outcome, c, path=path) for c in comps}
        measure = chosen.pop() if len(chosen) == 1 else "SMD"
    pools = [pool_outcome(outcome, timepoint, comparison=c, measure=measure, method=method, test=test,
                          window=window, path=path) for c in comps]
    pools = [p for p in pools if p.result is not None]
    # every arm used in more than one comparison here is split between them
    use: dict[tuple[str, str], int] = {}
    for p in pools:
        for r in p.data.itertuples():
            for arm in {str(r.mg_arms), str(r.control_arms)}:
                use[(str(r.trial_id), arm)] = use.get((str(r.trial_id), arm), 0) + 1
    split = []
    for p in pools:
        rows = p.data.copy()
        changed = False
        for i, r in rows.iterrows():
            row_split = False
            for side, arm in (("1", str(r["mg_arms"])), ("2", str(r["control_arms"]))):
                m = use[(str(r["trial_id"]), arm)]
                if m > 1 and r["data_form"] == "arms":
                    rows.loc[i, f"n{side}i"] = r[f"n{side}i"] / m
                    if measure in _BINARY:
                        ev, non = ("ai", "bi") if side == "1" else ("ci", "di")
                        rows.loc[i, ev] = r[ev] / m
                        rows.loc[i, non] = r[non] / m
                    rows.loc[i, "conversion"] = (f"{rows.loc[i, 'conversion']}; " if rows.loc[i, "conversion"]
                                                 else "") + f"shared arm split ({arm}, {m} comparisons)"
                    changed = row_split = True
            if row_split:
                rows.loc[i, "n_participants"] = rows.loc[i, "n1i"] + rows.loc[i, "n2i"]
        if changed:
            pnotes = list(p.notes)
            markers, footnotes = conversion_footnotes(list(rows["conversion"]))
            rows["marker"] = markers
            effects, fit_notes = _aligned_effects(rows, measure, p.outcome)
            pnotes += fit_notes
            p = OutcomePool(p.outcome, p.timepoint, measure, p.comparison, p.classes, p.route, rows, p.incomplete,
                            p.excluded, effects, _fit(effects, method, test, pnotes), tuple(dict.fromkeys(pnotes)),
                            footnotes, p.timepoints, p.outcomes, method, test)
        split.append(p)
    # one set of footnote letters over the whole plot
    all_conv = [c for p in split for c in p.data["conversion"]]
    markers, footnotes = conversion_footnotes(all_conv)
    start = 0
    final = []
    for p in split:
        n = len(p.data)
        rows = p.data.assign(marker=markers[start:start + n])
        start += n
        final.append(OutcomePool(p.outcome, p.timepoint, measure, p.comparison, p.classes, p.route, rows,
                                 p.incomplete, p.excluded, p.effects, p.result, p.notes, footnotes, p.timepoints,
                                 p.outcomes, method, test))
    route_name = {"iv": "IV magnesium", "oral": "Oral magnesium"}[route]
    title = (f"{route_name} vs each comparator (subgroups, not pooled): "
             f"{final[0].outcome_label if final else outcome_info(str(outcome)).label}")
    sub = None
    notes: list[str] = []
    if len(final) >= 2:
        effects = pd.concat([p.effects for p in final], ignore_index=True)
        groups = pd.Categorical([p.comparison_label for p in final for _ in range(len(p.effects))],
                                categories=[p.comparison_label for p in final])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sub = subgroup_analysis(effects, groups=groups, method=method, test=test)
        singles = [p.comparison_label for p in final if p.k == 1]
        if singles:
            notes.append(f"{len(singles)} of the {len(final)} comparators have a single trial: their subgroup "
                         "estimate is that trial's own, and the test for subgroup differences compares single "
                         "trials.")
        # a trial in two comparisons (its shared arm split, footnoted) has the same label in two subgroups
        notes += [str(w.message) for w in caught if "single study" not in str(w.message)
                  and "common-tau" not in str(w.message) and not issubclass(w.category, DuplicateLabelWarning)]
    return AcrossComparators(tuple(final), sub, title, tuple(dict.fromkeys(notes)))


# --------------------------------------------------------------------------
# what the trials report
# --------------------------------------------------------------------------

def analysis_catalogue(comparison: str | Comparison, *, path: str | os.PathLike[str] | None = None) -> Any:
    """Every outcome and time point the trials of a comparison report, with how many give usable numbers.

    Parameters
    ----------
    comparison : str or Comparison
        A comparison id (``"iv-placebo"``) or object.
    path : path, optional
        Data folder.

    Returns
    -------
    DataFrame
        Columns ``comparison``, ``outcome``, ``label``, ``timepoint``,
        ``measure`` (:func:`choose_measure`), ``units``, ``trials_usable``,
        ``trials_incomplete``, ``studies``; sorted by outcome and time.
    """
    import pandas as pd

    from mgmeta.review import data as mgdata

    comp = get_comparison(comparison, path=path)
    outcomes = mgdata.load_outcomes(path)
    contrasts = mgdata.load_contrasts(path)
    ids = set(comp.trials)
    pairs = set()
    for tab in (outcomes, contrasts):
        sub = tab[tab["trial_id"].isin(ids)]
        pairs |= set(zip(sub["outcome"], sub["timepoint"]))
    rows = []
    for outcome, tp in sorted(pairs, key=lambda p: (p[0], _timepoint_key(str(p[1])))):
        if outcome in _NOT_ANALYSED_OUTCOMES or tp in _NOT_ANALYSED_TIMEPOINTS:
            continue
        measure = choose_measure(outcome, comp, path=path)
        try:
            frame = mgdata.analysis_data(outcome, tp, measure=measure, comparison=comp.kind, route=comp.route,
                                         comparator=comp.comparator, keep_missing=True, path=path)
        except DataError:
            continue
        if not len(frame):
            continue
        recs = outcomes[(outcomes["outcome"] == outcome) & outcomes["trial_id"].isin(frame["trial_id"])
                        & outcomes["quantity"].isin(["mean", "median", "sd", "se"])]
        usable = frame[frame["data_form"] != "missing"]
        rows.append({"comparison": comp.label, "outcome": outcome, "label": outcome_info(outcome).label,
                     "timepoint": tp, "measure": measure, "units": "; ".join(sorted(set(recs["unit"].dropna()))),
                     "trials_usable": len(usable), "trials_incomplete": int((frame["data_form"] == "missing").sum()),
                     "studies": "; ".join(usable["study"])})
    return pd.DataFrame(rows, columns=["comparison", "outcome", "label", "timepoint", "measure", "units",
                                       "trials_usable", "trials_incomplete", "studies"])


def pool_table(pools: Sequence[OutcomePool]) -> Any:
    """The summaries of several :class:`OutcomePool` as one DataFrame (display scale)."""
    import pandas as pd

    return pd.DataFrame([p.summary() for p in pools])


# --------------------------------------------------------------------------
# the review's outcomes (its protocol)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewOutcome:
    """An outcome of the review's protocol: the codes that measure it and the time window it is read in.

    Attributes
    ----------
    outcomes : tuple of str
        Outcome codes in order of preference (several measuring one construct
        are sign-aligned, Cochrane Handbook 10.5.2).
    timepoints : tuple of str
        Time-point codes in order of preference (each trial contributes the first it reports).
    window : str
        The window in words (``"at 15-45 min"``).
    critical : bool
        Critical for decision-making (GRADE): shown in the key findings.
    """

    outcomes: tuple[str, ...]
    timepoints: tuple[str, ...]
    window: str
    critical: bool = False


#: The outcomes each route's comparisons are summarised on: the time windows the published reviews pooled
#: (relief at 15-45 min, 120 min and 24 h, Chiu et al. 2016; rescue medication and adverse events over the
#: emergency-department stay, Choi & Parmar 2014; attack frequency and responders at the end of
#: prophylaxis, Chiu 2016 and von Luckner & Riederer 2018).
REVIEW_OUTCOMES: dict[str, tuple[ReviewOutcome, ...]] = {
    "iv": (
        ReviewOutcome(("pain_relief",), ("15min", "20min", "30min", "45min"), "at 15-45 min", True),
        ReviewOutcome(("pain_relief",), ("120min",), "at 120 min"),
        ReviewOutcome(("pain_score", "pain_improvement", "pain_change"), ("60min", "90min", "120min"),
                      "at 60-120 min", True),
        ReviewOutcome(("pain_relief", "no_recurrence"), ("24h",), "at 24 h"),
        ReviewOutcome(("rescue_medication",), ("ed_stay", "30min", "60min", "final"), "during the ED stay", True),
        ReviewOutcome(("adverse_events",), ("ed_stay", "final", "treatment_period"), "during the ED stay", True),
    ),
    "oral": (
        ReviewOutcome(("attack_frequency",), ("end_of_treatment", "month3", "wk12", "wk9-12", "month2"),
                      "at the end of treatment", True),
        ReviewOutcome(("responders_50",), ("end_of_treatment", "month3", "wk12", "month2"),
                      "at the end of treatment", True),
        ReviewOutcome(("migraine_days",), ("end_of_treatment", "month3", "wk12", "month2"),
                      "at the end of treatment"),
        ReviewOutcome(("severity",), ("end_of_treatment", "month3", "wk12", "month2"), "at the end of treatment"),
        ReviewOutcome(("adverse_events",), ("treatment_period", "end_of_treatment"), "during treatment", True),
    ),
}


def review_pools(comparison: str | Comparison, *, method: str = "REML", test: str = "knha",
                 allow_assumptions: bool = False, crossover_corr: float = ASSUMED_CROSSOVER_CORR,
                 exclude: Sequence[str] | None = None,
                 path: str | os.PathLike[str] | None = None) -> list[OutcomePool]:
    """The review's outcomes (:data:`REVIEW_OUTCOMES`) pooled for one comparison.

    Outcomes no trial of the comparison reports at all are left out;
    outcomes reported without usable numbers are kept (``result`` None), so
    that a summary-of-findings table can say so.

    Examples
    --------
    >>> [p.outcome_label for p in review_pools("oral-active-sodium-valproate") if p.result is not None]
    ['Attack frequency at the end of treatment', 'Migraine days at the end of treatment']
    """
    comp = get_comparison(comparison, path=path)
    pools = []
    for ro in REVIEW_OUTCOMES[comp.route]:
        try:
            pool = pool_outcome(ro.outcomes, ro.timepoints, comparison=comp, method=method, test=test,
                                window=ro.window, allow_assumptions=allow_assumptions, exclude=exclude,
                                crossover_corr=crossover_corr, path=path)
        except DataError as exc:
            if getattr(exc, "field", None) in ("timepoint", "outcome"):
                continue  # no trial reports it at all
            raise
        if pool.result is None and not len(pool.incomplete):
            continue
        pools.append(pool)
    return pools


def assessment_table(pools: Sequence[OutcomePool]) -> Any:
    """What each analysis can support at its number of trials, in words (Cochrane Handbook 10.10.4, 13.3.5).

    Returns
    -------
    DataFrame
        One row per analysis with a result: ``comparison``, ``outcome``,
        ``k``, and for ``heterogeneity`` (Q-profile intervals and the
        comparison of tau² estimators, from :data:`MIN_K_HETEROGENEITY`
        studies; leave-one-out likewise), ``bayesian`` (for 2 to 4 studies)
        and ``small_study`` (funnel plot, Egger, Begg, trim and fill, from
        :data:`MIN_K_SMALL_STUDY`): "assessed" or "not assessed: ..." with the
        reason.
    """
    import pandas as pd

    rows = []
    for p in pools:
        if p.result is None:
            continue
        k = p.k
        studies = f"{k} {'study' if k == 1 else 'studies'}"
        het = ("assessed" if k >= MIN_K_HETEROGENEITY else
               f"not assessed: {studies} (at least {MIN_K_HETEROGENEITY} needed)")
        bayes = ("assessed (half-normal prior on tau)" if BAYES_K[0] <= k < BAYES_K[1] else
                 "not needed: REML suffices from 5 studies" if k >= BAYES_K[1] else
                 f"not assessed: {studies} (nothing to pool)")
        rows.append({"comparison": p.comparison_label, "outcome": p.outcome_label, "k": k,
                     "heterogeneity": het, "leave_one_out": het, "bayesian": bayes,
                     "small_study": p.small_study_status()})
    return pd.DataFrame(rows, columns=["comparison", "outcome", "k", "heterogeneity", "leave_one_out", "bayesian",
                                       "small_study"])
