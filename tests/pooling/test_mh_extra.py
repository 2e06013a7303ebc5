"""Mantel-Haenszel and Peto beyond the shared oracle: zero counts, uncorrected tests, residuals,
leave-one-out and cumulative refits, against metafor 3.8 (``reference/mh_extra.json``, written by
``reference/make_mh_extra.R``).

Published analyses used as inputs: Peto's overview of beta blockade after myocardial infarction
(Yusuf et al. 1985, table 6, the data set Peto's one-step odds ratio was introduced on), the BCG
trials (Colditz et al. 1994), the magnesium trials (Egger et al. 2001) and Hart et al. 1999
(person-time). Tolerance: rtol 1e-8, atol 1e-10 (closed forms); p-values below 1e-10 on the
log scale.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialsynth import cumulative, leave_one_out
from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import MetaWarning
from trialsynth.pooling.mantel_haenszel import pool_mh, pool_peto

REF = json.loads((Path(__file__).parent / "reference/mh_extra.json").read_text())
RTOL, ATOL = 1e-8, 1e-10

FIELDS = {
    "b": "estimate", "se": "se", "zval": "statistic", "pval": "p_value", "ci.lb": "ci_low",
    "ci.ub": "ci_high", "QE": "q", "QEp": "q_p_value", "I2": "i2", "H2": "h2", "k": "k",
    "k.yi": "k_yi", "k.pos": "k_pos", "CO": "cmh", "COp": "cmh_p_value", "MH": "mh_test",
    "MHp": "mh_test_p_value", "BD": "breslow_day", "BDp": "breslow_day_p_value", "TA": "tarone",
    "TAp": "tarone_p_value",
}
FRAME = {"estimate": "estimate", "se": "se", "zval": "statistic", "pval": "p_value", "ci.lb": "ci_low",
         "ci.ub": "ci_high", "Q": "q", "Qp": "q_p_value", "I2": "i2", "H2": "h2"}


def _num(value):
    if value is None or value in ("NA", "NaN"):
        return math.nan
    if value == "Inf":
        return math.inf
    if value == "-Inf":
        return -math.inf
    return float(value)


def _vec(values):
    if not isinstance(values, list):  # jsonlite writes a vector of length 1 as a scalar
        values = [values]
    return np.array([_num(v) for v in values], dtype=float)


def _close(ours, theirs, name):
    theirs = _num(theirs)
    ours = math.nan if ours is None else float(ours)
    if math.isnan(theirs):
        assert math.isnan(ours), f"{name}: metafor gives NA/NaN, we give {ours}"
    elif math.isinf(theirs):
        assert ours == theirs, f"{name}: {ours} vs metafor {theirs}"
    elif name.endswith("p") and 0 < theirs < 1e-10:
        assert math.log(ours) == pytest.approx(math.log(theirs), rel=1e-8), name
    else:
        assert abs(ours - theirs) <= ATOL + RTOL * abs(theirs), f"{name}: {ours} vs metafor {theirs}"


def _fit(method, measure, inputs, **kwargs):
    x = {k: _vec(v) for k, v in inputs.items()}
    if method == "peto":
        return pool_peto(x["events1"], x["n1"], x["events2"], x["n2"], **kwargs)
    if measure in ("IRR", "IRD"):
        return pool_mh(measure, x["events1"], None, x["events2"], None, time1=x["time1"], time2=x["time2"], **kwargs)
    return pool_mh(measure, x["events1"], x["n1"], x["events2"], x["n2"], **kwargs)


def _compare_fit(result, record, skip=()):
    if record.get("k.pos") is not None and _num(record["k.pos"]) < 2:
        # one informative table: no homogeneity test on 0 df (metafor prints BD = 1e-30, TA = 0, p = NA)
        assert result.breslow_day is None and result.tarone is None
        skip = (*skip, "BD", "TA")
    for r_name, ours in FIELDS.items():
        if r_name in skip or r_name not in record or record[r_name] is None:
            continue
        _close(getattr(result, ours), record[r_name], r_name)


# ---------------------------------------------------------------- defect 3: zero patterns

ZERO = REF["zero_patterns"]


@pytest.mark.parametrize("case", ZERO, ids=[c["name"] for c in ZERO])
def test_zero_pattern_matches_metafor(case):
    undefined = case.get("error") or math.isnan(_num(case["fit"]["b"]))
    if undefined:
        # metafor errors (Peto) or returns NA (an MH ratio of 0, infinity or 0/0): we refuse, saying why
        with pytest.raises(ArgumentError, match="events1, events2"):
            _fit(case["method"], case["measure"], case["inputs"], warn=False)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _fit(case["method"], case["measure"], case["inputs"])
    _compare_fit(result, case["fit"])
    if result.se == 0:
        assert any("variance" in str(w.message) and issubclass(w.category, MetaWarning) for w in caught)
        assert any("se = 0" in note for note in result.warnings)


def test_zero_variance_cases_are_the_ones_metafor_gives_se_0():
    """The defect: pool_mh raised a bare ZeroDivisionError on these."""
    names = {c["name"] for c in ZERO if not c.get("error") and _num(c["fit"]["se"]) == 0}
    assert names >= {"no-events-RD", "all-events-RD", "all-events-RR", "no-events-IRD",
                     "all-events-arm1-none-arm2-RD", "k1-no-events-RD"}


def test_no_events_rd_returns_zero_with_nan_test():
    with pytest.warns(MetaWarning, match="variance of the RD is 0"):
        result = pool_mh("RD", [0, 0, 0], [10, 20, 15], [0, 0, 0], [12, 18, 15])
    assert (result.estimate, result.se, result.ci_low, result.ci_high) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(result.statistic) and math.isnan(result.p_value)
    assert (result.q, result.q_p_value, result.i2, result.h2, result.k_yi) == (0.0, 1.0, 0.0, 1.0, 0)
    text = result.summary()
    assert "se = 0.0000" in text and "Note: the Mantel-Haenszel variance of the RD is 0" in text
    row = result.to_frame().iloc[0]
    assert row["se"] == 0 and math.isnan(row["p_value"])


def test_warn_false_keeps_warnings_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = pool_mh("IRD", [0, 0], None, [0, 0], None, time1=[10.0, 20.0], time2=[12.0, 9.0], warn=False)
    assert result.se == 0 and result.warnings


# ---------------------------------------------------------------- published data sets

ANALYSES = REF["analyses"]


def _analysis(case):
    return _fit(case["method"], case["measure"], case["inputs"], labels=case["labels"], warn=False)


@pytest.mark.parametrize("case", ANALYSES, ids=[c["name"] for c in ANALYSES])
def test_fit_matches_metafor(case):
    _compare_fit(_analysis(case), case["fit"])


UNCORRECTED = [c for c in ANALYSES if "fit_uncorrected" in c]


@pytest.mark.parametrize("case", UNCORRECTED, ids=[c["name"] for c in UNCORRECTED])
def test_tests_without_continuity_correction(case):
    x = {k: _vec(v) for k, v in case["inputs"].items()}
    if case["measure"] == "IRR":
        result = pool_mh("IRR", x["events1"], None, x["events2"], None, time1=x["time1"], time2=x["time2"], correct=False)
    else:
        result = pool_mh("OR", x["events1"], x["n1"], x["events2"], x["n2"], correct=False, warn=False)
    record = case["fit_uncorrected"]
    _compare_fit(result, record)
    corrected = _analysis(case)
    assert result.mh_test > corrected.mh_test  # the correction shrinks |O - E|
    assert result.estimate == corrected.estimate


@pytest.mark.parametrize("case", ANALYSES, ids=[c["name"] for c in ANALYSES])
def test_residuals_match_metafor(case):
    result = _analysis(case)
    np.testing.assert_allclose(result.residuals(), _vec(case["residuals"]), rtol=RTOL, atol=ATOL, equal_nan=True)
    std = result.rstandard()
    stud = result.rstudent()
    in_q = result.in_q
    for ours, theirs in ((std, case["rstandard"]), (stud, case["rstudent"])):
        # metafor drops the studies left out of Q from these lists; we keep their rows as NaN
        assert len(theirs["z"]) == int(in_q.sum())
        assert ours.loc[~in_q, ["resid", "se", "z"]].isna().all().all()
        for column in ("resid", "se", "z"):
            np.testing.assert_allclose(ours.loc[in_q, column], _vec(theirs[column]), rtol=RTOL, atol=ATOL,
                                       err_msg=column)
    assert std["label"].tolist() == case["labels"]


def _compare_frame(ours: pd.DataFrame, theirs: dict):
    for r_name, column in FRAME.items():
        want = _vec(theirs[r_name])
        got = ours[column].to_numpy(float)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{r_name}p" if r_name.endswith("p") else f"{r_name}[{i}]")
    np.testing.assert_array_equal(ours["tau2"], 0.0)


@pytest.mark.parametrize("case", ANALYSES, ids=[c["name"] for c in ANALYSES])
def test_leave_one_out_refits_the_count_model(case):
    result = _analysis(case)
    loo = leave_one_out(result)
    assert loo["omitted"].tolist() == case["labels"]
    assert (loo["k"] == result.k - 1).all()
    _compare_frame(loo, case["leave1out"])
    assert loo.attrs["method"] == result.method


@pytest.mark.parametrize("case", ANALYSES, ids=[c["name"] for c in ANALYSES])
def test_cumulative_refits_the_count_model(case):
    result = _analysis(case)
    cum = cumulative(result)
    assert cum["added"].tolist() == case["labels"]
    assert cum["k"].tolist() == list(range(1, result.k + 1))
    _compare_frame(cum, case["cumul"])
    if "cumul_ordered" in case:
        ordered = cumulative(result, order=np.asarray(case["order"]))
        _compare_frame(ordered, case["cumul_ordered"])


def test_yusuf1985_peto_leave_one_out_differs_from_inverse_variance():
    """Yusuf et al. 1985: dropping a table and refitting Peto's model is not an IV refit of (O-E)/V."""
    case = next(c for c in ANALYSES if c["name"] == "yusuf1985-table6-peto-PETO")
    result = _analysis(case)
    loo = leave_one_out(result)
    # a table with no events in either arm carries no information: omitting it changes nothing
    pitt = loo.index[loo["omitted"] == "Pitt"][0]
    assert loo.loc[pitt, "estimate"] == pytest.approx(result.estimate, rel=1e-12)
    assert loo.loc[pitt, "se"] == pytest.approx(result.se, rel=1e-12)


