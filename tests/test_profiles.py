"""Software-convention profiles (issue 8): the table, RevMan-style random effects, every profile's numbers.

Independent computations: the formulas are written out again here in plain numpy (not through mgmeta's
engine), RevMan 5's own output for the Fleiss (1993) aspirin data (the RevMan 5.0.23 file shipped with R
meta as Fleiss1993.rm5), and R (tests/reference/profiles.R -> profiles.json, base R and metafor only).
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mgmeta
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.profiles import (
    NUMERIC_SETTINGS,
    PROFILE_NAMES,
    SETTINGS,
    Profile,
    apply_profile,
    get_profile,
    profiles,
    study_effects,
)
from conftest import load_reference

pytestmark = pytest.mark.filterwarnings("ignore::mgmeta.errors.MgmetaWarning")

TOL = 1e-9  # closed forms, computed two ways in double precision

BCG = dict(
    ai=[4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    bi=[119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    ci=[11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    di=[128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
)
# Hand-made 2x2 tables: A double zero, B ordinary, C zero events in group 1, D zero events in group 2,
# E ordinary, F all events in both groups, G ordinary.
HAND = dict(ai=[0, 12, 0, 7, 20, 10, 5], bi=[20, 28, 15, 8, 30, 0, 25],
            ci=[0, 20, 4, 0, 25, 9, 9], di=[22, 21, 11, 15, 26, 0, 22],
            labels=["A", "B", "C", "D", "E", "F", "G"])
# Fleiss (1993), aspirin after myocardial infarction, as in RevMan 5.0.23's file (R meta, Fleiss1993.rm5).
FLEISS = dict(ai=[49, 44, 102, 32, 85, 246, 1570], n1i=[615, 758, 832, 317, 810, 2267, 8587],
              ci=[67, 64, 126, 38, 52, 219, 1720], n2i=[624, 771, 850, 309, 406, 2257, 8600],
              labels=["MRC-1", "CDP", "MRC-2", "GASP", "PARIS", "AMIS", "ISIS-2"])
NORMAND = dict(  # dat.normand1999 (metadat), length of hospital stay
    m1i=[55, 27, 64, 66, 14, 19, 52, 21, 30], sd1i=[47, 7, 17, 20, 8, 7, 45, 16, 27],
    n1i=[155, 31, 75, 18, 8, 57, 34, 110, 60], m2i=[75, 29, 119, 137, 18, 18, 41, 31, 23],
    sd2i=[64, 4, 29, 48, 11, 4, 21, 23, 20], n2i=[156, 32, 71, 18, 13, 52, 33, 183, 52])


def bcg(measure="RR"):
    return mgmeta.effect_sizes(measure, **BCG)


def hand(measure):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        return mgmeta.effect_sizes(measure, **HAND)


# --------------------------------------------------------------------------
# independent formulas
# --------------------------------------------------------------------------

def mh_or(a, b, c, d):
    N = a + b + c + d
    R, S = a * d / N, b * c / N
    P, Q = (a + d) / N, (b + c) / N
    var = ((P * R).sum() / (2 * R.sum() ** 2) + (P * S + Q * R).sum() / (2 * R.sum() * S.sum())
           + (Q * S).sum() / (2 * S.sum() ** 2))
    return math.log(R.sum() / S.sum()), math.sqrt(var)


def mh_rr(a, b, c, d):
    n1, n2 = a + b, c + d
    N = n1 + n2
    R, S = a * n2 / N, c * n1 / N
    var = (n1 * n2 * (a + c) / N ** 2 - a * c / N).sum() / (R.sum() * S.sum())
    return math.log(R.sum() / S.sum()), math.sqrt(var)


def dl_iv(y, v, q):
    """tau² = max(0, (Q - df)/C), then the inverse-variance random-effects mean, se and typical variance."""
    w = 1 / v
    k = len(y)
    C = w.sum() - (w ** 2).sum() / w.sum()
    t2 = max(0.0, (q - (k - 1)) / C)
    ws = 1 / (v + t2)
    mu = (ws * y).sum() / ws.sum()
    return t2, mu, math.sqrt(1 / ws.sum()), (k - 1) / C


def arrays(d):
    return [np.asarray(d[n], float) for n in ("ai", "bi", "ci", "di")]


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------

def test_every_profile_documents_every_setting_with_a_source():
    tab = profiles()
    assert list(tab.columns) == ["profile", "software", "setting", "value", "meaning", "source"]
    assert set(tab["profile"]) == set(PROFILE_NAMES)
    for name in PROFILE_NAMES:
        sub = tab[tab["profile"] == name]
        assert set(sub["setting"]) == set(SETTINGS) - {"software"}
        assert sub["source"].str.strip().str.len().min() > 20
        # every source names a manual page, handbook section, release note or paper (an address or a DOI)
        assert sub["source"].str.contains("http|doi:|Stata Tech Bull").all(), name
        p = get_profile(name)
        assert all(p.source(s) for s in SETTINGS)


def test_wide_table_and_the_conventions_the_issue_names():
    w = profiles(wide=True)
    assert list(w.columns) == list(PROFILE_NAMES)
    assert w.loc["tau2_method"].tolist() == ["DL", "REML", "REML", "REML", "DL"]
    assert w.loc["mh_q", "revman5"] == "mh" and w.loc["mh_q", "stata_metan"] == "mh"
    assert w.loc["double_zero", "revman5"] == "drop" and w.loc["cc_in_mh", "revman5"] == "true"
    assert w.loc["i2_method", "revman5"] == "q" and w.loc["i2_method", "revman_web_2025"] == "tau2"
    assert w.loc["smd", "revman5"] == "hedges_approx" and w.loc["smd", "metafor"] == "hedges_exact_ls"
    assert w.loc["pi_method"].tolist() == ["none", "t_k1", "ci", "t_k1", "t_k2"]
    assert w.loc["ci_method", "revman_web_2025"] == "hksj"
    assert w.loc["mh_rd_variance", "revman5"] == "gr" and w.loc["mh_rd_variance", "metafor"] == "sgr"


def test_get_profile_and_with_settings():
    p = get_profile("revman5")
    assert get_profile(p) is p
    q = p.with_settings(tau2_method="REML")
    assert q.name == "revman5+tau2_method=REML" and "REML" in q.tau2_methods
    assert q.with_settings(cc_in_mh="false").cc_in_mh is False
    assert p.with_settings(cc_add=0.25).cc_add == 0.25
    with pytest.raises(DataError, match="unknown profile"):
        get_profile("revman6")
    with pytest.raises(DataError):
        p.with_settings(ci_method="bootstrap")
    with pytest.raises(DataError):
        p.with_settings(colour="red")
    with pytest.raises(DataError):
        p.value("colour")
    assert dataclasses.replace(p, sources=()) == p  # sources do not take part in ==


def test_unknown_profile_through_meta_analysis():
    with pytest.raises(DataError, match="unknown profile"):
        mgmeta.meta_analysis(bcg(), profile="revman6")


# --------------------------------------------------------------------------
# RevMan 5: random effects for binary data with tau² from the Mantel-Haenszel Q
# --------------------------------------------------------------------------

@pytest.mark.parametrize("measure", ["RR", "OR"])
def test_revman5_random_effects_bcg(measure):
    es = bcg(measure)
    res = mgmeta.meta_analysis(es, method="DL", profile="revman5")
    assert isinstance(res, mgmeta.MetaAnalysisResult)
    assert res.profile == "revman5" and res.method == "DL" and res.test == "z"
    a, b, c, d = arrays(BCG)
    y, v = es["yi"].to_numpy(), es["vi"].to_numpy()
    mu_mh, _ = (mh_rr if measure == "RR" else mh_or)(a, b, c, d)
    q_mh = float(np.sum((y - mu_mh) ** 2 / v))
    t2, mu, se, _ = dl_iv(y, v, q_mh)
    z = stats.norm.isf(0.025)
    assert res.q == pytest.approx(q_mh, rel=TOL)
    assert res.tau2 == pytest.approx(t2, rel=TOL)
    assert res.estimate == pytest.approx(mu, rel=TOL)
    assert res.se == pytest.approx(se, rel=TOL)
    assert res.ci_lower == pytest.approx(mu - z * se, rel=TOL)
    assert res.ci_upper == pytest.approx(mu + z * se, rel=TOL)
    assert res.pvalue == pytest.approx(2 * stats.norm.sf(abs(mu / se)), rel=1e-7)
    assert res.i2 == pytest.approx(100 * (q_mh - 12) / q_mh, rel=TOL)
    assert res.h2 == pytest.approx(q_mh / 12, rel=TOL)
    assert res.q_pvalue == pytest.approx(stats.chi2.sf(q_mh, 12), rel=1e-7, abs=1e-300)
    assert res.pi_lower is None and res.pi_upper is None
    w = 1 / (v + t2)
    np.testing.assert_allclose(res.weights, 100 * w / w.sum(), rtol=TOL)
    assert res.k == 13 and res.labels == tuple(str(i) for i in range(1, 14))


def test_revman5_bcg_numbers_of_the_issue():
    """Issue 8 acceptance: DL tau² from the MH-based Q is 0.3095 (Q_MH 152.5676); the IV Q gives 0.3088."""
    res = mgmeta.meta_analysis(bcg("RR"), method="DL", profile="revman5")
    assert round(res.q, 4) == 152.5676
    assert round(res.tau2, 4) == 0.3095
    core = mgmeta.meta_analysis(bcg("RR"), method="DL")
    assert round(core.tau2, 4) == 0.3088
    assert res.tau2 > core.tau2


def test_revman5_fixed_effect_reproduces_revman_output_fleiss1993():
    """RevMan 5.0.23's numbers for 'Aspirin for Preventing Death after Myocardial Infarction' (MH OR, fixed)."""
    es = mgmeta.effect_sizes("OR", **FLEISS)
    res = mgmeta.meta_analysis(es, method="FE", profile="revman5")
    # DICH_OUTCOME attributes of the RevMan 5 file
    assert math.exp(res.estimate) == pytest.approx(0.8968655609130709, rel=1e-12)
    assert math.exp(res.ci_lower) == pytest.approx(0.8405144008917793, rel=1e-12)
    assert math.exp(res.ci_upper) == pytest.approx(0.9569947088336491, rel=1e-12)
    assert res.q == pytest.approx(9.946055983220074, rel=1e-12)       # CHI2
    # P_CHI2: RevMan 5 evaluates the chi-square tail less precisely (agrees to 6e-7)
    assert res.q_pvalue == pytest.approx(0.1269422521561745, rel=1e-5)
    assert res.i2 == pytest.approx(39.67458045558399, rel=1e-12)       # I2
    assert abs(res.statistic) == pytest.approx(3.287633061337987, rel=1e-12)  # Z
    assert res.pvalue == pytest.approx(0.0010103343130005407, rel=1e-10)  # P_Z
    # DICH_DATA WEIGHT attributes
    np.testing.assert_allclose(res.weights, [3.176490004091248, 3.1016891143394365, 5.675380442715663,
                                             1.795484618258711, 3.2176243566716805, 10.153491219997628,
                                             72.87984024392564], rtol=1e-12)
    assert res.tau2 == 0 and res.pi_lower is None and res.se_tau2 is None


