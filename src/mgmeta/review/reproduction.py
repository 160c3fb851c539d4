"""The published pooled results of magnesium for migraine, recomputed where the data allow.

Every result of ``data/published.csv`` with its status: reproduced within the
paper's rounding, differs (and which software convention moves it, from
:func:`mgmeta.reproduce`), or cannot be recomputed (and what is missing). A
published pool may mix comparators; it is recomputed as the review pooled it,
with its comparison classes, and labelled so.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from mgmeta.review.outcomes import pool_outcome

# --------------------------------------------------------------------------

#: Status of a published result in :func:`reproduction_table`.
REPRODUCED = "reproduced"
DIFFERS = "differs"
NOT_RECOMPUTABLE = "cannot be recomputed"
#: Comparisons searched for a published result, in order of preference per trial (its trial list decides).
_ANY_COMPARISON = ("placebo", "add-on", "active", "usual care")
_REPRO_COLUMNS = ["result_id", "review", "outcome", "timepoint", "route", "measure", "published_estimate",
                  "published_ci_lower", "published_ci_upper", "published_k", "recomputed_estimate",
                  "recomputed_ci_lower", "recomputed_ci_upper", "recomputed_k", "profile", "status", "reason",
                  "trials", "direction"]


def _decimals(x: float) -> int:
    text = repr(float(x))
    if "e" in text or "E" in text:
        return 6
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def within_rounding(recomputed: float, published: float) -> bool:
    """True when ``recomputed`` rounds to ``published`` at the decimals ``published`` is given with.

    The published value's decimals are those of its shortest representation
    (``0.23`` -> 2), so a value printed as 0.230 is treated as 0.23: the
    check is as lenient as the number kept in ``data/published.csv``.
    """
    import math

    if published is None or recomputed is None or math.isnan(published) or math.isnan(recomputed):
        return False
    half = 0.5 * 10.0 ** (-_decimals(published))
    return abs(recomputed - published) <= half + 1e-12


def _missing_items(gaps: Any, rid: str) -> str:
    """What data_gaps() lists as missing for a published result: its trials' numbers, or the candidates'."""
    sub = gaps[(gaps["result_id"] == rid) & (gaps["kind"] == "trial_data")]
    items = [f"{r.study + ': ' if r.study else ''}{r.item} ({r.status})" for r in sub.itertuples()]
    cand = gaps[(gaps["result_id"] == rid) & (gaps["kind"] == "candidate_trial_data")]
    if len(cand):
        items.append(f"{cand['trial_id'].nunique()} candidate trials with numbers still to extract "
                     f"({len(cand)} items in data_gaps())")
    return "; ".join(dict.fromkeys(items))


#: Status of a published result of which only some trials have usable numbers here: the closest recomputation.
PARTIAL = "partially recomputed"


def _closest(row: dict[str, Any], pub: Any, ids: list[str], default: set[str], all_ids: list[str], trials: Any,
             profiles: Sequence[str], path: Any) -> None:
    """The closest recomputation of a published result from the trials that have usable numbers here.

    The review's own trials when its list is known, else every trial of the route reporting the outcome
    (labelled as such); the reproduction profile closest to the published estimate.
    """
    import pandas as pd

    from mgmeta.errors import DataError
    from mgmeta.reproduce import reproduce

    route = None if pd.isna(pub.route) else str(pub.route)
    tps = [t for t in str(pub.data_timepoint).split(";") if t]
    try:
        pool = pool_outcome(str(pub.outcome), tps, measure=row["measure"], comparison=_ANY_COMPARISON, route=route,
                            include=[t for t in ids if t not in default] or None,
                            exclude=[t for t in all_ids if t not in ids] if ids else None, path=path)
    except DataError:
        return
    if pool.effects is None or not len(pool.effects):
        return
    import warnings

    given = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in pub._asdict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a single trial: no tau² to estimate, said in the reason instead
        q = reproduce(given, pool.effects, profiles=list(profiles), measure=row["measure"]).set_index("quantity")
    best = str(q.loc["estimate", "closest"]) or str(profiles[0])
    studies = "; ".join(pool.data["study"])
    of = f"{pool.k} of {row['published_k']}" if row["published_k"] is not None else f"{pool.k} of an unknown number of"
    source = "its" if ids else "the route's"
    row.update(recomputed_estimate=float(q.loc["estimate", best]), recomputed_ci_lower=float(q.loc["ci_lower", best]),
               recomputed_ci_upper=float(q.loc["ci_upper", best]), recomputed_k=int(q.loc["k", best]), profile=best,
               status=PARTIAL, trials="; ".join(pool.data["trial_id"]),
               reason=(f"closest recomputation from {of} trials ({source} trials with usable numbers: {studies}); "
                       f"not a reproduction: " + row["reason"]))


def reproduction_table(*, profiles: Sequence[str] = ("metafor", "revman5"),
                       path: str | os.PathLike[str] | None = None) -> Any:
    """Every published pooled result of ``data/published.csv``, recomputed where the data allow.

    For each published result: its trial list (``data/published_trials.csv``,
    trials stated or inferred from the arithmetic; candidates do not make a
    list) and the trials' numbers are looked up; when every trial has usable
    numbers, the analysis is re-run under each of ``profiles``
    (:func:`mgmeta.reproduce`) and compared with the published estimate and
    confidence limits at the paper's rounding.

    Parameters
    ----------
    profiles : sequence of str
        Software profiles to run (:func:`mgmeta.profiles.profiles`); the one
        closest to the published estimate is reported.
    path : path, optional
        Data folder.

    Returns
    -------
    DataFrame
        One row per published result, in the order of ``published.csv``:
        ``result_id review outcome timepoint route measure``, the published and
        recomputed ``estimate ci_lower ci_upper k`` (natural scale: odds
        ratios, not logs), ``profile`` (the closest), ``status`` (``reproduced``
        within the paper's rounding; ``differs``, with the conventions that
        move the numbers; ``cannot be recomputed``, with what is missing),
        ``reason`` and ``trials`` (the trial ids used or sought).
        ``frame.attrs["diffs"]`` maps result ids to the full
        :func:`mgmeta.reproduce` tables of the recomputed results.
    """
    import math

    import pandas as pd

    from mgmeta.review import data as mgdata
    from mgmeta.errors import DataError
    from mgmeta.reproduce import reproduce

    published = mgdata.load_published(path)
    links = mgdata.load_published_trials(path)
    trials = mgdata.load_trials(path)
    gaps = mgdata.data_gaps(path)
    all_ids = [str(t) for t in trials["trial_id"]]
    default = {str(t) for t, d in zip(trials["trial_id"], trials["include_default"]) if bool(d is True)}
    rows = []
    diffs: dict[str, Any] = {}

    def num(x: Any) -> float:
        return float(x) if x is not None and not pd.isna(x) else math.nan

    for pub in published.itertuples(index=False):
        rid = str(pub.result_id)
        measure = str(pub.measure)
        row: dict[str, Any] = {
            "result_id": rid, "review": pub.review, "outcome": pub.outcome, "timepoint": pub.timepoint,
            "route": pub.route, "measure": measure, "published_estimate": num(pub.estimate),
            "published_ci_lower": num(pub.ci_lower), "published_ci_upper": num(pub.ci_upper),
            "published_k": None if pd.isna(pub.k) else int(pub.k), "recomputed_estimate": math.nan,
            "recomputed_ci_lower": math.nan, "recomputed_ci_upper": math.nan, "recomputed_k": None,
            "profile": "", "status": NOT_RECOMPUTABLE, "reason": "", "trials": "",
            "direction": None if pd.isna(pub.direction) else str(pub.direction)}
        mine = links[(links["result_id"] == rid) & (links["basis"] != "candidate")]  # candidates are no list
        ids = [str(t) for t in mine["trial_id"]]
        row["trials"] = "; ".join(ids)
        if measure == "none":
            row["reason"] = f"no pooled estimate was published ({pub.direction})"
        elif measure == "unknown" or math.isnan(row["published_estimate"]):
            row["reason"] = "the published estimate was not seen; " + (_missing_items(gaps, rid) or "")
        elif not ids:
            row["reason"] = "the trial list is not known (no public source seen names it); " + (
                _missing_items(gaps, rid) or "")
        elif pd.isna(pub.data_timepoint) or not str(pub.data_timepoint).strip():
            row["reason"] = "the time point of the pooled data is not stated; " + (_missing_items(gaps, rid) or "")
        else:
            tps = [t for t in str(pub.data_timepoint).split(";") if t]
            try:
                pool = pool_outcome(str(pub.outcome), tps, measure=measure, comparison=_ANY_COMPARISON,
                                    route=None if pd.isna(pub.route) else str(pub.route),
                                    include=[t for t in ids if t not in default],
                                    exclude=[t for t in all_ids if t not in ids], allow_assumptions=False,
                                    path=path)
            except DataError as exc:
                row["reason"] = f"{exc}; " + (_missing_items(gaps, rid) or "")
                rows.append(row)
                continue
            used = set(pool.data["trial_id"]) if len(pool.data) else set()
            lacking = [t for t in ids if t not in used]
            if lacking:
                detail = "; ".join(f"{r.study}: {r.missing}" for r in pool.incomplete.itertuples()
                                   if r.trial_id in lacking)
                row["reason"] = (f"no usable numbers for {', '.join(lacking)}"
                                 + (f" ({detail})" if detail else "") + "; " + (_missing_items(gaps, rid) or ""))
            else:
                given = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in pub._asdict().items()}
                tab = reproduce(given, pool.effects, profiles=list(profiles), measure=measure)
                diffs[rid] = tab
                q = tab.set_index("quantity")
                best = str(q.loc["estimate", "closest"]) or str(profiles[0])
                row.update(recomputed_estimate=float(q.loc["estimate", best]),
                           recomputed_ci_lower=float(q.loc["ci_lower", best]),
                           recomputed_ci_upper=float(q.loc["ci_upper", best]),
                           recomputed_k=int(q.loc["k", best]), profile=best)
                checks = [(n, row[f"recomputed_{n}"], row[f"published_{n}"]) for n in
                          ("estimate", "ci_lower", "ci_upper") if not math.isnan(row[f"published_{n}"])]
                off = [n for n, r, p in checks if not within_rounding(r, p)]
                if row["published_k"] is not None and row["published_k"] != row["recomputed_k"]:
                    off.append("k")
                if not off:
                    row["status"] = REPRODUCED
                    row["reason"] = (f"estimate and CI within the paper's rounding under the {best} profile"
                                     if len(checks) > 1 else f"estimate within the paper's rounding under the {best} "
                                     "profile (no CI published)")
                else:
                    row["status"] = DIFFERS
                    why = [f"{n}: {row['recomputed_' + n]:.4g} vs {row['published_' + n]:.4g}" if n != "k" else
                           f"k: {row['recomputed_k']} vs {row['published_k']}" for n in off]
                    moved = [f"{c.removeprefix('changed_by_')}: {q.loc['estimate', c]}" for c in q.columns
                             if c.startswith("changed_by_") and str(q.loc["estimate", c]).strip()]
                    row["reason"] = ("; ".join(why) + (" (conventions that move the estimate: "
                                                       + "; ".join(moved) + ")" if moved else
                                                       " (no software convention explains it; the trial data or "
                                                       "the trial list may differ)"))
        if (row["status"] == NOT_RECOMPUTABLE and measure not in ("none", "unknown")
                and not math.isnan(row["published_estimate"]) and not pd.isna(pub.data_timepoint)
                and str(pub.data_timepoint).strip()):
            _closest(row, pub, ids, default, all_ids, trials, profiles, path)
        row["reason"] = row["reason"].strip().rstrip(";")
        rows.append(row)
    out = pd.DataFrame(rows, columns=_REPRO_COLUMNS)
    out.attrs["diffs"] = diffs
    return out
