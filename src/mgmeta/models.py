"""Fixed- and random-effects models: ``meta_analysis`` and its result.

The numerical core, :func:`fit_arrays`, fits a batch of models at once (a leading
batch axis, a mask of participating studies, an optional design matrix), so that
single fits, leave-one-out, GOSH subsets, permutations and bootstrap draws all run
through the same code. :func:`meta_analysis` wraps it for one analysis and
returns a :class:`MetaAnalysisResult`, on which every follow-up hangs.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from mgmeta import _format as fmt
from mgmeta._validation import (
    check_choice,
    check_lengths,
    check_level,
    check_positive,
    effect_inputs,
    resolve_labels,
)
from mgmeta.control import DEFAULT_CONTROL, Control, check_control
from mgmeta.errors import DataError, MgmetaError, MgmetaWarning
from mgmeta.estimators import (
    ALIASES,
    ALL_METHODS,
    Tau2Estimate,
    estimate_tau2,
    projection,
    q_statistic,
    se_tau2_fixed,
    zeroin,
)

__all__ = [
    "FitArrays",
    "fit_arrays",
    "MetaAnalysisResult",
    "HeterogeneityCI",
    "Interval",
    "meta_analysis",
    "TESTS",
    "ALL_TESTS",
    "T_TESTS",
    "RATIO_MEASURES",
    "check_standard_fit",
    "permuted_data",
]

TESTS = ("z", "knha")
ALL_TESTS = TESTS + ("t", "adhoc")
"""The tests of :func:`meta_analysis`: "t" is the t distribution with k - p df without rescaling, "adhoc"
Hartung-Knapp with the scale factor truncated below at 1 (metafor's ``test="adhoc"``)."""
T_TESTS = ("knha", "adhoc", "t")
"""The tests that use the t distribution."""
RATIO_MEASURES = ("OR", "RR", "PETO", "ROM", "IRR")
_METHOD_NAMES = {
    "EE": "Equal-Effects Model", "FE": "Fixed-Effects Model",
}
_ESTIMATOR_NAMES = {
    "DL": "DerSimonian-Laird", "REML": "restricted maximum likelihood", "ML": "maximum likelihood",
    "PM": "Paule-Mandel", "HE": "Hedges", "SJ": "Sidik-Jonkman", "HS": "Hunter-Schmidt",
    "EB": "empirical Bayes",
}


# --------------------------------------------------------------------------
# batched core
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class FitArrays:
    """Every statistic of a batch of fits, as arrays of the batch shape.

    Coefficient-level arrays (``beta``, ``se``, ``statistic``, ``pvalue``,
    ``ci_lower``, ``ci_upper``) have a trailing axis of length p (1 for the
    intercept-only model); ``vb`` is ``(..., p, p)``; ``weights`` is ``(..., k)``
    in percent (0 for masked-out studies).
    """

    beta: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    vb: np.ndarray
    pi_lower: np.ndarray
    pi_upper: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_pvalue: np.ndarray
    k: np.ndarray
    df: np.ndarray
    weights: np.ndarray
    s2w: np.ndarray
    vt: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


def fit_arrays(yi: np.ndarray, vi: np.ndarray, *, method: str = "REML", test: str = "z",
               level: float = 0.95, mask: np.ndarray | None = None, X: np.ndarray | None = None,
               tau2: np.ndarray | float | None = None, raise_on_failure: bool = True,
               control: Control | None = None, weights: np.ndarray | None = None,
               weighted: bool = True) -> FitArrays:
    """Fit a batch of (meta-regression) models; inputs are assumed valid.

    Parameters
    ----------
    yi, vi : ndarray, shape (..., k)
    method, test, level : as in :func:`meta_analysis`.
    mask : ndarray of bool, shape (..., k), optional
        Studies in each fit.
    X : ndarray, shape (k, p) or (..., k, p), optional
        Design matrix; None for intercept only.
    tau2 : float or ndarray, optional
        A fixed tau² (skips estimation), e.g. for profiles.
    control : Control, optional
        Convergence settings of the iterative estimators (metafor's defaults).
    weights : ndarray, shape (..., k), optional
        User weights a_i (metafor's ``weights``): beta = (X'AX)^-1 X'Ay with
        the sandwich variance (X'AX)^-1 X'A M A X (X'AX)^-1, M = diag(v_i + tau²);
        method "GENQ" also estimates tau² with them.
    weighted : bool
        False: unweighted least squares (a_i = 1), as ``weighted=FALSE``.

    Notes
    -----
    With weights w_i = 1/(v_i + tau²): beta = (X'WX)^-1 X'Wy, Var(beta) =
    (X'WX)^-1 (times s²_w = sum w_i e_i² / (k - p) for Hartung-Knapp).
    Q = sum (1/v_i) (y_i - x_i'beta_EE)², df = k - p. For random-effects
    models I² = 100 tau² / (tau² + v~) and H² = (tau² + v~) / v~ with the
    typical within-study variance v~ = (k - p) / tr(P); for EE/FE models
    I² = 100 max(0, Q - df) / Q and H² = Q / df.
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    if mask is None and X is None and weights is None and weighted and method != "GENQ" and yi.ndim == 1 \
            and vi.shape == yi.shape and yi.shape[0] > 1 and (tau2 is None or np.ndim(tau2) == 0):
        return _fit_one(yi, vi, method, test, level, tau2, raise_on_failure, control)
    if mask is None:
        mask = np.ones(yi.shape, dtype=bool)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), yi.shape)
    y = np.where(mask, yi, 0.0)
    v = np.where(mask, vi, 1.0)
    p = 1 if X is None else X.shape[-1]
    k = mask.sum(-1)
    if tau2 is None:
        est = estimate_tau2(method, y, v, mask, X, raise_on_failure=raise_on_failure, control=control,
                            weights=weights)
    else:
        t = np.broadcast_to(np.asarray(tau2, dtype=float), k.shape)
        est = Tau2Estimate(t, np.full(k.shape, np.nan), np.zeros(k.shape, int), np.ones(k.shape, bool))
    t2 = est.tau2
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = np.where(mask, 1.0 / (v + t2[..., None]), 0.0)
        pr = projection(w, y, X)
        if X is None:
            beta = pr.beta[..., None]
            vb = (1.0 / pr.s1)[..., None, None]
        else:
            beta = pr.beta
            vb = pr.B
        df = (k - p).astype(float)
        if weights is not None or not weighted:
            a = np.where(mask, 1.0 if not weighted else np.broadcast_to(np.asarray(weights, float), y.shape), 0.0)
            beta, vb = _user_weighted(a, y, v + t2[..., None], mask, X)
            w = a
        if test in ("knha", "adhoc"):
            rss = pr.rss()                               # always the inverse-variance fit, as metafor
            s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / df)
            if test == "adhoc":
                s2w = np.maximum(s2w, 1.0)
            vb = vb * s2w[..., None, None]
        else:
            s2w = np.ones(k.shape)
        se = np.sqrt(np.einsum("...ii->...i", vb))
        stat = beta / se
        if test in T_TESTS:
            dfe = np.where(df > 0, df, np.nan)[..., None]
            pval = 2 * special.stdtr(dfe, -np.abs(stat))
            crit = -special.stdtrit(dfe, alpha / 2)
        else:
            pval = 2 * special.ndtr(-np.abs(stat))
            crit = np.full(stat.shape, -special.ndtri(alpha / 2))
        ci_lo = beta - crit * se
        ci_hi = beta + crit * se
        # prediction interval (intercept-only): metafor's predict()
        if X is None:
            half = crit[..., 0] * np.sqrt(se[..., 0] ** 2 + t2)
            pi_lo = beta[..., 0] - half
            pi_hi = beta[..., 0] + half
        else:
            pi_lo = np.full(k.shape, np.nan)
            pi_hi = np.full(k.shape, np.nan)
        # heterogeneity (always inverse-variance weights 1/vi)
        w0 = np.where(mask, 1.0 / v, 0.0)
        pr0 = projection(w0, y, X)
        q = np.maximum(0.0, pr0.rss())
        has_df = k > p
        q = np.where(has_df, q, 0.0)
        qp = np.where(has_df, special.chdtrc(np.where(has_df, df, 1.0), q), 1.0)
        vt = np.where(has_df, df / pr0.trace(), 0.0)
        if method in ("EE", "FE"):
            i2 = np.where(has_df & (q > 0), np.maximum(0.0, 100 * (q - df) / q), 0.0)
            h2 = np.where(has_df, q / np.where(has_df, df, 1.0), 1.0)
        else:
            i2 = np.where(has_df, 100 * t2 / (vt + t2), 0.0)
            h2 = np.where(has_df, t2 / vt + 1, 1.0)
        weights = 100 * w / w.sum(-1, keepdims=True)
    return FitArrays(beta=beta, se=se, statistic=stat, pvalue=pval, ci_lower=ci_lo, ci_upper=ci_hi, vb=vb,
                     pi_lower=pi_lo, pi_upper=pi_hi, tau2=t2, se_tau2=est.se_tau2, i2=i2, h2=h2, q=q,
                     q_pvalue=qp, k=k, df=np.where(test in T_TESTS, df, np.nan), weights=weights, s2w=s2w,
                     vt=vt, iterations=est.iterations, converged=est.converged)


def _user_weighted(a: np.ndarray, y: np.ndarray, m: np.ndarray, mask: np.ndarray,
                   X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares with weights ``a`` and its sandwich variance for marginal variances ``m``."""
    pa = projection(a, y, X)
    mm = np.where(mask, m, 0.0)
    if X is None:
        s = pa.s1
        return pa.beta[..., None], ((a ** 2 * mm).sum(-1) / s ** 2)[..., None, None]
    Xa = X * a[..., None]
    middle = np.einsum("...kp,...k,...kq->...pq", Xa, mm, Xa)
    return pa.beta, pa.B @ middle @ pa.B


def permuted_data(yi: np.ndarray, vi: np.ndarray, X: np.ndarray,
                  rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Permuted designs as one design and permuted data: ``(design, y, v, order)``.

    Fit ``b`` of a permutation test gives study ``i`` the design row ``X[rows[b, i]]``. The same fit
    takes the design rows in sorted order, ``design[j] = X[sort(rows[b])[j]]``, and gives row ``j`` the
    study that row was assigned to: ``y[b, j] = yi[order[b, j]]`` with ``order = argsort(rows[b])``
    (stable). Every row of ``rows`` must hold the same values (a permutation of 0..k-1, or of a multiset of
    row labels for exact tests), so that one design (k, p) serves the whole batch and the projection needs
    no k x k or per-fit design matrices. Per-study results of fit ``b`` (the weights) come in the order
    ``order[b]``: study ``order[b, j]`` is in column ``j``.
    """
    order = np.argsort(rows, axis=1, kind="stable")
    design = X[np.sort(rows[0])]
    return design, yi[order], vi[order], order


def check_standard_fit(res: Any, what: str) -> None:
    """Follow-ups written for inverse-variance weights refuse fits with user weights or ``weighted=False``."""
    if getattr(res, "user_weights", None) is not None or not getattr(res, "weighted", True):
        raise MgmetaError(f"{what} is not available for a model fitted with user weights or weighted=False; "
                          "refit the model without them")


def _fit_one(yi: np.ndarray, vi: np.ndarray, method: str, test: str, level: float, tau2: Any,
             raise_on_failure: bool, control: Control | None) -> FitArrays:
    """:func:`fit_arrays` for one intercept-only fit of k >= 2 studies (1-D ``yi``, ``vi``, no mask).

    The same floating-point operations as the batched code on a batch of shape ``()``, in the same
    order (the same numbers, bit for bit), without the masks, ``where`` and ``einsum`` calls that cost
    more than the arithmetic for one fit.
    """
    k = np.int64(yi.shape[0])
    if tau2 is None:
        est = estimate_tau2(method, yi, vi, None, None, raise_on_failure=raise_on_failure, control=control)
    else:
        t = np.asarray(tau2, dtype=float).reshape(())
        est = Tau2Estimate(t, np.full((), np.nan), np.zeros((), int), np.ones((), bool))
    t2 = est.tau2
    red = np.add.reduce
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = 1.0 / (vi + t2)
        s1 = red(w)
        b = red(w * yi) / s1
        beta = np.array([b])
        vb = np.array([[1.0 / s1]])
        df = np.float64(k - 1)
        if test in ("knha", "adhoc"):
            rss = red(w * (yi - b) ** 2)
            s2w = np.float64(0.0) if rss <= np.finfo(float).eps else rss / df
            if test == "adhoc":
                s2w = np.maximum(s2w, 1.0)
            vb = vb * s2w
        else:
            s2w = np.ones(())
        se = np.sqrt(vb[0])
        stat = beta / se
        alpha = 1 - level
        if test in T_TESTS:
            dfe = np.array([df]) if df > 0 else np.array([np.nan])
            pval = 2 * special.stdtr(dfe, -np.abs(stat))
            crit = -special.stdtrit(dfe, alpha / 2)
        else:
            pval = 2 * special.ndtr(-np.abs(stat))
            crit = np.full(stat.shape, -special.ndtri(alpha / 2))
        ci_lo = beta - crit * se
        ci_hi = beta + crit * se
        half = crit[..., 0] * np.sqrt(se[..., 0] ** 2 + t2)      # [..., 0]: 0-d arrays, as the batched code
        pi_lo = beta[..., 0] - half
        pi_hi = beta[..., 0] + half
        w0 = 1.0 / vi
        s10 = red(w0)
        q = np.maximum(0.0, red(w0 * (yi - red(w0 * yi) / s10) ** 2))
        qp = special.chdtrc(df, q)
        vt = df / (s10 - red(w0 ** 2) / s10)
        if method in ("EE", "FE"):
            i2 = np.maximum(0.0, 100 * (q - df) / q) if q > 0 else np.float64(0.0)
            h2 = q / df
        else:
            i2 = 100 * t2 / (vt + t2)
            h2 = t2 / vt + 1
        weights = 100 * w / s1
    return FitArrays(beta=beta, se=se, statistic=stat, pvalue=pval, ci_lower=ci_lo, ci_upper=ci_hi, vb=vb,
                     pi_lower=pi_lo, pi_upper=pi_hi, tau2=t2, se_tau2=est.se_tau2, i2=np.asarray(i2),
                     h2=np.asarray(h2), q=q, q_pvalue=qp, k=np.asarray(k),
                     df=np.asarray(df if test in T_TESTS else np.nan), weights=weights, s2w=np.asarray(s2w), vt=vt,
                     iterations=est.iterations, converged=est.converged)


# --------------------------------------------------------------------------
# small value types
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """An estimate with a confidence interval (as scipy's ``ConfidenceInterval``)."""

    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class HeterogeneityCI:
    """Q-profile confidence intervals for tau², tau, I² (percent) and H².

    As metafor's ``confint()`` on an ``rma.uni`` fit (Viechtbauer 2007,
    doi:10.1002/sim.2514).
    """

    tau2: Interval
    tau: Interval
    i2: Interval
    h2: Interval
    level: float

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity; columns ``estimate ci_lower ci_upper``."""
        rows = {n: getattr(self, n) for n in ("tau2", "tau", "i2", "h2")}
        return pd.DataFrame({"estimate": [r.estimate for r in rows.values()],
                             "ci_lower": [r.lower for r in rows.values()],
                             "ci_upper": [r.upper for r in rows.values()]}, index=list(rows))

    def __str__(self) -> str:
        names = {"tau2": "tau^2", "tau": "tau", "i2": "I^2(%)", "h2": "H^2"}
        rows = [[names[n], fmt.format_number(getattr(self, n).estimate),
                 fmt.format_number(getattr(self, n).lower), fmt.format_number(getattr(self, n).upper)]
                for n in names]
        return fmt.text_table(["", "estimate", "ci.lb", "ci.ub"], rows)


# --------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class MetaAnalysisResult:
    """A fitted fixed- or random-effects model (intercept only).

    All estimates are on the analysis scale (log scale for ratio measures);
    ``exp`` is for display only. I² is a percentage, as in metafor and
    Cochrane reviews.

    Attributes
    ----------
    estimate, se, statistic, pvalue, ci_lower, ci_upper : float
        Pooled estimate, its standard error, z (or t for ``test="knha"``), p,
        and confidence interval.
    pi_lower, pi_upper : float or None
        Prediction interval, as metafor's ``predict()``; None for EE/FE models.
    tau2, se_tau2 : float
        Between-study variance and its standard error (None for EE/FE).
    i2 : float
        I², percent of total variability due to heterogeneity.
    h2 : float
        H², total variability over sampling variability.
    q, q_pvalue : float
        Cochran's Q test of heterogeneity (df = k - 1).
    k : int
        Number of studies.
    method, test : str
    level : float
    df : int or None
        Degrees of freedom of the t distribution (tests "knha", "adhoc",
        "t"), else None.
    weights : ndarray
        Weights in percent (of the user weights when given).
    yi, vi : ndarray
        The data the model was fitted to.
    labels : tuple of str
        Study labels.
    measure : str or None
        Effect measure when fitted from :func:`mgmeta.effect_sizes` output.
    data : DataFrame or None
        The effect-size frame (with arm data) the fit came from.
    profile : str or None
        The software-convention profile the numbers follow (None: metafor's).
    tau2_fixed : bool
        True when tau² was given (``meta_analysis(tau2=...)``), not estimated.
    control : Control
        Convergence settings of the fit (metafor's ``control``), reused by
        every follow-up that refits the model.
    omitted : tuple of str
        Studies left out for missing values (``na_action="omit"``).
    user_weights : ndarray or None
        The ``weights=`` the model was fitted with.
    weighted : bool
        False for an unweighted fit (``weighted=False``).
    """

    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    pi_lower: float | None
    pi_upper: float | None
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    q: float
    q_pvalue: float
    k: int
    method: str
    test: str
    level: float
    df: int | None
    weights: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...]
    measure: str | None = None
    data: pd.DataFrame | None = field(default=None, repr=False)
    iterations: int = 0
    vt: float = float("nan")
    s2w: float = 1.0
    profile: Any = None
    tau2_fixed: bool = False
    control: Control = field(default=DEFAULT_CONTROL, repr=False)
    omitted: tuple[str, ...] = ()
    na_action: str = "fail"
    user_weights: np.ndarray | None = field(default=None, repr=False)
    weighted: bool = True

    # ---- derived quantities -------------------------------------------------
    @property
    def tau(self) -> float:
        """Square root of tau²."""
        return float(np.sqrt(self.tau2))

    @property
    def is_ratio(self) -> bool:
        """True for ratio measures (estimates on the log scale)."""
        return self.measure in RATIO_MEASURES

    @property
    def random(self) -> bool:
        """True for random-effects models."""
        return self.method not in ("EE", "FE")

    def refit(self, **changes: Any) -> MetaAnalysisResult:
        """The same model with some arguments changed (``method``, ``test``, ``level``, ...)."""
        args = dict(method=self.method, test=self.test, level=self.level, labels=list(self.labels),
                    measure=self.measure, profile=self.profile, control=self.control,
                    na_action=self.na_action, weights=self.user_weights, weighted=self.weighted)
        args.update(changes)
        if "yi" not in changes and "vi" not in changes and self.data is not None and self.user_weights is None:
            # refit from the effect-size frame, so that profiles can re-analyse the arm data (user weights are
            # those of the studies in the fit, so such a fit is refitted from its yi and vi)
            args.pop("labels")
            if args.get("profile") not in (None, "metafor"):
                args.pop("control")
                args.pop("na_action")
            return meta_analysis(self.data, **args)
        yi = args.pop("yi", self.yi)
        vi = args.pop("vi", self.vi)
        if args.get("profile") not in (None, "metafor"):
            args.pop("control")
            args.pop("na_action")
        return meta_analysis(yi, vi, **args)

    # ---- follow-ups ---------------------------------------------------------
    def heterogeneity_ci(self, level: float | None = None, control: Any = None) -> HeterogeneityCI:
        """Q-profile confidence intervals for tau², tau, I² and H².

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the model's).
        control : dict or Control, optional
            Settings of the root finder (``tol``, ``maxiter``); default the
            fit's ``control`` (metafor: ``confint(res, control=list(tol=...,
            maxiter=...))``; its default ``maxiter`` there is 1000).

        Notes
        -----
        The bounds solve Q(tau²) = chi²_{k-1; 1-alpha/2} (lower) and
        Q(tau²) = chi²_{k-1; alpha/2} (upper), where Q(tau²) is the
        generalised Q statistic, searched on [0, max(100, 10 tau²)] with
        Brent's method as in metafor (tolerance ``control.tol``, at most
        ``max(control.maxiter, 1000)`` iterations); a bound below 0 is set to 0. The I² and
        H² bounds follow from the tau² bounds and the typical within-study
        variance.

        References
        ----------
        Viechtbauer W (2007). doi:10.1002/sim.2514
        """
        if not self.random:
            raise MgmetaError(f"heterogeneity_ci needs a random-effects model; this is method={self.method!r}")
        if self.k < 2:
            raise MgmetaError("heterogeneity_ci needs at least 2 studies")
        lev = self.level if level is None else check_level(level)
        ctl = self.control if control is None else check_control(control)
        alpha = 1 - lev
        df = self.k - 1
        y = np.asarray(self.yi, float)
        v = np.asarray(self.vi, float)
        mask = np.ones(y.shape, bool)
        crit_u = special.chdtri(df, alpha / 2)                 # scipy.stats.chi2.isf
        crit_l = 2 * special.gammaincinv(df / 2, alpha / 2)   # scipy.stats.chi2.ppf
        t_min, t_max = 0.0, max(100.0, self.tau2 * 10)

        def qfun(t, target):
            return lambda x: q_statistic(y, v, x, mask) - target

        q_min = float(q_statistic(y, v, t_min, mask))
        q_max = float(q_statistic(y, v, t_max, mask))

        def root(target):
            f = qfun(None, target)
            r, _, ok = zeroin(f, np.array(t_min), np.array(t_max), np.array(q_min - target),
                              np.array(q_max - target), tol=ctl.tol, maxiter=max(ctl.maxiter, 1000))
            if not ok:
                raise MgmetaError("Q-profile search for the tau² interval did not converge")
            return float(r)

        if q_min < crit_l:
            lb = ub = t_min
        else:
            ub = t_max if q_max > crit_l else root(crit_l)
            if q_max > crit_u:
                lb = ub = t_max
            else:
                lb = t_min if q_min < crit_u else root(crit_u)
        vt = self.vt
        i2 = [100 * t / (vt + t) for t in (lb, ub)]
        h2 = [t / vt + 1 for t in (lb, ub)]
        return HeterogeneityCI(
            tau2=Interval(self.tau2, lb, ub),
            tau=Interval(self.tau, float(np.sqrt(lb)), float(np.sqrt(ub))),
            i2=Interval(self.i2, i2[0], i2[1]),
            h2=Interval(self.h2, h2[0], h2[1]),
            level=lev,
        )

    def predict(self, level: float | None = None, transf: Any = None, exp: bool = False) -> pd.Series:
        """Pooled estimate with confidence and prediction interval (metafor's ``predict``).

        ``transf`` (a function) or ``exp=True`` (ratio measures) back-transform
        the estimate and the limits for display; ``se`` is then left out, as
        metafor's ``predict(res, transf = exp)``.
        """
        from mgmeta._transf import resolve_transf, transform_frame
        fn = resolve_transf(transf, exp, self.measure)
        res = self if level is None else self.refit(level=level)
        row = pd.DataFrame([{"estimate": res.estimate, "se": res.se, "ci_lower": res.ci_lower,
                             "ci_upper": res.ci_upper, "pi_lower": res.pi_lower, "pi_upper": res.pi_upper}],
                           dtype=float)
        return transform_frame(row, ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper"), fn).iloc[0]

    def blup(self, level: float | None = None) -> pd.DataFrame:
        """Best linear unbiased predictions of the true effects (see :func:`mgmeta.fitstats.blup`)."""
        from mgmeta.fitstats import blup
        return blup(self, level=level)

    def ranef(self, level: float | None = None) -> pd.DataFrame:
        """Predicted random effects, the studies' deviations from the mean (see :func:`mgmeta.fitstats.ranef`)."""
        from mgmeta.fitstats import ranef
        return ranef(self, level=level)

    def fitstats(self) -> Any:
        """Log-likelihood, deviance, AIC, BIC and AICc under ML and REML (see :func:`mgmeta.fitstats.fitstats`)."""
        from mgmeta.fitstats import fitstats
        return fitstats(self)

    def leave_one_out(self, transf: Any = None, exp: bool = False) -> pd.DataFrame:
        """The model refitted without each study in turn (see :mod:`mgmeta.analyses.sensitivity`)."""
        from mgmeta.analyses.sensitivity import leave_one_out
        return leave_one_out(self, transf=transf, exp=exp)

    def influence(self) -> pd.DataFrame:
        """Case-deletion diagnostics (see :mod:`mgmeta.analyses.sensitivity`)."""
        from mgmeta.analyses.sensitivity import influence
        return influence(self)

    def cumulative(self, order: Any = None, transf: Any = None, exp: bool = False) -> pd.DataFrame:
        """Cumulative meta-analysis (see :mod:`mgmeta.analyses.sensitivity`)."""
        from mgmeta.analyses.sensitivity import cumulative
        return cumulative(self, order=order, transf=transf, exp=exp)

    def gosh(self, max_subsets: int | None = None, seed: int | None = None, **kwargs: Any) -> Any:
        """Fits to all (or a sample of) subsets of studies (see :mod:`mgmeta.analyses.gosh`)."""
        from mgmeta.analyses.gosh import gosh
        return gosh(self, max_subsets=max_subsets, seed=seed, **kwargs)

    def bootstrap(self, n_boot: int = 1000, seed: int | None = None, **kwargs: Any) -> Any:
        """Parametric bootstrap of this model (see :func:`mgmeta.bootstrap.bootstrap`)."""
        from mgmeta.bootstrap import bootstrap
        return bootstrap(self, n_boot=n_boot, seed=seed, **kwargs)

    def plot_forest(self, **kwargs: Any) -> Any:
        """Forest plot (see :func:`mgmeta.plots.forest`)."""
        from mgmeta.plots.forest import forest
        return forest(self, **kwargs)

    # ---- presentation -------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row with stable snake_case columns (analysis scale)."""
        cols = ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
                "tau2", "se_tau2", "i2", "h2", "q", "q_pvalue", "k", "method", "test", "level", "df", "measure"]
        return pd.DataFrame([{c: getattr(self, c) for c in cols}])

    def _header(self) -> str:
        if self.random:
            return f"Random-Effects Model (k = {self.k}; tau^2 estimator: {self.method})"
        return f"{_METHOD_NAMES[self.method]} (k = {self.k})"

    def _coef_rows(self) -> tuple[list[str], list[list[str]]]:
        stat = "tval" if self.test in T_TESTS else "zval"
        head = ["estimate", "se", stat] + (["df"] if self.test in T_TESTS else []) + ["pval", "ci.lb", "ci.ub"]
        row = [fmt.format_number(self.estimate), fmt.format_number(self.se), fmt.format_number(self.statistic)]
        if self.test in T_TESTS:
            row.append(str(self.df))
        row += [fmt.format_pvalue(self.pvalue), fmt.format_number(self.ci_lower), fmt.format_number(self.ci_upper)]
        return head, [row]

    def _display_rows(self) -> tuple[str, list[str], list[list[str]]] | None:
        """The display-scale table (title, header, rows): exponentiated ratios, back-transformed proportions,
        correlations, rates and means; None for measures shown on their own scale."""
        from mgmeta._transf import display_of
        shown = display_of(self)
        if shown is None:
            return None
        title, tr = shown
        head = ["pred", "ci.lb", "ci.ub"] + (["pi.lb", "pi.ub"] if self.pi_lower is not None else [])
        vals = [self.estimate, self.ci_lower, self.ci_upper]
        if self.pi_lower is not None and self.pi_upper is not None:
            vals += [self.pi_lower, self.pi_upper]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            back = np.asarray(tr(np.asarray(vals, dtype=float)), dtype=float)
        return title, head, [[fmt.format_number(float(x)) for x in back]]

    def _het_lines(self) -> list[str]:
        lines = []
        if self.random:
            se = f" (SE = {fmt.format_number(self.se_tau2)})" if self.se_tau2 is not None else ""
            lines.append(f"tau^2 (estimated amount of total heterogeneity): {fmt.format_number(self.tau2)}{se}")
            lines.append(f"tau (square root of estimated tau^2 value):      {fmt.format_number(self.tau)}")
            lines.append(f"I^2 (total heterogeneity / total variability):   {self.i2:.2f}%")
            lines.append(f"H^2 (total variability / sampling variability):  {self.h2:.2f}")
        else:
            lines.append(f"I^2 (total heterogeneity / total variability):   {self.i2:.2f}%")
            lines.append(f"H^2 (total variability / sampling variability):  {self.h2:.2f}")
        return lines

    def __str__(self) -> str:
        out = [self._header(), ""]
        if self.profile is not None:
            out[1:1] = [f"Conventions: {self.profile} profile (see mgmeta.profiles())"]
        out += self._het_lines()
        out += ["", "Test for Heterogeneity:",
                f"Q(df = {max(self.k - 1, 0)}) = {self.q:.4f}, p-val = {fmt.format_pvalue(self.q_pvalue)}", "",
                "Model Results:", ""]
        head, rows = self._coef_rows()
        out.append(fmt.text_table(head, rows))
        shown = self._display_rows()
        if shown is not None:
            title, head, rows = shown
            out += ["", f"{title}:", fmt.text_table(head, rows)]
        elif self.pi_lower is not None:
            out += ["", f"Prediction interval: {fmt.format_number(self.pi_lower)} to "
                        f"{fmt.format_number(self.pi_upper)}"]
        if self.test in T_TESTS:
            out += ["", {"knha": "Test: Hartung-Knapp-Sidik-Jonkman (t distribution)",
                         "adhoc": "Test: Hartung-Knapp-Sidik-Jonkman with the ad hoc correction (scale factor >= 1; "
                                  "t distribution)",
                         "t": "Test: t distribution (k - 1 df), no rescaling"}[self.test]]
        if self.user_weights is not None or not self.weighted:
            out += ["Weights: " + ("user weights (sandwich standard error)" if self.weighted else
                                   "unweighted estimation (equal weights; sandwich standard error)")]
        if self.omitted:
            out += ["", f"Omitted for missing values: {', '.join(self.omitted)}"]
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        head, rows = self._coef_rows()
        parts = [f"<p><b>{self._header()}</b></p>",
                 "<p>" + "<br>".join(self._het_lines()) + "</p>",
                 f"<p>Q(df = {max(self.k - 1, 0)}) = {self.q:.4f}, p = {fmt.format_pvalue(self.q_pvalue)}</p>",
                 fmt.html_table(head, rows, caption="Model results (analysis scale)")]
        shown = self._display_rows()
        if shown is not None:
            title, head, rows = shown
            parts.append(fmt.html_table(head, rows, caption=title))
        return "".join(parts)


# --------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------

def frame_labels(frame: pd.DataFrame) -> list[str] | None:
    """Study labels of an effect-size frame: its label column (``attrs["labels"]``, else ``study``)."""
    col = frame.attrs.get("labels", "study")
    if col is None or col not in frame.columns:
        col = "study" if "study" in frame.columns and frame.attrs.get("labels", "study") is not None else None
    if col is None:
        return None
    from mgmeta._inputs import clean_labels
    return clean_labels(frame[col], len(frame), stacklevel=5)


def _plain_arrays(yi: Any, vi: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Fresh copies of ``yi`` and ``vi`` when they are 1-D float arrays of the same length (k >= 2) with
    finite values and positive variances, which every check of the general path would accept as they
    are; None otherwise (the general path then runs and raises what it raises)."""
    if type(yi) is not np.ndarray or type(vi) is not np.ndarray or yi.dtype.kind != "f" \
            or vi.dtype.kind != "f" or yi.ndim != 1 or yi.shape != vi.shape or yi.shape[0] < 2:
        return None
    y = yi.astype(float)
    v = vi.astype(float)
    if not (np.isfinite(y).all() and np.isfinite(v).all() and (v > 0).all()):
        return None
    return y, v


@functools.lru_cache(maxsize=64)
def _default_labels(k: int) -> tuple[str, ...]:
    """Study labels "1" ... "k" (metafor's default)."""
    return tuple(str(i + 1) for i in range(k))


def _from_frame(frame: pd.DataFrame, na_action: str = "fail", labels: Any = None,
                extra: dict[str, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, list[str], str | None, pd.DataFrame, tuple[str, ...],
                           dict[str, np.ndarray]]:
    """yi, vi, labels, measure, a copy of the frame, the omitted studies and ``extra`` (further arguments
    aligned to the frame's rows, e.g. user weights) of the studies in the fit."""
    from mgmeta._inputs import clean_labels, omit_missing
    for col in ("yi", "vi"):
        if col not in frame.columns:
            raise DataError(f"the data frame has no column {col!r}; build it with mgmeta.effect_sizes()", field=col)
    if labels is not None:
        if isinstance(labels, str):
            if labels not in frame.columns:
                raise DataError(f"labels={labels!r} names no column of the data", field="labels")
            labels = frame[labels]
        lab_all = clean_labels(labels, len(frame), stacklevel=5)
    else:
        lab_all = frame_labels(frame)
    names = lab_all if lab_all is not None else [str(i + 1) for i in range(len(frame))]
    keep = np.ones(len(frame), dtype=bool)
    if "dropped" in frame.columns:
        keep = ~frame["dropped"].to_numpy(dtype=bool)
        if not keep.all():
            dropped = ", ".join(n for n, k_ in zip(names, keep) if not k_)
            warnings.warn(f"{(~keep).sum()} stud{'y' if (~keep).sum() == 1 else 'ies'} without an effect size "
                          f"omitted from the model: {dropped}", MgmetaWarning, stacklevel=3)
    sub_names = [n for n, k_ in zip(names, keep) if k_]
    y = frame["yi"].to_numpy()[keep]
    v = frame["vi"].to_numpy()[keep]
    more = {n: np.asarray(a)[keep] for n, a in (extra or {}).items()}
    ok, omitted = omit_missing({"yi": y, "vi": v, **more}, na_action, sub_names if lab_all is not None else None,
                               int(keep.sum()), stacklevel=4)
    if lab_all is None:
        omitted = tuple(str(int(np.flatnonzero(keep)[i]) + 1) for i in np.flatnonzero(~ok))
    rows = np.flatnonzero(keep)[ok]
    labels_out = [names[i] for i in rows]
    measure = frame.attrs.get("measure")
    yv = frame["yi"].to_numpy()[rows]
    vv = frame["vi"].to_numpy()[rows]
    from mgmeta._validation import as_vector
    return as_vector(yv, "yi", labels_out), as_vector(vv, "vi", labels_out), labels_out, measure, frame.copy(), \
        omitted, {n: np.asarray(a)[rows] for n, a in (extra or {}).items()}


def meta_analysis(yi: Any = None, vi: Any = None, *, method: str = "REML", test: str = "z", level: float = 0.95,
                  labels: Any = None, sei: Any = None, measure: str | None = None,
                  profile: str | None = None, tau2: float | None = None, data: pd.DataFrame | None = None,
                  na_action: str = "fail", control: Any = None, weights: Any = None,
                  weighted: bool = True) -> MetaAnalysisResult:
    """Fit a fixed- or random-effects model, as metafor's ``rma(yi, vi)``.

    Parameters
    ----------
    yi : array_like, shape (k,), str, or DataFrame
        Effect sizes on the analysis scale (a column name of ``data``), or the
        frame returned by :func:`mgmeta.effect_sizes` (then ``vi`` is taken
        from it and the fit remembers the measure, the study labels and the
        arm data). Omitted with ``data``: ``data`` is that frame.
    vi : array_like, shape (k,)
        Sampling variances (> 0). Give ``sei`` instead for standard errors.
    method : {"REML", "EE", "FE", "DL", "ML", "PM", "HE", "SJ", "HS", "EB", "HSk", "GENQ", "PMM", "SJIT", "DLIT", "CE", "MP"}
        tau² estimator; "EE" (alias "FE", and metafor's "CE") fits the
        equal-effects model; "MP" is "PM". The aliases are stored under the
        canonical name (``res.method`` is "EE" for "CE"). See
        :func:`mgmeta.estimators.estimate_tau2` for the others.
    test : {"z", "knha", "t", "adhoc"}
        Wald z test; Hartung-Knapp-Sidik-Jonkman (t with k - 1 df); "t": the
        t distribution without rescaling; "adhoc": Hartung-Knapp with the
        scale factor truncated below at 1.
    level : float
        Confidence level for the intervals (0.95; 95 is accepted too).
    labels : sequence of str, optional
        Study labels (messages and printed output use them).
    measure : str, optional
        The effect measure of raw ``yi`` (for exponentiated display).
    profile : str, optional
        A named software convention (see :func:`mgmeta.profiles`); default
        metafor's.
    tau2 : float, optional
        Fix tau² at this value instead of estimating it (``se_tau2`` is then
        the estimator's standard-error formula at that value, as metafor).
    data : DataFrame, optional
        metafor's ``data=``: string arguments name its columns, Series are
        matched to its rows by index (never by position).
    na_action : {"fail", "omit"}
        A study with a missing ``yi``/``vi`` (or weight) raises (default), or
        is left out with an :class:`~mgmeta.errors.OmittedStudiesWarning`
        ("omit"; the result lists them in ``omitted``).
    control : dict, optional
        Convergence settings with metafor's names: ``threshold``, ``tol``,
        ``maxiter``, ``stepadj``, ``tau2_init`` (see
        :class:`mgmeta.control.Control`). Kept by the fit for every follow-up.
    weights : array_like, shape (k,), str or float, optional
        User weights (non-negative, not all 0; a column name of ``data`` or
        of the effect-size frame, a Series matched by index, or one value
        for every study), as metafor's ``weights``: the
        estimate is sum a_i y_i / sum a_i with variance
        sum a_i² (v_i + tau²) / (sum a_i)²; tau² is estimated as usual (with
        the weights for "GENQ", which needs them). ``res.weights`` are their
        percentages.
    weighted : bool
        False for unweighted estimation (all a_i = 1), as ``weighted=FALSE``.

    Returns
    -------
    MetaAnalysisResult

    Raises
    ------
    DataError
        Empty input, mismatched lengths, NaN or infinite values, non-positive
        variances, unknown method or test; the message names the study.
    ConvergenceError
        An iterative tau² estimator did not converge.

    Notes
    -----
    Weights w_i = 1/(v_i + tau²); estimate mu = sum w_i y_i / sum w_i with
    variance 1 / sum w_i (times the Hartung-Knapp factor
    sum w_i (y_i - mu)² / (k - 1) when ``test="knha"``). The prediction
    interval is mu ± crit sqrt(se² + tau²), crit from N(0, 1) or t(k - 1).

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
    package. J Stat Softw 36(3). doi:10.18637/jss.v036.i03

    Examples
    --------
    BCG vaccine trials (Colditz et al. 1994), log risk ratios of the first
    four trials (the same numbers as metafor 3.8: DL tau² is 0 here):

    >>> import mgmeta
    >>> es = mgmeta.effect_sizes("RR", ai=[4, 6, 3, 62], n1i=[123, 306, 231, 13598],
    ...                          ci=[11, 29, 11, 248], n2i=[139, 303, 220, 12867])
    >>> res = mgmeta.meta_analysis(es, method="DL")
    >>> round(res.estimate, 4), round(res.tau2, 4)
    (-1.422, 0.0)
    """
    from mgmeta._inputs import check_data, check_na_action, effects_or_data, gather, omit_missing

    na_action = check_na_action(na_action)
    ctl = check_control(control)
    check_data(data)
    if yi is None and data is not None and (vi is not None or sei is not None):
        raise DataError("give yi together with vi/sei (column names of data)", field="yi")
    yi, data = effects_or_data(yi, data)
    if measure is not None:
        from mgmeta.effects import MEASURES
        from mgmeta.measures import MEASURES as MORE_MEASURES
        check_choice(measure, MEASURES + MORE_MEASURES, "measure")
    if profile is not None and profile != "metafor":
        if weights is not None or weighted is not True:
            raise DataError("software profiles use their own weights; weights= and weighted=False are for "
                            "metafor's conventions only", field="weights")
        from mgmeta.profiles import apply_profile
        if not isinstance(yi, pd.DataFrame):
            g = gather({"yi": yi, "vi": vi, "sei": sei, "labels": labels}, data)
            yi, vi, sei, labels = (g.columns.get(n) for n in ("yi", "vi", "sei", "labels"))
        return apply_profile(profile, yi, vi, method=method, test=test, level=level, labels=labels,
                             sei=sei, measure=measure, tau2=tau2)
    check_choice(method, ALL_METHODS, "method")
    method = ALIASES.get(method, method)
    check_choice(test, ALL_TESTS, "test")
    level = check_level(level)
    frame = None
    omitted: tuple[str, ...] = ()
    # one weight for every study (metafor accepts it) is not a column: it is checked by _check_weights
    w_scalar = (weights is not None and not isinstance(weights, (str, pd.Series, pd.Index, pd.DataFrame))
                and np.ndim(weights) == 0)
    w_arg = None if weights is None or w_scalar else weights
    w_used: Any = weights if w_scalar else None
    plain = _plain_arrays(yi, vi) if data is None and sei is None and labels is None and weights is None \
        else None
    if plain is not None:
        yi_arr, vi_arr = plain
    elif isinstance(yi, pd.DataFrame):
        if vi is not None or sei is not None:
            raise DataError("give either a frame from effect_sizes() or yi with vi/sei, not both")
        # weights= names a column of the frame, or is matched to its rows (by index for a Series)
        extra = gather({"weights": w_arg}, yi).columns if w_arg is not None else {}
        yi_arr, vi_arr, lab_frame, frame_measure, frame, omitted, used = _from_frame(yi, na_action, labels,
                                                                                    extra)
        if w_arg is not None:
            w_used = used["weights"]
        labels = lab_frame
        measure = measure or frame_measure
        if len(yi_arr) == 0:
            raise DataError("empty input: no study has an effect size")
    else:
        g = gather({"yi": yi, "vi": vi, "sei": sei, "labels": labels, "weights": w_arg}, data)
        lab_raw = g.columns.pop("labels", None)
        if g.k == 0:
            raise DataError("empty input: yi contains no studies", field="yi")
        labels = resolve_labels(lab_raw, g.k) if lab_raw is not None else None
        keep, omitted = omit_missing(g.columns, na_action, labels, g.k)
        if labels is not None:
            labels = [x for x, k_ in zip(labels, keep) if k_]
        cols = {n: a[keep] for n, a in g.columns.items()}
        yi_arr, vi_arr, _ = effect_inputs(cols.get("yi"), cols.get("vi"), cols.get("sei"), labels)
        if w_arg is not None:
            w_used = cols["weights"]
    lab = resolve_labels(labels, len(yi_arr)) if labels is not None else None
    k = check_lengths({"yi": yi_arr, "vi": vi_arr})
    if plain is None:
        check_positive(vi_arr, "vi", lab)
    user_w = _check_weights(w_used, weighted, method, k, lab)
    if test in T_TESTS and k < 2:
        warnings.warn(f"test={test!r} needs at least 2 studies (t with k - 1 df); using the z test, as metafor",
                      MgmetaWarning, stacklevel=2)
        test = "z"
    if test in ("knha", "adhoc") and method in ("EE", "FE"):
        warnings.warn(f"the Hartung-Knapp adjustment is meant for random-effects models, not {method}",
                      MgmetaWarning, stacklevel=2)
    if k < 2 and method not in ("EE", "FE"):
        warnings.warn(f"only one study: tau² cannot be estimated and is set to 0 (method {method})",
                      MgmetaWarning, stacklevel=2)
    if tau2 is not None:
        tau2 = float(tau2)
        if not np.isfinite(tau2) or tau2 < 0:
            raise DataError(f"tau2 must be a finite non-negative number, got {tau2!r}", field="tau2")
    fa = fit_arrays(yi_arr, vi_arr, method=method, test=test, level=level, tau2=tau2, control=ctl, weights=user_w,
                    weighted=bool(weighted))
    random = method not in ("EE", "FE")
    labels_t = tuple(lab) if lab is not None else _default_labels(k)
    if random and k > 1 and tau2 is None:
        se_t2: float | None = float(fa.se_tau2)
    elif random and k > 1:
        assert tau2 is not None
        se_t2 = se_tau2_fixed(method, yi_arr, vi_arr, tau2, control=ctl, weights=user_w)   # as metafor
    else:
        se_t2 = None
    return MetaAnalysisResult(
        estimate=float(fa.beta[0]), se=float(fa.se[0]), statistic=float(fa.statistic[0]),
        pvalue=float(fa.pvalue[0]), ci_lower=float(fa.ci_lower[0]), ci_upper=float(fa.ci_upper[0]),
        pi_lower=float(fa.pi_lower) if random else None, pi_upper=float(fa.pi_upper) if random else None,
        tau2=float(fa.tau2), se_tau2=se_t2,
        i2=float(fa.i2), h2=float(fa.h2), q=float(fa.q), q_pvalue=float(fa.q_pvalue), k=int(k),
        method=method, test=test, level=level, df=int(k - 1) if test in T_TESTS else None,
        weights=np.asarray(fa.weights, float), yi=yi_arr.copy(), vi=vi_arr.copy(), labels=labels_t,
        measure=measure, data=frame, iterations=int(fa.iterations), vt=float(fa.vt), s2w=float(fa.s2w),
        tau2_fixed=tau2 is not None, control=ctl, omitted=omitted, na_action=na_action,
        user_weights=user_w, weighted=bool(weighted),
    )


def _check_weights(weights: Any, weighted: Any, method: str, k: int, lab: list[str] | None) -> np.ndarray | None:
    """User weights as a checked array (None when not given)."""
    from mgmeta._validation import as_vector, check_nonnegative

    if not isinstance(weighted, (bool, np.bool_)):
        raise DataError(f"weighted must be True or False, got {weighted!r}", field="weighted")
    if weights is None:
        if method == "GENQ":
            raise DataError("method 'GENQ' needs weights (the a_i of the generalised Q statistic)", field="weights")
        return None
    w = as_vector(weights, "weights", lab)
    if w.size == 1 and k > 1:
        w = np.full(k, float(w[0]))                 # metafor: a single value is every study's weight
    if len(w) != k:
        raise DataError(f"weights has {len(w)} entries but there are {k} studies", field="weights")
    check_nonnegative(w, "weights", lab)
    if not (w > 0).any():
        raise DataError("weights are all 0", field="weights")
    return w
