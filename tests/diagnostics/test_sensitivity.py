"""Leave-one-out, cumulative and influence diagnostics against metafor 3.8.

Oracle records ``primary.leave1out``, ``primary.cumul`` and ``primary.influence``
(REML with tight control) for every case, every array, at 1e-5 relative / 1e-8
absolute (oracle README); the influence flags exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oracle_cases import case_paths, close_array, load, primary_yi_vi, skip_without_oracle
from trialsynth.diagnostics.sensitivity import cumulative, influence, leave_one_out
from trialsynth.errors import ArgumentError

CASES = [pytest.param(p, id=p.stem) for p in case_paths()]
TOL = dict(rtol=1e-5, atol=1e-8)
FIT_ARRAYS = {
    "estimate": "estimate", "se": "se", "zval": "statistic", "pval": "p_value", "ci.lb": "ci_low",
    "ci.ub": "ci_high", "Q": "q", "Qp": "q_p_value", "tau2": "tau2", "I2": "i2", "H2": "h2",
}
INFLUENCE_ARRAYS = {
    "rstudent": "rstudent", "dffits": "dffits", "cook.d": "cook_d", "cov.r": "cov_r",
    "tau2.del": "tau2_del", "QE.del": "qe_del", "hat": "hat", "weight": "weight", "dfbetas": "dfbetas",
}


@skip_without_oracle
@pytest.mark.parametrize("path", CASES)
def test_leave1out(path):
    ref = load(path)
    record = ref["primary"]["leave1out"]
    assert record["error"] is None
    yi, vi = primary_yi_vi(ref)
    frame = leave_one_out(yi, vi, labels=ref["study"])
    assert frame["omitted"].tolist() == ref["study"]
    assert (frame["k"] == yi.size - 1).all()
    for field, column in FIT_ARRAYS.items():
        close_array(frame[column], record[field], field, **TOL)


@skip_without_oracle
@pytest.mark.parametrize("path", CASES)
def test_cumul(path):
    ref = load(path)
    record = ref["primary"]["cumul"]
    assert record["error"] is None
    yi, vi = primary_yi_vi(ref)
    frame = cumulative(yi, vi, labels=ref["study"])
    assert frame["added"].tolist() == ref["study"]
    assert frame["k"].tolist() == list(range(1, yi.size + 1))
    for field, column in FIT_ARRAYS.items():
        close_array(frame[column], record[field], field, **TOL)


@skip_without_oracle
@pytest.mark.parametrize("path", CASES)
def test_influence(path):
    ref = load(path)
    record = ref["primary"]["influence"]
    assert record["error"] is None
    yi, vi = primary_yi_vi(ref)
    frame = influence(yi, vi, labels=ref["study"])
    for field, column in INFLUENCE_ARRAYS.items():
        close_array(frame[column], np.asarray(record[field]).reshape(-1), field, **TOL)
    assert frame["is_influential"].tolist() == record["is.infl"]


def test_cumulative_order():
    yi = np.array([0.1, 0.5, -0.2, 0.3])
    vi = np.array([0.05, 0.1, 0.2, 0.08])
    years = np.array([2004, 1999, 2010, 2001])
    by_year = cumulative(yi, vi, order=years, labels=list("abcd"), method="DL")
    assert by_year["added"].tolist() == ["b", "d", "a", "c"]
    permuted = cumulative(yi, vi, order=np.array([1, 3, 0, 2]), labels=list("abcd"), method="DL")
    pd.testing.assert_frame_equal(by_year, permuted)
    # the last step is the full meta-analysis whatever the order
    plain = cumulative(yi, vi, method="DL")
    assert by_year["estimate"].iloc[-1] == pytest.approx(plain["estimate"].iloc[-1], rel=1e-12)
    with pytest.raises(ArgumentError, match="order"):
        cumulative(yi, vi, order=[1, 2])


def test_needs_two_studies():
    with pytest.raises(ArgumentError, match="at least 2"):
        leave_one_out([0.1], [0.1])
    with pytest.raises(ArgumentError, match="at least 2"):
        influence([0.1], [0.1])
