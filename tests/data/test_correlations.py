"""data/correlations.csv: the declared within-person correlations and their validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialsynth.data.correlations import CORRELATION_COLUMNS, load_correlations
from trialsynth.errors import TrialDataError

ROOT = Path(__file__).resolve().parents[2]
HEADER = ",".join(CORRELATION_COLUMNS)


def test_shipped_file_loads():
    frame = load_correlations(ROOT / "data" / "correlations.csv", evidence_dir=ROOT / "evidence")
    assert list(frame.columns)[: len(CORRELATION_COLUMNS)] == list(CORRELATION_COLUMNS)
    assert frame["rho"].between(-1, 1, inclusive="neither").all()


def test_a_valid_row(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(HEADER + "\nHaake2007,pain,0.62,Haake2007,doi:10.1001/archinte.167.17.1892,table 3,Q1,,\n")
    frame = load_correlations(p)
    assert frame.loc[2, "rho"] == 0.62 and "table 3" in frame.loc[2, "source"]


def test_every_problem_is_reported_with_row_and_column(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(HEADER + ",extra\n"
                 "Haake2007,pain,1.2,Haake2007,doi:10.1/x,table 3,Q1,,,\n"
                 "Haake2007,pain,0.5,,doi:10.1/x,table 3,Q1,,,\n"
                 "9bad,pains,abc,X,isbn:1,p 1,Q1,,,\n")
    with pytest.raises(TrialDataError) as err:
        load_correlations(p, evidence_dir=tmp_path)
    text = "\n".join(err.value.problems())
    assert "column 'extra'" in text and "unknown column" in text
    assert "row 2, column 'rho'" in text and "(-1, 1)" in text
    assert "row 3, column 'source_id': required" in text
    assert "a second row for this study and outcome" in text
    assert "row 4, column 'study_id'" in text and "row 4, column 'outcome'" in text
    assert "row 4, column 'rho'" in text and "row 4, column 'source_ref'" in text
    assert "no evidence record Haake2007.yaml" in text
