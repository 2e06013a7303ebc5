"""Issue 14 part A against metafor 3.8 (tests/reference/make_engine_reference.R wrote
tests/reference/engine_reference.json): the ML boundary defect on a bimodal likelihood, the
Sidik-Jonkman start with moderators, GENQM/DLIT/SJIT, tau2_init, na_action="omit", the Wald
and generalised-Q CIs for tau2, and the meta-regression tools (btt, user weights, anova(X=)
with Holm, vcov types, VIF, BLUPs, random effects, residuals, influence, permutation tests).
Tolerances follow the oracle README: 1e-8 for closed forms, 1e-5 for iterative estimators;
GENQM and the generalised-Q bounds rest on two independent evaluations of a weighted
chi-square distribution (Imhof here, Ruben's series or Imhof's integral in the R stand-in),
compared at 1e-6."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from _pooling_oracle import Mismatch, num
from trialsynth import meta_regression, permutation_test, pool, pool_batch
from trialsynth.diagnostics.sensitivity import influence
from trialsynth.errors import ArgumentError
from trialsynth.pooling._quadform import quadform_sf
from trialsynth.pooling.estimators import estimate_tau2
from trialsynth.pooling.fit import fit_model
from trialsynth.pooling.regression import _batch_fit_fixed_design, holm

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "engine_reference.json").read_text())
BM = REF["bimodal_md"]
BCG = REF["bcg"]
BCG_Y, BCG_V = num(BCG["yi"]), num(BCG["vi"])
ABLAT = pd.DataFrame({"ablat": num(BCG["ablat"])})


def _fit_keys(m: Mismatch, ours, rec, keys=("b", "se", "tau2", "se.tau2")):
    names = {"b": "estimate", "se": "se", "tau2": "tau2", "se.tau2": "se_tau2"}
    for key in keys:
        value = getattr(ours, names[key]) if hasattr(ours, names[key]) else getattr(ours, key)
        m.check(key, value, rec[key])


# ----------------------------------------------------------------------------- defect 1
def _ll_ml(y, v, t):
    w = 1 / (v + t)
    mu = w @ y / w.sum()
    return -0.5 * (len(y) * math.log(2 * math.pi) + np.log(v + t).sum() + w @ (y - mu) ** 2)


def test_bimodal_md_likelihood_is_bimodal_with_its_maximum_at_zero():
    y, v = num(BM["yi"]), num(BM["vi"])
    prof = BM["ml_profile"]
    # our log-likelihood equals metafor's on its profile, and it has an interior local maximum
    for t, ll in zip(prof["tau2"], prof["ll"]):
        assert math.isclose(_ll_ml(y, v, t), ll, rel_tol=1e-10)
    grid = np.linspace(0.5, 4, 400)
    lls = np.array([_ll_ml(y, v, t) for t in grid])
    interior = grid[np.argmax(lls)]
    assert 1 < interior < 3 and lls.max() < _ll_ml(y, v, 0.0)


@pytest.mark.parametrize("path", ["pool", "pool_large_k_code", "design", "batch", "regression_batch"])
def test_bimodal_md_ml_returns_the_global_maximum_as_metafor(path):
    """Defect 1: ML stopped at the interior local maximum (tau2 = 1.89) although the likelihood
    is higher at tau2 = 0, which is metafor's answer (rma(method="ML", control=tight))."""
    y, v = num(BM["yi"]), num(BM["vi"])
    rec = BM["fits"]["ML"]
    assert rec["error"] is None and rec["tau2"] < 1e-8
    if path == "pool":
        res = pool(y, v, method="ML", warn=False)
        tau2 = res.tau2
        assert any("more than one local maximum" in w for w in res.warnings)
    elif path == "pool_large_k_code":
        from trialsynth.pooling.estimators import _estimate_intercept

        tau2, _, _, _, notes = _estimate_intercept(y, v, "ML", 1e-12, 10000, None)
        assert notes
    elif path == "design":
        tau2 = fit_model(y, v, np.ones((4, 1)), method="ML").tau2
    elif path == "batch":
        tau2 = float(pool_batch(y[None, :], v[None, :], method="ML").tau2[0])
    else:
        tau2 = float(_batch_fit_fixed_design(y[None, :], v[None, :], np.ones((4, 1)), "ML", "z")[2][0])
    assert tau2 == 0.0
    assert _ll_ml(y, v, tau2) >= _ll_ml(y, v, 1.8905)


