"""The report's stages as functions: each takes the previous stage's result and returns its own.

::

    load_trials_stage(data_path)                -> Loaded      (validated rows with their window)
    load_sources(reviews, evidence, claims)     -> Sources     (published estimates, quotes, claims)
    compute_effects(loaded, conditions=...)     -> Effects     (yi/vi per row; the rows to pool)
    pool_cells(effects, profile, claims)        -> Pooled      (one pooled cell per outcome x
                                                                comparator x add-on x window, with
                                                                its class under every shipped
                                                                profile and every sensitivity
                                                                analysis)
    size_information(pooled, effects)           -> Information (the required information size and
                                                                the trial sequential analysis of
                                                                every cell)
    grade_cells(pooled, effects, information)   -> Graded      (the GRADE summary of findings)
    durability_stage(effects, pooled, outcome=...) -> Durability        (joint model of every follow-up)
    judge_claims(sources, pooled, effects, graded, information, durability) -> Judged   (a verdict per claim)

A reader can follow a number from ``data/trials.csv`` to the page by following these values:
:func:`trialsynth.report.analysis.run_analysis` only calls them in turn and keeps their results
in an :class:`~trialsynth.report.analysis.Analysis` for the notebooks. Every stage calls into its
package (:mod:`trialsynth.data`, :mod:`trialsynth.effects`, :mod:`trialsynth.pooling`,
:mod:`trialsynth.diagnostics`, :mod:`trialsynth.grade`, :mod:`trialsynth.claims`); what cannot run
(no data, a file that does not parse) is said in the stage's ``notes`` instead of failing, so that
a report works with whatever data exists.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from trialsynth.data.cells import CELL_KEY, cell_label
from trialsynth.errors import ArgumentError, TrialDataError

#: the cell key (:data:`trialsynth.data.cells.CELL_KEY`): outcome x comparator class x add-on x window
GROUP_BY = CELL_KEY
#: the populations pooled by default: chronic low back pain, with the trials of persistent pain of
#: mixed or unstated duration (``mixed_lbp``). Acute and subacute back pain is a different question
#: (Cochrane splits the two reviews: CD013814 chronic, protocol CD009265 acute), and sciatica is a
#: different condition with a different outcome (leg pain): their rows stay in the data, the
#: evidence tables and the trial-level claim checks, but enter no pool unless asked for
#: (``conditions=...``, e.g. :data:`ACUTE_CONDITIONS`).
POOLED_CONDITIONS = ("chronic_lbp", "mixed_lbp")
ACUTE_CONDITIONS = ("acute_lbp", "subacute_lbp", "acute_subacute_lbp")
POOLED_COLUMNS = [*CELL_KEY, "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high",
                  "tau2", "i2", "q", "q_p_value", "p_value", "measure", "profile", "study_ids",
                  "effect_class", "conclusion_depends_on_method", "method_classes", "conclusion_depends_on_sensitivity",
                  "sensitivity_changes"]
#: the Bayesian row of a pooled cell (default prior for its measure; k >= 2), beside the frequentist
#: columns: posterior median and 95% credible interval of the mean, the interval of a new trial's
#: effect, P(benefit), P(beyond the MID), the predictive probability for a new trial, the class
#: (:func:`trialsynth.diagnostics.bayes_cells.bayes_cell_rows`)
BAYES_POOLED_COLUMNS = ["bayes_prior", "bayes_estimate", "bayes_ci_low", "bayes_ci_high", "bayes_pi_low", "bayes_pi_high",
                        "bayes_tau", "p_benefit", "p_beyond_mid", "p_new_beyond_mid", "bayes_class", "bayes_note"]
_BAYES_SOURCE = {"bayes_prior": "prior", "bayes_estimate": "estimate", "bayes_ci_low": "ci_low", "bayes_ci_high": "ci_high",
                 "bayes_pi_low": "pi_low", "bayes_pi_high": "pi_high", "bayes_tau": "tau_median", "p_benefit": "p_benefit",
                 "p_beyond_mid": "p_beyond_mid", "p_new_beyond_mid": "p_new_beyond_mid", "bayes_note": "note"}

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
    pools (``selected``: usable, in the pooled populations, one per comparison x cell, after the
    pooling rules of :func:`compute_effects`). ``set_apart`` holds the rows the rules left out,
    with the reason in its ``set_apart`` column; ``by`` is the cell key and ``pool_across`` the
    key columns pooled across (set to ``"any"``)."""

    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    selected: pd.DataFrame = field(default_factory=pd.DataFrame)
    measure: str = "SMD"
    conditions: tuple | None = POOLED_CONDITIONS
    notes: list = field(default_factory=list)
    set_apart: pd.DataFrame = field(default_factory=pd.DataFrame)
    by: tuple = GROUP_BY
    pool_across: tuple = ()
    rules: list = field(default_factory=list)  # what the pooling rules did, one sentence each

    @property
    def population(self) -> str:
        return population_label(self.conditions)


