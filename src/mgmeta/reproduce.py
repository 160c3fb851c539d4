"""Reproduction diff: one published analysis under several software profiles.

:func:`reproduce` re-runs a published meta-analysis under each profile of
:mod:`mgmeta.profiles` and lines the numbers up against the published ones.
For every profile that differs from a base profile it then changes one
convention at a time (the base with only that setting switched) and reports,
per quantity, which conventions moved the number and by how much, plus what
is left over when conventions interact. A mismatch with a paper then reads as
"RevMan 5 takes tau² from the Mantel-Haenszel Q (+0.0007)" rather than as an
error in the paper or in the software.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.models import RATIO_MEASURES, MetaAnalysisResult
from mgmeta.profiles import (
    NUMERIC_SETTINGS,
    PROFILE_NAMES,
    Profile,
    apply_profile,
    get_profile,
    setting_text,
)

__all__ = ["reproduce", "attribute_differences", "QUANTITIES", "published_model"]

#: Quantities compared, in order (estimates and intervals on the published scale: exp for ratios).
QUANTITIES = ("estimate", "ci_lower", "ci_upper", "pvalue", "pi_lower", "pi_upper", "tau2", "i2", "q", "k",
              "participants")

_MEASURES = {"or": "OR", "odds ratio": "OR", "rr": "RR", "risk ratio": "RR", "relative risk": "RR",
             "rd": "RD", "risk difference": "RD", "md": "MD", "wmd": "MD", "mean difference": "MD",
             "weighted mean difference": "MD", "smd": "SMD", "standardized mean difference": "SMD",
             "standardised mean difference": "SMD", "peto": "PETO", "peto or": "PETO", "peto odds ratio": "PETO",
             "rom": "ROM", "ratio of means": "ROM", "g": "SMD", "hedges g": "SMD", "hedges' g": "SMD"}
_SMALL = 1e-12


def _norm_measure(m: Any) -> str:
    if m is None or (isinstance(m, float) and math.isnan(m)):
        raise DataError("the published analysis has no effect measure; pass measure=", field="measure")
    key = str(m).strip().lower()
    if key in _MEASURES:
        return _MEASURES[key]
    raise DataError(f"unknown effect measure {m!r}; expected one of OR, RR, RD, PETO, MD, SMD, ROM",
                    field="measure")


def published_model(model: Any) -> tuple[str, str | None]:
    """``("random" | "fixed", estimator or None)`` from a published model description.

    Examples
    --------
    >>> published_model("random effects (DerSimonian-Laird)")
    ('random', 'DL')
    >>> published_model("fixed, Mantel-Haenszel")
    ('fixed', None)
    """
    if model is None or (isinstance(model, float) and math.isnan(model)) or str(model).strip() == "":
        return "random", None
    text = str(model).strip().lower()
    est = None
    for word, code in (("dersimonian", "DL"), ("reml", "REML"), ("paule", "PM"), ("sidik", "SJ"),
                       ("empirical bayes", "EB"), ("hunter", "HS"), ("hedges", "HE")):
        if word in text:
            est = code
    if est is None:
        tokens = text.replace("(", " ").replace(")", " ").replace(",", " ").replace("-", " ").split()
        for tok in tokens:
            if tok.upper() in ("DL", "REML", "ML", "PM", "SJ", "EB", "HS", "HE"):
                est = tok.upper()
    if "random" in text or est is not None:
        return "random", est
    if any(w in text for w in ("fixed", "common", "mantel", "mh", "peto", "inverse", "equal")):
        return "fixed", None
    raise DataError(f"cannot tell a fixed- from a random-effects model in {model!r}", field="model")


def _effect_frame(data: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Effect sizes of ``data``: an effect_sizes() frame is used as is; arm data or yi/vi are converted."""
    from mgmeta.effects import effect_sizes

    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a DataFrame, got {type(data).__name__}", field="data")
    if len(data) == 0:
        raise DataError("data has no rows", field="data")
    if "yi" in data.columns and "vi" in data.columns and data.attrs.get("measure") is not None:
        if data.attrs["measure"] != measure and not (measure == "PETO" and data.attrs["measure"] == "OR"):
            raise DataError(f"data holds {data.attrs['measure']} effect sizes but the published measure is "
                            f"{measure}", field="measure")
        return data
    labels = "study" if "study" in data.columns else None
    cols = set(data.columns)

    def complete(names: Sequence[str]) -> np.ndarray:
        ok = np.ones(len(data), bool)
        for n in names:
            ok &= pd.to_numeric(data[n], errors="coerce").notna().to_numpy() if n in cols else False
        return ok

    arm_names: tuple[str, ...]
    if measure in ("OR", "RR", "RD", "PETO"):
        second = ("bi", "di") if {"bi", "di"} <= cols else ("n1i", "n2i")
        arm_names = ("ai", second[0], "ci", second[1])
    else:
        arm_names = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    arms_ok = complete(arm_names)
    gen_ok = complete(("yi", "vi")) | complete(("yi", "sei"))
    missing = ~(arms_ok | gen_ok)
    if missing.any():
        j = int(np.flatnonzero(missing)[0])
        who = data["study"].iloc[j] if "study" in cols else j
        raise DataError(f"study {who!r}: neither complete arm data ({', '.join(arm_names)}) nor yi with vi/sei",
                        study=who, field=arm_names[0])
    parts = []
    arm_rows = data.loc[arms_ok]
    if len(arm_rows):
        kw: dict[str, Any] = {n: n for n in arm_names}  # the columns carry effect_sizes' argument names
        parts.append(effect_sizes(measure, data=arm_rows, labels=labels, **kw))
    gen_rows = data.loc[~arms_ok]
    if len(gen_rows):
        var: dict[str, Any] = {"vi": "vi"} if "vi" in cols and complete(("yi", "vi"))[~arms_ok].all() else {"sei": "sei"}
        parts.append(effect_sizes(measure, data=gen_rows, yi="yi", labels=labels, **var))
    if len(parts) == 1:
        return parts[0]
    order = np.concatenate([np.flatnonzero(arms_ok), np.flatnonzero(~arms_ok)])
    frame = pd.concat(parts, ignore_index=True).iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    frame.attrs.update(parts[0].attrs)
    return frame


