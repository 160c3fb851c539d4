"""Benchmark of issue 15, item 7: a three-level REML fit in mgmeta against metafor's rma.mv, side by side.

Fits ``meta_analysis_mv(yi, vi, random="~ 1 | district/school", data=dat)`` on dat.konstantopoulos2011 (56
effects, 11 districts; the data are read from tests/reference/multivariate.json, which the R reference
script wrote from metadat) many times and reports the best of 3 repeats (wall clock, after a warm-up), then
runs ``benchmarks/metafor_mv.R`` for ``rma.mv`` on the same data in the same run, and prints both, the ratio,
the agreement of the two fits and the machine's load average before and after.

Two mgmeta timings are given: the public call with a DataFrame (formula parsing, checks and the result
object included), and the same with the BLAS thread pool limited to one thread by OPENBLAS_NUM_THREADS=1 in a
child process (the block-diagonal likelihood works on 11 x 11 matrices, where threads only add overhead,
and on a loaded machine they can cost 10x).

Usage::

    python benchmarks/mv.py                # 200 fits per repeat
    python benchmarks/mv.py --n 50 --no-r  # quick, mgmeta only
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REF = HERE.parent / "tests" / "reference" / "multivariate.json"


def time_mgmeta(n: int) -> dict:
    import numpy as np
    import pandas as pd

    import mgmeta

    ds = json.loads(REF.read_text())["datasets"]["konstantopoulos2011"]
    dat = pd.DataFrame({k: v for k, v in ds.items() if k != "call"})

    def fit():
        return mgmeta.meta_analysis_mv("yi", "vi", random="~ 1 | district/school", data=dat)

    for _ in range(20):
        res = fit()
    reps = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            fit()
        reps.append((time.perf_counter() - t0) / n * 1000)
    return {"ms_per_fit": min(reps), "ms_per_fit_repeats": reps, "n_fits": n,
            "sigma2": [float(x) for x in res.sigma2], "beta": float(res.beta[0]), "ll": float(res.ll),
            "numpy": np.__version__}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(time_mgmeta(args.n)))
        return
    load_before = os.getloadavg()
    out: dict = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                             "cpus": os.cpu_count(), "loadavg_before": load_before}}
    for label, env in (("mgmeta", {}), ("mgmeta_1thread", {"OPENBLAS_NUM_THREADS": "1"})):
        proc = subprocess.run([sys.executable, __file__, "--child", "--n", str(args.n)], capture_output=True,
                              text=True, env={**os.environ, **env}, check=True)
        out[label] = json.loads(proc.stdout)
    rscript = shutil.which("Rscript")
    if not args.no_r and rscript:
        proc = subprocess.run([rscript, str(HERE / "metafor_mv.R"), str(args.n)], capture_output=True, text=True,
                              check=True)
        out["metafor"] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["machine"]["loadavg_after"] = os.getloadavg()
    m, m1 = out["mgmeta"], out["mgmeta_1thread"]
    print(f"three-level REML fit, dat.konstantopoulos2011 (k = 56, 11 districts), best of 3 x {args.n} fits")
    print(f"  mgmeta.meta_analysis_mv            {m['ms_per_fit']:8.3f} ms per fit")
    print(f"  same, OPENBLAS_NUM_THREADS=1       {m1['ms_per_fit']:8.3f} ms per fit")
    if "metafor" in out:
        r = out["metafor"]
        print(f"  metafor rma.mv ({r['metafor_version']})           {r['ms_per_fit']:8.3f} ms per fit")
        print(f"  metafor / mgmeta: {r['ms_per_fit'] / m['ms_per_fit']:.1f}x "
              f"(one BLAS thread: {r['ms_per_fit'] / m1['ms_per_fit']:.1f}x); target >= 5x")
        print(f"  agreement: sigma2 {m['sigma2']} vs {r['sigma2']}; ll {m['ll']:.10f} vs {r['ll']:.10f}")
    print(f"  load average before {load_before[0]:.2f}, after {out['machine']['loadavg_after'][0]:.2f} "
          f"({os.cpu_count()} cores)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
