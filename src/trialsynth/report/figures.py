"""The report's figures: one builder for the report, the CLI and the notebooks; rendered in
worker processes, and only when their inputs changed.

**One builder.** :func:`plan_figures` turns an :class:`~trialsynth.report.analysis.Analysis`
(the population filter, windows, effects and pooling of :func:`~trialsynth.report.analysis.run_analysis`)
into :class:`FigureJob` s, each naming the plotting function (``kind``), what it draws
(``content`` and ``options``: the pooled results, per-arm study data, diagnostics computed by the
engine), its title and its file stem. ``make report``, ``trialsynth figures``,
``trialsynth forest`` and the notebooks all draw these jobs with :func:`draw`, so a file name
always means the same population, the same pipeline and the same picture:

=====================  ======================================================  =====================
kind                   what                                                     stem
=====================  ======================================================  =====================
``forest``             one pooled group, arm columns, † approximations, RoB     ``forest_<o>_<c>_<w>``
``forest_by_window``   every window of an outcome x comparator as subgroups     ``forest_<o>_<c>_by_window``
``short_long_panel``   short term beside intermediate/long term                 ``panel_<o>_<c>_short_<w>``
``funnel``             contour-enhanced funnel with trim-and-fill (k >= 3)      ``funnel_<o>_<c>_<w>``
``leave_one_out``      pooled estimate omitting each study (k >= 3)             ``leave_one_out_<o>_<c>_<w>``
``cumulative``         cumulative meta-analysis by year (k >= 3)                ``cumulative_<o>_<c>_<w>``
``gosh``               estimate vs I² over all subsets (3 <= k <= 15)           ``gosh_<o>_<c>_<w>``
``effect_by_time``     pooled effect against weeks after treatment              ``effect_by_time_<o>_<measure>``
``rob_traffic_light``  overall risk of bias per study (when judged)             ``rob_summary``
=====================  ======================================================  =====================

Every title names the outcome, the comparison, the time and the population (from the conditions
of the trials drawn, e.g. "— chronic low back pain"); every forest plot's favours labels come from
the pooled results' ``favourable_direction`` with the analysis' words ("Favours acupuncture",
"Favours sham"). What could not be drawn is listed in :attr:`FigurePlan.skipped` (e.g. "not
drawn because k = 2 < 3").

**Rendering** (:func:`write_figures`) writes SVG, PDF and PNG for every job:

* **no re-rendering of unchanged figures**: a job's *key* is a SHA-256 over everything its
  files depend on: the job (kind, title, content and options: every field, arrays and frames bit
  for bit), the formats and resolution, the matplotlib settings in force, the source of the
  plotting code (``trialsynth/plots`` and this module), the versions of trialsynth, matplotlib,
  fontTools, Pillow and numpy, and the font files matplotlib knows (path, size, modification
  time).  The keys and the SHA-256 of the files written are kept in ``<out>/.cache/figures.json``; a job
  whose key is unchanged and whose files are still there with the recorded hashes is skipped.
  Anything else (no manifest, a different key, a file edited or deleted) renders it again.
* **worker processes**: figures left to draw are rendered in a process pool (``forkserver``
  where available, else ``spawn``; never ``fork``, as the notebooks' kernel client runs in a
  thread), so drawing and font subsetting run beside the notebooks' kernel instead of
  competing with the notebook client for this process's GIL.  The workers apply this process's
  matplotlib settings, so the files are byte-identical to rendering here (tested).  By default
  there are ``min(2, CPUs - 1)`` workers (one CPU is left to the notebooks' kernel): on 2 CPUs
  one worker, which still takes the drawing off this process's GIL.  With one job, one CPU,
  ``workers=0`` or a pool that cannot start, figures are rendered in this process.

The bytes of every file come from :func:`trialsynth.plots.save_figure` in all cases.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
import math
import os
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

MANIFEST = Path(".cache") / "figures.json"
MANIFEST_VERSION = 2
#: modules whose source decides what a figure looks like (hashed into every key)
_CODE_PACKAGES = ("trialsynth.plots",)
_CODE_MODULES = ("trialsynth.report.figures", "trialsynth.data.io")

#: every kind of figure the builder makes (see the module docstring), in drawing order
KINDS = ("forest", "forest_by_window", "short_long_panel", "funnel", "leave_one_out", "cumulative", "gosh",
         "effect_by_time", "rob_traffic_light")
#: what ``make report`` draws (within its time budget); ``trialsynth figures`` draws every kind,
#: adding the short/long panels (the windows figure shows the same rows) and the effect-by-time
#: plots (notebook 02 shows them), under their own file names
REPORT_KINDS = ("forest", "forest_by_window", "funnel", "leave_one_out", "cumulative", "gosh", "rob_traffic_light")
#: fewest studies for funnel, leave-one-out, cumulative and GOSH plots; most for GOSH (2^k - 1 fits)
MIN_K_DIAGNOSTICS = 3
MAX_K_GOSH = 15
#: how a sentence names each kind
KIND_NAMES = {"forest": "forest", "forest_by_window": "forest (all windows)", "short_long_panel": "short/long panel",
              "funnel": "funnel", "leave_one_out": "leave-one-out", "cumulative": "cumulative", "gosh": "GOSH",
              "effect_by_time": "effect-by-time", "rob_traffic_light": "risk-of-bias"}
#: the plotting function of each kind (in :mod:`trialsynth.plots`); other kinds draw a forest plot
DRAWERS = {
    "forest": "forest_plot",
    "forest_by_window": "forest_plot",
    "short_long_panel": "short_long_panel",
    "funnel": "funnel_plot",
    "leave_one_out": "leave_one_out_plot",
    "cumulative": "cumulative_plot",
    "gosh": "gosh_plot",
    "effect_by_time": "effect_by_time_plot",
    "rob_traffic_light": "rob_traffic_light",
}

INTERVENTION = "Acupuncture"
#: comparator class -> (as in a title, as an arm heading)
COMPARATORS = {
    "sham": ("sham", "Sham"),
    "no_treatment": ("no treatment / waiting list", "No treatment"),
    "usual_care": ("usual care", "Usual care"),
    "active": ("active treatment", "Active treatment"),
}
#: window -> how a title says it
WINDOW_PHRASES = {
    "immediate": "immediately after treatment",
    "short": "up to 3 months after treatment",
    "intermediate": "3 to 12 months after treatment",
    "long": "12 months or more after treatment",
}
#: the heading of the risk-of-bias column (the overall judgement, under "Risk of bias")
ROB_COLUMN = "Overall"
STUDY_COLUMNS = ("year", "n1", "n2", "mean1", "sd1", "mean2", "sd2", "events1", "events2", "approximate",
                 "favourable_direction")


@dataclass(frozen=True)
class FigureJob:
    """One figure: ``DRAWERS[kind](content, title=title, **options)``, written as
    ``<folder>/<stem>.<format>``. ``content`` and ``options`` hold only what the engine computed
    (results, frames, diagnostics) and plain settings, so a job pickles to a worker and its
    fingerprint is its cache key. ``key`` is the group (outcome, comparator[, window])."""

    kind: str
    key: tuple
    stem: str
    title: str
    content: Any
    options: dict = field(default_factory=dict)
    description: str = ""


@dataclass
class FigurePlan:
    """The jobs of an analysis, and what was not drawn and why: ``skipped`` holds one dict per
    group and reason, ``{"key": [outcome, comparator, window], "figures": [kinds], "reason":
    "k = 2 < 3"}``; :meth:`skipped_lines` says them in words."""

    jobs: list
    skipped: list = field(default_factory=list)

    def skipped_lines(self) -> list[str]:
        """"Funnel and GOSH plots of pain vs sham, 3 to 12 months after treatment: not computed
        because k = 2 < 3", one per entry of :attr:`skipped`."""
        lines = []
        for entry in self.skipped:
            names = [KIND_NAMES.get(k, k) for k in entry["figures"]]
            what = (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0])
            what = what[:1].upper() + what[1:] + (" plots" if len(names) > 1 else " plot")
            key = entry["key"]
            where = ""
            if len(key) == 4:
                where = f" of {str(key[0]).replace('_', ' ')}, {_comparison(key[1], key[2])}, {window_phrase(key[3])}"
            lines.append(f"{what}{where}: not {_verb(entry['figures'])} because {entry['reason']}")
        return lines

    def skipped_summary(self) -> list[str]:
        """:meth:`skipped_lines` grouped by what was not drawn and why: "Funnel and GOSH plots not
        computed because k = 2 < 3: pain vs sham (3 to 12 months after treatment); ..."."""
        groups: dict[tuple, list] = {}
        for entry in self.skipped:
            groups.setdefault((tuple(entry["figures"]), entry["reason"]), []).append(entry["key"])
        lines = []
        for (kinds, reason), keys in groups.items():
            names = [KIND_NAMES.get(k, k) for k in kinds]
            what = (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0])
            what = what[:1].upper() + what[1:] + (" plots" if len(names) > 1 else " plot")
            cells: dict[str, list] = {}
            for key in keys:
                if len(key) == 4:
                    name = f"{str(key[0]).replace('_', ' ')}, {_comparison(key[1], key[2])}"
                    cells.setdefault(name, []).append(window_phrase(key[3]))
            where = "; ".join(f"{name} ({', '.join(whens)})" for name, whens in cells.items())
            lines.append(f"{what} not {_verb(kinds)} because {reason}" + (f": {where}" if where else ""))
        return lines


