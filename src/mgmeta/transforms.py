"""Back-transformations for display, as metafor's ``transf.*`` functions (snake case: ``transf_ilogit``).

Estimation happens on the analysis scale; these functions take estimates and
interval bounds back to the natural scale for printouts and forest plots
(``transf=``). Each takes an array and returns a float array of the same
shape; the ones that need the sample sizes or person-times take them as a
second argument. :func:`display_transform` names the usual one for a measure.

References
----------
Viechtbauer W (2010). doi:10.18637/jss.v036.i03
Miller JJ (1978). The inverse of the Freeman-Tukey double arcsine
transformation. Am Stat 32(4):138. doi:10.1080/00031305.1978.10479283
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy import integrate, special

from mgmeta.errors import DataError

__all__ = [
    "transf_exp", "transf_ilogit", "transf_logit", "transf_ztor", "transf_rtoz", "transf_arcsin",
    "transf_iarcsin", "transf_pft", "transf_ipft", "transf_ipft_hm", "transf_isqrt", "transf_irft",
    "transf_iirft", "transf_exp_int", "transf_ilogit_int", "transf_ztor_int", "display_transform", "display_name",
]


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def transf_exp(xi: Any) -> np.ndarray:
    """exp(x): log ratios (OR, RR, IRR, ROM), log proportions (PLN), log rates (IRLN), log means (MNLN).

    Examples
    --------
    >>> float(transf_exp(0.0))
    1.0
    """
    return np.exp(_arr(xi))


def transf_ilogit(xi: Any) -> np.ndarray:
    """Inverse logit 1 / (1 + exp(-x)): logit proportions (PLO) back to proportions.

    Examples
    --------
    >>> float(transf_ilogit(0.0))
    0.5
    """
    return special.expit(_arr(xi))


def transf_logit(xi: Any) -> np.ndarray:
    """Logit log(p / (1 - p))."""
    with np.errstate(divide="ignore"):
        return special.logit(_arr(xi))


def transf_ztor(xi: Any) -> np.ndarray:
    """Fisher's z back to a correlation, tanh(z) (ZCOR).

    Examples
    --------
    >>> round(float(transf_ztor(0.5493061443340549)), 6)
    0.5
    """
    return np.tanh(_arr(xi))


def transf_rtoz(xi: Any) -> np.ndarray:
    """Correlation to Fisher's z, atanh(r)."""
    with np.errstate(divide="ignore"):
        return np.arctanh(_arr(xi))


def transf_arcsin(xi: Any) -> np.ndarray:
    """Arcsine square root of a proportion, asin(sqrt(p))."""
    return np.arcsin(np.sqrt(_arr(xi)))


def transf_iarcsin(xi: Any) -> np.ndarray:
    """Inverse arcsine square root, sin(x)², 0 below 0 and 1 above pi/2 (PAS)."""
    x = _arr(xi)
    return np.where(x < 0, 0.0, np.where(x > np.pi / 2, 1.0, np.sin(x) ** 2))


def transf_pft(xi: Any, ni: Any) -> np.ndarray:
    """Freeman-Tukey double arcsine of a proportion ``xi`` with group size ``ni``."""
    x, n = _arr(xi) * _arr(ni), _arr(ni)
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))


def _ipft(x: np.ndarray, n: np.ndarray | float) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sin(2 * x)
        inner = 1 - (s + (s - 1 / s) / n) ** 2
        z = 0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(inner))
    z = np.where(x > transf_pft(1.0, n), 1.0, z)
    z = np.where(x < transf_pft(0.0, n), 0.0, z)
    return z


def transf_ipft(xi: Any, ni: Any) -> np.ndarray:
    """Inverse Freeman-Tukey transformation of single proportions with their own ``ni`` (Miller 1978).

    Values beyond the transformation's range give 0 or 1; NaN where the
    inverse does not exist.
    """
    return _ipft(_arr(xi), _arr(ni))


def transf_ipft_hm(xi: Any, ni: Any) -> np.ndarray:
    """Inverse Freeman-Tukey transformation with the harmonic mean of the studies' ``ni`` (pooled PFT).

    metafor passes the sizes as ``targs=list(ni=...)``; here they are the
    second argument.

    Examples
    --------
    >>> round(float(transf_ipft_hm(0.5, [10, 20, 30])), 6)
    0.214012
    """
    n = _arr(ni)
    if n.size == 0 or not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise DataError("transf_ipft_hm needs the positive sample sizes ni of the studies", field="ni")
    return _ipft(_arr(xi), float(1 / np.mean(1 / n)))


