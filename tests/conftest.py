"""Shared fixtures and settings of the mgmeta test suite."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

REFERENCE = Path(__file__).parent / "reference"

# Tolerances by kind of quantity (relative), as metafor's tests/settings.r names them.
# The acceptance: closed forms 1e-7, iterative estimators 1e-6, heterogeneity CIs 1e-5.
TOL_CLOSED = 1e-7
TOL_ITERATIVE = 1e-6
TOL_CI = 1e-5
ATOL = 1e-10  # for quantities that are exactly 0 in R (tau² on the boundary, p-values ~ 0)
ITERATIVE = {"REML", "ML", "PM", "EB"}


def load_reference(name: str) -> dict:
    """A reference JSON written by an R script in tests/reference/."""
    with open(REFERENCE / name, encoding="utf-8") as fh:
        return json.load(fh)


def pytest_sessionfinish(session, exitstatus):
    """A run that collects no test fails (pytest's exit 5 must never pass as success)."""
    if exitstatus == 5:
        session.exitstatus = 1


@pytest.fixture(scope="session")
def core_reference() -> dict:
    return load_reference("core.json")
