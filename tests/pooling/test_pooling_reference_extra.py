"""Our own metafor reference cases (tests/reference/make_pooling_reference.R).

* ``bangertdrowns2004``: metadat's dat.bangertdrowns2004 (k = 48, SMD-like yi/vi), with
  meta-regressions on ``length`` and ``factor(grade)``;
* ``k3_homogeneous``: k = 3 with Q below its df, so tau2 sits on the boundary 0 for every
  estimator but SJ, both Q-profile bounds are below 0 (flagged "<") and HKSJ narrows the CI;
* ``normand1999_md_level90``: Normand (1999) MD data at level = 90 (non-default level, and a
  raw scale with tau2 in the hundreds).

All fits were made with tight control (threshold = tol = 1e-12), so every estimator is
compared at rtol 1e-8 (closed forms) or 1e-5 (iterative), as for the shared oracle.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from _pooling_oracle import Mismatch, num
from trialsynth.pooling.fit import pool

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "pooling_extra_cases.json").read_text())
CASES = REF["cases"]
CLOSED = ("EE", "DL", "HE", "HS", "HSk", "SJ", "GENQ")


def _params():
    for case, block in CASES.items():
        for method, tests in block["rma"].items():
            for test in tests:
                yield pytest.param(case, method, test, id=f"{case}-{method}-{test}")


@pytest.mark.parametrize("case,method,test", list(_params()))
def test_extra_rma(case, method, test):
    block = CASES[case]
    rec = block["rma"][method][test]
    assert rec["error"] is None
    res = pool(num(block["yi"]), num(block["vi"]), method=method, test=test, level=block["level"],
               warn=False)
    m = Mismatch(*((1e-8, 1e-10) if method in CLOSED else (1e-5, 1e-8)))
    for ours, key in (("estimate", "b"), ("se", "se"), ("statistic", "zval"), ("ci_low", "ci.lb"),
                      ("ci_high", "ci.ub"), ("tau2", "tau2"), ("i2", "I2"), ("h2", "H2"),
                      ("q", "QE"), ("s2w", "s2w")):
        m.check(key, getattr(res, ours), rec[key])
    m.check("tau", res.tau, rec["tau"], atol=math.sqrt(m.atol))
    m.check_p("pval", res.p_value, rec["pval"])
    m.check_p("QEp", res.q_p_value, rec["QEp"])
    if rec["se.tau2"] is not None:
        m.check("se.tau2", res.se_tau2, rec["se.tau2"])
    m.check("weights", res.weights, rec["weights"])
    m.check("pi.lb", res.pi_low, num(rec["predict"]["pi.lb"]))
    m.check("pi.ub", res.pi_high, num(rec["predict"]["pi.ub"]))
    for lik in ("ML", "REML"):
        for stat in ("ll", "dev", "AIC", "BIC", "AICc"):
            m.check(f"{lik}.{stat}", res.fit_stats[lik][stat], rec["fit.stats"][lik][stat])
    m.assert_ok()


def _ci_params():
    for case, block in CASES.items():
        for kind in ("confint", "confint_pl"):
            for method in block[kind]:
                yield pytest.param(case, kind, method, id=f"{case}-{kind}-{method}")


@pytest.mark.parametrize("case,kind,method", list(_ci_params()))
def test_extra_confint(case, kind, method):
    block = CASES[case]
    rec = block[kind][method]
    assert rec["error"] is None
    res = pool(num(block["yi"]), num(block["vi"]), method=method, level=block["level"], warn=False)
    ci = res.heterogeneity_ci("QP" if kind == "confint" else "PL")
    m = Mismatch(1e-5, 1e-8)
    for row, key in (("tau2", "tau2"), ("tau", "tau"), ("i2", "I2"), ("h2", "H2")):
        for col, ckey in (("estimate", "estimate"), ("ci_low", "ci.lb"), ("ci_high", "ci.ub")):
            m.check(f"{row}.{col}", ci.loc[row, col], rec[key][ckey],
                    atol=math.sqrt(1e-8) if row == "tau" else None)
    m.assert_ok()
    assert (ci.attrs["lb_sign"], ci.attrs["ub_sign"]) == (rec["lb.sign"], rec["ub.sign"])


def test_k3_boundary_is_exactly_zero():
    block = CASES["k3_homogeneous"]
    for method in ("DL", "HE", "HS", "HSk", "ML", "REML", "EB", "PM", "PMM", "GENQ"):
        res = pool(block["yi"], block["vi"], method=method, warn=False)
        assert res.tau2 == 0.0 and res.i2 == 0.0 and res.h2 == 1.0, method
    ci = pool(block["yi"], block["vi"], warn=False).heterogeneity_ci()
    assert ci.loc["tau2", "ci_low"] == 0.0 and ci.loc["tau2", "ci_high"] == 0.0
    assert np.isclose(CASES["k3_homogeneous"]["rma"]["REML"]["knha"]["s2w"],
                      pool(block["yi"], block["vi"], test="knha", warn=False).s2w, rtol=1e-8)
