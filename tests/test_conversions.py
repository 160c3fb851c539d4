"""Tests of mgmeta.conversions.

Reference numbers come from tests/reference/conversions.json, written by tests/reference/conversions.R:
metafor 3.8 escalc() contrasts with their Wald CIs, R qnorm()/qt() hand computations, and metafor's
conv.fivenum() and conv.wald() (metafor >= 4.0; the JSON records the version that computed each
block). Worked examples cite the paper's table or the Cochrane Handbook section; trial numbers come from
the project's source notes (shared/sources/trials-tables.md).
"""
from __future__ import annotations

import doctest
import json
import math
import warnings
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mgmeta import conversions as conv
from mgmeta.conversions import (
    CONVERSIONS,
    check_count_percent,
    combine_arms,
    combine_arms_all,
    combine_events,
    contrast_from_ci,
    count_from_percent,
    counts_matching_percent,
    crossover_corr,
    crossover_md,
    crossover_md_parallel,
    mean_sd_from_median,
    median_skewness_test,
    sd_from_ci,
    sd_from_se,
    se_from_ci,
    se_from_pvalue,
    split_shared_control,
)
from mgmeta.errors import DataError, MgmetaWarning

REF = json.loads((Path(__file__).parent / "reference" / "conversions.json").read_text())

# tolerances by kind of quantity
TOL_ESTIMATE = dict(rel=1e-10, abs=1e-12)   # yi, means, SDs computed by the same closed form as R
TOL_VARIANCE = dict(rel=1e-9, abs=1e-14)    # vi, SE
TOL_PRINTED = dict(abs=5e-4)                # numbers printed with 3 decimals in a paper or the Handbook


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


# ------------------------------------------------------------------------------------------------
# module-level
# ------------------------------------------------------------------------------------------------

