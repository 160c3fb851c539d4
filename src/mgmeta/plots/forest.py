"""Forest plots: studies, subgroups, leave-one-out and cumulative analyses.

The front end turns fitted results into rows (a study, a subgroup header, a
pooled diamond, a prediction interval, a line of text) and text columns; the
back end (:class:`_Table`) lays them out without overlaps (every text is
measured), sizes the figure to the number of rows, and draws. Nothing is
estimated here: every number drawn is an attribute of a result object (study
confidence limits are y_i ± z_{1-α/2} √v_i at the model's level, as metafor's
``forest`` draws them).

References
----------
Lewis S, Clarke M (2001). Forest plots: trying to see the wood and the trees.
BMJ 322:1479-80. doi:10.1136/bmj.322.7300.1479

Schriger DL, Altman DG, Vetter JA, Heafner T, Moher D (2010). Forest plots in
reports of systematic reviews: a cross-sectional study reviewing current
practice. Int J Epidemiol 39(2):421-9. doi:10.1093/ije/dyp370

IntHout J, Ioannidis JPA, Rovers MM, Goeman JJ (2016). Plea for routinely
presenting prediction intervals in meta-analysis. BMJ Open 6:e010247.
doi:10.1136/bmjopen-2015-010247
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import transforms as mtransforms
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import MaxNLocator, NullLocator
from scipy import stats

from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.plots import rob as _rob
from mgmeta.plots import style

__all__ = ["forest", "leave_one_out_forest", "cumulative_forest"]

_SORTS = ("year", "weight", "effect", "label")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_NUMBER = re.compile(r"[\u2212+-]?\d+(\.\d+)?%?")


# ==========================================================================
# rows and columns: what the table shows
# ==========================================================================

@dataclass
class _Row:
    """One line (or several, for wrapped labels) of a forest plot."""

    kind: str                       # "study" "summary" "prediction" "group" "text" "point" "blank"
    label: str = ""
    est: float = float("nan")       # analysis scale (log for ratio measures)
    lo: float = float("nan")
    hi: float = float("nan")
    size: float | None = None       # relative square area in (0, 1]; None: a fixed-size point
    cells: dict[str, str] = field(default_factory=dict)   # column key -> text
    rob: tuple[str, ...] = ()
    bold: bool = False
    indent: bool = False
    italic: bool = False
    color: str | None = None
    fill: str | None = None         # diamond fill
    note: str = ""                  # e.g. "not estimable" (shown in the effect column)
    height: float = 1.0
    y: float = 0.0
    raw: str = ""                   # the label before wrapping


@dataclass
class _Col:
    """A text column (``rob`` columns hold judgements, drawn as dots)."""

    key: str
    header: str
    side: str                       # "left" or "right" of the plot panel
    align: str = "right"            # "left" "right" "center"
    group: str = ""                 # line-1 header shared by consecutive columns
    group_header2: str = ""         # line-2 header spanning the group (instead of per-column headers)
    priority: int = 0               # columns with higher priority are dropped first when space is short
    kind: str = "text"
    width: float = 0.0
    x: float = 0.0                  # left edge, inches from the figure's left


@dataclass
class _Spec:
    """Everything the back end needs."""

    rows: list[_Row]
    columns: list[_Col]
    measure: str | None
    null: float | None = 0.0                      # line of no effect (analysis scale); None: no line
    favours: tuple[str, str] | None = None
    xlim: tuple[float, float] | None = None      # analysis scale
    symmetric: bool | None = None
    refline: float | None = None                  # dotted line at the pooled estimate (analysis scale)
    refline_span: tuple[float, float] | None = None
    xlabel: str | None = None
    title: str | None = None
    footnotes: list[str] = field(default_factory=list)
    rob_legend: tuple[list[str], list[str]] | None = None   # (codes, domain names)
    width: float = 7.0
    fontsize: float | None = None
    columns_mode: str = "auto"
    label_header: str = "Study"
    max_label_width: float | None = None
    log_axis: bool | None = None                  # None: log axis for ratio measures
    min_span: float | None = None                 # smallest axis span around the estimates (None: 0.2 / log 1.5)


# ==========================================================================
# reading fitted results
# ==========================================================================

def _is_fit(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("yi", "vi", "labels", "estimate", "ci_lower", "ci_upper"))


def _measure(res: Any, measure: str | None) -> str | None:
    return measure if measure is not None else getattr(res, "measure", None)


def _crit(res: Any) -> float:
    level = float(getattr(res, "level", 0.95))
    return float(stats.norm.isf((1 - level) / 2))


def _random(res: Any) -> bool:
    return bool(getattr(res, "random", False)) and getattr(res, "method", "EE") not in ("EE", "FE", "MH", "PETO")


def _model_label(res: Any) -> str:
    """``Random-effects model (REML, Hartung-Knapp)``, ``Common-effect model``, ``Mantel-Haenszel model``."""
    method = getattr(res, "method", None)
    if method == "MH":
        return "Mantel-Haenszel model"
    if method == "PETO":
        return "Peto model"
    knha = getattr(res, "test", "z") == "knha"
    if _random(res):
        return f"Random-effects model ({method}{', Hartung-Knapp' if knha else ''})"
    return "Common-effect model" + (" (Hartung-Knapp)" if knha else "")


def _method_header(res: Any) -> str:
    """RevMan-style second header line of the effect column: ``IV, random, 95% CI``."""
    method = getattr(res, "method", None)
    level = float(getattr(res, "level", 0.95))
    lev = f"{100 * level:g}% CI"
    if method == "MH":
        return f"MH, common, {lev}"
    if method == "PETO":
        return f"Peto, common, {lev}"
    return f"IV, {'random' if _random(res) else 'common'}, {lev}"


def _effect_digits(rows: list[_Row], log: bool, digits: int | None) -> int:
    """Decimals of the printed effects: ``digits``, or (None) 2, more when the effects are small positive
    quantities (rates, proportions of rare events, ratios far below 1), so that a typical estimate keeps two
    significant figures (0.021, not 0.02). Differences (which may be negative) keep 2: near 0 they are small
    without needing more decimals."""
    if digits is not None:
        return int(digits)
    tr = np.exp if log else (lambda v: v)
    drawn = [r for r in rows if r.kind in ("study", "summary", "point") and np.isfinite(r.est)]
    vals = [float(tr(r.est)) for r in drawn]
    bounds = [float(tr(b)) for r in drawn for b in (r.lo, r.hi) if np.isfinite(b)]
    if not vals or min(vals + bounds) <= 0:
        return 2
    return int(min(6, max(2, 1 - np.floor(np.log10(float(np.median(vals)))))))


def _effect_cells(rows: list[_Row], log: bool, digits: int | None) -> None:
    """The estimate and CI texts of every drawn row, all with the same number of decimals."""
    d = _effect_digits(rows, log, digits)
    tr = np.exp if log else (lambda v: v)
    for row in rows:
        if row.kind not in ("study", "summary", "prediction", "point"):
            continue
        if not np.isfinite(row.est if row.kind != "prediction" else row.lo):
            continue
        if row.kind != "prediction":
            row.cells["est"] = style.format_value(float(tr(row.est)), d)
        row.cells.update(lo="[" + style.format_value(float(tr(row.lo)), d) + ",",
                         hi=style.format_value(float(tr(row.hi)), d) + "]")


def _het_text(res: Any) -> str:
    k = int(getattr(res, "k", len(res.yi)))
    df = getattr(res, "q_df", None)
    df = int(df) if df is not None else k - 1
    if df < 1:
        return "Heterogeneity: not applicable (one study)"
    parts = []
    if _random(res):
        how = "fixed" if getattr(res, "tau2_fixed", False) else res.method
        t2 = style.format_tau2(float(res.tau2))
        parts.append(f"\u03c4\u00b2 ({how}) {t2.replace('<', '< ')}" if t2.startswith("<") else
                     f"\u03c4\u00b2 ({how}) = {t2}")
    parts.append(f"I\u00b2 = {float(res.i2):.0f}%")
    parts.append(f"Q = {float(res.q):.2f}, df = {df} ({style.format_p(float(res.q_pvalue))})")
    # a narrow figure wraps the line between its parts, never inside "p < 0.001"
    return "Heterogeneity: " + "; ".join(_keep(p) for p in parts)


def _keep(text: str) -> str:
    """``text`` with no-break spaces, so that wrapping never splits it (plain spaces again when drawn)."""
    return text.replace(" ", "\u00a0")


def _spaces(text: str) -> str:
    return text.replace("\u00a0", " ")


def _test_text(res: Any) -> str:
    stat = float(res.statistic)
    if getattr(res, "test", "z") == "knha" and getattr(res, "df", None) is not None:
        s = f"t({int(res.df)}) = {style.format_value(stat)}"
    else:
        s = f"z = {style.format_value(stat)}"
    return f"Test for overall effect: {_keep(s)} ({_keep(style.format_p(float(res.pvalue)))})"


def _fit_data(res: Any) -> pd.DataFrame | None:
    """The effect-size frame of a fit, one row per study of the fit (dropped rows removed)."""
    data = getattr(res, "data", None)
    if not isinstance(data, pd.DataFrame):
        return None
    if "dropped" in data.columns:
        data = data.loc[~data["dropped"].to_numpy(dtype=bool)]
    if len(data) != len(res.labels):
        return None
    return data.reset_index(drop=True)


def _by_label(frame: Any, what: str) -> pd.DataFrame:
    """A frame indexed by study label (its ``study`` column, else its index, as strings)."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{what} must be a DataFrame, got {type(frame).__name__}", field=what)
    labels = frame["study"] if "study" in frame.columns else frame.index.to_series()
    out = frame.set_axis(pd.Index([str(x) for x in labels], name="study"), axis=0)
    dup = out.index[out.index.duplicated()].unique().tolist()
    if dup:
        raise DataError(f"{what} has several rows for the study label(s) {dup}", field=what)
    return out


def _arm_frame(fit: Any, data: pd.DataFrame | None) -> pd.DataFrame | None:
    """The fit's own effect-size frame when it holds arm data, else the rows of ``data`` for its studies."""
    own = _fit_data(fit)
    if data is None or (own is not None and _arm_kind(own) is not None):
        return own
    table = _by_label(data, "data")
    labels = [str(x) for x in fit.labels]
    missing = [lab for lab in labels if lab not in table.index]
    if missing:
        raise DataError(f"data has no row for the stud{'y' if len(missing) == 1 else 'ies'} "
                        f"{', '.join(repr(m) for m in missing)} (matched by label on its 'study' column or "
                        f"index)", field="data")
    return table.loc[labels].reset_index(drop=True)


_SUPERSCRIPT = dict(zip("abcdefghijklmnoprstuvwxyz0123456789+-=()",
                        "\u1d43\u1d47\u1d9c\u1d48\u1d49\u1da0\u1d4d\u02b0\u2071\u02b2\u1d4f\u02e1\u1d50"
                        "\u207f\u1d52\u1d56\u02b3\u02e2\u1d57\u1d58\u1d5b\u02b7\u02e3\u02b8\u1dbb"
                        "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
                        "\u207a\u207b\u207c\u207d\u207e"))


def _marker_parts(marker: str) -> list[str]:
    """The footnotes a marker refers to: ``"a,b"`` -> ``["a", "b"]``."""
    return [p.strip() for p in str(marker).split(",") if p.strip()]


