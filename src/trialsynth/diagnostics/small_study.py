"""Small-study effects and publication bias: rank test, Egger's test, trim and fill, funnels.

All functions take ``yi, vi`` (or a fitted :class:`trialsynth.MetaResult`)
and reproduce metafor 3.8's ``ranktest``, ``regtest``, ``trimfill`` and the
coordinates drawn by ``funnel``. Every test warns when k < 10: with fewer
studies the tests cannot tell chance from real asymmetry (Sterne et al. 2011,
BMJ 343:d4002; Cochrane Handbook for Systematic Reviews of Interventions,
section 13.3.5.4).
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.diagnostics._inputs import small_k_warning, study_arrays
from trialsynth.errors import ArgumentError

__all__ = ["RankTestResult", "rank_test"]


# ------------------------------------------------------------------ rank test

_EXACT_MAX_K = 500  # beyond this the exact distribution is slow and the normal one exact enough


@dataclass
class RankTestResult:
    """Begg and Mazumdar's rank correlation test.

    Attributes
    ----------
    tau : float
        Kendall's tau between the standardised effects and their variances.
    p_value : float
        Two-sided p-value (exact or normal approximation, see ``exact``).
    exact : bool
        Whether the exact null distribution of Kendall's statistic was used.
    k : int
    warnings : list of str
    """

    tau: float
    p_value: float
    exact: bool
    k: int
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"test": "rank", "tau": self.tau, "p_value": self.p_value, "exact": self.exact, "k": self.k}])


def _kendall_exact_p(concordant_minus_discordant: int, n: int) -> float:
    """Exact two-sided p-value of Kendall's S for n untied pairs.

    The null distribution of the number of inversions of a random permutation
    is built by the recursion of Kendall (1938); the p-value is twice the
    smaller tail, capped at 1 (as R's ``cor.test``).
    """
    # prob[j] = P(j inversions) for a random permutation; adding element m
    # spreads each count uniformly over shifts 0..m-1 (a box convolution).
    prob = np.array([1.0])
    for m in range(2, n + 1):
        cumulative = np.concatenate([[0.0], np.cumsum(prob)])
        size = prob.size + m - 1
        idx = np.arange(size)
        hi = np.minimum(idx, prob.size - 1) + 1
        lo = np.maximum(idx - m + 1, 0)
        prob = (cumulative[hi] - cumulative[lo]) / m
    n_pairs = n * (n - 1) // 2
    # S = concordant - discordant = n_pairs - 2 * discordant
    discordant = (n_pairs - concordant_minus_discordant) // 2
    concordant = n_pairs - discordant
    # the number of concordant pairs is distributed like the inversion count
    lower = prob[: concordant + 1].sum()
    upper = prob[concordant:].sum()
    return float(min(1.0, 2 * min(lower, upper)))


def _kendall(x: np.ndarray, y: np.ndarray, exact: bool | None):
    """Kendall's tau-b with exact or normal-approximation p-value (Kendall 1938, 1945)."""
    n = x.size
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    upper = np.triu_indices(n, 1)
    s = int(np.sum(dx[upper] * dy[upper]))
    n0 = n * (n - 1) / 2

    def tie_sums(values):
        _, counts = np.unique(values, return_counts=True)
        t = counts[counts > 1].astype(float)
        return t

    tx, ty = tie_sums(x), tie_sums(y)
    n1 = np.sum(tx * (tx - 1) / 2)
    n2 = np.sum(ty * (ty - 1) / 2)
    denom = math.sqrt((n0 - n1) * (n0 - n2))
    tau = s / denom if denom > 0 else float("nan")
    ties = tx.size > 0 or ty.size > 0
    use_exact = (n <= _EXACT_MAX_K) if exact is None else bool(exact)
    notes = []
    if use_exact and ties:
        notes.append("cannot compute an exact p-value with ties; normal approximation used")
        use_exact = False
    if use_exact:
        p = _kendall_exact_p(s, n)
    else:
        # variance of S with ties (Kendall 1945)
        v0 = n * (n - 1) * (2 * n + 5)
        vt = np.sum(tx * (tx - 1) * (2 * tx + 5))
        vu = np.sum(ty * (ty - 1) * (2 * ty + 5))
        v1 = np.sum(tx * (tx - 1)) * np.sum(ty * (ty - 1)) / (2 * n * (n - 1))
        v2 = np.sum(tx * (tx - 1) * (tx - 2)) * np.sum(ty * (ty - 1) * (ty - 2)) / (9 * n * (n - 1) * (n - 2))
        var_s = (v0 - vt - vu) / 18 + v1 + v2
        z = s / math.sqrt(var_s)
        p = float(2 * stats.norm.sf(abs(z)))
    return tau, p, use_exact, notes


def rank_test(yi, vi=None, *, sei=None, exact: bool | None = None) -> RankTestResult:
    """Begg and Mazumdar's (1994) rank correlation test for funnel plot asymmetry.

    The effects are standardised around the common-effect estimate,
    y*_i = (y_i - theta_FE) / sqrt(v_i - 1/sum(w)), w_i = 1/v_i
    (Begg & Mazumdar 1994, Biometrics 50:1088-1101, eq. 1-2), and Kendall's
    tau between y*_i and v_i is tested against 0.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances (or a fitted ``MetaResult`` as ``yi``).
    sei : array-like, optional
        Standard errors instead of ``vi``.
    exact : bool, optional
        Use the exact null distribution of Kendall's statistic. By default
        exact whenever there are no ties (as metafor's ``ranktest``, which
        calls ``cor.test(..., exact = TRUE)``; up to k = 500), otherwise the
        normal approximation with the tie-corrected variance of S
        (Kendall 1945), with a warning.

    Returns
    -------
    RankTestResult
    """
    y, v, _, _ = study_arrays(yi, vi, sei=sei, min_k=2)
    w = 1 / v
    theta = np.sum(w * y) / np.sum(w)
    v_star = v - 1 / np.sum(w)
    y_star = (y - theta) / np.sqrt(v_star)
    tau, p, used_exact, notes = _kendall(y_star, v, exact)
    warnings = list(notes)
    small = small_k_warning("The rank correlation test", y.size)
    if small:
        warnings.append(small)
    return RankTestResult(tau=float(tau), p_value=p, exact=used_exact, k=int(y.size), warnings=warnings)
