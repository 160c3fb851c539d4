"""Effect sizes from trial data: ``effect_sizes``, as metafor's ``escalc``.

Arrays in, a tidy DataFrame out (one row per study, columns ``yi`` and ``vi``
plus the inputs), no I/O and no printing.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from mgmeta._inputs import check_data, check_na_action, gather, missing_mask, omit_missing
from mgmeta._validation import (
    as_vector,
    check_choice,
    check_lengths,
    check_nonnegative,
    check_not_above,
    check_positive,
    first_index,
    resolve_labels,
    study_error,
)
from mgmeta import measures as _more
from mgmeta.errors import ContinuityCorrectionWarning, DataError, MgmetaWarning

__all__ = ["effect_sizes", "MEASURES", "BINARY_MEASURES", "CONTINUOUS_MEASURES", "hedges_correction",
           "double_zero_tables", "continuity_correct", "table_effects"]

BINARY_MEASURES = ("OR", "RR", "RD", "PETO")
CONTINUOUS_MEASURES = ("MD", "SMD", "ROM")
GENERIC_MEASURES = ("GEN",)
MEASURES = BINARY_MEASURES + CONTINUOUS_MEASURES + GENERIC_MEASURES
_TO = ("only0", "all", "if0all", "none")
_NAMES = {"OR": "log odds ratio", "RR": "log risk ratio", "RD": "risk difference",
          "PETO": "Peto log odds ratio", "MD": "mean difference", "SMD": "standardized mean difference",
          "ROM": "log ratio of means", "GEN": "generic effect size"}


def hedges_correction(m: np.ndarray) -> np.ndarray:
    """Exact small-sample bias correction of Hedges' g, c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)).

    Computed on the log scale (no overflow for large m).

    References
    ----------
    Hedges LV (1981). doi:10.3102/10769986006002107
    """
    m = np.asarray(m, dtype=float)
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def double_zero_tables(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Tables with no events in both arms, or only events in both arms."""
    return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))


