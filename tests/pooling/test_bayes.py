"""Bayesian random-effects meta-analysis (issue 16): the published example, structural identities,
priors and the result object.

Reference example: Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R
package. J Stat Softw 93(6):1-51, doi:10.18637/jss.v093.i06, section 3 (pp. 21-28: the printed
output of ``bayesmeta(crins.es, tau.prior = function(t) dhalfnormal(t, scale = 0.5),
mu.prior.mean = 0, mu.prior.sd = 4)`` and its methods; the data are the paper's Table 3). The data:
six studies of interleukin-2 receptor antagonists after paediatric liver transplantation, acute
rejection events / patients (IL-2RA vs control) from Crins ND, Röver C, Goralczyk AD, Friede T
(2014). Pediatric Transplantation 18(8):839-850, doi:10.1111/petr.12362 (the JSS paper's
Table 3; transcribed in bayesmeta's ``CrinsEtAl2014`` data set, documented at
https://rdrr.io/cran/bayesmeta/man/CrinsEtAl2014.html). Log odds ratios with 0.5 added to every
cell of a study with a zero cell (metafor ``escalc`` default), as in the paper. The printed
numbers are also recorded in /work/shared/research/anchors-2.md, section 2.3.

Tolerances: tau quantities 1e-6 (both sides integrate exactly); mu, theta_new and shrinkage
1e-3 against the print, because bayesmeta's mu marginal is a discrete mixture approximation
(DIRECT, Röver & Friede 2017) - where the printed value is off by more than that, the test says
so and checks ours against an independent integration (scipy's QUADPACK) instead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import trialsynth as ts
from trialsynth.errors import ArgumentError
from trialsynth.pooling.bayes import pool_bayes, prior_predictive
from trialsynth.pooling.bayes_batch import pool_bayes_batch
from trialsynth.pooling.fit import pool
from trialsynth.priors import (Exponential, Fixed, HalfCauchy, HalfNormal, HalfStudentT, Jeffreys, LogNormal,
                               LogStudentT, Normal, Rhodes2015, Turner2015, Uniform, empirical_prior_table)

# Crins et al. 2014, acute rejection: events / total, IL-2RA then control (JSS 2020 Table 3)
LABELS = ["Heffron 2003", "Gibelli 2004", "Schuller 2005", "Ganschow 2005", "Spada 2006", "Gras 2008"]
EVENTS_T = np.array([14, 16, 3, 9, 4, 0.0])
TOTAL_T = np.array([61, 28, 18, 54, 36, 50.0])
EVENTS_C = np.array([15, 19, 8, 29, 11, 3.0])
TOTAL_C = np.array([20, 28, 12, 54, 36, 34.0])


def crins_log_or():
    es = ts.effect_sizes("OR", events1=EVENTS_T, n1=TOTAL_T, events2=EVENTS_C, n2=TOTAL_C)
    return es["yi"].to_numpy(), es["vi"].to_numpy()


YI, VI = crins_log_or()
HN05 = HalfNormal(0.5)
N04 = Normal(0, 4)


@pytest.fixture(scope="module")
def crins():
    return pool_bayes(YI, VI, tau_prior=HN05, mu_prior=N04, labels=LABELS, measure="OR")


# ------------------------------------------------------------------------------------------ data


def test_crins_effect_sizes_follow_the_papers_escalc():
    """Gras 2008 (0/50 vs 3/34) gets 0.5 in every cell; the others are plain log odds ratios."""
    a, b, c, d = 0.5, 50.5, 3.5, 31.5
    assert YI[5] == pytest.approx(math.log(a * d / (b * c)), abs=1e-12)
    assert VI[5] == pytest.approx(1 / a + 1 / b + 1 / c + 1 / d, abs=1e-12)
    assert YI[0] == pytest.approx(math.log(14 * 5 / (47 * 15)), abs=1e-12)


def test_reml_of_the_example_matches_the_paper():
    """JSS 2020 p. 27 (the frequentist link): REML tau = 0.4670268, mu = -1.591513 (SE 0.3340882)."""
    fit = pool(YI, VI, method="REML", test="z")
    assert math.sqrt(fit.tau2) == pytest.approx(0.4670268, abs=2e-6)
    assert fit.estimate == pytest.approx(-1.591513, abs=2e-6)
    assert fit.se == pytest.approx(0.3340882, abs=2e-6)


# ------------------------------------------------------------------------------- the printed tau


def test_tau_posterior_matches_the_print_to_1e6(crins):
    tau = crins.tau
    assert tau.median == pytest.approx(0.3445022, abs=1e-6)
    assert tau.mean == pytest.approx(0.3810562, abs=1e-6)
    assert tau.sd == pytest.approx(0.2593672, abs=1e-6)
    assert tau.prob_above(1.0) == pytest.approx(0.02097488, abs=1e-6)
    assert tau.quantile(0.99) == pytest.approx(1.109186, abs=1e-6)
    low, high = tau.interval(99, "central")
    assert low == pytest.approx(0.003547657, abs=1e-6)
    assert high == pytest.approx(1.205400562, abs=1e-6)
    assert tau.mode == pytest.approx(0.2453139, abs=1e-5)  # bayesmeta's optimiser: 1.2e-6 off ours


def test_tau_shortest_interval_is_zero_to_the_95_percent_quantile(crins):
    """The printed 95% shortest interval is [0, 0.8607305]. The posterior density of tau is
    highest at 0 here (f(0) = 1.41 > f(0.86) = 0.30), so the shortest interval is exactly
    [0, Q(0.95)]; our Q(0.95) = 0.8607193. The printed upper limit has probability 0.9500033
    (bayesmeta's optimiser stops a few 1e-6 of probability off the boundary), 1.1e-5 above
    the exact quantile: we match it to 2e-5 and check the exact value by an independent
    integration to 1e-7."""
    low, high = crins.tau.interval()
    assert low == 0.0
    assert high == pytest.approx(0.8607305, abs=2e-5)

    def density(t):
        s2 = VI + t * t
        w = 1 / s2
        w_all = w.sum() + 1 / 16
        m = (w @ YI) / w_all
        q = w @ (YI - m) ** 2 + (0 - m) ** 2 / 16
        return 2 * stats.norm.pdf(t / 0.5) / 0.5 * math.exp(-0.5 * (np.log(s2).sum() + math.log(w_all) + q))

    norm = integrate.quad(density, 0, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]
    exact = optimize.brentq(lambda x: integrate.quad(density, 0, x, epsabs=0, epsrel=1e-13)[0] / norm - 0.95, 0.5, 1.2,
                            xtol=1e-13)
    assert high == pytest.approx(exact, abs=1e-7)
    assert crins.tau.pdf(0.0) > crins.tau.pdf(high)


# -------------------------------------------------------------------------------- the printed mu


def test_mu_posterior_matches_the_print_to_1e3(crins):
    mu = crins.mu
    assert mu.median == pytest.approx(-1.5734823, abs=1e-3)
    assert mu.mean == pytest.approx(-1.5764366, abs=1e-3)
    assert mu.sd == pytest.approx(0.3295298, abs=1e-3)
    low, high = mu.interval()
    assert low == pytest.approx(-2.2312306, abs=1e-3)
    assert high == pytest.approx(-0.9264079, abs=1e-3)
    assert mu.mode == pytest.approx(-1.5691216, abs=1e-3)
    # P(mu > 0) = 6.187343e-05 printed; ours 6.01e-05 (DIRECT's tail is ~3% heavier)
    assert mu.prob_above(0.0) == pytest.approx(6.187343e-05, abs=2e-6)


def test_theta_new_matches_the_print_and_an_exact_integration(crins):
    """Printed 95% prediction interval [-2.7661319, -0.4072970]; ours [-2.7644, -0.4089]: 1.7e-3
    apart, the size of bayesmeta's mixture approximation (an independent trapezoid integration
    in research/anchors-2.md also gives [-2.7644, -0.4089]). Checked here against the print at
    2e-3 and against QUADPACK on the exact mixture to 1e-7."""
    low, high = crins.theta_new.interval()
    assert low == pytest.approx(-2.7661319, abs=2e-3)
    assert high == pytest.approx(-0.4072970, abs=2e-3)
    assert crins.theta_new.mean == pytest.approx(-1.5764365, abs=1e-3)
    assert crins.theta_new.median == pytest.approx(-1.5701653, abs=1e-3)
    assert crins.theta_new.sd == pytest.approx(0.5671855, abs=1e-3)
    # exact: P(theta_new <= x) = int p(tau | y) Phi((x - m(tau)) / sqrt(V(tau) + tau^2)) dtau
    def cond(t):
        w = 1 / (VI + t * t)
        prec = w.sum() + 1 / 16
        return (w @ YI) / prec, 1 / prec

    def cdf(x):
        def f(t):
            m, v = cond(t)
            return crins.tau.pdf(t) * stats.norm.cdf((x - m) / math.sqrt(v + t * t))
        return integrate.quad(f, 0, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)[0]

    assert cdf(high) - cdf(low) == pytest.approx(0.95, abs=1e-7)


def test_shrinkage_matches_the_print(crins):
    """Printed shrinkage medians [95%]: Heffron 2003 -1.7411356 [-2.6561049, -0.9920023],
    Gibelli 2004 -1.2821722 [-2.0455088, -0.3089461]."""
    frame = crins.shrinkage.set_index("label")
    for label, (median, low, high) in {"Heffron 2003": (-1.7411356, -2.6561049, -0.9920023),
                                       "Gibelli 2004": (-1.2821722, -2.0455088, -0.3089461)}.items():
        row = frame.loc[label]
        assert row["median"] == pytest.approx(median, abs=1e-3)
        assert row["ci_low"] == pytest.approx(low, abs=1e-3)
        assert row["ci_high"] == pytest.approx(high, abs=1e-3)
    # every trial is pulled towards mu: the posterior interval is narrower than the trial's own
    assert ((frame["ci_high"] - frame["ci_low"]) < (frame["obs_ci_high"] - frame["obs_ci_low"])).all()
    assert frame["shrinkage"].between(0, 1).all()


def test_prior_predictive_quantiles_match_the_print_and_quadpack():
    """JSS 2020 section 3.4: the 97.5% prior predictive quantile of theta_i - mu is 1.092287
    (half-normal 0.5), 2.184573 (half-normal 1.0) and 5.050571 (half-Cauchy 0.5), from
    bayesmeta's discrete mixture approximation; exact values (QUADPACK) are 1.0909745 and
    5.0470073, about 0.1% lower. Ours match the exact values to 1e-7 and the print to 0.5%."""
    for prior, printed in ((HalfNormal(0.5), 1.092287), (HalfNormal(1.0), 2.184573), (HalfCauchy(0.5), 5.050571)):
        ours = prior_predictive(prior, 0.975)
        assert ours == pytest.approx(printed, rel=5e-3)

        def cdf(x, prior=prior):
            return integrate.quad(lambda t: stats.norm.cdf(x / t) * prior.pdf(t), 0, np.inf, epsabs=1e-14,
                                  epsrel=1e-13, limit=400)[0]

        assert cdf(ours) == pytest.approx(0.975, abs=1e-9)
    assert prior_predictive(HalfNormal(1.0), 0.975) == pytest.approx(2 * prior_predictive(HalfNormal(0.5), 0.975), rel=1e-9)


def test_two_study_example_probability():
    """JSS 2020 (the two randomised trials Heffron and Spada, ``ma05``): P(mu < 0) = 0.9974968."""
    idx = [0, 4]
    res = pool_bayes(YI[idx], VI[idx], tau_prior=HN05, mu_prior=N04)
    assert res.mu.prob_below(0.0) == pytest.approx(0.9974968, abs=5e-4)


# ----------------------------------------------------------------------------- identities


def test_flat_mu_with_tau_fixed_at_reml_reproduces_reml():
    fit = pool(YI, VI, method="REML", test="z")
    res = pool_bayes(YI, VI, tau_prior=Fixed(math.sqrt(fit.tau2)))
    assert res.mu.mean == pytest.approx(fit.estimate, abs=1e-12)
    assert res.mu.median == pytest.approx(fit.estimate, abs=1e-10)
    assert res.mu.sd == pytest.approx(fit.se, abs=1e-12)
    for kind in ("central", "shortest"):
        low, high = res.mu.interval(95, kind)
        assert low == pytest.approx(fit.ci_low, abs=1e-9)
        assert high == pytest.approx(fit.ci_high, abs=1e-9)
    assert res.tau.median == math.sqrt(fit.tau2) and res.tau.sd == 0.0


def test_prior_degenerate_at_zero_reproduces_the_common_effect_pool():
    fit = pool(YI, VI, method="EE")
    exact = pool_bayes(YI, VI, tau_prior=Fixed(0.0))
    assert exact.mu.mean == pytest.approx(fit.estimate, abs=1e-12)
    assert exact.mu.sd == pytest.approx(fit.se, abs=1e-12)
    # the limit of proper priors shrinking to 0 gives the same
    near = pool_bayes(YI, VI, tau_prior=HalfNormal(1e-9))
    assert near.mu.mean == pytest.approx(fit.estimate, abs=1e-8)
    assert near.mu.sd == pytest.approx(fit.se, abs=1e-8)
    assert near.tau.median == pytest.approx(HalfNormal(1e-9).quantile(0.5), rel=1e-3)
    low, high = near.mu.interval()
    assert (low, high) == pytest.approx((fit.ci_low, fit.ci_high), abs=1e-7)


@pytest.mark.parametrize("prior,mu_prior", [(HN05, N04), (HalfCauchy(0.5), None), (Rhodes2015("pain", "non-pharmacological"), None),
                                            (Turner2015("pain", "non-pharmacological vs placebo/control"), N04),
                                            (Jeffreys(), None), (Uniform(0, 3), None), (Exponential(2.0), N04)])
def test_halving_the_quadrature_step_changes_nothing(prior, mu_prior):
    base = pool_bayes(YI, VI, tau_prior=prior, mu_prior=mu_prior)
    fine = pool_bayes(YI, VI, tau_prior=prior, mu_prior=mu_prior, refine=1)
    finer = pool_bayes(YI, VI, tau_prior=prior, mu_prior=mu_prior, refine=2, tol=1e-12)
    for other in (fine, finer):
        for name in ("tau", "mu", "theta_new"):
            a, b = getattr(base, name), getattr(other, name)
            assert a.median == pytest.approx(b.median, abs=1e-9)
            assert a.interval() == pytest.approx(b.interval(), abs=1e-8)
            if math.isfinite(a.mean):
                assert a.mean == pytest.approx(b.mean, abs=1e-9)
        assert base.mu.prob_above(-1.0) == pytest.approx(other.mu.prob_above(-1.0), abs=1e-10)
        assert base.tau.prob_above(0.5) == pytest.approx(other.tau.prob_above(0.5), abs=1e-10)
    assert fine._rule.n_panels == 2 * base._rule.n_panels


def test_same_digits_every_run_and_order_invariance():
    first = pool_bayes(YI, VI, tau_prior=HN05, mu_prior=N04).to_frame()
    again = pool_bayes(YI, VI, tau_prior=HN05, mu_prior=N04).to_frame()
    assert first.equals(again)
    perm = [3, 0, 5, 1, 4, 2]
    shuffled = pool_bayes(YI[perm], VI[perm], tau_prior=HN05, mu_prior=N04).to_frame()
    cols = ["median", "mean", "sd", "ci_low", "ci_high"]
    np.testing.assert_allclose(shuffled[cols].to_numpy(), first[cols].to_numpy(), rtol=0, atol=1e-10)
    # a mode sits where the density is flat: found to about 1e-9
    np.testing.assert_allclose(shuffled["mode"].to_numpy(), first["mode"].to_numpy(), rtol=0, atol=1e-8)


def test_one_trial_flat_mu_leaves_the_tau_prior_unchanged():
    """k = 1, flat mu: the marginal likelihood of tau is constant, so p(tau | y) = p(tau); mu | y
    is the mixture of N(y, v + tau^2) over the prior."""
    res = pool_bayes([0.4], [0.04], tau_prior=HN05)
    for p in (0.1, 0.5, 0.9):
        assert res.tau.quantile(p) == pytest.approx(HN05.quantile(p), abs=1e-9)
    assert res.tau.mean == pytest.approx(0.5 * math.sqrt(2 / math.pi), abs=1e-10)
    assert res.mu.median == pytest.approx(0.4, abs=1e-12)
    assert res.mu.sd == pytest.approx(math.sqrt(0.04 + 0.25), abs=1e-10)  # v + E[tau^2]
    assert any("k = 1" in n for n in res.notes)
    with pytest.raises(ArgumentError, match="improper posterior"):
        pool_bayes([0.4], [0.04], tau_prior=Jeffreys())


def test_one_trial_under_a_log_t_prior_keeps_finite_intervals():
    """The log-t prior of Rhodes 2015 has no finite moment of tau and a tail reaching tau = e^100
    and beyond; with one trial and a flat mu prior the posterior of tau is that prior, mu's
    variance is infinite, yet its interval is finite and moderate (a normal mixture of mostly
    small tau)."""
    prior = LogStudentT(5, -3.0, 2.3)
    res = pool_bayes([0.2], [0.05], tau_prior=prior)
    assert res.tau.median == pytest.approx(prior.quantile(0.5), rel=1e-9)
    assert res.mu.sd == math.inf and res.tau.mean == math.inf
    low, high = res.mu.interval()
    assert low == pytest.approx(0.4 - high, abs=1e-9)  # symmetric about the one estimate
    assert 1.0 < high < 5.0
    assert res.mu.cdf(high) - res.mu.cdf(low) == pytest.approx(0.95, abs=1e-9)
    batch = pool_bayes_batch([[0.2]], [[0.05]], tau_prior=prior)
    assert batch.mu.ci_high[0] == pytest.approx(high, abs=1e-8)


def test_two_trials_behave():
    y, v = [-0.3, 0.2], [0.04, 0.05]
    res = pool_bayes(y, v, tau_prior=HN05)
    fe = pool(y, v, method="EE")
    assert all(math.isfinite(x) for x in (res.mu.median, res.mu.sd, res.tau.mean, res.tau.sd))
    assert res.mu.ci_high - res.mu.ci_low > fe.ci_high - fe.ci_low
    assert any("k = 2" in n for n in res.notes)
    # half-Cauchy with two trials and a flat mu prior: the posterior mean of tau exists, its
    # variance does not (tail tau^-3)
    hc = pool_bayes(y, v, tau_prior=HalfCauchy(0.5))
    assert math.isfinite(hc.tau.mean) and hc.tau.sd == math.inf and hc.mu.sd == math.inf
    assert math.isfinite(hc.mu.ci_low) and math.isfinite(hc.theta_new.ci_high)
    # the improper uniform prior needs three trials under a flat mu prior
    with pytest.raises(ArgumentError, match="improper posterior"):
        pool_bayes(y, v, tau_prior=Uniform(0, math.inf))
    assert math.isfinite(pool_bayes(y + [0.0], v + [0.03], tau_prior=Uniform(0, math.inf)).tau.median)
    # a proper mu prior makes k = 2 with the Jeffreys prior fine
    assert math.isfinite(pool_bayes(y, v, tau_prior=Jeffreys(), mu_prior=N04).tau.median)


# ----------------------------------------------------------------------------- intervals etc.


def test_shortest_intervals_have_equal_density_ends_and_the_right_content(crins):
    for marg in (crins.mu, crins.theta_new):
        low, high = marg.interval()
        assert marg.cdf(high) - marg.cdf(low) == pytest.approx(0.95, abs=1e-10)
        assert marg.pdf(low) == pytest.approx(marg.pdf(high), rel=1e-8)
        c_low, c_high = marg.interval(kind="central")
        assert high - low <= c_high - c_low + 1e-12
        assert marg.cdf(c_low) == pytest.approx(0.025, abs=1e-12)
    lo90, hi90 = crins.mu.interval(90)
    assert lo90 > crins.mu.ci_low and hi90 < crins.mu.ci_high


def test_quantile_cdf_roundtrip_and_tail_probabilities(crins):
    for marg in (crins.tau, crins.mu, crins.theta_new):
        qs = marg.quantile([0.01, 0.3, 0.5, 0.97])
        np.testing.assert_allclose(marg.cdf(qs), [0.01, 0.3, 0.5, 0.97], atol=1e-11)
        x = float(marg.quantile(0.8))
        assert marg.prob_above(x) + marg.prob_below(x) == pytest.approx(1.0, abs=1e-12)
    assert crins.tau.cdf(0.0) == 0.0 and crins.tau.prob_below(-1.0) == 0.0
    with pytest.raises(ArgumentError):
        crins.mu.quantile(1.5)
    with pytest.raises(ArgumentError):
        crins.mu.interval(95, "widest")


def test_bayes_factors_agree_with_savage_dickey(crins):
    """BF(mu = 0) = p(mu = 0 | y) / p(mu = 0) and BF(tau = 0) = p(tau = 0 | y) / p(tau = 0)
    (Savage-Dickey density ratios; Dickey 1971) - computed here from the marginals, in the result
    from marginal likelihoods."""
    assert crins.bayes_factor("mu=0") == pytest.approx(crins.mu.pdf(0.0) / math.exp(N04.logpdf(0.0)), rel=1e-8)
    assert crins.bayes_factor("tau = 0") == pytest.approx(crins.tau.pdf(0.0) / HN05.pdf(0.0), rel=1e-8)
    flat = pool_bayes(YI, VI, tau_prior=HN05)
    with pytest.raises(ArgumentError, match="flat prior on mu"):
        flat.bayes_factor("mu=0")
    assert flat.bayes_factor("tau=0") == pytest.approx(flat.tau.pdf(0.0) / HN05.pdf(0.0), rel=1e-8)
    with pytest.raises(ArgumentError, match="improper"):
        pool_bayes(YI, VI, tau_prior=Jeffreys()).bayes_factor("tau=0")
    with pytest.raises(ArgumentError):
        crins.bayes_factor("mu>0")
    assert math.isfinite(crins.log_marginal_likelihood) and math.isnan(flat.log_marginal_likelihood)


# ----------------------------------------------------------------------------- priors


@pytest.mark.parametrize("prior", [HalfNormal(0.5), HalfCauchy(0.3), HalfStudentT(3, 0.5), Uniform(0.1, 2.0),
                                   Exponential(3.0), LogNormal(-2.56, 1.74), LogStudentT(5, -3.02, 2.27)])
def test_proper_priors_integrate_to_one_and_invert(prior):
    """The density, distribution function and quantiles of each prior agree: the density
    integrates between quantiles to the probability between them, and the cdf runs 0 to 1."""
    for a, b in ((0.01, 0.5), (0.5, 0.99), (0.001, 0.999)):
        mass = integrate.quad(prior.pdf, prior.quantile(a), prior.quantile(b), limit=200, epsabs=1e-13)[0]
        assert mass == pytest.approx(b - a, abs=1e-9)
    lo, hi = prior.support
    assert prior.cdf(lo) == pytest.approx(0.0, abs=1e-15)
    assert prior.cdf(1e300 if hi == math.inf else hi) == pytest.approx(1.0, abs=1e-9)
    assert prior.pdf(-0.1) == 0.0
    for p in (0.05, 0.5, 0.95):
        assert prior.cdf(prior.quantile(p)) == pytest.approx(p, abs=1e-12)
    assert prior.describe() and prior.short


def test_tau2_priors_are_what_their_names_say():
    ln = LogNormal(-2.0, 1.5)
    assert ln.quantile(0.5) == pytest.approx(math.exp(-1.0), rel=1e-12)  # median tau = exp(mean / 2)
    # log tau^2 ~ N(mean, sd^2): P(tau^2 <= e^-2 + ...) via the normal
    assert ln.cdf(math.exp(0.5 * (-2.0 + 1.5))) == pytest.approx(stats.norm.cdf(1.0), abs=1e-12)
    lt = LogStudentT(5, -3.0, 2.0)
    assert lt.cdf(math.exp(0.5 * (-3.0 + 2.0 * 1.3))) == pytest.approx(stats.t.cdf(1.3, 5), abs=1e-12)
    assert lt.tail == (1.0, 6.0)


def test_jeffreys_prior_is_the_root_of_the_fisher_information():
    v = np.array([0.1, 0.5, 2.0])
    for t in (0.05, 0.7, 3.0):
        info = 2 * np.sum(t * t / (v + t * t) ** 2)  # Fisher information of tau in y ~ N(mu, v + tau^2)
        assert math.exp(Jeffreys().logpdf(t, v)) == pytest.approx(math.sqrt(info / 2), rel=1e-12)
    with pytest.raises(ArgumentError, match="vi"):
        Jeffreys().logpdf(0.3)


def test_empirical_priors_are_stored_with_paper_table_and_cell():
    table = empirical_prior_table()
    assert set(table["prior"]) == {"Turner2015", "Rhodes2015"}
    for col in ("table", "cell", "location", "scale", "verified_against_paper", "read_from"):
        assert table[col].notna().all(), col
    rhodes = Rhodes2015("pain", "non-pharmacological vs any")
    assert (rhodes.df, rhodes.location, rhodes.scale) == (5.0, -3.02, 2.27)
    assert "Table 3" in rhodes.source and "J Clin Epidemiol" in rhodes.source
    turner = Turner2015("pain", "non-pharmacological vs placebo")
    assert (turner.mean, turner.sd) == (-2.05, 1.71)
    assert "Table IV" in turner.source and "10.1002/sim.6381" in turner.source
    assert Turner2015().mean == -2.56 and Rhodes2015().location == -3.44  # the general settings
    with pytest.raises(ArgumentError, match="not among the shipped cells"):
        Turner2015("all-cause mortality", "pharmacological vs placebo/control")
    with pytest.raises(ArgumentError, match="ambiguous"):
        Turner2015("pain", "non-pharmacological")
    # an unverified transcription says so wherever it is used
    res = pool_bayes(YI, VI, tau_prior=rhodes)
    assert any("secondary transcription" in n for n in res.notes)


def test_prior_arguments_are_checked():
    with pytest.raises(ArgumentError, match="tau_prior"):
        pool_bayes(YI, VI, tau_prior="half-normal")
    with pytest.raises(ArgumentError, match="mu_prior"):
        pool_bayes(YI, VI, tau_prior=HN05, mu_prior=(0, 4))
    with pytest.raises(ArgumentError, match="HalfNormal scale"):
        HalfNormal(-1)
    with pytest.raises(ArgumentError, match="Uniform"):
        Uniform(2, 1)
    with pytest.raises(ArgumentError, match="level"):
        pool_bayes(YI, VI, tau_prior=HN05, level=120)
    with pytest.raises(ArgumentError, match="labels"):
        pool_bayes(YI, VI, tau_prior=HN05, labels=["a"])
    with pytest.raises(ArgumentError, match="yi must be finite"):
        pool_bayes([0.1, np.nan], [0.1, 0.1], tau_prior=HN05)
    assert pool_bayes(YI, VI, tau_prior=0.3).tau.median == 0.3  # a number is a point mass


# ----------------------------------------------------------------------------- output


def test_summary_frame_and_html_show_the_prior_beside_every_number(crins):
    frame = crins.to_frame()
    assert list(frame["parameter"]) == ["tau", "mu", "theta_new"]
    assert frame["tau_prior"].str.contains("half-normal\\(scale 0.5\\)").all()
    assert frame["mu_prior"].str.contains("normal\\(mean 0, sd 4\\)").all()
    assert frame.loc[1, "exp_median"] == pytest.approx(math.exp(crins.mu.median))
    text = crins.summary()
    for line in text.splitlines():
        if line.startswith(("tau ", "mu ", "theta_new")):
            assert ("HN(0.5)" in line) or ("N(0, 4)" in line) or ("predictive" in line), line
    assert "OR (exp mu): median 0.207" in text
    html = crins._repr_html_()
    assert "half-normal(scale 0.5) on tau" in html and "<table>" in html
    assert "P(mu > 0)" in text and "BF(tau=0)" in text


# ----------------------------------------------------------------------------- batch


def test_batch_matches_single_fits_and_handles_missing_trials():
    rng = np.random.default_rng(7)
    y = rng.normal(-0.3, 0.3, (40, 5))
    v = rng.uniform(0.02, 0.3, (40, 5))
    y[::3, 3:], v[::3, 3:] = np.nan, np.nan
    y[5], v[5] = np.nan, np.nan  # a row with no trials
    batch = pool_bayes_batch(y, v, tau_prior=HN05, mu_prior=N04, chunk_size=16)
    assert batch.k[5] == 0 and math.isnan(batch.mu.median[5])
    assert batch.k[0] == 3 and batch.k[1] == 5
    for i in (0, 1, 2, 17, 39):
        ok = np.isfinite(y[i])
        one = pool_bayes(y[i, ok], v[i, ok], tau_prior=HN05, mu_prior=N04)
        for name in ("tau", "mu", "theta_new"):
            b, s = getattr(batch, name), getattr(one, name)
            assert b.median[i] == pytest.approx(s.median, abs=1e-8)
            assert b.ci_low[i] == pytest.approx(s.ci_low, abs=1e-8)
            assert b.ci_high[i] == pytest.approx(s.ci_high, abs=1e-8)
            assert b.mean[i] == pytest.approx(s.mean, abs=1e-9)
        assert batch.mu.prob_above(0.0)[i] == pytest.approx(one.mu.prob_above(0.0), abs=1e-9)
        assert batch.bayes_factor("tau=0")[i] == pytest.approx(one.bayes_factor("tau=0"), rel=1e-8)
        low, high = batch.theta_new.interval(90, "central")
        assert (low[i], high[i]) == pytest.approx(one.theta_new.interval(90, "central"), abs=1e-8)
    frame = batch.to_frame()
    assert len(frame) == 40 and {"tau_median", "mu_ci_low", "theta_new_ci_high"} <= set(frame.columns)
    with pytest.raises(ArgumentError, match="row 0, column 0"):
        pool_bayes_batch([[0.1, 0.2]], [[np.nan, 0.1]], tau_prior=HN05)


def test_simulation_coverage_uses_the_batch_and_is_executor_independent():
    from trialsynth.simulation import coverage_study

    kwargs = dict(k=(3,), tau2=(0.05,), n_sim=60, intervals=("bayes", "bayes_pi", "z"), progress=False, chunk_size=20)
    one = coverage_study(workers=1, **kwargs)
    two = coverage_study(workers=2, **kwargs)
    assert one.equals(two)
    bayes = one[one["interval"].isin(["bayes", "bayes_pi"])]
    assert list(bayes["method"]) == ["Bayes HN(0.5)", "Bayes HN(0.5)"]
    assert bayes["coverage"].between(0.5, 1.0).all() and (bayes["n_valid"] == 60).all()
    # the predictive interval of a new trial is wider than the credible interval of the mean
    widths = bayes.set_index("interval")["mean_width"]
    assert widths["bayes_pi"] > widths["bayes"]
    other = coverage_study(workers=1, tau_prior=HalfCauchy(0.5), **kwargs)
    assert "Bayes HC(0.5)" in set(other["method"])
