"""GRADE draft: one test per domain rule, the certainty arithmetic, overrides and the exports."""

import csv
import math

import pandas as pd
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.grade import (
    GradeSettings,
    apply_overrides,
    draft_sof,
    neutralise_cell,
    optimal_information_size,
    sof_to_csv,
    sof_to_html,
    sof_to_markdown,
)
from trialsynth.grade import rules as R


# ---------------------------------------------------------------- risk of bias


def test_risk_of_bias_rule():
    assert R.judge_risk_of_bias(["low", "low", "low"]).level == R.NOT_SERIOUS
    j = R.judge_risk_of_bias(["low", "some_concerns", "high", "unclear"])
    assert j.level == R.SERIOUS and "1 high" in j.reason and "75% not at low risk" in j.reason
    # weights decide: a heavy low-risk trial keeps it not serious
    assert R.judge_risk_of_bias(["low", "high", "high"], [80, 10, 10]).level == R.NOT_SERIOUS
    assert R.judge_risk_of_bias(["low", "high", "high"], [20, 40, 40]).level == R.VERY_SERIOUS
    # a study nobody judged is not counted as "not low" (it would silently cost every row a level):
    # the shares are of the assessed weight, and the reason names the studies not assessed
    j = R.judge_risk_of_bias([None, float("nan"), "low"])
    assert j.level == R.NOT_SERIOUS and "2 not assessed: reviewer to judge" in j.reason
    # nothing judged at all: "not assessed", no downgrade (the certainty is then provisional)
    j = R.judge_risk_of_bias([None, ""])
    assert j.level == R.NOT_ASSESSED and j.downgrade == 0 and R.PROVISIONAL_NOTE in j.reason
    assert R.downgrade_of("risk_of_bias", R.NOT_ASSESSED) == 0
    with pytest.raises(ArgumentError, match="weights"):
        R.judge_risk_of_bias(["low", "high"], [1.0])


# ---------------------------------------------------------------- inconsistency


def test_inconsistency_rule():
    mid = 0.5
    assert R.judge_inconsistency(10, -0.5, -0.2, -0.6, -0.1, 5, mid=mid).level == R.NOT_SERIOUS
    j = R.judge_inconsistency(55, -0.5, -0.2, -0.6, -0.1, 5, mid=mid)
    assert j.level == R.SERIOUS and "I2 = 55%" in j.reason
    j = R.judge_inconsistency(20, -0.5, -0.2, -0.8, 0.1, 5, mid=mid)
    assert j.level == R.SERIOUS and "PI includes no effect" in j.reason
    assert R.judge_inconsistency(80, -0.5, -0.2, -1.2, 0.6, 5, mid=mid).level == R.VERY_SERIOUS
    # considerable I2 but PI not spanning both thresholds: serious, not very serious
    assert R.judge_inconsistency(80, -0.9, -0.6, -1.2, -0.3, 5, mid=mid).level == R.SERIOUS
    assert R.judge_inconsistency(float("nan"), -0.5, -0.2, None, None, 1, mid=mid).reason.startswith("one study")


# ---------------------------------------------------------------- imprecision and OIS


def test_optimal_information_size_formula():
    # 2 * (1.959964 + 0.841621)^2 / 0.5^2 = 62.79 -> 63 per arm
    assert optimal_information_size(0.5) == 126
    # 2 * 7.8489 / 0.04 = 392.4 -> 393 per arm
    assert optimal_information_size(0.2) == 786
    assert optimal_information_size(0.5, power=0.9) == 2 * math.ceil(2 * (1.959964 + 1.281552) ** 2 / 0.25)
    with pytest.raises(ArgumentError):
        optimal_information_size(0)


def test_imprecision_rule():
    ois = 126
    assert R.judge_imprecision(-0.9, -0.6, 400, mid=0.5, ois=ois).level == R.NOT_SERIOUS
    j = R.judge_imprecision(-0.6, 0.1, 400, mid=0.5, ois=ois)
    assert j.level == R.SERIOUS and "includes no effect" in j.reason
    j = R.judge_imprecision(-0.54, -0.25, 753, mid=0.5, ois=ois)
    assert j.level == R.SERIOUS and "crosses the MID" in j.reason
    j = R.judge_imprecision(-0.9, -0.6, 60, mid=0.5, ois=ois)
    assert j.level == R.SERIOUS and "fewer participants than the OIS" in j.reason
    assert R.judge_imprecision(-0.8, 0.7, 1000, mid=0.5, ois=ois).level == R.VERY_SERIOUS
    assert R.judge_imprecision(None, None, 100, mid=0.5, ois=ois).level == R.VERY_SERIOUS
    # log ratio: positive favours acupuncture
    assert R.judge_imprecision(0.6, 0.9, 500, mid=0.5, ois=ois, benefit_sign=1).level == R.NOT_SERIOUS


