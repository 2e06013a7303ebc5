"""data/review_coverage.csv: for each published estimate, which of its trials we hold and how its
time window is defined (issue 13 item 3). Every claim in the file is checked against the data
and the verbatim quotes it names."""

import re
from pathlib import Path

import pandas as pd
import pytest

from trialsynth.data import provenance as prov

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tables():
    coverage = pd.read_csv(ROOT / "data" / "review_coverage.csv", dtype=str, keep_default_na=False)
    reviews = pd.read_csv(ROOT / "data" / "reviews.csv", dtype=str, keep_default_na=False)
    trials = pd.read_csv(ROOT / "data" / "trials.csv", dtype=str, keep_default_na=False)
    records = prov.load_records(ROOT / "evidence")
    return coverage, reviews, trials, records


KEY = ["review_id", "comparison", "outcome", "condition", "window", "measure"]


def _quotes(records, source_id, ids):
    quotes = records[source_id]["quotes"]
    return " ".join(str(quotes[q]["text"]) for q in ids.split(";") if q)


def test_one_coverage_row_per_published_estimate(tables):
    coverage, reviews, _, _ = tables
    assert sorted(map(tuple, coverage[KEY].values)) == sorted(map(tuple, reviews[KEY].values))


def test_named_trials_are_printed_and_held_ones_are_in_the_data(tables):
    coverage, _, trials, records = tables
    listed = coverage[coverage["trials_listed"] == "true"]
    assert len(listed) >= 2
    for _, row in listed.iterrows():
        text = _quotes(records, row["review_id"], row["trials_quote_ids"])
        names = row["trials_in_review"].split(";")
        for name in names:
            assert name in text, (row["review_id"], name)
        held = [s for s in row["held_study_ids"].split(";") if s]
        not_held = [s for s in row["not_held"].split(";") if s]
        assert len(held) + len(not_held) == len(names)
        for study in held:
            mine = trials[(trials["study_id"] == study) & (trials["comparator_class"] == row["comparison"])
                          & (trials["outcome"] == row["outcome"])]
            assert len(mine) >= 1, (row["review_id"], study)
    unlisted = coverage[coverage["trials_listed"] == "false"]
    assert (unlisted[["trials_in_review", "held_study_ids", "not_held"]] == "").all().all()


def test_window_definitions_are_quoted(tables):
    coverage, _, _, records = tables
    defined = coverage[coverage["window_source_id"] != ""]
    assert {"Mu2020", "AHRQ2020"} <= set(defined["review_id"])
    for _, row in defined.iterrows():
        text = _quotes(records, row["window_source_id"], row["window_quote_ids"])
        parts = re.findall(r'"([^"]+)"', row["review_window"]) or [row["review_window"].split(" (definition")[0]]
        for part in parts:
            assert part in text, (row["review_id"], part)
    assert set(coverage["window_differs"]) <= {"true", "false", "unknown"}
    ahrq = coverage[coverage["review_id"] == "AHRQ2020"]
    assert (ahrq["window_differs"] == "true").all()
