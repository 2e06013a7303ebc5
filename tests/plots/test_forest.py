"""Forest plot: image baselines (metafor's dat.bcg) and structural checks of the geometry."""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BASELINE, texts_outside
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.testing.compare import compare_images

from trialsynth.errors import ArgumentError
from trialsynth.plots import forest_plot, save_figure

UPDATE = os.environ.get("TRIALSYNTH_UPDATE_BASELINES") == "1"


def _bcg_figure(bcg_data, style):
    frame, pooled = bcg_data
    return forest_plot(
        frame,
        pooled,
        measure="RR",
        style=style,
        font="DejaVu Sans",
        arm_labels=("Vaccinated", "Control"),
        favours=("Favours vaccine", "Favours control"),
    )


def _diamond(fig):
    ax = fig.forest_layout and fig.axes[0]
    found = [p for p in ax.patches if isinstance(p, Polygon) and (p.get_gid() or "").startswith("diamond:")]
    return found


def _texts(fig, prefix):
    return [t for t in fig.texts if (t.get_gid() or "").startswith(prefix)]


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("style", ["cochrane", "jama"])
def test_bcg_forest_matches_baseline(bcg_data, style, tmp_path):
    fig = _bcg_figure(bcg_data, style)
    actual = tmp_path / f"forest_bcg_{style}.png"
    save_figure(fig, actual, dpi=100)
    expected = BASELINE / f"forest_bcg_{style}.png"
    if UPDATE:
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"baseline {expected} missing (set TRIALSYNTH_UPDATE_BASELINES=1 to create it)"
    result = compare_images(str(expected), str(actual), tol=2.0)
    assert result is None, result


# --------------------------------------------------------------------------- structure


def test_returns_figure(bcg_data):
    fig = _bcg_figure(bcg_data, "cochrane")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1


def test_diamond_centre_and_ends_are_the_pooled_estimate_and_ci(bcg_data):
    frame, pooled = bcg_data
    fig = _bcg_figure(bcg_data, "cochrane")
    (diamond,) = _diamond(fig)
    xy = diamond.get_xy()[:4]
    # vertices: left end, top, right end, bottom (display scale: risk ratios)
    assert xy[1][0] == pytest.approx(math.exp(pooled["estimate"]), rel=1e-12)
    assert xy[3][0] == pytest.approx(math.exp(pooled["estimate"]), rel=1e-12)
    assert xy[0][0] == pytest.approx(math.exp(pooled["ci_low"]), rel=1e-12)
    assert xy[2][0] == pytest.approx(math.exp(pooled["ci_high"]), rel=1e-12)
    # and it sits on the "Total" row
    total = [t for t in fig.texts if t.get_text().startswith("Total (95% CI)")][0]
    assert total.get_position()[1] == pytest.approx(xy[0][1])


def test_one_row_per_study_in_order_and_aligned(bcg_data):
    frame, _ = bcg_data
    fig = _bcg_figure(bcg_data, "cochrane")
    layout = fig.forest_layout
    study_rows = [(y, r) for y, r in enumerate(layout.rows) if r.kind == "study"]
    assert [r.label for _, r in study_rows] == list(frame["label"])
    ax = fig.axes[0]
    squares = {line.get_gid()[7:]: line for line in ax.lines if (line.get_gid() or "").startswith("square:")}
    labels = {t.get_text(): t for t in _texts(fig, "label:")}
    for (y, row), (_, study) in zip(study_rows, frame.iterrows()):
        label_y = labels[row.label].get_position()[1]
        square_y = squares[row.label].get_ydata()[0]
        square_x = squares[row.label].get_xdata()[0]
        assert label_y == y == square_y  # one y per row, shared by text and graphics
        assert square_x == pytest.approx(math.exp(study["estimate"]), rel=1e-12)
        effect = [t for t in _texts(fig, f"effect:{y}")][0]
        assert effect.get_text().startswith(f"{math.exp(study['estimate']):.2f} [")
    # rows go down the page in data order
    ys = [labels[label].get_window_extent(fig.canvas.get_renderer()).y0 for label in frame["label"]]
    assert all(a > b for a, b in zip(ys, ys[1:]))


