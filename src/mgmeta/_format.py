"""Number formatting shared by the printed summaries (metafor-like output)."""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

__all__ = ["format_pvalue", "format_number", "text_table", "html_table"]


def format_pvalue(p: float, digits: int = 4) -> str:
    """p-values as metafor prints them: ``<.0001`` below 10^-digits, else without the leading zero."""
    if p is None or not np.isfinite(p):
        return "NA"
    if p < 10.0 ** (-digits):
        return "<." + "0" * (digits - 1) + "1"
    s = f"{p:.{digits}f}"
    return s[1:] if s.startswith("0") else s


def format_number(x: float | None, digits: int = 4) -> str:
    """A fixed-point number, ``NA`` for None/NaN."""
    if x is None or not np.isfinite(x):
        return "NA"
    return f"{x:.{digits}f}"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Right-aligned plain-text table."""
    cols = list(zip(header, *rows))
    widths = [max(len(c) for c in col) for col in cols]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for r in rows:
        lines.append("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    """A small HTML table for notebooks' ``_repr_html_``."""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
