"""escalc parity for the trial effect sizes of issue 14, and their checks.

Reference values: ``reference/escalc_trials.json``, written by ``reference/make_escalc_trials.R``
with R metafor 3.8-1. Inputs are metadat data sets (cited in each case's ``source``: Normand
1999, Curtis & Wang 1998, Gibson et al. 2002, Colditz et al. 1994, Bourassa et al. 1996) and
small tables with zero cells, unequal SDs, r = 0 and r < 0.

Where metafor gives NA for a row (a phi coefficient of a table with an empty row or column,
a conditional odds ratio with a zero discordant cell and ``to="none"``), trialsynth refuses the
whole call with an ArgumentError naming the positions; the other rows are compared on their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trialsynth import effect_sizes
from trialsynth.effects.measures import MEASURE_ARRAYS, MEASURES, RATIO_MEASURES, VTYPES
from trialsynth.errors import ArgumentError

RTOL, ATOL = 1e-8, 1e-10
REF = json.loads((Path(__file__).parent / "reference/escalc_trials.json").read_text())
NEW = {"MC", "SMCC", "SMCR", "SMCRH", "SMDH", "VR", "CVR", "ROMC", "MN", "MNLN", "OR2DN", "OR2DL",
       "D2ORN", "D2ORL", "MPRD", "MPRR", "MPOR", "MPORC", "MPPETO", "AS", "PHI", "YUQ", "YUY"}


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_escalc_trials(case):
    assert not case.get("error"), case.get("error")
    measure, args = case["measure"], case["args"] or {}
    # the R script keeps a data set's columns together; metafor used the measure's own
    inputs = {k: _arr(case["inputs"][k]) for k in MEASURE_ARRAYS[measure]}
    want_yi, want_vi = _arr(case["yi"]), _arr(case["vi"])
    na = np.isnan(want_yi) | np.isnan(want_vi)
    if na.any():
        with pytest.raises(ArgumentError, match="position"):
            effect_sizes(measure, **inputs, **args)
        inputs = {k: v[~na] for k, v in inputs.items()}
        want_yi, want_vi = want_yi[~na], want_vi[~na]
    got = effect_sizes(measure, **inputs, **args)
    np.testing.assert_allclose(got["yi"], want_yi, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got["vi"], want_vi, rtol=RTOL, atol=ATOL)


def test_reference_covers_every_new_measure_and_vtype():
    measures = {c["measure"] for c in REF["cases"]}
    assert measures >= NEW
    assert NEW <= set(MEASURES)
    for measure, vtypes in VTYPES.items():
        seen = {(c["args"] or {}).get("vtype", "LS") for c in REF["cases"] if c["measure"] == measure}
        if measure in ("SMD", "MD", "SMCC", "SMCR", "PHI"):
            assert seen | {"LS"} >= set(vtypes) - {"LS"}, measure


def test_gibson2002_conversions_are_exact_rescalings():
    """Gibson et al. 2002 (asthma education): the two conversions are the fixed factors of
    the Cochrane Handbook 10.6 (pi/sqrt(3), Chinn 2000) and of Cox (1.65)."""
    case = next(c for c in REF["cases"] if c["name"] == "gibson2002-OR2DL")
    x = {k: _arr(v) for k, v in case["inputs"].items()}
    log_or = effect_sizes("OR", **x)
    d = effect_sizes("OR2DL", **x)
    np.testing.assert_allclose(d["yi"] * np.pi / np.sqrt(3), log_or["yi"], rtol=1e-12)
    np.testing.assert_allclose(d["vi"] * np.pi**2 / 3, log_or["vi"], rtol=1e-12)
    dn = effect_sizes("OR2DN", **x)
    np.testing.assert_allclose(dn["yi"] * 1.65, log_or["yi"], rtol=1e-12)


def test_smd_vtypes_share_yi_and_differ_in_vi():
    case = next(c for c in REF["cases"] if c["name"] == "normand1999-SMD-vtype=LS")
    x = {k: _arr(case["inputs"][k]) for k in MEASURE_ARRAYS["SMD"]}
    out = {vt: effect_sizes("SMD", **x, vtype=vt) for vt in VTYPES["SMD"]}
    for vt in VTYPES["SMD"]:
        np.testing.assert_array_equal(out[vt]["yi"], out["LS"]["yi"])
    assert np.all(out["UB"]["vi"] > out["LS"]["vi"])  # the unbiased variance is the larger here


def test_change_sd_shortcut():
    """metafor's documented shortcut: an SD of the change scores as sd1 with sd2 = r = 0."""
    full = effect_sizes("SMCC", mean1=[10.0], sd1=[4.0], mean2=[7.0], sd2=[3.0], n=[20], r=[0.5])
    sd_change = np.sqrt(16 + 9 - 2 * 0.5 * 12)
    short = effect_sizes("SMCC", mean1=[10.0], sd1=[sd_change], mean2=[7.0], sd2=[0.0], n=[20], r=[0.0])
    np.testing.assert_allclose(short.to_numpy(), full.to_numpy(), rtol=1e-12)


