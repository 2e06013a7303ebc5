"""reports/exports/: the SoF in GRADEpro's layout (DOCX, HTML) and the pooled tables as RevMan
data-package CSV: byte-stable, readable back, and re-pooling to their own stored results."""

from __future__ import annotations

from pathlib import Path

import docx
import pandas as pd
import pytest

from trialsynth.data.importers import read_cochrane_data_package
from trialsynth.pooling.revman_parity import revman_parity
from trialsynth.report.analysis import run_analysis
from trialsynth.report.exports import EXPORT_NAMES, write_exports

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analysis():
    return run_analysis(ROOT / "data" / "trials.csv")


def test_exports_are_byte_stable(analysis, tmp_path):
    a = write_exports(analysis, tmp_path / "a")
    b = write_exports(analysis, tmp_path / "b")
    assert [p.relative_to(tmp_path / "a").as_posix() for p in a] == list(EXPORT_NAMES)
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_revman_csv_reads_back_and_repools_to_itself(analysis, tmp_path):
    write_exports(analysis, tmp_path)
    review = read_cochrane_data_package(tmp_path / "TRIALSYNTH-analysis-data")
    assert len(review.analyses) == len(analysis.pooled)
    report = revman_parity(review)
    assert report.all_agree, report.to_markdown()
    # the stored estimates are ours, ratios as ratios
    first = review.analysis("1.1")
    cell = analysis.pooled[(analysis.pooled["outcome"] == "pain") & (analysis.pooled["comparator_class"] == "sham")
                           & (analysis.pooled["window"] == "immediate")].iloc[0]
    assert first.overall["estimate"] == pytest.approx(float(cell["estimate"]), rel=1e-9)
    assert (first.measure, first.estimator, first.ci_method) == ("SMD", "REML", "HKSJ")
    responder = next(a for a in review.analyses if a.measure == "RR")
    assert responder.log_scale and responder.overall["estimate"] > 0


def test_sof_docx_reads_back_with_one_table_per_comparator(analysis, tmp_path):
    write_exports(analysis, tmp_path)
    doc = docx.Document(tmp_path / "summary_of_findings_gradepro.docx")
    comparators = analysis.sof["comparator_class"].nunique()
    assert len(doc.tables) == comparators
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 2")]
    assert "Acupuncture compared with sham for low back pain" in headings
    rows = sum(len(t.rows) - 2 for t in doc.tables)
    assert rows == len(analysis.sof)
    html = (tmp_path / "summary_of_findings_gradepro.html").read_text(encoding="utf-8")
    assert html.count("<table class='gradepro'>") == comparators


def test_empty_analysis_still_exports(tmp_path):
    header = (ROOT / "data" / "trials.csv").read_text(encoding="utf-8").splitlines()[0]
    data = tmp_path / "data" / "trials.csv"
    data.parent.mkdir()
    data.write_text(header + "\n", encoding="utf-8")
    an = run_analysis(data)
    paths = write_exports(an, tmp_path / "exports")
    assert all(p.is_file() for p in paths)
    settings = pd.read_csv(paths[2], encoding="utf-8-sig")
    assert len(settings) == 0 and "Analysis group" in settings.columns
