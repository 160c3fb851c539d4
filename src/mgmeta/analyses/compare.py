"""Estimator sensitivity: the same data under every tau² estimator and both tests."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from mgmeta._validation import check_choice, check_level
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.models import TESTS, MetaAnalysisResult, check_standard_fit, fit_arrays

__all__ = ["compare_estimators", "DEFAULT_METHODS"]

DEFAULT_METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
"""The tau² estimators compared by default (equal-effects first)."""


def compare_estimators(yi: Any, vi: Any = None, *, methods: Any = None, tests: Any = TESTS, level: float = 0.95,
                       labels: Any = None, sei: Any = None) -> pd.DataFrame:
    """The pooled estimate under each tau² estimator and each test: the estimator sensitivity table.

    Parameters
    ----------
    yi : array_like, shape (k,), DataFrame or MetaAnalysisResult
        Effect sizes (analysis scale), the frame of
        :func:`mgmeta.effect_sizes`, or a fitted model (its data and level
        are used).
    vi : array_like, shape (k,)
        Sampling variances (or give ``sei``).
    methods : sequence of str, optional
        tau² estimators (default :data:`DEFAULT_METHODS`: EE DL HE HS SJ ML
        REML EB PM).
    tests : sequence of {"z", "knha"}
        Tests (default both).
    level : float
        Confidence level.
    labels, sei : optional
        As in :func:`mgmeta.meta_analysis`.

    Returns
    -------
    DataFrame
        One row per (method, test), methods in the given order and tests
        within methods; columns ``method test estimate se statistic df pvalue
        ci_lower ci_upper pi_lower pi_upper tau2 tau se_tau2 i2 h2 q q_pvalue
        k converged``. Every row equals ``meta_analysis(yi, vi, method=...,
        test=...)``. For EE the prediction interval and the standard error of
        tau² do not exist and are NaN; ``df`` is NaN for the z test. A
        non-converging estimator gives a row of NaN with ``converged`` False
        (and a warning).

    Notes
    -----
    Each estimator is one batched call of :func:`mgmeta.models.fit_arrays`;
    the Hartung-Knapp rows reuse its tau².

    References
    ----------
    Veroniki AA, Jackson D, Viechtbauer W, et al. (2016). Methods to estimate
    the between-study variance and its uncertainty in meta-analysis. Res
    Synth Methods 7(1):55-79. doi:10.1002/jrsm.1164

    Langan D, Higgins JPT, Jackson D, et al. (2019). A comparison of
    heterogeneity variance estimators in simulated random-effects
    meta-analyses. Res Synth Methods 10(1):83-98. doi:10.1002/jrsm.1316

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.analyses import compare_estimators
    >>> tab = compare_estimators([-0.89, -1.59, -1.35, -1.44, -0.22], [0.33, 0.19, 0.42, 0.02, 0.05])
    >>> tab.shape[0]
    18
    """
    from mgmeta.analyses.regression import _prepare

    if isinstance(yi, MetaAnalysisResult):
        check_standard_fit(yi, "compare_estimators")
        y, v = np.asarray(yi.yi, float), np.asarray(yi.vi, float)
        if level == 0.95:
            level = yi.level
    else:
        y, v, _, _, _ = _prepare(yi, vi, sei, labels)
    lev = check_level(level)
    methods = list(DEFAULT_METHODS if methods is None else ([methods] if isinstance(methods, str) else methods))
    tests = [tests] if isinstance(tests, str) else list(tests)
    for m in methods:
        check_choice(m, ("EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"), "method")
    for t in tests:
        check_choice(t, TESTS, "test")
    k = len(y)
    if k < 2:
        raise DataError(f"comparing estimators needs at least 2 studies (k = {k})", field="yi")
    rows = []
    failed = []
    for m in methods:                          # one batched fit per estimator
        fz = fit_arrays(y, v, method=m, test="z", level=lev, raise_on_failure=False)
        ok = bool(fz.converged)
        if not ok:
            failed.append(m)
        random = m not in ("EE", "FE")
        for t in tests:
            fa = fz if t == "z" else fit_arrays(y, v, method=m, test=t, level=lev, tau2=fz.tau2)
            row = {"method": m, "test": t, "estimate": float(fa.beta[0]), "se": float(fa.se[0]),
                   "statistic": float(fa.statistic[0]), "df": float(k - 1) if t == "knha" else np.nan,
                   "pvalue": float(fa.pvalue[0]), "ci_lower": float(fa.ci_lower[0]),
                   "ci_upper": float(fa.ci_upper[0]),
                   "pi_lower": float(fa.pi_lower) if random else np.nan,
                   "pi_upper": float(fa.pi_upper) if random else np.nan,
                   "tau2": float(fa.tau2), "tau": float(np.sqrt(fa.tau2)),
                   "se_tau2": float(fz.se_tau2) if random else np.nan, "i2": float(fa.i2), "h2": float(fa.h2),
                   "q": float(fa.q), "q_pvalue": float(fa.q_pvalue), "k": k, "converged": ok}
            if not ok:
                for key in row:
                    if key not in ("method", "test", "k", "converged", "q", "q_pvalue", "df"):
                        row[key] = np.nan
            rows.append(row)
    if failed:
        warnings.warn(f"tau² estimator{'s' if len(failed) > 1 else ''} {', '.join(failed)} did not converge; "
                      "their rows are NaN", MgmetaWarning, stacklevel=2)
    return pd.DataFrame(rows)