def test_docstring_examples_run():
    failures, tried = doctest.testmod(conv, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert tried > 20
    assert failures == 0


def test_every_public_function_has_numpydoc_sections():
    for name in conv.__all__:
        obj = getattr(conv, name)
        if callable(obj) and not isinstance(obj, type):
            doc = obj.__doc__ or ""
            for section in ("Parameters", "Returns", "Notes", "References", "Examples"):
                assert section in doc, f"{name} lacks {section}"
            assert "doi:" in doc or "Handbook" in doc, name


def test_conversions_registry_names_every_result():
    assert all(isinstance(k, str) and k == k.lower() and " " not in k for k in CONVERSIONS)
    assert all(isinstance(v, str) and len(v) > 20 for v in CONVERSIONS.values())
    produced = {
        mean_sd_from_median(6, n=20, minimum=2, maximum=14).conversion,
        mean_sd_from_median(6, n=20, q1=4, q3=10).conversion,
        mean_sd_from_median(6, n=20, q1=4, q3=10, minimum=2, maximum=14).conversion,
        mean_sd_from_median(6, n=20, minimum=2, maximum=14, method="wan").conversion,
        mean_sd_from_median(6, n=20, q1=4, q3=10, method="wan").conversion,
        mean_sd_from_median(6, n=20, q1=4, q3=10, minimum=2, maximum=14, method="wan").conversion,
        mean_sd_from_median(6, n=20, minimum=2, maximum=14, method="hozo").conversion,
        contrast_from_ci(1.5, 1.1, 2.0, measure="OR").conversion,
        combine_arms(10, 1, 1, 10, 2, 1).conversion,
        combine_events(1, 10, 2, 10).conversion,
        split_shared_control(10, 3, parts=2).conversion,
        crossover_md(1, 1, 0, 1, 10, corr=0.5).conversion,
        crossover_md_parallel(1, 1, 0, 1, 10).conversion,
    }
    assert produced <= set(CONVERSIONS)
    for plain in ("events_from_percent", "sd_from_ci", "sd_from_ci_z", "se_from_ci", "se_from_ci_log",
                  "se_from_pvalue", "se_from_pvalue_log", "sd_from_se"):
        assert plain in CONVERSIONS
    assert "mean_sd_from_median_iqr" in CONVERSIONS and "events_from_percent" in CONVERSIONS


# ------------------------------------------------------------------------------------------------
# counts from percentages
# ------------------------------------------------------------------------------------------------

def test_zohaib_count_and_inconsistency():
    # trials-tables.md, Zohaib et al.: "23 (65.7%) vs 13 (34.3%)" of 35 per arm; 13/35 = 37.1 %, 34.3 % = 12/35
    assert count_from_percent(34.3, 35) == 12
    assert count_from_percent(65.7, 35) == 23
    assert check_count_percent(23, 65.7, 35) is True
    assert check_count_percent(13, 34.3, 35) is False
    assert check_count_percent(12, 34.3, 35) is True


def test_trial_percentages_back_to_counts():
    # trials-tables.md: Cete 2005 rescue 38 % / 44 % / 65 % of 37 / 36 / 40 -> 14, 16, 26
    assert count_from_percent([38, 44, 65], [37, 36, 40]).tolist() == [14, 16, 26]
    # Pfaffenrath 1996: 28.6 % of 35 and 29.4 % of 34 -> 10 and 10
    assert count_from_percent([28.6, 29.4], [35, 34]).tolist() == [10, 10]
    # Peikert 1996 (Mg n = 43): diarrhoea 18.6 %, gastric irritation 4.7 % -> 8 and 2
    assert count_from_percent([18.6, 4.7], 43).tolist() == [8, 2]
    # Ginder 2000: 90 % and 56 % fit a 20 / 16 split
    assert count_from_percent(90, 20) == 18 and count_from_percent(56, 16) == 9


def test_truncated_percentages():
    # Demirkaya 2001 prints 13/15 = 86.67 % as "86.6%": truncated, not rounded
    with pytest.raises(DataError, match="no whole count"):
        count_from_percent(86.6, 15)
    assert count_from_percent(86.6, 15, rounding="truncate") == 13
    assert counts_matching_percent(86.6, 15, rounding="truncate").tolist() == [13]


def test_printed_precision_from_strings_and_floats():
    # "44" and 44.0 are read with 0 decimals, the string "44.0" with 1: 16/36 = 44.44 % is not 44.0 %
    assert count_from_percent(44.0, 36) == 16
    assert count_from_percent("44", 36) == 16
    assert count_from_percent("44%", 36) == 16
    with pytest.raises(DataError, match="no whole count"):
        count_from_percent("44.0", 36)
    with pytest.raises(DataError, match="no whole count"):
        count_from_percent(44, 36, decimals=1)
    assert count_from_percent("44.44", 36) == 16
    with pytest.raises(DataError, match="2 decimals but decimals=1"):
        count_from_percent(44.44, 36, decimals=1)
    # 100 * 1/3 printed as 33.3: floats are read through their shortest repr, no float error
    assert count_from_percent(33.3, 3) == 1
    assert count_from_percent(0, 12) == 0 and count_from_percent(100, 12) == 12


def test_ties_accept_either_rounding_convention():
    # 1/8 = 12.5 % exactly: printed as 12 (half-even) or 13 (half-up); both identify 1
    assert count_from_percent(12, 8) == 1
    assert count_from_percent(13, 8) == 1


def test_ambiguous_percentages():
    # 34 % of 250: 84 (33.6 %), 85 (34.0 %) and 86 (34.4 %) all print as 34 %
    assert counts_matching_percent(34, 250).tolist() == [84, 85, 86]
    with pytest.raises(DataError, match="ambiguous.*84, 85, 86"):
        count_from_percent(34, 250)
    assert count_from_percent(34, 250, ambiguous="nearest") == 85
    # 35 % of 150 = 52.5: 52 and 53 are equally near -> still ambiguous
    with pytest.raises(DataError, match="ambiguous"):
        count_from_percent(35, 150, ambiguous="nearest")


def test_percent_errors_name_study_and_field():
    with pytest.raises(DataError, match=r"study 'Zohaib', field 'responders_mg': no whole count.*35") as e:
        count_from_percent(34.4, 35, study="Zohaib", field="responders_mg")
    assert e.value.study == "Zohaib" and e.value.field == "responders_mg"
    with pytest.raises(DataError, match=r"study 'B'") as e:
        count_from_percent([34.3, 34.4], 35, study=["A", "B"])
    assert e.value.study == "B"
    with pytest.raises(DataError, match="study at position 1"):
        count_from_percent([34.3, 34.4], 35)
    with pytest.raises(DataError, match="outside 0..100"):
        count_from_percent(101, 35)
    with pytest.raises(DataError, match="outside 0..100"):
        count_from_percent(-1, 35)
    with pytest.raises(DataError, match="positive whole number"):
        count_from_percent(50, 0)
    with pytest.raises(DataError, match="positive whole number"):
        count_from_percent(50, 2.5)
    with pytest.raises(DataError, match="not a number"):
        count_from_percent("abc", 35)
    with pytest.raises(DataError, match="finite"):
        count_from_percent(float("nan"), 35)
    with pytest.raises(DataError, match="rounding"):
        count_from_percent(50, 10, rounding="up")
    with pytest.raises(DataError, match="labels"):
        count_from_percent([50, 50], 10, study=["only one"])
    with pytest.raises(DataError, match=r"count \(36\) exceeds n \(35\)"):
        check_count_percent(36, 100, 35)
    with pytest.raises(DataError, match="non-negative whole"):
        check_count_percent(-1, 0, 35)
    with pytest.raises(DataError, match="non-negative whole"):
        check_count_percent(2.5, 10, 25)


def test_percent_functions_vectorise_and_keep_inputs():
    p = np.array([38.0, 44.0, 65.0])
    n = np.array([37, 36, 40])
    out = count_from_percent(p, n)
    assert out.dtype == np.int64 and out.shape == (3,)
    assert p.tolist() == [38.0, 44.0, 65.0] and n.tolist() == [37, 36, 40]
    ok = check_count_percent(np.array([[14, 16], [15, 16]]), np.array([38, 44]), np.array([37, 36]))
    assert ok.tolist() == [[True, True], [False, True]]


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 3000), data=st.data(), d=st.integers(0, 3))
def test_printed_percentage_always_recovers_the_count(n, data, d):
    c = data.draw(st.integers(0, n))
    with localcontext() as ctx:
        ctx.prec = 60
        text = format(Decimal(100 * c) / Decimal(n), f".{d}f")
    assert c in counts_matching_percent(text, n).tolist()
    assert check_count_percent(c, text, n)
    if n < 100 * 10 ** d:  # a rounding interval narrower than one count: the answer is unique
        assert count_from_percent(text, n) == c
    # every returned count really rounds to the printed value
    for m in counts_matching_percent(text, n):
        assert abs(Fraction(100 * int(m), n) - Fraction(Decimal(text))) <= Fraction(1, 2 * 10 ** d)


