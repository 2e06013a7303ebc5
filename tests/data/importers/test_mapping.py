"""review_to_trials: imported rows validate against the schema and against their provenance
("imported from FILE, analysis X.Y"), and the provenance check stays strict."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from trialsynth.data import provenance
from trialsynth.data.importers import mapping_template, read_cochrane_data_package, read_revman5, review_to_trials
from trialsynth.data.importers.mapping import validate_import
from trialsynth.errors import ArgumentError

from .helpers import FURLAN_MAPPING, FURLAN_PACKAGE, FURLAN_RM5, ROOT


def _mapping() -> dict:
    return yaml.safe_load(FURLAN_MAPPING.read_text(encoding="utf-8"))


def _import(source=FURLAN_RM5, mapping=None):
    review = read_revman5(source) if str(source).endswith(".rm5") else read_cochrane_data_package(source)
    return review_to_trials(review, _mapping() if mapping is None else mapping, mapping_label="CD001351-mapping.yaml",
                            accessed="2026-01-01")


def test_furlan_rows_validate_with_their_provenance():
    result = _import()
    assert result.ok, result.problems
    rows = result.trials.set_index("study_id")
    assert list(rows.index) == ["Kerr2003", "Leibing2002", "Molsberger2002"]
    assert result.skipped == ["analysis 5.1, Mendelson 1983: skipped by the mapping (skip_studies)"]
    kerr = rows.loc["Kerr2003"]
    assert kerr["source_location"] == "imported from CD001351-analysis-5.1.rm5, analysis 5.1"
    assert kerr["source_ref"] == "doi:10.1002/14651858.CD001351.pub2"
    assert kerr["quote_ids"] == "A5.1_G1_Kerr2003;M5.1;M5.1_Kerr2003"
    assert (kerr["data_shape"], kerr["n1"], kerr["mean1"], kerr["sd1"], kerr["n2"], kerr["mean2"], kerr["sd2"]) == \
        ("arm_continuous", "26", "51.3", "22.4", "20", "61.7", "30.6")
    assert (kerr["timepoint_weeks"], kerr["treatment_weeks"], kerr["weeks_after_treatment"]) == ("6", "6", "0")
    assert kerr["intervention_label"] == "Acupuncture" and kerr["comparator_label"] == "placebo / sham"
    assert "from the reviewer's mapping, not the review file" in kerr["notes"]
    assert "file footnote: control: placebo TENS" in kerr["notes"]
    record = result.record
    assert record["kind"] == "review_file" and record["file"] == "CD001351-analysis-5.1.rm5"
    assert len(record["sha256"]) == 64
    assert record["quotes"]["A5.1_G1_Kerr2003"]["text"].startswith('CONT_DATA CI_END="5.54"')
    assert record["quotes"]["M5.1_Kerr2003"]["url"] == "file:CD001351-mapping.yaml"


def test_package_rows_validate_and_cite_the_file_without_a_doi():
    result = _import(FURLAN_PACKAGE)
    assert result.ok, result.problems
    assert set(result.trials["source_ref"]) == {"file:CD001351-package"}
    assert result.trials.iloc[0]["quote_ids"].startswith("A5.1_G1_Kerr2003")
    assert "CD001351-data-rows.csv row 2" in result.record["quotes"]["A5.1_G1_Kerr2003"]["text"]


def test_a_changed_number_fails_the_provenance_check():
    result = _import()
    frame = result.trials.copy()
    frame.loc[0, "mean1"] = "51.4"
    problems = validate_import(frame, result.record, rows_file="t.csv")
    assert [(p.row, p.column) for p in problems] == [(2, "mean1")]
    assert "not printed in quotes A5.1_G1_Kerr2003;M5.1;M5.1_Kerr2003" in problems[0].message


def test_imported_rows_must_say_where_in_the_file():
    result = _import()
    frame = result.trials.copy()
    frame.loc[0, "source_location"] = "table 2"
    frame.loc[1, "source_location"] = "imported from other.rm5, analysis 5.1"
    frame.loc[2, "quote_ids"] = "M5.1;A5.1_G1_Molsberger2002;M5.1_Molsberger2002"
    problems = validate_import(frame, result.record, rows_file="t.csv")
    got = {(p.row, p.column) for p in problems}
    assert got == {(2, "source_location"), (3, "source_location"), (4, "quote_ids")}


def test_provenance_stays_strict_for_everything_else():
    """file: references and review_file leniency apply to review_file records only."""
    record = yaml.safe_load((ROOT / "evidence" / "Kerr2003.yaml").read_text(encoding="utf-8"))
    trials = pd.read_csv(ROOT / "data" / "trials.csv", dtype=str, keep_default_na=False)
    kerr = trials[trials["study_id"] == "Kerr2003"].head(1).copy()
    assert provenance.check_trials(kerr, {"Kerr2003": record}) == []
    kerr["source_ref"] = "file:Kerr2003.rm5"
    (problem,) = provenance.check_trials(kerr, {"Kerr2003": record})
    assert problem.column == "source_ref" and "not a review_file record" in problem.message
    broken = dict(_import().record)
    broken.pop("sha256")
    assert [p.column for p in provenance.check_records({broken["id"]: broken})] == ["sha256"]


def test_without_a_mapping_every_missing_column_is_reported():
    review = read_revman5(FURLAN_RM5)
    result = review_to_trials(review, None)
    assert not result.ok and len(result.trials) == 4
    missing = {p.column for p in result.problems if "missing value" in p.message}
    assert {"condition", "intervention_type", "comparator_class", "outcome", "scale", "higher_is_better",
            "timepoint_weeks", "value_type"} <= missing
    assert all(p.file == "imported-trials.csv" and p.row in (2, 3, 4, 5) for p in result.problems)


def test_mapping_cannot_override_the_file_and_is_checked():
    mapping = _mapping()
    mapping["analyses"]["5.1"]["mean1"] = 40
    with pytest.raises(ArgumentError, match="mean1 come from the review file"):
        _import(mapping=mapping)
    mapping = _mapping()
    mapping["analyses"]["5.1"]["timepoint"] = 6
    with pytest.raises(ArgumentError, match="unknown column.*timepoint"):
        _import(mapping=mapping)
    with pytest.raises(ArgumentError, match="unknown key"):
        _import(mapping={"analysis": {}})


def test_analyses_not_in_the_mapping_are_skipped():
    mapping = _mapping()
    mapping["analyses"] = {"9.9": {}}
    result = _import(mapping=mapping)
    assert len(result.trials) == 0 and result.skipped[0].startswith("analysis 5.1")


def test_mapping_template_lists_every_analysis_and_subgroup():
    text = mapping_template(read_revman5(FURLAN_RM5))
    data = yaml.safe_load(text)
    assert data["source_id"] == "CD001351_rm5"
    assert list(data["analyses"]) == ["5.1"] and data["analyses"]["5.1"]["value_type"] is None
    assert list(data["analyses"]["5.1"]["subgroups"]) == [1]
    assert "# Immediately after the end of the sessions" in text
