"""Covariances of effect sizes that share a control arm: ``vcov_shared_arm``.

A trial with several treatment arms and one control arm gives one effect per
treatment arm, and those effects are correlated because they share the control
arm's data. Their large-sample covariances (Gleser & Olkin 2009) are, with arm
2 the shared control arm (c, d its events and non-events, n its size, m and sd
its mean and SD):

========  =========================================================
measure   Cov(y_i, y_j) for two comparisons with the same control
========  =========================================================
OR        1/c + 1/d                         (log odds ratios)
RR        1/c - 1/n                          (log risk ratios)
RD        p (1 - p) / n, with p = c / n       (risk differences)
MD        sd² / n                            (mean differences)
ROM       sd² / (n m²)                       (log ratios of means)
SMD       1/n + y_i y_j / (2 N)              (N: all participants of the trial)
========  =========================================================

The diagonal keeps each effect's own sampling variance ``vi``. The result is
the covariance matrix V that :func:`mgmeta.meta_analysis_mv` takes, for a
multivariate model of the multi-arm trials instead of splitting the shared
arm. This is the multi-treatment case that metafor's ``vcalc()`` addresses
(through its ``grp1``/``grp2`` arguments); here the measure-specific formulas
above are used.

References
----------
Gleser LJ, Olkin I (2009). Stochastically dependent effect sizes. In Cooper H,
Hedges LV, Valentine JC (eds), The Handbook of Research Synthesis and
Meta-Analysis, 2nd ed., 357-376. Russell Sage Foundation.

Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 23.3.4
(studies with more than two intervention groups).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mgmeta.errors import DataError

__all__ = ["vcov_shared_arm", "SHARED_ARM_MEASURES"]

SHARED_ARM_MEASURES = ("OR", "RR", "RD", "MD", "SMD", "ROM")
_CONTROL = {"OR": ("ci", "di"), "RR": ("ci", "n2i"), "RD": ("ci", "n2i"), "MD": ("sd2i", "n2i"),
            "ROM": ("m2i", "sd2i", "n2i"), "SMD": ("m2i", "sd2i", "n2i")}


def _control_cov(measure: str, es: pd.DataFrame, add: float) -> np.ndarray:
    """Each row's covariance term computed from its own (control-arm) data; shape (k,)."""
    if measure == "OR":
        corr = es["corrected"].to_numpy(bool) if "corrected" in es.columns else np.zeros(len(es), bool)
        extra = np.where(corr, add, 0.0)
        c = es["ci"].to_numpy(float) + extra
        d = es["di"].to_numpy(float) + extra
        return 1 / c + 1 / d
    if measure == "RR":
        corr = es["corrected"].to_numpy(bool) if "corrected" in es.columns else np.zeros(len(es), bool)
        extra = np.where(corr, add, 0.0)
        c = es["ci"].to_numpy(float) + extra
        n = es["n2i"].to_numpy(float) + 2 * extra
        return 1 / c - 1 / n
    if measure == "RD":
        c = es["ci"].to_numpy(float)
        n = es["n2i"].to_numpy(float)
        p = c / n
        return p * (1 - p) / n
    if measure == "MD":
        return es["sd2i"].to_numpy(float) ** 2 / es["n2i"].to_numpy(float)
    if measure == "ROM":
        return es["sd2i"].to_numpy(float) ** 2 / (es["n2i"].to_numpy(float) * es["m2i"].to_numpy(float) ** 2)
    return 1 / es["n2i"].to_numpy(float)  # SMD: the part that does not depend on the effects


