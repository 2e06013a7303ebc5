"""pool_batch equals pool row by row, including rows with different k and k = 1."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from _pooling_oracle import ORACLE, case_names, load_case, num
from trialsynth.errors import ArgumentError
from trialsynth.pooling.batch import pool_batch
from trialsynth.pooling.estimators import METHODS
from trialsynth.pooling.fit import pool

ATTRS = ("estimate", "se", "ci_low", "ci_high", "statistic", "p_value", "tau2", "se_tau2",
         "tau", "i2", "h2", "q", "q_df", "q_p_value", "k", "pi_low", "pi_high", "dfs", "s2w")


def _rows():
    rows = []
    if ORACLE is not None:
        for case in case_names():
            for block in load_case(case)["measures"].values():
                rows.append((num(block["escalc"]["yi"]), num(block["escalc"]["vi"])))
    rng = np.random.default_rng(20240601)
    for k in (1, 2, 3, 5, 8):
        rows.append((rng.normal(0, 0.4, k), rng.uniform(0.02, 0.3, k)))
    rows.append((np.array([0.1, 0.12, 0.08]), np.array([0.01, 0.02, 0.015])))  # tau2 = 0
    return rows


ROWS = _rows()
KMAX = max(len(y) for y, _ in ROWS)
Y = np.full((len(ROWS), KMAX), np.nan)
V = np.full((len(ROWS), KMAX), np.nan)
for i, (y, v) in enumerate(ROWS):
    Y[i, : len(y)], V[i, : len(v)] = y, v


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_pool(method, test):
    batch = pool_batch(Y, V, method=method, test=test)
    assert len(batch) == len(ROWS)
    fails = []
    for i, (y, v) in enumerate(ROWS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            single = pool(y, v, method=method, test=test)
        for attr in ATTRS:
            ours = getattr(single, attr)
            ours = np.nan if ours is None else float(ours)
            other = float(getattr(batch, attr)[i])
            if np.isnan(ours) and np.isnan(other):
                continue
            if not abs(ours - other) <= 1e-12 + 1e-8 * abs(ours):
                fails.append(f"row {i} (k={len(y)}) {attr}: pool={ours} batch={other}")
        w = batch.weights[i, : len(y)]
        if not np.allclose(w, single.weights, rtol=1e-8, atol=1e-12):
            fails.append(f"row {i} weights")
        assert np.all(np.isnan(batch.weights[i, len(y):]))
        assert bool(batch.converged[i]) == bool(single.converged)
    assert not fails, "\n".join(fails[:20])


def test_batch_frame_and_pi_methods():
    b = pool_batch(Y, V, method="REML", test="knha", pi_method="hts")
    frame = b.to_frame()
    assert list(frame["k"]) == [len(y) for y, _ in ROWS]
    for i, (y, v) in enumerate(ROWS[:5]):
        s = pool(y, v, method="REML", test="knha", pi_method="hts", warn=False)
        assert np.isclose(s.pi_low, b.pi_low[i], rtol=1e-8, equal_nan=True)


def test_batch_sei_and_empty_rows():
    y = np.array([[0.1, 0.3, np.nan], [np.nan, np.nan, np.nan]])
    se = np.array([[0.2, 0.3, np.nan], [np.nan, np.nan, np.nan]])
    b = pool_batch(y, sei=se, method="DL")
    assert b.k.tolist() == [2, 0]
    assert np.isnan(b.estimate[1]) and b.warnings
    s = pool(y[0, :2], sei=se[0, :2], method="DL", warn=False)
    assert np.isclose(b.estimate[0], s.estimate, rtol=1e-12)


def test_batch_bad_input():
    with pytest.raises(ArgumentError, match="shape"):
        pool_batch(np.zeros((2, 3)), np.ones((2, 2)))
    with pytest.raises(ArgumentError, match="same cells"):
        pool_batch(np.array([[0.1, np.nan]]), np.array([[0.1, 0.2]]))
    with pytest.raises(ArgumentError, match="positive"):
        pool_batch(np.array([[0.1, 0.2]]), np.array([[0.1, 0.0]]))
    with pytest.raises(ArgumentError, match="method"):
        pool_batch(np.array([[0.1, 0.2]]), np.array([[0.1, 0.1]]), method="XX")


def _bare_dl(y, v):
    w = 1 / v
    sw = w.sum(1)
    mu = (w * y).sum(1) / sw
    q = (w * (y - mu[:, None]) ** 2).sum(1)
    c = sw - (w * w).sum(1) / sw
    t = np.maximum(0, (q - (y.shape[1] - 1)) / c)
    ws = 1 / (v + t[:, None])
    s = ws.sum(1)
    return (ws * y).sum(1) / s, np.sqrt(1 / s), t


def _best(fn, repeat=15):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def test_batch_dl_speed_within_2x_of_bare_numpy():
    """DL on 10,000 x 10 within 2x of a bare numpy DL formula (best of 15 runs each)."""
    rng = np.random.default_rng(1)
    y = rng.normal(size=(10000, 10))
    v = rng.uniform(0.05, 0.5, size=(10000, 10))
    est, _, tau2 = _bare_dl(y, v)
    b = pool_batch(y, v, method="DL")
    assert np.allclose(b.estimate, est) and np.allclose(b.tau2, tau2)
    bare = _best(lambda: _bare_dl(y, v))
    ours = _best(lambda: pool_batch(y, v, method="DL"))
    assert ours <= 2.0 * bare, f"pool_batch {ours * 1e3:.2f} ms vs bare {bare * 1e3:.2f} ms"
