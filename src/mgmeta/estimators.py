"""Estimators of the between-study variance tau².

Every estimator is written once for a leading batch axis: ``yi`` and ``vi`` have
shape ``(..., k)``, an optional boolean ``mask`` of the same shape marks the
studies that take part (GOSH subsets, leave-one-out, permutations), and an
optional design matrix ``X`` of shape ``(k, p)`` or ``(..., k, p)`` holds
moderators (``None`` means the intercept-only model, computed with closed sums,
which is much faster than forming the ``k x k`` projection matrix).

Each estimator returns a :class:`Tau2Estimate` (estimate truncated at 0, its
standard error, iterations and a convergence flag). The computations follow the
ones of R's metafor 3.8 (``rma.uni``) step by step, including the starting
values, stopping rules and root finder of the iterative estimators, so that the
numbers agree to the last digits rather than only to the tolerance of the
iteration:

* ML, REML, EB: Fisher scoring from the (truncated) Hedges estimate, stopping
  when the change is at most ``threshold = 1e-5``, at most ``maxiter = 100``
  iterations, step halving to stay non-negative; for ML and REML a fit at
  tau² = 0 with a higher likelihood wins (metafor's ``ll0check``).
* PM: Brent's root finder (R's ``uniroot``, tolerance ``eps**0.25``) on the
  generalised Q statistic over ``[0, max(100, 10 mad(yi)^2)]``.

References
----------
DerSimonian R, Laird N (1986). doi:10.1016/0197-2456(86)90046-2
Paule RC, Mandel J (1982). doi:10.6028/jres.087.022
Sidik K, Jonkman JN (2005). doi:10.1002/sim.2029
Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis, 2nd ed. Sage.
Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis. Academic Press.
Morris CN (1983). doi:10.1080/01621459.1983.10477920
Viechtbauer W (2005). doi:10.3102/10769986030003261
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

from mgmeta.control import DEFAULT_CONTROL, Control
from mgmeta.errors import ConvergenceError, DataError

__all__ = [
    "Tau2Estimate",
    "METHODS",
    "THRESHOLD",
    "MAXITER",
    "UNIROOT_TOL",
    "estimate_tau2",
    "ALIASES",
    "MORE_METHODS",
    "ALL_METHODS",
    "q_statistic",
    "projection",
    "zeroin",
    "se_tau2_fixed",
]

THRESHOLD = 1e-5
"""Convergence threshold on the change of tau² (Fisher scoring), as metafor."""
MAXITER = 100
"""Iteration cap of the Fisher scoring and Brent iterations, as metafor."""
UNIROOT_TOL = float(np.finfo(float).eps) ** 0.25
"""Tolerance of the Brent root finder, as R's ``uniroot`` default used by metafor."""
_EPS = float(np.finfo(float).eps)

METHODS = ("EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")
MORE_METHODS = ("HSk", "GENQ", "PMM", "SJIT", "DLIT")
"""metafor's further estimators (GENQ needs user weights, so only meta_analysis offers it)."""
ALIASES = {"CE": "EE", "MP": "PM"}
"""metafor's other names of two methods: the common-effect model is the equal-effects model; MP is PM."""
ALL_METHODS = METHODS + MORE_METHODS + tuple(ALIASES)


@dataclass(frozen=True, eq=False)
class Tau2Estimate:
    """Result of a tau² estimator, shaped like the batch (``()`` for a single fit).

    Attributes
    ----------
    tau2 : ndarray
        The estimate, truncated at 0.
    se_tau2 : ndarray
        Its standard error (metafor's formulas).
    iterations : ndarray of int
        Iterations used (0 for closed forms).
    converged : ndarray of bool
        False where an iterative estimator hit its cap.
    """

    tau2: np.ndarray
    se_tau2: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


# --------------------------------------------------------------------------
# The projection P = W - W X (X'WX)^-1 X'W and the quantities built on it
# --------------------------------------------------------------------------

class _Projection:
    """Quantities of P for weights ``w`` (..., k); masked-out studies have w = 0."""

    def __init__(self, w: np.ndarray, y: np.ndarray, X: np.ndarray | None):
        self.w = w
        self.X = X
        if X is None:
            s1 = w.sum(-1)
            self.s1 = s1
            self.beta = (w * y).sum(-1) / s1
            self.resid = y - self.beta[..., None]
        else:
            Xw = X * w[..., None]                      # W X, (..., k, p)
            XtWX = np.swapaxes(X, -1, -2) @ Xw if X.ndim == Xw.ndim else \
                np.einsum("kp,...kq->...pq", X, Xw)
            self.B = np.linalg.inv(XtWX)                # (X'WX)^-1
            XtWy = np.einsum("...kp,...k->...p", Xw, y)
            self.beta = np.einsum("...pq,...q->...p", self.B, XtWy)
            self.resid = y - np.einsum("...kp,...p->...k", np.broadcast_to(X, Xw.shape), self.beta)
            # P explicitly: W - W X B X' W
            self.P = np.einsum("...k,...kl->...kl", w, np.eye(w.shape[-1])) - \
                np.einsum("...kp,...pq,...lq->...kl", Xw, self.B, Xw)

    def rss(self) -> np.ndarray:
        """y'Py = sum w e^2."""
        return (self.w * self.resid ** 2).sum(-1)

    def ypp(self) -> np.ndarray:
        """y'PPy = sum (w e)^2."""
        return ((self.w * self.resid) ** 2).sum(-1)

    def trace(self) -> np.ndarray:
        """tr(P)."""
        if self.X is None:
            return self.s1 - (self.w ** 2).sum(-1) / self.s1
        return np.einsum("...kk->...", self.P)

    def diag(self) -> np.ndarray:
        """diag(P)."""
        if self.X is None:
            return self.w - self.w ** 2 / self.s1[..., None]
        return np.einsum("...kk->...k", self.P)

    def quad(self, a: np.ndarray | float = 1.0, b: np.ndarray | float = 1.0) -> np.ndarray:
        """sum_ij P_ij^2 a_i b_j (so sum(P*P) = quad(), tr(PVPV) = quad(v, v))."""
        if self.X is None:
            w, s1 = self.w, self.s1
            a = np.broadcast_to(a, w.shape)
            b = np.broadcast_to(b, w.shape)
            return ((w ** 2 * a * b).sum(-1) - 2 * (w ** 3 * a * b).sum(-1) / s1
                    + (w ** 2 * a).sum(-1) * (w ** 2 * b).sum(-1) / s1 ** 2)
        P2 = self.P ** 2
        a = np.broadcast_to(a, self.w.shape)
        b = np.broadcast_to(b, self.w.shape)
        return np.einsum("...ij,...i,...j->...", P2, a, b)