# ---------------------------------------------------------------- publication bias


def test_publication_bias_rule():
    assert R.judge_publication_bias(9, 0.001).level == R.NOT_ASSESSED
    assert R.judge_publication_bias(9, 0.001).downgrade == 0
    assert R.judge_publication_bias(12, 0.03).level == R.SUSPECTED
    assert R.judge_publication_bias(12, 0.4).level == R.UNDETECTED
    assert R.judge_publication_bias(12, None).level == R.NOT_ASSESSED


def test_certainty_arithmetic():
    assert R.certainty_from_downgrades(0) == "high"
    assert R.certainty_from_downgrades(1) == "moderate"
    assert R.certainty_from_downgrades(3) == "very low"
    assert R.certainty_from_downgrades(6) == "very low"
    with pytest.raises(ArgumentError):
        R.downgrade_of("imprecision", "catastrophic")


# ---------------------------------------------------------------- the draft table


def pooled():
    return pd.DataFrame([
        {"outcome": "pain", "comparator_class": "sham", "window": "immediate", "k": 3, "estimate": -0.3, "ci_low": -0.5,
         "ci_high": -0.1, "pi_low": -0.9, "pi_high": 0.3, "i2": 20.0, "measure": "SMD", "study_ids": "A;B;C", "profile": "cochrane-2025"},
        {"outcome": "pain", "comparator_class": "no_treatment", "window": "immediate", "k": 2, "estimate": -0.9, "ci_low": -1.2,
         "ci_high": -0.6, "pi_low": float("nan"), "pi_high": float("nan"), "i2": 0.0, "measure": "SMD", "study_ids": "A;D", "profile": "cochrane-2025"},
    ])


def studies():
    return pd.DataFrame([
        {"study_id": "A", "outcome": "pain", "comparator_class": "sham", "window": "immediate", "rob": "low", "n1": 100, "n2": 100},
        {"study_id": "B", "outcome": "pain", "comparator_class": "sham", "window": "immediate", "rob": "high", "n1": 20, "n2": 20},
        {"study_id": "C", "outcome": "pain", "comparator_class": "sham", "window": "immediate", "rob": "high", "n1": 30, "n2": 30},
        {"study_id": "A", "outcome": "pain", "comparator_class": "no_treatment", "window": "immediate", "rob": "low", "n1": 100, "n2": 90},
        {"study_id": "D", "outcome": "pain", "comparator_class": "no_treatment", "window": "immediate", "rob": "low", "n1": 50, "n2": 50},
    ])


def test_draft_sof_rows_and_certainty():
    sof = draft_sof(pooled(), studies()).set_index("comparator_class")
    sham = sof.loc["sham"]
    assert sham["participants"] == 300
    assert sham["risk_of_bias"] == R.VERY_SERIOUS  # 2 of 3 studies high (equal weights) >= 50%
    assert sham["inconsistency"] == R.SERIOUS  # PI includes 0 while CI excludes it
    assert sham["imprecision"] == R.NOT_SERIOUS  # CI -0.5 to -0.1 excludes 0, 300 >= OIS 126
    assert sham["publication_bias"] == R.NOT_ASSESSED
    assert sham["indirectness"] == R.NOT_SERIOUS
    assert sham["downgrades"] == sum(R.downgrade_of(d, sham[d]) for d in R.DOMAINS)
    assert sham["downgrades"] == 3 and sham["certainty"] == "very low"
    nt = sof.loc["no_treatment"]
    assert nt["participants"] == 290 and nt["risk_of_bias"] == R.NOT_SERIOUS
    assert nt["imprecision"] == R.NOT_SERIOUS and nt["certainty"] == "high"
    assert "GRADE guidelines 6" in nt["imprecision_rule"] and "Norman" in nt["imprecision_rule"]
    assert nt["effect_text"] == "SMD -0.90 (-1.20 to -0.60)"


