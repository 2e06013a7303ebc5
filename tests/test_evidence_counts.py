"""evidence/README.md states what the data hold; this test recomputes each count from the files."""

import re
from pathlib import Path

import pandas as pd

from trialsynth import load_trials
from trialsynth.data.provenance import load_records
from trialsynth.data.windows import weeks_after_treatment

ROOT = Path(__file__).resolve().parents[1]


def _stated() -> dict[str, int]:
    text = (ROOT / "evidence" / "README.md").read_text(encoding="utf-8")
    section = text.split("## Counts", 1)[1]
    return {m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"^\| (.+?) \| (\d+) \|$", section, re.M)}


def _actual() -> dict[str, int]:
    records = load_records(ROOT / "evidence")
    trials = load_trials(ROOT / "data" / "trials.csv")
    after = weeks_after_treatment(trials)
    reviews = pd.read_csv(ROOT / "data" / "reviews.csv")
    coverage = pd.read_csv(ROOT / "data" / "review_coverage.csv", dtype=str, keep_default_na=False)
    return {
        "evidence records (`evidence/*.yaml` without `claims.yaml`)": len(records),
        "verbatim quotes in them": sum(len(r.get("quotes") or {}) for r in records.values()),
        "rows in `data/trials.csv`": len(trials),
        "studies in `data/trials.csv`": trials["study_id"].nunique(),
        "studies with a time point 26 weeks or more after the end of treatment":
            trials.loc[after >= 26, "study_id"].nunique(),
        "studies with a time point 52 weeks or more after the end of treatment":
            trials.loc[after >= 52, "study_id"].nunique(),
        "rows in `data/reviews.csv`": len(reviews),
        "rows of `data/reviews.csv` whose trials are listed (`data/review_coverage.csv`)":
            int((coverage["trials_listed"] == "true").sum()),
        "studies with a risk-of-bias judgement (`rob`)": trials.loc[trials["rob"].notna(), "study_id"].nunique(),
    }


def test_readme_counts_are_current():
    stated, actual = _stated(), _actual()
    assert set(stated) == set(actual), "the Counts table lists other items than the test computes"
    stale = {k: (stated[k], actual[k]) for k in actual if stated[k] != actual[k]}
    assert not stale, f"evidence/README.md Counts are stale (stated, actual): {stale}"
