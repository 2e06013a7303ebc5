#!/usr/bin/env python
"""Multivariate / multilevel model: trialsynth.pool_multivariate against metafor's rma.mv, same run.

``python benchmarks/multivariate.py [--quick] [--no-r] [--output PATH]`` (also
``python benchmarks/run.py --only multivariate``; plain ``make bench`` leaves it out, as a full run
with metafor takes many minutes). Each comparison fits the same model to the same data:

* **acupuncture**: the joint window model of our own trials (pain, SMD: every follow-up of every
  trial, cell means comparator x window, CS over windows within a trial-comparison, the
  within-trial covariance of ``within_trial_cov`` at rho 0.5; tests/reference/rma_mv_trials_input.json);
  and the time-response model of the sham-controlled trials (random intercept + CAR over weeks);
* **Konstantopoulos 2011**: the three-level model (``random = ~ 1 | district/school``), k = 56;
* **cost curve**: 10 to 1,000 simulated trials with 3-4 follow-ups each (AR(1) sampling
  correlation 0.7 between adjacent follow-ups), ``mods = ~ log1p(weeks)``, a random intercept
  and CAR over weeks; trialsynth is given V as a scipy.sparse matrix, metafor a dense one
  (``sparse = TRUE`` from 300 trials, where a dense fit takes about 10 minutes; a size is skipped
  when the previous one took metafor over 2 minutes).

R timings are taken inside R (``proc.time``, minimum over repeats after a warm-up fit), so
Rscript's start-up is excluded; Python timings are the minimum over rounds after a warm-up call.
The estimates are checked to agree (max relative difference of the coefficients and variance
components) and reported beside the ratios. Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
R_SCRIPT = HERE / "r_timings_mv.R"
SEED = 20261202
TARGETS = {"acupuncture_vs_rma_mv": 20.0, "konstantopoulos_vs_rma_mv": 20.0}
SIZES = (10, 30, 100, 300, 1000)
QUICK_SIZES = (10, 30)
TIMES = (0.0, 4.0, 13.0, 26.0, 52.0)


def best_time(fn, *, repeat: int, min_seconds: float = 0.2) -> float:
    """Seconds per call: minimum over ``repeat`` rounds (each long enough to time), after a warm-up."""
    fn()
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - t0 >= min_seconds or number >= 2 ** 12:
            break
        number *= 2
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def fmt_seconds(s):
    if s is None or not np.isfinite(s):
        return "-"
    return f"{s:.2f} s" if s >= 1 else (f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us")


# --------------------------------------------------------------------------- data
def acupuncture_data() -> dict:
    inp = json.loads((ROOT / "tests" / "reference" / "rma_mv_trials_input.json").read_text())
    k = len(inp["yi"])
    V = np.zeros((k, k))
    b = inp["V"]["0.5"]
    V[np.asarray(b["i"]), np.asarray(b["j"])] = b["x"]
    cols = inp["columns"]
    out = {}
    for name in ("pain_windows_CS", "pain_sham_time_CAR"):
        rows = np.asarray(inp["models"][name]["rows"])
        out[name] = {"yi": np.asarray(inp["yi"])[rows], "V": V[np.ix_(rows, rows)],
                     **{c: np.asarray(cols[c], dtype=object)[rows] for c in ("trial", "cell", "window")},
                     "weeks": np.asarray(cols["weeks_after"], float)[rows]}
    return out


def konstantopoulos_data() -> dict | None:
    ref = ROOT / "tests" / "reference" / "rma_mv_reference.json"
    case = json.loads(ref.read_text())["cases"]["konstantopoulos2011"]
    return {"yi": np.asarray(case["yi"], float), "vi": np.asarray(case["vi"], float),
            "district": np.asarray(case["district"]), "school": np.asarray(case["school"])}


def simulate(n_trials: int, rng: np.random.Generator) -> dict:
    """``n_trials`` trials with 3-4 of the follow-ups TIMES, SMD-like effects decaying in log(1 + weeks)."""
    trial, weeks = [], []
    for t in range(n_trials):
        m = int(rng.integers(3, 5))
        for w in sorted(rng.choice(TIMES, size=m, replace=False)):
            trial.append(t)
            weeks.append(w)
    trial = np.asarray(trial)
    weeks = np.asarray(weeks, float)
    k = trial.size
    n = rng.integers(30, 300, n_trials)[trial]
    vi = 4.0 / n
    rows, cols, vals = [], [], []
    starts = np.flatnonzero(np.r_[True, trial[1:] != trial[:-1]])
    ends = np.r_[starts[1:], k]
    for a, b in zip(starts, ends):
        for i in range(a, b):
            for j in range(a, b):
                rows.append(i)
                cols.append(j)
                vals.append(0.7 ** abs(i - j) * np.sqrt(vi[i] * vi[j]))
    u = rng.normal(0, 0.15, n_trials)[trial]
    y = -0.5 + 0.06 * np.log1p(weeks) + u + rng.normal(0, np.sqrt(vi + 0.01))
    return {"trial": trial, "weeks": weeks, "yi": y, "V": (np.asarray(rows), np.asarray(cols), np.asarray(vals))}


# --------------------------------------------------------------------------- trialsynth
def fits():
    sys.path.insert(0, str(ROOT / "src"))
    from scipy import sparse

    from trialsynth.pooling.multivariate import pool_multivariate

    def acu_window(d):
        import pandas as pd

        return lambda: pool_multivariate(d["yi"], d["V"], moderators=pd.DataFrame({"cell": d["cell"]}), intercept=False,
                                         outer=d["trial"], inner=d["window"], struct="CS", warn=False)

    def acu_time(d):
        return lambda: pool_multivariate(d["yi"], d["V"], moderators={"log1p_weeks": np.log1p(d["weeks"])},
                                         levels=[d["trial"]], outer=d["trial"], inner=d["weeks"], struct="CAR",
                                         warn=False)

    def three_level(d):
        return lambda: pool_multivariate(d["yi"], d["vi"], levels=[d["district"], d["school"]], warn=False)

    def curve(d):
        i, j, x = d["V"]
        k = d["yi"].size
        V = sparse.csr_matrix((x, (i, j)), shape=(k, k))
        return lambda: pool_multivariate(d["yi"], V, moderators={"log1p_weeks": np.log1p(d["weeks"])},
                                         levels=[d["trial"]], outer=d["trial"], inner=d["weeks"], struct="CAR",
                                         warn=False)

    return acu_window, acu_time, three_level, curve


# --------------------------------------------------------------------------- R
def write_r_inputs(folder: Path, acu: dict, kon: dict, sims: dict) -> None:
    def csv(path, columns):
        names = list(columns)
        lines = [",".join(names)]
        for row in zip(*(np.asarray(columns[c]) for c in names)):
            lines.append(",".join(str(v) if not isinstance(v, (float, np.floating)) else repr(float(v)) for v in row))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    for name, d in acu.items():
        csv(folder / f"{name}.csv", {"yi": d["yi"], "trial": d["trial"], "cell": d["cell"], "window": d["window"],
                                     "weeks": d["weeks"]})
        np.savetxt(folder / f"{name}_V.csv", d["V"], delimiter=",", fmt="%.17g")
    csv(folder / "konstantopoulos.csv", {"yi": kon["yi"], "vi": kon["vi"], "district": kon["district"],
                                         "school": kon["school"]})
    for n, d in sims.items():
        csv(folder / f"sim_{n}.csv", {"yi": d["yi"], "trial": d["trial"], "weeks": d["weeks"]})
        i, j, x = d["V"]
        csv(folder / f"sim_{n}_V.csv", {"i": i + 1, "j": j + 1, "x": x})


def run_r(acu, kon, sims, quick: bool) -> dict:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {"available": False, "reason": "Rscript not found on PATH"}
    probe = subprocess.run([rscript, "-e", "cat(as.character(packageVersion('metafor')))"], capture_output=True, text=True)
    if probe.returncode != 0:
        return {"available": False, "reason": "R package metafor is not installed"}
    with tempfile.TemporaryDirectory(prefix="trialsynth-mv-bench-") as tmp:
        folder = Path(tmp)
        write_r_inputs(folder, acu, kon, sims)
        out = folder / "r.json"
        cmd = [rscript, str(R_SCRIPT), str(folder), str(out), ",".join(str(n) for n in sims)] + (["quick"] if quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            return {"available": False, "reason": f"Rscript failed: {proc.stderr.strip()[-600:]}"}
        result = json.loads(out.read_text())
    result["available"] = True
    result["metafor"] = probe.stdout.strip()
    return result


def _agreement(res, r: dict) -> float:
    """Max relative difference of coefficients and variance components against metafor's."""
    ours = list(res.coefficients["estimate"]) + list(np.atleast_1d(res.sigma2))
    theirs = list(np.atleast_1d(r["b"])) + list(np.atleast_1d(r.get("sigma2") or []))[: len(np.atleast_1d(res.sigma2))]
    if res.struct is not None:
        ours += list(np.atleast_1d(res.tau2))
        theirs += list(np.atleast_1d(r["tau2"]))
    a, b = np.asarray(ours, float), np.asarray(theirs, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-8)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (for tests)")
    parser.add_argument("--no-r", action="store_true", help="skip metafor")
    parser.add_argument("--output", default=str(HERE / "results_multivariate.json"))
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else 5
    rng = np.random.default_rng(SEED)
    sizes = QUICK_SIZES if args.quick else SIZES
    sims = {n: simulate(n, rng) for n in sizes}
    acu = acupuncture_data()
    kon = konstantopoulos_data()
    acu_window, acu_time, three_level, curve = fits()
    r = {"available": False, "reason": "skipped (--no-r)"} if args.no_r else run_r(acu, kon, sims, args.quick)
    results = {"timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
               "seed": SEED, "targets": TARGETS, "metafor": {k: v for k, v in r.items() if k in ("available", "reason", "metafor")}}
    rows = []

    def bench(name, fn, r_key, target=None, note=""):
        res = fn()
        ours = best_time(fn, repeat=repeat, min_seconds=0.05 if args.quick else 0.2)
        rec = r.get(r_key, {}) if r.get("available") else {}
        peer = rec.get("seconds")
        agree = _agreement(res, rec) if "b" in rec else None
        if rec.get("skipped"):
            note = f"{note}; metafor {rec['skipped']}".strip("; ")
        ratio = None if peer is None else peer / ours
        rows.append({"benchmark": name, "k": res.k, "trialsynth_seconds": ours, "peer": "metafor rma.mv",
                     "peer_seconds": peer, "ratio": ratio, "target": target,
                     "target_met": None if (ratio is None or target is None) else bool(ratio >= target),
                     "max_rel_diff": agree, "iterations": res.iterations, "note": note})

    bench("acupuncture: window model (pain, CS)", acu_window(acu["pain_windows_CS"]), "acu_window",
          TARGETS["acupuncture_vs_rma_mv"])
    bench("acupuncture: time response (sham, CAR)", acu_time(acu["pain_sham_time_CAR"]), "acu_time",
          TARGETS["acupuncture_vs_rma_mv"])
    bench("Konstantopoulos 2011 three-level", three_level(kon), "konstantopoulos", TARGETS["konstantopoulos_vs_rma_mv"])
    for n, d in sims.items():
        dense = not (r.get(f"sim_{n}", {}).get("sparse", False))
        bench(f"cost curve: {n} trials", curve(d), f"sim_{n}",
              note="metafor dense V" if dense else "metafor sparse = TRUE")
    results["rows"] = rows
    header = f"{'benchmark':<42} {'k':>5} {'trialsynth':>11} {'rma.mv':>11} {'ratio':>9} {'max rel diff':>13}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.1f}x"
        diff = "-" if row["max_rel_diff"] is None else f"{row['max_rel_diff']:.1e}"
        tgt = "" if row["target"] is None else (f">={row['target']:g}x " + ("?" if row["target_met"] is None else
                                                                          ("ok" if row["target_met"] else "MISS")))
        print(f"{row['benchmark']:<42} {row['k']:>5} {fmt_seconds(row['trialsynth_seconds']):>11} "
              f"{fmt_seconds(row['peer_seconds']):>11} {ratio:>9} {diff:>13}  {tgt} {row['note']}")
    per = [(row["k"], row["trialsynth_seconds"]) for row in rows if row["benchmark"].startswith("cost curve")]
    if len(per) >= 2:
        ks, ts = np.log([p[0] for p in per]), np.log([p[1] for p in per])
        slope = float(np.polyfit(ks, ts, 1)[0])
        results["cost_exponent"] = slope
        print(f"\ntrialsynth cost grows as k^{slope:.2f} over the cost curve (k = {per[0][0]} to {per[-1][0]} rows)")
    if not r.get("available"):
        print(f"metafor: {r.get('reason')}")
    Path(args.output).write_text(json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8")
    print(f"results written: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