#: the key columns a user may pool across (``run_analysis(pool_across=...)``)
POOLABLE_ACROSS = ("comparator_class", "add_on")


def scope_label(conditions: Sequence[str] | None, pool_across: Sequence[str] = ()) -> str:
    """What a pooled analysis mixes, for titles ("" for the default cells): "pooled across
    conditions", "pooled across comparators", "pooled across add-on and head-to-head"."""
    parts = []
    if conditions is None or (tuple(conditions) and set(conditions) != set(POOLED_CONDITIONS) and len(tuple(conditions)) > 1):
        parts.append("pooled across conditions")
    names = {"comparator_class": "comparators", "add_on": "add-on and head-to-head comparisons"}
    parts += [f"pooled across {names.get(c, c)}" for c in pool_across]
    return "; ".join(parts)


def _single_sessions_apart(selected: pd.DataFrame, by: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Rule 4: in a cell that holds courses of treatment, single-session trials (one needling,
    measured minutes later) are set apart: "immediately after treatment" of one session is not
    the end of a 4-12-week course. A cell of single sessions only is pooled on its own."""
    from trialsynth.data.cells import describe_key
    from trialsynth.diagnostics.cell_sensitivity import SINGLE_SESSION_REASON

    if "treatment_course" not in selected.columns or len(selected) == 0:
        return selected, selected.iloc[0:0], []
    course = selected["treatment_course"].astype(object).where(selected["treatment_course"].notna(), "course").astype(str)
    single = course == "single_session"
    drop = pd.Series(False, index=selected.index)
    notes = []
    for key, cell in selected.groupby(list(by), sort=False, dropna=False):
        s = single.loc[cell.index]
        if s.any() and (~s).any():
            drop.loc[cell.index[s.to_numpy()]] = True
            notes.append(f"{', '.join(sorted(map(str, cell.loc[s, 'study_id'])))} ({describe_key(key, by)}): a single "
                         "session, measured minutes after one needling, is not pooled with courses of treatment "
                         "(shown as a subgroup in the sensitivity analyses)")
    return selected[~drop], selected[drop].assign(set_apart=SINGLE_SESSION_REASON), notes


def compute_effects(loaded: Loaded, *, measure: str = "SMD", conditions: Sequence[str] | None = POOLED_CONDITIONS,
                    pool_across: Sequence[str] = (), binary_measure: str = "RR") -> Effects:
    """Effect sizes of every row (:func:`trialsynth.effects.records.effects_from_trials`; ``MD100``:
    :func:`trialsynth.effects.common_scale.effects_on_100`), then the rows to pool:

    1. usable, placed in a window, in ``conditions`` (``None``: every condition);
    2. one row per comparison x cell (:func:`trialsynth.data.windows.select_per_window`; the cell
       key :data:`GROUP_BY` holds ``add_on``, so acupuncture + usual care vs usual care is never
       pooled with acupuncture vs usual care), ``pool_across`` key columns set to ``"any"``;
    3. single-session trials set apart from cells of courses (:func:`_single_sessions_apart`);
    4. change and final values never mixed in one SMD pool
       (:func:`trialsynth.effects.value_types.reconcile_value_types`);
    5. an arm shared by two comparisons of one cell split between them
       (:func:`trialsynth.effects.multiarm.split_shared_arms`).

    What each rule did is said in ``notes`` and ``rules``; the rows set apart are kept in
    ``set_apart`` for the sensitivity analyses. ``binary_measure`` is the measure of responder
    outcomes (``RR``, ``OR``, ``RD``)."""
    from trialsynth.data.cells import ANY, as_add_on
    from trialsynth.data.windows import DEFAULT_WINDOWS, select_per_window
    from trialsynth.effects.common_scale import MD100, effects_on_100
    from trialsynth.effects.multiarm import split_shared_arms
    from trialsynth.effects.records import effects_from_trials
    from trialsynth.effects.value_types import reconcile_value_types

    pool_across = tuple(pool_across or ())
    bad = [c for c in pool_across if c not in POOLABLE_ACROSS]
    if bad:
        raise ArgumentError(f"pool_across: can pool across {', '.join(POOLABLE_ACROSS)} only, got {bad}")
    out = Effects(measure=measure, conditions=None if conditions is None else tuple(conditions), pool_across=pool_across)
    trials = loaded.trials
    if len(trials) == 0:
        return out

    def effects_of(rows: pd.DataFrame, row_measure: str) -> pd.DataFrame:
        if row_measure == MD100:
            return effects_on_100(rows, binary_measure=binary_measure)
        return effects_from_trials(rows, measure=measure if measure in ("SMD", "MD") else "SMD",
                                   binary_measure=binary_measure)

    eff = (effects_on_100(trials, binary_measure=binary_measure) if measure == MD100
           else effects_from_trials(trials, measure=measure, binary_measure=binary_measure))
    on100 = effects_on_100(trials, binary_measure=binary_measure) if measure == "SMD" else None
    for frame in (eff, on100):
        if frame is None:
            continue
        for col in ("weeks_after", "window"):
            if col in trials.columns and col not in frame.columns:
                frame[col] = trials[col]
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
    usable = usable.copy()
    if "add_on" in usable.columns:
        usable["add_on"] = usable["add_on"].map(as_add_on).astype(bool)
    for col in pool_across:
        usable[col] = ANY
        out.notes.append(f"Pooled across {'comparator classes' if col == 'comparator_class' else 'add-on and head-to-head comparisons'} "
                         f"(pool_across={list(pool_across)}): each cell mixes what the default analysis keeps apart; "
                         "every title says so.")
    by = GROUP_BY
    keys = tuple(dict.fromkeys(("study_id", "comparison_id", *by)))
    selected = select_per_window(usable, windows=loaded.windows or DEFAULT_WINDOWS, keys=keys)
    apart = []
    selected, single, notes = _single_sessions_apart(selected, by)
    apart.append(single)
    out.rules += notes
    selected, mixed, notes = reconcile_value_types(selected, by, on_100=on100, continuous_measure=measure)
    apart.append(mixed)
    out.rules += notes
    selected, unnamed, notes = split_shared_arms(selected, by, effects_of)
    apart.append(unnamed)
    out.rules += notes
    out.selected = selected
    apart = [a for a in apart if len(a)]
    out.set_apart = pd.concat(apart) if apart else selected.iloc[0:0].assign(set_apart=pd.Series(dtype=object))
    if "label" not in out.set_apart.columns and len(out.set_apart):
        out.set_apart["label"] = out.set_apart["study_id"].astype(str)
    elif len(out.set_apart):
        out.set_apart["label"] = out.set_apart["label"].where(out.set_apart["label"].notna(), out.set_apart["study_id"].astype(str))
    out.notes += [f"Pooling rule: {n}." for n in out.rules]
    return out


# --------------------------------------------------------------------------- pool


@dataclass
class Pooled:
    """One pooled cell per outcome x comparison (comparator class and add-on) x window.

    ``grouped`` holds the results (:class:`~trialsynth.pooling.grouped.GroupedResults`); ``frame``
    one row per cell on the analysis scale (logs for ratios) with, beside the estimates, the
    cell's ``effect_class`` under the active profile, ``conclusion_depends_on_method`` (True
    when its class differs under another shipped profile; ``method_classes`` says how) and
    ``conclusion_depends_on_sensitivity`` (True when a sensitivity analysis changes the class;
    ``sensitivity_changes`` says which); ``refits`` the refits behind the method flag (the shipped profiles and, for
    k >= 2, the Bayesian analysis under the default prior, profile ``"bayes"``); ``bayes`` every
    cell's Bayesian rows (default prior and the half-normal sensitivity prior,
    :func:`trialsynth.diagnostics.bayes_cells.bayes_cell_rows`);
    ``sensitivity`` every cell x sensitivity analysis
    (:func:`trialsynth.diagnostics.cell_sensitivity.cell_sensitivity`); ``subgroups`` the
    single-session subgroup analyses (cell key -> result); ``subset_pooled`` the re-poolings
    restricted as a claim says (claim id -> frame).
    """

    profile: str
    grouped: Any = None
    frame: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POOLED_COLUMNS))
    refits: dict = field(default_factory=dict)
    bayes: pd.DataFrame = field(default_factory=pd.DataFrame)
    subset_pooled: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    subgroups: dict = field(default_factory=dict)

    def results(self) -> dict:
        return dict(getattr(self.grouped, "results", {}) or {})


def _pool_frame(selected: pd.DataFrame, profile: str):
    from trialsynth.pooling.grouped import pool_groups

    label = "label" if "label" in selected.columns else "study_id"
    grouped = pool_groups(selected, by=GROUP_BY, profile=profile, label_column=label)
    return grouped, grouped.to_frame()


def cell_mid(key, measure: str | None, mid: float | None = None) -> float | None:
    """The MID of one cell on its measure's analysis scale: 0.5 SD for an SMD, RR 0.75 / 1.25 for a
    ratio, 15 (pain) or 10 (function) points for an MD on 0-100
    (:func:`trialsynth.claims.effects.mid_for`)."""
    from trialsynth.claims.effects import DEFAULT_MID_SMD, mid_for

    outcome = dict(zip(GROUP_BY, key)).get("outcome") if not isinstance(key, dict) else key.get("outcome")
    return mid_for(measure, DEFAULT_MID_SMD if mid is None else mid, outcome)


def classify_key(key, measure, estimate, ci_low, ci_high) -> str:
    """The conclusion class of one estimate of cell ``key`` (:func:`trialsynth.claims.effects.classify_effect`
    against :func:`cell_mid`)."""
    from trialsynth.claims.effects import classify_effect

    return classify_effect(estimate, ci_low, ci_high, mid=cell_mid(key, measure), measure=str(measure or "SMD")).label


def classify_cells(frame: pd.DataFrame, results: dict, profile: str, bayes: pd.DataFrame | None = None
                   ) -> tuple[pd.DataFrame, dict]:
    """Add ``effect_class``, ``conclusion_depends_on_method`` and ``method_classes`` to a pooled
    frame: each cell is refitted under the shipped profiles
    (:func:`trialsynth.diagnostics.method_profiles.refit_profiles`: ``cochrane-2025``, its
    never-narrower variant, ``revman5-legacy``, and the active profile) and, with two or more
    trials, analysed by Bayesian random effects under the default prior for its measure (profile
    ``"bayes"``, :func:`trialsynth.diagnostics.bayes_cells.bayes_refit`), and classified against
    the MID (:func:`trialsynth.claims.effects.method_dependence`): the flag counts the Bayesian
    answer too. ``bayes`` (the rows of :func:`~trialsynth.diagnostics.bayes_cells.bayes_cell_rows`)
    saves computing them again; its default-prior row of each cell also fills
    :data:`BAYES_POOLED_COLUMNS`."""
    from trialsynth.claims.effects import method_dependence
    from trialsynth.diagnostics.bayes_cells import BAYES_PROFILE, refit_from_row
    from trialsynth.diagnostics.method_profiles import refit_profiles
    from trialsynth.pooling.profiles import SENSITIVITY_PROFILES, get_profile

    active = get_profile(profile).name
    names = tuple(dict.fromkeys((active, *SENSITIVITY_PROFILES)))
    if bayes is None:
        bayes = bayes_rows(results, priors="default")
    default_rows = {}
    if len(bayes):
        for rec in bayes[bayes["prior_role"] == "default"].to_dict("records"):
            default_rows[tuple(str(rec[c]) for c in GROUP_BY)] = rec
    out = frame.copy()
    classes, depends, texts, refits, bayes_cols = [], [], [], {}, []
    for rec in out.to_dict("records"):
        key = tuple(rec[c] for c in GROUP_BY)
        res = results.get(key)
        brow = default_rows.get(tuple(str(v) for v in key))
        bayes_cols.append({col: (brow.get(src) if brow else None) for col, src in _BAYES_SOURCE.items()})
        if res is None:
            classes.append(None), depends.append(False), texts.append(""), bayes_cols[-1].update(bayes_class=None)
            continue
        refit = refit_profiles(res, names)
        if brow is not None:
            refit = pd.concat([refit, refit_from_row(brow)], ignore_index=True)
        refits[key] = refit
        md = method_dependence(refit, active=active, outcome=str(rec.get("outcome")))
        classes.append(md.classes[active])
        depends.append(md.depends)
        texts.append(md.text)
        bayes_cols[-1]["bayes_class"] = md.classes.get(BAYES_PROFILE)
    out["effect_class"] = classes
    out["conclusion_depends_on_method"] = depends
    out["method_classes"] = texts
    extra = pd.DataFrame(bayes_cols, columns=BAYES_POOLED_COLUMNS, index=out.index)
    for col in BAYES_POOLED_COLUMNS:
        out[col] = extra[col]
    return out, refits


def sensitivity_cells(effects: Effects, profile: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Every sensitivity analysis of every cell (:func:`trialsynth.diagnostics.cell_sensitivity.cell_sensitivity`,
    classes by :func:`classify_key`), its one-row-per-cell summary, and the subgroup analyses by
    treatment course of the cells that hold single-session trials (set apart by rule 4)."""
    from trialsynth.diagnostics.cell_sensitivity import SINGLE_SESSION_REASON, cell_sensitivity, sensitivity_summary, subgroup_by

    table = cell_sensitivity(effects.selected, effects.set_apart, by=GROUP_BY, profile=profile, classify=classify_key)
    summary = sensitivity_summary(table, GROUP_BY)
    subgroups = {}
    apart = effects.set_apart
    if len(apart) and "set_apart" in apart.columns:
        single = apart[apart["set_apart"].astype(str) == SINGLE_SESSION_REASON]
        for key, rows in single.groupby(list(GROUP_BY), sort=True, dropna=False):
            m = pd.Series(True, index=effects.selected.index)
            for c, v in zip(GROUP_BY, key):
                m &= effects.selected[c].astype(object).map(str) == str(v)
            both = pd.concat([effects.selected[m], rows])
            res = subgroup_by(both, "treatment_course", profile=profile)
            if res is not None:
                subgroups[tuple(key)] = res
    return table, summary, subgroups


