"""Arguments from data frames: column names, index alignment, missing values and labels.

Shared by every fitting function (``data=``, ``na_action=``, ``labels=``):

* a string argument names a column of ``data``;
* a pandas Series is matched to ``data`` (or, without ``data``, to the first
  Series argument) by its index, never by position; a Series whose index
  cannot be matched raises :class:`~mgmeta.errors.DataError` naming it;
* lists and arrays are taken in order (position);
* studies with a missing value raise (``na_action="fail"``) or are left out
  with an :class:`~mgmeta.errors.OmittedStudiesWarning` (``"omit"``), as
  metafor's ``na.action``;
* study labels may not be missing; duplicates are made unique as metafor does
  (``Shechter.1``, ``Shechter.2``) with a warning.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mgmeta.errors import DataError, DuplicateLabelWarning, OmittedStudiesWarning

__all__ = ["NA_ACTIONS", "check_na_action", "check_data", "gather", "Gathered", "missing_mask", "omit_missing",
           "clean_labels", "make_unique"]

NA_ACTIONS = ("fail", "omit")


def check_na_action(value: Any) -> str:
    """``"fail"`` or ``"omit"`` (metafor's ``na.fail`` / ``na.omit`` are accepted too)."""
    alias = {"na.fail": "fail", "na.omit": "omit", "na.exclude": "omit"}
    v = alias.get(value, value) if isinstance(value, str) else value
    if v not in NA_ACTIONS:
        raise DataError(f"unknown na_action {value!r}; expected 'fail' or 'omit'", field="na_action")
    return str(v)


def effects_or_data(yi: Any, data: Any) -> tuple[Any, Any]:
    """``(yi, data)``, with ``data`` standing for the effect sizes (a frame from effect_sizes()) when ``yi``
    is not given: ``fit(data=es)`` as ``fit(es)``."""
    if yi is not None:
        return yi, data
    if data is None:
        raise DataError("give yi (effect sizes) with vi or sei, or data= (a frame from effect_sizes())",
                        field="yi")
    return data, None


def check_data(data: Any) -> pd.DataFrame | None:
    """``data`` must be a pandas DataFrame (or None)."""
    if data is not None and not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}", field="data")
    return data


@dataclass(frozen=True)
class Gathered:
    """Arguments as aligned 1-D arrays (object or numeric), in the order of ``index``."""

    columns: dict[str, np.ndarray]
    index: pd.Index | None
    k: int


def _as_series_or_array(name: str, value: Any, data: pd.DataFrame | None) -> pd.Series | np.ndarray:
    if isinstance(value, str):
        if data is None:
            raise DataError(f"argument {name}={value!r} is a column name, but no data frame was given (data=)",
                            field=name)
        if value not in data.columns:
            raise DataError(f"argument {name}={value!r} names no column of data "
                            f"(columns: {', '.join(map(str, data.columns))})", field=name)
        col = data[value]
        if isinstance(col, pd.DataFrame):
            raise DataError(f"argument {name}={value!r} names several columns of data (duplicate name)",
                            field=name)
        return col
    if isinstance(value, pd.DataFrame):
        if value.shape[1] == 1:
            raise DataError(f"{name} must be 1-D: pass the column (frame[{value.columns[0]!r}]), not a "
                            "one-column DataFrame", field=name)
        raise DataError(f"{name} must be 1-D (one value per study), got a DataFrame with {value.shape[1]} "
                        "columns", field=name)
    if isinstance(value, pd.Series):
        return value
    if isinstance(value, pd.Index):
        return np.asarray(value, dtype=object)
    if isinstance(value, pd.Categorical):
        return np.asarray(value, dtype=object)
    arr = np.asarray(value) if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim > 1:
        raise DataError(f"{name} must be 1-D (one value per study), got an array of shape {arr.shape}", field=name)
    return arr


def _align(name: str, s: pd.Series, ref: pd.Index, ref_name: str) -> pd.Series:
    if s.index.equals(ref):
        return s
    if not s.index.is_unique or not ref.is_unique:
        raise DataError(f"argument {name}: its index cannot be matched to {ref_name} (duplicate index values); "
                        "pass .to_numpy() to match by position", field=name)
    if len(s.index) != len(ref) or not s.index.isin(ref).all():
        extra = [x for x in s.index if x not in ref][:3]
        raise DataError(f"argument {name}: the index of the Series does not match {ref_name}"
                        f"{' (e.g. ' + ', '.join(map(repr, extra)) + ' not found)' if extra else ''}; "
                        "Series are matched by index, never by position (pass .to_numpy() to match by "
                        "position)", field=name)
    return s.reindex(ref)


