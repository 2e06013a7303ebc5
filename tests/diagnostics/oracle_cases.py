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
