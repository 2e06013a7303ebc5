"""Bayesian random-effects meta-analysis by exact numerical integration: :func:`pool_bayes`.

The normal-normal hierarchical model ``y_i | theta_i ~ N(theta_i, v_i)``, ``theta_i | mu, tau ~
N(mu, tau^2)`` with a prior on tau and a normal or flat prior on mu has a posterior that needs
only one numerical integral, over tau (Röver 2020, *J Stat Softw* 93(6), section 2):

* ``p(tau | y) ∝ p(tau) p(y | tau)``, the marginal likelihood ``p(y | tau)`` in closed form
  (eqs. 7-9 of section 2.2), integrated by adaptive Gauss-Legendre quadrature
  (:mod:`trialsynth.pooling._tau_quadrature`);
* ``mu | tau, y`` is normal with the inverse-variance mean and variance at that tau (a normal
  prior enters as one more observation), so the marginal posterior of mu is the mixture of these
  normals over ``p(tau | y)``, evaluated exactly on the quadrature nodes (not sampled, not
  approximated by a coarse discrete mixture);
* the effect in a new trial, ``theta_new | tau, y ~ N(E[mu | tau, y], Var[mu | tau, y] + tau^2)``,
  and each trial's shrunken effect, ``theta_i | tau, y ~ N(b_i y_i + (1 - b_i) E[mu | tau, y],
  b_i v_i ... )`` with ``b_i = tau^2 / (v_i + tau^2)`` (section 2.3), are mixtures the same way.

Bayes factors compare the marginal likelihood of the data under a point hypothesis with the
model's (section 2.6). Everything is deterministic: the same input gives the same digits.

References
----------
* Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package. *J Stat
  Softw* 93(6):1-51, doi:10.18637/jss.v093.i06.
* Friede T, Röver C, Wandel S, Neuenschwander B (2017). Meta-analysis of few small studies in
  orphan diseases. *Res Synth Methods*, doi:10.1002/jrsm.1217.
* Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects
  meta-analysis. *J R Stat Soc A* 172:137-159 (the predictive distribution of a new trial's effect).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from trialsynth.errors import ArgumentError
from trialsynth.pooling import _tau_quadrature as tq
from trialsynth.pooling.priors import (
    Fixed,
    check_mu_prior,
    check_tau_prior,
    describe_mu_prior,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

DEFAULT_TOL = 1e-8
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _check_level(level) -> float:
    """Interval level in percent (0.95 is read as 95): :func:`trialsynth.pooling.fit.check_level`."""
    from trialsynth.pooling.fit import check_level

    return check_level(level)


def check_arguments(tau_prior, mu_prior, level, interval):
    """The priors, level and interval kind of :func:`pool_bayes` and
    :func:`~trialsynth.pooling.bayes_batch.pool_bayes_batch`, checked (ArgumentError naming the
    argument) and normalised."""
    kind = str(interval).lower()
    if kind not in ("shortest", "central"):
        raise ArgumentError(f"interval: expected 'shortest' or 'central', got {interval!r}")
    return check_tau_prior(tau_prior), check_mu_prior(mu_prior), _check_level(level), kind


def _check_prob(p, name="p") -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.size == 0 or np.any(~np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ArgumentError(f"{name}: expected probabilities between 0 and 1, got {p!r}")
    return arr


def _dot(a, b) -> float:
    """``sum(a * b)``. OpenBLAS computes a dot product of up to 10,000 terms on one thread (the
    same split every run); longer ones may be threaded, so they go through einsum instead."""
    if a.size <= 10_000:
        return float(a.dot(b))
    return float(np.einsum("i,i->", a, b))


def _rows(matrix, w) -> np.ndarray:
    """``matrix @ w`` without BLAS (see :func:`_dot`)."""
    return np.einsum("ij,j->i", matrix, w)


def _scalar_or_array(values: np.ndarray, like):
    return float(values) if np.ndim(like) == 0 else values


# =========================================================================== marginals


class Marginal:
    """A one-dimensional posterior (or predictive) distribution.

    Attributes ``mode, median, mean, sd, ci_low, ci_high`` (the shortest interval at the result's
    level unless the result was asked for central intervals); methods :meth:`interval`,
    :meth:`quantile`, :meth:`cdf`, :meth:`pdf`, :meth:`prob_above`, :meth:`prob_below`.
    Subclasses provide ``_cdf``, ``_sf``, ``_pdf``, ``_dlogpdf`` and the moments.
    """

    #: lower end of the support (tau: 0)
    lower = -math.inf

    def __init__(self, name: str, level: float, kind: str):
        self.name = name
        self.level = level
        self.kind = kind

    # ----------------------------------------------------------------- public
    def cdf(self, x):
        """P(parameter <= x)."""
        x_arr = np.asarray(x, dtype=float)
        return _scalar_or_array(self._cdf(np.atleast_1d(x_arr)).reshape(x_arr.shape), x)

    def pdf(self, x):
        """Posterior density at ``x``."""
        x_arr = np.asarray(x, dtype=float)
        return _scalar_or_array(self._pdf(np.atleast_1d(x_arr)).reshape(x_arr.shape), x)

    def prob_below(self, x):
        """P(parameter < x) (the same as <= for these continuous distributions)."""
        return self.cdf(x)

    def prob_above(self, x):
        """P(parameter > x), computed from the upper tail directly (accurate for small values)."""
        x_arr = np.asarray(x, dtype=float)
        return _scalar_or_array(self._sf(np.atleast_1d(x_arr)).reshape(x_arr.shape), x)

    def quantile(self, p):
        """The ``p`` quantile(s) (``p`` in [0, 1])."""
        arr = _check_prob(p)
        out = np.array([self._quantile(float(q)) for q in np.atleast_1d(arr)])
        return _scalar_or_array(out.reshape(arr.shape), p)

    def interval(self, level: float | None = None, kind: str | None = None) -> tuple[float, float]:
        """The credible (or prediction) interval with probability ``level`` percent (default:
        the result's level), ``kind="shortest"`` (highest density for these unimodal
        posteriors) or ``"central"`` (equal tails)."""
        lev = self.level if level is None else _check_level(level)
        kind = self.kind if kind is None else str(kind).lower()
        if kind not in ("shortest", "central"):
            raise ArgumentError(f"kind: expected 'shortest' or 'central', got {kind!r}")
        key = (round(lev, 12), kind)
        cache = self.__dict__.setdefault("_intervals", {})
        if key not in cache:
            low, high = self._central(lev / 100) if kind == "central" else self._shortest(lev / 100)
            cache[key] = (float(low), float(high))
        return cache[key]

    @cached_property
    def median(self) -> float:
        return self._quantile(0.5)

    @property
    def ci_low(self) -> float:
        return self.interval()[0]

    @property
    def ci_high(self) -> float:
        return self.interval()[1]

    @cached_property
    def mode(self) -> float:
        return self._mode()

    def summary_dict(self) -> dict:
        low, high = self.interval()
        return {"mode": self.mode, "median": self.median, "mean": self.mean, "sd": self.sd,
                "ci_low": low, "ci_high": high}

    def __repr__(self) -> str:
        low, high = self.interval()
        return (f"<{type(self).__name__} {self.name}: median {self.median:.4g}, mean {self.mean:.4g}, "
                f"sd {self.sd:.4g}, {self.level:g}% {self.kind} [{low:.4g}, {high:.4g}]>")

    # ----------------------------------------------------------------- generic algorithms
    def _central(self, prob: float) -> tuple[float, float]:
        tail = (1.0 - prob) / 2.0
        return (self._quantile(tail), self._quantile(1.0 - tail))

    def _shortest(self, prob: float) -> tuple[float, float]:
        """The shortest interval with probability ``prob``: ``[lower, Q(prob)]`` when the density
        at the lower end of the support is at least the density there, else the interval whose
        ends have equal density, by Newton's method on (a, b) from the central interval, with a
        bracketed search over the lower tail probability as the fallback."""
        if math.isfinite(self.lower):
            b0 = self._quantile(prob)
            # just inside the support: a density may vanish or diverge at its end (log-scale priors)
            f_low = float(self._pdf(np.array([self.lower + 1e-9 * (b0 - self.lower)]))[0])
            if f_low >= float(self._pdf(np.array([b0]))[0]):
                return (self.lower, b0)
        a, b = self._central(prob)
        for _ in range(50):
            fa, fb = self._pdf(np.array([a, b]))
            if not (fa > 0 and fb > 0):
                break
            r1 = float(self._cdf(np.array([b]))[0] - self._cdf(np.array([a]))[0] - prob)
            r2 = math.log(fa) - math.log(fb)
            if abs(r1) < 1e-14 and abs(r2) < 1e-11:
                return (a, b)
            ga, gb = self._dlogpdf(np.array([a, b]))
            # Jacobian of (r1, r2) with respect to (a, b)
            j11, j12, j21, j22 = -fa, fb, ga, -gb
            det = j11 * j22 - j12 * j21
            if not math.isfinite(det) or det == 0:
                break
            da = (-r1 * j22 + r2 * j12) / det
            db = (-r2 * j11 + r1 * j21) / det
            width = b - a
            step = max(abs(da), abs(db))
            if step > 0.5 * width:  # damp large steps
                da, db = da * 0.5 * width / step, db * 0.5 * width / step
            a, b = a + da, b + db
            if math.isfinite(self.lower) and a < self.lower:
                break
        return self._shortest_search(prob)

    def _shortest_search(self, prob: float) -> tuple[float, float]:
        """Fallback: minimise ``Q(p + prob) - Q(p)`` over ``p`` (grid, then golden section)."""
        grid = np.linspace(0.0, 1.0 - prob, 41)
        widths = [self._quantile(p + prob) - self._quantile(p) for p in grid]
        i = int(np.argmin(widths))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        golden = (math.sqrt(5.0) - 1.0) / 2.0
        c, d = hi - golden * (hi - lo), lo + golden * (hi - lo)
        fc = self._quantile(c + prob) - self._quantile(c)
        fd = self._quantile(d + prob) - self._quantile(d)
        for _ in range(80):
            if hi - lo < 1e-13:
                break
            if fc < fd:
                hi, d, fd = d, c, fc
                c = hi - golden * (hi - lo)
                fc = self._quantile(c + prob) - self._quantile(c)
            else:
                lo, c, fc = c, d, fd
                d = lo + golden * (hi - lo)
                fd = self._quantile(d + prob) - self._quantile(d)
        p = (lo + hi) / 2.0
        return (self._quantile(p), self._quantile(p + prob))


class MixtureMarginal(Marginal):
    """A mixture of normals ``sum_j W_j N(mean_j, sd_j^2)`` (weights normalised): the posterior of
    mu, the predictive distribution of theta_new, or a trial's shrunken effect."""

    def __init__(self, name, weights, means, sds, level, kind, *, mean=None, var=None):
        super().__init__(name, level, kind)
        w = np.asarray(weights, float)
        keep = w > 1e-18 * w.max()
        self._w = w[keep] / w[keep].sum()
        self._m = np.asarray(means, float)[keep]
        self._s = np.asarray(sds, float)[keep]
        self._mean_value = _dot(self._w, self._m) if mean is None else mean
        if var is None:
            var = _dot(self._w, self._s ** 2 + self._m ** 2) - self._mean_value ** 2
        self._var_value = var

    @property
    def mean(self) -> float:
        return self._mean_value

    @property
    def sd(self) -> float:
        v = self._var_value
        return math.sqrt(v) if math.isfinite(v) else math.inf

    def _z(self, x):
        return (x[:, None] - self._m[None, :]) / self._s[None, :]

    def _cdf(self, x):
        return _rows(special.ndtr(self._z(x)), self._w)

    def _sf(self, x):
        return _rows(special.ndtr(-self._z(x)), self._w)

    def _pdf(self, x):
        z = self._z(x)
        return _rows(np.exp(-0.5 * z * z) / self._s[None, :], self._w) / _SQRT2PI

    def _dlogpdf(self, x):
        z = self._z(x)
        phi = np.exp(-0.5 * z * z) / self._s[None, :]
        f = _rows(phi, self._w)
        fprime = _rows(-(z / self._s[None, :]) * phi, self._w)
        return fprime / f

    def _quantile(self, p: float) -> float:
        if p <= 0.0:
            return -math.inf
        if p >= 1.0:
            return math.inf
        # bracket from the components' own quantiles (the mixture's quantile lies among them);
        # start from the normal approximation, then safeguarded Newton steps
        zq = float(special.ndtri(p))
        cand = self._m + self._s * zq
        lo, hi = float(cand.min()), float(cand.max())
        if lo == hi:
            return lo
        sd = self.sd
        if math.isfinite(sd):
            x = self.mean + sd * zq
        else:  # heavy tails: the weighted median of the components' quantiles (a mean would be huge)
            order = np.argsort(cand)
            x = float(cand[order][np.searchsorted(np.cumsum(self._w[order]), 0.5)])
        x = min(max(x, lo), hi)
        w, m, s = self._w, self._m, self._s
        for _ in range(100):
            z = (x - m) / s
            f_cdf = _dot(w, special.ndtr(z)) - p
            if f_cdf > 0:
                hi = x
            else:
                lo = x
            dens = _dot(w, np.exp(-0.5 * z * z) / s) / _SQRT2PI
            step = f_cdf / dens if dens > 0 else math.inf
            if abs(step) <= 1e-13 * max(1.0, abs(x)):  # converged (test before the bracket:
                return x - step                         # a last step of 0 sits on its edge)
            new = x - step
            if not (lo < new < hi):
                new = 0.5 * (lo + hi)
            if hi - lo <= 1e-14 * max(1.0, abs(x)):
                return new
            x = new
        return x

    def _mode(self) -> float:
        lo, hi = self._quantile(0.001), self._quantile(0.999)
        grid = np.linspace(lo, hi, 129)
        i = int(np.argmax(self._pdf(grid)))
        x = _zoom_max(self._pdf, float(grid[max(i - 1, 0)]), float(grid[min(i + 1, 128)]), rounds=3)
        # Newton on d log f / dx = 0 with exact derivatives (the grid is only good to sqrt(eps))
        for _ in range(20):
            z = (x - self._m) / self._s
            phi = self._w * np.exp(-0.5 * z * z) / self._s
            f = phi.sum()
            f1 = -(phi * z / self._s).sum()
            f2 = (phi * (z * z - 1.0) / (self._s * self._s)).sum()
            g, dg = f1 / f, f2 / f - (f1 / f) ** 2
            if not (dg < 0):
                break
            step = g / dg
            x -= step
            if abs(step) < 1e-14 * max(1.0, abs(x)):
                break
        return float(x)

    def components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(weights, means, sds)`` of the mixture."""
        return self._w.copy(), self._m.copy(), self._s.copy()


class TauMarginal(Marginal):
    """The marginal posterior of tau: the density exactly (prior times marginal likelihood), the
    distribution function from the quadrature panels' Legendre antiderivatives."""

    lower = 0.0

    def __init__(self, result: "BayesResult", level, kind):
        super().__init__("tau", level, kind)
        self._r = result
        rule = result._rule
        self.lower = float(result.tau_prior.support[0])
        self._kind = rule.kind
        self._a = rule.a
        self._b = rule.b
        self._anti = rule.antiderivatives()[0]  # (P, 13)
        masses = self._anti.sum(axis=1)  # P_n(1) = 1
        self._cum = np.concatenate([[0.0], np.cumsum(masses)])
        self._upper = np.where(rule.kind == 1, np.exp(np.minimum(rule.b, tq.X_CAP)), rule.b)
        self._lower_edge = np.where(rule.kind == 1, np.exp(np.minimum(rule.a, tq.X_CAP)), rule.a)
        w = rule.weights()[0].ravel()
        t = rule.tau.ravel()
        self._mean_value = _dot(w, t) if result._finite[1] else math.inf
        self._second = _dot(w, t * t) if result._finite[2] else math.inf

    @property
    def mean(self) -> float:
        return self._mean_value

    @property
    def sd(self) -> float:
        if not (math.isfinite(self._mean_value) and math.isfinite(self._second)):
            return math.inf
        return math.sqrt(max(self._second - self._mean_value ** 2, 0.0))

    def _pdf(self, x):
        return self._r._tau_density(np.asarray(x, float))

    def _dlogpdf(self, x):
        x = np.asarray(x, float)
        h = 1e-6 * np.maximum(x, 1e-8)
        lo = np.maximum(x - h, 0.0)
        up = x + h
        f_up, f_lo = self._pdf(up), self._pdf(lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log(f_up) - np.log(f_lo)) / (up - lo)

    def _u(self, i, x):
        a, b = self._a[i], self._b[i]
        z = np.where(self._kind[i] == 1, np.log(np.maximum(x, 1e-300)), x)
        return np.clip((2.0 * z - (a + b)) / (b - a), -1.0, 1.0)

    def _cdf(self, x):
        x = np.asarray(x, float)
        out = np.zeros_like(x)
        i = np.searchsorted(self._upper, x, side="left")
        inside = (x > self._lower_edge[0]) & (i < self._upper.size)
        out[i >= self._upper.size] = 1.0
        if np.any(inside):
            ii = i[inside]
            u = self._u(ii, x[inside])
            basis = tq.legendre_basis(u, self._anti.shape[1])
            out[inside] = self._cum[ii] + np.einsum("ij,ij->i", basis, self._anti[ii])
        return np.clip(out, 0.0, 1.0)

    def _sf(self, x):
        return 1.0 - self._cdf(x)

    @cached_property
    def _power(self) -> np.ndarray:
        """Per panel, the antiderivative as an ordinary polynomial in u (highest power first)."""
        return np.einsum("pj,ij->pi", self._anti, tq.legendre_to_power(self._anti.shape[1]))[:, ::-1]

    def _quantile(self, p: float) -> float:
        if p <= 0.0:
            return self.lower
        if p >= 1.0:
            return math.inf
        i = int(np.searchsorted(self._cum, p, side="left")) - 1
        i = min(max(i, 0), self._anti.shape[0] - 1)
        target = p - float(self._cum[i])
        coef = self._power[i].tolist()
        dcoef = [c * (len(coef) - 1 - j) for j, c in enumerate(coef[:-1])]
        lo, hi = -1.0, 1.0
        u = -1.0 + 2.0 * target / max(float(self._cum[i + 1] - self._cum[i]), 1e-300)
        u = min(max(u, -1.0), 1.0)
        for _ in range(100):
            f = 0.0
            for c in coef:
                f = f * u + c
            f -= target
            if f > 0:
                hi = u
            else:
                lo = u
            d = 0.0
            for c in dcoef:
                d = d * u + c
            step = f / d if d > 0 else math.inf
            if abs(step) < 1e-15:  # converged (before the bracket test: a last step of 0 sits on its edge)
                u -= step
                break
            new = u - step
            if not (lo < new < hi):
                new = 0.5 * (lo + hi)
            u = new
            if hi - lo < 1e-15:
                break
        a, b = float(self._a[i]), float(self._b[i])
        z = (a + b) / 2.0 + (b - a) / 2.0 * u
        return float(math.exp(z) if self._kind[i] == 1 else z)

    def _mode(self) -> float:
        t = self._r._rule.tau.ravel()
        j = int(np.argmax(self._pdf(t)))
        lo = float(t[j - 1]) if j > 0 else self.lower
        hi = float(t[j + 1]) if j + 1 < t.size else float(t[j]) * 2
        mode = _zoom_max(self._pdf, lo, hi, rounds=3)
        if self._pdf(np.array([self.lower]))[0] >= self._pdf(np.array([mode]))[0]:
            return self.lower
        # refine: the sign change of d log f / d tau (finite differences), 33 points a round
        width = 1e-3 * max(mode, 1e-12)
        a, b = max(mode - width, self.lower), mode + width
        for _ in range(8):
            grid = np.linspace(a, b, 33)
            g = self._dlogpdf(grid)
            down = np.flatnonzero((g[:-1] > 0) & (g[1:] <= 0))
            if not down.size:
                break
            a, b = float(grid[down[0]]), float(grid[down[0] + 1])
            mode = 0.5 * (a + b)
            if b - a < 1e-13 * max(1.0, b):
                break
        return mode


