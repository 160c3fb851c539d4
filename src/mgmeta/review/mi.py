"""Intravenous magnesium in acute myocardial infarction: the published meta-analyses, recomputed.

A second evidence base beside the migraine data, kept in ``data/mi/`` in the
same schema (its own ``datapackage.json``). Unlike the migraine reviews, the
per-trial deaths of the myocardial-infarction reviews are public, so their
pooled results can be recomputed and checked digit by digit:

- :func:`trial_data` returns the trials of one extraction (``"short_term"``:
  Egger, Davey Smith & Altman 2001, Table 18.2; ``"early_35d"``: Li et al.
  2007) with their years and the source of every number.
- :func:`reproduction_table` recomputes every result of ``data/mi/published.csv``
  under the conventions the paper states (Peto's method, Mantel-Haenszel,
  DerSimonian-Laird as RevMan 5 runs it) and gives each a status:
  ``reproduced`` (every printed digit of the estimate and CI), ``differs``
  (with the conventions that move it, from :func:`mgmeta.reproduce`) or
  ``cannot be recomputed`` (with what is missing).
- :func:`first_significant` finds where a cumulative meta-analysis first
  crosses a significance level (the claim of Egger & Davey Smith 1995).
- :func:`weight_shares` says how much of the total weight the small trials get
  under fixed and random effects: why the two models disagree here.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mgmeta.effects import effect_sizes
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.models import MetaAnalysisResult, meta_analysis
from mgmeta.reproduce import published_model, reproduce
from mgmeta.review import data as mgdata
from mgmeta.review.reproduction import DIFFERS, NOT_RECOMPUTABLE, REPRODUCED, within_rounding

__all__ = ["MI_DATA", "mi_path", "trial_data", "reproduction_table", "first_significant", "weight_shares",
           "cumulative_peto", "key_numbers", "effects", "source_table", "REPRO_COLUMNS"]

#: Default folder of the myocardial-infarction data package.
MI_DATA = Path(__file__).resolve().parents[3] / "data" / "mi"
#: Comparisons of the MI trials (placebo; ISIS-4's open control; not described in the sources seen).
_COMPARISONS = ("placebo", "usual care", "unclear")
#: Columns of :func:`reproduction_table`.
REPRO_COLUMNS = ["result_id", "review", "outcome", "comparison", "measure", "method", "published_estimate",
                 "published_ci_lower", "published_ci_upper", "published_k", "recomputed_estimate",
                 "recomputed_ci_lower", "recomputed_ci_upper", "recomputed_pvalue", "recomputed_k", "profile",
                 "status", "reason", "trials", "sources"]


def mi_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The MI data folder: ``path`` when given, else ``data/mi`` of the repository."""
    return mgdata.data_path(path if path is not None else MI_DATA)