def superscript(marker: str) -> str:
    """A footnote marker raised as Unicode superscripts (``"a"`` -> ``"ᵃ"``; ``*``, ``†`` stay as they are).

    >>> superscript("a1")
    'ᵃ¹'
    """
    return "".join(_SUPERSCRIPT.get(c, c) for c in str(marker))


def _per_study(values: Any, fits: list[Any], overall: Any, what: str) -> list[list[Any]]:
    """One value per study of each fit, from a mapping {label: value}, a Series indexed by label, or a sequence.

    A sequence follows the input order of the single fit; with subgroups, the input order of the overall fit
    (when there is one holding every study once), else the studies of the subgroups one after the other.
    """
    per_fit = [[str(x) for x in f.labels] for f in fits]
    labels = [lab for labs in per_fit for lab in labs]
    if isinstance(values, pd.Series):
        values = {str(k): v for k, v in values.items()}
    if isinstance(values, Mapping):
        table = {str(k): v for k, v in values.items()}
        unknown = [k for k in table if k not in labels]
        if unknown:
            raise DataError(f"{what} names stud{'y' if len(unknown) == 1 else 'ies'} not in the plot: "
                            f"{', '.join(repr(u) for u in unknown)}", field=what)
        return [[table.get(lab) for lab in labs] for labs in per_fit]
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise DataError(f"{what} must be a mapping {{study label: value}} or a sequence with one value per "
                        f"study, got {type(values).__name__}", field=what)
    vals = list(values)
    if len(vals) != len(labels):
        raise DataError(f"{what} has {len(vals)} values but the fit has {len(labels)} studies", field=what)
    if len(fits) > 1 and overall is not None:
        order = [str(x) for x in overall.labels]
        if len(set(order)) == len(order) and sorted(order) == sorted(labels):
            table = dict(zip(order, vals))
            return [[table[lab] for lab in labs] for labs in per_fit]
    out, i = [], 0
    for labs in per_fit:
        out.append(vals[i:i + len(labs)])
        i += len(labs)
    return out


def _ilab_columns(ilab: Any, fits: list[Any], overall: Any) -> list[tuple[str, list[list[str]]]]:
    """(header, texts per study of each fit) for each extra column of ``ilab``."""
    if ilab is None:
        return []
    if isinstance(ilab, pd.DataFrame):
        if len(fits) == 1 and "study" not in ilab.columns and len(ilab) == len(fits[0].labels) and \
                not set(map(str, ilab.index)) >= set(map(str, fits[0].labels)):
            frame = ilab.set_axis(pd.Index([str(x) for x in fits[0].labels]), axis=0)  # input order
        else:
            frame = _by_label(ilab, "ilab")
        cols = {str(c): frame[c] for c in frame.columns if c != "study"}
    elif isinstance(ilab, Mapping):
        cols = {str(h): v for h, v in ilab.items()}
    else:
        raise DataError(f"ilab must be a DataFrame or a mapping {{header: values}}, got {type(ilab).__name__}",
                        field="ilab")
    return [(head, [[_cell(v) for v in vals] for vals in _per_study(v, fits, overall, f"ilab[{head!r}]")])
            for head, v in cols.items()]


def _cell(x: Any) -> str:
    """Text of an ilab value: numbers as _num prints them, missing as empty."""
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, float, np.integer, np.floating)):
        return _num(x)
    return str(x)


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or pd.isna(x):
        return ""
    x = float(x)
    if x.is_integer():
        return f"{int(x)}"
    return style.format_value(x, 1 if abs(x) >= 10 else 2)


def _decimals(*columns: Any) -> int:
    """Fewest decimals (0 to 2) that show every finite value of the columns as given (2 at most)."""
    vals = np.concatenate([np.asarray(c, dtype=float).ravel() for c in columns])
    vals = vals[np.isfinite(vals)]
    for d in range(2):
        if np.all(np.abs(np.round(vals, d) - vals) < 1e-9 * np.maximum(1.0, np.abs(vals))):
            return d
    return 2


def _fixed(x: Any, decimals: int) -> str:
    """A mean or SD with the column's number of decimals ("" when missing)."""
    if x is None or pd.isna(x) or not np.isfinite(float(x)):
        return ""
    return style.format_value(float(x), decimals)


def _arm_kind(data: pd.DataFrame | None) -> str | None:
    if data is None:
        return None
    cols = set(data.columns)
    if {"ai", "ci"} <= cols and ({"n1i", "n2i"} <= cols or {"bi", "di"} <= cols):
        return "binary"
    if {"m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"} <= cols:
        return "continuous"
    return None


def _arm_values(data: pd.DataFrame, kind: str) -> dict[str, np.ndarray]:
    if kind == "binary":
        ai = data["ai"].to_numpy(float)
        ci = data["ci"].to_numpy(float)
        n1 = data["n1i"].to_numpy(float) if "n1i" in data.columns else ai + data["bi"].to_numpy(float)
        n2 = data["n2i"].to_numpy(float) if "n2i" in data.columns else ci + data["di"].to_numpy(float)
        return {"e1": ai, "n1": n1, "e2": ci, "n2": n2}
    return {"m1": data["m1i"].to_numpy(float), "s1": data["sd1i"].to_numpy(float),
            "n1": data["n1i"].to_numpy(float), "m2": data["m2i"].to_numpy(float),
            "s2": data["sd2i"].to_numpy(float), "n2": data["n2i"].to_numpy(float)}


@dataclass
class _Group:
    name: str | None
    fit: Any
    order: np.ndarray          # positions of the fit's studies, in display order
    weights: np.ndarray        # percent, per study of the fit (input order)
    subtotal_weight: float | None


def _as_groups(res: Any) -> tuple[list[tuple[str | None, Any]], Any, Any]:
    """(groups, overall fit, subgroup-difference test) from a fit, a mapping or a subgroup result."""
    if _is_fit(res):
        return [(None, res)], None, None
    if isinstance(res, Mapping):
        groups = list(res.items())
        return [(str(g), f) for g, f in groups], None, None
    for attr in ("results", "fits", "subgroups", "groups"):
        cand = getattr(res, attr, None)
        if isinstance(cand, Mapping) and cand and all(_is_fit(f) for f in cand.values()):
            overall = None
            for oattr in ("overall", "overall_result", "result"):
                o = getattr(res, oattr, None)
                if _is_fit(o):
                    overall = o
                    break
            return [(str(g), f) for g, f in cand.items()], overall, res
    raise DataError(f"forest() needs a fitted meta-analysis, a mapping {{group: fit}} or a subgroup "
                    f"result, got {type(res).__name__}", field="res")


def _subgroup_test_text(test: Any) -> str | None:
    if test is None:
        return None
    if isinstance(test, tuple) and len(test) == 3:
        q, df, p = test
    else:
        q = getattr(test, "q_between", None)
        df = getattr(test, "df", None)
        p = getattr(test, "pvalue", None)
        if q is None or p is None:
            return None
    return (f"Test for subgroup differences: {_keep(f'Q = {float(q):.2f}')}, {_keep(f'df = {int(df)}')} "
            f"({_keep(style.format_p(float(p)))})")


def _years(res: Any, data: pd.DataFrame | None, years: Any) -> np.ndarray:
    labels = list(res.labels)
    if years is not None:
        if isinstance(years, Mapping):
            vals = [years.get(lab) for lab in labels]
        else:
            vals = list(years)
            if len(vals) != len(labels):
                raise DataError(f"years has {len(vals)} values but the fit has {len(labels)} studies",
                                field="years")
    elif data is not None and "year" in data.columns:
        vals = list(data["year"])
    else:
        vals = []
        for lab in labels:
            m = _YEAR.search(lab)
            vals.append(int(m.group(1)) if m else None)
    out = np.empty(len(labels))
    for i, v in enumerate(vals):
        try:
            out[i] = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            out[i] = np.nan
    missing = [labels[i] for i in np.flatnonzero(~np.isfinite(out))]
    if len(missing) == len(labels):
        raise DataError("no study has a year to sort by: give years=, a 'year' column in the data, or put the "
                        "year in the labels", field="year")
    if missing:
        warnings.warn(f"no year for {len(missing)} stud{'y' if len(missing) == 1 else 'ies'} "
                      f"({', '.join(repr(m) for m in missing)}): drawn after the others; give years= to place "
                      f"{'it' if len(missing) == 1 else 'them'}", MgmetaWarning, stacklevel=4)
    return out


def _order(res: Any, sort_by: str | None, descending: bool | None, data: pd.DataFrame | None,
           years: Any) -> np.ndarray:
    k = len(res.labels)
    if sort_by is None:
        return np.arange(k)
    yi = np.asarray(res.yi, float)
    if sort_by == "year":
        key = _years(res, data, years)
        desc = bool(descending)
    elif sort_by == "weight":
        key = np.asarray(res.weights, float)
        desc = True if descending is None else descending
    elif sort_by == "effect":
        key = np.where(np.isfinite(yi), yi, np.inf)
        desc = bool(descending)
    elif sort_by == "label":
        by_label = sorted(range(k), key=lambda i: res.labels[i].lower())
        return np.array(by_label[::-1] if descending else by_label, dtype=int)
    else:
        raise DataError(f"sort_by must be one of {', '.join(_SORTS)} or None, got {sort_by!r}", field="sort_by")
    # studies without a key (NaN) come last in either direction
    return np.argsort(-key if desc else key, kind="stable")


def _rob_lookup(rob: Any, fits: list[Any], rob_domains: Sequence[str] | None) -> tuple[pd.DataFrame, list[str]] | None:
    if rob is None or rob is False:
        return None
    if rob is True:
        frames = []
        for f in fits:
            d = _fit_data(f)
            if d is None or not any(str(c).startswith("rob_") for c in d.columns):
                raise DataError("rob=True needs risk-of-bias columns (rob_*) in the fit's data; pass the "
                                "trial table as rob=", field="rob")
            frames.append(d.assign(study=list(f.labels)))
        frame = pd.concat(frames, ignore_index=True)
    elif isinstance(rob, pd.DataFrame):
        frame = rob
    else:
        raise DataError(f"rob must be a DataFrame of judgements, True or None, got {type(rob).__name__}",
                        field="rob")
    table = _rob.rob_table(frame, domains=rob_domains)
    table = table[~table.index.duplicated(keep="first")]
    return table, list(table.columns)


# ==========================================================================
# the public forest plot
# ==========================================================================

