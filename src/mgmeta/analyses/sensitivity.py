"""Sensitivity and influence analyses of a fitted model: leave-one-out, influence, cumulative.

Every refit runs through :func:`mgmeta.models.fit_arrays` as one batch: the k
leave-one-out fits are the rows of a mask ``~eye(k)``, the cumulative fits the
rows of a lower-triangular mask in the chosen order. The numbers agree with
metafor 3.8's ``leave1out()``, ``influence()`` and ``cumul()`` (see
``tests/reference/analyses.R``).

References
----------
Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for
meta-analysis. Res Synth Methods 1(2):112-125. doi:10.1002/jrsm.11

Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of
therapeutic trials for myocardial infarction. N Engl J Med 327:248-254.
doi:10.1056/NEJM199207233270406
"""
from __future__ import annotations

import warnings
from dataclasses import fields, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mgmeta._transf import resolve_transf, transform_frame
from mgmeta.control import Control
from mgmeta.errors import DataError, MgmetaError, MgmetaWarning
from mgmeta.models import FitArrays, MetaAnalysisResult, check_standard_fit, fit_arrays

__all__ = ["leave_one_out", "influence", "cumulative"]

_EPS = float(np.finfo(float).eps)
_FIT_COLUMNS = ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "q", "q_pvalue", "tau2", "i2",
                "h2"]


# --------------------------------------------------------------------------
# shared helpers (used by the other analyses modules too)
# --------------------------------------------------------------------------

def fixed_tau2(res: Any) -> float | None:
    """tau² when the model was fitted with a fixed tau² (``meta_analysis(tau2=...)``), else None.

    A random-effects fit of k > 1 studies without a standard error of tau²
    is one whose tau² was given, not estimated.
    """
    if getattr(res, "tau2_fixed", None) is not None:      # results that record it explicitly
        flag = res.tau2_fixed
        if isinstance(flag, bool):
            return float(res.tau2) if flag else None
        return float(flag)
    if res.random and res.k > 1 and res.se_tau2 is None:
        return float(res.tau2)
    return None


def _merge(cond: np.ndarray, a: FitArrays, b: FitArrays) -> FitArrays:
    """Field-wise ``where(cond, b, a)``; cond has the batch shape."""
    nb = cond.ndim
    out = {}
    for f in fields(FitArrays):
        x, y = getattr(a, f.name), getattr(b, f.name)
        c = cond.reshape(cond.shape + (1,) * (np.ndim(x) - nb))
        out[f.name] = np.where(c, y, x)
    return replace(a, **out)


def batch_fit(yi: np.ndarray, vi: np.ndarray, *, method: str, test: str, level: float,
              mask: np.ndarray | None = None, X: np.ndarray | None = None, tau2: float | None = None,
              what: str = "refit", names: list[str] | None = None,
              control: Control | None = None) -> tuple[FitArrays, np.ndarray]:
    """A batch of refits as metafor does them one by one.

    As metafor's ``rma``, a fit of a single study cannot use the
    Hartung-Knapp t test and falls back to the z test. Fits whose tau² estimator does not converge are set to NaN (metafor
    skips them and reports NA) and a :class:`MgmetaWarning` names them.

    Returns
    -------
    (FitArrays, ok)
        ``ok`` (batch shape) is False for the fits that failed.
    """
    fa = fit_arrays(yi, vi, method=method, test=test, level=level, mask=mask, X=X, tau2=tau2,
                    raise_on_failure=False, control=control)
    if test in ("knha", "adhoc", "t"):
        no_df = np.asarray(fa.k) == 1
        if no_df.any():
            fz = fit_arrays(yi, vi, method=method, test="z", level=level, mask=mask, X=X, tau2=fa.tau2,
                            raise_on_failure=False, control=control)
            fa = _merge(no_df, fa, fz)
    ok = np.asarray(fa.converged, bool)
    if not ok.all():
        bad = np.flatnonzero(~ok.reshape(-1))
        who = ", ".join(names[i] if names is not None else str(i) for i in bad[:10])
        warnings.warn(f"{len(bad)} {what}{'s' if len(bad) > 1 else ''} did not converge (tau² estimator {method}) "
                      f"and {'are' if len(bad) > 1 else 'is'} reported as NaN: {who}", MgmetaWarning, stacklevel=3)
        nan = {}
        for f in fields(FitArrays):
            x = getattr(fa, f.name)
            if f.name in ("k", "converged", "iterations"):
                continue
            c = (~ok).reshape(ok.shape + (1,) * (np.ndim(x) - ok.ndim))
            nan[f.name] = np.where(c, np.nan, x)
        fa = replace(fa, **nan)
    return fa, ok


