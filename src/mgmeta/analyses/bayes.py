"""Bayesian random-effects meta-analysis by numerical integration over tau (no MCMC).

The normal-normal hierarchical model y_i | theta_i ~ N(theta_i, v_i),
theta_i | mu, tau ~ N(mu, tau²), with a normal (or flat) prior on mu and a
prior on tau, has a posterior that is exact up to one-dimensional quadrature:
given tau, mu is normal with mean m(tau) and variance s²(tau), and the
marginal posterior of tau is known up to a constant, so every posterior
summary of mu, tau and a new study's effect theta_new is an integral over tau
of closed-form conditional quantities. This is the approach of R's bayesmeta
(Röver 2020); the integrals here use composite Gauss-Legendre quadrature on a
transformed tau axis (500 panels x 20 nodes by default), which agrees with
brute-force two-dimensional integration and long MCMC runs within their own
error (see ``tests/test_bayes.py``).

References
----------
Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R
package. J Stat Softw 93(6):1-51. doi:10.18637/jss.v093.i06

Röver C, Bender R, Dias S, et al. (2021). On weakly informative prior
distributions for the heterogeneity parameter in Bayesian random-effects
meta-analysis. Res Synth Methods 12(4):448-474. doi:10.1002/jrsm.1475

Spiegelhalter DJ, Abrams KR, Myles JP (2004). Bayesian Approaches to Clinical
Trials and Health-Care Evaluation, ch. 8. Wiley. doi:10.1002/0470092602
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from mgmeta import _format as fmt
from mgmeta._validation import check_level
from mgmeta.errors import DataError, MgmetaError

__all__ = [
    "bayesian_meta_analysis",
    "BayesianMetaAnalysisResult",
    "PosteriorSummary",
    "HalfNormal",
    "HalfCauchy",
    "Uniform",
    "PointMass",
    "Normal",
]

_PANELS = 500
_NODES = 20


# --------------------------------------------------------------------------
# priors
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class HalfNormal:
    """Half-normal prior on tau with scale ``scale`` (the sd of the parent normal)."""

    scale: float = 0.5

    def logpdf(self, tau: np.ndarray) -> np.ndarray:
        return np.log(2.0) + stats.norm.logpdf(tau, scale=self.scale)

    @property
    def upper(self) -> float:
        return math.inf

    def __str__(self) -> str:
        return f"half-normal(scale = {self.scale:g})"


@dataclass(frozen=True)
class HalfCauchy:
    """Half-Cauchy prior on tau with scale ``scale``."""

    scale: float = 0.5

    def logpdf(self, tau: np.ndarray) -> np.ndarray:
        return np.log(2.0) + stats.cauchy.logpdf(tau, scale=self.scale)

    @property
    def upper(self) -> float:
        return math.inf

    def __str__(self) -> str:
        return f"half-Cauchy(scale = {self.scale:g})"


@dataclass(frozen=True)
class Uniform:
    """Uniform prior on tau over [0, ``upper``]."""

    upper: float = 2.0

    def logpdf(self, tau: np.ndarray) -> np.ndarray:
        tau = np.asarray(tau, float)
        return np.where((tau >= 0) & (tau <= self.upper), -np.log(self.upper), -np.inf)

    def __str__(self) -> str:
        return f"uniform(0, {self.upper:g})"


@dataclass(frozen=True)
class PointMass:
    """tau fixed at ``value`` (a degenerate prior; the posterior of mu is then normal)."""

    value: float = 0.0

    def __str__(self) -> str:
        return f"point mass at tau = {self.value:g}"


@dataclass(frozen=True)
class Normal:
    """Normal prior on mu with mean ``mean`` and standard deviation ``sd``."""

    mean: float = 0.0
    sd: float = 10.0

    def __str__(self) -> str:
        return f"normal(mean = {self.mean:g}, sd = {self.sd:g})"


_TAU_PRIORS = {"half-normal": HalfNormal, "halfnormal": HalfNormal, "half_normal": HalfNormal,
               "half-cauchy": HalfCauchy, "halfcauchy": HalfCauchy, "half_cauchy": HalfCauchy,
               "uniform": Uniform}


def _tau_prior(prior: Any, scale: float | None) -> Any:
    out: Any
    if isinstance(prior, (HalfNormal, HalfCauchy, Uniform, PointMass)):
        out = prior
    elif isinstance(prior, str):
        key = prior.strip().lower()
        if key not in _TAU_PRIORS:
            raise DataError(f"unknown tau_prior {prior!r}; expected 'half-normal', 'half-cauchy', 'uniform', or "
                            "an object HalfNormal(scale), HalfCauchy(scale), Uniform(upper), PointMass(value)",
                            field="tau_prior")
        cls = _TAU_PRIORS[key]
        if scale is None:
            raise DataError(f"tau_prior={prior!r} needs tau_scale= (the scale, or the upper bound for uniform)",
                            field="tau_scale")
        out = cls(float(scale))
    else:
        raise DataError(f"tau_prior must be a string or a prior object, got {type(prior).__name__}",
                        field="tau_prior")
    par = out.value if isinstance(out, PointMass) else (out.upper if isinstance(out, Uniform) else out.scale)
    if not np.isfinite(par) or par < 0 or (par == 0 and not isinstance(out, PointMass)):
        raise DataError(f"the parameter of the tau prior must be a positive finite number, got {par!r}",
                        field="tau_prior")
    return out


def _mu_prior(prior: Any) -> Normal | None:
    if prior is None or (isinstance(prior, str) and prior.lower() in ("flat", "uniform", "improper")):
        return None
    if isinstance(prior, Normal):
        out = prior
    elif isinstance(prior, tuple) and len(prior) == 2:
        out = Normal(float(prior[0]), float(prior[1]))
    else:
        raise DataError(f"mu_prior must be None (flat), 'flat', Normal(mean, sd) or a pair (mean, sd), got "
                        f"{prior!r}", field="mu_prior")
    if not (np.isfinite(out.mean) and np.isfinite(out.sd) and out.sd > 0):
        raise DataError(f"mu_prior needs a finite mean and a positive finite sd, got {out}", field="mu_prior")
    return out


# --------------------------------------------------------------------------
# the model given tau
# --------------------------------------------------------------------------

def _conditional(y: np.ndarray, v: np.ndarray, tau: np.ndarray,
                 mu_prior: Normal | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(m(tau), s²(tau), log marginal likelihood of tau up to a constant), vectorised over tau."""
    tau = np.asarray(tau, float)
    d = v[None, :] + (tau ** 2)[..., None]
    w = 1.0 / d
    sw = w.sum(-1)
    slog = np.log(d).sum(-1)
    if mu_prior is None:
        m = (w * y).sum(-1) / sw
        s2 = 1.0 / sw
        quad = (w * (y - m[..., None]) ** 2).sum(-1)
        loglik = -0.5 * slog - 0.5 * np.log(sw) - 0.5 * quad
    else:
        p0 = 1.0 / mu_prior.sd ** 2
        prec = sw + p0
        m = ((w * y).sum(-1) + p0 * mu_prior.mean) / prec
        s2 = 1.0 / prec
        r = y - mu_prior.mean
        wr = (w * r).sum(-1)
        quad = (w * r ** 2).sum(-1) - wr ** 2 / prec
        loglik = -0.5 * slog - 0.5 * np.log(prec / p0) - 0.5 * quad
    return m, s2, loglik


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class PosteriorSummary:
    """Posterior summary of one quantity: mean, sd, median and equal-tailed credible interval."""

    mean: float
    sd: float
    median: float
    ci_lower: float
    ci_upper: float


