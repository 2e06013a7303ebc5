"""Multi-arm trials: a shared arm is never counted twice in one pool.

When two comparisons of one trial enter the same pooled cell and share an arm (DeBar 2025: sham
acupuncture + usual care vs usual care, and electroacupuncture + usual care vs the same usual-care
arm; GERAC's verum arm against sham and against conventional therapy when a user pools across
comparators), pooling both as they are would count the shared patients twice and give the trial
too much weight. The Cochrane Handbook (v6.4, section 23.3.4) lists two remedies: combine the
arms into one comparison, or "split the 'shared' group into two or more groups with smaller
sample size, and include two or more (reasonably independent) comparisons". Combining needs the
arms' own means and SDs, which contrast rows do not print, so :func:`split_shared_arms` **splits**:
each of the m comparisons keeps its own effect but is entered with the shared arm's n (and, for
counts, its events) divided by m, and its variance recomputed:

``arm_continuous``
    the shared arm's SD (from SD, SE or CI with the full n) is kept and its n divided by m; the
    effect is recomputed from the arm data.
``arm_binary``
    events and n of the shared arm divided by m (Handbook 23.3.4), the effect recomputed.
``contrast``
    the reported effect is kept; its SE is multiplied by
    ``sqrt((1/n_other + m/n_shared) / (1/n_other + 1/n_shared))``, which is exact for a mean
    difference when the arms' SDs are equal (the assumption the SMD's pooled SD already makes) and
    an approximation for a ratio (equal per-arm variance contributions assumed); without both n it
    cannot be split, and the comparison with the larger n is kept alone.
``test_only``
    the test statistic is rescaled so that the SMD (``t sqrt(1/n1 + 1/n2)``) is unchanged while
    its variance uses the split n.

Which arm is shared comes from the data (``shared_arm``, ``shared_arm_id``); two comparisons of
one trial in one cell that share no *named* arm cannot be shown to be independent, so only the
first (by ``priority``, then file order) is kept, as :func:`trialsynth.data.windows.select_per_window`
always did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from trialsynth.data.cells import describe_key
from trialsynth.effects import conversions as cv
from trialsynth.effects.records import OUTPUT_COLUMNS
from trialsynth.errors import ArgumentError

#: why a comparison was left out of a cell (the ``set_apart`` column)
UNNAMED_SHARED_REASON = "another comparison of the same trial is in the cell and no shared arm is named"


def _f(row, col) -> float:
    try:
        v = float(row.get(col))
    except (TypeError, ValueError):
        return float("nan")
    return v


def split_row(row: dict, arm: int, m: int) -> dict:
    """The raw trial row ``row`` with arm ``arm``'s n (and events) divided by ``m`` and its other
    numbers adjusted as the module docstring says; ``derivation_note`` says what was done."""
    if m < 2:
        return dict(row)
    out = dict(row)
    a, b = str(arm), str(3 - arm)
    n_shared, n_other = _f(row, "n" + a), _f(row, "n" + b)
    shape = str(row.get("data_shape"))
    note = f"shared arm {row.get('shared_arm_id')} split between {m} comparisons in this cell (n{a} / {m}; Cochrane Handbook 23.3.4)"
    if shape == "arm_continuous":
        sd = _f(row, "sd" + a)
        if not np.isfinite(sd):
            se, lo, hi = _f(row, "se" + a), _f(row, "ci_low" + a), _f(row, "ci_high" + a)
            if np.isfinite(se):
                sd = float(cv.sd_from_se(np.array([se]), np.array([n_shared]))[0])
            elif np.isfinite(lo) and np.isfinite(hi):
                sd = float(cv.sd_from_ci(np.array([lo]), np.array([hi]), np.array([n_shared]))[0])
        out["sd" + a] = sd
        for c in ("se" + a, "ci_low" + a, "ci_high" + a):
            out[c] = np.nan
        out["n" + a] = n_shared / m
    elif shape == "arm_binary":
        out["events" + a] = _f(row, "events" + a) / m
        out["n" + a] = n_shared / m
    elif shape == "contrast":
        se = _f(row, "effect_se")
        if not np.isfinite(se):
            lo, hi = _f(row, "effect_ci_low"), _f(row, "effect_ci_high")
            ratio = str(row.get("effect_measure")).upper() in cv.RATIO_CONTRASTS
            if ratio:
                lo, hi = np.log(lo), np.log(hi)
            small = min(n_shared, n_other) < cv.T_BELOW_N if np.isfinite(n_shared) and np.isfinite(n_other) else False
            crit = cv.critical_value(95, n_shared + n_other - 2) if small else cv.critical_value(95)
            se = (hi - lo) / (2.0 * float(crit))
        factor = np.sqrt((1 / n_other + m / n_shared) / (1 / n_other + 1 / n_shared))
        out["effect_se"] = se * factor
        out["effect_ci_low"] = out["effect_ci_high"] = np.nan
        out["n" + a] = n_shared / m
        note += f"; SE x {factor:.3f}" + (" (approximate for a ratio)" if str(row.get("effect_measure")).upper()
                                          in cv.RATIO_CONTRASTS else " (equal arm SDs)")
    elif shape == "test_only":
        n1, n2 = _f(row, "n1"), _f(row, "n2")
        stat = _f(row, "test_statistic")
        if not np.isfinite(stat):
            p = _f(row, "p_value")
            stat = float(cv.t_from_p(np.array([p]), np.array([n1 + n2 - 2.0]))[0])
            out["statistic_type"] = "t"
        new = {"1": n1, "2": n2}
        new[a] = n_shared / m
        scale = np.sqrt(1 / n1 + 1 / n2) / np.sqrt(1 / new["1"] + 1 / new["2"])
        out["test_statistic"] = abs(stat) * scale
        out["n" + a] = new[a]
    out["derivation_note"] = note
    return out


def split_shared_arms(selected: pd.DataFrame, by: Sequence[str],
                      recompute: Callable[[pd.DataFrame, str], pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Split every arm shared by several comparisons of one trial within one cell.

    Parameters
    ----------
    selected : DataFrame
        Effect rows (raw trial columns plus :data:`~trialsynth.effects.records.OUTPUT_COLUMNS`),
        at most one per comparison and cell.
    by : sequence of str
        The cell key.
    recompute : callable
        ``recompute(raw_rows, measure)`` returns the effect rows of ``raw_rows`` (without the
        output columns) in ``measure`` (e.g. :func:`~trialsynth.effects.records.effects_from_trials`).

    Returns
    -------
    kept : DataFrame
        ``selected`` with split rows recomputed (their ``derivation`` says so) and a ``label``
        column (``study_id``, with the comparison added when a trial has several in one cell).
    set_apart : DataFrame
        Comparisons left out (``set_apart`` says why).
    notes : list of str
    """
    missing = [c for c in (*by, "study_id", "comparison_id") if c not in selected.columns]
    if missing:
        raise ArgumentError(f"selected lacks the column(s) {missing}")
    out = selected.copy()
    out["label"] = out["study_id"].astype(str)
    apart, notes = [], []
    if len(out) == 0:
        return out, out.assign(set_apart=pd.Series(dtype=object)), notes
    shared_arm = out["shared_arm"].astype(object).where(out["shared_arm"].notna(), "") if "shared_arm" in out else pd.Series("", index=out.index)
    shared_id = out["shared_arm_id"].astype(object).where(out["shared_arm_id"].notna(), "") if "shared_arm_id" in out else pd.Series("", index=out.index)
    drop = []
    for _key, group in out.groupby([*by, "study_id"], sort=False, dropna=False):
        if group["comparison_id"].nunique() < 2:
            continue
        ids = {str(shared_id[i]) for i in group.index}
        study = str(group["study_id"].iloc[0])
        where = describe_key(tuple(group[c].iloc[0] for c in by), by)
        if len(ids) == 1 and "" not in ids:
            m = len(group)
            arms = {str(shared_arm[i]) for i in group.index}
            raw = []
            for idx, rec in group.iterrows():
                arm = 1 if str(shared_arm[idx]) == "arm1" else 2
                raw.append(split_row(rec.drop(labels=[c for c in OUTPUT_COLUMNS if c in rec.index] + ["label"]).to_dict(), arm, m))
            raw = pd.DataFrame(raw, index=group.index)
            measure = str(group["measure"].iloc[0])
            redo = recompute(raw.drop(columns=["derivation_note"]), measure)
            for col in ("n1", "n2", "events1", "events2"):  # split counts are fractional (Handbook 23.3.4)
                if col in out.columns and out[col].dtype != "float64":
                    out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
            for idx in group.index:
                for col in OUTPUT_COLUMNS:
                    out.at[idx, col] = redo.at[idx, col]
                for col in ("n1", "n2", "events1", "events2"):
                    if col in raw.columns and col in out.columns:
                        out.at[idx, col] = float(raw.at[idx, col]) if pd.notna(raw.at[idx, col]) else np.nan
                out.at[idx, "derivation"] = f"{redo.at[idx, 'derivation']}; {raw.at[idx, 'derivation_note']}"
                out.at[idx, "label"] = f"{study} ({out.at[idx, 'comparison_id']})"
            notes.append(f"{study} ({where}): {m} comparisons share the arm {ids.pop()} ({', '.join(sorted(arms))}); "
                         f"its n is split between them (n / {m}, Cochrane Handbook 23.3.4) so no patient is counted twice")
        else:
            priority = group["priority"] if "priority" in group.columns else pd.Series(np.nan, index=group.index)
            order = group.assign(_p=pd.to_numeric(priority, errors="coerce").astype("float64").fillna(np.inf))
            order = order.sort_values("_p", kind="mergesort")
            left = order.index[1:]
            drop.extend(left)
            notes.append(f"{study} ({where}): comparisons {', '.join(map(str, group['comparison_id']))} are in one cell but "
                         f"share no named arm (shared_arm_id); only {order['comparison_id'].iloc[0]} is pooled")
    if drop:
        apart.append(out.loc[drop].assign(set_apart=UNNAMED_SHARED_REASON))
        out = out.drop(index=drop)
    set_apart = pd.concat(apart) if apart else out.iloc[0:0].assign(set_apart=pd.Series(dtype=object))
    return out, set_apart, notes


__all__ = ["UNNAMED_SHARED_REASON", "split_row", "split_shared_arms"]
