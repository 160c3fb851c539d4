"""Meta-regression (mixed-effects models with moderators) and permutation tests.

:func:`meta_regression` fits metafor's ``rma(yi, vi, mods = ...)``: weighted
least squares with weights 1/(v_i + tau²), tau² estimated by the chosen method
with the moderators in the model, the omnibus test of the moderators (QM, a
Wald chi² test, or an F test with the Hartung-Knapp adjustment), the test for
residual heterogeneity (QE) and the pseudo R². Its result has a
:meth:`~MetaRegressionResult.permutation_test` (metafor's ``permutest()``),
run as batches of fits through :func:`mgmeta.models.fit_arrays`.

References
----------
Thompson SG, Higgins JPT (2002). How should meta-regression analyses be
undertaken and interpreted? Stat Med 21(11):1559-1573. doi:10.1002/sim.1187

Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In
Cooper H, Hedges LV, Valentine JC (eds), The Handbook of Research Synthesis
and Meta-Analysis, 2nd ed., 295-315. Russell Sage Foundation.

Higgins JPT, Thompson SG (2004). Controlling the risk of spurious findings from
meta-regression. Stat Med 23(11):1663-1682. doi:10.1002/sim.1752

Viechtbauer W, López-López JA, Sánchez-Meca J, Marín-Martínez F (2015). A
comparison of procedures to test for moderators in mixed-effects
meta-regression models. Psychol Methods 20(3):360-374. doi:10.1037/met0000023
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from mgmeta import _format as fmt
from mgmeta._validation import (
    as_vector,
    check_choice,
    check_level,
    effect_inputs,
    resolve_labels,
)
from mgmeta._inputs import (check_data, check_na_action, effect_frame, effects_or_data, gather, newmods_design,
                             omit_missing)
from mgmeta.control import DEFAULT_CONTROL, Control, check_control
from mgmeta.errors import DataError, MgmetaWarning
from mgmeta.estimators import ALIASES, METHODS, MORE_METHODS, se_tau2_fixed
from mgmeta.models import TESTS, MetaAnalysisResult, check_standard_fit, fit_arrays, permuted_data

__all__ = [
    "meta_regression",
    "MetaRegressionResult",
    "PermutationTestResult",
    "permutation_test",
    "permutation_distribution",
    "design_matrix",
]

COMPTOL = float(np.finfo(float).eps) ** 0.5
"""Tolerance of the comparisons of permuted and observed statistics, as metafor's ``comptol``."""
_CHUNK_ELEMENTS = 4_000_000
"""Random permutations are drawn min(_CHUNK_ELEMENTS // k², 20,000) at a time (the size earlier versions
fitted at once, kept so that a seed draws the same permutations and gives the same p-values)."""
_BATCH_ELEMENTS = 4_000_000
"""Bound on batch * k: permuted fits handed to the engine at once (it splits them into chunks)."""


# --------------------------------------------------------------------------
# design matrix
# --------------------------------------------------------------------------

def _columns(mods: Any, k: int) -> list[tuple[str, pd.Series]]:
    if isinstance(mods, pd.DataFrame):
        return [(str(c), mods[c].reset_index(drop=True)) for c in mods.columns]
    if isinstance(mods, pd.Series):
        return [(str(mods.name) if mods.name is not None else "mod", mods.reset_index(drop=True))]
    if isinstance(mods, Mapping):
        return [(str(n), pd.Series(v.to_numpy() if isinstance(v, (pd.Series, pd.Index)) else
                                    (v if isinstance(v, pd.Categorical) else np.asarray(v))))
                for n, v in mods.items()]
    if isinstance(mods, pd.Categorical):
        return [("mod", pd.Series(mods))]
    arr = np.asarray(mods)
    if arr.ndim == 1:
        return [("mod", pd.Series(arr))]
    if arr.ndim == 2:
        if arr.shape[0] != k and arr.shape[1] == k:
            raise DataError(f"mods has shape {arr.shape}: give one row per study ({k} rows)", field="mods")
        return [(f"mod{j + 1}", pd.Series(arr[:, j])) for j in range(arr.shape[1])]
    raise DataError(f"mods must be a DataFrame, a mapping of columns or an array, got shape {arr.shape}",
                    field="mods")


def _is_categorical(s: pd.Series) -> bool:
    return (isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == bool or s.dtype == object
            or pd.api.types.is_string_dtype(s.dtype))


