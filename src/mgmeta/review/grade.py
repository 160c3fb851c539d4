"""GRADE certainty of evidence for one outcome of one comparison, with reasons and reviewer overrides.

:func:`rate_certainty` rates the body of evidence behind one pooled (or
single-trial) result in the five GRADE domains, from facts collected in a
:class:`GradeEvidence`, and returns a :class:`Certainty`: the level (high,
moderate, low, very low), the ⊕ symbols, the rating of every domain with the
reason for it, and a footnote for every downgraded or overridden domain. A
reviewer can replace any computed domain rating with a row of ``data/grade.csv``
(:func:`load_overrides`); the result keeps both ratings and the reviewer's
reason. :func:`plain_language` writes GRADE's informative statement.

The rules are mechanical so that they can be tested and checked line by line;
they are a starting point for the reviewers' judgement, which GRADE requires
and which the override file records. Every threshold is a module constant.

Starting level
    Randomized trials start at **high**, non-randomized studies at **low**
    (GRADE Handbook, Schünemann et al. 2013, section 5; Balshem et al. 2011,
    GRADE guidelines 3). Rating *up* non-randomized evidence (large effect,
    dose-response, plausible confounding; Handbook 5.3) is not automated: a
    reviewer records it as an override. Each domain takes 0, -1 (serious) or
    -2 (very serious) levels; the total is capped at very low (Handbook 5;
    Cochrane Handbook ch. 14.2).

Risk of bias (Handbook 5.2.1; Guyatt et al. 2011, GRADE guidelines 4; Cochrane Handbook 14.2.2)
    Judged from the share of the analysis weight that comes from studies at
    each overall RoB 2 judgement, not from a count of studies: GRADE asks how
    much of the information comes from studies at risk. Weight shares are
    percentages of the total weight (``result.weights()``).

    * -2 when more than :data:`ROB_VERY_SERIOUS_SHARE` (50 %) of the weight
      comes from studies at **high** risk: most of the information is from
      studies with a serious flaw.
    * -1 when more than :data:`ROB_SERIOUS_SHARE` (50 %) comes from studies
      *not* at low risk (high, some concerns, unclear or no information):
      most of the information cannot be shown to be at low risk.
    * otherwise 0.

Inconsistency (Handbook 5.2.2; Guyatt et al. 2011, GRADE guidelines 7; Cochrane Handbook 10.10.2)
    Not assessable for a single study (no downgrade). For two or more studies
    three signals are used:

    (a) I² ≥ :data:`I2_SERIOUS` (50 %, "substantial" in Cochrane Handbook
        10.10.2);
    (b) the prediction interval includes the null while the confidence interval
        of the pooled estimate excludes it (in some settings the effect may
        be absent or reversed; when the CI itself includes the null this is a
        matter for imprecision, and counting it again would rate the same
        concern down twice, GRADE guidelines 7);
    (c) point estimates on both sides of the null whose 95 % CIs do not
        overlap (GRADE guidelines 7: estimates differ and CIs show no overlap).

    -2 when I² ≥ :data:`I2_VERY_SERIOUS` (75 %, "considerable") together with
    (c); -1 when any of (a), (b), (c) holds; otherwise 0.

Indirectness (Handbook 5.2.3; Guyatt et al. 2011, GRADE guidelines 8)
    Each study carries ``""`` or the reason it is indirect (population,
    comparator, intervention, outcome definition; several separated by
    ``";"``). -1 when more than :data:`INDIRECT_SERIOUS_SHARE` (50 %) of the
    weight comes from indirect studies; -2 when more than that share comes from
    studies indirect in two or more respects (GRADE guidelines 8: "serious" in
    more than one respect may warrant two levels).

Imprecision (Handbook 5.2.4; Guyatt et al. 2011, GRADE guidelines 6)
    Two criteria:

    (a) the 95 % CI includes the null (0 on the analysis scale) or, when a
        decision ``threshold`` is given, the threshold;
    (b) the total size is below the optimal information size (OIS): for binary
        outcomes with a control risk, the two-group sample size that detects a
        relative risk reduction of :data:`OIS_RRR` (25 %) with two-sided alpha
        :data:`OIS_ALPHA` (0.05) and power :data:`OIS_POWER` (0.80)
        (:func:`optimal_information_size`); for binary outcomes without a control
        risk, :data:`OIS_EVENTS` (300) events (GRADE guidelines 6 rule of
        thumb); for continuous outcomes :data:`OIS_CONTINUOUS` (400)
        participants (GRADE guidelines 6 rule of thumb).

    -2 when the CI includes both appreciable benefit and appreciable harm
    (ratio measures: below :data:`APPRECIABLE_RATIO_LOW` (0.75) and above
    :data:`APPRECIABLE_RATIO_HIGH` (1.25), GRADE guidelines 6; SMD: beyond
    ±:data:`APPRECIABLE_SMD` (0.5, a moderate effect); MD and RD: beyond
    ±|threshold| when a threshold is given) or when the size is very small
    (below :data:`VERY_SMALL_OIS_FRACTION` (a quarter) of the OIS); -1 when
    (a) or (b) holds; otherwise 0.

Publication bias (Handbook 5.2.5; Guyatt et al. 2011, GRADE guidelines 5; Cochrane Handbook 13.3.5.4)
    Small-study tests are uninformative with few studies: assessed only from
    :data:`PUBLICATION_BIAS_MIN_K` (10) studies, and then -1 when the Egger test
    gives p < :data:`PUBLICATION_BIAS_ALPHA` (0.10, the level usual for tests of
    funnel-plot asymmetry). Below 10 studies: "not assessed", no downgrade.

Reviewer overrides
    A row of the override table (``outcome, comparison, domain, rating,
    reason``) replaces the computed rating of that domain for that outcome
    and comparison (matched ignoring case and surrounding spaces). Ratings are
    0, -1, -2 or the words "no serious" (also "not serious"), "serious",
    "very serious". Every row needs a reason. The :class:`Certainty` keeps the
    computed rating, the override and both reasons, and footnotes the domain.

References
----------
.. [1] Schünemann H, Brożek J, Guyatt G, Oxman A (eds). GRADE Handbook for
   grading quality of evidence and strength of recommendations. The GRADE
   Working Group, updated October 2013. https://gdt.gradepro.org/app/handbook/handbook.html
.. [2] Guyatt GH, Oxman AD, Vist G, et al. GRADE guidelines: 4. Rating the
   quality of evidence - study limitations (risk of bias). J Clin Epidemiol.
   2011;64(4):407-415. doi:10.1016/j.jclinepi.2010.07.017
.. [3] Guyatt GH, Oxman AD, Montori V, et al. GRADE guidelines: 5. Rating the
   quality of evidence - publication bias. J Clin Epidemiol.
   2011;64(12):1277-1282. doi:10.1016/j.jclinepi.2011.01.011
.. [4] Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines 6. Rating the
   quality of evidence - imprecision. J Clin Epidemiol. 2011;64(12):1283-1293.
   doi:10.1016/j.jclinepi.2011.01.012
.. [5] Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines: 7. Rating the
   quality of evidence - inconsistency. J Clin Epidemiol. 2011;64(12):1294-1302.
   doi:10.1016/j.jclinepi.2011.03.017
.. [6] Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines: 8. Rating the
   quality of evidence - indirectness. J Clin Epidemiol. 2011;64(12):1303-1310.
   doi:10.1016/j.jclinepi.2011.04.014
.. [7] Balshem H, Helfand M, Schünemann HJ, et al. GRADE guidelines: 3. Rating
   the quality of evidence. J Clin Epidemiol. 2011;64(4):401-406.
   doi:10.1016/j.jclinepi.2010.07.015
.. [8] Schünemann HJ, Higgins JPT, Vist GE, et al. Chapter 14: Completing
   'Summary of findings' tables and grading the certainty of the evidence.
   In: Higgins JPT, Thomas J, et al. (eds). Cochrane Handbook for Systematic
   Reviews of Interventions, version 6.5. Cochrane, 2024.
.. [9] Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative
   statements to communicate the findings of systematic reviews of
   interventions. J Clin Epidemiol. 2020;119:126-135.
   doi:10.1016/j.jclinepi.2019.10.014
"""
from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from mgmeta.review.data import data_path
from mgmeta._validation import study_name
from mgmeta.errors import DataError

