r"""Conversions from what trial reports print to what a meta-analysis needs.

Every function is pure and vectorised: it takes numbers or arrays (broadcast
together), checks them, and returns numpy arrays or a DataFrame; none reads a file
or loops over studies. Each cites the method it implements.

* :func:`sd_from_se`, :func:`sd_from_ci`, :func:`se_from_ci`, :func:`critical_value`:
  Cochrane Handbook (Higgins et al., version 6.4, 2023) sections 6.5.2.2-6.5.2.3.
* :func:`median_to_mean_sd`: Wan et al. (2014) BMC Med Res Methodol 14:135; Luo et al.
  (2018) Stat Methods Med Res 27(6):1785-1805; Shi et al. (2020) Res Synth Methods
  11(5):641-654.
* :func:`change_sd`, :func:`change_correlation`: Handbook 6.5.2.8 (Follmann et al. 1992).
* :func:`t_from_p`, :func:`smd_from_t`, :func:`smd_from_p`: Handbook 6.5.2.3 with
  Hedges' (1981) correction; approximate.
* :func:`combine_arms`: Handbook 6.5.2.10, Table 6.5.a.
* :func:`contrast_to_yi_vi`: Handbook 6.5.2.3 (ratio measures on the log scale).
* :func:`months_to_weeks`, :func:`days_to_weeks`: time-unit helpers for the curators.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

from trialsynth.effects._validate import positions, require
from trialsynth.effects.measures import hedges_correction
from trialsynth.errors import ArgumentError

__all__ = [
    "RATIO_CONTRASTS",
    "change_correlation",
    "change_sd",
    "combine_arms",
    "contrast_to_yi_vi",
    "critical_value",
    "days_to_weeks",
    "expected_normal_quartile_range",
    "expected_normal_range",
    "median_to_mean_sd",
    "months_to_weeks",
    "sd_from_ci",
    "sd_from_se",
    "se_from_ci",
    "smd_from_p",
    "smd_from_t",
    "t_from_p",
]

#: Contrast measures reported on the ratio scale, analysed as logs.
RATIO_CONTRASTS = frozenset({"RR", "OR", "HR", "IRR", "ROM", "PETO"})
#: Contrast measures analysed on their own scale.
DIFFERENCE_CONTRASTS = frozenset({"MD", "SMD", "RD", "IRD", "GEN"})

#: Sample size from which :func:`sd_from_ci` uses the normal distribution when
#: ``distribution="auto"`` (Handbook 6.5.2.2: "If the sample size is small (say
#: less than 60 participants in each group) then confidence intervals should have
#: been calculated using a value from a t distribution").
T_BELOW_N = 60


def _arrays(**named) -> dict[str, np.ndarray]:
    """Float arrays broadcast to one shape; NaN/inf and shape clashes raise naming the argument."""
    out = {}
    for name, value in named.items():
        if isinstance(value, str | bytes):
            raise ArgumentError(f"{name}: expected numbers, got the string {value!r}")
        try:
            if isinstance(value, pd.Series | pd.Index):
                arr = value.to_numpy(dtype=float, na_value=np.nan)
            else:
                arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ArgumentError(f"{name}: expected numbers ({exc})") from None
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ArgumentError(
                f"{name}: expected finite numbers, found NaN or infinity at position(s) "
                f"{positions(np.atleast_1d(bad))}"
            )
        out[name] = arr
    try:
        shaped = np.broadcast_arrays(*out.values())
    except ValueError:
        shown = ", ".join(f"{k}={v.shape}" for k, v in out.items())
        raise ArgumentError(f"arrays must have the same length (or be scalars); got {shown}") from None
    return dict(zip(out, shaped, strict=True))


def _level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float | np.number) or not (
        50 <= level < 100
    ):
        raise ArgumentError(f"level: expected a confidence level in percent in [50, 100), got {level!r}")
    return float(level)


def critical_value(level=95, df=None) -> np.ndarray:
    r"""The two-sided critical value: normal quantile, or t quantile with ``df`` degrees of freedom.

    ``z_{1-\alpha/2}`` (1.96 for 95%) or ``t_{1-\alpha/2, df}``. The Handbook
    (6.5.2.2) quotes the CI widths 3.92, 3.29 and 5.15 standard errors (2 x 1.96,
    1.645, 2.576) for 95%, 90% and 99%, and 2 x 2.0639 = 4.128 for a 95% CI from a
    sample of 25 (t with 24 df).

    Parameters
    ----------
    level : float, default 95
        Confidence level in percent.
    df : array_like, optional
        Degrees of freedom (> 0); None for the normal distribution.
    """
    alpha = 1.0 - _level(level) / 100.0
    if df is None:
        return np.asarray(stats.norm.isf(alpha / 2.0))
    dfa = _arrays(df=df)["df"]
    require("df", np.atleast_1d(dfa <= 0), "degrees of freedom > 0")
    return stats.t.isf(alpha / 2.0, dfa)


def sd_from_se(se, n) -> np.ndarray:
    r"""Standard deviation of a group from the standard error of its mean.

    ``SD = SE * sqrt(n)`` (Cochrane Handbook 6.5.2.2).

    Parameters
    ----------
    se : array_like
        Standard errors of the group means (>= 0).
    n : array_like
        Group sizes (> 0).
    """
    a = _arrays(se=se, n=n)
    require("se", np.atleast_1d(a["se"] < 0), "standard errors >= 0")
    require("n", np.atleast_1d(a["n"] <= 0), "group sizes greater than 0")
    return a["se"] * np.sqrt(a["n"])


def _ci_half_width(ci_low, ci_high, name_low="ci_low", name_high="ci_high"):
    a = _arrays(**{name_low: ci_low, name_high: ci_high})
    require(name_high, np.atleast_1d(a[name_high] < a[name_low]), f"{name_high} >= {name_low}")
    return a[name_low], a[name_high]


def sd_from_ci(ci_low, ci_high, n, *, level=95, distribution="auto") -> np.ndarray:
    r"""Standard deviation of a group from a confidence interval for its mean.

    ``SD = sqrt(n) * (upper - lower) / (2 c)`` with ``c`` the normal quantile (1.96
    for 95%, so the Handbook's divisor 3.92) or the t quantile with ``n - 1`` df
    (Cochrane Handbook 6.5.2.2). Assumes the interval is symmetric about the mean.

    Parameters
    ----------
    ci_low, ci_high : array_like
        The interval's bounds.
    n : array_like
        Group sizes (> 1 for the t distribution).
    level : float, default 95
        Confidence level of the interval, in percent.
    distribution : {"auto", "t", "normal"}, default "auto"
        ``"auto"`` uses t when ``n < 60`` (the Handbook's "small" samples) and the
        normal distribution otherwise.
    """
    low, high = _ci_half_width(ci_low, ci_high)
    n = _arrays(n=n)["n"]
    require("n", np.atleast_1d(n <= 0), "group sizes greater than 0")
    if distribution not in ("auto", "t", "normal"):
        raise ArgumentError(f"distribution: expected 'auto', 't' or 'normal', got {distribution!r}")
    z = critical_value(level)
    if distribution == "normal":
        crit = np.broadcast_to(z, np.broadcast(n, low).shape)
    else:
        use_t = np.ones_like(n, dtype=bool) if distribution == "t" else n < T_BELOW_N
        require("n", np.atleast_1d(use_t & (n <= 1)), "group sizes > 1 for a t-based interval")
        df = np.where(use_t, n - 1.0, 1.0)
        crit = np.where(use_t, critical_value(level, df), z)
    return np.sqrt(n) * (high - low) / (2.0 * crit)


def se_from_ci(ci_low, ci_high, *, level=95, df=None, log=False) -> np.ndarray:
    r"""Standard error of an estimate from its confidence interval.

    ``SE = (upper - lower) / (2 c)``; for ratio measures the interval is taken on the
    log scale, ``SE = (ln upper - ln lower) / (2 c)`` (Cochrane Handbook 6.5.2.3).
    ``c`` is the normal quantile, or the t quantile with ``df`` degrees of freedom
    (for a mean difference from small groups, ``df = n1 + n2 - 2``).
    """
    low, high = _ci_half_width(ci_low, ci_high)
    if log:
        require("ci_low", np.atleast_1d(low <= 0), "positive bounds for a ratio measure")
        low, high = np.log(low), np.log(high)
    return (high - low) / (2.0 * critical_value(level, df))


# --------------------------------------------------------------------------- medians


def _blom(p) -> np.ndarray:
    return stats.norm.ppf(p)


# Simpson's rule on a fixed grid: expected values of normal order statistics for many n at
# once (no loop over studies); the integrands are smooth and negligible beyond |x| = 12.
_GRID = np.linspace(-12.0, 12.0, 24001)
_SIMPSON = np.ones_like(_GRID)
_SIMPSON[1:-1:2], _SIMPSON[2:-1:2] = 4.0, 2.0
_SIMPSON *= (_GRID[1] - _GRID[0]) / 3.0
_LOG_CDF, _LOG_SF, _LOG_PDF = stats.norm.logcdf(_GRID), stats.norm.logsf(_GRID), stats.norm.logpdf(_GRID)

#: Wan et al. (2014) use the exact xi(n) (their Table 1) up to this n, Blom's formula above.
WAN_EXACT_RANGE_MAX_N = 50
#: ... and the exact eta(n) (their Table 2, indexed by Q = ceil((n-1)/4)) up to this n.
WAN_EXACT_IQR_MAX_N = 201


def expected_normal_range(n) -> np.ndarray:
    r"""Expected range of ``n`` independent standard normal variables, ``xi(n) = 2 E[Z_(n)]``.

    ``E[R_n] = \int (1 - \Phi(x)^n - (1 - \Phi(x))^n) dx`` (Tippett 1925), by Simpson's
    rule. These are the ``d2`` constants of quality control and the values of Wan et
    al. (2014), Table 1 (1.128 for n = 2, 2.326 for n = 5, 3.078 for n = 10).
    """
    nn = np.atleast_1d(np.asarray(n, dtype=float))
    uniq, inverse = np.unique(nn, return_inverse=True)
    integrand = 1.0 - np.exp(uniq[:, None] * _LOG_CDF) - np.exp(uniq[:, None] * _LOG_SF)
    return (integrand @ _SIMPSON)[inverse].reshape(np.shape(n))


def expected_normal_quartile_range(q) -> np.ndarray:
    r"""``eta = 2 E[Z_(3Q+1:4Q+1)]``, the expected IQR of ``n = 4Q + 1`` standard normals.

    The density of the ``r``-th of ``n`` order statistics is
    ``n C(n-1, r-1) \Phi^{r-1} (1-\Phi)^{n-r} \phi`` (David & Nagaraja 2003, eq. 2.1.6);
    Wan et al. (2014), Table 2 lists these values for Q <= 50.
    """
    qq = np.atleast_1d(np.asarray(q, dtype=float))
    uniq, inverse = np.unique(qq, return_inverse=True)
    n, r = 4.0 * uniq + 1.0, 3.0 * uniq + 1.0
    log_c = np.log(n) + gammaln(n) - gammaln(r) - gammaln(n - r + 1.0)
    dens = np.exp(
        log_c[:, None] + (r - 1.0)[:, None] * _LOG_CDF + (n - r)[:, None] * _LOG_SF + _LOG_PDF
    )
    return (2.0 * (dens * _GRID) @ _SIMPSON)[inverse].reshape(np.shape(q))


def _wan_xi(n: np.ndarray) -> np.ndarray:
    """xi(n) as Wan et al. (2014) use it: exact up to n = 50, Blom's approximation above."""
    small = n <= WAN_EXACT_RANGE_MAX_N
    exact = expected_normal_range(np.where(small, n, 2.0))
    return np.where(small, exact, 2.0 * _blom((n - 0.375) / (n + 0.25)))


def _wan_eta(n: np.ndarray) -> np.ndarray:
    """eta(n) as Wan et al. (2014) use it: exact (Q = ceil((n-1)/4)) up to n = 201, Blom above."""
    small = n <= WAN_EXACT_IQR_MAX_N
    q = np.maximum(np.ceil((np.where(small, n, 5.0) - 1.0) / 4.0), 1.0)
    exact = expected_normal_quartile_range(q)
    return np.where(small, exact, 2.0 * _blom((0.75 * n - 0.125) / (n + 0.25)))


def median_to_mean_sd(
    n,
    median,
    *,
    q1=None,
    q3=None,
    minimum=None,
    maximum=None,
    mean_method: str = "luo",
    sd_method: str = "shi",
) -> pd.DataFrame:
    r"""Estimate a sample mean and SD from the median with the IQR and/or the range.

    The scenarios of Wan et al. (2014): S1 = {min, median, max}, S2 = {min, q1,
    median, q3, max}, S3 = {q1, median, q3}, chosen per element from which of
    ``q1, q3, minimum, maximum`` are given (all of a pair or none).

    Mean, ``mean_method="luo"`` (Luo et al. 2018, *Stat Methods Med Res* 27:1785,
    eqs. 7, 11 and 15, optimal weights):

    * S1: ``w (a + b)/2 + (1 - w) m`` with ``w = 4/(4 + n^0.75)``;
    * S2: ``w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m`` with
      ``w1 = 2.2/(2.2 + n^0.75)``, ``w2 = 0.7 - 0.72/n^0.55``;
    * S3: ``w (q1 + q3)/2 + (1 - w) m`` with ``w = 0.7 + 0.39/n``.

    ``mean_method="wan"`` (Wan et al. 2014, eqs. 2, 10 and 14): S1
    ``(a + 2m + b)/4 + (a - 2m + b)/(4n)`` (Hozo et al. 2005), S2
    ``(a + 2 q1 + 2m + 2 q3 + b)/8``, S3 ``(q1 + m + q3)/3``.

    SD, with ``xi(n)`` the expected range and ``eta(n)`` the expected interquartile
    range of n standard normals. Wan et al. (2014) use exact values for small samples
    (their Tables 1 and 2: :func:`expected_normal_range` for n <= 50,
    :func:`expected_normal_quartile_range` with ``Q = ceil((n-1)/4)`` for n <= 201) and
    Blom's (1958) approximations ``xi(n) = 2 Phi^-1((n - 0.375)/(n + 0.25))`` and
    ``eta(n) = 2 Phi^-1((0.75 n - 0.125)/(n + 0.25))`` above:

    * ``sd_method="wan"`` (Wan et al. 2014, eqs. 7/9, 12/13 and 15/16): S1
      ``(b - a)/xi(n)``, S2 ``(b - a)/(2 xi(n)) + (q3 - q1)/(2 eta(n))``, S3
      ``(q3 - q1)/eta(n)``;
    * ``sd_method="shi"`` (Shi et al. 2020, *Res Synth Methods* 11:641, eq. 11, the
      smoothly weighted estimator with weight ``w = 1/(1 + 0.07 n^0.6)`` and Blom's
      approximations): S2 ``(b - a)/theta1(n) + (q3 - q1)/theta2(n)`` with
      ``theta1(n) = (2 + 0.14 n^0.6) Phi^-1((n - 0.375)/(n + 0.25))`` and
      ``theta2(n) = (2 + 2/(0.07 n^0.6)) Phi^-1((0.75 n - 0.125)/(n + 0.25))``; S1 and S3
      as Wan (Shi et al. address the five-number summary only).

    All assume roughly normal data; a median with IQR often signals skew (Handbook
    6.5.2.5), so results are estimates to be flagged as such.

    Returns
    -------
    pandas.DataFrame
        Columns ``mean``, ``sd`` and ``scenario`` (``S1``, ``S2``, ``S3``).
    """
    if mean_method not in ("luo", "wan"):
        raise ArgumentError(f"mean_method: expected 'luo' or 'wan', got {mean_method!r}")
    if sd_method not in ("shi", "wan"):
        raise ArgumentError(f"sd_method: expected 'shi' or 'wan', got {sd_method!r}")
    a = _arrays(n=n, median=median)
    shape = np.broadcast(a["n"], a["median"]).shape
    n, m = (np.broadcast_to(v, shape) for v in (a["n"], a["median"]))
    require("n", np.atleast_1d(n < 2), "sample sizes >= 2")

    def pair(lo_name, lo, hi_name, hi):
        if (lo is None) != (hi is None):
            missing = hi_name if hi is None else lo_name
            raise ArgumentError(f"{missing}: give {lo_name} and {hi_name} together")
        if lo is None:
            return np.full(shape, np.nan), np.full(shape, np.nan)
        lo_a = np.broadcast_to(np.asarray(lo, dtype=float), shape) if np.ndim(lo) == 0 else np.asarray(lo, dtype=float)
        hi_a = np.broadcast_to(np.asarray(hi, dtype=float), shape) if np.ndim(hi) == 0 else np.asarray(hi, dtype=float)
        if lo_a.shape != shape or hi_a.shape != shape:
            raise ArgumentError(
                f"{lo_name}, {hi_name}: expected the shape of median {shape}, got {lo_a.shape} and {hi_a.shape}"
            )
        require(lo_name, np.atleast_1d(np.isnan(lo_a) != np.isnan(hi_a)), f"{lo_name} and {hi_name} both given or both missing")
        return lo_a, hi_a

    q1a, q3a = pair("q1", q1, "q3", q3)
    lo, hi = pair("minimum", minimum, "maximum", maximum)
    has_iqr, has_range = ~np.isnan(q1a), ~np.isnan(lo)
    require("q1", np.atleast_1d(~has_iqr & ~has_range), "an IQR (q1, q3) or a range (minimum, maximum)")
    require("minimum", np.atleast_1d(has_range & (lo > np.where(has_iqr, q1a, m))), "minimum <= q1 <= median")
    require("maximum", np.atleast_1d(has_range & (hi < np.where(has_iqr, q3a, m))), "median <= q3 <= maximum")
    require("q1", np.atleast_1d(has_iqr & (q1a > m)), "q1 <= median")
    require("q3", np.atleast_1d(has_iqr & (q3a < m)), "median <= q3")

    s1 = has_range & ~has_iqr
    s2 = has_range & has_iqr
    s3 = has_iqr & ~has_range
    xi = _wan_xi(n)
    eta = _wan_eta(n)
    xi_blom = 2.0 * _blom((n - 0.375) / (n + 0.25))
    eta_blom = 2.0 * _blom((0.75 * n - 0.125) / (n + 0.25))

    with np.errstate(invalid="ignore"):
        if mean_method == "luo":
            w1 = 4.0 / (4.0 + n**0.75)
            mean_s1 = w1 * (lo + hi) / 2.0 + (1 - w1) * m
            w_r = 2.2 / (2.2 + n**0.75)
            w_q = 0.7 - 0.72 / n**0.55
            mean_s2 = w_r * (lo + hi) / 2.0 + w_q * (q1a + q3a) / 2.0 + (1 - w_r - w_q) * m
            w3 = 0.7 + 0.39 / n
            mean_s3 = w3 * (q1a + q3a) / 2.0 + (1 - w3) * m
        else:
            mean_s1 = (lo + 2.0 * m + hi) / 4.0 + (lo - 2.0 * m + hi) / (4.0 * n)
            mean_s2 = (lo + 2.0 * q1a + 2.0 * m + 2.0 * q3a + hi) / 8.0
            mean_s3 = (q1a + m + q3a) / 3.0
        sd_s1 = (hi - lo) / xi
        sd_s3 = (q3a - q1a) / eta
        if sd_method == "shi":
            theta1 = (2.0 + 0.14 * n**0.6) * (xi_blom / 2.0)
            theta2 = (2.0 + 2.0 / (0.07 * n**0.6)) * (eta_blom / 2.0)
            sd_s2 = (hi - lo) / theta1 + (q3a - q1a) / theta2
        else:
            sd_s2 = (hi - lo) / (2.0 * xi) + (q3a - q1a) / (2.0 * eta)

    mean = np.select([s1, s2, s3], [mean_s1, mean_s2, mean_s3])
    sd = np.select([s1, s2, s3], [sd_s1, sd_s2, sd_s3])
    scenario = np.select([s1, s2, s3], ["S1", "S2", "S3"], default="")
    return pd.DataFrame(
        {"mean": np.atleast_1d(mean), "sd": np.atleast_1d(sd), "scenario": np.atleast_1d(scenario)}
    )


# --------------------------------------------------------------------------- change scores


def change_sd(sd_baseline, sd_final, corr) -> np.ndarray:
    r"""SD of the change from baseline, from baseline and final SDs and their correlation.

    ``SD_change = sqrt(SD_b^2 + SD_f^2 - 2 r SD_b SD_f)`` (Cochrane Handbook 6.5.2.8;
    Follmann et al. 1992, *J Clin Epidemiol* 45:769). The same formula gives the SD
    of within-person differences in a cross-over trial (Handbook 5.1, 16.4.6.4).
    """
    a = _arrays(sd_baseline=sd_baseline, sd_final=sd_final, corr=corr)
    for name in ("sd_baseline", "sd_final"):
        require(name, np.atleast_1d(a[name] < 0), "standard deviations >= 0")
    require("corr", np.atleast_1d(np.abs(a["corr"]) > 1), "a correlation in [-1, 1]")
    sb, sf, r = a["sd_baseline"], a["sd_final"], a["corr"]
    return np.sqrt(np.maximum(sb**2 + sf**2 - 2.0 * r * sb * sf, 0.0))


def change_correlation(sd_baseline, sd_final, sd_change) -> np.ndarray:
    r"""The baseline-final correlation implied by a reported SD of the change.

    ``r = (SD_b^2 + SD_f^2 - SD_change^2) / (2 SD_b SD_f)`` (Cochrane Handbook
    6.5.2.8), to be imputed into :func:`change_sd` for studies that do not report
    the change SD. Raises when the three SDs are incompatible (``|r| > 1``).
    """
    a = _arrays(sd_baseline=sd_baseline, sd_final=sd_final, sd_change=sd_change)
    for name in ("sd_baseline", "sd_final"):
        require(name, np.atleast_1d(a[name] <= 0), "standard deviations > 0")
    require("sd_change", np.atleast_1d(a["sd_change"] < 0), "standard deviations >= 0")
    sb, sf, sc = a["sd_baseline"], a["sd_final"], a["sd_change"]
    r = (sb**2 + sf**2 - sc**2) / (2.0 * sb * sf)
    require("sd_change", np.atleast_1d(np.abs(r) > 1 + 1e-12), "SDs compatible with a correlation in [-1, 1]")
    return np.clip(r, -1.0, 1.0)


# --------------------------------------------------------------------------- test statistics


def t_from_p(p, df) -> np.ndarray:
    r"""The |t| statistic whose two-sided p-value on ``df`` degrees of freedom is ``p``.

    ``|t| = F^-1_t(1 - p/2; df)`` (Cochrane Handbook 6.5.2.3; the Handbook's example
    ``=tinv(0.008, 45)`` gives 2.78). A p-value reported as ``p < x`` should be
    entered as ``x``: that gives a smaller |t| than the true one, the conservative
    choice the Handbook recommends.
    """
    a = _arrays(p=p, df=df)
    require("p", np.atleast_1d((a["p"] <= 0) | (a["p"] > 1)), "p-values in (0, 1]")
    require("df", np.atleast_1d(a["df"] <= 0), "degrees of freedom > 0")
    return stats.t.isf(a["p"] / 2.0, a["df"])


def _smd_from_d(d, n1, n2) -> pd.DataFrame:
    m = n1 + n2 - 2.0
    g = hedges_correction(np.atleast_1d(m)) * np.atleast_1d(d)
    vi = 1.0 / n1 + 1.0 / n2 + g**2 / (2.0 * (n1 + n2))
    return pd.DataFrame({"yi": g, "vi": np.atleast_1d(vi)})


def smd_from_t(t, n1, n2) -> pd.DataFrame:
    r"""Approximate Hedges' *g* from a two-sample t statistic and the arm sizes.

    ``d = t sqrt(1/n1 + 1/n2)``, because the pooled-variance t statistic is
    ``t = (m1 - m2) / (s_p sqrt(1/n1 + 1/n2))`` (Hedges & Olkin 1985, ch. 5; the
    Handbook 6.5.2.3 takes the same route via the SE of the MD), then ``g = J(n1+n2-2) d``
    (Hedges 1981) and ``vi = 1/n1 + 1/n2 + g^2/(2(n1+n2))``, as :func:`effect_sizes`
    does for ``SMD``. Exact when ``t`` is the pooled-variance t statistic; otherwise
    (Welch t, a z statistic, adjusted analyses) approximate. The sign of ``t`` is the
    sign of the result.

    Returns
    -------
    pandas.DataFrame
        ``yi``, ``vi``.
    """
    a = _arrays(t=t, n1=n1, n2=n2)
    for name in ("n1", "n2"):
        require(name, np.atleast_1d(a[name] <= 0), "arm sizes greater than 0")
    require("n1", np.atleast_1d(a["n1"] + a["n2"] <= 3), "n1 + n2 > 3")
    d = a["t"] * np.sqrt(1.0 / a["n1"] + 1.0 / a["n2"])
    return _smd_from_d(d, a["n1"], a["n2"])


def smd_from_p(p, n1, n2, *, sign=1, qualifier="=") -> pd.DataFrame:
    r"""Approximate Hedges' *g* from a two-sided p-value of a two-sample t test.

    ``|t| = t_from_p(p, n1 + n2 - 2)``, then :func:`smd_from_t`, signed by ``sign``
    (+1 when arm 1 scored higher, -1 when lower). Always approximate: it assumes a
    pooled-variance t test on the same outcome and rounding of ``p`` moves the result.

    ``qualifier`` ``"<"`` (``p < x``) is treated as ``p = x``, which understates the
    effect (conservative, Handbook 6.5.2.3); ``">"`` gives no usable estimate and
    raises, as does ``sign = 0`` (a p-value without a direction).
    """
    a = _arrays(p=p, n1=n1, n2=n2, sign=sign)
    quals = np.broadcast_to(np.asarray(qualifier, dtype=object), np.broadcast(a["p"], a["n1"]).shape)
    bad_q = ~np.isin(quals, ["=", "<", "<=", "=="])
    if np.any(bad_q & (quals == ">")):
        raise ArgumentError(
            f"qualifier: a p-value given as '> x' bounds the effect only from above; no SMD can be "
            f"derived (position(s) {positions(np.atleast_1d(quals == '>'))})"
        )
    require("qualifier", np.atleast_1d(bad_q), "'=' or '<'")
    require("sign", np.atleast_1d(~np.isin(a["sign"], [-1.0, 1.0])), "+1 or -1 (the direction of the effect)")
    t = t_from_p(a["p"], a["n1"] + a["n2"] - 2.0)
    return smd_from_t(a["sign"] * t, a["n1"], a["n2"])


# --------------------------------------------------------------------------- arms, contrasts


def combine_arms(n1, mean1, sd1, n2, mean2, sd2) -> pd.DataFrame:
    r"""Combine two groups into one (Cochrane Handbook 6.5.2.10, Table 6.5.a).

    ``N = N1 + N2``, ``M = (N1 M1 + N2 M2)/N`` and

    .. math:: SD = \sqrt{\frac{(N_1-1)SD_1^2 + (N_2-1)SD_2^2
              + \frac{N_1 N_2}{N_1+N_2}(M_1 - M_2)^2}{N_1 + N_2 - 1}},

    which is exactly the sample SD of the pooled observations. Apply repeatedly to
    combine more than two groups.

    Returns
    -------
    pandas.DataFrame
        ``n``, ``mean``, ``sd``.
    """
    a = _arrays(n1=n1, mean1=mean1, sd1=sd1, n2=n2, mean2=mean2, sd2=sd2)
    for arm in ("1", "2"):
        require("n" + arm, np.atleast_1d(a["n" + arm] <= 0), "group sizes greater than 0")
        require("sd" + arm, np.atleast_1d(a["sd" + arm] < 0), "standard deviations >= 0")
    n1, n2, m1, m2 = a["n1"], a["n2"], a["mean1"], a["mean2"]
    n = n1 + n2
    require("n1", np.atleast_1d(n <= 1), "n1 + n2 > 1")
    mean = (n1 * m1 + n2 * m2) / n
    var = ((n1 - 1) * a["sd1"] ** 2 + (n2 - 1) * a["sd2"] ** 2 + n1 * n2 / n * (m1 - m2) ** 2) / (n - 1)
    return pd.DataFrame({"n": np.atleast_1d(n), "mean": np.atleast_1d(mean), "sd": np.atleast_1d(np.sqrt(var))})


def contrast_to_yi_vi(
    effect, *, ci_low=None, ci_high=None, se=None, measure="MD", level=95, df=None
) -> pd.DataFrame:
    r"""A reported between-group effect with its CI (or SE) as ``yi``, ``vi``.

    Difference measures (MD, SMD, RD, IRD, GEN) stay on their scale; ratio measures
    (RR, OR, HR, IRR, ROM, PETO) are log-transformed: ``yi = ln(effect)`` and
    ``SE = (ln upper - ln lower)/(2 z)`` (Cochrane Handbook 6.5.2.3; Altman & Bland
    2011, *BMJ* 343:d2090). An SE given for a ratio measure must be the SE of the
    log ratio. ``vi = SE^2``. Use ``df`` for a t-based interval (e.g. an MD from small
    groups, ``df = n1 + n2 - 2``).

    Returns
    -------
    pandas.DataFrame
        ``yi``, ``vi``, ``sei``.
    """
    if measure not in RATIO_CONTRASTS | DIFFERENCE_CONTRASTS:
        valid = ", ".join(sorted(RATIO_CONTRASTS | DIFFERENCE_CONTRASTS))
        raise ArgumentError(f"measure: expected one of {valid}, got {measure!r}")
    ratio = measure in RATIO_CONTRASTS
    est = _arrays(effect=effect)["effect"]
    if ratio:
        require("effect", np.atleast_1d(est <= 0), f"a positive {measure}")
        yi = np.log(est)
    else:
        yi = est
    if se is not None:
        if ci_low is not None or ci_high is not None:
            raise ArgumentError("se: give either se or ci_low/ci_high, not both")
        sei = _arrays(se=se)["se"]
        require("se", np.atleast_1d(sei <= 0), "standard errors > 0")
    else:
        if ci_low is None or ci_high is None:
            raise ArgumentError("ci_low, ci_high: give both bounds of the interval, or se")
        low, high = _ci_half_width(ci_low, ci_high)
        require("ci_low", np.atleast_1d(low > est), "ci_low <= effect")
        require("ci_high", np.atleast_1d(high < est), "ci_high >= effect")
        sei = se_from_ci(low, high, level=level, df=df, log=ratio)
        require("ci_high", np.atleast_1d(sei <= 0), "an interval of positive width")
    yi, sei = np.broadcast_arrays(np.atleast_1d(yi), np.atleast_1d(sei))
    return pd.DataFrame({"yi": yi.astype(float), "vi": sei.astype(float) ** 2, "sei": sei.astype(float)})


# --------------------------------------------------------------------------- time units

#: Weeks in a month as used by :func:`months_to_weeks`: 52 weeks / 12 months.
WEEKS_PER_MONTH = 52.0 / 12.0


def months_to_weeks(months) -> np.ndarray:
    """Convert months to weeks as ``months * 52 / 12`` (a year taken as 52 weeks).

    So 3 months = 13 weeks and 12 months = 52 weeks exactly; the curators record the
    conversion as ``timepoint_weeks=months_to_weeks`` in ``derived``.
    """
    m = _arrays(months=months)["months"]
    require("months", np.atleast_1d(m < 0), "months >= 0")
    return m * WEEKS_PER_MONTH


def days_to_weeks(days) -> np.ndarray:
    """Convert days to weeks as ``days / 7``."""
    d = _arrays(days=days)["days"]
    require("days", np.atleast_1d(d < 0), "days >= 0")
    return d / 7.0
