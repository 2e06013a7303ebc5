"""Writing figures to SVG, PDF and PNG: deterministic bytes, embedded fonts, atomic replacement.

Two runs on the same figure write byte-identical files: the SVG's ids come from
a fixed ``svg.hashsalt``; the PDF and SVG carry no creation date; the PNG carries
no software or date chunk. PDF fonts are embedded as TrueType (``pdf.fonttype``
42), so journals can edit the text and the glyphs survive. Each file is written
whole to a temporary file in the target folder and moved into place, so a
crash never leaves half a figure behind. PDF fonts are subset without their OpenType layout
tables, which a PDF never reads (half the time of writing one).
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterable

import matplotlib
from matplotlib.figure import Figure

from trialsynth.data.io import atomic_write_bytes
from trialsynth.errors import ArgumentError

FORMATS = ("svg", "pdf", "png")

#: metadata that makes each format deterministic (None removes a key matplotlib would add)
_METADATA = {
    "svg": {"Date": None, "Creator": "trialsynth (matplotlib)"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "trialsynth (matplotlib)", "Producer": None},
    "png": {"Software": None},
}

_RC = {
    "svg.hashsalt": "trialsynth",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "pdf.compression": 6,
    "path.simplify": True,
}


#: OpenType layout tables: a PDF places every glyph itself and never reads them
_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern")


class _LeanSubsetting:
    """fontTools' ``subset`` module as matplotlib's PDF backend sees it while a PDF is written,
    with the layout tables (:data:`_LAYOUT_TABLES`) dropped from every font subset: they are
    about half the time of embedding a font like DejaVu Sans, and a PDF never uses them (text is
    placed glyph by glyph). Everything else is fontTools' own."""

    def __init__(self, module):
        self._module = module
        base = module.Options

        class Options(base):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.drop_tables = [*self.drop_tables, *(t for t in _LAYOUT_TABLES if t not in self.drop_tables)]
                self.layout_features = []

        self.Options = Options

    def __getattr__(self, name):
        return getattr(self._module, name)


@contextmanager
def _lean_pdf_fonts():
    """Drop the layout tables while writing a PDF, when matplotlib subsets fonts with fontTools as
    it does since 3.5 (otherwise nothing changes, and the PDF is merely slower to write)."""
    try:
        from matplotlib.backends import _backend_pdf_ps as pdf_ps
    except ImportError:  # pragma: no cover - another matplotlib layout
        yield
        return
    module = getattr(pdf_ps, "subset", None)
    if module is None or not hasattr(module, "Options"):  # pragma: no cover
        yield
        return
    pdf_ps.subset = _LeanSubsetting(module)
    try:
        yield
    finally:
        pdf_ps.subset = module


def figure_bytes(fig: Figure, fmt: str, *, dpi: int = 300, svg_text: str = "path") -> bytes:
    """The bytes of ``fig`` in ``fmt`` (svg, pdf or png), deterministic for a given figure."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ArgumentError(f"formats: unknown format {fmt!r}; expected some of {list(FORMATS)}")
    if svg_text not in ("path", "none"):
        raise ArgumentError("svg_text: expected 'path' (glyphs as outlines) or 'none' (editable text)")
    buffer = io.BytesIO()
    rc = dict(_RC, **{"svg.fonttype": svg_text})
    with matplotlib.rc_context(rc), (_lean_pdf_fonts() if fmt == "pdf" else nullcontext()):
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=_METADATA[fmt], facecolor="white")
    return buffer.getvalue()


def save_figure(
    fig: Figure,
    path_or_stem: str | os.PathLike,
    formats: Iterable[str] | str = FORMATS,
    dpi: int = 300,
    *,
    svg_text: str = "path",
) -> list[Path]:
    """Write ``fig`` as SVG, PDF and/or PNG, deterministically and atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (as every trialsynth plot returns).
    path_or_stem : str or path
        ``figures/forest`` writes ``figures/forest.svg``, ``.pdf``, ``.png``; a path
        whose suffix is one of the formats (``figures/forest.pdf``) writes only that
        format unless ``formats`` is given explicitly as more than one.
    formats : iterable of str or str
        Any of ``"svg"``, ``"pdf"``, ``"png"``.
    dpi : int
        Resolution of the PNG (and of rasterised parts of PDF/SVG), default 300.
    svg_text : {"path", "none"}
        SVG text as glyph outlines (looks the same everywhere) or as text (editable).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.
    """
    if not isinstance(fig, Figure):
        raise ArgumentError(
            f"fig: expected a matplotlib Figure, got {type(fig).__name__}"
            + (" (use ax.figure)" if hasattr(fig, "figure") else "")
        )
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(f.lower().lstrip(".") for f in formats)
    if not formats:
        raise ArgumentError("formats: expected at least one of svg, pdf, png")
    for fmt in formats:
        if fmt not in FORMATS:
            raise ArgumentError(f"formats: unknown format {fmt!r}; expected some of {list(FORMATS)}")
    if not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ArgumentError(f"dpi: expected a positive number, got {dpi!r}")
    path = Path(path_or_stem)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        stem = path.with_suffix("")
        if formats == FORMATS:  # the default: the suffix chooses
            formats = (suffix,)
    else:
        stem = path
    written = []
    for fmt in formats:
        target = stem.parent / f"{stem.name}.{fmt}"
        atomic_write_bytes(target, figure_bytes(fig, fmt, dpi=int(dpi), svg_text=svg_text))
        written.append(target)
    return written
