"""benchmarks/multivariate.py runs in its quick mode and writes its documented fields (speed is not tested)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_without_r(tmp_path):
    out = tmp_path / "mv.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "multivariate.py"), "--quick", "--no-r",
                           "--output", str(out)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ratio" in proc.stdout and "cost curve" in proc.stdout
    results = json.loads(out.read_text())
    assert results["metafor"] == {"available": False, "reason": "skipped (--no-r)"}
    names = [row["benchmark"] for row in results["rows"]]
    assert any(n.startswith("acupuncture: window model") for n in names)
    assert any(n.startswith("Konstantopoulos") for n in names)
    assert sum(n.startswith("cost curve") for n in names) == 2
    for row in results["rows"]:
        assert row["trialsynth_seconds"] > 0 and row["ratio"] is None and row["k"] > 0
    assert "cost_exponent" in results


def test_run_py_runs_the_multivariate_part(tmp_path):
    out = tmp_path / "run.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--only", "multivariate", "--quick",
                           "--no-r", "--output", str(out)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Konstantopoulos 2011 three-level" in proc.stdout
    rows = json.loads(out.read_text())["multivariate"]["rows"]
    assert any(r["benchmark"].startswith("acupuncture: window model") for r in rows)
