"""Multilevel and multivariate meta-analysis: ``meta_analysis_mv``, metafor's ``rma.mv``.

The model is y = X beta + u + e with e ~ N(0, V) (V known: sampling variances
or a full covariance matrix) and random effects u whose covariance is a sum of
known k x k matrices A_c times functions of the variance components,

    M(theta) = V + sum_c f_c(theta) A_c.

Random intercepts ``~ 1 | a/b`` give one A = [g_i = g_j] per nesting level
(sigma²); an ``~ inner | outer`` term gives A matrices for the diagonal and
off-diagonal cells of the inner-level covariance matrix G, restricted to pairs
of rows with the same outer level (tau², rho; structures "CS", "HCS", "UN").
Variances are optimised on the log scale and correlations on the atanh scale,
as metafor does, by a trust-region Newton method (scipy's ``trust-exact``) with
the analytic gradient and Hessian of the (restricted) log-likelihood:

    -2 ll_REML = (k - p) log 2 pi - log|X'X| + log|M| + log|X'M^-1 X| + y'Py
    d/d theta_a     = sum_c f_c,a (tr(P A_c) - u'A_c u)                 (u = Py)
    d²/d theta_a,b  = sum_c f_c,ab (tr(P A_c) - u'A_c u)
                      + sum_c,d f_c,a f_d,b (2 u'A_c P A_d u - tr(P A_c P A_d))

with P = M^-1 - M^-1 X (X'M^-1 X)^-1 X'M^-1 (for ML, M^-1 replaces P in the
trace terms and the log|X'X|, log|X'M^-1 X| terms drop out).

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
J Stat Softw 36(3). doi:10.18637/jss.v036.i03

Konstantopoulos S (2011). Fixed effects and variance components estimation in
three-level meta-analysis. Res Synth Methods 2(1):61-76. doi:10.1002/jrsm.35

Berkey CS, Hoaglin DC, Antczak-Bouckoms A, Mosteller F, Colditz GA (1998).
Meta-analysis of multiple outcomes by regression with random effects. Stat Med
17(22):2537-2550. doi:10.1002/(SICI)1097-0258(19981130)17:22<2537::AID-SIM953>3.0.CO;2-C
"""
from __future__ import annotations

import copy

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, sparse, special, stats
from scipy.sparse import csgraph

from mgmeta import _format as fmt
from mgmeta._inputs import newmods_design
from mgmeta._validation import as_vector, check_choice, check_level
from mgmeta.errors import ConvergenceError, DataError

__all__ = [
    "meta_analysis_mv",
    "MultivariateResult",
    "LikelihoodRatioTest",
    "STRUCTS",
]

STRUCTS = ("CS", "HCS", "UN")
_MV_METHODS = ("REML", "ML")
_MV_TESTS = ("z", "t")
_GTOL = 1e-10
_MAXITER = 1000
_ZERO = float(np.finfo(float).eps) * 10  # metafor: variance components below 10 eps are 0


# --------------------------------------------------------------------------
# the random-effects structure
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Component:
    """One term f_c(theta) A_c of the marginal covariance: f = tanh(z_r)^[r] exp(sum_j w_j theta_j)."""

    A: np.ndarray
    w: np.ndarray  # weights on the variance parameters (length n_par, zeros on correlations)
    r: int | None  # index of the correlation parameter, or None
    pair: tuple[int, int] | None = None  # the cell (a, b) of G for HCS/UN components


@dataclass(frozen=True, eq=False)
class _Structure:
    """The parsed random part: parameters, their names and the component matrices."""

    components: tuple[_Component, ...]
    n_sigma2: int
    n_tau2: int
    n_rho: int
    s_names: tuple[str, ...]
    s_nlevels: tuple[int, ...]
    struct: str | None
    inner: str | None
    outer: str | None
    g_levels: tuple[str, ...]
    g_levels_k: tuple[int, ...]
    g_nlevels: tuple[int, int]

    @property
    def n_par(self) -> int:
        return self.n_sigma2 + self.n_tau2 + self.n_rho

    def is_rho(self) -> np.ndarray:
        out = np.zeros(self.n_par, bool)
        out[self.n_sigma2 + self.n_tau2:] = True
        return out

    def names(self) -> list[str]:
        """metafor's names: sigma^2.1, sigma^2.2, ... (sigma^2 when there is one), likewise tau^2 and rho."""
        def numbered(stem: str, n: int) -> list[str]:
            return [stem] if n == 1 else [f"{stem}.{i + 1}" for i in range(n)]
        return numbered("sigma^2", self.n_sigma2) + numbered("tau^2", self.n_tau2) + numbered("rho", self.n_rho)


def _column(data: pd.DataFrame | None, name: str, k: int) -> np.ndarray:
    if data is None:
        raise DataError(f"random effect variable {name!r} needs data= (a DataFrame with that column)", field="data")
    if name not in data.columns:
        raise DataError(f"random effect variable {name!r} names no column of data "
                        f"(columns: {', '.join(map(str, data.columns))})", field="random")
    col = data[name]
    if col.isna().any():
        i = int(np.flatnonzero(col.isna().to_numpy())[0])
        raise DataError(f"study at position {i}: random effect variable {name!r} is missing", study=i, field=name)
    return col.to_numpy(dtype=object)


def _sorted_levels(values: np.ndarray) -> list[Any]:
    uniq = list(dict.fromkeys(values.tolist()))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _codes(values: list[np.ndarray]) -> np.ndarray:
    """Integer codes of the combinations of the given columns (rows with equal tuples share a code)."""
    keys = list(zip(*[v.tolist() for v in values]))
    lookup: dict[Any, int] = {}
    return np.array([lookup.setdefault(key, len(lookup)) for key in keys])


def _same(codes: np.ndarray) -> np.ndarray:
    return (codes[:, None] == codes[None, :]).astype(float)


_TERM = re.compile(r"^\s*~\s*(.+?)\s*\|\s*(.+?)\s*$")


def _parse_random(random: Any, struct: str, data: pd.DataFrame | None, k: int) -> _Structure:
    terms = [random] if isinstance(random, str) else list(random)
    if not terms:
        raise DataError("random must name at least one random effect, e.g. '~ 1 | study'", field="random")
    sig: list[tuple[str, np.ndarray]] = []
    g_term: tuple[str, str] | None = None
    for term in terms:
        if not isinstance(term, str):
            raise DataError(f"random terms are formulas as strings ('~ 1 | study'), got {term!r}", field="random")
        m = _TERM.match(term)
        if m is None:
            raise DataError(f"cannot read the random term {term!r}; expected '~ 1 | a/b' or '~ inner | outer'",
                            field="random")
        lhs, rhs = m.group(1), m.group(2)
        parts = [p.strip() for p in rhs.split("/")]
        if lhs == "1":
            cols = [_column(data, p, k) for p in parts]
            for i in range(len(parts)):
                sig.append(("/".join(parts[: i + 1]), _codes(cols[: i + 1])))
        else:
            if len(parts) != 1 or g_term is not None:
                raise DataError("only one '~ inner | outer' term with a single outer variable is supported",
                                field="random")
            g_term = (lhs, parts[0])
    ns = len(sig)
    comps: list[_Component] = []
    nt = nr = 0
    inner = outer = None
    g_levels: tuple[str, ...] = ()
    g_levels_k: tuple[int, ...] = ()
    g_nlevels = (0, 0)
    if g_term is not None:
        inner, outer = g_term
        check_choice(struct, STRUCTS, "struct")
        ivals = _column(data, inner, k)
        ovals = _column(data, outer, k)
        levels = _sorted_levels(ivals)
        q = len(levels)
        if q < 2:
            raise DataError(f"inner variable {inner!r} has a single level; use '~ 1 | {outer}' instead",
                            field="random")
        icode = np.array([levels.index(v) for v in ivals.tolist()])
        ocode = _codes([ovals])
        S = _same(ocode)
        nt = 1 if struct == "CS" else q
        nr = 1 if struct in ("CS", "HCS") else q * (q - 1) // 2
        npar = ns + nt + nr
        ind = [(icode == a).astype(float) for a in range(q)]
        if struct == "CS":
            w = np.zeros(npar)
            w[ns] = 1.0
            same_in = _same(icode)
            comps.append(_Component(S * same_in, w, None))
            comps.append(_Component(S * (1 - same_in), w.copy(), ns + 1))
        else:
            for a in range(q):
                w = np.zeros(npar)
                w[ns + a] = 1.0
                comps.append(_Component(S * np.outer(ind[a], ind[a]), w, None, (a, a)))
            r = 0
            for a in range(q):  # metafor's order: lower triangle, column by column
                for b in range(a + 1, q):
                    w = np.zeros(npar)
                    w[ns + a] = w[ns + b] = 0.5
                    cross = np.outer(ind[a], ind[b])
                    comps.append(_Component(S * (cross + cross.T), w, ns + nt + (0 if struct == "HCS" else r),
                                            (a, b)))
                    r += 1
        g_levels = tuple(str(int(x)) if isinstance(x, float) and x.is_integer() else str(x) for x in levels)
        # number of effects at each inner level (metafor's k.lvl)
        g_levels_k = tuple(int(np.sum(icode == a)) for a in range(q))
        g_nlevels = (q, int(ocode.max()) + 1)
    npar = ns + nt + nr
    for j, (_, codes) in enumerate(sig):
        w = np.zeros(npar)
        w[j] = 1.0
        comps.insert(j, _Component(_same(codes), w, None))
    return _Structure(components=tuple(comps), n_sigma2=ns, n_tau2=nt, n_rho=nr,
                      s_names=tuple(n for n, _ in sig), s_nlevels=tuple(int(c.max()) + 1 for _, c in sig),
                      struct=struct if g_term is not None else None, inner=inner, outer=outer,
                      g_levels=g_levels, g_levels_k=g_levels_k, g_nlevels=g_nlevels)


