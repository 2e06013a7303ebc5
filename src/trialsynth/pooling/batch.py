"""Vectorised fitting of many intercept-only meta-analyses at once.

:func:`pool_batch` takes (m x k) arrays (NaN marks an absent study) and fits every row
with the same estimator and test, with no Python loop over rows: closed-form estimators are
array formulas; ML and REML use Fisher scoring (Viechtbauer 2005, eqs. 9-12) and PM, PMM and
EB use Newton's method on the generalised Q equation (DerSimonian & Kacker 2007, section 3),
both with per-row convergence masks.  It returns a :class:`BatchResult` with the attribute
names of :class:`~trialsynth.pooling.results.MetaResult` as arrays of length m, and equals
:func:`trialsynth.pool` row by row (tested).

The formulas are those of :mod:`trialsynth.pooling.estimators` specialised to X = 1, where
``P = W - w w'/sum(w)`` so that every trace is a function of power sums of the weights.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:
    import pandas as pd

from trialsynth.errors import ArgumentError
from trialsynth.pooling._lazy import Deferred, LazyField
from trialsynth.pooling._linalg import raise_malloc_mmap_threshold
from trialsynth.pooling.estimators import EXTRA_METHODS, GENQ_METHODS, _estimate_extra, normalise_method
from trialsynth.pooling.fit import PI_METHODS, check_level, normalise_test


raise_malloc_mmap_threshold()


@dataclass
class BatchResult:
    """Results of :func:`pool_batch`: arrays of length m (``weights`` is m x k, percent).

    Derived and rarely read outputs (``tau, i2, h2, q_df, dfs, s2w``, the properties
    ``p_value, se_tau2, pi_low, pi_high, q_p_value, weights``) are computed on first access;
    they read exactly as if computed eagerly.
    """

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    statistic: np.ndarray
    tau2: np.ndarray
    tau: np.ndarray = LazyField()
    i2: np.ndarray = LazyField()
    h2: np.ndarray = LazyField()
    q: np.ndarray
    q_df: np.ndarray = LazyField()
    k: np.ndarray
    weight_matrix: np.ndarray
    present: np.ndarray | None
    dfs: np.ndarray = LazyField()
    s2w: np.ndarray = LazyField()
    converged: np.ndarray
    method: str
    test: str
    level: float
    pi_method: str = "auto"
    warnings: list = field(default_factory=list)
    #: name -> zero-argument function computing a rarely read attribute on first access
    _lazy: dict = field(default_factory=dict, repr=False, compare=False)

    def _lazy_value(self, name: str) -> np.ndarray:
        cached = self.__dict__.get("_cached_" + name)
        if cached is None:
            cached = self._lazy[name]()
            self.__dict__["_cached_" + name] = cached
        return cached

    @property
    def p_value(self) -> np.ndarray:
        """Two-sided p-values of the pooled estimate (z or t), computed on first use."""
        return self._lazy_value("p_value")

    @property
    def se_tau2(self) -> np.ndarray:
        """Standard errors of tau2 (NaN where not defined), computed on first use."""
        return self._lazy_value("se_tau2")

    @property
    def pi_low(self) -> np.ndarray:
        """Lower prediction limits, computed on first use."""
        return self._lazy_value("pi_low")

    @property
    def pi_high(self) -> np.ndarray:
        """Upper prediction limits, computed on first use."""
        return self._lazy_value("pi_high")

    @property
    def q_p_value(self) -> np.ndarray:
        """Chi-square p-values of Q on k - 1 df (NaN for k <= 1), computed on first use."""
        cached = self.__dict__.get("_q_p_value")
        if cached is None:
            df = self.q_df.astype(float)
            with np.errstate(invalid="ignore"):
                cached = np.where(df >= 1, special.chdtrc(np.maximum(df, 1.0), self.q), np.nan)
            self.__dict__["_q_p_value"] = cached
        return cached

    @property
    def weights(self) -> np.ndarray:
        """(m x k) weights in percent (NaN for absent studies), computed on first use."""
        cached = self.__dict__.get("_weights")
        if cached is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                cached = 100.0 * self.weight_matrix / self.weight_matrix.sum(axis=1, keepdims=True)
            if self.present is not None:
                cached = np.where(self.present, cached, np.nan)
            self.__dict__["_weights"] = cached
        return cached

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis."""
        cols = ["k", "estimate", "se", "ci_low", "ci_high", "statistic", "p_value", "pi_low",
                "pi_high", "tau2", "se_tau2", "tau", "i2", "h2", "q", "q_df", "q_p_value",
                "dfs", "s2w", "converged"]
        import pandas as pd

        frame = pd.DataFrame({c: getattr(self, c) for c in cols})
        frame["method"], frame["test"] = self.method, self.test
        return frame


