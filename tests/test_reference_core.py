"""effect_sizes and meta_analysis against R metafor 3.8 (tests/reference/core.json, from core.R)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import mgmeta
from conftest import ATOL, ITERATIVE, TOL_CI, TOL_CLOSED, TOL_ITERATIVE, load_reference

CORE = load_reference("core.json")
ESCALC = CORE["escalc"]
RMA = CORE["rma"]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol, atol=ATOL):
    expected = _arr(np.atleast_1d(expected))
    actual = np.atleast_1d(np.asarray(actual, dtype=float))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("case", ESCALC, ids=[c["id"] for c in ESCALC])
def test_effect_sizes_match_escalc(case):
    inputs = {k: _arr(v) for k, v in case["inputs"].items()}
    complete = np.all([~np.isnan(v) for v in inputs.values()], axis=0)
    inputs = {k: v[complete] for k, v in inputs.items()}
    yi_r, vi_r = _arr(case["yi"])[complete], _arr(case["vi"])[complete]
    args = case.get("args") or {}
    kwargs = dict(inputs)
    if case["measure"] in ("OR", "RR", "RD", "PETO"):
        kwargs.update(add=args.get("add", 0.5), to=args.get("to", "only0"), drop00=bool(args.get("drop00", False)))
    measure = case["measure"]
    # R gives NA (or a zero variance) where the effect is undefined; mgmeta raises instead,
    # except for studies dropped with drop00, which keep a row without an effect size.
    undefined = (np.isnan(yi_r) | (vi_r == 0)) & ~_double_zero(inputs, kwargs.get("drop00", False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.ContinuityCorrectionWarning)
        if undefined.any():
            with pytest.raises(mgmeta.DataError):
                mgmeta.effect_sizes(measure, **kwargs)
            return
        es = mgmeta.effect_sizes(measure, **kwargs)
    close(es["yi"], yi_r, TOL_CLOSED)
    close(es["vi"], vi_r, TOL_CLOSED)


def _double_zero(inputs, drop00):
    if not drop00 or "ai" not in inputs:
        return np.zeros(len(next(iter(inputs.values()))), bool)
    ai, ci = inputs["ai"], inputs["ci"]
    bi = inputs["bi"] if "bi" in inputs else inputs["n1i"] - ai
    di = inputs["di"] if "di" in inputs else inputs["n2i"] - ci
    return ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))


QUANTITIES = ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
              "tau2", "se_tau2", "i2", "h2", "q", "q_pvalue", "k"]


@pytest.mark.parametrize("case", RMA, ids=[c["id"] for c in RMA])
def test_meta_analysis_matches_rma(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        res = mgmeta.meta_analysis(_arr(case["yi"]), _arr(case["vi"]), method=case["method"],
                                   test=case["test"], level=case["level"])
    tol = TOL_ITERATIVE if case["method"] in ITERATIVE else TOL_CLOSED
    out = case["out"]
    for name in QUANTITIES:
        mine = getattr(res, name)
        mine = np.nan if mine is None else mine
        close(mine, out[name], tol, atol=1e-10 if name != "pvalue" else 1e-300)
    close(res.weights, out["weights"], tol)
    if out["df"] is not None:
        assert res.df == out["df"]
    if case.get("confint"):
        ci = res.heterogeneity_ci()
        for name in ("tau2", "tau", "i2", "h2"):
            iv = getattr(ci, name)
            close([iv.estimate, iv.lower, iv.upper], case["confint"][name], TOL_CI, atol=1e-8)


def test_reference_versions_are_recorded():
    assert CORE["metafor_version"].startswith("3.8")
    assert CORE["r_version"]
    assert not CORE["failures"]