def _verb(kinds) -> str:
    """A forest plot left out is "not drawn"; a diagnostic is "not computed"."""
    return "drawn" if tuple(kinds) == ("forest",) else "computed"


def draw(job: FigureJob):
    """The job's :class:`matplotlib.figure.Figure` (the same call whether rendered here, in a
    worker, by the CLI or in a notebook)."""
    import trialsynth.plots as plots

    return getattr(plots, DRAWERS.get(job.kind, "forest_plot"))(job.content, title=job.title, **job.options)


def population_text(conditions) -> str:
    """The population of the trials drawn, in the report's words
    (:func:`trialsynth.report.stages.population_label` of the conditions present):
    ``{"chronic_lbp"}`` -> "chronic low back pain"; both report populations -> "chronic low
    back pain (with persistent pain of mixed or unstated duration)"."""
    from trialsynth.report.stages import POOLED_CONDITIONS, population_label

    present = {str(c) for c in conditions if c is not None and str(c) not in ("", "nan", "<NA>")}
    if not present:
        return "population not recorded"
    order = list(POOLED_CONDITIONS) + sorted(present - set(POOLED_CONDITIONS))
    return population_label([c for c in order if c in present])


def _outcome_words(outcome) -> str:
    return str(outcome).replace("_", " ").capitalize()


def _comparison(comparator, add_on=False) -> str:
    """"acupuncture vs sham", "acupuncture + usual care vs usual care"
    (:func:`trialsynth.data.cells.comparison_label`, the words every stage uses)."""
    from trialsynth.data.cells import comparison_label

    return comparison_label(comparator, add_on)


