"""Convergence settings of the iterative tau² estimators: metafor's ``control=``.

A fit keeps its :class:`Control`, and every follow-up that refits the model
(leave-one-out, influence, cumulative, GOSH, permutation tests, the bootstrap)
and the Q-profile search of ``heterogeneity_ci`` use it, so that a tight
control gives the exact optimum everywhere.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mgmeta.errors import DataError

__all__ = ["Control", "check_control", "DEFAULT_CONTROL", "CONTROL_KEYS"]

_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class Control:
    """Convergence settings, with metafor's names and defaults (``rma(..., control=list(...))``).

    Attributes
    ----------
    threshold : float
        Fisher scoring (ML, REML, EB) stops when tau² changes by at most this
        much between iterations (1e-5).
    tol : float
        Tolerance of Brent's root finder (PM, and the Q-profile interval of
        ``heterogeneity_ci``) and of the ML/REML check against tau² = 0
        (``.Machine$double.eps^0.25``, about 1.2e-4).
    maxiter : int
        Iteration cap of Fisher scoring and of the PM root finder (100); the
        Q-profile search uses ``max(maxiter, 1000)`` (metafor's ``confint``
        default is 1000).
    stepadj : float
        Fisher scoring step multiplier (1).
    tau2_init : float or None
        Starting value of Fisher scoring (metafor's ``tau2.init``; default
        the Hedges estimate truncated at 0); for SJ the starting value
        tau²_0 (default the variance of the yi).
    """

    threshold: float = 1e-5
    tol: float = _EPS ** 0.25
    maxiter: int = 100
    stepadj: float = 1.0
    tau2_init: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The settings as a dict (metafor's names in snake_case)."""
        return asdict(self)

    @property
    def is_default(self) -> bool:
        """True when every setting has metafor's default value."""
        return self == DEFAULT_CONTROL


DEFAULT_CONTROL = Control()
CONTROL_KEYS = ("threshold", "tol", "maxiter", "stepadj", "tau2_init")
_ALIASES = {"tau2.init": "tau2_init"}


def check_control(control: Mapping[str, Any] | Control | None) -> Control:
    """A :class:`Control` from a user's ``control=`` dict (None: the defaults).

    Keys are metafor's (``threshold``, ``tol``, ``maxiter``, ``stepadj``,
    ``tau2_init``; ``tau2.init`` is accepted too); unknown keys and invalid
    values raise :class:`~mgmeta.errors.DataError`.

    Examples
    --------
    >>> from mgmeta.control import check_control
    >>> check_control({"threshold": 1e-12, "maxiter": 1000}).threshold
    1e-12
    """
    if control is None:
        return DEFAULT_CONTROL
    if isinstance(control, Control):
        return control
    if not isinstance(control, Mapping):
        raise DataError(f"control must be a dict such as {{'threshold': 1e-8}}, got {type(control).__name__}",
                        field="control")
    values: dict[str, Any] = {}
    for key, value in control.items():
        name = _ALIASES.get(key, key)
        if name not in CONTROL_KEYS:
            raise DataError(f"unknown control setting {key!r}; expected some of {', '.join(CONTROL_KEYS)}",
                            field="control")
        if name == "tau2_init" and value is None:
            values[name] = None
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise DataError(f"control setting {key!r} must be a number, got {value!r}", field="control")
        v = float(value)
        if not np.isfinite(v):
            raise DataError(f"control setting {key!r} must be finite, got {value!r}", field="control")
        if name == "maxiter":
            if v < 1 or v != int(v):
                raise DataError(f"control setting 'maxiter' must be a positive integer, got {value!r}",
                                field="control")
            values[name] = int(v)
        elif name == "tau2_init":
            if v < 0:
                raise DataError(f"control setting {key!r} must be non-negative, got {value!r}", field="control")
            values[name] = v
        else:
            if v <= 0:
                raise DataError(f"control setting {key!r} must be positive, got {value!r}", field="control")
            values[name] = v
    return Control(**values)
