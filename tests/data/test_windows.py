"""Time windows: assignment from weeks after treatment and one row per trial per window."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from .helpers import BASE, BINARY, VALID_ROWS, row, write_csv
from trialsynth import DEFAULT_WINDOWS, assign_windows, load_trials, select_per_window
from trialsynth.data.windows import (TimeWindow, describe_windows, make_windows, selection_report,
                                     window_of)
from trialsynth.errors import ArgumentError, TrialDataError


def frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"study_id": ["S"] * n, "comparator_class": ["sham"] * n, "outcome": ["pain"] * n}
    base.update(cols)
    return pd.DataFrame(base, index=pd.Index(range(2, 2 + n), name="row"))


def test_default_windows_are_the_cochrane_four_without_gaps():
    assert [w.name for w in DEFAULT_WINDOWS] == ["immediate", "short", "intermediate", "long"]
    # boundaries: <7 days (day 7 counted immediate), 8 days..3 months, >3..<12 months, >=12 months
    cases = {0: "immediate", 6 / 7: "immediate", 1.0: "immediate", 8 / 7: "short", 4: "short",
             13: "short", 13.01: "intermediate", 26: "intermediate", 51.9: "intermediate",
             52: "long", 260: "long"}
    for weeks, name in cases.items():
        assert window_of(weeks) == name, weeks
    assert window_of(-0.5) is None and window_of(float("nan")) is None
    for w in DEFAULT_WINDOWS:
        assert w.definition and w.label and w.contains(w.target)


def test_assign_uses_weeks_after_or_timepoint_minus_treatment():
    df = frame(timepoint_weeks=[8.0, 20.0, 60.0], treatment_weeks=[8.0, 4.0, 8.0],
               weeks_after_treatment=[float("nan"), 12.0, float("nan")])
    out = assign_windows(df)
    assert list(out["weeks_after"]) == [0.0, 12.0, 52.0]
    assert list(out["window"]) == ["immediate", "short", "long"]
    assert list(out["window"].cat.categories) == ["immediate", "short", "intermediate", "long"]
    assert "window" not in df.columns  # input untouched


def test_assign_reports_rows_outside_every_window():
    df = frame(timepoint_weeks=[2.0, 8.0], treatment_weeks=[8.0, float("nan")],
               weeks_after_treatment=[float("nan"), float("nan")])
    df.attrs["source"] = "trials.csv"
    with pytest.raises(TrialDataError) as info:
        assign_windows(df)
    rows = {p.row: p for p in info.value.items}
    assert "outside every time window" in rows[2].message and rows[2].value == "-6"
    assert "cannot place" in rows[3].message
    kept = assign_windows(df, on_outside="keep")
    assert kept["window"].isna().all()
    dropped = assign_windows(df, on_outside="drop")
    assert dropped.empty and len(dropped.attrs["outside_windows"]) == 2


def test_select_closest_to_target_then_priority_then_row():
    df = frame(
        study_id=["A", "A", "A", "B", "B", "C", "C"],
        timepoint_weeks=[12.0, 20.0, 17.0, 30.0, 30.0, 30.0, 30.0],
        treatment_weeks=[8.0] * 7,
        weeks_after_treatment=[float("nan")] * 7,
        priority=pd.array([None, None, None, 2, 1, None, None], dtype="Int64"),
    )
    # A: 4, 12, 9 weeks after -> short window (target 13): 12 wins
    # B: two rows at 22 weeks (intermediate), priority 1 wins; C: tie, earlier row wins
    out = select_per_window(df)
    assert list(out.index) == [3, 6, 7]
    assert sorted(out.attrs["dropped_rows"]) == [2, 4, 5, 8]
    report = selection_report(out)
    assert list(report["kept"]) == [3, 6, 7]
    assert list(report["decided_by"]) == ["closest", "priority", "file order"]
    assert report.loc[0, "dropped"] == [4, 2]
    latest = select_per_window(df, rule="latest")
    assert 3 in latest.index
    earliest = select_per_window(df, rule="earliest")
    assert 2 in earliest.index


def test_select_keeps_one_row_per_group_and_never_more():
    df = load_trials(write_csv_tmp(VALID_ROWS + [row(timepoint_weeks="6", weeks_after_treatment="1"),
                                                 row(BINARY, timepoint_weeks="18", weeks_after_treatment="13")]))
    out = select_per_window(assign_windows(df))
    keys = ["study_id", "comparator_class", "outcome", "window"]
    assert not out.duplicated(subset=keys).any()
    # Synth2001 pain immediate: weeks 0 (target 0) beats weeks 1
    assert out.loc[out["study_id"] == "Synth2001", "weeks_after"].tolist() == [0.0]


def write_csv_tmp(rows):
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())
    return write_csv(folder / "trials.csv", rows)


def test_separate_comparators_and_outcomes_are_separate_groups():
    df = frame(study_id=["A", "A", "A"], comparator_class=["sham", "usual_care", "sham"],
               outcome=["pain", "pain", "function"], timepoint_weeks=[8.0, 8.0, 8.0],
               treatment_weeks=[8.0, 8.0, 8.0], weeks_after_treatment=[float("nan")] * 3)
    assert len(select_per_window(df)) == 3


def test_custom_windows_and_validation():
    ws = make_windows({"early": (0, 13, 4), "late": (13, None, 52)})
    assert ws[1].upper == math.inf and window_of(13, ws) == "late" and window_of(12.9, ws) == "early"
    df = frame(timepoint_weeks=[8.0, 100.0], treatment_weeks=[4.0, 4.0],
               weeks_after_treatment=[float("nan")] * 2)
    assert list(assign_windows(df, ws)["window"]) == ["early", "late"]
    with pytest.raises(ArgumentError, match="overlap"):
        make_windows({"a": (0, 10, 5), "b": (5, 20, 10)})
    with pytest.raises(ArgumentError, match="target"):
        TimeWindow("x", 0, 1, 5)
    with pytest.raises(ArgumentError, match="lower"):
        TimeWindow("x", 3, 1, 2)
    with pytest.raises(ArgumentError, match="rule"):
        select_per_window(df, rule="best")
    with pytest.raises(ArgumentError):
        assign_windows("not a frame")


def test_default_definitions_are_the_ones_quoted_in_the_evidence_record():
    """The immediate and short windows quote Mu 2020's summary-of-findings table verbatim."""
    from pathlib import Path

    from trialsynth.data.io import load_yaml

    record = load_yaml(Path(__file__).resolve().parents[2] / "evidence" / "Mu2020.yaml")
    quoted = " ".join(str(q.get("text", "")) for q in record["quotes"].values())
    assert "< 7 days after the end of the sessions" in quoted
    assert "8 days to 3 months" in quoted
    by = {w.name: w for w in DEFAULT_WINDOWS}
    assert "< 7 days after the end of the sessions" in by["immediate"].definition
    assert "8 days to 3 months" in by["short"].definition
    # 7 days = 1 week closes 'immediate'; 8 days opens 'short'; 3 months = 13 weeks closes it
    assert by["immediate"].contains(7 / 7) and by["short"].contains(8 / 7) and by["short"].contains(13)


def test_describe_windows_table():
    table = describe_windows()
    assert list(table["name"]) == ["immediate", "short", "intermediate", "long"]
    assert list(table["bounds"]) == ["[0, 1]", "(1, 13]", "(13, 52)", "[52, inf)"]
    assert table["definition"].str.len().min() > 10
