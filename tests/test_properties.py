"""Property-based tests of the engine (issue 8): invariances every meta-analysis must obey.

Each property is a mathematical fact about the estimators, not a stored number:
the pooled result does not depend on the order of the studies; shifting every effect by c
shifts the estimate, CI and PI by c and leaves tau2, Q and I2 alone; the SMD is unchanged when
both arms' means and SDs are rescaled; I2 lies in [0, 100] and tau2 >= 0; the CI contains the
estimate; and the conversions invert each other.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import trialsynth as ts
from trialsynth.effects.conversions import contrast_to_yi_vi, sd_from_se, se_from_ci, smd_from_p, smd_from_t, t_from_p

METHODS = ["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]
TESTS = ["z", "knha"]

studies = st.lists(
    st.tuples(st.floats(-3, 3, allow_nan=False), st.floats(1e-3, 2.0, allow_nan=False)),
    min_size=2, max_size=12,
)


def fit(yi, vi, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.pool(yi, vi, **kw)


def close(a, b, tol=1e-7):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol * (1 + abs(a))


@settings(max_examples=60, deadline=None)
@given(studies, st.sampled_from(METHODS), st.sampled_from(TESTS), st.randoms(use_true_random=False))
def test_order_invariance(data, method, test, rnd):
    yi, vi = map(np.array, zip(*data))
    perm = list(range(len(yi)))
    rnd.shuffle(perm)
    a = fit(yi, vi, method=method, test=test)
    b = fit(yi[perm], vi[perm], method=method, test=test)
    for attr in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "pi_low", "pi_high"):
        assert close(getattr(a, attr), getattr(b, attr)), attr


@settings(max_examples=60, deadline=None)
@given(studies, st.sampled_from(METHODS), st.sampled_from(TESTS), st.floats(-5, 5, allow_nan=False))
def test_shift_equivariance(data, method, test, shift):
    yi, vi = map(np.array, zip(*data))
    a = fit(yi, vi, method=method, test=test)
    b = fit(yi + shift, vi, method=method, test=test)
    for attr in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert close(getattr(a, attr) + shift, getattr(b, attr), 1e-6), attr
    for attr in ("se", "tau2", "i2", "q"):
        assert close(getattr(a, attr), getattr(b, attr), 1e-6), attr


@settings(max_examples=100, deadline=None)
@given(studies, st.sampled_from(METHODS), st.sampled_from(TESTS))
def test_bounds_tau2_i2_and_ci_contains_estimate(data, method, test):
    yi, vi = map(np.array, zip(*data))
    r = fit(yi, vi, method=method, test=test)
    assert r.tau2 >= 0
    assert 0 <= r.i2 <= 100
    assert r.ci_low <= r.estimate <= r.ci_high
    if not math.isnan(r.pi_low):
        assert r.pi_low <= r.ci_low + 1e-12 and r.ci_high <= r.pi_high + 1e-12


arms = st.tuples(
    st.integers(2, 300), st.floats(-50, 50), st.floats(0.1, 30),
    st.integers(2, 300), st.floats(-50, 50), st.floats(0.1, 30),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(arms, min_size=1, max_size=6), st.floats(0.01, 100), st.floats(-100, 100))
def test_smd_is_invariant_to_a_change_of_units(rows, scale, offset):
    n1, m1, s1, n2, m2, s2 = map(np.array, zip(*rows))
    a = ts.effect_sizes("SMD", n1=n1, mean1=m1, sd1=s1, n2=n2, mean2=m2, sd2=s2)
    b = ts.effect_sizes("SMD", n1=n1, mean1=m1 * scale + offset, sd1=s1 * scale,
                        n2=n2, mean2=m2 * scale + offset, sd2=s2 * scale)
    np.testing.assert_allclose(a.yi, b.yi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.vi, b.vi, rtol=1e-9, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.floats(-10, 10), st.floats(0.01, 10), st.sampled_from(["MD", "SMD"]))
def test_contrast_ci_round_trips_to_its_se(effect, se, measure):
    z = 1.959963984540054
    out = contrast_to_yi_vi(effect, ci_low=effect - z * se, ci_high=effect + z * se, measure=measure)
    np.testing.assert_allclose(out["yi"], effect, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.sqrt(out["vi"]), se, rtol=1e-9)
    np.testing.assert_allclose(se_from_ci(effect - z * se, effect + z * se), se, rtol=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 20), st.integers(2, 500))
def test_sd_from_se_inverts_se_of_a_mean(sd, n):
    np.testing.assert_allclose(sd_from_se(sd / math.sqrt(n), n), sd, rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.05, 6), st.integers(3, 200), st.integers(3, 200))
def test_p_value_and_t_statistic_give_the_same_smd(t, n1, n2):
    from scipy import stats

    p = 2 * stats.t.sf(t, n1 + n2 - 2)
    np.testing.assert_allclose(t_from_p(p, n1 + n2 - 2), t, rtol=1e-6)
    from_t = smd_from_t(t, n1, n2)
    from_p = smd_from_p(p, n1, n2, sign=1)
    np.testing.assert_allclose(from_p["yi"], from_t["yi"], rtol=1e-6)
    np.testing.assert_allclose(from_p["vi"], from_t["vi"], rtol=1e-6)
