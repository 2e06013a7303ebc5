"""A living review (issue 17, part 2): every pooled cell classified against the previous run with
the trials that caused the change, versioned runs with a history, the living-status banner, and
``add-trial --dry-run`` showing the classified changes before anything is written.

The real added trial: Liu 2023 (the article's trial) is removed from a copy of the shipped data,
a first run is recorded, and its four rows are re-added with ``add-trial``."""

import json
from pathlib import Path

import pandas as pd
import pytest

from trialsynth.cli.add_trial import add_trials
from trialsynth.cli.main import main
from trialsynth.report import changes as C
from trialsynth.report.analysis import run_analysis
from trialsynth.report.build import _write_changes

ROOT = Path(__file__).resolve().parents[2]
STUDY = "Liu2023"


def pooled(i2=10.0, est=-0.3, lo=-0.5, hi=-0.1, k=3, **extra):
    return pd.DataFrame([{"outcome": "pain", "comparator_class": "sham", **extra, "window": "short", "k": k, "estimate": est,
                          "ci_low": lo, "ci_high": hi, "pi_low": lo - 0.3, "pi_high": hi + 0.3, "tau2": 0.01, "i2": i2,
                          "measure": "SMD", "study_ids": "A;B;C"}])


def selected(*studies):
    return pd.DataFrame([{"study_id": s, "comparison_id": "c", "outcome": "pain", "scale": "VAS", "timepoint_weeks": 8,
                          "comparator_class": "sham", "window": "short"} for s in studies])


def trials(*studies, edit=None):
    return pd.DataFrame([{"study_id": s, "comparison_id": "c", "outcome": "pain", "scale": "VAS", "timepoint_weeks": 8,
                          "mean1": 2.0 if s == edit else 1.0} for s in studies])


# ----------------------------------------------------------------------------- the classification


def test_heterogeneity_classes_follow_the_handbook_bands():
    assert [C.heterogeneity_class(x, 3) for x in (0, 29.9, 30, 49.9, 50, 74.9, 75, 100)] == [
        "might not be important", "might not be important", "moderate", "moderate", "substantial", "substantial",
        "considerable", "considerable"]
    assert C.heterogeneity_class(None, 3) == C.heterogeneity_class(40, 1) == "not estimable"
    assert "10.10.2" in C.HETEROGENEITY_SOURCE


def test_each_kind_of_change_names_the_trials_behind_it():
    before = C.make_state(trials("A", "B"), pooled(i2=10, k=2), None, selected=selected("A", "B"))
    after = C.make_state(trials("A", "B", "C", edit="B"), pooled(i2=60, est=-0.6, lo=-0.9, hi=-0.55), None,
                         selected=selected("A", "B", "C"))
    ch = C.diff_states(before, after)
    (cell,) = ch.cells
    assert cell.kinds == (C.CONCLUSION_CHANGED, C.HETEROGENEITY_CHANGED)
    assert cell.added == ["C | c | pain | VAS | 8"] and cell.edited == ["B | c | pain | VAS | 8"] and not cell.removed
    line = C.cell_change_lines(ch)[0]
    # the cell in the report's words, not its key codes
    assert line.startswith("Pain: acupuncture vs sham, short term: **conclusion changed, heterogeneity changed class**:")
    assert "small benefit \u2192 important benefit" in line and "might not be important \u2192 substantial" in line
    assert line.endswith("caused by: added C; edited B")
    assert "1 heterogeneity class changed" in ch.summary()
    assert C.living_status(ch).endswith(": 1 trial row added (C); 1 trial row edited (B); 1 conclusion changed; "
                                        "1 heterogeneity class changed (Pain: acupuncture vs sham, short term: small benefit \u2192 important benefit).")


