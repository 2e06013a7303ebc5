"""Claim verdicts on small synthetic inputs: every check reaches every verdict it can give."""

import math

import pandas as pd
import pytest

from trialsynth.claims import (
    CONTRADICTED,
    INSUFFICIENT,
    MIXED,
    SUPPORTED,
    Claim,
    claims_from_records,
    classify_effect,
    combine,
    evaluate_claim,
    evaluate_claims,
    evidence_pattern,
    summarise_article,
)
from trialsynth.claims.effects import HARM, IMPORTANT_BENEFIT, NO_CLEAR_DIFFERENCE, NO_DATA, SMALL_BENEFIT, UNSIZED_BENEFIT
from trialsynth.errors import ArgumentError, TrialDataError


def pooled_frame(rows):
    """rows: (comparator, window, estimate, ci_low, ci_high) for pain SMD."""
    return pd.DataFrame(
        [
            {"outcome": "pain", "comparator_class": c, "window": w, "k": 3, "estimate": e, "ci_low": lo, "ci_high": hi,
             "pi_low": lo - 0.2, "pi_high": hi + 0.2, "tau2": 0.01, "i2": 25.0, "measure": "SMD"}
            for c, w, e, lo, hi in rows
        ]
    )


def claim(check, **kw):
    base = {"id": "c1", "article_text": "words", "check": check}
    base.update(kw)
    return claims_from_records([base])[0]


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize(
    "est, lo, hi, measure, expected",
    [
        (-0.8, -1.1, -0.5, "SMD", IMPORTANT_BENEFIT),
        (-0.3, -0.5, -0.1, "SMD", SMALL_BENEFIT),
        (-0.2, -0.5, 0.1, "SMD", NO_CLEAR_DIFFERENCE),
        (0.4, 0.1, 0.7, "SMD", HARM),
        (0.7, 0.2, 1.2, "RR", IMPORTANT_BENEFIT),  # log RR: positive favours acupuncture
        (-0.4, -0.6, -0.2, "RR", HARM),
        (float("nan"), -1, 1, "SMD", NO_DATA),
        (None, None, None, "SMD", NO_DATA),
    ],
)
def test_classify_effect(est, lo, hi, measure, expected):
    assert classify_effect(est, lo, hi, mid=0.5, measure=measure).label == expected


def test_classify_effect_mid_boundary_and_errors():
    assert classify_effect(-0.5, -0.7, -0.3, mid=0.5).label == IMPORTANT_BENEFIT
    assert classify_effect(-0.49, -0.7, -0.3, mid=0.5).label == SMALL_BENEFIT
    with pytest.raises(ArgumentError, match="mid"):
        classify_effect(-0.5, -0.7, -0.3, mid=0)
    with pytest.raises(ArgumentError, match="ci_low"):
        classify_effect(-0.5, -0.3, -0.7)


def test_combine():
    assert combine(["agrees", "agrees", "untested"]) == SUPPORTED
    assert combine(["disagrees"]) == CONTRADICTED
    assert combine(["agrees", "disagrees"]) == MIXED
    assert combine(["untested"]) == INSUFFICIENT
    assert combine([]) == INSUFFICIENT


# ---------------------------------------------------------------- mixed results


def test_mixed_results_supported_explains_comparator_and_durability():
    pooled = pooled_frame([
        ("no_treatment", "immediate", -0.9, -1.2, -0.6),
        ("sham", "immediate", -0.25, -0.4, -0.1),
        ("sham", "long", -0.05, -0.2, 0.1),
    ])
    v = evaluate_claim(claim("mixed_results", outcome="pain"), pooled=pooled)
    assert v.verdict == SUPPORTED
    assert "important benefit for acupuncture vs no treatment / waiting list" in v.reason
    assert "small or unclear effect for acupuncture vs sham" in v.reason
    assert "benefit seen early is not clear later" in v.reason
    assert "SMD -0.90 (-1.20 to -0.60)" in v.reason  # numbers are cited