def _zoom_max(density, lo: float, hi: float, points: int = 33, rounds: int = 8) -> float:
    """The maximum of a unimodal ``density`` on [lo, hi]: a grid, then grids around its best point
    (each round narrows the bracket by ``(points - 1) / 2``), then a parabola through the last three."""
    for _ in range(rounds):
        grid = np.linspace(lo, hi, points)
        vals = density(grid)
        i = int(np.argmax(vals))
        lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, points - 1)])
        if hi - lo <= 1e-13 * max(1.0, abs(hi)):
            break
    grid = np.array([lo, (lo + hi) / 2, hi])
    f0, f1, f2 = density(grid)
    denom = f0 - 2 * f1 + f2
    if denom < 0:
        shift = 0.25 * (hi - lo) * (f0 - f2) / denom
        return float(min(max(grid[1] + shift, lo), hi))
    return float(grid[1])


class PointMarginal(Marginal):
    """The degenerate posterior of tau under a point-mass prior (:class:`~trialsynth.priors.Fixed`)."""

    def __init__(self, value, level, kind):
        super().__init__("tau", level, kind)
        self.value = float(value)
        self.lower = self.value

    mean = property(lambda self: self.value)
    sd = property(lambda self: 0.0)

    def _cdf(self, x):
        return (np.asarray(x) >= self.value).astype(float)

    def _sf(self, x):
        return (np.asarray(x) < self.value).astype(float)

    def _pdf(self, x):
        return np.where(np.asarray(x) == self.value, np.inf, 0.0)

    def _quantile(self, p):
        return self.value

    def _mode(self):
        return self.value

    def _shortest(self, prob):
        return (self.value, self.value)

    def _central(self, prob):
        return (self.value, self.value)


