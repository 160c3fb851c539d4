"""Selection models for publication bias: ``selection_model``, metafor's ``selmodel``.

A selection model multiplies the density of each observed effect by a weight
w(p_i) of its one-sided p-value p_i = 1 - Phi(y_i / sqrt(v_i)) and
renormalises: the log-likelihood is

    ll = sum_i [ log w(p_i) + log phi(y_i; mu, v_i + tau²) - log A_i ],
    A_i = E[w(p(Y))], Y ~ N(mu, v_i + tau²),

maximised over mu, tau² and the selection parameters delta by maximum
likelihood. Two weight functions are offered:

- ``"stepfun"`` (Vevea & Hedges 1995): w(p) = delta_j for p in
  (c_{j-1}, c_j], with delta_1 = 1; steps=(0.025, 1) is the three-parameter
  selection model (3PSM). A_i is a sum of normal probabilities.
- ``"beta"`` (Citkowicz & Vevea 2017): w(p) = p^(delta_1 - 1) (1 - p)^(delta_2 - 1),
  with p truncated to [1e-5, 1 - 1e-5] as metafor does. A_i is integrated
  numerically (closed form in the two truncated tails, Gauss-Legendre
  quadrature with 256 nodes on the z scale in between).

As in metafor, tau² is optimised on the log scale and each delta through a
logistic map onto its bounds ([0, 100] for the step function, [1e-5, 100] for
the beta model); standard errors come from the Hessian of the log-likelihood
in the original parameters (beta, tau², delta), computed by central
differences with Richardson extrapolation. The likelihood-ratio test for
selection compares the fit with the ML fit of the ordinary random-effects
model (all delta = 1).

References
----------
Vevea JL, Hedges LV (1995). A general linear model for estimating effect size
in the presence of publication bias. Psychometrika 60(3):419-435.
doi:10.1007/BF02294384

Citkowicz M, Vevea JL (2017). A parsimonious weight function for modeling
publication bias. Psychol Methods 22(1):28-41. doi:10.1037/met0000119

Viechtbauer W (2010). doi:10.18637/jss.v036.i03 (metafor's ``selmodel()``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from mgmeta import _format as fmt
from mgmeta._validation import check_choice, check_level
from mgmeta.errors import ConvergenceError, DataError, MgmetaWarning

__all__ = ["selection_model", "SelectionModelResult", "SELECTION_TYPES"]

SELECTION_TYPES = ("stepfun", "beta")
_ALTERNATIVES = ("greater", "less")
_PVAL_MIN_BETA = 1e-5
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(256)
_EPS10 = float(np.finfo(float).eps) * 10


# --------------------------------------------------------------------------
# log-likelihoods (vectorised over studies)
# --------------------------------------------------------------------------

def _norm_logpdf(y: np.ndarray, mu: float, s2: np.ndarray) -> np.ndarray:
    return -0.5 * (np.log(2 * np.pi * s2) + (y - mu) ** 2 / s2)


def _ll_stepfun(mu: float, tau2: float, delta: np.ndarray, y: np.ndarray, v: np.ndarray,
                thresholds: np.ndarray, group: np.ndarray) -> float:
    """thresholds: (k, N + 1) effect sizes at the step p-values, +inf first and -inf last."""
    s = np.sqrt(v + tau2)
    upper = special.ndtr(-(thresholds - mu) / s[:, None])  # P(Y > t)
    probs = np.diff(upper, axis=1)  # (k, N): P(t_j < Y <= t_{j-1})
    A = probs @ delta
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(delta[group]) + _norm_logpdf(y, mu, v + tau2) - np.log(A)))


def _beta_logw(p: np.ndarray, delta: np.ndarray) -> np.ndarray:
    return (delta[0] - 1) * np.log(p) + (delta[1] - 1) * np.log1p(-p)


def _ll_beta(mu: float, tau2: float, delta: np.ndarray, y: np.ndarray, v: np.ndarray, p: np.ndarray) -> float:
    s2 = v + tau2
    s = np.sqrt(s2)
    sv = np.sqrt(v)
    zc = float(stats.norm.isf(_PVAL_MIN_BETA))
    # tails (w constant): Y > sv zc has p < pval_min; Y < -sv zc has p > 1 - pval_min
    w_hi = np.exp(_beta_logw(np.array(_PVAL_MIN_BETA), delta))
    w_lo = np.exp(_beta_logw(np.array(1 - _PVAL_MIN_BETA), delta))
    tail = w_hi * special.ndtr(-(sv * zc - mu) / s) + w_lo * special.ndtr((-sv * zc - mu) / s)
    z = zc * _NODES  # (n,)
    logw = (delta[0] - 1) * special.log_ndtr(-z) + (delta[1] - 1) * special.log_ndtr(z)
    yv = sv[:, None] * z[None, :]
    dens = np.exp(-0.5 * (yv - mu) ** 2 / s2[:, None]) / np.sqrt(2 * np.pi * s2[:, None]) * sv[:, None]
    mid = (np.exp(logw)[None, :] * dens) @ _WEIGHTS * zc
    A = tail + mid
    return float(np.sum(_beta_logw(p, delta) + _norm_logpdf(y, mu, s2) - np.log(A)))


# --------------------------------------------------------------------------
# numerical derivatives
# --------------------------------------------------------------------------

def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian with one Richardson step (error O(h^4))."""
    n = len(x)
    h0 = 1e-3 * np.maximum(np.abs(x), 0.1)

    def at(h: np.ndarray) -> np.ndarray:
        H = np.empty((n, n))
        f0 = f(x)
        for i in range(n):
            ei = np.zeros(n)
            ei[i] = h[i]
            H[i, i] = (f(x + 2 * ei) - 2 * f0 + f(x - 2 * ei)) / (4 * h[i] ** 2)
            for j in range(i + 1, n):
                ej = np.zeros(n)
                ej[j] = h[j]
                H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                    4 * h[i] * h[j])
        return H

    return (4 * at(h0 / 2) - at(h0)) / 3