def bayes_rows(results: dict, priors: str = "default+sensitivity") -> pd.DataFrame:
    """Every cell's Bayesian rows (:func:`trialsynth.diagnostics.bayes_cells.bayes_cell_rows`),
    each judged against its own cell's MID (:func:`cell_mid`: an MD on 0-100 has the outcome's)."""
    from trialsynth.diagnostics.bayes_cells import bayes_cell_rows

    frames = []
    for outcome in dict.fromkeys(str(k[0]) for k in results):
        part = {k: r for k, r in results.items() if str(k[0]) == outcome}
        frames.append(bayes_cell_rows(part, mid=functools.partial(_mid_of_outcome, outcome), group_names=GROUP_BY,
                                      priors=priors))
    frames = [f for f in frames if len(f)]
    if not frames:
        return bayes_cell_rows({}, mid=None, group_names=GROUP_BY, priors=priors)
    return pd.concat(frames, ignore_index=True)


def _mid_of_outcome(outcome, measure):
    return cell_mid({"outcome": outcome}, measure)


def bayes_class_differences(frame: pd.DataFrame) -> list[str]:
    """One sentence per pooled cell whose Bayesian class differs from the frequentist one (the
    active profile's), e.g. "Pain: acupuncture vs usual care, short term (k = 2): small benefit under
    cochrane-2025 (SMD -0.45, CI -0.82 to -0.04), but no clear difference with Bayesian pooling
    (Rhodes 2015 prior; SMD -0.44, 95% CrI -0.95 to 0.09)"."""
    from trialsynth.effects.scales import format_effect

    out = []
    if not len(frame) or "bayes_class" not in frame.columns:
        return out
    for rec in frame.to_dict("records"):
        bayes_class = rec.get("bayes_class")
        if not isinstance(bayes_class, str) or not bayes_class or bayes_class == rec.get("effect_class"):
            continue
        measure = rec.get("measure") or "SMD"
        out.append(f"{cell_label(rec)} (k = {int(rec['k'])}): {rec['effect_class']} under "
                   f"{rec.get('profile')} ({format_effect(measure, rec['estimate'], rec['ci_low'], rec['ci_high'])}), "
                   f"but {rec['bayes_class']} with Bayesian pooling ({rec['bayes_prior']} prior; "
                   f"{format_effect(measure, rec['bayes_estimate'], rec['bayes_ci_low'], rec['bayes_ci_high'])}, "
                   "95% credible interval)")
    return out


