"""``mgmeta pool`` and ``mgmeta report`` (through mgmeta.cli.main) and ``python -m mgmeta.report``.

Exit codes scripts can rely on: pool 0 printed, 1 nothing to pool, 2 bad input; report 0 built,
1 a notebook failed, 2 bad input; argparse usage errors 2; --help 0.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mgmeta.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def run(args, capsys):
    """Exit code, stdout and stderr of ``mgmeta <args>`` (argparse's SystemExit counts as an exit code)."""
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _usable(outcome, timepoint, measure, route, comparison="placebo", comparator="placebo"):
    """The analysis-ready rows with usable arm numbers, straight from mgmeta.review.data."""
    from mgmeta.review.data import analysis_data
    frame = analysis_data(outcome, timepoint, measure=measure, route=route, comparison=comparison,
                          comparator=comparator)
    return frame[frame["data_form"] == "arms"]


# ---- mgmeta pool ------------------------------------------------------------------------------

def test_pool_help(capsys):
    code, out, _ = run(["pool", "--help"], capsys)
    assert code == 0
    for opt in ("--measure", "--method", "--test", "--forest", "--exclude", "--comparison", "--format"):
        assert opt in out


def test_pool_prints_the_summary(capsys):
    rows = _usable("rescue_medication", "30min", "OR", "iv")
    assert len(rows) == 1
    code, out, err = run(["pool", "rescue_medication", "30min", "-c", "iv-placebo"], capsys)
    assert code == 0, err
    # one trial is one sentence, named with its comparison, not a model printout
    assert "IV magnesium vs placebo: Rescue medication at 30 min" in out and "one trial" in out
    assert str(rows["study"].iloc[0]) in out and "odds ratio" in out


def test_pool_json_matches_the_data(capsys):
    import mgmeta
    rows = _usable("rescue_medication", "30min", "OR", "iv")
    es = mgmeta.effect_sizes("OR", ai=rows["ai"], n1i=rows["n1i"], ci=rows["ci"], n2i=rows["n2i"])
    code, out, _ = run(["pool", "rescue_medication", "30min", "--route", "iv", "--measure", "or",
                        "--format", "json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["k"] == 1 and summary["measure"] == "OR"
    assert math.isclose(summary["estimate"], math.exp(es["yi"].iloc[0]), rel_tol=1e-12)
    assert summary["participants"] == int(rows["n1i"].iloc[0] + rows["n2i"].iloc[0])


def test_pool_csv_and_forest(capsys, tmp_path):
    target = tmp_path / "forest.png"
    code, out, err = run(["pool", "pain_score", "60min", "-c", "iv-active-dexamethasone-metoclopramide",
                          "--format", "csv", "--forest", str(target)], capsys)
    assert code == 0, err
    header = out.splitlines()[0].split(",")
    assert header[:2] == ["comparison", "comparison_id"] and "measure" in header
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pool_nothing_to_pool_exits_1(capsys):
    frame = _usable("pain_relief", "30min", "OR", "iv")
    assert frame.empty  # no trial gives usable counts at 30 min (see the data overview)
    code, out, err = run(["pool", "pain_relief", "30min", "-c", "iv-placebo"], capsys)
    assert code == 1
    assert "no trial reports usable numbers" in err


def test_pool_bad_input_exits_2(capsys, tmp_path):
    code, _, err = run(["pool", "no_such_outcome", "30min"], capsys)
    assert code == 2 and "unknown outcome" in err
    code, _, err = run(["pool", "rescue_medication", "30min", "--exclude", "nosuchtrial"], capsys)
    assert code == 2 and "nosuchtrial" in err
    code, _, err = run(["pool", "rescue_medication", "30min", "-c", "iv-placebo",
                        "--forest", str(tmp_path / "forest.txt")], capsys)
    assert code == 2 and ".png" in err
    code, _, err = run(["pool", "rescue_medication", "30min", "-c", "iv-nothing"], capsys)
    assert code == 2 and "unknown comparison" in err and "iv-placebo" in err
    assert run(["pool", "rescue_medication", "30min", "--measure", "XYZ"], capsys)[0] == 2
    assert run(["pool"], capsys)[0] == 2


# ---- mgmeta report ----------------------------------------------------------------------------

NOTEBOOK = """\
# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A tiny notebook

# %% tags=["parameters"]
FIGURE_DIR = "figures"
TABLE_DIR = "tables"

# %%
{body}
"""


def test_report_help(capsys):
    code, out, _ = run(["report", "--help"], capsys)
    assert code == 0
    for opt in ("--timeout", "--output", "--notebooks", "--only", "--jobs"):
        assert opt in out


def test_report_builds_and_fails(capsys, tmp_path):
    nbs = tmp_path / "nb"
    nbs.mkdir()
    (nbs / "01_tiny.py").write_text(NOTEBOOK.format(body="print('hello')"))
    args = ["report", "--notebooks", str(nbs), "--data", str(DATA),
            "--timeout", "60"]
    code, out, err = run(args + ["--output", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "index.html").is_file() and (tmp_path / "out" / "01_tiny.html").is_file()
    assert "report written" in out
    (nbs / "02_broken.py").write_text(NOTEBOOK.format(body="1 / 0"))
    code, _, err = run(args + ["--output", str(tmp_path / "out2"), "-q"], capsys)
    assert code == 1
    assert "02_broken" in err and "ZeroDivisionError" in err
    code, _, err = run(["report", "--notebooks", str(tmp_path / "missing"), "--output", str(tmp_path / "o3")],
                       capsys)
    assert code == 2 and "does not exist" in err
    assert run(["report", "--timeout", "soon"], capsys)[0] == 2


def test_python_m_mgmeta_report_is_the_make_target():
    proc = subprocess.run([sys.executable, "-m", "mgmeta.report", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    assert "--timeout" in proc.stdout
    makefile = (ROOT / "Makefile").read_text()
    assert "-m mgmeta.report" in textwrap.dedent(makefile)