def test_draft_sof_weights_and_egger_inputs():
    p = pooled()
    w = {("pain", "sham", "immediate"): {"A": 90.0, "B": 5.0, "C": 5.0}}
    sof = draft_sof(p, studies(), weights=w).set_index("comparator_class")
    assert sof.loc["sham", "risk_of_bias"] == R.NOT_SERIOUS
    big = p.assign(k=12)
    sof = draft_sof(big, studies(), egger_p={("pain", "sham", "immediate"): 0.02}).set_index("comparator_class")
    assert sof.loc["sham", "publication_bias"] == R.SUSPECTED
    assert sof.loc["no_treatment", "publication_bias"] == R.NOT_ASSESSED  # k >= 10 but no test


def test_draft_sof_without_studies_and_empty():
    sof = draft_sof(pooled(), None)
    # no judgement entered: "not assessed: reviewer to judge", no downgrade, certainty provisional
    assert (sof["risk_of_bias"] == R.NOT_ASSESSED).all() and sof["provisional"].all()
    assert sof["risk_of_bias_reason"].str.contains("reviewer to judge").all()
    assert sof["certainty_text"].str.endswith("(provisional)").all()
    assert sof["footnotes"].str.contains("provisional").all()
    assert sof["participants"].isna().all()
    assert len(draft_sof(pooled().iloc[0:0], None)) == 0
    with pytest.raises(ArgumentError, match="pooled"):
        draft_sof("not a frame")


def test_settings_change_the_rule():
    strict = GradeSettings(mid=0.2)
    sof = draft_sof(pooled(), studies(), settings=strict).set_index("comparator_class")
    assert "786" in sof.loc["no_treatment", "imprecision_rule"]
    assert sof.loc["no_treatment", "imprecision"] == R.SERIOUS  # 290 < 786
    with pytest.raises(ArgumentError, match="mid"):
        GradeSettings(mid=-1)


def test_overrides_recompute_certainty():
    sof = draft_sof(pooled(), studies())
    before = sof.set_index("comparator_class").loc["no_treatment", "certainty"]
    edited = apply_overrides(sof, [{"outcome": "pain", "comparator_class": "no_treatment", "window": "immediate",
                                    "domain": "indirectness", "level": "serious", "reason": "waiting-list patients differ"}])
    row = edited.set_index("comparator_class").loc["no_treatment"]
    assert row["indirectness"] == "serious" and row["indirectness_reason"] == "edited: waiting-list patients differ"
    assert R.CERTAINTY_LEVELS.index(row["certainty"]) == R.CERTAINTY_LEVELS.index(before) - 1
    with pytest.raises(ArgumentError, match="reason"):
        apply_overrides(sof, [{"domain": "indirectness", "level": "serious"}])
    with pytest.raises(ArgumentError, match="domain"):
        apply_overrides(sof, [{"domain": "vibes", "level": "serious", "reason": "x"}])
    with pytest.raises(ArgumentError, match="no SoF row"):
        apply_overrides(sof, [{"window": "long", "domain": "indirectness", "level": "serious", "reason": "x"}])


# ---------------------------------------------------------------- exports


def test_csv_export_is_formula_safe_and_complete(tmp_path):
    sof = draft_sof(pooled(), studies())
    sof.loc[0, "footnotes"] = "=HYPERLINK(\"http://evil\")"
    sof.loc[1, "footnotes"] = "@SUM(A1)"
    path = sof_to_csv(sof, tmp_path / "sof.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows[0]["footnotes"].startswith("'=") and rows[1]["footnotes"].startswith("'@")
    assert rows[0]["estimate"] == "-0.3"  # numbers are not mangled
    assert set(sof.columns) <= set(rows[0])  # every field, reason and rule
    assert not list(tmp_path.glob(".*.tmp"))
    assert neutralise_cell("-0.5") == "-0.5" and neutralise_cell("-cmd") == "'-cmd" and neutralise_cell(3) == 3


def test_markdown_and_html_exports():
    sof = draft_sof(pooled(), studies())
    sof.loc[0, "footnotes"] = "<script>alert(1)</script> | pipe"
    sof.loc[1, "statement"] = "a cell | with a pipe"
    md = sof_to_markdown(sof)
    assert md.splitlines()[0].startswith("| Outcome | Participants (studies) | Effect (95% CI) | Certainty | What happens")
    # notes are lettered footnotes listed once under the table, the cell shows the marker
    assert "a cell \\| with a pipe" in md and "**Rules**" in md and "Publication bias" in md
    assert "\na. <script>" in md and "\nb. pipe" in md  # each distinct note once, lettered
    page = sof_to_html(sof)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<tr>") == 3 and "cert-high" in page
    assert "\u2295\u2295\u2295\u2295 High" in page  # GRADE's certainty symbols
