"""The report's figures: worker processes write the same bytes as this process, and the content
cache skips exactly the figures whose inputs and files are unchanged."""

from __future__ import annotations

import json
import os

import numpy as np

from trialsynth.pooling.fit import pool
from trialsynth.report.figures import MANIFEST, FigureJob, FigurePool, job_key, write_figures

FORMATS = ("svg", "pdf", "png")


def jobs():
    rng = np.random.default_rng(7)
    out = []
    for i, k in enumerate((3, 5, 4)):
        yi = rng.normal(-0.3, 0.3, k)
        vi = rng.uniform(0.02, 0.1, k)
        res = pool(yi, vi, method="REML", labels=[f"Study{i}{j} 20{10 + j}" for j in range(k)], measure="SMD",
                   warn=False)
        out.append(FigureJob("forest", ("pain", "sham", f"w{i}"), f"forest_pain_sham_w{i}", f"Figure {i}", res))
    sections = [("Short term", out[0].content), ("Long term", out[1].content)]
    out.append(FigureJob("panel", ("pain", "sham"), "panel_pain_sham", "Panel", sections))
    return out


def read_all(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_workers_write_the_same_bytes_as_this_process(tmp_path):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    stats_serial, stats_parallel = {}, {}
    made_serial = write_figures(jobs(), serial, FORMATS, pool=None, stats=stats_serial)
    figure_pool = FigurePool(2)
    try:
        made_parallel = write_figures(jobs(), parallel, FORMATS, pool=figure_pool, stats=stats_parallel)
    finally:
        figure_pool.shutdown()
    assert stats_serial["workers"] == 0
    assert stats_parallel["workers"] == figure_pool.workers == min(2, os.cpu_count() or 1)
    assert made_serial == made_parallel and len(made_serial) == 4
    files_serial, files_parallel = read_all(serial), read_all(parallel)
    assert len(files_serial) == 12
    assert files_serial == files_parallel


def test_cache_skips_unchanged_figures_and_redraws_changed_ones(tmp_path):
    out = tmp_path / "out"
    folder = out / "figures"
    stats = {}
    write_figures(jobs(), folder, FORMATS, out_dir=out, stats=stats)
    assert stats["rendered"] == 4 and stats["cached"] == 0
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["figures"]) == {j.stem for j in jobs()}
    first = read_all(folder)
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    stats = {}
    made = write_figures(jobs(), folder, FORMATS, out_dir=out, stats=stats)
    assert stats["rendered"] == 0 and stats["cached"] == 4
    assert [m["stem"] for m in made] == [j.stem for j in jobs()]
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes  # nothing rewritten

    # a damaged file, a changed title and changed data each redraw exactly their figure
    (folder / "forest_pain_sham_w0.pdf").write_bytes(b"not a pdf")
    changed = jobs()
    changed[1] = FigureJob(changed[1].kind, changed[1].key, changed[1].stem, "Another title", changed[1].content)
    res = changed[2].content
    changed[2] = FigureJob(changed[2].kind, changed[2].key, changed[2].stem, changed[2].title,
                           pool(res.yi + 0.01, res.vi, method="REML", labels=res.labels, measure="SMD", warn=False))
    stats = {}
    write_figures(changed, folder, FORMATS, out_dir=out, stats=stats)
    assert stats["rendered"] == 3 and stats["cached"] == 1
    after = read_all(folder)
    assert after["forest_pain_sham_w0.pdf"] == first["forest_pain_sham_w0.pdf"]  # restored, same bytes
    assert after["panel_pain_sham.svg"] == first["panel_pain_sham.svg"]
    assert after["forest_pain_sham_w1.svg"] != first["forest_pain_sham_w1.svg"]
    assert after["forest_pain_sham_w2.png"] != first["forest_pain_sham_w2.png"]

    # without the cache everything is drawn again, to the same bytes
    stats = {}
    write_figures(changed, folder, FORMATS, out_dir=out, use_cache=False, stats=stats)
    assert stats["rendered"] == 4 and read_all(folder) == after


