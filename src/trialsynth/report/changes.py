"""Change report between two runs: which trials changed, how each pooled cell changed and why,
which claim verdicts flipped; and the version of each run.

A run is summarised as a JSON-able *state* (:func:`make_state`): every trial row keyed by
``study_id | comparison_id | outcome | scale | timepoint_weeks`` with a content hash, every pooled
cell (keyed by the pooled frame's own key columns) with its estimate, CI, PI, tau2, I2, k,
studies, effect class, GRADE certainty and the trial rows that entered it, every claim verdict,
and the run's version (:func:`run_record`: version id, data hash, date). :func:`diff_states`
compares two states (pure) and classifies every pooled cell against the previous run
(:func:`classify_cell`): a new cell; the estimate moved within its class; the conclusion changed
(its class against the MID: important benefit, small benefit, no clear difference, favours
control); the certainty changed (the GRADE summary of findings); the heterogeneity changed class
(the I2 bands of the Cochrane Handbook, section 10.10.2). Each change names the trial rows of that
cell that were added, removed or edited. :func:`changes_markdown` / :func:`changes_html` render the
report and :func:`living_status_html` the front page's banner.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

STATE_VERSION = 2
TRIAL_KEY = ("study_id", "comparison_id", "outcome", "scale", "timepoint_weeks")
#: the cell key of frames that carry no ``k`` column to tell their key columns by
DEFAULT_CELL_KEY = ("outcome", "comparator_class", "window")

#: I2 bands of the Cochrane Handbook (version 6.4, section 10.10.2): 0-40% might not be important,
#: 30-60% moderate, 50-90% substantial, 75-100% considerable heterogeneity. The bands overlap; a
#: value in two bands is given the higher one (a class starts at its band's lower bound: 30, 50,
#: 75), the same cut points the GRADE inconsistency rule uses for serious (50) and very serious (75).
HETEROGENEITY_BANDS = ((75.0, "considerable"), (50.0, "substantial"), (30.0, "moderate"), (0.0, "might not be important"))
HETEROGENEITY_SOURCE = ("I\u00b2 bands of the Cochrane Handbook 10.10.2 (0-40% might not be important, 30-60% moderate, "
                        "50-90% substantial, 75-100% considerable; overlaps go to the higher band)")

#: the kinds of change of a pooled cell, most important first
NEW_CELL = "new cell"
CELL_REMOVED = "cell removed"
CONCLUSION_CHANGED = "conclusion changed"
CERTAINTY_CHANGED = "certainty changed"
HETEROGENEITY_CHANGED = "heterogeneity changed class"
MOVED_WITHIN_CLASS = "estimate moved within its class"
CHANGE_KINDS = (NEW_CELL, CELL_REMOVED, CONCLUSION_CHANGED, CERTAINTY_CHANGED, HETEROGENEITY_CHANGED, MOVED_WITHIN_CLASS)
POOLED_FIELDS = ("k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2")
#: the GRADE fields the change report follows (certainty and its five domains)
GRADE_FIELDS = ("certainty", "risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
TOLERANCE = 1e-9


def _plain(value: Any) -> Any:
    """A JSON-safe scalar (NaN/NA -> None; numpy -> python)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (int, bool, str)):
        return value
    return str(value)


def _key_text(value: Any) -> str:
    v = _plain(value)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return "" if v is None else str(v)


def cell_key_text(row: Mapping) -> str:
    """A pooled cell's key in the state: "outcome | comparator | window" for a head-to-head cell (the
    key of every earlier run), "outcome | comparator (add-on) | window" for an add-on cell, so that a
    cell that was split by the add-on rule shows as moved (its head-to-head part) and added."""
    return cell_key(row, ("outcome", "comparator_class", "add_on", "window"))


def key_words(key: str) -> str:
    """A state's cell key in the report's words: "pain | usual_care (add-on) | short" ->
    "Pain: acupuncture + usual care vs usual care, short term"
    (:func:`trialsynth.data.cells.cell_label`); a key of other columns as it is."""
    from trialsynth.data.cells import ANY, cell_label

    parts = [p.strip() for p in str(key).split(" | ")]
    if len(parts) != 3:
        return str(key)
    outcome, comparator, window = parts
    add_on: bool | str = False
    if comparator.endswith(f" ({ANY} add-on)"):
        comparator, add_on = comparator[: -len(f" ({ANY} add-on)")], ANY
    elif comparator.endswith(" (add-on)"):
        comparator, add_on = comparator[: -len(" (add-on)")], True
    return cell_label((outcome, comparator, add_on, window))