def continuity_correct(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, add: float, to: str,
                       eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add ``add`` to the four cells of the tables chosen by ``to`` among the ``eligible`` ones.

    ``to`` as in metafor's escalc: "only0" (tables with a zero cell), "all",
    "if0all" (all tables if any eligible one has a zero cell), "none".
    Returns the corrected cells (new arrays) and the mask of corrected tables.
    """
    (a, b, c, d), which = _more.correct_cells([a, b, c, d], add, to, eligible)
    return a, b, c, d, which


def table_effects(measure: str, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                  d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """yi and vi of 2x2 tables (cells already corrected); inf/NaN where undefined, no warnings.

    See :func:`effect_sizes` for the formulas (RD with escalc's large-sample
    variance, PETO the one-step estimate).
    """
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if measure == "OR":
            return np.log(a) + np.log(d) - np.log(b) - np.log(c), 1 / a + 1 / b + 1 / c + 1 / d
        if measure == "RR":
            return np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2
        if measure == "RD":
            p1, p2 = a / n1, c / n2
            return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        if measure == "PETO":
            n = n1 + n2
            e = (a + c) * n1 / n
            v = (a + c) * (b + d) * (n1 / n) * (n2 / n) / (n - 1)
            return (a - e) / v, 1 / v
    raise DataError(f"unknown binary measure {measure!r}", field="measure")


def effect_sizes(measure: str, *, data: pd.DataFrame | None = None,
                 ai: Any = None, bi: Any = None, ci: Any = None, di: Any = None,
                 n1i: Any = None, n2i: Any = None,
                 m1i: Any = None, sd1i: Any = None, m2i: Any = None, sd2i: Any = None,
                 yi: Any = None, vi: Any = None, sei: Any = None,
                 estimate: Any = None, ci_lower: Any = None, ci_upper: Any = None, ci_level: float = 0.95,
                 add: float | None = None, to: str = "only0", drop00: bool = False,
                 labels: Any = None, na_action: str = "fail",
                 xi: Any = None, ni: Any = None, ti: Any = None, mi: Any = None, sdi: Any = None, ri: Any = None,
                 x1i: Any = None, t1i: Any = None, x2i: Any = None, t2i: Any = None,
                 vtype: Any = None) -> pd.DataFrame:
    """Compute effect sizes and sampling variances, as metafor's ``escalc``.

    Parameters
    ----------
    measure : {"OR", "RR", "RD", "PETO", "MD", "SMD", "ROM", "GEN"} or one of :data:`mgmeta.measures.MEASURES`
        Log odds ratio, log risk ratio, risk difference, Peto's log odds
        ratio; mean difference, standardized mean difference (Hedges' g with
        the exact bias correction), log ratio of means; "GEN" for effects
        given directly. Ratio measures are on the log scale. Single
        proportions (PR PLN PLO PAS PFT), incidence rates (IR IRLN IRS IRFT),
        single means (MN MNLN CVLN SDLN), correlations (COR UCOR ZCOR),
        two-group rates (IRR IRD IRSD), SMDH and change scores (MC SMCC SMCR
        SMCRH) are computed by :mod:`mgmeta.measures`.
    data : DataFrame, optional
        When given, a string argument names a column of ``data`` (metafor's
        ``data=``), a pandas Series is matched to its rows by index, and the
        result is a copy of ``data`` with the effect sizes appended (as
        ``escalc(..., data=)``).
    ai, bi, ci, di : array_like, shape (k,)
        2x2 counts: events and non-events in the magnesium (treatment) arm,
        events and non-events in the control arm.
    n1i, n2i : array_like, shape (k,)
        Arm sizes (instead of ``bi`` and ``di``; also used with means).
    m1i, sd1i, m2i, sd2i : array_like, shape (k,)
        Means and standard deviations of the two arms.
    yi, vi, sei : array_like, shape (k,)
        Effect sizes with their sampling variances or standard errors; with a
        binary or continuous ``measure`` they are taken as already computed
        on that measure's analysis scale.
    estimate, ci_lower, ci_upper : array_like, shape (k,)
        A reported contrast with its confidence limits, on the natural scale
        ("OR 0.23, 95% CI 0.09 to 0.58"): for ratio measures yi = log(estimate)
        and se = (log upper - log lower) / (2 z); otherwise yi = estimate and
        se = (upper - lower) / (2 z), with z the normal quantile of ``ci_level``.
    ci_level : float
        Level of the reported confidence limits (0.95).
    add : float, optional
        Amount added to the cells of 2x2 tables (or the counts of the
        proportion and rate measures) with zeros: 0.5, but 0 for PAS, PFT,
        IRS, IRFT and IRSD unless given, as escalc.
    to : {"only0", "all", "if0all", "none"}
        Which tables get ``add``: those with a zero cell, all, all if any has a
        zero cell, none.
    drop00 : bool
        Drop studies with no events (or only events) in both arms; their row
        is kept with ``dropped=True`` and no effect size.
    labels : sequence of str, optional
        Study labels (or, with ``data``, the name of a label column). Missing
        labels raise; duplicates are made unique as metafor does
        (``Shechter.1``, ``Shechter.2``), with a warning.
    na_action : {"fail", "omit"}
        A study with a missing input raises (default), or, with "omit", keeps
        its row with missing ``yi`` and ``vi`` (as escalc), which the fitting
        functions then leave out with ``na_action="omit"``.
    xi, ni, ti, mi, sdi, ri, x1i, t1i, x2i, t2i : array_like, shape (k,), optional
        metafor's inputs of the measures of :mod:`mgmeta.measures`: events
        ``xi`` of ``ni`` or in person-time ``ti``; mean ``mi`` and SD ``sdi``
        of ``ni``; correlation ``ri`` (for change scores, between the two
        measurements); events and person-time of two groups.
    vtype : str or sequence of str, optional
        The sampling-variance estimator, as escalc's ``vtype``: "LS" (the
        default), "UB" (unbiased; PR, UCOR, RD, SMD), "AV" (from the average
        effect; PR, PLN, PLO, COR, UCOR, RD, SMD, ROM), "LS2" (SMD, SMDH,
        SMCC, SMCR), "HO" (homoscedastic; MD, ROM), "AVHO" (ROM). A sequence
        gives each study its own (one per study, as escalc's vector
        ``vtype``; "AV" still averages over all studies).

    Returns
    -------
    DataFrame
        One row per study: ``study``, ``yi``, ``vi``, ``sei``, the arm data as
        given (metafor's names), ``corrected`` (a continuity correction was
        applied) and ``dropped``. With ``data``, every column of ``data``
        first (unchanged, same index), then these (a label column named by
        ``labels`` is not repeated; columns already in ``data`` with the same
        values are not repeated). ``frame.attrs`` holds ``measure``, ``add``,
        ``to``, ``drop00`` and ``labels`` (the name of the label column).

    Raises
    ------
    DataError
        Negative counts, events above the arm size, non-positive SDs or
        variances, NaN or infinite values, mismatched lengths, too few
        participants, empty input, unknown measure; arguments the measure
        does not use (``ai`` for "MD"); booleans, strings or 2-D arrays in a
        numeric argument; a Series whose index does not match ``data``; an
        infinite or undefined effect (zero cells with ``to="none"``).

    Notes
    -----
    OR: yi = log(ad/bc), vi = 1/a + 1/b + 1/c + 1/d. RR: yi = log((a/n1)/(c/n2)),
    vi = 1/a - 1/n1 + 1/c - 1/n2. RD: yi = a/n1 - c/n2,
    vi = p1(1-p1)/n1 + p2(1-p2)/n2. PETO: yi = (a - E)/V, vi = 1/V with
    E = (a+c) n1/N and V = (a+c)(b+d) n1 n2 / (N²(N-1)). MD: yi = m1 - m2,
    vi = sd1²/n1 + sd2²/n2. SMD: yi = c(n1+n2-2) (m1-m2)/s_pooled,
    vi = 1/n1 + 1/n2 + yi²/(2(n1+n2)). ROM: yi = log(m1/m2),
    vi = sd1²/(n1 m1²) + sd2²/(n2 m2²).

    References
    ----------
    Viechtbauer W (2010). doi:10.18637/jss.v036.i03
    Hedges LV (1981). doi:10.3102/10769986006002107
    Hedges LV, Gurevitch J, Curtis PS (1999). doi:10.1890/0012-9658(1999)080[1150:TMAORR]2.0.CO;2

    Examples
    --------
    Pfaffenrath 1996 reported 28.6 % responders of 35 on magnesium and
    29.4 % of 34 on placebo (10/35 and 10/34):

    >>> import mgmeta
    >>> es = mgmeta.effect_sizes("OR", ai=[10], n1i=[35], ci=[10], n2i=[34], labels=["Pfaffenrath 1996"])
    >>> round(float(es.yi.iloc[0]), 4), round(float(es.vi.iloc[0]), 4)
    (-0.0408, 0.2817)
    """
    check_choice(measure, MEASURES + _more.MEASURES, "measure")
    check_choice(to, _TO, "to")
    vtypes = _more.VTYPES.get(measure, ("LS",))
    per_study = vtype is not None and not isinstance(vtype, str)
    if per_study:
        vt_all = [check_choice(v, vtypes, f"vtype for measure {measure!r}") for v in _vtype_list(vtype)]
        vtype_out = vt_all[0] if len(set(vt_all)) == 1 else "per study"
    else:
        vtype_out = vtypes[0] if vtype is None else check_choice(vtype, vtypes, f"vtype for measure {measure!r}")
    if add is None:
        add = 0.0 if measure in _more.NO_ADD_MEASURES else 0.5
    try:
        add = float(add)
    except (TypeError, ValueError):
        raise DataError(f"add must be a non-negative number, got {add!r}", field="add") from None
    if not np.isfinite(add) or add < 0:
        raise DataError(f"add must be a non-negative number, got {add!r}", field="add")
    na_action = check_na_action(na_action)
    check_data(data)
    label_col = labels if isinstance(labels, str) and data is not None else None
    given = {n: v for n, v in dict(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, m1i=m1i, sd1i=sd1i,
                                   m2i=m2i, sd2i=sd2i, yi=yi, vi=vi, sei=sei, estimate=estimate,
                                   ci_lower=ci_lower, ci_upper=ci_upper, xi=xi, ni=ni, ti=ti, mi=mi, sdi=sdi,
                                   ri=ri, x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i).items() if v is not None}
    if not given:
        raise DataError("empty input: no data arguments were given")
    _check_used(measure, given)
    g = gather({**given, "labels": labels}, data)
    lab_raw = g.columns.pop("labels", None)
    k = g.k
    if k == 0:
        raise DataError(f"empty input: {', '.join(given)} contain no studies")
    lab = resolve_labels(lab_raw, k) if lab_raw is not None else None
    keep, _ = omit_missing(g.columns, na_action, lab, k)
    if na_action == "omit" and not keep.all():
        pass  # the warning names them; their rows stay, with missing yi and vi (as escalc)
    sub_lab = [x for x, kp in zip(lab, keep) if kp] if lab is not None else None
    arrays = {n: as_vector(v[keep], n, sub_lab) for n, v in g.columns.items()}
    check_lengths(arrays)
    lab_out = lab if lab is not None else [str(i + 1) for i in range(k)]
    vt = None
    if per_study:
        if len(vt_all) != k:
            raise DataError(f"vtype has {len(vt_all)} entries for {k} studies: give one per study, or one string",
                            field="vtype")
        vt = np.array(vt_all, dtype=object)[keep]
        if len(set(vt)) == 1:
            vtype_out, vt = str(vt[0]), None      # the same for every study kept

    if "estimate" in arrays or "ci_lower" in arrays or "ci_upper" in arrays:
        out = _from_contrast(measure, arrays, ci_level, sub_lab)
    elif "yi" in arrays:
        out = _generic(arrays, sub_lab)
    elif measure in _more.MEASURES and vt is not None:
        out = _more_per_study(measure, arrays, add, to, drop00, vt, sub_lab)
    elif measure in _more.MEASURES:
        out = _more.compute(measure, arrays, add=add, to=to, drop00=drop00, vtype=vtype_out, lab=sub_lab)
    elif measure in BINARY_MEASURES:
        out = _binary(measure, arrays, add, to, drop00, sub_lab)
    elif measure in CONTINUOUS_MEASURES:
        out = _continuous(measure, arrays, sub_lab)
    else:
        raise DataError("measure 'GEN' needs yi with vi or sei", field="yi")
    core_revised = measure not in _more.MEASURES and "yi" not in arrays and "estimate" not in arrays
    if vt is not None and core_revised:
        out = _revise_vi_per_study(measure, vt, out, add, sub_lab)
    elif vtype_out != "LS" and core_revised:
        out = _revise_vi(measure, vtype_out, out, add, sub_lab)     # metafor's other variance estimators
    if not keep.all():
        out = {n: _expand(arr, keep) for n, arr in out.items()}

    frame = pd.DataFrame({"study": lab_out})
    for name, arr in out.items():
        frame[name] = arr
    frame["sei"] = np.sqrt(frame["vi"].to_numpy())
    cols = ["study", "yi", "vi", "sei"] + [c for c in frame.columns if c not in ("study", "yi", "vi", "sei")]
    frame = frame[cols]
    attrs = {"measure": measure, "add": add, "to": to, "drop00": bool(drop00), "labels": "study",
             "vtype": vtype_out if not per_study or vtype_out != "per study" else tuple(vt_all)}
    if data is None and g.index is not None:
        frame.index = g.index           # Series in, their index out: later Series still match by index
    if data is not None:
        keep_study = lab_raw is not None and label_col is None
        if keep_study and "study" in data.columns and not _same(data["study"], frame["study"].to_numpy()):
            frame = frame.rename(columns={"study": "slab"})      # metafor's name; data's own 'study' is kept
        frame = _append(data, frame, label_col, keep_study=keep_study)
        if label_col is not None:
            attrs["labels"] = label_col
        elif keep_study and "slab" in frame.columns and "slab" not in data.columns:
            attrs["labels"] = "slab"
        else:
            attrs["labels"] = "study" if "study" in frame.columns else None
    frame.attrs.update(attrs)
    return frame


def _vtype_list(vtype: Any) -> list[Any]:
    """The entries of a per-study ``vtype`` (a list, tuple, array or Series of strings)."""
    arr = np.asarray(vtype.to_numpy() if isinstance(vtype, pd.Series) else vtype, dtype=object)
    if arr.ndim != 1 or arr.size == 0:
        raise DataError(f"vtype must be a string or a sequence of strings, one per study, got {vtype!r}",
                        field="vtype")
    return list(arr)


def _more_per_study(measure: str, arrays: dict[str, np.ndarray], add: float, to: str, drop00: bool,
                    vt: np.ndarray, lab: list[str] | None) -> dict[str, np.ndarray]:
    """:func:`mgmeta.measures.compute` with each study's own vtype (each computed over all studies, as
    escalc), checked once, for the variance each study uses."""
    out: dict[str, np.ndarray] = {}
    for v in dict.fromkeys(vt):
        with warnings.catch_warnings():
            if out:                                # the continuity-correction warning once
                warnings.simplefilter("ignore", ContinuityCorrectionWarning)
            got = _more.compute(measure, arrays, add=add, to=to, drop00=drop00, vtype=str(v), lab=lab,
                                strict=False)
        use = vt == v
        if not out:
            out = {**got, "yi": got["yi"].copy(), "vi": np.full(len(vt), np.nan)}
        # yi does not depend on vtype; a computation leaves it NaN where its own variance is undefined
        out["yi"] = np.where(np.isnan(out["yi"]), got["yi"], out["yi"])
        out["vi"] = np.where(use, got["vi"], out["vi"])
    _more.check_defined(measure, out, lab)
    return out


def _revise_vi_per_study(measure: str, vt: np.ndarray, out: dict[str, np.ndarray], add: float,
                         lab: list[str] | None) -> dict[str, np.ndarray]:
    """``out`` (LS variances) with each study's own vtype (see :func:`mgmeta.measures.revise_vi`)."""
    vi = np.array(out["vi"], dtype=float)
    dropped = np.asarray(out.get("dropped", np.zeros(len(vi), bool)), bool)
    for v in dict.fromkeys(vt):
        if v == "LS":
            continue
        use = vt == v
        vi[use] = _more.revise_vi(measure, str(v), out, add)[use]
        bad = first_index(use & ~dropped & ~(vi > 0))
        if bad is not None:
            raise study_error(lab, bad, "vi", f"the sampling variance with vtype={v!r} is not positive "
                              f"({vi[bad]:g})")
    return {**out, "vi": vi}


