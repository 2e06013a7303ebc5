"""Many Bayesian random-effects meta-analyses at once: :func:`pool_bayes_batch`.

The same model and quadrature as :func:`trialsynth.pool_bayes`, vectorised over cells: the cells
of a chunk share one set of tau panels, refined until every cell's integrals pass the tolerance
(:func:`trialsynth.pooling._tau_quadrature.build_rule`), and every summary (quantiles, shortest or
central intervals, tail probabilities) is computed for all cells of the chunk together by
vectorised safeguarded Newton iterations. Chunks are independent and fixed before anything runs,
so the local path and a Dask cluster (``client=``) return the same numbers
(:func:`trialsynth.pooling.distributed.run_chunks`). A cell's answer agrees with
:func:`pool_bayes` on the same trials to about 1e-9 (the panels differ, the integrals do not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import special

from trialsynth.errors import ArgumentError
from trialsynth.pooling import _tau_quadrature as tq
from trialsynth.pooling.bayes import DEFAULT_TOL, _check_level, _finiteness, check_arguments
from trialsynth.pooling.priors import describe_mu_prior

_SQRT2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- vectorised marginals


class RowMarginals:
    """One posterior per row (cell): vectorised ``cdf, pdf, quantile, interval``; attributes
    ``median, mean, sd, ci_low, ci_high`` are arrays with one value per row."""

    def __init__(self, name, level, kind, lower):
        self.name, self.level, self.kind = name, level, kind
        self.lower = np.asarray(lower, float)
        self._intervals: dict = {}

    # public, vectorised over rows
    def cdf(self, x) -> np.ndarray:
        return self._cdf(self._per_row(x))

    def prob_below(self, x) -> np.ndarray:
        return self.cdf(x)

    def prob_above(self, x) -> np.ndarray:
        return self._sf(self._per_row(x))

    def pdf(self, x) -> np.ndarray:
        return self._pdf(self._per_row(x))

    def quantile(self, p) -> np.ndarray:
        p = np.broadcast_to(np.asarray(p, float), (self.lower.size,))
        if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
            raise ArgumentError(f"p: expected probabilities between 0 and 1, got {p!r}")
        return self._quantile(np.array(p, dtype=float))

    def interval(self, level=None, kind=None) -> tuple[np.ndarray, np.ndarray]:
        lev = self.level if level is None else _check_level(level)
        kind = self.kind if kind is None else str(kind).lower()
        if kind not in ("shortest", "central"):
            raise ArgumentError(f"kind: expected 'shortest' or 'central', got {kind!r}")
        key = (round(lev, 12), kind)
        if key not in self._intervals:
            prob = lev / 100.0
            self._intervals[key] = self._central(prob) if kind == "central" else self._shortest(prob)
        return self._intervals[key]

    @cached_property
    def median(self) -> np.ndarray:
        return self._quantile(np.full(self.lower.size, 0.5))

    @property
    def ci_low(self) -> np.ndarray:
        return self.interval()[0]

    @property
    def ci_high(self) -> np.ndarray:
        return self.interval()[1]

    def _per_row(self, x) -> np.ndarray:
        return np.array(np.broadcast_to(np.asarray(x, float), (self.lower.size,)), dtype=float)

    # generic algorithms
    def _central(self, prob):
        tail = (1.0 - prob) / 2.0
        n = self.lower.size
        return self._quantile(np.full(n, tail)), self._quantile(np.full(n, 1.0 - tail))

    def _shortest(self, prob):
        n = self.lower.size
        a, b = self._central(prob)
        upper = self._quantile(np.full(n, prob))
        with np.errstate(invalid="ignore"):
            at_lower = np.isfinite(self.lower) & (self._pdf(np.where(np.isfinite(self.lower), self.lower, 0.0))
                                                  >= self._pdf(upper))
        done = at_lower.copy()
        for _ in range(50):
            todo = ~done
            if not todo.any():
                break
            fa, fb = self._pdf(a), self._pdf(b)
            r1 = self._cdf(b) - self._cdf(a) - prob
            with np.errstate(divide="ignore", invalid="ignore"):
                r2 = np.log(fa) - np.log(fb)
            conv = (np.abs(r1) < 1e-14) & (np.abs(r2) < 1e-11)
            done |= conv
            ga, gb = self._dlogpdf(a), self._dlogpdf(b)
            det = fa * gb - fb * ga  # of [[-fa, fb], [ga, -gb]]
            with np.errstate(divide="ignore", invalid="ignore"):
                da = (-r1 * -gb + r2 * fb) / det
                db = (-r2 * -fa + r1 * ga) / det
            step = np.maximum(np.abs(da), np.abs(db))
            width = b - a
            damp = np.where(step > 0.5 * width, 0.5 * width / np.where(step > 0, step, 1.0), 1.0)
            move = ~done & np.isfinite(da) & np.isfinite(db)
            a = np.where(move, a + da * damp, a)
            b = np.where(move, b + db * damp, b)
            done |= ~(np.isfinite(da) & np.isfinite(db))  # give up on these rows (fallback below)
        bad = ~at_lower & ~(np.abs(self._cdf(b) - self._cdf(a) - prob) < 1e-12)
        a = np.where(at_lower, self.lower, a)
        b = np.where(at_lower, upper, b)
        for i in np.flatnonzero(bad):
            a[i], b[i] = self._row_search(i, prob)
        return a, b

    def _row_search(self, i, prob):
        """Fallback for one row: the width ``Q(p + prob) - Q(p)`` over a grid of lower tail
        probabilities ``p`` (the row repeated, all quantiles at once), refined twice around the
        narrowest."""
        lo_p, hi_p = 0.0, 1.0 - prob
        best = (np.nan, np.nan)
        for _ in range(3):
            grid = np.linspace(lo_p, hi_p, 101)
            sub = self._take(np.full(grid.size, i))
            lows, highs = sub._quantile(grid), sub._quantile(grid + prob)
            j = int(np.nanargmin(highs - lows))
            best = (float(lows[j]), float(highs[j]))
            step = grid[1] - grid[0]
            lo_p, hi_p = max(grid[j] - step, 0.0), min(grid[j] + step, 1.0 - prob)
        return best


class MixtureRows(RowMarginals):
    """Per row a mixture of normals (weights (m, N), means, sds)."""

    def __init__(self, name, w, m, s, level, kind, mean, var):
        super().__init__(name, level, kind, np.full(w.shape[0], -np.inf))
        self._w, self._m, self._s = w, m, s
        self.mean = mean
        self.sd = np.sqrt(var)

    def _take(self, rows):
        return MixtureRows(self.name, self._w[rows], self._m[rows], self._s[rows], self.level, self.kind,
                           self.mean[rows], self.sd[rows] ** 2)

    def _z(self, x):
        return (x[:, None] - self._m) / self._s

    def _cdf(self, x):
        return np.einsum("mn,mn->m", special.ndtr(self._z(x)), self._w)

    def _sf(self, x):
        return np.einsum("mn,mn->m", special.ndtr(-self._z(x)), self._w)

    def _pdf(self, x):
        z = self._z(x)
        return np.einsum("mn,mn->m", np.exp(-0.5 * z * z) / self._s, self._w) / _SQRT2PI

    def _dlogpdf(self, x):
        z = self._z(x)
        phi = np.exp(-0.5 * z * z) / self._s * self._w
        return np.einsum("mn,mn->m", -z / self._s, phi) / phi.sum(1)

    def _quantile(self, p):
        zq = special.ndtri(np.clip(p, 1e-300, 1 - 1e-16))
        cand = self._m + self._s * zq[:, None]
        heavy = self._w > 1e-16 * self._w.max(1, keepdims=True)
        lo = np.where(heavy, cand, np.inf).min(1)
        hi = np.where(heavy, cand, -np.inf).max(1)
        guess = self.mean + np.where(np.isfinite(self.sd), self.sd, 0.0) * zq
        if not np.all(np.isfinite(self.sd)):  # heavy tails: the weighted median of the components' quantiles
            order = np.argsort(cand, axis=1)
            cum = np.cumsum(np.take_along_axis(self._w, order, axis=1), axis=1)
            pick = np.minimum((cum < 0.5).sum(1), cand.shape[1] - 1)
            wmed = np.take_along_axis(cand, order, axis=1)[np.arange(cand.shape[0]), pick]
            guess = np.where(np.isfinite(self.sd), guess, wmed)
        x = np.clip(np.where(np.isfinite(guess), guess, 0.5 * (lo + hi)), lo, hi)
        active = np.flatnonzero((p > 0) & (p < 1) & (hi > lo))
        for _ in range(100):
            if not active.size:
                break
            w, mm, ss = self._w[active], self._m[active], self._s[active]
            xa, la, ha = x[active], lo[active], hi[active]
            z = (xa[:, None] - mm) / ss
            f = np.einsum("mn,mn->m", special.ndtr(z), w) - p[active]
            la = np.where(f <= 0, xa, la)
            ha = np.where(f > 0, xa, ha)
            dens = np.einsum("mn,mn->m", np.exp(-0.5 * z * z) / ss, w) / _SQRT2PI
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                step = f / dens
            scale = np.maximum(1.0, np.abs(xa))
            converged = np.abs(step) <= 1e-13 * scale  # before the bracket test (a last step of 0 sits on its edge)
            new = xa - step
            new = np.where(converged | ((la < new) & (new < ha)), new, 0.5 * (la + ha))
            done = converged | (ha - la <= 1e-14 * scale)
            x[active], lo[active], hi[active] = new, la, ha
            active = active[~done]
        return np.where(p <= 0, -np.inf, np.where(p >= 1, np.inf, x))


class TauRows(RowMarginals):
    """Per row the posterior of tau on the chunk's shared panels."""

    def __init__(self, rule, y, v, valid, tau_prior, mu_prior, level, kind, mean, second):
        super().__init__("tau", level, kind, np.full(y.shape[0], float(tau_prior.support[0])))
        self._rule, self._y, self._v, self._valid = rule, y, v, valid
        self._prior, self._mu_prior = tau_prior, mu_prior
        self._anti = rule.antiderivatives()  # (m, P, 13)
        self._cum = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(self._anti.sum(-1), axis=1)], axis=1)
        self._power = np.einsum("mpj,ij->mpi", self._anti, tq.legendre_to_power(self._anti.shape[-1]))[..., ::-1]
        self._upper = np.where(rule.kind == 1, np.exp(np.minimum(rule.b, tq.X_CAP)), rule.b)
        self.mean = mean
        with np.errstate(invalid="ignore"):
            self.sd = np.where(np.isfinite(second) & np.isfinite(mean), np.sqrt(np.maximum(second - mean * mean, 0.0)),
                               np.inf)

    def _take(self, rows):
        out = object.__new__(TauRows)
        RowMarginals.__init__(out, "tau", self.level, self.kind, self.lower[rows])
        out._rule = tq.TauRule(kind=self._rule.kind, a=self._rule.a, b=self._rule.b, tau=self._rule.tau,
                               log_g=self._rule.log_g[rows], mean=self._rule.mean[rows], var=self._rule.var[rows],
                               log_norm=self._rule.log_norm[rows])
        out._y, out._v, out._valid = self._y[rows], self._v[rows], self._valid[rows]
        out._prior, out._mu_prior = self._prior, self._mu_prior
        out._anti, out._cum, out._power = self._anti[rows], self._cum[rows], self._power[rows]
        out._upper, out.mean, out.sd = self._upper, self.mean[rows], self.sd[rows]
        return out

    def _pdf(self, x):
        loglik, _, _ = tq.conditional(self._y, self._v, self._valid, x[:, None], self._mu_prior)
        lp = tq.log_prior(self._prior, x[:, None], self._v, self._valid)
        with np.errstate(invalid="ignore"):
            out = np.exp(loglik[:, 0] + lp[:, 0] - self._rule.log_norm)
        return np.where(np.isnan(out), 0.0, out)

    def _dlogpdf(self, x):
        h = 1e-6 * np.maximum(x, 1e-8)
        lo, up = np.maximum(x - h, 0.0), x + h
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log(self._pdf(up)) - np.log(self._pdf(lo))) / (up - lo)

    def _u(self, idx, x):
        a, b, kind = self._rule.a[idx], self._rule.b[idx], self._rule.kind[idx]
        z = np.where(kind == 1, np.log(np.maximum(x, 1e-300)), x)
        return np.clip((2.0 * z - (a + b)) / (b - a), -1.0, 1.0)

    def _cdf(self, x):
        idx = np.searchsorted(self._upper, x, side="left")
        beyond = idx >= self._upper.size
        idx = np.minimum(idx, self._upper.size - 1)
        rows = np.arange(x.size)
        basis = tq.legendre_basis(self._u(idx, x), self._anti.shape[-1])
        out = self._cum[rows, idx] + np.einsum("ij,ij->i", basis, self._anti[rows, idx])
        out = np.where(beyond, 1.0, np.where(x <= self.lower, 0.0, out))
        return np.clip(out, 0.0, 1.0)

    def _sf(self, x):
        return 1.0 - self._cdf(x)

    def _quantile(self, p):
        rows = np.arange(p.size)
        idx = np.clip((self._cum[:, 1:] < p[:, None]).sum(1), 0, self._anti.shape[1] - 1)
        target = p - self._cum[rows, idx]
        coef = self._power[rows, idx]  # (m, 13), highest power first
        dcoef = coef[:, :-1] * np.arange(coef.shape[1] - 1, 0, -1)[None, :]
        mass = self._cum[rows, idx + 1] - self._cum[rows, idx]
        u = np.clip(-1.0 + 2.0 * target / np.maximum(mass, 1e-300), -1.0, 1.0)
        lo, hi = np.full(p.size, -1.0), np.full(p.size, 1.0)
        for _ in range(100):
            f = _horner(coef, u) - target
            lo = np.where(f <= 0, u, lo)
            hi = np.where(f > 0, u, hi)
            d = _horner(dcoef, u)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(d > 0, f / d, np.inf)
            converged = np.abs(step) < 1e-15  # before the bracket test (a last step of 0 sits on its edge)
            new = u - step
            new = np.where(converged | ((lo < new) & (new < hi)), new, 0.5 * (lo + hi))
            done = converged | (hi - lo < 1e-15)
            u = new
            if done.all():
                break
        a, b, kind = self._rule.a[idx], self._rule.b[idx], self._rule.kind[idx]
        z = (a + b) / 2.0 + (b - a) / 2.0 * u
        out = np.where(kind == 1, np.exp(np.minimum(z, tq.X_CAP)), z)
        return np.where(p <= 0, self.lower, np.where(p >= 1, np.inf, out))