def pool_cells(effects: Effects, profile: str, claims: Sequence = ()) -> Pooled:
    """Pool the selected rows per cell (:data:`GROUP_BY`: outcome x comparator class x add-on x
    window) under ``profile`` (:func:`trialsynth.pooling.grouped.pool_groups`), classify every
    cell under the shipped profiles (:func:`classify_cells`), run the sensitivity analyses of every
    cell (:func:`sensitivity_cells`), and re-pool as claims restrict (e.g. trials with 1-3
    sessions a week)."""
    out = Pooled(profile=profile)
    selected = effects.selected
    if len(selected) == 0:
        if len(effects.effects):
            out.notes.append("No usable effect sizes, so nothing was pooled.")
        return out
    if "add_on" not in selected.columns:  # a hand-made frame: its rows are read as head-to-head comparisons
        selected = selected.assign(add_on=False)
        effects = replace(effects, selected=selected)
    from trialsynth.pooling.profiles import get_profile

    out.grouped, frame = _pool_frame(selected, profile)
    out.bayes = bayes_rows(out.results())
    frame, out.refits = classify_cells(frame, out.results(), profile, bayes=out.bayes)
    out.sensitivity, summary, out.subgroups = sensitivity_cells(effects, profile)
    if len(summary):
        keyed = {tuple(r[c] for c in GROUP_BY): r for r in summary.to_dict("records")}
        frame["conclusion_depends_on_sensitivity"] = [
            bool(keyed.get(tuple(r[c] for c in GROUP_BY), {}).get("conclusion_depends_on_sensitivity", False))
            for r in frame.to_dict("records")]
        frame["sensitivity_changes"] = [str(keyed.get(tuple(r[c] for c in GROUP_BY), {}).get("sensitivity_changes", ""))
                                        for r in frame.to_dict("records")]
    else:
        frame["conclusion_depends_on_sensitivity"] = False
        frame["sensitivity_changes"] = ""
    out.frame = frame
    differ = bayes_class_differences(out.frame)
    out.notes.append(
        f"Bayesian random-effects pooling (every cell with k >= 2; prior on tau: Rhodes 2015 for SMDs, Turner 2015 for "
        "risk ratios, a secondary transcription of their tables; flat prior on the mean) "
        + (f"differs in class from {get_profile(profile).name} in {len(differ)} cell(s): " + "; ".join(differ) + "."
           if differ else f"gives the same class as {get_profile(profile).name} in every cell."))
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
        ids = [str(x) for x in (getattr(res, "labels", None) or _study_ids_of(pooled.frame, key))]
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
                 information: Information | None = None, durability: dict | None = None) -> Judged:
    """Judge every claim against the pooled cells, the trial rows, the published estimates, the
    SoF, the quotes, the information sizes and, for the claims about how long the effect lasts,
    the joint models of every follow-up (``durability``: outcome -> :func:`durability_stage`)."""
    from trialsynth.claims import evaluate_claims

    return Judged(evaluate_claims(sources.claims, pooled=pooled.frame, trials=effects.effects, reviews=sources.reviews,
                                  sof=graded.sof, quotes=sources.quotes, subset_pooled=pooled.subset_pooled,
                                  information=None if information is None else information.frame,
                                  durability=durability))


