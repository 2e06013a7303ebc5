"""revman5_effects: study effects as RevMan 5 computes them (Deeks & Higgins 2010)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trialsynth.effects.measures import effect_sizes
from trialsynth.effects.revman5 import revman5_effects
from trialsynth.errors import ArgumentError


def test_smd_uses_revmans_correction_and_variance():
    rows = pd.DataFrame({"mean1": [55.0], "sd1": [47.0], "n1": [155.0], "mean2": [75.0], "sd2": [64.0], "n2": [156.0]})
    got = revman5_effects("continuous", "SMD", rows).iloc[0]
    big_n = 311
    sp = math.sqrt((154 * 47**2 + 155 * 64**2) / 309)
    g = (55 - 75) / sp * (1 - 3 / (4 * big_n - 9))
    assert got["yi"] == pytest.approx(g, rel=1e-14)
    assert got["vi"] == pytest.approx(big_n / (155 * 156) + g**2 / (2 * (big_n - 3.94)), rel=1e-14)
    metafor = effect_sizes("SMD", n1=[155], mean1=[55], sd1=[47], n2=[156], mean2=[75], sd2=[64])
    assert got["vi"] != pytest.approx(float(metafor["vi"].iloc[0]), rel=1e-6)  # not escalc's variance


def test_zero_cells_get_one_half_and_double_zero_is_not_estimable():
    rows = pd.DataFrame({"events1": [0, 0, 4], "n1": [100, 50, 277], "events2": [7, 0, 15], "n2": [99, 40, 198]})
    rr = revman5_effects("dichotomous", "RR", rows)
    assert rr["yi"].iloc[0] == pytest.approx(math.log((0.5 / 101) / (7.5 / 100)), rel=1e-14)
    assert bool(rr["corrected"].iloc[0]) and not bool(rr["estimable"].iloc[1]) and math.isnan(rr["yi"].iloc[1])
    assert rr["yi"].iloc[2] == pytest.approx(math.log((4 / 277) / (15 / 198)), rel=1e-14)
    rd = revman5_effects("dichotomous", "RD", rows)
    # RD: a double zero is estimable, with 1/2 in every cell as for any zero cell
    assert bool(rd["estimable"].iloc[1]) and rd["yi"].iloc[1] == pytest.approx(0.5 / 51 - 0.5 / 41, rel=1e-14)
    peto = revman5_effects("dichotomous", "PETO_OR", rows)
    assert np.isfinite(peto["yi"].iloc[0]) and not bool(peto["corrected"].iloc[0])  # (O - E)/V needs no 1/2


def test_generic_inverse_variance_and_errors():
    rows = pd.DataFrame({"giv_estimate": [-0.2, 0.1], "giv_se": [0.1, 0.0]})
    got = revman5_effects("generic", "HR", rows)
    assert got["vi"].iloc[0] == pytest.approx(0.01) and not bool(got["estimable"].iloc[1])
    with pytest.raises(ArgumentError, match="continuous data in RevMan 5 use MD, SMD"):
        revman5_effects("continuous", "RR", rows)
