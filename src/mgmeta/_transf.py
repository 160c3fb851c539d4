"""Back-transformation of estimates for display: metafor's ``transf=`` (and ``exp=True`` for ratio measures).

Estimation always happens on the analysis scale; a transformation only changes
what a frame or printout shows. As in metafor, the standard error and the test
statistic are not transformed (the standard error is dropped), only the
estimates and their interval limits.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mgmeta.errors import DataError

__all__ = ["resolve_transf", "transform_frame", "RATIO"]

RATIO = ("OR", "RR", "PETO", "ROM", "HR", "IRR")


def resolve_transf(transf: Any, exp: bool, measure: str | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """The function to apply: ``transf``, ``np.exp`` for ``exp=True`` (ratio measures only), or None."""
    if not isinstance(exp, (bool, np.bool_)):
        raise DataError(f"exp must be True or False, got {exp!r}", field="exp")
    if exp and transf is not None:
        raise DataError("give transf or exp=True, not both", field="transf")
    if exp:
        if measure is not None and measure not in RATIO:
            raise DataError(f"exp=True is for ratio measures (log scale); measure {measure!r} is not one "
                            "(pass transf= for another transformation)", field="exp")
        return np.exp
    if transf is None:
        return None
    if not callable(transf):
        raise DataError(f"transf must be a function such as numpy.exp, got {transf!r}", field="transf")
    return transf


def transform_frame(frame: pd.DataFrame, columns: Sequence[str], fn: Callable[[np.ndarray], np.ndarray] | None,
                    drop: Sequence[str] = ("se",)) -> pd.DataFrame:
    """A copy of ``frame`` with ``fn`` applied to ``columns`` (those present) and ``drop`` removed."""
    if fn is None:
        return frame
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                out[col] = np.asarray(fn(out[col].to_numpy(dtype=float)), dtype=float)
    out = out.drop(columns=[c for c in drop if c in out.columns])
    out.attrs["transf"] = getattr(fn, "__name__", "transf")
    return out
