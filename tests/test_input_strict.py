"""Data frames everywhere and strict input (issue 13, items 1 and 5).

Series are matched by index, never by position; bad input raises a DataError naming the argument (and
the study); duplicate labels are made unique as metafor does (usability.json, block ``unique_labels``).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _usability import REF, frame

import mgmeta
from mgmeta._inputs import make_unique
from mgmeta.analyses import meta_regression, subgroup_analysis
from mgmeta.errors import DataError, DuplicateLabelWarning

BCG = frame("bcg")
ARMS = BCG.drop(columns=["yi", "vi"])


# --------------------------------------------------------------------------
# data frames in, data frames out
# --------------------------------------------------------------------------

def test_effect_sizes_returns_the_input_frame_with_yi_vi_appended():
    data = ARMS.set_index(pd.Index([f"t{i}" for i in range(13)], name="id"))
    before = data.copy()
    es = mgmeta.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data, labels="author")
    pd.testing.assert_frame_equal(data, before)                       # input untouched
    assert list(es.columns[: data.shape[1]]) == list(data.columns)      # every input column first, unchanged
    pd.testing.assert_frame_equal(es[data.columns], data)
    assert es.index.equals(data.index)
    np.testing.assert_allclose(es["yi"], BCG["yi"], rtol=1e-12)
    assert {"yi", "vi", "sei"} <= set(es.columns) and es.attrs["labels"] == "author"
    # re-running on its own output changes nothing
    again = mgmeta.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=es, labels="author")
    pd.testing.assert_frame_equal(again, es)


def test_every_fitting_function_takes_data():
    res = mgmeta.meta_analysis("yi", "vi", data=BCG)
    assert res.k == 13
    mh = mgmeta.mantel_haenszel("tpos", "tneg", "cpos", "cneg", data=BCG, measure="RR")
    pt = mgmeta.peto("tpos", "tneg", "cpos", "cneg", data=BCG)
    fit = meta_regression("yi", "vi", mods="~ ablat", data=BCG)
    sub = subgroup_analysis("yi", "vi", "alloc", data=BCG)
    assert mh.k == pt.k == fit.k == 13 and sub.df == 2


def test_shuffled_groups_series_is_matched_by_index():
    # the silent wrong answer: a shuffled groups Series gave Q = 0.36 instead of 1.86
    right = subgroup_analysis(BCG["yi"], BCG["vi"], BCG["alloc"])
    shuffled = BCG["alloc"].sample(frac=1, random_state=1)
    assert not shuffled.index.equals(BCG.index)
    sub = subgroup_analysis(BCG["yi"], BCG["vi"], shuffled)
    assert sub.q_between == pytest.approx(right.q_between, rel=1e-12)
    with_data = subgroup_analysis("yi", "vi", shuffled, data=BCG)
    assert with_data.q_between == pytest.approx(right.q_between, rel=1e-12)
    # the common-tau² test equals metafor's QM for ~ factor(alloc) (usability.json)
    ref = next(c for c in REF["formula"] if c["id"] == "bcg_factor_alloc")
    assert sub.q_between_common == pytest.approx(ref["out"]["qm"], rel=1e-6)


def test_series_that_cannot_be_aligned_raise_naming_the_argument():
    g = BCG["alloc"].copy()
    g.index = range(100, 113)
    with pytest.raises(DataError, match="argument groups: the index of the Series does not match"):
        subgroup_analysis(BCG["yi"], BCG["vi"], g)
    with pytest.raises(DataError, match="argument vi"):
        mgmeta.meta_analysis(BCG["yi"], BCG["vi"].reset_index(drop=True).set_axis(range(1, 14)))
    with pytest.raises(DataError, match="argument ai"):
        mgmeta.mantel_haenszel(BCG["tpos"].set_axis(range(5, 18)), "tneg", "cpos", "cneg", data=BCG)
    # plain arrays are positional, as always
    res = mgmeta.meta_analysis(BCG["yi"].to_numpy(), BCG["vi"].to_numpy()[::-1][::-1])
    assert res.k == 13


def test_moderator_series_matched_by_index():
    shuffled = BCG[["ablat"]].sample(frac=1, random_state=2)
    right = meta_regression("yi", "vi", mods="~ ablat", data=BCG)
    fit = meta_regression(BCG["yi"], BCG["vi"], shuffled)
    np.testing.assert_allclose(fit.coef, right.coef, rtol=1e-10)


# --------------------------------------------------------------------------
# strict input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: mgmeta.meta_analysis(np.ones((3, 2)), np.ones(6)), "yi must be 1-D"),
    (lambda: mgmeta.meta_analysis([0.1, 0.2], [[0.1, 0.2]]), "vi must be 1-D"),
    (lambda: mgmeta.meta_analysis([True, False], [0.1, 0.2]), "yi is a boolean"),
    (lambda: mgmeta.meta_analysis([0.1, True], [0.1, 0.2], labels=["A", "B"]), "study 'B': yi is a boolean"),
    (lambda: mgmeta.meta_analysis(["0.1", "0.2"], [0.1, 0.2]), "yi is a string"),
    (lambda: mgmeta.effect_sizes("OR", ai=["3", 4], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), "ai is a string"),
    (lambda: mgmeta.meta_analysis([0.1, 0.2], [0.1, 0.2], measure="XYZ"), "unknown measure 'XYZ'"),
    (lambda: mgmeta.effect_sizes("MD", ai=[1, 2], m1i=[1, 2], sd1i=[1, 1], n1i=[5, 5], m2i=[1, 1], sd2i=[1, 1],
                                 n2i=[5, 5]), "measure 'MD' does not use ai"),
    (lambda: mgmeta.effect_sizes("OR", ai=[1], n1i=[5], ci=[1], n2i=[5], m1i=[2.0]), "does not use m1i"),
    (lambda: mgmeta.meta_analysis([0.1, 0.2], [0.1, 0.2], labels=["A", None]), "position 1: its label is missing"),
    (lambda: mgmeta.meta_analysis([0.1, 0.2], [0.1, 0.2], labels=["A", np.nan]), "its label is missing"),
    (lambda: mgmeta.mantel_haenszel([1, 2], [5, 5], [1, 1], [5, 5], labels=[None, "B"]), "label is missing"),
    (lambda: mgmeta.meta_analysis("yi", "vi", data=BCG[["yi"]]), "names no column of data"),
    (lambda: mgmeta.meta_analysis("yi", "vi"), "no data frame was given"),
    (lambda: mgmeta.meta_analysis(BCG[["yi", "vi"]].to_numpy(), BCG["vi"]), "1-D"),
    (lambda: mgmeta.meta_analysis("yi", "vi", data=BCG.to_numpy()), "data must be a pandas DataFrame"),
])
def test_bad_input_raises_a_data_error(call, match):
    with pytest.raises(DataError, match=match):
        call()


def test_duplicate_labels_made_unique_as_metafor():
    case = REF["unique_labels"]
    assert make_unique(case["input"]) == case["out"]           # Shechter.1, Smith.1, Shechter.2, ...
    y = np.linspace(-0.5, 0.5, 6)
    with pytest.warns(DuplicateLabelWarning, match="'Shechter', 'Smith'"):
        res = mgmeta.meta_analysis(y, np.full(6, 0.1), labels=case["input"])
    assert list(res.labels) == case["out"]
    assert list(res.leave_one_out().index) == case["out"]
    assert res.leave_one_out().index.is_unique


def test_no_spurious_warnings_for_clean_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mgmeta.meta_analysis("yi", "vi", data=BCG, labels="trial")


def test_label_list_with_data_that_has_a_study_column():
    df = pd.DataFrame({"study": [1, 2, 3], "ai": [1, 2, 3], "n1i": [10, 10, 10], "ci": [2, 2, 2], "n2i": [10, 10, 10]})
    es = mgmeta.effect_sizes("OR", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=df, labels=["A", "B", "C"])
    assert list(es["study"]) == [1, 2, 3]                 # the input column is kept as it was
    assert es.attrs["labels"] == "slab" and list(es["slab"]) == ["A", "B", "C"]
    assert mgmeta.meta_analysis(es).labels == ("A", "B", "C")