# ------------------------------------------------------------------------------------------------
# mean and SD from median / quartiles / range
# ------------------------------------------------------------------------------------------------

FIVE = REF["conv_fivenum"]["results"]
FIVE_DATA = {k: _arr(v) for k, v in FIVE["data"].items() if k != "case"}
FIVE_CASES = FIVE["data"]["case"]


def _five_kwargs(i):
    d = {k: FIVE_DATA[k][i] for k in FIVE_DATA}
    kw = dict(n=d["n"])
    if FIVE_CASES[i] in ("S2", "S3"):
        kw.update(q1=d["q1"], q3=d["q3"])
    if FIVE_CASES[i] in ("S1", "S3"):
        kw.update(minimum=d["min"], maximum=d["max"])
    return d["median"], kw


@pytest.mark.parametrize("i", range(len(FIVE_CASES)))
@pytest.mark.parametrize("method,key", [("luo_wan", "luo_wan"), ("wan", "wan"), ("hozo", "hozo")])
def test_mean_sd_against_metafor_conv_fivenum(i, method, key):
    # metafor conv.fivenum(method = 'luo/wan/shi' | 'wan2014' | 'hozo2005', test = FALSE)
    median, kw = _five_kwargs(i)
    mean_r, sd_r = FIVE[key]["mean"][i], FIVE[key]["sd"][i]
    if method == "hozo" and FIVE_CASES[i] != "S1":
        assert mean_r is None  # metafor has no Hozo estimator without the range either
        with pytest.raises(DataError, match="hozo"):
            mean_sd_from_median(median, method=method, skew_test="ignore", **kw)
        return
    res = mean_sd_from_median(median, method=method, skew_test="ignore", **kw)
    assert res.scenario == FIVE_CASES[i]
    assert res.mean == pytest.approx(mean_r, **TOL_ESTIMATE)
    assert res.sd == pytest.approx(sd_r, **TOL_ESTIMATE)


def test_skewness_test_against_metafor():
    # attributes tval, crit and sig of conv.fivenum's mean column (Shi et al. 2023 tests)
    for i in range(len(FIVE_CASES)):
        median, kw = _five_kwargs(i)
        res = median_skewness_test(median, **kw)
        assert res.statistic == pytest.approx(FIVE["skew_tval"][i], **TOL_ESTIMATE)
        assert res.critical == pytest.approx(FIVE["skew_crit"][i], **TOL_ESTIMATE)
        assert res.significant is FIVE["skew_sig"][i]
    assert any(FIVE["skew_sig"]) and not all(FIVE["skew_sig"])


def test_mean_sd_vectorised_equals_scalar_calls():
    rows = [i for i, c in enumerate(FIVE_CASES) if c == "S3"]
    d = {k: v[rows] for k, v in FIVE_DATA.items()}
    keep = {k: v.copy() for k, v in d.items()}
    res = mean_sd_from_median(d["median"], n=d["n"], q1=d["q1"], q3=d["q3"], minimum=d["min"],
                              maximum=d["max"], skew_test="ignore")
    assert res.mean.shape == (len(rows),)
    np.testing.assert_allclose(res.mean, [FIVE["luo_wan"]["mean"][i] for i in rows], rtol=1e-10)
    np.testing.assert_allclose(res.sd, [FIVE["luo_wan"]["sd"][i] for i in rows], rtol=1e-10)
    for k in d:
        np.testing.assert_array_equal(d[k], keep[k])
    frame = res.to_frame()
    assert list(frame.columns) == ["mean", "sd", "scenario", "method", "conversion", "skew_statistic",
                                   "skew_critical", "skew_significant"]
    assert len(frame) == len(rows)


def test_mean_sd_hand_computations():
    # S1 of metafor's help example: min 2, median 6, max 14, n 20
    n = 20
    w = 4 / (4 + n ** 0.75)                                   # Luo et al. 2018, eq. 7
    xi = 2 * 1.868241655  # 2 * qnorm((20 - 0.375)/(20 + 0.25)) in R; Wan et al. 2014, eq. 9
    res = mean_sd_from_median(6, n=n, minimum=2, maximum=14)
    assert res.mean == pytest.approx(w * 8 + (1 - w) * 6, rel=1e-12)
    assert res.sd == pytest.approx(12 / xi, rel=1e-6)
    # S2, Kandil 2021 magnesium arm: median decrease 4 (IQR 2-6), n = 61 -> symmetric, mean = median
    res = mean_sd_from_median(4, n=61, q1=2, q3=6)
    eta = 2 * 0.6585199505  # R: 2 * qnorm((0.75 * 61 - 0.125)/(61 + 0.25)); Wan et al. 2014, eq. 16
    assert res.mean == pytest.approx(4.0, rel=1e-12)
    assert res.sd == pytest.approx(4 / eta, rel=1e-6)
    # S2 Wan 2014 eq. 14 mean (q1 + m + q3)/3
    assert mean_sd_from_median(5, n=30, q1=2, q3=10, method="wan", skew_test="ignore").mean == \
        pytest.approx(17 / 3, rel=1e-12)
    # Hozo et al. 2005 sample-size rules: n <= 15 formula; 15 < n <= 70 range/4; n > 70 range/6;
    # mean (a + 2m + b)/4 up to n = 25, the median beyond
    r = mean_sd_from_median(6, n=10, minimum=2, maximum=14, method="hozo")
    assert r.mean == pytest.approx(7.0) and r.sd == pytest.approx(math.sqrt((4 ** 2 / 4 + 12 ** 2) / 12))
    r = mean_sd_from_median(6, n=40, minimum=2, maximum=14, method="hozo", skew_test="ignore")
    assert r.mean == pytest.approx(6.0) and r.sd == pytest.approx(3.0)
    r = mean_sd_from_median(6, n=71, minimum=2, maximum=14, method="hozo", skew_test="ignore")
    assert r.sd == pytest.approx(2.0)


