"""Confidence intervals for tau2 (and tau, I2, H2).

* Q-profile (Viechtbauer 2007, Stat Med 26:37-52, eq. 8): the set of tau2 for which the
  generalised Q statistic Q(tau2) = y'P(tau2)y, with weights 1/(v_i + tau2), lies between
  the chi-square quantiles on k - p df.  Q(tau2) decreases in tau2, so each bound is the
  unique root of Q(tau2) = quantile, found with Brent's method to 1e-15.
* Profile likelihood (Hardy & Thompson 1996, Stat Med 15:619-629, section 2.2): the set of
  tau2 whose (restricted) log-likelihood lies within chi2_{1, level}/2 of the maximum.
* Generalised Q (Jackson 2013): the exact distribution of a generalised Q statistic with
  arbitrary weights, a weighted sum of chi-squares (:func:`generalised_q_tau2`).
* Wald-type: tau2 -+ z se(tau2) (:func:`wald_tau2`).

Bounds are exact roots: no search cap is imposed (metafor caps the search at
max(100, 10 tau2) by default and marks such a bound with ">"; we extend the bracket by
doubling until the root is enclosed).  When a bound would be negative it is reported as 0:
a lower bound of 0 (Q(0) below the upper quantile) is an ordinary answer and is flagged with
sign "" as metafor does; when even the upper bound is below 0 (Q(0) below the lower quantile,
so the whole interval lies below 0) both bounds are reported as 0 and flagged "<", again as
metafor does (the interval is then "below 0", i.e. {0} after truncation).

tau, I2 and H2 bounds are monotone transforms of the tau2 bounds: tau = sqrt(tau2),
I2 = 100 tau2/(tau2 + s2), H2 = (tau2 + s2)/s2 with s2 = (k-p)/tr(P) (Higgins & Thompson
2002; the "typical" within-study variance).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from trialsynth.errors import ArgumentError
from trialsynth.pooling._linalg import intercept_design, logdet, p_matrix, quad_p, wls


def _brent(f, lo, hi):
    return float(optimize.brentq(f, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps,
                                 maxiter=2000))


def _expand(f, start):
    """Double ``start`` until f changes sign from >0 to <=0 (f decreasing beyond)."""
    hi = max(start, 1e-10)
    for _ in range(2000):
        if f(hi) <= 0:
            return hi
        hi *= 2.0
    raise ArithmeticError("could not bracket the confidence bound")


def typical_variance(vi: np.ndarray, X: np.ndarray | None = None) -> float:
    """s2 = (k - p)/tr(P) with P at weights 1/v_i (Higgins & Thompson 2002, eq. 9)."""
    k = vi.size
    if X is None:  # intercept only: (k - 1) sum(w) / ((sum w)^2 - sum(w^2)), O(k) memory
        w = 1.0 / vi
        sw = float(w.sum())
        return (k - 1) * sw / (sw * sw - float(w @ w))
    P = p_matrix(X, 1.0 / vi)
    return (k - X.shape[1]) / float(np.trace(P))


def q_profile_tau2(yi, vi, X=None, level: float = 95.0) -> dict:
    """Q-profile bounds for tau2 (Viechtbauer 2007).

    Returns ``{"ci_low", "ci_high", "lb_sign", "ub_sign"}``.
    """
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    k = yi.size
    X = intercept_design(k) if X is None else np.asarray(X, float)
    df = k - X.shape[1]
    if df < 1:
        raise ArgumentError(f"a CI for tau2 needs k - p >= 1; got k = {k}, p = {X.shape[1]}")
    alpha = 1 - level / 100

    def qgen(t):
        return quad_p(yi, X, 1.0 / (vi + t))

    crit_low = float(stats.chi2.ppf(1 - alpha / 2, df))  # gives the lower bound
    crit_high = float(stats.chi2.ppf(alpha / 2, df))     # gives the upper bound
    q0 = qgen(0.0)
    scale = max(float(np.var(yi)), float(np.mean(vi)), 1e-12)
    bounds = {}
    for key, crit in (("ci_low", crit_low), ("ci_high", crit_high)):
        f = lambda t, c=crit: qgen(t) - c  # noqa: E731
        if q0 <= crit:
            bounds[key] = 0.0
        else:
            hi = _expand(f, scale)
            bounds[key] = _brent(f, 0.0, hi)
    # both bounds below zero: metafor flags both with "<"; a lower bound alone at 0 is ""
    both_below = q0 <= crit_high
    bounds["lb_sign"] = "<" if both_below else ""
    bounds["ub_sign"] = "<" if both_below else ""
    return bounds


def _ll_ml(yi, vi, X, t):
    w = 1.0 / (vi + t)
    b, _ = wls(yi, X, w)
    r = yi - X @ b
    return -0.5 * (yi.size * math.log(2 * math.pi) + float(np.sum(np.log(vi + t)))
                   + float(np.sum(w * r * r)))


def _ll_reml(yi, vi, X, t):
    k, p = X.shape
    w = 1.0 / (vi + t)
    b, _ = wls(yi, X, w)
    r = yi - X @ b
    return -0.5 * ((k - p) * math.log(2 * math.pi) - logdet(X.T @ X)
                   + float(np.sum(np.log(vi + t))) + logdet((X.T * w) @ X)
                   + float(np.sum(w * r * r)))


def profile_likelihood_tau2(yi, vi, X=None, *, tau2: float, method: str = "REML",
                            level: float = 95.0) -> dict:
    """Profile-likelihood bounds for tau2 under ML or REML (Hardy & Thompson 1996).

    ``tau2`` is the (RE)ML estimate at which the log-likelihood is maximal.
    """
    if method not in ("ML", "REML"):
        raise ArgumentError(f"profile-likelihood CIs need method 'ML' or 'REML'; got {method!r}")
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    k = yi.size
    X = intercept_design(k) if X is None else np.asarray(X, float)
    ll = _ll_ml if method == "ML" else _ll_reml
    target = ll(yi, vi, X, tau2) - float(stats.chi2.ppf(level / 100, 1)) / 2.0

    def f(t):
        return ll(yi, vi, X, t) - target

    out = {"lb_sign": "", "ub_sign": ""}
    if tau2 <= 0 or f(0.0) >= 0:
        out["ci_low"] = 0.0
    else:
        out["ci_low"] = _brent(f, 0.0, tau2)
    scale = max(tau2, float(np.var(yi)), float(np.mean(vi)), 1e-12)
    hi = max(tau2, 1e-12)
    while f(hi) > 0:
        hi = hi * 2.0 if hi > 0 else scale
    lo = tau2 if f(tau2) > 0 else 0.0
    out["ci_high"] = _brent(f, lo, hi) if f(lo) > 0 else 0.0
    return out


def wald_tau2(tau2: float, se_tau2: float | None, level: float = 95.0) -> dict:
    """Wald-type bounds tau2 -+ z_{1-alpha/2} se(tau2), truncated at 0 (as metafor's
    ``confint(type="Wald")``).  Symmetric on the tau2 scale, so poor when tau2 is small or k is
    small (Viechtbauer 2007 found its coverage far below nominal); offered for comparison."""
    if se_tau2 is None or not math.isfinite(se_tau2):
        raise ArgumentError("a Wald-type CI for tau2 needs the standard error of tau2; this fit "
                            "has none (a fixed or common-effect tau2)")
    z = float(stats.norm.ppf(1 - (1 - level / 100) / 2))
    return {"ci_low": max(0.0, tau2 - z * se_tau2), "ci_high": max(0.0, tau2 + z * se_tau2),
            "lb_sign": "", "ub_sign": ""}


def generalised_q_tau2(yi, vi, X=None, weights=None, level: float = 95.0) -> dict:
    """Generalised Q-statistic bounds for tau2 (Jackson 2013, Res Synth Methods 4:220-229;
    Jackson, Turner, Rhodes & Viechtbauer 2014, BMC Med Res Methodol 14:103).

    Q_a = y'P_a y with weights a_i (default 1/v_i) and, when ``X`` is given, moderators follows
    sum_j lambda_j(tau2) chi2_1, the lambda_j being the eigenvalues of S^(1/2) P_a S^(1/2),
    S = diag(v + tau2); P(Q_a > q) increases in tau2.  The bounds solve
    P(Q_a > q_obs; tau2) = alpha/2 (lower) and = 1 - alpha/2 (upper), each 0 when it already
    holds at tau2 = 0 (both bounds 0 are flagged "<", as in :func:`q_profile_tau2`).  The
    distribution is evaluated by Imhof's method (:mod:`trialsynth.pooling._quadform`).
    """
    from trialsynth.pooling._quadform import generalised_q_eigenvalues, quadform_sf

    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    k = yi.size
    X = intercept_design(k) if X is None else np.asarray(X, float)
    if k - X.shape[1] < 1:
        raise ArgumentError(f"a CI for tau2 needs k - p >= 1; got k = {k}, p = {X.shape[1]}")
    a = 1.0 / vi if weights is None else np.asarray(weights, float)
    P = p_matrix(X, a)
    q_obs = float(yi @ P @ yi)
    alpha = 1 - level / 100

    def sf(t):
        return quadform_sf(q_obs, generalised_q_eigenvalues(P, vi, t))

    sf0 = sf(0.0)
    scale = max(float(np.var(yi)), float(np.mean(vi)), 1e-12)
    out = {}
    for key, prob in (("ci_low", alpha / 2), ("ci_high", 1 - alpha / 2)):
        if sf0 >= prob:
            out[key] = 0.0
        else:
            f = lambda t, c=prob: c - sf(t)  # noqa: E731  (decreasing in t)
            hi = _expand(f, scale)
            out[key] = float(optimize.brentq(f, 0.0, hi, xtol=1e-13, rtol=1e-11, maxiter=500))
    both_below = sf0 >= 1 - alpha / 2
    out["lb_sign"] = out["ub_sign"] = "<" if both_below else ""
    return out


CI_TYPES = ("QP", "PL", "GENQ", "WALD")


def heterogeneity_ci(yi, vi, X=None, *, tau2: float, method: str = "REML", level: float = 95.0,
                     type: str = "QP", se_tau2: float | None = None,
                     weights=None) -> pd.DataFrame:
    """Rows tau2, tau, i2, h2; columns estimate, ci_low, ci_high (plus the bound signs in
    ``frame.attrs``).  ``type`` is ``QP`` (Q-profile), ``PL`` (profile likelihood), ``GENQ``
    (generalised Q, Jackson 2013, with ``weights``; :func:`generalised_q_tau2`) or ``Wald``
    (tau2 -+ z se_tau2, truncated at 0; needs ``se_tau2``)."""
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    kind = str(type).upper()
    if kind == "QP":
        b = q_profile_tau2(yi, vi, X, level)
    elif kind == "PL":
        b = profile_likelihood_tau2(yi, vi, X, tau2=tau2, method=method, level=level)
    elif kind == "GENQ":
        b = generalised_q_tau2(yi, vi, X, weights, level)
    elif kind == "WALD":
        b = wald_tau2(tau2, se_tau2, level)
    else:
        raise ArgumentError(f"type must be one of 'QP' (Q-profile), 'PL' (profile likelihood), "
                            f"'GENQ' (generalised Q) or 'Wald'; got {type!r}")
    s2 = typical_variance(vi, None if X is None else np.asarray(X, float))

    def row(t):
        return [t, math.sqrt(t), 100 * t / (t + s2), (t + s2) / s2]

    est, lo, hi = row(tau2), row(b["ci_low"]), row(b["ci_high"])
    frame = pd.DataFrame(
        {"estimate": est, "ci_low": lo, "ci_high": hi}, index=["tau2", "tau", "i2", "h2"]
    )
    frame.attrs.update({"lb_sign": b["lb_sign"], "ub_sign": b["ub_sign"], "type": kind,
                        "level": level})
    return frame


__all__ = ["q_profile_tau2", "profile_likelihood_tau2", "generalised_q_tau2", "wald_tau2",
           "heterogeneity_ci", "typical_variance", "CI_TYPES"]
