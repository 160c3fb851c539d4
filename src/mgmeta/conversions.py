"""Conversions from reported statistics to what a meta-analysis needs.

Trial reports give numbers in many forms: percentages instead of counts,
medians with quartiles or ranges instead of means and SDs, confidence intervals
or p-values instead of standard errors, three arms instead of two, crossover
periods instead of parallel groups. The functions here turn those numbers into
arm-level counts, means and SDs, or into an effect estimate ``yi`` with its
sampling variance ``vi``, so that the conversions live in the library and not by
hand in the data.

Every function is pure (no I/O, the caller's arrays are never modified),
vectorised with numpy where the inputs are numeric (scalars in give Python
scalars out, arrays in give arrays out), and raises
:class:`mgmeta.errors.DataError` on impossible input. Every function takes the
keyword-only arguments ``study`` (a label, or a sequence of labels for array
input) and ``field`` (the data column the value comes from) that are used only
to name the culprit in error messages.

Each conversion has a short name, listed in :data:`CONVERSIONS` with a one-line
description and its reference, so that an analysis-ready row can state which
conversion produced it. Result objects carry that name in their ``conversion``
attribute.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from mgmeta._validation import check_level
from mgmeta.errors import DataError, MgmetaWarning

__all__ = [
    "CONVERSIONS",
    "counts_matching_percent",
    "count_from_percent",
    "check_count_percent",
    "SkewnessTest",
    "median_skewness_test",
    "MeanSD",
    "mean_sd_from_median",
    "sd_from_ci",
    "se_from_ci",
    "se_from_pvalue",
    "sd_from_se",
    "Contrast",
    "contrast_from_ci",
    "Arm",
    "combine_arms",
    "combine_arms_all",
    "Events",
    "combine_events",
    "SharedControlSplit",
    "split_shared_control",
    "CrossoverMD",
    "crossover_md",
    "crossover_md_parallel",
    "crossover_corr",
]

_HANDBOOK = ("Higgins JPT, Thomas J, Chandler J, et al. (eds). Cochrane Handbook for Systematic "
             "Reviews of Interventions, version 6.5. Cochrane, 2024")

#: Short name of each conversion -> one-line description with its reference.
CONVERSIONS: dict[str, str] = {
    "events_from_percent":
        "event count whose percentage of n rounds to the reported percent at its printed precision "
        "(exact rational arithmetic)",
    "mean_sd_from_median_range":
        "mean and SD from median, minimum, maximum and n (scenario S1): mean by Luo et al. 2018 eq. 7 "
        "(doi:10.1177/0962280216669183), SD by Wan et al. 2014 eq. 9 (doi:10.1186/1471-2288-14-135)",
    "mean_sd_from_median_iqr":
        "mean and SD from median, quartiles and n (scenario S2): mean by Luo et al. 2018 eq. 11, "
        "SD by Wan et al. 2014 eq. 16",
    "mean_sd_from_median_range_iqr":
        "mean and SD from the five-number summary and n (scenario S3): mean by Luo et al. 2018 eq. 15, "
        "SD by Shi et al. 2020 eq. 10 (doi:10.1002/jrsm.1429)",
    "mean_sd_from_median_range_wan":
        "mean (a + 2m + b)/4 and SD by Wan et al. 2014 eq. 9 from median, range and n (S1)",
    "mean_sd_from_median_iqr_wan":
        "mean (q1 + m + q3)/3 and SD by Wan et al. 2014 eqs. 14 and 16 from median, quartiles and n (S2)",
    "mean_sd_from_median_range_iqr_wan":
        "mean (a + 2q1 + 2m + 2q3 + b)/8 and SD by Wan et al. 2014 eqs. 10 and 17 from the "
        "five-number summary and n (S3)",
    "mean_sd_from_median_range_hozo":
        "mean and SD from median, range and n by Hozo et al. 2005 (doi:10.1186/1471-2288-5-13), "
        "with their sample-size rules",
    "sd_from_ci":
        "SD of a single-arm mean from its CI, SD = sqrt(n) (upper - lower) / (2 t_{n-1}) "
        "(Cochrane Handbook 6.5.2.2)",
    "sd_from_ci_z":
        "SD of a single-arm mean from its CI with the normal quantile, SD = sqrt(n) (upper - lower) / 3.92 "
        "at 95 % (Cochrane Handbook 6.5.2.2)",
    "se_from_ci":
        "SE of a difference-type estimate from its CI, (upper - lower) / (2 z) (Cochrane Handbook 6.3.1)",
    "se_from_ci_log":
        "SE of a log ratio from the ratio's CI, (ln upper - ln lower) / (2 z) (Cochrane Handbook 6.3.2)",
    "se_from_pvalue":
        "SE of a difference-type estimate from its two-sided p-value, |estimate| / z(1 - p/2) "
        "(Cochrane Handbook 6.3.1)",
    "se_from_pvalue_log":
        "SE of a log ratio from the ratio and its two-sided p-value, |ln estimate| / z(1 - p/2) "
        "(Cochrane Handbook 6.3.2)",
    "sd_from_se":
        "SD of a single-arm mean from its SE, SD = SE sqrt(n) (Cochrane Handbook 6.5.2.2)",
    "contrast_from_ci":
        "yi and vi of a reported contrast from its CI (ratio measures on the log scale), "
        "vi = ((upper - lower) / (2 z))^2 (Cochrane Handbook 6.3; metafor conv.wald)",
    "combine_arms":
        "n, mean and SD of two (or more, folded) arms combined into one (Cochrane Handbook Table 6.5.a)",
    "combine_events":
        "events and n of two arms combined into one by summing (Cochrane Handbook 23.3.4)",
    "split_shared_control":
        "shared control arm split into near-equal parts, events and n as integers, mean and SD kept "
        "(Cochrane Handbook 23.3.4)",
    "crossover_md_paired":
        "paired mean difference of a two-period crossover and its SE from per-treatment means/SDs and "
        "a within-patient correlation or SD of differences (Elbourne et al. 2002, "
        "doi:10.1093/ije/31.1.140; Cochrane Handbook 23.2.7)",
    "crossover_md_parallel":
        "mean difference of a crossover analysed as if parallel groups (correlation 0; conservative) "
        "(Elbourne et al. 2002; Cochrane Handbook 23.2.7)",
}


# --------------------------------------------------------------------------------------------
# helpers: naming the culprit, reading numbers
# --------------------------------------------------------------------------------------------

def _label(study: Any, i: int, size: int) -> Any:
    """The label of element ``i``: from a sequence of labels, a single label, or the position."""
    if study is None:
        return i if size > 1 else None
    if isinstance(study, (str, bytes)) or not isinstance(study, (Sequence, np.ndarray, pd.Series)):
        return study
    labels = list(study)
    return labels[i] if i < len(labels) else i


def _where(study: Any, field: str | None, i: int = 0, size: int = 1) -> str:
    """Message prefix naming the study and field, e.g. ``"study 'Bigal 2002', field 'ai': "``."""
    parts = []
    lab = _label(study, i, size)
    if lab is not None:
        parts.append(f"study {lab!r}" if study is not None else f"study at position {lab}")
    if field:
        parts.append(f"field {field!r}")
    return (", ".join(parts) + ": ") if parts else ""


def _fail(message: str, *, study: Any, field: str | None, name: str, i: int = 0, size: int = 1) -> DataError:
    """A DataError naming study, field and argument."""
    return DataError(_where(study, field, i, size) + message,
                     study=_label(study, i, size), field=field or name)


def _num(x: Any) -> str:
    """A number as a message shows it: integers without a decimal point, others with ``repr``."""
    xf = float(x)
    if math.isfinite(xf) and xf.is_integer() and abs(xf) < 1e15:
        return str(int(xf))
    return repr(xf)


def _check_labels(study: Any, size: int) -> None:
    if study is None or isinstance(study, (str, bytes)):
        return
    if isinstance(study, (Sequence, np.ndarray, pd.Series)):
        if len(study) != size:
            raise DataError(f"study has {len(study)} labels but the input has {size} values", field="study")


def _as_float(x: Any, name: str, study: Any, field: str | None) -> NDArray[np.float64]:
    """A fresh float array (any shape) from ``x``; non-numeric or non-finite values raise."""
    if isinstance(x, (pd.Series, pd.Index)):
        x = x.to_numpy()
    if isinstance(x, (bool, np.bool_)):
        raise _fail(f"{name} must be a number, got {x!r}", study=study, field=field, name=name)
    try:
        arr = np.array(x, dtype=float, copy=True)
    except (TypeError, ValueError):
        raise _fail(f"{name} must be numeric, got {x!r}", study=study, field=field, name=name) from None
    bad = ~np.isfinite(arr)
    if bad.any():
        flat = arr.reshape(-1)
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        raise _fail(f"{name} is {flat[i]} (must be a finite number)", study=study, field=field, name=name,
                    i=i, size=flat.size)
    return arr


def _broadcast(names: Sequence[str], values: Sequence[Any], study: Any,
               field: str | None) -> tuple[list[NDArray[np.float64]], bool]:
    """Float arrays broadcast to one shape, and whether every input was a scalar."""
    arrays = [_as_float(v, n, study, field) for n, v in zip(names, values)]
    scalar = all(a.ndim == 0 for a in arrays)
    try:
        out = list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(names, arrays))
        raise DataError(f"arguments have incompatible shapes: {shapes}", field=field) from None
    out = [np.array(a, dtype=float, copy=True) for a in out]
    _check_labels(study, out[0].size if out else 1)
    return out, scalar


def _first(mask: NDArray[np.bool_]) -> int | None:
    flat = np.asarray(mask).reshape(-1)
    idx = np.flatnonzero(flat)
    return int(idx[0]) if idx.size else None


def _require(ok: NDArray[np.bool_], message: Any, *, study: Any, field: str | None, name: str) -> None:
    """Raise a DataError for the first element where ``ok`` is False; ``message(i)`` says why."""
    bad = ~np.asarray(ok, dtype=bool)
    i = _first(bad)
    if i is not None:
        raise _fail(message(i), study=study, field=field, name=name, i=i, size=bad.size)


def _out(x: NDArray[np.float64], scalar: bool) -> Any:
    return float(x) if scalar else x


def _choice(value: Any, allowed: Sequence[str], name: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise DataError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, allowed))}", field=name)
    return value


def _integer_valued(arr: NDArray[np.float64], name: str, study: Any, field: str | None) -> None:
    _require(arr == np.round(arr), lambda i: f"{name} must be a whole number, got {_num(arr.flat[i])}",
             study=study, field=field, name=name)


def _critical(level: float, dist: str, df: NDArray[np.float64] | None) -> NDArray[np.float64] | float:
    """Two-sided critical value: the (1 + level)/2 quantile of N(0, 1) or of t(df)."""
    from scipy import stats  # lazily: scipy.stats costs ~0.4 s to import

    q = 0.5 + level / 2.0
    if dist == "z":
        return float(stats.norm.ppf(q))
    assert df is not None
    return np.asarray(stats.t.ppf(q, df), dtype=float)


# --------------------------------------------------------------------------------------------
# counts from percentages
# --------------------------------------------------------------------------------------------

def _percent_decimal(percent: Any, name: str, study: Any, field: str | None, i: int = 0,
                     size: int = 1) -> Decimal:
    """The reported percentage as an exact decimal, from its text or from the shortest float repr."""
    def fail(msg: str) -> DataError:
        return _fail(msg, study=study, field=field, name=name, i=i, size=size)

    if isinstance(percent, (bool, np.bool_)):
        raise fail(f"{name} must be a number, got {percent!r}")
    if isinstance(percent, str):
        text = percent.strip().rstrip("%").strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise fail(f"{name} {percent!r} is not a number") from None
    else:
        try:
            f = float(percent)
        except (TypeError, ValueError):
            raise fail(f"{name} must be a number, got {percent!r}") from None
        if not math.isfinite(f):
            raise fail(f"{name} is {f} (must be a finite number)")
        # repr gives the shortest decimal that round-trips, e.g. 34.3 -> '34.3'; drop trailing zeros
        value = Decimal(repr(f)).normalize()
    if not value.is_finite():
        raise fail(f"{name} is {percent!r} (must be a finite number)")
    return value


def _printed_decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _matching(percent: Any, n: Any, decimals: int | None, rounding: str, study: Any,
              field: str | None, i: int = 0, size: int = 1) -> tuple[NDArray[np.int64], Decimal, int, int]:
    """Counts c in 0..n with 100 c / n inside the rounding interval of the reported percent."""
    value = _percent_decimal(percent, "percent", study, field, i, size)

    def fail(msg: str, name: str) -> DataError:
        return _fail(msg, study=study, field=field, name=name, i=i, size=size)

    if isinstance(n, (bool, np.bool_)):
        raise fail(f"n must be a whole number, got {n!r}", "n")
    try:
        nf = float(n)
    except (TypeError, ValueError):
        raise fail(f"n must be a whole number, got {n!r}", "n") from None
    if not math.isfinite(nf) or not nf.is_integer() or nf < 1:
        raise fail(f"n must be a positive whole number, got {n!r}", "n")
    ni = int(nf)
    if value < 0 or value > 100:
        raise fail(f"percent {value} lies outside 0..100", "percent")
    shown = _printed_decimals(value)
    if decimals is None:
        d = shown
    else:
        if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)) or decimals < 0:
            raise DataError(f"decimals must be a non-negative integer, got {decimals!r}", field="decimals")
        d = int(decimals)
        if shown > d:
            raise fail(f"percent {value} has {shown} decimals but decimals={d}", "percent")
    p = Fraction(value)
    step = Fraction(1, 10 ** d)
    if rounding == "nearest":
        # true value in [p - step/2, p + step/2]; both ends accepted (either tie-breaking convention)
        lo = (p - step / 2) * ni / 100
        hi = (p + step / 2) * ni / 100
        cmin, cmax = math.ceil(lo), math.floor(hi)
    else:  # truncate: p <= true value < p + step
        lo = p * ni / 100
        hi = (p + step) * ni / 100
        cmin, cmax = math.ceil(lo), math.ceil(hi) - 1
    cmin, cmax = max(cmin, 0), min(cmax, ni)
    counts = np.arange(cmin, cmax + 1, dtype=np.int64) if cmax >= cmin else np.zeros(0, dtype=np.int64)
    return counts, value, d, ni


def counts_matching_percent(percent: float | str, n: int, *, decimals: int | None = None,
                            rounding: Literal["nearest", "truncate"] = "nearest",
                            study: Any = None, field: str | None = None) -> NDArray[np.int64]:
    """All integer counts out of ``n`` whose percentage rounds to the reported ``percent``.

    Parameters
    ----------
    percent : float or str
        The reported percentage (0 to 100). A string keeps its printed precision
        (``"44.0"`` has one decimal); a float is read through its shortest
        representation with trailing zeros dropped (``34.3`` has one decimal,
        ``44.0`` none).
    n : int
        Denominator (arm size), a positive whole number.
    decimals : int, optional
        Decimals the percentage was printed with; inferred from ``percent`` when
        not given.
    rounding : {"nearest", "truncate"}
        How the report turned the exact percentage into the printed one:
        rounded to the nearest (the default; a value exactly halfway is accepted
        on either side, whatever tie-breaking rule the authors used) or truncated.
    study, field : optional
        Names used in error messages only.

    Returns
    -------
    numpy.ndarray of int64, shape (m,)
        The matching counts in increasing order; empty when none matches.

    Raises
    ------
    DataError
        ``percent`` outside 0..100, ``n`` not a positive whole number, or
        ``percent`` printed with more decimals than ``decimals``.

    Notes
    -----
    With :math:`d` decimals and reported :math:`p`, a count :math:`c` matches when
    :math:`p - 10^{-d}/2 \\le 100c/n \\le p + 10^{-d}/2` (nearest) or
    :math:`p \\le 100c/n < p + 10^{-d}` (truncate). The comparison is done in exact
    rational arithmetic, so no floating-point error can move a count across a
    boundary. Several counts match once :math:`n \\ge 100 \\cdot 10^{d}`.

    References
    ----------
    .. [1] Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous
       anomalies in the reporting of results in psychology. Soc Psychol Personal Sci.
       2017;8(4):363-369. doi:10.1177/1948550616673876

    Examples
    --------
    Zohaib et al. report "13 (34.3 %)" responders out of 35; only 12 gives 34.3 %:

    >>> counts_matching_percent(34.3, 35).tolist()
    [12]
    >>> counts_matching_percent(34, 250).tolist()
    [84, 85, 86]
    """
    rounding = _choice(rounding, ("nearest", "truncate"), "rounding")  # type: ignore[assignment]
    counts, _, _, _ = _matching(percent, n, decimals, rounding, study, field)
    return counts


def _count_one(percent: Any, n: Any, decimals: int | None, rounding: str, ambiguous: str,
               study: Any, field: str | None, i: int, size: int) -> int:
    counts, value, d, ni = _matching(percent, n, decimals, rounding, study, field, i, size)
    if counts.size == 1:
        return int(counts[0])
    unit = f"{d} decimal{'s' if d != 1 else ''}"
    if counts.size == 0:
        exact = Fraction(value) * ni / 100
        below, above = max(math.floor(exact), 0), min(math.ceil(exact), ni)
        near = sorted({below, above})
        shown = " and ".join(f"{c}/{ni} = {100 * c / ni:.{d + 2}f} %" for c in near)
        how = "rounded" if rounding == "nearest" else "truncated"
        raise _fail(f"no whole count out of n = {ni} gives {value} % when {how} to {unit} "
                    f"(closest: {shown}); check the percentage and the denominator",
                    study=study, field=field, name="percent", i=i, size=size)
    if ambiguous == "nearest":
        exact = Fraction(value) * ni / 100
        dist = [abs(Fraction(int(c)) - exact) for c in counts]
        best = min(dist)
        winners = [int(c) for c, dd in zip(counts, dist) if dd == best]
        if len(winners) == 1:
            return winners[0]
    listed = ", ".join(str(int(c)) for c in counts)
    raise _fail(f"{value} % of n = {ni} is ambiguous at {unit}: counts {listed} all match; "
                f"use counts_matching_percent or ambiguous='nearest'",
                study=study, field=field, name="percent", i=i, size=size)


def count_from_percent(percent: Any, n: Any, *, decimals: int | None = None,
                       rounding: Literal["nearest", "truncate"] = "nearest",
                       ambiguous: Literal["raise", "nearest"] = "raise",
                       study: Any = None, field: str | None = None) -> Any:
    """The integer count whose percentage of ``n`` rounds to the reported ``percent``.

    Parameters
    ----------
    percent : float, str or array_like
        Reported percentage(s), 0 to 100. Strings keep their printed precision;
        floats are read through their shortest representation (see
        :func:`counts_matching_percent`).
    n : int or array_like of int
        Denominators, broadcast against ``percent``.
    decimals : int, optional
        Printed decimals of every percentage; inferred from each value when not given.
    rounding : {"nearest", "truncate"}
        How the printed percentages were made (see :func:`counts_matching_percent`).
    ambiguous : {"raise", "nearest"}
        When several counts match (only possible once ``n >= 100 * 10**decimals``):
        raise a DataError listing them (the default), or return the count closest
        to ``percent * n / 100`` (an exact tie still raises).
    study, field : optional
        Names used in error messages (``study`` may be a sequence of labels).

    Returns
    -------
    int or numpy.ndarray of int64
        An ``int`` for scalar input, else an array of the broadcast shape.

    Raises
    ------
    DataError
        When no count matches (the percentage is inconsistent with ``n``), when
        several match and ``ambiguous="raise"``, or on impossible input.

    Notes
    -----
    The count is the unique integer :math:`c \\in \\{0, \\dots, n\\}` with
    :math:`|100c/n - p| \\le 10^{-d}/2`, computed exactly. Its short name is
    ``"events_from_percent"``.

    References
    ----------
    .. [1] Brown NJL, Heathers JAJ. The GRIM test. Soc Psychol Personal Sci.
       2017;8(4):363-369. doi:10.1177/1948550616673876

    Examples
    --------
    Cete 2005: rescue medication in 38 % of 37 (metoclopramide), 44 % of 36
    (magnesium) and 65 % of 40 (placebo):

    >>> count_from_percent([38, 44, 65], [37, 36, 40]).tolist()
    [14, 16, 26]
    >>> count_from_percent(28.6, 35)  # Pfaffenrath 1996, magnesium arm
    10
    """
    rounding = _choice(rounding, ("nearest", "truncate"), "rounding")  # type: ignore[assignment]
    ambiguous = _choice(ambiguous, ("raise", "nearest"), "ambiguous")  # type: ignore[assignment]
    p_arr = np.array(percent, dtype=object)
    n_arr = np.array(n, dtype=object)
    scalar = p_arr.ndim == 0 and n_arr.ndim == 0
    try:
        p_b, n_b = np.broadcast_arrays(p_arr, n_arr)
    except ValueError:
        raise DataError(f"percent {p_arr.shape} and n {n_arr.shape} have incompatible shapes",
                        field=field) from None
    size = p_b.size
    _check_labels(study, size)
    out = np.empty(p_b.shape, dtype=np.int64)
    for i, (p, m) in enumerate(zip(p_b.reshape(-1), n_b.reshape(-1))):
        out.reshape(-1)[i] = _count_one(p, m, decimals, rounding, ambiguous, study, field, i, size)
    return int(out) if scalar else out


def check_count_percent(count: Any, percent: Any, n: Any, *, decimals: int | None = None,
                        rounding: Literal["nearest", "truncate"] = "nearest",
                        study: Any = None, field: str | None = None) -> Any:
    """Whether a reported count agrees with its reported percentage of ``n``.

    Parameters
    ----------
    count : int or array_like of int
        Reported count(s), between 0 and ``n``.
    percent : float, str or array_like
        Reported percentage(s) (see :func:`counts_matching_percent` for precision).
    n : int or array_like of int
        Denominators.
    decimals, rounding : optional
        As in :func:`counts_matching_percent`.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    bool or numpy.ndarray of bool
        True where ``100 * count / n`` rounds to ``percent``.

    Raises
    ------
    DataError
        On impossible input: a count that is negative, fractional or above ``n``,
        a percentage outside 0..100, a non-positive ``n``.

    Notes
    -----
    ``count`` is consistent when it lies in :func:`counts_matching_percent`.

    References
    ----------
    .. [1] Brown NJL, Heathers JAJ. The GRIM test. Soc Psychol Personal Sci.
       2017;8(4):363-369. doi:10.1177/1948550616673876

    Examples
    --------
    Zohaib et al.: "23 (65.7 %)" is consistent, "13 (34.3 %)" of 35 is not
    (13/35 = 37.1 %; 34.3 % is 12/35):

    >>> check_count_percent([23, 13], [65.7, 34.3], 35).tolist()
    [True, False]
    """
    rounding = _choice(rounding, ("nearest", "truncate"), "rounding")  # type: ignore[assignment]
    c_arr = np.array(count, dtype=object)
    p_arr = np.array(percent, dtype=object)
    n_arr = np.array(n, dtype=object)
    scalar = c_arr.ndim == 0 and p_arr.ndim == 0 and n_arr.ndim == 0
    try:
        c_b, p_b, n_b = np.broadcast_arrays(c_arr, p_arr, n_arr)
    except ValueError:
        raise DataError("count, percent and n have incompatible shapes", field=field) from None
    size = c_b.size
    _check_labels(study, size)
    out = np.empty(c_b.shape, dtype=bool)
    for i, (c, p, m) in enumerate(zip(c_b.reshape(-1), p_b.reshape(-1), n_b.reshape(-1))):
        counts, _, _, ni = _matching(p, m, decimals, rounding, study, field, i, size)
        try:
            cf = float(c)
        except (TypeError, ValueError):
            raise _fail(f"count must be a whole number, got {c!r}", study=study, field=field, name="count",
                        i=i, size=size) from None
        if isinstance(c, (bool, np.bool_)) or not math.isfinite(cf) or not cf.is_integer() or cf < 0:
            raise _fail(f"count must be a non-negative whole number, got {c!r}", study=study, field=field,
                        name="count", i=i, size=size)
        if cf > ni:
            raise _fail(f"count ({_num(cf)}) exceeds n ({ni})", study=study, field=field, name="count",
                        i=i, size=size)
        out.reshape(-1)[i] = bool(np.isin(int(cf), counts))
    return bool(out) if scalar else out


# --------------------------------------------------------------------------------------------
# mean and SD from median, quartiles and/or range
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SkewnessTest:
    """Test for skewness from reported quantiles (Shi et al. 2023).

    Attributes
    ----------
    statistic, critical : float or numpy.ndarray
        Test statistic and its critical value at the 5 % level.
    significant : bool or numpy.ndarray of bool
        ``statistic >= critical``: the quantiles suggest skewed data, so a
        normal-theory mean/SD estimate is doubtful.
    scenario : str
        ``"S1"`` (median and range), ``"S2"`` (median and quartiles) or ``"S3"`` (both).
    """

    statistic: Any
    critical: Any
    significant: Any
    scenario: str

    def to_frame(self) -> pd.DataFrame:
        """One row per study with columns ``statistic``, ``critical``, ``significant``, ``scenario``."""
        return pd.DataFrame({
            "statistic": np.atleast_1d(self.statistic),
            "critical": np.atleast_1d(self.critical),
            "significant": np.atleast_1d(self.significant),
            "scenario": self.scenario,
        })


@dataclass(frozen=True)
class MeanSD:
    """Estimated mean and SD of one arm (or of each arm, for array input).

    Unpacks as ``mean, sd = mean_sd_from_median(...)``.

    Attributes
    ----------
    mean, sd : float or numpy.ndarray
        The estimates.
    scenario : str
        ``"S1"``, ``"S2"`` or ``"S3"`` (see :func:`mean_sd_from_median`).
    method : str
        ``"luo_wan"``, ``"wan"`` or ``"hozo"``.
    conversion : str
        Short name, a key of :data:`CONVERSIONS`.
    skewness : SkewnessTest
        The skewness test of the reported quantiles.
    """

    mean: Any
    sd: Any
    scenario: str
    method: str
    conversion: str
    skewness: SkewnessTest

    def __iter__(self) -> Iterator[Any]:
        yield self.mean
        yield self.sd

    def to_frame(self) -> pd.DataFrame:
        """One row per arm: ``mean``, ``sd``, ``scenario``, ``method``, ``conversion``, ``skew_*``."""
        return pd.DataFrame({
            "mean": np.atleast_1d(self.mean),
            "sd": np.atleast_1d(self.sd),
            "scenario": self.scenario,
            "method": self.method,
            "conversion": self.conversion,
            "skew_statistic": np.atleast_1d(self.skewness.statistic),
            "skew_critical": np.atleast_1d(self.skewness.critical),
            "skew_significant": np.atleast_1d(self.skewness.significant),
        })


def _xi(n: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wan et al. 2014 eq. 9: expected range of n standard normals, 2 Phi^-1((n - 0.375)/(n + 0.25))."""
    from scipy import stats

    return np.asarray(2.0 * stats.norm.ppf((n - 0.375) / (n + 0.25)), dtype=float)