def arm_labels(comparator, add_on=False) -> tuple[str, str]:
    """("Acupuncture", "Sham") or, for an add-on comparison, ("Acupuncture + usual care",
    "Usual care"): the arm headings and the words of the favours labels."""
    from trialsynth.data.cells import ADD_ON_WORDS, as_add_on

    flag = as_add_on(add_on)
    if flag is True and str(comparator) in ADD_ON_WORDS:
        arm1, arm2 = ADD_ON_WORDS[str(comparator)]
        return (arm1[:1].upper() + arm1[1:], arm2[:1].upper() + arm2[1:])
    return (INTERVENTION, COMPARATORS.get(str(comparator), (None, str(comparator).replace("_", " ").capitalize()))[1])


def _series_label(comparator, add_on=False) -> str:
    """A comparison as a legend entry: "sham", "usual care + acupuncture vs usual care" shortened
    to "+ usual care vs usual care" (the intervention goes without saying)."""
    from trialsynth.data.cells import COMPARATOR_WORDS, as_add_on, comparison_label

    if as_add_on(add_on):
        return comparison_label(comparator, add_on, short=True)
    return COMPARATOR_WORDS.get(str(comparator), str(comparator).replace("_", " "))


def _stem_parts(outcome, comparator, add_on) -> list[str]:
    """File-stem parts of a comparison: head-to-head cells keep ``<outcome>_<comparator>``,
    add-on cells add ``addon`` ("forest_pain_usual_care_addon_intermediate")."""
    from trialsynth.data.cells import as_add_on

    flag = as_add_on(add_on)
    parts = [str(outcome), str(comparator)]
    if flag:
        parts.append("addon" if flag is True else str(flag))
    return parts


def window_phrase(window) -> str:
    if str(window) in WINDOW_PHRASES:
        return WINDOW_PHRASES[str(window)]
    return f"window {window}"


def window_heading(window, windows=None) -> str:
    for w in windows or ():
        if w.name == str(window) and w.label and w.label != w.name:
            return w.label
    return window_phrase(window).capitalize()


def group_rows(an, key):
    """The pooled rows of one cell (:data:`trialsynth.data.cells.CELL_KEY`: outcome,
    comparator_class, add_on, window), in pooling order."""
    import numpy as np

    from trialsynth.data.cells import ANY, CELL_KEY, as_add_on

    frame = an.selected
    if len(frame) == 0:
        return frame
    mask = np.ones(len(frame), dtype=bool)
    for column, value in zip(CELL_KEY, key):
        if str(value) == ANY or column not in frame.columns:
            continue  # pooled across this column
        if column == "add_on":
            mask &= np.array([as_add_on(v) == as_add_on(value) for v in frame[column]], dtype=bool)
        else:
            mask &= (frame[column].astype(str) == str(value)).to_numpy()
    rows = frame[mask]
    yi = rows["yi"].astype(float).to_numpy()
    vi = rows["vi"].astype(float).to_numpy()
    return rows[np.isfinite(yi) & np.isfinite(vi) & (vi > 0)]


def study_data(rows, result):
    """Per-study extras of a forest plot (arm summaries, year, approximations, overall risk of
    bias as ``Overall``), one row per study of ``result`` in its order; None when they do not match."""
    import pandas as pd

    if len(rows) != result.k:
        return None
    labels = [str(v) for v in result.labels]
    out = pd.DataFrame({"label": labels})
    for column in STUDY_COLUMNS:
        if column in rows.columns:
            out[column] = rows[column].to_numpy()
    if "rob" in rows.columns:  # empty where not judged (a column in every frame of a figure)
        out[ROB_COLUMN] = rows["rob"].astype("string").fillna("").to_numpy()
    if len(set(labels)) != len(labels):
        out = out.drop(columns="label")  # joined by position
    return out


def _has_rob(data) -> bool:
    """Some study of ``data`` has a risk-of-bias judgement."""
    return data is not None and ROB_COLUMN in data.columns and bool((data[ROB_COLUMN].astype(str).str.strip() != "").any())


