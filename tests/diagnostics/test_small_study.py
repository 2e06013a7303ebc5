"""Egger's test, trim and fill and funnel coordinates against metafor 3.8.

Oracle records: ``primary.regtest`` (mixed-effects, REML), ``primary.regtest_lm``
(classical Egger), ``primary.trimfill.REML`` and ``.DL`` for every case; edge_k2,
where metafor refuses regtest and trimfill, must be refused too. Tolerances from
the oracle README: 1e-5 relative for REML-based records, 1e-8 for the DL
trim-and-fill and the closed-form lm regression; k0, side and fill flags exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from oracle_cases import (
    case_paths, check_rma_record, close, close_array, load, primary_yi_vi, skip_without_oracle,
)
from trialsynth.diagnostics.small_study import egger_test, funnel_coordinates, trim_and_fill
from trialsynth.errors import ArgumentError

CASES = [pytest.param(p, id=p.stem) for p in case_paths()]


@skip_without_oracle
@pytest.mark.parametrize("path", CASES)
def test_regtest_rma(path):
    ref = load(path)
    record = ref["primary"]["regtest"]
    yi, vi = primary_yi_vi(ref)
    if record["error"] is not None:
        assert yi.size == 2
        with pytest.raises(ArgumentError, match="at least 3 studies"):
            egger_test(yi, vi)
        return
    result = egger_test(yi, vi, model="rma", method="REML")
    tol = dict(rtol=1e-5, atol=1e-8)
    close(result.statistic, record["zval"], "zval", **tol)
    close(result.p_value, record["pval"], "pval", **tol)
    assert result.dfs == record["dfs"]
    close(result.limit_estimate, record["est"], "est", **tol)
    close(result.limit_ci_low, record["ci.lb"], "ci.lb", **tol)
    close(result.limit_ci_high, record["ci.ub"], "ci.ub", **tol)
    close_array(result.coefficients["estimate"], record["fit"]["b"], "fit.b", **tol)
    close_array(result.coefficients["se"], record["fit"]["se"], "fit.se", **tol)
    close(result.tau2, record["fit"]["tau2"], "fit.tau2", **tol)


@skip_without_oracle
@pytest.mark.parametrize("path", CASES)
def test_regtest_lm(path):
    ref = load(path)
    record = ref["primary"]["regtest_lm"]
    assert record["error"] is None
    yi, vi = primary_yi_vi(ref)
    result = egger_test(yi, vi, model="lm")
    tol = dict(rtol=1e-8, atol=1e-10)
    close(result.statistic, record["zval"], "zval", **tol)
    close(result.p_value, record["pval"], "pval", **tol)
    assert result.dfs == record["dfs"]
    close(result.limit_estimate, record["est"], "est", **tol)
    close(result.limit_ci_low, record["ci.lb"], "ci.lb", **tol)
    close(result.limit_ci_high, record["ci.ub"], "ci.ub", **tol)
    close_array(result.coefficients["estimate"], record["fit"]["b"], "fit.b", **tol)
    close_array(result.coefficients["se"], record["fit"]["se"], "fit.se", **tol)
    close(result.sigma, record["fit"]["sigma"], "fit.sigma", **tol)
    if record["dfs"] == 0:  # edge_k2: metafor gives NaN with warnings; we say why
        assert any("no residual degrees of freedom" in w for w in result.warnings)


@skip_without_oracle
@pytest.mark.parametrize("method", ["REML", "DL"])
@pytest.mark.parametrize("path", CASES)
def test_trimfill(path, method):
    ref = load(path)
    record = ref["primary"]["trimfill"][method]
    yi, vi = primary_yi_vi(ref)
    if record["error"] is not None:
        assert yi.size == 2
        with pytest.raises(ArgumentError, match="at least 3 studies"):
            trim_and_fill(yi, vi, method=method)
        return
    result = trim_and_fill(yi, vi, method=method)
    assert result.k0 == record["k0"]
    assert result.side == record["side"]
    assert result.fill.tolist() == record["fill"]
    assert result.p_k0 is None and record["p.k0"] is None  # L0 has no p-value
    tol = dict(rtol=1e-5, atol=1e-8) if method == "REML" else dict(rtol=1e-8, atol=1e-10)
    close(result.se_k0, record["se.k0"], "se.k0", rtol=1e-8, atol=1e-10)
    close_array(result.yi, record["yi"], "yi", **tol)
    close_array(result.vi, record["vi"], "vi", rtol=1e-12, atol=0)
    assert check_rma_record(result.fit, record, **tol) >= 25


@skip_without_oracle
def test_trimfill_side_given_and_reused_fit():
    ref = load(next(p for p in case_paths() if p.stem == "dat.bcg"))
    yi, vi = primary_yi_vi(ref)
    chosen = trim_and_fill(yi, vi)
    forced = trim_and_fill(yi, vi, side=chosen.side)
    assert forced.k0 == chosen.k0 and forced.estimate == chosen.estimate
    other = trim_and_fill(yi, vi, side="left" if chosen.side == "right" else "right")
    assert other.side != chosen.side
    # imputed studies lie on the chosen side of the trimmed estimate
    if other.k0:
        filled = other.yi[other.fill]
        assert np.all(filled < other.estimate) if other.side == "left" else np.all(filled > other.estimate)


def test_trimfill_bad_arguments():
    yi, vi = np.array([0.1, 0.3, 0.5, 0.2]), np.array([0.1, 0.2, 0.3, 0.1])
    with pytest.raises(ArgumentError, match="estimator"):
        trim_and_fill(yi, vi, estimator="Q0")
    with pytest.raises(ArgumentError, match="side"):
        trim_and_fill(yi, vi, side="up")
    with pytest.raises(ArgumentError, match="model"):
        egger_test(yi, vi, model="glm")


def test_small_k_warning():
    yi, vi = np.array([0.1, 0.3, 0.5, 0.2, 0.9]), np.array([0.1, 0.2, 0.3, 0.1, 0.5])
    assert any("Sterne" in w for w in egger_test(yi, vi, model="lm").warnings)
    assert any("Sterne" in w for w in trim_and_fill(yi, vi).warnings)


@skip_without_oracle
def test_funnel_coordinates():
    ref = load(next(p for p in case_paths() if p.stem == "dat.bcg"))
    yi, vi = primary_yi_vi(ref)
    coords = funnel_coordinates(yi, vi)
    reml = ref["measures"][ref["primary_measure"]]["rma_tight"]["REML"]["z"]
    close(coords.center, reml["b"], "center", rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(coords.studies["sei"], np.sqrt(vi))
    top = coords.pseudo_ci.iloc[-1]
    assert top["sei"] == pytest.approx(np.sqrt(vi).max())
    assert top["ci_high"] - coords.center == pytest.approx(1.959963984540054 * top["sei"])
    assert coords.pseudo_ci.iloc[0]["ci_low"] == pytest.approx(coords.center)
    assert sorted(coords.contours["level"].unique()) == [0.90, 0.95, 0.99]
    c99 = coords.contours[coords.contours.level == 0.99].iloc[-1]
    assert c99["high"] == pytest.approx(2.5758293035489004 * c99["sei"])
    # from a trim-and-fill result: imputed studies are flagged
    tf = trim_and_fill(yi, vi)
    filled = funnel_coordinates(tf)
    assert filled.studies["filled"].sum() == tf.k0
    assert filled.center == pytest.approx(tf.estimate)
    with pytest.raises(ArgumentError, match="contour_levels"):
        funnel_coordinates(yi, vi, contour_levels=(95,))


# -------------------------------------------- own reference cases (R0, side)

import json  # noqa: E402
from pathlib import Path  # noqa: E402

REFERENCE = json.loads(
    (Path(__file__).resolve().parent.parent / "reference" / "extras_reference.json").read_text()
)
TRIMFILL_REFS = [
    pytest.param(case, key, id=f"{case}-{key}")
    for case, data in REFERENCE["cases"].items()
    for key in data.get("records", {})
]


def test_reference_covers_r0_and_both_sides():
    keys = [values[1] for values in (p.values for p in TRIMFILL_REFS)]
    assert any(k.startswith("R0") for k in keys)
    sides = {REFERENCE["cases"][c]["records"][k]["side"] for c, k in (p.values for p in TRIMFILL_REFS)}
    assert sides == {"left", "right"}


@pytest.mark.parametrize("case, key", TRIMFILL_REFS)
def test_trimfill_own_reference(case, key):
    """trimfill() with estimator L0/R0 and side auto/left/right (tests/reference/make_extras_reference.R)."""
    data = REFERENCE["cases"][case]
    record = data["records"][key]
    method = case.rsplit(".", 1)[-1]
    estimator, side = key.split(".")
    result = trim_and_fill(data["yi"], data["vi"], method=method, estimator=estimator,
                           side=None if side == "auto" else side)
    assert result.k0 == record["k0"]
    assert result.side == record["side"]
    assert result.fill.tolist() == record["fill"]
    close(result.se_k0, record["se.k0"], "se.k0", rtol=1e-8, atol=1e-10)
    close(result.p_k0, record["p.k0"], "p.k0", rtol=1e-8, atol=1e-12)
    tol = dict(rtol=1e-5, atol=1e-8) if method == "REML" else dict(rtol=1e-8, atol=1e-10)
    close_array(result.yi, record["yi"], "yi", **tol)
    close_array(result.vi, record["vi"], "vi", rtol=1e-12, atol=0)
    for field, attribute in (("b", "estimate"), ("se", "se"), ("zval", "statistic"), ("pval", "p_value"),
                             ("ci.lb", "ci_low"), ("ci.ub", "ci_high"), ("tau2", "tau2"), ("I2", "i2"),
                             ("H2", "h2"), ("QE", "q"), ("QEp", "q_p_value")):
        close(getattr(result.fit, attribute), record[field], field, **tol)
    assert result.fit.k == record["k"]
