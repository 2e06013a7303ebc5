"""Fail-safe N, excess significance, Henmi-Copas, Egger with every predictor, Peters, Harbord and the
three-parameter selection model against metafor 3.8 (``reference/small_study_extra.json``, written by
``reference/make_small_study_extra.R``).

Inputs are published meta-analyses shipped in metadat: the BCG trials (Colditz et al. 1994), nausea
after anaesthesia (Lee & Done 2004, the example of Henmi & Copas 2010), environmental tobacco smoke
(Hackshaw et al. 1997), placebo response in IBS (Dorn et al. 2007), magnesium trials (Egger et al.
2001; Li et al. 2007), St John's wort (Linde et al. 2005) and writing-to-learn (Bangert-Drowns et al.
2004).

Tolerances. Closed forms (fsn, the weighted regressions, Peters, Harbord, the chi-square and exact
tests): 1e-8 relative. REML-based regressions: 1e-5 (the oracle README). Where metafor solves with
``uniroot`` at its default tolerance (about 1e-4: the Henmi-Copas multiplier, the TES limit estimate)
or integrates numerically (the TES power with tau2 > 0), and for the selection model (metafor's BFGS
and numDeriv Hessian): the tolerances stated at each test, which are those of metafor's own numerics.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from trialsynth import pool
from trialsynth.diagnostics.binary_bias import harbord_test, peters_test
from trialsynth.diagnostics.bias_summary import SUMMARY_COLUMNS, small_study_summary
from trialsynth.diagnostics.excess_significance import excess_significance_test
from trialsynth.diagnostics.fail_safe import fail_safe_n
from trialsynth.diagnostics.henmi_copas import henmi_copas
from trialsynth.diagnostics.selection import selection_model
from trialsynth.diagnostics.small_study import egger_test
from trialsynth.errors import ArgumentError

REF = json.loads((Path(__file__).parent / "reference/small_study_extra.json").read_text())
SETS = {s["name"]: s for s in REF["sets"]}


def _num(x):
    if x is None or x in ("NA", "NaN"):
        return math.nan
    return float(x)


def _vec(values):
    if not isinstance(values, list):
        values = [values]
    return np.array([_num(v) for v in values], dtype=float)


def _close(ours, theirs, name, rtol=1e-8, atol=1e-10):
    theirs = _num(theirs)
    ours = math.nan if ours is None else float(ours)
    if math.isnan(theirs):
        assert math.isnan(ours), f"{name}: metafor gives NA, we give {ours}"
        return
    assert abs(ours - theirs) <= atol + rtol * abs(theirs), f"{name}: {ours} vs metafor {theirs}"


def _data(name):
    s = SETS[name]
    return np.array(s["yi"], float), np.array(s["vi"], float)


def _ids(cases, *keys):
    return ["-".join(str(c.get(k)) for k in keys) + f"-{i}" for i, c in enumerate(cases)]


# ---------------------------------------------------------------- fail-safe N

@pytest.mark.parametrize("case", REF["fsn"], ids=_ids(REF["fsn"], "set"))
def test_fail_safe_n(case):
    y, v = _data(case["set"])
    args = dict(case["args"])
    result = fail_safe_n(y, v, type=args.pop("type"), **args)
    assert result.fail_safe_n == int(case["fsnum"])
    _close(result.p_value, case["pval"], "pval")
    _close(result.mean_effect, case["meanes"], "meanes")
    _close(result.target, case["target"], "target")
    assert any("Becker 2005" in w for w in result.warnings)


def test_fail_safe_n_is_zero_when_not_significant():
    result = fail_safe_n([0.1, -0.1, 0.05], [0.1, 0.1, 0.1])
    assert result.fail_safe_n == 0 and result.p_value > 0.05


# ---------------------------------------------------------------- test of excess significance

def _tes(case):
    y, v = _data(case["set"])
    kwargs = {}
    for key, ours in (("test", "test"), ("tes.alternative", "tes_alternative"), ("alternative", "alternative"),
                      ("theta", "theta"), ("tau2", "tau2")):
        if key in case["args"]:
            kwargs[ours] = case["args"][key]
    if case["x"] == "rma":
        return excess_significance_test(pool(y, v, method="REML", warn=False), **kwargs)
    return excess_significance_test(y, v, **kwargs)


@pytest.mark.parametrize("case", REF["tes"], ids=_ids(REF["tes"], "set", "label"))
def test_excess_significance(case):
    result = _tes(case)
    assert result.test == case["test"]
    assert result.observed == int(case["O"])
    np.testing.assert_array_equal(result.significant, np.asarray(case["sig"], bool))
    tau2 = _num(case.get("tau2")) if case.get("tau2") is not None else 0.0
    # with tau2 > 0 metafor integrates the power numerically (integrate(), rel.tol ~1.2e-4);
    # our expected power over N(theta, tau2) is the closed form
    rtol = 1e-8 if not tau2 > 0 else 5e-4
    _close(result.expected, case["E"], "E", rtol=rtol)
    np.testing.assert_allclose(result.power, _vec(case["power"]), rtol=rtol)
    _close(result.p_value, case["pval"], "pval", rtol=rtol)
    _close(result.theta, case["theta"], "theta", rtol=1e-8 if case["x"] != "rma" else 1e-5)
    # theta.lim: metafor's uniroot stops at about 1e-4
    want = case["theta.lim"]
    if not isinstance(want, list):
        want = [want]
    want = [_num(w) for w in want]
    got = result.theta_limit
    got = list(got) if isinstance(got, tuple) else [got]
    got = [math.nan if g is None else g for g in got]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        _close(g, w, "theta.lim", rtol=0, atol=2e-4 if not tau2 > 0 else 1e-3)


def test_poisson_binomial_equals_binomial_at_equal_power():
    """With one common power the exact test is the binomial test."""
    y = np.array([0.5, 0.6, 0.4, 0.7, 0.55])
    v = np.full(5, 0.04)
    exact = excess_significance_test(y, v, test="exact")
    binom = excess_significance_test(y, v, test="binom")
    assert exact.p_value == pytest.approx(binom.p_value, rel=1e-12)


# ---------------------------------------------------------------- Henmi-Copas

@pytest.mark.parametrize("case", REF["hc"], ids=_ids(REF["hc"], "set", "method"))
def test_henmi_copas(case):
    y, v = _data(case["set"])
    result = henmi_copas(pool(y, v, method=case["method"], warn=False))
    _close(result.estimate, case["beta"], "beta")
    _close(result.se, case["se"], "se")
    _close(result.tau2, case["tau2"], "tau2 (DL whatever the fit)")
    # metafor's uniroot (tol 1.2e-4 on the multiplier) bounds the agreement of the interval
    for ours, theirs, name in ((result.ci_low, case["ci.lb"], "ci.lb"), (result.ci_high, case["ci.ub"], "ci.ub")):
        _close(ours, theirs, name, rtol=0, atol=1.5e-4 * result.se)
    _close(result.random_effects.estimate, case["beta.rma"], "beta.rma", rtol=1e-5)


def test_henmi_copas_2010_nausea_example():
    """Henmi & Copas (2010, p. 2978) on Lee & Done's acupoint stimulation trials: -0.5145
    (-0.9994, -0.0295) on the log odds ratio scale, against DL random effects -0.6787."""
    y, v = _data("lee2004-OR")
    result = henmi_copas(pool(y, v, method="DL", warn=False))
    assert round(result.estimate, 4) == -0.5145
    assert (round(result.ci_low, 4), round(result.ci_high, 4)) == (-0.9994, -0.0295)
    assert round(result.random_effects.estimate, 4) == -0.6787
    assert result.multiplier > 1.96  # wider than a Wald interval around the same estimate


def test_henmi_copas_without_heterogeneity_is_narrower_than_wald():
    """With tau2_DL = 0 the interval's SE can only grow with Q (V(tau2(Q)) >= V(0)), so at the
    assumed tau2 = 0 the multiplier is below the normal quantile (metafor's hc agrees)."""
    y = np.array([0.1, 0.12, 0.09, 0.11, 0.1, 0.13])
    v = np.array([0.01, 0.02, 0.015, 0.03, 0.01, 0.02])
    result = henmi_copas(y, v)
    assert result.tau2 == 0
    assert result.se == pytest.approx(np.sqrt(1 / np.sum(1 / v)))
    assert 1.5 < result.multiplier < 1.959964


# ---------------------------------------------------------------- Egger with every predictor

@pytest.mark.parametrize("case", REF["regtest"], ids=_ids(REF["regtest"], "set", "model", "predictor"))
def test_regtest_predictors(case):
    assert not case.get("error")
    y, v = _data(case["set"])
    ni = SETS[case["set"]]["ni"]
    fit = pool(y, v, method="REML", warn=False)
    result = egger_test(fit, model=case["model"], predictor=case["predictor"], ni=ni)
    # metafor's REML stops when tau2 changes by less than 1e-5 (its default threshold): with a
    # moderator its tau2 is off the REML optimum by up to 1e-4 relative, which moves z, p and the
    # CI by up to 5e-4 relative. Ours is the optimum: its REML score is checked to be 0 below.
    tol = dict(rtol=1e-8, atol=1e-10) if case["model"] == "lm" else dict(rtol=5e-4, atol=2e-5)
    _close(result.statistic, case["zval"], "zval", **tol)
    _close(result.p_value, case["pval"], "pval", **tol)
    if math.isnan(_num(case["dfs"])):
        assert result.dfs is None  # z test
    else:
        assert result.dfs == int(case["dfs"])
    _close(result.limit_estimate, case["est"], "est", **tol)
    _close(result.limit_ci_low, case["ci.lb"], "ci.lb", **tol)
    _close(result.limit_ci_high, case["ci.ub"], "ci.ub", **tol)
    np.testing.assert_allclose(result.coefficients["estimate"], _vec(case["coef"]), **tol)
    np.testing.assert_allclose(result.coefficients["se"], _vec(case["se"]), **tol)
    if case["model"] == "rma":
        _close(result.tau2, case["tau2"], "tau2", **tol)
        predictor = {"sei": np.sqrt(v), "vi": v}.get(case["predictor"])
        if predictor is None:
            predictor = _n_predictor(case["predictor"], ni)
        x = np.column_stack([np.ones(y.size), predictor])
        if result.tau2 > 0:
            assert abs(_reml_score(y, v, x, result.tau2)) < 1e-6 * max(1.0, abs(_reml_score(y, v, x, 0.0)))


def _n_predictor(name, ni):
    n = np.asarray(ni, float)
    return {"ni": n, "ninv": 1 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1 / np.sqrt(n)}[name]


def _reml_score(y, v, x, tau2, h=1e-7):
    """Numerical derivative of the REML log-likelihood of y = X b + u + e in tau2."""

    def reml(t2):
        w = 1 / (v + t2)
        xtwx = (x.T * w) @ x
        b = np.linalg.solve(xtwx, (x.T * w) @ y)
        r = y - x @ b
        return -0.5 * (np.sum(np.log(v + t2)) + np.linalg.slogdet(xtwx)[1] + np.sum(w * r**2))

    return (reml(tau2 + h) - reml(tau2 - h)) / (2 * h)


def test_n_predictors_need_sample_sizes():
    y, v = _data("bcg-RR")
    with pytest.raises(ArgumentError, match="ni: predictor 'sqrtninv' needs"):
        egger_test(y, v, predictor="sqrtninv")
    with pytest.raises(ArgumentError, match="predictor: expected one of"):
        egger_test(y, v, predictor="n")


# ---------------------------------------------------------------- Peters and Harbord

@pytest.mark.parametrize("case", REF["binary"], ids=[c["set"] for c in REF["binary"]])
@pytest.mark.parametrize("which", ["peters", "harbord"])
def test_peters_and_harbord(case, which):
    tables = {k: np.asarray(v, float) for k, v in case["tables"].items()}
    test = peters_test if which == "peters" else harbord_test
    result = test(tables["events1"], tables["n1"], tables["events2"], tables["n2"])
    record = case[which]
    _close(result.statistic, record["zval"], "zval")
    _close(result.p_value, record["pval"], "pval")
    assert result.dfs == int(record["dfs"])
    _close(result.limit_estimate, record["est"], "est")
    _close(result.limit_ci_low, record["ci.lb"], "ci.lb")
    np.testing.assert_allclose(result.coefficients["estimate"], _vec(record["coef"]), rtol=1e-8)
    np.testing.assert_allclose(result.coefficients["se"], _vec(record["se"]), rtol=1e-8)
    assert result.test == which


def test_binary_tests_take_a_mantel_haenszel_result():
    from trialsynth import pool_mh

    case = next(c for c in REF["binary"] if c["set"] == "egger2001-OR")
    t = case["tables"]
    mh = pool_mh("OR", t["events1"], t["n1"], t["events2"], t["n2"], warn=False)
    assert peters_test(mh).statistic == pytest.approx(case["peters"]["zval"], rel=1e-8)
    assert harbord_test(mh).statistic == pytest.approx(case["harbord"]["zval"], rel=1e-8)


# ---------------------------------------------------------------- selection model

SEL = REF["selmodel"]


@pytest.mark.parametrize("case", SEL, ids=_ids(SEL, "set", "alternative", "method"))
def test_selection_model(case):
    y, v = _data(case["set"])
    method = case.get("method", "ML")
    z = y / np.sqrt(v)
    p = stats.norm.sf(z) if case["alternative"] == "greater" else stats.norm.cdf(z)
    if min(np.sum(p <= 0.025), np.sum(p > 0.025)) == 0:
        # metafor fits these and returns delta at its bound (100); delta is not identified
        with pytest.raises(ArgumentError, match="delta is not identified"):
            selection_model(y, v, alternative=case["alternative"], method=method)
        return
    result = selection_model(y, v, alternative=case["alternative"], method=method)
    # metafor maximises with BFGS (reltol 1e-8) and differentiates with numDeriv: agreement to
    # about 1e-5 in the estimates, 1e-4 relative in the standard errors
    _close(result.estimate, case["beta"], "beta", rtol=0, atol=2e-5)
    _close(result.tau2, case["tau2"], "tau2", rtol=0, atol=2e-5)
    _close(result.delta, _vec(case["delta"])[1], "delta", rtol=2e-4)
    _close(result.se, case["se"], "se", rtol=1e-4)
    _close(result.se_delta, _vec(case["se.delta"])[1], "se.delta", rtol=2e-4)
    _close(result.ci_low, case["ci.lb"], "ci.lb", rtol=0, atol=5e-5)
    _close(result.lrt, case["LRT"], "LRT", rtol=0, atol=1e-6)
    _close(result.lrt_p_value, case["LRTp"], "LRTp", rtol=1e-5, atol=1e-7)
    assert result.loglik >= _num(case["ll"]) - 1e-8  # never a worse maximum than metafor's
    _close(result.loglik, case["ll"], "ll", rtol=0, atol=1e-6)
    if method == "ML":
        _close(result.se_tau2, case["se.tau2"], "se.tau2", rtol=1e-3)
        _close(result.unadjusted_estimate, case["beta.ml"], "beta.ml", rtol=0, atol=1e-5)
        _close(result.loglik_unadjusted, case["ll.ml"], "ll.ml", rtol=0, atol=1e-6)


def test_hackshaw_selection_model_pulls_the_estimate_down():
    """Environmental tobacco smoke (Hackshaw et al. 1997): favouring significant positive studies,
    the 3PSM estimate is below the unadjusted ML estimate."""
    y, v = _data("hackshaw1998-OR")
    result = selection_model(y, v, alternative="greater")
    assert result.delta < 1 and result.estimate < result.unadjusted_estimate
    assert result.counts == (7, 30)


# ---------------------------------------------------------------- one call for notebook 04

def test_summary_runs_every_applicable_method():
    case = next(c for c in REF["binary"] if c["set"] == "egger2001-OR")
    y, v = _data("egger2001-OR")
    fit = pool(y, v, measure="OR", warn=False)
    frame = small_study_summary(fit, ni=SETS["egger2001-OR"]["ni"], **case["tables"])
    assert tuple(frame.columns) == SUMMARY_COLUMNS
    assert frame["applicable"].all()
    row = frame.set_index("method")
    assert row.loc["Peters (1/N, binary)", "statistic"] == pytest.approx(case["peters"]["zval"], rel=1e-8)
    assert row.loc["Egger (weighted regression on SE)", "statistic"] == pytest.approx(
        egger_test(fit, model="lm").statistic, rel=1e-12)
    assert np.isfinite(row.loc["Henmi-Copas interval", "adjusted_estimate"])
    assert row.loc["Selection model (3PSM, p = .025)", "why"].startswith("delta =")


def test_summary_refuses_below_min_k_and_says_why():
    y, v = _data("bcg-RR")
    frame = small_study_summary(yi=y, vi=v)  # k = 13, no tables, no sample sizes
    row = frame.set_index("method")
    assert not row.loc["Peters (1/N, binary)", "applicable"]
    assert "2x2 tables" in row.loc["Peters (1/N, binary)", "why"]
    # bcg: every log RR is below 0, so favouring significant negative effects leaves studies on both sides
    assert row.loc["Selection model (3PSM, p = .025)", "applicable"]
    small = small_study_summary(yi=y[:7], vi=v[:7])
    srow = small.set_index("method")
    assert not srow.loc["Egger (weighted regression on SE)", "applicable"]
    assert math.isnan(srow.loc["Egger (weighted regression on SE)", "statistic"])
    assert "k = 7 < 10" in srow.loc["Egger (weighted regression on SE)", "why"]
    assert srow.loc["Henmi-Copas interval", "applicable"]  # no k rule for an interval
    forced = small_study_summary(yi=y[:7], vi=v[:7], compute_all=True).set_index("method")
    assert np.isfinite(forced.loc["Egger (weighted regression on SE)", "statistic"])
    assert not forced.loc["Egger (weighted regression on SE)", "applicable"]


def test_summary_on_mantel_haenszel_result_uses_its_tables():
    from trialsynth import pool_mh

    case = next(c for c in REF["binary"] if c["set"] == "li2007-OR")
    t = case["tables"]
    frame = small_study_summary(pool_mh("OR", t["events1"], t["n1"], t["events2"], t["n2"], warn=False))
    row = frame.set_index("method")
    assert row.loc["Harbord (score, binary)", "applicable"]
    assert row.loc["Harbord (score, binary)", "statistic"] == pytest.approx(case["harbord"]["zval"], rel=1e-8)
