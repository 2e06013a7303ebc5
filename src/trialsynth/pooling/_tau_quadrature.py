"""Adaptive Gauss-Legendre quadrature over the heterogeneity tau, for one cell or many at once.

The posterior of the normal-normal hierarchical model factorises as ``p(mu, tau | y) =
p(mu | tau, y) p(tau | y)``: given tau, mu is normal in closed form, so every posterior quantity is a
one-dimensional integral over tau (Röver 2020, *J Stat Softw* 93(6), section 2.2, eqs. 7-13).
This module builds one quadrature rule on tau, shared by every integral of a cell:

* the tau axis is cut into panels: on ``[0, T]`` panels graded geometrically towards 0 (a factor
  4 each, down to ``T 4^-24``, so that a prior concentrated near 0 is never missed), above ``T``
  panels on ``log tau`` of growing width until the posterior (times tau^2) is negligible;
* each panel carries a 12-point Gauss-Legendre rule; a 6-point rule on the same panel estimates
  its error, for the density and for the integrands of the first two moments of tau and of the
  conditional mean and variance of mu; panels whose error exceeds the tolerance are halved, all
  pending panels of all cells at once (vectorised), until every panel passes;
* the result holds, per cell, the nodes, normalised weights, the conditional mean and variance
  of mu at each node, and the panels' Legendre antiderivative coefficients that give the
  distribution function of tau anywhere.

No random numbers and no data-dependent iteration order: the same input gives the same digits.

References
----------
* Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package. *J Stat
  Softw* 93(6):1-51, doi:10.18637/jss.v093.i06 (the model, the conditional posterior of mu and
  the marginal likelihood of tau, section 2).
* Davis PJ, Rabinowitz P (1984). *Methods of Numerical Integration*, 2nd ed., ch. 2-3 (composite
  Gauss-Legendre rules, error estimation by comparing rules, adaptive subdivision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from trialsynth.errors import ArgumentError

N_MAIN = 12
N_CHECK = 6
_LOG_2PI = math.log(2.0 * math.pi)
#: geometric grading of the panels on [0, T]: T 4^-j, j = 0..GRADES
GRADES = 24
#: largest log(tau) a tail panel reaches (tau^2 = e^600 stays finite)
X_CAP = 300.0


@lru_cache(maxsize=None)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return nodes, weights


def legendre_basis(u: np.ndarray, n: int) -> np.ndarray:
    """``P_0(u) .. P_{n-1}(u)`` (last axis), by the three-term recurrence."""
    u = np.asarray(u, dtype=float)
    out = np.empty(u.shape + (n,))
    out[..., 0] = 1.0
    if n > 1:
        out[..., 1] = u
    for j in range(2, n):
        out[..., j] = ((2 * j - 1) * u * out[..., j - 1] - (j - 1) * out[..., j - 2]) / j
    return out


@lru_cache(maxsize=None)
def legendre_to_power(n: int) -> np.ndarray:
    """(n, n) matrix taking Legendre coefficients to ordinary polynomial ones (lowest power first)."""
    conv = np.zeros((n, n))
    for j in range(n):
        unit = np.zeros(n)
        unit[j] = 1.0
        poly = np.polynomial.legendre.leg2poly(unit)
        conv[: poly.size, j] = poly
    return conv


@lru_cache(maxsize=None)
def _interpolation_matrices() -> tuple[np.ndarray, np.ndarray]:
    """``(A, D)``: Legendre coefficients of the degree-11 interpolant through the 12 Gauss nodes
    (``c = A @ h``, exact by discrete orthogonality) and of its antiderivative from -1
    (``d = D @ h``, 13 coefficients)."""
    u, w = gauss_legendre(N_MAIN)
    basis = legendre_basis(u, N_MAIN)  # (12 nodes, 12 degrees)
    scale = (2 * np.arange(N_MAIN) + 1) / 2.0
    a = (basis * w[:, None]).T * scale[:, None]  # (degree, node)
    integ = np.zeros((N_MAIN + 1, N_MAIN))
    for j in range(N_MAIN):
        unit = np.zeros(N_MAIN)
        unit[j] = 1.0
        integ[:, j] = np.polynomial.legendre.legint(unit, lbnd=-1)
    return a, np.einsum("ij,jk->ik", integ, a)


@dataclass
class TauRule:
    """The quadrature rule of ``m`` cells on shared tau panels.

    Attributes
    ----------
    kind, a, b : (P,) arrays
        Panel coordinate (0: tau itself, 1: log tau) and ends in that coordinate.
    tau : (P, 12)
        Nodes.
    log_g : (m, P, 12)
        Log of the unnormalised posterior density times the node's Jacobian and Gauss weight
        (so ``sum exp(log_g)`` is the integral).
    mean, var : (m, P, 12)
        Conditional posterior mean and variance of mu given tau at each node.
    log_norm : (m,)
        Log of the integral of the unnormalised posterior (the log marginal likelihood when the
        priors are proper).
    """

    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    tau: np.ndarray
    log_g: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    log_norm: np.ndarray
    iterations: int = 0
    tail_mass: np.ndarray | None = None

    @property
    def n_panels(self) -> int:
        return int(self.a.size)

    def weights(self) -> np.ndarray:
        """Normalised posterior weights per node, (m, P, 12)."""
        return np.exp(self.log_g - self.log_norm[:, None, None])

    def antiderivatives(self) -> np.ndarray:
        """(m, P, 13) Legendre coefficients of the posterior distribution function of tau within
        each panel, in the panel's coordinate ``u`` in [-1, 1], from 0 at ``u = -1``."""
        _, w = gauss_legendre(N_MAIN)
        _, d = _interpolation_matrices()
        dens = self.weights() / w  # density per unit u at the nodes
        return np.einsum("mpj,ij->mpi", dens, d)


