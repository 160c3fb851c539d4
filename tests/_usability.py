"""Shared loader of tests/reference/usability.json (written by usability.R) for the issue-13 tests."""
from __future__ import annotations

import numpy as np
import pandas as pd

from conftest import load_reference

REF = load_reference("usability.json")


def frame(name: str) -> pd.DataFrame:
    """A data set of usability.json as a DataFrame (null -> NaN)."""
    cols = {k: v for k, v in REF["datasets"][name].items() if k != "call"}
    return pd.DataFrame({k: [np.nan if x is None else x for x in v] for k, v in cols.items()})


def arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)