def trial_data(timepoint: str = "early_35d", trials: Sequence[str] | None = None, *,
               path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Deaths and arm sizes of the MI trials of one extraction, one row per trial.

    Parameters
    ----------
    timepoint : {"early_35d", "short_term"}
        ``"early_35d"``: early mortality as Li et al. (2007) extracted it (22
        trials); ``"short_term"``: short-term mortality as Egger, Davey Smith &
        Altman (2001, Table 18.2) tabulated it (16 trials).
    trials : sequence of str, optional
        Trial ids to keep, in this order (default: every trial, by year; trials of
        one year in the order of ``trials.csv``, which is that of Table 18.2).
    path : path, optional
        Data folder (default ``data/mi``).

    Returns
    -------
    DataFrame
        The :func:`mgmeta.review.data.analysis_data` columns (``ai n1i ci n2i``,
        magnesium first) plus ``year``, ``participants`` and ``sources`` (the
        source URL and locator of every number used, ``" | "``-separated).

    Examples
    --------
    >>> from mgmeta.review.mi import trial_data
    >>> teo = trial_data("short_term").head(7)
    >>> int(teo["ai"].sum()), int(teo["n1i"].sum()), int(teo["ci"].sum()), int(teo["n2i"].sum())
    (25, 657, 53, 644)
    """
    folder = mi_path(path)
    frame = mgdata.analysis_data("death", timepoint, measure="OR", comparison=_COMPARISONS, path=folder)
    tr = mgdata.load_trials(folder).set_index("trial_id")
    out = mgdata.load_outcomes(folder).set_index("record_id")
    frame["year"] = [int(tr.loc[t, "year"]) for t in frame["trial_id"]]
    frame["participants"] = frame["n1i"] + frame["n2i"]

    def sources(records: str) -> str:
        ids = [r for r in str(records).split(";") if r.strip()]
        return " | ".join(f"{r}: {out.loc[r.strip(), 'source_url']} ({out.loc[r.strip(), 'locator']})" for r in ids)

    frame["sources"] = [sources(r) for r in frame["records"]]
    if trials is not None:
        wanted = list(trials)
        unknown = [t for t in wanted if t not in set(frame["trial_id"])]
        if unknown:
            raise DataError(f"no {timepoint} deaths for trial(s) {unknown}", field="trials")
        frame = frame.set_index("trial_id").loc[wanted].reset_index()
    else:
        frame = frame.sort_values("year", kind="stable").reset_index(drop=True)  # ties: order of trials.csv
    frame.attrs.update(measure="OR", timepoint=timepoint)
    return frame


def source_table(*, path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Every trial of both extractions with its deaths and arm sizes and where each number comes from.

    Returns
    -------
    DataFrame
        One row per trial and extraction: ``extraction`` (``short_term``:
        Egger et al. 2001 Table 18.2; ``early_35d``: Li et al. 2007),
        ``study``, ``year``, ``deaths_mg``, ``n_mg``, ``deaths_control``,
        ``n_control``, ``primary`` (how many of the four numbers cite the
        trial's own report rather than metadat) and ``sources`` (the distinct
        source URLs).

    Examples
    --------
    >>> from mgmeta.review.mi import source_table
    >>> tab = source_table()
    >>> tab.groupby("extraction").size().to_dict()
    {'early_35d': 22, 'short_term': 16}
    """
    folder = mi_path(path)
    out = mgdata.load_outcomes(folder).set_index("record_id")
    rows = []
    for tp in ("short_term", "early_35d"):
        frame = trial_data(tp, path=folder)
        for r in frame.itertuples(index=False):
            ids = [i.strip() for i in str(r.records).split(";") if i.strip()]
            urls = [str(out.loc[i, "source_url"]) for i in ids]
            rows.append({"extraction": tp, "study": r.study, "year": r.year, "deaths_mg": int(r.ai),
                         "n_mg": int(r.n1i), "deaths_control": int(r.ci), "n_control": int(r.n2i),
                         "primary": sum("metadat" not in u for u in urls),
                         "sources": " ; ".join(dict.fromkeys(urls))})
    return pd.DataFrame(rows)


def first_significant(cum: pd.DataFrame, alpha: float = 0.001) -> int | None:
    """1-based position of the first cumulative fit with p < ``alpha`` (None if it never gets there).

    Parameters
    ----------
    cum : DataFrame
        A cumulative table with a ``pvalue`` column (:func:`mgmeta.cumulative`).
    alpha : float

    Examples
    --------
    >>> import pandas as pd
    >>> first_significant(pd.DataFrame({"pvalue": [0.2, 0.01, 0.0004, 0.002]}))
    3
    """
    p = pd.to_numeric(cum["pvalue"], errors="coerce").to_numpy()
    hit = np.flatnonzero(p < alpha)
    return int(hit[0]) + 1 if len(hit) else None


def weight_shares(frame: pd.DataFrame, *, small: int = 1000, profile: str = "revman5") -> pd.DataFrame:
    """Share of the total weight that trials below ``small`` participants get, fixed vs random effects.

    Parameters
    ----------
    frame : DataFrame
        Trial rows with ``ai n1i ci n2i`` (e.g. :func:`trial_data`).
    small : int
        Trials with fewer participants count as small.
    profile : str
        Software profile of both fits (RevMan 5: Mantel-Haenszel based).

    Returns
    -------
    DataFrame
        One row per model (``fixed``, ``random``) with ``estimate ci_lower
        ci_upper`` (odds ratios), ``tau2``, ``small_trials`` (count),
        ``small_share`` (percent of the total weight), and ``largest_trial`` with
        its ``largest_share`` (percent).
    """
    es = effects(frame)
    small_mask = (frame["n1i"] + frame["n2i"]).to_numpy() < small
    big = int(np.argmax((frame["n1i"] + frame["n2i"]).to_numpy()))
    rows = []
    for model, method in (("fixed", "EE"), ("random", "DL")):
        res = meta_analysis(es, method=method, profile=profile)
        w = np.asarray(res.weights, dtype=float)
        w = 100 * w / w.sum()
        rows.append({"model": model, "estimate": math.exp(res.estimate), "ci_lower": math.exp(res.ci_lower),
                     "ci_upper": math.exp(res.ci_upper), "tau2": float(res.tau2) if res.random else 0.0,
                     "small_trials": int(small_mask.sum()), "small_share": float(w[small_mask].sum()),
                     "largest_trial": str(frame["study"].iloc[big]), "largest_share": float(w[big])})
    return pd.DataFrame(rows)


def effects(frame: pd.DataFrame, measure: str = "OR") -> pd.DataFrame:
    """Effect sizes (:func:`mgmeta.effect_sizes`) of MI trial rows, magnesium vs control, labelled by study.

    ``measure="PETO"`` uses no continuity correction (Peto's O-E/V needs none, as ``rma.peto``); for
    odds ratios 0.5 is added to the tables with a zero cell (Urek 1996, Santoro 2000), as RevMan and
    metafor do, without the warning.
    """
    kw: dict[str, Any] = {"to": "none"} if measure == "PETO" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        return effect_sizes(measure, ai=frame["ai"].to_numpy(), n1i=frame["n1i"].to_numpy(),
                            ci=frame["ci"].to_numpy(), n2i=frame["n2i"].to_numpy(),
                            labels=frame["study"].tolist(), **kw)


def _method(model: str, measure: str) -> tuple[str, str, str]:
    """(measure for effect_sizes, profile, words) for a published model description."""
    text = model.lower()
    kind, est = published_model(model)
    if "peto" in text:
        return "PETO", "metafor", "Peto (fixed)"
    if kind == "fixed":
        if "mantel" in text or "revman" in text:
            return measure, "revman5", "Mantel-Haenszel (fixed)"
        return "PETO", "metafor", "fixed (method not stated; Peto assumed, as in Teo 1991)"
    return measure, "revman5", f"random effects ({est or 'DL'}; RevMan 5)"


def _num(x: Any) -> float:
    return float(x) if x is not None and not pd.isna(x) else math.nan


def reproduction_table(*, path: str | os.PathLike[str] | None = None,
                       profiles: Sequence[str] = ("revman5", "metafor", "meta", "stata_metan")) -> pd.DataFrame:
    """Every published result of ``data/mi/published.csv``, recomputed under the paper's conventions.

    Parameters
    ----------
    path : path, optional
        Data folder (default ``data/mi``).
    profiles : sequence of str
        Software profiles compared by :func:`mgmeta.reproduce` for the
        explanation of a difference.

    Returns
    -------
    DataFrame
        One row per published result (:data:`REPRO_COLUMNS`): the published
        and recomputed estimate and CI (odds ratios), ``published_k`` /
        ``recomputed_k``, ``method`` (the convention used), ``profile``,
        ``status`` (``reproduced``: every printed digit of the estimate and CI
        matches after rounding; ``differs``; ``cannot be recomputed``),
        ``reason``, ``trials`` (ids used) and ``sources`` (the source URLs of
        the numbers used). ``frame.attrs["diffs"]`` holds the
        :func:`mgmeta.reproduce` table of each recomputed result.

    Examples
    --------
    >>> from mgmeta.review.mi import reproduction_table
    >>> tab = reproduction_table().set_index("result_id")
    >>> row = tab.loc["li2007.death.random"]
    >>> f"{row['recomputed_estimate']:.2f}", row["status"]
    ('0.66', 'reproduced')
    """
    folder = mi_path(path)
    published = mgdata.load_published(folder)
    links = mgdata.load_published_trials(folder)
    rows: list[dict[str, Any]] = []
    diffs: dict[str, pd.DataFrame] = {}
    for pub in published.itertuples(index=False):
        rid = str(pub.result_id)
        model = "" if pd.isna(pub.model) else str(pub.model)
        row: dict[str, Any] = {
            "result_id": rid, "review": pub.review, "outcome": pub.outcome, "comparison": pub.comparison,
            "measure": pub.measure, "method": model, "published_estimate": _num(pub.estimate),
            "published_ci_lower": _num(pub.ci_lower), "published_ci_upper": _num(pub.ci_upper),
            "published_k": None if pd.isna(pub.k) else int(pub.k), "recomputed_estimate": math.nan,
            "recomputed_ci_lower": math.nan, "recomputed_ci_upper": math.nan, "recomputed_pvalue": math.nan,
            "recomputed_k": None, "profile": "", "status": NOT_RECOMPUTABLE, "reason": "", "trials": "",
            "sources": ""}
        claim = "" if pd.isna(pub.claim) else str(pub.claim)
        mine = links[links["result_id"] == rid]
        ids = [str(t) for t in mine["trial_id"]]
        listed = [str(t) for t, b in zip(mine["trial_id"], mine["basis"]) if b != "candidate"]
        tp = "" if pd.isna(pub.data_timepoint) else str(pub.data_timepoint)
        row["trials"] = "; ".join(ids)
        if not ids or not tp:
            row["reason"] = ("the trial list is not known" if not ids else "the time point of the data is not known")
            if pub.outcome != "death":
                row["reason"] = (f"per-trial counts of {str(pub.outcome).replace('_', ' ')} are not in any source "
                                 "seen (metadat holds deaths only)")
            elif "thrombolysis" in str(pub.comparison) or "mmol" in str(pub.comparison):
                row["reason"] = ("the subgroup of each trial (thrombolysis, dose) is not in any source seen")
            elif pub.measure == "unknown":
                row["reason"] = "the published estimate and its effect measure were not seen; " + row["reason"]
            rows.append(row)
            continue
        frame = trial_data(tp, ids, path=folder)
        row["sources"] = "; ".join(dict.fromkeys(
            s.split(": ", 1)[1].split(" (")[0] for src in frame["sources"] for s in src.split(" | ")))
        if not model and pub.measure == "unknown":
            row["method"] = "fixed, Peto (as in Teo 1991; the paper's own not seen)"
        measure, prof, words = _method(row["method"], "OR")
        es = effects(frame, measure)
        fixed = measure == "PETO" or published_model(row["method"])[0] == "fixed"
        res = meta_analysis(es, method="EE" if fixed else "DL", profile=prof)
        row.update(recomputed_estimate=math.exp(res.estimate), recomputed_ci_lower=math.exp(res.ci_lower),
                   recomputed_ci_upper=math.exp(res.ci_upper), recomputed_pvalue=float(res.pvalue),
                   recomputed_k=int(res.k), profile=prof, method=words)
        if claim:
            row.update(_check_claim(claim, es, prof, frame, listed))
            rows.append(row)
            continue
        if math.isnan(row["published_estimate"]):
            row["reason"] = ("the published estimate was not seen; the recomputation from the stated trial list "
                             "is shown for reference")
            rows.append(row)
            continue
        given = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in pub._asdict().items()}
        given["model"] = "fixed" if fixed else "random (DL)"
        given["k"] = None  # k is the review's total, not this analysis's
        given["participants"] = None
        tab = reproduce(given, es, profiles=list(profiles), base=prof if prof in profiles else None,
                        measure=measure)
        diffs[rid] = tab
        checks = [(n, row[f"recomputed_{n}"], row[f"published_{n}"]) for n in ("estimate", "ci_lower", "ci_upper")
                  if not math.isnan(row[f"published_{n}"])]
        off = [n for n, r, p in checks if not within_rounding(r, p)]
        kk = f"k = {row['recomputed_k']} trials used" + (
            f" of {row['published_k']} in the review" if row["published_k"] else "")
        if not off:
            row["status"] = REPRODUCED
            row["reason"] = (f"{'estimate and CI' if len(checks) > 1 else 'estimate (no CI printed as numbers)'} "
                             f"match every printed digit under {words}; {kk}; p = {res.pvalue:.2g}")
        else:
            row["status"] = DIFFERS
            q = tab.set_index("quantity")
            moved = [f"{c.removeprefix('changed_by_')}: {q.loc['estimate', c]}" for c in q.columns
                     if c.startswith("changed_by_") and str(q.loc["estimate", c]).strip()]
            row["reason"] = ("; ".join(f"{n}: {r:.4g} vs {p:.4g}" for n, r, p in checks if n in off) + "; " + kk +
                             (" (conventions that move the estimate: " + "; ".join(moved) + ")" if moved else
                              " (no software convention explains it: the trial data or list may differ)"))
        rows.append(row)
    out = pd.DataFrame(rows, columns=REPRO_COLUMNS)
    out.attrs["diffs"] = diffs
    return out