def gather(args: Mapping[str, Any], data: pd.DataFrame | None = None) -> Gathered:
    """Resolve column names, align Series by index and check lengths.

    Parameters
    ----------
    args : mapping of str to value
        Argument name -> column name (str), Series, or sequence (None values
        are skipped).
    data : DataFrame, optional

    Returns
    -------
    Gathered
        ``columns`` in the order of ``data`` (or of the first Series
        argument), ``index`` that order's index (None when every argument
        was a plain sequence).
    """
    check_data(data)
    raw: dict[str, pd.Series | np.ndarray] = {}
    for name, value in args.items():
        if value is None:
            continue
        raw[name] = _as_series_or_array(name, value, data)
    ref: pd.Index | None = data.index if data is not None else None
    ref_name = "the index of data"
    if ref is None:
        for name, v in raw.items():
            if isinstance(v, pd.Series):
                ref, ref_name = v.index, f"the index of {name}"
                break
    cols: dict[str, np.ndarray] = {}
    for name, v in raw.items():
        if isinstance(v, pd.Series):
            assert ref is not None
            s = _align(name, v, ref, ref_name)
            if isinstance(s.dtype, pd.CategoricalDtype):
                cols[name] = s.astype(object).to_numpy()
            elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype) or s.dtype == bool:
                cols[name] = s.to_numpy(dtype=object)
            else:
                cols[name] = s.to_numpy(copy=True)
        else:
            cols[name] = np.array(v, copy=True)
    lengths = {n: len(a) for n, a in cols.items()}
    data_lengths = {n: m for n, m in lengths.items() if n != "labels"}
    if "labels" in lengths and data_lengths and ref is None and len(set(data_lengths.values())) == 1:
        k_data = next(iter(data_lengths.values()))
        if lengths["labels"] != k_data:
            raise DataError(f"labels has {lengths['labels']} entries but there are {k_data} studies",
                            field="labels")
    if ref is not None:
        bad = {n: m for n, m in lengths.items() if m != len(ref)}
        if bad:
            n, m = next(iter(bad.items()))
            raise DataError(f"argument {n} has {m} values but {ref_name.replace('the index of ', '')} has "
                            f"{len(ref)} rows", field=n)
    elif len(set(lengths.values())) > 1:
        detail = ", ".join(f"{n} has {m}" for n, m in lengths.items())
        raise DataError(f"arguments have mismatched lengths: {detail}")
    k = len(ref) if ref is not None else (next(iter(lengths.values())) if lengths else 0)
    return Gathered(columns=cols, index=ref, k=k)


def effect_frame(frame: pd.DataFrame, vi: Any, sei: Any,
                 labels: Any) -> tuple[pd.DataFrame, str | None, Any]:
    """A frame from ``effect_sizes()`` given as ``yi``: checked, without its dropped rows.

    Returns the frame, its measure (``attrs["measure"]``) and the labels (the
    frame's study labels when ``labels`` is None). Giving ``vi``/``sei`` too,
    or a frame without ``yi``/``vi``, raises :class:`DataError`.
    """
    if vi is not None or sei is not None:
        raise DataError("give either a frame from effect_sizes() or yi with vi/sei, not both")
    for col in ("yi", "vi"):
        if col not in frame.columns:
            raise DataError(f"the data frame has no column {col!r}; build it with mgmeta.effect_sizes()",
                            field=col)
    measure = frame.attrs.get("measure")
    if "dropped" in frame.columns and frame["dropped"].to_numpy(dtype=bool).any():
        frame = frame.loc[~frame["dropped"].to_numpy(dtype=bool)]
    if labels is None:
        from mgmeta.models import frame_labels
        labels = frame_labels(frame)
    return frame, measure, labels


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a value is missing (None, NaN, pandas NA)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fc":
        return np.isnan(arr)
    if arr.dtype.kind in "iub":
        return np.zeros(arr.shape, bool)
    return np.asarray(pd.isna(pd.Series(arr, dtype=object)).to_numpy(), dtype=bool)


