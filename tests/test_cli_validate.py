"""`trialsynth validate` prints one line per problem (no traceback) and sets the exit status."""

import subprocess
import sys

from data.helpers import BASE, BINARY, VALID_ROWS, row, write_csv


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "trialsynth", *args], capture_output=True, text=True)


def test_validate_ok(tmp_path):
    path = write_csv(tmp_path / "trials.csv", VALID_ROWS)
    proc = run_cli("validate", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK ") and "4 rows, 4 studies" in proc.stdout
    assert "immediate" in proc.stdout


def test_validate_problems(tmp_path):
    path = write_csv(tmp_path / "trials.csv", [row(n1="0"), row(BINARY, events1="x")])
    proc = run_cli("validate", str(path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 2
    assert f"{path}, row 2, column 'n1'" in lines[0] and "'0'" in lines[0]
    assert f"{path}, row 3, column 'events1'" in lines[1] and "'x'" in lines[1]
    assert "2 problem(s)" in proc.stderr


def test_validate_unreadable(tmp_path):
    proc = run_cli("validate", str(tmp_path / "nope.csv"))
    assert proc.returncode == 1 and "file not found" in proc.stderr and "Traceback" not in proc.stderr
    binary = tmp_path / "book.xlsx"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    proc = run_cli("validate", str(binary))
    assert proc.returncode == 1 and "not a text CSV" in proc.stderr and "Traceback" not in proc.stderr


def test_validate_evidence_dir(tmp_path):
    path = write_csv(tmp_path / "trials.csv", [BASE])
    ev = tmp_path / "evidence"
    ev.mkdir()
    proc = run_cli("validate", str(path), "--evidence-dir", str(ev))
    assert proc.returncode == 1 and "no evidence record" in proc.stderr
    (ev / "synth2001.yaml").write_text("source_id: synth2001\n")
    assert run_cli("validate", str(path), "--evidence-dir", str(ev)).returncode == 0


SYNTH_RECORD = """\
id: synth2001
kind: trial
citation: Synthetic A. A made-up trial used only by tests. Nowhere J 2001;1:1-2.
year: 2001
doi: 10.1000/synth.2001
urls:
  - url: https://example.org/synth2001
    accessed: 2026-11-26
    what: synthetic
quotes:
  Q1:
    text: "10 sessions, 2 a week, 30 minutes each, over 5 weeks; assessed at week 5, 0 weeks after."
    location: methods
    url: https://example.org/synth2001
  Q2:
    text: "acupuncture (n = 40) 30.5 (12.0); sham (n = 38) 40.25 (13.5)"
    location: table 2
    url: https://example.org/synth2001
"""


def test_validate_provenance_checks_numbers_against_quotes(tmp_path):
    ev = tmp_path / "evidence"
    ev.mkdir()
    (ev / "synth2001.yaml").write_text(SYNTH_RECORD)
    good = write_csv(tmp_path / "good.csv", [BASE])
    proc = run_cli("validate", str(good), "--evidence-dir", str(ev), "--provenance")
    assert proc.returncode == 0, proc.stderr
    bad = write_csv(tmp_path / "bad.csv", [row(mean1="31.5")])
    proc = run_cli("validate", str(bad), "--evidence-dir", str(ev), "--provenance")
    assert proc.returncode == 1
    assert f"{bad}, row 2, column 'mean1'" in proc.stderr and "'31.5'" in proc.stderr


def test_problems_csv_is_written_and_neutralised(tmp_path):
    import csv

    path = write_csv(tmp_path / "trials.csv", [row(country="x", notes="n", mean1="=HYPERLINK(\"http://x\")")])
    out = tmp_path / "problems.csv"
    proc = run_cli("validate", str(path), "--problems-csv", str(out))
    assert proc.returncode == 1
    with out.open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert table[0]["row"] == "2" and table[0]["column"] == "mean1"
    assert table[0]["value"].startswith("'=")  # a spreadsheet shows it as text, never runs it
    ok = write_csv(tmp_path / "ok.csv", [BASE])
    assert run_cli("validate", str(ok), "--problems-csv", str(out)).returncode == 0
    assert out.read_text().strip() == "file,row,column,value,message"