def test_square_area_follows_weight_but_never_hides_its_ci(bcg_data):
    """Area proportional to weight (RevMan), except that a square is at most 0.7 of its CI's width
    (metafor never lets a square hide its interval) and the whisker is drawn over the square."""
    from trialsynth.plots.forest import SQUARE_OF_CI
    from trialsynth.plots.styles import get_style

    frame, _ = bcg_data
    fig = _bcg_figure(bcg_data, "cochrane")
    ax = fig.axes[0]
    style = get_style("cochrane")
    squares = {line.get_gid()[7:]: line for line in ax.lines if (line.get_gid() or "").startswith("square:")}
    whiskers = {line.get_gid()[3:]: line for line in ax.lines if (line.get_gid() or "").startswith("ci:")}
    w_max = frame["weight"].max()
    capped = 0
    for _, study in frame.iterrows():
        square, whisker = squares[study["label"]], whiskers[study["label"]]
        assert whisker.get_zorder() > square.get_zorder()
        (x0, _), (x1, _) = ax.transData.transform(np.column_stack([whisker.get_xdata(), whisker.get_ydata()]))
        ci_points = abs(x1 - x0) * 72 / fig.dpi
        by_weight = max(style.square_min, style.square_max * math.sqrt(study["weight"] / w_max))
        expected = max(1.5, min(by_weight, SQUARE_OF_CI * ci_points - 0.5))
        assert square.get_markersize() == pytest.approx(expected, rel=1e-9)
        assert square.get_markersize() <= max(1.5, SQUARE_OF_CI * ci_points)
        capped += by_weight > expected
    assert 1 <= capped < len(frame)  # TPT Madras (heaviest, narrowest CI) is capped; most are not


def test_heterogeneity_and_overall_test_text(bcg_data):
    fig = _bcg_figure(bcg_data, "cochrane")
    notes = " | ".join(t.get_text() for t in _texts(fig, "note:"))
    assert "Heterogeneity: Tau\u00b2 = 0.31; Chi\u00b2 = 152.23, df = 12 (P < 0.00001); I\u00b2 = 92%" in notes
    assert "Test for overall effect: Z = 3.97 (P = 0.0001)" in notes
    jama = _bcg_figure(bcg_data, "jama")
    notes = " | ".join(t.get_text() for t in _texts(jama, "note:"))
    assert "\u03c4\u00b2 = 0.31" in notes and "Q = 152.23, df = 12, P < .001" in notes
    assert "z = \u22123.97, P < .001" in notes


def test_prediction_interval_row(bcg_data):
    _, pooled = bcg_data
    fig = _bcg_figure(bcg_data, "cochrane")
    ax = fig.axes[0]
    (pi_line,) = [line for line in ax.lines if line.get_gid() == "prediction-interval"]
    assert pi_line.get_xdata()[0] == pytest.approx(math.exp(pooled["pi_low"]))
    assert pi_line.get_xdata()[1] == pytest.approx(math.exp(pooled["pi_high"]))
    texts = [t.get_text() for t in fig.texts]
    assert f"[{math.exp(pooled['pi_low']):.2f}, {math.exp(pooled['pi_high']):.2f}]" in texts


def test_log_axis_ticks_are_plain_numbers(bcg_data):
    fig = _bcg_figure(bcg_data, "cochrane")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "1" in labels and len(labels) >= 3
    for text in labels:
        assert re.fullmatch(r"\d+(\.\d+)?", text), text
    assert not [t for t in ax.get_xticklabels(minor=True) if t.get_text()]


def test_arrow_when_ci_runs_past_the_axis(bcg_data):
    frame, pooled = bcg_data
    fig = forest_plot(frame, pooled, measure="RR", xlim=(0.1, 10), font="DejaVu Sans")
    ax = fig.axes[0]
    arrows = {line.get_gid() for line in ax.lines if (line.get_gid() or "").startswith("arrow")}
    # Rosenthal et al 1960's CI starts at 0.07, below 0.1
    low = np.exp(frame["ci_low"]) < 0.1
    expected = {f"arrow-left:{label}" for label in frame.loc[low, "label"]}
    assert expected and arrows == expected