@pytest.mark.parametrize("method", ["ML", "REML", "EB", "PM", "PMM", "DL", "GENQ"])
def test_bimodal_md_every_estimator_matches_metafor(method):
    y, v = num(BM["yi"]), num(BM["vi"])
    rec = BM["fits"][method]
    res = pool(y, v, method=method, warn=False)
    m = Mismatch(1e-5, 1e-8)
    _fit_keys(m, res, rec)
    m.check("ll.ML", res.fit_stats["ML"]["ll"], rec["ll.ML"])
    m.assert_ok()


def test_bimodal_md_ml_from_an_interior_start_still_returns_zero():
    y, v = num(BM["yi"]), num(BM["vi"])
    for start in (0.5, 1.89, 5.0):
        assert pool(y, v, method="ML", tau2_init=start, warn=False).tau2 == 0.0


# ----------------------------------------------------------------------------- defect 2, tau2_init
@pytest.mark.parametrize("key", ["SJ", "SJ~ablat"])
def test_colditz1994_bcg_sidik_jonkman(key):
    """Defect 2: with moderators SJ starts from sum (y - ybar)^2/k (Sidik & Jonkman 2005), as
    metafor; it used OLS residuals (tau2 0.204 instead of metafor's 0.232 on BCG ~ latitude)."""
    rec = BCG["fits"][key]
    res = (pool(BCG_Y, BCG_V, method="SJ", warn=False) if key == "SJ"
           else meta_regression(BCG_Y, BCG_V, ABLAT, method="SJ", warn=False))
    m = Mismatch(1e-8, 1e-10)
    m.check("tau2", res.tau2, rec["tau2"])
    m.check("se.tau2", res.se_tau2, rec["se.tau2"])
    m.check("b", res.b if key != "SJ" else res.estimate, rec["b"])
    m.check("se", res.se, rec["se"])
    m.assert_ok()


@pytest.mark.parametrize("init", [0.05, 0.5, 2])
@pytest.mark.parametrize("key", ["SJ", "SJ~ablat", "REML"])
def test_colditz1994_bcg_tau2_init(key, init):
    rec = BCG["fits"][f"{key}.init{init:g}"]
    if key == "SJ~ablat":
        res = meta_regression(BCG_Y, BCG_V, ABLAT, method="SJ", tau2_init=init, warn=False)
    else:
        res = pool(BCG_Y, BCG_V, method=key.split("~")[0], tau2_init=init, warn=False)
        assert res.tau2_init == init
    m = Mismatch(1e-8 if key.startswith("SJ") else 1e-5, 1e-10)
    m.check("tau2", res.tau2, rec["tau2"])
    m.check("se.tau2", res.se_tau2, rec["se.tau2"])
    m.assert_ok()


def test_tau2_init_is_checked():
    with pytest.raises(ArgumentError, match="tau2_init"):
        pool(BCG_Y, BCG_V, method="REML", tau2_init=-1)
    with pytest.raises(ArgumentError, match="positive"):
        pool(BCG_Y, BCG_V, method="SJ", tau2_init=0)


# ----------------------------------------------------------------------------- GENQM, DLIT, SJIT
@pytest.mark.parametrize("key", ["DLIT", "SJIT", "DLIT~ablat", "SJIT~ablat", "GENQM", "GENQM~ablat",
                                 "GENQM.invsqrt"])
