"""Small-study effects and publication bias: regression and rank tests, trim and fill, fail-safe N.

* :func:`egger_test` -- metafor's ``regtest()``: by default a meta-regression of
  the effects on their standard errors with the model's tau² method and test
  (``model="rma"``), or Egger's classic weighted regression (``model="lm"``).
* :func:`begg_test` -- metafor's ``ranktest()``: Kendall's tau between the
  standardized deviates and the variances (Begg and Mazumdar).
* :func:`peters_test`, :func:`harbord_test` -- regression tests for binary
  outcomes that avoid the correlation between a log odds ratio and its
  standard error; they need the 2x2 counts (``res.data``).
* :func:`trim_and_fill` -- metafor's ``trimfill()`` (L0, R0, Q0 estimators).
* :func:`fail_safe_n` -- metafor's ``fsn()`` (Rosenthal, Orwin, Rosenberg).

References
----------
Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis
detected by a simple, graphical test. BMJ 315:629-634.
doi:10.1136/bmj.315.7109.629

Sterne JAC, Egger M (2005). Regression methods to detect publication and
other bias in meta-analysis. In Rothstein HR, Sutton AJ, Borenstein M (eds),
Publication Bias in Meta-Analysis, 99-110. Wiley. doi:10.1002/0470870168.ch6

Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation
test for publication bias. Biometrics 50(4):1088-1101. doi:10.2307/2533446

Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2006). Comparison of two
methods to detect publication bias in meta-analysis. JAMA 295(6):676-680.
doi:10.1001/jama.295.6.676

Harbord RM, Egger M, Sterne JAC (2006). A modified test for small-study
effects in meta-analyses of controlled trials with binary endpoints. Stat Med
25(20):3443-3457. doi:10.1002/sim.2380

Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of
testing and adjusting for publication bias in meta-analysis. Biometrics
56(2):455-463. doi:10.1111/j.0006-341X.2000.00455.x

Rosenthal R (1979). The file drawer problem and tolerance for null results.
Psychol Bull 86(3):638-641. doi:10.1037/0033-2909.86.3.638

Orwin RG (1983). A fail-safe N for effect size in meta-analysis. J Educ Stat
8(2):157-159. doi:10.3102/10769986008002157

Rosenberg MS (2005). The file-drawer problem revisited: a general weighted
method for calculating fail-safe numbers in meta-analysis. Evolution
59(2):464-468. doi:10.1111/j.0014-3820.2005.tb01004.x
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mgmeta import _format as fmt
from mgmeta._validation import check_choice
from mgmeta.errors import ConvergenceError, DataError, MgmetaError, MgmetaWarning
from mgmeta.models import MetaAnalysisResult, check_standard_fit, fit_arrays, meta_analysis

__all__ = [
    "egger_test",
    "begg_test",
    "peters_test",
    "harbord_test",
    "trim_and_fill",
    "fail_safe_n",
    "RegressionTestResult",
    "RankTestResult",
    "TrimFillResult",
    "FailSafeNResult",
    "kendall_exact_pvalue",
]


# --------------------------------------------------------------------------
# result types
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class RegressionTestResult:
    """A regression test for funnel-plot asymmetry (Egger, Peters, Harbord).

    Attributes
    ----------
    statistic, pvalue : float
        Test of the coefficient of the predictor: z, or t with ``df`` df.
    df : int or None
        Degrees of freedom of the t test (None for z).
    test : str
        ``"egger"``, ``"peters"`` or ``"harbord"``.
    model : str
        ``"rma"`` (meta-regression with the model's tau² method) or ``"lm"``
        (weighted least squares with a multiplicative dispersion).
    predictor : str
        ``"sei"``, ``"vi"``, ``"ni"``, ``"ninv"``, ``"sqrtni"``,
        ``"sqrtninv"`` (Egger); ``"1/n"`` (Peters); ``"1/sqrt(V)"`` (Harbord).
    coef, se : ndarray
        Coefficients (intercept first) and standard errors of the regression.
    limit_estimate, ci_lower, ci_upper : float or None
        For Egger's test with predictor ``sei``/``vi``/``ninv``/``sqrtninv``
        on an intercept-only model: the intercept, the effect expected in a
        study of infinite precision, with its confidence interval (metafor's
        "limit estimate").
    fit : MetaRegressionResult or None
        The fitted meta-regression (``model="rma"``).
    method : str or None
        tau² method of the meta-regression.
    k : int
    """

    statistic: float
    pvalue: float
    df: int | None
    test: str
    model: str
    predictor: str
    coef: np.ndarray
    se: np.ndarray
    k: int
    limit_estimate: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    fit: Any = field(default=None, repr=False)
    method: str | None = None

    @property
    def line(self) -> tuple[float, float] | None:
        """(intercept, slope) of the fitted line ``effect = intercept + slope * se`` (Egger, predictor sei)."""
        if self.test == "egger" and self.predictor == "sei" and len(self.coef) == 2:
            return float(self.coef[0]), float(self.coef[1])
        return None

    def __str__(self) -> str:
        names = {"egger": "Regression Test for Funnel Plot Asymmetry",
                 "peters": "Peters' Regression Test for Funnel Plot Asymmetry",
                 "harbord": "Harbord's Regression Test for Funnel Plot Asymmetry"}
        lines = [names[self.test], ""]
        if self.test == "egger":
            kind = "weighted regression with multiplicative dispersion" if self.model == "lm" else \
                ("mixed-effects meta-regression model" if self.method not in ("EE", "FE") else
                 "fixed-effects meta-regression model")
            lines += [f"Model:     {kind}", f"Predictor: {self.predictor}"]
        else:
            lines += [f"Model:     weighted regression, predictor {self.predictor}"]
        lines.append("")
        stat = "t" if self.df is not None else "z"
        dfs = f", df = {self.df}" if self.df is not None else ""
        lines.append(f"Test for Funnel Plot Asymmetry: {stat} = {self.statistic:.4f}{dfs}, "
                     f"p = {fmt.format_pvalue(self.pvalue)}")
        if self.limit_estimate is not None:
            lines.append(f"Limit Estimate (as sei -> 0):   b = {self.limit_estimate:.4f} "
                         f"(CI: {self.ci_lower:.4f}, {self.ci_upper:.4f})")
        return "\n".join(lines) + "\n"

    def to_frame(self) -> pd.DataFrame:
        """One row: ``test model predictor statistic df pvalue limit_estimate ci_lower ci_upper k``."""
        cols = ["test", "model", "predictor", "statistic", "df", "pvalue", "limit_estimate", "ci_lower",
                "ci_upper", "k"]
        return pd.DataFrame([{c: getattr(self, c) for c in cols}])


@dataclass(frozen=True)
class RankTestResult:
    """Begg and Mazumdar's rank correlation test (metafor's ``ranktest``).

    Attributes
    ----------
    statistic : float
        Kendall's tau (tau-b) between the standardized deviates and the
        sampling variances.
    pvalue : float
        Two-sided p-value: exact (the permutation distribution of Kendall's
        statistic) when there are no ties, else from the normal approximation
        with the tie-corrected variance, as R's ``cor.test``.
    exact : bool
    k : int
    """

    statistic: float
    pvalue: float
    exact: bool
    k: int

    @property
    def tau(self) -> float:
        """Kendall's tau (same as ``statistic``)."""
        return self.statistic

    def __str__(self) -> str:
        return (f"Rank Correlation Test for Funnel Plot Asymmetry\n\n"
                f"Kendall's tau = {self.statistic:.4f}, p = {fmt.format_pvalue(self.pvalue)}"
                f"{'' if self.exact else ' (normal approximation: ties)'}\n")


