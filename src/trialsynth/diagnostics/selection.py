r"""The step-function selection model of Vevea & Hedges (1995): the three-parameter model.

Studies may be published more often when their one-sided p-value is small. The
model keeps the random-effects model for the true effects and multiplies each
study's likelihood by a weight that depends only on the interval its p-value
falls in: 1 for :math:`p \le .025` (significant at two-sided .05 in the expected
direction) and :math:`\delta` for :math:`p > .025`. Maximum likelihood over
:math:`\mu, \tau^2, \delta` gives an estimate corrected for that selection, and
the likelihood-ratio test of :math:`\delta = 1` tests for it. With one cut-point
this is the "three-parameter selection model" (3PSM; McShane, Bockenholt &
Hansen 2016; Carter et al. 2019). Reproduces metafor 3.8's
``selmodel(type="stepfun", steps=.025)``.

Hedges, L. V. (1992). Modeling publication selection effects in meta-analysis.
*Statistical Science* 7(2):246-255.
Vevea, J. L. & Hedges, L. V. (1995). A general linear model for estimating effect
size in the presence of publication bias. *Psychometrika* 60(3):419-435.

Likelihood (Vevea & Hedges 1995, with one cut-point). With
:math:`\sigma_i^2 = v_i + \tau^2`, p-value :math:`p_i = 1 - \Phi(y_i/\sqrt{v_i})`
(``alternative="greater"``), interval :math:`j(i)` and weights
:math:`\omega_1 = 1, \omega_2 = \delta`,

.. math:: \ell = \sum_i \Big[\log \omega_{j(i)} + \log \phi\big((y_i-\mu)/\sigma_i\big) - \log\sigma_i
          - \log\big(P_{i1} + \delta\,(1 - P_{i1})\big)\Big],

where :math:`P_{i1} = 1 - \Phi((\sqrt{v_i}\,z_{1-\alpha_1} - \mu)/\sigma_i)` is the
probability, under the model without selection, that study i's p-value is at most
:math:`\alpha_1`. The gradient is analytic; standard errors come from the inverse
of the observed information (the negative Hessian, by central differences of the
gradient), as metafor (which uses numDeriv).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from trialsynth.diagnostics._inputs import small_k_warning, study_arrays
from trialsynth.errors import ArgumentError

__all__ = ["SelectionModelResult", "selection_model"]

_DELTA_MAX = 100.0  # metafor's default upper bound for delta
_ALTERNATIVES = ("greater", "less", "two.sided")


@dataclass
class SelectionModelResult:
    """A step-function selection model fit.

    Attributes
    ----------
    estimate, se, statistic, p_value, ci_low, ci_high : float
        The selection-adjusted average effect mu, with its Wald z test and CI.
    tau2, se_tau2 : float
        Heterogeneity (0 for ``method="EE"``) and its standard error.
    delta, se_delta : float
        The relative likelihood of publication of a study with p > ``step`` (1 = no
        selection) and its standard error.
    lrt, lrt_p_value : float
        Likelihood-ratio test of delta = 1 (1 df) against the model without selection.
    loglik, loglik_unadjusted : float
        Maximised log-likelihoods with and without selection.
    unadjusted_estimate, unadjusted_tau2 : float
        The maximum-likelihood fit without selection.
    counts : tuple of int
        Studies with p <= step and with p > step.
    step, alternative, method : float, str, str
    k : int
    warnings : list of str
    """

    estimate: float
    se: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    tau2: float
    se_tau2: float
    delta: float
    se_delta: float
    lrt: float
    lrt_p_value: float
    loglik: float
    loglik_unadjusted: float
    unadjusted_estimate: float
    unadjusted_tau2: float
    counts: tuple
    step: float
    alternative: str
    method: str
    level: float
    k: int
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "method": f"selection model (step {self.step:g}, {self.alternative})", "estimate": self.estimate,
            "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high, "p_value": self.p_value,
            "tau2": self.tau2, "delta": self.delta, "se_delta": self.se_delta, "lrt": self.lrt,
            "lrt_p_value": self.lrt_p_value, "k": self.k, "n_below": self.counts[0], "n_above": self.counts[1],
        }])


def _one_sided_p(y, se, alternative):
    z = y / se
    if alternative == "greater":
        return stats.norm.sf(z)
    if alternative == "less":
        return stats.norm.cdf(z)
    return 2 * stats.norm.sf(np.abs(z))


class _Likelihood:
    """Log-likelihood of the step-function model and its analytic gradient in (mu, tau2, delta)."""

    def __init__(self, y, v, step, alternative):
        self.y, self.v, self.se = y, v, np.sqrt(v)
        self.alternative = alternative
        p = _one_sided_p(y, self.se, alternative)
        self.above = p > step  # interval 2
        if alternative == "two.sided":
            self.crit = stats.norm.ppf(1 - step / 2)
        else:
            self.crit = stats.norm.ppf(1 - step)

    def _p_below(self, mu, sigma):
        """P(p_i <= step) under no selection and its derivatives in mu and tau2."""
        c = self.crit * self.se
        phi = stats.norm.pdf
        if self.alternative == "greater":
            u = (c - mu) / sigma
            return stats.norm.sf(u), phi(u) / sigma, phi(u) * u / (2 * sigma**2)
        if self.alternative == "less":
            u = (-c - mu) / sigma
            return stats.norm.cdf(u), -phi(u) / sigma, -phi(u) * u / (2 * sigma**2)
        u1, u2 = (c - mu) / sigma, (-c - mu) / sigma
        prob = stats.norm.sf(u1) + stats.norm.cdf(u2)
        return prob, (phi(u1) - phi(u2)) / sigma, (phi(u1) * u1 - phi(u2) * u2) / (2 * sigma**2)

    def value_and_gradient(self, mu, tau2, delta):
        sigma2 = self.v + tau2
        sigma = np.sqrt(sigma2)
        r = self.y - mu
        p1, dp_mu, dp_tau2 = self._p_below(mu, sigma)
        norm = p1 + delta * (1 - p1)
        with np.errstate(divide="ignore"):
            log_w = np.where(self.above, np.log(delta), 0.0)
        ll = float(np.sum(log_w - 0.5 * np.log(2 * np.pi * sigma2) - r**2 / (2 * sigma2) - np.log(norm)))
        g_mu = np.sum(r / sigma2 - (1 - delta) * dp_mu / norm)
        g_tau2 = np.sum(-1 / (2 * sigma2) + r**2 / (2 * sigma2**2) - (1 - delta) * dp_tau2 / norm)
        g_delta = np.sum(np.where(self.above, 1 / delta, 0.0) - (1 - p1) / norm)
        return ll, np.array([g_mu, g_tau2, g_delta])


def _maximise(lik, free, start, bounds):
    """Maximise over the free parameters (a mask over mu, tau2, delta)."""
    fixed = np.asarray(start, float)

    def full(theta):
        x = fixed.copy()
        x[free] = theta
        return x

    def objective(theta):
        ll, grad = lik.value_and_gradient(*full(theta))
        return -ll, -grad[free]

    best = None
    for method in ("L-BFGS-B", "TNC"):
        res = optimize.minimize(objective, fixed[free], jac=True, method=method,
                                bounds=[b for b, f in zip(bounds, free, strict=True) if f],
                                options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-11} if method == "L-BFGS-B" else {"maxfun": 10_000})
        if best is None or res.fun < best.fun - 1e-12:
            best = res
    return full(best.x), -float(best.fun)


def _hessian(lik, x, free):
    """Observed Hessian over the free parameters, by central differences of the gradient."""
    idx = np.flatnonzero(free)
    hess = np.empty((idx.size, idx.size))
    for col, j in enumerate(idx):
        h = 1e-5 * max(1.0, abs(x[j]))
        step = np.zeros(3)
        step[j] = h
        lo = x - step
        if j == 1 and lo[1] < 0:  # tau2 at 0: forward difference
            g1 = lik.value_and_gradient(*(x + step))[1][idx]
            g0 = lik.value_and_gradient(*x)[1][idx]
            hess[:, col] = (g1 - g0) / h
            continue
        g_hi = lik.value_and_gradient(*(x + step))[1][idx]
        g_lo = lik.value_and_gradient(*lo)[1][idx]
        hess[:, col] = (g_hi - g_lo) / (2 * h)
    return (hess + hess.T) / 2


def selection_model(
    yi,
    vi=None,
    *,
    sei=None,
    step: float = 0.025,
    alternative: str = "greater",
    method: str = "ML",
    level: float | None = None,
) -> SelectionModelResult:
    """Fit the Vevea-Hedges step-function selection model with one cut-point.

    Parameters
    ----------
    yi, vi : array-like
        Effects and variances, or a fitted ``MetaResult`` (a common-effect fit,
        ``method="EE"`` or ``"FE"``, gives the common-effect selection model).
    sei : array-like, optional
    step : float
        The cut-point of the one-sided p-values (default .025: significant at
        two-sided .05 in the direction of ``alternative``).
    alternative : {"greater", "less", "two.sided"}
        The direction of the selection: ``"greater"`` favours significant positive
        effects, ``"less"`` negative ones (for a harmful outcome with effects below
        0, such as a log risk ratio of pain, choose ``"less"``).
    method : {"ML", "EE"}
        Random-effects (mu, tau2, delta) or common-effect (mu, delta) model. The fit
        is always maximum likelihood, whatever estimator a fitted result used.
    level : float, optional
        Confidence level in percent (default: the fit's, else 95).

    Returns
    -------
    SelectionModelResult

    Raises
    ------
    ArgumentError
        If no p-value falls on one side of ``step``: delta is then not identified
        (its maximum likelihood estimate is 0 or infinite). metafor 3.8 fits such
        data anyway and returns delta at its bound of 100.
    """
    y, v, _, fit = study_arrays(yi, vi, sei=sei, min_k=3)
    if fit is not None and getattr(fit, "method", None) in ("EE", "FE"):
        method = "EE"
    if method not in ("ML", "EE"):
        raise ArgumentError(f"method: expected 'ML' (random effects) or 'EE' (common effect), got {method!r}")
    if alternative not in _ALTERNATIVES:
        raise ArgumentError(f"alternative: expected one of {', '.join(_ALTERNATIVES)}, got {alternative!r}")
    if not (isinstance(step, int | float) and 0 < step < 1):
        raise ArgumentError(f"step: expected a p-value cut-point in (0, 1), got {step!r}")
    level = float(level if level is not None else getattr(fit, "level", None) or 95.0)
    k = y.size
    lik = _Likelihood(y, v, float(step), alternative)
    counts = (int(np.sum(~lik.above)), int(np.sum(lik.above)))
    if min(counts) == 0:
        side = f"p <= {step:g}" if counts[0] == 0 else f"p > {step:g}"
        raise ArgumentError(
            f"yi: no study has a one-sided ({alternative}) p-value with {side}, so the selection "
            f"weight delta is not identified; the model needs studies on both sides of {step:g}"
        )
    free_tau2 = method == "ML"
    w = 1 / v
    mu0 = float(np.sum(w * y) / np.sum(w))
    bounds = [(None, None), (0.0, None), (1e-10, _DELTA_MAX)]
    # the model without selection (delta = 1), then with it, started from that fit
    null, ll_null = _maximise(lik, np.array([True, free_tau2, False]), [mu0, 0.0 if not free_tau2 else float(np.var(y)), 1.0], bounds)
    x, ll = _maximise(lik, np.array([True, free_tau2, True]), [null[0], null[1], 1.0], bounds)
    free = np.array([True, free_tau2, True])
    info = -_hessian(lik, x, free)
    try:
        cov = np.linalg.inv(info)
        ses = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        ses = np.full(int(free.sum()), np.nan)
    se_mu = float(ses[0])
    se_tau2 = float(ses[1]) if free_tau2 else float("nan")
    se_delta = float(ses[-1])
    crit = stats.norm.ppf(1 - (1 - level / 100) / 2)
    z = x[0] / se_mu
    lrt = max(0.0, 2 * (ll - ll_null))
    notes = []
    small = small_k_warning("The selection model", k)
    if small:
        notes.append(small)
    if x[2] >= _DELTA_MAX * (1 - 1e-6) or x[2] <= 1e-8:
        notes.append(f"delta is at the bound of its range ({x[2]:.4g}); the selection is not estimable from these studies")
    if min(counts) < 4:
        notes.append(
            f"only {min(counts)} p-value(s) fall on one side of {step:g}: delta, and so the adjusted estimate, "
            "rest on them"
        )
    notes.append(
        "the adjusted estimate holds only if selection acts on one-sided p-values as the step function "
        "assumes; read it as a sensitivity analysis (Vevea & Hedges 1995)"
    )
    return SelectionModelResult(
        estimate=float(x[0]), se=se_mu, statistic=float(z), p_value=float(2 * stats.norm.sf(abs(z))),
        ci_low=float(x[0] - crit * se_mu), ci_high=float(x[0] + crit * se_mu), tau2=float(x[1]),
        se_tau2=se_tau2, delta=float(x[2]), se_delta=se_delta, lrt=float(lrt),
        lrt_p_value=float(stats.chi2.sf(lrt, 1)), loglik=ll, loglik_unadjusted=ll_null,
        unadjusted_estimate=float(null[0]), unadjusted_tau2=float(null[1]), counts=counts, step=float(step),
        alternative=alternative, method=method, level=level, k=k, warnings=notes,
    )