def _panel_nodes(kind, a, b, n):
    """Nodes (P, n) on tau, log Jacobian + log Gauss weight (P, n)."""
    u, w = gauss_legendre(n)
    half = (b - a) / 2.0
    z = (a + b)[:, None] / 2.0 + half[:, None] * u[None, :]
    logw = np.log(half)[:, None] + np.log(w)[None, :]
    is_log = kind[:, None] == 1
    tau = np.where(is_log, np.exp(np.minimum(z, X_CAP)), z)
    logw = logw + np.where(is_log, z, 0.0)  # d tau = tau d(log tau)
    return tau, logw


def conditional(y, v, valid, tau, mu_prior):
    """Log marginal likelihood of tau and the conditional posterior mean and variance of mu.

    ``y, v, valid``: (m, k); ``tau``: (N,) shared by the rows, or (m, N) one set per row. Returns
    three (m, N) arrays. With a flat prior on mu
    the likelihood is the restricted one, ``-1/2 [sum log(v_i + tau^2) + log sum w_i + Q(tau)]
    - (k-1)/2 log 2 pi``; a normal prior N(m0, s0^2) enters as one more observation ``m0`` with
    variance ``s0^2`` and no tau (Röver 2020, section 2.2).
    """
    t2 = np.atleast_2d(tau * tau)  # (1, N) or (m, N)
    s2 = v[:, None, :] + t2[:, :, None]
    dense = bool(valid.all())
    yy = y if dense else np.where(valid, y, 0.0)
    w = 1.0 / s2
    if not dense:
        w = np.where(valid[:, None, :], w, 0.0)
    big_s = w.sum(-1)
    sy = np.einsum("mnk,mk->mn", w, yy)
    k = valid.sum(-1).astype(float)
    if mu_prior is None:
        const = -0.5 * (k - 1.0) * _LOG_2PI
    else:
        w0 = 1.0 / (mu_prior.sd * mu_prior.sd)
        big_s = big_s + w0
        sy = sy + w0 * mu_prior.mean
        const = -0.5 * k * _LOG_2PI + 0.5 * math.log(w0)
    mean = sy / big_s
    resid = yy[:, None, :] - mean[..., None]
    q = np.einsum("mnk,mnk->mn", w, resid * resid)
    if mu_prior is not None:
        q = q + w0 * (mu_prior.mean - mean) ** 2
    # sum_i log(v_i + tau^2) with one log per node: the ratios (v_i + tau^2) / (1 + tau^2) lie
    # between min(v, 1) and max(v, 1), so their product stays in range for moderate k
    if y.shape[-1] <= 40 and dense:
        one = 1.0 + t2
        logdet = y.shape[-1] * np.log(one) + np.log(np.prod(s2 / one[:, :, None], axis=-1))
    else:
        logdet = np.where(valid[:, None, :], np.log(s2), 0.0).sum(-1)
    loglik = -0.5 * (logdet + np.log(big_s) + q) + const[:, None]
    return loglik, mean, 1.0 / big_s


