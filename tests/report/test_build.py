"""``build_report``: works with whatever data exists, links everything, and follows an added trial."""

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from trialsynth.errors import TrialDataError
from trialsynth.report.build import build_report

ROOT = Path(__file__).resolve().parents[2]


def project_copy(tmp_path: Path) -> Path:
    """A copy of the shipped data and evidence (the report reads both), nothing else."""
    dst = tmp_path / "proj"
    shutil.copytree(ROOT / "data", dst / "data")
    shutil.copytree(ROOT / "evidence", dst / "evidence")
    return dst


def links(index: Path) -> list[str]:
    return re.findall(r"(?:href|src)='([^'#:]+)'", index.read_text(encoding="utf-8"))


def test_missing_and_empty_data_give_a_report_not_a_crash(tmp_path):
    proj = project_copy(tmp_path)
    (proj / "data" / "trials.csv").unlink()
    out = tmp_path / "out"
    index = build_report(proj / "data" / "trials.csv", out, execute_notebooks=False)
    text = index.read_text(encoding="utf-8")
    assert "No trial data" in text and "does not exist" in text
    assert (out / "tables" / "pooled_estimates.csv").is_file() and (out / "changes.md").is_file()
    header = next(csv.reader((ROOT / "data" / "trials.csv").open(encoding="utf-8")))
    (proj / "data" / "trials.csv").write_text(",".join(header) + "\n", encoding="utf-8")
    index = build_report(proj / "data" / "trials.csv", out, execute_notebooks=False)
    assert "has a header but no rows" in index.read_text(encoding="utf-8")
    # the claims are still judged (documentary claims need no trials)
    verdicts = pd.read_csv(out / "tables" / "claims_verdicts.csv")
    assert len(verdicts) >= 6 and set(verdicts["verdict"]) <= {"supported", "contradicted", "mixed", "insufficient evidence"}


def test_invalid_data_report_lists_problems_then_raises(tmp_path):
    proj = project_copy(tmp_path)
    path = proj / "data" / "trials.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    rows[1][rows[0].index("year")] = "nineteen"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    out = tmp_path / "out"
    with pytest.raises(TrialDataError, match="year"):
        build_report(path, out, execute_notebooks=False)
    text = (out / "index.html").read_text(encoding="utf-8")
    assert "did not validate" in text and "nineteen" in text


def test_writes_only_inside_out_dir_and_links_resolve(tmp_path):
    proj = project_copy(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in proj.rglob("*")}
    out = tmp_path / "out"
    index = build_report(proj / "data" / "trials.csv", out, execute_notebooks=False)
    after = {p: p.stat().st_mtime_ns for p in proj.rglob("*")}
    assert before == after, "the report touched files outside out_dir"
    assert not [p for p in tmp_path.iterdir() if p.name not in ("proj", "out")]
    targets = links(index)
    assert "changes.html" in targets and any(t.startswith("tables/") for t in targets)
    for t in targets:
        assert (out / t).is_file(), f"index links a missing file: {t}"
    timings = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    assert timings["total"] > 0 and "analysis.load_validate" in timings
    assert not list(out.rglob("*.tmp"))