# --------------------------------------------------------------------------
# the likelihood
# --------------------------------------------------------------------------

@dataclass(eq=False)
class _Eval:
    ok: bool
    obj: float = np.inf  # -2 ll without the constants
    beta: np.ndarray | None = None
    vb: np.ndarray | None = None
    grad: np.ndarray | None = None
    hess: np.ndarray | None = None


def _corr_from_angles(phi: np.ndarray, q: int) -> np.ndarray:
    """The q x q correlation matrix U U' whose Cholesky factor U has unit rows given by hyperspherical angles
    (row i by i angles, i = 1..q-1): every angle vector gives a positive semi-definite correlation matrix."""
    U = np.zeros((q, q))
    U[0, 0] = 1.0
    k = 0
    for i in range(1, q):
        ang = phi[k:k + i]
        k += i
        s = 1.0
        for m in range(i):
            U[i, m] = s * np.cos(ang[m])
            s *= np.sin(ang[m])
        U[i, i] = s
    return U @ U.T


def _unit_angles(U: np.ndarray) -> np.ndarray:
    """The angles of :func:`_corr_from_angles` of a lower-triangular factor ``U`` with unit rows."""
    out = []
    for i in range(1, U.shape[0]):
        u = U[i, :i + 1]
        for m in range(i):
            out.append(np.arctan2(np.linalg.norm(u[m + 1:]), u[m]) if m < i - 1 else np.arctan2(u[i], u[m]))
    return np.array(out)