def _horner(coef, u):
    out = np.zeros_like(u)
    for j in range(coef.shape[1]):
        out = out * u + coef[:, j]
    return out


# --------------------------------------------------------------------------- results


@dataclass
class BayesBatchResult:
    """The posteriors of ``m`` cells (:func:`pool_bayes_batch`): ``tau``, ``mu`` and ``theta_new``
    each with per-cell arrays ``median, mean, sd, ci_low, ci_high`` and vectorised
    ``interval(level, kind)``, ``quantile(p)``, ``prob_above(x)``, ``prob_below(x)``; ``k`` the
    number of trials per cell (cells with none give NaN)."""

    k: np.ndarray
    level: float
    interval_kind: str
    tau_prior: object
    mu_prior: object
    tau: "_Gathered"
    mu: "_Gathered"
    theta_new: "_Gathered"
    #: per cell the log of the posterior's normalising constant (the log marginal likelihood when
    #: both priors are proper; with a flat mu prior it is defined up to that prior's constant)
    log_marginal_likelihood: np.ndarray
    log_lik_tau0: np.ndarray
    notes: list = field(default_factory=list)

    def bayes_factor(self, hypothesis: str) -> np.ndarray:
        """Per cell the Bayes factor of ``"tau=0"`` against the model (above 1 favours tau = 0)."""
        if str(hypothesis).replace(" ", "").lower() != "tau=0":
            raise ArgumentError("pool_bayes_batch results give bayes_factor('tau=0') only; use pool_bayes for 'mu=0'")
        if not self.tau_prior.proper or self.tau_prior.is_point_mass:
            raise ArgumentError("bayes_factor('tau=0') needs a proper, non-degenerate tau prior")
        return np.exp(self.log_lik_tau0 - self.log_marginal_likelihood)

    def to_frame(self):
        """One row per cell: k and, for tau, mu and theta_new, median, mean, sd, ci_low, ci_high."""
        import pandas as pd

        data = {"k": self.k}
        for name in ("tau", "mu", "theta_new"):
            marg = getattr(self, name)
            for attr in ("median", "mean", "sd", "ci_low", "ci_high"):
                data[f"{name}_{attr}"] = getattr(marg, attr)
        frame = pd.DataFrame(data)
        frame.attrs.update({"level": self.level, "interval": self.interval_kind, "tau_prior": self.tau_prior.describe(),
                            "mu_prior": describe_mu_prior(self.mu_prior)})
        return frame


