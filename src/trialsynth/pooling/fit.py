"""Fitting the common-effect, random-effects and mixed-effects meta-analysis models.

:func:`fit_model` is the general weighted fit (any design ``X``) shared by
:func:`pool` (intercept only) and :func:`trialsynth.pooling.regression.meta_regression`.

References
----------
* DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
* Hartung J, Knapp G (2001). On tests of the overall treatment effect in meta-analysis with
  normally distributed responses. Stat Med 20:1771-1782 (eqs. 6-8: the scale factor s2w and
  the t reference distribution with k - p df).
* Sidik K, Jonkman JN (2002). A simple confidence interval for meta-analysis. Stat Med
  21:3153-3159.
* Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
  covariate. Stat Med 22:2693-2710 (the ad hoc variant max(1, s2w), "never narrower").
* Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med
  21:1539-1558 (I2, H2; here in the tau2-based form of Higgins & Thompson 2002, eq. 9 with the
  "typical" within-study variance s2 = (k-p)/tr(P) of Viechtbauer 2007/metafor).
* Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects
  meta-analysis. J R Stat Soc A 172:137-159 (prediction interval, section 3.4 / eq. 12).
* Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
  random-effects model. J Educ Behav Stat 30:261-293 (likelihoods, information criteria).
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import special  # not scipy.stats: its import costs ~0.3 s; same functions

from trialsynth.errors import ArgumentError
from trialsynth.pooling._lazy import Deferred, LazyField
from trialsynth.pooling._linalg import (
    intercept_design,
    logdet,
    p_matrix,
    raise_malloc_mmap_threshold,
    vdot,
    wls,
)
from trialsynth.pooling.estimators import (
    EXTRA_METHODS,
    GENQ_METHODS,
    METHODS,
    SMALL_K,
    _estimate_intercept,
    _estimate_intercept_small,
    _weighted_mean_small,
    check_tau2_init,
    centred_fixed_effect_sums,
    estimate_tau2,
    fixed_effect_sums,
    fixed_effect_sums_small,
    nonconvergence_message,
    normalise_method,
)
from trialsynth.pooling.profiles import get_profile
from trialsynth.pooling.results import MetaResult

raise_malloc_mmap_threshold()  # large-k fits: temporaries from the heap, not fresh mappings

TESTS: tuple[str, ...] = ("z", "knha", "adhoc")
_TEST_ALIASES = {"HKSJ": "knha", "KNHA": "knha", "HK": "knha", "Z": "z", "ADHOC": "adhoc",
                 "T": "knha"}
PI_METHODS: tuple[str, ...] = ("auto", "normal", "t", "hts")


class MetaWarning(UserWarning):
    """A statistical caveat about a fit (collected in ``result.warnings`` too)."""


def normalise_test(test: str) -> str:
    """Canonical test name (``z``, ``knha`` or ``adhoc``), or ArgumentError."""
    if test in TESTS:
        return test
    if not isinstance(test, str):
        raise ArgumentError(f"test must be one of {', '.join(TESTS)}; got {test!r}")
    key = test.strip()
    key = _TEST_ALIASES.get(key.upper(), key)
    if key not in TESTS:
        raise ArgumentError(f"test must be one of {', '.join(TESTS)} (or 'hksj'); got {test!r}")
    return key


def check_level(level) -> float:
    """Confidence level in percent (0 < level < 100); 0.95 is read as 95."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ArgumentError(f"level must be a number such as 95; got {level!r}") from None
    if 0 < level < 1:
        level *= 100.0
    if not 0 < level < 100:
        raise ArgumentError(f"level must lie between 0 and 100 (percent); got {level!r}")
    return level


def study_labels(labels, k: int) -> list[str]:
    """``labels`` as ``k`` strings ("1" ... "k" when None); an ArgumentError when the count differs."""
    if labels is None:
        return [str(i + 1) for i in range(k)]
    out = [str(x) for x in labels]
    if len(out) != k:
        raise ArgumentError(f"labels: expected {k} labels (one per study), got {len(out)}")
    return out