def _rowsum(a: np.ndarray) -> np.ndarray:
    """Row sums through a BLAS matrix-vector product (several times faster than sum(axis=1))."""
    return a @ np.ones(a.shape[1])


def _rowdot(a: np.ndarray, b: np.ndarray, out: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """Row sums of a * b, the product written into ``out`` (which may be ``a`` or ``b``)."""
    np.multiply(a, b, out=out)
    return out @ ones


def _spread(values: np.ndarray, k: int) -> np.ndarray:
    """(m x k) array whose row i repeats values[i]: faster to build and combine than
    broadcasting ``values[:, None]`` against rows of a few studies."""
    return np.repeat(values, k).reshape(values.shape[0], k)


def _t_quantile(df: np.ndarray, prob: float) -> np.ndarray:
    """t quantiles for an array of df, evaluated once per distinct df."""
    uniq, inverse = np.unique(df, return_inverse=True)
    return special.stdtrit(uniq, prob)[inverse]


def _as_2d(values, name):
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name} must be a numeric 2-D array (m meta-analyses x k studies)") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ArgumentError(f"{name} must be 2-D (m x k); got shape {arr.shape}")
    return arr


def _tr_psps(w, s, sw):
    """tr(P S P S) for P = W - w w'/sum(w) and S = diag(s) (rows; absent studies w = 0)."""
    a = w * s
    return (_rowsum(a * a) - 2.0 * _rowsum(w * a * a) / sw
            + (_rowsum(a * w) / sw) ** 2)


