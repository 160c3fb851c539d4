"""Mantel-Haenszel and Peto pooling (mgmeta.binary) against R metafor 3.8 (rma.mh, rma.peto).

Reference numbers: tests/reference/binary.json, written by tests/reference/binary.R. Every case records
its R call; cases with ``source == "formula"`` (the Greenland-Robins MH risk-difference variance, which
metafor lacks) were computed in R from the published formula.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mgmeta
from mgmeta import binary
from mgmeta.binary import BinaryPoolResult, mantel_haenszel, peto
from mgmeta._inputs import make_unique
from mgmeta.errors import DataError, DuplicateLabelWarning, MgmetaWarning

REF = json.loads((Path(__file__).parent / "reference" / "binary.json").read_text())
CASES = REF["cases"]

# Tolerances by kind of quantity (relative, with an absolute floor for quantities near zero).
RTOL = 1e-7
ATOL = 1e-12
SCALARS = ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "q", "q_pvalue", "i2", "h2",
           "cmh", "cmh_pvalue", "tarone", "tarone_pvalue"]


def _kwargs(case: dict) -> dict:
    """Python call for a reference case: inputs as arrays, args as recorded (Python names)."""
    inp = case["inputs"]
    kw = {name: np.asarray(inp[name], dtype=float) for name in ("ai", "bi", "ci", "di", "n1i", "n2i") if name in inp}
    kw["labels"] = inp["labels"]
    kw.update(case["args"])
    if case["method"] == "MH":
        kw["measure"] = case["measure"]
    return kw


def _fit(case: dict) -> BinaryPoolResult:
    kw = _kwargs(case)
    ai = kw.pop("ai")
    fn = peto if case["method"] == "PETO" else mantel_haenszel
    return fn(ai, **kw)


def _r_failed(case: dict) -> bool:
    """metafor stopped, or returned NA/NaN for the estimate, its test or Q: mgmeta must raise DataError."""
    if case["error"] is not None:
        return True
    out = case["out"]
    return any(out[key] is None for key in ("estimate", "se", "statistic", "q"))


OK_CASES = [c for c in CASES if not _r_failed(c)]
FAIL_CASES = [c for c in CASES if _r_failed(c)]


def test_reference_file_records_versions():
    assert REF["metafor_version"].startswith("3.8")
    assert REF["r_version"].startswith("R version 4")
    assert len(CASES) >= 100
    assert all(c["call"] for c in CASES)


@pytest.mark.parametrize("case", OK_CASES, ids=[c["id"] for c in OK_CASES])
def test_agrees_with_metafor(case):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _fit(case)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    # metafor warns "Some yi/vi values are NA." exactly when mgmeta warns that studies are left out of Q.
    r_warned = any("Some yi/vi values are NA" in w for w in case["warnings"])
    assert r_warned == any(issubclass(w.category, MgmetaWarning) and not issubclass(w.category, DuplicateLabelWarning)
                           for w in caught)

    out = case["out"]
    for key in SCALARS:
        got, want = getattr(res, key), out[key]
        if want is None:
            assert got is None, key
        else:
            assert got is not None, key
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"{case['id']}: {key}")
    assert res.k == out["k"]
    assert res.k_yi == out["k_yi"]
    assert res.q_df == max(out["k_yi"] - 1, 0)
    if case["measure"] == "OR":
        assert res.tarone_df == out["k_pos"] - 1
    weights = np.array([0.0 if w is None else w for w in out["weights"]])
    np.testing.assert_allclose(res.weights, weights, rtol=RTOL, atol=1e-10)
    for key in ("yi", "vi"):
        want = np.array([np.nan if v is None else v for v in out[key]])
        np.testing.assert_allclose(getattr(res, key), want, rtol=RTOL, atol=ATOL, err_msg=key)
    assert res.method == case["method"]
    assert res.measure == case["measure"]
    assert res.level == case["args"].get("level", 0.95)
    assert res.labels == tuple(make_unique(case["inputs"]["labels"]))  # metafor's unique slabs


@pytest.mark.parametrize("case", FAIL_CASES, ids=[c["id"] for c in FAIL_CASES])
def test_raises_where_metafor_fails(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        with pytest.raises(DataError):
            _fit(case)


def test_reference_covers_the_brief():
    ids = {c["id"] for c in CASES}
    for need in ("bcg_MH_OR", "bcg_MH_RR", "bcg_MH_RD", "bcg_PETO", "bcg_k2_MH_OR", "bcg_k1_MH_OR",
                 "niel_MH_OR", "li_PETO", "yusuf6_PETO", "zeros_MH_RD", "bcg_MH_RD_gr", "emptyarm_MH_OR"):
        assert need in ids
    assert len(FAIL_CASES) >= 5


# --------------------------------------------------------------------------
# input forms
# --------------------------------------------------------------------------

BCG = next(c for c in CASES if c["id"] == "bcg_MH_OR")["inputs"]
LI = next(c for c in CASES if c["id"] == "li_MH_OR")["inputs"]


def _li_frame() -> pd.DataFrame:
    return pd.DataFrame({"study": LI["labels"], "ev_mg": LI["ai"], "n_mg": LI["n1i"],
                         "ev_ctl": LI["ci"], "n_ctl": LI["n2i"]})


def test_public_names():
    assert mgmeta.mantel_haenszel is mantel_haenszel
    assert mgmeta.peto is peto
    assert mgmeta.BinaryPoolResult is BinaryPoolResult


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_data_columns_match_arrays(measure):
    frame = _li_frame()
    by_name = mantel_haenszel("ev_mg", ci="ev_ctl", n1i="n_mg", n2i="n_ctl", data=frame, labels="study",
                              measure=measure)
    by_array = mantel_haenszel(LI["ai"], ci=LI["ci"], n1i=LI["n1i"], n2i=LI["n2i"], labels=LI["labels"],
                               measure=measure)
    assert by_name.to_frame().equals(by_array.to_frame())
    assert by_name.labels == tuple(LI["labels"])
    pe = peto("ev_mg", ci="ev_ctl", n1i="n_mg", n2i="n_ctl", data=frame, labels="study")
    assert pe.estimate == peto(LI["ai"], ci=LI["ci"], n1i=LI["n1i"], n2i=LI["n2i"]).estimate


def test_size_form_matches_cell_form():
    a, b, c, d = (np.asarray(BCG[x]) for x in ("ai", "bi", "ci", "di"))
    cells = mantel_haenszel(a, b, c, d)
    sizes = mantel_haenszel(a, ci=c, n1i=a + b, n2i=c + d)
    both = mantel_haenszel(a, b, c, d, n1i=a + b, n2i=c + d)
    for r in (sizes, both):
        assert r.estimate == cells.estimate and r.se == cells.se and r.q == cells.q
    assert cells.labels == tuple(str(i + 1) for i in range(len(a)))


def test_level_as_percent():
    a, b, c, d = (BCG[x] for x in ("ai", "bi", "ci", "di"))
    assert mantel_haenszel(a, b, c, d, level=95).ci_lower == mantel_haenszel(a, b, c, d).ci_lower


def test_inputs_not_modified_and_results_read_only():
    arrays = [np.asarray(BCG[x], dtype=float) for x in ("ai", "bi", "ci", "di")]
    copies = [x.copy() for x in arrays]
    frame = _li_frame()
    frame_copy = frame.copy(deep=True)
    lists = [list(LI[x]) for x in ("ai", "ci", "n1i", "n2i")]
    lists_copy = [list(x) for x in lists]
    for m in ("OR", "RR", "RD"):
        mantel_haenszel(*arrays, measure=m, add=(0.5, 0.5), to=("all", "all"))
        mantel_haenszel("ev_mg", ci="ev_ctl", n1i="n_mg", n2i="n_ctl", data=frame, measure=m)
        mantel_haenszel(lists[0], ci=lists[1], n1i=lists[2], n2i=lists[3], measure=m)
    res = peto(*arrays, add=(0.5, 0.5), to=("only0", "all"))
    for x, y in zip(arrays, copies):
        np.testing.assert_array_equal(x, y)
    pd.testing.assert_frame_equal(frame, frame_copy)
    assert lists == lists_copy
    for arr in (res.yi, res.vi, res.weights):
        with pytest.raises(ValueError):
            arr[0] = 1.0


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------

LAB = ["A", "B", "C"]


@pytest.mark.parametrize("fn", [mantel_haenszel, peto])
@pytest.mark.parametrize("kwargs, words", [
    (dict(ai=[1, -2, 3], bi=[9, 9, 9], ci=[1, 1, 1], di=[9, 9, 9]), ["'B'", "ai", "negative"]),
    (dict(ai=[1, 2, 3], bi=[9, 9, 9], ci=[1, 1, 1], di=[9, -1, 9]), ["'B'", "di", "negative"]),
    (dict(ai=[1, 12, 3], ci=[1, 1, 1], n1i=[10, 10, 10], n2i=[10, 10, 10]), ["'B'", "exceed", "ai"]),
    (dict(ai=[1, 2, 3], ci=[1, 1, 11], n1i=[10, 10, 10], n2i=[10, 10, 10]), ["'C'", "exceed", "ci"]),
    (dict(ai=[1, np.nan, 3], bi=[9, 9, 9], ci=[1, 1, 1], di=[9, 9, 9]), ["'B'", "ai"]),
    (dict(ai=[1, 2, 3], bi=[9, np.inf, 9], ci=[1, 1, 1], di=[9, 9, 9]), ["'B'", "bi"]),
    (dict(ai=[1, 2, 3], bi=[9, 9], ci=[1, 1, 1], di=[9, 9, 9]), ["mismatched", "bi"]),
    (dict(ai=[1, 2, 3], bi=[9, 8, 9], ci=[1, 1, 1], di=[9, 9, 9], n1i=[10, 10, 13]), ["'C'", "n1i"]),
    (dict(ai=[1, 2, 3], ci=[1, 1, 1], di=[9, 9, 9]), ["bi", "n1i"]),
    (dict(ai=[1, "x", 3], bi=[9, 9, 9], ci=[1, 1, 1], di=[9, 9, 9]), ["'B'", "ai"]),
])
def test_invalid_tables(fn, kwargs, words):
    with pytest.raises(DataError) as err:
        fn(labels=LAB, **kwargs)
    for w in words:
        assert w in str(err.value)


def test_empty_input():
    with pytest.raises(DataError, match="empty"):
        mantel_haenszel([], [], [], [])
    with pytest.raises(DataError, match="empty"):
        peto([], ci=[], n1i=[], n2i=[])


def test_positions_named_without_labels():
    with pytest.raises(DataError, match="position 1"):
        mantel_haenszel([1, -1], [5, 5], [1, 1], [5, 5])


@pytest.mark.parametrize("kwargs, field", [
    (dict(measure="PETO"), "measure"), (dict(measure="or"), "measure"), (dict(measure="SMD"), "measure"),
    (dict(to="some"), "to"), (dict(to=("only0", "nope")), "to"), (dict(add=-0.5), "add"),
    (dict(add=(0.5, 0.5, 0.5)), "add"), (dict(add="half"), "add"), (dict(drop00="yes"), "drop00"),
    (dict(level=0), "level"), (dict(level=1.5e3), "level"), (dict(level="high"), "level"),
    (dict(mh_rd_variance="xx", measure="RD"), "mh_rd_variance"), (dict(correct=1), "correct"),
])
def test_invalid_options(kwargs, field):
    a, b, c, d = (BCG[x] for x in ("ai", "bi", "ci", "di"))
    with pytest.raises(DataError) as err:
        mantel_haenszel(a, b, c, d, **kwargs)
    assert err.value.field == field


def test_bad_labels_and_columns():
    frame = _li_frame()
    with pytest.raises(DataError, match="names no column"):
        mantel_haenszel("ev_mg", ci="nope", n1i="n_mg", n2i="n_ctl", data=frame)
    with pytest.raises(DataError, match="labels"):
        mantel_haenszel([1, 2], [3, 4], [1, 2], [3, 4], labels=["only one"])
    with pytest.raises(DataError, match="DataFrame"):
        mantel_haenszel("ai", ci="ci", n1i="n1i", n2i="n2i", data={"ai": [1]})


def test_zero_total_names_the_study():
    with pytest.raises(DataError, match="'Empty'.*no participants"):
        mantel_haenszel([2, 0, 5], ci=[4, 0, 3], n1i=[20, 0, 30], n2i=[20, 0, 30], labels=["A", "Empty", "C"])


def test_all_double_zero_dropped_raises():
    with pytest.raises(DataError, match="double-zero"):
        mantel_haenszel([0, 0], ci=[0, 0], n1i=[10, 10], n2i=[10, 10], drop00=(True, True))


# --------------------------------------------------------------------------
# edge cases and output
# --------------------------------------------------------------------------

def test_mh_correction_of_pooled_tables_rescues_no_events_in_one_group():
    # No events in group 1: metafor's MH OR is NA; corrected pooled tables give a finite estimate.
    kw = dict(ai=[0, 0, 0], ci=[1, 3, 2], n1i=[10, 20, 30], n2i=[10, 20, 30])
    with pytest.raises(DataError, match="undefined"):
        mantel_haenszel(**kw)
    res = mantel_haenszel(**kw, add=(0.5, 0.5), to=("only0", "only0"))
    assert np.isfinite(res.estimate) and res.estimate < 0


def test_table_of_one_participant_has_no_variance():
    # A table of total 1 (metafor: NaN CMH / Peto error) adds nothing: its margins fix every cell.
    kw = dict(ai=[1, 5, 3], ci=[0, 2, 4], n1i=[1, 20, 20], n2i=[0, 20, 20])
    ref = dict(ai=[5, 3], ci=[2, 4], n1i=[20, 20], n2i=[20, 20])
    with pytest.warns(MgmetaWarning, match="position 0"):
        res = mantel_haenszel(**kw)
    assert res.estimate == pytest.approx(mantel_haenszel(**ref).estimate, rel=1e-12)
    assert res.cmh == pytest.approx(mantel_haenszel(**ref).cmh, rel=1e-12)
    assert res.tarone_df == 1
    with pytest.warns(MgmetaWarning):
        pe = peto(**kw)
    assert pe.estimate == pytest.approx(peto(**ref).estimate, rel=1e-12)


def test_print_reads_like_metafor():
    a, b, c, d = (BCG[x] for x in ("ai", "bi", "ci", "di"))
    text = str(mantel_haenszel(a, b, c, d))
    assert text.startswith("Equal-Effects Model (k = 13); Mantel-Haenszel method, measure OR")
    for piece in ("I^2 (total heterogeneity / total variability):  92.68%",
                  "H^2 (total variability / sampling variability): 13.66",
                  "Test for Heterogeneity:", "Q(df = 12) = 163.9426, p-val < .0001",
                  "Model Results (log scale):", "-0.4734", "0.0410", "-11.5444", "<.0001",
                  "Model Results (OR scale):", "0.6229", "0.5748", "0.6750",
                  "Cochran-Mantel-Haenszel Test:    CMH = 135.6889, df = 1, p-val < .0001",
                  "Tarone's Test for Heterogeneity: X^2 = 171.7567, df = 12, p-val < .0001"):
        assert piece in text, piece
    assert "Greenland-Robins" in str(mantel_haenszel(a, b, c, d, measure="RD", mh_rd_variance="gr"))
    rd = str(mantel_haenszel(a, b, c, d, measure="RD"))
    assert "Model Results:" in rd and "scale" not in rd and "Tarone" not in rd
    pe = str(peto(a, b, c, d))
    assert "Peto's method" in pe and "Model Results (OR scale):" in pe and "CMH" not in pe
    one = str(mantel_haenszel(a[:1], b[:1], c[:1], d[:1]))
    assert "df = 0, p-val = NA" in one


def test_html_and_frame():
    a, b, c, d = (BCG[x] for x in ("ai", "bi", "ci", "di"))
    res = mantel_haenszel(a, b, c, d)
    html = res._repr_html_()
    assert "<table>" in html and "Mantel-Haenszel" in html and "OR scale" in html
    frame = res.to_frame()
    assert list(frame.columns) == ["measure", "method", "k", "k_yi", "estimate", "se", "statistic", "pvalue",
                                   "ci_lower", "ci_upper", "level", "q", "q_df", "q_pvalue", "i2", "h2", "cmh",
                                   "cmh_pvalue", "tarone", "tarone_df", "tarone_pvalue", "cochran",
                                   "cochran_pvalue", "breslow_day", "breslow_day_pvalue"]
    assert len(frame) == 1 and frame.loc[0, "estimate"] == res.estimate
    assert list(peto(a, b, c, d).to_frame().columns) == list(frame.columns)


def test_kernels_accept_a_batch_axis():
    a, b, c, d = (np.asarray(BCG[x], dtype=float) for x in ("ai", "bi", "ci", "di"))
    stack = [np.stack([x, x[::-1]]) for x in (a, b, c, d)]
    for kernel in (binary._mh_or, binary._mh_rr, binary._mh_rd, binary._peto_core):
        batched = kernel(*stack)
        single = kernel(a, b, c, d)
        for got, want in zip(batched, single):
            np.testing.assert_allclose(np.asarray(got)[0], want, rtol=1e-12)
            np.testing.assert_allclose(np.asarray(got)[1], want, rtol=1e-12)


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

@st.composite
def tables(draw):
    k = draw(st.integers(min_value=1, max_value=7))
    n1 = np.array(draw(st.lists(st.integers(1, 60), min_size=k, max_size=k)), dtype=float)
    n2 = np.array(draw(st.lists(st.integers(1, 60), min_size=k, max_size=k)), dtype=float)
    a = np.array([draw(st.integers(0, int(n))) for n in n1], dtype=float)
    c = np.array([draw(st.integers(0, int(n))) for n in n2], dtype=float)
    perm = np.array(draw(st.permutations(range(k))))
    return a, n1 - a, c, n2 - c, perm


def _pool(fn, *args, **kw):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MgmetaWarning)
            return fn(*args, **kw)
    except DataError:
        return None


FIELDS = ["estimate", "se", "q", "i2", "h2", "cmh", "tarone"]


def _same(r1, r2, sign=1.0):
    assert (r1 is None) == (r2 is None)
    if r1 is None:
        return
    assert r1.estimate == pytest.approx(sign * r2.estimate, rel=1e-9, abs=1e-12)
    for key in FIELDS[1:]:
        x, y = getattr(r1, key), getattr(r2, key)
        assert (x is None) == (y is None)
        if x is not None:
            assert x == pytest.approx(y, rel=1e-8, abs=1e-9), key
    assert r1.tarone_df == r2.tarone_df and r1.k_yi == r2.k_yi


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from(["OR", "RR", "RD", "PETO"]))
def test_permuting_studies_changes_nothing(t, measure):
    a, b, c, d, perm = t
    fn = peto if measure == "PETO" else mantel_haenszel
    kw = {} if measure == "PETO" else {"measure": measure}
    _same(_pool(fn, a[perm], b[perm], c[perm], d[perm], **kw), _pool(fn, a, b, c, d, **kw))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from(["OR", "RR", "RD", "PETO"]))
def test_swapping_arms_negates_the_estimate(t, measure):
    a, b, c, d, _ = t
    fn = peto if measure == "PETO" else mantel_haenszel
    kw = {} if measure == "PETO" else {"measure": measure}
    _same(_pool(fn, c, d, a, b, **kw), _pool(fn, a, b, c, d, **kw), sign=-1.0)
