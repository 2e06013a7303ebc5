"""Draw the README's figure, ``docs/forest.png``, from the current data: ``make docs``.

The figure is the report's own ``forest_pain_sham_by_window`` (the same builder, population and
pipeline as ``make report``), written as a PNG. Beside it, ``docs/forest.json`` records its title
and a fingerprint of what it shows (:func:`trialsynth.report.figures.stable_fingerprint`: the
pooled numbers to 6 significant digits, the study data, every text the figure prints, its axis
limits and this script), so ``tests/report/test_docs_figure.py`` fails when the picture no longer
says what the data and the code say, on any machine, without comparing PNG bytes (which differ
between matplotlib versions). A code change that only moves pixels is not detected.

Run from the repository root: ``python docs/make_readme_figure.py`` (``--force`` redraws even
when the fingerprint is unchanged). Thin: the package does the statistics and the drawing.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "trials.csv"
PNG = ROOT / "docs" / "forest.png"
SIDECAR = ROOT / "docs" / "forest.json"
STEM = "forest_pain_sham_by_window"
DPI = 110


def readme_job():
    """The figure job of the README (the report's pain x sham figure of every window)."""
    from trialsynth.report.analysis import run_analysis
    from trialsynth.report.figures import figure_jobs, find_job

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = run_analysis(str(DATA))
    return find_job(figure_jobs(analysis, ("forest_by_window",)), STEM)


def fingerprint(job) -> str:
    from trialsynth.report.figures import stable_fingerprint

    return stable_fingerprint(job, extra=Path(__file__).read_bytes() + f"dpi {DPI}".encode())


def main(argv: list[str] | None = None) -> int:
    force = "--force" in (argv if argv is not None else sys.argv[1:])
    job = readme_job()
    digest = fingerprint(job)
    try:
        recorded = json.loads(SIDECAR.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    if not force and recorded.get("fingerprint") == digest and PNG.is_file():
        print(f"{PNG.relative_to(ROOT)} is up to date ({job.title})")
        return 0
    from trialsynth.data.io import atomic_write_text
    from trialsynth.plots import save_figure
    from trialsynth.report.figures import draw

    save_figure(draw(job), PNG.with_suffix(""), ("png",), dpi=DPI)
    atomic_write_text(SIDECAR, json.dumps({"figure": job.stem, "title": job.title, "data": "data/trials.csv",
                                           "fingerprint": digest}, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {PNG.relative_to(ROOT)} and {SIDECAR.relative_to(ROOT)}: {job.title}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
