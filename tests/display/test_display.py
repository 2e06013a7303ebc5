"""The one display formatter (issue 12): ratios as ratios, readable headers, integer counts,
notes as footnote markers, one formatter for every table."""

import math

import pandas as pd
import pytest

from trialsynth.display import display_table, format_count, format_p, header, ratio_display_check
from trialsynth.effects.scales import (
    analysis_values,
    base_measure,
    display_values,
    format_effect,
    format_interval,
    is_ratio,
    log_name,
    wald_interval,
)


def test_ratios_are_back_transformed_and_differences_are_not():
    # DeBar 2025 as the UX review found it: log RR 0.29 (0.04 to 0.53) printed under "RR"
    assert format_effect("RR", math.log(1.33), math.log(1.04), math.log(1.70)) == "RR 1.33 (1.04 to 1.70)"
    assert format_effect("RR", math.log(3.76), math.log(0.98), math.log(14.44)) == "RR 3.76 (0.98 to 14.44)"
    assert format_effect("SMD", -0.31, -0.55, -0.06) == "SMD -0.31 (-0.55 to -0.06)"
    assert format_effect("logRR", 0.0, -0.1, 0.1) == "RR 1.00 (0.90 to 1.11)"
    assert format_effect("SMD", float("nan"), 0, 1) == "SMD no estimate"
    assert format_effect("MD", -0.001, -1, 1) == "MD 0.00 (-1.00 to 1.00)"  # no "-0.00"
    assert format_interval(math.log(0.5), math.log(2), measure="OR") == "0.50 to 2.00"
    # a ratio limit never rounds to zero (HKSJ with one df can give RR 1.66 (0.00034 to 3698))
    assert format_effect("RR", math.log(1.66), math.log(0.00034), math.log(3697.97)) == "RR 1.66 (0.00034 to 3698)"
    assert not ratio_display_check(format_effect("RR", math.log(1.66), math.log(0.00034), math.log(3697.97)))
    assert is_ratio("RR") and is_ratio("logOR") and is_ratio("MH-RR") and not is_ratio("SMD") and not is_ratio(None)
    assert base_measure("logRR") == "RR" and log_name("RR") == "logRR" and log_name("SMD") == "SMD"
    lo, hi = display_values("RR", *analysis_values("RR", 0.5, 2.0))
    assert lo == pytest.approx(0.5) and hi == pytest.approx(2.0)
    lo, hi = wald_interval(0.0, 0.01)
    assert hi == pytest.approx(0.196, abs=1e-3) and lo == pytest.approx(-hi)


def test_ratio_display_check_finds_log_scale_ratios():
    good = "RR 1.33 (1.04 to 1.70) and OR 0.50 (95% CI 0.20 to 1.10)"
    assert ratio_display_check(good) == []
    # (a log RR printed as "RR 0.29 (0.04 to 0.53)" looks like a ratio: tests compare such rows with their source values)
    assert ratio_display_check("RR 1.33 (-0.02 to 2.67)") == ["RR 1.33 (-0.02 to 2.67)"]  # a negative ratio limit
    assert ratio_display_check("RR 2.00 (0.50 to 1.50)") == ["RR 2.00 (0.50 to 1.50)"]  # estimate outside its CI


def test_display_table_formats_a_pooled_frame():
    df = pd.DataFrame([
        {"outcome": "responder", "comparator_class": "usual_care", "window": "intermediate", "k": 1.0, "measure": "RR",
         "estimate": math.log(1.33), "ci_low": math.log(1.04), "ci_high": math.log(1.70), "pi_low": float("nan"),
         "pi_high": float("nan"), "i2": 0.0, "participants": 1232.0, "notes": "one study: not pooled"},
        {"outcome": "pain", "comparator_class": "sham", "window": "immediate", "k": 6, "measure": "SMD", "estimate": -0.31,
         "ci_low": -0.55, "ci_high": -0.06, "pi_low": -0.76, "pi_high": 0.15, "i2": 43.282, "participants": 900,
         "notes": "HKSJ narrows the CI | one study: not pooled"},
    ])
    t = display_table(df, notes="notes")
    frame = t.frame
    assert list(frame.columns) == ["Outcome", "Comparator", "Time after treatment", "Studies", "Effect (95% CI)",
                                   "95% prediction interval", "I\u00b2", "Participants", "Notes"]
    assert list(frame["Effect (95% CI)"]) == ["RR 1.33 (1.04 to 1.70)", "SMD -0.31 (-0.55 to -0.06)"]
    assert list(frame["Studies"]) == ["1", "6"] and list(frame["Participants"]) == ["1232", "900"]
    assert list(frame["I\u00b2"]) == ["0%", "43%"] and frame["95% prediction interval"][1] == "-0.76 to 0.15"
    assert list(frame["Comparator"]) == ["usual care", "sham"] and frame["Time after treatment"][0] == "intermediate term"
    # each distinct note once, lettered; the cell shows the marker
    assert t.footnotes == ["one study: not pooled", "HKSJ narrows the CI"] and list(frame["Notes"]) == ["a", "b, a"]
    page = t.to_html()
    assert "comparator_class" not in page and "<sup>a</sup> one study: not pooled" in page and not ratio_display_check(page)
    assert "text-align:left'>usual care" in page and "text-align:right;white-space:nowrap'>RR 1.33" in page
    md = t.to_markdown()
    assert md.splitlines()[1].startswith("|---|---|---|---:|") and "a. one study: not pooled" in md


def test_small_formatters():
    assert format_count(1232.0) == "1232" and format_count(None) == "" and format_count(2.5) == "2.5"
    assert format_p(0.0004) == "<0.001" and format_p(0.015) == "0.015" and format_p(0.3) == "0.30"
    assert header("comparator_class") == "Comparator" and header("q_p_value") == "p (heterogeneity)"
    assert header("cochrane-2025") == "cochrane-2025" and header("Effect (95% CI)") == "Effect (95% CI)"
    assert len(display_table(pd.DataFrame())) == 1  # "(no rows)"
