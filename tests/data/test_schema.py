"""The schema module is the single source of truth: JSON and README must agree with it."""

import json
import subprocess
import sys
from pathlib import Path

from trialsynth.data import schema as S

ROOT = Path(__file__).resolve().parents[2]


def test_committed_table_schema_equals_generated():
    committed = (ROOT / "data" / "trials.schema.json").read_text(encoding="utf-8")
    assert committed == S.table_schema_json(), (
        "data/trials.schema.json is stale: python -m trialsynth.data.schema > data/trials.schema.json")


def test_table_schema_is_frictionless_shaped():
    ts = json.loads(S.table_schema_json())
    names = [f["name"] for f in ts["fields"]]
    assert names == list(S.COLUMN_NAMES)
    assert len(set(names)) == len(names)
    assert ts["primaryKey"] == list(S.PRIMARY_KEY)
    assert set(ts["primaryKey"]) <= set(names)
    for f in ts["fields"]:
        assert f["type"] in {"string", "integer", "number", "boolean"}
        assert f["description"]
    by = {f["name"]: f for f in ts["fields"]}
    assert by["comparator_class"]["constraints"]["enum"] == ["sham", "no_treatment", "usual_care", "active"]
    assert by["study_id"]["constraints"]["required"] is True
    assert "required" not in by.get("notes", {}).get("constraints", {})


def test_readme_documents_every_column_and_category():
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert S.undocumented_columns(text) == []
    assert S.undocumented_enum_values(text) == []


def test_undocumented_columns_detects_a_gap():
    assert "notes" in S.undocumented_columns("only `study_id` here")


def test_module_prints_schema_and_checks(tmp_path):
    out = subprocess.run([sys.executable, "-m", "trialsynth.data.schema"], capture_output=True,
                         text=True, check=True).stdout
    assert out == S.table_schema_json()
    stale = tmp_path / "s.json"
    stale.write_text("{}\n")
    proc = subprocess.run([sys.executable, "-m", "trialsynth.data.schema", "--check", str(stale)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "out of date" in proc.stderr


def test_required_for_shapes():
    assert S.column("study_id").required_for("contrast")
    assert S.column("events1").required_for("arm_binary")
    assert not S.column("events1").required_for("arm_continuous")
    assert not S.column("notes").required_for("arm_binary")
