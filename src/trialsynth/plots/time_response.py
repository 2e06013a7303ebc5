"""The pooled effect as a curve over weeks after treatment ended (a time-response model).

Draws a :class:`trialsynth.pooling.longitudinal.TimeResponse`: the pooled curve with its CI band
and prediction band, every trial's estimates with their CIs (a trial's follow-ups joined by a thin
line), the minimal important difference as a dashed line, and where the curve crosses it with the
CI of the crossing. Everything drawn is read from the result; nothing is computed here.
"""

from __future__ import annotations

import math

import numpy as np

from trialsynth.errors import ArgumentError
from trialsynth.plots._figure import fit_margins, new_figure
from trialsynth.plots._format import fmt_p, is_ratio_measure, measure_name
from trialsynth.plots._inputs import display_transform
from trialsynth.plots.styles import get_style
from trialsynth.plots.time import finish_time_axes

__all__ = ["time_response_plot"]

TRIAL_COLORS = ("#1d4fd8", "#d97706", "#059669", "#7c3aed", "#be123c", "#0e7490", "#6b7280", "#a16207")


def time_response_plot(result, *, title: str | None = None, show_prediction: bool = True, show_mid: bool = True,
                       favours=("Favours acupuncture", "Favours control"), xlabel: str = "Weeks after treatment ended",
                       style="cochrane", font: str | None = None, width: float = 6.0, height: float = 3.6):
    """Draw a time-response result (:func:`trialsynth.pooling.longitudinal.time_response`).

    Parameters
    ----------
    result : TimeResponse
        Its ``curve`` (weeks, estimate, ci_low, ci_high, pi_low, pi_high), ``points`` (trial,
        weeks, yi, ci_low, ci_high), ``mid``/``mid_crossing``, ``decay`` and ``measure`` are drawn.
    favours : (str, str)
        Labels of the side below and above the line of no effect (for a ratio the order is
        reversed automatically: above 1 favours acupuncture in the data's orientation).

    Returns
    -------
    matplotlib.figure.Figure
    """
    for attr in ("curve", "points", "measure", "mid_crossing", "decay"):
        if not hasattr(result, attr):
            raise ArgumentError(f"result: expected a TimeResponse (missing {attr!r})")
    style = get_style(style, font=font)
    family = style.font
    measure = result.measure
    log_axis = is_ratio_measure(measure)
    show = display_transform(measure, "analysis")
    null = 1.0 if log_axis else 0.0
    curve, points = result.curve, result.points

    fig = new_figure(width, height)
    ax = fig.add_axes((0.11, 0.2, 0.62, 0.66 if title else 0.72))
    if log_axis:
        ax.set_yscale("log")
    w = curve["weeks"].to_numpy(float)
    if show_prediction and {"pi_low", "pi_high"} <= set(curve.columns):
        ax.fill_between(w, show(curve["pi_low"].to_numpy(float)), show(curve["pi_high"].to_numpy(float)),
                        color="#9ca3af", alpha=0.18, linewidth=0, zorder=1, label="95% prediction band", gid="band:pi")
    ax.fill_between(w, show(curve["ci_low"].to_numpy(float)), show(curve["ci_high"].to_numpy(float)),
                    color="#1f2937", alpha=0.22, linewidth=0, zorder=2, label="95% CI of the pooled curve", gid="band:ci")
    ax.plot(w, show(curve["estimate"].to_numpy(float)), color="black", linewidth=style.line_width * 1.6, zorder=4,
            label="pooled effect (" + ("linear in log(1 + weeks)" if result.form == "log" else "restricted cubic spline")
            + ")", gid="curve")
    trials = list(dict.fromkeys(points["trial"]))
    span = float(np.ptp(w)) or 1.0
    for n, trial in enumerate(trials):
        part = points[points["trial"] == trial].sort_values("weeks")
        color = TRIAL_COLORS[n % len(TRIAL_COLORS)]
        x = part["weeks"].to_numpy(float) + span * 0.004 * (n - (len(trials) - 1) / 2)
        y = show(part["yi"].to_numpy(float))
        ax.vlines(x, show(part["ci_low"].to_numpy(float)), show(part["ci_high"].to_numpy(float)), color=color,
                  linewidth=style.line_width, alpha=0.75, zorder=3, gid=f"point-ci:{trial}")
        ax.plot(x, y, marker="o", markersize=4, color=color, linewidth=style.line_width * 0.7 if len(x) > 1 else 0,
                linestyle="-" if len(x) > 1 else "none", alpha=0.9, zorder=5,
                label=str(trial).split("/")[0] if len(trials) <= 8 else None, gid=f"points:{trial}")
    ax.axhline(null, color="black", linewidth=style.line_width * 0.8, linestyle=style.null_line_style, zorder=0)
    crossing = result.mid_crossing
    if show_mid and np.isfinite(crossing.get("threshold", math.nan)):
        thr = float(show(np.array([crossing["threshold"]]))[0])
        ax.axhline(thr, color="#b45309", linewidth=style.line_width, linestyle=(0, (4, 3)), zorder=0,
                   label="minimal important difference", gid="mid")
        if np.isfinite(crossing.get("weeks", math.nan)):
            ax.axvline(crossing["weeks"], color="#b45309", linewidth=style.line_width * 0.8, linestyle=":",
                       zorder=0, gid="mid-crossing")
            lo = crossing.get("ci_low", math.nan)
            hi = crossing.get("ci_high", math.nan)
            if np.isfinite(lo):
                hi_draw = float(w.max()) if not np.isfinite(hi) else hi
                ax.hlines(thr, lo, hi_draw, color="#b45309", linewidth=4, alpha=0.35, zorder=1, gid="mid-crossing-ci")
    ax.set_xlim(-span * 0.02, float(w.max()) + span * 0.03)
    ax.set_xlabel(xlabel, fontsize=style.font_size, fontfamily=family)
    ax.set_ylabel(f"{measure_name(measure)} (95% CI)", fontsize=style.font_size, fontfamily=family)
    finish_time_axes(ax, style, family, log_axis, levels=((0.1, 0.2, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10),))
    low, high = (favours[1], favours[0]) if log_axis else favours
    ax.annotate(low, xy=(1.01, 0.02), xycoords="axes fraction", fontsize=style.small_size, fontfamily=family,
                va="bottom", ha="left", color="#444444", gid="favours:low")
    ax.annotate(high, xy=(1.01, 0.98), xycoords="axes fraction", fontsize=style.small_size, fontfamily=family,
                va="top", ha="left", color="#444444", gid="favours:high")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False,
              prop={"family": family, "size": style.small_size - 0.5})
    d = result.decay
    stat = "z" if d.get("df", 1) == 1 and result.form == "log" else "chi2"
    caption = (f"Test of change over time ({d['test']}): {stat} = {d['statistic']:.2f}, "
               f"{fmt_p(d['p_value'])}; {crossing.get('text', '')}.")
    fig.text(0.02, 0.02, caption, fontsize=style.small_size - 0.5, fontfamily=family, va="bottom", ha="left",
             color="#333333", gid="caption", wrap=True)
    if title:
        fig.text(0.02, 0.97, title, fontsize=style.font_size + 1, fontweight="bold", fontfamily=family, va="top")
    fit_margins(fig)
    return fig
