"""The figures drawn straight from the engine's results (pool, subgroups, diagnostics): the plot shows
exactly the numbers the engine returned."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import texts_outside
from oracle_data import ORACLE

import trialsynth as ts
from trialsynth.plots import (
    cumulative_plot,
    forest_plot,
    funnel_plot,
    gosh_plot,
    leave_one_out_plot,
)


@pytest.fixture
def bcg_fit(bcg_data):
    frame, _ = bcg_data
    variances = ((frame["ci_high"] - frame["estimate"]) / 1.959963984540054) ** 2
    result = ts.pool(frame["estimate"].to_numpy(), variances.to_numpy(), measure="RR", labels=list(frame["label"]))
    return frame, variances.to_numpy(), result


def _rows(fig):
    return [r for r in fig.forest_layout.rows if r.kind == "study"]


def test_leave_one_out_and_cumulative_from_the_engine(bcg_fit):
    _, _, result = bcg_fit
    loo = ts.leave_one_out(result)
    fig = leave_one_out_plot(loo, result, font="DejaVu Sans")
    assert [r.label for r in _rows(fig)] == [f"Omitting {label}" for label in loo["omitted"]]
    assert [r.estimate for r in _rows(fig)] == pytest.approx(list(np.exp(loo["estimate"])), rel=1e-12)
    assert [r.high for r in _rows(fig)] == pytest.approx(list(np.exp(loo["ci_high"])), rel=1e-12)
    assert fig.axes[0].get_xscale() == "log"
    assert texts_outside(fig) == []
    cum = ts.cumulative(result)
    fig = cumulative_plot(cum, result, font="DejaVu Sans")
    assert [r.label for r in _rows(fig)] == [f"+ {label}" for label in cum["added"]]
    assert _rows(fig)[-1].estimate == pytest.approx(math.exp(result.estimate), rel=1e-9)
    assert texts_outside(fig) == []


def test_funnel_from_trim_and_fill_and_funnel_coordinates(bcg_fit):
    _, _, result = bcg_fit
    filled = ts.trim_and_fill(result)
    coords = ts.funnel_coordinates(filled)
    fig = funnel_plot(coords, trimfill=filled, measure="RR", font="DejaVu Sans")
    ax = fig.axes[0]
    lines = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    imputed = coords.studies[coords.studies["filled"]]
    assert len(lines["funnel:imputed"].get_xdata()) == filled.k0 == len(imputed)
    assert lines["funnel:imputed"].get_xdata() == pytest.approx(list(np.exp(imputed["yi"])), rel=1e-12)
    assert lines["funnel:adjusted"].get_xdata()[0] == pytest.approx(math.exp(filled.estimate), rel=1e-12)
    assert texts_outside(fig) == []


def test_gosh_from_the_engine(bcg_fit):
    frame, variances, _ = bcg_fit
    small = ts.pool(frame["estimate"].to_numpy()[:7], variances[:7], measure="RR", labels=list(frame["label"][:7]))
    subsets = ts.gosh(small)
    fig = gosh_plot(subsets, small, font="DejaVu Sans")
    points = [c for c in fig.axes[0].collections if c.get_gid() == "gosh-points"][0]
    assert len(points.get_offsets()) == len(subsets) == 2**7 - 1  # every non-empty subset
    assert list(points.get_offsets()[:, 0]) == pytest.approx(list(np.exp(subsets["estimate"])), rel=1e-12)
    assert list(points.get_offsets()[:, 1]) == pytest.approx(list(subsets["i2"]), rel=1e-12)
    assert texts_outside(fig) == []


def test_forest_from_subgroups_result(bcg_fit):
    frame, variances, _ = bcg_fit
    alloc = pd.read_csv(ORACLE / "dat.bcg.csv")["alloc"].to_numpy()
    result = ts.subgroups(frame["estimate"].to_numpy(), variances, alloc, labels=list(frame["label"]), measure="RR")
    fig = forest_plot(result, font="DejaVu Sans")
    diamonds = sorted(p.get_xy()[1][0] for p in fig.axes[0].patches if (p.get_gid() or "").startswith("diamond"))
    assert diamonds == pytest.approx(sorted(math.exp(fit.estimate) for fit in result.fits.values()), rel=1e-12)
    test = result.between_separate
    notes = [t.get_text() for t in fig.texts if (t.get_gid() or "").startswith("note:")]
    assert any(n.startswith(f"Test for subgroup differences: Chi\u00b2 = {test.statistic:.2f}, df = {test.df:g}")
               for n in notes)
    assert texts_outside(fig) == []
