"""cell_sensitivity: every pooled cell re-pooled without the evidence a reviewer could leave out,
with the class change it causes (issue 13, item 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialsynth.claims.effects import classify_effect
from trialsynth.diagnostics.cell_sensitivity import (
    ANALYSES,
    CHANGED,
    EMPTY,
    NOT_APPLICABLE,
    NOT_ASSESSED,
    SAME,
    SINGLE_SESSION_REASON,
    UNCHANGED,
    cell_sensitivity,
    sensitivity_summary,
    subgroup_by,
)
from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import pool

BY = ("outcome", "comparator_class", "add_on", "window")


def classify(key, measure, estimate, low, high):
    return classify_effect(estimate, low, high, mid=0.5, measure=measure).label


def row(study, yi, vi=0.01, **kw):
    base = {"study_id": study, "label": study, "outcome": "pain", "comparator_class": "sham", "add_on": False,
            "window": "immediate", "yi": yi, "vi": vi, "measure": "SMD", "data_shape": "arm_continuous", "rob": "low",
            "condition": "chronic_lbp", "sham_type": "penetrating"}
    return {**base, **kw}


def cell():
    return pd.DataFrame([
        row("A", -0.30, 0.004),
        row("B", -0.35, 0.02, data_shape="test_only"),
        row("C", -0.90, 0.03, rob="high", sham_type="placebo_tens"),
        row("D", -0.25, 0.02, condition="mixed_lbp", sham_type=""),
    ])


def by_name(table):
    return table.set_index("analysis")


def test_each_analysis_drops_what_it_says_and_refits_with_the_profile():
    sel = cell()
    t = by_name(cell_sensitivity(sel, by=BY, profile="cochrane-2025", classify=classify))
    assert t.loc["without_p_value_effects", "left_out"] == "B" and t.loc["without_p_value_effects", "k"] == 3
    assert t.loc["without_high_unclear_rob", "left_out"] == "C"
    assert t.loc["chronic_only", "left_out"] == "D"
    assert t.loc["sham_penetrating", "left_out"] == "C; D" and t.loc["sham_penetrating", "k"] == 2
    assert "sham type no quote states" in t.loc["sham_penetrating", "note"]
    assert t.loc["sham_placebo_tens", "k"] == 1
    assert t.loc["sham_non_penetrating", "status"] == NOT_APPLICABLE  # no such sham in the cell
    assert t.loc["with_single_sessions", "status"] == NOT_APPLICABLE  # nothing set apart
    # the refit is the profile's fit of the rows kept
    kept = sel[sel.study_id != "B"]
    direct = pool(kept.yi, kept.vi, profile="cochrane-2025", warn=False)
    assert t.loc["without_p_value_effects", "estimate"] == pytest.approx(direct.estimate)
    assert t.loc["without_p_value_effects", "ci_low"] == pytest.approx(direct.ci_low)
    main = pool(sel.yi, sel.vi, profile="cochrane-2025", warn=False)
    assert (t["k_main"] == 4).all() and set(t["class_main"]) == {classify(None, "SMD", main.estimate, main.ci_low, main.ci_high)}


def test_a_class_change_is_detected_and_summarised():
    # two precise trials show a benefit; without the p-value one, a single imprecise trial does not
    sel = pd.DataFrame([row("A", -0.30, 0.003, data_shape="test_only"), row("B", -0.28, 0.004, data_shape="test_only"),
                        row("C", -0.20, 0.09)])
    t = cell_sensitivity(sel, by=BY, profile="metafor-default", classify=classify)
    r = by_name(t).loc["without_p_value_effects"]
    assert r["class_main"] == "small benefit" and r["effect_class"] == "no clear difference"
    assert r["status"] == CHANGED and bool(r["class_changes"])
    assert by_name(t).loc["chronic_only", "status"] == SAME  # every trial is chronic: nothing to refit
    s = sensitivity_summary(t, BY).iloc[0]
    assert bool(s["conclusion_depends_on_sensitivity"])
    assert s["sensitivity_changes"] == "without effects from p-values: small benefit \u2192 no clear difference (k = 1)"


def test_statuses_for_an_empty_analysis_and_unjudged_risk_of_bias():
    sel = pd.DataFrame([row("A", -0.3, condition="mixed_lbp", rob=""), row("B", -0.4, condition="mixed_lbp", rob="")])
    t = by_name(cell_sensitivity(sel, by=BY, profile="cochrane-2025", classify=classify))
    assert t.loc["chronic_only", "status"] == EMPTY and t.loc["chronic_only", "k"] == 0
    assert not bool(t.loc["chronic_only", "class_changes"])  # no estimate is not a class change
    assert t.loc["without_high_unclear_rob", "status"] == NOT_ASSESSED


def test_rows_set_apart_are_put_back_in_their_own_cell_only():
    sel = pd.DataFrame([row("A", -0.3, 0.01), row("B", -0.32, 0.01)])
    apart = pd.DataFrame([row("S", -1.5, 0.02, set_apart=SINGLE_SESSION_REASON),
                          row("Other", -1.5, 0.02, window="short", set_apart=SINGLE_SESSION_REASON)])
    t = by_name(cell_sensitivity(sel, apart, by=BY, profile="cochrane-2025", classify=classify))
    assert t.loc["with_single_sessions", "added"] == "S" and t.loc["with_single_sessions", "k"] == 3
    assert t.loc["with_single_sessions", "status"] in (CHANGED, UNCHANGED)
    assert t.loc["with_value_types_mixed", "status"] == NOT_APPLICABLE


def test_guards_and_every_analysis_named():
    assert [a.name for a in ANALYSES][:3] == ["without_p_value_effects", "without_high_unclear_rob", "chronic_only"]
    with pytest.raises(ArgumentError, match="unknown sensitivity analysis"):
        cell_sensitivity(cell(), by=BY, profile="cochrane-2025", classify=classify, analyses=["nope"])
    with pytest.raises(ArgumentError, match="DataFrame"):
        cell_sensitivity([1, 2], by=BY, profile="cochrane-2025", classify=classify)
    assert len(cell_sensitivity(cell().iloc[0:0], by=BY, profile="cochrane-2025", classify=classify)) == 0


def test_subgroup_by_treatment_course_gives_the_test_for_differences():
    rows = pd.DataFrame([row("A", -0.3, 0.01, treatment_course="course"), row("B", -0.35, 0.02, treatment_course="course"),
                         row("C", -0.9, 0.05, treatment_course="single_session")])
    res = subgroup_by(rows, "treatment_course", profile="cochrane-2025")
    assert list(res["frame"]["subgroup"]) == ["course", "single_session"]
    fits = res["result"].fits
    est = np.array([fits["course"].estimate, fits["single_session"].estimate])
    se = np.array([fits["course"].se, fits["single_session"].se])
    w = 1 / se**2
    q = float(np.sum(w * (est - np.sum(w * est) / np.sum(w)) ** 2))  # Q between (separate tau2), 1 df
    assert res["test"]["statistic"] == pytest.approx(q) and res["test"]["df"] == 1
    assert subgroup_by(rows.iloc[:2], "treatment_course", profile="cochrane-2025") is None  # one subgroup only
