"""Risk-of-bias figures: a traffic-light grid (study x domain) with a summary bar chart.

Judgements are drawn as given (``low``, ``some_concerns``, ``high``, ``unclear``,
``no_information``), in the robvis manner: coloured circles with a symbol, so the
figure survives greyscale printing. The summary bars count studies per judgement
in each domain (unweighted), as RevMan's and robvis's summary plots do.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from trialsynth.errors import ArgumentError
from trialsynth.plots._figure import fit_margins, line_height, new_figure, text_width
from trialsynth.plots.forest import ROB_SYMBOLS, _judgement
from trialsynth.plots.styles import get_style

__all__ = ["rob_traffic_light"]

JUDGEMENT_ORDER = ("low", "some_concerns", "unclear", "high", "no_information")
JUDGEMENT_NAMES = {
    "low": "Low risk",
    "some_concerns": "Some concerns",
    "unclear": "Unclear risk",
    "high": "High risk",
    "no_information": "No information",
}


def rob_traffic_light(
    rob: pd.DataFrame,
    *,
    domains: Mapping[str, str] | Sequence[str] | None = None,
    label: str = "label",
    summary: bool = True,
    style="cochrane",
    font: str | None = None,
    title: str | None = None,
):
    """Traffic-light plot of risk-of-bias judgements, with a summary bar per domain.

    Parameters
    ----------
    rob : DataFrame
        One row per study: a ``label`` column and one column per domain (and
        usually ``Overall``), holding judgements.
    domains : dict or list, optional
        Columns to draw, in order; a dict maps column -> description (listed in
        the legend, e.g. ``{"D1": "Randomisation process"}``). Default: every
        column except ``label``.
    summary : bool
        Add the summary bar chart (percentage of studies per judgement) below the grid.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(rob, pd.DataFrame) or label not in rob.columns:
        raise ArgumentError(f"rob: expected a DataFrame with a {label!r} column and one column per domain")
    if domains is None:
        domains = [c for c in rob.columns if c != label]
    descriptions = dict(domains) if isinstance(domains, Mapping) else {}
    keys = list(domains)
    missing = [k for k in keys if k not in rob.columns]
    if missing:
        raise ArgumentError(f"domains: column(s) {missing} not in the risk-of-bias frame")
    if not keys:
        raise ArgumentError("domains: no risk-of-bias domains to draw")
    grid = [[_judgement(v) for v in rob[k]] for k in keys]  # validates every judgement
    style = get_style(style, font=font)
    family = style.font
    fs, ss = style.font_size, style.small_size
    row_h = style.row_height * 1.15
    cell_w = max(row_h, max(text_width(str(k), family, ss, "bold") for k in keys) + 0.08)
    labels = [str(v) for v in rob[label]]
    label_w = max([text_width(t, family, fs) for t in labels] + [text_width("Study", family, fs, "bold")]) + 0.15
    present = [j for j in JUDGEMENT_ORDER if any(j in col for col in grid)]
    legend_lines = [f"{k}: {descriptions[k]}" for k in keys if k in descriptions]
    legend_lines.append("   ".join(f"{ROB_SYMBOLS[j]} {JUDGEMENT_NAMES[j]}" for j in present))
    small_h = line_height(family, ss)
    margin = style.margin
    n = len(labels)
    tick_h = line_height(family, ss) + 0.1  # the bar chart's percentage labels
    bar_h = (len(keys) * row_h + 0.25 + tick_h) if summary else 0.0
    title_h = line_height(family, fs + 1) * 1.6 if title else 0.0
    grid_w = label_w + cell_w * len(keys)
    bar_label_w = max(text_width(str(k), family, fs) for k in keys) + 0.15
    width = max(grid_w, bar_label_w + 3.0, max(text_width(t, family, ss) for t in legend_lines) + 0.1) + 2 * margin
    legend_h = len(legend_lines) * small_h * 1.35 + 0.1
    height = margin + title_h + row_h * (n + 1) + 0.1 + bar_h + legend_h + margin
    fig = new_figure(width, height)
    grid_bottom = height - margin - title_h - row_h * (n + 1)
    ax = fig.add_axes((margin / width, grid_bottom / height, grid_w / width, row_h * (n + 1) / height))
    ax.set_xlim(0, grid_w)
    ax.set_ylim(n + 0.5, -1.5)
    ax.axis("off")
    ax.set_gid("rob-grid")
    ax.text(0, -1, "Study", fontsize=fs, fontweight="bold", fontfamily=family, va="center_baseline")
    for j, key in enumerate(keys):
        cx = label_w + cell_w * (j + 0.5)
        ax.text(cx, -1, str(key), fontsize=ss, fontweight="bold", fontfamily=family, ha="center",
                va="center_baseline", gid=f"rob-domain:{key}")
    diameter = row_h * 72 * 0.78
    for i, name in enumerate(labels):
        ax.text(0, i, name, fontsize=fs, fontfamily=family, va="center_baseline", gid=f"rob-study:{i}")
        ax.add_line(Line2D([0, grid_w], [i + 0.5, i + 0.5], color="#dddddd", linewidth=0.4))
        for j, key in enumerate(keys):
            judgement = grid[j][i]
            if judgement is None:
                continue
            cx = label_w + cell_w * (j + 0.5)
            ax.plot([cx], [i], marker="o", markersize=diameter, color=style.rob_colors[judgement],
                    linestyle="none", gid=f"rob-cell:{i}:{key}:{judgement}")
            ax.text(cx, i, ROB_SYMBOLS[judgement], ha="center", va="center", fontsize=ss, fontweight="bold",
                    fontfamily=family, color="black" if judgement in ("some_concerns", "unclear") else "white")
    if title:
        fig.text(margin / width, 1 - margin / height, title, fontsize=fs + 1, fontweight="bold",
                 fontfamily=family, va="top")
    if summary:
        bar_bottom = margin + legend_h + tick_h
        bar_left = margin + bar_label_w
        bar_w = width - bar_left - margin - 0.1
        bx = fig.add_axes((bar_left / width, bar_bottom / height, bar_w / width, len(keys) * row_h / height))
        bx.set_gid("rob-summary")
        bx.set_xlim(0, 100)
        bx.set_ylim(len(keys) - 0.5, -0.5)
        for j, key in enumerate(keys):
            column = [v for v in grid[j] if v is not None]
            left = 0.0
            for judgement in JUDGEMENT_ORDER:
                count = sum(1 for v in column if v == judgement)
                if not count:
                    continue
                share = 100.0 * count / len(column)
                bx.add_patch(Rectangle((left, j - 0.35), share, 0.7, facecolor=style.rob_colors[judgement],
                                       edgecolor="white", linewidth=0.5, gid=f"rob-bar:{key}:{judgement}"))
                left += share
        bx.set_yticks(range(len(keys)))
        bx.set_yticklabels([str(k) for k in keys])
        bx.set_xticks([0, 25, 50, 75, 100])
        bx.set_xticklabels(["0%", "25%", "50%", "75%", "100%"])
        bx.tick_params(labelsize=ss, length=2)
        for t in bx.get_xticklabels() + bx.get_yticklabels():
            t.set_fontfamily(family)
        for side in ("top", "right"):
            bx.spines[side].set_visible(False)
    for i, line in enumerate(legend_lines):
        fig.text(margin, margin + legend_h - 0.05 - (i + 0.8) * small_h * 1.35, line, transform=fig.dpi_scale_trans,
                 fontsize=ss, fontfamily=family, gid=f"rob-legend:{i}")
    fit_margins(fig)
    return fig