def _eta(n: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wan et al. 2014 eq. 16: expected IQR of n standard normals, 2 Phi^-1((0.75 n - 0.125)/(n + 0.25))."""
    from scipy import stats

    return np.asarray(2.0 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25)), dtype=float)


def _scenario(q1: Any, q3: Any, minimum: Any, maximum: Any) -> str:
    has_iqr = q1 is not None or q3 is not None
    has_range = minimum is not None or maximum is not None
    if (q1 is None) != (q3 is None):
        raise DataError("give both q1 and q3, or neither", field="q1" if q1 is None else "q3")
    if (minimum is None) != (maximum is None):
        raise DataError("give both minimum and maximum, or neither",
                        field="minimum" if minimum is None else "maximum")
    if has_iqr and has_range:
        return "S3"
    if has_iqr:
        return "S2"
    if has_range:
        return "S1"
    raise DataError("give the quartiles (q1, q3), the range (minimum, maximum), or both", field="q1")


def _quantile_inputs(median: Any, n: Any, q1: Any, q3: Any, minimum: Any, maximum: Any,
                     study: Any, field: str | None
                     ) -> tuple[str, dict[str, NDArray[np.float64]], bool]:
    scenario = _scenario(q1, q3, minimum, maximum)
    names = ["median", "n"]
    values = [median, n]
    if scenario in ("S2", "S3"):
        names += ["q1", "q3"]
        values += [q1, q3]
    if scenario in ("S1", "S3"):
        names += ["minimum", "maximum"]
        values += [minimum, maximum]
    arrays, scalar = _broadcast(names, values, study, field)
    a = dict(zip(names, arrays))
    nn = a["n"]
    _integer_valued(nn, "n", study, field)
    _require(nn >= 5, lambda i: f"n is {_num(nn.flat[i])}; these approximations need n >= 5 "
             "(as metafor's conv.fivenum does)", study=study, field=field, name="n")
    order = [k for k in ("minimum", "q1", "median", "q3", "maximum") if k in a]
    for lo, hi in zip(order[:-1], order[1:]):
        _require(a[lo] <= a[hi], lambda i, lo=lo, hi=hi: f"{lo} ({_num(a[lo].flat[i])}) exceeds {hi} "
                 f"({_num(a[hi].flat[i])}); need minimum <= q1 <= median <= q3 <= maximum",
                 study=study, field=field, name=lo)
    return scenario, a, scalar


def _skew_parts(scenario: str, a: dict[str, NDArray[np.float64]]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n, m = a["n"], a["median"]

    def ratio(lo: NDArray[np.float64], hi: NDArray[np.float64]) -> NDArray[np.float64]:
        width = hi - lo
        safe = np.where(width > 0, width, 1.0)
        # zero width means lo == median == hi: perfectly symmetric
        return np.where(width > 0, np.abs((lo + hi - 2.0 * m) / safe), 0.0)

    if scenario == "S1":
        t = ratio(a["minimum"], a["maximum"])
        crit = 1.0 / np.log(n + 9.0) + 2.5 / (n + 1.0)
    elif scenario == "S2":
        t = ratio(a["q1"], a["q3"])
        crit = 2.65 / np.sqrt(n) - 6.0 / n ** 2
    else:
        t = np.maximum(2.65 * np.log(0.6 * n) / np.sqrt(n) * ratio(a["minimum"], a["maximum"]),
                       ratio(a["q1"], a["q3"]))
        crit = 3.0 / np.sqrt(n) - 40.0 / n ** 3
    return t, crit


def median_skewness_test(median: ArrayLike, *, n: ArrayLike, q1: ArrayLike | None = None,
                         q3: ArrayLike | None = None, minimum: ArrayLike | None = None,
                         maximum: ArrayLike | None = None, study: Any = None,
                         field: str | None = None) -> SkewnessTest:
    """Test whether reported quantiles suggest skewed data (Shi et al. 2023).

    Parameters
    ----------
    median : float or array_like
        Sample median(s).
    n : int or array_like
        Sample sizes (at least 5).
    q1, q3 : float or array_like, optional
        First and third quartiles (give both or neither).
    minimum, maximum : float or array_like, optional
        Sample minimum and maximum (give both or neither).
    study, field : optional
        Names used in error messages.

    Returns
    -------
    SkewnessTest

    Raises
    ------
    DataError
        Quantiles out of order, ``n < 5``, missing partner arguments.

    Notes
    -----
    With :math:`a, q_1, m, q_3, b` the minimum, quartiles, median and maximum,
    :math:`T_1 = |(a + b - 2m)/(b - a)|` with critical value
    :math:`1/\\ln(n + 9) + 2.5/(n + 1)` (S1);
    :math:`T_2 = |(q_1 + q_3 - 2m)/(q_3 - q_1)|` with :math:`2.65/\\sqrt{n} - 6/n^2` (S2);
    :math:`T_3 = \\max(2.65 \\ln(0.6 n)/\\sqrt{n} \\, T_1, T_2)` with
    :math:`3/\\sqrt{n} - 40/n^3` (S3). A zero-width range or IQR counts as symmetric
    (:math:`T = 0`). These are the 5 %-level rules that metafor's ``conv.fivenum``
    (version 4.0 and later) applies.

    References
    ----------
    .. [1] Shi J, Luo D, Wan X, et al. Detecting the skewness of data from the
       five-number summary and its application in meta-analysis. Stat Methods Med Res.
       2023;32(7):1338-1360. doi:10.1177/09622802231172043

    Examples
    --------
    >>> res = median_skewness_test(6, n=20, q1=4, q3=14, minimum=2, maximum=20)
    >>> bool(res.significant)
    True
    """
    scenario, a, scalar = _quantile_inputs(median, n, q1, q3, minimum, maximum, study, field)
    t, crit = _skew_parts(scenario, a)
    sig = t >= crit
    if scalar:
        return SkewnessTest(float(t), float(crit), bool(sig), scenario)
    return SkewnessTest(t, crit, sig, scenario)


_MEAN_SD_CONVERSION = {
    ("luo_wan", "S1"): "mean_sd_from_median_range",
    ("luo_wan", "S2"): "mean_sd_from_median_iqr",
    ("luo_wan", "S3"): "mean_sd_from_median_range_iqr",
    ("wan", "S1"): "mean_sd_from_median_range_wan",
    ("wan", "S2"): "mean_sd_from_median_iqr_wan",
    ("wan", "S3"): "mean_sd_from_median_range_iqr_wan",
    ("hozo", "S1"): "mean_sd_from_median_range_hozo",
}


def mean_sd_from_median(median: ArrayLike, *, n: ArrayLike, q1: ArrayLike | None = None,
                        q3: ArrayLike | None = None, minimum: ArrayLike | None = None,
                        maximum: ArrayLike | None = None,
                        method: Literal["luo_wan", "wan", "hozo"] = "luo_wan",
                        skew_test: Literal["warn", "raise", "ignore"] = "warn",
                        study: Any = None, field: str | None = None) -> MeanSD:
    """Estimate an arm's mean and SD from its median with quartiles and/or range.

    Parameters
    ----------
    median : float or array_like
        Sample median(s) :math:`m`.
    n : int or array_like
        Sample size(s), whole numbers of at least 5.
    q1, q3 : float or array_like, optional
        First and third quartiles :math:`q_1, q_3` (both or neither).
    minimum, maximum : float or array_like, optional
        Sample minimum :math:`a` and maximum :math:`b` (both or neither).
    method : {"luo_wan", "wan", "hozo"}
        ``"luo_wan"`` (default, what metafor's ``conv.fivenum`` calls
        ``"luo/wan/shi"``): means by Luo et al. 2018, SDs by Wan et al. 2014 (S1, S2)
        and Shi et al. 2020 (S3). ``"wan"``: the simpler means and SDs of Wan et
        al. 2014. ``"hozo"``: Hozo et al. 2005, for S1 only.
    skew_test : {"warn", "raise", "ignore"}
        What to do when :func:`median_skewness_test` is significant (the estimates
        assume normal data): issue an :class:`~mgmeta.errors.MgmetaWarning` (the
        default), raise a DataError, or nothing. metafor's ``conv.fivenum``
        by default leaves such studies out.
    study, field : optional
        Names used in error messages (``study`` may be a sequence of labels).

    Returns
    -------
    MeanSD
        ``mean``, ``sd`` (floats for scalar input), ``scenario``, ``method``,
        ``conversion`` (key of :data:`CONVERSIONS`) and ``skewness``.

    Raises
    ------
    DataError
        Quantiles out of order, ``n`` not a whole number >= 5, a zero SD estimate
        (all reported quantiles equal), ``method="hozo"`` without the range, or a
        significant skewness test with ``skew_test="raise"``.

    Notes
    -----
    The scenario follows from the arguments given: S1 = {a, m, b}, S2 = {q1, m, q3},
    S3 = {a, q1, m, q3, b}. With
    :math:`\\xi(n) = 2\\Phi^{-1}\\{(n - 0.375)/(n + 0.25)\\}` and
    :math:`\\eta(n) = 2\\Phi^{-1}\\{(0.75n - 0.125)/(n + 0.25)\\}`:

    ``"luo_wan"``

    - S1: :math:`\\bar x = w (a + b)/2 + (1 - w) m`, :math:`w = 4/(4 + n^{0.75})`
      (Luo eq. 7); :math:`s = (b - a)/\\xi(n)` (Wan eq. 9).
    - S2: :math:`\\bar x = w (q_1 + q_3)/2 + (1 - w) m`, :math:`w = 0.7 + 0.39/n`
      (Luo eq. 11); :math:`s = (q_3 - q_1)/\\eta(n)` (Wan eq. 16).
    - S3: :math:`\\bar x = w_1 (a + b)/2 + w_2 (q_1 + q_3)/2 + (1 - w_1 - w_2) m`,
      :math:`w_1 = 2.2/(2.2 + n^{0.75})`, :math:`w_2 = 0.7 - 0.72/n^{0.55}` (Luo eq. 15);
      :math:`s = w (b - a)/\\xi(n) + (1 - w)(q_3 - q_1)/\\eta(n)`,
      :math:`w = 1/(1 + 0.07 n^{0.6})` (Shi eq. 10).

    ``"wan"``: means :math:`(a + 2m + b)/4` (S1), :math:`(q_1 + m + q_3)/3` (S2),
    :math:`(a + 2q_1 + 2m + 2q_3 + b)/8` (S3); SDs as above for S1 and S2 and
    :math:`\\tfrac12\\{(b - a)/\\xi(n) + (q_3 - q_1)/\\eta(n)\\}` for S3.

    ``"hozo"`` (S1): mean :math:`(a + 2m + b)/4` if :math:`n \\le 25`, else :math:`m`;
    SD :math:`\\sqrt{\\{(a - 2m + b)^2/4 + (b - a)^2\\}/12}` if :math:`n \\le 15`,
    :math:`(b - a)/4` if :math:`15 < n \\le 70`, :math:`(b - a)/6` beyond.

    These agree with metafor's ``conv.fivenum`` (metafor >= 4.0; methods
    ``"luo/wan/shi"``, ``"wan2014"`` and ``"hozo2005"``, ``dist="norm"``), which
    metafor 3.8 does not have. All assume approximately normal data; the
    log-normal variants of Shi et al. (2020b) are not implemented.

    References
    ----------
    .. [1] Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the
       sample size, median, mid-range, and/or mid-quartile range. Stat Methods Med Res.
       2018;27(6):1785-1805. doi:10.1177/0962280216669183
    .. [2] Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard
       deviation from the sample size, median, range and/or interquartile range.
       BMC Med Res Methodol. 2014;14:135. doi:10.1186/1471-2288-14-135
    .. [3] Shi J, Luo D, Weng H, et al. Optimally estimating the sample standard
       deviation from the five-number summary. Res Synth Methods. 2020;11(5):641-654.
       doi:10.1002/jrsm.1429
    .. [4] Hozo SP, Djulbegovic B, Hozo I. Estimating the mean and variance from the
       median, range, and the size of a sample. BMC Med Res Methodol. 2005;5:13.
       doi:10.1186/1471-2288-5-13
    .. [5] Shi J, Luo D, Wan X, et al. Detecting the skewness of data from the
       five-number summary and its application in meta-analysis. Stat Methods Med Res.
       2023;32(7):1338-1360. doi:10.1177/09622802231172043

    Examples
    --------
    Kandil 2021, magnesium arm: median decrease in pain score 4 (IQR 2 to 6), n = 61:

    >>> res = mean_sd_from_median(4, q1=2, q3=6, n=61)
    >>> round(res.mean, 4), round(res.sd, 4)
    (4.0, 3.0371)
    >>> res.conversion
    'mean_sd_from_median_iqr'
    """
    method = _choice(method, ("luo_wan", "wan", "hozo"), "method")  # type: ignore[assignment]
    skew_test = _choice(skew_test, ("warn", "raise", "ignore"), "skew_test")  # type: ignore[assignment]
    scenario, a, scalar = _quantile_inputs(median, n, q1, q3, minimum, maximum, study, field)
    if method == "hozo" and scenario != "S1":
        raise DataError("method 'hozo' needs the range (minimum, maximum) and no quartiles "
                        f"(scenario S1); got scenario {scenario}", field="method")
    nn, m = a["n"], a["median"]
    if scenario in ("S1", "S3"):
        lo, hi = a["minimum"], a["maximum"]
        rng = hi - lo
        xi = _xi(nn)
    if scenario in ("S2", "S3"):
        iq1, iq3 = a["q1"], a["q3"]
        iqr = iq3 - iq1
        eta = _eta(nn)

    if method == "luo_wan":
        if scenario == "S1":
            w = 4.0 / (4.0 + nn ** 0.75)
            mean = w * (lo + hi) / 2.0 + (1.0 - w) * m
            sd = rng / xi
        elif scenario == "S2":
            w = 0.7 + 0.39 / nn
            mean = w * (iq1 + iq3) / 2.0 + (1.0 - w) * m
            sd = iqr / eta
        else:
            w1 = 2.2 / (2.2 + nn ** 0.75)
            w2 = 0.7 - 0.72 / nn ** 0.55
            mean = w1 * (lo + hi) / 2.0 + w2 * (iq1 + iq3) / 2.0 + (1.0 - w1 - w2) * m
            w = 1.0 / (1.0 + 0.07 * nn ** 0.6)
            sd = w * rng / xi + (1.0 - w) * iqr / eta
    elif method == "wan":
        if scenario == "S1":
            mean = (lo + 2.0 * m + hi) / 4.0
            sd = rng / xi
        elif scenario == "S2":
            mean = (iq1 + m + iq3) / 3.0
            sd = iqr / eta
        else:
            mean = (lo + 2.0 * iq1 + 2.0 * m + 2.0 * iq3 + hi) / 8.0
            sd = 0.5 * (rng / xi + iqr / eta)
    else:  # hozo, S1
        mean = np.where(nn <= 25, (lo + 2.0 * m + hi) / 4.0, m)
        sd_small = np.sqrt(((lo - 2.0 * m + hi) ** 2 / 4.0 + rng ** 2) / 12.0)
        sd = np.where(nn <= 15, sd_small, np.where(nn <= 70, rng / 4.0, rng / 6.0))

    spread = {"S1": "minimum equals maximum", "S2": "q1 equals q3",
              "S3": "minimum equals maximum and q1 equals q3"}[scenario]
    _require(sd > 0, lambda i: f"{spread}, so the SD estimate would be 0", study=study, field=field,
             name="maximum" if scenario != "S2" else "q3")

    t, crit = _skew_parts(scenario, a)
    sig = t >= crit
    skew = (SkewnessTest(float(t), float(crit), bool(sig), scenario) if scalar
            else SkewnessTest(t, crit, sig, scenario))
    if skew_test != "ignore" and bool(np.any(sig)):
        i = _first(sig)
        assert i is not None
        msg = (f"the reported quantiles suggest skewed data (Shi et al. 2023 test, scenario {scenario}: "
               f"statistic {float(t.flat[i]):.3f} >= critical value {float(crit.flat[i]):.3f}); "
               "the mean/SD estimate assumes normal data")
        if skew_test == "raise":
            raise _fail(msg, study=study, field=field, name="median", i=i, size=sig.size)
        warnings.warn(_where(study, field, i, sig.size) + msg, MgmetaWarning, stacklevel=2)

    return MeanSD(mean=_out(np.asarray(mean, dtype=float), scalar), sd=_out(np.asarray(sd, dtype=float), scalar),
                  scenario=scenario, method=method, conversion=_MEAN_SD_CONVERSION[(method, scenario)],
                  skewness=skew)


# --------------------------------------------------------------------------------------------
# SDs and SEs from CIs, p-values and SEs
# --------------------------------------------------------------------------------------------

def sd_from_ci(lower: ArrayLike, upper: ArrayLike, n: ArrayLike, *, level: float = 0.95,
               dist: Literal["t", "z"] = "t", study: Any = None, field: str | None = None) -> Any:
    """SD of a single arm from the confidence interval of its mean.

    Parameters
    ----------
    lower, upper : float or array_like
        CI limits of the arm's mean.
    n : int or array_like
        Arm size(s); whole numbers, at least 2 for ``dist="t"``.
    level : float
        Confidence level, 0.95 or 95 (both accepted).
    dist : {"t", "z"}
        Quantile used to build the CI: Student t with n - 1 df (default, right for
        small samples) or the normal (3.92 = 2 x 1.96 at 95 %).
    study, field : optional
        Names used in error messages.

    Returns
    -------
    float or numpy.ndarray
        :math:`SD = \\sqrt{n}\\,(upper - lower)/(2\\,c)`.

    Raises
    ------
    DataError
        ``upper <= lower``, ``n`` not a whole number, too small, or unknown options.

    Notes
    -----
    :math:`c` is :math:`t_{(1+level)/2,\\,n-1}` or :math:`z_{(1+level)/2}`. The
    Handbook recommends the t quantile unless the sample is large (its 3.92 is the
    normal value for 95 %). Short names ``"sd_from_ci"`` (t) and ``"sd_from_ci_z"``.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and
       computing estimates of effect. In: Cochrane Handbook for Systematic Reviews of
       Interventions, version 6.5. Cochrane, 2024. Section 6.5.2.2.
       doi:10.1002/9781119536604.ch6

    Examples
    --------
    A mean with 95 % CI 3.12 to 3.55 in a group of 25 (Handbook 6.5.2.2: for
    n = 25 the divisor 3.92 becomes 2 x 2.0639 = 4.128):

    >>> round(sd_from_ci(3.12, 3.55, 25), 3)
    0.521
    """
    dist = _choice(dist, ("t", "z"), "dist")  # type: ignore[assignment]
    lv = check_level(level)
    (lo, hi, nn), scalar = _broadcast(("lower", "upper", "n"), (lower, upper, n), study, field)
    _integer_valued(nn, "n", study, field)
    min_n = 2 if dist == "t" else 1
    _require(nn >= min_n, lambda i: f"n is {_num(nn.flat[i])}; need n >= {min_n}" +
             (" for a t-based CI (n - 1 degrees of freedom)" if dist == "t" else ""),
             study=study, field=field, name="n")
    _require(hi > lo, lambda i: f"upper CI limit ({_num(hi.flat[i])}) must exceed lower ({_num(lo.flat[i])})",
             study=study, field=field, name="upper")
    crit = _critical(lv, dist, nn - 1.0 if dist == "t" else None)
    return _out(np.sqrt(nn) * (hi - lo) / (2.0 * crit), scalar)


def se_from_ci(lower: ArrayLike, upper: ArrayLike, *, level: float = 0.95, log: bool = False,
               dist: Literal["z", "t"] = "z", df: ArrayLike | None = None,
               study: Any = None, field: str | None = None) -> Any:
    """Standard error of an estimate from its confidence interval.

    Parameters
    ----------
    lower, upper : float or array_like
        CI limits. For ratios (OR, RR, HR) give them on the natural scale with
        ``log=True``.
    level : float
        Confidence level, 0.95 or 95.
    log : bool
        If True, return the SE of the log of the estimate (the limits must be positive).
    dist : {"z", "t"}
        Normal quantile (default) or Student t with ``df`` degrees of freedom.
    df : float or array_like, optional
        Degrees of freedom, required for ``dist="t"``.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    float or numpy.ndarray
        :math:`SE = (upper - lower)/(2c)` or :math:`(\\ln upper - \\ln lower)/(2c)`.

    Raises
    ------
    DataError
        ``upper <= lower``, non-positive limits with ``log=True``, bad ``df``.

    Notes
    -----
    :math:`c = z_{(1+level)/2}` (1.96 at 95 %) or :math:`t_{(1+level)/2,\\,df}`.
    Short names ``"se_from_ci"`` and ``"se_from_ci_log"``.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Sections
       6.3.1 (differences) and 6.3.2 (ratios). doi:10.1002/9781119536604.ch6

    Examples
    --------
    Corbo 2001: mean difference 16 mm, 95 % CI -2 to 34:

    >>> round(se_from_ci(-2, 34), 4)
    9.1838
    >>> round(se_from_ci(0.5, 2.0, log=True), 4)  # an OR with CI 0.5 to 2.0
    0.3537
    """
    dist = _choice(dist, ("z", "t"), "dist")  # type: ignore[assignment]
    lv = check_level(level)
    names: list[str] = ["lower", "upper"]
    values: list[Any] = [lower, upper]
    if dist == "t":
        if df is None:
            raise DataError("dist='t' needs df", field="df")
        names.append("df")
        values.append(df)
    arrays, scalar = _broadcast(names, values, study, field)
    lo, hi = arrays[0], arrays[1]
    if log:
        _require(lo > 0, lambda i: f"lower CI limit of a ratio must be positive, got {_num(lo.flat[i])}",
                 study=study, field=field, name="lower")
        _require(hi > 0, lambda i: f"upper CI limit of a ratio must be positive, got {_num(hi.flat[i])}",
                 study=study, field=field, name="upper")
    _require(hi > lo, lambda i: f"upper CI limit ({_num(hi.flat[i])}) must exceed lower ({_num(lo.flat[i])})",
             study=study, field=field, name="upper")
    if dist == "t":
        dfa = arrays[2]
        _require(dfa > 0, lambda i: f"df must be positive, got {_num(dfa.flat[i])}", study=study, field=field,
                 name="df")
        crit = _critical(lv, "t", dfa)
    else:
        crit = _critical(lv, "z", None)
    width = np.log(hi) - np.log(lo) if log else hi - lo
    return _out(width / (2.0 * crit), scalar)


def se_from_pvalue(estimate: ArrayLike, pvalue: ArrayLike, *, log: bool = False,
                   dist: Literal["z", "t"] = "z", df: ArrayLike | None = None,
                   study: Any = None, field: str | None = None) -> Any:
    """Standard error of an estimate from its two-sided p-value.

    Parameters
    ----------
    estimate : float or array_like
        The estimate (a difference, or a ratio on the natural scale with ``log=True``).
    pvalue : float or array_like
        Exact two-sided p-value(s) in (0, 1). A bound such as "p < 0.05" is not a
        p-value: using 0.05 gives a conservative (too large) SE.
    log : bool
        If True, return the SE of the log of the (positive) ratio ``estimate``.
    dist : {"z", "t"}
        The test's reference distribution: normal (default) or Student t with ``df``.
    df : float or array_like, optional
        Degrees of freedom for ``dist="t"``.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    float or numpy.ndarray
        :math:`SE = |\\hat\\theta| / c`, with :math:`c` the :math:`1 - p/2` quantile
        and :math:`\\hat\\theta` the estimate or its log.

    Raises
    ------
    DataError
        ``pvalue`` outside (0, 1) (p = 1 gives no information), an estimate of
        0 (or a ratio of 1), a non-positive ratio.

    Notes
    -----
    Short names ``"se_from_pvalue"`` and ``"se_from_pvalue_log"``.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Sections
       6.3.1 and 6.3.2. doi:10.1002/9781119536604.ch6
    .. [2] Altman DG, Bland JM. How to obtain the confidence interval from a P value.
       BMJ. 2011;343:d2090. doi:10.1136/bmj.d2090

    Examples
    --------
    A risk ratio of 0.65 with p = 0.04:

    >>> round(se_from_pvalue(0.65, 0.04, log=True), 4)
    0.2098
    """
    dist = _choice(dist, ("z", "t"), "dist")  # type: ignore[assignment]
    names: list[str] = ["estimate", "pvalue"]
    values: list[Any] = [estimate, pvalue]
    if dist == "t":
        if df is None:
            raise DataError("dist='t' needs df", field="df")
        names.append("df")
        values.append(df)
    arrays, scalar = _broadcast(names, values, study, field)
    est, p = arrays[0], arrays[1]
    _require((p > 0) & (p < 1), lambda i: f"pvalue must lie strictly between 0 and 1, got {_num(p.flat[i])}",
             study=study, field=field, name="pvalue")
    if log:
        _require(est > 0, lambda i: f"a ratio estimate must be positive, got {_num(est.flat[i])}",
                 study=study, field=field, name="estimate")
        theta = np.log(est)
    else:
        theta = est
    _require(theta != 0, lambda i: "the estimate is at the null (" + ("ratio 1" if log else "0") +
             "), so the p-value carries no SE", study=study, field=field, name="estimate")
    from scipy import stats

    q = 1.0 - p / 2.0
    if dist == "t":
        dfa = arrays[2]
        _require(dfa > 0, lambda i: f"df must be positive, got {_num(dfa.flat[i])}", study=study, field=field,
                 name="df")
        crit = np.asarray(stats.t.ppf(q, dfa), dtype=float)
    else:
        crit = np.asarray(stats.norm.ppf(q), dtype=float)
    return _out(np.abs(theta) / crit, scalar)


def sd_from_se(se: ArrayLike, n: ArrayLike, *, study: Any = None, field: str | None = None) -> Any:
    """SD of a single arm from the standard error of its mean.

    Parameters
    ----------
    se : float or array_like
        Standard error(s) of the arm mean, positive.
    n : int or array_like
        Arm size(s), positive whole numbers.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    float or numpy.ndarray
        :math:`SD = SE\\sqrt{n}`.

    Raises
    ------
    DataError
        Non-positive ``se`` or ``n``, fractional ``n``.

    Notes
    -----
    Only for the SE of one group's mean, not of a difference in means.
    Short name ``"sd_from_se"``.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Section
       6.5.2.2. doi:10.1002/9781119536604.ch6

    Examples
    --------
    >>> sd_from_se(0.5, 25)
    2.5
    """
    (s, nn), scalar = _broadcast(("se", "n"), (se, n), study, field)
    _require(s > 0, lambda i: f"se must be positive, got {_num(s.flat[i])}", study=study, field=field, name="se")
    _integer_valued(nn, "n", study, field)
    _require(nn >= 1, lambda i: f"n must be at least 1, got {_num(nn.flat[i])}", study=study, field=field,
             name="n")
    return _out(s * np.sqrt(nn), scalar)


# --------------------------------------------------------------------------------------------
# contrasts from CIs
# --------------------------------------------------------------------------------------------

_RATIO_MEASURES = ("OR", "RR", "HR", "IRR", "ROM", "PETO")
_DIFFERENCE_MEASURES = ("MD", "SMD", "RD")


@dataclass(frozen=True)
class Contrast:
    """An effect estimate on the analysis scale with its sampling variance.

    Unpacks as ``yi, vi = contrast_from_ci(...)``.

    Attributes
    ----------
    yi : float or numpy.ndarray
        Estimate on the analysis scale (log scale for ratio measures).
    vi : float or numpy.ndarray
        Sampling variance of ``yi``.
    measure : str
        metafor's name of the measure (``"OR"``, ``"MD"``, ...).
    conversion : str
        Short name, a key of :data:`CONVERSIONS`.
    """

    yi: Any
    vi: Any
    measure: str
    conversion: str = "contrast_from_ci"

    @property
    def se(self) -> Any:
        """Standard error, the square root of ``vi``."""
        return float(np.sqrt(self.vi)) if np.ndim(self.vi) == 0 else np.sqrt(self.vi)

    def __iter__(self) -> Iterator[Any]:
        yield self.yi
        yield self.vi

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``yi``, ``vi``, ``se``, ``measure``, ``conversion``."""
        return pd.DataFrame({"yi": np.atleast_1d(self.yi), "vi": np.atleast_1d(self.vi),
                             "se": np.atleast_1d(self.se), "measure": self.measure,
                             "conversion": self.conversion})