class _Gathered:
    """Per-chunk :class:`RowMarginals` put back together, in the caller's row order."""

    def __init__(self, parts, index, total):
        self._parts, self._index, self._total = parts, index, total

    def _collect_attr(self, attr):
        out = np.full(self._total, np.nan)
        for part, idx in zip(self._parts, self._index):
            out[idx] = getattr(part, attr)
        return out

    @property
    def median(self):
        return self._collect_attr("median")

    @property
    def mean(self):
        return self._collect_attr("mean")

    @property
    def sd(self):
        return self._collect_attr("sd")

    @property
    def ci_low(self):
        return self._collect_attr("ci_low")

    @property
    def ci_high(self):
        return self._collect_attr("ci_high")

    def interval(self, level=None, kind=None):
        low, high = np.full(self._total, np.nan), np.full(self._total, np.nan)
        for part, idx in zip(self._parts, self._index):
            lo, hi = part.interval(level, kind)
            low[idx], high[idx] = lo, hi
        return low, high

    def _sliced(self, method, x):
        x = np.broadcast_to(np.asarray(x, float), (self._total,))
        out = np.full(self._total, np.nan)
        for part, idx in zip(self._parts, self._index):
            out[idx] = getattr(part, method)(x[idx])
        return out

    def quantile(self, p):
        return self._sliced("quantile", p)

    def cdf(self, x):
        return self._sliced("cdf", x)

    def prob_below(self, x):
        return self._sliced("prob_below", x)

    def prob_above(self, x):
        return self._sliced("prob_above", x)


