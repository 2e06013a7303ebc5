"""The summary-of-findings table as a Word document (DOCX), in GRADEpro's layout, byte-stable.

:func:`sof_to_docx` writes :func:`trialsynth.grade.gradepro.gradepro_sof` with python-docx:
landscape pages, one table per comparison (title, population, setting, intervention,
comparison), GRADEpro's header with "Anticipated absolute effects* (95% CI)" spanning the two
risk columns, certainty cells shaded by level, and the notes and lettered explanations under
the tables.

Byte-stable: the document's core properties carry a fixed date (:data:`FIXED_TIME`, not the
time of the run) and the zip is rewritten with every member dated 1980-01-01 00:00 in the order
python-docx wrote them, so the same SoF gives the same bytes on every run and machine (a test
builds it twice and compares).
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import zipfile
from pathlib import Path

import pandas as pd

from trialsynth.grade.gradepro import GradeproSoF, gradepro_sof

__all__ = ["sof_to_docx", "gradepro_docx_bytes", "FIXED_TIME", "stable_zip"]

#: the date written into the document's properties (a fixed one: the output is byte-stable)
FIXED_TIME = _dt.datetime(2000, 1, 1, 0, 0, 0)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SHADES = {"high": "CFE8CF", "moderate": "E5F0C8", "low": "F7E3BF", "very low": "F2C4C4"}
_HEADER_SHADE = "DDE6EE"


def stable_zip(data: bytes) -> bytes:
    """The zip ``data`` rewritten with fixed member dates and attributes (same order, deflated)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            entry.create_system = 0
            target.writestr(entry, source.read(info.filename), compresslevel=6)
    return out.getvalue()


def _shade(cell, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    props.append(shd)


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


def _write(cell, text: str, *, bold: bool = False, bold_first: bool = False, superscript: str = "",
           size: float = 8.5) -> None:
    from docx.shared import Pt

    cell.text = ""
    paragraph = cell.paragraphs[0]
    lines = str(text).split("\n")
    for i, line in enumerate(lines):
        run = paragraph.add_run(line)
        run.bold = bold or (bold_first and i == 0)
        run.font.size = Pt(size)
        if i < len(lines) - 1:
            run.add_break()
    if superscript:
        run = paragraph.add_run(superscript)
        run.font.superscript = True
        run.font.size = Pt(size)


def gradepro_docx_bytes(table: GradeproSoF, *, title: str = "Summary of findings (GRADEpro layout, draft)") -> bytes:
    """The DOCX file's bytes for ``table`` (byte-stable, see the module notes)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(9)
    props = doc.core_properties
    props.title = title
    props.author = "trialsynth"
    props.last_modified_by = "trialsynth"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.last_printed = FIXED_TIME
    props.revision = 1
    props.comments = "Written by trialsynth from the GRADE summary-of-findings draft"
    doc.add_heading(title, level=1)
    widths = [Cm(4.4), Cm(3.4), Cm(4.6), Cm(2.6), Cm(2.6), Cm(3.0), Cm(6.0)]
    for s in table.sections:
        doc.add_heading(s.title, level=2)
        pico = doc.add_paragraph()
        for label, value in (("Patient or population: ", s.population), ("Setting: ", s.setting),
                             ("Intervention: ", s.intervention), ("Comparison: ", s.comparison)):
            pico.add_run(label).bold = True
            run = pico.add_run(value)
            if label != "Comparison: ":
                run.add_break()
        headers = table.headers(s)
        grid = doc.add_table(rows=2 + len(s.rows), cols=7)
        grid.style = "Table Grid"
        for header_row in grid.rows[:2]:  # repeated on every page, as GRADEpro's tables are
            _repeat_header(header_row)
        top, sub = grid.rows[0].cells, grid.rows[1].cells
        for j in (0, 3, 4, 5, 6):
            merged = top[j].merge(sub[j])
            _write(merged, headers[j], bold=True)
            _shade(merged, _HEADER_SHADE)
        span = top[1].merge(top[2])
        _write(span, "Anticipated absolute effects* (95% CI)", bold=True)
        _shade(span, _HEADER_SHADE)
        for j in (1, 2):
            _write(sub[j], headers[j], bold=True)
            _shade(sub[j], _HEADER_SHADE)
        for i, r in enumerate(s.rows):
            cells = grid.rows[2 + i].cells
            _write(cells[0], r["outcome"], bold_first=True)
            _write(cells[1], r["risk_comparator"])
            _write(cells[2], r["risk_intervention"])
            _write(cells[3], r["relative"])
            _write(cells[4], r["participants"])
            _write(cells[5], r["certainty"], superscript=",".join(r["letters"]))
            _shade(cells[5], _SHADES.get(r["certainty_level"], "FFFFFF"))
            _write(cells[6], r["comments"])
        for row in grid.rows:
            for j, cell in enumerate(row.cells):
                cell.width = widths[j]
    doc.add_paragraph()
    for note in table.notes:
        p = doc.add_paragraph(note)
        p.runs[0].font.size = Pt(8)
        p.paragraph_format.space_after = Pt(2)
    if table.footnotes:
        doc.add_heading("Explanations", level=3)
        for i, note in enumerate(table.footnotes):
            from trialsynth.grade.gradepro import _letter

            p = doc.add_paragraph()
            mark = p.add_run(_letter(i))
            mark.font.superscript = True
            mark.font.size = Pt(8)
            text = p.add_run(" " + note)
            text.font.size = Pt(8)
            p.paragraph_format.space_after = Pt(1)
    buf = io.BytesIO()
    doc.save(buf)
    return stable_zip(buf.getvalue())


def sof_to_docx(sof: pd.DataFrame, path: str | os.PathLike, studies: pd.DataFrame | None = None, *,
                title: str = "Summary of findings (GRADEpro layout, draft)", **kwargs) -> Path:
    """Write the SoF draft as a DOCX in GRADEpro's layout, atomically and byte-stable.

    Parameters
    ----------
    sof : DataFrame
        :func:`trialsynth.grade.draft_sof`'s table.
    path : path-like
        The ``.docx`` to write.
    studies : DataFrame, optional
        The study rows of the cells, for the comparator's risk and mean (see
        :func:`trialsynth.grade.gradepro.gradepro_sof`).
    title : str
    **kwargs
        ``intervention``, ``population``, ``setting``, ``condition_text`` for the titles.
    """
    from trialsynth.data.io import atomic_write_bytes

    data = gradepro_docx_bytes(gradepro_sof(sof, studies, **kwargs), title=title)
    return atomic_write_bytes(Path(os.fspath(path)), data)