def test_wan_xi_approximates_the_exact_expected_range_of_table_1():
    # Wan et al. 2014, Table 1: exact xi(n) (expected range of n standard normals) for n <= 50; eq. 9's
    # 2*qnorm((n - 0.375)/(n + 0.25)) approximates it within 1.5 % for n >= 5 (0.034 at n = 5)
    table1 = {5: 2.326, 10: 3.078, 15: 3.472, 20: 3.735, 25: 3.931, 30: 4.086, 35: 4.213, 40: 4.322,
              45: 4.415, 50: 4.498}
    for n, xi in table1.items():
        sd = mean_sd_from_median(0.5, n=n, minimum=0, maximum=1).sd
        assert 1 / sd == pytest.approx(xi, rel=0.015)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(gaps=st.lists(st.floats(0.01, 50), min_size=4, max_size=4), start=finite,
       shift=finite, scale=st.floats(0.1, 10), n=st.integers(5, 2000),
       scenario=st.sampled_from(["S1", "S2", "S3"]), method=st.sampled_from(["luo_wan", "wan"]))
def test_mean_sd_location_scale_equivariance(gaps, start, shift, scale, n, scenario, method):
    q = np.cumsum([start, *gaps])  # min < q1 < median < q3 < max

    def kwargs(v):
        kw = dict(n=n, method=method, skew_test="ignore")
        if scenario in ("S2", "S3"):
            kw.update(q1=v[1], q3=v[3])
        if scenario in ("S1", "S3"):
            kw.update(minimum=v[0], maximum=v[4])
        return kw

    base = mean_sd_from_median(q[2], **kwargs(q))
    moved = mean_sd_from_median(scale * q[2] + shift, **kwargs(scale * q + shift))
    assert moved.mean == pytest.approx(scale * base.mean + shift, rel=1e-9, abs=1e-7)
    assert moved.sd == pytest.approx(scale * base.sd, rel=1e-9)
    lo, hi = (q[0], q[4]) if scenario != "S2" else (q[1], q[3])
    assert lo <= base.mean <= hi and base.sd > 0


@settings(max_examples=50, deadline=None)
@given(m=finite, half_iqr=st.floats(0.1, 10), extra=st.floats(0.1, 10), n=st.integers(5, 500))
def test_symmetric_quantiles_give_mean_equal_median(m, half_iqr, extra, n):
    res = mean_sd_from_median(m, n=n, q1=m - half_iqr, q3=m + half_iqr, minimum=m - half_iqr - extra,
                              maximum=m + half_iqr + extra, skew_test="ignore")
    assert res.mean == pytest.approx(m, abs=1e-9 * max(1, abs(m)))


def test_mean_sd_unpacks_and_reports():
    mean, sd = mean_sd_from_median(6, n=20, q1=4, q3=10)
    assert isinstance(mean, float) and isinstance(sd, float)
    res = mean_sd_from_median(6, n=20, q1=4, q3=10)
    assert res.method == "luo_wan" and res.scenario == "S2" and res.skewness.scenario == "S2"


def test_skewness_warning_and_raise():
    # metafor's help example row 3 with q3 = 14, max = 20: right-skewed (the test is significant)
    kw = dict(n=20, q1=4, q3=14, minimum=2, maximum=20)
    with pytest.warns(MgmetaWarning, match="skewed"):
        mean_sd_from_median(6, **kw)
    with pytest.raises(DataError, match=r"study 'X'.*skewed") as e:
        mean_sd_from_median(6, skew_test="raise", study="X", **kw)
    assert e.value.field == "median"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = mean_sd_from_median(6, skew_test="ignore", **kw)
    assert res.skewness.significant is True


