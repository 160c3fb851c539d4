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

__all__ = ["resolve_transf", "transform_frame", "RATIO", "fitted_frame", "display_of"]

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


def fitted_frame(fit: Any) -> pd.DataFrame | None:
    """The rows of a fit's effect-size frame (``fit.data``) that are in the fit, or None when unknown.

    A fit keeps the whole frame it came from; rows flagged ``dropped`` and
    rows without ``yi``/``vi`` are not in it. When that does not leave
    ``fit.k`` rows (a study omitted for a missing weight), the study labels
    decide; None when even they do not.
    """
    data = getattr(fit, "data", None)
    if not isinstance(data, pd.DataFrame):
        return None
    keep = np.ones(len(data), dtype=bool)
    if "dropped" in data.columns:
        keep &= ~data["dropped"].to_numpy(dtype=bool)
    for col in ("yi", "vi"):
        if col in data.columns:
            keep &= np.isfinite(pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float))
    k = int(getattr(fit, "k", -1))
    if int(keep.sum()) == k:
        return data[keep]
    col = data.attrs.get("labels", "study")
    if col is not None and col in data.columns:
        keep &= np.isin(data[col].astype(str).to_numpy(), [str(x) for x in getattr(fit, "labels", ())])
        if int(keep.sum()) == k:
            return data[keep]
    return None


def display_of(fit: Any) -> tuple[str, Callable[[np.ndarray], np.ndarray]] | None:
    """The title and function of a fit's display scale, or None (the analysis scale is shown as is).

    Ratio measures are exponentiated ("Exponentiated (OR)"); the single-group
    measures get :func:`mgmeta.transforms.display_transform` ("Back-transformed
    (proportion)"), PFT with the harmonic mean of the ``ni`` of the studies in
    the fit (none when the fit does not carry them).
    """
    from mgmeta.transforms import display_name, display_transform
    measure = getattr(fit, "measure", None)
    if measure in RATIO:
        return f"Exponentiated ({measure})", np.exp
    fn = display_transform(measure, fitted_frame(fit) if measure == "PFT" else None)
    if fn is None:
        return None
    return f"Back-transformed ({display_name(measure)})", fn
