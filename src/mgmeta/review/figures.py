"""Figures of the magnesium review that are not forest plots (those are drawn by :mod:`mgmeta.plots`)."""
from __future__ import annotations

from typing import Any

__all__ = ["published_estimates"]

_MEASURE_NAMES = {"OR": "Odds ratio", "RR": "Risk ratio", "RD": "Risk difference", "MD": "Mean difference",
                  "SMD": "Standardized mean difference", "ROM": "Log ratio of means"}
_RATIOS = ("OR", "RR")


def _direction_words(texts: list[Any]) -> str:
    """What an estimate means, from the reviews' own direction statements (``published.csv``)."""
    stated = [str(t) for t in texts if isinstance(t, str) and "not stated" not in t and "not seen" not in t]
    if not stated:
        return "direction not stated by the reviews"
    clauses = {c.strip() for t in stated for c in t.split(";") if "favours" in c}
    if len(clauses) == 1:
        words = clauses.pop()
    else:
        firsts = {t.split(";")[0].strip() for t in stated}
        words = firsts.pop() if len(firsts) == 1 else "as each review states it (see the table)"
    if len(words) > 45 and ", " in words:
        words = words.rsplit(", ", 1)[1]
    return words + (" (where stated)" if len(stated) < len(texts) else "")


def published_estimates(table: Any, *, title: str = "Published pooled results, and what could be recomputed") -> Any:
    """The published pooled estimates, one panel per measure, with what each side of the null line means.

    Parameters
    ----------
    table : DataFrame
        :func:`mgmeta.review.reproduction.reproduction_table`, with the
        published ``direction`` column (``data/published.csv``) joined.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        One panel per measure (ratios on a log axis); published estimates as
        squares with their CI where printed, recomputed ones as open circles.
        Each panel's axis title says what an estimate below the null means, as
        the reviews state it (or that they do not state it).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    from mgmeta.plots.style import OKABE_ITO

    shown = table[table["published_estimate"].notna()]
    measures = [m for m in ("OR", "RR", "RD", "MD", "ROM", "SMD") if (shown["measure"] == m).any()]
    heights = [max(1, int((shown["measure"] == m).sum())) for m in measures]
    fig, axes = plt.subplots(len(measures), 1, figsize=(7.5, 1.2 + 0.3 * sum(heights) + 0.8 * len(measures)),
                             gridspec_kw={"height_ratios": heights}, layout="constrained", squeeze=False)
    for ax, m in zip(axes[:, 0], measures):
        part = shown[shown["measure"] == m].iloc[::-1]
        y = list(range(len(part)))
        est = part["published_estimate"].to_numpy(float)
        lo = part["published_ci_lower"].fillna(part["published_estimate"]).to_numpy(float)
        hi = part["published_ci_upper"].fillna(part["published_estimate"]).to_numpy(float)
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="s", color=OKABE_ITO["blue"], ms=5, capsize=2, lw=1)
        rec = part["recomputed_estimate"]
        if rec.notna().any():
            ax.plot(rec.to_numpy(float), y, "o", mfc="none", color=OKABE_ITO["vermillion"], ms=7)
        ax.axvline(1 if m in _RATIOS else 0, color="0.2", lw=1)
        ax.set_yticks(y, [f"{str(r.review).split(' (')[0]}: {str(r.outcome).replace('_', ' ')}, {r.timepoint}"
                          for r in part.itertuples()], fontsize=8)
        if m in _RATIOS:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
        meaning = _direction_words(list(part["direction"]) if "direction" in part else [])
        ax.set_xlabel(f"{_MEASURE_NAMES[m]}{' (log scale)' if m in _RATIOS else ''}: {meaning}", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], marker="s", color=OKABE_ITO["blue"], lw=1, label="published (95% CI where printed)")]
    if shown["recomputed_estimate"].notna().any():
        handles.append(Line2D([], [], marker="o", mfc="none", color=OKABE_ITO["vermillion"], lw=0, label="recomputed here"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    return fig