def _check_fit(res: Any, what: str) -> None:
    if not isinstance(res, MetaAnalysisResult):
        raise DataError(f"{what} needs a fitted model from mgmeta.meta_analysis, got {type(res).__name__}",
                        field="res")
    if res.k < 2:
        raise MgmetaError(f"{what} needs at least 2 studies (k = {res.k})")
    check_standard_fit(res, what)


def _fit_frame(fa: FitArrays, index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({
        "estimate": fa.beta[:, 0], "se": fa.se[:, 0], "statistic": fa.statistic[:, 0], "pvalue": fa.pvalue[:, 0],
        "ci_lower": fa.ci_lower[:, 0], "ci_upper": fa.ci_upper[:, 0], "q": fa.q, "q_pvalue": fa.q_pvalue,
        "tau2": fa.tau2, "i2": fa.i2, "h2": fa.h2,
    }, index=index)


# --------------------------------------------------------------------------
# leave-one-out
# --------------------------------------------------------------------------

_SHOWN = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "pred")


def leave_one_out(res: Any, transf: Any = None, exp: bool = False) -> pd.DataFrame:
    """The model refitted with each study left out in turn (metafor's ``leave1out``).

    Parameters
    ----------
    res : MetaAnalysisResult or BinaryPoolResult
        A fitted model with k >= 2 studies; for a Mantel-Haenszel or Peto
        fit (:func:`mgmeta.mantel_haenszel`, :func:`mgmeta.peto`) the pooling
        is repeated without each table, with the same ``add``, ``to``,
        ``drop00`` and ``correct``, as metafor's ``leave1out.rma.mh``.
    transf : callable, optional
        Applied to ``estimate``, ``ci_lower`` and ``ci_upper`` for display
        (``se`` is then left out), as metafor's ``transf``.
    exp : bool
        Shorthand for ``transf=numpy.exp`` (ratio measures only).

    Returns
    -------
    DataFrame
        One row per omitted study, in input order, indexed by the study label
        (index name ``study``); columns ``estimate se statistic pvalue
        ci_lower ci_upper tau2 i2 h2 q q_pvalue`` of the model without that
        study (same tau² method, test and level; analysis scale). ``i2`` is a
        percentage. ``statistic`` is z, or t with k - 2 df for
        ``test="knha"``. With k = 2 each fit has one study: tau² = 0 and, as
        metafor, the z test.

    Notes
    -----
    The k fits are one call of :func:`mgmeta.models.fit_arrays` with the
    mask ``~eye(k)``, with the fit's ``control``. For MH/Peto fits the
    frame has no ``tau2`` column.

    Examples
    --------
    >>> import mgmeta
    >>> res = mgmeta.meta_analysis([-0.89, -1.59, -1.35, -1.44, -0.22], [0.33, 0.19, 0.42, 0.02, 0.05],
    ...                            method="DL")
    >>> loo = res.leave_one_out()
    >>> loo.shape
    (5, 11)
    """
    from mgmeta.binary import BinaryPoolResult

    if isinstance(res, BinaryPoolResult):
        fn = resolve_transf(transf, exp, res.measure)
        return transform_frame(_binary_leave_one_out(res), _SHOWN, fn)
    _check_fit(res, "leave_one_out")
    fn = resolve_transf(transf, exp, res.measure)
    k = res.k
    mask = ~np.eye(k, dtype=bool)
    y = np.broadcast_to(res.yi, (k, k))
    v = np.broadcast_to(res.vi, (k, k))
    fa, _ = batch_fit(y, v, method=res.method, test=res.test, level=res.level, mask=mask, tau2=fixed_tau2(res),
                      what="leave-one-out fit", names=[f"without {lab!r}" for lab in res.labels],
                      control=res.control)
    out = _fit_frame(fa, pd.Index(list(res.labels), name="study"))
    out = out[["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q",
               "q_pvalue"]]
    return transform_frame(out, _SHOWN, fn)