# =========================================================================== result


@dataclass
class BayesResult:
    """A Bayesian random-effects meta-analysis (:func:`pool_bayes`).

    Attributes
    ----------
    tau, mu, theta_new : Marginal
        The posteriors of the heterogeneity tau and the mean effect mu, and the predictive
        distribution of the effect in a new trial; each has ``mode, median, mean, sd, ci_low,
        ci_high`` (the shortest ``level``% interval by default), ``interval(level, kind)``,
        ``quantile(p)``, ``prob_above(x)`` and ``prob_below(x)``.
    shrinkage : pandas.DataFrame
        Per trial: the observed estimate and interval beside the posterior of its own effect
        theta_i (shrunken towards mu).
    k, yi, vi, labels, measure, level, tau_prior, mu_prior
        The inputs.
    log_marginal_likelihood : float
        ``log p(y)`` (NaN when a prior is improper).
    notes : list of str
        What a reader must know (few trials, heavy tails, an unverified prior table).
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: list
    measure: str | None
    level: float
    tau_prior: object
    mu_prior: object
    interval_kind: str = "shortest"
    notes: list = field(default_factory=list)
    _rule: object = field(default=None, repr=False)
    _finite: tuple = field(default=(True, True, True), repr=False)
    tol: float = DEFAULT_TOL

    @property
    def k(self) -> int:
        return int(self.yi.size)

    @property
    def is_ratio(self) -> bool:
        from trialsynth.effects.scales import is_ratio

        return is_ratio(self.measure)

    # ----------------------------------------------------------------- marginals
    @cached_property
    def _node_arrays(self):
        """(tau, weight, E[mu | tau, y], Var[mu | tau, y]) per node, for the normal mixtures: the
        nodes so close to tau = 0 that their normals coincide with tau = 0's (tau^2 below 1e-14
        of the smallest variance) are merged into one, and negligible weights dropped."""
        rule = self._rule
        tau, w, m, var = rule.tau.ravel(), rule.weights()[0].ravel(), rule.mean[0].ravel(), rule.var[0].ravel()
        tiny = tau * tau < 1e-14 * float(self.vi.min())
        if tiny.sum() > 1:
            wt = w[tiny].sum()
            merged = (np.array([0.0]), np.array([wt]), np.array([_dot(w[tiny], m[tiny]) / wt]),
                      np.array([_dot(w[tiny], var[tiny]) / wt]))
            rest = ~tiny
            tau, w, m, var = (np.concatenate([x, y[rest]]) for x, y in zip(merged, (tau, w, m, var)))
        keep = w > 1e-18 * w.max()
        return tau[keep], w[keep], m[keep], var[keep]

    def _nodes(self):
        return self._node_arrays

    @cached_property
    def tau(self) -> Marginal:
        if self.tau_prior.is_point_mass:
            return PointMarginal(self.tau_prior.value, self.level, self.interval_kind)
        return TauMarginal(self, self.level, self.interval_kind)

    @cached_property
    def mu(self) -> MixtureMarginal:
        tau, w, m, var = self._nodes()
        v_moment = self._finite[3]
        mean = _dot(w, m)
        total = _dot(w, var + m * m) - mean ** 2 if v_moment else math.inf
        return MixtureMarginal("mu", w, m, np.sqrt(var), self.level, self.interval_kind, mean=mean, var=total)

    @cached_property
    def theta_new(self) -> MixtureMarginal:
        tau, w, m, var = self._nodes()
        pred = var + tau * tau
        mean = _dot(w, m)
        total = _dot(w, pred + m * m) - mean ** 2 if self._finite[2] else math.inf
        return MixtureMarginal("theta_new", w, m, np.sqrt(pred), self.level, self.interval_kind, mean=mean, var=total)

    def theta(self, i) -> MixtureMarginal:
        """The posterior of trial ``i``'s own effect theta_i (an index or a label)."""
        if not isinstance(i, (int, np.integer)):
            try:
                i = list(self.labels).index(i)
            except ValueError:
                raise ArgumentError(f"theta: no trial labelled {i!r} (labels: {', '.join(map(str, self.labels))})") from None
        if not 0 <= int(i) < self.k:
            raise ArgumentError(f"theta: trial index {i} out of range 0..{self.k - 1}")
        i = int(i)
        tau, w, m, var = self._nodes()
        t2 = tau * tau
        b = t2 / (self.vi[i] + t2)  # weight of the trial's own estimate
        means = b * self.yi[i] + (1.0 - b) * m
        variances = b * self.vi[i] + (1.0 - b) ** 2 * var
        mean = _dot(w, means)
        total = _dot(w, variances + means ** 2) - mean ** 2 if self._finite[3] else math.inf
        return MixtureMarginal(f"theta[{self.labels[i]}]", w, means, np.sqrt(variances), self.level, self.interval_kind,
                               mean=mean, var=total)

    @cached_property
    def shrinkage(self) -> "pd.DataFrame":
        """Per trial: ``label, yi, se, obs_ci_low, obs_ci_high`` (the trial alone, normal
        interval at ``level``) beside the posterior of its effect: ``mean, median, sd, ci_low,
        ci_high`` (``interval_kind`` at ``level``) and ``shrinkage`` (the posterior mean weight
        ``E[v_i / (v_i + tau^2) | y]`` pulling the trial towards mu: 0 none, 1 all the way)."""
        import pandas as pd

        z = float(special.ndtri(1 - (1 - self.level / 100) / 2))
        se = np.sqrt(self.vi)
        tau, w, _, _ = self._nodes()
        rows = []
        for i in range(self.k):
            post = self.theta(i)
            low, high = post.interval()
            rows.append({"label": self.labels[i], "yi": self.yi[i], "se": se[i], "obs_ci_low": self.yi[i] - z * se[i],
                         "obs_ci_high": self.yi[i] + z * se[i], "mean": post.mean, "median": post.median, "sd": post.sd,
                         "ci_low": low, "ci_high": high,
                         "shrinkage": _dot(w, self.vi[i] / (self.vi[i] + tau * tau))})
        frame = pd.DataFrame(rows)
        frame.attrs.update({"level": self.level, "interval": self.interval_kind, "measure": self.measure,
                            "tau_prior": self.tau_prior.describe(), "mu_prior": describe_mu_prior(self.mu_prior)})
        return frame

    # ----------------------------------------------------------------- densities
    def _tau_density(self, tau: np.ndarray) -> np.ndarray:
        t = np.asarray(tau, float).ravel()
        y, v = self.yi[None, :], self.vi[None, :]
        valid = np.ones_like(y, dtype=bool)
        loglik, _, _ = tq.conditional(y, v, valid, t, self.mu_prior)
        lp = tq.log_prior(self.tau_prior, t, v, valid)
        with np.errstate(invalid="ignore"):
            out = np.exp(loglik[0] + lp[0] - self._rule.log_norm[0])
        return np.where(np.isnan(out), 0.0, out).reshape(np.shape(tau))

    @property
    def log_marginal_likelihood(self) -> float:
        if not self.tau_prior.proper or self.mu_prior is None:
            return math.nan
        return float(self._rule.log_norm[0])

    # ----------------------------------------------------------------- Bayes factors
    def bayes_factor(self, hypothesis: str) -> float:
        """The Bayes factor of a point hypothesis against the model: ``"tau=0"`` (no
        heterogeneity, the common-effect model) or ``"mu=0"`` (no mean effect); values above 1
        favour the hypothesis, below 1 the model (Röver 2020, section 2.6; Kass & Raftery 1995,
        *JASA* 90:773-795).

        ``tau=0`` needs a proper tau prior (a flat prior on mu is allowed: its constant cancels);
        ``mu=0`` needs proper priors on both.
        """
        h = str(hypothesis).replace(" ", "").lower()
        if h not in ("tau=0", "mu=0"):
            raise ArgumentError(f"hypothesis: expected 'tau=0' or 'mu=0', got {hypothesis!r}")
        if not self.tau_prior.proper:
            raise ArgumentError(f"bayes_factor({hypothesis!r}): the tau prior ({self.tau_prior.describe()}) is improper, "
                                "so the marginal likelihood and the Bayes factor are not defined")
        if self.tau_prior.is_point_mass:
            raise ArgumentError(f"bayes_factor({hypothesis!r}): tau is fixed by the prior; there is nothing to test")
        y, v = self.yi[None, :], self.vi[None, :]
        valid = np.ones_like(y, dtype=bool)
        if h == "tau=0":
            loglik0, _, _ = tq.conditional(y, v, valid, np.array([0.0]), self.mu_prior)
            return float(math.exp(loglik0[0, 0] - self._rule.log_norm[0]))
        if self.mu_prior is None:
            raise ArgumentError("bayes_factor('mu=0'): the flat prior on mu is improper, so the Bayes factor for mu = 0 "
                                "is not defined; give mu_prior=Normal(mean, sd)")
        # p(y | mu = 0) = int p(tau) prod_i N(y_i; 0, v_i + tau^2) dtau on the same nodes
        rule = self._rule
        tau = rule.tau.ravel()
        s2 = self.vi[None, :] + (tau * tau)[:, None]
        loglik = -0.5 * (np.log(2 * np.pi * s2) + self.yi[None, :] ** 2 / s2).sum(1)
        # log_g = loglik_model + log prior + log quadrature weight: swap the likelihood
        lik_model, _, _ = tq.conditional(y, v, valid, tau, self.mu_prior)
        log_terms = rule.log_g[0].ravel() - lik_model[0] + loglik
        top = float(np.max(log_terms))
        log_null = top + math.log(float(np.exp(log_terms - top).sum()))
        return float(math.exp(log_null - rule.log_norm[0]))

    # ----------------------------------------------------------------- prior predictive
    def prior_predictive(self, q, of: str = "deviation"):
        """Quantiles ``q`` of the prior predictive distribution implied by the priors:
        ``of="deviation"`` (default) the deviation ``theta_i - mu`` of a trial's true effect from
        the mean, ``N(0, tau^2)`` mixed over the tau prior (for ratios ``exp`` of it is the
        factor by which a trial's true ratio may differ from the mean ratio; Röver 2020,
        section 3.4); ``of="theta"`` a new trial's effect before seeing any data, ``N(m0, s0^2 +
        tau^2)`` (needs a normal prior on mu)."""
        of = str(of).lower()
        if of not in ("deviation", "theta"):
            raise ArgumentError(f"of: expected 'deviation' or 'theta', got {of!r}")
        if of == "theta" and self.mu_prior is None:
            raise ArgumentError("prior_predictive(of='theta'): the flat prior on mu is improper; give mu_prior=Normal(...)")
        return prior_predictive(self.tau_prior, q, of=of, mu_prior=self.mu_prior, vi=self.vi)

    # ----------------------------------------------------------------- tables and text
    def _prior_texts(self) -> dict:
        return {"tau": self.tau_prior.describe(), "mu": describe_mu_prior(self.mu_prior),
                "theta_new": "predictive: from the tau and mu posteriors"}

    def to_frame(self) -> "pd.DataFrame":
        """One row per parameter (tau, mu, theta_new): mode, median, mean, sd, ci_low, ci_high,
        the interval's level and kind, and the priors on every row; for ratio measures also the
        back-transformed median and interval of mu and theta_new (``exp_*``)."""
        import pandas as pd

        texts = self._prior_texts()
        rows = []
        for name in ("tau", "mu", "theta_new"):
            marg = getattr(self, name)
            row = {"parameter": name, **marg.summary_dict(), "level": self.level, "interval": self.interval_kind,
                   "prior": texts[name], "k": self.k, "measure": self.measure,
                   "tau_prior": self.tau_prior.describe(), "mu_prior": describe_mu_prior(self.mu_prior)}
            if self.is_ratio:
                for key in ("median", "ci_low", "ci_high"):
                    row[f"exp_{key}"] = math.exp(row[key]) if name != "tau" else math.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def _prior_summary(self, name: str) -> str:
        if name == "tau":
            p = self.tau_prior
            if p.is_point_mass:
                return p.describe()
            if p.proper:
                q = np.atleast_1d(p.quantile(np.array([0.5, (1 - self.level / 100) / 2, 1 - (1 - self.level / 100) / 2])))
                return f"{p.short}: prior median {q[0]:.3g}, {self.level:g}% [{q[1]:.3g}, {q[2]:.3g}]"
            return f"{p.short} (improper)"
        if name == "mu":
            return "flat" if self.mu_prior is None else self.mu_prior.short
        return "predictive"

    def summary(self) -> str:
        """The posterior in a text table, the prior of every row beside its numbers."""
        lines = [f"Bayesian random-effects meta-analysis (k = {self.k}"
                 + (f"; {self.measure}, analysed on the log scale" if self.is_ratio else (f"; {self.measure}" if self.measure else ""))
                 + ")",
                 f"  tau prior: {self.tau_prior.describe()}" + (f" [{self.tau_prior.source}]" if self.tau_prior.source else ""),
                 f"  mu prior:  {describe_mu_prior(self.mu_prior)}",
                 f"  posterior by adaptive Gauss-Legendre quadrature over tau ({self._rule.n_panels} panels x 12 nodes, "
                 f"tolerance {self.tol:g}); mu and theta_new as exact normal mixtures", ""]
        head = (f"{'':10}{'mode':>10}{'median':>10}{'mean':>10}{'sd':>10}   "
                f"{f'{self.level:g}% {self.interval_kind}':>22}   prior")
        lines.append(head)
        for name in ("tau", "mu", "theta_new"):
            d = getattr(self, name).summary_dict()
            ci = f"[{d['ci_low']:.4f}, {d['ci_high']:.4f}]"
            lines.append(f"{name:10}{d['mode']:>10.4f}{d['median']:>10.4f}{d['mean']:>10.4f}{d['sd']:>10.4f}   "
                         f"{ci:>22}   {self._prior_summary(name)}")
        if self.is_ratio:
            for name in ("mu", "theta_new"):
                marg = getattr(self, name)
                lo, hi = marg.interval()
                lines.append(f"  {self.measure} (exp {name}): median {math.exp(marg.median):.3f} "
                             f"[{math.exp(lo):.3f}, {math.exp(hi):.3f}]")
        lines += ["", f"P(mu > 0) = {self.mu.prob_above(0.0):.4g}; P(mu < 0) = {self.mu.prob_below(0.0):.4g}"]
        bfs = []
        for h in ("tau=0", "mu=0"):
            try:
                bfs.append(f"BF({h}) = {self.bayes_factor(h):.4g}")
            except ArgumentError:
                bfs.append(f"BF({h}) not defined (improper prior)")
        lines.append("Bayes factors (above 1 favour the point hypothesis): " + "; ".join(bfs))
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        cells = []
        for name in ("tau", "mu", "theta_new"):
            d = getattr(self, name).summary_dict()
            cells.append("<tr><th style='text-align:left'>" + html.escape(name) + "</th>" + "".join(
                f"<td>{d[c]:.4f}</td>" for c in ("mode", "median", "mean", "sd"))
                + f"<td>[{d['ci_low']:.4f}, {d['ci_high']:.4f}]</td><td>{html.escape(self._prior_summary(name))}</td></tr>")
        head = ("<tr><th></th><th>mode</th><th>median</th><th>mean</th><th>sd</th>"
                f"<th>{self.level:g}% {html.escape(self.interval_kind)}</th><th>prior</th></tr>")
        priors = (f"<p>tau prior: {html.escape(self.tau_prior.describe())}<br>"
                  f"mu prior: {html.escape(describe_mu_prior(self.mu_prior))}<br>k = {self.k}"
                  + (f"; {html.escape(str(self.measure))} on the log scale" if self.is_ratio else "") + "</p>")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<div class='trialsynth-bayesresult'>{priors}<table>{head}{''.join(cells)}</table>"
                + (f"<ul style='color:#a33'>{notes}</ul>" if notes else "") + "</div>")