def test_revman5_fixed_effect_md_reproduces_revman_output():
    """RevMan 5 export of Fleiss (1993) 'Mental Health Treatment versus Control' (MD, IV, fixed)."""
    es = mgmeta.effect_sizes("MD", m1i=[5.0, 4.9, 22.5, 12.5, 6.5], sd1i=[4.7, 1.71, 3.44, 1.47, 0.76],
                             n1i=[13, 30, 35, 20, 8], m2i=[6.5, 6.1, 24.9, 12.3, 7.38],
                             sd2i=[3.8, 2.3, 10.65, 1.66, 1.41], n2i=[13, 50, 35, 20, 8])
    res = mgmeta.meta_analysis(es, method="FE", profile="revman5")
    assert res.estimate == pytest.approx(-0.70938839, abs=5e-9)
    assert res.ci_lower == pytest.approx(-1.25848502, abs=5e-9)
    assert res.ci_upper == pytest.approx(-0.16029176, abs=5e-9)
    assert res.q == pytest.approx(5.66012379, abs=5e-9)
    assert res.i2 == pytest.approx(29.33016758, abs=5e-9)
    np.testing.assert_allclose(res.weights, [2.79315513, 38.61251498, 2.19316111, 31.92826572, 24.47290305],
                               atol=5e-9)