@dataclass(frozen=True, eq=False)
class TrimFillResult:
    """Trim-and-fill analysis (metafor's ``trimfill``).

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies.
    se_k0 : float
        Its standard error (metafor's formulas; NaN where the variance
        formula turns negative, as in metafor).
    side : str
        ``"left"`` or ``"right"``: the side of the funnel plot where studies
        are missing (and imputed).
    estimator : str
        ``"L0"``, ``"R0"`` or ``"Q0"``.
    p_k0 : float or None
        For R0, the p-value of the test of k0 = 0 (0.5^(k0 + 1)).
    result : MetaAnalysisResult
        The model refitted to the observed and filled studies (the filled
        ones appended, labelled ``Filled 1, 2, ...``); the original model
        when k0 = 0.
    original : MetaAnalysisResult
        The model trim and fill was applied to.
    filled : ndarray of bool
        Which studies of ``result`` are filled in.
    iterations : int
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float | None
    result: MetaAnalysisResult
    original: MetaAnalysisResult = field(repr=False)
    filled: np.ndarray = field(repr=False)
    iterations: int = 0

    @property
    def estimate(self) -> float:
        """Pooled estimate after filling (analysis scale)."""
        return self.result.estimate

    @property
    def yi_filled(self) -> np.ndarray:
        """Effects of the filled studies."""
        return self.result.yi[self.filled]

    @property
    def vi_filled(self) -> np.ndarray:
        """Variances of the filled studies."""
        return self.result.vi[self.filled]

    def to_frame(self) -> pd.DataFrame:
        """The studies of the refitted model: ``study yi vi filled``."""
        return pd.DataFrame({"study": list(self.result.labels), "yi": self.result.yi, "vi": self.result.vi,
                             "filled": self.filled})

    def __str__(self) -> str:
        head = (f"Estimated number of missing studies on the {self.side} side: {self.k0} "
                f"(SE = {self.se_k0:.4f})")
        if self.p_k0 is not None:
            head += f"\nTest of H0: no missing studies on the {self.side} side: p-val = {fmt.format_pvalue(self.p_k0)}"
        return head + "\n\n" + str(self.result)


@dataclass(frozen=True)
class FailSafeNResult:
    """Fail-safe N (metafor's ``fsn``).

    Attributes
    ----------
    fsn : float
        The fail-safe number (an integer, or ``inf`` for Orwin's method with
        target 0).
    type : str
        ``"Rosenthal"``, ``"Orwin"`` or ``"Rosenberg"``.
    statistic : float or None
        Rosenthal: Stouffer's combined z; Rosenberg: the z of the
        fixed-effects estimate; Orwin: None.
    pvalue : float or None
        Rosenthal: one-sided p of Stouffer's z; Rosenberg: two-sided p of the
        fixed-effects z; Orwin: None.
    mean_effect, target : float or None
        Orwin: the (weighted) mean effect and the target it is diluted to;
        Rosenberg: the fixed-effects estimate.
    alpha : float
    """

    fsn: float
    type: str
    statistic: float | None
    pvalue: float | None
    mean_effect: float | None
    target: float | None
    alpha: float

    @property
    def n(self) -> float:
        """The fail-safe number (same as ``fsn``)."""
        return self.fsn

    def __str__(self) -> str:
        lines = [f"Fail-safe N Calculation Using the {self.type} Approach", ""]
        if self.type == "Orwin":
            lines += [f"Average Effect Size:        {self.mean_effect:.4f}",
                      f"Target Effect Size:         {self.target:.4f}"]
        else:
            lines += [f"Observed Significance Level: {fmt.format_pvalue(float(self.pvalue or 0.0))}",
                      f"Target Significance Level:   {self.alpha:g}"]
        n = "Inf" if math.isinf(self.fsn) else str(int(self.fsn))
        lines += ["", f"Fail-safe N: {n}"]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _check_res(res: Any, what: str, min_k: int = 2) -> None:
    if not isinstance(res, MetaAnalysisResult):
        raise DataError(f"{what} needs a fitted model from mgmeta.meta_analysis, got {type(res).__name__}",
                        field="res")
    if res.k < min_k:
        raise DataError(f"{what} needs at least {min_k} studies (k = {res.k})", field="res")
    check_standard_fit(res, what)


def _wls(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Weighted least squares as R's ``summary(lm(y ~ X - 1, weights = w))``: coef, se, residual df."""
    k, p = X.shape
    df = k - p
    sw = np.sqrt(w)
    q, r = np.linalg.qr(X * sw[:, None])
    coef = np.linalg.solve(r, q.T @ (y * sw))
    resid = (y - X @ coef) * sw
    sigma2 = float(resid @ resid) / df
    rinv = np.linalg.inv(r)
    se = np.sqrt(np.sum(rinv ** 2, axis=1) * sigma2)
    return coef, se, df


def _full_rank(X: np.ndarray) -> bool:
    scale = np.where(np.abs(X).max(0) > 0, np.abs(X).max(0), 1.0)
    return bool(np.linalg.matrix_rank(X / scale) == X.shape[1])


def _arm_data(res: MetaAnalysisResult, what: str) -> dict[str, np.ndarray]:
    frame = res.data
    if frame is None:
        raise DataError(f"{what} needs the 2x2 counts: fit the model from mgmeta.effect_sizes() output "
                        "(binary measure) so that res.data holds ai, bi, ci, di", field="data")
    if "dropped" in frame.columns:
        frame = frame.loc[~frame["dropped"].to_numpy(dtype=bool)]
    cols = set(frame.columns)
    if {"ai", "ci"} <= cols and ({"bi", "di"} <= cols or {"n1i", "n2i"} <= cols):
        ai = frame["ai"].to_numpy(float)
        ci = frame["ci"].to_numpy(float)
        if {"bi", "di"} <= cols and not frame[["bi", "di"]].isna().any().any():
            bi = frame["bi"].to_numpy(float)
            di = frame["di"].to_numpy(float)
        else:
            bi = frame["n1i"].to_numpy(float) - ai
            di = frame["n2i"].to_numpy(float) - ci
    else:
        raise DataError(f"{what} needs the 2x2 counts (ai, bi, ci, di or ai, n1i, ci, n2i) in res.data; "
                        f"it has {', '.join(map(str, frame.columns))}", field="data")
    if len(ai) != res.k:
        raise DataError(f"res.data has {len(ai)} studies with an effect size but the model has {res.k}", field="data")
    arms = {"ai": ai, "bi": bi, "ci": ci, "di": di}
    for name, a in arms.items():
        if np.any(~np.isfinite(a)):
            i = int(np.flatnonzero(~np.isfinite(a))[0])
            raise DataError(f"study {res.labels[i]!r}: {name} is missing", study=res.labels[i], field=name)
    return arms


def _sample_sizes(res: Any, ni: Any) -> np.ndarray | None:
    if ni is not None:
        arr = np.asarray(ni, float).reshape(-1)
        if arr.shape[0] != res.k:
            raise DataError(f"ni has {arr.shape[0]} values but the model has {res.k} studies", field="ni")
        return arr
    frame = getattr(res, "data", None)
    if frame is None:
        return None
    if "dropped" in frame.columns:
        frame = frame.loc[~frame["dropped"].to_numpy(dtype=bool)]
    if "ni" in frame.columns:
        return frame["ni"].to_numpy(float)
    if {"n1i", "n2i"} <= set(frame.columns):
        return (frame["n1i"] + frame["n2i"]).to_numpy(float)
    return None


# --------------------------------------------------------------------------
# Egger / regtest
# --------------------------------------------------------------------------

_PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")


def egger_test(res: Any, model: str = "rma", predictor: str = "sei", *, ni: Any = None) -> RegressionTestResult:
    """Regression test for funnel-plot asymmetry (metafor's ``regtest``).

    Parameters
    ----------
    res : MetaAnalysisResult or MetaRegressionResult
        The fitted model; with moderators, the predictor is added to them.
    model : {"rma", "lm"}
        ``"rma"`` (default, as metafor): a meta-regression of yi on the
        predictor with the model's tau² method, test (z, or t with k - p - 1
        df for ``"knha"``) and level; ``"lm"``: Egger's classic test, the
        weighted least-squares regression of yi on the predictor with weights
        1/vi and a multiplicative dispersion (t with k - 2 df), which is the
        regression of yi/sei on 1/sei.
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}
        Standard error (Egger), variance, sample size, its inverse, square
        root, or inverse square root. Sample sizes come from ``ni`` or the
        arm sizes in ``res.data`` (n1i + n2i).
    ni : array_like, optional
        Sample sizes, for the ``n`` predictors.

    Returns
    -------
    RegressionTestResult
        ``statistic`` and ``pvalue`` test the predictor's coefficient;
        ``limit_estimate`` (with its CI) is the intercept where meaningful.

    Raises
    ------
    DataError
        Too few studies for the regression (k >= 3 for ``"lm"`` and for
        random-effects models), a constant predictor (e.g. equal variances),
        or missing sample sizes.

    References
    ----------
    Egger M, et al. (1997). doi:10.1136/bmj.315.7109.629
    Sterne JAC, Egger M (2005). doi:10.1002/0470870168.ch6

    Examples
    --------
    BCG vaccine trials (log risk ratios, metafor's ``dat.bcg``):

    >>> import mgmeta
    >>> from mgmeta.analyses import egger_test
    >>> yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713,
    ...       -0.3394, 0.4459, -0.0173]
    >>> vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124,
    ...       0.5325, 0.0714]
    >>> res = mgmeta.meta_analysis(yi, vi)
    >>> eg = egger_test(res)
    >>> round(eg.statistic, 4), round(eg.pvalue, 4)
    (-0.8026, 0.4222)
    """
    from mgmeta.analyses.regression import MetaRegressionResult, fit_regression
    from mgmeta.analyses.sensitivity import fixed_tau2

    check_choice(model, ("rma", "lm"), "model")
    check_choice(predictor, _PREDICTORS, "predictor")
    if isinstance(res, MetaRegressionResult):
        X0, names0, tau2_fix = res.X, list(res.names), res.tau2_fixed
        intercept_only = False
    else:
        _check_res(res, "egger_test")
        X0, names0, tau2_fix = np.ones((res.k, 1)), ["intrcpt"], fixed_tau2(res)
        intercept_only = True
    yi, vi, k = np.asarray(res.yi, float), np.asarray(res.vi, float), res.k
    if predictor == "sei":
        x = np.sqrt(vi)
    elif predictor == "vi":
        x = vi
    else:
        n = _sample_sizes(res, ni)
        if n is None:
            raise DataError(f"predictor {predictor!r} needs sample sizes: give ni= or fit the model from "
                            "effect_sizes() output with arm sizes", field="ni")
        x = {"ni": n, "ninv": 1 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1 / np.sqrt(n)}[predictor]
    X = np.hstack([X0, x[:, None]])
    if not _full_rank(X):
        raise DataError(f"the predictor {predictor!r} is constant (or collinear with the model's moderators): "
                        "the regression test cannot be computed", field="predictor")
    p = X.shape[1]
    limit = predictor in ("sei", "vi", "ninv", "sqrtninv") and intercept_only
    if model == "rma":
        fit = fit_regression(yi, vi, X, names0 + [predictor], method=res.method, test=res.test, level=res.level,
                             labels=tuple(res.labels), intercept=True, tau2=tau2_fix, r2=False)
        return RegressionTestResult(
            statistic=float(fit.statistic[-1]), pvalue=float(fit.pvalue[-1]), df=fit.df, test="egger",
            model="rma", predictor=predictor, coef=fit.coef, se=fit.se, k=k,
            limit_estimate=float(fit.coef[0]) if limit else None,
            ci_lower=float(fit.ci_lower[0]) if limit else None, ci_upper=float(fit.ci_upper[0]) if limit else None,
            fit=fit, method=res.method)
    if k <= p:
        raise DataError(f"the weighted regression needs more studies ({k}) than coefficients ({p})", field="res")
    coef, se, df = _wls(yi, X, 1 / vi)
    t = coef / se
    pv = 2 * stats.t.sf(np.abs(t), df)
    crit = stats.t.isf((1 - res.level) / 2, df)
    return RegressionTestResult(
        statistic=float(t[-1]), pvalue=float(pv[-1]), df=int(df), test="egger", model="lm", predictor=predictor,
        coef=coef, se=se, k=k, limit_estimate=float(coef[0]) if limit else None,
        ci_lower=float(coef[0] - crit * se[0]) if limit else None,
        ci_upper=float(coef[0] + crit * se[0]) if limit else None, fit=None, method=None)


# --------------------------------------------------------------------------
# Begg / ranktest
# --------------------------------------------------------------------------

def _mahonian_cdf(m: int, n: int) -> float:
    """P(C <= m) for the number C of concordant pairs among n independent ranks."""
    if m < 0:
        return 0.0
    total = n * (n - 1) // 2
    if m >= total:
        return 1.0
    if n <= 60:
        counts = [1] + [0] * m                      # exact integer counts, truncated at m
        for j in range(2, n + 1):
            pref = [0] * (m + 2)
            for i in range(m + 1):
                pref[i + 1] = pref[i] + counts[i]
            counts = [pref[i + 1] - pref[max(0, i - j + 1)] for i in range(m + 1)]
        return float(sum(counts) / math.factorial(n))
    prob = np.zeros(m + 1)
    prob[0] = 1.0
    for j in range(2, n + 1):                       # probabilities, normalised at each step
        cum = np.concatenate([[0.0], np.cumsum(prob)])
        lo = np.maximum(0, np.arange(m + 1) - j + 1)
        prob = (cum[1:] - cum[lo]) / j
    return float(min(1.0, prob.sum()))


def kendall_exact_pvalue(concordant: int, n: int) -> float:
    """Two-sided exact p-value of Kendall's statistic without ties, as R's ``cor.test(exact = TRUE)``."""
    total = n * (n - 1) // 2
    q = int(concordant)
    if 4 * q > n * (n - 1):
        p = 1.0 - _mahonian_cdf(q - 1, n) if n <= 60 else _mahonian_cdf(total - q, n)
    else:
        p = _mahonian_cdf(q, n)
    return float(min(2 * p, 1.0))


def _kendall(x: np.ndarray, y: np.ndarray) -> tuple[float, float, bool]:
    """(tau-b, two-sided p, exact) as R's ``cor.test(x, y, method = "kendall", exact = TRUE)``."""
    n = len(x)
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(n, 1)
    s = float(np.sum(sx[iu] * sy[iu]))
    t0 = n * (n - 1) / 2
    _, cx = np.unique(x, return_counts=True)
    _, cy = np.unique(y, return_counts=True)
    t1 = float(np.sum(cx * (cx - 1)) / 2)
    t2 = float(np.sum(cy * (cy - 1)) / 2)
    denom = math.sqrt((t0 - t1) * (t0 - t2))
    if denom == 0:
        raise DataError("Kendall's tau is undefined: the standardized deviates or the variances are all equal",
                        field="vi")
    tau = s / denom
    ties = min(len(cx), len(cy)) < n
    if not ties:
        q = int(round((tau + 1) * n * (n - 1) / 4))
        return tau, kendall_exact_pvalue(q, n), True
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(cx * (cx - 1) * (2 * cx + 5)))
    vu = float(np.sum(cy * (cy - 1) * (2 * cy + 5)))
    v1 = float(np.sum(cx * (cx - 1))) * float(np.sum(cy * (cy - 1)))
    v2 = float(np.sum(cx * (cx - 1) * (cx - 2))) * float(np.sum(cy * (cy - 1) * (cy - 2)))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + (v2 / (9 * n * (n - 1) * (n - 2)) if n > 2 else 0.0)
    z = s / math.sqrt(var_s)
    return tau, float(2 * min(stats.norm.cdf(z), stats.norm.sf(z))), False