__all__ = [
    "DOMAINS",
    "LEVELS",
    "GradeEvidence",
    "evidence_from_result",
    "DomainRating",
    "Certainty",
    "rate_certainty",
    "load_overrides",
    "plain_language",
    "effect_direction",
    "optimal_information_size",
]

#: The five GRADE domains, in the order of a GRADE evidence profile.
DOMAINS: tuple[str, ...] = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
#: Certainty levels, best first.
LEVELS: tuple[str, ...] = ("high", "moderate", "low", "very low")
_SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
_TITLES = {"risk_of_bias": "Risk of bias", "inconsistency": "Inconsistency", "indirectness": "Indirectness",
           "imprecision": "Imprecision", "publication_bias": "Publication bias"}
_WORDS = {0: "not serious", -1: "serious", -2: "very serious"}
_RATING_WORDS = {"0": 0, "-1": -1, "-2": -2, "no serious": 0, "not serious": 0, "serious": -1,
                 "very serious": -2}

#: Risk of bias: -1 when more than this percentage of the weight comes from studies not at low risk.
ROB_SERIOUS_SHARE = 50.0
#: Risk of bias: -2 when more than this percentage of the weight comes from studies at high risk.
ROB_VERY_SERIOUS_SHARE = 50.0
#: Inconsistency: I² (percent) from which heterogeneity counts as substantial (-1).
I2_SERIOUS = 50.0
#: Inconsistency: I² (percent) from which heterogeneity counts as considerable (-2 with opposite effects).
I2_VERY_SERIOUS = 75.0
#: Indirectness: -1 (or -2) when more than this percentage of the weight comes from indirect studies.
INDIRECT_SERIOUS_SHARE = 50.0
#: Imprecision: relative risk reduction of the optimal information size.
OIS_RRR = 0.25
#: Imprecision: two-sided type I error of the optimal information size.
OIS_ALPHA = 0.05
#: Imprecision: power of the optimal information size.
OIS_POWER = 0.80
#: Imprecision: optimal information size (participants) for continuous outcomes.
OIS_CONTINUOUS = 400
#: Imprecision: optimal information size (events) for binary outcomes without a control risk.
OIS_EVENTS = 300
#: Imprecision: a size below this fraction of the OIS is very small (-2).
VERY_SMALL_OIS_FRACTION = 0.25
#: Imprecision: appreciable benefit for ratio measures (natural scale).
APPRECIABLE_RATIO_LOW = 0.75
#: Imprecision: appreciable harm for ratio measures (natural scale).
APPRECIABLE_RATIO_HIGH = 1.25
#: Imprecision: appreciable effect for the SMD (a moderate effect).
APPRECIABLE_SMD = 0.5
#: Publication bias: fewest studies for a small-study test (Cochrane Handbook 13.3.5.4).
PUBLICATION_BIAS_MIN_K = 10
#: Publication bias: Egger p-value below which small-study effects are suspected.
PUBLICATION_BIAS_ALPHA = 0.10
#: Effects smaller than this (analysis scale) read as "little or no difference" when the CI includes no
#: effect: ratio measures between 0.8 and 1.25 (log 1.25), an SMD below 0.2 (a small effect, Cohen), a
#: risk difference below 2 percentage points. MD and ROM have no band without an outcome-specific MID.
TRIVIAL_EFFECT = {"OR": math.log(1.25), "RR": math.log(1.25), "PETO": math.log(1.25), "SMD": 0.2, "RD": 0.02}

_MEASURES = ("OR", "RR", "RD", "PETO", "MD", "SMD", "ROM")
_RATIO = ("OR", "RR", "PETO", "ROM")
_BINARY = ("OR", "RR", "RD", "PETO")
_ROB_VALUES = ("low", "some concerns", "high", "unclear", "no information")
_Z975 = 1.959963984540054
_OVERRIDE_COLUMNS = ("outcome", "comparison", "domain", "rating", "reason")
_OVERRIDE_FILE = "grade.csv"


