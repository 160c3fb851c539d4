"""Mantel-Haenszel and Peto pooling of 2x2 tables: ``mantel_haenszel`` and ``peto``.

Both methods pool the cell counts directly (no study-level effect sizes are
needed for the pooled estimate), as metafor's ``rma.mh`` and ``rma.peto``. The
study-level effect sizes (continuity-corrected where asked) are computed only
for the heterogeneity statistics Q, I² and H² of the Mantel-Haenszel method and
for display.

The numerical kernels (``_mh_or``, ``_mh_rr``, ``_mh_rd``, ``_peto_core``)
sum over the last axis, so they accept a leading batch axis ``(..., k)``
(leave-one-out, permutations, bootstrap draws); the public functions check one
analysis and wrap the kernels.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from mgmeta import _format as fmt
from mgmeta._inputs import check_data, check_na_action, gather, omit_missing
from mgmeta._validation import (
    as_vector,
    check_choice,
    check_lengths,
    check_level,
    check_nonnegative,
    check_not_above,
    resolve_labels,
    study_name,
)
from mgmeta.effects import continuity_correct, double_zero_tables, table_effects
from mgmeta.errors import DataError, MgmetaWarning

__all__ = ["BinaryPoolResult", "mantel_haenszel", "peto", "MH_MEASURES", "MH_RD_VARIANCES"]

MH_MEASURES = ("OR", "RR", "RD")
MH_RD_VARIANCES = ("sgr", "gr")
_TO = ("only0", "all", "if0all", "none")
_MEASURE_NAMES = {"OR": "log odds ratio", "RR": "log risk ratio", "RD": "risk difference",
                  "PETO": "log odds ratio (Peto)", "IRR": "log incidence rate ratio",
                  "IRD": "incidence rate difference"}
_METHOD_NAMES = {"MH": "Mantel-Haenszel method", "PETO": "Peto's method"}


# --------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BinaryPoolResult:
    """A Mantel-Haenszel or Peto pooled estimate (equal-effects model).

    Estimates are on the analysis scale: log odds ratio, log risk ratio, or
    risk difference; ``exp`` is for display only. I² is a percentage, as in
    metafor and Cochrane reviews.

    Attributes
    ----------
    measure : {"OR", "RR", "RD", "PETO", "IRR", "IRD"}
        Effect measure ("PETO" is Peto's log odds ratio; IRR and IRD the
        incidence rate ratio and difference of person-time data).
    method : {"MH", "PETO"}
        Pooling method.
    k : int
        Number of tables pooled (tables left out with ``drop00=(.., True)`` do
        not count).
    estimate, se, statistic, pvalue, ci_lower, ci_upper : float
        Pooled estimate, its standard error, z = estimate / se, two-sided p,
        and the confidence interval at ``level``.
    level : float
        Confidence level (0.95).
    q, q_df, q_pvalue : float, int, float
        Test for heterogeneity. Mantel-Haenszel: Cochran's Q of the
        study-level estimates around the MH estimate with inverse-variance
        weights; Peto: the chi-square statistic of Yusuf et al. (1985).
    i2 : float
        I², percent of total variability due to heterogeneity, 100 (Q - df) / Q
        truncated at 0.
    h2 : float
        H² = Q / df.
    k_yi : int
        Number of studies with a study-level estimate (those in Q, I², H²).
    cmh, cmh_pvalue : float or None
        Cochran-Mantel-Haenszel test of no association (``measure="OR"``;
        for ``"IRR"`` the Mantel-Haenszel test of person-time data; with the
        continuity correction when ``correct=True``; df = 1); metafor's
        ``MH``, ``MHp``.
    cochran, cochran_pvalue : float or None
        Cochran's test of no association (``measure="OR"`` only; the CMH
        statistic with the hypergeometric variance's N - 1 replaced by N);
        metafor's ``CO``, ``COp``.
    breslow_day, breslow_day_pvalue : float or None
        The Breslow-Day test for heterogeneity of odds ratios without Tarone's
        correction (``measure="OR"`` only; df = ``tarone_df``); metafor's
        ``BD``, ``BDp``.
    tarone, tarone_df, tarone_pvalue : float, int, float or None
        Tarone's test for heterogeneity of odds ratios (``measure="OR"``
        only). ``tarone_pvalue`` is None when ``tarone_df`` is 0 (one
        informative table), as metafor's NA.
    labels : tuple of str
        Study labels ("1", ..., "k" when none were given).
    yi, vi : ndarray, shape (k_all,)
        Study-level estimates and sampling variances (continuity-corrected by
        ``add``/``to``); NaN marks a study without one (double zero dropped by
        ``drop00``, or an undefined value without correction). Read-only.
    weights : ndarray, shape (k_all,)
        Weights of the tables in the pooled estimate, in percent (MH: b c / N
        for OR, c n1 / N for RR, n1 n2 / N for RD; Peto: the hypergeometric
        variance); 0 for tables left out. Read-only.
    mh_rd_variance : str or None
        Variance of the MH risk difference ("sgr" or "gr"); None otherwise.
    correct : bool or None
        Whether the CMH test used the continuity correction; None without it.
    tables : ndarray, shape (k_all, 4)
        The 2x2 tables as given (``ai bi ci di``; for IRR and IRD the
        person-time data ``x1i t1i x2i t2i``), for refits. Read-only.
    options : dict
        ``add``, ``to``, ``drop00`` as given, for refits (leave-one-out).
    omitted : tuple of str
        Studies left out for missing counts (``na_action="omit"``).
    """

    measure: str
    method: str
    k: int
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    level: float
    q: float
    q_df: int
    q_pvalue: float
    i2: float
    h2: float
    k_yi: int
    labels: tuple[str, ...]
    cmh: float | None = None
    cmh_pvalue: float | None = None
    tarone: float | None = None
    tarone_df: int | None = None
    tarone_pvalue: float | None = None
    yi: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    vi: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    weights: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    mh_rd_variance: str | None = None
    correct: bool | None = None
    cochran: float | None = None
    cochran_pvalue: float | None = None
    breslow_day: float | None = None
    breslow_day_pvalue: float | None = None
    tables: np.ndarray = field(default_factory=lambda: np.empty((0, 4)), repr=False)
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    omitted: tuple[str, ...] = ()

    # ---- derived quantities -------------------------------------------------
    @property
    def is_ratio(self) -> bool:
        """True for ratio measures (estimate on the log scale)."""
        return self.measure in ("OR", "RR", "PETO", "IRR")

    def refit(self, keep: np.ndarray) -> BinaryPoolResult:
        """The same pooling of the tables where ``keep`` (boolean, one per table) is True."""
        t = np.asarray(self.tables)[np.asarray(keep, bool)]
        labels = [lab for lab, k_ in zip(self.labels, keep) if k_]
        opts = dict(self.options)
        if self.measure in ("IRR", "IRD"):        # person-time data: x1i, t1i, x2i, t2i
            return mantel_haenszel(x1i=t[:, 0], t1i=t[:, 1], x2i=t[:, 2], t2i=t[:, 3], measure=self.measure,
                                   labels=labels, level=self.level,
                                   correct=bool(self.correct) if self.correct is not None else True, **opts)
        if self.method == "MH":
            return mantel_haenszel(t[:, 0], t[:, 1], t[:, 2], t[:, 3], measure=self.measure, labels=labels,
                                   level=self.level, correct=bool(self.correct) if self.correct is not None
                                   else True, mh_rd_variance=self.mh_rd_variance or "sgr", **opts)
        return peto(t[:, 0], t[:, 1], t[:, 2], t[:, 3], labels=labels, level=self.level, **opts)

    def leave_one_out(self, transf: Any = None, exp: bool = False) -> pd.DataFrame:
        """The pooling repeated without each table in turn (metafor's ``leave1out`` for ``rma.mh``/``rma.peto``).

        See :func:`mgmeta.analyses.sensitivity.leave_one_out`.
        """
        from mgmeta.analyses.sensitivity import leave_one_out
        return leave_one_out(self, transf=transf, exp=exp)

    def influence(self) -> pd.DataFrame:
        """Case-deletion diagnostics (see :func:`mgmeta.analyses.sensitivity.influence`)."""
        from mgmeta.analyses.sensitivity import influence
        return influence(self)

    def to_frame(self) -> pd.DataFrame:
        """One row with stable snake_case columns (analysis scale; None where not applicable)."""
        cols = ["measure", "method", "k", "k_yi", "estimate", "se", "statistic", "pvalue", "ci_lower",
                "ci_upper", "level", "q", "q_df", "q_pvalue", "i2", "h2", "cmh", "cmh_pvalue", "tarone",
                "tarone_df", "tarone_pvalue", "cochran", "cochran_pvalue", "breslow_day", "breslow_day_pvalue"]
        return pd.DataFrame([{c: getattr(self, c) for c in cols}])

    # ---- presentation -------------------------------------------------------
    def _header(self) -> str:
        shown = "OR" if self.measure == "PETO" else self.measure
        return f"Equal-Effects Model (k = {self.k}); {_METHOD_NAMES[self.method]}, measure {shown}"

    def _het_lines(self) -> list[str]:
        return [f"I^2 (total heterogeneity / total variability):  {self.i2:.2f}%",
                f"H^2 (total variability / sampling variability): {self.h2:.2f}"]

    def _q_line(self) -> str:
        return f"Q(df = {self.q_df}) = {self.q:.4f}, {_pval_eq(self.q_pvalue)}"

    def _coef_table(self) -> tuple[list[str], list[list[str]]]:
        head = ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"]
        row = [fmt.format_number(self.estimate), fmt.format_number(self.se), fmt.format_number(self.statistic),
               fmt.format_pvalue(self.pvalue), fmt.format_number(self.ci_lower), fmt.format_number(self.ci_upper)]
        return head, [row]

    def _exp_table(self) -> tuple[list[str], list[list[str]]]:
        vals = np.exp([self.estimate, self.ci_lower, self.ci_upper])
        return ["estimate", "ci.lb", "ci.ub"], [[fmt.format_number(float(v)) for v in vals]]

    def _test_lines(self) -> list[str]:
        if self.cmh is None:
            return []
        if self.tarone is None:                       # IRR: the Mantel-Haenszel test of person-time data
            return [f"Mantel-Haenszel Test: MH = {fmt.format_number(self.cmh)}, df = 1, {_pval_eq(self.cmh_pvalue)}"]
        cmh = fmt.format_number(self.cmh)
        ta = fmt.format_number(self.tarone)
        width = max(len(cmh), len(ta))
        ta_p = _pval_eq(self.tarone_pvalue) if self.tarone_pvalue is not None else "p-val = NA"
        return [f"Cochran-Mantel-Haenszel Test:    CMH = {cmh.rjust(width)}, df = 1, {_pval_eq(self.cmh_pvalue)}",
                f"Tarone's Test for Heterogeneity: X^2 = {ta.rjust(width)}, df = {self.tarone_df}, {ta_p}"]

    def __str__(self) -> str:
        shown = "OR" if self.measure == "PETO" else self.measure
        out = [self._header(), ""]
        out += self._het_lines()
        out += ["", "Test for Heterogeneity:", self._q_line(), ""]
        if self.mh_rd_variance == "gr":
            out += ["Variance of the MH risk difference: Greenland-Robins (1985)", ""]
        out += ["Model Results (log scale):" if self.is_ratio else "Model Results:", ""]
        out.append(fmt.text_table(*self._coef_table()))
        if self.is_ratio:
            out += ["", f"Model Results ({shown} scale):", "", fmt.text_table(*self._exp_table())]
        tests = self._test_lines()
        if tests:
            out += [""] + tests
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        import html

        shown = "OR" if self.measure == "PETO" else self.measure
        parts = [f"<p><b>{html.escape(self._header())}</b></p>",
                 "<p>" + "<br>".join(html.escape(s) for s in self._het_lines()) + "</p>",
                 f"<p>Test for Heterogeneity: {html.escape(self._q_line())}</p>",
                 fmt.html_table(*self._coef_table(),
                                caption="Model results (log scale)" if self.is_ratio else "Model results")]
        if self.is_ratio:
            parts.append(fmt.html_table(*self._exp_table(), caption=f"Model results ({shown} scale)"))
        tests = self._test_lines()
        if tests:
            parts.append("<p>" + "<br>".join(html.escape(s) for s in tests) + "</p>")
        return "".join(parts)


def _pval_eq(p: float | None) -> str:
    """``p-val = .1234`` or ``p-val < .0001``."""
    if p is None:
        return "p-val = NA"
    s = fmt.format_pvalue(p)
    return f"p-val {s[0]} {s[1:]}" if s.startswith("<") else f"p-val = {s}"


# --------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------

def _pair(value: Any, second: Any, name: str) -> tuple[Any, Any]:
    """metafor's one-or-two-value arguments: a scalar applies to the study-level estimates only."""
    if isinstance(value, (str, bool, int, float, np.integer, np.floating, np.bool_)):
        return value, second
    try:
        vals = list(value)
    except TypeError:
        raise DataError(f"{name} must be a single value or a pair of values, got {value!r}", field=name) from None
    if len(vals) == 1:
        return vals[0], second
    if len(vals) != 2:
        raise DataError(f"{name} must be a single value or a pair of values, got {len(vals)} values", field=name)
    return vals[0], vals[1]


def _check_add(value: Any) -> float:
    try:
        a = float(value)
    except (TypeError, ValueError):
        raise DataError(f"add must be a non-negative number, got {value!r}", field="add") from None
    if not np.isfinite(a) or a < 0:
        raise DataError(f"add must be a finite non-negative number, got {value!r}", field="add")
    return a


def _check_bool(value: Any, name: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise DataError(f"{name} must be True or False, got {value!r}", field=name)


def _count_columns(given: dict[str, Any], labels: Any, data: pd.DataFrame | None, na_action: str, *, first: str,
                   stacklevel: int) -> tuple[dict[str, np.ndarray], list[str] | None, tuple[str, ...]]:
    """The count columns of a pooling call: gathered (from ``data`` or arrays), studies with missing values
    handled by ``na_action``, each checked as a vector of equal length; with the labels and omitted studies."""
    g = gather({**given, "labels": labels}, data)
    lab_raw = g.columns.pop("labels", None)
    if g.k == 0:
        raise DataError(f"empty input: {first} contains no studies", field=first)
    lab0 = resolve_labels(lab_raw, g.k) if lab_raw is not None else None
    keep, omitted = omit_missing(g.columns, check_na_action(na_action), lab0, g.k, stacklevel=stacklevel)
    lab = [x for x, k_ in zip(lab0, keep) if k_] if lab0 is not None else None
    if lab is None and not keep.all():
        lab = [str(i + 1) for i in np.flatnonzero(keep)]
    vec = {name: as_vector(v[keep], name, lab) for name, v in g.columns.items()}
    check_lengths(vec)
    return vec, lab, omitted


def _tables(ai: Any, bi: Any, ci: Any, di: Any, n1i: Any, n2i: Any, data: pd.DataFrame | None,
            labels: Any, na_action: str = "fail"
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str] | None, tuple[str, ...]]:
    """Validated 2x2 tables (fresh float arrays), labels and omitted studies, from either input form."""
    check_data(data)
    given = (("ai", ai), ("bi", bi), ("ci", ci), ("di", di), ("n1i", n1i), ("n2i", n2i))
    if ai is None or ci is None:
        raise DataError("the 2x2 tables need ai and ci, with bi and di or n1i and n2i",
                        field="ai" if ai is None else "ci")
    if bi is None and n1i is None:
        raise DataError("give either bi (non-events, group 1) or n1i (size of group 1)", field="bi")
    if di is None and n2i is None:
        raise DataError("give either di (non-events, group 2) or n2i (size of group 2)", field="di")
    vec, lab, omitted = _count_columns(dict(given), labels, data, na_action, first="ai", stacklevel=5)
    for name, v in vec.items():
        check_nonnegative(v, name, lab)
    a, c = vec["ai"], vec["ci"]
    cols = []
    for ev, non, size in ((a, "bi", "n1i"), (c, "di", "n2i")):
        ev_name = "ai" if ev is a else "ci"
        if non in vec:
            if size in vec:
                bad = np.flatnonzero(vec[size] != ev + vec[non])
                if bad.size:
                    i = int(bad[0])
                    raise DataError(f"{study_name(lab, i)}: {size} ({vec[size][i]:g}) is not {ev_name} + {non} "
                                    f"({ev[i] + vec[non][i]:g})", study=lab[i] if lab else i, field=size)
            cols.append(vec[non].copy())
        else:
            check_not_above(ev, ev_name, vec[size], size, lab)
            cols.append(vec[size] - ev)
    return a.copy(), cols[0], c.copy(), cols[1], lab, omitted


def _who(lab: list[str] | None, i: int) -> Any:
    return lab[i] if lab else i


# --------------------------------------------------------------------------
# continuity corrections and study-level effect sizes
# --------------------------------------------------------------------------

def _study_effects(measure: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray,
                   add: float, to: str, drop00: bool) -> tuple[np.ndarray, np.ndarray]:
    """Study-level yi, vi as metafor's escalc: NaN where undefined (dropped, infinite, NaN, vi < 0).

    RD uses the large-sample variance p1 (1 - p1) / n1 + p2 (1 - p2) / n2
    (escalc's default ``vtype="LS"``); PETO the one-step (a - E) / V, 1 / V.
    """
    dropped = double_zero_tables(a, b, c, d) if drop00 else np.zeros(a.shape, bool)
    A, B, C, D, _ = continuity_correct(a, b, c, d, add, to, ~dropped)
    yi, vi = table_effects(measure, A, B, C, D)
    bad = dropped | ~np.isfinite(yi) | ~np.isfinite(vi) | (vi < 0)
    return np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)


