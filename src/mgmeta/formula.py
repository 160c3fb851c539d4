"""Formula moderators, as metafor's ``mods = ~ ablat + factor(alloc)``.

Formulas are parsed and expanded by patsy (the formula engine of statsmodels),
with R's conventions: ``- 1`` or ``0 +`` removes the intercept (the first
categorical term then gets one column per level), ``a * b`` expands to
``a + b + a:b``, ``factor(x)`` treats a numeric column as categorical and
``I(...)`` evaluates Python arithmetic (``I(ablat**2)``; R's ``^`` is written
``**`` here). Columns are named as metafor names them: ``intrcpt``,
``ablat``, ``factor(alloc)random``, ``testerblind``, ``ablat:year``.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from mgmeta.errors import DataError

__all__ = ["is_formula", "formula_design", "formula_missing"]


def is_formula(value: Any) -> bool:
    """True for a one-sided formula string such as ``"~ ablat + year"``."""
    return isinstance(value, str) and value.strip().startswith("~")


def _factor(x: Any) -> pd.Categorical:
    """R's ``factor()``: a categorical with the sorted distinct values as levels."""
    return pd.Categorical(np.asarray(x, dtype=object) if not isinstance(x, pd.Series) else x)


def _env() -> Any:
    import patsy

    return patsy.EvalEnvironment([{"factor": _factor, "log": np.log, "exp": np.exp, "sqrt": np.sqrt,
                                   "abs": np.abs}])


def _build(formula: str, data: pd.DataFrame, na_drop: bool) -> Any:
    import patsy

    text = formula.strip()
    try:
        return patsy.dmatrix(text, data, eval_env=_env(), return_type="dataframe",
                             NA_action=patsy.NAAction(on_NA="drop" if na_drop else "raise"))
    except patsy.PatsyError as err:
        msg = str(err).splitlines()[0]
        raise DataError(f"mods={formula!r} cannot be used: {msg}", field="mods") from None
    except NameError as err:
        raise DataError(f"mods={formula!r} names something that is not a column of data ({err})",
                        field="mods") from None


def formula_missing(formula: str, data: pd.DataFrame) -> dict[str, np.ndarray]:
    """Rows of ``data`` (by position) with a missing value, for each variable (factor) of ``formula``."""
    import patsy

    frame = data.reset_index(drop=True)
    _build(formula, frame, na_drop=True)              # the formula itself is valid
    out: dict[str, np.ndarray] = {}
    for term in patsy.ModelDesc.from_formula(formula.strip()).rhs_termlist:
        for f in term.factors:
            name = f.name()
            if name in out:
                continue
            dm = _build(f"~ {name} - 1", frame, na_drop=True)
            keep = np.zeros(len(frame), bool)
            keep[np.asarray(dm.index, dtype=int)] = True
            out[name] = ~keep
    return out


def formula_design(formula: str, data: pd.DataFrame) -> tuple[np.ndarray, list[str], bool]:
    """The design matrix of ``formula`` on ``data`` with metafor's column names.

    Returns ``(X, names, intercept)``. ``data`` must have no missing values in
    the formula's variables (see :func:`formula_missing`).

    Examples
    --------
    >>> import pandas as pd
    >>> from mgmeta.formula import formula_design
    >>> d = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": ["a", "b", "a", "c"]})
    >>> formula_design("~ x + g", d)[1]
    ['intrcpt', 'x', 'gb', 'gc']
    >>> formula_design("~ g - 1", d)[1]
    ['ga', 'gb', 'gc']
    """
    import patsy

    dm = _build(formula, data.reset_index(drop=True), na_drop=False)
    info = dm.design_info
    full = np.asarray(dm, dtype=float)
    # R keeps the formula's order of terms (by degree: main effects, then interactions); patsy groups them
    order = patsy.ModelDesc.from_formula(formula.strip()).rhs_termlist
    order = sorted(order, key=lambda t: len(t.factors))
    names: list[str] = []
    blocks: list[np.ndarray] = []
    intercept = False
    for term in order:
        sl = info.term_slices[term]
        blocks.append(full[:, sl])
        for st in info.term_codings[term]:
            if not st.factors:
                names.append("intrcpt")
                intercept = True
                continue
            parts: list[list[str]] = []
            for f in st.factors:
                fi = info.factor_infos[f]
                base = f.name()
                if fi.type == "numerical":
                    parts.append([base] if fi.num_columns == 1 else [f"{base}{j + 1}" for j in range(fi.num_columns)])
                    continue
                cm = st.contrast_matrices[f]
                cats = list(fi.categories)
                cols = []
                for j in range(cm.matrix.shape[1]):
                    col = np.asarray(cm.matrix[:, j])
                    if np.all(np.isin(col, (0.0, 1.0))) and col.sum() == 1:
                        cols.append(f"{base}{_level_text(cats[int(np.argmax(col))])}")
                    else:
                        cols.append(f"{base}{cm.column_suffixes[j]}")
                parts.append(cols)
            # patsy (as R) lets the first factor vary fastest
            for combo in itertools.product(*reversed(parts)):
                names.append(":".join(reversed(combo)))
    X = np.hstack(blocks) if blocks else np.empty((len(data), 0))
    if X.shape[1] == 0:
        raise DataError(f"mods={formula!r} has no terms", field="mods")
    if len(names) != X.shape[1]:  # pragma: no cover - a patsy coding we do not name
        names = [str(c) for c in dm.columns]
    return X, names, intercept


def _level_text(level: Any) -> str:
    if isinstance(level, (bool, np.bool_)):
        return "TRUE" if level else "FALSE"
    if isinstance(level, (float, np.floating)) and float(level).is_integer():
        return str(int(level))
    return str(level)
