"""Estimators of the between-study variance tau^2.

Every estimator works for the general mixed-effects model

    y_i = x_i' beta + u_i + e_i,   u_i ~ N(0, tau^2),   e_i ~ N(0, v_i),

with a (k x p) design ``X`` (intercept-only when ``X`` is None), following the
notation of Viechtbauer (2005) and Raudenbush (2009): ``W = diag(1/v_i)``,
``P = W - W X (X'WX)^{-1} X'W``, ``Q = y'Py`` (Cochran's Q / the residual
heterogeneity statistic QE).

Moment estimators are truncated at 0 (a negative variance is not a variance);
the Sidik-Jonkman estimator is positive by construction.  Iterative estimators
(ML, REML) use Fisher scoring to a tight tolerance and then polish the root of
the score equation with Brent's method; PM, PMM and EB are solved as exact
roots of their estimating equations with Brent's method (``xtol`` 1e-15), so
results agree with metafor's tight-control fits to about 1e-10 relative.

Standard errors of tau^2 (``se_tau2``) follow the formulas reported by metafor
3.8 for each method (behaviour verified against the oracle in
``/work/shared/oracle/metafor``):

* DL, GENQ:  sqrt(Var(Q_A))/tr(P_A) with Var(Q_A) = 2 tr(P_A S P_A S),
  S = diag(v_i + tau^2) (the variance of a normal quadratic form);
* HE:        the same with the OLS residual maker, divided by k - p;
* HS:        sqrt(Var(Q))/sum(w); HSk multiplies it by k/(k-p);
* SJ:        tau_0^2/(k-p) sqrt(2 tr(P_0 S P_0 S)) with P_0 at weights 1/(v+tau_0^2);
* ML, REML:  inverse Fisher information, sqrt(2/sum(w^2)) and sqrt(2/tr(PP));
* EB, PM, PMM: sqrt(2 k^2/(k-p))/sum(w), w = 1/(v + tau^2) (Morris 1983, eq. 3.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from trialsynth.errors import ArgumentError
from trialsynth.pooling._linalg import intercept_design, p_matrix, quad_p, wls

METHODS: tuple[str, ...] = (
    "EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ",
)
ITERATIVE: frozenset[str] = frozenset({"ML", "REML", "EB", "PM", "PMM"})
_ALIASES = {"FE": "EE", "CE": "EE", "FIXED": "EE", "IV": "EE"}


@dataclass
class Tau2Estimate:
    """The result of a tau^2 estimator.

    Attributes
    ----------
    tau2 : float
        The estimate (>= 0).
    se_tau2 : float or None
        Its standard error as metafor reports it (None for EE).
    converged : bool
        False when an iterative estimator stopped without meeting its tolerance.
    iterations : int
        Iterations used (0 for closed forms).
    method : str
        The estimator.
    messages : list of str
        Notes and warnings (truncation at zero, non-convergence).
    """

    tau2: float
    se_tau2: float | None
    converged: bool = True
    iterations: int = 0
    method: str = ""
    messages: list[str] = field(default_factory=list)


def normalise_method(method: str) -> str:
    """Return the canonical spelling of an estimator name, or raise ArgumentError."""
    if not isinstance(method, str):
        raise ArgumentError(f"method must be a string, one of {', '.join(METHODS)}; got {method!r}")
    canon = {m.upper(): m for m in METHODS}
    key = method.strip().upper()
    key = _ALIASES.get(key, key)
    if key not in canon:
        raise ArgumentError(
            f"method must be one of {', '.join(METHODS)}; got {method!r}"
        )
    return canon[key]


# ----------------------------------------------------------------------------
# helpers


def _var_quadform(P: np.ndarray, vi: np.ndarray, tau2: float) -> float:
    """Var(y'Py) = 2 tr(P S P S) for y ~ N(X beta, S), S = diag(vi + tau2)."""
    ps = P * (vi + tau2)[None, :]
    return float(2.0 * np.sum(ps * ps.T))


def _generalised_q(yi, vi, X, tau2):
    """Q(tau2) = y' P(tau2) y with weights 1/(v_i + tau2) (Paule & Mandel 1982)."""
    return quad_p(yi, X, 1.0 / (vi + tau2))


def _find_upper(fun, start: float, limit: float = 1e15) -> float:
    """Smallest doubling of ``start`` at which the decreasing ``fun`` is <= 0."""
    upper = max(start, 1e-12)
    while fun(upper) > 0:
        upper *= 2.0
        if upper > limit:
            raise ArithmeticError("no root below 1e15")
    return upper


def _root_decreasing(fun, scale: float) -> float:
    """Root of a decreasing function with fun(0) > 0, found by Brent's method."""
    upper = _find_upper(fun, scale)
    return float(optimize.brentq(fun, 0.0, upper, xtol=1e-15, rtol=4 * np.finfo(float).eps,
                                 maxiter=1000))


# ----------------------------------------------------------------------------
# closed forms


def _dl(yi, vi, X, k, p, weights=None):
    """DerSimonian & Laird (1986, eq. 7); with ``weights`` the generalised method of
    moments estimator of DerSimonian & Kacker (2007) / Jackson et al. (2014, eq. 5)."""
    a = 1.0 / vi if weights is None else weights
    P = p_matrix(X, a)
    q_a = float(yi @ P @ yi)
    tr_p = float(np.trace(P))
    tr_pv = float(np.sum(np.diag(P) * vi))
    tau2 = max(0.0, (q_a - tr_pv) / tr_p)
    se = np.sqrt(_var_quadform(P, vi, tau2)) / tr_p
    return tau2, se


def _he(yi, vi, X, k, p):
    """Hedges (1983) / Hedges & Olkin (1985, ch. 9): unweighted moment estimator,
    tau2 = (RSS_OLS - tr(P_0 V)) / (k - p)."""
    P0 = p_matrix(X, np.ones(k))
    rss = float(yi @ P0 @ yi)
    tau2 = max(0.0, (rss - float(np.sum(np.diag(P0) * vi))) / (k - p))
    se = np.sqrt(_var_quadform(P0, vi, tau2)) / (k - p)
    return tau2, se


def _hs(yi, vi, X, k, p, small_sample: bool):
    """Hunter & Schmidt (2004, ch. 3): observed weighted variance minus the average
    sampling variance, tau2 = (Q - k)/sum(w); ``HSk`` multiplies Q by k/(k-p)
    (Brannick et al. 2019)."""
    w = 1.0 / vi
    P = p_matrix(X, w)
    q = float(yi @ P @ yi)
    factor = k / (k - p) if small_sample else 1.0
    tau2 = max(0.0, (factor * q - k) / np.sum(w))
    se = factor * np.sqrt(_var_quadform(P, vi, tau2)) / np.sum(w)
    return tau2, se


def _sj(yi, vi, X, k, p):
    """Sidik & Jonkman (2005, eqs. 5-6): tau0 = RSS_OLS/k, then
    tau2 = tau0 * y'P y/(k - p) with weights 1/(v_i + tau0)."""
    b_ols, _ = wls(yi, X, np.ones(k))
    resid = yi - X @ b_ols
    tau0 = float(np.sum(resid * resid) / k)
    if tau0 <= 0:
        tau0 = 1e-10
    P = p_matrix(X, 1.0 / (vi + tau0))
    tau2 = tau0 * float(yi @ P @ yi) / (k - p)
    se = tau0 / (k - p) * np.sqrt(_var_quadform(P, vi, tau2))
    return tau2, se


# ----------------------------------------------------------------------------
# likelihood-based (Fisher scoring, Viechtbauer 2005 eqs. 9-12)


def _score_ml(yi, vi, X, tau2):
    w = 1.0 / (vi + tau2)
    b, _ = wls(yi, X, w)
    r = yi - X @ b
    return float(np.sum(w * w * r * r) - np.sum(w)), float(np.sum(w * w))


def _score_reml(yi, vi, X, tau2):
    P = p_matrix(X, 1.0 / (vi + tau2))
    py = P @ yi
    return float(py @ py - np.trace(P)), float(np.sum(P * P))


def _fisher_scoring(yi, vi, X, method, start, tol, maxiter):
    score = _score_ml if method == "ML" else _score_reml
    tau2 = max(0.0, start)
    converged = False
    it = 0
    for it in range(1, maxiter + 1):
        u, info = score(yi, vi, X, tau2)
        new = max(0.0, tau2 + u / info)
        change = abs(new - tau2)
        tau2 = new
        if change <= tol * max(tau2, 1e-12):
            converged = True
            break
    if converged and tau2 > 0:
        # polish the root of the score equation with Brent's method
        def f(t):
            return score(yi, vi, X, t)[0]

        lo, hi = tau2 * (1 - 1e-6), tau2 * (1 + 1e-6) + 1e-300
        flo, fhi = f(lo), f(hi)
        if flo > 0 > fhi:
            tau2 = float(optimize.brentq(f, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps))
    return tau2, converged, it


# ----------------------------------------------------------------------------
# public


def estimate_tau2(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray | None = None,
    method: str = "REML",
    *,
    weights: np.ndarray | None = None,
    tol: float = 1e-12,
    maxiter: int = 10000,
    tau2_start: float | None = None,
) -> Tau2Estimate:
    """Estimate tau^2 by the named method.

    Parameters
    ----------
    yi, vi : array
        Observed effects and their sampling variances (vi > 0).
    X : (k, p) array, optional
        Design matrix; an intercept column when omitted.
    method : str
        ``EE`` (tau2 = 0), ``DL`` (DerSimonian & Laird 1986), ``HE`` (Hedges 1983),
        ``HS`` (Hunter & Schmidt 2004), ``HSk`` (Hunter-Schmidt with the k/(k-p)
        small-sample correction, Brannick et al. 2019), ``SJ`` (Sidik & Jonkman 2005),
        ``ML`` and ``REML`` (Hardy & Thompson 1996; Viechtbauer 2005, Fisher scoring),
        ``EB`` (Morris 1983, eq. 3.3; its estimating equation is sum w_i (k/(k-p) e_i^2
        - v_i - tau^2) = 0, which is the Paule-Mandel equation, so EB equals PM, as
        Viechtbauer et al. 2015 note), ``PM`` (Paule & Mandel 1982: Q(tau2) = k - p),
        ``PMM`` (median-unbiased PM, Viechtbauer 2021: Q(tau2) = median of chi2_{k-p}),
        ``GENQ`` (generalised Q estimator with user weights, Jackson et al. 2014, eq. 5;
        equals DL when the weights are 1/v_i).
    weights : array, optional
        The weights a_i of GENQ (default 1/v_i).
    tol, maxiter : float, int
        Fisher scoring tolerance (relative to tau2) and iteration cap.
    tau2_start : float, optional
        Starting value for ML/REML (default: the DL estimate).
    """
    method = normalise_method(method)
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = yi.size
    X = intercept_design(k) if X is None else np.asarray(X, dtype=float)
    p = X.shape[1]
    messages: list[str] = []
    if method == "EE":
        return Tau2Estimate(0.0, None, True, 0, method, messages)
    if k - p < 1:
        messages.append(
            f"tau2 cannot be estimated with k = {k} studies and p = {p} coefficients; "
            "it is set to 0 (common-effect fit)"
        )
        return Tau2Estimate(0.0, None, True, 0, method, messages)

    if method == "DL":
        tau2, se = _dl(yi, vi, X, k, p)
    elif method == "GENQ":
        tau2, se = _dl(yi, vi, X, k, p, weights=weights)
    elif method == "HE":
        tau2, se = _he(yi, vi, X, k, p)
    elif method == "HS":
        tau2, se = _hs(yi, vi, X, k, p, small_sample=False)
    elif method == "HSk":
        tau2, se = _hs(yi, vi, X, k, p, small_sample=True)
    elif method == "SJ":
        tau2, se = _sj(yi, vi, X, k, p)
    elif method in ("ML", "REML"):
        start = _dl(yi, vi, X, k, p)[0] if tau2_start is None else float(tau2_start)
        tau2, converged, it = _fisher_scoring(yi, vi, X, method, start, tol, maxiter)
        w = 1.0 / (vi + tau2)
        if method == "ML":
            se = np.sqrt(2.0 / np.sum(w * w))
        else:
            P = p_matrix(X, w)
            se = np.sqrt(2.0 / np.sum(P * P))
        if not converged:
            messages.append(
                f"Fisher scoring for {method} did not converge in {maxiter} iterations "
                f"(last tau2 = {tau2:.6g})"
            )
        return Tau2Estimate(tau2, float(se), converged, it, method, messages)
    else:  # EB, PM, PMM
        target = (k - p) if method in ("PM", "EB") else float(stats.chi2.ppf(0.5, k - p))

        def f(t):
            return _generalised_q(yi, vi, X, t) - target

        if f(0.0) <= 0:
            tau2 = 0.0
        else:
            scale = max(float(np.var(yi)), float(np.max(vi)), 1e-8)
            tau2 = _root_decreasing(f, scale)
        w = 1.0 / (vi + tau2)
        se = np.sqrt(2.0 * k * k / (k - p)) / np.sum(w)
        return Tau2Estimate(tau2, float(se), True, 0, method, messages)
    return Tau2Estimate(float(tau2), float(se), True, 0, method, messages)
