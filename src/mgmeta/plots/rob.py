"""Risk-of-bias figures: traffic-light plot and weighted summary bar chart.

Drawn as robvis draws them (McGuinness & Higgins 2021): one coloured circle
per study and domain, with a glyph that repeats the judgement (``+`` low,
``−`` some concerns, ``×`` high, ``?`` no information), so that the
figure reads in greyscale and for colour-blind readers; and, per domain, a
horizontal bar of the proportion of studies (or of the weight in the
meta-analysis) at each judgement.

References
----------
McGuinness LA, Higgins JPT (2021). Risk-of-bias VISualization (robvis): an R
package and Shiny web app for visualizing risk-of-bias assessments. Res Synth
Methods 12(1):55-61. doi:10.1002/jrsm.1411

Sterne JAC, Savović J, Page MJ, et al. (2019). RoB 2: a revised tool for
assessing risk of bias in randomised trials. BMJ 366:l4898.
doi:10.1136/bmj.l4898
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mgmeta.errors import DataError
from mgmeta.plots import style

__all__ = ["rob_summary", "JUDGEMENTS", "DOMAIN_NAMES", "normalize_judgement", "rob_domains", "rob_table"]

#: The RoB 2 judgements, from best to worst, then "no information" (robvis' fourth level; what Cochrane's
#: RoB 1 called "unclear"). RoB 2 itself has no "unclear" category, so "unclear" is read as "no information".
JUDGEMENTS = ("low", "some concerns", "high", "no information")

#: Readable names of the RoB 2 domains of ``data/trials.csv``.
DOMAIN_NAMES: dict[str, str] = {
    "rob_randomization": "Randomization process",
    "rob_deviations": "Deviations from intended interventions",
    "rob_missing": "Missing outcome data",
    "rob_measurement": "Measurement of the outcome",
    "rob_selection": "Selection of the reported result",
    "rob_overall": "Overall",
}
_NOT_DOMAINS = {"rob_basis", "rob_notes", "rob_tool", "rob_source"}

_ALIASES: dict[str, str] = {
    "low": "low", "low risk": "low", "+": "low", "l": "low",
    "some concerns": "some concerns", "some concern": "some concerns", "some": "some concerns",
    "moderate": "some concerns", "-": "some concerns", "\u2212": "some concerns", "s": "some concerns",
    "high": "high", "high risk": "high", "serious": "high", "critical": "high", "x": "high", "h": "high",
    "unclear": "no information", "unclear risk": "no information", "no information": "no information",
    "no info": "no information", "ni": "no information", "?": "no information", "u": "no information",
    "not reported": "no information", "": "no information",
}


def normalize_judgement(value: Any, study: str | None = None, domain: str | None = None) -> str:
    """One of :data:`JUDGEMENTS` for a judgement as written in the data.

    Accepts the RoB 2 words (``low``, ``some concerns``, ``high``, ``no
    information``), RoB 1's ``unclear`` (read as "no information", since RoB 2
    has no "unclear"), robvis' glyphs and common variants, in any case; a
    missing value is "no information".

    Examples
    --------
    >>> normalize_judgement("Unclear risk"), normalize_judgement("+"), normalize_judgement(None)
    ('no information', 'low', 'no information')

    Raises
    ------
    DataError
        An unknown judgement, naming the study and the domain.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "no information"
    key = str(value).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    who = f"study {study!r}: " if study is not None else ""
    raise DataError(f"{who}unknown risk-of-bias judgement {value!r} in column {domain!r}; use one of "
                    f"{', '.join(JUDGEMENTS)}", study=study, field=domain)


def rob_domains(frame: pd.DataFrame, domains: Sequence[str] | None = None) -> list[str]:
    """The judgement columns of ``frame``: ``domains`` if given, else every ``rob_*`` column except
    free-text ones (``rob_basis``), with ``rob_overall`` last."""
    if domains is not None:
        missing = [d for d in domains if d not in frame.columns]
        if missing:
            raise DataError(f"risk-of-bias column(s) {missing} not in the data; columns are "
                            f"{list(frame.columns)}", field="domains")
        return list(domains)
    cols = [c for c in frame.columns if str(c).startswith("rob_") and c not in _NOT_DOMAINS]
    if not cols:
        raise DataError("the data has no risk-of-bias columns (rob_*); give domains=", field="domains")
    return [c for c in cols if c != "rob_overall"] + [c for c in cols if c == "rob_overall"]


