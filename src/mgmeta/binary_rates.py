"""Mantel-Haenszel pooling of person-time data (incidence rate ratio and difference), as metafor's ``rma.mh``.

:func:`mgmeta.mantel_haenszel` hands ``measure="IRR"`` and ``measure="IRD"``
(with ``x1i``, ``t1i``, ``x2i``, ``t2i``: events and person-time of the two
groups) to :func:`mantel_haenszel_rates`. The result is a
:class:`~mgmeta.binary.BinaryPoolResult`.

References
----------
Rothman KJ, Greenland S, Lash TL (2008). Modern Epidemiology, 3rd ed., ch. 15.
Lippincott Williams & Wilkins.
Greenland S, Robins JM (1985). doi:10.2307/2530643
Viechtbauer W (2010). doi:10.18637/jss.v036.i03
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from mgmeta._inputs import check_data
from mgmeta._validation import check_choice, check_level, check_nonnegative, check_positive
from mgmeta.errors import ContinuityCorrectionWarning, DataError

__all__ = ["RATE_MEASURES", "mantel_haenszel_rates", "mh_irr", "mh_ird"]

RATE_MEASURES = ("IRR", "IRD")
_TO = ("only0", "all", "if0all", "none")


def mh_irr(x1: np.ndarray, t1: np.ndarray, x2: np.ndarray, t2: np.ndarray) -> tuple[np.ndarray, ...]:
    """(R, S, log IRR, se) over the last axis: R = sum x1 t2 / T, S = sum x2 t1 / T, T = t1 + t2,
    Var(log IRR) = sum (t1 t2 / T²)(x1 + x2) / (R S) (Greenland and Robins 1985)."""
    T = t1 + t2
    R = (x1 * t2 / T).sum(-1)
    S = (x2 * t1 / T).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.log(R / S)
        se = np.sqrt((t1 / T * (t2 / T) * (x1 + x2)).sum(-1) / (R * S))
    return R, S, est, se


def mh_ird(x1: np.ndarray, t1: np.ndarray, x2: np.ndarray, t2: np.ndarray) -> tuple[np.ndarray, ...]:
    """(IRD, se) over the last axis: sum (x1 t2 - x2 t1) / T / sum t1 t2 / T with the variance
    sum (t1 t2 / T)² (x1 / t1² + x2 / t2²) / (sum t1 t2 / T)² (Rothman et al. 2008, ch. 15)."""
    T = t1 + t2
    W = (t1 / T * t2).sum(-1)
    est = ((x1 * t2 - x2 * t1) / T).sum(-1) / W
    se = np.sqrt(((t1 / T * t2) ** 2 * (x1 / t1 ** 2 + x2 / t2 ** 2)).sum(-1)) / W
    return est, se


def mantel_haenszel_rates(measure: str, x1i: Any, t1i: Any, x2i: Any, t2i: Any, *, data: Any, labels: Any,
                          level: Any, add: Any, to: Any, drop00: Any, correct: Any,
                          na_action: str = "fail") -> Any:
    """Mantel-Haenszel IRR or IRD (see :func:`mgmeta.mantel_haenszel`; internal front end)."""
    import warnings

    from mgmeta import binary as B
    from mgmeta.measures import compute, correct_cells

    check_choice(measure, RATE_MEASURES, "measure")
    correct = B._check_bool(correct, "correct")
    check_data(data)
    given = {"x1i": x1i, "t1i": t1i, "x2i": x2i, "t2i": t2i}
    missing = [n for n, v in given.items() if v is None]
    if missing:
        raise DataError(f"measure {measure!r} needs x1i, t1i, x2i, t2i (events and person-time of the two "
                        f"groups); {', '.join(missing)} missing", field=missing[0])
    from mgmeta.binary import _count_columns

    vec, lab, omitted = _count_columns(dict(given), labels, data, na_action, first="x1i", stacklevel=6)
    x1, t1, x2, t2 = vec["x1i"], vec["t1i"], vec["x2i"], vec["t2i"]
    check_nonnegative(x1, "x1i", lab)
    check_nonnegative(x2, "x2i", lab)
    check_positive(t1, "t1i", lab, what="(person-time)")
    check_positive(t2, "t2i", lab, what="(person-time)")
    lev = check_level(level)
    add1, add2 = B._pair(add, 0.0, "add")
    to1, to2 = B._pair(to, "none", "to")
    drop1, drop2 = B._pair(drop00, False, "drop00")
    add1, add2 = B._check_add(add1), B._check_add(add2)
    to1, to2 = check_choice(to1, _TO, "to"), check_choice(to2, _TO, "to")
    drop1, drop2 = B._check_bool(drop1, "drop00"), B._check_bool(drop2, "drop00")
    k_all = x1.size

    # study-level estimates for Q, I², H² (escalc with add[1], to[1], drop00[1]); NaN where undefined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContinuityCorrectionWarning)
        out = compute(measure, dict(vec), add=add1, to=to1, drop00=drop1, vtype="LS", lab=lab, strict=False)
    yi, vi = out["yi"], out["vi"]

    keep = ~((x1 == 0) & (x2 == 0)) if drop2 else np.ones(k_all, bool)
    if not keep.any():
        raise DataError("every study has no events in either group and drop00 leaves them all out", field="drop00")
    (a1, a2), _ = correct_cells([x1[keep], x2[keep]], add2, to2, np.ones(int(keep.sum()), bool))
    s1, s2 = t1[keep], t2[keep]
    mh = mh_p = None
    if measure == "IRR":
        R, S, est_a, se_a = mh_irr(a1, s1, a2, s2)
        if R == 0 or S == 0:
            grp = "1" if R == 0 else "2"
            raise DataError(f"the Mantel-Haenszel incidence rate ratio is undefined (metafor returns NA): no "
                            f"study has events in group {grp}", field="x1i" if R == 0 else "x2i")
        est, se = float(est_a), float(se_a)
        T = s1 + s2
        xt = a1 + a2
        mh = float((abs(np.sum(a1 - xt * s1 / T)) - (0.5 if correct else 0.0)) ** 2 / np.sum(xt * s1 / T * s2 / T))
        mh_p = float(stats.chi2.sf(mh, 1))
        wi = a2 / T * s1
    else:
        est_a, se_a = mh_ird(a1, s1, a2, s2)
        est, se = float(est_a), float(se_a)
        if not se > 0:
            raise DataError("the variance of the Mantel-Haenszel incidence rate difference is 0: no study has "
                            "events", field="x1i")
        wi = s1 / (s1 + s2) * s2

    has = ~np.isnan(yi)
    k_yi = int(has.sum())
    B._warn_missing_yi(measure, yi, lab)
    if k_yi > 1:
        q = max(0.0, float(np.sum((yi[has] - est) ** 2 / vi[has])))
        q_p, i2, h2 = B._heterogeneity(q, k_yi - 1)
    else:
        q, q_p, i2, h2 = 0.0, 1.0, 0.0, 1.0
    z, p, lo, hi = B._inference(est, se, lev)
    weights = np.zeros(k_all)
    weights[keep] = 100 * wi / wi.sum()
    return B.BinaryPoolResult(
        measure=measure, method="MH", k=int(keep.sum()), estimate=est, se=se, statistic=z, pvalue=p,
        ci_lower=lo, ci_upper=hi, level=lev, q=q, q_df=max(k_yi - 1, 0), q_pvalue=q_p, i2=i2, h2=h2, k_yi=k_yi,
        labels=tuple(lab) if lab is not None else tuple(str(i + 1) for i in range(k_all)),
        cmh=mh, cmh_pvalue=mh_p, yi=B._frozen(yi), vi=B._frozen(vi), weights=B._frozen(weights),
        correct=correct if measure == "IRR" else None,
        tables=B._frozen(np.column_stack([x1, t1, x2, t2])), options={"add": add, "to": to, "drop00": drop00},
        omitted=omitted)