def _check_claim(claim: str, es: pd.DataFrame, prof: str, frame: pd.DataFrame,
                 listed: Sequence[str]) -> dict[str, Any]:
    """Status of a 'first_p_below=<alpha>;k=<n>' claim on the cumulative analysis in year order."""
    m = re.fullmatch(r"first_p_below=(0\.[0-9]+);k=([0-9]+)", claim)
    if m is None:
        raise DataError(f"cannot read the claim {claim!r}", field="claim")
    alpha, k = float(m.group(1)), int(m.group(2))
    res = meta_analysis(es, method="EE", profile=prof)
    cum = res.cumulative()
    hit = first_significant(cum, alpha)
    out: dict[str, Any] = {"recomputed_k": hit, "published_k": k}
    if hit is None:
        out.update(status=DIFFERS, reason=f"the cumulative analysis never reaches p < {alpha:g}")
        return out
    at = cum.iloc[hit - 1]
    first = [str(t) for t in frame["trial_id"].iloc[:hit]]
    same_trials = sorted(first) == sorted(listed) if listed else True
    out.update(recomputed_estimate=math.exp(at["estimate"]), recomputed_ci_lower=math.exp(at["ci_lower"]),
               recomputed_ci_upper=math.exp(at["ci_upper"]), recomputed_pvalue=float(at["pvalue"]))
    text = (f"claim: the cumulative meta-analysis in year order first reaches p < {alpha:g} with trial {k}; "
            f"recomputed: with trial {hit} ({frame['study'].iloc[hit - 1]}), "
            f"OR {math.exp(at['estimate']):.2f} ({math.exp(at['ci_lower']):.2f} to {math.exp(at['ci_upper']):.2f}), "
            f"p = {at['pvalue']:.2g}")
    if hit == k and same_trials:
        out.update(status=REPRODUCED, reason=text + "; the odds ratio itself was not seen in the paper")
    else:
        out.update(status=DIFFERS, reason=text)
    return out


