"""Sensitivity figures: leave-one-out and cumulative forest plots, GOSH plots.

They draw the tidy frames that :func:`trialsynth.leave_one_out`,
:func:`trialsynth.cumulative` and :func:`trialsynth.gosh` return; nothing is
re-estimated here.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from trialsynth.errors import ArgumentError
from trialsynth.plots._figure import add_title, fit_margins, new_figure
from trialsynth.plots._format import fmt_num, fmt_tick, is_ratio_measure, measure_name, round_ticks
from trialsynth.plots._captions import caption_lines
from trialsynth.plots._inputs import Section, display_transform, is_result, pooled_from
from trialsynth.plots.forest import forest_plot
from trialsynth.plots.styles import get_style

__all__ = ["leave_one_out_plot", "cumulative_plot", "gosh_plot"]

_LABEL_COLUMNS = ("label", "omitted", "left_out", "study", "added", "study_id")


def _frame(frame, name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentError(
            f"{name}: expected the DataFrame that trialsynth.{name}() returns, got {type(frame).__name__}"
        )
    frame = frame.copy()
    if "estimate" not in frame.columns:
        for alt in ("b", "yi"):
            if alt in frame.columns:
                frame = frame.rename(columns={alt: "estimate"})
    missing = [c for c in ("estimate", "ci_low", "ci_high") if c not in frame.columns]
    if missing:
        raise ArgumentError(f"{name}: the frame lacks column(s) {missing}")
    label = next((c for c in _LABEL_COLUMNS if c in frame.columns), None)
    frame["label"] = frame[label].astype(str) if label else [f"Study {i + 1}" for i in range(len(frame))]
    return frame.reset_index(drop=True)


def _heterogeneity_columns(frame: pd.DataFrame, style) -> dict:
    columns = {}
    if "i2" in frame.columns:
        frame["__i2"] = [f"{v:.0f}%" if pd.notna(v) else "" for v in frame["i2"]]
        columns["I\u00b2"] = "__i2"
    if "tau2" in frame.columns:
        frame["__tau2"] = [fmt_num(v, 2 if v >= 0.01 or v == 0 else 4) if pd.notna(v) else "" for v in frame["tau2"]]
        columns["Tau\u00b2" if style.p_style == "revman" else "\u03c4\u00b2"] = "__tau2"
    return columns


def _sensitivity_forest(frame, result, *, name, prefix, measure, style, study_header, explain, **kwargs):
    style_obj = get_style(style, font=kwargs.pop("font", None))
    frame = _frame(frame, name)
    if prefix:
        frame["label"] = [prefix + label for label in frame["label"]]
    columns = _heterogeneity_columns(frame, style_obj)
    frame = frame.drop(columns=[c for c in ("weight",) if c in frame.columns])
    if measure is None and result is not None:
        measure = getattr(result, "measure", None)
    pooled = None
    if result is not None:
        if not is_result(result) and not isinstance(result, Mapping):
            raise ArgumentError("result: expected the MetaResult of all studies (or a dict with its estimate and CI)")
        pooled = result
    footnote = kwargs.pop("footnote", None)
    if footnote is None:
        # plain words, once: what a row is, then the model of the fits
        lines = [explain]
        if pooled is not None:
            whole = pooled_from(pooled)
            lines[0] += f"; the diamond and the dotted line: all {whole.k or len(frame) + 1} studies."
            lines += [line for line in caption_lines([Section(None, frame, whole)])
                      if not line.startswith(("\u2021", "\u00a7"))]
        footnote = "\n".join(lines)
    return forest_plot(
        frame,
        pooled,
        measure=measure,
        style=style_obj,
        columns=columns,
        study_header=study_header,
        show_arms=False,
        show_weights=False,
        show_prediction=kwargs.pop("show_prediction", False),
        pooled_line=True,
        footnote=footnote,
        **kwargs,
    )


def leave_one_out_plot(loo: pd.DataFrame, result=None, *, measure: str | None = None, style="cochrane", **kwargs):
    """Forest-style plot of the pooled estimate with each study left out in turn.

    Parameters
    ----------
    loo : DataFrame
        ``trialsynth.leave_one_out(...)``: one row per omitted study with ``estimate,
        ci_low, ci_high`` (analysis scale) and optionally ``i2``, ``tau2`` (shown as columns).
    result : MetaResult, optional
        The analysis of all studies: drawn as the diamond, with a dotted reference line.
    measure, style, **kwargs
        As :func:`forest_plot` (``xlim``, ``favours``, ``font``, ``title`` ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _sensitivity_forest(loo, result, name="leave_one_out", prefix="Omitting ", measure=measure,
                               style=style, study_header="Study omitted",
                               explain="Each row: the pooled estimate without that study", **kwargs)


def cumulative_plot(cumulative: pd.DataFrame, result=None, *, measure: str | None = None, style="cochrane", **kwargs):
    """Forest-style cumulative meta-analysis: the pooled estimate as studies are added in order.

    Parameters
    ----------
    cumulative : DataFrame
        ``trialsynth.cumulative(...)``: one row per added study (in the order added)
        with ``estimate, ci_low, ci_high`` and optionally ``i2``, ``tau2``.
    result : MetaResult, optional
        The analysis of all studies (the diamond).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _sensitivity_forest(cumulative, result, name="cumulative", prefix="+ ", measure=measure,
                               style=style, study_header="Study added",
                               explain="Each row: the pooled estimate of the studies up to and including that one",
                               **kwargs)


def gosh_plot(
    gosh: pd.DataFrame,
    result=None,
    *,
    measure: str | None = None,
    frame_scale: str = "analysis",
    kind: str = "auto",
    style="cochrane",
    font: str | None = None,
    width: float = 4.8,
    height: float = 3.6,
    title: str | None = None,
):
    """GOSH plot (Olkin, Dahabreh & Trikalinos 2012): pooled estimate vs I² over subsets.

    Parameters
    ----------
    gosh : DataFrame
        ``trialsynth.gosh(...)``: one row per subset with ``estimate`` (analysis
        scale) and ``i2`` (percent).
    result : MetaResult, optional
        The analysis of all studies: its estimate and I² are marked.
    kind : {"auto", "scatter", "hexbin"}
        ``auto`` draws points up to 5000 subsets, hexagonal bins beyond.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(gosh, pd.DataFrame) or not {"estimate", "i2"} <= set(gosh.columns):
        raise ArgumentError("gosh: expected a DataFrame with 'estimate' and 'i2' columns (trialsynth.gosh())")
    if kind not in ("auto", "scatter", "hexbin"):
        raise ArgumentError(f"kind: expected 'auto', 'scatter' or 'hexbin', got {kind!r}")
    style = get_style(style, font=font)
    family = style.font
    if measure is None and result is not None:
        measure = getattr(result, "measure", None)
    to_display = display_transform(measure, frame_scale)
    log_axis = is_ratio_measure(measure)
    x = np.asarray(to_display(gosh["estimate"].to_numpy(dtype=float)), dtype=float)
    y = gosh["i2"].to_numpy(dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if kind == "auto":
        kind = "hexbin" if len(x) > 5000 else "scatter"
    fig = new_figure(width, height)
    ax = fig.add_axes((0.14, 0.16, 0.8, 0.78))
    if log_axis:
        ax.set_xscale("log")
    if kind == "hexbin":
        hb = ax.hexbin(x, y, gridsize=50, cmap="Blues", mincnt=1, bins="log",
                       xscale="log" if log_axis else "linear", linewidths=0)
        hb.set_gid("gosh-hexbin")
    else:
        alpha = 0.6 if len(x) < 500 else max(0.08, 0.6 * math.sqrt(500 / len(x)))
        ax.scatter(x, y, s=6 if len(x) > 200 else 16, color=style.square_color, alpha=alpha, linewidths=0, gid="gosh-points",
                   rasterized=len(x) > 2000)
    if result is not None:
        estimate = to_display(float(result.estimate)) if hasattr(result, "estimate") else None
        i2 = getattr(result, "i2", None)
        if estimate is not None and i2 is not None:
            ax.plot([estimate], [i2], marker="D", color=style.diamond_color, markersize=6, linestyle="none",
                    gid="gosh-all-studies", label="All studies")
            ax.legend(loc="best", frameon=False, prop={"family": family, "size": style.small_size})
    ax.set_xlabel(measure_name(measure), fontsize=style.font_size, fontfamily=family)
    ax.set_ylabel("I\u00b2 (%)", fontsize=style.font_size, fontfamily=family)
    ax.set_ylim(bottom=-2.0, top=max(100.0, float(np.max(y)) if len(y) else 100.0) + 2.0)  # I² = 0 stays visible
    ax.yaxis.set_major_locator(FixedLocator([0, 20, 40, 60, 80, 100]))
    if log_axis:
        ax.xaxis.set_minor_locator(NullLocator())
        lo, hi = ax.get_xlim()
        ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo <= t <= hi]
        if len(ticks) < 2:
            ticks = [float(f"{v:.2g}") for v in np.geomspace(lo, hi, 4)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
    else:
        ax.xaxis.set_major_locator(FixedLocator(round_ticks(*ax.get_xlim())))  # round ticks: 0.05, not 0.025
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_tick(v)))
    ax.tick_params(labelsize=style.small_size)
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontfamily(family)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        add_title(fig, title, family, style.font_size + 1)
    fig.text(0.99, 0.01, f"{len(x)} subsets", fontsize=style.small_size, fontfamily=family, ha="right",
             va="bottom", color="#555555")
    fit_margins(fig)
    return fig