def test_mixed_results_contradicted_when_consistent():
    pooled = pooled_frame([("sham", "immediate", -0.8, -1.0, -0.6), ("usual_care", "short", -0.9, -1.2, -0.6)])
    v = evaluate_claim(claim("mixed_results"), pooled=pooled)
    assert v.verdict == CONTRADICTED
    assert "uniformly positive" in v.reason
    null = pooled_frame([("sham", "immediate", -0.1, -0.3, 0.1), ("usual_care", "short", 0.05, -0.2, 0.3)])
    v = evaluate_claim(claim("mixed_results"), pooled=null)
    assert v.verdict == CONTRADICTED and "uniformly null" in v.reason


def test_mixed_results_insufficient_with_one_estimate_or_none():
    pooled = pooled_frame([("sham", "immediate", -0.8, -1.0, -0.6)])
    assert evaluate_claim(claim("mixed_results"), pooled=pooled).verdict == INSUFFICIENT
    assert evaluate_claim(claim("mixed_results"), pooled=None).verdict == INSUFFICIENT


def test_mixed_results_counts_published_reviews():
    pooled = pooled_frame([("sham", "immediate", -0.8, -1.0, -0.6)])
    reviews = pd.DataFrame([{"review_id": "Xiang2019", "outcome": "pain", "comparator_class": "sham", "window": "immediate",
                             "measure": "SMD", "estimate": -0.40, "ci_low": -0.54, "ci_high": -0.25}])
    v = evaluate_claim(claim("mixed_results"), pooled=pooled, reviews=reviews)
    assert v.verdict == SUPPORTED
    assert "Xiang2019" in v.reason and "-0.40" in v.reason


# ---------------------------------------------------------------- durability


def test_durability_supported_contradicted_mixed_insufficient():
    temporary = pooled_frame([("sham", "immediate", -0.3, -0.5, -0.1), ("sham", "long", -0.05, -0.2, 0.1)])
    lasting = pooled_frame([("sham", "immediate", -0.3, -0.5, -0.1), ("sham", "long", -0.3, -0.5, -0.1)])
    assert evaluate_claim(claim("durability"), pooled=temporary).verdict == SUPPORTED
    v = evaluate_claim(claim("durability"), pooled=lasting)
    assert v.verdict == CONTRADICTED and "persists" in v.reason
    both = pd.concat([temporary, lasting.assign(comparator_class="usual_care")])
    v = evaluate_claim(claim("durability"), pooled=both)
    assert v.verdict == MIXED
    assert "vs sham: benefit early" in v.reason and "vs usual care: the benefit persists" in v.reason
    only_early = pooled_frame([("sham", "immediate", -0.3, -0.5, -0.1)])
    v = evaluate_claim(claim("durability"), pooled=only_early)
    assert v.verdict == INSUFFICIENT and "no late estimate" in v.reason


def test_durability_no_early_benefit_contradicts():
    pooled = pooled_frame([("sham", "short", -0.1, -0.3, 0.1), ("sham", "long", 0.0, -0.2, 0.2)])
    v = evaluate_claim(claim("durability"), pooled=pooled)
    assert v.verdict == CONTRADICTED and "no clear early benefit" in v.reason


# ---------------------------------------------------------------- single trial


def trial_rows(short_p=0.036, short_q="=", late_p=0.05, late_q=">"):
    return pd.DataFrame([
        {"study_id": "Liu2023", "outcome": "pain", "comparator_class": "no_treatment", "window": "short", "timepoint_weeks": 4,
         "weeks_after_treatment": 0, "p_value": short_p, "p_qualifier": short_q, "direction": "favours_intervention", "n1": 11, "n2": 11},
        {"study_id": "Liu2023", "outcome": "pain", "comparator_class": "no_treatment", "window": "intermediate", "timepoint_weeks": 8,
         "weeks_after_treatment": 4, "p_value": late_p, "p_qualifier": late_q, "direction": "none", "n1": 11, "n2": 11},
    ])


