"""The pooled effect against time since treatment ended: does the benefit fade?

Draws one point with its CI (and optionally its prediction interval) per pooled
group, at the group's follow-up time, one series per comparator class. The
groups come from :func:`trialsynth.pooling.grouped.pool_groups` (``to_frame()``)
or any tidy frame with ``estimate, ci_low, ci_high`` and a time column.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from trialsynth.errors import ArgumentError
from trialsynth.plots._figure import add_title, fit_margins, new_figure
from trialsynth.plots._format import fmt_tick, is_ratio_measure, measure_name
from trialsynth.plots._inputs import display_transform
from trialsynth.plots.favours import (
    DEFAULT_ARMS,
    check_direction,
    favourable_direction_of,
    favours_labels,
)
from trialsynth.plots.styles import get_style

__all__ = ["effect_by_time_plot"]

#: default drawing order and colours of comparator classes
SERIES_COLORS = ("#1d4fd8", "#d97706", "#059669", "#7c3aed", "#6b7280", "#be123c")
WINDOW_ORDER = ("immediate", "short", "intermediate", "long")


def effect_by_time_plot(
    frame: pd.DataFrame,
    *,
    time: str | None = None,
    group: str | None = "comparator_class",
    measure: str | None = None,
    frame_scale: str = "analysis",
    show_prediction: bool = True,
    show_k: bool = True,
    favours: Sequence[str] | None = None,
    favourable_direction: str | None = None,
    arm_labels: Sequence[str] = DEFAULT_ARMS,
    labels: Mapping[str, str] | None = None,
    xlabel: str = "Weeks after treatment ended",
    style="cochrane",
    font: str | None = None,
    width: float = 5.2,
    height: float = 3.4,
    title: str | None = None,
):
    """Pooled effect with its CI against weeks after treatment ended.

    Parameters
    ----------
    frame : DataFrame
        One row per pooled group: ``estimate, ci_low, ci_high`` (analysis scale),
        optional ``pi_low, pi_high``, ``k``, a group column and a time column.
    time : str, optional
        The x column: by default the first of ``weeks_after_treatment``, ``weeks``,
        ``timepoint_weeks`` present, else ``window`` (drawn as ordered categories).
    group : str or None
        Column naming the series (``comparator_class``); None draws one series.
    measure : str, optional
        Effect measure (taken from a ``measure`` column when present); ratios get a log axis.
    labels : dict, optional
        Series value -> legend text (e.g. ``{"sham": "vs sham"}``).
    favours : (str, str), optional
        Labels of the low and the high end of the effect axis, used as given. By default
        worked out from ``favourable_direction`` (or the frame's ``favourable_direction``
        column, as :func:`trialsynth.pool_groups` results carry it) with ``arm_labels``
        (:func:`trialsynth.plots.favours_labels`); none are printed when it is not known.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentError(f"frame: expected a DataFrame of pooled groups, got {type(frame).__name__}")
    missing = [c for c in ("estimate", "ci_low", "ci_high") if c not in frame.columns]
    if missing:
        raise ArgumentError(f"frame: missing column(s) {missing}")
    if time is None:
        time = next((c for c in ("weeks_after_treatment", "weeks", "timepoint_weeks", "window") if c in frame.columns),
                    None)
        if time is None:
            raise ArgumentError("time: no time column (weeks_after_treatment, weeks, timepoint_weeks or window)")
    elif time not in frame.columns:
        raise ArgumentError(f"time: {time!r} is not a column of the frame")
    if group is not None and group not in frame.columns:
        group = None
    if measure is None and "measure" in frame.columns and frame["measure"].notna().any():
        measures = set(frame["measure"].dropna())
        if len(measures) > 1:
            raise ArgumentError(f"frame: one measure per figure, got {sorted(measures)}")
        measure = measures.pop()
    style = get_style(style, font=font)
    family = style.font
    if favours is None:
        direction = check_direction(favourable_direction) or favourable_direction_of(frame)
        favours = favours_labels(direction, arm_labels, spelling="Favors" if style.name == "jama" else "Favours")
    elif len(favours) != 2:
        raise ArgumentError("favours: expected two labels (low end, high end)")
    to_display = display_transform(measure, frame_scale)
    log_axis = is_ratio_measure(measure)
    null = 1.0 if log_axis else 0.0

    categorical = not pd.api.types.is_numeric_dtype(frame[time])
    data = frame.copy()
    if categorical:
        present = list(dict.fromkeys(data[time].astype(str)))
        order = [w for w in WINDOW_ORDER if w in present] + [w for w in present if w not in WINDOW_ORDER]
        data["__x"] = [order.index(str(v)) for v in data[time]]
    else:
        data["__x"] = data[time].astype(float)
    series = [None] if group is None else list(dict.fromkeys(data[group]))
    fig = new_figure(width, height)
    ax = fig.add_axes((0.13, 0.2, 0.6, 0.72))
    if log_axis:
        ax.set_yscale("log")
    span = float(np.ptp(data["__x"])) if len(data) > 1 else 1.0
    dodge = 0.0 if len(series) == 1 else (span or 1.0) * 0.012
    for i, name in enumerate(series):
        part = data if name is None else data[data[group] == name]
        part = part.sort_values("__x")
        x = part["__x"].to_numpy(dtype=float) + dodge * (i - (len(series) - 1) / 2)
        est = np.asarray(to_display(part["estimate"].to_numpy(dtype=float)), dtype=float)
        lo = np.asarray(to_display(part["ci_low"].to_numpy(dtype=float)), dtype=float)
        hi = np.asarray(to_display(part["ci_high"].to_numpy(dtype=float)), dtype=float)
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        text = "All" if name is None else (labels or {}).get(name, str(name).replace("_", " "))
        if show_prediction and {"pi_low", "pi_high"} <= set(part.columns):
            plo = np.asarray(to_display(part["pi_low"].to_numpy(dtype=float)), dtype=float)
            phi = np.asarray(to_display(part["pi_high"].to_numpy(dtype=float)), dtype=float)
            ok = np.isfinite(plo) & np.isfinite(phi)
            if ok.any():
                ax.vlines(x[ok], plo[ok], phi[ok], color=color, linewidth=4, alpha=0.18, zorder=1,
                          gid=f"pi:{text}")
        ax.vlines(x, lo, hi, color=color, linewidth=style.line_width * 1.4, zorder=2, gid=f"ci:{text}")
        ax.plot(x, est, marker="o", color=color, markersize=5, linewidth=style.line_width * 0.8,
                linestyle="-" if len(x) > 1 else "none", zorder=3, label=text, gid=f"series:{text}")
        if show_k and "k" in part.columns:
            for xi, est_i, k in zip(x, est, part["k"]):
                if np.isfinite(est_i) and pd.notna(k):
                    ax.annotate(f"k={int(k)}", (xi, est_i), xytext=(4, 0), textcoords="offset points",
                                ha="left", va="center", fontsize=style.small_size - 1, fontfamily=family,
                                color=color, gid=f"k:{text}")
    ax.axhline(null, color="black", linewidth=style.line_width * 0.8, linestyle=style.null_line_style, zorder=0)
    if categorical:
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels([o.replace("_", " ") for o in order])
        ax.set_xlim(-0.5, len(order) - 0.5)
        ax.set_xlabel("Follow-up window", fontsize=style.font_size, fontfamily=family)
    else:
        ax.set_xlabel(xlabel, fontsize=style.font_size, fontfamily=family)
        ax.set_xlim(left=min(0.0, float(data["__x"].min())) - (span or 1) * 0.05,
                    right=float(data["__x"].max()) + (span or 1) * 0.08)
    ax.set_ylabel(f"{measure_name(measure)} ({_level(frame)}% CI)", fontsize=style.font_size, fontfamily=family)
    finish_time_axes(ax, style, family, log_axis)
    # which end favours whom, from the direction of the effect scale (never assumed)
    if favours is not None:
        ax.annotate("\u2193 " + favours[0], xy=(1.01, 0.02), xycoords="axes fraction", fontsize=style.small_size,
                    fontfamily=family, va="bottom", ha="left", color="#444444", gid="favours:low")
        ax.annotate("\u2191 " + favours[1], xy=(1.01, 0.98), xycoords="axes fraction", fontsize=style.small_size,
                    fontfamily=family, va="top", ha="left", color="#444444", gid="favours:high")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, prop={"family": family,
              "size": style.small_size})
    if title:
        add_title(fig, title, family, style.font_size + 1)
    fit_margins(fig)
    return fig


def _level(frame) -> str:
    if "level" in frame.columns and frame["level"].notna().any():
        return f"{float(frame['level'].dropna().iloc[0]):g}"
    return "95"


#: ratio ticks of an effect-against-time axis: decades first, finer steps when a decade grid gives
#: fewer than three ticks
RATIO_TICKS = ((0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100), (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4))


def finish_time_axes(ax, style, family, log_axis: bool, levels=RATIO_TICKS) -> None:
    """The effect axis of an effect-against-time plot (:func:`effect_by_time_plot`,
    :func:`trialsynth.plots.time_response.time_response_plot`): ratio ticks as ratios at round
    values (the first tick set of ``levels`` with three ticks in view, else the last), the house
    style's tick font, no top or right spine."""
    if log_axis:
        ax.yaxis.set_minor_locator(NullLocator())
        lo_y, hi_y = ax.get_ylim()
        ticks = []
        for level in levels:
            ticks = [t for t in level if lo_y <= t <= hi_y]
            if len(ticks) >= 3:
                break
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_tick(v)))
    ax.tick_params(labelsize=style.small_size)
    for t in ax.get_xticklabels() + ax.get_yticklabels():
        t.set_fontfamily(family)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
