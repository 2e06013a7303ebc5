"""Simulation studies of interval coverage, locally or on a Dask cluster.

:func:`coverage_study` estimates, over a grid of the number of studies ``k``, the between-study
variance ``tau2`` and the trials' sizes, how often

* the confidence interval of the pooled mean with the normal (Wald-type, ``"z"``) test,
* the Hartung-Knapp-Sidik-Jonkman interval (``"knha"``; Hartung & Knapp 2001, *Stat Med*
  20:3875-3889; Sidik & Jonkman 2002, *Stat Med* 21:3153-3159), and
* the prediction interval (``"pi"``; Higgins, Thompson & Spiegelhalter 2009, *J R Stat Soc A*
  172:137-159, eq. 12), and
* the Bayesian credible interval of the mean and predictive interval of a new trial's effect
  (``"bayes"``, ``"bayes_pi"``; :func:`trialsynth.pool_bayes_batch` under ``tau_prior``, a flat
  prior on the mean; Friede et al. 2017, *Res Synth Methods*, doi:10.1002/jrsm.1217, studied
  the coverage of half-normal priors with few trials)

cover what they claim to cover, the design of IntHout, Ioannidis & Borm (2014, *BMC Med Res
Methodol* 14:25) for confidence intervals and of Partlett & Riley (2017, *Stat Med* 36:301-317)
for prediction intervals.  Every interval comes from :func:`trialsynth.pool_batch`, the same code
a user's analysis runs through.

Data-generating model (a two-arm trial of a continuous outcome, standard deviation 1 in both
arms): arm sizes ``n1, n2`` uniform on the scenario's size range; true study effects
``theta_i ~ N(mu, tau2)``; observed mean difference ``y_i ~ N(theta_i, 1/n1 + 1/n2)``; the
within-study variance is *estimated* as in a real trial, ``v_i = s1^2/n1 + s2^2/n2`` with
``s_j^2 ~ chi2(n_j - 1)/(n_j - 1)``, so small trials carry the usual error in their weights.

The work is split into chunks of at most ``chunk_size`` simulated meta-analyses.  Each chunk's
random numbers come from its own :class:`numpy.random.SeedSequence` child (``seed`` -> one child
per scenario -> one child per chunk), and chunk results are combined in chunk order, so the local
path (``client=None``) and a Dask cluster (``client=Client("tcp://scheduler:8786")``) return
identical tables for the same seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.errors import ArgumentError
from trialsynth.pooling.distributed import run_chunks

__all__ = ["coverage_study", "simulate_mean_differences", "INTERVALS"]

#: Interval names :func:`coverage_study` understands, and what each one is.
INTERVALS = {
    "z": "confidence interval of the mean, normal (z) test",
    "knha": "confidence interval of the mean, Hartung-Knapp-Sidik-Jonkman (knha) test",
    "pi": "prediction interval of the fit with the z test",
    "pi_knha": "prediction interval of the fit with the knha test",
    "bayes": "credible interval of the mean, Bayesian (pool_bayes_batch under tau_prior, flat prior on the mean)",
    "bayes_pi": "predictive interval of a new trial's effect, Bayesian (pool_bayes_batch under tau_prior)",
}
_BAYES_INTERVALS = ("bayes", "bayes_pi")

_ACCUMULATED = ("covered", "covered_sq", "width", "tau2_hat", "valid")


def simulate_mean_differences(
    rng: np.random.Generator, n_meta: int, k: int, tau2: float, size_range: tuple[int, int], mu: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``n_meta`` meta-analyses of ``k`` two-arm trials: ``(yi, vi)``, each ``n_meta x k``.

    See the module docstring for the model.  Arm sizes are uniform integers on ``size_range``
    (both ends included); outcome standard deviation 1 in both arms.
    """
    lo, hi = size_range
    n1 = rng.integers(lo, hi + 1, size=(n_meta, k))
    n2 = rng.integers(lo, hi + 1, size=(n_meta, k))
    theta = mu + np.sqrt(tau2) * rng.standard_normal((n_meta, k))
    yi = theta + np.sqrt(1.0 / n1 + 1.0 / n2) * rng.standard_normal((n_meta, k))
    s1 = rng.chisquare(n1 - 1) / (n1 - 1)
    s2 = rng.chisquare(n2 - 1) / (n2 - 1)
    vi = s1 / n1 + s2 / n2
    return yi, vi


