"""Simulation studies of meta-analytic estimators: bias, coverage and interval width.

:func:`simulate` draws meta-analyses from a chosen true model, fits each of
them with every requested tau² estimator and test, and reports how the
estimators behave: bias, empirical and model-based standard error, RMSE,
coverage and width of the confidence interval, rejection rate of H0: mu = 0,
bias and RMSE of tau², and coverage of the prediction interval. The
replicates run on the batched engine (:mod:`mgmeta.engine`): each chunk of
replicates is one batched fit per estimator, the chunks reduce to a few
numbers each (memory does not grow with the number of replicates), and the
same chunks run on threads or a Dask cluster with identical results.

The true model is the normal random-effects model

    theta_i ~ N(mu, tau²),    y_i | theta_i ~ N(theta_i, v_i),    i = 1..k,

so y_i ~ N(mu, v_i + tau²); the within-study variances v_i are fixed or
drawn anew for every replicate.

References
----------
Morris TP, White IR, Crowther MJ (2019). Using simulation studies to evaluate
statistical methods. Stat Med 38(11):2074-2102. doi:10.1002/sim.8086
Veroniki AA, Jackson D, Viechtbauer W, et al. (2016). Methods to estimate the
between-study variance and its uncertainty in meta-analysis. Res Synth Methods
7(1):55-79. doi:10.1002/jrsm.1164
IntHout J, Ioannidis JPA, Borm GF (2014). The Hartung-Knapp-Sidik-Jonkman
method for random effects meta-analysis is straightforward and considerably
outperforms the standard DerSimonian-Laird method. BMC Med Res Methodol 14:25.
doi:10.1186/1471-2288-14-25
Partlett C, Riley RD (2017). Random effects meta-analysis: coverage
performance of 95% confidence and prediction intervals following REML
estimation. Stat Med 36(2):301-317. doi:10.1002/sim.7140
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from mgmeta import _format as fmt
from mgmeta.engine import (
    RNG_BLOCK,
    Chunk,
    ItemRandom,
    SeedLike,
    check_chunk_size,
    chunk_size_for,
    resolve_seed,
    run_chunks,
    seed_entropy,
)
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.estimators import METHODS, estimate_tau2
from mgmeta.models import TESTS, fit_arrays

__all__ = ["SimulationResult", "simulate", "simulate_data", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ("method", "test", "n_sim", "n_failed", "bias", "emp_se", "mean_se", "rmse", "coverage",
                   "coverage_mcse", "ci_width", "rejection_rate", "tau2_bias", "tau2_rmse", "pi_coverage")
"""Columns of :attr:`SimulationResult.summary`."""

# per-block statistics, in this order, for each (method, test): counts, then (mean, M2) pairs
_SUMS = ("covered", "width", "reject", "se", "pi_covered", "failed")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Performance of estimators over simulated meta-analyses.

    Attributes
    ----------
    summary : DataFrame
        One row per (method, test), columns :data:`SUMMARY_COLUMNS`:
        ``n_sim`` replicates, ``n_failed`` (estimator did not converge; left
        out of that row), ``bias`` (mean of estimate - mu), ``emp_se``
        (standard deviation of the estimates), ``mean_se`` (mean model-based
        standard error), ``rmse``, ``coverage`` of the confidence interval and
        its Monte Carlo standard error ``coverage_mcse``, mean ``ci_width``,
        ``rejection_rate`` of H0: mu = 0 at 1 - level (type I error when
        mu = 0, power otherwise), ``tau2_bias`` and ``tau2_rmse``, and
        ``pi_coverage``, the mean probability that the prediction interval
        covers the true effect of a new study, N(mu, tau²) (NaN for EE/FE).
    k : int
        Studies per meta-analysis.
    mu, tau2 : float
        The true model.
    vi : str
        How the within-study variances were set.
    n_sim : int
        Replicates.
    level : float
    methods, tests : tuple of str
    seed : int or None
        Seed that reproduces the run.
    draws : DataFrame or None
        With ``keep_draws=True``, one row per replicate and (method, test):
        ``replicate method test estimate se ci_lower ci_upper pvalue tau2
        converged``.
    """

    summary: pd.DataFrame
    k: int
    mu: float
    tau2: float
    vi: str
    n_sim: int
    level: float
    methods: tuple[str, ...]
    tests: tuple[str, ...]
    seed: int | None = None
    draws: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The summary table (a copy)."""
        return self.summary.copy()

    def _header(self) -> str:
        return (f"Simulation: {self.n_sim:,} meta-analyses of k = {self.k} studies; true mu = "
                f"{fmt.format_number(self.mu)}, tau^2 = {fmt.format_number(self.tau2)}; vi: {self.vi}; "
                f"level {100 * self.level:g}%; seed {self.seed}")

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        cols = ["bias", "emp_se", "mean_se", "rmse", "coverage", "ci_width", "rejection_rate", "tau2_bias",
                "tau2_rmse", "pi_coverage"]
        head = ["method", "test", "failed"] + cols
        rows = [[str(r.method), str(r.test), str(int(r.n_failed))] + [fmt.format_number(float(getattr(r, c)))
                                                                    for c in cols]
                for r in self.summary.itertuples()]
        return head, rows

    def __str__(self) -> str:
        head, rows = self._rows()
        return self._header() + "\n\n" + fmt.text_table(head, rows) + "\n"

    def _repr_html_(self) -> str:
        head, rows = self._rows()
        return f"<p><b>{self._header()}</b></p>" + fmt.html_table(head, rows, caption="Performance")


# --------------------------------------------------------------------------
# within-study variances
# --------------------------------------------------------------------------

def _variance_spec(vi: Any, k: int | None) -> tuple[dict[str, Any], int, str]:
    """Normalise ``vi`` to a spec for the kernel, the number of studies and a description."""
    if callable(vi):
        if k is None:
            raise DataError("give k (studies per meta-analysis) when vi is a function", field="k")
        return {"kind": "callable", "fn": vi}, k, f"drawn by {getattr(vi, '__name__', 'a function')}"
    if isinstance(vi, tuple) and vi and isinstance(vi[0], str):
        kind = vi[0]
        if kind not in ("uniform", "lognormal") or len(vi) != 3:
            raise DataError(f"vi must be ('uniform', low, high) or ('lognormal', meanlog, sdlog), got {vi!r}",
                            field="vi")
        if k is None:
            raise DataError(f"give k (studies per meta-analysis) with vi={vi!r}", field="k")
        a, b = float(vi[1]), float(vi[2])
        if not (np.isfinite(a) and np.isfinite(b)):
            raise DataError(f"vi parameters must be finite, got {vi!r}", field="vi")
        if kind == "uniform" and not 0 < a < b:
            raise DataError(f"vi=('uniform', low, high) needs 0 < low < high, got {vi!r}", field="vi")
        if kind == "lognormal" and b < 0:
            raise DataError(f"vi=('lognormal', meanlog, sdlog) needs sdlog >= 0, got {vi!r}", field="vi")
        return {"kind": kind, "a": a, "b": b}, k, f"{kind}({a:g}, {b:g})"
    if vi is None:
        raise DataError("give vi: the within-study variances (a number, k numbers, ('uniform', low, high), "
                        "('lognormal', meanlog, sdlog) or a function (generator, shape) -> array)", field="vi")
    arr = np.array(vi, dtype=float, ndmin=1)
    if arr.ndim != 1:
        raise DataError(f"vi must be a number or a vector of k variances, got shape {arr.shape}", field="vi")
    if arr.size == 1:
        if k is None:
            raise DataError("give k (studies per meta-analysis) with a single vi", field="k")
        arr = np.full(k, arr[0])
    elif k is not None and arr.size != k:
        raise DataError(f"vi has {arr.size} entries but k = {k}", field="vi")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"study at position {i}: vi must be positive and finite, got {arr[i]!r}", study=i,
                        field="vi")
    desc = f"fixed ({arr[0]:g})" if np.all(arr == arr[0]) else f"fixed ({arr.min():g} to {arr.max():g})"
    return {"kind": "fixed", "values": arr}, arr.size, desc


def _draw_data(spec: dict[str, Any], rnd: ItemRandom, m: int, k: int, mu: float,
               tau2: float) -> tuple[np.ndarray, np.ndarray]:
    """The replicates of one chunk: (yi, vi), each (m, k)."""
    z = rnd.draw(lambda g, n: g.standard_normal((n, k)))        # stream 0: the same for any vi setting
    kind = spec["kind"]
    if kind == "fixed":
        v = np.broadcast_to(spec["values"], (m, k))
    elif kind == "uniform":                                       # stream 1
        v = rnd.draw(lambda g, n: g.uniform(spec["a"], spec["b"], (n, k)))
    elif kind == "lognormal":
        v = rnd.draw(lambda g, n: g.lognormal(spec["a"], spec["b"], (n, k)))
    else:
        fn: Callable[[np.random.Generator, tuple[int, int]], Any] = spec["fn"]

        def call(g: np.random.Generator, n: int) -> np.ndarray:
            out = np.asarray(fn(g, (n, k)), dtype=float)
            if out.shape != (n, k):
                raise DataError(f"the vi function must return an array of shape {(n, k)}, got {out.shape}",
                                field="vi")
            return out

        v = rnd.draw(call)
    if kind != "fixed":
        bad = ~np.isfinite(v) | (v <= 0)
        if bad.any():
            raise DataError(f"drawn within-study variances must be positive and finite; got {v[bad][0]!r}",
                            field="vi")
    return mu + np.sqrt(v + tau2) * z, v


def simulate_data(k: int | None = None, *, mu: float = 0.0, tau2: float = 0.0, vi: Any = None,
                  n_sim: int = 1000, seed: SeedLike = None, start: int = 0,
                  stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The simulated data sets ``start .. stop`` of a :func:`simulate` run with the same arguments.

    Returns
    -------
    (yi, vi) : tuple of ndarray, each of shape (stop - start, k)
        Exactly the replicates that :func:`simulate` fits (for checks, or to
        analyse some replicates with other tools).
    """
    spec, k_studies, _ = _variance_spec(vi, None if k is None else int(k))
    stop = int(n_sim) if stop is None else int(stop)
    if not 0 <= start < stop <= n_sim:
        raise DataError(f"need 0 <= start < stop <= n_sim, got start={start}, stop={stop}, n_sim={n_sim}")
    rnd = ItemRandom(resolve_seed(seed), int(n_sim), int(start), stop)
    return _draw_data(spec, rnd, stop - start, k_studies, float(mu), float(tau2))