def validate_inputs(yi, vi=None, sei=None) -> tuple[np.ndarray, np.ndarray]:
    """Check and convert the outcome and variance arrays.

    Raises ArgumentError naming the argument for wrong shapes, mismatched lengths,
    non-finite values and non-positive variances.
    """
    if vi is None and sei is None:
        raise ArgumentError("give the sampling variances vi or the standard errors sei")
    if vi is not None and sei is not None:
        raise ArgumentError("give either vi or sei, not both")
    y = _as_1d(yi, "yi")
    if vi is not None:
        v = _as_1d(vi, "vi")
        vname = "vi"
    else:
        s = _as_1d(sei, "sei")
        v = s * s
        vname = "sei"
        if s.size and np.nanmin(s) <= 0:
            bad = np.flatnonzero(s <= 0)
            raise ArgumentError(f"sei must be positive; non-positive at positions {bad.tolist()}")
    if y.size != v.size:
        raise ArgumentError(f"yi has {y.size} values but {vname} has {v.size}; lengths must match")
    if y.size == 0:
        raise ArgumentError("yi is empty; at least one study is needed")
    if not _all_finite(y):
        bad_y = np.flatnonzero(~np.isfinite(y))
        raise ArgumentError(f"yi must be finite; missing or infinite at positions {bad_y.tolist()}")
    if not _all_finite(v):
        bad_v = np.flatnonzero(~np.isfinite(v))
        raise ArgumentError(
            f"{vname} must be finite; missing or infinite at positions {bad_v.tolist()}"
        )
    if (min(v.tolist()) if v.size <= SMALL_K else v.min()) <= 0:
        bad_v = np.flatnonzero(v <= 0)
        raise ArgumentError(
            f"{vname} must be positive (a sampling variance); zero or negative at positions "
            f"{bad_v.tolist()}"
        )
    return y, v


def _all_finite(arr: np.ndarray) -> bool:
    """True when every value is finite.

    A sum is finite only if every summand is (NaN and infinities propagate), so a finite sum
    settles it with one pass; only a non-finite sum (which finite values can also give, by
    overflow) needs the element-wise check.  For small arrays a Python sum of ``tolist()`` is
    cheaper than numpy's per-call overhead.
    """
    total = sum(arr.tolist()) if arr.size <= SMALL_K else float(arr.sum())
    return math.isfinite(total) or bool(np.isfinite(arr).all())


def _as_1d(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name} must be numeric; got {values!r:.80}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ArgumentError(f"{name} must be one-dimensional; got shape {arr.shape}")
    return arr


@dataclass
class ModelFit:
    """Everything computed by :func:`fit_model` (arrays over the p coefficients)."""

    b: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    k: int
    p: int
    dfs: float | None
    s2w: float
    #: percent weights; computed on first read when given as a Deferred
    weights: np.ndarray = LazyField()
    #: information criteria (see :func:`likelihood_stats`); computed on first read when deferred
    fit_stats: dict = LazyField()
    method: str
    test: str
    level: float
    converged: bool
    iterations: int
    warnings: list[str] = field(default_factory=list)
    s2: float = float("nan")
    crit: float = float("nan")