def pool_batch(
    yi,
    vi=None,
    *,
    sei=None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    pi_method: str = "auto",
    tol: float = 1e-12,
    maxiter: int = 10000,
) -> BatchResult:
    """Fit m intercept-only meta-analyses at once.

    Parameters
    ----------
    yi, vi : (m, k) array-like
        Effects and sampling variances; NaN (in both) marks an absent study, so rows may
        have different numbers of studies.  ``sei`` may replace ``vi``.
    method, test, level, pi_method
        As in :func:`trialsynth.pool` (method: EE DL HE HS HSk SJ ML REML EB PM PMM GENQ,
        GENQ with weights 1/vi; test: z, knha, adhoc).
    tol, maxiter
        Convergence control of the iterative estimators (per row).

    Returns
    -------
    BatchResult
    """
    method = normalise_method(method)
    test = normalise_test(test)
    level = check_level(level)
    if pi_method not in PI_METHODS:
        raise ArgumentError(f"pi_method must be one of {', '.join(PI_METHODS)}; got {pi_method!r}")
    if vi is None and sei is None:
        raise ArgumentError("give the sampling variances vi or the standard errors sei")
    y = _as_2d(yi, "yi")
    if vi is not None:
        v = _as_2d(vi, "vi")
        vname = "vi"
    else:
        v = _as_2d(sei, "sei") ** 2
        vname = "sei"
    if y.shape != v.shape:
        raise ArgumentError(f"yi has shape {y.shape} but {vname} has shape {v.shape}; shapes must match")
    m, kmax = y.shape
    ones = np.ones(kmax)
    scratch = np.empty((m, kmax))  # one reused (m x k) buffer for products that are summed
    # fast path: every cell present, finite, with a positive variance.  1/v is positive and
    # finite exactly for finite positive v (NaN fails the comparison); a row sum is finite only
    # if every term is (NaN and infinities propagate).  Anything else (absent studies, bad
    # values, or finite values whose sums overflow) takes the general path, which checks every
    # cell and names the problem.
    fast = False
    if y.size:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            w0 = np.divide(1.0, v)
            if w0.min() > 0:
                sw0 = w0 @ ones
                swy0 = _rowdot(w0, y, scratch, ones)
                fast = bool(np.isfinite(sw0.sum()) and np.isfinite(swy0.sum()))
    if fast:
        present = None
        pres = np.ones((1, kmax))
        y0, v0 = y, v
        k = np.full(m, kmax)
        mu0 = swy0 / sw0
    else:
        absent = np.isnan(y)
        absent_v = np.isnan(v)
        if not np.array_equal(absent, absent_v):
            r, c = np.argwhere(absent != absent_v)[0]
            raise ArgumentError(
                f"yi and {vname} must mark absent studies with NaN in the same cells; "
                f"row {r}, column {c} differs"
            )
        present = ~absent
        pres = present.astype(float)
        y0 = np.where(present, y, 0.0)
        v0 = np.where(present, v, 1.0)
        k = present.sum(axis=1)
        if not np.all(np.isfinite(y0)) or not np.all(np.isfinite(v0)):
            raise ArgumentError(f"yi and {vname} must be finite (use NaN for absent studies)")
        if v0.size and v0.min() <= 0:
            raise ArgumentError(f"{vname} must be positive for every present study")
        with np.errstate(divide="ignore", invalid="ignore"):
            w0 = pres / v0
            sw0 = w0 @ ones
            mu0 = _rowdot(w0, y0, scratch, ones) / sw0
    kf = k.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        dfr = kf - 1.0
        # fixed-effect quantities (weights 1/v): Q and tr(P)
        sw0_2 = _rowdot(w0, w0, scratch, ones)
        r0 = np.subtract(y0, _spread(mu0, kmax), out=scratch)
        if present is not None:
            r0 *= pres
        np.multiply(r0, r0, out=r0)
        q = _rowdot(r0, w0, r0, ones)  # sum of w0 (y - mu0)^2
        trp0 = sw0 - sw0_2 / sw0
        tau2, se_tau2, converged = _tau2_batch(method, y0, v0, pres, kf, dfr, w0, sw0, sw0_2, q,
                                               trp0, tol, maxiter)
        single = k <= 1
        any_single = bool(single.any())
        if any_single:
            tau2 = np.where(single, 0.0, tau2)
        if method in ("EE",):
            w, sw = w0, sw0
        else:
            w = _spread(tau2, kmax)  # a new array: it is kept as the weight matrix
            w += v0
            np.divide(1.0, w, out=w)
            if present is not None:
                w *= pres
            sw = w @ ones
        if method in GENQ_METHODS:
            wt = w0
            est = mu0
            var_b = np.einsum("ij,ij->i", w0 * w0, v0 + tau2[:, None]) / (sw0 * sw0)
            mu_opt = _rowdot(w, y0, scratch, ones) / sw
        else:
            wt = w
            est = mu0 if method == "EE" else _rowdot(w, y0, scratch, ones) / sw
            var_b = 1.0 / sw
            mu_opt = est
        alpha = 1.0 - level / 100.0
        zcrit = float(special.ndtri(1.0 - alpha / 2.0))
        if test == "z":
            se = np.sqrt(var_b)
            stat = est / se

            def p_value_fn(stat=stat):
                return 2.0 * special.ndtr(-np.abs(stat))

            crit = zcrit
            use_t = None  # no row uses t
        else:
            ropt = np.subtract(y0, mu_opt[:, None], out=scratch)
            if present is not None:
                ropt *= pres
            np.multiply(ropt, ropt, out=ropt)
            s2w_raw = _rowdot(ropt, w, ropt, ones) / dfr
            use_t = k >= 2
            scale = s2w_raw if test == "knha" else np.maximum(1.0, s2w_raw)
            scale = np.where(use_t, scale, 1.0)
            se = np.sqrt(var_b * scale)
            stat = est / se
            dft = np.where(use_t, dfr, 1.0)

            def p_value_fn(stat=stat, use_t=use_t, dft=dft):
                return np.where(use_t, 2.0 * special.stdtr(dft, -np.abs(stat)),
                                2.0 * special.ndtr(-np.abs(stat)))

            crit = np.where(use_t, _t_quantile(dft, 1.0 - alpha / 2.0), zcrit)
        ci_low = est - crit * se
        ci_high = est + crit * se

    # heterogeneity (I2, H2 with the typical within-study variance s2 = (k - 1)/tr(P0)),
    # computed on first access
    @functools.cache
    def i2_h2():
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = dfr / trp0
            if method == "EE":
                i2 = np.where(q > 0, np.maximum(0.0, 100.0 * (q - dfr) / q), 0.0)
                h2 = q / dfr
            else:
                i2 = 100.0 * tau2 / (tau2 + s2)
                h2 = (tau2 + s2) / s2
            if any_single:
                i2 = np.where(single, np.nan, i2)
                h2 = np.where(single, np.nan, h2)
        return nan_if_empty(i2), nan_if_empty(h2)

    def nan_if_empty(value):
        return np.where(empty, np.nan, value) if any_empty else value

    # prediction interval (Higgins, Thompson & Spiegelhalter 2009), computed on first access
    def pi_lazy(est=est, se=se, tau2=tau2, use_t=use_t, zcrit=zcrit):
        # (est, se, tau2 before the NaN of empty rows; the limits get it below)
        with np.errstate(divide="ignore", invalid="ignore"):
            if method == "EE":
                pi_low = pi_high = np.full(m, np.nan)
            else:
                pim = pi_method
                if pim == "auto":
                    pim = "normal" if test == "z" else "t"
                if pim == "normal":
                    pcrit = zcrit
                    if test != "z" and any_single:
                        pcrit = np.where(use_t, zcrit, np.nan)
                else:
                    pdf = dfr if pim == "t" else kf - 2.0
                    pcrit = np.where(pdf >= 1,
                                     _t_quantile(np.maximum(pdf, 1.0), 1.0 - alpha / 2.0), np.nan)
                half = pcrit * np.sqrt(se * se + tau2)
                pi_low = est - half
                pi_high = est + half
            if any_single:
                pi_low = np.where(single, np.nan, pi_low)
                pi_high = np.where(single, np.nan, pi_high)
            if any_empty:
                pi_low = np.where(empty, np.nan, pi_low)
                pi_high = np.where(empty, np.nan, pi_high)
        return pi_low, pi_high

    pi_pair: list = []  # both limits from one evaluation

    def pi_limit(i):
        if not pi_pair:
            pi_pair.extend(pi_lazy())
        return pi_pair[i]
    empty = k == 0
    any_empty = bool(empty.any())
    out = dict(estimate=est, se=se, ci_low=ci_low, ci_high=ci_high, statistic=stat,
               tau2=tau2, q=q)
    if any_empty:
        for key in out:
            out[key] = np.where(empty, np.nan, out[key])
    # derived outputs, computed on first access (the same values as computing them here)
    out["tau"] = Deferred(lambda: nan_if_empty(np.sqrt(tau2)))
    out["i2"] = Deferred(lambda: i2_h2()[0])
    out["h2"] = Deferred(lambda: i2_h2()[1])
    out["q_df"] = Deferred(lambda: np.maximum(k - 1, 0))
    if use_t is None:
        out["dfs"] = Deferred(np.full, m, np.nan)
        out["s2w"] = Deferred(lambda: nan_if_empty(np.ones(m)))
    else:
        out["dfs"] = Deferred(lambda: nan_if_empty(np.where(use_t, dfr, np.nan)))
        out["s2w"] = Deferred(lambda: nan_if_empty(np.where(use_t, s2w_raw, 1.0)))

    # rarely read outputs, computed on first access (same values as computing them here)
    def p_value_lazy():
        with np.errstate(divide="ignore", invalid="ignore"):
            value = p_value_fn()
            return np.where(empty, np.nan, value) if any_empty else value

    def se_tau2_lazy():
        if method == "EE":
            return np.full(m, np.nan)
        with np.errstate(all="ignore"):
            value = se_tau2() if callable(se_tau2) else se_tau2
            if any_single:
                value = np.where(single, np.nan, value)
            return np.where(empty, np.nan, value) if any_empty else value

    msgs = []
    if any_empty:
        msgs.append(f"{int(empty.sum())} row(s) have no studies; their results are NaN")
    if (~converged).any():
        msgs.append(f"{int((~converged).sum())} row(s) did not converge ({method})")
    return BatchResult(**out, k=k, weight_matrix=wt, present=present, converged=converged,
                       method=method, test=test, level=level, pi_method=pi_method, warnings=msgs,
                       _lazy={"p_value": p_value_lazy, "se_tau2": se_tau2_lazy,
                              "pi_low": lambda: pi_limit(0), "pi_high": lambda: pi_limit(1)})


