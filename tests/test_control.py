"""``control=`` (issue 13, item 4): metafor's convergence settings, kept by the fit and used by its follow-ups.

Reference: tests/reference/usability.R -> usability.json, blocks ``control``, ``control_reg``,
``extra_control`` (metafor 3.8-1; confint with ``control = list(tol = 1e-12, maxiter = 10000)`` for the
tight cases, leave1out and influence reuse ``res$control`` in metafor).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from _usability import REF, arr, frame

import mgmeta
from mgmeta.analyses import meta_regression
from mgmeta.control import DEFAULT_CONTROL, Control, check_control
from mgmeta.errors import ConvergenceError, DataError

BCG = frame("bcg")
TIGHT = {"threshold": 1e-12, "tol": 1e-12, "maxiter": 10000}
# with the tight control the fits are exact: agreement to 1e-10 (closed forms ask 1e-7)
RTOL = 1e-10


@pytest.mark.parametrize("case", REF["control"], ids=[c["id"] for c in REF["control"]])
def test_control_matches_metafor(case):
    res = mgmeta.meta_analysis("yi", "vi", data=BCG, method=case["method"], control=case["control"])
    out = case["out"]
    for key in ("estimate", "se", "tau2", "se_tau2", "i2", "h2", "q"):
        assert getattr(res, key) == pytest.approx(out[key], rel=RTOL), key
    ci = res.heterogeneity_ci()
    for name in ("tau2", "tau", "i2", "h2"):
        iv = getattr(ci, name)
        np.testing.assert_allclose([iv.estimate, iv.lower, iv.upper], arr(case["confint"][name]), rtol=RTOL,
                                   err_msg=name)
    loo = res.leave_one_out()
    for col in ("estimate", "se", "tau2", "i2", "h2", "q"):
        np.testing.assert_allclose(loo[col], arr(case["leave1out"][col]), rtol=RTOL, err_msg=col)
    inf = res.influence()
    np.testing.assert_allclose(inf["tau2_del"], arr(case["influence"]["tau2_del"]), rtol=RTOL)
    np.testing.assert_allclose(inf["rstudent"], arr(case["influence"]["rstudent"]), rtol=RTOL)
    np.testing.assert_allclose(inf["cooks"], arr(case["influence"]["cooks"]), rtol=1e-8)


def test_pm_default_and_tight_differ_as_in_metafor():
    # the issue: PM tau² on BCG is 1e-4 relative off the exact root with metafor's default tolerance
    loose = mgmeta.meta_analysis("yi", "vi", data=BCG, method="PM")
    tight = mgmeta.meta_analysis("yi", "vi", data=BCG, method="PM", control=TIGHT)
    assert abs(loose.tau2 / tight.tau2 - 1) > 5e-5
    assert tight.control == Control(threshold=1e-12, tol=1e-12, maxiter=10000)
    assert loose.control == DEFAULT_CONTROL


def test_control_of_meta_regression():
    case = REF["control_reg"]
    fit = meta_regression("yi", "vi", mods="~ ablat", data=BCG, method="PM", control=TIGHT)
    assert fit.tau2 == pytest.approx(case["out"]["tau2"], rel=RTOL)
    np.testing.assert_allclose(fit.coef, arr(case["out"]["coef"]), rtol=RTOL)
    assert fit.control.tol == 1e-12


@pytest.mark.parametrize("case", REF["extra_control"], ids=[c["id"] for c in REF["extra_control"]])
def test_stepadj_and_tau2_init(case):
    ctl = {k.replace(".", "_"): v for k, v in case["control"].items()}
    res = mgmeta.meta_analysis("yi", "vi", data=BCG, method=case["method"], control=ctl)
    # the default threshold stops where the path stops: the same iterates as metafor
    assert res.tau2 == pytest.approx(case["out"]["tau2"], rel=1e-12)
    assert res.estimate == pytest.approx(case["out"]["estimate"], rel=1e-12)


def test_followups_use_the_fits_control():
    tight = mgmeta.meta_analysis("yi", "vi", data=BCG, method="PM", control=TIGHT)
    loose = mgmeta.meta_analysis("yi", "vi", data=BCG, method="PM")
    # GOSH: the full-set row is the fit itself
    g = tight.gosh()
    full = g.frame.loc[g.frame["k"] == tight.k]
    assert float(full["tau2"].iloc[0]) == pytest.approx(tight.tau2, rel=1e-12)
    # bootstrap and cumulative refit with the same settings
    cum = tight.cumulative()
    assert float(cum["tau2"].iloc[-1]) == pytest.approx(tight.tau2, rel=1e-12)
    assert float(loose.cumulative()["tau2"].iloc[-1]) == pytest.approx(loose.tau2, rel=1e-12)
    b1 = tight.bootstrap(n_boot=50, seed=3)
    b2 = mgmeta.meta_analysis("yi", "vi", data=BCG, method="PM", control=TIGHT).bootstrap(n_boot=50, seed=3)
    np.testing.assert_array_equal(b1.draws["tau2"], b2.draws["tau2"])
    b3 = loose.bootstrap(n_boot=50, seed=3)
    assert not np.array_equal(b1.draws["tau2"], b3.draws["tau2"])
    # refit keeps it
    assert tight.refit(level=0.9).control == tight.control
    # permutation test of a meta-regression
    fit = meta_regression("yi", "vi", mods="~ ablat", data=BCG, method="PM", control=TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.MgmetaWarning)
        perm = fit.permutation_test(n=20, seed=1)
    assert perm.qm == pytest.approx(fit.qm)


def test_control_reaches_the_batch_engine():
    from mgmeta.engine import fit_batch
    y = BCG["yi"].to_numpy()
    v = BCG["vi"].to_numpy()
    out = fit_batch(y, v, mask=np.ones((2, 13), bool), method="PM", control=TIGHT, progress=False, n_jobs=1)
    tight = mgmeta.meta_analysis(y, v, method="PM", control=TIGHT)
    np.testing.assert_allclose(out["tau2"], tight.tau2, rtol=1e-13)


@pytest.mark.parametrize("bad, match", [
    ({"thresh": 1e-8}, "unknown control setting 'thresh'"),
    ({"maxiter": 0}, "maxiter"),
    ({"maxiter": 2.5}, "maxiter"),
    ({"tol": -1}, "positive"),
    ({"stepadj": True}, "must be a number"),
    ({"tau2_init": -0.1}, "non-negative"),
    ("tight", "control must be a dict"),
])
def test_bad_control_raises(bad, match):
    with pytest.raises(DataError, match=match):
        mgmeta.meta_analysis("yi", "vi", data=BCG, control=bad)


def test_control_names_as_metafor():
    assert check_control({"tau2.init": 0.2}).tau2_init == 0.2
    assert check_control(None) is DEFAULT_CONTROL
    with pytest.raises(ConvergenceError, match="maxiter"):
        mgmeta.meta_analysis("yi", "vi", data=BCG, method="REML", control={"maxiter": 2, "threshold": 1e-14})


def test_gosh_with_control_matches_metafor():
    case = REF["gosh"]
    res = mgmeta.meta_analysis("yi", "vi", data=BCG.iloc[:6], method="PM", control=TIGHT)
    g = res.gosh()
    ours = {tuple(bool(x) for x in row): i for i, row in enumerate(np.asarray(g.membership, bool))}
    rows = [ours[tuple(inc)] for inc in case["incl"]]           # match subsets by membership
    np.testing.assert_allclose(g.frame["tau2"].to_numpy()[rows], arr(case["tau2"]), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(g.frame["estimate"].to_numpy()[rows], arr(case["estimate"]), rtol=1e-9)


def test_exact_permutation_test_with_control_matches_metafor():
    case = REF["permutest"]
    fit = meta_regression("yi", "vi", mods="~ ablat", data=BCG.iloc[:6], method="PM", control=TIGHT)
    assert fit.qm == pytest.approx(case["qm"], rel=1e-10)
    perm = fit.permutation_test(exact=True)
    np.testing.assert_allclose(perm.pvalue, arr(case["pval"]), rtol=1e-12)
    assert perm.qm_pvalue == pytest.approx(case["qm_pvalue"], rel=1e-12)