@pytest.mark.parametrize("style", ["cochrane", "jama"])
@pytest.mark.parametrize("k", [2, 10, 60])
def test_no_text_leaves_the_figure(synthetic_data, style, k):
    frame, pooled = synthetic_data(k)
    frame.loc[0, "label"] = "A study with a remarkably long label, Smith and colleagues 2019"
    fig = forest_plot(frame, pooled, measure="SMD", style=style, font="DejaVu Sans",
                      footnote="A long footnote. " * 30)
    assert texts_outside(fig) == []
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    assert fig.bbox.contains(*ax.get_tightbbox(renderer).p0)
    assert fig.bbox.contains(*ax.get_tightbbox(renderer).p1)


def test_no_text_leaves_the_figure_with_long_favours_and_asymmetric_axis(synthetic_data):
    frame, pooled = synthetic_data(5)
    fig = forest_plot(frame, pooled, measure="MD", xlim=(-0.5, 4), symmetric=False, font="DejaVu Sans",
                      favours=("Favours real acupuncture needling", "Favours sham needling at non-points"))
    assert texts_outside(fig) == []


def test_height_follows_rows(synthetic_data):
    heights = []
    for k in (2, 10, 60):
        frame, pooled = synthetic_data(k)
        heights.append(forest_plot(frame, pooled, measure="SMD", font="DejaVu Sans").get_size_inches()[1])
    assert heights[0] < heights[1] < heights[2]
    row = (heights[2] - heights[1]) / 50
    assert row == pytest.approx(0.2, rel=1e-6)  # the cochrane style's row height, inches


def test_sorting(bcg_data):
    frame, pooled = bcg_data
    fig = forest_plot(frame, pooled, measure="RR", sort_by="year", font="DejaVu Sans")
    order = [r.label for r in fig.forest_layout.rows if r.kind == "study"]
    assert order == list(frame.sort_values("year", kind="mergesort")["label"])
    fig = forest_plot(frame, pooled, measure="RR", sort_by="weight", font="DejaVu Sans")
    order = [r.label for r in fig.forest_layout.rows if r.kind == "study"]
    assert order[0] == frame.loc[frame["weight"].idxmax(), "label"]
    fig = forest_plot(frame, pooled, measure="RR", sort_by="effect", font="DejaVu Sans")
    order = [r.label for r in fig.forest_layout.rows if r.kind == "study"]
    assert order == list(frame.sort_values("estimate", kind="mergesort")["label"])
    with pytest.raises(ArgumentError, match="sort_by"):
        forest_plot(frame, pooled, measure="RR", sort_by="colour")


def test_subgroups_in_one_figure(synthetic_data):
    short, pooled_short = synthetic_data(4, seed=2)
    long, pooled_long = synthetic_data(3, seed=3)
    pooled_long = dict(pooled_long, estimate=-0.1, ci_low=-0.3, ci_high=0.1)
    fig = forest_plot(
        {"Short-term": (short, pooled_short), "Long-term": (long, pooled_long)},
        measure="SMD",
        subgroup_test=(3.2, 1, 0.074),
        font="DejaVu Sans",
    )
    diamonds = _diamond(fig)
    assert len(diamonds) == 2
    centres = sorted(d.get_xy()[1][0] for d in diamonds)
    assert centres == pytest.approx(sorted([pooled_short["estimate"], pooled_long["estimate"]]))
    headings = [t.get_text() for t in _texts(fig, "heading:")]
    assert headings == ["Short-term", "Long-term"]
    notes = [t.get_text() for t in _texts(fig, "note:")]
    assert "Test for subgroup differences: Chi\u00b2 = 3.20, df = 1 (P = 0.07)" in notes
    kinds = [r.kind for r in fig.forest_layout.rows]
    assert kinds.count("study") == 7 and kinds.count("pooled") == 2
    assert texts_outside(fig) == []


