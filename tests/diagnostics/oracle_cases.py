"""Loading the metafor oracle for the diagnostics tests (no conftest, to stay out of others' way)."""

from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

ORACLE = Path(os.environ.get("TRIALSYNTH_ORACLE", "/work/shared/oracle/metafor"))
HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "reference"


def available() -> bool:
    return ORACLE.is_dir()


def case_paths() -> list[Path]:
    return sorted(ORACLE.glob("*.json")) if available() else []


@lru_cache(maxsize=None)
def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def primary_yi_vi(ref: dict):
    """The escalc yi/vi of the primary measure, as metafor computed them."""
    escalc = ref["measures"][ref["primary_measure"]]["escalc"]
    return np.asarray(escalc["yi"], dtype=float), np.asarray(escalc["vi"], dtype=float)


def close(ours, theirs, name: str, rtol: float, atol: float) -> None:
    """``|ours - theirs| <= atol + rtol |theirs|``; null in R means NaN/None here."""
    if theirs is None:
        assert ours is None or (isinstance(ours, float) and math.isnan(ours)), f"{name}: R gives NA, ours {ours}"
        return
    if theirs == "Inf":
        theirs = math.inf
    elif theirs == "-Inf":
        theirs = -math.inf
    assert ours is not None, f"{name}: R gives {theirs}, ours None"
    if isinstance(theirs, float) and math.isinf(theirs):
        assert ours == theirs, f"{name}: {ours} vs R {theirs}"
        return
    assert abs(ours - theirs) <= atol + rtol * abs(theirs), f"{name}: {ours} vs R {theirs}"


def close_array(ours, theirs, name: str, rtol: float, atol: float) -> None:
    ours = np.asarray(ours, dtype=float)
    theirs_arr = np.asarray([np.nan if t is None else t for t in theirs], dtype=float)
    assert ours.shape == theirs_arr.shape, f"{name}: shape {ours.shape} vs R {theirs_arr.shape}"
    np.testing.assert_allclose(ours, theirs_arr, rtol=rtol, atol=atol, err_msg=name, equal_nan=True)


skip_without_oracle = pytest.mark.skipif(not available(), reason=f"metafor oracle not found at {ORACLE}")


RMA_FIELDS = {
    "b": "estimate", "se": "se", "zval": "statistic", "pval": "p_value", "ci.lb": "ci_low",
    "ci.ub": "ci_high", "tau2": "tau2", "se.tau2": "se_tau2", "tau": "tau", "I2": "i2", "H2": "h2",
    "QE": "q", "QEp": "q_p_value", "dfs": "dfs", "s2w": "s2w",
}


def check_rma_record(fit, record: dict, rtol: float, atol: float) -> int:
    """Compare a MetaResult with a metafor fit record, field by field; returns the number compared."""
    assert record["error"] is None, record["error"]
    assert fit.k == record["k"]
    n = 1
    for field, attribute in RMA_FIELDS.items():
        if field not in record:
            continue
        if field == "tau" and record["tau"] is not None:
            # tau = sqrt(tau2): a tau2 of 1e-13 (a boundary estimate) gives tau ~ 3e-7, so
            # the square root is compared on the tau2 scale
            close(getattr(fit, attribute) ** 2, record["tau"] ** 2, "tau^2", rtol, atol)
        else:
            close(getattr(fit, attribute), record[field], field, rtol, atol)
        n += 1
    for likelihood, values in (record.get("fit.stats") or {}).items():
        for name, value in values.items():
            close(fit.fit_stats[likelihood][name], value, f"fit.stats.{likelihood}.{name}", rtol, atol)
            n += 1
    return n