def test_mean_sd_errors():
    with pytest.raises(DataError, match=r"q1 \(7\) exceeds median \(6\)"):
        mean_sd_from_median(6, n=20, q1=7, q3=10)
    with pytest.raises(DataError, match="minimum.*exceeds q1"):
        mean_sd_from_median(6, n=20, q1=4, q3=10, minimum=5, maximum=12)
    with pytest.raises(DataError, match="n >= 5"):
        mean_sd_from_median(6, n=4, q1=4, q3=10)
    with pytest.raises(DataError, match="whole number"):
        mean_sd_from_median(6, n=20.5, q1=4, q3=10)
    with pytest.raises(DataError, match="both q1 and q3"):
        mean_sd_from_median(6, n=20, q1=4)
    with pytest.raises(DataError, match="both minimum and maximum"):
        mean_sd_from_median(6, n=20, maximum=4)
    with pytest.raises(DataError, match="give the quartiles"):
        mean_sd_from_median(6, n=20)
    with pytest.raises(DataError, match="hozo"):
        mean_sd_from_median(6, n=20, q1=4, q3=10, method="hozo")
    with pytest.raises(DataError, match="unknown method"):
        mean_sd_from_median(6, n=20, q1=4, q3=10, method="bc")
    with pytest.raises(DataError, match="q1 equals q3, so the SD estimate would be 0"):
        mean_sd_from_median(0, n=35, q1=0, q3=0)  # e.g. a pain score of 0 (IQR 0-0)
    with pytest.raises(DataError, match="finite"):
        mean_sd_from_median(np.nan, n=20, q1=4, q3=10)
    with pytest.raises(DataError, match=r"study 'b', field 'vas'.*q1") as e:
        mean_sd_from_median([6, 6], n=20, q1=[4, 7], q3=10, study=["a", "b"], field="vas")
    assert e.value.study == "b" and e.value.field == "vas"


# ------------------------------------------------------------------------------------------------
# SDs and SEs from CIs, p-values, SEs
# ------------------------------------------------------------------------------------------------

Q = REF["quantiles"]["results"]


def test_sd_from_ci_against_r():
    r = Q["sd_from_ci"]
    lo, hi, n = np.array(r["lower"]), np.array(r["upper"]), np.array(r["n"])
    np.testing.assert_allclose(sd_from_ci(lo, hi, n), r["sd_t"], rtol=1e-10)
    np.testing.assert_allclose(sd_from_ci(lo, hi, n, dist="z"), r["sd_z"], rtol=1e-10)
    np.testing.assert_allclose(sd_from_ci(lo, hi, n, level=0.90), r["sd_t90"], rtol=1e-10)
    np.testing.assert_allclose(sd_from_ci(lo, hi, n, level=90), r["sd_t90"], rtol=1e-10)


def test_sd_from_ci_handbook_divisors():
    # Handbook 6.5.2.2: 95 % CI -> divide the width by 3.92 (normal) or 2 x 2.0639 = 4.128 (t, n = 25)
    assert sd_from_ci(0, 3.92, 100, dist="z") == pytest.approx(10 * 1.0, **TOL_PRINTED)
    assert sd_from_ci(0, 4.128, 25) == pytest.approx(5 * 1.0, **TOL_PRINTED)
    # 90 % and 99 %: 3.29 and 5.15 (normal)
    assert sd_from_ci(0, 3.29, 1, dist="z", level=0.90) == pytest.approx(1.0, abs=5e-4)
    assert sd_from_ci(0, 5.15, 1, dist="z", level=0.99) == pytest.approx(1.0, abs=5e-4)


def test_sd_from_ci_errors():
    with pytest.raises(DataError, match="must exceed lower"):
        sd_from_ci(3, 3, 25)
    with pytest.raises(DataError, match="n >= 2"):
        sd_from_ci(1, 3, 1)
    with pytest.raises(DataError, match="level"):
        sd_from_ci(1, 3, 10, level=1.5 * 100)
    with pytest.raises(DataError, match="unknown dist"):
        sd_from_ci(1, 3, 10, dist="normal")
    with pytest.raises(DataError, match=r"study 'Corbo 2001'.*upper") as e:
        sd_from_ci(5, 1, 20, study="Corbo 2001")
    assert e.value.field == "upper"


def test_se_from_ci_against_r():
    r = Q["se_from_ci_log"]
    lo, hi = np.array(r["lower"]), np.array(r["upper"])
    np.testing.assert_allclose(se_from_ci(lo, hi, log=True), r["se"], rtol=1e-10)
    np.testing.assert_allclose(se_from_ci(lo, hi, log=True, level=0.99), r["se99"], rtol=1e-10)
    # Corbo 2001: MD 16 (95 % CI -2 to 34); trials-tables.md derives SE = 36 / 3.92 = 9.18
    assert se_from_ci(-2, 34) == pytest.approx(9.18, abs=0.005)
    # t-based CI: width / (2 t_df)
    assert se_from_ci(-2, 34, dist="t", df=42) == pytest.approx(36 / (2 * 2.018082), rel=1e-6)


def test_se_from_ci_errors():
    with pytest.raises(DataError, match="positive"):
        se_from_ci(0, 2, log=True)
    with pytest.raises(DataError, match="must exceed lower"):
        se_from_ci(2, 1)
    with pytest.raises(DataError, match="needs df"):
        se_from_ci(1, 2, dist="t")
    with pytest.raises(DataError, match="df must be positive"):
        se_from_ci(1, 2, dist="t", df=0)


