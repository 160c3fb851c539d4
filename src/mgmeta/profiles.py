"""Software-convention profiles: RevMan 5, RevMan (web) 2025, metafor, R meta, Stata metan.

A published meta-analysis was computed by some program with that program's
defaults. A *profile* is a named, versioned bundle of those defaults (the tau²
estimator and, for Mantel-Haenszel data, the Q it is computed from; the
confidence and prediction intervals; how I² is computed; the zero-cell rules;
the SMD formula; the MH risk-difference variance; the Egger and trim-and-fill
variants), each with the manual page, handbook section or release note it comes
from. The table itself is data, shipped as ``profiles.csv`` beside this module
and printed by :func:`profiles`.

:func:`apply_profile` runs one analysis under a profile; it is what
``mgmeta.meta_analysis(..., profile="revman5")`` calls. The ``"metafor"`` profile
is the core engine itself, unchanged.

References
----------
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5.
https://training.cochrane.org/handbook/statistical-methods-revman5
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin
Trials 7:177-188. doi:10.1016/0197-2456(86)90046-2
Harris RJ, Bradburn MJ, Deeks JJ, Harbord RM, Altman DG, Sterne JAC (2008).
metan: fixed- and random-effects meta-analysis. Stata J 8(1):3-28.
doi:10.1177/1536867X0800800102
Hartung J, Knapp G (2001). doi:10.1002/sim.791
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression
with a single covariate. Stat Med 22:2693-2710. doi:10.1002/sim.1482
Veroniki AA et al. (2019). Res Synth Methods 10:23-43. doi:10.1002/jrsm.1319
White IR, Thomas J (2005). Clin Trials 2:141-151. doi:10.1191/1740774505cn081oa
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mgmeta._validation import (
    as_vector,
    check_choice,
    check_lengths,
    check_level,
    check_positive,
    effect_inputs,
    resolve_labels,
    study_name,
)
from mgmeta.effects import hedges_correction
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.estimators import METHODS
from mgmeta.models import TESTS, MetaAnalysisResult, fit_arrays

__all__ = [
    "Profile",
    "PROFILE_NAMES",
    "SETTINGS",
    "NUMERIC_SETTINGS",
    "profiles",
    "get_profile",
    "apply_profile",
    "study_effects",
]

PROFILE_NAMES = ("revman5", "revman_web_2025", "metafor", "meta", "stata_metan")
_TAU2 = ("DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")

#: Every setting of a profile: (meaning, allowed values or None for free text / numbers).
SETTINGS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "software": ("program and version whose defaults the profile reproduces", None),
    "tau2_method": ("default tau² estimator of the random-effects model", _TAU2),
    "tau2_methods": ("tau² estimators the program offers ('|'-separated)", None),
    "binary_pooling": ("pooling of 2x2 tables in the fixed-effect model: Mantel-Haenszel or inverse variance",
                       ("MH", "IV")),
    "mh_q": ("Q for Mantel-Haenszel data (reported, and used by the DL tau²): around the MH estimate ('mh'), "
             "around the MH estimate only when tau² is DL ('mh_if_dl'), or the inverse-variance Q ('iv')",
             ("mh", "mh_if_dl", "iv")),
    "ci_method": ("confidence interval of the random-effects mean: Wald z, Hartung-Knapp-Sidik-Jonkman t(k-1), "
                  "or HKSJ with the ad hoc correction max(1, q) of Knapp & Hartung (2003)",
                  ("z", "hksj", "hksj_adhoc")),
    "ci_methods": ("confidence-interval methods the program offers ('|'-separated)", None),
    "pi_method": ("prediction interval: none, z, t with k-1 or k-2 df (with the usual standard error), or "
                  "metafor's predict() (the CI's distribution and standard error)",
                  ("none", "z", "t_k1", "t_k2", "ci")),
    "i2_method": ("I² (and H²) of the random-effects model from Q, 100 (Q - df) / Q, or from tau², "
                  "100 tau² / (tau² + typical within-study variance)", ("q", "tau2")),
    "cc_add": ("continuity correction added to the cells of 2x2 tables", None),
    "cc_to": ("which tables get the correction: those with a zero cell, all, all if any has a zero cell, none",
              ("only0", "all", "if0all", "none")),
    "double_zero": ("studies with no events (OR: or only events) in both arms: dropped (OR, RR) or kept "
                    "with the correction", ("drop", "keep")),
    "cc_in_mh": ("whether the correction also enters the Mantel-Haenszel estimate", ("true", "false")),
    "rr_cc": ("risk ratio of a corrected table: 0.5 added to all four cells (n + 1, RR.Cochrane) or to the "
              "events and n only (n + 0.5)", ("four_cells", "events")),
    "rd_cc": ("risk difference of a corrected table: correction in estimate and variance, or in the variance "
              "only", ("estimate_and_variance", "variance_only")),
    "smd": ("standardised mean difference: Hedges' g with the exact correction and variance "
            "1/n1 + 1/n2 + g²/(2N) (metafor), exact with the unbiased variance (White & Thomas 2005), or "
            "RevMan's approximation g = d (1 - 3/(4N - 9)), var = N/(n1 n2) + g²/(2 (N - 3.94))",
            ("hedges_exact_ls", "hedges_exact_ub", "hedges_approx")),
    "mh_rd_variance": ("variance of the MH risk difference: Greenland-Robins (1985) or Sato-Greenland-Robins "
                       "(1989)", ("gr", "sgr")),
    "tau2_ci": ("confidence interval for tau²", ("none", "qprofile")),
    "egger": ("Egger-type test: none, metafor's regtest (mixed-effects model with sei, z test), or the "
              "classic weighted linear regression with multiplicative dispersion (t test)",
              ("none", "regtest_rma", "egger_lm")),
    "trimfill": ("trim-and-fill estimator of the number of missing studies", ("none", "L0")),
}

#: Settings that change the numbers of ``meta_analysis`` (those :func:`mgmeta.reproduce` varies).
NUMERIC_SETTINGS = ("tau2_method", "binary_pooling", "mh_q", "ci_method", "pi_method", "i2_method", "cc_add",
                    "cc_to", "double_zero", "cc_in_mh", "rr_cc", "rd_cc", "smd", "mh_rd_variance")

_BINARY_ARMS = ("OR", "RR", "RD")


# --------------------------------------------------------------------------
# the profiles as data
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """One named bundle of software conventions (see :data:`SETTINGS` for each field).

    Attributes
    ----------
    name : str
        Profile name, e.g. ``"revman5"``; a profile derived with
        :meth:`with_settings` is named ``"revman5+tau2_method=REML"``.
    sources : tuple of (setting, source) pairs
        Where each choice is documented (not compared by ``==``).
    """

    name: str
    software: str
    tau2_method: str
    tau2_methods: tuple[str, ...]
    binary_pooling: str
    mh_q: str
    ci_method: str
    ci_methods: tuple[str, ...]
    pi_method: str
    i2_method: str
    cc_add: float
    cc_to: str
    double_zero: str
    cc_in_mh: bool
    rr_cc: str
    rd_cc: str
    smd: str
    mh_rd_variance: str
    tau2_ci: str
    egger: str
    trimfill: str
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def source(self, setting: str) -> str:
        """Where ``setting`` of this profile is documented."""
        return dict(self.sources).get(setting, "")

    def value(self, setting: str) -> Any:
        """The value of ``setting`` (as stored: tuples, floats and bools are typed)."""
        if setting not in SETTINGS:
            raise DataError(f"unknown profile setting {setting!r}; expected one of {', '.join(SETTINGS)}",
                            field="setting")
        return getattr(self, setting)

    def with_settings(self, name: str | None = None, **changes: Any) -> Profile:
        """A copy with some settings changed (validated), named ``name`` or ``"<name>+<setting>=<value>"``.

        A changed ``tau2_method`` is added to ``tau2_methods`` and a changed
        ``ci_method`` to ``ci_methods``, so that the derived profile uses them.
        """
        parsed = {}
        for key, val in changes.items():
            if key not in SETTINGS or key == "software":
                raise DataError(f"unknown or fixed profile setting {key!r}", field=key)
            parsed[key] = _parse_value(key, val if isinstance(val, str) else setting_text(val))
        changes = parsed
        new = dataclasses.replace(self, **changes)
        if new.tau2_method not in new.tau2_methods:
            new = dataclasses.replace(new, tau2_methods=new.tau2_methods + (new.tau2_method,))
        if new.ci_method not in new.ci_methods:
            new = dataclasses.replace(new, ci_methods=new.ci_methods + (new.ci_method,))
        if name is None:
            name = self.name + "".join(f"+{k}={setting_text(v)}" for k, v in changes.items())
        return dataclasses.replace(new, name=name)


def setting_text(value: Any) -> str:
    """A profile setting as written in profiles.csv (booleans lower-case, tuples joined by '|')."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "|".join(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _parse_value(setting: str, text: str) -> Any:
    meaning, allowed = SETTINGS[setting]
    if setting in ("tau2_methods", "ci_methods"):
        parts = tuple(p.strip() for p in str(text).split("|") if p.strip())
        ok = _TAU2 if setting == "tau2_methods" else SETTINGS["ci_method"][1]
        for p in parts:
            check_choice(p, ok or (), setting)
        return parts
    if setting == "cc_add":
        try:
            val = float(text)
        except (TypeError, ValueError):
            raise DataError(f"cc_add must be a non-negative number, got {text!r}", field=setting) from None
        if not np.isfinite(val) or val < 0:
            raise DataError(f"cc_add must be a non-negative number, got {text!r}", field=setting)
        return val
    if allowed is not None:
        check_choice(str(text), allowed, setting)
    if setting == "cc_in_mh":
        return str(text) == "true"
    return str(text)