def fit_model(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray | None = None,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    weights: np.ndarray | None = None,
    tau2: float | None = None,
    tol: float = 1e-12,
    maxiter: int = 10000,
    tau2_init: float | None = None,
) -> ModelFit:
    """Fit the (mixed-effects) meta-analysis model y = X b + u + e.

    Parameters
    ----------
    yi, vi : array
        Validated effects and sampling variances.
    X : (k, p) array, optional
        Design matrix (intercept only by default).
    method, test, level
        The tau2 estimator, the inference (z, knha, adhoc), the confidence level (%).
    weights : array, optional
        User weights a_i (as metafor's ``weights=``); the estimate is (X'AX)^-1 X'A y with
        the sandwich variance (X'AX)^-1 X'A S A X (X'AX)^-1, S = diag(v + tau2). ``GENQ``
        uses them (default 1/v) in its estimating equation.
    tau2 : float, optional
        A fixed tau2 value (no estimation).
    tau2_init : float, optional
        Start of the ML/REML iteration, initial estimate of SJ (metafor's ``tau2.init``).
    """
    method = normalise_method(method)
    test = normalise_test(test)
    level = check_level(level)
    tau2_init = check_tau2_init(tau2_init)
    k = yi.size
    if X is None and weights is None and k >= 2:
        return _fit_intercept(yi, vi, method, test, level, tau2, tol, maxiter, tau2_init)
    X = intercept_design(k) if X is None else np.asarray(X, dtype=float)
    p = X.shape[1]
    msgs: list[str] = []
    if method in GENQ_METHODS and weights is None:
        weights = 1.0 / vi

    if tau2 is not None:
        est_tau2, se_tau2, converged, iterations = float(tau2), None, True, 0
    else:
        est = estimate_tau2(yi, vi, X, method, weights=weights, tol=tol, maxiter=maxiter,
                            tau2_init=tau2_init)
        est_tau2, se_tau2, converged, iterations = est.tau2, est.se_tau2, est.converged, est.iterations
        msgs.extend(est.messages)

    w = 1.0 / (vi + est_tau2)
    if weights is None:
        b, vb = wls(yi, X, w)
        wt = w
    else:
        a = np.asarray(weights, dtype=float)
        b, xtax_inv = wls(yi, X, a)
        xta = X.T * a
        vb = xtax_inv @ (xta * (vi + est_tau2)[None, :]) @ xta.T @ xtax_inv
        wt = a

    # Knapp-Hartung scale from the optimally weighted residuals (Hartung & Knapp 2001, eq. 7)
    dfr = k - p
    if dfr > 0:
        b_opt, _ = wls(yi, X, w)
        r = yi - X @ b_opt
        s2w = float(np.sum(w * r * r) / dfr)
    else:
        s2w = float("nan")

    alpha = 1.0 - level / 100.0
    if test == "z":
        scale, dfs = 1.0, None
    else:
        if dfr < 1:
            raise ArgumentError(
                f"test={test!r} needs k - p >= 1 residual degrees of freedom; k = {k}, p = {p}. "
                "Use test='z'."
            )
        scale = s2w if test == "knha" else max(1.0, s2w)
        dfs = float(dfr)
        if method == "EE":
            msgs.append("the Knapp-Hartung method is not meant for common-effect (EE) models")
        if test == "knha":
            note = _hksj_narrowing_message(s2w, float(special.stdtrit(dfs, 1.0 - alpha / 2.0)),
                                           float(special.ndtri(1.0 - alpha / 2.0)))
            if note:
                msgs.append(note)
    vb = vb * scale
    se = np.sqrt(np.diag(vb))
    if np.any(se == 0):
        msgs.append(
            "a standard error is 0 (residuals all zero, so the Knapp-Hartung scale s2w is 0); "
            "its test statistic and p-value are undefined"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = b / se
    if dfs is None:
        # scipy.stats' norm.sf(x) is special.ndtr(-x), t.sf(x, df) is stdtr(df, -x),
        # norm.ppf is ndtri and t.ppf(q, df) is stdtrit(df, q)
        p_value = 2.0 * special.ndtr(-np.abs(statistic))
        crit = float(special.ndtri(1.0 - alpha / 2.0))
    else:
        p_value = 2.0 * special.stdtr(dfs, -np.abs(statistic))
        crit = float(special.stdtrit(dfs, 1.0 - alpha / 2.0))
    ci_low = b - crit * se
    ci_high = b + crit * se

    # heterogeneity: Q always with weights 1/v (Cochran 1954)
    w0 = 1.0 / vi
    P0 = p_matrix(X, w0)
    q = float(yi @ P0 @ yi)
    # chi2.sf(q, df) = chdtrc(df, q); 1 for q <= 0 (rounding can make Q a hair below 0)
    q_p_value = (float(special.chdtrc(dfr, q)) if q > 0 else 1.0) if dfr > 0 else float("nan")
    if dfr > 0:
        s2 = dfr / float(np.trace(P0))
    else:
        s2 = float("nan")
    if method == "EE" or dfr < 1:
        i2 = max(0.0, 100.0 * (q - dfr) / q) if (dfr > 0 and q > 0) else 0.0
        h2 = q / dfr if dfr > 0 else float("nan")
        if method == "EE":
            pass
    else:
        i2 = 100.0 * est_tau2 / (est_tau2 + s2)
        h2 = (est_tau2 + s2) / s2

    fit_stats = likelihood_stats(yi, vi, X, est_tau2, estimated_tau2=(method != "EE"), b=b)
    weights_pct = 100.0 * wt / np.sum(wt)
    return ModelFit(
        b=b, se=se, vb=vb, statistic=statistic, p_value=p_value, ci_low=ci_low, ci_high=ci_high,
        tau2=est_tau2, se_tau2=se_tau2, i2=i2, h2=h2, q=q, q_df=dfr, q_p_value=q_p_value,
        k=k, p=p, dfs=dfs, s2w=(s2w if test != "z" else 1.0), weights=weights_pct,
        fit_stats=fit_stats, method=method, test=test, level=level, converged=converged,
        iterations=iterations, warnings=msgs, s2=s2, crit=crit,
    )


def knapp_hartung_scale(test: str, s2w: float) -> float:
    """The factor multiplying the model variances: 1 (z), s2w (knha) or max(1, s2w) (adhoc)."""
    if test == "knha":
        return float(s2w)
    if test == "adhoc":
        return max(1.0, float(s2w))
    return 1.0


def _hksj_narrowing_message(s2w: float, t_crit: float, z_crit: float) -> str | None:
    if t_crit * math.sqrt(s2w) < z_crit:
        return (
            f"HKSJ narrows the confidence interval (s2w = {s2w:.3g}): the Hartung-Knapp "
            "interval is narrower than the Wald (z) interval; consider test='adhoc', "
            "which never narrows it (Knapp & Hartung 2003; Jackson et al. 2017)"
        )
    return None


@lru_cache(maxsize=256)
def _normal_quantile(prob: float) -> float:
    """The standard normal quantile (scipy.stats.norm.ppf), cached: levels repeat."""
    return float(special.ndtri(prob))


@lru_cache(maxsize=1024)
def _t_quantile(df: float, prob: float) -> float:
    """The t quantile (scipy.stats.t.ppf(prob, df)), cached: (level, df) pairs repeat."""
    return float(special.stdtrit(df, prob))


def _percent_weights(vi: np.ndarray, tau2: float) -> np.ndarray:
    """Weights 1/(v_i + tau2) in percent of their sum (tau2 = 0: the weights 1/v_i)."""
    w = 1.0 / (vi + tau2)
    return 100.0 * w / w.sum()


def _intercept_fit_stats(yi, vi, tau2, b, sw, estimated_tau2) -> dict:
    """:func:`likelihood_stats` for X = 1 (log|X'X| = log k, log|X'WX| = log sum w),
    with residuals at the fitted ``b`` as metafor."""
    k = yi.size
    rb = yi - b
    w = 1.0 / (vi + tau2)
    rss_b = vdot(w, rb * rb)
    sum_log = float(np.log(vi + tau2).sum())
    ll_ml = -0.5 * (k * _LOG2PI + sum_log + rss_b)
    ll_sat = -0.5 * float(np.log(2 * math.pi * vi).sum())
    ll_reml = -0.5 * ((k - 1) * _LOG2PI - math.log(k) + sum_log + math.log(sw) + rss_b)
    return _information_criteria(ll_ml, -2.0 * (ll_ml - ll_sat), ll_reml, k, 1,
                                 estimated_tau2=estimated_tau2)


def _intercept_core(yi, vi, method, test, level, tau2_fixed, tol, maxiter,
                    tau2_init=None) -> dict:
    """The intercept-only fit (k >= 2) as a dict of Python scalars, from power sums of the
    weights.

    Same quantities and formulas as the general path of :func:`fit_model` (verified against
    it and against metafor), without k x k matrices, so a single fit is fast and memory stays
    O(k).  For k <= ``SMALL_K`` every sum is taken over Python floats (numpy's per-call
    overhead dominates at that size).  The percent weights and the information criteria are
    returned as :class:`~trialsynth.pooling._lazy.Deferred` values, computed when first read.
    """
    k = yi.size
    dfr = k - 1
    msgs: list[str] = []
    small = k <= SMALL_K
    if small:
        ys, vs = yi.tolist(), vi.tolist()
        fe = fixed_effect_sums_small(ys, vs)
        w0, sw0, _, mu0, q, trp0 = fe
    else:
        likelihood = (method in ("ML", "REML") and tau2_fixed is None)
        fe = centred_fixed_effect_sums(yi, vi) if likelihood else fixed_effect_sums(yi, vi)
        w0, sw0, _, mu0, q, trp0 = fe[:6]
    final: dict = {}
    if tau2_fixed is not None:
        tau2, se_tau2, converged, iterations = float(tau2_fixed), None, True, 0
    elif method == "EE":
        tau2, se_tau2, converged, iterations = 0.0, None, True, 0
    elif method in EXTRA_METHODS:
        est = estimate_tau2(yi, vi, None, method, tol=tol, maxiter=maxiter, tau2_init=tau2_init)
        tau2, se_tau2, converged, iterations = est.tau2, est.se_tau2, est.converged, est.iterations
        msgs.extend(est.messages)
    else:
        if small:
            tau2, se_tau2, converged, iterations, notes = _estimate_intercept_small(
                ys, vs, method, tol, maxiter, tau2_init, fe)
        else:
            tau2, se_tau2, converged, iterations, notes = _estimate_intercept(
                yi, vi, method, tol, maxiter, tau2_init, fe, final)
            se_tau2 = float(se_tau2)
        tau2 = float(tau2)
        if notes:
            msgs.extend(notes)
        if not converged:
            msgs.append(nonconvergence_message(method, maxiter, tau2))
    if small:
        ws, sw, mu = _weighted_mean_small(ys, vs, tau2)
        rss_w = 0.0
        for w, y in zip(ws, ys):
            r = y - mu
            rss_w += w * (r * r)
    elif final:
        # ML/REML: the estimator's last pass gave these at the estimate
        sw, mu, rss_w = final["sw"], final["mu"], final["rss_w"]
    else:
        w = vi + tau2
        np.divide(1.0, w, out=w)
        sw = float(w.sum())
        mu = vdot(w, yi) / sw
        r = yi - mu
        r *= r
        rss_w = vdot(w, r)
    if method in GENQ_METHODS:
        b = mu0
        if small:
            acc = 0.0
            for w, x in zip(w0, vs):
                acc += (w * w) * (x + tau2)
        else:
            acc = vdot(w0 * w0, vi + tau2)
        var_b = acc / (sw0 * sw0)
        weights = Deferred(_percent_weights, vi, 0.0)
    else:
        b = mu
        var_b = 1.0 / sw
        weights = Deferred(_percent_weights, vi, tau2)
    s2w = rss_w / dfr
    alpha = 1.0 - level / 100.0
    z_crit = _normal_quantile(1.0 - alpha / 2.0)
    if test == "z":
        scale, dfs, crit = 1.0, None, z_crit
    else:
        scale = s2w if test == "knha" else max(1.0, s2w)
        dfs = float(dfr)
        crit = _t_quantile(float(dfr), 1.0 - alpha / 2.0)
        if method == "EE":
            msgs.append("the Knapp-Hartung method is not meant for common-effect (EE) models")
        if test == "knha":
            note = _hksj_narrowing_message(s2w, crit, z_crit)
            if note:
                msgs.append(note)
    var_b *= scale
    se = math.sqrt(var_b)
    if se == 0.0:
        msgs.append(
            "the standard error of the pooled effect is 0 (all effects identical, so the "
            "Knapp-Hartung scale s2w is 0); the test statistic and p-value are undefined"
        )
        stat = math.copysign(math.inf, b) if b != 0 else math.nan
    else:
        stat = b / se
    if dfs is None:
        p_value = float(2.0 * special.ndtr(-abs(stat)))
    else:
        p_value = float(2.0 * special.stdtr(dfr, -abs(stat)))
    q_p_value = float(special.chdtrc(dfr, q))
    s2 = dfr / trp0
    if method == "EE":
        i2 = max(0.0, 100.0 * (q - dfr) / q) if q > 0 else 0.0
        h2 = q / dfr
    else:
        i2 = 100.0 * tau2 / (tau2 + s2)
        h2 = (tau2 + s2) / s2
    return {
        "b": b, "se": se, "var_b": var_b, "statistic": stat, "p_value": p_value,
        "ci_low": b - crit * se, "ci_high": b + crit * se, "tau2": tau2, "se_tau2": se_tau2,
        "i2": i2, "h2": h2, "q": q, "q_df": dfr, "q_p_value": q_p_value, "dfs": dfs,
        "s2w": (s2w if test != "z" else 1.0), "weights": weights,
        # likelihoods: residuals at the fitted b, as metafor
        "fit_stats": Deferred(_intercept_fit_stats, yi, vi, tau2, b, sw, method != "EE"),
        "converged": converged, "iterations": iterations, "warnings": msgs, "s2": s2,
        "crit": crit,
    }


def _fit_intercept(yi, vi, method, test, level, tau2_fixed, tol, maxiter,
                   tau2_init=None) -> ModelFit:
    """:func:`fit_model` for an intercept-only model (k >= 2): :func:`_intercept_core` as a
    :class:`ModelFit`."""
    c = _intercept_core(yi, vi, method, test, level, tau2_fixed, tol, maxiter, tau2_init)
    return ModelFit(
        b=np.array([c["b"]]), se=np.array([c["se"]]), vb=np.array([[c["var_b"]]]),
        statistic=np.array([c["statistic"]]), p_value=np.array([c["p_value"]]),
        ci_low=np.array([c["ci_low"]]), ci_high=np.array([c["ci_high"]]), tau2=c["tau2"],
        se_tau2=c["se_tau2"], i2=c["i2"], h2=c["h2"], q=c["q"], q_df=c["q_df"],
        q_p_value=c["q_p_value"], k=yi.size, p=1, dfs=c["dfs"], s2w=c["s2w"],
        weights=c["weights"], fit_stats=c["fit_stats"], method=method, test=test, level=level,
        converged=c["converged"], iterations=c["iterations"], warnings=c["warnings"],
        s2=c["s2"], crit=c["crit"],
    )


_LOG2PI = math.log(2 * math.pi)


def _information_criteria(ll_ml, dev_ml, ll_reml, k, p, estimated_tau2=True) -> dict:
    npar = p + (1 if estimated_tau2 else 0)
    out = {}
    for name, ll, dev, n in (("ML", ll_ml, dev_ml, k), ("REML", ll_reml, -2.0 * ll_reml, k - p)):
        aic = -2.0 * ll + 2.0 * npar
        bic = -2.0 * ll + npar * math.log(n) if n > 0 else float("nan")
        denom = max(n, npar + 2) - npar - 1
        aicc = -2.0 * ll + 2.0 * npar * max(n, npar + 2) / denom
        out[name] = {"ll": ll, "dev": dev, "AIC": aic, "BIC": bic, "AICc": aicc}
    return out


def likelihood_stats(yi, vi, X, tau2: float, estimated_tau2: bool = True,
                     b: np.ndarray | None = None) -> dict:
    """Log-likelihood, deviance, AIC, BIC and AICc under ML and REML.

    ML: ll = -1/2 [k log(2 pi) + sum log(v_i + tau2) + sum w_i (y_i - x_i'b)^2]; deviance
    relative to the saturated model (ll_sat = -1/2 sum log(2 pi v_i)).  REML (Harville 1977;
    Viechtbauer 2005, eq. 13): ll = -1/2 [(k-p) log(2 pi) - log|X'X| + sum log(v_i + tau2)
    + log|X'WX| + y'Py]; deviance -2 ll.  The number of parameters is p (+1 for tau2);
    BIC and AICc use n = k (ML) or n = k - p (REML).  With user weights the residuals are
    taken at the user-weighted estimate ``b`` (as metafor does).
    """
    k, p = X.shape
    w = 1.0 / (vi + tau2)
    if b is None:
        b, _ = wls(yi, X, w)
    r = yi - X @ b
    rss = float(np.sum(w * r * r))
    sum_log = float(np.sum(np.log(vi + tau2)))
    ll_ml = -0.5 * (k * math.log(2 * math.pi) + sum_log + rss)
    ll_sat = -0.5 * float(np.sum(np.log(2 * math.pi * vi)))
    dev_ml = -2.0 * (ll_ml - ll_sat)
    xtwx = (X.T * w) @ X
    ll_reml = -0.5 * ((k - p) * math.log(2 * math.pi) - logdet(X.T @ X) + sum_log
                      + logdet(xtwx) + rss)
    return _information_criteria(ll_ml, dev_ml, ll_reml, k, p, estimated_tau2)


def prediction_interval(
    estimate: float, se: float, tau2: float, level: float, *, k: int, p: int,
    test: str, pi_method: str = "auto", method: str = "REML",
) -> tuple[float, float, float | None]:
    """Prediction interval for the true effect in a new study.

    estimate +- crit * sqrt(se^2 + tau2) (Higgins, Thompson & Spiegelhalter 2009, eq. 12).
    ``pi_method``: ``auto`` (as metafor's predict: normal for z, t with k - p df for
    knha/adhoc), ``normal``, ``t`` (t with k - p df, = k - 1 for a pooled mean; the
    cochrane-2025 profile), ``hts`` (t with k - 2 df as in Higgins et al. 2009).
    Returns (pi_low, pi_high, df) with df None for a normal quantile; NaN bounds for EE
    fits (no between-study distribution) and when the df are < 1.
    """
    if method == "EE":
        return float("nan"), float("nan"), None
    alpha = 1.0 - level / 100.0
    if pi_method == "auto":
        pi_method = "normal" if test == "z" else "t"
    if pi_method == "normal":
        crit, df = _normal_quantile(1 - alpha / 2), None
    elif pi_method in ("t", "hts"):
        df = k - p if pi_method == "t" else k - 2
        if df < 1:
            return float("nan"), float("nan"), float(df)
        crit = _t_quantile(float(df), 1 - alpha / 2)
    else:
        raise ArgumentError(f"pi_method must be one of {', '.join(PI_METHODS)}; got {pi_method!r}")
    half = crit * math.sqrt(se * se + tau2)
    return estimate - half, estimate + half, (None if df is None else float(df))


def _extreme_ratio_warning(vi: np.ndarray) -> str | None:
    if vi.size <= SMALL_K:
        values = vi.tolist()
        ratio = max(values) / min(values)
    else:
        ratio = float(vi.max() / vi.min())
    if ratio > 1e7:
        return (
            f"the ratio of largest to smallest sampling variance is extremely large ({ratio:.3g}); "
            "results may be numerically unstable"
        )
    return None


def default_labels(k: int) -> list[str]:
    """Study labels "1".."k" (metafor's default)."""
    return list(map(str, range(1, k + 1)))


def drop_missing(yi, vi=None, sei=None, weights=None, labels=None):
    """Drop the studies with a missing (NaN) effect, variance, standard error or weight, as
    metafor's ``na.action = "na.omit"``.  Returns the filtered ``(yi, vi, sei, weights,
    labels, omitted)``, ``omitted`` being the labels (or 1-based positions) dropped.  Lengths
    are checked here so that the error names the argument."""
    y = _as_1d(yi, "yi")
    arrays = {"vi": vi, "sei": sei, "weights": weights}
    arrays = {name: _as_1d(value, name) for name, value in arrays.items() if value is not None}
    missing = np.isnan(y)
    for name, arr in arrays.items():
        if arr.size != y.size:
            raise ArgumentError(f"yi has {y.size} values but {name} has {arr.size}; lengths must match")
        missing |= np.isnan(arr)
    lab = None if labels is None else [str(x) for x in list(labels)]
    if lab is not None and len(lab) != y.size:
        raise ArgumentError(f"labels has {len(lab)} entries but yi has {y.size}; lengths must match")
    if not missing.any():
        return yi, vi, sei, weights, labels, []
    keep = ~missing
    if not keep.any():
        raise ArgumentError("every study has a missing value; nothing is left to pool")
    names = lab if lab is not None else [str(i + 1) for i in range(y.size)]
    omitted = [names[i] for i in np.flatnonzero(missing)]
    out = {name: arr[keep] for name, arr in arrays.items()}
    new_labels = [names[i] for i in np.flatnonzero(keep)]
    return (y[keep], out.get("vi"), out.get("sei"), out.get("weights"), new_labels, omitted)


def _core_from_modelfit(fit: ModelFit) -> dict:
    """The scalars :func:`pool` reads, from a one-coefficient :class:`ModelFit`."""
    return {
        "b": float(fit.b[0]), "se": float(fit.se[0]), "ci_low": float(fit.ci_low[0]),
        "ci_high": float(fit.ci_high[0]), "statistic": float(fit.statistic[0]),
        "p_value": float(fit.p_value[0]), "tau2": fit.tau2, "se_tau2": fit.se_tau2,
        "i2": fit.i2, "h2": fit.h2, "q": fit.q, "q_df": fit.q_df, "q_p_value": fit.q_p_value,
        "dfs": fit.dfs, "s2w": fit.s2w, "weights": LazyField.raw(fit, "weights"),
        "fit_stats": LazyField.raw(fit, "fit_stats"), "converged": fit.converged,
        "iterations": fit.iterations, "warnings": fit.warnings, "s2": fit.s2, "crit": fit.crit,
    }


def pool(
    yi,
    vi=None,
    *,
    sei=None,
    method: str | None = None,
    test: str | None = None,
    level: float = 95,
    profile: str | None = None,
    measure: str | None = None,
    labels=None,
    pi_method: str | None = None,
    weights=None,
    tau2: float | None = None,
    tol: float = 1e-12,
    maxiter: int = 10000,
    warn: bool = True,
    tau2_init: float | None = None,
    na_action: str = "fail",
):
    """Pool study effects in a common-effect or random-effects meta-analysis.

    Parameters
    ----------
    yi : array-like
        Observed effect sizes (on the analysis scale: log for ratio measures).
    vi, sei : array-like
        Sampling variances, or standard errors (give exactly one).
    method : str, default "REML"
        tau2 estimator: EE DL HE HS HSk SJ ML REML EB PM PMM GENQ GENQM DLIT SJIT (see
        :mod:`trialsynth.pooling.estimators`).
    test : str, default "z"
        ``z`` (Wald, normal), ``knha`` (Hartung & Knapp 2001 / Sidik & Jonkman 2002: scale
        s2w not truncated, t with k - 1 df, as metafor) or ``adhoc`` (max(1, s2w), never
        narrower than the Wald interval; Knapp & Hartung 2003).
    level : float, default 95
        Confidence level in percent.
    profile : str, optional
        A name from :data:`trialsynth.pooling.profiles.PROFILES` that sets method, test and
        the prediction-interval rule; explicit ``method``/``test``/``pi_method`` arguments
        override it.
    measure : str, optional
        The effect measure (``OR``, ``RR``, ``SMD``...), used for back-transformation.
    labels : array-like, optional
        Study labels (default "1".."k").
    pi_method : str, optional
        Prediction interval rule: ``auto``, ``normal``, ``t`` or ``hts`` (see
        :func:`prediction_interval`).
    weights : array-like, optional
        User weights (metafor's ``weights=``); GENQ and GENQM use 1/vi by default.
    tau2 : float, optional
        Fix tau2 at this value instead of estimating it.
    tol, maxiter :
        Convergence control for iterative estimators (defaults are tight: 1e-12).
    warn : bool
        Emit the collected warnings through :func:`warnings.warn` (always kept in
        ``result.warnings``).
    tau2_init : float, optional
        metafor's ``control=list(tau2.init=)``: the start of the ML/REML iteration (default the
        DL estimate) and the initial estimate of SJ (default sum (y - ybar)^2/k).
    na_action : {"fail", "omit"}
        ``"fail"`` (default) raises on a missing (NaN) effect, variance, standard error or
        weight; ``"omit"`` drops those studies with a warning naming them, as metafor's
        ``na.action = "na.omit"`` (the dropped labels are in ``result.omitted``).

    Returns
    -------
    MetaResult
    """
    prof = get_profile(profile) if profile is not None else None
    if method is None:
        method = prof.method if prof else "REML"
    if test is None:
        test = prof.test if prof else "z"
    if pi_method is None:
        pi_method = prof.pi_method if prof else "auto"
    if pi_method not in PI_METHODS:
        raise ArgumentError(f"pi_method must be one of {', '.join(PI_METHODS)}; got {pi_method!r}")
    method = normalise_method(method)
    test = normalise_test(test)
    level = check_level(level)
    if tau2_init is not None:
        tau2_init = check_tau2_init(tau2_init)
    omitted: list[str] = []
    if na_action == "omit":
        yi, vi, sei, weights, labels, omitted = drop_missing(yi, vi, sei, weights, labels)
    elif na_action != "fail":
        raise ArgumentError(f"na_action must be 'fail' or 'omit'; got {na_action!r}")
    y, v = validate_inputs(yi, vi, sei)
    k = y.size
    if labels is None:
        # "1".."k", built on first read (100,000 strings cost more than the whole DL fit)
        lab = Deferred(default_labels, k) if k > SMALL_K else list(map(str, range(1, k + 1)))
    else:
        lab = [str(x) for x in list(labels)]
        if len(lab) != k:
            raise ArgumentError(f"labels has {len(lab)} entries but yi has {k}; lengths must match")
    if measure is not None and not isinstance(measure, str):
        raise ArgumentError(f"measure must be a string such as 'OR' or 'SMD'; got {measure!r}")
    a = None
    if weights is not None:
        a = _as_1d(weights, "weights")
        if a.size != k:
            raise ArgumentError(f"weights has {a.size} values but yi has {k}; lengths must match")
        if np.any(~np.isfinite(a)) or np.any(a <= 0):
            raise ArgumentError("weights must be positive and finite")

    msgs: list[str] = []
    if omitted:
        msgs.append(f"{len(omitted)} {'study' if len(omitted) == 1 else 'studies'} with missing "
                    f"values omitted from the fit (na_action='omit'): {', '.join(omitted)}")
    ratio_msg = _extreme_ratio_warning(v)
    if ratio_msg:
        msgs.append(ratio_msg)
    eff_method, eff_test = method, test
    if k == 1:
        msgs.append(
            "only one study (k = 1): the pooled estimate is that study's effect, tau2 is set to 0 "
            "and heterogeneity cannot be assessed"
        )
        eff_method = "EE"
        if test != "z":
            msgs.append(f"test={test!r} needs k >= 2; the Wald (z) interval is reported")
            eff_test = "z"
    elif k == 2 and method != "EE":
        msgs.append(
            "only two studies (k = 2): tau2 and the prediction interval are very imprecise"
        )
    if a is None and k >= 2:
        # the intercept-only fast path (what fit_model would call), without the ModelFit
        core = _intercept_core(y, v, eff_method, eff_test, level, tau2, tol, maxiter, tau2_init)
    else:
        core = _core_from_modelfit(fit_model(y, v, None, method=eff_method, test=eff_test,
                                             level=level, weights=a, tau2=tau2, tol=tol,
                                             maxiter=maxiter, tau2_init=tau2_init))
    msgs.extend(core["warnings"])
    estimate, se, tau2_hat = core["b"], core["se"], core["tau2"]
    pi_low, pi_high, pi_df = prediction_interval(
        estimate, se, tau2_hat, level, k=k, p=1, test=eff_test, pi_method=pi_method,
        method=eff_method,
    )
    if k == 1:
        core["i2"], core["h2"] = float("nan"), float("nan")
    result = MetaResult(
        estimate=estimate, se=se, ci_low=core["ci_low"], ci_high=core["ci_high"],
        statistic=core["statistic"], p_value=core["p_value"], tau2=tau2_hat,
        se_tau2=core["se_tau2"], tau=math.sqrt(tau2_hat), i2=core["i2"], h2=core["h2"],
        q=core["q"], q_df=core["q_df"], q_p_value=core["q_p_value"], k=k, pi_low=pi_low,
        pi_high=pi_high, weights=core["weights"], yi=y, vi=v, labels=lab, method=method,
        test=test, measure=measure, profile=(prof.name if prof else None), dfs=core["dfs"],
        converged=core["converged"], warnings=msgs, level=level, s2w=core["s2w"],
        fit_stats=core["fit_stats"], pi_method=pi_method, pi_df=pi_df,
        iterations=core["iterations"], user_weights=a, s2=core["s2"], crit=core["crit"],
        fitted_method=eff_method, omitted=omitted, tau2_init=tau2_init,
    )
    if warn:
        for m in msgs:
            _warnings.warn(m, MetaWarning, stacklevel=2)
    return result


__all__ = ["pool", "fit_model", "drop_missing", "ModelFit", "prediction_interval", "likelihood_stats",
           "validate_inputs", "normalise_test", "check_level", "TESTS", "METHODS",
           "MetaWarning"]
