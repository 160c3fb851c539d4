"""GOSH: the model fitted to every subset of studies (graphical display of study heterogeneity).

Olkin, Dahabreh and Trikalinos (2012) proposed fitting the meta-analytic model
to all 2^k - 1 non-empty subsets of the k studies and plotting the pooled
estimate against a heterogeneity measure: a homogeneous set of studies gives a
unimodal, symmetric cloud; outliers and subgroups give separate clusters. As
metafor's ``gosh()``, mgmeta fits every subset when there are at most
``max_subsets`` of them and a random sample of subsets otherwise.

The fits are not a Python loop: subsets are boolean masks over a batch axis,
fitted chunk by chunk by the kernel of :func:`mgmeta.meta_analysis`
(:func:`mgmeta.models.fit_arrays`) through :mod:`mgmeta.engine`, so memory
stays bounded (a chunk holds a few thousand subsets), long runs show a
progress bar, and the same chunks can run on a Dask cluster.

References
----------
Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of
study heterogeneity. Res Synth Methods 3(3):214-223. doi:10.1002/jrsm.1053
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
J Stat Softw 36(3). doi:10.18637/jss.v036.i03
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
    SeedLike,
    check_chunk_size,
    chunk_size_for,
    resolve_seed,
    run_chunks,
    seed_entropy,
)
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.models import check_standard_fit, fit_arrays

__all__ = ["GoshResult", "gosh", "DEFAULT_MAX_SUBSETS", "subset_membership"]

DEFAULT_MAX_SUBSETS = 2 ** 20
"""Default cap on the number of subsets: every subset of up to 20 studies is fitted.

