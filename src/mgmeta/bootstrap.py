"""Parametric bootstrap of a fitted random-effects model.

Draws new data sets from the fitted model, y*_i ~ N(mu^, v_i + tau²^) for the
same sampling variances v_i, refits the model to each (same tau² estimator and
test) and summarises the distributions of the pooled estimate, tau², tau, I²
and H²: bootstrap standard errors, bias, and percentile intervals. This is the
parametric bootstrap of Viechtbauer's metafor documentation (with the ``boot``
package, one ``rma()`` per draw); here the draws are fitted as one batch per
chunk through :mod:`mgmeta.engine`, with per-draw seeds that make the result
independent of chunking, threads or a Dask cluster.

References
----------
Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall.
doi:10.1201/9780429246593
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
meta-analysis. Stat Med 26(1):37-52. doi:10.1002/sim.2514
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mgmeta import _format as fmt
from mgmeta.engine import (
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
from mgmeta.models import check_standard_fit, fit_arrays

__all__ = ["BootstrapResult", "bootstrap", "draw_data", "DRAW_COLUMNS"]

DRAW_COLUMNS = ("estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "converged")
"""Columns of :attr:`BootstrapResult.draws`."""


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Parametric bootstrap distributions of a fitted model.

    Attributes
    ----------
    intervals : DataFrame
        One row per quantity (``estimate``, and for random-effects models
        ``tau2``, ``tau``; then ``i2`` (percent) and ``h2``), columns
        ``observed`` (the model's value), ``mean``, ``bias`` (mean minus
        observed), ``se`` (standard deviation of the draws), ``ci_lower``,
        ``ci_upper`` (percentile interval).
    draws : DataFrame
        One row per bootstrap draw: ``estimate se ci_lower ci_upper tau2 i2 h2
        q converged``. Draws whose tau² estimator did not converge have NaN in
        every column but ``q`` and are left out of ``intervals``.
    n_boot : int
        Number of draws.
    n_failed : int
        Draws whose fit did not converge.
    level : float
        Level of the percentile intervals.
    method, test : str
        The model's tau² estimator and test, used for every refit.
    mu, tau2 : float
        The parameters the data were drawn from (the model's estimates).
    seed : int or None
        Seed that reproduces the draws.
    """

    intervals: pd.DataFrame
    draws: pd.DataFrame = field(repr=False)
    n_boot: int
    n_failed: int
    level: float
    method: str
    test: str
    mu: float
    tau2: float
    seed: int | None = None
    measure: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """The intervals table (a copy)."""
        return self.intervals.copy()

    def _lines(self) -> list[str]:
        pct = f"{100 * self.level:g}%"
        return [f"Parametric bootstrap ({self.n_boot:,} draws; tau^2 estimator: {self.method}; "
                f"data drawn with mu = {fmt.format_number(self.mu)}, tau^2 = {fmt.format_number(self.tau2)})",
                f"Draws that failed to converge: {self.n_failed:,}; seed: {self.seed}",
                f"Percentile intervals at the {pct} level (analysis scale)"]

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        head = ["", "observed", "mean", "bias", "se", "ci.lb", "ci.ub"]
        names = {"estimate": "estimate", "tau2": "tau^2", "tau": "tau", "i2": "I^2(%)", "h2": "H^2"}
        rows = [[names.get(n, n)] + [fmt.format_number(float(self.intervals.loc[n, c]))
                                     for c in ("observed", "mean", "bias", "se", "ci_lower", "ci_upper")]
                for n in self.intervals.index]
        return head, rows

    def __str__(self) -> str:
        head, rows = self._rows()
        return "\n".join(self._lines() + ["", fmt.text_table(head, rows)]) + "\n"

    def _repr_html_(self) -> str:
        head, rows = self._rows()
        lines = self._lines()
        return f"<p><b>{lines[0]}</b><br>{lines[1]}</p>" + fmt.html_table(head, rows, caption=lines[2])


def _boot_kernel(payload: dict[str, Any], chunk: Chunk) -> dict[str, np.ndarray]:
    assert chunk.random is not None
    k = payload["k"]
    z = chunk.random.draw(lambda g, m: g.standard_normal((m, k)))
    y = payload["mu"] + payload["sd"] * z
    v = np.broadcast_to(payload["vi"], y.shape)
    fa = fit_arrays(y, v, method=payload["method"], test=payload["test"], level=payload["level"],
                    tau2=payload["tau2"], raise_on_failure=False, control=payload.get("control"))
    ok = fa.converged
    out = {
        "estimate": fa.beta[:, 0], "se": fa.se[:, 0], "ci_lower": fa.ci_lower[:, 0], "ci_upper": fa.ci_upper[:, 0],
        "tau2": fa.tau2, "i2": fa.i2, "h2": fa.h2,
    }
    out = {name: np.where(ok, arr, np.nan) for name, arr in out.items()}
    out["q"] = fa.q
    out["converged"] = ok
    return out


def draw_data(mu: float, tau2: float, vi: np.ndarray, n_boot: int, seed: np.random.SeedSequence,
              start: int = 0, stop: int | None = None) -> np.ndarray:
    """The bootstrap data sets ``start .. stop`` of a run, shape (stop - start, k).

    The same numbers :func:`bootstrap` fits (for checks and for users who
    want to refit the draws with other tools).
    """
    vi = np.asarray(vi, dtype=float)
    stop = n_boot if stop is None else stop
    rnd = ItemRandom(seed, n_boot, start, stop)
    z = rnd.draw(lambda g, m: g.standard_normal((m, vi.size)))
    return mu + np.sqrt(vi + tau2) * z


