"""Paired forest panels: the same studies short-term and long-term, side by side, on one scale.

Each study has one row across both panels (blank where it has no result at that
time), so the eye follows a trial from the short-term panel to the long-term one;
both panels share the x limits and ticks, so their diamonds are directly
comparable. Each panel has its own pooled diamond, prediction interval,
heterogeneity and overall test, read from its result.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from trialsynth.errors import ArgumentError
from trialsynth.plots._captions import ONE_STUDY, caption_lines, is_single, marks
from trialsynth.plots._figure import fit_margins, line_height, new_figure, text_width, wrap_statements, wrap_text, wrap_title
from trialsynth.plots._format import fmt_ci, fmt_interval, fmt_percent, fmt_tick, is_ratio_measure, measure_name
from trialsynth.plots._inputs import display_transform, measure_of, normalise_sections
from trialsynth.plots.forest import (
    Row,
    _axis,
    _draw_diamond,
    _draw_pi,
    _draw_study,
    _fit_ticks,
    _float,
    _heterogeneity_text,
    _overall_test_text,
    _draw_favours,
    _square_sizes,
)
from trialsynth.plots.favours import DEFAULT_ARMS, UNKNOWN_DIRECTION_NOTE, check_direction, favourable_direction_of, favours_labels
from trialsynth.plots.styles import get_style

__all__ = ["short_long_panel"]


def _section(item, name):
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], pd.DataFrame):
        sections = normalise_sections(item[0], item[1])
    else:
        sections = normalise_sections(item)
    if len(sections) != 1:
        raise ArgumentError(f"{name}: expected one pooled result (or (frame, pooled)), not subgroups")
    return sections[0]


def short_long_panel(
    short,
    long,
    *,
    headings: Sequence[str] = ("Short-term", "Long-term"),
    measure: str | None = None,
    frame_scale: str = "analysis",
    style="cochrane",
    font: str | None = None,
    favours: Sequence[str] | None = None,
    favourable_direction: str | None = None,
    arm_labels: Sequence[str] = DEFAULT_ARMS,
    xlim: Sequence[float] | None = None,
    symmetric: bool = True,
    digits: int = 2,
    show_prediction: bool = True,
    footnote: str | bool | None = None,
    title: str | None = None,
    plot_width: float | None = None,
    joint=None,
    joint_label: str = "Joint model",
    joint_note: str | None = None,
):
    """Short-term and long-term forest panels side by side on a shared axis.

    Parameters
    ----------
    short, long : MetaResult or (DataFrame, pooled)
        The two analyses (e.g. ``pool_groups(...).results[("pain", "sham", "short")]``).
        Studies are matched by label.
    headings : (str, str)
        Titles of the two panels.
    joint : (estimate, ci_low, ci_high) or mapping with those keys, one per panel (None to leave a
        panel without), optional
        The joint model's estimate of each panel's window on the analysis scale (the window cells
        of :func:`trialsynth.pooling.longitudinal.window_model`, every follow-up in one model),
        drawn below the separate pool as an open diamond in a row named ``joint_label``;
        ``joint_note`` (what the joint model assumed) is added to the footnote.
    Other parameters are as :func:`trialsynth.plots.forest_plot` (the favours labels come from
    the results' ``favourable_direction`` unless ``favours`` is given; a panel of one study
    shows that study marked ``‡``, without a pooled row).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if len(headings) != 2:
        raise ArgumentError("headings: expected two panel titles")
    sections = [_section(short, "short"), _section(long, "long")]
    style = get_style(style, font=font)
    family = style.font
    measure = measure_of(sections, measure)
    to_display = display_transform(measure, frame_scale)
    log_axis = is_ratio_measure(measure)
    null = 1.0 if log_axis else 0.0
    if favours is None:
        direction = check_direction(favourable_direction) or favourable_direction_of([s.pooled for s in sections])
        favours = favours_labels(direction, arm_labels, spelling="Favors" if style.name == "jama" else "Favours")
    elif len(favours) != 2:
        raise ArgumentError("favours: expected two labels (left, right)")
    level = next((s.pooled.level for s in sections if s.pooled and s.pooled.level), None) or 95.0

    # one row per study across both panels, in order of first appearance
    labels = list(dict.fromkeys([*sections[0].studies["label"].astype(str), *sections[1].studies["label"].astype(str)]))
    panels = []  # per panel: dict y -> Row, plus pooled rows
    for section in sections:
        by_label = {str(r["label"]): r for _, r in section.studies.iterrows()}
        rows = {}
        for y, label in enumerate(labels):
            study = by_label.get(label)
            if study is None:
                continue
            est, lo, hi = (_float(study.get(c)) for c in ("estimate", "ci_low", "ci_high"))
            weight = _float(study.get("weight"))
            cells = {
                "effect": "Not estimable" if est is None else fmt_ci(to_display(est), to_display(lo), to_display(hi),
                                                                     digits, style.ci_format, to_display.ratio),
                "weight": "" if weight is None else (fmt_percent(weight) if style.weight_percent_sign
                                                     else f"{weight:.1f}"),
            }
            rows[y] = Row("study", cells, estimate=None if est is None else float(to_display(est)),
                          low=None if lo is None else float(to_display(lo)),
                          high=None if hi is None else float(to_display(hi)), weight=weight, label=label)
        n = len(labels)
        pooled = section.pooled
        if is_single(pooled):  # one study: its own effect, no pooled row
            for row in rows.values():
                row.cells["effect"] += f" {ONE_STUDY}"
                row.core = True
        elif pooled is not None:
            mark = marks(pooled)
            rows[n] = Row("pooled", {"effect": fmt_ci(to_display(pooled.estimate), to_display(pooled.ci_low),
                                                      to_display(pooled.ci_high), digits, style.ci_format,
                                                      to_display.ratio) + mark},
                          estimate=float(to_display(pooled.estimate)), low=float(to_display(pooled.ci_low)),
                          high=float(to_display(pooled.ci_high)), bold=True, label=f"pooled:{len(panels)}")
            if show_prediction and pooled.pi_low is not None and pooled.pi_high is not None:
                plo, phi = float(to_display(pooled.pi_low)), float(to_display(pooled.pi_high))
                rows[n + 1] = Row("pi", {"effect": fmt_interval(plo, phi, digits, style.ci_format, to_display.ratio)}, low=plo,
                                  high=phi, italic=True)
        panels.append(rows)
    has_pi = any((len(labels) + 1) in rows for rows in panels)
    n_rows = len(labels) + 1 + (1 if has_pi else 0)
    joint_rows = _joint_rows(joint, len(panels))
    if any(j is not None for j in joint_rows):
        for rows, j in zip(panels, joint_rows):
            if j is None:
                continue
            est, lo, hi = (float(to_display(v)) for v in j)
            rows[n_rows] = Row("joint", {"effect": fmt_ci(est, lo, hi, digits, style.ci_format, to_display.ratio)},
                               estimate=est, low=lo, high=hi, label=f"joint:{len(rows)}")
        n_rows += 1

    all_rows = [r for rows in panels for r in rows.values()]
    limits, tick_levels = _axis(all_rows, log_axis, null, xlim, None, symmetric)

    fs, ss = style.font_size, style.small_size
    gap = style.column_gap
    row_h = style.row_height
    margin = style.margin
    pw = plot_width or max(style.plot_width * 0.85, 2 * max((text_width(t, family, ss) for t in favours or ()),
                                                            default=0.0) + 0.45)
    ci_header = f"{measure.upper() if measure else 'Effect'} ({level:g}% CI)" if not style.revman_headers else \
        f"{measure.upper() if measure else 'Effect'} [{level:g}% CI]"
    label_w = max([text_width(t, family, fs) for t in labels]
                  + [text_width("Prediction interval", family, fs, "normal", "italic"),
                     text_width(f"Pooled ({level:g}% CI)", family, fs, "bold"),
                     text_width(style.study_header, family, fs, "bold")])
    eff_w = max([text_width(r.cells.get("effect", ""), family, fs, "bold" if r.bold else "normal")
                 for r in all_rows] + [text_width(ci_header, family, fs, "bold")])
    wt_w = max([text_width(r.cells.get("weight", ""), family, fs) for r in all_rows]
               + [text_width(style.weight_header, family, fs, "bold")])
    block_w = pw + gap * 1.5 + eff_w + gap + wt_w
    panel_x = []
    x = margin + label_w + gap * 2
    for _ in panels:
        panel_x.append(x)
        x += block_w + gap * 3
    width = x - gap * 3 + margin

    notes = []
    for section in sections:
        lines = []
        if section.pooled is not None and not is_single(section.pooled):
            for text in (_heterogeneity_text(section.pooled, style), _overall_test_text(section.pooled, style)):
                if text:
                    lines += wrap_statements(text, block_w, family, ss)
        notes.append(lines)
    if footnote is None:
        named = [type(s)(heading, s.studies, s.pooled) for heading, s in zip(headings, sections)]
        footnote = "\n".join(caption_lines(named) + ([] if favours is not None else [UNKNOWN_DIRECTION_NOTE])
                             + ([joint_note] if joint_note and any(j is not None for j in joint_rows) else []))
    small_h = line_height(family, ss)
    foot_lines = wrap_text(footnote, width - 2 * margin, family, ss) if footnote else []
    tick_h = 4.5 / 72 + small_h
    fav_h = small_h * 1.6
    notes_h = max(len(n) for n in notes) * small_h * 1.3 + (0.05 if any(notes) else 0.0)
    foot_h = (small_h * 0.6 + len(foot_lines) * small_h * 1.25) if foot_lines else 0.0
    title_lines = wrap_title(title, width - 2 * margin, family, fs + 1.5) if title else []
    title_h = line_height(family, fs + 1.5) * (1.3 * len(title_lines) + 0.3) if title else 0.0
    bottom = margin + foot_h + notes_h + fav_h + tick_h
    height = bottom + n_rows * row_h + 2 * row_h + title_h + margin

    fig = new_figure(width, height)
    axes = []
    for px in panel_x:
        ax = fig.add_axes((px / width, bottom / height, pw / width, n_rows * row_h / height))
        ax.set_ylim(n_rows - 0.5, -0.5)
        if log_axis:
            ax.set_xscale("log")
        ax.set_xlim(*limits)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_linewidth(style.line_width)
        ax.set_yticks([])
        ax.patch.set_visible(False)
        ax.xaxis.set_major_locator(FixedLocator(_fit_ticks(tick_levels, limits, log_axis, pw, family, ss)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_tick(v)))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _p: ""))
        ax.tick_params(axis="x", labelsize=ss, width=style.line_width, length=3, pad=1.5)
        for t in ax.get_xticklabels():
            t.set_fontfamily(family)
        axes.append(ax)
    tf = blended_transform_factory(fig.dpi_scale_trans, axes[0].transData)

    def put(x_in, y, text, *, size=fs, weight="normal", slant="normal", ha="left", gid=None):
        return fig.text(x_in, y, text, transform=tf, fontsize=size, fontweight=weight, fontstyle=slant,
                        fontfamily=family, ha=ha, va="center_baseline", gid=gid)

    put(margin, -1, style.study_header, weight="bold", gid="header:label")
    for y, label in enumerate(labels):
        put(margin, y, label, gid=f"label:{y}")
    if any(len(labels) in rows for rows in panels):
        put(margin, len(labels), f"Pooled ({level:g}% CI)", weight="bold", gid="label:pooled")
    if has_pi:
        put(margin, len(labels) + 1, "Prediction interval", slant="italic", gid="label:pi")
    if any(j is not None for j in joint_rows):
        put(margin, n_rows - 1, f"{joint_label} ({level:g}% CI)", gid="label:joint")
    for index, (ax, rows, px) in enumerate(zip(axes, panels, panel_x)):
        eff_x = px + pw + gap * 1.5 + eff_w
        wt_x = eff_x + gap + wt_w
        put(px + block_w / 2, -2, headings[index], weight="bold", ha="center", gid=f"heading:{index}")
        put(px + pw / 2, -1, measure_name(measure), weight="bold", ha="center")
        put(eff_x, -1, ci_header, weight="bold", ha="right")
        put(wt_x, -1, style.weight_header, weight="bold", ha="right")
        sizes = _square_sizes([rows.get(y, Row("blank")) for y in range(n_rows)], style)
        for y, row in rows.items():
            weight = "bold" if row.bold else "normal"
            slant = "italic" if row.italic else "normal"
            put(eff_x, y, row.cells.get("effect", ""), weight=weight, slant=slant, ha="right",
                gid=f"effect:{index}:{y}")
            if row.cells.get("weight"):
                put(wt_x, y, row.cells["weight"], ha="right", gid=f"weight:{index}:{y}")
            if row.kind == "study":
                _draw_study(ax, row, y, sizes.get(y), style, *limits)
            elif row.kind == "pooled":
                _draw_diamond(ax, row, y, style)
            elif row.kind == "pi":
                _draw_pi(ax, row, y, style, *limits)
            elif row.kind == "joint":
                _draw_diamond(ax, row, y, style)
                ax.patches[-1].set_facecolor("white")
                ax.patches[-1].set_gid(f"joint-diamond:{index}")
        ax.plot([null, null], [-0.5, len(labels) + 0.5], color="black", linewidth=style.line_width * 0.8,
                linestyle=style.null_line_style, zorder=1, gid="null-line")
        null_x = px + pw * _fraction(null, limits, log_axis)
        fav_y = bottom - tick_h - small_h * 0.9
        if favours is not None:
            _draw_favours(fig, favours, style, null_x, fav_y, px, px + pw, gid=f"favours:{index}")
        for i, line in enumerate(notes[index]):
            fig.text(px, bottom - tick_h - fav_h - 0.05 - (i + 0.8) * small_h * 1.3, line,
                     transform=fig.dpi_scale_trans, fontsize=ss, fontfamily=family, gid=f"note:{index}:{i}")
    if title:
        fig.text(margin, height - margin, "\n".join(title_lines), transform=fig.dpi_scale_trans, fontsize=fs + 1.5,
                 linespacing=1.3,
                 fontweight="bold", fontfamily=family, va="top", gid="title")
    for i, line in enumerate(foot_lines):
        fig.text(margin, margin + foot_h - small_h * 0.6 - i * small_h * 1.25, line, transform=fig.dpi_scale_trans,
                 fontsize=ss, fontfamily=family, color="#333333", va="top", gid=f"footnote:{i}")
    fig.forest_rows = labels
    fit_margins(fig)
    return fig