def forest(res: Any, *, ax: Axes | None = None, sort_by: str | None = None, descending: bool | None = None,
           years: Any = None, overall: Any = None, subgroup_test: Any = None, measure: str | None = None,
           arms: bool | None = None, arm_labels: tuple[str, str] = ("Experimental", "Control"),
           data: pd.DataFrame | None = None, weights: bool = True, rob: Any = None,
           rob_domains: Sequence[str] | None = None, prediction: bool | None = None, heterogeneity: bool = True,
           favours: tuple[str, str] | None = None, xlim: tuple[float, float] | None = None,
           symmetric: bool | None = None, digits: int | None = None, width: float = 7.0, fontsize: float | None = None,
           columns: str = "auto", max_label_width: float | None = None, summary_label: str | None = None,
           title: str | None = None, xlabel: str | None = None, refline: bool | float = True,
           markers: Any = None, footnotes: Mapping[str, str] | None = None, ilab: Any = None,
           ilab_xpos: str | Sequence[str] | None = None, transf: Any = "auto") -> Figure:
    """Forest plot of a meta-analysis, as RevMan, R meta and metafor draw it.

    One row per study with its label, the per-arm data (events/total, or
    mean, SD and n), a square whose area is proportional to the study's weight
    with whiskers for its confidence interval, the effect and CI as text and
    the weight in percent; then the pooled diamond (spanning the pooled CI),
    the prediction interval as a bar, the heterogeneity line (τ², I², Q, p) and
    the test for the overall effect. With subgroups: a header, the studies, a
    subtotal diamond and heterogeneity per subgroup, and the test for subgroup
    differences. Ratio measures are drawn on a log axis with plain tick labels
    (0.1, 0.5, 1, 2, 10); single-group measures on their back-transformed
    scale (a logit or Freeman-Tukey proportion as a proportion, Fisher's z as
    a correlation, a log rate as a rate: see ``transf``). Confidence intervals
    that run off the axis end in an arrow. The figure sizes itself to the
    number of rows.

    Parameters
    ----------
    res : MetaAnalysisResult, BinaryPoolResult, mapping or subgroup result
        A fitted model; a mapping {subgroup name: fitted model}; or the result
        of :func:`mgmeta.subgroup_analysis` (its per-group fits, overall fit
        and test for subgroup differences are drawn).
    ax : Axes, optional
        Draw into this axes (its box becomes the whole forest plot); the
        default creates a figure ``width`` inches wide.
    sort_by : {"year", "weight", "effect", "label"}, optional
        Order of the studies (within each subgroup); default the input order.
        Years come from ``years``, a ``year`` column of the fit's data, or the
        first 4-digit year in the label.
    descending : bool, optional
        Reverse the order (default: largest weight first, otherwise ascending).
    years : sequence or mapping, optional
        Publication years for ``sort_by="year"``.
    overall : fitted model, optional
        With a mapping of subgroups: the model of all studies, drawn as the
        overall diamond (its weights are printed for every study).
    subgroup_test : (q, df, p) or object with ``q_between``, ``df``, ``pvalue``, optional
        With a mapping of subgroups: the test for subgroup differences.
    measure : str, optional
        Effect measure when the fit does not know it (``"OR"``, ``"MD"``...).
    arms : bool, optional
        Show per-arm data (default: when the fit's data, or ``data``, holds it).
    arm_labels : (str, str)
        Headers of the two arms (default "Experimental" and "Control", as
        RevMan's).
    data : DataFrame, optional
        Per-arm data (``ai``, ``ci`` with ``n1i``/``n2i`` or ``bi``/``di``; or
        ``m1i sd1i n1i m2i sd2i n2i``) with the study labels in a ``study``
        column or the index, e.g. the frame from :func:`mgmeta.effect_sizes`;
        used for fits that do not carry their own (Mantel-Haenszel and Peto
        fits, the fits of a subgroup analysis). Matched by label.
    weights : bool
        Show the weight column.
    rob : DataFrame or True, optional
        Risk-of-bias judgements, one row per study (matched by label on the
        ``study`` column or the index), e.g. ``data/trials.csv``; ``True``
        takes the ``rob_*`` columns of the fit's data. Drawn as coloured dots
        with glyphs per domain, as RevMan and robvis do.
    rob_domains : sequence of str, optional
        Judgement columns to show (default: every ``rob_*`` column but
        ``rob_basis``).
    prediction : bool, optional
        Draw the prediction interval (default: random-effects models with at
        least 3 studies).
    heterogeneity : bool
        Print the heterogeneity and overall-effect lines.
    favours : (str, str), optional
        Words under the axis, left and right of the line of no effect:
        ``("experimental", "control")`` prints "Favours experimental" and
        "Favours control" (a text that already starts with "Favours" is kept
        as it is). Default none: which side is better depends on the outcome.
    xlim : (float, float), optional
        Axis limits on the display scale (e.g. ``(0.1, 10)`` for an OR, ``(0, 1)``
        for a back-transformed proportion).
    symmetric : bool, optional
        Limits symmetric about the line of no effect (default: for ratio
        measures).
    digits : int, optional
        Decimals of the printed effects (the same for every row). Default:
        2, more when the effects are small (rates, proportions of rare
        events), so that a typical estimate keeps two significant figures.
    width : float
        Figure width in inches: 7 (double column, default) or 3.5 (single
        column: 7 pt text; long labels wrap and end in an ellipsis, and
        columns that do not fit are left out with a :class:`MgmetaWarning`
        naming them).
    fontsize : float, optional
        Text size in points (default 7.5, or 7 below 5 inches; down to 6.5 when
        that keeps every column and label whole).
    columns : {"auto", "all"}
        ``"auto"`` drops the per-arm, ``ilab``, weight and risk-of-bias
        columns (in that order of need) when the plot panel would get narrower
        than about an inch, and warns; ``"all"`` keeps them and wraps labels
        instead.
    max_label_width : float, optional
        Longest study label in inches before it wraps (default a third of the
        width).
    summary_label : str, optional
        Label of the overall diamond (default "Random-effects model (REML)",
        "Random-effects model (REML, Hartung-Knapp)", "Common-effect model",
        "Mantel-Haenszel model", ...).
    title : str, optional
        Printed above the table (e.g. comparison, outcome and time point).
    xlabel : str, optional
        Axis title (default the measure and its scale: "Odds ratio (log
        scale)", "Mean difference"; ``""`` for none).
    refline : bool or float
        Dotted vertical line at the pooled estimate (``True``). A number also
        draws the reference line (the line of no effect) at that value of the
        display scale, e.g. ``refline=0.5`` for a proportion; back-transformed
        single-group measures have none otherwise.
    markers : mapping or sequence of str, optional
        Footnote markers per study, printed as a superscript after the study
        label (as RevMan marks converted or imputed numbers): a mapping
        {study label: marker} (or a Series indexed by label; ``"a,b"`` refers
        to two footnotes), or a sequence in
        the fit's input order with ``""`` for no marker (with subgroups: in
        the overall fit's order, or the subgroups' studies one after the
        other when there is no overall fit).
    footnotes : mapping of str to str, optional
        {marker: text}, printed under the plot for the markers in use.
    ilab : DataFrame or mapping, optional
        Extra text columns, as metafor's ``ilab``: a DataFrame (one column per
        extra column, rows matched by the study label in a ``study`` column or
        the index; with one fit and as many rows as studies, also by
        position) or a mapping {header: values} with values a mapping
        {study label: value}, a Series indexed by label, or a sequence in the
        fit's input order.
    ilab_xpos : {"left", "right"} or sequence of them, optional
        Side of the plot panel for the ``ilab`` columns (one side for all, or
        one per column; default "left", after the arm data). Positions within
        a side are laid out from the measured text, so columns never overlap.
    transf : {"auto"}, None or callable
        The display scale, as metafor's ``transf``. ``"auto"`` (default):
        ratio measures exponentiated on a log axis; PLO, PLN, PAS, PFT drawn as
        proportions, ZCOR as correlations, IRLN and IRS as incidence rates,
        MNLN, CVLN, SDLN exponentiated (see
        :func:`mgmeta.transforms.display_transform`), on a linear axis in those
        units; study intervals, diamonds, the prediction interval and the
        printed numbers are all back-transformed (a PFT study with its own
        ``ni``, the pooled PFT estimate with the harmonic mean of the ``ni``,
        as ``transf.ipft.hm``); other measures as they are. ``None``: the
        analysis scale (log odds ratios on a linear axis). A function (e.g.
        :func:`mgmeta.transforms.transf_ilogit`) is applied to every estimate
        and limit and the result drawn on a linear axis. A back-transformed
        scale has a line of no effect only for correlations (r = 0) or at a
        numeric ``refline``.

    Returns
    -------
    Figure
        Artists carry ids (``gid``) for tests and SVG post-processing:
        ``study-label``, ``study-square``, ``study-ci`` (whisker segments, in
        data coordinates of the display scale), ``ci-arrow``,
        ``summary-diamond``, ``subgroup-diamond``, ``prediction-interval``,
        ``weight``, ``effect-*``, ``heterogeneity``, ``rob-dot-*``.

    References
    ----------
    Lewis S, Clarke M (2001). doi:10.1136/bmj.322.7300.1479
    IntHout J, et al. (2016). doi:10.1136/bmjopen-2015-010247

    Examples
    --------
    The first three BCG vaccine trials (Colditz et al. 1994):

    >>> import mgmeta
    >>> from mgmeta.plots import forest, save
    >>> es = mgmeta.effect_sizes("RR", ai=[4, 6, 3], n1i=[123, 306, 231], ci=[11, 29, 11],
    ...                          n2i=[139, 303, 220], labels=["Aronson 1948", "Ferguson 1949", "Rosenthal 1960"])
    >>> fig = forest(mgmeta.meta_analysis(es), sort_by="year")
    >>> [float(x) for x in fig.get_size_inches()][0]
    7.0
    >>> paths = save(fig, "forest_bcg", formats=("png", "pdf"))  # doctest: +SKIP
    """
    if columns not in ("auto", "all"):
        raise DataError(f"columns must be 'auto' or 'all', got {columns!r}", field="columns")
    if sort_by is not None and sort_by not in _SORTS:
        raise DataError(f"sort_by must be one of {', '.join(_SORTS)} or None, got {sort_by!r}", field="sort_by")
    groups, auto_overall, auto_test = _as_groups(res)
    if overall is None:
        overall = auto_overall
    if subgroup_test is None:
        subgroup_test = auto_test
    if overall is not None and not _is_fit(overall):
        raise DataError("overall must be a fitted meta-analysis", field="overall")
    fits = [f for _, f in groups]
    first = overall if overall is not None else fits[0]
    extra_cols = _ilab_columns(ilab, fits, overall)
    if ilab_xpos is None or isinstance(ilab_xpos, str):
        ilab_sides = [ilab_xpos or "left"] * len(extra_cols)
    else:
        ilab_sides = [str(x) for x in ilab_xpos]
        if len(ilab_sides) != len(extra_cols):
            raise DataError(f"ilab_xpos has {len(ilab_sides)} sides but ilab has {len(extra_cols)} columns",
                            field="ilab_xpos")
    if any(side not in ("left", "right") for side in ilab_sides):
        raise DataError(f"ilab_xpos must be 'left' or 'right' (or one of them per column), got {ilab_xpos!r}",
                        field="ilab_xpos")
    marks = [[str(v) if v is not None and not (isinstance(v, float) and np.isnan(v)) else "" for v in vals]
             for vals in _per_study(markers, fits, overall, "markers")] if markers is not None else \
        [[""] * len(f.labels) for f in fits]
    notes = {str(k): str(v) for k, v in (footnotes or {}).items()}
    used = {part for vals in marks for m in vals for part in _marker_parts(m)}
    unexplained = sorted(used - set(notes))
    if unexplained:
        raise DataError(f"marker(s) {unexplained} have no text in footnotes", field="footnotes")
    meas = _measure(first, measure)
    for f in fits:
        m = _measure(f, measure)
        if m != meas and m is not None and meas is not None:
            raise DataError(f"the subgroups use different effect measures ({meas!r} and {m!r})", field="measure")
    grouped = groups[0][0] is not None
    scale = _display_scale(transf, meas, fits, overall)
    if isinstance(refline, (bool, np.bool_)):
        null: float | None = (_DISPLAY_NULL.get(meas or "") if scale.fn is None else None) if scale.transformed \
            else 0.0
        show_estimate = bool(refline)
    else:
        null = _refline_value(refline, scale.log)
        show_estimate = True

    # arm data
    datas = [_arm_frame(f, data) for f in fits]
    kinds = {_arm_kind(d) for d in datas}
    arm_kind = kinds.pop() if len(kinds) == 1 else None
    if arms is True and arm_kind is None:
        raise DataError("arms=True needs per-arm data (ai/ci with n1i/n2i, or means, SDs and n) in the fit's "
                        "data; fit the model on the frame from effect_sizes()", field="arms")
    show_arms = arm_kind is not None and arms is not False

    # weights: those of the overall model when it covers the studies, else each subgroup's own
    overall_w: dict[str, float] | None = None
    if grouped and overall is not None:
        ol = [str(x) for x in overall.labels]
        all_labels = [lab for f in fits for lab in f.labels]
        if len(set(ol)) == len(ol) and sorted(ol) == sorted(all_labels):
            overall_w = dict(zip(ol, np.asarray(overall.weights, float)))

    robinfo = _rob_lookup(rob, fits, rob_domains)

    rows: list[_Row] = []
    no_rob: list[str] = []
    crit_fn = _crit
    any_ci = []
    for gi, (gname, fit) in enumerate(groups):
        study_tr, pooled_tr = scale.study(fit), scale.pooled(fit)
        data = datas[gi]
        order = _order(fit, sort_by, descending, data, years)
        yi = np.asarray(fit.yi, float)
        vi = np.asarray(fit.vi, float)
        w = np.asarray(fit.weights, float)
        if overall_w is not None:
            w = np.array([overall_w[str(lab)] for lab in fit.labels])
        z = crit_fn(fit)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.where(vi >= 0, vi, np.nan))
        if gname is not None:
            rows.append(_Row("group", label=gname, bold=True))
        armv = _arm_values(data, arm_kind) if show_arms and data is not None and arm_kind else None
        wmax_candidates = []
        if armv is not None and arm_kind != "binary":   # one number of decimals per column
            dm, ds = _decimals(armv["m1"], armv["m2"]), _decimals(armv["s1"], armv["s2"])
        for i in order:
            lab = str(fit.labels[i])
            ok = bool(np.isfinite(yi[i]) and np.isfinite(se[i]))
            mark = marks[gi][i]
            row = _Row("study", label=lab + (superscript(mark) if mark else ""), indent=grouped)
            for j, (_, cells) in enumerate(extra_cols):
                row.cells[f"ilab{j}"] = cells[gi][i]
            if ok:
                row.est, row.lo, row.hi = float(yi[i]), float(yi[i] - z * se[i]), float(yi[i] + z * se[i])
                if study_tr is not None:
                    _to_display(row, lambda v, i=i: study_tr(v, i))   # type: ignore[misc]
                row.size = float(w[i])
                wmax_candidates.append(w[i])
                any_ci.append((row.lo, row.hi))
            else:
                row.note = "not estimable"
            if weights:
                row.cells["weight"] = f"{w[i]:.1f}%"
            if armv is not None:
                if arm_kind == "binary":
                    row.cells.update(e1=_num(armv["e1"][i]), n1=_num(armv["n1"][i]),
                                     e2=_num(armv["e2"][i]), n2=_num(armv["n2"][i]))
                else:
                    row.cells.update(m1=_fixed(armv["m1"][i], dm), s1=_fixed(armv["s1"][i], ds),
                                     n1=_num(armv["n1"][i]), m2=_fixed(armv["m2"][i], dm),
                                     s2=_fixed(armv["s2"][i], ds), n2=_num(armv["n2"][i]))
            if robinfo is not None:
                table, doms = robinfo
                if lab in table.index:
                    row.rob = tuple(table.loc[lab, d] for d in doms)
                else:
                    row.rob = tuple("" for _ in doms)
                    no_rob.append(lab)
            rows.append(row)
        # summary of this group (or of the only fit)
        is_overall = not grouped
        if grouped or overall is None:
            srow = _summary_row(fit, "Subtotal" if grouped else (summary_label or _model_label(fit)),
                                armv, arm_kind, weights,
                                subtotal=(float(np.sum(w)) if overall_w is not None else 100.0),
                                grouped=grouped)
            rows.append(_to_display(srow, pooled_tr))
            if _show_pi(fit, prediction) and not grouped:
                rows.append(_to_display(_pi_row(fit), pooled_tr))
            if heterogeneity:
                rows.append(_Row("text", label=_het_text(fit), indent=grouped, italic=False))
                rows.append(_Row("text", label=_test_text(fit), indent=grouped))
            if grouped:
                rows.append(_Row("blank", height=0.5))
        del is_overall

    if grouped and overall is not None:
        armv_all = None
        if show_arms and arm_kind is not None and all(d is not None for d in datas):
            armv_all = _arm_values(pd.concat(datas, ignore_index=True), arm_kind)
        over_tr = scale.pooled(overall)
        rows.append(_to_display(_summary_row(overall, summary_label or _model_label(overall), armv_all, arm_kind,
                                             weights, subtotal=100.0, grouped=False), over_tr))
        if _show_pi(overall, prediction):
            rows.append(_to_display(_pi_row(overall), over_tr))
        if heterogeneity:
            rows.append(_Row("text", label=_het_text(overall)))
            rows.append(_Row("text", label=_test_text(overall)))
    if grouped:
        txt = _subgroup_test_text(subgroup_test)
        if txt:
            rows.append(_Row("text", label=txt))
    while rows and rows[-1].kind == "blank":
        rows.pop()
    for mark, text in notes.items():
        if mark in used:  # in the order of footnotes
            rows.append(_Row("text", label=f"{superscript(mark)} {text}"))
    if no_rob:
        warnings.warn(f"no risk-of-bias judgements for {', '.join(repr(s) for s in no_rob)} (matched by study label)",
                      MgmetaWarning, stacklevel=2)

    # columns
    cols: list[_Col] = []
    if show_arms:
        a1, a2 = arm_labels
        sub_cols = [("e", "Events"), ("n", "Total")] if arm_kind == "binary" else \
            [("m", "Mean"), ("s", "SD"), ("n", "Total")]
        for arm, name in ((1, a1), (2, a2)):
            cols += [_Col(f"{key}{arm}", head, "left", group=name, priority=3) for key, head in sub_cols]
    right_ilab = []
    for j, ((head, cells), side) in enumerate(zip(extra_cols, ilab_sides)):
        numeric = all(_NUMBER.fullmatch(t) for vals in cells for t in vals if t)
        col = _Col(f"ilab{j}", head, side, align="right" if numeric else "left", priority=2)
        if side == "left":
            cols.append(col)
        else:
            right_ilab.append(col)
    eff_group = scale.name or style.measure_name(meas)
    cols += [_Col("est", "", "right", group=eff_group, group_header2=_method_header(first)),
             _Col("lo", "", "right", group=eff_group, group_header2=_method_header(first)),
             _Col("hi", "", "right", group=eff_group, group_header2=_method_header(first))]
    if weights:
        cols.append(_Col("weight", "Weight", "right", priority=1))
    cols += right_ilab
    rob_legend = None
    if robinfo is not None:
        _, doms = robinfo
        codes = _rob.domain_codes(doms)
        for j, code in enumerate(codes):
            cols.append(_Col(f"rob{j}", code, "right", align="center", group="Risk of bias", kind="rob", priority=0))
        rob_legend = (codes, [_rob.domain_name(d) for d in doms])

    # effect text cells (rows hold analysis-scale values for ratio measures, display-scale values otherwise)
    _effect_cells(rows, scale.log, digits)

    summary_fit = overall if overall is not None else (fits[0] if not grouped else None)
    spec = _Spec(rows=rows, columns=cols, measure=meas, favours=_favours(favours),
                 xlim=_xlim_analysis(xlim, meas, log=scale.log), symmetric=symmetric, title=title,
                 xlabel=_xlabel(xlabel, meas, scale), width=width, fontsize=fontsize, columns_mode=columns,
                 rob_legend=rob_legend, max_label_width=max_label_width, log_axis=scale.log, null=null,
                 min_span=None if not scale.transformed else 0.0)
    if show_estimate and summary_fit is not None and np.isfinite(summary_fit.estimate):
        pooled = scale.pooled(summary_fit)
        spec.refline = float(summary_fit.estimate) if pooled is None else \
            float(_apply(pooled, np.array([summary_fit.estimate]))[0])
    return _Table(spec).draw(ax)


