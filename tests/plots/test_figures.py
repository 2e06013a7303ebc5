"""The other standard figures: funnel, leave-one-out, cumulative, GOSH, RoB, effect by time, paired panels."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import texts_outside
from matplotlib.figure import Figure
from oracle_data import ORACLE

from trialsynth.errors import ArgumentError
from trialsynth.plots import (
    cumulative_plot,
    effect_by_time_plot,
    funnel_plot,
    gosh_plot,
    leave_one_out_plot,
    rob_traffic_light,
    short_long_panel,
)


@pytest.fixture
def bcg_record():
    return json.loads((ORACLE / "dat.bcg.json").read_text())


def _lines(fig, gid_prefix):
    return [line for ax in fig.axes for line in ax.lines if (line.get_gid() or "").startswith(gid_prefix)]


def test_funnel_with_trim_and_fill(bcg_record, bcg_data):
    escalc = bcg_record["measures"]["RR"]["escalc"]
    filled = bcg_record["primary"]["trimfill"]["REML"]

    class TrimFill:  # the fields trim_and_fill results carry (metafor's names)
        yi, vi, fill, estimate = filled["yi"], filled["vi"], filled["fill"], filled["b"]

    _, pooled = bcg_data
    studies = pd.DataFrame({"yi": escalc["yi"], "vi": escalc["vi"]})
    fig = funnel_plot(studies, estimate=pooled["estimate"], trimfill=TrimFill, measure="RR", font="DejaVu Sans")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylim()[0] > ax.get_ylim()[1]  # SE axis points down
    (points,) = _lines(fig, "funnel:studies")
    assert np.allclose(points.get_xdata(), np.exp(escalc["yi"]))
    assert np.allclose(points.get_ydata(), np.sqrt(escalc["vi"]))
    (imputed,) = _lines(fig, "funnel:imputed")
    assert len(imputed.get_xdata()) == sum(filled["fill"]) == filled["k0"]
    assert imputed.get_markerfacecolor() == "white"
    (adjusted,) = _lines(fig, "funnel:adjusted")
    assert adjusted.get_xdata()[0] == pytest.approx(math.exp(filled["b"]))
    wedge = [p for p in ax.patches if p.get_gid() == "contour:0.05"][0]
    apex, right = wedge.get_xy()[0], wedge.get_xy()[1]
    assert apex[0] == pytest.approx(1.0)  # contours are centred on the null
    assert math.log(right[0]) / right[1] == pytest.approx(1.959963984540054)
    assert texts_outside(fig) == []


def test_leave_one_out_plot(bcg_record, bcg_data):
    _, pooled = bcg_data
    loo = bcg_record["primary"]["leave1out"]
    frame = pd.DataFrame({"label": bcg_record["study"], "estimate": loo["estimate"], "ci_low": loo["ci.lb"],
                          "ci_high": loo["ci.ub"], "i2": loo["I2"], "tau2": loo["tau2"]})
    fig = leave_one_out_plot(frame, pooled, measure="RR", font="DejaVu Sans")
    rows = [r for r in fig.forest_layout.rows if r.kind == "study"]
    assert [r.label for r in rows] == [f"Omitting {s}" for s in bcg_record["study"]]
    assert np.allclose([r.estimate for r in rows], np.exp(loo["estimate"]))
    i2_texts = [t.get_text() for t in fig.texts if (t.get_gid() or "").startswith("extra:__i2")]
    assert i2_texts == [f"{v:.0f}%" for v in loo["I2"]]
    diamond = [p for p in fig.axes[0].patches if (p.get_gid() or "").startswith("diamond:")][0]
    assert diamond.get_xy()[1][0] == pytest.approx(math.exp(pooled["estimate"]))
    assert _lines(fig, "pooled-line")
    assert texts_outside(fig) == []


def test_cumulative_plot(bcg_record, bcg_data):
    _, pooled = bcg_data
    cum = bcg_record["primary"]["cumul"]
    frame = pd.DataFrame({"label": bcg_record["study"], "estimate": cum["estimate"], "ci_low": cum["ci.lb"],
                          "ci_high": cum["ci.ub"], "i2": cum["I2"]})
    fig = cumulative_plot(frame, pooled, measure="RR", style="jama", font="DejaVu Sans")
    rows = [r for r in fig.forest_layout.rows if r.kind == "study"]
    assert [r.label for r in rows] == [f"+ {s}" for s in bcg_record["study"]]
    assert rows[-1].estimate == pytest.approx(math.exp(pooled["estimate"]), rel=1e-6)  # all studies in
    assert texts_outside(fig) == []
    with pytest.raises(ArgumentError, match="cumulative"):
        cumulative_plot(frame.drop(columns=["ci_low"]))


def test_gosh_plot():
    subsets = pd.DataFrame({"estimate": np.linspace(-1, 0.2, 300), "i2": np.linspace(0, 90, 300)})
    fig = gosh_plot(subsets, measure="RR", font="DejaVu Sans")
    points = [c for c in fig.axes[0].collections if c.get_gid() == "gosh-points"][0]
    assert len(points.get_offsets()) == 300
    assert np.allclose(points.get_offsets()[:, 0], np.exp(subsets["estimate"]))
    hex_fig = gosh_plot(subsets, kind="hexbin", font="DejaVu Sans")
    assert [c for c in hex_fig.axes[0].collections if c.get_gid() == "gosh-hexbin"]
    assert texts_outside(fig) == [] and texts_outside(hex_fig) == []
    with pytest.raises(ArgumentError, match="gosh"):
        gosh_plot(subsets.drop(columns=["i2"]))


def test_rob_traffic_light():
    rob = pd.DataFrame({
        "label": ["Haake 2007", "Brinkhaus 2006", "Cherkin 2009", "Witt 2006"],
        "D1": ["low", "low", "some_concerns", "high"],
        "D2": ["high", "low", None, "unclear"],
        "Overall": ["high", "low", "some_concerns", "high"],
    })
    fig = rob_traffic_light(rob, domains={"D1": "Randomisation process", "D2": "Deviations", "Overall": "Overall"},
                            font="DejaVu Sans")
    cells = [line.get_gid() for ax in fig.axes for line in ax.lines if (line.get_gid() or "").startswith("rob-cell")]
    assert len(cells) == 11  # one missing judgement is left blank
    bars = {p.get_gid(): p.get_width() for ax in fig.axes for p in ax.patches if (p.get_gid() or "").startswith("rob-bar")}
    assert bars["rob-bar:D1:low"] == pytest.approx(50.0)
    assert bars["rob-bar:D2:high"] == pytest.approx(100 / 3)  # of the 3 studies judged
    assert sum(v for k, v in bars.items() if k.startswith("rob-bar:Overall")) == pytest.approx(100.0)
    assert texts_outside(fig) == []
    with pytest.raises(ArgumentError, match="judgement"):
        rob_traffic_light(rob.assign(D1="fine"))


def test_effect_by_time_plot():
    frame = pd.DataFrame({
        "comparator_class": ["sham", "sham", "usual_care", "usual_care"],
        "weeks_after_treatment": [0.0, 26.0, 0.0, 40.0],
        "estimate": np.log([0.6, 0.9, 0.5, 0.7]),
        "ci_low": np.log([0.4, 0.6, 0.3, 0.5]),
        "ci_high": np.log([0.9, 1.3, 0.8, 1.0]),
        "k": [4, 2, 5, 3],
        "measure": "RR",
    })
    fig = effect_by_time_plot(frame, font="DejaVu Sans")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    series = {line.get_gid(): line for line in ax.lines if (line.get_gid() or "").startswith("series:")}
    assert set(series) == {"series:sham", "series:usual care"}
    assert np.allclose(series["series:sham"].get_ydata(), [0.6, 0.9])
    fig.canvas.draw()
    for label in ax.get_yticklabels():
        if label.get_text():
            assert "e" not in label.get_text() and "$" not in label.get_text()
    assert texts_outside(fig) == []


def test_short_long_panel_shares_rows_and_axis(synthetic_data):
    short, pooled_short = synthetic_data(5, seed=7)
    long, pooled_long = synthetic_data(3, seed=8)
    long["label"] = list(short["label"].iloc[1:4])
    pooled_long = dict(pooled_long, estimate=-0.05, ci_low=-0.25, ci_high=0.15)
    fig = short_long_panel((short, pooled_short), (long, pooled_long), measure="SMD", font="DejaVu Sans")
    left, right = fig.axes
    assert left.get_xlim() == right.get_xlim()
    assert [t.get_text() for t in left.get_xticklabels()] == [t.get_text() for t in right.get_xticklabels()]
    assert fig.forest_rows == list(short["label"])
    diamonds = [[p for p in ax.patches if (p.get_gid() or "").startswith("diamond")][0] for ax in fig.axes]
    assert diamonds[0].get_xy()[1][0] == pytest.approx(pooled_short["estimate"])
    assert diamonds[1].get_xy()[1][0] == pytest.approx(pooled_long["estimate"])
    squares_right = [line for line in right.lines if (line.get_gid() or "").startswith("square:")]
    assert sorted(line.get_ydata()[0] for line in squares_right) == [1, 2, 3]  # matched rows
    assert texts_outside(fig) == []


def test_short_long_panel_shows_the_joint_estimates(synthetic_data):
    """Issue 15: the panel can show the joint model's window estimates below the separate pools."""
    short, pooled_short = synthetic_data(5, seed=7)
    long, pooled_long = synthetic_data(3, seed=8)
    long["label"] = list(short["label"].iloc[1:4])
    fig = short_long_panel((short, pooled_short), (long, pooled_long), measure="SMD", font="DejaVu Sans",
                           joint=[(-0.31, -0.45, -0.17), {"estimate": -0.2, "ci_low": -0.4, "ci_high": 0.0}],
                           joint_note="Joint model: rho 0.5 assumed.")
    joint = [[p for p in ax.patches if (p.get_gid() or "").startswith("joint-diamond")] for ax in fig.axes]
    assert [len(j) for j in joint] == [1, 1]
    assert joint[0][0].get_xy()[1][0] == pytest.approx(-0.31) and joint[1][0].get_xy()[0][0] == pytest.approx(-0.4)
    assert joint[0][0].get_facecolor()[:3] == (1.0, 1.0, 1.0)  # open: not the separate pool's diamond
    texts = [t.get_text() for t in fig.texts]
    assert "Joint model (95% CI)" in texts and "Joint model: rho 0.5 assumed." in texts
    assert any(t.replace("\u2212", "-").startswith("-0.31") and "-0.45" in t.replace("\u2212", "-") for t in texts)
    assert texts_outside(fig) == []
    # one panel without a joint estimate; wrong lengths and bad intervals are refused
    fig = short_long_panel((short, pooled_short), (long, pooled_long), measure="SMD", joint=[None, (-0.2, -0.4, 0.0)])
    assert [len([p for p in ax.patches if (p.get_gid() or "").startswith("joint")]) for ax in fig.axes] == [0, 1]
    with pytest.raises(ArgumentError, match="one estimate"):
        short_long_panel((short, pooled_short), (long, pooled_long), joint=[(-0.2, -0.4, 0.0)])
    with pytest.raises(ArgumentError, match="ci_low <= estimate"):
        short_long_panel((short, pooled_short), (long, pooled_long), joint=[(0.5, -0.4, 0.0), None])