def test_trial_result_from_p_values():
    c = claim("trial_result", study_id="Liu2023", outcome="pain", article_weeks_after_treatment=8,
              expected={"short": "benefit", "intermediate": "no_difference"})
    v = evaluate_claim(c, trials=trial_rows())
    assert v.verdict == SUPPORTED
    assert "p = 0.036" in v.reason and "p > 0.05" in v.reason
    assert "Timing sub-claim open: the article says 8 weeks after treatment stopped" in v.reason
    assert "later assessment is 4 week(s) after the last session" in v.reason
    assert "11 vs 11" in v.reason
    # short-term p not significant -> one part disagrees -> mixed
    assert evaluate_claim(c, trials=trial_rows(short_p=0.2)).verdict == MIXED
    # both parts against the claim
    rows = trial_rows(short_p=0.2)
    rows.loc[1, ["p_value", "p_qualifier", "direction"]] = [0.01, "<", "favours_intervention"]
    assert evaluate_claim(c, trials=rows).verdict == CONTRADICTED
    # the study is absent
    assert evaluate_claim(c, trials=trial_rows().assign(study_id="Other")).verdict == INSUFFICIENT


def test_trial_result_from_effect_sizes_by_phase():
    rows = pd.DataFrame([
        {"study_id": "S", "outcome": "pain", "comparator_class": "sham", "window": "immediate", "timepoint_weeks": 8,
         "treatment_weeks": 8, "yi": -0.6, "vi": 0.01, "measure": "SMD"},
        {"study_id": "S", "outcome": "pain", "comparator_class": "sham", "window": "long", "timepoint_weeks": 52,
         "treatment_weeks": 8, "yi": -0.6, "vi": 0.01, "measure": "SMD"},
    ])
    v = evaluate_claim(claim("trial_result", study_id="S"), trials=rows)
    assert v.verdict == MIXED  # benefit at end of treatment (agrees), benefit 44 weeks later (disagrees)
    assert "SMD -0.60 (-0.80 to -0.40)" in v.reason
    assert "end of treatment, week 8, 0 weeks after the last session" in v.reason
    assert "after treatment, week 52, 44 weeks after" in v.reason
    rows.loc[1, "yi"] = -0.05
    assert evaluate_claim(claim("trial_result", study_id="S"), trials=rows).verdict == SUPPORTED


def test_trial_result_without_study_id_is_insufficient():
    assert evaluate_claim(claim("trial_result"), trials=trial_rows()).verdict == INSUFFICIENT


# ---------------------------------------------------------------- pooled effect with certainty


def sof(certainty):
    return pd.DataFrame([{"outcome": "pain", "comparator_class": "sham", "window": "immediate", "certainty": certainty}])


def test_pooled_effect_verdicts():
    c = claim("pooled_effect", outcome="pain", comparator_classes=["sham"], windows=["immediate"], claimed_certainty="moderate")
    benefit = pooled_frame([("sham", "immediate", -0.3, -0.5, -0.1)])
    null = pooled_frame([("sham", "immediate", -0.1, -0.3, 0.1)])
    v = evaluate_claim(c, pooled=benefit, sof=sof("moderate"))
    assert v.verdict == SUPPORTED and "below the MID" in v.reason and "GRADE certainty moderate" in v.reason
    v = evaluate_claim(c, pooled=benefit, sof=sof("low"))
    assert v.verdict == CONTRADICTED and "claimed: moderate" in v.reason
    assert evaluate_claim(c, pooled=null, sof=sof("moderate")).verdict == CONTRADICTED
    c2 = claim("pooled_effect", outcome="pain", windows=["immediate"])
    both = pd.concat([benefit, null.assign(comparator_class="usual_care")])
    assert evaluate_claim(c2, pooled=both).verdict == MIXED
    assert evaluate_claim(c, pooled=pooled_frame([("sham", "long", -0.3, -0.5, -0.1)])).verdict == INSUFFICIENT


def test_pooled_effect_imprecise_null_neither_supports_nor_contradicts():
    # CI -0.70 to 0.02 holds both 0 and the MID 0.5: too imprecise to refute a claimed benefit
    c = claim("pooled_effect", outcome="pain", comparator_classes=["sham"], windows=["immediate"])
    wide = pooled_frame([("sham", "immediate", -0.34, -0.70, 0.02)])
    v = evaluate_claim(c, pooled=wide)
    assert v.verdict == INSUFFICIENT and "too imprecise" in v.reason
    # a null whose CI excludes the MID (-0.44 to 0.12) does refute an important benefit
    narrow = pooled_frame([("sham", "immediate", -0.16, -0.44, 0.12)])
    assert evaluate_claim(c, pooled=narrow).verdict == CONTRADICTED
    # with a clear benefit elsewhere the imprecise one is ignored, not counted against
    both = pd.concat([wide, pooled_frame([("sham", "immediate", -0.6, -0.9, -0.3)]).assign(window="immediate")])
    assert evaluate_claim(c, pooled=both).verdict == SUPPORTED