def design_matrix(mods: Any, k: int, *, intercept: bool = True,
                  labels: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The design matrix of a meta-regression and its column names.

    Numeric columns enter as they are; categorical columns (pandas
    categorical, object/string or bool) become indicator columns
    ``name[level]`` for every level but the first (the reference: the first
    category of a pandas categorical, else the smallest value, as R's
    ``factor()``); without an intercept the first categorical column gets
    an indicator for every level, as R's ``~ factor(x) - 1``. The
    intercept, when included, comes first.

    Raises
    ------
    DataError
        Wrong number of rows, missing or non-finite values, a constant
        moderator, a categorical moderator with one level, or a
        rank-deficient design (a column that is a linear combination of the
        ones before it); the message names the column and, for values, the
        study.
    """
    cols = _columns(mods, k)
    if not cols:
        raise DataError("mods has no columns", field="mods")
    names: list[str] = ["intrcpt"] if intercept else []
    blocks: list[np.ndarray] = [np.ones((k, 1))] if intercept else []
    seen: set[str] = set()
    full_coding = not intercept     # R: without an intercept the first factor gets a column per level
    for name, s in cols:
        if name in seen:
            raise DataError(f"moderator name {name!r} is used twice", field="mods")
        seen.add(name)
        if len(s) != k:
            raise DataError(f"moderator {name!r} has {len(s)} values but there are {k} studies", field=name)
        miss = s.isna().to_numpy()
        if miss.any():
            i = int(np.flatnonzero(miss)[0])
            who = f"study {labels[i]!r}" if labels is not None else f"study at position {i}"
            raise DataError(f"{who}: moderator {name!r} is missing; drop the study or impute the value",
                            study=labels[i] if labels is not None else i, field=name)
        if _is_categorical(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                present = set(s.astype(object))
                levels = [c for c in s.cat.categories if c in present]
                values = s.astype(object).to_numpy()
            else:
                values = s.to_numpy(dtype=object)
                try:
                    levels = sorted(set(values))
                except TypeError:
                    levels = sorted(set(values), key=str)
            if len(levels) < 2:
                raise DataError(f"moderator {name!r} has a single level ({levels[0]!r}) in every study; it "
                                "cannot be estimated", field=name)
            for lev in (levels if full_coding else levels[1:]):
                blocks.append(np.array([v == lev for v in values], dtype=float)[:, None])
                names.append(f"{name}[{lev}]")
            full_coding = False
        else:
            try:
                x = as_vector(s.to_numpy(), name, labels)
            except DataError as err:
                raise DataError(f"moderator {err}", study=err.study, field=name) from None
            if intercept and np.all(x == x[0]):
                raise DataError(f"moderator {name!r} is constant ({x[0]:g} in every study); it cannot be "
                                "estimated alongside the intercept", field=name)
            blocks.append(x[:, None])
            names.append(name)
    X = np.hstack(blocks)
    _check_rank(X, names)
    return X, names


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class PermutationTestResult:
    """Permutation p-values of a (meta-regression) model, as metafor's ``permutest()``.

    Attributes
    ----------
    pvalue : ndarray, shape (p,)
        Two-sided permutation p-value of each coefficient: the share of
        permutations with |z| (or |t|) at least the observed one.
    qm_pvalue : float
        Permutation p-value of the omnibus test QM.
    statistic, qm : ndarray, float
        The observed test statistics.
    names : tuple of str
        Coefficient names.
    n : int
        Number of permutations evaluated (including the observed one).
    exact : bool
        True when every distinct permutation was evaluated.
    exact_count : int
        Number of distinct permutations (2^k sign flips for an
        intercept-only model; k! / prod m_j! row permutations with m_j
        identical rows of the design matrix).
    statistic_perm, qm_perm : ndarray
        The permutation distributions, shape (n, p) and (n,). Failed fits
        (non-convergence) are NaN and left out of the p-values.
    seed : int or None
    """

    pvalue: np.ndarray
    qm_pvalue: float
    statistic: np.ndarray
    qm: float
    names: tuple[str, ...]
    n: int
    exact: bool
    exact_count: int
    statistic_perm: np.ndarray = field(repr=False)
    qm_perm: np.ndarray = field(repr=False)
    seed: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``statistic pvalue`` (permutation p)."""
        return pd.DataFrame({"statistic": self.statistic, "pvalue": self.pvalue}, index=list(self.names))

    def __str__(self) -> str:
        kind = "Exact" if self.exact else "Approximate"
        rows = [[n, fmt.format_number(float(s)), fmt.format_pvalue(float(p))]
                for n, s, p in zip(self.names, self.statistic, self.pvalue)]
        return (f"{kind} permutation test ({self.n} permutations)\n\n"
                f"Test of Moderators: QM = {self.qm:.4f}, p-val* = {fmt.format_pvalue(self.qm_pvalue)}\n\n"
                + fmt.text_table(["", "stat", "pval*"], rows) + "\n")


@dataclass(frozen=True, eq=False)
class MetaRegressionResult:
    """A fitted meta-regression (mixed-effects) model, as metafor's ``rma(yi, vi, mods = ...)``.

    Attributes
    ----------
    coef, se, statistic, pvalue, ci_lower, ci_upper : ndarray, shape (p,)
        Coefficients (intercept first, then the moderators in the given
        order), standard errors, z (or t with k - p df for ``test="knha"``),
        p-values and confidence intervals.
    names : tuple of str
        Column names of the design matrix (``intrcpt``, numeric moderators by
        name, indicators as ``name[level]``).
    vb : ndarray, shape (p, p)
        Covariance matrix of the coefficients.
    qm, qm_pvalue : float
        Omnibus test of the moderators (all coefficients but the intercept):
        Wald chi² with ``qm_df`` df, or with ``test="knha"`` an F statistic
        with (``qm_df``, k - p) df.
    qm_df : int
    df : int or None
        Residual df k - p of the t and F tests (None for the z test).
    qe, qe_pvalue : float
        Test for residual heterogeneity (chi² with k - p df).
    tau2, se_tau2 : float
        Residual heterogeneity and its standard error (None when fixed or
        for EE/FE).
    i2, h2 : float
        Residual I² (percent) and H².
    r2 : float or None
        Pseudo R², percent: max(0, 100 (tau²_0 - tau²) / tau²_0), tau²_0 from
        the intercept-only model with the same method (0 when tau²_0 = 0);
        for EE/FE the adjusted R² of the weighted least-squares fit. None
        without an intercept.
    k, p : int
    method, test : str
    level : float
    yi, vi : ndarray
    X : ndarray, shape (k, p)
    labels : tuple of str
    intercept : bool
    tau2_fixed : float or None
        The tau² given by the user (not estimated).
    btt : tuple of int
        Positions of the coefficients in the QM test.
    control : Control
        Convergence settings (metafor's ``control``), reused by follow-ups.
    omitted : tuple of str
        Studies left out for missing values (``na_action="omit"``).
    formula : str or None
        The moderator formula, when given as one.
    """

    coef: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    names: tuple[str, ...]
    vb: np.ndarray
    qm: float
    qm_pvalue: float
    qm_df: int
    df: int | None
    qe: float
    qe_pvalue: float
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    r2: float | None
    k: int
    p: int
    method: str
    test: str
    level: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    intercept: bool = True
    tau2_fixed: float | None = None
    btt: tuple[int, ...] = ()
    measure: str | None = None
    iterations: int = 0
    control: Control = field(default=DEFAULT_CONTROL, repr=False)
    omitted: tuple[str, ...] = ()
    formula: str | None = None

    @property
    def random(self) -> bool:
        """True for mixed-effects (random-effects) models."""
        return self.method not in ("EE", "FE")

    @property
    def tau(self) -> float:
        """Square root of tau²."""
        return float(np.sqrt(self.tau2))

    @property
    def weights(self) -> np.ndarray:
        """Weights in percent, 100 w_i / sum w, w_i = 1 / (v_i + tau²)."""
        w = 1.0 / (self.vi + self.tau2)
        return 100 * w / w.sum()

    def fitted(self) -> np.ndarray:
        """Fitted values X b."""
        return self.X @ self.coef

    def predict(self, newmods: Any = None, level: float | None = None, transf: Any = None,
                exp: bool = False) -> pd.DataFrame:
        """Predicted (average) effects with confidence and prediction intervals, as metafor's ``predict()``.

        Parameters
        ----------
        newmods : array_like, shape (m, p - 1) or (m, p), or (m,), optional
            Rows of moderator values (without the intercept column when the
            model has one; indicator columns as in :attr:`names`); for a model
            with one moderator a 1-D sequence gives one prediction per value
            (metafor's ``predict(res, newmods = c(10, 30, 50))``). Default:
            the fitted values of the studies.
        level : float, optional
            Default: the model's.
        transf : callable, optional
            Applied to ``pred`` and the interval limits for display (``se``
            is then left out), as metafor's ``predict(res, transf = exp)``.
        exp : bool
            Shorthand for ``transf=numpy.exp`` (ratio measures only).

        Returns
        -------
        DataFrame
            ``pred se ci_lower ci_upper pi_lower pi_upper``.
        """
        from mgmeta._transf import resolve_transf, transform_frame
        fn = resolve_transf(transf, exp, self.measure)
        lev = self.level if level is None else float(level)
        if newmods is None:
            Xn = self.X
        else:
            Xn = newmods_design(newmods, self.p, self.intercept, self.names)
        pred = Xn @ self.coef
        se = np.sqrt(np.einsum("ip,pq,iq->i", Xn, self.vb, Xn))
        if self.test == "knha":
            crit = -special.stdtrit(self.k - self.p, (1 - lev) / 2)
        else:
            crit = -special.ndtri((1 - lev) / 2)
        half = crit * np.sqrt(se ** 2 + self.tau2)
        out = pd.DataFrame({"pred": pred, "se": se, "ci_lower": pred - crit * se, "ci_upper": pred + crit * se,
                            "pi_lower": pred - half, "pi_upper": pred + half})
        return transform_frame(out, ("pred", "ci_lower", "ci_upper", "pi_lower", "pi_upper"), fn)

    def permutation_test(self, n: int = 1000, seed: int | None = None,
                         exact: bool | None = None, n_jobs: int | None = None) -> PermutationTestResult:
        """Permutation p-values for the coefficients and QM (metafor's ``permutest()``).

        See :func:`permutation_test`.
        """
        return permutation_test(self, n=n, seed=seed, exact=exact, n_jobs=n_jobs)

    def influence(self) -> pd.DataFrame:
        """Case-deletion diagnostics (see :func:`mgmeta.analyses.sensitivity.influence`)."""
        from mgmeta.analyses.sensitivity import influence
        return influence(self)

    # ---- presentation -------------------------------------------------------
    def to_frame(self, transf: Any = None, exp: bool = False) -> pd.DataFrame:
        """One row per coefficient (index: names); columns ``estimate se statistic pvalue ci_lower ci_upper``.

        ``transf`` (a function) or ``exp=True`` (ratio measures: ratios of
        odds/risk ratios per unit) transform ``estimate`` and the limits for
        display; ``se`` is then left out.
        """
        from mgmeta._transf import resolve_transf, transform_frame
        fn = resolve_transf(transf, exp, self.measure)
        out = pd.DataFrame({"estimate": self.coef, "se": self.se, "statistic": self.statistic,
                            "pvalue": self.pvalue, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper},
                           index=pd.Index(list(self.names), name="term"))
        return transform_frame(out, ("estimate", "ci_lower", "ci_upper"), fn)

    def summary_frame(self) -> pd.DataFrame:
        """One row of model-level statistics (``k p tau2 se_tau2 i2 h2 r2 qe qe_pvalue qm qm_df qm_pvalue df``)."""
        cols = ["k", "p", "method", "test", "tau2", "se_tau2", "i2", "h2", "r2", "qe", "qe_pvalue", "qm",
                "qm_df", "qm_pvalue", "df"]
        return pd.DataFrame([{c: getattr(self, c) for c in cols}])

    def _header(self) -> str:
        if self.random:
            return f"Mixed-Effects Model (k = {self.k}; tau^2 estimator: {self.method})"
        return f"Fixed-Effects with Moderators Model (k = {self.k})"

    def _coef_table(self) -> tuple[list[str], list[list[str]]]:
        stat = "tval" if self.test == "knha" else "zval"
        head = ["", "estimate", "se", stat] + (["df"] if self.test == "knha" else []) + ["pval", "ci.lb", "ci.ub"]
        rows = []
        for j, name in enumerate(self.names):
            r = [name, fmt.format_number(self.coef[j]), fmt.format_number(self.se[j]),
                 fmt.format_number(self.statistic[j])]
            if self.test == "knha":
                r.append(str(self.df))
            r += [fmt.format_pvalue(self.pvalue[j]), fmt.format_number(self.ci_lower[j]),
                  fmt.format_number(self.ci_upper[j])]
            rows.append(r)
        return head, rows

    def _lines(self) -> list[str]:
        out = []
        if self.random:
            se = f" (SE = {fmt.format_number(self.se_tau2)})" if self.se_tau2 is not None else ""
            out += [f"tau^2 (estimated amount of residual heterogeneity):     {fmt.format_number(self.tau2)}{se}",
                    f"tau (square root of estimated tau^2 value):             {fmt.format_number(self.tau)}",
                    f"I^2 (residual heterogeneity / unaccounted variability): {self.i2:.2f}%",
                    f"H^2 (unaccounted variability / sampling variability):   {self.h2:.2f}"]
        else:
            out += [f"I^2 (residual heterogeneity / unaccounted variability): {self.i2:.2f}%",
                    f"H^2 (unaccounted variability / sampling variability):   {self.h2:.2f}"]
        if self.r2 is not None:
            out.append(f"R^2 (amount of heterogeneity accounted for):            {self.r2:.2f}%")
        out += ["", "Test for Residual Heterogeneity:",
                f"QE(df = {self.k - self.p}) = {self.qe:.4f}, p-val = {fmt.format_pvalue(self.qe_pvalue)}", ""]
        which = ",".join(str(j + 1) for j in self.btt)
        noun = "coefficient" if len(self.btt) == 1 else "coefficients"
        out.append(f"Test of Moderators ({noun} {which}):")
        if self.test == "knha":
            out.append(f"F(df1 = {self.qm_df}, df2 = {self.df}) = {self.qm:.4f}, "
                       f"p-val = {fmt.format_pvalue(self.qm_pvalue)}")
        else:
            out.append(f"QM(df = {self.qm_df}) = {self.qm:.4f}, p-val = {fmt.format_pvalue(self.qm_pvalue)}")
        return out

    def summary(self, transf: Any = None, exp: bool = False) -> str:
        """The printout, with a table of transformed coefficients when ``transf`` or ``exp=True`` is given.

        ``str(res)`` is ``res.summary()``; for ratio measures it adds the
        exponentiated coefficients.
        """
        from mgmeta._transf import resolve_transf
        fn = resolve_transf(transf, exp, self.measure)
        head, rows = self._coef_table()
        out = [self._header(), ""] + self._lines() + ["", "Model Results:", "", fmt.text_table(head, rows)]
        if fn is not None:
            frame = self.to_frame(transf=fn)
            label = "exp" if fn is np.exp else getattr(fn, "__name__", "transf")
            rows_t = [[name, fmt.format_number(r.estimate), fmt.format_number(r.ci_lower),
                       fmt.format_number(r.ci_upper)] for name, r in frame.iterrows()]
            out += ["", f"Transformed coefficients ({label}):", "",
                    fmt.text_table(["", "estimate", "ci.lb", "ci.ub"], rows_t)]
        if self.test == "knha":
            out += ["", "Test: Hartung-Knapp-Sidik-Jonkman (t and F distributions)"]
        if self.omitted:
            out += ["", f"Omitted for missing values: {', '.join(self.omitted)}"]
        return "\n".join(out) + "\n"

    def _exponentiated(self) -> bool:
        """True when the printout adds exponentiated coefficients: ratio measures and the log-scale single-group
        measures (PLN, IRLN, MNLN, CVLN, SDLN), whose exp(coefficient) is a ratio per unit of the moderator.
        The other back-transformations (logit, Fisher's z, arcsine) do not make a slope interpretable."""
        from mgmeta._transf import RATIO
        from mgmeta.transforms import display_transform, transf_exp
        return self.measure in RATIO or display_transform(self.measure) is transf_exp

    def __str__(self) -> str:
        return self.summary(transf=np.exp) if self._exponentiated() else self.summary()

    def _repr_html_(self) -> str:
        head, rows = self._coef_table()
        html = (f"<p><b>{self._header()}</b></p><p>" + "<br>".join(x for x in self._lines() if x) + "</p>"
                + fmt.html_table(head, rows, caption="Model results (analysis scale)"))
        if self._exponentiated():
            frame = self.to_frame(transf=np.exp)
            rows_t = [[str(name), fmt.format_number(r.estimate), fmt.format_number(r.ci_lower),
                       fmt.format_number(r.ci_upper)] for name, r in frame.iterrows()]
            html += fmt.html_table(["", "estimate", "ci.lb", "ci.ub"], rows_t, caption="Exponentiated coefficients")
        return html


# --------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------

def _weighted_adj_r2(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Adjusted R² of the weighted least-squares fit (weights 1/v), as R's ``summary(lm())``."""
    w = 1 / vi
    k, p = X.shape
    Xw = X * w[:, None]
    b = np.linalg.solve(X.T @ Xw, Xw.T @ yi)
    f = X @ b
    r = yi - f
    m = np.sum(w * f) / np.sum(w)
    mss = np.sum(w * (f - m) ** 2)
    rss = np.sum(w * r ** 2)
    if mss + rss == 0 or k - p <= 0:
        return 0.0
    r2 = mss / (mss + rss)
    return float(1 - (1 - r2) * (k - 1) / (k - p))


def _prepare(yi: Any, vi: Any, sei: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, list[str] | None, str | None,
                                                               pd.DataFrame | None]:
    frame = None
    measure = None
    if isinstance(yi, pd.DataFrame):
        frame, measure, labels = effect_frame(yi, vi, sei, labels)
        yi, vi = frame["yi"].to_numpy(dtype=float), frame["vi"].to_numpy(dtype=float)
    y, v, lab = effect_inputs(yi, vi, sei, labels)
    return y, v, lab, measure, frame


def fit_regression(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, names: list[str], *, method: str, test: str,
                   level: float, labels: tuple[str, ...], intercept: bool, tau2: float | None = None,
                   measure: str | None = None, r2: bool = True, control: Control | None = None,
                   omitted: tuple[str, ...] = (), formula: str | None = None) -> MetaRegressionResult:
    """Fit a meta-regression on a checked design matrix (internal; see :func:`meta_regression`)."""
    k, p = X.shape
    random = method not in ("EE", "FE")
    need = p + 1 if random and tau2 is None else p
    if k < need:
        extra = " and tau²" if need > p else ""
        raise DataError(f"{k} studies are too few to estimate {p} coefficients{extra} "
                        f"({', '.join(names)}); need at least {need}", field="mods")
    if test == "knha" and k <= p:
        raise DataError(f"test='knha' needs more studies ({k}) than coefficients ({p})", field="test")
    ctl = DEFAULT_CONTROL if control is None else control
    fa = fit_arrays(yi, vi, method=method, test=test, level=level, X=X, tau2=tau2, control=ctl)
    btt = list(range(1, p)) if intercept and p > 1 else list(range(p))
    m = len(btt)
    from mgmeta.engine import wald_qm

    with np.errstate(divide="ignore", invalid="ignore"):
        qm = float(wald_qm(fa.beta, fa.vb, np.asarray(btt)))
    df = k - p
    if test == "knha":
        qm = qm / m
        qm_p = float(special.fdtrc(m, df, qm)) if df > 0 else float("nan")
    else:
        qm_p = float(special.chdtrc(m, qm))
    r2_val: float | None = None
    if r2 and intercept and p > 1:
        if random:
            f0 = fit_arrays(yi, vi, method=method, test=test, level=level, raise_on_failure=False, control=ctl)
            if not bool(f0.converged):
                warnings.warn("R² not available: the intercept-only model did not converge", MgmetaWarning,
                              stacklevel=3)
            else:
                t0 = float(f0.tau2)
                r2_val = 0.0 if t0 == 0 else max(0.0, 100 * (t0 - float(fa.tau2)) / t0)
        else:
            r2_val = 0.0 if np.var(yi) == 0 else max(0.0, 100 * _weighted_adj_r2(yi, vi, X))
    if random and tau2 is None:
        se_tau2: float | None = float(fa.se_tau2)
    elif random:
        assert tau2 is not None
        se_tau2 = se_tau2_fixed(method, yi, vi, tau2, X, control=ctl)      # as metafor
    else:
        se_tau2 = None
    return MetaRegressionResult(
        coef=np.asarray(fa.beta, float), se=np.asarray(fa.se, float), statistic=np.asarray(fa.statistic, float),
        pvalue=np.asarray(fa.pvalue, float), ci_lower=np.asarray(fa.ci_lower, float),
        ci_upper=np.asarray(fa.ci_upper, float), names=tuple(names), vb=np.asarray(fa.vb, float), qm=qm,
        qm_pvalue=qm_p, qm_df=m, df=df if test == "knha" else None, qe=float(fa.q), qe_pvalue=float(fa.q_pvalue),
        tau2=float(fa.tau2), se_tau2=se_tau2, i2=float(fa.i2), h2=float(fa.h2), r2=r2_val, k=k, p=p,
        method=method, test=test, level=level, yi=yi.copy(), vi=vi.copy(), X=X.copy(), labels=tuple(labels),
        intercept=intercept, tau2_fixed=tau2, btt=tuple(btt), measure=measure, iterations=int(fa.iterations),
        control=ctl, omitted=tuple(omitted), formula=formula)


def meta_regression(yi: Any = None, vi: Any = None, mods: Any = None, *, method: str = "REML", test: str = "z",
                    level: float = 0.95, labels: Any = None, sei: Any = None, intercept: bool = True,
                    data: pd.DataFrame | None = None, tau2: float | None = None, na_action: str = "fail",
                    control: Any = None) -> MetaRegressionResult:
    """Meta-regression: a mixed-effects model with moderators, as metafor's ``rma(yi, vi, mods = ...)``.

    Parameters
    ----------
    yi : array_like, shape (k,), or DataFrame
        Effect sizes (analysis scale), or the frame of
        :func:`mgmeta.effect_sizes` (then ``vi`` is taken from it).
    vi : array_like, shape (k,)
        Sampling variances (or give ``sei``).
    mods : str (formula), DataFrame, mapping, Series or array_like
        The moderators, one row per study: a formula such as
        ``"~ ablat + year"``, ``"~ factor(alloc) - 1"`` or ``"~ ablat * year"``
        evaluated on ``data`` (or on the effect-size frame), with metafor's
        coefficient names (``intrcpt``, ``factor(alloc)random``; see
        :mod:`mgmeta.formula`); or a DataFrame or a mapping
        ``{name: values}`` (columns in that order), a Series or a 1-D array
        (one moderator), a 2-D array (columns ``mod1, mod2, ...``), or a
        string / list of strings naming columns of ``data`` (or of the
        effect-size frame). Numeric columns enter as they are; categorical
        columns (pandas categorical, strings, bool) are expanded to indicators
        ``name[level]``, the first level being the reference.
    method : {"REML", "EE", "FE", "DL", "ML", "PM", "HE", "SJ", "HS", "EB", "HSk", "PMM", "SJIT", "DLIT", "CE", "MP"}
        tau² estimator of the residual heterogeneity; "EE" (alias "FE", and
        metafor's "CE") fits the fixed-effects model with moderators; "MP" is
        "PM" (see :func:`mgmeta.estimators.estimate_tau2`).
    test : {"z", "knha"}
        Wald z and chi² tests, or Hartung-Knapp t tests (k - p df) and an F
        test for the moderators.
    level : float
        Confidence level (0.95; 95 is accepted too).
    labels : sequence of str, optional
    sei : array_like, optional
        Standard errors instead of ``vi``.
    intercept : bool
        Add an intercept (default). Without it, QM tests every coefficient.
    data : DataFrame, optional
        Where string arguments and formulas name columns; Series arguments
        are matched to its rows by index.
    tau2 : float, optional
        Fix the residual tau² instead of estimating it.
    na_action : {"fail", "omit"}
        A study with a missing value (yi, vi or a moderator) raises, or is
        left out with a warning ("omit"; listed in ``omitted``).
    control : dict, optional
        Convergence settings (``threshold``, ``tol``, ``maxiter``,
        ``stepadj``, ``tau2_init``), as metafor's ``control``.

    Returns
    -------
    MetaRegressionResult

    Raises
    ------
    DataError
        Invalid yi/vi; a missing or non-numeric moderator value; a constant
        moderator; a rank-deficient design; k too small for the number of
        coefficients (k >= p + 1 for random-effects models, k >= p for EE).
    ConvergenceError
        The tau² estimator did not converge.

    Notes
    -----
    With W = diag(1/(v_i + tau²)): b = (X'WX)^-1 X'Wy, Var(b) = (X'WX)^-1
    (times s²_w = sum w_i e_i² / (k - p) for Hartung-Knapp). QM = b_2' V_22^-1
    b_2 over the moderator coefficients (divided by their number m for the F
    test with (m, k - p) df). QE = sum (y_i - x_i'b_EE)² / v_i with k - p df.
    Pseudo R² = max(0, 100 (tau²_0 - tau²) / tau²_0) (Raudenbush 2009).

    References
    ----------
    Thompson SG, Higgins JPT (2002). doi:10.1002/sim.1187
    Viechtbauer W (2010). doi:10.18637/jss.v036.i03

    Examples
    --------
    BCG vaccine trials: log risk ratio against absolute latitude.

    >>> import mgmeta
    >>> from mgmeta.analyses import meta_regression
    >>> yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713,
    ...       -0.3394, 0.4459, -0.0173]
    >>> vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124,
    ...       0.5325, 0.0714]
    >>> ablat = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
    >>> fit = meta_regression(yi, vi, {"ablat": ablat})
    >>> fit.names
    ('intrcpt', 'ablat')
    >>> round(float(fit.coef[1]), 3)
    -0.029
    """
    from mgmeta.formula import formula_design, formula_missing, is_formula

    check_choice(method, METHODS + tuple(m for m in MORE_METHODS if m != "GENQ") + tuple(ALIASES), "method")
    method = ALIASES.get(method, method)
    check_choice(test, TESTS, "test")
    lev = check_level(level)
    na_action = check_na_action(na_action)
    ctl = check_control(control)
    check_data(data)
    if mods is None:
        raise DataError("give the moderators in mods (for an intercept-only model use mgmeta.meta_analysis)",
                        field="mods")
    yi, data = effects_or_data(yi, data)
    measure = None
    if isinstance(yi, pd.DataFrame):                      # a frame from effect_sizes()
        frame, measure, labels = effect_frame(yi, vi, sei, labels)
        if data is not None:
            if not (frame.index.is_unique and data.index.is_unique and frame.index.isin(data.index).all()):
                raise DataError("data= does not match the rows of the effect-size frame by index; give one "
                                "frame (effect_sizes(..., data=df) keeps every column of df)", field="data")
            data = data.loc[frame.index]
        src = data if data is not None else frame
        g = gather({"yi": frame["yi"], "vi": frame["vi"], "labels": labels}, src if src is frame else None)
    else:
        src = data
        g = gather({"yi": yi, "vi": vi, "sei": sei, "labels": labels}, data)
    lab_raw = g.columns.pop("labels", None)
    k = g.k
    if k == 0:
        raise DataError("empty input: yi contains no studies", field="yi")
    lab = resolve_labels(lab_raw, k) if lab_raw is not None else None
    formula = None
    checks = dict(g.columns)
    if is_formula(mods):
        if src is None:
            raise DataError(f"mods={mods!r} is a formula: give the data frame with its variables (data=)",
                            field="mods")
        formula = str(mods).strip()
        mod_frame = src.reset_index(drop=True)
        for name, miss in formula_missing(formula, mod_frame).items():
            checks[f"mods ({name})"] = np.where(miss, np.nan, 0.0)
    else:
        if isinstance(mods, str) or (isinstance(mods, (list, tuple)) and mods and
                                     all(isinstance(m, str) for m in mods)):
            names_ = [mods] if isinstance(mods, str) else list(mods)
            if src is None:
                raise DataError(f"mods={mods!r} names columns, but no data frame was given (data=)",
                                field="mods")
            mods = pd.DataFrame({n: _col(src, n, "mods") for n in names_})
        elif isinstance(mods, (pd.DataFrame, pd.Series)) and g.index is not None:
            mods = _aligned_mods(mods, g.index, "data" if data is not None else "yi")
        for name, col in _columns(mods, k):
            if len(col) == k:
                checks[f"mods ({name})"] = col.to_numpy(dtype=object)
    keep, omitted = omit_missing(checks, na_action, lab, k)
    if lab is not None:
        lab = [x for x, k_ in zip(lab, keep) if k_]
    kept = {n: a[keep] for n, a in g.columns.items()}
    y, v, lab = effect_inputs(kept.get("yi"), kept.get("vi"), kept.get("sei"), lab)
    if tau2 is not None:
        tau2 = float(tau2)
        if not np.isfinite(tau2) or tau2 < 0:
            raise DataError(f"tau2 must be a finite non-negative number, got {tau2!r}", field="tau2")
    k = len(y)
    if formula is not None:
        if not intercept:
            raise DataError("with a formula, remove the intercept in the formula (~ x - 1), not with "
                            "intercept=False", field="intercept")
        X, names, intercept = formula_design(formula, mod_frame.loc[keep])
        _check_rank(X, names, field="mods")
    else:
        if not keep.all():
            mods = _subset_mods(mods, keep)
        X, names = design_matrix(mods, k, intercept=intercept, labels=lab)
    labels_t = tuple(lab) if lab is not None else tuple(str(i + 1) for i in np.flatnonzero(keep))
    return fit_regression(y, v, X, names, method=method, test=test, level=lev, labels=labels_t,
                          intercept=intercept, tau2=tau2, measure=measure, control=ctl, omitted=omitted,
                          formula=formula)


def _aligned_mods(mods: pd.DataFrame | pd.Series, index: pd.Index, what: str) -> pd.DataFrame | pd.Series:
    """Moderators given as a Series or DataFrame are matched to the studies by index."""
    from mgmeta._inputs import _align

    if isinstance(mods, pd.Series):
        return _align("mods", mods, index, f"the index of {what}")
    if mods.index.equals(index):
        return mods
    cols = {c: _align(f"mods[{c!r}]", mods[c], index, f"the index of {what}") for c in mods.columns}
    return pd.DataFrame(cols, index=index)


def _subset_mods(mods: Any, keep: np.ndarray) -> Any:
    if isinstance(mods, (pd.DataFrame, pd.Series)):
        return mods.iloc[np.flatnonzero(keep)]
    if isinstance(mods, Mapping):
        return {n: (v.iloc[np.flatnonzero(keep)] if isinstance(v, pd.Series) else np.asarray(v, dtype=object)[keep])
                for n, v in mods.items()}
    if isinstance(mods, pd.Categorical):
        return mods[keep]
    return np.asarray(mods)[keep]


def _check_rank(X: np.ndarray, names: list[str], field: str | None = None) -> None:
    """Name the first column that adds nothing to those before it (``field``: the error's field, by default
    the moderator that column comes from)."""
    scale = np.where(np.abs(X).max(0) > 0, np.abs(X).max(0), 1.0)
    Xs = X / scale
    for j in range(X.shape[1]):
        if np.linalg.matrix_rank(Xs[:, : j + 1]) < j + 1:
            raise DataError(f"the design is rank-deficient: column {names[j]!r} is a linear combination of "
                            f"{', '.join(repr(n) for n in names[:j]) or 'nothing (all zero)'}; drop or "
                            "recode a moderator", field=names[j].split("[")[0] if field is None else field)


def _col(frame: pd.DataFrame, name: str, arg: str) -> np.ndarray:
    if name not in frame.columns:
        raise DataError(f"argument {arg}: {name!r} names no column of the data (columns: "
                        f"{', '.join(map(str, frame.columns))})", field=arg)
    col = frame[name]
    return col.to_numpy(copy=True) if not isinstance(col.dtype, pd.CategoricalDtype) else col.copy()


# --------------------------------------------------------------------------
# permutation tests
# --------------------------------------------------------------------------

def _multiset_count(groups: np.ndarray) -> int:
    _, counts = np.unique(groups, return_counts=True)
    total = math.factorial(len(groups))
    for c in counts:
        total //= math.factorial(int(c))
    return total


def _multiset_permutations(groups: np.ndarray, chunk: int) -> Iterator[np.ndarray]:
    """Every distinct arrangement of the integer labels ``groups``, in lexicographic order, in chunks."""
    a = np.sort(groups).tolist()
    n = len(a)
    buf: list[list[int]] = []
    while True:
        buf.append(list(a))
        if len(buf) == chunk:
            yield np.array(buf)
            buf = []
        # next permutation (Narayana Pandita)
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            break
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1:] = reversed(a[i + 1:])
    if buf:
        yield np.array(buf)


def permutation_distribution(yi: np.ndarray, vi: np.ndarray, X: np.ndarray | None, *, method: str, test: str,
                             level: float, btt: list[int], tau2: float | None = None,
                             rows: np.ndarray | None = None, signs: np.ndarray | None = None,
                             control: Control | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Test statistics of a batch of permuted fits (the engine of :func:`permutation_test`).

    Either ``rows`` (n, k): for each permutation, the design row given to
    each study (``X[rows[b]]``, the rows of the design permuted against the
    data, as metafor's ``permutest()`` for meta-regressions); or ``signs``
    (n, k) of ±1 for an intercept-only model (``X`` None), multiplying the
    effects.

    Returns
    -------
    (statistic, qm)
        Shapes (n, p) and (n,); NaN where the fit did not converge.
    """
    k = yi.shape[0]
    if rows is not None and signs is None and X is not None:
        n = rows.shape[0]
        # Study i meets design row X[rows[b, i]]: the same fit as the design's rows in a fixed order meeting
        # the studies in the inverse order, so one design serves the whole batch (see permuted_data).
        Xb, y, v, _ = permuted_data(yi, vi, X, rows)
    elif signs is not None and rows is None:
        n = signs.shape[0]
        Xb = None
        y = signs * yi[None, :]
        v = np.broadcast_to(vi, (n, k))
    else:
        raise ValueError("give either rows (with X) or signs")
    fa = fit_arrays(y, v, method=method, test=test, level=level, X=Xb, tau2=tau2, raise_on_failure=False,
                    control=control)
    from mgmeta.engine import wald_qm

    ok = np.asarray(fa.converged, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        qm = wald_qm(fa.beta, fa.vb, np.asarray(btt))
    if test == "knha":
        qm = qm / len(btt)
    stat = np.where(ok[:, None], fa.statistic, np.nan)
    return stat, np.where(ok, qm, np.nan)


def _permutation_kernel(payload: Mapping[str, Any], chunk: Any) -> dict[str, np.ndarray]:
    """One chunk of permuted fits for :func:`mgmeta.engine.run_chunks` (rows or signs per item)."""
    s, q = permutation_distribution(payload["yi"], payload["vi"], payload["X"], method=payload["method"],
                                    test=payload["test"], level=payload["level"], btt=payload["btt"],
                                    tau2=payload["tau2"], rows=chunk.items.get("rows"),
                                    signs=chunk.items.get("signs"), control=payload["control"])
    return {"statistic": s, "qm": q}


def permutation_test(res: Any, n: int = 1000, seed: int | None = None,
                     exact: bool | None = None, n_jobs: int | None = None) -> PermutationTestResult:
    """Permutation tests of a fitted model, as metafor's ``permutest()``.

    Parameters
    ----------
    res : MetaRegressionResult or MetaAnalysisResult
        For a meta-regression, the rows of the design matrix are permuted
        against (yi, vi); for an intercept-only model the signs of the yi
        are flipped.
    n : int
        Number of random permutations (the first one is the observed data).
    seed : int, optional
        Seed of numpy's random generator (random permutations only).
    exact : bool, optional
        Evaluate every distinct permutation. Default (None): exactly when
        their number is at most ``n``, as metafor.
    n_jobs : int, optional
        Local threads for the permuted fits (None or -1: one per available
        core, as :func:`mgmeta.engine.run_chunks`); the results do not
        depend on it.

    Returns
    -------
    PermutationTestResult

    Notes
    -----
    The p-value of coefficient j is the share of permutations with
    |z*_j| >= |z_j| - tol, that of the omnibus test the share with
    QM* >= QM - tol (tol = sqrt(machine epsilon), metafor's ``comptol``);
    with ``test="knha"`` the t and F statistics take their place. All
    permuted models are fitted as batches of permuted design matrices by
    :func:`mgmeta.models.fit_arrays`, in chunks that bound memory, run by
    the engine (:func:`mgmeta.engine.run_chunks`) on ``n_jobs`` threads. Random
    permutations differ from R's (another random generator), exact tests
    agree with metafor to the last digit.

    References
    ----------
    Follmann DA, Proschan MA (1999). Valid inference in random effects
    meta-analysis. Biometrics 55(3):732-737. doi:10.1111/j.0006-341X.1999.00732.x

    Higgins JPT, Thompson SG (2004). doi:10.1002/sim.1752
    """
    n = int(n)
    if n < 2:
        raise DataError(f"n must be at least 2, got {n}", field="n")
    if isinstance(res, MetaRegressionResult):
        yi, vi, X, k = res.yi, res.vi, res.X, res.k
        btt = list(res.btt)
        stat_obs, qm_obs, names = res.statistic, res.qm, res.names
        method, test, level, tau2 = res.method, res.test, res.level, res.tau2_fixed
        _, groups = np.unique(X, axis=0, return_inverse=True)
        groups = np.asarray(groups).reshape(-1)
        count = _multiset_count(groups)
        intercept_only = False
    elif isinstance(res, MetaAnalysisResult):
        from mgmeta.analyses.sensitivity import fixed_tau2
        check_standard_fit(res, "permutation_test")
        yi, vi, X, k = res.yi, res.vi, None, res.k
        btt = [0]
        stat_obs = np.array([res.statistic])
        qm_obs = float(res.statistic ** 2)
        names = ("intrcpt",)
        method, test, level, tau2 = res.method, res.test, res.level, fixed_tau2(res)
        count = 2 ** k
        intercept_only = True
        if k < 2:
            raise DataError("a permutation test needs at least 2 studies", field="res")
    else:
        raise DataError(f"permutation_test needs a fitted model, got {type(res).__name__}", field="res")
    ctl = getattr(res, "control", None)
    do_exact = bool(exact) or (exact is None and count <= n)
    if do_exact and count > 10_000_000:
        raise DataError(f"an exact test needs {count} permutations; too many (use exact=False)", field="exact")
    p = len(stat_obs)
    draw = max(1, min(_CHUNK_ELEMENTS // (k * k), 20_000))
    batch = max(1, min(_BATCH_ELEMENTS // k, 20_000))
    stats_l: list[np.ndarray] = []
    qm_l: list[np.ndarray] = []

    from mgmeta.engine import chunk_size_for, even_chunk_size, run_chunks

    def run(rows: np.ndarray | None = None, signs: np.ndarray | None = None, design: Any = X) -> None:
        items: dict[str, np.ndarray] = {"rows": rows} if rows is not None else {"signs": np.asarray(signs)}
        m = len(next(iter(items.values())))
        payload = {"yi": yi, "vi": vi, "X": design, "method": method, "test": test, "level": level, "btt": btt,
                   "tau2": tau2, "control": ctl}
        # the permuted fits of a batch share one design (see permuted_data)
        cap = chunk_size_for(k) if design is None else chunk_size_for(k, design.shape[1], shared_design=True)
        out = run_chunks(_permutation_kernel, payload, m, chunk_size=even_chunk_size(m, cap, n_jobs), items=items,
                         progress=False, n_jobs=n_jobs, desc="permutations", unit="perm")
        stats_l.append(out["statistic"])
        qm_l.append(out["qm"])

    if do_exact:
        total = count
        if intercept_only:
            for start in range(0, count, batch):
                idx = np.arange(start, min(count, start + batch))
                bits = (idx[:, None] >> np.arange(k)[None, :]) & 1
                run(signs=np.where(bits == 1, -1.0, 1.0))
        else:
            # distinct arrangements of the design rows: position i gets unique row arr[i]
            uniq = np.unique(np.asarray(X), axis=0)
            for arr in _multiset_permutations(groups, batch):
                run(rows=arr, design=uniq)
    else:
        total = n
        rng = np.random.default_rng(seed)
        done = 0
        drawn: list[np.ndarray] = []
        while done < n:
            b = min(draw, n - done)
            if intercept_only:
                d = rng.choice(np.array([-1.0, 1.0]), size=(b, k))
                if done == 0:
                    d[0] = 1.0
            else:
                d = rng.permuted(np.tile(np.arange(k), (b, 1)), axis=1)
                if done == 0:
                    d[0] = np.arange(k)
            drawn.append(d)
            done += b
            if done >= n or sum(len(a) for a in drawn) + draw > batch:
                both = np.concatenate(drawn)
                drawn = []
                if intercept_only:
                    run(signs=both)
                else:
                    run(rows=both)
    zp = np.concatenate(stats_l, axis=0)
    qp = np.concatenate(qm_l, axis=0)
    if not do_exact:   # the first permutation is the observed data (metafor: avoids p = 0)
        zp[0] = stat_obs
        qp[0] = qm_obs
    bad = np.isnan(qp)
    if bad.any():
        warnings.warn(f"{int(bad.sum())} of {len(qp)} permuted fits did not converge and are left out",
                      MgmetaWarning, stacklevel=3)
    with np.errstate(invalid="ignore"):
        pv = np.array([np.nanmean(np.abs(zp[~np.isnan(zp[:, j]), j]) >= np.abs(stat_obs[j]) - COMPTOL)
                       for j in range(p)])
        qmp = float(np.mean(qp[~bad] >= qm_obs - COMPTOL))
    pv = np.minimum(pv, 1.0)
    return PermutationTestResult(pvalue=pv, qm_pvalue=qmp, statistic=np.asarray(stat_obs, float), qm=float(qm_obs),
                                 names=tuple(names), n=int(total), exact=do_exact, exact_count=int(count),
                                 statistic_perm=zp, qm_perm=qp, seed=seed)