def test_se_from_pvalue_against_r():
    r = Q["se_from_pvalue"]
    for est, p, log, df, se_z, se_t in zip(r["estimate"], r["pvalue"], r["log"], r["df"], r["se_z"], r["se_t"]):
        assert se_from_pvalue(est, p, log=log) == pytest.approx(se_z, **TOL_VARIANCE)
        if df is not None:
            assert se_from_pvalue(est, p, log=log, dist="t", df=df) == pytest.approx(se_t, **TOL_VARIANCE)


def test_se_from_pvalue_against_conv_wald():
    r = REF["conv_wald"]["results"]["pvalue"]
    for est, p, log, vi in zip(r["out"], r["pval"], r["log"], r["vi"]):
        assert se_from_pvalue(est, p, log=log) ** 2 == pytest.approx(vi, **TOL_VARIANCE)


def test_se_from_pvalue_errors():
    for p in (0, 1, 1.2, -0.1):
        with pytest.raises(DataError, match="pvalue"):
            se_from_pvalue(1.5, p)
    with pytest.raises(DataError, match="null"):
        se_from_pvalue(0.0, 0.5)
    with pytest.raises(DataError, match="null"):
        se_from_pvalue(1.0, 0.5, log=True)
    with pytest.raises(DataError, match="positive"):
        se_from_pvalue(-0.5, 0.5, log=True)
    with pytest.raises(DataError, match="needs df"):
        se_from_pvalue(2.0, 0.5, dist="t")


def test_sd_from_se():
    # Handbook 6.5.2.2: SD = SE x sqrt(N)
    assert sd_from_se(0.5, 25) == 2.5
    np.testing.assert_allclose(sd_from_se([0.5, 2.0], [25, 100]), [2.5, 20.0])
    with pytest.raises(DataError, match="se must be positive"):
        sd_from_se(0, 25)
    with pytest.raises(DataError, match="n must be at least 1"):
        sd_from_se(1, 0)
    with pytest.raises(DataError, match="whole number"):
        sd_from_se(1, 2.5)


# ------------------------------------------------------------------------------------------------
# contrasts from CIs
# ------------------------------------------------------------------------------------------------

ESC = REF["escalc_contrasts"]["results"]


@pytest.mark.parametrize("measure", ["OR", "RR", "RD", "MD"])
def test_contrast_from_ci_inverts_escalc_wald_intervals(measure):
    # metafor 3.8 escalc() + summary(): yi, vi and ci.lb/ci.ub = yi -/+ qnorm(0.975) sqrt(vi)
    r = ESC[measure]
    yi, lb, ub = np.array(r["yi"]), np.array(r["ci_lb"]), np.array(r["ci_ub"])
    if measure in ("OR", "RR"):
        yi, lb, ub = np.exp(yi), np.exp(lb), np.exp(ub)
    res = contrast_from_ci(yi, lb, ub, measure=measure, study=r["label"])
    np.testing.assert_allclose(res.yi, r["yi"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.vi, r["vi"], rtol=1e-9)
    assert res.measure == measure


def test_contrast_from_ci_against_conv_wald():
    r = REF["conv_wald"]["results"]["ci"]
    for label, est, lb, ub, log, yi, vi in zip(r["label"], r["out"], r["ci.lb"], r["ci.ub"], r["log"],
                                               r["yi"], r["vi"]):
        measure = label.split()[0]
        res = contrast_from_ci(est, lb, ub, measure=measure)
        assert res.yi == pytest.approx(yi, **TOL_ESTIMATE)
        assert res.vi == pytest.approx(vi, **TOL_VARIANCE)


def test_contrast_from_ci_corbo_and_unpacking():
    yi, vi = contrast_from_ci(16, -2, 34, measure="MD")
    assert yi == 16.0 and vi == pytest.approx((36 / (2 * 1.959964)) ** 2, rel=1e-6)
    res = contrast_from_ci(16, -2, 34, measure="MD")
    assert res.se == pytest.approx(math.sqrt(vi))
    frame = contrast_from_ci([1.5, 0.8], [1.1, 0.5], [2.0, 1.3], measure="RR").to_frame()
    assert list(frame.columns) == ["yi", "vi", "se", "measure", "conversion"]
    assert len(frame) == 2


def test_contrast_from_ci_checks():
    with pytest.warns(MgmetaWarning, match="not near the middle"):
        contrast_from_ci(1.9, 1.1, 2.0, measure="OR", study="S")
    with pytest.raises(DataError, match="outside its CI"):
        contrast_from_ci(2.5, 1.1, 2.0, measure="OR")
    with pytest.raises(DataError, match="positive"):
        contrast_from_ci(1.5, -1.1, 2.0, measure="OR")
    with pytest.raises(DataError, match="unknown measure"):
        contrast_from_ci(1.5, 1.1, 2.0, measure="SMCC")
    with pytest.raises(DataError, match="must exceed lower"):
        contrast_from_ci(1.5, 1.5, 1.5, measure="MD")
    with pytest.raises(DataError, match=r"study 'b'"):
        contrast_from_ci([1, 5], [0, 0], [2, 3], measure="MD", study=["a", "b"])


# ------------------------------------------------------------------------------------------------
# multi-arm trials
# ------------------------------------------------------------------------------------------------

def test_combine_arms_handbook_formula_and_cete():
    # Handbook Table 6.5.a with Cete 2005 baseline VAS: MET 73 (25) n 37, Mg 70 (22) n 36
    n1, m1, s1, n2, m2, s2 = 37, 73.0, 25.0, 36, 70.0, 22.0
    n = n1 + n2
    mean = (n1 * m1 + n2 * m2) / n
    sd = math.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2 + n1 * n2 / n * (m1 ** 2 + m2 ** 2 - 2 * m1 * m2))
                   / (n - 1))
    arm = combine_arms(n1, m1, s1, n2, m2, s2)
    assert arm.n == 73 and isinstance(arm.n, int)
    assert arm.mean == pytest.approx(mean, rel=1e-14)
    assert arm.sd == pytest.approx(sd, rel=1e-14)
    nn, mm, ss = arm
    assert (nn, mm, ss) == (arm.n, arm.mean, arm.sd)


