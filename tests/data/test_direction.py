"""Reading the direction a quote states (trialsynth.data.direction), phrase by phrase.

Each phrasing is checked against a sham-controlled pain row (lower is better) unless the case
names another outcome; ``None`` means the sentence must give no statement at all (negations,
equality, hedges, within-group changes, another comparison or outcome), so that an unclear
sentence never produces a false sign error.
"""

from decimal import Decimal

import pytest

from trialsynth.data import direction as D

SHAM_PAIN = {"comparator_class": "sham", "comparison_id": "acu_vs_sham", "intervention_label": "acupuncture",
             "comparator_label": "sham acupuncture", "outcome": "pain", "higher_is_better": "false"}
FUNCTION = {**SHAM_PAIN, "outcome": "function", "higher_is_better": "true"}
RESPONDER = {**SHAM_PAIN, "outcome": "responder", "higher_is_better": "true"}
USUAL = {"comparator_class": "usual_care", "comparison_id": "acu_plus_rc_vs_rc",
         "intervention_label": "acupuncture plus routine care", "comparator_label": "routine care",
         "outcome": "function", "higher_is_better": "true"}

I, C = D.INTERVENTION, D.CONTROL

CASES = [
    # --- favours acupuncture
    ("Pain improved more in the acupuncture group than in the sham group.", SHAM_PAIN, I),
    ("Acupuncture was superior to sham acupuncture for pain.", SHAM_PAIN, I),
    ("The results favoured acupuncture.", SHAM_PAIN, I),
    ("There was a significant difference in favour of the acupuncture group.", SHAM_PAIN, I),
    ("Pain decreased more with acupuncture than with sham.", SHAM_PAIN, I),
    ("There was a greater decrease in pain with acupuncture compared with sham.", SHAM_PAIN, I),
    ("Pain scores were significantly lower in the acupuncture group than in the sham group.", SHAM_PAIN, I),
    ("Acupuncture was more effective than placebo.", SHAM_PAIN, I),
    ("Compared with sham, acupuncture reduced pain more.", SHAM_PAIN, I),
    ("The acupuncture group showed significant improvement as compared with the sham group (P = 0.02).", SHAM_PAIN, I),
    ("VAS decreased by 30.8 mm in the acupuncture group and by 14.9 mm in the sham group.", SHAM_PAIN, I),
    ("Pain decreased by 30.8 and 14.9 mm in the acupuncture and sham groups, respectively.", SHAM_PAIN, I),
    ("Acupuncture patients reported less pain than sham patients.", SHAM_PAIN, I),
    # control named first
    ("The sham group improved less than the acupuncture group.", SHAM_PAIN, I),
    ("The sham group had higher pain scores than the acupuncture group.", SHAM_PAIN, I),
    ("Sham acupuncture was inferior to acupuncture.", SHAM_PAIN, I),
    ("Compared with the control group, the acupuncture group showed greater improvement.", SHAM_PAIN, I),
    ("Controls improved by 2.7 points and the acupuncture group by 12.1 points.", SHAM_PAIN, I),
    # higher is better
    ("Back function improved by 12.1 (SE 0.4) to 74.5 points in the acupuncture group and by 2.7 (SE 0.4) "
     "to 65.1 points among controls (difference=9.4 points (95% confidence interval 8.3, 10.5); p<0.001).", USUAL, I),
    ("HFAQ scores increased more in the acupuncture group than in the routine care group.", USUAL, I),
    ("The proportion of responders was higher in the acupuncture group than in the sham group.", RESPONDER, I),
    ("Function decreased more in the sham group than in the acupuncture group.", FUNCTION, I),
    # --- favours the comparator
    ("Pain improved more in the sham group than in the acupuncture group.", SHAM_PAIN, C),
    ("Sham acupuncture was superior to acupuncture.", SHAM_PAIN, C),
    ("The results favoured sham.", SHAM_PAIN, C),
    ("Acupuncture was less effective than sham.", SHAM_PAIN, C),
    ("Pain decreased less with acupuncture than with sham.", SHAM_PAIN, C),
    ("Pain scores were higher in the acupuncture group compared with the sham group.", SHAM_PAIN, C),
    ("Function decreased more in the acupuncture group than in the control group.", FUNCTION, C),
    ("Back function improved by 2.7 points in the acupuncture group and by 12.1 points among controls.", USUAL, C),
    ("The routine care group improved more than the acupuncture group.", USUAL, C),
    # --- no statement
    ("Pain did not improve more in the acupuncture group than in the sham group.", SHAM_PAIN, None),
    ("Acupuncture was not superior to sham.", SHAM_PAIN, None),
    ("There was no greater decrease in pain with acupuncture.", SHAM_PAIN, None),
    ("Acupuncture failed to reduce pain more than sham.", SHAM_PAIN, None),
    ("Pain improved in both groups.", SHAM_PAIN, None),
    ("There were no significant differences between the groups (p > 0.05).", SHAM_PAIN, None),
    ("Acupuncture was as effective as sham acupuncture.", SHAM_PAIN, None),
    ("Pain was similar in the acupuncture and sham groups.", SHAM_PAIN, None),
    ("Pain decreased in the acupuncture group.", SHAM_PAIN, None),
    ("Pain decreased by 20 mm from baseline in the acupuncture group.", SHAM_PAIN, None),
    ("We hypothesised that acupuncture would be superior to sham.", SHAM_PAIN, None),
    ("The trial tested whether acupuncture reduces pain more than sham.", SHAM_PAIN, None),
    ("The primary outcome will be measured at 30 minutes after treatment.", SHAM_PAIN, None),
    ("Both acupuncture and sham acupuncture were performed at the most painful point on the lower back.",
     SHAM_PAIN, None),
    ("Acupuncture was superior to usual care.", SHAM_PAIN, None),  # another comparison's arm
    ("Function improved more in the sham group than in the acupuncture group.", SHAM_PAIN, None),  # other outcome
    ("Acupuncture influenced the ODI scores more than the control treatment.", FUNCTION, None),
    ("Pain was reduced from 60 to 40 in the acupuncture group and from 62 to 50 in the sham group.", SHAM_PAIN, None),
    ("After treatment, the baclofen, acupuncture and sham groups all had lower VAS scores.", SHAM_PAIN, None),
    ("Sham acupuncture did not differ from acupuncture.", SHAM_PAIN, None),
    ("There is inconsistent evidence that acupuncture is more effective than sham.", SHAM_PAIN, None),
    ("Acupuncture was non-inferior to sham.", SHAM_PAIN, None),
    ("Pain relief was greater with acupuncture in some trials and with sham in others.", SHAM_PAIN, None),
    ("The acupuncture group had higher baseline pain than the sham group.", SHAM_PAIN, None),
    ("Adverse events were more frequent with acupuncture than with sham.", SHAM_PAIN, None),
    ("The dropout rate was higher in the sham group than in the acupuncture group.", SHAM_PAIN, None),
    ("The acupuncture group used fewer analgesics than the sham group.", SHAM_PAIN, None),  # another outcome
    ("The difference between groups was not statistically significant.", SHAM_PAIN, None),
    ("Real and sham acupuncture both reduced pain more than usual care.", SHAM_PAIN, None),
    ("Acupuncture plus routine care led to greater improvements in function than routine care alone.", USUAL, I),
    ("Patients receiving acupuncture reported significantly less pain than those receiving sham.", SHAM_PAIN, I),
    ("There was a trend toward greater improvement with acupuncture compared with sham (p = 0.08).", SHAM_PAIN, I),
    ("Improvements in pain were greater in the acupuncture group at 8 weeks but not at 26 weeks.", SHAM_PAIN, I),
]