@dataclass(frozen=True, eq=False)
class BayesianMetaAnalysisResult:
    """Posterior of the normal-normal hierarchical model.

    Attributes
    ----------
    mu, tau, prediction : PosteriorSummary
        The overall effect mu, the heterogeneity tau and the effect in a new
        study theta_new (posterior predictive), each with mean, sd, median
        and equal-tailed ``level`` credible interval (analysis scale).
    level : float
    tau_prior, mu_prior : prior objects (``mu_prior`` None for a flat prior)
    k : int
    yi, vi : ndarray
    labels : tuple of str
    measure : str or None
    """

    mu: PosteriorSummary
    tau: PosteriorSummary
    prediction: PosteriorSummary
    level: float
    tau_prior: Any
    mu_prior: Normal | None
    k: int
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    measure: str | None = None
    _nodes: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)    # tau quadrature nodes
    _weights: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # normalised node weights
    _log_norm: float = field(default=0.0, repr=False)           # log of the normalising constant
    _lmax: float = field(default=0.0, repr=False)

    @property
    def fixed_tau(self) -> bool:
        """True when tau was fixed by a point-mass prior."""
        return isinstance(self.tau_prior, PointMass)

    def tau_density(self, tau: Any) -> np.ndarray:
        """Marginal posterior density of tau at ``tau`` (not defined for a point-mass prior)."""
        if self.fixed_tau:
            raise MgmetaError("tau has a point-mass posterior; it has no density")
        t = np.asarray(tau, float)
        _, _, ll = _conditional(self.yi, self.vi, np.atleast_1d(t), self.mu_prior)
        with np.errstate(divide="ignore"):
            lp = self.tau_prior.logpdf(np.atleast_1d(t)) + ll - self._lmax - self._log_norm
        out = np.where(np.atleast_1d(t) >= 0, np.exp(lp), 0.0)
        return out.reshape(t.shape)

    @cached_property
    def _conditionals(self) -> tuple[np.ndarray, np.ndarray]:
        m, s2, _ = _conditional(self.yi, self.vi, self._nodes, self.mu_prior)
        return m, s2

    def _mixture(self, predictive: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, s2 = self._conditionals
        if predictive:
            s2 = s2 + self._nodes ** 2
        return m, np.sqrt(s2), self._weights

    def mu_density(self, x: Any, predictive: bool = False) -> np.ndarray:
        """Posterior density of mu (or, with ``predictive=True``, of theta_new) at ``x``."""
        m, s, w = self._mixture(predictive)
        xx = np.asarray(x, float)
        dens = (w * stats.norm.pdf((xx.reshape(-1)[:, None] - m) / s) / s).sum(-1)
        return dens.reshape(xx.shape)

    def mu_cdf(self, x: Any, predictive: bool = False) -> np.ndarray:
        """Posterior distribution function of mu (or theta_new) at ``x``."""
        m, s, w = self._mixture(predictive)
        xx = np.asarray(x, float)
        return np.clip((w * stats.norm.cdf((xx.reshape(-1)[:, None] - m) / s)).sum(-1), 0, 1).reshape(xx.shape)

    def probability(self, threshold: float = 0.0, *, below: bool = True) -> float:
        """Posterior probability that mu is below (or above) ``threshold``, e.g. P(log OR < 0)."""
        p = float(self.mu_cdf(threshold))
        return p if below else 1 - p

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity (``mu tau prediction``); columns ``mean sd median ci_lower ci_upper``."""
        rows = {"mu": self.mu, "tau": self.tau, "prediction": self.prediction}
        return pd.DataFrame({c: [getattr(r, c) for r in rows.values()]
                             for c in ("mean", "sd", "median", "ci_lower", "ci_upper")}, index=list(rows))

    def __str__(self) -> str:
        head = ["", "mean", "sd", "median", f"{100 * self.level:g}% lower", f"{100 * self.level:g}% upper"]
        rows = [[name] + [fmt.format_number(getattr(s, c)) for c in ("mean", "sd", "median", "ci_lower", "ci_upper")]
                for name, s in (("mu", self.mu), ("tau", self.tau), ("theta_new", self.prediction))]
        mp = "flat" if self.mu_prior is None else str(self.mu_prior)
        return "\n".join([f"Bayesian random-effects meta-analysis (k = {self.k})",
                          f"Priors: tau ~ {self.tau_prior}; mu ~ {mp}", "",
                          fmt.text_table(head, rows)]) + "\n"


# --------------------------------------------------------------------------
# quadrature
# --------------------------------------------------------------------------

def _gl_rule(panels: int, nodes: int, a: float = 0.0, b: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(a, b, panels + 1)
    half = np.diff(edges)[:, None] / 2
    mid = (edges[:-1] + edges[1:])[:, None] / 2
    return (mid + half * x[None, :]).reshape(-1), (half * w[None, :]).reshape(-1)


def _tau_grid(y: np.ndarray, v: np.ndarray, prior: Any, mu_prior: Normal | None, scale: float,
              panels: int, nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Nodes in tau, normalised posterior weights, panel edges in tau, log Z and the max of the log density."""
    u, wu = _gl_rule(panels, nodes, 0.0, 1.0)
    ue = np.linspace(0.0, 1.0, panels + 1)
    if isinstance(prior, Uniform):
        t = prior.upper * u
        jac = np.full(u.shape, prior.upper)
        edges = prior.upper * ue
    else:
        # t = c u / (1 - u): [0, 1) -> [0, inf); c is tuned to the posterior median (u = 1/2)
        t = scale * u / (1 - u)
        jac = scale / (1 - u) ** 2
        with np.errstate(divide="ignore"):
            edges = np.where(ue < 1, scale * ue / np.where(ue < 1, 1 - ue, 1.0), np.inf)
    _, _, ll = _conditional(y, v, t, mu_prior)
    lp = prior.logpdf(t) + ll
    lmax = float(np.max(lp))
    with np.errstate(under="ignore"):
        dens = np.exp(lp - lmax)
    wt = dens * jac * wu
    z = float(wt.sum())
    if not np.isfinite(z) or z <= 0:
        raise MgmetaError("the posterior of tau could not be normalised (check the data and the priors)")
    return t, wt / z, edges, math.log(z), lmax


def _quantile(cdf: Any, p: float, lo: float, hi: float) -> float:
    """Root of cdf(x) = p, expanding [lo, hi] until it brackets the root."""
    width = max(hi - lo, 1e-8)
    for _ in range(200):
        if cdf(lo) > p:
            lo -= width
            width *= 2
        elif cdf(hi) < p:
            hi += width
            width *= 2
        else:
            break
    return float(optimize.brentq(lambda x: cdf(x) - p, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps,
                                 maxiter=500))


def _summary_mixture(m: np.ndarray, s: np.ndarray, w: np.ndarray, alpha: float) -> PosteriorSummary:
    mean = float(np.sum(w * m))
    var = float(np.sum(w * (s ** 2 + m ** 2)) - mean ** 2)
    sd = math.sqrt(max(var, 0.0))

    def cdf(x: float) -> float:
        return float(np.sum(w * special.ndtr((x - m) / s)))

    lo, hi = mean - 3 * sd, mean + 3 * sd
    return PosteriorSummary(mean=mean, sd=sd, median=_quantile(cdf, 0.5, lo, hi),
                            ci_lower=_quantile(cdf, alpha / 2, lo, hi), ci_upper=_quantile(cdf, 1 - alpha / 2, lo, hi))


def _summary_tau(y: np.ndarray, v: np.ndarray, prior: Any, mu_prior: Normal | None, t: np.ndarray, w: np.ndarray,
                 edges: np.ndarray, log_norm: float, lmax: float, alpha: float) -> PosteriorSummary:
    """Posterior summary of tau; quantiles from the distribution function integrated panel by panel."""
    mean = float(np.sum(w * t))
    sd = math.sqrt(max(float(np.sum(w * t ** 2)) - mean ** 2, 0.0))
    upper = prior.upper if isinstance(prior, Uniform) else math.inf
    xg, wg = np.polynomial.legendre.leggauss(40)
    panels = len(edges) - 1
    cdf_edges = np.concatenate([[0.0], np.cumsum(w.reshape(panels, -1).sum(-1))])

    def dens(x: np.ndarray) -> np.ndarray:
        _, _, ll = _conditional(y, v, x, mu_prior)
        with np.errstate(under="ignore"):
            return np.exp(prior.logpdf(x) + ll - lmax - log_norm)

    def cdf(x: float) -> float:
        if x <= 0:
            return 0.0
        if x >= upper:
            return 1.0
        j = min(int(np.searchsorted(edges, x, side="right")) - 1, panels - 1)
        a = float(edges[j])
        pts = (x - a) / 2 * xg + (x + a) / 2
        return min(1.0, float(cdf_edges[j]) + float(np.sum(wg * dens(pts)) * (x - a) / 2))

    hi = float(edges[-2]) if not math.isfinite(upper) else upper
    q = [_quantile_tau(cdf, p, 0.0, max(hi, 1e-12)) for p in (0.5, alpha / 2, 1 - alpha / 2)]
    return PosteriorSummary(mean=mean, sd=sd, median=q[0], ci_lower=q[1], ci_upper=q[2])


def _quantile_tau(cdf: Any, p: float, lo: float, hi: float) -> float:
    if cdf(lo) >= p:
        return lo
    while cdf(hi) < p:
        hi *= 2
    return float(optimize.brentq(lambda x: cdf(x) - p, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps,
                                 maxiter=500))


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------

def bayesian_meta_analysis(yi: Any, vi: Any = None, *, tau_prior: Any = "half-normal", tau_scale: float | None = 0.5,
                           mu_prior: Any = None, level: float = 0.95, labels: Any = None, sei: Any = None,
                           panels: int = _PANELS) -> BayesianMetaAnalysisResult:
    """Bayesian random-effects meta-analysis, exact up to quadrature (the approach of R's bayesmeta).

    Parameters
    ----------
    yi : array_like, shape (k,), DataFrame or MetaAnalysisResult
        Effect sizes (analysis scale), the frame of
        :func:`mgmeta.effect_sizes`, or a fitted model (its data are used).
    vi : array_like, shape (k,)
        Sampling variances (or give ``sei``).
    tau_prior : {"half-normal", "half-cauchy", "uniform"} or prior object
        Prior on tau: a name with ``tau_scale`` (the scale; the upper bound
        for "uniform"), or ``HalfNormal(scale)``, ``HalfCauchy(scale)``,
        ``Uniform(upper)``, ``PointMass(value)`` (tau fixed). Default
        half-normal with scale 0.5, a weakly informative choice for log odds
        ratios (Röver et al. 2021).
    tau_scale : float, optional
        Scale of the named prior.
    mu_prior : None, "flat", Normal(mean, sd) or (mean, sd)
        Prior on mu (default flat, improper).
    level : float
        Probability of the equal-tailed credible intervals.
    labels, sei : optional
    panels : int
        Panels of the composite 20-point Gauss-Legendre rule over tau.

    Returns
    -------
    BayesianMetaAnalysisResult
        Posterior mean, sd, median and credible interval of mu, tau and the
        effect theta_new of a new study (posterior predictive); densities and
        distribution functions as methods.

    Notes
    -----
    Given tau, with w_i = 1/(v_i + tau²), a flat prior gives mu | tau, y ~
    N(sum w_i y_i / sum w_i, 1 / sum w_i) and

        p(tau | y) ∝ p(tau) prod (v_i + tau²)^(-1/2) (sum w_i)^(-1/2)
                     exp(-1/2 sum w_i (y_i - m(tau))²);

    a N(m0, s0²) prior adds m0 with precision 1/s0² to the conditional normal
    and gives the marginal likelihood of y ~ N(m0 1, diag(v + tau²) + s0²
    11'). Posterior quantities of mu and theta_new (conditional variance
    s²(tau) + tau²) are mixtures of normals over the posterior of tau,
    integrated on the nodes of the tau rule; quantiles solve the mixture's
    distribution function by Brent's method. The tau axis is mapped from
    [0, 1) by tau = c u / (1 - u), with c tuned to the posterior median of
    tau (a linear map over [0, upper] for a uniform prior).

    With a point-mass prior the posterior of mu is the normal N(m(tau0),
    s²(tau0)): with a flat prior, the fixed-tau² frequentist fit's estimate
    and standard error.

    References
    ----------
    Röver C (2020). doi:10.18637/jss.v093.i06
    Röver C, et al. (2021). doi:10.1002/jrsm.1475

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.analyses import bayesian_meta_analysis
    >>> fit = bayesian_meta_analysis([-0.89, -1.59, -1.35, -1.44, -0.22], [0.33, 0.19, 0.42, 0.02, 0.05],
    ...                              tau_prior="half-normal", tau_scale=0.5)
    >>> fit.mu.ci_lower < fit.mu.median < fit.mu.ci_upper
    True
    """
    from mgmeta.analyses.regression import _prepare
    from mgmeta.models import MetaAnalysisResult

    measure = None
    lab: list[str] | None
    if isinstance(yi, MetaAnalysisResult):
        y, v = np.asarray(yi.yi, float), np.asarray(yi.vi, float)
        lab = list(yi.labels)
        measure = yi.measure
    else:
        y, v, lab, measure, _ = _prepare(yi, vi, sei, labels)
    lev = check_level(level)
    alpha = 1 - lev
    prior = _tau_prior(tau_prior, tau_scale)
    mp = _mu_prior(mu_prior)
    k = len(y)
    labels_t = tuple(lab) if lab is not None else tuple(str(i + 1) for i in range(k))
    if isinstance(prior, PointMass):
        t0 = float(prior.value)
        m, s2, _ = _conditional(y, v, np.array([t0]), mp)
        m0, s0 = float(m[0]), math.sqrt(float(s2[0]))
        zq = float(stats.norm.isf(alpha / 2))
        sp = math.sqrt(s0 ** 2 + t0 ** 2)
        mu = PosteriorSummary(m0, s0, m0, m0 - zq * s0, m0 + zq * s0)
        pred = PosteriorSummary(m0, sp, m0, m0 - zq * sp, m0 + zq * sp)
        tau = PosteriorSummary(t0, 0.0, t0, t0, t0)
        return BayesianMetaAnalysisResult(mu=mu, tau=tau, prediction=pred, level=lev, tau_prior=prior, mu_prior=mp,
                                          k=k, yi=y, vi=v, labels=labels_t, measure=measure,
                                          _nodes=np.array([t0]), _weights=np.array([1.0]))
    panels = int(panels)
    if panels < 10:
        raise DataError(f"panels must be at least 10, got {panels}", field="panels")
    # first pass with a data-driven scale, second with the posterior median of tau
    scale = max(float(np.sqrt(np.median(v))), 1e-8)
    for _ in range(2):
        t, w, edges, log_norm, lmax = _tau_grid(y, v, prior, mp, scale, panels, _NODES)
        cum = np.cumsum(w)
        med = float(t[min(int(np.searchsorted(cum, 0.5)), len(t) - 1)])
        if med > 0:
            scale = med
    tau_s = _summary_tau(y, v, prior, mp, t, w, edges, log_norm, lmax, alpha)
    m, s2, _ = _conditional(y, v, t, mp)
    mu_s = _summary_mixture(m, np.sqrt(s2), w, alpha)
    pred_s = _summary_mixture(m, np.sqrt(s2 + t ** 2), w, alpha)
    return BayesianMetaAnalysisResult(mu=mu_s, tau=tau_s, prediction=pred_s, level=lev, tau_prior=prior,
                                      mu_prior=mp, k=k, yi=y, vi=v, labels=labels_t, measure=measure,
                                      _nodes=t, _weights=w, _log_norm=log_norm, _lmax=lmax)