# =========================================================================== entry points


def _validate(yi, vi, labels):
    from trialsynth.pooling.fit import study_labels, validate_inputs

    y, v = validate_inputs(yi, vi)
    return y, v, study_labels(labels, y.size)


def _finiteness(tau_prior, mu_prior, k: int) -> tuple[bool, bool, bool, bool]:
    """(proper posterior, E[tau] finite, E[tau^2] finite, E[Var(mu | tau, y)] finite)."""
    power = tq.likelihood_power(k, mu_prior)
    m2 = tq.moment_finite(tau_prior, power, 2)
    return (tq.moment_finite(tau_prior, power, 0), tq.moment_finite(tau_prior, power, 1), m2,
            (mu_prior is not None) or m2)


def _notes(tau_prior, mu_prior, k, finite, rule) -> list[str]:
    notes = []
    if k <= 3 and not tau_prior.is_point_mass:
        notes.append(f"With k = {k} trial{'s' if k != 1 else ''} the data say little about the heterogeneity: the "
                     "posterior of tau is close to its prior, so tau (and the width of mu's interval) reflect the "
                     f"prior ({tau_prior.short}) more than the trials.")
    if not finite[1]:
        notes.append("The posterior mean of tau is infinite (heavy-tailed prior, few trials); use the median.")
    elif not finite[2]:
        notes.append("The posterior variance of tau is infinite (heavy-tailed prior, few trials); the sd of tau, mu and "
                     "theta_new are reported as inf.")
    if "not yet checked" in getattr(tau_prior, "source", ""):
        notes.append(f"The prior {tau_prior.short} comes from a secondary transcription of the paper's table, not yet "
                     "checked against the table itself.")
    tail = float(rule.tail_mass[0]) if rule.tail_mass is not None else 0.0
    if tail > 1e-9:
        notes.append(f"Posterior mass {tail:.2g} lies in the outermost tail panel of tau (up to tau = e^{rule.b.max():.0f}); "
                     "tail quantities are approximate.")
    return notes


