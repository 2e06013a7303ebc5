"""time_response_plot draws what the TimeResponse holds (and computes nothing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.plots.time_response import time_response_plot


class _Result:
    """A hand-made TimeResponse: the plot must draw these numbers as they are."""

    measure = "SMD"
    form = "log"
    curve = pd.DataFrame({"weeks": [0.0, 10.0, 20.0], "estimate": [-0.6, -0.45, -0.4], "se": [0.1, 0.1, 0.1],
                          "ci_low": [-0.8, -0.65, -0.6], "ci_high": [-0.4, -0.25, -0.2],
                          "pi_low": [-1.0, -0.85, -0.8], "pi_high": [-0.2, -0.05, 0.0]})
    points = pd.DataFrame({"study_id": ["A", "A", "B"], "trial": ["A/x", "A/x", "B/y"], "weeks": [0.0, 20.0, 10.0],
                           "yi": [-0.7, -0.3, -0.5], "ci_low": [-1.0, -0.6, -0.9], "ci_high": [-0.4, 0.0, -0.1]})
    decay = {"test": "slope of log(1 + weeks)", "statistic": 2.1, "df": 1, "p_value": 0.036}
    mid_crossing = {"threshold": -0.5, "weeks": 6.0, "ci_low": 1.0, "ci_high": float("inf"),
                    "text": "the pooled benefit falls below the MID at about 6 weeks"}


def _gid(fig, gid):
    return [a for a in fig.axes[0].get_children() if a.get_gid() == gid]


def test_draws_the_curve_bands_points_and_mid():
    fig = time_response_plot(_Result(), title="Pain vs sham")
    ax = fig.axes[0]
    curve = _gid(fig, "curve")[0]
    assert np.allclose(curve.get_xdata(), [0, 10, 20]) and np.allclose(curve.get_ydata(), [-0.6, -0.45, -0.4])
    assert _gid(fig, "band:ci") and _gid(fig, "band:pi")
    assert _gid(fig, "points:A/x") and _gid(fig, "points:B/y")
    mid = _gid(fig, "mid")[0]
    assert np.allclose(mid.get_ydata(), -0.5)
    assert _gid(fig, "mid-crossing") and _gid(fig, "mid-crossing-ci")
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "P = 0.04" in texts and "6 weeks" in texts and "Pain vs sham" in texts
    labels = [t.get_text() for t in ax.texts]
    assert "Favours acupuncture" in labels and "Favours control" in labels


def test_ratio_measures_are_drawn_on_a_log_axis_as_ratios():
    r = _Result()
    r.measure = "RR"
    r.mid_crossing = {"threshold": np.log(1.25), "weeks": float("nan"), "ci_low": float("nan"),
                      "ci_high": float("nan"), "text": "stays beyond"}
    fig = time_response_plot(r)
    assert fig.axes[0].get_yscale() == "log"
    assert np.allclose(_gid(fig, "curve")[0].get_ydata(), np.exp([-0.6, -0.45, -0.4]))
    assert np.allclose(_gid(fig, "mid")[0].get_ydata(), 1.25)


def test_refuses_something_else():
    with pytest.raises(ArgumentError, match="TimeResponse"):
        time_response_plot(pd.DataFrame())
