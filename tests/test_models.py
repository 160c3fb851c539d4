"""meta_analysis: presentation, bad input, edge cases and properties (numbers vs metafor: test_reference_core.py)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mgmeta
from mgmeta.errors import ConvergenceError, DataError
from mgmeta.estimators import estimate_tau2
from mgmeta.models import fit_arrays

# BCG vaccine trials (Colditz et al. 1994; metadat dat.bcg), counts as in metafor's dataset
TPOS = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
TNEG = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
CNEG = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]


@pytest.fixture(scope="module")
def bcg():
    return mgmeta.effect_sizes("RR", ai=TPOS, bi=TNEG, ci=CPOS, di=CNEG,
                               labels=[f"Trial {i + 1}" for i in range(13)])


def test_fit_from_frame_remembers_measure_labels_and_arms(bcg):
    res = mgmeta.meta_analysis(bcg)
    assert res.measure == "RR"
    assert res.labels[0] == "Trial 1"
    assert list(res.data["ai"]) == TPOS
    assert res.is_ratio


def test_print_reads_like_metafor(bcg):
    text = str(mgmeta.meta_analysis(bcg, method="REML"))
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "tau^2 (estimated amount of total heterogeneity): 0.3132 (SE = 0.1664)" in text
    assert "I^2 (total heterogeneity / total variability):   92.22%" in text
    assert "Q(df = 12) = 152.2330, p-val = <.0001" in text
    assert "-0.7145" in text and "Exponentiated (RR)" in text
    knha = str(mgmeta.meta_analysis(bcg, method="DL", test="knha"))
    assert "tval" in knha and "df" in knha
    assert "Equal-Effects Model (k = 13)" in str(mgmeta.meta_analysis(bcg, method="EE"))


def test_html_and_frame(bcg):
    res = mgmeta.meta_analysis(bcg)
    assert "<table>" in res._repr_html_()
    f = res.to_frame()
    assert list(f.columns[:6]) == ["estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper"]
    assert f.loc[0, "i2"] == pytest.approx(res.i2)
    h = res.heterogeneity_ci().to_frame()
    assert list(h.index) == ["tau2", "tau", "i2", "h2"]
    assert list(h.columns) == ["estimate", "ci_lower", "ci_upper"]


def test_weights_sum_to_100(bcg):
    assert mgmeta.meta_analysis(bcg).weights.sum() == pytest.approx(100)


def test_fe_alias_and_k1():
    res = mgmeta.meta_analysis([0.3], [0.04], method="EE")
    assert res.k == 1 and res.estimate == 0.3 and res.q == 0 and res.q_pvalue == 1 and res.i2 == 0
    assert mgmeta.meta_analysis([0.3, 0.1], [0.04, 0.05], method="FE").method == "FE"


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([], []), {}, "empty input"),
        (([0.1, 0.2], [0.1]), {}, "mismatched lengths"),
        (([0.1, np.nan], [0.1, 0.1]), {}, "position 1: yi is missing.*na_action=.omit."),
        (([0.1, 0.2], [0.1, 0.0]), {"labels": ["A", "B"]}, "study 'B': vi must be positive"),
        (([0.1, 0.2], [0.1, -1.0]), {}, "position 1: vi must be positive"),
        (([0.1, 0.2], [0.1, 0.1]), {"method": "XYZ"}, "unknown method 'XYZ'"),
        (([0.1, 0.2], [0.1, 0.1]), {"test": "wald"}, "unknown test 'wald'"),
        (([0.1, 0.2], [0.1, 0.1]), {"level": 150}, "level must be between"),
        (([0.1, 0.2], [0.1, 0.1]), {"labels": ["A"]}, "labels has 1 entries"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(DataError, match=match):
        mgmeta.meta_analysis(*args, **kwargs)


def test_inputs_not_modified(bcg):
    frame = bcg.copy()
    yi = bcg["yi"].to_numpy().copy()
    mgmeta.meta_analysis(bcg)
    mgmeta.meta_analysis(yi, bcg["vi"].to_numpy())
    pd.testing.assert_frame_equal(frame, bcg)
    np.testing.assert_array_equal(yi, bcg["yi"].to_numpy())


def test_tau2_zero_and_identical_studies():
    res = mgmeta.meta_analysis([0.2, 0.2, 0.2], [0.1, 0.1, 0.1], method="REML", test="knha")
    assert res.tau2 == 0 and res.q == 0 and res.i2 == 0
    for m in ("DL", "HE", "HS", "ML", "PM", "EB"):  # SJ is positive by construction
        assert mgmeta.meta_analysis([0.2, 0.21, 0.19], [0.1, 0.2, 0.3], method=m).tau2 == 0


def test_enormous_variance_ratio_has_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = mgmeta.meta_analysis([0.1, 2.0, -1.0], [1e-8, 1e4, 1.0], method="REML")
    assert np.isfinite(res.estimate)


def test_non_convergence_is_reported():
    with pytest.raises(ConvergenceError, match="did not converge within 1 iterations"):
        mgmeta.meta_analysis([0.1, 0.9, -0.5, 1.2], [0.01, 0.02, 0.03, 0.01], method="REML",
                             control={"maxiter": 1})


def test_sei_and_sei_vi_conflict():
    a = mgmeta.meta_analysis([0.1, 0.5], sei=[0.2, 0.3])
    b = mgmeta.meta_analysis([0.1, 0.5], [0.04, 0.09])
    assert a.estimate == pytest.approx(b.estimate)
    with pytest.raises(DataError, match="not both"):
        mgmeta.meta_analysis([0.1], [0.1], sei=[0.1])


def test_batched_fit_equals_single_fits(bcg):
    yi, vi = bcg["yi"].to_numpy(), bcg["vi"].to_numpy()
    mask = ~np.eye(13, dtype=bool)
    for method in ("DL", "REML", "PM", "SJ"):
        fa = fit_arrays(np.broadcast_to(yi, (13, 13)), np.broadcast_to(vi, (13, 13)), method=method, mask=mask)
        for i in range(13):
            single = mgmeta.meta_analysis(np.delete(yi, i), np.delete(vi, i), method=method)
            assert fa.beta[i, 0] == pytest.approx(single.estimate, rel=1e-10)
            assert fa.tau2[i] == pytest.approx(single.tau2, rel=1e-10, abs=1e-14)


def test_intercept_design_matrix_equals_closed_sums(bcg):
    yi, vi = bcg["yi"].to_numpy(), bcg["vi"].to_numpy()
    X = np.ones((13, 1))
    for method in ("DL", "HE", "HS", "SJ", "REML", "ML", "EB", "PM"):
        a = estimate_tau2(method, yi, vi)
        b = estimate_tau2(method, yi, vi, X=X)
        assert float(b.tau2) == pytest.approx(float(a.tau2), rel=1e-10, abs=1e-14)
        assert float(b.se_tau2) == pytest.approx(float(a.se_tau2), rel=1e-9)


effects = st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 2.0)), min_size=2, max_size=10)


@settings(max_examples=40, deadline=None)
@given(effects, st.sampled_from(["EE", "DL", "REML", "PM", "HS"]), st.randoms(use_true_random=False))
def test_permuting_studies_changes_nothing(data, method, rnd):
    yi, vi = (np.array(x) for x in zip(*data))
    perm = list(range(len(yi)))
    rnd.shuffle(perm)
    try:
        a = mgmeta.meta_analysis(yi, vi, method=method)
    except mgmeta.ConvergenceError:
        # e.g. yi = (0, 0, 0, 0, 1), vi = (1, 1, 1, 1, 0.125): metafor's Fisher scoring does not converge
        # either; the order of the studies must not change that
        with pytest.raises(mgmeta.ConvergenceError):
            mgmeta.meta_analysis(yi[perm], vi[perm], method=method)
        return
    b = mgmeta.meta_analysis(yi[perm], vi[perm], method=method)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-8, abs=1e-10)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-10)


@settings(max_examples=40, deadline=None)
@given(effects, st.floats(0.1, 10.0))
def test_scaling_variances_scales_fe_se(data, c):
    yi, vi = (np.array(x) for x in zip(*data))
    a = mgmeta.meta_analysis(yi, vi, method="EE")
    b = mgmeta.meta_analysis(yi, vi * c, method="EE")
    assert b.se == pytest.approx(a.se * np.sqrt(c), rel=1e-10)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-10, abs=1e-12)


def test_refit_keeps_data_and_profile(bcg):
    res = mgmeta.meta_analysis(bcg, method="DL", profile="revman5")
    again = res.refit(level=0.9)
    assert again.profile == "revman5" and again.level == 0.9
    assert again.tau2 == pytest.approx(res.tau2)
    plain = mgmeta.meta_analysis(bcg, method="DL").refit(method="REML")
    assert plain.method == "REML" and plain.measure == "RR"
