"""Timing of mgmeta's plots (issue 5): a forest plot of 20 studies in two subgroups must render in under 1 s.

Measures, for each figure, the time to build it (``mgmeta.plots.*`` returns the Figure) and to render it
to a 300 dpi PNG, a vector SVG and a PDF (each in memory). Times are the best of ``--repeats`` runs after a
warm-up (wall clock, one process, Agg backend). Prints a table and exits non-zero if the 20-study
two-subgroup forest plot (build + 300 dpi PNG) takes 1 s or more.

Usage::

    python benchmarks/plots.py              # all figures
    python benchmarks/plots.py --repeats 3  # fewer repeats
    python benchmarks/plots.py --json out.json

Data: 20 synthetic two-arm trials (fixed seed) with binary outcomes, split 12 / 8 into two subgroups
(intravenous / oral magnesium), the shape of the migraine review; labels carry a year.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from typing import Any, Callable

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

import mgmeta  # noqa: E402
from mgmeta.plots import drapery, forest, funnel, radial, rob_summary  # noqa: E402

TARGET_S = 1.0


def data() -> tuple[Any, dict[str, Any], Any]:
    rng = np.random.default_rng(20240501)
    k = 20
    n1, n2 = rng.integers(20, 160, k), rng.integers(20, 160, k)
    ai, ci = rng.binomial(n1, 0.45), rng.binomial(n2, 0.3)
    labels = [f"{name} {year}" for name, year in zip(
        ["Demirkaya", "Bigal", "Corbo", "Cete", "Ginder", "Frank", "Shahrami", "Kandil", "Mauskop", "Baratloo",
         "Facchinetti", "Taubert", "Peikert", "Pfaffenrath", "Wang", "Koseoglu", "Mahdavi", "Karimi", "Khani",
         "Gaul"], rng.integers(1990, 2022, k))]
    es = mgmeta.effect_sizes("OR", ai=ai, n1i=n1, ci=ci, n2i=n2, labels=labels)
    overall = mgmeta.meta_analysis(es)
    groups = {"Intravenous": mgmeta.meta_analysis(es.iloc[:12]), "Oral": mgmeta.meta_analysis(es.iloc[12:])}
    return overall, groups, es


def render(fig: Any, fmt: str, dpi: float = 300) -> int:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.tell()


def best(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    overall, groups, es = data()
    rob = {c: np.random.default_rng(1).choice(["low", "some concerns", "high", "unclear"], 20)
           for c in ("rob_randomization", "rob_deviations", "rob_missing", "rob_measurement", "rob_selection",
                     "rob_overall")}
    import pandas as pd
    rob_frame = pd.DataFrame({"study": overall.labels, **rob})
    figures: dict[str, Callable[[], Any]] = {
        "forest, 20 studies, 2 subgroups (7 in)": lambda: forest(groups, overall=overall,
                                                                  subgroup_test=(1.2, 1, 0.27)),
        "forest, 20 studies, 2 subgroups (3.5 in)": lambda: forest(groups, overall=overall,
                                                                    subgroup_test=(1.2, 1, 0.27), width=3.5),
        "forest, 20 studies, risk-of-bias dots": lambda: forest(overall, rob=rob_frame),
        "funnel, contours": lambda: funnel(overall, contours=True),
        "drapery": lambda: drapery(overall),
        "radial": lambda: radial(overall),
        "rob_summary, 20 studies": lambda: rob_summary(rob_frame),
    }
    rows = []
    for name, make in figures.items():
        build = best(make, args.repeats)
        fig = make()
        png = best(lambda: render(fig, "png"), args.repeats)
        svg = best(lambda: render(fig, "svg"), args.repeats)
        pdf = best(lambda: render(fig, "pdf"), args.repeats)
        w, h = fig.get_size_inches()
        rows.append({"figure": name, "build_s": build, "png300_s": png, "svg_s": svg, "pdf_s": pdf,
                     "build_plus_png_s": build + png, "size_in": [round(float(w), 2), round(float(h), 2)]})
    head = f"{'figure':44s} {'size (in)':>11s} {'build':>7s} {'PNG300':>7s} {'SVG':>7s} {'PDF':>7s} {'total':>7s}"
    print(f"mgmeta plots benchmark (best of {args.repeats}; matplotlib {matplotlib.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()})")
    print(head)
    print("-" * len(head))
    for r in rows:
        size = f"{r['size_in'][0]:g} x {r['size_in'][1]:g}"
        print(f"{r['figure']:44s} {size:>11s} {r['build_s']:7.3f} {r['png300_s']:7.3f} {r['svg_s']:7.3f} "
              f"{r['pdf_s']:7.3f} {r['build_plus_png_s']:7.3f}")
    key = rows[0]["build_plus_png_s"]
    ok = key < TARGET_S
    print(f"\nacceptance: 20-study, 2-subgroup forest plot, build + 300 dpi PNG = {key:.3f} s "
          f"({'<' if ok else '>='} {TARGET_S:g} s): {'PASS' if ok else 'FAIL'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"rows": rows, "target_s": TARGET_S, "pass": ok,
                       "matplotlib": matplotlib.__version__, "python": platform.python_version()}, fh, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