def trial_key(row: Mapping) -> str:
    return " | ".join(_key_text(row.get(c)) for c in TRIAL_KEY)


def cell_key_columns(frame: pd.DataFrame | None) -> list[str]:
    """A pooled frame's own key columns: every column before ``k`` (``GroupedResults.to_frame()``
    puts its ``by`` columns first), else the default outcome, comparator class and window."""
    if frame is None:
        return list(DEFAULT_CELL_KEY)
    cols = list(frame.columns)
    if "k" in cols and cols.index("k") > 0:
        return cols[: cols.index("k")]
    return [c for c in DEFAULT_CELL_KEY if c in cols]


def cell_key(row: Mapping, columns) -> str:
    """"pain | sham | immediate": the cell's key values in key-column order; an ``add_on`` column
    is said on the comparator as :func:`cell_key_text` does ("pain | usual_care (add-on) |
    short"), so that head-to-head cells keep the keys of runs before the add-on rule."""
    columns = list(columns)
    if "add_on" not in columns:
        return " | ".join(_key_text(row.get(c)) for c in columns)
    from trialsynth.data.cells import ANY, as_add_on

    flag = as_add_on(row.get("add_on"))
    parts = []
    for c in columns:
        if c == "add_on":
            continue
        text = _key_text(row.get(c))
        if c == "comparator_class":
            text += " (add-on)" if flag is True else (f" ({ANY} add-on)" if flag == ANY else "")
        parts.append(text)
    return " | ".join(parts)


def heterogeneity_class(i2, k) -> str:
    """The I2 band of a cell (:data:`HETEROGENEITY_BANDS`); "not estimable" with one trial or no I2."""
    value = _plain(i2)
    if not isinstance(value, (int, float)) or (isinstance(k, (int, float)) and k < 2):
        return "not estimable"
    return next(name for low, name in HETEROGENEITY_BANDS if float(value) >= low)


def data_hash(path) -> str:
    """SHA-256 of the trial data file's bytes ("none" when there is no file)."""
    from pathlib import Path

    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "none"


def run_record(previous: Mapping | None, changed: bool, *, data_sha256: str, now: str) -> dict:
    """The version of this run: ``v1`` for a first run, the previous version again when nothing
    changed (``checked`` is then this run's date), else the next number. ``created`` is the date
    the version was made (ISO 8601, UTC)."""
    prev = dict((previous or {}).get("run") or {})
    number = int(prev.get("number") or 0)
    if number and not changed:
        return {**prev, "checked": now, "data_sha256": data_sha256}
    return {"version": f"v{number + 1}", "number": number + 1, "created": now, "checked": now, "data_sha256": data_sha256,
            "previous": prev.get("version")}


