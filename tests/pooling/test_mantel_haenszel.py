"""Mantel-Haenszel and Peto pooling against metafor 3.8 (rma.mh, rma.peto).

Every ``mh.*`` and ``peto`` record of the shared oracle, every field, at the
closed-form tolerance of the oracle README (rtol 1e-8, atol 1e-10; p-values
below 1e-10 are compared on the log scale).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.pooling.mantel_haenszel import pool_mh, pool_peto

ORACLE = Path(os.environ.get("TRIALSYNTH_ORACLE", "/work/shared/oracle/metafor"))
if not ORACLE.is_dir():  # pragma: no cover - the oracle lives outside the repo
    pytest.skip(f"metafor oracle not found at {ORACLE}", allow_module_level=True)

FIELDS = {
    "b": "estimate", "se": "se", "zval": "statistic", "pval": "p_value",
    "ci.lb": "ci_low", "ci.ub": "ci_high", "QE": "q", "QEp": "q_p_value",
    "I2": "i2", "H2": "h2", "k": "k", "k.yi": "k_yi", "k.pos": "k_pos",
    "CO": "cmh", "COp": "cmh_p_value", "MH": "mh_test", "MHp": "mh_test_p_value",
    "BD": "breslow_day", "BDp": "breslow_day_p_value",
    "TA": "tarone", "TAp": "tarone_p_value",
}


def _records():
    out = []
    for path in sorted(ORACLE.glob("*.json")):
        ref = json.loads(path.read_text())
        for measure, record in (ref.get("mh") or {}).items():
            out.append(pytest.param(path, measure, id=f"{ref['case']}-mh.{measure}"))
        if ref.get("peto"):
            out.append(pytest.param(path, "peto", id=f"{ref['case']}-peto"))
    return out


RECORDS = _records()


def test_oracle_has_records():
    # 13 binary cases x (3 MH + Peto) + 1 rate case x 2 = 42 records
    assert len(RECORDS) >= 42


def _fit(path: Path, which: str):
    ref = json.loads(path.read_text())
    dat = pd.read_csv(path.with_suffix(".csv"))
    record = ref["peto"] if which == "peto" else ref["mh"][which]
    if ref["data_type"] == "rate":
        result = pool_mh(which, dat.x1i, None, dat.x2i, None, time1=dat.t1i, time2=dat.t2i)
    elif which == "peto":
        result = pool_peto(dat.ai, dat.ai + dat.bi, dat.ci, dat.ci + dat.di)
    else:
        result = pool_mh(which, dat.ai, dat.ai + dat.bi, dat.ci, dat.ci + dat.di)
    return record, result


def _close(ours, theirs, name):
    if theirs is None:
        assert ours is None or (isinstance(ours, float) and math.isnan(ours)), f"{name}: metafor gives NA, we give {ours}"
        return
    assert ours is not None, f"{name}: metafor gives {theirs}, we give None"
    if name.endswith("p") and 0 < theirs < 1e-10:
        assert math.log(ours) == pytest.approx(math.log(theirs), rel=1e-8), name
    else:
        assert abs(ours - theirs) <= 1e-10 + 1e-8 * abs(theirs), f"{name}: {ours} vs metafor {theirs}"


@pytest.mark.parametrize("path, which", RECORDS)
def test_matches_metafor(path, which):
    record, result = _fit(path, which)
    assert record["error"] is None
    checked = 0
    for field, attribute in FIELDS.items():
        if field not in record:
            continue
        _close(getattr(result, attribute), record[field], field)
        checked += 1
    assert checked >= 13


def test_ratio_back_transform():
    path = ORACLE / "dat.bcg.json"
    record, result = _fit(path, "OR")
    back = result.exp()
    assert back["estimate"] == pytest.approx(math.exp(record["b"]), rel=1e-10)
    assert back["ci_low"] == pytest.approx(math.exp(record["ci.lb"]), rel=1e-10)
    frame = result.to_frame()
    assert frame.loc[0, "exp_estimate"] == pytest.approx(back["estimate"])
    assert {"breslow_day", "tarone", "cmh"} <= set(frame.columns)
    assert "Breslow-Day" in result.summary()
    _, rd = _fit(path, "RD")
    with pytest.raises(ArgumentError, match="ratio"):
        rd.exp()


def test_double_zero_study_left_out_of_q_only():
    # edge_zero: study C has no events in either arm; it is in k but not in Q
    record, result = _fit(ORACLE / "edge_zero.json", "OR")
    assert (result.k, result.k_yi) == (6, 5)
    assert result.warnings


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(measure="HR", events1=[1], n1=[2], events2=[1], n2=[2]), "measure"),
        (dict(measure="OR", events1=[1, 2], n1=[2], events2=[1], n2=[2]), "same length"),
        (dict(measure="OR", events1=[3], n1=[2], events2=[1], n2=[2]), "events1"),
        (dict(measure="OR", events1=[-1], n1=[2], events2=[1], n2=[2]), ">= 0"),
        (dict(measure="OR", events1=[np.nan], n1=[2], events2=[1], n2=[2]), "missing"),
        (dict(measure="OR", events1=[1.5], n1=[2], events2=[1], n2=[2]), "whole numbers"),
        (dict(measure="IRR", events1=[1], events2=[1]), "time1"),
        (dict(measure="OR", events1=[0, 0], n1=[5, 5], events2=[0, 0], n2=[5, 5]), r"undefined \(0/0\)"),
        (dict(measure="OR", events1=[2, 1], n1=[5, 5], events2=[0, 0], n2=[5, 5]), "infinite"),
    ],
)
def test_bad_input_named(kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        pool_mh(**kwargs)


def test_peto_uninformative():
    with pytest.raises(ArgumentError, match="informative"):
        pool_peto([0, 0], [5, 5], [0, 0], [5, 5])


def test_weights_and_study_frame():
    # OR: MH weights b_i c_i / n_i (Mantel & Haenszel 1959)
    result = pool_mh("OR", [1, 5], [3, 6], [2, 3], [7, 4], labels=["a", "b"])
    # table a: a=1,b=2,c=2,d=5,n=10 -> 2*2/10 = 0.4; table b: a=5,b=1,c=3,d=1,n=10 -> 0.3
    np.testing.assert_allclose(result.weights, [100 * 0.4 / 0.7, 100 * 0.3 / 0.7])
    frame = result.study_frame()
    assert frame["label"].tolist() == ["a", "b"]
    assert frame["in_q"].all()
    # Peto weights are the hypergeometric variances
    peto = pool_peto([1, 5], [3, 6], [2, 3], [7, 4])
    assert peto.weights.sum() == pytest.approx(100)
    # a double-zero study keeps its row, with no estimable effect, and weight 0
    zero = pool_mh("RR", [0, 2, 3], [10, 10, 10], [0, 4, 6], [10, 10, 10])
    frame = zero.study_frame()
    assert frame["in_q"].tolist() == [False, True, True]
    assert np.isnan(frame.loc[0, "yi"]) and frame.loc[0, "weight"] == 0
