"""The effects-stage halves of the pooling rules (issue 13, item 2): a common 0-100 scale, the
value-type rule with its baseline-imbalance check, and the split of a shared arm."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trialsynth.effects.common_scale import MD100, effects_on_100
from trialsynth.effects.multiarm import UNNAMED_SHARED_REASON, split_row, split_shared_arms
from trialsynth.effects.records import effects_from_trials
from trialsynth.effects.value_types import (
    BASELINE_REASON,
    VALUE_TYPE_REASON,
    baseline_reversal,
    reconcile_value_types,
)
from trialsynth.errors import ArgumentError

BY = ("outcome", "comparator_class", "add_on", "window")


def arm_row(study, *, value_type="final", mean1=30.0, mean2=40.0, sd=20.0, n1=50, n2=50, scale_min=0, scale_max=100,
            outcome="pain", window="immediate", comparison="acu_vs_sham", **extra):
    return {"study_id": study, "comparison_id": comparison, "outcome": outcome, "comparator_class": "sham", "add_on": False,
            "window": window, "data_shape": "arm_continuous", "value_type": value_type, "higher_is_better": False,
            "n1": n1, "mean1": mean1, "sd1": sd, "n2": n2, "mean2": mean2, "sd2": sd, "scale_min": scale_min,
            "scale_max": scale_max, **extra}


# --------------------------------------------------------------------------- common 0-100 scale


def test_a_mean_difference_is_put_on_0_100_by_the_printed_range():
    df = pd.DataFrame([arm_row("A", mean1=6.3, mean2=5.4, sd=5.0, scale_min=0, scale_max=23),
                       arm_row("B", mean1=30, mean2=40, scale_min=0, scale_max=100),
                       arm_row("C", mean1=3, mean2=4, scale_min=float("nan"), scale_max=float("nan"))])
    md = effects_from_trials(df, measure="MD")
    on = effects_on_100(df)
    assert list(on["measure"]) == [MD100] * 3
    assert on.loc[0, "yi"] == pytest.approx(0.9 * 100 / 23)  # 3.913 points per 100
    assert on.loc[0, "sei"] == pytest.approx(md.loc[0, "sei"] * 100 / 23)
    assert on.loc[0, "vi"] == pytest.approx(on.loc[0, "sei"] ** 2)
    assert on.loc[1, "yi"] == pytest.approx(md.loc[1, "yi"])  # already 0-100
    assert "100/23" in on.loc[0, "derivation"] and "Handbook 10.5.2" in on.loc[0, "derivation"]
    # no printed range: no 0-100 value (never guessed from the instrument's name)
    assert not on.loc[2, "usable"] and math.isnan(on.loc[2, "yi"]) and "range not printed" in on.loc[2, "reason"]


# --------------------------------------------------------------------------- value types


def _smd(rows):
    return effects_from_trials(pd.DataFrame(rows), measure="SMD")


def test_baseline_reversal_is_computed_from_the_printed_means():
    # Cherkin 2009, standardized vs simulated acupuncture, Roland at 8 weeks: final 6.3 vs 5.4,
    # baselines 10.8 vs 9.8 (Table 1): the changes (-4.5 vs -4.4) favour acupuncture, the final values sham
    df = pd.DataFrame([arm_row("Cherkin", mean1=6.3, mean2=5.4, baseline_mean1=10.8, baseline_mean2=9.8),
                       arm_row("Even", mean1=6.3, mean2=5.4, baseline_mean1=10.0, baseline_mean2=10.0),
                       arm_row("Change", value_type="change", mean1=-4.5, mean2=-4.4)])
    rev = baseline_reversal(df)
    assert rev.loc[0, "final_md"] == pytest.approx(0.9) and rev.loc[0, "change_md"] == pytest.approx(-0.1)
    assert list(rev["reverses"]) == [True, False, False]


def test_a_reversed_final_value_is_set_apart():
    sel = _smd([arm_row("Cherkin", mean1=6.3, mean2=5.4, baseline_mean1=10.8, baseline_mean2=9.8),
                arm_row("Other", mean1=30, mean2=35)])
    kept, apart, notes = reconcile_value_types(sel, BY)
    assert list(kept["study_id"]) == ["Other"]
    assert list(apart["study_id"]) == ["Cherkin"] and apart["set_apart"].iloc[0] == BASELINE_REASON
    assert "+0.90" in notes[0] and "-0.10" in notes[0]


def test_change_and_final_in_one_cell_pool_as_md_on_0_100_when_every_range_is_printed():
    rows = [arm_row("Final", mean1=30, mean2=40), arm_row("Change", value_type="change", mean1=-8, mean2=-2, scale_max=10, sd=2.0)]
    sel = _smd(rows)
    on = effects_on_100(pd.DataFrame(rows))
    kept, apart, notes = reconcile_value_types(sel, BY, on_100=on)
    assert len(apart) == 0 and len(kept) == 2
    assert set(kept["measure"]) == {MD100}
    assert kept.loc[1, "yi"] == pytest.approx(-6.0 * 100 / 10)  # -6 points on 0-10 = -60 on 0-100
    assert "common 0-100 scale" in notes[0]


def test_without_a_common_scale_the_majority_value_type_is_kept():
    rows = [arm_row("F1", mean1=30, mean2=40), arm_row("F2", mean1=31, mean2=39),
            arm_row("C1", value_type="change", mean1=-8, mean2=-2, scale_min=float("nan"), scale_max=float("nan"), sd=2.0)]
    sel = _smd(rows)
    kept, apart, notes = reconcile_value_types(sel, BY, on_100=effects_on_100(pd.DataFrame(rows)))
    assert sorted(kept["study_id"]) == ["F1", "F2"]
    assert list(apart["study_id"]) == ["C1"] and apart["set_apart"].iloc[0] == VALUE_TYPE_REASON
    assert set(kept["measure"]) == {"SMD"} and "more trials" in notes[0]
    # a tie goes to the type with more participants
    rows = [arm_row("F1", mean1=30, mean2=40, n1=20, n2=20),
            arm_row("C1", value_type="change", mean1=-8, mean2=-2, sd=2.0, n1=100, n2=100, scale_max=float("nan"),
                    scale_min=float("nan"))]
    kept, apart, _ = reconcile_value_types(_smd(rows), BY)
    assert list(kept["study_id"]) == ["C1"] and list(apart["study_id"]) == ["F1"]


def test_unknown_value_types_stay_and_other_cells_are_untouched():
    p_row = {**arm_row("P"), "data_shape": "test_only", "value_type": None, "mean1": None, "mean2": None, "sd1": None,
             "sd2": None, "p_value": 0.04, "p_qualifier": "=", "direction": "favours_intervention"}
    rows = [arm_row("F1"), p_row, arm_row("C1", value_type="change", window="short", mean1=-8, mean2=-2, sd=2.0)]
    kept, apart, notes = reconcile_value_types(_smd(rows), BY)
    assert sorted(kept["study_id"]) == ["C1", "F1", "P"] and len(apart) == 0 and notes == []
    # an MD analysis may mix them: the rule does not apply
    mixed = [arm_row("F1"), arm_row("C1", value_type="change", mean1=-8, mean2=-2, sd=2.0)]
    kept, apart, _ = reconcile_value_types(effects_from_trials(pd.DataFrame(mixed), measure="MD"), BY, continuous_measure="MD")
    assert len(kept) == 2 and len(apart) == 0
    with pytest.raises(ArgumentError, match="window"):
        reconcile_value_types(_smd(rows).drop(columns="window"), BY)


# --------------------------------------------------------------------------- shared arms


def test_split_row_keeps_the_effect_and_divides_the_shared_arm():
    cont = arm_row("A", n2=100, sd=10.0, shared_arm="arm2", shared_arm_id="A_uc")
    s = split_row(cont, 2, 2)
    assert s["n2"] == 50 and s["n1"] == 50 and s["sd2"] == 10.0 and "23.3.4" in s["derivation_note"]
    binary = {"data_shape": "arm_binary", "events1": 30, "n1": 100, "events2": 20, "n2": 100, "shared_arm_id": "B_uc"}
    s = split_row(binary, 2, 2)
    assert (s["events2"], s["n2"], s["events1"], s["n1"]) == (10, 50, 30, 100)
    # a contrast: same MD, SE inflated as if the shared arm had n/2 (exact for equal arm SDs)
    contrast = {"data_shape": "contrast", "effect_measure": "MD", "effect": -1.5, "effect_ci_low": -2.5,
                "effect_ci_high": -0.5, "n1": 267, "n2": 267, "shared_arm_id": "D_umc"}
    s = split_row(contrast, 2, 2)
    se = 1.0 / 1.959963984540054
    assert s["effect_se"] == pytest.approx(se * math.sqrt((1 / 267 + 2 / 267) / (2 / 267)))
    assert math.isnan(s["effect_ci_low"]) and s["n2"] == 133.5 and s["effect"] == -1.5
    # a test-only row: the SMD (t sqrt(1/n1 + 1/n2)) is unchanged, its variance uses the split n
    test = {"data_shape": "test_only", "p_value": 0.01, "p_qualifier": "=", "direction": "favours_intervention",
            "n1": 40, "n2": 40, "higher_is_better": False, "shared_arm_id": "T_c"}
    before = effects_from_trials(pd.DataFrame([test]), measure="SMD").iloc[0]
    after = effects_from_trials(pd.DataFrame([split_row(test, 2, 2)]).drop(columns="derivation_note"), measure="SMD").iloc[0]
    d_before = before["yi"] / _j(78)
    d_after = after["yi"] / _j(58)
    assert d_after == pytest.approx(d_before, rel=1e-9) and after["vi"] > before["vi"]


def _j(df):
    from trialsynth.effects.measures import hedges_correction

    return float(hedges_correction(np.array([float(df)]))[0])


def _recompute(raw, measure):
    return effects_from_trials(raw, measure="SMD")


def test_two_comparisons_sharing_an_arm_are_both_pooled_with_its_n_split():
    rows = [arm_row("DeBar", comparison="sa_vs_umc", mean1=30, mean2=40, n1=100, n2=100, shared_arm="arm2",
                    shared_arm_id="DeBar_umc"),
            arm_row("DeBar", comparison="ea_vs_umc", mean1=28, mean2=40, n1=100, n2=100, shared_arm="arm2",
                    shared_arm_id="DeBar_umc"),
            arm_row("Other", mean1=30, mean2=40)]
    sel = _smd(rows)
    kept, apart, notes = split_shared_arms(sel, BY, _recompute)
    assert len(kept) == 3 and len(apart) == 0
    debar = kept[kept["study_id"] == "DeBar"]
    assert list(debar["n2"]) == [50.0, 50.0] and list(debar["n1"]) == [100.0, 100.0]
    # the shared arm is counted once: 100 + 100 + (50 + 50) participants, not 100 + 100 + 200
    assert float((debar["n1"] + debar["n2"]).sum()) == 300.0
    assert list(debar["label"]) == ["DeBar (sa_vs_umc)", "DeBar (ea_vs_umc)"]
    assert (debar["vi"].to_numpy() > sel.loc[debar.index, "vi"].to_numpy()).all()
    assert all("23.3.4" in d for d in debar["derivation"]) and "split" in notes[0]


def test_two_comparisons_without_a_named_shared_arm_keep_one():
    rows = [arm_row("X", comparison="a_vs_c", priority=2), arm_row("X", comparison="b_vs_c", priority=1)]
    kept, apart, notes = split_shared_arms(_smd(rows), BY, _recompute)
    assert list(kept["comparison_id"]) == ["b_vs_c"]
    assert list(apart["comparison_id"]) == ["a_vs_c"] and apart["set_apart"].iloc[0] == UNNAMED_SHARED_REASON
    assert "share no named arm" in notes[0]


def test_a_missing_priority_in_a_nullable_integer_column_sorts_last():
    # the loader reads priority as pandas' nullable Int64; a row without one (an imported RevMan
    # row) used to crash fillna(inf) and is now ranked after every row that has one
    rows = [arm_row("X", comparison="imported", priority=None), arm_row("X", comparison="ours", priority=1)]
    sel = _smd(rows)
    sel["priority"] = pd.array([pd.NA, 1], dtype="Int64")
    kept, apart, _notes = split_shared_arms(sel, BY, _recompute)
    assert list(kept["comparison_id"]) == ["ours"] and list(apart["comparison_id"]) == ["imported"]
