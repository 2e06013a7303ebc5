"""benchmarks/run.py runs in its quick mode and writes the documented fields (speed is not tested)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "benchmarks" / "run.py"


def _run(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "results.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--no-report", "--output", str(out), *extra],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "benchmark" in proc.stdout and "ratio" in proc.stdout  # the printed table
    return json.loads(out.read_text(encoding="utf-8"))


def test_quick_run_writes_results_without_r(tmp_path):
    results = _run(tmp_path, "--no-r")
    for key in ("timestamp", "machine", "targets", "single", "batch", "gosh", "permutest", "memory", "summary"):
        assert key in results, key
    assert results["quick"] is True
    assert results["metafor"] == {"available": False, "reason": "skipped (--no-r)"}
    assert results["machine"]["cpu_count"] >= 1 and results["machine"]["numpy"] == np.__version__
    # peers that are always there: statsmodels and the bare numpy formula
    assert results["single"]["statsmodels_dl_seconds"] > 0
    assert results["batch"]["numpy_dl_seconds_per_fit"] > 0
    assert results["memory"]["batch_input_bytes"] == 2 * 8 * results["batch"]["m"] * results["batch"]["k"]
    names = [row["benchmark"] for row in results["summary"]]
    assert any(name.startswith("single REML") for name in names)
    assert any(name.startswith("batch DL") for name in names)
    for row in results["summary"]:
        assert set(row) >= {"benchmark", "trialsynth_seconds", "peer", "peer_seconds", "ratio", "target", "target_met"}
        if row["ratio"] is not None:
            assert row["ratio"] == pytest.approx(row["peer_seconds"] / row["trialsynth_seconds"])


def test_numpy_dl_reference_formula_matches_statsmodels():
    """The 'practical limit' formula of the benchmark is a correct DerSimonian-Laird."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run as bench_run
    finally:
        sys.path.pop(0)
    from statsmodels.stats.meta_analysis import combine_effects

    rng = np.random.default_rng(7)
    yi, vi = bench_run.simulate_meta_analyses(rng, 5, 8)
    est, se, tau2 = bench_run.numpy_dl(yi, vi)
    for j in range(5):
        ref = combine_effects(yi[j], vi[j], method_re="dl")
        assert est[j] == pytest.approx(ref.mean_effect_re, rel=1e-12)
        assert se[j] == pytest.approx(ref.sd_eff_w_re, rel=1e-12)
        assert tau2[j] == pytest.approx(ref.tau2, rel=1e-12, abs=1e-15)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed (metafor comparison is optional)")
def test_quick_run_with_metafor(tmp_path):
    results = _run(tmp_path)
    metafor = results["metafor"]
    if not metafor["available"]:
        assert "metafor" in metafor["reason"] or "Rscript" in metafor["reason"]
        return
    assert metafor["metafor_version"]
    assert results["single"]["metafor_reml_seconds"] > 0
    assert results["batch"]["metafor_loop_reml_seconds_per_fit"] > 0
    assert results["gosh"]["metafor_seconds_per_subset"] > 0
    assert results["permutest"]["metafor_seconds"] > 0