def test_risk_of_bias_columns(bcg_data):
    frame, pooled = bcg_data
    judgements = ["low", "some_concerns", "high", "unclear"]
    rob = pd.DataFrame(
        {
            "label": frame["label"],
            "D1": [judgements[i % 4] for i in range(len(frame))],
            "Overall": [judgements[(i + 1) % 3] for i in range(len(frame))],
        }
    )
    fig = forest_plot(frame, pooled, measure="RR", rob=rob, rob_domains={"D1": "randomisation"},
                      font="DejaVu Sans")
    marks = [a.get_gid() for a in fig.artists + fig.lines if (a.get_gid() or "").startswith("rob:")]
    assert len(marks) == 2 * len(frame)
    assert sum(g.endswith(":high") for g in marks) == sum(
        1 for v in list(rob["D1"]) + list(rob["Overall"]) if v == "high"
    )
    assert any("Risk of bias: D1: randomisation" in t.get_text() for t in fig.texts)
    assert texts_outside(fig) == []
    with pytest.raises(ArgumentError, match="rob"):
        forest_plot(frame, pooled, measure="RR", rob=rob.assign(D1="excellent"))


def test_continuous_arm_columns(synthetic_data):
    frame, pooled = synthetic_data(3)
    fig = forest_plot(frame, pooled, measure="MD", font="DejaVu Sans")
    headers = [t.get_text() for t in _texts(fig, "header:")]
    assert headers[:7] == ["Study", "Mean", "SD", "Total", "Mean", "SD", "Total"]
    assert fig.axes[0].get_xscale() == "linear"


def test_bad_input_names_the_argument(bcg_data):
    frame, pooled = bcg_data
    with pytest.raises(ArgumentError, match="style"):
        forest_plot(frame, pooled, style="lancet")
    with pytest.raises(ArgumentError, match="ci_high"):
        forest_plot(frame.drop(columns=["ci_high"]), pooled)
    with pytest.raises(ArgumentError, match="pooled"):
        forest_plot(frame, {"estimate": 0.1})
    with pytest.raises(ArgumentError, match="xlim"):
        forest_plot(frame, pooled, measure="RR", xlim=(0, 2))


def _bcg_subgroup_figure():
    from oracle_data import bcg_subgroups

    sections, test = bcg_subgroups()
    return forest_plot(sections, measure="RR", subgroup_test=test, font="DejaVu Sans",
                       arm_labels=("Vaccinated", "Control"), favours=("Favours vaccine", "Favours control"),
                       footnote="Random-effects (REML) per subgroup; test for subgroup differences with a "
                       "separate tau\u00b2 per subgroup. Numbers from R metafor 3.8-1 (dat.bcg).")


def test_bcg_subgroups_match_baseline(tmp_path):
    fig = _bcg_subgroup_figure()
    actual = tmp_path / "forest_bcg_subgroups.png"
    save_figure(fig, actual, dpi=100)
    expected = BASELINE / "forest_bcg_subgroups.png"
    if UPDATE:
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"baseline {expected} missing (set TRIALSYNTH_UPDATE_BASELINES=1 to create it)"
    result = compare_images(str(expected), str(actual), tol=2.0)
    assert result is None, result


def test_bcg_subgroups_structure():
    from oracle_data import bcg_subgroups

    sections, test = bcg_subgroups()
    fig = _bcg_subgroup_figure()
    diamonds = _diamond(fig)
    assert len(diamonds) == 3
    expected = sorted(math.exp(pooled["estimate"]) for _, pooled in sections.values())
    assert sorted(d.get_xy()[1][0] for d in diamonds) == pytest.approx(expected, rel=1e-12)
    headings = [t.get_text() for t in _texts(fig, "heading:")]
    assert headings == list(sections)
    rows = fig.forest_layout.rows
    for heading, (studies, _) in sections.items():
        start = next(i for i, r in enumerate(rows) if r.kind == "heading" and r.label == heading)
        labels = [r.label for r in rows[start + 1:start + 1 + len(studies)]]
        assert labels == list(studies["label"])  # each section's studies, in order, under its heading
    notes = [t.get_text() for t in _texts(fig, "note:")]
    q, df, p = test
    assert f"Test for subgroup differences: Chi\u00b2 = {q:.2f}, df = {df:g} (P = {p:.2f})" in notes
    assert texts_outside(fig) == []