def test_revman5_fixed_mh_with_zero_cells_adds_the_correction_inside_the_estimate():
    res = mgmeta.meta_analysis(hand("OR"), method="FE", profile="revman5")
    a, b, c, d = arrays(HAND)
    keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))  # A and F dropped
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    inc = np.where((a == 0) | (b == 0) | (c == 0) | (d == 0), 0.5, 0.0)
    mu, se = mh_or(a + inc, b + inc, c + inc, d + inc)
    assert res.k == 5 and res.labels == ("B", "C", "D", "E", "G")
    assert res.estimate == pytest.approx(mu, rel=TOL)
    assert res.se == pytest.approx(se, rel=TOL)
    A, B, C, D = a + inc, b + inc, c + inc, d + inc
    y = np.log(A * D / (B * C))
    v = 1 / A + 1 / B + 1 / C + 1 / D
    np.testing.assert_allclose(res.yi, y, rtol=TOL)
    q = float(np.sum((y - mu) ** 2 / v))
    assert res.q == pytest.approx(q, rel=TOL)
    # metafor's rma.mh pools the raw counts: a different estimate
    raw = mgmeta.mantel_haenszel(**{k: v for k, v in HAND.items()}, measure="OR")
    assert abs(raw.estimate - res.estimate) > 1e-4


