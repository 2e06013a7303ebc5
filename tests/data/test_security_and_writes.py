"""Nothing lost, nothing executed: atomic writes, locks, backups, formula injection, HTML
escaping, file names that stay in their folder, YAML only through safe_load."""

from __future__ import annotations

import ast
import csv
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from trialsynth.data.io import (atomic_write_bytes, atomic_write_text, backup_file, file_lock,
                                html_table, load_yaml, neutralise_cell, safe_filename, safe_path,
                                write_csv_safely)
from trialsynth.errors import TrialDataError

SRC = Path(__file__).resolve().parents[2] / "src"


# ------------------------------------------------------------------ no unsafe loaders in the code

BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
BANNED_ATTRS = {("yaml", "load"), ("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "load_all"),
                ("yaml", "unsafe_load_all"), ("yaml", "full_load_all"), ("pickle", "load"),
                ("pickle", "loads"), ("marshal", "loads"), ("pd", "read_pickle"), ("pandas", "read_pickle")}
BANNED_MODULES = {"pickle", "marshal", "shelve", "dill", "cloudpickle"}


def test_package_never_uses_unsafe_loaders_or_eval():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in BANNED_CALLS:
                    offenders.append(f"{path}:{node.lineno} {f.id}()")
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                        (f.value.id, f.attr) in BANNED_ATTRS:
                    offenders.append(f"{path}:{node.lineno} {f.value.id}.{f.attr}()")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                offenders += [f"{path}:{node.lineno} import {n}" for n in names
                              if n.split(".")[0] in BANNED_MODULES]
    assert offenders == []


def test_load_yaml_refuses_python_objects(tmp_path):
    marker = tmp_path / "ran"
    hostile = tmp_path / "h.yaml"
    hostile.write_text(f"x: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(TrialDataError) as info:
        load_yaml(hostile)
    p = info.value.items[0]
    assert p.file == str(hostile) and p.row == 1 and "not valid YAML" in p.message
    assert not marker.exists()


def test_load_yaml_reports_line_and_reads_good_files(tmp_path):
    bad = tmp_path / "b.yaml"
    bad.write_text("a: 1\nb: [unclosed\n")
    with pytest.raises(TrialDataError) as info:
        load_yaml(bad)
    assert info.value.items[0].row is not None
    good = tmp_path / "g.yaml"
    good.write_bytes(b"\xef\xbb\xbfid: x\nq: [1, 2]\n")
    assert load_yaml(good) == {"id": "x", "q": [1, 2]}
    with pytest.raises(TrialDataError, match="not found"):
        load_yaml(tmp_path / "none.yaml")


# ------------------------------------------------------------------ formula injection and HTML

@pytest.mark.parametrize("cell,expected", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("-1.5", "-1.5"), ("+3", "+3"), ("1e-3", "1e-3"), ("plain", "plain"), ("", ""),
])
def test_neutralise_cell(cell, expected):
    assert neutralise_cell(cell) == expected


def test_write_csv_safely_neutralises_and_round_trips(tmp_path):
    df = pd.DataFrame({"study_id": ["=cmd|'/C calc'!A0", "Ok2001"], "estimate": [-0.5, 1.25],
                       "n": pd.array([10, None], dtype="Int64"), "flag": [True, False]})
    path = write_csv_safely(df, tmp_path / "out" / "t.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["study_id", "estimate", "n", "flag"]
    assert rows[1] == ["'=cmd|'/C calc'!A0", "-0.5", "10", "true"]
    assert rows[2] == ["Ok2001", "1.25", "", "false"]
    raw = write_csv_safely([["a", "b"], ["=1", "x"]], tmp_path / "raw.csv", neutralise=False)
    assert raw.read_text().splitlines()[1] == "=1,x"


def test_html_table_escapes_everything():
    html = html_table(pd.DataFrame({"<b>col</b>": ["<script>alert(1)</script>", 'a"b&c']}))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;col&lt;/b&gt;" in html and "a&quot;b&amp;c" in html


# ------------------------------------------------------------------ file names

@pytest.mark.parametrize("hostile", [
    "../../etc/passwd", "..", ".", "", "/abs/path", "a/../../b", "C:\\Windows\\system32", "CON",
    "nul.txt", ".hidden", "x\x00y", "white space", "naïve", "a" * 500, "..\\..\\boot.ini", "~/x",
])
def test_safe_filename_cannot_escape(tmp_path, hostile):
    name = safe_filename(hostile, suffix=".svg")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name not in ("", ".svg") and ".." not in name
    assert len(name) <= 130
    target = safe_path(tmp_path, hostile, suffix=".svg")
    assert target.parent == tmp_path.resolve()
    target.write_text("ok")  # actually creatable
    assert target.exists()


def test_safe_filename_keeps_good_ids_and_separates_different_ones():
    assert safe_filename("Brinkhaus2006") == "Brinkhaus2006"
    assert safe_filename("Brinkhaus2006", suffix="pdf") == "Brinkhaus2006.pdf"
    assert safe_filename("a/b") != safe_filename("a_b")
    assert safe_filename("a/b") == safe_filename("a/b")


# ------------------------------------------------------------------ atomic writes, locks, backups

def test_atomic_write_replaces_and_keeps_mode(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    os.chmod(target, 0o600)
    atomic_write_text(target, "new\n", newline="\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert (target.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_write_failure_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def fail(*a, **k):
        raise OSError("simulated")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_readers_never_see_a_partial_file(tmp_path):
    """A reader polling while a writer rewrites a large file sees only whole old or whole new."""
    target = tmp_path / "big.txt"
    old, new = b"a" * 2_000_000, b"b" * 2_000_000
    target.write_bytes(old)
    stop = threading.Event()
    seen = set()

    def reader():
        while not stop.is_set():
            data = target.read_bytes()
            seen.add((len(data), data[:1], data[-1:]))

    t = threading.Thread(target=reader)
    t.start()
    for i in range(20):
        atomic_write_bytes(target, new if i % 2 == 0 else old)
    stop.set()
    t.join()
    assert seen <= {(2_000_000, b"a", b"a"), (2_000_000, b"b", b"b")}


def test_file_lock_serialises_processes(tmp_path):
    counter = tmp_path / "counter.txt"
    counter.write_text("0")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(SRC)!r})
        from trialsynth.data.io import file_lock, atomic_write_text
        from pathlib import Path
        p = Path({str(counter)!r})
        for _ in range(25):
            with file_lock(p):
                value = int(p.read_text())
                time.sleep(0.001)
                atomic_write_text(p, str(value + 1))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    assert counter.read_text() == "100"  # no lost update


def test_backup_keeps_copies_and_prunes(tmp_path):
    data = tmp_path / "trials.csv"
    assert backup_file(data) is None
    for i in range(5):
        data.write_text(f"v{i}")
        b = backup_file(data, keep=3)
        assert b.read_text() == f"v{i}"
    backups = sorted((tmp_path / "backups").glob("trials.csv.*.bak"))
    assert [b.read_text() for b in backups] == ["v2", "v3", "v4"]
    assert (tmp_path / "backups" / ".gitignore").read_text() == "*\n"
