"""Back-transformed display of single-group measures (issue 15): the printouts' "Back-transformed (...)" table
and the meta-regression's exponentiated coefficients, against R metafor 3.8's ``predict(res, transf = ...)``
(tests/reference/display.json, from display.R)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mgmeta
from conftest import ATOL, TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta import _format as fmt
from mgmeta._transf import display_of, fitted_frame
from mgmeta.errors import MgmetaWarning

DISPLAY = load_reference("display.json")
CASES = DISPLAY["cases"]
REGRESSION = DISPLAY["regression"]
KEYS = ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
NAMES = {"PLO": "proportion", "PLN": "proportion", "PAS": "proportion", "PFT": "proportion",
         "ZCOR": "correlation", "IRLN": "incidence rate", "IRS": "incidence rate", "MNLN": "mean",
         "CVLN": "coefficient of variation", "SDLN": "standard deviation"}


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def _fit(case, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)       # PLO, PLN: continuity correction of 0 cells
        es = mgmeta.effect_sizes(case["measure"], **{k: _arr(v) for k, v in case["inputs"].items()})
    np.testing.assert_allclose(es["yi"], _arr(case["yi"]), rtol=TOL_CLOSED)
    np.testing.assert_allclose(es["vi"], _arr(case["vi"]), rtol=TOL_CLOSED)
    return es, mgmeta.meta_analysis(es, method=case["method"], **kw)


def _back(res):
    title, fn = display_of(res)
    vals = [res.estimate, res.ci_lower, res.ci_upper]
    if res.pi_lower is not None:
        vals += [res.pi_lower, res.pi_upper]
    return title, np.asarray(fn(np.array(vals)), float)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_back_transformed_estimate_and_intervals_match_predict_transf(case):
    # R: predict(res, transf = transf.ilogit) etc.; PFT: transf.ipft.hm with targs = list(ni = dat$ni)
    _, res = _fit(case)
    title, back = _back(res)
    assert title == f"Back-transformed ({NAMES[case['measure']]})"
    want = _arr([case["back"][k] for k in KEYS[:len(back)]])
    tol = TOL_ITERATIVE if case["method"] == "REML" else TOL_CLOSED
    np.testing.assert_allclose(back, want, rtol=tol, atol=ATOL)
    if case["method"] == "EE":
        assert res.pi_lower is None               # metafor repeats the CI as the PI of an equal-effects model
    # the printout and the notebook table show exactly these numbers
    text, html = str(res), res._repr_html_()
    assert f"{title}:" in text and title in html
    line = text.split(f"{title}:\n", 1)[1].splitlines()[1].split()
    assert line == [fmt.format_number(float(v)) for v in back]
    # predict(transf=) with the same function gives them too
    _, fn = display_of(res)
    p = res.predict(transf=fn)
    np.testing.assert_allclose(p[["estimate", "ci_lower", "ci_upper"]].to_numpy(float), back[:3], rtol=1e-15)


def test_ratio_measures_keep_the_exponentiated_table():
    es = mgmeta.effect_sizes("RR", ai=[4, 6, 3, 62], n1i=[123, 306, 231, 13598], ci=[11, 29, 11, 248],
                             n2i=[139, 303, 220, 12867])
    res = mgmeta.meta_analysis(es)
    assert "Exponentiated (RR):" in str(res) and "Back-transformed" not in str(res)
    assert display_of(res)[0] == "Exponentiated (RR)"


@pytest.mark.parametrize("measure,inputs", [("PR", dict(xi=[3, 5, 9], ni=[10, 20, 30])),
                                            ("COR", dict(ri=[0.2, 0.4, 0.1], ni=[30, 50, 40])),
                                            ("IR", dict(xi=[3, 5, 9], ti=[100, 150, 300]))])
def test_measures_on_their_own_scale_print_no_back_transformation(measure, inputs):
    res = mgmeta.meta_analysis(mgmeta.effect_sizes(measure, **inputs))
    assert display_of(res) is None
    assert "Back-transformed" not in str(res) and "Prediction interval:" in str(res)


def test_pft_without_sample_sizes_prints_no_back_transformation():
    case = next(c for c in CASES if c["id"] == "PFT_REML")
    res = mgmeta.meta_analysis(_arr(case["yi"]), _arr(case["vi"]), measure="PFT")
    assert display_of(res) is None and "Back-transformed" not in str(res)


def test_pft_harmonic_mean_uses_the_studies_in_the_fit():
    case = next(c for c in CASES if c["id"] == "PFT_DL")
    xi, ni = _arr(case["inputs"]["xi"]), _arr(case["inputs"]["ni"])
    es = mgmeta.effect_sizes("PFT", xi=xi, ni=ni)
    es.loc[2, "yi"] = np.nan                     # a study without an effect size keeps its ni in the frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        res = mgmeta.meta_analysis(es, method="DL", na_action="omit")
    assert res.k == len(ni) - 1
    np.testing.assert_array_equal(fitted_frame(res)["ni"], np.delete(ni, 2))
    _, back = _back(res)
    hm = np.delete(ni, 2)
    np.testing.assert_allclose(back[0], mgmeta.transforms.transf_ipft_hm(res.estimate, hm), rtol=1e-15)
    assert not np.isclose(back[0], mgmeta.transforms.transf_ipft_hm(res.estimate, ni), rtol=1e-9, atol=0)


def test_fitted_frame_falls_back_to_labels_and_gives_up_when_they_cannot_tell():
    case = next(c for c in CASES if c["id"] == "PFT_DL")
    es = mgmeta.effect_sizes("PFT", xi=_arr(case["inputs"]["xi"]), ni=_arr(case["inputs"]["ni"]))
    res = mgmeta.meta_analysis(es, method="DL")
    assert len(fitted_frame(res)) == res.k
    short = res.refit(yi=res.yi[:-1], vi=res.vi[:-1], labels=list(res.labels[:-1]))   # no frame
    assert fitted_frame(short) is None
    assert fitted_frame(type("Fit", (), {"data": pd.DataFrame({"yi": [1.0, 2.0]}), "k": 1, "labels": ()})()) is None


@pytest.mark.parametrize("case", REGRESSION, ids=[c["id"] for c in REGRESSION])
def test_regression_on_log_measures_prints_exponentiated_coefficients(case):
    # R: exp(coef(res)), exp(res$ci.lb), exp(res$ci.ub) of rma(yi, vi, mods = ~ mod)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        es = mgmeta.effect_sizes(case["measure"], **{k: _arr(v) for k, v in case["inputs"].items()})
    np.testing.assert_allclose(es["yi"], _arr(case["yi"]), rtol=TOL_CLOSED)
    fit = mgmeta.meta_regression(es, mods=_arr(case["mod"]))
    np.testing.assert_allclose(fit.coef, _arr(case["coef"]), rtol=TOL_ITERATIVE)
    frame = fit.to_frame(transf=np.exp)
    for col, key in (("estimate", "exp_coef"), ("ci_lower", "exp_ci_lb"), ("ci_upper", "exp_ci_ub")):
        np.testing.assert_allclose(frame[col].to_numpy(float), _arr(case[key]), rtol=TOL_ITERATIVE)
    assert "Transformed coefficients (exp):" in str(fit)
    assert "Exponentiated coefficients" in fit._repr_html_()


def test_regression_on_logits_prints_no_transformed_slopes():
    case = next(c for c in CASES if c["id"] == "PLO_REML")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        es = mgmeta.effect_sizes("PLO", **{k: _arr(v) for k, v in case["inputs"].items()})
    fit = mgmeta.meta_regression(es, mods=np.arange(len(es), dtype=float))
    assert "Transformed coefficients" not in str(fit) and "Exponentiated" not in fit._repr_html_()
