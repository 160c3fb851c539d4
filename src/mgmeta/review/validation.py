"""Validation of the engine against published tables: the worked examples, recomputed with mgmeta.

The tests ``tests/test_published_normand1999.py``, ``_vanhouwelingen2002``,
``_viechtbauer2005`` and ``_dersimonian2007`` pin mgmeta to the printed values
of four methods papers. :func:`validation_table` recomputes the same quantities
for the report, each with the paper's table or page and its status. The
printed values were read in metafor's analysis examples of those papers (the
test files name the sources); the data are the papers' own, as metadat gives
them (``dat.hine1989``, ``dat.normand1999``, ``dat.bcg``) or as printed.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mgmeta.analyses.regression import meta_regression
from mgmeta.effects import effect_sizes
from mgmeta.models import meta_analysis
from mgmeta.review.reproduction import DIFFERS, REPRODUCED

__all__ = ["validation_table"]

# Normand (1999) example 1: prophylactic lidocaine (Hine et al. 1989), deaths / patients
_HINE: dict[str, Any] = {"ai": [2, 4, 6, 7, 7, 11], "n1i": [39, 44, 107, 103, 110, 154], "ci": [1, 4, 4, 5, 3, 4],
         "n2i": [43, 44, 110, 100, 106, 146]}
# Normand (1999) example 2: length of stay (days), specialist vs routine stroke care
_STROKE: dict[str, Any] = {"m1i": [55, 27, 64, 66, 14, 19, 52, 21, 30], "sd1i": [47, 7, 17, 20, 8, 7, 45, 16, 27],
           "n1i": [155, 31, 75, 18, 8, 57, 34, 110, 60], "m2i": [75, 29, 119, 137, 18, 18, 41, 31, 23],
           "sd2i": [64, 4, 29, 48, 11, 4, 34, 27, 20], "n2i": [156, 32, 71, 18, 13, 52, 33, 183, 52]}
# BCG vaccine trials (van Houwelingen et al. 2002, Table I), and absolute latitude
_BCG: dict[str, Any] = {"ai": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
        "bi": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
        "ci": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
        "di": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]}
_ABLAT = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
# Viechtbauer (2005), examples 1 and 2 (yi, vi to 3 decimals)
_V1 = ([-0.581, 0.530, 0.771, 1.031, 0.553, 0.295, 0.078, 0.573, -0.176, -0.232],
       [0.023, 0.052, 0.060, 0.115, 0.095, 0.203, 0.200, 0.211, 0.051, 0.040])
_V2 = ([0.100, -0.162, -0.090, -0.049, -0.046, -0.010, -0.431, -0.261, 0.134, 0.019, 0.175, 0.056, 0.045,
        0.103, 0.121, -0.482, 0.290, 0.342],
       [0.016, 0.015, 0.050, 0.050, 0.032, 0.052, 0.036, 0.024, 0.034, 0.033, 0.031, 0.034, 0.039, 0.167,
        0.134, 0.096, 0.016, 0.035])
# DerSimonian & Kacker (2007): CLASP, aspirin vs control, events / patients
_CLASP: dict[str, Any] = {"ai": [5, 5, 12, 69, 9, 313], "n1i": [156, 303, 565, 1570, 103, 4659], "ci": [8, 17, 9, 94, 11, 352],
          "n2i": [74, 303, 477, 1565, 105, 4650]}
_DK = {"PM": ("0.3681", "-0.3811", "0.2060"), "HE": ("0.4410", "-0.4035", "0.2327"),
       "DL": ("0.2323", "-0.3240", "0.1540"), "EB": ("0.3681", "-0.3811", "0.2060"),
       "ML": ("0.0023", "-0.1974", "0.0694"), "REML": ("0.1843", "-0.2980", "0.1343"),
       "HS": ("0.1330", "-0.2666", "0.1125"), "SJ": ("0.4572", "-0.4079", "0.2386")}


def _within(value: float, printed: str) -> bool:
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - float(printed)) <= 0.5 * 10.0 ** -decimals + 1e-12


def _cases() -> list[tuple[str, str, str, str, Callable[[], float], str]]:
    """(paper, locator, quantity, printed, compute, note)."""
    lido_yi = effect_sizes("RD", **_HINE)
    lido = (lido_yi["yi"].to_numpy() * 100, lido_yi["vi"].to_numpy() * 100**2)
    n1, n2 = np.asarray(_STROKE["n1i"], float), np.asarray(_STROKE["n2i"], float)
    sdp = np.sqrt(((n1 - 1) * np.asarray(_STROKE["sd1i"], float) ** 2
                   + (n2 - 1) * np.asarray(_STROKE["sd2i"], float) ** 2) / (n1 + n2 - 2))
    stroke = effect_sizes("MD", m1i=_STROKE["m1i"], sd1i=sdp, n1i=n1, m2i=_STROKE["m2i"], sd2i=sdp, n2i=n2)
    bcg = effect_sizes("OR", **_BCG)
    clasp = effect_sizes("OR", **_CLASP)
    fits: dict[tuple[str, str], object] = {}

    def fit(name: str, method: str) -> object:
        key = (name, method)
        if key not in fits:
            data = {"lido": lido, "stroke": stroke, "bcg": bcg, "clasp": clasp, "v1": _V1, "v2": _V2}[name]
            fits[key] = meta_analysis(*data, method=method) if isinstance(data, tuple) else meta_analysis(
                data, method=method)
        return fits[key]

    def q(name: str, method: str, what: str, exp: bool = False) -> Callable[[], float]:
        def go() -> float:
            v = float(getattr(fit(name, method), what))
            return math.exp(v) if exp else v
        return go

    nor, vh = "Normand 1999", "van Houwelingen 2002"
    cases: list[tuple[str, str, str, str, Callable[[], float], str]] = []
    for m in ("EE", "REML", "DL"):
        loc = "p. 349, Table VII (lidocaine, risk difference in %)"
        cases += [(nor, loc, f"{m} pooled RD", "2.94", q("lido", m, "estimate"), ""),
                  (nor, loc, f"{m} CI lower", "0.4", q("lido", m, "ci_lower"), ""),
                  (nor, loc, f"{m} CI upper", "5.5", q("lido", m, "ci_upper"), "")]
    stroke_printed: tuple[tuple[str, tuple[str, str, str, str | None]], ...] = (
        ("EE", ("-3.49", "-5.03", "-1.96", None)), ("DL", ("-14.10", "-24.45", "-3.75", "218.72")),
        ("REML", ("-15.12", "-32.67", "2.43", "685.20")))
    for m, vals in stroke_printed:
        loc = "p. 352, Table IX (length of stay, mean difference in days)"
        cases += [(nor, loc, f"{m} pooled MD", vals[0], q("stroke", m, "estimate"), ""),
                  (nor, loc, f"{m} CI lower", vals[1], q("stroke", m, "ci_lower"), ""),
                  (nor, loc, f"{m} CI upper", vals[2], q("stroke", m, "ci_upper"), "")]
        tau2 = vals[3]
        if tau2 is not None:
            cases.append((nor, loc, f"{m} tau²", tau2, q("stroke", m, "tau2"), ""))
    cases += [(vh, "p. 596 (text), fixed-effect OR", "EE odds ratio", ".6465", q("bcg", "EE", "estimate", True), ""),
              (vh, "p. 596 (text), fixed-effect OR", "EE CI lower", ".5951", q("bcg", "EE", "ci_lower", True), ""),
              (vh, "p. 596 (text), fixed-effect OR", "EE CI upper", ".703", q("bcg", "EE", "ci_upper", True),
               "the paper prints .703; metafor and mgmeta give 0.7024 (a rounding slip in the paper)"),
              (vh, "p. 597 (text), ML random effects", "ML odds ratio", ".4762", q("bcg", "ML", "estimate", True), ""),
              (vh, "p. 597 (text), ML random effects", "ML CI lower", ".3360", q("bcg", "ML", "ci_lower", True), ""),
              (vh, "p. 597 (text), ML random effects", "ML CI upper", ".6749", q("bcg", "ML", "ci_upper", True), ""),
              (vh, "p. 597 (text), ML random effects", "ML tau²", ".3025", q("bcg", "ML", "tau2"), "")]
    reg: dict[str, object] = {}

    def coef(i: int, what: str) -> Callable[[], float]:
        def go() -> float:
            if "fit" not in reg:
                reg["fit"] = meta_regression(bcg["yi"].to_numpy(), bcg["vi"].to_numpy(),
                                             np.asarray(_ABLAT, float), method="ML")
            v = getattr(reg["fit"], what)
            return float(np.atleast_1d(v)[i])
        return go

    loc = "pp. 608-609 (text), ML meta-regression on latitude"
    cases += [(vh, loc, "intercept", "0.3710", coef(0, "coef"), ""), (vh, loc, "slope", "-0.0327", coef(1, "coef"), ""),
              (vh, loc, "residual tau²", "0.0040", coef(0, "tau2"), "")]
    for name, page, printed in (("v1", "p. 271, example 1", ["0.228", "0.148", "0.277", "0.197", "0.223", "0.192", "0.199"]),
                             ("v2", "p. 272, example 2", ["0.010", "0.000", "0.013", "0.013", "0.016", "0.010", "0.025"])):
        for m, v in zip(("HS", "HE", "DL", "ML", "REML", "EB", "SJ"), printed):
            cases.append(("Viechtbauer 2005", page, f"{m} tau²", v, q(name, m, "tau2"), ""))
    def tau(method: str) -> Callable[[], float]:
        def go() -> float:
            return math.sqrt(float(getattr(fit("clasp", method), "tau2")))
        return go

    for m, (t, mu, se) in _DK.items():
        loc = "pp. 111-112, Tables 3 and 4 (CLASP, log OR)"
        cases += [("DerSimonian & Kacker 2007", loc, f"{m} tau", t, tau(m), ""),
                  ("DerSimonian & Kacker 2007", loc, f"{m} mu", mu, q("clasp", m, "estimate"), ""),
                  ("DerSimonian & Kacker 2007", loc, f"{m} se of mu", se, q("clasp", m, "se"), "")]
    return cases


def validation_table() -> pd.DataFrame:
    """Every pinned quantity of the four methods papers, recomputed with mgmeta and compared.

    Returns
    -------
    DataFrame
        One row per quantity: ``paper``, ``locator`` (page and table),
        ``quantity``, ``published`` (as printed), ``mgmeta`` (full precision),
        ``status`` (``reproduced`` when mgmeta rounds to the printed digits,
        else ``differs``) and ``note``.

    Examples
    --------
    >>> from mgmeta.review.validation import validation_table
    >>> tab = validation_table()
    >>> tab.groupby("paper")["status"].apply(lambda s: (s == "reproduced").sum()).to_dict()
    {'DerSimonian & Kacker 2007': 24, 'Normand 1999': 20, 'Viechtbauer 2005': 14, 'van Houwelingen 2002': 9}
    >>> tab.loc[tab["status"] != "reproduced", ["paper", "quantity", "published"]].values.tolist()
    [['van Houwelingen 2002', 'EE CI upper', '.703']]
    """
    rows = []
    for paper, loc, quantity, printed, compute, note in _cases():
        value = compute()
        rows.append({"paper": paper, "locator": loc, "quantity": quantity, "published": printed, "mgmeta": value,
                     "status": REPRODUCED if _within(value, printed) else DIFFERS, "note": note})
    return pd.DataFrame(rows, columns=["paper", "locator", "quantity", "published", "mgmeta", "status", "note"])
