"""Forest plots: a table of studies and a graphical panel that share one y coordinate per row.

The layout is computed, not guessed: every cell's text is measured with the
renderer, each column is as wide as its widest cell, the figure is as tall as its
rows, and a final check measures every text artist and widens the margins if
anything would stick out. Rows are drawn in *one* coordinate system (x in inches
from the figure's left edge for text, data units for the panel; y in row units
for both), so a label can never drift away from its square.

Nothing here computes a statistic: estimates, intervals, weights, tau², I², Q,
the overall test and the test for subgroup differences are read from the results
(or frames) passed in. Ratio measures are drawn on a log axis with their
values back-transformed for display (``exp`` of the log ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from trialsynth.errors import ArgumentError
from trialsynth.plots._figure import (
    line_height,
    new_figure,
    overflow,
    text_width,
    wrap_statements,
    wrap_text,
    wrap_title,
)
from trialsynth.plots._format import (
    fmt_ci,
    fmt_count,
    fmt_interval,
    fmt_num,
    fmt_p,
    fmt_percent,
    fmt_tick,
    is_ratio_measure,
    measure_name,
)
from trialsynth.plots._inputs import (
    Pooled,
    Section,
    SubgroupTest,
    display_transform,
    measure_of,
    normalise_sections,
    pooled_from,
    subgroup_test_from,
)
from trialsynth.plots._captions import APPROXIMATE, ONE_STUDY, caption_lines, is_single, marks
from trialsynth.plots.favours import (
    DEFAULT_ARMS,
    UNKNOWN_DIRECTION_NOTE,
    check_direction,
    favourable_direction_of,
    favours_labels,
)
from trialsynth.plots.styles import HouseStyle, get_style

__all__ = ["forest_plot", "ForestLayout"]

ROB_SYMBOLS = {
    "low": "+",
    "some_concerns": "\u2212",
    "unclear": "?",
    "high": "\u00d7",
    "no_information": "?",
}
ROB_ALIASES = {
    "l": "low",
    "low": "low",
    "+": "low",
    "some concerns": "some_concerns",
    "some_concerns": "some_concerns",
    "some": "some_concerns",
    "moderate": "some_concerns",
    "u": "unclear",
    "unclear": "unclear",
    "?": "unclear",
    "h": "high",
    "high": "high",
    "-": "high",
    "no information": "no_information",
    "no_information": "no_information",
    "ni": "no_information",
}

SORT_KEYS = ("year", "effect", "weight", "label", "precision")
#: what the risk-of-bias symbols mean (one footnote line whenever they are drawn)
ROB_LEGEND = ("Risk of bias: + low, \u2212 some concerns, \u00d7 high, ? unclear or no information; "
              "blank: not assessed.")


# --------------------------------------------------------------------------- table model


@dataclass
class Column:
    key: str
    header: str
    group: str | None = None
    align: str = "right"  # left | right | center
    side: str = "left"  # left | right of the panel
    kind: str = "text"  # text | rob
    panel_header: tuple = (None, None)  # the effect column also names the panel's headings
    width: float = 0.0  # inches, filled by the layout
    x: float = 0.0  # inches from the figure's left edge to the column's left edge


@dataclass
class Row:
    kind: str  # heading | study | pooled | pi | note | blank
    cells: dict = field(default_factory=dict)
    estimate: float | None = None  # display scale
    low: float | None = None
    high: float | None = None
    weight: float | None = None
    bold: bool = False
    small: bool = False
    italic: bool = False
    rob: dict = field(default_factory=dict)
    label: str = ""
    section: int = 0
    core: bool = False  # the row's whole CI decides the axis (a study shown alone, without a diamond)
    #: (estimate, low, high) of the trial's shrunken (posterior) effect, display scale
    shrunk: tuple | None = None


@dataclass
class ForestLayout:
    """Where things went (inches and row coordinates); attached to the figure as ``fig.forest_layout``."""

    rows: list
    columns: list
    xlim: tuple
    log_axis: bool
    width: float
    height: float
    panel: tuple  # (left, bottom, width, height) in inches
    null_value: float


# --------------------------------------------------------------------------- public API


def forest_plot(
    data,
    pooled=None,
    *,
    study_data: pd.DataFrame | Mapping | None = None,
    measure: str | None = None,
    frame_scale: str = "analysis",
    subgroup_test=None,
    overall=None,
    sort_by: str | None = None,
    ascending: bool | None = None,
    style: str | HouseStyle = "cochrane",
    font: str | None = None,
    arm_labels: Sequence[str] = DEFAULT_ARMS,
    favours: Sequence[str] | None = None,
    favourable_direction: str | None = None,
    study_header: str | None = None,
    xlim: Sequence[float] | None = None,
    xticks: Sequence[float] | None = None,
    symmetric: bool = True,
    null_value: float | None = None,
    digits: int = 2,
    show_arms: bool | str = "auto",
    show_weights: bool = True,
    show_prediction: bool = True,
    show_heterogeneity: bool = True,
    show_overall_test: bool = True,
    rob: pd.DataFrame | Sequence[str] | None = None,
    rob_domains: Mapping[str, str] | None = None,
    footnote: str | bool | None = None,
    title: str | None = None,
    plot_width: float | None = None,
    level: float | None = None,
    columns: Mapping[str, str] | None = None,
    pooled_line: bool = False,
    xlabel: str | None = None,
    shrinkage=None,
):
    """Draw a forest plot and return the :class:`matplotlib.figure.Figure`.

    Parameters
    ----------
    data : MetaResult, DataFrame, dict, list of (heading, result) or subgroups result
        * a pooled result: rows from ``result.study_frame()``, the diamond and
          heterogeneity from its attributes, the footnote from ``methods_text()``;
        * a tidy DataFrame with columns ``label, estimate, ci_low, ci_high`` and
          optionally ``weight`` (percent), arm columns (``n1, mean1, sd1, events1``,
          ``n2, ...``), ``year``, risk-of-bias columns, ``display_label`` (the text
          shown instead of ``label``); the diamond comes from ``pooled``;
        * subgroups: a dict or list of ``(heading, result)`` (or ``(heading,
          (frame, pooled))``), or an object with a ``results`` dict (as
          :func:`trialsynth.subgroups` returns), drawn as sections of one figure,
          each with its own diamond.
    pooled : MetaResult, one-row DataFrame, Series or dict, optional
        The pooled row for a DataFrame ``data`` (keys as ``MetaResult``:
        ``estimate, ci_low, ci_high, pi_low, pi_high, tau2, i2, q, q_df, q_p_value,
        statistic, p_value, test, dfs, method, level, methods_text``).
    study_data : DataFrame, optional
        Per-study extras joined to a result's studies (by ``label`` when it has
        one, else by position): arm summaries, ``year``, risk-of-bias columns.
        For subgroups, a dict heading -> DataFrame.
    measure : str, optional
        Effect measure (``"RR"``, ``"SMD"`` ...); taken from the result when omitted.
        Ratio measures get a log axis.
    frame_scale : {"analysis", "display"}
        Whether a DataFrame's ratio values are log ratios (as trialsynth returns them)
        or already back-transformed.
    subgroup_test : subgroups result, dict, tuple (q, df, p[, i2]), optional
        The test for subgroup differences, printed under the sections. Taken from
        ``data`` when it is a subgroups result that carries it.
    overall : MetaResult or dict, optional
        An overall pooled row drawn after the subgroup sections.
    sort_by : {"year", "effect", "weight", "label", "precision"}, optional
        Order of the studies within each section (default: as given).
    style : str or HouseStyle
        ``"cochrane"`` or ``"jama"`` (see :mod:`trialsynth.plots.styles`).
    font : str, optional
        Override the style's font family (tests pin ``"DejaVu Sans"``).
    arm_labels : (str, str)
        Names of the intervention and the comparator: headings of the two arms' summary
        columns and the words of the favours labels (default ``("Intervention", "Control")``).
    favours : (str, str), optional
        Labels under the left and right half of the axis, used as given. By default they are
        worked out from the direction of the effect scale (:func:`trialsynth.plots.favours_labels`):
        "Favours <intervention>" goes on the side of the null that favours the intervention
        (``"Favors ..."`` in JAMA style). When the direction is not known, no favours labels are
        printed and the footnote says so; nothing is guessed.
    favourable_direction : {"lower", "higher"}, optional
        Which side of the null favours the intervention (arm 1); by default read from the
        results (``MetaResult.favourable_direction``, set by :func:`trialsynth.pool_groups` from
        :func:`trialsynth.effects.records.effects_from_trials`) or from a
        ``favourable_direction`` column of the study data.
    xlim, xticks : optional
        Axis limits and ticks in display units (ratios, not log ratios). CIs
        running past the limits end in an arrow.
    symmetric : bool
        Automatic limits symmetric about the null (RevMan's choice).
    digits : int
        Decimals of effect texts.
    show_arms : bool or "auto"
        Arm summary columns (n, mean (SD) or events/total) when the data has them.
    rob : DataFrame or list of str, optional
        Risk-of-bias judgements per study (``low``, ``some_concerns``, ``high``,
        ``unclear``): a DataFrame with a ``label`` column, or the names of columns
        of the study data. Drawn as coloured symbols, one column per domain.
    rob_domains : dict, optional
        Column name -> domain description, listed in the footnote.
    footnote : str, False or None
        Footnote text. By default a one-line caption (model, number of studies, method
        profile; the full methods belong in the report's Methods, ``result.methods_text()``)
        and one legend line per symbol used: ``‡`` one study (its own effect, no pooled row),
        ``§`` two studies (τ² and the prediction interval very imprecise), ``¶`` a Hartung-Knapp
        interval narrower than the Wald interval, ``†`` an approximated effect size (a true
        ``approximate`` column of the study data), and what the risk-of-bias symbols mean.
    title : str, optional
    plot_width : float, optional
        Width of the graphical panel in inches (style default otherwise).
    level : float, optional
        Confidence level for headings (default: the result's, else 95).
    columns : dict, optional
        Extra text columns after the study label: heading -> column of the study
        data (e.g. ``{"Weeks": "weeks_after_treatment", "Sessions": "sessions"}``).
    xlabel : str, optional
        An axis label under the tick labels (e.g. ``"Risk ratio (log scale)"``).
    pooled_line : bool
        Also draw a dotted vertical line at each pooled estimate through its
        section's rows (a reference for leave-one-out and cumulative plots).
    shrinkage : DataFrame, optional
        Each trial's shrunken estimate from a Bayesian random-effects analysis, drawn as an
        open circle with its interval just under the trial's square: the
        :attr:`~trialsynth.pooling.bayes.BayesResult.shrinkage` frame (``label``, ``median``,
        ``ci_low``, ``ci_high``, on the analysis scale; its ``attrs`` name the priors for the
        footnote). The plot draws what it is given; it computes nothing.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (also carrying ``fig.forest_layout``, a :class:`ForestLayout`).
    """
    style = get_style(style, font=font)
    sections = normalise_sections(data, pooled, study_data=study_data)
    if subgroup_test is None and len(sections) > 1 and not isinstance(data, (Mapping, list, tuple)):
        try:
            subgroup_test = subgroup_test_from(data)
        except ArgumentError:
            subgroup_test = None
    test = subgroup_test_from(subgroup_test)
    overall_pooled = None if overall is None else pooled_from(overall, "Total")
    measure = measure_of(sections, measure)
    to_display = display_transform(measure, frame_scale)
    log_axis = is_ratio_measure(measure)
    if level is None:
        level = next((s.pooled.level for s in sections if s.pooled and s.pooled.level), None) or 95.0
    if sort_by is not None:
        sections = [_sorted(s, sort_by, ascending) for s in sections]
    rob_columns, rob_frame = _rob_columns(rob, sections)
    approximate = _mark_approximate(sections)
    if favours is None:
        direction = check_direction(favourable_direction)
        if direction is None:
            direction = (favourable_direction_of([s.pooled for s in sections if s.pooled is not None])
                         or favourable_direction_of([s.studies for s in sections]))
        favours = favours_labels(direction, arm_labels, spelling="Favors" if style.name == "jama" else "Favours")
    elif len(favours) != 2:
        raise ArgumentError("favours: expected two labels (left, right)")
    if footnote is None:
        footnote = "\n".join(caption_lines(sections, overall_pooled, approximate=approximate)
                             + ([ROB_LEGEND] if rob_columns else [])
                             + ([] if favours is not None else [UNKNOWN_DIRECTION_NOTE]))
    if rob_domains:
        legend = "; ".join(f"{key}: {text}" for key, text in rob_domains.items())
        footnote = (footnote + "\n" if footnote else "") + "Risk of bias: " + legend
    columns, rows = _build_table(
        sections,
        overall_pooled,
        test,
        style=style,
        to_display=to_display,
        measure=measure,
        level=level,
        digits=digits,
        arm_labels=tuple(arm_labels),
        study_header=study_header or style.study_header,
        show_arms=show_arms,
        show_weights=show_weights,
        show_prediction=show_prediction,
        show_heterogeneity=show_heterogeneity,
        show_overall_test=show_overall_test,
        rob_columns=rob_columns,
        rob_frame=rob_frame,
        extra_columns=dict(columns or {}),
    )
    if shrinkage is not None:
        footnote = _attach_shrinkage(rows, shrinkage, to_display, footnote)
    null = (1.0 if log_axis else 0.0) if null_value is None else float(null_value)
    limits, ticks = _axis(rows, log_axis, null, xlim, xticks, symmetric)
    return _render(
        columns,
        rows,
        style=style,
        log_axis=log_axis,
        null=null,
        limits=limits,
        ticks=ticks,
        favours=None if favours is None else tuple(favours),
        footnote=footnote or "",
        title=title,
        plot_width=plot_width or style.plot_width,
        pooled_line=pooled_line,
        xlabel=xlabel,
    )


# --------------------------------------------------------------------------- table building


def _sorted(section: Section, sort_by: str, ascending: bool | None) -> Section:
    if sort_by not in SORT_KEYS:
        raise ArgumentError(f"sort_by: expected one of {list(SORT_KEYS)}, got {sort_by!r}")
    frame = section.studies
    key = {"effect": "estimate", "precision": "ci_width"}.get(sort_by, sort_by)
    if sort_by == "precision":
        frame = frame.assign(ci_width=frame["ci_high"] - frame["ci_low"])
    if key not in frame.columns:
        raise ArgumentError(f"sort_by: {sort_by!r} needs a {key!r} column in the study data")
    if ascending is None:
        ascending = sort_by not in ("weight",)
    frame = frame.sort_values(key, ascending=ascending, kind="mergesort", na_position="last")
    frame = frame.drop(columns=["ci_width"], errors="ignore").reset_index(drop=True)
    return Section(section.heading, frame, section.pooled, section.extra)


def _mark_approximate(sections) -> bool:
    """Mark studies whose ``approximate`` column is true with a dagger (once); True if any."""
    found = False
    for section in sections:
        frame = section.studies
        if "approximate" not in frame.columns:
            continue
        flags = frame["approximate"].map(lambda v: str(v).strip().lower() in ("true", "1", "1.0", "yes"))
        if not flags.any():
            continue
        found = True
        shown = frame["display_label"] if "display_label" in frame.columns else frame["label"]
        labels = [str(text) if isinstance(text, str) and text else str(label)
                  for text, label in zip(shown, frame["label"])]
        section.studies = frame.assign(display_label=[
            text if not flag or text.endswith(APPROXIMATE) else f"{text} {APPROXIMATE}"
            for text, flag in zip(labels, flags)])
    return found


def _rob_columns(rob, sections):
    if rob is None:
        return [], None
    if isinstance(rob, pd.DataFrame):
        if "label" not in rob.columns:
            raise ArgumentError("rob: the risk-of-bias DataFrame needs a 'label' column naming the studies")
        columns = [c for c in rob.columns if c != "label"]
        return columns, rob.set_index(rob["label"].astype(str))
    columns = list(rob)
    for section in sections:
        missing = [c for c in columns if c not in section.studies.columns]
        if missing:
            raise ArgumentError(f"rob: column(s) {missing} not in the study data")
    return columns, None


def _judgement(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    key = str(value).strip().lower()
    if not key:
        return None
    try:
        return ROB_ALIASES[key]
    except KeyError:
        raise ArgumentError(
            f"rob: unknown judgement {value!r}; expected low, some_concerns, high, unclear or no_information"
        ) from None


def _arm_kind(sections: list[Section], show_arms) -> str | None:
    if show_arms is False:
        return None
    frames = [s.studies for s in sections]

    def has(*cols):
        return all(any(c in f.columns and f[c].notna().any() for f in frames) for c in cols)

    kind = None
    if has("events1", "n1", "events2", "n2"):
        kind = "binary"
    elif has("mean1", "sd1", "n1", "mean2", "sd2", "n2"):
        kind = "continuous"
    elif has("n1", "n2"):
        kind = "n"
    if show_arms is True and kind is None:
        raise ArgumentError("show_arms: the study data has no arm columns (n1/n2, mean1/sd1, events1)")
    return kind


RANDOM_METHODS = {"DL", "HE", "HS", "HSK", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ"}


def _method_header(sections, level: float) -> str:
    """RevMan's column heading: "IV, Random, 95% CI" (or Fixed, M-H, Peto)."""
    methods = {str(s.pooled.fitted_method or s.pooled.method).upper() for s in sections
               if s.pooled is not None and s.pooled.method and not is_single(s.pooled)}
    if not methods and any(is_single(s.pooled) for s in sections):
        return f"{level:g}% CI"  # one study: nothing is pooled, no model to name
    if methods and methods <= RANDOM_METHODS:
        return f"IV, Random, {level:g}% CI"
    if methods == {"EE"} or methods == {"FE"}:
        return f"IV, Fixed, {level:g}% CI"
    if methods == {"MH"}:
        return f"M-H, Fixed, {level:g}% CI"
    if methods == {"PETO"}:
        return f"Peto, Fixed, {level:g}% CI"
    return f"{level:g}% CI"


def _build_table(
    sections,
    overall,
    test: SubgroupTest | None,
    *,
    style: HouseStyle,
    to_display: Callable,
    measure,
    level,
    digits,
    arm_labels,
    study_header,
    show_arms,
    show_weights,
    show_prediction,
    show_heterogeneity,
    show_overall_test,
    rob_columns,
    rob_frame,
    extra_columns,
):
    arm_kind = _arm_kind(sections, show_arms)
    has_weight = show_weights and any("weight" in s.studies.columns and s.studies["weight"].notna().any() for s in sections)
    text_side = style.text_position
    name = measure_name(measure)

    columns = [Column("label", study_header, align="left")]
    for header, source in extra_columns.items():
        if not any(source in s.studies.columns for s in sections):
            raise ArgumentError(f"columns: {source!r} (for {header!r}) is not a column of the study data")
        columns.append(Column(f"extra:{source}", str(header)))
    for arm, arm_label in ((1, arm_labels[0]), (2, arm_labels[1])):
        if arm_kind == "binary":
            columns += [
                Column(f"events{arm}", "Events", group=arm_label),
                Column(f"n{arm}", "Total", group=arm_label),
            ]
        elif arm_kind == "continuous":
            columns += [
                Column(f"mean{arm}", "Mean", group=arm_label),
                Column(f"sd{arm}", "SD", group=arm_label),
                Column(f"n{arm}", "Total", group=arm_label),
            ]
        elif arm_kind == "n":
            columns += [Column(f"n{arm}", "N", group=arm_label)]
    if style.revman_headers:
        effect_col = Column("effect", _method_header(sections, level), group=name)
    else:
        abbr = str(measure).upper() if measure else "Effect"
        effect_col = Column("effect", f"{abbr} ({level:g}% CI)", group=None)
    effect_col.panel_header = (name, effect_col.header) if style.revman_headers else (None, f"{name} ({level:g}% CI)")
    weight_col = Column("weight", style.weight_header)
    if text_side == "left":
        columns += ([weight_col] if has_weight else []) + [effect_col]
    else:
        for col in (effect_col, weight_col) if has_weight else (effect_col,):
            col.side = "right"
        columns += [effect_col] + ([weight_col] if has_weight else [])
    for key in rob_columns:
        columns.append(Column(f"rob:{key}", str(key), group="Risk of bias", align="center", side="right", kind="rob"))

    rows: list[Row] = []
    multi = len(sections) > 1 or sections[0].heading is not None
    for index, section in enumerate(sections):
        if section.heading is not None:
            rows.append(Row("heading", {"label": section.heading}, bold=True, section=index, label=section.heading))
        frame = section.studies
        arm_digits = {c: max([_arm_digits(v) for v in frame[c]] or [1]) for c in ("mean1", "sd1", "mean2", "sd2")
                      if c in frame.columns}
        for source in extra_columns.values():
            values = frame[source] if source in frame.columns else pd.Series([None] * len(frame))
            frame = frame.assign(**{f"__extra__:{source}": [_cell_text(v) for v in values]})
        single = is_single(section.pooled)
        for _, study in frame.iterrows():
            row = _study_row(study, to_display, digits, arm_kind, rob_columns, rob_frame, index,
                             style.ci_format, style.weight_percent_sign, arm_digits)
            if single and row.estimate is not None:
                # one study: its effect is the result; no "Total", no diamond (the symbol says so)
                row.cells["label"] += f" {ONE_STUDY}"
                row.core = True
            rows.append(row)
        if section.pooled is not None and not single:
            label = ("Subtotal" if multi else section.pooled.label or "Total") + f" ({level:g}% CI)"
            rows += _pooled_rows(
                section.pooled,
                frame,
                to_display,
                digits,
                arm_kind,
                style,
                index,
                has_weight,
                show_prediction,
                show_heterogeneity,
                show_overall_test,
                label=label + marks(section.pooled),
            )
        elif single and show_overall_test:
            # the study's own Wald test (RevMan prints it as the overall test; nothing is pooled)
            text = _overall_test_text(section.pooled, style)
            if text:
                text = "Test for the study's effect: " + text.split(": ", 1)[1]
                rows.append(Row("note", {"label": text}, small=True, section=index))
        if multi and index < len(sections) - 1:
            rows.append(Row("blank", section=index))
    if overall is not None:
        rows.append(Row("blank", section=len(sections)))
        combined = pd.concat([s.studies for s in sections], ignore_index=True)
        rows += _pooled_rows(
            overall,
            combined,
            to_display,
            digits,
            arm_kind,
            style,
            len(sections),
            has_weight and False,
            show_prediction,
            show_heterogeneity,
            show_overall_test,
            label=f"Total ({level:g}% CI)",
        )
    if test is not None:
        rows.append(Row("note", {"label": _subgroup_text(test, style)}, small=True, section=len(sections)))
    return columns, rows


def _study_row(study, to_display, digits, arm_kind, rob_columns, rob_frame, section, ci_format, pct,
               arm_digits) -> Row:
    label = str(study["label"])
    estimate = _float(study.get("estimate"))
    low = _float(study.get("ci_low"))
    high = _float(study.get("ci_high"))
    shown = study.get("display_label")
    cells = {"label": str(shown) if isinstance(shown, str) and shown else label}
    if estimate is None:
        cells["effect"] = "Not estimable"
    else:
        cells["effect"] = fmt_ci(to_display(estimate), to_display(low), to_display(high), digits, ci_format,
                                 to_display.ratio)
    weight = _float(study.get("weight"))
    if weight is not None:
        cells["weight"] = fmt_percent(weight) if pct else f"{weight:.1f}"
    if arm_kind is not None:
        for arm in (1, 2):
            cells[f"n{arm}"] = fmt_count(study.get(f"n{arm}"))
            if arm_kind == "binary":
                cells[f"events{arm}"] = fmt_count(study.get(f"events{arm}"))
            if arm_kind == "continuous":
                cells[f"mean{arm}"] = fmt_num(study.get(f"mean{arm}"), arm_digits.get(f"mean{arm}", 1))
                cells[f"sd{arm}"] = fmt_num(study.get(f"sd{arm}"), arm_digits.get(f"sd{arm}", 1))
    for key, value in study.items():
        if isinstance(key, str) and key.startswith("__extra__:"):
            cells["extra:" + key[10:]] = value
    rob = {}
    for key in rob_columns:
        if rob_frame is not None:
            value = rob_frame[key].get(label) if label in rob_frame.index else None
        else:
            value = study.get(key)
        rob[key] = _judgement(value)
    return Row(
        "study",
        cells,
        estimate=None if estimate is None else float(to_display(estimate)),
        low=None if low is None else float(to_display(low)),
        high=None if high is None else float(to_display(high)),
        weight=weight,
        rob=rob,
        label=label,
        section=section,
    )


def _cell_text(value) -> str:
    """Text of an extra column's cell: numbers without spurious decimals, missing as empty."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return fmt_count(value) if float(value).is_integer() else fmt_num(value, 2)
    return str(value)


def _arm_digits(value) -> int:
    """Keep the source's precision of a mean or SD (up to 2 decimals)."""
    value = _float(value)
    if value is None:
        return 0
    text = f"{value:.6g}"
    if "." not in text:
        return 0
    return min(2, len(text.split(".")[1]))


def _pooled_rows(pooled: Pooled, frame, to_display, digits, arm_kind, style, section, has_weight,
                 show_prediction, show_heterogeneity, show_overall_test, label) -> list[Row]:
    cells = {
        "label": label,
        "effect": fmt_ci(to_display(pooled.estimate), to_display(pooled.ci_low), to_display(pooled.ci_high), digits,
                         style.ci_format, to_display.ratio),
    }
    if has_weight and "weight" in frame.columns and frame["weight"].notna().any():
        total = float(np.nansum(frame["weight"].to_numpy(dtype=float)))
        cells["weight"] = fmt_percent(total) if style.weight_percent_sign else f"{total:.1f}"
    if arm_kind is not None:
        for arm in (1, 2):
            if f"n{arm}" in frame.columns:
                cells[f"n{arm}"] = fmt_count(np.nansum(pd.to_numeric(frame[f"n{arm}"], errors="coerce")))
            if arm_kind == "binary" and f"events{arm}" in frame.columns:
                cells[f"events{arm}"] = fmt_count(np.nansum(pd.to_numeric(frame[f"events{arm}"], errors="coerce")))
    rows = [
        Row(
            "pooled",
            cells,
            estimate=float(to_display(pooled.estimate)),
            low=float(to_display(pooled.ci_low)),
            high=float(to_display(pooled.ci_high)),
            bold=True,
            label=label,
            section=section,
        )
    ]
    if show_prediction and pooled.pi_low is not None and pooled.pi_high is not None:
        low, high = float(to_display(pooled.pi_low)), float(to_display(pooled.pi_high))
        rows.append(
            Row(
                "pi",
                {"label": "Prediction interval", "effect": fmt_interval(low, high, digits, style.ci_format, to_display.ratio)},
                low=low,
                high=high,
                italic=True,
                label="Prediction interval",
                section=section,
            )
        )
    if show_heterogeneity:
        text = _heterogeneity_text(pooled, style)
        if text:
            rows.append(Row("note", {"label": text}, small=True, section=section))
    if show_overall_test:
        text = _overall_test_text(pooled, style)
        if text:
            rows.append(Row("note", {"label": text}, small=True, section=section))
    return rows


def _float(value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _heterogeneity_text(pooled: Pooled, style: HouseStyle) -> str:
    if pooled.k == 1 or pooled.q_df == 0:
        return "Heterogeneity: not applicable (one study)"
    parts = []
    if style.p_style == "revman":
        if pooled.tau2 is not None:
            parts.append(f"Tau\u00b2 = {fmt_num(pooled.tau2, 2 if pooled.tau2 >= 0.01 or pooled.tau2 == 0 else 4)}")
        if pooled.q is not None:
            q = f"Chi\u00b2 = {fmt_num(pooled.q, 2)}"
            if pooled.q_df is not None:
                q += f", df = {pooled.q_df:g}"
            if pooled.q_p_value is not None:
                q += f" ({fmt_p(pooled.q_p_value, 'revman')})"
            parts.append(q)
        if pooled.i2 is not None:
            parts.append(f"I\u00b2 = {pooled.i2:.0f}%")
        return ("Heterogeneity: " + "; ".join(parts)) if parts else ""
    if pooled.tau2 is not None:
        parts.append(f"\u03c4\u00b2 = {fmt_num(pooled.tau2, 2 if pooled.tau2 >= 0.01 or pooled.tau2 == 0 else 4)}")
    if pooled.i2 is not None:
        parts.append(f"I\u00b2 = {pooled.i2:.0f}%")
    if pooled.q is not None:
        q = f"Q = {fmt_num(pooled.q, 2)}"
        if pooled.q_df is not None:
            q += f", df = {pooled.q_df:g}"
        if pooled.q_p_value is not None:
            q += f", {fmt_p(pooled.q_p_value, style.p_style)}"
        parts.append(q)
    return ("Heterogeneity: " + "; ".join(parts)) if parts else ""


def _overall_test_text(pooled: Pooled, style: HouseStyle) -> str:
    if pooled.statistic is None and pooled.p_value is None:
        return ""
    # a t-based test reports its df; without df (k = 1, or a z test) the statistic is a z value
    t_test = pooled.dfs is not None
    symbol = "t" if t_test else ("Z" if style.p_style == "revman" else "z")
    parts = []
    if pooled.statistic is not None:
        stat = f"{symbol} = {fmt_num(abs(pooled.statistic) if style.p_style == 'revman' else pooled.statistic, 2)}"
        if t_test and pooled.dfs is not None:
            stat += f", df = {pooled.dfs:g}"
        parts.append(stat)
    p_text = fmt_p(pooled.p_value, style.p_style)
    if style.p_style == "revman":
        body = parts[0] + (f" ({p_text})" if p_text else "") if parts else p_text
        return "Test for overall effect: " + body
    return "Overall effect: " + ", ".join(parts + ([p_text] if p_text else []))


def _subgroup_text(test: SubgroupTest, style: HouseStyle) -> str:
    if style.p_style == "revman":
        text = f"Test for subgroup differences: Chi\u00b2 = {fmt_num(test.q, 2)}, df = {test.df:g} ({fmt_p(test.p_value, 'revman')})"
        if test.i2 is not None:
            text += f", I\u00b2 = {test.i2:.1f}%"
        return text
    text = f"Test for subgroup differences: Q = {fmt_num(test.q, 2)}, df = {test.df:g}, {fmt_p(test.p_value, style.p_style)}"
    if test.i2 is not None:
        text += f"; I\u00b2 = {test.i2:.0f}%"
    return text


# --------------------------------------------------------------------------- axis


LOG_LIMITS = (2.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1000.0, 10000.0)
#: ratio tick levels, each added to the ones before while the labels fit: every other decade,
#: every decade, 2 and 5 times them, then quarters (0.25, 4) on short axes
LOG_TICK_LEVELS = (
    (1.0,),
    (0.0001, 0.01, 100.0, 10000.0),
    (0.001, 0.1, 10.0, 1000.0),
    (0.2, 0.5, 2.0, 5.0, 0.02, 0.05, 20.0, 50.0),
    (0.25, 4.0),
)


def _axis(rows, log_axis, null, xlim, xticks, symmetric):
    if xlim is not None:
        if len(xlim) != 2 or not xlim[0] < xlim[1]:
            raise ArgumentError("xlim: expected (low, high) with low < high")
        if log_axis and xlim[0] <= 0:
            raise ArgumentError("xlim: a ratio axis needs positive limits")
        limits = (float(xlim[0]), float(xlim[1]))
    else:
        limits = _auto_limits(rows, log_axis, null, symmetric)
    if xticks is not None:
        ticks = [float(t) for t in xticks if limits[0] <= t <= limits[1]]
    else:
        ticks = _candidate_ticks(limits, log_axis, null)
    return limits, ticks


def _auto_limits(rows, log_axis, null, symmetric):
    f = (lambda v: math.log(v)) if log_axis else (lambda v: v)
    null_t = f(null)
    core, full = [], []
    for row in rows:
        if row.kind == "study":
            if row.estimate is not None:
                core.append(row.estimate)
            (core if row.core else full).extend(v for v in (row.low, row.high) if v is not None)
            if row.shrunk is not None:
                full.extend(v for v in row.shrunk if v is not None)
        elif row.kind in ("pooled", "pi"):
            core += [v for v in (row.estimate, row.low, row.high) if v is not None]
    values = [f(v) for v in core + full if v is not None and (v > 0 or not log_axis) and math.isfinite(v)]
    core_t = [f(v) for v in core if v is not None and (v > 0 or not log_axis) and math.isfinite(v)]
    if not values:
        return (0.5, 2.0) if log_axis else (-1.0, 1.0)
    full_m = max(abs(v - null_t) for v in values)
    core_m = max([abs(v - null_t) for v in core_t] or [full_m])
    reach = min(full_m, max(2.0 * core_m, 1e-9))
    if log_axis:
        if symmetric:
            bound = next((b for b in LOG_LIMITS if math.log(b) >= reach * 0.999), LOG_LIMITS[-1])
            return (null / bound, null * bound)
        lo_t = max(min(values), null_t - reach)
        hi_t = min(max(values), null_t + reach)
        grid = sorted({v for b in LOG_LIMITS for v in (1 / b, b)} | {1.0})
        low = max([g for g in grid if math.log(g * null) <= lo_t] or [grid[0]]) * null
        high = min([g for g in grid if math.log(g * null) >= hi_t] or [grid[-1]]) * null
        return (min(low, null / 2), max(high, null * 2))
    if symmetric:
        bound = _nice_limit(reach if reach > 0 else 1.0)
        return (round(null - bound, 12), round(null + bound, 12))
    lo = min(max(min(values), null - reach), null)
    hi = max(min(max(values), null + reach), null)
    step = _nice_step(hi - lo if hi > lo else 1.0)
    low = null + math.floor(round((lo - null) / step, 9)) * step
    high = null + math.ceil(round((hi - null) / step, 9)) * step
    return (round(low, 12), round(high, 12))


#: symmetric linear limits (mantissas) and the nested tick steps that divide them: every tick
#: level contains the limits and the null, and each finer level contains the coarser one
LINEAR_LIMITS = {
    1.0: (1.0, 0.5),
    1.5: (1.5, 0.5),
    2.0: (2.0, 1.0, 0.5),
    3.0: (3.0, 1.0),
    4.0: (4.0, 2.0, 1.0),
    6.0: (6.0, 2.0, 1.0),
    8.0: (8.0, 4.0, 2.0),
}


def _decade(value: float) -> float:
    return 10.0 ** math.floor(math.log10(value) + 1e-9)


def _nice_limit(reach: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 6, 8 x 10^n that reaches ``reach``."""
    decade = _decade(reach)
    for mantissa in LINEAR_LIMITS:
        if mantissa * decade >= reach * 0.999:
            return mantissa * decade
    return 10 * decade


def _nice_step(span: float, most: int = 6) -> float:
    """The smallest of 1, 2, 5 x 10^n that cuts ``span`` into at most ``most`` steps."""
    decade = _decade(span / most)
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        if span / (mantissa * decade) <= most + 1e-9:
            return mantissa * decade
    return 10 * decade


def _multiples(lo: float, hi: float, null: float, step: float) -> list[float]:
    first = math.ceil(round((lo - null) / step, 9))
    last = math.floor(round((hi - null) / step, 9))
    return [round(null + i * step, 12) for i in range(first, last + 1)]


def _candidate_ticks(limits, log_axis, null) -> list[list[float]]:
    """Tick values in nested levels (the renderer keeps as many levels as fit); every level
    holds the null and both limits, so the axis always ends on a labelled tick."""
    lo, hi = limits
    inside = lambda v: lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)  # noqa: E731
    if log_axis:
        levels = [[null * v for v in level] for level in LOG_TICK_LEVELS]
        levels[0] = sorted({*levels[0], lo, hi})
        return [sorted({v for v in level if inside(v)}) for level in levels]
    ends = sorted({round(lo, 12), round(null, 12), round(hi, 12)})
    half = hi - null
    if math.isclose(null - lo, half, rel_tol=1e-9) and half > 0:
        decade = _decade(half)
        steps = LINEAR_LIMITS.get(round(half / decade, 6))
        if steps:
            return [ends] + [_multiples(lo, hi, null, m * decade) for m in steps[1:]]
    step = _nice_step(hi - lo)
    return [ends, _multiples(lo, hi, null, step)]  # auto limits are multiples of the step


# --------------------------------------------------------------------------- rendering


def _cell_font(row: Row, style: HouseStyle):
    size = style.small_size if row.small else style.font_size
    weight = style.heading_weight if row.bold else "normal"
    slant = "italic" if row.italic else "normal"
    return size, weight, slant


def _layout_columns(columns, rows, style, note_min_width):
    family = style.font
    gap = style.column_gap
    rob_width = max(style.row_height * 1.05, text_width("Overall", family, style.small_size) + 0.04)
    for col in columns:
        if col.kind == "rob":
            col.width = max(rob_width if len(col.header) > 3 else style.row_height * 1.05,
                            text_width(col.header, family, style.small_size) + 0.02)
            continue
        widths = [text_width(col.header, family, style.font_size, "bold")]
        for row in rows:
            if row.kind == "note":
                continue
            text = row.cells.get(col.key, "")
            size, weight, slant = _cell_font(row, style)
            widths.append(text_width(text, family, size, weight, slant))
        col.width = max(widths)
    # group headers span their columns: widen the last member when the group text is wider
    groups: dict[str, list[Column]] = {}
    for col in columns:
        if col.group:
            groups.setdefault(col.group + "|" + col.side, []).append(col)
    for key, members in groups.items():
        group_text = key.split("|")[0]
        need = text_width(group_text, family, style.font_size, "bold")
        have = sum(c.width for c in members) + gap * (len(members) - 1)
        if need > have:
            members[-1].width += need - have
    # notes (heterogeneity, tests) sit under the left block: make it wide enough for them
    left = [c for c in columns if c.side == "left"]
    left_width = sum(c.width for c in left) + gap * (len(left) - 1)
    if left_width < note_min_width:
        left[0].width += note_min_width - left_width


def _render(columns, rows, *, style, log_axis, null, limits, ticks, favours, footnote, title, plot_width,
            pooled_line=False, xlabel=None):
    family = style.font
    gap = style.column_gap
    # notes (heterogeneity, overall test, subgroup test) are never broken mid-statement: the left
    # block is as wide as the widest of them
    widest_note = max([text_width(r.cells["label"], style.font, style.small_size) for r in rows if r.kind == "note"]
                      or [0.0])
    note_min = max(3.2 if style.text_position == "right" else 2.6, widest_note)
    _layout_columns(columns, rows, style, note_min)
    left_cols = [c for c in columns if c.side == "left"]
    right_cols = [c for c in columns if c.side == "right"]
    left_block = sum(c.width for c in left_cols) + gap * (len(left_cols) - 1)
    # notes fit the left block (they never run into the panel); a statement is never split
    expanded: list[Row] = []
    for row in rows:
        if row.kind == "note":
            for line in wrap_statements(row.cells["label"], left_block + 1e-6, family, style.small_size):
                expanded.append(Row("note", {"label": line}, small=True, section=row.section))
        else:
            expanded.append(row)
    rows = expanded

    fav_w = [text_width(t, family, style.small_size) for t in favours or ()]
    plot_width = max(plot_width, 2 * max(fav_w, default=0.0) + 0.45)
    extra = [0.0, 0.0, 0.0, 0.0]  # left, right, bottom, top
    for _attempt in range(3):
        fig = new_figure()
        layout = _draw(fig, columns, rows, style, log_axis, null, limits, ticks, favours, footnote, title,
                       plot_width, left_block, left_cols, right_cols, extra, pooled_line, xlabel)
        spill = overflow(fig)
        if max(spill) <= 0.005:
            break
        extra = [e + s + (0.02 if s > 0 else 0) for e, s in zip(extra, spill)]
    fig.forest_layout = layout
    return fig


def _draw(fig, columns, rows, style, log_axis, null, limits, ticks, favours, footnote, title,
          plot_width, left_block, left_cols, right_cols, extra, pooled_line=False, xlabel=None):
    family = style.font
    gap = style.column_gap
    row_h = style.row_height
    margin = style.margin
    small_h = line_height(family, style.small_size)
    # trailing notes (overall heterogeneity and tests) sit beside the axis, as in RevMan
    n_rows = len(rows)
    while n_rows > 0 and rows[n_rows - 1].kind in ("note", "blank"):
        n_rows -= 1
    trailing = len(rows) - n_rows

    # horizontal positions (inches from the left edge)
    x = margin + extra[0]
    for col in left_cols:
        col.x = x
        x += col.width + gap
    panel_left = margin + extra[0] + left_block + gap * 1.5
    panel_right = panel_left + plot_width
    x = panel_right + gap * 1.5
    for col in right_cols:
        col.x = x
        x += col.width + gap
    width = max(x - gap if right_cols else panel_right, panel_right) + margin + extra[1]
    # footnote wraps to the figure's width
    foot_lines = wrap_text(footnote, width - 2 * margin - extra[0] - extra[1], family, style.small_size) if footnote else []
    foot_h = len(foot_lines) * small_h * 1.25

    header_rows = 2
    title_lines = wrap_title(title, width - 2 * margin - extra[0] - extra[1], family, style.font_size + 1.5) if title else []
    title_h = line_height(family, style.font_size + 1.5) * (1.3 * len(title_lines) + 0.3) if title else 0.0
    tick_h = 4.5 / 72 + small_h  # tick length + pad + labels
    xlabel_h = small_h * 1.5 if xlabel else 0.0
    tick_h += xlabel_h
    fav_h = small_h * 1.6
    axis_area = max(tick_h + fav_h, trailing * row_h + small_h * 0.3)
    bottom_area = axis_area + (small_h * 0.6 + foot_h if foot_lines else 0.0)
    top_area = title_h + header_rows * row_h + (0.04 if style.rules else 0.0)
    height = margin + extra[3] + top_area + n_rows * row_h + bottom_area + margin + extra[2]
    fig.set_size_inches(width, height)
    panel_bottom = margin + extra[2] + bottom_area
    ax = fig.add_axes(
        (panel_left / width, panel_bottom / height, plot_width / width, n_rows * row_h / height)
    )
    ax.set_gid("forest-panel")
    ax.set_ylim(n_rows - 0.5, -0.5)
    if log_axis:
        ax.set_xscale("log")
    ax.set_xlim(*limits)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(style.line_width)
    ax.set_yticks([])
    ax.patch.set_visible(False)
    kept_ticks = _fit_ticks(ticks, limits, log_axis, plot_width, family, style.small_size)
    ax.xaxis.set_major_locator(FixedLocator(kept_ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tick(v)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    ax.tick_params(axis="x", labelsize=style.small_size, width=style.line_width, length=3, pad=1.5)
    for label in ax.get_xticklabels():
        label.set_fontfamily(family)

    text_tf = blended_transform_factory(fig.dpi_scale_trans, ax.transData)

    def put(x_in, y, text, *, size, weight="normal", slant="normal", ha="left", color="black", gid=None):
        artist = fig.text(
            x_in, y, text, transform=text_tf, fontsize=size, fontweight=weight, fontstyle=slant,
            fontfamily=family, ha=ha, va="center_baseline", color=color,
        )
        if gid:
            artist.set_gid(gid)
        return artist

    def col_anchor(col: Column):
        if col.align == "left":
            return col.x, "left"
        if col.align == "center":
            return col.x + col.width / 2, "center"
        return col.x + col.width, "right"

    # header: group line (y = -2) and column line (y = -1)
    seen_groups = {}
    for col in columns:
        if col.group:
            seen_groups.setdefault((col.group, col.side), []).append(col)
    for (group, _side), members in seen_groups.items():
        x0 = members[0].x
        x1 = members[-1].x + members[-1].width
        put((x0 + x1) / 2, -2, group, size=style.font_size, weight="bold", ha="center", gid=f"group:{group}")
    for col in columns:
        size = style.small_size if col.kind == "rob" else style.font_size
        cx, ha = col_anchor(col)
        put(cx, -1, col.header, size=size, weight="bold", ha=ha, gid=f"header:{col.key}")
    panel_group, panel_sub = next((c.panel_header for c in columns if c.key == "effect"), (None, None))
    if panel_group:
        put((panel_left + panel_right) / 2, -2, panel_group, size=style.font_size, weight="bold", ha="center",
            gid="header:panel")
    if panel_sub:
        put((panel_left + panel_right) / 2, -1, panel_sub, size=style.font_size, weight="bold", ha="center",
            gid="header:panel-sub")
    if title:
        fig.text(
            margin + extra[0], height - margin - extra[3], "\n".join(title_lines), fontsize=style.font_size + 1.5,
            linespacing=1.3,
            fontweight="bold", fontfamily=family, ha="left", va="top",
            transform=fig.dpi_scale_trans, gid="title",
        )
    if style.rules:
        x_end = width - margin - extra[1]
        for y in (-0.5,):
            fig.add_artist(Line2D([margin + extra[0], x_end], [y, y], transform=text_tf, color="black",
                                  linewidth=style.line_width, gid="rule:header"))

    # rows
    x_lo, x_hi = limits
    study_sizes = _square_sizes(rows, style)
    for y, row in enumerate(rows):
        size, weight, slant = _cell_font(row, style)
        if row.kind == "note":
            put(columns[0].x, y, row.cells["label"], size=size, gid=f"note:{y}")
            continue
        if row.kind == "heading":
            put(columns[0].x, y, row.cells["label"], size=size, weight=weight, gid=f"heading:{y}")
            continue
        for col in columns:
            if col.kind == "rob":
                if row.kind == "study":
                    _draw_rob(ax, fig, text_tf, col, y, row.rob.get(col.key[4:]), style)
                continue
            text = row.cells.get(col.key, "")
            if not text:
                continue
            cx, ha = col_anchor(col)
            put(cx, y, text, size=size, weight=weight, slant=slant, ha=ha, gid=f"{col.key}:{y}")
        if row.kind == "study":
            _draw_study(ax, row, y, study_sizes.get(y), style, x_lo, x_hi)
            if row.shrunk is not None:
                _draw_shrunk(ax, row, y, style, x_lo, x_hi)
        elif row.kind == "pooled":
            _draw_diamond(ax, row, y, style)
        elif row.kind == "pi":
            _draw_pi(ax, row, y, style, x_lo, x_hi)

    if pooled_line:
        for y, row in enumerate(rows):
            if row.kind == "pooled":
                first = min(i for i, r in enumerate(rows) if r.section == row.section and r.kind in ("study", "pooled"))
                ax.plot([row.estimate, row.estimate], [first - 0.5, y], color=style.diamond_color, linestyle=":",
                        linewidth=style.line_width, zorder=1, gid=f"pooled-line:{row.label}")
    # line of no effect, per section (never through the notes)
    runs = _graphic_runs(rows)
    for start, stop in runs:
        ax.plot([null, null], [start - 0.5, stop + 0.5], color="black", linewidth=style.line_width * 0.8,
                linestyle=style.null_line_style, zorder=1, gid="null-line", solid_capstyle="butt")
    # favours labels under the tick labels, on each side of the null
    fav_y = panel_bottom - tick_h - small_h * 0.9
    if xlabel:
        fig.text(panel_left + plot_width / 2, panel_bottom - tick_h + xlabel_h - small_h * 0.9, xlabel,
                 transform=fig.dpi_scale_trans, ha="center", va="center_baseline", fontsize=style.small_size,
                 fontfamily=family, gid="xlabel")
    null_x_in = panel_left + plot_width * _axis_fraction(null, limits, log_axis)
    if favours is not None:
        _draw_favours(fig, favours, style, null_x_in, fav_y, panel_left, panel_right)
    if foot_lines:
        top = panel_bottom - axis_area - small_h * 0.6
        if style.rules:
            fig.add_artist(Line2D([margin + extra[0], width - margin - extra[1]], [top + small_h * 0.3] * 2,
                                  transform=fig.dpi_scale_trans, color="black", linewidth=style.line_width * 0.6,
                                  gid="rule:footnote"))
        for i, line in enumerate(foot_lines):
            fig.text(margin + extra[0], top - i * small_h * 1.25, line, transform=fig.dpi_scale_trans, ha="left",
                     va="top", fontsize=style.small_size, fontfamily=family, color="#333333", gid=f"footnote:{i}")
    return ForestLayout(
        rows=rows,
        columns=columns,
        xlim=limits,
        log_axis=log_axis,
        width=width,
        height=height,
        panel=(panel_left, panel_bottom, plot_width, n_rows * row_h),
        null_value=null,
    )


def _draw_favours(fig, favours, style, null_x_in, fav_y, panel_left, panel_right, gid="favours"):
    """The two favours labels, each on its side of the null, kept inside the panel's width."""
    family = style.font
    left_text = favours[0] if style.name != "jama" else "\u2190 " + favours[0]
    right_text = favours[1] if style.name != "jama" else favours[1] + " \u2192"
    # each label sits on its side of the null, kept inside the panel's width
    left_w = text_width(left_text, family, style.small_size)
    right_w = text_width(right_text, family, style.small_size)
    left_end = min(max(null_x_in - 0.06, panel_left + left_w), panel_right - right_w - 0.12)
    right_start = max(min(null_x_in + 0.06, panel_right - right_w), left_end + 0.12)
    fig.text(left_end, fav_y, left_text, transform=fig.dpi_scale_trans, ha="right", va="center_baseline",
             fontsize=style.small_size, fontfamily=family, gid=f"{gid}:left")
    fig.text(right_start, fav_y, right_text, transform=fig.dpi_scale_trans, ha="left", va="center_baseline",
             fontsize=style.small_size, fontfamily=family, gid=f"{gid}:right")


def _axis_fraction(value, limits, log_axis) -> float:
    lo, hi = limits
    if log_axis:
        return (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (value - lo) / (hi - lo)


def _fit_ticks(levels, limits, log_axis, plot_width, family, size) -> list[float]:
    """Add tick levels in order while their labels fit without overlapping (the first level that
    does not fit ends it, so no finer level shows up between coarser gaps: never 0.0001, 0.25, 1)."""
    if levels and not isinstance(levels[0], (list, tuple)):
        return list(levels)  # explicit ticks: as given
    kept: list[float] = []
    for level in levels:
        trial = sorted(set(kept) | set(level))
        positions = [_axis_fraction(v, limits, log_axis) * plot_width for v in trial]
        widths = [text_width(fmt_tick(v), family, size) for v in trial]
        ok = all(
            positions[i + 1] - positions[i] >= (widths[i] + widths[i + 1]) / 2 + 0.06
            for i in range(len(trial) - 1)
        )
        if ok or not kept:
            kept = trial
        else:
            break
    return kept


def _square_sizes(rows, style) -> dict:
    weights = {y: r.weight for y, r in enumerate(rows) if r.kind == "study"}
    known = [w for w in weights.values() if w is not None and w > 0]
    max_w = max(known) if known else None
    sizes = {}
    for y, w in weights.items():
        if max_w is None or w is None or w <= 0:
            sizes[y] = (style.square_min + style.square_max) / 2 if max_w is None else style.square_min
        else:  # area proportional to weight
            sizes[y] = max(style.square_min, style.square_max * math.sqrt(w / max_w))
    return sizes


#: the widest a study's square may be, as a fraction of its CI's width on the page
SQUARE_OF_CI = 0.7


def _attach_shrinkage(rows, shrinkage, to_display, footnote):
    """Put each trial's shrunken estimate on its row (matched by label) and say so in the footnote."""
    frame = pd.DataFrame(shrinkage)
    missing = [c for c in ("label", "median", "ci_low", "ci_high") if c not in frame.columns]
    if missing:
        raise ArgumentError(f"shrinkage: expected columns label, median, ci_low, ci_high (BayesResult.shrinkage); "
                            f"missing {', '.join(missing)}")
    by_label = {str(r["label"]): r for r in frame.to_dict("records")}
    matched = 0
    for row in rows:
        if row.kind == "study" and row.label in by_label:
            rec = by_label[row.label]
            row.shrunk = tuple(float(to_display(rec[c])) for c in ("median", "ci_low", "ci_high"))
            matched += 1
    if not matched:
        raise ArgumentError("shrinkage: no label matches a trial of the plot")
    attrs = getattr(frame, "attrs", {}) or getattr(shrinkage, "attrs", {})
    level = attrs.get("level", 95)
    text = (f"Open circles and dashed lines: each trial's shrunken effect (posterior median and {level:g}% "
            f"{attrs.get('interval', 'shortest')} credible interval of the trial's true effect, pulled towards the mean) "
            "from a Bayesian random-effects analysis"
            + (f"; tau prior {attrs['tau_prior']}, mu prior {attrs.get('mu_prior', '')}" if "tau_prior" in attrs else "")
            + ".")
    return (footnote + "\n" if footnote else "") + text


def _draw_shrunk(ax, row, y, style, x_lo, x_hi):
    """The shrunken estimate: an open circle and a thin line a third of a row under the square."""
    est, low, high = row.shrunk
    yy = y + 0.3
    left, right = max(low, x_lo), min(high, x_hi)
    if right > left:
        ax.plot([left, right], [yy, yy], color=style.ci_color, linewidth=style.line_width * 0.7, zorder=2,
                linestyle=(0, (2.0, 1.2)), gid=f"shrunken-ci:{row.label}", solid_capstyle="butt")
    if x_lo <= est <= x_hi:
        ax.plot([est], [yy], marker="o", markersize=3.6, markerfacecolor="white", markeredgecolor=style.ci_color,
                markeredgewidth=0.8, linestyle="none", zorder=5, gid=f"shrunken:{row.label}")


def _draw_study(ax, row, y, size, style, x_lo, x_hi):
    """A study's square and whisker. The square is at most :data:`SQUARE_OF_CI` of its CI's
    width and the whisker is drawn on top of it, so a square never hides its interval."""
    if row.estimate is None:
        return
    low, high = row.low, row.high
    edge = 0.5
    if low is not None and high is not None:
        left = max(low, x_lo)
        right = min(high, x_hi)
        if right > left:
            ax.plot([left, right], [y, y], color=style.ci_color, linewidth=style.line_width, zorder=5,
                    gid=f"ci:{row.label}", solid_capstyle="butt")
            if size is not None:  # the whisker shows on both sides of the square
                size = max(1.5, min(size, SQUARE_OF_CI * _span_points(ax, left, right, y) - edge))
        if low < x_lo:
            ax.plot([x_lo], [y], marker="<", markersize=4, color=style.ci_color, zorder=6, clip_on=False,
                    gid=f"arrow-left:{row.label}")
        if high > x_hi:
            ax.plot([x_hi], [y], marker=">", markersize=4, color=style.ci_color, zorder=6, clip_on=False,
                    gid=f"arrow-right:{row.label}")
    if x_lo <= row.estimate <= x_hi:
        ax.plot([row.estimate], [y], marker="s", markersize=size, markerfacecolor=style.square_color,
                markeredgecolor=style.square_edge, markeredgewidth=edge, linestyle="none", zorder=4,
                gid=f"square:{row.label}")


def _span_points(ax, left, right, y) -> float:
    """The width in points of the data interval [left, right] on ``ax`` (log axes included)."""
    (x0, _), (x1, _) = ax.transData.transform([(left, y), (right, y)])
    return abs(x1 - x0) * 72.0 / ax.figure.dpi


def _draw_diamond(ax, row, y, style):
    half = 0.36
    diamond = Polygon(
        [(row.low, y), (row.estimate, y - half), (row.high, y), (row.estimate, y + half)],
        closed=True, facecolor=style.diamond_color, edgecolor=style.diamond_edge, linewidth=0.6, zorder=4,
    )
    diamond.set_gid(f"diamond:{row.label}")
    ax.add_patch(diamond)


def _draw_pi(ax, row, y, style, x_lo, x_hi):
    left, right = max(row.low, x_lo), min(row.high, x_hi)
    ax.plot([left, right], [y, y], color=style.pi_color, linewidth=style.line_width * 2.2, zorder=3,
            solid_capstyle="butt", gid="prediction-interval")
    for end, edge in ((row.low, x_lo), (row.high, x_hi)):
        if edge == x_lo and end < x_lo:
            ax.plot([x_lo], [y], marker="<", markersize=4, color=style.pi_color, clip_on=False)
        elif edge == x_hi and end > x_hi:
            ax.plot([x_hi], [y], marker=">", markersize=4, color=style.pi_color, clip_on=False)
        else:
            ax.plot([end, end], [y - 0.2, y + 0.2], color=style.pi_color, linewidth=style.line_width, zorder=3)


def _draw_rob(ax, fig, transform, col, y, judgement, style):
    cx = col.x + col.width / 2
    if judgement is None:
        return
    color = style.rob_colors.get(judgement, "#bdbdbd")
    diameter = style.row_height * 72 * 0.78
    fig.add_artist(Line2D([cx], [y], transform=transform, marker="o", markersize=diameter,
                          markerfacecolor=color, markeredgecolor="none", linestyle="none",
                          gid=f"rob:{col.key[4:]}:{y}:{judgement}"))
    fig.text(cx, y, ROB_SYMBOLS[judgement], transform=transform, ha="center", va="center",
             fontsize=style.small_size, fontweight="bold", color="white" if judgement != "some_concerns" else "black",
             fontfamily=style.font)


def _graphic_runs(rows) -> list[tuple[int, int]]:
    runs = []
    start = None
    last = None
    for y, row in enumerate(rows):
        graphic = row.kind in ("study", "pooled", "pi")
        if graphic:
            if start is None:
                start = y
            last = y
        elif row.kind in ("note", "blank", "heading") and start is not None:
            runs.append((start, last))
            start = None
    if start is not None:
        runs.append((start, last))
    return runs