def _participants(frame: pd.DataFrame) -> float:
    """Total participants (n1i + n2i, or ai + bi + ci + di); NaN unless every row has them."""
    cols = set(frame.columns)
    if {"n1i", "n2i"} <= cols:
        tot = pd.to_numeric(frame["n1i"], errors="coerce") + pd.to_numeric(frame["n2i"], errors="coerce")
    elif {"ai", "bi", "ci", "di"} <= cols:
        tot = sum(pd.to_numeric(frame[c], errors="coerce") for c in ("ai", "bi", "ci", "di"))
    else:
        return math.nan
    return float(tot.sum()) if tot.notna().all() else math.nan


def _values(res: MetaAnalysisResult, measure: str, invert: bool, participants: float) -> dict[str, float]:
    ratio = measure in RATIO_MEASURES

    def tr(x: float | None) -> float:
        if x is None:
            return math.nan
        x = -x if invert else x
        return float(np.exp(x)) if ratio else float(x)

    lo, hi = (res.ci_upper, res.ci_lower) if invert else (res.ci_lower, res.ci_upper)
    plo, phi = (res.pi_upper, res.pi_lower) if invert else (res.pi_lower, res.pi_upper)
    return {"estimate": tr(res.estimate), "ci_lower": tr(lo), "ci_upper": tr(hi), "pvalue": float(res.pvalue),
            "pi_lower": tr(plo), "pi_upper": tr(phi), "tau2": float(res.tau2) if res.random else 0.0,
            "i2": float(res.i2), "q": float(res.q), "k": float(res.k), "participants": participants}


def _fit(prof: Profile | str, es: pd.DataFrame, model: str, method: str | None, level: float) -> MetaAnalysisResult:
    from mgmeta.models import meta_analysis

    p = get_profile(prof)
    m = "EE" if model == "fixed" else (method or p.tau2_method)
    if isinstance(prof, str):
        return meta_analysis(es, method=m, profile=prof, level=level)
    return apply_profile(prof, es, method=m, level=level)


