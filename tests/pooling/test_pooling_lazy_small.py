"""The small-k (Python floats) estimators equal the numpy ones, and the lazily computed
fields of a fit (percent weights, information criteria) read, copy and pickle exactly as
eagerly computed ones."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.pooling._lazy import Deferred, LazyField
from trialsynth.pooling.estimators import (
    METHODS,
    SMALL_K,
    _estimate_intercept,
    _estimate_intercept_small,
)
from trialsynth.pooling.fit import fit_model, likelihood_stats, pool, validate_inputs


@pytest.mark.parametrize("method", [m for m in METHODS if m != "EE"])
def test_small_k_estimators_equal_numpy_estimators(method):
    rng = np.random.default_rng(11)
    for k in (2, 3, 5, 10, 25, SMALL_K):
        for tau2_true in (0.0, 0.05, 0.5):
            yi = rng.normal(0.1, np.sqrt(tau2_true + 0.05), k)
            vi = rng.uniform(0.005, 0.3, k)
            small = _estimate_intercept_small(yi.tolist(), vi.tolist(), method, 1e-12, 10000, None)
            large = _estimate_intercept(yi, vi, method, 1e-12, 10000, None)
            assert small[2] == large[2]  # converged
            assert np.isclose(small[0], large[0], rtol=1e-9, atol=1e-13), (k, small, large)
            assert np.isclose(small[1], float(large[1]), rtol=1e-9, atol=1e-13), (k, small, large)


def test_lazy_fields_equal_eager_values():
    rng = np.random.default_rng(3)
    yi = rng.normal(0.3, 0.3, 10)
    vi = rng.uniform(0.01, 0.2, 10)
    res = pool(yi, vi, method="REML")
    # not evaluated before the first read
    assert type(LazyField.raw(res, "weights")) is Deferred
    assert type(LazyField.raw(res, "fit_stats")) is Deferred
    w = 1.0 / (vi + res.tau2)
    np.testing.assert_array_equal(res.weights, 100.0 * w / w.sum())
    assert res.weights is res.weights  # evaluated once, then cached
    eager = likelihood_stats(yi, vi, np.ones((10, 1)), res.tau2, b=np.array([res.estimate]))
    for lik in ("ML", "REML"):
        for stat in ("ll", "dev", "AIC", "BIC", "AICc"):
            assert np.isclose(res.fit_stats[lik][stat], eager[lik][stat], rtol=1e-12)


def test_lazy_results_pickle_copy_and_compare():
    yi, vi = [0.1, 0.4, -0.2, 0.3, 0.25], [0.02, 0.05, 0.04, 0.03, 0.06]
    res = pool(yi, vi, method="DL")
    clone = pickle.loads(pickle.dumps(res))  # before any lazy field was read
    np.testing.assert_array_equal(clone.weights, res.weights)
    assert clone.fit_stats == res.fit_stats
    deep = copy.deepcopy(pool(yi, vi, method="DL"))
    np.testing.assert_array_equal(deep.weights, res.weights)
    assert repr(res).startswith("MetaResult(")
    fit = fit_model(np.asarray(yi), np.asarray(vi), method="REML")
    assert set(fit.fit_stats) == {"ML", "REML"}
    assert np.isclose(fit.weights.sum(), 100.0)


def test_genq_lazy_weights_are_inverse_variance():
    yi, vi = np.array([0.1, 0.4, -0.2, 0.3]), np.array([0.02, 0.05, 0.04, 0.03])
    res = pool(yi, vi, method="GENQ")
    np.testing.assert_array_equal(res.weights, 100.0 * (1.0 / vi) / (1.0 / vi).sum())


@pytest.mark.parametrize("k", [5, SMALL_K + 5])
def test_validation_messages_on_both_paths(k):
    yi = np.linspace(-0.5, 0.5, k)
    vi = np.full(k, 0.04)
    bad = yi.copy()
    bad[2] = np.nan
    with pytest.raises(ArgumentError, match=r"yi must be finite; missing or infinite at positions \[2\]"):
        pool(bad, vi)
    badv = vi.copy()
    badv[1] = np.inf
    with pytest.raises(ArgumentError, match=r"vi must be finite; missing or infinite at positions \[1\]"):
        pool(yi, badv)
    badv = vi.copy()
    badv[3] = 0.0
    with pytest.raises(ArgumentError, match=r"zero or negative at positions \[3\]"):
        pool(yi, badv)
    # finite values whose sum overflows are still accepted by the validation
    huge = np.full(k, 1e308)
    y, v = validate_inputs(huge, huge)
    assert y.size == v.size == k
