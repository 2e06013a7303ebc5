"""Issue 8 input variants: each is read correctly or rejected with file, row and column.

VARIANTS below lists every variant tried; ``test_variant_count`` keeps the count honest.
"""

from __future__ import annotations

import codecs

import pytest

from .helpers import BASE, BINARY, CONTRAST, TEST_ONLY, VALID_ROWS, csv_text, row
from trialsynth import load_trials
from trialsynth.data.io import parse_number, read_table
from trialsynth.data.schema import COLUMN_NAMES
from trialsynth.errors import TrialDataError

ACCENT = row(country="Österreich", notes="Müller’s “minimal” needling – café")


def european(rows, keep=()):
    """A European Excel export: semicolons and decimal commas in number cells (except `keep`)."""
    out = []
    for r in rows:
        out.append({k: (v.replace(".", ",") if k not in ("source_ref", "notes", "quote_ids", "source_id", *keep)
                        and v.replace(".", "").replace("-", "").isdigit() else v) for k, v in r.items()})
    return csv_text(out, delimiter=";")


# name -> (bytes of the file, check(df) or None for "must be rejected" + expected message part)
VARIANTS = {
    "utf8": (csv_text(VALID_ROWS).encode("utf-8"), None),
    "utf8_bom": (codecs.BOM_UTF8 + csv_text([ACCENT]).encode("utf-8"), "Österreich"),
    "utf16_le_bom": (csv_text([ACCENT]).encode("utf-16"), "Österreich"),
    "utf16_be_bom": (codecs.BOM_UTF16_BE + csv_text([ACCENT]).encode("utf-16-be"), "Österreich"),
    "cp1252": (csv_text([ACCENT]).encode("cp1252"), "Österreich"),
    "latin1_only": (csv_text([row(country="x\x81Ö")]).encode("latin-1"), "x\x81Ö"),
    "semicolon_decimal_comma": (european(VALID_ROWS).encode("utf-8"), None),
    "semicolon_decimal_point": (csv_text(VALID_ROWS, delimiter=";").encode("utf-8"), None),
    "semicolon_decimal_comma_cp1252_crlf": (european([ACCENT]).replace("\n", "\r\n").encode("cp1252"),
                                            "Österreich"),
    "tab_separated": (csv_text(VALID_ROWS, delimiter="\t").encode("utf-8"), None),
    "crlf": (csv_text(VALID_ROWS, lineterminator="\r\n").encode("utf-8"), None),
    "cr_only": (csv_text(VALID_ROWS, lineterminator="\r").encode("utf-8"), None),
    "no_final_newline": (csv_text(VALID_ROWS).rstrip("\n").encode("utf-8"), None),
    "spaces_around_cells": (csv_text(VALID_ROWS).replace(",", " ,  ").encode("utf-8"), None),
    "no_break_spaces": (csv_text(VALID_ROWS).replace(",", "\u00a0,").encode("utf-8"), None),
    "blank_rows": (csv_text(VALID_ROWS).replace("\n", "\n\n", 2).encode("utf-8") + b"\n\n", None),
    "delimiter_only_rows": (csv_text(VALID_ROWS).encode("utf-8") + b"," * 60 + b"\n", None),
    "blank_rows_above_header": (b"\n\n" + csv_text(VALID_ROWS).encode("utf-8"), None),
    "excel_trailing_empty_columns": (csv_text(VALID_ROWS).replace("\n", ",,\n").encode("utf-8"), None),
    "quoted_newline_and_quotes": (csv_text([row(notes='line 1\nline "2", with comma')]).encode("utf-8"),
                                  'line "2"'),
    "excel_upper_case_booleans": (csv_text([row(add_on="FALSE", higher_is_better="False")]).encode("utf-8"),
                                  30.5),
    "thousands_comma": (csv_text([row(n1="1,234", n2="2,000")]).encode("utf-8"), 1234),
    "thousands_point_decimal_comma": (european([row(mean1="1.234,5", scale_min="", scale_max="")]).encode("utf-8"),
                                      1234.5),
    "thousands_space": (csv_text([row(n1="1 234")]).encode("utf-8"), 1234),
    "unicode_minus": (csv_text([row(CONTRAST, effect="\u22129.5")]).encode("utf-8"), -9.5),
    "scientific_notation": (csv_text([row(TEST_ONLY, p_value="1e-4")]).encode("utf-8"), 1e-4),
    "excel_sep_line": (b"sep=;\r\n" + european(VALID_ROWS).replace("\n", "\r\n").encode("cp1252"), None),
    # rejected, with file/row/column named:
    "ambiguous_thousands": (european([row(n1="1.234")], keep=("n1",)).encode("utf-8"), "ambiguous"),
    "decimal_comma_in_comma_file": (csv_text([row(mean1="30,5")]).encode("utf-8"), "decimal point"),
    "unterminated_quote": (csv_text(VALID_ROWS).encode("utf-8") + b'Synth9,"oops\n', "never closed"),
    "text_after_closing_quote": (csv_text(VALID_ROWS).encode("utf-8") + b'"a"b,c\n', "follows a closing quote"),
    "binary_nul": (b"PK\x03\x04\x00\x00\x00", "NUL byte"),
    "empty_file": (b"", "is empty"),
    "whitespace_only": (b"  \n\n\t\n", "is empty"),
    "ragged_row": (csv_text(VALID_ROWS).encode("utf-8") + b"Synth9,x\n", "cells but the header has"),
    "utf8_bom_invalid": (codecs.BOM_UTF8 + b"study_id\n\xff\xfe\n", "byte-order mark"),
}
def test_variant_count():
    # 27 read correctly + 9 rejected with a clear error = 36 variants
    assert len(VARIANTS) == 36


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_input_variant(tmp_path, name):
    data, check = VARIANTS[name]
    path = tmp_path / f"{name}.csv"
    path.write_bytes(data)
    rejected = isinstance(check, str) and check in {
        "ambiguous", "decimal point", "never closed", "follows a closing quote", "NUL byte", "is empty",
        "cells but the header has", "byte-order mark"}
    if rejected:
        with pytest.raises(TrialDataError) as info:
            load_trials(path)
        items = info.value.items
        p = next((p for p in items if check in p.message), None)
        assert p is not None, [str(i) for i in items]
        assert p.file == str(path)
        if name not in ("empty_file", "whitespace_only", "utf8_bom_invalid"):
            assert p.row is not None
        if name in ("ambiguous_thousands", "decimal_comma_in_comma_file"):
            assert p.column in ("n1", "mean1") and p.value in ("1.234", "30,5")
        return
    df = load_trials(path)
    assert len(df) >= 1
    if check is None:
        assert list(df["study_id"]) == [r["study_id"] for r in VALID_ROWS]
        assert df.loc[df.index[0], "mean1"] == 30.5 and df.loc[df.index[0], "sd2"] == 13.5
        assert df.loc[df.index[2], "effect_ci_low"] == -15.25
        assert df["notes"].iloc[0] == "synthetic test row"  # spaces stripped
    elif isinstance(check, str):
        assert any(check in str(v) for v in df[["country", "notes"]].to_numpy().ravel()), df[["country", "notes"]]
    else:
        values = df[["n1", "mean1", "effect", "p_value"]].to_numpy(dtype=float, na_value=float("nan")).ravel()
        assert any(abs(v - check) < 1e-12 for v in values if v == v)


