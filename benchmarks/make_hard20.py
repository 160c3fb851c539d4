"""Write ``benchmarks/hard20.json``: a random 20-study data set on which REML Fisher scoring iterates long.

On the hackshaw data REML converges in a few Fisher-scoring steps; on this data set (seed 43 of the
generator below) it takes 30, as metafor's ``rma(yi, vi, method="REML")`` does (``fit$iter``), so that a
single fit and a permutation test pay for many iterations. Two moderators come with it for the
permutation benchmark: ``x1`` (standard normal) and ``x2`` (a 0/1 indicator), drawn from the same seed.

Run:  python benchmarks/make_hard20.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SEED = 43


def make(seed: int = SEED, k: int = 20) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 1.0, k) ** 2 * 4
    yi = rng.normal(0.3, np.sqrt(vi + 0.1))
    x1 = rng.normal(size=k)
    x2 = (rng.random(k) < 0.5).astype(float)
    return {"description": "Random data: vi = 4 U(0.01, 1)^2, yi ~ N(0.3, vi + 0.1); moderators x1 ~ N(0, 1), "
                           "x2 ~ Bernoulli(0.5); REML Fisher scoring takes 30 iterations",
            "generator": f"benchmarks/make_hard20.py, numpy.random.default_rng({seed})",
            "yi": yi.tolist(), "vi": vi.tolist(), "x1": x1.tolist(), "x2": x2.tolist()}


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "hard20.json"
    out.write_text(json.dumps(make(), indent=1) + "\n")
    print(f"wrote {out}")
