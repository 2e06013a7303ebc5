"""``trialsynth import-revman``: rows with provenance and a parity report; hostile files refused."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from trialsynth.data.loading import check_trials

from tests.data.importers.helpers import FURLAN_MAPPING, FURLAN_RM5, METADAT_RM5


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "trialsynth", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_help_describes_import_revman():
    top = run_cli("--help")
    assert top.returncode == 0 and "import-revman" in top.stdout
    sub = run_cli("import-revman", "--help")
    assert sub.returncode == 0 and "parity" in sub.stdout and "--mapping" in sub.stdout
    for name in ("validate", "report", "forest", "figures", "add-trial"):  # the others are still there
        assert name in top.stdout


def test_import_writes_valid_rows_record_and_parity(tmp_path):
    out = tmp_path / "imp"
    proc = run_cli("import-revman", FURLAN_RM5, "--mapping", FURLAN_MAPPING, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "parity: 1 of 1 analyses re-pool to the file's stored results (29 of 29 stored values agree)" in proc.stdout
    assert "OK 3 rows" in proc.stdout
    for name in ("trials.csv", "parity.md", "parity.csv", "analyses.csv", "study-rows.csv",
                 "evidence/CD001351_rm5.yaml"):
        assert (out / name).is_file(), name
    # the written rows pass `trialsynth validate --provenance` against the written record
    report = check_trials(out / "trials.csv", evidence_dir=out / "evidence", provenance=True)
    assert report.problems == [], report.problems
    parity = pd.read_csv(out / "parity.csv")
    assert parity["agrees"].all() and len(parity) == 29
    # an earlier import is not replaced without --force
    again = run_cli("import-revman", FURLAN_RM5, "--mapping", FURLAN_MAPPING, "--out", out)
    assert again.returncode == 2 and "use --force" in again.stderr
    assert run_cli("import-revman", FURLAN_RM5, "--mapping", FURLAN_MAPPING, "--out", out, "--force").returncode == 0


def test_import_without_mapping_writes_a_template_and_no_rows(tmp_path):
    out = tmp_path / "imp"
    proc = run_cli("import-revman", METADAT_RM5, "--out", out)
    assert proc.returncode == 1
    assert "8 of 8 analyses re-pool" in proc.stdout and "mapping-template.yaml" in proc.stdout
    assert (out / "mapping-template.yaml").is_file() and (out / "problems.csv").is_file()
    assert not (out / "trials.csv").exists()
    assert "trials.csv and the evidence record were not written" in proc.stderr
    (out / "mapping-template.yaml").write_text("# mine\n")
    proc = run_cli("import-revman", METADAT_RM5, "--out", out, "--force")
    assert "exists already (not replaced)" in proc.stdout
    assert (out / "mapping-template.yaml").read_text() == "# mine\n"


def test_hostile_file_is_refused_in_one_line(tmp_path):
    evil = tmp_path / "evil.rm5"
    evil.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    "<COCHRANE_REVIEW><COVER_SHEET><TITLE>&x;</TITLE></COVER_SHEET></COCHRANE_REVIEW>")
    proc = run_cli("import-revman", evil, "--out", tmp_path / "o")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "refused" in proc.stderr and "root:" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_rejected_rows_are_written_where_the_problems_point(tmp_path):
    out = tmp_path / "imp"
    bad = tmp_path / "bad-map.yaml"
    bad.write_text(FURLAN_MAPPING.read_text(encoding="utf-8").replace("higher_is_better: false", "higher_is_better: maybe"),
                   encoding="utf-8")
    proc = run_cli("import-revman", FURLAN_RM5, "--mapping", bad, "--out", out)
    assert proc.returncode == 1 and not (out / "trials.csv").exists()
    # every problem names a file that exists, its row there, and the study row of the review it came from
    problems = pd.read_csv(out / "problems.csv")
    rejected = pd.read_csv(out / "rejected-rows.csv")
    assert set(problems["file"]) == {str(out / "rejected-rows.csv")} and set(problems["column"]) == {"higher_is_better"}
    for rec in problems.to_dict("records"):
        study = rejected["study_id"].iloc[rec["row"] - 2]
        assert f"[{study}, imported from CD001351-analysis-5.1.rm5, analysis 5.1]" in rec["message"]
    assert "rejected-rows.csv, row 2, column 'higher_is_better'" in proc.stderr and "[Kerr2003," in proc.stderr
    # a later good import replaces them, leaving no stale problems behind
    assert run_cli("import-revman", FURLAN_RM5, "--mapping", FURLAN_MAPPING, "--out", out, "--force").returncode == 0
    assert (out / "trials.csv").is_file() and not (out / "problems.csv").exists() and not (out / "rejected-rows.csv").exists()


def test_without_a_mapping_the_missing_columns_are_listed_once(tmp_path):
    proc = run_cli("import-revman", FURLAN_RM5, "--out", tmp_path / "imp")
    assert proc.returncode == 1
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("without --mapping")]
    assert "comparator_class" in line and "timepoint_weeks" in line and "error:" not in proc.stderr
    assert len(pd.read_csv(tmp_path / "imp" / "problems.csv")) > 9