# --------------------------------------------------------------------------------------------
# value types
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GradeEvidence:
    """The facts one GRADE rating rests on, all plain values.

    Attributes
    ----------
    comparison : str
        The comparison in words, e.g. ``"IV magnesium vs placebo"``.
    outcome : str
        The outcome and time point in words, e.g. ``"Pain relief at 30 min"``.
    measure : str
        Effect measure: ``"OR" "RR" "RD" "PETO" "MD" "SMD" "ROM"``.
    k : int
        Number of studies.
    estimate, ci_lower, ci_upper : float
        Pooled estimate and its 95 % CI on the analysis scale (log scale for
        ratio measures, so the null is 0 for every measure).
    yi, vi : tuple of float, shape (k,)
        Study estimates and sampling variances on the analysis scale.
    weights : tuple of float, shape (k,)
        Weight of each study in the analysis, as a percentage of the total
        (``result.weights()``); rescaled to sum to 100 if they do not.
    rob : tuple of str, shape (k,)
        Overall RoB 2 judgement of each study: ``"low"``, ``"some concerns"``,
        ``"high"``, ``"unclear"`` or ``"no information"``.
    indirect : tuple of str, shape (k,)
        ``""`` for a direct study, else why it is indirect (population,
        comparator, intervention, outcome definition; several separated by ``";"``).
    pi_lower, pi_upper : float, optional
        95 % prediction interval on the analysis scale.
    i2 : float, optional
        I² as a percentage (0-100), as metafor and Cochrane report it.
    participants : int, optional
        Participants in the analysis (each counted once).
    events : int, optional
        Total events (binary outcomes).
    control_risk : float, optional
        Risk in the control groups (0-1), for the optimal information size.
    randomized : bool
        True for randomized trials (start at high), False otherwise (start at low).
    small_study_p : float, optional
        p-value of Egger's test; used only when ``k >= 10``.
    threshold : float, optional
        Decision threshold on the analysis scale (e.g. ``log(0.9)``); default:
        none beyond the null.
    studies : tuple of str, optional
        Study labels, shape (k,), used in messages and footnotes.
    """

    comparison: str
    outcome: str
    measure: str
    k: int
    estimate: float
    ci_lower: float
    ci_upper: float
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    weights: tuple[float, ...]
    rob: tuple[str, ...]
    indirect: tuple[str, ...]
    pi_lower: float | None = None
    pi_upper: float | None = None
    i2: float | None = None
    participants: int | None = None
    events: int | None = None
    control_risk: float | None = None
    randomized: bool = True
    small_study_p: float | None = None
    threshold: float | None = None
    studies: tuple[str, ...] = ()


def _per_study(values: Mapping[str, Any] | Sequence[Any] | None, labels: Sequence[str], name: str,
               default: str | None) -> tuple[str, ...]:
    if values is None:
        if default is None:
            raise DataError(f"{name} is required (one value per study, or a mapping from study label)", field=name)
        return tuple(default for _ in labels)
    if isinstance(values, Mapping):
        missing = [lab for lab in labels if lab not in values]
        if missing:
            raise DataError(f"study {missing[0]!r}: no {name} given (the mapping has "
                            f"{', '.join(map(repr, values))})", study=missing[0], field=name)
        return tuple(str(values[lab]) for lab in labels)
    if isinstance(values, str):
        raise DataError(f"{name} must be one value per study or a mapping from study label, not a string",
                        field=name)
    out = tuple("" if v is None else str(v) for v in values)
    if len(out) != len(labels):
        raise DataError(f"{name} has {len(out)} entries but the analysis has {len(labels)} studies", field=name)
    return out


def evidence_from_result(result: Any, *, comparison: str, outcome: str,
                         rob: Mapping[str, str] | Sequence[str],
                         indirect: Mapping[str, str] | Sequence[str] | None = None,
                         participants: int | None = None, events: int | None = None,
                         control_risk: float | None = None, randomized: bool = True,
                         small_study_p: float | None = None, threshold: float | None = None,
                         measure: str | None = None) -> GradeEvidence:
    """The :class:`GradeEvidence` of a fitted meta-analysis.

    Parameters
    ----------
    result : MetaAnalysisResult
        A 95 % fit (:func:`mgmeta.meta_analysis`); estimate, CI, prediction
        interval, I², study estimates, variances, weights (percent) and labels
        are taken from it.
    comparison, outcome : str
        The comparison and the outcome (with time point) in words.
    rob : mapping or sequence of str
        Overall risk of bias per study: a mapping from study label (safest) or
        one value per study in the order of the fit.
    indirect : mapping or sequence of str, optional
        Reason each study is indirect, ``""`` for direct; default: all direct.
    participants, events, control_risk : optional
        Participants (each counted once: a crossover trial's people once, a
        shared control arm once), total events and control-group risk; they
        are not inferred from the arm data because only the review knows the
        unit of analysis.
    randomized, small_study_p, threshold
        As in :class:`GradeEvidence` (``small_study_p`` is used only from 10 studies).
    measure : str, optional
        Effect measure when the fit does not know it (fits of raw ``yi``).

    Returns
    -------
    GradeEvidence

    Raises
    ------
    DataError
        When the fit is not at the 95 % level, the measure is unknown, or a
        study has no risk-of-bias judgement.

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.review.grade import evidence_from_result, rate_certainty
    >>> res = mgmeta.meta_analysis([0.8, 0.6], [0.25, 0.30], labels=["Trial A", "Trial B"], measure="OR")
    >>> ev = evidence_from_result(res, comparison="IV magnesium vs placebo", outcome="Pain relief at 30 min",
    ...                           rob={"Trial B": "low", "Trial A": "unclear"}, participants=300,
    ...                           control_risk=0.35)
    >>> ev.rob, round(ev.weights[0], 1)
    (('unclear', 'low'), 54.5)
    >>> rate_certainty(ev).level
    'low'
    """
    level = float(getattr(result, "level", 0.95))
    if abs(level - 0.95) > 1e-12:
        raise DataError(f"GRADE uses 95% confidence intervals; the fit has level {level:g}", field="level")
    measure = measure if measure is not None else getattr(result, "measure", None)
    if measure not in _MEASURES:
        raise DataError(f"unknown measure {measure!r}; give measure= one of {', '.join(_MEASURES)}",
                        field="measure")
    k = int(result.k)
    labels = [str(x) for x in result.labels] if getattr(result, "labels", None) else \
        [f"study {i + 1}" for i in range(k)]
    pi_lo, pi_hi = getattr(result, "pi_lower", None), getattr(result, "pi_upper", None)
    if pi_lo is not None and pi_hi is not None and not (math.isfinite(pi_lo) and math.isfinite(pi_hi)):
        pi_lo = pi_hi = None
    i2 = getattr(result, "i2", None)
    weights = result.weights
    return GradeEvidence(
        comparison=comparison, outcome=outcome, measure=str(measure), k=k,
        estimate=float(result.estimate), ci_lower=float(result.ci_lower), ci_upper=float(result.ci_upper),
        yi=tuple(float(x) for x in np.asarray(result.yi, dtype=float)),
        vi=tuple(float(x) for x in np.asarray(result.vi, dtype=float)),
        weights=tuple(float(x) for x in np.asarray(weights() if callable(weights) else weights, dtype=float)),
        rob=_per_study(rob, labels, "rob", None), indirect=_per_study(indirect, labels, "indirect", ""),
        pi_lower=None if pi_lo is None else float(pi_lo), pi_upper=None if pi_hi is None else float(pi_hi),
        i2=None if i2 is None or not math.isfinite(float(i2)) else float(i2),
        participants=participants, events=events, control_risk=control_risk, randomized=randomized,
        small_study_p=small_study_p, threshold=threshold, studies=tuple(labels))