def _coverage_chunk(
    k: int,
    tau2: float,
    size_lo: int,
    size_hi: int,
    n_meta: int,
    entropy: int,
    spawn_key: tuple,
    *,
    mu: float,
    level: float,
    methods: tuple[str, ...],
    intervals: tuple[str, ...],
    tau_prior=None,
) -> dict[tuple[str, str], np.ndarray]:
    """Sums over one chunk of simulated meta-analyses, per (method, interval).

    Returns, for each key, ``[covered, covered_sq, width, tau2_hat, valid]`` summed over the
    meta-analyses whose interval is finite (for a PI ``covered`` is the probability that a new
    study's true effect falls inside it, ``Phi((hi - mu)/tau) - Phi((lo - mu)/tau)``, which is
    the indicator of ``lo <= mu <= hi`` when ``tau2 = 0``).
    """
    from trialsynth import pool_batch

    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=spawn_key))
    yi, vi = simulate_mean_differences(rng, n_meta, k, tau2, (size_lo, size_hi), mu)
    tests = []
    if any(i in ("z", "pi") for i in intervals):
        tests.append("z")
    if any(i in ("knha", "pi_knha") for i in intervals):
        tests.append("knha")
    out: dict[tuple[str, str], np.ndarray] = {}
    bayes = [i for i in intervals if i in _BAYES_INTERVALS]
    if bayes:
        from trialsynth.pooling.bayes_batch import pool_bayes_batch

        fit = pool_bayes_batch(yi, vi, tau_prior=tau_prior, level=level, workers=1)
        tau2_hat = fit.tau.median ** 2
        for interval in bayes:
            low, high = (fit.mu if interval == "bayes" else fit.theta_new).interval()
            if interval == "bayes" or tau2 == 0:
                covered = ((low <= mu) & (mu <= high)).astype(float)
            else:
                tau = np.sqrt(tau2)
                covered = stats.norm.cdf((high - mu) / tau) - stats.norm.cdf((low - mu) / tau)
            valid = np.isfinite(low) & np.isfinite(high)
            out[(bayes_method_name(tau_prior), interval)] = np.array(
                [covered[valid].sum(), (covered[valid] ** 2).sum(), (high - low)[valid].sum(), tau2_hat[valid].sum(),
                 valid.sum()])
    for method in methods:
        fits = {test: pool_batch(yi, vi, method=method, test=test, level=level) for test in tests}
        for interval in [i for i in intervals if i not in _BAYES_INTERVALS]:
            if interval in ("z", "knha"):
                fit = fits[interval]
                low, high = np.asarray(fit.ci_low, float), np.asarray(fit.ci_high, float)
                covered = ((low <= mu) & (mu <= high)).astype(float)
            else:
                fit = fits["z" if interval == "pi" else "knha"]
                low, high = np.asarray(fit.pi_low, float), np.asarray(fit.pi_high, float)
                if tau2 > 0:
                    tau = np.sqrt(tau2)
                    covered = stats.norm.cdf((high - mu) / tau) - stats.norm.cdf((low - mu) / tau)
                else:
                    covered = ((low <= mu) & (mu <= high)).astype(float)
            valid = np.isfinite(low) & np.isfinite(high)
            tau2_hat = np.asarray(fit.tau2, float)
            out[(method, interval)] = np.array(
                [
                    covered[valid].sum(),
                    (covered[valid] ** 2).sum(),
                    (high - low)[valid].sum(),
                    tau2_hat[valid].sum(),
                    valid.sum(),
                ]
            )
    return out


def bayes_method_name(tau_prior) -> str:
    """The ``method`` a Bayesian interval's rows carry: ``"Bayes HN(0.5)"``."""
    return f"Bayes {tau_prior.short}"


