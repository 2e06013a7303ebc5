"""The trial sequential analysis plot draws the analysis it is given, labelled a sensitivity analysis."""

import numpy as np
import pytest

from trialsynth.diagnostics.sequential import sequential_analysis
from trialsynth.errors import ArgumentError
from trialsynth.plots import sequential_plot


def _by_gid(fig, gid):
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid] + \
        [t for t in fig.texts if t.get_gid() == gid]


def test_draws_the_z_curve_boundaries_ris_and_the_sensitivity_label():
    tsa = sequential_analysis([-0.5, -0.45, -0.35, -0.4], [0.05, 0.03, 0.02, 0.01], [30, 130, 200, 400], required=600,
                              labels=["A", "B", "C", "D"])
    fig = sequential_plot(tsa, title="pain vs sham")
    (curve,) = _by_gid(fig, "zcurve")
    assert np.allclose(curve.get_xdata(), tsa.looks["cumulative_participants"]) and np.allclose(curve.get_ydata(), tsa.looks["z"])
    (upper,) = _by_gid(fig, "boundary:benefit")
    drawn = np.asarray(upper.get_ydata(), dtype=float)
    finite = tsa.looks["boundary"].to_numpy() <= 8
    assert np.allclose(drawn[finite], tsa.looks["boundary"].to_numpy()[finite]) and np.isnan(drawn[~finite]).all()
    assert _by_gid(fig, "boundary:cut")  # the first look's boundary (fraction 0.05) is above 8
    (ris,) = _by_gid(fig, "ris")
    assert ris.get_xdata()[0] == 600
    (title,) = _by_gid(fig, "title")
    assert "sensitivity analysis" in title.get_text() and "pain vs sham" in title.get_text()
    (foot,) = _by_gid(fig, "footnote")
    text = " ".join(foot.get_text().split())
    assert "alpha/2" in text and "Cochrane Handbook 22.3.2" in text and "required information size 600" in text
    assert {t.get_gid() for t in fig.axes[0].texts} >= {"ris:label", "favours:high", "favours:low"}


def test_refuses_what_is_not_an_analysis():
    with pytest.raises(ArgumentError, match="SequentialAnalysis"):
        sequential_plot({"looks": []})