def _row_hash(row: Mapping, columns) -> str:
    text = json.dumps({c: _key_text(row.get(c)) for c in columns}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_state(trials: pd.DataFrame | None, pooled: pd.DataFrame | None, verdicts: pd.DataFrame | None, *,
               profile: str = "", mid: float = 0.5, data_columns=None, sof: pd.DataFrame | None = None,
               selected: pd.DataFrame | None = None, run: Mapping | None = None) -> dict:
    """The JSON-able summary of one run (see module docstring). ``sof`` adds each cell's GRADE
    certainty and domain judgements; ``selected`` (the rows that entered the pools) each cell's
    trial rows, so that a change can name the trials behind it; ``run`` the version record."""
    from trialsynth.claims.verdicts import _classify_row

    keys = cell_key_columns(pooled)
    state: dict = {"version": STATE_VERSION, "profile": profile, "key_columns": keys, "trials": {}, "pooled": {},
                   "verdicts": {}}
    if run:
        state["run"] = dict(run)
    if trials is not None and len(trials):
        cols = [c for c in (data_columns or trials.columns) if c not in ("window", "weeks_after")]
        for rec in trials.to_dict("records"):
            state["trials"][trial_key(rec)] = {"hash": _row_hash(rec, cols), "row": {c: _plain(rec.get(c)) for c in cols}}
    rows_of: dict = {}
    if selected is not None and len(selected):
        shared = [c for c in keys if c in selected.columns]
        for rec in selected.to_dict("records"):
            rows_of.setdefault(cell_key(rec, shared), []).append(trial_key(rec))
    grades: dict = {}
    if sof is not None and len(sof):
        shared_sof = [c for c in keys if c in sof.columns]
        grades = {cell_key(rec, shared_sof): {f: _plain(rec.get(f)) for f in GRADE_FIELDS} for rec in sof.to_dict("records")}
    if pooled is not None and len(pooled):
        for rec in pooled.to_dict("records"):
            key = cell_key(rec, keys)
            entry = {f: _plain(rec.get(f)) for f in POOLED_FIELDS}
            ids = rec.get("study_ids")
            entry["study_ids"] = ids if isinstance(ids, str) else (";".join(map(str, ids)) if isinstance(ids, (list, tuple)) else None)
            entry["measure"] = _plain(rec.get("measure"))
            own = _plain(rec.get("effect_class"))
            entry["class"] = own if isinstance(own, str) and own else _classify_row(rec, mid)
            if selected is not None:
                entry["rows"] = sorted(rows_of.get(cell_key(rec, [c for c in keys if c in selected.columns]), []))
            if grades:
                grade = grades.get(cell_key(rec, shared_sof))
                if grade is not None:
                    entry["grade"] = grade
            state["pooled"][key] = entry
    if verdicts is not None and len(verdicts):
        for rec in verdicts.to_dict("records"):
            state["verdicts"][str(rec["claim_id"])] = {"verdict": rec.get("verdict"), "reason": rec.get("reason")}
    return state


@dataclass
class CellChange:
    """How one pooled cell changed since the previous run.

    ``kinds`` are from :data:`CHANGE_KINDS` (a cell can change in several ways at once);
    ``old``/``new`` its entries in the two states (``None`` when it did not exist); ``added``,
    ``removed``, ``edited`` the trial rows of this cell that caused the change (trial keys):
    ``added``/``removed`` rows that entered or left the data; ``joined``/``left`` rows that were in
    the data in both runs and entered or left this cell (a rule, a window or another row moved
    them: "set apart" is not "removed").
    """

    key: str
    kinds: tuple
    old: dict | None = None
    new: dict | None = None
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    edited: list = field(default_factory=list)
    joined: list = field(default_factory=list)
    left: list = field(default_factory=list)

    @property
    def trials(self) -> str:
        """"added Liu2023 (2 rows); edited Haake2007": the trials behind the change, by study."""
        bits = []
        for label, keys in (("added", self.added), ("removed", self.removed), ("edited", self.edited),
                            ("now pooled here (already in the data)", self.joined),
                            ("set apart from this cell (still in the data)", self.left)):
            if keys:
                counts: dict = {}
                for k in keys:
                    counts[k.split(" | ")[0]] = counts.get(k.split(" | ")[0], 0) + 1
                bits.append(f"{label} " + ", ".join(f"{s}" + (f" ({n} rows)" if n > 1 else "") for s, n in counts.items()))
        return "; ".join(bits) if bits else "no trial row of this cell changed (a change in the method or the rules)"

    def describe(self, measure=None) -> str:
        """One line: the kinds, then what changed in each, then the trials that caused it."""
        old, new = self.old or {}, self.new or {}
        bits = []
        if NEW_CELL in self.kinds:
            bits.append(f"{_fmt_effect_of(new, measure)}, {new.get('class')}, k {_fmt_count(new.get('k'))}")
        if CELL_REMOVED in self.kinds:
            bits.append(f"was {_fmt_effect_of(old, measure)}, {old.get('class')}")
        if CONCLUSION_CHANGED in self.kinds:
            bits.append(f"{old.get('class')} {ARROW} {new.get('class')}")
        if CERTAINTY_CHANGED in self.kinds:
            bits.append(f"certainty {(old.get('grade') or {}).get('certainty')} {ARROW} {(new.get('grade') or {}).get('certainty')}")
        if HETEROGENEITY_CHANGED in self.kinds:
            bits.append(f"heterogeneity {heterogeneity_class(old.get('i2'), old.get('k'))} {ARROW} "
                        f"{heterogeneity_class(new.get('i2'), new.get('k'))} (I\u00b2 {_fmt_pct(old.get('i2'))} {ARROW} "
                        f"{_fmt_pct(new.get('i2'))})")
        if old and new and (CONCLUSION_CHANGED in self.kinds or MOVED_WITHIN_CLASS in self.kinds):
            bits.append(f"{_fmt_effect_of(old, measure)} {ARROW} {_fmt_effect_of(new, measure, label=False)}")
        return f"{key_words(self.key)}: **{', '.join(self.kinds)}**: " + "; ".join(bits) + f"; caused by: {self.trials}"


def _fmt_effect_of(entry: Mapping, measure=None, *, label: bool = True) -> str:
    from trialsynth.effects.scales import format_effect

    return format_effect(measure or entry.get("measure") or "SMD", entry.get("estimate"), entry.get("ci_low"),
                         entry.get("ci_high"), label=label)


def _moved(old: Mapping, new: Mapping) -> dict:
    moved = {}
    for f in POOLED_FIELDS:
        a, b = _num(old.get(f)), _num(new.get(f))
        if a is None and b is None:
            continue
        if a is None or b is None or abs(a - b) > TOLERANCE * max(1.0, abs(a)):
            moved[f] = (a, b)
    if old.get("study_ids") != new.get("study_ids"):
        moved["study_ids"] = (old.get("study_ids"), new.get("study_ids"))
    return moved


def classify_cell(key: str, old: Mapping | None, new: Mapping | None, *, edited_rows=(), kept_rows=None) -> CellChange | None:
    """Classify one pooled cell against the previous run (``None``: nothing changed).

    ``edited_rows`` are the trial keys whose content changed between the runs; with the cells'
    ``rows`` (see :func:`make_state`) they name the trials behind the change. ``kept_rows``, the
    trial keys present in the data of both runs, tells a row that entered or left the data
    (added, removed) from one that only entered or left this cell (joined, left). A state without
    ``rows`` (made before they were recorded) falls back on the cell's ``study_ids``.
    """
    from trialsynth.pooling.grouped import split_study_ids

    if old is None and new is None:
        return None
    o_rows = set((old or {}).get("rows") or [])
    n_rows = set((new or {}).get("rows") or [])
    if old is not None and new is not None and ("rows" not in old or "rows" not in new):
        o_rows = {f"{s} | (study)" for s in split_study_ids(old.get("study_ids"))}
        n_rows = {f"{s} | (study)" for s in split_study_ids(new.get("study_ids"))}
    kept, edited = set(kept_rows or ()), set(edited_rows)
    entered, gone = n_rows - o_rows, o_rows - n_rows
    # an edited row is "edited" whether it stayed in the cell or the edit moved it in or out
    change = CellChange(key, (), dict(old) if old else None, dict(new) if new else None,
                        added=sorted(entered - kept), removed=sorted(gone - kept),
                        edited=sorted((o_rows | n_rows) & edited),
                        joined=sorted((entered & kept) - edited), left=sorted((gone & kept) - edited))
    if old is None:
        change.kinds = (NEW_CELL,)
        return change
    if new is None:
        change.kinds = (CELL_REMOVED,)
        return change
    kinds = []
    if old.get("class") != new.get("class"):
        kinds.append(CONCLUSION_CHANGED)
    og, ng = old.get("grade") or {}, new.get("grade") or {}
    if og and ng and og.get("certainty") != ng.get("certainty"):
        kinds.append(CERTAINTY_CHANGED)
    if heterogeneity_class(old.get("i2"), old.get("k")) != heterogeneity_class(new.get("i2"), new.get("k")):
        kinds.append(HETEROGENEITY_CHANGED)
    if CONCLUSION_CHANGED not in kinds and _moved(old, new):
        kinds.append(MOVED_WITHIN_CLASS)
    if not kinds:
        return None
    change.kinds = tuple(kinds)
    return change


@dataclass
class Changes:
    """What moved between two runs."""

    first_run: bool = False
    trials_added: list = field(default_factory=list)
    trials_removed: list = field(default_factory=list)
    trials_edited: list = field(default_factory=list)  # (key, [changed columns])
    groups_added: list = field(default_factory=list)
    groups_removed: list = field(default_factory=list)
    groups_moved: list = field(default_factory=list)  # dicts key, field deltas
    conclusions_flipped: list = field(default_factory=list)  # (key, old class, new class)
    verdicts_flipped: list = field(default_factory=list)  # (claim, old, new)
    verdicts_added: list = field(default_factory=list)
    profile_changed: tuple | None = None
    grade_changed: list = field(default_factory=list)  # (key, {field: (old, new)})
    measures: dict = field(default_factory=dict)  # group key -> measure (for formatting)
    cells: list = field(default_factory=list)  # CellChange per changed cell, most important kind first
    run: dict = field(default_factory=dict)  # this run's version record (run_record)
    previous_run: dict = field(default_factory=dict)  # the previous run's
    n_cells: int = 0
    n_trial_rows: int = 0

    def cells_of(self, kind: str) -> list:
        return [c for c in self.cells if kind in c.kinds]

    @property
    def any(self) -> bool:
        return any([self.trials_added, self.trials_removed, self.trials_edited, self.groups_added, self.groups_removed,
                    self.groups_moved, self.conclusions_flipped, self.verdicts_flipped, self.verdicts_added, self.profile_changed,
                    self.grade_changed])

    def summary(self) -> str:
        """One line: "1 trial row added (Witt2006); 1 estimate moved; no verdict flipped"."""
        if self.first_run:
            return f"First run: baseline recorded ({len(self.trials_added)} trial rows, {len(self.groups_added)} pooled cells)."
        if not self.any:
            return "Nothing changed since the previous run."

        def studies(keys):
            names = sorted({k.split(" | ")[0] for k in keys})
            return " (" + ", ".join(names[:4]) + (" ..." if len(names) > 4 else "") + ")" if names else ""

        bits = []
        for label, keys in (("added", self.trials_added), ("removed", self.trials_removed),
                            ("edited", [k for k, _c in self.trials_edited])):
            if keys:
                bits.append(f"{len(keys)} trial row{'s' if len(keys) != 1 else ''} {label}{studies(keys)}")
        if self.groups_added:
            bits.append(f"{len(self.groups_added)} new cell{'s' if len(self.groups_added) != 1 else ''}")
        if self.groups_moved:
            bits.append(f"{len(self.groups_moved)} estimate{'s' if len(self.groups_moved) != 1 else ''} moved")
        bits.append(f"{len(self.conclusions_flipped)} conclusion{'s' if len(self.conclusions_flipped) != 1 else ''} changed"
                    if self.conclusions_flipped else "no conclusion changed")
        if self.grade_changed:
            bits.append(f"{len(self.grade_changed)} certainty rating{'s' if len(self.grade_changed) != 1 else ''} changed")
        n_het = len(self.cells_of(HETEROGENEITY_CHANGED))
        if n_het:
            bits.append(f"{n_het} heterogeneity class{'es' if n_het != 1 else ''} changed")
        bits.append(f"{len(self.verdicts_flipped)} verdict{'s' if len(self.verdicts_flipped) != 1 else ''} flipped"
                    if self.verdicts_flipped else "no verdict flipped")
        return "; ".join(bits) + "."


def _num(x):
    return float(x) if isinstance(x, (int, float)) and not (isinstance(x, float) and math.isnan(x)) else None


def diff_states(previous: Mapping | None, current: Mapping) -> Changes:
    """Compare two states from :func:`make_state` (``previous=None``: first run) and classify
    every pooled cell (:func:`classify_cell`)."""
    ch = Changes(run=dict(current.get("run") or {}), previous_run=dict((previous or {}).get("run") or {}),
                 n_cells=len(current.get("pooled", {})), n_trial_rows=len(current.get("trials", {})))
    if not previous:
        ch.first_run = True
        ch.trials_added = sorted(current.get("trials", {}))
        ch.groups_added = sorted(current.get("pooled", {}))
        return ch
    if previous.get("profile") != current.get("profile"):
        ch.profile_changed = (previous.get("profile"), current.get("profile"))
    pt, ct = previous.get("trials", {}), current.get("trials", {})
    ch.trials_added = sorted(set(ct) - set(pt))
    ch.trials_removed = sorted(set(pt) - set(ct))
    for key in sorted(set(pt) & set(ct)):
        if pt[key].get("hash") != ct[key].get("hash"):
            old, new = pt[key].get("row", {}), ct[key].get("row", {})
            cols = sorted(c for c in set(old) | set(new) if _key_text(old.get(c)) != _key_text(new.get(c)))
            if cols:  # a new, empty column (a schema addition) changes the hash but no value
                ch.trials_edited.append((key, cols))
    edited = {k for k, _c in ch.trials_edited}
    pp, cp = previous.get("pooled", {}), current.get("pooled", {})
    ch.groups_added = sorted(set(cp) - set(pp))
    ch.groups_removed = sorted(set(pp) - set(cp))
    for key in sorted(set(pp) & set(cp)):
        old, new = pp[key], cp[key]
        moved = _moved(old, new)
        if moved:
            ch.groups_moved.append({"key": key, **moved, "_full": {"old": old, "new": new}})
        if old.get("class") != new.get("class"):
            ch.conclusions_flipped.append((key, old.get("class"), new.get("class")))
        og, ng = old.get("grade") or {}, new.get("grade") or {}
        if og and ng:
            grade = {f: (og.get(f), ng.get(f)) for f in GRADE_FIELDS if og.get(f) != ng.get(f)}
            if grade:
                ch.grade_changed.append((key, grade))
    for key in sorted(set(pp) | set(cp)):
        cell = classify_cell(key, pp.get(key), cp.get(key), edited_rows=edited, kept_rows=set(pt) & set(ct))
        if cell is not None:
            ch.cells.append(cell)
    ch.cells.sort(key=lambda c: (min(CHANGE_KINDS.index(k) for k in c.kinds), c.key))
    ch.measures = {k: v.get("measure") for k, v in {**pp, **cp}.items()}
    pv, cv = previous.get("verdicts", {}), current.get("verdicts", {})
    for cid in sorted(set(pv) & set(cv)):
        if pv[cid].get("verdict") != cv[cid].get("verdict"):
            ch.verdicts_flipped.append((cid, pv[cid].get("verdict"), cv[cid].get("verdict")))
    ch.verdicts_added = sorted(set(cv) - set(pv))
    return ch


def cell_change_lines(ch: Changes) -> list[str]:
    """One line per changed cell (:meth:`CellChange.describe`), most important kind first."""
    return [c.describe(ch.measures.get(c.key)) for c in ch.cells]


def _version_line(run: Mapping) -> str:
    """"Version v2, made 2026-12-02 10:00:00 UTC; data SHA-256 0d21b2592476." (and when it was checked again)."""
    if not run:
        return ""
    text = f"Version {run.get('version')}, made {_when(run.get('created'))} UTC"
    if run.get("checked") and run.get("checked") != run.get("created"):
        text += f" (checked again {_when(run['checked'])} UTC: nothing changed)"
    return text + f"; data SHA-256 {str(run.get('data_sha256', ''))[:12]}."


def _when(stamp) -> str:
    return str(stamp or "")[:19].replace("T", " ")


_COUNT_PHRASES = {NEW_CELL: ("new cell", "new cells"), CELL_REMOVED: ("cell removed", "cells removed"),
                  CONCLUSION_CHANGED: ("conclusion changed", "conclusions changed"),
                  CERTAINTY_CHANGED: ("certainty rating changed", "certainty ratings changed"),
                  HETEROGENEITY_CHANGED: ("heterogeneity class changed", "heterogeneity classes changed"),
                  MOVED_WITHIN_CLASS: ("estimate moved within its class", "estimates moved within their class")}


def _count_phrase(kind: str, n: int) -> str:
    """"2 conclusions changed": a count of changed cells of one kind, in words."""
    one, many = _COUNT_PHRASES[kind]
    return f"{n} {one if n == 1 else many}"


def living_status(ch: Changes) -> str:
    """The living-status line: the version and its date, the trials added, and what changed."""
    run = ch.run or {}
    head = f"Living review, version {run.get('version', '?')} ({str(run.get('created', ''))[:10]})"
    if ch.first_run:
        return head + f": first run, the baseline of {ch.n_trial_rows} trial rows and {ch.n_cells} pooled cells."
    if not ch.any:
        checked = str(run.get("checked") or "")[:10]
        return head + f": no trial added and nothing changed at the last check{f' ({checked})' if checked else ''}."
    studies = sorted({k.split(" | ")[0] for k in ch.trials_added})
    added = (f"{len(ch.trials_added)} trial row{'s' if len(ch.trials_added) != 1 else ''} added ({', '.join(studies)})"
             if ch.trials_added else "no trial added")
    for label, keys in (("removed", ch.trials_removed), ("edited", [k for k, _c in ch.trials_edited])):
        if keys:
            names = sorted({k.split(" | ")[0] for k in keys})
            added += f"; {len(keys)} trial row{'s' if len(keys) != 1 else ''} {label} ({', '.join(names)})"
    counts = [_count_phrase(k, len(ch.cells_of(k))) for k in CHANGE_KINDS if ch.cells_of(k)]
    flips = ch.cells_of(CONCLUSION_CHANGED)
    detail = ""
    if flips:
        c = flips[0]
        detail = f" ({key_words(c.key)}: {(c.old or {}).get('class')} {ARROW} {(c.new or {}).get('class')})"
    since = ch.previous_run.get("version")
    return (head + (f", updated from {since}" if since else "") + f": {added}; "
            + ("; ".join(counts) if counts else "no pooled cell changed") + detail + ".")


def living_status_html(ch: Changes) -> str:
    """The banner of the front page (escaped), linking the change report and the history."""
    return (f"<p class='living'><b>{html.escape(living_status(ch))}</b> {html.escape(_version_line(ch.run))} "
            "<a href='changes.html'>What changed, cell by cell</a> \u00b7 <a href='history/index.html'>Earlier versions</a></p>")


def _fmt(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.3e}"
    return str(x)


ARROW = "\u2192"  # one character: a line never breaks inside it


def _effect(m: Mapping, side: int, measure) -> str | None:
    from trialsynth.effects.scales import format_effect

    def get(f):
        return m[f][side] if f in m else None

    if "estimate" not in m and "ci_low" not in m and "ci_high" not in m:
        return None
    return format_effect(measure or "SMD", get("estimate"), get("ci_low"), get("ci_high"), label=side == 0)


def _moved_text(m: Mapping, measure=None, full: Mapping | None = None) -> str:
    """``k 2 → 3; SMD -0.60 (-4.39 to 3.19) → -0.55 (-1.14 to 0.04); PI ...; I² 73% → 82%; τ² 0.138 → 0.0307``.

    ``full`` (the cell's old and new entries) supplies the unchanged parts of an effect so that
    before and after are whole, formatted effects with their CIs (ratios as ratios)."""
    from trialsynth.effects.scales import format_interval

    full = full or {}
    eff = {f: m.get(f, (full.get("old", {}).get(f), full.get("new", {}).get(f))) for f in ("estimate", "ci_low", "ci_high")}
    bits = []
    if "k" in m:
        a, b = m["k"]
        bits.append(f"k {_fmt_count(a)} {ARROW} {_fmt_count(b)}")
    if any(f in m for f in ("estimate", "ci_low", "ci_high")):
        bits.append(f"{_effect(eff, 0, measure)} {ARROW} {_effect(eff, 1, measure)}")
    if "pi_low" in m or "pi_high" in m:
        pi = {f: m.get(f, (full.get("old", {}).get(f), full.get("new", {}).get(f))) for f in ("pi_low", "pi_high")}
        bits.append(f"PI {format_interval(pi['pi_low'][0], pi['pi_high'][0], measure=measure)} {ARROW} "
                    f"{format_interval(pi['pi_low'][1], pi['pi_high'][1], measure=measure)}")
    if "i2" in m:
        a, b = m["i2"]
        bits.append(f"I\u00b2 {_fmt_pct(a)} {ARROW} {_fmt_pct(b)}")
    if "tau2" in m:
        a, b = m["tau2"]
        bits.append(f"\u03c4\u00b2 {_fmt_3(a)} {ARROW} {_fmt_3(b)}")
    if "study_ids" in m:
        a, b = m["study_ids"]
        bits.append(f"studies {a or '-'} {ARROW} {b or '-'}")
    return "; ".join(bits)


def _fmt_count(x) -> str:
    return "n/a" if x is None else str(int(x)) if float(x).is_integer() else _fmt(x)


def _fmt_pct(x) -> str:
    return "n/a" if x is None else f"{float(x):.0f}%"


def _fmt_3(x) -> str:
    return "n/a" if x is None else f"{float(x):.3g}"


def changes_markdown(ch: Changes, *, previous_label: str = "the previous run") -> str:
    """The change report as Markdown: the version, every changed cell classified with the trials
    that caused it, then the trial rows, estimates, conclusions, certainty and verdicts."""
    out = ["# Changes since " + previous_label, ""]
    if ch.run:
        out += [_version_line(ch.run), ""]
    if ch.first_run:
        out += ["First run: no previous run to compare with. "
                f"Baseline recorded: {len(ch.trials_added)} trial rows, {len(ch.groups_added)} pooled groups.", ""]
        return "\n".join(out)
    if not ch.any:
        out += ["Nothing changed: same trial rows, same pooled estimates, same verdicts.", ""]
        return "\n".join(out)
    if ch.profile_changed:
        out += [f"**Profile changed**: {ch.profile_changed[0]} -> {ch.profile_changed[1]}", ""]
    out += ["## What changed, cell by cell", "",
            "Conclusions are classes against the MID (0.5 SD; ratios RR 0.75 / 1.25), not p < 0.05; certainty is the "
            f"GRADE draft's; heterogeneity classes are the {HETEROGENEITY_SOURCE}.", ""]
    out += [f"* {line}" for line in cell_change_lines(ch)] or ["* no pooled cell changed"]
    out += ["", "## Trials", ""]
    out += [f"* added: {k}" for k in ch.trials_added] or []
    out += [f"* removed: {k}" for k in ch.trials_removed]
    out += [f"* edited: {k} (columns: {', '.join(cols)})" for k, cols in ch.trials_edited]
    if not (ch.trials_added or ch.trials_removed or ch.trials_edited):
        out.append("* no trial row added, removed or edited")
    out += ["", "## Pooled estimates", ""]
    out += [f"* new group: {key_words(k)}" for k in ch.groups_added]
    out += [f"* group gone: {key_words(k)}" for k in ch.groups_removed]
    out += [f"* {key_words(m['key'])}: {_moved_text(m, ch.measures.get(m['key']), m.get('_full'))}" for m in ch.groups_moved]
    if not (ch.groups_added or ch.groups_removed or ch.groups_moved):
        out.append("* no pooled estimate moved")
    out += ["", "## Conclusions", ""]
    out += [f"* **flipped** {key_words(k)}: {a} {ARROW} {b}" for k, a, b in ch.conclusions_flipped]
    if not ch.conclusions_flipped:
        out.append("* no conclusion flipped (effect class against the null and the MID unchanged)")
    out += ["", "## GRADE certainty", ""]
    for key, fields in ch.grade_changed:
        bits = [f"{f.replace('_', ' ')} {a} {ARROW} {b}" for f, (a, b) in fields.items()]
        out.append(f"* {key_words(key)}: " + "; ".join(bits))
    if not ch.grade_changed:
        out.append("* no certainty rating or domain judgement changed")
    out += ["", "## Claim verdicts", ""]
    out += [f"* **flipped** {c}: {a} {ARROW} {b}" for c, a, b in ch.verdicts_flipped]
    out += [f"* new claim: {c}" for c in ch.verdicts_added]
    if not (ch.verdicts_flipped or ch.verdicts_added):
        out.append("* no verdict flipped")
    return "\n".join(out) + "\n"


def changes_html(ch: Changes, *, previous_label: str = "the previous run") -> str:
    """The change report as a standalone HTML page (every text escaped)."""
    body = []
    for line in changes_markdown(ch, previous_label=previous_label).splitlines():
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("* "):
            # "before → after" pieces never wrap in the middle
            text = "; ".join(f"<span class='move'>{html.escape(piece)}</span>" for piece in line[2:].split("; "))
            text = text.replace("**flipped**", "<b class='flip'>flipped</b>")
            text = re.sub(r"\*\*([^*]+)\*\*", lambda m: f"<b class='kind'>{m.group(1)}</b>", text)
            body.append(f"<li>{text}</li>")
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>trialsynth: changes</title>"
            "<style>body{font:14px sans-serif;max-width:60em;margin:2em auto}.flip{color:#b00}.move{white-space:nowrap}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