def plan_figures(an, kinds=REPORT_KINDS, *, style: str = "cochrane", sort_by: str | None = None,
                 keys=None, suffix: str = "", single_trial_cells: bool = True) -> FigurePlan:
    """Every figure of ``an`` of the given ``kinds`` (see the module docstring), in order.

    Parameters
    ----------
    an : Analysis
        From :func:`trialsynth.report.analysis.run_analysis` (its population, windows and pooling).
    kinds : sequence of str
        Some of :data:`KINDS`.
    style : str
        House style of the plots (``cochrane`` or ``jama``).
    sort_by : str, optional
        Order of the studies in forest plots (``year``, ``effect``, ``weight``).
    keys : sequence of tuple, optional
        Only these cells (outcome, comparator_class, add_on, window; default: every pooled cell).
    suffix : str
        Appended to every stem (the CLI names non-default populations, measures and profiles).
    single_trial_cells : bool
        Draw a forest plot of a cell with one trial (no pooled row). ``False`` (``make report``)
        leaves it out when ``forest_by_window`` draws its comparison's every window, where that
        trial is shown with its windows, and says so in :attr:`FigurePlan.skipped`; a comparison
        with one window keeps its plot.
    """
    from trialsynth.data.io import safe_filename

    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        from trialsynth.errors import ArgumentError

        raise ArgumentError(f"kinds: unknown figure kind(s) {unknown}; expected some of {list(KINDS)}")
    results = an.results()
    order = {w: i for i, w in enumerate(WINDOW_PHRASES)}
    keys = sorted(results if keys is None else [tuple(k) for k in keys if tuple(k) in results],
                  key=lambda k: (str(k[0]), str(k[1]), str(k[2]), order.get(str(k[3]), 99), str(k[3])))
    scope = getattr(an, "scope", "")
    windows = an.windows_used()
    jobs: list[FigureJob] = []
    skipped: list[dict] = []
    base = {"style": style}

    def stem(*parts):
        return safe_filename("_".join(str(p) for p in parts) + suffix)

    rows_of = {key: group_rows(an, key) for key in keys}
    data_of = {key: study_data(rows_of[key], results[key]) for key in keys}

    def title(outcome, comparison, when, conditions, what=""):
        """"Pain: acupuncture vs sham, <when> — <population>", or "<What>: pain, acupuncture vs ..."
        (``comparison`` = (comparator, add_on)); what the analysis pools across, when anything."""
        words = _comparison(*comparison)
        text = f"{_outcome_words(outcome)}: {words}, {when}"
        if what:
            text = f"{what}: {str(outcome).replace('_', ' ')}, {words}, {when}"
        if scope:
            text += f" ({scope})"
        return text + f" \u2014 {population_text(conditions)}"

    def conditions_of(*group_keys):
        found = []
        for key in group_keys:
            rows = rows_of[key]
            if "condition" in rows.columns:
                found += list(rows["condition"])
        return found

    def forest_options(comparison, **extra):
        options = dict(base, arm_labels=arm_labels(*comparison), **extra)
        if sort_by is not None:
            options["sort_by"] = sort_by
        return options

    for key in keys:
        outcome, comparator, window = str(key[0]), str(key[1]), str(key[3])
        comparison = (comparator, key[2])
        words = _comparison(*comparison)
        parts = _stem_parts(outcome, comparator, key[2])
        res, data = results[key], data_of[key]
        when = window_phrase(window)
        in_by_window = "forest_by_window" in kinds and sum(1 for k in keys if tuple(k[:3]) == tuple(key[:3])) >= 2
        if "forest" in kinds and not single_trial_cells and res.k == 1 and in_by_window:
            skipped.append({"key": [outcome, comparator, key[2], window], "figures": ["forest"],
                            "reason": "one trial, shown in the forest plot of every window of its comparison"})
        elif "forest" in kinds:
            jobs.append(FigureJob("forest", key, stem("forest", *parts, window),
                                  title(outcome, comparison, when, conditions_of(key)), res,
                                  forest_options(comparison, study_data=data, rob=[ROB_COLUMN] if _has_rob(data) else None),
                                  f"forest plot, {outcome}, {words}, {window}"))
        diagnostics = [k for k in ("funnel", "leave_one_out", "cumulative", "gosh") if k in kinds]
        if not diagnostics:
            continue
        if res.k < MIN_K_DIAGNOSTICS:
            skipped.append({"key": [outcome, comparator, key[2], window], "figures": diagnostics,
                            "reason": f"k = {res.k} < {MIN_K_DIAGNOSTICS}"})
            continue
        jobs += _diagnostic_jobs(key, res, rows_of[key], diagnostics, skipped, base,
                                 functools.partial(title, outcome, comparison, when, conditions_of(key)),
                                 stem, (*parts, window))

    comparisons = list(dict.fromkeys(tuple(k[:3]) for k in keys))
    for outcome, comparator, add_on in comparisons:
        comparison = (comparator, add_on)
        words = _comparison(*comparison)
        parts = _stem_parts(outcome, comparator, add_on)
        group = [k for k in keys if tuple(k[:3]) == (outcome, comparator, add_on)]
        if "forest_by_window" in kinds and len(group) >= 2:
            sections = [(window_heading(k[3], windows), results[k]) for k in group]
            data = {window_heading(k[3], windows): data_of[k] for k in group if data_of[k] is not None}
            has_rob = len(data) == len(group) and any(_has_rob(d) for d in data.values())
            jobs.append(FigureJob("forest_by_window", (outcome, comparator, add_on), stem("forest", *parts, "by_window"),
                                  title(outcome, comparison, "by time after treatment", conditions_of(*group)), sections,
                                  forest_options(comparison, study_data=data or None, rob=[ROB_COLUMN] if has_rob else None),
                                  f"forest plot with windows as subgroups, {outcome}, {words}"))
        by_window = {str(k[3]): k for k in group}
        later = next((w for w in ("long", "intermediate") if w in by_window), None)
        if "short_long_panel" in kinds and "short" in by_window and later is not None:
            short_key, later_key = by_window["short"], by_window[later]
            options = dict(base, long=results[later_key], arm_labels=arm_labels(*comparison),
                           headings=(window_heading("short", windows), window_heading(later, windows)))
            joint = _joint_cells(an, outcome, comparator, add_on, ("short", later))
            if joint is not None:
                options.update(joint=joint, joint_label="Joint model, every follow-up", joint_note=_joint_note(an, outcome))
            jobs.append(FigureJob(
                "short_long_panel", (outcome, comparator, add_on), stem("panel", *parts, "short", later),
                title(outcome, comparison, f"short term and {later} term", conditions_of(short_key, later_key)),
                results[short_key], options, f"short-term beside {later}-term panels, {outcome}, {words}"))

    if "effect_by_time" in kinds:
        jobs += _effect_by_time_jobs(an, keys, windows, base, stem, conditions_of)
    if "rob_traffic_light" in kinds:
        frames = [rows_of[k] for k in keys if "rob" in rows_of[k].columns]
        rob = _rob_frame(frames)
        if rob is not None:
            jobs.append(FigureJob("rob_traffic_light", (), stem("rob_summary"),
                                  "Risk of bias (overall judgement per study)", rob, dict(base),
                                  "overall risk of bias per pooled study"))
        else:
            skipped.append({"key": [], "figures": ["rob_traffic_light"],
                            "reason": "no pooled study has a risk-of-bias judgement"})
    return FigurePlan(jobs, skipped)


