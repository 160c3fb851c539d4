"""Import of Cochrane review data: RevMan 5 ``.rm5`` files and RevMan (web) data packages.

A Cochrane review's analyses can be re-run with mgmeta once its data are read
into the trial-data layout: one row per study and analysis with the arm columns
that :func:`mgmeta.effect_sizes` takes (``ai n1i ci n2i`` for dichotomous data,
``m1i sd1i n1i m2i sd2i n2i`` for continuous data, ``yi sei`` for generic
inverse-variance data), together with the analysis settings RevMan used and the
pooled results it published.

Three formats are read:

- RevMan 5 review files (``.rm5``, XML): ``ANALYSES_AND_DATA / COMPARISON /
  DICH_OUTCOME | CONT_OUTCOME | IV_OUTCOME | IPD_OUTCOME``, optionally with
  ``*_SUBGROUP`` levels, and ``*_DATA`` rows whose ``STUDY_ID`` points to a
  ``STUDY`` element (``NAME``, ``YEAR``).
- Cochrane data packages exported by RevMan (web) (version 1): a ZIP file or a
  folder holding ``*-analysis-data/*-data-rows.csv`` and
  ``*-overall-estimates-and-settings.csv`` (column names as in the data-package
  specification).
- The "analysis data" CSV that RevMan 5 exports (one header row per comparison
  and outcome, then one row per study).

This is the only module besides :mod:`mgmeta.review.data` that reads files; it never
writes any.

References
----------
Cochrane. Data package specification (version 1).
https://documentation.cochrane.org/revman-kb/data-package-specification-249561249.html
Schwarzer G. R package meta: ``read.rm5``, ``read.cdir`` (the formats are described
there; no code is taken from it). https://cran.r-project.org/package=meta
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from mgmeta.errors import DataError

__all__ = ["CochraneReview", "read_cochrane", "read_rm5", "read_data_package", "read_revman5_csv"]

#: Columns of :attr:`CochraneReview.data`, in order.
DATA_COLUMNS = ["comparison_no", "comparison", "outcome_no", "outcome", "subgroup_no", "subgroup", "study",
                "study_id", "year", "data_type", "measure", "method", "model", "ai", "n1i", "ci", "n2i", "m1i",
                "sd1i", "m2i", "sd2i", "yi", "sei", "o_e", "var", "weight", "order"]
#: Columns of :attr:`CochraneReview.analyses`, in order.
ANALYSIS_COLUMNS = ["comparison_no", "comparison", "outcome_no", "outcome", "data_type", "measure", "method",
                    "model", "level", "k", "participants", "estimate", "ci_lower", "ci_upper", "z", "pvalue", "q",
                    "q_df", "q_pvalue", "i2", "tau2", "label_1", "label_2", "swap_events", "log_data"]

_RATIO = ("OR", "RR", "PETO", "HR", "ROM")
_MEASURE_WORDS = {
    "odds ratio": "OR", "or": "OR", "odds ratio (non-event)": "OR", "peto odds ratio": "PETO", "peto_or": "PETO",
    "risk ratio": "RR", "rr": "RR", "relative risk": "RR", "risk difference": "RD", "rd": "RD",
    "mean difference": "MD", "md": "MD", "std. mean difference": "SMD", "standardized mean difference": "SMD",
    "standardised mean difference": "SMD", "smd": "SMD", "hazard ratio": "HR", "hr": "HR",
    "ratio of means": "ROM", "rom": "ROM",
}
_METHOD_WORDS = {"mh": "MH", "iv": "IV", "peto": "PETO", "exp_o_e_var": "PETO", "inverse": "IV",
                 "inverse variance": "IV", "mantel-haenszel": "MH"}


def _measure(word: str | None) -> str:
    if word is None:
        return "GEN"
    key = str(word).strip().lower()
    return _MEASURE_WORDS.get(key, str(word).strip().upper() or "GEN")


def _method(word: str | None, data_type: str) -> str:
    if word is None or str(word).strip() == "":
        return "PETO" if data_type == "o_e" else "IV"
    return _METHOD_WORDS.get(str(word).strip().lower(), str(word).strip().upper())


def _num(text: Any) -> float:
    """A number from an attribute or cell; NaN for empty, missing or '#N/A'."""
    if text is None:
        return math.nan
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip().replace("%", "")
    if s == "" or s.upper() in ("#N/A", "NA", "NAN"):
        return math.nan
    try:
        return float(s)
    except ValueError:
        return math.nan


def _yes(text: Any) -> bool:
    return str(text).strip().lower() in ("yes", "true", "1")


# --------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class CochraneReview:
    """The analyses of one Cochrane review, in the trial-data layout.

    Attributes
    ----------
    title : str
        Review title ("" when the file does not give it).
    format : {"rm5", "data package", "revman5 csv"}
        The format read.
    source : str
        The path read.
    data : DataFrame
        One row per study and analysis, columns :data:`DATA_COLUMNS`:
        analysis identifiers and names, subgroup, ``study`` (the label RevMan
        shows), ``year``, ``data_type`` ("dichotomous", "continuous", "generic",
        "o_e"), ``measure`` (mgmeta's vocabulary: OR RR RD PETO MD SMD HR GEN),
        ``method`` (MH, IV, PETO), ``model`` ("fixed" or "random"); the arm data
        ``ai n1i ci n2i`` (events and totals; group 1 is RevMan's experimental
        group) or ``m1i sd1i m2i sd2i`` with ``n1i n2i``; ``yi sei`` for generic
        inverse-variance data (log scale for ratio measures); ``o_e var`` for
        O - E and variance data; ``weight`` (percent) as published. Missing
        values are NaN.
    analyses : DataFrame
        One row per analysis, columns :data:`ANALYSIS_COLUMNS`: settings and the
        pooled results RevMan published (``estimate ci_lower ci_upper`` on the
        displayed scale, e.g. odds ratios; ``q`` is RevMan's heterogeneity
        chi², ``i2`` in percent).
    """

    title: str
    format: str
    source: str
    data: pd.DataFrame = field(repr=False)
    analyses: pd.DataFrame = field(repr=False)

    def _key(self, comparison: int, outcome: int) -> pd.Series:
        sel = (self.analyses["comparison_no"] == comparison) & (self.analyses["outcome_no"] == outcome)
        if not sel.any():
            have = ", ".join(f"{int(c)}.{int(o)}" for c, o in
                             zip(self.analyses["comparison_no"], self.analyses["outcome_no"]))
            raise DataError(f"the review has no analysis {comparison}.{outcome} (analyses: {have or 'none'})",
                            field="outcome")
        return self.analyses.loc[sel].iloc[0]

    def analysis(self, comparison: int, outcome: int, subgroup: Any = None) -> pd.DataFrame:
        """The study rows of analysis ``comparison.outcome`` (optionally one subgroup, by number or name).

        ``frame.attrs`` holds ``measure``, ``method``, ``model``, ``data_type``
        and ``level``.
        """
        row = self._key(comparison, outcome)
        sel = (self.data["comparison_no"] == comparison) & (self.data["outcome_no"] == outcome)
        if subgroup is not None:
            sub = (self.data["subgroup_no"] == subgroup) | (self.data["subgroup"] == subgroup)
            sel &= sub
        out = self.data.loc[sel].reset_index(drop=True)
        out.attrs.update({"measure": row["measure"], "method": row["method"], "model": row["model"],
                          "data_type": row["data_type"], "level": row["level"]})
        return out

    def effect_sizes(self, comparison: int, outcome: int, subgroup: Any = None, **kwargs: Any) -> pd.DataFrame:
        """:func:`mgmeta.effect_sizes` of one analysis, with RevMan's effect measure (``**kwargs`` passed on)."""
        from mgmeta.effects import effect_sizes

        frame = self.analysis(comparison, outcome, subgroup)
        measure, dtype = frame.attrs["measure"], frame.attrs["data_type"]
        if len(frame) == 0:
            raise DataError(f"analysis {comparison}.{outcome} has no study rows", field="outcome")
        if dtype == "dichotomous":
            return effect_sizes("PETO" if measure == "PETO" else measure, data=frame, ai="ai", n1i="n1i",
                                ci="ci", n2i="n2i", labels="study", **kwargs)
        if dtype == "continuous":
            return effect_sizes(measure, data=frame, m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i",
                                n2i="n2i", labels="study", **kwargs)
        if dtype == "o_e":
            with np.errstate(divide="ignore"):
                yi = frame["o_e"] / frame["var"]
                sei = 1 / np.sqrt(frame["var"])
            es = effect_sizes("GEN", yi=yi, sei=sei, labels=list(frame["study"]), **kwargs)
        else:
            es = effect_sizes("GEN", data=frame, yi="yi", sei="sei", labels="study", **kwargs)
        es.attrs["measure"] = measure if measure in _RATIO + ("RD", "MD", "SMD") else None
        return es

    def published(self, comparison: int, outcome: int) -> dict[str, Any]:
        """The pooled result RevMan published, in the vocabulary of ``data/published.csv``.

        Keys: ``result_id review outcome comparison measure estimate ci_lower
        ci_upper i2 k participants model pvalue tau2 q`` (estimates on the
        displayed scale).
        """
        r = self._key(comparison, outcome)
        model = f"{'random' if r['model'] == 'random' else 'fixed'} ({r['method']})"
        return {"result_id": f"{int(comparison)}.{int(outcome)}", "review": self.title, "outcome": r["outcome"],
                "comparison": r["comparison"], "measure": r["measure"], "estimate": r["estimate"],
                "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"], "i2": r["i2"], "k": r["k"],
                "participants": r["participants"], "model": model, "pvalue": r["pvalue"], "tau2": r["tau2"],
                "q": r["q"]}

    def meta_analysis(self, comparison: int, outcome: int, profile: str = "revman5",
                      method: str | None = None) -> Any:
        """Re-run analysis ``comparison.outcome`` with RevMan's model under ``profile``.

        ``method`` defaults to "FE" for fixed-effect analyses and to the
        profile's tau² estimator for random-effects analyses.
        """
        from mgmeta.models import meta_analysis
        from mgmeta.profiles import get_profile

        es = self.effect_sizes(comparison, outcome)
        r = self._key(comparison, outcome)
        if method is None:
            method = "FE" if r["model"] == "fixed" else get_profile(profile).tau2_method
        return meta_analysis(es, method=method, profile=profile, level=r["level"] if r["level"] == r["level"]
                             else 0.95)

    def __repr__(self) -> str:
        return (f"CochraneReview(title={self.title!r}, format={self.format!r}, analyses={len(self.analyses)}, "
                f"rows={len(self.data)})")