def log_prior(prior, tau, v, valid):
    """(m, N) log prior density on tau (``tau``: (N,) or (m, N)); the Jeffreys prior needs each
    cell's variances."""
    t = np.atleast_2d(tau)
    if prior.needs_vi:
        t3 = t[:, :, None]
        ratio = np.where(valid[:, None, :], t3 / (v[:, None, :] + t3 * t3), 0.0)
        with np.errstate(divide="ignore"):
            return 0.5 * np.log(np.sum(ratio * ratio, axis=-1))
    return np.broadcast_to(prior.logpdf(t), (v.shape[0], t.shape[1]))


def moment_finite(prior, likelihood_power: float, order: int) -> bool:
    """Whether ``E[tau^order | y]`` is finite (``order = 0``: whether the posterior is proper).
    The posterior's upper tail is the prior's ``tau^-a (log tau)^-b`` times the likelihood's
    ``tau^-likelihood_power``: ``k - 1`` with a flat prior on mu, ``k`` with a normal one, 0 for
    the prior alone (:func:`likelihood_power`)."""
    if prior.is_point_mass or math.isfinite(prior.support[1]):
        return True
    a, b = prior.tail
    if not math.isfinite(a):
        return True
    excess = a + likelihood_power - order
    return excess > 1 or (excess == 1 and b > 1)


def likelihood_power(k: int, mu_prior) -> float:
    """How fast the marginal likelihood of tau falls in the upper tail: ``tau^-(k-1)`` with a flat
    prior on mu (the restricted likelihood), ``tau^-k`` with a normal prior."""
    return float(k - 1 if mu_prior is None else k)


def initial_panels(lo: float, hi: float, top: float, floor: float = 0.0):
    """Panels (kind, a, b) covering [lo, min(hi, top)] (graded towards 0 when lo = 0, on log tau
    otherwise) and, when ``hi`` is finite, on to ``hi``; the tail beyond ``top`` for an infinite
    ``hi`` is added by :func:`build_rule`."""
    kinds, aa, bb = [], [], []
    if lo == 0.0:
        # halving near the top (where the posterior's bulk usually is), then a factor 4 a panel
        # (down to ``floor``, a small fraction of the smallest scale in the problem)
        quarter = [top * 2.0 ** -6 * 4.0 ** -j for j in range(GRADES - 3, 0, -1)]
        quarter = [e for e in quarter if e >= floor] or quarter[-1:]
        edges = [0.0] + quarter + [top * 2.0 ** -j for j in range(6, -1, -1)]
        for left, right in zip(edges[:-1], edges[1:]):
            kinds.append(0), aa.append(left), bb.append(right)
    elif top > lo:
        xs = np.linspace(math.log(lo), math.log(top), max(2, int(math.ceil((math.log(top) - math.log(lo)) / 0.5)) + 1))
        for left, right in zip(xs[:-1], xs[1:]):
            kinds.append(1), aa.append(float(left)), bb.append(float(right))
    if math.isfinite(hi) and hi > max(top, lo):
        start = math.log(max(top, lo))
        xs = np.linspace(start, math.log(hi), max(2, int(math.ceil((math.log(hi) - start) / 0.5)) + 1))
        for left, right in zip(xs[:-1], xs[1:]):
            kinds.append(1), aa.append(float(left)), bb.append(float(right))
    return np.array(kinds, dtype=int), np.array(aa, float), np.array(bb, float)


_TAIL_WIDTHS = (0.5, 0.5, 1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)