@functools.lru_cache(maxsize=1)
def _table() -> tuple[tuple[str, str, str, str], ...]:
    text = resources.files("mgmeta").joinpath("profiles.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    if rows[0] != ["profile", "setting", "value", "source"]:
        raise DataError(f"profiles.csv has an unexpected header: {rows[0]}")
    return tuple((r[0], r[1], r[2], r[3]) for r in rows[1:] if r)


@functools.lru_cache(maxsize=None)
def _profiles() -> dict[str, Profile]:
    by: dict[str, dict[str, tuple[str, str]]] = {}
    for prof, setting, value, source in _table():
        if setting not in SETTINGS:
            raise DataError(f"profiles.csv: profile {prof!r} has an unknown setting {setting!r}")
        by.setdefault(prof, {})[setting] = (value, source)
    out = {}
    for prof, entries in by.items():
        missing = [s for s in SETTINGS if s not in entries]
        if missing:
            raise DataError(f"profiles.csv: profile {prof!r} lacks {', '.join(missing)}")
        empty = [s for s, (_, src) in entries.items() if not src.strip()]
        if empty:
            raise DataError(f"profiles.csv: profile {prof!r} has no source for {', '.join(empty)}")
        kw = {s: _parse_value(s, v) for s, (v, _) in entries.items()}
        out[prof] = Profile(name=prof, sources=tuple((s, src) for s, (_, src) in entries.items()), **kw)
    return out


def get_profile(name: str | Profile) -> Profile:
    """The :class:`Profile` called ``name`` (one of :data:`PROFILE_NAMES`); a Profile is returned as is."""
    if isinstance(name, Profile):
        return name
    table = _profiles()
    if not isinstance(name, str) or name not in table:
        raise DataError(f"unknown profile {name!r}; expected one of {', '.join(repr(p) for p in table)}",
                        field="profile")
    return table[name]


def profiles(wide: bool = False) -> pd.DataFrame:
    """The table of software profiles, each choice with its source.

    Parameters
    ----------
    wide : bool
        False (default): one row per profile and setting, columns
        ``profile software setting value meaning source``. True: one row per
        setting, one column per profile (values only).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> from mgmeta.profiles import profiles
    >>> tab = profiles(wide=True)
    >>> tab.loc["tau2_method", ["revman5", "revman_web_2025", "metafor", "meta", "stata_metan"]].tolist()
    ['DL', 'REML', 'REML', 'REML', 'DL']
    """
    rows = []
    soft = {p: v for p, s, v, _ in _table() if s == "software"}
    for prof, setting, value, source in _table():
        if setting == "software":
            continue
        rows.append({"profile": prof, "software": soft[prof], "setting": setting, "value": value,
                     "meaning": SETTINGS[setting][0], "source": source})
    long = pd.DataFrame(rows, columns=["profile", "software", "setting", "value", "meaning", "source"])
    if not wide:
        return long
    w = long.pivot(index="setting", columns="profile", values="value")
    order = [s for s in SETTINGS if s != "software"]
    return w.loc[order, [p for p in PROFILE_NAMES if p in w.columns]]


# --------------------------------------------------------------------------
# study-level effect sizes under a profile
# --------------------------------------------------------------------------

def _correction(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, keep: np.ndarray,
                prof: Profile) -> np.ndarray:
    """The amount added to each table's cells under the profile's rule (0 for dropped tables)."""
    zero = keep & ((a == 0) | (b == 0) | (c == 0) | (d == 0))
    if prof.cc_add == 0 or prof.cc_to == "none":
        which = np.zeros(a.shape, bool)
    elif prof.cc_to == "only0":
        which = zero
    elif prof.cc_to == "all":
        which = keep.copy()
    else:  # if0all
        which = keep & bool(zero.any())
    return np.where(which, prof.cc_add, 0.0)


def _dropped(measure: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray,
             prof: Profile) -> np.ndarray:
    if prof.double_zero == "keep" or measure == "RD":
        return np.zeros(a.shape, bool)
    if measure == "OR":
        return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    return (a == 0) & (c == 0)  # RR: all events in both arms still has a ratio (1)


def study_effects(measure: str, profile: str | Profile, *, ai: Any = None, bi: Any = None, ci: Any = None,
                  di: Any = None, m1i: Any = None, sd1i: Any = None, n1i: Any = None, m2i: Any = None,
                  sd2i: Any = None, n2i: Any = None) -> pd.DataFrame:
    """Study-level effect sizes computed with a profile's conventions.

    Parameters
    ----------
    measure : {"OR", "RR", "RD", "SMD"}
    profile : str or Profile
    ai, bi, ci, di : array_like, shape (k,)
        2x2 counts (binary measures).
    m1i, sd1i, n1i, m2i, sd2i, n2i : array_like, shape (k,)
        Means, SDs and sizes (SMD).

    Returns
    -------
    DataFrame
        Columns ``yi vi keep correction`` (``keep`` False for a double-zero
        study the profile drops; ``correction`` the amount added to its cells).

    Notes
    -----
    With i the correction of a table (``cc_add`` for the tables ``cc_to``
    selects, 0 otherwise): OR: log((a+i)(d+i) / ((b+i)(c+i))), variance the sum of
    the reciprocal corrected cells. RR, ``rr_cc="four_cells"``:
    log((a+i)/(n1+2i)) - log((c+i)/(n2+2i)), variance
    1/(a+i) - 1/(n1+2i) + 1/(c+i) - 1/(n2+2i); ``"events"`` (R meta's default):
    n + i instead of n + 2i, and no correction of the events in the variance of
    a study with only events in both arms. RD: a/n1 - c/n2 (``"variance_only"``)
    or from the corrected cells, variance (a+i)(b+i)/(n1+2i)³ + (c+i)(d+i)/(n2+2i)³.
    SMD: d = (m1 - m2)/s_pooled, N = n1 + n2, m = N - 2; ``hedges_approx``
    g = d (1 - 3/(4N - 9)), var = N/(n1 n2) + g²/(2(N - 3.94)) (RevMan 5);
    ``hedges_exact_ls`` g = c(m) d, var = 1/n1 + 1/n2 + g²/(2N) (metafor);
    ``hedges_exact_ub`` g = c(m) d, var = 1/n1 + 1/n2 + g² (1 - (m - 2)/(m c(m)²))
    (R meta since 5.1). Rows that are not kept have NaN yi and vi.

    Examples
    --------
    A study with no events in the control arm, as RevMan 5 and R meta compute its
    log risk ratio:

    >>> from mgmeta.profiles import study_effects
    >>> round(float(study_effects("RR", "revman5", ai=[3], bi=[17], ci=[0], di=[30]).yi[0]), 6)
    2.335375
    >>> round(float(study_effects("RR", "meta", ai=[3], bi=[17], ci=[0], di=[30]).yi[0]), 6)
    2.343212
    """
    prof = get_profile(profile)
    if measure in _BINARY_ARMS:
        arr = {n: as_vector(v, n) for n, v in dict(ai=ai, bi=bi, ci=ci, di=di).items() if v is not None}
        if len(arr) != 4:
            raise DataError(f"measure {measure!r} needs ai, bi, ci and di", field="ai")
        check_lengths(arr)
        yi, vi, keep, inc = _binary_effects(measure, arr["ai"], arr["bi"], arr["ci"], arr["di"], prof)
        return pd.DataFrame({"yi": yi, "vi": vi, "keep": keep, "correction": inc})
    if measure == "SMD":
        arr = {n: as_vector(v, n) for n, v in dict(m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i,
                                                     n2i=n2i).items() if v is not None}
        if len(arr) != 6:
            raise DataError("measure 'SMD' needs m1i, sd1i, n1i, m2i, sd2i and n2i", field="m1i")
        k = check_lengths(arr)
        yi, vi = _smd_effects(prof.smd, **arr)
        return pd.DataFrame({"yi": yi, "vi": vi, "keep": np.ones(k, bool), "correction": np.zeros(k)})
    raise DataError(f"study_effects handles 'OR', 'RR', 'RD' and 'SMD', not {measure!r}", field="measure")


def _binary_effects(measure: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray,
                    prof: Profile) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    keep = ~_dropped(measure, a, b, c, d, prof)
    inc = _correction(a, b, c, d, keep, prof)
    n1, n2 = a + b, c + d
    A, B, C, D = a + inc, b + inc, c + inc, d + inc
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(A) + np.log(D) - np.log(B) - np.log(C)
            vi = 1 / A + 1 / B + 1 / C + 1 / D
        elif measure == "RR":
            if prof.rr_cc == "four_cells":
                yi = np.log(A / (n1 + 2 * inc)) - np.log(C / (n2 + 2 * inc))
                vi = 1 / A - 1 / (n1 + 2 * inc) + 1 / C - 1 / (n2 + 2 * inc)
            else:
                allev = (a == n1) & (c == n2)
                yi = np.log(A / (n1 + inc)) - np.log(C / (n2 + inc))
                ev = np.where(allev, 0.0, inc)
                vi = 1 / (a + ev) - 1 / (n1 + inc) + 1 / (c + ev) - 1 / (n2 + inc)
        else:  # RD
            N1, N2 = n1 + 2 * inc, n2 + 2 * inc
            yi = A / N1 - C / N2 if prof.rd_cc == "estimate_and_variance" else a / n1 - c / n2
            vi = A * B / N1 ** 3 + C * D / N2 ** 3
    yi = np.where(keep, yi, np.nan)
    vi = np.where(keep, vi, np.nan)
    return yi, vi, keep, inc


def _smd_effects(kind: str, *, m1i: np.ndarray, sd1i: np.ndarray, n1i: np.ndarray, m2i: np.ndarray,
                 sd2i: np.ndarray, n2i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    N = n1i + n2i
    m = N - 2
    if np.any(m < 2):
        j = int(np.flatnonzero(m < 2)[0])
        raise DataError(f"study at position {j}: the SMD needs at least 4 participants in all "
                        f"(n1i + n2i = {N[j]:g})", study=j, field="n1i")
    sp = np.sqrt(((n1i - 1) * sd1i ** 2 + (n2i - 1) * sd2i ** 2) / m)
    dd = (m1i - m2i) / sp
    if kind == "hedges_approx":
        g = dd * (1 - 3 / (4 * N - 9))
        return g, N / (n1i * n2i) + g ** 2 / (2 * (N - 3.94))
    cm = hedges_correction(m)
    g = cm * dd
    if kind == "hedges_exact_ls":
        return g, 1 / n1i + 1 / n2i + g ** 2 / (2 * N)
    return g, 1 / n1i + 1 / n2i + g ** 2 * (1 - (m - 2) / (m * cm ** 2))


# --------------------------------------------------------------------------
# Mantel-Haenszel pooling under a profile
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _MH:
    estimate: float
    se: float
    weights: np.ndarray  # over the pooled tables, percent


def _mh_pool(measure: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, inc: np.ndarray,
             prof: Profile) -> _MH:
    """Mantel-Haenszel estimate of the kept tables (corrected when ``cc_in_mh``)."""
    from mgmeta.binary import (  # the kernels of mgmeta.binary, on corrected tables
        _mh_or,
        _mh_rd,
        _mh_rr,
    )

    i = inc if prof.cc_in_mh else np.zeros(a.shape)
    A, B, C, D = a + i, b + i, c + i, d + i
    N = A + B + C + D
    if measure in ("OR", "RR"):
        R, S, est, se = (float(x) for x in (_mh_or if measure == "OR" else _mh_rr)(A, B, C, D))
        if not (R > 0 and S > 0):
            raise DataError(f"the Mantel-Haenszel {'odds' if measure == 'OR' else 'risk'} ratio is undefined: "
                            f"no table has events in group {'1' if R == 0 else '2'}", field="ai" if R == 0 else "ci")
        w = B * C / N if measure == "OR" else C * (A + B) / N
    else:
        n1, n2 = A + B, C + D
        w = n1 * n2 / N
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = a / (a + b) - c / (c + d)
        est = float(np.sum(w * raw) / np.sum(w))
        var = float(_mh_rd(A, B, C, D, prof.mh_rd_variance)[2])
        if not var > 0:
            raise DataError("the variance of the Mantel-Haenszel risk difference is 0 (no table has events, or "
                            "every participant had the event)", field="ai")
        se = float(np.sqrt(var))
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        raise DataError(f"the Mantel-Haenszel {measure} could not be computed (estimate {est!r}, se {se!r})",
                        field="ai")
    return _MH(estimate=est, se=se, weights=100 * w / w.sum())


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Input:
    yi: np.ndarray
    vi: np.ndarray
    labels: list[str] | None
    measure: str | None
    frame: pd.DataFrame | None
    arms: dict[str, np.ndarray] | None  # ai bi ci di, or m1i sd1i n1i m2i sd2i n2i (all rows)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in frame.columns:
        return None
    col = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    return None if np.isnan(col).any() else col


def _inputs(yi: Any, vi: Any, sei: Any, labels: Any, measure: str | None) -> _Input:
    if isinstance(yi, pd.DataFrame):
        frame = yi
        if vi is not None or sei is not None:
            raise DataError("give either a frame from effect_sizes() or yi with vi/sei, not both")
        measure = measure or frame.attrs.get("measure")
        lab = [str(x) for x in frame["study"]] if "study" in frame.columns else None
        if labels is not None:
            lab = resolve_labels(labels, len(frame))
        arms = None
        if measure in _BINARY_ARMS + ("PETO",):
            a, c = _column(frame, "ai"), _column(frame, "ci")
            b, d = _column(frame, "bi"), _column(frame, "di")
            n1, n2 = _column(frame, "n1i"), _column(frame, "n2i")
            if a is not None and c is not None:
                if b is None and n1 is not None:
                    b = n1 - a
                if d is None and n2 is not None:
                    d = n2 - c
                if b is not None and d is not None:
                    arms = {"ai": a, "bi": b, "ci": c, "di": d}
        elif measure == "SMD":
            cols = {n: _column(frame, n) for n in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
            if all(v is not None for v in cols.values()):
                arms = {n: v for n, v in cols.items() if v is not None}
        if arms is not None:
            k = len(frame)
            return _Input(np.full(k, np.nan), np.full(k, np.nan), lab, measure, frame.copy(), arms)
        for col in ("yi", "vi"):
            if col not in frame.columns:
                raise DataError(f"the data frame has no column {col!r}; build it with mgmeta.effect_sizes()",
                                field=col)
        keep = np.ones(len(frame), bool)
        if "dropped" in frame.columns:
            keep = ~frame["dropped"].to_numpy(dtype=bool)
        y = frame["yi"].to_numpy(dtype=float)[keep]
        v = frame["vi"].to_numpy(dtype=float)[keep]
        lab = [x for x, k_ in zip(lab, keep) if k_] if lab is not None else [str(i) for i in np.flatnonzero(keep)]
        if len(y) == 0:
            raise DataError("empty input: no study has an effect size")
        y = as_vector(y, "yi", lab)
        v = as_vector(v, "vi", lab)
        check_positive(v, "vi", lab)
        return _Input(y, v, lab, measure, frame.copy(), None)
    y, v, lab = effect_inputs(yi, vi, sei, labels)
    return _Input(y, v, lab, measure, None, None)


# --------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------

def _q_is_mh(prof: Profile, tau2_method: str) -> bool:
    return prof.mh_q == "mh" or (prof.mh_q == "mh_if_dl" and tau2_method == "DL")


def _het_from_q(q: float, df: int) -> tuple[float, float, float]:
    """p-value, I² (percent) and H² of a Q statistic."""
    if df < 1:
        return 1.0, 0.0, 1.0
    p = float(stats.chi2.sf(q, df))
    i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
    return p, i2, q / df


def apply_profile(profile: str | Profile, yi: Any, vi: Any = None, *, method: str = "REML", test: str = "z",
                  level: float = 0.95, labels: Any = None, sei: Any = None, measure: str | None = None,
                  tau2: float | None = None) -> MetaAnalysisResult:
    """Fit a fixed- or random-effects model with a program's conventions.

    This is what ``mgmeta.meta_analysis(..., profile=...)`` calls for every
    profile but ``"metafor"``; the arguments are those of
    :func:`mgmeta.meta_analysis`.

    Parameters
    ----------
    profile : str or Profile
        One of ``"revman5"``, ``"revman_web_2025"``, ``"metafor"``, ``"meta"``,
        ``"stata_metan"``, or a :class:`Profile` (e.g. one derived with
        :meth:`Profile.with_settings`).
    yi : DataFrame or array_like
        The frame from :func:`mgmeta.effect_sizes` (arm data are then
        re-analysed with the profile's zero-cell and SMD rules), or effect sizes.
    vi, sei : array_like, optional
        Sampling variances or standard errors of raw ``yi``.
    method : str
        "EE"/"FE" for the fixed-effect model (Mantel-Haenszel for 2x2 data when
        the profile pools binary data that way), else the tau² estimator. An
        estimator the program does not offer is replaced by the profile's
        default, with a warning.
    test : {"z", "knha"}
        "knha" asks for the Hartung-Knapp-Sidik-Jonkman interval where the
        program offers it; otherwise the profile's interval is used.
    level : float
        Confidence level.
    labels, measure : optional
        As in :func:`mgmeta.meta_analysis`.
    tau2 : float, optional
        Fix tau² instead of estimating it.

    Returns
    -------
    MetaAnalysisResult
        With ``profile`` set to the profile's name. ``q`` is the profile's Q
        (around the Mantel-Haenszel estimate for MH data under RevMan 5 and
        metan), ``i2``/``h2`` follow ``i2_method``, ``pi_lower``/``pi_upper``
        are None when the program gives no prediction interval, ``yi``/``vi``
        are the profile's study-level effects of the studies analysed.

    Raises
    ------
    DataError
        Invalid input or profile; an undefined Mantel-Haenszel estimate.

    Warns
    -----
    MgmetaWarning
        Estimator or interval not offered by the program; one study only.

    Notes
    -----
    Random effects for 2x2 data under ``mh_q="mh"`` (RevMan 5, metan): with
    the study-level effects y_i, v_i (continuity-corrected, double-zero
    studies dropped) and the Mantel-Haenszel estimate mu_MH (0.5 added to
    the cells of tables with a zero cell when ``cc_in_mh``),
    Q_MH = sum (y_i - mu_MH)² / v_i, tau² = max(0, (Q_MH - (k - 1)) /
    (sum w_i - sum w_i² / sum w_i)) with w_i = 1/v_i, and the mean is the
    inverse-variance average with weights 1/(v_i + tau²), with a Wald z
    interval. I² = 100 (Q - df)/Q from that Q. The HKSJ interval multiplies
    the variance of the mean by q = sum w*_i (y_i - mu)² / (k - 1) and uses
    t(k - 1); the ad hoc version uses max(1, q) (Knapp & Hartung 2003). The
    prediction interval is mu ± t sqrt(se² + tau²) with the classic se.

    Examples
    --------
    BCG vaccine trials (Colditz et al. 1994), log risk ratios: RevMan 5 takes
    the DerSimonian-Laird tau² from the Q around the Mantel-Haenszel estimate.

    >>> import mgmeta
    >>> es = mgmeta.effect_sizes(
    ...     "RR", ai=[4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    ...     bi=[119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    ...     ci=[11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    ...     di=[128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
    >>> res = mgmeta.meta_analysis(es, method="DL", profile="revman5")
    >>> round(res.q, 4), round(res.tau2, 4), res.pi_lower is None
    (152.5676, 0.3095, True)
    """
    if isinstance(profile, str) and profile == "metafor":
        from mgmeta.models import meta_analysis
        return meta_analysis(yi, vi, method=method, test=test, level=level, labels=labels, sei=sei,
                             measure=measure, tau2=tau2)
    prof = get_profile(profile)
    check_choice(method, METHODS, "method")
    check_choice(test, TESTS, "test")
    lev = check_level(level)
    inp = _inputs(yi, vi, sei, labels, measure)
    meas = inp.measure
    random = method not in ("EE", "FE")
    if tau2 is not None:
        tau2 = float(tau2)
        if not np.isfinite(tau2) or tau2 < 0:
            raise DataError(f"tau2 must be a finite non-negative number, got {tau2!r}", field="tau2")

    # ---- study-level effects with the profile's rules -----------------------
    inc = None
    arms = inp.arms
    if arms is not None and meas in _BINARY_ARMS:
        a, b, c, d = (arms[n] for n in ("ai", "bi", "ci", "di"))
        _check_tables(a, b, c, d, inp.labels)
        y_all, v_all, keep, inc = _binary_effects(meas, a, b, c, d, prof)
    elif arms is not None and meas == "PETO":
        a, b, c, d = (arms[n] for n in ("ai", "bi", "ci", "di"))
        _check_tables(a, b, c, d, inp.labels)
        y_all, v_all, keep = _peto_effects(a, b, c, d)
    elif arms is not None:  # SMD
        _check_smd(arms, inp.labels)
        y_all, v_all = _smd_effects(prof.smd, **arms)
        keep = np.ones(len(y_all), bool)
    else:
        y_all, v_all, keep = inp.yi, inp.vi, np.ones(len(inp.yi), bool)
    lab_all = inp.labels if inp.labels is not None else [str(i + 1) for i in range(len(y_all))]
    bad = keep & (~np.isfinite(y_all) | ~np.isfinite(v_all) | ~(np.nan_to_num(v_all, nan=-1.0) > 0))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DataError(f"{study_name(lab_all, j)}: the {meas or 'effect'} is undefined or infinite under profile "
                        f"{prof.name!r} (cc_add={prof.cc_add:g}, cc_to={prof.cc_to!r})", study=lab_all[j],
                        field="ai" if arms is not None else "yi")
    if not keep.any():
        raise DataError(f"no study is left to pool under profile {prof.name!r} (all double-zero studies are "
                        "dropped)", field="ai")
    y, v = y_all[keep], v_all[keep]
    labs = tuple(x for x, k_ in zip(lab_all, keep) if k_)
    k = int(keep.sum())
    df = k - 1
    use_mh = arms is not None and meas in _BINARY_ARMS and prof.binary_pooling == "MH"
    mh = None
    if use_mh:
        assert arms is not None and meas is not None and inc is not None
        a, b, c, d = (arms[n][keep] for n in ("ai", "bi", "ci", "di"))
        mh = _mh_pool(meas, a, b, c, d, inc[keep], prof)
    q_mh = float(np.sum((y - mh.estimate) ** 2 / v)) if mh is not None and k > 1 else 0.0

    common = dict(yi=y.copy(), vi=v.copy(), labels=labs, measure=meas, data=inp.frame, level=lev,
                  method=method, k=k, profile=prof.name)
    z = float(stats.norm.isf((1 - lev) / 2))

    # ---- fixed effect --------------------------------------------------------
    if not random:
        if mh is not None:
            est, se, weights = mh.estimate, mh.se, mh.weights
            q = q_mh if _q_is_mh(prof, prof.tau2_method) else _q_iv(y, v)
        elif arms is not None and meas == "PETO":
            from mgmeta.binary import peto
            pr = peto(arms["ai"][keep], arms["bi"][keep], arms["ci"][keep], arms["di"][keep], level=lev,
                      labels=list(labs))
            est, se, weights, q = pr.estimate, pr.se, np.asarray(pr.weights, float), pr.q
        else:
            fa = fit_arrays(y, v, method="EE", test="z", level=lev)
            est, se, weights, q = float(fa.beta[0]), float(fa.se[0]), np.asarray(fa.weights, float), float(fa.q)
        qp, i2, h2 = _het_from_q(q, df)
        stat = est / se
        return MetaAnalysisResult(
            estimate=est, se=se, statistic=stat, pvalue=float(2 * stats.norm.sf(abs(stat))),
            ci_lower=est - z * se, ci_upper=est + z * se, pi_lower=None, pi_upper=None, tau2=0.0, se_tau2=None,
            i2=i2, h2=h2, q=q, q_pvalue=qp, test="z", df=None, weights=weights, iterations=0,
            vt=_typical_variance(v), s2w=1.0, **common)

    # ---- random effects -------------------------------------------------------
    est_method = method
    if est_method not in prof.tau2_methods:
        warnings.warn(f"profile {prof.name!r} ({prof.software}) offers the tau² estimator(s) "
                      f"{', '.join(prof.tau2_methods)}, not {method}; using {prof.tau2_method}",
                      MgmetaWarning, stacklevel=3)
        est_method = prof.tau2_method
    common["method"] = est_method          # the estimator actually used names the fit (header, .method)
    ci = prof.ci_method
    if test == "knha" and ci == "z":
        if "hksj" in prof.ci_methods:
            ci = "hksj"
        else:
            warnings.warn(f"profile {prof.name!r} ({prof.software}) offers no Hartung-Knapp interval; "
                          "using the Wald z interval", MgmetaWarning, stacklevel=3)
    if k < 2:
        warnings.warn(f"only one study: tau² cannot be estimated and is set to 0 (method {est_method})",
                      MgmetaWarning, stacklevel=3)
        if ci != "z":
            ci = "z"
    q_is_mh = mh is not None and _q_is_mh(prof, est_method)
    t2_fixed = tau2
    se_t2_known = tau2 is None
    if t2_fixed is None and q_is_mh and est_method == "DL":
        t2_fixed = _dl_from_q(q_mh, v)
        se_t2_known = False
    fa = fit_arrays(y, v, method=est_method, test="z", level=lev,
                    tau2=None if t2_fixed is None else t2_fixed)
    t2 = float(fa.tau2)
    est = float(fa.beta[0])
    se_z = float(fa.se[0])
    if ci == "z":
        se, crit, dist_df = se_z, z, None
        pval = float(2 * stats.norm.sf(abs(est / se)))
        test_out, s2w = "z", 1.0
    else:
        fk = fit_arrays(y, v, method=est_method, test="knha", level=lev, tau2=t2)
        s2w = float(fk.s2w)
        if ci == "hksj_adhoc":
            s2w = max(1.0, s2w)
        se = se_z * float(np.sqrt(s2w))
        crit = float(stats.t.isf((1 - lev) / 2, df))
        dist_df = df
        pval = float(2 * stats.t.sf(abs(est / se), df))
        test_out = "knha"
    q = q_mh if q_is_mh else float(fa.q)
    qp, i2_q, h2_q = _het_from_q(q, df)
    if prof.i2_method == "q":
        i2, h2 = i2_q, h2_q
    else:
        i2, h2 = float(fa.i2), float(fa.h2)
    pi_lo, pi_hi = _prediction(prof.pi_method, est, se_z, se, crit, t2, k, lev)
    se_t2 = float(fa.se_tau2) if se_t2_known and k > 1 and np.isfinite(fa.se_tau2) else None
    return MetaAnalysisResult(
        estimate=est, se=se, statistic=est / se, pvalue=pval, ci_lower=est - crit * se, ci_upper=est + crit * se,
        pi_lower=pi_lo, pi_upper=pi_hi, tau2=t2, se_tau2=se_t2, i2=i2, h2=h2, q=q, q_pvalue=qp,
        test=test_out, df=dist_df, weights=np.asarray(fa.weights, float), iterations=int(fa.iterations),
        vt=float(fa.vt), s2w=s2w, **common)


def _q_iv(y: np.ndarray, v: np.ndarray) -> float:
    if len(y) < 2:
        return 0.0
    w = 1 / v
    mu = np.sum(w * y) / np.sum(w)
    return float(max(0.0, np.sum(w * (y - mu) ** 2)))


def _typical_variance(v: np.ndarray) -> float:
    if len(v) < 2:
        return 0.0
    w = 1 / v
    return float((len(v) - 1) / (w.sum() - (w ** 2).sum() / w.sum()))


def _dl_from_q(q: float, v: np.ndarray) -> float:
    """DerSimonian-Laird tau² from a given Q: max(0, (Q - (k-1)) / (sum w - sum w² / sum w))."""
    if len(v) < 2:
        return 0.0
    w = 1 / v
    return float(max(0.0, (q - (len(v) - 1)) / (w.sum() - (w ** 2).sum() / w.sum())))


def _prediction(kind: str, est: float, se_classic: float, se_ci: float, crit_ci: float, t2: float, k: int,
                level: float) -> tuple[float | None, float | None]:
    alpha = 1 - level
    if kind == "none":
        return None, None
    if kind == "ci":
        half = crit_ci * np.sqrt(se_ci ** 2 + t2)
    elif kind == "z":
        half = stats.norm.isf(alpha / 2) * np.sqrt(se_classic ** 2 + t2)
    else:
        dfp = k - 1 if kind == "t_k1" else k - 2
        if dfp < 1:
            return None, None
        half = stats.t.isf(alpha / 2, dfp) * np.sqrt(se_classic ** 2 + t2)
    return float(est - half), float(est + half)


def _peto_effects(a: np.ndarray, b: np.ndarray, c: np.ndarray,
                  d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n1, n2 = a + b, c + d
    N = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        E = (a + c) * n1 / N
        V = np.where(N > 1, (a + c) * (b + d) * (n1 / N) * (n2 / N) / (N - 1), 0.0)
        keep = V > 0
        yi = np.where(keep, (a - E) / np.where(keep, V, 1.0), np.nan)
        vi = np.where(keep, 1 / np.where(keep, V, 1.0), np.nan)
    return yi, vi, keep


def _check_tables(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, labels: list[str] | None) -> None:
    lab = labels
    for arr, name in ((a, "ai"), (b, "bi"), (c, "ci"), (d, "di")):
        neg = np.flatnonzero(arr < 0)
        if neg.size:
            j = int(neg[0])
            raise DataError(f"{study_name(lab, j)}: {name} is negative ({arr[j]:g})", study=lab[j] if lab else j,
                            field=name)
    for n, name in ((a + b, "n1i"), (c + d, "n2i")):
        empty = np.flatnonzero(n <= 0)
        if empty.size:
            j = int(empty[0])
            raise DataError(f"{study_name(lab, j)}: an arm has no participants ({name} = 0)",
                            study=lab[j] if lab else j, field=name)


def _check_smd(arms: Mapping[str, np.ndarray], labels: list[str] | None) -> None:
    for name in ("sd1i", "sd2i", "n1i", "n2i"):
        check_positive(arms[name], name, labels)
