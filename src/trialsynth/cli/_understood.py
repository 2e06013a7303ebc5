"""Trial rows as the analysis understands them: one line per row, for ``add-trial`` and ``validate -v``.

A row is shown as the report will use it: its time point and window, the numbers as entered on
their scale, the effect the analysis computes from them (the same
:func:`trialsynth.report.analysis.run_analysis` pipeline and population filter as ``make report``),
which arm that effect favours in words, and the pooled group it enters with the group's k (before
and after, for new rows).  A sign slip shows up here as "favours <the comparator>".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pandas as pd

#: measures whose analysis scale is the log of a ratio (shown exponentiated)
_RATIO = frozenset({"RR", "OR", "HR", "PETO", "IRR", "ROM"})
_Z95 = 1.959963984540054


def warm_up() -> None:
    """Import what :func:`~trialsynth.report.analysis.run_analysis` imports lazily (a second or
    two), so that a caller can do it before taking the data file's lock."""
    import importlib

    for name in ("trialsynth.report.analysis", "trialsynth.data.loading", "trialsynth.effects.records",
                 "trialsynth.pooling.grouped", "trialsynth.pooling.fit", "trialsynth.grade",
                 "trialsynth.claims", "trialsynth.claims.records"):
        try:
            importlib.import_module(name)
        except ImportError:  # a stage the analysis itself reports as missing
            pass


def _blank(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) \
        or (isinstance(value, str) and not value.strip())


def _num(value) -> str:
    """A cell as the user typed it, without a float's trailing ``.0``."""
    if _blank(value):
        return ""
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _signed(value) -> str:
    text = _num(value)
    return text if text.startswith("-") or text in ("", "0") else "+" + text


def _effect_text(measure: str, yi: float, sei: float) -> str:
    lo, hi = yi - _Z95 * sei, yi + _Z95 * sei
    if measure in _RATIO:
        return f"{measure} {math.exp(yi):.2f} (95% CI {math.exp(lo):.2f} to {math.exp(hi):.2f})"
    return f"{measure} {yi:+.2f} (95% CI {lo:.2f} to {hi:.2f})"


def _scale_text(row) -> str:
    scale = "" if _blank(row.get("scale")) else str(row.get("scale"))
    hib = row.get("higher_is_better")
    if _blank(hib):
        return f"on {scale}" if scale else ""
    return f"on {scale} ({'higher' if bool(hib) else 'lower'} is better)".strip()


def _entered(row) -> str:
    """The numbers as entered, on their own scale."""
    shape = str(row.get("data_shape"))
    scale = _scale_text(row)
    if shape == "contrast":
        measure = str(row.get("effect_measure"))
        ci = ""
        if not _blank(row.get("effect_ci_low")) and not _blank(row.get("effect_ci_high")):
            ci = f" ({_num(row.get('effect_ci_low'))} to {_num(row.get('effect_ci_high'))})"
        elif not _blank(row.get("effect_se")):
            ci = f" (SE {_num(row.get('effect_se'))})"
        value = _num(row.get("effect")) if measure in _RATIO else _signed(row.get("effect"))
        return f"{measure} {value}{ci} {scale}"
    if shape == "arm_continuous":
        kind = "change" if str(row.get("value_type")) == "change" else "mean"
        return (f"{kind} {_num(row.get('mean1'))} (n {_num(row.get('n1'))}) vs {_num(row.get('mean2'))} "
                f"(n {_num(row.get('n2'))}) {scale}")
    if shape == "arm_binary":
        return (f"events {_num(row.get('events1'))}/{_num(row.get('n1'))} vs "
                f"{_num(row.get('events2'))}/{_num(row.get('n2'))} ({row.get('outcome')})")
    if shape == "test_only":
        direction = "" if _blank(row.get("direction")) else f" ({row.get('direction')})"
        return f"p {row.get('p_qualifier') or '='} {_num(row.get('p_value'))}{direction} {scale}"
    return shape


def _comparator_words(row) -> str:
    label = "" if _blank(row.get("comparator_label")) else str(row.get("comparator_label"))
    label = label.split("(")[0].split(",")[0].strip()
    return label or str(row.get("comparator_class") or "the comparator")