class _Model:
    """Data, design, structure; evaluates -2 ll and its derivatives in the transformed parameters."""

    def __init__(self, y: np.ndarray, V: np.ndarray, X: np.ndarray, st: _Structure, method: str,
                 chol: bool = False):
        self.y, self.V, self.X, self.st, self.method = y, V, X, st, method
        # chol: the UN matrix G is parametrised by its Cholesky factor (G = L L', the lower triangle of L
        # row by row), which keeps G positive semi-definite; otherwise log tau² and atanh rho, with G
        # checked for positive semi-definiteness when it has three or more levels
        self.chol = chol
        self.check_psd = True
        self.ns = st.n_sigma2
        self.q = st.g_nlevels[0]
        self.lidx = [(i, j) for i in range(self.q) for j in range(i + 1)]
        self.g_comps = [(c, comp.pair) for c, comp in enumerate(st.components) if comp.pair is not None]
        self.k, self.p = X.shape
        self.W = np.stack([c.w for c in st.components]) if st.components else np.zeros((0, st.n_par))
        self.R = np.array([-1 if c.r is None else c.r for c in st.components], dtype=int)
        self._cache: dict[bytes, _Eval] = {}
        # Independent blocks: rows linked by V or by any random effect. Each block is padded to the size
        # of the largest with identity rows (y = 0, X = 0), so that every matrix operation is one batched
        # call on small matrices: (n_blocks, B, B) instead of (k, k).
        pattern = V != 0
        for c in st.components:
            pattern |= c.A != 0
        n_blocks, label = csgraph.connected_components(sparse.csr_matrix(pattern), directed=False)
        sizes = np.bincount(label, minlength=n_blocks)
        B = int(sizes.max())
        idx = np.full((n_blocks, B), -1)
        order = np.argsort(label, kind="stable")
        start = np.r_[0, np.cumsum(sizes)[:-1]]
        for b_ in range(n_blocks):
            idx[b_, : sizes[b_]] = order[start[b_]: start[b_] + sizes[b_]]
        valid = idx >= 0
        safe = np.where(valid, idx, 0)
        pair = valid[:, :, None] & valid[:, None, :]
        self.Vb = np.where(pair, V[safe[:, :, None], safe[:, None, :]], 0.0)
        pad = np.arange(B)[None, :] >= sizes[:, None]
        self.Vb[pad[:, :, None] & np.eye(B, dtype=bool)[None]] = 1.0
        self.Ab = np.stack([np.where(pair, c.A[safe[:, :, None], safe[:, None, :]], 0.0)
                            for c in st.components]) if st.components else np.zeros((0, n_blocks, B, B))
        self.Xb = np.where(valid[:, :, None], X[safe], 0.0)
        self.yb = np.where(valid, y[safe], 0.0)
        self.n_blocks, self.B = n_blocks, B
        sign, logdet_xx = np.linalg.slogdet(X.T @ X)
        self.logdet_xx = logdet_xx
        if method == "REML":
            self.const = (self.k - self.p) * np.log(2 * np.pi) - logdet_xx
        else:
            self.const = self.k * np.log(2 * np.pi)

    def coefficients(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """f_c, df_c/dtheta (n_c, n_par) and d²f_c/dtheta² (n_c, n_par, n_par)."""
        with np.errstate(invalid="ignore"):
            expo = np.where(self.W != 0, self.W * theta[None, :], 0.0).sum(axis=1)
        e = np.exp(expo)
        has_r = self.R >= 0
        th = np.where(has_r, np.tanh(np.where(has_r, theta[np.maximum(self.R, 0)], 0.0)), 1.0)
        sech2 = np.where(has_r, 1 - th ** 2, 0.0)
        f = th * e
        d1 = self.W * f[:, None]
        d2 = self.W[:, :, None] * self.W[:, None, :] * f[:, None, None]
        for c in np.flatnonzero(has_r):
            r = self.R[c]
            g = sech2[c] * e[c]
            d1[c, r] = g
            d2[c, r, :] = self.W[c] * g
            d2[c, :, r] = self.W[c] * g
            d2[c, r, r] = -2 * th[c] * g
        if self.chol:
            L = self.chol_factor(theta)
            ns = self.ns
            for cg, (a, b) in self.g_comps:
                f[cg] = L[a] @ L[b]
                d1[cg], d2[cg] = 0.0, 0.0
                for p, (i, j) in enumerate(self.lidx):
                    d1[cg, ns + p] = (a == i) * L[b, j] + (b == i) * L[a, j]
                    for p2, (k, m) in enumerate(self.lidx):
                        if j == m:
                            d2[cg, ns + p, ns + p2] = (a == i) * (b == k) + (b == i) * (a == k)
        return f, d1, d2

    def chol_factor(self, theta: np.ndarray) -> np.ndarray:
        L = np.zeros((self.q, self.q))
        rows, cols = zip(*self.lidx)
        L[list(rows), list(cols)] = theta[self.ns:]
        return L

    def g_is_psd(self, theta: np.ndarray) -> bool:
        """For CS/HCS/UN with three or more levels in the log/atanh parametrisation: is G's correlation
        matrix positive semi-definite? (With two levels |rho| < 1 suffices.)"""
        st = self.st
        if self.chol or not self.check_psd or st.struct is None or self.q < 3:
            return True
        rho = np.tanh(theta[self.ns + st.n_tau2:])
        R = np.eye(self.q)
        if st.struct == "UN":
            r = 0
            for a in range(self.q):
                for b in range(a + 1, self.q):
                    R[a, b] = R[b, a] = rho[r]
                    r += 1
        else:
            R[~np.eye(self.q, dtype=bool)] = rho[0]
        return bool(np.linalg.eigvalsh(R)[0] >= -1e-12)

    def _gls(self, f: np.ndarray) -> tuple[Any, ...] | None:
        """GLS pieces at M = V + sum f_c A_c; None when M (or X'M^-1 X) is not positive definite."""
        M = self.Vb + np.tensordot(f, self.Ab, axes=1) if len(f) else self.Vb
        try:
            L = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            return None
        diag = np.diagonal(L, axis1=1, axis2=2)
        if not np.all(np.isfinite(diag)) or np.any(diag <= 0):
            return None
        logdet = 2.0 * float(np.sum(np.log(diag)))
        Li = np.linalg.inv(L)
        Mi = np.swapaxes(Li, 1, 2) @ Li
        F = Mi @ self.Xb  # (nb, B, p) = M^-1 X
        XMX = np.einsum("bip,biq->pq", self.Xb, F)
        try:
            cx = np.linalg.cholesky(XMX)
        except np.linalg.LinAlgError:
            return None
        vb = np.linalg.inv(XMX)
        vb = (vb + vb.T) / 2
        My = np.einsum("bij,bj->bi", Mi, self.yb)
        beta = vb @ np.einsum("bip,bi->p", self.Xb, My)
        u = My - F @ beta  # P y, by block
        logdet_x = 2.0 * float(np.sum(np.log(np.diag(cx))))
        return logdet, Mi, F, vb, beta, u, logdet_x

    def evaluate(self, theta: np.ndarray, order: int = 2) -> _Eval:
        key = theta.tobytes() + bytes([order])
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if not self.g_is_psd(theta):
            return _Eval(ok=False)
        with np.errstate(over="ignore", invalid="ignore"):
            f, d1, d2 = self.coefficients(theta)
        g = self._gls(f)
        if g is None:
            return _Eval(ok=False)
        logdet, Mi, F, vb, beta, u, logdet_x = g
        reml = self.method == "REML"
        obj = logdet + float(np.sum(self.yb * u)) + (logdet_x if reml else 0.0)
        ev = _Eval(ok=True, obj=float(obj), beta=beta, vb=vb)
        if order >= 1 and len(f):
            A = self.Ab
            Au = np.einsum("cbij,bj->cbi", A, u)
            MA = Mi[None] @ A  # (n_c, nb, B, B)
            t = np.einsum("cbii->c", MA)
            AF = A @ F[None]  # (n_c, nb, B, p)
            G = np.einsum("bip,cbiq->cpq", F, AF)
            if reml:
                t = t - np.einsum("pq,cqp->c", vb, G)
            s = np.einsum("cbi,bi->c", Au, u)
            base = t - s
            ev.grad = d1.T @ base
            if order >= 2:
                Q = np.einsum("cbij,dbji->cd", MA, MA)
                if reml:
                    MAF = Mi[None] @ AF
                    K = np.einsum("cbip,dbiq->cdpq", AF, MAF)
                    vK = np.einsum("pq,cdqp->cd", vb, K)
                    vG = vb[None] @ G  # (n_c, p, p)
                    Q = Q - vK - vK.T + np.einsum("cpq,dqp->cd", vG, vG)
                MAu = np.einsum("bij,cbj->cbi", Mi, Au)
                Fu = np.einsum("bip,cbi->cp", F, Au)
                Rm = np.einsum("cbi,dbi->cd", Au, MAu) - Fu @ vb @ Fu.T
                ev.hess = np.einsum("cab,c->ab", d2, base) + d1.T @ (2 * Rm - Q) @ d1
        self._cache[key] = ev
        if len(self._cache) > 64:
            self._cache.pop(next(iter(self._cache)))
        return ev

    def fixed_effects_fit(self) -> tuple[float, float, np.ndarray] | None:
        """(QE, log|V|, residuals' variance) of the GLS fit on V alone; None if V is not positive definite."""
        g = self._gls(np.zeros(len(self.W)))
        if g is None:
            return None
        logdet, Mi, F, vb, beta, u, _ = g
        return float(np.sum(self.yb * u)), logdet, beta

    # -- fitting ------------------------------------------------------------
    def start(self) -> np.ndarray:
        """metafor's starting values: the residual variance of the EE fit, shared out; rho = 0.5."""
        st = self.st
        nvar = st.n_sigma2 + st.n_tau2
        fe = self.fixed_effects_fit()
        if fe is None:
            total = float(np.var(self.y, ddof=1))
        else:
            b = fe[2]
            total = float(max(0.001 * nvar, float(np.var(self.y - self.X @ b, ddof=1))
                              - float(1 / np.mean(1 / np.diag(self.V)))))
        th = np.full(st.n_par, np.log(total / max(nvar, 1)))
        th[st.is_rho()] = np.arctanh(0.5)
        if self.chol:
            G0 = total / max(nvar, 1) * (0.5 + 0.5 * np.eye(self.q))
            L0 = np.linalg.cholesky(G0)
            th[self.ns:] = [L0[i, j] for i, j in self.lidx]
        return th

    def fit(self, fixed: dict[int, float] | None = None, start: np.ndarray | None = None) -> tuple[np.ndarray, _Eval]:
        """Optimise the free parameters; ``fixed`` maps parameter index -> value on the natural scale."""
        st = self.st
        fixed = fixed or {}
        theta = self.start() if start is None else start.copy()
        rho = st.is_rho()
        for j, val in fixed.items():
            with np.errstate(divide="ignore"):
                theta[j] = np.arctanh(val) if rho[j] else (np.log(val) if val > 0 else -np.inf)
        free = np.array([j for j in range(st.n_par) if j not in fixed], dtype=int)
        if free.size == 0:
            ev = self.evaluate(theta, order=0)
            if not ev.ok:
                raise ConvergenceError("the marginal covariance matrix is not positive definite at the given "
                                       "variance components")
            return theta, ev

        def full(x: np.ndarray) -> np.ndarray:
            t = theta.copy()
            t[free] = x
            return t

        def fun(x: np.ndarray) -> float:
            ev = self.evaluate(full(x))
            return ev.obj if ev.ok else np.inf

        def jac(x: np.ndarray) -> np.ndarray:
            ev = self.evaluate(full(x))
            return ev.grad[free] if ev.ok and ev.grad is not None else np.zeros(free.size)

        def hess(x: np.ndarray) -> np.ndarray:
            ev = self.evaluate(full(x))
            return ev.hess[np.ix_(free, free)] if ev.ok and ev.hess is not None else np.eye(free.size)

        x0 = theta[free]
        if not np.isfinite(fun(x0)):
            raise ConvergenceError("the marginal covariance matrix is not positive definite at the starting "
                                   "values")
        x, g, ok = self._newton(fun, jac, hess, x0)
        message = "Newton-Raphson"
        if not ok:
            # scipy's trust-region Newton method (exact subproblem) copes with indefinite Hessians far from
            # the optimum; it is the fallback when plain Newton steps stop descending
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                opt = optimize.minimize(fun, x, jac=jac, hess=hess, method="trust-exact",
                                        options={"gtol": _GTOL, "maxiter": _MAXITER})
            # near the optimum the change in -2 ll drops below its rounding error before the gradient
            # is ~0 and trust-exact stops with "precision loss": finish with plain Newton steps
            x, g, ok = self._newton(fun, jac, hess, opt.x)
            ok = ok or opt.success
            message = str(opt.message)
        # a variance component that heads to 0 (log scale to -inf) stops with a tiny gradient: accept
        if not (ok or np.all(np.abs(g) < 1e-6)) or not np.isfinite(fun(x)):
            raise ConvergenceError(f"the (restricted) likelihood could not be maximised: {message} "
                                   f"(gradient {g})")
        t = full(x)
        ev = self.evaluate(t)
        return t, ev

    @staticmethod
    def _newton(fun: Any, jac: Any, hess: Any, x: np.ndarray,
                maxiter: int = 200) -> tuple[np.ndarray, np.ndarray, bool]:
        """Newton-Raphson with step halving while the Hessian is positive definite; (x, gradient, converged)."""
        f = fun(x)
        g = jac(x)
        for _ in range(maxiter):
            if np.max(np.abs(g)) <= _GTOL:
                return x, g, True
            try:
                L = np.linalg.cholesky(hess(x))
            except np.linalg.LinAlgError:
                return x, g, False
            step = np.linalg.solve(L.T, np.linalg.solve(L, g))
            t = 1.0
            for _ in range(40):
                x_new = x - t * step
                f_new = fun(x_new)
                if f_new <= f + 1e-13 * abs(f):
                    break
                t /= 2
            else:
                return x, g, False
            g_new = jac(x_new)
            if f_new >= f and np.max(np.abs(g_new)) >= np.max(np.abs(g)):
                # rounding level reached without a smaller gradient
                return x, g, np.max(np.abs(g)) < 1e-6
            x, f, g = x_new, f_new, g_new
        return x, g, False

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """sigma², tau² and rho from the optimisation parameters."""
        rho = self.st.is_rho()
        with np.errstate(over="ignore"):
            out = np.where(rho, np.tanh(theta), np.exp(theta))
        if self.chol:
            L = self.chol_factor(theta)
            G = L @ L.T
            d = np.diag(G).copy()
            out[self.ns:self.ns + self.q] = d
            r = self.ns + self.q
            for a in range(self.q):
                for b in range(a + 1, self.q):
                    out[r] = G[a, b] / np.sqrt(d[a] * d[b]) if d[a] > 0 and d[b] > 0 else 0.0
                    r += 1
        return np.where(~rho & (out <= _ZERO), 0.0, out)

    def theta_from_natural(self, nat: np.ndarray) -> np.ndarray:
        """The log/atanh parameters of natural values (rho kept inside (-1, 1))."""
        rho = self.st.is_rho()
        with np.errstate(divide="ignore"):
            return np.where(rho, np.arctanh(np.clip(nat, -1 + 1e-12, 1 - 1e-12)), np.log(nat))

    def ll(self, ev: _Eval) -> float:
        return -0.5 * (self.const + ev.obj)


# --------------------------------------------------------------------------
# design matrices from formulas
# --------------------------------------------------------------------------

def _r_name(name: str) -> str:
    """patsy's column names in R's spelling: Intercept -> intrcpt, x[T.a] and x[a] -> xa."""
    if name == "Intercept":
        return "intrcpt"
    name = re.sub(r"C\((\w+)\)", r"\1", name)
    return re.sub(r"(\w+)\[(?:T\.)?([^\]]*)\]", r"\1\2", name)


def _design(mods: Any, data: pd.DataFrame | None, k: int) -> tuple[np.ndarray, list[str], bool]:
    """X, its column names (metafor's) and whether it has an intercept."""
    if mods is None:
        return np.ones((k, 1)), ["intrcpt"], True
    if isinstance(mods, str):
        import patsy
        if data is None:
            raise DataError("a formula in mods needs data= (a DataFrame with the moderators)", field="data")
        formula = mods.strip()
        if not formula.startswith("~"):
            raise DataError(f"mods formula must start with '~', got {mods!r}", field="mods")
        try:
            dm = patsy.dmatrix(formula, data, NA_action="raise", return_type="dataframe")
        except patsy.PatsyError as err:
            raise DataError(f"cannot build the design matrix from mods={mods!r}: {err}", field="mods") from None
        if len(dm) != k:
            raise DataError(f"mods formula gives {len(dm)} rows but there are {k} effects", field="mods")
        names = [_r_name(str(c)) for c in dm.columns]
        X = dm.to_numpy(dtype=float)
        intercept = "Intercept" in dm.columns
    else:
        from mgmeta.analyses.regression import design_matrix
        X, names = design_matrix(mods, k, intercept=True)
        names = [_r_name(n) for n in names]
        intercept = True
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise DataError(f"the design matrix from mods={mods!r} is rank-deficient (columns: {', '.join(names)})",
                        field="mods")
    return X, names, intercept


def _as_y_v(yi: Any, V: Any, data: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray, bool]:
    if isinstance(yi, str):
        if data is None or yi not in data.columns:
            raise DataError(f"yi={yi!r} names no column of data", field="yi")
        yi = data[yi]
    y = as_vector(yi, "yi")
    k = len(y)
    if k < 2:
        raise DataError(f"a multivariate model needs at least 2 effects, got {k}", field="yi")
    if isinstance(V, str):
        if data is None or V not in data.columns:
            raise DataError(f"V={V!r} names no column of data", field="V")
        V = data[V]
    if isinstance(V, pd.DataFrame):
        V = V.to_numpy()
    Varr = np.asarray(V, dtype=float) if not isinstance(V, pd.Series) else V.to_numpy(dtype=float)
    is_matrix = Varr.ndim == 2
    if Varr.ndim == 1:
        v = as_vector(Varr, "V")
        if len(v) != k:
            raise DataError(f"V has {len(v)} sampling variances but yi has {k} effects", field="V")
        bad = np.flatnonzero(v <= 0)
        if bad.size:
            raise DataError(f"study at position {bad[0]}: sampling variance must be positive, got {v[bad[0]]:g}",
                            study=int(bad[0]), field="V")
        Vm = np.diag(v)
    elif Varr.ndim == 2:
        if Varr.shape != (k, k):
            raise DataError(f"V is {Varr.shape[0]} x {Varr.shape[1]} but yi has {k} effects", field="V")
        if not np.all(np.isfinite(Varr)):
            raise DataError("V contains missing or infinite values", field="V")
        if not np.allclose(Varr, Varr.T, rtol=1e-10, atol=1e-14):
            raise DataError("V must be symmetric", field="V")
        d = np.diag(Varr)
        bad = np.flatnonzero(d <= 0)
        if bad.size:
            raise DataError(f"study at position {bad[0]}: sampling variance (diagonal of V) must be positive, "
                            f"got {d[bad[0]]:g}", study=int(bad[0]), field="V")
        Vm = (Varr + Varr.T) / 2
    else:
        raise DataError("V must be a vector of sampling variances or a k x k covariance matrix", field="V")
    return y, Vm, is_matrix


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class LikelihoodRatioTest:
    """Likelihood-ratio test of two nested models, as metafor's ``anova(full, reduced)``.

    Attributes
    ----------
    df_full, df_reduced : int
        Number of estimated parameters of each model (fixed effects and
        variance components).
    ll_full, ll_reduced, aic_full, aic_reduced, bic_full, bic_reduced,
    aicc_full, aicc_reduced : float
        Fit statistics of each model (ML or REML, as the models were fitted).
    lrt, pvalue : float
        LRT = 2 (ll_full - ll_reduced), chi² with df_full - df_reduced df.
    qe_full, qe_reduced : float
        Test statistics for residual heterogeneity.
    """

    df_full: int
    df_reduced: int
    ll_full: float
    ll_reduced: float
    aic_full: float
    aic_reduced: float
    bic_full: float
    bic_reduced: float
    aicc_full: float
    aicc_reduced: float
    lrt: float
    pvalue: float
    qe_full: float
    qe_reduced: float

    def to_frame(self) -> pd.DataFrame:
        """Rows ``full`` and ``reduced``; columns ``df aic bic aicc ll lrt pvalue qe``."""
        return pd.DataFrame({
            "df": [self.df_full, self.df_reduced], "aic": [self.aic_full, self.aic_reduced],
            "bic": [self.bic_full, self.bic_reduced], "aicc": [self.aicc_full, self.aicc_reduced],
            "ll": [self.ll_full, self.ll_reduced], "lrt": [np.nan, self.lrt], "pvalue": [np.nan, self.pvalue],
            "qe": [self.qe_full, self.qe_reduced]}, index=["full", "reduced"])

    def __str__(self) -> str:
        rows = [["Full", str(self.df_full)] + [fmt.format_number(x) for x in
                                               (self.aic_full, self.bic_full, self.aicc_full, self.ll_full)]
                + ["", "", fmt.format_number(self.qe_full)],
                ["Reduced", str(self.df_reduced)] + [fmt.format_number(x) for x in
                                                     (self.aic_reduced, self.bic_reduced, self.aicc_reduced,
                                                      self.ll_reduced)]
                + [fmt.format_number(self.lrt), fmt.format_pvalue(self.pvalue), fmt.format_number(self.qe_reduced)]]
        return fmt.text_table(["", "df", "AIC", "BIC", "AICc", "logLik", "LRT", "pval", "QE"], rows) + "\n"


@dataclass(frozen=True, eq=False)
class MultivariateResult:
    """A fitted multilevel / multivariate model, as metafor's ``rma.mv``.

    Attributes
    ----------
    beta, se, statistic, pvalue, ci_lower, ci_upper : ndarray, shape (p,)
        Coefficients (metafor's names in ``names``: ``intrcpt``, ``outcomeAL``
        ...), their standard errors, z (or t) statistics, p-values and CIs.
    vb : ndarray, shape (p, p)
        Covariance matrix of the coefficients.
    sigma2 : ndarray
        Variance components of the ``~ 1 | f`` terms (one per nesting level),
        named by ``s_names`` with ``s_nlevels`` levels each.
    tau2, rho : ndarray or None
        Variances and correlations of the ``~ inner | outer`` term (struct
        "CS": one tau² and one rho; "HCS": a tau² per inner level and one
        rho; "UN": a tau² per inner level and a rho per pair of levels, in
        metafor's order (2,1), (3,1), (3,2), ...).
    qe, qe_df, qe_pvalue : float
        Test for (residual) heterogeneity: (y - X b)' V^-1 (y - X b), with b
        the generalised least-squares fit on V alone; chi² with k - p df.
    qm, qm_df, qm_pvalue : float
        Omnibus (Wald) test of the coefficients other than the intercept
        (all of them without an intercept); F with (m, k - p) df for test="t".
    ll, deviance, aic, bic, aicc : float
        Fit statistics (ML or REML log-likelihood, as metafor's ``fitstats``).
    parms : int
        Number of estimated parameters (coefficients and variance components).
    k, p : int
    method, test, struct : str
    level : float
    df : int or None
        Residual degrees of freedom (k - p) for test="t".
    """

    beta: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    vb: np.ndarray
    names: tuple[str, ...]
    sigma2: np.ndarray
    s_names: tuple[str, ...]
    s_nlevels: tuple[int, ...]
    tau2: np.ndarray | None
    rho: np.ndarray | None
    struct: str | None
    inner: str | None
    outer: str | None
    g_levels: tuple[str, ...]
    g_levels_k: tuple[int, ...]
    g_nlevels: tuple[int, int]
    qe: float
    qe_df: int
    qe_pvalue: float
    qm: float
    qm_df: int
    qm_pvalue: float
    btt: tuple[int, ...]
    ll: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    parms: int
    k: int
    p: int
    method: str
    test: str
    level: float
    df: int | None
    yi: np.ndarray
    V: np.ndarray
    X: np.ndarray
    fixed: tuple[bool, ...]
    _model: _Model = field(repr=False)
    _theta: np.ndarray = field(repr=False)

    # ---- follow-ups ---------------------------------------------------------
    def _crit(self, level: float) -> float:
        alpha = 1 - level
        if self.test == "t":
            return float(stats.t.isf(alpha / 2, self.k - self.p))
        return float(stats.norm.isf(alpha / 2))

    def predict(self, newmods: Any = None, *, level: float | None = None,
                tau2_levels: Any = None) -> pd.DataFrame:
        """Predicted (average) effects with confidence and prediction intervals (metafor's ``predict``).

        Parameters
        ----------
        newmods : array_like, shape (m,) or (m, p - 1) or (m, p), optional
            Moderator values (without the intercept column when the model has
            one); default: the intercept alone (intercept-only models).
        level : float, optional
            Confidence level (default: the model's).
        tau2_levels : sequence of str, optional
            For HCS/UN models, the inner level whose tau² enters each
            prediction interval.

        Returns
        -------
        DataFrame
            Columns ``pred se ci_lower ci_upper pi_lower pi_upper``.

        Notes
        -----
        pi = pred ± crit sqrt(se² + sum(sigma²) + tau²), as metafor. With a
        HCS or UN structure and no ``tau2_levels`` the prediction intervals
        are NaN.
        """
        lev = self.level if level is None else check_level(level)
        intercept = "intrcpt" in self.names
        if newmods is None:
            if self.p != 1 or not intercept:
                raise DataError("give newmods= for a model with moderators", field="newmods")
            Xn = np.ones((1, 1))
        else:
            if not np.all(np.isfinite(np.asarray(newmods, dtype=float))):
                raise DataError("newmods contains missing or infinite values", field="newmods")
            Xn = newmods_design(newmods, self.p, intercept, self.names)
        pred = Xn @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, self.vb, Xn))
        crit = self._crit(lev)
        extra = np.full(len(pred), float(np.sum(self.sigma2)))
        if self.tau2 is not None:
            if len(self.tau2) == 1:
                extra += self.tau2[0]
            elif tau2_levels is None:
                extra[:] = np.nan
            else:
                levs = [str(x) for x in np.atleast_1d(np.asarray(tau2_levels, dtype=object))]
                if len(levs) == 1:
                    levs = levs * len(pred)
                if len(levs) != len(pred):
                    raise DataError("tau2_levels needs one level per prediction", field="tau2_levels")
                for i, lv in enumerate(levs):
                    if lv not in self.g_levels:
                        raise DataError(f"tau2_levels: {lv!r} is not a level of {self.inner!r} "
                                        f"({', '.join(self.g_levels)})", field="tau2_levels")
                    extra[i] += self.tau2[self.g_levels.index(lv)]
        with np.errstate(invalid="ignore"):
            half_pi = crit * np.sqrt(se ** 2 + extra)
        return pd.DataFrame({"pred": pred, "se": se, "ci_lower": pred - crit * se, "ci_upper": pred + crit * se,
                             "pi_lower": pred - half_pi, "pi_upper": pred + half_pi})

    def _profile_ll(self, j: int, value: float, start: np.ndarray) -> float:
        model = self._model
        if model.chol:
            return self._profile_ll_un(j, value)
        nat = model.natural(self._theta)
        fixed = {i: float(v) for i, v in enumerate(nat) if self.fixed[i]}
        fixed[j] = value
        try:
            _, ev = model.fit(fixed=fixed, start=start)
        except (ConvergenceError, np.linalg.LinAlgError):
            return np.nan
        return model.ll(ev)

    def _profile_ll_un(self, j: int, value: float) -> float:
        """Profile log-likelihood of a UN G with three or more levels (fitted through its Cholesky factor)
        with natural component ``j`` held at ``value``, as metafor's profile fits: the free parameters
        give a positive semi-definite G (log tau² of each level, and the correlation matrix through the
        angles of its unit-row Cholesky factor); the held tau² or rho then replaces its entry, so that G
        may be indefinite as long as the marginal covariance stays positive definite."""
        model = self._model
        ns, q = model.ns, model.q
        nat = model.natural(self._theta)
        twin = copy.copy(model)                     # the same data, in log tau² and atanh rho, unchecked
        twin.chol, twin.check_psd, twin._cache = False, False, {}
        held = {i: float(v) for i, v in enumerate(nat) if self.fixed[i]}
        held[j] = value
        rho = model.st.is_rho()
        n_ang = q * (q - 1) // 2
        free_s = [i for i in range(ns) if i not in held]
        # two starts, as the estimate's correlation matrix is often singular (a corner the held component
        # pulls away from): the fit's own components (its Cholesky factor, rows scaled to 1), and metafor's
        # starting values (the residual variance shared out, every rho 0.5)
        L = model.chol_factor(self._theta)
        norms = np.sqrt(np.sum(L ** 2, axis=1))
        U = L / np.where(norms > 0, norms, 1.0)[:, None]
        default = twin.natural(twin.start())
        C0 = np.full((q, q), 0.5) + 0.5 * np.eye(q)
        with np.errstate(divide="ignore"):
            starts = [np.concatenate([np.log(nat[free_s]), np.log(np.maximum(nat[ns:ns + q], 1e-12)), _unit_angles(U)]),
                      np.concatenate([np.log(default[free_s]), np.log(default[ns:ns + q]),
                                      _unit_angles(np.linalg.cholesky(C0))])]

        def theta_of(z: np.ndarray) -> np.ndarray:
            out = np.array(nat, dtype=float)
            out[free_s] = np.exp(z[:len(free_s)])
            out[ns:ns + q] = np.exp(z[len(free_s):len(free_s) + q])
            C = _corr_from_angles(z[len(free_s) + q:], q)
            out[ns + q:] = C[np.triu_indices(q, 1)]
            for i, v in held.items():
                out[i] = v
            with np.errstate(divide="ignore"):
                return np.where(rho, np.arctanh(np.clip(out, -1.0, 1.0)), np.log(np.maximum(out, 0.0)))

        def fun(z: np.ndarray) -> float:
            ev = twin.evaluate(theta_of(z), order=0)
            return ev.obj if ev.ok else np.inf

        best = np.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for z0 in starts:
                if len(z0) != len(free_s) + q + n_ang or not np.isfinite(fun(z0)):
                    continue
                opt = optimize.minimize(fun, z0, method="L-BFGS-B",
                                        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000})
                best = min(best, float(opt.fun))
        return -0.5 * (twin.const + best) if np.isfinite(best) else np.nan

    def confint(self, level: float | None = None) -> pd.DataFrame:
        """Profile-likelihood confidence intervals of the variance components (metafor's ``confint``).

        Returns
        -------
        DataFrame
            One row per estimated component (``sigma^2.1``, ``sigma.1``,
            ``tau^2.1``, ``tau.1``, ``rho`` ...; square roots follow their
            variance), columns ``estimate ci_lower ci_upper``. A bound that
            lies outside the searched range is NaN (metafor warns and gives
            NA there).

        Notes
        -----
        A bound is where 2 (ll_max - ll_profile(c)) = chi²_{1; level}, with
        ll_profile(c) the (restricted) log-likelihood maximised over the
        other components with this one fixed at c. As in metafor, variances
        are searched on [0, max(10, 100 c_hat)] and correlations on [-1, 1]
        (moving a boundary inwards in tenths when the model cannot be fitted
        there); a bound at the edge of the range means the profile never
        crosses the critical value there. For a UN G with three or more levels
        (fitted through the Cholesky factor of G) the profile fits are
        metafor's: the other components come from a positive semi-definite G
        and the held tau² or rho replaces its entry, so that G may be
        indefinite while the marginal covariance stays positive definite.
        Where metafor's refits fail near an edge it prints the last value it
        could fit ("<-0.62"); these fits reach the edge.
        """
        lev = self.level if level is None else check_level(level)
        target = float(stats.chi2.ppf(lev, 1))
        nat = self._model.natural(self._theta)
        names = self._model.st.names()
        rho = self._model.st.is_rho()
        rows: dict[str, list[float]] = {}
        for j in range(len(nat)):
            if self.fixed[j]:
                continue
            vc = float(nat[j])

            def diff(c: float, j: int = j) -> float:
                return 2 * (self.ll - self._profile_ll(j, c, self._theta)) - target

            if rho[j]:
                lo_edge, hi_edge = -1.0, 1.0
            else:
                lo_edge = 0.0
                hi_edge = 10.0 if vc <= np.finfo(float).eps ** 0.5 else max(10.0, vc * 100)
            bounds = []
            for edge, inner_side in ((lo_edge, "lower"), (hi_edge, "upper")):
                step = abs(edge - vc) / 10
                bound = np.nan
                e = edge
                for _ in range(10):
                    d = diff(e)
                    if np.isfinite(d):
                        if d < 0:
                            bound = e
                        else:
                            a, b = (e, vc) if inner_side == "lower" else (vc, e)
                            try:
                                bound = optimize.brentq(diff, a, b, xtol=1e-12, rtol=4 * np.finfo(float).eps,
                                                        maxiter=1000)
                            except (ValueError, RuntimeError):
                                bound = np.nan
                        break
                    e = e + step if inner_side == "lower" else e - step
                bounds.append(bound)
            rows[names[j]] = [vc, bounds[0], bounds[1]]
            if not rho[j]:
                root = names[j].replace("^2", "")
                rows[root] = [np.sqrt(vc)] + [np.sqrt(b) if np.isfinite(b) else np.nan for b in bounds]
        return pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "ci_lower", "ci_upper"])

    def heterogeneity_ci(self, level: float | None = None) -> pd.DataFrame:
        """Alias of :meth:`confint` (profile-likelihood CIs of the variance components)."""
        return self.confint(level)

    def fitstats(self) -> pd.Series:
        """logLik, deviance, AIC, BIC and AICc (metafor's ``fitstats``)."""
        return pd.Series({"ll": self.ll, "dev": self.deviance, "aic": self.aic, "bic": self.bic,
                          "aicc": self.aicc})

    def anova(self, reduced: MultivariateResult) -> LikelihoodRatioTest:
        """Likelihood-ratio test against a nested (reduced) model, as metafor's ``anova(full, reduced)``.

        The model with more parameters is taken as the full one. Both must be
        fitted to the same data with the same method; REML fits must also
        have the same fixed effects (compare moderators with ML fits).
        """
        if not isinstance(reduced, MultivariateResult):
            raise DataError("anova compares two meta_analysis_mv fits", field="reduced")
        full, red = (self, reduced) if self.parms >= reduced.parms else (reduced, self)
        if full.parms == red.parms:
            raise DataError("the models have the same number of parameters; a likelihood-ratio test is not "
                            "meaningful", field="reduced")
        if full.method != red.method:
            raise DataError(f"the models were fitted with different methods ({full.method}, {red.method})",
                            field="method")
        if full.k != red.k or not np.allclose(full.yi, red.yi):
            raise DataError("the models were fitted to different data", field="reduced")
        if full.method == "REML" and (full.X.shape != red.X.shape or not np.allclose(full.X, red.X)):
            raise DataError("REML likelihoods of models with different fixed effects are not comparable; "
                            "refit both with method='ML'", field="method")
        lrt = max(0.0, 2 * (full.ll - red.ll))
        df = full.parms - red.parms
        return LikelihoodRatioTest(
            df_full=full.parms, df_reduced=red.parms, ll_full=full.ll, ll_reduced=red.ll, aic_full=full.aic,
            aic_reduced=red.aic, bic_full=full.bic, bic_reduced=red.bic, aicc_full=full.aicc,
            aicc_reduced=red.aicc, lrt=lrt, pvalue=float(special.chdtrc(df, lrt)), qe_full=full.qe,
            qe_reduced=red.qe)

    # ---- presentation -------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The coefficient table: ``estimate se statistic pvalue ci_lower ci_upper``, indexed by name."""
        return pd.DataFrame({"estimate": self.beta, "se": self.se, "statistic": self.statistic,
                             "pvalue": self.pvalue, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper},
                            index=list(self.names))

    def _coef_table(self) -> str:
        stat = "tval" if self.test == "t" else "zval"
        head = ["", "estimate", "se", stat] + (["df"] if self.test == "t" else []) + ["pval", "ci.lb", "ci.ub"]
        rows = []
        for i, n in enumerate(self.names):
            r = [n if self.p > 1 else "", fmt.format_number(self.beta[i]), fmt.format_number(self.se[i]),
                 fmt.format_number(self.statistic[i])]
            if self.test == "t":
                r.append(str(self.df))
            r += [fmt.format_pvalue(self.pvalue[i]), fmt.format_number(self.ci_lower[i]),
                  fmt.format_number(self.ci_upper[i])]
            rows.append(r)
        if self.p == 1:
            head, rows = head[1:], [r[1:] for r in rows]
        return fmt.text_table(head, rows)

    def _vc_lines(self) -> list[str]:
        out = []
        if len(self.sigma2):
            rows = [[f"sigma^2.{i + 1}", fmt.format_number(s), fmt.format_number(np.sqrt(s)),
                     str(self.s_nlevels[i]), "yes" if self.fixed[i] else "no", self.s_names[i]]
                    for i, s in enumerate(self.sigma2)]
            out += [fmt.text_table(["", "estim", "sqrt", "nlvls", "fixed", "factor"], rows), ""]
        if self.tau2 is not None and self.rho is not None:
            ns = len(self.sigma2)
            w = max(len(str(self.outer)), len(str(self.inner)))
            out += [f"outer factor: {str(self.outer).ljust(w)} (nlvls = {self.g_nlevels[1]})",
                    f"inner factor: {str(self.inner).ljust(w)} (nlvls = {self.g_nlevels[0]})", ""]
            if len(self.tau2) == 1:
                rows = [["tau^2", fmt.format_number(self.tau2[0]), fmt.format_number(np.sqrt(self.tau2[0])),
                         "yes" if self.fixed[ns] else "no"],
                        ["rho", fmt.format_number(self.rho[0]), "", "yes" if self.fixed[ns + 1] else "no"]]
                out += [fmt.text_table(["", "estim", "sqrt", "fixed"], rows), ""]
            else:
                rows = [[f"tau^2.{i + 1}", fmt.format_number(t), fmt.format_number(np.sqrt(t)),
                         str(self.g_levels_k[i]), "yes" if self.fixed[ns + i] else "no", self.g_levels[i]]
                        for i, t in enumerate(self.tau2)]
                if self.struct == "HCS":
                    rows.append(["rho", fmt.format_number(self.rho[0]), "", "", "yes" if self.fixed[-1] else "no", ""])
                out += [fmt.text_table(["", "estim", "sqrt", "k.lvl", "fixed", "level"], rows), ""]
                if self.struct == "UN":
                    q = len(self.tau2)
                    R = np.eye(q)
                    r = 0
                    for a in range(q):
                        for b in range(a + 1, q):
                            R[b, a] = R[a, b] = self.rho[r]
                            r += 1
                    rows = [[self.g_levels[a]] + [fmt.format_number(R[a, b]) if b <= a else ""
                                                  for b in range(q)] for a in range(q)]
                    out += [fmt.text_table([""] + [f"rho.{lv}" for lv in self.g_levels], rows), ""]
        return out

    def __str__(self) -> str:
        fs = fmt.text_table(["logLik", "Deviance", "AIC", "BIC", "AICc"],
                            [[fmt.format_number(x) for x in (self.ll, self.deviance, self.aic, self.bic,
                                                             self.aicc)]])
        out = [f"Multivariate Meta-Analysis Model (k = {self.k}; method: {self.method})", "", fs, "",
               "Variance Components:", ""]
        if not len(self.sigma2) and self.tau2 is None:
            out += ["none", ""]
        out += self._vc_lines()
        has_mods = self.p > 1 or "intrcpt" not in self.names
        out += [f"Test for {'Residual ' if has_mods else ''}Heterogeneity:",
                f"Q{'E' if has_mods else ''}(df = {self.qe_df}) = {self.qe:.4f}, "
                f"p-val {('< .0001' if self.qe_pvalue < 1e-4 else '= ' + fmt.format_pvalue(self.qe_pvalue))}", ""]
        if has_mods:
            b = [i + 1 for i in self.btt]
            coefs = f"{b[0]}:{b[-1]}" if len(b) > 1 and b == list(range(b[0], b[-1] + 1)) else ",".join(map(str, b))
            if self.test == "t":
                out += [f"Test of Moderators (coefficients {coefs}):",
                        f"F(df1 = {self.qm_df}, df2 = {self.df}) = {self.qm:.4f}, p-val "
                        f"{('< .0001' if self.qm_pvalue < 1e-4 else '= ' + fmt.format_pvalue(self.qm_pvalue))}", ""]
            else:
                out += [f"Test of Moderators (coefficients {coefs}):",
                        f"QM(df = {self.qm_df}) = {self.qm:.4f}, p-val "
                        f"{('< .0001' if self.qm_pvalue < 1e-4 else '= ' + fmt.format_pvalue(self.qm_pvalue))}", ""]
        out += ["Model Results:", "", self._coef_table()]
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        head = ["", "estimate", "se", "tval" if self.test == "t" else "zval", "pval", "ci.lb", "ci.ub"]
        rows = [[n, fmt.format_number(self.beta[i]), fmt.format_number(self.se[i]),
                 fmt.format_number(self.statistic[i]), fmt.format_pvalue(self.pvalue[i]),
                 fmt.format_number(self.ci_lower[i]), fmt.format_number(self.ci_upper[i])]
                for i, n in enumerate(self.names)]
        vc = "<br>".join(self._vc_lines()).replace(" ", "&nbsp;")
        return (f"<p><b>Multivariate Meta-Analysis Model (k = {self.k}; method: {self.method})</b></p>"
                f"<p>logLik = {self.ll:.4f}, AIC = {self.aic:.4f}, BIC = {self.bic:.4f}</p>"
                f"<pre>{vc}</pre><p>Q(df = {self.qe_df}) = {self.qe:.4f}, p = {fmt.format_pvalue(self.qe_pvalue)}</p>"
                + fmt.html_table(head, rows, caption="Model results"))


