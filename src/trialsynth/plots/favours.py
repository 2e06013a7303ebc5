"""Which side of a forest plot's axis favours whom: one rule for every figure.

A figure's "Favours ..." labels are read from the *direction* of the effect scale, never
assumed. Effects carry it where they are oriented: :func:`trialsynth.effects.records.effects_from_trials`
writes ``favourable_direction`` per row (continuous effects are oriented so that lower values
favour the intervention; a responder ratio above 1 favours it when a response is good), and
:func:`trialsynth.pooling.grouped.pool_groups` puts it on each pooled result
(``MetaResult.favourable_direction``). The values are

* ``"lower"``: effects below the null (0, or a ratio of 1) favour the intervention (arm 1);
* ``"higher"``: effects above the null favour the intervention;
* ``None``: not known. Figures then print no favours labels and say so in a footnote
  (:data:`UNKNOWN_DIRECTION_NOTE`) rather than guess.

The measure only decides where the null is (0, or 1 on a ratio axis); "lower" and "higher" are
relative to it, so the same rule holds on linear and log axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialsynth.errors import ArgumentError

__all__ = ["FAVOURABLE_DIRECTIONS", "UNKNOWN_DIRECTION_NOTE", "favourable_direction_of", "favours_labels"]

FAVOURABLE_DIRECTIONS = ("lower", "higher")

#: the footnote a figure prints when it cannot tell which side favours the intervention
UNKNOWN_DIRECTION_NOTE = (
    "Sides not labelled: the result does not say which direction favours the intervention "
    "(give favourable_direction='lower' or 'higher', or favours=(left, right))."
)

#: the library's neutral arm names (the acupuncture wording comes from the analysis)
DEFAULT_ARMS = ("Intervention", "Control")


def check_direction(value, name: str = "favourable_direction") -> str | None:
    """``value`` as ``"lower"``, ``"higher"`` or None (an empty string or NaN is None)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    if text not in FAVOURABLE_DIRECTIONS:
        raise ArgumentError(f"{name}: expected 'lower', 'higher' or None, got {value!r}")
    return text


def favourable_direction_of(obj) -> str | None:
    """The ``favourable_direction`` carried by a result, a pooled row (dict, Series, one-row
    frame), a study frame (its one value) or a list of those (their common value); None when
    absent or when they disagree."""
    if obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        if "favourable_direction" not in obj.columns:
            return None
        values = {check_direction(v) for v in obj["favourable_direction"]} - {None}
        return values.pop() if len(values) == 1 else None
    if isinstance(obj, (list, tuple)):
        values = {favourable_direction_of(item) for item in obj}
        return values.pop() if len(values) == 1 else None
    if isinstance(obj, (Mapping, pd.Series)):
        value = obj.get("favourable_direction")
    else:
        value = getattr(obj, "favourable_direction", None)
    try:
        return check_direction(value)
    except ArgumentError:
        return None


def favours_labels(favourable_direction, arm_labels: Sequence[str] = DEFAULT_ARMS, *,
                   spelling: str = "Favours") -> tuple[str, str] | None:
    """``(left, right)`` labels for the two sides of the null, or None when the direction is unknown.

    Parameters
    ----------
    favourable_direction : {"lower", "higher"} or None
        The side of the null that favours the intervention (see the module docstring).
    arm_labels : (str, str)
        The intervention's and the comparator's names (``("Acupuncture", "Sham")`` gives
        "Favours acupuncture" / "Favours sham"); default ``("Intervention", "Control")``.
    spelling : str
        ``"Favours"`` or ``"Favors"`` (JAMA).

    Examples
    --------
    >>> favours_labels("lower")
    ('Favours intervention', 'Favours control')
    >>> favours_labels("higher", ("Acupuncture", "Sham"))
    ('Favours sham', 'Favours acupuncture')
    >>> favours_labels(None) is None
    True
    """
    direction = check_direction(favourable_direction)
    if direction is None:
        return None
    if len(arm_labels) != 2:
        raise ArgumentError("arm_labels: expected two names (intervention, comparator)")
    intervention, control = (f"{spelling} {_lower_first(label)}" for label in arm_labels)
    return (intervention, control) if direction == "lower" else (control, intervention)


def _lower_first(label: str) -> str:
    """"Acupuncture" -> "acupuncture", but keep acronyms ("TENS") as written."""
    label = str(label)
    if len(label) > 1 and label[:2].isupper():
        return label
    return label[:1].lower() + label[1:]
