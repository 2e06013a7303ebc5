"""What a pooled cell is: the columns that define it, and its name in words.

A *cell* is one question a meta-analysis answers: one outcome, one comparison, one time window.
The comparison is the comparator class **and** whether acupuncture was given instead of the
comparator's care or on top of it (``add_on``):

* "acupuncture vs usual care" (head-to-head: the trial asks whether acupuncture is better than
  the care it would replace, GERAC's conventional-therapy arm) and
* "acupuncture + usual care vs usual care" (add-on: whether adding acupuncture to that care
  helps, Thomas 2006, Witt 2006, DeBar 2025)

are different comparisons. The Cochrane Handbook asks reviewers to plan each synthesis as its own
population x intervention x comparator x outcome question, and how interventions and comparators
will be grouped for it (McKenzie JE, Brennan SE, Ryan RE, Thomson HJ, Johnston RV, Thomas J.
Chapter 3: Defining the criteria for including studies and how they will be grouped for the
synthesis. Cochrane Handbook for Systematic Reviews of Interventions v6.3, 2022), and the
acupuncture reviews keep these two apart: the 2020 Acupuncture in Medicine meta-analysis (PMID
32458717, quoted in ``shared/research/evidence.md`` Q09) reports "usual care" and "adjunctive
acupuncture with usual care" as separate comparisons. So ``add_on`` is part of every cell key
(:data:`CELL_KEY`), not a subgroup of a mixed cell: a subgroup analysis would still print one
pooled "usual care" estimate that answers neither question. An add-on to exercise (Hunter 2012:
auricular acupuncture + exercise vs exercise, comparator class ``no_treatment`` because the
control arm had no additional treatment) is an add-on comparison too.

Every stage that forms or names cells (pooling, GRADE, claims, figures, change report, tables)
imports :data:`CELL_KEY` and :func:`comparison_label` from here, so that they cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: the columns that define a pooled cell, in key order
CELL_KEY: tuple[str, ...] = ("outcome", "comparator_class", "add_on", "window")

#: the value a key column takes when a user pools across it (``run_analysis(pool_across=...)``)
ANY = "any"

#: what acupuncture is compared with, in words (the comparator's care alone)
COMPARATOR_WORDS = {
    "sham": "sham",
    "no_treatment": "no treatment / waiting list",
    "usual_care": "usual care",
    "active": "active treatment",
    ANY: "any control",
}

#: the add-on comparisons in words: acupuncture added to the care both arms had
ADD_ON_WORDS = {
    "sham": ("acupuncture + other care", "sham + that care"),
    "no_treatment": ("acupuncture + other care", "other care alone"),
    "usual_care": ("acupuncture + usual care", "usual care"),
    "active": ("acupuncture + active treatment", "active treatment alone"),
    ANY: ("acupuncture + other care", "other care alone"),
}

WINDOW_WORDS = {
    "immediate": "immediately after treatment",
    "short": "short term",
    "intermediate": "intermediate term",
    "long": "long term",
    ANY: "any time",
}


def as_add_on(value) -> bool | str:
    """``True``/``False`` for a cell's ``add_on`` value as any frame may hold it (bool, numpy
    bool, pandas boolean, ``"true"``/``"True"``); :data:`ANY` when pooled across it."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == ANY:
            return ANY
        return text in ("true", "1", "yes")
    if value is None or value is ANY:
        return False
    try:
        if isinstance(value, float) and math.isnan(value):
            return False
    except TypeError:
        pass
    try:
        return bool(value)
    except (TypeError, ValueError):  # pandas NA
        return False


def comparison_label(comparator_class, add_on=False, *, short: bool = False) -> str:
    """The comparison in words: ``("usual_care", True)`` -> "acupuncture + usual care vs usual
    care"; ``("usual_care", False)`` -> "acupuncture vs usual care"; ``short=True`` leaves out
    "acupuncture" where it goes without saying ("vs usual care", "+ usual care vs usual care")."""
    comp = str(comparator_class)
    flag = as_add_on(add_on)
    if flag == ANY:
        base = COMPARATOR_WORDS.get(comp, comp.replace("_", " "))
        text = f"acupuncture (alone or added to other care) vs {base}"
        return text.replace("acupuncture ", "", 1) if short else text
    if flag:
        arm1, arm2 = ADD_ON_WORDS.get(comp, ("acupuncture + other care", comp.replace("_", " ")))
        text = f"{arm1} vs {arm2}"
        return text.replace("acupuncture ", "", 1) if short else text
    text = "vs " + COMPARATOR_WORDS.get(comp, comp.replace("_", " "))
    return text if short else "acupuncture " + text


def cell_values(cell) -> dict:
    """A cell key (tuple in :data:`CELL_KEY` order) or a row mapping as ``{column: value}``."""
    if isinstance(cell, Mapping):
        return {c: cell.get(c) for c in CELL_KEY}
    return dict(zip(CELL_KEY, tuple(cell)))


def cell_label(cell, *, outcome: bool = True) -> str:
    """One cell in words: "Pain: acupuncture + usual care vs usual care, intermediate term"."""
    v = cell_values(cell)
    comp = comparison_label(v.get("comparator_class"), v.get("add_on"))
    window = WINDOW_WORDS.get(str(v.get("window")), str(v.get("window")))
    text = f"{comp}, {window}"
    if outcome:
        text = f"{str(v.get('outcome') or '').replace('_', ' ').capitalize()}: {text}"
    return text


def describe_key(key, by=CELL_KEY) -> str:
    """A group key in words: :func:`cell_label` when ``by`` is the cell key, else its values
    joined ("pain, sham, immediate")."""
    key = key if isinstance(key, tuple) else (key,)
    if tuple(by) == CELL_KEY:
        return cell_label(key)
    return ", ".join(str(x) for x in key)


def cell_key(row: Mapping, by=CELL_KEY) -> tuple:
    """The key of the cell ``row`` belongs to (``add_on`` as a plain bool)."""
    return tuple(as_add_on(row.get(c)) if c == "add_on" else row.get(c) for c in by)


def key_text(row: Mapping, by=CELL_KEY) -> str:
    """A cell key as stable text ("pain | usual_care | add-on | intermediate"), for files and
    change reports; the add-on part reads ``add-on`` or ``head-to-head``."""
    parts = []
    for c in by:
        value = row.get(c)
        if c == "add_on":
            flag = as_add_on(value)
            parts.append(ANY if flag == ANY else ("add-on" if flag else "head-to-head"))
        else:
            parts.append(str(value))
    return " | ".join(parts)


__all__ = ["ANY", "CELL_KEY", "WINDOW_WORDS", "as_add_on", "cell_key", "cell_label", "cell_values", "comparison_label",
           "describe_key",
           "key_text"]