def _as_tuple(name: str, value: Any) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return (value,)
    value = tuple(value)
    if not value:
        raise ArgumentError(f"{name}: expected at least one value")
    return value


def _size_ranges(study_sizes: Any) -> list[tuple[int, int]]:
    if isinstance(study_sizes, (int, np.integer)):
        study_sizes = [study_sizes]
    elif (
        isinstance(study_sizes, Sequence)
        and len(study_sizes) == 2
        and all(isinstance(s, (int, np.integer)) for s in study_sizes)
    ):
        # a single (lo, hi) pair is ambiguous with two fixed sizes; read it as one range
        study_sizes = [tuple(study_sizes)]
    ranges = []
    for item in study_sizes:
        if isinstance(item, (int, np.integer)):
            lo = hi = int(item)
        else:
            try:
                lo, hi = (int(x) for x in item)
            except (TypeError, ValueError):
                raise ArgumentError(
                    "study_sizes: expected arm sizes as integers or (smallest, largest) pairs, "
                    f"got {item!r}"
                ) from None
        if lo < 2 or hi < lo:
            raise ArgumentError(f"study_sizes: expected 2 <= smallest <= largest arm size, got {item!r}")
        ranges.append((lo, hi))
    if not ranges:
        raise ArgumentError("study_sizes: expected at least one size")
    return ranges