def omit_missing(columns: Mapping[str, np.ndarray], na_action: str, labels: Sequence[str] | None,
                 k: int, *, stacklevel: int = 3) -> tuple[np.ndarray, tuple[str, ...]]:
    """Which studies to keep given the missing values of ``columns`` and ``na_action``.

    Returns ``(keep, omitted)``: a boolean mask and the labels (or 1-based
    numbers) of the omitted studies. ``"fail"`` raises a ``DataError`` naming
    the first study and argument with a missing value.
    """
    masks = {name: missing_mask(arr) for name, arr in columns.items()}
    if not any(m.any() for m in masks.values()):
        return np.ones(k, bool), ()
    miss = np.zeros(k, bool)
    first: dict[int, str] = {}
    for name, arr in columns.items():
        m = masks[name]
        for j in np.flatnonzero(m & ~miss).tolist():
            first.setdefault(int(j), name)
        miss |= m
    names = [labels[i] if labels is not None else str(i + 1) for i in range(k)]
    if not miss.any():
        return np.ones(k, bool), ()
    idx = np.flatnonzero(miss)
    if na_action == "fail":
        i = int(idx[0])
        who = f"study {names[i]!r}" if labels is not None else f"study at position {i}"
        raise DataError(f"{who}: {first[i]} is missing ({int(miss.sum())} stud{'y' if miss.sum() == 1 else 'ies'} "
                        "with missing values); pass na_action='omit' to leave such studies out "
                        "(metafor's na.action = 'na.omit')", study=names[i] if labels is not None else i,
                        field=first[i])
    omitted = tuple(names[i] for i in idx)
    if miss.all():
        raise DataError("every study has a missing value; nothing is left to analyse", field=first[int(idx[0])])
    warnings.warn(f"{len(omitted)} stud{'y' if len(omitted) == 1 else 'ies'} with missing values omitted "
                  f"(na_action='omit'): {', '.join(omitted)}", OmittedStudiesWarning, stacklevel=stacklevel)
    return ~miss, omitted


def make_unique(labels: Sequence[str]) -> list[str]:
    """metafor's rule: every copy of a duplicated label gets a suffix ``.1``, ``.2``, ... in order."""
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        if counts[lab] > 1:
            seen[lab] = seen.get(lab, 0) + 1
            out.append(f"{lab}.{seen[lab]}")
        else:
            out.append(lab)
    return out


def clean_labels(values: Any, k: int | None = None, *, stacklevel: int = 3) -> list[str] | None:
    """Study labels as strings: missing ones raise, duplicates are made unique (with a warning)."""
    if values is None:
        return None
    if isinstance(values, str):
        raise DataError("labels must be a sequence of study labels (or, with data=, a column name), "
                        "not a single string", field="labels")
    arr = np.asarray(values.to_numpy(dtype=object) if isinstance(values, (pd.Series, pd.Index))
                     else values, dtype=object)
    if arr.ndim != 1:
        raise DataError(f"labels must be 1-D, got shape {arr.shape}", field="labels")
    miss = missing_mask(arr)
    if miss.any():
        i = int(np.flatnonzero(miss)[0])
        raise DataError(f"study at position {i}: its label is missing ({arr[i]!r}); give every study a label",
                        study=i, field="labels")
    out = [str(x) for x in arr]
    if k is not None and len(out) != k:
        raise DataError(f"labels has {len(out)} entries but there are {k} studies", field="labels")
    if len(set(out)) < len(out):
        uniq = make_unique(out)
        dups = sorted({lab for lab in out if out.count(lab) > 1})
        warnings.warn(f"duplicate study labels made unique as metafor does: {', '.join(map(repr, dups))} "
                      f"(now e.g. {uniq[out.index(dups[0])]!r})", DuplicateLabelWarning, stacklevel=stacklevel)
        out = uniq
    return out


def newmods_design(newmods: Any, p: int, intercept: bool, names: Sequence[str]) -> np.ndarray:
    """The design rows of ``predict(newmods=)``: metafor's shapes (with one moderator a 1-D sequence is one
    value per prediction, with several it is one prediction), the intercept column added when the model has
    one and it was left out."""
    Xn = np.atleast_2d(np.asarray(newmods, dtype=float))
    n_mods = p - 1 if intercept else p
    if np.ndim(newmods) == 1 and n_mods == 1:
        Xn = Xn.T
    if intercept and Xn.shape[1] == p - 1:
        Xn = np.hstack([np.ones((Xn.shape[0], 1)), Xn])
    if Xn.shape[1] != p:
        raise DataError(f"newmods has {Xn.shape[1]} columns; the model has {p} coefficients "
                        f"({', '.join(names)})", field="newmods")
    return Xn