def test_revman5_random_effects_with_zero_cells_rr():
    res = mgmeta.meta_analysis(hand("RR"), method="DL", profile="revman5")
    a, b, c, d = arrays(HAND)
    keep = ~((a == 0) & (c == 0))  # RR: only the double zero A is dropped (F has a ratio of 1)
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    inc = np.where((a == 0) | (b == 0) | (c == 0) | (d == 0), 0.5, 0.0)
    A, B, C, D = a + inc, b + inc, c + inc, d + inc
    y = np.log(A / (A + B)) - np.log(C / (C + D))
    v = 1 / A - 1 / (A + B) + 1 / C - 1 / (C + D)
    mu_mh, _ = mh_rr(A, B, C, D)
    q = float(np.sum((y - mu_mh) ** 2 / v))
    t2, mu, se, _ = dl_iv(y, v, q)
    assert res.k == 6
    assert res.q == pytest.approx(q, rel=TOL) and res.tau2 == pytest.approx(t2, rel=TOL, abs=1e-15)
    assert res.estimate == pytest.approx(mu, rel=TOL) and res.se == pytest.approx(se, rel=TOL)


def test_meta_rr_correction_adds_to_events_and_n_only():
    fr = study_effects("RR", "meta", ai=[3, 10], bi=[17, 0], ci=[0, 9], di=[30, 0])
    # study 1: zero cell -> (3.5/20.5) / (0.5/30.5); study 2: all events in both arms, no event correction in var
    assert fr.yi[0] == pytest.approx(math.log(3.5 / 20.5) - math.log(0.5 / 30.5), rel=1e-14)
    assert fr.vi[0] == pytest.approx(1 / 3.5 - 1 / 20.5 + 1 / 0.5 - 1 / 30.5, rel=1e-14)
    assert fr.yi[1] == pytest.approx(math.log(10.5 / 10.5) - math.log(9.5 / 9.5), abs=1e-15)
    assert fr.vi[1] == pytest.approx(1 / 10 - 1 / 10.5 + 1 / 9 - 1 / 9.5, rel=1e-14)
    r5 = study_effects("RR", "revman5", ai=[3], bi=[17], ci=[0], di=[30])
    assert r5.yi[0] == pytest.approx(math.log(3.5 / 21) - math.log(0.5 / 31), rel=1e-14)


