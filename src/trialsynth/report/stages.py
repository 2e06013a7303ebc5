"""The report's stages as functions: each takes the previous stage's result and returns its own.

::

    load_trials_stage(data_path)                -> Loaded      (validated rows with their window)
    load_sources(reviews, evidence, claims)     -> Sources     (published estimates, quotes, claims)
    compute_effects(loaded, conditions=...)     -> Effects     (yi/vi per row; the rows to pool)
    pool_cells(effects, profile, claims)        -> Pooled      (one pooled cell per outcome x
                                                                comparator x window, with its class
                                                                under every shipped profile)
    size_information(pooled, effects)           -> Information (the required information size and
                                                                the trial sequential analysis of
                                                                every cell)
    grade_cells(pooled, effects, information)   -> Graded      (the GRADE summary of findings)
    judge_claims(sources, pooled, effects, graded, information) -> Judged   (a verdict per claim)

A reader can follow a number from ``data/trials.csv`` to the page by following these values:
:func:`trialsynth.report.analysis.run_analysis` only calls them in turn and keeps their results
in an :class:`~trialsynth.report.analysis.Analysis` for the notebooks. Every stage calls into its
package (:mod:`trialsynth.data`, :mod:`trialsynth.effects`, :mod:`trialsynth.pooling`,
:mod:`trialsynth.diagnostics`, :mod:`trialsynth.grade`, :mod:`trialsynth.claims`); what cannot run
(no data, a file that does not parse) is said in the stage's ``notes`` instead of failing, so that
a report works with whatever data exists.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trialsynth.errors import TrialDataError

GROUP_BY = ("outcome", "comparator_class", "window")
#: the populations pooled by default: chronic low back pain, with the trials of persistent pain of
#: mixed or unstated duration (``mixed_lbp``). Acute and subacute back pain is a different question
#: (Cochrane splits the two reviews: CD013814 chronic, protocol CD009265 acute), and sciatica is a
#: different condition with a different outcome (leg pain): their rows stay in the data, the
#: evidence tables and the trial-level claim checks, but enter no pool unless asked for
#: (``conditions=...``, e.g. :data:`ACUTE_CONDITIONS`).
POOLED_CONDITIONS = ("chronic_lbp", "mixed_lbp")
ACUTE_CONDITIONS = ("acute_lbp", "subacute_lbp", "acute_subacute_lbp")
POOLED_COLUMNS = ["outcome", "comparator_class", "window", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high",
                  "tau2", "i2", "q", "q_p_value", "p_value", "measure", "profile", "study_ids",
                  "effect_class", "conclusion_depends_on_method", "method_classes"]

from trialsynth.claims.verdicts import CONDITION_LABELS as CONDITION_NAMES  # noqa: E402 - one list of population names


def population_label(conditions: Sequence[str] | None) -> str:
    """The pooled population in words, for titles and notes: ``POOLED_CONDITIONS`` ->
    "chronic low back pain (with persistent pain of mixed or unstated duration)"; ``None`` ->
    "all populations in the data (pooled across conditions)"."""
    if conditions is None:
        return "all populations in the data (pooled across conditions)"
    conditions = tuple(conditions)
    if set(conditions) == set(POOLED_CONDITIONS):
        return "chronic low back pain (with persistent pain of mixed or unstated duration)"
    names = [CONDITION_NAMES.get(c, c.replace("_", " ")) for c in conditions]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1] + " (pooled together)"


# --------------------------------------------------------------------------- load


@dataclass
class Loaded:
    """The validated trial rows, each with its time window (empty when nothing loaded)."""

    data_path: str
    windows: Any
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list = field(default_factory=list)  # validation problems (strings)
    problem_items: list = field(default_factory=list)  # the same as trialsynth.errors.Problem
    notes: list = field(default_factory=list)


def load_trials_stage(data_path: str | Path, windows=None, *, raise_invalid: bool = False) -> Loaded:
    """Load and validate ``data_path`` (:func:`trialsynth.data.loading.load_trials`) and assign
    every row its time window (:func:`trialsynth.data.windows.assign_windows`)."""
    from trialsynth.data.loading import load_trials
    from trialsynth.data.windows import DEFAULT_WINDOWS, assign_windows

    out = Loaded(data_path=str(data_path), windows=windows)
    path = Path(data_path)
    if not path.is_file():
        out.notes.append(f"No trial data: {data_path} does not exist. Add trials (trialsynth add-trial) and re-run.")
        return out
    used = windows or DEFAULT_WINDOWS
    try:
        df = load_trials(path, windows=used)
    except TrialDataError as exc:
        if raise_invalid:
            raise
        out.problems = exc.problems()
        out.problem_items = exc.items
        out.notes.append(f"The trial data did not validate ({len(out.problems)} problem(s)); nothing was pooled.")
        return out
    if len(df) == 0:
        out.notes.append(f"No trial data: {data_path} has a header but no rows.")
        return out
    out.trials = assign_windows(df, used, on_outside="keep")
    return out


@dataclass
class Sources:
    """What the checks read besides the trials: published estimates, quotes and claims."""

    reviews: pd.DataFrame = field(default_factory=pd.DataFrame)
    quotes: dict = field(default_factory=dict)
    claims: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def load_sources(reviews_path: Path, evidence_dir: Path, claims_path: Path) -> Sources:
    """``data/reviews.csv``, every quote under ``evidence/`` and ``evidence/claims.yaml``."""
    from trialsynth.claims.records import load_claims, load_quotes

    out = Sources()
    if reviews_path.is_file():
        try:
            out.reviews = pd.read_csv(reviews_path, keep_default_na=True)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            out.notes.append(f"{reviews_path} could not be read ({exc}); published estimates are left out.")
    else:
        out.notes.append(f"No published estimates: {reviews_path} does not exist.")
    try:
        out.quotes = load_quotes(evidence_dir)
    except TrialDataError as exc:
        out.notes.append(f"Evidence records could not be read: {exc}")
    if claims_path.is_file():
        try:
            out.claims = load_claims(claims_path)
        except TrialDataError as exc:
            out.notes.append(f"{claims_path} could not be read: {exc}")
    else:
        out.notes.append(f"No claims to check: {claims_path} does not exist.")
    return out


# --------------------------------------------------------------------------- effects


@dataclass
class Effects:
    """Every row's effect size (``effects``; NaN yi/vi when unusable) and the rows that enter the
    pools (``selected``: usable, in the pooled populations, one per trial x window)."""

    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    selected: pd.DataFrame = field(default_factory=pd.DataFrame)
    measure: str = "SMD"
    conditions: tuple | None = POOLED_CONDITIONS
    notes: list = field(default_factory=list)

    @property
    def population(self) -> str:
        return population_label(self.conditions)


def compute_effects(loaded: Loaded, *, measure: str = "SMD", conditions: Sequence[str] | None = POOLED_CONDITIONS) -> Effects:
    """Effect sizes of every row (:func:`trialsynth.effects.records.effects_from_trials`), then the
    rows to pool: usable, placed in a window, in ``conditions`` (``None``: every condition), one
    per trial x comparator x outcome x window (:func:`trialsynth.data.windows.select_per_window`)."""
    from trialsynth.data.windows import DEFAULT_WINDOWS, select_per_window
    from trialsynth.effects.records import effects_from_trials

    out = Effects(measure=measure, conditions=None if conditions is None else tuple(conditions))
    trials = loaded.trials
    if len(trials) == 0:
        return out
    eff = effects_from_trials(trials, measure=measure)
    for col in ("weeks_after", "window"):
        if col in trials.columns and col not in eff.columns:
            eff[col] = trials[col]
    out.effects = eff
    usable = eff[eff["yi"].notna() & eff["vi"].notna()] if "yi" in eff.columns else eff.iloc[0:0]
    if "usable" in usable.columns:
        usable = usable[usable["usable"].fillna(False).astype(bool)]
    usable = usable[usable["window"].notna()] if "window" in usable.columns else usable
    dropped = len(eff) - len(usable)
    if conditions is not None and "condition" in usable.columns:
        other = usable[~usable["condition"].astype(str).isin(list(conditions))]
        if len(other):
            studies = ", ".join(sorted({str(s) for s in other["study_id"]}))
            kinds = ", ".join(sorted({str(c) for c in other["condition"]}))
            out.notes.append(f"{len(other)} usable row(s) on {kinds} ({studies}) are not pooled: the pooled "
                             f"population is {population_label(conditions)} (run_analysis(conditions=...) pools others).")
        usable = usable[usable["condition"].astype(str).isin(list(conditions))]
    elif conditions is None and "condition" in usable.columns and usable["condition"].nunique() > 1:
        out.notes.append("Pooled across conditions: " + ", ".join(sorted({str(c) for c in usable["condition"]}))
                         + " (conditions=None); every title and table says so.")
    if dropped:
        out.notes.append(f"{dropped} of {len(eff)} rows give no usable {measure} (reported p-value only, or missing numbers) "
                         "and enter only the claim checks.")
    if len(usable) == 0:
        out.selected = usable
        return out
    out.selected = select_per_window(usable, windows=loaded.windows or DEFAULT_WINDOWS)
    return out


# --------------------------------------------------------------------------- pool


@dataclass
class Pooled:
    """One pooled cell per outcome x comparator x window.

    ``grouped`` holds the results (:class:`~trialsynth.pooling.grouped.GroupedResults`); ``frame``
    one row per cell on the analysis scale (logs for ratios) with, beside the estimates, the
    cell's ``effect_class`` under the active profile and ``conclusion_depends_on_method`` (True
    when its class differs under another shipped profile; ``method_classes`` says how);
    ``refits`` the refits behind that flag; ``subset_pooled`` the re-poolings restricted as a
    claim says (claim id -> frame).
    """

    profile: str
    grouped: Any = None
    frame: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POOLED_COLUMNS))
    refits: dict = field(default_factory=dict)
    subset_pooled: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def results(self) -> dict:
        return dict(getattr(self.grouped, "results", {}) or {})


def _pool_frame(selected: pd.DataFrame, profile: str):
    from trialsynth.pooling.grouped import pool_groups

    grouped = pool_groups(selected, by=GROUP_BY, profile=profile)
    return grouped, grouped.to_frame()


def classify_cells(frame: pd.DataFrame, results: dict, profile: str) -> tuple[pd.DataFrame, dict]:
    """Add ``effect_class``, ``conclusion_depends_on_method`` and ``method_classes`` to a pooled
    frame: each cell is refitted under the shipped profiles
    (:func:`trialsynth.diagnostics.method_profiles.refit_profiles`: ``cochrane-2025``, its
    never-narrower variant, ``revman5-legacy``, and the active profile) and classified against the
    MID (:func:`trialsynth.claims.effects.method_dependence`)."""
    from trialsynth.claims.effects import method_dependence
    from trialsynth.diagnostics.method_profiles import refit_profiles
    from trialsynth.pooling.profiles import SENSITIVITY_PROFILES, get_profile

    active = get_profile(profile).name
    names = tuple(dict.fromkeys((active, *SENSITIVITY_PROFILES)))
    out = frame.copy()
    classes, depends, texts, refits = [], [], [], {}
    for rec in out.to_dict("records"):
        key = tuple(str(rec[c]) for c in GROUP_BY)
        res = results.get(key)
        if res is None:
            classes.append(None), depends.append(False), texts.append("")
            continue
        refit = refit_profiles(res, names)
        refits[key] = refit
        md = method_dependence(refit, active=active)
        classes.append(md.classes[active])
        depends.append(md.depends)
        texts.append(md.text)
    out["effect_class"] = classes
    out["conclusion_depends_on_method"] = depends
    out["method_classes"] = texts
    return out, refits


def pool_cells(effects: Effects, profile: str, claims: Sequence = ()) -> Pooled:
    """Pool the selected rows per outcome x comparator x window under ``profile``
    (:func:`trialsynth.pooling.grouped.pool_groups`), classify every cell under the shipped
    profiles (:func:`classify_cells`), and re-pool as claims restrict (e.g. trials with 1-3
    sessions a week)."""
    out = Pooled(profile=profile)
    selected = effects.selected
    if len(selected) == 0:
        if len(effects.effects):
            out.notes.append("No usable effect sizes, so nothing was pooled.")
        return out
    out.grouped, frame = _pool_frame(selected, profile)
    out.frame, out.refits = classify_cells(frame, out.results(), profile)
    for claim in claims:
        spw = claim.params.get("sessions_per_week")
        if isinstance(spw, (list, tuple)) and len(spw) == 2 and "sessions_per_week" in selected.columns:
            lo, hi = float(spw[0]), float(spw[1])
            s = pd.to_numeric(selected["sessions_per_week"], errors="coerce")
            subset = selected[(s >= lo) & (s <= hi)]
            if len(subset):
                grouped, frame = _pool_frame(subset, profile)
                out.subset_pooled[claim.id] = classify_cells(frame, dict(grouped.results), profile)[0]
    return out


# --------------------------------------------------------------------------- information size


@dataclass
class Information:
    """Is more research needed? One row per pooled cell (``frame``: the cell's key columns, the
    participants accrued, the diversity D2, the required information size at power 0.80 and 0.90,
    the trial sequential analysis' status; :func:`trialsynth.grade.information_size.assess_cells`)
    and the trial sequential analyses themselves (``analyses``: cell key -> SequentialAnalysis, a
    sensitivity analysis, for the plots)."""

    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    analyses: dict = field(default_factory=dict)
    key_columns: tuple = GROUP_BY
    notes: list = field(default_factory=list)


def size_information(pooled: Pooled, effects: Effects) -> Information:
    """The required information size of every pooled cell (MID 0.5 SD; ratios: a 25% relative
    change of the comparator arms' risk; alpha 0.05, power 0.80, D2-adjusted) and the trial
    sequential analysis against it (:func:`trialsynth.grade.information_size.assess_cells`)."""
    from trialsynth.claims.effects import DEFAULT_MID_SMD
    from trialsynth.grade.information_size import assess_cells

    keys = tuple(getattr(pooled.grouped, "by", None) or GROUP_BY)
    out = Information(key_columns=keys)
    if len(pooled.frame) == 0:
        return out
    out.frame, out.analyses = assess_cells(pooled.frame, pooled.results(), effects.selected, key_columns=keys,
                                           mid=DEFAULT_MID_SMD)
    return out


# --------------------------------------------------------------------------- grade


@dataclass
class Graded:
    """The GRADE summary of findings (:func:`trialsynth.grade.draft_sof`), one row per cell."""

    sof: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list = field(default_factory=list)


def _study_ids_of(pooled: pd.DataFrame, key) -> list[str]:
    m = pooled
    for col, val in zip(GROUP_BY, key):
        m = m[m[col].astype(str) == str(val)]
    if len(m) == 0:
        return []
    ids = m["study_ids"].iloc[0]
    if isinstance(ids, str):
        return [s.strip() for s in ids.replace(";", ",").split(",") if s.strip()]
    if ids is None or (isinstance(ids, float) and math.isnan(ids)):
        return []
    return list(ids)


def grade_cells(pooled: Pooled, effects: Effects, information: Information | None = None) -> Graded:
    """Draft the SoF from the pooled cells, their studies' risk of bias and sizes, the pooled
    weights, (k >= 10) Egger's test and, for imprecision, each cell's required information size
    (``information``; without it, GRADE's single-trial optimal information size)."""
    from trialsynth.grade import GradeSettings, draft_sof

    out = Graded()
    if len(pooled.frame) == 0:
        out.sof = draft_sof(pd.DataFrame(columns=POOLED_COLUMNS), None)
        return out
    weights, egger = {}, {}
    for key, res in pooled.results().items():
        sf = res.study_frame()
        ids = [str(x) for x in _study_ids_of(pooled.frame, key)]
        if len(ids) == len(sf):
            weights[key] = dict(zip(ids, sf["weight"].astype(float)))
        if getattr(res, "k", 0) >= 10:
            from trialsynth.diagnostics.small_study import egger_test

            try:
                egger[key] = float(getattr(egger_test(res), "p_value"))
            except Exception as exc:  # noqa: BLE001 - the draft says the test is not available
                out.notes.append(f"Egger's test failed for {key}: {exc}")
    info = information.frame if information is not None and len(information.frame) else None
    out.sof = draft_sof(pooled.frame, effects.selected, settings=GradeSettings(), weights=weights, egger_p=egger,
                        information=info)
    return out


# --------------------------------------------------------------------------- claims


@dataclass
class Judged:
    """A verdict per claim (:func:`trialsynth.claims.evaluate_claims`): one row each, with the
    article's words, the verdict, a one-sentence summary and the evidence for and against."""

    verdicts: pd.DataFrame = field(default_factory=pd.DataFrame)


def judge_claims(sources: Sources, pooled: Pooled, effects: Effects, graded: Graded,
                 information: Information | None = None) -> Judged:
    """Judge every claim against the pooled cells, the trial rows, the published estimates, the
    SoF, the quotes and the information sizes."""
    from trialsynth.claims import evaluate_claims

    return Judged(evaluate_claims(sources.claims, pooled=pooled.frame, trials=effects.effects, reviews=sources.reviews,
                                  sof=graded.sof, quotes=sources.quotes, subset_pooled=pooled.subset_pooled,
                                  information=None if information is None else information.frame))


__all__ = [
    "ACUTE_CONDITIONS", "Effects", "GROUP_BY", "Graded", "Information", "Judged", "Loaded", "POOLED_COLUMNS",
    "POOLED_CONDITIONS", "Pooled", "Sources", "classify_cells", "compute_effects", "grade_cells", "judge_claims",
    "load_sources", "load_trials_stage", "pool_cells", "population_label", "size_information",
]
