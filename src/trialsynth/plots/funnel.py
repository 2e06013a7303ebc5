"""Contour-enhanced funnel plot (Peters et al. 2008) with trim-and-fill's imputed studies.

Effect (x) against standard error (y, zero at the top). Shaded bands mark where a
single study's two-sided Wald test against the null would reach p < 0.10, 0.05 and
0.01 (the lines ``null +/- z_(1-a/2) * SE``: reference geometry, as in Peters JL,
Sutton AJ, Jones DR, Abrams KR, Rushton L. J Clin Epidemiol 2008;61:991-6). A
dashed pseudo-confidence funnel is drawn around the pooled estimate. Studies that
trim-and-fill imputed are open circles, its adjusted estimate a dashed line.
The estimates and the filled data come from the engine; nothing is estimated here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from scipy.stats import norm

from trialsynth.errors import ArgumentError
from trialsynth.plots._figure import add_title, fit_margins, new_figure
from trialsynth.plots._format import fmt_tick, is_ratio_measure, measure_name, round_ticks
from trialsynth.plots._inputs import _get, display_transform, is_result
from trialsynth.plots.styles import get_style

__all__ = ["funnel_plot"]

CONTOUR_SHADES = ("#ffffff", "#e6e6e6", "#c8c8c8", "#a6a6a6")


def _is_coordinates(data) -> bool:
    """Is ``data`` a FunnelCoordinates (from trialsynth.funnel_coordinates)?"""
    return all(hasattr(data, name) for name in ("studies", "center", "pseudo_ci", "contours"))


def _yi_vi(data):
    if is_result(data) or (hasattr(data, "yi") and hasattr(data, "vi")):
        return np.asarray(data.yi, dtype=float), np.asarray(data.vi, dtype=float)
    if isinstance(data, pd.DataFrame):
        if {"yi", "vi"} <= set(data.columns):
            return data["yi"].to_numpy(dtype=float), data["vi"].to_numpy(dtype=float)
        if {"estimate", "se"} <= set(data.columns):
            return data["estimate"].to_numpy(dtype=float), data["se"].to_numpy(dtype=float) ** 2
    raise ArgumentError("data: expected a MetaResult or a DataFrame with yi and vi (or estimate and se)")


def funnel_plot(
    data,
    *,
    estimate: float | None = None,
    trimfill=None,
    measure: str | None = None,
    contours: Sequence[float] = (0.10, 0.05, 0.01),
    null_value: float | None = None,
    pseudo_ci: bool = True,
    style="cochrane",
    font: str | None = None,
    width: float = 4.6,
    height: float = 3.8,
    title: str | None = None,
):
    """Contour-enhanced funnel plot.

    Parameters
    ----------
    data : FunnelCoordinates, MetaResult or DataFrame
        Preferably ``trialsynth.funnel_coordinates(result)`` (centred on the pooled estimate,
        with ``trimfill`` for the imputed studies and the adjusted estimate) or
        ``trialsynth.funnel_coordinates(trimfill)`` (centred on the adjusted estimate): everything
        is then drawn as the engine computed it (studies with their ``filled``
        flags, pseudo-confidence region, significance contours). A result (its
        ``yi``, ``vi``, ``estimate``, ``measure``) or a frame with ``yi, vi`` (or
        ``estimate, se``) is drawn with reference contour lines ``null +/- z * SE``.
    estimate : float, optional
        The pooled estimate (analysis scale) when ``data`` is a frame.
    trimfill : result or DataFrame, optional
        ``trialsynth.trim_and_fill(...)``: the augmented data ``yi, vi`` with a
        boolean ``fill`` (or ``imputed``) marking imputed studies, and its
        adjusted ``estimate``.
    contours : sequence of float
        Significance levels whose regions are shaded (at most three).

    Returns
    -------
    matplotlib.figure.Figure
    """
    coords = data if _is_coordinates(data) else None
    if coords is not None:
        studies = coords.studies
        filled_flag = studies["filled"].to_numpy(dtype=bool) if "filled" in studies else np.zeros(len(studies), bool)
        all_yi = studies["yi"].to_numpy(dtype=float)
        all_se = studies["sei"].to_numpy(dtype=float)
        yi, se = all_yi[~filled_flag], all_se[~filled_flag]
        filled = (all_yi[filled_flag], all_se[filled_flag]) if filled_flag.any() else None
        if estimate is None:
            estimate = float(coords.center)
        contour_table = coords.contours
        # confidence levels (0.90, 0.95, 0.99) -> significance levels (0.10, 0.05, 0.01)
        contours = sorted({round(1 - float(v), 10) for v in contour_table["level"]}, reverse=True)
        null_t = float(getattr(coords, "refline", 0.0))
        pseudo = coords.pseudo_ci
    else:
        yi, vi = _yi_vi(data)
        if np.any(vi[np.isfinite(vi)] <= 0):
            raise ArgumentError("data: sampling variances must be positive to draw a funnel")
        se = np.sqrt(vi)
        if estimate is None and is_result(data):
            estimate = float(data.estimate)
        contours = sorted({float(c) for c in contours}, reverse=True)
        contour_table = None
        pseudo = None
        null_t = None
        filled = None
    if measure is None:
        measure = getattr(data, "measure", None)
    if len(contours) > 3 or any(not 0 < c < 1 for c in contours):
        raise ArgumentError("contours: expected up to three significance levels between 0 and 1")
    style = get_style(style, font=font)
    family = style.font
    to_display = display_transform(measure)
    log_axis = is_ratio_measure(measure)
    if null_t is None:
        null_t = 0.0 if null_value is None else (np.log(null_value) if log_axis else float(null_value))

    adjusted = None
    if trimfill is not None:
        fill = _get(trimfill, "fill", "imputed", "filled")
        t_yi, t_vi = _yi_vi(trimfill)
        if fill is None:
            raise ArgumentError("trimfill: expected a 'fill' (or 'imputed') flag per study")
        fill = np.asarray(fill, dtype=bool)
        if filled is None:  # coordinates of the filled analysis already carry the imputed studies
            filled = (t_yi[fill], np.sqrt(t_vi[fill]))
        adjusted = _get(trimfill, "estimate", "b")
        if isinstance(trimfill, pd.DataFrame):
            adjusted = None  # a frame carries studies, not the adjusted estimate
    all_se = np.concatenate([se, filled[1]]) if filled is not None else se
    se_max = float(np.nanmax(all_se)) * 1.08
    all_y = np.concatenate([yi, filled[0]]) if filled is not None else yi
    if contour_table is not None:
        widest = float(np.nanmax(np.abs(contour_table[["low", "high"]].to_numpy(dtype=float) - null_t)))
        widest *= se_max / float(contour_table["sei"].max())
    else:
        widest = (norm.ppf(1 - min(contours) / 2) if contours else 1.96) * se_max
    half = max(float(np.nanmax(np.abs(all_y - null_t))) * 1.08, widest * 1.02)
    x_lo_t, x_hi_t = null_t - half, null_t + half

    fig = new_figure(width, height)
    ax = fig.add_axes((0.14, 0.15, 0.62, 0.8))
    if log_axis:
        ax.set_xscale("log")
    ax.set_xlim(to_display(x_lo_t), to_display(x_hi_t))
    ax.set_ylim(se_max, 0)
    handles = []
    # shaded significance regions: darkest outside, lighter wedges inside
    ax.add_patch(Polygon([(to_display(x_lo_t), 0), (to_display(x_hi_t), 0), (to_display(x_hi_t), se_max),
                          (to_display(x_lo_t), se_max)], closed=True, facecolor=CONTOUR_SHADES[len(contours)],
                         edgecolor="none", zorder=0, gid="contour:outer"))
    for i, level in enumerate(sorted(contours)):
        shade = CONTOUR_SHADES[len(contours) - 1 - i]
        if contour_table is not None:
            part = contour_table[np.isclose(1 - contour_table["level"].to_numpy(dtype=float), level)]
            part = part.sort_values("sei")
            sei = part["sei"].to_numpy(dtype=float)
            low = part["low"].to_numpy(dtype=float)
            high = part["high"].to_numpy(dtype=float)
            # extend the straight contour lines to the bottom of the axis
            scale = se_max / sei[-1]
            low = np.append(low, null_t + (low[-1] - null_t) * scale)
            high = np.append(high, null_t + (high[-1] - null_t) * scale)
            sei = np.append(sei, se_max)
            wedge = list(zip(to_display(high), sei)) + list(zip(to_display(low[::-1]), sei[::-1]))
        else:
            z = norm.ppf(1 - level / 2)
            wedge = [(to_display(null_t), 0), (to_display(null_t + z * se_max), se_max),
                     (to_display(null_t - z * se_max), se_max)]
        ax.add_patch(Polygon(wedge, closed=True, facecolor=shade, edgecolor="none", zorder=0,
                             gid=f"contour:{level:g}"))
    edges = [1.0] + contours + [0.0]
    for i in range(len(edges) - 1):
        hi_p, lo_p = edges[i], edges[i + 1]
        if lo_p == 0:
            text = f"p < {hi_p:g}"
        elif hi_p == 1:
            text = f"p \u2265 {lo_p:g}"
        else:
            text = f"{lo_p:g} \u2264 p < {hi_p:g}"
        handles.append(Patch(facecolor=CONTOUR_SHADES[i], edgecolor="#999999", linewidth=0.4, label=text))
    if estimate is not None:
        ax.plot([to_display(estimate)] * 2, [0, se_max], color="black", linewidth=style.line_width, zorder=2,
                gid="funnel:estimate")
        handles.append(Line2D([], [], color="black", linewidth=style.line_width, label="Pooled estimate"))
        if pseudo_ci and pseudo is not None:
            for column in ("ci_low", "ci_high"):
                ax.plot(to_display(pseudo[column].to_numpy(dtype=float)), pseudo["sei"].to_numpy(dtype=float),
                        color="black", linestyle="--", linewidth=style.line_width * 0.7, zorder=2,
                        gid="funnel:pseudo-ci")
        elif pseudo_ci:
            grid = np.linspace(0, se_max, 2)
            for sign in (-1, 1):
                ax.plot(to_display(estimate + sign * 1.959963984540054 * grid), grid, color="black",
                        linestyle="--", linewidth=style.line_width * 0.7, zorder=2, gid="funnel:pseudo-ci")
    ax.plot(to_display(yi), se, marker="o", linestyle="none", markersize=4.5, markerfacecolor=style.square_color,
            markeredgecolor=style.square_edge, zorder=4, gid="funnel:studies")
    handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor=style.square_color,
                          markeredgecolor=style.square_edge, label=f"Studies (k = {len(yi)})"))
    if filled is not None and len(filled[0]):
        ax.plot(to_display(filled[0]), filled[1], marker="o", linestyle="none", markersize=4.5,
                markerfacecolor="white", markeredgecolor=style.square_edge, zorder=4, gid="funnel:imputed")
        handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor="white",
                              markeredgecolor=style.square_edge, label=f"Imputed (k = {len(filled[0])})"))
    if adjusted is not None:
        ax.plot([to_display(float(adjusted))] * 2, [0, se_max], color=style.pi_color, linestyle="--",
                linewidth=style.line_width, zorder=3, gid="funnel:adjusted")
        handles.append(Line2D([], [], color=style.pi_color, linestyle="--", label="Trim-and-fill estimate"))
    ax.set_xlabel(measure_name(measure), fontsize=style.font_size, fontfamily=family)
    ax.set_ylabel("Standard error", fontsize=style.font_size, fontfamily=family)
    if log_axis:
        ax.xaxis.set_minor_locator(NullLocator())
        lo, hi = ax.get_xlim()
        ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo <= t <= hi]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
    else:
        ax.xaxis.set_major_locator(FixedLocator(round_ticks(*ax.get_xlim())))  # round ticks: 0.5, not 0.25
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_tick(v)))
    ax.tick_params(labelsize=style.small_size)
    for t in ax.get_xticklabels() + ax.get_yticklabels():
        t.set_fontfamily(family)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
              prop={"family": family, "size": style.small_size})
    if title:
        add_title(fig, title, family, style.font_size + 1)
    fit_margins(fig)
    return fig
