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


# constraint keys the Table Schema spec allows per field type (specs.frictionlessdata.io/table-schema)
ALLOWED_CONSTRAINTS = {
    "string": {"required", "unique", "pattern", "enum", "minLength", "maxLength"},
    "number": {"required", "unique", "enum", "minimum", "maximum"},
    "integer": {"required", "unique", "enum", "minimum", "maximum"},
    "boolean": {"required", "enum"},
}
SPEC_FIELD_KEYS = {"name", "title", "description", "example", "type", "format", "constraints", "rdfType",
                   "bareNumber", "decimalChar", "groupChar", "trueValues", "falseValues"}


def test_fields_use_only_constraints_the_spec_defines():
    ts = S.table_schema()
    for f in ts["fields"]:
        assert set(f.get("constraints", {})) <= ALLOWED_CONSTRAINTS[f["type"]], f["name"]
        extra = {k for k in f if k not in SPEC_FIELD_KEYS}
        assert all(k.startswith("trialsynth:") for k in extra), (f["name"], extra)
        for bound in ("minimum", "maximum"):
            value = f.get("constraints", {}).get(bound)
            if value is not None and f["type"] == "integer":
                assert isinstance(value, int)
        if "enum" in f.get("constraints", {}):
            assert len(set(f["constraints"]["enum"])) == len(f["constraints"]["enum"])
    assert isinstance(ts["missingValues"], list) and ts["missingValues"] == [""]


def _readme_types() -> dict[str, str]:
    """column -> first word of the README's `type` cell, from every table with a type column."""
    import re

    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    type_col = None
    for line in text.splitlines():
        if not line.startswith("|"):
            type_col = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "column":
            type_col = cells.index("type") if "type" in cells else None
            continue
        if type_col is None or len(cells) <= type_col or set(cells[0]) <= set("-: "):
            continue
        kind = cells[type_col].split()[0] if cells[type_col] else ""
        for name in re.findall(r"`([a-z0-9_]+)`", cells[0]):
            out[name] = kind
    return out


def test_readme_types_agree_with_the_schema():
    readme = _readme_types()
    assert set(readme) >= set(S.COLUMN_NAMES)  # every column has a typed row
    mismatches = []
    for name, kind in readme.items():
        if name not in S.BY_NAME:
            continue
        col = S.BY_NAME[name]
        expected = "enum" if col.enum is not None else col.type
        if kind != expected:
            mismatches.append(f"{name}: README says {kind}, schema says {expected}")
    assert mismatches == []