def test_forest_from_a_pooled_result(bcg_data):
    """The MetaResult path: rows from study_frame(), diamond and texts from the result's attributes."""
    from trialsynth import pool

    frame, _ = bcg_data
    variances = ((frame["ci_high"] - frame["estimate"]) / 1.959963984540054) ** 2
    result = pool(frame["estimate"].to_numpy(), variances.to_numpy(), measure="RR",
                  labels=list(frame["label"]), profile="cochrane-2025")
    fig = forest_plot(result, study_data=frame[["label", "events1", "n1", "events2", "n2"]], font="DejaVu Sans")
    assert isinstance(fig, Figure)
    (diamond,) = _diamond(fig)
    assert diamond.get_xy()[1][0] == pytest.approx(math.exp(result.estimate), rel=1e-12)
    assert diamond.get_xy()[0][0] == pytest.approx(math.exp(result.ci_low), rel=1e-12)
    studies = result.study_frame()
    rows = [r for r in fig.forest_layout.rows if r.kind == "study"]
    assert [r.label for r in rows] == list(studies["label"])
    assert [r.low for r in rows] == pytest.approx(list(np.exp(studies["ci_low"])), rel=1e-12)
    assert [r.weight for r in rows] == pytest.approx(list(studies["weight"]), rel=1e-12)
    assert [r.cells["events1"] for r in rows] == [str(v) for v in frame["events1"]]
    notes = " | ".join(t.get_text() for t in _texts(fig, "note:"))
    assert f"t = {abs(result.statistic):.2f}, df = {result.dfs:g}" in notes  # HKSJ: a t test
    footnote = " ".join(t.get_text() for t in _texts(fig, "footnote:"))
    assert "cochrane-2025" in footnote
    (pi_line,) = [line for line in fig.axes[0].lines if line.get_gid() == "prediction-interval"]
    assert pi_line.get_xdata()[0] == pytest.approx(result.exp()["pi_low"], rel=1e-12)
    assert texts_outside(fig) == []


def test_subgroups_result_object_is_drawn_with_its_test(bcg_data):
    """A subgroups result (fits: level -> MetaResult, between_separate: the test) draws as sections."""
    from types import SimpleNamespace

    from oracle_data import ORACLE

    from trialsynth import pool

    frame, _ = bcg_data
    alloc = pd.read_csv(ORACLE / "dat.bcg.csv")["alloc"]
    variances = ((frame["ci_high"] - frame["estimate"]) / 1.959963984540054) ** 2
    fits = {}
    for level in sorted(alloc.unique()):  # "alternate" has two studies: the engine warns
        mask = (alloc == level).to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[level] = pool(frame["estimate"][mask].to_numpy(), variances[mask].to_numpy(), measure="RR",
                               labels=list(frame["label"][mask]))
    result = SimpleNamespace(fits=fits, between_separate=SimpleNamespace(statistic=1.86, df=2, p_value=0.394))
    fig = forest_plot(result, font="DejaVu Sans")
    assert [t.get_text() for t in _texts(fig, "heading:")] == ["alternate", "random", "systematic"]
    assert len(_diamond(fig)) == 3
    notes = [t.get_text() for t in _texts(fig, "note:")]
    assert "Test for subgroup differences: Chi\u00b2 = 1.86, df = 2 (P = 0.39)" in notes
    footnote = " ".join(t.get_text() for t in _texts(fig, "footnote:"))
    # one caption line for the three subgroups, the k = 2 caveat as a symbol with one legend line
    assert footnote.count("Random effects (REML estimate of \u03c4\u00b2), Wald 95% CI in each subgroup; k = 2 to 7.") == 1
    assert "Subtotal (95% CI) \u00a7" in [r.cells["label"] for r in fig.forest_layout.rows if r.kind == "pooled"]
    assert footnote.count("\u00a7 Two studies") == 1 and "only two studies (k = 2)" not in footnote
    # a bare pool() result does not say which side favours the intervention: no guessed labels
    assert not _texts(fig, "favours:") and "Sides not labelled" in footnote
    assert texts_outside(fig) == []
