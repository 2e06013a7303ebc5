"""The "mixed results" picture: one outcome's pooled effects on a comparison x time-window grid.

Each cell shows the class of the pooled effect (important benefit, small benefit, no clear
difference, favours control, no data) as its colour and first line, then the effect with its CI
as a reader reads it and the number of trials. A cell whose class changes between the shipped
method profiles (``conclusion_depends_on_method``) carries a dagger and a dashed border; one whose
class changes in a sensitivity analysis (``conclusion_depends_on_sensitivity``) a double dagger.
Each comparison is a row: acupuncture *added to* usual care and acupuncture *instead of* usual
care are different questions, so they are different rows. Read down a column to compare
comparisons, across a row to see whether an effect lasts.

The figure draws what :func:`trialsynth.claims.evidence_grid` computed; it computes nothing.
"""

from __future__ import annotations

import pandas as pd

from trialsynth.errors import ArgumentError
from trialsynth.plots._figure import new_figure

#: cell colours by class (colour-blind-safe ramp; the class is also written in each cell)
CLASS_COLOURS = {
    "important benefit": "#1b7837",
    "small benefit": "#a6dba0",
    "benefit (size unknown)": "#c2e6c4",
    "no clear difference": "#e0e0e0",
    "favours control": "#f4a582",
    "no data": "#ffffff",
}
_DARK = {"important benefit"}

WINDOW_LABELS = {
    "immediate": "Immediately after\n(0-1 week)",
    "short": "Short term\n(1-13 weeks)",
    "intermediate": "Intermediate\n(13-52 weeks)",
    "long": "Long term\n(52+ weeks)",
}
COMPARATOR_LABELS = {
    "sham": "vs sham",
    "no_treatment": "vs no treatment /\nwaiting list",
    "usual_care": "vs usual care",
    "active": "vs active treatment",
}


