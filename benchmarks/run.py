"""Benchmarks of mgmeta's batched engine against R metafor (and statsmodels): ``make benchmark``.

Times the workloads of issue 7 (and the single fit of issue 2) in mgmeta and, when ``Rscript`` with
metafor is available, the same workloads in metafor (``benchmarks/metafor_workloads.R``; the long ones on a
part of the work, extrapolated linearly, and said so), plus statsmodels where it can do the job, and prints
the ratios. Every mgmeta workload runs in a fresh Python process so that its peak memory (RSS) can be
measured; times are the best of several repeats (wall clock), after one warm-up run.

Usage::

    python benchmarks/run.py                 # everything (about 2 minutes on 2 cores)
    python benchmarks/run.py --quick         # fewer repeats, smaller R samples
    python benchmarks/run.py --no-r          # skip metafor
    python benchmarks/run.py --json out.json # also write the numbers as JSON
    python benchmarks/run.py --markdown      # print the table as markdown (for benchmarks/README.md)

Data: the first 20 studies of ``metadat::dat.hackshaw1998`` (``benchmarks/hackshaw20.json``, written by
``benchmarks/metafor_rma.R``); the meta-regression uses two moderators of that data set, year of
publication (centred at 1985) and a cohort-design indicator. The "hard" data set
(``benchmarks/hard20.json``, written by ``benchmarks/make_hard20.py``) is a random 20-study data set on
which REML Fisher scoring takes 30 iterations, with two random moderators ``x1`` and ``x2``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
DATA = json.loads((HERE / "hackshaw20.json").read_text())
HARD = json.loads((HERE / "hard20.json").read_text())
# dat.hackshaw1998$design[1:20] == "cohort" (checked by metafor_workloads.R, which builds it from metadat)
COHORT = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

# name: (description, acceptance target in seconds or None)
WORKLOADS: dict[str, tuple[str, float | None]] = {
    "single_reml_k20": ("one REML fit, 20 studies (ms per fit)", 1e-3),
    "single_reml_hard20": ("one REML fit, hard data: 30 iterations (ms per fit)", None),
    "single_dl_k20": ("one DL fit, 20 studies (ms per fit)", None),
    "single_dl_hard20": ("one DL fit, hard data (ms per fit)", None),
    "single_pm_k20": ("one PM fit, 20 studies (ms per fit)", None),
    "single_pm_hard20": ("one PM fit, hard data (ms per fit)", None),
    "gosh_reml_k16": ("GOSH, REML, all 65,535 subsets of 16 studies", 5.0),
    "gosh_dl_k20": ("GOSH, DL, all 1,048,575 subsets of 20 studies", 10.0),
    "permutest_reml_2mods": ("10,000 permutations, REML meta-regression, 2 moderators", 5.0),
    "permutest_engine": ("  same, engine.fit_permutations (statistics only)", 5.0),
    "permutest_reml_2mods_hard20": ("10,000 permutations, REML meta-regression, 2 moderators, hard data", 5.0),
    "gosh_reml_k20_sample": ("GOSH, REML, 100,000 random subsets of the 20 studies", None),
    "gosh_reml_hard20_sample": ("GOSH, REML, 100,000 random subsets of the hard data", None),
    "leave_one_out_k20": ("leave-one-out, REML, 20 studies (ms)", None),
    "bootstrap_reml_k20": ("parametric bootstrap, 10,000 draws, REML, 20 studies", None),
    "simulate_k10": ("simulation, 100,000 meta-analyses x DL/REML/PM x z/knha, k = 10", None),
    "gosh_dl_k20_dask": ("GOSH, DL, k = 20 on a local Dask cluster (2 worker processes)", None),
}


# --------------------------------------------------------------------------
# mgmeta workloads (each run in a child process)
# --------------------------------------------------------------------------

def _data(k: int = 20, hard: bool = False):
    import numpy as np

    d = HARD if hard else DATA
    return np.array(d["yi"][:k], dtype=float), np.array(d["vi"][:k], dtype=float)


def _setup(name: str) -> tuple[Callable[[], Any], int, str]:
    """The function to time, how many times one call repeats the workload, and a note."""
    import numpy as np

    import mgmeta

    yi, vi = _data(hard="hard20" in name)
    if name.startswith("single_"):
        method = name.split("_")[1].upper()
        n = 500

        def run():
            for _ in range(n):
                mgmeta.meta_analysis(yi, vi, method=method)
        return run, n, f"mgmeta.meta_analysis(yi, vi, method='{method}')"
    if name in ("gosh_reml_k20_sample", "gosh_reml_hard20_sample"):
        res = mgmeta.meta_analysis(yi, vi, method="REML")

        def run():
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")        # a few subsets do not converge (nor in metafor)
                g = res.gosh(max_subsets=100000, seed=1, progress=False)
            assert len(g) == 100000
        return run, 1, "res.gosh(max_subsets=100000, seed=1) with REML; n_jobs=None (all cores)"
    if name == "gosh_reml_k16":
        res = mgmeta.meta_analysis(yi[:16], vi[:16], method="REML")

        def run():
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")        # 7 subsets do not converge (nor in metafor)
                g = res.gosh(progress=False)
            assert len(g) == 65535
        return run, 1, "res.gosh() with REML; n_jobs=None (all cores)"
    if name == "gosh_dl_k20":
        res = mgmeta.meta_analysis(yi, vi, method="DL")

        def run():
            g = res.gosh(progress=False)
            assert len(g) == 1048575 and g.exact
        return run, 1, "res.gosh() with DL; n_jobs=None (all cores)"
    if name == "gosh_dl_k20_dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        res = mgmeta.meta_analysis(yi, vi, method="DL")
        res.gosh(max_subsets=1000, seed=1, client=client)     # warm the workers

        def run():
            g = res.gosh(progress=False, client=client)
            assert len(g) == 1048575
        return run, 1, "res.gosh(client=Client(LocalCluster(n_workers=2, processes=True)))"
    if name in ("permutest_reml_2mods", "permutest_engine", "permutest_reml_2mods_hard20"):
        mods = {"year_c": np.array(DATA["year"], dtype=float) - 1985, "cohort": np.array(COHORT, dtype=float)}
        if name == "permutest_reml_2mods_hard20":
            mods = {"x1": np.array(HARD["x1"], dtype=float), "x2": np.array(HARD["x2"], dtype=float)}
        if name != "permutest_engine":
            from mgmeta.analyses.regression import meta_regression

            fit = meta_regression(yi, vi, mods, method="REML")

            def run():
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")    # hard data: a few permuted fits do not converge
                    pt = fit.permutation_test(n=10000, seed=1)
                assert pt.n == 10000
            return run, 1, "meta_regression(yi, vi, mods).permutation_test(n=10000); n_jobs=None (all cores)"
        from mgmeta.engine import fit_permutations

        X = np.column_stack([np.ones(20), mods["year_c"], mods["cohort"]])

        def run():
            out = fit_permutations(yi, vi, X, 10000, seed=1, method="REML", fields=("statistic",))
            assert out["qm"].shape == (10000,)
        return run, 1, "mgmeta.engine.fit_permutations(yi, vi, X, 10000, method='REML')"
    if name == "leave_one_out_k20":
        res = mgmeta.meta_analysis(yi, vi, method="REML")
        n = 50

        def run():
            for _ in range(n):
                res.leave_one_out()
        return run, n, "res.leave_one_out()"
    if name == "bootstrap_reml_k20":
        from mgmeta.bootstrap import bootstrap

        res = mgmeta.meta_analysis(yi, vi, method="REML")

        def run():
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                bootstrap(res, n_boot=10000, seed=1, progress=False)
        return run, 1, "mgmeta.bootstrap.bootstrap(res, n_boot=10000)"
    if name == "simulate_k10":
        from mgmeta.simulate import simulate

        def run():
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                simulate(k=10, mu=0.2, tau2=0.05, vi=("uniform", 0.01, 0.2), n_sim=100000,
                                methods=("DL", "REML", "PM"), tests=("z", "knha"), seed=1, progress=False)
        return run, 1, "mgmeta.simulate(k=10, n_sim=100000, methods=(DL, REML, PM), tests=(z, knha))"
    raise SystemExit(f"unknown workload {name!r}")


def _child(name: str, repeats: int) -> None:
    """Run one workload in this (fresh) process and print a JSON line."""
    import numpy as np  # noqa: F401  (baseline memory: the libraries, before the workload)
    import pandas  # noqa: F401

    import mgmeta  # noqa: F401

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run, per_call, note = _setup(name)
    run()                                   # warm-up (imports, caches)
    times, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) / per_call)
        cpu.append((time.process_time() - c0) / per_call)       # all threads of this process
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"name": name, "seconds": times, "best_s": min(times), "cpu_seconds": cpu,
                      "peak_rss_mb": peak, "baseline_rss_mb": base, "note": note}))


def run_mgmeta(names: list[str], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        reps = repeats if not name.startswith(("single_", "leave_one_out")) else max(repeats, 7)
        proc = subprocess.run([sys.executable, __file__, "--child", name, "--repeats", str(reps)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            out[name] = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
            print(f"  {name}: FAILED: {out[name]['error']}", file=sys.stderr)
            continue
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  {name}: {_fmt_s(out[name]['best_s'])} (CPU {_fmt_s(min(out[name]['cpu_seconds']))}, "
              f"peak RSS {out[name]['peak_rss_mb']:.0f} MB)", file=sys.stderr)
    return out


# --------------------------------------------------------------------------
# metafor and statsmodels
# --------------------------------------------------------------------------

def run_metafor(scale: float) -> dict[str, Any] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("  Rscript not found: metafor skipped", file=sys.stderr)
        return None
    proc = subprocess.run([rscript, str(HERE / "metafor_workloads.R"), str(scale)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  metafor workloads failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    text = proc.stdout
    return json.loads(text[text.index("{"):])


def run_statsmodels(repeats: int) -> dict[str, Any] | None:
    try:
        import numpy as np
        import statsmodels
        from statsmodels.stats.meta_analysis import combine_effects
    except ImportError:
        return None
    import warnings

    warnings.simplefilter("ignore")          # statsmodels warns (sqrt of negative) on one-study subsets
    out: dict[str, Any] = {"version": statsmodels.__version__}
    # statsmodels has DL ("chi2") and PM ("iterated"), no REML: the closest single fit is PM
    for hard in (False, True):
        yh, vh = _data(hard=hard)
        for method_re, label in (("chi2", "single_dl"), ("iterated", "single_pm")):
            combine_effects(yh, vh, method_re=method_re)
            best = min(_time(lambda: [combine_effects(yh, vh, method_re=method_re) for _ in range(500)])
                       for _ in range(max(repeats, 7))) / 500
            out[f"{label}_{'hard20' if hard else 'k20'}"] = {
                "best_s": best, "call": f"combine_effects(yi, vi, method_re='{method_re}')"}
    yi, vi = _data()
    # GOSH with DL: a Python loop over subsets; timed on 2,000 random subsets, extrapolated
    rng = np.random.default_rng(1)
    masks = rng.random((2000, 20)) < 0.5
    masks[~masks.any(axis=1), 0] = True
    t = min(_time(lambda: [combine_effects(yi[m], vi[m], method_re="chi2") for m in masks])
            for _ in range(repeats))
    out["gosh_dl_k20"] = {"best_s": t / 2000 * 1048575, "extrapolated": True,
                          "call": "combine_effects(yi[m], vi[m], method_re='chi2') for 2,000 subsets m"}
    return out


def _time(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------

def _fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-2:
        return f"{1000 * s:.3f} ms"
    if s < 1:
        return f"{1000 * s:.0f} ms"
    if s < 600:
        return f"{s:.2f} s"
    return f"{s / 60:.0f} min"


def machine() -> dict[str, Any]:
    import numpy
    import pandas
    import scipy

    import mgmeta

    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "python": platform.python_version(), "platform": platform.platform(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "numpy": numpy.__version__, "scipy": scipy.__version__, "pandas": pandas.__version__,
        "mgmeta": mgmeta.__version__, "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
        with open("/proc/meminfo") as fh:
            info["memory_gb"] = round(int(fh.readline().split()[1]) / 2 ** 20, 1)
    except (OSError, StopIteration):
        pass
    try:
        import dask
        info["dask"] = dask.__version__
    except ImportError:
        info["dask"] = None
    try:
        import pymare  # type: ignore[import-not-found]
        info["pymare"] = pymare.__version__
    except ImportError:
        info["pymare"] = None
    return info


R_NAMES = {"single_reml_k20": "single_reml_k20", "gosh_reml_k16": "gosh_reml_k16", "gosh_dl_k20": "gosh_dl_k20",
           "single_reml_hard20": "single_reml_hard20", "single_dl_k20": "single_dl_k20",
           "single_dl_hard20": "single_dl_hard20", "single_pm_k20": "single_pm_k20",
           "single_pm_hard20": "single_pm_hard20", "permutest_reml_2mods_hard20": "permutest_reml_2mods_hard20",
           "gosh_reml_k20_sample": "gosh_reml_k20_sample", "gosh_reml_hard20_sample": "gosh_reml_hard20_sample",
           "permutest_reml_2mods": "permutest_reml_2mods", "permutest_engine": "permutest_reml_2mods",
           "leave_one_out_k20": "leave_one_out_k20", "bootstrap_reml_k20": "bootstrap_reml_k20",
           "simulate_k10": "simulate_k10", "gosh_dl_k20_dask": "gosh_dl_k20"}


def table(results: dict[str, Any], markdown: bool) -> str:
    mg, mf, sm = results["mgmeta"], results.get("metafor") or {}, results.get("statsmodels") or {}
    rows = []
    for name, (desc, target) in WORKLOADS.items():
        r = mg.get(name, {})
        ours = r.get("best_s")
        rw = (mf.get("workloads") or {}).get(R_NAMES.get(name, name))
        theirs = rw["full_s"] if rw else None
        ratio = f"{theirs / ours:,.0f}x" if ours and theirs else "-"
        if ours and theirs and theirs / ours < 10:
            ratio = f"{theirs / ours:.1f}x"
        r_note = (f"{_fmt_s(theirs)}{' (extrapolated)' if rw and rw.get('extrapolated') else ''}" if rw else "-")
        reml_single = name in ("single_reml_k20", "single_reml_hard20")
        smr = sm.get(name) or (sm.get(name.replace("reml", "pm")) if reml_single else None)
        s_note = "-"
        if smr:
            s_note = f"{_fmt_s(smr['best_s'])}{' (extrapolated)' if smr.get('extrapolated') else ''}"
            if reml_single:
                s_note += " (PM; no REML)"
            elif ours:
                s_note += f" ({smr['best_s'] / ours:.1f}x)"
        ok = "" if target is None or ours is None else ("yes" if ours < target else "NO")
        mem = f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else "-"
        cpu = _fmt_s(min(r["cpu_seconds"])) if r.get("cpu_seconds") else "-"
        rows.append([desc, _fmt_s(ours) if ours else r.get("error", "-"), cpu, r_note, ratio, s_note, mem,
                     "-" if target is None else f"< {_fmt_s(target)}: {ok}"])
    head = ["workload", "mgmeta", "mgmeta CPU", "metafor", "metafor / mgmeta", "statsmodels (its / mgmeta)",
            "peak RSS MB",
            "target"]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt_row = lambda row: "  ".join(str(x).ljust(w) for x, w in zip(row, widths))  # noqa: E731
    return "\n".join([fmt_row(head), fmt_row(["-" * w for w in widths])] + [fmt_row(r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat, smaller metafor samples")
    ap.add_argument("--no-r", action="store_true", help="skip metafor")
    ap.add_argument("--only", nargs="*", help="run only these mgmeta workloads")
    ap.add_argument("--json", type=Path, help="write the results to this JSON file")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, args.repeats)
        return 0
    repeats = 1 if args.quick else args.repeats
    info = machine()
    print(f"mgmeta {info['mgmeta']} | Python {info['python']} | numpy {info['numpy']} | {info.get('cpu', '?')} | "
          f"{info['cores']} cores | load {info['load_average']}", file=sys.stderr)
    names = args.only or list(WORKLOADS)
    print("mgmeta:", file=sys.stderr)
    results: dict[str, Any] = {"machine": info, "mgmeta": run_mgmeta(names, repeats)}
    if not args.no_r:
        print("metafor (R):", file=sys.stderr)
        results["metafor"] = run_metafor(0.25 if args.quick else 1.0)
        if results["metafor"]:
            info["r"] = results["metafor"]["r_version"]
            info["metafor"] = results["metafor"]["metafor_version"]
    print("statsmodels:", file=sys.stderr)
    results["statsmodels"] = run_statsmodels(repeats)
    if info.get("pymare") is None:
        print("  PyMARE is not installed: skipped", file=sys.stderr)
    print(table(results, args.markdown))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
