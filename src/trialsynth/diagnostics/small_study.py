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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.diagnostics._inputs import fit_options, model_fit, pooled, small_k_warning, study_arrays
from trialsynth.errors import ArgumentError

__all__ = [
    "RankTestResult",
    "rank_test",
    "EGGER_PREDICTORS",
    "EggerTestResult",
    "egger_test",
    "TrimFillResult",
    "trim_and_fill",
    "FunnelCoordinates",
    "funnel_coordinates",
]


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


# ------------------------------------------------------------------ Egger


@dataclass
class EggerTestResult:
    """Regression test for funnel plot asymmetry.

    Attributes
    ----------
    model : {"rma", "lm"}
        ``rma``: mixed-effects meta-regression on the predictor (metafor's
        default ``regtest``); ``lm``: the weighted regression with a
        multiplicative dispersion of Egger et al. (1997).
    predictor : str
        ``sei``, ``vi``, ``ni``, ``ninv``, ``sqrtni`` or ``sqrtninv``.
    statistic, p_value : float
        Test of the slope (z, or t with ``dfs`` df).
    dfs : int or None
        Degrees of freedom of the t test (``lm``: k - 2; ``rma`` with knha: k - 2).
    limit_estimate, limit_ci_low, limit_ci_high : float
        The intercept: the effect expected in a study of infinite precision
        (predictor = 0), with its CI (Stanley & Doucouliagos 2014). NaN for the
        predictors ``ni`` and ``sqrtni``, whose zero is not infinite precision.
    coefficients : DataFrame
        ``term`` (intercept, slope), ``estimate``, ``se``.
    tau2 : float or None
        Residual heterogeneity of the ``rma`` model.
    sigma : float or None
        Residual standard error of the ``lm`` model.
    k : int
    test : str
        The name of the test (``"egger"``, ``"egger_rma"``, ``"peters"``, ``"harbord"``).
    warnings : list of str
    """

    model: str
    predictor: str
    statistic: float
    p_value: float
    dfs: int | None
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    coefficients: pd.DataFrame
    tau2: float | None
    sigma: float | None
    k: int
    method: str | None = None
    warnings: list[str] = field(default_factory=list)
    test: str | None = None

    def __post_init__(self):
        if self.test is None:
            self.test = "egger" if self.model == "lm" else "egger_rma"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "test": self.test,
                    "model": self.model,
                    "predictor": self.predictor,
                    "statistic": self.statistic,
                    "p_value": self.p_value,
                    "dfs": self.dfs,
                    "limit_estimate": self.limit_estimate,
                    "limit_ci_low": self.limit_ci_low,
                    "limit_ci_high": self.limit_ci_high,
                    "k": self.k,
                }
            ]
        )


#: Predictors of :func:`egger_test` (metafor's ``regtest`` names) and whether their zero
#: is a study of infinite precision (so that the intercept is a limit estimate).
EGGER_PREDICTORS: dict[str, bool] = {
    "sei": True, "vi": True, "ni": False, "ninv": True, "sqrtni": False, "sqrtninv": True,
}


