"""effect_sizes refuses bad input with an ArgumentError that names the argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialsynth import effect_sizes
from trialsynth.effects.measures import MEASURES, hedges_correction
from trialsynth.errors import ArgumentError

CONT = dict(n1=[10, 12], mean1=[5.0, 6.0], sd1=[1.0, 2.0], n2=[11, 13], mean2=[4.0, 6.5], sd2=[1.5, 2.5])
BIN = dict(events1=[3, 0], n1=[20, 25], events2=[6, 4], n2=[21, 24])
PROP = dict(events=[3, 0], n=[20, 25])
RATE = dict(events1=[3, 0], time1=[100.0, 80.0], events2=[6, 4], time2=[90.0, 85.0])
CORR = dict(r=[0.3, -0.2], n=[40, 50])


def with_(base, **changes):
    out = dict(base)
    out.update(changes)
    return out


def test_unknown_measure_lists_valid_ones():
    with pytest.raises(ArgumentError, match="measure") as err:
        effect_sizes("HR", **BIN)
    for m in MEASURES:
        assert m in str(err.value)


@pytest.mark.parametrize(
    ("measure", "arrays", "name"),
    [
        ("SMD", {k: v for k, v in CONT.items() if k != "sd2"}, "sd2"),
        ("OR", {k: v for k, v in BIN.items() if k != "n1"}, "n1"),
        ("PLO", {"events": [1]}, "n"),
        ("IRR", {k: v for k, v in RATE.items() if k != "time2"}, "time2"),
        ("COR", {"r": [0.1]}, "n"),
        ("GEN", {"yi": [0.1]}, "vi, sei"),
    ],
)
def test_missing_array_is_named(measure, arrays, name):
    with pytest.raises(ArgumentError, match=name):
        effect_sizes(measure, **arrays)


def test_unexpected_array_is_named():
    with pytest.raises(ArgumentError, match="mean1: not an argument of measure OR"):
        effect_sizes("OR", **BIN, mean1=[1, 2])


def test_gen_refuses_both_vi_and_sei():
    with pytest.raises(ArgumentError, match="exactly one"):
        effect_sizes("GEN", yi=[0.1], vi=[0.01], sei=[0.1])


def test_mismatched_lengths():
    with pytest.raises(ArgumentError, match="same length.*n2=3"):
        effect_sizes("OR", **with_(BIN, n2=[21, 24, 30]))


def test_empty_arrays():
    with pytest.raises(ArgumentError, match="empty"):
        effect_sizes("COR", r=[], n=[])


@pytest.mark.parametrize(
    ("measure", "arrays", "name", "text"),
    [
        ("MD", with_(CONT, mean2=[4.0, np.nan]), "mean2", "NaN"),
        ("SMD", with_(CONT, n1=[0, 12]), "n1", "greater than 0"),
        ("SMD", with_(CONT, sd1=[-1.0, 2.0]), "sd1", ">= 0"),
        ("SMD", with_(CONT, n1=[1, 12], n2=[2, 13]), "n1", "n1 \\+ n2 > 3"),
        ("SMD", with_(CONT, sd1=[0.0, 2.0], sd2=[0.0, 2.5]), "sd1", "pooled"),
        ("ROM", with_(CONT, mean2=[-4.0, 6.5]), "mean2", "means > 0"),
        ("OR", with_(BIN, events1=[21, 0]), "events1", "at most the arm size"),
        ("RR", with_(BIN, events2=[-1, 4]), "events2", ">= 0"),
        ("RD", with_(BIN, n2=[0, 24]), "n2", "greater than 0"),
        ("PR", with_(PROP, events=[30, 0]), "events", "at most n"),
        ("IRR", with_(RATE, time1=[0.0, 80.0]), "time1", "person-time"),
        ("COR", with_(CORR, r=[1.2, 0.0]), "r", r"\[-1, 1\]"),
        ("ZCOR", with_(CORR, r=[1.0, 0.0]), "r", "strictly inside"),
        ("ZCOR", with_(CORR, n=[3, 50]), "n", "greater than 3"),
        ("COR", with_(CORR, n=[1, 50]), "n", "greater than 1"),
        ("GEN", {"yi": [0.1, 0.2], "vi": [0.01, -0.02]}, "vi", ">= 0"),
        ("GEN", {"yi": [0.1, 0.2], "sei": [-0.1, 0.2]}, "sei", ">= 0"),
        ("GEN", {"yi": [0.1, np.inf], "sei": [0.1, 0.2]}, "yi", "finite"),
    ],
)
def test_bad_values_are_named(measure, arrays, name, text):
    with pytest.raises(ArgumentError, match=f"^{name}:.*{text}"):
        effect_sizes(measure, **arrays)


def test_error_gives_position():
    with pytest.raises(ArgumentError, match="position\\(s\\) 1"):
        effect_sizes("OR", **with_(BIN, events1=[3, 26]))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"to": "zero"}, "to"), ({"add": -0.5}, "add"), ({"add": "half"}, "add"),
     ({"drop00": "yes"}, "drop00")],
)
def test_bad_options(kwargs, name):
    with pytest.raises(ArgumentError, match=f"^{name}:"):
        effect_sizes("OR", **BIN, **kwargs)


def test_zero_cell_with_to_none_is_an_error_not_nan():
    with pytest.raises(ArgumentError, match="to='none'"):
        effect_sizes("OR", **BIN, to="none")
    # RD is finite with zero cells, so to="none" is fine there
    out = effect_sizes("RD", **BIN, to="none")
    assert out["yi"].iloc[1] == pytest.approx(0 / 25 - 4 / 24)


def test_string_array_is_refused():
    with pytest.raises(ArgumentError, match="n: expected numbers"):
        effect_sizes("PR", events=[1, 2], n="20")


def test_series_index_is_kept():
    idx = pd.Index(["Alpha2001", "Beta2003"], name="study")
    out = effect_sizes("COR", r=pd.Series(CORR["r"], index=idx), n=pd.Series(CORR["n"], index=idx))
    assert list(out.index) == list(idx)
    assert list(out.columns) == ["yi", "vi"]


def test_hedges_correction_values_and_limit():
    # J(m) -> 1 as m grows and matches 1 - 3/(4m - 1) to O(m^-2) (Hedges 1981, eq. 6e and 6f)
    m = np.array([10.0, 50.0, 1e4])
    j = hedges_correction(m)
    assert np.all(np.abs(j - (1 - 3 / (4 * m - 1))) < 3 / m**2)
    assert np.all(np.diff(j) > 0) and j[-1] == pytest.approx(1.0, abs=1e-4)
    # J(4) = Gamma(2) / (sqrt(2) * Gamma(3/2)) = 2 / sqrt(2 pi)
    assert hedges_correction([4.0])[0] == pytest.approx(2 / np.sqrt(2 * np.pi), rel=1e-14)
    # J(2) = Gamma(1) / (1 * Gamma(1/2)) = 1/sqrt(pi)
    assert hedges_correction([2.0])[0] == pytest.approx(1 / np.sqrt(np.pi), rel=1e-14)
    with pytest.raises(ArgumentError, match="df"):
        hedges_correction([1.0])


def test_vectorised_large_input_is_fast():
    rng = np.random.default_rng(1)
    k = 200_000
    n1 = rng.integers(5, 500, k)
    n2 = rng.integers(5, 500, k)
    e1 = rng.binomial(n1, 0.2)
    e2 = rng.binomial(n2, 0.3)
    out = effect_sizes("OR", events1=e1, n1=n1, events2=e2, n2=n2)
    assert len(out) == k and np.isfinite(out.to_numpy()).all()


def test_nullable_integer_series_with_na_names_the_argument():
    n1 = pd.Series([20, pd.NA], dtype="Int64")
    with pytest.raises(ArgumentError, match="^n1:.*NaN.*position\\(s\\) 1"):
        effect_sizes("OR", events1=[3, 4], n1=n1, events2=[6, 4], n2=[21, 24])
    ok = effect_sizes("OR", events1=pd.Series([3, 4], dtype="Int64"), n1=pd.Series([20, 25], dtype="Int64"),
                      events2=[6, 4], n2=[21, 24])
    assert np.isfinite(ok.to_numpy()).all()