def begg_test(res: MetaAnalysisResult) -> RankTestResult:
    """Begg and Mazumdar's rank correlation test (metafor's ``ranktest``).

    Parameters
    ----------
    res : MetaAnalysisResult

    Returns
    -------
    RankTestResult
        ``statistic`` is Kendall's tau between the standardized deviates
        (y_i - mu_EE) / sqrt(v_i - 1/sum w) and the variances v_i (mu_EE the
        equal-effects estimate, whatever the model); ``pvalue`` is exact
        without ties (metafor's default ``exact = TRUE``), else from the
        normal approximation with the tie-corrected variance.

    References
    ----------
    Begg CB, Mazumdar M (1994). doi:10.2307/2533446

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.analyses import begg_test
    >>> yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713,
    ...       -0.3394, 0.4459, -0.0173]
    >>> vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124,
    ...       0.5325, 0.0714]
    >>> res = mgmeta.meta_analysis(yi, vi)
    >>> bt = begg_test(res)
    >>> round(bt.statistic, 4), round(bt.pvalue, 4)
    (0.0256, 0.9524)
    """
    _check_res(res, "begg_test")
    yi, vi = np.asarray(res.yi, float), np.asarray(res.vi, float)
    w = 1 / vi
    theta = float(np.sum(w * yi) / np.sum(w))
    vb = 1 / float(np.sum(w))
    with np.errstate(invalid="ignore", divide="ignore"):
        ystar = (yi - theta) / np.sqrt(vi - vb)
    if not np.all(np.isfinite(ystar)):
        raise DataError("the standardized deviates are undefined (a study carries all the weight)", field="vi")
    tau, p, exact = _kendall(ystar, vi)
    return RankTestResult(statistic=float(tau), pvalue=float(p), exact=exact, k=res.k)