def contrast_from_ci(estimate: ArrayLike, lower: ArrayLike, upper: ArrayLike, *, measure: str,
                     level: float = 0.95, study: Any = None, field: str | None = None) -> Contrast:
    """``yi`` and ``vi`` of a reported contrast from its estimate and confidence interval.

    Parameters
    ----------
    estimate, lower, upper : float or array_like
        Reported estimate and CI limits, ratios (OR, RR, HR, IRR, ROM, PETO) on the
        natural scale, differences (MD, SMD, RD) as they are.
    measure : str
        One of ``"OR" "RR" "HR" "IRR" "ROM" "PETO"`` (analysed on the log scale) or
        ``"MD" "SMD" "RD"``.
    level : float
        Confidence level of the reported interval, 0.95 or 95.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    Contrast
        ``yi`` (log scale for ratios) and ``vi``.

    Raises
    ------
    DataError
        Unknown measure, ``upper <= lower``, an estimate outside its CI,
        non-positive ratios.

    Warns
    -----
    MgmetaWarning
        When the estimate lies more than 10 % of the CI width away from the
        CI's midpoint on the analysis scale (as metafor's ``conv.wald`` warns): the
        CI may not be a Wald interval on that scale, or a number may be mistyped.

    Notes
    -----
    :math:`y_i = \\hat\\theta` (or :math:`\\ln\\hat\\theta`) and
    :math:`v_i = \\{(U - L)/(2 z_{(1+level)/2})\\}^2` with :math:`L, U` the limits on
    the analysis scale: the Wald interval :math:`y_i \\pm z\\sqrt{v_i}` inverted.
    This is what metafor's ``conv.wald`` (metafor >= 4.0) computes when both limits
    are given.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Section 6.3.
       doi:10.1002/9781119536604.ch6
    .. [2] Viechtbauer W. Conducting meta-analyses in R with the metafor package.
       J Stat Softw. 2010;36(3):1-48. doi:10.18637/jss.v036.i03

    Examples
    --------
    Corbo 2001: pain 16 mm worse with magnesium (95 % CI -2 to 34):

    >>> yi, vi = contrast_from_ci(16, -2, 34, measure="MD")
    >>> yi, round(vi, 3)
    (16.0, 84.343)
    """
    if not isinstance(measure, str) or measure not in _RATIO_MEASURES + _DIFFERENCE_MEASURES:
        raise DataError(f"unknown measure {measure!r}; expected one of "
                        f"{', '.join(map(repr, _RATIO_MEASURES + _DIFFERENCE_MEASURES))}", field="measure")
    lv = check_level(level)
    (est, lo, hi), scalar = _broadcast(("estimate", "lower", "upper"), (estimate, lower, upper), study, field)
    ratio = measure in _RATIO_MEASURES
    if ratio:
        for name, arr in (("estimate", est), ("lower", lo), ("upper", hi)):
            _require(arr > 0, lambda i, name=name, arr=arr: f"{name} of a ratio measure ({measure}) must be "
                     f"positive, got {_num(arr.flat[i])}", study=study, field=field, name=name)
    _require(hi > lo, lambda i: f"upper CI limit ({_num(hi.flat[i])}) must exceed lower ({_num(lo.flat[i])})",
             study=study, field=field, name="upper")
    _require((est >= lo) & (est <= hi), lambda i: f"estimate ({_num(est.flat[i])}) lies outside its CI "
             f"({_num(lo.flat[i])} to {_num(hi.flat[i])})", study=study, field=field, name="estimate")
    if ratio:
        est, lo, hi = np.log(est), np.log(lo), np.log(hi)
    crit = _critical(lv, "z", None)
    vi = ((hi - lo) / (2.0 * crit)) ** 2
    off = np.abs((lo + hi) / 2.0 - est) / (hi - lo)
    if bool(np.any(off > 0.1)):
        i = _first(off > 0.1)
        assert i is not None
        scale = "log scale" if ratio else "its scale"
        warnings.warn(_where(study, field, i, off.size) +
                      f"the estimate is not near the middle of its CI on {scale} "
                      f"(off by {100 * float(off.flat[i]):.0f} % of the CI width); check the numbers and "
                      "whether the CI is a Wald interval", MgmetaWarning, stacklevel=2)
    return Contrast(yi=_out(est, scalar), vi=_out(vi, scalar), measure=measure)


