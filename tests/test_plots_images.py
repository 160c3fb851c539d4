"""Image baselines: the plots must not change by accident.

Each figure is rendered at 100 dpi and compared with ``tests/baseline/<name>.png`` by matplotlib's
``compare_images`` (root-mean-square difference of the pixels, 0-255 scale) with a tolerance that
absorbs anti-aliasing and FreeType differences between machines but not a moved column, a lost
whisker or a new colour. After an intended change, regenerate the baselines and review them:

    MGMETA_UPDATE_BASELINES=1 .venv/bin/python -m pytest tests/test_plots_images.py -m images

(the run then fails once, listing the files it wrote). Select these tests with ``-m images``.
"""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.testing.compare import compare_images
from test_plots_support import BCG, bcg_effects, bcg_fit, rob_frame

import mgmeta
from mgmeta.analyses import egger_test
from mgmeta.plots import cumulative_forest, drapery, forest, funnel, radial, rob_summary, save

pytestmark = pytest.mark.images

BASELINE = Path(__file__).parent / "baseline"
TOL = 8.0          # RMS, 0-255
DPI = 100
UPDATE = os.environ.get("MGMETA_UPDATE_BASELINES") == "1"


def _subgroups():
    es = bcg_effects("RR")
    alloc = BCG["alloc"].to_numpy()
    return {g.capitalize(): mgmeta.meta_analysis(es.loc[alloc == g]) for g in ("random", "alternate", "systematic")}


CASES = {
    "forest_bcg": lambda: forest(bcg_fit("RR")),
    "forest_subgroups_narrow": lambda: forest(_subgroups(), overall=bcg_fit("RR"), subgroup_test=(1.86, 2, 0.394),
                                              width=3.5),
    "forest_rob": lambda: forest(bcg_fit("OR"), rob=rob_frame(list(BCG["study"])), arms=False),
    "forest_two_studies": lambda: forest(bcg_fit("OR", rows=[0, 1]), favours=("vaccine", "control"),
                                         title="BCG vaccine vs no vaccine: tuberculosis"),
    "forest_mantel_haenszel_markers": lambda: forest(
        mgmeta.mantel_haenszel(ai=BCG["tpos"], bi=BCG["tneg"], ci=BCG["cpos"], di=BCG["cneg"],
                               labels=list(BCG["study"])),
        data=bcg_effects("OR"), markers={"Aronson 1948": "a"}, footnotes={"a": "Counts read from a figure."}),
    "cumulative_forest": lambda: cumulative_forest(bcg_fit("OR")),
    "funnel_contours_egger": lambda: funnel(bcg_fit("RR"), contours=True, egger=egger_test(bcg_fit("RR"))),
    "rob_summary": lambda: rob_summary(rob_frame(list(BCG["study"]))),
    "drapery": lambda: drapery(bcg_fit("RR")),
    "radial": lambda: radial(bcg_fit("RR")),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.filterwarnings("ignore:forest plot .* no room for the column:mgmeta.errors.MgmetaWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_image_matches_baseline(name, tmp_path):
    fig = CASES[name]()
    (actual,) = save(fig, tmp_path / name, formats=("png",), dpi=DPI)
    expected = BASELINE / f"{name}.png"
    if UPDATE:
        BASELINE.mkdir(exist_ok=True)
        shutil.copyfile(actual, expected)
        pytest.fail(f"baseline written: {expected} (review it, then run again without MGMETA_UPDATE_BASELINES)")
    assert expected.exists(), (f"no baseline {expected}; create it with MGMETA_UPDATE_BASELINES=1 "
                               f"(see this module's docstring)")
    err = compare_images(str(expected), str(actual), tol=TOL, in_decorator=True)
    if err is not None:
        diff = Path(err["diff"]) if "diff" in err else None
        keep = Path(__file__).resolve().parents[1] / "build" / "image-diffs"
        keep.mkdir(parents=True, exist_ok=True)
        for p in (actual, diff):
            if p is not None and p.exists():
                shutil.copy(p, keep / p.name)
        pytest.fail(f"{name}: RMS difference {err['rms']:.2f} > {TOL} from {expected.name}; the new image and "
                    f"the difference are in {keep}")


def test_compare_detects_a_changed_plot(tmp_path):
    """The tolerance is tight enough to see a real change (the same forest plot with other limits)."""
    (a,) = save(forest(bcg_fit("RR")), tmp_path / "a", formats=("png",), dpi=DPI)
    (b,) = save(forest(bcg_fit("RR"), xlim=(0.1, 10)), tmp_path / "b", formats=("png",), dpi=DPI)
    err = compare_images(str(a), str(b), tol=TOL, in_decorator=True)
    assert err is not None and err["rms"] > TOL
    (c,) = save(forest(bcg_fit("RR")), tmp_path / "c", formats=("png",), dpi=DPI)
    assert compare_images(str(a), str(c), tol=0, in_decorator=True) is None  # rendering is deterministic
    assert np.isfinite(TOL)