def attribute_differences(es: pd.DataFrame, base: str | Profile, other: str | Profile, *, model: str = "random",
                          method: str | None = None, level: float = 0.95, invert: bool = False) -> pd.DataFrame:
    """Change one convention at a time from ``base`` towards ``other`` and measure each quantity's change.

    Parameters
    ----------
    es : DataFrame
        Effect sizes from :func:`mgmeta.effect_sizes` (with arm data where the
        conventions concern them).
    base, other : str or Profile
        The two profiles.
    model : {"random", "fixed"}
    method : str, optional
        tau² estimator for every fit; default each profile's own.
    level : float
    invert : bool
        Report the reverse comparison (1/ratio, or minus the difference).

    Returns
    -------
    DataFrame
        One row per differing setting and quantity, columns ``profile setting
        base_value profile_value quantity base variant change``: ``variant`` is
        the quantity with only that setting switched; ``change`` = variant -
        base (NaN where one of them does not exist, e.g. no prediction
        interval). A last block with setting ``"(interaction)"`` holds the
        change of ``other`` not explained by the sum of single changes.
    """
    bp, op = get_profile(base), get_profile(other)
    meas = es.attrs.get("measure")
    part = _participants(es)
    base_v = _values(_fit(bp, es, model, method, level), meas, invert, part)
    other_v = _values(_fit(op, es, model, method, level), meas, invert, part)
    rows = []
    total = dict.fromkeys(QUANTITIES, 0.0)
    for s in NUMERIC_SETTINGS:
        bv, ov = bp.value(s), op.value(s)
        if bv == ov or (s == "tau2_method" and (model == "fixed" or method is not None)):
            continue
        variant = bp.with_settings(**{s: ov})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MgmetaWarning)
            vv = _values(_fit(variant, es, model, method, level), meas, invert, part)
        for qn in QUANTITIES:
            ch = vv[qn] - base_v[qn]
            total[qn] += 0.0 if math.isnan(ch) else ch
            rows.append({"profile": op.name, "setting": s, "base_value": setting_text(bv), "profile_value": setting_text(ov),
                         "quantity": qn, "base": base_v[qn], "variant": vv[qn], "change": ch})
    for qn in QUANTITIES:
        full = other_v[qn] - base_v[qn]
        rows.append({"profile": op.name, "setting": "(interaction)", "base_value": "", "profile_value": "",
                     "quantity": qn, "base": base_v[qn], "variant": other_v[qn],
                     "change": full - total[qn] if not math.isnan(full) else math.nan})
    return pd.DataFrame(rows, columns=["profile", "setting", "base_value", "profile_value", "quantity", "base",
                                       "variant", "change"])


def _describe(att: pd.DataFrame, quantity: str) -> str:
    sub = att[att["quantity"] == quantity]
    parts = []
    for _, r in sub.iterrows():
        ch, b, v = r["change"], r["base"], r["variant"]
        if r["setting"] == "(interaction)":
            if not math.isnan(ch) and abs(ch) > _SMALL * max(1.0, abs(b)):
                parts.append(f"interaction ({ch:+.4g})")
            continue
        if math.isnan(b) and math.isnan(v):
            continue
        if math.isnan(ch):
            parts.append(f"{r['setting']}: {r['base_value']}->{r['profile_value']} "
                         f"({'appears' if math.isnan(b) else 'disappears'})")
        elif abs(ch) > _SMALL * max(1.0, abs(b)):
            parts.append(f"{r['setting']}: {r['base_value']}->{r['profile_value']} ({ch:+.4g})")
    return "; ".join(parts)