# --------------------------------------------------------------------------------------------
# multi-arm trials
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arm:
    """Sample size, mean and SD of a (combined) arm. Unpacks as ``n, mean, sd``."""

    n: Any
    mean: Any
    sd: Any
    conversion: str = "combine_arms"

    def __iter__(self) -> Iterator[Any]:
        yield self.n
        yield self.mean
        yield self.sd

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``n``, ``mean``, ``sd``, ``conversion``."""
        return pd.DataFrame({"n": np.atleast_1d(self.n), "mean": np.atleast_1d(self.mean),
                             "sd": np.atleast_1d(self.sd), "conversion": self.conversion})


def _arm_checks(n: NDArray[np.float64], sd: NDArray[np.float64], suffix: str, study: Any,
                field: str | None) -> None:
    _integer_valued(n, f"n{suffix}", study, field)
    _require(n >= 1, lambda i: f"n{suffix} must be at least 1, got {_num(n.flat[i])}", study=study, field=field,
             name=f"n{suffix}")
    _require(sd >= 0, lambda i: f"sd{suffix} must be non-negative, got {_num(sd.flat[i])}", study=study,
             field=field, name=f"sd{suffix}")


def combine_arms(n1: ArrayLike, mean1: ArrayLike, sd1: ArrayLike, n2: ArrayLike, mean2: ArrayLike,
                 sd2: ArrayLike, *, study: Any = None, field: str | None = None) -> Arm:
    """Combine two arms' sizes, means and SDs into one arm.

    Parameters
    ----------
    n1, mean1, sd1 : float or array_like
        Size, mean and SD of the first arm.
    n2, mean2, sd2 : float or array_like
        Size, mean and SD of the second arm.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    Arm
        ``n``, ``mean``, ``sd`` of the combined arm.

    Raises
    ------
    DataError
        Sizes below 1 or fractional, negative SDs.

    Notes
    -----
    Cochrane Handbook Table 6.5.a:

    .. math::

        N = N_1 + N_2, \\quad M = (N_1 M_1 + N_2 M_2)/N,

        SD = \\sqrt{\\frac{(N_1 - 1) SD_1^2 + (N_2 - 1) SD_2^2
             + \\frac{N_1 N_2}{N}(M_1 - M_2)^2}{N - 1}}.

    These are exactly the mean and SD (n - 1 denominator) of the pooled raw data,
    so combining is associative and commutative: fold it over more arms, or use
    :func:`combine_arms_all`. Short name ``"combine_arms"``.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Section
       6.5.2.10, Table 6.5.a. doi:10.1002/9781119536604.ch6

    Examples
    --------
    Cete 2005, baseline pain VAS: metoclopramide 73 (SD 25), n = 37, and
    magnesium 70 (SD 22), n = 36, combined:

    >>> arm = combine_arms(37, 73, 25, 36, 70, 22)
    >>> arm.n, round(arm.mean, 3), round(arm.sd, 3)
    (73, 71.521, 23.453)
    """
    (a_n, a_m, a_s, b_n, b_m, b_s), scalar = _broadcast(
        ("n1", "mean1", "sd1", "n2", "mean2", "sd2"), (n1, mean1, sd1, n2, mean2, sd2), study, field)
    _arm_checks(a_n, a_s, "1", study, field)
    _arm_checks(b_n, b_s, "2", study, field)
    n, mean, sd = _combine(a_n, a_m, a_s, b_n, b_m, b_s)
    n_out: Any = int(n) if scalar else n.astype(np.int64)
    return Arm(n=n_out, mean=_out(mean, scalar), sd=_out(sd, scalar))


def _combine(a_n: NDArray[np.float64], a_m: NDArray[np.float64], a_s: NDArray[np.float64],
             b_n: NDArray[np.float64], b_m: NDArray[np.float64], b_s: NDArray[np.float64]
             ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    n = a_n + b_n
    mean = (a_n * a_m + b_n * b_m) / n
    ss = (a_n - 1.0) * a_s ** 2 + (b_n - 1.0) * b_s ** 2 + a_n * b_n / n * (a_m - b_m) ** 2
    sd = np.sqrt(ss / (n - 1.0))  # n >= 2 since each arm has at least 1
    return n, mean, sd


def combine_arms_all(n: ArrayLike, mean: ArrayLike, sd: ArrayLike, *, study: Any = None,
                     field: str | None = None) -> Arm:
    """Combine any number of arms into one (folds :func:`combine_arms`).

    Parameters
    ----------
    n, mean, sd : array_like, shape (..., k)
        Sizes, means and SDs of k >= 1 arms along the last axis.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    Arm
        The combined arm; scalars for 1-D input, arrays of shape (...) otherwise.

    Raises
    ------
    DataError
        As :func:`combine_arms`; no arms.

    Notes
    -----
    Equivalent to :math:`N = \\sum N_j`, :math:`M = \\sum N_j M_j / N`,
    :math:`SD^2 = \\{\\sum (N_j - 1) SD_j^2 + \\sum N_j (M_j - M)^2\\}/(N - 1)`
    (Cochrane Handbook Table 6.5.a applied repeatedly).

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Table 6.5.a.
       doi:10.1002/9781119536604.ch6

    Examples
    --------
    Cete 2005 baseline VAS of all three arms (metoclopramide, magnesium, placebo):

    >>> arm = combine_arms_all([37, 36, 40], [73, 70, 69], [25, 22, 19])
    >>> arm.n, round(arm.mean, 3), round(arm.sd, 3)
    (113, 70.628, 21.927)
    """
    (nn, mm, ss), _ = _broadcast(("n", "mean", "sd"), (n, mean, sd), study, field)
    if nn.ndim == 0 or nn.shape[-1] == 0:
        raise DataError("combine_arms_all needs a sequence of at least one arm", field=field or "n")
    _arm_checks(nn, ss, "", study, field)
    acc_n, acc_m, acc_s = nn[..., 0], mm[..., 0], ss[..., 0]
    for j in range(1, nn.shape[-1]):
        acc_n, acc_m, acc_s = _combine(acc_n, acc_m, acc_s, nn[..., j], mm[..., j], ss[..., j])
    scalar = nn.ndim == 1
    n_out: Any = int(acc_n) if scalar else np.asarray(acc_n).astype(np.int64)
    return Arm(n=n_out, mean=_out(np.asarray(acc_m, dtype=float), scalar),
               sd=_out(np.asarray(acc_s, dtype=float), scalar))


@dataclass(frozen=True)
class Events:
    """Events and size of a (combined) arm. Unpacks as ``events, n``."""

    events: Any
    n: Any
    conversion: str = "combine_events"

    def __iter__(self) -> Iterator[Any]:
        yield self.events
        yield self.n

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``events``, ``n``, ``conversion``."""
        return pd.DataFrame({"events": np.atleast_1d(self.events), "n": np.atleast_1d(self.n),
                             "conversion": self.conversion})