def _chunk(start, stop, *, y, v, tau_prior, mu_prior, level, kind, tol):
    """The marginals of rows ``start:stop`` (only rows with at least one trial)."""
    yy, vv = y[start:stop], v[start:stop]
    valid = np.isfinite(yy) & np.isfinite(vv)
    keep = np.flatnonzero(valid.any(1))
    if not keep.size:
        return keep + start, None
    yy, vv, valid = np.where(valid, yy, 0.0)[keep], np.where(valid, vv, 1.0)[keep], valid[keep]
    k = valid.sum(1)
    finite = _finiteness(tau_prior, mu_prior, int(k.min()))
    if not finite[0]:
        raise ArgumentError(f"tau_prior: {tau_prior.describe()} gives an improper posterior for a cell with "
                            f"{int(k.min())} trial(s); use a proper prior or drop such cells")
    if tau_prior.is_point_mass:
        loglik, mean, var = tq.conditional(yy, vv, valid, np.array([tau_prior.value]), mu_prior)
        rule = tq.TauRule(kind=np.array([0]), a=np.array([tau_prior.value]), b=np.array([tau_prior.value]),
                          tau=np.array([[tau_prior.value]]), log_g=loglik[:, :, None], mean=mean[:, :, None],
                          var=var[:, :, None], log_norm=loglik[:, 0])
    else:
        rule = tq.build_rule(yy, vv, valid, tau_prior, mu_prior, tol=tol)
    m = keep.size
    w = rule.weights().reshape(m, -1)
    cols = np.flatnonzero(w.max(0) > 1e-17)  # nodes that matter for some cell
    w = w[:, cols] / w[:, cols].sum(1, keepdims=True)
    tau = np.broadcast_to(rule.tau.reshape(1, -1)[:, cols], w.shape)
    cm, cv = rule.mean.reshape(m, -1)[:, cols], rule.var.reshape(m, -1)[:, cols]
    mu_mean = np.einsum("mn,mn->m", w, cm)
    second_tau = np.einsum("mn,mn->m", w, tau * tau) if finite[2] else np.full(m, np.inf)
    mean_tau = np.einsum("mn,mn->m", w, tau) if finite[1] else np.full(m, np.inf)
    mu_var = np.einsum("mn,mn->m", w, cv + cm * cm) - mu_mean ** 2 if finite[3] else np.full(m, np.inf)
    pred_var = np.einsum("mn,mn->m", w, cv + tau * tau + cm * cm) - mu_mean ** 2 if finite[2] else np.full(m, np.inf)
    mu = MixtureRows("mu", w, cm, np.sqrt(cv), level, kind, mu_mean, mu_var)
    theta = MixtureRows("theta_new", w, cm, np.sqrt(cv + tau * tau), level, kind, mu_mean, pred_var)
    if tau_prior.is_point_mass:
        tau_rows = _PointRows(tau_prior.value, m, level, kind)
    else:
        tau_rows = TauRows(rule, yy, vv, valid, tau_prior, mu_prior, level, kind, mean_tau, second_tau)
    lik0, _, _ = tq.conditional(yy, vv, valid, np.array([0.0]), mu_prior)
    return keep + start, {"k": k, "tau": tau_rows, "mu": mu, "theta_new": theta, "log_norm": rule.log_norm,
                          "lik0": lik0[:, 0]}