def _revise_vi(measure: str, vtype: str, out: dict[str, np.ndarray], add: float,
               lab: list[str] | None) -> dict[str, np.ndarray]:
    """``out`` with the sampling variances of ``vtype`` for every study."""
    return _revise_vi_per_study(measure, np.full(len(out["vi"]), vtype, dtype=object), out, add, lab)


_USES = {
    "binary": {"ai", "bi", "ci", "di", "n1i", "n2i"},
    "continuous": {"m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"},
    "generic": {"yi", "vi", "sei"},
    "contrast": {"estimate", "ci_lower", "ci_upper"},
}


def _check_used(measure: str, given: dict[str, Any]) -> None:
    """Arguments the measure does not use raise (metafor ignores them silently)."""
    names = set(given)
    if measure in _more.MEASURES:
        allowed = set(_more._INPUTS[measure]) | set(_more._OPTIONAL.get(measure, ()))
    elif names & _USES["contrast"]:
        allowed = _USES["contrast"]
    elif names & {"yi"}:
        allowed = _USES["generic"]
    elif measure in BINARY_MEASURES:
        allowed = _USES["binary"]
    elif measure in CONTINUOUS_MEASURES:
        allowed = _USES["continuous"]
    else:
        allowed = _USES["generic"]
    extra = [n for n in given if n not in allowed]
    if extra:
        raise DataError(f"measure {measure!r} does not use {', '.join(extra)} (it takes "
                        f"{', '.join(sorted(allowed))}); remove {'it' if len(extra) == 1 else 'them'}",
                        field=extra[0])