def test_encoding_and_delimiter_are_reported(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(european(VALID_ROWS).encode("cp1252"))
    df = load_trials(path)
    assert df.attrs["delimiter"] == ";" and df.attrs["decimal"] == ","
    path.write_bytes(csv_text([ACCENT]).encode("cp1252"))
    raw = read_table(path)
    assert raw.encoding == "cp1252" and any("Windows-1252" in n for n in raw.notes)


def test_blank_rows_keep_spreadsheet_numbering(tmp_path):
    text = csv_text([BASE, BINARY, row(CONTRAST, n1="0")])
    lines = text.split("\n")
    lines.insert(2, "")  # blank spreadsheet row 3
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(TrialDataError) as info:
        load_trials(path)
    assert [(p.row, p.column) for p in info.value.items] == [(5, "n1")]


@pytest.mark.parametrize("text,decimal,expected", [
    ("12.5", ".", 12.5), ("-3", ".", -3.0), (".5", ".", 0.5), ("1,234", ".", 1234.0),
    ("1,234,567.5", ".", 1234567.5), ("12,5", ",", 12.5), ("1.234,5", ",", 1234.5),
    ("1.234.567", ",", 1234567.0), ("0.125", ",", 0.125), ("\u22121.5", ".", -1.5), ("1e3", ".", 1000.0),
    ("1 234", ".", 1234.0), ("1\u00a0234,5", ",", 1234.5),
])
def test_parse_number_accepts(text, decimal, expected):
    assert parse_number(text, decimal) == expected


@pytest.mark.parametrize("text,decimal", [
    ("nan", "."), ("inf", "."), ("-Infinity", "."), ("1,5", "."), ("1.234", ","), ("12a", "."),
    ("", "."), ("1..2", "."), ("--1", "."), ("1e999", "."), ("0x10", "."), ("1_000", "."), ("1 234,5", "."),
])
def test_parse_number_rejects(text, decimal):
    with pytest.raises(ValueError):
        parse_number(text, decimal)


def test_sep_line_does_not_shift_row_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"sep=;\n" + csv_text([BASE, row(BINARY, events1="99")], delimiter=";").encode())
    with pytest.raises(TrialDataError) as info:
        load_trials(path)
    assert [(p.row, p.column) for p in info.value.items] == [(3, "events1")]