def domain_name(col: str) -> str:
    """Readable name of a domain column."""
    if col in DOMAIN_NAMES:
        return DOMAIN_NAMES[col]
    name = str(col)
    if name.startswith("rob_"):
        name = name[4:]
    return name.replace("_", " ").capitalize()


def domain_codes(domains: Sequence[str]) -> list[str]:
    """Short column headers: ``D1``, ``D2``, ... and ``O`` for the overall judgement."""
    out, n = [], 0
    for d in domains:
        if d == "rob_overall" or str(d).lower() == "overall":
            out.append("O")
        else:
            n += 1
            out.append(f"D{n}")
    return out


def rob_table(frame: pd.DataFrame, *, study: str = "study", domains: Sequence[str] | None = None) -> pd.DataFrame:
    """Judgements normalised to :data:`JUDGEMENTS`, indexed by study label, one column per domain.

    Parameters
    ----------
    frame : DataFrame
        One row per study (e.g. ``data/trials.csv``); the label is the column
        ``study`` or, if there is none, the index.
    study : str
        Name of the label column.
    domains : sequence of str, optional
        Judgement columns (default: every ``rob_*`` column but ``rob_basis``).
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"risk-of-bias data must be a DataFrame, got {type(frame).__name__}", field="rob")
    cols = rob_domains(frame, domains)
    labels = [str(x) for x in (frame[study] if study in frame.columns else frame.index)]
    out = pd.DataFrame({c: [normalize_judgement(v, labels[i], c) for i, v in enumerate(frame[c])]
                        for c in cols}, index=pd.Index(labels, name="study"))
    return out


def _weights_for(weights: Any, labels: list[str], frame: pd.DataFrame) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise DataError(f"weights column {weights!r} not in the data", field="weights")
        w = pd.to_numeric(frame[weights], errors="coerce").to_numpy(float)
    elif hasattr(weights, "weights") and hasattr(weights, "labels"):
        lookup = dict(zip(map(str, weights.labels), np.asarray(weights.weights, float)))
        w = np.array([lookup.get(lab, 0.0) for lab in labels])
    elif isinstance(weights, Mapping):
        w = np.array([float(weights.get(lab, 0.0)) for lab in labels])
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(labels),):
            raise DataError(f"weights has {w.size} values but there are {len(labels)} studies", field="weights")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
        raise DataError(f"study {labels[bad]!r}: weight {w[bad]!r} is not a finite non-negative number",
                        study=labels[bad], field="weights")
    if w.sum() <= 0:
        raise DataError("the weights sum to 0 (no study of the data is in the meta-analysis)", field="weights")
    return w


def _dot(ax: Axes, x: float, y: float, judgement: str, size: float, fontsize: float, gid: str,
         transform: Any = None) -> None:
    """A robvis dot: a coloured circle with the judgement's glyph."""
    kw = {} if transform is None else {"transform": transform}
    ax.scatter([x], [y], s=size ** 2, c=style.ROB_COLORS[judgement], marker="o", edgecolors="#333333",
               linewidths=0.4, zorder=3, gid=gid, clip_on=False, **kw)
    ax.text(x, y, style.ROB_SYMBOLS[judgement], ha="center", va="center_baseline", fontsize=fontsize,
            fontweight="bold", color="#000000", zorder=4, clip_on=False, gid=gid + "-glyph", **kw)