metafor's default is 10^6, which samples for k = 20 (1,048,575 subsets);
mgmeta's is 2^20 so that k = 20 is exhaustive.
"""

RESULT_WARN_BYTES = 2 * 2 ** 30
"""GOSH warns when its results would take more memory than this (bytes)."""

_COLUMNS = ("k", "estimate", "tau2", "i2", "h2", "q", "converged")
_SUMMARY = (("q", "Q"), ("i2", "I^2"), ("h2", "H^2"), ("tau2", "tau^2"), ("estimate", "estimate"))


def subset_membership(ids: np.ndarray, k: int) -> np.ndarray:
    """Boolean membership of subsets numbered by ``ids``: study j is in subset s iff bit j of s is set.

    Subset 1 is the first study alone, 2^k - 1 all studies. (metafor lists
    subsets by size, then in ``combn`` order; match rows by membership.)
    """
    ids = np.asarray(ids, dtype=np.int64)
    return ((ids[:, None] >> np.arange(k, dtype=np.int64)) & 1).astype(bool)


@dataclass(frozen=True, eq=False)
class GoshResult:
    """Fits of a model to subsets of its studies.

    Attributes
    ----------
    frame : DataFrame
        One row per subset: ``k`` (studies in the subset), ``estimate``
        (pooled estimate, analysis scale), ``tau2``, ``i2`` (I², percent),
        ``h2``, ``q`` (Cochran's Q) and ``converged``. Fits whose iterative
        tau² estimator did not converge have NaN estimate, tau2, i2 and h2
        (metafor leaves them NA) and ``converged`` False.
    membership : ndarray of bool, shape (n_subsets, k)
        ``membership[s, j]`` is True when study ``j`` is in subset ``s``
        (metafor's ``incl``).
    labels : tuple of str
        Study labels.
    method : str
        tau² estimator of the fits (the model's).
    exact : bool
        True when every subset was fitted, False for a random sample.
    n_possible : int
        Number of non-empty subsets, 2^k - 1.
    seed : int or None
        Seed of the sample of subsets (None for exhaustive runs); passing it
        again reproduces the sample.
    measure : str or None
        Effect measure of the model (estimates are on its analysis scale).
    """

    frame: pd.DataFrame = field(repr=False)
    membership: np.ndarray = field(repr=False)
    labels: tuple[str, ...]
    method: str
    exact: bool
    n_possible: int
    seed: int | None = None
    measure: str | None = None

    @property
    def k(self) -> int:
        """Number of studies of the full model."""
        return len(self.labels)

    @property
    def n_subsets(self) -> int:
        """Number of subsets fitted."""
        return int(self.membership.shape[0])

    @property
    def n_converged(self) -> int:
        """Number of fits that converged."""
        return int(self.frame["converged"].sum())

    def __len__(self) -> int:
        return self.n_subsets

    def to_frame(self, membership: bool = False) -> pd.DataFrame:
        """The per-subset results (a copy), optionally with one boolean column per study.

        Parameters
        ----------
        membership : bool
            Append the membership matrix as columns named ``in_<label>``.
        """
        out = self.frame.copy()
        if membership:
            cols = pd.DataFrame(self.membership, columns=[f"in_{lab}" for lab in self.labels],
                                index=out.index)
            out = pd.concat([out, cols], axis=1)
        return out

    def membership_frame(self) -> pd.DataFrame:
        """The membership matrix as a DataFrame with the study labels as columns."""
        return pd.DataFrame(self.membership.copy(), columns=list(self.labels))

    def summary(self) -> pd.DataFrame:
        """Mean and five-number summary of Q, I², H², tau² and the estimate over the converged fits.

        As metafor's ``print.gosh.rma``: rows ``q i2 h2 tau2 estimate``,
        columns ``mean min q1 median q3 max``.
        """
        ok = self.frame["converged"].to_numpy()
        rows = {}
        for col, _ in _SUMMARY:
            x = self.frame[col].to_numpy()[ok]
            if x.size == 0:
                rows[col] = [np.nan] * 6
                continue
            q = np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0])
            rows[col] = [float(x.mean()), *map(float, q)]
        return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "min", "q1", "median", "q3", "max"])

    def by_study(self) -> pd.DataFrame:
        """How each study moves the subsets it joins (Olkin et al. 2012's colouring, as numbers).

        Returns
        -------
        DataFrame
            One row per study (index: label): ``n_with`` (subsets containing
            it), mean ``estimate_with``/``estimate_without`` and
            ``i2_with``/``i2_without`` over the converged fits with and
            without it, and the differences ``estimate_shift`` and
            ``i2_shift`` (with minus without).
        """
        ok = self.frame["converged"].to_numpy()
        est = self.frame["estimate"].to_numpy()[ok]
        i2 = self.frame["i2"].to_numpy()[ok]
        mem = self.membership[ok]
        rows = []
        for j in range(self.k):
            inc = mem[:, j]
            n_in = int(inc.sum())
            n_out = int(inc.size - n_in)
            e_in = float(est[inc].mean()) if n_in else np.nan
            e_out = float(est[~inc].mean()) if n_out else np.nan
            i_in = float(i2[inc].mean()) if n_in else np.nan
            i_out = float(i2[~inc].mean()) if n_out else np.nan
            rows.append({"n_with": n_in, "estimate_with": e_in, "estimate_without": e_out,
                         "estimate_shift": e_in - e_out, "i2_with": i_in, "i2_without": i_out,
                         "i2_shift": i_in - i_out})
        return pd.DataFrame(rows, index=pd.Index(self.labels, name="study"))

    def _header(self) -> list[str]:
        kind = "all subsets" if self.exact else f"a random sample of subsets (seed {self.seed})"
        return [f"GOSH: model fits to {kind} of k = {self.k} studies (tau^2 estimator: {self.method})",
                "",
                f"Number of model fits attempted: {self.n_subsets:,} of {self.n_possible:,} possible",
                f"Number of model fits succeeded: {self.n_converged:,}"]

    def _summary_rows(self) -> tuple[list[str], list[list[str]]]:
        tab = self.summary()
        names = dict(_SUMMARY)
        head = ["", "mean", "min", "q1", "median", "q3", "max"]
        rows = [[names[n]] + [fmt.format_number(float(x)) for x in tab.loc[n]] for n in tab.index]
        return head, rows

    def __str__(self) -> str:
        head, rows = self._summary_rows()
        return "\n".join(self._header() + ["", fmt.text_table(head, rows)]) + "\n"

    def _repr_html_(self) -> str:
        lines = self._header()
        head, rows = self._summary_rows()
        return (f"<p><b>{lines[0]}</b><br>{lines[2]}<br>{lines[3]}</p>"
                + fmt.html_table(head, rows, caption="Across subsets (analysis scale)"))


def _gosh_kernel(payload: dict[str, Any], chunk: Chunk) -> dict[str, np.ndarray]:
    k = payload["k"]
    if "ids" in chunk.items:
        mask = subset_membership(chunk.items["ids"], k)
    elif "membership" in chunk.items:
        mask = np.asarray(chunk.items["membership"], dtype=bool)
    else:  # exhaustive: subset numbers start + 1 .. stop
        mask = subset_membership(np.arange(chunk.start + 1, chunk.stop + 1, dtype=np.int64), k)
    shape = mask.shape
    fa = fit_arrays(np.broadcast_to(payload["yi"], shape), np.broadcast_to(payload["vi"], shape),
                    method=payload["method"], test="z", level=0.95, mask=mask, tau2=payload["tau2"],
                    raise_on_failure=False, control=payload.get("control"))
    ok = fa.converged
    nan = np.nan
    return {
        "k": fa.k.astype(np.int16 if k < 2 ** 15 else np.int64),
        "estimate": np.where(ok, fa.beta[:, 0], nan),
        "tau2": np.where(ok, fa.tau2, nan),
        "i2": np.where(ok, fa.i2, nan),
        "h2": np.where(ok, fa.h2, nan),
        "q": fa.q,
        "converged": ok,
        "membership": mask,
    }


def _fixed_tau2(res: Any) -> float | None:
    """The model's tau² when it was given rather than estimated (every subset then uses it, as metafor)."""
    if not hasattr(res, "se_tau2"):
        return None
    from mgmeta.analyses.sensitivity import fixed_tau2

    return fixed_tau2(res)


def _check_max_subsets(max_subsets: Any) -> int:
    if max_subsets is None:
        return DEFAULT_MAX_SUBSETS
    if isinstance(max_subsets, (bool, np.bool_)) or not isinstance(max_subsets, (int, np.integer)) \
            or max_subsets < 1:
        raise DataError(f"max_subsets must be a positive integer or None, got {max_subsets!r}",
                        field="max_subsets")
    return int(max_subsets)


def _sample_ids(n_possible: int, size: int, seed: np.random.SeedSequence) -> np.ndarray:
    """``size`` distinct subset numbers in 1..n_possible, sorted (k <= 62)."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(n_possible, size=size, replace=False, shuffle=False) + 1
    ids.sort()
    return ids.astype(np.int64)


def _sample_masks(k: int, size: int, seed: np.random.SeedSequence) -> np.ndarray:
    """``size`` subsets of k > 62 studies, each study in with probability 1/2 (empty draws redrawn).

    With 2^k - 1 > 4.6e18 possible subsets, repeats have negligible probability
    (about size² / 2^(k+1)) and are not removed.
    """
    rng = np.random.default_rng(seed)
    out = rng.random((size, k)) < 0.5
    empty = ~out.any(axis=1)
    while empty.any():
        out[empty] = rng.random((int(empty.sum()), k)) < 0.5
        empty = ~out.any(axis=1)
    return out


def gosh(res: Any, max_subsets: int | None = None, seed: SeedLike = None, *, chunk_size: int | None = None,
         progress: bool | None = None, client: Any = None, n_jobs: int | None = None) -> GoshResult:
    """Fit the model of ``res`` to every subset of its studies (or to a random sample of subsets).

    Parameters
    ----------
    res : MetaAnalysisResult
        A fitted model (:func:`mgmeta.meta_analysis`, without moderators);
        its tau² estimator (or its fixed tau²) is used for every subset.
        Also available as ``res.gosh(...)``.
    max_subsets : int, optional
        When 2^k - 1 <= ``max_subsets`` every subset is fitted; otherwise a
        random sample of ``max_subsets`` distinct subsets, each subset equally
        likely. Default :data:`DEFAULT_MAX_SUBSETS` (2^20: exhaustive up to
        k = 20; metafor's default is 10^6).
    seed : int, SeedSequence, Generator or None
        Seed of the sample of subsets (ignored when every subset is fitted).
        None draws fresh entropy, recorded in the result's ``seed``.
    chunk_size : int, optional
        Subsets per chunk (default from the memory budget of
        :mod:`mgmeta.engine`: a few thousand).
    progress : bool or None
        Progress bar (None: on a terminal, for runs over 2 s).
    client : distributed.Client or str, optional
        Run the chunks on this Dask cluster; identical results.
    n_jobs : int or None
        Local threads (None: one per available core).

    Returns
    -------
    GoshResult
        ``frame`` (k, estimate, tau2, i2, h2, q, converged per subset) and
        ``membership`` (which studies each subset holds).

    Raises
    ------
    DataError
        Fewer than 2 studies, or a bad argument.

    Warns
    -----
    MgmetaWarning
        When the tau² estimator did not converge for some subsets (their
        results are NaN, as metafor's NA).

    Notes
    -----
    Subset ``s`` (numbered 1 .. 2^k - 1) holds study ``j`` when bit ``j`` of
    ``s`` is set; exhaustive runs list the subsets in that order (metafor
    lists them by size; match rows by membership). Subsets of one study have
    tau² = 0, Q = 0, I² = 0 and H² = 1 (the model's conventions for k = 1).

    Every fit is one row of a batched call of the kernel of
    :func:`mgmeta.meta_analysis` and equals the single fit of the same
    studies; the numbers agree with metafor's ``gosh()`` to ~1e-13, with one
    deliberate exception: for DL fits with Q < k - 1 (tau² truncated at 0)
    metafor's ``gosh()`` reports H² = Q / (k - 1) < 1 from a shortcut,
    whereas its ``rma()``, and mgmeta, give H² = 1.

    Memory: per subset, the results (about 50 bytes) and its membership (k
    bytes); the working arrays are bounded by the chunk size.

    References
    ----------
    Olkin I, Dahabreh IJ, Trikalinos TA (2012). doi:10.1002/jrsm.1053

    Examples
    --------
    >>> import mgmeta
    >>> res = mgmeta.meta_analysis([0.1, 0.3, 0.35, 0.9], [0.01, 0.02, 0.015, 0.02], method="DL")
    >>> g = res.gosh()
    >>> len(g), g.exact
    (15, True)
    >>> round(float(g.frame["estimate"].iloc[-1]), 6) == round(res.estimate, 6)
    True
    """
    yi = np.asarray(getattr(res, "yi", None), dtype=float)
    vi = np.asarray(getattr(res, "vi", None), dtype=float)
    method = getattr(res, "method", None)
    if yi.ndim != 1 or vi.shape != yi.shape or method is None:
        raise DataError(f"gosh needs a fitted model from mgmeta.meta_analysis, got {type(res).__name__}")
    if getattr(res, "X", None) is not None:
        raise DataError("gosh supports models without moderators (mgmeta.meta_analysis); subsets of a "
                        "meta-regression can lose the variation its design needs")
    k = int(yi.size)
    if k < 2:
        raise DataError(f"gosh needs at least 2 studies, the model has k = {k}")
    check_standard_fit(res, "gosh")
    cap = _check_max_subsets(max_subsets)
    n_possible = 2 ** k - 1                       # a Python int: exact for any k
    exact = n_possible <= cap
    items: dict[str, np.ndarray] = {}
    used_seed = None
    if exact:
        n = n_possible
    else:
        n = cap
        ss = resolve_seed(seed)
        used_seed = seed_entropy(ss)
        if k <= 62:
            items["ids"] = _sample_ids(n_possible, n, ss)
        else:
            items["membership"] = _sample_masks(k, n, ss)
    result_bytes = n * (2 * 43 + k)           # the results (and pandas' copy of them) and the membership
    if result_bytes > RESULT_WARN_BYTES:
        warnings.warn(f"GOSH of {n:,} subsets will hold about {result_bytes / 2 ** 30:.1f} GiB of results; "
                      f"lower max_subsets to sample fewer", MgmetaWarning, stacklevel=2)
    size = chunk_size_for(k) if chunk_size is None else check_chunk_size(chunk_size)
    payload = {"yi": yi.copy(), "vi": vi.copy(), "k": k, "method": method, "tau2": _fixed_tau2(res),
               "control": getattr(res, "control", None)}
    out = run_chunks(_gosh_kernel, payload, n, chunk_size=size, items=items, progress=progress, client=client,
                     n_jobs=n_jobs, desc="GOSH", unit="fit")
    membership = out.pop("membership")
    frame = pd.DataFrame({c: out[c] for c in _COLUMNS})
    failed = int((~frame["converged"]).sum())
    if failed:
        warnings.warn(f"GOSH: the {method} estimator did not converge for {failed:,} of {n:,} subsets; their "
                      f"estimate, tau2, i2 and h2 are NaN (converged=False), as metafor leaves them NA",
                      MgmetaWarning, stacklevel=2)
    labels = tuple(getattr(res, "labels", None) or (str(i + 1) for i in range(k)))
    return GoshResult(frame=frame, membership=membership, labels=labels, method=str(method), exact=exact,
                      n_possible=n_possible, seed=used_seed, measure=getattr(res, "measure", None))