def vcov_shared_arm(es: pd.DataFrame, cluster: Any, *, measure: str | None = None) -> np.ndarray:
    """Covariance matrix of effect sizes whose comparisons share a control arm.

    Parameters
    ----------
    es : DataFrame
        The frame of :func:`mgmeta.effect_sizes`, one row per comparison
        (treatment arm 1 vs the shared control arm 2), with its arm columns
        (``ci di`` or ``ci n2i`` for binary measures; ``m2i sd2i n2i`` for
        continuous ones; ``n1i`` for SMD).
    cluster : array_like, shape (k,), or str
        The trial of each row (or the name of a column of ``es``). Rows of
        the same trial share the control arm; their control-arm data must be
        identical.
    measure : str, optional
        The effect measure (default: the one recorded in ``es``).

    Returns
    -------
    ndarray, shape (k, k)
        V: ``vi`` on the diagonal, the covariances of the module docstring
        between rows of the same trial, 0 elsewhere (block-diagonal after
        grouping the rows by trial; the row order of ``es`` is kept).

    Raises
    ------
    DataError
        Unsupported measure, missing arm columns, rows of one trial with
        different control arms, dropped studies, wrong length of cluster.

    Notes
    -----
    For OR and RR the control cells are taken with the continuity
    correction wherever ``effect_sizes`` applied it to that comparison; when
    only one of two comparisons was corrected, their covariance is the
    geometric mean of the two rows' values. For SMD, N counts every
    participant of the trial (the treatment arms of all its rows plus the
    control arm once), as in Gleser & Olkin (2009, eq. 19.27) and metafor's
    ``dat.gleser2009`` example; the diagonal stays as ``effect_sizes``
    computed it.

    References
    ----------
    Gleser LJ, Olkin I (2009). Stochastically dependent effect sizes. In The
    Handbook of Research Synthesis and Meta-Analysis, 2nd ed., 357-376.

    Examples
    --------
    A trial with two treatment arms and one control arm (log odds ratios):

    >>> import mgmeta
    >>> es = mgmeta.effect_sizes("OR", ai=[12, 18], bi=[38, 34], ci=[20, 20], di=[31, 31])
    >>> V = mgmeta.vcov_shared_arm(es, cluster=["A", "A"])
    >>> bool(abs(V[0, 1] - (1 / 20 + 1 / 31)) < 1e-12)
    True
    """
    if not isinstance(es, pd.DataFrame) or "vi" not in es.columns or "yi" not in es.columns:
        raise DataError("es must be the frame returned by mgmeta.effect_sizes()", field="es")
    measure = measure or es.attrs.get("measure")
    if measure not in SHARED_ARM_MEASURES:
        raise DataError(f"shared-arm covariances are available for {', '.join(SHARED_ARM_MEASURES)}; "
                        f"got measure {measure!r}", field="measure")
    k = len(es)
    if k == 0:
        raise DataError("es has no rows", field="es")
    if "dropped" in es.columns and es["dropped"].to_numpy(bool).any():
        i = int(np.flatnonzero(es["dropped"].to_numpy(bool))[0])
        raise DataError(f"row {i} has no effect size (dropped); remove it from es first", study=i, field="es")
    if isinstance(cluster, str):
        if cluster not in es.columns:
            raise DataError(f"cluster={cluster!r} names no column of es", field="cluster")
        cl = es[cluster].to_numpy(dtype=object)
    else:
        cl = np.asarray(cluster, dtype=object).ravel()
    if len(cl) != k:
        raise DataError(f"cluster has {len(cl)} entries but es has {k} rows", field="cluster")
    if pd.isna(pd.Series(cl)).any():
        raise DataError("cluster has missing values", field="cluster")
    needed = _CONTROL[measure] + (("n1i",) if measure == "SMD" else ())
    missing = [c for c in needed if c not in es.columns]
    if missing:
        raise DataError(f"es lacks the arm column(s) {', '.join(missing)} needed for {measure}", field=missing[0])
    codes = pd.factorize(pd.Series(cl))[0]
    same = codes[:, None] == codes[None, :]
    # the shared arm's data must agree within each trial
    for col in _CONTROL[measure]:
        x = es[col].to_numpy(float)
        bad = same & (x[:, None] != x[None, :])
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DataError(f"rows {i} and {j} of trial {cl[i]!r} have different control arms ({col} {x[i]:g} vs "
                            f"{x[j]:g}); rows of one trial must share the same control arm", study=cl[i], field=col)
    add = float(es.attrs.get("add", 0.5))
    t = _control_cov(measure, es, add)
    with np.errstate(invalid="ignore"):
        V = np.sqrt(np.outer(t, t))
    if measure == "SMD":
        n1 = es["n1i"].to_numpy(float)
        n2 = es["n2i"].to_numpy(float)
        total = np.bincount(codes, weights=n1)[codes] + n2
        y = es["yi"].to_numpy(float)
        V = V + np.outer(y, y) / (2 * total[:, None])
    V = np.where(same, V, 0.0)
    np.fill_diagonal(V, es["vi"].to_numpy(float))
    return V
