"""pool_batch's ML/REML iterations converge in few steps on the benchmark's 10,000 data sets.

The benchmark data contain rows that defeated an unguarded secant step (it ran off towards
infinity when the REML maximum is at tau2 = 0, and needed ~1,500 iterations to come back) and
rows whose tau2 creeps towards its value by Fisher steps; both cost the whole batch hundreds of
extra passes. Speed is not tested here; convergence within a small iteration budget and
agreement with the single-fit path are.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def batch_data():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run as bench_run
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(bench_run.SEED)
    bench_run.simulate_meta_analyses(rng, 1, 10)  # the single-fit data set comes first
    return bench_run.simulate_meta_analyses(rng, 10_000, 10)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_iterative_batch_converges_within_50_iterations_and_matches_pool(batch_data, method):
    from trialsynth import pool, pool_batch

    yi, vi = batch_data
    res = pool_batch(yi, vi, method=method, maxiter=50)
    assert res.converged.all()
    rows = [753, 5429, *range(0, 10_000, 250)]  # 753: slow creep; 5429: maximum at tau2 = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in rows:
            fit = pool(yi[row], vi[row], method=method)
            assert res.tau2[row] == pytest.approx(fit.tau2, rel=1e-8, abs=1e-12), row
            assert res.estimate[row] == pytest.approx(fit.estimate, rel=1e-10, abs=1e-12), row
    assert res.tau2[5429] == 0.0