def cumulative_peto(frame: pd.DataFrame) -> tuple[MetaAnalysisResult, pd.DataFrame]:
    """Peto fit of ``frame`` and its cumulative analysis in row order, with odds ratios added.

    Returns
    -------
    (MetaAnalysisResult, DataFrame)
        The fixed-effect fit of the Peto log odds ratios (identical to
        :func:`mgmeta.peto`) and :meth:`~mgmeta.MetaAnalysisResult.cumulative`
        with ``odds_ratio``, ``or_lower``, ``or_upper``, ``year`` and
        ``patients`` (participants so far).
    """
    es = effects(frame, "PETO")
    fit = meta_analysis(es, method="EE")
    cum = fit.cumulative().copy()
    cum["odds_ratio"] = np.exp(cum["estimate"].to_numpy())
    cum["or_lower"] = np.exp(cum["ci_lower"].to_numpy())
    cum["or_upper"] = np.exp(cum["ci_upper"].to_numpy())
    cum["year"] = frame["year"].to_numpy()
    cum["patients"] = np.cumsum(frame["participants"].to_numpy())
    return fit, cum


def key_numbers(*, alpha: float = 0.001, small: int = 1000, path: str | os.PathLike[str] | None = None
                ) -> dict[str, Any]:
    """The numbers the report's conclusions quote, computed from ``data/mi`` (odds ratios on the natural scale).

    Keys: ``teo`` (Peto OR, CI, p of Teo's seven trials), ``k_sig`` and ``patients_sig`` (where the
    cumulative analysis first reaches p < ``alpha``), ``pre_isis`` (all trials of Table 18.2 before
    ISIS-4), ``isis4`` (ISIS-4 alone), ``all`` (with ISIS-4), ``li_fixed``/``li_random`` (Li 2007's
    trials, RevMan 5), ``shares`` (:func:`weight_shares`), ``egger`` (Egger's regression test, ``lm``,
    on Li 2007's trials), ``small_sizes`` (sizes of the trials below ``small`` patients).
    """
    folder = mi_path(path)
    eg = trial_data("short_term", path=folder)
    li = trial_data("early_35d", path=folder)
    _, cum = cumulative_peto(eg)
    k_sig = first_significant(cum, alpha)

    def peto_of(frame: pd.DataFrame) -> dict[str, float]:
        res = meta_analysis(effects(frame, "PETO"), method="EE")
        return {"or": math.exp(res.estimate), "lower": math.exp(res.ci_lower), "upper": math.exp(res.ci_upper),
                "p": float(res.pvalue), "k": int(res.k), "patients": int(frame["participants"].sum())}

    is_isis = eg["trial_id"] == "isis4_1995"
    es_li = effects(li)
    out: dict[str, Any] = {
        "teo": peto_of(eg.head(7)), "k_sig": k_sig,
        "patients_sig": int(eg["participants"].iloc[:k_sig].sum()) if k_sig else None,
        "pre_isis": peto_of(eg[~is_isis]), "isis4": peto_of(eg[is_isis]), "all": peto_of(eg),
        "shares": weight_shares(li, small=small), "small_sizes": li.loc[li["participants"] < small, "participants"]}
    for name, method in (("li_fixed", "EE"), ("li_random", "DL")):
        res = meta_analysis(es_li, method=method, profile="revman5")
        out[name] = {"or": math.exp(res.estimate), "lower": math.exp(res.ci_lower), "upper": math.exp(res.ci_upper),
                     "tau2": float(res.tau2) if res.random else 0.0, "i2": float(res.i2), "k": int(res.k)}
    from mgmeta.analyses.bias import egger_test
    out["egger"] = egger_test(meta_analysis(es_li, method="DL"), model="lm")
    return out
