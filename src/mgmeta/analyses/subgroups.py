"""Subgroup analysis: a fit per subgroup and the test for subgroup differences.

Two conventions are reported side by side:

* **separate tau²** (RevMan, R meta's ``subgroup`` with ``tau.common = FALSE``):
  each subgroup is a meta-analysis of its own (own tau²), and the subgroup
  estimates are compared with Cochran's Q among them, weights 1/SE²,
  df = (number of subgroups) - 1;
* **common tau²** (metafor): the mixed-effects model
  ``rma(yi, vi, mods = ~ factor(group))`` with one residual tau², whose
  omnibus test of the group indicators (QM; an F test with Hartung-Knapp)
  is the test for subgroup differences.

References
----------
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to
Meta-Analysis, ch. 19. Wiley. doi:10.1002/9780470743386

Deeks JJ, Higgins JPT, Altman DG (2022). Analysing data and undertaking
meta-analyses, section 10.11.3. In Cochrane Handbook for Systematic Reviews of
Interventions, version 6.3.

Viechtbauer W (2010). doi:10.18637/jss.v036.i03
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mgmeta import _format as fmt
from mgmeta._validation import check_choice, check_level
from mgmeta.errors import ConvergenceError, DataError, MgmetaWarning
from mgmeta.estimators import METHODS
from mgmeta.models import TESTS, MetaAnalysisResult, meta_analysis

__all__ = ["subgroup_analysis", "SubgroupResult"]


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Fits per subgroup and the tests for subgroup differences.

    Attributes
    ----------
    table : DataFrame
        One row per subgroup (index ``group``, in level order): ``k estimate
        se statistic pvalue ci_lower ci_upper tau2 i2 h2 q q_pvalue test``
        (each subgroup fitted on its own; ``test`` is ``"z"`` for a
        one-study subgroup even with Hartung-Knapp, as metafor).
    fits : dict of str to MetaAnalysisResult
        The per-subgroup models.
    overall : MetaAnalysisResult
        The model of all studies.
    q_between, df, pvalue : float, int, float
        Test for subgroup differences with separate tau² per subgroup
        (RevMan / meta ``tau.common = FALSE``): Q among the subgroup
        estimates with weights 1/SE², chi² with (groups - 1) df.
    q_between_common, pvalue_common : float or None
        Test for subgroup differences in the mixed-effects model with a
        common tau² (metafor's QM): chi² with ``df_common`` df, or with
        ``test="knha"`` an F statistic with (``df_common``, ``df2_common``)
        df. None when that model cannot be fitted (too few studies).
    df_common : int or None
    df2_common : int or None
        Denominator df of the F test (``test="knha"``), else None.
    tau2_common : float or None
        The common (residual) tau².
    qe_common, qe_pvalue_common : float or None
        Residual heterogeneity test of the common-tau² model.
    q_within, df_within, pvalue_within : float, int, float
        Sum of the within-subgroup Q statistics, its df (sum of k_g - 1) and
        p-value.
    regression : MetaRegressionResult or None
        The common-tau² model.
    method, test : str
    level : float
    groups : tuple of str
        The subgroup levels, in order.
    group_of : ndarray of str
        The subgroup of each study (input order).
    omitted : tuple of str
        Studies left out for missing values (``na_action="omit"``).
    """

    table: pd.DataFrame
    fits: dict[str, MetaAnalysisResult] = field(repr=False)
    overall: MetaAnalysisResult = field(repr=False)
    q_between: float
    df: int
    pvalue: float
    q_between_common: float | None
    df_common: int | None
    df2_common: int | None
    pvalue_common: float | None
    tau2_common: float | None
    qe_common: float | None
    qe_pvalue_common: float | None
    q_within: float
    df_within: int
    pvalue_within: float
    regression: Any = field(repr=False)
    method: str
    test: str
    level: float
    groups: tuple[str, ...]
    group_of: np.ndarray = field(repr=False)
    omitted: tuple[str, ...] = ()

    @property
    def results(self) -> dict[str, MetaAnalysisResult]:
        """The per-subgroup models (same as ``fits``)."""
        return self.fits

    def to_frame(self, transf: Any = None, exp: bool = False) -> pd.DataFrame:
        """The per-subgroup table (see ``table``).

        ``transf`` (a function) or ``exp=True`` (ratio measures) transform
        ``estimate`` and the limits for display; ``se`` is then left out.
        """
        from mgmeta._transf import resolve_transf, transform_frame
        fn = resolve_transf(transf, exp, self.overall.measure)
        return transform_frame(self.table.copy(), ("estimate", "ci_lower", "ci_upper"), fn)

    def tests_frame(self) -> pd.DataFrame:
        """The tests for subgroup differences: one row per convention (``statistic df df2 pvalue``)."""
        rows = [{"convention": "separate_tau2", "statistic": self.q_between, "df": self.df, "df2": None,
                 "pvalue": self.pvalue}]
        if self.q_between_common is not None:
            rows.append({"convention": "common_tau2", "statistic": self.q_between_common, "df": self.df_common,
                         "df2": self.df2_common, "pvalue": self.pvalue_common})
        return pd.DataFrame(rows).set_index("convention")

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        head = ["group", "k", "estimate", "se", "ci.lb", "ci.ub", "tau^2", "I^2", "Q"]
        rows = [[str(g), str(int(r.k)), fmt.format_number(r.estimate), fmt.format_number(r.se),
                 fmt.format_number(r.ci_lower), fmt.format_number(r.ci_upper), fmt.format_number(r.tau2),
                 f"{r.i2:.1f}%", fmt.format_number(r.q)] for g, r in self.table.iterrows()]
        return head, rows

    def _test_lines(self) -> list[str]:
        out = [f"Test for subgroup differences (separate tau^2): Q = {self.q_between:.4f}, df = {self.df}, "
               f"p-val = {fmt.format_pvalue(self.pvalue)}"]
        if self.q_between_common is not None:
            if self.df2_common is not None:
                out.append(f"Test for subgroup differences (common tau^2):   F(df1 = {self.df_common}, df2 = "
                           f"{self.df2_common}) = {self.q_between_common:.4f}, "
                           f"p-val = {fmt.format_pvalue(float(self.pvalue_common or 0.0))}")
            else:
                out.append(f"Test for subgroup differences (common tau^2):   QM = {self.q_between_common:.4f}, "
                           f"df = {self.df_common}, p-val = {fmt.format_pvalue(float(self.pvalue_common or 0.0))}")
        return out

    def summary(self, transf: Any = None, exp: bool = False) -> str:
        """The printout, with transformed subgroup estimates when ``transf`` or ``exp=True`` is given.

        ``str(res)`` is ``res.summary()``; for ratio measures it adds the
        exponentiated estimates.
        """
        from mgmeta._transf import resolve_transf
        fn = resolve_transf(transf, exp, self.overall.measure)
        head, rows = self._rows()
        model = "Random-effects" if self.method not in ("EE", "FE") else "Equal-effects"
        out = [f"Subgroup analysis ({model} model per subgroup; tau^2 estimator: {self.method})", "",
               fmt.text_table(head, rows), ""]
        if fn is not None:
            frame = self.to_frame(transf=fn)
            label = "exp" if fn is np.exp else getattr(fn, "__name__", "transf")
            rows_t = [[str(g), fmt.format_number(r.estimate), fmt.format_number(r.ci_lower),
                       fmt.format_number(r.ci_upper)] for g, r in frame.iterrows()]
            out += [f"Transformed estimates ({label}):", fmt.text_table(["group", "estimate", "ci.lb", "ci.ub"],
                                                                        rows_t), ""]
        out += self._test_lines()
        if self.omitted:
            out += [f"Omitted for missing values: {', '.join(self.omitted)}"]
        return "\n".join(out) + "\n"

    def __str__(self) -> str:
        from mgmeta._transf import RATIO
        return self.summary(exp=self.overall.measure in RATIO)

    def _repr_html_(self) -> str:
        head, rows = self._rows()
        return fmt.html_table(head, rows, caption="Subgroups (analysis scale)") + \
            "<p>" + "<br>".join(self._test_lines()) + "</p>"