def transf_isqrt(xi: Any) -> np.ndarray:
    """Inverse square root, x² (0 below 0): IRS back to rates."""
    x = _arr(xi)
    return np.where(x < 0, 0.0, x * x)


def transf_irft(xi: Any, ti: Any) -> np.ndarray:
    """Freeman-Tukey transformation of an incidence rate ``xi`` with person-time ``ti``."""
    x, t = _arr(xi), _arr(ti)
    return 0.5 * (np.sqrt(x) + np.sqrt(x + 1 / t))


def transf_iirft(xi: Any, ti: Any) -> np.ndarray:
    """Inverse Freeman-Tukey transformation of incidence rates (IRFT) with person-time ``ti``."""
    x, t = _arr(xi), _arr(ti)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (1 / t - 8 * x ** 2 + 16 * t * x ** 4) / (16 * x ** 2 * t)
    z = np.where(x < transf_irft(0.0, t), 0.0, z)
    return np.where(z <= np.finfo(float).eps, 0.0, z)


def _integrated(f: Callable[[float], float], xi: Any, tau2: float) -> np.ndarray:
    """E[f(z)] for z ~ N(x, tau2), integrated over x ± 10 tau (metafor's ``*.int`` transformations)."""
    tau2 = float(tau2)
    if not np.isfinite(tau2) or tau2 < 0:
        raise DataError(f"tau2 must be a non-negative number, got {tau2!r}", field="tau2")
    x = _arr(xi)
    if tau2 == 0:
        return np.vectorize(f, otypes=[float])(x)
    sd = np.sqrt(tau2)
    from scipy import stats          # here, so that printing a fit does not import scipy.stats

    def one(m: float) -> float:
        if not np.isfinite(m):
            return float("nan")
        val, _ = integrate.quad(lambda z: f(z) * stats.norm.pdf(z, m, sd), m - 10 * sd, m + 10 * sd,
                                epsabs=1e-12, epsrel=1e-10, limit=200)
        return float(val)

    return np.vectorize(one, otypes=[float])(x)


def transf_exp_int(xi: Any, tau2: float) -> np.ndarray:
    """Mean of exp(z) for z ~ N(x, tau²), by numerical integration (metafor's ``transf.exp.int``)."""
    return _integrated(np.exp, xi, tau2)


def transf_ilogit_int(xi: Any, tau2: float) -> np.ndarray:
    """Mean of ilogit(z) for z ~ N(x, tau²) (metafor's ``transf.ilogit.int``)."""
    return _integrated(special.expit, xi, tau2)


def transf_ztor_int(xi: Any, tau2: float) -> np.ndarray:
    """Mean of tanh(z) for z ~ N(x, tau²) (metafor's ``transf.ztor.int``)."""
    return _integrated(np.tanh, xi, tau2)


_DISPLAY = {
    "OR": transf_exp, "RR": transf_exp, "PETO": transf_exp, "ROM": transf_exp, "IRR": transf_exp,
    "PLN": transf_exp, "IRLN": transf_exp, "MNLN": transf_exp, "CVLN": transf_exp, "SDLN": transf_exp,
    "PLO": transf_ilogit, "ZCOR": transf_ztor, "PAS": transf_iarcsin, "IRS": transf_isqrt,
}
_NAMES = {
    "PLN": "proportion", "PLO": "proportion", "PAS": "proportion", "PFT": "proportion",
    "ZCOR": "correlation", "IRLN": "incidence rate", "IRS": "incidence rate", "MNLN": "mean",
    "CVLN": "coefficient of variation", "SDLN": "standard deviation",
}


def display_name(measure: str | None) -> str | None:
    """What the back-transformation of :func:`display_transform` gives ("proportion" for PLO), or None.

    Examples
    --------
    >>> display_name("ZCOR")
    'correlation'
    """
    return _NAMES.get(measure) if measure is not None else None


def display_transform(measure: str | None, frame: Any = None) -> Callable[[Any], np.ndarray] | None:
    """The usual back-transformation of a measure for display, or None (shown as is).

    PFT needs the studies' ``ni`` (their harmonic mean, as metafor's
    ``transf.ipft.hm``): pass the effect-size ``frame`` to get a function with
    them filled in. IRFT has no pooled back-transformation (use
    :func:`transf_iirft` with a person-time of your choice).

    Examples
    --------
    >>> display_transform("PLO").__name__
    'transf_ilogit'
    """
    if measure in _DISPLAY:
        return _DISPLAY[measure]
    if measure == "PFT" and frame is not None and "ni" in frame:
        ni = np.asarray(frame["ni"], float)
        return lambda x: transf_ipft_hm(x, ni)
    return None