def test_rd_conventions_and_double_zero_kept_for_rd():
    fr = study_effects("RD", "revman5", ai=[0, 3], bi=[10, 7], ci=[0, 0], di=[12, 10])
    assert fr.keep.all()  # RD keeps double-zero studies
    assert fr.yi[0] == 0.0 and fr.yi[1] == pytest.approx(0.3, rel=1e-14)  # raw risk difference
    assert fr.vi[1] == pytest.approx(3.5 * 7.5 / 11 ** 3 + 0.5 * 10.5 / 11 ** 3, rel=1e-14)
    mf = study_effects("RD", "metafor", ai=[3], bi=[7], ci=[0], di=[10])
    assert mf.yi[0] == pytest.approx(3.5 / 11 - 0.5 / 11, rel=1e-14)  # metafor: corrected proportions


def test_rd_mantel_haenszel_greenland_robins_variance():
    d = dict(ai=[5, 12, 0], bi=[45, 38, 30], ci=[10, 15, 2], di=[40, 35, 28])
    res = mgmeta.meta_analysis(mgmeta.effect_sizes("RD", **d), method="FE", profile="revman5")
    a, b, c, dd = arrays(d)
    inc = np.where((a == 0) | (b == 0) | (c == 0) | (dd == 0), 0.5, 0.0)
    A, B, C, D = a + inc, b + inc, c + inc, dd + inc
    n1, n2 = A + B, C + D
    N = n1 + n2
    w = n1 * n2 / N
    rd = np.sum(w * (a / (a + b) - c / (c + dd))) / w.sum()
    var = np.sum((A * B * n2 ** 3 + C * D * n1 ** 3) / (n1 * n2 * N ** 2)) / w.sum() ** 2
    assert res.estimate == pytest.approx(rd, rel=TOL)
    assert res.se == pytest.approx(math.sqrt(var), rel=TOL)


# --------------------------------------------------------------------------
# SMD formulas
# --------------------------------------------------------------------------

def test_smd_revman_approximation_and_meta_exact_variance():
    es = mgmeta.effect_sizes("SMD", **NORMAND)
    n1, n2 = np.asarray(NORMAND["n1i"], float), np.asarray(NORMAND["n2i"], float)
    m1, m2 = np.asarray(NORMAND["m1i"], float), np.asarray(NORMAND["m2i"], float)
    s1, s2 = np.asarray(NORMAND["sd1i"], float), np.asarray(NORMAND["sd2i"], float)
    N = n1 + n2
    sp = np.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / (N - 2))
    g = (m1 - m2) / sp * (1 - 3 / (4 * N - 9))
    v = N / (n1 * n2) + g ** 2 / (2 * (N - 3.94))
    res = mgmeta.meta_analysis(es, method="DL", profile="revman5")
    np.testing.assert_allclose(res.yi, g, rtol=TOL)
    np.testing.assert_allclose(res.vi, v, rtol=TOL)
    w = 1 / v
    q = float(np.sum(w * (g - np.sum(w * g) / w.sum()) ** 2))
    t2, mu, se, _ = dl_iv(g, v, q)
    assert res.estimate == pytest.approx(mu, rel=TOL) and res.tau2 == pytest.approx(t2, rel=TOL)
    assert res.q == pytest.approx(q, rel=TOL)
    # R meta (exact.smd = TRUE): exact correction, unbiased variance
    from scipy.special import gammaln
    m = N - 2
    J = np.exp(gammaln(m / 2) - 0.5 * np.log(m / 2) - gammaln((m - 1) / 2))
    ge = J * (m1 - m2) / sp
    ve = 1 / n1 + 1 / n2 + ge ** 2 * (1 - (m - 2) / (m * J ** 2))
    rm = mgmeta.meta_analysis(es, method="DL", profile="meta")
    np.testing.assert_allclose(rm.yi, ge, rtol=TOL)
    np.testing.assert_allclose(rm.vi, ve, rtol=TOL)
    # metafor: the frame's own values
    np.testing.assert_allclose(mgmeta.meta_analysis(es, profile="metafor").yi, es["yi"], rtol=0)