def test_colditz1994_bcg_new_estimators(key):
    rec = BCG["fits"][key]
    assert rec["error"] is None, rec["error"]
    method = key.split("~")[0].split(".")[0]
    weights = 1 / np.sqrt(BCG_V) if key.endswith("invsqrt") else None
    if "~" in key:
        res = meta_regression(BCG_Y, BCG_V, ABLAT, method=method, warn=False)
        b = res.b
    else:
        res = pool(BCG_Y, BCG_V, method=method, weights=weights, warn=False)
        b = res.estimate
    tol = 1e-6 if method == "GENQM" else 1e-7
    m = Mismatch(tol, 1e-9)
    m.check("tau2", res.tau2, rec["tau2"])
    m.check("se.tau2", res.se_tau2, rec["se.tau2"])
    m.check("b", b, rec["b"])
    m.check("se", res.se, rec["se"])
    m.assert_ok()


def test_sjit_is_the_limit_of_the_sj_iteration_and_dlit_of_the_dl_iteration():
    y, v, k = BCG_Y, BCG_V, BCG_Y.size
    t = float(np.var(y))
    for _ in range(5000):
        w = 1 / (v + t)
        mu = w @ y / w.sum()
        t = t * (w @ (y - mu) ** 2) / (k - 1)
    assert math.isclose(t, pool(y, v, method="SJIT", warn=False).tau2, rel_tol=1e-9)
    t = 0.0
    for _ in range(20000):  # metafor's DLIT oscillates; it converges slowly
        w = 1 / (v + t)
        sw = w.sum()
        mu = w @ y / sw
        t = max(0.0, (w @ (y - mu) ** 2 - (k - 1)) / (sw - (w * w).sum() / sw))
    assert math.isclose(t, pool(y, v, method="DLIT", warn=False).tau2, rel_tol=1e-6)


def test_new_estimators_in_batch_equal_pool():
    rows = np.vstack([BCG_Y, BCG_Y[::-1]])
    vs = np.vstack([BCG_V, BCG_V[::-1]])
    for method in ("GENQM", "DLIT", "SJIT"):
        b = pool_batch(rows, vs, method=method)
        for i in range(2):
            single = pool(rows[i], vs[i], method=method, warn=False)
            assert math.isclose(b.tau2[i], single.tau2, rel_tol=1e-12, abs_tol=1e-14)
            assert math.isclose(b.estimate[i], single.estimate, rel_tol=1e-12)


# ----------------------------------------------------------------------------- missing values
def test_colditz1994_bcg_na_omit_matches_metafor():
    rec = BCG["fits"]["REML.na"]
    y, v = BCG_Y.copy(), BCG_V.copy()
    rows = [r - 1 for r in BCG["na_rows"]]
    y[rows[0]] = np.nan
    v[rows[1]] = np.nan
    with pytest.raises(ArgumentError, match="missing"):
        pool(y, v)
    res = pool(y, v, na_action="omit", labels=BCG["study"], warn=False)
    assert res.k == rec["k"] == 11
    assert res.omitted == [BCG["study"][r] for r in rows]
    assert any("omitted" in w for w in res.warnings)
    m = Mismatch(1e-5, 1e-8)
    _fit_keys(m, res, rec)
    m.assert_ok()
    with pytest.raises(ArgumentError, match="na_action"):
        pool(y, v, na_action="drop")


# ----------------------------------------------------------------------------- tau2 CIs
def _check_ci(frame, rec, rtol, atol=1e-9):
    m = Mismatch(rtol, atol)
    for row, key in (("tau2", "tau2"), ("tau", "tau"), ("i2", "I2"), ("h2", "H2")):
        for col, ckey in (("estimate", "estimate"), ("ci_low", "ci.lb"), ("ci_high", "ci.ub")):
            m.check(f"{row}.{col}", frame.loc[row, col], rec[key][ckey])
    m.assert_ok()