def _predictor_values(predictor: str, v: np.ndarray, ni) -> np.ndarray:
    if predictor == "sei":
        return np.sqrt(v)
    if predictor == "vi":
        return v
    if ni is None:
        raise ArgumentError(
            f"ni: predictor {predictor!r} needs the studies' sample sizes (ni), for example n1 + n2"
        )
    try:
        n = np.asarray(ni, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ArgumentError(f"ni: expected numbers, got {ni!r}") from None
    if n.size != v.size:
        raise ArgumentError(f"ni: expected {v.size} sample sizes (one per study), got {n.size}")
    bad = np.flatnonzero(~np.isfinite(n) | (n <= 0))
    if bad.size:
        raise ArgumentError(f"ni: expected sample sizes > 0, got {n[bad].tolist()} at positions {bad.tolist()}")
    return {"ni": n, "ninv": 1 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1 / np.sqrt(n)}[predictor]


def weighted_lm_test(y, v, x, *, level: float, predictor: str, limit: bool = True,
                     test: str = "egger", notes=None) -> EggerTestResult:
    """Weighted least squares ``y = b0 + b1 x`` with weights 1/v and a multiplicative
    residual variance; t test of b1 on k - 2 df (Egger et al. 1997; Sterne & Egger 2005)."""
    k = y.size
    notes = list(notes or [])
    X = np.column_stack([np.ones(k), x])
    w = 1 / v
    xtwx_inv = np.linalg.inv((X.T * w) @ X)
    b = xtwx_inv @ ((X.T * w) @ y)
    dfs = k - 2
    if dfs < 1:
        notes.append(
            f"k = {k}: the regression line passes through both studies, leaving no residual "
            "degrees of freedom; the slope cannot be tested (standard errors, test and CI are NaN)"
        )
        sigma = float("nan")
        se = np.full(2, np.nan)
        statistic = p_value = ci_low = ci_high = float("nan")
    else:
        resid = y - X @ b
        sigma = float(np.sqrt(np.sum(w * resid**2) / dfs))
        se = sigma * np.sqrt(np.diag(xtwx_inv))
        statistic = float(b[1] / se[1])
        p_value = float(2 * stats.t.sf(abs(statistic), dfs))
        crit = stats.t.ppf(1 - (1 - level / 100) / 2, dfs)
        ci_low, ci_high = float(b[0] - crit * se[0]), float(b[0] + crit * se[0])
    nan = float("nan")
    return EggerTestResult(
        model="lm", predictor=predictor, statistic=statistic, p_value=p_value, dfs=dfs,
        limit_estimate=float(b[0]) if limit else nan, limit_ci_low=ci_low if limit else nan,
        limit_ci_high=ci_high if limit else nan,
        coefficients=pd.DataFrame({"term": ["intercept", predictor], "estimate": b, "se": se}),
        tau2=None, sigma=sigma, k=k, warnings=notes, test=test,
    )


def egger_test(
    yi,
    vi=None,
    *,
    sei=None,
    model: str = "rma",
    predictor: str = "sei",
    ni=None,
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
) -> EggerTestResult:
    """Egger's regression test for funnel plot asymmetry, with metafor's predictors.

    ``model="lm"`` is the classical test of Egger et al. (1997, BMJ 315:629-634):
    the weighted least-squares regression y_i = b0 + b1 x_i + e_i with
    weights 1/v_i and a multiplicative residual variance (for ``x = sei``,
    equivalent to regressing y_i/se_i on 1/se_i), testing b1 = 0 with t on k - 2 df.

    ``model="rma"`` (metafor's default) is the mixed-effects meta-regression
    y_i = b0 + b1 x_i + u_i + e_i, u_i ~ N(0, tau2), fitted with the same
    tau2 estimator and test as the meta-analysis (Sterne & Egger 2005, in
    Rothstein et al., Publication Bias in Meta-Analysis, ch. 6, eq. 6.5).

    The predictor x (metafor's ``regtest`` names; Sterne & Egger 2005; Moreno et
    al. 2009, *BMC Med Res Methodol* 9:2):

    ``"sei"`` the standard error (Egger et al. 1997); ``"vi"`` the variance (the PEESE
    of Stanley & Doucouliagos 2014, *Res Synth Methods* 5:60); ``"ni"`` the sample
    size, ``"ninv"`` its inverse (Peters et al. 2006 use it with their own weights,
    see :func:`trialsynth.diagnostics.binary_bias.peters_test`), ``"sqrtni"`` its
    square root, ``"sqrtninv"`` its inverse square root, which for a standardised
    mean difference is free of the correlation between an SMD and its standard
    error that makes ``sei`` over-reject (Pustejovsky & Rodgers 2019, *Res Synth
    Methods* 10:57-71).

    For predictors whose zero is a study of infinite precision (sei, vi, ninv,
    sqrtninv), the intercept b0 is the limit estimate.

    Parameters
    ----------
    yi, vi : array-like
        Effects and sampling variances, or a fitted ``MetaResult`` as ``yi``
        (its method and test are used).
    sei : array-like, optional
        Standard errors instead of ``vi``.
    model : {"rma", "lm"}
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}
    ni : array-like, optional
        Sample sizes (total per study), for the ``n`` predictors.
    method, test, level :
        For ``model="rma"`` (default: the fitted result's, else REML and z).

    Returns
    -------
    EggerTestResult
    """
    y, v, _, fit = study_arrays(yi, vi, sei=sei, min_k=2)
    method, test, level = fit_options(fit, method, test, level)
    if model not in ("rma", "lm"):
        raise ArgumentError(f"model: expected 'rma' or 'lm', got {model!r}")
    if predictor not in EGGER_PREDICTORS:
        raise ArgumentError(f"predictor: expected one of {', '.join(EGGER_PREDICTORS)}, got {predictor!r}")
    k = y.size
    x = _predictor_values(predictor, v, ni)
    limit = EGGER_PREDICTORS[predictor]
    notes = []
    small = small_k_warning("Egger's regression test", k)
    if small:
        notes.append(small)
    if model == "lm":
        return weighted_lm_test(y, v, x, level=level, predictor=predictor, limit=limit, notes=notes)
    if k < 3:
        raise ArgumentError(
            f"yi: the mixed-effects regression test needs at least 3 studies (it estimates an "
            f"intercept, a slope and tau2), got k = {k}; metafor's regtest refuses this case too"
        )
    X = np.column_stack([np.ones(k), x])
    res = model_fit(y, v, X, method=method, test=test, level=level)
    notes.extend(res.warnings)
    nan = float("nan")
    return EggerTestResult(
        model="rma",
        predictor=predictor,
        statistic=float(res.statistic[1]),
        p_value=float(res.p_value[1]),
        dfs=None if res.dfs is None else int(res.dfs),
        limit_estimate=float(res.b[0]) if limit else nan,
        limit_ci_low=float(res.ci_low[0]) if limit else nan,
        limit_ci_high=float(res.ci_high[0]) if limit else nan,
        coefficients=pd.DataFrame({"term": ["intercept", predictor], "estimate": res.b, "se": res.se}),
        tau2=float(res.tau2),
        sigma=None,
        k=k,
        method=method,
        warnings=notes,
    )


# ------------------------------------------------------------ trim and fill


@dataclass
class TrimFillResult:
    """Trim-and-fill analysis (Duval & Tweedie 2000).

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies.
    se_k0 : float
        Standard error of the estimator of k0.
    p_k0 : float or None
        R0 only: probability of a rightmost run at least this long if no
        study is missing.
    side : {"left", "right"}
        The side of the funnel on which studies were imputed.
    estimator : {"L0", "R0"}
    fit : MetaResult
        The meta-analysis of the observed plus the imputed studies.
    yi, vi : ndarray
        The augmented data (observed studies in input order, then the
        imputed ones); ``fill`` flags the imputed studies.
    labels : list of str
    iterations : int
    """

    k0: int
    se_k0: float
    p_k0: float | None
    side: str
    estimator: str
    fit: object
    yi: np.ndarray
    vi: np.ndarray
    fill: np.ndarray
    labels: list[str]
    iterations: int
    warnings: list[str] = field(default_factory=list)

    @property
    def estimate(self) -> float:
        return self.fit.estimate

    @property
    def ci_low(self) -> float:
        return self.fit.ci_low

    @property
    def ci_high(self) -> float:
        return self.fit.ci_high

    def study_frame(self) -> pd.DataFrame:
        """The augmented studies: label, yi, vi, sei, filled."""
        return pd.DataFrame(
            {"label": self.labels, "yi": self.yi, "vi": self.vi, "sei": np.sqrt(self.vi), "filled": self.fill}
        )

    def to_frame(self) -> pd.DataFrame:
        row = {"estimator": self.estimator, "side": self.side, "k0": self.k0, "se_k0": self.se_k0, "p_k0": self.p_k0}
        frame = self.fit.to_frame()
        for position, (key, value) in enumerate(row.items()):
            frame.insert(position, key, value)
        return frame


def _trim_estimate_k0(y_sorted, v_sorted, method, estimator, maxiter):
    """Iterate the trimming until k0 is stable (Duval & Tweedie 2000, section 2)."""
    k = y_sorted.size
    k0 = 0
    previous = -1
    iterations = 0
    center = float("nan")
    raw_k0 = 0.0
    while k0 != previous:
        previous = k0
        iterations += 1
        if iterations > maxiter:
            raise ArgumentError(f"trim and fill did not converge in {maxiter} iterations")
        if k - k0 < 1:
            raise ArgumentError("trim and fill trimmed every study; the funnel is too asymmetric to fill")
        trimmed = pooled(y_sorted[: k - k0], v_sorted[: k - k0], method=method)
        center = trimmed.estimate
        deviation = y_sorted - center
        # ranks of |deviation|, ties by order of appearance
        order = np.argsort(np.abs(deviation), kind="stable")
        ranks = np.empty(k)
        ranks[order] = np.arange(1, k + 1)
        signed = np.sign(deviation) * ranks
        if estimator == "L0":
            t_n = signed[signed > 0].sum()
            raw_k0 = (4 * t_n - k * (k + 1)) / (2 * k - 1)
        else:
            negative = -signed[signed < 0]
            longest = negative.max() if negative.size else 0
            raw_k0 = (k - longest) - 1
        k0 = int(max(0, _round_half_even(raw_k0)))
    return k0, raw_k0, center, iterations


def _round_half_even(x: float) -> float:
    """R's round(): IEC 60559 round half to even."""
    return float(np.round(x))


def trim_and_fill(
    yi,
    vi=None,
    *,
    sei=None,
    estimator: str = "L0",
    side: str | None = None,
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
    labels=None,
    maxiter: int = 100,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method.

    The studies are sorted by effect (mirrored when the missing side is the
    right one, so that studies are always missing on the left). Iteratively,
    the k0 most extreme studies on the other side are trimmed, the pooled
    effect theta of the rest is estimated, and k0 is re-estimated from the
    signed ranks of |y_i - theta| over all k studies (Duval & Tweedie 2000,
    Biometrics 56:455-463, eq. 1-3):

    * L0 = (4 T_n - k(k + 1)) / (2k - 1), T_n the sum of the positive ranks;
    * R0 = gamma* - 1, gamma* the length of the rightmost run of positive ranks.

    k0 = max(0, round(estimate)); the iteration stops when k0 no longer changes.
    The k0 trimmed studies are then mirrored about theta (y' = 2 theta - y,
    same variance) and the meta-analysis is refitted with them.

    The standard error of L0 uses Var(T_n) of Duval & Tweedie (2000, JASA
    95:89-98, eq. 8) at the unrounded L0; that of R0 is sqrt(2 R0 + 2). For R0,
    ``p_k0`` = P(R0 >= k0 | no missing studies) = 0.5^(k0 + 1).

    Parameters
    ----------
    yi, vi : array-like
        Effects and variances, or a fitted ``MetaResult`` (its method and test
        are reused).
    estimator : {"L0", "R0"}
    side : {"left", "right"}, optional
        Side on which studies are missing. By default chosen as metafor does:
        from the sign of the slope of the mixed-effects regression of y on the
        standard error (same tau2 estimator): a negative slope means studies are
        missing on the right.
    method, test, level :
        Model used for trimming and for the filled-in fit (default: the
        fitted result's, else REML and z).
    labels : sequence of str, optional
        Study labels; imputed studies are labelled ``"filled <label>"``.

    Returns
    -------
    TrimFillResult
    """
    y, v, lab, fit = study_arrays(yi, vi, sei=sei, labels=labels, min_k=1)
    method, test, level = fit_options(fit, method, test, level)
    estimator = str(estimator).upper()
    if estimator not in ("L0", "R0"):
        raise ArgumentError(f"estimator: expected 'L0' or 'R0', got {estimator!r}")
    k = y.size
    if k < 3:
        raise ArgumentError(
            f"yi: trim and fill needs at least 3 studies (the side is chosen by a regression with an "
            f"intercept, a slope and tau2), got k = {k}; metafor's trimfill refuses this case too"
        )
    notes = []
    small = small_k_warning("Trim and fill", k)
    if small:
        notes.append(small)
    if side is None:
        slope = model_fit(y, v, np.column_stack([np.ones(k), np.sqrt(v)]), method=method).b[1]
        side = "right" if slope < 0 else "left"
    elif side not in ("left", "right"):
        raise ArgumentError(f"side: expected 'left' or 'right', got {side!r}")
    sign = -1.0 if side == "right" else 1.0
    flipped = sign * y
    order = np.argsort(flipped, kind="stable")
    y_sorted, v_sorted = flipped[order], v[order]
    k0, raw_k0, center, iterations = _trim_estimate_k0(y_sorted, v_sorted, method, estimator, maxiter)
    if estimator == "L0":
        var_tn = (
            k * (k + 1) * (2 * k + 1)
            + 10 * raw_k0**3
            + 27 * raw_k0**2
            + 17 * raw_k0
            - 18 * k * raw_k0**2
            - 18 * k * raw_k0
            + 6 * k**2 * raw_k0
        ) / 24
        se_k0 = float(4 * np.sqrt(var_tn) / (2 * k - 1))
        p_k0 = None
    else:
        se_k0 = float(np.sqrt(2 * max(0, raw_k0) + 2))
        p_k0 = float(0.5 ** (k0 + 1))
    if k0 > 0:
        mirrored = 2 * center - y_sorted[k - k0 :]
        y_fill = sign * mirrored
        v_fill = v_sorted[k - k0 :]
        lab_fill = [f"filled {lab[i]}" for i in order[k - k0 :]]
    else:
        y_fill = np.empty(0)
        v_fill = np.empty(0)
        lab_fill = []
    y_all = np.concatenate([y, y_fill])
    v_all = np.concatenate([v, v_fill])
    labels_all = lab + lab_fill
    fill = np.concatenate([np.zeros(k, bool), np.ones(k0, bool)])
    filled_fit = pooled(
        y_all, v_all, method=method, test=test, level=level, labels=labels_all,
        measure=getattr(fit, "measure", None),
    )
    return TrimFillResult(
        k0=k0,
        se_k0=se_k0,
        p_k0=p_k0,
        side=side,
        estimator=estimator,
        fit=filled_fit,
        yi=y_all,
        vi=v_all,
        fill=fill,
        labels=labels_all,
        iterations=iterations,
        warnings=notes,
    )


# ------------------------------------------------------------------ funnel


@dataclass
class FunnelCoordinates:
    """Everything a funnel plot draws (no statistics are computed by the plot).

    Attributes
    ----------
    studies : DataFrame
        ``label, yi, sei, filled`` per study.
    center : float
        The pooled estimate the pseudo-confidence region is centred on.
    pseudo_ci : DataFrame
        ``sei, ci_low, ci_high`` along a grid of standard errors from 0 to
        the largest one: center -/+ z sei (the triangle of a funnel plot).
    contours : DataFrame
        ``level, sei, low, high``: for each significance contour (default
        .90, .95, .99, i.e. p = .10, .05, .01), the effects at which a study
        of that standard error would be just significant, -/+ z sei around 0
        (Peters et al. 2008, J Clin Epidemiol 61:991-996).
    level : float
        The level of the pseudo-confidence region, in percent.
    """

    studies: pd.DataFrame
    center: float
    pseudo_ci: pd.DataFrame
    contours: pd.DataFrame
    level: float
    refline: float = 0.0


def funnel_coordinates(
    yi,
    vi=None,
    *,
    sei=None,
    center: float | None = None,
    level: float = 95,
    contour_levels=(0.90, 0.95, 0.99),
    refline: float = 0.0,
    labels=None,
    method: str | None = None,
    n_points: int = 101,
) -> FunnelCoordinates:
    """Coordinates for a (contour-enhanced) funnel plot.

    Parameters
    ----------
    yi, vi : array-like
        Effects and variances, a fitted ``MetaResult``, or a
        :class:`TrimFillResult` (then imputed studies are flagged ``filled``).
    center : float, optional
        Centre of the pseudo-confidence region. Default: the fit's estimate,
        else the pooled estimate with ``method`` (default REML) - as metafor's
        ``funnel``.
    level : float
        Level (%) of the pseudo-confidence region.
    contour_levels : sequence of float
        Confidence levels (fractions) of the significance contours around
        ``refline`` (Peters et al. 2008).
    refline : float
        The null value the contours are drawn around (0 on the analysis scale).
    n_points : int
        Grid size along the standard error axis.

    Returns
    -------
    FunnelCoordinates
    """
    filled = None
    source = yi
    if isinstance(yi, TrimFillResult):
        filled = yi.fill
        if labels is None:
            labels = yi.labels
        if center is None:
            center = yi.fit.estimate
        source, vi = yi.yi, yi.vi
    y, v, lab, fit = study_arrays(source, vi, sei=sei, labels=labels, min_k=1)
    if center is None:
        if fit is not None:
            center = fit.estimate
        else:
            center = pooled(y, v, method=method or "REML").estimate
    level = float(level)
    if not 0 < level < 100:
        raise ArgumentError(f"level: expected a percentage in (0, 100), got {level!r}")
    contour_levels = [float(c) for c in contour_levels]
    for c in contour_levels:
        if not 0 < c < 1:
            raise ArgumentError(f"contour_levels: expected fractions in (0, 1), got {c!r}")
    if int(n_points) < 2:
        raise ArgumentError(f"n_points: expected at least 2, got {n_points!r}")
    se = np.sqrt(v)
    grid = np.linspace(0.0, se.max(), int(n_points))
    z = stats.norm.ppf(1 - (1 - level / 100) / 2)
    pseudo = pd.DataFrame({"sei": grid, "ci_low": center - z * grid, "ci_high": center + z * grid})
    rows = []
    for c in sorted(contour_levels):
        zc = stats.norm.ppf(1 - (1 - c) / 2)
        rows.append(
            pd.DataFrame(
                {"level": c, "p_value": round(1 - c, 10), "sei": grid, "low": refline - zc * grid, "high": refline + zc * grid}
            )
        )
    contours = pd.concat(rows, ignore_index=True)
    studies = pd.DataFrame(
        {"label": lab, "yi": y, "sei": se, "filled": np.zeros(y.size, bool) if filled is None else np.asarray(filled, bool)}
    )
    return FunnelCoordinates(
        studies=studies, center=float(center), pseudo_ci=pseudo, contours=contours, level=level, refline=refline
    )