# ---------------------------------------------------------------- published review


REVIEWS = pd.DataFrame([
    {"review_id": "Xiang2019", "outcome": "pain", "comparator_class": "sham", "timepoint_label": "immediate",
     "measure": "SMD", "estimate": -0.40, "ci_low": -0.54, "ci_high": -0.25, "k": 9, "i2": 7},
    {"review_id": "Xiang2019", "outcome": "pain", "comparator_class": "sham", "timepoint_label": "follow-up",
     "measure": "SMD", "estimate": -0.46, "ci_low": -0.82, "ci_high": -0.09, "i2": 67},
    {"review_id": "Xiang2019", "outcome": "function", "comparator_class": "sham", "timepoint_label": "follow-up",
     "measure": "MD", "estimate": -0.98, "ci_low": -3.36, "ci_high": 1.40, "i2": 87},
])


def test_review_result_verdicts():
    c = claim("review_result", review_id="Xiang2019", outcome="pain", review_timepoints=["follow-up"],
              unverifiable=["1-3 sessions a week"])
    v = evaluate_claim(c, reviews=REVIEWS)
    assert v.verdict == SUPPORTED
    assert "-0.46" in v.reason and "1-3 sessions a week" in v.reason and "only as far as the checkable part" in v.reason
    c_fn = claim("review_result", review_id="Xiang2019", outcome="function", review_timepoints=["follow-up"])
    assert evaluate_claim(c_fn, reviews=REVIEWS).verdict == CONTRADICTED
    sub = pooled_frame([("sham", "short", -0.1, -0.3, 0.1)])
    c_sub = claim("review_result", review_id="Xiang2019", outcome="pain", review_timepoints=["follow-up"], windows=["short"])
    v = evaluate_claim(c_sub, reviews=REVIEWS, subset_pooled=sub)
    assert v.verdict == MIXED and "our re-pooling" in v.reason
    assert evaluate_claim(claim("review_result", review_id="Nobody"), reviews=REVIEWS).verdict == INSUFFICIENT


def test_reviews_alias_columns():
    raw = REVIEWS.rename(columns={"review_id": "source_id", "estimate": "effect", "ci_low": "effect_ci_low", "ci_high": "effect_ci_high"})
    c = claim("review_result", review_id="Xiang2019", outcome="pain", review_timepoints=["follow-up"])
    assert evaluate_claim(c, reviews=raw).verdict == SUPPORTED


# ---------------------------------------------------------------- certainty


def test_certainty_verdicts():
    sof_df = pd.DataFrame([
        {"condition": "chronic_lbp", "outcome": "pain", "comparator_class": "sham", "window": "immediate", "certainty": "moderate"},
        {"condition": "chronic_lbp", "outcome": "pain", "comparator_class": "usual_care", "window": "short", "certainty": "low"},
        {"condition": "acute_lbp", "outcome": "pain", "comparator_class": "sham", "window": "immediate", "certainty": "very low"},
    ])
    c = claim("certainty", outcome="pain", claimed_certainty={"chronic_lbp": ["low", "moderate"], "acute_lbp": "low"})
    v = evaluate_claim(c, sof=sof_df)
    assert v.verdict == MIXED  # chronic agrees, acute is very low
    assert "acute_lbp: claimed low; found" in v.reason and "very low" in v.reason
    assert evaluate_claim(c, sof=sof_df[sof_df.condition == "chronic_lbp"]).verdict == SUPPORTED
    assert evaluate_claim(c, sof=sof_df[sof_df.condition == "acute_lbp"]).verdict == CONTRADICTED
    assert evaluate_claim(c, sof=None).verdict == INSUFFICIENT
    assert evaluate_claim(claim("certainty"), sof=sof_df).verdict == INSUFFICIENT
    rev = pd.DataFrame([{"review_id": "Mu2020", "condition": "acute_lbp", "outcome": "pain", "certainty": "low", "estimate": -1, "ci_low": -2, "ci_high": 0}])
    assert evaluate_claim(c, sof=sof_df[sof_df.condition == "chronic_lbp"], reviews=rev).verdict == SUPPORTED


