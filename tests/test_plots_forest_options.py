"""Forest plots for any data set (issue 13 item 7, issue 12 item 6): neutral labels, axis title, estimator in the
heterogeneity line, footnote markers, extra columns (ilab), arm data for Mantel-Haenszel and subgroup fits, the
null line at an axis end, narrow figures that warn before leaving columns out, cumulative forests in the style
of forest(). Data: the BCG vaccine trials (Colditz et al. 1994; metafor's dat.bcg).
"""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from test_plots_support import BCG, bcg_effects, bcg_fit, by_gid, overlapping_texts, panel, texts, to_gallery

import mgmeta
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.plots import cumulative_forest, forest, labbe, leave_one_out_forest
from mgmeta.plots.forest import superscript

PLOTS = Path(__file__).resolve().parents[1] / "src" / "mgmeta" / "plots"
NO_ROOM = "ignore:forest plot .* no room for the column:mgmeta.errors.MgmetaWarning"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def all_text(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _mh():
    return mgmeta.mantel_haenszel(ai=BCG["tpos"], bi=BCG["tneg"], ci=BCG["cpos"], di=BCG["cneg"],
                                  labels=list(BCG["study"]))


# ---- neutral by default ------------------------------------------------------------------------

def test_no_plot_module_knows_about_magnesium():
    for path in PLOTS.glob("*.py"):
        assert "agnesium" not in path.read_text(encoding="utf-8"), path.name


def test_default_arm_headers_and_no_favours_text():
    fig = forest(bcg_fit("OR"))
    heads = texts(fig, "header")
    assert "Experimental" in heads and "Control" in heads
    assert not by_gid(fig, "favours-left") and not by_gid(fig, "favours-right")
    assert not any("agnesium" in t or "Favours" in t for t in all_text(fig))
    fig = forest(bcg_fit("OR"), arm_labels=("Vaccine", "No vaccine"), favours=("vaccine", "Favours no vaccine"))
    assert {"Vaccine", "No vaccine"} <= set(texts(fig, "header"))
    assert texts(fig, "favours-left") == ["← Favours vaccine"]
    assert texts(fig, "favours-right") == ["Favours no vaccine →"]
    with pytest.raises(DataError, match="favours must be two texts"):
        forest(bcg_fit("OR"), favours="vaccine")


def test_other_plots_are_neutral_too():
    res = bcg_fit("OR")
    fig = labbe(res)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Event risk, control" and ax.get_ylabel() == "Event risk, experimental"
    for fig in (leave_one_out_forest(res), cumulative_forest(res)):
        assert not any("agnesium" in t or "Favours" in t for t in all_text(fig))


# ---- axis title, estimator, Hartung-Knapp, title ---------------------------------------------------

@pytest.mark.filterwarnings(NO_ROOM)
def test_axis_title_names_measure_and_scale():
    assert texts(forest(bcg_fit("OR")), "xlabel") == ["Odds ratio (log scale)"]
    assert texts(forest(bcg_fit("RR")), "xlabel") == ["Risk ratio (log scale)"]
    assert texts(forest(bcg_fit("RD")), "xlabel") == ["Risk difference"]
    md = mgmeta.effect_sizes("MD", m1i=[1.0, 2.0, 0.5], sd1i=[1, 1, 1], n1i=[20, 30, 40], m2i=[0.2, 0.1, 0.0],
                             sd2i=[1, 1, 1], n2i=[20, 30, 40], labels=["A 2001", "B 2005", "C 2010"])
    assert texts(forest(mgmeta.meta_analysis(md)), "xlabel") == ["Mean difference"]
    assert texts(forest(bcg_fit("OR"), xlabel="Odds of tuberculosis"), "xlabel") == ["Odds of tuberculosis"]
    assert texts(forest(bcg_fit("OR"), xlabel=""), "xlabel") == []
    # the axis title sits between the tick labels and the favours labels
    fig = forest(bcg_fit("OR"), favours=("vaccine", "control"))
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    (xl,) = [t for t in by_gid(fig, "xlabel")]
    (fl,) = [t for t in by_gid(fig, "favours-left")]
    ticks = [t for t in panel(fig).get_xticklabels() if t.get_text()]
    assert min(t.get_window_extent(r).y0 for t in ticks) >= xl.get_window_extent(r).y1 - 0.5
    assert xl.get_window_extent(r).y0 >= fl.get_window_extent(r).y1 - 0.5
    assert not overlapping_texts(fig)


@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_heterogeneity_line_names_the_estimator(method):
    res = bcg_fit("RR", method=method)
    fig = forest(res, arms=False)
    (het,) = texts(fig, "heterogeneity")
    assert het.startswith(f"Heterogeneity: τ² ({method}) = ")
    assert texts(fig, "summary-label") == [f"Random-effects model ({method})"]
    # with the arm columns the label column is narrower: the label breaks before its parenthesis
    (lab,) = texts(forest(res), "summary-label")
    assert lab in (f"Random-effects model ({method})", f"Random-effects model\n({method})")


def test_model_label_says_hartung_knapp():
    res = bcg_fit("RR", test="knha")
    fig = forest(res, arms=False, width=9)
    assert texts(fig, "summary-label") == ["Random-effects model (REML, Hartung-Knapp)"]
    assert any(t.startswith(f"Test for overall effect: t({res.k - 1}) = ") for t in texts(fig, "footnote"))
    # a narrow figure wraps the label, breaking before the parenthesis
    with pytest.warns(MgmetaWarning, match="no room"):
        fig = forest(res, width=3.5)
    (lab,) = texts(fig, "summary-label")
    assert lab.replace("\n", " ") == "Random-effects model (REML, Hartung-Knapp)" and "\n(REML" in lab
    assert texts(forest(bcg_fit("RR", method="EE")), "summary-label") == ["Common-effect model"]
    assert texts(forest(_mh()), "summary-label") == ["Mantel-Haenszel model"]


def test_title_is_shown():
    title = "Vaccine vs no vaccine: tuberculosis, end of follow-up"
    fig = forest(bcg_fit("OR"), title=title)
    assert texts(fig, "title") == [title]
    fig = cumulative_forest(bcg_fit("OR"), title=title)
    assert texts(fig, "title") == [title]


# ---- footnote markers and extra columns ------------------------------------------------------------

def test_footnote_markers_are_superscripts_with_their_text_under_the_plot():
    res = bcg_fit("OR")
    marks = {"Aronson 1948": "a", "Comstock 1976": "b", "Rosenthal 1960": "", "Vandiviere 1973": "a,b"}
    notes = {"a": "Counts read from a figure.", "b": "Converted from percentages.", "c": "Not used here."}
    fig = forest(res, markers=marks, footnotes=notes)
    to_gallery(fig, "forest_footnote_markers")
    labels = texts(fig, "study-label")
    assert labels[0] == "Aronson 1948ᵃ" and labels[-1] == "Comstock 1976ᵇ" and labels[2] == "Rosenthal 1960"
    assert labels[6] == "Vandiviere 1973ᵃ,ᵇ"       # two footnotes
    foot = texts(fig, "footnote")
    assert "ᵃ Counts read from a figure." in foot and "ᵇ Converted from percentages." in foot
    assert not any("Not used" in t for t in foot)
    assert not overlapping_texts(fig)
    # a sequence in the fit's order gives the same labels
    seq = [marks.get(lab, "") for lab in res.labels]
    assert texts(forest(res, markers=seq, footnotes=notes), "study-label") == labels
    assert superscript("a1") == "ᵃ¹" and superscript("*") == "*"
    with pytest.raises(DataError, match=r"marker\(s\) \['b'\] have no text in footnotes"):
        forest(res, markers={"Aronson 1948": "a,b"}, footnotes={"a": "x"})
    with pytest.raises(DataError, match="markers names study not in the plot: 'Nobody 2000'"):
        forest(res, markers={"Nobody 2000": "a"}, footnotes={"a": "x"})
    with pytest.raises(DataError, match="markers has 2 values but the fit has 13 studies"):
        forest(res, markers=["a", "b"], footnotes={"a": "x", "b": "y"})


def test_markers_with_subgroups_follow_the_overall_order_or_the_groups_in_turn():
    es = bcg_effects("RR")
    alloc = BCG["alloc"].to_numpy()
    seq = [f"{i % 3}" if i % 2 else "" for i in range(13)]
    notes = {"0": "zero", "1": "one", "2": "two"}
    want = {lab: lab + (superscript(m) if m else "") for lab, m in zip(BCG["study"], seq)}
    # a subgroup result has an overall fit: the sequence is in its (input) order
    sub = mgmeta.subgroup_analysis(es, groups=alloc)
    labels = texts(forest(sub, markers=seq, footnotes=notes), "study-label")
    assert sorted(labels) == sorted(want.values())
    # a mapping of fits without an overall fit: the groups' studies one after the other; a trial may appear in
    # two groups (a shared control arm split across comparisons) and keep a marker in each
    groups = {"First": mgmeta.meta_analysis(es.iloc[:3]), "Second": mgmeta.meta_analysis(es.iloc[2:6])}
    fig = forest(groups, markers=["a", "", "b", "", "c", "", ""], footnotes={"a": "x", "b": "y", "c": "z"})
    assert texts(fig, "study-label") == ["Aronson 1948ᵃ", "Ferguson & Simes 1949", "Rosenthal 1960ᵇ",
                                         "Rosenthal 1960", "Hart & Sutherland 1977ᶜ", "Frimodt-Moller 1973",
                                         "Stein & Aronson 1953"]
    with pytest.raises(DataError, match="markers has 3 values but the fit has 7 studies"):
        forest(groups, markers=["a", "b", "c"], footnotes={"a": "x", "b": "y", "c": "z"})


@pytest.mark.filterwarnings(NO_ROOM)
def test_ilab_adds_columns_left_or_right_matched_by_label():
    res = bcg_fit("OR")
    lat = dict(zip(BCG["study"], BCG["ablat"]))
    fig = forest(res, ilab={"Latitude": lat, "Allocation": list(BCG["alloc"])}, arms=False)
    to_gallery(fig, "forest_ilab")
    heads = texts(fig, "header")
    assert "Latitude" in heads and "Allocation" in heads
    assert texts(fig, "cell-ilab0")[:13] == [str(v) for v in BCG["ablat"]]
    assert texts(fig, "cell-ilab1")[:13] == list(BCG["alloc"])
    # numbers right-aligned, words left-aligned; left columns sit between the labels and the panel
    cells0 = by_gid(fig, "cell-ilab0")
    cells1 = by_gid(fig, "cell-ilab1")
    assert {t.get_ha() for t in cells0} == {"right"} and {t.get_ha() for t in cells1} == {"left"}
    px = panel(fig).get_position().x0
    assert all(t.get_position()[0] < px for t in cells0 + cells1)
    # a DataFrame indexed by label, in another order, on the right of the panel
    frame = BCG.set_index("study")[["ablat"]].rename(columns={"ablat": "Latitude"}).iloc[::-1]
    fig = forest(res, ilab=frame, ilab_xpos="right", arms=False)
    cells = by_gid(fig, "cell-ilab0")
    assert [t.get_text() for t in cells][:13] == [str(v) for v in BCG["ablat"]]
    assert all(t.get_position()[0] > panel(fig).get_position().x1 for t in cells)
    assert not overlapping_texts(fig)
    with pytest.raises(DataError, match=r"ilab\['Dose'\] has 2 values but the fit has 13 studies"):
        forest(res, ilab={"Dose": [1, 2]})
    with pytest.raises(DataError, match="ilab_xpos must be 'left' or 'right'"):
        forest(res, ilab={"Latitude": lat}, ilab_xpos="top")
    with pytest.raises(DataError, match="ilab must be a DataFrame or a mapping"):
        forest(res, ilab=[1, 2, 3])


# ---- arm columns for Mantel-Haenszel and subgroup fits --------------------------------------------

def test_mantel_haenszel_and_subgroup_forests_keep_their_arm_columns():
    es = bcg_effects("OR")
    fig = forest(_mh(), data=es)
    to_gallery(fig, "forest_mantel_haenszel_arms")
    assert texts(fig, "cell-e1")[:13] == [str(v) for v in BCG["tpos"]]
    assert texts(fig, "cell-n2")[:13] == [str(a + b) for a, b in zip(BCG["cpos"], BCG["cneg"])]
    assert texts(fig, "cell-e1")[-1] == str(BCG["tpos"].sum())
    sub = mgmeta.subgroup_analysis(bcg_effects("RR"), groups=BCG["alloc"].to_numpy())
    fig = forest(sub, data=bcg_effects("RR"))
    to_gallery(fig, "forest_subgroups_arms")
    e1 = texts(fig, "cell-e1")
    assert str(BCG["tpos"].sum()) == e1[-1]     # the overall total
    assert len(e1) == 13 + 3 + 1                 # studies, subtotals, total
    assert not overlapping_texts(fig)
    with pytest.raises(DataError, match="data has no row for the study 'Aronson 1948'"):
        forest(_mh(), data=es.iloc[1:])


# ---- null line, narrow figures, small data ---------------------------------------------------------

def test_null_line_is_drawn_whole_at_an_end_of_the_axis():
    md = mgmeta.effect_sizes("MD", m1i=[1.0, 2.0, 0.5], sd1i=[1, 1, 1], n1i=[20, 30, 40], m2i=[0.2, 0.1, 0.0],
                             sd2i=[1, 1, 1], n2i=[20, 30, 40], labels=["A 2001", "B 2005", "C 2010"])
    fig = forest(mgmeta.meta_analysis(md), xlim=(0, 3))
    to_gallery(fig, "forest_null_at_axis_end")
    (null,) = by_gid(fig, "null-line")
    assert np.allclose([s[0][0] for s in null.get_segments()], 0.0)
    assert not null.get_clip_on() and null.get_linewidth()[0] >= 0.8
    assert panel(fig).get_xlim() == pytest.approx((0.0, 3.0))


def test_narrow_figure_warns_for_every_column_left_out_and_abbreviates_visibly():
    long = "Randomisedcontrolledtrialwithaverylongsinglewordname 1999"
    es = mgmeta.effect_sizes("OR", ai=[4, 6, 3], n1i=[123, 306, 231], ci=[11, 29, 11], n2i=[139, 303, 220],
                             labels=[long, "Ferguson 1949", "Rosenthal 1960"])
    with pytest.warns(MgmetaWarning, match="3.5 in wide: no room for the column\\(s\\) 'Experimental', 'Control', "
                                           "'Weight', left out"):
        fig = forest(mgmeta.meta_analysis(es), width=3.5)
    first = texts(fig, "study-label")[0]
    assert first != long and "…" in first           # cut with an ellipsis, never silently
    assert not overlapping_texts(fig)
    # at 7 in everything fits: no warning
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", MgmetaWarning)
        forest(mgmeta.meta_analysis(es.assign(study=["Aronson 1948", "Ferguson 1949", "Rosenthal 1960"])))


def test_two_studies():
    res = bcg_fit("OR", rows=[0, 1])
    fig = forest(res)
    to_gallery(fig, "forest_two_studies")
    assert texts(fig, "study-label") == ["Aronson 1948", "Ferguson & Simes 1949"]
    assert not by_gid(fig, "prediction-interval")
    assert texts(fig, "xlabel") == ["Odds ratio (log scale)"]
    assert not overlapping_texts(fig)


# ---- leave-one-out and cumulative forests in the style of forest() ----------------------------------

def test_cumulative_and_leave_one_out_forests_share_the_forest_style():
    res = bcg_fit("OR")
    for fig in (cumulative_forest(res), leave_one_out_forest(res)):
        (pts,) = by_gid(fig, "study-point")
        assert np.ptp(pts.get_paths()[0].vertices, axis=0).tolist() == pytest.approx([1.0, 1.0])  # squares
        assert texts(fig, "xlabel") == ["Odds ratio (log scale)"]
        assert "IV, random, 95% CI" in texts(fig, "header") and "Odds ratio" in texts(fig, "header")
        sides = np.sqrt(pts.get_sizes())
        assert np.all(sides <= 0.5 * 7.5 * 1.6 + 1e-9)
        assert not overlapping_texts(fig)
    assert {t.get_fontsize() for t in by_gid(cumulative_forest(res), "study-label")} == \
        {t.get_fontsize() for t in by_gid(forest(res, arms=False), "study-label")}


def test_square_cap_applies_to_cumulative_points():
    """A precise cumulative estimate gets a square no wider than 70% of its CI."""
    res = bcg_fit("OR")
    fig = cumulative_forest(res)
    (pts,) = by_gid(fig, "study-point")
    (coll,) = by_gid(fig, "study-ci")
    ax = panel(fig)
    segs = coll.get_segments()
    to_pt = 72.0 / fig.dpi
    ci_pt = np.array([(ax.transData.transform((s[1][0], s[1][1]))[0] - ax.transData.transform((s[0][0], s[0][1]))[0])
                      * to_pt for s in segs])
    y_seg = np.array([s[0][1] for s in segs])
    y_pts = np.asarray(pts.get_offsets())[:, 1]
    sides = np.sqrt(pts.get_sizes())[np.argsort(y_pts)]
    assert np.all(sides <= 0.7 * ci_pt[np.argsort(y_seg)] + 1e-6)


def test_data_argument_must_be_a_frame():
    with pytest.raises(DataError, match="data must be a DataFrame"):
        forest(_mh(), data=[1, 2, 3])
    frame = bcg_effects("OR")
    with pytest.raises(DataError, match="several rows for the study label"):
        forest(_mh(), data=pd.concat([frame, frame.iloc[:1]]))
