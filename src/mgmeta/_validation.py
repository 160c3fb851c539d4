"""Input checks shared by every public entry point.

Each check raises :class:`mgmeta.errors.DataError` at once, with a message that
names the study (its label, or its 0-based position when there are no labels),
the argument and the offending value. Inputs are always copied, never modified.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mgmeta.errors import DataError

__all__ = [
    "study_name",
    "resolve_labels",
    "as_vector",
    "check_lengths",
    "check_nonnegative",
    "check_positive",
    "check_not_above",
    "check_choice",
    "resolve_column",
    "check_level",
    "effect_inputs",
    "first_index",
    "study_error",
]


def study_name(labels: Sequence[str] | None, i: int) -> str:
    """How a message refers to study ``i``: ``study 'label'`` or ``study at position i``."""
    if labels is not None:
        return f"study {labels[i]!r}"
    return f"study at position {i}"


def resolve_labels(labels: Iterable[Any] | None, k: int) -> list[str] | None:
    """Study labels as a list of strings, checked against the number of studies.

    Missing (None/NaN) labels raise ``DataError``; duplicates are made unique
    as metafor does (``Shechter.1``, ``Shechter.2``) with a
    :class:`~mgmeta.errors.DuplicateLabelWarning`.
    """
    from mgmeta._inputs import clean_labels

    if labels is None:
        return None
    return clean_labels(labels, k, stacklevel=4)


def _fmt(value: float) -> str:
    if np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _who(labels: Sequence[str] | None, i: int) -> str:
    """study_name that also copes with labels shorter than the data (lengths are checked later)."""
    return study_name(labels if labels is not None and i < len(labels) else None, i)


def as_vector(values: Any, name: str, labels: Sequence[str] | None = None,
              *, allow_nan: bool = False) -> np.ndarray:
    """A fresh 1-D float array from ``values``; NaN and infinite values raise.

    Scalars become length-1 arrays. A 2-D array, booleans, strings (even
    numeric ones like ``"12"``) and other non-numeric entries raise
    ``DataError`` naming the argument and the study: a number is never
    guessed from something that is not one.
    """
    if isinstance(values, pd.DataFrame):
        raise DataError(f"{name} must be one column of values (1-D), got a DataFrame with "
                        f"{values.shape[1]} columns", field=name)
    if isinstance(values, (pd.Series, pd.Index)):
        if values.dtype == bool or isinstance(values.dtype, pd.BooleanDtype):
            raise DataError(f"{name} holds booleans (True/False), not numbers", field=name)
        values = values.to_numpy(dtype=object) if values.dtype == object or \
            isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(values.dtype) \
            else values.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype == bool:
        raise DataError(f"{name} holds booleans (True/False), not numbers", field=name)
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        if values.ndim > 1:
            raise DataError(f"{name} must be 1-D (one value per study), got an array of shape {values.shape}",
                            field=name)
        arr = np.array(values, dtype=float).reshape(-1)
    else:
        obj = np.asarray(values, dtype=object)
        if obj.ndim > 1:
            raise DataError(f"{name} must be 1-D (one value per study), got an array of shape {obj.shape}",
                            field=name)
        raw = obj.reshape(-1)
        for i, v in enumerate(raw):
            if isinstance(v, (bool, np.bool_)):
                raise DataError(f"{_who(labels, i)}: {name} is a boolean ({v!r}), not a number", study=i,
                                field=name)
            if isinstance(v, (str, bytes)):
                raise DataError(f"{_who(labels, i)}: {name} is a string ({v!r}), not a number; convert the "
                                "column to numbers first (e.g. pandas.to_numeric)", study=i, field=name)
        try:
            arr = np.array([np.nan if v is None or v is pd.NA else v for v in raw], dtype=float)
        except (TypeError, ValueError):
            for i, v in enumerate(raw):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise DataError(f"{_who(labels, i)}: {name} is not a number ({v!r})", study=i,
                                    field=name) from None
            raise DataError(f"{name} could not be read as numbers", field=name) from None
    bad = ~np.isfinite(arr)
    if allow_nan:
        bad &= ~np.isnan(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        hint = ("; to leave such studies out, pass na_action='omit'" if np.isnan(arr[i]) else "")
        raise DataError(f"{_who(labels, i)}: {name} is {'missing (NaN)' if np.isnan(arr[i]) else arr[i]} "
                        f"(must be a finite number){hint}", study=i, field=name)
    return arr


def check_lengths(arrays: Mapping[str, np.ndarray]) -> int:
    """All arrays have one length; return it. Raise ``DataError`` naming the mismatch."""
    lengths = {name: len(a) for name, a in arrays.items()}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{n} has {m}" for n, m in lengths.items())
        raise DataError(f"arguments have mismatched lengths: {detail}")
    k = distinct.pop() if distinct else 0
    if k == 0:
        names = ", ".join(arrays) or "input"
        raise DataError(f"empty input: {names} contain no studies")
    return k


def first_index(mask: np.ndarray) -> int | None:
    """Position of the first True in ``mask``, or None."""
    if not mask.any():
        return None
    return int(np.flatnonzero(mask)[0])




def study_error(labels: Sequence[str] | None, i: int, field: str, text: str) -> DataError:
    """A ``DataError`` about study ``i``: ``study 'label': text``, with ``study`` and ``field`` set."""
    return DataError(f"{study_name(labels, i)}: {text}", study=labels[i] if labels else i, field=field)


def check_nonnegative(arr: np.ndarray, name: str, labels: Sequence[str] | None) -> None:
    """Counts and sizes may not be negative."""
    i = first_index(arr < 0)
    if i is not None:
        raise DataError(f"{study_name(labels, i)}: {name} is negative ({_fmt(arr[i])})",
                        study=labels[i] if labels else i, field=name)


def check_positive(arr: np.ndarray, name: str, labels: Sequence[str] | None, what: str = "") -> None:
    """Variances, SDs and sizes must be strictly positive."""
    i = first_index(arr <= 0)
    if i is not None:
        extra = f" {what}" if what else ""
        raise DataError(f"{study_name(labels, i)}: {name} must be positive{extra}, got {_fmt(arr[i])}",
                        study=labels[i] if labels else i, field=name)


def check_not_above(part: np.ndarray, part_name: str, whole: np.ndarray, whole_name: str,
                    labels: Sequence[str] | None) -> None:
    """Events may not exceed the arm size."""
    i = first_index(part > whole)
    if i is not None:
        raise DataError(f"{study_name(labels, i)}: events ({_fmt(part[i])}) exceed arm size "
                        f"({_fmt(whole[i])}) in argument {part_name} (arm size {whole_name})",
                        study=labels[i] if labels else i, field=part_name)


def check_choice(value: Any, allowed: Iterable[str], name: str) -> str:
    """An option must be one of ``allowed``; unknown ones raise ``DataError``."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise DataError(f"unknown {name} {value!r}; expected one of {choices}", field=name)
    return value


