"""The README's first example runs (issue 13): a data-frame workflow with a formula."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib

README = Path(__file__).resolve().parents[1] / "README.md"


def _first_python_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A first analysis"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's first analysis has no python block"
    return match.group(1)


def test_readme_first_example_runs(capsys):
    matplotlib.use("Agg")
    code = _first_python_block()
    assert "data=" in code and 'mods="~ ablat"' in code
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # the example runs without any warning
        exec(compile(code, str(README), "exec"), ns)
    out = capsys.readouterr().out
    assert "Mixed-Effects Model (k = 13; tau^2 estimator: REML)" in out
    assert ns["fit"].names == ("intrcpt", "ablat")
    assert abs(ns["fit"].coef[1] - (-0.0291)) < 1e-4       # metafor: -0.0291 (rma(yi, vi, mods = ~ ablat))
