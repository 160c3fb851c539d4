"""``mgmeta pool FILE.csv``: the general command-line tool pools any CSV, with metafor's numbers.

Reference numbers: tests/reference/core.json (``rma`` on ``escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos,
di=cneg, data=dat.bcg)``) and tests/reference/binary.json (``rma.mh``, ``rma.peto`` on dat.bcg), both written by
R metafor 3.8. The BCG table below is metafor's dat.bcg (Colditz et al. 1994).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ATOL, TOL_CLOSED, TOL_ITERATIVE, load_reference
from test_plots_support import BCG

import mgmeta
from mgmeta.cli import main

SRC = Path(__file__).resolve().parents[1] / "src"
ARMS = ["--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg", "--slab", "study"]


def run(args, capsys):
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def bcg_csv(tmp_path):
    path = tmp_path / "bcg.csv"
    BCG.to_csv(path, index=False)
    return path


def _ref(name, case_id, key):
    cases = load_reference(name)[key]
    return next(c for c in cases if c["id"] == case_id)


def _close(got, want, rtol):
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want, rel=rtol, abs=ATOL)


@pytest.mark.parametrize("method,test", [("REML", "knha"), ("DL", "z"), ("EE", "z"), ("PM", "z")])
def test_json_agrees_with_metafor_rma(bcg_csv, capsys, method, test):
    ref = _ref("core.json", f"bcg_RR_{method}_{test}", "rma")
    code, out, err = run(["pool", str(bcg_csv), "--measure", "RR", *ARMS, "--method", method, "--test", test,
                          "--format", "json"], capsys)
    assert code == 0, err
    got = json.loads(out)
    tol = TOL_ITERATIVE if method in ("REML", "ML", "PM", "EB") else TOL_CLOSED
    for key in ("estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "tau2", "i2", "q"):
        _close(got[key], ref["out"][key], tol)
    assert got["k"] == 13 and got["measure"] == "RR" and got["method"] == method and got["test"] == test
    assert got["estimate_exp"] == pytest.approx(math.exp(ref["out"]["estimate"]), rel=tol)
    assert [s["study"] for s in got["studies"]] == list(BCG["study"])
    assert [s["yi"] for s in got["studies"]] == pytest.approx(ref["yi"], rel=TOL_CLOSED)
    assert [s["weight"] for s in got["studies"]] == pytest.approx(ref["out"]["weights"], rel=tol)


@pytest.mark.parametrize("method,measure,case", [("MH", "OR", "bcg_MH_OR"), ("MH", "RR", "bcg_MH_RR"),
                                                 ("PETO", "OR", "bcg_PETO")])
def test_mantel_haenszel_and_peto_agree_with_metafor(bcg_csv, capsys, method, measure, case):
    ref = _ref("binary.json", case, "cases")
    code, out, err = run(["pool", str(bcg_csv), "-m", measure, *ARMS, "--method", method, "--format", "json"],
                         capsys)
    assert code == 0, err
    got = json.loads(out)
    for key in ("estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "q", "i2"):
        _close(got[key], ref["out"][key], TOL_CLOSED)


def test_text_output_is_the_model_printout_and_arm_sizes_work(bcg_csv, capsys, tmp_path):
    code, out, _ = run(["pool", str(bcg_csv), "--measure", "OR", *ARMS], capsys)
    assert code == 0
    es = mgmeta.effect_sizes("OR", ai=BCG["tpos"], bi=BCG["tneg"], ci=BCG["cpos"], di=BCG["cneg"],
                             labels=list(BCG["study"]))
    assert out.rstrip("\n") == str(mgmeta.meta_analysis(es)).rstrip("\n")
    # arm sizes instead of non-events, level in percent, CSV output
    frame = BCG.assign(n1=BCG["tpos"] + BCG["tneg"], n2=BCG["cpos"] + BCG["cneg"])
    path = tmp_path / "bcg_n.csv"
    frame.to_csv(path, index=False)
    code, out, _ = run(["pool", str(path), "-m", "OR", "--ai", "tpos", "--n1i", "n1", "--ci", "cpos", "--n2i", "n2",
                        "--level", "90", "--format", "csv"], capsys)
    assert code == 0
    row = pd.read_csv(pd.io.common.StringIO(out)).iloc[0]
    ref = mgmeta.meta_analysis(es, level=0.9)
    assert row["ci_lower"] == pytest.approx(ref.ci_lower, rel=1e-12) and row["level"] == pytest.approx(0.9)


def test_means_and_computed_effects(tmp_path, capsys):
    frame = pd.DataFrame({"trial": ["A 2001", "B 2005", "C 2010"], "m1": [1.0, 2.0, 0.5], "s1": [1.0, 1.2, 0.9],
                          "n1": [20, 30, 40], "m2": [0.2, 0.1, 0.0], "s2": [1.1, 1.0, 1.0], "n2": [20, 31, 38]})
    path = tmp_path / "means.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(["pool", str(path), "-m", "SMD", "--m1i", "m1", "--sd1i", "s1", "--n1i", "n1", "--m2i", "m2",
                          "--sd2i", "s2", "--n2i", "n2", "--slab", "trial", "--method", "DL", "--format", "json"],
                         capsys)
    assert code == 0, err
    es = mgmeta.effect_sizes("SMD", m1i=frame["m1"], sd1i=frame["s1"], n1i=frame["n1"], m2i=frame["m2"],
                             sd2i=frame["s2"], n2i=frame["n2"], labels=list(frame["trial"]))
    assert json.loads(out)["estimate"] == pytest.approx(mgmeta.meta_analysis(es, method="DL").estimate, rel=1e-12)
    # yi with sei, from standard input, tab-separated
    gen = pd.DataFrame({"yi": [0.1, 0.3, -0.2, 0.5], "se": [0.2, 0.25, 0.3, 0.15]})
    proc = subprocess.run([sys.executable, "-m", "mgmeta.cli", "pool", "-", "-m", "GEN", "--yi", "yi", "--sei", "se",
                           "--sep", "\t", "--format", "json"], input=gen.to_csv(sep="\t", index=False),
                          capture_output=True, text=True, env=_env())
    assert proc.returncode == 0, proc.stderr
    want = mgmeta.meta_analysis(gen["yi"].to_numpy(), sei=gen["se"].to_numpy())
    assert json.loads(proc.stdout)["estimate"] == pytest.approx(want.estimate, rel=1e-9)


def test_forest_plot_is_written(bcg_csv, capsys, tmp_path):
    target = tmp_path / "forest.svg"
    code, out, err = run(["pool", str(bcg_csv), "-m", "RR", *ARMS, "--forest", str(target), "--favours", "vaccine",
                          "control", "--arm-labels", "Vaccine", "No vaccine", "--title", "BCG and tuberculosis"],
                         capsys)
    assert code == 0, err
    assert f"forest plot written to {target}" in out
    svg = target.read_text()
    for text in ("Vaccine", "No vaccine", "Favours vaccine", "BCG and tuberculosis", "Risk ratio (log scale)"):
        assert text in svg
    code, _, err = run(["pool", str(bcg_csv), "-m", "RR", *ARMS, "--forest", str(tmp_path / "f.gif")], capsys)
    assert code == 2 and "--forest must end in .png, .svg or .pdf" in err


def test_bad_input_exits_2_with_a_message_naming_the_column(bcg_csv, tmp_path, capsys):
    code, _, err = run(["pool", str(bcg_csv), "-m", "OR", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos",
                        "--di", "c_neg"], capsys)
    assert code == 2
    assert "column 'c_neg' (--di) is not in" in err and "'cneg'" in err
    code, _, err = run(["pool", str(bcg_csv), "-m", "OR", *ARMS[:-2], "--slab", "name"], capsys)
    assert code == 2 and "column 'name' (--slab)" in err
    code, _, err = run(["pool", str(tmp_path / "none.csv"), "-m", "OR", *ARMS], capsys)
    assert code == 2 and "no such file" in err
    # a value that is not a number, and a missing value, named with row and study
    bad = BCG.astype({"tneg": object})
    bad.loc[2, "tneg"] = "twelve"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    code, _, err = run(["pool", str(path), "-m", "OR", *ARMS], capsys)
    assert code == 2 and "column 'tneg' (--bi), row 3 (study 'Rosenthal 1960'): 'twelve' is not a number" in err
    bad.loc[2, "tneg"] = None
    bad.to_csv(path, index=False)
    code, _, err = run(["pool", str(path), "-m", "OR", *ARMS], capsys)
    assert code == 2 and "column 'tneg' (--bi) has no value for 1 study ('Rosenthal 1960')" in err
    # events above the arm size: the library's DataError, as one line
    bad = BCG.assign(n1=BCG["tpos"] - 1)
    bad.to_csv(path, index=False)
    code, _, err = run(["pool", str(path), "-m", "OR", "--ai", "tpos", "--n1i", "n1", "--ci", "cpos", "--n2i",
                        "cneg"], capsys)
    assert code == 2 and err.startswith("mgmeta pool: error: ") and "Traceback" not in err
    # options that do not fit together
    code, _, err = run(["pool", str(bcg_csv), "-m", "MD", *ARMS], capsys)
    assert code == 2 and "--measure MD needs means" in err
    code, _, err = run(["pool", str(bcg_csv), "-m", "SMD", "--yi", "tpos"], capsys)
    assert code == 2 and "--yi needs --vi or --sei" in err
    code, _, err = run(["pool", str(bcg_csv), "-m", "MD", "--yi", "tpos", "--vi", "tneg", "--method", "MH"], capsys)
    assert code == 2 and "--method MH pools 2x2 tables" in err
    code, _, err = run(["pool", str(bcg_csv), "-m", "OR"], capsys)
    assert code == 2 and "name the columns" in err
    # not a table at all
    path.write_bytes(b"\x00\xff\xfe garbage")
    code, _, err = run(["pool", str(path), "-m", "OR", *ARMS], capsys)
    assert code == 2 and "Traceback" not in err
    empty = tmp_path / "empty.csv"
    empty.write_text("study,tpos,tneg,cpos,cneg\n")
    code, _, err = run(["pool", str(empty), "-m", "OR", *ARMS], capsys)
    assert code == 2 and "has no rows" in err


def _env():
    return dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                MPLBACKEND="Agg")
