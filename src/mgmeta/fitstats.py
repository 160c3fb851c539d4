"""Fit statistics, likelihood-ratio tests and study-specific predictions of fitted models.

As metafor's ``fitstats``/``logLik``/``AIC``/``BIC``, ``anova(full, reduced)``,
``blup`` and ``ranef`` for ``rma.uni`` fits. They take a
:class:`~mgmeta.models.MetaAnalysisResult` or a
:class:`~mgmeta.analyses.regression.MetaRegressionResult` and compute nothing
the fit does not already hold.

References
----------
Viechtbauer W (2005). doi:10.3102/10769986030003261
Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In Cooper H,
Hedges LV, Valentine JC (eds), The Handbook of Research Synthesis and
Meta-Analysis, 2nd ed., 295-315. Russell Sage Foundation.
Hurvich CM, Tsai CL (1989). doi:10.1093/biomet/76.2.297
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from mgmeta import _format as fmt
from mgmeta._validation import check_level
from mgmeta.errors import DataError, MgmetaError, MgmetaWarning

__all__ = ["FitStats", "AnovaResult", "fitstats", "anova", "blup", "ranef"]

_EE = ("EE", "FE", "CE")
_T_TESTS = ("knha", "adhoc", "t")


def _parts(res: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """yi, vi, X, beta and vb of a fitted model (intercept-only models get X = 1)."""
    from mgmeta.analyses.regression import MetaRegressionResult
    from mgmeta.models import MetaAnalysisResult

    if isinstance(res, MetaAnalysisResult):
        y = np.asarray(res.yi, float)
        return (y, np.asarray(res.vi, float), np.ones((len(y), 1)), np.array([res.estimate]),
                np.array([[res.se ** 2]]))
    if isinstance(res, MetaRegressionResult):
        return (np.asarray(res.yi, float), np.asarray(res.vi, float), np.asarray(res.X, float),
                np.asarray(res.coef, float), np.asarray(res.vb, float))
    raise DataError(f"needs a fitted model from mgmeta.meta_analysis or mgmeta.meta_regression, "
                    f"got {type(res).__name__}", field="res")


def _tau2_estimated(res: Any) -> bool:
    fixed = getattr(res, "tau2_fixed", False)
    return res.method not in _EE and not (fixed is not None and fixed is not False)


@dataclass(frozen=True)
class FitStats:
    """Log-likelihood, deviance, AIC, BIC and AICc of a fit under ML and under REML (metafor's ``fit.stats``).

    Attributes
    ----------
    ll_ml, dev_ml, aic_ml, bic_ml, aicc_ml : float
        The ML log-likelihood, the deviance (against the saturated model),
        AIC, BIC and AICc.
    ll_reml, dev_reml, aic_reml, bic_reml, aicc_reml : float
        The same for the restricted likelihood (deviance -2 ll).
    parms : int
        Number of estimated parameters: the p coefficients, plus tau² when
        it was estimated.
    reml : bool
        True when the model was fitted by REML: :attr:`loglik` and friends
        then give the REML values, as metafor's ``logLik``/``AIC``.
    """

    ll_ml: float
    dev_ml: float
    aic_ml: float
    bic_ml: float
    aicc_ml: float
    ll_reml: float
    dev_reml: float
    aic_reml: float
    bic_reml: float
    aicc_reml: float
    parms: int
    reml: bool

    @property
    def loglik(self) -> float:
        """Log-likelihood of the fitting method (REML for REML fits, else ML)."""
        return self.ll_reml if self.reml else self.ll_ml

    @property
    def deviance(self) -> float:
        return self.dev_reml if self.reml else self.dev_ml

    @property
    def aic(self) -> float:
        return self.aic_reml if self.reml else self.aic_ml

    @property
    def bic(self) -> float:
        return self.bic_reml if self.reml else self.bic_ml

    @property
    def aicc(self) -> float:
        return self.aicc_reml if self.reml else self.aicc_ml

    def to_frame(self) -> pd.DataFrame:
        """metafor's layout: rows ``ll dev AIC BIC AICc``, columns ``ML REML``."""
        return pd.DataFrame({"ML": [self.ll_ml, self.dev_ml, self.aic_ml, self.bic_ml, self.aicc_ml],
                             "REML": [self.ll_reml, self.dev_reml, self.aic_reml, self.bic_reml, self.aicc_reml]},
                            index=["ll", "dev", "AIC", "BIC", "AICc"])

    def __str__(self) -> str:
        col = "REML" if self.reml else "ML"
        vals = [self.loglik, self.deviance, self.aic, self.bic, self.aicc]
        return fmt.text_table(["logLik", "deviance", "AIC", "BIC", "AICc"],
                              [[fmt.format_number(v) for v in vals]]) + f"\n({col}; {self.parms} parameters)\n"


def fitstats(res: Any) -> FitStats:
    """Log-likelihood, deviance, AIC, BIC and AICc of a fitted model, as metafor's ``fitstats``.

    Parameters
    ----------
    res : MetaAnalysisResult or MetaRegressionResult

    Returns
    -------
    FitStats

    Notes
    -----
    With w_i = 1/(v_i + tau²) and the residuals e = y - X beta of the fit:
    ll_ML = -k/2 log(2 pi) - 1/2 sum log(v_i + tau²) - 1/2 sum w_i e_i²;
    ll_REML = -(k-p)/2 log(2 pi) + 1/2 log|X'X| - 1/2 sum log(v_i + tau²)
    - 1/2 log|X'WX| - 1/2 sum w_i e_i². The ML deviance subtracts the
    saturated model's log-likelihood -1/2 sum log(2 pi v_i) (0 when k = p);
    the REML deviance is -2 ll_REML. AIC = -2 ll + 2 m, BIC = -2 ll + m log(n),
    AICc = -2 ll + 2 m n' / (n' - m - 1) with n' = max(n, m + 2), m the
    number of parameters and n = k (ML) or k - p (REML). For fits with user
    weights e comes from the weighted estimate, as in metafor.

    Examples
    --------
    >>> import mgmeta
    >>> res = mgmeta.meta_analysis([-0.89, -1.59, -1.35, -1.44, -0.22], [0.33, 0.19, 0.42, 0.02, 0.05],
    ...                            method="ML")
    >>> round(res.fitstats().loglik, 4)
    -4.2995
    """
    y, v, X, beta, _ = _parts(res)
    k, p = X.shape
    t2 = float(res.tau2)
    w = 1 / (v + t2)
    e = y - X @ beta
    rss = float(np.sum(w * e ** 2))
    slog = float(np.sum(np.log(v + t2)))
    ll_ml = -0.5 * k * np.log(2 * np.pi) - 0.5 * slog - 0.5 * rss
    ll_reml = (-0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(X.T @ X)[1] - 0.5 * slog
               - 0.5 * np.linalg.slogdet(X.T @ (X * w[:, None]))[1] - 0.5 * rss)
    dev_ml = -2 * (ll_ml - float(np.sum(-0.5 * np.log(2 * np.pi * v)))) if k > p else 0.0
    parms = p + (1 if _tau2_estimated(res) else 0)

    def crit(ll: float, n: int) -> tuple[float, float, float]:
        nn = max(n, parms + 2)
        return (-2 * ll + 2 * parms, -2 * ll + parms * np.log(n) if n > 0 else float("nan"),
                -2 * ll + 2 * parms * nn / (nn - parms - 1))

    aic_ml, bic_ml, aicc_ml = crit(ll_ml, k)
    aic_reml, bic_reml, aicc_reml = crit(ll_reml, k - p)
    return FitStats(ll_ml=float(ll_ml), dev_ml=float(dev_ml), aic_ml=float(aic_ml), bic_ml=float(bic_ml),
                    aicc_ml=float(aicc_ml), ll_reml=float(ll_reml), dev_reml=float(-2 * ll_reml),
                    aic_reml=float(aic_reml), bic_reml=float(bic_reml), aicc_reml=float(aicc_reml), parms=parms,
                    reml=res.method == "REML")


@dataclass(frozen=True)
class AnovaResult:
    """Likelihood-ratio test of two nested models (metafor's ``anova(full, reduced)``).

    Attributes
    ----------
    lrt, pvalue : float
        The likelihood-ratio statistic -2 (ll_reduced - ll_full) (0 when
        negative) and its p-value, chi² with ``df`` = parms_full - parms_reduced.
    df : int
    parms_full, parms_reduced : int
    fit_full, fit_reduced : FitStats
    tau2_full, tau2_reduced : float
    qe_full, qe_reduced : float
        The (residual) heterogeneity statistics.
    r2 : float
        Percent of the reduced model's tau² accounted for by the full model
        (for equal-effects models, of its residual variance).
    method : str
        "ML" or "REML" (equal-effects models count as ML).
    """

    lrt: float
    pvalue: float
    df: int
    parms_full: int
    parms_reduced: int
    fit_full: FitStats
    fit_reduced: FitStats
    tau2_full: float
    tau2_reduced: float
    qe_full: float
    qe_reduced: float
    r2: float
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row per model: ``df logLik AIC BIC AICc deviance lrt pvalue qe tau2 r2``."""
        rows = []
        for name, fs, parms, qe, t2 in (("full", self.fit_full, self.parms_full, self.qe_full, self.tau2_full),
                                        ("reduced", self.fit_reduced, self.parms_reduced, self.qe_reduced,
                                         self.tau2_reduced)):
            rows.append({"df": parms, "loglik": fs.loglik, "aic": fs.aic, "bic": fs.bic, "aicc": fs.aicc,
                         "deviance": fs.deviance, "lrt": np.nan if name == "full" else self.lrt,
                         "pvalue": np.nan if name == "full" else self.pvalue, "qe": qe, "tau2": t2,
                         "r2": np.nan if name == "full" else self.r2})
        return pd.DataFrame(rows, index=["full", "reduced"])

    def __str__(self) -> str:
        rows = []
        for name, fs, parms, qe, t2, last in (
                ("Full", self.fit_full, self.parms_full, self.qe_full, self.tau2_full, False),
                ("Reduced", self.fit_reduced, self.parms_reduced, self.qe_reduced, self.tau2_reduced, True)):
            rows.append([name, str(parms)] + [fmt.format_number(x) for x in (fs.aic, fs.bic, fs.aicc, fs.loglik)]
                        + ([fmt.format_number(self.lrt), fmt.format_pvalue(self.pvalue)] if last else ["", ""])
                        + [fmt.format_number(qe), fmt.format_number(t2)]
                        + ([f"{self.r2:.2f}%"] if last else [""]))
        head = ["", "df", "AIC", "BIC", "AICc", "logLik", "LRT", "pval", "QE", "tau^2", "R^2"]
        return f"Likelihood-ratio test ({self.method})\n\n" + fmt.text_table(head, rows) + "\n"


def _qe(res: Any) -> float:
    return float(getattr(res, "qe", getattr(res, "q", np.nan)))


def _resid_var(res: Any) -> float:
    """sigma² of the weighted least-squares fit of an equal-effects model (R's ``lm(..., weights=)``)."""
    y, v, X, _, _ = _parts(res)
    if getattr(res, "user_weights", None) is not None and getattr(res, "weighted", True):
        a = np.asarray(res.user_weights, float)
    elif not getattr(res, "weighted", True):
        a = np.ones(len(y))
    else:
        a = 1 / v
    b = np.linalg.lstsq(X * np.sqrt(a)[:, None], y * np.sqrt(a), rcond=None)[0]
    return float(np.sum(a * (y - X @ b) ** 2) / (len(y) - X.shape[1]))


def anova(full: Any, reduced: Any) -> Any:
    """Likelihood-ratio test of two nested models, as metafor's ``anova(full, reduced)``.

    Parameters
    ----------
    full, reduced : MetaAnalysisResult or MetaRegressionResult
        Two fits to the same yi and vi; their order does not matter (the one
        with more parameters is the full model). Two
        :func:`~mgmeta.meta_analysis_mv` fits are compared by
        :meth:`MultivariateResult.anova <mgmeta.multivariate.MultivariateResult.anova>`
        (which returns its ``LikelihoodRatioTest``). Compare ML fits (and
        equal-effects fits, whose likelihood is the ML one at tau² = 0), or
        REML fits with the same fixed effects (for example a random-effects
        against an equal-effects model). REML fits with different moderators
        raise: their restricted likelihoods are not comparable; refit with
        method="ML".

    Returns
    -------
    AnovaResult

    Raises
    ------
    DataError
        Different data; the same number of parameters; a full equal-effects
        model with a random-effects reduced one; ML against REML; REML fits
        with different fixed effects.

    Examples
    --------
    Does the BCG vaccine's effect vary with absolute latitude? (log risk
    ratios of dat.bcg, ML fits):

    >>> import mgmeta
    >>> es = mgmeta.effect_sizes("RR", ai=[4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    ...     n1i=[123, 306, 231, 13598, 5069, 1541, 2545, 88391, 7499, 1716, 50634, 2498, 16913],
    ...     ci=[11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    ...     n2i=[139, 303, 220, 12867, 5808, 1451, 629, 88391, 7277, 1665, 27338, 2341, 17854])
    >>> ablat = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
    >>> full = mgmeta.meta_regression(es, mods={"ablat": ablat}, method="ML")
    >>> reduced = mgmeta.meta_analysis(es, method="ML")
    >>> round(mgmeta.anova(full, reduced).lrt, 4)
    9.9588
    """
    from mgmeta.multivariate import MultivariateResult

    mv = [isinstance(m, MultivariateResult) for m in (full, reduced)]
    if all(mv):
        return full.anova(reduced)
    if any(mv):
        raise DataError("anova compares two meta_analysis_mv fits, or two meta_analysis / meta_regression fits; "
                        "not one of each", field="reduced")
    f, r = full, reduced
    pf, pr_ = fitstats(f), fitstats(r)
    if pf.parms == pr_.parms:
        raise DataError("the models have the same number of parameters; a likelihood-ratio test is not meaningful",
                        field="reduced")
    if pf.parms < pr_.parms:
        f, r, pf, pr_ = r, f, pr_, pf
    yf, vf, Xf, _, _ = _parts(f)
    yr, vr, Xr, _, _ = _parts(r)
    if yf.shape != yr.shape or not (np.array_equal(yf, yr) and np.array_equal(vf, vr)):
        raise DataError("the full and the reduced model were not fitted to the same yi and vi", field="reduced")
    mf, mr = f.method, r.method
    if mf in _EE and mr not in _EE:
        raise DataError("the full model is an equal-effects model and the reduced one a random-effects model",
                        field="full")
    if {mf, mr} == {"ML", "REML"}:
        raise DataError(f"the full model uses {mf} and the reduced one {mr} estimation; use the same", field="full")
    if mf not in _EE + ("ML", "REML") or mr not in _EE + ("ML", "REML"):
        warnings.warn("likelihood-ratio tests should be based on ML or REML fits", MgmetaWarning, stacklevel=2)
    reml = mf == "REML"
    if reml and not (Xf.shape == Xr.shape and np.allclose(Xf, Xr)):
        raise DataError("REML likelihoods of models with different fixed effects (moderators) are not comparable; "
                        "fit both models with method='ML'", field="full")
    if reml:
        lrt = pr_.dev_reml - pf.dev_reml
        fit_f, fit_r = pf, pr_
    else:
        lrt = pr_.dev_ml - pf.dev_ml
        fit_f, fit_r = (FitStats(**{**pf.__dict__, "reml": False}), FitStats(**{**pr_.__dict__, "reml": False}))
    if reml:
        fit_r = FitStats(**{**pr_.__dict__, "reml": True})
    lrt = max(lrt, 0.0)
    df = pf.parms - pr_.parms
    if mf in _EE:
        s2f, s2r = _resid_var(f), _resid_var(r)
        r2 = 100 * max(0.0, (s2r - s2f) / s2r)
    elif float(r.tau2) == 0:
        r2 = 0.0
    else:
        r2 = 100 * max(0.0, (float(r.tau2) - float(f.tau2)) / float(r.tau2))
    return AnovaResult(lrt=float(lrt), pvalue=float(special.chdtrc(df, lrt)), df=df, parms_full=pf.parms,
                       parms_reduced=pr_.parms, fit_full=fit_f, fit_reduced=fit_r, tau2_full=float(f.tau2),
                       tau2_reduced=float(r.tau2), qe_full=_qe(f), qe_reduced=_qe(r), r2=float(r2),
                       method="REML" if reml else "ML")


def _predictions(res: Any, level: float | None, what: str, random_part: bool) -> pd.DataFrame:
    if getattr(res, "user_weights", None) is not None or not getattr(res, "weighted", True):
        raise MgmetaError(f"{what} is not available for models fitted with user weights or weighted=False "
                          "(as in metafor)")
    y, v, X, beta, vb = _parts(res)
    lev = res.level if level is None else check_level(level)
    k, p = X.shape
    if res.test in _T_TESTS:
        crit = float(stats.t.isf((1 - lev) / 2, k - p)) if k > p else float("nan")
    else:
        crit = float(stats.norm.isf((1 - lev) / 2))
    t2 = float(res.tau2)
    lam = t2 / (t2 + v)
    fit = X @ beta
    xvx = np.einsum("ip,pq,iq->i", X, vb, X)
    if random_part:
        if res.method in _EE:
            pred, var = np.zeros(k), np.zeros(k)
        else:
            pred = lam * (y - fit)
            var = lam * v + lam ** 2 * xvx
    else:
        pred = lam * y + (1 - lam) * fit
        var = lam * v + (1 - lam) ** 2 * xvx
    se = np.sqrt(var)
    return pd.DataFrame({"pred": pred, "se": se, "pi_lower": pred - crit * se, "pi_upper": pred + crit * se},
                        index=pd.Index(list(res.labels), name="study"))


def blup(res: Any, level: float | None = None) -> pd.DataFrame:
    """Best linear unbiased predictions of the studies' true effects, as metafor's ``blup``.

    Parameters
    ----------
    res : MetaAnalysisResult or MetaRegressionResult
    level : float, optional
        Level of the prediction intervals (default: the model's).

    Returns
    -------
    DataFrame
        One row per study (index: the labels): ``pred``, ``se``, ``pi_lower``,
        ``pi_upper``.

    Notes
    -----
    With lambda_i = tau² / (tau² + v_i): pred_i = lambda_i y_i + (1 - lambda_i) x_i'beta,
    Var = lambda_i v_i + (1 - lambda_i)² x_i' Var(beta) x_i; the interval is
    pred ± crit se with crit from N(0, 1), or from t(k - p) for the t tests.

    Examples
    --------
    >>> import mgmeta
    >>> res = mgmeta.meta_analysis([-0.89, -1.59, -1.35, -1.44, -0.22], [0.33, 0.19, 0.42, 0.02, 0.05])
    >>> res.blup()["pred"].round(4).tolist()
    [-0.9792, -1.3844, -1.1808, -1.4162, -0.3402]
    """
    return _predictions(res, level, "blup", random_part=False)


def ranef(res: Any, level: float | None = None) -> pd.DataFrame:
    """Predicted random effects (each study's true effect minus x_i'beta), as metafor's ``ranef``.

    Same layout as :func:`blup`: pred_i = lambda_i (y_i - x_i'beta) with
    Var = lambda_i v_i + lambda_i² x_i' Var(beta) x_i; all zero for
    equal-effects models.
    """
    return _predictions(res, level, "ranef", random_part=True)
