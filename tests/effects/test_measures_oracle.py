"""escalc parity: every measure of every metafor oracle case, one test id each.

Reference: R metafor 3.8-1 ``escalc`` output stored in ``shared/oracle/metafor/*.json``
(see its README). Tolerance from that README: rtol 1e-8, atol 1e-10.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialsynth import effect_sizes

RTOL, ATOL = 1e-8, 1e-10


def _oracle_dir() -> Path | None:
    candidates = [os.environ.get("TRIALSYNTH_ORACLE")]
    root = Path(__file__).resolve().parents[2]
    candidates += [root.parent / "shared/oracle/metafor", root.parent.parent / "shared/oracle/metafor",
                   Path("/work/shared/oracle/metafor")]
    for c in candidates:
        if c and Path(c).is_dir() and any(Path(c).glob("*.json")):
            return Path(c)
    return None


ORACLE = _oracle_dir()

# metafor's CSV column names -> effect_sizes arrays, per data type (oracle README, "CSV columns")
def _arrays(data_type: str, dat: pd.DataFrame) -> dict:
    if data_type == "binary":
        return dict(events1=dat.ai, n1=dat.ai + dat.bi, events2=dat.ci, n2=dat.ci + dat.di)
    if data_type == "continuous":
        return dict(n1=dat.n1i, mean1=dat.m1i, sd1=dat.sd1i, n2=dat.n2i, mean2=dat.m2i, sd2=dat.sd2i)
    if data_type == "proportion":
        return dict(events=dat.xi, n=dat.ni)
    if data_type == "rate":
        return dict(events1=dat.x1i, time1=dat.t1i, events2=dat.x2i, time2=dat.t2i)
    if data_type == "correlation":
        return dict(r=dat.ri, n=dat.ni)
    if data_type == "yivi":
        return dict(yi=dat.yi, vi=dat.vi)
    raise AssertionError(f"unknown data type {data_type}")


def _cases():
    if ORACLE is None:
        return []
    out = []
    for path in sorted(ORACLE.glob("*.json")):
        ref = json.loads(path.read_text())
        for measure in ref["measures"]:
            out.append(pytest.param(path, measure, id=f"{ref['case']}-{measure}"))
    return out


CASES = _cases()


def test_oracle_found():
    """The oracle is part of the project's test inputs; say so loudly when it is absent."""
    if ORACLE is None:
        pytest.skip("metafor oracle not found (set TRIALSYNTH_ORACLE)")
    assert len(CASES) >= 49  # 19 shared cases, 49 escalc records in the metafor 3.8 oracle v1


@pytest.mark.parametrize(("path", "measure"), CASES)
def test_escalc_matches_metafor(path: Path, measure: str):
    ref = json.loads(path.read_text())
    record = ref["measures"][measure]["escalc"]
    assert record["error"] is None
    dat = pd.read_csv(path.with_name(ref["csv"]))
    got = effect_sizes(measure, **_arrays(ref["data_type"], dat))
    want_yi = np.array([np.nan if v is None else v for v in record["yi"]], dtype=float)
    want_vi = np.array([np.nan if v is None else v for v in record["vi"]], dtype=float)
    assert len(got) == len(want_yi) == ref["k_rows"]
    np.testing.assert_allclose(got["yi"].to_numpy(), want_yi, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got["vi"].to_numpy(), want_vi, rtol=RTOL, atol=ATOL)
