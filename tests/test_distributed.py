"""Dask paths (GOSH by integer ranges, coverage simulation) give the local path's results exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialsynth.diagnostics.distributed import gosh_distributed, subset_masks
from trialsynth.errors import ArgumentError
from trialsynth.pooling.distributed import run_chunks
from trialsynth.simulation import coverage_study, simulate_mean_differences

distributed = pytest.importorskip("distributed")  # dask[distributed] is in the bench extra


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            yield c


def _studies(k, seed=3):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.1, k)
    yi = rng.normal(0.3, np.sqrt(0.05 + vi))
    return yi, vi


# ------------------------------------------------------------------ chunk runner


def _square_plus(x, *, offset):
    return x * x + offset


def test_run_chunks_keeps_chunk_order_on_every_executor(client):
    chunks = [(i,) for i in range(20)]
    expected = [i * i + 0.5 for i in range(20)]
    assert run_chunks(_square_plus, chunks, progress=False, offset=0.5) == expected
    assert run_chunks(_square_plus, chunks, progress=False, workers=1, offset=0.5) == expected
    assert run_chunks(_square_plus, chunks, client=client, progress=False, offset=0.5) == expected


def test_run_chunks_rejects_a_non_client():
    with pytest.raises(ArgumentError, match="client"):
        run_chunks(_square_plus, [(1,)], client="tcp://scheduler:8786", offset=0)


# ------------------------------------------------------------------ GOSH


def test_subset_masks_are_the_bits_of_the_subset_number():
    masks = subset_masks(np.array([1, 2, 5, 2**4 - 1]), 4)
    assert masks.tolist() == [
        [True, False, False, False],
        [False, True, False, False],
        [True, False, True, False],
        [True, True, True, True],
    ]


@pytest.mark.filterwarnings("ignore:only two studies")
def test_gosh_every_subset_once_and_each_row_is_that_subsets_pool_fit():
    from trialsynth import pool

    yi, vi = _studies(7)
    table = gosh_distributed(yi, vi, method="REML", chunk_size=19, progress=False)
    assert table["subset"].tolist() == list(range(1, 2**7))
    masks = subset_masks(table["subset"].to_numpy(), 7)
    assert (table["k"].to_numpy() == masks.sum(axis=1)).all()
    for row in (2, 50, 126):  # a 2-study, a 3-study and the full subset (k = 7)
        mask = masks[row]
        fit = pool(yi[mask], vi[mask], method="REML")
        assert table["estimate"].iloc[row] == pytest.approx(fit.estimate, rel=1e-6, abs=1e-9)
        assert table["i2"].iloc[row] == pytest.approx(fit.i2, rel=1e-6, abs=1e-6)
        assert table["tau2"].iloc[row] == pytest.approx(fit.tau2, rel=1e-5, abs=1e-8)


def test_gosh_local_path_does_not_depend_on_chunking_or_threads():
    yi, vi = _studies(10)
    one = gosh_distributed(yi, vi, method="DL", chunk_size=1 << 16, workers=1, progress=False)
    many = gosh_distributed(yi, vi, method="DL", chunk_size=100, workers=2, progress=False)
    pd.testing.assert_frame_equal(one, many, check_exact=True)


def test_gosh_on_a_cluster_is_identical_to_the_local_path(client):
    yi, vi = _studies(12)
    local = gosh_distributed(yi, vi, method="REML", chunk_size=500, progress=False)
    remote = gosh_distributed(yi, vi, method="REML", chunk_size=500, client=client, progress=False)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert len(local) == 2**12 - 1


def test_gosh_random_sample_is_seeded_and_identical_on_a_cluster(client):
    yi, vi = _studies(24)  # 16.7 million subsets: only a sample is fitted
    local = gosh_distributed(yi, vi, method="DL", max_subsets=3000, chunk_size=700, seed=5, progress=False)
    remote = gosh_distributed(yi, vi, method="DL", max_subsets=3000, chunk_size=700, seed=5, client=client,
                              progress=False)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert len(local) == 3000 and local.attrs["sampled"]
    assert local["subset"].between(1, 2**24 - 1).all()
    other = gosh_distributed(yi, vi, method="DL", max_subsets=3000, chunk_size=700, seed=6, progress=False)
    assert not np.array_equal(other["subset"], local["subset"])


def test_gosh_rejects_bad_input():
    yi, vi = _studies(5)
    with pytest.raises(ArgumentError, match="vi"):
        gosh_distributed(yi, -vi, progress=False)
    with pytest.raises(ArgumentError, match="yi, vi"):
        gosh_distributed(yi, vi[:3], progress=False)
    with pytest.raises(ArgumentError, match="max_subsets"):
        gosh_distributed(*_studies(31), progress=False)
    with pytest.raises(ArgumentError, match="chunk_size"):
        gosh_distributed(yi, vi, chunk_size=0, progress=False)


# ------------------------------------------------------------------ coverage simulation


def test_simulated_data_follow_the_model():
    rng = np.random.default_rng(11)
    yi, vi = simulate_mean_differences(rng, 20_000, 2, tau2=0.1, size_range=(50, 50), mu=0.4)
    # E[y] = mu; Var[y] = tau2 + 2/50 for arms of 50; E[v] = 2/50 (unbiased sample variances)
    assert yi.mean() == pytest.approx(0.4, abs=0.01)
    assert yi.var() == pytest.approx(0.1 + 0.04, rel=0.03)
    assert vi.mean() == pytest.approx(0.04, rel=0.01)


GRID = dict(k=(3, 8), tau2=(0.0, 0.1), study_sizes=[(20, 60)], n_sim=600, chunk_size=250, seed=99)


def test_coverage_on_a_cluster_is_identical_to_the_local_path(client):
    local = coverage_study(**GRID, methods=("REML", "DL"), progress=False)
    remote = coverage_study(**GRID, methods=("REML", "DL"), client=client, progress=False)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert len(local) == 2 * 2 * 1 * 2 * 3  # k x tau2 x sizes x methods x intervals
    assert (local["n_valid"] == 600).all()
    again = coverage_study(**GRID, methods=("REML", "DL"), progress=False, workers=1)
    pd.testing.assert_frame_equal(local, again, check_exact=True)


def test_coverage_reproduces_the_known_pattern():
    """IntHout et al. (2014): with few studies and heterogeneity the z interval under-covers and
    HKSJ stays near nominal; without heterogeneity both cover at least about nominally."""
    table = coverage_study(k=(4,), tau2=(0.0, 0.2), study_sizes=[(20, 100)], n_sim=4000, seed=1,
                           methods=("REML",), intervals=("z", "knha", "pi"), progress=False)
    cov = table.set_index(["tau2", "interval"])["coverage"]
    se = table.set_index(["tau2", "interval"])["mc_se"]
    assert cov[(0.2, "z")] < 0.92  # clearly below 95%
    assert abs(cov[(0.2, "knha")] - 0.95) < 4 * se[(0.2, "knha")] + 0.01
    assert cov[(0.2, "knha")] > cov[(0.2, "z")] + 4 * se[(0.2, "z")]
    assert cov[(0.0, "z")] > 0.93 and cov[(0.0, "knha")] > 0.93
    assert (table["mean_width"] > 0).all()


def test_coverage_rejects_bad_grids():
    with pytest.raises(ArgumentError, match="k"):
        coverage_study(k=(1, 5), n_sim=10, progress=False)
    with pytest.raises(ArgumentError, match="tau2"):
        coverage_study(tau2=(-0.1,), n_sim=10, progress=False)
    with pytest.raises(ArgumentError, match="study_sizes"):
        coverage_study(study_sizes=[(50, 10)], n_sim=10, progress=False)
    with pytest.raises(ArgumentError, match="intervals"):
        coverage_study(intervals=("wald",), n_sim=10, progress=False)
    with pytest.raises(ArgumentError, match="n_sim"):
        coverage_study(n_sim=0, progress=False)


def test_plot_coverage_draws_one_panel_per_interval():
    from trialsynth.simulation import plot_coverage

    table = coverage_study(k=(3, 6), tau2=(0.0, 0.1), n_sim=50, seed=2, progress=False)
    fig = plot_coverage(table)
    axes = fig.get_axes()
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["CI, z test", "CI, Hartung-Knapp (HKSJ)", "Prediction interval (z fit)"]
    with pytest.raises(ArgumentError, match="frame"):
        plot_coverage(table.drop(columns="coverage"))


@pytest.mark.slow
def test_process_cluster_is_bit_identical_to_the_local_path():
    """Dask's worker processes run BLAS on one thread; the local path pins BLAS to one thread too,
    or a multi-threaded row sum changes the last bits (seen: 1.4e-14 in I2 at k = 17)."""
    from dask.distributed import Client, LocalCluster

    yi, vi = _studies(17)
    local = gosh_distributed(yi, vi, method="REML", progress=False)
    grid = dict(k=(5, 30), tau2=(0.0, 0.1), n_sim=1500, chunk_size=500, seed=4)
    local_cov = coverage_study(**grid, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            remote = gosh_distributed(yi, vi, method="REML", client=client, progress=False)
            remote_cov = coverage_study(**grid, client=client, progress=False)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    pd.testing.assert_frame_equal(local_cov, remote_cov, check_exact=True)
