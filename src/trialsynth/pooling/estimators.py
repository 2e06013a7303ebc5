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
* EB, PM, PMM, SJIT: sqrt(2 k^2/(k-p))/sum(w), w = 1/(v + tau^2) (Morris 1983, eq. 3.4);
* DLIT:      sqrt(2(k-p) + 4 tau^2 tr(P) + 2 tau^4 tr(PP))/tr(P), P at weights 1/(v + tau^2);
* GENQM:     as GENQ, sqrt(Var(Q_a))/tr(P_a).

ML and REML can have more than one local maximum.  Whenever the iteration ends at an interior
tau^2 > 0, the (restricted) log-likelihood there is compared with its value on the boundary
tau^2 = 0, and the boundary is returned when it is higher (with a note): the estimate is the
maximum over [0, inf), not merely a stationary point.  PM, PMM, EB, SJIT and GENQM solve
equations in a monotone function of tau^2 (a generalised Q statistic or its distribution
function), whose root is unique, and GENQ and the other moment estimators are closed forms, so
no such check is needed for them (tested on the same bimodal data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from trialsynth.errors import ArgumentError
from trialsynth.pooling._linalg import intercept_design, logdet, p_matrix, quad_p, vdot, wls

METHODS: tuple[str, ...] = (
    "EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ", "GENQM",
    "DLIT", "SJIT",
)
ITERATIVE: frozenset[str] = frozenset({"ML", "REML", "EB", "PM", "PMM", "DLIT", "SJIT", "GENQM"})
#: estimators of the generalised Q family, estimated with weights a_i (default 1/v_i)
GENQ_METHODS: frozenset[str] = frozenset({"GENQ", "GENQM"})
#: estimators computed by :func:`_estimate_extra` on every path (not the power-sum fast paths)
EXTRA_METHODS: frozenset[str] = frozenset({"GENQM", "DLIT", "SJIT"})
#: estimators for which ``tau2_init`` is used: the start of Fisher scoring/Newton (ML, REML)
#: and the initial estimate tau0 of Sidik-Jonkman
USES_TAU2_INIT: frozenset[str] = frozenset({"ML", "REML", "SJ"})
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


_CANONICAL = {m.upper(): m for m in METHODS}
_METHOD_SET = frozenset(METHODS)


def normalise_method(method: str) -> str:
    """Return the canonical spelling of an estimator name, or raise ArgumentError."""
    if method in _METHOD_SET:
        return method
    if not isinstance(method, str):
        raise ArgumentError(f"method must be a string, one of {', '.join(METHODS)}; got {method!r}")
    key = method.strip().upper()
    key = _ALIASES.get(key, key)
    if key not in _CANONICAL:
        raise ArgumentError(
            f"method must be one of {', '.join(METHODS)}; got {method!r}"
        )
    return _CANONICAL[key]


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


def sj_initial(yi) -> float:
    """The Sidik-Jonkman initial estimate tau0 = sum (y_i - ybar)^2 / k, ybar the unweighted
    mean (Sidik & Jonkman 2005, J Biopharm Stat 15:823-838, section 2; the same crude estimate
    is used with moderators).  A tau0 of 0 (all effects equal) is replaced by 1e-10."""
    yi = np.asarray(yi, dtype=float)
    r = yi - yi.mean()
    tau0 = float(r @ r) / yi.size
    return tau0 if tau0 > 0 else 1e-10


def _sj_init(tau2_init) -> float:
    """A user's initial tau0 for SJ, checked (it must be positive)."""
    tau0 = float(tau2_init)
    if not tau0 > 0 or not math.isfinite(tau0):
        raise ArgumentError(f"tau2_init for SJ must be positive and finite; got {tau2_init!r}")
    return tau0


def _sj(yi, vi, X, k, p, tau0=None):
    """Sidik & Jonkman (2005, eqs. 5-6): from the initial estimate tau0 (:func:`sj_initial`
    unless ``tau0`` is given), tau2 = tau0 * y'P y/(k - p) with weights 1/(v_i + tau0)."""
    tau0 = sj_initial(yi) if tau0 is None else _sj_init(tau0)
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


def _tau2_floor(vi) -> float:
    """The scale below which a change in tau2 is numerical noise: the mean within-study variance.

    The iterations stop when the change in tau2 is below ``tol * max(tau2, floor)``.  A floor
    relative to tau2 alone (``tol * tau2``) cannot be met when tau2 is tiny but positive (say
    1e-6 with variances near 0.05): the score's rounding error, about machine epsilon times the
    variances, then exceeds the step that the rule asks for, and the fit never reports
    convergence.  The within-study variances set the scale on which tau2 is meaningful.
    """
    return max(1e-12, float(vi.sum()) / vi.size)


def boundary_message(method: str, tau2_interior: float) -> str:
    """The note for an ML/REML fit whose interior maximum lies below the boundary tau2 = 0."""
    return (f"the {method} log-likelihood is higher at tau2 = 0 than at the interior local "
            f"maximum the iteration reached (tau2 = {tau2_interior:.6g}): the likelihood has "
            "more than one local maximum, and tau2 is set to 0, the global maximum")


def _boundary_is_higher(ll_zero: float, ll_interior: float) -> bool:
    """True when the log-likelihood at tau2 = 0 exceeds the interior one (beyond rounding)."""
    return ll_zero > ll_interior + 1e-10 * max(1.0, abs(ll_interior))


def _loglik(yi, vi, X, tau2, reml: bool) -> float:
    """The ML or REML log-likelihood up to a constant (Viechtbauer 2005, eqs. 8 and 10)."""
    w = 1.0 / (vi + tau2)
    b, _ = wls(yi, X, w)
    r = yi - X @ b
    value = float(np.sum(np.log(vi + tau2)) + np.sum(w * r * r))
    if reml:
        value += logdet((X.T * w) @ X)
    return -0.5 * value


def _loglik_intercept(yi, vi, tau2, reml: bool) -> float:
    """:func:`_loglik` for X = 1, in O(k)."""
    s = vi + tau2
    w = 1.0 / s
    sw = float(w.sum())
    r = yi - vdot(w, yi) / sw
    value = float(np.log(s).sum()) + vdot(w, r * r)
    return -0.5 * (value + math.log(sw) if reml else value)


def _loglik_intercept_small(ys, vs, tau2, reml: bool) -> float:
    """:func:`_loglik_intercept` on Python floats."""
    ws, sw, mu = _weighted_mean_small(ys, vs, tau2)
    value = 0.0
    for w, y in zip(ws, ys):
        r = y - mu
        value += w * (r * r) - math.log(w)
    return -0.5 * (value + math.log(sw) if reml else value)


def _fisher_scoring(yi, vi, X, method, start, tol, maxiter):
    score = _score_ml if method == "ML" else _score_reml
    floor = _tau2_floor(vi)
    tau2 = max(0.0, start)
    converged = False
    it = 0
    for it in range(1, maxiter + 1):
        u, info = score(yi, vi, X, tau2)
        new = max(0.0, tau2 + u / info)
        change = abs(new - tau2)
        tau2 = new
        if change <= tol * max(tau2, floor):
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
# intercept-only fast path (no k x k matrices: every trace is a power sum of the weights)


#: elements per slice of :func:`_weight_moments`: one slice up to k = 16,384, and few Python
#: calls per pass beyond.  Its (R x slice) by (slice x 3) products are too skinny for OpenBLAS
#: to split over threads (0.3.31: the same CPU time with one thread as with two, measured for
#: slices of 12,288-32,768); 16,384 was faster than 8,192 at k = 10^6 (fewer calls)
_MOMENT_SLICE = 16_384


def _weight_moments(Y, vi, tau2, order, buf=None, w0=None):
    """``M[m - 1, j] = sum_i w_i^m Y[j, i]`` for m = 1..``order`` at w = 1/(v + tau2).

    ``Y`` is (3, k) with rows 1, y - mu0 and (y - mu0)^2 (:func:`centred_fixed_effect_sums`),
    so one pass gives every power sum the likelihood needs: per slice the powers of w are
    rows of a small buffer and all the sums are one matrix product (a pass per sum, as
    before, cost a read of the data each).  With ``w0`` (the weights 1/v), a last row holds
    the sums of w0^2 Y (the score at tau2 = 0 needs sum w0^2 (y - mu0)^2)."""
    k = vi.size
    S = min(_MOMENT_SLICE, k)
    rows = order + (w0 is not None)
    if buf is None or buf.shape[0] < rows or buf.shape[1] < S:
        buf = np.empty((rows, S))
    acc = np.zeros((rows, 3))
    for start in range(0, k, S):
        stop = min(start + S, k)
        W = buf[:rows, :stop - start]
        w = W[0]
        np.add(vi[start:stop], tau2, out=w)
        np.divide(1.0, w, out=w)
        for m in range(1, order):
            np.multiply(W[m - 1], w, out=W[m])
        if w0 is not None:
            np.multiply(w0[start:stop], w0[start:stop], out=W[order])
        acc += W @ Y[:, start:stop].T
    return acc


def _series_terms(M, order):
    """For :func:`_moments_at`: per m = 1, 2, 3 the rows binom(m + n - 1, n) M[m + n - 1]
    (n = order - m ... 0, highest first, for Horner's rule), as Python floats."""
    rows = M.tolist()
    return [[(c * a, c * b, c * y) for c, (a, b, y) in zip(coefs, rows[m - 1:][::-1])]
            for m, coefs in zip((1, 2, 3), _horner_coefficients(order))]


_HORNER: dict = {}


def _horner_coefficients(order):
    """binom(m + n - 1, n) for n = order - m ... 0, m = 1, 2, 3 (cached per order)."""
    if order not in _HORNER:
        _HORNER[order] = [[math.comb(m + n - 1, n) for n in range(order - m, -1, -1)]
                          for m in (1, 2, 3)]
    return _HORNER[order]


def _moments_at(terms, d):
    """The sums of w^m, w^m y and w^m y^2 (m = 1, 2, 3) at tau2 + d from the moments at tau2
    (:func:`_series_terms`): the binomial series w^m(tau2 + d) = w^m (1 + d w)^-m =
    sum_n binom(m + n - 1, n) (-d)^n w^(m + n), truncated at the powers the moments hold
    (exact at d = 0).  Returns three (sum w^m, sum w^m y, sum w^m y^2) triples."""
    x = -d
    out = []
    for rows in terms:
        a = b = c = 0.0
        for ra, rb, rc in rows:
            a = a * x + ra
            b = b * x + rb
            c = c * x + rc
        out.append((a, b, c))
    return out


def _newton_step(t, u, du, info):
    """The next tau2 of the ML/REML iteration: the Newton step -u/du (Fisher scoring, u/info,
    when du >= 0 or the Newton step is not finite or goes below 0), truncated at 0."""
    fisher = u / info
    new = t + (-u / du if du < 0 else fisher)
    if not math.isfinite(new) or new < 0:
        new = t + fisher
    return max(0.0, new)


def _likelihood_score(S, method):
    """(U, dU/dtau2, Fisher information) of ML or REML (Viechtbauer 2005, eqs. 9 and 11) from
    the sums ``S`` of :func:`_moments_at` (about the fixed-effect mean mu0)."""
    (sw, s1, _), (sw2, s3, s4), (sw3, s6, s7) = S
    m = s1 / sw  # mu(tau2) - mu0
    a = s4 - 2.0 * m * s3 + m * m * sw2  # sum w^2 r^2
    s_w2r = s3 - m * sw2  # sum w^2 r
    w3r2 = s7 - 2.0 * m * s6 + m * m * sw3  # sum w^3 r^2
    d_a = -2.0 * w3r2 + 2.0 * s_w2r * s_w2r / sw
    if method == "ML":
        return a - sw, d_a + sw2, sw2
    info = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
    return a - (sw - sw2 / sw), d_a + info, info


def _score_error_bound(S, M, d, wmax, method, order):
    """Bounds on the error of the truncated series at tau2 + d: of U and of the sums
    (sum w, sum w^2, sum w^3, sum w y, sum w y^2).

    The first neglected term of w^m(t + d) is binom(order, m - 1) |d|^(order - m + 1)
    w^(order + 1); with sum w^(order + 1) f <= wmax sum w^order f (f >= 0) and, for y,
    sum w^j |y| <= sqrt(sum w^j sum w^j y^2), and a tail at most twice its first term
    while |d| wmax <= 1/4 (the ratio of successive terms is below 1/2 there)."""
    a_r, _, c_r = M[order - 1].tolist()
    b_r = math.sqrt(a_r * c_r)
    dd = abs(d)
    errs = []
    for m in range(1, 4):
        f = 2.0 * math.comb(order, m - 1) * dd ** (order - m + 1) * wmax
        errs.append((f * a_r, f * b_r, f * c_r))
    (sw, s1, c1), (sw2, s3, _), (sw3, _, _) = S
    (ea1, eb1, ec1), (ea2, eb2, ec2), (ea3, _, _) = errs
    m = s1 / sw
    da_dm = abs(-2.0 * s3 + 2.0 * m * sw2)
    em = eb1 / sw + abs(m) * ea1 / sw
    du = ec2 + 2.0 * abs(m) * eb2 + m * m * ea2 + da_dm * em + ea1
    if method != "ML":
        du += ea2 / sw + sw2 * ea1 / (sw * sw)
    return du, (ea1, ea2, ea3, eb1, ec1)


def _moment_order(k: int) -> int:
    """Powers of the weights per moment pass, by k.  The DL start is closer to the ML/REML
    root for larger k (their difference shrinks like 1/sqrt(k)), so fewer powers give the
    root to the tolerance from one pass (on simulated trial data: one pass for 40 of 40 data
    sets at k = 10^4 with 9 powers, 35 with 8; every one of 8 at k = 10^6 with 7); when
    they do not, another pass is made."""
    return 10 if k < 2_000 else 9 if k < 200_000 else 7


def _likelihood_root_intercept(Y, vi, vmin, method, start, tol, maxiter, floor, w0=None):
    """Root of the ML or REML score of an intercept-only model (Viechtbauer 2005, eqs. 9 and
    11), truncated at 0, with few passes over the data.

    Each pass computes the sums of w^m, w^m y, w^m y^2 (m = 1..R) at the current tau2
    (:func:`_weight_moments`).  Within |d| max w <= 1/4 of that point, the sums at tau2 + d
    follow from them by the binomial series of w^m(tau2 + d) (:func:`_moments_at`), with a
    bound on the truncation error (:func:`_score_error_bound`).  Newton's method (Fisher
    scoring as the fallback, as before) is run on that series; when its root is within the
    series' range and the bound puts the true root within ``tol * max(tau2, floor)`` of it,
    that is the estimate (converged), and the final sums (for the SE, the pooled mean and the
    Knapp-Hartung scale) come from the same series.  Otherwise the next pass is made at the
    series' root, or, when the iteration left the series' range, at the plain Newton step from
    the current point (the step of the direct iteration).

    Returns ``(tau2, converged, passes, final, a0)``, ``final`` being (sum w, sum w^2,
    sum w^3, sum w (y - mu0), sum w (y - mu0)^2) at ``tau2`` or None (not converged), and
    ``a0`` sum w0^2 (y - mu0)^2 from the first pass when the weights ``w0`` are given.
    """
    order = _moment_order(vi.size)
    buf = None
    a0 = None
    te = max(0.0, float(start))
    for passes in range(1, maxiter + 1):
        M = _weight_moments(Y, vi, te, order, buf, w0 if passes == 1 else None)
        if passes == 1 and w0 is not None:
            a0 = float(M[order, 2])
            M = M[:order]
        terms = _series_terms(M, order)
        wmax = 1.0 / (vmin + te)
        radius = 0.25 / wmax
        t = te
        first = prev = None
        converged = False
        for _ in range(200):
            S = _moments_at(terms, t - te)
            u, du, info = _likelihood_score(S, method)
            new = _newton_step(t, u, du, info)
            if first is None:
                first = new
            if abs(new - te) > radius:
                break
            change = abs(new - t)
            t = new
            scale = tol * max(new, floor)
            # converged, or (Newton converging quadratically) the next step, about
            # change^3 / prev^2, predicted below the tolerance: checked below at t
            if change <= scale or (prev is not None and change < prev
                                   and change * (change / prev) ** 2 <= 0.1 * scale):
                converged = True
                break
            prev = change
        if converged:
            d = t - te
            S = _moments_at(terms, d)
            if d == 0.0:
                err_u, errs = 0.0, (0.0,) * 5
            else:
                err_u, errs = _score_error_bound(S, M, d, wmax, method, order)
            u, du, info = _likelihood_score(S, method)
            (sw, s1, c1), (sw2, _, _), (sw3, _, _) = S
            slope = abs(du) if du < 0 else info
            # the final sums to 1e-12 (relative; for sum w y, relative to its scale)
            precise = (errs[0] <= 1e-12 * sw and errs[1] <= 1e-12 * sw2
                       and errs[2] <= 1e-12 * sw3 and errs[3] <= 1e-12 * math.sqrt(sw * c1)
                       and errs[4] <= 1e-12 * c1)
            # the series' root and the series' error within the tolerance; at the boundary
            # (t = 0 with the score pointing below it) the root is 0 whatever the error, so
            # long as the score's sign is sure
            if precise and (abs(u) + err_u <= slope * tol * max(t, floor)
                            or (t == 0.0 and u < -err_u)):
                return t, True, passes, (sw, sw2, sw3, s1, c1), a0
            te = t
        else:
            te = first
    return te, False, maxiter, None, a0


def _newton_intercept(yi, vi, method, start, tol, maxiter):
    """Root of the PM/EB/PMM equation Q(tau2) = target for an intercept-only model.

    Newton's method with dQ/dtau = -sum w^2 r^2 (DerSimonian & Kacker 2007), truncated at 0
    (ML and REML: :func:`_likelihood_root_intercept`).  Returns (tau2, converged, iterations).
    """
    k = yi.size
    target = (k - 1) if method != "PMM" else float(special.chdtri(k - 1, 0.5))
    floor = _tau2_floor(vi)
    tau2 = max(0.0, float(start))
    # reused buffers: no temporaries (and no allocator traffic) inside the iteration
    w, r, wr = (np.empty(k) for _ in range(3))
    prev_step = None
    for it in range(1, maxiter + 1):
        np.add(vi, tau2, out=w)
        np.reciprocal(w, out=w)
        sw = float(w.sum())
        mu = vdot(w, yi) / sw
        np.subtract(yi, mu, out=r)
        np.multiply(w, r, out=wr)
        a = vdot(wr, wr)  # sum w^2 r^2
        u = vdot(wr, r) - target  # Q(tau2) - target
        step = u / a if a > 0 else 0.0
        new = max(0.0, tau2 + step)
        change = abs(new - tau2)
        scale = tol * max(new, floor)
        if change <= scale or (new == 0.0 and tau2 == 0.0):
            return new, True, it
        # Newton converges quadratically: when the step the next iteration would take,
        # about change * (change / previous change), is below the tolerance, stop here
        # (this saves the last pass over the data, which would only confirm convergence)
        if (prev_step is not None and new > 0 and change < prev_step
                and change * (change / prev_step) <= scale):
            return new, True, it
        prev_step = change
        tau2 = new
    return tau2, False, maxiter


def _newton_intercept_small(ys, vs, method, start, tol, maxiter, floor=None):
    """:func:`_newton_intercept` in plain Python floats on lists ``ys``, ``vs``: for small k
    this avoids the per-call overhead of numpy and is several times faster (same formulas and
    stopping rule)."""
    k = len(ys)
    pm = method in ("PM", "EB", "PMM")
    if pm:
        target = (k - 1) if method != "PMM" else float(special.chdtri(k - 1, 0.5))
    if floor is None:
        floor = max(1e-12, sum(vs) / k)  # _tau2_floor, without numpy's per-call overhead
    reml = method == "REML"
    tau2 = max(0.0, float(start))
    for it in range(1, maxiter + 1):
        ws, sw, mu = _weighted_mean_small(ys, vs, tau2)
        a = s_w2r = s_w3r2 = sw2 = sw3 = qg = 0.0
        if pm:
            for w, y in zip(ws, ys):
                r = y - mu
                wr2 = w * r * r
                qg += wr2
                a += wr2 * w
            u = qg - target
            new = max(0.0, tau2 + (u / a if a > 0 else 0.0))
        else:
            for w, y in zip(ws, ys):
                r = y - mu
                w2 = w * w
                w2r = w2 * r
                w2r2 = w2r * r
                a += w2r2
                s_w2r += w2r
                s_w3r2 += w2r2 * w
                sw2 += w2
                sw3 += w2 * w
            d_a = -2.0 * s_w3r2 + 2.0 * s_w2r * s_w2r / sw
            if reml:
                u = a - (sw - sw2 / sw)
                info = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
                du = d_a + info
            else:  # ML
                u = a - sw
                du = d_a + sw2
                info = sw2
            new = _newton_step(tau2, u, du, info)
        change = abs(new - tau2)
        if change <= tol * max(new, floor) or (new == 0.0 and tau2 == 0.0):
            return new, True, it
        tau2 = new
    return tau2, False, maxiter


#: largest k for which the intercept-only estimators run on Python floats (below it, numpy's
#: per-call overhead outweighs its vectorisation)
SMALL_K = 64


def fixed_effect_sums_small(ys, vs):
    """Fixed-effect quantities (weights w0 = 1/v) of an intercept-only model, in Python floats.

    Returns ``(w0, sw0, sw0_2, mu0, q, trp0)``: the weights (list), their sum and sum of
    squares, the weighted mean, Cochran's Q = sum w0 (y - mu0)^2 and tr(P0) = sum w0 -
    sum w0^2/sum w0.
    """
    w0 = [1.0 / x for x in vs]
    sw0 = sw0_2 = swy = 0.0
    for w, y in zip(w0, ys):
        sw0 += w
        sw0_2 += w * w
        swy += w * y
    mu0 = swy / sw0
    q = 0.0
    for w, y in zip(w0, ys):
        r = y - mu0
        q += w * (r * r)
    return w0, sw0, sw0_2, mu0, q, sw0 - sw0_2 / sw0


def _var_q_weights_small(ws, ss):
    """tr(P S P S) for P = W - w w'/sum(w) and S = diag(s), in Python floats."""
    sw = saa = swaa = saw = 0.0
    for w, s in zip(ws, ss):
        a = w * s
        sw += w
        saa += a * a
        swaa += w * a * a
        saw += a * w
    return 2.0 * (saa - 2.0 * swaa / sw + (saw / sw) ** 2)


def _weighted_mean_small(ys, vs, tau2):
    """Inverse-variance weights ``1 / (v_i + tau2)``, their sum and the weighted mean, on plain
    Python floats (for small k this beats numpy's per-call overhead; DerSimonian & Laird 1986,
    eq. 6). Returns ``(weights, sum_of_weights, mean)``."""
    ws = []
    sw = swy = 0.0
    for y, x in zip(ys, vs):
        w = 1.0 / (x + tau2)
        ws.append(w)
        sw += w
        swy += w * y
    return ws, sw, swy / sw


def _estimate_intercept_small(ys, vs, method, tol, maxiter, tau2_start, fe=None):
    """:func:`_estimate_intercept` on lists of Python floats (k <= :data:`SMALL_K`).

    Same estimators and formulas; ``fe`` is :func:`fixed_effect_sums_small` when the caller
    has it already.  Returns ``(tau2, se_tau2, converged, iterations)``.
    """
    if method in EXTRA_METHODS:
        tau2, se = _estimate_extra(np.asarray(ys, float), np.asarray(vs, float), None, method, None)
        return tau2, se, True, 0, ()
    k = len(ys)
    dfr = k - 1
    w0, sw0, sw0_2, mu0, q, trp0 = fixed_effect_sums_small(ys, vs) if fe is None else fe

    def var_q_fixed(tau2):
        # tr(P S P S) for P at weights 1/v, S = diag(v + tau2)
        sw0_3 = 0.0
        for w in w0:
            sw0_3 += w * w * w
        sa2 = k + 2 * tau2 * sw0 + tau2 * tau2 * sw0_2
        swa2 = sw0 + 2 * tau2 * sw0_2 + tau2 * tau2 * sw0_3
        saw = sw0 + tau2 * sw0_2
        return 2.0 * (sa2 - 2.0 * swa2 / sw0 + (saw / sw0) ** 2)

    if method in ("DL", "GENQ"):
        tau2 = max(0.0, (q - dfr) / trp0)
        return tau2, math.sqrt(var_q_fixed(tau2)) / trp0, True, 0, ()
    if method in ("HS", "HSk"):
        factor = k / dfr if method == "HSk" else 1.0
        tau2 = max(0.0, (factor * q - k) / sw0)
        return tau2, factor * math.sqrt(var_q_fixed(tau2)) / sw0, True, 0, ()
    if method in ("HE", "SJ"):
        ybar = sum(ys) / k
        rss = 0.0
        for y in ys:
            rss += (y - ybar) * (y - ybar)
    if method == "HE":
        tau2 = max(0.0, (rss - sum(vs) * dfr / k) / dfr)
        ss = [x + tau2 for x in vs]
        return tau2, math.sqrt(_var_q_weights_small([1.0] * k, ss)) / dfr, True, 0, ()
    if method == "SJ":
        tau0 = (rss / k if rss > 0 else 1e-10) if tau2_start is None else _sj_init(tau2_start)
        ws = [1.0 / (x + tau0) for x in vs]
        sw = swy = 0.0
        for w, y in zip(ws, ys):
            sw += w
            swy += w * y
        mu = swy / sw
        qw = 0.0
        for w, y in zip(ws, ys):
            qw += w * (y - mu) * (y - mu)
        tau2 = tau0 * qw / dfr
        ss = [x + tau2 for x in vs]
        return tau2, tau0 / dfr * math.sqrt(_var_q_weights_small(ws, ss)), True, 0, ()
    floor = max(1e-12, sum(vs) / k)  # _tau2_floor
    if method in ("ML", "REML"):
        start = max(0.0, (q - dfr) / trp0) if tau2_start is None else float(tau2_start)
        tau2, conv, it = _newton_intercept_small(ys, vs, method, start, tol, maxiter, floor)
        notes = ()
        if tau2 > 0:
            # tau2 = 0 can be the maximum only if the score there is <= 0 (Viechtbauer 2005,
            # eqs. 9 and 11 at tau2 = 0): a cheap pass that spares the log-likelihoods
            reml = method == "REML"
            a0 = 0.0
            for w, y in zip(w0, ys):
                wr = w * (y - mu0)
                a0 += wr * wr
            if a0 - (trp0 if reml else sw0) <= 0:
                ll0 = 0.0
                for x in vs:
                    ll0 += math.log(x)
                ll0 = -0.5 * (ll0 + q + (math.log(sw0) if reml else 0.0))
                if _boundary_is_higher(ll0, _loglik_intercept_small(ys, vs, tau2, reml)):
                    notes = (boundary_message(method, tau2),)
                    tau2 = 0.0
        sw = sw2 = sw3 = 0.0
        for x in vs:
            w = 1.0 / (x + tau2)
            w2 = w * w
            sw += w
            sw2 += w2
            sw3 += w2 * w
        if method == "ML":
            se = math.sqrt(2.0 / sw2)
        else:
            se = math.sqrt(2.0 / (sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2))
        return tau2, se, conv, it, notes
    # EB, PM, PMM
    target = dfr if method != "PMM" else float(special.chdtri(dfr, 0.5))
    if q <= target:
        tau2, conv, it = 0.0, True, 0
    else:
        tau2, conv, it = _newton_intercept_small(ys, vs, method, 0.0, tol, maxiter, floor)
    sw = 0.0
    for x in vs:
        sw += 1.0 / (x + tau2)
    return tau2, math.sqrt(2.0 * k * k / dfr) / sw, conv, it, ()


def nonconvergence_message(method: str, maxiter: int, tau2: float) -> str:
    """The warning for an intercept-only iteration that stopped at ``maxiter``."""
    return (f"the {method} iteration did not converge in {maxiter} iterations "
            f"(last tau2 = {tau2:.6g})")


def fixed_effect_sums(yi, vi):
    """:func:`fixed_effect_sums_small` on numpy arrays: ``(w0, sw0, sw0_2, mu0, q, trp0)``."""
    w0 = 1.0 / vi
    sw0 = float(w0.sum())
    sw0_2 = vdot(w0, w0)
    mu0 = vdot(w0, yi) / sw0
    r0 = yi - mu0
    r0 *= r0
    q = vdot(w0, r0)
    return w0, sw0, sw0_2, mu0, q, sw0 - sw0_2 / sw0


def centred_fixed_effect_sums(yi, vi):
    """:func:`fixed_effect_sums` plus ``Y`` (3 x k): rows 1, y - mu0 and (y - mu0)^2, which
    the ML/REML passes (:func:`_weight_moments`) read; Q is computed from the last row."""
    k = yi.size
    w0 = 1.0 / vi
    sw0 = float(w0.sum())
    sw0_2 = vdot(w0, w0)
    mu0 = vdot(w0, yi) / sw0
    Y = np.empty((3, k))
    Y[0] = 1.0
    np.subtract(yi, mu0, out=Y[1])
    np.multiply(Y[1], Y[1], out=Y[2])
    q = vdot(w0, Y[2])
    return w0, sw0, sw0_2, mu0, q, sw0 - sw0_2 / sw0, Y


def _estimate_intercept(yi, vi, method, tol, maxiter, tau2_start, fe=None, final=None):
    """All estimators for X = 1 from power sums (same formulas as the general path);
    ``fe`` is :func:`fixed_effect_sums` (:func:`centred_fixed_effect_sums` for ML and REML)
    when the caller has it already.  For ML/REML, a dict ``final`` receives the sum of the
    weights, the pooled mean and the weighted residual sum of squares at the estimate
    (``sw``, ``mu``, ``rss_w``), so that the caller need not compute them again."""
    if method in EXTRA_METHODS:
        tau2, se = _estimate_extra(yi, vi, None, method, None)
        return tau2, se, True, 0, ()
    k = yi.size
    dfr = k - 1
    if fe is None:
        fe = centred_fixed_effect_sums(yi, vi) if method in ("ML", "REML") else \
            fixed_effect_sums(yi, vi)
    w0, sw0, sw0_2, mu0, q, trp0 = fe[:6]

    def var_q_fixed(tau2):
        # tr(P S P S) for P at weights 1/v, S = diag(v + tau2)
        w0sq = w0 * w0
        sw0_3 = vdot(w0sq, w0)
        sa2 = k + 2 * tau2 * sw0 + tau2 * tau2 * sw0_2
        swa2 = sw0 + 2 * tau2 * sw0_2 + tau2 * tau2 * sw0_3
        saw = sw0 + tau2 * sw0_2
        return 2.0 * (sa2 - 2.0 * swa2 / sw0 + (saw / sw0) ** 2)

    def var_q_weights(w, s):
        a = w * s
        sw = w.sum()
        return 2.0 * (vdot(a, a) - 2.0 * vdot(w * a, a) / sw + (vdot(a, w) / sw) ** 2)

    if method in ("DL", "GENQ"):
        tau2 = max(0.0, (q - dfr) / trp0)
        return tau2, float(np.sqrt(var_q_fixed(tau2)) / trp0), True, 0, ()
    if method in ("HS", "HSk"):
        factor = k / dfr if method == "HSk" else 1.0
        tau2 = max(0.0, (factor * q - k) / sw0)
        return tau2, float(factor * np.sqrt(var_q_fixed(tau2)) / sw0), True, 0, ()
    if method in ("HE", "SJ"):
        rr = yi - yi.mean()
        rss = vdot(rr, rr)
    if method == "HE":
        tau2 = max(0.0, (rss - vi.sum() * dfr / k) / dfr)
        return tau2, float(np.sqrt(var_q_weights(np.ones(k), vi + tau2)) / dfr), True, 0, ()
    if method == "SJ":
        tau0 = (rss / k if rss > 0 else 1e-10) if tau2_start is None else _sj_init(tau2_start)
        w = 1.0 / (vi + tau0)
        mu = vdot(w, yi) / w.sum()
        r = yi - mu
        tau2 = tau0 * vdot(w, r * r) / dfr
        return tau2, float(tau0 / dfr * np.sqrt(var_q_weights(w, vi + tau2))), True, 0, ()
    if method in ("ML", "REML"):
        Y = fe[6] if len(fe) > 6 else centred_fixed_effect_sums(yi, vi)[6]
        start = max(0.0, (q - dfr) / trp0) if tau2_start is None else float(tau2_start)
        tau2, conv, it, sums, a0 = _likelihood_root_intercept(
            Y, vi, float(vi.min()), method, start, tol, maxiter, _tau2_floor(vi), w0)
        notes = ()
        reml = method == "REML"
        if tau2 > 0:
            if a0 - (trp0 if reml else sw0) <= 0:  # score at 0 (see above)
                ll0 = -0.5 * (float(np.log(vi).sum()) + q + (math.log(sw0) if reml else 0.0))
                if _boundary_is_higher(ll0, _loglik_intercept(yi, vi, tau2, reml)):
                    notes = (boundary_message(method, tau2),)
                    tau2 = 0.0
                    sums = None
        if sums is None:
            w = 1.0 / (vi + tau2)
            sw, sw2 = float(w.sum()), vdot(w, w)
            sw3 = vdot(w * w, w)
            s1 = vdot(w, Y[1])
            c1 = vdot(w, Y[2])
        else:
            sw, sw2, sw3, s1, c1 = sums
        if final is not None:
            # about mu0: mu = mu0 + s1/sw, sum w (y - mu)^2 = c1 - s1^2/sw
            final.update(sw=sw, mu=mu0 + s1 / sw, rss_w=c1 - s1 * s1 / sw)
        if method == "ML":
            se = math.sqrt(2.0 / sw2)
        else:
            se = math.sqrt(2.0 / (sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2))
        return tau2, se, conv, it, notes
    # EB, PM, PMM
    target = dfr if method != "PMM" else float(special.chdtri(dfr, 0.5))
    if q <= target:
        tau2, conv, it = 0.0, True, 0
    else:
        tau2, conv, it = _newton_intercept(yi, vi, method, 0.0, tol, maxiter)
    w = 1.0 / (vi + tau2)
    return tau2, float(np.sqrt(2.0 * k * k / dfr) / w.sum()), conv, it, ()


# ----------------------------------------------------------------------------
# public


def _pm_root(yi, vi, X, k, p, target) -> float:
    """The root of Q(tau2) = target (0 when Q(0) <= target); Q(tau2) decreases in tau2."""
    def f(t):
        return _generalised_q(yi, vi, X, t) - target

    if f(0.0) <= 0:
        return 0.0
    scale = max(float(np.var(yi)), float(np.max(vi)), 1e-8)
    return _root_decreasing(f, scale)


def _p_stats(yi, X, w) -> tuple[float, float, float]:
    """``(y'Py, tr(P), tr(PP))`` for P at weights ``w`` (O(k) when ``X`` is None)."""
    if X is None:
        sw = float(w.sum())
        r = yi - float(w @ yi) / sw
        w2 = w * w
        sw2 = float(w2.sum())
        return (float(w @ (r * r)), sw - sw2 / sw,
                sw2 - 2.0 * float(w2 @ w) / sw + (sw2 / sw) ** 2)
    P = p_matrix(X, w)
    return float(yi @ P @ yi), float(np.trace(P)), float(np.sum(P * P))


def _dlit(yi, vi, X, k, p):
    """The iterated DerSimonian-Laird estimator as metafor defines ``method="DLIT"``: the DL
    formula tau2 = (Q_w - (k - p))/tr(P_w) evaluated again and again with the weights
    w = 1/(v + tau2) of the previous step, starting from DL (DerSimonian & Kacker 2007,
    section 3, iterate the two-step estimator).  Its limit is the root of
    g(tau2) = Q_w(tau2) - (k - p) - tau2 tr(P_w(tau2)), found here directly by Brent's method
    (the iteration itself oscillates and can need thousands of steps), and 0 when the DL
    estimate is 0.  Note that metafor keeps k - p where the moment equation with these weights
    has tr(P_w V) (the generalised method of moments of DerSimonian & Kacker, whose iteration
    converges to Paule-Mandel): DLIT is therefore not PM.
    """
    dfr = k - p

    def g(t):
        q, trp, _ = _p_stats(yi, X, 1.0 / (vi + t))
        return q - dfr - t * trp

    if g(0.0) <= 0:
        tau2 = 0.0
    else:
        tau2 = _root_decreasing(g, max(float(np.var(yi)), float(np.max(vi)), 1e-8))
    _, trp, trpp = _p_stats(yi, X, 1.0 / (vi + tau2))
    se = math.sqrt(2.0 * dfr + 4.0 * tau2 * trp + 2.0 * tau2 * tau2 * trpp) / trp
    return tau2, se


def _genqm(yi, vi, X, k, p, a):
    """Median-unbiased generalised Q estimator (metafor's ``GENQM``; Jackson 2013 with the
    median in place of the mean): the tau2 at which the observed Q_a = y'P_a y is the median of
    its distribution sum_j lambda_j(tau2) chi2_1 (:mod:`trialsynth.pooling._quadform`);
    0 when Q_a is at or below its median at tau2 = 0.  P(Q_a > q) increases in tau2, so the
    root is unique.  Its SE is that of GENQ."""
    from trialsynth.pooling._quadform import generalised_q_eigenvalues, quadform_sf

    Xd = intercept_design(k) if X is None else X
    P = p_matrix(Xd, a)
    q_obs = float(yi @ P @ yi)

    def f(t):
        return 0.5 - quadform_sf(q_obs, generalised_q_eigenvalues(P, vi, t))

    if f(0.0) <= 0:
        tau2 = 0.0
    else:
        upper = _find_upper(f, max(float(np.var(yi)), float(np.max(vi)), 1e-8))
        tau2 = float(optimize.brentq(f, 0.0, upper, xtol=1e-13, rtol=1e-12, maxiter=500))
    se = np.sqrt(_var_quadform(P, vi, tau2)) / float(np.trace(P))
    return tau2, float(se)


def _estimate_extra(yi, vi, X, method, weights):
    """GENQM, DLIT and SJIT on any design (``X`` None: intercept only).

    SJIT, the Sidik-Jonkman estimator iterated to convergence (tau <- tau Q_w(tau)/(k - p),
    w = 1/(v + tau); Sidik & Jonkman 2005, section 3), has the Paule-Mandel root of
    Q_w(tau) = k - p as its limit from any positive start (and tends to 0 when Q(0) <= k - p),
    so it is computed as that root, with the PM standard error (as metafor reports).
    """
    k = yi.size
    p = 1 if X is None else X.shape[1]
    if method == "DLIT":
        return _dlit(yi, vi, X, k, p)
    if method == "GENQM":
        return _genqm(yi, vi, X, k, p, 1.0 / vi if weights is None else weights)
    # SJIT
    tau2 = _pm_root(yi, vi, intercept_design(k) if X is None else X, k, p, k - p)
    w = 1.0 / (vi + tau2)
    return tau2, float(np.sqrt(2.0 * k * k / (k - p)) / np.sum(w))


def check_tau2_init(tau2_init) -> float | None:
    """None, or ``tau2_init`` as a float >= 0 (ArgumentError otherwise)."""
    if tau2_init is None:
        return None
    try:
        value = float(tau2_init)
    except (TypeError, ValueError):
        raise ArgumentError(f"tau2_init must be a number >= 0; got {tau2_init!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ArgumentError(f"tau2_init must be a finite number >= 0; got {tau2_init!r}")
    return value


def estimate_tau2(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray | None = None,
    method: str = "REML",
    *,
    weights: np.ndarray | None = None,
    tol: float = 1e-12,
    maxiter: int = 10000,
    tau2_init: float | None = None,
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
        equals DL when the weights are 1/v_i), ``GENQM`` (its median-unbiased version,
        :func:`_genqm`), ``DLIT`` (iterated DL, :func:`_dlit`), ``SJIT`` (iterated SJ,
        :func:`_estimate_extra`).
    weights : array, optional
        The weights a_i of GENQ and GENQM (default 1/v_i).
    tol, maxiter : float, int
        Fisher scoring tolerance (relative to tau2) and iteration cap.
    tau2_init : float, optional
        As metafor's ``control=list(tau2.init=)``: the starting value of the ML/REML iteration
        (default: the DL estimate) and the initial estimate tau0 of SJ (default
        :func:`sj_initial`).  The other estimators are closed forms or unique roots, which do
        not depend on a start; it is ignored there.
    """
    method = normalise_method(method)
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = yi.size
    tau2_init = check_tau2_init(tau2_init)
    if (X is None and (weights is None or method not in GENQ_METHODS) and method != "EE"
            and k >= 2 and method not in EXTRA_METHODS):
        if k <= SMALL_K:
            tau2, se, converged, it, notes = _estimate_intercept_small(
                yi.tolist(), vi.tolist(), method, tol, maxiter, tau2_init)
        else:
            tau2, se, converged, it, notes = _estimate_intercept(yi, vi, method, tol, maxiter,
                                                                 tau2_init)
        messages = list(notes)
        if not converged:
            messages.append(nonconvergence_message(method, maxiter, tau2))
        return Tau2Estimate(float(tau2), se, converged, it, method, messages)
    if X is not None:
        X = np.asarray(X, dtype=float)
    p = 1 if X is None else X.shape[1]
    messages: list[str] = []
    if method == "EE":
        return Tau2Estimate(0.0, None, True, 0, method, messages)
    if k - p < 1:
        messages.append(
            f"tau2 cannot be estimated with k = {k} studies and p = {p} coefficients; "
            "it is set to 0 (common-effect fit)"
        )
        return Tau2Estimate(0.0, None, True, 0, method, messages)
    if method in EXTRA_METHODS:
        tau2, se = _estimate_extra(yi, vi, X, method, weights)
        return Tau2Estimate(float(tau2), float(se), True, 0, method, messages)
    X = intercept_design(k) if X is None else X

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
        tau2, se = _sj(yi, vi, X, k, p, tau2_init)
    elif method in ("ML", "REML"):
        start = _dl(yi, vi, X, k, p)[0] if tau2_init is None else tau2_init
        tau2, converged, it = _fisher_scoring(yi, vi, X, method, start, tol, maxiter)
        if tau2 > 0:
            reml = method == "REML"
            if _boundary_is_higher(_loglik(yi, vi, X, 0.0, reml), _loglik(yi, vi, X, tau2, reml)):
                messages.append(boundary_message(method, tau2))
                tau2 = 0.0
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
        target = (k - p) if method in ("PM", "EB") else float(2.0 * special.gammaincinv((k - p) / 2, 0.5))  # = chi2.ppf(0.5, k - p)
        tau2 = _pm_root(yi, vi, X, k, p, target)
        w = 1.0 / (vi + tau2)
        se = np.sqrt(2.0 * k * k / (k - p)) / np.sum(w)
        return Tau2Estimate(tau2, float(se), True, 0, method, messages)
    return Tau2Estimate(float(tau2), float(se), True, 0, method, messages)