samples = st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=30)


def _summary(x):
    x = np.asarray(x, dtype=float)
    return len(x), float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else 0.0


@settings(max_examples=150, deadline=None)
@given(a=samples, b=samples, c=samples)
def test_combine_arms_equals_pooled_raw_data_and_is_associative(a, b, c):
    if len(a) + len(b) < 2:
        b = b + [0.0]
    ab = combine_arms(*_summary(a), *_summary(b))
    n, mean, sd = _summary(a + b)
    assert ab.n == n
    assert ab.mean == pytest.approx(mean, rel=1e-9, abs=1e-9)
    assert ab.sd == pytest.approx(sd, rel=1e-7, abs=1e-7)
    ba = combine_arms(*_summary(b), *_summary(a))
    assert ba.mean == pytest.approx(ab.mean, rel=1e-12, abs=1e-12) and ba.sd == pytest.approx(ab.sd, rel=1e-9, abs=1e-9)
    left = combine_arms(ab.n, ab.mean, ab.sd, *_summary(c))
    bc = combine_arms(*_summary(b), *_summary(c))
    right = combine_arms(*_summary(a), bc.n, bc.mean, bc.sd)
    assert left.n == right.n
    assert left.mean == pytest.approx(right.mean, rel=1e-9, abs=1e-9)
    assert left.sd == pytest.approx(right.sd, rel=1e-7, abs=1e-7)
    allv = combine_arms_all(*zip(_summary(a), _summary(b), _summary(c)))
    assert allv.mean == pytest.approx(left.mean, rel=1e-9, abs=1e-9)
    assert allv.sd == pytest.approx(left.sd, rel=1e-7, abs=1e-7)


def test_combine_arms_all_batches_and_errors():
    arm = combine_arms_all([[37, 36, 40], [10, 10, 10]], [[73, 70, 69], [1, 2, 3]], [[25, 22, 19], [1, 1, 1]])
    assert arm.n.tolist() == [113, 30]
    single = combine_arms_all([10], [5.0], [2.0])
    assert (single.n, single.mean, single.sd) == (10, 5.0, 2.0)
    assert len(arm.to_frame()) == 2
    with pytest.raises(DataError, match="at least one arm"):
        combine_arms_all([], [], [])
    with pytest.raises(DataError, match="n1 must be at least 1"):
        combine_arms(0, 1, 1, 10, 1, 1)
    with pytest.raises(DataError, match="sd2 must be non-negative"):
        combine_arms(10, 1, 1, 10, 1, -1)
    with pytest.raises(DataError, match="whole number"):
        combine_arms(10.5, 1, 1, 10, 1, 1)


def test_combine_events():
    # Cete 2005 rescue: MET 14/37 and Mg 16/36 combined (Handbook 23.3.4, option (ii))
    ev = combine_events(14, 37, 16, 36)
    assert (ev.events, ev.n) == (30, 73)
    e, n = combine_events([1, 2], [10, 10], [3, 4], [10, 12])
    assert e.tolist() == [4, 6] and n.tolist() == [20, 22]
    with pytest.raises(DataError, match=r"events2 \(11\) exceed arm size n2 \(10\)"):
        combine_events(1, 10, 11, 10)
    with pytest.raises(DataError, match="negative"):
        combine_events(-1, 10, 1, 10)
    with pytest.raises(DataError, match="whole number"):
        combine_events(1.5, 10, 1, 10)


def test_split_shared_control():
    # Cete 2005 placebo (26/40) shared by the Mg and MET comparisons (Handbook 23.3.4)
    s = split_shared_control(40, 26, parts=2)
    assert s.n.tolist() == [20, 20] and s.events.tolist() == [13, 13]
    # uneven: remainders go to the first parts
    s = split_shared_control(41, 26, parts=3)
    assert s.n.tolist() == [14, 14, 13] and s.events.tolist() == [9, 9, 8]
    s = split_shared_control(40, mean=69.0, sd=19.0, parts=2)
    assert s.n.tolist() == [20, 20] and s.events is None and (s.mean, s.sd) == (69.0, 19.0)
    frame = s.to_frame()
    assert list(frame.columns) == ["part", "n", "events", "mean", "sd", "conversion"]
    with pytest.raises(DataError, match="parts"):
        split_shared_control(40, 26, parts=1)
    with pytest.raises(DataError, match="cannot split n = 3 into 4"):
        split_shared_control(3, 1, parts=4)
    with pytest.raises(DataError, match=r"events \(41\) exceed arm size \(40\)"):
        split_shared_control(40, 41, parts=2)
    with pytest.raises(DataError, match="not both"):
        split_shared_control(40, 26, parts=2, mean=1.0, sd=1.0)
    with pytest.raises(DataError, match="both mean and sd"):
        split_shared_control(40, parts=2, mean=1.0)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 500), data=st.data())