_DISPLAY_NULL = {"ZCOR": 0.0}
"""Back-transformed measures with a line of no effect (r = 0); a proportion, rate or mean has none."""


@dataclass(frozen=True)
class _Scale:
    """The display scale of a forest plot: a log axis (ratio measures), the analysis scale, or back-transformed
    values on a linear axis (``transformed``; rows then hold display-scale values)."""

    log: bool = False
    transformed: bool = False
    fn: Any = None                  # a user's function (transf=callable)
    measure: str | None = None
    name: str | None = None         # axis title and effect-column header

    def pooled(self, fit: Any) -> Any:
        """The function that back-transforms a fit's pooled estimate and limits (None: none)."""
        if not self.transformed:
            return None
        if self.fn is not None:
            return self.fn
        from mgmeta._transf import display_of
        shown = display_of(fit)
        return None if shown is None else shown[1]

    def study(self, fit: Any) -> Any:
        """f(values, i) back-transforming study i of a fit (PFT: with the study's own ni), or None."""
        if not self.transformed:
            return None
        if self.fn is None and self.measure == "PFT":
            from mgmeta._transf import fitted_frame
            from mgmeta.transforms import transf_ipft
            frame = fitted_frame(fit)
            assert frame is not None
            ni = frame["ni"].to_numpy(dtype=float)
            return lambda v, i: transf_ipft(v, ni[i])
        fn = self.pooled(fit)
        return lambda v, i: fn(v)


def _display_scale(transf: Any, measure: str | None, fits: list[Any], overall: Any) -> _Scale:
    """Read ``transf=`` ("auto", None or a function) for these fits."""
    if transf is None:
        return _Scale(measure=measure)
    if isinstance(transf, str):
        if transf != "auto":
            raise DataError(f"transf must be 'auto', None or a function, got {transf!r}", field="transf")
        if style.is_ratio(measure):
            return _Scale(log=True, measure=measure)
        from mgmeta._transf import display_of
        from mgmeta.transforms import display_name
        every = fits + ([overall] if overall is not None else [])
        name = display_name(measure)
        if name is None or any(display_of(f) is None for f in every):
            return _Scale(measure=measure)      # e.g. PFT fitted without the studies' ni
        return _Scale(transformed=True, measure=measure, name=name[0].upper() + name[1:])
    if not callable(transf):
        raise DataError(f"transf must be 'auto', None or a function such as mgmeta.transforms.transf_ilogit, "
                        f"got {transf!r}", field="transf")
    return _Scale(transformed=True, fn=transf, measure=measure)


