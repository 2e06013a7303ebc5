"""GRADE on ratio measures: the SoF shows ratios as ratios and judges them against GRADE's
RR 0.75 / 1.25, not against the SMD MID (issue 12, defect 1).

The two responder rows are the ones the UX review found printed on the log scale under "RR":
DeBar 2025 (RR 1.33, 1.04 to 1.70) and Carlsson 2001 (RR 3.76, 0.98 to 14.44).
"""

import math

import pandas as pd
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.grade import draft_sof, sof_to_html, sof_to_markdown
from trialsynth.grade import rules as R
from trialsynth.display import ratio_display_check


def responder_pooled():
    return pd.DataFrame([
        {"outcome": "responder", "comparator_class": "usual_care", "window": "intermediate", "k": 1,
         "estimate": math.log(1.33), "ci_low": math.log(1.04), "ci_high": math.log(1.70), "pi_low": float("nan"),
         "pi_high": float("nan"), "i2": 0.0, "measure": "RR", "study_ids": "DeBar2025", "profile": "cochrane-2025"},
        {"outcome": "responder", "comparator_class": "sham", "window": "short", "k": 1,
         "estimate": math.log(3.76), "ci_low": math.log(0.98), "ci_high": math.log(14.44), "pi_low": float("nan"),
         "pi_high": float("nan"), "i2": 0.0, "measure": "RR", "study_ids": "Carlsson2001", "profile": "cochrane-2025"},
    ])


def studies():
    return pd.DataFrame([
        {"study_id": "DeBar2025", "outcome": "responder", "comparator_class": "usual_care", "window": "intermediate",
         "n1": 270, "n2": 265, "events1": 80, "events2": 60},
        {"study_id": "Carlsson2001", "outcome": "responder", "comparator_class": "sham", "window": "short",
         "n1": 34, "n2": 16, "events1": 14, "events2": 2},
    ])


def test_sof_shows_ratios_as_ratios_and_keeps_the_logs_named():
    sof = draft_sof(responder_pooled(), studies()).set_index("comparator_class")
    assert sof.loc["usual_care", "effect_text"] == "RR 1.33 (1.04 to 1.70)"
    assert sof.loc["sham", "effect_text"] == "RR 3.76 (0.98 to 14.44)"
    assert sof.loc["usual_care", "estimate"] == pytest.approx(1.33)
    assert sof.loc["usual_care", "log_estimate"] == pytest.approx(math.log(1.33))
    for page in (sof_to_markdown(sof.reset_index()), sof_to_html(sof.reset_index())):
        assert "RR 1.33 (1.04 to 1.70)" in page and not ratio_display_check(page)
        assert "0.29" not in page  # log(1.33), the value the review found printed as "RR 0.29"


def test_imprecision_of_a_ratio_uses_grade_ratio_thresholds_not_the_smd_mid():
    sof = draft_sof(responder_pooled(), studies()).set_index("comparator_class")
    uc = sof.loc["usual_care"]
    # CI 1.04 to 1.70 excludes 1 but crosses 1.25: important and unimportant benefits both compatible
    assert uc["imprecision"] == R.SERIOUS
    assert "RR 0.75 / 1.25" in uc["imprecision_reason"] and "1.04 to 1.70" in uc["imprecision_reason"]
    assert "MID 0.5" not in uc["imprecision_reason"] and "crosses the MID" in uc["imprecision_reason"]
    # CI 0.98 to 14.44 holds both an appreciable harm (<= 0.75)? no: 0.98 > 0.75 -> serious, not very serious
    sham = sof.loc["sham"]
    assert sham["imprecision"] == R.SERIOUS and "includes no effect" in sham["imprecision_reason"]
    wide = responder_pooled().assign(ci_low=math.log(0.5))
    assert draft_sof(wide, studies()).loc[0, "imprecision"] == R.VERY_SERIOUS  # 0.50 to 1.70 spans 0.75 and 1.25


def test_binary_optimal_information_size():
    # p_c 0.2 -> p_t 0.25 (a 25% relative increase), alpha 0.05, power 0.8:
    # (1.959964 + 0.841621)^2 * (0.2*0.8 + 0.25*0.75) / 0.05^2 = 1090.99 per arm -> 1091 per arm
    assert R.optimal_information_size_binary(0.2, relative_change=0.25) == 2 * 1091
    assert R.optimal_information_size_binary(0.2, relative_change=-0.25) == 2 * 903  # 0.2 -> 0.15
    # a rarer outcome needs more participants
    assert R.optimal_information_size_binary(0.05) > R.optimal_information_size_binary(0.3)
    with pytest.raises(ArgumentError, match="control_risk"):
        R.optimal_information_size_binary(1.2)
    sof = draft_sof(responder_pooled(), studies()).set_index("comparator_class")
    # the comparator's risk in DeBar: 60/265; the OIS is printed with the rule it comes from
    assert f"OIS {R.optimal_information_size_binary(60 / 265, relative_change=0.25)}" in sof.loc["usual_care", "imprecision_reason"]


def test_plain_language_statements_and_symbols():
    from trialsynth.grade.sof import plain_language_statement as say

    assert say("pain", "low", "small") == "Acupuncture may reduce pain slightly."
    assert say("pain", "moderate", "important") == "Acupuncture probably reduces pain."
    assert say("pain", "high", "important") == "Acupuncture reduces pain."
    assert say("pain", "moderate", "small") == "Acupuncture probably reduces pain slightly."
    assert say("function", "low", "none") == "Acupuncture may result in little to no difference in function."
    assert say("pain", "very low", "small") == "The evidence is very uncertain about the effect of acupuncture on pain."
    assert say("pain", "low", "small", provisional=True) == "Acupuncture may reduce pain slightly. (provisional)"
    sof = draft_sof(responder_pooled(), studies())
    assert sof["certainty_text"].str.match(r"^[\u2295\u25ef]{4} ").all()
