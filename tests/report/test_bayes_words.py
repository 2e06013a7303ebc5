"""Issue 16: the claims and GRADE imprecision give the Bayesian probabilities in words, and a
probability is never printed as a rounded 0% or 100%."""

import math

import pytest

from trialsynth.claims.effects import bayes_probability_text
from trialsynth.claims.verdicts import describe_pooled_row
from trialsynth.display import format_probability
from trialsynth.grade.rules import NOT_SERIOUS, SERIOUS, judge_imprecision
from trialsynth.report.stages import grade_cells, pool_cells

from test_method_dependence import effects_two_agreeing_trials


@pytest.mark.parametrize("p, digits, text", [
    (0.9854, 1, "98.5%"), (0.99996, 1, ">99.9%"), (0.99949, 1, "99.9%"), (0.00004, 1, "<0.1%"), (0.0006, 1, "0.1%"),
    (0.996, 0, ">99%"), (0.005, 0, "<1%"), (0.004, 0, "<1%"), (0.5, 0, "50%"), (None, 1, ""), (math.nan, 1, ""),
])
def test_probabilities_are_never_rounded_to_0_or_100_percent(p, digits, text):
    assert format_probability(p, digits) == text


ROW = {"p_benefit": 0.9854, "p_beyond_mid": 0.0917, "p_new_beyond_mid": 0.1743, "k": 4,
       "bayes_prior": "Rhodes 2015 (pain/function; non-pharmacological vs any)"}


def test_the_probability_sentence_names_the_prior_and_the_few_trials_caveat():
    text = bayes_probability_text(ROW)
    assert text == ("Bayesian pooling (Rhodes 2015 prior on the heterogeneity): 98.5% chance of some benefit, "
                    "9.2% chance of a benefit beyond the minimal important difference, 17.4% chance that a new "
                    "trial's true effect is beyond it")
    assert "essentially what the prior assumes" in bayes_probability_text({**ROW, "k": 2})
    assert bayes_probability_text(ROW, short=True) == "Bayesian: 98.5% chance of some benefit, 9.2% of one beyond the MID"
    # a mean difference without a known MID: the benefit probability alone
    assert bayes_probability_text({**ROW, "p_beyond_mid": math.nan, "p_new_beyond_mid": math.nan}, short=True) == \
        "Bayesian: 98.5% chance of some benefit"
    assert bayes_probability_text({"p_benefit": math.nan, "k": 1}) == ""


def test_imprecision_reason_carries_the_sentence_without_changing_the_level():
    plain = judge_imprecision(-0.6, -0.3, 500, mid=0.2, ois=400)
    with_bayes = judge_imprecision(-0.6, -0.3, 500, mid=0.2, ois=400, bayes="Bayesian pooling: 99.0% chance of some benefit")
    assert plain.level == with_bayes.level == NOT_SERIOUS
    assert with_bayes.reason == plain.reason + ". Bayesian pooling: 99.0% chance of some benefit"


def test_grade_and_claims_read_the_cells_probabilities():
    eff = effects_two_agreeing_trials()
    pooled = pool_cells(eff, "cochrane-2025")
    frame = pooled.frame.set_index("window")
    sof = grade_cells(pooled, eff).sof.set_index("window")
    for window in ("intermediate", "immediate"):
        row = frame.loc[window]
        reason = sof.loc[window, "imprecision_reason"]
        assert f"{format_probability(row['p_benefit'])} chance of some benefit" in reason
        assert f"{format_probability(row['p_beyond_mid'])} chance of a benefit beyond the minimal important difference" in reason
        line = describe_pooled_row({**row.to_dict(), "window": window}, mid=0.5)
        assert f"(Bayesian: {format_probability(row['p_benefit'])} chance of some benefit" in line
    assert sof.loc["intermediate", "imprecision"] == SERIOUS
    assert "essentially what the prior assumes" in sof.loc["intermediate", "imprecision_reason"]  # k = 2
    assert "essentially what the prior assumes" not in sof.loc["immediate", "imprecision_reason"]  # k = 6
