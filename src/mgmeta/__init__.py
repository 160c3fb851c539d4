"""mgmeta: reproducible meta-analysis that agrees with R metafor.

The public names are re-exported here; nothing else lives in this module.

Names are loaded on first use (PEP 562 module ``__getattr__``), so that ``import mgmeta`` stays cheap: scipy.stats,
statsmodels and matplotlib are imported only by the functions that need them
(benchmarks/import_time.py measures it).
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from mgmeta import conversions, measures, transforms
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
        DuplicateLabelWarning,
        MgmetaError,
        MgmetaWarning,
        OmittedStudiesWarning,
        SchemaError,
    )
    from mgmeta.control import Control
    from mgmeta.fitstats import AnovaResult, FitStats, anova, blup, fitstats, ranef
    from mgmeta.models import HeterogeneityCI, Interval, MetaAnalysisResult, meta_analysis
    from mgmeta.multivariate import LikelihoodRatioTest, MultivariateResult, meta_analysis_mv
    from mgmeta.selection import SelectionModelResult, selection_model
    from mgmeta.vcalc import vcov_shared_arm
    from mgmeta.profiles import Profile, apply_profile, get_profile, profiles
    from mgmeta.reproduce import attribute_differences, reproduce
    from mgmeta.simulate import SimulationResult, simulate

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
    "OmittedStudiesWarning",
    "DuplicateLabelWarning",
    "Control",
    "ConvergenceError",
    "MgmetaWarning",
    "ContinuityCorrectionWarning",
    "BoundaryWarning",
    "measures",
    "transforms",
    "anova",
    "fitstats",
    "blup",
    "ranef",
    "AnovaResult",
    "FitStats",
]


#: public name -> (module, attribute in it; None: the module itself)
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "conversions": ("mgmeta.conversions", None),
    "measures": ("mgmeta.measures", None),
    "transforms": ("mgmeta.transforms", None),
    "BayesianMetaAnalysisResult": ("mgmeta.analyses", "BayesianMetaAnalysisResult"),
    "FailSafeNResult": ("mgmeta.analyses", "FailSafeNResult"),
    "HalfCauchy": ("mgmeta.analyses", "HalfCauchy"),
    "HalfNormal": ("mgmeta.analyses", "HalfNormal"),
    "MetaRegressionResult": ("mgmeta.analyses", "MetaRegressionResult"),
    "Normal": ("mgmeta.analyses", "Normal"),
    "PermutationTestResult": ("mgmeta.analyses", "PermutationTestResult"),
    "PointMass": ("mgmeta.analyses", "PointMass"),
    "PosteriorSummary": ("mgmeta.analyses", "PosteriorSummary"),
    "RankTestResult": ("mgmeta.analyses", "RankTestResult"),
    "RegressionTestResult": ("mgmeta.analyses", "RegressionTestResult"),
    "SubgroupResult": ("mgmeta.analyses", "SubgroupResult"),
    "TrimFillResult": ("mgmeta.analyses", "TrimFillResult"),
    "Uniform": ("mgmeta.analyses", "Uniform"),
    "bayesian_meta_analysis": ("mgmeta.analyses", "bayesian_meta_analysis"),
    "begg_test": ("mgmeta.analyses", "begg_test"),
    "compare_estimators": ("mgmeta.analyses", "compare_estimators"),
    "cumulative": ("mgmeta.analyses", "cumulative"),
    "egger_test": ("mgmeta.analyses", "egger_test"),
    "fail_safe_n": ("mgmeta.analyses", "fail_safe_n"),
    "harbord_test": ("mgmeta.analyses", "harbord_test"),
    "influence": ("mgmeta.analyses", "influence"),
    "leave_one_out": ("mgmeta.analyses", "leave_one_out"),
    "meta_regression": ("mgmeta.analyses", "meta_regression"),
    "permutation_test": ("mgmeta.analyses", "permutation_test"),
    "peters_test": ("mgmeta.analyses", "peters_test"),
    "subgroup_analysis": ("mgmeta.analyses", "subgroup_analysis"),
    "trim_and_fill": ("mgmeta.analyses", "trim_and_fill"),
    "GoshResult": ("mgmeta.analyses.gosh", "GoshResult"),
    "gosh": ("mgmeta.analyses.gosh", "gosh"),
    "BinaryPoolResult": ("mgmeta.binary", "BinaryPoolResult"),
    "mantel_haenszel": ("mgmeta.binary", "mantel_haenszel"),
    "peto": ("mgmeta.binary", "peto"),
    "BootstrapResult": ("mgmeta.bootstrap", "BootstrapResult"),
    "bootstrap": ("mgmeta.bootstrap", "bootstrap"),
    "CochraneReview": ("mgmeta.cochrane", "CochraneReview"),
    "read_cochrane": ("mgmeta.cochrane", "read_cochrane"),
    "read_data_package": ("mgmeta.cochrane", "read_data_package"),
    "read_revman5_csv": ("mgmeta.cochrane", "read_revman5_csv"),
    "read_rm5": ("mgmeta.cochrane", "read_rm5"),
    "effect_sizes": ("mgmeta.effects", "effect_sizes"),
    "BoundaryWarning": ("mgmeta.errors", "BoundaryWarning"),
    "ContinuityCorrectionWarning": ("mgmeta.errors", "ContinuityCorrectionWarning"),
    "ConvergenceError": ("mgmeta.errors", "ConvergenceError"),
    "DataError": ("mgmeta.errors", "DataError"),
    "MgmetaError": ("mgmeta.errors", "MgmetaError"),
    "MgmetaWarning": ("mgmeta.errors", "MgmetaWarning"),
    "SchemaError": ("mgmeta.errors", "SchemaError"),
    "OmittedStudiesWarning": ("mgmeta.errors", "OmittedStudiesWarning"),
    "DuplicateLabelWarning": ("mgmeta.errors", "DuplicateLabelWarning"),
    "Control": ("mgmeta.control", "Control"),
    "AnovaResult": ("mgmeta.fitstats", "AnovaResult"),
    "FitStats": ("mgmeta.fitstats", "FitStats"),
    "anova": ("mgmeta.fitstats", "anova"),
    "blup": ("mgmeta.fitstats", "blup"),
    "fitstats": ("mgmeta.fitstats", "fitstats"),
    "ranef": ("mgmeta.fitstats", "ranef"),
    "HeterogeneityCI": ("mgmeta.models", "HeterogeneityCI"),
    "Interval": ("mgmeta.models", "Interval"),
    "MetaAnalysisResult": ("mgmeta.models", "MetaAnalysisResult"),
    "meta_analysis": ("mgmeta.models", "meta_analysis"),
    "meta_analysis_mv": ("mgmeta.multivariate", "meta_analysis_mv"),
    "MultivariateResult": ("mgmeta.multivariate", "MultivariateResult"),
    "LikelihoodRatioTest": ("mgmeta.multivariate", "LikelihoodRatioTest"),
    "vcov_shared_arm": ("mgmeta.vcalc", "vcov_shared_arm"),
    "selection_model": ("mgmeta.selection", "selection_model"),
    "SelectionModelResult": ("mgmeta.selection", "SelectionModelResult"),
    "Profile": ("mgmeta.profiles", "Profile"),
    "apply_profile": ("mgmeta.profiles", "apply_profile"),
    "get_profile": ("mgmeta.profiles", "get_profile"),
    "profiles": ("mgmeta.profiles", "profiles"),
    "attribute_differences": ("mgmeta.reproduce", "attribute_differences"),
    "reproduce": ("mgmeta.reproduce", "reproduce"),
    "SimulationResult": ("mgmeta.simulate", "SimulationResult"),
    "simulate": ("mgmeta.simulate", "simulate"),
    "plots": ("mgmeta.plots", None),
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and cache the name in this module."""
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
    elif not name.startswith("_") and importlib.util.find_spec(f"mgmeta.{name}") is not None:
        module, attr = f"mgmeta.{name}", None  # a submodule: mgmeta.data, mgmeta.binary, ...
    else:
        raise AttributeError(f"module 'mgmeta' has no attribute {name!r}")
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """The package module, keeping functions that share their module's name.

    ``mgmeta.simulate``, ``bootstrap``, ``reproduce``, ``profiles`` and ``fitstats`` are both a
    submodule and the function it defines. Importing the submodule (directly or
    through another module) makes Python set the package attribute to the
    module; here the function is kept instead, as the eager ``from ... import``
    of earlier versions did.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        target = _EXPORTS.get(name)
        if (target is not None and target[1] is not None and isinstance(value, types.ModuleType)
                and value.__name__ == target[0]):
            value = getattr(value, target[1])
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
