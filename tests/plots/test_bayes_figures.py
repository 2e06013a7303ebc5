"""Figures of Bayesian pooling (issue 16): shrunken estimates on a forest plot, the prior-sensitivity
panel. The figures draw what they are given (the shrinkage frame, the sensitivity table)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import texts_outside

from trialsynth.diagnostics.bayes_cells import prior_sensitivity
from trialsynth.errors import ArgumentError
from trialsynth.plots import forest_plot, prior_sensitivity_plot
from trialsynth.pooling.bayes import pool_bayes
from trialsynth.pooling.fit import pool
from trialsynth.priors import HalfNormal

YI = np.array([-0.13, -0.16, -0.86, -0.39, -0.49, -0.50])
VI = np.array([0.0052, 0.0206, 0.1400, 0.0918, 0.0576, 0.0361])
LABELS = ["A2007", "B2006", "C2006", "D2003", "E2002", "F2002"]


@pytest.fixture(scope="module")
def fits():
    freq = pool(YI, VI, profile="cochrane-2025", measure="SMD", labels=LABELS)
    bayes = pool_bayes(YI, VI, tau_prior=HalfNormal(0.5), labels=LABELS, measure="SMD")
    return freq, bayes


def _gid_points(fig, prefix):
    ax = next(a for a in fig.axes if a.get_gid() == "forest-panel")
    return {line.get_gid(): line for line in ax.get_lines() if (line.get_gid() or "").startswith(prefix)}


def test_forest_draws_the_shrunken_estimates_it_is_given(fits):
    freq, bayes = fits
    shrink = bayes.shrinkage
    fig = forest_plot(freq, shrinkage=shrink, font="DejaVu Sans")
    points = _gid_points(fig, "shrunken:")
    assert set(points) == {f"shrunken:{label}" for label in LABELS}
    for label, median in zip(shrink["label"], shrink["median"]):
        assert points[f"shrunken:{label}"].get_xdata()[0] == pytest.approx(median)
    lines = _gid_points(fig, "shrunken-ci:")
    assert len(lines) == len(LABELS)
    foot = " ".join(t.get_text() for t in fig.texts if (t.get_gid() or "").startswith("footnote"))
    assert "shrunken effect" in foot and "half-normal(scale 0.5)" in foot
    assert texts_outside(fig) == []
    # nothing drawn without it; a frame that does not fit is refused
    assert not _gid_points(forest_plot(freq, font="DejaVu Sans"), "shrunken:")
    with pytest.raises(ArgumentError, match="shrinkage"):
        forest_plot(freq, shrinkage=pd.DataFrame({"label": ["zzz"], "median": [0.0], "ci_low": [0.0], "ci_high": [0.0]}))
    with pytest.raises(ArgumentError, match="median"):
        forest_plot(freq, shrinkage=pd.DataFrame({"label": LABELS}))


def test_shrunken_estimates_of_a_ratio_are_drawn_as_ratios():
    yi, vi = np.log([1.2, 1.8, 0.9]), np.array([0.05, 0.08, 0.1])
    freq = pool(yi, vi, measure="RR", labels=["a", "b", "c"])
    bayes = pool_bayes(yi, vi, tau_prior=HalfNormal(0.5), labels=["a", "b", "c"], measure="RR")
    fig = forest_plot(freq, shrinkage=bayes.shrinkage, font="DejaVu Sans")
    pts = _gid_points(fig, "shrunken:")
    assert pts["shrunken:b"].get_xdata()[0] == pytest.approx(math.exp(bayes.shrinkage.set_index("label").loc["b", "median"]))


def test_prior_sensitivity_panel(fits):
    freq, _ = fits
    table = prior_sensitivity(freq, mid=0.5)
    assert len(table) == 5 and table.loc[0, "prior_role"] == "frequentist"
    fig = prior_sensitivity_plot(table, font="DejaVu Sans")
    ax = next(a for a in fig.axes if a.get_gid() == "forest-panel")
    squares = [line for line in ax.get_lines() if (line.get_gid() or "").startswith("square:")]
    assert len(squares) == 5
    texts = {t.get_text() for t in fig.texts}
    assert "P(benefit)" in texts and "Prior on \u03c4" in texts
    assert any(t.endswith("%") for t in texts)
    assert "Favours acupuncture" in texts  # SMD: negative favours acupuncture, on the left
    assert texts_outside(fig) == []
    with pytest.raises(ArgumentError, match="at least three"):
        prior_sensitivity_plot(table.iloc[:2])
    # a ratio measure: larger favours acupuncture, on the right
    yi, vi = np.log([1.2, 1.8, 0.9]), np.array([0.05, 0.08, 0.1])
    rr = prior_sensitivity(pool(yi, vi, measure="RR"), mid=math.log(1.25))
    fig = prior_sensitivity_plot(rr, font="DejaVu Sans")
    right = next(t for t in fig.texts if t.get_gid() == "favours:right")
    assert right.get_text() == "Favours acupuncture"