def test_funnel_draws_engine_coordinates_as_given(bcg_record):
    """With FunnelCoordinates (trialsynth.funnel_coordinates) the plot draws the given lines, computing nothing."""
    from types import SimpleNamespace

    filled = bcg_record["primary"]["trimfill"]["REML"]
    sei = np.sqrt(filled["vi"])
    grid = np.linspace(0, sei.max(), 5)
    z = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}
    contours = pd.DataFrame([{"level": lvl, "sei": s, "low": -zv * s, "high": zv * s}
                             for lvl, zv in z.items() for s in grid])
    coords = SimpleNamespace(
        studies=pd.DataFrame({"label": [f"s{i}" for i in range(len(sei))], "yi": filled["yi"], "sei": sei,
                              "filled": filled["fill"]}),
        center=filled["b"],
        pseudo_ci=pd.DataFrame({"sei": grid, "ci_low": filled["b"] - 1.96 * grid, "ci_high": filled["b"] + 1.96 * grid}),
        contours=contours, level=95.0, refline=0.0,
    )
    fig = funnel_plot(coords, measure="RR", font="DejaVu Sans")
    ax = fig.axes[0]
    (studies,) = _lines(fig, "funnel:studies")
    (imputed,) = _lines(fig, "funnel:imputed")
    assert len(studies.get_xdata()) == len(sei) - filled["k0"] and len(imputed.get_xdata()) == filled["k0"]
    pseudo = _lines(fig, "funnel:pseudo-ci")
    assert np.allclose(pseudo[0].get_xdata(), np.exp(coords.pseudo_ci["ci_low"]))
    wedge = [p for p in ax.patches if p.get_gid() == "contour:0.05"][0].get_xy()
    assert np.allclose(wedge[len(grid) - 1], [math.exp(1.959963984540054 * grid[-1]), grid[-1]])
    assert {p.get_gid() for p in ax.patches} >= {"contour:0.1", "contour:0.05", "contour:0.01", "contour:outer"}
    assert texts_outside(fig) == []


def test_forest_axis_label_and_notebook_png(bcg_data):
    from trialsynth.plots import forest_plot

    frame, pooled = bcg_data
    fig = forest_plot(frame, pooled, measure="RR", xlabel="Risk ratio (log scale)", font="DejaVu Sans")
    (label,) = [t for t in fig.texts if t.get_gid() == "xlabel"]
    renderer = fig.canvas.get_renderer()
    ticks = [t.get_window_extent(renderer) for t in fig.axes[0].get_xticklabels() if t.get_text()]
    favours = [t.get_window_extent(renderer) for t in fig.texts if (t.get_gid() or "").startswith("favours")]
    box = label.get_window_extent(renderer)
    assert all(box.y1 <= t.y0 + 0.5 for t in ticks) and all(box.y0 >= f.y1 - 0.5 for f in favours)
    assert texts_outside(fig) == []
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # shows itself in Jupyter without pyplot