# --------------------------------------------------------------------------
# the other profiles
# --------------------------------------------------------------------------

def test_revman_web_2025_reml_hksj_t_prediction_i2_from_tau2():
    es = bcg("OR")
    res = mgmeta.meta_analysis(es, profile="revman_web_2025")  # REML is the default estimator
    core = mgmeta.meta_analysis(es, method="REML")
    knha = mgmeta.meta_analysis(es, method="REML", test="knha")
    k = 13
    assert res.tau2 == pytest.approx(core.tau2, rel=1e-12)
    assert res.estimate == pytest.approx(core.estimate, rel=1e-12)
    assert res.test == "knha" and res.df == k - 1
    assert res.se == pytest.approx(knha.se, rel=1e-12)
    assert res.ci_lower == pytest.approx(knha.ci_lower, rel=1e-12)
    assert res.pvalue == pytest.approx(knha.pvalue, rel=1e-10)
    assert res.i2 == pytest.approx(core.i2, rel=1e-12)  # I² from tau²
    half = stats.t.isf(0.025, k - 1) * math.sqrt(core.se ** 2 + core.tau2)
    assert res.pi_lower == pytest.approx(core.estimate - half, rel=1e-12)
    assert res.pi_upper == pytest.approx(core.estimate + half, rel=1e-12)
    # MH data: the reported Q is the Q around the MH estimate
    a, b, c, d = arrays(BCG)
    mu_mh, _ = mh_or(a, b, c, d)
    assert res.q == pytest.approx(float(np.sum((es.yi - mu_mh) ** 2 / es.vi)), rel=TOL)
    assert res.se_tau2 == pytest.approx(core.se_tau2, rel=1e-10)


def test_meta_profile_q_cochrane_only_with_dl():
    es = bcg("RR")
    reml = mgmeta.meta_analysis(es, profile="meta")
    core = mgmeta.meta_analysis(es, method="REML")
    assert reml.q == pytest.approx(core.q, rel=1e-12)  # IV Q with REML
    assert reml.i2 == pytest.approx(100 * (core.q - 12) / core.q, rel=1e-12)  # I² from Q
    assert reml.tau2 == pytest.approx(core.tau2, rel=1e-12)
    half = stats.t.isf(0.025, 12) * math.sqrt(core.se ** 2 + core.tau2)
    assert reml.pi_upper == pytest.approx(core.estimate + half, rel=1e-12)
    dl = mgmeta.meta_analysis(es, method="DL", profile="meta")
    r5 = mgmeta.meta_analysis(es, method="DL", profile="revman5")
    assert dl.q == pytest.approx(r5.q, rel=1e-12) and dl.tau2 == pytest.approx(r5.tau2, rel=1e-12)
    assert r5.pi_lower is None and dl.pi_lower is not None


def test_stata_metan_prediction_interval_on_k_minus_2_df():
    es = bcg("RR")
    st = mgmeta.meta_analysis(es, method="DL", profile="stata_metan")
    r5 = mgmeta.meta_analysis(es, method="DL", profile="revman5")
    for f in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "q", "i2", "h2"):
        assert getattr(st, f) == pytest.approx(getattr(r5, f), rel=1e-14)
    half = stats.t.isf(0.025, 11) * math.sqrt(st.se ** 2 + st.tau2)
    assert st.pi_lower == pytest.approx(st.estimate - half, rel=1e-12)