def combine_events(events1: ArrayLike, n1: ArrayLike, events2: ArrayLike, n2: ArrayLike, *,
                   study: Any = None, field: str | None = None) -> Events:
    """Combine two arms' event counts and sizes into one arm.

    Parameters
    ----------
    events1, n1 : int or array_like
        Events and size of the first arm.
    events2, n2 : int or array_like
        Events and size of the second arm.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    Events
        ``events = events1 + events2`` and ``n = n1 + n2`` (ints for scalar input).

    Raises
    ------
    DataError
        Fractional or negative counts, events above the arm size, empty arms.

    Notes
    -----
    Counts add (Cochrane Handbook 23.3.4 and Table 6.5.a for the dichotomous case).
    Short name ``"combine_events"``.

    References
    ----------
    .. [1] Higgins JPT, Eldridge S, Li T (eds). Chapter 23: Including variants on
       randomized trials. In: Cochrane Handbook for Systematic Reviews of
       Interventions, version 6.5. Cochrane, 2024. Section 23.3.4.
       doi:10.1002/9781119536604.ch23

    Examples
    --------
    Cete 2005, rescue medication with metoclopramide (14/37) or magnesium (16/36):

    >>> combine_events(14, 37, 16, 36)
    Events(events=30, n=73, conversion='combine_events')
    """
    (e1, a1, e2, a2), scalar = _broadcast(("events1", "n1", "events2", "n2"), (events1, n1, events2, n2),
                                          study, field)
    for e, m, sfx in ((e1, a1, "1"), (e2, a2, "2")):
        _integer_valued(e, f"events{sfx}", study, field)
        _integer_valued(m, f"n{sfx}", study, field)
        _require(m >= 1, lambda i, m=m, sfx=sfx: f"n{sfx} must be at least 1, got {_num(m.flat[i])}",
                 study=study, field=field, name=f"n{sfx}")
        _require(e >= 0, lambda i, e=e, sfx=sfx: f"events{sfx} is negative ({_num(e.flat[i])})",
                 study=study, field=field, name=f"events{sfx}")
        _require(e <= m, lambda i, e=e, m=m, sfx=sfx: f"events{sfx} ({_num(e.flat[i])}) exceed arm size "
                 f"n{sfx} ({_num(m.flat[i])})", study=study, field=field, name=f"events{sfx}")
    ev, n = e1 + e2, a1 + a2
    if scalar:
        return Events(events=int(ev), n=int(n))
    return Events(events=ev.astype(np.int64), n=n.astype(np.int64))


