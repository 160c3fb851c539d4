"""The batched resampling engine: many fits in bounded memory, with progress, seeds and Dask.

Resampling analyses (GOSH subsets, permutation tests, bootstrap draws,
simulation studies) fit thousands to millions of meta-analyses that differ
only in their data, their subset of studies or their design matrix. The
numerical kernel, :func:`mgmeta.models.fit_arrays`, already fits a whole batch
at once over a leading batch axis; this module runs such kernels over a long
list of *items* (one item = one fit) split into *chunks*:

* **Bounded memory.** A chunk holds a few thousand items, sized from a memory
  budget (:data:`CHUNK_BYTES`) and the number of studies, so the working
  arrays of a run stay well under its output, whatever the number of items.
  Per-item outputs are written into arrays allocated once; summary-only runs
  (simulation studies) reduce each chunk to a few numbers.
* **Reproducible seeds.** Random numbers are tied to item positions, not to
  chunks: items ``[b * RNG_BLOCK, (b + 1) * RNG_BLOCK)`` draw from their own
  stream, derived from the user's seed with :class:`numpy.random.SeedSequence`
  (Salmon et al. 2011's counter-based idea, as numpy recommends for parallel
  streams). A run gives the same numbers for any chunk size, any number of
  threads and on a Dask cluster.
* **Progress.** A :mod:`tqdm` bar, shown for runs that last more than a couple
  of seconds on a terminal (``progress=None``), always (``True``) or never
  (``False``).
* **Scale-out.** Pass a :class:`distributed.Client` (or a scheduler address)
  as ``client`` and the same chunks run on a Dask cluster (the optional extra
  ``mgmeta[dask]``); locally, ``n_jobs`` threads share the chunks (numpy
  releases the GIL in its array loops). While they run, the BLAS library
  behind numpy's matrix products is held to one thread (threadpoolctl), so that
  the two levels of threads do not compete for the same cores.

:func:`run_chunks` is the general runner; :func:`fit_batch` fits a batch of
models chunk by chunk (any of ``yi``, ``vi``, ``mask``, ``X`` per item or
shared) and :func:`fit_permutations` refits a meta-regression under random
(or given) permutations of its moderators.

References
----------
Salmon JK, Moraes MA, Dror RO, Shaw DE (2011). Parallel random numbers: as
easy as 1, 2, 3. SC '11. doi:10.1145/2063384.2063405
Rocklin M (2015). Dask: parallel computation with blocked algorithms and task
scheduling. Proc. 14th Python in Science Conf. doi:10.25080/Majora-7b98e3ed-013
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mgmeta.control import check_control
from mgmeta.errors import DataError, MgmetaError, MgmetaWarning
from mgmeta.estimators import ALL_METHODS as METHODS
from mgmeta.estimators import sym_inv_last
from mgmeta.models import TESTS, FitArrays, fit_arrays, permuted_data

__all__ = [
    "RNG_BLOCK",
    "CHUNK_BYTES",
    "MAX_CHUNK",
    "PROGRESS_DELAY",
    "Chunk",
    "ItemRandom",
    "resolve_seed",
    "chunk_size_for",
    "even_chunk_size",
    "check_chunk_size",
    "plan_chunks",
    "run_chunks",
    "fit_batch",
    "fit_permutations",
    "FIT_FIELDS",
    "seed_entropy",
    "wald_qm",
]

RNG_BLOCK = 1024
"""Items per random stream; chunks are whole multiples of it."""
CHUNK_BYTES = 32 * 2 ** 20
"""Memory budget of the working arrays of one chunk (bytes)."""
MAX_CHUNK = 65536
"""Largest chunk (items)."""
PROGRESS_DELAY = 2.0
"""With ``progress=None`` a bar appears only once a run has lasted this long (seconds)."""

FIT_FIELDS = tuple(FitArrays.__dataclass_fields__)
"""Names of the per-fit arrays :func:`fit_batch` can return (those of ``FitArrays``)."""

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None
Kernel = Callable[[Any, "Chunk"], Mapping[str, Any]]


# --------------------------------------------------------------------------
# seeds and per-item random streams
# --------------------------------------------------------------------------

def resolve_seed(seed: SeedLike) -> np.random.SeedSequence:
    """A :class:`numpy.random.SeedSequence` from a user's ``seed``.

    Parameters
    ----------
    seed : int, SeedSequence, Generator or None
        A non-negative integer, a seed sequence (used as is), a generator (one
        integer is drawn from it) or None (fresh entropy from the operating
        system; the result objects record it as ``seed`` so that the run can
        be repeated).

    Returns
    -------
    numpy.random.SeedSequence
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2 ** 63)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise DataError(f"seed must be a non-negative integer, a numpy SeedSequence or Generator, or None; "
                        f"got {seed!r}", field="seed")
    if seed < 0:
        raise DataError(f"seed must be non-negative, got {seed}", field="seed")
    return np.random.SeedSequence(int(seed))