@pytest.mark.parametrize("text, row, expected", CASES, ids=[c[0][:60] for c in CASES])
def test_phrasing(text, row, expected):
    arms = D.arm_terms(row)
    found = D.stated_directions(text, arms, higher_is_better=row["higher_is_better"] == "true",
                                outcome=row["outcome"])
    sides = {s.favours for s in found}
    if expected is None:
        assert not found, f"read a direction from a sentence that states none: {found}"
    else:
        assert sides == {expected}, found


def test_clauses_are_read_apart():
    text = ("Acupuncture improved pain more than sham, whereas sham improved function more than acupuncture.")
    pain = D.stated_directions(text, D.arm_terms(SHAM_PAIN), higher_is_better=False, outcome="pain")
    function = D.stated_directions(text, D.arm_terms(FUNCTION), higher_is_better=True, outcome="function")
    assert [s.favours for s in pain] == [I]
    assert [s.favours for s in function] == [C]


def test_a_statement_about_another_time_point_is_not_applied():
    quote = "At 8 weeks, pain improved more in the acupuncture group than in the sham group; at 52 weeks there was no difference."
    row = {**SHAM_PAIN, "data_shape": "contrast", "effect_measure": "MD", "timepoint_weeks": "52",
           "treatment_weeks": "8", "effect": "2.0", "effect_ci_low": "-3.0", "effect_ci_high": "7.0"}
    assert _check(row, {"Q1": quote}) == []  # the 52-week row favours sham: not what the quote is about
    assert len(_check({**row, "timepoint_weeks": "8"}, {"Q1": quote})) == 1
    (s,) = D.stated_directions(quote, D.arm_terms(SHAM_PAIN), higher_is_better=False, outcome="pain")
    assert s.weeks == {8.0}


