"""A Bayesian row for every pooled cell, and a prior-sensitivity table: one call each.

Most cells of this evidence base have two to six trials, too few to estimate the between-trial
heterogeneity. A Bayesian random-effects analysis with a prior on tau that reflects what similar
meta-analyses showed (Turner et al. 2015 for binary outcomes, Rhodes et al. 2015 for standardised
mean differences) answers with the uncertainty about tau included, and in the probabilities a
reader asks about: how likely is any benefit, a benefit beyond the minimal important difference,
and a new trial showing one (:func:`trialsynth.pool_bayes`; Röver 2020, *J Stat Softw* 93(6)).

* :func:`default_tau_prior` chooses the prior for a cell's measure: for SMDs Rhodes et al.
  (2015, Table 3) "general physical health and adverse event and pain and quality of
  life/functioning", non-pharmacological interventions (acupuncture against sham, usual care or
  no treatment); for ratio measures Turner et al. (2015, Table IV) "pain", non-pharmacological
  vs placebo/control. Turner's priors are for log odds ratios; our responder outcomes are risk
  ratios, whose heterogeneity Rhodes, Turner & Higgins (2016, *Res Synth Methods* 7:346-370)
  found similar ("Levels of inconsistency were similar for binary data measured by log odds
  ratios and log relative risks", abstract) - the prior is used for log RR on that basis. A
  mean difference on a natural scale has no empirical prior: the half-normal alternative only.
* :func:`sensitivity_tau_prior` is the weakly informative alternative, half-normal with scale
  0.5 (Friede et al. 2017, for log odds ratios; on the SMD scale it is a generous bound too).
* :func:`bayes_cell_rows` gives every cell with at least two trials a row per prior;
  :func:`bayes_refit` the row in the layout of
  :func:`~trialsynth.diagnostics.method_profiles.refit_profiles` (so the class of the Bayesian
  answer enters ``conclusion_depends_on_method``); :func:`prior_sensitivity` one cell under at
  least three priors.

The minimal important difference and the direction of benefit are given by the caller (the
claims stage owns them: :func:`trialsynth.claims.effects.mid_for`); a mean difference whose MID is
unknown gets NaN for the MID probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from trialsynth.effects.scales import is_ratio
from trialsynth.errors import ArgumentError

#: the weakly informative alternative to the empirical prior
SENSITIVITY_SCALE = 0.5

BAYES_COLUMNS = ["prior", "prior_role", "tau_prior", "mu_prior", "k", "measure", "estimate", "ci_low", "ci_high",
                 "mean", "sd", "pi_low", "pi_high", "tau_median", "tau_ci_low", "tau_ci_high", "prior_tau_median",
                 "p_benefit", "p_beyond_mid", "p_new_beyond_mid", "p_harm_beyond_mid", "mid", "level",
                 "tau_is_prior", "note"]

#: the profile name a Bayesian refit row carries (``conclusion_depends_on_method``)
BAYES_PROFILE = "bayes"


def default_tau_prior(measure: str | None):
    """The empirical prior for a cell's measure (see the module docstring), or None for a mean
    difference on a natural scale (no empirical prior is published for it)."""
    from trialsynth.pooling.priors import Rhodes2015, Turner2015

    if is_ratio(measure):
        return Turner2015("pain", "non-pharmacological vs placebo/control")
    if str(measure or "SMD").upper() in ("SMD", "SMDH", "SMCR", "SMCC"):
        return Rhodes2015("pain", "non-pharmacological vs any")
    return None


def sensitivity_tau_prior():
    """Half-normal(0.5) on tau: the weakly informative alternative (Friede et al. 2017)."""
    from trialsynth.pooling.priors import HalfNormal

    return HalfNormal(SENSITIVITY_SCALE)


def sensitivity_priors(measure: str | None) -> list:
    """The priors of a sensitivity panel: the empirical one (when there is one), half-normal 0.5,
    half-normal 1.0 and half-Cauchy 0.5 (Röver et al. 2021 discuss all three families)."""
    from trialsynth.pooling.priors import HalfCauchy, HalfNormal

    out = [p for p in (default_tau_prior(measure),) if p is not None]
    return out + [HalfNormal(0.5), HalfNormal(1.0), HalfCauchy(0.5)]


def _sign(measure) -> int:
    """+1 when larger values favour the intervention (log ratios), -1 otherwise (oriented SMD/MD)."""
    return 1 if is_ratio(measure) else -1


def _mid_value(mid, measure):
    value = mid(measure) if callable(mid) else mid
    if value is None:
        return None
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ArgumentError(f"mid: expected a positive number (or None when unknown), got {value!r}")
    return value


def bayes_row(result, *, tau_prior, mid, mu_prior=None, level: float = 95, prior_role: str = "") -> dict:
    """The Bayesian answer for one pooled cell (``result``: a
    :class:`~trialsynth.pooling.results.MetaResult`, whose ``yi, vi, labels, measure`` are used).

    ``estimate`` is the posterior median of mu, ``ci_low/ci_high`` its shortest ``level``%
    credible interval, ``pi_low/pi_high`` the interval of a new trial's effect; ``p_benefit`` is
    P(mu on the intervention's side of 0), ``p_beyond_mid`` P(mu beyond the MID on that side),
    ``p_new_beyond_mid`` the predictive probability that a new trial's true effect is beyond it,
    ``p_harm_beyond_mid`` P(mu beyond the MID on the control's side). ``tau_is_prior`` flags
    cells with k <= 3, where the posterior of tau is essentially its prior (``note`` says it in
    words)."""
    from trialsynth.pooling.bayes import pool_bayes
    from trialsynth.pooling.priors import describe_mu_prior

    measure = getattr(result, "measure", None)
    res = pool_bayes(result.yi, result.vi, tau_prior=tau_prior, mu_prior=mu_prior,
                     labels=list(getattr(result, "labels", []) or []) or None, measure=measure, level=level)
    sign = _sign(measure)
    mid_value = _mid_value(mid, measure)
    lo, hi = res.mu.interval()
    pi_lo, pi_hi = res.theta_new.interval()
    tau_lo, tau_hi = res.tau.interval()
    if sign > 0:
        p_benefit = res.mu.prob_above(0.0)
        beyond = (lambda marg: marg.prob_above(mid_value))
        harm = (lambda marg: marg.prob_below(-mid_value))
    else:
        p_benefit = res.mu.prob_below(0.0)
        beyond = (lambda marg: marg.prob_below(-mid_value))
        harm = (lambda marg: marg.prob_above(mid_value))
    nan = math.nan
    prior_median = float(tau_prior.quantile(0.5)) if tau_prior.proper else nan
    k = int(res.k)
    note = ""
    if k <= 3:
        note = (f"{k} trials: the posterior of tau (median {res.tau.median:.2f}) is essentially its prior "
                f"(median {prior_median:.2f}); the width of the interval reflects the prior more than the trials.")
    return {
        "prior": tau_prior.short, "prior_role": prior_role, "tau_prior": tau_prior.describe(),
        "mu_prior": describe_mu_prior(mu_prior), "k": k, "measure": measure,
        "estimate": res.mu.median, "ci_low": lo, "ci_high": hi, "mean": res.mu.mean, "sd": res.mu.sd,
        "pi_low": pi_lo, "pi_high": pi_hi, "tau_median": res.tau.median, "tau_ci_low": tau_lo, "tau_ci_high": tau_hi,
        "prior_tau_median": prior_median, "p_benefit": float(p_benefit),
        "p_beyond_mid": nan if mid_value is None else float(beyond(res.mu)),
        "p_new_beyond_mid": nan if mid_value is None else float(beyond(res.theta_new)),
        "p_harm_beyond_mid": nan if mid_value is None else float(harm(res.mu)),
        "mid": nan if mid_value is None else mid_value, "level": float(level), "tau_is_prior": k <= 3, "note": note,
    }


def bayes_cell_rows(results: dict, *, mid, group_names: Sequence[str] = ("outcome", "comparator_class", "window"),
                    priors: str | Callable = "default+sensitivity", mu_prior=None, level: float = 95,
                    min_k: int = 2) -> pd.DataFrame:
    """Every pooled cell's Bayesian rows: ``results`` maps a cell's key (a tuple, named by
    ``group_names``) to its pooled result; cells with fewer than ``min_k`` trials (a single trial
    is shown, not pooled) are left out. ``priors``: ``"default"`` (the empirical prior only, the
    half-normal where the measure has none), ``"default+sensitivity"`` (also half-normal 0.5), or
    a function ``measure -> list of priors``. ``mid``: the MID on the analysis scale, a number or
    a function of the measure. One row per cell and prior, columns ``group_names`` +
    :data:`BAYES_COLUMNS`."""
    rows = []
    for key, res in results.items():
        if res is None or int(getattr(res, "k", 0)) < int(min_k):
            continue
        key = key if isinstance(key, tuple) else (key,)
        for prior, role in _priors_for(priors, getattr(res, "measure", None)):
            row = bayes_row(res, tau_prior=prior, mid=mid, mu_prior=mu_prior, level=level, prior_role=role)
            rows.append({**dict(zip(group_names, key)), **row})
    return pd.DataFrame(rows, columns=[*group_names, *BAYES_COLUMNS])


def _priors_for(priors, measure):
    if callable(priors):
        return [(p, "given") for p in priors(measure)]
    default = default_tau_prior(measure)
    sens = sensitivity_tau_prior()
    if priors == "default":
        return [(default or sens, "default")]
    if priors == "default+sensitivity":
        return [(default, "default"), (sens, "sensitivity")] if default is not None else [(sens, "default")]
    raise ArgumentError(f"priors: expected 'default', 'default+sensitivity' or a function of the measure, got {priors!r}")


def bayes_refit(result, *, tau_prior=None, mu_prior=None, level: float = 95) -> pd.DataFrame:
    """The Bayesian answer for one cell as a row of
    :data:`~trialsynth.diagnostics.method_profiles.REFIT_COLUMNS` (profile ``"bayes"``: posterior
    median and shortest credible interval of mu, the interval of a new trial's effect, the
    posterior median of tau squared), to be classified beside the frequentist profiles. The
    default prior is :func:`default_tau_prior` (half-normal 0.5 where there is none)."""
    prior = tau_prior or default_tau_prior(getattr(result, "measure", None)) or sensitivity_tau_prior()
    return refit_from_row(bayes_row(result, tau_prior=prior, mid=None, mu_prior=mu_prior, level=level))


def refit_from_row(row) -> pd.DataFrame:
    """A :func:`bayes_row` (dict or Series) in the layout of
    :data:`~trialsynth.diagnostics.method_profiles.REFIT_COLUMNS` (see :func:`bayes_refit`)."""
    from trialsynth.diagnostics.method_profiles import REFIT_COLUMNS

    row = dict(row)
    level = row.get("level", 95)
    out = {"profile": BAYES_PROFILE, "method": f"Bayes {row['prior']}", "test": "posterior", "k": row["k"],
           "estimate": row["estimate"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "pi_low": row["pi_low"],
           "pi_high": row["pi_high"], "tau2": row["tau_median"] ** 2, "i2": math.nan, "p_value": math.nan,
           "measure": row["measure"],
           "note": (f"posterior median and {level:g}% shortest credible interval; tau prior {row['tau_prior']}; "
                    f"mu prior {row['mu_prior']}") + (f" | {row['note']}" if row["note"] else "")}
    return pd.DataFrame([out], columns=REFIT_COLUMNS)


def prior_sensitivity(result, *, mid, priors: Sequence | None = None, mu_prior=None, level: float = 95) -> pd.DataFrame:
    """One cell under several tau priors (default :func:`sensitivity_priors`: the empirical prior,
    half-normal 0.5 and 1.0, half-Cauchy 0.5), one row each (:data:`BAYES_COLUMNS`), plus the
    frequentist fit it was given as the first row (``prior`` = its profile, the probabilities NaN)
    for reference. At least three priors are needed for a sensitivity analysis."""
    measure = getattr(result, "measure", None)
    chosen = list(priors) if priors is not None else sensitivity_priors(measure)
    if len(chosen) < 3:
        raise ArgumentError(f"priors: a sensitivity analysis needs at least three tau priors, got {len(chosen)}")
    default = default_tau_prior(measure)
    rows = [{"prior": f"{getattr(result, 'profile', None) or result.method} (frequentist)", "prior_role": "frequentist",
             "tau_prior": "", "mu_prior": "", "k": int(result.k), "measure": measure, "estimate": result.estimate,
             "ci_low": result.ci_low, "ci_high": result.ci_high, "mean": result.estimate, "sd": result.se,
             "pi_low": result.pi_low, "pi_high": result.pi_high, "tau_median": math.sqrt(max(result.tau2, 0.0)),
             "tau_ci_low": math.nan, "tau_ci_high": math.nan, "prior_tau_median": math.nan, "p_benefit": math.nan,
             "p_beyond_mid": math.nan, "p_new_beyond_mid": math.nan, "p_harm_beyond_mid": math.nan,
             "mid": math.nan, "level": float(getattr(result, "level", level)), "tau_is_prior": False, "note": ""}]
    for prior in chosen:
        role = "default" if (default is not None and prior == default) else "sensitivity"
        rows.append(bayes_row(result, tau_prior=prior, mid=mid, mu_prior=mu_prior, level=level, prior_role=role))
    return pd.DataFrame(rows, columns=BAYES_COLUMNS)


__all__ = ["BAYES_COLUMNS", "BAYES_PROFILE", "bayes_cell_rows", "bayes_refit", "bayes_row", "default_tau_prior",
           "prior_sensitivity", "refit_from_row", "sensitivity_priors", "sensitivity_tau_prior"]
