"""Analyses on a fitted model: sensitivity, influence, small-study effects, subgroups, meta-regression.

Everything here hangs off :func:`mgmeta.meta_analysis` (``res.leave_one_out()``,
``res.influence()``, ``res.cumulative()``) or sits beside it; all refits run as
batches through :func:`mgmeta.models.fit_arrays`.
"""
from mgmeta.analyses.bayes import (
    BayesianMetaAnalysisResult,
    HalfCauchy,
    HalfNormal,
    Normal,
    PointMass,
    PosteriorSummary,
    Uniform,
    bayesian_meta_analysis,
)
from mgmeta.analyses.bias import (
    FailSafeNResult,
    RankTestResult,
    RegressionTestResult,
    TrimFillResult,
    begg_test,
    egger_test,
    fail_safe_n,
    harbord_test,
    peters_test,
    trim_and_fill,
)
from mgmeta.analyses.compare import compare_estimators
from mgmeta.analyses.regression import (
    MetaRegressionResult,
    PermutationTestResult,
    meta_regression,
    permutation_test,
)
from mgmeta.analyses.sensitivity import cumulative, influence, leave_one_out
from mgmeta.analyses.subgroups import SubgroupResult, subgroup_analysis

__all__ = [
    "leave_one_out",
    "influence",
    "cumulative",
    "egger_test",
    "begg_test",
    "peters_test",
    "harbord_test",
    "trim_and_fill",
    "fail_safe_n",
    "RegressionTestResult",
    "RankTestResult",
    "TrimFillResult",
    "FailSafeNResult",
    "subgroup_analysis",
    "SubgroupResult",
    "meta_regression",
    "MetaRegressionResult",
    "permutation_test",
    "PermutationTestResult",
    "compare_estimators",
    "bayesian_meta_analysis",
    "BayesianMetaAnalysisResult",
    "PosteriorSummary",
    "HalfNormal",
    "HalfCauchy",
    "Uniform",
    "PointMass",
    "Normal",
]
