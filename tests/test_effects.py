"""effect_sizes: input handling, bad input, and properties (numbers vs metafor are in test_reference_core.py)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mgmeta
from mgmeta.errors import DataError

# Pfaffenrath 1996 as read from its abstract (10/35 vs 10/34 derived from 28.6 % and 29.4 %) and
# a made-up second trial; used only to exercise the API.
AI, N1, CI, N2 = [10, 23], [35, 35], [10, 13], [34, 35]


def test_data_argument_names_columns_like_metafor():
    df = pd.DataFrame({"ev_mg": AI, "n_mg": N1, "ev_pl": CI, "n_pl": N2, "trial": ["A", "B"]})
    before = df.copy()
    es = mgmeta.effect_sizes("OR", data=df, ai="ev_mg", n1i="n_mg", ci="ev_pl", n2i="n_pl", labels="trial")
    direct = mgmeta.effect_sizes("OR", ai=AI, n1i=N1, ci=CI, n2i=N2)
    np.testing.assert_array_equal(es["yi"], direct["yi"])
    # as escalc(data=): the input frame comes back with the effect sizes appended (issue 13)
    assert list(es.columns[:5]) == list(df.columns)
    assert list(es["trial"]) == ["A", "B"] and es.attrs["labels"] == "trial"
    assert es.attrs["measure"] == "OR"
    pd.testing.assert_frame_equal(df, before)


def test_both_input_forms_agree():
    a = mgmeta.effect_sizes("RR", ai=AI, n1i=N1, ci=CI, n2i=N2)
    b = mgmeta.effect_sizes("RR", ai=AI, bi=np.subtract(N1, AI), ci=CI, di=np.subtract(N2, CI))
    np.testing.assert_allclose(a["yi"], b["yi"])
    np.testing.assert_allclose(a["vi"], b["vi"])


def test_reported_ratio_with_ci_is_converted_on_log_scale():
    es = mgmeta.effect_sizes("OR", estimate=[0.23], ci_lower=[0.09], ci_upper=[0.58])
    assert es["yi"].iloc[0] == pytest.approx(np.log(0.23))
    assert es["sei"].iloc[0] == pytest.approx((np.log(0.58) - np.log(0.09)) / (2 * 1.959963984540054))


def test_reported_mean_difference_with_ci():
    # Corbo 2001 abstract: 16 mm (95% CI -2 to 34)
    es = mgmeta.effect_sizes("MD", estimate=[16], ci_lower=[-2], ci_upper=[34])
    assert es["yi"].iloc[0] == 16
    assert es["sei"].iloc[0] == pytest.approx(36 / (2 * 1.959963984540054))


def test_generic_with_sei():
    es = mgmeta.effect_sizes("GEN", yi=[0.1, 0.2], sei=[0.5, 0.25])
    np.testing.assert_allclose(es["vi"], [0.25, 0.0625])


def test_drop00_keeps_row_flagged():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.ContinuityCorrectionWarning)
        es = mgmeta.effect_sizes("OR", ai=[0, 3], n1i=[10, 10], ci=[0, 5], n2i=[10, 10], drop00=True)
    assert list(es["dropped"]) == [True, False]
    assert np.isnan(es["yi"].iloc[0])
    with pytest.warns(mgmeta.MgmetaWarning, match="omitted"):
        res = mgmeta.meta_analysis(es, method="EE")
    assert res.k == 1


def test_continuity_correction_warns_and_flags():
    with pytest.warns(mgmeta.ContinuityCorrectionWarning, match="Trial B"):
        es = mgmeta.effect_sizes("OR", ai=[3, 0], n1i=[10, 10], ci=[5, 4], n2i=[10, 10], labels=["Trial A", "Trial B"])
    assert list(es["corrected"]) == [False, True]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(measure="OR", ai=[-1, 2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), r"study 'S1'.*ai is negative \(-1\)"),
        (dict(measure="OR", ai=[63, 2], n1i=[60, 10], ci=[1, 2], n2i=[10, 10]),
         r"study 'S1': events \(63\) exceed arm size \(60\) in argument ai"),
        (dict(measure="OR", ai=[1, np.nan], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), r"study 'S2'.*ai is missing.*na_action='omit'"),
        (dict(measure="OR", ai=[1, np.inf], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), r"study 'S2'.*ai is inf"),
        (dict(measure="OR", ai=[1, 2, 3], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), "mismatched lengths"),
        (dict(measure="OR", ai=[], n1i=[], ci=[], n2i=[]), "empty input"),
        (dict(measure="XX", ai=[1], n1i=[10], ci=[1], n2i=[10]), "unknown measure 'XX'"),
        (dict(measure="MD", m1i=[1, 2], sd1i=[0, 1], n1i=[10, 10], m2i=[1, 1], sd2i=[1, 1], n2i=[10, 10]),
         r"study 'S1': sd1i must be positive"),
        (dict(measure="SMD", m1i=[1, 2], sd1i=[1, 1], n1i=[1, 10], m2i=[1, 1], sd2i=[1, 1], n2i=[1, 10]),
         r"study 'S1'.*at least 4 participants"),
        (dict(measure="ROM", m1i=[-1, 2], sd1i=[1, 1], n1i=[10, 10], m2i=[1, 1], sd2i=[1, 1], n2i=[10, 10]),
         r"study 'S1': m1i must be positive"),
        (dict(measure="OR", ai=[0, 2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10], to="none"),
         r"study 'S1'.*undefined or infinite"),
        (dict(measure="OR", ai=[0, 2], n1i=[0, 10], ci=[0, 2], n2i=[10, 10]), r"study 'S1'.*no participants"),
        (dict(measure="GEN", yi=[0.1, 0.2], vi=[0.1, -0.1]), r"study 'S2': vi must be positive"),
        (dict(measure="OR", ai=["x", 2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), r"study 'S1'.*ai is a string"),
        (dict(measure="OR", estimate=[0.5], ci_lower=[0.6], ci_upper=[0.9]), "outside its confidence limits"),
    ],
)
def test_bad_input_raises_naming_study_and_argument(kwargs, match):
    measure = kwargs.pop("measure")
    n = len(next(iter(kwargs.values())))
    labels = [f"S{i + 1}" for i in range(n)] if n else None
    with pytest.raises(DataError, match=match):
        mgmeta.effect_sizes(measure, labels=labels, **kwargs)


def test_unknown_to_raises():
    with pytest.raises(DataError, match="unknown to 'some'"):
        mgmeta.effect_sizes("OR", ai=[1], n1i=[10], ci=[1], n2i=[10], to="some")


def test_caller_arrays_are_not_modified():
    ai = np.array([0.0, 3.0]); n1 = np.array([10.0, 10.0]); ci = np.array([4.0, 5.0]); n2 = np.array([10.0, 10.0])
    copies = [x.copy() for x in (ai, n1, ci, n2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.ContinuityCorrectionWarning)
        mgmeta.effect_sizes("OR", ai=ai, n1i=n1, ci=ci, n2i=n2)
    for x, c in zip((ai, n1, ci, n2), copies):
        np.testing.assert_array_equal(x, c)


def test_pfaffenrath_doctest_numbers():
    # Pfaffenrath 1996 (Cephalalgia 16:436, abstract): responders 28.6 % of 35 vs 29.4 % of 34 -> 10/35, 10/34
    es = mgmeta.effect_sizes("OR", ai=[10], n1i=[35], ci=[10], n2i=[34])
    assert es["yi"].iloc[0] == pytest.approx(np.log((10 * 24) / (25 * 10)))
    assert es["vi"].iloc[0] == pytest.approx(1 / 10 + 1 / 25 + 1 / 10 + 1 / 24)


counts = st.integers(min_value=1, max_value=60)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(counts, counts, counts, counts), min_size=1, max_size=8))
def test_swapping_arms_flips_sign_of_log_or(tables):
    a, b, c, d = (np.array(x, float) for x in zip(*tables))
    es = mgmeta.effect_sizes("OR", ai=a, bi=b, ci=c, di=d)
    sw = mgmeta.effect_sizes("OR", ai=c, bi=d, ci=a, di=b)
    np.testing.assert_allclose(sw["yi"], -es["yi"], atol=1e-12)
    np.testing.assert_allclose(sw["vi"], es["vi"])
