"""One meta-analysis per group of an effects table (outcome x comparator x add-on x time window).

:func:`pool_groups` takes the DataFrame made by
:func:`trialsynth.effects.records.effects_from_trials` (trial rows plus ``yi``, ``vi``,
``measure``) and pools each group with a named method profile.  Rows without a usable effect
(missing ``yi`` or ``vi``) are left out and counted; a group with no usable row is skipped (and
listed in ``skipped``); a group with one study gives that study's effect with a note, never a
silent NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import pool
from trialsynth.pooling.profiles import get_profile
from trialsynth.pooling.results import MetaResult

from trialsynth.data.cells import CELL_KEY  # noqa: E402 - one definition of a cell

#: the default groups: the cells of :data:`trialsynth.data.cells.CELL_KEY` (add-on and
#: head-to-head comparisons are different questions, so ``add_on`` is part of the key)
DEFAULT_BY = CELL_KEY
FRAME_COLUMNS = ("k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q",
                 "q_p_value", "p_value", "measure", "profile", "study_ids")


@dataclass
class GroupedResults:
    """Results of :func:`pool_groups`.

    Attributes
    ----------
    by : tuple of str
        The grouping columns.
    results : dict
        Group key (tuple, in ``by`` order) -> :class:`MetaResult`.
    skipped : dict
        Group key -> reason, for groups with no usable study.
    notes : dict
        Group key -> list of notes (rows dropped, k = 1, warnings of the fit).
    profile : str
    """

    by: tuple
    results: dict
    skipped: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    profile: str | None = None

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, key) -> MetaResult:
        return self.results[key if isinstance(key, tuple) else (key,)]

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per pooled group: the ``by`` columns, then k, estimate, ci_low, ci_high,
        pi_low, pi_high, tau2, i2, q, q_p_value, p_value, measure, profile, study_ids (a
        "; "-separated list), and ``notes``."""
        rows = []
        for key, res in self.results.items():
            row = dict(zip(self.by, key))
            row.update({
                "k": res.k, "estimate": res.estimate, "ci_low": res.ci_low,
                "ci_high": res.ci_high, "pi_low": res.pi_low, "pi_high": res.pi_high,
                "tau2": res.tau2, "i2": res.i2, "q": res.q, "q_p_value": res.q_p_value,
                "p_value": res.p_value, "measure": res.measure, "profile": res.profile,
                "study_ids": "; ".join(res.labels),
                "notes": " | ".join(self.notes.get(key, [])),
            })
            rows.append(row)
        return pd.DataFrame(rows, columns=[*self.by, *FRAME_COLUMNS, "notes"])


def split_study_ids(value) -> list[str]:
    """The study labels of a pooled row's ``study_ids`` (``"A; B"``, ``"A,B"`` or a list) as a list
    of strings; ``[]`` for a missing value."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        return [s.strip() for s in value.replace(";", ",").split(",") if s.strip()]
    return [str(v) for v in value]


def pool_groups(
    effects_df: pd.DataFrame,
    by=DEFAULT_BY,
    profile: str = "cochrane-2025",
    *,
    label_column: str = "study_id",
    level: float = 95,
    warn: bool = False,
) -> GroupedResults:
    """Pool every group of an effects table with one method profile.

    Parameters
    ----------
    effects_df : DataFrame
        Must contain ``yi``, ``vi`` and the ``by`` columns; ``measure`` (one per group) and
        ``label_column`` (study labels) are used when present.
    by : str or sequence of str
        Grouping columns (default :data:`DEFAULT_BY`: outcome, comparator_class, add_on, window;
        a frame without ``add_on`` needs an explicit ``by``).
    profile : str
        A name from :data:`trialsynth.pooling.profiles.PROFILES`.
    level : float
        Confidence level in percent.
    warn : bool
        Emit each fit's warnings with :func:`warnings.warn` (they are always kept in the
        result's ``warnings`` and in ``notes``).
    """
    if not isinstance(effects_df, pd.DataFrame):
        raise ArgumentError("effects_df must be a pandas DataFrame with columns yi and vi")
    by = (by,) if isinstance(by, str) else tuple(by)
    prof = get_profile(profile)
    missing = [c for c in ("yi", "vi", *by) if c not in effects_df.columns]
    if missing:
        hint = (" (add_on: true when acupuncture was added to the comparator's care, false when it was compared "
                "head to head; or pass by= without it)" if "add_on" in missing else "")
        raise ArgumentError(f"effects_df lacks the column(s) {missing}; it needs yi, vi and the by columns{hint}")
    results, skipped, notes = {}, {}, {}
    grouped = effects_df.groupby(list(by), sort=True, dropna=False) if by else [((), effects_df)]
    for key, group in grouped:
        key = key if isinstance(key, tuple) else (key,)
        yi = pd.to_numeric(group["yi"], errors="coerce").to_numpy(dtype=float)
        vi = pd.to_numeric(group["vi"], errors="coerce").to_numpy(dtype=float)
        usable = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
        group_notes = []
        if (~usable).any():
            group_notes.append(f"{int((~usable).sum())} row(s) without a usable effect left out")
        if not usable.any():
            skipped[key] = "no study with a usable effect (yi and vi > 0)"
            continue
        g = group[usable]
        measure = None
        if "measure" in g.columns:
            measures = sorted({str(m) for m in g["measure"].dropna()})
            if len(measures) > 1:
                raise ArgumentError(
                    f"group {dict(zip(by, key))} mixes measures {measures}; pool one measure per group "
                    "(add 'measure' to by)"
                )
            measure = measures[0] if measures else None
        if label_column in g.columns:
            labels = [str(x) for x in g[label_column]]
        else:
            labels = [str(x) for x in g.index]
        if usable.sum() == 1:
            group_notes.append("a single study: its own effect is reported, not a pooled estimate")
        res = pool(yi[usable], vi[usable], profile=prof.name, measure=measure, labels=labels,
                   level=level, warn=warn)
        res.favourable_direction = _favourable_direction(g)
        group_notes.extend(res.warnings)
        results[key] = res
        notes[key] = group_notes
    return GroupedResults(by=by, results=results, skipped=skipped, notes=notes, profile=prof.name)


def _favourable_direction(group: pd.DataFrame) -> str | None:
    """The group's ``favourable_direction`` (see :func:`trialsynth.effects.records.effects_from_trials`):
    its one value, or None when the column is absent or its rows disagree."""
    if "favourable_direction" not in group.columns:
        return None
    values = {str(v) for v in group["favourable_direction"].dropna() if str(v) in ("lower", "higher")}
    return values.pop() if len(values) == 1 else None


__all__ = ["pool_groups", "GroupedResults"]
