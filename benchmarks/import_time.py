"""Import time of mgmeta (issue 13, item 10): ``import mgmeta`` must cost at most 0.3 s more than
``import numpy, pandas``.

Each statement runs in a fresh Python process (``python -c``), so that nothing is cached in memory;
the time is measured inside the process around the import (interpreter start-up excluded). Every
statement is run ``--repeats`` times in interleaved order after one warm-up round (which fills the
operating system's file cache); the table gives the median and the minimum. Prints a table and exits
non-zero when the median of ``import mgmeta`` exceeds that of ``import numpy, pandas`` by more than
0.3 s.

The other rows show what the first use of a name costs (``from mgmeta import meta_analysis`` loads the
models, which import scipy.stats) and what the heavy dependencies cost on their own.

Usage::

    python benchmarks/import_time.py               # 15 repeats
    python benchmarks/import_time.py --repeats 5
    python benchmarks/import_time.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

TARGET_S = 0.3
BASELINE = "import numpy, pandas"
SUBJECT = "import mgmeta"

STATEMENTS = [
    BASELINE,
    SUBJECT,
    "import numpy, pandas, mgmeta",
    "from mgmeta import effect_sizes, meta_analysis",
    "import mgmeta.cli",
    "import scipy.special",
    "import scipy.stats",
    "import matplotlib.pyplot",
    "import statsmodels.api",
]

_PROBE = ("import time as _t; _t0 = _t.perf_counter(); {stmt}; "
          "print(repr(_t.perf_counter() - _t0))")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def time_once(stmt: str, env: dict[str, str]) -> float:
    """Seconds spent in ``stmt`` in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", _PROBE.format(stmt=stmt)], env=env, check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def loaded_modules(env: dict[str, str]) -> dict[str, bool]:
    """Which heavy modules ``import mgmeta`` loads."""
    code = ("import sys, json, mgmeta; print(json.dumps({m: m in sys.modules for m in "
            "('numpy', 'pandas', 'scipy', 'scipy.stats', 'statsmodels', 'matplotlib')}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    args = parser.parse_args(argv)
    env = _env()
    for stmt in STATEMENTS:  # warm-up: file cache, .pyc files
        time_once(stmt, env)
    times: dict[str, list[float]] = {s: [] for s in STATEMENTS}
    for _ in range(args.repeats):
        for stmt in STATEMENTS:
            times[stmt].append(time_once(stmt, env))
    med = {s: statistics.median(v) for s, v in times.items()}
    base = med[BASELINE]
    print(f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs; "
          f"{args.repeats} fresh processes per statement\n")
    print(f"| statement | median | min | median - `{BASELINE}` |")
    print("|---|---|---|---|")
    for s in STATEMENTS:
        print(f"| `{s}` | {med[s] * 1000:.0f} ms | {min(times[s]) * 1000:.0f} ms | "
              f"{(med[s] - base) * 1000:+.0f} ms |")
    mods = loaded_modules(env)
    print(f"\n`import mgmeta` loads: {', '.join(m for m, v in mods.items() if v) or 'none of'} "
          f"(of {', '.join(mods)})")
    extra = med[SUBJECT] - base
    ok = extra <= TARGET_S
    print(f"\nimport mgmeta - import numpy, pandas = {extra * 1000:+.0f} ms; target at most "
          f"+{TARGET_S * 1000:.0f} ms: {'yes' if ok else 'NO'}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "repeats": args.repeats, "seconds": times, "median": med, "modules_loaded_by_import_mgmeta": mods,
            "target_s": TARGET_S, "ok": ok}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