def durability_outcomes(claims) -> list[str]:
    """The outcomes of the claims that read the joint model of every follow-up
    (:func:`trialsynth.claims.durability.reads_joint_model`)."""
    from trialsynth.claims.durability import reads_joint_model

    return sorted({o for c in claims or () if reads_joint_model(c) for o in (c.outcomes or ("pain",))})


# --------------------------------------------------------------------------- durability


def _comparison_words(frame: pd.DataFrame) -> list[str]:
    """Each row's comparison in words ("acupuncture + usual care vs usual care")."""
    from trialsynth.data.cells import comparison_label

    add = frame["add_on"] if "add_on" in frame.columns else [False] * len(frame)
    return [comparison_label(c, a) for c, a in zip(frame["comparator_class"].astype(str), add)]


def durability_rows(effects: Effects, outcome: str = "pain") -> tuple[pd.DataFrame, list[str]]:
    """The rows the joint model of ``outcome`` fits (:func:`durability_stage`): every usable
    follow-up of every trial of the pooled population with a time after treatment, a
    ``comparison`` column in words (add-on and head-to-head trials are different comparisons,
    :mod:`trialsynth.data.cells`), and the trials whose outcome is on several instruments at
    different follow-ups (Molsberger 2002: a VAS at 3 months, an unnamed pain scale at the end of
    treatment), whose ``scale`` is set to the outcome: for the within-person correlation they are
    one outcome of the same participants (an SMD is scale-free)."""
    eff = effects.effects
    rows = eff[eff["yi"].notna() & eff["vi"].notna() & eff["usable"].fillna(False).astype(bool)
               & eff["window"].notna() & (eff["outcome"].astype(str) == outcome)]
    if effects.conditions is not None and "condition" in rows.columns:
        rows = rows[rows["condition"].astype(str).isin(list(effects.conditions))]
    rows = rows[rows["weeks_after"].notna()] if "weeks_after" in rows.columns else rows
    rows = rows.assign(comparison=_comparison_words(rows))
    several: list[str] = []
    if "scale" in rows.columns and len(rows):
        counts = rows.groupby("study_id")["scale"].nunique()
        several = sorted(str(s) for s in counts[counts > 1].index)
        if several:
            rows = rows.assign(scale=rows["scale"].astype(object).where(~rows["study_id"].isin(several), outcome))
    return rows, several