# --------------------------------------------------------------------------
# Peters and Harbord
# --------------------------------------------------------------------------

def _binary_regression(res: MetaAnalysisResult, y: np.ndarray, x: np.ndarray, w: np.ndarray, test: str,
                       predictor: str) -> RegressionTestResult:
    X = np.column_stack([np.ones_like(x), x])
    if not _full_rank(X):
        raise DataError(f"{test} test: the predictor {predictor} is the same in every study", field="data")
    if res.k < 3:
        raise DataError(f"the {test} test needs at least 3 studies (k = {res.k})", field="res")
    coef, se, df = _wls(y, X, w)
    t = coef / se
    return RegressionTestResult(statistic=float(t[1]), pvalue=float(2 * stats.t.sf(abs(t[1]), df)), df=int(df),
                                test=test, model="lm", predictor=predictor, coef=coef, se=se, k=res.k)


def peters_test(res: MetaAnalysisResult) -> RegressionTestResult:
    """Peters' regression test for small-study effects with binary outcomes.

    Parameters
    ----------
    res : MetaAnalysisResult
        A model fitted from :func:`mgmeta.effect_sizes` output (log odds
        ratios), so that ``res.data`` holds the 2x2 counts.

    Returns
    -------
    RegressionTestResult
        t test (k - 2 df) of the slope of yi on 1/n_i (n_i the total sample
        size) in the weighted regression with weights
        1 / (1/(a_i + c_i) + 1/(b_i + d_i)) (events and non-events).

    Raises
    ------
    DataError
        No arm data, a study without events or without non-events (its
        weight is undefined), or k < 3.

    References
    ----------
    Peters JL, et al. (2006). doi:10.1001/jama.295.6.676
    """
    _check_res(res, "peters_test")
    arms = _arm_data(res, "peters_test")
    if res.measure not in (None, "OR"):
        warnings.warn(f"Peters' test is defined for log odds ratios; the model's measure is {res.measure}",
                      MgmetaWarning, stacklevel=2)
    ev = arms["ai"] + arms["ci"]
    nev = arms["bi"] + arms["di"]
    for name, a in (("events (ai + ci)", ev), ("non-events (bi + di)", nev)):
        if np.any(a <= 0):
            i = int(np.flatnonzero(a <= 0)[0])
            raise DataError(f"study {res.labels[i]!r}: no {name}; Peters' weight is undefined",
                            study=res.labels[i], field="ai")
    n = arms["ai"] + arms["bi"] + arms["ci"] + arms["di"]
    w = 1 / (1 / ev + 1 / nev)
    return _binary_regression(res, np.asarray(res.yi, float), 1 / n, w, "peters", "1/n")


