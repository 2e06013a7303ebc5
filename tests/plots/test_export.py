"""save_figure: deterministic bytes, embedded TrueType fonts, atomic writes; house styles by name."""

from __future__ import annotations

import re

import pytest

from trialsynth.errors import ArgumentError
from trialsynth.plots import forest_plot, get_style, save_figure


def _figure(bcg_data, style="cochrane"):
    frame, pooled = bcg_data
    return forest_plot(frame, pooled, measure="RR", style=style, font="DejaVu Sans")


def test_two_runs_give_identical_files(bcg_data, tmp_path):
    first = save_figure(_figure(bcg_data), tmp_path / "a" / "forest")
    second = save_figure(_figure(bcg_data), tmp_path / "b" / "forest")
    assert [p.name for p in first] == ["forest.svg", "forest.pdf", "forest.png"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
        assert a.stat().st_size > 1000


def test_no_dates_in_metadata(bcg_data, tmp_path):
    svg, pdf, png = save_figure(_figure(bcg_data), tmp_path / "forest")
    assert b"CreationDate" not in pdf.read_bytes() and b"ModDate" not in pdf.read_bytes()
    assert b"<dc:date>" not in svg.read_bytes()
    assert b"tIME" not in png.read_bytes() and b"Software" not in png.read_bytes()


def test_pdf_embeds_truetype_fonts(bcg_data, tmp_path):
    (pdf,) = save_figure(_figure(bcg_data), tmp_path / "forest.pdf")
    data = pdf.read_bytes()
    assert b"/FontFile2" in data  # embedded TrueType programs (pdf.fonttype 42)
    assert b"/Type3" not in data
    assert re.search(rb"/BaseFont /[A-Z]{6}\+DejaVuSans|/BaseFont /DejaVuSans", data)


def test_pdf_fonts_carry_every_glyph_but_no_layout_tables(bcg_data, tmp_path):
    """Fonts are subset without GSUB/GPOS/GDEF/kern (a PDF places each glyph itself; dropping them
    halves the time of writing a PDF), but with their outlines, metrics and character map; and
    the subsetting module is matplotlib's own again afterwards."""
    import io
    import zlib

    from fontTools.ttLib import TTFont
    from matplotlib.backends import _backend_pdf_ps

    before = _backend_pdf_ps.subset
    (pdf,) = save_figure(_figure(bcg_data), tmp_path / "forest.pdf")
    assert _backend_pdf_ps.subset is before
    data = pdf.read_bytes()
    fonts = 0
    for match in re.finditer(rb"/Length1 \d+.*?stream\r?\n", data, re.S):
        start = match.end()
        raw = data[start:data.index(b"endstream", start)]
        font = TTFont(io.BytesIO(zlib.decompress(raw)))
        tables = set(font.keys())
        assert {"glyf", "loca", "hmtx", "head"} <= tables, tables
        assert not tables & {"GSUB", "GPOS", "GDEF", "kern"}, tables
        fonts += 1
    assert fonts >= 2  # regular and bold


def test_suffix_chooses_the_format_and_dpi_scales_the_png(bcg_data, tmp_path):
    fig = _figure(bcg_data)
    (png,) = save_figure(fig, tmp_path / "f.png", dpi=100)
    (big,) = save_figure(fig, tmp_path / "g.png", dpi=200)
    from PIL import Image

    width, height = fig.get_size_inches()
    for path, dpi in ((png, 100), (big, 200)):
        with Image.open(path) as image:
            size = image.size
        assert abs(size[0] - width * dpi) <= 1 and abs(size[1] - height * dpi) <= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "g.png"]


def test_atomic_replacement_leaves_no_temporary_files(bcg_data, tmp_path):
    target = tmp_path / "forest.svg"
    target.write_text("old")
    save_figure(_figure(bcg_data), target)
    assert target.read_bytes().startswith(b"<?xml")
    assert [p.name for p in tmp_path.iterdir()] == ["forest.svg"]


def test_bad_arguments(bcg_data, tmp_path):
    fig = _figure(bcg_data)
    with pytest.raises(ArgumentError, match="formats"):
        save_figure(fig, tmp_path / "x", formats=("svg", "tiff"))
    with pytest.raises(ArgumentError, match="fig"):
        save_figure(fig.axes[0], tmp_path / "x")
    with pytest.raises(ArgumentError, match="dpi"):
        save_figure(fig, tmp_path / "x", dpi=0)
    assert not list(tmp_path.iterdir())


def test_house_styles_by_name():
    assert get_style("cochrane").name == "cochrane"
    assert get_style("JAMA").p_style == "jama"
    assert get_style("jama", font_size=9).font_size == 9
    with pytest.raises(ArgumentError, match="style"):
        get_style("lancet")
    with pytest.raises(ArgumentError, match="style"):
        get_style("jama").replace(colour="red")


def test_styles_differ_where_journals_differ(bcg_data):
    cochrane = _figure(bcg_data, "cochrane")
    jama = _figure(bcg_data, "jama")
    c_texts = {t.get_text() for t in cochrane.texts}
    j_texts = {t.get_text() for t in jama.texts}
    assert "0.49 [0.34, 0.70]" in c_texts and "0.49 (0.34\u20130.70)" in j_texts
    assert "Weight" in c_texts and "Weight, %" in j_texts
    # JAMA puts the effect column right of the panel, Cochrane (RevMan) left of it
    c_layout, j_layout = cochrane.forest_layout, jama.forest_layout
    c_effect = next(c for c in c_layout.columns if c.key == "effect")
    j_effect = next(c for c in j_layout.columns if c.key == "effect")
    assert c_effect.x < c_layout.panel[0] and j_effect.x > j_layout.panel[0] + j_layout.panel[2]


def test_methods_sentences_of_subgroup_fits_are_merged():
    from trialsynth.plots._format import merge_methods_texts

    a = "A random-effects meta-analysis of 13 studies was performed with t distribution with 12 degrees of freedom."
    b = "A random-effects meta-analysis of 7 studies was performed with t distribution with 6 degrees of freedom."
    (merged,) = merge_methods_texts([a, b], "per panel")
    assert "per panel" in merged and "k \u2212 1 degrees" in merged and "13" not in merged
    assert merge_methods_texts([a, "Something else entirely."]) == [a, "Something else entirely."]