def reproduce(published: Mapping[str, Any] | pd.Series, data: pd.DataFrame,
              profiles: Sequence[str] = PROFILE_NAMES, *, base: str | None = None, method: str | None = None,
              measure: str | None = None, level: float = 0.95, invert: bool = False) -> pd.DataFrame:
    """Re-run a published meta-analysis under several software profiles and explain the differences.

    Parameters
    ----------
    published : mapping or Series
        One row of ``data/published.csv`` (or an equivalent mapping): at least
        ``measure``; ``model`` ("random"/"fixed", optionally naming the
        estimator, e.g. "random (DL)"; random when missing), and whichever of
        ``estimate ci_lower ci_upper pvalue i2 tau2 q k participants`` the
        paper reported (estimates on the published scale, e.g. odds ratios;
        I² in percent).
    data : DataFrame
        The trials the analysis pooled: a frame from :func:`mgmeta.effect_sizes`,
        or an analysis-ready frame with arm columns (``ai n1i ci n2i`` or
        ``ai bi ci di``; ``m1i sd1i n1i m2i sd2i n2i``) and/or ``yi`` with
        ``vi`` or ``sei``, and ``study`` labels.
    profiles : sequence of str
        Profiles to run (default: all five).
    base : str, optional
        Profile the others are compared with, one setting at a time (default:
        the first of ``profiles``).
    method : str, optional
        tau² estimator for every profile (default: each profile's own, or the
        estimator named in ``published["model"]`` when it names one).
    measure : str, optional
        Effect measure (default ``published["measure"]``).
    level : float
        Confidence level.
    invert : bool
        The paper compares the other way round (control vs magnesium): report
        1/ratio (or minus the difference) with swapped limits.

    Returns
    -------
    DataFrame
        One row per quantity (:data:`QUANTITIES`); columns ``quantity``,
        ``published``, one column per profile, ``closest`` (the profile nearest
        the published value), and for every profile other than the base a
        column ``changed_by_<profile>`` naming each convention that moves the
        quantity away from the base profile's value and by how much, e.g.
        ``"mh_q: iv->mh (+0.000736)"``. ``frame.attrs`` holds ``model``,
        ``measure``, ``base``, ``methods`` (per profile) and ``attribution``
        (the long table of :func:`attribute_differences` for every profile).

    Examples
    --------
    BCG trials, log risk ratio, a DerSimonian-Laird analysis published with
    tau² = 0.3095 (RevMan 5):

    >>> import mgmeta
    >>> es = mgmeta.effect_sizes(
    ...     "RR", ai=[4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    ...     bi=[119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    ...     ci=[11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    ...     di=[128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
    >>> from mgmeta.reproduce import reproduce
    >>> tab = reproduce({"measure": "RR", "model": "random (DL)", "tau2": 0.3095}, es,
    ...                        profiles=["metafor", "revman5"])
    >>> tab.set_index("quantity").loc["tau2", "changed_by_revman5"]
    'binary_pooling: IV->MH (+0.0007366)'
    """
    pub = dict(published.items()) if isinstance(published, (Mapping, pd.Series)) else None
    if pub is None:
        raise DataError(f"published must be a mapping or a Series, got {type(published).__name__}", field="published")
    names = list(profiles)
    if not names:
        raise DataError("give at least one profile", field="profiles")
    for n in names:
        get_profile(n)
    base = base or names[0]
    get_profile(base)
    meas = _norm_measure(measure or pub.get("measure"))
    model, named = published_model(pub.get("model"))
    method = method or named
    es = _effect_frame(data, meas)
    part = _participants(data)
    if math.isnan(part):
        part = _participants(es)
    vals: dict[str, dict[str, float]] = {}
    methods: dict[str, str] = {}
    for n in names:
        p = get_profile(n)
        m = method if (method is not None and method in p.tau2_methods) else p.tau2_method
        methods[n] = "EE" if model == "fixed" else m
        res = _fit(n, es, model, None if model == "fixed" else m, level)
        vals[n] = _values(res, meas, invert, part)
    att_parts = [attribute_differences(es, base, n, model=model, method=method, level=level, invert=invert)
                 for n in names if n != base]
    att = pd.concat(att_parts, ignore_index=True) if att_parts else pd.DataFrame(
        columns=["profile", "setting", "base_value", "profile_value", "quantity", "base", "variant", "change"])
    rows = []
    for qn in QUANTITIES:
        pv = pub.get(qn)
        pv = math.nan if pv is None or pd.isna(pv) or (isinstance(pv, str) and pv.strip() == "") else float(pv)
        row: dict[str, Any] = {"quantity": qn, "published": pv}
        for n in names:
            row[n] = vals[n][qn]
        close = [(abs(vals[n][qn] - pv), n) for n in names if not math.isnan(pv) and not math.isnan(vals[n][qn])]
        row["closest"] = min(close)[1] if close else ""
        for n in names:
            if n != base:
                row[f"changed_by_{n}"] = _describe(att[att["profile"] == get_profile(n).name], qn)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update({"model": model, "measure": meas, "base": base, "methods": methods, "attribution": att,
                      "result_id": pub.get("result_id")})
    return out