# --------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SelectionModelResult:
    """A fitted selection model, as metafor's ``selmodel()``.

    Attributes
    ----------
    estimate, se, statistic, pvalue, ci_lower, ci_upper : float
        The selection-adjusted pooled effect with its Wald z test and CI.
    tau2, se_tau2, tau2_ci_lower, tau2_ci_upper : float
        Between-study variance (0 and NaN for an equal-effects model), its
        standard error and Wald CI (truncated at 0).
    delta, se_delta, statistic_delta, pvalue_delta, ci_lower_delta, ci_upper_delta : ndarray
        Selection parameters; for the step function delta_1 = 1 is fixed
        (NaN se). z tests are of delta_j = 1 (no selection); CIs are
        truncated at the lower bound 0.
    steps : ndarray
        The p-value cut points (the last is 1); ``k_steps`` counts the
        studies in each interval (empty for the beta model).
    lrt, lrt_df, lrt_pvalue : float, int, float
        Likelihood-ratio test of H0: no selection (all delta = 1).
    lrt_tau2, lrt_tau2_pvalue : float
        Likelihood-ratio test of tau² = 0 within the selection model.
    ll, ll0 : float
        Log-likelihood of the selection model and of the ML random-effects
        model without selection.
    aic, bic, aicc : float
        Fit statistics (ML).
    type, alternative : str
    k : int
    level : float
    """

    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    tau2: float
    se_tau2: float
    tau2_ci_lower: float
    tau2_ci_upper: float
    delta: np.ndarray
    se_delta: np.ndarray
    statistic_delta: np.ndarray
    pvalue_delta: np.ndarray
    ci_lower_delta: np.ndarray
    ci_upper_delta: np.ndarray
    steps: np.ndarray
    k_steps: np.ndarray
    lrt: float
    lrt_df: int
    lrt_pvalue: float
    lrt_tau2: float
    lrt_tau2_pvalue: float
    ll: float
    ll0: float
    aic: float
    bic: float
    aicc: float
    parms: int
    type: str
    alternative: str
    k: int
    level: float
    random: bool

    def delta_frame(self) -> pd.DataFrame:
        """The selection parameters: ``estimate se statistic pvalue ci_lower ci_upper`` (and ``k``)."""
        if self.type == "stepfun":
            lo = np.r_[0.0, self.steps[:-1]]
            index = [f"{a:g} < p <= {b:g}" for a, b in zip(lo, self.steps)]
        else:
            index = ["delta.1", "delta.2"]
        out = pd.DataFrame({"estimate": self.delta, "se": self.se_delta, "statistic": self.statistic_delta,
                            "pvalue": self.pvalue_delta, "ci_lower": self.ci_lower_delta,
                            "ci_upper": self.ci_upper_delta}, index=index)
        if self.type == "stepfun":
            out.insert(0, "k", self.k_steps)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row: the adjusted estimate, tau² and the test for selection."""
        cols = ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "tau2", "se_tau2", "lrt",
                "lrt_df", "lrt_pvalue", "ll", "ll0", "k", "type"]
        return pd.DataFrame([{c: getattr(self, c) for c in cols}])

    def __str__(self) -> str:
        title = (f"Random-Effects Model (k = {self.k}; tau^2 estimator: ML)" if self.random
                 else f"Equal-Effects Model (k = {self.k})")
        out = [title, ""]
        if self.random:
            out += [f"tau^2 (estimated amount of total heterogeneity): {fmt.format_number(self.tau2)} "
                    f"(SE = {fmt.format_number(self.se_tau2)})",
                    f"tau (square root of estimated tau^2 value):      {fmt.format_number(np.sqrt(self.tau2))}",
                    "", "Test for Heterogeneity:",
                    f"LRT(df = 1) = {self.lrt_tau2:.4f}, p-val = {fmt.format_pvalue(self.lrt_tau2_pvalue)}", ""]
        out += ["Model Results:", "",
                fmt.text_table(["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"],
                               [[fmt.format_number(x) for x in (self.estimate, self.se, self.statistic)]
                                + [fmt.format_pvalue(self.pvalue), fmt.format_number(self.ci_lower),
                                   fmt.format_number(self.ci_upper)]]),
                "", "Test for Selection Model Parameters:",
                f"LRT(df = {self.lrt_df}) = {self.lrt:.4f}, p-val = {fmt.format_pvalue(self.lrt_pvalue)}", "",
                "Selection Model Results:", ""]
        df = self.delta_frame()
        rows = []
        for name, r in df.iterrows():
            fixed = not np.isfinite(r["se"])
            cells = [str(name)] + ([str(int(r["k"]))] if "k" in df.columns else [])
            cells.append(fmt.format_number(r["estimate"]))
            cells += ["---"] * 5 if fixed else [
                fmt.format_number(r["se"]), fmt.format_number(r["statistic"]), fmt.format_pvalue(r["pvalue"]),
                fmt.format_number(r["ci_lower"]), fmt.format_number(r["ci_upper"])]
            rows.append(cells)
        head = [""] + (["k"] if "k" in df.columns else []) + ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"]
        out.append(fmt.text_table(head, rows))
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        return "<pre>" + str(self).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</pre>"


# --------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------

def _logistic(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + (hi - lo) * special.expit(x)


def _logit(d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.log((d - lo) / (hi - d))


def selection_model(res: Any, type: str = "stepfun", steps: Any = (0.025, 1), *,
                    alternative: str = "greater", level: float | None = None) -> SelectionModelResult:
    """Fit a selection model to a fitted random- or equal-effects model (metafor's ``selmodel``).

    Parameters
    ----------
    res : MetaAnalysisResult
        A fit of :func:`mgmeta.meta_analysis`. Random-effects fits with an
        estimator other than ML are refitted with ML first (as metafor
        does); EE/FE fits keep tau² = 0.
    type : {"stepfun", "beta"}
        Step-function or beta weight function.
    steps : sequence of float
        Cut points of the one-sided p-values for ``"stepfun"`` (1 is added
        when missing): ``(0.025, 1)`` is the 3PSM, ``(0.025, 0.5, 1)`` has two
        cut points. Ignored for ``"beta"``.
    alternative : {"greater", "less"}
        Direction of the one-sided p-values (``"greater"``: large positive
        effects are significant).
    level : float, optional
        Confidence level (default: the model's).

    Returns
    -------
    SelectionModelResult

    Raises
    ------
    DataError
        Bad steps, an interval without studies, unknown type.
    ConvergenceError
        The likelihood could not be maximised.

    Notes
    -----
    See the module docstring for the likelihood. The test for selection is
    LRT = 2 (ll - ll0) on as many df as there are estimated delta.

    Examples
    --------
    The 3PSM on the passive-smoking studies (Hackshaw et al. 1998, first 10):

    >>> import mgmeta
    >>> yi = [0.166, 0.372, 0.703, 0.182, -0.288, 0.728, 0.756, -0.223, -0.236, 0.698]
    >>> vi = [0.0188, 0.033, 0.5402, 0.0313, 0.0797, 0.2249, 0.0868, 0.1956, 0.3397, 0.0978]
    >>> sel = mgmeta.selection_model(mgmeta.meta_analysis(yi, vi, method="ML"), steps=(0.025, 1))
    >>> [int(n) for n in sel.k_steps], round(float(sel.delta[1]), 2), round(sel.estimate, 2)
    ([3, 7], 0.19, 0.14)
    """
    from mgmeta.models import MetaAnalysisResult, check_standard_fit, meta_analysis
    if not isinstance(res, MetaAnalysisResult):
        raise DataError("selection_model needs a fit of mgmeta.meta_analysis", field="res")
    check_standard_fit(res, "selection_model")
    check_choice(type, SELECTION_TYPES, "type")
    check_choice(alternative, _ALTERNATIVES, "alternative")
    lev = res.level if level is None else check_level(level)
    random = res.method not in ("EE", "FE") and not res.tau2_fixed
    if res.method not in ("EE", "FE", "ML") and not res.tau2_fixed:
        res = meta_analysis(res.yi, res.vi, method="ML", level=lev)
    y = np.asarray(res.yi, float)
    v = np.asarray(res.vi, float)
    k = len(y)
    sign = 1.0 if alternative == "greater" else -1.0
    ys = sign * y  # "less" is "greater" on the mirrored effects
    pvals = special.ndtr(-ys / np.sqrt(v))
    tau2_fixed_value = 0.0 if not random else None
    if res.tau2_fixed:
        tau2_fixed_value = res.tau2

    if type == "stepfun":
        st = np.unique(np.asarray(steps, dtype=float).ravel())
        if st.size == 0 or np.any(~np.isfinite(st)) or st[0] <= 0 or st[-1] > 1:
            raise DataError(f"steps must be p-values in (0, 1], got {steps!r}", field="steps")
        if st[-1] != 1:
            st = np.r_[st, 1.0]
        n_delta = len(st)
        if n_delta < 2:
            raise DataError("steps needs at least one cut point below 1, e.g. steps=(0.025, 1)", field="steps")
        group = np.searchsorted(st, pvals, side="left")  # first j with p <= steps[j]
        k_steps = np.bincount(group, minlength=n_delta)
        empty_free = (k_steps == 0) & (np.arange(n_delta) > 0)  # delta_1 = 1 is fixed: its interval may be empty
        if np.any(empty_free):
            empty = ", ".join(f"({a:g}, {b:g}]" for a, b, e in zip(np.r_[0, st[:-1]], st, empty_free) if e)
            raise DataError(f"no study has a p-value in the interval(s) {empty}; choose other steps",
                            field="steps")
        with np.errstate(over="ignore"):
            cut = stats.norm.isf(st)  # z at each step (-inf at p = 1)
        thresholds = np.hstack([np.full((k, 1), np.inf), np.sqrt(v)[:, None] * cut[None, :]])
        thresholds[:, -1] = -np.inf
        d_lo, d_hi = np.zeros(n_delta), np.full(n_delta, 100.0)
        free_d = np.r_[False, np.ones(n_delta - 1, bool)]

        def ll_nat(mu: float, tau2: float, delta: np.ndarray) -> float:
            return _ll_stepfun(mu, tau2, delta, ys, v, thresholds, group)
    else:
        st = np.array([0.0, 1.0])
        k_steps = np.array([], dtype=int)
        n_delta = 2
        pc = np.clip(pvals, _PVAL_MIN_BETA, 1 - _PVAL_MIN_BETA)
        d_lo, d_hi = np.full(2, 1e-5), np.full(2, 100.0)
        free_d = np.ones(2, bool)

        def ll_nat(mu: float, tau2: float, delta: np.ndarray) -> float:
            return _ll_beta(mu, tau2, delta, ys, v, pc)

    n_free_d = int(free_d.sum())
    if k < 1 + (1 if tau2_fixed_value is None else 0) + n_free_d:
        raise DataError(f"{k} studies are too few to fit this selection model", field="res")

    def unpack(x: np.ndarray, tau2_val: float | None) -> tuple[float, float, np.ndarray]:
        mu = x[0]
        if tau2_val is None:
            tau2 = float(np.exp(x[1]))
            tau2 = 0.0 if tau2 < _EPS10 else tau2
            xd = x[2:]
        else:
            tau2 = tau2_val
            xd = x[1:]
        delta = np.ones(n_delta)
        delta[free_d] = _logistic(xd, d_lo[free_d], d_hi[free_d])
        return float(mu), tau2, delta

    def fit(tau2_val: float | None) -> tuple[np.ndarray, float]:
        x0 = [sign * res.estimate] + ([np.log(res.tau2 + 0.001)] if tau2_val is None else [])
        x0 += list(_logit(np.ones(n_free_d), d_lo[free_d], d_hi[free_d]))
        x = np.asarray(x0, float)

        def nll(z: np.ndarray) -> float:
            val = ll_nat(*unpack(z, tau2_val))
            return -val if np.isfinite(val) else 1e300

        with np.errstate(all="ignore"):
            opt = optimize.minimize(nll, x, method="BFGS", options={"gtol": 1e-9, "maxiter": 10000})
            # polish: Newton steps on the numerical Hessian
            z = opt.x
            for _ in range(20):
                g = _gradient(nll, z)
                if np.max(np.abs(g)) < 1e-9:
                    break
                H = _hessian(nll, z)
                try:
                    step = np.linalg.solve(H, g)
                except np.linalg.LinAlgError:
                    break
                if not np.all(np.isfinite(step)):
                    break
                t = 1.0
                while nll(z - t * step) > nll(z) and t > 1e-4:
                    t /= 2
                if nll(z - t * step) > nll(z):
                    break
                z = z - t * step
        val = -nll(z)
        if not np.isfinite(val) or val <= -1e299:
            raise ConvergenceError("the selection model's likelihood could not be maximised")
        return z, val

    x_hat, ll = fit(tau2_fixed_value)
    mu, tau2, delta = unpack(x_hat, tau2_fixed_value)

    # Hessian on the natural scale (mu, tau², free delta), as metafor's numDeriv::hessian
    est_tau2 = tau2_fixed_value is None
    nat = np.r_[mu, [tau2] if est_tau2 else [], delta[free_d]]

    def nll_nat(q: np.ndarray) -> float:
        t2 = max(q[1], 0.0) if est_tau2 else float(tau2_fixed_value or 0.0)
        d = np.ones(n_delta)
        d[free_d] = q[2:] if est_tau2 else q[1:]
        with np.errstate(all="ignore"):
            return -ll_nat(q[0], 0.0 if t2 < _EPS10 else t2, d)

    H = _hessian(nll_nat, nat)
    try:
        cov = np.linalg.inv(H)
        if np.any(np.diag(cov) < 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full(H.shape, np.nan)
        import warnings
        warnings.warn("the Hessian of the selection model could not be inverted; standard errors are NaN",
                      MgmetaWarning, stacklevel=2)
    se_all = np.sqrt(np.diag(cov))
    crit = float(stats.norm.isf((1 - lev) / 2))
    se = float(se_all[0])
    est = sign * mu
    se_tau2 = float(se_all[1]) if est_tau2 else np.nan
    se_delta = np.full(n_delta, np.nan)
    se_delta[free_d] = se_all[2:] if est_tau2 else se_all[1:]
    with np.errstate(invalid="ignore"):
        z_delta = (delta - 1) / se_delta
    # test for tau² = 0 within the selection model
    lrt_tau2 = lrt_tau2_p = np.nan
    if est_tau2:
        try:
            _, ll_t0 = fit(0.0)
            lrt_tau2 = max(0.0, -2 * (ll_t0 - ll))
            lrt_tau2_p = float(special.chdtrc(1, lrt_tau2))
        except ConvergenceError:
            pass
    # the model without selection: the ML (or EE) fit
    tau2_0 = res.tau2 if random or res.tau2_fixed else 0.0
    ll0 = float(np.sum(_norm_logpdf(y, res.estimate, v + tau2_0)))
    lrt = max(0.0, -2 * (ll0 - ll))
    parms = 1 + (1 if est_tau2 else 0) + n_free_d
    aic = -2 * ll + 2 * parms
    bic = -2 * ll + parms * np.log(k)
    mm = max(k, parms + 2)
    aicc = -2 * ll + 2 * parms * mm / (mm - parms - 1)
    return SelectionModelResult(
        estimate=float(est), se=se, statistic=float(est / se), pvalue=float(2 * special.ndtr(-abs(est / se))),
        ci_lower=float(est - crit * se), ci_upper=float(est + crit * se), tau2=float(tau2), se_tau2=se_tau2,
        tau2_ci_lower=float(max(0.0, tau2 - crit * se_tau2)) if est_tau2 else np.nan,
        tau2_ci_upper=float(tau2 + crit * se_tau2) if est_tau2 else np.nan,
        delta=delta, se_delta=se_delta, statistic_delta=z_delta,
        pvalue_delta=2 * special.ndtr(-np.abs(z_delta)),
        ci_lower_delta=np.maximum(delta - crit * se_delta, 0.0), ci_upper_delta=delta + crit * se_delta,
        steps=st if type == "stepfun" else np.array([]), k_steps=k_steps, lrt=float(lrt), lrt_df=n_free_d,
        lrt_pvalue=float(special.chdtrc(n_free_d, lrt)), lrt_tau2=float(lrt_tau2),
        lrt_tau2_pvalue=float(lrt_tau2_p), ll=float(ll), ll0=ll0, aic=float(aic), bic=float(bic),
        aicc=float(aicc), parms=parms, type=type, alternative=alternative, k=k, level=lev, random=est_tau2)


def _gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central differences with one Richardson step."""
    h0 = 1e-4 * np.maximum(np.abs(x), 0.1)
    g = np.empty(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h0[i]
        d1 = (f(x + e) - f(x - e)) / (2 * h0[i])
        d2 = (f(x + e / 2) - f(x - e / 2)) / h0[i]
        g[i] = (4 * d2 - d1) / 3
    return g