def test_split_shared_control_properties(n, data):
    parts = data.draw(st.integers(2, min(n, 8)))
    events = data.draw(st.integers(0, n))
    s = split_shared_control(n, events, parts=parts)
    assert s.n.sum() == n and s.events.sum() == events
    assert np.all(s.events <= s.n) and np.all(s.n >= 1)
    assert s.n.max() - s.n.min() <= 1 and s.events.max() - s.events.min() <= 1


# ------------------------------------------------------------------------------------------------
# crossover trials
# ------------------------------------------------------------------------------------------------

def test_crossover_handbook_example():
    # Cochrane Handbook 23.2.7 example (16.4.6.4 in version 5.1): ME 7.0 (SD 2.38), MC 6.5 (SD 2.21), n 10
    res = crossover_md(7.0, 2.38, 6.5, 2.21, 10, corr=0.68)
    assert res.yi == pytest.approx(0.5)
    assert res.se == pytest.approx(0.583, **TOL_PRINTED)          # "0.583" with Corr = 0.68
    res = crossover_md(7.0, 2.38, 6.5, 2.21, 10, sd_diff=2.0)
    assert res.se == pytest.approx(0.632, **TOL_PRINTED)          # "0.632" with SDdiff = 2
    assert res.corr == pytest.approx(crossover_corr(2.38, 2.21, 2.0))
    assert res.conversion == "crossover_md_paired"
    yi, vi = res
    assert vi == pytest.approx(res.se ** 2)


def test_crossover_parallel_is_conservative_and_equals_zero_correlation():
    # Karimi 2021 (trials-tables.md): attacks/month Mg 1.72 (1.18) vs valproate 1.27 (1.27), 63 analysed
    par = crossover_md_parallel(1.72, 1.18, 1.27, 1.27, 63)
    zero = crossover_md(1.72, 1.18, 1.27, 1.27, 63, corr=0.0)
    assert par.se == pytest.approx(zero.se, rel=1e-14)
    assert par.se == pytest.approx(math.sqrt(1.18 ** 2 / 63 + 1.27 ** 2 / 63), rel=1e-14)
    assert par.conversion == "crossover_md_parallel" and par.corr == 0.0
    for r in (0.1, 0.5, 0.9):
        assert crossover_md(1.72, 1.18, 1.27, 1.27, 63, corr=r).se < par.se
    frame = crossover_md([1.72, 2.09], [1.18, 1.70], [1.27, 2.22], [1.27, 1.96], 63, corr=0.5).to_frame()
    assert list(frame.columns) == ["yi", "vi", "se", "sd_diff", "corr", "n", "conversion"]


@settings(max_examples=100, deadline=None)
@given(st_=st.floats(0.1, 50), sc=st.floats(0.1, 50), r=st.floats(-0.99, 0.99), n=st.integers(2, 500))
def test_crossover_corr_round_trip(st_, sc, r, n):
    res = crossover_md(1.0, st_, 0.0, sc, n, corr=r)
    assert crossover_corr(st_, sc, res.sd_diff) == pytest.approx(r, abs=1e-7)
    back = crossover_md(1.0, st_, 0.0, sc, n, sd_diff=res.sd_diff)
    assert back.se == pytest.approx(res.se, rel=1e-9)


def test_crossover_errors():
    with pytest.raises(DataError, match="exactly one"):
        crossover_md(1, 1, 0, 1, 10)
    with pytest.raises(DataError, match="exactly one"):
        crossover_md(1, 1, 0, 1, 10, corr=0.5, sd_diff=1)
    with pytest.raises(DataError, match=r"corr must lie in \[-1, 1\]"):
        crossover_md(1, 1, 0, 1, 10, corr=1.5)
    with pytest.raises(DataError, match="SE would be 0"):
        crossover_md(1, 2, 0, 2, 10, corr=1.0)
    with pytest.raises(DataError, match="impossible"):
        crossover_md(1, 1, 0, 1, 10, sd_diff=3)
    with pytest.raises(DataError, match="at least 2"):
        crossover_md(1, 1, 0, 1, 1, corr=0.5)
    with pytest.raises(DataError, match=r"study 'Karimi 2021'.*sd_t") as e:
        crossover_md_parallel(1, -1, 0, 1, 10, study="Karimi 2021")
    assert e.value.field == "sd_t"
    with pytest.raises(DataError, match="outside"):
        crossover_corr(1, 1, 3)
    with pytest.raises(DataError, match="positive"):
        crossover_corr(0, 1, 1)


def test_inputs_are_never_modified():
    lo, hi, n = np.array([1.0, 2.0]), np.array([3.0, 4.0]), pd.Series([20, 30])
    sd_from_ci(lo, hi, n)
    se_from_ci(lo, hi, log=True)
    contrast_from_ci(np.sqrt(lo * hi), lo, hi, measure="OR")
    assert lo.tolist() == [1.0, 2.0] and hi.tolist() == [3.0, 4.0] and n.tolist() == [20, 30]
