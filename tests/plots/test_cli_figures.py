"""``trialsynth forest`` and ``trialsynth figures``: the report's pipeline, population and figure builder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "trials.csv"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "trialsynth", *args], capture_output=True, text=True, cwd=cwd)


def _analysis():
    from trialsynth.report.analysis import run_analysis

    return run_analysis(str(DATA))


@pytest.mark.slow
def test_forest_command_writes_one_file_per_window(tmp_path):
    outcome, comparator, add_on, window = next(k for k in _analysis().results() if not k[2])
    proc = run_cli("forest", "--data", str(DATA), "--outcome", str(outcome), "--comparator", str(comparator),
                   "--window", str(window), "--format", "svg", "--format", "pdf", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    stem = f"forest_{outcome}_{comparator}_{window}"
    assert names == [f"{stem}.pdf", f"{stem}.svg"]
    assert (tmp_path / f"{stem}.svg").read_bytes().startswith(b"<?xml")


def test_forest_command_names_the_bad_argument(tmp_path):
    proc = run_cli("forest", "--data", str(DATA), "--comparator", "homeopathy", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "--outcome/--comparator" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("forest", "--data", str(DATA), "--window", "forever", "--out", str(tmp_path))
    assert proc.returncode == 2 and "--window" in proc.stderr
    proc = run_cli("forest", "--data", str(DATA), "--conditions", "chronic_lbp,backache", "--out", str(tmp_path))
    assert proc.returncode == 2 and "--conditions" in proc.stderr and "backache" in proc.stderr


def test_cli_pools_the_report_population_and_names_other_populations_apart():
    """The defect: `trialsynth figures` pooled acute pain and sciatica into the file the report wrote for
    chronic pain (k = 7 against 6). The CLI now runs run_analysis with the report's conditions, and
    any other population, measure or profile gets its own file names."""
    import argparse

    from trialsynth.cli.forest import analysis_for, stem_suffix
    from trialsynth.report.analysis import POOLED_CONDITIONS
    from trialsynth.report.figures import figure_jobs, find_job

    def args(**kw):
        base = dict(data=str(DATA), profile="cochrane-2025", conditions=",".join(POOLED_CONDITIONS), measure="SMD",
                    binary_measure="RR")
        return argparse.Namespace(**{**base, **kw})

    report = _analysis()
    cli = analysis_for(args())
    key = ("pain", "sham", "immediate")
    assert cli.result(*key).labels == report.result(*key).labels
    assert cli.result(*key).estimate == report.result(*key).estimate
    assert stem_suffix(args()) == ""
    everyone = analysis_for(args(conditions="all"))
    assert everyone.result(*key).k > report.result(*key).k  # the sciatica trial joins only when asked
    assert stem_suffix(args(conditions="all")) == "_all_conditions"
    assert stem_suffix(args(measure="MD", profile="revman5-legacy")) == "_md_revman5_legacy"
    job = find_job(figure_jobs(everyone, ("forest",), suffix="_all_conditions"), "forest_pain_sham_immediate_all_conditions")
    assert job.title.endswith("and sciatica (pooled together)") and "\u2014 chronic low back pain" in job.title


@pytest.mark.slow
def test_figures_command_writes_what_the_report_draws(tmp_path):
    from trialsynth.report.figures import KINDS, plan_figures

    an = _analysis()
    proc = run_cli("figures", "--data", str(DATA), "--format", "png", "--dpi", "40", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "figures.json").read_text())
    plan = plan_figures(an, KINDS)
    assert [f["stem"] for f in manifest["figures"]] == [j.stem for j in plan.jobs]
    assert [f["title"] for f in manifest["figures"]] == [j.title for j in plan.jobs]
    kinds = {f["figure"] for f in manifest["figures"]}
    assert {"forest", "forest_by_window", "funnel", "gosh", "leave_one_out", "cumulative", "effect_by_time"} <= kinds
    assert sum(f["figure"] == "forest" for f in manifest["figures"]) == len(an.results())
    assert manifest["skipped"] and all(s["reason"] for s in manifest["skipped"])
    for entry in manifest["figures"]:
        for name in entry["files"]:
            assert (tmp_path / name).stat().st_size > 0


def test_every_subcommand_has_a_description_and_the_report_folder():
    from trialsynth.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("forest", "figures"):
        p = sub.choices[name]
        assert p.description and len(p.description) > 40, name
        out = next(a for a in p._actions if a.dest == "out")
        assert out.default == "reports/figures", name  # as `make report` writes them


def test_figures_command_draws_diagnostics_for_groups_with_enough_studies(tmp_path, monkeypatch, bcg_data):
    """With k >= 3 per group the figures command adds funnel, leave-one-out, cumulative and GOSH plots
    (the BCG trials stand in for a pooled group; the pipeline after run_analysis() is the real one)."""
    import argparse

    import numpy as np

    import trialsynth.cli.figures as figures_cli
    from trialsynth.pooling.grouped import pool_groups
    from trialsynth.report.analysis import Analysis

    frame, _ = bcg_data
    variances = ((frame["ci_high"] - frame["estimate"]) / 1.959963984540054) ** 2
    short = pd.DataFrame({"study_id": frame["label"], "outcome": "responder", "comparator_class": "sham",
                          "add_on": False, "window": "short", "yi": frame["estimate"], "vi": variances, "measure": "RR",
                          "year": frame["year"], "n1": frame["n1"], "events1": frame["events1"],
                          "n2": frame["n2"], "events2": frame["events2"], "approximate": False,
                          "favourable_direction": "lower", "condition": "chronic_lbp"})
    effects = pd.concat([short, short.iloc[:8].assign(window="long")], ignore_index=True)
    grouped = pool_groups(effects, by=("outcome", "comparator_class", "add_on", "window"), profile="cochrane-2025")
    an = Analysis(data_path="unused.csv", profile="cochrane-2025", selected=effects, grouped=grouped)
    monkeypatch.setattr(figures_cli, "analysis_for", lambda args: an)
    args = argparse.Namespace(data="unused.csv", profile="cochrane-2025", conditions="chronic_lbp,mixed_lbp",
                              measure="SMD", binary_measure="RR", style="cochrane", formats=["svg"], dpi=72,
                              out=str(tmp_path))
    assert figures_cli.run(args) == 0
    manifest = json.loads((tmp_path / "figures.json").read_text())
    kinds = [f["figure"] for f in manifest["figures"]]
    for kind in ("forest", "funnel", "leave_one_out", "cumulative", "gosh", "forest_by_window",
                 "short_long_panel", "effect_by_time"):
        assert kind in kinds, kind
    assert kinds.count("forest") == 2 and kinds.count("gosh") == 2  # k = 13 and 8, both <= 15
    assert np.all([(tmp_path / name).stat().st_size > 0 for f in manifest["figures"] for name in f["files"]])