def rob_summary(data: pd.DataFrame, *, kind: str = "both", domains: Sequence[str] | None = None,
                study: str = "study", weights: Any = None, ax: Axes | None = None, width: float | None = None,
                title: str | None = None, tool: str = "RoB 2") -> Figure:
    """Risk-of-bias summary: traffic-light plot and (weighted) bar chart, as robvis draws them.

    Parameters
    ----------
    data : DataFrame
        One row per study with judgement columns (``rob_*`` in
        ``data/trials.csv``: low / some concerns / high / no information;
        "unclear" is read as "no information").
    kind : {"both", "traffic_light", "summary"}
        The traffic-light grid (studies × domains), the bar chart of the share
        of studies at each judgement per domain, or both (the grid above the
        bars).
    domains : sequence of str, optional
        Judgement columns, in order (default: every ``rob_*`` column but
        ``rob_basis``, overall last).
    study : str
        The label column (default ``"study"``; the index if absent).
    weights : str, array_like, mapping or fitted result, optional
        Weight of each study in the bar chart (robvis' weighted summary): a
        column name, an array (one per row), a mapping {label: weight}, or a
        fitted meta-analysis (its percentage weights, matched by label;
        studies not in it get weight 0). Default: every study counts once.
    ax : Axes, optional
        Draw one panel into this axes (``kind`` must then be
        ``"traffic_light"`` or ``"summary"``).
    width : float, optional
        Figure width in inches (default: what the content needs; at least 3.5).
    title : str, optional
    tool : str
        Name of the assessment tool, for the legend.

    Returns
    -------
    Figure
        Dots carry gids ``rob-dot-<study>-<domain>``; bars ``rob-bar-<domain>-<judgement>``.

    References
    ----------
    McGuinness LA, Higgins JPT (2021). doi:10.1002/jrsm.1411
    """
    if kind not in ("both", "traffic_light", "summary"):
        raise DataError(f"kind must be 'both', 'traffic_light' or 'summary', got {kind!r}", field="kind")
    if ax is not None and kind == "both":
        raise DataError("kind='both' draws two panels and needs its own figure; pass kind='traffic_light' "
                        "or kind='summary' with ax=", field="ax")
    table = rob_table(data, study=study, domains=domains)
    labels = list(table.index)
    w = _weights_for(weights, labels, data)
    cols = list(table.columns)
    codes = domain_codes(cols)
    with style.plot_style():
        geo = _Geometry(labels, cols, codes, title)
        W = width or max(3.5, geo.tl_width if kind == "traffic_light" else
                         (geo.sm_min_width if kind == "summary" else max(geo.tl_width, geo.sm_min_width, 5.0)))
        if kind == "traffic_light":
            H = geo.title_h + geo.tl_height
        elif kind == "summary":
            H = geo.title_h + geo.sm_height
        else:
            H = geo.title_h + geo.tl_height + 0.05 + geo.sm_height
        fig, user_ax = style.new_figure(W, H, ax)
        if user_ax is not None:
            if kind == "traffic_light":
                _traffic_light(user_ax, table, codes, cols)
            else:
                _summary_bars(user_ax, table, cols, w, tool)
            return fig
        top = H - geo.title_h
        if kind in ("both", "traffic_light"):
            geo.draw_traffic_light(fig, W, H, top, table)
            top -= geo.tl_height + 0.05
        if kind in ("both", "summary"):
            geo.draw_summary(fig, W, H, top, table, w, tool)
        if title:
            fig.text(0.08 / W, 1 - 0.06 / H, title, ha="left", va="top", fontsize=9, fontweight="bold", gid="title")
    return fig


class _Geometry:
    """Sizes in inches of the two panels, from measured text."""

    FS = 7.0
    CELL = 0.24
    MARGIN = 0.08

    def __init__(self, labels: list[str], cols: list[str], codes: list[str], title: str | None) -> None:
        self.labels, self.cols, self.codes = labels, cols, codes
        n, m = len(labels), len(cols)
        self.label_w = max(style.text_width(lab, self.FS) for lab in labels) + 0.1
        self.title_h = 0.3 if title else 0.05
        self.legend_lines = [f"{c}  {domain_name(d)}" for c, d in zip(codes, cols)]
        self.legend_w = max(style.text_width(t, self.FS * 0.9) for t in self.legend_lines)
        key_w = 1.2
        self.tl_width = self.MARGIN * 2 + self.label_w + m * self.CELL + 0.3 + max(self.legend_w, key_w) + 0.1
        self.tl_height = 0.3 + n * self.CELL + 0.1
        self.tl_height = max(self.tl_height, 0.3 + 0.16 * (m + 1) + 0.16 * 5)
        self.name_w = min(1.9, max(style.text_width(domain_name(d), self.FS) for d in cols)) + 0.1
        self.sm_min_width = self.MARGIN * 2 + self.name_w + 2.4
        self.sm_height = 0.45 + m * 0.27 + 0.45

    def draw_traffic_light(self, fig: Figure, W: float, H: float, top: float, table: pd.DataFrame) -> None:
        n, m = len(self.labels), len(self.cols)
        x0 = self.MARGIN + self.label_w
        y1 = top - 0.3
        a = fig.add_axes((x0 / W, (y1 - n * self.CELL) / H, m * self.CELL / W, n * self.CELL / H))
        _traffic_light(a, table, self.codes, self.cols)
        # legend to the right: domains, then judgements
        lx = (x0 + m * self.CELL + 0.3) / W
        fig.text(lx, y1 / H, "Domains", ha="left", va="top", fontsize=self.FS, fontweight="bold")
        for j, t in enumerate(self.legend_lines):
            fig.text(lx, (y1 - 0.17 * (j + 1)) / H, t, ha="left", va="top", fontsize=self.FS * 0.9,
                     gid="rob-legend-domain")
        yk = y1 - 0.17 * (m + 1) - 0.12
        fig.text(lx, yk / H, "Judgement", ha="left", va="top", fontsize=self.FS, fontweight="bold")
        for r, jd in enumerate(JUDGEMENTS):
            yy = (yk - 0.17 * (r + 1) - 0.06) / H
            _dot(fig.axes[-1], lx + 0.05 / W, yy, jd, 8.0, 5.5, gid=f"rob-legend-{jd.replace(' ', '-')}",
                 transform=fig.transFigure)
            fig.text(lx + 0.15 / W, yy, jd.capitalize(), ha="left", va="center", fontsize=self.FS * 0.9)

    def draw_summary(self, fig: Figure, W: float, H: float, top: float, table: pd.DataFrame,
                     w: np.ndarray | None, tool: str) -> None:
        m = len(self.cols)
        x0 = self.MARGIN + self.name_w
        bar_w = W - x0 - self.MARGIN - 0.15
        y1 = top - 0.45
        a = fig.add_axes((x0 / W, (y1 - m * 0.27) / H, bar_w / W, m * 0.27 / H))
        _summary_bars(a, table, self.cols, w, tool, wrap_width=self.name_w - 0.08)