def pool_bayes(yi, vi, *, tau_prior, mu_prior=None, labels=None, measure: str | None = None, level: float = 95,
               interval: str = "shortest", tol: float = DEFAULT_TOL, refine: int = 0) -> BayesResult:
    """Bayesian random-effects meta-analysis of ``yi`` (analysis scale) with variances ``vi``.

    Parameters
    ----------
    yi, vi : array-like
        The trials' estimates (log scale for ratios) and sampling variances.
    tau_prior : prior from :mod:`trialsynth.priors`
        For the heterogeneity tau: ``HalfNormal(scale)``, ``HalfCauchy(scale)``,
        ``HalfStudentT(df, scale)``, ``Uniform(low, high)``, ``Exponential(rate)``, ``Jeffreys()``,
        ``LogNormal(mean, sd)`` or ``LogStudentT(df, location, scale)`` on tau^2,
        ``Turner2015(outcome=..., comparison=...)``, ``Rhodes2015(outcome=..., comparison=...)``,
        or ``Fixed(tau)`` (a point mass; ``Fixed(0)`` is the common-effect model).
    mu_prior : trialsynth.priors.Normal or None
        Prior for the mean effect; None is the flat (improper uniform) prior.
    labels : sequence, optional
        Trial labels (default "1".."k").
    measure : str, optional
        The effect measure (``SMD``, ``RR``, ``OR`` ...), for display and back-transformation.
    level : float
        Interval level in percent (default 95).
    interval : {"shortest", "central"}
        Which interval ``ci_low``/``ci_high`` report (``interval(level, kind)`` gives either).
    tol : float
        Quadrature tolerance (relative, on the 6-point error estimate of each panel); the default
        1e-8 reproduces tau's moments and quantiles to about 1e-12.
    refine : int
        Halve every accepted panel this many more times (to check that nothing moves).

    Returns
    -------
    BayesResult

    Raises
    ------
    ArgumentError
        Bad inputs, or an improper posterior (an improper tau prior with too few trials: the
        Jeffreys prior needs k >= 2, the improper uniform prior k >= 3 with a flat prior on mu).
    """
    y, v, labels = _validate(yi, vi, labels)
    tau_prior, mu_prior, level, kind = check_arguments(tau_prior, mu_prior, level, interval)
    tol = float(tol)
    if not (0 < tol < 1e-2):
        raise ArgumentError(f"tol: expected a small positive tolerance such as 1e-8, got {tol!r}")
    finite = _finiteness(tau_prior, mu_prior, y.size)
    if not finite[0]:
        raise ArgumentError(
            f"tau_prior: {tau_prior.describe()} with k = {y.size} trial(s) and a "
            f"{'flat' if mu_prior is None else 'normal'} prior on mu gives an improper posterior (it does not "
            "integrate); use a proper prior for tau, or more trials")
    rule = _rule_for(y, v, tau_prior, mu_prior, tol, refine)
    result = BayesResult(yi=y, vi=v, labels=labels, measure=measure, level=level, tau_prior=tau_prior,
                         mu_prior=mu_prior, interval_kind=kind, _rule=rule, _finite=finite, tol=tol)
    result.notes = _notes(tau_prior, mu_prior, y.size, finite, rule)
    return result


