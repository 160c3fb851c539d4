"""``import mgmeta`` is cheap: heavy modules load on first use (issue 13, item 10).

Checked through ``sys.modules`` in a fresh interpreter, not by timing (benchmarks/import_time.py times it).
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("scipy.stats", "matplotlib", "statsmodels")


def _loaded(code: str) -> dict[str, bool]:
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    probe = f"{code}\nimport sys, json\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("code", ["import mgmeta", "import mgmeta.conversions", "import mgmeta.errors",
                                  "import mgmeta.cli"])
def test_import_loads_no_heavy_module(code):
    assert _loaded(code) == {m: False for m in HEAVY}


def test_plots_load_matplotlib_on_first_use():
    assert _loaded("import mgmeta; mgmeta.plots")["matplotlib"]


def test_every_public_name_resolves_and_the_lazy_table_matches_the_typed_imports():
    import mgmeta

    for name in mgmeta.__all__:
        assert getattr(mgmeta, name) is not None, name
    # the TYPE_CHECKING block (what type checkers see) names the same objects as the lazy table
    tree = ast.parse((SRC / "mgmeta" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    typed = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            mod = node.module if node.module != "mgmeta" else f"mgmeta.{alias.name}"
            typed[alias.asname or alias.name] = (mod, None if node.module == "mgmeta" else alias.name)
    lazy = {k: v for k, v in mgmeta._EXPORTS.items() if k != "plots"}
    assert typed == lazy
    assert set(mgmeta.__all__) <= set(mgmeta._EXPORTS)


def test_functions_named_like_their_module_stay_functions():
    code = ("import mgmeta, mgmeta.reproduce, mgmeta.simulate, mgmeta.bootstrap, mgmeta.profiles, mgmeta.fitstats\n"
            "assert all(callable(f) and not hasattr(f, '__path__') and f.__module__.startswith('mgmeta.') "
            "for f in (mgmeta.profiles, mgmeta.simulate, mgmeta.bootstrap, mgmeta.reproduce, mgmeta.fitstats))\n"
            "assert type(mgmeta.simulate).__name__ == 'function'")
    _loaded(code)


def test_unknown_attribute_raises_attribute_error():
    import mgmeta

    with pytest.raises(AttributeError, match="no_such_name"):
        mgmeta.no_such_name  # noqa: B018
