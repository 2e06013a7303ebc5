"""Change report between two runs: which trials changed, how each pooled estimate moved, which
conclusions and claim verdicts flipped.

A run is summarised as a JSON-able *state* (:func:`make_state`): every trial row keyed by
``study_id | comparison_id | outcome | scale | timepoint_weeks`` with a content hash, every pooled
group with its estimate, CI, PI, tau2, I2, k, studies and effect class, every claim verdict.
:func:`diff_states` compares two states (pure), :func:`changes_markdown` / :func:`changes_html`
render the result.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

STATE_VERSION = 1
TRIAL_KEY = ("study_id", "comparison_id", "outcome", "scale", "timepoint_weeks")
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
    from trialsynth.data.cells import ANY, as_add_on

    flag = as_add_on(row.get("add_on"))
    comp = str(row.get("comparator_class"))
    comp += " (add-on)" if flag is True else (f" ({ANY} add-on)" if flag == ANY else "")
    return " | ".join((str(row.get("outcome")), comp, str(row.get("window"))))


def trial_key(row: Mapping) -> str:
    return " | ".join(_key_text(row.get(c)) for c in TRIAL_KEY)


def _row_hash(row: Mapping, columns) -> str:
    text = json.dumps({c: _key_text(row.get(c)) for c in columns}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_state(trials: pd.DataFrame | None, pooled: pd.DataFrame | None, verdicts: pd.DataFrame | None, *,
               profile: str = "", mid: float = 0.5, data_columns=None, sof: pd.DataFrame | None = None) -> dict:
    """The JSON-able summary of one run (see module docstring); ``sof`` adds each cell's GRADE
    certainty and domain judgements."""
    from trialsynth.claims.verdicts import _classify_row

    state: dict = {"version": STATE_VERSION, "profile": profile, "trials": {}, "pooled": {}, "verdicts": {}}
    if trials is not None and len(trials):
        cols = [c for c in (data_columns or trials.columns) if c not in ("window", "weeks_after")]
        for rec in trials.to_dict("records"):
            state["trials"][trial_key(rec)] = {"hash": _row_hash(rec, cols), "row": {c: _plain(rec.get(c)) for c in cols}}
    if pooled is not None and len(pooled):
        for rec in pooled.to_dict("records"):
            key = cell_key_text(rec)
            entry = {f: _plain(rec.get(f)) for f in POOLED_FIELDS}
            ids = rec.get("study_ids")
            entry["study_ids"] = ids if isinstance(ids, str) else (";".join(map(str, ids)) if isinstance(ids, (list, tuple)) else None)
            entry["measure"] = _plain(rec.get("measure"))
            entry["class"] = _classify_row(rec, mid)
            state["pooled"][key] = entry
    if sof is not None and len(sof):
        for rec in sof.to_dict("records"):
            key = cell_key_text(rec)
            if key in state["pooled"]:
                state["pooled"][key]["grade"] = {f: _plain(rec.get(f)) for f in GRADE_FIELDS}
    if verdicts is not None and len(verdicts):
        for rec in verdicts.to_dict("records"):
            state["verdicts"][str(rec["claim_id"])] = {"verdict": rec.get("verdict"), "reason": rec.get("reason")}
    return state


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
        bits.append(f"{len(self.verdicts_flipped)} verdict{'s' if len(self.verdicts_flipped) != 1 else ''} flipped"
                    if self.verdicts_flipped else "no verdict flipped")
        return "; ".join(bits) + "."


def _num(x):
    return float(x) if isinstance(x, (int, float)) and not (isinstance(x, float) and math.isnan(x)) else None


def diff_states(previous: Mapping | None, current: Mapping) -> Changes:
    """Compare two states from :func:`make_state` (``previous=None``: first run)."""
    ch = Changes()
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
    pp, cp = previous.get("pooled", {}), current.get("pooled", {})
    ch.groups_added = sorted(set(cp) - set(pp))
    ch.groups_removed = sorted(set(pp) - set(cp))
    for key in sorted(set(pp) & set(cp)):
        old, new = pp[key], cp[key]
        moved = {}
        for f in POOLED_FIELDS:
            a, b = _num(old.get(f)), _num(new.get(f))
            if a is None and b is None:
                continue
            if a is None or b is None or abs(a - b) > TOLERANCE * max(1.0, abs(a)):
                moved[f] = (a, b)
        if old.get("study_ids") != new.get("study_ids"):
            moved["study_ids"] = (old.get("study_ids"), new.get("study_ids"))
        if moved:
            ch.groups_moved.append({"key": key, **moved, "_full": {"old": old, "new": new}})
        if old.get("class") != new.get("class"):
            ch.conclusions_flipped.append((key, old.get("class"), new.get("class")))
        og, ng = old.get("grade") or {}, new.get("grade") or {}
        if og and ng:
            grade = {f: (og.get(f), ng.get(f)) for f in GRADE_FIELDS if og.get(f) != ng.get(f)}
            if grade:
                ch.grade_changed.append((key, grade))
    ch.measures = {k: v.get("measure") for k, v in cp.items()}
    pv, cv = previous.get("verdicts", {}), current.get("verdicts", {})
    for cid in sorted(set(pv) & set(cv)):
        if pv[cid].get("verdict") != cv[cid].get("verdict"):
            ch.verdicts_flipped.append((cid, pv[cid].get("verdict"), cv[cid].get("verdict")))
    ch.verdicts_added = sorted(set(cv) - set(pv))
    return ch


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
    """The change report as Markdown."""
    out = ["# Changes since " + previous_label, ""]
    if ch.first_run:
        out += ["First run: no previous run to compare with. "
                f"Baseline recorded: {len(ch.trials_added)} trial rows, {len(ch.groups_added)} pooled groups.", ""]
        return "\n".join(out)
    if not ch.any:
        out += ["Nothing changed: same trial rows, same pooled estimates, same verdicts.", ""]
        return "\n".join(out)
    if ch.profile_changed:
        out += [f"**Profile changed**: {ch.profile_changed[0]} -> {ch.profile_changed[1]}", ""]
    out += ["## Trials", ""]
    out += [f"* added: {k}" for k in ch.trials_added] or []
    out += [f"* removed: {k}" for k in ch.trials_removed]
    out += [f"* edited: {k} (columns: {', '.join(cols)})" for k, cols in ch.trials_edited]
    if not (ch.trials_added or ch.trials_removed or ch.trials_edited):
        out.append("* no trial row added, removed or edited")
    out += ["", "## Pooled estimates", ""]
    out += [f"* new group: {k}" for k in ch.groups_added]
    out += [f"* group gone: {k}" for k in ch.groups_removed]
    out += [f"* {m['key']}: {_moved_text(m, ch.measures.get(m['key']), m.get('_full'))}" for m in ch.groups_moved]
    if not (ch.groups_added or ch.groups_removed or ch.groups_moved):
        out.append("* no pooled estimate moved")
    out += ["", "## Conclusions", ""]
    out += [f"* **flipped** {k}: {a} -> {b}" for k, a, b in ch.conclusions_flipped]
    if not ch.conclusions_flipped:
        out.append("* no conclusion flipped (effect class against the null and the MID unchanged)")
    out += ["", "## GRADE certainty", ""]
    for key, fields in ch.grade_changed:
        bits = [f"{f.replace('_', ' ')} {a} {ARROW} {b}" for f, (a, b) in fields.items()]
        out.append(f"* {key}: " + "; ".join(bits))
    if not ch.grade_changed:
        out.append("* no certainty rating or domain judgement changed")
    out += ["", "## Claim verdicts", ""]
    out += [f"* **flipped** {c}: {a} -> {b}" for c, a, b in ch.verdicts_flipped]
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
            body.append(f"<li>{text}</li>")
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>trialsynth: changes</title>"
            "<style>body{font:14px sans-serif;max-width:60em;margin:2em auto}.flip{color:#b00}.move{white-space:nowrap}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