@pytest.mark.parametrize("method", ["REML", "ML", "DL"])
def test_colditz1994_bcg_wald_ci_for_tau2(method):
    rec = BCG["confint"][f"{method}.Wald"]
    res = pool(BCG_Y, BCG_V, method=method, warn=False)
    _check_ci(res.heterogeneity_ci("Wald"), rec, 1e-5 if method != "DL" else 1e-8)


def test_colditz1994_bcg_wald_ci_with_latitude():
    res = meta_regression(BCG_Y, BCG_V, ABLAT, method="REML", warn=False)
    _check_ci(res.heterogeneity_ci("Wald"), BCG["confint"]["REML~ablat.Wald"], 1e-5)


@pytest.mark.parametrize("key", ["GENQ", "GENQ.invsqrt", "GENQ~ablat"])
def test_colditz1994_bcg_generalised_q_ci_jackson2013(key):
    rec = BCG["confint"][key]
    assert rec["error"] is None, rec["error"]
    if key == "GENQ~ablat":
        res = meta_regression(BCG_Y, BCG_V, ABLAT, method="GENQ", warn=False)
    else:
        res = pool(BCG_Y, BCG_V, method="GENQ", warn=False,
                   weights=1 / np.sqrt(BCG_V) if key.endswith("invsqrt") else None)
    ci = res.heterogeneity_ci()  # GENQ fits default to the generalised-Q interval, as metafor
    assert ci.attrs["type"] == "GENQ"
    # metafor finds these bounds with uniroot at its default tolerance (about 1.2e-4 on the
    # tau2 scale; control=list(tol=) did not tighten it): agreement is checked to that
    # tolerance, and our bounds are checked to be exact roots of P(Q_a > q; tau2) = alpha/2 and
    # 1 - alpha/2 with Ruben's series, an evaluation independent of the Imhof integral used
    m = Mismatch(0.0, 1.25e-4)
    for col, ckey in (("estimate", "estimate"), ("ci_low", "ci.lb"), ("ci_high", "ci.ub")):
        m.check(f"tau2.{col}", ci.loc["tau2", col], rec["tau2"][ckey])
    m.assert_ok()
    assert ci.attrs["lb_sign"] == rec["lb.sign"] and ci.attrs["ub_sign"] == rec["ub.sign"]
    from trialsynth.pooling._linalg import p_matrix
    from trialsynth.pooling._quadform import generalised_q_eigenvalues

    X = res.X if key == "GENQ~ablat" else np.ones((BCG_Y.size, 1))
    a = 1 / np.sqrt(BCG_V) if key.endswith("invsqrt") else 1 / BCG_V
    P = p_matrix(X, a)
    q_obs = float(BCG_Y @ P @ BCG_Y)
    for bound, prob in ((ci.loc["tau2", "ci_low"], 0.025), (ci.loc["tau2", "ci_high"], 0.975)):
        lam = generalised_q_eigenvalues(P, BCG_V, bound)
        assert abs(_ruben_sf(q_obs, lam) - prob) < 1e-9


def _ruben_sf(q, lam, tol=1e-14, max_terms=20000):
    """P(sum lam_j chi2_1 > q) by Ruben's (1962) mixture of chi-squares with beta = min(lam)
    (all mixture weights positive, summing to 1), written out independently of _quadform."""
    lam = np.asarray(lam, float)
    beta, r = lam.min(), lam.size
    rho = 1 - beta / lam
    a = [float(np.exp(0.5 * np.sum(np.log(beta / lam))))]
    g = []
    cdf = a[0] * stats.chi2.cdf(q / beta, r)
    mass = a[0]
    n = 1
    while 1 - mass > tol and n < max_terms:
        g.append(0.5 * float(np.sum(rho ** n)))
        a.append(float(np.dot(a[:n], g[::-1])) / n)
        cdf += a[n] * stats.chi2.cdf(q / beta, r + 2 * n)
        mass += a[n]
        n += 1
    return 1 - cdf


