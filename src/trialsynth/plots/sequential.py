"""The trial sequential analysis plot: the cumulative z-curve against the monitoring boundaries.

Draws what :func:`trialsynth.diagnostics.sequential.sequential_analysis` computed (nothing is
computed here): the z-curve over the accrued participants, one marker per trial added; the
Lan-DeMets O'Brien-Fleming benefit and harm boundaries at the looks; the conventional
``+-z_{1-alpha/2}`` lines; and the required information size. The figure is titled and footed as
a **sensitivity analysis** (Cochrane Handbook 6.4, section 22.3.2).
"""

from __future__ import annotations

import math
import textwrap

import numpy as np

from trialsynth.errors import ArgumentError
from trialsynth.plots._figure import fit_margins, new_figure
from trialsynth.plots.styles import get_style

__all__ = ["sequential_plot"]

#: boundaries above this |z| are cut at the top of the plot (the early O'Brien-Fleming ones run to 8 and more)
Z_CAP = 8.0
CURVE_COLOR = "#1d4fd8"
BOUNDARY_COLOR = "#b2182b"
CONVENTIONAL_COLOR = "#777777"


def sequential_plot(analysis, *, title: str | None = None, favours: tuple = ("Favours acupuncture", "Favours control"),
                    style="cochrane", font: str | None = None, width: float = 5.6, height: float = 3.6,
                    label_trials: bool = True):
    """The cumulative z-curve of ``analysis`` (a :class:`~trialsynth.diagnostics.sequential.SequentialAnalysis`)
    with its boundaries and the required information size.

    Parameters
    ----------
    analysis : SequentialAnalysis
        The trial sequential analysis to draw (its ``looks``, ``required``, ``alpha``,
        ``conventional``, ``status``, ``convention``).
    title : str, optional
        Shown above the axes; "(sensitivity analysis)" is always part of the heading.
    favours : (str, str)
        Labels of the upper (positive z) and lower side.
    label_trials : bool
        Name the trial added at each look (up to 12 looks).

    Returns
    -------
    matplotlib.figure.Figure
    """
    looks = getattr(analysis, "looks", None)
    if looks is None or not hasattr(analysis, "required"):
        raise ArgumentError(f"analysis: expected a SequentialAnalysis, got {type(analysis).__name__}")
    if len(looks) == 0:
        raise ArgumentError("analysis: it has no looks to draw")
    style = get_style(style, font=font)
    family = style.font
    n = looks["cumulative_participants"].to_numpy(dtype=float)
    z = looks["z"].to_numpy(dtype=float)
    bound = looks["boundary"].to_numpy(dtype=float)
    required = float(analysis.required)
    conventional = float(analysis.conventional)

    fig = new_figure(width, height)
    ax = fig.add_axes((0.12, 0.31, 0.62, 0.56))
    x_max = max(required, float(n.max())) * 1.08
    shown = np.where(np.isfinite(bound) & (bound <= Z_CAP), bound, np.nan)
    ax.plot(n, shown, color=BOUNDARY_COLOR, marker="s", markersize=3.5, linewidth=style.line_width * 1.2,
            label="Monitoring boundary", gid="boundary:benefit")
    ax.plot(n, -shown, color=BOUNDARY_COLOR, marker="s", markersize=3.5, linewidth=style.line_width * 1.2,
            gid="boundary:harm")
    cut = np.isfinite(bound) & (bound > Z_CAP) | ~np.isfinite(bound)
    if cut.any():
        ax.scatter(n[cut], np.full(cut.sum(), Z_CAP), marker="^", color=BOUNDARY_COLOR, s=14, zorder=3,
                   gid="boundary:cut")
        ax.scatter(n[cut], np.full(cut.sum(), -Z_CAP), marker="v", color=BOUNDARY_COLOR, s=14, zorder=3)
    for sign in (1, -1):
        ax.axhline(sign * conventional, color=CONVENTIONAL_COLOR, linestyle="--", linewidth=style.line_width * 0.8,
                   zorder=0, label=f"Conventional |z| = {conventional:.2f}" if sign > 0 else None,
                   gid=f"conventional:{sign}")
    ax.axhline(0, color="black", linewidth=style.line_width * 0.6, zorder=0)
    ax.plot(n, z, color=CURVE_COLOR, marker="o", markersize=4.5, linewidth=style.line_width * 1.5, zorder=4,
            label="Cumulative z-curve", gid="zcurve")
    ax.axvline(required, color="black", linewidth=style.line_width, linestyle=":", zorder=1, gid="ris")
    y_top = Z_CAP if cut.any() else min(Z_CAP, max(float(np.nanmax(np.abs(z))) + 1.0, conventional + 1.5,
                                                   float(np.nanmax(np.abs(shown))) if np.isfinite(shown).any() else 0.0))
    y_top += 0.4
    ax.set_ylim(-y_top, y_top)
    ax.set_xlim(0, x_max)
    right = required > 0.75 * x_max  # near the right edge: the label goes left of the line
    ax.annotate(f"RIS {required:,.0f}", xy=(required, y_top), xytext=(-3 if right else 3, -3), textcoords="offset points",
                ha="right" if right else "left", va="top", fontsize=style.small_size, fontfamily=family, gid="ris:label")
    if label_trials and n.size <= 12:
        last = -math.inf
        for xi, zi, name in zip(n, z, looks["added"]):
            if xi - last < 0.1 * x_max:  # too close to the previous label: left unnamed (the table names every look)
                continue
            last = xi
            edge = "left" if xi < 0.08 * x_max else ("right" if xi > 0.92 * x_max else "center")
            ax.annotate(str(name), xy=(xi, zi), xytext=(0, 6 if zi >= 0 else -6), textcoords="offset points",
                        ha=edge, va="bottom" if zi >= 0 else "top", fontsize=style.small_size - 1.5,
                        fontfamily=family, color=CURVE_COLOR, gid=f"trial:{name}")
    ax.set_xlabel("Cumulative number of participants", fontsize=style.font_size, fontfamily=family)
    ax.set_ylabel("Cumulative z", fontsize=style.font_size, fontfamily=family)
    ax.tick_params(labelsize=style.small_size)
    for t in ax.get_xticklabels() + ax.get_yticklabels():
        t.set_fontfamily(family)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.annotate(favours[0], xy=(1.01, 0.98), xycoords="axes fraction", fontsize=style.small_size, fontfamily=family,
                va="top", ha="left", color="#444444", gid="favours:high")
    ax.annotate(favours[1], xy=(1.01, 0.02), xycoords="axes fraction", fontsize=style.small_size, fontfamily=family,
                va="bottom", ha="left", color="#444444", gid="favours:low")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, prop={"family": family,
              "size": style.small_size})
    heading = "Trial sequential analysis (sensitivity analysis)" + (f": {title}" if title else "")
    fig.text(0.02, 0.97, heading, fontsize=style.font_size + 1, fontweight="bold", fontfamily=family, va="top",
             gid="title")
    status = (f"{str(analysis.status).capitalize()}: {analysis.accrued:,.0f} participants; required information size "
              f"{required:,.0f}.")
    if cut.any():
        status += f" \u25b2\u25bc: a boundary beyond |z| = {Z_CAP:g} (early looks spend almost no alpha)."
    foot = textwrap.fill(f"{status} {analysis.convention} Cochrane Handbook 22.3.2: not for the main conclusions.",
                         width=int(width * 19))
    fig.text(0.02, 0.02, foot, fontsize=style.small_size - 0.5, fontfamily=family, va="bottom", color="#333333",
             gid="footnote")
    fit_margins(fig)
    return fig
