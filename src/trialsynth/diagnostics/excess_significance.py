"""The test of excess significance (Ioannidis & Trikalinos 2007).

Are there more statistically significant studies than their power allows? Each
study's Wald test is repeated, its power at a plausible true effect is computed,
and the observed number of significant studies O is compared with the expected
number E = sum(power). Reproduces metafor 3.8's ``tes``.

Ioannidis, J. P. A. & Trikalinos, T. A. (2007). An exploratory test for an excess
of significant findings. *Clinical Trials* 4(3):245-253.
Francis, G. (2013). Replication, statistical consistency, and publication bias.
*J Math Psychol* 57(5):153-169 (the exact test).

An excess of significant results can come from publication bias, selective
reporting or analysis, or from heterogeneity that the assumed true effect does not
capture; the test is exploratory and its power is low with few studies
(Ioannidis & Trikalinos 2007).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import comb, ndtr

from trialsynth.diagnostics._inputs import small_k_warning, study_arrays
from trialsynth.errors import ArgumentError

__all__ = ["ExcessSignificanceResult", "excess_significance_test"]

_ALTERNATIVES = ("two.sided", "greater", "less")
_TESTS = ("chi2", "binom", "exact")
_EXACT_MAX_TERMS = 10**6  # metafor's rule for choosing the exact test by default


@dataclass
class ExcessSignificanceResult:
    """Test of excess significance.

    Attributes
    ----------
    k, observed, expected : int, int, float
        Studies, observed number of significant tests O, expected number E.
    ratio : float
        O/E.
    test : {"chi2", "binom", "exact"}
    p_value : float
        Of the test that O exceeds E (``tes_alternative="greater"``), falls short of it
        (``"less"``) or differs from it (``"two.sided"``).
    power : ndarray
        Each study's power at ``theta`` (averaged over N(theta, tau2) if tau2 > 0).
    significant : ndarray of bool
        Which studies' own tests are significant.
    theta, tau2 : float
        The true effect (and heterogeneity) the power is computed at.
    theta_limit : float or tuple or None
        The value of theta at which the p-value equals ``tes_alpha`` (two values for a
        two-sided test), None where no such value exists.
    warnings : list of str
    """

    k: int
    observed: int
    expected: float
    ratio: float
    test: str
    p_value: float
    power: np.ndarray
    significant: np.ndarray
    theta: float
    tau2: float
    theta_limit: float | tuple | None
    alternative: str
    tes_alternative: str
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "method": "excess significance", "k": self.k, "observed": self.observed,
            "expected": self.expected, "ratio": self.ratio, "test": self.test, "p_value": self.p_value,
            "theta": self.theta, "tau2": self.tau2,
        }])


def _power(theta, tau2, se, h0, alpha, alternative):
    """Power of each study's Wald test at true effect theta (expected power over N(theta, tau2))."""
    sd = np.sqrt(se**2 + tau2)
    if alternative == "two.sided":
        crit = stats.norm.ppf(1 - alpha / 2)
        return ndtr((theta - h0 - crit * se) / sd) + ndtr((h0 - crit * se - theta) / sd)
    crit = stats.norm.ppf(1 - alpha)
    if alternative == "greater":
        return ndtr((theta - h0 - crit * se) / sd)
    return ndtr((h0 - crit * se - theta) / sd)


def _poisson_binomial(p: np.ndarray) -> np.ndarray:
    """P(X = j), j = 0..k, for a sum of independent Bernoulli(p_i), by convolution."""
    dist = np.array([1.0])
    for pi in p:
        dist = np.concatenate([dist * (1 - pi), [0.0]]) + np.concatenate([[0.0], dist * pi])
    return dist


def _two_sided_from_pmf(pmf: np.ndarray, observed: int) -> float:
    """Sum of the probabilities of outcomes no more likely than the observed one
    (the usual two-sided exact rule, with a relative tolerance of 1e-7)."""
    return float(min(1.0, pmf[pmf <= pmf[observed] * (1 + 1e-7)].sum()))


