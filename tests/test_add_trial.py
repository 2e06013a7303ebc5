"""`trialsynth add-trial`: validate new + existing rows, write atomically under a lock, keep a
backup, and leave every file exactly as it was on any problem or crash."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from data.helpers import BASE, BINARY, CONTRAST, TEST_ONLY, csv_text, row, write_csv
from trialsynth.cli.add_trial import add_trials
from trialsynth.data.loading import load_trials
from trialsynth.errors import TrialDataError

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run_cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "trialsynth", *args], capture_output=True, text=True,
                          cwd=cwd, env=env)


def record_for(sid: str, numbers: str) -> str:
    """A synthetic evidence record whose one quote prints `numbers` (test data, not a real source)."""
    return textwrap.dedent(f"""\
        id: {sid}
        kind: trial
        citation: Synthetic A. A made-up trial for tests. Nowhere J 2001;1:1-2.
        year: 2001
        doi: 10.1000/{sid}
        urls:
          - url: https://example.org/{sid}
            accessed: 2026-11-26
            what: synthetic
        quotes:
          Q1:
            text: "{numbers}"
            location: table 2
            url: https://example.org/{sid}
          Q2:
            text: "VAS 0 to 100"
            location: methods
            url: https://example.org/{sid}
        """)


@pytest.fixture
def repo(tmp_path):
    """A folder with data/trials.csv (two rows) and evidence records for them."""
    (tmp_path / "data").mkdir()
    (tmp_path / "evidence").mkdir()
    write_csv(tmp_path / "data" / "trials.csv", [BASE, BINARY])
    for sid in ("synth2001", "synth2002"):
        (tmp_path / "evidence" / f"{sid}.yaml").write_text(record_for(sid, "x"))
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def test_add_rows_appends_and_keeps_backup(repo):
    new = write_csv(repo / "new.csv", [CONTRAST, TEST_ONLY])
    before = (repo / "data" / "trials.csv").read_bytes()
    result = add_trials(new, repo / "data" / "trials.csv", evidence_dir=repo / "evidence",
                        check_evidence=False)
    after = (repo / "data" / "trials.csv").read_bytes()
    assert result.added_rows == 2 and result.total_rows == 4
    assert after.startswith(before)  # existing rows kept byte for byte
    assert result.backup.read_bytes() == before and result.backup.parent.name == "backups"
    df = load_trials(repo / "data" / "trials.csv")
    assert list(df["study_id"]) == ["Synth2001", "Synth2002", "Synth2003", "Synth2004"]


def test_evidence_record_is_copied_and_numbers_checked(repo):
    sid = "synth2003"
    ev = repo / "incoming" / f"{sid}.yaml"
    ev.parent.mkdir()
    ev.write_text(record_for(sid, "MD -9.5 (95% CI -15.25 to -3.75) at 17 weeks, 12 weeks after "
                                  "10 sessions, twice a week for 5 weeks of 30 minutes; 2001"))
    new = write_csv(repo / "new.csv", [row(CONTRAST, country="", priority="", notes="", source_ref=f"doi:10.1000/{sid}",
                                           scale_min="", scale_max="")])
    proc = run_cli("add-trial", str(new), "--data", str(repo / "data" / "trials.csv"),
                   "--evidence", str(ev), "--evidence-dir", str(repo / "evidence"))
    assert proc.returncode == 0, proc.stderr
    assert (repo / "evidence" / f"{sid}.yaml").read_bytes() == ev.read_bytes()
    assert "added 1 row(s)" in proc.stdout and "backup:" in proc.stdout


def test_number_not_in_quote_is_refused(repo):
    sid = "synth2003"
    ev = repo / f"{sid}.yaml"
    ev.write_text(record_for(sid, "nothing useful here"))
    new = write_csv(repo / "new.csv", [CONTRAST])
    before = snapshot(repo)
    proc = run_cli("add-trial", str(new), "--data", str(repo / "data" / "trials.csv"),
                   "--evidence", str(ev), "--evidence-dir", str(repo / "evidence"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{new}, row 2" in proc.stderr
    assert snapshot(repo) == before


def test_missing_evidence_record_is_refused(repo):
    new = write_csv(repo / "new.csv", [CONTRAST])
    before = snapshot(repo)
    with pytest.raises(TrialDataError) as info:
        add_trials(new, repo / "data" / "trials.csv", evidence_dir=repo / "evidence")
    p = info.value.items[0]
    assert (p.file, p.row, p.column, p.value) == (str(new), 2, "source_id", "synth2003")
    assert snapshot(repo) == before


def test_invalid_new_rows_leave_everything_untouched(repo):
    new = write_csv(repo / "new.csv", [row(CONTRAST, effect="5"), row(TEST_ONLY, n1="0")])
    before = snapshot(repo)
    mtime = (repo / "data" / "trials.csv").stat().st_mtime_ns
    with pytest.raises(TrialDataError) as info:
        add_trials(new, repo / "data" / "trials.csv", evidence_dir=repo / "evidence", check_evidence=False)
    where = {(p.file, p.row, p.column) for p in info.value.items}
    assert (str(new), 2, "effect_ci_high") in where and (str(new), 3, "n1") in where
    assert snapshot(repo) == before
    assert (repo / "data" / "trials.csv").stat().st_mtime_ns == mtime
    assert not (repo / "data" / "backups").exists()


def test_duplicate_of_existing_row_names_both_files(repo):
    new = write_csv(repo / "new.csv", [row(BASE, notes="again")])
    with pytest.raises(TrialDataError) as info:
        add_trials(new, repo / "data" / "trials.csv", evidence_dir=repo / "evidence", check_evidence=False)
    p = next(p for p in info.value.items if "duplicate key" in p.message)
    assert p.file == str(new) and p.row == 2
    assert f"row 2 of {repo / 'data' / 'trials.csv'}" in p.message and f"row 2 of {new}" in p.message


def test_existing_record_with_other_content_is_not_overwritten(repo):
    ev = repo / "synth2001.yaml"
    ev.write_text(record_for("synth2001", "different"))
    new = write_csv(repo / "new.csv", [row(BASE, timepoint_weeks="9", weeks_after_treatment="4")])
    before = snapshot(repo)
    with pytest.raises(TrialDataError) as info:
        add_trials(new, repo / "data" / "trials.csv", evidence=ev, evidence_dir=repo / "evidence")
    assert any("already exists with different content" in p.message for p in info.value.items)
    assert snapshot(repo) == before


def test_hostile_yaml_is_rejected_without_running_it(repo, tmp_path):
    marker = tmp_path / "pwned"
    ev = repo / "synth2003.yaml"
    ev.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    new = write_csv(repo / "new.csv", [CONTRAST])
    before = snapshot(repo)
    proc = run_cli("add-trial", str(new), "--data", str(repo / "data" / "trials.csv"),
                   "--evidence", str(ev), "--evidence-dir", str(repo / "evidence"))
    assert proc.returncode != 0 and "not valid YAML" in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists()
    assert snapshot(repo) == before


def test_crash_during_replace_leaves_previous_file(repo, monkeypatch):
    new = write_csv(repo / "new.csv", [CONTRAST])
    before = snapshot(repo)

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(TrialDataError, match="could not be written.*previous file is unchanged"):
        add_trials(new, repo / "data" / "trials.csv", evidence_dir=repo / "evidence", check_evidence=False)
    monkeypatch.undo()
    after = snapshot(repo)
    assert after["data/trials.csv"] == before["data/trials.csv"]
    assert not [n for n in after if n.endswith(".tmp")]  # temp file cleaned up


def test_hard_crash_mid_write_leaves_previous_file(repo):
    """A process killed between writing the temporary file and renaming it (os._exit inside
    fsync): the table is the previous one and the next add-trial works."""
    new = write_csv(repo / "new.csv", [CONTRAST])
    before = (repo / "data" / "trials.csv").read_bytes()
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {SRC!r})
        from trialsynth.cli.add_trial import add_trials
        real_fsync = os.fsync
        calls = []
        def dying_fsync(fd):
            calls.append(fd)
            if len(calls) == 2:   # 1st: backup file; 2nd: the new table's temporary file
                os._exit(9)
            real_fsync(fd)
        os.fsync = dying_fsync
        add_trials({str(new)!r}, {str(repo / 'data' / 'trials.csv')!r}, check_evidence=False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    assert (repo / "data" / "trials.csv").read_bytes() == before
    result = add_trials(new, repo / "data" / "trials.csv", check_evidence=False)
    assert result.total_rows == 3 and len(load_trials(repo / "data" / "trials.csv")) == 3


def test_concurrent_add_trials_do_not_lose_rows(repo):
    rows = [row(CONTRAST, study_id=f"Conc{i}", source_id="synth2001") for i in range(6)]
    files = [write_csv(repo / f"new{i}.csv", [r]) for i, r in enumerate(rows)]
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = [subprocess.Popen([sys.executable, "-m", "trialsynth", "add-trial", str(f), "--data",
                               str(repo / "data" / "trials.csv"), "--no-evidence-check"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in files]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    df = load_trials(repo / "data" / "trials.csv")
    assert len(df) == 2 + 6
    assert sorted(s for s in df["study_id"] if s.startswith("Conc")) == [f"Conc{i}" for i in range(6)]
    assert len(list((repo / "data" / "backups").glob("trials.csv.*.bak"))) == 6


def test_lock_timeout_is_a_clear_error(repo):
    from trialsynth.data.io import LockTimeout, file_lock

    new = write_csv(repo / "new.csv", [CONTRAST])
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {SRC!r})
        from trialsynth.data.io import file_lock
        with file_lock({str(repo / 'data' / 'trials.csv')!r}):
            print('locked', flush=True)
            time.sleep(5)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    try:
        with pytest.raises(LockTimeout):
            add_trials(new, repo / "data" / "trials.csv", check_evidence=False, lock_timeout=0.3)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    with file_lock(repo / "data" / "trials.csv", timeout=5):
        pass


def test_european_new_file_is_normalised(repo):
    new = repo / "new.csv"
    text = csv_text([row(CONTRAST, effect="-9,5", effect_ci_low="-15,25", effect_ci_high="-3,75")],
                    delimiter=";", lineterminator="\r\n")
    new.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    add_trials(new, repo / "data" / "trials.csv", check_evidence=False)
    df = load_trials(repo / "data" / "trials.csv")
    assert df.loc[4, "effect"] == -9.5 and df.loc[4, "effect_ci_low"] == -15.25
    assert b";" not in (repo / "data" / "trials.csv").read_bytes().splitlines()[-1][:20]


def test_first_rows_create_the_table(tmp_path):
    new = write_csv(tmp_path / "new.csv", [BASE])
    add_trials(new, tmp_path / "data" / "trials.csv", check_evidence=False)
    assert len(load_trials(tmp_path / "data" / "trials.csv")) == 1


def test_dry_run_writes_nothing(repo):
    new = write_csv(repo / "new.csv", [CONTRAST])
    before = snapshot(repo)
    proc = run_cli("add-trial", str(new), "--data", str(repo / "data" / "trials.csv"),
                   "--no-evidence-check", "--dry-run")
    assert proc.returncode == 0 and "dry run" in proc.stdout
    assert snapshot(repo) == before


def test_empty_new_file_is_an_error(repo):
    new = repo / "new.csv"
    new.write_text(",".join(["study_id"]) + "\n")
    with pytest.raises(TrialDataError, match="no data rows"):
        add_trials(new, repo / "data" / "trials.csv", check_evidence=False)


def test_record_copy_is_undone_when_the_table_write_fails(repo, monkeypatch):
    sid = "synth2003"
    ev = repo / f"{sid}.yaml"
    ev.write_text(record_for(sid, "x"))
    new = write_csv(repo / "new.csv", [CONTRAST])
    real_replace = os.replace

    def replace_only_records(src, dst):
        if str(dst).endswith("trials.csv"):
            raise OSError("simulated")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_only_records)
    with pytest.raises(TrialDataError):
        add_trials(new, repo / "data" / "trials.csv", evidence=ev, evidence_dir=repo / "evidence",
                   check_evidence=False)
    assert not (repo / "evidence" / f"{sid}.yaml").exists()


def test_excel_sep_line_is_kept_when_columns_are_added(tmp_path):
    from data.helpers import csv_text

    data = tmp_path / "trials.csv"
    cols = [c for c in csv_text([BASE]).splitlines()[0].split(",") if c != "notes"]
    data.write_bytes(b"sep=;\r\n" + csv_text([BASE], columns=cols, delimiter=";", lineterminator="\r\n").encode())
    new = write_csv(tmp_path / "new.csv", [CONTRAST])  # has a notes value: the column is added
    add_trials(new, data, check_evidence=False)
    text = data.read_bytes()
    assert text.startswith(b"sep=;\r\n") and b"notes" in text.splitlines()[1]
    df = load_trials(data)
    assert list(df["study_id"]) == ["Synth2001", "Synth2003"] and df.loc[3, "notes"] == "synthetic test row"