def test_ad_hoc_hksj_never_narrower_than_wald():
    # homogeneous data: HKSJ factor q < 1, so the ad hoc version falls back to the Wald variance
    y = np.array([0.10, 0.12, 0.11, 0.09, 0.105])
    v = np.array([0.01, 0.02, 0.015, 0.012, 0.03])
    adhoc = get_profile("meta").with_settings(ci_method="hksj_adhoc")
    res = apply_profile(adhoc, y, v, method="DL")
    z = mgmeta.meta_analysis(y, v, method="DL")
    k = mgmeta.meta_analysis(y, v, method="DL", test="knha")
    assert k.s2w < 1
    assert res.se == pytest.approx(z.se, rel=1e-12) and res.s2w == 1.0
    assert res.ci_upper - res.ci_lower == pytest.approx(2 * stats.t.isf(0.025, 4) * z.se, rel=1e-12)
    assert res.profile == "meta+ci_method=hksj_adhoc"


def test_metafor_profile_is_bit_for_bit_the_core_engine():
    for measure in ("RR", "OR"):
        es = bcg(measure)
        for method in ("REML", "DL", "EE", "PM"):
            for test in ("z", "knha"):
                a = mgmeta.meta_analysis(es, method=method, test=test)
                b = mgmeta.meta_analysis(es, method=method, test=test, profile="metafor")
                for f in dataclasses.fields(a):
                    x, y = getattr(a, f.name), getattr(b, f.name)
                    if isinstance(x, np.ndarray):
                        assert np.array_equal(x, y), f.name
                    elif isinstance(x, pd.DataFrame):
                        pd.testing.assert_frame_equal(x, y)
                    else:
                        assert x == y or (x != x and y != y), f.name
    a = mgmeta.meta_analysis([0.1, 0.3, -0.2], [0.01, 0.02, 0.03])
    b = apply_profile("metafor", [0.1, 0.3, -0.2], [0.01, 0.02, 0.03])
    assert a.estimate == b.estimate and a.tau2 == b.tau2 and a.ci_lower == b.ci_lower


def test_the_metafor_profile_object_through_the_profile_engine_matches_the_core():
    """The engine, given metafor's conventions, reproduces the core (so one-at-a-time diffs start from it)."""
    for es in (bcg("RR"), hand("OR"), mgmeta.effect_sizes("SMD", **NORMAND)):
        for method in ("REML", "DL", "FE"):
            a = mgmeta.meta_analysis(es, method=method)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MgmetaWarning)
                b = apply_profile(get_profile("metafor"), es, method=method)
            for f in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "q_pvalue", "k"):
                assert getattr(b, f) == pytest.approx(getattr(a, f), rel=1e-12, abs=1e-14), (method, f)
            if a.pi_lower is not None:
                assert b.pi_lower == pytest.approx(a.pi_lower, rel=1e-12)


def test_generic_effect_sizes_use_inverse_variance_with_the_profile_conventions():
    y, v = [0.2, -0.1, 0.5, 0.35], [0.04, 0.09, 0.05, 0.02]
    res = mgmeta.meta_analysis(y, v, method="DL", profile="revman5", labels=list("abcd"))
    core = mgmeta.meta_analysis(y, v, method="DL")
    assert res.estimate == pytest.approx(core.estimate, rel=1e-13) and res.tau2 == pytest.approx(core.tau2)
    assert res.q == pytest.approx(core.q) and res.pi_lower is None and res.labels == tuple("abcd")
    res2 = mgmeta.meta_analysis(y, sei=np.sqrt(v), method="DL", profile="revman5")
    assert res2.estimate == pytest.approx(res.estimate, rel=1e-13)


# --------------------------------------------------------------------------
# choices the program does not offer; edge cases
# --------------------------------------------------------------------------