def resolve_column(value: Any, data: pd.DataFrame | None, name: str) -> Any:
    """metafor-style ``data=``: a string names a column of ``data``."""
    if data is not None and isinstance(value, str):
        if value not in data.columns:
            raise DataError(f"argument {name}={value!r} names no column of data "
                            f"(columns: {', '.join(map(str, data.columns))})", field=name)
        return data[value].to_numpy(copy=True)
    return value


def check_level(level: Any) -> float:
    """A confidence level as a fraction: 0.95 and metafor's 95 both mean 95 %."""
    try:
        lev = float(level)
    except (TypeError, ValueError):
        raise DataError(f"level must be a number between 0 and 1, got {level!r}", field="level") from None
    if 1 < lev < 100:
        lev = lev / 100  # metafor's level=95
    if not 0 < lev < 1:
        raise DataError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}", field="level")
    return lev


def effect_inputs(yi: Any, vi: Any, sei: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Effect sizes with their variances (or standard errors, squared) as fresh checked arrays.

    Returns ``(yi, vi, labels)``; raises ``DataError`` naming the study for
    NaN, infinite or non-positive values and for mismatched lengths.
    """
    if vi is None and sei is None:
        raise DataError("give vi (sampling variances) or sei (standard errors)", field="vi")
    if vi is not None and sei is not None:
        raise DataError("give vi or sei, not both", field="sei")
    lab = resolve_labels(labels, int(np.size(yi))) if labels is not None else None
    y = as_vector(yi, "yi", lab)
    if vi is not None:
        v = as_vector(vi, "vi", lab)
    else:
        s = as_vector(sei, "sei", lab)
        check_lengths({"yi": y, "sei": s})
        check_positive(s, "sei", lab)
        v = s ** 2
    check_lengths({"yi": y, "vi": v})
    check_positive(v, "vi", lab)
    return y, v, lab