def _p_value(observed, power, test, tes_alternative):
    k = power.size
    expected = np.float64(power.sum())
    if test == "chi2":
        diff = observed - expected
        with np.errstate(divide="ignore", invalid="ignore"):
            a = diff**2 / expected + diff**2 / (k - expected)  # inf when E is 0 or k
        p_two = float(stats.chi2.sf(a, 1)) if np.isfinite(a) else 0.0
        if tes_alternative == "two.sided":
            return p_two
        above = observed > expected if tes_alternative == "greater" else observed < expected
        return p_two / 2 if above else 1 - p_two / 2
    if test == "binom":
        pmf = stats.binom.pmf(np.arange(k + 1), k, expected / k)
    else:
        pmf = _poisson_binomial(power)
    if tes_alternative == "greater":
        return float(min(1.0, pmf[observed:].sum()))
    if tes_alternative == "less":
        return float(min(1.0, pmf[: observed + 1].sum()))
    return _two_sided_from_pmf(pmf, observed)


def _default_test(k, observed, tes_alternative):
    """Exact when its sum has at most 10^6 terms, else chi-square (metafor's rule)."""
    j = np.arange(k + 1)
    if tes_alternative == "greater":
        terms = comb(k, j[j >= observed]).sum()
    elif tes_alternative == "less":
        terms = comb(k, j[j <= observed]).sum()
    else:
        terms = comb(k, j).sum()
    return "exact" if terms <= _EXACT_MAX_TERMS else "chi2"


