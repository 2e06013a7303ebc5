"""A compact heterogeneity summary: Q, tau2, tau, I2 and H2 with confidence intervals.

The pooled fit and the Q-profile intervals come from the pooling stage
(:func:`trialsynth.pool`, :meth:`MetaResult.heterogeneity_ci`); this module only
adds the test-based interval for I2 and H of Higgins & Thompson (2002) and lays
everything out in one tidy table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.diagnostics._inputs import fit_options, pooled, study_arrays
from trialsynth.errors import ArgumentError

__all__ = ["higgins_thompson_ci", "heterogeneity_summary"]


def higgins_thompson_ci(q: float, k: int, level: float = 95.0) -> dict:
    """Test-based confidence interval for H and I2 (Higgins & Thompson 2002, Stat Med
    21:1539-1558, appendix A.2).

    With H = sqrt(Q/(k-1)): if Q > k, SE(ln H) = (ln Q - ln(k-1)) / (2 (sqrt(2Q) -
    sqrt(2k-3))); otherwise SE(ln H) = sqrt(1/(2(k-2)) (1 - 1/(3(k-2)^2))). The
    interval exp(ln H -/+ z SE) is then mapped to I2 = (H^2 - 1)/H^2, truncated at 0.

    Returns
    -------
    dict
        ``h``, ``h_low``, ``h_high`` (H truncated below at 1), ``i2``, ``i2_low``,
        ``i2_high`` (percent).
    """
    if k < 3:
        raise ArgumentError(f"k: the Higgins-Thompson interval needs at least 3 studies, got {k}")
    if not q >= 0:
        raise ArgumentError(f"q: expected Cochran's Q >= 0, got {q!r}")
    df = k - 1
    z = stats.norm.ppf(1 - (1 - level / 100) / 2)
    h = math.sqrt(q / df) if q > 0 else 0.0
    if q > k:
        se_ln_h = 0.5 * (math.log(q) - math.log(df)) / (math.sqrt(2 * q) - math.sqrt(2 * k - 3))
    else:
        se_ln_h = math.sqrt(1 / (2 * (k - 2)) * (1 - 1 / (3 * (k - 2) ** 2)))
    if h > 0:
        h_low = math.exp(math.log(h) - z * se_ln_h)
        h_high = math.exp(math.log(h) + z * se_ln_h)
    else:
        h_low = h_high = 0.0

    def to_i2(value):
        return 100 * max(0.0, (value**2 - 1) / value**2) if value > 0 else 0.0

    return {
        "h": max(1.0, h),
        "h_low": max(1.0, h_low),
        "h_high": max(1.0, h_high),
        "i2": to_i2(h),
        "i2_low": to_i2(h_low),
        "i2_high": to_i2(h_high),
    }


def heterogeneity_summary(yi, vi=None, *, sei=None, method=None, level=None) -> pd.DataFrame:
    """Q, tau2, tau, I2 and H2 of a meta-analysis with their confidence intervals.

    Parameters
    ----------
    yi, vi : array-like
        Effects and variances, or a fitted ``MetaResult``.
    method, level :
        tau2 estimator and confidence level (default: the fit's, else REML and 95).

    Returns
    -------
    DataFrame
        Rows ``Q``, ``tau2``, ``tau``, ``I2``, ``H2`` (Q-profile intervals,
        Viechtbauer 2007, Stat Med 26:37-52, from the pooling stage) and
        ``I2 (Higgins-Thompson)`` (test-based interval, k >= 3); columns
        ``estimate, ci_low, ci_high, df, p_value, interval``.
    """
    y, v, _, fit = study_arrays(yi, vi, sei=sei, min_k=2)
    method, _, level = fit_options(fit, method, "z", level)
    if method == "EE":
        raise ArgumentError("method: a common-effect (EE) model has no tau2; use a random-effects method")
    result = fit if fit is not None and getattr(fit, "method", None) == method else pooled(y, v, method=method, level=level)
    ci = result.heterogeneity_ci()
    rows = [
        {"quantity": "Q", "estimate": result.q, "ci_low": np.nan, "ci_high": np.nan,
         "df": result.q_df, "p_value": result.q_p_value, "interval": ""},
    ]
    names = {"tau2": "tau2", "tau": "tau", "i2": "I2", "h2": "H2"}
    for key, name in names.items():
        rows.append({"quantity": name, "estimate": ci.loc[key, "estimate"], "ci_low": ci.loc[key, "ci_low"],
                     "ci_high": ci.loc[key, "ci_high"], "df": np.nan, "p_value": np.nan, "interval": "Q-profile"})
    if y.size >= 3:
        ht = higgins_thompson_ci(result.q, y.size, level)
        rows.append({"quantity": "I2 (Higgins-Thompson)", "estimate": ht["i2"], "ci_low": ht["i2_low"],
                     "ci_high": ht["i2_high"], "df": np.nan, "p_value": np.nan, "interval": "test-based"})
    frame = pd.DataFrame(rows)
    frame.attrs.update({"method": method, "level": level})
    return frame
