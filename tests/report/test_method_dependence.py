"""Issue 12, defect 4: a conclusion that rests on one method's interval is flagged, and the flag
reaches GRADE imprecision, the verdicts and the front page.

With two trials whose estimates agree (Q close to 0), Hartung-Knapp-Sidik-Jonkman scales the
variance by s2w << 1 and gives an interval far narrower than the Wald one; the never-narrower
variant (Knapp & Hartung 2003) and RevMan 5's DerSimonian-Laird + z do not. This is the pattern
of pain vs sham at 3-12 months in the shipped data (Haake 2007 + Brinkhaus 2006).
"""

import pandas as pd
import pytest

from trialsynth.claims import evaluate_claims
from trialsynth.claims.records import claim_from_record
from trialsynth.pooling.profiles import PROFILES, SENSITIVITY_PROFILES
from trialsynth.report.stages import Effects, classify_cells, grade_cells, pool_cells


def effects_two_agreeing_trials() -> Effects:
    rows = [
        # two trials whose SMDs agree closely: Q ~ 0, HKSJ interval very narrow
        {"study_id": "A", "outcome": "pain", "comparator_class": "sham", "window": "intermediate", "yi": -0.130, "vi": 0.0045,
         "measure": "SMD", "n1": 400, "n2": 400, "rob": ""},
        {"study_id": "B", "outcome": "pain", "comparator_class": "sham", "window": "intermediate", "yi": -0.132, "vi": 0.0120,
         "measure": "SMD", "n1": 150, "n2": 150, "rob": ""},
        # a robust cell: six trials, clearly beneficial under every method
        *[{"study_id": f"S{i}", "outcome": "pain", "comparator_class": "sham", "window": "immediate", "yi": y, "vi": 0.01,
           "measure": "SMD", "n1": 100, "n2": 100, "rob": ""} for i, y in enumerate((-0.5, -0.6, -0.55, -0.7, -0.45, -0.65))],
    ]
    df = pd.DataFrame(rows)
    return Effects(effects=df, selected=df)


def test_shipped_profiles_include_the_never_narrower_variant_and_cochrane_stays_revman():
    assert SENSITIVITY_PROFILES == ("cochrane-2025", "cochrane-2025-adhoc", "revman5-legacy")
    assert PROFILES["cochrane-2025"].test == "knha" and PROFILES["cochrane-2025"].method == "REML"  # RevMan 2025
    assert PROFILES["cochrane-2025-adhoc"].test == "adhoc" and PROFILES["cochrane-2025-adhoc"].method == "REML"


def test_two_trial_hksj_cell_is_flagged_and_the_robust_one_is_not():
    pooled = pool_cells(effects_two_agreeing_trials(), "cochrane-2025")
    frame = pooled.frame.set_index("window")
    late = frame.loc["intermediate"]
    assert late["k"] == 2 and late["effect_class"] == "small benefit"
    assert bool(late["conclusion_depends_on_method"]) is True
    assert "no clear difference under cochrane-2025-adhoc" in late["method_classes"]
    assert bool(frame.loc["immediate", "conclusion_depends_on_method"]) is False
    # the refits behind the flag are kept, one row per shipped profile, then the Bayesian analysis (issue 16)
    refit = pooled.refits[("pain", "sham", False, "intermediate")]
    assert list(refit["profile"]) == [*SENSITIVITY_PROFILES, "bayes"]
    hksj, adhoc = refit.set_index("profile").loc[["cochrane-2025", "cochrane-2025-adhoc"], "ci_high"]
    assert hksj < 0 < adhoc  # the plain HKSJ interval excludes 0, the never-narrower one does not


def test_a_profile_outside_the_shipped_set_is_compared_too():
    frame, refits = classify_cells(pool_cells(effects_two_agreeing_trials(), "metafor-default").frame,
                                   pool_cells(effects_two_agreeing_trials(), "metafor-default").results(), "metafor-default")
    assert list(refits[("pain", "sham", False, "intermediate")]["profile"]) == ["metafor-default", *SENSITIVITY_PROFILES, "bayes"]


def test_grade_imprecision_reads_the_flag():
    eff = effects_two_agreeing_trials()
    sof = grade_cells(pool_cells(eff, "cochrane-2025"), eff).sof.set_index("window")
    late, early = sof.loc["intermediate"], sof.loc["immediate"]
    assert late["imprecision"] == "serious" and "the conclusion depends on the method" in late["imprecision_reason"]
    assert "cochrane-2025-adhoc" in late["imprecision_reason"]
    assert "depends on the method" not in early["imprecision_reason"]


def test_verdicts_say_the_late_benefit_is_not_robust():
    eff = effects_two_agreeing_trials()
    pooled = pool_cells(eff, "cochrane-2025")
    mixed = claim_from_record({"id": "C1", "check": "mixed_results", "text": "mixed", "outcome": "pain"})
    durable = claim_from_record({"id": "C2", "check": "durability", "text": "temporary", "outcome": "pain",
                                 "comparators": ["sham"]})
    v = evaluate_claims([mixed, durable], pooled=pooled.frame).set_index("claim_id")
    assert "not robust" in v.loc["C1", "reason"] and "persists" not in v.loc["C1", "reason"]
    assert v.loc["C1", "depends_on_method"] and v.loc["C1", "method_dependent"] == ["Pain: acupuncture vs sham, intermediate term"]
    assert "depend on the method profile" in v.loc["C1", "summary"]
    # the durability claim cannot be judged on a late benefit that only one method sees
    assert v.loc["C2", "verdict"] == "insufficient evidence"
    assert "depends on the method" in v.loc["C2", "reason"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_pools(profile):
    frame = pool_cells(effects_two_agreeing_trials(), profile).frame
    assert frame["conclusion_depends_on_method"].dtype == bool and len(frame) == 2


def test_the_bayesian_row_counts_in_the_flag_and_is_reported_beside_the_frequentist_one():
    """Issue 16: every pooled cell with k >= 2 carries its Bayesian row (default prior for its
    measure) and the method-dependence flag counts it."""
    from trialsynth.report.stages import BAYES_POOLED_COLUMNS, bayes_class_differences

    pooled = pool_cells(effects_two_agreeing_trials(), "cochrane-2025")
    frame = pooled.frame.set_index("window")
    for col in BAYES_POOLED_COLUMNS:
        assert col in frame.columns
    late = frame.loc["intermediate"]
    # two agreeing trials: HKSJ says small benefit; the Bayesian answer, with tau's uncertainty, does not
    assert late["bayes_class"] == "no clear difference" and late["bayes_prior"].startswith("Rhodes 2015")
    assert "no clear difference with Bayesian pooling (CrI" in late["method_classes"]
    assert 0.5 < late["p_benefit"] < 1 and late["p_beyond_mid"] < late["p_benefit"]
    assert "essentially its prior" in late["bayes_note"]
    early = frame.loc["immediate"]
    assert early["bayes_class"] == early["effect_class"] == "important benefit"
    assert not early["conclusion_depends_on_method"]
    differ = bayes_class_differences(pooled.frame)
    assert len(differ) == 1 and differ[0].startswith("Pain: acupuncture vs sham, intermediate term (k = 2): small benefit under cochrane-2025")
    assert any(n.startswith("Bayesian random-effects pooling") and "1 cell(s)" in n for n in pooled.notes)
    assert set(pooled.bayes["prior_role"]) == {"default", "sensitivity"}
