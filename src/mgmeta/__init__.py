"""mgmeta: reproducible meta-analysis that agrees with R metafor.

The public names are re-exported here; nothing else lives in this module.
"""
from mgmeta import conversions
from mgmeta.analyses import (
    BayesianMetaAnalysisResult,
    FailSafeNResult,
    HalfCauchy,
    HalfNormal,
    MetaRegressionResult,
    Normal,
    PermutationTestResult,
    PointMass,
    PosteriorSummary,
    RankTestResult,
    RegressionTestResult,
    SubgroupResult,
    TrimFillResult,
    Uniform,
    bayesian_meta_analysis,
    begg_test,
    compare_estimators,
    cumulative,
    egger_test,
    fail_safe_n,
    harbord_test,
    influence,
    leave_one_out,
    meta_regression,
    permutation_test,
    peters_test,
    subgroup_analysis,
    trim_and_fill,
)
from mgmeta.analyses.gosh import GoshResult, gosh
from mgmeta.binary import BinaryPoolResult, mantel_haenszel, peto
from mgmeta.bootstrap import BootstrapResult, bootstrap
from mgmeta.cochrane import (
    CochraneReview,
    read_cochrane,
    read_data_package,
    read_revman5_csv,
    read_rm5,
)
from mgmeta.effects import effect_sizes
from mgmeta.errors import (
    BoundaryWarning,
    ContinuityCorrectionWarning,
    ConvergenceError,
    DataError,
    MgmetaError,
    MgmetaWarning,
    SchemaError,
)
from mgmeta.models import HeterogeneityCI, Interval, MetaAnalysisResult, meta_analysis
from mgmeta.multivariate import LikelihoodRatioTest, MultivariateResult, meta_analysis_mv
from mgmeta.profiles import Profile, apply_profile, get_profile, profiles
from mgmeta.reproduce import attribute_differences, reproduce
from mgmeta.selection import SelectionModelResult, selection_model
from mgmeta.simulate import SimulationResult, simulate
from mgmeta.vcalc import vcov_shared_arm

__version__ = "0.1.0"

__all__ = [
    "conversions",
    "effect_sizes",
    "meta_analysis",
    "meta_analysis_mv",
    "MultivariateResult",
    "LikelihoodRatioTest",
    "vcov_shared_arm",
    "selection_model",
    "SelectionModelResult",
    "mantel_haenszel",
    "peto",
    "BinaryPoolResult",
    "leave_one_out",
    "influence",
    "cumulative",
    "egger_test",
    "begg_test",
    "peters_test",
    "harbord_test",
    "trim_and_fill",
    "fail_safe_n",
    "subgroup_analysis",
    "meta_regression",
    "permutation_test",
    "compare_estimators",
    "bayesian_meta_analysis",
    "MetaRegressionResult",
    "PermutationTestResult",
    "SubgroupResult",
    "RegressionTestResult",
    "RankTestResult",
    "TrimFillResult",
    "FailSafeNResult",
    "BayesianMetaAnalysisResult",
    "PosteriorSummary",
    "HalfNormal",
    "HalfCauchy",
    "Uniform",
    "PointMass",
    "Normal",
    "gosh",
    "GoshResult",
    "bootstrap",
    "BootstrapResult",
    "simulate",
    "SimulationResult",
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


def __getattr__(name: str):
    """``mgmeta.plots`` on first use, so that ``import mgmeta`` does not load matplotlib."""
    if name == "plots":
        import importlib

        return importlib.import_module("mgmeta.plots")
    raise AttributeError(f"module 'mgmeta' has no attribute {name!r}")
