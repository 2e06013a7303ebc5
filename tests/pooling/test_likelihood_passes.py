"""ML/REML for an intercept-only model with k > 64: the one-pass series root finder.

`estimators._likelihood_root_intercept` evaluates the power sums of the weights once and
solves the score equation on their binomial series (Viechtbauer 2005, eqs. 9 and 11), making
another pass only when its error bound does not put the root within the tolerance.  These
tests check it against an independent root of the score written directly from the formulas
(Brent's method on the O(k) sums at each tau2), the series against direct sums, and that the
bound holds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from trialsynth import pool
from trialsynth.pooling import estimators as E


def _score(yi, vi, tau2, method):
    w = 1.0 / (vi + tau2)
    sw = w.sum()
    r = yi - (w @ yi) / sw
    a = np.sum(w * w * r * r)
    if method == "ML":
        return a - sw
    return a - (sw - np.sum(w * w) / sw)


def _direct_fit(yi, vi, method):
    """tau2 by Brent's method on the score (0 when the score at 0 is <= 0 and the score has
    no positive root), and the quantities pool reports at it, from direct sums."""
    if _score(yi, vi, 0.0, method) <= 0:
        tau2 = 0.0
    else:
        hi = max(float(np.var(yi)), 1e-8)
        while _score(yi, vi, hi, method) > 0:
            hi *= 2.0
        tau2 = optimize.brentq(lambda t: _score(yi, vi, t, method), 0.0, hi, xtol=1e-300,
                               rtol=4 * np.finfo(float).eps, maxiter=500)
    w = 1.0 / (vi + tau2)
    sw = w.sum()
    mu = (w @ yi) / sw
    sw2, sw3 = np.sum(w * w), np.sum(w ** 3)
    info = sw2 if method == "ML" else sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
    s2w = np.sum(w * (yi - mu) ** 2) / (yi.size - 1)
    return {"tau2": tau2, "estimate": mu, "se_knha": math.sqrt(s2w / sw),
            "se_tau2": math.sqrt(2.0 / info), "s2w": s2w}


def _data(kind, k, seed):
    rng = np.random.default_rng(seed)
    if kind == "trials":  # the benchmark's mean differences (arm sizes 10-200, tau2 = 0.05)
        n1, n2 = rng.integers(10, 201, k), rng.integers(10, 201, k)
        vi = 1.0 / n1 + 1.0 / n2
        return 0.3 + rng.normal(0, math.sqrt(0.05), k) + rng.normal(0, np.sqrt(vi)), vi
    if kind == "spread":  # variances over three orders of magnitude, small tau2
        vi = np.exp(rng.normal(-3.0, 1.5, k))
        return rng.normal(0.001, np.sqrt(vi + 0.0005)), vi
    if kind == "homogeneous":  # no heterogeneity: the maximum is often at tau2 = 0
        vi = rng.uniform(0.02, 0.3, k)
        return rng.normal(-0.2, np.sqrt(vi)), vi
    if kind == "wide":  # tau2 large against the variances
        vi = rng.uniform(0.001, 0.01, k)
        return rng.normal(1.0, np.sqrt(vi + 2.0)), vi
    raise ValueError(kind)


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("kind", ["trials", "spread", "homogeneous", "wide"])
@pytest.mark.parametrize("k", [65, 400, 20_000, 250_000])
def test_matches_an_independent_root_of_the_score(method, kind, k):
    yi, vi = _data(kind, k, seed=k + len(kind))
    ref = _direct_fit(yi, vi, method)
    res = pool(yi, vi, method=method, test="knha", warn=False)
    assert res.converged
    if ref["tau2"] == 0.0:
        assert res.tau2 == 0.0
    else:
        assert res.tau2 == pytest.approx(ref["tau2"], rel=1e-10)
    assert res.estimate == pytest.approx(ref["estimate"], rel=1e-10, abs=1e-13)
    assert res.se == pytest.approx(ref["se_knha"], rel=1e-10)
    assert res.se_tau2 == pytest.approx(ref["se_tau2"], rel=1e-10)
    assert res.s2w == pytest.approx(ref["s2w"], rel=1e-10)


@pytest.mark.parametrize("k, n_sets", [(10_000, 20), (300_000, 2)])
def test_one_pass_from_the_dl_start_on_trial_data(k, n_sets):
    """The point of the series: from the DL start, one pass over the data gives the REML
    root to the tolerance (three Newton passes plus one for the final sums before)."""
    for seed in range(n_sets):
        yi, vi = _data("trials", k, seed=seed)
        assert pool(yi, vi, method="REML").iterations == 1


def test_a_far_start_takes_more_passes_and_reaches_the_same_root():
    yi, vi = _data("trials", 5_000, seed=3)
    near = pool(yi, vi, method="REML")
    for start in (0.0, 100 * near.tau2):
        far = pool(yi, vi, method="REML", tau2_init=start)
        assert far.iterations > 1
        assert far.tau2 == pytest.approx(near.tau2, rel=1e-11)
        assert far.se_tau2 == pytest.approx(near.se_tau2, rel=1e-10)


@pytest.mark.parametrize("order", [6, 8])
def test_series_sums_within_their_bound(order):
    yi, vi = _data("spread", 3_000, seed=7)
    mu0 = (yi / vi).sum() / (1 / vi).sum()
    yc = yi - mu0
    Y = np.vstack([np.ones_like(yc), yc, yc * yc])
    t0 = 0.01
    M = E._weight_moments(Y, vi, t0, order)
    terms = E._series_terms(M, order)
    wmax = 1.0 / (vi.min() + t0)
    for d in (0.0, 1e-4 / wmax, -0.01 / wmax, 0.2 / wmax):
        S = E._moments_at(terms, d)
        w = 1.0 / (vi + t0 + d)
        direct = [(np.sum(w ** m), np.sum(w ** m * yc), np.sum(w ** m * yc * yc))
                  for m in (1, 2, 3)]
        if d == 0.0:
            np.testing.assert_allclose(S, direct, rtol=1e-13)
            continue
        _, errs = E._score_error_bound(S, M, d, wmax, "REML", order)
        ea1, ea2, ea3, eb1, ec1 = errs
        slack = 1e-13  # rounding of the sums themselves
        assert abs(S[0][0] - direct[0][0]) <= ea1 + slack * direct[0][0]
        assert abs(S[1][0] - direct[1][0]) <= ea2 + slack * direct[1][0]
        assert abs(S[2][0] - direct[2][0]) <= ea3 + slack * direct[2][0]
        assert abs(S[0][1] - direct[0][1]) <= eb1 + slack * math.sqrt(direct[0][0] * direct[0][2])
        assert abs(S[0][2] - direct[0][2]) <= ec1 + slack * direct[0][2]
        # and the series is not exact away from 0 at these orders: the bound is needed
        if abs(d) * wmax > 0.1:
            assert abs(S[2][0] - direct[2][0]) > 1e-12 * direct[2][0]
