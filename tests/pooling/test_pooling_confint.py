"""Confidence intervals for tau2, tau, I2 and H2 against metafor.

* ``confint_tight.<method>`` (Q-profile, tight control, tau2.max large enough that the upper
  bound is a root): rtol 1e-5, atol 1e-8 for every method except EE (no tau2) and GENQ
  (metafor fails there because CompQuadForm is missing; see ``test_genq_confint_refused``).
* ``confint_pl.ML/REML`` (profile likelihood) were computed by metafor at its *default*
  tolerance on default-tolerance fits: both the estimate and the bounds carry metafor's
  absolute stopping errors (Fisher scoring threshold 1e-5; uniroot tol ~1.2e-4).  We compare
  the bounds with atol 2.5e-4 + rtol 1e-3 there, and compare strictly (rtol 1e-5) with our own
  tight-control recomputation ``tests/reference/pooling_pl_tight.json`` made by
  ``tests/reference/make_pooling_reference.R``.
* tau is sqrt(tau2), so near tau2 = 0 an absolute tau2 difference d becomes sqrt(d) in tau:
  tau is compared with atol sqrt(atol_tau2).  (metafor's tight REML for edge_zero OR stops at
  tau2 ~ 5e-13 instead of the boundary 0.)
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest

from _pooling_oracle import ORACLE, Mismatch, case_names, load_case, yivi
from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import pool

pytestmark = pytest.mark.skipif(ORACLE is None, reason="metafor oracle folder not available")
REFERENCE = Path(__file__).resolve().parents[1] / "reference"
PL_TIGHT = json.loads((REFERENCE / "pooling_pl_tight.json").read_text())["records"]
ROWS = (("tau2", "tau2"), ("tau", "tau"), ("i2", "I2"), ("h2", "H2"))
COLS = (("estimate", "estimate"), ("ci_low", "ci.lb"), ("ci_high", "ci.ub"))


def _fit(case, measure, method):
    yi, vi = yivi(case, measure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(yi, vi, method=method)


def _params(block, methods=None):
    out = []
    for case in case_names():
        ref = load_case(case)
        for measure, mblock in ref["measures"].items():
            for method in mblock[block]:
                if methods and method not in methods:
                    continue
                out.append(pytest.param(case, measure, method, id=f"{case}-{measure}-{method}"))
    return out


def _compare(ci, rec, m: Mismatch, rows=ROWS, cols=COLS):
    for row, rkey in rows:
        for col, ckey in cols:
            atol = math.sqrt(m.atol) if row == "tau" else None
            m.check(f"{row}.{col}", ci.loc[row, col], rec[rkey][ckey], atol=atol)


@pytest.mark.parametrize("case,measure,method", _params("confint_tight"))
def test_confint_tight_qprofile(case, measure, method):
    rec = load_case(case)["measures"][measure]["confint_tight"][method]
    res = _fit(case, measure, method)
    if method == "GENQ":
        # metafor: "Please install the 'CompQuadForm' package when method='QGEN'".
        assert "CompQuadForm" in rec["error"]
        # The generalised-Q interval (Jackson 2013, the default for GENQ fits) is checked
        # against metafor in test_engine_reference.py; the Q-profile interval of a GENQ fit
        # must equal the DL record's (same data, same Q-profile).
        dl = load_case(case)["measures"][measure]["confint_tight"]["DL"]
        ci = res.heterogeneity_ci("QP")
        m = Mismatch(1e-5, 1e-8)
        _compare(ci, dl, m, cols=COLS[1:])
        m.assert_ok()
        return
    assert rec["error"] is None
    ci = res.heterogeneity_ci()
    m = Mismatch(1e-5, 1e-8)
    _compare(ci, rec, m)
    m.assert_ok()
    assert ci.attrs["lb_sign"] == rec["lb.sign"]
    assert ci.attrs["ub_sign"] == rec["ub.sign"]


@pytest.mark.parametrize("case,measure,method", _params("confint_pl"))
def test_confint_pl_default_tolerance(case, measure, method):
    rec = load_case(case)["measures"][measure]["confint_pl"][method]
    assert rec["error"] is None
    ci = _fit(case, measure, method).heterogeneity_ci("PL")
    m = Mismatch(1e-3, 2.5e-4)
    _compare(ci, rec, m, rows=(("tau2", "tau2"),), cols=COLS[1:])
    m.assert_ok()


@pytest.mark.parametrize("case,measure,method", _params("confint_pl"))
def test_confint_pl_tight(case, measure, method):
    rec = PL_TIGHT[f"{case}/{measure}/{method}"]
    assert rec["error"] is None
    ci = _fit(case, measure, method).heterogeneity_ci("PL")
    m = Mismatch(1e-5, 1e-8)
    _compare(ci, rec, m)
    m.assert_ok()
    assert ci.attrs["lb_sign"] == rec["lb.sign"] and ci.attrs["ub_sign"] == rec["ub.sign"]


@pytest.mark.parametrize("case,measure,method", _params("confint", methods=("DL", "HS", "HSk")))
def test_default_confint_cap_is_not_a_root(case, measure, method):
    """Where metafor's default confint hit its search cap (ub.sign '>'), our bound is the
    true root: above the cap, and equal to the tight record."""
    block = load_case(case)["measures"][measure]
    rec, tight = block["confint"][method], block["confint_tight"][method]
    ci = _fit(case, measure, method).heterogeneity_ci()
    if rec["ub.sign"] == ">":
        assert ci.loc["tau2", "ci_high"] > rec["tau2"]["ci.ub"]
    assert abs(ci.loc["tau2", "ci_high"] - tight["tau2"]["ci.ub"]) <= 1e-8 + 1e-5 * tight["tau2"]["ci.ub"]


def test_ee_has_no_tau2_ci():
    yi, vi = yivi("dat.bcg", "RR")
    res = pool(yi, vi, method="EE")
    with pytest.raises(ArgumentError, match="common-effect"):
        res.heterogeneity_ci()


def test_pl_needs_ml_or_reml():
    yi, vi = yivi("dat.bcg", "RR")
    with pytest.raises(ArgumentError, match="ML"):
        pool(yi, vi, method="DL").heterogeneity_ci("PL")


def test_unknown_ci_type():
    yi, vi = yivi("dat.bcg", "RR")
    with pytest.raises(ArgumentError, match="QP"):
        pool(yi, vi).heterogeneity_ci("bootstrap")
    # "Wald" is a type since issue 14 (case-insensitive, as the others)
    assert pool(yi, vi).heterogeneity_ci("wald").attrs["type"] == "WALD"