def _binary_refits(res: Any) -> tuple[list[Any], np.ndarray]:
    """The MH/Peto pooling without each table; None where metafor's refit fails (NA)."""
    k = len(res.labels)
    fits: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        for i in range(k):
            keep = np.ones(k, bool)
            keep[i] = False
            try:
                fits.append(res.refit(keep))
            except DataError:
                fits.append(None)
    return fits, np.array([f is not None for f in fits])


def _binary_leave_one_out(res: Any) -> pd.DataFrame:
    if len(res.labels) < 2:
        raise MgmetaError(f"leave_one_out needs at least 2 tables (k = {len(res.labels)})")
    fits, _ = _binary_refits(res)
    cols = ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "q", "q_pvalue", "i2", "h2"]
    rows = [{c: (getattr(f, c) if f is not None else np.nan) for c in cols} for f in fits]
    return pd.DataFrame(rows, index=pd.Index(list(res.labels), name="study"), columns=cols).astype(float)


def _binary_influence(res: Any) -> pd.DataFrame:
    """Case-deletion diagnostics of an MH/Peto fit (equal-effects analogues of ``influence()``)."""
    if len(res.labels) < 2:
        raise MgmetaError(f"influence needs at least 2 tables (k = {len(res.labels)})")
    fits, ok = _binary_refits(res)
    est_del = np.array([f.estimate if f is not None else np.nan for f in fits])
    se_del = np.array([f.se if f is not None else np.nan for f in fits])
    q_del = np.array([f.q if f is not None else np.nan for f in fits])
    yi = np.asarray(res.yi, float)
    vi = np.asarray(res.vi, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        resid = yi - est_del
        se_resid = np.sqrt(vi + se_del ** 2)
        out = pd.DataFrame({
            "rstudent": resid / se_resid,
            "dfbetas": (res.estimate - est_del) / res.se,
            "cooks": (res.estimate - est_del) ** 2 / res.se ** 2,
            "covratio": se_del ** 2 / res.se ** 2,
            "estimate_del": est_del,
            "q_del": q_del,
            "weight": np.asarray(res.weights, float),
        }, index=pd.Index(list(res.labels), name="study"))
    return out


# --------------------------------------------------------------------------
# influence
# --------------------------------------------------------------------------

def influence_arrays(yi: np.ndarray, vi: np.ndarray, X: np.ndarray | None, *, beta: np.ndarray, vb: np.ndarray,
                     tau2: float, method: str, test: str, level: float, tau2_fixed: float | None,
                     labels: tuple[str, ...] | list[str], control: Control | None = None) -> pd.DataFrame:
    """Case-deletion diagnostics of a (meta-regression) model; see :func:`influence`.

    ``X`` is the (k, p) design matrix (None for the intercept-only model),
    ``beta`` (p,) and ``vb`` (p, p) the fitted coefficients and their
    covariance matrix (including the Hartung-Knapp factor).
    """
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    k = yi.shape[0]
    Xd = np.ones((k, 1)) if X is None else np.asarray(X, float)
    p = Xd.shape[1]
    beta = np.asarray(beta, float).reshape(p)
    vb = np.asarray(vb, float).reshape(p, p)
    random = method not in ("EE", "FE") and tau2_fixed is None
    mask = ~np.eye(k, dtype=bool)
    # deletions that metafor cannot fit: too few studies left, or a coefficient no longer estimable
    valid = np.ones(k, bool)
    if X is not None:
        need = p + 1 if random else p
        if k - 1 < need:
            valid[:] = False
        else:
            Xm = np.where(mask[..., None], Xd[None], 0.0)
            valid &= np.linalg.matrix_rank(Xm) == p
    fit_mask = np.where(valid[:, None], mask, True)
    y = np.broadcast_to(yi, (k, k))
    v = np.broadcast_to(vi, (k, k))
    fa, ok = batch_fit(y, v, method=method, test=test, level=level, mask=fit_mask, X=X, tau2=tau2_fixed,
                       what="case-deletion fit", names=[f"without {lab!r}" for lab in labels], control=control)
    ok = ok & valid
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta_del = np.where(ok[:, None], fa.beta, np.nan)                         # (k, p)
        vb_del = np.where(ok[:, None, None], fa.vb, np.nan)                       # (k, p, p)
        tau2_del = np.where(ok, fa.tau2, np.nan)
        q_del = np.where(ok, fa.q, np.nan)
        s2w_del = np.where(ok, fa.s2w, np.nan)
        # full model: hat values of W^(1/2)-weighted least squares, as metafor's hatvalues()
        w = 1.0 / (vi + tau2)
        xtwx_inv = np.linalg.inv(Xd.T @ (w[:, None] * Xd))
        hat = np.einsum("ip,pq,iq->i", Xd, xtwx_inv, Xd) * w
        hat = np.where(hat > 1 - 10 * _EPS, 1.0, hat)
        pred_full = Xd @ beta
        delpred = np.einsum("ip,ip->i", Xd, beta_del)
        vdelpred = np.einsum("ip,ipq,iq->i", Xd, vb_del, Xd)
        dffits = (pred_full - delpred) / np.sqrt(s2w_del * hat * (tau2_del + vi))
        # covariance of the full-data estimate with tau² of the deletion plugged in
        wdel = 1.0 / (vi[None, :] + tau2_del[:, None])                          # (k, k)
        vb_plug = np.linalg.inv(np.einsum("jp,ij,jq->ipq", Xd, np.where(ok[:, None], wdel, 1.0), Xd))
        dfb = beta[None, :] - beta_del                                           # (k, p)
        dfbetas = dfb / np.sqrt(s2w_del[:, None] * np.einsum("ipp->ip", vb_plug))
        svb = np.linalg.inv(vb)
        cooks = np.einsum("ip,pq,iq->i", dfb, svb, dfb)
        covratio = np.linalg.det(np.where(ok[:, None, None], vb_del, np.eye(p))) / np.linalg.det(vb)
        covratio = np.where(ok, covratio, np.nan)
        resid = yi - delpred
        resid = np.where(np.abs(resid) < 100 * _EPS, 0.0, resid)
        seresid = np.sqrt(vi * s2w_del + vdelpred + tau2_del * s2w_del)
        rstudent = resid / seresid
        weight = 100 * w / w.sum()
        # metafor's criteria (an undefined criterion counts as not met)
        crit_dffits = np.abs(dffits) > 3 * np.sqrt(p / (k - p)) if k > p else np.zeros(k, bool)
        infl = (np.nan_to_num(crit_dffits, nan=0).astype(bool)
                | (stats.chi2.cdf(np.nan_to_num(cooks, nan=0.0), p) > 0.5) & ~np.isnan(cooks)
                | (hat > 3 * p / k)
                | np.any(np.nan_to_num(np.abs(dfbetas), nan=0.0) > 1, axis=1))
    out = pd.DataFrame({"rstudent": rstudent, "dffits": dffits, "cooks": cooks, "covratio": covratio,
                        "tau2_del": tau2_del, "q_del": q_del, "hat": hat, "weight": weight},
                       index=pd.Index(list(labels), name="study"))
    if p == 1:
        out["dfbetas"] = dfbetas[:, 0]
    else:
        for j in range(p):
            out[f"dfbetas_{j}"] = dfbetas[:, j]
    out["influential"] = np.asarray(infl, bool)
    return out


def influence(res: Any) -> pd.DataFrame:
    """Case-deletion (influence) diagnostics, as metafor's ``influence()``.

    Parameters
    ----------
    res : MetaAnalysisResult, MetaRegressionResult or BinaryPoolResult
        A fitted model with k >= 2 studies. For Mantel-Haenszel and Peto
        fits (metafor 3.8 has no ``influence()`` for them) the frame holds
        equal-effects analogues from the refits without each table:
        ``rstudent`` (metafor's ``rstudent.rma.mh``: (y_i - b_(-i)) /
        sqrt(v_i + se_(-i)²)), ``dfbetas`` ((b - b_(-i)) / se), ``cooks``
        ((b - b_(-i))² / se²), ``covratio`` (se_(-i)² / se²),
        ``estimate_del``, ``q_del`` and ``weight``.

    Returns
    -------
    DataFrame
        One row per study (input order, indexed by label), columns:

        ``rstudent``
            externally studentized residual: (y_i - x_i'b_(-i)) /
            sqrt(s²_(-i) (v_i + tau²_(-i)) + x_i' V_(-i) x_i), with the
            Hartung-Knapp factor s²_(-i) (1 for the z test);
        ``dffits``
            (x_i'b - x_i'b_(-i)) / sqrt(s²_(-i) h_i (tau²_(-i) + v_i));
        ``cooks``
            Cook's distance (b - b_(-i))' V^-1 (b - b_(-i));
        ``covratio``
            det V_(-i) / det V;
        ``tau2_del``, ``q_del``
            tau² and Cochran's Q without study i;
        ``hat``
            leverage, the diagonal of X (X'WX)^-1 X'W;
        ``weight``
            weight in the full model, percent;
        ``dfbetas`` (``dfbetas_0 ... dfbetas_{p-1}`` with moderators)
            (b - b_(-i)) / sqrt(s²_(-i) diag((X'W_(-i)X)^-1)), W_(-i) the full
            data's weights with tau²_(-i);
        ``influential``
            metafor's criteria: |dffits| > 3 sqrt(p/(k-p)), or the chi²_p
            distribution function at Cook's distance above 0.5, or hat >
            3p/k, or any |dfbetas| > 1.

        Rows whose deletion fit is impossible (too few studies left, a
        coefficient no longer estimable) or does not converge are NaN (with a
        warning for the latter), as metafor's NA.

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). doi:10.1002/jrsm.11
    """
    from mgmeta.analyses.regression import MetaRegressionResult
    from mgmeta.binary import BinaryPoolResult

    if isinstance(res, BinaryPoolResult):
        return _binary_influence(res)
    if isinstance(res, MetaRegressionResult):
        if res.k < 2:
            raise MgmetaError("influence needs at least 2 studies")
        return influence_arrays(res.yi, res.vi, res.X, beta=res.coef, vb=res.vb, tau2=res.tau2,
                                method=res.method, test=res.test, level=res.level, tau2_fixed=res.tau2_fixed,
                                labels=res.labels, control=res.control)
    _check_fit(res, "influence")
    vb = np.array([[res.se ** 2]])
    return influence_arrays(res.yi, res.vi, None, beta=np.array([res.estimate]), vb=vb, tau2=res.tau2,
                            method=res.method, test=res.test, level=res.level, tau2_fixed=fixed_tau2(res),
                            labels=res.labels, control=res.control)


# --------------------------------------------------------------------------
# cumulative
# --------------------------------------------------------------------------

def _data_rows(res: MetaAnalysisResult) -> pd.DataFrame | None:
    """The rows of ``res.data`` that entered the model (studies without an effect size removed)."""
    if res.data is None:
        return None
    frame = res.data
    if "dropped" in frame.columns:
        frame = frame.loc[~frame["dropped"].to_numpy(dtype=bool)]
    if res.omitted:                 # studies left out by na_action="omit" (missing yi or vi)
        frame = frame.loc[frame["yi"].notna().to_numpy() & frame["vi"].notna().to_numpy()]
    return frame


def _sort_positions(values: Any, k: int, decreasing: bool) -> np.ndarray:
    vals = pd.Series(values).reset_index(drop=True) if not isinstance(values, pd.Series) else \
        values.reset_index(drop=True)
    if len(vals) != k:
        raise DataError(f"order has {len(vals)} values but the model has {k} studies", field="order")
    missing = vals.isna().to_numpy()
    present = np.flatnonzero(~missing)
    sub = vals.iloc[present]
    try:
        idx = np.argsort(sub.to_numpy(), kind="stable")
    except TypeError:
        raise DataError("order values cannot be sorted (mixed types)", field="order") from None
    if decreasing:
        # R's order(decreasing=TRUE) keeps ties in input order
        keys = sub.to_numpy()
        rank = pd.Series(keys).rank(method="dense").to_numpy()
        idx = np.lexsort((np.arange(len(keys)), -rank))
    return np.concatenate([present[idx], np.flatnonzero(missing)]).astype(int)  # NA last, as R


def resolve_order(res: MetaAnalysisResult, order: Any, decreasing: bool = False) -> np.ndarray:
    """0-based positions from ``order`` (see :func:`cumulative`)."""
    k = res.k
    if order is None:
        return np.arange(k)
    if isinstance(order, str):
        frame = _data_rows(res)
        if frame is None or order not in frame.columns:
            cols = "" if frame is None else f" (columns: {', '.join(map(str, frame.columns))})"
            raise DataError(f"order={order!r} names no column of the model's data{cols}", field="order")
        return _sort_positions(frame[order], k, decreasing)
    if isinstance(order, (pd.Series, pd.Index)):
        return _sort_positions(pd.Series(np.asarray(order)), k, decreasing)
    arr = np.asarray(order)
    if arr.ndim != 1 or arr.shape[0] != k:
        raise DataError(f"order must have one entry per study ({k}), got shape {arr.shape}", field="order")
    if arr.dtype.kind in "iu" or (arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and
                                  np.all(arr == np.round(arr))):
        ints = arr.astype(np.int64)
        if np.array_equal(np.sort(ints), np.arange(k)):
            return ints.copy()
    return _sort_positions(arr, k, decreasing)


def cumulative(res: MetaAnalysisResult, order: Any = None, *, decreasing: bool = False, transf: Any = None,
               exp: bool = False) -> pd.DataFrame:
    """Cumulative meta-analysis: the model refitted as studies are added (metafor's ``cumul``).

    Parameters
    ----------
    res : MetaAnalysisResult
    order : sequence, str or Series, optional
        The order in which studies are added:

        * a permutation of the 0-based positions ``0 .. k-1`` (a list or
          array of integers): the studies in that order;
        * any other sequence or a pandas Series of one value per study (e.g.
          publication years): the studies sorted by it, ties kept in input
          order and missing values last, as R's ``order()``;
        * a string: the column of that name in the effect-size frame the
          model was fitted from (``res.data``), sorted likewise.

        Default: input order.
    decreasing : bool
        Sort values in decreasing order (metafor's ``decreasing=TRUE``).
    transf : callable, optional
        Applied to ``estimate``, ``ci_lower``, ``ci_upper`` for display
        (``se`` is then left out).
    exp : bool
        Shorthand for ``transf=numpy.exp`` (ratio measures only).

    Returns
    -------
    DataFrame
        One row per step, in the order studies are added, indexed by the
        label of the study added at that step (index name ``study``); columns
        ``estimate se statistic pvalue ci_lower ci_upper q q_pvalue tau2 i2
        h2`` (I² in percent) and ``k`` (studies in the fit) and ``position``
        (0-based position of the added study). The first row is a single
        study (tau² = 0; the z test even for ``test="knha"``, as metafor).

    Examples
    --------
    >>> import mgmeta
    >>> res = mgmeta.meta_analysis([-0.89, -1.59, -1.35, -1.44, -0.22], [0.33, 0.19, 0.42, 0.02, 0.05])
    >>> cum = res.cumulative(order=[4, 3, 2, 1, 0])
    >>> list(cum["k"])
    [1, 2, 3, 4, 5]
    """
    if not isinstance(res, MetaAnalysisResult):
        raise DataError(f"cumulative needs a fitted model from mgmeta.meta_analysis, got {type(res).__name__}",
                        field="res")
    fn = resolve_transf(transf, exp, res.measure)
    pos = resolve_order(res, order, decreasing)
    k = res.k
    mask = np.zeros((k, k), bool)
    for step in range(k):             # building the mask only; the fits are one batch
        mask[step, pos[: step + 1]] = True
    y = np.broadcast_to(res.yi, (k, k))
    v = np.broadcast_to(res.vi, (k, k))
    labels = [res.labels[i] for i in pos]
    fa, _ = batch_fit(y, v, method=res.method, test=res.test, level=res.level, mask=mask, tau2=fixed_tau2(res),
                      what="cumulative fit", names=[f"up to {lab!r}" for lab in labels], control=res.control)
    out = _fit_frame(fa, pd.Index(labels, name="study"))
    out["k"] = np.arange(1, k + 1)
    out["position"] = pos
    return transform_frame(out, _SHOWN, fn)