@pytest.mark.parametrize("text, weeks", [
    ("At 3 months, back function improved", {13.0}), ("at 3 and 6 months", {13.0, 26.0}),
    ("at 8, 26, and 52 weeks after randomization", {8.0, 26.0, 52.0}), ("At six months", {26.0}),
    ("At 2 weeks after study conclusion", {2.0}), ("at week 4", {4.0}), ("immediately after treatment", {0.0}),
    ("12 sessions over 8 weeks", set()), ("6 weeks of treatment", set()), ("twice a week for 6 weeks", set()),
    ("on a 100-point scale", set()), ("up to 15 sessions over three months", set()), ("at 30 minutes", {0.0}),
])
def test_mentioned_weeks(text, weeks):
    assert D.mentioned_weeks(text) == weeks


def test_add_on_arm_is_one_arm():
    row = {"comparator_class": "usual_care", "comparison_id": "sa_plus_umc_vs_umc",
           "intervention_label": "standard acupuncture plus usual medical care", "comparator_label": "usual medical care only",
           "outcome": "function", "higher_is_better": "false"}
    text = "RMDQ scores were significantly better in the SA plus UMC group compared with the UMC only group."
    found = D.stated_directions(text, D.arm_terms(row), higher_is_better=False, outcome="function")
    assert [s.favours for s in found] == [I]


def test_statement_keeps_sentence_and_numbers():
    text = "Pain was lower with acupuncture than with sham (difference -3.8, 95% CI -12.4 to 4.9). Another sentence."
    (s,) = D.stated_directions(text, D.arm_terms(SHAM_PAIN), higher_is_better=False, outcome="pain", quote_id="Q2")
    assert s.quote_id == "Q2" and s.sentence.startswith("Pain was lower") and s.sentence.endswith("4.9).")
    assert Decimal("3.8") in s.numbers and Decimal("12.4") in s.numbers


# ------------------------------------------------------------------------------ entered direction