def test_quadform_sf_against_ruben_series_and_chi_square():
    """Imhof's integral against Ruben's (1962) series, written out here, and exact cases."""
    def ruben(q, lam, terms):
        return _ruben_sf(q, lam)

    for q, lam in ((20, [0.5, 1, 3, 7]), (3, [0.2, 5]), (11, [1, 1.5, 2, 2.5, 3, 4])):
        assert math.isclose(quadform_sf(q, lam), ruben(q, lam, 400), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(quadform_sf(5, [2, 2, 2, 2]), stats.chi2.sf(2.5, 4), rel_tol=1e-12)
    assert quadform_sf(-1, [1, 2]) == 1.0


# ----------------------------------------------------------------------------- meta-regression
MR_MODS = pd.DataFrame({"ablat": num(BCG["ablat"]), "year": num(BCG["year"])})


def _berkey(test, **kw):
    return meta_regression(BCG_Y, BCG_V, MR_MODS, method="REML", test=test, labels=BCG["study"],
                           warn=False, **kw)


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("btt,key", [([1], "btt2"), (["intrcpt", "year"], "btt13")])
def test_berkey1995_bcg_btt(test, btt, key):
    rec = BCG["metareg"][test][key]
    res = _berkey(test, btt=btt)
    m = Mismatch(1e-5, 1e-8)
    m.check("QM", res.qm, rec["QM"])
    m.check_p("QMp", res.qm_p_value, rec["QMp"])
    m.assert_ok()
    assert list(res.qm_df) == list(rec["QMdf"])
    assert [j + 1 for j in res.btt] == list(np.atleast_1d(rec["btt"]))


@pytest.mark.parametrize("test", ["z", "knha"])
def test_berkey1995_bcg_anova_contrasts_with_holm(test):
    rec = BCG["metareg"][test]["anova"]
    res = _berkey(test)
    out = res.anova(np.array(rec["X"]), adjust="holm")
    m = Mismatch(1e-5, 1e-8)
    m.check("Xb", out.estimate, rec["Xb"])
    m.check("se", out.se, rec["se"])
    m.check("zval", out.statistic, rec["zval"])
    m.check("pval", out.p_value, rec["pval"], atol=1e-12)
    m.check("pval.holm", out.p_adjusted, rec["pval.holm"], atol=1e-12)
    m.check("QM", out.qm, rec["QM"])
    m.check_p("QMp", out.qm_p_value, rec["QMp"])
    m.assert_ok()
    assert list(out.qm_df) == list(rec["QMdf"])
    assert list(out.to_frame().columns)[-1] == "p_adjusted"


def test_holm_adjustment():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.2]), [0.04, 0.09, 0.09, 0.2])


def _check_predictions_and_residuals(m: Mismatch, res, rec):
    """blup, ranef, rstandard and rstudent of ``res`` against metafor's record."""
    for name, frame in (("blup", res.blup()), ("ranef", res.ranef())):
        for col, key in (("pred", "pred"), ("se", "se"), ("pi_low", "pi.lb"), ("pi_high", "pi.ub")):
            m.check(f"{name}.{key}", frame[col].to_numpy(), rec[name][key])
    for name, frame in (("rstandard", res.rstandard()), ("rstudent", res.rstudent())):
        for key in ("resid", "se", "z"):
            m.check(f"{name}.{key}", frame[key].to_numpy(), rec[name][key])


@pytest.mark.parametrize("test", ["z", "knha"])
def test_berkey1995_bcg_vcov_vif_blup_ranef_residuals(test):
    rec = BCG["metareg"][test]
    res = _berkey(test)
    m = Mismatch(1e-5, 1e-8)
    for kind in ("fixed", "fitted", "obs", "resid"):
        m.check(f"vcov.{kind}", res.vcov(kind), np.array(rec["vcov"][kind]))
    vif = res.vif()
    m.check("vif", vif["vif"].to_numpy(), rec["vif"]["vif"])
    m.check("sif", vif["sif"].to_numpy(), rec["vif"]["sif"])
    g = res.vif(btt=["ablat", "year"])
    m.check("gvif", g["gvif"], rec["gvif"]["gvif"])
    m.check("gsif", g["gsif"], rec["gvif"]["gsif"])
    _check_predictions_and_residuals(m, res, rec)
    m.assert_ok()