def coverage_study(
    k: Any = (5, 10, 20),
    tau2: Any = (0.0, 0.05, 0.2),
    study_sizes: Any = ((20, 100),),
    n_sim: int = 1000,
    *,
    methods: Any = ("REML",),
    intervals: Any = ("z", "knha", "pi"),
    mu: float = 0.0,
    level: float = 95,
    seed: int = 20261126,
    chunk_size: int = 500,
    client: Any = None,
    progress: bool = True,
    workers: int | None = None,
    tau_prior=None,
) -> pd.DataFrame:
    """Coverage of confidence and prediction intervals over a grid of scenarios.

    Parameters
    ----------
    k : int or sequence of int
        Numbers of studies per meta-analysis (each >= 2).
    tau2 : float or sequence of float
        True between-study variances (each >= 0), on the mean-difference scale (outcome SD 1).
    study_sizes : int, (int, int) or sequence of them
        Arm sizes per trial: a fixed size or a ``(smallest, largest)`` range drawn uniformly.
    n_sim : int
        Simulated meta-analyses per scenario.
    methods : str or sequence of str
        Heterogeneity estimators passed to :func:`trialsynth.pool_batch` (e.g. ``"REML"``, ``"DL"``).
    intervals : sequence of str
        Which intervals to assess: ``"z"``, ``"knha"``, ``"pi"``, ``"pi_knha"``, ``"bayes"``,
        ``"bayes_pi"`` (see :data:`INTERVALS`).
    mu : float
        True mean effect.
    level : float
        Nominal level in percent.
    seed : int
        Root seed; scenarios and chunks get :class:`numpy.random.SeedSequence` children.
    chunk_size : int
        Simulated meta-analyses per task.
    client : dask.distributed.Client or None
        None runs locally on threads; a Client runs the chunks on a Dask cluster, e.g.
        ``Client("tcp://scheduler:8786")``.  Results are identical either way.
    progress : bool
        Progress bar (tqdm locally, dask's progress on a cluster).
    workers : int or None
        Threads of the local path.
    tau_prior : prior from :mod:`trialsynth.priors`, optional
        The tau prior of the Bayesian intervals (default half-normal 0.5 on the mean-difference
        scale); their rows carry ``method`` ``"Bayes <prior>"``, once per scenario.

    Returns
    -------
    pandas.DataFrame
        One row per scenario x method x interval: ``k``, ``tau2``, ``study_size`` (``"lo-hi"``),
        ``method``, ``interval``, ``nominal`` (level / 100), ``coverage``, ``mc_se`` (Monte
        Carlo standard error), ``mean_width``, ``mean_tau2_hat``, ``n_sim``, ``n_valid``
        (meta-analyses with a finite interval).
    """
    ks = [int(x) for x in _as_tuple("k", k)]
    if any(x < 2 for x in ks):
        raise ArgumentError(f"k: expected numbers of studies >= 2, got {ks}")
    tau2s = [float(x) for x in _as_tuple("tau2", tau2)]
    if any(not np.isfinite(x) or x < 0 for x in tau2s):
        raise ArgumentError(f"tau2: expected non-negative between-study variances, got {tau2s}")
    sizes = _size_ranges(study_sizes)
    if int(n_sim) < 1:
        raise ArgumentError(f"n_sim: expected a positive number of simulations, got {n_sim!r}")
    n_sim = int(n_sim)
    methods = tuple(str(m) for m in _as_tuple("methods", methods))
    intervals = tuple(str(i) for i in _as_tuple("intervals", intervals))
    unknown = [i for i in intervals if i not in INTERVALS]
    if unknown:
        raise ArgumentError(f"intervals: unknown {unknown}; expected some of {sorted(INTERVALS)}")
    if not 0 < float(level) < 100:
        raise ArgumentError(f"level: expected a percentage between 0 and 100, got {level!r}")
    if int(chunk_size) < 1:
        raise ArgumentError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    if any(i in _BAYES_INTERVALS for i in intervals):
        from trialsynth.pooling.priors import HalfNormal, check_tau_prior

        tau_prior = HalfNormal(0.5) if tau_prior is None else check_tau_prior(tau_prior)

    scenarios = list(itertools.product(ks, tau2s, sizes))
    root = np.random.SeedSequence(int(seed))
    chunk_sizes = [chunk_size] * (n_sim // chunk_size) + ([n_sim % chunk_size] if n_sim % chunk_size else [])
    chunks, owner = [], []
    for index, ((k_, tau2_, (lo, hi)), scenario_seed) in enumerate(zip(scenarios, root.spawn(len(scenarios)))):
        for size, chunk_seed in zip(chunk_sizes, scenario_seed.spawn(len(chunk_sizes))):
            chunks.append((k_, tau2_, lo, hi, size, chunk_seed.entropy, chunk_seed.spawn_key))
            owner.append(index)
    parts = run_chunks(
        _coverage_chunk, chunks, client=client, progress=progress, description="coverage study",
        workers=workers, mu=float(mu), level=float(level), methods=methods, intervals=intervals, tau_prior=tau_prior,
    )
    totals: list[dict] = [dict() for _ in scenarios]
    for index, part in zip(owner, parts):  # chunk order: the same sums on every executor
        for key, sums in part.items():
            totals[index][key] = totals[index][key] + sums if key in totals[index] else sums.copy()
    rows = []
    pairs = [(method, interval) for method in methods for interval in intervals if interval not in _BAYES_INTERVALS]
    pairs += [(bayes_method_name(tau_prior), interval) for interval in intervals if interval in _BAYES_INTERVALS]
    for (k_, tau2_, (lo, hi)), total in zip(scenarios, totals):
        for method, interval in pairs:
            covered, covered_sq, width, tau2_hat, valid = total[(method, interval)]
            n_valid = int(valid)
            coverage = covered / n_valid if n_valid else np.nan
            variance = covered_sq / n_valid - coverage**2 if n_valid else np.nan
            rows.append(
                {
                    "k": k_,
                    "tau2": tau2_,
                    "study_size": f"{lo}-{hi}" if lo != hi else str(lo),
                    "method": method,
                    "interval": interval,
                    "nominal": float(level) / 100,
                    "coverage": coverage,
                    "mc_se": float(np.sqrt(max(variance, 0.0) / n_valid)) if n_valid else np.nan,
                    "mean_width": width / n_valid if n_valid else np.nan,
                    "mean_tau2_hat": tau2_hat / n_valid if n_valid else np.nan,
                    "n_sim": n_sim,
                    "n_valid": n_valid,
                }
            )
    frame = pd.DataFrame(rows)
    frame.attrs.update({"seed": int(seed), "mu": float(mu), "chunk_size": chunk_size})
    return frame