def evidence_grid_plot(grid: pd.DataFrame, *, title: str | None = None, caption: str | None = None,
                       windows=("immediate", "short", "intermediate", "long"), font_size: float = 9.0):
    """Draw the grid of :func:`trialsynth.claims.evidence_grid` (one row per comparator x window
    with ``effect_class``, ``effect_text``, ``k`` and ``conclusion_depends_on_method``).

    Parameters
    ----------
    grid : DataFrame
        The cells, long form.
    title : str, optional
        Drawn above the grid (say the outcome and the population).
    caption : str, optional
        One line under the grid (say the model and the method profile).
    windows : sequence of str
        The column order.

    Returns
    -------
    matplotlib.figure.Figure
    """
    need = {"comparator_class", "window", "effect_class", "effect_text", "k"}
    if not isinstance(grid, pd.DataFrame) or not need <= set(grid.columns):
        raise ArgumentError(f"grid: expected a DataFrame with columns {', '.join(sorted(need))} (trialsynth.claims.evidence_grid)")
    from trialsynth.data.cells import as_add_on, comparison_label

    add = grid["add_on"].map(as_add_on) if "add_on" in grid.columns else pd.Series(False, index=grid.index)
    comps = list(dict.fromkeys(zip(grid["comparator_class"].astype(str), add)))
    if not comps:
        raise ArgumentError("grid: no comparator to draw")
    import textwrap

    cell_w, cell_h, label_w, head_h = 1.75, 0.78, 1.75, 0.5
    width = label_w + cell_w * len(windows) + 0.2
    # wrap the title and caption to the figure's width (about 0.085 in per character at these sizes)
    title_lines = textwrap.wrap(title, int(width / (0.0125 * (font_size + 1.5)))) if title else []
    caption_lines = textwrap.wrap(caption, int(width / (0.0105 * (font_size - 1.5)))) if caption else []
    title = "\n".join(title_lines) or None
    caption = "\n".join(caption_lines) or None
    title_h = 0.12 + 0.24 * len(title_lines) if title_lines else 0.0
    legend_h = 0.55 + 0.2 * int("conclusion_depends_on_sensitivity" in grid.columns
                                and grid["conclusion_depends_on_sensitivity"].fillna(False).astype(bool).any())
    caption_h = 0.08 + 0.17 * len(caption_lines) if caption_lines else 0.0
    height = title_h + head_h + cell_h * len(comps) + legend_h + caption_h + 0.15
    fig = new_figure(width, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    y0 = title_h + head_h
    if title:
        ax.text(0.1, 0.08, title, fontsize=font_size + 1.5, weight="bold", va="top", ha="left", linespacing=1.25)
    for j, w in enumerate(windows):
        ax.text(label_w + cell_w * (j + 0.5), title_h + head_h * 0.5, WINDOW_LABELS.get(w, w), fontsize=font_size - 0.5,
                ha="center", va="center", weight="bold")
    daggers = sensitive_any = False
    by_cell = {(str(r["comparator_class"]), a, str(r["window"])): r for r, a in zip(grid.to_dict("records"), add)}
    for i, comp in enumerate(comps):
        top = y0 + cell_h * i
        name = (COMPARATOR_LABELS.get(comp[0], comp[0].replace("_", " ")) if not comp[1]
                else "\n".join(textwrap.wrap(comparison_label(*comp, short=True), 18)))
        ax.text(label_w - 0.1, top + cell_h / 2, name, fontsize=font_size, ha="right", va="center", weight="bold")
        for j, w in enumerate(windows):
            rec = by_cell.get((comp[0], comp[1], w), {"effect_class": "no data", "effect_text": "", "k": 0})
            cls = str(rec.get("effect_class") or "no data")
            left = label_w + cell_w * j
            depends = bool(rec.get("conclusion_depends_on_method"))
            ax.add_patch(_rect(left + 0.03, top + 0.03, cell_w - 0.06, cell_h - 0.06, CLASS_COLOURS.get(cls, "#ffffff"),
                               hatch=depends))
            colour = "white" if cls in _DARK else "black"
            sensitive = bool(rec.get("conclusion_depends_on_sensitivity"))
            label = cls + (" \u2020" if depends else "") + (" \u2021" if sensitive else "")
            daggers = daggers or depends
            sensitive_any = sensitive_any or sensitive
            cx = left + cell_w / 2
            if cls == "no data":
                ax.text(cx, top + cell_h / 2, "no data", fontsize=font_size - 0.5, ha="center", va="center", color="#777777",
                        style="italic")
                continue
            ax.text(cx, top + cell_h * 0.27, label, fontsize=font_size - 0.5, ha="center", va="center", color=colour, weight="bold")
            ax.text(cx, top + cell_h * 0.53, str(rec.get("effect_text") or ""), fontsize=font_size - 1.5, ha="center",
                    va="center", color=colour)
            k = int(rec.get("k") or 0)
            ax.text(cx, top + cell_h * 0.78, f"k = {k}" + (" (one trial, not pooled)" if k == 1 else ""),
                    fontsize=font_size - 1.5, ha="center", va="center", color=colour)
    # legend
    ly = y0 + cell_h * len(comps) + 0.2
    x = 0.1
    for cls in ("important benefit", "small benefit", "no clear difference", "favours control", "no data"):
        ax.add_patch(_rect(x, ly - 0.09, 0.18, 0.18, CLASS_COLOURS[cls]))
        ax.text(x + 0.24, ly, cls, fontsize=font_size - 1.5, va="center", ha="left")
        x += 0.34 + 0.065 * len(cls)
    notes = []
    if daggers:
        notes.append("\u2020 the class changes under another method profile (e.g. HKSJ's never-narrower variant, "
                     "or Bayesian pooling): not robust")
    if sensitive_any:
        notes.append("\u2021 the class changes in a sensitivity analysis (notebook 04)")
    for n, text in enumerate(notes):
        ax.text(0.1, ly + 0.28 + 0.2 * n, text, fontsize=font_size - 1.5, va="center", ha="left")
    if caption:
        ax.text(0.1, height - caption_h - 0.05, caption, fontsize=font_size - 1.5, va="top", ha="left", color="#333333",
                linespacing=1.3)
    return fig


def _rect(x, y, w, h, colour, hatch: bool = False):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="#333333" if hatch else "#999999",
                     linewidth=1.4 if hatch else 0.6, linestyle="--" if hatch else "-")


__all__ = ["CLASS_COLOURS", "evidence_grid_plot"]