def _heterogeneity(q: float, df: int) -> tuple[float, float, float]:
    """p-value, I² (percent, truncated at 0) and H² of a Q statistic with ``df`` degrees of freedom."""
    pval = float(special.chdtrc(df, q)) if df > 0 else float("nan")   # as scipy.stats.chi2.sf
    i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
    return pval, i2, q / df


# --------------------------------------------------------------------------
# kernels (sum over the last axis: accept (..., k) arrays)
# --------------------------------------------------------------------------

def _mh_or(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, ...]:
    """MH log odds ratio with the Robins-Breslow-Greenland variance; returns (R, S, log OR, se).

    R = sum a d / N, S = sum b c / N, OR = R / S and
    var = [sum P R_i / R^2 + sum (P S_i + Q R_i) / (R S) + sum Q S_i / S^2] / 2,
    with P = (a + d) / N, Q = (b + c) / N.
    """
    N = a + b + c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        Ri = a * d / N
        Si = b * c / N
        P = (a + d) / N
        Q = (b + c) / N
        R = Ri.sum(axis=-1)
        S = Si.sum(axis=-1)
        var = 0.5 * ((P * Ri).sum(axis=-1) / R ** 2 + (P * Si + Q * Ri).sum(axis=-1) / (R * S)
                     + (Q * Si).sum(axis=-1) / S ** 2)
        return R, S, np.log(R / S), np.sqrt(var)


