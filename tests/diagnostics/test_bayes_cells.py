"""Every pooled cell's Bayesian row (issue 16): default priors by measure, the probabilities a reader
asks for, the k <= 3 note, and the refit row that enters conclusion_depends_on_method."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trialsynth.diagnostics.bayes_cells import (BAYES_COLUMNS, BAYES_PROFILE, bayes_cell_rows, bayes_refit, bayes_row,
                                               default_tau_prior, prior_sensitivity, sensitivity_priors)
from trialsynth.diagnostics.method_profiles import REFIT_COLUMNS
from trialsynth.errors import ArgumentError
from trialsynth.pooling.bayes import pool_bayes
from trialsynth.pooling.fit import pool
from trialsynth.priors import HalfNormal, LogNormal, LogStudentT

SMD = pool([-0.3, -0.5, -0.1, -0.4], [0.02, 0.03, 0.05, 0.04], measure="SMD", labels=list("abcd"))
RR = pool(np.log([1.3, 1.6]), [0.04, 0.06], measure="RR", labels=["x", "y"], warn=False)


def test_default_priors_follow_the_measure():
    smd, rr = default_tau_prior("SMD"), default_tau_prior("RR")
    assert isinstance(smd, LogStudentT) and (smd.location, smd.scale, smd.df) == (-3.02, 2.27, 5.0)
    assert isinstance(rr, LogNormal) and (rr.mean, rr.sd) == (-2.05, 1.71)
    assert default_tau_prior("OR") == rr
    assert default_tau_prior("MD") is None
    assert len(sensitivity_priors("SMD")) >= 3 and len(sensitivity_priors("MD")) >= 3


def test_a_row_gives_the_probabilities_in_the_benefit_direction():
    row = bayes_row(SMD, tau_prior=HalfNormal(0.5), mid=0.5)
    res = pool_bayes(SMD.yi, SMD.vi, tau_prior=HalfNormal(0.5))
    assert row["estimate"] == pytest.approx(res.mu.median)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(res.mu.interval())
    # SMD: negative favours the intervention
    assert row["p_benefit"] == pytest.approx(res.mu.prob_below(0.0))
    assert row["p_beyond_mid"] == pytest.approx(res.mu.prob_below(-0.5))
    assert row["p_new_beyond_mid"] == pytest.approx(res.theta_new.prob_below(-0.5))
    assert row["p_harm_beyond_mid"] == pytest.approx(res.mu.prob_above(0.5))
    assert 0 < row["p_beyond_mid"] < row["p_benefit"] < 1
    assert not row["tau_is_prior"] and row["note"] == ""
    assert set(row) == set(BAYES_COLUMNS)
    # ratios: positive log ratios favour the intervention; the MID comes from a function of the measure
    rr = bayes_row(RR, tau_prior=HalfNormal(0.5), mid=lambda measure: math.log(1.25))
    res = pool_bayes(RR.yi, RR.vi, tau_prior=HalfNormal(0.5))
    assert rr["p_benefit"] == pytest.approx(res.mu.prob_above(0.0))
    assert rr["p_beyond_mid"] == pytest.approx(res.mu.prob_above(math.log(1.25)))
    assert rr["tau_is_prior"] and "essentially its prior" in rr["note"]
    # an unknown MID (a mean difference on an unreported scale) gives NaN, not a number
    unknown = bayes_row(SMD, tau_prior=HalfNormal(0.5), mid=None)
    assert math.isnan(unknown["p_beyond_mid"]) and not math.isnan(unknown["p_benefit"])
    with pytest.raises(ArgumentError, match="mid"):
        bayes_row(SMD, tau_prior=HalfNormal(0.5), mid=-1)


def test_cell_rows_skip_single_trials_and_carry_both_priors():
    single = pool([-0.2], [0.04], measure="SMD", warn=False)
    results = {("pain", "sham", "short"): SMD, ("responder", "sham", "short"): RR, ("pain", "sham", "long"): single}
    rows = bayes_cell_rows(results, mid=lambda m: math.log(1.25) if m == "RR" else 0.5)
    assert set(rows["window"]) == {"short"}  # the one-trial cell is shown, not pooled
    assert list(rows["prior_role"]) == ["default", "sensitivity", "default", "sensitivity"]
    assert rows.loc[0, "prior"].startswith("Rhodes 2015") and rows.loc[2, "prior"].startswith("Turner 2015")
    assert rows.loc[1, "prior"] == "HN(0.5)"
    only = bayes_cell_rows(results, mid=0.5, priors="default")
    assert len(only) == 2
    with pytest.raises(ArgumentError, match="priors"):
        bayes_cell_rows(results, mid=0.5, priors="all")


def test_refit_row_is_in_the_profiles_layout():
    refit = bayes_refit(SMD)
    assert list(refit.columns) == REFIT_COLUMNS and len(refit) == 1
    row = refit.iloc[0]
    assert row["profile"] == BAYES_PROFILE and row["method"].startswith("Bayes Rhodes 2015")
    res = pool_bayes(SMD.yi, SMD.vi, tau_prior=default_tau_prior("SMD"))
    assert row["estimate"] == pytest.approx(res.mu.median)
    assert row["tau2"] == pytest.approx(res.tau.median ** 2)
    assert "credible interval" in row["note"]


def test_prior_sensitivity_table_has_the_frequentist_reference_and_three_priors():
    table = prior_sensitivity(SMD, mid=0.5)
    assert table.loc[0, "prior_role"] == "frequentist" and table.loc[0, "estimate"] == SMD.estimate
    assert (table["prior_role"] == "default").sum() == 1 and len(table) == 5
    # the posterior median of mu hardly moves with the prior here; the interval widens with a wider prior
    bayes = table.iloc[1:]
    assert bayes["estimate"].max() - bayes["estimate"].min() < 0.05
    hn05 = table[table["prior"] == "HN(0.5)"].iloc[0]
    hn1 = table[table["prior"] == "HN(1)"].iloc[0]
    assert hn1["ci_high"] - hn1["ci_low"] > hn05["ci_high"] - hn05["ci_low"]
    with pytest.raises(ArgumentError, match="at least three"):
        prior_sensitivity(SMD, mid=0.5, priors=[HalfNormal(0.5)])
