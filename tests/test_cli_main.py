"""``mgmeta`` itself: --version, --help (the general tool first, the bundled review second), the routing of
``mgmeta pool`` between a CSV file and the review's outcomes, and quiet ends when a pipe is closed early."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_plots_support import BCG

import mgmeta
from mgmeta.cli import _route_pool, build_parser, main

SRC = Path(__file__).resolve().parents[1] / "src"


def run(args, capsys):
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _env():
    return dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                MPLBACKEND="Agg")


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"mgmeta {mgmeta.__version__}"


def test_help_puts_the_general_tool_first(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    general = out.index("pool any CSV")
    review = out.index("magnesium-for-migraine review")
    assert general < review
    listing = out[out.index("COMMAND\n"):]
    assert listing.index("pool") < listing.index("review") < listing.index("validate")
    code, out, _ = run(["pool", "--help"], capsys)
    assert code == 0
    for opt in ("--measure", "--ai", "--n2i", "--m1i", "--yi", "--sei", "--slab", "--method", "--test", "--forest",
                "--format", "review pool"):
        assert opt in out
    code, out, _ = run(["review", "--help"], capsys)
    assert code == 0 and all(c in out for c in ("pool", "validate", "gaps", "report"))


def test_pool_routes_files_to_the_general_tool_and_outcomes_to_the_review(tmp_path):
    parser = build_parser()
    existing = tmp_path / "trials"          # an existing file without a suffix is a table too
    existing.write_text("a\n1\n")
    assert _route_pool(["pool", "x.csv", "-m", "OR"], parser) == ["pool", "x.csv", "-m", "OR"]
    assert _route_pool(["pool", "-", "-m", "OR"], parser)[0] == "pool"
    assert _route_pool(["pool", str(existing)], parser)[0] == "pool"
    assert _route_pool(["pool", "pain_relief", "120min"], parser) == ["review", "pool", "pain_relief", "120min"]
    # options with values before the outcome are skipped when looking for the first argument
    assert _route_pool(["pool", "--route", "iv", "-c", "iv-placebo", "pain_relief", "120min"], parser)[:2] == \
        ["review", "pool"]
    assert _route_pool(["pool", "--measure", "OR", "x.tsv"], parser)[0] == "pool"
    assert _route_pool(["gaps"], parser) == ["gaps"]
    assert _route_pool(["pool"], parser) == ["pool"]


def test_the_review_pool_runs_in_both_forms(capsys):
    args = ["rescue_medication", "30min", "-c", "iv-placebo", "--format", "json"]
    code_a, out_a, err_a = run(["pool", *args], capsys)
    code_b, out_b, _ = run(["review", "pool", *args], capsys)
    assert code_a == code_b == 0, err_a
    assert out_a == out_b and ("rescue_medication" in out_a or "Rescue medication" in out_a)


def test_review_commands_at_both_levels(capsys):
    assert run(["review", "validate"], capsys)[0] == run(["validate"], capsys)[0] == 0
    assert run(["review", "gaps", "--result", "nosuchresult"], capsys)[0] == 2


def _cut_short(args, n=64):
    """Run mgmeta, read ``n`` bytes of its output, close the pipe (as ``head`` does) and wait."""
    proc = subprocess.Popen([sys.executable, "-m", "mgmeta.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(n)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=120), first, err


def test_output_cut_short_by_the_reader_ends_quietly(tmp_path):
    # enough output (about 1 MB) that the pipe is sure to be closed while mgmeta still writes
    import numpy as np

    rng = np.random.default_rng(1)
    k = 8000
    frame = BCG.sample(k, replace=True, random_state=1).assign(
        study=[f"Study {i}" for i in range(k)], tpos=rng.integers(1, 50, k))
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    code, first, err = _cut_short(["pool", str(path), "-m", "OR", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos",
                                   "--di", "cneg", "--slab", "study", "--method", "DL", "--format", "json"])
    assert first.startswith(b"{")
    assert err == "" and code == 0
    code, first, err = _cut_short(["gaps"], n=10)
    assert err == "" and code == 0


@pytest.mark.parametrize("args", [["--help"], ["gaps", "--csv"]])
def test_broken_pipe_inside_main_returns_0(monkeypatch, args):
    class Closed:
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(args) == 0