@dataclass(frozen=True)
class DomainRating:
    """The rating of one GRADE domain.

    Attributes
    ----------
    domain : str
        One of :data:`DOMAINS`.
    computed : int
        Levels the rules take off: 0, -1 (serious) or -2 (very serious).
    rating : int
        Levels taken off in the end: the override when there is one, else ``computed``.
    reason : str
        Why the rules gave ``computed``, in words.
    override_reason : str or None
        The reviewer's reason when an override replaced the computed rating.
    """

    domain: str
    computed: int
    rating: int
    reason: str
    override_reason: str | None

    @property
    def overridden(self) -> bool:
        """True when a reviewer's override set the rating."""
        return self.override_reason is not None


@dataclass(frozen=True)
class Certainty:
    """GRADE certainty of the evidence for one outcome of one comparison.

    Attributes
    ----------
    comparison, outcome : str
        As in the :class:`GradeEvidence`.
    start : str
        ``"high"`` (randomized trials) or ``"low"`` (non-randomized studies).
    domains : tuple of DomainRating
        One per domain, in the order of :data:`DOMAINS`.
    level : str
        One of :data:`LEVELS`.
    symbols : str
        ``"⊕⊕⊕⊕"``, ``"⊕⊕⊕◯"``, ``"⊕⊕◯◯"`` or ``"⊕◯◯◯"``.
    footnotes : tuple of str
        One per downgraded or overridden domain, in words.
    reasons : str
        The footnotes joined by ``"; "`` (for a CSV column); ``""`` if none.
    """

    comparison: str
    outcome: str
    start: str
    domains: tuple[DomainRating, ...]
    level: str
    symbols: str
    footnotes: tuple[str, ...]
    reasons: str

    def domain(self, name: str) -> DomainRating:
        """The rating of one domain by name (one of :data:`DOMAINS`)."""
        for d in self.domains:
            if d.domain == name:
                return d
        raise DataError(f"unknown GRADE domain {name!r}; expected one of {', '.join(DOMAINS)}", field="domain")

    def to_frame(self) -> pd.DataFrame:
        """One row per domain.

        Returns
        -------
        pandas.DataFrame
            Columns ``domain``, ``computed`` (0, -1, -2), ``override`` (the
            reviewer's rating, ``<NA>`` when none), ``rating`` (the one used),
            ``reason`` (why the rules gave ``computed``) and
            ``override_reason`` (``""`` when none).
        """
        return pd.DataFrame({
            "domain": [d.domain for d in self.domains],
            "computed": [d.computed for d in self.domains],
            "override": pd.array([d.rating if d.overridden else None for d in self.domains], dtype="Int64"),
            "rating": [d.rating for d in self.domains],
            "reason": [d.reason for d in self.domains],
            "override_reason": [d.override_reason or "" for d in self.domains],
        })

    def __str__(self) -> str:
        lines = [f"{self.comparison}: {self.outcome}",
                 f"Certainty: {self.level} {self.symbols} (start: {self.start})"]
        for d in self.domains:
            tag = f" [override; computed {_WORDS[d.computed]}]" if d.overridden else ""
            lines.append(f"  {_TITLES[d.domain]:<17} {_WORDS[d.rating]}{tag}: {d.reason}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{x:.0f}%"


def _includes(lo: float, hi: float, x: float) -> bool:
    return lo <= x <= hi


def _label(ev: GradeEvidence, i: int) -> str:
    """How a footnote names study i: its label, or its position."""
    return ev.studies[i] if ev.studies else f"study at position {i}"


def _who(ev: GradeEvidence, i: int) -> str:
    """How an error message names study i (as everywhere in mgmeta)."""
    return study_name(list(ev.studies) if ev.studies else None, i)


def optimal_information_size(control_risk: float, rrr: float = OIS_RRR, alpha: float = OIS_ALPHA,
                             power: float = OIS_POWER) -> int:
    """Optimal information size for a binary outcome: total participants of a two-arm trial.

    Parameters
    ----------
    control_risk : float
        Risk in the control group, strictly between 0 and 1.
    rrr : float
        Relative risk reduction to detect (default 0.25).
    alpha : float
        Two-sided type I error (default 0.05).
    power : float
        Power (default 0.80).

    Returns
    -------
    int
        ``2 * ceil(n)`` with the per-group size
        ``n = (z_{1-alpha/2} + z_{power})^2 * (p0 (1 - p0) + p1 (1 - p1)) / (p0 - p1)^2``
        and ``p1 = p0 (1 - rrr)`` (GRADE guidelines 6).

    Raises
    ------
    DataError
        When an argument is out of range.

    Examples
    --------
    >>> optimal_information_size(0.5)
    488
    >>> optimal_information_size(0.2)
    1806
    """
    for name, value in (("control_risk", control_risk), ("rrr", rrr), ("alpha", alpha), ("power", power)):
        if not isinstance(value, (int, float)) or not 0 < float(value) < 1:
            raise DataError(f"{name} must lie strictly between 0 and 1, got {value!r}", field=name)
    p0 = float(control_risk)
    p1 = p0 * (1 - float(rrr))
    z = NormalDist().inv_cdf(1 - float(alpha) / 2) + NormalDist().inv_cdf(float(power))
    n = z * z * (p0 * (1 - p0) + p1 * (1 - p1)) / (p0 - p1) ** 2
    return 2 * math.ceil(n - 1e-9)


def _check_evidence(ev: GradeEvidence) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str]]:
    if not isinstance(ev, GradeEvidence):
        raise DataError(f"evidence must be a GradeEvidence, got {type(ev).__name__}", field="evidence")
    if ev.measure not in _MEASURES:
        raise DataError(f"unknown measure {ev.measure!r}; expected one of {', '.join(_MEASURES)}", field="measure")
    if not isinstance(ev.k, (int, np.integer)) or isinstance(ev.k, bool) or ev.k < 1:
        raise DataError(f"k must be a whole number of at least 1, got {ev.k!r}", field="k")
    k = int(ev.k)
    for name in ("yi", "vi", "weights", "rob", "indirect"):
        if len(getattr(ev, name)) != k:
            raise DataError(f"{name} has {len(getattr(ev, name))} entries but k is {k}", field=name)
    if ev.studies and len(ev.studies) != k:
        raise DataError(f"studies has {len(ev.studies)} entries but k is {k}", field="studies")
    for name in ("estimate", "ci_lower", "ci_upper"):
        value = getattr(ev, name)
        if not isinstance(value, (int, float, np.floating)) or not math.isfinite(float(value)):
            raise DataError(f"{name} must be a finite number, got {value!r}", field=name)
    if not ev.ci_lower <= ev.estimate <= ev.ci_upper:
        raise DataError(f"the estimate ({ev.estimate:g}) must lie within its CI ({ev.ci_lower:g} to "
                        f"{ev.ci_upper:g}); give all three on the analysis scale", field="estimate")
    if (ev.pi_lower is None) != (ev.pi_upper is None):
        raise DataError("give both prediction-interval limits or neither", field="pi_lower")
    if ev.pi_lower is not None and ev.pi_upper is not None and not ev.pi_lower <= ev.pi_upper:
        raise DataError(f"pi_lower ({ev.pi_lower:g}) exceeds pi_upper ({ev.pi_upper:g})", field="pi_lower")
    if ev.i2 is not None and not 0 <= ev.i2 <= 100:
        raise DataError(f"i2 is a percentage between 0 and 100, got {ev.i2!r}", field="i2")
    if ev.participants is not None and ev.participants < 1:
        raise DataError(f"participants must be at least 1, got {ev.participants!r}", field="participants")
    if ev.events is not None and ev.events < 0:
        raise DataError(f"events must not be negative, got {ev.events!r}", field="events")
    if ev.control_risk is not None and not 0 < ev.control_risk < 1:
        raise DataError(f"control_risk must lie strictly between 0 and 1, got {ev.control_risk!r}",
                        field="control_risk")
    if ev.small_study_p is not None and not 0 <= ev.small_study_p <= 1:
        raise DataError(f"small_study_p must lie between 0 and 1, got {ev.small_study_p!r}", field="small_study_p")
    yi = np.asarray(ev.yi, dtype=float)
    vi = np.asarray(ev.vi, dtype=float)
    w = np.asarray(ev.weights, dtype=float)
    for name, arr in (("yi", yi), ("vi", vi), ("weights", w)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise DataError(f"{_who(ev, int(bad[0]))}: {name} is not a finite number ({arr[bad[0]]!r})",
                            study=_label(ev, int(bad[0])), field=name)
    bad = np.flatnonzero(vi <= 0)
    if bad.size:
        raise DataError(f"{_who(ev, int(bad[0]))}: vi must be positive, got {vi[bad[0]]:g}",
                        study=_label(ev, int(bad[0])), field="vi")
    bad = np.flatnonzero(w < 0)
    if bad.size:
        raise DataError(f"{_who(ev, int(bad[0]))}: weights must not be negative, got {w[bad[0]]:g}",
                        study=_label(ev, int(bad[0])), field="weights")
    if not w.sum() > 0:
        raise DataError("weights add up to 0", field="weights")
    rob = []
    for i, r in enumerate(ev.rob):
        value = str(r).strip().lower()
        if value not in _ROB_VALUES:
            raise DataError(f"{_who(ev, i)}: unknown risk-of-bias judgement {r!r}; expected one of "
                            f"{', '.join(_ROB_VALUES)}", study=_label(ev, i), field="rob")
        rob.append(value)
    indirect = []
    for i, r in enumerate(ev.indirect):
        if r is None or (isinstance(r, float) and math.isnan(r)):
            r = ""
        if not isinstance(r, str):
            raise DataError(f"{_who(ev, i)}: indirect must be '' or a reason, got {r!r}",
                            study=_label(ev, i), field="indirect")
        indirect.append(r.strip())
    return yi, vi, 100 * w / w.sum(), rob, indirect


# --------------------------------------------------------------------------------------------
# the five domains
# --------------------------------------------------------------------------------------------

def _risk_of_bias(ev: GradeEvidence, share: np.ndarray, rob: list[str]) -> tuple[int, str]:
    r = np.asarray(rob)
    high = float(share[r == "high"].sum())
    not_low = float(share[r != "low"].sum())
    unclear = float(share[np.isin(r, ("unclear", "no information"))].sum())
    concerns = float(share[r == "some concerns"].sum())
    split = f"high {_pct(high)}, some concerns {_pct(concerns)}, unclear {_pct(unclear)}"
    if high > ROB_VERY_SERIOUS_SHARE:
        return -2, f"{_pct(high)} of the weight from studies at high risk of bias (more than " \
                   f"{ROB_VERY_SERIOUS_SHARE:g}%)"
    if not_low > ROB_SERIOUS_SHARE:
        return -1, f"{_pct(not_low)} of the weight from studies not at low risk of bias (more than " \
                   f"{ROB_SERIOUS_SHARE:g}%; {split})"
    return 0, f"{_pct(100 - not_low)} of the weight from studies at low risk of bias (not at low risk: " \
              f"{_pct(not_low)}, not more than {ROB_SERIOUS_SHARE:g}%)"


def _inconsistency(ev: GradeEvidence, yi: np.ndarray, vi: np.ndarray) -> tuple[int, str]:
    if ev.k < 2:
        return 0, "not assessable, single study"
    signals = []
    i2_high = ev.i2 is not None and ev.i2 >= I2_SERIOUS
    if i2_high:
        signals.append(f"I² = {ev.i2:.0f}% (at least {I2_SERIOUS:g}%)")
    if ev.pi_lower is not None and ev.pi_upper is not None:
        if _includes(ev.pi_lower, ev.pi_upper, 0.0) and not _includes(ev.ci_lower, ev.ci_upper, 0.0):
            signals.append("the prediction interval includes no effect although the confidence interval excludes it")
    lo = yi - _Z975 * np.sqrt(vi)
    hi = yi + _Z975 * np.sqrt(vi)
    pos, neg = yi > 0, yi < 0
    opposite = bool(pos.any() and neg.any() and lo[pos].max() > hi[neg].min())
    if opposite:
        i = int(np.flatnonzero(pos)[np.argmax(lo[pos])])
        j = int(np.flatnonzero(neg)[np.argmin(hi[neg])])
        signals.append(f"point estimates on both sides of no effect with non-overlapping confidence intervals "
                       f"({_label(ev, i)} and {_label(ev, j)})")
    if opposite and ev.i2 is not None and ev.i2 >= I2_VERY_SERIOUS:
        return -2, f"I² = {ev.i2:.0f}% (at least {I2_VERY_SERIOUS:g}%) with " + signals[-1]
    if signals:
        return -1, "; ".join(signals)
    i2_text = "I² not available" if ev.i2 is None else f"I² = {ev.i2:.0f}%"
    return 0, f"{i2_text}; no point estimates on opposite sides with non-overlapping confidence intervals"


def _indirectness(ev: GradeEvidence, share: np.ndarray, indirect: list[str]) -> tuple[int, str]:
    flagged = np.array([bool(r) for r in indirect])
    kinds = np.array([len({p.strip() for p in r.split(";") if p.strip()}) for r in indirect])
    ind = float(share[flagged].sum())
    double = float(share[kinds >= 2].sum())
    reasons = sorted({p.strip() for r in indirect for p in r.split(";") if p.strip()})
    what = f" ({'; '.join(reasons)})" if reasons else ""
    if double > INDIRECT_SERIOUS_SHARE:
        return -2, f"{_pct(double)} of the weight from studies indirect in two or more respects{what}"
    if ind > INDIRECT_SERIOUS_SHARE:
        return -1, f"{_pct(ind)} of the weight from indirect studies{what}"
    if ind > 0:
        return 0, f"{_pct(ind)} of the weight from indirect studies{what} (not more than " \
                  f"{INDIRECT_SERIOUS_SHARE:g}%)"
    return 0, "all studies direct (population, intervention, comparator and outcome as in the question)"


def _imprecision(ev: GradeEvidence) -> tuple[int, str]:
    reasons: list[str] = []
    very: list[str] = []
    crosses = False
    if _includes(ev.ci_lower, ev.ci_upper, 0.0):
        crosses = True
        reasons.append("the confidence interval includes no effect")
    if ev.threshold is not None and ev.threshold != 0 and _includes(ev.ci_lower, ev.ci_upper, ev.threshold):
        crosses = True
        reasons.append(f"the confidence interval includes the decision threshold ({ev.threshold:g} on the "
                       "analysis scale)")
    # appreciable benefit and harm
    if ev.measure in _RATIO:
        lo_app, hi_app = math.log(APPRECIABLE_RATIO_LOW), math.log(APPRECIABLE_RATIO_HIGH)
        app_text = f"ratio {APPRECIABLE_RATIO_LOW:g} and {APPRECIABLE_RATIO_HIGH:g}"
    elif ev.measure == "SMD":
        lo_app, hi_app = -APPRECIABLE_SMD, APPRECIABLE_SMD
        app_text = f"SMD -{APPRECIABLE_SMD:g} and {APPRECIABLE_SMD:g}"
    elif ev.threshold is not None and ev.threshold != 0:
        lo_app, hi_app = -abs(ev.threshold), abs(ev.threshold)
        app_text = f"{ev.measure} -{abs(ev.threshold):g} and {abs(ev.threshold):g}"
    else:
        lo_app = hi_app = math.nan
        app_text = ""
    if app_text and ev.ci_lower <= lo_app and ev.ci_upper >= hi_app:
        very.append(f"the confidence interval includes appreciable benefit and appreciable harm ({app_text})")
    # optimal information size
    below = False
    if ev.measure in _BINARY:
        if ev.control_risk is not None and ev.participants is not None:
            ois = optimal_information_size(ev.control_risk)
            size, unit, basis = ev.participants, "participants", \
                f"control risk {ev.control_risk:.0%}, relative risk reduction {OIS_RRR:.0%}, " \
                f"alpha {OIS_ALPHA:g}, power {OIS_POWER:.0%}"
        elif ev.control_risk is None and ev.events is not None:
            ois, size, unit, basis = OIS_EVENTS, ev.events, "events", "rule of thumb for binary outcomes"
        else:
            ois = None
    else:
        if ev.participants is not None:
            ois, size, unit, basis = OIS_CONTINUOUS, ev.participants, "participants", \
                "rule of thumb for continuous outcomes"
        else:
            ois = None
    if ois is None:
        ois_text = "optimal information size not assessed (participants, events or control risk not given)"
    else:
        ois_text = f"{size} {unit} against an optimal information size of {ois} ({basis})"
        if size < VERY_SMALL_OIS_FRACTION * ois:
            very.append(f"very small: {ois_text}, less than a quarter of it")
        elif size < ois:
            below = True
            reasons.append(f"{ois_text}, below it")
    if very:
        return -2, "; ".join(very + reasons)
    if crosses or below:
        return -1, "; ".join(reasons)
    return 0, "the confidence interval excludes no effect" + \
        ("" if ev.threshold is None or ev.threshold == 0 else " and the decision threshold") + f"; {ois_text}"


def _publication_bias(ev: GradeEvidence) -> tuple[int, str]:
    if ev.k < PUBLICATION_BIAS_MIN_K:
        return 0, f"not assessed: {ev.k} {'study' if ev.k == 1 else 'studies'} " \
                  f"(at least {PUBLICATION_BIAS_MIN_K} needed)"
    if ev.small_study_p is None:
        return 0, f"not assessed: no small-study test result given ({ev.k} studies)"
    p = ev.small_study_p
    ptext = "<0.001" if p < 0.001 else f"{p:.3f}"
    if p < PUBLICATION_BIAS_ALPHA:
        return -1, f"Egger test p = {ptext} (below {PUBLICATION_BIAS_ALPHA:g}): small-study effects suspected"
    return 0, f"Egger test p = {ptext} (not below {PUBLICATION_BIAS_ALPHA:g})"


# --------------------------------------------------------------------------------------------
# overrides
# --------------------------------------------------------------------------------------------

def _parse_rating(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if int(value) in (0, -1, -2) else None
    if isinstance(value, (float, np.floating)):
        return int(value) if math.isfinite(value) and float(value) in (0.0, -1.0, -2.0) else None
    if isinstance(value, str):
        return _RATING_WORDS.get(" ".join(value.strip().lower().split()))
    return None


def _key(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


def _check_overrides(overrides: pd.DataFrame, where: str = "overrides") -> pd.DataFrame:
    """Validate an override table and return it with integer ratings (raises DataError naming the row)."""
    if not isinstance(overrides, pd.DataFrame):
        raise DataError(f"overrides must be a pandas DataFrame, got {type(overrides).__name__}", field="overrides")
    missing = [c for c in _OVERRIDE_COLUMNS if c not in overrides.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)}; expected "
                        f"{', '.join(_OVERRIDE_COLUMNS)}", field=missing[0])
    rows = []
    seen: dict[tuple[str, str, str], int] = {}
    for pos, (_, row) in enumerate(overrides.iterrows()):
        name = f"{where} line {pos + 2}" if where.endswith(".csv") else f"{where} row {pos}"
        values = {c: row[c] for c in _OVERRIDE_COLUMNS}
        for c in ("outcome", "comparison", "domain", "reason"):
            v = values[c]
            if v is None or (isinstance(v, float) and math.isnan(v)) or not str(v).strip():
                raise DataError(f"{name} (outcome {values['outcome']!r}, comparison {values['comparison']!r}, "
                                f"domain {values['domain']!r}): {c} is empty"
                                + ("; every override needs the reviewer's reason" if c == "reason" else ""),
                                field=c)
        domain = str(values["domain"]).strip()
        if domain not in DOMAINS:
            raise DataError(f"{name} (outcome {values['outcome']!r}, comparison {values['comparison']!r}): "
                            f"unknown domain {values['domain']!r}; expected one of {', '.join(DOMAINS)}",
                            field="domain")
        rating = _parse_rating(values["rating"])
        if rating is None:
            raise DataError(f"{name} (outcome {values['outcome']!r}, comparison {values['comparison']!r}, "
                            f"domain {domain!r}): unknown rating {values['rating']!r}; expected 0, -1, -2, "
                            "'no serious', 'serious' or 'very serious'", field="rating")
        key = (_key(values["outcome"]), _key(values["comparison"]), domain)
        if key in seen:
            raise DataError(f"{name} (outcome {values['outcome']!r}, comparison {values['comparison']!r}, "
                            f"domain {domain!r}): a second override of the same domain (first in row "
                            f"{seen[key]})", field="domain")
        seen[key] = pos
        rows.append({"outcome": str(values["outcome"]).strip(), "comparison": str(values["comparison"]).strip(),
                     "domain": domain, "rating": rating, "reason": str(values["reason"]).strip()})
    frame = pd.DataFrame(rows, columns=list(_OVERRIDE_COLUMNS))
    frame["rating"] = frame["rating"].astype(int)
    return frame


def load_overrides(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The reviewers' GRADE overrides of a data folder (``grade.csv``), validated.

    Parameters
    ----------
    path : str or path-like, optional
        Data folder (or its ``datapackage.json``), as for
        :func:`mgmeta.review.data.data_path`: by default ``MGMETA_DATA`` or the
        repository's ``data/``.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome``, ``comparison``, ``domain``, ``rating`` (int: 0,
        -1 or -2; the words "no serious", "serious", "very serious" are
        converted) and ``reason``. Empty when no reviewer has overridden anything.

    Raises
    ------
    DataError
        When the file is missing, or a row has an empty field, an unknown domain
        or rating, or repeats an override; the message names the line.

    Examples
    --------
    >>> load_overrides().columns.tolist()
    ['outcome', 'comparison', 'domain', 'rating', 'reason']
    """
    file = data_path(path) / _OVERRIDE_FILE
    try:
        with open(file, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise DataError(f"{file}: GRADE override file not found (a header-only file means no overrides)",
                        field="path") from None
    if not rows:
        raise DataError(f"{file}: the file is empty (expected the header {','.join(_OVERRIDE_COLUMNS)})",
                        field="path")
    header = [h.strip() for h in rows[0]]
    if tuple(header) != _OVERRIDE_COLUMNS:
        raise DataError(f"{file}: header {header} differs from {list(_OVERRIDE_COLUMNS)}", field="path")
    for i, values in enumerate(rows[1:]):
        if len(values) != len(header):
            raise DataError(f"{_OVERRIDE_FILE} line {i + 2}: {len(values)} fields, the header has {len(header)}",
                            field="path")
    frame = pd.DataFrame(rows[1:], columns=header, dtype=object)
    return _check_overrides(frame, _OVERRIDE_FILE)


# --------------------------------------------------------------------------------------------
# the rating
# --------------------------------------------------------------------------------------------

def _footnote(d: DomainRating) -> str:
    title = _TITLES[d.domain]
    levels = {0: "not downgraded", -1: "downgraded one level", -2: "downgraded two levels"}
    if d.overridden:
        return (f"{title}: {_WORDS[d.rating]}, {levels[d.rating]} (reviewer judgement: {d.override_reason}; "
                f"the rules gave {_WORDS[d.computed]}: {d.reason})")
    return f"{title}: {_WORDS[d.rating]}, {levels[d.rating]} ({d.reason})"


def rate_certainty(evidence: GradeEvidence, overrides: pd.DataFrame | None = None) -> Certainty:
    """Rate the certainty of the evidence for one outcome of one comparison (GRADE).

    Parameters
    ----------
    evidence : GradeEvidence
        The facts of the analysis (pooled result, study estimates, weights,
        risk of bias, indirectness, size).
    overrides : pandas.DataFrame, optional
        Reviewer overrides with columns ``outcome, comparison, domain, rating,
        reason`` (:func:`load_overrides`). Rows for other outcomes or
        comparisons are ignored; every row is validated.

    Returns
    -------
    Certainty
        Level, symbols, the five domain ratings with reasons, and footnotes.

    Raises
    ------
    DataError
        On inconsistent evidence (lengths, CI, unknown measure or risk-of-bias
        judgement) or a bad override row (named).

    Notes
    -----
    The rules, thresholds and references are in the module docstring
    (:mod:`mgmeta.review.grade`). The level is the starting level (high for
    randomized trials, low otherwise) lowered by the sum of the domain
    ratings, and never below very low.

    Examples
    --------
    Two small placebo-controlled trials at unclear risk of bias, pooled as a
    log odds ratio of 0.69 (OR 2.0) with a CI from -0.05 to 1.43:

    >>> from mgmeta.review.grade import GradeEvidence, rate_certainty
    >>> ev = GradeEvidence(
    ...     comparison="IV magnesium vs placebo", outcome="Pain relief at 30 min", measure="OR",
    ...     k=2, estimate=0.69, ci_lower=-0.05, ci_upper=1.43,
    ...     yi=(0.8, 0.6), vi=(0.25, 0.30), weights=(60.0, 40.0),
    ...     rob=("unclear", "low"), indirect=("", ""), i2=0.0,
    ...     participants=300, events=90, control_risk=0.35, studies=("Trial A", "Trial B"))
    >>> c = rate_certainty(ev)
    >>> c.level, c.symbols
    ('low', '⊕⊕◯◯')
    >>> [(d.domain, d.rating) for d in c.domains]
    [('risk_of_bias', -1), ('inconsistency', 0), ('indirectness', 0), ('imprecision', -1), ('publication_bias', 0)]
    >>> print(c.footnotes[0])  # doctest: +NORMALIZE_WHITESPACE
    Risk of bias: serious, downgraded one level (60% of the weight from studies not at
    low risk of bias (more than 50%; high 0%, some concerns 0%, unclear 60%))
    """
    yi, vi, share, rob, indirect = _check_evidence(evidence)
    computed = {
        "risk_of_bias": _risk_of_bias(evidence, share, rob),
        "inconsistency": _inconsistency(evidence, yi, vi),
        "indirectness": _indirectness(evidence, share, indirect),
        "imprecision": _imprecision(evidence),
        "publication_bias": _publication_bias(evidence),
    }
    chosen: dict[str, tuple[int, str]] = {}
    if overrides is not None:
        table = _check_overrides(overrides)
        mine = table[(table["outcome"].map(_key) == _key(evidence.outcome))
                     & (table["comparison"].map(_key) == _key(evidence.comparison))]
        for _, row in mine.iterrows():
            chosen[str(row["domain"])] = (int(row["rating"]), str(row["reason"]))
    domains = []
    for name in DOMAINS:
        rating, reason = computed[name]
        if name in chosen:
            domains.append(DomainRating(name, rating, chosen[name][0], reason, chosen[name][1]))
        else:
            domains.append(DomainRating(name, rating, rating, reason, None))
    start = "high" if evidence.randomized else "low"
    index = LEVELS.index(start) - sum(d.rating for d in domains)
    level = LEVELS[min(index, len(LEVELS) - 1)]
    footnotes = tuple(_footnote(d) for d in domains if d.rating < 0 or d.overridden)
    return Certainty(comparison=evidence.comparison, outcome=evidence.outcome, start=start,
                     domains=tuple(domains), level=level, symbols=_SYMBOLS[level], footnotes=footnotes,
                     reasons="; ".join(footnotes))


# --------------------------------------------------------------------------------------------
# words
# --------------------------------------------------------------------------------------------

_DIRECTIONS = ("increase", "decrease", "little or no difference")


def effect_direction(estimate: float, ci_lower: float, ci_upper: float, measure: str) -> str:
    """Direction of an effect for a plain-language statement.

    Parameters
    ----------
    estimate, ci_lower, ci_upper : float
        Estimate and CI on the analysis scale (log scale for ratio measures,
        so that no effect is 0 for every measure).
    measure : str
        ``"OR" "RR" "RD" "PETO" "MD" "SMD" "ROM"``.

    Returns
    -------
    str
        ``"increase"`` or ``"decrease"`` when the CI lies wholly above or below
        no effect, or when it includes no effect but the point estimate lies
        beyond :data:`TRIVIAL_EFFECT` (the statement's certainty, lowered for
        imprecision, tells how sure the reader can be); else ``"little or no
        difference"``.

    Examples
    --------
    >>> import math
    >>> effect_direction(math.log(0.43), math.log(0.17), math.log(1.09), "OR")
    'decrease'
    >>> effect_direction(math.log(0.95), math.log(0.5), math.log(1.8), "OR")
    'little or no difference'
    >>> effect_direction(-2.1, -2.9, -1.3, "MD")
    'decrease'
    """
    if measure not in _MEASURES:
        raise DataError(f"unknown measure {measure!r}; expected one of {', '.join(_MEASURES)}", field="measure")
    values = []
    for name, v in (("estimate", estimate), ("ci_lower", ci_lower), ("ci_upper", ci_upper)):
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise DataError(f"{name} must be a number, got {v!r}", field=name) from None
        if not math.isfinite(x):
            raise DataError(f"{name} must be a finite number, got {v!r}", field=name)
        values.append(x)
    est, lo, hi = values
    if not lo <= est <= hi:
        raise DataError(f"the estimate ({est:g}) must lie within its CI ({lo:g} to {hi:g})", field="estimate")
    if lo > 0:
        return "increase"
    if hi < 0:
        return "decrease"
    # The CI includes no effect: the statement follows the point estimate unless it is trivially small
    # (Santesso et al. 2020: imprecision lowers the certainty, which the statement's verb carries; "little
    # or no difference" is for estimates close to no effect). Without a trivial band for the measure
    # (MD, ROM), a CI that includes no effect reads as little or no difference.
    band = TRIVIAL_EFFECT.get(measure)
    if band is None or abs(est) < band:
        return "little or no difference"
    return "increase" if est > 0 else "decrease"


_STATEMENTS = {
    ("high", "increase"): "{x} increases {y}",
    ("high", "decrease"): "{x} reduces {y}",
    ("high", "little or no difference"): "{x} results in little or no difference in {y}",
    ("moderate", "increase"): "{x} probably increases {y}",
    ("moderate", "decrease"): "{x} probably reduces {y}",
    ("moderate", "little or no difference"): "{x} probably results in little or no difference in {y}",
    ("low", "increase"): "{x} may increase {y}",
    ("low", "decrease"): "{x} may reduce {y}",
    ("low", "little or no difference"): "{x} may result in little or no difference in {y}",
}


def plain_language(level: str, intervention: str, outcome: str, direction: str) -> str:
    """GRADE informative statement for one finding (Santesso et al. 2020).

    Parameters
    ----------
    level : str
        Certainty: ``"high"``, ``"moderate"``, ``"low"`` or ``"very low"``.
    intervention : str
        The intervention as the reader knows it, e.g. ``"IV magnesium"``.
    outcome : str
        The outcome in lower case, e.g. ``"the need for rescue medication"``.
    direction : str
        ``"increase"``, ``"decrease"`` or ``"little or no difference"``
        (:func:`effect_direction`).

    Returns
    -------
    str
        One sentence ending with the certainty in brackets: high "X reduces
        Y", moderate "X probably reduces Y", low "X may reduce Y", very low
        "The evidence is very uncertain about the effect of X on Y".

    References
    ----------
    .. [1] Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26:
       informative statements to communicate the findings of systematic
       reviews of interventions. J Clin Epidemiol. 2020;119:126-135.
       doi:10.1016/j.jclinepi.2019.10.014

    Examples
    --------
    >>> plain_language("low", "IV magnesium", "pain at 30 min", "decrease")
    'IV magnesium may reduce pain at 30 min (low certainty).'
    >>> plain_language("very low", "oral magnesium", "attack frequency", "decrease")
    'The evidence is very uncertain about the effect of oral magnesium on attack frequency (very low certainty).'
    """
    if level not in LEVELS:
        raise DataError(f"unknown certainty level {level!r}; expected one of {', '.join(LEVELS)}", field="level")
    if direction not in _DIRECTIONS:
        raise DataError(f"unknown direction {direction!r}; expected one of {', '.join(_DIRECTIONS)}",
                        field="direction")
    for name, text in (("intervention", intervention), ("outcome", outcome)):
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{name} must be a non-empty string, got {text!r}", field=name)
    x, y = intervention.strip(), outcome.strip()
    if level == "very low":
        sentence = f"The evidence is very uncertain about the effect of {x} on {y}"
    else:
        sentence = _STATEMENTS[(level, direction)].format(x=x, y=y)
        sentence = sentence[0].upper() + sentence[1:]
    return f"{sentence} ({level} certainty)."