@pytest.mark.parametrize("row, expected", [
    ({"data_shape": "contrast", "effect_measure": "MD", "effect": "9.4", "higher_is_better": "true"}, (I, "effect")),
    ({"data_shape": "contrast", "effect_measure": "MD", "effect": "-9.4", "higher_is_better": "true"}, (C, "effect")),
    ({"data_shape": "contrast", "effect_measure": "MD", "effect": "-9.4", "higher_is_better": "false"}, (I, "effect")),
    ({"data_shape": "contrast", "effect_measure": "RR", "effect": "1.33", "higher_is_better": "true"}, (I, "effect")),
    ({"data_shape": "contrast", "effect_measure": "RR", "effect": "0.8", "higher_is_better": "true"}, (C, "effect")),
    ({"data_shape": "contrast", "effect_measure": "MD", "effect": "0", "higher_is_better": "true"}, (None, "effect")),
    ({"data_shape": "arm_continuous", "mean1": "-28.7", "mean2": "-14.9", "higher_is_better": "false"}, (I, "mean1")),
    ({"data_shape": "arm_binary", "events1": "40", "n1": "100", "events2": "30", "n2": "100",
      "higher_is_better": "true"}, (I, "events1")),
    ({"data_shape": "test_only", "direction": "favours_control"}, (C, "direction")),
    ({"data_shape": "test_only", "direction": "none"}, (None, None)),
])
def test_entered_direction(row, expected):
    assert D.entered_direction(row) == expected


# ------------------------------------------------------------------------------ the row check

WITT = {"study_id": "Witt2006", "comparison_id": "acu_plus_rc_vs_rc", "comparator_class": "usual_care",
        "intervention_label": "acupuncture plus routine care", "comparator_label": "routine care",
        "outcome": "function", "scale": "HFAQ", "higher_is_better": "true", "data_shape": "contrast",
        "effect_measure": "MD", "effect": "9.4", "effect_ci_low": "8.3", "effect_ci_high": "10.5"}
WITT_Q1 = ("At 3 months, back function improved by 12.1 (standard error (SE), 0.4) to 74.5 (SE, 0.4) points in "
           "the acupuncture group and by 2.7 (SE, 0.4) to 65.1 (SE, 0.4) points among controls (difference=9.4 "
           "points (95% confidence interval 8.3, 10.5); p<0.001).")


def _check(row, quotes, derived=None):
    return D.direction_problems(row, quotes, file="new.csv", row_number=2, source="evidence/Witt2006.yaml",
                                derived=derived)


def test_correct_sign_passes():
    assert _check(WITT, {"Q1": WITT_Q1}) == []


def test_sign_flip_is_an_error_naming_file_row_column_and_quote():
    flipped = {**WITT, "effect": "-9.4", "effect_ci_low": "-10.5", "effect_ci_high": "-8.3"}
    (p,) = _check(flipped, {"Q1": WITT_Q1})
    assert (p.file, p.row, p.column, p.value) == ("new.csv", 2, "effect", "-9.4")
    assert "favour routine care (arm 2)" in p.message and "quote Q1 of evidence/Witt2006.yaml" in p.message
    assert "acupuncture (arm 1) did better" in p.message and "back function improved by 12.1" in p.message


def test_direction_column_against_quote_and_numbers():
    row = {**WITT, "direction": "favours_control"}
    problems = _check(row, {"Q1": WITT_Q1})
    assert {p.column for p in problems} == {"direction"} and len(problems) == 2
    assert _check({**WITT, "direction": "favours_intervention"}, {"Q1": WITT_Q1}) == []
    test_only = {**WITT, "data_shape": "test_only", "effect": "", "effect_ci_low": "", "effect_ci_high": "",
                 "direction": "favours_control"}
    (p,) = _check(test_only, {"Q1": WITT_Q1})
    assert p.column == "direction" and "Q1" in p.message


def test_conflicting_quotes_keep_the_sentence_with_the_row_numbers():
    quotes = {"Q1": "Pain improved more with acupuncture than with sham at 8 weeks (difference -5.1).",
              "Q2": "At 52 weeks pain improved more with sham than with acupuncture (difference 2.0)."}
    row = {**SHAM_PAIN, "data_shape": "contrast", "effect_measure": "MD", "effect": "-5.1"}
    assert _check(row, quotes) == []
    assert len(_check({**row, "effect": "5.1"}, quotes)) == 1
    # neither sentence prints the row's number: nothing is concluded
    assert _check({**row, "effect": "7"}, quotes) == []