def test_new_ratio_measures_are_flagged():
    assert {"ROMC", "VR", "CVR", "MNLN", "D2ORN", "D2ORL", "MPRR", "MPOR", "MPORC", "MPPETO"} <= RATIO_MEASURES
    assert not {"MC", "SMCC", "SMDH", "MPRD", "AS", "PHI", "YUQ", "OR2DN"} & RATIO_MEASURES


CHG = dict(mean1=[30.0, 12.0], sd1=[8.0, 4.0], mean2=[24.0, 13.0], sd2=[7.0, 5.0], n=[25, 12], r=[0.6, 0.2])
PAIR = dict(both=[10, 5], only1=[20, 0], only2=[5, 5], neither=[30, 40])


@pytest.mark.parametrize(
    ("measure", "arrays", "kwargs", "match"),
    [
        ("SMD", dict(n1=[10], mean1=[1.0], sd1=[1.0], n2=[10], mean2=[0.0], sd2=[1.0]), {"vtype": "XX"}, "vtype: measure SMD takes"),
        ("SMDH", dict(n1=[10], mean1=[1.0], sd1=[1.0], n2=[10], mean2=[0.0], sd2=[1.0]), {"vtype": "UB"}, "vtype"),
        ("SMCC", {**CHG, "r": [1.5, 0.2]}, {}, "r: expected correlations in"),
        ("SMCC", {**CHG, "n": [2, 12]}, {}, "n: expected sample sizes greater than 2"),
        ("SMCC", dict(mean1=[3.0], sd1=[2.0], mean2=[1.0], sd2=[2.0], n=[10], r=[1.0]), {}, "change-score SD > 0"),
        ("SMCR", {k: v for k, v in CHG.items() if k != "sd2"} | {"sd1": [0.0, 4.0]}, {}, "sd1"),
        ("SMCR", CHG, {}, "sd2: not an argument of measure SMCR"),
        ("ROMC", {**CHG, "mean2": [-1.0, 13.0]}, {}, "mean2: expected means > 0"),
        ("VR", dict(n1=[10], sd1=[0.0], n2=[10], sd2=[1.0]), {}, "sd1"),
        ("CVR", dict(n1=[10], mean1=[0.0], sd1=[1.0], n2=[10], mean2=[2.0], sd2=[1.0]), {}, "mean1"),
        ("MNLN", dict(mean=[-2.0], sd=[1.0], n=[10]), {}, "mean: expected means > 0"),
        ("MPORC", {**PAIR, "only1": [-1, 0]}, {}, "only1: expected counts >= 0"),
        ("MPORC", PAIR, {"drop00": True}, "drop00: not defined for paired tables"),
        ("MPORC", PAIR, {"to": "none"}, "to='none'"),
        ("PHI", dict(events1=[0, 3], n1=[10, 10], events2=[0, 4], n2=[12, 10]), {}, "no phi coefficient"),
    ],
)
def test_bad_input_is_named(measure, arrays, kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        effect_sizes(measure, **arrays, **kwargs)


def test_every_log_scale_measure_is_shown_as_a_ratio_downstream():
    """Ratios shown as ratios: pooling and the plots back-transform every log-scale measure."""
    from trialsynth.effects.scales import RATIO_MEASURES as SCALE_RATIOS
    from trialsynth.plots._format import RATIO_MEASURES as PLOT_RATIOS

    assert RATIO_MEASURES <= SCALE_RATIOS  # the one list pooling, claims, GRADE and reports read
    assert RATIO_MEASURES <= PLOT_RATIOS
