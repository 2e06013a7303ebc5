"""Fuzzing the data layer (issue 8): random and mutated CSVs into load_trials, `trialsynth
validate` and add-trial.  Nothing but TrialDataError may come out, and whatever loads satisfies
the validation guarantees.  Nine tests run FUZZ_EXAMPLES hypothesis examples each (9 x 200 =
1800 cases per run, derandomised so CI is reproducible) plus 80 file-format round trips of
add-trial (marked slow).  For a deeper hunt, raise FUZZ_EXAMPLES and set derandomize=False."""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.helpers import BASE, BINARY, CONTRAST, TEST_ONLY, VALID_ROWS, csv_text
from trialsynth.cli.add_trial import add_trials
from trialsynth.cli.main import main as cli_main
from trialsynth.data.loading import load_trials
from trialsynth.data.schema import BY_NAME, COLUMN_NAMES
from trialsynth.data.windows import DEFAULT_WINDOWS, assign_windows, select_per_window
from trialsynth.errors import TrialDataError

FUZZ_EXAMPLES = 200
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VALID_TEXT = csv_text(VALID_ROWS)
NASTY = [",", ";", "\t", '"', "\n", "\r", "\r\n", "\x00", "é", "\u2212", " ", "\u00a0", "=", "-", ".",
         "0", "9", "e", "nan", "inf", "true", "\ufeff", "\x81", "1,234", "1.234", "''"]


def _tmpdir():
    return tempfile.TemporaryDirectory(prefix="fuzz-")


@st.composite
def mutated_text(draw):
    text = VALID_TEXT
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "delete", "replace_cell", "dup_line", "drop_line", "swap"]))
        if not text:
            break
        pos = draw(st.integers(0, len(text) - 1))
        if kind == "insert":
            text = text[:pos] + draw(st.sampled_from(NASTY) | st.text(max_size=5)) + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)):]
        elif kind in ("dup_line", "drop_line", "swap", "replace_cell"):
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "dup_line":
                lines.insert(i, lines[i])
            elif kind == "drop_line":
                del lines[i]
            elif kind == "swap":
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            else:
                cells = lines[i].split(",")
                k = draw(st.integers(0, max(0, len(cells) - 1)))
                cells[k] = draw(st.sampled_from(NASTY) | st.text(max_size=8) |
                                st.floats(allow_nan=True).map(str) | st.integers().map(str))
                lines[i] = ",".join(cells)
            text = "\n".join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


def check_guarantees(df: pd.DataFrame) -> None:
    """What a successful load promises (data/README.md, Validation)."""
    assert list(df.columns) == list(COLUMN_NAMES)
    for col in ("n1", "n2"):
        assert (df[col].dropna() > 0).all()
    for col in ("sd1", "sd2", "se1", "se2", "effect_se"):
        assert (df[col].dropna() > 0).all()
    for arm in ("1", "2"):
        both = df[[f"events{arm}", f"n{arm}"]].dropna()
        assert (both[f"events{arm}"] >= 0).all() and (both[f"events{arm}"] <= both[f"n{arm}"]).all()
        ci = df[[f"mean{arm}", f"ci_low{arm}", f"ci_high{arm}"]].dropna()
        assert ((ci[f"ci_low{arm}"] <= ci[f"mean{arm}"]) & (ci[f"mean{arm}"] <= ci[f"ci_high{arm}"])).all()
    for col, meta in BY_NAME.items():
        if meta.required == "always":
            assert df[col].notna().all(), col
        if meta.enum is not None:
            assert set(df[col].dropna().astype(str)) <= set(meta.enum)
    numbers = df.select_dtypes("float64")
    assert not numbers.isin([math.inf, -math.inf]).any().any()
    keys = df[["study_id", "comparison_id", "outcome", "scale", "timepoint_weeks"]]
    assert not keys.duplicated().any()
    assign_windows(df)  # every row falls in a window