# --------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------

def _fixed_values(arg: Any, n: int, name: str, is_rho: bool) -> dict[int, float]:
    if arg is None:
        return {}
    vals = np.atleast_1d(np.asarray(arg, dtype=float))
    if len(vals) != n:
        raise DataError(f"{name} has {len(vals)} values but the model has {n}", field=name)
    out = {}
    for i, v in enumerate(vals):
        if np.isnan(v):
            continue
        if (is_rho and not -1 <= v <= 1) or (not is_rho and v < 0):
            raise DataError(f"{name}[{i}] = {v:g} is out of range", field=name)
        out[i] = float(v)
    return out


def meta_analysis_mv(yi: Any, V: Any, *, random: Any = None, struct: str = "CS", mods: Any = None,
                     data: pd.DataFrame | None = None, method: str = "REML", test: str = "z",
                     level: float = 0.95, sigma2: Any = None, tau2: Any = None,
                     rho: Any = None) -> MultivariateResult:
    """Fit a multilevel or multivariate meta-analysis model, as metafor's ``rma.mv``.

    Parameters
    ----------
    yi : array_like, shape (k,), or str
        Effect sizes (or the name of a column of ``data``).
    V : array_like, shape (k,) or (k, k), or str
        Sampling variances, or the full covariance matrix of the effects
        (e.g. from :func:`mgmeta.vcov_shared_arm`).
    random : str or list of str
        Random effects as metafor formulas: ``"~ 1 | district/school"``
        (nested random intercepts: one sigma² per level), a list of such
        terms, and at most one ``"~ inner | outer"`` term (correlated random
        effects of the inner levels within each outer level, structured by
        ``struct``). The variables are columns of ``data``.
    struct : {"CS", "HCS", "UN"}
        Structure of the inner|outer covariance matrix: compound symmetry
        (one tau², one rho), heteroscedastic CS (a tau² per level, one rho),
        unstructured (a tau² per level, a rho per pair).
    mods : str, array_like or DataFrame, optional
        Moderators: a patsy formula on ``data`` (``"~ deltype + year"``,
        ``"~ outcome - 1"``) or columns as :func:`mgmeta.meta_regression`
        takes them. Coefficients carry metafor's names (``intrcpt``,
        ``deltypeovert``).
    data : DataFrame, optional
        Where the random-effect variables, moderators and, if given as
        strings, yi and V are found.
    method : {"REML", "ML"}
    test : {"z", "t"}
        Wald z tests, or t tests (and an F test for QM) with k - p df.
    level : float
        Confidence level (0.95; 95 is accepted too).
    sigma2, tau2, rho : array_like, optional
        Fix variance components at the given values (NaN: estimate), as
        metafor's arguments of the same names.

    Returns
    -------
    MultivariateResult

    Raises
    ------
    DataError
        Bad shapes, non-positive variances, unknown variables, options or
        formulas; the message names the argument.
    ConvergenceError
        The optimiser did not reach a maximum.

    Notes
    -----
    See the module docstring for the likelihood and its derivatives. The
    fixed effects are the generalised least-squares estimates
    b = (X'M^-1 X)^-1 X'M^-1 y with Var(b) = (X'M^-1 X)^-1 at the estimated
    M. AIC, BIC and AICc count the coefficients and the estimated variance
    components; for REML, BIC uses log(k - p).

    With struct="UN" and three or more inner levels, G is estimated through
    its Cholesky factor (G = L L'), so that it stays positive semi-definite;
    metafor's optimum is then on the same boundary (checked on simulated data).
    The log/atanh parametrisation alone would let rho leave the set of valid
    correlation matrices, where the likelihood can be higher but G is not a
    covariance matrix. For CS and HCS with three or more levels, parameter
    values with a correlation matrix that is not positive semi-definite are
    rejected during the optimisation.

    References
    ----------
    Viechtbauer W (2010). doi:10.18637/jss.v036.i03

    Examples
    --------
    Three-level model of dat.konstantopoulos2011 (schools within districts),
    the first three districts:

    >>> import pandas as pd, mgmeta
    >>> df = pd.DataFrame({"district": [11] * 4 + [12] * 4 + [18] * 3,
    ...                    "school": [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3],
    ...                    "yi": [-0.18, -0.22, 0.23, -0.3, 0.13, -0.26, 0.19, 0.32, 0.45, 0.38, 0.29],
    ...                    "vi": [0.118, 0.118, 0.144, 0.144, 0.014, 0.014, 0.015, 0.024, 0.023, 0.043, 0.012]})
    >>> res = mgmeta.meta_analysis_mv("yi", "vi", random="~ 1 | district/school", data=df)
    >>> res.names, res.s_names
    (('intrcpt',), ('district', 'district/school'))
    >>> bool(res.sigma2[0] > 0)
    True
    """
    check_choice(method, _MV_METHODS, "method")
    check_choice(test, _MV_TESTS, "test")
    level = check_level(level)
    if data is not None and not isinstance(data, pd.DataFrame):
        raise DataError("data must be a pandas DataFrame", field="data")
    if random is None:
        raise DataError("give the random effects, e.g. random='~ 1 | study'", field="random")
    y, Vm, _ = _as_y_v(yi, V, data)
    k = len(y)
    if data is not None and len(data) != k:
        raise DataError(f"data has {len(data)} rows but yi has {k} effects", field="data")
    st = _parse_random(random, struct, data, k)
    X, names, intercept = _design(mods, data, k)
    p = X.shape[1]
    if k <= p:
        raise DataError(f"{k} effects are too few for {p} coefficients", field="mods")
    fixed = {}
    fixed.update(_fixed_values(sigma2, st.n_sigma2, "sigma2", False))
    fixed.update({st.n_sigma2 + i: v for i, v in _fixed_values(tau2, st.n_tau2, "tau2", False).items()})
    fixed.update({st.n_sigma2 + st.n_tau2 + i: v
                  for i, v in _fixed_values(rho, st.n_rho, "rho", True).items()})
    g_fixed = any(j >= st.n_sigma2 for j in fixed)
    model = _Model(y, Vm, X, st, method, chol=st.struct == "UN" and st.g_nlevels[0] >= 3 and not g_fixed)
    theta, ev = model.fit(fixed=fixed)
    assert ev.beta is not None and ev.vb is not None
    nat = model.natural(theta)
    beta, vb = ev.beta, ev.vb
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    dfr = k - p
    alpha = 1 - level
    if test == "t":
        pval = 2 * special.stdtr(dfr, -np.abs(stat))
        crit = float(stats.t.isf(alpha / 2, dfr))
    else:
        pval = 2 * special.ndtr(-np.abs(stat))
        crit = float(stats.norm.isf(alpha / 2))
    # heterogeneity test on V alone
    fe = model.fixed_effects_fit()
    qe, logdet_v = (fe[0], fe[1]) if fe is not None else (np.nan, np.nan)
    qe_p = float(special.chdtrc(dfr, qe)) if dfr > 0 and np.isfinite(qe) else np.nan
    btt = tuple(range(1, p)) if intercept and p > 1 else tuple(range(p)) if not intercept else (0,)
    bsub = beta[list(btt)]
    qm = float(bsub @ np.linalg.solve(vb[np.ix_(btt, btt)], bsub))
    m = len(btt)
    if test == "t":
        qm = qm / m
        qm_p = float(special.fdtrc(m, dfr, qm))
    else:
        qm_p = float(special.chdtrc(m, qm))
    ll = model.ll(ev)
    parms = p + st.n_par - len(fixed)
    if method == "ML":
        dev = -2 * (ll - (-0.5 * k * np.log(2 * np.pi) - 0.5 * logdet_v))
        n_bic, n_c = k, k
    else:
        dev = -2 * ll
        n_bic, n_c = k - p, k - p
    aic = -2 * ll + 2 * parms
    bic = -2 * ll + parms * np.log(n_bic)
    mm = max(n_c, parms + 2)
    aicc = -2 * ll + 2 * parms * mm / (mm - parms - 1)
    ns, nt = st.n_sigma2, st.n_tau2
    return MultivariateResult(
        beta=beta, se=se, statistic=stat, pvalue=pval, ci_lower=beta - crit * se, ci_upper=beta + crit * se,
        vb=vb, names=tuple(names), sigma2=nat[:ns].copy(), s_names=st.s_names, s_nlevels=st.s_nlevels,
        tau2=nat[ns:ns + nt].copy() if st.struct else None, rho=nat[ns + nt:].copy() if st.struct else None,
        struct=st.struct, inner=st.inner, outer=st.outer, g_levels=st.g_levels, g_levels_k=st.g_levels_k,
        g_nlevels=st.g_nlevels, qe=qe, qe_df=dfr, qe_pvalue=qe_p, qm=qm, qm_df=m, qm_pvalue=qm_p, btt=btt,
        ll=ll, deviance=float(dev), aic=float(aic), bic=float(bic), aicc=float(aicc), parms=int(parms), k=k, p=p,
        method=method, test=test, level=level, df=dfr if test == "t" else None, yi=y, V=Vm, X=X,
        fixed=tuple(j in fixed for j in range(st.n_par)), _model=model, _theta=theta)