# --------------------------------------------------------------------------
# the kernel: per-block statistics
# --------------------------------------------------------------------------

def _mean_m2(x: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and sum of squared deviations of ``x`` over ``ok``, per column."""
    n = ok.sum(axis=0).astype(float)
    xs = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, xs.sum(axis=0) / np.where(n > 0, n, 1.0), 0.0)
    m2 = np.where(ok, (x - mean) ** 2, 0.0).sum(axis=0)
    return n, mean, m2


def _sim_kernel(payload: dict[str, Any], chunk: Chunk) -> dict[str, np.ndarray]:
    assert chunk.random is not None
    k, mu, tau2, level = payload["k"], payload["mu"], payload["tau2"], payload["level"]
    y, v = _draw_data(payload["vi"], chunk.random, chunk.size, k, mu, tau2)
    alpha = 1 - level
    cols: dict[str, list[np.ndarray]] = {n: [] for n in
                                         ("est", "se", "lo", "hi", "p", "t2", "ok", "pil", "pih")}
    for method in payload["methods"]:
        est = estimate_tau2(method, y, v, raise_on_failure=False)
        for test in payload["tests"]:
            fa = fit_arrays(y, v, method=method, test=test, level=level, tau2=est.tau2)
            cols["est"].append(fa.beta[:, 0])
            cols["se"].append(fa.se[:, 0])
            cols["lo"].append(fa.ci_lower[:, 0])
            cols["hi"].append(fa.ci_upper[:, 0])
            cols["p"].append(fa.pvalue[:, 0])
            cols["t2"].append(fa.tau2)
            cols["ok"].append(est.converged)
            cols["pil"].append(fa.pi_lower)
            cols["pih"].append(fa.pi_upper)
    a = {n: np.stack(c, axis=1) for n, c in cols.items()}                # (m, n_combos)
    ok = a["ok"]
    random = payload["random"][None, :]
    # expected coverage of the prediction interval for a new study's effect ~ N(mu, tau²)
    if tau2 > 0:
        s = np.sqrt(2 * tau2)
        pi_cov = 0.5 * (special.erf((a["pih"] - mu) / s) - special.erf((a["pil"] - mu) / s))
    else:
        pi_cov = ((a["pil"] <= mu) & (mu <= a["pih"])).astype(float)
    values = {
        "covered": ((a["lo"] <= mu) & (mu <= a["hi"])).astype(float),
        "width": a["hi"] - a["lo"],
        "reject": (a["p"] < alpha).astype(float),
        "se": a["se"],
        "pi_covered": np.where(random, pi_cov, 0.0),
        "failed": (~ok).astype(float),
    }
    blocks: dict[str, list[np.ndarray]] = {n: [] for n in ("n", "err_mean", "err_m2", "t2_mean", "t2_m2", *_SUMS)}
    # statistics per RNG block (the chunk is a whole number of blocks), so that they do not depend on chunking
    for lo in range(0, chunk.size, RNG_BLOCK):
        sl = slice(lo, min(lo + RNG_BLOCK, chunk.size))
        okb = ok[sl]
        n, em, e2 = _mean_m2(a["est"][sl] - mu, okb)
        _, tm, t2 = _mean_m2(a["t2"][sl] - tau2, okb)
        blocks["n"].append(n)
        blocks["err_mean"].append(em)
        blocks["err_m2"].append(e2)
        blocks["t2_mean"].append(tm)
        blocks["t2_m2"].append(t2)
        for name in _SUMS:
            x = values[name][sl]
            blocks[name].append(x.sum(axis=0) if name == "failed" else np.where(okb, x, 0.0).sum(axis=0))
    out: dict[str, Any] = {"stats": {n: np.stack(b) for n, b in blocks.items()}}
    if payload["keep_draws"]:
        nan = np.nan
        out["draws"] = {"estimate": np.where(ok, a["est"], nan), "se": np.where(ok, a["se"], nan),
                        "ci_lower": np.where(ok, a["lo"], nan), "ci_upper": np.where(ok, a["hi"], nan),
                        "pvalue": np.where(ok, a["p"], nan), "tau2": np.where(ok, a["t2"], nan), "converged": ok}
    return out


def _combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold the per-block statistics of all chunks, in order (Chan et al.'s pairwise update)."""
    stats = {n: np.concatenate([p["stats"][n] for p in parts]) for n in parts[0]["stats"]}
    n_tot = np.zeros(stats["n"].shape[1])
    err_mean = np.zeros_like(n_tot)
    err_m2 = np.zeros_like(n_tot)
    t2_mean = np.zeros_like(n_tot)
    t2_m2 = np.zeros_like(n_tot)
    sums = {name: np.zeros_like(n_tot) for name in _SUMS}
    for b in range(stats["n"].shape[0]):
        nb = stats["n"][b]
        new = n_tot + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(new > 0, nb / np.where(new > 0, new, 1.0), 0.0)
            d = stats["err_mean"][b] - err_mean
            err_m2 = err_m2 + stats["err_m2"][b] + d ** 2 * n_tot * frac
            err_mean = err_mean + d * frac
            d = stats["t2_mean"][b] - t2_mean
            t2_m2 = t2_m2 + stats["t2_m2"][b] + d ** 2 * n_tot * frac
            t2_mean = t2_mean + d * frac
        n_tot = new
        for name in _SUMS:
            sums[name] = sums[name] + stats[name][b]
    out: dict[str, Any] = {"n": n_tot, "err_mean": err_mean, "err_m2": err_m2, "t2_mean": t2_mean,
                           "t2_m2": t2_m2, **sums}
    if "draws" in parts[0]:
        out["draws"] = {n: np.concatenate([p["draws"][n] for p in parts]) for n in parts[0]["draws"]}
    return out


def _check_names(values: Any, allowed: Sequence[str], name: str) -> tuple[str, ...]:
    vals = (values,) if isinstance(values, str) else tuple(values)
    if not vals:
        raise DataError(f"{name} must name at least one of {', '.join(allowed)}", field=name)
    for v in vals:
        if not isinstance(v, str) or v not in allowed:
            raise DataError(f"unknown {name[:-1]} {v!r} in {name}; expected some of {', '.join(allowed)}",
                            field=name)
    if len(set(vals)) != len(vals):
        raise DataError(f"{name} lists an entry twice: {vals!r}", field=name)
    return vals


def simulate(k: int | None = None, *, mu: float = 0.0, tau2: float = 0.0, vi: Any = None, n_sim: int = 1000,
             methods: Sequence[str] = ("DL", "REML", "PM"), tests: Sequence[str] = ("z", "knha"),
             level: float = 0.95, seed: SeedLike = None, keep_draws: bool = False, chunk_size: int | None = None,
             progress: bool | None = None, client: Any = None, n_jobs: int | None = None) -> SimulationResult:
    """Simulate meta-analyses under a true random-effects model and evaluate estimators.

    Parameters
    ----------
    k : int, optional
        Studies per meta-analysis (>= 2); may be omitted when ``vi`` gives k
        variances.
    mu : float
        True mean effect (analysis scale).
    tau2 : float
        True between-study variance (>= 0).
    vi : float, array_like of k floats, tuple or callable
        Within-study variances: fixed (one number for all studies, or k
        numbers), drawn for every replicate and study from
        ``("uniform", low, high)`` or ``("lognormal", meanlog, sdlog)``, or
        drawn by a function ``vi(generator, shape) -> ndarray`` (picklable
        to run on Dask).
    n_sim : int
        Number of simulated meta-analyses.
    methods : sequence of str
        tau² estimators to compare (any of "EE", "DL", "REML", "ML", "PM",
        "HE", "SJ", "HS", "EB").
    tests : sequence of str
        Tests / intervals to compare: "z" (Wald) and "knha"
        (Hartung-Knapp-Sidik-Jonkman).
    level : float
        Confidence level of the intervals and 1 - the significance level.
    seed : int, SeedSequence, Generator or None
        Seed; the same seed gives the same data whatever the chunking,
        threads or cluster (and the same standard normal deviates for any
        ``vi`` setting: common random numbers across scenarios).
    keep_draws : bool
        Keep every replicate's results (``draws``); memory grows with
        ``n_sim``.
    chunk_size, progress, client, n_jobs
        As in :func:`mgmeta.engine.run_chunks`; ``chunk_size`` is rounded
        up to a multiple of :data:`mgmeta.engine.RNG_BLOCK`.

    Returns
    -------
    SimulationResult

    Warns
    -----
    MgmetaWarning
        When an iterative estimator did not converge in some replicates
        (those are left out of its rows and counted in ``n_failed``).

    Notes
    -----
    Replicate r draws z_ri ~ N(0, 1) and v_ri, and sets
    y_ri = mu + sqrt(v_ri + tau²) z_ri. All methods and tests are fitted to
    the same replicates. With e_r = estimate_r - mu over the S converged
    replicates: bias = mean(e), emp_se = sd(e) (divisor S - 1),
    rmse = sqrt(mean(e²)), coverage = share of CIs containing mu,
    coverage_mcse = sqrt(coverage (1 - coverage) / S) (Morris et al. 2019).
    ``pi_coverage`` averages P(pi_lower <= theta_new <= pi_upper) for
    theta_new ~ N(mu, tau²), computed exactly for each replicate.

    References
    ----------
    Morris TP, White IR, Crowther MJ (2019). doi:10.1002/sim.8086

    Examples
    --------
    >>> from mgmeta.simulate import simulate
    >>> sim = simulate(k=5, mu=0.2, tau2=0.05, vi=("uniform", 0.01, 0.1), n_sim=2000,
    ...                methods=("DL", "REML"), seed=1)
    >>> sim.summary[["method", "test"]].values.tolist()
    [['DL', 'z'], ['DL', 'knha'], ['REML', 'z'], ['REML', 'knha']]
    """
    if k is not None and (isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 2):
        raise DataError(f"k must be an integer of at least 2, got {k!r}", field="k")
    spec, k_studies, vi_desc = _variance_spec(vi, None if k is None else int(k))
    if k_studies < 2:
        raise DataError(f"simulate needs at least 2 studies per meta-analysis, got k = {k_studies}", field="k")
    mu = float(mu)
    tau2 = float(tau2)
    if not np.isfinite(mu):
        raise DataError(f"mu must be finite, got {mu!r}", field="mu")
    if not np.isfinite(tau2) or tau2 < 0:
        raise DataError(f"tau2 must be a finite non-negative number, got {tau2!r}", field="tau2")
    if isinstance(n_sim, (bool, np.bool_)) or not isinstance(n_sim, (int, np.integer)) or n_sim < 2:
        raise DataError(f"n_sim must be an integer of at least 2, got {n_sim!r}", field="n_sim")
    meths = _check_names(methods, METHODS, "methods")
    tsts = _check_names(tests, TESTS, "tests")
    level = float(level)
    if not 0 < level < 1:
        raise DataError(f"level must be between 0 and 1, got {level!r}", field="level")
    ss = resolve_seed(seed)
    if chunk_size is None:
        size = chunk_size_for(k_studies * len(meths) * len(tsts))
    else:
        size = check_chunk_size(chunk_size)
    size = -(-size // RNG_BLOCK) * RNG_BLOCK
    combos = [(m, t) for m in meths for t in tsts]
    payload = {"k": k_studies, "mu": mu, "tau2": tau2, "vi": spec, "level": level, "methods": meths,
               "tests": tsts, "keep_draws": bool(keep_draws),
               "random": np.array([m not in ("EE", "FE") for m, _ in combos])}
    tot = run_chunks(_sim_kernel, payload, int(n_sim), chunk_size=size, seed=ss, reduce=_combine,
                     progress=progress, client=client, n_jobs=n_jobs, desc="simulation", unit="rep")
    rows = []
    for j, (method, test) in enumerate(combos):
        s = tot["n"][j]
        failed = int(round(tot["failed"][j]))
        if s == 0:
            vals = dict.fromkeys(SUMMARY_COLUMNS[4:], np.nan)
        else:
            bias = tot["err_mean"][j]
            var = tot["err_m2"][j] / (s - 1) if s > 1 else np.nan
            cov = tot["covered"][j] / s
            random = method not in ("EE", "FE")
            vals = {
                "bias": bias, "emp_se": np.sqrt(var), "mean_se": tot["se"][j] / s,
                "rmse": np.sqrt(tot["err_m2"][j] / s + bias ** 2), "coverage": cov,
                "coverage_mcse": np.sqrt(cov * (1 - cov) / s), "ci_width": tot["width"][j] / s,
                "rejection_rate": tot["reject"][j] / s, "tau2_bias": tot["t2_mean"][j],
                "tau2_rmse": np.sqrt(tot["t2_m2"][j] / s + tot["t2_mean"][j] ** 2),
                "pi_coverage": tot["pi_covered"][j] / s if random else np.nan,
            }
        rows.append({"method": method, "test": test, "n_sim": int(n_sim), "n_failed": failed,
                     **{c: float(vals[c]) for c in SUMMARY_COLUMNS[4:]}})
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    failed_methods = {m: int(r) for (m, t), r in zip(combos, tot["failed"]) if r > 0}
    if failed_methods:
        detail = ", ".join(f"{m}: {n:,}" for m, n in failed_methods.items())
        warnings.warn(f"simulate: the tau² estimator did not converge in some replicates ({detail} of "
                      f"{n_sim:,}); they are left out of those rows (n_failed)", MgmetaWarning, stacklevel=2)
    draws = None
    if keep_draws:
        d = tot["draws"]
        n = int(n_sim)
        reps = np.repeat(np.arange(n), len(combos))
        draws = pd.DataFrame({
            "replicate": reps,
            "method": np.tile([m for m, _ in combos], n),
            "test": np.tile([t for _, t in combos], n),
            **{name: d[name].reshape(-1) for name in ("estimate", "se", "ci_lower", "ci_upper", "pvalue", "tau2",
                                                      "converged")},
        })
    return SimulationResult(summary=summary, k=k_studies, mu=mu, tau2=tau2, vi=vi_desc, n_sim=int(n_sim),
                            level=level, methods=meths, tests=tsts, seed=seed_entropy(ss), draws=draws)