def _traffic_light(ax: Axes, table: pd.DataFrame, codes: list[str], cols: list[str]) -> None:
    labels = list(table.index)
    n, m = len(labels), len(cols)
    fs = 7.0
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_axis_off()
    for j in range(m + 1):
        ax.plot([j - 0.5, j - 0.5], [-0.5, n - 0.5], color="#CCCCCC", lw=0.5, zorder=1, clip_on=False)
    for i in range(n + 1):
        ax.plot([-0.5, m - 0.5], [i - 0.5, i - 0.5], color="#CCCCCC", lw=0.5, zorder=1, clip_on=False)
    for j, c in enumerate(codes):
        ax.text(j, -0.65, c, ha="center", va="bottom", fontsize=fs, fontweight="bold", gid="rob-domain-header")
    for i, lab in enumerate(labels):
        ax.text(-0.62, i, lab, ha="right", va="center", fontsize=fs, gid="rob-study-label", parse_math=False)
        for j in range(m):
            _dot(ax, j, i, table.iloc[i, j], 11.5, 6.5, gid=f"rob-dot-{i}-{j}")


def _summary_bars(ax: Axes, table: pd.DataFrame, cols: list[str], w: np.ndarray | None, tool: str,
                  wrap_width: float | None = None) -> None:
    n = len(table)
    weights = np.ones(n) if w is None else w
    total = weights.sum()
    m = len(cols)
    for j, c in enumerate(cols):
        y = m - 1 - j
        left = 0.0
        for jd in JUDGEMENTS:
            share = 100.0 * weights[(table[c] == jd).to_numpy()].sum() / total
            if share <= 0:
                continue
            ax.add_patch(Rectangle((left, y - 0.36), share, 0.72, facecolor=style.ROB_COLORS[jd],
                                   edgecolor="#333333", linewidth=0.4, gid=f"rob-bar-{j}-{jd.replace(' ', '-')}"))
            if share >= 7:
                ax.text(left + share / 2, y, f"{share:.0f}%", ha="center", va="center", fontsize=6,
                        color="#000000" if jd != "high" else "#FFFFFF")
            left += share
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.5, m - 0.5)
    names = [domain_name(c) for c in cols]
    if wrap_width is not None:
        names = [style.wrap_text(nm, wrap_width, 7.0, max_lines=2) for nm in names]
    ax.set_yticks(range(m), [names[m - 1 - y] for y in range(m)])
    ax.tick_params(axis="y", length=0, labelsize=7.0)
    for t in ax.get_yticklabels():
        t.set_linespacing(1.0)
        if t.get_text().startswith("Overall"):
            t.set_fontweight("bold")
    ax.spines["left"].set_visible(False)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.tick_params(axis="x", labelsize=6.5)
    ax.set_xlabel("Share of studies" if w is None else "Share of weight in the meta-analysis", fontsize=7)
    handles = [Rectangle((0, 0), 1, 1, facecolor=style.ROB_COLORS[jd], edgecolor="#333333", linewidth=0.4)
               for jd in JUDGEMENTS]
    ax.legend(handles, [jd.capitalize() for jd in JUDGEMENTS], ncols=4, loc="lower left",
              bbox_to_anchor=(0.0, 1.0), handlelength=1.0, handleheight=0.9, columnspacing=1.0, fontsize=6.5,
              borderaxespad=0.2, title=f"Risk of bias ({tool})" if tool else None, title_fontsize=7,
              alignment="left")
