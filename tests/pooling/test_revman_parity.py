"""revman_parity: every analysis of a review file re-pooled with the method it names agrees with
the file's stored results, and a wrong stored value is caught."""

from __future__ import annotations

import math

import pytest

from trialsynth.data.importers import read_cochrane_data_package, read_revman5
from trialsynth.pooling.mantel_haenszel import pool_mh
from trialsynth.pooling.revman_parity import revman_parity, stored_tolerance

from tests.data.importers.helpers import FURLAN_PACKAGE, FURLAN_RM5, METADAT_RM5


def test_furlan_analysis_5_1_reproduces_every_printed_digit():
    report = revman_parity(read_revman5(FURLAN_RM5))
    assert report.all_agree and report.n_compared == 29
    values = report.values.set_index(["scope", "quantity"])
    sub = "subgroup 1: Immediately after the end of the sessions"
    assert values.loc[(sub, "estimate"), "ours"] == pytest.approx(-10.21, abs=0.005)
    assert values.loc[(sub, "z"), "stored_text"] == "4.20"
    for study in ("Kerr 2003", "Leibing 2002", "Mendelson 1983", "Molsberger 2002"):
        assert values.loc[(f"study {study}", "weight"), "agrees"]
    assert report.analyses.iloc[0]["method"] == "IV, Random, 95% CI"


def test_furlan_package_reproduces_the_same():
    report = revman_parity(read_cochrane_data_package(FURLAN_PACKAGE))
    assert report.all_agree and report.n_compared == 28  # the package stores no count of studies


def test_metadat_file_every_method_agrees():
    report = revman_parity(read_revman5(METADAT_RM5))
    assert report.all_agree, report.to_markdown()
    assert len(report.analyses) == 8 and report.n_compared > 500
    methods = set(report.analyses["method"])
    assert {"M-H, Fixed, 95% CI", "M-H, Random, 95% CI", "IV, Random, 95% CI", "Peto, Fixed, 95% CI",
            "IV, Fixed, 95% CI"} <= methods
    diff = report.values[report.values["scope"] == "subgroup differences"]
    assert set(diff["quantity"]) == {"q", "p", "i2"} and diff["agrees"].all()


def test_a_wrong_stored_value_is_caught(tmp_path):
    text = METADAT_RM5.read_text(encoding="utf-8")
    a11 = text.index('<DICH_OUTCOME')
    start = text.index('EFFECT_SIZE="', a11) + len('EFFECT_SIZE="')
    end = text.index('"', start)
    bad = text[:start] + "0.66" + text[end:]  # the M-H RR is 0.6353...
    path = tmp_path / "wrong.rm5"
    path.write_text(bad, encoding="utf-8")
    report = revman_parity(read_revman5(path))
    assert not report.all_agree
    wrong = report.values[~report.values["agrees"]]
    assert list(zip(wrong["analysis_id"], wrong["scope"], wrong["quantity"])) == [("1.1", "overall", "estimate")]
    assert "**no**" in report.to_markdown() and "Values that disagree" in report.to_markdown()


def test_stored_tolerance_follows_the_stored_digits():
    assert stored_tolerance("-10.21", -10.21) == pytest.approx(0.005)
    assert stored_tolerance("4.20", 4.2) == pytest.approx(0.005)
    assert stored_tolerance("0.000027", 2.7e-5) == pytest.approx(5e-7, rel=1e-4)
    assert stored_tolerance("2.7E-5", 2.7e-5) == pytest.approx(5e-7, rel=1e-4)
    assert stored_tolerance("0.6837765472337998", 0.68) == pytest.approx(0.68e-6, rel=1e-3)  # full precision


def test_mh_with_revman_zero_cell_correction():
    """RevMan 5 adds 1/2 to the cells of a table with a zero cell also in its M-H estimate."""
    e1, n1, e2, n2 = [0, 4, 3], [100, 277, 51], [7, 15, 15], [99, 198, 51]
    raw = pool_mh("RR", e1, n1, e2, n2, warn=False)
    corrected = pool_mh("RR", e1, n1, e2, n2, warn=False, add_to_zero=0.5)
    a = [0.5, 4, 3]
    b = [100.5, 273, 48]
    c = [7.5, 15, 15]
    d = [92.5, 183, 36]
    n = [x + y + z + w for x, y, z, w in zip(a, b, c, d)]
    expected = sum(ai * (ci + di) / ni for ai, ci, di, ni in zip(a, c, d, n)) / \
        sum(ci * (ai + bi) / ni for ai, bi, ci, ni in zip(a, b, c, n))
    assert math.exp(corrected.estimate) == pytest.approx(expected, rel=1e-12)
    assert corrected.estimate != pytest.approx(raw.estimate, rel=1e-6)
    with pytest.raises(Exception, match="add_to_zero"):
        pool_mh("RR", e1, n1, e2, n2, warn=False, add_to_zero=-1)