def _diagnostic_jobs(key, res, rows, kinds, skipped, base, title, make_stem, group) -> list[FigureJob]:
    """Funnel (with trim-and-fill), leave-one-out, cumulative (by year) and GOSH of one group:
    the statistics come from :mod:`trialsynth.diagnostics`; a diagnostic that fails is skipped
    with its reason."""
    import numpy as np

    from trialsynth.diagnostics import sensitivity, small_study

    outcome, comparator, add_on, window = str(key[0]), str(key[1]), key[2], str(key[3])
    words = _comparison(comparator, add_on)
    jobs = []
    labels = dict(base, arm_labels=arm_labels(comparator, add_on))

    def stem(kind):
        return make_stem(kind, *group)

    def attempt(kind, make):
        try:
            jobs.append(make())
        except Exception as exc:  # noqa: BLE001 - one diagnostic must not sink the others
            skipped.append({"key": list(key), "figures": [kind], "reason": f"{type(exc).__name__}: {exc}"})

    def funnel():
        filled = small_study.trim_and_fill(res)
        return FigureJob("funnel", key, stem("funnel"), title("Funnel plot with trim-and-fill"),
                         small_study.funnel_coordinates(res), dict(base, trimfill=filled, measure=res.measure),
                         f"contour-enhanced funnel plot with trim-and-fill, {outcome}, {words}, {window}")

    def loo():
        return FigureJob("leave_one_out", key, stem("leave_one_out"), title("Leave-one-out"),
                         sensitivity.leave_one_out(res), dict(labels, result=res),
                         f"leave-one-out, {outcome}, {words}, {window}")

    def cumulative():
        years = rows["year"].to_numpy(dtype=float) if "year" in rows.columns else None
        order = years if years is not None and np.isfinite(years).all() else None
        return FigureJob("cumulative", key, stem("cumulative"),
                         title("Cumulative meta-analysis by year" if order is not None else "Cumulative meta-analysis"),
                         sensitivity.cumulative(res, order=order), dict(labels, result=res),
                         f"cumulative meta-analysis, {outcome}, {words}, {window}")

    def gosh():
        return FigureJob("gosh", key, stem("gosh"), title("GOSH plot"), sensitivity.gosh(res), dict(base, result=res),
                         f"GOSH plot (estimate and I\u00b2 of every subset), {outcome}, {words}, {window}")

    makers = {"funnel": funnel, "leave_one_out": loo, "cumulative": cumulative, "gosh": gosh}
    for kind in kinds:
        if kind == "gosh" and res.k > MAX_K_GOSH:
            skipped.append({"key": list(key), "figures": [kind],
                            "reason": f"k = {res.k} > {MAX_K_GOSH} (2^k - 1 subsets to fit)"})
            continue
        attempt(kind, makers[kind])
    return jobs


def _joint_note(an, outcome) -> str:
    """What the joint model of the short/long panels assumed, in one line."""
    d = an.stages["durability"][outcome]
    return (f"Joint model: every follow-up of every trial in one {d.window.fit.method} model, a trial's true effects "
            f"correlated between windows; within-person correlation {d.rho:g} assumed (no trial reports it; "
            "notebook 02 varies it).")


def _joint_cells(an, outcome, comparator, add_on, windows):
    """The joint model's estimate (estimate, ci_low, ci_high) of each of ``windows`` for one
    comparison, from the analysis's durability stage (None where it has no such cell; None
    altogether when the stage was not run for ``outcome``)."""
    from trialsynth.data.cells import comparison_label

    d = (getattr(an, "stages", None) or {}).get("durability", {}).get(outcome)
    cells = getattr(d, "cells", None)
    if cells is None or len(cells) == 0:
        return None
    c = cells[cells["comparator"].astype(str) == comparison_label(comparator, add_on)].set_index("window")
    out = [tuple(float(c.loc[w, col]) for col in ("estimate", "ci_low", "ci_high")) if w in c.index else None
           for w in windows]
    return out if any(o is not None for o in out) else None


def _effect_by_time_jobs(an, keys, windows, base, stem, conditions_of) -> list[FigureJob]:
    """One figure per outcome and measure: the pooled groups against their window's target."""
    import pandas as pd

    results = an.results()
    targets = {w.name: w.target for w in windows}
    rows = []
    for key in keys:
        res = results[key]
        series = "_".join(_stem_parts("", key[1], key[2])[1:])  # "usual_care" or "usual_care_addon"
        rows.append({"outcome": str(key[0]), "comparator_class": series, "window": str(key[3]),
                     "comparison": _series_label(key[1], key[2]),
                     "weeks_after_treatment": targets.get(str(key[3])), "k": res.k, "estimate": res.estimate,
                     "ci_low": res.ci_low, "ci_high": res.ci_high, "pi_low": res.pi_low, "pi_high": res.pi_high,
                     "measure": res.measure, "level": res.level, "favourable_direction": res.favourable_direction})
    if not rows:
        return []
    table = pd.DataFrame(rows)
    jobs = []
    for outcome in dict.fromkeys(table["outcome"]):
        part = table[table["outcome"] == outcome]
        for measure in dict.fromkeys(part["measure"].astype(str)):
            subset = part[part["measure"].astype(str) == measure].reset_index(drop=True)
            group_keys = [k for k in keys if str(k[0]) == outcome and str(results[k].measure) == measure]
            labels = dict(zip(subset["comparator_class"], subset["comparison"]))
            jobs.append(FigureJob(
                "effect_by_time", (outcome, measure), stem("effect_by_time", outcome, measure),
                f"{_outcome_words(outcome)}: pooled effect by time after treatment (window targets) "
                f"\u2014 {population_text(conditions_of(*group_keys))}",
                subset, dict(base, arm_labels=(INTERVENTION, "Control"), labels=labels),
                f"pooled {measure} by weeks after treatment, {outcome}"))
    return jobs


