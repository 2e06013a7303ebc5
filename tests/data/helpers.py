"""Synthetic trial rows for the data-layer tests (made-up study ids; not real trial data)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from trialsynth.data.schema import COLUMN_NAMES

BASE = {
    "study_id": "Synth2001", "comparison_id": "acu_vs_sham", "year": "2001", "country": "Nowhere",
    "condition": "chronic_lbp", "intervention_type": "manual", "intervention_label": "needling",
    "comparator_class": "sham", "comparator_label": "minimal needling", "add_on": "false",
    "sessions": "10", "sessions_per_week": "2", "session_minutes": "30", "treatment_weeks": "5",
    "outcome": "pain", "scale": "VAS", "scale_min": "0", "scale_max": "100",
    "higher_is_better": "false", "timepoint_weeks": "5", "weeks_after_treatment": "0",
    "rob": "low", "rob_source": "synthetic", "data_shape": "arm_continuous", "value_type": "final",
    "n1": "40", "mean1": "30.5", "sd1": "12.0", "n2": "38", "mean2": "40.25", "sd2": "13.5",
    "source_id": "synth2001", "source_ref": "doi:10.1000/synth.2001", "source_location": "table 2",
    "quote_ids": "Q1;Q2", "priority": "1", "notes": "synthetic test row",
}

BINARY = {**BASE, "study_id": "Synth2002", "outcome": "responder", "scale": "responder",
          "scale_min": "", "scale_max": "", "data_shape": "arm_binary", "value_type": "",
          "mean1": "", "sd1": "", "mean2": "", "sd2": "", "events1": "20", "events2": "10",
          "n1": "40", "n2": "40", "source_id": "synth2002"}

CONTRAST = {**BASE, "study_id": "Synth2003", "data_shape": "contrast", "value_type": "",
            "mean1": "", "sd1": "", "mean2": "", "sd2": "", "n1": "", "n2": "",
            "effect_measure": "MD", "effect": "-9.5", "effect_ci_low": "-15.25",
            "effect_ci_high": "-3.75", "source_id": "synth2003", "timepoint_weeks": "17",
            "weeks_after_treatment": "12"}

TEST_ONLY = {**BASE, "study_id": "Synth2004", "data_shape": "test_only", "value_type": "",
             "mean1": "", "sd1": "", "mean2": "", "sd2": "", "p_value": "0.03", "p_qualifier": "=",
             "direction": "favours_intervention", "source_id": "synth2004",
             "timepoint_weeks": "57", "weeks_after_treatment": "52"}

VALID_ROWS = [BASE, BINARY, CONTRAST, TEST_ONLY]


def csv_text(rows, columns=COLUMN_NAMES, delimiter=",", lineterminator="\n") -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator)
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    return buf.getvalue()


def write_csv(path: Path, rows, columns=COLUMN_NAMES, *, encoding="utf-8", delimiter=",",
              lineterminator="\n") -> Path:
    path.write_bytes(csv_text(rows, columns, delimiter, lineterminator).encode(encoding))
    return path


def row(base=BASE, **changes) -> dict:
    return {**base, **{k: str(v) for k, v in changes.items()}}
