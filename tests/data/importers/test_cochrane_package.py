"""read_cochrane_data_package: the hand-built package (folder and zip), traps, hostile zips."""

from __future__ import annotations

import math
import stat
import zipfile

import pytest

from trialsynth.data.importers import read_cochrane_data_package, read_revman5
from trialsynth.data.importers import _safe
from trialsynth.errors import TrialDataError

from .helpers import FURLAN_PACKAGE, FURLAN_RM5, zip_bytes, zip_folder

_SETTINGS = "CD000001-analysis-data/CD000001-overall-estimates-and-settings.csv"
_ROWS = "CD000001-analysis-data/CD000001-data-rows.csv"


def _settings_csv(**over) -> str:
    cols = {"Analysis group": "1", "Analysis number": "1", "Analysis name": "Pain", "Analysis group name": "A vs B",
            "Data type": "Generic inverse variance", "Log-scale data": "TRUE", "Statistical method": "Inverse Variance",
            "Effect measure": "Hazard Ratio", "Analysis model": "Fixed Effect", "Mean": "0.8", "CI start": "0.6",
            "CI end": "1.1", "Effect Z": "1.4", "Heterogeneity Tau²": "0"}
    cols.update(over)
    return ",".join(cols) + "\n" + ",".join(f'"{v}"' for v in cols.values()) + "\n"


def test_package_folder_and_zip_read_the_same(tmp_path):
    folder = read_cochrane_data_package(FURLAN_PACKAGE)
    zipped = read_cochrane_data_package(zip_folder(FURLAN_PACKAGE, tmp_path / "CD001351-dataPackage.zip"))
    assert folder.review_id == zipped.review_id == "CD001351"
    cols = ["study", "year", "n1", "mean1", "sd1", "n2", "mean2", "sd2", "effect", "ci_low", "ci_high", "weight"]
    assert folder.rows[cols].equals(zipped.rows[cols])
    (a,) = zipped.analyses
    assert (a.analysis_id, a.data_type, a.measure, a.method, a.model) == ("5.1", "continuous", "MD", "IV", "random")
    assert a.comparison_name.startswith("acupuncture versus placebo") and a.outcome_name == "pain (lower values mean better)"


def test_package_numbers_equal_the_rm5_file():
    """The two hand-built files hold the same published numbers."""
    package = read_cochrane_data_package(FURLAN_PACKAGE).rows.set_index("study")
    rm5 = read_revman5(FURLAN_RM5).rows.set_index("study")
    cols = ["year", "n1", "mean1", "sd1", "n2", "mean2", "sd2", "effect", "ci_low", "ci_high", "weight"]
    assert package[cols].equals(rm5[cols])
    assert package.loc["Kerr 2003", "footnotes"] == rm5.loc["Kerr 2003", "footnotes"] == "control: placebo TENS"


def test_package_traps_bom_zero_filled_unsigned_z():
    review = read_cochrane_data_package(FURLAN_PACKAGE)
    assert any("byte-order mark removed" in n for n in review.notes)  # else "Analysis group" is not found
    (a,) = review.analyses
    rows = review.rows
    assert rows["giv_se"].eq(0).all()  # zero-filled GIV columns of a continuous analysis ...
    assert a.data_type == "continuous"  # ... are not what the analysis reads
    sub = a.subgroups[0]["stored"]
    assert sub["z"] == pytest.approx(-4.20) and sub["estimate"] == -10.21
    assert not a.totals and all(math.isnan(v) for v in a.subgroup_difference.values())


def test_generic_inverse_variance_package(tmp_path):
    rows = ("Analysis group,Analysis number,Study,Study year,GIV Mean,GIV SE,Experimental N,Control N,Mean,CI start,CI end\n"
            "1,1,Alpha 2001,2001,-0.22,0.1,0,0,0.80,0.66,0.98\n"
            "1,1,Beta 2003,2003,-0.1,0,,,,,\n")
    path = tmp_path / "pkg.zip"
    path.write_bytes(zip_bytes({_SETTINGS: _settings_csv(), _ROWS: rows}))
    review = read_cochrane_data_package(path)
    (a,) = review.analyses
    assert (a.data_type, a.measure, a.log_scale, a.model) == ("generic", "HR", True, "fixed")
    alpha, beta = review.rows.to_dict("records")
    assert alpha["giv_estimate"] == -0.22 and math.isnan(alpha["n1"])  # N of 0 = not given
    assert not beta["estimable"] and math.isnan(beta["giv_se"])  # GIV SE 0 = never computed
    assert a.overall["z"] == pytest.approx(-1.4)  # stored unsigned, the HR 0.8 is below 1
    assert math.isnan(a.overall["tau2"])  # fixed effect


