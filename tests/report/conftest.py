"""Shared fixtures of the report tests."""

import csv
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def without_study(tmp_path):
    """``make(study)``: a copy of the shipped data/ and evidence/ in ``tmp_path/proj`` without that
    study's rows, and ``tmp_path/new_rows.csv`` holding them (to re-add with add-trial). Returns
    ``(project folder, data file, new rows file, header, removed rows)``."""

    def make(study: str):
        proj = tmp_path / "proj"
        shutil.copytree(ROOT / "data", proj / "data")
        shutil.copytree(ROOT / "evidence", proj / "evidence")
        data = proj / "data" / "trials.csv"
        rows = list(csv.reader(data.open(encoding="utf-8")))
        header, body = rows[0], rows[1:]
        sid = header.index("study_id")
        removed = [r for r in body if r[sid] == study]
        assert removed, f"the shipped data must hold {study}, which this test re-adds"
        with data.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows([header] + [r for r in body if r[sid] != study])
        new_rows = tmp_path / "new_rows.csv"
        with new_rows.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows([header] + removed)
        return proj, data, new_rows, header, removed

    return make
