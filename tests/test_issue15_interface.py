"""Issue 15's measures, estimators and user weights through issue 13's interface: ``data=``, ``na_action``,
strict input, ``control=`` and ``se_tau2`` with a fixed tau², against R metafor 3.8
(tests/reference/integration15.R -> integration15.json)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mgmeta
from conftest import TOL_CLOSED, TOL_ITERATIVE, load_reference
from mgmeta.errors import ConvergenceError, DataError, OmittedStudiesWarning

REF = load_reference("integration15.json")
QUANT = ("estimate", "se", "tau2", "se_tau2", "i2", "h2", "q", "k")


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def _bcg(na: bool = False) -> pd.DataFrame:
    d = REF["data"]
    return pd.DataFrame({"author": d["author"], "yi": _arr(d["yi_na"] if na else d["yi"]), "vi": _arr(d["vi"]),
                         "w": _arr(d["w_na"] if na else d["w"])})


def _check(res, out, rtol):
    for key in QUANT:
        assert getattr(res, key) == pytest.approx(out[key], rel=rtol, abs=1e-12), key


@pytest.mark.parametrize("case", REF["control"], ids=[c["id"] for c in REF["control"]])
def test_control_reaches_the_new_iterative_estimators(case):
    res = mgmeta.meta_analysis("yi", "vi", data=_bcg(), method=case["method"], control=case["control"])
    _check(res, case["out"], 1e-9 if "threshold" in case["control"] else TOL_ITERATIVE)
    assert res.control == mgmeta.control.check_control(case["control"])


@pytest.mark.parametrize("case", REF["nonconv"], ids=[f"{c['method']}-{c['control']}" for c in REF["nonconv"]])
def test_non_convergence_raises_as_metafor(case):
    assert "did not converge" in case["error"]
    with pytest.raises(ConvergenceError, match="did not converge within"):
        mgmeta.meta_analysis("yi", "vi", data=_bcg(), method=case["method"], control=case["control"])


def test_sjit_start_is_tau2_init():
    d = _bcg()
    a = mgmeta.meta_analysis("yi", "vi", data=d, method="SJIT", control={"maxiter": 1, "threshold": 1e9})
    b = mgmeta.meta_analysis("yi", "vi", data=d, method="SJIT", control={"maxiter": 1, "threshold": 1e9,
                                                                          "tau2_init": 0.5})
    assert a.tau2 != pytest.approx(b.tau2)


@pytest.mark.parametrize("case", REF["tau2_fixed"], ids=[c["method"] for c in REF["tau2_fixed"]])
def test_se_tau2_with_fixed_tau2(case):
    kw = {"weights": "w"} if case["weights"] else {}
    res = mgmeta.meta_analysis("yi", "vi", data=_bcg(), method=case["method"], tau2=case["tau2"], **kw)
    _check(res, case["out"], TOL_CLOSED)


@pytest.mark.parametrize("case", REF["weights_na"], ids=[c["method"] for c in REF["weights_na"]])
def test_weights_column_with_missing_values(case):
    d = _bcg(na=True)
    with pytest.raises(DataError, match="missing"):
        mgmeta.meta_analysis("yi", "vi", data=d, weights="w", method=case["method"])
    with pytest.warns(OmittedStudiesWarning):
        res = mgmeta.meta_analysis("yi", "vi", data=d, weights="w", method=case["method"], na_action="omit",
                                   labels="author")
    rtol = TOL_ITERATIVE if case["method"] == "REML" else TOL_CLOSED
    _check(res, case["out"], rtol)
    assert len(res.omitted) == 2 and res.user_weights is not None and len(res.user_weights) == 11


def test_weights_from_an_effect_size_frame():
    d = _bcg(na=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OmittedStudiesWarning)
        es = mgmeta.effect_sizes("GEN", yi="yi", vi="vi", data=d, labels="author", na_action="omit")
        by_name = mgmeta.meta_analysis(es, weights="w", method="DL", na_action="omit")
        by_series = mgmeta.meta_analysis(es, weights=d["w"], method="DL", na_action="omit")
        by_cols = mgmeta.meta_analysis("yi", "vi", data=d, weights="w", method="DL", na_action="omit")
    out = next(c for c in REF["weights_na"] if c["method"] == "DL")["out"]
    for res in (by_name, by_series, by_cols):
        _check(res, out, TOL_CLOSED)
    # a refit (another level) keeps the user weights of the studies in the fit
    assert by_name.refit(level=0.9).estimate == pytest.approx(by_name.estimate)


def test_weights_are_strict_and_aligned_by_index():
    d = _bcg()
    with pytest.raises(DataError, match="weights"):
        mgmeta.meta_analysis("yi", "vi", data=d, weights=np.ones((13, 1)))
    with pytest.raises(DataError, match="weights"):
        mgmeta.meta_analysis("yi", "vi", data=d, weights=pd.Series(d["w"].to_numpy(), index=range(1, 14)))
    shuffled = d["w"].sample(frac=1.0, random_state=1)          # same index, other order: matched by index
    a = mgmeta.meta_analysis("yi", "vi", data=d, weights=shuffled, method="DL")
    b = mgmeta.meta_analysis("yi", "vi", data=d, weights="w", method="DL")
    assert a.estimate == pytest.approx(b.estimate, rel=1e-14)
    one = mgmeta.meta_analysis("yi", "vi", data=d, weights=2.0, method="DL")
    assert one.estimate == pytest.approx(mgmeta.meta_analysis("yi", "vi", data=d, weighted=False,
                                                              method="DL").estimate)


def test_new_measure_with_data_and_na_action():
    ref = REF["measure_na"]
    d = pd.DataFrame({"tpos": _arr(REF["data"]["tpos"]), "tneg": _arr(REF["data"]["tneg"])})
    d.loc[4, "tpos"] = np.nan
    d["n"] = d["tpos"] + d["tneg"]
    with pytest.raises(DataError, match="missing"):
        mgmeta.effect_sizes("PLO", xi="tpos", ni="n", data=d)
    with pytest.warns(OmittedStudiesWarning):
        es = mgmeta.effect_sizes("PLO", xi="tpos", ni="n", data=d, na_action="omit")
    np.testing.assert_allclose(es["yi"], _arr(ref["yi"]), rtol=TOL_CLOSED, equal_nan=True)
    np.testing.assert_allclose(es["vi"], _arr(ref["vi"]), rtol=TOL_CLOSED, equal_nan=True)
    assert list(es.columns[:3]) == ["tpos", "tneg", "n"] and es.attrs["measure"] == "PLO"
    with pytest.warns(OmittedStudiesWarning):
        res = mgmeta.meta_analysis(es, na_action="omit")
    assert res.k == 12 and res.measure == "PLO"


def test_new_measures_strict_input():
    with pytest.raises(DataError, match="does not use ai"):
        mgmeta.effect_sizes("PLO", xi=[1, 2], ni=[10, 10], ai=[1, 2])
    with pytest.raises(DataError, match="does not use xi"):
        mgmeta.effect_sizes("OR", ai=[1], n1i=[10], ci=[2], n2i=[10], xi=[1])
    with pytest.raises(DataError, match="xi"):
        mgmeta.effect_sizes("PLO", xi=[True, False], ni=[10, 10])
    with pytest.raises(DataError, match="ri"):
        mgmeta.effect_sizes("ZCOR", ri=np.array([[0.1, 0.2]]), ni=[10, 20])
    s = pd.Series([0.1, 0.3], index=["b", "a"])
    n = pd.Series([20, 40], index=["a", "b"])
    es = mgmeta.effect_sizes("ZCOR", ri=s, ni=n)                  # Series are matched by index
    np.testing.assert_allclose(es.loc["a", "vi"], 1 / 17)
    with pytest.raises(DataError, match="vtype"):
        mgmeta.effect_sizes("ZCOR", ri=[0.1], ni=[10], vtype="UB")


def test_mh_rates_with_data_and_na_action():
    d = pd.DataFrame({"x1": [5.0, 3, np.nan, 8], "t1": [100.0, 80, 90, 120], "x2": [9.0, 6, 4, 12],
                      "t2": [110.0, 85, 95, 118], "name": list("ABCD")})
    with pytest.raises(DataError, match="missing"):
        mgmeta.mantel_haenszel(x1i="x1", t1i="t1", x2i="x2", t2i="t2", data=d, measure="IRR")
    with pytest.warns(OmittedStudiesWarning):
        res = mgmeta.mantel_haenszel(x1i="x1", t1i="t1", x2i="x2", t2i="t2", data=d, measure="IRR",
                                     labels="name", na_action="omit")
    full = mgmeta.mantel_haenszel(x1i=[5, 3, 8], t1i=[100, 80, 120], x2i=[9, 6, 12], t2i=[110, 85, 118],
                                  measure="IRR", labels=["A", "B", "D"])
    assert res.estimate == pytest.approx(full.estimate, rel=1e-14) and res.omitted == ("C",)
    loo = res.leave_one_out()                       # refits of person-time data
    assert list(loo.index) == ["A", "B", "D"]
    two = mgmeta.mantel_haenszel(x1i=[3, 8], t1i=[80, 120], x2i=[6, 12], t2i=[85, 118], measure="IRR")
    assert loo.loc["A", "estimate"] == pytest.approx(two.estimate, rel=1e-12)