def _rob_frame(frames):
    import pandas as pd

    frames = [f[f["rob"].notna() & (f["rob"].astype(str) != "")] for f in frames if len(f)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    rob = pd.concat(frames).drop_duplicates("study_id")[["study_id", "rob"]]
    rob = rob.sort_values("study_id", kind="mergesort")
    return pd.DataFrame({"label": rob["study_id"].astype(str).to_numpy(),
                         "Overall": rob["rob"].astype(str).to_numpy()})


def figure_jobs(an, kinds=REPORT_KINDS, **kwargs) -> list[FigureJob]:
    """The jobs of :func:`plan_figures` (``make report`` draws these)."""
    return plan_figures(an, kinds, **kwargs).jobs


def comparator_jobs(an, **kwargs) -> list[FigureJob]:
    """One forest plot per outcome x comparator: every window as subgroups, or the one window's
    plot when only one was pooled (notebook 02 shows these)."""
    jobs = figure_jobs(an, ("forest", "forest_by_window"), **kwargs)
    several = {job.key for job in jobs if job.kind == "forest_by_window"}
    chosen = [job for job in jobs if job.kind == "forest_by_window" or (tuple(job.key[:3]) not in several)]
    outcomes = ("pain", "function", "responder")
    comparators = list(COMPARATORS)

    def order(job):
        outcome, comparator, add_on = str(job.key[0]), str(job.key[1]), str(job.key[2])
        return (outcomes.index(outcome) if outcome in outcomes else len(outcomes), outcome,
                comparators.index(comparator) if comparator in comparators else len(comparators), comparator, add_on)

    return sorted(chosen, key=order)


def find_job(jobs, stem: str) -> FigureJob:
    """The job named ``stem`` (a clear error naming the stems there are)."""
    for job in jobs:
        if job.stem == stem:
            return job
    from trialsynth.errors import ArgumentError

    raise ArgumentError(f"stem: no figure {stem!r}; the figures are {', '.join(j.stem for j in jobs) or 'none'}")


def write_manifest(folder, plan: FigurePlan, made: list[dict], **about) -> Path:
    """``<folder>/figures.json``: every figure written (kind, description, files) and every one
    not drawn with the reason, plus ``about`` (profile, style...). Deterministic bytes."""
    from trialsynth.data.io import atomic_write_text

    described = {job.stem: job for job in plan.jobs}
    figures = [{"figure": m["kind"], "stem": m["stem"], "title": described[m["stem"]].title,
                "description": described[m["stem"]].description, "files": m["files"]}
               for m in made if m["stem"] in described]
    path = Path(folder) / "figures.json"
    atomic_write_text(path, json.dumps({**about, "figures": figures, "skipped": plan.skipped}, indent=2,
                                       ensure_ascii=False) + "\n")
    return path


# --------------------------------------------------------------------------- rendering


def current_rc() -> dict:
    """This process's matplotlib settings (what a worker applies before drawing)."""
    import matplotlib

    # Read the raw values: rcParams["backend"] would resolve the automatic backend through pyplot,
    # which probes IPython while the notebook thread of the report may be importing it ("partially
    # initialized module 'IPython'" on a fresh install). The backend is not a drawing setting.
    return {key: dict.__getitem__(matplotlib.rcParams, key) for key in matplotlib.rcParams.keys() if key != "backend"}


def render_job(job: FigureJob, folder: str, formats: tuple, rc: dict | None = None, dpi: int = 300) -> dict:
    """Draw ``job`` (:func:`draw`) and write its files (in a worker or here); returns ``{"stem",
    "files", "hashes", "error"}`` with the SHA-256 of each file written."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot as plt

    from trialsynth.plots import save_figure

    fig = None
    try:
        with matplotlib.rc_context(rc or {}):
            fig = draw(job)
            paths = save_figure(fig, Path(folder) / job.stem, formats, dpi=dpi)
    except Exception as exc:  # noqa: BLE001 - one bad figure must not sink the report
        return {"stem": job.stem, "files": [], "hashes": {}, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        if fig is not None:
            plt.close(fig)
    hashes = {Path(p).name: _file_sha256(Path(p)) for p in paths}
    return {"stem": job.stem, "files": [Path(p).name for p in paths], "hashes": hashes, "error": None}


def _warm_up() -> int:
    """Run first in every worker: the imports its figures need (done already when the worker
    was forked from a ``forkserver`` that preloaded them)."""
    import trialsynth.report._figure_worker  # noqa: F401

    return os.getpid()


class FigurePool:
    """A lazily started process pool for :func:`render_job` (see the module docstring).

    :meth:`start` begins starting the workers (so that they import matplotlib while the
    analysis runs); :meth:`submit` starts them if needed. If the pool cannot be created the
    caller renders in its own process.
    """

    def __init__(self, workers: int | None = None):
        cpus = os.cpu_count() or 1
        if workers is None:
            # one CPU is left to the notebooks' kernel, which runs at the same time
            workers = min(2, cpus - 1)
        self.workers = max(0, min(int(workers), cpus))
        self._executor = None
        self._failed: str | None = None
        self._warm: list[Future] = []

    @property
    def usable(self) -> bool:
        return self.workers >= 1 and self._failed is None

    def start(self) -> bool:
        if self._executor is not None:
            return True
        if not self.usable:
            return False
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload(["trialsynth.report._figure_worker"])
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            self._warm = [self._executor.submit(_warm_up) for _ in range(self.workers)]
        except Exception as exc:  # noqa: BLE001 - no pool: render in this process
            self._failed = f"{type(exc).__name__}: {exc}"
            self._executor = None
            return False
        return True

    def submit(self, *args) -> Future | None:
        if not self.start():
            return None
        try:
            return self._executor.submit(render_job, *args)
        except Exception as exc:  # noqa: BLE001 - a broken pool: the caller renders here
            self._failed = f"{type(exc).__name__}: {exc}"
            return None

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers (``wait=False``: do not wait for them, e.g. after an error)."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None


def write_figures(jobs: list[FigureJob], folder: Path, formats, *, out_dir: Path | None = None,
                  pool: FigurePool | None = None, use_cache: bool = True, notes: list | None = None,
                  stats: dict | None = None, dpi: int = 300,
                  progress: Callable[[str], None] | None = None) -> list[dict]:
    """Write every job's files into ``folder``; return ``[{"kind", "key", "stem", "files"}]`` in
    job order (failed figures are left out and described in ``notes``).

    ``progress(line)`` is called with "figures 3/43: <stem>" as each figure is written (and once
    for the figures found unchanged).

    ``out_dir`` holds the manifest of the cache (``<out_dir>/.cache/figures.json``; no cache
    when None or ``use_cache`` is False).  ``stats`` (a dict) receives the counts
    ``rendered``, ``cached`` and ``failed`` and ``workers`` (0: rendered in this process).
    """
    formats = tuple(formats)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    notes = notes if notes is not None else []
    rc = current_rc()
    manifest_path = Path(out_dir) / MANIFEST if (out_dir is not None and use_cache) else None
    previous = _read_manifest(manifest_path) if manifest_path else {}
    env_key = _environment_key(rc, formats, dpi) if manifest_path else ""
    results: dict[str, dict] = {}
    keys: dict[str, str] = {}
    todo: list[FigureJob] = []
    for job in jobs:
        if manifest_path:
            keys[job.stem] = job_key(job, env_key)
            entry = previous.get(job.stem)
            if entry and entry.get("key") == keys[job.stem] and _files_intact(folder, entry.get("hashes", {})):
                results[job.stem] = {"stem": job.stem, "files": list(entry["hashes"]), "hashes": entry["hashes"],
                                     "error": None, "cached": True}
                continue
        todo.append(job)
    if progress is not None and len(todo) < len(jobs):
        progress(f"figures {len(jobs) - len(todo)}/{len(jobs)}: unchanged since the previous run, not redrawn")
    used_workers = 0
    futures: dict[str, Future | None] = {}
    if pool is not None and len(todo) >= 2 and pool.usable:  # one figure: not worth starting a process
        for job in todo:
            futures[job.stem] = pool.submit(job, str(folder), formats, rc, dpi)
        if any(f is not None for f in futures.values()):
            used_workers = pool.workers
    for job in todo:
        future = futures.get(job.stem)
        result = None
        if future is not None:
            try:
                result = future.result()
            except Exception:  # noqa: BLE001 - a worker died: draw this one here
                result = None
        if result is None:
            result = render_job(job, str(folder), formats, rc, dpi)
        results[job.stem] = result
        if progress is not None:
            progress(f"figures {len(results)}/{len(jobs)}: {job.stem}")
    made = []
    manifest = {}
    failed = 0
    for job in jobs:
        result = results[job.stem]
        if result["error"]:
            failed += 1
            notes.append(f"Figure {job.stem} failed: {result['error']}")
            continue
        made.append({"kind": job.kind, "key": job.key, "stem": job.stem, "files": result["files"]})
        if manifest_path:
            manifest[job.stem] = {"key": keys[job.stem], "hashes": result["hashes"]}
    if manifest_path:
        from trialsynth.data.io import atomic_write_text

        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(manifest_path, json.dumps({"version": MANIFEST_VERSION, "figures": manifest},
                                                    indent=1, sort_keys=True) + "\n")
    if stats is not None:
        cached = sum(1 for r in results.values() if r.get("cached"))
        stats.update(rendered=len(todo), cached=cached, failed=failed, workers=used_workers)
    return made


# --------------------------------------------------------------------------- cache keys


def job_key(job: FigureJob, environment_key: str) -> str:
    """SHA-256 over the job's inputs and ``environment_key`` (see :func:`_environment_key`)."""
    h = hashlib.sha256()
    h.update(environment_key.encode())
    _fingerprint(("job", job.kind, job.key, job.stem, job.title, job.content, job.options), h)
    return h.hexdigest()


def _fingerprint(obj, h, digits: int | None = None) -> None:
    """Feed an unambiguous encoding of ``obj`` (results, frames, arrays, numbers, text) into ``h``:
    floats bit for bit, or (``digits``) to that many significant digits, leaving out
    :data:`_VOLATILE` fields."""
    import numpy as np
    import pandas as pd

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"<{type(obj).__module__}.{type(obj).__qualname__}".encode())
        for f in dataclasses.fields(obj):
            if digits is not None and f.name in _VOLATILE:
                continue
            h.update(f"|{f.name}=".encode())
            _fingerprint(getattr(obj, f.name), h, digits)  # lazily computed fields are evaluated
        h.update(b">")
    elif isinstance(obj, pd.DataFrame):
        h.update(f"<frame {obj.shape}".encode())
        _fingerprint([str(c) for c in obj.columns], h)
        _fingerprint([str(t) for t in obj.dtypes], h)
        _fingerprint([str(i) for i in obj.index], h)
        for column in obj.columns:
            _fingerprint(obj[column].to_numpy(), h, digits)
        h.update(b">")
    elif isinstance(obj, pd.Series):
        _fingerprint(obj.to_frame(), h, digits)
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        h.update(f"<nd {arr.dtype.str} {arr.shape}".encode())
        if arr.dtype == object or (digits is not None and arr.dtype.kind in "fc"):
            for item in arr.ravel():
                _fingerprint(item, h, digits)
        else:
            h.update(arr.tobytes())
        h.update(b">")
    elif isinstance(obj, dict):
        h.update(b"<dict")
        for k in sorted(obj, key=repr):
            _fingerprint(k, h, digits)
            _fingerprint(obj[k], h, digits)
        h.update(b">")
    elif isinstance(obj, (list, tuple)):
        h.update(f"<{type(obj).__name__} {len(obj)}".encode())
        for item in obj:
            _fingerprint(item, h, digits)
        h.update(b">")
    elif isinstance(obj, (float, np.floating)):
        value = float(obj)
        if not math.isfinite(value):
            text = repr(value)
        elif digits is not None:  # -0, 0 and a 1e-17 residue draw alike
            text = "0" if abs(value) < 1e-9 else f"{value:.{digits}g}"
        else:
            text = value.hex()
        h.update(f"<f {text}>".encode())
    else:
        h.update(f"<{type(obj).__name__} {obj!r}>".encode())