def test_key_covers_the_inputs():
    base = jobs()[0]
    key = job_key(base, "env")
    assert key == job_key(jobs()[0], "env")  # a new, equal result gives the same key
    assert key != job_key(base, "other environment")
    res = base.content
    other = pool(res.yi, res.vi * 1.0000001, method="REML", labels=res.labels, measure="SMD", warn=False)
    assert key != job_key(FigureJob(base.kind, base.key, base.stem, base.title, other), "env")
    relabelled = pool(res.yi, res.vi, method="REML", labels=["x"] * res.k, measure="SMD", warn=False)
    assert key != job_key(FigureJob(base.kind, base.key, base.stem, base.title, relabelled), "env")


def test_a_failing_figure_is_reported_not_raised(tmp_path):
    bad = FigureJob("forest", ("x",), "forest_x", "Bad", "not a result")
    notes = []
    made = write_figures([bad, *jobs()[:1]], tmp_path, ("svg",), notes=notes)
    assert [m["stem"] for m in made] == ["forest_pain_sham_w0"]
    assert notes and notes[0].startswith("Figure forest_x failed:")


def test_pool_sizes():
    assert not FigurePool(0).usable  # 0: draw in this process
    assert FigurePool(1).workers == 1
    assert FigurePool(None).workers == min(2, (os.cpu_count() or 1) - 1)


def test_current_rc_does_not_resolve_the_backend():
    """current_rc runs while the report's notebook thread imports IPython; resolving the automatic
    backend there goes through pyplot, which probes the half-imported IPython (a crash seen on a
    fresh install). It must read the settings without importing pyplot."""
    import os
    import subprocess
    import sys

    code = ("import sys, matplotlib; from trialsynth.report.figures import current_rc; rc = current_rc(); "
            "assert 'backend' not in rc and rc['font.size'] == matplotlib.rcParams['font.size']; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "MPLBACKEND": ""})
    assert done.returncode == 0, done.stderr


def test_every_kind_of_report_figure_is_byte_stable_in_workers_and_cached(tmp_path):
    """The report's pool draws every kind the builder makes (forest, windows, panel, funnel,
    leave-one-out, cumulative, GOSH, effect by time): the same bytes in a worker as here, and a
    second run redraws nothing; a changed diagnostic frame redraws only its figure."""
    import dataclasses
    from pathlib import Path

    from trialsynth.report.analysis import run_analysis
    from trialsynth.report.figures import KINDS, plan_figures

    data = Path(__file__).resolve().parents[2] / "data" / "trials.csv"
    an = run_analysis(str(data))
    plan = plan_figures(an, KINDS, keys=[("pain", "sham", False, "short"), ("pain", "sham", False, "intermediate")])
    kinds = {job.kind for job in plan.jobs}
    assert {"forest", "forest_by_window", "short_long_panel", "funnel", "leave_one_out", "cumulative", "gosh",
            "effect_by_time"} <= kinds
    formats = ("svg", "png")
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    write_figures(plan.jobs, serial, formats, dpi=40)
    figure_pool = FigurePool(2)
    try:
        notes = []
        write_figures(plan.jobs, parallel, formats, pool=figure_pool, dpi=40, notes=notes)
    finally:
        figure_pool.shutdown()
    assert notes == []
    assert read_all(serial) == read_all(parallel) and len(read_all(serial)) == 2 * len(plan.jobs)

    out = tmp_path / "out"
    stats = {}
    write_figures(plan.jobs, out / "figures", formats, out_dir=out, dpi=40, stats=stats)
    assert stats["rendered"] == len(plan.jobs)
    stats = {}
    write_figures(plan.jobs, out / "figures", formats, out_dir=out, dpi=40, stats=stats)
    assert stats == {"rendered": 0, "cached": len(plan.jobs), "failed": 0, "workers": 0}
    gosh = next(i for i, job in enumerate(plan.jobs) if job.kind == "gosh")
    changed = list(plan.jobs)
    frame = changed[gosh].content.copy()
    frame.loc[0, "estimate"] += 1e-9  # a frame is keyed bit for bit, not by its (rounded) repr
    changed[gosh] = dataclasses.replace(changed[gosh], content=frame)
    stats = {}
    write_figures(changed, out / "figures", formats, out_dir=out, dpi=40, stats=stats)
    assert stats["rendered"] == 1 and stats["cached"] == len(plan.jobs) - 1
