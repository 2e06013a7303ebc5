"""The SoF in GRADEpro's layout: absolute effects from the comparator's risk, continuous rows
with the comparator mean, HTML escaping, and a byte-stable DOCX that python-docx reads back."""

from __future__ import annotations

import hashlib
import math
import zipfile

import docx
import pandas as pd
import pytest

from trialsynth.grade import draft_sof
from trialsynth.grade.export_docx import FIXED_TIME, gradepro_docx_bytes, sof_to_docx
from trialsynth.grade.gradepro import gradepro_sof, sof_to_gradepro_html


def pooled() -> pd.DataFrame:
    return pd.DataFrame([
        {"outcome": "pain", "comparator_class": "sham", "window": "immediate", "k": 2, "estimate": -0.30,
         "ci_low": -0.50, "ci_high": -0.10, "pi_low": float("nan"), "pi_high": float("nan"), "i2": 0.0,
         "measure": "SMD", "study_ids": "A;B", "profile": "cochrane-2025"},
        {"outcome": "responder", "comparator_class": "sham", "window": "short", "k": 2, "estimate": math.log(1.5),
         "ci_low": math.log(1.2), "ci_high": math.log(1.875), "pi_low": float("nan"), "pi_high": float("nan"),
         "i2": 0.0, "measure": "RR", "study_ids": "A;B", "profile": "cochrane-2025"},
        {"outcome": "responder", "comparator_class": "usual_care", "window": "short", "k": 1, "estimate": math.log(4.0),
         "ci_low": math.log(1.0), "ci_high": math.log(16.0), "pi_low": float("nan"), "pi_high": float("nan"),
         "i2": float("nan"), "measure": "RR", "study_ids": "C", "profile": "cochrane-2025"},
    ])


def studies() -> pd.DataFrame:
    rows = [
        dict(study_id="A", outcome="pain", comparator_class="sham", window="immediate", rob="low", n1=100, n2=100,
             mean2=52.0, scale="VAS", value_type="final"),
        dict(study_id="B", outcome="pain", comparator_class="sham", window="immediate", rob="low", n1=60, n2=60,
             mean2=48.0, scale="VAS", value_type="final"),
        dict(study_id="A", outcome="responder", comparator_class="sham", window="short", rob="low", n1=100, n2=100,
             events1=45, events2=30),
        dict(study_id="B", outcome="responder", comparator_class="sham", window="short", rob="low", n1=60, n2=100,
             events1=30, events2=20),
        dict(study_id="C", outcome="responder", comparator_class="usual_care", window="short", rob="high", n1=50,
             n2=50, events1=40, events2=20),
    ]
    return pd.DataFrame(rows)


def _sof():
    return draft_sof(pooled(), studies())


def test_binary_absolute_effects_from_the_comparator_risk():
    table = gradepro_sof(_sof(), studies())
    sham = next(s for s in table.sections if s.comparator == "sham")
    assert sham.title == "Acupuncture compared with sham for low back pain"
    row = next(r for r in sham.rows if r["outcome"].startswith("Responders"))
    # study-population risk 50/200 = 250 per 1,000; RR 1.5 (1.2 to 1.875) -> 375 (300 to 469) per 1,000
    assert row["risk_comparator"] == "250 per 1,000"
    assert row["risk_intervention"] == "375 per 1,000\n(300 to 469)\n125 more per 1,000\n(from 50 more to 219 more)"
    assert row["relative"] == "RR 1.50\n(1.20 to 1.88)"
    assert row["participants"] == "360\n(2 RCTs)"
    note = table.footnotes[ord(next(x for x in row["letters"] if "study-population" in
                                    table.footnotes[ord(x) - 97])) - 97]
    assert "50 events in 200 comparator participants" in note


def test_absolute_risk_is_held_at_1000_per_1000():
    table = gradepro_sof(_sof(), studies())
    row = next(s for s in table.sections if s.comparator == "usual_care").rows[0]
    # 20/50 = 400 per 1,000 x RR 4 (1 to 16) would be 1,600 (400 to 6,400): held at 1,000
    assert row["risk_intervention"].startswith("1,000 per 1,000\n(400 to 1,000)\n600 more per 1,000")
    assert any("held at those limits" in table.footnotes[ord(x) - 97] for x in row["letters"])


def test_continuous_row_has_the_comparator_mean_and_gradepro_wording():
    table = gradepro_sof(_sof(), studies())
    row = next(s for s in table.sections if s.comparator == "sham").rows[0]
    assert row["outcome"].startswith("Pain\nassessed immediately after treatment")
    assert row["risk_comparator"] == "The mean pain score (VAS) ranged across comparator groups from 48 to 52"
    assert row["risk_intervention"] == "SMD 0.30 lower (0.50 lower to 0.10 lower)"
    assert row["relative"] == "\u2014"
    assert row["certainty"].startswith("\u2295")
    assert any("below 0 (lower) favour acupuncture" in table.footnotes[ord(x) - 97] for x in row["letters"])


def test_html_is_gradepro_layout_and_escaped():
    studies_ = studies()
    page = sof_to_gradepro_html(_sof(), studies_, intervention="Acu<script>")
    assert "<script>" not in page and "Acu&lt;script&gt;" in page
    for header in ("Anticipated absolute effects", "Risk with sham", "Relative effect (95% CI)",
                   "\u2116 of participants (studies)", "Certainty of the evidence (GRADE)", "Comments", "Explanations"):
        assert header in page, header
    assert "colspan='2'" in page


def test_docx_is_byte_stable_and_reads_back(tmp_path):
    first = sof_to_docx(_sof(), tmp_path / "a.docx", studies())
    second = sof_to_docx(_sof(), tmp_path / "b.docx", studies())
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    doc = docx.Document(first)
    assert doc.core_properties.created.replace(tzinfo=None) == FIXED_TIME
    assert doc.core_properties.author == "trialsynth"
    assert len(doc.tables) == 2  # sham, usual care
    sham = doc.tables[0]
    assert sham.cell(0, 0).text == "Outcomes" and sham.cell(0, 1).text == "Anticipated absolute effects* (95% CI)"
    assert sham.cell(1, 1).text == "Risk with sham" and sham.cell(1, 2).text == "Risk with acupuncture"
    assert sham.cell(3, 1).text == "250 per 1,000"
    assert "375 per 1,000" in sham.cell(3, 2).text
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Explanations" in text and "Balshem" in text


def test_docx_differs_when_the_table_does():
    a = gradepro_docx_bytes(gradepro_sof(_sof(), studies()))
    changed = pooled()
    changed.loc[0, "estimate"] = -0.35
    b = gradepro_docx_bytes(gradepro_sof(draft_sof(changed, studies()), studies()))
    assert a != b


def test_empty_sof_gives_an_empty_table():
    table = gradepro_sof(draft_sof(pooled().iloc[0:0], None), None)
    assert table.sections == [] and table.to_frame().empty
    with pytest.raises(Exception, match="sof"):
        gradepro_sof("not a table")
