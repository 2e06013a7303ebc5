"""Subgroup analysis: one fit per level and the tests for subgroup differences.

Three tests of whether the pooled effect differs between subgroups are
reported, because tools differ in which one they print:

* **separate tau2** (RevMan, Cochrane Handbook 10.11.3.1): each subgroup is
  pooled on its own (its own tau2); the subgroup estimates are then compared
  with a common-effect meta-analysis of them, whose Cochran Q on L - 1 df is
  the test (Borenstein et al. 2009, Introduction to Meta-Analysis, ch. 19,
  "Q between" with separate tau2);
* **mixed-effects** (metafor ``rma(mods = ~ factor(g))``): one meta-regression
  on the subgroup indicators with a common tau2; the Wald test QM of the
  L - 1 indicator coefficients (an F test with ``test="knha"``;
  Viechtbauer 2010, J Stat Softw 36(3), section 3.3);
* **fixed-effect** partition of Cochran's Q: Q_between = QM of the
  common-effect meta-regression, Q_within = its residual QE (Hedges & Olkin
  1985, Statistical Methods for Meta-Analysis, ch. 7, eq. 6-8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.errors import ArgumentError

__all__ = ["SubgroupResult", "ModeratorTest", "subgroups"]


@dataclass
class ModeratorTest:
    """A test for subgroup differences.

    Attributes
    ----------
    name : str
    statistic : float
        Chi-square (``df2`` None) or F statistic.
    df : int
        Numerator degrees of freedom (number of levels - 1).
    df2 : float or None
        Denominator df of an F test.
    p_value : float
    tau2 : float or None
        The tau2 the test assumed (common tau2 of the mixed model).
    """

    name: str
    statistic: float
    df: int
    df2: float | None
    p_value: float
    tau2: float | None = None

    def as_row(self) -> dict:
        return {
            "test": self.name,
            "statistic": self.statistic,
            "df": self.df,
            "df2": self.df2,
            "p_value": self.p_value,
            "tau2": self.tau2,
        }


@dataclass
class SubgroupResult:
    """The result of :func:`subgroups`.

    Attributes
    ----------
    moderator : str or None
    levels : list
        Subgroup levels in sorted order (the first is the reference level of
        the meta-regressions).
    fits : dict
        level -> :class:`~trialsynth.MetaResult` of that subgroup alone.
    between_separate : ModeratorTest
        Q between subgroups from the separate fits (RevMan's test).
    between_fit : MetaResult
        The common-effect fit to the subgroup estimates behind that test.
    mixed : ModeratorTest
        QM of the mixed-effects model with a common tau2.
    mixed_fit :
        The mixed-effects meta-regression (coefficients ``b``, ``se``,
        ``statistic``, ``p_value``, ``ci_low``, ``ci_high`` for the intercept
        and the L - 1 contrasts; ``tau2``, ``q`` (residual QE), ...).
    fixed_between, fixed_within : ModeratorTest
        The fixed-effect partition of Cochran's Q.
    fixed_fit :
        The common-effect meta-regression behind it.
    r2 : float
        Share of tau2 explained by the subgroups in the mixed model (percent,
        Raudenbush 2009), max(0, 100 (tau2_0 - tau2) / tau2_0), tau2_0 from the
        model without subgroups.
    fixed_r2 : float
        The same for the fixed-effect model, where tau2 is 0: the relative
        reduction of H2 = Q/df, max(0, 100 (H2_0 - H2) / H2_0) (what metafor
        reports as R2 for an EE meta-regression).
    """

    moderator: str | None
    levels: list
    fits: dict
    between_separate: ModeratorTest
    between_fit: object
    mixed: ModeratorTest
    mixed_fit: object
    fixed_between: ModeratorTest
    fixed_within: ModeratorTest
    fixed_fit: object
    r2: float
    fixed_r2: float
    method: str
    test: str
    level: float
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per subgroup: level, k, estimate, CI, PI, tau2, I2, Q and its p-value."""
        rows = []
        for lvl in self.levels:
            fit = self.fits[lvl]
            frame = fit.to_frame()
            frame.insert(0, "subgroup", lvl)
            if self.moderator is not None:
                frame.insert(0, "moderator", self.moderator)
            rows.append(frame)
        return pd.concat(rows, ignore_index=True)

    def tests_frame(self) -> pd.DataFrame:
        """The tests for subgroup differences, one row each."""
        return pd.DataFrame(
            [t.as_row() for t in (self.between_separate, self.mixed, self.fixed_between, self.fixed_within)]
        )

    def summary(self) -> "SummaryText":
        lines = [f"Subgroup analysis ({self.method}, test={self.test}), {len(self.levels)} subgroups"]
        for lvl in self.levels:
            fit = self.fits[lvl]
            lines.append(
                f"  {lvl}: k = {fit.k}, estimate = {fit.estimate:.4f} [{fit.ci_low:.4f}, {fit.ci_high:.4f}], "
                f"tau2 = {fit.tau2:.4f}, I2 = {fit.i2:.1f}%"
            )
        for t in (self.between_separate, self.mixed, self.fixed_between, self.fixed_within):
            df = f"{t.df}" if t.df2 is None else f"{t.df}, {t.df2:g}"
            lines.append(f"  {t.name}: {t.statistic:.4f} (df = {df}), p = {t.p_value:.4g}")
        from trialsynth.pooling.results import SummaryText

        return SummaryText("\n".join(lines))  # displays as text in Jupyter

    def __str__(self) -> str:
        return self.summary()


def _wald(fit, index: slice, test: str) -> tuple[float, int, float | None, float]:
    """Wald test that the coefficients ``index`` are all 0 (chi-square, or F under knha)."""
    b = np.asarray(fit.b)[index]
    vb = np.asarray(fit.vb)[index, index]
    m = b.size
    statistic = float(b @ np.linalg.solve(vb, b))
    if test == "z":
        return statistic, m, None, float(stats.chi2.sf(statistic, m))
    df2 = float(fit.k - fit.p)
    statistic /= m
    return statistic, m, df2, float(stats.f.sf(statistic, m, df2))


def subgroups(
    yi,
    vi=None,
    groups=None,
    *,
    sei=None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    labels=None,
    measure: str | None = None,
    moderator: str | None = None,
) -> SubgroupResult:
    """Subgroup analysis with the three common tests for subgroup differences.

    Parameters
    ----------
    yi, vi : array-like
        Effects and sampling variances (or ``sei``).
    groups : array-like
        The subgroup of each study (strings or codes; no missing values).
    method, test, level :
        Model of the per-subgroup fits and of the mixed-effects model
        (the fixed-effect partition always uses EE).
    labels : sequence of str, optional
    measure : str, optional
        Passed to the fits (for back-transformation).
    moderator : str, optional
        Name of the grouping variable, shown in frames.

    Returns
    -------
    SubgroupResult
    """
    from trialsynth.pooling.fit import fit_model, pool, validate_inputs

    y, v = validate_inputs(yi, vi, sei)
    if groups is None:
        raise ArgumentError("groups: give the subgroup of each study")
    g = pd.Series(np.asarray(groups, dtype=object).reshape(-1))
    if g.size != y.size:
        raise ArgumentError(f"groups has {g.size} values but yi has {y.size}; lengths must match")
    missing = np.flatnonzero(g.isna().to_numpy())
    if missing.size:
        raise ArgumentError(f"groups: missing subgroup at positions {missing.tolist()}")
    try:
        levels = sorted(g.unique().tolist())
    except TypeError:
        raise ArgumentError("groups: subgroup labels must be all numbers or all strings") from None
    if len(levels) < 2:
        raise ArgumentError(f"groups: a subgroup analysis needs at least 2 subgroups, got {levels}")
    k = y.size
    lab = [str(i + 1) for i in range(k)] if labels is None else [str(x) for x in labels]
    if len(lab) != k:
        raise ArgumentError(f"labels has {len(lab)} entries but yi has {k}; lengths must match")
    notes: list[str] = []

    fits = {}
    for lvl in levels:
        mask = (g == lvl).to_numpy()
        fits[lvl] = pool(
            y[mask], v[mask], method=method, test=test, level=level, measure=measure,
            labels=[lab[i] for i in np.flatnonzero(mask)], warn=False,
        )
        notes.extend(f"subgroup {lvl}: {w}" for w in fits[lvl].warnings)

    estimates = np.array([fits[lvl].estimate for lvl in levels])
    ses = np.array([fits[lvl].se for lvl in levels])
    between_fit = pool(estimates, sei=ses, method="EE", level=level, labels=[str(x) for x in levels], warn=False)
    between_separate = ModeratorTest(
        "between subgroups (separate tau2)", between_fit.q, between_fit.q_df, None, between_fit.q_p_value
    )

    X = np.column_stack([np.ones(k)] + [(g == lvl).to_numpy().astype(float) for lvl in levels[1:]])
    if k <= X.shape[1]:
        raise ArgumentError(
            f"groups: {len(levels)} subgroups need more than {len(levels)} studies in all for the "
            f"meta-regression tests, got k = {k}"
        )
    coefs = slice(1, X.shape[1])
    mixed_fit = fit_model(y, v, X, method=method, test=test, level=level)
    notes.extend(f"mixed-effects model: {w}" for w in mixed_fit.warnings)
    stat, df, df2, p = _wald(mixed_fit, coefs, mixed_fit.test)
    mixed = ModeratorTest("mixed-effects (common tau2)", stat, df, df2, p, tau2=float(mixed_fit.tau2))
    null_fit = fit_model(y, v, None, method=method, test=test, level=level)
    r2 = 0.0 if null_fit.tau2 <= 0 else max(0.0, 100 * (null_fit.tau2 - mixed_fit.tau2) / null_fit.tau2)

    fixed_fit = fit_model(y, v, X, method="EE", test="z", level=level)
    stat, df, df2, p = _wald(fixed_fit, coefs, "z")
    fixed_between = ModeratorTest("between subgroups (fixed effect)", stat, df, None, p, tau2=0.0)
    fixed_within = ModeratorTest(
        "within subgroups (fixed effect)", fixed_fit.q, fixed_fit.q_df, None, fixed_fit.q_p_value, tau2=0.0
    )
    h2_null = (fixed_fit.q + fixed_between.statistic) / (k - 1)
    h2_fixed = fixed_fit.q / fixed_fit.q_df
    fixed_r2 = max(0.0, 100 * (h2_null - h2_fixed) / h2_null) if h2_null > 0 else 0.0
    return SubgroupResult(
        moderator=moderator,
        levels=levels,
        fits=fits,
        between_separate=between_separate,
        between_fit=between_fit,
        mixed=mixed,
        mixed_fit=mixed_fit,
        fixed_between=fixed_between,
        fixed_within=fixed_within,
        fixed_fit=fixed_fit,
        r2=r2,
        fixed_r2=fixed_r2,
        method=method,
        test=test,
        level=float(level),
        warnings=notes,
    )
