"""More escalc parity: PETO, PAS, PFT, the zero-cell options ``to``/``add``/``drop00``.

Reference values: ``reference/escalc_extra.json``, written by ``reference/make_escalc_extra.R``
with R metafor 3.8-1 (inputs from metadat's dat.bcg, dat.collins1985a, dat.pritz1997,
dat.hart1999, dat.normand1999, dat.molloy2014 and small tables with zero cells).

Where metafor returns NA because a result is infinite (``to="none"`` with a zero cell) or
an input is NA, trialsynth refuses with an ArgumentError instead of a silent NaN; those
cases are checked for the error, and the NA-input rows are compared on the complete rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trialsynth import effect_sizes
from trialsynth.errors import ArgumentError

RTOL, ATOL = 1e-8, 1e-10
REF = json.loads((Path(__file__).parent / "reference/escalc_extra.json").read_text())


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _dropped00(measure, inputs, drop00):
    """Studies metafor's drop00 removes (no events, or only events, in both groups)."""
    if not drop00:
        return None
    if measure in ("OR", "RR", "RD", "PETO"):
        e1, n1, e2, n2 = (_arr(inputs[k]) for k in ("events1", "n1", "events2", "n2"))
        return ((e1 == 0) & (e2 == 0)) | ((e1 == n1) & (e2 == n2))
    if measure in ("IRR", "IRD"):
        return (_arr(inputs["events1"]) == 0) & (_arr(inputs["events2"]) == 0)
    return None


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_escalc_extra(case):
    assert not case.get("error")
    measure, args = case["measure"], case["args"] or {}
    inputs = {k: _arr(v) for k, v in case["inputs"].items()}
    want_yi, want_vi = _arr(case["yi"]), _arr(case["vi"])
    complete = np.all([np.isfinite(v) for v in inputs.values()], axis=0)
    if not complete.all():
        with pytest.raises(ArgumentError):
            effect_sizes(measure, **inputs, **args)
        inputs = {k: v[complete] for k, v in inputs.items()}
        want_yi, want_vi = want_yi[complete], want_vi[complete]
    dropped = _dropped00(measure, {k: list(v) for k, v in inputs.items()}, args.get("drop00", False))
    expected_na = np.zeros(want_yi.shape, bool) if dropped is None else dropped
    if np.any(np.isnan(want_yi) & ~expected_na):
        # metafor recoded an infinite value to NA; trialsynth says why instead
        with pytest.raises(ArgumentError, match="to"):
            effect_sizes(measure, **inputs, **args)
        return
    got = effect_sizes(measure, **inputs, **args)
    np.testing.assert_array_equal(np.isnan(got["yi"]), expected_na)
    np.testing.assert_allclose(got["yi"], want_yi, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got["vi"], want_vi, rtol=RTOL, atol=ATOL)


def test_extra_reference_covers_every_measure_and_option():
    measures = {c["measure"] for c in REF["cases"]}
    assert measures >= {"MD", "SMD", "ROM", "OR", "RR", "RD", "PETO", "PR", "PLO", "PAS", "PFT",
                        "IRR", "IRD", "COR", "ZCOR"}
    tos = {(c["args"] or {}).get("to", "only0") for c in REF["cases"]}
    assert tos == {"only0", "all", "if0all", "none"}