def _point_rule(y, v, value, mu_prior):
    """The one-node 'rule' of a point-mass prior."""
    valid = np.ones((1, y.size), bool)
    loglik, mean, var = tq.conditional(y[None, :], v[None, :], valid, np.array([float(value)]), mu_prior)
    return tq.TauRule(kind=np.array([0]), a=np.array([float(value)]), b=np.array([float(value)]),
                      tau=np.array([[float(value)]]), log_g=loglik.reshape(1, 1, 1), mean=mean.reshape(1, 1, 1),
                      var=var.reshape(1, 1, 1), log_norm=loglik.reshape(1), iterations=0, tail_mass=np.zeros(1))


def _rule_for(y, v, tau_prior, mu_prior, tol, refine):
    if tau_prior.is_point_mass:
        return _point_rule(y, v, tau_prior.value, mu_prior)
    return tq.build_rule(y[None, :], v[None, :], np.ones((1, y.size), bool), tau_prior, mu_prior, tol=tol, refine=refine)


# --------------------------------------------------------------------------- prior predictive


def prior_predictive(tau_prior, q, *, of: str = "deviation", mu_prior=None, vi=None, tol: float = DEFAULT_TOL):
    """Quantiles ``q`` of the prior predictive distribution of a trial's deviation ``theta_i - mu``
    (``N(0, tau^2)`` mixed over ``tau_prior``) or, ``of="theta"``, of its effect ``N(m0, s0^2 +
    tau^2)`` under a normal ``mu_prior`` (Röver 2020, section 3.4). The tau prior must be proper."""
    tau_prior = check_tau_prior(tau_prior)
    mu_prior = check_mu_prior(mu_prior)
    if not tau_prior.proper:
        raise ArgumentError(f"prior_predictive: the tau prior ({tau_prior.describe()}) is improper, so it predicts nothing")
    centre, extra = 0.0, 0.0
    if of == "theta":
        if mu_prior is None:
            raise ArgumentError("prior_predictive(of='theta') needs a normal prior on mu")
        centre, extra = mu_prior.mean, mu_prior.sd ** 2
    if tau_prior.is_point_mass:
        sd = math.sqrt(tau_prior.value ** 2 + extra)
        qq = _check_prob(q, "q")
        return _scalar_or_array(centre + sd * special.ndtri(qq), q)
    # the prior alone: a rule over tau whose "likelihood" is flat (no trials)
    v = np.asarray(vi if vi is not None else [1.0], float)[None, :]
    rule = _prior_rule(tau_prior, v, tol)
    w = rule.weights()[0].ravel()
    tau = rule.tau.ravel()
    marg = MixtureMarginal("prior predictive", w, np.full(tau.size, centre), np.sqrt(tau * tau + extra), 95.0, "central")
    return marg.quantile(q)


def _prior_rule(tau_prior, v, tol):
    """The quadrature rule of the tau prior alone (the Jeffreys prior is improper, never here)."""
    valid = np.ones_like(v, dtype=bool)
    return tq.build_rule(np.zeros_like(v), v, valid, tau_prior, None, tol=tol, scale=4.0 * _prior_scale(tau_prior),
                         with_likelihood=False)


def _prior_scale(prior) -> float:
    hint = prior.scale_hint()
    return float(hint) if math.isfinite(hint) and hint > 0 else 1.0


__all__ = ["BayesResult", "Marginal", "MixtureMarginal", "pool_bayes", "prior_predictive"]