def load_or_error(data: bytes):
    with _tmpdir() as d:
        path = Path(d) / "trials.csv"
        path.write_bytes(data)
        try:
            df = load_trials(path)
        except TrialDataError as exc:
            assert exc.items and all(p.file == str(path) for p in exc.items)
            assert all(p.row is None or p.row >= 1 for p in exc.items)
            return None
    check_guarantees(df)
    return df


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_random_bytes(data):
    load_or_error(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list(",;\t\"\n\r =-.0123456789abcdefnasy_") + ["é"]), max_size=400))
def test_fuzz_random_text_with_csv_characters(text):
    load_or_error(("study_id,n1,mean1\n" if len(text) % 2 else "") .encode() + text.encode("utf-8"))


@FUZZ
@given(mutated_text())
def test_fuzz_mutated_valid_files(data):
    load_or_error(data)


CELL = st.one_of(st.just(""), st.sampled_from(NASTY), st.text(max_size=6),
                 st.integers(-5, 200).map(str), st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: f"{x:.3g}"))


@st.composite
def structured_rows(draw):
    rows = []
    for base in draw(st.lists(st.sampled_from([BASE, BINARY, CONTRAST, TEST_ONLY]), min_size=1, max_size=5)):
        r = dict(base)
        for col in draw(st.lists(st.sampled_from(COLUMN_NAMES), max_size=4)):
            r[col] = draw(CELL)
        rows.append(r)
    return rows


@FUZZ
@given(structured_rows())
def test_fuzz_cells_keep_the_guarantees(rows):
    load_or_error(csv_text(rows).encode("utf-8"))


@FUZZ
@given(mutated_text())
def test_fuzz_validate_command(data):
    with _tmpdir() as d:
        path = Path(d) / "trials.csv"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main(["validate", str(path)])
        assert code in (0, 1)
        assert (code == 0) == out.getvalue().startswith("OK ")
        assert "Traceback" not in err.getvalue()
        if code == 1:
            assert all(line.startswith(("error: ", "note: ")) or line.endswith("problem(s)")
                       for line in err.getvalue().splitlines())


@FUZZ
@given(st.one_of(mutated_text(), structured_rows().map(lambda r: csv_text(r).encode("utf-8"))))
def test_fuzz_add_trial_never_writes_an_invalid_table(new_data):
    with _tmpdir() as d:
        data = Path(d) / "data" / "trials.csv"
        data.parent.mkdir()
        data.write_text(csv_text([BASE]))
        before = data.read_bytes()
        new = Path(d) / "new.csv"
        new.write_bytes(new_data)
        try:
            add_trials(new, data, check_evidence=False)
        except TrialDataError:
            assert data.read_bytes() == before
            assert not (data.parent / "backups").exists()
            return
        after = data.read_bytes()
        assert after.startswith(before)
        check_guarantees(load_trials(data))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["sham", "usual_care"]),
                          st.floats(0, 300, allow_nan=False), st.one_of(st.none(), st.integers(1, 3))),
                min_size=1, max_size=25))
def test_fuzz_select_per_window_one_closest_row_per_group(spec):
    df = pd.DataFrame({
        "study_id": [s for s, _, _, _ in spec], "comparator_class": [c for _, c, _, _ in spec],
        "outcome": "pain", "timepoint_weeks": [w + 4 for _, _, w, _ in spec], "treatment_weeks": 4.0,
        "weeks_after_treatment": math.nan, "priority": pd.array([p for *_, p in spec], dtype="Int64"),
    }, index=pd.RangeIndex(2, 2 + len(spec), name="row"))
    framed = assign_windows(df)
    for name, weeks in zip(framed["window"], framed["weeks_after"]):
        assert next(w for w in DEFAULT_WINDOWS if w.name == name).contains(weeks)
    out = select_per_window(framed)
    keys = ["study_id", "comparator_class", "outcome", "window"]
    assert not out.duplicated(subset=keys).any()
    assert len(out.groupby(keys, observed=True)) == len(framed.groupby(keys, observed=True))
    targets = {w.name: w.target for w in DEFAULT_WINDOWS}
    for key, group in framed.groupby(keys, observed=True):
        best = (group["weeks_after"] - targets[key[3]]).abs().round(9).min()
        chosen = out[(out[keys] == pd.Series(key, index=keys)).all(axis=1)]
        assert abs(abs(chosen["weeks_after"].iloc[0] - targets[key[3]]) - best) < 1e-6


