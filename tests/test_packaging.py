"""The conda environment and the pip metadata describe one environment; the two commands exist."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names of packages whose PyPI name differs
CONDA_NAMES = {"dask[distributed]": {"dask", "distributed"}}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ ;]", req.strip(), maxsplit=1)[0].lower()


def pip_packages() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    out: set[str] = set()
    for r in reqs:
        n = _name(r)
        out |= CONDA_NAMES.get(n, {n})
    return out


def conda_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    deps = text.split("dependencies:", 1)[1]
    for line in deps.splitlines():
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.\-\[\]]+)", line)
        if m and not line.strip().startswith("- -e") and m.group(1) not in ("pip", "python"):
            names.add(_name(m.group(1)))
    return names - {"pip:"}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert conda_packages() == pip_packages()


def test_python_version_agrees():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.11"
    assert "python>=3.11" in (ROOT / "environment.yml").read_text()


def test_ci_runs_make_test_only():
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines[-1] == "make test"
    assert all(ln.startswith(("set ", "cd ")) for ln in lines[:-1])


def test_readme_gives_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make report" in text and "make test" in text


def test_plots_are_reachable_from_the_package():
    import mgmeta

    assert callable(mgmeta.plots.forest) and callable(mgmeta.plots.funnel)
