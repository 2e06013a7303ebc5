#!/usr/bin/env python
"""trialsynth benchmarks: ratios against metafor and statsmodels, measured in one run.

Run with ``make bench`` (or ``python benchmarks/run.py [--quick]``).  Every comparison is made
on the same data in the same run:

* single fit, k = 10, REML and DL: ``trialsynth.pool`` vs metafor ``rma()`` (through Rscript,
  timed inside R with ``proc.time`` so that R's start-up is excluded) and statsmodels'
  ``combine_effects`` (DL);
* 10,000 meta-analyses of k = 10: ``trialsynth.pool_batch`` (REML, DL) vs a loop of ``rma()``
  (a few hundred fits timed inside R, scaled per fit) and vs a bare vectorised numpy
  DerSimonian-Laird formula (the practical limit); the estimates are checked to agree;
* GOSH, k = 16 (65,535 subsets; estimate and I2): trialsynth vs metafor ``gosh()`` per-subset
  time (a k = 10 ``gosh()`` timed in R and scaled by the number of subsets);
* permutation test of a one-moderator meta-regression, 1,000 permutations, vs ``permutest()``;
* ``make report`` end to end on the shipped data (``python -m trialsynth report``), with the
  breakdown the report builder exposes;
* peak memory (tracemalloc) of the 10,000-fit batch and of one fit with k = 100,000 studies,
  relative to the input's size;
* Bayesian pooling (issue 16) of Röver 2020's six-trial example: ``trialsynth.pool_bayes`` with
  every summary read (tau, mu, theta_new: median, mean, sd, 95% shortest interval; P(mu > 0))
  vs a plain fine-grid numpy integration of the same posterior (trapezoid on 6,001 tau points,
  mu and theta_new as the mixture over that grid, quantiles by bisection), with the two
  answers' largest difference; and ``pool_bayes_batch`` per cell vs a loop of ``pool_bayes``.

Timings are the minimum over several repeats after a warm-up call.  Nothing here asserts a
speed: results are printed as a table and written to ``benchmarks/results.json``.  When Rscript
or metafor is missing the benchmark says so and compares with statsmodels only.  Parts of
trialsynth that are not importable yet are reported as ``unavailable`` with the reason.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
R_SCRIPT = HERE / "r_timings.R"

SEED = 20261126

# Targets of issue 7 (ratios are "times faster"; a ratio > 1 means trialsynth is faster).
TARGETS = {
    "single_reml_vs_rma": 40.0,
    "single_reml_vs_statsmodels_dl": 1.0,
    "batch_reml_vs_rma_loop": 1000.0,
    "batch_dl_vs_numpy": 0.5,  # within 2x of the bare formula: ratio >= 0.5
    "gosh_k16_seconds": 1.0,  # an absolute bound, not a ratio
    "permutest_vs_metafor": 50.0,
    "bayes_single_seconds": 0.005,  # "a single pool_bayes at 1e-6 accuracy within a few milliseconds"
}


# --------------------------------------------------------------------------- timing helpers


def best_time(fn, *, repeat: int = 5, min_seconds: float = 0.2, number: int | None = None) -> float:
    """Seconds per call of ``fn``: minimum over ``repeat`` rounds, after a warm-up call.

    Each round runs ``fn`` ``number`` times; when ``number`` is None it is chosen (as
    :meth:`timeit.Timer.autorange` does) so that one round lasts at least ``min_seconds``.
    """
    fn()  # warm-up: imports, caches, first-touch of memory
    timer = timeit.Timer(fn)
    if number is None:
        number = 1
        while True:
            elapsed = timer.timeit(number)
            if elapsed >= min_seconds:
                break
            number *= 2 if elapsed > min_seconds / 10 else 10
    gc.collect()
    rounds = timer.repeat(repeat=repeat, number=number)
    return min(rounds) / number


def interleaved_best_times(fns: dict, *, rounds: int, number: int = 1) -> dict:
    """Seconds per call of each of ``fns`` (name -> callable), minimum over ``rounds`` rounds.

    Each round calls every function ``number`` times, one function after the other, so that all of them meet the same machine
    load (and the same state of the memory allocator) over the run; one warm-up call each first.
    """
    for fn in fns.values():
        fn()
    best = {name: float("inf") for name in fns}
    gc.collect()
    for _ in range(rounds):
        for name, fn in fns.items():
            started = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - started) / number)
    return best


def peak_memory(fn) -> int:
    """Peak bytes allocated (traced by tracemalloc, numpy included) while ``fn`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e9:.1f} ns"


def ratio(slow: float | None, fast: float | None) -> float | None:
    if slow is None or fast is None or not fast > 0:
        return None
    return float(slow / fast)


def lookup(name: str):
    """``trialsynth.<name>`` or raise ImportError/AttributeError with the reason."""
    import trialsynth

    return getattr(trialsynth, name)


def find_callable(candidates: list[tuple[str, str]]):
    """First importable ``module:attribute`` among ``candidates``; raises with every reason."""
    reasons = []
    for module, attribute in candidates:
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            reasons.append(f"{module}.{attribute}: {type(exc).__name__}: {exc}")
    raise ImportError("; ".join(reasons))


# --------------------------------------------------------------------------- data


def simulate_meta_analyses(rng: np.random.Generator, m: int, k: int, mu: float = 0.3, tau2: float = 0.05):
    """``m`` meta-analyses of ``k`` two-arm trials of a mean difference (outcome SD 1).

    Arm sizes are drawn uniformly in 10..200; ``vi = 1/n1 + 1/n2``; true study effects are
    ``N(mu, tau2)`` and the observed ``yi ~ N(theta_i, vi)``.
    """
    n1 = rng.integers(10, 201, size=(m, k))
    n2 = rng.integers(10, 201, size=(m, k))
    vi = 1.0 / n1 + 1.0 / n2
    theta = mu + rng.normal(0.0, np.sqrt(tau2), size=(m, k))
    yi = theta + rng.normal(0.0, np.sqrt(vi))
    return yi, vi


def make_data(quick: bool) -> dict:
    rng = np.random.default_rng(SEED)
    data = {"quick": quick}
    yi, vi = simulate_meta_analyses(rng, 1, 10)
    data["single"] = (yi[0], vi[0])
    m = 1_000 if quick else 10_000
    data["batch"] = simulate_meta_analyses(rng, m, 10)
    data["r_loop_n"] = 50 if quick else 300
    yi, vi = simulate_meta_analyses(rng, 1, 7 if quick else 10)
    data["gosh_r"] = (yi[0], vi[0])
    k_gosh = 12 if quick else 16
    yi, vi = simulate_meta_analyses(rng, 1, k_gosh, tau2=0.1)
    data["gosh"] = (yi[0], vi[0])
    # one-moderator meta-regression: k = 20, effect rises with the moderator
    k_reg = 20
    x = rng.uniform(0, 1, size=k_reg)
    yi, vi = simulate_meta_analyses(rng, 1, k_reg, mu=0.0, tau2=0.03)
    data["metareg"] = (yi[0] + 0.4 * x, vi[0], x)
    data["n_perm"] = 100 if quick else 1_000
    data["big_k"] = 10_000 if quick else 100_000
    yi, vi = simulate_meta_analyses(rng, 1, data["big_k"])
    data["big"] = (yi[0], vi[0])
    return data


def write_r_inputs(folder: Path, data: dict) -> None:
    def write(name, columns):
        names = list(columns)
        arrays = [np.asarray(columns[c]) for c in names]
        lines = [",".join(names)]
        for row in zip(*arrays):
            lines.append(",".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(v) for v in row))
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

    yi, vi = data["single"]
    write("single.csv", {"yi": yi, "vi": vi})
    yi, vi = data["batch"]
    n = data["r_loop_n"]
    ids = np.repeat(np.arange(n), yi.shape[1])
    write("batch.csv", {"id": ids, "yi": yi[:n].ravel(), "vi": vi[:n].ravel()})
    yi, vi = data["gosh_r"]
    write("gosh.csv", {"yi": yi, "vi": vi})
    yi, vi, x = data["metareg"]
    write("metareg.csv", {"yi": yi, "vi": vi, "x": x})


# --------------------------------------------------------------------------- peers


def run_r(data: dict, quick: bool) -> dict:
    """metafor timings through Rscript, or ``{"available": False, "reason": ...}``."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {"available": False, "reason": "Rscript not found on PATH; comparing with statsmodels only"}
    probe = subprocess.run(
        [rscript, "-e", "cat(as.character(packageVersion('metafor')))"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return {"available": False, "reason": "R package metafor is not installed; comparing with statsmodels only"}
    with tempfile.TemporaryDirectory(prefix="trialsynth-bench-") as tmp:
        folder = Path(tmp)
        write_r_inputs(folder, data)
        out = folder / "r.json"
        cmd = [rscript, str(R_SCRIPT), str(folder), str(out)] + (["quick"] if quick else [])
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            return {"available": False, "reason": f"Rscript failed: {proc.stderr.strip()[-500:]}"}
        result = json.loads(out.read_text(encoding="utf-8"))
    result["available"] = True
    result["rscript_wall_seconds"] = wall
    return result


def numpy_dl(yi: np.ndarray, vi: np.ndarray):
    """Bare vectorised DerSimonian-Laird (DerSimonian & Laird 1986, eq. 8-9): estimate, se, tau2.

    The practical speed limit for a batch of complete k-study data sets: no checks, no NaN
    handling, no confidence intervals beyond the standard error.  Row sums are matrix-vector
    products with a vector of ones (BLAS), the fastest of the plain numpy forms (``.sum(axis=1)``
    on a short last axis is several times slower).
    """
    ones = np.ones(yi.shape[1])
    w = 1.0 / vi
    sw = w @ ones
    wy = w * yi
    swy = wy @ ones
    q = (wy * yi) @ ones - swy * swy / sw
    c = sw - (w * w) @ ones / sw
    tau2 = np.maximum(0.0, (q - (yi.shape[1] - 1)) / c)
    ws = 1.0 / (vi + tau2[:, None])
    sws = ws @ ones
    return (ws * yi) @ ones / sws, np.sqrt(1.0 / sws), tau2


def statsmodels_dl(yi, vi):
    from statsmodels.stats.meta_analysis import combine_effects

    return combine_effects(yi, vi, method_re="dl")


# --------------------------------------------------------------------------- benchmarks


def bench_single(data, r, repeat, results):
    yi, vi = data["single"]
    out = {"k": int(yi.size)}
    sm = statsmodels_dl(yi, vi)
    out["statsmodels_dl"] = {"estimate": float(sm.mean_effect_re), "tau2": float(sm.tau2)}
    if r.get("available"):
        out["metafor_reml_seconds"] = r["single"]["reml_seconds_per_fit"]
        out["metafor_dl_seconds"] = r["single"]["dl_seconds_per_fit"]
    fns = {"statsmodels_dl": lambda: statsmodels_dl(yi, vi)}
    try:
        pool = lookup("pool")
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        pool = None
        out["trialsynth"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    else:
        fns["REML"] = lambda: pool(yi, vi, method="REML")
        fns["DL"] = lambda: pool(yi, vi, method="DL")
    # interleaved rounds of 100 calls each (trialsynth and statsmodels meet the same load)
    times = interleaved_best_times(fns, rounds=4 * repeat, number=100 if repeat > 2 else 20)
    out["statsmodels_dl_seconds"] = times["statsmodels_dl"]
    if pool is None:
        results["single"] = out
        return
    for method in ("REML", "DL"):
        fit = pool(yi, vi, method=method)
        out[f"trialsynth_{method.lower()}_seconds"] = times[method]
        out[f"trialsynth_{method.lower()}"] = {"estimate": float(fit.estimate), "tau2": float(fit.tau2)}
        if r.get("available"):
            ref = r["single"][method.lower()]
            out[f"agreement_{method.lower()}_vs_metafor"] = {
                "estimate_abs_diff": abs(float(fit.estimate) - ref["estimate"]),
                "tau2_abs_diff": abs(float(fit.tau2) - ref["tau2"]),
            }
    out["agreement_dl_vs_statsmodels"] = {
        "estimate_abs_diff": abs(out["trialsynth_dl"]["estimate"] - out["statsmodels_dl"]["estimate"]),
        "tau2_abs_diff": abs(out["trialsynth_dl"]["tau2"] - out["statsmodels_dl"]["tau2"]),
    }
    results["single"] = out


BATCH_ATTRIBUTES = ("estimate", "se", "ci_low", "ci_high", "statistic", "p_value", "tau2", "se_tau2", "tau",
                    "i2", "h2", "q", "q_df", "q_p_value", "k", "pi_low", "pi_high")


def _touch(result):
    """Read every documented attribute of a BatchResult (forces anything computed on access)."""
    return [getattr(result, name) for name in BATCH_ATTRIBUTES]


def bench_batch(data, r, repeat, results):
    yi, vi = data["batch"]
    m, k = yi.shape
    out = {"m": int(m), "k": int(k), "input_bytes": int(yi.nbytes + vi.nbytes)}
    # batch calls of trialsynth and the numpy reference are timed interleaved (one call each
    # per round), so that they meet the same load; more rounds than for single fits
    rounds = 3 * repeat
    out["timing_rounds"] = rounds
    fns = {"numpy_dl": lambda: numpy_dl(yi, vi)}
    try:
        pool_batch = lookup("pool_batch")
    except Exception:  # noqa: BLE001 - reported below
        pool_batch = None
    if pool_batch is not None:
        for method in ("REML", "DL"):
            fns[method] = lambda mth=method: pool_batch(yi, vi, method=mth)
            fns[method + "_all"] = lambda mth=method: _touch(pool_batch(yi, vi, method=mth))
    times = interleaved_best_times(fns, rounds=rounds)
    out["numpy_dl_seconds_per_fit"] = times["numpy_dl"] / m
    est_np, se_np, tau2_np = numpy_dl(yi, vi)
    if r.get("available"):
        out["metafor_loop_reml_seconds_per_fit"] = r["loop"]["reml_seconds_per_fit"]
        out["metafor_loop_dl_seconds_per_fit"] = r["loop"]["dl_seconds_per_fit"]
        out["metafor_loop_n_fits"] = r["loop"]["n_fits"]
    try:
        pool_batch = lookup("pool_batch")
    except Exception as exc:  # noqa: BLE001
        out["trialsynth"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
        results["batch"] = out
        return
    for method in ("REML", "DL"):
        res = pool_batch(yi, vi, method=method)
        seconds = times[method]
        out[f"trialsynth_{method.lower()}_seconds_per_fit"] = seconds / m
        out[f"trialsynth_{method.lower()}_seconds_total"] = seconds
        # the same, reading every documented attribute (lazily computed ones included)
        out[f"trialsynth_{method.lower()}_all_attributes_seconds_per_fit"] = times[method + "_all"] / m
        est = np.asarray(res.estimate, dtype=float)
        tau2 = np.asarray(res.tau2, dtype=float)
        out[f"trialsynth_{method.lower()}_nonfinite"] = int((~np.isfinite(est)).sum())
        if r.get("available"):
            n = r["loop"]["n_fits"]
            ref = r["loop"][method.lower()]
            out[f"agreement_{method.lower()}_vs_metafor"] = {
                "n": int(n),
                "estimate_max_abs_diff": float(np.max(np.abs(est[:n] - np.asarray(ref["estimate"])))),
                "se_max_abs_diff": float(np.max(np.abs(np.asarray(res.se, dtype=float)[:n] - np.asarray(ref["se"])))),
                "tau2_max_abs_diff": float(np.max(np.abs(tau2[:n] - np.asarray(ref["tau2"])))),
            }
        if method == "DL":
            out["agreement_dl_vs_numpy"] = {
                "n": int(m),
                "estimate_max_abs_diff": float(np.max(np.abs(est - est_np))),
                "se_max_abs_diff": float(np.max(np.abs(np.asarray(res.se, dtype=float) - se_np))),
                "tau2_max_abs_diff": float(np.max(np.abs(tau2 - tau2_np))),
            }
    results["batch"] = out


def bench_gosh(data, r, repeat, results):
    yi, vi = data["gosh"]
    k = int(yi.size)
    n_subsets = 2**k - 1
    out = {"k": k, "subsets": n_subsets, "cores": os.cpu_count()}
    if r.get("available"):
        per = r["gosh"]["seconds_per_subset"]
        out["metafor_seconds_per_subset"] = per
        out["metafor_measured_k"] = r["gosh"]["k"]
        out["metafor_scaled_seconds"] = per * n_subsets
    try:
        gosh = lookup("gosh")
    except Exception as exc:  # noqa: BLE001
        out["trialsynth"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    else:
        try:
            seconds = best_time(lambda: gosh(yi, vi), repeat=max(2, repeat // 2), number=1)
            out["trialsynth_seconds"] = seconds
            out["trialsynth_seconds_per_subset"] = seconds / n_subsets
        except Exception as exc:  # noqa: BLE001
            out["trialsynth"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    try:
        from trialsynth.diagnostics.distributed import gosh_distributed
    except Exception as exc:  # noqa: BLE001
        out["distributed_local"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    else:
        try:
            seconds = best_time(lambda: gosh_distributed(yi, vi, progress=False), repeat=max(2, repeat // 2), number=1)
            out["distributed_local_seconds"] = seconds
        except Exception as exc:  # noqa: BLE001
            out["distributed_local"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    results["gosh"] = out


def bench_permutest(data, r, repeat, results):
    yi, vi, x = data["metareg"]
    n_perm = data["n_perm"]
    out = {"k": int(yi.size), "permutations": n_perm}
    if r.get("available"):
        out["metafor_seconds"] = r["permutest"]["seconds_per_1000"] * n_perm / 1000
        out["metafor_pval"] = r["permutest"]["pval_moderator"]
    try:
        permutation_test = find_callable(
            [("trialsynth", "permutation_test"), ("trialsynth.pooling.regression", "permutation_test")]
        )
        meta_regression = find_callable(
            [("trialsynth", "meta_regression"), ("trialsynth.pooling.regression", "meta_regression")]
        )
    except Exception as exc:  # noqa: BLE001
        out["trialsynth"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
        results["permutest"] = out
        return
    try:
        fit = meta_regression(yi, vi, x, method="REML")

        def run():
            return permutation_test(fit, n_permutations=n_perm, seed=SEED)

        res = run()
        out["trialsynth_pval"] = float(res["qm_p_value"])
        out["trialsynth_seconds"] = best_time(run, repeat=max(2, repeat // 2), number=1)
        out["trialsynth_result"] = _plain(res)
    except Exception as exc:  # noqa: BLE001
        out["trialsynth"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    results["permutest"] = out


# --------------------------------------------------------------------------- Bayesian pooling

def grid_posterior(yi, vi, *, tau_scale=0.5, mu_sd=4.0, n_tau=6001, tau_max=6.0):
    """The peer: the half-normal(tau_scale) / normal(0, mu_sd) posterior by brute force - the
    trapezoid rule on a uniform tau grid (6,001 points on [0, 6]: step 1e-3, error about 1e-7 on
    this posterior), the mu and theta_new marginals as the mixture over that grid, quantiles by
    bisection, the shortest 95% interval by a golden-section search over the lower tail."""
    from scipy.special import ndtr

    tau = np.linspace(0.0, tau_max, n_tau)
    s2 = vi[None, :] + (tau * tau)[:, None]
    w = 1.0 / s2
    prec = w.sum(1) + 1.0 / mu_sd**2
    mean = (w @ yi) / prec
    q = (w * (yi[None, :] - mean[:, None]) ** 2).sum(1) + mean**2 / mu_sd**2
    logpost = -0.5 * (tau / tau_scale) ** 2 - 0.5 * (np.log(s2).sum(1) + np.log(prec) + q)
    dens = np.exp(logpost - logpost.max())
    h = tau[1] - tau[0]
    trap = np.full(n_tau, h)
    trap[[0, -1]] = h / 2
    weights = dens * trap
    weights /= weights.sum()
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * h)])
    cdf /= cdf[-1]
    out = {"tau_median": float(np.interp(0.5, cdf, tau)), "tau_mean": float(weights @ tau)}
    out["tau_sd"] = float(np.sqrt(weights @ tau**2 - out["tau_mean"] ** 2))
    out["tau_ci_high"] = float(np.interp(0.95, cdf, tau))  # the density is highest at 0 here
    var = 1.0 / prec

    def marginal(name, sd):
        def mix_cdf(x):
            return float(weights @ ndtr((x - mean) / sd))

        def quant(p):
            lo, hi = float((mean - 10 * sd).min()), float((mean + 10 * sd).max())
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if mix_cdf(mid) < p else (lo, mid)
            return 0.5 * (lo + hi)

        a, b = 0.0, 0.05
        golden = (np.sqrt(5.0) - 1.0) / 2.0
        for _ in range(40):
            c, d = b - golden * (b - a), a + golden * (b - a)
            if quant(c + 0.95) - quant(c) < quant(d + 0.95) - quant(d):
                b = d
            else:
                a = c
        p_best = 0.5 * (a + b)
        out[f"{name}_median"] = quant(0.5)
        out[f"{name}_mean"] = float(weights @ mean)
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = quant(p_best), quant(p_best + 0.95)
        return mix_cdf

    mu_cdf = marginal("mu", np.sqrt(var))
    marginal("theta_new", np.sqrt(var + tau * tau))
    out["mu_prob_above_0"] = 1.0 - mu_cdf(0.0)
    return out


def bench_bayes(data, repeat, results):
    out = {"example": "Röver 2020 J Stat Softw 93(6) section 3: CrinsEtAl2014, half-normal(0.5) tau, N(0, 4) mu"}
    try:
        pool_bayes = lookup("pool_bayes")
        pool_bayes_batch = lookup("pool_bayes_batch")
        priors = lookup("priors")
        effect_sizes = lookup("effect_sizes")
    except Exception as exc:  # noqa: BLE001
        results["bayes"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
        return
    # Röver 2020 (J Stat Softw 93(6), Table 3): acute rejection events / patients, IL-2RA vs control
    from trialsynth.report.bayes_views import CRINS_2014

    es = effect_sizes("OR", **{k: np.asarray(v, float) for k, v in CRINS_2014.items() if k != "study"})
    yi, vi = es["yi"].to_numpy(), es["vi"].to_numpy()
    tau_prior, mu_prior = priors.HalfNormal(0.5), priors.Normal(0, 4)

    def ours():
        res = pool_bayes(yi, vi, tau_prior=tau_prior, mu_prior=mu_prior)
        got = {"tau_median": res.tau.median, "tau_mean": res.tau.mean, "tau_sd": res.tau.sd,
               "tau_ci_high": res.tau.interval()[1], "mu_prob_above_0": res.mu.prob_above(0.0)}
        for name in ("mu", "theta_new"):
            marg = getattr(res, name)
            low, high = marg.interval()
            got.update({f"{name}_median": marg.median, f"{name}_mean": marg.mean, f"{name}_ci_low": low,
                        f"{name}_ci_high": high})
        return got

    def ours_call_only():
        return pool_bayes(yi, vi, tau_prior=tau_prior, mu_prior=mu_prior)

    n_grid = 2001 if data.get("quick") else 6001

    def peer():
        return grid_posterior(yi, vi, n_tau=n_grid)

    times = interleaved_best_times({"ours": ours, "call": ours_call_only, "peer": peer}, rounds=repeat + 2)
    a, b = ours(), peer()
    out["trialsynth_seconds"] = times["ours"]
    out["trialsynth_call_seconds"] = times["call"]
    out["peer_seconds"] = times["peer"]
    out["peer_grid_points"] = n_grid
    out["max_abs_difference"] = float(max(abs(a[key] - b[key]) for key in b))
    out["differences"] = {key: float(a[key] - b[key]) for key in b}
    out["trialsynth"] = {key: float(v) for key, v in a.items()}
    # batch: per cell, against a loop of pool_bayes with the same summaries read
    rng = np.random.default_rng(SEED)
    m = 40 if data.get("quick") else 400
    ys, vs = simulate_meta_analyses(rng, m, 6)

    def batch():
        res = pool_bayes_batch(ys, vs, tau_prior=tau_prior, mu_prior=mu_prior, workers=1)
        return res.mu.ci_low, res.mu.median, res.tau.median, res.theta_new.ci_high

    def loop():
        for row_y, row_v in zip(ys[: m // 10], vs[: m // 10]):
            res = pool_bayes(row_y, row_v, tau_prior=tau_prior, mu_prior=mu_prior)
            res.mu.interval(), res.mu.median, res.tau.median, res.theta_new.interval()

    btimes = interleaved_best_times({"batch": batch, "loop": loop}, rounds=max(2, repeat // 2))
    out["batch_cells"] = m
    out["batch_seconds_per_cell"] = btimes["batch"] / m
    out["loop_seconds_per_cell"] = btimes["loop"] / (m // 10)
    results["bayes"] = out


def _plain(obj):
    """A JSON-friendly summary of a small result object (p-values and the like)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items() if not isinstance(v, np.ndarray) or v.size <= 10}
    if hasattr(obj, "to_dict"):
        try:
            return _plain(obj.to_dict())
        except Exception:  # noqa: BLE001
            pass
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist() if obj.size <= 10 else f"array{obj.shape}"
    if isinstance(obj, (float, int, str, bool)) or obj is None:
        return obj
    fields = {}
    for name in ("pval", "p_value", "p_values", "statistic", "n_permutations"):
        if hasattr(obj, name):
            fields[name] = _plain(getattr(obj, name))
    return fields or repr(obj)[:200]


def bench_memory(data, results):
    out = {}
    yi, vi = data["batch"]
    out["batch_input_bytes"] = int(yi.nbytes + vi.nbytes)
    out["numpy_dl_peak_bytes"] = peak_memory(lambda: numpy_dl(yi, vi))
    try:
        pool_batch = lookup("pool_batch")
        out["batch_reml_peak_bytes"] = peak_memory(lambda: pool_batch(yi, vi, method="REML"))
        out["batch_reml_peak_over_input"] = out["batch_reml_peak_bytes"] / out["batch_input_bytes"]
        out["batch_dl_peak_bytes"] = peak_memory(lambda: pool_batch(yi, vi, method="DL"))
        out["batch_dl_peak_over_input"] = out["batch_dl_peak_bytes"] / out["batch_input_bytes"]
    except Exception as exc:  # noqa: BLE001
        out["batch"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    yi, vi = data["big"]
    out["big_k"] = int(yi.size)
    out["big_input_bytes"] = int(yi.nbytes + vi.nbytes)
    try:
        pool = lookup("pool")
        started = time.perf_counter()
        pool(yi, vi, method="REML")
        out["big_reml_seconds"] = time.perf_counter() - started
        out["big_reml_peak_bytes"] = peak_memory(lambda: pool(yi, vi, method="REML"))
        out["big_reml_peak_over_input"] = out["big_reml_peak_bytes"] / out["big_input_bytes"]
    except Exception as exc:  # noqa: BLE001
        out["big"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    results["memory"] = out


CURVE_KS = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
CURVE_R_MAX_K = 10_000  # rma() at larger k takes minutes (O(k^2) matrices)

def curve_sets(quick: bool = False) -> dict:
    """k -> (yi, vi): the simulated data of the curve (seeded; what ``--curve-data`` writes)."""
    rng = np.random.default_rng(SEED + 1)
    sets = {}
    for k in (CURVE_KS[:4] if quick else CURVE_KS):
        yi, vi = simulate_meta_analyses(rng, 1, k)
        sets[k] = (yi[0], vi[0])
    return sets


def write_curve_data(folder, sets: dict, max_k: int | None = None) -> list[str]:
    """The curve's data sets as ``k<K>.csv`` (yi, vi) for ``r_curve.R``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for k, (yi, vi) in sets.items():
        if max_k is None or k <= max_k:
            f = folder / f"k{k}.csv"
            np.savetxt(f, np.column_stack([yi, vi]), delimiter=",", header="yi,vi",
                       comments="", fmt="%.17g")
            files.append(str(f))
    return files


def bench_curve(data, use_r: bool, results, quick: bool = False):
    """One fit's cost over k = 10 ... 10^6: ``pool(method=DL/REML)`` against statsmodels'
    ``combine_effects`` (DL) on the same data, interleaved rounds; metafor ``rma()`` through
    ``r_curve.R`` when R is present (timed inside R; sizes whose predicted time exceeds
    60 s a fit are skipped)."""
    ks = CURVE_KS[:4] if quick else CURVE_KS
    pool = lookup("pool")
    rows = []
    sets = curve_sets(quick)
    for k in ks:
        yi, vi = sets[k]
        fns = {"DL": lambda: pool(yi, vi, method="DL"), "REML": lambda: pool(yi, vi, method="REML"),
               "statsmodels_dl": lambda: statsmodels_dl(yi, vi)}
        number = max(1, int(2e5 // k)) if k >= 1000 else 200
        rounds = 5 if k >= 100_000 else 10
        t = interleaved_best_times(fns, rounds=2 if quick else rounds, number=number)
        rows.append({"k": k, "trialsynth_dl_seconds": t["DL"], "trialsynth_reml_seconds": t["REML"],
                     "statsmodels_dl_seconds": t["statsmodels_dl"],
                     "statsmodels_over_dl": t["statsmodels_dl"] / t["DL"],
                     "reml_over_dl": t["REML"] / t["DL"]})
    rscript = shutil.which("Rscript") if use_r else None
    if rscript:
        with tempfile.TemporaryDirectory(prefix="trialsynth-curve-") as tmp:
            write_curve_data(tmp, sets, CURVE_R_MAX_K)
            out = Path(tmp) / "r.json"
            proc = subprocess.run([rscript, str(HERE / "r_curve.R"), tmp, str(out),
                                   "5" if quick else "60"], capture_output=True, text=True)
            if proc.returncode == 0:
                for entry in json.loads(out.read_text())["rows"]:
                    for row in rows:
                        if row["k"] == int(entry["k"]) and entry["measured"]:
                            row[f"metafor_{entry['method'].lower()}_seconds"] = float(entry["seconds"])
    results["curve"] = rows


def print_curve(rows) -> None:
    print(f"\n{'k':>9} {'DL':>11} {'REML':>11} {'statsmodels DL':>15} {'sm/DL':>7} {'REML/DL':>8} "
          f"{'metafor DL':>11} {'metafor REML':>13}")
    for r_ in rows:
        print(f"{r_['k']:>9,} {fmt_seconds(r_['trialsynth_dl_seconds']):>11} "
              f"{fmt_seconds(r_['trialsynth_reml_seconds']):>11} {fmt_seconds(r_['statsmodels_dl_seconds']):>15} "
              f"{r_['statsmodels_over_dl']:>6.2f}x {r_['reml_over_dl']:>7.2f}x "
              f"{fmt_seconds(r_.get('metafor_dl_seconds')):>11} {fmt_seconds(r_.get('metafor_reml_seconds')):>13}")


def _enable_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux ``prctl``), so that the
    CPU time of every process a report run starts (notebook kernel, figure workers and their
    forkserver) is counted in ``RUSAGE_CHILDREN`` once they are waited for."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _reap_orphans(timeout: float = 15.0) -> None:
    """Wait (at most ``timeout`` seconds) for every descendant left over by a report run."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def bench_report(repeat, results):
    """``python -m trialsynth report`` on the shipped data, in a fresh interpreter, end to end:
    cold (a new output folder) and warm (again into the same folder: figures and notebooks whose
    inputs did not change are not redrawn/re-executed), with wall and CPU time (the report
    process and every process it started) and the report's own breakdown (timings.json)."""
    import resource

    out = {}
    data_file = ROOT / "data" / "trials.csv"
    if not data_file.exists():
        results["report"] = {"available": False, "reason": f"{data_file} not found"}
        return
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    out["cpu_includes_descendants"] = _enable_subreaper()

    def interpreter(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
        return time.perf_counter() - started

    out["python_startup_seconds"] = min(interpreter("pass") for _ in range(3))
    out["import_trialsynth_seconds"] = min(interpreter("import trialsynth") for _ in range(3))
    out["import_pool_seconds"] = min(interpreter("import trialsynth as t; t.pool") for _ in range(3))
    out["import_matplotlib_pyplot_seconds"] = min(interpreter("import matplotlib.pyplot") for _ in range(3))

    def report_run(folder: str) -> dict:
        _reap_orphans()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "trialsynth", "report", "--data", str(data_file), "--out", folder],
            env=env, capture_output=True, text=True, cwd=ROOT,
        )
        wall = time.perf_counter() - started
        _reap_orphans()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = {"wall_seconds": wall,
               "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}
        if proc.returncode != 0:
            run["error"] = (proc.stderr or proc.stdout).strip()[-800:]
            return run
        timings = Path(folder) / "timings.json"
        if timings.exists():
            run["breakdown"] = json.loads(timings.read_text(encoding="utf-8"))
        return run

    cold, warm = [], []
    for _ in range(max(1, min(repeat, 2))):
        with tempfile.TemporaryDirectory(prefix="trialsynth-report-") as tmp:
            cold.append(report_run(tmp))
            if "error" in cold[-1]:
                out["error"] = cold[-1]["error"]
                break
            warm.append(report_run(tmp))
    best_cold = min(cold, key=lambda r: r["wall_seconds"])
    out["wall_seconds"] = best_cold["wall_seconds"]
    out["cpu_seconds"] = best_cold["cpu_seconds"]
    out["cold_runs"] = [{k: v for k, v in r.items() if k != "breakdown"} for r in cold]
    out["runs"] = len(cold)
    if "breakdown" in best_cold:
        out["breakdown"] = best_cold["breakdown"]
    if warm:
        best_warm = min(warm, key=lambda r: r["wall_seconds"])
        out["warm_wall_seconds"] = best_warm["wall_seconds"]
        out["warm_cpu_seconds"] = best_warm["cpu_seconds"]
        out["warm_breakdown"] = best_warm.get("breakdown")
    if "breakdown" not in out:
        out["breakdown_note"] = "the report builder writes no timings.json; only the wall time is known"
    results["report"] = out


# --------------------------------------------------------------------------- summary


def summarise(results: dict) -> list[dict]:
    """Rows of the printed table: what, trialsynth, peer, ratio (peer / trialsynth), target."""
    rows = []
    s = results.get("single", {})
    b = results.get("batch", {})
    g = results.get("gosh", {})
    p = results.get("permutest", {})

    def row(name, ours, peer_name, peer, target_key=None, note=""):
        r_ = ratio(peer, ours)
        target = TARGETS.get(target_key) if target_key else None
        met = None if (r_ is None or target is None) else bool(r_ >= target)
        rows.append({"benchmark": name, "trialsynth_seconds": ours, "peer": peer_name, "peer_seconds": peer,
                     "ratio": r_, "target": target, "target_met": met, "note": note})

    row("single REML k=10", s.get("trialsynth_reml_seconds"), "metafor rma() REML", s.get("metafor_reml_seconds"),
        "single_reml_vs_rma")
    row("single DL k=10", s.get("trialsynth_dl_seconds"), "metafor rma() DL", s.get("metafor_dl_seconds"))
    row("single REML k=10", s.get("trialsynth_reml_seconds"), "statsmodels combine_effects DL",
        s.get("statsmodels_dl_seconds"), "single_reml_vs_statsmodels_dl")
    row("single DL k=10", s.get("trialsynth_dl_seconds"), "statsmodels combine_effects DL",
        s.get("statsmodels_dl_seconds"))
    row(f"batch REML per fit ({b.get('m')}x{b.get('k')})", b.get("trialsynth_reml_seconds_per_fit"),
        "loop of rma() REML", b.get("metafor_loop_reml_seconds_per_fit"), "batch_reml_vs_rma_loop")
    row(f"batch DL per fit ({b.get('m')}x{b.get('k')})", b.get("trialsynth_dl_seconds_per_fit"),
        "loop of rma() DL", b.get("metafor_loop_dl_seconds_per_fit"))
    row(f"batch DL per fit ({b.get('m')}x{b.get('k')})", b.get("trialsynth_dl_seconds_per_fit"),
        "bare numpy DL", b.get("numpy_dl_seconds_per_fit"), "batch_dl_vs_numpy")
    k = g.get("k")
    row(f"GOSH k={k} ({g.get('subsets')} subsets)", g.get("trialsynth_seconds"),
        f"metafor gosh() scaled from k={g.get('metafor_measured_k')}", g.get("metafor_scaled_seconds"),
        note=f"target < {TARGETS['gosh_k16_seconds']} s on 2 cores")
    if g.get("distributed_local_seconds") is not None:
        row(f"GOSH k={k} chunked (client=None)", g.get("distributed_local_seconds"),
            f"metafor gosh() scaled from k={g.get('metafor_measured_k')}", g.get("metafor_scaled_seconds"))
    row(f"permutation test, {p.get('permutations')} perms, k={p.get('k')}", p.get("trialsynth_seconds"),
        "metafor permutest()", p.get("metafor_seconds"), "permutest_vs_metafor")
    by = results.get("bayes", {})
    if by.get("trialsynth_seconds") is not None:
        diff = by.get("max_abs_difference")
        row("pool_bayes k=6 + every summary", by.get("trialsynth_seconds"),
            f"numpy fine grid ({by.get('peer_grid_points')} tau points)", by.get("peer_seconds"),
            note=f"target < {TARGETS['bayes_single_seconds'] * 1e3:g} ms; max |difference| {diff:.1e}")
        row("pool_bayes_batch per cell (k=6)", by.get("batch_seconds_per_cell"), "loop of pool_bayes",
            by.get("loop_seconds_per_cell"))
    return rows


def print_table(rows: list[dict], results: dict) -> None:
    header = f"{'benchmark':<38} {'trialsynth':>11} {'peer':<38} {'peer time':>11} {'ratio':>9} {'target':>8}"
    print(header)
    print("-" * len(header))
    for r_ in rows:
        ratio_txt = "-" if r_["ratio"] is None else f"{r_['ratio']:.1f}x"
        if r_["target"] is None:
            target_txt = ""
        else:
            mark = "?" if r_["target_met"] is None else ("ok" if r_["target_met"] else "MISS")
            target_txt = f">={r_['target']:g}x {mark}"
        print(f"{r_['benchmark']:<38} {fmt_seconds(r_['trialsynth_seconds']):>11} {r_['peer']:<38} "
              f"{fmt_seconds(r_['peer_seconds']):>11} {ratio_txt:>9} {target_txt}")
    g = results.get("gosh", {})
    if g.get("trialsynth_seconds") is not None:
        verdict = "ok" if g["trialsynth_seconds"] < TARGETS["gosh_k16_seconds"] else "MISS"
        print(f"GOSH k={g['k']}: {fmt_seconds(g['trialsynth_seconds'])} on {g['cores']} cores "
              f"(target < 1 s for k=16): {verdict}")
    mem = results.get("memory", {})
    if mem:
        print()
        for key in ("batch_reml", "batch_dl", "big_reml"):
            if f"{key}_peak_bytes" in mem:
                base = "batch_input_bytes" if key.startswith("batch") else "big_input_bytes"
                print(f"peak memory {key:<10} {mem[f'{key}_peak_bytes'] / 2**20:8.1f} MiB "
                      f"= {mem[f'{key}_peak_over_input']:.1f}x input ({mem[base] / 2**20:.1f} MiB)")
    rep = results.get("report", {})
    if rep.get("wall_seconds") is not None:
        print(f"\nmake report (python -m trialsynth report), cold: {fmt_seconds(rep['wall_seconds'])} wall, "
              f"{fmt_seconds(rep.get('cpu_seconds'))} CPU; warm (unchanged inputs, same folder): "
              f"{fmt_seconds(rep.get('warm_wall_seconds'))} wall, {fmt_seconds(rep.get('warm_cpu_seconds'))} CPU")
        for label, key in (("cold", "breakdown"), ("warm", "warm_breakdown")):
            b = rep.get(key) or {}
            if b:
                notebooks = sum(v for k, v in b.items() if k.startswith("notebook.") and k.count(".") == 1)
                print(f"  {label}: analysis {fmt_seconds(b.get('analysis'))}, figures {fmt_seconds(b.get('figures'))} "
                      f"({b.get('figures.count_rendered', '?')} drawn, {b.get('figures.count_cached', '?')} unchanged), "
                      f"notebooks {fmt_seconds(b.get('notebooks_wall'))} wall ({fmt_seconds(notebooks)} executing, "
                      f"{b.get('notebooks.count_cached', '?')} unchanged), total {fmt_seconds(b.get('total'))}")
        print(f"make report start-up: "
              f"python start {fmt_seconds(rep['python_startup_seconds'])}, import trialsynth "
              f"{fmt_seconds(rep['import_trialsynth_seconds'])}, + pool {fmt_seconds(rep['import_pool_seconds'])}, "
              f"matplotlib.pyplot {fmt_seconds(rep['import_matplotlib_pyplot_seconds'])}")
    unavailable = []
    for section, payload in results.items():
        if isinstance(payload, dict):
            for key, value in payload.items():
                if isinstance(value, dict) and value.get("available") is False:
                    unavailable.append(f"{section}.{key}: {value['reason']}")
            if payload.get("available") is False:
                unavailable.append(f"{section}: {payload['reason']}")
    if unavailable:
        print("\nnot measured:")
        for line in unavailable:
            print(f"  {line}")


def markdown_table(rows: list[dict]) -> str:
    """The summary as a Markdown table (for benchmarks/README.md)."""
    lines = ["| benchmark | trialsynth | peer | peer time | ratio (peer / trialsynth) | target |",
             "| --- | ---: | --- | ---: | ---: | --- |"]
    for r_ in rows:
        ratio_txt = "-" if r_["ratio"] is None else f"{r_['ratio']:,.1f}x"
        if r_["target"] is None:
            target_txt = r_["note"]
        else:
            mark = "not measured" if r_["target_met"] is None else ("met" if r_["target_met"] else "**missed**")
            target_txt = f">= {r_['target']:g}x: {mark}"
        lines.append(f"| {r_['benchmark']} | {fmt_seconds(r_['trialsynth_seconds'])} | {r_['peer']} | "
                     f"{fmt_seconds(r_['peer_seconds'])} | {ratio_txt} | {target_txt} |")
    return "\n".join(lines)


def machine_info() -> dict:
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
    }
    for name in ("scipy", "statsmodels", "pandas", "dask", "distributed"):
        try:
            info[name] = importlib.import_module(name).__version__
        except Exception:  # noqa: BLE001
            info[name] = None
    try:
        import trialsynth

        info["trialsynth"] = trialsynth.__version__
    except Exception:  # noqa: BLE001
        info["trialsynth"] = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def bench_multivariate(quick: bool, no_r: bool, results: dict) -> None:
    """benchmarks/multivariate.py (pool_multivariate against rma.mv, same run): its table is
    printed as it runs, its rows kept under ``multivariate``."""
    import importlib.util
    import tempfile

    spec = importlib.util.spec_from_file_location("bench_multivariate", HERE / "multivariate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "multivariate.json"
        module.main([*(["--quick"] if quick else []), *(["--no-r"] if no_r else []), "--output", str(out)])
        results["multivariate"] = json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (for tests)")
    parser.add_argument("--no-r", action="store_true", help="skip metafor even when Rscript is installed")
    parser.add_argument("--no-report", action="store_true", help="skip timing `make report`")
    parser.add_argument("--output", default=str(HERE / "results.json"), help="results file (default: %(default)s)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--curve-data", default=None, metavar="DIR",
                        help="write the curve's data sets (k<K>.csv) to DIR for r_curve.R and stop")
    parser.add_argument("--only", default=None,
                        help="comma-separated parts to run: single,batch,gosh,permutest,memory,bayes,curve,report,"
                             "multivariate (default: all but curve and multivariate, which take minutes with R)")
    args = parser.parse_args(argv)
    if args.curve_data:
        for f in write_curve_data(args.curve_data, curve_sets(args.quick), CURVE_R_MAX_K):
            print(f)
        return 0
    parts = (set(args.only.split(",")) if args.only else
             {"single", "batch", "gosh", "permutest", "memory", "bayes", "report"})
    if args.no_report:
        parts.discard("report")

    repeat = 2 if args.quick else 5
    started = time.perf_counter()
    data = make_data(args.quick)
    results: dict = {
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "seed": SEED,
        "machine": machine_info(),
        "targets": TARGETS,
    }
    needs_r = parts & {"single", "batch", "gosh", "permutest"}
    if args.no_r or not needs_r:
        r = {"available": False, "reason": "skipped (--no-r)" if args.no_r else "not needed"}
    else:
        r = run_r(data, args.quick)
    results["metafor"] = {k: v for k, v in r.items() if k not in ("loop",)}
    if not r.get("available") and needs_r:
        print(f"metafor: {r['reason']}")
    if "single" in parts:
        bench_single(data, r, repeat, results)
    if "batch" in parts:
        bench_batch(data, r, repeat, results)
    if "gosh" in parts:
        bench_gosh(data, r, repeat, results)
    if "permutest" in parts:
        bench_permutest(data, r, repeat, results)
    if "memory" in parts:
        bench_memory(data, results)
    if "bayes" in parts:
        bench_bayes(data, repeat, results)
    if "curve" in parts:
        bench_curve(data, not args.no_r, results, args.quick)
    if "report" in parts:
        bench_report(repeat, results)
    if "multivariate" in parts:
        bench_multivariate(args.quick, args.no_r, results)
    results["summary"] = summarise(results)
    results["benchmark_wall_seconds"] = time.perf_counter() - started
    print()
    print_table(results["summary"], results)
    if "curve" in results:
        print_curve(results["curve"])
    if args.markdown:
        print()
        print(markdown_table(results["summary"]))
    Path(args.output).write_text(json.dumps(results, indent=2, default=_json_default) + "\n", encoding="utf-8")
    print(f"\nresults written: {args.output}")
    return 0


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())