def harbord_test(res: MetaAnalysisResult) -> RegressionTestResult:
    """Harbord's score-based regression test for small-study effects (odds ratios).

    Parameters
    ----------
    res : MetaAnalysisResult
        A model fitted from :func:`mgmeta.effect_sizes` output, so that
        ``res.data`` holds the 2x2 counts.

    Returns
    -------
    RegressionTestResult
        With the efficient score Z_i = a_i - (a_i + c_i) n_1i / N_i and its
        variance V_i = n_1i n_2i (a_i + c_i)(b_i + d_i) / (N_i² (N_i - 1)),
        the t test (k - 2 df) of the intercept of Z_i/sqrt(V_i) on sqrt(V_i),
        computed as the slope of Z_i/V_i on 1/sqrt(V_i) with weights V_i.

    Raises
    ------
    DataError
        No arm data, a study with V_i = 0 (no events or no non-events), or
        k < 3.

    References
    ----------
    Harbord RM, Egger M, Sterne JAC (2006). doi:10.1002/sim.2380
    """
    _check_res(res, "harbord_test")
    arms = _arm_data(res, "harbord_test")
    a, b, c, d = arms["ai"], arms["bi"], arms["ci"], arms["di"]
    n1, n2 = a + b, c + d
    N = n1 + n2
    Z = a - (a + c) * n1 / N
    V = n1 * n2 * (a + c) * (b + d) / (N ** 2 * (N - 1))
    if np.any(~(V > 0)):
        i = int(np.flatnonzero(~(V > 0))[0])
        raise DataError(f"study {res.labels[i]!r}: the score variance is 0 (no events or no non-events, or an "
                        "empty arm); Harbord's test is undefined", study=res.labels[i], field="ai")
    return _binary_regression(res, Z / V, 1 / np.sqrt(V), V, "harbord", "1/sqrt(V)")