class _PointRows(RowMarginals):
    def __init__(self, value, m, level, kind):
        super().__init__("tau", level, kind, np.full(m, value))
        self.mean = np.full(m, value)
        self.sd = np.zeros(m)
        self._value = value

    def _cdf(self, x):
        return (x >= self._value).astype(float)

    def _sf(self, x):
        return (x < self._value).astype(float)

    def _quantile(self, p):
        return np.full(p.size, self._value)

    def _shortest(self, prob):
        return self.lower.copy(), self.lower.copy()

    def _central(self, prob):
        return self.lower.copy(), self.lower.copy()


def pool_bayes_batch(yi, vi, *, tau_prior, mu_prior=None, level: float = 95, interval: str = "shortest",
                     tol: float = DEFAULT_TOL, chunk_size: int = 256, client=None, progress: bool = False,
                     workers: int | None = None) -> BayesBatchResult:
    """Bayesian random-effects meta-analyses of the rows of ``yi`` (m x k; NaN marks an absent
    trial, so rows may have different numbers of trials) with variances ``vi``.

    Priors, ``level`` and ``interval`` as in :func:`trialsynth.pool_bayes`. Rows are processed in
    chunks of ``chunk_size`` sharing one quadrature rule; ``client`` (a ``dask.distributed.Client``)
    runs the chunks on a cluster with the same result as the local path; ``workers`` threads run
    them locally (default: one per CPU; 1 inside code that is itself parallel).
    """
    y = np.atleast_2d(np.asarray(yi, dtype=float))
    v = np.atleast_2d(np.asarray(vi, dtype=float))
    if y.shape != v.shape or y.ndim != 2:
        raise ArgumentError(f"yi and vi: expected two arrays of the same (m, k) shape, got {y.shape} and {v.shape}")
    present = np.isfinite(y) & np.isfinite(v)
    if np.any(np.isfinite(y) != np.isfinite(v)):
        bad = np.argwhere(np.isfinite(y) != np.isfinite(v))[0]
        raise ArgumentError(f"yi and vi: row {bad[0]}, column {bad[1]} has a value in one and not the other")
    if np.any(present & (v <= 0)):
        bad = np.argwhere(present & (v <= 0))[0]
        raise ArgumentError(f"vi: must be positive; row {bad[0]}, column {bad[1]} is {v[bad[0], bad[1]]!r}")
    tau_prior, mu_prior, level, kind = check_arguments(tau_prior, mu_prior, level, interval)
    if int(chunk_size) < 1:
        raise ArgumentError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    from trialsynth.pooling.distributed import run_chunks

    m = y.shape[0]
    bounds = [(s, min(s + int(chunk_size), m)) for s in range(0, m, int(chunk_size))]
    parts = run_chunks(_chunk, bounds, client=client, progress=progress, description="pool_bayes_batch",
                       workers=workers, y=y, v=v, tau_prior=tau_prior, mu_prior=mu_prior, level=level, kind=kind, tol=float(tol))
    parts = [(idx, part) for idx, part in parts if part is not None]
    index = [idx for idx, _ in parts]
    k = np.zeros(m, dtype=int)
    log_norm, lik0 = np.full(m, np.nan), np.full(m, np.nan)
    for idx, part in parts:
        k[idx] = part["k"]
        log_norm[idx] = part["log_norm"]
        lik0[idx] = part["lik0"]
    gathered = {name: _Gathered([part[name] for _, part in parts], index, m) for name in ("tau", "mu", "theta_new")}
    notes = []
    if np.any(k == 0):
        notes.append(f"{int((k == 0).sum())} row(s) have no trials; their results are NaN.")
    return BayesBatchResult(k=k, level=level, interval_kind=kind, tau_prior=tau_prior, mu_prior=mu_prior,
                            log_marginal_likelihood=log_norm,
                            log_lik_tau0=lik0, notes=notes, **gathered)


__all__ = ["BayesBatchResult", "pool_bayes_batch"]
