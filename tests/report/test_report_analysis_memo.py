"""run_analysis memoises by the bytes of its inputs: identical inputs give an equal, independent
copy; an edited input file gives a fresh analysis."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from trialsynth.report import analysis as analysis_module
from trialsynth.report.analysis import run_analysis

ROOT = Path(__file__).resolve().parents[2]


def test_memo_returns_independent_copies_and_follows_edits(tmp_path):
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "data", proj / "data")
    shutil.copytree(ROOT / "evidence", proj / "evidence")
    data = proj / "data" / "trials.csv"
    analysis_module._MEMO.clear()
    first = run_analysis(data)
    second = run_analysis(data)
    assert second is not first and second.grouped is not first.grouped
    pd.testing.assert_frame_equal(first.pooled, second.pooled)
    pd.testing.assert_frame_equal(first.verdicts, second.verdicts)
    second.notes.append("changed by a caller")
    second.pooled.loc[:, "estimate"] = 0.0
    third = run_analysis(data)
    assert "changed by a caller" not in third.notes
    pd.testing.assert_frame_equal(first.pooled, third.pooled)

    # drop the last trial row: a new key, a new analysis
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    data.write_text("".join(lines[:-1]), encoding="utf-8")
    fourth = run_analysis(data)
    assert len(fourth.trials) == len(first.trials) - 1
    # and an edited evidence file changes the key too
    key = analysis_module._memo_key(data, "cochrane-2025", None, proj / "data" / "reviews.csv", proj / "evidence",
                                    proj / "evidence" / "claims.yaml", "SMD", False)
    some_file = next(p for p in sorted((proj / "evidence").rglob("*")) if p.is_file())
    some_file.write_bytes(some_file.read_bytes() + b"\n")
    assert key != analysis_module._memo_key(data, "cochrane-2025", None, proj / "data" / "reviews.csv",
                                            proj / "evidence", proj / "evidence" / "claims.yaml", "SMD", False)
