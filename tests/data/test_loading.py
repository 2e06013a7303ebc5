"""load_trials: a typed frame for good files; one TrialDataError listing EVERY problem otherwise.

Each error kind of issue 2 (and a few more) has its own test that asserts the problem names the
file, the spreadsheet row, the column and the offending value.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from .helpers import BASE, BINARY, CONTRAST, TEST_ONLY, VALID_ROWS, row, write_csv
from trialsynth import load_trials
from trialsynth.data.loading import check_trials
from trialsynth.data.schema import COLUMN_NAMES
from trialsynth.data.windows import make_windows
from trialsynth.errors import Problem, TrialDataError


def problems_of(path, **kw) -> list[Problem]:
    with pytest.raises(TrialDataError) as info:
        load_trials(path, **kw)
    items = info.value.items
    assert items, "a TrialDataError must carry at least one problem"
    for p in items:  # every problem names the file
        assert p.file == str(path)
    return items


def find(items, row=None, column=None, value=None, text=None) -> Problem:
    for p in items:
        if (row is None or p.row == row) and (column is None or p.column == column) and \
                (value is None or p.value == value) and (text is None or text in p.message):
            return p
    raise AssertionError(f"no problem with row={row} column={column} value={value} text={text!r} in:\n"
                         + "\n".join(map(str, items)))


def one_bad(tmp_path, bad_row, position=2):
    rows = list(VALID_ROWS)
    rows.insert(position - 2, bad_row)
    return write_csv(tmp_path / "trials.csv", rows)


# ----------------------------------------------------------------------------- good files

def test_valid_file_loads_typed(tmp_path):
    path = write_csv(tmp_path / "trials.csv", VALID_ROWS)
    df = load_trials(path)
    assert list(df.columns) == list(COLUMN_NAMES)
    assert list(df.index) == [2, 3, 4, 5] and df.index.name == "row"
    assert str(df["n1"].dtype) == "Int64" and str(df["events1"].dtype) == "Int64"
    assert df["mean1"].dtype == "float64"
    assert str(df["add_on"].dtype) == "boolean"
    assert isinstance(df["comparator_class"].dtype, pd.CategoricalDtype)
    assert list(df["comparator_class"].cat.categories) == ["sham", "no_treatment", "usual_care", "active"]
    assert df.loc[2, "mean1"] == 30.5 and df.loc[3, "events1"] == 20
    assert pd.isna(df.loc[4, "n1"])
    assert df.loc[2, "add_on"] == False  # noqa: E712
    assert df.attrs["source"] == str(path)


def test_string_path_and_pathlike_both_work(tmp_path):
    path = write_csv(tmp_path / "trials.csv", VALID_ROWS)
    assert len(load_trials(str(path))) == len(load_trials(path)) == 4


def test_optional_columns_may_be_left_out(tmp_path):
    cols = [c for c in COLUMN_NAMES if c not in ("notes", "country", "rob_source", "derived")]
    df = load_trials(write_csv(tmp_path / "t.csv", VALID_ROWS, columns=cols))
    assert "notes" in df.columns and df["notes"].isna().all()


def test_header_only_file_gives_empty_typed_frame(tmp_path):
    df = load_trials(write_csv(tmp_path / "t.csv", []))
    assert len(df) == 0 and list(df.columns) == list(COLUMN_NAMES)


# ----------------------------------------------------------------------------- error kinds

def test_every_problem_is_reported_not_just_the_first(tmp_path):
    path = write_csv(tmp_path / "t.csv", [row(n1="0"), row(BINARY, events1="99"), row(CONTRAST, effect="x")])
    items = problems_of(path)
    assert {p.row for p in items} == {2, 3, 4}
    assert str(TrialDataError(items)).startswith(f"{len(items)} problem(s) found")


def test_missing_required_value_for_shape(tmp_path):
    items = problems_of(one_bad(tmp_path, row(mean2="")))
    p = find(items, row=2, column="mean2", text="required when data_shape is arm_continuous")
    assert p.value is None
    items = problems_of(one_bad(tmp_path, row(BINARY, events2="")))
    find(items, row=2, column="events2", text="arm_binary")
    items = problems_of(one_bad(tmp_path, row(TEST_ONLY, p_value="")))
    find(items, row=2, column="p_value", text="test_only")
    items = problems_of(one_bad(tmp_path, row(CONTRAST, effect_measure="")))
    find(items, row=2, column="effect_measure")


def test_missing_required_on_every_row(tmp_path):
    items = problems_of(one_bad(tmp_path, row(outcome="")))
    find(items, row=2, column="outcome", text="required on every row")


def test_missing_dispersion_and_two_dispersions(tmp_path):
    items = problems_of(one_bad(tmp_path, row(sd1="")))
    find(items, row=2, column="sd1", text="arm 1 needs one dispersion")
    items = problems_of(one_bad(tmp_path, row(se2="3.1")))
    find(items, row=2, column="sd2", value="13.5", text="more than one dispersion")
    items = problems_of(one_bad(tmp_path, row(sd1="", ci_low1="20")))
    find(items, row=2, column="ci_high1", text="needs both limits")


def test_contrast_needs_ci_or_se(tmp_path):
    items = problems_of(one_bad(tmp_path, row(CONTRAST, effect_ci_low="", effect_ci_high="")))
    find(items, row=2, column="effect_ci_low", text="effect_se")


def test_non_numeric_text(tmp_path):
    items = problems_of(one_bad(tmp_path, row(mean1="about 30")))
    find(items, row=2, column="mean1", value="about 30", text="expected a number")


def test_fraction_in_integer_column(tmp_path):
    items = problems_of(one_bad(tmp_path, row(n1="40.5")))
    find(items, row=2, column="n1", value="40.5", text="whole number")


def test_nan_and_infinity_are_not_numbers(tmp_path):
    items = problems_of(one_bad(tmp_path, row(mean1="nan", mean2="inf")))
    find(items, row=2, column="mean1", value="nan")
    find(items, row=2, column="mean2", value="inf")


@pytest.mark.parametrize("column,value", [("n1", "0"), ("n2", "-3")])
def test_n_not_positive(tmp_path, column, value):
    items = problems_of(one_bad(tmp_path, row(**{column: value})))
    find(items, row=2, column=column, value=value, text="greater than 0")


@pytest.mark.parametrize("column,value", [("sd1", "0"), ("sd2", "-1.5")])
def test_sd_not_positive(tmp_path, column, value):
    items = problems_of(one_bad(tmp_path, row(**{column: value})))
    find(items, row=2, column=column, value=value, text="greater than 0")


def test_se_not_positive(tmp_path):
    items = problems_of(one_bad(tmp_path, row(sd1="", se1="0")))
    find(items, row=2, column="se1", value="0", text="greater than 0")


def test_events_above_total(tmp_path):
    items = problems_of(one_bad(tmp_path, row(BINARY, events2="41")))
    find(items, row=2, column="events2", value="41", text="more events than participants")


def test_events_negative(tmp_path):
    items = problems_of(one_bad(tmp_path, row(BINARY, events1="-1")))
    find(items, row=2, column="events1", value="-1", text="at least 0")


def test_arm_ci_not_containing_mean(tmp_path):
    items = problems_of(one_bad(tmp_path, row(sd1="", ci_low1="31", ci_high1="40")))
    find(items, row=2, column="ci_low1", value="31", text="does not contain the estimate")


def test_arm_ci_limits_out_of_order(tmp_path):
    items = problems_of(one_bad(tmp_path, row(sd1="", ci_low1="40", ci_high1="20")))
    find(items, row=2, column="ci_high1", value="20", text="greater than the lower")


def test_contrast_ci_not_containing_effect(tmp_path):
    items = problems_of(one_bad(tmp_path, row(CONTRAST, effect="2")))
    find(items, row=2, column="effect_ci_high", value="-3.75", text="does not contain the estimate")


def test_ratio_measure_must_be_positive(tmp_path):
    items = problems_of(one_bad(tmp_path, row(CONTRAST, effect_measure="RR", effect="-0.2",
                                              effect_ci_low="-0.5", effect_ci_high="0.1")))
    find(items, row=2, column="effect", value="-0.2", text="greater than 0")


def test_unknown_category_with_hint(tmp_path):
    items = problems_of(one_bad(tmp_path, row(comparator_class="waitlist")))
    p = find(items, row=2, column="comparator_class", value="waitlist", text="unknown category")
    assert "no_treatment" in p.message
    items = problems_of(one_bad(tmp_path, row(outcome="Pain")))
    assert "did you mean 'pain'" in find(items, row=2, column="outcome", value="Pain").message


def test_bad_boolean(tmp_path):
    items = problems_of(one_bad(tmp_path, row(add_on="yes")))
    find(items, row=2, column="add_on", value="yes", text="true or false")


def test_time_point_outside_every_window(tmp_path):
    items = problems_of(one_bad(tmp_path, row(weeks_after_treatment="", timepoint_weeks="3",
                                              treatment_weeks="5")))
    find(items, row=2, column="timepoint_weeks", value="3", text="outside every time window")
    # with custom windows a 52-week follow-up falls outside
    path = write_csv(tmp_path / "w.csv", [BASE, TEST_ONLY])
    items = problems_of(path, windows=make_windows({"early": (0, 26, 4)}))
    find(items, row=3, column="weeks_after_treatment", value="52", text="outside every time window")


def test_time_point_without_any_treatment_timing(tmp_path):
    items = problems_of(one_bad(tmp_path, row(weeks_after_treatment="", treatment_weeks="")))
    find(items, row=2, column="weeks_after_treatment", text="cannot place the time point")


def test_weeks_after_treatment_above_timepoint(tmp_path):
    items = problems_of(one_bad(tmp_path, row(weeks_after_treatment="9", timepoint_weeks="5")))
    find(items, row=2, column="weeks_after_treatment", value="9", text="cannot be more than timepoint_weeks")


def test_duplicate_keys_name_both_rows(tmp_path):
    path = write_csv(tmp_path / "t.csv", [BASE, BINARY, row(notes="same key again")])
    p = find(problems_of(path), row=4, column="study_id", value="Synth2001", text="duplicate key")
    assert "rows 2 and 4" in p.message


@pytest.mark.parametrize("column", ["source_id", "source_ref", "quote_ids", "source_location"])
def test_missing_source(tmp_path, column):
    items = problems_of(one_bad(tmp_path, row(**{column: ""})))
    find(items, row=2, column=column, text="needs its source")


def test_malformed_source_ref(tmp_path):
    items = problems_of(one_bad(tmp_path, row(source_ref="10.1000/abc")))
    find(items, row=2, column="source_ref", value="10.1000/abc", text="doi:")


def test_evidence_record_must_exist(tmp_path):
    ev = tmp_path / "evidence"
    ev.mkdir()
    for sid in ("synth2001", "synth2002", "synth2003"):
        (ev / f"{sid}.yaml").write_text("id: x\n")
    path = write_csv(tmp_path / "t.csv", VALID_ROWS)
    p = find(problems_of(path, evidence_dir=ev), row=5, column="source_id", value="synth2004")
    assert "no evidence record" in p.message
    (ev / "synth2004.yaml").write_text("id: x\n")
    assert len(load_trials(path, evidence_dir=ev)) == 4


def test_unknown_and_missing_columns(tmp_path):
    cols = [c for c in COLUMN_NAMES if c != "mean2"] + ["sd_1"]
    path = write_csv(tmp_path / "t.csv", [{**BASE, "sd_1": "3"}], columns=cols)
    items = problems_of(path)
    find(items, row=1, column="mean2", text="missing column")
    p = find(items, row=1, column="sd_1", value="sd_1", text="unknown column")
    assert "did you mean 'sd1'" in p.message


def test_duplicate_column_name(tmp_path):
    cols = list(COLUMN_NAMES) + ["notes"]
    items = problems_of(write_csv(tmp_path / "t.csv", [BASE], columns=cols))
    find(items, row=1, column="notes", text="appears twice")


def test_ragged_row(tmp_path):
    path = write_csv(tmp_path / "t.csv", VALID_ROWS)
    text = path.read_text().splitlines()
    text[2] = text[2] + ",extra"
    path.write_text("\n".join(text) + "\n")
    find(problems_of(path), row=3, text="cells but the header has")


def test_cell_of_another_shape(tmp_path):
    items = problems_of(one_bad(tmp_path, row(events1="3")))
    find(items, row=2, column="events1", value="3", text="belongs to data_shape arm_binary")


def test_scale_checks(tmp_path):
    items = problems_of(one_bad(tmp_path, row(mean1="305")))
    find(items, row=2, column="mean1", value="305", text="scale's range")
    items = problems_of(one_bad(tmp_path, row(scale_max="0")))
    find(items, row=2, column="scale_max", value="0", text="greater than scale_min")
    items = problems_of(one_bad(tmp_path, row(higher_is_better="true")))
    find(items, row=2, column="higher_is_better", value="true", text="VAS")


def test_p_value_out_of_range(tmp_path):
    items = problems_of(one_bad(tmp_path, row(TEST_ONLY, p_value="1.5")))
    find(items, row=2, column="p_value", value="1.5", text="at most 1")
    items = problems_of(one_bad(tmp_path, row(TEST_ONLY, p_value="0")))
    find(items, row=2, column="p_value", value="0", text="greater than 0")


def test_statistic_needs_type(tmp_path):
    items = problems_of(one_bad(tmp_path, row(TEST_ONLY, test_statistic="2.1")))
    find(items, row=2, column="statistic_type", text="go together")


def test_derived_names_real_columns(tmp_path):
    items = problems_of(one_bad(tmp_path, row(derived="timepoint_week=months_to_weeks")))
    find(items, row=2, column="derived", text="not a column")


def test_bad_ids(tmp_path):
    items = problems_of(one_bad(tmp_path, row(study_id="../etc/passwd")))
    find(items, row=2, column="study_id", value="../etc/passwd", text="starting with a letter")


def test_row_numbers_count_blank_rows_and_multiline_cells(tmp_path):
    path = write_csv(tmp_path / "t.csv", [row(notes="line one\nline two"), BINARY, row(CONTRAST, n1="0")])
    text = path.read_text()
    lines = text.split("\n")
    # a blank row between the 2nd and 3rd data rows (physical line 5 is after the 2-line cell)
    idx = next(i for i, l in enumerate(lines) if l.startswith("Synth2003"))
    lines.insert(idx, "")
    path.write_text("\n".join(lines))
    # spreadsheet rows: header 1, multiline row 2, binary 3, blank 4, contrast 5
    find(problems_of(path), row=5, column="n1", value="0")


def test_unreadable_file_is_one_problem(tmp_path):
    items = problems_of(tmp_path / "missing.csv")
    assert "not found" in items[0].message
    folder = tmp_path / "adir"
    folder.mkdir()
    assert "folder" in problems_of(folder)[0].message
    if os.path.exists("/dev/zero"):  # POSIX: a device would never end
        assert "not a regular file" in problems_of("/dev/zero")[0].message


def test_check_trials_reports_without_raising(tmp_path):
    report = check_trials(one_bad(tmp_path, row(n1="0")))
    assert not report.ok and report.frame is not None
    report = check_trials(write_csv(tmp_path / "ok.csv", VALID_ROWS))
    assert report.ok and "4 rows, 4 studies" in report.summary()


def test_scale_range_is_optional_but_both_or_neither(tmp_path):
    assert len(load_trials(one_bad(tmp_path, row(scale="other", scale_min="", scale_max="")))) == 5
    items = problems_of(one_bad(tmp_path, row(scale_max="")))
    find(items, row=2, column="scale_max", text="both scale_min and scale_max")


def test_a_file_without_the_header_is_one_problem(tmp_path):
    path = write_csv(tmp_path / "t.csv", VALID_ROWS)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[1:]) + "\n")  # header deleted
    items = problems_of(path)
    assert len(items) == 1 and items[0].row == 1 and "not the header" in items[0].message


def test_utf16_without_bom_is_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("study_id,year\nA2001,2001\n".encode("utf-16-le"))
    assert "UTF-16" in problems_of(path)[0].message


def test_change_score_larger_than_the_scale(tmp_path):
    items = problems_of(one_bad(tmp_path, row(value_type="change", mean1="-120", mean2="-20")))
    find(items, row=2, column="mean1", value="-120", text="cannot exceed the scale's width")


def test_year_out_of_range(tmp_path):
    items = problems_of(one_bad(tmp_path, row(year="1850")))
    find(items, row=2, column="year", value="1850", text="at least 1900")


def test_shared_arm_needs_its_name_and_the_name_its_marker(tmp_path):
    ok = write_csv(tmp_path / "ok.csv", [row(shared_arm="arm2", shared_arm_id="Synth2001_uc",
                                             treatment_course="course")])
    df = load_trials(ok)
    assert df.loc[2, "shared_arm"] == "arm2" and df.loc[2, "shared_arm_id"] == "Synth2001_uc"
    items = problems_of(one_bad(tmp_path, row(shared_arm="arm2")))
    find(items, row=2, column="shared_arm_id", text="go together")
    items = problems_of(one_bad(tmp_path, row(shared_arm_id="Synth2001_uc")))
    find(items, row=2, column="shared_arm", text="go together")
    items = problems_of(one_bad(tmp_path, row(shared_arm="arm3", shared_arm_id="x")))
    find(items, row=2, column="shared_arm")
    items = problems_of(one_bad(tmp_path, row(treatment_course="one")))
    find(items, row=2, column="treatment_course")


# ----------------------------------------------------------------------------- pooling-rule columns (issue 13)


def test_sham_type_needs_its_quote_and_a_sham_comparator(tmp_path):
    ok = row(BASE, study_id="Synth2009", sham_type="penetrating", sham_type_quote="Q1")
    assert load_trials(one_bad(tmp_path, ok))["sham_type"].iloc[0] == "penetrating"
    items = problems_of(one_bad(tmp_path, row(BASE, sham_type="penetrating")))
    find(items, row=2, column="sham_type_quote", text="go together")
    items = problems_of(one_bad(tmp_path, row(BASE, comparator_class="usual_care", sham_type="placebo_tens",
                                              sham_type_quote="Q1")))
    find(items, row=2, column="sham_type", value="placebo_tens", text="sham comparator")
    items = problems_of(one_bad(tmp_path, row(BASE, sham_type="toothpick", sham_type_quote="Q1")))
    find(items, row=2, column="sham_type", value="toothpick")


def test_baseline_means_go_together_on_final_values(tmp_path):
    ok = row(BASE, study_id="Synth2009", baseline_mean1="60", baseline_mean2="58")
    df = load_trials(one_bad(tmp_path, ok))
    assert df["baseline_mean1"].iloc[0] == 60.0 and df["baseline_mean2"].iloc[0] == 58.0
    find(problems_of(one_bad(tmp_path, row(BASE, baseline_mean1="60"))), row=2, column="baseline_mean2", text="neither")
    change = row(BASE, value_type="change", mean1="-10", mean2="-5", baseline_mean1="60", baseline_mean2="58")
    find(problems_of(one_bad(tmp_path, change)), row=2, column="baseline_mean1", text="final-value rows")
    binary = row(BINARY, baseline_mean1="1", baseline_mean2="2")
    find(problems_of(one_bad(tmp_path, binary)), row=2, column="baseline_mean1", text="arm_continuous")
