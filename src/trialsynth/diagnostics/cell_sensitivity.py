"""Sensitivity analyses of every pooled cell: does its conclusion survive leaving out the weak evidence?

Cochrane reviews repeat their main analyses without the studies whose inclusion is a judgement
call and report whether the conclusion changes (Cochrane Handbook for Systematic Reviews of
Interventions v6.4, section 10.14: sensitivity analyses "repeat the primary analysis ...
substituting alternative decisions"). :func:`cell_sensitivity` does that for every cell of a
pooled analysis, with one re-pooling per analysis of :data:`ANALYSES`:

``without_p_value_effects``
    without effects approximated from a p-value or a test statistic (``data_shape`` test_only:
    their SMD rests on the arm sizes and a rounded p, e.g. "P < 0.05" taken as 0.05);
``without_high_unclear_rob``
    without trials whose overall risk of bias is high or unclear (rows nobody has judged are
    counted and kept, and the note says how many; a cell with no judged trial is ``not assessed``);
``chronic_only``
    chronic low back pain only (without ``mixed_lbp``: persistent pain of mixed or unstated
    duration);
``sham_penetrating``, ``sham_non_penetrating``, ``sham_placebo_tens``
    for a sham cell, the trials of one kind of sham (``sham_type``) only;
``with_single_sessions``, ``with_value_types_mixed``
    the rows the pooling rules set apart put back (single-session trials; final values set apart
    for mixing with change scores or for a baseline imbalance), so the effect of each rule is seen.

Each analysis re-pools with the cell's own method profile and reports the effect, k, the studies
left out or added, and whether the cell's **conclusion class** (important benefit, small benefit,
no clear difference, favours control) changes. The classification is the caller's
(``classify``, e.g. :func:`trialsynth.claims.effects.classify_effect` with the cell's MID), so that
this module depends only on the pooling stage. A pure function: no files are read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError


@dataclass(frozen=True)
class Analysis:
    """One sensitivity analysis: ``name``, the column header ``label``, and which rows it uses."""

    name: str
    label: str
    description: str


ANALYSES: tuple[Analysis, ...] = (
    Analysis("without_p_value_effects", "without effects from p-values",
             "without effects approximated from a p-value or test statistic"),
    Analysis("without_high_unclear_rob", "without high/unclear risk of bias",
             "without trials judged at high or unclear overall risk of bias"),
    Analysis("chronic_only", "chronic only", "chronic low back pain only (without mixed_lbp)"),
    Analysis("sham_penetrating", "sham: penetrating", "penetrating minimal or sham needling only"),
    Analysis("sham_non_penetrating", "sham: non-penetrating", "non-penetrating sham only"),
    Analysis("sham_placebo_tens", "sham: placebo TENS", "placebo or mock TENS only"),
    Analysis("with_single_sessions", "with single sessions", "single-session trials put back"),
    Analysis("with_value_types_mixed", "with value types mixed",
             "final values set apart by the value-type rule put back"),
)
BY_NAME = {a.name: a for a in ANALYSES}

#: how an analysis relates to the main pool
SAME, CHANGED, UNCHANGED, EMPTY, NOT_APPLICABLE = "same trials", "class changes", "class unchanged", "no trial left", "not applicable"
#: the risk-of-bias analysis of a cell none of whose trials has a risk-of-bias judgement
NOT_ASSESSED = "not assessed"

COLUMNS = ["analysis", "label", "status", "class_changes", "k_main", "k", "measure", "estimate", "ci_low", "ci_high",
           "class_main", "effect_class", "left_out", "added", "note"]

SINGLE_SESSION_REASON = "single session"


def _text(series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return _text(df[name]) if name in df.columns else pd.Series("", index=df.index, dtype=object)


def _rows_for(analysis: str, cell: pd.DataFrame, extra: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """The rows ``analysis`` pools for one cell (None: not applicable), and a note."""
    if analysis == "without_p_value_effects":
        return cell[_col(cell, "data_shape") != "test_only"], ""
    if analysis == "without_high_unclear_rob":
        rob = _col(cell, "rob").str.lower()
        unassessed = int((rob == "").sum())
        if unassessed == len(cell):
            return NOT_ASSESSED, "no trial of the cell has a risk-of-bias judgement in the data"
        note = f"{unassessed} of {len(cell)} row(s) not assessed for risk of bias (kept)" if unassessed else ""
        return cell[~rob.isin(["high", "unclear"])], note
    if analysis == "chronic_only":
        return cell[_col(cell, "condition") == "chronic_lbp"], ""
    if analysis.startswith("sham_"):
        if not (_col(cell, "comparator_class") == "sham").all():
            return None, ""
        kind = analysis[len("sham_"):]
        types = _col(cell, "sham_type")
        if not (types == kind).any():
            return None, ""
        unstated = int((types == "").sum())
        return cell[types == kind], (f"{unstated} trial(s) whose sham type no quote states are left out" if unstated else "")
    if analysis == "with_single_sessions":
        add = extra[_col(extra, "set_apart") == SINGLE_SESSION_REASON] if len(extra) else extra
        if len(add) == 0:
            return None, ""
        return pd.concat([cell, add]), ""
    if analysis == "with_value_types_mixed":
        from trialsynth.effects.value_types import BASELINE_REASON, VALUE_TYPE_REASON

        add = extra[_col(extra, "set_apart").isin([VALUE_TYPE_REASON, BASELINE_REASON])] if len(extra) else extra
        if len(add) == 0:
            return None, ""
        return pd.concat([cell, add]), ""
    raise ArgumentError(f"analyses: unknown sensitivity analysis {analysis!r}; known: {', '.join(BY_NAME)}")


def _labels(df: pd.DataFrame) -> list[str]:
    col = "label" if "label" in df.columns else "study_id"
    return [str(x) for x in df[col]]


def _fit(rows: pd.DataFrame, profile: str, measure: str | None):
    from trialsynth.pooling.fit import pool

    return pool(rows["yi"].to_numpy(float), rows["vi"].to_numpy(float), profile=profile, measure=measure,
                labels=_labels(rows), warn=False)


def cell_sensitivity(selected: pd.DataFrame, set_apart: pd.DataFrame | None = None, *, by: Sequence[str], profile: str,
                     classify: Callable[[tuple, str, float, float, float], str],
                     analyses: Sequence[str] | None = None) -> pd.DataFrame:
    """Every sensitivity analysis of every cell of ``selected``.

    Parameters
    ----------
    selected : DataFrame
        The rows pooled (``yi``, ``vi``, ``measure``, the ``by`` columns, and for the analyses
        ``data_shape``, ``rob``, ``condition``, ``comparator_class``, ``sham_type``; ``label`` or
        ``study_id`` names them).
    set_apart : DataFrame, optional
        Rows the pooling rules left out, with ``set_apart`` (the reason) and the same columns; the
        ``with_...`` analyses put them back into their cell.
    by : sequence of str
        The cell key.
    profile : str
        The method profile of the main analysis (every refit uses it).
    classify : callable
        ``classify(key, measure, estimate, ci_low, ci_high) -> class label`` (analysis scale).
    analyses : sequence of str, optional
        Names from :data:`ANALYSES` (default: all).

    Returns
    -------
    DataFrame
        One row per cell x analysis: the ``by`` columns, then :data:`COLUMNS`. ``status`` is
        ``same trials`` (the analysis leaves every trial in: nothing to refit), ``class changes``,
        ``class unchanged``, ``no trial left`` or ``not applicable`` (e.g. a sham type absent
        from the cell); ``class_changes`` is True only for ``class changes``.
    """
    by = tuple(by)
    names = tuple(analyses) if analyses is not None else tuple(a.name for a in ANALYSES)
    for n in names:
        if n not in BY_NAME:
            raise ArgumentError(f"analyses: unknown sensitivity analysis {n!r}; known: {', '.join(BY_NAME)}")
    if not isinstance(selected, pd.DataFrame):
        raise ArgumentError(f"selected: expected a pandas DataFrame, got {type(selected).__name__}")
    missing = [c for c in ("yi", "vi", *by) if c not in selected.columns]
    if missing and len(selected):
        raise ArgumentError(f"selected lacks the column(s) {missing}")
    extra_all = set_apart if set_apart is not None and len(set_apart) else pd.DataFrame(columns=list(selected.columns))
    rows = []
    if len(selected) == 0:
        return pd.DataFrame(columns=[*by, *COLUMNS])
    for key, cell in selected.groupby(list(by), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        measure = str(cell["measure"].iloc[0]) if "measure" in cell.columns else None
        main = _fit(cell, profile, measure)
        class_main = classify(key, measure, main.estimate, main.ci_low, main.ci_high)
        if len(extra_all):
            m = pd.Series(True, index=extra_all.index)
            for c, v in zip(by, key):
                m &= extra_all[c].astype(object).map(str) == str(v)
            extra = extra_all[m]
            if "measure" in extra.columns and measure is not None:
                extra = extra[extra["measure"].astype(str) == measure]
            if "yi" in extra.columns:
                extra = extra[np.isfinite(pd.to_numeric(extra["yi"], errors="coerce"))]
        else:
            extra = extra_all
        main_labels = _labels(cell)
        for name in names:
            a = BY_NAME[name]
            base = {**dict(zip(by, key)), "analysis": name, "label": a.label, "k_main": int(main.k), "measure": measure,
                    "class_main": class_main}
            use, note = _rows_for(name, cell, extra)
            if isinstance(use, str):  # nothing to judge with: say so, do not pretend the class held
                rows.append({**base, "status": use, "class_changes": False, "k": np.nan, "estimate": np.nan,
                             "ci_low": np.nan, "ci_high": np.nan, "effect_class": "", "left_out": "", "added": "",
                             "note": note})
                continue
            if use is None:
                rows.append({**base, "status": NOT_APPLICABLE, "class_changes": False, "k": np.nan, "estimate": np.nan,
                             "ci_low": np.nan, "ci_high": np.nan, "effect_class": "", "left_out": "", "added": "",
                             "note": note})
                continue
            labels = _labels(use)
            left = [x for x in main_labels if x not in labels]
            added = [x for x in labels if x not in main_labels]
            if not left and not added:
                rows.append({**base, "status": SAME, "class_changes": False, "k": int(main.k), "estimate": main.estimate,
                             "ci_low": main.ci_low, "ci_high": main.ci_high, "effect_class": class_main, "left_out": "",
                             "added": "", "note": note})
                continue
            if len(use) == 0:
                rows.append({**base, "status": EMPTY, "class_changes": False, "k": 0, "estimate": np.nan, "ci_low": np.nan,
                             "ci_high": np.nan, "effect_class": "", "left_out": "; ".join(left), "added": "", "note": note})
                continue
            fit = _fit(use, profile, measure)
            cls = classify(key, measure, fit.estimate, fit.ci_low, fit.ci_high)
            rows.append({**base, "status": CHANGED if cls != class_main else UNCHANGED, "class_changes": cls != class_main,
                         "k": int(fit.k), "estimate": fit.estimate, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
                         "effect_class": cls, "left_out": "; ".join(left), "added": "; ".join(added), "note": note})
    return pd.DataFrame(rows, columns=[*by, *COLUMNS])


def sensitivity_summary(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One row per cell of a :func:`cell_sensitivity` table: ``conclusion_depends_on_sensitivity``
    (True when any analysis changes the class) and ``sensitivity_changes`` (which, and how)."""
    by = tuple(by)
    if table is None or len(table) == 0:
        return pd.DataFrame(columns=[*by, "conclusion_depends_on_sensitivity", "sensitivity_changes"])
    out = []
    for key, grp in table.groupby(list(by), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        changed = grp[grp["class_changes"].astype(bool)]
        text = "; ".join(f"{r['label']}: {r['class_main']} \u2192 {r['effect_class']} (k = {int(r['k'])})"
                         for r in changed.to_dict("records"))
        out.append({**dict(zip(by, key)), "conclusion_depends_on_sensitivity": bool(len(changed)), "sensitivity_changes": text})
    return pd.DataFrame(out)


def subgroup_by(rows: pd.DataFrame, moderator: str, *, profile: str) -> dict | None:
    """A subgroup analysis of one cell's rows by ``moderator`` (e.g. ``treatment_course``) with
    the test for subgroup differences (:func:`trialsynth.pooling.subgroups.subgroups`, RevMan's
    separate-tau2 Q between), or None when the rows hold fewer than two subgroups or too few
    trials. Returns ``{"frame": per-subgroup estimates, "test": the test's row}``."""
    from trialsynth.pooling.profiles import get_profile
    from trialsynth.pooling.subgroups import subgroups

    if moderator not in rows.columns or len(rows) < 3:
        return None
    groups = _text(rows[moderator]).replace("", "not stated")
    if groups.nunique() < 2:
        return None
    prof = get_profile(profile)
    try:
        res = subgroups(rows["yi"].to_numpy(float), rows["vi"].to_numpy(float), groups.to_numpy(), method=prof.method,
                        test="z", labels=_labels(rows), measure=str(rows["measure"].iloc[0]), moderator=moderator)
    except ArgumentError:
        return None
    tests = res.tests_frame()
    return {"frame": res.to_frame(), "test": tests.iloc[0].to_dict(), "result": res}


__all__ = ["ANALYSES", "Analysis", "BY_NAME", "CHANGED", "COLUMNS", "EMPTY", "NOT_APPLICABLE", "NOT_ASSESSED", "SAME",
           "SINGLE_SESSION_REASON", "UNCHANGED", "cell_sensitivity", "sensitivity_summary", "subgroup_by"]
