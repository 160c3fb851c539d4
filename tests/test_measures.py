"""effect_sizes for metafor's further measures and vtype options, and the transf_* back-transformations,
against R metafor 3.8 (tests/reference/breadth.json, from breadth.R)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mgmeta
from conftest import ATOL, TOL_CLOSED, load_reference
from mgmeta import transforms

BREADTH = load_reference("breadth.json")
ESCALC = BREADTH["escalc"]
TRANSF = BREADTH["transf"]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual, expected, rtol=TOL_CLOSED, atol=ATOL):
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, float)), _arr(np.atleast_1d(expected)),
                               rtol=rtol, atol=atol, equal_nan=True)


def _dropped(case):
    inp = case["inputs"]
    if not case["args"].get("drop00"):
        return np.zeros(len(case["yi"]), bool)
    if "x1i" in inp:
        return (_arr(inp["x1i"]) == 0) & (_arr(inp["x2i"]) == 0)
    a, c, n1, n2 = (_arr(inp[x]) for x in ("ai", "ci", "n1i", "n2i"))
    return ((a == 0) & (c == 0)) | ((a == n1) & (c == n2))


@pytest.mark.parametrize("case", ESCALC, ids=[c["id"] for c in ESCALC])
def test_effect_sizes_match_escalc(case):
    kwargs = {k: _arr(v) for k, v in case["inputs"].items()}
    kwargs.update(case["args"])
    yi_r, vi_r = _arr(case["yi"]), _arr(case["vi"])
    dropped = _dropped(case)
    undefined = (np.isnan(yi_r) | np.isnan(vi_r) | (vi_r <= 0)) & ~dropped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mgmeta.ContinuityCorrectionWarning)
        if undefined.any():
            # R gives NA (or a zero variance); mgmeta names the study instead
            with pytest.raises(mgmeta.DataError, match="study at position"):
                mgmeta.effect_sizes(case["measure"], **kwargs)
            return
        es = mgmeta.effect_sizes(case["measure"], **kwargs)
    # a dropped study has no effect size (R keeps a variance that does not depend on the counts)
    assert es["dropped"].tolist() == dropped.tolist()
    assert np.isnan(es["yi"][dropped]).all() and np.isnan(es["vi"][dropped]).all()
    close(es["yi"][~dropped], yi_r[~dropped])
    close(es["vi"][~dropped], vi_r[~dropped])
    assert es.attrs["measure"] == case["measure"]


def test_every_new_measure_is_covered():
    covered = {c["measure"] for c in ESCALC}
    assert set(mgmeta.measures.MEASURES) <= covered


def test_escalc_add_defaults_to_zero_for_the_variance_stabilising_measures():
    # escalc: add = 0 for PAS, PFT, IRS, IRFT, IRSD unless given
    es = mgmeta.effect_sizes("PFT", xi=[0, 3], ni=[10, 12])
    assert not es["corrected"].any()
    with pytest.warns(mgmeta.ContinuityCorrectionWarning):
        es = mgmeta.effect_sizes("PFT", xi=[0, 3], ni=[10, 12], add=0.5)
    assert es["corrected"].tolist() == [True, False]


def test_proportions_accept_non_events():
    a = mgmeta.effect_sizes("PLO", xi=[3, 7], ni=[10, 20])
    b = mgmeta.effect_sizes("PLO", xi=[3, 7], mi=[7, 13])
    np.testing.assert_allclose(a["yi"], b["yi"])
    np.testing.assert_allclose(a["vi"], b["vi"])


def test_data_columns_and_labels():
    import pandas as pd
    d = pd.DataFrame({"name": ["A", "B"], "r": [0.3, 0.5], "n": [20, 30]})
    es = mgmeta.effect_sizes("ZCOR", ri="r", ni="n", data=d, labels="name")
    assert es.attrs["labels"] == "name"                 # data's label column is kept, not copied (as main)
    assert es["name"].tolist() == ["A", "B"] and list(es.columns[:3]) == ["name", "r", "n"]
    close(es["yi"], np.arctanh([0.3, 0.5]))


@pytest.mark.parametrize("measure, kwargs, field", [
    ("PR", dict(xi=[5, 12], ni=[10, 10]), "xi"),             # events above the group size
    ("PR", dict(xi=[-1, 2], ni=[10, 10]), "xi"),
    ("IR", dict(xi=[1, 2], ti=[10, 0]), "ti"),
    ("COR", dict(ri=[0.3, 1.2], ni=[10, 10]), "ri"),
    ("ZCOR", dict(ri=[0.3, 0.2], ni=[10, 3]), "ni"),        # variance 1/(n-3) undefined
    ("UCOR", dict(ri=[0.3, 0.2], ni=[10, 4]), "ni"),
    ("MNLN", dict(mi=[1, -2], sdi=[1, 1], ni=[10, 10]), "mi"),
    ("SDLN", dict(sdi=[1, 1], ni=[10, 1]), "ni"),
    ("IRR", dict(x1i=[1, 2], t1i=[10, 10], x2i=[1], t2i=[10, 10]), None),
    ("MC", dict(m1i=[1], m2i=[0], sd1i=[1], sd2i=[1], ni=[10], ri=[1.5]), "ri"),
    ("PLO", dict(xi=[0, 2], ni=[10, 10], to="none"), "xi"),  # logit of 0 is infinite
    ("PLO", dict(xi=[1], ni=[10], sdi=[1]), "sdi"),           # an argument the measure does not take
    ("PLO", dict(xi=[1], ni=[10], vtype="UB"), "vtype"),      # no such variance for PLO
    ("OR", dict(ai=[1], n1i=[10], ci=[2], n2i=[10], vtype="AV"), "vtype"),
    ("OR", dict(ai=[1], n1i=[10], ci=[2], n2i=[10], xi=[1]), "xi"),
    ("PR", dict(xi=[1, 2], ni=[10, 10], vtype=["LS"]), "vtype"),              # one vtype per study
    ("PR", dict(xi=[1, 2], ni=[10, 10], vtype=["LS", "HO"]), "vtype"),        # HO is not a PR variance
    ("SMD", dict(m1i=[1, 2], sd1i=[1, 1], n1i=[5, 5], m2i=[0, 0], sd2i=[1, 1], n2i=[5, 5], vtype=[["LS"]]),
     "vtype"),
])
def test_bad_input_raises_data_error(measure, kwargs, field):
    with pytest.raises(mgmeta.DataError) as err:
        mgmeta.effect_sizes(measure, **kwargs)
    if field is not None:
        assert err.value.field.startswith(field)


def test_a_vtype_per_study():
    """Each study's variance from its own estimator; "AV" averages over all studies (escalc's vector vtype)."""
    xi, ni = [16, 10, 4, 43], [17, 12, 8, 58]
    mixed = mgmeta.effect_sizes("PR", xi=xi, ni=ni, vtype=["LS", "AV", "UB", "LS"])
    alone = {v: mgmeta.effect_sizes("PR", xi=xi, ni=ni, vtype=v)["vi"].to_numpy() for v in ("LS", "AV", "UB")}
    np.testing.assert_array_equal(mixed["vi"], [alone["LS"][0], alone["AV"][1], alone["UB"][2], alone["LS"][3]])
    assert mixed.attrs["vtype"] == ("LS", "AV", "UB", "LS")
    # the same vtype for every study is that vtype; a Series works too
    same = mgmeta.effect_sizes("PR", xi=xi, ni=ni, vtype=pd.Series(["AV"] * 4))
    assert same.attrs["vtype"] == "AV"
    np.testing.assert_array_equal(same["vi"], alone["AV"])
    # core measures: SMD with LS, UB and LS2
    cont = dict(m1i=[1.0, 2.0, 0.5], sd1i=[1.0, 1.2, 0.9], n1i=[10, 12, 8], m2i=[0.0, 0.4, 0.1],
                sd2i=[1.1, 1.0, 1.0], n2i=[11, 12, 9])
    mixed = mgmeta.effect_sizes("SMD", **cont, vtype=("UB", "LS", "LS2"))
    for i, v in enumerate(("UB", "LS", "LS2")):
        assert mixed["vi"][i] == mgmeta.effect_sizes("SMD", **cont, vtype=v)["vi"][i]


def test_unknown_measure_lists_the_new_ones():
    with pytest.raises(mgmeta.DataError, match="PFT"):
        mgmeta.effect_sizes("XYZ", xi=[1], ni=[2])


def test_pooled_pft_back_transformed_with_the_harmonic_mean():
    es = mgmeta.effect_sizes("PFT", xi=[3, 7, 12], ni=[10, 20, 30])
    back = transforms.display_transform("PFT", es)
    assert back is not None
    close(back(es["yi"].mean()), transforms.transf_ipft_hm(es["yi"].mean(), [10, 20, 30]))


_FUN = {"transf.ilogit": transforms.transf_ilogit, "transf.logit": transforms.transf_logit,
        "transf.ztor": transforms.transf_ztor, "transf.rtoz": transforms.transf_rtoz,
        "transf.iarcsin": transforms.transf_iarcsin, "transf.isqrt": transforms.transf_isqrt}


@pytest.mark.parametrize("case", TRANSF, ids=[c["id"] for c in TRANSF])
def test_transf_matches_metafor(case):
    x = _arr(case["x"])
    name = case["fun"]
    if name in _FUN:
        got = _FUN[name](x)
    elif name in ("transf.ipft", "transf.pft"):
        got = getattr(transforms, name.replace(".", "_"))(x, _arr(case["ni"]))
    elif name == "transf.ipft.hm":
        got = transforms.transf_ipft_hm(x, _arr(case["ni"]))
    elif name in ("transf.irft", "transf.iirft"):
        got = getattr(transforms, name.replace(".", "_"))(x, _arr(case["ti"]))
    else:  # the integrals: R's integrate() is good to about 1e-8 here
        got = getattr(transforms, name.replace(".", "_"))(x, case["tau2"][0])
        close(got, case["value"], rtol=1e-6)
        return
    close(got, case["value"])


def test_swapping_events_and_groups_flips_the_sign():
    xi, ni = np.array([0, 3, 12, 20]), np.array([15, 40, 12, 50])
    a = mgmeta.effect_sizes("PLO", xi=xi, ni=ni, to="all")
    b = mgmeta.effect_sizes("PLO", xi=ni - xi, ni=ni, to="all")
    np.testing.assert_allclose(a["yi"], -b["yi"], rtol=1e-12)
    np.testing.assert_allclose(a["vi"], b["vi"], rtol=1e-12)
    kw = dict(x1i=[3, 5, 9], t1i=[100, 200, 150], x2i=[6, 2, 9], t2i=[120, 180, 160])
    swapped = dict(x1i=kw["x2i"], t1i=kw["t2i"], x2i=kw["x1i"], t2i=kw["t1i"])
    for measure in ("IRR", "IRD", "IRSD"):
        np.testing.assert_allclose(mgmeta.effect_sizes(measure, **kw)["yi"],
                                   -mgmeta.effect_sizes(measure, **swapped)["yi"], rtol=1e-12)