# ------------------------------------------------------------------------------ printed signs

BRINKHAUS_Q10 = "Pain (0-100 VAS): 38.4 vs. 42.1, difference \u22123.8 (95% CI \u221212.4 to 4.9)"
ROW_Q10 = {**SHAM_PAIN, "data_shape": "contrast", "effect_measure": "MD", "effect": "-3.8",
           "effect_ci_low": "-12.4", "effect_ci_high": "4.9"}


def test_printed_sign_as_printed_passes():
    assert _check(ROW_Q10, {"Q10": BRINKHAUS_Q10}) == []


def test_printed_sign_reversed_is_an_error():
    flipped = {**ROW_Q10, "effect": "3.8", "effect_ci_low": "-4.9", "effect_ci_high": "12.4"}
    (p,) = _check(flipped, {"Q10": BRINKHAUS_Q10})
    assert p.column == "effect" and "sign reversed" in p.message and "Q10" in p.message
    assert "effect=negate" in p.message


def test_printed_sign_with_negate():
    q = "The difference was 5.1 mm (95% confidence interval, \u22123.7 to 13.9 mm; P = .26)"
    row = {**ROW_Q10, "effect": "-5.1", "effect_ci_low": "-13.9", "effect_ci_high": "3.7"}
    negate = {"effect": "negate", "effect_ci_low": "negate", "effect_ci_high": "negate"}
    assert _check(row, {"Q3": q}, negate) == []
    (p,) = _check(row, {"Q3": q})  # negated numbers without saying so
    assert "sign reversed" in p.message
    as_printed = {**row, "effect": "5.1", "effect_ci_low": "-3.7", "effect_ci_high": "13.9"}
    (p,) = _check(as_printed, {"Q3": q}, negate)
    assert "remove negate" in p.message


def test_unsigned_magnitude_and_ranges_are_left_to_words():
    # "13.9-30.0" is a range, not -30.0; all-unsigned prints give no printed orientation
    q = "the difference for the acupuncture vs waiting list group was 21.7 mm (95% confidence interval, 13.9-30.0 mm)"
    row = {**ROW_Q10, "comparator_class": "no_treatment", "effect": "-21.7", "effect_ci_low": "-30.0",
           "effect_ci_high": "-13.9"}
    assert _check(row, {"Q3": q}) == []
    assert D._signed_tokens("13.9-30.0 and \u22123.7, (-0.2 to 11.4) 1.04\u20131.70") == [
        Decimal("13.9"), Decimal("30.0"), Decimal("-3.7"), Decimal("-0.2"), Decimal("11.4"),
        Decimal("1.04"), Decimal("1.70")]


# ------------------------------------------------------------------------------ the project's data

def _flip(row: dict) -> dict:
    """The same row with the opposite direction (a sign slip of each kind)."""
    r = dict(row)
    shape = r["data_shape"]
    if shape == "contrast":
        if r["effect_measure"] in ("RR", "OR"):
            r["effect"] = str(1 / float(r["effect"]))
            if r.get("effect_ci_low") and r.get("effect_ci_high"):
                r["effect_ci_low"], r["effect_ci_high"] = (str(1 / float(r["effect_ci_high"])),
                                                           str(1 / float(r["effect_ci_low"])))
        else:
            neg = lambda x: x[1:] if x.startswith("-") else "-" + x  # noqa: E731
            r["effect"] = neg(r["effect"])
            if r.get("effect_ci_low") and r.get("effect_ci_high"):
                r["effect_ci_low"], r["effect_ci_high"] = neg(r["effect_ci_high"]), neg(r["effect_ci_low"])
    elif shape == "arm_continuous":
        r["mean1"], r["mean2"] = r["mean2"], r["mean1"]
    elif shape == "arm_binary":
        r["events1"], r["n1"], r["events2"], r["n2"] = r["events2"], r["n2"], r["events1"], r["n1"]
    else:
        r["direction"] = {"favours_intervention": "favours_control",
                          "favours_control": "favours_intervention"}.get(r["direction"], r["direction"])
    return r


