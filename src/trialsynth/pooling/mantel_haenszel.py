"""Mantel-Haenszel and Peto pooling of 2x2 tables and of person-time data.

These common-effect estimators pool the *counts* directly instead of
inverse-variance weighting per-study effect sizes, so they stay defined when
studies have zero cells. They reproduce ``metafor::rma.mh`` and
``metafor::rma.peto`` (metafor 3.8) with their defaults.

Heterogeneity (``q``, ``i2``, ``h2``) is Cochran's Q of the per-study effect
sizes around the pooled MH (or Peto) estimate, Q = sum((y_i - b)^2/v_i), where
the per-study effect sizes are computed as ``escalc`` does by default for the
same measure: 1/2 is added to every cell of a study with a zero cell and
studies with no events (or only events) in both arms are left out
(``drop00``). For Peto, Q is Peto's heterogeneity statistic on the counts as
they are, sum(V_i (y_i - b)^2) with y_i = (O_i - E_i)/V_i (Yusuf et al. 1985),
while the stored per-study ``yi`` (for residuals and plots) is escalc's, with
1/2 added to zero-cell tables, as in metafor. The pooled estimate itself never
uses corrected counts.
I2 = max(0, (Q - df)/Q) and H2 = Q/df, df = k_yi - 1.

References
----------
Mantel N, Haenszel W (1959). Statistical aspects of the analysis of data from
retrospective studies of disease. J Natl Cancer Inst 22:719-748.
Robins J, Breslow N, Greenland S (1986). Estimators of the Mantel-Haenszel
variance consistent in both sparse data and large-strata limiting models.
Biometrics 42:311-323.
Greenland S, Robins JM (1985). Estimation of a common effect parameter from
sparse follow-up data. Biometrics 41:55-68.
Sato T, Greenland S, Robins JM (1989). On the variance estimator for the
Mantel-Haenszel risk difference. Biometrics 45:1323-1324.
Breslow NE, Day NE (1980). Statistical Methods in Cancer Research, Vol. I.
IARC Sci Publ 32, section 4.4.
Tarone RE (1985). On heterogeneity tests based on efficient scores.
Biometrika 72:91-95.
Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during
and after myocardial infarction: an overview of the randomized trials.
Prog Cardiovasc Dis 27:335-371.
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import MetaWarning

__all__ = ["MHResult", "pool_mh", "pool_peto"]

_TABLE_MEASURES = ("OR", "RR", "RD")
_RATE_MEASURES = ("IRR", "IRD")
_RATIO_MEASURES = ("OR", "RR", "IRR", "PETO")


@dataclass
class MHResult:
    """Result of a Mantel-Haenszel or Peto common-effect meta-analysis.

    Attribute names follow :class:`trialsynth.MetaResult`. Ratio measures
    (``OR``, ``RR``, ``IRR``, ``PETO``) are on the log scale; :meth:`exp` gives
    the back-transformed estimate and CI.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, statistic, p_value : float
        Pooled effect, its standard error, the Wald CI and z test.
    weights : ndarray
        Each study's share (percent) of the Mantel-Haenszel weights: b_i c_i/n_i
        (OR), c_i n1i/n_i (RR), n1i n2i/n_i (RD), x2i t1i/t_i (IRR),
        t1i t2i/t_i (IRD), or of the hypergeometric variances V_i (Peto).
    yi, vi, in_q : ndarray
        The per-study effects and variances as escalc's defaults give them (see
        the module notes; they are used for Q, and for the residuals); a study left
        out of Q (``in_q`` False: no events, or only events, in both arms) has no
        estimable effect and holds NaN. For Peto, Q uses (O-E)/V of the counts as
        they are, and ``yi`` has 1/2 added to the cells of a table with a zero cell.
    q, q_df, q_p_value, i2, h2 : float
        Cochran's Q of the per-study effects (k_yi - 1 df), its p-value,
        I2 = max(0, (Q - df)/Q) in percent and H2 = Q/df.
    k : int
        Number of studies given.
    k_yi : int
        Number of studies in Q (those with an estimable per-study effect).
    k_pos : int or None
        OR and Peto only: number of tables that are informative for the
        pooled odds ratio.
    cmh, cmh_p_value : float or None
        OR only: Cochran-Mantel-Haenszel test of no association (1 df), with
        Cochran's (1954) binomial variance and continuity correction 1/2
        (metafor's ``CO``).
    mh_test, mh_test_p_value : float or None
        OR: Mantel-Haenszel test (1 df) with the hypergeometric variance and
        continuity correction 1/2 (metafor's ``MH``). IRR: the analogous
        test on the events in arm 1 given the total events per study.
    correct : bool
        Whether the CMH and MH tests use the continuity correction 1/2.
    breslow_day, breslow_day_p_value, tarone, tarone_p_value : float or None
        OR only: Breslow-Day test of homogeneity of odds ratios and Tarone's
        corrected version, on ``k_pos - 1`` df.
    inputs : dict of ndarray
        The counts the model was fitted to (``events1, n1, events2, n2``, or
        ``events1, time1, events2, time2``), kept for :meth:`refit`.
    """

    measure: str
    method: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    q: float
    q_df: int
    q_p_value: float
    i2: float
    h2: float
    k: int
    k_yi: int
    k_pos: int | None = None
    level: float = 95.0
    cmh: float | None = None
    cmh_p_value: float | None = None
    mh_test: float | None = None
    mh_test_p_value: float | None = None
    breslow_day: float | None = None
    breslow_day_p_value: float | None = None
    tarone: float | None = None
    tarone_p_value: float | None = None
    labels: list[str] | None = None
    warnings: list[str] = field(default_factory=list)
    weights: np.ndarray | None = None
    yi: np.ndarray | None = None
    vi: np.ndarray | None = None
    in_q: np.ndarray | None = None
    tau2: float = 0.0
    tau: float = 0.0
    se_tau2: float | None = None
    pi_low: float = float("nan")
    pi_high: float = float("nan")
    test: str = "z"
    dfs: float | None = None
    profile: str | None = None
    correct: bool = True
    inputs: dict | None = None

    def refit(self, keep) -> MHResult:
        """The same model (method, measure, level, continuity correction) on a subset of studies.

        Parameters
        ----------
        keep : array-like of bool or int
            A mask of length ``k``, or the positions of the studies to keep (in the
            order given, which :func:`trialsynth.cumulative` uses).

        Returns
        -------
        MHResult
            Collected warnings are kept in its ``warnings``, not emitted.
        """
        if self.inputs is None:
            raise ArgumentError("refit: this result does not hold the counts it was fitted to")
        index = np.asarray(keep)
        if index.dtype == bool:
            if index.shape != (self.k,):
                raise ArgumentError(f"keep: expected a mask of {self.k} values, got shape {index.shape}")
            index = np.flatnonzero(index)
        index = index.astype(int)
        subset = {name: values[index] for name, values in self.inputs.items()}
        labels = None if self.labels is None else [self.labels[i] for i in index]
        if self.method == "Peto":
            return pool_peto(**subset, level=self.level, labels=labels, warn=False)
        return pool_mh(self.measure, **subset, level=self.level, labels=labels, correct=self.correct, warn=False)

    def residuals(self) -> np.ndarray:
        """Observed minus fitted: ``yi - estimate`` (NaN for a study left out of Q), as
        metafor's ``residuals(rma.mh)``."""
        return np.asarray(self.yi, float) - self.estimate

    def rstandard(self) -> pd.DataFrame:
        """Pearson (semi-standardised) residuals: ``resid``, ``se = sqrt(vi)``, ``z = resid/se``.

        For MH and Peto models metafor's ``rstandard`` gives these (its documentation
        says so): the residuals divided by the studies' sampling SEs, not by the SEs
        of the residuals.
        """
        resid = self.residuals()
        se = np.sqrt(np.asarray(self.vi, float))
        return pd.DataFrame({"label": self._labels(), "resid": resid, "se": se, "z": resid / se})

    def rstudent(self) -> pd.DataFrame:
        """Externally standardised (studentised deleted) residuals.

        Study i is left out and the model refitted (Viechtbauer & Cheung 2010, *Res
        Synth Methods* 1:112, eq. 11, with tau2 = 0): ``resid = yi - b(-i)``,
        ``se = sqrt(vi + se(-i)^2)``, ``z = resid/se``. A study left out of Q, or one
        whose removal leaves no estimable model, gets NaN (as metafor's ``rstudent``).
        """
        k = self.k
        resid, se = np.full(k, np.nan), np.full(k, np.nan)
        yi, vi = np.asarray(self.yi, float), np.asarray(self.vi, float)
        for i in range(k):
            if not np.isfinite(yi[i]) or k < 2:
                continue
            try:
                deleted = self.refit(np.arange(k) != i)
            except ArgumentError:
                continue
            resid[i] = yi[i] - deleted.estimate
            se[i] = math.sqrt(vi[i] + deleted.se**2)
        return pd.DataFrame({"label": self._labels(), "resid": resid, "se": se, "z": resid / se})

    def _labels(self) -> list[str]:
        return self.labels if self.labels is not None else [str(i + 1) for i in range(self.k)]

    def study_frame(self) -> pd.DataFrame:
        """Per study: label, yi and vi as used in Q (NaN for a study left out of Q), in_q, weight (%)."""
        return pd.DataFrame(
            {"label": self._labels(), "yi": self.yi, "vi": self.vi, "in_q": self.in_q, "weight": self.weights}
        )

    @property
    def is_ratio(self) -> bool:
        """True for ratio measures (estimate on the log scale)."""
        return self.measure in _RATIO_MEASURES

    def exp(self) -> dict[str, float]:
        """Back-transformed estimate and CI of a ratio measure."""
        if not self.is_ratio:
            raise ArgumentError(f"exp() is only defined for ratio measures, not measure={self.measure!r}")
        return {
            "estimate": float(np.exp(self.estimate)),
            "ci_low": float(np.exp(self.ci_low)),
            "ci_high": float(np.exp(self.ci_high)),
        }

    def to_frame(self) -> pd.DataFrame:
        """One tidy row with the pooled result and the tests."""
        row = {
            "method": self.method,
            "measure": self.measure,
            "k": self.k,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "q": self.q,
            "q_df": self.q_df,
            "q_p_value": self.q_p_value,
            "i2": self.i2,
            "h2": self.h2,
        }
        if self.is_ratio:
            back = self.exp()
            row.update({f"exp_{key}": value for key, value in back.items()})
        if self.measure == "OR" and self.method == "MH":
            row.update(
                {
                    "cmh": self.cmh,
                    "cmh_p_value": self.cmh_p_value,
                    "breslow_day": self.breslow_day,
                    "breslow_day_p_value": self.breslow_day_p_value,
                    "tarone": self.tarone,
                    "tarone_p_value": self.tarone_p_value,
                }
            )
        return pd.DataFrame([row])

    def summary(self) -> "SummaryText":
        """A short text summary."""
        name = "Mantel-Haenszel" if self.method == "MH" else "Peto"
        lines = [f"{name} common-effect model (k = {self.k}), measure {self.measure}", ""]
        lines.append(
            f"Heterogeneity: Q({self.q_df}) = {self.q:.4f}, p = {self.q_p_value:.4g}; "
            f"I^2 = {self.i2:.2f}%, H^2 = {self.h2:.4f}"
        )
        lines.append(
            f"estimate = {self.estimate:.4f}, se = {self.se:.4f}, z = {self.statistic:.4f}, "
            f"p = {self.p_value:.4g}, {self.level:g}% CI [{self.ci_low:.4f}, {self.ci_high:.4f}]"
        )
        if self.is_ratio:
            back = self.exp()
            lines.append(
                f"exp: {back['estimate']:.4f} [{back['ci_low']:.4f}, {back['ci_high']:.4f}]"
            )
        if self.cmh is not None:
            lines.append(f"Cochran-Mantel-Haenszel test: CMH = {self.cmh:.4f}, df = 1, p = {self.cmh_p_value:.4g}")
        if self.breslow_day is not None:
            lines.append(
                f"Breslow-Day test: X^2 = {self.breslow_day:.4f}, df = {self.k_pos - 1}, "
                f"p = {self.breslow_day_p_value:.4g}"
            )
            lines.append(
                f"Tarone's test: X^2 = {self.tarone:.4f}, df = {self.k_pos - 1}, p = {self.tarone_p_value:.4g}"
            )
        lines.extend(f"Note: {message}" for message in self.warnings)
        from trialsynth.pooling.results import SummaryText

        return SummaryText("\n".join(lines))  # displays as text in Jupyter

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return self.summary()


# ---------------------------------------------------------------- validation


def _as_counts(name: str, values, *, integer: bool = True) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name}: expected numbers, got {values!r}") from None
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size == 0:
        raise ArgumentError(f"{name}: expected at least one study, got an empty array")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(f"{name}: contains missing or infinite values at positions {np.flatnonzero(~np.isfinite(arr)).tolist()}")
    if np.any(arr < 0):
        raise ArgumentError(f"{name}: counts must be >= 0, got {arr[arr < 0].tolist()}")
    if integer and np.any(arr != np.round(arr)):
        raise ArgumentError(f"{name}: expected whole numbers (counts), got {arr[arr != np.round(arr)].tolist()}")
    return arr


def _check_lengths(**arrays: np.ndarray) -> int:
    lengths = {name: arr.size for name, arr in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ArgumentError(f"arrays must have the same length, got {lengths}")
    return next(iter(lengths.values()))


def _check_level(level: float) -> float:
    level = float(level)
    if level > 0 and level < 1:
        level *= 100
    if not 0 < level < 100:
        raise ArgumentError(f"level: expected a confidence level in (0, 100), got {level!r}")
    return level


def _tables(events1, n1, events2, n2):
    a = _as_counts("events1", events1)
    n1 = _as_counts("n1", n1)
    c = _as_counts("events2", events2)
    n2 = _as_counts("n2", n2)
    _check_lengths(events1=a, n1=n1, events2=c, n2=n2)
    if np.any(a > n1):
        raise ArgumentError(f"events1: more events than participants in n1 at positions {np.flatnonzero(a > n1).tolist()}")
    if np.any(c > n2):
        raise ArgumentError(f"events2: more events than participants in n2 at positions {np.flatnonzero(c > n2).tolist()}")
    if np.any(n1 == 0) or np.any(n2 == 0):
        raise ArgumentError("n1, n2: every arm needs at least one participant")
    return a, n1 - a, c, n2 - c


def _wald(estimate: float, se: float, level: float):
    """Wald CI and z test. With se = 0 (a zero Mantel-Haenszel variance) the CI is the
    point and z = estimate/0 is +-inf (p = 0) or, for a zero estimate, NaN (as metafor)."""
    crit = stats.norm.ppf(1 - (1 - level / 100) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = float(np.float64(estimate) / np.float64(se))
    p = float(2 * stats.norm.sf(abs(z))) if not math.isnan(z) else float("nan")
    return estimate - crit * se, estimate + crit * se, z, p


def _standard_error(var: float) -> float:
    """sqrt of a Mantel-Haenszel variance; a rounding residue just below 0 is 0."""
    if -1e-14 < var < 0:
        var = 0.0
    if not var >= 0:
        raise ArgumentError(f"events1, events2: the Mantel-Haenszel variance is negative ({var:.3g})")
    return float(math.sqrt(var))


def _zero_variance_note(measure: str, estimate: float) -> str:
    why = {
        "RD": "no events in any study, or every participant with the event",
        "RR": "every participant with the event in every study",
        "IRD": "no events in any study",
    }.get(measure, "the counts")
    return (
        f"the Mantel-Haenszel variance of the {measure} is 0 ({why}): se = 0, the CI is the "
        f"estimate {estimate:.4g} itself, and the z test is undefined (z = estimate/0; NaN when "
        "the estimate is 0)"
    )


def _heterogeneity(yi: np.ndarray, vi: np.ndarray, center: float):
    """Cochran's Q of per-study effects around the pooled (MH or Peto) estimate.

    Q = sum((y_i - center)^2 / v_i) on k_yi - 1 df, where ``center`` is the
    Mantel-Haenszel or Peto estimate (as metafor's rma.mh and rma.peto).
    """
    finite = np.isfinite(yi)
    yi, vi = yi[finite], vi[finite]
    k_yi = yi.size
    if k_yi < 2:
        return 0.0, 0, 1.0, 0.0, 1.0, k_yi
    q = float(np.sum((yi - center) ** 2 / vi))
    df = k_yi - 1
    q_p = float(stats.chi2.sf(q, df))
    i2 = 100 * max(0.0, (q - df) / q) if q > 0 else 0.0
    h2 = q / df
    return q, df, q_p, i2, h2, k_yi


def _escalc_2x2(measure: str, a, b, c, d, *, add_half: bool = True):
    """Per-study yi, vi as metafor's escalc defaults give them.

    1/2 is added to every cell of a study with a zero cell (``to="only0"``)
    unless ``add_half`` is False (Peto's heterogeneity statistic uses the
    counts as they are: (O-E)/V is finite at zero cells), and studies with
    zero events, or zero non-events, in both arms are dropped (``drop00=TRUE``).
    """
    keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
    k = a.size
    a, b, c, d = (x[keep].copy() for x in (a, b, c, d))
    if add_half:
        zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        a, b, c, d = (np.where(zero, x + 0.5, x) for x in (a, b, c, d))
    n1, n2 = a + b, c + d
    if measure == "OR":
        yi = np.log(a * d / (b * c))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    elif measure == "RR":
        yi = np.log(a / n1) - np.log(c / n2)
        vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    elif measure == "RD":
        p1, p2 = a / n1, c / n2
        yi = p1 - p2
        vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    else:  # PETO
        n = n1 + n2
        m1 = a + c
        expected = n1 * m1 / n
        variance = n1 * n2 * m1 * (n - m1) / (n**2 * (n - 1))
        yi = (a - expected) / variance
        vi = 1 / variance
    yi_full = np.full(k, np.nan)
    vi_full = np.full(k, np.nan)
    yi_full[keep] = yi
    vi_full[keep] = vi
    return yi_full, vi_full


# ------------------------------------------------------------------- MH


def _result(measure: str, method: str, estimate: float, se: float, *, level: float, yi, vi,
            mh_weights, k: int, labels, warnings: list, dropped_note: str, warn: bool,
            q_effects=None, **extra) -> MHResult:
    """The Wald test of the pooled estimate, Cochran's Q of the per-study effects about it
    (``q_effects = (yi, vi)`` when they differ from the stored ``yi``/``vi``; studies with no
    finite ``yi`` are left out, and said so), and the result object."""
    ci_low, ci_high, z, p = _wald(estimate, se, level)
    if se == 0:
        warnings.append(_zero_variance_note(measure, estimate))
    q, q_df, q_p, i2, h2, k_yi = _heterogeneity(*(q_effects or (yi, vi)), estimate)
    if k_yi < k:
        warnings.append(f"{k - k_yi} stud(ies) with {dropped_note} left out of Q")
    if warn:
        for message in warnings:
            _warnings.warn(message, MetaWarning, stacklevel=3)
    total = mh_weights.sum()
    weights = 100 * mh_weights / total if total > 0 else np.full(k, np.nan)
    return MHResult(
        measure=measure, method=method, estimate=estimate, se=se, ci_low=ci_low, ci_high=ci_high,
        statistic=z, p_value=p, q=q, q_df=q_df, q_p_value=q_p, i2=i2, h2=h2, k=k, k_yi=k_yi,
        weights=weights, yi=yi, vi=vi, in_q=np.isfinite(yi), level=level,
        labels=None if labels is None else [str(x) for x in labels], warnings=warnings, **extra,
    )


def pool_mh(
    measure: str,
    events1=None,
    n1=None,
    events2=None,
    n2=None,
    *,
    time1=None,
    time2=None,
    level: float = 95,
    labels=None,
    correct: bool = True,
    warn: bool = True,
) -> MHResult:
    """Mantel-Haenszel common-effect meta-analysis.

    Parameters
    ----------
    measure : {"OR", "RR", "RD", "IRR", "IRD"}
        Odds ratio, risk ratio, risk difference (2x2 tables from
        ``events1, n1, events2, n2``), or incidence rate ratio / difference
        (person-time data from ``events1, time1, events2, time2``).
    events1, n1, events2, n2 : array-like
        Events and participants in arm 1 (treatment) and arm 2 (control).
    time1, time2 : array-like
        Person-time in each arm (IRR, IRD only; ``n1``, ``n2`` are then not used).
    level : float
        Confidence level in percent.
    labels : sequence of str, optional
        Study labels.
    correct : bool, default True
        Continuity correction 1/2 in the Cochran-Mantel-Haenszel and
        Mantel-Haenszel tests (OR) and in the MH test of person-time data (IRR);
        ``False`` gives the uncorrected tests (metafor's ``correct=FALSE``).
    warn : bool, default True
        Emit the collected warnings (also kept in ``result.warnings``) through
        :func:`warnings.warn` as :class:`trialsynth.pooling.fit.MetaWarning`.

    Returns
    -------
    MHResult

    Notes
    -----
    With a_i, b_i (events, non-events, arm 1), c_i, d_i (arm 2), n_i the
    table total, n1i = a_i + b_i, n2i = c_i + d_i:

    * OR (Mantel & Haenszel 1959, eq. 12): OR = sum(R_i)/sum(S_i), R_i =
      a_i d_i/n_i, S_i = b_i c_i/n_i; variance of log OR from Robins, Breslow
      & Greenland (1986, eq. 9): sum(P_i R_i)/(2R^2) + sum(P_i S_i + Q_i
      R_i)/(2RS) + sum(Q_i S_i)/(2S^2) with P_i = (a_i+d_i)/n_i, Q_i =
      (b_i+c_i)/n_i.
    * RR: RR = sum(a_i n2i/n_i)/sum(c_i n1i/n_i); variance of log RR from
      Greenland & Robins (1985, eq. 13): sum((n1i n2i (a_i+c_i) - a_i c_i
      n_i)/n_i^2)/(R S).
    * RD: RD = sum(w_i (p1i - p2i))/sum(w_i), w_i = n1i n2i/n_i; variance
      of Sato, Greenland & Robins (1989): (RD sum(P_i) + sum(Q_i))/(sum w_i)^2
      with P_i = (n1i^2 c_i - n2i^2 a_i + n1i n2i (n2i - n1i)/2)/n_i^2 and
      Q_i = (a_i (n2i - c_i) + c_i (n1i - a_i))/(2 n_i).
    * IRR: IRR = sum(x1i t2i/t_i)/sum(x2i t1i/t_i), variance of log IRR from
      Greenland & Robins (1985, eq. 8): sum(t1i t2i (x1i+x2i)/t_i^2)/(R S).
    * IRD: IRD = sum(w_i (x1i/t1i - x2i/t2i))/sum(w_i), w_i = t1i t2i/t_i,
      variance sum(w_i^2 (x1i/t1i^2 + x2i/t2i^2))/(sum w_i)^2 (Greenland &
      Robins 1985, eq. 2-3).

    For OR, the Cochran-Mantel-Haenszel test (Mantel & Haenszel 1959, with
    continuity correction 1/2) and the test without correction, the
    Breslow-Day test (Breslow & Day 1980, eq. 4.30) and Tarone's (1985)
    correction of it are also given.

    Zero counts. The pooled estimate uses the counts as they are (no 1/2 is
    added). When the Mantel-Haenszel variance is 0 (RD and IRD with no events in
    any study; RR and RD with every participant having the event; RD with every
    participant of arm 1 and none of arm 2 having it) the estimate is returned
    with se = 0, a CI that is the point itself and an undefined z test (z =
    estimate/0: NaN for a zero estimate, +-inf with p = 0 otherwise), with a
    warning, as metafor's ``rma.mh`` does. When the MH odds, risk or rate ratio
    is 0, infinite or 0/0 (no events in any study, or events in one arm only)
    there is no estimate, and an ArgumentError says which; metafor returns NA.
    """
    if not isinstance(measure, str) or measure.upper() not in _TABLE_MEASURES + _RATE_MEASURES:
        raise ArgumentError(
            f"measure: expected one of {', '.join(_TABLE_MEASURES + _RATE_MEASURES)}, got {measure!r}"
        )
    measure = measure.upper()
    level = _check_level(level)
    if not isinstance(correct, bool | np.bool_):
        raise ArgumentError(f"correct: expected True or False, got {correct!r}")
    if measure in _RATE_MEASURES:
        return _pool_mh_rates(measure, events1, time1, events2, time2, level, labels, bool(correct), warn)
    for name, value in (("events1", events1), ("n1", n1), ("events2", events2), ("n2", n2)):
        if value is None:
            raise ArgumentError(f"{name}: required for measure={measure!r}")
    a, b, c, d = _tables(events1, n1, events2, n2)
    k = a.size
    n1i, n2i = a + b, c + d
    n = n1i + n2i
    warnings: list[str] = []
    extra: dict = {}

    if measure == "OR":
        r_i = a * d / n
        s_i = b * c / n
        p_i = (a + d) / n
        q_i = (b + c) / n
        r_sum, s_sum = r_i.sum(), s_i.sum()
        _check_ratio("odds ratio", r_sum, s_sum)
        estimate = float(np.log(r_sum / s_sum))
        var = (
            np.sum(p_i * r_i) / (2 * r_sum**2)
            + np.sum(p_i * s_i + q_i * r_i) / (2 * r_sum * s_sum)
            + np.sum(q_i * s_i) / (2 * s_sum**2)
        )
        extra = _or_tests(a, b, c, d, float(np.exp(estimate)), bool(correct))
    elif measure == "RR":
        r_i = a * n2i / n
        s_i = c * n1i / n
        r_sum, s_sum = r_i.sum(), s_i.sum()
        _check_ratio("risk ratio", r_sum, s_sum)
        estimate = float(np.log(r_sum / s_sum))
        var = np.sum((n1i * n2i * (a + c) - a * c * n) / n**2) / (r_sum * s_sum)
    else:  # RD
        w_i = n1i * n2i / n
        w_sum = w_i.sum()
        estimate = float(np.sum((a * n2i - c * n1i) / n) / w_sum)
        p_i = (n1i**2 * c - n2i**2 * a + n1i * n2i * (n2i - n1i) / 2) / n**2
        q_i = (a * (n2i - c) + c * (n1i - a)) / (2 * n)
        var = (estimate * p_i.sum() + q_i.sum()) / w_sum**2
    se = _standard_error(float(var))
    mh_weights = {"OR": b * c / n, "RR": c * n1i / n, "RD": n1i * n2i / n}[measure]
    yi, vi = _escalc_2x2(measure, a, b, c, d)
    return _result(
        measure, "MH", estimate, se, level=level, yi=yi, vi=vi,
        mh_weights=mh_weights, k=k, labels=labels, warnings=warnings, dropped_note="no events (or only events) in both arms",
        warn=warn, correct=bool(correct), inputs={"events1": a, "n1": n1i, "events2": c, "n2": n2i}, **extra,
    )


def _check_ratio(name: str, r_sum: float, s_sum: float) -> None:
    """The Mantel-Haenszel ratio sum(R)/sum(S) must be finite and > 0."""
    if r_sum == 0 and s_sum == 0:
        raise ArgumentError(
            f"events1, events2: the Mantel-Haenszel {name} is undefined (0/0) for these tables: "
            "no study contributes to it (no events, or only events, in every study)"
        )
    if r_sum == 0 or s_sum == 0:
        raise ArgumentError(
            f"events1, events2: the Mantel-Haenszel {name} is {'0' if r_sum == 0 else 'infinite'} "
            "for these tables (the events, or non-events, are all in one arm)"
        )


def _or_tests(a, b, c, d, odds_ratio: float, correct: bool = True) -> dict:
    """CMH, MH, Breslow-Day and Tarone tests for a set of 2x2 tables."""
    n1i, n2i = a + b, c + d
    m1i, m2i = a + c, b + d
    n = n1i + n2i
    # informative tables: both margins non-degenerate
    informative = (m1i > 0) & (m2i > 0)
    k_pos = int(np.sum(informative))
    ai, n1, n2, m1, m2, nn = (x[informative] for x in (a, n1i, n2i, m1i, m2i, n))
    expected = n1 * m1 / nn
    diff = ai.sum() - expected.sum()
    # Cochran (1954): binomial variance n1 n2 m1 m2 / n^3; Mantel & Haenszel
    # (1959, eq. 5): hypergeometric variance n1 n2 m1 m2 / (n^2 (n - 1));
    # both with the continuity correction 1/2 unless correct=False.
    var_cochran = n1 * n2 * m1 * m2 / nn**3
    var_hyper = n1 * n2 * m1 * m2 / (nn**2 * (nn - 1))
    shift = abs(diff) - (0.5 if correct else 0.0)
    cmh = float(shift**2 / var_cochran.sum())
    mh_test = float(shift**2 / var_hyper.sum())
    # Breslow-Day: expected a under the common OR solves
    # A (n2 - m1 + A) = OR (n1 - A)(m1 - A), the root within the table's bounds.
    psi = odds_ratio
    qa = 1 - psi
    qb = (n2 - m1) + psi * (n1 + m1)
    qc = -psi * n1 * m1
    lower = np.maximum(0, m1 - n2)
    upper = np.minimum(n1, m1)
    if abs(qa) < 1e-14:
        fitted = -qc / qb
    else:
        disc = np.sqrt(qb**2 - 4 * qa * qc)
        root1 = (-qb + disc) / (2 * qa)
        root2 = (-qb - disc) / (2 * qa)
        tol = 1e-10 * np.maximum(1, upper)
        ok1 = (root1 >= lower - tol) & (root1 <= upper + tol)
        fitted = np.where(ok1, root1, root2)
    var_fitted = 1 / (1 / fitted + 1 / (n1 - fitted) + 1 / (m1 - fitted) + 1 / (n2 - m1 + fitted))
    bd = float(np.sum((ai - fitted) ** 2 / var_fitted))
    tarone = float(bd - (ai.sum() - fitted.sum()) ** 2 / var_fitted.sum())
    df = k_pos - 1
    if df >= 1:
        bd_p = float(stats.chi2.sf(bd, df))
        tarone_p = float(stats.chi2.sf(tarone, df))
    else:
        bd = tarone = bd_p = tarone_p = None
    return {
        "k_pos": k_pos,
        "cmh": cmh,
        "cmh_p_value": float(stats.chi2.sf(cmh, 1)),
        "mh_test": mh_test,
        "mh_test_p_value": float(stats.chi2.sf(mh_test, 1)),
        "breslow_day": bd,
        "breslow_day_p_value": bd_p,
        "tarone": tarone,
        "tarone_p_value": tarone_p,
    }


def _pool_mh_rates(measure, events1, time1, events2, time2, level, labels, correct, warn) -> MHResult:
    for name, value in (("events1", events1), ("time1", time1), ("events2", events2), ("time2", time2)):
        if value is None:
            raise ArgumentError(f"{name}: required for measure={measure!r}")
    x1 = _as_counts("events1", events1)
    t1 = _as_counts("time1", time1, integer=False)
    x2 = _as_counts("events2", events2)
    t2 = _as_counts("time2", time2, integer=False)
    _check_lengths(events1=x1, time1=t1, events2=x2, time2=t2)
    if np.any(t1 <= 0) or np.any(t2 <= 0):
        raise ArgumentError("time1, time2: person-time must be > 0")
    k = x1.size
    t = t1 + t2
    if measure == "IRR":
        r_i = x1 * t2 / t
        s_i = x2 * t1 / t
        r_sum, s_sum = r_i.sum(), s_i.sum()
        _check_ratio("rate ratio", r_sum, s_sum)
        estimate = float(np.log(r_sum / s_sum))
        var = np.sum(t1 * t2 * (x1 + x2) / t**2) / (r_sum * s_sum)
        # test of IRR = 1 conditional on the total events of each study:
        # x1 ~ Binomial(x1 + x2, t1/t), continuity-corrected (Greenland & Robins 1985)
        total = x1 + x2
        diff = x1.sum() - np.sum(total * t1 / t)
        shift = abs(diff) - (0.5 if correct else 0.0)
        mh_test = float(shift**2 / np.sum(total * t1 * t2 / t**2))
        extra = {"mh_test": mh_test, "mh_test_p_value": float(stats.chi2.sf(mh_test, 1))}
    else:
        extra = {}
        w_i = t1 * t2 / t
        w_sum = w_i.sum()
        estimate = float(np.sum(w_i * (x1 / t1 - x2 / t2)) / w_sum)
        var = np.sum(w_i**2 * (x1 / t1**2 + x2 / t2**2)) / w_sum**2
    se = _standard_error(float(var))
    # per-study effects for Q, escalc defaults: drop studies with no events in
    # both arms, add 1/2 to the events of studies with a zero count
    keep = ~((x1 == 0) & (x2 == 0))
    a, ta, c, tc = x1[keep], t1[keep], x2[keep], t2[keep]
    zero = (a == 0) | (c == 0)
    a = np.where(zero, a + 0.5, a)
    c = np.where(zero, c + 0.5, c)
    yi = np.full(k, np.nan)
    vi = np.full(k, np.nan)
    if measure == "IRR":
        yi[keep] = np.log(a / ta) - np.log(c / tc)
        vi[keep] = 1 / a + 1 / c
        mh_weights = x2 * t1 / t
    else:
        yi[keep] = a / ta - c / tc
        vi[keep] = a / ta**2 + c / tc**2
        mh_weights = t1 * t2 / t
    return _result(
        measure, "MH", estimate, se, level=level, yi=yi, vi=vi,
        mh_weights=mh_weights, k=k, labels=labels, warnings=[], dropped_note="no events in both arms",
        warn=warn, correct=correct, inputs={"events1": x1, "time1": t1, "events2": x2, "time2": t2}, **extra,
    )


# ------------------------------------------------------------------ Peto


def pool_peto(events1, n1, events2, n2, *, level: float = 95, labels=None, warn: bool = True) -> MHResult:
    """Peto's one-step odds ratio (Yusuf et al. 1985).

    With O_i = a_i the observed events in arm 1, E_i = n1i m1i/n_i their
    expectation under no effect and V_i = n1i n2i m1i m2i/(n_i^2 (n_i - 1))
    the hypergeometric variance, log OR = sum(O_i - E_i)/sum(V_i) with
    se = 1/sqrt(sum V_i) (Yusuf et al. 1985, appendix).

    Parameters
    ----------
    events1, n1, events2, n2 : array-like
        Events and participants in arm 1 (treatment) and arm 2 (control).
    level : float
        Confidence level in percent.
    labels : sequence of str, optional
        Study labels.
    warn : bool, default True
        Emit the collected warnings through :func:`warnings.warn`.

    Returns
    -------
    MHResult
        ``measure="PETO"``, estimate on the log odds ratio scale.
    """
    level = _check_level(level)
    a, b, c, d = _tables(events1, n1, events2, n2)
    k = a.size
    n1i, n2i = a + b, c + d
    m1i, m2i = a + c, b + d
    n = n1i + n2i
    informative = (m1i > 0) & (m2i > 0)
    k_pos = int(informative.sum())
    expected = n1i * m1i / n
    variance = np.where(informative, n1i * n2i * m1i * m2i / (n**2 * np.maximum(n - 1, 1)), 0.0)
    v_sum = variance.sum()
    if v_sum == 0:
        raise ArgumentError(
            "events1, events2: no table is informative for Peto's method (every study has no events, "
            "or only events); metafor's rma.peto refuses this case too"
        )
    estimate = float(np.sum(a - expected) / v_sum)
    se = float(1 / np.sqrt(v_sum))
    mh_weights = variance
    yi, vi = _escalc_2x2("PETO", a, b, c, d)
    q_effects = _escalc_2x2("PETO", a, b, c, d, add_half=False)
    return _result(
        "PETO", "Peto", estimate, se, level=level, yi=yi, vi=vi,
        mh_weights=mh_weights, k=k, labels=labels, warnings=[], dropped_note="no events (or only events) in both arms",
        warn=warn, k_pos=k_pos, inputs={"events1": a, "n1": n1i, "events2": c, "n2": n2i}, q_effects=q_effects,
    )