FORMAT = st.fixed_dictionaries({
    "encoding": st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    "delimiter": st.sampled_from([",", ";", "\t"]),
    "decimal_comma": st.booleans(),
    "ending": st.sampled_from(["\n", "\r\n"]),
    "final_newline": st.booleans(),
    "drop_optional": st.booleans(),
})


def render(rows, fmt) -> bytes:
    """Rows written as a spreadsheet in `fmt` would export them."""
    numeric = {c for c, m in BY_NAME.items() if m.type in ("number", "integer")}
    cols = [c for c in COLUMN_NAMES if not (fmt["drop_optional"] and c in ("country", "notes", "rob_source"))]
    comma = fmt["decimal_comma"] and fmt["delimiter"] != ","
    out = [{c: (v.replace(".", ",") if comma and c in numeric else v) for c, v in r.items()} for r in rows]
    text = csv_text(out, columns=cols, delimiter=fmt["delimiter"], lineterminator=fmt["ending"])
    if not fmt["final_newline"]:
        text = text.rstrip("\r\n")
    data = text.encode("cp1252" if fmt["encoding"] == "cp1252" else "utf-8")
    return (b"\xef\xbb\xbf" if fmt["encoding"] == "utf-8-sig" else b"") + data


ROUND_TRIP_EXAMPLES = 80  # each example writes files with fsync: ~0.1 s
ACCENTED = dict(BASE, country="Österreich", notes="Müller; “quoted”, 2 lines\nsecond")


@pytest.mark.slow
@settings(FUZZ, max_examples=ROUND_TRIP_EXAMPLES)
@given(FORMAT, FORMAT, st.permutations([dict(CONTRAST, notes="café; “x”, 1,5"), TEST_ONLY, BINARY]))
def test_fuzz_add_trial_round_trips_every_file_format(old_fmt, new_fmt, new_rows):
    """Whatever format the table and the new file are in, the result loads with exactly the
    old rows' and the new rows' values, and the old bytes are kept (unless columns were added)."""
    with _tmpdir() as d:
        data = Path(d) / "trials.csv"
        data.write_bytes(render([ACCENTED], old_fmt))
        new = Path(d) / "new.csv"
        new.write_bytes(render(list(new_rows), new_fmt))
        expected_old = load_trials(data)
        expected_new = load_trials(new)
        before = data.read_bytes()
        add_trials(new, data, check_evidence=False)
        combined = load_trials(data)
        if not (old_fmt["drop_optional"] and not new_fmt["drop_optional"]):
            assert data.read_bytes().startswith(before.rstrip(b"\r\n"))
        assert len(combined) == 1 + len(new_rows)
        expected = pd.concat([expected_old, expected_new], ignore_index=True)
        got = combined.reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=True)


@FUZZ
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
       st.sampled_from(["plain", "grouped", "comma", "grouped_comma", "repr", "minus_sign"]))
def test_fuzz_parse_number_round_trips_spreadsheet_spellings(x, style):
    from trialsynth.data.io import parse_number

    text = f"{x:.6f}"
    expected = float(text)
    if style == "plain":
        got = parse_number(text, ".")
    elif style == "grouped":
        got = parse_number(f"{expected:,.6f}", ".")
    elif style == "comma":
        got = parse_number(text.replace(".", ","), ",")
    elif style == "grouped_comma":
        got = parse_number(f"{expected:,.6f}".replace(",", " ").replace(".", ",").replace(" ", "."), ",")
    elif style == "repr":
        expected = x
        got = parse_number(repr(x), ".")
    else:
        got = parse_number(text.replace("-", "\u2212"), ".")
    assert got == expected


@FUZZ
@given(st.text(max_size=12), st.sampled_from([".", ","]))
def test_fuzz_parse_number_only_value_errors(text, decimal):
    from trialsynth.data.io import parse_number

    try:
        value = parse_number(text, decimal)
    except ValueError as exc:
        assert str(exc)  # says what was expected
    else:
        assert math.isfinite(value)