def _favours(row, measure: str, yi: float, sei: float) -> str:
    sign = 1 if measure in _RATIO or measure == "RD" else -1
    if yi == 0:
        side = "favours neither arm"
    elif sign * yi > 0:
        side = "favours acupuncture"
    else:
        side = f"favours {_comparator_words(row)}"
    lo, hi = yi - _Z95 * sei, yi + _Z95 * sei
    if lo < 0 < hi:
        side += " (95% CI includes no difference)"
    return side


def _group_key(row) -> tuple[str, str, str]:
    return (str(row.get("outcome")), str(row.get("comparator_class")), str(row.get("window")))


def _group_text(key: Sequence[str]) -> str:
    return " x ".join(key)


def _pooled_k(analysis, key) -> int:
    if analysis is None or analysis.pooled is None or len(analysis.pooled) == 0:
        return 0
    p = analysis.pooled
    m = p[(p["outcome"].astype(str) == key[0]) & (p["comparator_class"].astype(str) == key[1])
          & (p["window"].astype(str) == key[2])]
    return int(m["k"].iloc[0]) if len(m) else 0


def _pool_text(analysis, before, label, row, conditions: Sequence[str] | None) -> str:
    """Which pooled group the row enters (k before -> after), or why it enters none."""
    key = _group_key(row)
    selected = analysis.selected
    if label in getattr(selected, "index", ()):
        k_after = _pooled_k(analysis, key)
        if before is None:
            return f"in pooled group {_group_text(key)} (k {k_after})"
        return f"enters pooled group {_group_text(key)}: k {_pooled_k(before, key)} -> {k_after}"
    if _blank(row.get("window")):
        return "enters no pool: its time point is in no window"
    if conditions is not None and str(row.get("condition")) not in conditions:
        return (f"enters no pool: {row.get('condition')} is not among the pooled populations "
                f"({', '.join(conditions)})")
    effects = analysis.effects
    if not bool(effects.loc[label].get("usable", True)) or _blank(effects.loc[label].get("yi")):
        return "enters no pool (no usable effect)"
    same = selected
    for col, value in zip(("study_id", "comparator_class", "outcome", "window"),
                          (row.get("study_id"), key[1], key[0], key[2])):
        if col in same.columns:
            same = same[same[col].astype(str) == str(value)]
    if len(same):
        return (f"not pooled: row {same.index[0]} of the same study is used for {_group_text(key)} "
                "(one row per trial per window: closest to the window's target, then priority)")
    return "enters no pool"


def understood_rows(analysis, labels: Iterable, *, before=None, names: dict | None = None,
                    conditions: Sequence[str] | None = None) -> list[str]:
    """One line per row ``label`` of ``analysis`` (an :class:`~trialsynth.report.analysis.Analysis`).

    ``before`` is the analysis without the new rows (for "k 2 -> 3"); ``names`` maps a row label
    to how to call it (``"row 2 of new.csv"``); ``conditions`` are the pooled populations.
    """
    lines = []
    effects = analysis.effects
    for label in labels:
        row = effects.loc[label]
        name = (names or {}).get(label, f"row {label}")
        weeks = row.get("timepoint_weeks")
        after = row.get("weeks_after")
        when = f"{_num(weeks)} wk"
        if not _blank(after):
            when += f" ({_num(round(float(after), 2))} after treatment)"
        window = "no window" if _blank(row.get("window")) else f"window {row.get('window')}"
        head = (f"{name}: {row.get('study_id')} {row.get('comparison_id')}, {row.get('outcome')}, "
                f"{when} -> {window}")
        measure = str(row.get("measure") or "")
        yi, sei = row.get("yi"), row.get("sei")
        if not _blank(yi) and not _blank(sei) and bool(row.get("usable", True)):
            computed = _effect_text(measure, float(yi), float(sei))
            if bool(row.get("approximate", False)):
                how = "" if _blank(row.get("derivation")) else str(row.get("derivation")).split(" (")[0].split(";")[0].split(",")[0]
                computed += f" [approximate: {how}]" if how else " [approximate]"
            favours = _favours(row, measure, float(yi), float(sei))
        else:
            reason = "" if _blank(row.get("reason")) else f": {row.get('reason')}"
            computed = f"no usable {measure or 'effect'}{reason}"
            favours = None
        parts = [head, f"{_entered(row)} -> {computed}"]
        if favours:
            parts.append(favours)
        parts.append(_pool_text(analysis, before, label, row, conditions))
        lines.append(parts[0] + "\n    " + "; ".join(parts[1:]))
    return lines
