"""Effect measures beyond two-group trials, and the ``vtype`` variance options, as metafor's ``escalc``.

:func:`mgmeta.effect_sizes` reads the arguments (``data=``, ``na_action=``,
labels) and hands every measure listed in :data:`MEASURES` to :func:`compute`;
``vtype=`` of its own measures goes to :func:`revise_vi`. Arrays in, the
columns of the effect-size frame out; no I/O.

Single groups
    proportions PR, PLN (log), PLO (logit), PAS (arcsine), PFT (Freeman-Tukey)
    from ``xi`` events of ``ni``; incidence rates IR, IRLN (log), IRS (square
    root), IRFT (Freeman-Tukey) from ``xi`` events in person-time ``ti``; means
    MN, MNLN (log mean), CVLN (log coefficient of variation), SDLN (log SD)
    from ``mi``, ``sdi``, ``ni``; correlations COR, UCOR (unbiased), ZCOR
    (Fisher's z) from ``ri``, ``ni``.
Two groups
    incidence rate ratio IRR (log), difference IRD, and difference of square
    roots IRSD from ``x1i``, ``t1i``, ``x2i``, ``t2i``; SMDH, the standardized
    mean difference with heteroscedastic SDs.
Change scores (one group measured twice)
    MC (raw mean change), SMCC (standardized by the SD of the change), SMCR
    (standardized by the SD of the first measurement), SMCRH (SMCR with a
    heteroscedastic variance) from ``m1i``, ``m2i``, ``sd1i``, ``sd2i``,
    ``ni`` and the correlation ``ri`` between the two measurements.

References
----------
Viechtbauer W (2010). doi:10.18637/jss.v036.i03
Freeman MF, Tukey JW (1950). doi:10.1214/aoms/1177729756
Olkin I, Pratt JW (1958). doi:10.1214/aoms/1177706717
Bonett DG (2008). doi:10.1037/1082-989X.13.2.99
Bonett DG (2009). doi:10.1037/a0016619
Becker BJ (1988). doi:10.1111/j.2044-8317.1988.tb00901.x
Nakagawa S, et al. (2015). doi:10.1111/2041-210X.12309
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import special

from mgmeta._validation import (
    check_nonnegative,
    check_not_above,
    check_positive,
    first_index,
    study_error,
)
from mgmeta.errors import ContinuityCorrectionWarning, DataError

__all__ = ["MEASURES", "PROPORTION_MEASURES", "RATE_MEASURES", "MEAN_MEASURES", "CORRELATION_MEASURES",
           "RATE_CONTRAST_MEASURES", "CHANGE_MEASURES", "VTYPES", "NO_ADD_MEASURES", "NAMES", "compute"]

PROPORTION_MEASURES = ("PR", "PLN", "PLO", "PAS", "PFT")
RATE_MEASURES = ("IR", "IRLN", "IRS", "IRFT")
MEAN_MEASURES = ("MN", "MNLN", "CVLN", "SDLN")
CORRELATION_MEASURES = ("COR", "UCOR", "ZCOR")
RATE_CONTRAST_MEASURES = ("IRR", "IRD", "IRSD")
CHANGE_MEASURES = ("MC", "SMCC", "SMCR", "SMCRH")
MEASURES = (PROPORTION_MEASURES + RATE_MEASURES + MEAN_MEASURES + CORRELATION_MEASURES
            + RATE_CONTRAST_MEASURES + ("SMDH",) + CHANGE_MEASURES)
"""The measures computed here (the others live in :mod:`mgmeta.effects`)."""

NO_ADD_MEASURES = ("PAS", "PFT", "IRS", "IRFT", "IRSD")
"""Measures whose default continuity correction is 0, as in escalc (``add`` given explicitly still counts)."""

VTYPES: dict[str, tuple[str, ...]] = {
    "PR": ("LS", "UB", "AV"), "PLN": ("LS", "AV"), "PLO": ("LS", "AV"),
    "COR": ("LS", "AV"), "UCOR": ("LS", "UB", "AV"),
    "SMDH": ("LS", "LS2"), "SMCC": ("LS", "LS2"), "SMCR": ("LS", "LS2"),
    "MD": ("LS", "UB", "HO"), "SMD": ("LS", "UB", "LS2", "AV"), "RD": ("LS", "UB", "AV"),
    "ROM": ("LS", "HO", "AV", "AVHO"),
}
"""The sampling-variance options of each measure (the first is the default); other measures have "LS" only."""

NAMES = {
    "PR": "proportion", "PLN": "log proportion", "PLO": "logit proportion",
    "PAS": "arcsine square root proportion", "PFT": "Freeman-Tukey double arcsine proportion",
    "IR": "incidence rate", "IRLN": "log incidence rate", "IRS": "square root incidence rate",
    "IRFT": "Freeman-Tukey incidence rate", "MN": "mean", "MNLN": "log mean",
    "CVLN": "log coefficient of variation", "SDLN": "log standard deviation", "COR": "correlation",
    "UCOR": "unbiased correlation", "ZCOR": "Fisher's z of the correlation",
    "IRR": "log incidence rate ratio", "IRD": "incidence rate difference",
    "IRSD": "square root incidence rate difference",
    "SMDH": "standardized mean difference (heteroscedastic)", "MC": "mean change",
    "SMCC": "standardized mean change (change-score standardization)",
    "SMCR": "standardized mean change (raw-score standardization)",
    "SMCRH": "standardized mean change (raw-score standardization, heteroscedastic)",
}

_INPUTS = {
    **{m: ("xi", "ni") for m in PROPORTION_MEASURES},
    **{m: ("xi", "ti") for m in RATE_MEASURES},
    **{m: ("mi", "sdi", "ni") for m in ("MN", "MNLN", "CVLN")},
    "SDLN": ("sdi", "ni"),
    **{m: ("ri", "ni") for m in CORRELATION_MEASURES},
    **{m: ("x1i", "t1i", "x2i", "t2i") for m in RATE_CONTRAST_MEASURES},
    "SMDH": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    **{m: ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri") for m in ("MC", "SMCC", "SMCRH")},
    "SMCR": ("m1i", "m2i", "sd1i", "ni", "ri"),
}

_OPTIONAL = {"SDLN": ("mi",), "SMCR": ("sd2i",), **{m: ("mi",) for m in PROPORTION_MEASURES}}
"""Inputs a measure accepts without needing them (as escalc; mi of a proportion is its non-events)."""


def _cm(m: np.ndarray) -> np.ndarray:
    """Hedges' exact bias correction c(m), on the log scale."""
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def _hyp2f1(a: float, b: float, c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gauss's hypergeometric function 2F1(a, b; c; x) for 0 <= x <= 1 and c > a + b, c > b > 0.

    From Euler's integral, Gamma(c) / (Gamma(b) Gamma(c-b)) times the integral over
    (0, 1) of t^(b-1) (1-t)^(c-b-1) (1 - x t)^(-a), by adaptive quadrature with the
    algebraic end-point weights (scipy's ``hyp2f1`` returns NaN for x near 1 with a
    large c, the correlations near 0 of large studies); Gauss's closed form at x = 1.
    """
    from scipy import integrate

    def one(ci: float, xi: float) -> float:
        if xi == 1.0:
            return float(np.exp(special.gammaln(ci) + special.gammaln(ci - a - b)
                                - special.gammaln(ci - a) - special.gammaln(ci - b)))
        val, _ = integrate.quad(lambda t: (1 - xi * t) ** (-a), 0.0, 1.0, weight="alg",
                                wvar=(b - 1, ci - b - 1), epsabs=0.0, epsrel=1e-13, limit=500)
        return float(val * np.exp(special.gammaln(ci) - special.gammaln(b) - special.gammaln(ci - b)))

    return np.array([one(float(ci), float(xi)) for ci, xi in zip(np.broadcast_to(c, np.shape(x)), x)])


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(w)
    return float((x[ok] * w[ok]).sum() / w[ok].sum())


def _need(measure: str, a: dict[str, np.ndarray]) -> None:
    for name in _INPUTS[measure]:
        if name not in a:
            raise DataError(f"measure {measure!r} needs {', '.join(_INPUTS[measure])}; {name} is missing",
                            field=name)
    extra = [n for n in a if n not in _INPUTS[measure] + _OPTIONAL.get(measure, ())]
    if extra:
        raise DataError(f"measure {measure!r} takes {', '.join(_INPUTS[measure])}; "
                        f"{', '.join(extra)} do{'es' if len(extra) == 1 else ''} not apply", field=extra[0])


def correct_cells(counts: list[np.ndarray], add: float, to: str,
                  eligible: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """escalc's add/to on a set of cells of each study: "only0" (studies with a zero cell), "all", "if0all"
    (all studies if any eligible one has a zero cell), "none". Returns the corrected cells (new arrays) and
    the mask of corrected studies."""
    zero = eligible & np.any([c == 0 for c in counts], axis=0)
    if to == "all":
        which = eligible.copy()
    elif to == "only0":
        which = zero
    elif to == "if0all":
        which = eligible & bool(zero.any())
    else:
        which = np.zeros_like(eligible)
    which = which & (add > 0)
    return [c + np.where(which, add, 0.0) for c in counts], which


def _warn_corrected(which: np.ndarray, zero: np.ndarray, add: float, to: str, lab: list[str] | None) -> None:
    hit = which & zero
    if hit.any() and to != "all":
        names = ", ".join(lab[i] if lab else str(i) for i in np.flatnonzero(hit))
        warnings.warn(f"continuity correction {add:g} added to the cells of studies with zero cells: {names}",
                      ContinuityCorrectionWarning, stacklevel=5)


def compute(measure: str, a: dict[str, np.ndarray], *, add: float, to: str, drop00: bool, vtype: str,
            lab: list[str] | None, strict: bool = True) -> dict[str, np.ndarray]:
    """yi, vi and the frame columns of one of :data:`MEASURES` (inputs already read as float arrays).

    Raises :class:`~mgmeta.errors.DataError` naming the study for impossible
    inputs and for undefined or infinite effects (metafor would return NA);
    with ``strict=False`` those effects are NaN instead (for the study-level
    estimates of the Mantel-Haenszel heterogeneity test).
    """
    if measure in PROPORTION_MEASURES and "mi" in a:      # metafor's xi + mi (non-events) form
        if "ni" in a:
            raise DataError("give ni (group size) or mi (non-events) for a proportion, not both", field="mi")
        check_nonnegative(a["mi"], "mi", lab)
        a = dict(a)
        a["ni"] = a.pop("mi") + a.get("xi", 0.0)
    _need(measure, a)
    k = len(next(iter(a.values())))
    dropped = np.zeros(k, bool)
    corrected = np.zeros(k, bool)
    extra: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if measure in PROPORTION_MEASURES:
            xi, ni = a["xi"], a["ni"]
            check_nonnegative(xi, "xi", lab)
            check_positive(ni, "ni", lab)
            check_not_above(xi, "xi", ni, "ni", lab)
            (x, m), corrected = correct_cells([xi, ni - xi], add, to, np.ones(k, bool))
            _warn_corrected(corrected, (xi == 0) | (xi == ni), add, to, lab)
            n = x + m
            p = x / n
            if measure == "PR":
                yi = p
                pbar = _wmean(p, n)
                vi = {"LS": p * (1 - p) / n, "UB": p * (1 - p) / (n - 1), "AV": pbar * (1 - pbar) / n}[vtype]
            elif measure == "PLN":
                yi = np.log(p)
                vi = 1 / x - 1 / n if vtype == "LS" else 1 / (_wmean(p, n) * n) - 1 / n
            elif measure == "PLO":
                yi = np.log(p / (1 - p))
                pbar = _wmean(p, n)
                vi = 1 / x + 1 / m if vtype == "LS" else 1 / (pbar * n) + 1 / ((1 - pbar) * n)
            elif measure == "PAS":
                yi = np.arcsin(np.sqrt(p))
                vi = 1 / (4 * n)
            else:  # PFT
                yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
                vi = 1 / (4 * n + 2)
            extra = {"xi": xi.copy(), "ni": ni.copy()}
        elif measure in RATE_MEASURES:
            xi, ti = a["xi"], a["ti"]
            check_nonnegative(xi, "xi", lab)
            check_positive(ti, "ti", lab, what="(person-time)")
            (x,), corrected = correct_cells([xi], add, to, np.ones(k, bool))
            _warn_corrected(corrected, xi == 0, add, to, lab)
            rate = x / ti
            if measure == "IR":
                yi, vi = rate, rate / ti
            elif measure == "IRLN":
                yi, vi = np.log(rate), 1 / x
            elif measure == "IRS":
                yi, vi = np.sqrt(rate), 1 / (4 * ti)
            else:  # IRFT
                yi, vi = 0.5 * (np.sqrt(rate) + np.sqrt(rate + 1 / ti)), 1 / (4 * ti)
            extra = {"xi": xi.copy(), "ti": ti.copy()}
        elif measure in MEAN_MEASURES:
            sdi, ni = a["sdi"], a["ni"]
            check_nonnegative(sdi, "sdi", lab)
            check_positive(ni, "ni", lab)
            mi = a.get("mi")
            if measure in ("MNLN", "CVLN"):
                assert mi is not None
                check_positive(mi, "mi", lab, what=f"(the {NAMES[measure]} needs positive means)")
            if measure in ("CVLN", "SDLN"):
                check_positive(sdi, "sdi", lab, what=f"(the {NAMES[measure]} needs positive SDs)")
                j = first_index(ni < 2)
                if j is not None:
                    raise study_error(lab, j, "ni", f"the {NAMES[measure]} needs ni >= 2, got {ni[j]:g}")
            if measure == "MN":
                assert mi is not None
                yi, vi = mi.copy(), sdi ** 2 / ni
            elif measure == "MNLN":
                assert mi is not None
                yi, vi = np.log(mi), sdi ** 2 / (ni * mi ** 2)
            elif measure == "CVLN":
                assert mi is not None
                yi = np.log(sdi / mi) + 1 / (2 * (ni - 1))
                vi = 1 / (2 * (ni - 1)) + sdi ** 2 / (ni * mi ** 2)
            else:  # SDLN
                yi = np.log(sdi) + 1 / (2 * (ni - 1))
                vi = 1 / (2 * (ni - 1))
            extra = ({"mi": mi.copy()} if mi is not None else {}) | {"sdi": sdi.copy(), "ni": ni.copy()}
        elif measure in CORRELATION_MEASURES:
            ri, ni = a["ri"], a["ni"]
            j = first_index(np.abs(ri) > 1)
            if j is not None:
                raise study_error(lab, j, "ri", f"correlation ri ({ri[j]:g}) is outside [-1, 1]")
            check_positive(ni, "ni", lab)
            least = {"COR": 2, "UCOR": 5, "ZCOR": 4}[measure]
            j = first_index(ni < least)
            if j is not None:
                raise study_error(lab, j, "ni", f"the {NAMES[measure]} needs ni >= {least} "
                                                f"(sampling variance undefined), got {ni[j]:g}")
            if measure == "ZCOR":
                yi, vi = np.arctanh(ri), 1 / (ni - 3)
            else:
                yi = ri.copy() if measure == "COR" else ri * _hyp2f1(0.5, 0.5, (ni - 2) / 2, 1 - ri ** 2)
                if vtype == "LS":
                    vi = (1 - yi ** 2) ** 2 / (ni - 1)
                elif vtype == "AV":
                    vi = (1 - _wmean(yi, ni) ** 2) ** 2 / (ni - 1)
                else:  # UB, UCOR only
                    vi = yi ** 2 - (1 - (ni - 3) / (ni - 2) * (1 - ri ** 2)
                                    * _hyp2f1(1.0, 1.0, ni / 2, 1 - ri ** 2))
            extra = {"ri": ri.copy(), "ni": ni.copy()}
        elif measure in RATE_CONTRAST_MEASURES:
            x1, t1, x2, t2 = a["x1i"], a["t1i"], a["x2i"], a["t2i"]
            check_nonnegative(x1, "x1i", lab)
            check_nonnegative(x2, "x2i", lab)
            check_positive(t1, "t1i", lab, what="(person-time)")
            check_positive(t2, "t2i", lab, what="(person-time)")
            if drop00:
                dropped = (x1 == 0) & (x2 == 0)
            (c1, c2), corrected = correct_cells([x1, x2], add, to, ~dropped)
            _warn_corrected(corrected, (x1 == 0) | (x2 == 0), add, to, lab)
            r1, r2 = c1 / t1, c2 / t2
            if measure == "IRR":
                yi, vi = np.log(r1) - np.log(r2), 1 / c1 + 1 / c2
            elif measure == "IRD":
                yi, vi = r1 - r2, r1 / t1 + r2 / t2
            else:  # IRSD
                yi, vi = np.sqrt(r1) - np.sqrt(r2), 1 / (4 * t1) + 1 / (4 * t2)
            extra = {"x1i": x1.copy(), "t1i": t1.copy(), "x2i": x2.copy(), "t2i": t2.copy()}
        elif measure == "SMDH":
            m1, s1, n1, m2, s2, n2 = (a[x] for x in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))
            for arr, nm in ((s1, "sd1i"), (s2, "sd2i"), (n1, "n1i"), (n2, "n2i")):
                check_positive(arr, nm, lab)
            mi = n1 + n2 - 2
            j = first_index((mi < 2) | (n1 < 2) | (n2 < 2))
            if j is not None:
                raise study_error(lab, j, "n1i", "the SMDH needs at least 2 participants per group and 4 in all")
            c = _cm(mi)
            s2sum = s1 ** 2 + s2 ** 2
            yi = c * (m1 - m2) / np.sqrt(s2sum / 2)
            if vtype == "LS":
                vi = c ** 2 * (yi ** 2 * (s1 ** 4 / (n1 - 1) + s2 ** 4 / (n2 - 1)) / (2 * s2sum ** 2)
                               + (s1 ** 2 / (n1 - 1) + s2 ** 2 / (n2 - 1)) / (s2sum / 2))
            else:  # LS2
                vi = (yi ** 2 * s1 ** 2 / (2 * n1 * s2sum ** 2) + yi ** 2 * s2 ** 2 / (2 * n2 * s2sum ** 2)
                      + 2 * s1 ** 2 / (n1 * s2sum) + 2 * s2 ** 2 / (n2 * s2sum))
            extra = {"m1i": m1.copy(), "sd1i": s1.copy(), "n1i": n1.copy(), "m2i": m2.copy(), "sd2i": s2.copy(),
                     "n2i": n2.copy()}
        else:  # change scores
            m1, m2, s1, ni, ri = a["m1i"], a["m2i"], a["sd1i"], a["ni"], a["ri"]
            sd2 = a.get("sd2i")
            check_positive(s1, "sd1i", lab)
            if sd2 is not None:
                check_positive(sd2, "sd2i", lab)
            check_positive(ni, "ni", lab)
            j = first_index(np.abs(ri) > 1)
            if j is not None:
                raise study_error(lab, j, "ri", f"correlation ri ({ri[j]:g}) is outside [-1, 1]")
            if measure != "MC":
                j = first_index(ni < 3)
                if j is not None:
                    raise study_error(lab, j, "ni", f"the {measure} needs ni >= 3, got {ni[j]:g}")
            c = _cm(ni - 1)
            if measure == "MC":
                assert sd2 is not None
                yi = m1 - m2
                vi = (s1 ** 2 + sd2 ** 2 - 2 * ri * s1 * sd2) / ni
            elif measure == "SMCC":
                assert sd2 is not None
                d = (m1 - m2) / np.sqrt(s1 ** 2 + sd2 ** 2 - 2 * ri * s1 * sd2)
                yi = c * d
                vi = 1 / ni + yi ** 2 / (2 * ni) if vtype == "LS" else c ** 2 * (1 / ni + d ** 2 / (2 * ni))
            elif measure == "SMCR":
                d = (m1 - m2) / s1
                yi = c * d
                vi = (2 * (1 - ri) / ni + yi ** 2 / (2 * ni) if vtype == "LS"
                      else c ** 2 * (2 * (1 - ri) / ni + d ** 2 / (2 * ni)))
            else:  # SMCRH
                assert sd2 is not None
                yi = c * (m1 - m2) / s1
                vi = c ** 2 * ((s1 ** 2 + sd2 ** 2 - 2 * ri * s1 * sd2) / (s1 ** 2 * (ni - 1)) + yi ** 2 / (2 * (ni - 1)))
            extra = {"m1i": m1.copy(), "m2i": m2.copy(), "sd1i": s1.copy()} | \
                ({"sd2i": sd2.copy()} if sd2 is not None else {}) | {"ni": ni.copy(), "ri": ri.copy()}
    yi = np.where(dropped, np.nan, np.asarray(yi, float))
    vi = np.where(dropped, np.nan, np.asarray(vi, float))
    out = {"yi": yi, "vi": vi, **extra, "corrected": corrected, "dropped": dropped}
    if strict:
        check_defined(measure, out, lab)
        return out
    bad = ~dropped & (~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0))
    return {**out, "yi": np.where(bad, np.nan, yi), "vi": np.where(bad, np.nan, vi)}


def check_defined(measure: str, out: dict[str, np.ndarray], lab: list[str] | None) -> None:
    """Raise, naming the first study, where an effect of ``out`` (from :func:`compute`) is undefined or
    infinite or its sampling variance is not positive (metafor would return NA)."""
    yi, vi = out["yi"], out["vi"]
    bad = ~np.asarray(out["dropped"], bool) & (~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0))
    j = first_index(bad)
    if j is not None:
        extra = {n: v for n, v in out.items() if n not in ("yi", "vi", "corrected", "dropped")}
        given = ", ".join(f"{n}={v[j]:g}" for n, v in extra.items())
        hint = ""
        if measure in PROPORTION_MEASURES + RATE_MEASURES + RATE_CONTRAST_MEASURES:
            hint = "; use add > 0 with to='only0'" + (", or drop00=True" if measure in RATE_CONTRAST_MEASURES else "")
        raise study_error(lab, j, _INPUTS[measure][0],
                          f"the {NAMES[measure]} is undefined or infinite, or its sampling variance is not "
                          f"positive ({given}){hint}")


def revise_vi(measure: str, vtype: str, out: dict[str, Any], add: float) -> np.ndarray:
    """The sampling variances of an OR/RR/RD/PETO/MD/SMD/ROM frame under another ``vtype``.

    ``out`` holds the frame's columns (arm data, ``corrected``, ``dropped``,
    ``yi``); the effects themselves do not change.
    """
    if measure == "RD":
        inc = np.where(out["corrected"], add, 0.0)
        a, b, c, d = (np.asarray(out[x], float) + inc for x in ("ai", "bi", "ci", "di"))
        n1, n2 = a + b, c + d
        p1, p2 = a / n1, c / n2
        use = ~np.asarray(out["dropped"], bool)
        if vtype == "UB":
            with np.errstate(divide="ignore", invalid="ignore"):
                vi = p1 * (1 - p1) / (n1 - 1) + p2 * (1 - p2) / (n2 - 1)
        else:  # AV
            q1, q2 = _wmean(np.where(use, p1, np.nan), n1), _wmean(np.where(use, p2, np.nan), n2)
            vi = q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2
        return np.where(use, vi, np.nan)
    m1, s1, n1, m2, s2, n2 = (np.asarray(out[x], float) for x in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))
    mi = n1 + n2 - 2
    sp2 = ((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / mi
    if measure == "MD":  # UB is LS for the MD
        return sp2 * (1 / n1 + 1 / n2) if vtype == "HO" else s1 ** 2 / n1 + s2 ** 2 / n2
    if measure == "SMD":
        yi = np.asarray(out["yi"], float)
        c = _cm(mi)
        if vtype == "UB":
            return 1 / n1 + 1 / n2 + (1 - (mi - 2) / (mi * c ** 2)) * yi ** 2
        if vtype == "AV":
            return 1 / n1 + 1 / n2 + _wmean(yi, n1 + n2) ** 2 / (2 * (n1 + n2))
        d = (m1 - m2) / np.sqrt(sp2)
        return c ** 2 * (1 / n1 + 1 / n2 + d ** 2 / (2 * (n1 + n2)))   # LS2
    # ROM
    if vtype == "HO":
        return sp2 / (n1 * m1 ** 2) + sp2 / (n2 * m2 ** 2)
    if vtype == "AV":
        return _wmean(s1 / m1, n1) ** 2 / n1 + _wmean(s2 / m2, n2) ** 2 / n2
    cv = (np.sum(n1 * s1 / m1) + np.sum(n2 * s2 / m2)) / np.sum(n1 + n2)   # AVHO
    return cv ** 2 * (1 / n1 + 1 / n2)