def _expand(arr: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Values of the kept studies back in all rows: missing (NaN, or False for flags) elsewhere."""
    arr = np.asarray(arr)
    if arr.dtype == bool:
        full = np.zeros(keep.shape, bool)
    else:
        full = np.full(keep.shape, np.nan)
    full[keep] = arr
    return full


def _same(a: pd.Series, b: np.ndarray) -> bool:
    try:
        x = np.asarray(a, dtype=float)
        y = np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return [str(v) for v in a] == [str(v) for v in b]
    return bool(np.array_equal(x, y, equal_nan=True))


_OUTPUTS = ("yi", "vi", "sei", "corrected", "dropped")


def _append(data: pd.DataFrame, frame: pd.DataFrame, label_col: str | None, keep_study: bool) -> pd.DataFrame:
    """``data`` (a copy, same index) with the computed columns appended.

    As escalc's ``replace = TRUE``, existing ``yi``/``vi`` (and ``sei``,
    ``corrected``, ``dropped``) columns are replaced, with a warning when
    that changes a value that was there. Other columns of ``data`` are never
    changed: a computed arm column (``bi``, ``n1i``, ...) is added only
    under a free name (or over an all-missing column); a clash with
    different values raises.
    """
    out = data.copy()
    changed = []
    for col in frame.columns:
        if col in ("study", "slab") and not keep_study:
            continue
        values = frame[col].to_numpy()
        if col in out.columns:
            old = out[col]
            if col in _OUTPUTS:
                was = ~missing_mask(old.to_numpy())
                if was.any() and not _same(old[was], values[was]):
                    changed.append(col)
            elif old.isna().all():
                pass
            elif _same(old, values):
                continue
            else:
                raise DataError(f"data already has a column {col!r} with other values; effect_sizes would "
                                f"overwrite it: rename that column first", field=col)
        out[col] = values
    if changed:
        warnings.warn(f"effect_sizes replaced the existing column(s) {', '.join(changed)} of data (as escalc "
                      "does)", MgmetaWarning, stacklevel=3)
    return out


def _generic(a: dict[str, np.ndarray], lab: list[str] | None) -> dict[str, np.ndarray]:
    yi = a["yi"]
    if ("vi" in a) == ("sei" in a):
        raise DataError("give yi with exactly one of vi or sei", field="vi")
    if "vi" in a:
        check_positive(a["vi"], "vi", lab)
        vi = a["vi"]
    else:
        check_positive(a["sei"], "sei", lab)
        vi = a["sei"] ** 2
    return {"yi": yi.copy(), "vi": vi.copy(), "corrected": np.zeros(len(yi), bool),
            "dropped": np.zeros(len(yi), bool)}


def _from_contrast(measure: str, a: dict[str, np.ndarray], level: float,
                   lab: list[str] | None) -> dict[str, np.ndarray]:
    for need in ("estimate", "ci_lower", "ci_upper"):
        if need not in a:
            raise DataError(f"a reported contrast needs estimate, ci_lower and ci_upper; {need} is missing",
                            field=need)
    if not 0 < level < 1:
        raise DataError(f"ci_level must be between 0 and 1, got {level!r}", field="ci_level")
    est, lo, hi = a["estimate"], a["ci_lower"], a["ci_upper"]
    ratio = measure in ("OR", "RR", "PETO", "ROM")
    for i in range(len(est)):
        if ratio and min(est[i], lo[i], hi[i]) <= 0:
            bad = "estimate" if est[i] <= 0 else ("ci_lower" if lo[i] <= 0 else "ci_upper")
            raise study_error(lab, i, bad, f"a ratio and its limits must be positive, {bad} is {a[bad][i]}")
        if not lo[i] < hi[i]:
            raise study_error(lab, i, "ci_lower", f"ci_lower ({lo[i]}) must be below ci_upper ({hi[i]})")
        if not lo[i] <= est[i] <= hi[i]:
            raise study_error(lab, i, "estimate",
                              f"estimate ({est[i]}) lies outside its confidence limits ({lo[i]}, {hi[i]})")
    z = -special.ndtri((1 - level) / 2)
    if ratio:
        yi = np.log(est)
        sei = (np.log(hi) - np.log(lo)) / (2 * z)
    else:
        yi = est.copy()
        sei = (hi - lo) / (2 * z)
    return {"yi": yi, "vi": sei ** 2, "estimate": est.copy(), "ci_lower": lo.copy(), "ci_upper": hi.copy(),
            "corrected": np.zeros(len(yi), bool), "dropped": np.zeros(len(yi), bool)}


def _binary(measure: str, a: dict[str, np.ndarray], add: float, to: str, drop00: bool,
            lab: list[str] | None) -> dict[str, np.ndarray]:
    for need in ("ai", "ci"):
        if need not in a:
            raise DataError(f"measure {measure!r} needs {need} (with bi/di or n1i/n2i)", field=need)
    ai, ci = a["ai"], a["ci"]
    check_nonnegative(ai, "ai", lab)
    check_nonnegative(ci, "ci", lab)
    if "bi" in a:
        bi = a["bi"]
        check_nonnegative(bi, "bi", lab)
        i = first_index(~np.isclose(a["n1i"], ai + bi)) if "n1i" in a else None
        if i is not None:
            raise study_error(lab, i, "n1i", f"n1i ({a['n1i'][i]:g}) is not ai + bi ({ai[i] + bi[i]:g})")
        n1i = ai + bi
    elif "n1i" in a:
        n1i = a["n1i"]
        check_nonnegative(n1i, "n1i", lab)
        check_not_above(ai, "ai", n1i, "n1i", lab)
        bi = n1i - ai
    else:
        raise DataError(f"measure {measure!r} needs bi or n1i", field="n1i")
    if "di" in a:
        di = a["di"]
        check_nonnegative(di, "di", lab)
        i = first_index(~np.isclose(a["n2i"], ci + di)) if "n2i" in a else None
        if i is not None:
            raise study_error(lab, i, "n2i", f"n2i ({a['n2i'][i]:g}) is not ci + di ({ci[i] + di[i]:g})")
        n2i = ci + di
    elif "n2i" in a:
        n2i = a["n2i"]
        check_nonnegative(n2i, "n2i", lab)
        check_not_above(ci, "ci", n2i, "n2i", lab)
        di = n2i - ci
    else:
        raise DataError(f"measure {measure!r} needs di or n2i", field="n2i")
    for arm, n, nm in ((1, n1i, "n1i"), (2, n2i, "n2i")):
        i = first_index(n <= 0)
        if i is not None:
            raise study_error(lab, i, nm, f"arm {arm} has no participants ({nm} = {n[i]:g}); "
                                          f"too few participants for measure {measure!r}")
    i = first_index(n1i + n2i < 2) if measure == "PETO" else None
    if i is not None:
        raise study_error(lab, i, "n1i", "Peto's method needs at least 2 participants")

    k = len(ai)
    dropped = double_zero_tables(ai, bi, ci, di) if drop00 else np.zeros(k, bool)
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    A, B, C, D, corrected = continuity_correct(ai, bi, ci, di, add, to, ~dropped)
    if (corrected & zero).any() and to != "all":
        names = ", ".join(lab_i for lab_i, c in zip(lab or [str(i) for i in range(k)], corrected & zero) if c)
        warnings.warn(f"continuity correction {add:g} added to the cells of studies with zero cells: {names}",
                      ContinuityCorrectionWarning, stacklevel=3)
    use = ~dropped
    yi, vi = table_effects(measure, A, B, C, D)
    yi = np.where(use, yi, np.nan)
    vi = np.where(use, vi, np.nan)
    j = first_index(use & (~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0)))
    if j is not None:
        cells = ", ".join(f"{n}={v:g}" for n, v in zip(("ai", "bi", "ci", "di"), (ai[j], bi[j], ci[j], di[j])))
        hint = ("no correction is applied with to='none'" if to == "none" or add == 0 else
                "the table has no information on this measure")
        raise study_error(lab, j, "ai", f"the {_NAMES[measure]} is undefined or infinite ({cells}); {hint}; "
                                        "use add > 0 with to='only0', or drop00=True for double-zero studies")
    out = {"yi": yi, "vi": vi, "ai": ai.copy(), "bi": bi.copy(), "ci": ci.copy(), "di": di.copy(),
           "n1i": (ai + bi), "n2i": (ci + di), "corrected": corrected, "dropped": dropped}
    return out


def _continuous(measure: str, a: dict[str, np.ndarray], lab: list[str] | None) -> dict[str, np.ndarray]:
    for need in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"):
        if need not in a:
            raise DataError(f"measure {measure!r} needs m1i, sd1i, n1i, m2i, sd2i, n2i; {need} is missing",
                            field=need)
    m1, s1, n1, m2, s2, n2 = (a[x] for x in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))
    check_positive(s1, "sd1i", lab)
    check_positive(s2, "sd2i", lab)
    check_positive(n1, "n1i", lab)
    check_positive(n2, "n2i", lab)
    if measure == "MD":
        yi = m1 - m2
        vi = s1 ** 2 / n1 + s2 ** 2 / n2
    elif measure == "SMD":
        mi = n1 + n2 - 2
        j = first_index(mi < 2)
        if j is not None:
            raise study_error(lab, j, "n1i", f"the SMD needs at least 4 participants in all "
                                             f"(n1i + n2i = {n1[j] + n2[j]:g})")
        sp = np.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / mi)
        yi = hedges_correction(mi) * (m1 - m2) / sp
        vi = 1 / n1 + 1 / n2 + yi ** 2 / (2 * (n1 + n2))
    else:  # ROM
        for arr, nm in ((m1, "m1i"), (m2, "m2i")):
            check_positive(arr, nm, lab, what="(the log ratio of means needs positive means)")
        yi = np.log(m1 / m2)
        vi = s1 ** 2 / (n1 * m1 ** 2) + s2 ** 2 / (n2 * m2 ** 2)
    k = len(yi)
    return {"yi": yi, "vi": vi, "m1i": m1.copy(), "sd1i": s1.copy(), "n1i": n1.copy(), "m2i": m2.copy(),
            "sd2i": s2.copy(), "n2i": n2.copy(), "corrected": np.zeros(k, bool), "dropped": np.zeros(k, bool)}