def excess_significance_test(
    yi,
    vi=None,
    *,
    sei=None,
    h0: float = 0.0,
    alternative: str = "two.sided",
    alpha: float = 0.05,
    theta: float | None = None,
    tau2: float | None = None,
    test: str | None = None,
    tes_alternative: str = "greater",
    tes_alpha: float = 0.10,
) -> ExcessSignificanceResult:
    r"""Ioannidis & Trikalinos' (2007) test of excess significance.

    Each study is tested with :math:`z_i = (y_i - H_0)/\sqrt{v_i}` at level ``alpha``
    (``alternative`` sets the sidedness); O is the number significant. Its power at
    the true effect :math:`\theta` is :math:`1-\beta_i`, averaged over
    :math:`N(\theta, \tau^2)` when :math:`\tau^2 > 0`: for a two-sided test
    :math:`1 - \Phi((H_0 + c s_i - \theta)/\sigma_i) + \Phi((H_0 - c s_i - \theta)/\sigma_i)`
    with :math:`s_i = \sqrt{v_i}`, :math:`\sigma_i = \sqrt{v_i + \tau^2}`,
    :math:`c = z_{1-\alpha/2}`. E = sum of the powers. The tests of O against E:

    ``"chi2"``
        :math:`A = (O-E)^2/E + (O-E)^2/(k-E)` on 1 df (Ioannidis & Trikalinos
        2007); one-sided p-values halve the upper tail;
    ``"binom"``
        O ~ Binomial(k, E/k) (Ioannidis & Trikalinos 2007);
    ``"exact"``
        O ~ the Poisson-binomial distribution of independent Bernoulli(power_i)
        (Francis 2013), computed by convolution. By default the exact test is used
        when the sum it needs has at most 10^6 terms and chi-square otherwise
        (metafor's rule; our convolution is exact at any k).

    ``theta_limit`` solves p(theta) = ``tes_alpha`` for theta (the "limit estimate"
    of Ioannidis & Trikalinos 2007): the true effect below which the excess would
    be significant at ``tes_alpha``.

    Parameters
    ----------
    yi, vi : array-like
        Effects and variances, or a fitted ``MetaResult`` (then theta and tau2 are its
        estimate and tau2 unless given).
    h0 : float
        The null value of each study's test.
    alternative : {"two.sided", "greater", "less"}
        Sidedness of each study's test.
    alpha : float
        Level of each study's test.
    theta, tau2 : float, optional
        The true effect and heterogeneity for the power (defaults: the common-effect
        estimate and 0, or the fitted result's).
    test : {"chi2", "binom", "exact"}, optional
    tes_alternative : {"greater", "less", "two.sided"}
    tes_alpha : float
        Level defining ``theta_limit``.

    Returns
    -------
    ExcessSignificanceResult
    """
    y, v, _, fit = study_arrays(yi, vi, sei=sei, min_k=1)
    for name, value, options in (("alternative", alternative, _ALTERNATIVES),
                                 ("tes_alternative", tes_alternative, _ALTERNATIVES)):
        if value not in options:
            raise ArgumentError(f"{name}: expected one of {', '.join(options)}, got {value!r}")
    if test is not None and test not in _TESTS:
        raise ArgumentError(f"test: expected one of {', '.join(_TESTS)}, got {test!r}")
    for name, value in (("alpha", alpha), ("tes_alpha", tes_alpha)):
        if not (isinstance(value, int | float) and 0 < value < 1):
            raise ArgumentError(f"{name}: expected a level in (0, 1), got {value!r}")
    k = y.size
    se = np.sqrt(v)
    if theta is None:
        theta = float(fit.estimate) if fit is not None else float(np.sum(y / v) / np.sum(1 / v))
    if tau2 is None:
        tau2 = float(getattr(fit, "tau2", 0.0) or 0.0) if fit is not None else 0.0
    if not (math.isfinite(tau2) and tau2 >= 0):
        raise ArgumentError(f"tau2: expected a heterogeneity variance >= 0, got {tau2!r}")
    z = (y - h0) / se
    if alternative == "two.sided":
        significant = np.abs(z) >= stats.norm.ppf(1 - alpha / 2)
    elif alternative == "greater":
        significant = z >= stats.norm.ppf(1 - alpha)
    else:
        significant = z <= stats.norm.ppf(alpha)
    observed = int(significant.sum())
    if test is None:
        test = _default_test(k, observed, tes_alternative)
    power = _power(theta, tau2, se, h0, alpha, alternative)
    expected = float(power.sum())
    p = _p_value(observed, power, test, tes_alternative)

    direction = {"greater": 1.0, "less": -1.0}.get(alternative, 1.0 if theta >= h0 else -1.0)
    if tes_alternative == "two.sided":
        # one limit from each one-sided test at tes_alpha/2 (for chi-square these are the
        # roots of the two-sided p-value too)
        limits = tuple(
            _theta_limit(observed, tau2, se, h0, alpha, alternative, test, side, tes_alpha / 2, direction)
            for side in ("greater", "less")
        )
        limit = None if all(x is None for x in limits) else limits
    else:
        limit = _theta_limit(observed, tau2, se, h0, alpha, alternative, test, tes_alternative, tes_alpha, direction)
    notes = []
    small = small_k_warning("The test of excess significance", k)
    if small:
        notes.append(small)
    notes.append(
        "an excess of significant studies can reflect publication or reporting bias, or heterogeneity "
        "that theta does not capture; the test is exploratory (Ioannidis & Trikalinos 2007)"
    )
    return ExcessSignificanceResult(
        k=k, observed=observed, expected=expected, ratio=observed / expected if expected > 0 else math.inf,
        test=test, p_value=p, power=power, significant=significant, theta=float(theta), tau2=float(tau2),
        theta_limit=limit, alternative=alternative, tes_alternative=tes_alternative, warnings=notes,
    )


def _theta_limit(observed, tau2, se, h0, alpha, alternative, test, tes_alternative, level, direction):
    """The theta at which the p-value of the test equals ``level``, searched from H0 in
    ``direction`` (upwards for studies tested one-sided "greater", downwards for "less",
    towards the estimate for two-sided tests), or None if there is none.

    Along that direction every study's power grows, so the p-value of a one-sided test of
    O against E is monotone: the root is bracketed by doubling steps, then refined."""

    def gap(t):
        return _p_value(observed, _power(t, tau2, se, h0, alpha, alternative), test, tes_alternative) - level

    start = gap(h0)
    if start == 0:
        return float(h0)
    step = 1e-3 * float(np.max(se))
    low, high = h0, h0 + direction * step
    for _ in range(80):
        value = gap(high)
        if value == 0:
            return float(high)
        if value * start < 0:
            return float(optimize.brentq(gap, min(low, high), max(low, high), xtol=1e-12, rtol=1e-12))
        if abs(high - h0) > 1e3 * float(np.max(se)):
            break
        low, step = high, step * 2
        high = low + direction * step
    return None