def _tau2_batch(method, y, v, pres, kf, dfr, w0, sw0, sw0_2, q, trp0, tol, maxiter):
    """Vectorised tau2 estimates, their standard errors and convergence flags."""
    with np.errstate(all="ignore"):
        return _tau2_batch_impl(method, y, v, pres, kf, dfr, w0, sw0, sw0_2, q, trp0, tol, maxiter)


def _tr_psps_fixed(kf, tau2, sw0, sw0_2, sw0_3):
    """tr(P S P S) for P at weights 1/v and S = diag(v + tau2), from power sums of 1/v."""
    sa2 = kf + 2.0 * tau2 * sw0 + tau2 * tau2 * sw0_2
    swa2 = sw0 + 2.0 * tau2 * sw0_2 + tau2 * tau2 * sw0_3
    saw = sw0 + tau2 * sw0_2
    return sa2 - 2.0 * swa2 / sw0 + (saw / sw0) ** 2


def _rows(pres, idx):
    return pres if pres.shape[0] == 1 else pres[idx]


def _tau2_batch_rowwise(method, y, v, pres, kf):
    """GENQM, DLIT and SJIT row by row (root-finding estimators with no power-sum form; the
    same function :func:`trialsynth.pool` uses)."""
    m = y.shape[0]
    tau2, se = np.zeros(m), np.full(m, np.nan)
    for i in range(m):
        if kf[i] < 2:
            continue
        row = _rows(pres, i).astype(bool) if pres.shape[0] > 1 else slice(None)
        tau2[i], se[i] = _estimate_extra(y[i][row], v[i][row], None, method, None)
    return tau2, se, np.ones(m, dtype=bool)