@dataclass(frozen=True)
class SharedControlSplit:
    """A shared control arm split into parts, one per comparison.

    Attributes
    ----------
    n : numpy.ndarray of int64, shape (parts,)
        Size of each part; they add up to the original size.
    events : numpy.ndarray of int64 or None
        Events of each part (dichotomous outcomes); they add up to the original.
    mean, sd : float or None
        Mean and SD (continuous outcomes), the same for every part.
    conversion : str
        ``"split_shared_control"``.
    """

    n: NDArray[np.int64]
    events: NDArray[np.int64] | None
    mean: float | None
    sd: float | None
    conversion: str = "split_shared_control"

    def to_frame(self) -> pd.DataFrame:
        """One row per part: ``part`` (0-based), ``n``, ``events``, ``mean``, ``sd``, ``conversion``."""
        k = len(self.n)
        return pd.DataFrame({
            "part": np.arange(k),
            "n": self.n,
            "events": self.events if self.events is not None else pd.array([pd.NA] * k, dtype="Int64"),
            "mean": np.full(k, np.nan if self.mean is None else self.mean),
            "sd": np.full(k, np.nan if self.sd is None else self.sd),
            "conversion": self.conversion,
        })


def _even_split(total: int, parts: int) -> NDArray[np.int64]:
    base, extra = divmod(total, parts)
    out = np.full(parts, base, dtype=np.int64)
    out[:extra] += 1
    return out