def test_a_row_set_apart_from_a_cell_is_not_called_removed():
    # C stays in the data but leaves the cell (a pooling rule set it apart): "set apart", not
    # "removed"; D is deleted from the data: "removed"; B re-enters a cell it was not in: "now pooled"
    before = C.make_state(trials("A", "C", "D", "B"), pooled(k=3), None, selected=selected("A", "C", "D"))
    after = C.make_state(trials("A", "C", "B"), pooled(k=2, est=-0.35), None, selected=selected("A", "B"))
    (cell,) = C.diff_states(before, after).cells
    assert cell.removed == ["D | c | pain | VAS | 8"] and cell.left == ["C | c | pain | VAS | 8"]
    assert cell.joined == ["B | c | pain | VAS | 8"] and not cell.added
    assert cell.trials == ("removed D; now pooled here (already in the data) B; "
                           "set apart from this cell (still in the data) C")
    # an edit that moves a row out of the cell is called an edit
    edited = C.make_state(trials("A", "C", "D", "B", edit="C"), pooled(k=2, est=-0.35), None, selected=selected("A", "D"))
    (cell,) = C.diff_states(before, edited).cells
    assert cell.edited == ["C | c | pain | VAS | 8"] and not cell.left and not cell.removed


def test_moved_within_class_new_and_removed_cells_and_certainty():
    grade = dict(risk_of_bias="not assessed", inconsistency="not serious", indirectness="not serious",
                 imprecision="serious", publication_bias="not assessed")
    before = C.make_state(trials("A"), pooled(), None, selected=selected("A"),
                          sof=pooled().assign(certainty="low", **grade))
    after = C.make_state(trials("A"), pd.concat([pooled(est=-0.35), pooled().assign(window="long")]), None,
                         selected=selected("A"), sof=pooled().assign(certainty="moderate", **grade))
    ch = C.diff_states(before, after)
    kinds = {c.key: c.kinds for c in ch.cells}
    assert kinds == {"pain | sham | short": (C.CERTAINTY_CHANGED, C.MOVED_WITHIN_CLASS), "pain | sham | long": (C.NEW_CELL,)}
    assert "no trial row of this cell changed" in ch.cells[-1].trials
    gone = C.diff_states(after, before)
    assert [c.kinds for c in gone.cells if c.key == "pain | sham | long"] == [(C.CELL_REMOVED,)]


def test_cells_are_keyed_by_the_pooled_frames_own_key_columns():
    frame = pooled(add_on=True)
    assert C.cell_key_columns(frame) == ["outcome", "comparator_class", "add_on", "window"]
    state = C.make_state(None, frame, None)
    assert list(state["pooled"]) == ["pain | sham (add-on) | short"] and state["key_columns"][2] == "add_on"
    assert C.cell_key_columns(pd.DataFrame(columns=["outcome", "window", "comparator_class"])) == ["outcome", "comparator_class", "window"]


def test_versions_advance_only_when_something_changed():
    first = C.run_record(None, True, data_sha256="aa", now="2026-01-01T00:00:00Z")
    assert first["version"] == "v1" and first["created"] == first["checked"]
    same = C.run_record({"run": first}, False, data_sha256="aa", now="2026-01-02T00:00:00Z")
    assert same["version"] == "v1" and same["created"] == "2026-01-01T00:00:00Z" and same["checked"] == "2026-01-02T00:00:00Z"
    nxt = C.run_record({"run": same}, True, data_sha256="bb", now="2026-01-03T00:00:00Z")
    assert nxt["version"] == "v2" and nxt["previous"] == "v1" and nxt["data_sha256"] == "bb"


# ----------------------------------------------------------------------------- a real added trial


