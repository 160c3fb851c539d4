"""The ``mgmeta validate`` and ``mgmeta gaps`` commands (src/mgmeta/cli.py)."""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from mgmeta.cli import build_parser, main

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def corrupted(tmp_path: Path) -> Path:
    """A copy of data/ with two deliberate errors: events above n and a published I2 above 100 %."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    for table, key_col, key, col, value in (
            ("outcomes", "record_id", "zohaib.mg.pain_relief.120min.events", "value", "40"),
            ("published", "result_id", "okoli2019.severity", "i2", "148")):
        path = target / f"{table}.csv"
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header, rows = list(reader.fieldnames or []), list(reader)
        for row in rows:
            if row[key_col] == key:
                row[col] = value
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    return target


def test_validate_passes_on_the_shipped_data(capsys, monkeypatch):
    monkeypatch.delenv("MGMETA_DATA", raising=False)
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok:") and str(DATA) in out


def test_validate_accepts_the_descriptor_path(capsys):
    assert main(["validate", str(DATA / "datapackage.json")]) == 0


def test_validate_reports_row_level_problems_on_a_corrupted_copy(corrupted, capsys):
    assert main(["validate", str(corrupted)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert any(line.startswith("outcomes.csv line ") and "column 'value', value '40'" in line
               and "exceed arm size (35" in line for line in lines), lines
    assert any(line.startswith("published.csv line ") and "column 'i2', value '148'" in line
               and "above the maximum 100" in line for line in lines), lines
    assert "problems in" in captured.err


def test_validate_uses_the_environment_variable(corrupted, monkeypatch, capsys):
    monkeypatch.setenv("MGMETA_DATA", str(corrupted))
    assert main(["validate"]) == 1


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "no such data folder" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["validate", "a", "b"]) == 2


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_gaps_prints_the_to_do_list(capsys):
    assert main(["gaps", "--result", "ahrq2012.vas"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ahrq2012.vas (AHRQ CER 84 (2012)):")
    assert "Cete 2005: mg mean of pain_score at 30min (missing)" in out


def test_gaps_csv(capsys):
    assert main(["gaps", "--csv", "--no-candidates"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows and {"result_id", "kind", "item", "status"} <= set(rows[0])
    assert not any(r["kind"] == "candidate_trial_data" for r in rows)


def test_gaps_on_invalid_data_exits_1(corrupted, capsys):
    assert main(["gaps", str(corrupted)]) == 1
    assert "run 'mgmeta validate' first" in capsys.readouterr().err


def test_gaps_unknown_result_exits_2(capsys):
    assert main(["gaps", "--result", "nobody"]) == 2


def test_parser_has_one_subcommand_per_command():
    parser = build_parser()
    args = parser.parse_args(["validate", "x"])
    assert args.command == "validate" and args.path == "x" and callable(args.handler)