def _levels(values: np.ndarray, categories: list[Any] | None) -> list[Any]:
    present = set(values)
    if categories is not None:
        return [c for c in categories if c in present]
    try:
        return sorted(present)
    except TypeError:
        return sorted(present, key=str)


def _categories(groups: Any, src: pd.DataFrame | None) -> list[Any] | None:
    """The category order of a categorical ``groups`` (a column, Series or Categorical), else None."""
    if isinstance(groups, str) and src is not None and groups in src.columns:
        groups = src[groups]
    if isinstance(groups, pd.Series) and isinstance(groups.dtype, pd.CategoricalDtype):
        return list(groups.cat.categories)
    if isinstance(groups, pd.Categorical):
        return list(groups.categories)
    return None


def subgroup_analysis(yi: Any = None, vi: Any = None, groups: Any = None, *, method: str = "REML", test: str = "z",
                      level: float = 0.95, labels: Any = None, sei: Any = None,
                      data: pd.DataFrame | None = None, na_action: str = "fail",
                      control: Any = None) -> SubgroupResult:
    """Subgroup analysis with the test for subgroup differences.

    Parameters
    ----------
    yi : array_like, shape (k,), or DataFrame
        Effect sizes (analysis scale), or the frame of
        :func:`mgmeta.effect_sizes`.
    vi : array_like, shape (k,)
        Sampling variances (or give ``sei``).
    groups : array_like, Series or str
        The subgroup of each study (a column name of ``data`` or of the
        effect-size frame is accepted). A Series is matched to the studies by
        its index (never by position). Levels are ordered as the categories
        of a pandas categorical, else sorted.
    method : str
        tau² estimator, for each subgroup and for the common-tau² model.
    test : {"z", "knha"}
        Test of each subgroup's estimate and of the common-tau² model.
    level : float
        Confidence level.
    labels : sequence of str, optional
    sei : array_like, optional
    data : DataFrame, optional
        Where string arguments name columns; Series are matched by index.
    na_action : {"fail", "omit"}
        Studies with a missing yi, vi or subgroup raise, or are left out
        with a warning ("omit").
    control : dict, optional
        Convergence settings of every fit (metafor's ``control``).

    Returns
    -------
    SubgroupResult
        ``q_between``, ``df``, ``pvalue`` (separate tau²) and
        ``q_between_common``, ``pvalue_common`` (common tau², metafor), the
        per-subgroup ``table`` and ``fits``, and the ``overall`` model.

    Raises
    ------
    DataError
        Fewer than two subgroups, a missing subgroup, invalid yi/vi.

    Notes
    -----
    Separate tau²: Q_between = sum_g w_g (mu_g - mu_w)², w_g = 1/SE_g²,
    mu_w = sum w_g mu_g / sum w_g, chi² with G - 1 df, where mu_g and SE_g
    come from the subgroup's own model (a subgroup of one study has tau² = 0;
    with ``test="knha"`` the SEs are the Hartung-Knapp ones). Common tau²:
    the Wald test of the G - 1 group indicators in the mixed-effects model
    (F with (G - 1, k - G) df for ``test="knha"``).

    References
    ----------
    Borenstein M, et al. (2009). Introduction to Meta-Analysis, ch. 19.
    doi:10.1002/9780470743386

    Examples
    --------
    >>> import mgmeta
    >>> from mgmeta.analyses import subgroup_analysis
    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01]
    >>> sub = subgroup_analysis(yi, vi, ["a", "a", "a", "b", "b", "b"], method="DL")
    >>> sub.df
    1
    """
    from mgmeta._inputs import check_data, check_na_action, effect_frame, effects_or_data, gather, omit_missing
    from mgmeta._validation import effect_inputs, resolve_labels
    from mgmeta.analyses.regression import design_matrix, fit_regression
    from mgmeta.control import check_control

    check_choice(method, METHODS, "method")
    check_choice(test, TESTS, "test")
    lev = check_level(level)
    na_action = check_na_action(na_action)
    ctl = check_control(control)
    check_data(data)
    if groups is None:
        raise DataError("give the subgroup of each study in groups", field="groups")
    yi, data = effects_or_data(yi, data)
    measure = None
    if isinstance(yi, pd.DataFrame):
        frame, measure, labels = effect_frame(yi, vi, sei, labels)
        src = data if data is not None else frame
        cats = _categories(groups, src)
        gth = gather({"yi": frame["yi"], "vi": frame["vi"], "groups": groups, "labels": labels}, src)
    else:
        cats = _categories(groups, data)
        gth = gather({"yi": yi, "vi": vi, "sei": sei, "groups": groups, "labels": labels}, data)
    lab_raw = gth.columns.pop("labels", None)
    if gth.k == 0:
        raise DataError("empty input: yi contains no studies", field="yi")
    lab0 = resolve_labels(lab_raw, gth.k) if lab_raw is not None else None
    keep, omitted = omit_missing(gth.columns, na_action, lab0, gth.k)
    cols = {n: a[keep] for n, a in gth.columns.items()}
    lab = [x for x, k_ in zip(lab0, keep) if k_] if lab0 is not None else None
    y, v, lab = effect_inputs(cols.get("yi"), cols.get("vi"), cols.get("sei"), lab)
    k = len(y)
    g = np.asarray(cols["groups"], dtype=object)
    levels = _levels(g, cats)
    if len(levels) < 2:
        raise DataError(f"a subgroup analysis needs at least two subgroups; all studies are in {levels[0]!r}",
                        field="groups")
    labels_t = list(lab) if lab is not None else [str(i + 1) for i in np.flatnonzero(keep)]
    fits: dict[str, MetaAnalysisResult] = {}
    singles = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MgmetaWarning)
        overall = meta_analysis(y, v, method=method, test=test, level=lev, labels=labels_t, measure=measure,
                                control=ctl)
        for lv in levels:
            m = g == lv
            if m.sum() == 1:
                singles.append(str(lv))
            fits[str(lv)] = meta_analysis(y[m], v[m], method=method, test=test, level=lev,
                                          labels=[labels_t[i] for i in np.flatnonzero(m)], measure=measure,
                                          control=ctl)
    if singles:
        extra = " and the z test" if test == "knha" else ""
        warnings.warn(f"subgroup{'s' if len(singles) > 1 else ''} {', '.join(repr(s) for s in singles)} "
                      f"{'have' if len(singles) > 1 else 'has'} a single study: tau² = 0{extra} there",
                      MgmetaWarning, stacklevel=2)
    table = pd.DataFrame({
        "k": [f.k for f in fits.values()], "estimate": [f.estimate for f in fits.values()],
        "se": [f.se for f in fits.values()], "statistic": [f.statistic for f in fits.values()],
        "pvalue": [f.pvalue for f in fits.values()], "ci_lower": [f.ci_lower for f in fits.values()],
        "ci_upper": [f.ci_upper for f in fits.values()], "tau2": [f.tau2 for f in fits.values()],
        "i2": [f.i2 for f in fits.values()], "h2": [f.h2 for f in fits.values()],
        "q": [f.q for f in fits.values()], "q_pvalue": [f.q_pvalue for f in fits.values()],
        "test": [f.test for f in fits.values()],
    }, index=pd.Index(list(fits), name="group"))
    est = table["estimate"].to_numpy(float)
    w = 1 / table["se"].to_numpy(float) ** 2
    mu = float(np.sum(w * est) / np.sum(w))
    q_b = float(np.sum(w * (est - mu) ** 2))
    df_b = len(levels) - 1
    q_w = float(table["q"].sum())
    df_w = int((table["k"] - 1).sum())
    p_w = float(stats.chi2.sf(q_w, df_w)) if df_w > 0 else 1.0
    reg = None
    try:
        X, names = design_matrix({"group": pd.Categorical(g, categories=levels)}, k, labels=labels_t)
        reg = fit_regression(y, v, X, names, method=method, test=test, level=lev, labels=tuple(labels_t),
                             intercept=True, measure=measure, r2=False, control=ctl)
    except (DataError, ConvergenceError) as err:
        warnings.warn(f"the common-tau² model cannot be fitted ({err}); only the separate-tau² test is given",
                      MgmetaWarning, stacklevel=2)
    return SubgroupResult(
        table=table, fits=fits, overall=overall, q_between=q_b, df=df_b, pvalue=float(stats.chi2.sf(q_b, df_b)),
        q_between_common=None if reg is None else reg.qm, df_common=None if reg is None else reg.qm_df,
        df2_common=None if reg is None or test != "knha" else reg.df,
        pvalue_common=None if reg is None else reg.qm_pvalue, tau2_common=None if reg is None else reg.tau2,
        qe_common=None if reg is None else reg.qe, qe_pvalue_common=None if reg is None else reg.qe_pvalue,
        q_within=q_w, df_within=df_w, pvalue_within=p_w, regression=reg, method=method, test=test, level=lev,
        groups=tuple(str(lv) for lv in levels), group_of=g.astype(str), omitted=omitted)