#: fields of a result that do not change a picture and may differ between platforms (solver details)
_VOLATILE = frozenset({"iterations", "fit_stats", "s2", "crit"})


def stable_fingerprint(job: FigureJob, extra: bytes = b"") -> str:
    """SHA-256 of what ``job`` shows, the same on any platform: its content with every number to
    6 significant digits (solver details such as iteration counts left out) and every word and
    number the drawn figure prints (its texts, whitespace-normalised so that line breaks do not
    count) with its axis limits, plus ``extra`` (e.g. the drawing script).

    Unlike :func:`job_key` (the cache key: bit for bit, with the plotting code, the matplotlib
    version and the fonts), this changes only when what the figure says changes, not with
    matplotlib, numpy, fonts or a code edit that draws the same figure; so a committed figure can
    be checked for staleness on another machine (``docs/forest.json``; ``make docs``)."""
    h = hashlib.sha256()
    h.update(b"stable-2\n")
    _fingerprint(("job", job.kind, job.key, job.stem, job.title, job.content, job.options), h, digits=6)
    fig = draw(job)
    try:
        words = " ".join(t.get_text() for t in fig.texts if t.get_visible())
        h.update(" ".join(words.split()).encode())
        for ax in fig.axes:
            h.update(f"|{ax.get_xscale()} {[f'{v:.6g}' for v in ax.get_xlim()]}".encode())
    finally:
        from matplotlib import pyplot as plt

        plt.close(fig)
    h.update(extra.replace(b"\r\n", b"\n"))
    return h.hexdigest()


