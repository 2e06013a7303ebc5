"""Figure plumbing shared by every plot: a pyplot-free Figure, text measurement, bounds checks."""

from __future__ import annotations

import io
from functools import lru_cache

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.transforms import Bbox

#: the dpi figures are laid out at (text is measured at this dpi; output dpi is free)
LAYOUT_DPI = 100


class TrialsynthFigure(Figure):
    """A matplotlib Figure that also shows itself in Jupyter without pyplot.

    It is an ordinary :class:`matplotlib.figure.Figure` (``savefig`` works, and
    :func:`trialsynth.plots.save_figure` writes deterministic files); it is
    created without pyplot, so drawing many figures in a loop leaks nothing.
    """

    def _repr_png_(self):  # pragma: no cover - exercised by Jupyter
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=120)
        return buffer.getvalue()


def new_figure(width: float = 4.0, height: float = 3.0) -> TrialsynthFigure:
    fig = TrialsynthFigure(figsize=(width, height), dpi=LAYOUT_DPI)
    FigureCanvasAgg(fig)
    return fig


@lru_cache(maxsize=4096)
def _extent(text: str, family: str, size: float, weight: str, style: str) -> tuple[float, float]:
    fig = _measuring_figure()
    renderer = fig.canvas.get_renderer()
    props = FontProperties(family=family, size=size, weight=weight, style=style)
    width, height, _descent = renderer.get_text_width_height_descent(text, props, ismath=False)
    return width / LAYOUT_DPI, height / LAYOUT_DPI


@lru_cache(maxsize=1)
def _measuring_figure() -> Figure:
    fig = Figure(figsize=(2, 2), dpi=LAYOUT_DPI)
    FigureCanvasAgg(fig)
    return fig


def text_width(text: str, family: str, size: float, weight: str = "normal", style: str = "normal") -> float:
    """Width of ``text`` in inches when rendered (0 for an empty string)."""
    if not text:
        return 0.0
    return max(_extent(line, family, size, weight, style)[0] for line in str(text).split("\n"))


def line_height(family: str, size: float) -> float:
    """Height of one text line in inches (ascent + descent of tall glyphs)."""
    return _extent("Ahgy|[]", family, size, "normal", "normal")[1]


def wrap_text(text: str, width: float, family: str, size: float, weight: str = "normal") -> list[str]:
    """Greedy word wrap of ``text`` to ``width`` inches, measured with the renderer."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        words = paragraph.split()
        if not words:
            lines.append("")
            continue
        current = words[0]
        for word in words[1:]:
            trial = current + " " + word
            if text_width(trial, family, size, weight) <= width:
                current = trial
            else:
                lines.append(current)
                current = word
        lines.append(current)
    return lines


def wrap_statements(text: str, width: float, family: str, size: float, weight: str = "normal") -> list[str]:
    """Wrap ``text`` to ``width`` inches only between statements (after ``"; "``), so that
    ``"I² = 43%"`` never ends up split from its value; a single statement wider than
    ``width`` is word-wrapped as a last resort."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        pieces = [p + ";" for p in paragraph.split("; ")]
        pieces[-1] = pieces[-1][:-1]
        chunks: list[str] = []
        for piece in pieces:
            trial = f"{chunks[-1]} {piece}" if chunks else piece
            if chunks and text_width(trial, family, size, weight) <= width:
                chunks[-1] = trial
            else:
                chunks.append(piece)
        for chunk in chunks:
            too_wide = text_width(chunk, family, size, weight) > width
            lines.extend(wrap_text(chunk, width, family, size, weight) if too_wide else [chunk])
    return lines