def _tail_panels(x0: float, count: int, start_index: int = 0, direction: int = 1):
    """``count`` panels on log tau from ``x0`` outwards (``direction`` +1 up, -1 down), of growing
    width, stopping at ``+-X_CAP``."""
    kinds, aa, bb = [], [], []
    x = x0
    for i in range(start_index, start_index + count):
        width = _TAIL_WIDTHS[min(i, len(_TAIL_WIDTHS) - 1)]
        nxt = min(x + width, X_CAP) if direction > 0 else max(x - width, -X_CAP)
        if nxt == x:
            break
        kinds.append(1), aa.append(min(x, nxt)), bb.append(max(x, nxt))
        x = nxt
    return np.array(kinds, dtype=int), np.array(aa, float), np.array(bb, float)


def _evaluate(kind, a, b, n, y, v, valid, prior, mu_prior, with_likelihood=True):
    tau, logw = _panel_nodes(kind, a, b, n)
    flat = tau.ravel()
    if with_likelihood:
        loglik, mean, var = conditional(y, v, valid, flat, mu_prior)
    else:
        loglik = mean = var = np.zeros((y.shape[0], flat.size))
    lp = log_prior(prior, flat, v, valid)
    shape = (y.shape[0],) + tau.shape
    log_g = (loglik + lp).reshape(shape) + logw[None]
    log_g = np.where(np.isnan(log_g), -np.inf, log_g)
    return tau, log_g, mean.reshape(shape), var.reshape(shape)


def _evaluate_pair(kind, a, b, y, v, valid, prior, mu_prior, npend):
    """The 12-point and the 6-point rules on the same panels, in one evaluation."""
    t12, l12 = _panel_nodes(kind[:npend], a[:npend], b[:npend], N_MAIN)
    t6, l6 = _panel_nodes(kind[npend:], a[npend:], b[npend:], N_CHECK)
    tau, logw = np.concatenate([t12.ravel(), t6.ravel()]), (l12, l6)
    flat = tau
    loglik, mean, var = conditional(y, v, valid, flat, mu_prior)
    lp = log_prior(prior, flat, v, valid)
    m = y.shape[0]
    log_g = loglik + lp
    log_g = np.where(np.isnan(log_g), -np.inf, log_g)
    cut = npend * N_MAIN
    out = []
    for sl, n, lw, tt in ((slice(0, cut), N_MAIN, logw[0], tau[:cut]), (slice(cut, None), N_CHECK, logw[1], tau[cut:])):
        shape = (m, npend, n)
        out += [tt.reshape(npend, n), log_g[:, sl].reshape(shape) + lw[None], mean[:, sl].reshape(shape),
                var[:, sl].reshape(shape)]
    return out


def _evaluate_prior_pair(kind, a, b, y, v, valid, prior, mu_prior, npend):
    """As :func:`_evaluate_pair` for the prior alone (no likelihood)."""
    out = []
    for sl, n in ((slice(0, npend), N_MAIN), (slice(npend, None), N_CHECK)):
        out += list(_evaluate(kind[sl], a[sl], b[sl], n, y, v, valid, prior, mu_prior, with_likelihood=False))
    return out


def _components(tau, log_g, mean, var, ref, use):
    """(m, P, C) integrals of the error-controlled integrands over each panel; ``ref`` (m,) is a
    log scale subtracted before exponentiating."""
    g = np.exp(log_g - ref[:, None, None])
    parts = [g]
    if use[0]:
        parts.append(g * tau[None])
    if use[1]:
        parts.append(g * (tau * tau)[None])
    parts.append(g * mean)
    if use[2]:
        parts.append(g * (var + mean * mean))
    return np.stack([p.sum(-1) for p in parts], axis=-1)


def _halve(kind, a, b):
    mid = (a + b) / 2.0
    return (np.concatenate([kind, kind]), np.concatenate([a, mid]), np.concatenate([mid, b]))