def _mh_rr(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, ...]:
    """MH log risk ratio with the Greenland-Robins variance; returns (R, S, log RR, se).

    R = sum a n2 / N, S = sum c n1 / N and
    var = sum (n1 n2 (a + c) / N^2 - a c / N) / (R S).
    """
    n1, n2 = a + b, c + d
    N = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        R = (a * (n2 / N)).sum(axis=-1)
        S = (c * (n1 / N)).sum(axis=-1)
        num = ((n1 / N) * (n2 / N) * (a + c) - (a / N) * c).sum(axis=-1)
        return R, S, np.log(R / S), np.sqrt(num / (R * S))


def _mh_rd(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray,
           variance: str = "sgr") -> tuple[np.ndarray, ...]:
    """MH risk difference; returns (W, RD, variance).

    RD = sum (a n2 - c n1) / N / W with W = sum n1 n2 / N. Variance "sgr"
    (Sato, Greenland & Robins 1989, as metafor):
    [RD sum (c n1^2 - a n2^2 + n1 n2 (n2 - n1) / 2) / N^2 + sum (a (n2 - c) + c (n1 - a)) / (2 N)] / W^2;
    "gr" (Greenland & Robins 1985, as RevMan 5):
    sum (a b n2^3 + c d n1^3) / (n1 n2 N^2) / W^2, where a table with an
    empty arm contributes its limit (a b / n1 -> 0 as n1 -> 0).
    """
    n1, n2 = a + b, c + d
    N = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        W = (n1 * (n2 / N)).sum(axis=-1)
        rd = ((a * n2 - c * n1) / N).sum(axis=-1) / W
        if variance == "sgr":
            p_term = ((c * n1 ** 2 - a * n2 ** 2 + n1 * n2 * (n2 - n1) / 2) / N ** 2).sum(axis=-1)
            q_term = ((a * (n2 - c) + c * (n1 - a)) / (2 * N)).sum(axis=-1)
            var = (rd * p_term + q_term) / W ** 2
        else:
            ab = np.where(n1 > 0, a * b / np.where(n1 > 0, n1, 1.0), 0.0)
            cd = np.where(n2 > 0, c * d / np.where(n2 > 0, n2, 1.0), 0.0)
            var = ((ab * n2 ** 2 + cd * n1 ** 2) / N ** 2).sum(axis=-1) / W ** 2
        return W, rd, var


