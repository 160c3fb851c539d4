"""mgmeta: reproducible meta-analysis that agrees with R metafor.

The public names are re-exported here; nothing else lives in this module.
"""
from mgmeta import conversions
from mgmeta.binary import BinaryPoolResult, mantel_haenszel, peto
from mgmeta.data import (
    Problem,
    analysis_data,
    data_gaps,
    known_issues,
    load_arms,
    load_contrasts,
    load_outcomes,
    load_published,
    load_published_trials,
    load_trials,
)
from mgmeta.data import validate as validate_data
from mgmeta.effects import effect_sizes
from mgmeta.errors import (
    BoundaryWarning,
    ConvergenceError,
    ContinuityCorrectionWarning,
    DataError,
    MgmetaError,
    MgmetaWarning,
    SchemaError,
)
from mgmeta.models import HeterogeneityCI, Interval, MetaAnalysisResult, meta_analysis
from mgmeta.cochrane import CochraneReview, read_cochrane, read_data_package, read_revman5_csv, read_rm5
from mgmeta.profiles import Profile, apply_profile, get_profile, profiles
from mgmeta.reproduce import attribute_differences, reproduce

__version__ = "0.1.0"

__all__ = [
    "conversions",
    "effect_sizes",
    "meta_analysis",
    "mantel_haenszel",
    "peto",
    "BinaryPoolResult",
    "load_trials",
    "load_arms",
    "load_outcomes",
    "load_contrasts",
    "load_published",
    "load_published_trials",
    "validate_data",
    "analysis_data",
    "data_gaps",
    "known_issues",
    "Problem",
    "profiles",
    "get_profile",
    "Profile",
    "apply_profile",
    "reproduce",
    "attribute_differences",
    "read_cochrane",
    "read_rm5",
    "read_data_package",
    "read_revman5_csv",
    "CochraneReview",
    "MetaAnalysisResult",
    "HeterogeneityCI",
    "Interval",
    "MgmetaError",
    "DataError",
    "SchemaError",
    "ConvergenceError",
    "MgmetaWarning",
    "ContinuityCorrectionWarning",
    "BoundaryWarning",
]
