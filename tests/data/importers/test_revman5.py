"""read_revman5: the hand-built files, the known traps, and hostile XML refused cleanly."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import pytest
import yaml

import trialsynth
from trialsynth.data.importers import read_revman5
from trialsynth.data.importers import _safe
from trialsynth.data.provenance import number_tokens
from trialsynth.errors import TrialDataError

from .helpers import FURLAN_RM5, METADAT_RM5, ROOT, minimal_rm5


def _write(tmp_path, text: str | bytes, name: str = "crafted.rm5"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_public_api_names():
    assert trialsynth.read_revman5 is read_revman5
    assert callable(trialsynth.read_cochrane_data_package)


# ----------------------------------------------------------------------------- the Furlan file


def test_furlan_file_is_read():
    review = read_revman5(FURLAN_RM5)
    assert review.format == "revman5"
    assert review.doi == "10.1002/14651858.CD001351.pub2" and review.review_id == "CD001351"
    assert review.title == "Acupuncture and dry-needling for low back pain"
    assert review.encoding == "iso-8859-1"
    (a,) = review.analyses
    assert (a.analysis_id, a.data_type, a.measure, a.method, a.model) == ("5.1", "continuous", "MD", "IV", "random")
    assert a.method_text == "IV, Random, 95% CI"
    assert a.comparison_name == "acupuncture versus placebo or sham intervention (Chronic LBP: > 3 months)"
    assert a.group_label_1 == "Acupuncture" and a.group_label_2 == "placebo / sham"
    rows = review.rows.set_index("study")
    assert list(rows.index) == ["Kerr 2003", "Leibing 2002", "Mendelson 1983", "Molsberger 2002"]
    assert rows.loc["Kerr 2003", ["n1", "mean1", "sd1", "n2", "mean2", "sd2"]].tolist() == [26, 51.3, 22.4, 20, 61.7, 30.6]
    assert rows.loc["Mendelson 1983", "year"] == 1983
    assert (rows["subgroup_no"] == 1).all() and (rows["subgroup"] == "Immediately after the end of the sessions").all()


def test_furlan_file_numbers_are_the_published_ones():
    """Every number of the study rows and of the subtotal is printed in the quoted forest plot."""
    record = yaml.safe_load((ROOT / "evidence" / "Furlan2005CDSR.yaml").read_text(encoding="utf-8"))
    printed = number_tokens(record["quotes"]["Q2"]["text"])
    text = FURLAN_RM5.read_bytes().decode("latin-1")
    data = re.findall(r"<CONT_(?:DATA|SUBGROUP) ([^>]*)>", text)
    assert len(data) == 5
    checked = 0
    for attrs in data:
        for key, value in re.findall(r'(\w+)="([^"]*)"', attrs):
            if key in ("NO", "ORDER", "ID", "STUDY_ID", "ESTIMABLE", "DF", "STUDIES") or value in ("0.0", "100.0"):
                continue
            assert abs(Decimal(value)) in printed, (key, value)
            checked += 1
    assert checked == 4 * 10 + 9


def test_furlan_traps_z_unsigned_and_never_computed_values():
    (a,) = read_revman5(FURLAN_RM5).analyses
    sub = a.subgroups[0]["stored"]
    assert sub["z"] == pytest.approx(-4.20)  # stored "4.20", the estimate -10.21 is negative
    assert sub["estimate"] == -10.21 and sub["tau2"] == 0.0 and sub["df"] == 3
    assert not a.totals  # TOTALS="SUB": the zeros of the overall result are not results
    assert all(math.isnan(a.overall[k]) for k in ("estimate", "ci_low", "ci_high", "z", "q", "tau2"))
    assert all(math.isnan(v) for v in a.subgroup_difference.values())  # one subgroup: no test


def test_footnote_element_inside_a_data_row_goes_to_footnotes():
    rows = read_revman5(FURLAN_RM5).rows.set_index("study")
    assert rows.loc["Kerr 2003", "footnotes"] == "control: placebo TENS"
    assert rows.loc["Leibing 2002", "footnotes"] == ""
    assert "TENS" not in rows.loc["Kerr 2003", "source_text"]


# ----------------------------------------------------------------------------- the metadat file


def test_metadat_file_covers_every_method():
    review = read_revman5(METADAT_RM5)
    got = {a.analysis_id: (a.data_type, a.measure, a.method, a.model) for a in review.analyses}
    assert got == {
        "1.1": ("dichotomous", "RR", "MH", "fixed"), "1.2": ("dichotomous", "RR", "MH", "random"),
        "1.3": ("dichotomous", "OR", "IV", "random"), "1.4": ("dichotomous", "PETO_OR", "PETO", "fixed"),
        "1.5": ("dichotomous", "RD", "IV", "fixed"), "2.1": ("generic", "RR", "IV", "fixed"),
        "3.1": ("continuous", "SMD", "IV", "random"), "3.2": ("continuous", "MD", "IV", "fixed"),
    }
    a12 = review.analysis("1.2")
    assert [s["name"] for s in a12.subgroups] == ["random allocation", "alternate allocation", "systematic allocation"]
    assert math.isfinite(a12.subgroup_difference["q"])
    a21 = review.analysis("2.1")
    assert a21.log_scale
    giv = review.analysis_rows("2.1").set_index("study")
    assert giv.loc["Aronson 1948", "giv_estimate"] == pytest.approx(math.log((4 / 123) / (11 / 139)), rel=1e-12)


def test_metadat_never_computed_zeros_are_missing():
    review = read_revman5(METADAT_RM5)
    a11 = review.analysis("1.1")
    assert math.isnan(a11.overall["tau2"])  # fixed effect: TAU2 was never computed
    assert all(math.isnan(v) for v in a11.subgroup_difference.values())  # Q="0.0" P_Q="1.0": no subgroups
    assert all(math.isnan(x) for x in review.analysis_rows("1.1")[["mean1", "giv_se"]].to_numpy().ravel())


def test_xml_escaped_name_is_read():
    rows = read_revman5(METADAT_RM5).analysis_rows("1.1")
    assert "Ferguson & Simes 1949" in set(rows["study"])


# ----------------------------------------------------------------------------- traps, crafted


_ONE_OUTCOME = (
    '<COMPARISON NO="1"><NAME>A vs B</NAME><CONT_OUTCOME EFFECT_MEASURE="MD" METHOD="IV" NO="1" RANDOM="NO" '
    'SUBGROUPS="NO" TOTALS="YES" EFFECT_SIZE="-1.0" CI_START="-2.0" CI_END="0.0" Z="1.96" DF="1" CHI2="0.5">'
    "<NAME>Pain{name_extra}</NAME>{rows}</CONT_OUTCOME></COMPARISON>")
_ROW = ('<CONT_DATA MEAN_1="{m1}" SD_1="{s1}" TOTAL_1="{n1}" MEAN_2="4" SD_2="2" TOTAL_2="30" STUDY_ID="{sid}" '
        'ESTIMABLE="{est}" EFFECT_SIZE="-1.0" CI_START="-2.0" CI_END="0.0" WEIGHT="50.0"{close}')


def _outcome(rows: str, name_extra: str = "") -> str:
    return _ONE_OUTCOME.format(rows=rows, name_extra=name_extra)


def test_footnote_inside_a_name_is_not_part_of_it(tmp_path):
    rows = _ROW.format(m1=3, s1=2, n1=30, sid="STD-Smith-2001", est="YES", close="/>")
    review = read_revman5(_write(tmp_path, minimal_rm5(_outcome(rows, "<FOOTNOTE>assessed at 6 weeks</FOOTNOTE>"))))
    assert review.analyses[0].outcome_name == "Pain"
    assert review.rows.iloc[0]["study"] == "Smith 2001" and review.rows.iloc[0]["year"] == 2001


def test_not_estimable_rows_and_zero_filled_arms_are_missing(tmp_path):
    rows = (_ROW.format(m1=3, s1=2, n1=30, sid="STD-A-2001", est="NO", close="/>")
            + _ROW.format(m1=0, s1=0, n1=0, sid="STD-B-2002", est="YES", close="/>"))
    review = read_revman5(_write(tmp_path, minimal_rm5(_outcome(rows))))
    a, b = review.rows.to_dict("records")
    assert not a["estimable"] and math.isnan(a["effect"]) and math.isnan(a["weight"])
    assert a["mean1"] == 3  # the entered data stay
    assert math.isnan(b["mean1"]) and math.isnan(b["sd1"]) and math.isnan(b["n1"])
    assert any("all zeros" in n for n in review.notes)


def test_file_that_is_not_what_it_declares_is_read_as_windows_1252(tmp_path):
    rows = _ROW.format(m1=3, s1=2, n1=30, sid="STD-Jos\xe9-2001", est="YES", close="/>")
    data = minimal_rm5(_outcome(rows), encoding="UTF-8").encode("latin-1")  # declares UTF-8, holds Latin-1
    review = read_revman5(_write(tmp_path, data))
    assert review.rows.iloc[0]["study"] == "Jos\xe9 2001"
    assert review.encoding == "cp1252"
    assert any("not valid UTF-8" in n and "Windows-1252" in n for n in review.notes)


def test_file_with_a_byte_order_mark(tmp_path):
    rows = _ROW.format(m1=3, s1=2, n1=30, sid="STD-A-2001", est="YES", close="/>")
    review = read_revman5(_write(tmp_path, b"\xef\xbb\xbf" + minimal_rm5(_outcome(rows)).encode()))
    assert len(review.rows) == 1


def test_unescaped_ampersand_html_entity_and_less_than_are_repaired(tmp_path):
    text = METADAT_RM5.read_text(encoding="utf-8").replace("&amp;", "&")
    text = text.replace("<NAME>BCG vaccine versus no vaccine</NAME>",
                        "<NAME>BCG vaccine&nbsp;versus no vaccine (p < 0.05)</NAME>")
    review = read_revman5(_write(tmp_path, text))
    assert "Ferguson & Simes 1949" in set(review.rows["study"])
    assert review.analysis("1.1").comparison_name == "BCG vaccine versus no vaccine (p < 0.05)"  # nbsp: a space
    note = next(n for n in review.notes if n.startswith("not XML-escaped"))
    assert "bare &" in note and "HTML entity" in note and "bare <" in note


def test_malformed_xml_names_line_and_column(tmp_path):
    path = _write(tmp_path, '<?xml version="1.0"?>\n<COCHRANE_REVIEW>\n<COVER_SHEET></TITLE></COCHRANE_REVIEW>')
    with pytest.raises(TrialDataError) as err:
        read_revman5(path)
    (line,) = err.value.problems()
    assert str(path) in line and "not well-formed XML" in line and "line 3" in line


def test_xml_that_is_not_a_revman_file(tmp_path):
    with pytest.raises(TrialDataError, match="not a RevMan 5 review"):
        read_revman5(_write(tmp_path, "<svg></svg>"))
    with pytest.raises(TrialDataError, match="file not found"):
        read_revman5(tmp_path / "missing.rm5")


def test_risk_of_bias_table(tmp_path):
    rob = ('<QUALITY_ITEMS><QUALITY_ITEM ID="QIT-01" LEVEL="STUDY" NO="1"><NAME>Random sequence generation '
           '(selection bias)</NAME><QUALITY_ITEM_DATA>'
           '<QUALITY_ITEM_DATA_ENTRY RESULT="YES" STUDY_ID="STD-A-2001"><DESCRIPTION><P>Computer list</P>'
           '</DESCRIPTION></QUALITY_ITEM_DATA_ENTRY>'
           '<QUALITY_ITEM_DATA_ENTRY RESULT="UNKNOWN" STUDY_ID="STD-B-2002"><DESCRIPTION/></QUALITY_ITEM_DATA_ENTRY>'
           '</QUALITY_ITEM_DATA></QUALITY_ITEM>'
           '<QUALITY_ITEM ID="QIT-02" LEVEL="GROUP" NO="2"><NAME>Blinding</NAME>'
           '<QUALITY_ITEM_DATA_ENTRY_GROUP ID="QIG-02.01" NO="1"><NAME>All outcomes</NAME></QUALITY_ITEM_DATA_ENTRY_GROUP>'
           '<QUALITY_ITEM_DATA><QUALITY_ITEM_DATA_ENTRY GROUP_ID="QIG-02.01" RESULT="NO" STUDY_ID="STD-B-2002">'
           '<DESCRIPTION><P>Open label</P></DESCRIPTION></QUALITY_ITEM_DATA_ENTRY>'
           '<QUALITY_ITEM_DATA_ENTRY GROUP_ID="QIG-02.01" RESULT="YES" STUDY_ID="STD-A-2001"><DESCRIPTION/>'
           '</QUALITY_ITEM_DATA_ENTRY></QUALITY_ITEM_DATA></QUALITY_ITEM></QUALITY_ITEMS>')
    studies = '<STUDY ID="STD-A-2001" NAME="A 2001" YEAR="2001"/><STUDY ID="STD-B-2002" NAME="B 2002" YEAR="2002"/>'
    rows = (_ROW.format(m1=3, s1=2, n1=30, sid="STD-A-2001", est="YES", close="/>")
            + _ROW.format(m1=3, s1=2, n1=30, sid="STD-B-2002", est="YES", close="/>"))
    review = read_revman5(_write(tmp_path, minimal_rm5(_outcome(rows), studies=studies, extra=rob)))
    table = review.risk_of_bias
    assert len(table) == 4 and set(table["tool"]) == {"RoB 1"}
    got = {(r["study"], r["domain"]): (r["judgement"], r["rob"], r["support"]) for r in table.to_dict("records")}
    assert got[("A 2001", "Random sequence generation (selection bias)")] == ("YES", "low", "Computer list")
    assert got[("B 2002", "Random sequence generation (selection bias)")] == ("UNKNOWN", "unclear", "")
    assert got[("B 2002", "Blinding (All outcomes)")] == ("NO", "high", "Open label")
    from trialsynth.data.importers.revman5 import study_overall_rob

    assert study_overall_rob(table) == {"A 2001": "low", "B 2002": "high"}


# ----------------------------------------------------------------------------- hostile XML

_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
           + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
           + ']>\n<COCHRANE_REVIEW><COVER_SHEET><TITLE>&lol9;</TITLE></COVER_SHEET></COCHRANE_REVIEW>\n')


@pytest.mark.parametrize("payload, what", [
    (_LAUGHS, "billion laughs"),
    ('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
     "<COCHRANE_REVIEW><COVER_SHEET><TITLE>&xxe;</TITLE></COVER_SHEET></COCHRANE_REVIEW>", "external entity"),
    ('<?xml version="1.0"?>\n<!DOCTYPE COCHRANE_REVIEW SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
     "<COCHRANE_REVIEW/>", "external DTD"),
])
def test_hostile_xml_is_refused_cleanly(tmp_path, payload, what):
    path = _write(tmp_path, payload)
    with pytest.raises(TrialDataError) as err:
        read_revman5(path)
    (line,) = err.value.problems()
    assert line.startswith(str(path)) and "refused" in line and "document type declaration" in line, what
    assert "root:" not in line and "lol" not in line.split("refused")[1]


def test_oversized_xml_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(_safe, "MAX_XML_BYTES", 1000)
    import trialsynth.data.importers.revman5 as rm

    monkeypatch.setattr(rm, "MAX_XML_BYTES", 1000)
    path = _write(tmp_path, minimal_rm5("<!-- " + "x" * 2000 + " -->"))
    with pytest.raises(TrialDataError, match="larger than the 1000 bytes"):
        read_revman5(path)