def wrap_title(title: str, width: float, family: str, size: float, weight: str = "bold") -> list[str]:
    """A title on one line when it fits ``width`` inches; else broken before its population
    (after " \u2014 ") when both parts fit, else between words."""
    if text_width(title, family, size, weight) <= width:
        return [title]
    head, dash, tail = str(title).rpartition(" \u2014 ")
    if dash:
        lines = [head + " \u2014", tail]
        if all(text_width(line, family, size, weight) <= width for line in lines):
            return lines
    # between words, the dash staying with the word before it
    words: list[str] = []
    for word in str(title).split(" "):
        if word == "\u2014" and words:
            words[-1] += " \u2014"
        else:
            words.append(word)
    lines = [words[0]]
    for word in words[1:]:
        if text_width(f"{lines[-1]} {word}", family, size, weight) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def add_title(fig: Figure, title: str, family: str, size: float, pad: float = 0.08) -> None:
    """Write ``title`` (bold, wrapped to the figure's width) above everything: the figure grows
    at the top by the title's height, so the axes and texts keep their size and place."""
    width, height = fig.get_size_inches()
    lines = wrap_title(title, width - 2 * pad, family, size)
    need = len(lines) * line_height(family, size) * 1.3 + pad
    new_h = height + need
    for ax in fig.axes:
        x0, y0, w, h = ax.get_position().bounds
        ax.set_position((x0, y0 * height / new_h, w, h * height / new_h))
    for text in fig.texts:
        if text.get_transform() is fig.transFigure:
            tx, ty = text.get_position()
            text.set_position((tx, ty * height / new_h))
    fig.set_size_inches(width, new_h)
    fig.text(pad, new_h - pad * 0.75, "\n".join(lines), transform=fig.dpi_scale_trans, va="top", ha="left",
             fontsize=size, fontweight="bold", fontfamily=family, linespacing=1.3, gid="title")


def text_artists(fig: Figure) -> list[Text]:
    """Every visible, non-empty text artist of ``fig`` (tick labels included)."""
    found = []
    for artist in fig.findobj(Text):
        if artist.get_visible() and artist.get_text().strip():
            found.append(artist)
    return found


def overflow(fig: Figure) -> tuple[float, float, float, float]:
    """How far (inches) text sticks out of the figure: (left, right, bottom, top), 0 when inside."""
    renderer = fig.canvas.get_renderer()
    fig_box = fig.bbox
    # figure-level texts, and each axes with everything in it (ticks in view, labels, legend,
    # annotations): an axes' own text artists include labels of ticks outside the view and
    # legend texts not laid out yet, which would make room for nothing
    boxes = [a.get_window_extent(renderer) for a in fig.texts if a.get_visible() and a.get_text().strip()]
    for ax in fig.axes:
        boxes.append(ax.get_tightbbox(renderer))
    boxes = [b for b in boxes if b is not None and b.width >= 0]
    if not boxes:
        return (0.0, 0.0, 0.0, 0.0)
    union = Bbox.union(boxes)
    dpi = fig.dpi
    return (
        max(0.0, (fig_box.x0 - union.x0) / dpi),
        max(0.0, (union.x1 - fig_box.x1) / dpi),
        max(0.0, (fig_box.y0 - union.y0) / dpi),
        max(0.0, (union.y1 - fig_box.y1) / dpi),
    )


def fit_margins(fig: Figure, pad: float = 0.03) -> None:
    """Grow ``fig`` until no text sticks out, keeping every axes' size in inches.

    Axes, figure-fraction texts and texts placed in inches (``fig.dpi_scale_trans``)
    are shifted by the added left/bottom margin.
    """
    for _ in range(3):
        left, right, bottom, top = overflow(fig)
        if max(left, right, bottom, top) <= 0.005:
            return
        add_l = left + pad if left > 0 else 0.0
        add_b = bottom + pad if bottom > 0 else 0.0
        width, height = fig.get_size_inches()
        new_w = width + add_l + (right + pad if right > 0 else 0.0)
        new_h = height + add_b + (top + pad if top > 0 else 0.0)
        for ax in fig.axes:
            x0, y0, w, h = ax.get_position().bounds
            ax.set_position(((x0 * width + add_l) / new_w, (y0 * height + add_b) / new_h,
                             w * width / new_w, h * height / new_h))
        for text in fig.texts:
            tx, ty = text.get_position()
            if text.get_transform() is fig.transFigure:
                text.set_position(((tx * width + add_l) / new_w, (ty * height + add_b) / new_h))
            elif text.get_transform() is fig.dpi_scale_trans:
                text.set_position((tx + add_l, ty + add_b))
        fig.set_size_inches(new_w, new_h)