def bootstrap(res: Any, n_boot: int = 1000, seed: SeedLike = None, *, level: float | None = None,
              chunk_size: int | None = None, progress: bool | None = None, client: Any = None,
              n_jobs: int | None = None) -> BootstrapResult:
    """Parametric bootstrap of a fitted model: distributions of mu, tau², tau, I², H² and percentile intervals.

    Parameters
    ----------
    res : MetaAnalysisResult
        The fitted model (:func:`mgmeta.meta_analysis`, without moderators).
        A model fitted with a fixed tau² keeps it fixed in every refit.
    n_boot : int
        Number of bootstrap data sets (default 1000).
    seed : int, SeedSequence, Generator or None
        Seed of the draws; the same seed gives the same draws with any
        chunking, threads or cluster. None draws fresh entropy (recorded in
        the result's ``seed``).
    level : float, optional
        Level of the percentile intervals (default: the model's).
    chunk_size, progress, client, n_jobs
        As in :func:`mgmeta.engine.run_chunks`.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    DataError
        Fewer than 2 studies or a bad argument.

    Warns
    -----
    MgmetaWarning
        When some refits did not converge (they are left out of the
        intervals).

    Notes
    -----
    Draw b is y*_bi = mu^ + sqrt(v_i + tau²^) z_bi with z_bi ~ N(0, 1), for
    the model's estimates mu^ and tau²^ (tau² = 0 for EE/FE models). Each
    draw is refitted with the model's estimator and test. The percentile
    interval is the (alpha/2, 1 - alpha/2) quantiles of the draws (numpy's
    default linear interpolation, R's type 7), over the draws that
    converged; those for tau are taken over the square roots of the tau²
    draws.

    References
    ----------
    Efron B, Tibshirani RJ (1993). doi:10.1201/9780429246593

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.bootstrap import bootstrap
    >>> res = mgmeta.meta_analysis([0.1, 0.3, 0.35, 0.9, 0.2], [0.01, 0.02, 0.015, 0.02, 0.03])
    >>> boot = bootstrap(res, n_boot=200, seed=1)
    >>> list(boot.intervals.index)
    ['estimate', 'tau2', 'tau', 'i2', 'h2']
    """
    yi = np.asarray(getattr(res, "yi", None), dtype=float)
    vi = np.asarray(getattr(res, "vi", None), dtype=float)
    method = getattr(res, "method", None)
    if yi.ndim != 1 or vi.shape != yi.shape or method is None:
        raise DataError(f"bootstrap needs a fitted model from mgmeta.meta_analysis, got {type(res).__name__}")
    check_standard_fit(res, "bootstrap")
    if getattr(res, "X", None) is not None:
        raise DataError("bootstrap supports models without moderators (mgmeta.meta_analysis)")
    k = int(yi.size)
    if k < 2:
        raise DataError(f"bootstrap needs at least 2 studies, the model has k = {k}")
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise DataError(f"n_boot must be an integer of at least 2, got {n_boot!r}", field="n_boot")
    lev = float(res.level) if level is None else float(level)
    if not 0 < lev < 1:
        raise DataError(f"level must be between 0 and 1, got {level!r}", field="level")
    random = method not in ("EE", "FE")
    mu = float(res.estimate)
    tau2 = float(res.tau2) if random else 0.0
    ss = resolve_seed(seed)
    fixed = None
    if hasattr(res, "se_tau2"):
        from mgmeta.analyses.sensitivity import fixed_tau2

        fixed = fixed_tau2(res)
    payload = {"vi": vi.copy(), "k": k, "mu": mu, "sd": np.sqrt(vi + tau2), "method": method,
               "test": res.test, "level": float(res.level), "tau2": fixed, "control": getattr(res, "control", None)}
    size = chunk_size_for(k) if chunk_size is None else check_chunk_size(chunk_size)
    out = run_chunks(_boot_kernel, payload, int(n_boot), chunk_size=size, seed=ss, progress=progress,
                     client=client, n_jobs=n_jobs, desc="bootstrap", unit="draw")
    draws = pd.DataFrame({c: out[c] for c in DRAW_COLUMNS})
    ok = draws["converged"].to_numpy()
    n_failed = int((~ok).sum())
    if n_failed == n_boot:
        raise DataError(f"bootstrap: the {method} estimator did not converge for any of the {n_boot} draws")
    if n_failed:
        warnings.warn(f"bootstrap: the {method} estimator did not converge for {n_failed:,} of {n_boot:,} draws; "
                      f"they are left out of the intervals", MgmetaWarning, stacklevel=2)
    alpha = 1 - lev
    quantities = ["estimate", "tau2", "tau", "i2", "h2"] if random else ["estimate", "i2", "h2"]
    observed = {"estimate": mu, "tau2": tau2, "tau": float(np.sqrt(tau2)), "i2": float(res.i2),
                "h2": float(res.h2)}
    rows = {}
    for name in quantities:
        x = (np.sqrt(draws["tau2"].to_numpy()) if name == "tau" else draws[name].to_numpy())[ok]
        lo, hi = np.quantile(x, [alpha / 2, 1 - alpha / 2])
        mean = float(x.mean())
        rows[name] = {"observed": observed[name], "mean": mean, "bias": mean - observed[name],
                      "se": float(x.std(ddof=1)), "ci_lower": float(lo), "ci_upper": float(hi)}
    intervals = pd.DataFrame.from_dict(rows, orient="index")
    return BootstrapResult(intervals=intervals, draws=draws, n_boot=int(n_boot), n_failed=n_failed, level=lev,
                           method=str(method), test=str(res.test), mu=mu, tau2=tau2, seed=seed_entropy(ss),
                           measure=getattr(res, "measure", None))