def test_a_real_added_trial_is_classified_versioned_and_shown_before_writing(without_study, capsys):
    root, data, new_rows, _header, removed = without_study(STUDY)
    n_rows = len(removed)
    out = root / "out"
    out.mkdir()
    before = run_analysis(data)
    first = _write_changes(before, out)
    assert first.first_run and first.run["version"] == "v1"
    keys = C.cell_key_columns(before.pooled)
    had = {C.cell_key(r, keys) for r in before.pooled.to_dict("records")}

    # trialsynth add-trial --dry-run prints the classified changes, and writes nothing
    before_bytes = data.read_bytes()
    assert main(["add-trial", str(new_rows), "--data", str(data), "--evidence-dir", str(root / "evidence"), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert data.read_bytes() == before_bytes and "nothing was written" in printed
    assert "what the change report will say, cell by cell (classes against the MID, not p < 0.05):" in printed
    dry = [ln.strip() for ln in printed.splitlines()]

    add_trials(new_rows, data, evidence_dir=root / "evidence")
    after = run_analysis(data)
    touched = {C.cell_key(r, keys) for r in after.pooled.to_dict("records") if STUDY in str(r["study_ids"])}
    assert touched, "the re-added trial enters no pooled cell"
    ch = _write_changes(after, out)
    assert ch.run["version"] == "v2" and ch.run["previous"] == "v1"
    cells = {c.key: c for c in ch.cells}
    # every cell the trial entered is classified, a new cell where it had no estimate before, and
    # names Liu2023 (and no other trial) as the cause; the dry run showed the same lines
    assert set(cells) == touched
    for key, cell in cells.items():
        assert (C.NEW_CELL in cell.kinds) == (key not in had), (key, cell.kinds)
        assert cell.added and {k.split(" | ")[0] for k in cell.added + cell.removed + cell.edited} == {STUDY}
        line = next(ln for ln in dry if ln.startswith(f"{C.key_words(key)}: "))
        assert ", ".join(cell.kinds) in line and line.endswith(f"caused by: added {STUDY}" + (
            f" ({len(cell.added)} rows)" if len(cell.added) > 1 else ""))
    new_cells = [k for k in touched if k not in had]
    md = (out / "changes.md").read_text(encoding="utf-8")
    assert "Version v2, made" in md and "## What changed, cell by cell" in md and f"caused by: added {STUDY}" in md
    for key in new_cells:
        assert f"* {C.key_words(key)}: **new cell**:" in md
    status = C.living_status(ch)
    assert status.startswith("Living review, version v2 (") and ", updated from v1: " in status
    assert f"{n_rows} trial rows added ({STUDY})" in status
    if new_cells:
        assert f"{len(new_cells)} new cell" in status
    banner = C.living_status_html(ch)
    assert "<p class='living'>" in banner and "history/index.html" in banner and "<script" not in banner

    # history keeps both versions; a run with nothing new makes no new version
    versions = json.loads((out / "history" / "versions.json").read_text(encoding="utf-8"))
    assert [v["version"] for v in versions] == ["v1", "v2"]
    assert (out / "history" / "v1.md").read_text(encoding="utf-8").count("First run") == 1
    again = _write_changes(run_analysis(data), out)
    assert not again.any and again.run["version"] == "v2" and again.run["checked"] >= again.run["created"]
    assert len(json.loads((out / "history" / "versions.json").read_text(encoding="utf-8"))) == 2
    assert "nothing changed" in C.living_status(again)


def _fake_analysis(tmp_path, studies, est=-0.3):
    from types import SimpleNamespace

    data = tmp_path / "trials.csv"
    data.write_text(",".join(studies), encoding="utf-8")
    return SimpleNamespace(trials=trials(*studies), pooled=pooled(est=est), verdicts=None, profile="p", sof=None,
                           selected=selected(*studies), data_path=data, notes=[])


def test_a_lost_state_does_not_restart_at_v1_over_the_kept_history(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    assert _write_changes(_fake_analysis(tmp_path, ["A"]), out).run["version"] == "v1"
    assert _write_changes(_fake_analysis(tmp_path, ["A", "B"], est=-0.4), out).run["version"] == "v2"
    kept = {f.name: f.read_bytes() for f in (out / "history").glob("v*.md")}
    (out / ".state" / "state.json").unlink()
    an = _fake_analysis(tmp_path, ["A", "B", "C"], est=-0.5)
    ch = _write_changes(an, out)
    assert ch.run["version"] == "v3" and ch.run["previous"] == "v2"
    assert any("reports/history" in n and "v2" in n for n in an.notes)
    assert {f.name: f.read_bytes() for f in (out / "history").glob("v*.md") if f.name in kept} == kept
    # an unreadable index is set aside, not overwritten
    (out / "history" / "versions.json").write_text("not json", encoding="utf-8")
    _write_changes(_fake_analysis(tmp_path, ["A", "B", "C", "D"], est=-0.6), out)
    (aside,) = (out / "history").glob("versions.unreadable-*.json")
    assert aside.read_text(encoding="utf-8") == "not json"
    versions = json.loads((out / "history" / "versions.json").read_text(encoding="utf-8"))
    assert [v["version"] for v in versions] == ["v4"]