# ---------------------------------------------------------------- documentary


def test_documentary_verdicts():
    art = {"visits_in_90_days": 12, "additional_if_improving": 8, "max_per_year": 20}
    ok = claim("documentary", article_values=art, source_values=dict(art), source="CMS NCD 30.3.3", quote_ids="Q70")
    v = evaluate_claim(ok)
    assert v.verdict == SUPPORTED and "CMS NCD 30.3.3" in v.reason and "Q70" in v.reason
    bad = claim("documentary", article_values=art, source_values={**art, "max_per_year": 24})
    v = evaluate_claim(bad)
    assert v.verdict == MIXED and "max_per_year: article 20, source 24 (differs)" in v.reason
    assert evaluate_claim(claim("documentary", article_values={"a": 1}, source_values={"a": 2})).verdict == CONTRADICTED
    assert evaluate_claim(claim("documentary", article_values=art)).verdict == INSUFFICIENT


# ---------------------------------------------------------------- records and the table


def test_records_aliases_and_inference():
    recs = [
        {"claim_id": "a", "text": "mixed", "kind": "mixed", "comparators": "sham; usual_care", "window": "immediate"},
        {"id": "b", "article_words": ["two", "parts"], "study_id": "Liu2023"},
        {"id": "f", "quote": "medicare", "article_values": {"x": 1}, "source_values": {"x": 1}},
        {"id": "z", "text": "unknown kind"},
    ]
    cs = claims_from_records({"claims": recs})
    assert [c.check for c in cs] == ["mixed_results", "trial_result", "documentary", ""]
    assert cs[0].comparator_classes == ("sham", "usual_care") and cs[0].windows == ("immediate",)
    assert cs[1].text == "two parts"
    table = evaluate_claims(cs, pooled=None, trials=trial_rows())
    assert list(table["claim_id"]) == ["a", "b", "f", "z"]
    assert table.set_index("claim_id").loc["z", "verdict"] == INSUFFICIENT
    assert table.set_index("claim_id").loc["f", "verdict"] == SUPPORTED


