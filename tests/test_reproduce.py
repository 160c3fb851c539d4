"""Reproduction diff (issue 8): published numbers next to each profile's, and which convention moved them."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import mgmeta
from mgmeta.errors import DataError
from mgmeta.profiles import PROFILE_NAMES, get_profile
from mgmeta.reproduce import QUANTITIES, attribute_differences, published_model, reproduce

pytestmark = pytest.mark.filterwarnings("ignore::mgmeta.errors.MgmetaWarning")

BCG = pd.DataFrame(dict(
    study=[f"trial {i}" for i in range(1, 14)],
    ai=[4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    n1i=[123, 306, 231, 13598, 5069, 1541, 2545, 88391, 7499, 1716, 50634, 2498, 16913],
    ci=[11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    n2i=[139, 303, 220, 12867, 5808, 1451, 629, 88391, 7277, 1665, 27338, 2341, 17854]))
# Fleiss (1993) aspirin data and RevMan 5.0.23's published result (MH OR, fixed effect)
FLEISS = pd.DataFrame(dict(study=["MRC-1", "CDP", "MRC-2", "GASP", "PARIS", "AMIS", "ISIS-2"],
                           ai=[49, 44, 102, 32, 85, 246, 1570], n1i=[615, 758, 832, 317, 810, 2267, 8587],
                           ci=[67, 64, 126, 38, 52, 219, 1720], n2i=[624, 771, 850, 309, 406, 2257, 8600]))
FLEISS_PUBLISHED = {"result_id": "fleiss1993-1.1", "review": "Examples from Fleiss 1993", "measure": "OR",
                    "model": "fixed (MH)", "estimate": 0.8968655609130709, "ci_lower": 0.8405144008917793,
                    "ci_upper": 0.9569947088336491, "i2": 39.67458045558399, "k": 7, "participants": 28003,
                    "pvalue": 0.0010103343130005407, "q": 9.946055983220074}


def test_table_layout_and_profile_columns():
    tab = reproduce({"measure": "RR", "model": "random"}, BCG)
    assert list(tab["quantity"]) == list(QUANTITIES)
    assert list(tab.columns[:2]) == ["quantity", "published"]
    for p in PROFILE_NAMES:
        assert p in tab.columns
        if p != "revman5":
            assert f"changed_by_{p}" in tab.columns
    assert "changed_by_revman5" not in tab.columns  # the base (first profile)
    assert tab.attrs["base"] == "revman5" and tab.attrs["model"] == "random" and tab.attrs["measure"] == "RR"
    assert tab.attrs["methods"] == {"revman5": "DL", "revman_web_2025": "REML", "metafor": "REML", "meta": "REML",
                                    "stata_metan": "DL"}
    t = tab.set_index("quantity")
    assert (t.loc["k", list(PROFILE_NAMES)] == 13).all()
    assert t.loc["participants", "metafor"] == BCG.n1i.sum() + BCG.n2i.sum()
    assert math.isnan(t.loc["pi_lower", "revman5"]) and not math.isnan(t.loc["pi_lower", "meta"])
    # profile columns are each profile's meta_analysis on the published scale (exp for RR)
    es = mgmeta.effect_sizes("RR", data=BCG, ai="ai", n1i="n1i", ci="ci", n2i="n2i", labels="study")
    r5 = mgmeta.meta_analysis(es, method="DL", profile="revman5")
    assert t.loc["estimate", "revman5"] == pytest.approx(math.exp(r5.estimate), rel=1e-14)
    assert t.loc["tau2", "revman5"] == pytest.approx(r5.tau2, rel=1e-14)
    web = mgmeta.meta_analysis(es, method="REML", profile="revman_web_2025")
    assert t.loc["ci_upper", "revman_web_2025"] == pytest.approx(math.exp(web.ci_upper), rel=1e-14)


def test_the_mh_q_convention_is_named_with_its_size():
    tab = reproduce({"measure": "RR", "model": "random (DerSimonian-Laird)", "tau2": 0.3095}, BCG,
                    profiles=["metafor", "revman5"])
    t = tab.set_index("quantity")
    assert t.loc["tau2", "published"] == 0.3095 and t.loc["tau2", "closest"] == "revman5"
    assert t.loc["tau2", "metafor"] == pytest.approx(0.30876, abs=5e-5)
    assert t.loc["tau2", "changed_by_revman5"].startswith("binary_pooling: IV->MH (+0.000736")
    assert "pi_method: ci->none (disappears)" in t.loc["pi_lower", "changed_by_revman5"]
    assert t.loc["k", "changed_by_revman5"] == ""


def test_single_changes_plus_interaction_add_up_to_the_profile_difference():
    for model in ("random", "fixed"):
        tab = reproduce({"measure": "OR", "model": model}, BCG, base="metafor")
        att = tab.attrs["attribution"]
        t = tab.set_index("quantity")
        for p in PROFILE_NAMES:
            if p == "metafor":
                continue
            sub = att[att["profile"] == p]
            for qn in ("estimate", "ci_lower", "ci_upper", "tau2", "i2", "q"):
                s = sub[sub["quantity"] == qn]["change"].sum()
                assert t.loc[qn, "metafor"] + s == pytest.approx(t.loc[qn, p], rel=1e-9, abs=1e-12), (model, p, qn)


def test_attribution_long_table():
    es = mgmeta.effect_sizes("OR", data=BCG, ai="ai", n1i="n1i", ci="ci", n2i="n2i")
    att = attribute_differences(es, "revman5", "revman_web_2025")
    assert list(att.columns) == ["profile", "setting", "base_value", "profile_value", "quantity", "base",
                                 "variant", "change"]
    assert set(att["setting"]) == {"tau2_method", "ci_method", "pi_method", "i2_method", "(interaction)"}
    row = att[(att.setting == "ci_method") & (att.quantity == "estimate")].iloc[0]
    assert row["change"] == pytest.approx(0.0, abs=1e-15)  # HKSJ changes the interval, not the estimate
    row = att[(att.setting == "tau2_method") & (att.quantity == "tau2")].iloc[0]
    dl = mgmeta.meta_analysis(es, method="DL", profile="revman5").tau2
    reml = mgmeta.meta_analysis(es, method="REML").tau2
    assert row["base"] == pytest.approx(dl, rel=1e-12) and row["variant"] == pytest.approx(reml, rel=1e-10)


def test_worked_example_revman5_reproduces_the_published_cochrane_result():
    tab = reproduce(FLEISS_PUBLISHED, FLEISS, profiles=["revman5", "metafor", "meta", "stata_metan"])
    t = tab.set_index("quantity")
    for qn in ("estimate", "ci_lower", "ci_upper", "i2", "q", "pvalue"):
        assert t.loc[qn, "revman5"] == pytest.approx(FLEISS_PUBLISHED[qn], rel=1e-11), qn
        assert t.loc[qn, "closest"] in ("revman5", "meta", "stata_metan")  # identical for a fixed MH analysis
    assert t.loc["k", "revman5"] == 7 and t.loc["participants", "revman5"] == 28003
    # metafor pools by inverse variance: a different estimate, attributed to the pooling convention
    assert abs(t.loc["estimate", "metafor"] - FLEISS_PUBLISHED["estimate"]) > 1e-5
    assert t.loc["estimate", "changed_by_metafor"].startswith("binary_pooling: MH->IV")
    assert t.loc["estimate", "changed_by_meta"] == ""  # meta = RevMan 5 for this analysis
    assert tab.attrs["result_id"] == "fleiss1993-1.1"


def test_analysis_ready_frames_effect_size_frames_and_series_agree():
    pub = pd.Series({"measure": "odds ratio", "model": "Random effects"})
    a = reproduce(pub, BCG)
    es = mgmeta.effect_sizes("OR", data=BCG, ai="ai", n1i="n1i", ci="ci", n2i="n2i", labels="study")
    b = reproduce(pub, es)
    bi = BCG.assign(bi=BCG.n1i - BCG.ai, di=BCG.n2i - BCG.ci).drop(columns=["n1i", "n2i"])
    c = reproduce(pub, bi)
    for p in PROFILE_NAMES:
        np.testing.assert_allclose(a[p], b[p], rtol=1e-13, equal_nan=True)
        np.testing.assert_allclose(a[p], c[p], rtol=1e-13, equal_nan=True)


def test_rows_with_only_a_reported_contrast():
    es = mgmeta.effect_sizes("OR", data=BCG, ai="ai", n1i="n1i", ci="ci", n2i="n2i")
    mixed = BCG.copy().astype({"ai": float, "ci": float})
    mixed.loc[0, ["ai", "ci"]] = np.nan
    mixed["yi"] = np.where(mixed.index == 0, es.yi[0], np.nan)
    mixed["vi"] = np.where(mixed.index == 0, es.vi[0], np.nan)
    tab = reproduce({"measure": "OR", "model": "random"}, mixed, profiles=["metafor", "revman5"])
    full = reproduce({"measure": "OR", "model": "random"}, BCG, profiles=["metafor"])
    # metafor's numbers do not depend on how the first study was given
    np.testing.assert_allclose(tab["metafor"], full["metafor"], rtol=1e-12, equal_nan=True)
    assert tab.set_index("quantity").loc["k", "revman5"] == 13


def test_invert_reports_the_reverse_comparison():
    a = reproduce({"measure": "OR", "model": "random"}, BCG, profiles=["revman5"]).set_index("quantity")
    b = reproduce({"measure": "OR", "model": "random"}, BCG, profiles=["revman5"], invert=True).set_index("quantity")
    assert b.loc["estimate", "revman5"] == pytest.approx(1 / a.loc["estimate", "revman5"], rel=1e-13)
    assert b.loc["ci_lower", "revman5"] == pytest.approx(1 / a.loc["ci_upper", "revman5"], rel=1e-13)
    assert b.loc["tau2", "revman5"] == a.loc["tau2", "revman5"]
    md = pd.DataFrame(dict(yi=[0.5, 0.2, 0.9], vi=[0.04, 0.05, 0.1]))
    c = reproduce({"measure": "MD", "model": "fixed"}, md, profiles=["metafor"], invert=True).set_index("quantity")
    d = reproduce({"measure": "MD", "model": "fixed"}, md, profiles=["metafor"]).set_index("quantity")
    assert c.loc["estimate", "metafor"] == pytest.approx(-d.loc["estimate", "metafor"], rel=1e-14)


def test_published_model_and_method_choice():
    assert published_model("random effects (DerSimonian-Laird)") == ("random", "DL")
    assert published_model("REML") == ("random", "REML")
    assert published_model("Mantel-Haenszel fixed effect") == ("fixed", None)
    assert published_model(None) == ("random", None)
    assert published_model(float("nan")) == ("random", None)
    with pytest.raises(DataError):
        published_model("Bayesian hierarchical")
    # an estimator named by the paper is used by every profile that offers it
    tab = reproduce({"measure": "RR", "model": "random (REML)"}, BCG, profiles=["meta", "revman5"])
    assert tab.attrs["methods"] == {"meta": "REML", "revman5": "DL"}
    tab = reproduce({"measure": "RR", "model": "random"}, BCG, profiles=["meta"], method="PM")
    assert tab.attrs["methods"] == {"meta": "PM"}


def test_errors():
    with pytest.raises(DataError, match="measure"):
        reproduce({"model": "random"}, BCG)
    with pytest.raises(DataError, match="unknown effect measure"):
        reproduce({"measure": "hazard"}, BCG)
    with pytest.raises(DataError, match="unknown profile"):
        reproduce({"measure": "OR"}, BCG, profiles=["revman6"])
    with pytest.raises(DataError, match="neither complete arm data"):
        reproduce({"measure": "OR"}, BCG.drop(columns=["ci"]))
    with pytest.raises(DataError):
        reproduce(["OR"], BCG)
    es = mgmeta.effect_sizes("RR", data=BCG, ai="ai", n1i="n1i", ci="ci", n2i="n2i")
    with pytest.raises(DataError, match="holds RR"):
        reproduce({"measure": "OR"}, es)


def test_profiles_default_base_and_single_profile():
    tab = reproduce({"measure": "RR"}, BCG, profiles=["stata_metan"])
    assert list(tab.columns) == ["quantity", "published", "stata_metan", "closest"]
    assert get_profile("stata_metan").pi_method == "t_k2"