def _joint_rows(joint, n_panels):
    """``joint`` as one (estimate, ci_low, ci_high) or None per panel."""
    if joint is None:
        return [None] * n_panels
    if len(joint) != n_panels:
        raise ArgumentError(f"joint: expected one estimate (or None) per panel, {n_panels} in all; got {len(joint)}")
    out = []
    for n, item in enumerate(joint):
        if item is None:
            out.append(None)
            continue
        if hasattr(item, "get"):
            item = (item.get("estimate"), item.get("ci_low"), item.get("ci_high"))
        try:
            est, lo, hi = (float(v) for v in item)
        except (TypeError, ValueError):
            raise ArgumentError(f"joint[{n}]: expected (estimate, ci_low, ci_high) numbers; got {item!r}") from None
        if not all(map(_finite, (est, lo, hi))):
            out.append(None)
            continue
        if not lo <= est <= hi:
            raise ArgumentError(f"joint[{n}]: ci_low <= estimate <= ci_high must hold; got {est}, {lo}, {hi}")
        out.append((est, lo, hi))
    return out


def _finite(v) -> bool:
    import math

    return math.isfinite(v)


def _fraction(value, limits, log_axis):
    import math

    lo, hi = limits
    if log_axis:
        return (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (value - lo) / (hi - lo)
