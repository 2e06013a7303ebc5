"""The joint models read the within-person correlations declared in data/correlations.csv (issue 15, item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialsynth.errors import TrialDataError
from trialsynth.report.analysis import _declared_correlations, run_analysis
from trialsynth.report.stages import durability_stage

ROOT = Path(__file__).resolve().parents[2]
HEADER = "study_id,outcome,rho,source_id,source_ref,source_location,quote_ids,derived,notes\n"


def test_declared_correlations_file_absent_shipped_and_invalid(tmp_path):
    assert _declared_correlations(tmp_path / "correlations.csv", ROOT / "evidence", False) == (None, [])
    shipped, notes = _declared_correlations(ROOT / "data" / "correlations.csv", ROOT / "evidence", False)
    assert shipped is not None and notes == []
    bad = tmp_path / "correlations.csv"
    bad.write_text(HEADER + "Haake2007,pain,1.5,x,PMID:1,Table 2,,no,\n", encoding="utf-8")
    corr, notes = _declared_correlations(bad, ROOT / "evidence", False)
    assert corr is None and len(notes) == 1 and "correlations.csv not used" in notes[0] and "rho" in notes[0]
    with pytest.raises(TrialDataError):
        _declared_correlations(bad, ROOT / "evidence", True)


def test_durability_stage_uses_a_declared_correlation():
    an = run_analysis(str(ROOT / "data" / "trials.csv"), "cochrane-2025", None)
    assert "correlations" in an.stages
    effects = an.stages["effects"]
    declared = {"Haake2007": 0.8}
    d = durability_stage(effects, an.stages["pooled"], outcome="pain", correlations=declared)
    src = d.covariance.rho.set_index("study_id") if "study_id" in d.covariance.rho.columns else d.covariance.rho
    row = src.loc["Haake2007"]
    assert float(row["rho"]) == 0.8 and str(row["source"]).startswith("declared")
    base = an.stages["durability"]["pain"]
    other = base.covariance.rho
    other = other.set_index("study_id") if "study_id" in other.columns else other
    assert float(other.loc["Haake2007", "rho"]) == 0.5
    # the declared correlation moves the contrasts (GERAC reports several follow-ups)
    assert not d.contrasts["estimate"].fillna(0).equals(base.contrasts["estimate"].fillna(0))