class _ProjectionBatchedX(_Projection):
    """P for a batch of design matrices ``X`` (..., k, p) (permutations), without forming the k x k P.

    With B = (X'WX)^-1 and leverages h_i = x_i' B x_i: tr(P) = sum w - sum w² h,
    diag(P) = w - w² h, and sum_ij P_ij² a_i b_j = sum w² a b - 2 sum w³ h a b + tr(B M_u B M_v)
    with M_u = X' diag(w² a) X, M_v = X' diag(w² b) X: O(k p²) per fit instead of O(k² p), the same
    quantities up to the rounding of a different order of operations.
    """

    def __init__(self, w: np.ndarray, y: np.ndarray, X: np.ndarray):
        self.w = w
        self.X = X
        self._X = X                                    # typed: never None here
        Xw = X * w[..., None]                          # W X, (..., k, p)
        Xt = np.swapaxes(X, -1, -2)
        self.B = np.linalg.inv(Xt @ Xw)
        self.beta = (self.B @ (Xt @ (w * y)[..., None]))[..., 0]
        self.resid = y - (X @ self.beta[..., None])[..., 0]
        self._h: np.ndarray | None = None

    def leverage(self) -> np.ndarray:
        """h_i = x_i' B x_i, shape (..., k)."""
        if self._h is None:
            self._h = np.einsum("...kp,...kp->...k", self._X @ self.B, self._X)
        return self._h

    @property
    def P(self) -> np.ndarray:
        """P explicitly (only for code that needs the matrix itself)."""
        Xw = self._X * self.w[..., None]
        return np.einsum("...k,...kl->...kl", self.w, np.eye(self.w.shape[-1])) - Xw @ self.B @ np.swapaxes(Xw, -1, -2)

    def trace(self) -> np.ndarray:
        return self.w.sum(-1) - (self.w ** 2 * self.leverage()).sum(-1)

    def diag(self) -> np.ndarray:
        return self.w - self.w ** 2 * self.leverage()

    def quad(self, a: np.ndarray | float = 1.0, b: np.ndarray | float = 1.0) -> np.ndarray:
        w2 = self.w ** 2
        ab = np.broadcast_to(a, w2.shape) * np.broadcast_to(b, w2.shape)
        Xt = np.swapaxes(self._X, -1, -2)
        BMu = self.B @ (Xt @ (self._X * (w2 * a)[..., None]))
        BMv = BMu if (np.isscalar(a) and np.isscalar(b) and a == b) else \
            self.B @ (Xt @ (self._X * (w2 * b)[..., None]))
        cross = np.einsum("...ij,...ji->...", BMu, BMv)
        return (w2 * ab).sum(-1) - 2 * (w2 * self.w * self.leverage() * ab).sum(-1) + cross


# Small symmetric matrices of a batch, stored batch-last: (p, p, n), so that each entry is one contiguous
# vector and the algebra of 1 x 1 to 3 x 3 matrices is a few dozen vector operations, not a loop over fits.
# Only elementwise operations and sums over leading axes are used on them (no BLAS, no einsum over the
# batch axis), so that every fit's numbers are the same whatever the size of its batch and its place in it.