def split_shared_control(n: int, events: int | None = None, *, parts: int, mean: float | None = None,
                         sd: float | None = None, study: Any = None,
                         field: str | None = None) -> SharedControlSplit:
    """Split a control arm shared by several comparisons into near-equal parts.

    Parameters
    ----------
    n : int
        Size of the shared arm.
    events : int, optional
        Its event count (dichotomous outcome).
    parts : int
        Number of comparisons that share the arm, 2 to ``n``.
    mean, sd : float, optional
        Its mean and SD (continuous outcome; give both or neither, and not with ``events``).
    study, field : optional
        Names used in error messages.

    Returns
    -------
    SharedControlSplit

    Raises
    ------
    DataError
        ``parts`` below 2 or above ``n``, events above ``n``, mixed outcome types.

    Notes
    -----
    Rounding: ``n`` (and ``events``) are split into whole numbers as evenly as
    possible, :math:`\\lfloor n/k \\rfloor` each, with the remainder given one by
    one to the first parts; the parts add up exactly to the original, and each
    part's events never exceed its size. Means and SDs are unchanged (only the
    sample size is divided). The split avoids counting the shared participants
    twice, but the comparisons remain correlated (Handbook 23.3.4); combining the
    active arms (:func:`combine_arms`, :func:`combine_events`) or a network
    meta-analysis are the alternatives. Short name ``"split_shared_control"``.

    References
    ----------
    .. [1] Higgins JPT, Eldridge S, Li T (eds). Chapter 23: Including variants on
       randomized trials. In: Cochrane Handbook for Systematic Reviews of
       Interventions, version 6.5. Cochrane, 2024. Section 23.3.4.
       doi:10.1002/9781119536604.ch23

    Examples
    --------
    Cete 2005: the placebo arm (26 rescued out of 40) shared by the magnesium and
    metoclopramide comparisons:

    >>> split = split_shared_control(40, 26, parts=2)
    >>> split.n.tolist(), split.events.tolist()
    ([20, 20], [13, 13])
    """
    def whole(x: Any, name: str, minimum: int) -> int:
        if isinstance(x, (bool, np.bool_)):
            raise _fail(f"{name} must be a whole number, got {x!r}", study=study, field=field, name=name)
        try:
            xf = float(x)
        except (TypeError, ValueError):
            raise _fail(f"{name} must be a whole number, got {x!r}", study=study, field=field, name=name) from None
        if not math.isfinite(xf) or not xf.is_integer() or xf < minimum:
            raise _fail(f"{name} must be a whole number >= {minimum}, got {x!r}", study=study, field=field,
                        name=name)
        return int(xf)

    total = whole(n, "n", 1)
    k = whole(parts, "parts", 2)
    if k > total:
        raise _fail(f"cannot split n = {total} into {k} parts of at least one participant", study=study,
                    field=field, name="parts")
    if events is not None and (mean is not None or sd is not None):
        raise DataError("give events (dichotomous) or mean and sd (continuous), not both", field="events")
    if (mean is None) != (sd is None):
        raise DataError("give both mean and sd, or neither", field="mean" if mean is None else "sd")
    ev_split = None
    if events is not None:
        ev = whole(events, "events", 0)
        if ev > total:
            raise _fail(f"events ({ev}) exceed arm size ({total})", study=study, field=field, name="events")
        ev_split = _even_split(ev, k)
    m_out = s_out = None
    if mean is not None and sd is not None:
        m_arr = _as_float(mean, "mean", study, field)
        s_arr = _as_float(sd, "sd", study, field)
        if m_arr.ndim or s_arr.ndim:
            raise DataError("mean and sd must be scalars (one shared arm at a time)", field="mean")
        if float(s_arr) < 0:
            raise _fail(f"sd must be non-negative, got {_num(float(s_arr))}", study=study, field=field, name="sd")
        m_out, s_out = float(m_arr), float(s_arr)
    return SharedControlSplit(n=_even_split(total, k), events=ev_split, mean=m_out, sd=s_out)


