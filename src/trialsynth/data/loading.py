"""Load and validate ``trials.csv``: every problem found, or a typed DataFrame.

:func:`load_trials` reads the file robustly (:func:`trialsynth.data.io.read_table`), checks
every cell and every row against :mod:`trialsynth.data.schema`, and raises ONE
:class:`~trialsynth.errors.TrialDataError` listing every problem, each a
:class:`~trialsynth.errors.Problem` naming the file, the row as a spreadsheet numbers it (the
header is row 1), the column, the value and what was expected.

Checks (each has a test in ``tests/data/test_loading.py``):

* the column set: missing columns that some row could need, unknown (misspelt) columns,
  duplicate or unnamed columns, rows with more or fewer cells than the header;
* cells: non-numeric text in number columns, whole numbers in integer columns, ``true``/``false``
  booleans, categories (with a "did you mean" hint), patterns (ids, ``doi:``/``pmid:``),
  bounds (n > 0, SD > 0, SE > 0, events >= 0, 0 < p <= 1, priority >= 1, ...);
* rows: the values the row's ``data_shape`` requires; exactly one dispersion per arm
  (SD, SE or both CI limits); columns that belong to another shape; events <= n; CI limits
  in order and containing the estimate (arm means and contrasts; ratio measures positive);
  scale range and final-value means inside it; ``higher_is_better`` consistent with the named
  scale; ``weeks_after_treatment`` <= ``timepoint_weeks``; a time point inside one time window;
  a source (``source_id``, ``source_ref``, ``source_location``, ``quote_ids``; with
  ``evidence_dir=`` the record ``<evidence_dir>/<source_id>.yaml`` must exist); ``derived``
  naming real columns;
* the table: duplicate keys ``(study_id, comparison_id, outcome, scale, timepoint_weeks)``,
  naming both rows.

The returned DataFrame has one column per schema column, typed: ``Int64`` (nullable integers),
``float64``, ``boolean`` (nullable), categoricals with the schema's categories, ``string``.
Its index is the spreadsheet row number (named ``row``); ``df.attrs`` holds ``source``
(the path), ``encoding``, ``delimiter``, ``decimal`` and ``notes``.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from trialsynth.data import schema as S
from trialsynth.data.io import RawTable, parse_number, read_table
from trialsynth.data.windows import DEFAULT_WINDOWS, TimeWindow, _check_windows, window_of
from trialsynth.errors import ArgumentError, Problem, TrialDataError

__all__ = ["load_trials", "check_trials", "ValidationReport", "validate_raw", "typed_frame",
           "source_problems"]

_NUMERIC = [c.name for c in S.COLUMNS if c.type in ("number", "integer")]
_PATTERNS = {c.name: re.compile(c.pattern) for c in S.COLUMNS if c.pattern}
#: scales whose direction is fixed: scale -> higher_is_better
SCALE_DIRECTION = {"VAS": False, "NRS": False, "RMDQ": False, "ODI": False,
                   "SF36_BP": True, "HFAQ": True, "SF12_PCS": True}


@dataclass
class ValidationReport:
    """What :func:`check_trials` found.

    Attributes
    ----------
    path : str
    problems : list of Problem
        Empty when the file is valid.
    frame : DataFrame or None
        The typed table (``None`` when the file could not be read at all). Built from the
        values that parsed, so it exists even when there are problems.
    notes : list of str
        What the reader detected (encoding, delimiter, skipped rows).
    """

    path: str
    problems: list[Problem] = field(default_factory=list)
    frame: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_problems(self) -> None:
        if self.problems:
            raise TrialDataError(self.problems)

    def summary(self) -> str:
        """One line: rows, studies, and rows per window."""
        df = self.frame
        if df is None:
            return f"{self.path}: unreadable"
        studies = df["study_id"].dropna().nunique() if "study_id" in df else 0
        text = f"{self.path}: {len(df)} rows, {studies} studies"
        if "window" in df.columns:
            counts = df["window"].value_counts(sort=False)
            text += ", windows: " + ", ".join(f"{k} {int(v)}" for k, v in counts.items())
        return text


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@functools.lru_cache(maxsize=65536)
def _parse_named(name: str, text: str, decimal: str):
    """:func:`_parse_cell` by column name, memoised (tables repeat most of their cells)."""
    return _parse_cell(S.BY_NAME[name], text, decimal)


def _parse_cell(col: S.Column, text: str, decimal: str):
    """Parse one non-empty cell; returns (value, error message or None)."""
    if col.type in ("number", "integer"):
        try:
            value = parse_number(text, decimal)
        except ValueError as exc:
            return None, str(exc)
        if col.type == "integer":
            if value != int(value) or abs(value) > 2**53:
                return None, "expected a whole number"
            value = int(value)
        if col.exclusive_minimum is not None and not value > col.exclusive_minimum:
            return value, f"expected a number greater than {_fmt(col.exclusive_minimum)}"
        if col.minimum is not None and value < col.minimum:
            return value, f"expected a number of at least {_fmt(col.minimum)}"
        if col.maximum is not None and value > col.maximum:
            return value, f"expected a number of at most {_fmt(col.maximum)}"
        return value, None
    if col.type == "boolean":
        low = text.lower()
        if low in S.TRUE_WORDS:
            return True, None
        if low in S.FALSE_WORDS:
            return False, None
        return None, "expected true or false"
    # string
    if col.enum is not None:
        if text in col.enum:
            return text, None
        hint = ""
        lowered = {v.lower(): v for v in col.enum}
        if text.lower() in lowered:
            hint = f"; did you mean {lowered[text.lower()]!r}?"
        else:
            close = difflib.get_close_matches(text, col.enum, n=1, cutoff=0.6)
            if close:
                hint = f"; did you mean {close[0]!r}?"
        return None, "unknown category, expected one of: " + ", ".join(col.enum) + hint
    pattern = _PATTERNS.get(col.name)
    if pattern is not None and not pattern.fullmatch(text):
        return None, _PATTERN_HELP.get(col.name, f"does not match the pattern {col.pattern}")
    return text, None


_PATTERN_HELP = {
    "study_id": "expected letters, digits and _ starting with a letter (e.g. Brinkhaus2006)",
    "comparison_id": "expected lower-case letters, digits and _ (e.g. acu_vs_sham)",
    "source_id": "expected letters, digits, _, . and - (the evidence file's name without .yaml)",
    "source_ref": "expected doi:10.xxxx/... or pmid:NNNNNNNN (or pmcid:PMCNNNNNNN), or url:https://... "
                  "for a record with no identifier (file:NAME for rows imported from a review file)",
    "quote_ids": "expected quote ids separated by ';' (e.g. Q01;Q02)",
    "derived": "expected column=conversion pairs separated by ';' (e.g. timepoint_weeks=months_to_weeks)",
}


def validate_raw(raw: RawTable, *, windows: Sequence[TimeWindow] | None = DEFAULT_WINDOWS,
                 evidence_dir: str | os.PathLike | None = None,
                 ) -> tuple[list[Problem], list[tuple[int, dict]]]:
    """Validate a :class:`~trialsynth.data.io.RawTable`; returns (problems, parsed rows).

    Parsed rows are ``(row number, {column: value or None})`` for every row whose cells line up
    with the header; values that failed to parse are ``None``.
    """
    file = raw.path
    problems: list[Problem] = list(raw.problems)
    add = problems.append
    header = raw.header
    present = set(header)

    # --- column set ---------------------------------------------------------------------
    known = [name for name in header if name in S.BY_NAME]
    if len(known) < max(1, len(set(header)) // 2):
        shown = ", ".join(repr(h) for h in header[:4]) + (", ..." if len(header) > 4 else "")
        # everything else would be measured against a wrong header: report just this
        return [Problem(file, raw.header_row, None, shown,
                        f"the first row is not the header of a trial table: only {len(known)} of its "
                        f"{len(header)} cells are column names of data/README.md (e.g. study_id, "
                        "comparison_id, outcome); is the header missing, or is this another file?")], []
    for name in header:
        if name and name not in S.BY_NAME:
            close = difflib.get_close_matches(name, S.COLUMN_NAMES, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            add(Problem(file, raw.header_row, name, name, "unknown column (not in the trial-record schema; "
                        "see data/README.md)" + hint))
    for col in S.COLUMNS:
        if col.name not in present and col.can_be_required:
            add(Problem(file, raw.header_row, col.name, None, "missing column (required "
                        + ("on every row" if col.required == S.ALWAYS
                           else "for data_shape " + ", ".join(col.required)) + ")"))

    parsed_rows: list[tuple[int, dict]] = []
    for rownum, cells in raw.records():
        row: dict = {}
        for name in S.COLUMN_NAMES:
            text = cells.get(name, "")
            if text == "":
                row[name] = None
                continue
            col = S.BY_NAME[name]
            value, err = _parse_named(name, text, raw.decimal)
            if err is not None:
                add(Problem(file, rownum, name, text, err))
                # keep out-of-bounds numbers (for later checks) only if they parsed
                row[name] = value if value is not None and col.type in ("number", "integer") else None
                row.setdefault("_bad", set()).add(name)
            else:
                row[name] = value
        _check_row(file, rownum, row, cells, add, windows, evidence_dir)
        row.pop("_bad", None)
        parsed_rows.append((rownum, row))

    # --- duplicate keys -------------------------------------------------------------------
    first_seen: dict[tuple, int] = {}
    for rownum, row in parsed_rows:
        key = tuple(row.get(k) for k in S.PRIMARY_KEY)
        if any(v is None for v in key):
            continue
        if key in first_seen:
            shown = ", ".join(f"{k}={_fmt(v)}" for k, v in zip(S.PRIMARY_KEY, key))
            add(Problem(file, rownum, "study_id", str(row["study_id"]),
                        f"duplicate key ({shown}): same as row {first_seen[key]}; rows {first_seen[key]} "
                        f"and {rownum} describe the same study, comparison, outcome, scale and time point"))
        else:
            first_seen[key] = rownum
    return problems, parsed_rows


def _check_row(file: str, rownum: int, row: dict, cells: dict, add, windows, evidence_dir) -> None:
    bad = row.get("_bad", set())
    v = row.get

    def missing(name: str, why: str) -> None:
        if name in bad:
            return  # already reported as unparseable
        add(Problem(file, rownum, name, None, f"missing value: {why}"))

    # required on every row
    for col in S.COLUMNS:
        if col.required == S.ALWAYS and v(col.name) is None:
            why = "required on every row"
            if col.name in ("source_id", "source_ref", "source_location", "quote_ids"):
                why = "every row needs its source (source_id, source_ref, source_location, quote_ids)"
            missing(col.name, why)

    shape = v("data_shape")
    if shape is not None:
        for col in S.COLUMNS:
            if col.required not in (S.ALWAYS, S.NEVER) and shape in col.required and v(col.name) is None:
                missing(col.name, f"required when data_shape is {shape}")
        for col in S.COLUMNS:
            if col.shapes is not None and shape not in col.shapes and cells.get(col.name, "") != "":
                add(Problem(file, rownum, col.name, cells.get(col.name),
                            f"belongs to data_shape {' or '.join(col.shapes)} rows, but this row is "
                            f"{shape}: empty the cell or correct data_shape"))
        if shape == "arm_continuous":
            for arm in (1, 2):
                kinds = [k for k, cols in S.DISPERSIONS[arm].items()
                         if any(v(c) is not None or c in bad for c in cols)]
                if not kinds:
                    add(Problem(file, rownum, f"sd{arm}", None,
                                f"missing value: arm {arm} needs one dispersion: sd{arm}, se{arm}, "
                                f"or ci_low{arm} + ci_high{arm}"))
                elif len(kinds) > 1:
                    add(Problem(file, rownum, f"sd{arm}" if "sd" in kinds else f"se{arm}",
                                cells.get(f"sd{arm}") or cells.get(f"se{arm}"),
                                f"arm {arm} has more than one dispersion ({', '.join(kinds)}); "
                                "enter exactly one: the one the source prints first"))
                elif kinds == ["ci"]:
                    for c in (f"ci_low{arm}", f"ci_high{arm}"):
                        if v(c) is None and c not in bad:
                            add(Problem(file, rownum, c, None,
                                        "missing value: a confidence interval needs both limits"))
        elif shape == "contrast":
            has_ci = v("effect_ci_low") is not None or v("effect_ci_high") is not None
            if v("effect_se") is None and not has_ci and not ({"effect_se", "effect_ci_low", "effect_ci_high"} & bad):
                add(Problem(file, rownum, "effect_ci_low", None,
                            "missing value: a contrast needs effect_ci_low + effect_ci_high or effect_se"))
            elif has_ci:
                for c in ("effect_ci_low", "effect_ci_high"):
                    if v(c) is None and c not in bad:
                        add(Problem(file, rownum, c, None,
                                    "missing value: a confidence interval needs both limits"))
        if (v("test_statistic") is None) != (v("statistic_type") is None):
            name = "statistic_type" if v("statistic_type") is None else "test_statistic"
            if not ({"test_statistic", "statistic_type"} & bad):
                missing(name, "test_statistic and statistic_type go together")

    # events <= n
    for arm in (1, 2):
        ev, n = v(f"events{arm}"), v(f"n{arm}")
        if ev is not None and n is not None and ev > n and f"events{arm}" not in bad:
            add(Problem(file, rownum, f"events{arm}", _fmt(ev),
                        f"more events than participants in arm {arm} (n{arm} = {n})"))

    # confidence intervals in order and containing the estimate
    for arm in (1, 2):
        _check_ci(file, rownum, add, bad, v(f"mean{arm}"), v(f"ci_low{arm}"), v(f"ci_high{arm}"),
                  f"mean{arm}", f"ci_low{arm}", f"ci_high{arm}", cells)
    measure = v("effect_measure")
    _check_ci(file, rownum, add, bad, v("effect"), v("effect_ci_low"), v("effect_ci_high"),
              "effect", "effect_ci_low", "effect_ci_high", cells)
    if measure in S.RATIO_MEASURES:
        for c in ("effect", "effect_ci_low", "effect_ci_high"):
            x = v(c)
            if x is not None and x <= 0 and c not in bad:
                add(Problem(file, rownum, c, cells.get(c),
                            f"a {measure} must be greater than 0 (enter the ratio, not its logarithm)"))

    # a shared arm is named, and a named arm is marked (pooling splits its n by the name)
    if (v("shared_arm") is None) != (v("shared_arm_id") is None) \
            and not ({"shared_arm", "shared_arm_id"} & bad):
        missing("shared_arm_id" if v("shared_arm_id") is None else "shared_arm",
                "shared_arm (arm1/arm2) and shared_arm_id (the arm's name) go together")

    # a sham type names the quote that says it, and only a sham comparator has one
    if (v("sham_type") is None) != (v("sham_type_quote") is None) \
            and not ({"sham_type", "sham_type_quote"} & bad):
        missing("sham_type_quote" if v("sham_type_quote") is None else "sham_type",
                "sham_type and sham_type_quote (the quote that describes the sham) go together")
    if v("sham_type") is not None and v("comparator_class") not in (None, "sham") and "sham_type" not in bad:
        add(Problem(file, rownum, "sham_type", cells.get("sham_type"),
                    f"a sham type belongs to a sham comparator, but comparator_class is {v('comparator_class')}"))

    # baseline means go together and belong to final values
    if (v("baseline_mean1") is None) != (v("baseline_mean2") is None) \
            and not ({"baseline_mean1", "baseline_mean2"} & bad):
        missing("baseline_mean2" if v("baseline_mean2") is None else "baseline_mean1",
                "give both baseline means, or neither")
    if v("baseline_mean1") is not None and v("value_type") == "change" and "baseline_mean1" not in bad:
        add(Problem(file, rownum, "baseline_mean1", cells.get("baseline_mean1"),
                    "baseline means belong to final-value rows (a change score is already from baseline)"))

    # scale range
    lo, hi = v("scale_min"), v("scale_max")
    if (lo is None) != (hi is None) and not ({"scale_min", "scale_max"} & bad):
        missing("scale_max" if hi is None else "scale_min", "give both scale_min and scale_max, or neither")
    if lo is not None and hi is not None and not lo < hi:
        add(Problem(file, rownum, "scale_max", cells.get("scale_max"),
                    f"scale_max must be greater than scale_min ({_fmt(lo)})"))
    elif lo is not None and hi is not None and v("value_type") == "final":
        for arm in (1, 2):
            m = v(f"mean{arm}")
            if m is not None and not lo <= m <= hi and f"mean{arm}" not in bad:
                add(Problem(file, rownum, f"mean{arm}", cells.get(f"mean{arm}"),
                            f"a final-value mean must lie in the scale's range "
                            f"[{_fmt(lo)}, {_fmt(hi)}] (wrong scale_min/scale_max, or a change score?)"))
    elif lo is not None and hi is not None and v("value_type") == "change":
        for arm in (1, 2):
            m = v(f"mean{arm}")
            if m is not None and abs(m) > hi - lo and f"mean{arm}" not in bad:
                add(Problem(file, rownum, f"mean{arm}", cells.get(f"mean{arm}"),
                            f"a change cannot exceed the scale's width ({_fmt(hi - lo)})"))

    scale, hib = v("scale"), v("higher_is_better")
    if scale in SCALE_DIRECTION and hib is not None and hib != SCALE_DIRECTION[scale]:
        add(Problem(file, rownum, "higher_is_better", cells.get("higher_is_better"),
                    f"{scale} is a scale where higher is "
                    f"{'better' if SCALE_DIRECTION[scale] else 'worse'}: expected "
                    f"{'true' if SCALE_DIRECTION[scale] else 'false'}"))

    # time point
    tp, tw, wat = v("timepoint_weeks"), v("treatment_weeks"), v("weeks_after_treatment")
    if wat is not None and tp is not None and wat > tp and "weeks_after_treatment" not in bad:
        add(Problem(file, rownum, "weeks_after_treatment", cells.get("weeks_after_treatment"),
                    f"cannot be more than timepoint_weeks ({_fmt(tp)}): treatment ends after randomisation"))
    elif windows is not None:
        weeks = wat if wat is not None else (tp - tw if tp is not None and tw is not None else None)
        if weeks is None:
            if not ({"timepoint_weeks", "treatment_weeks", "weeks_after_treatment"} & bad) and tp is not None:
                add(Problem(file, rownum, "weeks_after_treatment", None,
                            "missing value: cannot place the time point in a window; give "
                            "weeks_after_treatment, or treatment_weeks with timepoint_weeks"))
        elif window_of(weeks, windows) is None:
            source = "weeks_after_treatment" if wat is not None else "timepoint_weeks - treatment_weeks"
            add(Problem(file, rownum, "weeks_after_treatment" if wat is not None else "timepoint_weeks",
                        _fmt(wat if wat is not None else tp),
                        f"time point outside every time window: {source} = {_fmt(weeks)} weeks; "
                        "windows: " + "; ".join(w.describe() for w in windows)))

    # source record
    sid = v("source_id")
    if evidence_dir is not None and sid is not None:
        folder = Path(os.fspath(evidence_dir))
        if not any((folder / f"{sid}{ext}").is_file() for ext in (".yaml", ".yml")):
            add(Problem(file, rownum, "source_id", sid,
                        f"no evidence record {folder / (sid + '.yaml')}: every row needs its source"))

    derived = v("derived")
    if derived is not None:
        for part in derived.split(";"):
            name = part.split("=", 1)[0].strip()
            if name and name not in S.BY_NAME:
                add(Problem(file, rownum, "derived", derived,
                            f"names {name!r}, which is not a column"))


def _check_ci(file, rownum, add, bad, est, low, high, est_name, low_name, high_name, cells) -> None:
    if low is not None and high is not None and low_name not in bad and high_name not in bad:
        if not low < high:
            add(Problem(file, rownum, high_name, cells.get(high_name),
                        f"the upper confidence limit must be greater than the lower ({_fmt(low)})"))
            return
    if est is None or est_name in bad:
        return
    if low is not None and low_name not in bad and est < low:
        add(Problem(file, rownum, low_name, cells.get(low_name),
                    f"the confidence interval does not contain the estimate ({est_name} = {_fmt(est)})"))
    if high is not None and high_name not in bad and est > high:
        add(Problem(file, rownum, high_name, cells.get(high_name),
                    f"the confidence interval does not contain the estimate ({est_name} = {_fmt(est)})"))


def typed_frame(parsed_rows: list[tuple[int, dict]]) -> pd.DataFrame:
    """The typed DataFrame of parsed rows (index = spreadsheet row number)."""
    index = pd.Index([r for r, _ in parsed_rows], name="row", dtype="int64")
    data = {}
    for col in S.COLUMNS:
        values = [row.get(col.name) for _, row in parsed_rows]
        if col.type == "integer":
            data[col.name] = pd.array(values, dtype="Int64")
        elif col.type == "number":
            data[col.name] = np.array([np.nan if x is None else float(x) for x in values],
                                      dtype="float64")
        elif col.type == "boolean":
            data[col.name] = pd.array(values, dtype="boolean")
        elif col.enum is not None:
            data[col.name] = pd.Categorical(values, categories=list(col.enum))
        else:
            data[col.name] = pd.array(values, dtype="string")
    return pd.DataFrame(data, index=index)


def source_problems(raw: RawTable, evidence_dir: str | os.PathLike) -> list[Problem]:
    """Check every row's numbers against the quotes of its evidence record.

    Uses :mod:`trialsynth.data.provenance` (structure of each record the table names, and every
    numeric cell printed in one of the row's quotes).  Records are read with
    :func:`~trialsynth.data.io.load_yaml`; a missing record is left to the ``source_id`` check
    of :func:`validate_raw`.  Problems carry the table's spreadsheet row numbers.
    """
    from trialsynth.data import provenance
    from trialsynth.data.io import load_yaml

    folder = Path(os.fspath(evidence_dir))
    rows = [(r, cells) for r, cells in raw.records()]
    if not rows:
        return []
    problems: list[Problem] = []
    records: dict[str, object] = {}
    for sid in sorted({cells.get("source_id", "") for _, cells in rows} - {""}):
        path = next((folder / f"{sid}{ext}" for ext in (".yaml", ".yml")
                     if (folder / f"{sid}{ext}").is_file()), None)
        if path is None or not _PATTERNS["source_id"].fullmatch(sid):
            continue
        try:
            records[sid] = load_yaml(path)
        except TrialDataError as exc:
            problems.extend(exc.items)
    problems += provenance.check_records({k: v for k, v in records.items()}, directory=str(folder))
    usable = {k: v for k, v in records.items() if isinstance(v, dict)}
    checkable = [(r, cells) for r, cells in rows if cells.get("source_id", "") in usable]
    if checkable:
        frame = pd.DataFrame([cells for _, cells in checkable], dtype=object)
        for p in provenance.check_trials(frame, usable, file=raw.path):
            row = p.row
            if isinstance(row, int) and 2 <= row < 2 + len(checkable):
                row = checkable[row - 2][0]
            problems.append(Problem(raw.path, row, p.column, p.value, p.message))
    return problems


def check_trials(path: str | os.PathLike, *, windows: Sequence[TimeWindow] | None = DEFAULT_WINDOWS,
                 evidence_dir: str | os.PathLike | None = None,
                 provenance: bool = False) -> ValidationReport:
    """Validate ``path`` and return a :class:`ValidationReport` (never raises for bad data,
    except when the file cannot be read at all: then the report holds that one problem).

    With ``evidence_dir`` every ``source_id`` must have its record; with ``provenance=True`` as
    well, every number must be printed in the row's quotes (:func:`source_problems`)."""
    name = os.fspath(path)
    if windows is not None:
        windows = _check_windows(windows)
    try:
        raw = read_table(name, numeric_columns=_NUMERIC)
    except TrialDataError as exc:
        return ValidationReport(name, exc.items, None, [])
    problems, parsed = validate_raw(raw, windows=windows, evidence_dir=evidence_dir)
    if provenance and evidence_dir is not None and parsed:
        from trialsynth.data.provenance import combine_problems

        problems = combine_problems(problems, source_problems(raw, evidence_dir))
    frame = typed_frame(parsed)
    frame.attrs.update(source=name, encoding=raw.encoding, delimiter=raw.delimiter,
                       decimal=raw.decimal, notes=list(raw.notes))
    if windows is not None and len(frame):
        from trialsynth.data.windows import assign_windows

        framed = assign_windows(frame, windows, on_outside="keep")
        frame_for_summary = framed
    else:
        frame_for_summary = frame
    report = ValidationReport(name, problems, frame_for_summary, list(raw.notes))
    return report


def load_trials(path: str | os.PathLike = "data/trials.csv", *,
                windows: Sequence[TimeWindow] | None = DEFAULT_WINDOWS,
                evidence_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load ``trials.csv`` as a typed DataFrame, or raise one error listing every problem.

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8 or Latin-1; comma, semicolon or tab separated; see
        :func:`trialsynth.data.io.read_table`).
    windows : sequence of TimeWindow or None
        Every row's time point must fall in one of these (default
        :data:`~trialsynth.data.windows.DEFAULT_WINDOWS`); ``None`` skips that check.
    evidence_dir : path-like, optional
        When given, every ``source_id`` must have its record ``<evidence_dir>/<source_id>.yaml``.

    Returns
    -------
    DataFrame
        One column per schema column, typed (``Int64``, ``float64``, ``boolean``, categoricals,
        ``string``); index = spreadsheet row number (``row``); ``attrs`` holds ``source``,
        ``encoding``, ``delimiter``, ``decimal`` and ``notes``.  No ``window`` column: add it
        with :func:`trialsynth.data.windows.assign_windows`.

    Raises
    ------
    TrialDataError
        Listing every problem (file, row, column, value, message).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"path must be a file path, got {type(path).__name__}")
    name = os.fspath(path)
    if windows is not None:
        windows = _check_windows(windows)
    raw = read_table(name, numeric_columns=_NUMERIC)
    problems, parsed = validate_raw(raw, windows=windows, evidence_dir=evidence_dir)
    if problems:
        raise TrialDataError(problems)
    frame = typed_frame(parsed)
    frame.attrs.update(source=name, encoding=raw.encoding, delimiter=raw.delimiter,
                       decimal=raw.decimal, notes=list(raw.notes))
    return frame
