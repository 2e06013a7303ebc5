"""Access to the metafor oracle (``shared/oracle/metafor``) for the pooling tests.

The oracle directory is found from ``TRIALSYNTH_ORACLE`` or by walking up from this file
to a ``shared/oracle/metafor`` folder (``/work/shared/oracle/metafor`` on the project machine).
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path

import numpy as np


def oracle_dir() -> Path | None:
    env = os.environ.get("TRIALSYNTH_ORACLE")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent / "shared" / "oracle" / "metafor"
        if cand.is_dir():
            return cand
    cand = Path("/work/shared/oracle/metafor")
    return cand if cand.is_dir() else None


ORACLE = oracle_dir()


@functools.lru_cache(maxsize=None)
def load_case(name: str) -> dict:
    return json.loads((ORACLE / f"{name}.json").read_text())


def case_names() -> list[str]:
    if ORACLE is None:
        return []
    return sorted(p.stem for p in ORACLE.glob("*.json"))


def num(x):
    """Oracle scalar/array -> float array (null -> NaN, 'Inf' strings -> inf)."""
    def one(v):
        if v is None:
            return math.nan
        if isinstance(v, str):
            return {"Inf": math.inf, "-Inf": -math.inf}[v]
        return float(v)
    if isinstance(x, list):
        return np.array([one(v) for v in x], dtype=float)
    return one(x)


def yivi(case: str, measure: str) -> tuple[np.ndarray, np.ndarray]:
    esc = load_case(case)["measures"][measure]["escalc"]
    return num(esc["yi"]), num(esc["vi"])


class Mismatch:
    """Collects comparisons |python - R| <= atol + rtol |R| and reports all failures."""

    def __init__(self, rtol: float, atol: float):
        self.rtol, self.atol = rtol, atol
        self.failures: list[str] = []
        self.count = 0

    def check(self, name, ours, ref, rtol=None, atol=None):
        rtol = self.rtol if rtol is None else rtol
        atol = self.atol if atol is None else atol
        ours = np.atleast_1d(np.asarray(ours, dtype=float))
        ref = np.atleast_1d(np.asarray(num(ref) if not isinstance(ref, np.ndarray) else ref, dtype=float))
        self.count += 1
        if ours.shape != ref.shape:
            self.failures.append(f"{name}: shape {ours.shape} != {ref.shape}")
            return
        both_nan = np.isnan(ours) & np.isnan(ref)
        ok = both_nan | (np.abs(ours - ref) <= atol + rtol * np.abs(ref))
        if not np.all(ok):
            self.failures.append(f"{name}: ours={ours[~ok]} R={ref[~ok]}")

    def check_p(self, name, ours, ref):
        """p-values: relative comparison, with atol 1e-12 for the far tail (README)."""
        self.check(name, ours, ref, atol=1e-12 if num(ref) is not None else self.atol)

    def assert_ok(self):
        assert not self.failures, "\n".join(self.failures)
