"""The report's exports for other tools, written into ``reports/exports/`` by
:func:`trialsynth.report.build.build_report`:

* ``summary_of_findings_gradepro.docx`` and ``.html``: the SoF in GRADEpro's layout
  (:mod:`trialsynth.grade.gradepro`, :mod:`trialsynth.grade.export_docx`);
* ``TRIALSYNTH-analysis-data/TRIALSYNTH-overall-estimates-and-settings.csv`` and
  ``...-data-rows.csv``: the pooled tables in RevMan's data-package layout
  (:mod:`trialsynth.report.revman_export`).

Every file is byte-stable: the same analysis writes the same bytes.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_exports", "EXPORT_NAMES"]

#: the files :func:`write_exports` writes, relative to its folder
EXPORT_NAMES = ("summary_of_findings_gradepro.docx", "summary_of_findings_gradepro.html",
                "TRIALSYNTH-analysis-data/TRIALSYNTH-overall-estimates-and-settings.csv",
                "TRIALSYNTH-analysis-data/TRIALSYNTH-data-rows.csv")


def write_exports(an, folder: Path) -> list[Path]:
    """Write the exports of ``an`` (a :class:`trialsynth.report.analysis.Analysis`) into ``folder``."""
    from trialsynth.data.io import atomic_write_text
    from trialsynth.grade.export_docx import sof_to_docx
    from trialsynth.grade.gradepro import sof_to_gradepro_html
    from trialsynth.report.revman_export import write_revman_csv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    studies = an.selected if len(an.selected) else None
    written = [sof_to_docx(an.sof, folder / EXPORT_NAMES[0], studies),
               atomic_write_text(folder / EXPORT_NAMES[1], sof_to_gradepro_html(an.sof, studies))]
    written += write_revman_csv(an.results(), folder, studies)
    return [Path(p) for p in written]