def _environment_key(rc: dict, formats: tuple, dpi: int = 300) -> str:
    """SHA-256 over what every figure depends on besides its own inputs."""
    h = hashlib.sha256()
    h.update(f"manifest {MANIFEST_VERSION}; formats {formats}; dpi {dpi}\n".encode())
    h.update(_code_hash().encode())
    for name in ("trialsynth", "matplotlib", "fontTools", "PIL", "numpy"):
        try:
            module = importlib.import_module(name)
            h.update(f"{name} {getattr(module, '__version__', '?')}\n".encode())
        except ImportError:
            h.update(f"{name} missing\n".encode())
    _fingerprint(sorted((k, repr(v)) for k, v in rc.items()), h)
    h.update(_fonts_hash().encode())
    return h.hexdigest()


def _code_hash() -> str:
    """SHA-256 of the source files of the plotting code (their paths and bytes)."""
    import importlib.util

    h = hashlib.sha256()
    files: list[Path] = []
    for package in _CODE_PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            files += sorted(Path(location).glob("*.py"))
    for module in _CODE_MODULES:
        spec = importlib.util.find_spec(module)
        if spec and spec.origin:
            files.append(Path(spec.origin))
    for path in files:
        h.update(f"{path.name}\n".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _fonts_hash() -> str:
    """SHA-256 over the font files matplotlib knows (path, size, modification time)."""
    from matplotlib import font_manager

    h = hashlib.sha256()
    for fname in sorted({entry.fname for entry in font_manager.fontManager.ttflist}):
        try:
            st = os.stat(fname)
            h.update(f"{fname} {st.st_size} {st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{fname} missing\n".encode())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files_intact(folder: Path, hashes: dict) -> bool:
    if not hashes:
        return False
    for name, digest in hashes.items():
        path = folder / name
        try:
            if _file_sha256(path) != digest:
                return False
        except OSError:
            return False
    return True


def _read_manifest(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}
    figures = data.get("figures")
    return figures if isinstance(figures, dict) else {}


__all__ = ["KINDS", "REPORT_KINDS", "FigureJob", "FigurePlan", "FigurePool", "comparator_jobs", "draw", "figure_jobs",
           "find_job", "plan_figures",
           "population_text", "render_job", "stable_fingerprint", "write_figures", "write_manifest", "job_key"]