def _hypergeometric(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected count E(a) = n1 m1 / N and variance V = n1 n2 m1 m2 / (N^2 (N - 1)) given the margins.

    V is 0 for a table with N <= 1 (its margins fix every cell).
    """
    n1, n2 = a + b, c + d
    m1, m2 = a + c, b + d
    N = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        E = m1 * (n1 / N)
        V = np.where(N > 1, m1 * m2 * (n1 / N) * (n2 / N) / (N - 1), 0.0)
    return E, V


def _peto_core(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, ...]:
    """Peto's one-step log odds ratio; returns (sum V, log OR, se, chi-square, number of tables with V > 0).

    log OR = sum (a - E) / sum V, se = 1 / sqrt(sum V) and heterogeneity
    chi-square = sum (a - E)^2 / V - (sum (a - E))^2 / sum V over tables with V > 0.
    """
    E, V = _hypergeometric(a, b, c, d)
    oe = a - E
    sv = V.sum(axis=-1)
    pos = V > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = oe.sum(axis=-1) / sv
        se = 1 / np.sqrt(sv)
        chi = np.where(pos, oe ** 2 / np.where(pos, V, 1.0), 0.0).sum(axis=-1) - oe.sum(axis=-1) ** 2 / sv
    return sv, beta, se, np.maximum(chi, 0.0), pos.sum(axis=-1)


def _cmh(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, correct: bool) -> np.ndarray:
    """Cochran-Mantel-Haenszel chi-square: (|sum (a - E)| - 0.5 correct)^2 / sum V (hypergeometric V)."""
    E, V = _hypergeometric(a, b, c, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.abs((a - E).sum(axis=-1)) - (0.5 if correct else 0.0)) ** 2 / V.sum(axis=-1)


def _tarone(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, psi: float) -> tuple[float, int]:
    """Tarone's statistic and its df (see :func:`_breslow_day`)."""
    _, ta, df = _breslow_day(a, b, c, d, psi)
    return ta, df


def _cochran(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, correct: bool) -> float:
    """Cochran's (1954) statistic: (|sum a - E| - 0.5 correct)^2 / sum n1 n2 m1 m2 / N^3."""
    n1, n2, m1, m2 = a + b, c + d, a + c, b + d
    N = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((abs(float(np.sum(a - n1 / N * m1))) - (0.5 if correct else 0.0)) ** 2
                     / np.sum(n1 / N * (n2 / N) * (m1 * (m2 / N))))


def _breslow_day(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray,
                 psi: float) -> tuple[float, float, int]:
    """Breslow-Day and Tarone's (1985) heterogeneity statistics at the MH odds ratio ``psi``: (BD, Tarone, df).

    For each table the expected count N11 of cell a under a common odds ratio
    psi, given the margins, solves (psi - 1) x^2 - A x + psi n1 m1 = 0 with
    A = psi (n1 + m1) + n2 - m1; the root in range is computed as
    2 psi n1 m1 / (A + sqrt(A^2 - 4 psi (psi - 1) n1 m1)), the cancellation-free
    form of (A - sqrt(..)) / (2 (psi - 1)) that also covers psi = 1. Tables with
    N11 = 0, no events, no non-events or an empty arm carry no information and
    are left out (df = tables used - 1). The statistic is the Breslow-Day sum
    sum (a - N11)^2 / Var minus Tarone's correction (sum (a - N11))^2 / sum Var,
    with Var = 1 / (1/N11 + 1/N12 + 1/N21 + 1/N22), truncated at 0.
    """
    n1, n2 = a + b, c + d
    m1, m2 = a + c, b + d
    A = psi * (n1 + m1) + (n2 - m1)
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = np.sqrt(np.maximum(A ** 2 - 4 * psi * (psi - 1) * n1 * m1, 0.0))
        den = A + disc
        n11 = np.where(den > 0, 2 * psi * n1 * m1 / np.where(den > 0, den, 1.0), 0.0)
    use = (n11 > 0) & (m1 > 0) & (m2 > 0) & (n1 > 0) & (n2 > 0)
    n11, au = n11[use], a[use]
    n12 = n1[use] - n11
    n21 = m1[use] - n11
    n22 = n2[use] - n21
    inv = 1 / n11 + 1 / n12 + 1 / n21 + 1 / n22
    dev = au - n11
    bd = max(0.0, float((dev ** 2 * inv).sum()))
    ta = max(0.0, bd - float(dev.sum()) ** 2 / float((1 / inv).sum()))
    return bd, ta, int(use.sum()) - 1


# --------------------------------------------------------------------------
# shared front end
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Prepared:
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    keep: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    labels: list[str] | None
    level: float
    tables: np.ndarray
    omitted: tuple[str, ...]


def _prepare(measure: str, ai: Any, bi: Any, ci: Any, di: Any, n1i: Any, n2i: Any, data: Any, labels: Any,
             level: Any, add: Any, to: Any, drop00: Any, na_action: str = "fail") -> _Prepared:
    a0, b0, c0, d0, lab, omitted = _tables(ai, bi, ci, di, n1i, n2i, data, labels, na_action)
    lev = check_level(level)
    add1, add2 = _pair(add, 0.0, "add")
    to1, to2 = _pair(to, "none", "to")
    drop1, drop2 = _pair(drop00, False, "drop00")
    add1, add2 = _check_add(add1), _check_add(add2)
    to1, to2 = check_choice(to1, _TO, "to"), check_choice(to2, _TO, "to")
    drop1, drop2 = _check_bool(drop1, "drop00"), _check_bool(drop2, "drop00")

    yi, vi = _study_effects(measure, a0, b0, c0, d0, add1, to1, drop1)
    keep = ~double_zero_tables(a0, b0, c0, d0) if drop2 else np.ones(a0.shape, bool)
    if not keep.any():
        raise DataError("every table is a double-zero study and drop00 leaves them all out; nothing to pool",
                        field="drop00")
    a, b, c, d, _ = continuity_correct(a0[keep], b0[keep], c0[keep], d0[keep], add2, to2,
                                       np.ones(int(keep.sum()), bool))
    empty = np.flatnonzero(a + b + c + d == 0)
    if empty.size:
        i = int(np.flatnonzero(keep)[empty[0]])
        raise DataError(f"{study_name(lab, i)}: the table has no participants (ai + bi + ci + di = 0); "
                        "remove the study", study=_who(lab, i), field="ai")
    return _Prepared(a=a, b=b, c=c, d=d, keep=keep, yi=yi, vi=vi, labels=lab, level=lev,
                     tables=_frozen(np.column_stack([a0, b0, c0, d0])), omitted=omitted)


def _frozen(x: np.ndarray) -> np.ndarray:
    y = np.array(x, dtype=float, copy=True)
    y.setflags(write=False)
    return y


def _warn_missing_yi(measure: str, yi: np.ndarray, lab: list[str] | None) -> None:
    miss = np.flatnonzero(np.isnan(yi))
    if miss.size:
        names = ", ".join(repr(lab[i]) if lab else f"position {i}" for i in miss)
        n = miss.size
        warnings.warn(f"{n} stud{'y has' if n == 1 else 'ies have'} no study-level {_MEASURE_NAMES[measure]} "
                      f"(double zero dropped by drop00, or a zero cell without continuity correction) and "
                      f"{'is' if n == 1 else 'are'} left out of Q, I² and H²: {names}",
                      MgmetaWarning, stacklevel=3)


def _inference(estimate: float, se: float, level: float) -> tuple[float, float, float, float]:
    z = estimate / se
    p = float(2 * special.ndtr(-abs(z)))
    crit = float(-special.ndtri((1 - level) / 2))
    return z, p, estimate - crit * se, estimate + crit * se


# --------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------

def mantel_haenszel(ai: Any = None, bi: Any = None, ci: Any = None, di: Any = None, *,
                    n1i: Any = None, n2i: Any = None, measure: str = "OR",
                    data: pd.DataFrame | None = None, labels: Any = None, level: float = 0.95,
                    add: float | Sequence[float] = 0.5, to: str | Sequence[str] = "only0",
                    drop00: bool | Sequence[bool] = True, correct: bool = True,
                    mh_rd_variance: str = "sgr", na_action: str = "fail",
                    x1i: Any = None, t1i: Any = None, x2i: Any = None, t2i: Any = None) -> BinaryPoolResult:
    """Pool 2x2 tables with the Mantel-Haenszel method, as metafor's ``rma.mh``.

    Parameters
    ----------
    ai, bi, ci, di : array_like, shape (k,), or str
        Cell counts: events and non-events in group 1 (e.g. magnesium), events
        and non-events in group 2 (control). With ``data``, a string names a
        column.
    n1i, n2i : array_like, shape (k,), or str, optional
        Group sizes, instead of ``bi`` and ``di`` (``bi = n1i - ai``). When
        both are given they must agree.
    measure : {"OR", "RR", "RD", "IRR", "IRD"}
        Odds ratio, risk ratio (both pooled on the log scale) or risk
        difference; incidence rate ratio (log scale) or difference of
        person-time data given as ``x1i``, ``t1i``, ``x2i``, ``t2i`` (see
        :mod:`mgmeta.binary_rates`).
    data : DataFrame, optional
        metafor's ``data=``: string arguments name its columns; Series are
        matched to its rows by index.
    labels : sequence of str, or str, optional
        Study labels (with ``data``, the name of a label column).
    level : float
        Confidence level, 0.95 (metafor's ``level=95`` is accepted too).
    add, to, drop00 : scalar or pair
        Continuity correction and double-zero handling, as in metafor. A single
        value applies to the study-level estimates used for Q, I² and H² only
        (defaults 0.5, "only0", True); the pooled estimate then uses the raw
        counts. A pair ``(study level, pooling)`` also corrects, or drops
        double-zero tables from, the pooled tables. ``to`` is one of
        "only0" (tables with a zero cell), "all", "if0all" (all tables if any
        has a zero cell) or "none".
    correct : bool
        Continuity correction of the Cochran-Mantel-Haenszel test (True).
    mh_rd_variance : {"sgr", "gr"}
        Variance of the MH risk difference: Sato-Greenland-Robins ("sgr",
        metafor) or Greenland-Robins ("gr", RevMan 5).
    na_action : {"fail", "omit"}
        A table with a missing count raises (default), or is left out with a
        warning ("omit"; listed in ``omitted``), as metafor's ``na.action``.
    x1i, t1i, x2i, t2i : array_like, shape (k,), or str, optional
        Events and person-time of the two groups, for IRR and IRD.

    Returns
    -------
    BinaryPoolResult
        ``estimate`` (log OR / log RR / RD), ``se``, ``statistic`` (z),
        ``pvalue``, ``ci_lower``, ``ci_upper``, ``q``, ``q_pvalue``, ``i2``
        (percent), ``h2``; for OR also ``cmh``, ``tarone``, ``breslow_day``
        and ``cochran`` with p-values; for IRR the Mantel-Haenszel test in
        ``cmh``.

    Raises
    ------
    DataError
        Negative counts, events above group size, NaN or infinite values,
        mismatched lengths, no studies, unknown options; a table without
        participants; no information for the measure (e.g. no events in one
        group in any table for OR/RR, where metafor returns NA); a study-level
        variance of 0 among the studies in Q (e.g. ``to="none"`` with
        ``drop00=False``), where metafor's Q is NaN.

    Warns
    -----
    MgmetaWarning
        When studies have no study-level estimate and are left out of Q, I²
        and H² (as metafor's "Some yi/vi values are NA").

    Notes
    -----
    With R_i = a d / N, S_i = b c / N the MH odds ratio is sum R_i / sum S_i,
    with the Robins-Breslow-Greenland variance of its log; the risk ratio is
    sum a n2 / N / sum c n1 / N with the Greenland-Robins variance; the risk
    difference is sum (a n2 - c n1) / N / sum n1 n2 / N with the
    Sato-Greenland-Robins (or Greenland-Robins) variance. Tables with no
    events or no non-events add nothing to the OR and RR sums, so a
    double-zero study does not change those estimates (it does add weight to
    the RD unless ``drop00=(.., True)``).

    Q = sum w_i (y_i - estimate)^2 with w_i = 1 / v_i over the studies with
    a study-level estimate (continuity-corrected by ``add``/``to``), df =
    k_yi - 1; I² = max(0, 100 (Q - df) / Q) and H² = Q / df. With k_yi <= 1,
    Q = 0, p = 1, I² = 0 and H² = 1, as metafor.

    The CMH statistic is (|sum a - E(a)| - 0.5)^2 / sum Var(a) with the
    hypergeometric mean and variance; Tarone's test is described in
    ``_tarone``. A table of total 1 has hypergeometric variance 0 here
    (metafor's is NaN there).

    References
    ----------
    Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748. doi:10.1093/jnci/22.4.719
    Cochran WG (1954). Biometrics 10:417-451. doi:10.2307/3001616
    Greenland S, Robins JM (1985). Biometrics 41:55-68. doi:10.2307/2530643
    Robins J, Breslow N, Greenland S (1986). Biometrics 42:311-323. doi:10.2307/2531052
    Sato T, Greenland S, Robins JM (1989). Biometrics 45:1323-1324. https://www.jstor.org/stable/2531784
    Tarone RE (1985). Biometrika 72:91-95. doi:10.1093/biomet/72.1.91
    Viechtbauer W (2010). J Stat Softw 36(3). doi:10.18637/jss.v036.i03 (``rma.mh``)
    Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5.

    Examples
    --------
    Intravenous magnesium in acute myocardial infarction, first five trials of
    Li et al. (2007) (metafor's ``dat.li2007``):

    >>> import mgmeta
    >>> res = mgmeta.mantel_haenszel([1, 4, 2, 1, 1], ci=[2, 14, 7, 1, 3],
    ...                              n1i=[40, 56, 92, 48, 25], n2i=[36, 74, 93, 46, 23])
    >>> round(res.estimate, 4), round(res.se, 4), round(res.cmh, 4)
    (-1.072, 0.3994, 6.7502)
    """
    measure = check_choice(measure, MH_MEASURES + ("IRR", "IRD"), "measure")
    if measure in ("IRR", "IRD"):
        if any(v is not None for v in (ai, bi, ci, di, n1i, n2i)):
            raise DataError(f"measure {measure!r} takes person-time data x1i, t1i, x2i, t2i, not 2x2 tables",
                            field="ai")
        from mgmeta.binary_rates import mantel_haenszel_rates
        return mantel_haenszel_rates(measure, x1i, t1i, x2i, t2i, data=data, labels=labels, level=level, add=add,
                                     to=to, drop00=drop00, correct=correct, na_action=na_action)
    if any(v is not None for v in (x1i, t1i, x2i, t2i)):
        raise DataError(f"x1i, t1i, x2i, t2i are person-time data for measure 'IRR' or 'IRD', not {measure!r}",
                        field="x1i")
    mh_rd_variance = check_choice(mh_rd_variance, MH_RD_VARIANCES, "mh_rd_variance")
    correct = _check_bool(correct, "correct")
    pr = _prepare(measure, ai, bi, ci, di, n1i, n2i, data, labels, level, add, to, drop00, na_action)
    a, b, c, d, lab = pr.a, pr.b, pr.c, pr.d, pr.labels
    k_all = pr.keep.size

    cmh = cmh_p = tarone = tarone_p = co = co_p = bd = bd_p = None
    tarone_df: int | None = None
    if measure in ("OR", "RR"):
        R, S, est, se = (float(x) for x in (_mh_or if measure == "OR" else _mh_rr)(a, b, c, d))
        if R == 0 or S == 0:
            grp, other = ("1", "2") if R == 0 else ("2", "1")
            need = (f"events in group {grp} together with non-events in group {other}" if measure == "OR"
                    else f"events in group {grp} (with participants in group {other})")
            raise DataError(f"the Mantel-Haenszel {'odds' if measure == 'OR' else 'risk'} ratio is undefined "
                            f"(metafor returns NA): no table has {need}", field="ai" if R == 0 else "ci")
        wi = (b * c if measure == "OR" else c * (a + b)) / (a + b + c + d)
    else:
        W, rd, var = (float(x) for x in _mh_rd(a, b, c, d, mh_rd_variance))
        if W == 0:
            raise DataError("the Mantel-Haenszel risk difference is undefined: every table has an empty group",
                            field="n1i")
        if not var > 0:
            raise DataError("the variance of the Mantel-Haenszel risk difference is 0: no table has events "
                            "(or every participant had the event); the risk difference cannot be tested",
                            field="ai")
        est, se = rd, float(np.sqrt(var))
        wi = (a + b) * (c + d) / (a + b + c + d)
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        raise DataError(f"the Mantel-Haenszel {measure} estimate could not be computed "
                        f"(estimate {est!r}, se {se!r}); check for tables with an empty group", field="ai")

    if measure == "OR":
        cmh = float(_cmh(a, b, c, d, correct))
        cmh_p = float(special.chdtrc(1, cmh))
        bd, tarone, tarone_df = _breslow_day(a, b, c, d, float(np.exp(est)))
        tarone_p = float(special.chdtrc(tarone_df, tarone)) if tarone_df >= 1 else None
        bd_p = float(special.chdtrc(tarone_df, bd)) if tarone_df >= 1 else None
        co = _cochran(a, b, c, d, correct)
        co_p = float(special.chdtrc(1, co))

    # heterogeneity of the study-level estimates around the MH estimate
    yi, vi = pr.yi, pr.vi
    has = ~np.isnan(yi)
    k_yi = int(has.sum())
    zero_v = np.flatnonzero(has & (vi == 0))
    if zero_v.size:
        i = int(zero_v[0])
        raise DataError(f"{study_name(lab, i)}: the study-level {_MEASURE_NAMES[measure]} has variance 0 "
                        f"(zero cells without continuity correction), so Q, I² and H² are undefined; "
                        "use add > 0 with to='only0', or drop00=True", study=_who(lab, i), field="ai")
    _warn_missing_yi(measure, yi, lab)
    if k_yi > 1:
        q = max(0.0, float(np.sum((yi[has] - est) ** 2 / vi[has])))
        q_p, i2, h2 = _heterogeneity(q, k_yi - 1)
    else:
        q, q_p, i2, h2 = 0.0, 1.0, 0.0, 1.0

    z, p, lo, hi = _inference(est, se, pr.level)
    weights = np.zeros(k_all)
    weights[pr.keep] = 100 * wi / wi.sum()
    return BinaryPoolResult(
        measure=measure, method="MH", k=int(a.size), estimate=est, se=se, statistic=z, pvalue=p,
        ci_lower=lo, ci_upper=hi, level=pr.level, q=q, q_df=max(k_yi - 1, 0), q_pvalue=q_p, i2=i2, h2=h2,
        k_yi=k_yi, labels=tuple(lab) if lab is not None else tuple(str(i + 1) for i in range(k_all)),
        cmh=cmh, cmh_pvalue=cmh_p, tarone=tarone, tarone_df=tarone_df, tarone_pvalue=tarone_p,
        yi=_frozen(yi), vi=_frozen(vi), weights=_frozen(weights),
        mh_rd_variance=mh_rd_variance if measure == "RD" else None,
        correct=correct if measure == "OR" else None,
        cochran=co, cochran_pvalue=co_p, breslow_day=bd, breslow_day_pvalue=bd_p,
        tables=pr.tables, options={"add": add, "to": to, "drop00": drop00}, omitted=pr.omitted,
    )


def peto(ai: Any, bi: Any = None, ci: Any = None, di: Any = None, *,
         n1i: Any = None, n2i: Any = None, data: pd.DataFrame | None = None, labels: Any = None,
         level: float = 0.95, add: float | Sequence[float] = 0.5, to: str | Sequence[str] = "only0",
         drop00: bool | Sequence[bool] = True, na_action: str = "fail") -> BinaryPoolResult:
    """Pool 2x2 tables with Peto's one-step odds ratio, as metafor's ``rma.peto``.

    Parameters
    ----------
    ai, bi, ci, di : array_like, shape (k,), or str
        Cell counts (events and non-events in group 1, then group 2); with
        ``data``, a string names a column.
    n1i, n2i : array_like, shape (k,), or str, optional
        Group sizes, instead of ``bi`` and ``di``.
    data : DataFrame, optional
        metafor's ``data=`` (Series are matched to its rows by index).
    na_action : {"fail", "omit"}
        As in :func:`mantel_haenszel`.
    labels : sequence of str, or str, optional
        Study labels (with ``data``, the name of a label column).
    level : float
        Confidence level, 0.95.
    add, to, drop00 : scalar or pair
        As in :func:`mantel_haenszel`. The study-level estimates only decide
        which studies count in the degrees of freedom of the heterogeneity
        test (k_yi - 1); a pair also corrects, or drops double zeros from,
        the pooled tables.

    Returns
    -------
    BinaryPoolResult
        ``measure="PETO"``, ``method="PETO"``; ``estimate`` is the log odds
        ratio; no CMH or Tarone test.

    Raises
    ------
    DataError
        Invalid counts or options (see :func:`mantel_haenszel`); one of the two
        outcomes never occurs in any table (sum V = 0); a table without
        participants.

    Warns
    -----
    MgmetaWarning
        When studies have no study-level estimate (left out of the df).

    Notes
    -----
    With O - E = a - n1 m1 / N and V = n1 n2 m1 m2 / (N^2 (N - 1)) (m1, m2 the
    event and non-event totals), log OR = sum (O - E) / sum V and
    se = 1 / sqrt(sum V). The heterogeneity statistic is
    Q = sum (O - E)^2 / V - (sum (O - E))^2 / sum V over tables with V > 0,
    tested on k_yi - 1 df; with at most one table with V > 0 (or k_yi <= 1),
    p = 1, I² = 0 and H² = 1. A table of total 1 has V = 0 here (metafor
    stops with an error there).

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Prog Cardiovasc Dis 27:335-371.
    doi:10.1016/S0033-0620(85)80003-7
    Viechtbauer W (2010). J Stat Softw 36(3). doi:10.18637/jss.v036.i03 (``rma.peto``)

    Examples
    --------
    >>> import mgmeta
    >>> res = mgmeta.peto([1, 4, 2, 1, 1], ci=[2, 14, 7, 1, 3],
    ...                   n1i=[40, 56, 92, 48, 25], n2i=[36, 74, 93, 46, 23])
    >>> round(res.estimate, 4), round(res.q, 4)
    (-0.972, 0.5508)
    """
    pr = _prepare("PETO", ai, bi, ci, di, n1i, n2i, data, labels, level, add, to, drop00, na_action)
    a, b, c, d, lab = pr.a, pr.b, pr.c, pr.d, pr.labels
    k_all = pr.keep.size
    sv, beta, se_arr, chi, k_pos = _peto_core(a, b, c, d)
    if not float(sv) > 0:
        raise DataError("one of the two outcomes never occurs in any table (sum of hypergeometric variances "
                        "is 0); Peto's method cannot be used", field="ai")
    est, se = float(beta), float(se_arr)
    yi = pr.yi
    k_yi = int((~np.isnan(yi)).sum())
    _warn_missing_yi("PETO", yi, lab)
    q = float(chi)
    if int(k_pos) > 1 and k_yi > 1:
        q_p, i2, h2 = _heterogeneity(q, k_yi - 1)
    else:
        q_p, i2, h2 = 1.0, 0.0, 1.0
    z, p, lo, hi = _inference(est, se, pr.level)
    _, V = _hypergeometric(a, b, c, d)
    weights = np.zeros(k_all)
    weights[pr.keep] = 100 * V / V.sum()
    return BinaryPoolResult(
        measure="PETO", method="PETO", k=int(a.size), estimate=est, se=se, statistic=z, pvalue=p,
        ci_lower=lo, ci_upper=hi, level=pr.level, q=q, q_df=max(k_yi - 1, 0), q_pvalue=q_p, i2=i2, h2=h2,
        k_yi=k_yi, labels=tuple(lab) if lab is not None else tuple(str(i + 1) for i in range(k_all)),
        yi=_frozen(yi), vi=_frozen(pr.vi), weights=_frozen(weights),
        tables=pr.tables, options={"add": add, "to": to, "drop00": drop00}, omitted=pr.omitted,
    )
