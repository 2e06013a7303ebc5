"""pool_multivariate against metafor 3.8 ``rma.mv`` (tests/reference/make_rma_mv_reference.R).

Every fit of the reference file is refitted and compared at 1e-6 relative (1e-8 absolute):
coefficients, their SEs, z/t statistics, p-values, CIs and covariance matrix; sigma2, tau2, rho;
the log-likelihood and metafor's fit statistics (deviance, AIC, BIC, AICc); QE and QM with their
p-values; predictions with CI and PI; BLUPs of every row's true effect; the random effects of
``ranef`` (estimates to 1e-6 of their SE; correlations, which live in [-1, 1], to 1e-7 absolute
when near 0); and, for the REML fits that carry them, the
profile-likelihood CIs of the variance components and correlations (1e-5 relative: metafor's
own root search stops at its tolerance; a bound metafor could not find is not compared).

The references are tight refits: each model was fitted in R with four optimisers (nlm, BFGS,
bobyqa, nlminb) at tight tolerances and the fit with the highest log-likelihood kept.

The models are those of the published analyses the data come from:

* Konstantopoulos S (2011), Res Synth Methods 2:61-76: the three-level model of the modified
  school calendar studies (studies in schools in districts; the model of the paper's Table 3),
  REML and ML, z and t, and with year as a moderator;
* Berkey CS et al. (1998), Stat Med 17:2537-2550: the bivariate model of the periodontal trials
  (probing depth and attachment level with their known within-trial covariances; the paper's
  multivariate random-effects model, UN), and its CS and HCS variants, with year as in the
  paper's meta-regression;
* Ishak KJ et al. (2007), Clin Trials 4:525-539: deep-brain stimulation, UPDRS at four follow-ups,
  sampling correlation 0.97 between adjacent follow-ups (AR(1), vcalc phi = 0.97), time-specific
  means with AR, HAR, CAR, DIAG and ID random effects (the paper's Table 1 models);
* a seeded synthetic data set (irregular times 0-26, missing occasions, a moderator) on which every
  structure (ID, CS, HCS, UN, DIAG, AR, HAR, CAR) and a random intercept plus CAR are fitted.
"""

from __future__ import annotations

import pytest

from _mv_reference import ATOL, RTOL, compare, fit, load
from _pooling_oracle import Mismatch

REF = load("rma_mv_reference.json")
CASES = REF["cases"]
STRUCT_COUNTS: dict = {}


def _params():
    for case, block in CASES.items():
        for name in block["fits"]:
            yield pytest.param(case, name, id=f"{case}-{name}")


@pytest.mark.parametrize("case,name", list(_params()))
def test_rma_mv_parity(case, name):
    block = CASES[case]
    rec = block["fits"][name]
    res = fit(case, name, block)
    assert res.converged
    m = Mismatch(RTOL, ATOL)
    compare(res, rec, m)
    assert m.count >= 20
    m.assert_ok()


def test_reference_covers_every_structure_and_method():
    seen = set()
    for case, block in CASES.items():
        for name, rec in block["fits"].items():
            res_struct = name.split(".")[0] if case != "konstantopoulos2011" else "levels"
            seen.add((res_struct, rec["method"]))
    for struct in ("ID", "CS", "HCS", "UN", "DIAG", "AR", "HAR", "CAR", "levels"):
        for method in ("REML", "ML"):
            assert (struct, method) in seen, (struct, method)
    assert REF["metafor"].startswith("3.8")


def test_profile_ci_references_are_compared():
    """At least some profile-likelihood bounds exist in the reference and are checked."""
    n = 0
    for block in CASES.values():
        for rec in block["fits"].values():
            for ci in rec.get("confint", []):
                lo, hi = ci["ci.lb"], ci["ci.ub"]
                lo = lo[0] if isinstance(lo, list) else lo
                hi = hi[0] if isinstance(hi, list) else hi
                n += (lo is not None) + (hi is not None)
    assert n >= 12