def _boundary_rows(y, v, pres, tau2, q, sw0, reml):
    """Rows whose ML/REML log-likelihood at tau2 = 0 exceeds the interior maximum reached
    (see estimators.boundary_message): a boolean mask."""
    idx = np.flatnonzero(tau2 > 0)
    out = np.zeros(tau2.size, dtype=bool)
    if idx.size == 0:
        return out
    pr = _rows(pres, idx)
    t = tau2[idx]
    s = v[idx] + t[:, None]
    w = pr / s
    sw = _rowsum(w)
    mu = _rowsum(w * y[idx]) / sw
    r = (y[idx] - mu[:, None]) * pr
    logs = np.log(np.where(pr > 0, s, 1.0))
    ll_t = -0.5 * (_rowsum(logs) + _rowsum(w * r * r) + (np.log(sw) if reml else 0.0))
    logv = np.log(np.where(pr > 0, v[idx], 1.0))
    ll_0 = -0.5 * (_rowsum(logv) + q[idx] + (np.log(sw0[idx]) if reml else 0.0))
    out[idx] = ll_0 > ll_t + 1e-10 * np.maximum(1.0, np.abs(ll_t))
    return out


def _tau2_batch_impl(method, y, v, pres, kf, dfr, w0, sw0, sw0_2, q, trp0, tol, maxiter):
    m = y.shape[0]
    converged = np.ones(m, dtype=bool)
    if method == "EE":
        return np.zeros(m), np.full(m, np.nan), converged
    if method in EXTRA_METHODS:
        return _tau2_batch_rowwise(method, y, v, pres, kf)
    if method in ("DL", "GENQ"):
        tau2 = np.maximum(0.0, (q - dfr) / trp0)

        def se():  # evaluated on first access to se_tau2
            sw0_3 = _rowsum(w0 * w0 * w0)
            return np.sqrt(2.0 * _tr_psps_fixed(kf, tau2, sw0, sw0_2, sw0_3)) / trp0

        return tau2, se, converged
    if method == "HE":
        ybar = _rowsum(y * pres) / kf
        r = (y - ybar[:, None]) * pres
        rss = _rowsum(r * r)
        tau2 = np.maximum(0.0, (rss - _rowsum(v * pres) * dfr / kf) / dfr)
        se = np.sqrt(2.0 * _tr_psps(pres, v + tau2[:, None], kf)) / dfr
        return tau2, se, converged
    if method in ("HS", "HSk"):
        factor = kf / dfr if method == "HSk" else np.ones(m)
        tau2 = np.maximum(0.0, (factor * q - kf) / sw0)

        def se():  # evaluated on first access to se_tau2
            sw0_3 = _rowsum(w0 * w0 * w0)
            return factor * np.sqrt(2.0 * _tr_psps_fixed(kf, tau2, sw0, sw0_2, sw0_3)) / sw0

        return tau2, se, converged
    if method == "SJ":
        ybar = _rowsum(y * pres) / kf
        r = (y - ybar[:, None]) * pres
        tau0 = _rowsum(r * r) / kf
        tau0 = np.where(tau0 <= 0, 1e-10, tau0)
        w = pres / (v + tau0[:, None])
        sw = _rowsum(w)
        mu = _rowsum(w * y) / sw
        rr = (y - mu[:, None]) * pres
        tau2 = tau0 * _rowsum(w * rr * rr) / dfr
        se = tau0 / dfr * np.sqrt(2.0 * _tr_psps(w, v + tau2[:, None], sw))
        return tau2, se, converged
    # the iterative estimators from here on: per row, the scale below which a change in tau2
    # is noise (estimators._tau2_floor)
    floor = np.maximum(1e-12, _rowsum(v * pres) / np.maximum(kf, 1.0))
    if method in ("ML", "REML"):
        tau2 = np.maximum(0.0, (q - dfr) / trp0)  # DL start, as in estimate_tau2
        tau2 = np.where(np.isfinite(tau2), tau2, 0.0)
        conv = ~(kf >= 2)
        for it in range(maxiter):
            idx = np.flatnonzero(~conv)
            if idx.size == 0:
                break
            t = tau2[idx]
            pr = _rows(pres, idx)
            w = pr / (v[idx] + t[:, None])
            sw = _rowsum(w)
            sw2 = _rowsum(w * w)
            mu = _rowsum(w * y[idx]) / sw
            r = (y[idx] - mu[:, None]) * pr
            u_quad = _rowsum(w * w * r * r)
            if method == "ML":
                score, info = u_quad - sw, sw2
            else:
                sw3 = _rowsum(w * w * w)
                score = u_quad - (sw - sw2 / sw)
                info = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
            fisher = t + score / info
            # exact Newton step on the score (see estimators._newton_intercept)
            w2r = w * w * r
            d_a = -2.0 * _rowsum(w2r * w * r) + 2.0 * _rowsum(w2r) ** 2 / sw
            dscore = d_a + info
            new = np.where(dscore < 0, t - score / dscore, fisher)
            new = np.where(np.isfinite(new) & (new >= 0), new, fisher)
            new = np.maximum(0.0, new)
            done = (np.abs(new - t) <= tol * np.maximum(new, floor[idx])) | ((t == 0) & (new == 0))
            tau2[idx] = new
            conv[idx[done]] = True
        converged = conv
        tau2 = np.where(_boundary_rows(y, v, pres, tau2, q, sw0, method == "REML"), 0.0, tau2)
        w = pres / (v + tau2[:, None])
        sw = _rowsum(w)
        sw2 = _rowsum(w * w)
        if method == "ML":
            se = np.sqrt(2.0 / sw2)
        else:
            sw3 = _rowsum(w * w * w)
            se = np.sqrt(2.0 / (sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2))
        return tau2, se, converged
    # EB, PM, PMM: Newton on Q(tau2) = target, monotone from 0 for this convex decreasing Q
    if method == "PMM":
        target = np.where(dfr >= 1, special.chdtri(np.maximum(dfr, 1.0), 0.5), np.nan)
    else:
        target = dfr
    tau2 = np.zeros(m)
    conv = ~((kf >= 2) & (q > target))
    for _ in range(maxiter):
        idx = np.flatnonzero(~conv)
        if idx.size == 0:
            break
        t = tau2[idx]
        pr = _rows(pres, idx)
        w = pr / (v[idx] + t[:, None])
        sw = _rowsum(w)
        mu = _rowsum(w * y[idx]) / sw
        r = (y[idx] - mu[:, None]) * pr
        qg = _rowsum(w * r * r)
        deriv = _rowsum(w * w * r * r)
        new = np.maximum(0.0, t + (qg - target[idx]) / deriv)
        done = np.abs(new - t) <= tol * np.maximum(new, floor[idx])
        tau2[idx] = new
        conv[idx[done]] = True
    converged = conv
    w = pres / (v + tau2[:, None])
    se = np.sqrt(2.0 * kf * kf / dfr) / _rowsum(w)
    return tau2, se, converged


__all__ = ["pool_batch", "BatchResult"]