@pytest.mark.slow
def test_added_trial_flows_into_estimates_figures_claims_and_changes(tmp_path, without_study):
    study = "Liu2023"  # the article's trial: its rows feed a pooled group and claim C2
    proj, data, new_rows, header, removed = without_study(study)
    sid = header.index("study_id")

    out = tmp_path / "out"
    build_report(data, out, notebooks_dir=ROOT / "notebooks", execute_notebooks=True)
    pooled1 = pd.read_csv(out / "tables" / "pooled_estimates.csv")
    verdicts1 = pd.read_csv(out / "tables" / "claims_verdicts.csv").set_index("claim_id")
    assert not pooled1["study_ids"].fillna("").str.contains(study).any()

    proc = subprocess.run([sys.executable, "-m", "trialsynth", "add-trial", str(new_rows), "--data", str(data),
                           "--evidence-dir", str(proj / "evidence")], capture_output=True, text=True, cwd=proj)
    assert proc.returncode == 0, proc.stderr

    index = build_report(data, out, notebooks_dir=ROOT / "notebooks", execute_notebooks=True)
    pooled2 = pd.read_csv(out / "tables" / "pooled_estimates.csv")
    verdicts2 = pd.read_csv(out / "tables" / "claims_verdicts.csv").set_index("claim_id")
    with_study = pooled2[pooled2["study_ids"].fillna("").str.contains(study)]
    assert len(with_study) >= 1, "the re-added trial is in no pooled estimate"
    # the forest plot of that group exists and draws the study as a row
    key = tuple(with_study.iloc[0][["outcome", "comparator_class", "window"]])
    stem = "forest_" + "_".join(key)
    assert (out / "figures" / f"{stem}.svg").is_file() and (out / "figures" / f"{stem}.png").is_file()
    from trialsynth.report.analysis import run_analysis
    from trialsynth.report.figures import draw, figure_jobs, find_job

    fig = draw(find_job(figure_jobs(run_analysis(data), ("forest",)), stem))
    assert any(study in t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    # the claims table follows: the trial's claim is no longer 'insufficient evidence'
    claim = [c for c in verdicts2.index if "liu2023" in c.lower()][0]
    assert verdicts1.loc[claim, "verdict"] == "insufficient evidence"
    assert verdicts2.loc[claim, "verdict"] != "insufficient evidence"
    # the change report names the added rows, the new group and the flipped verdict
    changes = (out / "changes.md").read_text(encoding="utf-8")
    for r in removed:
        assert f"added: {r[sid]} | {r[header.index('comparison_id')]} | {r[header.index('outcome')]}" in changes
    from trialsynth.report.changes import key_words

    assert key_words(" | ".join(key)) in changes  # the new cell, in words
    assert f"**flipped** {claim}: insufficient evidence \u2192 {verdicts2.loc[claim, 'verdict']}" in changes
    # ... classifies the cells the trial changed, naming it, and the front page's living banner says so
    assert "## What changed, cell by cell" in changes and "caused by: added Liu2023" in changes
    page = index.read_text(encoding="utf-8")
    assert "<p class='living'>" in page and "version v2" in page and "trial rows added (Liu2023)" in page
    assert (out / "history" / "v1.html").is_file() and (out / "history" / "v2.html").is_file()
    # and the executed notebooks are linked from the index
    for name in ("01_evidence_base", "02_short_vs_long_term", "03_article_claims", "04_robustness", "05_summary_of_findings"):
        assert f"notebooks/{name}.html" in links(index)
        assert (out / "notebooks" / f"{name}.html").is_file()
    assert (out / ".previous" / "tables" / "pooled_estimates.csv").is_file()


def test_sciatica_and_acute_rows_are_not_pooled_with_chronic_low_back_pain(tmp_path):
    """Pooling mixes no populations: a sciatica trial (leg pain) or an acute one stays out of the
    chronic pools unless ``conditions`` asks for it, and the analysis says so."""
    from trialsynth.errors import ArgumentError
    from trialsynth.report.analysis import ACUTE_CONDITIONS, POOLED_CONDITIONS, run_analysis

    proj = project_copy(tmp_path)
    path = proj / "data" / "trials.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    donor = frame[(frame["data_shape"] == "arm_continuous") & (frame["condition"] == "chronic_lbp")].iloc[[0]].copy()
    donor["study_id"] = "Sciatic2099"
    donor["condition"] = "sciatica"
    frame = pd.concat([frame, donor], ignore_index=True)
    frame.to_csv(path, index=False)

    an = run_analysis(path)
    assert "sciatica" not in set(an.selected["condition"].astype(str))
    assert all("Sciatic2099" not in str(ids) for ids in an.pooled["study_ids"])
    assert any("sciatica (" in n and "Sciatic2099" in n for n in an.notes)
    assert "Sciatic2099" in set(an.effects["study_id"].astype(str))  # kept in the data and the tables

    everything = run_analysis(path, conditions=None)
    assert any("Sciatic2099" in str(ids) for ids in everything.pooled["study_ids"])
    assert set(POOLED_CONDITIONS) >= set(an.selected["condition"].astype(str))
    acute = run_analysis(path, conditions=ACUTE_CONDITIONS)
    assert set(acute.selected["condition"].astype(str)) <= set(ACUTE_CONDITIONS)
    assert not set(acute.selected["study_id"].astype(str)) & set(an.selected["study_id"].astype(str))
    with pytest.raises(ArgumentError, match="conditions"):
        run_analysis(path, conditions="sciatica")