def sym_inv_last(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of symmetric matrices ``G`` of shape (p, p, n), batch last.

    Closed forms (cofactors) for p <= 3, LAPACK for larger p. Only the upper triangle of ``G`` is read for
    p <= 3. Singular matrices give inf or NaN entries (no exception), positive definite ones a finite
    inverse.
    """
    p = G.shape[0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p == 1:
            a = G[0, 0]
            return (1.0 / a)[None, None], np.log(a)
        if p == 2:
            a, b, d = G[0, 0], G[0, 1], G[1, 1]
            det = a * d - b * b
            inv = np.empty(G.shape)
            inv[0, 0] = d / det
            inv[1, 1] = a / det
            inv[0, 1] = inv[1, 0] = -b / det
            return inv, np.log(det)
        if p == 3:
            a, b, c = G[0, 0], G[0, 1], G[0, 2]
            d, e, f = G[1, 1], G[1, 2], G[2, 2]
            c00 = d * f - e * e
            c01 = c * e - b * f
            c02 = b * e - c * d
            det = a * c00 + b * c01 + c * c02
            inv = np.empty(G.shape)
            inv[0, 0] = c00 / det
            inv[1, 1] = (a * f - c * c) / det
            inv[2, 2] = (a * d - b * b) / det
            inv[0, 1] = inv[1, 0] = c01 / det
            inv[0, 2] = inv[2, 0] = c02 / det
            inv[1, 2] = inv[2, 1] = (b * c - a * e) / det
            return inv, np.log(det)
        Gb = np.moveaxis(G, -1, 0)
        sign, logdet = np.linalg.slogdet(Gb)
        ok = sign > 0
        inv = np.full(Gb.shape, np.nan)
        if ok.any():
            inv[ok] = np.linalg.inv(Gb[ok])
        return np.moveaxis(inv, 0, -1), np.where(ok, logdet, np.nan)


def _mm_last(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Products A B of (p, p, n) stacks, batch last (either may be a constant (p, p, 1))."""
    p = A.shape[1]
    out = A[:, 0, None, :] * B[None, 0, :, :]
    for j in range(1, p):
        out = out + A[:, j, None, :] * B[None, j, :, :]
    return out


def _tr_last(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """tr(A B) of (p, p, n) stacks, batch last (summed in a fixed order: numpy's reductions pick their
    order by the shape of the whole array)."""
    p = A.shape[0]
    out = A[0, 0] * B[0, 0]
    for a in range(p):
        for b in range(p):
            if a or b:
                out = out + A[a, b] * B[b, a]
    return out


def _mv_last(A: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A x for (p, p, n) and (p, n), batch last."""
    out = A[:, 0] * x[0]
    for j in range(1, A.shape[1]):
        out = out + A[:, j] * x[j]
    return out


class _SharedDesign:
    """A full-rank design X (k, p) shared by a batch of fits, held as X = Q R (Q with orthonormal columns).

    Every quantity of the projection is invariant to the basis of the column space except the coefficients,
    so the fits work with Q (X'WX becomes Q'WQ, whose condition is bounded by the spread of the weights,
    not by the scaling or collinearity of the moderators) and map back with R^-1 at the end.
    """

    def __init__(self, X: np.ndarray):
        k, p = X.shape
        q, r = np.linalg.qr(X)
        self.k, self.p = k, p
        self.Q = q
        self.QT = np.ascontiguousarray(q.T)
        self.Rinv = np.linalg.inv(r)[:, :, None]                            # (p, p, 1), batch last
        self.logdet_rr = 2 * float(np.log(np.abs(np.diag(r))).sum())
        self.pairs = [(a, b) for a in range(p) for b in range(a, p)]       # the upper triangle
        # rows q_a * q_b of the upper triangle, then a row of ones: Q' diag(c) Q and sum(c) in one einsum
        self.rows = np.ascontiguousarray(np.vstack([q[:, a] * q[:, b] for a, b in self.pairs] + [np.ones(k)]))
        # entry (a, b) of a p x p matrix -> its row of the upper triangle
        self.full = np.array([self.pairs.index((min(a, b), max(a, b))) for a in range(p) for b in range(p)])

    def moments(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Q' diag(c_b) Q (p, p, n) and sum(c_b) (n,) for weights ``c`` (n, k)."""
        m = np.einsum("nk,ck->cn", c, self.rows)                           # sums over the studies
        return m.take(self.full, axis=0).reshape(self.p, self.p, -1), m[-1]


_DESIGNS: dict[tuple, _SharedDesign | None] = {}


def _shared_design(X: np.ndarray) -> _SharedDesign | None:
    """The :class:`_SharedDesign` of ``X``, or None when X is rank deficient (cached by value)."""
    key = (X.shape, X.tobytes())
    if key in _DESIGNS:
        known = _DESIGNS.get(key)                # None also when another thread has just cleared the cache
        if known is not None:
            return known
    full = X.shape[0] >= X.shape[1] and bool(np.all(np.isfinite(X))) and \
        np.linalg.matrix_rank(X) == X.shape[1]
    design = _SharedDesign(np.array(X, dtype=float)) if full else None
    if len(_DESIGNS) > 32:                      # a small cache (threads may race here: harmless)
        _DESIGNS.clear()
    _DESIGNS[key] = design
    return design


class _ProjectionSharedX(_Projection):
    """P for a batch of weights ``w`` (..., k) and one design ``X`` (k, p) (permutations of the data,
    leave-one-out and bootstrap fits of a meta-regression), without forming the k x k P.

    With G = Q'WQ (p x p), G^-1 and M_c = Q' diag(c) Q: tr(P) = sum w - tr(G^-1 M_w²),
    diag(P) = w - w² h with leverages h_i = q_i' G^-1 q_i, and sum_ij P_ij² a_i b_j = sum w² a b
    - 2 tr(G^-1 M_(w³ab)) + tr(G^-1 M_(w²a) G^-1 M_(w²b)): O(k p²) per fit. The sums over studies run
    fit by fit (einsum over the last axis) and the p x p algebra elementwise, so a fit's numbers do not
    depend on its batch; they are those of the explicit P up to the rounding of another order of
    operations.
    """

    def __init__(self, w: np.ndarray, y: np.ndarray, X: np.ndarray, design: _SharedDesign):
        self.w = w
        self.X = X
        self._d = design
        self._shape = w.shape[:-1]
        k = design.k
        self._wf = w.reshape(-1, k)
        G, self.s1 = design.moments(self._wf)
        self.s1 = self.s1.reshape(self._shape)
        self._Gi, self._logdet = sym_inv_last(G)
        yf = np.broadcast_to(y, w.shape).reshape(-1, k)
        c = np.einsum("nk,ck->cn", self._wf * yf, design.QT)              # Q'Wy, (p, n)
        self._gamma = _mv_last(self._Gi, c)                                 # G^-1 Q'Wy, (p, n)
        g, q = self._gamma, design.Q
        fitted = np.multiply.outer(g[0], q[:, 0])                          # Q gamma, fit by fit
        if design.p > 1:
            term = np.empty_like(fitted)
            for j in range(1, design.p):
                fitted += np.multiply.outer(g[j], q[:, j], out=term)
        self.resid = y - fitted.reshape(w.shape)
        self._m2: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def beta(self) -> np.ndarray:                               # type: ignore[override]
        b = _mv_last(self._d.Rinv, self._gamma)                             # R^-1 gamma, (p, n)
        return b.T.reshape(self._shape + (self._d.p,))

    @property
    def B(self) -> np.ndarray:                                  # type: ignore[override]
        """(X'WX)^-1 = R^-1 G^-1 R^-T, shape (..., p, p)."""
        ri = self._d.Rinv
        b = _mm_last(_mm_last(ri, self._Gi), ri.transpose(1, 0, 2))
        return np.moveaxis(b, -1, 0).reshape(self._shape + b.shape[:2])

    @property
    def P(self) -> np.ndarray:
        """P explicitly (only for code that needs the matrix itself)."""
        Xw = self.X * self.w[..., None]
        return np.einsum("...k,...kl->...kl", self.w, np.eye(self.w.shape[-1])) - \
            Xw @ self.B @ np.swapaxes(Xw, -1, -2)

    def _w2_moments(self) -> tuple[np.ndarray, np.ndarray]:
        if self._m2 is None:
            self._m2 = self._d.moments(self._wf * self._wf)
        return self._m2

    def rss(self) -> np.ndarray:
        return np.einsum("...k,...k->...", self.w * self.resid, self.resid)

    def ypp(self) -> np.ndarray:
        we = self.w * self.resid
        return np.einsum("...k,...k->...", we, we)

    def trace(self) -> np.ndarray:
        return self.s1 - _tr_last(self._Gi, self._w2_moments()[0]).reshape(self._shape)

    def diag(self) -> np.ndarray:
        gi, q = self._Gi, self._d.Q
        h = np.zeros(self._wf.shape)
        for a, b in self._d.pairs:                                          # h_i = q_i' G^-1 q_i
            h = h + (gi[a, b] if a == b else 2 * gi[a, b])[:, None] * (q[:, a] * q[:, b])[None, :]
        return self.w - self.w ** 2 * h.reshape(self.w.shape)

    def quad(self, a: np.ndarray | float = 1.0, b: np.ndarray | float = 1.0) -> np.ndarray:
        w = self._wf
        ww = w * w
        if np.isscalar(a) and np.isscalar(b) and a == 1.0 and b == 1.0:
            mu, s2ab = self._w2_moments()
            mv = mu
            m3, _ = self._d.moments(ww * w)
        else:
            aa = np.broadcast_to(a, self.w.shape).reshape(w.shape)
            bb = np.broadcast_to(b, self.w.shape).reshape(w.shape)
            mu, _ = self._d.moments(ww * aa)
            mv = mu if (np.isscalar(a) and np.isscalar(b) and a == b) else self._d.moments(ww * bb)[0]
            m3, _ = self._d.moments(ww * w * aa * bb)
            s2ab = np.einsum("nk,nk->n", ww * aa, bb)
        gi = self._Gi
        gmu = _mm_last(gi, mu)
        gmv = gmu if mv is mu else _mm_last(gi, mv)
        out = s2ab - 2 * _tr_last(gi, m3) + _tr_last(gmu, gmv)
        return out.reshape(self._shape)

    def logdet(self) -> np.ndarray:
        """log det(X'WX)."""
        return (self._logdet + self._d.logdet_rr).reshape(self._shape)


def projection(w: np.ndarray, y: np.ndarray, X: np.ndarray | None = None) -> _Projection:
    """The weighted least-squares projection for weights ``w`` (internal building block)."""
    if X is not None and X.ndim > 2:
        return _ProjectionBatchedX(w, y, X)
    if X is not None and w.ndim > 1:
        design = _shared_design(X)
        if design is not None:
            return _ProjectionSharedX(w, y, X, design)
    return _Projection(w, y, X)


def _weights(vi: np.ndarray, tau2: np.ndarray | float, mask: np.ndarray) -> np.ndarray:
    t = np.asarray(tau2, dtype=float)
    return np.where(mask, 1.0 / (vi + t[..., None]), 0.0)


def q_statistic(yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray | float,
                mask: np.ndarray, X: np.ndarray | None = None) -> np.ndarray:
    """Generalised Q: sum over studies of (y - fitted)^2 / (v + tau2), batched."""
    w = _weights(vi, tau2, mask)
    return projection(w, yi, X).rss()


# --------------------------------------------------------------------------
# Brent's root finder (R's zeroin), vectorised over the batch
# --------------------------------------------------------------------------

def zeroin(f: Callable[[np.ndarray], np.ndarray], lower: np.ndarray, upper: np.ndarray,
           f_lower: np.ndarray, f_upper: np.ndarray, tol: float = UNIROOT_TOL,
           maxiter: int = MAXITER) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brent's (1973) root finder, step for step as R's ``uniroot``, over a batch.

    ``f`` maps a batch of abscissae (same shape as ``lower``) to function values.
    Returns ``(root, iterations, converged)``. The caller guarantees a sign
    change on ``[lower, upper]``.

    References
    ----------
    Brent RP (1973). Algorithms for Minimization without Derivatives, ch. 4.
    """
    a = np.array(lower, dtype=float, copy=True)
    b = np.array(upper, dtype=float, copy=True)
    fa = np.array(f_lower, dtype=float, copy=True)
    fb = np.array(f_upper, dtype=float, copy=True)
    c, fc = a.copy(), fa.copy()
    it = np.zeros(a.shape, dtype=int)
    done = (fa == 0) | (fb == 0)
    root = np.where(fa == 0, a, b)
    conv = done.copy()
    for _ in range(maxiter + 1):
        active = ~done
        if not active.any():
            break
        prev_step = b - a
        swap = active & (np.abs(fc) < np.abs(fb))
        a = np.where(swap, b, a)
        b = np.where(swap, c, b)
        c = np.where(swap, a, c)
        fa = np.where(swap, fb, fa)
        fb = np.where(swap, fc, fb)
        fc = np.where(swap, fa, fc)
        # after a swap R recomputes prev_step from the *old* a and b; it was taken before the swap
        tol_act = 2 * _EPS * np.abs(b) + tol / 2
        new_step = (c - b) / 2
        finished = active & ((np.abs(new_step) <= tol_act) | (fb == 0))
        root = np.where(finished, b, root)
        conv |= finished
        done |= finished
        active = ~done
        if not active.any():
            break
        cb = c - b
        try_interp = active & (np.abs(prev_step) >= tol_act) & (np.abs(fa) > np.abs(fb))
        with np.errstate(divide="ignore", invalid="ignore"):
            linear = a == c
            t1_lin = fb / fa
            p_lin = cb * t1_lin
            q_lin = 1.0 - t1_lin
            qq = fa / fc
            t1 = fb / fc
            t2 = fb / fa
            p_quad = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0))
            q_quad = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            p = np.where(linear, p_lin, p_quad)
            q = np.where(linear, q_lin, q_quad)
            q = np.where(p > 0, -q, q)
            p = np.abs(p)
            accept = try_interp & (p < (0.75 * cb * q - np.abs(tol_act * q) / 2)) & \
                (p < np.abs(prev_step * q / 2))
            new_step = np.where(accept, p / np.where(accept, q, 1.0), new_step)
        small = np.abs(new_step) < tol_act
        new_step = np.where(small, np.where(new_step > 0, tol_act, -tol_act), new_step)
        a = np.where(active, b, a)
        fa = np.where(active, fb, fa)
        b = np.where(active, b + new_step, b)
        fnew = f(b)
        fb = np.where(active, fnew, fb)
        it = it + active
        same_sign = active & (((fb > 0) & (fc > 0)) | ((fb < 0) & (fc < 0)))
        c = np.where(same_sign, a, c)
        fc = np.where(same_sign, fa, fc)
    root = np.where(done, root, b)
    return root, it, conv


# --------------------------------------------------------------------------
# The estimators
# --------------------------------------------------------------------------

def _kp(mask: np.ndarray, X: np.ndarray | None) -> tuple[np.ndarray, int]:
    k = mask.sum(-1).astype(float)
    p = 1 if X is None else X.shape[-1]
    return k, p


def _closed(tau2: np.ndarray, se: np.ndarray) -> Tau2Estimate:
    return Tau2Estimate(tau2=tau2, se_tau2=se, iterations=np.zeros(tau2.shape, dtype=int),
                        converged=np.ones(tau2.shape, dtype=bool))


def _he_raw(yi, vi, mask, X):
    k, p = _kp(mask, X)
    pr = projection(mask.astype(float), yi, X)
    rss = pr.rss()
    trpv = (pr.diag() * vi).sum(-1)
    return (rss - trpv) / (k - p), pr, trpv


def tau2_he(yi, vi, mask, X=None) -> Tau2Estimate:
    """Hedges (HE), the unweighted method-of-moments estimator."""
    k, p = _kp(mask, X)
    raw, pr, trpv = _he_raw(yi, vi, mask, X)
    t = np.maximum(raw, 0.0)
    v = np.where(mask, vi, 0.0)
    se = np.sqrt((2 * pr.quad(v, v) + 4 * t * trpv + 2 * t ** 2 * (k - p)) / (k - p) ** 2)
    return _closed(t, se)


def tau2_dl(yi, vi, mask, X=None) -> Tau2Estimate:
    """DerSimonian-Laird, the method-of-moments estimator with weights 1/vi."""
    k, p = _kp(mask, X)
    pr = projection(_weights(vi, 0.0, mask), yi, X)
    trp = pr.trace()
    t = np.maximum((pr.rss() - (k - p)) / trp, 0.0)
    se = np.sqrt((2 * (k - p) + 4 * t * trp + 2 * t ** 2 * pr.quad()) / trp ** 2)
    return _closed(t, se)


def _dl_single(yi: np.ndarray, vi: np.ndarray) -> Tau2Estimate:
    """:func:`tau2_dl` for one intercept-only fit of all its 1-D studies: the same operations on scalars."""
    red = np.add.reduce
    k = np.float64(yi.shape[0])
    p = 1
    w = 1.0 / vi
    s1 = red(w)
    rss = red(w * (yi - red(w * yi) / s1) ** 2)
    s2 = red(w ** 2)
    trp = s1 - s2 / s1
    quad = s2 - 2 * red(w ** 3) / s1 + s2 * s2 / s1 ** 2
    t = np.maximum((rss - (k - p)) / trp, 0.0)
    se = np.sqrt((2 * (k - p) + 4 * t * trp + 2 * t ** 2 * quad) / trp ** 2)
    return _closed(t, se)


def tau2_hs(yi, vi, mask, X=None) -> Tau2Estimate:
    """Hunter-Schmidt: (Q - k) / sum(1/vi)."""
    k, p = _kp(mask, X)
    w = _weights(vi, 0.0, mask)
    pr = projection(w, yi, X)
    sw = w.sum(-1)
    t = np.maximum((pr.rss() - k) / sw, 0.0)
    se = np.sqrt((2 * (k - p) + 4 * t * pr.trace() + 2 * t ** 2 * pr.quad()) / sw ** 2)
    return _closed(t, se)


def _sj_start(yi, mask, control: Control | None = None):
    k = mask.sum(-1).astype(float)
    if control is not None and control.tau2_init is not None:
        return np.full(np.shape(yi)[:-1], float(control.tau2_init))
    m = mask.astype(float)
    ybar = (m * yi).sum(-1) / k
    return (m * (yi - ybar[..., None]) ** 2).sum(-1) / k


def tau2_sj(yi, vi, mask, X=None, control: Control | None = None) -> Tau2Estimate:
    """Sidik-Jonkman, starting from the (population) variance of the yi (or ``control.tau2_init``)."""
    k, p = _kp(mask, X)
    t0 = _sj_start(yi, mask, control)
    pr = projection(_weights(vi, t0, mask), yi, X)
    t = np.maximum(t0 * pr.rss() / (k - p), 0.0)
    v = np.where(mask, vi, 0.0)
    se = np.sqrt(t0 ** 2 / (k - p) ** 2 * (2 * pr.quad(v, v) + 4 * t * pr.quad(1.0, v) + 2 * t ** 2 * pr.quad()))
    return _closed(t, se)


def _loglik(yi, vi, mask, X, tau2, reml: bool) -> np.ndarray:
    k, p = _kp(mask, X)
    w = _weights(vi, tau2, mask)
    pr = projection(w, yi, X)
    t = np.asarray(tau2, dtype=float)
    logv = np.where(mask, np.log(vi + t[..., None]), 0.0).sum(-1)
    if reml:
        if X is None:
            logdet = np.log(pr.s1)
        else:
            logdet = pr.logdet() if isinstance(pr, _ProjectionSharedX) else \
                np.linalg.slogdet(np.linalg.inv(pr.B))[1]
        return -0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * logv - 0.5 * logdet - 0.5 * pr.rss()
    return -0.5 * k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * pr.rss()


def _fisher_scoring_single(yi: np.ndarray, vi: np.ndarray, kind: str, ctl: Control) -> Tau2Estimate:
    """Fisher scoring for one intercept-only fit of all its studies (1-D ``yi``, ``vi``).

    The same steps as the batched loop of :func:`_fisher_scoring`, with the same floating-point operations
    in the same order (so the same iterates, bit for bit), on plain 1-D arrays: without the masks,
    broadcasting and gathering that cost more than the arithmetic on a batch of one.
    """
    mask = np.ones(yi.shape, dtype=bool)
    k, p = _kp(mask, None)
    he, _, _ = _he_raw(yi, vi, mask, None)
    if ctl.tau2_init is not None:
        he = np.float64(ctl.tau2_init)
    tau2 = max(float(he), 0.0)
    red = np.add.reduce
    thr, stepadj, maxiter = ctl.threshold, ctl.stepadj, ctl.maxiter
    kf = float(k)
    it = 0
    conv = True
    while True:
        it += 1
        t = tau2
        w = 1.0 / (vi + t)
        s1 = red(w)
        if kind == "REML":
            e = yi - red(w * yi) / s1
            ypp = red((w * e) ** 2)
            w2 = w ** 2
            s2 = red(w2)
            trace = s1 - s2 / s1
            quad = s2 - 2 * red(w ** 3) / s1 + s2 * s2 / (s1 * s1)    # s1 * s1: as the array square
            adj = float((ypp - trace) / quad)
        elif kind == "ML":
            e = yi - red(w * yi) / s1
            adj = float((red((w * e) ** 2) - s1) / red(w ** 2))
        else:  # EB
            e = yi - red(w * yi) / s1
            adj = float((red(w * e ** 2) * kf / (kf - p) - kf) / s1)
        adj = adj * stepadj
        if t == 0 and adj < 0:
            adj = 0.0
        while t + adj < 0:
            adj = adj / 2
        new = t + adj
        change = abs(t - new)
        tau2 = new
        if it > maxiter:
            conv = False
            break
        if not change > thr:
            break
    if kind in ("ML", "REML"):
        reml = kind == "REML"
        ll0 = _loglik(yi, vi, mask, None, np.float64(0.0), reml)
        ll = _loglik(yi, vi, mask, None, np.float64(tau2), reml)
        if conv and ll0 - ll > ctl.tol and tau2 > thr:
            tau2 = 0.0
    t2 = np.float64(max(tau2, 0.0))
    w = 1.0 / (vi + t2)
    if kind == "ML":
        se = np.sqrt(2 / red(w ** 2))
    elif kind == "REML":
        se = np.sqrt(2 / projection(w, yi, None).quad())
    else:
        se = np.sqrt(2 * k ** 2 / (k - p) / red(w) ** 2)
    return Tau2Estimate(tau2=np.asarray(t2), se_tau2=np.asarray(se), iterations=np.asarray(it),
                        converged=np.asarray(conv))


def _fisher_scoring(yi, vi, mask, X, kind: str, control: Control | None = None) -> Tau2Estimate:
    ctl = DEFAULT_CONTROL if control is None else control
    if X is None and yi.ndim == 1 and mask.all():
        return _fisher_scoring_single(yi, vi, kind, ctl)
    k, p = _kp(mask, X)
    he, _, _ = _he_raw(yi, vi, mask, X)
    if ctl.tau2_init is not None:
        he = np.full(he.shape, float(ctl.tau2_init))
    shape = he.shape
    kk = yi.shape[-1]
    # Flatten the batch and iterate only over the fits that have not converged yet (their rows are
    # gathered into smaller arrays as fits converge): each fit takes exactly the steps it would take
    # alone, and a batch costs the sum of its fits' iterations, not its slowest fit's times its size.
    tau2 = np.maximum(he, 0.0).reshape(-1).copy()
    n = tau2.size
    full = shape + (kk,)                           # the batch shape may come from X alone
    y = np.broadcast_to(yi, full).reshape(n, kk)
    v = np.broadcast_to(vi, full).reshape(n, kk)
    m = np.broadcast_to(mask, full).reshape(n, kk)
    batched_x = X is not None and X.ndim > 2
    x = X.reshape((n,) + X.shape[-2:]) if batched_x else X
    kw = np.broadcast_to(k, shape).reshape(n)
    it = np.zeros(n, dtype=int)
    conv = np.ones(n, dtype=bool)
    all_in = bool(m.all())                         # no study masked out: the weights need no where()
    idx = np.arange(n)                             # the fits still iterating
    while idx.size:
        it[idx] += 1
        t = tau2[idx]
        w = 1.0 / (v + t[:, None]) if all_in else _weights(v, t, m)
        pr = projection(w, y, x)
        if kind == "ML":
            adj = (pr.ypp() - w.sum(-1)) / (w ** 2).sum(-1)
        elif kind == "REML":
            adj = (pr.ypp() - pr.trace()) / pr.quad()
        else:  # EB
            adj = (pr.rss() * kw / (kw - p) - kw) / w.sum(-1)
        adj = adj * ctl.stepadj
        # step halving keeps tau2 >= 0; from tau2 = 0 metafor halves a negative step until it
        # underflows to zero, which is the same as not moving
        adj = np.where((t == 0) & (adj < 0), 0.0, adj)
        neg = np.flatnonzero(t + adj < 0)
        if neg.size:                               # halve only the steps that need it
            a, tn = adj[neg], t[neg]
            short = tn + a < 0
            while short.any():
                a = np.where(short, a / 2, a)
                short = tn + a < 0
            adj[neg] = a
        new = t + adj
        change = np.abs(t - new)
        tau2[idx] = new
        over = it[idx] > ctl.maxiter
        conv[idx[over]] = False
        keep = ~over & (change > ctl.threshold)
        if not keep.all():
            idx = idx[keep]
            y, v, kw = y[keep], v[keep], kw[keep]
            m = m if all_in else m[keep]
            x = x[keep] if batched_x else x
    tau2 = tau2.reshape(shape)
    it = it.reshape(shape)
    conv = conv.reshape(shape)
    if kind in ("ML", "REML"):
        reml = kind == "REML"
        ll0 = _loglik(yi, vi, mask, X, np.zeros(tau2.shape), reml)
        ll = _loglik(yi, vi, mask, X, tau2, reml)
        stuck = conv & (ll0 - ll > ctl.tol) & (tau2 > ctl.threshold)
        tau2 = np.where(stuck, 0.0, tau2)
    tau2 = np.maximum(tau2, 0.0)
    w = _weights(vi, tau2, mask)
    if kind == "ML":
        se = np.sqrt(2 / (w ** 2).sum(-1))
    elif kind == "REML":
        se = np.sqrt(2 / projection(w, yi, X).quad())
    else:
        se = np.sqrt(2 * k ** 2 / (k - p) / w.sum(-1) ** 2)
    return Tau2Estimate(tau2=tau2, se_tau2=se, iterations=it, converged=conv)


def tau2_reml(yi, vi, mask, X=None, control: Control | None = None) -> Tau2Estimate:
    """Restricted maximum likelihood (Fisher scoring)."""
    return _fisher_scoring(yi, vi, mask, X, "REML", control)


def tau2_ml(yi, vi, mask, X=None, control: Control | None = None) -> Tau2Estimate:
    """Maximum likelihood (Fisher scoring)."""
    return _fisher_scoring(yi, vi, mask, X, "ML", control)


def tau2_eb(yi, vi, mask, X=None, control: Control | None = None) -> Tau2Estimate:
    """Empirical Bayes (Morris 1983), equivalent to PM at convergence."""
    return _fisher_scoring(yi, vi, mask, X, "EB", control)


def _mad(yi: np.ndarray, mask: np.ndarray) -> np.ndarray:
    y = np.where(mask, yi, np.nan)
    with np.errstate(invalid="ignore"):
        med = np.nanmedian(y, axis=-1)
        return 1.4826 * np.nanmedian(np.abs(y - med[..., None]), axis=-1)


def tau2_pm(yi, vi, mask, X=None, control: Control | None = None, target=None) -> Tau2Estimate:
    """Paule-Mandel: the tau² at which the generalised Q equals k - p (or ``target``)."""
    ctl = DEFAULT_CONTROL if control is None else control
    k, p = _kp(mask, X)
    if target is None:
        target = k - p
    upper = np.maximum(100.0, 10 * _mad(yi, mask) ** 2)
    lower = np.zeros(upper.shape)

    def f(t):
        return q_statistic(yi, vi, t, mask, X) - target

    f_lo = f(lower)
    f_hi = f(upper)
    zero = f_lo < 0
    too_high = ~zero & (f_hi > 0)
    need = ~zero & ~too_high
    tau2 = np.zeros(lower.shape)
    it = np.zeros(lower.shape, dtype=int)
    conv = ~too_high
    if need.any():
        root, its, ok = zeroin(f, lower, upper, f_lo, f_hi, tol=ctl.tol, maxiter=ctl.maxiter)
        tau2 = np.where(need, root, tau2)
        it = np.where(need, its, it)
        conv = conv & np.where(need, ok, True)
    tau2 = np.maximum(np.where(too_high, upper, tau2), 0.0)
    w = _weights(vi, tau2, mask)
    se = np.sqrt(2 * k ** 2 / (k - p) / w.sum(-1) ** 2)
    return Tau2Estimate(tau2=tau2, se_tau2=se, iterations=it, converged=conv)


def _zeroin_single(f: Callable[[float], float], a: float, b: float, fa: float, fb: float, tol: float,
                   maxiter: int) -> tuple[float, int, bool]:
    """:func:`zeroin` for one root, on Python floats: the same steps and operations, without ``where``."""
    c, fc = a, fa
    it = 0
    if fa == 0 or fb == 0:
        return (a if fa == 0 else b), 0, True
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0:
            return b, it, True
        cb = c - b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                qq = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0))
                q = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            p = abs(p)
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b = b + new_step
        fb = f(b)
        it += 1
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b, it, False


def _median(x: np.ndarray) -> np.float64:
    """np.median (and np.nanmedian without NaN) of a 1-D array, bit for bit, without their overhead."""
    s = np.sort(x)
    n = s.shape[0]
    h = n // 2
    return s[h] if n % 2 else (s[h - 1] + s[h]) / 2


def _pm_single(yi: np.ndarray, vi: np.ndarray, ctl: Control) -> Tau2Estimate:
    """:func:`tau2_pm` for one intercept-only fit of all its 1-D studies: the same operations on scalars."""
    red = np.add.reduce
    k = np.float64(yi.shape[0])
    target = k - 1

    def f(t: float) -> float:
        w = 1.0 / (vi + t)
        s1 = red(w)
        return float(red(w * (yi - red(w * yi) / s1) ** 2) - target)

    f_lo = f(0.0)
    tau2, it, conv = 0.0, 0, True
    if f_lo < 0:                                         # the bracket is not needed
        return _closed(np.asarray(np.float64(0.0)), np.sqrt(2 * k ** 2 / (k - 1) / red(1.0 / (vi + 0.0)) ** 2))
    med = _median(yi)
    upper = np.maximum(100.0, 10 * (1.4826 * _median(np.abs(yi - med))) ** 2)
    f_hi = f(float(upper))
    if f_hi > 0:
        tau2, conv = float(upper), False
    else:
        tau2, it, conv = _zeroin_single(f, 0.0, float(upper), f_lo, f_hi, ctl.tol, ctl.maxiter)
    t2 = np.maximum(np.float64(tau2), 0.0)
    w = 1.0 / (vi + t2)
    se = np.sqrt(2 * k ** 2 / (k - 1) / red(w) ** 2)
    return Tau2Estimate(tau2=np.asarray(t2), se_tau2=np.asarray(se), iterations=np.asarray(it),
                        converged=np.asarray(conv))


def tau2_ee(yi, vi, mask, X=None) -> Tau2Estimate:
    """Equal-effects model: tau² fixed at 0."""
    shape = np.shape(yi)[:-1]
    return _closed(np.zeros(shape), np.full(shape, np.nan))


# --------------------------------------------------------------------------
# metafor's further estimators (issue 15): HSk, GENQ, PMM, SJIT, DLIT
# --------------------------------------------------------------------------

def tau2_hsk(yi, vi, mask, X=None) -> Tau2Estimate:
    """Hunter-Schmidt with the small-sample correction k/(k-p): (k/(k-p) Q - k) / sum(1/vi)."""
    k, p = _kp(mask, X)
    w = _weights(vi, 0.0, mask)
    pr = projection(w, yi, X)
    sw = w.sum(-1)
    t = np.maximum((k / (k - p) * pr.rss() - k) / sw, 0.0)
    se = k / (k - p) * np.sqrt((2 * (k - p) + 4 * t * pr.trace() + 2 * t ** 2 * pr.quad()) / sw ** 2)
    return _closed(t, se)


def tau2_genq(yi, vi, mask, X=None, weights=None) -> Tau2Estimate:
    """Generalised Q-statistic estimator with user weights a_i (DerSimonian and Kacker 2007).

    tau² = (Q_a - tr(P_a V)) / tr(P_a), where Q_a = y'P_a y and P_a is the
    projection with weights a_i; with a_i = 1/v_i it is DL, with a_i = 1 HE.
    """
    if weights is None:
        raise DataError("method 'GENQ' needs weights (the a_i of the generalised Q statistic)", field="weights")
    a = np.where(mask, np.broadcast_to(np.asarray(weights, float), np.shape(yi)), 0.0)
    pr = projection(a, yi, X)
    v = np.where(mask, vi, 0.0)
    trp = pr.trace()
    trpv = (pr.diag() * v).sum(-1)
    t = np.maximum((pr.rss() - trpv) / trp, 0.0)
    se = np.sqrt((2 * pr.quad(v, v) + 4 * t * pr.quad(1.0, v) + 2 * t ** 2 * pr.quad()) / trp ** 2)
    return _closed(t, se)


def tau2_pmm(yi, vi, mask, X=None, control: Control | None = None) -> Tau2Estimate:
    """Median-unbiased Paule-Mandel: generalised Q equal to the median of chi²(k - p)."""
    k, p = _kp(mask, X)
    df = np.asarray(k - p, dtype=float)
    with np.errstate(invalid="ignore"):     # scipy.stats.chi2.ppf(0.5, df): NaN for df <= 0
        median = np.where(df > 0, 2 * special.gammaincinv(np.where(df > 0, df, 1.0) / 2, 0.5), np.nan)
    return tau2_pm(yi, vi, mask, X, control=control, target=median)


def _iterate(step: Callable[[np.ndarray, np.ndarray], np.ndarray], start: np.ndarray,
             active: np.ndarray, control: Control | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fixed-point iteration as metafor's DLIT/SJIT loops: stop when the change is at most
    ``control.threshold``; more than ``control.maxiter`` iterations is non-convergence.
    Returns (tau2, previous tau2, iterations, converged)."""
    ctl = DEFAULT_CONTROL if control is None else control
    tau2 = np.array(start, dtype=float, copy=True)
    prev = tau2.copy()
    it = np.zeros(tau2.shape, dtype=int)
    conv = np.ones(tau2.shape, dtype=bool)
    going = np.array(active, dtype=bool, copy=True)
    while going.any():
        it = it + going
        new = step(tau2, going)
        prev = np.where(going, tau2, prev)
        change = np.abs(tau2 - new)
        tau2 = np.where(going, new, tau2)
        over = going & (it > ctl.maxiter)
        conv &= ~over
        going &= ~over & (change > ctl.threshold)
    return tau2, prev, it, conv


def tau2_dlit(yi, vi, mask, X=None, control: Control | None = None) -> Tau2Estimate:
    """Iterated DerSimonian-Laird: the DL step with weights 1/(vi + tau²) from tau² = 0 (or
    ``control.tau2_init``) to a fixed point."""
    k, p = _kp(mask, X)

    def step(t, going):
        pr = projection(_weights(vi, t, mask), yi, X)
        return np.maximum((pr.rss() - (k - p)) / pr.trace(), 0.0)

    shape = np.shape(yi)[:-1]
    start = np.full(shape, 0.0 if control is None or control.tau2_init is None else float(control.tau2_init))
    t, prev, it, conv = _iterate(step, start, np.ones(shape, bool), control)
    pr = projection(_weights(vi, prev, mask), yi, X)        # metafor's P is that of the last step's input
    trp = pr.trace()
    se = np.sqrt((2 * (k - p) + 4 * t * trp + 2 * t ** 2 * pr.quad()) / trp ** 2)
    return Tau2Estimate(tau2=np.maximum(t, 0.0), se_tau2=se, iterations=it, converged=conv)


def tau2_sjit(yi, vi, mask, X=None, control: Control | None = None) -> Tau2Estimate:
    """Iterated Sidik-Jonkman: tau² <- tau² Q(tau²) / (k - p) from the variance of the yi (or
    ``control.tau2_init``) to a fixed point."""
    k, p = _kp(mask, X)
    t0 = _sj_start(yi, mask, control)

    def step(t, going):
        return t * q_statistic(yi, vi, t, mask, X) / (k - p)

    t, _, it, conv = _iterate(step, t0, t0 > 0, control)
    t = np.maximum(t, 0.0)
    w = _weights(vi, t, mask)
    se = np.sqrt(2 * k ** 2 / (k - p) / w.sum(-1) ** 2)
    return Tau2Estimate(tau2=t, se_tau2=se, iterations=it, converged=conv)


_ESTIMATORS: dict[str, Callable[..., Tau2Estimate]] = {
    "EE": tau2_ee, "FE": tau2_ee, "DL": tau2_dl, "HE": tau2_he, "HS": tau2_hs, "SJ": tau2_sj,
    "ML": tau2_ml, "REML": tau2_reml, "EB": tau2_eb, "PM": tau2_pm,
    "CE": tau2_ee, "MP": tau2_pm, "HSk": tau2_hsk, "GENQ": tau2_genq, "PMM": tau2_pmm, "SJIT": tau2_sjit,
    "DLIT": tau2_dlit,
}


_CONTROLLED = ("ML", "REML", "EB", "PM", "SJ", "MP", "PMM", "SJIT", "DLIT")
"""Estimators whose computation depends on :class:`~mgmeta.control.Control`."""


def estimate_tau2(method: str, yi: np.ndarray, vi: np.ndarray, mask: np.ndarray | None = None,
                  X: np.ndarray | None = None, *, raise_on_failure: bool = True,
                  control: Control | None = None, weights: np.ndarray | None = None) -> Tau2Estimate:
    """Estimate tau² by ``method`` for a batch of meta-analyses.

    Parameters
    ----------
    method : {"EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB", "CE", "MP", "HSk", "GENQ", "PMM", "SJIT", "DLIT"}
        CE is EE and MP is PM (metafor's aliases); HSk is Hunter-Schmidt
        with a k/(k-p) correction, GENQ the generalised Q estimator with
        ``weights``, PMM the median-unbiased Paule-Mandel, SJIT and DLIT the
        iterated Sidik-Jonkman and DerSimonian-Laird estimators.
    yi, vi : ndarray, shape (..., k)
        Effect sizes and sampling variances (vi > 0).
    mask : ndarray of bool, shape (..., k), optional
        Studies taking part in each fit (default: all).
    X : ndarray, shape (k, p) or (..., k, p), optional
        Design matrix (default: intercept only).
    raise_on_failure : bool
        Raise :class:`~mgmeta.errors.ConvergenceError` when an iterative
        estimator does not converge (default); otherwise flag it in
        ``converged``.
    control : Control, optional
        Convergence settings (metafor's ``control``; default metafor's).
    weights : ndarray, shape (k,) or (..., k), optional
        The weights a_i of the GENQ estimator (other methods ignore them).

    Returns
    -------
    Tau2Estimate
        Fits with one study (k = 1) get tau² = 0, as in metafor.
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    if mask is None and X is None and method in ("DL", "PM", "REML", "ML", "EB") and yi.ndim == 1 \
            and yi.shape == vi.shape and yi.shape[0] > 1:
        # one intercept-only fit: scalar paths through the same operations (same numbers, bit for bit)
        ctl = DEFAULT_CONTROL if control is None else control
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            est = _dl_single(yi, vi) if method == "DL" else _pm_single(yi, vi, ctl) if method == "PM" else \
                _fisher_scoring_single(yi, vi, method, ctl)
        if raise_on_failure and not est.converged:
            _not_converged(method, control)
        return est
    if mask is None:
        mask = np.ones(yi.shape, dtype=bool)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), yi.shape)
    # masked-out studies: neutral values so no arithmetic warnings arise
    yi = np.where(mask, yi, 0.0)
    vi = np.where(mask, vi, 1.0)
    k, p = _kp(mask, X)
    single = k <= 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if single.all():
            est = tau2_ee(yi, vi, mask, X)
        elif method == "GENQ":
            est = tau2_genq(yi, vi, mask, X, weights=weights)
        else:
            est = (_ESTIMATORS[method](yi, vi, mask, X, control=control) if method in _CONTROLLED
                   else _ESTIMATORS[method](yi, vi, mask, X))
    if single.any():
        est = Tau2Estimate(tau2=np.where(single, 0.0, est.tau2),
                           se_tau2=np.where(single, np.nan, est.se_tau2),
                           iterations=np.where(single, 0, est.iterations),
                           converged=np.where(single, True, est.converged))
    if raise_on_failure and not np.all(est.converged):
        _not_converged(method, control)
    return est


def _not_converged(method: str, control: Control | None) -> None:
    kind = ("Fisher scoring" if method in ("ML", "REML", "EB") else
            "the fixed-point iteration" if method in ("SJIT", "DLIT") else "the root finder")
    ctl = DEFAULT_CONTROL if control is None else control
    raise ConvergenceError(f"tau² estimator {method}: {kind} did not converge within "
                           f"{ctl.maxiter} iterations (threshold {ctl.threshold:g}); raise "
                           "control={'maxiter': ...}, or try another method")


def se_tau2_fixed(method: str, yi: np.ndarray, vi: np.ndarray, tau2: float, X: np.ndarray | None = None,
                  control: Control | None = None, weights: np.ndarray | None = None) -> float:
    """Standard error of tau² by ``method``'s formula, evaluated at a given (fixed) tau².

    metafor reports it for ``rma(..., tau2 = value)``: the estimator's
    standard-error formula with tau² set to the given value (NaN for EE/FE
    and for k <= p). ``weights`` are the a_i of method "GENQ".
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    mask = np.ones(yi.shape, dtype=bool)
    k, p = _kp(mask, X)
    method = ALIASES.get(method, method)
    if method in ("EE", "FE") or k <= p:
        return float("nan")
    t = max(float(tau2), 0.0)
    v = vi
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "HE":
            pr = projection(mask.astype(float), yi, X)
            se = np.sqrt((2 * pr.quad(v, v) + 4 * t * (pr.diag() * v).sum(-1) + 2 * t ** 2 * (k - p)) / (k - p) ** 2)
        elif method in ("DL", "HS", "HSk"):
            w = _weights(vi, 0.0, mask)
            pr = projection(w, yi, X)
            denom = pr.trace() if method == "DL" else w.sum(-1)
            se = np.sqrt((2 * (k - p) + 4 * t * pr.trace() + 2 * t ** 2 * pr.quad()) / denom ** 2)
            if method == "HSk":
                se = k / (k - p) * se
        elif method == "DLIT":
            pr = projection(_weights(vi, t, mask), yi, X)
            se = np.sqrt((2 * (k - p) + 4 * t * pr.trace() + 2 * t ** 2 * pr.quad()) / pr.trace() ** 2)
        elif method == "GENQ":
            if weights is None:
                return float("nan")
            pr = projection(np.asarray(weights, dtype=float), yi, X)
            se = np.sqrt((2 * pr.quad(v, v) + 4 * t * pr.quad(1.0, v) + 2 * t ** 2 * pr.quad()) / pr.trace() ** 2)
        elif method == "SJ":
            t0 = _sj_start(yi, mask, control)
            pr = projection(_weights(vi, t0, mask), yi, X)
            se = np.sqrt(t0 ** 2 / (k - p) ** 2 * (2 * pr.quad(v, v) + 4 * t * pr.quad(1.0, v)
                                                   + 2 * t ** 2 * pr.quad()))
        elif method == "ML":
            w = _weights(vi, t, mask)
            se = np.sqrt(2 / (w ** 2).sum(-1))
        elif method == "REML":
            se = np.sqrt(2 / projection(_weights(vi, t, mask), yi, X).quad())
        else:  # PM, EB, PMM, SJIT
            w = _weights(vi, t, mask)
            se = np.sqrt(2 * k ** 2 / (k - p) / w.sum(-1) ** 2)
    return float(se)