def _apply(fn: Any, values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = np.asarray(fn(values), dtype=float)
    if out.shape != values.shape:
        raise DataError(f"transf must return one value per input value (got shape {out.shape} for "
                        f"{values.shape})", field="transf")
    return out


def _to_display(row: _Row, fn: Any) -> _Row:
    """Back-transform a row's estimate and limits in place (limits re-sorted for a decreasing function)."""
    if fn is None:
        return row
    est, lo, hi = _apply(fn, np.array([row.est, row.lo, row.hi], dtype=float))
    row.est, row.lo, row.hi = float(est), float(min(lo, hi)), float(max(lo, hi))
    return row


def _refline_value(refline: Any, log: bool) -> float:
    """A numeric ``refline`` (display scale) on the axis' scale."""
    try:
        v = float(refline)
    except (TypeError, ValueError):
        raise DataError(f"refline must be True, False or a number, got {refline!r}", field="refline") from None
    if not np.isfinite(v) or (log and v <= 0):
        raise DataError(f"refline must be a finite{' positive' if log else ''} number, got {refline!r}",
                        field="refline")
    return float(np.log(v)) if log else v


def _xlabel(xlabel: str | None, measure: str | None, scale: _Scale | None = None) -> str | None:
    """The axis title: the user's, or the measure and its scale ("Odds ratio (log scale)", "Proportion")."""
    if xlabel is not None:
        return str(xlabel) or None
    if scale is not None and scale.name:
        return scale.name
    name = style.measure_name(measure)
    if scale is not None and scale.transformed:
        return f"{name} (transformed)"
    if scale is not None and not scale.log and style.is_ratio(measure):
        return f"Log {name[0].lower() + name[1:]}"
    return f"{name} (log scale)" if style.is_ratio(measure) else name


def _favours(favours: Any) -> tuple[str, str] | None:
    if favours is None:
        return None
    if isinstance(favours, str) or len(favours) != 2 or not all(isinstance(f, str) for f in favours):
        raise DataError(f"favours must be two texts (left, right), got {favours!r}", field="favours")
    return (str(favours[0]), str(favours[1]))


def _show_pi(fit: Any, prediction: bool | None) -> bool:
    lo, hi = getattr(fit, "pi_lower", None), getattr(fit, "pi_upper", None)
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        if prediction:
            raise DataError("prediction=True needs a random-effects model (the fit has no prediction interval)",
                            field="prediction")
        return False
    if prediction is None:
        return _random(fit) and int(getattr(fit, "k", 0)) >= 3
    return bool(prediction)


def _pi_row(fit: Any) -> _Row:
    return _Row("prediction", label="Prediction interval", lo=float(fit.pi_lower), hi=float(fit.pi_upper),
                est=float(fit.estimate), indent=False)


def _summary_row(fit: Any, label: str, armv: dict[str, np.ndarray] | None, arm_kind: str | None,
                 weights: bool, subtotal: float, grouped: bool) -> _Row:
    row = _Row("summary", label=label, est=float(fit.estimate), lo=float(fit.ci_lower), hi=float(fit.ci_upper),
               bold=True, indent=grouped, fill=style.COLORS["subgroup"] if grouped else style.COLORS["summary"])
    k = int(getattr(fit, "k", len(fit.yi)))
    if grouped:
        row.label = f"{label} (k\u00a0=\u00a0{k})"
    if weights:
        row.cells["weight"] = f"{subtotal:.1f}%"
    if armv is not None:
        if arm_kind == "binary":
            row.cells.update(e1=_num(np.nansum(armv["e1"])), n1=_num(np.nansum(armv["n1"])),
                             e2=_num(np.nansum(armv["e2"])), n2=_num(np.nansum(armv["n2"])))
        else:
            row.cells.update(n1=_num(np.nansum(armv["n1"])), n2=_num(np.nansum(armv["n2"])))
    return row


def _xlim_analysis(xlim: tuple[float, float] | None, measure: str | None,
                   log: bool | None = None) -> tuple[float, float] | None:
    if xlim is None:
        return None
    try:
        lo, hi = float(xlim[0]), float(xlim[1])
    except (TypeError, ValueError, IndexError):
        raise DataError(f"xlim must be two numbers, got {xlim!r}", field="xlim") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise DataError(f"xlim must be two finite increasing numbers, got {xlim!r}", field="xlim")
    if (style.is_ratio(measure) if log is None else log):
        if lo <= 0:
            raise DataError(f"xlim of a ratio measure must be positive, got {xlim!r}", field="xlim")
        return float(np.log(lo)), float(np.log(hi))
    return lo, hi


# ==========================================================================
# leave-one-out and cumulative forests
# ==========================================================================

def _frame_rows(frame: pd.DataFrame, labels: list[str], extra: list[tuple[str, str, str]],
                pooled: Any = None) -> list[_Row]:
    rows = []
    for lab, (_, r) in zip(labels, frame.iterrows()):
        row = _Row("point", label=lab, est=float(r["estimate"]), lo=float(r["ci_lower"]), hi=float(r["ci_upper"]))
        _to_display(row, pooled)
        for key, col, kind in extra:
            if col in frame.columns:
                v = float(r[col])
                if kind == "pct":
                    row.cells[key] = f"{v:.0f}%"
                elif kind == "p":
                    row.cells[key] = style.format_p(v).replace("p = ", "").replace("p ", "")
                else:
                    row.cells[key] = style.format_tau2(v)
        rows.append(row)
    return rows


def _extra_cols(frame: pd.DataFrame, extra: list[tuple[str, str, str]], headers: dict[str, str]) -> list[_Col]:
    return [_Col(key, headers[key], "right", priority=1) for key, col, _ in extra if col in frame.columns]


def _full_row(res: Any, label: str, extra: list[tuple[str, str, str]], pooled: Any = None) -> _Row:
    row = _Row("summary", label=label, est=float(res.estimate), lo=float(res.ci_lower), hi=float(res.ci_upper),
               bold=True, fill=style.COLORS["summary"])
    _to_display(row, pooled)
    values = {"tau2": float(res.tau2), "i2": float(res.i2), "pvalue": float(res.pvalue)}
    for key, col, kind in extra:
        if col in values:
            v = values[col]
            row.cells[key] = (f"{v:.0f}%" if kind == "pct" else
                              style.format_p(v).replace("p = ", "").replace("p ", "") if kind == "p" else
                              style.format_tau2(v))
    return row


def leave_one_out_forest(res: Any, loo: pd.DataFrame | None = None, *, ax: Axes | None = None,
                         measure: str | None = None, digits: int | None = None, width: float = 7.0,
                         fontsize: float | None = None, favours: tuple[str, str] | None = None,
                         xlim: tuple[float, float] | None = None, symmetric: bool | None = None,
                         title: str | None = None, xlabel: str | None = None, transf: Any = "auto") -> Figure:
    """Forest plot of the leave-one-out analysis: the pooled estimate with each study omitted in turn.

    Parameters
    ----------
    res : MetaAnalysisResult
        The full model (its diamond is drawn at the bottom and a dotted line
        marks its estimate).
    loo : DataFrame, optional
        The leave-one-out table (``res.leave_one_out()``, computed when not
        given): one row per omitted study in input order, columns
        ``estimate ci_lower ci_upper`` (analysis scale) and, if present,
        ``tau2 i2 pvalue``.
    ax, measure, digits, width, fontsize, favours, xlim, symmetric, title, xlabel, transf
        As in :func:`forest` (a PFT model is back-transformed with the
        harmonic mean of the full model's ``ni`` throughout).

    Returns
    -------
    Figure
        Rows carry the gids of :func:`forest` (``study-ci``: the CI of the
        model without that study; ``summary-diamond``: the full model).

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for
    meta-analysis. Res Synth Methods 1(2):112-25. doi:10.1002/jrsm.11
    """
    if not _is_fit(res):
        raise DataError(f"leave_one_out_forest needs a fitted meta-analysis, got {type(res).__name__}", field="res")
    if loo is None:
        loo = res.leave_one_out()
    _check_frame(loo, len(res.labels), "leave-one-out")
    meas = _measure(res, measure)
    extra = [("tau2", "tau2", "num"), ("i2", "i2", "pct"), ("p", "pvalue", "p")]
    heads = {"tau2": "\u03c4\u00b2", "i2": "I\u00b2", "p": "p"}
    scale, pooled = _table_scale(transf, meas, res, loo, "leave-one-out")
    rows = _frame_rows(loo, [f"Omitting {lab}" for lab in res.labels], extra, pooled)
    rows.append(_Row("blank", height=0.4))
    rows.append(_full_row(res, f"All studies ({_model_label(res).lower()})", extra, pooled))
    _effect_cells(rows, scale.log, digits)
    name = scale.name or style.measure_name(meas)
    cols = [_Col("est", "", "right", group=name, group_header2=_method_header(res)),
            _Col("lo", "", "right", group=name, group_header2=_method_header(res)),
            _Col("hi", "", "right", group=name, group_header2=_method_header(res))]
    cols += _extra_cols(loo, extra, heads)
    spec = _Spec(rows=rows, columns=cols, measure=meas, favours=_favours(favours),
                 xlim=_xlim_analysis(xlim, meas, log=scale.log), symmetric=symmetric, title=title, width=width,
                 fontsize=fontsize, refline=rows[-1].est, label_header="Study omitted",
                 xlabel=_xlabel(xlabel, meas, scale), log_axis=scale.log, null=_table_null(scale, meas),
                 min_span=0.0 if scale.transformed else None)
    return _Table(spec).draw(ax)


def _table_scale(transf: Any, measure: str | None, res: Any, frame: pd.DataFrame, what: str) -> tuple[_Scale, Any]:
    """The display scale of a leave-one-out or cumulative forest, and the function applied to every row."""
    scale = _display_scale(transf, measure, [res], None)
    if scale.transformed and frame.attrs.get("transf"):
        raise DataError(f"the {what} table is already transformed ({frame.attrs['transf']}); pass it on the "
                        f"analysis scale (without transf=) or draw it with transf=None", field=what)
    return scale, scale.pooled(res)


def _table_null(scale: _Scale, measure: str | None) -> float | None:
    if not scale.transformed:
        return 0.0
    return _DISPLAY_NULL.get(measure or "") if scale.fn is None else None


def cumulative_forest(res: Any, cum: pd.DataFrame | None = None, *, order: Any = None, ax: Axes | None = None,
                      measure: str | None = None, digits: int | None = None, width: float = 7.0, fontsize: float | None = None,
                      favours: tuple[str, str] | None = None,
                      xlim: tuple[float, float] | None = None, symmetric: bool | None = None,
                      title: str | None = None, xlabel: str | None = None, transf: Any = "auto") -> Figure:
    """Forest plot of a cumulative meta-analysis: the pooled estimate as studies are added in turn.

    Parameters
    ----------
    res : MetaAnalysisResult
        The full model.
    cum : DataFrame, optional
        The cumulative table (``res.cumulative(order)``, computed when not
        given): one row per step, columns ``estimate ci_lower ci_upper`` and,
        if present, ``tau2 i2 pvalue``; a ``study`` column (or the index)
        names the study added at each step; without it the labels follow
        ``order``. Estimates and limits on the analysis scale.
    order : sequence of int, optional
        0-based positions of the studies in the order they are added (as
        ``res.cumulative(order=)``); default the input order.
    ax, measure, digits, width, fontsize, favours, xlim, symmetric, title, xlabel, transf
        As in :func:`forest` (a PFT model is back-transformed with the
        harmonic mean of the full model's ``ni`` throughout).

    Returns
    -------
    Figure

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis
    of therapeutic trials for myocardial infarction. N Engl J Med 327:248-54.
    doi:10.1056/NEJM199207233270406
    """
    if not _is_fit(res):
        raise DataError(f"cumulative_forest needs a fitted meta-analysis, got {type(res).__name__}", field="res")
    if cum is None:
        cum = res.cumulative(order=order)
    _check_frame(cum, None, "cumulative")
    labels = list(res.labels)
    if "position" in cum.columns:
        names = [labels[int(i)] for i in cum["position"]]
    elif "study" in cum.columns:
        names = [str(s) for s in cum["study"]]
    elif cum.index.name == "study" or pd.api.types.is_string_dtype(cum.index) or cum.index.dtype == object:
        names = [str(s) for s in cum.index]
    elif order is not None and not isinstance(order, str) and len(order) == len(cum):
        names = [labels[int(i)] for i in order]
    else:
        names = labels[: len(cum)]
    meas = _measure(res, measure)
    extra = [("tau2", "tau2", "num"), ("i2", "i2", "pct"), ("p", "pvalue", "p")]
    heads = {"tau2": "\u03c4\u00b2", "i2": "I\u00b2", "p": "p"}
    scale, pooled = _table_scale(transf, meas, res, cum, "cumulative")
    rows = _frame_rows(cum, [f"+ {n}" if i else n for i, n in enumerate(names)], extra, pooled)
    _effect_cells(rows, scale.log, digits)
    name = scale.name or style.measure_name(meas)
    cols = [_Col("est", "", "right", group=name, group_header2=_method_header(res)),
            _Col("lo", "", "right", group=name, group_header2=_method_header(res)),
            _Col("hi", "", "right", group=name, group_header2=_method_header(res))]
    cols += _extra_cols(cum, extra, heads)
    ref = _to_display(_Row("point", est=float(res.estimate), lo=float(res.estimate), hi=float(res.estimate)),
                      pooled).est
    spec = _Spec(rows=rows, columns=cols, measure=meas, favours=_favours(favours),
                 xlim=_xlim_analysis(xlim, meas, log=scale.log), symmetric=symmetric, title=title, width=width,
                 fontsize=fontsize, refline=ref, label_header="Study added", xlabel=_xlabel(xlabel, meas, scale),
                 log_axis=scale.log, null=_table_null(scale, meas), min_span=0.0 if scale.transformed else None)
    return _Table(spec).draw(ax)


def _check_frame(frame: Any, k: int | None, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"the {what} table must be a DataFrame, got {type(frame).__name__}", field=what)
    missing = [c for c in ("estimate", "ci_lower", "ci_upper") if c not in frame.columns]
    if missing:
        raise DataError(f"the {what} table lacks column(s) {missing}", field=what)
    if k is not None and len(frame) != k:
        raise DataError(f"the {what} table has {len(frame)} rows but the model has {k} studies", field=what)
    if len(frame) == 0:
        raise DataError(f"the {what} table is empty", field=what)


# ==========================================================================
# the back end: layout and drawing
# ==========================================================================

_LADDER = np.array([1.0, 2.0, 5.0])


def _log_ladder(lo: float, hi: float) -> np.ndarray:
    """1-2-5 values (display scale) covering [exp(lo), exp(hi)]."""
    e0 = int(np.floor(np.log10(np.exp(lo)))) - 1
    e1 = int(np.ceil(np.log10(np.exp(hi)))) + 1
    vals = np.concatenate([_LADDER * 10.0 ** e for e in range(e0, e1 + 1)])
    return vals


class _Table:
    """Lays out and draws a forest table (text columns around a plot panel)."""

    GAP = 0.09          # between columns of a group (inches)
    CAP = 0.7           # largest square side as a share of the study's CI (the whisker shows 15% each side)
    GROUP_GAP = 0.16    # between groups
    MARGIN = 0.08

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec
        self.fs = spec.fontsize or (7.5 if spec.width >= 5 else 7.0)
        self.ratio = style.is_ratio(spec.measure) if spec.log_axis is None else bool(spec.log_axis)
        self.null = spec.null

    # ---- measuring ------------------------------------------------------
    def _w(self, text: str, bold: bool = False) -> float:
        return style.text_width(text, self.fs, "bold" if bold else "normal")

    def _label_need(self, r: _Row) -> float:
        """Width a label asks for: a summary label may break before its parenthesis."""
        if r.kind == "summary" and " (" in r.label:
            head, tail = r.label.split(" (", 1)
            return max(self._w(head, r.bold), self._w("(" + tail, r.bold))
        return self._w(r.label, r.bold)

    def _col_widths(self, cols: list[_Col]) -> None:
        for c in cols:
            if c.kind == "rob":
                c.width = max(self.fs * 1.5 / 72, self._w(c.header, True))
                continue
            cells = [r.cells.get(c.key, "") for r in self.spec.rows]
            ws = [self._w(t, r.bold) for t, r in zip(cells, self.spec.rows) if t]
            c.width = max(ws + [self._w(c.header, True)])
        # group headers must fit over their columns
        for g, members in self._groups(cols):
            if not g:
                continue
            span = sum(c.width + self._gap(c) for c in members[:-1]) + members[-1].width
            need = max(self._w(g, True), self._w(members[0].group_header2, True))
            if need > span:
                extra = (need - span) / len(members)
                for c in members:
                    c.width += extra

    @staticmethod
    def _groups(cols: list[_Col]) -> list[tuple[str, list[_Col]]]:
        out: list[tuple[str, list[_Col]]] = []
        for c in cols:
            if out and c.group and out[-1][0] == c.group and out[-1][1][-1].side == c.side:
                out[-1][1].append(c)
            else:
                out.append((c.group, [c]))
        return out

    def _gap(self, c: _Col) -> float:
        return 0.045 if c.key in ("est", "lo") else self.GAP

    def _side_width(self, cols: list[_Col]) -> float:
        total = 0.0
        for _, members in self._groups(cols):
            total += sum(c.width + self._gap(c) for c in members[:-1]) + members[-1].width + self.GROUP_GAP
        return total

    # ---- layout -----------------------------------------------------------
    def layout(self, W: float) -> None:
        spec = self.spec
        rows = spec.rows
        for r in rows:
            if not r.raw:
                r.raw = r.label
            r.label = r.raw
        cols = [replace(c) for c in spec.columns]
        self._col_widths(cols)
        label_rows = [r for r in rows if r.kind not in ("text", "blank")]
        # the width every label asks for (a summary label may break before its parenthesis), and the width
        # that keeps every label on one line (taken when there is room)
        full_label_w = max([self._label_need(r) + (0.12 if r.indent else 0) for r in label_rows] +
                           [self._w(spec.label_header, True)])
        want_label_w = max([self._w(r.label, r.bold) + (0.12 if r.indent else 0) for r in label_rows] +
                           [full_label_w])
        max_label = spec.max_label_width or max(1.0, W / 3)
        min_panel = max(1.0, 0.17 * W)
        label_w = min(want_label_w, max_label)

        def panel_for(lw: float, cs: list[_Col]) -> float:
            return W - (2 * self.MARGIN + lw + self._side_width(cs) + 0.1)

        # 1. wrap long labels down to a floor; 2. drop optional columns; 3. wrap labels further
        floor = min(label_w, full_label_w, max(1.2, W / 5))

        def fit(cs: list[_Col]) -> tuple[float, float]:
            lw = label_w
            short = min_panel - panel_for(lw, cs)
            if short > 0 and spec.max_label_width is None:
                lw = max(floor, lw - short)
            return lw, panel_for(lw, cs)

        lw, panel = fit(cols)
        while panel < min_panel and spec.columns_mode != "all":
            droppable = [c.priority for c in cols if c.priority > 0]
            if not droppable:
                break
            worst = max(droppable)
            cols = [c for c in cols if c.priority != worst]
            lw, panel = fit(cols)
        label_w = lw
        if panel < min_panel:
            label_w = max(0.6, label_w - (min_panel - panel))
            panel = panel_for(label_w, cols)
        if panel < 0.5:
            raise DataError(f"a forest plot {W:.2f} in wide has no room for its plot panel; increase width or "
                            f"use columns='auto'", field="width")
        self.compromised = len(cols) < len(spec.columns) or label_w < min(full_label_w, max_label) - 1e-9
        self.cols = cols
        self.label_w = label_w
        self.panel_w = panel
        # wrap labels and text lines; row heights
        text_w = W - 2 * self.MARGIN
        for r in rows:
            if r.kind == "text":
                r.label = style.wrap_text(r.label, text_w - (0.12 if r.indent else 0), self.fs * 0.92, max_lines=3)
                r.height = r.label.count("\n") + 1
            elif r.kind != "blank":
                avail = label_w - (0.12 if r.indent else 0)
                weight = "bold" if r.bold else "normal"
                if r.kind == "summary" and " (" in r.label and self._w(r.label, r.bold) > avail:
                    # "Random-effects model" over "(REML, Hartung-Knapp)"
                    head, tail = r.label.split(" (", 1)
                    r.label = (style.wrap_text(head, avail, self.fs, weight) + "\n" +
                               style.wrap_text("(" + tail, avail, self.fs, weight))
                else:
                    r.label = style.wrap_text(r.label, avail, self.fs, weight)
                r.height = max(1.0, 0.85 * (r.label.count("\n") + 1))
        # lines of text after the last drawn row go under the axis (the axis then sits right below the
        # last diamond or bar); lines of text between rows stay in place
        graphic = [i for i, r in enumerate(rows) if r.kind not in ("text", "blank")]
        last = graphic[-1] if graphic else -1
        # ... except the last subgroup's own (indented) lines when no overall model follows it: they stay
        # under its subtotal, as every other subgroup's
        while last + 1 < len(rows) and rows[last + 1].kind == "text" and rows[last + 1].indent:
            last += 1
        self.tail = [r for r in rows[last + 1:] if r.kind == "text"]
        tail_ids = {id(r) for r in self.tail}
        y = 0.0
        for r in rows:
            if id(r) in tail_ids:
                continue
            r.y = y + r.height / 2
            y += r.height
        self.n_units = max(y, 1.0)
        self.tail_ids = tail_ids
        # x positions
        x = self.MARGIN
        self.label_x = x
        x += label_w + self.GROUP_GAP / 2
        left_cols = [c for c in cols if c.side == "left"]
        right_cols = [c for c in cols if c.side == "right"]
        for _, members in self._groups(left_cols):
            for c in members:
                c.x = x
                x += c.width + self._gap(c)
            x += self.GROUP_GAP - self._gap(members[-1])
        self.panel_x = x + 0.05
        x = self.panel_x + panel + self.GROUP_GAP
        for _, members in self._groups(right_cols):
            for c in members:
                c.x = x
                x += c.width + self._gap(c)
            x += self.GROUP_GAP - self._gap(members[-1])
        # vertical geometry (inches)
        self.row_h = self.fs * 1.6 / 72
        self.head_h = 2 * self.row_h + (0.3 if spec.title else 0.0)
        foot_lines = 0
        if spec.rob_legend is not None:
            foot_lines = self._rob_legend_lines(text_w)
        self.axis_h = (0.42 if spec.favours else 0.3) + (0.18 if spec.xlabel else 0.0)
        self.tail_h = sum(r.height for r in self.tail) * self.row_h * 0.92 + (0.04 if self.tail else 0.0)
        self.foot_h = (foot_lines * 0.9 + 1.2) * self.row_h if foot_lines else 0.0
        self.H = (self.MARGIN + self.head_h + self.n_units * self.row_h + self.axis_h + self.tail_h + self.foot_h
                  + self.MARGIN)

    def _fit_layout(self, W: float) -> None:
        """Lay out at the default size, or a little smaller when that keeps every column and label whole."""
        if self.spec.fontsize is not None:
            self.layout(W)
            return
        sizes = (7.5, 7.0, 6.5) if W >= 5 else (7.0, 6.5)
        for fs in sizes:
            self.fs = fs
            self.layout(W)
            if not self.compromised:
                return
        self.fs = sizes[0]
        self.layout(W)

    def _rob_legend_lines(self, text_w: float) -> int:
        codes, names = self.spec.rob_legend  # type: ignore[misc]
        txt = "Risk of bias: " + "; ".join(f"{c} {n.lower()}" for c, n in zip(codes, names)) + "."
        self.rob_text = style.wrap_text(txt, text_w, self.fs * 0.85, max_lines=4)
        return self.rob_text.count("\n") + 1

    # ---- x axis -------------------------------------------------------------
    def _limits(self) -> tuple[float, float, np.ndarray]:
        spec = self.spec
        rows = [r for r in spec.rows if r.kind in ("study", "point", "summary", "prediction")]
        null = self.null
        if spec.xlim is not None:
            lo, hi = spec.xlim
        else:
            ests = [r.est for r in rows if r.kind in ("study", "point") and np.isfinite(r.est)]
            summ = [v for r in rows if r.kind in ("summary", "prediction") for v in (r.lo, r.hi) if np.isfinite(v)]
            allv = [v for r in rows for v in (r.lo, r.hi) if np.isfinite(v)]
            nul = [] if null is None else [null]
            core = ests + summ + nul
            clo, chi = min(core), max(core)
            floor = (0.2 if not self.ratio else np.log(1.5)) if spec.min_span is None else \
                max(spec.min_span, 0.05 * max(abs(clo), abs(chi)), 1e-12)
            span = max(chi - clo, floor)
            flo, fhi = min(allv + nul), max(allv + nul)
            lo = max(flo, clo - span)
            hi = min(fhi, chi + span)
            if hi - lo < floor:                 # a single point: widen around it
                lo, hi = lo - floor / 2, hi + floor / 2
            if null is not None and self._symmetric():
                m = max(null - lo, hi - null, 1e-9)
                lo, hi = null - m, null + m
        return self._ticks(lo, hi, exact=spec.xlim is not None)

    def _symmetric(self) -> bool:
        s = self.spec.symmetric
        if self.null is None:
            return False                # nothing to be symmetric about
        return self.ratio if s is None else bool(s)

    def _fits(self, ticks: np.ndarray, lo: float, hi: float, labels: list[str]) -> bool:
        pos = (ticks - lo) / (hi - lo) * self.panel_w
        ws = [style.text_width(t, self.fs * 0.94) for t in labels]
        for i in range(len(ticks) - 1):
            if pos[i + 1] - pos[i] < (ws[i] + ws[i + 1]) / 2 + 0.06:
                return False
        return True

    def _ticks(self, lo: float, hi: float, exact: bool) -> tuple[float, float, np.ndarray]:
        if self.ratio:
            ladder = _log_ladder(lo, hi)
            tl = np.log(ladder)
            if not exact:
                below = tl[tl <= lo + 1e-9]
                above = tl[tl >= hi - 1e-9]
                lo = float(below.max()) if below.size else lo
                hi = float(above.min()) if above.size else hi
                if self._symmetric():
                    c = float(self.null or 0.0)
                    m = max(c - lo, hi - c)
                    lo, hi = c - m, c + m
            cands = ladder[(tl >= lo - 1e-9) & (tl <= hi + 1e-9)]
            options = [cands,
                       cands[np.isin(np.round(cands / 10.0 ** np.floor(np.log10(cands)), 6), [1.0, 5.0])],
                       cands[np.isin(np.round(cands / 10.0 ** np.floor(np.log10(cands)), 6), [1.0])]]
            opt_list = []
            plain = []
            for o in options:
                o = np.unique(np.concatenate([o, [1.0]])) if lo <= 0 <= hi else o
                plain.append(o)
                if exact:  # user limits are labelled too (0.25 ... 2)
                    o = np.unique([float(f"{v:.10g}") for v in np.concatenate([o, np.exp([lo, hi])])])
                opt_list.append(o)
            if exact:  # when labelled limits crowd the axis, the ladder alone
                opt_list += plain
            for o in opt_list:
                labs = [_tick_label(v) for v in o]
                if len(o) >= 2 and self._fits(np.log(o), lo, hi, labs):
                    return lo, hi, np.log(o)
            o = opt_list[-1]
            if len(o) > 3:
                o = o[:: max(1, len(o) // 3)]
            return lo, hi, np.log(o)
        for nb in (7, 6, 5, 4, 3, 2):
            loc = MaxNLocator(nbins=nb, steps=[1, 2, 2.5, 5, 10])
            t = np.asarray(loc.tick_values(lo, hi), float)
            if not exact:
                nlo, nhi = float(t[t <= lo + 1e-12].max()), float(t[t >= hi - 1e-12].min())
            else:
                nlo, nhi = lo, hi
            tt = t[(t >= nlo - 1e-12) & (t <= nhi + 1e-12)]
            if self._fits(tt, nlo, nhi, [_tick_label_lin(v) for v in tt]):
                return nlo, nhi, tt
        return nlo, nhi, tt

    # ---- drawing ---------------------------------------------------------------
    def draw(self, ax: Axes | None) -> Figure:
        spec = self.spec
        with style.plot_style():
            if ax is not None:
                fig = style.root_figure(ax)
                bbox = ax.get_position()
                fw, fh = fig.get_size_inches()
                W = bbox.width * fw
                self._fit_layout(W)
                outer = ax
                outer.set_axis_off()
                H = bbox.height * fh
                scale_h = H / self.H
            else:
                self._fit_layout(spec.width)
                W, H = spec.width, self.H
                fig, _ = style.new_figure(W, H)
                outer = fig.add_axes((0, 0, 1, 1))
                outer.set_axis_off()
                scale_h = 1.0
            self.W, self.Hs = W, H
            kept = {c.key for c in self.cols}
            dropped = list(dict.fromkeys(c.group or c.header for c in spec.columns if c.key not in kept))
            if dropped:
                warnings.warn(f"forest plot {W:.2g} in wide: no room for the column(s) "
                              f"{', '.join(repr(d) for d in dropped)}, left out; make the figure wider "
                              f"(width=) or pass columns='all' to keep them and wrap the labels",
                              MgmetaWarning, stacklevel=3)
            outer.set_xlim(0, 1)
            outer.set_ylim(0, 1)
            # plot panel: the rows region (from the top of the first row to the bottom of the last)
            top_in = H - (self.MARGIN + self.head_h) * scale_h
            rows_h = self.n_units * self.row_h * scale_h
            panel = outer.inset_axes((self.panel_x / W, (top_in - rows_h) / H, self.panel_w / W, rows_h / H))
            self.panel = panel
            self.outer = outer
            self.fig = fig
            panel.set_ylim(self.n_units, 0)
            lo, hi, ticks = self._limits()
            self.lo, self.hi = lo, hi
            panel.patch.set_alpha(0)
            for s in ("top", "right", "left"):
                panel.spines[s].set_visible(False)
            panel.tick_params(axis="y", left=False, labelleft=False)
            panel.yaxis.set_major_locator(NullLocator())
            if self.ratio:
                panel.set_xscale("log")
                panel.set_xlim(np.exp(lo), np.exp(hi))
                panel.set_xticks(np.exp(ticks), [_tick_label(float(np.exp(t))) for t in ticks])
            else:
                panel.set_xlim(lo, hi)
                panel.set_xticks(ticks, [_tick_label_lin(float(t)) for t in ticks])
            panel.xaxis.set_minor_locator(NullLocator())
            panel.tick_params(axis="x", labelsize=self.fs * 0.94, pad=2)
            self.trans = mtransforms.blended_transform_factory(outer.transAxes, panel.transData)
            self._draw_headers()
            self._draw_rows()
            self._draw_panel_lines()
            self._draw_axis_text()
            self._draw_tail()
            if spec.rob_legend is not None:
                self._draw_rob_legend()
            if spec.title:
                outer.text(self.MARGIN / W, 1 - self.MARGIN / H, spec.title, ha="left", va="top",
                           fontsize=self.fs * 1.15, fontweight="bold", transform=outer.transAxes, gid="title")
        return fig

    def _x(self, inches: float) -> float:
        return inches / self.W

    def _d(self, v: float) -> float:
        """Analysis scale -> display scale."""
        return float(np.exp(v)) if self.ratio else float(v)

    def _col_text_x(self, c: _Col) -> tuple[float, str]:
        if c.align == "left":
            return c.x, "left"
        if c.align == "center":
            return c.x + c.width / 2, "center"
        return c.x + c.width, "right"

    def _draw_headers(self) -> None:
        o, fs, t = self.outer, self.fs, self.trans
        y2, y1 = -0.55, -1.55
        o.text(self._x(self.label_x), y2, self.spec.label_header, ha="left", va="center", fontsize=fs,
               fontweight="bold", transform=t, gid="header")
        for g, members in self._groups(self.cols):
            if g:
                x0 = members[0].x
                x1 = members[-1].x + members[-1].width
                o.text(self._x((x0 + x1) / 2), y1, g, ha="center", va="center", fontsize=fs, fontweight="bold",
                       transform=t, gid="header")
                if members[0].group_header2:
                    o.text(self._x((x0 + x1) / 2), y2, members[0].group_header2, ha="center", va="center",
                           fontsize=fs * 0.92, transform=t, gid="header")
                else:
                    # a thin rule under the group header
                    o.plot([self._x(x0), self._x(x1)], [y1 + 0.5, y1 + 0.5], color="#666666", lw=0.5,
                           transform=t, clip_on=False)
            if not members[0].group_header2:
                for c in members:
                    x, ha = self._col_text_x(c)
                    o.text(self._x(x), y2, c.header, ha=ha, va="center", fontsize=fs if c.kind != "rob" else fs * 0.9,
                           fontweight="bold", transform=t, gid="header")
        # rule under the headers, across the whole table
        right = max([c.x + c.width for c in self.cols] + [self.panel_x + self.panel_w])
        o.plot([self._x(self.label_x), self._x(right)], [0, 0], color="#222222", lw=0.6, transform=t,
               clip_on=False, gid="header-rule")

    def _draw_rows(self) -> None:
        o, p, fs, t = self.outer, self.panel, self.fs, self.trans
        lo_d, hi_d = self._d(self.lo), self._d(self.hi)
        studies = [r for r in self.spec.rows if r.kind in ("study", "point") and np.isfinite(r.est)]
        sizes = [r.size for r in studies if r.size is not None and r.size > 0]
        wmax = max(sizes) if sizes else 1.0
        smax = 0.92 * self.row_h * 72  # largest square side, points
        smin = 2.2
        segs, xs, ys, ss, arrows_r, arrows_l = [], [], [], [], [], []
        kinds: list[bool] = []   # True: a point of a leave-one-out or cumulative table
        for r in self.spec.rows:
            ind = 0.12 if r.indent else 0.0
            if id(r) in self.tail_ids:
                continue
            if r.kind == "text":
                o.text(self._x(self.label_x + ind), r.y, _spaces(r.label), ha="left", va="center", fontsize=fs * 0.92,
                       transform=t, gid="heterogeneity" if r.label.startswith("Heterogeneity") else "footnote",
                       linespacing=1.1, parse_math=False)
                continue
            if r.kind == "blank":
                continue
            o.text(self._x(self.label_x + ind), r.y, r.label, ha="left", va="center", fontsize=fs,
                   fontweight="bold" if r.bold else "normal", transform=t, linespacing=1.0, parse_math=False,
                   gid={"study": "study-label", "point": "study-label", "group": "group-label",
                        "summary": "summary-label", "prediction": "prediction-label"}[r.kind])
            for c in self.cols:
                if c.kind == "rob":
                    continue
                txt = r.cells.get(c.key, "")
                if c.key == "hi" and r.note and not txt:
                    # a note spans the effect columns, right-aligned with them (no width of its own)
                    o.text(self._x(c.x + c.width), r.y, r.note, ha="right", va="center", fontsize=fs * 0.9,
                           style="italic", color=style.COLORS["muted"], transform=t, gid="effect-note")
                    continue
                if not txt:
                    continue
                x, ha = self._col_text_x(c)
                gid = "weight" if c.key == "weight" else (f"effect-{c.key}" if c.key in ("est", "lo", "hi")
                                                          else f"cell-{c.key}")
                o.text(self._x(x), r.y, txt, ha=ha, va="center", fontsize=fs,
                       fontweight="bold" if r.bold else "normal", transform=t, gid=gid)
            if r.rob:
                rcols = [c for c in self.cols if c.kind == "rob"]
                for j, (c, jd) in enumerate(zip(rcols, r.rob)):
                    if jd:
                        _rob._dot(o, self._x(c.x + c.width / 2), r.y, jd, size=self.row_h * 72 * 0.72,
                                  fontsize=fs * 0.78, gid=f"rob-dot-{j}", transform=t)
            # graphics in the panel
            if r.kind in ("study", "point") and np.isfinite(r.est):
                a, b = self._d(r.lo), self._d(r.hi)
                ca, cb = max(a, lo_d), min(b, hi_d)
                if ca < cb:
                    segs.append([(ca, r.y), (cb, r.y)])
                if b > hi_d:
                    arrows_r.append((hi_d, r.y))
                if a < lo_d:
                    arrows_l.append((lo_d, r.y))
                e = self._d(r.est)
                if lo_d <= e <= hi_d:
                    xs.append(e)
                    ys.append(r.y)
                    if r.size is None:
                        side = 0.5 * self.row_h * 72
                    else:
                        side = max(smin, smax * np.sqrt(max(r.size, 0.0) / wmax))
                    # never wider than CAP of the CI, so that the whisker shows on both sides (as RevMan)
                    ci_pt = (r.hi - r.lo) / (self.hi - self.lo) * self.panel_w * 72
                    ss.append(max(min(side, self.CAP * ci_pt), 1.0))
                    kinds.append(r.size is None)
            elif r.kind == "summary":
                self._diamond(r)
            elif r.kind == "prediction":
                self._pi_bar(r)
        if segs:
            p.add_collection(LineCollection(segs, colors=style.COLORS["ci"], linewidths=0.8, zorder=2,
                                            gid="study-ci", capstyle="butt"))
        ss_arr = np.array(ss)
        pt = np.array(kinds, dtype=bool)
        for sel, gid in ((~pt, "study-square"), (pt, "study-point")):
            if sel.any():
                p.scatter(np.array(xs)[sel], np.array(ys)[sel], s=ss_arr[sel] ** 2, marker="s",
                          c=style.COLORS["study"], edgecolors="none", zorder=3, gid=gid, clip_on=False)
        ms = (0.5 * self.row_h * 72) ** 2
        for arrows, marker in ((arrows_r, ">"), (arrows_l, "<")):
            if arrows:
                p.scatter([a[0] for a in arrows], [a[1] for a in arrows], s=ms, marker=marker, c=style.COLORS["ci"],
                          zorder=4, gid="ci-arrow", clip_on=False, edgecolors="none")

    def _clip_shape(self, left: float, right: float) -> tuple[float, float, bool, bool]:
        return max(left, self.lo), min(right, self.hi), left < self.lo, right > self.hi

    def _diamond(self, r: _Row) -> None:
        p = self.panel
        h = 0.36 * min(r.height, 1.0)
        est, lo, hi = r.est, r.lo, r.hi
        pts: list[tuple[float, float]] = []
        # the diamond in analysis-scale x, clipped at the axis limits (then an arrow marks the cut)
        cl, ch, cut_l, cut_h = self._clip_shape(lo, hi)
        if cut_l and lo < est:
            frac = (cl - lo) / (est - lo)
            pts += [(cl, r.y - h * frac), (cl, r.y + h * frac)][::-1]
        else:
            pts.append((lo, r.y))
        pts.append((est, r.y + h))
        if cut_h and hi > est:
            frac = (hi - ch) / (hi - est)
            pts += [(ch, r.y + h * frac), (ch, r.y - h * frac)]
        else:
            pts.append((hi, r.y))
        pts.append((est, r.y - h))
        pts = [(self._d(x), y) for x, y in pts]
        gid = "subgroup-diamond" if r.indent else "summary-diamond"
        p.add_patch(Polygon(pts, closed=True, facecolor=r.fill or style.COLORS["summary"],
                            edgecolor=style.COLORS["summary"], linewidth=0.6, zorder=3, gid=gid, clip_on=False))
        ms = (0.55 * self.row_h * 72) ** 2
        if cut_l:
            p.scatter([self._d(self.lo)], [r.y], s=ms, marker="<", c=style.COLORS["ci"], zorder=4, gid="ci-arrow",
                      clip_on=False, edgecolors="none")
        if cut_h:
            p.scatter([self._d(self.hi)], [r.y], s=ms, marker=">", c=style.COLORS["ci"], zorder=4, gid="ci-arrow",
                      clip_on=False, edgecolors="none")

    def _pi_bar(self, r: _Row) -> None:
        p = self.panel
        cl, ch, cut_l, cut_h = self._clip_shape(r.lo, r.hi)
        h = 0.26
        p.add_patch(Rectangle((self._d(cl), r.y - h / 2), self._d(ch) - self._d(cl), h,
                              facecolor=style.COLORS["prediction"], edgecolor="none", zorder=3,
                              gid="prediction-interval", clip_on=False))
        ms = (0.5 * self.row_h * 72) ** 2
        if cut_l:
            p.scatter([self._d(self.lo)], [r.y], s=ms, marker="<", c=style.COLORS["prediction"], zorder=4,
                      gid="ci-arrow", clip_on=False, edgecolors="none")
        if cut_h:
            p.scatter([self._d(self.hi)], [r.y], s=ms, marker=">", c=style.COLORS["prediction"], zorder=4,
                      gid="ci-arrow", clip_on=False, edgecolors="none")

    def _draw_panel_lines(self) -> None:
        p = self.panel
        drawn = [r for r in self.spec.rows if r.kind in ("study", "point", "summary", "prediction", "group")]
        if not drawn:
            return
        # vertical lines run through the graphical rows only, never through lines of text
        spans: list[list[float]] = []
        for r in drawn:
            top, bottom = r.y - r.height / 2, r.y + r.height / 2
            between = [q for q in self.spec.rows if spans and spans[-1][1] - 1e-9 <= q.y <= top + 1e-9]
            if spans and all(q.kind == "blank" for q in between):
                spans[-1][1] = bottom
            else:
                spans.append([top, bottom])
        if self.null is not None and self.lo <= self.null <= self.hi:
            # not clipped: at an end of the axis (limits clipped at the null) it is drawn whole
            p.vlines([self._d(self.null)] * len(spans), [s[0] for s in spans], [s[1] for s in spans],
                     colors=style.COLORS["reference"], linewidths=0.8, zorder=1, gid="null-line", clip_on=False)
        ref = self.spec.refline
        if ref is not None and self.lo <= ref <= self.hi:
            summaries = [r for r in self.spec.rows if r.kind == "summary" and not r.indent]
            stop = (summaries[-1].y - 0.36) if summaries else spans[-1][1]
            segs = [(a, min(b, stop)) for a, b in spans if a < stop]
            p.vlines([self._d(ref)] * len(segs), [s[0] for s in segs], [s[1] for s in segs],
                     colors=style.COLORS["muted"], linewidths=0.6, linestyles=(0, (2, 2)), zorder=1,
                     gid="estimate-line")
        p.spines["bottom"].set_bounds(self._d(self.lo), self._d(self.hi))

    def _draw_axis_text(self) -> None:
        p, fs = self.panel, self.fs
        fav = self.spec.favours
        tick_drop = (3.0 + 2.0 + fs * 0.94 * 1.3 + 3.0) / 72  # tick, pad, label, gap (inches)
        base = mtransforms.blended_transform_factory(p.transData, p.transAxes)
        # the axis title right under the tick labels, the favours labels under it
        if self.spec.xlabel:
            off = mtransforms.ScaledTranslation(0, -tick_drop, self.fig.dpi_scale_trans)
            p.text(0.5, 0, self.spec.xlabel, ha="center", va="top", fontsize=fs * 0.94, transform=p.transAxes + off,
                   gid="xlabel")
            tick_drop += fs * 1.45 / 72
        if fav is not None:
            mid = self.null if self.null is not None else (self.lo + self.hi) / 2
            nx = self._d(min(max(mid, self.lo), self.hi))
            off = mtransforms.ScaledTranslation(0, -tick_drop, self.fig.dpi_scale_trans)
            gap = 0.06
            left = fav[0] if fav[0].lower().startswith("favours") else f"Favours {fav[0]}"
            right = fav[1] if fav[1].lower().startswith("favours") else f"Favours {fav[1]}"
            p.text(nx, 0, "\u2190 " + left, ha="right", va="top", fontsize=fs * 0.92, clip_on=False,
                   transform=base + off + mtransforms.ScaledTranslation(-gap, 0, self.fig.dpi_scale_trans),
                   gid="favours-left")
            p.text(nx, 0, right + " \u2192", ha="left", va="top", fontsize=fs * 0.92, clip_on=False,
                   transform=base + off + mtransforms.ScaledTranslation(gap, 0, self.fig.dpi_scale_trans),
                   gid="favours-right")

    def _draw_tail(self) -> None:
        """Heterogeneity and test lines that follow the last drawn row, under the axis."""
        o, fs = self.outer, self.fs
        y_in = self.MARGIN + self.foot_h + self.tail_h  # top of the block, from the bottom (inches)
        for r in self.tail:
            h = r.height * self.row_h * 0.92
            o.text(self._x(self.label_x + (0.12 if r.indent else 0.0)), (y_in - h / 2) / self.Hs, _spaces(r.label),
                   ha="left", va="center", fontsize=fs * 0.92, transform=o.transAxes, linespacing=1.1,
                   parse_math=False, gid="heterogeneity" if r.label.startswith("Heterogeneity") else "footnote")
            y_in -= h

    def _draw_rob_legend(self) -> None:
        o, fs = self.outer, self.fs
        y_in = self.MARGIN + self.foot_h  # from the bottom (inches)
        o.text(self._x(self.label_x), y_in / self.Hs, self.rob_text, ha="left", va="top", fontsize=fs * 0.85,
               transform=o.transAxes, linespacing=1.15, gid="rob-legend")
        # judgement key on the last line
        y_key = (self.MARGIN + 0.45 * self.row_h) / self.Hs
        x = self.label_x
        for jd in _rob.JUDGEMENTS:
            _rob._dot(o, self._x(x + 0.05), y_key, jd, size=self.row_h * 72 * 0.6, fontsize=fs * 0.65,
                      gid=f"rob-key-{jd.replace(' ', '-')}", transform=o.transAxes)
            lab = jd.capitalize()
            o.text(self._x(x + 0.14), y_key, lab, ha="left", va="center", fontsize=fs * 0.85,
                   transform=o.transAxes)
            x += 0.14 + style.text_width(lab, fs * 0.85) + 0.2


def _tick_label(v: float) -> str:
    if v >= 1:
        return f"{v:g}"
    return f"{v:.10f}".rstrip("0").rstrip(".")


def _tick_label_lin(v: float) -> str:
    s = f"{v:.6g}"
    if s in ("-0", "0.0", "-0.0"):
        s = "0"
    return s.replace("-", "\u2212")
