"""Exception and warning classes of mgmeta.

Every error mgmeta raises on purpose derives from :class:`MgmetaError`. Errors
about the input data also derive from :class:`ValueError`, so code that already
catches ``ValueError`` keeps working.

Messages name the study (label or 0-based position), the argument and the
offending value, e.g. ``study 'Bigal 2002': events (63) exceed arm size (60)
in argument ai``.
"""
from __future__ import annotations

__all__ = [
    "MgmetaError",
    "DataError",
    "SchemaError",
    "ConvergenceError",
    "MgmetaWarning",
    "ContinuityCorrectionWarning",
    "BoundaryWarning",
    "OmittedStudiesWarning",
    "DuplicateLabelWarning",
]


class MgmetaError(Exception):
    """Base class of every exception raised by mgmeta."""


class DataError(MgmetaError, ValueError):
    """Invalid input: bad counts, variances, lengths, unknown options.

    Parameters
    ----------
    message : str
        Human-readable description naming the study, argument and value.
    study : str or int, optional
        Label (or 0-based position) of the offending study.
    field : str, optional
        Name of the offending argument or column.
    """

    def __init__(self, message: str, *, study: object = None, field: str | None = None):
        super().__init__(message)
        self.study = study
        self.field = field


class SchemaError(DataError):
    """A data file does not satisfy its schema; ``problems`` lists every row-level problem."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class ConvergenceError(MgmetaError, RuntimeError):
    """An iterative estimator did not converge within its iteration cap."""


class MgmetaWarning(UserWarning):
    """Base class of warnings issued by mgmeta."""


class ContinuityCorrectionWarning(MgmetaWarning):
    """A continuity correction was applied to zero cells."""


class BoundaryWarning(MgmetaWarning):
    """An estimate lies on the boundary of its parameter space."""


class OmittedStudiesWarning(MgmetaWarning):
    """Studies with missing values were left out of a fit (``na_action="omit"``)."""


class DuplicateLabelWarning(MgmetaWarning):
    """Duplicate study labels were made unique (``Shechter.1``, ``Shechter.2``), as metafor does."""