def build_rule(y, v, valid, prior, mu_prior, *, tol: float = 1e-10, refine: int = 0, scale: float | None = None,
               max_iterations: int = 60, max_panels: int = 4000, with_likelihood: bool = True) -> TauRule:
    """The adaptive rule for ``m`` cells (``y, v, valid``: (m, k)) under ``prior`` on tau and
    ``mu_prior`` (None: flat) on mu. ``refine`` halves every accepted panel that many more times
    (for checking that the answer does not move); ``with_likelihood=False`` integrates the prior
    alone (for prior predictive distributions).

    Priors given on log tau^2 (``prior.log_scale``: log-normal, log-t) spread their mass over many
    orders of magnitude of small tau, where the density behaves like ``1/tau`` times a slowly
    vanishing factor; their lower region is integrated on log tau too, extended downwards while it
    carries weight (down to ``tau = e^-300``), with one last panel from 0.
    """
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    valid = np.asarray(valid, bool)
    m = y.shape[0]
    k_min = int(valid.sum(-1).min()) if m else 0
    lo, hi = prior.support
    if scale is None:
        scale = _scale(y, v, valid, prior)
    top = max(min(scale, hi), lo)
    log_lower = lo == 0.0 and getattr(prior, "log_scale", False)
    tails = []  # [direction, x_edge, panels added]
    if log_lower:
        kind, a, b = _tail_panels(math.log(top), 8, direction=-1)
        tails.append([-1, float(a.min()), kind.size])
        if math.isfinite(hi) and hi > top:
            k2, a2, b2 = initial_panels(top, hi, top)
            kind, a, b = np.concatenate([kind, k2]), np.concatenate([a, a2]), np.concatenate([b, b2])
    else:
        kind, a, b = initial_panels(lo, hi, top, _floor(v, valid, prior))
    if not math.isfinite(hi):
        tk, ta, tb = _tail_panels(math.log(top), 4)
        tails.append([1, float(tb.max()), tk.size])
        kind, a, b = np.concatenate([kind, tk]), np.concatenate([a, ta]), np.concatenate([b, tb])
    power = likelihood_power(k_min, mu_prior) if with_likelihood else 0.0
    use = (moment_finite(prior, power, 1), moment_finite(prior, power, 2),
           (mu_prior is not None or moment_finite(prior, power, 2)) and with_likelihood)
    power = 2.0 if use[1] else (1.0 if use[0] else 0.0)
    evaluate = _evaluate_pair if with_likelihood else _evaluate_prior_pair
    acc = {"kind": [], "a": [], "b": [], "tau": [], "g": [], "mean": [], "var": []}
    ref = np.full(m, -np.inf)
    acc_total = None  # (m, C) sums of |integrals| over accepted panels, relative to ref
    iterations = n_accepted = 0
    pending = (kind, a, b)
    while pending[0].size:
        iterations += 1
        pk, pa, pb = pending
        npend = pk.size
        both = (np.concatenate([pk, pk]), np.concatenate([pa, pa]), np.concatenate([pb, pb]))
        tau12, g12, mean12, var12, tau6, g6, mean6, var6 = evaluate(*both, y, v, valid, prior, mu_prior, npend)
        new_ref = np.maximum(ref, np.max(g12.reshape(m, -1), axis=1))
        finite_ref = np.where(np.isfinite(new_ref), new_ref, 0.0)
        i12 = _components(tau12, g12, mean12, var12, finite_ref, use)
        i6 = _components(tau6, g6, mean6, var6, finite_ref, use)
        total = np.abs(i12).sum(1)
        if acc_total is not None:
            old = np.where(np.isfinite(ref), ref, 0.0)
            acc_total = acc_total * np.exp(old - finite_ref)[:, None]
            total = total + acc_total
        ref = new_ref
        err = np.abs(i12 - i6) / np.maximum(total[:, None, :], 1e-300)
        ok = np.nanmax(err, axis=(0, 2)) <= tol / 64.0
        if iterations >= max_iterations or n_accepted + npend > max_panels:
            ok[:] = True
        n_accepted += int(ok.sum())
        part = np.abs(i12[:, ok]).sum(1)
        acc_total = part if acc_total is None else acc_total + part
        for key, value in (("kind", pk[ok]), ("a", pa[ok]), ("b", pb[ok]), ("tau", tau12[ok]), ("g", g12[:, ok]),
                           ("mean", mean12[:, ok]), ("var", var12[:, ok])):
            acc[key].append(value)
        new = list(_halve(pk[~ok], pa[~ok], pb[~ok]))
        for tail in tails:
            # the outermost panel of a tail (evaluated now) still carries weight: two more beyond
            direction, edge, count = tail
            if abs(edge) >= X_CAP:
                continue
            hit = np.flatnonzero((pk == 1) & ((pb == edge) if direction > 0 else (pa == edge)))
            if not hit.size:
                continue
            j = int(hit[0])
            weight = g12[:, j] + (power * np.log(tau12[j])[None] if direction > 0 else 0.0)
            if np.any(np.max(weight, axis=-1) - finite_ref > -60.0):
                tk, ta, tb = _tail_panels(edge, 2, count, direction=direction)
                if tk.size:
                    tail[1] = float(tb.max() if direction > 0 else ta.min())
                    tail[2] = count + tk.size
                    new = [np.concatenate([x, e]) for x, e in zip(new, (tk, ta, tb))]
        pending = tuple(new)
    kind, a, b = (np.concatenate(acc[key]) for key in ("kind", "a", "b"))
    if log_lower:  # the last sliver [0, e^x_low], once, without refinement
        x_low = float(a[kind == 1].min())
        kind, a, b = np.concatenate([[0], kind]), np.concatenate([[0.0], a]), np.concatenate([[math.exp(x_low)], b])
        t0, g0, m0, v0 = _evaluate(kind[:1], a[:1], b[:1], N_MAIN, y, v, valid, prior, mu_prior, with_likelihood)
        for key, value in (("tau", t0), ("g", g0), ("mean", m0), ("var", v0)):
            acc[key].insert(0, value)
    for _ in range(int(refine)):
        kind, a, b = _halve(kind, a, b)
    order = np.lexsort((a, kind))
    kind, a, b = kind[order], a[order], b[order]
    if refine:
        tau, log_g, mean, var = _evaluate(kind, a, b, N_MAIN, y, v, valid, prior, mu_prior, with_likelihood)
    else:
        tau = np.concatenate(acc["tau"])[order]
        log_g, mean, var = (np.concatenate(acc[key], axis=1)[:, order] for key in ("g", "mean", "var"))
    flat = log_g.reshape(m, -1)
    peak = np.max(flat, axis=1)
    if not np.all(np.isfinite(peak)):
        raise ArgumentError("the posterior of tau has no mass on the quadrature grid (every term is zero); "
                            "check the prior and the data")
    log_norm = peak + np.log(np.exp(flat - peak[:, None]).sum(1))
    tail = np.exp(log_g[:, -1].reshape(m, -1) - log_norm[:, None]).sum(1) if not math.isfinite(hi) else np.zeros(m)
    return TauRule(kind=kind, a=a, b=b, tau=tau, log_g=log_g, mean=mean, var=var, log_norm=log_norm,
                   iterations=iterations, tail_mass=tail)