def test_records_errors_name_the_problem(tmp_path):
    with pytest.raises(TrialDataError, match="duplicate claim id"):
        claims_from_records([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    with pytest.raises(TrialDataError, match="article's words are missing"):
        claims_from_records([{"id": "a"}])
    with pytest.raises(TrialDataError, match="claims"):
        claims_from_records({"other": []})
    from trialsynth.claims import load_claims
    with pytest.raises(TrialDataError, match="not found"):
        load_claims(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims: [a: b: c", encoding="utf-8")
    with pytest.raises(TrialDataError, match="not valid YAML"):
        load_claims(bad)
    good = tmp_path / "good.yaml"
    good.write_text("claims:\n  - id: x\n    article_text: hello\n    check: durability\n", encoding="utf-8")
    assert load_claims(good)[0].check == "durability"


def test_unsafe_yaml_is_refused(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("claims: !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    from trialsynth.claims import load_claims
    with pytest.raises(TrialDataError):
        load_claims(p)


def test_evidence_pattern_and_article_summary():
    pooled = pooled_frame([
        ("no_treatment", "immediate", -0.9, -1.2, -0.6),
        ("sham", "immediate", -0.25, -0.4, -0.1),
        ("sham", "long", -0.05, -0.2, 0.1),
    ])
    pat = evidence_pattern(pooled).set_index("comparator_class")
    assert pat.loc["sham", "immediate"] == SMALL_BENEFIT and pat.loc["sham", "long"] == NO_CLEAR_DIFFERENCE
    assert pat.loc["no_treatment", "long"] == NO_DATA
    verdicts = pd.DataFrame({"verdict": [SUPPORTED, MIXED]})
    text = summarise_article(verdicts, pooled, article_summary="Acupuncture can temporarily alleviate back pain.")
    assert "1 supported, 1 mixed" in text
    assert "advantage over sham needling is small or unclear" in text
    assert "no benefit is clear beyond the short term" in text
    assert "no pooled pain estimate" in summarise_article(verdicts, None)


def test_mid_from_claim_record_changes_class():
    pooled = pooled_frame([("sham", "immediate", -0.3, -0.5, -0.1), ("no_treatment", "immediate", -0.35, -0.5, -0.2)])
    assert evaluate_claim(claim("mixed_results"), pooled=pooled).verdict == SUPPORTED  # benefits below the MID 0.5
    assert evaluate_claim(claim("mixed_results", mid=0.2), pooled=pooled).verdict == CONTRADICTED  # both important at 0.2
    with pytest.raises(ArgumentError, match="mid"):
        evaluate_claim(claim("mixed_results", mid=-1), pooled=pooled)
    assert not math.isnan(pooled["estimate"].iloc[0])


# ---------------------------------------------------------------- the evidence base's record format


EVIDENCE_STYLE = {"claims": [
    {"id": "C2", "article_text": "trial words", "check": "trial_result",
     "concerns": {"outcome": "pain", "comparator_class": ["no_treatment"], "study": "Liu2023", "comparison_id": "trp"},
     "decision": {"rule": {
         "supported": {"all": [{"row": {"weeks_after_treatment": 0}, "p_below": 0.05}, {"row": {"weeks_after_treatment_min": 1}}]},
         "timing": {"row": {"weeks_after_treatment_min": 1}, "weeks_after_treatment_at_least": 8}}}},
    {"id": "C3", "article_text": "moderate evidence", "check": "certainty",
     "concerns": {"outcome": "pain", "comparator_class": ["sham"], "windows": ["immediate"]},
     "decision": {"rule": {"supported": {"cell": {"window": "immediate"}, "benefit": True, "certainty_in": ["moderate", "high"]}}}},
    {"id": "C4", "article_text": "review", "check": "durability",
     "concerns": {"outcome": "pain", "comparator_class": ["sham"], "windows": ["short", "intermediate"], "sessions_per_week": [1, 3]},
     "decision": {"rule": {"supported": {"all": [{"cell": {"review_id": "Xiang2019", "window_in": ["short", "intermediate"]}, "benefit": True}]}}}},
    {"id": "C6", "article_text": "medicare", "check": "source_statement",
     "decision": {"rule": {"supported": {"all": [{"quote": "CMS#Q1", "contains": "Up to 12 visits in 90 days"},
                                                 {"quote": "CMS#Q2", "contains": "additional 8 sessions"}]}}}},
    {"id": "C5", "article_text": ["low to moderate", "low for acute"], "check": "source_statement",
     "decision": {"rule": {"supported": {"all": [{"quote": "NCCIH#Q1", "contains": "low- or moderate-quality evidence"}]},
                           "cross_check": {"cells": {"condition": "chronic_lbp"}, "all_certainty_in": ["low", "moderate"]}}}},
]}


def test_evidence_style_records_map_onto_checks():
    cs = {c.id: c for c in claims_from_records(EVIDENCE_STYLE)}
    assert cs["C2"].check == "trial_result" and cs["C2"].params["study_id"] == "Liu2023"
    assert cs["C2"].params["article_weeks_after_treatment"] == 8 and cs["C2"].comparator_classes == ("no_treatment",)
    assert cs["C3"].check == "pooled_effect" and cs["C3"].params["claimed_certainty"] == ["moderate", "high"]
    assert cs["C4"].check == "review_result" and cs["C4"].params["review_id"] == "Xiang2019"
    assert cs["C4"].params["require_review"] is True and cs["C4"].params["sessions_per_week"] == [1, 3]
    assert cs["C6"].check == "source_statement" and len(cs["C6"].params["statements"]) == 2
    assert cs["C5"].text == "low to moderate low for acute"


def test_source_statement_verdicts():
    cs = {c.id: c for c in claims_from_records(EVIDENCE_STYLE)}
    quotes = {"CMS#Q1": "Up to 12 visits in 90 days are covered", "CMS#Q2": "An additional 8 sessions will be covered"}
    v = evaluate_claim(cs["C6"], quotes=quotes)
    assert v.verdict == SUPPORTED and 'CMS#Q2 prints "additional 8 sessions"' in v.reason
    v = evaluate_claim(cs["C6"], quotes={**quotes, "CMS#Q2": "An additional 6 sessions"})
    assert v.verdict == MIXED and "does not print" in v.reason
    assert evaluate_claim(cs["C6"], quotes={}).verdict == INSUFFICIENT
    nccih = {"NCCIH#Q1": "There\u2019s low- or moderate-quality evidence that ... acupuncture"}
    rev = pd.DataFrame([{"review_id": "Mu2020", "comparison": "usual_care", "outcome": "pain", "condition": "chronic_lbp",
                         "measure": "MD", "estimate": -10.26, "ci_low": -17.11, "ci_high": -3.4, "certainty": "low"}])
    v = evaluate_claim(cs["C5"], quotes=nccih, reviews=rev)
    assert v.verdict == SUPPORTED and "Mu2020 pain vs usual_care: low" in v.reason
    v = evaluate_claim(cs["C5"], quotes=nccih, reviews=rev.assign(certainty="high"))
    assert v.verdict == MIXED


def test_pooled_effect_prefers_published_certainty():
    cs = {c.id: c for c in claims_from_records(EVIDENCE_STYLE)}
    ours = pooled_frame([("sham", "immediate", -0.3, -0.5, -0.1)])
    # no published row: our draft certainty decides
    assert evaluate_claim(cs["C3"], pooled=ours, sof=sof("low")).verdict == CONTRADICTED
    assert evaluate_claim(cs["C3"], pooled=ours, sof=sof("moderate")).verdict == SUPPORTED
    v = evaluate_claim(cs["C3"], pooled=ours, sof=None)
    assert v.verdict == INSUFFICIENT and "no certainty rating" in v.reason
    pub = pd.DataFrame([{"review_id": "Xiang2019", "comparison": "sham", "outcome": "pain", "window": "immediate",
                         "measure": "SMD", "estimate": -0.40, "ci_low": -0.54, "ci_high": -0.25, "certainty": "moderate"}])
    v = evaluate_claim(cs["C3"], pooled=ours, sof=sof("moderate"), reviews=pub)
    assert v.verdict == SUPPORTED and "published Xiang2019" in v.reason


def test_review_required_for_a_claim_about_a_review():
    cs = {c.id: c for c in claims_from_records(EVIDENCE_STYLE)}
    benefit = pooled_frame([("sham", "short", -0.3, -0.5, -0.1)])
    null = pooled_frame([("sham", "short", -0.1, -0.3, 0.1)])
    v = evaluate_claim(cs["C4"], reviews=None, subset_pooled=benefit)
    assert v.verdict == INSUFFICIENT and "cannot confirm" in v.reason
    assert evaluate_claim(cs["C4"], reviews=None, subset_pooled=null).verdict == CONTRADICTED
    pub = pd.DataFrame([{"review_id": "Xiang2019", "comparison": "sham", "outcome": "pain", "window": "short",
                         "measure": "SMD", "estimate": -0.46, "ci_low": -0.82, "ci_high": -0.09}])
    assert evaluate_claim(cs["C4"], reviews=pub, subset_pooled=benefit).verdict == SUPPORTED


def test_mean_difference_rows_use_the_scale_mid_and_orientation():
    from trialsynth.claims.verdicts import _classify_row, row_mid
    # Mu 2020 immediate pain vs usual care, VAS 0-100 (evidence/Mu2020.yaml Q1)
    md = {"outcome": "pain", "measure": "MD", "estimate": -10.26, "ci_low": -17.11, "ci_high": -3.4,
          "scale": "VAS", "scale_min": 0, "scale_max": 100}
    assert row_mid(md, 0.5) == 15.0
    assert _classify_row(md, 0.5) == SMALL_BENEFIT  # below the 15-point MID, although |MD| > 0.5
    assert _classify_row({**md, "estimate": -20.0, "ci_low": -25.0}, 0.5) == IMPORTANT_BENEFIT
    # the same VAS printed 0-10: the MID is 1.5, so -1.75 is important there
    vas10 = {**md, "scale_max": 10, "estimate": -1.75, "ci_low": -2.39, "ci_high": -1.12}
    assert row_mid(vas10, 0.5) == pytest.approx(1.5)
    assert _classify_row(vas10, 0.5) == IMPORTANT_BENEFIT
    # a range the source does not print: the size is never guessed
    unknown = {"outcome": "pain", "measure": "MD", "estimate": -1.19, "ci_low": -2.17, "ci_high": -0.21}
    assert row_mid(unknown, 0.5) is None
    assert _classify_row(unknown, 0.5) == UNSIZED_BENEFIT
    assert _classify_row({**unknown, "scale": "VAS"}, 0.5) == UNSIZED_BENEFIT
    assert _classify_row({**unknown, "ci_high": 0.3}, 0.5) == NO_CLEAR_DIFFERENCE
    # instruments with an absolute MID need no range (RMDQ 5 points, NRS 2 of 10)
    assert row_mid({"outcome": "function", "measure": "MD", "scale": "RMDQ"}, 0.5) == 5.0
    assert row_mid({"outcome": "pain", "measure": "MD", "scale": "NRS"}, 0.5) == 2.0
    # HFAQ 0-100, higher is better: flipped to favour acupuncture, function MID 10 of 100
    hfaq = {"outcome": "function", "measure": "MD", "estimate": 9.78, "ci_low": 3.54, "ci_high": 16.02,
            "higher_is_better": True, "scale": "HFAQ", "scale_min": 0, "scale_max": 100}
    assert row_mid(hfaq, 0.5) == 10.0
    assert _classify_row(hfaq, 0.5) == SMALL_BENEFIT
    assert row_mid({"measure": "SMD", "outcome": "pain"}, 0.5) == 0.5


def test_unknown_mid_in_classify_effect():
    c = classify_effect(-1.2, -2.0, -0.4, mid=None, measure="MD")
    assert c.label == UNSIZED_BENEFIT and c.is_benefit and math.isnan(c.mid)
    assert classify_effect(-1.2, -2.0, 0.4, mid=None, measure="MD").label == NO_CLEAR_DIFFERENCE
    assert classify_effect(1.2, 0.4, 2.0, mid=None, measure="MD").label == HARM
    with pytest.raises(ArgumentError, match="positive number or None"):
        classify_effect(-1.2, -2.0, -0.4, mid=0, measure="MD")


def test_mixed_results_with_benefits_of_unknown_size():
    c = claim("mixed_results")
    pub = pd.DataFrame([
        {"review_id": "A", "comparison": "no_treatment", "outcome": "pain", "window": "short", "measure": "MD",
         "estimate": -1.19, "ci_low": -2.17, "ci_high": -0.21},
        {"review_id": "B", "comparison": "sham", "outcome": "pain", "window": "short", "measure": "MD",
         "estimate": -1.0, "ci_low": -2.5, "ci_high": 0.5},
    ])
    v = evaluate_claim(c, pooled=None, reviews=pub)
    assert v.verdict == SUPPORTED and "1 benefit (size unknown)" in v.reason
    both = pub.assign(ci_high=[-0.21, -0.1])
    v = evaluate_claim(c, pooled=None, reviews=both)
    assert v.verdict == CONTRADICTED and "of unknown size" in v.reason


def test_shipped_claims_file_loads_with_a_known_check_for_every_claim():
    from pathlib import Path

    from trialsynth.claims import load_claims
    from trialsynth.claims.records import load_quotes
    from trialsynth.claims.verdicts import CHECKS

    root = Path(__file__).resolve().parents[2]
    claims = load_claims(root / "evidence" / "claims.yaml")
    assert len(claims) >= 6
    assert all(c.check in CHECKS for c in claims), {c.id: c.check for c in claims}
    quotes = load_quotes(root / "evidence")
    for c in claims:
        for st in c.params.get("statements", []):
            assert st["quote"] in quotes, st["quote"]
