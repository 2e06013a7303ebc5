"""`trialsynth add-trial` / `validate -v` as a newcomer meets them (issue 12, defect 5, and the
UX review's table of deliberate mistakes): every new row is echoed as the report's analysis
understands it, a sign slip is an error naming the quote, and each mistake gets one clear message.

Works on a copy of the project's data/ and evidence/ in a temporary folder (never the real
files). The Witt 2006 row is the review's worked example; its record gets the DOI the reviewer
added (10.1093/aje/kwj224) when the copy does not have one yet.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

from trialsynth.cli.main import main
from trialsynth.data.loading import load_trials
from trialsynth.report.analysis import run_analysis

ROOT = Path(__file__).resolve().parents[1]

WITT = dict(study_id="Witt2006", comparison_id="acu_plus_rc_vs_rc", year="2006", country="Germany",
            condition="chronic_lbp", intervention_type="individualized",
            intervention_label="acupuncture plus routine care", comparator_class="usual_care",
            comparator_label="routine care", add_on="true", sessions="15", treatment_weeks="13",
            outcome="function", scale="HFAQ", scale_min="0", scale_max="100", higher_is_better="true",
            timepoint_weeks="13", data_shape="contrast", n1="1549", n2="1544", effect_measure="MD",
            effect="9.4", effect_ci_low="8.3", effect_ci_high="10.5", source_id="Witt2006",
            source_ref="doi:10.1093/aje/kwj224", source_location="abstract", quote_ids="Q1;Q2",
            derived="timepoint_weeks=months_to_weeks;treatment_weeks=months_to_weeks")
FLIPPED = {**WITT, "effect": "-9.4", "effect_ci_low": "-10.5", "effect_ci_high": "-8.3"}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of data/ and evidence/ without any Witt2006 row, its record carrying the DOI."""
    shutil.copytree(ROOT / "evidence", tmp_path / "evidence")
    (tmp_path / "data").mkdir()
    for name in ("reviews.csv", "trials.schema.json"):
        if (ROOT / "data" / name).exists():
            shutil.copy2(ROOT / "data" / name, tmp_path / "data" / name)
    text = (ROOT / "data" / "trials.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    kept = [rows[0]] + [r for r in rows[1:] if r and r[0] != "Witt2006"]
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(kept)
    (tmp_path / "data" / "trials.csv").write_text(buf.getvalue(), encoding="utf-8")
    record = tmp_path / "evidence" / "Witt2006.yaml"
    body = record.read_text(encoding="utf-8")
    if not re.search(r"^doi:", body, re.MULTILINE):
        body = body.replace("identifiers: not found\n", "doi: 10.1093/aje/kwj224\n")
        body = body.replace("urls:\n", "urls:\n  - url: https://doi.org/10.1093/aje/kwj224\n"
                            "    accessed: 2026-12-01\n    what: DOI landing page\n", 1)
        record.write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def header() -> list[str]:
    return (ROOT / "data" / "trials.csv").read_text(encoding="utf-8").splitlines()[0].split(",")


def write_rows(path: Path, rows: list[dict], *, columns: list[str] | None = None) -> Path:
    columns = columns or header()
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in header()])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def cli(capsys, *args) -> tuple[int, str, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def group_k(analysis, key) -> int:
    p = analysis.pooled
    m = p[(p["outcome"] == key[0]) & (p["comparator_class"] == key[1]) & (p["window"] == key[2])]
    return int(m["k"].iloc[0]) if len(m) else 0


# ----------------------------------------------------------------------------- the worked example

def test_correct_row_is_echoed_as_the_report_will_use_it(project, capsys):
    new = write_rows(project / "witt.csv", [WITT])
    before = run_analysis("data/trials.csv")
    k0 = group_k(before, ("function", "usual_care", "immediate"))
    data_before = (project / "data" / "trials.csv").read_bytes()
    rc, out, err = cli(capsys, "add-trial", str(new), "--dry-run")
    assert rc == 0, err
    assert (project / "data" / "trials.csv").read_bytes() == data_before  # dry run wrote nothing
    assert "row 2 of " in out and "Witt2006 acu_plus_rc_vs_rc, function, 13 wk (0 after treatment) -> window immediate" in out
    assert "MD +9.4 (8.3 to 10.5) on HFAQ (higher is better) -> SMD -0." in out
    assert "favours acupuncture" in out
    assert f"enters pooled group function x usual_care x immediate: k {k0} -> {k0 + 1}" in out

    # the echo is what the report computes once the row is in
    rc, out_real, err = cli(capsys, "add-trial", str(new))
    assert rc == 0, err
    assert out_real.index("as the analysis understands") < out_real.index("OK: added")
    after = run_analysis("data/trials.csv")
    witt = after.effects[after.effects["study_id"] == "Witt2006"].iloc[0]
    shown = float(re.search(r"-> SMD ([+-]\d+\.\d+)", out).group(1))
    assert shown == pytest.approx(float(witt["yi"]), abs=0.005) and float(witt["yi"]) < 0
    assert group_k(after, ("function", "usual_care", "immediate")) == k0 + 1


def test_sign_flip_is_refused_naming_file_row_column_and_quote(project, capsys):
    new = write_rows(project / "flipped.csv", [FLIPPED])
    data_before = (project / "data" / "trials.csv").read_bytes()
    rc, out, err = cli(capsys, "add-trial", str(new), "--dry-run")
    assert rc == 2
    (line,) = [x for x in err.splitlines() if "direction" in x]
    assert line.startswith(f"error: {new}, row 2, column 'effect': direction: the numbers favour routine care (arm 2)")
    assert "quote Q1 of evidence/Witt2006.yaml says acupuncture (arm 1) did better" in line
    assert "back function improved by 12.1" in line and "(value '-9.4')" in line
    rc, _, _ = cli(capsys, "add-trial", str(new))
    assert rc == 2 and (project / "data" / "trials.csv").read_bytes() == data_before


def test_flip_without_words_in_the_quote_shows_in_the_echo(project, capsys):
    # a record whose only quote prints the unsigned difference: no words, so no error, but the echo
    # says plainly which arm the entered numbers favour (synthetic record, test data only)
    (project / "evidence" / "SynthUnsigned2006.yaml").write_text(
        "id: SynthUnsigned2006\nkind: trial\ncitation: Synthetic A. Test only. Nowhere J 2006;1:1.\n"
        "year: 2006\ndoi: 10.1000/synthunsigned\nurls:\n  - url: https://example.org/10.1000/synthunsigned\n"
        "    accessed: 2026-12-01\n    what: synthetic\nquotes:\n  Q1:\n    text: 'Difference 9.4 points (95% CI 8.3 to 10.5)"
        " at 3 months; 1549 and 1544 randomised; up to 15 sessions over three months.'\n    location: abstract\n"
        "    url: https://example.org/10.1000/synthunsigned\n", encoding="utf-8")
    row = {**FLIPPED, "study_id": "SynthUnsigned2006", "source_id": "SynthUnsigned2006",
           "source_ref": "doi:10.1000/synthunsigned", "quote_ids": "Q1", "country": "", "year": "2006"}
    rc, out, err = cli(capsys, "add-trial", str(write_rows(project / "s.csv", [row])), "--dry-run",
                       "--no-evidence-check")
    assert rc == 0, err
    assert "MD -9.4 (-10.5 to -8.3) on HFAQ (higher is better) -> SMD +0." in out
    assert "favours routine care" in out


# ----------------------------------------------------------------------------- deliberate mistakes

def test_misspelt_column_gets_did_you_mean_and_no_knock_on(project, capsys):
    cols = ["efect_ci_low" if c == "effect_ci_low" else c for c in header()]
    new = write_rows(project / "typo.csv", [WITT], columns=cols)
    rc, _, err = cli(capsys, "add-trial", str(new), "--dry-run")
    errors = err.strip().splitlines()
    assert rc == 2 and len(errors) == 1, errors
    assert "column 'efect_ci_low': unknown column" in errors[0] and "did you mean 'effect_ci_low'?" in errors[0]


def test_decimal_comma_in_quotes_is_reported_once_per_cell(project, capsys):
    new = write_rows(project / "c.csv", [{**WITT, "effect": "9,4", "effect_ci_low": "8,3", "effect_ci_high": "10,5"}])
    rc, _, err = cli(capsys, "add-trial", str(new), "--dry-run")
    errors = err.strip().splitlines()
    assert rc == 2 and len(errors) == 3, errors
    assert {re.search(r"column '(\w+)'", e).group(1) for e in errors} == {"effect", "effect_ci_low", "effect_ci_high"}
    assert all("semicolon-separated" in e for e in errors)


def test_unquoted_decimal_commas_get_a_hint(project, capsys):
    line = ",".join((WITT.get(c, "").replace(".", ",") if c.startswith("effect") and c != "effect_measure"
                     else ('"' + WITT.get(c, "") + '"' if ";" in WITT.get(c, "") else WITT.get(c, "")))
                    for c in header())
    new = project / "u.csv"
    new.write_text(",".join(header()) + "\n" + line + "\n", encoding="utf-8")
    rc, _, err = cli(capsys, "add-trial", str(new), "--dry-run")
    assert rc == 2 and "cells but the header has" in err and "decimal commas?" in err and "9,4" in err


@pytest.mark.parametrize("written", ["https://doi.org/10.1093/aje/kwj224", "10.1093/aje/kwj224",
                                     "http://dx.doi.org/10.1093/AJE/KWJ224", "DOI: 10.1093/aje/kwj224"])
def test_doi_forms_of_the_record_are_normalised(project, capsys, written):
    new = write_rows(project / "d.csv", [{**WITT, "source_ref": written}])
    rc, out, err = cli(capsys, "add-trial", str(new))
    assert rc == 0, err
    assert f"{written!r} is written as 'doi:10.1093/aje/kwj224'" in out
    df = load_trials("data/trials.csv")
    assert list(df.loc[df["study_id"] == "Witt2006", "source_ref"]) == ["doi:10.1093/aje/kwj224"]


def test_wrong_or_missing_doi_says_exactly_what_to_write(project, capsys):
    new = write_rows(project / "w.csv", [{**WITT, "source_ref": "doi:10.1093/aje/kwj999"}])
    rc, _, err = cli(capsys, "add-trial", str(new), "--dry-run")
    (line,) = err.strip().splitlines()
    assert rc == 2 and "expected doi:10.1093/aje/kwj224" in line and "None" not in line
    new = write_rows(project / "m.csv", [{**WITT, "source_ref": ""}])
    rc, _, err = cli(capsys, "add-trial", str(new), "--dry-run")
    (line,) = err.strip().splitlines()
    assert "missing value" in line and "write doi:10.1093/aje/kwj224" in line and "None" not in line


def test_record_without_identifiers_is_named_as_the_problem(project, capsys):
    body = (project / "evidence" / "Witt2006.yaml").read_text(encoding="utf-8")
    body = re.sub(r"^doi: .*\n", "identifiers: not found\n", body, flags=re.MULTILINE)
    body = re.sub(r"^pmid: .*\n", "", body, flags=re.MULTILINE)
    (project / "evidence" / "Witt2006.yaml").write_text(body, encoding="utf-8")
    rc, _, err = cli(capsys, "add-trial", str(write_rows(project / "n.csv", [WITT])), "--dry-run")
    line = next(x for x in err.splitlines() if "source_ref" in x)
    assert rc == 2 and "evidence/Witt2006.yaml has no doi or pmid (it says identifiers: not found)" in line
    assert "None" not in line


def test_number_not_in_quote_names_the_nearest_printed_value(project, capsys):
    rc, _, err = cli(capsys, "add-trial", str(write_rows(project / "x.csv", [{**WITT, "effect": "9.5"}])), "--dry-run")
    assert rc == 2 and "nearest printed value 9.4" in err


def test_wrong_months_to_weeks_names_what_the_printed_numbers_give(project, capsys):
    rc, _, err = cli(capsys, "add-trial", str(write_rows(project / "t.csv", [{**WITT, "timepoint_weeks": "12"}])),
                     "--dry-run")
    line = next(x for x in err.splitlines() if "months_to_weeks" in x)
    assert rc == 2 and "3 -> 13" in line and "gives this value" not in line


# ----------------------------------------------------------------------------- validate

def test_validate_verbose_echoes_every_row(project, capsys):
    rc, out, err = cli(capsys, "validate", "data/trials.csv", "--provenance", "-v")
    assert rc == 0, err
    n = len(load_trials("data/trials.csv"))
    rows = [x for x in out.splitlines() if re.match(r"row \d+: ", x)]
    assert len(rows) == n
    assert "favours acupuncture" in out and "in pooled group pain x sham x immediate (k " in out
    assert "enters no pool" in out  # p-value-only rows without a direction, other populations


def test_validate_provenance_catches_a_sign_slip_in_the_table(project, capsys):
    write_rows(project / "data" / "trials.csv",
               [dict(zip(header(), r)) for r in list(csv.reader(open(project / "data" / "trials.csv")))[1:]] + [FLIPPED])
    rc, _, err = cli(capsys, "validate", "data/trials.csv", "--provenance")
    assert rc == 1
    (line,) = [x for x in err.splitlines() if "direction:" in x]
    assert "data/trials.csv, row " in line and "column 'effect'" in line and "Q1" in line


def test_every_subcommand_help_has_a_description(capsys):
    from trialsynth.cli.main import SUBCOMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    names = {n for n in sub.choices if "_" not in n}
    assert {m.replace("_", "-") for m in SUBCOMMANDS} <= names
    for name in sorted(names):
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        usage, _, rest = text.partition("\n\n")
        description = rest.split("\n\n")[0]
        assert usage.startswith(f"usage: trialsynth {name}")
        assert not description.lstrip().startswith(("positional arguments", "options")), \
            f"trialsynth {name} --help has no description"
        assert len(description.split()) >= 8, description


def test_validate_help_says_where_provenance_finds_the_records(capsys):
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--provenance" in text and "(default: evidence/)" in text and "-v, --verbose" in text