def test_project_rows_pass_and_their_sign_slips_are_caught():
    """Every row of data/trials.csv agrees with its quotes, and for every row whose quotes state a
    direction, the same row with the opposite sign is refused (so the check is not vacuous)."""
    from pathlib import Path

    import pandas as pd

    from trialsynth.data.provenance import check_trials, load_records

    root = Path(__file__).resolve().parents[2]
    trials = pd.read_csv(root / "data" / "trials.csv", dtype=str, keep_default_na=False)
    records = load_records(root / "evidence")
    direction_problems = [p for p in check_trials(trials, records)
                          if "direction:" in p.message or "sign reversed" in p.message]
    assert direction_problems == []
    stated = caught = 0
    for _, r in trials.iterrows():
        r = r.to_dict()
        quotes = {q: records[r["source_id"]]["quotes"][q]["text"] for q in r["quote_ids"].split(";")}
        found = [s for text in quotes.values()
                 for s in D.stated_directions(text, D.arm_terms(r), higher_is_better=r["higher_is_better"] == "true",
                                              outcome=r["outcome"])]
        if not found or D.entered_direction(r)[0] is None:
            continue
        stated += 1
        flipped = pd.DataFrame([_flip(r)], dtype=object)
        if any("direction:" in p.message for p in check_trials(flipped, records)):
            caught += 1
    assert stated >= 8 and caught == stated, (stated, caught)


MASSAGE = {"comparator_class": "active", "comparison_id": "acu_vs_massage",
           "intervention_label": "Traditional Chinese Medical acupuncture (up to 10 visits over 10 weeks)",
           "comparator_label": "therapeutic massage (up to 10 visits over 10 weeks)", "outcome": "function",
           "higher_is_better": "false"}


@pytest.mark.parametrize("text, expected", [
    ("At 10 weeks, massage was superior to self-care on the disability scale (5.88 vs 8.92; P<.001).", None),
    ("Massage was also superior to acupuncture on the disability scale (5.89 vs 8.25, respectively; P =.01).", C),
    ("After 1 year, massage was not better than self-care but was better than acupuncture.", C),
    ("Disability decreased by more than 30% in the acupuncture group.", None),
    ("Disability improved more than at baseline in the acupuncture group.", None),
])
def test_a_third_arm_or_a_non_arm_reference_is_not_read(text, expected):
    found = D.stated_directions(text, D.arm_terms(MASSAGE), higher_is_better=False, outcome="function")
    assert {s.favours for s in found} == (set() if expected is None else {expected}), found


def test_other_comparisons_of_the_study_are_foreign():
    # a three-arm trial: for verum vs sham, a sentence about conventional therapy is another comparison
    row = {"comparator_class": "sham", "comparison_id": "verum_vs_sham", "intervention_label": "verum acupuncture",
           "comparator_label": "sham acupuncture", "outcome": "pain", "higher_is_better": "false"}
    text = "Verum acupuncture improved pain more than guideline-based therapy."
    assert D.stated_directions(text, D.arm_terms(row), higher_is_better=False, outcome="pain") == []
    arms = D.arm_terms(row, other_labels=["guideline-based therapy (drugs, physiotherapy)"])
    assert D.stated_directions(text, arms, higher_is_better=False, outcome="pain") == []
    text2 = "Guideline-based therapy improved pain more than sham acupuncture."
    assert {s.favours for s in D.stated_directions(text2, D.arm_terms(row), higher_is_better=False,
                                                   outcome="pain")} == {D.INTERVENTION}  # misread without the labels
    assert D.stated_directions(text2, arms, higher_is_better=False, outcome="pain") == []