def test_cumulative_notes_an_undefined_step():
    # the first table has events in arm 1 only: the MH odds ratio of it alone is infinite
    result = pool_mh("OR", [3, 4, 2], [10, 10, 10], [0, 2, 5], [10, 10, 10], labels=["a", "b", "c"], warn=False)
    cum = cumulative(result)
    assert math.isnan(cum.loc[0, "estimate"]) and cum.loc[0, "k"] == 1
    assert "infinite" in cum.attrs["notes"]["a"]
    assert np.isfinite(cum.loc[2, "estimate"]) and cum.loc[2, "estimate"] == pytest.approx(result.estimate)


def test_count_model_refuses_iv_options():
    result = pool_mh("RR", [3, 4, 2], [10, 10, 10], [1, 2, 5], [10, 10, 10], warn=False)
    with pytest.raises(ArgumentError, match="method: a Mantel-Haenszel result is refitted"):
        leave_one_out(result, method="REML")
    with pytest.raises(ArgumentError, match="order"):
        cumulative(result, order=[1, 2])


def test_refit_keeps_options():
    result = pool_mh("OR", [3, 4, 2, 6], [10, 10, 10, 12], [1, 2, 5, 3], [10, 10, 10, 11],
                     level=90, correct=False, warn=False)
    sub = result.refit([0, 2, 3])
    direct = pool_mh("OR", [3, 2, 6], [10, 10, 12], [1, 5, 3], [10, 10, 11], level=90, correct=False, warn=False)
    assert (sub.level, sub.correct, sub.k) == (90, False, 3)
    assert sub.cmh == pytest.approx(direct.cmh) and sub.ci_low == pytest.approx(direct.ci_low)
    with pytest.raises(ArgumentError, match="keep"):
        result.refit(np.ones(3, bool))
    with pytest.raises(ArgumentError, match="correct"):
        pool_mh("OR", [1], [2], [1], [2], correct="no")