# --------------------------------------------------------------------------
# trim and fill
# --------------------------------------------------------------------------

def _k0_estimate(yc: np.ndarray, estimator: str) -> tuple[float, float]:
    """(k0, se_k0) from centred values (before rounding), as Duval and Tweedie."""
    k = len(yc)
    order = np.argsort(np.abs(yc), kind="stable")
    ranks = np.empty(k)
    ranks[order] = np.arange(1, k + 1)              # ties: first come first (R's ties.method = "first")
    signed = np.sign(yc) * ranks
    if estimator == "R0":
        neg = signed[signed < 0]
        if neg.size == 0:
            raise MgmetaError("R0: every centred effect is positive; the estimator is undefined")
        k0 = (k - np.max(-neg)) - 1
        return float(k0), math.sqrt(2 * max(0.0, k0) + 2)
    sr = float(np.sum(signed[signed > 0]))
    if estimator == "L0":
        k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
    else:
        rad = 2 * k ** 2 - 4 * sr + 0.25
        if rad < 0:
            raise MgmetaError(f"Q0: the estimator is undefined here (negative square root, 2k² - 4S_r + 1/4 = "
                              f"{rad:g}); use L0 or R0")
        k0 = k - 0.5 - math.sqrt(rad)
    var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0 ** 3 + 27 * k0 ** 2 + 17 * k0 - 18 * k * k0 ** 2
              - 18 * k * k0 + 6 * k ** 2 * k0) / 24
    # a negative variance (possible for small k0 estimates) gives NaN, as in metafor
    sd_sr = math.sqrt(var_sr) if var_sr >= 0 else float("nan")
    if estimator == "L0":
        se = 4 * sd_sr / (2 * k - 1)
    else:
        den = (k - 0.5) ** 2 - k0 * (2 * k - k0 - 1)
        se = 2 * sd_sr / math.sqrt(den) if den > 0 else float("nan")
    return float(k0), se


