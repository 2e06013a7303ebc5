"""Favours labels come from the direction of the effect scale, carried from where effects are
oriented (effects_from_trials -> pool_groups -> MetaResult) to every plot; nothing is guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.plots import favours_labels, forest_plot


def _texts(fig, prefix):
    return {t.get_gid(): t.get_text() for t in fig.texts if (t.get_gid() or "").startswith(prefix)}


def _trials(**changes):
    """Two arm-level trials of one group (continuous unless changed)."""
    base = {"study_id": ["A2001", "B2002"], "outcome": "pain", "comparator_class": "sham", "window": "short",
            "data_shape": "arm_continuous", "higher_is_better": "false", "n1": [40, 50], "mean1": [3.0, 4.0],
            "sd1": [2.0, 2.5], "n2": [40, 50], "mean2": [4.0, 4.5], "sd2": [2.1, 2.4]}
    base.update(changes)
    return pd.DataFrame(base)


def _responders(higher_is_better):
    return _trials(outcome="responder", data_shape="arm_binary", higher_is_better=higher_is_better,
                   events1=[20, 30], events2=[10, 20], mean1=np.nan, sd1=np.nan, mean2=np.nan, sd2=np.nan)


def test_favours_labels_rule():
    assert favours_labels("lower") == ("Favours intervention", "Favours control")
    assert favours_labels("higher") == ("Favours control", "Favours intervention")
    assert favours_labels("lower", ("Acupuncture", "Usual care")) == ("Favours acupuncture", "Favours usual care")
    assert favours_labels("higher", ("TENS", "Sham"), spelling="Favors") == ("Favors sham", "Favors TENS")
    assert favours_labels(None) is None and favours_labels("") is None
    with pytest.raises(ArgumentError, match="favourable_direction"):
        favours_labels("left")


def test_effects_and_pooled_results_carry_the_direction():
    from trialsynth.effects.records import effects_from_trials
    from trialsynth.pooling.grouped import pool_groups

    by = ("outcome", "comparator_class", "window")
    cases = [(_trials(), "lower"), (_trials(higher_is_better="true"), "lower"),  # flipped: negative favours
             (_responders("true"), "higher"), (_responders("false"), "lower")]
    for trials, expected in cases:
        effects = effects_from_trials(trials)
        assert set(effects["favourable_direction"]) == {expected}
        (result,) = pool_groups(effects, by=by, profile="cochrane-2025").results.values()
        assert result.favourable_direction == expected
    mixed = pd.concat([effects_from_trials(_responders("true")),
                       effects_from_trials(_responders("false")).assign(study_id=["C2003", "D2004"])])
    (result,) = pool_groups(mixed, by=by, profile="cochrane-2025").results.values()
    assert result.favourable_direction is None  # rows that disagree: unknown, not a guess


def _pooled(direction, measure="RR"):
    from trialsynth.effects.records import effects_from_trials
    from trialsynth.pooling.grouped import pool_groups

    effects = effects_from_trials(_responders("true" if direction == "higher" else "false"))
    (result,) = pool_groups(effects, by=("outcome",), profile="cochrane-2025").results.values()
    return result


def test_forest_plot_puts_the_intervention_on_its_side_of_the_null():
    """The defect: forest_plot labelled the left side "Favours acupuncture" whatever the measure,
    so a responder risk ratio of 3.76 sat under "Favours control"."""
    result = _pooled("higher")
    assert result.estimate > 0  # more responders with the intervention: RR > 1
    fig = forest_plot(result, font="DejaVu Sans")
    assert _texts(fig, "favours:") == {"favours:left": "Favours control", "favours:right": "Favours intervention"}
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    null_px = ax.transData.transform((1.0, 0))[0]
    right = next(t for t in fig.texts if t.get_gid() == "favours:right")
    assert right.get_window_extent(renderer).x0 >= null_px
    (diamond,) = [p for p in ax.patches if (p.get_gid() or "").startswith("diamond:")]
    assert ax.transData.transform((diamond.get_xy()[1][0], 0))[0] > null_px  # the diamond is on that side
    fig = forest_plot(_pooled("lower"), font="DejaVu Sans", arm_labels=("Acupuncture", "Sham"))
    assert _texts(fig, "favours:") == {"favours:left": "Favours acupuncture", "favours:right": "Favours sham"}


def test_neutral_defaults_and_explicit_labels():
    result = _pooled("lower")
    frame = pd.DataFrame({"label": list(result.labels), "n1": [40, 50], "events1": [20, 30], "n2": [40, 50],
                          "events2": [10, 20]})
    fig = forest_plot(result, study_data=frame, font="DejaVu Sans")
    groups = {t.get_text() for t in fig.texts if (t.get_gid() or "").startswith("group:")}
    assert {"Intervention", "Control"} <= groups  # not "Acupuncture"
    assert set(_texts(fig, "favours:").values()) == {"Favours intervention", "Favours control"}
    fig = forest_plot(result, favours=("Better", "Worse"), font="DejaVu Sans")
    assert _texts(fig, "favours:") == {"favours:left": "Better", "favours:right": "Worse"}
    fig = forest_plot(result, favourable_direction="higher", font="DejaVu Sans")  # an explicit direction wins
    assert _texts(fig, "favours:")["favours:left"] == "Favours control"


def test_unknown_direction_prints_no_favours_labels_and_says_so():
    from trialsynth import pool

    result = pool([-0.3, -0.1, -0.5], [0.04, 0.05, 0.03], measure="SMD", labels=["a", "b", "c"], warn=False)
    assert result.favourable_direction is None
    fig = forest_plot(result, font="DejaVu Sans")
    assert _texts(fig, "favours:") == {}
    footnote = " ".join(_texts(fig, "footnote:").values())
    assert "Sides not labelled" in footnote and "favourable_direction" in footnote


def test_every_plot_with_sides_uses_the_rule():
    from trialsynth import cumulative, leave_one_out
    from trialsynth.plots import cumulative_plot, effect_by_time_plot, leave_one_out_plot, short_long_panel

    result = _pooled("higher")
    for fig in (leave_one_out_plot(leave_one_out(result), result, font="DejaVu Sans"),
                cumulative_plot(cumulative(result), result, font="DejaVu Sans")):
        assert _texts(fig, "favours:") == {"favours:left": "Favours control", "favours:right": "Favours intervention"}
    fig = short_long_panel(result, result, font="DejaVu Sans", arm_labels=("Acupuncture", "Sham"))
    assert _texts(fig, "favours:0:") == {"favours:0:left": "Favours sham", "favours:0:right": "Favours acupuncture"}
    frame = pd.DataFrame({"estimate": [0.3, 0.2], "ci_low": [0.1, 0.0], "ci_high": [0.5, 0.4], "weeks": [0, 13],
                          "measure": "RR", "favourable_direction": "higher"})
    fig = effect_by_time_plot(frame, group=None, font="DejaVu Sans")
    texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if (t.get_gid() or "").startswith("favours:")}
    assert texts == {"favours:low": "\u2193 Favours control", "favours:high": "\u2191 Favours intervention"}
    fig = effect_by_time_plot(frame.drop(columns="favourable_direction"), group=None, font="DejaVu Sans")
    assert not [t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("favours:")]
