"""Change scores and final values: which a pooled cell uses, so that an SMD never mixes them.

A standardised mean difference divides by an SD, and the SD of change from baseline is not the SD
of the final value (it reflects the measurement's reliability, not the scale), so "studies with
final values and studies with change scores should not be combined together as standardized mean
differences", while a mean difference on one scale may combine them (Cochrane Handbook for
Systematic Reviews of Interventions v6.4, section 10.5.2; da Costa BR et al. 2013, J Clin
Epidemiol 66:847-855). The rule applied to every cell of an SMD analysis
(:func:`reconcile_value_types`):

1. **A final value carried by a baseline imbalance is set apart.** For a final-value row with
   printed baseline means, the change-score difference is computed exactly from the means
   (``(mean1 - mean2) - (baseline_mean1 - baseline_mean2)``, :func:`baseline_reversal`). When it
   has the opposite sign of the final-value difference, the direction of the trial's result
   depends on which value one reads; the trial analysed change (or baseline-adjusted) values, so
   its final values are not pooled (Cherkin 2009: Roland 6.3 vs 5.4 at 8 weeks favours sham, but
   from baselines 10.8 vs 9.8 the changes, -4.5 vs -4.4, favour acupuncture: Table 1 and the
   abstract). The SD of the change is not printed, and imputing it needs a baseline-follow-up
   correlation the trial does not print (Handbook 6.5.2.8), so no change-score SMD is made.
2. **A cell that holds both change and final rows** is pooled as a mean difference on a common
   0-100 scale (:mod:`trialsynth.effects.common_scale`) when every row of the cell has a mean
   difference on an instrument with a printed range: the Handbook's way of combining them, and
   what Cochrane reports.
3. **Otherwise one value type is kept**: the one more trials of the cell report (on a tie, the
   one with more participants; then final values), and the rows of the other type are set apart.
   Rows whose value type is not known (an effect from a p-value, a contrast without
   ``value_type``) stay in the cell.

Every row set apart is returned with its reason, so that the sensitivity analyses can put it back
and show whether the cell's conclusion depends on the rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialsynth.data.cells import describe_key
from trialsynth.errors import ArgumentError

FINAL, CHANGE, UNKNOWN = "final", "change", ""
#: why a row was set apart (the ``set_apart`` column of the rows returned)
BASELINE_REASON = "baseline imbalance reverses the final-value result"
VALUE_TYPE_REASON = "value type differs from the cell's (change and final values are not mixed in one SMD)"

_EFFECT_COLUMNS = ("yi", "vi", "sei", "measure", "approximate", "derivation", "usable", "reason")


def value_type_of(df: pd.DataFrame) -> pd.Series:
    """Each row's value type: ``final``, ``change`` or ``""`` (unknown: not printed, or a binary
    outcome)."""
    if "value_type" not in df.columns:
        return pd.Series(UNKNOWN, index=df.index, dtype=object)
    vt = df["value_type"].astype(object).where(df["value_type"].notna(), UNKNOWN).astype(str).str.strip().str.lower()
    return vt.where(vt.isin([FINAL, CHANGE]), UNKNOWN)


def baseline_reversal(df: pd.DataFrame) -> pd.DataFrame:
    """For each row: the final-value difference ``final_md`` (arm 1 - arm 2, the scale's own
    orientation), the change-score difference ``change_md`` computed from the printed baseline
    means, and ``reverses`` (True when both are non-zero and of opposite signs). NaN / False
    where a final-value row has no baseline means."""
    num = {c: pd.to_numeric(df[c], errors="coerce") if c in df.columns else pd.Series(np.nan, index=df.index)
           for c in ("mean1", "mean2", "baseline_mean1", "baseline_mean2")}
    final = value_type_of(df) == FINAL
    final_md = (num["mean1"] - num["mean2"]).where(final)
    change_md = (final_md - (num["baseline_mean1"] - num["baseline_mean2"])).where(final)
    reverses = (np.sign(final_md) * np.sign(change_md) < 0).fillna(False).astype(bool)
    return pd.DataFrame({"final_md": final_md, "change_md": change_md, "reverses": reverses}, index=df.index)


def _participants(rows: pd.DataFrame) -> float:
    n = pd.to_numeric(rows.get("n1"), errors="coerce").fillna(0) + pd.to_numeric(rows.get("n2"), errors="coerce").fillna(0)
    return float(n.sum())


def reconcile_value_types(selected: pd.DataFrame, by: Sequence[str], *, on_100: pd.DataFrame | None = None,
                          continuous_measure: str = "SMD") -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Apply the module's rule to every cell (``by`` groups) of ``selected``.

    Parameters
    ----------
    selected : DataFrame
        Effect rows (:func:`~trialsynth.effects.records.effects_from_trials` output, one per trial
        and cell) with ``value_type`` and the ``by`` columns.
    by : sequence of str
        The cell key.
    on_100 : DataFrame, optional
        The same trial rows (same index) as :func:`~trialsynth.effects.common_scale.effects_on_100`
        gives them; without it step 2 is skipped.
    continuous_measure : str
        The measure of ``selected``'s continuous rows; the rule applies to ``SMD`` only (an MD on
        one scale may mix value types).

    Returns
    -------
    kept : DataFrame
        The rows to pool (a cell pooled on the 0-100 scale has its effect columns replaced).
    set_apart : DataFrame
        The rows left out, with a ``set_apart`` column saying why.
    notes : list of str
        One sentence per cell the rule changed.
    """
    missing = [c for c in by if c not in selected.columns]
    if missing:
        raise ArgumentError(f"selected lacks the cell column(s) {missing}")
    if len(selected) == 0 or continuous_measure != "SMD":
        return selected, selected.iloc[0:0].assign(set_apart=pd.Series(dtype=object)), []
    kept = selected.copy()
    apart: list[pd.DataFrame] = []
    notes: list[str] = []
    vtype = value_type_of(kept)
    continuous = kept["measure"].astype(str).eq(continuous_measure)

    # 1. final values whose direction a baseline imbalance reverses
    rev = baseline_reversal(kept)
    flip = rev["reverses"] & continuous
    for idx in kept.index[flip]:
        r = kept.loc[idx]
        notes.append(f"{r['study_id']} ({describe_key(tuple(r.get(c) for c in by), by)}): final values differ by "
                     f"{rev.at[idx, 'final_md']:+.2f} but changes from the printed baselines by {rev.at[idx, 'change_md']:+.2f} "
                     "(the baseline imbalance reverses the result); the final values are not pooled (Cochrane Handbook 10.5.2)")
    if flip.any():
        apart.append(kept[flip].assign(set_apart=BASELINE_REASON))
        kept = kept[~flip]
        vtype, continuous = vtype[~flip], continuous[~flip]

    # 2./3. cells mixing change and final values
    drop = pd.Series(False, index=kept.index)
    for key, cell in kept[continuous].groupby(list(by), sort=False, dropna=False):
        types = vtype.loc[cell.index]
        if not {FINAL, CHANGE} <= set(types):
            continue
        where = describe_key(key, by)
        if on_100 is not None and cell.index.isin(on_100.index).all():
            alt = on_100.loc[cell.index]
            if alt["usable"].astype(bool).all():
                for col in _EFFECT_COLUMNS:
                    kept.loc[cell.index, col] = alt[col].to_numpy()
                notes.append(f"{where}: change and final values pooled as mean differences on a common 0-100 scale "
                             "(every instrument's range is printed; Cochrane Handbook 10.5.2)")
                continue
        counts = {t: cell.loc[types == t, "study_id"].nunique() for t in (FINAL, CHANGE)}
        sizes = {t: _participants(cell[types == t]) for t in (FINAL, CHANGE)}
        keep = max((FINAL, CHANGE), key=lambda t: (counts[t], sizes[t], t == FINAL))
        other = CHANGE if keep == FINAL else FINAL
        out = cell[types == other]
        drop.loc[out.index] = True
        why = ("more trials" if counts[keep] != counts[other] else
               "as many trials, more participants" if sizes[keep] != sizes[other] else "a tie: final values")
        notes.append(f"{where}: {counts[keep]} trial(s) report {keep} values and {counts[other]} {other} values; "
                     f"the SMD pool keeps {keep} values ({why}) and sets apart "
                     + ", ".join(sorted(map(str, out["study_id"])))
                     + " (no common 0-100 scale: not every instrument's range is printed; Cochrane Handbook 10.5.2)")
    if drop.any():
        apart.append(kept[drop].assign(set_apart=VALUE_TYPE_REASON))
        kept = kept[~drop]
    set_apart = pd.concat(apart) if apart else selected.iloc[0:0].assign(set_apart=pd.Series(dtype=object))
    return kept, set_apart, notes


__all__ = ["BASELINE_REASON", "CHANGE", "FINAL", "UNKNOWN", "VALUE_TYPE_REASON", "baseline_reversal",
           "reconcile_value_types", "value_type_of"]