def test_estimator_or_interval_not_offered_warns_and_uses_the_profile():
    es = bcg("RR")
    with pytest.warns(MgmetaWarning, match="offers the tau"):
        res = mgmeta.meta_analysis(es, method="REML", profile="revman5")
    ref = mgmeta.meta_analysis(es, method="DL", profile="revman5")
    # the fit names the estimator it used (issue 13: the header and .method said REML)
    assert res.tau2 == ref.tau2 and res.method == "DL"
    assert "tau^2 estimator: DL" in str(res)
    with pytest.warns(MgmetaWarning, match="no Hartung-Knapp"):
        r = mgmeta.meta_analysis(es, method="DL", test="knha", profile="revman5")
    assert r.test == "z"
    m = mgmeta.meta_analysis(es, method="DL", test="knha", profile="meta")
    assert m.test == "knha" and m.df == 12


def test_one_study_and_fixed_tau2():
    es = mgmeta.effect_sizes("OR", ai=[4], bi=[119], ci=[11], di=[128])
    with pytest.warns(MgmetaWarning, match="only one study"):
        res = mgmeta.meta_analysis(es, method="DL", profile="revman_web_2025")
    assert res.k == 1 and res.tau2 == 0 and res.test == "z" and res.pi_lower is None
    assert res.i2 == 0 and res.h2 == 1 and res.q == 0
    fixed = mgmeta.meta_analysis(bcg(), method="DL", profile="revman5", tau2=0.2)
    assert fixed.tau2 == 0.2 and fixed.se_tau2 is None


def test_errors_name_the_study():
    es = mgmeta.effect_sizes("OR", ai=[0, 5], bi=[10, 5], ci=[3, 4], di=[7, 6], labels=["X", "Y"])
    none = get_profile("revman5").with_settings(cc_to="none")
    with pytest.raises(DataError, match="study 'X'"):
        apply_profile(none, es, method="DL")
    dz = mgmeta.effect_sizes("OR", ai=[0, 0], bi=[10, 5], ci=[0, 0], di=[7, 6], drop00=True)
    with pytest.raises(DataError, match="no study is left"):
        mgmeta.meta_analysis(dz, method="DL", profile="revman5")
    with pytest.raises(DataError):
        mgmeta.meta_analysis(bcg(), method="XX", profile="revman5")


def test_inputs_are_not_modified():
    es = hand("OR")
    before = es.copy(deep=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        for p in PROFILE_NAMES:
            mgmeta.meta_analysis(es, method="DL", profile=p)
    pd.testing.assert_frame_equal(es, before)


def test_permuting_studies_changes_nothing():
    es = bcg("OR")
    perm = es.iloc[::-1].reset_index(drop=True)
    perm.attrs.update(es.attrs)
    for p in PROFILE_NAMES:
        a = mgmeta.meta_analysis(es, method="DL", profile=p)
        b = mgmeta.meta_analysis(perm, method="DL", profile=p)
        assert a.estimate == pytest.approx(b.estimate, rel=1e-12) and a.q == pytest.approx(b.q, rel=1e-12)


def test_numeric_settings_are_settings():
    assert set(NUMERIC_SETTINGS) <= set(SETTINGS)
    assert isinstance(get_profile("metafor"), Profile)


# --------------------------------------------------------------------------
# R reference (tests/reference/profiles.R: base R formulas + metafor 3.8, no R meta)
# --------------------------------------------------------------------------

REF = load_reference("profiles.json")


@pytest.mark.parametrize("case", REF["cases"], ids=[c["id"] for c in REF["cases"]])
def test_against_r_reference(case):
    data = {k: v for k, v in case["inputs"].items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        es = mgmeta.effect_sizes(case["measure"], **data)
        res = mgmeta.meta_analysis(es, method=case["method"], profile=case["profile"])
    out = case["out"]
    for key, val in out.items():
        got = getattr(res, key)
        if val is None:
            assert got is None, key
        else:
            assert got == pytest.approx(val, rel=1e-7, abs=1e-10), key
