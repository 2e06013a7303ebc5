"""Heterogeneity summary: Q-profile rows against metafor's confint (tight), and the
Higgins-Thompson test-based interval against its defining formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from oracle_cases import case_paths, close, load, primary_yi_vi, skip_without_oracle
from trialsynth.diagnostics.heterogeneity import heterogeneity_summary, higgins_thompson_ci
from trialsynth.errors import ArgumentError


@skip_without_oracle
@pytest.mark.parametrize("case", ["dat.bcg", "dat.dorn2007", "dat.molloy2014"])
def test_summary_matches_metafor(case):
    ref = load(next(p for p in case_paths() if p.stem == case))
    yi, vi = primary_yi_vi(ref)
    frame = heterogeneity_summary(yi, vi, method="REML").set_index("quantity")
    measure = ref["primary_measure"]
    fit = ref["measures"][measure]["rma_tight"]["REML"]["z"]
    conf = ref["measures"][measure]["confint_tight"]["REML"]
    tol = dict(rtol=1e-5, atol=1e-8)
    close(frame.loc["Q", "estimate"], fit["QE"], "QE", **tol)
    close(frame.loc["Q", "p_value"], fit["QEp"], "QEp", **tol)
    for row, key in (("tau2", "tau2"), ("tau", "tau"), ("I2", "I2"), ("H2", "H2")):
        for column, field in (("estimate", "estimate"), ("ci_low", "ci.lb"), ("ci_high", "ci.ub")):
            close(frame.loc[row, column], conf[key][field], f"{key}.{field}", **tol)


def test_higgins_thompson_large_q():
    q, k = 40.0, 11
    ci = higgins_thompson_ci(q, k)
    h = math.sqrt(q / (k - 1))
    se = 0.5 * (math.log(q) - math.log(k - 1)) / (math.sqrt(2 * q) - math.sqrt(2 * k - 3))
    z = stats.norm.ppf(0.975)
    assert ci["h"] == pytest.approx(2.0)
    assert ci["i2"] == pytest.approx(75.0)  # (Q - df)/Q
    assert ci["h_low"] == pytest.approx(h * math.exp(-z * se))
    assert ci["i2_high"] == pytest.approx(100 * (1 - 1 / (h * math.exp(z * se)) ** 2))
    assert ci["i2_low"] < ci["i2"] < ci["i2_high"]


def test_higgins_thompson_small_q_truncates():
    ci = higgins_thompson_ci(3.0, 6)  # Q < df: H < 1, I2 = 0
    assert ci["i2"] == 0 and ci["i2_low"] == 0 and ci["h"] == 1
    assert 0 < ci["i2_high"] < 100
    with pytest.raises(ArgumentError, match="at least 3"):
        higgins_thompson_ci(3.0, 2)


def test_summary_refuses_ee():
    with pytest.raises(ArgumentError, match="EE"):
        heterogeneity_summary(np.array([0.1, 0.3, 0.2]), np.array([0.1, 0.1, 0.2]), method="EE")