@pytest.mark.parametrize("test", ["z", "knha"])
def test_berkey1995_bcg_influence_with_moderators(test):
    rec = BCG["metareg"][test]["influence"]
    res = _berkey(test)
    inf = influence(res)
    m = Mismatch(1e-5, 1e-8)
    for col, key in (("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook.d"),
                     ("cov_r", "cov.r"), ("tau2_del", "tau2.del"), ("qe_del", "QE.del"),
                     ("hat", "hat"), ("weight", "weight")):
        m.check(col, inf[col].to_numpy(), rec[key])
    dfbs = np.column_stack([inf[f"dfbetas_{n}"] for n in res.coef_names])
    m.check("dfbs", dfbs, np.array(rec["dfbs"]))
    m.assert_ok()
    assert list(inf["is_influential"]) == list(rec["is.infl"])


def test_bcg_intercept_only_blup_ranef_residuals():
    rec = BCG["metareg"]["intercept"]
    res = meta_regression(BCG_Y, BCG_V, np.ones((BCG_Y.size, 1)), intercept=False, warn=False)
    m = Mismatch(1e-5, 1e-8)
    _check_predictions_and_residuals(m, res, rec)
    m.assert_ok()


@pytest.mark.parametrize("key,test", [("weights", "z"), ("weights_knha", "knha")])
def test_bcg_meta_regression_with_user_weights(key, test):
    rec = BCG["metareg"][key]
    res = meta_regression(BCG_Y, BCG_V, ABLAT, method="REML", test=test,
                          weights=num(BCG["ntotal"]), warn=False)
    m = Mismatch(1e-5, 1e-8)
    for ours, ref in (("b", "b"), ("se", "se"), ("statistic", "zval"), ("ci_low", "ci.lb"),
                      ("ci_high", "ci.ub"), ("tau2", "tau2"), ("qm", "QM"), ("qe", "QE")):
        m.check(ref, getattr(res, ours), rec[ref])
    m.check_p("pval", res.p_value, rec["pval"])
    m.assert_ok()


# ----------------------------------------------------------------------------- permutation tests
@pytest.mark.parametrize("key,method,test", [("permutest_intercept_REML", "REML", "z"),
                                             ("permutest_intercept_DL", "DL", "z"),
                                             ("permutest_intercept_REML_knha", "REML", "knha")])
def test_bcg_exact_sign_flip_permutation_test(key, method, test):
    rec = BCG[key]
    res = pool(BCG_Y[:10], BCG_V[:10], method=method, test=test, warn=False)
    out = permutation_test(res, exact=True)
    assert out["n_permutations"] == 2 ** 10
    assert math.isclose(out["statistic"], rec["zval"], rel_tol=1e-5)
    assert math.isclose(out["p_value"], rec["pval"], rel_tol=1e-12)
    random = permutation_test(res, n_permutations=2000, seed=1)
    assert abs(random["p_value"] - rec["pval"]) < 0.05 and random["p_value"] > 0


def test_bcg_exact_permutation_test_with_a_moderator():
    rec = BCG["permutest_ablat8_DL"]
    res = meta_regression(BCG_Y[:8], BCG_V[:8], ABLAT.iloc[:8], method="DL", warn=False)
    out = permutation_test(res, exact=True)
    assert out["n_permutations"] == math.factorial(8)
    np.testing.assert_allclose(out["coef_p_values"], rec["pval"], rtol=1e-12)
    assert math.isclose(out["qm_p_value"], rec["QMp"], rel_tol=1e-12)