def seed_entropy(seed: np.random.SeedSequence) -> int | None:
    """The integer that reproduces ``seed`` (None when it was built from a sequence of words)."""
    ent = seed.entropy
    if isinstance(ent, (int, np.integer)) and not seed.spawn_key:
        return int(ent)
    return None


class ItemRandom:
    """Random numbers tied to item positions, so that chunking does not change them.

    Items are grouped in blocks of :data:`RNG_BLOCK`; block ``b`` draws from
    its own generator, seeded by ``SeedSequence(entropy, spawn_key=(...,
    stream, b))``. A chunk ``[start, stop)`` draws each block it touches in
    full (a block is never split between the numbers it yields) and keeps its
    own items. The ``i``-th call of :meth:`draw` within a kernel uses stream
    ``i``, so that successive draws are independent.

    Parameters
    ----------
    seed : SeedSequence
        The run's seed.
    n_items : int
        Number of items of the whole run (the last block may be short).
    start, stop : int
        The chunk.
    """

    def __init__(self, seed: np.random.SeedSequence, n_items: int, start: int, stop: int,
                 block: int = RNG_BLOCK):
        self.seed = seed
        self.n_items = int(n_items)
        self.start = int(start)
        self.stop = int(stop)
        self.block = int(block)
        self._stream = 0

    def generator(self, stream: int, block: int) -> np.random.Generator:
        """The generator of one block of one stream."""
        ss = np.random.SeedSequence(self.seed.entropy, spawn_key=tuple(self.seed.spawn_key) + (stream, block),
                                    pool_size=self.seed.pool_size)
        return np.random.Generator(np.random.PCG64(ss))

    def draw(self, fn: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
        """Per-item random numbers for this chunk.

        Parameters
        ----------
        fn : callable ``(generator, m) -> ndarray``
            Draws the numbers of ``m`` consecutive items (leading axis ``m``),
            e.g. ``lambda g, m: g.standard_normal((m, k))``.

        Returns
        -------
        ndarray
            Leading axis ``stop - start``.
        """
        stream = self._stream
        self._stream += 1
        parts = []
        first = self.start // self.block
        last = (self.stop - 1) // self.block
        for b in range(first, last + 1):
            lo = b * self.block
            hi = min(lo + self.block, self.n_items)
            arr = np.asarray(fn(self.generator(stream, b), hi - lo))
            if arr.shape[:1] != (hi - lo,):
                raise MgmetaError(f"a random draw must have leading axis {hi - lo}, got shape {arr.shape}")
            parts.append(arr[max(self.start, lo) - lo:min(self.stop, hi) - lo])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


# --------------------------------------------------------------------------
# chunks
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Chunk:
    """One piece of a run, as a kernel sees it.

    Attributes
    ----------
    index : int
        Position of the chunk in the run.
    start, stop : int
        The items ``[start, stop)`` of the run.
    items : mapping of str to ndarray
        The per-item inputs of the run, sliced to this chunk.
    random : ItemRandom or None
        Per-item random numbers (None when the run has no seed).
    """

    index: int
    start: int
    stop: int
    items: Mapping[str, np.ndarray] = field(default_factory=dict)
    random: ItemRandom | None = None

    @property
    def size(self) -> int:
        """Number of items."""
        return self.stop - self.start


def chunk_size_for(k: int, p: int | None = None, *, memory: int = CHUNK_BYTES, shared_design: bool = False) -> int:
    """Items per chunk for fits of ``k`` studies within ``memory`` bytes of working arrays.

    Parameters
    ----------
    k : int
        Number of studies.
    p : int, optional
        Columns of the design matrix; None for the intercept-only model
        (closed sums, no k x k matrices).
    memory : int
        Budget in bytes (default :data:`CHUNK_BYTES`).
    shared_design : bool
        The fits share one design matrix (k, p), as the permuted fits of a
        permutation test (:func:`mgmeta.models.permuted_data`): no per-fit
        design or k x k arrays.

    Notes
    -----
    An intercept-only fit keeps about 64 float arrays of length k alive (the
    estimator's sums, weights, residuals and outputs); a meta-regression also
    forms a few k x k projection matrices and k x p products. Fits that share
    one design keep 24 arrays of length k and a few p x p matrices (17 arrays
    measured with tracemalloc for REML, k = 20, p = 3). The result is a
    multiple of :data:`RNG_BLOCK` between one block and :data:`MAX_CHUNK`.
    """
    k = max(int(k), 1)
    if shared_design:
        per_item = 8 * k * 24 + 8 * 16 * int(p or 1) ** 2
    else:
        per_item = 8 * k * 64
    if p is not None and not shared_design:
        per_item += 8 * k * (6 * k + 8 * int(p))
    n = (int(memory) // per_item // RNG_BLOCK) * RNG_BLOCK
    return int(min(max(n, RNG_BLOCK), MAX_CHUNK))


def even_chunk_size(n_items: int, chunk_size: int, n_jobs: int | None, multiple: int = 1) -> int:
    """A chunk size of at most ``chunk_size`` that splits ``n_items`` into equal chunks, as many as a
    multiple of the threads of ``n_jobs`` (rounded up to a ``multiple``, e.g. :data:`RNG_BLOCK`).

    Iterative fits run until the slowest fit of a chunk has converged, at a cost per iteration that hardly
    depends on how many fits are left: fewer, equal chunks keep that tail short and the threads busy.
    """
    jobs = _check_n_jobs(n_jobs)
    cap = check_chunk_size(chunk_size)
    n_chunks = jobs * -(-int(n_items) // (jobs * cap))
    size = -(-int(n_items) // n_chunks)
    size = -(-size // multiple) * multiple
    return max(1, min(size, cap))


def plan_chunks(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of consecutive chunks covering ``n_items`` items."""
    return [(s, min(s + chunk_size, n_items)) for s in range(0, n_items, chunk_size)]


def check_chunk_size(chunk_size: Any) -> int:
    """A positive integer number of items per chunk, or :class:`~mgmeta.errors.DataError`."""
    if isinstance(chunk_size, (bool, np.bool_)) or not isinstance(chunk_size, (int, np.integer)) \
            or chunk_size < 1:
        raise DataError(f"chunk_size must be a positive integer, got {chunk_size!r}", field="chunk_size")
    return int(chunk_size)


def _check_n_jobs(n_jobs: Any) -> int:
    if n_jobs is None:
        return _available_cpus()
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise DataError(f"n_jobs must be a positive integer, -1 (all cores) or None, got {n_jobs!r}",
                        field="n_jobs")
    if n_jobs < 0:
        return _available_cpus()
    return int(n_jobs)


def _available_cpus() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _execute(kernel: Kernel, payload: Any, index: int, start: int, stop: int,
             items: Mapping[str, np.ndarray], seed: np.random.SeedSequence | None,
             n_items: int) -> Any:
    """Run one chunk (a module-level function, so that Dask can ship it to workers)."""
    rnd = None if seed is None else ItemRandom(seed, n_items, start, stop)
    return kernel(payload, Chunk(index=index, start=start, stop=stop, items=items, random=rnd))


class _Concat:
    """Writes per-item outputs of chunks into arrays allocated once."""

    def __init__(self, n_items: int):
        self.n_items = n_items
        self.out: dict[str, np.ndarray] | None = None

    def add(self, index: int, start: int, stop: int, result: Mapping[str, np.ndarray]) -> None:
        if self.out is None:
            self.out = {}
            for name, arr in result.items():
                arr = np.asarray(arr)
                self.out[name] = np.empty((self.n_items,) + arr.shape[1:], dtype=arr.dtype)
        for name, arr in result.items():
            arr = np.asarray(arr)
            if arr.shape[:1] != (stop - start,):
                raise MgmetaError(f"kernel output {name!r} has shape {arr.shape}; expected leading axis "
                                  f"{stop - start} for items [{start}, {stop})")
            self.out[name][start:stop] = arr

    def finish(self) -> dict[str, np.ndarray]:
        return self.out if self.out is not None else {}


class _Collect:
    """Keeps each chunk's (small) output, in chunk order, for a reduce function."""

    def __init__(self, n_chunks: int, reduce: Callable[[list[Any]], Any]):
        self.parts: list[Any] = [None] * n_chunks
        self.reduce = reduce

    def add(self, index: int, start: int, stop: int, result: Any) -> None:
        self.parts[index] = result

    def finish(self) -> Any:
        return self.reduce([p for p in self.parts if p is not None])


def _progress_bar(progress: bool | None, total: int, desc: str, unit: str) -> Any:
    if progress is False:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        if progress:
            warnings.warn("progress=True needs the tqdm package (pip install tqdm); running without a bar",
                          MgmetaWarning, stacklevel=4)
        return None
    if progress:
        return tqdm(total=total, desc=desc, unit=unit)
    # auto: only on a terminal, and only once the run has lasted PROGRESS_DELAY seconds
    return tqdm(total=total, desc=desc, unit=unit, disable=None, delay=PROGRESS_DELAY)


def _resolve_client(client: Any) -> tuple[Any, bool]:
    if client is None:
        return None, False
    if isinstance(client, str):
        try:
            from distributed import Client
        except ImportError:
            raise MgmetaError("running on a Dask cluster needs the optional extra: pip install 'mgmeta[dask]'") \
                from None
        return Client(client), True
    if callable(getattr(client, "submit", None)) and callable(getattr(client, "gather", None)):
        return client, False
    raise DataError(f"client must be a dask.distributed Client or a scheduler address, got {client!r}",
                    field="client")


def run_chunks(kernel: Kernel, payload: Any, n_items: int, *, chunk_size: int,
               items: Mapping[str, np.ndarray] | None = None, seed: np.random.SeedSequence | None = None,
               reduce: Callable[[list[Any]], Any] | None = None,
               progress: bool | None = None, client: Any = None, n_jobs: int | None = 1,
               desc: str = "fits", unit: str = "fit") -> Any:
    """Run ``kernel`` over ``n_items`` items in chunks, locally or on Dask.

    Parameters
    ----------
    kernel : callable ``(payload, chunk) -> dict of ndarray``
        Computes the outputs of the items of one :class:`Chunk`. It must be a
        module-level function (picklable) to run on Dask, and must not depend
        on which other items share its chunk.
    payload : object
        Inputs shared by every chunk (the data of the meta-analysis, options).
    n_items : int
        Number of items (fits) of the run.
    chunk_size : int
        Items per chunk (see :func:`chunk_size_for`).
    items : mapping of str to ndarray, optional
        Per-item inputs (leading axis ``n_items``), sliced for each chunk.
    seed : SeedSequence, optional
        Seed of the per-item random streams (``chunk.random``).
    reduce : callable, optional
        Without it, the kernel returns arrays with leading axis ``chunk.size``
        and the run returns them concatenated over all items. With it, the
        kernel returns anything (a few summary numbers) and the run returns
        ``reduce(outputs)``, the outputs in chunk order, so that the
        reduction does not depend on the order in which chunks finish.
    progress : bool or None
        Progress bar: None (on a terminal, for runs over
        :data:`PROGRESS_DELAY` s), True or False.
    client : distributed.Client or str, optional
        Run the chunks on this Dask cluster (or the scheduler at this
        address); results are identical to the local run.
    n_jobs : int or None
        Local threads (None or -1: one per available core). Ignored with
        ``client``.
    desc, unit : str
        Labels of the progress bar.

    Returns
    -------
    dict of ndarray, or the value of ``reduce``
    """
    n_items = int(n_items)
    if n_items < 1:
        raise DataError(f"nothing to run: {n_items} items", field="n_items")
    chunk_size = check_chunk_size(chunk_size)
    n_jobs = _check_n_jobs(n_jobs)
    items = dict(items or {})
    for name, arr in items.items():
        if np.shape(arr)[:1] != (n_items,):
            raise DataError(f"per-item input {name!r} has shape {np.shape(arr)}; expected leading axis {n_items}",
                            field=name)
    plan = plan_chunks(n_items, chunk_size)
    sink: _Concat | _Collect = _Concat(n_items) if reduce is None else _Collect(len(plan), reduce)

    def spec(i: int) -> tuple[int, int, int, dict[str, np.ndarray]]:
        s, e = plan[i]
        return i, s, e, {name: arr[s:e] for name, arr in items.items()}

    bar = _progress_bar(progress, n_items, desc, unit)
    try:
        dask_client, close = _resolve_client(client)
        try:
            if dask_client is not None:
                _run_dask(dask_client, kernel, payload, plan, spec, seed, n_items, sink, bar)
            elif n_jobs > 1 and len(plan) > 1:
                _run_threads(n_jobs, kernel, payload, plan, spec, seed, n_items, sink, bar)
            else:
                for i in range(len(plan)):
                    idx, s, e, its = spec(i)
                    sink.add(idx, s, e, _execute(kernel, payload, idx, s, e, its, seed, n_items))
                    if bar is not None:
                        bar.update(e - s)
        finally:
            if close:
                dask_client.close()
    finally:
        if bar is not None:
            bar.close()
    return sink.finish()


def _run_threads(n_jobs: int, kernel: Kernel, payload: Any, plan: list[tuple[int, int]],
                 spec: Callable[[int], tuple[int, int, int, dict[str, np.ndarray]]],
                 seed: np.random.SeedSequence | None, n_items: int, sink: Any, bar: Any) -> None:
    """At most ``2 n_jobs`` chunks in flight, so memory stays bounded; BLAS on one thread meanwhile."""
    from threadpoolctl import threadpool_limits

    pending: dict[Future, tuple[int, int, int]] = {}
    next_chunk = 0
    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="mgmeta") as pool:
        try:
            while next_chunk < len(plan) or pending:
                while next_chunk < len(plan) and len(pending) < 2 * n_jobs:
                    idx, s, e, its = spec(next_chunk)
                    fut = pool.submit(_execute, kernel, payload, idx, s, e, its, seed, n_items)
                    pending[fut] = (idx, s, e)
                    next_chunk += 1
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    idx, s, e = pending.pop(fut)
                    sink.add(idx, s, e, fut.result())
                    if bar is not None:
                        bar.update(e - s)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _run_dask(client: Any, kernel: Kernel, payload: Any, plan: list[tuple[int, int]],
              spec: Callable[[int], tuple[int, int, int, dict[str, np.ndarray]]],
              seed: np.random.SeedSequence | None, n_items: int, sink: Any, bar: Any) -> None:
    """Submit chunks as tasks, a few per worker thread at a time, and collect them as they finish."""
    from distributed import as_completed

    [shared] = client.scatter([payload], broadcast=True, hash=False)
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # pragma: no cover - a client without nthreads()
        threads = 1
    limit = max(4 * threads, 8)
    futures: dict[Any, tuple[int, int, int]] = {}
    next_chunk = 0

    def submit() -> Any:
        nonlocal next_chunk
        idx, s, e, its = spec(next_chunk)
        next_chunk += 1
        fut = client.submit(_execute, kernel, shared, idx, s, e, its, seed, n_items, pure=False)
        futures[fut] = (idx, s, e)
        return fut

    first = [submit() for _ in range(min(limit, len(plan)))]
    queue = as_completed(first, with_results=True)
    try:
        for fut, result in queue:
            idx, s, e = futures.pop(fut)
            sink.add(idx, s, e, result)
            if bar is not None:
                bar.update(e - s)
            if next_chunk < len(plan):
                queue.add(submit())
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        futures.clear()
        del shared


# --------------------------------------------------------------------------
# batched fits
# --------------------------------------------------------------------------

def _check_fit_options(method: str, test: str, level: float) -> float:
    if not isinstance(method, str) or method not in METHODS:
        raise DataError(f"unknown method {method!r}; expected one of {', '.join(map(repr, METHODS))}",
                        field="method")
    if not isinstance(test, str) or test not in TESTS:
        raise DataError(f"unknown test {test!r}; expected one of {', '.join(map(repr, TESTS))}", field="test")
    try:
        lev = float(level)
    except (TypeError, ValueError):
        raise DataError(f"level must be a number between 0 and 1, got {level!r}", field="level") from None
    if not 0 < lev < 1:
        raise DataError(f"level must be between 0 and 1, got {level!r}", field="level")
    return lev


def _check_fields(fields: Sequence[str] | None) -> tuple[str, ...]:
    if fields is None:
        return FIT_FIELDS
    out = tuple(fields)
    bad = [f for f in out if f not in FIT_FIELDS]
    if bad:
        raise DataError(f"unknown field(s) {', '.join(map(repr, bad))}; expected some of "
                        f"{', '.join(FIT_FIELDS)}", field="fields")
    if "converged" not in out:
        out = out + ("converged",)
    return out


def _fit_kernel(payload: Mapping[str, Any], chunk: Chunk) -> dict[str, np.ndarray]:
    data = dict(payload["shared"])
    data.update(chunk.items)
    k = payload["k"]
    shape = (chunk.size, k)
    yi = np.broadcast_to(data["yi"], shape)
    vi = np.broadcast_to(data["vi"], shape)
    mask = data.get("mask")
    mask = None if mask is None else np.broadcast_to(mask, shape)
    X = data.get("X")
    tau2 = data.get("tau2")
    fa = fit_arrays(yi, vi, method=payload["method"], test=payload["test"], level=payload["level"], mask=mask,
                    X=X, tau2=tau2, raise_on_failure=False, control=payload.get("control"))
    return {name: getattr(fa, name) for name in payload["fields"]}


def fit_batch(yi: Any, vi: Any, *, mask: Any = None, X: Any = None, method: str = "REML", test: str = "z",
              level: float = 0.95, tau2: Any = None, fields: Sequence[str] | None = None,
              chunk_size: int | None = None, progress: bool | None = None, client: Any = None,
              n_jobs: int | None = None, desc: str = "fits", control: Any = None) -> dict[str, np.ndarray]:
    """Fit a batch of meta-analyses (or meta-regressions) chunk by chunk.

    Each input is either shared by all fits or given per fit (a leading batch
    axis of length ``n``); at least one of them must be per fit.

    Parameters
    ----------
    yi, vi : array_like, shape (k,) or (n, k)
        Effect sizes and sampling variances (vi > 0; not checked here).
    mask : array_like of bool, shape (k,) or (n, k), optional
        Studies taking part in each fit.
    X : array_like, shape (k, p) or (n, k, p), optional
        Design matrix (None: intercept only).
    method, test, level
        As in :func:`mgmeta.meta_analysis`.
    tau2 : float or array_like, shape (n,), optional
        Fixed tau² (skips estimation).
    fields : sequence of str, optional
        Which arrays of :class:`~mgmeta.models.FitArrays` to return (default
        all; ``converged`` is always returned).
    chunk_size, progress, client, n_jobs
        As in :func:`run_chunks` (``chunk_size`` default from
        :func:`chunk_size_for`).
    control : dict or Control, optional
        Convergence settings of the iterative estimators (metafor's names).

    Returns
    -------
    dict of str to ndarray
        Each requested field with leading axis ``n``. Fits whose iterative
        estimator did not converge are flagged in ``converged`` (no error).

    Notes
    -----
    Every chunk is one call of :func:`mgmeta.models.fit_arrays`, the kernel
    of :func:`mgmeta.meta_analysis`, so each fit equals the single fit of the
    same studies (tested to 1e-10 for closed-form and 1e-8 for iterative
    estimators).
    """
    level = _check_fit_options(method, test, level)
    names = _check_fields(fields)
    arrays = {"yi": yi, "vi": vi, "mask": mask, "X": X, "tau2": tau2}
    base_ndim = {"yi": 1, "vi": 1, "mask": 1, "X": 2, "tau2": 0}
    shared: dict[str, np.ndarray] = {}
    per_item: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if value is None:
            continue
        arr = np.asarray(value, dtype=bool if name == "mask" else float)
        if arr.ndim == base_ndim[name]:
            shared[name] = arr
        elif arr.ndim == base_ndim[name] + 1:
            per_item[name] = arr
        else:
            raise DataError(f"{name} must have {base_ndim[name]} or {base_ndim[name] + 1} dimensions, "
                            f"got shape {arr.shape}", field=name)
    if not per_item:
        raise DataError("fit_batch needs at least one input with a batch axis (yi, vi, mask, X or tau2)")
    ns = {name: arr.shape[0] for name, arr in per_item.items()}
    if len(set(ns.values())) > 1:
        raise DataError(f"batch axes differ: {', '.join(f'{n} has {m}' for n, m in ns.items())}")
    n = next(iter(ns.values()))
    ks = {name: (arr.shape[-1] if name in ("yi", "vi", "mask") else arr.shape[-2])
          for name, arr in {**shared, **per_item}.items() if name != "tau2"}
    if len(set(ks.values())) > 1:
        raise DataError(f"numbers of studies differ: {', '.join(f'{n} has {m}' for n, m in ks.items())}")
    k = next(iter(ks.values()))
    p = None if X is None else np.shape(X)[-1]
    size = chunk_size_for(k, p) if chunk_size is None else check_chunk_size(chunk_size)
    payload = {"shared": shared, "k": k, "method": method, "test": test, "level": level, "fields": names,
               "control": check_control(control)}
    return run_chunks(_fit_kernel, payload, n, chunk_size=size, items=per_item, progress=progress,
                      client=client, n_jobs=n_jobs, desc=desc)


# --------------------------------------------------------------------------
# permutations of a meta-regression
# --------------------------------------------------------------------------

def _default_btt(X: np.ndarray) -> np.ndarray:
    """Coefficients tested by the omnibus test: all but an intercept column (metafor's default)."""
    p = X.shape[1]
    if p > 1 and np.all(X[:, 0] == 1.0):
        return np.arange(1, p)
    return np.arange(p)


def wald_qm(beta: np.ndarray, vb: np.ndarray, btt: np.ndarray) -> np.ndarray:
    """Omnibus Wald statistic QM = b' V^-1 b over the coefficients ``btt``, batched.

    ``beta`` is ``(..., p)`` and ``vb`` ``(..., p, p)``; for the Hartung-Knapp
    test (``vb`` scaled by s²_w) the F statistic is ``QM / len(btt)``.
    """
    btt = np.asarray(btt, dtype=int).reshape(-1)
    b = beta[..., btt]
    V = vb[..., btt[:, None], btt[None, :]]
    if btt.size <= 3:
        # closed-form inverses of the small blocks, batch last (one vector operation per entry)
        bl = np.moveaxis(b.reshape(-1, btt.size), 0, -1)                     # (q, n)
        Vi, _ = sym_inv_last(np.moveaxis(V.reshape(-1, btt.size, btt.size), 0, -1))
        with np.errstate(invalid="ignore", over="ignore"):
            qm = np.zeros(bl.shape[1])
            for i in range(btt.size):          # a fixed order of the sums: the same numbers in any batch
                for j in range(btt.size):
                    qm = qm + bl[i] * Vi[i, j] * bl[j]
        return qm.reshape(b.shape[:-1])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sol = np.linalg.solve(V, b[..., None])[..., 0]
    return np.einsum("...i,...i->...", b, sol)


def _perm_kernel(payload: Mapping[str, Any], chunk: Chunk) -> dict[str, np.ndarray]:
    k = payload["k"]
    if "perms" in chunk.items:
        perms = chunk.items["perms"]
    else:
        assert chunk.random is not None
        perms = chunk.random.draw(lambda g, m: g.permuted(np.broadcast_to(np.arange(k), (m, k)), axis=1))
    # study i meets design row X[perms[b, i]]: one design for the batch, the data permuted instead
    design, y, v, order = permuted_data(payload["yi"], payload["vi"], payload["X"], perms)
    fa = fit_arrays(y, v, method=payload["method"], test=payload["test"], level=payload["level"], X=design,
                    raise_on_failure=False, control=payload.get("control"))
    out = {name: getattr(fa, name) for name in payload["fields"]}
    if "weights" in out:                                        # per study: back to the studies' order
        back = np.empty_like(out["weights"])
        np.put_along_axis(back, order, out["weights"], axis=1)
        out["weights"] = back
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out["qm"] = wald_qm(fa.beta, fa.vb, payload["btt"])
    if payload["return_permutations"]:
        out["permutation"] = np.asarray(perms, dtype=np.int32 if k < 2 ** 31 else np.int64)
    return out


def fit_permutations(yi: Any, vi: Any, X: Any, n_perm: int | None = None, *, perms: Any = None,
                     seed: SeedLike = None, method: str = "REML", test: str = "z", level: float = 0.95,
                     btt: Sequence[int] | None = None, fields: Sequence[str] = ("beta", "se", "statistic", "tau2"),
                     return_permutations: bool = False, chunk_size: int | None = None,
                     progress: bool | None = None, client: Any = None,
                     n_jobs: int | None = None, control: Any = None) -> dict[str, np.ndarray]:
    """Refit a meta-regression with its moderators permuted across studies.

    Each permutation ``pi`` fits ``yi[i], vi[i]`` against the row ``X[pi[i]]``
    (metafor's ``permutest`` shuffles the rows of the design matrix the same
    way), chunk by chunk, so that 10,000 or 10^6 permutations run in bounded
    memory.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
    X : array_like, shape (k, p)
        Design matrix, intercept column included.
    n_perm : int, optional
        Number of random permutations (drawn with ``seed``; a draw may repeat
        the identity or another draw, as in a Monte Carlo permutation test).
    perms : array_like of int, shape (n, k), optional
        Explicit permutations instead (e.g. all k! for an exact test).
    seed : int, SeedSequence, Generator or None
        Seed of the random permutations; the same seed gives the same
        permutations whatever the chunking, threads or cluster.
    method, test, level
        As in :func:`mgmeta.meta_analysis`.
    btt : sequence of int, optional
        Coefficients of the omnibus test (default: all but an intercept
        column).
    fields : sequence of str
        Arrays of :class:`~mgmeta.models.FitArrays` to return.
    return_permutations : bool
        Also return the permutations (``"permutation"``, shape (n, k)).
    chunk_size, progress, client, n_jobs
        As in :func:`run_chunks`.
    control : dict or Control, optional
        Convergence settings of the iterative estimators (metafor's names).

    Returns
    -------
    dict of str to ndarray
        The requested fields, ``converged``, and ``qm``: the omnibus Wald
        statistic b' V^-1 b over ``btt`` (chi² form; divide by ``len(btt)``
        for the F statistic of ``test="knha"``).

    References
    ----------
    Viechtbauer W, López-López JA, Sánchez-Meca J, Marín-Martínez F (2015).
    A comparison of procedures to test for moderators in mixed-effects
    meta-regression models. Psychol Methods 20(3):360-374.
    doi:10.1037/met0000023
    """
    level = _check_fit_options(method, test, level)
    names = _check_fields(fields)
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    Xa = np.asarray(X, dtype=float)
    if y.ndim != 1 or v.shape != y.shape:
        raise DataError(f"yi and vi must be vectors of one length, got shapes {y.shape} and {v.shape}")
    if Xa.ndim != 2 or Xa.shape[0] != y.size:
        raise DataError(f"X must be a (k, p) matrix with k = {y.size} rows, got shape {Xa.shape}", field="X")
    k, p = Xa.shape
    tested = _default_btt(Xa) if btt is None else np.asarray(btt, dtype=int).reshape(-1)
    if tested.size == 0 or tested.min() < 0 or tested.max() >= p:
        raise DataError(f"btt must index coefficients 0..{p - 1}, got {btt!r}", field="btt")
    items: dict[str, np.ndarray] = {}
    ss = None
    if perms is not None:
        if n_perm is not None:
            raise DataError("give n_perm or perms, not both", field="perms")
        pa = np.asarray(perms)
        if pa.ndim != 2 or pa.shape[1] != k or not np.array_equal(np.sort(pa, axis=1),
                                                                  np.broadcast_to(np.arange(k), pa.shape)):
            raise DataError(f"perms must be an (n, {k}) array whose rows are permutations of 0..{k - 1}",
                            field="perms")
        items["perms"] = pa.astype(np.intp)
        n = pa.shape[0]
    else:
        if isinstance(n_perm, (bool, np.bool_)) or not isinstance(n_perm, (int, np.integer)) or n_perm < 1:
            raise DataError(f"n_perm must be a positive integer, got {n_perm!r}", field="n_perm")
        n = int(n_perm)
        ss = resolve_seed(seed)
    # the permuted fits share one design (see permuted_data): no per-fit design or k x k arrays
    size = even_chunk_size(n, chunk_size_for(k, p, shared_design=True), n_jobs,
                           multiple=RNG_BLOCK if ss is not None else 1) if chunk_size is None else \
        check_chunk_size(chunk_size)
    payload = {"yi": y, "vi": v, "X": Xa, "k": k, "method": method, "test": test, "level": level,
               "fields": names, "btt": tested, "return_permutations": bool(return_permutations),
               "control": check_control(control)}
    return run_chunks(_perm_kernel, payload, n, chunk_size=size, items=items, seed=ss, progress=progress,
                      client=client, n_jobs=n_jobs, desc="permutations", unit="perm")