def trim_and_fill(res: MetaAnalysisResult, side: str | None = None, estimator: str = "L0", *,
                  maxiter: int = 100, test: str = "z", level: float = 0.95) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill``).

    Parameters
    ----------
    res : MetaAnalysisResult
        A fitted model (intercept only) with k >= 2 studies.
    side : {"left", "right"}, optional
        Side of the funnel plot where studies are missing. Default: from
        the sign of the slope of a meta-regression of yi on sqrt(vi) with the
        model's tau² method (a negative slope: right; else left).
    estimator : {"L0", "R0", "Q0"}
        Estimator of the number of missing studies.
    maxiter : int
        Cap on the trim-and-fill iterations.
    test, level : str, float
        Test and level of the refitted model. The defaults are metafor's,
        which refits the filled data with its own defaults (z test, 95%)
        whatever the original model used.

    Returns
    -------
    TrimFillResult
        ``k0``, ``side``, ``se_k0`` and ``result``, the model refitted with
        the filled studies (the original model when k0 = 0).

    Notes
    -----
    After flipping the signs when ``side="right"``, the effects are sorted;
    each iteration fits the model (same tau² method) to the k - k0 smallest
    ones, ranks the absolute deviations of all k effects from that estimate
    and updates k0 (L0 = (4 S_r - k(k+1)) / (2k - 1), S_r the sum of the
    positive signed ranks; R0 = k - (largest rank of a negative deviation) -
    1; Q0 = k - 1/2 - sqrt(2k² - 4 S_r + 1/4)), rounded and truncated at 0,
    until k0 no longer changes. The k0 most extreme effects are mirrored
    about the last estimate (2 mu - y_i) with their variances.

    References
    ----------
    Duval S, Tweedie R (2000). doi:10.1111/j.0006-341X.2000.00455.x
    Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of
    accounting for publication bias in meta-analysis. J Am Stat Assoc
    95(449):89-98. doi:10.1080/01621459.2000.10473905

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.analyses import trim_and_fill
    >>> yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713,
    ...       -0.3394, 0.4459, -0.0173]
    >>> vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124,
    ...       0.5325, 0.0714]
    >>> res = mgmeta.meta_analysis(yi, vi)
    >>> tf = trim_and_fill(res)
    >>> tf.k0, tf.side, round(tf.result.estimate, 4)
    (1, 'right', -0.6571)
    """
    _check_res(res, "trim_and_fill")
    check_choice(estimator, ("L0", "R0", "Q0"), "estimator")
    yi, vi, k = np.asarray(res.yi, float), np.asarray(res.vi, float), res.k
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(vi)])
        if not _full_rank(X):
            raise DataError("the side cannot be determined: all studies have the same variance; give side=",
                            field="side")
        if res.random and k < 3:
            raise DataError(f"the side cannot be determined from k = {k} studies with a random-effects model "
                            "(the regression on sqrt(vi) needs k >= 3); give side=", field="side")
        fa = fit_arrays(yi, vi, method=res.method, test="z", level=0.95, X=X)
        side = "right" if float(fa.beta[1]) < 0 else "left"
    else:
        check_choice(side, ("left", "right"), "side")
    sgn = -1.0 if side == "right" else 1.0
    ys = sgn * yi
    order = np.argsort(ys, kind="stable")
    ys, vs = ys[order], vi[order]
    k0, k0_prev, it = 0, -1, 0
    beta = float("nan")
    yc = ys
    se_k0 = float("nan")
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise ConvergenceError(f"trim and fill did not converge within {maxiter} iterations")
        mask = np.arange(k) < k - k0
        fa = fit_arrays(ys, vs, method=res.method, test="z", level=0.95, mask=mask, raise_on_failure=False)
        if not bool(fa.converged):
            raise ConvergenceError(f"trim and fill: the {res.method} fit to the {k - k0} retained studies did "
                                   "not converge")
        beta = float(fa.beta[0])
        yc = ys - beta
        # a deviation that is zero up to rounding (e.g. a study fitted alone) has no sign, as in exact arithmetic
        yc = np.where(np.abs(yc) <= 64 * np.finfo(float).eps * np.maximum(np.abs(ys), abs(beta)), 0.0, yc)
        k0_raw, se_raw = _k0_estimate(yc, estimator)
        k0 = max(0, int(np.round(k0_raw)))
        se_k0 = max(0.0, se_raw) if np.isfinite(se_raw) else se_raw
    p_k0 = None
    if estimator == "R0":
        p_k0 = 1 - sum(0.5 ** (m + 2) for m in range(-1, k0))
    if k0 == 0:
        return TrimFillResult(k0=0, se_k0=se_k0, side=side, estimator=estimator, p_k0=p_k0, result=res,
                              original=res, filled=np.zeros(k, bool), iterations=it)
    fill_y = sgn * (2 * beta - ys[k - k0:])
    fill_v = vs[k - k0:]
    labels = list(res.labels) + [f"Filled {i + 1}" for i in range(k0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        refit = meta_analysis(np.concatenate([yi, fill_y]), np.concatenate([vi, fill_v]), method=res.method,
                              test=test, level=level, labels=labels, measure=res.measure)
    filled = np.concatenate([np.zeros(k, bool), np.ones(k0, bool)])
    return TrimFillResult(k0=k0, se_k0=se_k0, side=side, estimator=estimator, p_k0=p_k0, result=refit,
                          original=res, filled=filled, iterations=it)


# --------------------------------------------------------------------------
# fail-safe N
# --------------------------------------------------------------------------

def _round_fsn(x: float) -> float:
    if math.isinf(x):
        return x
    return float(math.ceil(x)) if abs(x - round(x)) >= np.finfo(float).eps ** 0.5 else float(round(x))


def fail_safe_n(res: Any, vi: Any = None, *, type: str = "Rosenthal", alpha: float = 0.05,
                target: float | None = None, weighted: bool = False) -> FailSafeNResult:
    """Fail-safe N (metafor's ``fsn``).

    Parameters
    ----------
    res : MetaAnalysisResult or array_like
        A fitted model (its yi and vi are used), or the effects yi (then
        give ``vi``).
    vi : array_like, optional
        Sampling variances when ``res`` is an array.
    type : {"Rosenthal", "Orwin", "Rosenberg"}
        Rosenthal: how many studies averaging z = 0 would make Stouffer's
        combined test non-significant at one-sided ``alpha``; Orwin: how many
        studies with effect 0 would bring the (unweighted, or with
        ``weighted=True`` inverse-variance weighted) mean effect down to
        ``target`` (default half the mean); Rosenberg: how many studies with
        effect 0 and the average weight would make the fixed-effects estimate
        non-significant at two-sided ``alpha``.
    alpha : float
    target : float, optional
        Orwin's target effect (sign matched to the mean effect).
    weighted : bool
        Orwin: weight the mean effect by 1/vi.

    Returns
    -------
    FailSafeNResult

    Notes
    -----
    Rosenthal: N = max(0, k (Z / z_alpha)² - k), Z = |sum z_i| / sqrt(k),
    z_i = y_i / sqrt(v_i). Orwin: N = max(0, k (m - target) / target).
    Rosenberg: N = max(0, k w_p / sum w), w_p = (sum w_i y_i / z_{alpha/2})²
    - sum w_i. N is rounded up to an integer (metafor's rule).

    References
    ----------
    Rosenthal R (1979). doi:10.1037/0033-2909.86.3.638
    Orwin RG (1983). doi:10.3102/10769986008002157
    Rosenberg MS (2005). doi:10.1111/j.0014-3820.2005.tb01004.x

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.analyses import fail_safe_n
    >>> yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713,
    ...       -0.3394, 0.4459, -0.0173]
    >>> vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124,
    ...       0.5325, 0.0714]
    >>> res = mgmeta.meta_analysis(yi, vi)
    >>> fail_safe_n(res).fsn
    599.0
    """
    check_choice(type, ("Rosenthal", "Orwin", "Rosenberg"), "type")
    if isinstance(res, MetaAnalysisResult):
        yi, v = np.asarray(res.yi, float), np.asarray(res.vi, float)
    else:
        from mgmeta._validation import as_vector, check_lengths, check_positive
        yi = as_vector(res, "yi")
        if vi is None:
            if type == "Orwin" and not weighted:
                v = np.ones_like(yi)
            else:
                raise DataError("give vi (sampling variances)", field="vi")
        else:
            v = as_vector(vi, "vi")
            check_lengths({"yi": yi, "vi": v})
            check_positive(v, "vi", None)
    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be between 0 and 1, got {alpha!r}", field="alpha")
    k = len(yi)
    if type == "Rosenthal":
        z = float(abs(np.sum(yi / np.sqrt(v)) / math.sqrt(k)))
        pval = float(stats.norm.sf(z))
        n = max(0.0, k * (z / stats.norm.isf(alpha)) ** 2 - k)
        return FailSafeNResult(fsn=_round_fsn(n), type=type, statistic=z, pvalue=pval, mean_effect=None,
                               target=None, alpha=alpha)
    if type == "Orwin":
        mean = float(np.sum(yi / v) / np.sum(1 / v)) if weighted else float(np.mean(yi))
        tgt = mean / 2 if target is None else float(target)
        if tgt == 0:
            n = math.inf
        else:
            if np.sign(tgt) != np.sign(mean):
                tgt = -tgt
            n = max(0.0, k * (mean - tgt) / tgt)
        return FailSafeNResult(fsn=_round_fsn(n), type=type, statistic=None, pvalue=None, mean_effect=mean,
                               target=tgt, alpha=alpha)
    w = 1 / v
    mean = float(np.sum(w * yi) / np.sum(w))
    z = mean / math.sqrt(1 / np.sum(w))
    wp = (float(np.sum(w * yi)) / stats.norm.isf(alpha / 2)) ** 2 - float(np.sum(w))
    n = max(0.0, k * wp / float(np.sum(w)))
    return FailSafeNResult(fsn=_round_fsn(n), type=type, statistic=float(z), pvalue=float(2 * stats.norm.sf(abs(z))),
                           mean_effect=mean, target=None, alpha=alpha)
