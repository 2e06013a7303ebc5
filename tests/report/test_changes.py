"""The change report: trials added/edited/removed, estimates moved, conclusions and verdicts flipped."""

import pandas as pd

from trialsynth.report.changes import changes_html, changes_markdown, diff_states, make_state, trial_key


def trials(*rows):
    base = {"study_id": "A", "comparison_id": "acu_vs_sham", "outcome": "pain", "scale": "VAS", "timepoint_weeks": 8, "n1": 10, "mean1": 1.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def pooled(est, lo, hi, k=2, ids="A;B"):
    return pd.DataFrame([{"outcome": "pain", "comparator_class": "sham", "window": "short", "k": k, "estimate": est, "ci_low": lo,
                          "ci_high": hi, "pi_low": lo - 0.3, "pi_high": hi + 0.3, "tau2": 0.01, "i2": 10.0, "measure": "SMD",
                          "study_ids": ids}])


def verdicts(v):
    return pd.DataFrame([{"claim_id": "C1", "verdict": v, "reason": "r"}])


def test_first_run_and_no_change():
    s = make_state(trials({}), pooled(-0.3, -0.5, -0.1), verdicts("supported"), profile="p")
    first = diff_states(None, s)
    assert first.first_run and first.trials_added == ["A | acu_vs_sham | pain | VAS | 8"]
    assert "First run" in changes_markdown(first)
    same = diff_states(s, make_state(trials({}), pooled(-0.3, -0.5, -0.1), verdicts("supported"), profile="p"))
    assert not same.any and "Nothing changed" in changes_markdown(same)


def test_added_edited_removed_moved_flipped():
    before = make_state(trials({}, {"study_id": "B"}), pooled(-0.3, -0.5, -0.1), verdicts("supported"), profile="p")
    after = make_state(trials({"mean1": 2.0}, {"study_id": "C"}), pooled(-0.1, -0.4, 0.2, k=2, ids="A;C"), verdicts("mixed"), profile="p")
    ch = diff_states(before, after)
    assert ch.trials_added == ["C | acu_vs_sham | pain | VAS | 8"]
    assert ch.trials_removed == ["B | acu_vs_sham | pain | VAS | 8"]
    assert ch.trials_edited == [("A | acu_vs_sham | pain | VAS | 8", ["mean1"])]
    moved = ch.groups_moved[0]
    assert moved["key"] == "pain | sham | short" and moved["estimate"] == (-0.3, -0.1) and moved["study_ids"] == ("A;B", "A;C")
    assert ch.conclusions_flipped == [("pain | sham | short", "small benefit", "no clear difference")]
    assert ch.verdicts_flipped == [("C1", "supported", "mixed")]
    md = changes_markdown(ch)
    # before -> after as whole formatted effects with their CIs, one arrow character, no raw field dumps
    assert "SMD -0.30 (-0.50 to -0.10) \u2192 -0.10 (-0.40 to 0.20)" in md and "**flipped** C1: supported \u2192 mixed" in md
    assert "PI -0.80 to 0.20 \u2192 -0.70 to 0.50" in md and "ci_high" not in md and "tau2" not in md
    assert ch.summary() == ("1 trial row added (C); 1 trial row removed (B); 1 trial row edited (A); 1 estimate moved; "
                            "1 conclusion changed; 1 verdict flipped.")
    page = changes_html(ch)
    assert "<b class='flip'>flipped</b>" in page and "<script" not in page
    assert "SMD -0.30 (-0.50 to -0.10) \u2192 -0.10 (-0.40 to 0.20)</span>" in page  # one nowrap span: never wraps mid-arrow


def test_grade_changes_are_reported():
    sof1 = pooled(-0.3, -0.5, -0.1).assign(certainty="low", imprecision="very serious", risk_of_bias="not assessed",
                                           inconsistency="not serious", indirectness="not serious", publication_bias="not assessed")
    sof2 = sof1.assign(certainty="moderate", imprecision="serious")
    before = make_state(trials({}), pooled(-0.3, -0.5, -0.1), verdicts("supported"), profile="p", sof=sof1)
    after = make_state(trials({}), pooled(-0.3, -0.5, -0.1), verdicts("supported"), profile="p", sof=sof2)
    ch = diff_states(before, after)
    assert ch.grade_changed == [("pain | sham | short", {"certainty": ("low", "moderate"), "imprecision": ("very serious", "serious")})]
    md = changes_markdown(ch)
    assert "* Pain: acupuncture vs sham, short term: certainty low \u2192 moderate; imprecision very serious \u2192 serious" in md
    assert "1 certainty rating changed" in ch.summary()


def test_trial_key_is_stable_across_types():
    assert trial_key({"study_id": "A", "comparison_id": "c", "outcome": "pain", "scale": "VAS", "timepoint_weeks": 8.0}) == \
        trial_key({"study_id": "A", "comparison_id": "c", "outcome": "pain", "scale": "VAS", "timepoint_weeks": 8})
