"""Shared helpers for the figure tests."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from oracle_data import bcg, oracle_available, synthetic  # noqa: E402

BASELINE = HERE / "baseline"


@pytest.fixture
def bcg_data():
    if not oracle_available():
        pytest.fail("the metafor oracle /work/shared/oracle/metafor/dat.bcg.json is missing")
    return bcg()


@pytest.fixture
def synthetic_data():
    return synthetic


def texts_outside(fig, tolerance_px: float = 0.5):
    """Every visible text artist whose rendered extent leaves the figure (an independent check)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    bad = []
    for artist in fig.findobj(Text):
        if not artist.get_visible() or not artist.get_text().strip():
            continue
        extent = artist.get_window_extent(renderer)
        if (
            extent.x0 < box.x0 - tolerance_px
            or extent.x1 > box.x1 + tolerance_px
            or extent.y0 < box.y0 - tolerance_px
            or extent.y1 > box.y1 + tolerance_px
        ):
            bad.append((artist.get_text(), tuple(round(v, 1) for v in extent.extents)))
    return bad