def test_risk_of_bias_2_columns_in_data_rows(tmp_path):
    rows = ("Analysis group,Analysis number,Study,Study year,GIV Mean,GIV SE,Mean,CI start,CI end,"
            "Bias arising from the randomization process judgement,Bias arising from the randomization process support,"
            "Overall bias judgement,Overall bias support\n"
            "1,1,Alpha 2001,2001,-0.22,0.1,0.80,0.66,0.98,Low risk,Central allocation,Some concerns,Missing data\n")
    path = tmp_path / "pkg.zip"
    path.write_bytes(zip_bytes({_SETTINGS: _settings_csv(), _ROWS: rows}))
    rob = read_cochrane_data_package(path).risk_of_bias
    got = {r["domain"]: (r["judgement"], r["rob"], r["support"], r["tool"]) for r in rob.to_dict("records")}
    assert got == {"Bias arising from the randomization process": ("Low risk", "low", "Central allocation", "RoB 2"),
                   "Overall bias": ("Some concerns", "some_concerns", "Missing data", "RoB 2")}


def test_windows_1252_csv_is_read_with_a_note(tmp_path):
    rows = ("Analysis group,Analysis number,Study,Study year,GIV Mean,GIV SE\n1,1,Jos\xe9 2001,2001,-0.2,0.1\n")
    path = tmp_path / "pkg.zip"
    path.write_bytes(zip_bytes({_SETTINGS: _settings_csv(), _ROWS: rows.encode("cp1252")}))
    review = read_cochrane_data_package(path)
    assert review.rows.iloc[0]["study"] == "Jos\xe9 2001"
    assert any("Windows-1252" in n for n in review.notes)


def test_bad_number_names_file_row_and_column(tmp_path):
    rows = "Analysis group,Analysis number,Study,GIV Mean,GIV SE\n1,1,Alpha 2001,-0.2,0.1\n1,1,Beta 2002,n.r.,0.1\n"
    path = tmp_path / "pkg.zip"
    path.write_bytes(zip_bytes({_SETTINGS: _settings_csv(), _ROWS: rows}))
    with pytest.raises(TrialDataError) as err:
        read_cochrane_data_package(path)
    (line,) = err.value.problems()
    assert f"{path}: {_ROWS}, row 3, column 'GIV Mean': not a number (value 'n.r.')" == line


def test_not_a_package(tmp_path):
    path = tmp_path / "other.zip"
    path.write_bytes(zip_bytes({"readme.txt": "hello"}))
    with pytest.raises(TrialDataError, match="not a Cochrane data package.*overall-estimates-and-settings"):
        read_cochrane_data_package(path)
    text = tmp_path / "text.zip"
    text.write_text("not a zip")
    with pytest.raises(TrialDataError, match="not a readable zip file"):
        read_cochrane_data_package(text)


# ----------------------------------------------------------------------------- hostile zips


@pytest.mark.parametrize("member, why", [
    ("../../etc/CD000001-data-rows.csv", "contains '..'"),
    ("/tmp/CD000001-data-rows.csv", "absolute path"),
    ("C:/Windows/CD000001-data-rows.csv", "absolute path"),
    ("a\\..\\..\\CD000001-data-rows.csv", "contains '..'"),
])
def test_path_traversal_is_refused(tmp_path, member, why):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(_SETTINGS, _settings_csv())
        z.writestr(zipfile.ZipInfo(member), "x")
    with pytest.raises(TrialDataError) as err:
        read_cochrane_data_package(path)
    (line,) = err.value.problems()
    assert line.startswith(f"{path}: {member}") and "refused" in line and why in line
    assert not (tmp_path.parent / "etc").exists()


def test_symbolic_link_member_is_refused(tmp_path):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as z:
        info = zipfile.ZipInfo(_ROWS)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
        z.writestr(_SETTINGS, _settings_csv())
    with pytest.raises(TrialDataError, match="refused: the member is a symbolic link"):
        read_cochrane_data_package(path)


def test_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(_SETTINGS, _settings_csv())
        z.writestr(_ROWS, b"0" * (8 * 1024 * 1024))
    with pytest.raises(TrialDataError, match=r"refused: it expands \d+ times .*zip bomb"):
        read_cochrane_data_package(path)


def test_member_count_and_size_limits(tmp_path, monkeypatch):
    path = tmp_path / "many.zip"
    path.write_bytes(zip_bytes({_SETTINGS: _settings_csv(), _ROWS: "a,b\n", **{f"x{i}.txt": "x" for i in range(5)}}))
    with pytest.raises(TrialDataError, match="has 7 members, more than the 6"):
        _safe.read_zip_members(path, max_members=6)
    with pytest.raises(TrialDataError, match="more than the 10 a member may have"):
        _safe.read_zip_members(path, max_member_bytes=10)


def test_total_size_is_enforced_while_reading(tmp_path):
    """The members' bytes count against the archive's limit as they are read, not as declared."""
    path = tmp_path / "big.zip"
    path.write_bytes(zip_bytes({_ROWS: "y" * 5000}))
    assert path.stat().st_size < 1000
    with pytest.raises(TrialDataError, match="the 1000 bytes the archive may hold in all"):
        _safe.read_zip_members(path, max_total_bytes=1000)
