"""mantel_haenszel with person-time data (IRR, IRD) and the Breslow-Day and Cochran statistics, against
R metafor 3.8 (tests/reference/breadth.json, from breadth.R)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import mgmeta
from conftest import ATOL, TOL_CLOSED, load_reference

MH = load_reference("breadth.json")["mh"]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol=TOL_CLOSED, atol=ATOL):
    exp = np.nan if expected is None else expected
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual if actual is not None else np.nan, float)),
                               _arr(np.atleast_1d(exp)), rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("case", MH, ids=[c["id"] for c in MH])
def test_mantel_haenszel_matches_rma_mh(case):
    inputs = {k: _arr(v) for k, v in case["inputs"].items()}
    correct = not case["id"].endswith("_nocorrect")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        res = mgmeta.mantel_haenszel(measure=case["measure"], correct=correct, **inputs)
    out = case["out"]
    for name in ("estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "q", "q_pvalue", "i2", "h2"):
        close(getattr(res, name), out[name], atol=1e-12)
    assert (res.k, res.k_yi) == (out["k"], out["k_yi"])
    close(res.yi[~np.isnan(res.yi)], _arr(case["yi"]))
    close(res.vi[~np.isnan(res.vi)], _arr(case["vi"]))
    if case["measure"] == "OR":
        close(res.cmh, out["mh"])
        close(res.cmh_pvalue, out["mh_pvalue"], atol=1e-14)
        close(res.cochran, out["co"])
        close(res.cochran_pvalue, out["co_pvalue"], atol=1e-14)
        close(res.breslow_day, out["bd"])
        close(res.breslow_day_pvalue, out["bd_pvalue"], atol=1e-14)
        close(res.tarone, out["ta"])
    elif case["measure"] == "IRR":
        close(res.cmh, out["mh"])
        close(res.cmh_pvalue, out["mh_pvalue"], atol=1e-14)
        assert res.breslow_day is None and res.cochran is None
    else:
        assert res.cmh is None


def test_person_time_input_checks():
    with pytest.raises(mgmeta.DataError, match="x1i, t1i, x2i, t2i"):
        mgmeta.mantel_haenszel(measure="IRR", x1i=[1, 2], t1i=[10, 10])
    with pytest.raises(mgmeta.DataError, match="person-time"):
        mgmeta.mantel_haenszel(measure="IRR", ai=[1], n1i=[10], ci=[1], n2i=[10])
    with pytest.raises(mgmeta.DataError, match="IRR"):
        mgmeta.mantel_haenszel([1], ci=[1], n1i=[10], n2i=[10], x1i=[1])
    with pytest.raises(mgmeta.DataError, match="t2i"):
        mgmeta.mantel_haenszel(measure="IRD", x1i=[1, 2], t1i=[10, 10], x2i=[1, 0], t2i=[10, 0])
    with pytest.raises(mgmeta.DataError, match="undefined"):
        mgmeta.mantel_haenszel(measure="IRR", x1i=[0, 0], t1i=[10, 10], x2i=[1, 2], t2i=[10, 10])


def test_person_time_from_data_frame_and_printout():
    import pandas as pd
    d = pd.DataFrame({"s": ["A", "B", "C"], "e1": [3, 5, 2], "p1": [100, 150, 80], "e2": [6, 9, 4],
                      "p2": [110, 140, 90]})
    res = mgmeta.mantel_haenszel(measure="IRR", x1i="e1", t1i="p1", x2i="e2", t2i="p2", data=d, labels="s")
    assert res.labels == ("A", "B", "C")
    assert res.is_ratio and "Mantel-Haenszel Test: MH" in str(res)
    assert "IRR" in str(res)
