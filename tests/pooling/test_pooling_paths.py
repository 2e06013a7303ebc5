"""The intercept-only fast path and the general design-matrix path give the same fit, and
pool_batch equals pool on random data with absent studies (property-based)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialsynth.pooling.batch import pool_batch
from trialsynth.pooling.estimators import METHODS
from trialsynth.pooling.fit import fit_model, pool


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", METHODS)
def test_fast_path_equals_general_path(method, test):
    rng = np.random.default_rng(5)
    for k in (2, 3, 7, 30, 80):
        yi = rng.normal(0.2, 0.5, k)
        vi = rng.uniform(0.01, 0.4, k)
        fast = fit_model(yi, vi, None, method=method, test=test)
        general = fit_model(yi, vi, np.ones((k, 1)), method=method, test=test,
                            weights=(1.0 / vi if method == "GENQ" else None))
        for attr in ("b", "se", "ci_low", "ci_high", "p_value", "tau2", "i2", "h2", "q", "s2w"):
            a, b = np.asarray(getattr(fast, attr), float), np.asarray(getattr(general, attr), float)
            assert np.allclose(a, b, rtol=1e-9, atol=1e-12), (k, attr, a, b)
        if fast.se_tau2 is not None:
            assert np.isclose(fast.se_tau2, general.se_tau2, rtol=1e-9)
        assert np.allclose(fast.weights, general.weights, rtol=1e-9)
        for lik in ("ML", "REML"):
            for stat in ("ll", "dev", "AIC", "BIC", "AICc"):
                assert np.isclose(fast.fit_stats[lik][stat], general.fit_stats[lik][stat],
                                  rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    data=st.lists(
        st.lists(st.tuples(st.floats(-3, 3), st.floats(0.001, 2.0)), min_size=1, max_size=9),
        min_size=1, max_size=6),
    method=st.sampled_from(METHODS),
    test=st.sampled_from(["z", "knha", "adhoc"]),
)
def test_batch_equals_pool_property(data, method, test):
    kmax = max(len(row) for row in data)
    Y = np.full((len(data), kmax), np.nan)
    V = np.full((len(data), kmax), np.nan)
    for i, row in enumerate(data):
        Y[i, : len(row)] = [a for a, _ in row]
        V[i, : len(row)] = [b for _, b in row]
    batch = pool_batch(Y, V, method=method, test=test)
    for i, row in enumerate(data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            single = pool([a for a, _ in row], [b for _, b in row], method=method, test=test)
        for attr in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "pi_low", "pi_high"):
            a = float(getattr(single, attr))
            b = float(getattr(batch, attr)[i])
            assert (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-9 + 1e-7 * abs(a), (attr, a, b)
        assert single.tau2 >= 0 and (np.isnan(single.i2) or single.i2 >= 0)