# --------------------------------------------------------------------------------------------
# crossover trials
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CrossoverMD:
    """Mean difference (treatment minus control) of a crossover trial and its SE.

    Unpacks as ``yi, vi``.

    Attributes
    ----------
    yi : float or numpy.ndarray
        Mean difference, ``mean_t - mean_c``.
    se : float or numpy.ndarray
        Its standard error.
    sd_diff : float or numpy.ndarray
        SD of the within-patient differences used (imputed or given).
    corr : float or numpy.ndarray
        Within-patient correlation used (0 for the parallel-group approximation).
    n : int or numpy.ndarray
        Number of participants.
    conversion : str
        ``"crossover_md_paired"`` or ``"crossover_md_parallel"``.
    """

    yi: Any
    se: Any
    sd_diff: Any
    corr: Any
    n: Any
    conversion: str

    @property
    def vi(self) -> Any:
        """Sampling variance, ``se ** 2``."""
        return float(self.se ** 2) if np.ndim(self.se) == 0 else np.asarray(self.se) ** 2

    def __iter__(self) -> Iterator[Any]:
        yield self.yi
        yield self.vi

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``yi``, ``vi``, ``se``, ``sd_diff``, ``corr``, ``n``, ``conversion``."""
        return pd.DataFrame({"yi": np.atleast_1d(self.yi), "vi": np.atleast_1d(self.vi),
                             "se": np.atleast_1d(self.se), "sd_diff": np.atleast_1d(self.sd_diff),
                             "corr": np.atleast_1d(self.corr), "n": np.atleast_1d(self.n),
                             "conversion": self.conversion})


def _crossover_inputs(mean_t: Any, sd_t: Any, mean_c: Any, sd_c: Any, n: Any, extra: dict[str, Any],
                      study: Any, field: str | None
                      ) -> tuple[list[NDArray[np.float64]], dict[str, NDArray[np.float64]], bool]:
    names = ["mean_t", "sd_t", "mean_c", "sd_c", "n", *extra]
    arrays, scalar = _broadcast(names, [mean_t, sd_t, mean_c, sd_c, n, *extra.values()], study, field)
    mt, st, mc, sc, nn = arrays[:5]
    for name, arr in (("sd_t", st), ("sd_c", sc)):
        _require(arr >= 0, lambda i, name=name, arr=arr: f"{name} must be non-negative, got {_num(arr.flat[i])}",
                 study=study, field=field, name=name)
    _integer_valued(nn, "n", study, field)
    _require(nn >= 2, lambda i: f"n (participants) must be at least 2, got {_num(nn.flat[i])}", study=study,
             field=field, name="n")
    return [mt, st, mc, sc, nn], dict(zip(extra, arrays[5:])), scalar


def crossover_md(mean_t: ArrayLike, sd_t: ArrayLike, mean_c: ArrayLike, sd_c: ArrayLike, n: ArrayLike, *,
                 corr: ArrayLike | None = None, sd_diff: ArrayLike | None = None,
                 study: Any = None, field: str | None = None) -> CrossoverMD:
    """Paired mean difference of a two-period crossover trial and its SE.

    Parameters
    ----------
    mean_t, sd_t : float or array_like
        Mean and SD of the outcome under the treatment (all periods pooled).
    mean_c, sd_c : float or array_like
        Mean and SD under the control.
    n : int or array_like
        Number of participants who received both (each contributes a difference).
    corr : float or array_like, optional
        Assumed within-patient correlation between the two measurements, in [-1, 1].
    sd_diff : float or array_like, optional
        SD of the within-patient differences, if reported or imputed instead of
        ``corr``. Give exactly one of ``corr`` and ``sd_diff``.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    CrossoverMD
        ``yi = mean_t - mean_c``, ``se``, ``vi``, the ``sd_diff`` and ``corr`` used.

    Raises
    ------
    DataError
        Neither or both of ``corr``/``sd_diff``, ``corr`` outside [-1, 1], negative
        SDs, fewer than 2 participants, a zero SD of differences.

    Notes
    -----
    :math:`MD = M_T - M_C`,
    :math:`SD_{diff} = \\sqrt{SD_T^2 + SD_C^2 - 2\\,r\\,SD_T SD_C}`,
    :math:`SE(MD) = SD_{diff}/\\sqrt{n}`. When ``sd_diff`` is given, the implied
    correlation :math:`r = (SD_T^2 + SD_C^2 - SD_{diff}^2)/(2 SD_T SD_C)` is reported
    (NaN-free: 0 when an SD is 0). The period effect is ignored, as in the
    Handbook's approximation. Use :func:`crossover_md_parallel` for the conservative
    analysis that ignores the pairing. Short name ``"crossover_md_paired"``.

    References
    ----------
    .. [1] Elbourne DR, Altman DG, Higgins JPT, et al. Meta-analyses involving
       cross-over trials: methodological issues. Int J Epidemiol. 2002;31(1):140-149.
       doi:10.1093/ije/31.1.140
    .. [2] Higgins JPT, Eldridge S, Li T (eds). Chapter 23. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Section 23.2.7.
       doi:10.1002/9781119536604.ch23

    Examples
    --------
    The Handbook's example (23.2.7; 16.4.6.4 in version 5.1): means 7.0 (SD 2.38)
    and 6.5 (SD 2.21), 10 participants, correlation 0.68:

    >>> res = crossover_md(7.0, 2.38, 6.5, 2.21, 10, corr=0.68)
    >>> round(res.yi, 3), round(res.se, 3)
    (0.5, 0.583)
    """
    if (corr is None) == (sd_diff is None):
        raise DataError("give exactly one of corr and sd_diff", field="corr")
    extra = {"corr": corr} if corr is not None else {"sd_diff": sd_diff}
    (mt, st, mc, sc, nn), ex, scalar = _crossover_inputs(mean_t, sd_t, mean_c, sd_c, n, extra, study, field)
    if corr is not None:
        r = ex["corr"]
        _require((r >= -1) & (r <= 1), lambda i: f"corr must lie in [-1, 1], got {_num(r.flat[i])}",
                 study=study, field=field, name="corr")
        var = np.maximum(st ** 2 + sc ** 2 - 2.0 * r * st * sc, 0.0)
        sdd = np.sqrt(var)
    else:
        sdd = ex["sd_diff"]
        _require(sdd >= 0, lambda i: f"sd_diff must be non-negative, got {_num(sdd.flat[i])}", study=study,
                 field=field, name="sd_diff")
        denom = 2.0 * st * sc
        safe = np.where(denom > 0, denom, 1.0)
        r = np.where(denom > 0, (st ** 2 + sc ** 2 - sdd ** 2) / safe, 0.0)
        _require((r >= -1 - 1e-12) & (r <= 1 + 1e-12),
                 lambda i: f"sd_diff ({_num(sdd.flat[i])}) is impossible with sd_t ({_num(st.flat[i])}) and "
                 f"sd_c ({_num(sc.flat[i])}): the implied correlation is {float(r.flat[i]):.3f}",
                 study=study, field=field, name="sd_diff")
        r = np.clip(r, -1.0, 1.0)
    _require(sdd > 0, lambda i: "the SD of the within-patient differences is 0, so the SE would be 0",
             study=study, field=field, name="corr" if corr is not None else "sd_diff")
    se = sdd / np.sqrt(nn)
    n_out: Any = int(nn) if scalar else nn.astype(np.int64)
    return CrossoverMD(yi=_out(mt - mc, scalar), se=_out(se, scalar), sd_diff=_out(sdd, scalar),
                       corr=_out(np.asarray(r, dtype=float), scalar), n=n_out, conversion="crossover_md_paired")


def crossover_md_parallel(mean_t: ArrayLike, sd_t: ArrayLike, mean_c: ArrayLike, sd_c: ArrayLike,
                          n: ArrayLike, *, study: Any = None, field: str | None = None) -> CrossoverMD:
    """Mean difference of a crossover trial analysed as if it were a parallel-group trial.

    Parameters
    ----------
    mean_t, sd_t, mean_c, sd_c : float or array_like
        Means and SDs under treatment and control.
    n : int or array_like
        Number of participants (counted in both "arms").
    study, field : optional
        Names used in error messages.

    Returns
    -------
    CrossoverMD
        With ``corr = 0`` and ``conversion = "crossover_md_parallel"``.

    Raises
    ------
    DataError
        Negative SDs, fewer than 2 participants, both SDs 0.

    Notes
    -----
    :math:`SE = \\sqrt{SD_T^2/n + SD_C^2/n}`, the parallel-group SE with ``n`` in each
    arm, equal to :func:`crossover_md` with correlation 0. With the positive
    within-patient correlations usual in crossover trials it overstates the SE,
    so the trial gets too little weight: conservative (Elbourne et al. 2002; the
    Handbook's 23.2.7 notes the unit-of-analysis issue).

    References
    ----------
    .. [1] Elbourne DR, Altman DG, Higgins JPT, et al. Meta-analyses involving
       cross-over trials: methodological issues. Int J Epidemiol. 2002;31(1):140-149.
       doi:10.1093/ije/31.1.140
    .. [2] Higgins JPT, Eldridge S, Li T (eds). Chapter 23. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Section 23.2.7.
       doi:10.1002/9781119536604.ch23

    Examples
    --------
    Karimi 2021: migraine attacks per month 1.72 (SD 1.18) with magnesium and 1.27
    (SD 1.27) with valproate, 63 participants:

    >>> res = crossover_md_parallel(1.72, 1.18, 1.27, 1.27, 63)
    >>> round(res.yi, 2), round(res.se, 4)
    (0.45, 0.2184)
    """
    (mt, st, mc, sc, nn), _, scalar = _crossover_inputs(mean_t, sd_t, mean_c, sd_c, n, {}, study, field)
    sdd = np.sqrt(st ** 2 + sc ** 2)
    _require(sdd > 0, lambda i: "both SDs are 0, so the SE would be 0", study=study, field=field, name="sd_t")
    se = sdd / np.sqrt(nn)
    n_out: Any = int(nn) if scalar else nn.astype(np.int64)
    return CrossoverMD(yi=_out(mt - mc, scalar), se=_out(se, scalar), sd_diff=_out(sdd, scalar),
                       corr=0.0 if scalar else np.zeros_like(se), n=n_out, conversion="crossover_md_parallel")


def crossover_corr(sd_t: ArrayLike, sd_c: ArrayLike, sd_diff: ArrayLike, *, study: Any = None,
                   field: str | None = None) -> Any:
    """Within-patient correlation implied by the SDs of a crossover trial.

    Parameters
    ----------
    sd_t, sd_c : float or array_like
        SDs of the outcome under treatment and control, positive.
    sd_diff : float or array_like
        SD of the within-patient differences, non-negative.
    study, field : optional
        Names used in error messages.

    Returns
    -------
    float or numpy.ndarray
        :math:`r = (SD_T^2 + SD_C^2 - SD_{diff}^2)/(2\\,SD_T\\,SD_C)`.

    Raises
    ------
    DataError
        Non-positive SDs, or SDs that imply a correlation outside [-1, 1].

    Notes
    -----
    A trial that reports all three SDs gives a correlation to impute into other
    crossover trials (Handbook 23.2.7).

    References
    ----------
    .. [1] Higgins JPT, Eldridge S, Li T (eds). Chapter 23. In: Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5. Cochrane, 2024. Section 23.2.7.
       doi:10.1002/9781119536604.ch23
    .. [2] Elbourne DR, Altman DG, Higgins JPT, et al. Meta-analyses involving
       cross-over trials: methodological issues. Int J Epidemiol. 2002;31(1):140-149.
       doi:10.1093/ije/31.1.140

    Examples
    --------
    >>> round(crossover_corr(2.38, 2.21, 2.0), 3)
    0.623
    """
    (st, sc, sdd), scalar = _broadcast(("sd_t", "sd_c", "sd_diff"), (sd_t, sd_c, sd_diff), study, field)
    for name, arr in (("sd_t", st), ("sd_c", sc)):
        _require(arr > 0, lambda i, name=name, arr=arr: f"{name} must be positive, got {_num(arr.flat[i])}",
                 study=study, field=field, name=name)
    _require(sdd >= 0, lambda i: f"sd_diff must be non-negative, got {_num(sdd.flat[i])}", study=study,
             field=field, name="sd_diff")
    r = (st ** 2 + sc ** 2 - sdd ** 2) / (2.0 * st * sc)
    _require((r >= -1 - 1e-12) & (r <= 1 + 1e-12),
             lambda i: f"the SDs imply a correlation of {float(r.flat[i]):.3f}, outside [-1, 1]",
             study=study, field=field, name="sd_diff")
    return _out(np.clip(r, -1.0, 1.0), scalar)
