"""docs/forest.png, the README's first picture, shows the current data and says what it shows.

The review found it stale (every section k = 1, an acute trial pooled, a 12-line footnote, a caption
that did not match). ``make docs`` redraws it with the report's builder and records a fingerprint
of what it shows (numbers to 6 significant digits, every text it prints, its axis limits, the
script) in docs/forest.json; this test recomputes the fingerprint, so it fails when the figure is stale on
any machine, whatever its matplotlib version (no PNG bytes are compared).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "make_readme_figure.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_readme_figure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_figure_is_drawn_from_the_current_data_and_code(script):
    recorded = json.loads((ROOT / "docs" / "forest.json").read_text(encoding="utf-8"))
    job = script.readme_job()
    assert recorded["figure"] == job.stem == "forest_pain_sham_by_window"
    assert recorded["fingerprint"] == script.fingerprint(job), (
        "docs/forest.png is stale (what the data and the code draw changed since it was made): run `make docs`"
    )
    assert recorded["title"] == job.title
    assert (ROOT / "docs" / "forest.png").read_bytes().startswith(b"\x89PNG")


def test_readme_caption_matches_the_figure():
    recorded = json.loads((ROOT / "docs" / "forest.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (alt,) = re.findall(r"!\[([^\]]*)\]\(docs/forest\.png\)", readme)
    assert alt == recorded["title"]
    assert "make docs" in readme


def test_fingerprint_follows_what_is_drawn_not_the_platform(script):
    """Numbers below the 6th significant digit (a BLAS or numpy difference) leave it alone; a
    change anyone could see (a study's effect, a title) changes it."""
    import dataclasses

    import numpy as np

    job = script.readme_job()
    digest = script.fingerprint(job)
    heading, first = job.content[0]
    nudged = dataclasses.replace(first, estimate=first.estimate * (1 + 1e-12), iterations=first.iterations + 3)
    same = dataclasses.replace(job, content=[(heading, nudged), *job.content[1:]])
    assert script.fingerprint(same) == digest
    moved = dataclasses.replace(first, yi=np.asarray(first.yi) + 0.01)
    assert script.fingerprint(dataclasses.replace(job, content=[(heading, moved), *job.content[1:]])) != digest
    assert script.fingerprint(dataclasses.replace(job, title=job.title + " (old)")) != digest
    # what the figure prints counts (e.g. a caption reworded by the plotting code), not only the inputs
    import trialsynth.plots._captions as captions

    legend = captions.TWO_STUDIES_LEGEND
    try:
        captions.TWO_STUDIES_LEGEND = legend + " (reworded)"
        assert script.fingerprint(job) != digest
    finally:
        captions.TWO_STUDIES_LEGEND = legend
