"""Leave-one-out, cumulative and influence diagnostics against metafor 3.8.

Oracle records ``primary.leave1out``, ``primary.cumul`` and ``primary.influence``
(REML with tight control) for every case, every array, at 1e-5 relative / 1e-8
absolute (oracle README); the influence flags exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oracle_cases import case_paths, close_array, load, primary_yi_vi, skip_without_oracle
from trialsynth.diagnostics.sensitivity import cumulative, gosh, influence, leave_one_out
from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import pool

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


# ---------------------------------------------------------------------- GOSH

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "reference" / "extras_reference.json"


def _reference():
    return json.loads(REFERENCE_FILE.read_text())


@pytest.mark.parametrize("case", ["bcg1to6.RR.gosh", "hine1989.RD.gosh"])
@pytest.mark.parametrize("method", ["REML", "DL"])
def test_gosh_matches_r(case, method):
    """All 63 subsets of k = 6 against metafor's gosh() (tests/reference/make_extras_reference.R)."""
    data = _reference()["cases"][case]
    record = data["gosh"][method]
    frame = gosh(data["yi"], data["vi"], method=method)
    assert len(frame) == 63 and frame.attrs["n_possible"] == 63 and not frame.attrs["sampled"]
    membership = frame[frame.attrs["studies"]].to_numpy().astype(int)
    np.testing.assert_array_equal(membership, np.asarray(record["incl"]))
    tol = dict(rtol=1e-5, atol=1e-8) if method == "REML" else dict(rtol=1e-8, atol=1e-10)
    close_array(frame["estimate"], record["estimate"], "estimate", **tol)
    close_array(frame["tau2"], record["tau2"], "tau2", **tol)
    close_array(frame["q"], record["QE"], "QE", **tol)
    close_array(frame["i2"], record["I2"], "I2", **tol)
    h2_r = np.asarray(record["H2"])
    if method == "REML":
        close_array(frame["h2"], h2_r, "H2", **tol)
    else:
        # metafor's gosh() reports H2 = QE/(k-1) for DL without the truncation of tau2 at 0
        # that its own rma() applies (there H2 = (tau2 + s2)/s2 = 1 when tau2 = 0). We keep
        # rma()'s definition, so both agree wherever tau2 > 0 and ours is 1 where tau2 = 0.
        positive = frame["tau2"].to_numpy() > 0
        close_array(frame["h2"][positive], h2_r[positive], "H2 (tau2 > 0)", **tol)
        assert np.all(frame["h2"][~positive] == 1.0)
        multi = ~positive & (frame["k"].to_numpy() > 1)
        np.testing.assert_allclose(h2_r[multi], frame["q"][multi] / (frame["k"][multi] - 1), rtol=1e-8)


@skip_without_oracle
def test_gosh_equals_pool_on_sampled_subsets():
    ref = load(next(p for p in case_paths() if p.stem == "dat.bcg"))
    yi, vi = primary_yi_vi(ref)
    frame = gosh(yi, vi, labels=ref["study"])
    assert len(frame) == 2**13 - 1
    rng = np.random.default_rng(20240601)
    for row in rng.choice(len(frame), size=60, replace=False):
        members = frame.loc[row, ref["study"]].to_numpy(bool)
        fit = pool(yi[members], vi[members], method="REML", warn=False)
        assert frame.loc[row, "k"] == members.sum()
        for column in ("estimate", "se", "tau2", "q"):
            expected = 0.0 if (fit.k == 1 and column == "q") else getattr(fit, column)
            assert frame.loc[row, column] == pytest.approx(expected, rel=1e-7, abs=1e-10), column
        if fit.k > 1:
            assert frame.loc[row, "i2"] == pytest.approx(fit.i2, rel=1e-7, abs=1e-8)


def test_gosh_random_sample():
    rng = np.random.default_rng(3)
    yi = rng.normal(0.3, 0.2, size=22)
    vi = rng.uniform(0.02, 0.1, size=22)
    frame = gosh(yi, vi, method="DL", subsets=500, seed=1)
    assert len(frame) == 500 and frame.attrs["sampled"]
    membership = frame[frame.attrs["studies"]].to_numpy()
    assert len({row.tobytes() for row in membership}) == 500  # distinct subsets
    again = gosh(yi, vi, method="DL", subsets=500, seed=1)
    pd.testing.assert_frame_equal(frame, again)


def test_gosh_bad_labels():
    with pytest.raises(ArgumentError, match="unique"):
        gosh([0.1, 0.2], [0.1, 0.1], labels=["a", "a"])
    with pytest.raises(ArgumentError, match="clash"):
        gosh([0.1, 0.2], [0.1, 0.1], labels=["k", "b"])


@skip_without_oracle
def test_gosh_every_subset_is_finite():
    """Every one of the 8191 subsets of dat.bcg gives a finite, bounded fit."""
    ref = load(next(p for p in case_paths() if p.stem == "dat.bcg"))
    yi, vi = primary_yi_vi(ref)
    frame = gosh(yi, vi, labels=ref["study"])
    stats_ = frame[["estimate", "se", "tau2", "i2", "h2", "q"]].to_numpy()
    assert np.isfinite(stats_).all()
    # tau2 can never exceed the spread of the data by orders of magnitude
    assert frame["tau2"].max() < 100 * (np.var(yi) + vi.max())


# ------------------------- own reference: other models (DL, knha), Hackshaw 1998

SENSITIVITY_MODELS = ["DL.z", "DL.knha", "REML.knha"]


@pytest.mark.parametrize("spec", SENSITIVITY_MODELS)
def test_sensitivity_other_models(spec):
    """leave1out/cumul/influence/regtest/ranktest under DL and Knapp-Hartung fits
    (tests/reference/make_extras_reference.R, case hackshaw1998.sensitivity)."""
    from trialsynth.diagnostics.small_study import egger_test, rank_test

    data = _reference()["cases"]["hackshaw1998.sensitivity"]
    record = data["models"][spec]
    method, test = spec.split(".")
    yi, vi = np.asarray(data["yi"]), np.asarray(data["vi"])
    fit = pool(yi, vi, method=method, test=test, warn=False)
    tol = dict(rtol=1e-5, atol=1e-8) if method == "REML" else dict(rtol=1e-8, atol=1e-10)
    for name, frame in (("leave1out", leave_one_out(fit)), ("cumul", cumulative(fit))):
        for field, column in FIT_ARRAYS.items():
            close_array(frame[column], record[name][field], f"{name}.{field}", **tol)
    frame = influence(fit)
    for field, column in INFLUENCE_ARRAYS.items():
        close_array(frame[column], record["influence"][field], f"influence.{field}", **tol)
    assert frame["is_influential"].tolist() == record["influence"]["is.infl"]
    for model, key in (("rma", "regtest"), ("lm", "regtest_lm")):
        result = egger_test(fit, model=model)
        ref = record[key]
        assert result.dfs == ref["dfs"]
        for ours, field in ((result.statistic, "zval"), (result.p_value, "pval"), (result.limit_estimate, "est"),
                            (result.limit_ci_low, "ci.lb"), (result.limit_ci_high, "ci.ub")):
            close_array([ours], [ref[field]], f"{key}.{field}", **tol)
    ranked = rank_test(fit)
    close_array([ranked.tau, ranked.p_value], [record["ranktest"]["tau"], record["ranktest"]["pval"]], "ranktest",
                rtol=1e-8, atol=1e-10)