def _floor(v, valid, prior) -> float:
    """Where the graded panels stop (one panel from 0 below): 1e-4 times the smallest of the
    smallest standard error and the prior's median, so that a prior concentrated near 0 is seen."""
    parts = [float(np.sqrt(np.min(np.where(valid, v, np.inf))))]
    hint = prior.scale_hint()
    if math.isfinite(hint) and hint > 0:
        parts.append(float(hint))
    return 1e-4 * min(parts)


def _scale(y, v, valid, prior) -> float:
    """The upper end T of the graded linear panels: a few times the largest of the trials'
    standard errors, the spread of their estimates and the prior's median."""
    se = np.sqrt(np.where(valid, v, np.nan))
    parts = [float(np.nanmax(se))] if np.any(valid) else [1.0]
    if np.any(valid.sum(-1) > 1):
        yy = np.where(valid, y, np.nan)
        spread = np.nanmax(yy, axis=1) - np.nanmin(yy, axis=1)
        parts.append(float(np.nanmax(spread)))
    hint = prior.scale_hint()
    if math.isfinite(hint) and hint > 0:
        parts.append(float(hint))
    return 4.0 * max(p for p in parts if math.isfinite(p) and p > 0)


__all__ = ["TauRule", "build_rule", "conditional", "legendre_basis", "likelihood_power", "moment_finite"]