def durability_stage(effects: Effects, pooled: Pooled | None = None, *, outcome: str = "pain", rho: float | None = None,
                     rhos: Sequence[float] = (0.0, 0.3, 0.5, 0.7, 0.9), correlations=None, forms=("log", "spline")):
    """Does the effect fade? One joint model of every follow-up of every trial for ``outcome``
    (:func:`trialsynth.pooling.longitudinal.durability_analysis`): per comparison (comparator and
    add-on, named in words: the model's ``comparator`` values) the
    long-minus-short and intermediate-minus-immediate contrasts with CIs, the effect-against-time
    curves, and the contrasts at every within-person correlation of ``rhos``. ``cells`` sets the
    joint model's window estimates beside the separate pools of ``pooled`` (``separate_*``
    columns). ``correlations``: the declared within-person correlations
    (:func:`trialsynth.data.correlations.load_correlations`); other trials use ``rho``."""
    from trialsynth.pooling.longitudinal import durability_analysis

    if len(effects.effects) == 0 or "yi" not in effects.effects.columns:
        return durability_analysis(pd.DataFrame(columns=["measure"]))
    rows, several = durability_rows(effects, outcome)
    out = durability_analysis(rows, rho=rho, rhos=rhos, correlations=correlations, forms=forms, comparator="comparison")
    if several:
        out.notes.append(f"{', '.join(several)}: {outcome} on several instruments at different follow-ups, "
                         "treated as one outcome of the same participants (within-person correlation as for any follow-up)")
    out.outcome = outcome
    if pooled is not None and len(out.cells) and len(pooled.frame):
        sep = pooled.frame[pooled.frame["outcome"].astype(str) == outcome]
        sep = sep.assign(comparator=_comparison_words(sep))[["comparator", "window", "k", "estimate", "ci_low", "ci_high"]]
        sep = sep.astype({"comparator": str, "window": str}).rename(columns={
            "k": "separate_k", "estimate": "separate_estimate", "ci_low": "separate_ci_low", "ci_high": "separate_ci_high"})
        out.cells = out.cells.merge(sep, on=["comparator", "window"], how="left")
    return out


__all__ = [
    "ACUTE_CONDITIONS", "BAYES_POOLED_COLUMNS", "Effects", "GROUP_BY", "POOLABLE_ACROSS", "bayes_class_differences",
    "bayes_rows", "cell_mid", "classify_key", "scope_label", "sensitivity_cells", "Graded", "Information", "Judged",
    "Loaded", "POOLED_COLUMNS", "POOLED_CONDITIONS", "Pooled", "Sources", "classify_cells", "compute_effects",
    "durability_outcomes", "durability_stage", "grade_cells", "judge_claims", "load_sources", "load_trials_stage",
    "pool_cells", "population_label", "size_information",
]