def _frames(rows: list[dict[str, Any]], analyses: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = pd.DataFrame(rows, columns=DATA_COLUMNS)
    for col in ("ai", "n1i", "ci", "n2i", "m1i", "sd1i", "m2i", "sd2i", "yi", "sei", "o_e", "var", "weight",
                "order", "subgroup_no", "comparison_no", "outcome_no", "year"):
        data[col] = pd.to_numeric(data[col], errors="coerce").astype(float)
    an = pd.DataFrame(analyses, columns=ANALYSIS_COLUMNS)
    for col in ("comparison_no", "outcome_no"):
        data[col] = data[col].astype("Int64")
        an[col] = pd.to_numeric(an[col], errors="coerce").astype("Int64")
    return data, an


def _k_and_n(rows: list[dict[str, Any]], comp: Any, out: Any) -> tuple[int, float]:
    mine = [r for r in rows if r["comparison_no"] == comp and r["outcome_no"] == out]
    n = sum((0 if math.isnan(_num(r.get("n1i"))) else _num(r.get("n1i")))
            + (0 if math.isnan(_num(r.get("n2i"))) else _num(r.get("n2i"))) for r in mine)
    return len(mine), float(n) if n > 0 else math.nan


def _swap(row: dict[str, Any]) -> None:
    for ev, n in (("ai", "n1i"), ("ci", "n2i")):
        if not (math.isnan(row[ev]) or math.isnan(row[n])):
            row[ev] = row[n] - row[ev]


# --------------------------------------------------------------------------
# RevMan 5 .rm5 (XML)
# --------------------------------------------------------------------------

_TYPES = {"DICH": "dichotomous", "CONT": "continuous", "IV": "generic", "IPD": "o_e"}


def read_rm5(path: str | Path) -> CochraneReview:
    """Read the analyses of a RevMan 5 review file (``.rm5``, XML).

    Parameters
    ----------
    path : str or Path
        The ``.rm5`` file (as downloaded from the Cochrane Library with
        "Download statistical data", or saved by RevMan 5).

    Returns
    -------
    CochraneReview

    Raises
    ------
    DataError
        The file is missing, not XML, or has no ``ANALYSES_AND_DATA``.

    Notes
    -----
    Dichotomous rows take ``EVENTS_1 TOTAL_1 EVENTS_2 TOTAL_2`` (swapped to
    non-events when the outcome has ``SWAP_EVENTS="YES"``), continuous rows
    ``MEAN_1 SD_1 TOTAL_1 MEAN_2 SD_2 TOTAL_2``, generic inverse-variance rows
    ``EFFECT_SIZE`` and ``SE`` (for ratio measures with ``LOG_DATA="YES"`` the
    effect is stored as a ratio and is log-transformed, as R meta's
    ``read.rm5``/``metacr`` do), O - E rows ``O_E`` and ``VAR``. The analysis
    settings come from ``METHOD``, ``EFFECT_MEASURE``, ``RANDOM``,
    ``CI_TOTAL``; the published results from ``EFFECT_SIZE CI_START CI_END Z
    P_Z CHI2 DF P_CHI2 I2 TAU2 TOTAL_1 TOTAL_2``.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"no such file: {p}", field="path")
    try:
        root = ElementTree.parse(p).getroot()
    except ElementTree.ParseError as exc:
        raise DataError(f"{p} is not a RevMan 5 XML file: {exc}", field="path") from None
    return _rm5_from_root(root, str(p))


def _rm5_from_root(root: ElementTree.Element, source: str) -> CochraneReview:
    title_el = root.find("./COVER_SHEET/TITLE")
    title = (title_el.text or "").strip() if title_el is not None else ""
    studies = {}
    for st in root.iter("STUDY"):
        sid = st.get("ID")
        if sid:
            studies[sid] = (st.get("NAME") or sid, _num(st.get("YEAR")))
    ad = root.find(".//ANALYSES_AND_DATA")
    if ad is None:
        raise DataError(f"{source} has no ANALYSES_AND_DATA element (not a RevMan 5 review with analyses)",
                        field="path")
    rows: list[dict[str, Any]] = []
    analyses: list[dict[str, Any]] = []
    for comp in ad.findall("COMPARISON"):
        comp_no = int(_num(comp.get("NO")))
        comp_name = (comp.findtext("NAME") or "").strip()
        for kind, dtype in _TYPES.items():
            for out in comp.findall(f"{kind}_OUTCOME"):
                out_no = int(_num(out.get("NO")))
                out_name = (out.findtext("NAME") or "").strip()
                measure = _measure(out.get("EFFECT_MEASURE") or out.findtext("EFFECT_MEASURE"))
                method = _method(out.get("METHOD"), dtype)
                if method == "PETO" and measure == "OR":
                    measure = "PETO"
                model = "random" if _yes(out.get("RANDOM")) else "fixed"
                swap = _yes(out.get("SWAP_EVENTS"))
                log_data = _yes(out.get("LOG_DATA"))
                base = {"comparison_no": comp_no, "comparison": comp_name, "outcome_no": out_no,
                        "outcome": out_name, "data_type": dtype, "measure": measure, "method": method,
                        "model": model}
                groups = out.findall(f"{kind}_SUBGROUP")
                parts = [(int(_num(g.get("NO"))) if g.get("NO") else math.nan, (g.findtext("NAME") or "").strip(),
                          g.findall(f"{kind}_DATA")) for g in groups] or [(math.nan, "", out.findall(f"{kind}_DATA"))]
                for sg_no, sg_name, items in parts:
                    for item in items:
                        sid = item.get("STUDY_ID") or ""
                        name, year = studies.get(sid, (sid, math.nan))
                        row = dict(base, subgroup_no=sg_no, subgroup=sg_name, study=name, study_id=sid, year=year,
                                   ai=math.nan, n1i=math.nan, ci=math.nan, n2i=math.nan, m1i=math.nan,
                                   sd1i=math.nan, m2i=math.nan, sd2i=math.nan, yi=math.nan, sei=math.nan,
                                   o_e=math.nan, var=math.nan, weight=_num(item.get("WEIGHT")),
                                   order=_num(item.get("ORDER")))
                        if dtype == "dichotomous":
                            row.update(ai=_num(item.get("EVENTS_1")), n1i=_num(item.get("TOTAL_1")),
                                       ci=_num(item.get("EVENTS_2")), n2i=_num(item.get("TOTAL_2")))
                            if swap:
                                _swap(row)
                        elif dtype == "continuous":
                            row.update(m1i=_num(item.get("MEAN_1")), sd1i=_num(item.get("SD_1")),
                                       n1i=_num(item.get("TOTAL_1")), m2i=_num(item.get("MEAN_2")),
                                       sd2i=_num(item.get("SD_2")), n2i=_num(item.get("TOTAL_2")))
                        elif dtype == "generic":
                            es = _num(item.get("EFFECT_SIZE"))
                            if measure in _RATIO and log_data:
                                es = math.log(es) if es > 0 else math.nan
                            row.update(yi=es, sei=_num(item.get("SE")), n1i=_num(item.get("TOTAL_1")),
                                       n2i=_num(item.get("TOTAL_2")))
                        else:
                            row.update(o_e=_num(item.get("O_E")), var=_num(item.get("VAR")),
                                       n1i=_num(item.get("TOTAL_1")), n2i=_num(item.get("TOTAL_2")))
                        rows.append(row)
                k, n = _k_and_n(rows, comp_no, out_no)
                tot = _num(out.get("TOTAL_1")) + _num(out.get("TOTAL_2"))
                level = _num(out.get("CI_TOTAL"))
                analyses.append(dict(
                    {c: base[c] for c in ("comparison_no", "comparison", "outcome_no", "outcome", "data_type",
                                          "measure", "method", "model")},
                    level=level / 100 if level == level else math.nan, k=k,
                    participants=tot if tot == tot else n,
                    estimate=_num(out.get("EFFECT_SIZE")), ci_lower=_num(out.get("CI_START")),
                    ci_upper=_num(out.get("CI_END")), z=_num(out.get("Z")), pvalue=_num(out.get("P_Z")),
                    q=_num(out.get("CHI2")), q_df=_num(out.get("DF")), q_pvalue=_num(out.get("P_CHI2")),
                    i2=_num(out.get("I2")), tau2=_num(out.get("TAU2")),
                    label_1=(out.findtext("GROUP_LABEL_1") or "").strip(),
                    label_2=(out.findtext("GROUP_LABEL_2") or "").strip(), swap_events=swap, log_data=log_data))
    data, an = _frames(rows, analyses)
    return CochraneReview(title=title, format="rm5", source=source, data=data, analyses=an)


# --------------------------------------------------------------------------
# Cochrane data package (RevMan web), version 1
# --------------------------------------------------------------------------

def _read_csv_text(text: str) -> list[dict[str, str]]:
    text = text.lstrip("\ufeff")
    return [dict(r) for r in csv.DictReader(io.StringIO(text))]


def _package_files(p: Path) -> tuple[str, str]:
    """Texts of the data-rows and overall-estimates CSVs of a data package (ZIP, folder or CSV path)."""
    def pick(names: list[str], suffix: str) -> str | None:
        hits = [n for n in names if n.lower().endswith(suffix)]
        return hits[0] if hits else None

    if p.is_file() and p.suffix.lower() == ".zip":
        texts: dict[str, str] = {}

        def walk(zf: zipfile.ZipFile, depth: int = 0) -> None:
            for name in zf.namelist():
                low = name.lower()
                if low.endswith("-data-rows.csv") or low.endswith("-overall-estimates-and-settings.csv"):
                    texts[name] = zf.read(name).decode("utf-8-sig")
                elif low.endswith(".zip") and depth < 3:
                    with zipfile.ZipFile(io.BytesIO(zf.read(name))) as inner:
                        walk(inner, depth + 1)

        try:
            with zipfile.ZipFile(p) as zf:
                walk(zf)
        except zipfile.BadZipFile:
            raise DataError(f"{p} is not a ZIP file", field="path") from None
        names = list(texts)
        rows_name = pick(names, "-data-rows.csv")
        set_name = pick(names, "-overall-estimates-and-settings.csv")
        if rows_name is None or set_name is None:
            raise DataError(f"{p} holds no analysis data (*-data-rows.csv and "
                            "*-overall-estimates-and-settings.csv)", field="path")
        return texts[rows_name], texts[set_name]
    if p.is_dir():
        files = [str(f) for f in p.rglob("*.csv")]
    elif p.is_file() and p.suffix.lower() == ".csv":
        files = [str(f) for f in p.parent.glob("*.csv")]
        if not p.name.lower().endswith(("-data-rows.csv", "-overall-estimates-and-settings.csv")):
            raise DataError(f"{p.name} is neither *-data-rows.csv nor *-overall-estimates-and-settings.csv",
                            field="path")
    else:
        raise DataError(f"no such file or folder: {p}", field="path")
    rows_name = pick(files, "-data-rows.csv")
    set_name = pick(files, "-overall-estimates-and-settings.csv")
    if rows_name is None or set_name is None:
        raise DataError(f"{p}: a data package needs *-data-rows.csv and *-overall-estimates-and-settings.csv "
                        "side by side", field="path")
    return (Path(rows_name).read_text(encoding="utf-8-sig"), Path(set_name).read_text(encoding="utf-8-sig"))


def _get(row: dict[str, str], *names: str) -> str | None:
    low = {k.strip().lower(): v for k, v in row.items() if k is not None}
    for n in names:
        if n.lower() in low:
            return low[n.lower()]
    return None


def _dtype_word(word: str | None) -> str:
    w = (word or "").strip().lower()
    if w.startswith("contrast"):
        return "generic"
    if w.startswith("dich"):
        return "dichotomous"
    if w.startswith("cont"):
        return "continuous"
    if w.startswith("o-e") or w.startswith("o_e"):
        return "o_e"
    return "generic"


def read_data_package(path: str | Path, title: str = "") -> CochraneReview:
    """Read the analyses of a Cochrane data package exported by RevMan (web).

    Parameters
    ----------
    path : str or Path
        The data package: its ZIP file (nested ZIPs are searched), its folder,
        or the path of its ``*-data-rows.csv`` or
        ``*-overall-estimates-and-settings.csv`` (the other file must sit
        beside it).
    title : str
        Review title (the package does not carry one).

    Returns
    -------
    CochraneReview

    Raises
    ------
    DataError
        Missing files or columns.

    Notes
    -----
    Column names follow the data-package specification (version 1):
    "Analysis group", "Analysis number", "Analysis name", "Subgroup",
    "Study", "Study year", "Experimental cases", "Experimental N", "Control
    cases", "Control N", "Experimental mean", "Experimental SD", "Control
    mean", "Control SD", "GIV Mean", "GIV SE" (on the log scale when the
    analysis has "Log-scale data" TRUE), "O-E", "Variance", "Weight"; and in the
    settings file "Data type", "Statistical method", "Effect measure",
    "Analysis model", "Estimate CI", "Swap event and non-event", "Mean", "CI
    start", "CI end", "Heterogeneity Tau²", "Heterogeneity Chi²",
    "Heterogeneity df", "Heterogeneity P", "Heterogeneity I²", "Effect Z",
    "Effect P". Names are matched without regard to case.
    """
    p = Path(path)
    rows_text, set_text = _package_files(p)
    settings = _read_csv_text(set_text)
    data_rows = _read_csv_text(rows_text)
    if not settings:
        raise DataError(f"{p}: the overall-estimates-and-settings file has no analyses", field="path")
    meta: dict[tuple[int, int], dict[str, Any]] = {}
    analyses: list[dict[str, Any]] = []
    for s in settings:
        comp, out = _num(_get(s, "Analysis group")), _num(_get(s, "Analysis number"))
        if math.isnan(comp) or math.isnan(out):
            raise DataError(f"{p}: an analysis lacks 'Analysis group' or 'Analysis number'", field="Analysis group")
        dtype = _dtype_word(_get(s, "Data type"))
        measure = _measure(_get(s, "Effect measure"))
        method = _method(_get(s, "Statistical method"), dtype)
        if method == "PETO" and measure == "OR":
            measure = "PETO"
        model = "random" if "random" in (_get(s, "Analysis model") or "").lower() else "fixed"
        swap = _yes(_get(s, "Swap event and non-event"))
        log_data = _yes(_get(s, "Log-scale data"))
        level = _num(_get(s, "Estimate CI"))
        info = {"comparison_no": int(comp), "comparison": (_get(s, "Analysis group name") or "").strip(),
                "outcome_no": int(out), "outcome": (_get(s, "Analysis name") or "").strip(), "data_type": dtype,
                "measure": measure, "method": method, "model": model, "swap": swap}
        meta[(int(comp), int(out))] = info
        tot = _num(_get(s, "Experimental N")) + _num(_get(s, "Control N"))
        analyses.append({
            **{c: info[c] for c in ("comparison_no", "comparison", "outcome_no", "outcome", "data_type", "measure",
                                    "method", "model")},
            "level": level / 100 if level == level else math.nan, "k": 0, "participants": tot,
            "estimate": _num(_get(s, "Mean")), "ci_lower": _num(_get(s, "CI start")),
            "ci_upper": _num(_get(s, "CI end")), "z": _num(_get(s, "Effect Z")), "pvalue": _num(_get(s, "Effect P")),
            "q": _num(_get(s, "Heterogeneity Chi²", "Heterogeneity Chi2")),
            "q_df": _num(_get(s, "Heterogeneity df")), "q_pvalue": _num(_get(s, "Heterogeneity P")),
            "i2": _num(_get(s, "Heterogeneity I²", "Heterogeneity I2")),
            "tau2": _num(_get(s, "Heterogeneity Tau²", "Heterogeneity Tau2")),
            "label_1": (_get(s, "Experimental group label") or "").strip(),
            "label_2": (_get(s, "Control group label") or "").strip(), "swap_events": swap, "log_data": log_data})
    rows: list[dict[str, Any]] = []
    sub_no: dict[tuple[int, int], dict[str, int]] = {}
    for i, r in enumerate(data_rows):
        comp, out = _num(_get(r, "Analysis group")), _num(_get(r, "Analysis number"))
        key = (int(comp), int(out)) if not (math.isnan(comp) or math.isnan(out)) else None
        if key is None or key not in meta:
            raise DataError(f"{p}: data row {i + 1} belongs to no analysis in the settings file "
                            f"(Analysis group {comp}, Analysis number {out})", field="Analysis group")
        info = meta[key]
        sg = (_get(r, "Subgroup") or "").strip()
        sg_map = sub_no.setdefault(key, {})
        if sg and sg not in sg_map:
            sg_map[sg] = len(sg_map) + 1
        row = {c: info[c] for c in ("comparison_no", "comparison", "outcome_no", "outcome", "data_type", "measure",
                                    "method", "model")}
        row.update(subgroup_no=sg_map.get(sg, math.nan), subgroup=sg, study=(_get(r, "Study") or "").strip(),
                   study_id="", year=_num(_get(r, "Study year")), ai=math.nan, n1i=math.nan, ci=math.nan,
                   n2i=math.nan, m1i=math.nan, sd1i=math.nan, m2i=math.nan, sd2i=math.nan, yi=math.nan,
                   sei=math.nan, o_e=math.nan, var=math.nan, weight=_num(_get(r, "Weight")), order=float(i + 1))
        dt = info["data_type"]
        if dt == "dichotomous":
            row.update(ai=_num(_get(r, "Experimental cases")), n1i=_num(_get(r, "Experimental N")),
                       ci=_num(_get(r, "Control cases")), n2i=_num(_get(r, "Control N")))
            if info["swap"]:
                _swap(row)
        elif dt == "continuous":
            row.update(m1i=_num(_get(r, "Experimental mean")), sd1i=_num(_get(r, "Experimental SD")),
                       n1i=_num(_get(r, "Experimental N")), m2i=_num(_get(r, "Control mean")),
                       sd2i=_num(_get(r, "Control SD")), n2i=_num(_get(r, "Control N")))
        elif dt == "generic":
            row.update(yi=_num(_get(r, "GIV Mean")), sei=_num(_get(r, "GIV SE")),
                       n1i=_num(_get(r, "Experimental N")), n2i=_num(_get(r, "Control N")))
        else:
            row.update(o_e=_num(_get(r, "O-E")), var=_num(_get(r, "Variance")),
                       n1i=_num(_get(r, "Experimental N")), n2i=_num(_get(r, "Control N")))
        rows.append(row)
    for a in analyses:
        k, n = _k_and_n(rows, a["comparison_no"], a["outcome_no"])
        a["k"] = k
        if not a["participants"] == a["participants"]:
            a["participants"] = n
    data, an = _frames(rows, analyses)
    return CochraneReview(title=title, format="data package", source=str(p), data=data, analyses=an)


# --------------------------------------------------------------------------
# RevMan 5 "analysis data" CSV export
# --------------------------------------------------------------------------

_CSV_TYPES = {"DIC": "dichotomous", "CON": "continuous", "CONT": "continuous", "IV": "generic", "IPD": "o_e", "OE": "o_e"}


def read_revman5_csv(path: str | Path, title: str = "") -> CochraneReview:
    """Read the analysis-data CSV that RevMan 5 exports.

    The file has a header row per outcome ("Comparison Number", "Outcome
    Number", "Subgroup Number", "Name", "Data Type" = DIC/CONT/IV/IPD,
    "Statistical Method", "Effect Measure", "Analysis Model", totals and
    pooled results) followed by one row per study ("Events 1", "Total 1",
    "Mean 1", "SD 1", ..., "Effect Estimate", "SE", "Weight", "Year of
    study"). For generic inverse-variance rows "Effect Estimate" is taken on
    the displayed scale and log-transformed for ratio measures.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"no such file: {p}", field="path")
    recs = _read_csv_text(p.read_text(encoding="utf-8-sig", errors="replace"))
    rows: list[dict[str, Any]] = []
    analyses: list[dict[str, Any]] = []
    comps: dict[int, str] = {}
    cur: dict[str, Any] | None = None
    sg_names: dict[tuple[int, int, int], str] = {}
    for r in recs:
        comp, out, sg = (_num(_get(r, n)) for n in ("Comparison Number", "Outcome Number", "Subgroup Number"))
        name = (_get(r, "Name") or "").strip()
        dtype_word = (_get(r, "Data Type") or "").strip().upper()
        if math.isnan(comp):
            continue
        if out == 0:
            comps[int(comp)] = name
            continue
        if dtype_word:
            dtype = _CSV_TYPES.get(dtype_word, "generic")
            measure = _measure(_get(r, "Effect Measure"))
            method = _method(_get(r, "Statistical Method"), dtype)
            if method == "PETO" and measure == "OR":
                measure = "PETO"
            model = "random" if "random" in (_get(r, "Analysis Model") or "").lower() else "fixed"
            cur = {"comparison_no": int(comp), "comparison": comps.get(int(comp), ""), "outcome_no": int(out),
                   "outcome": name, "data_type": dtype, "measure": measure, "method": method, "model": model}
            tot = _num(_get(r, "Total 1")) + _num(_get(r, "Total 2"))
            analyses.append({**cur, "level": 0.95, "k": 0, "participants": tot,
                             "estimate": _num(_get(r, "Effect Estimate")), "ci_lower": _num(_get(r, "CI Start")),
                             "ci_upper": _num(_get(r, "CI End")), "z": _num(_get(r, "Z")),
                             "pvalue": _num(_get(r, "P(Z)")), "q": _num(_get(r, "Q")), "q_df": _num(_get(r, "df")),
                             "q_pvalue": _num(_get(r, "P(Q)")), "i2": _num(_get(r, "I²(Q)", "I2(Q)")),
                             "tau2": _num(_get(r, "Tau²", "Tau2")),
                             "label_1": (_get(r, "Group Label 1") or "").strip(),
                             "label_2": (_get(r, "Group Label 2") or "").strip(), "swap_events": False,
                             "log_data": False})
            continue
        if cur is None or int(out) != cur["outcome_no"] or int(comp) != cur["comparison_no"]:
            raise DataError(f"{p}: study row {name!r} comes before its outcome's header row", field="Outcome Number")
        sg_key = (int(comp), int(out), int(sg) if sg == sg else 0)
        has_data = any(_get(r, c) not in (None, "") for c in ("Events 1", "Total 1", "Effect Estimate", "SE"))
        if sg == sg and sg > 0 and not has_data:
            sg_names[sg_key] = name
            continue
        dtype = cur["data_type"]
        row = {**cur, "subgroup_no": sg if sg == sg and sg > 0 else math.nan,
               "subgroup": sg_names.get(sg_key, ""), "study": name, "study_id": "",
               "year": _num(_get(r, "Year of study")), "ai": math.nan, "n1i": _num(_get(r, "Total 1")),
               "ci": math.nan, "n2i": _num(_get(r, "Total 2")), "m1i": math.nan, "sd1i": math.nan, "m2i": math.nan,
               "sd2i": math.nan, "yi": math.nan, "sei": math.nan, "o_e": math.nan, "var": math.nan,
               "weight": _num(_get(r, "Weight")), "order": _num(_get(r, "User defined order"))}
        if dtype == "dichotomous":
            row.update(ai=_num(_get(r, "Events 1")), ci=_num(_get(r, "Events 2")))
        elif dtype == "continuous":
            row.update(m1i=_num(_get(r, "Mean 1")), sd1i=_num(_get(r, "SD 1")), m2i=_num(_get(r, "Mean 2")),
                       sd2i=_num(_get(r, "SD 2")))
        else:
            es = _num(_get(r, "Effect Estimate"))
            if cur["measure"] in _RATIO:
                es = math.log(es) if es > 0 else math.nan
            row.update(yi=es, sei=_num(_get(r, "SE")))
        rows.append(row)
    if not analyses:
        raise DataError(f"{p} has no outcome header rows (not a RevMan 5 analysis-data export)", field="path")
    for a in analyses:
        k, n = _k_and_n(rows, a["comparison_no"], a["outcome_no"])
        a["k"] = k
        if not a["participants"] == a["participants"]:
            a["participants"] = n
    data, an = _frames(rows, analyses)
    return CochraneReview(title=title, format="revman5 csv", source=str(p), data=data, analyses=an)


def read_cochrane(path: str | Path, title: str = "") -> CochraneReview:
    """Read Cochrane review data, choosing the reader by the file: ``.rm5`` (XML), a data package (ZIP or
    folder or its CSV files), or RevMan 5's analysis-data CSV."""
    p = Path(path)
    if p.suffix.lower() == ".rm5":
        return read_rm5(p)
    if p.suffix.lower() == ".csv" and not p.name.lower().endswith(("-data-rows.csv",
                                                                   "-overall-estimates-and-settings.csv")):
        return read_revman5_csv(p, title=title)
    return read_data_package(p, title=title)
