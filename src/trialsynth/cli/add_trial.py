"""``trialsynth add-trial FILE``: append new trial rows (and their evidence record) safely.

1. Under an exclusive lock on the data file (:func:`trialsynth.data.io.file_lock`), read the
   new rows (any encoding/delimiter :func:`~trialsynth.data.io.read_table` reads) and the
   existing table.
2. Validate the **combined** table with the same checks as ``trialsynth validate`` (so a new
   row that duplicates an existing key, or an existing problem, is caught), and the evidence
   record: read with ``yaml.safe_load``; its ``id`` must equal its file name; with
   :mod:`trialsynth.data.provenance` available, its structure and every number of the new rows
   against the quotes they name.  Problems in the new rows are reported with the new file's
   name and row numbers.
3. Only when there is no problem: back up the data file
   (``<data folder>/backups/<name>.<UTC time>.bak``), copy the record into the evidence folder,
   and write the table by atomic replacement.  Existing rows are kept byte for byte; new rows are
   appended in the file's delimiter, decimal mark and line ending.

On any problem, or a crash at any moment, every file is left exactly as it was (at worst a
stray ``.trials.csv.*.tmp`` file stays behind after a hard crash).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trialsynth.errors import Problem, TrialDataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "add-trial", aliases=["add_trial"],
        help="validate new rows together with data/trials.csv and append them atomically",
        description="Append the rows of FILE (a CSV with the columns of data/README.md) to the "
        "trial table. The combined table and the evidence record are validated first; on any "
        "problem nothing is written. A timestamped backup of the table is kept.",
    )
    p.add_argument("file", help="CSV file with the new rows")
    p.add_argument("--data", default="data/trials.csv", help="the trial table (default: %(default)s)")
    p.add_argument("--evidence", default=None, metavar="RECORD.yaml",
                   help="evidence record of the new rows, copied into the evidence folder")
    p.add_argument("--evidence-dir", default="evidence",
                   help="folder of evidence records (default: %(default)s)")
    p.add_argument("--no-evidence-check", action="store_true",
                   help="do not require evidence/<source_id>.yaml for the new rows")
    p.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    p.add_argument("--lock-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for another add-trial to finish (default: %(default)s)")
    p.set_defaults(func=run)


@dataclass
class AddResult:
    """What :func:`add_trials` did."""

    data_path: Path
    added_rows: int
    total_rows: int
    backup: Path | None = None
    evidence_written: Path | None = None
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    understood: list[str] = field(default_factory=list)
    #: the pooled cells the new rows change, classified as the change report will classify them
    changes: list[str] = field(default_factory=list)


def _canonical_number(text: str, decimal: str) -> str:
    """Rewrite a number cell of the new file in the plain ``.``-decimal form (or leave it)."""
    from trialsynth.data.io import parse_number

    if decimal == "." and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        return text
    try:
        value = parse_number(text, decimal)
    except ValueError:
        return text  # left for validation to report
    if value == int(value) and abs(value) < 2**53 and "e" not in text.lower():
        return str(int(value))
    return repr(value)


def _line_ending(data: bytes) -> str:
    return "\r\n" if b"\r\n" in data[:65536] else "\n"


def add_trials(new_path: str | os.PathLike, data_path: str | os.PathLike = "data/trials.csv", *,
               evidence: str | os.PathLike | None = None,
               evidence_dir: str | os.PathLike | None = "evidence",
               check_evidence: bool = True, dry_run: bool = False,
               lock_timeout: float = 60.0, explain: bool = True,
               show: Callable[[AddResult], None] | None = None) -> AddResult:
    """Validate ``new_path`` together with ``data_path`` and append its rows atomically.

    With ``explain`` (default), every new row is also run through the report's analysis
    (:func:`trialsynth.report.analysis.run_analysis`, with and without the new rows) and
    described as it understands it: window, the effect it computes, which arm it favours and
    the pooled group it enters with k before -> after (:attr:`AddResult.understood`).  ``show``
    is called with the result (notes and those lines) before anything is written.

    Raises
    ------
    TrialDataError
        Listing every problem; nothing has been written.
    """
    from trialsynth.data import schema as S
    from trialsynth.data.io import (RawTable, atomic_write_bytes, backup_file, file_lock,
                                    load_yaml, read_table)
    from trialsynth.data.loading import _NUMERIC, validate_raw

    new_name = os.fspath(new_path)
    data = Path(os.fspath(data_path))
    ev_dir = Path(os.fspath(evidence_dir)) if evidence_dir is not None else None

    if explain:
        from trialsynth.cli._understood import warm_up

        warm_up()  # the imports of the analysis, outside the lock that other add-trials wait for
    with file_lock(data, timeout=lock_timeout):
        new = read_table(new_name, numeric_columns=_NUMERIC)
        problems: list[Problem] = list(new.problems)
        new_rows = [(r, cells) for r, cells in new.rows if len(cells) == len(new.header)]
        if not new.rows:
            raise TrialDataError([Problem(new_name, None, None, None, "has no data rows to add")])
        misspelt: set[str] = set()  # schema columns a misspelt header probably means
        for col in new.header:
            if col and col not in S.BY_NAME:
                close = difflib.get_close_matches(col, S.COLUMN_NAMES, n=1, cutoff=0.75)
                hint = ""
                if close and close[0] not in new.header:
                    hint = f"; did you mean {close[0]!r}?"
                    misspelt.add(close[0])
                problems.append(Problem(new_name, 1, col, col,
                                        "unknown column (not in the trial-record schema; see data/README.md)"
                                        + hint))

        if data.exists():
            old_bytes = data.read_bytes()
            old = read_table(data, numeric_columns=_NUMERIC)
        else:
            old_bytes = b""
            old = RawTable(str(data), list(S.COLUMN_NAMES), [], "utf-8", ",", ".", [], [])
        header = list(old.header)
        added_columns = [c for c in S.COLUMN_NAMES if c in new.header and c not in header
                         and any(cells[new.header.index(c)] for _, cells in new_rows)]
        header += added_columns

        # new rows in the existing table's column order, numbers in '.'-decimal form
        last_row = max([r for r, _ in old.rows], default=1)
        numeric = set(_NUMERIC)
        new_records: list[tuple[int, int, list[str]]] = []  # (combined row, new-file row, cells)
        notes: list[str] = []
        for i, (rownum, cells) in enumerate(new_rows):
            by_name = dict(zip(new.header, cells))
            ref = _normalised_ref(by_name, evidence, ev_dir)
            if ref is not None:
                notes.append(f"row {rownum}, column 'source_ref': {by_name['source_ref']!r} is written as {ref!r}")
                by_name["source_ref"] = ref
            out = []
            for col in header:
                text = by_name.get(col, "")
                if text and col in numeric:
                    text = _canonical_number(text, new.decimal)
                out.append(text)
            new_records.append((last_row + 1 + i, rownum, out))

        old_rows = [(r, cells + [""] * len(added_columns)) for r, cells in old.rows]
        combined = RawTable(str(data), header, old_rows + [(c, cells) for c, _, cells in new_records],
                            "utf-8", ",", ".", [], list(old.problems))
        # old rows in a decimal-comma file: bring them to '.' form for validation only
        if old.decimal == ",":
            num_idx = [i for i, c in enumerate(header) if c in numeric]
            combined.rows = [(r, [(_canonical_number(c, ",") if i in num_idx and c else c)
                                  for i, c in enumerate(cells)]) for r, cells in old_rows] + \
                            [(c, cells) for c, _, cells in new_records]

        # evidence record
        record_target: Path | None = None
        record_bytes: bytes | None = None
        records: dict[str, object] = {}
        if evidence is not None:
            ev_name = os.fspath(evidence)
            record = load_yaml(ev_name)
            stem = Path(ev_name).stem
            if Path(ev_name).suffix not in (".yaml", ".yml"):
                problems.append(Problem(ev_name, None, None, None, "expected a .yaml file"))
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", stem):
                problems.append(Problem(ev_name, None, None, stem,
                                        "the record's file name must be its source_id (letters, digits, _ . -)"))
            elif not isinstance(record, dict):
                problems.append(Problem(ev_name, None, None, None, "expected a YAML mapping (see evidence/README.md)"))
            else:
                if record.get("id") != stem:
                    problems.append(Problem(ev_name, None, "id", str(record.get("id")),
                                            f"the record's id must equal its file name {stem!r}"))
                records[stem] = record
                if ev_dir is None:
                    problems.append(Problem(ev_name, None, None, None, "no evidence folder to copy it into"))
                else:
                    record_target = ev_dir / f"{stem}.yaml"
                    record_bytes = Path(ev_name).read_bytes()
                    if record_target.exists() and record_target.read_bytes() != record_bytes:
                        problems.append(Problem(str(record_target), None, None, None,
                                                f"already exists with different content; edit it there "
                                                f"instead of replacing it with {ev_name}"))

        # the combined table; the record folder check counts the incoming record as present
        schema_problems, parsed = validate_raw(combined, evidence_dir=None)
        new_by_combined = {c: r for c, r, _ in new_records}
        for p in schema_problems:
            if p.row in new_by_combined and p.column in misspelt:
                continue  # the misspelt header is reported (with "did you mean") instead
            if p.row in new_by_combined:
                message = re.sub(r"\brow (\d+)\b",
                                 lambda m: _describe_row(int(m.group(1)), new_by_combined, new_name, data),
                                 p.message)
                message = re.sub(r"\brows (\d+) and (\d+)\b",
                                 lambda m: _describe_row(int(m.group(1)), new_by_combined, new_name, data)
                                 + " and " + _describe_row(int(m.group(2)), new_by_combined, new_name, data),
                                 message)
                problems.append(Problem(new_name, new_by_combined[p.row], p.column, p.value, message))
            else:
                problems.append(p)

        # every new row's source record exists (in the folder or given with --evidence)
        new_parsed = [(r, row) for r, row in parsed if r in new_by_combined]
        if check_evidence:
            for r, row in new_parsed:
                sid = row.get("source_id")
                if sid is None or sid in records:
                    continue
                found = ev_dir is not None and any((ev_dir / f"{sid}{ext}").is_file() for ext in (".yaml", ".yml"))
                if not found:
                    where = ev_dir / f"{sid}.yaml" if ev_dir is not None else f"{sid}.yaml"
                    problems.append(Problem(new_name, new_by_combined[r], "source_id", sid,
                                            f"no evidence record {where}: give it with --evidence"))
                    continue
                try:
                    records[sid] = load_yaml(next(ev_dir / f"{sid}{ext}" for ext in (".yaml", ".yml")
                                                  if (ev_dir / f"{sid}{ext}").is_file()))
                except TrialDataError as exc:
                    problems.extend(exc.items)
            from trialsynth.data.provenance import combine_problems

            found = [p for p in _provenance_problems(new_records, header, new_name, records, evidence)
                     if not (p.file == new_name and p.column in misspelt)]
            problems = combine_problems(problems, found)

        if problems:
            raise TrialDataError(problems)

        result = AddResult(data, len(new_records), len(old.rows) + len(new_records),
                           notes=[f"{new_name}: {n}" for n in new.notes + notes], dry_run=dry_run)
        payload = _serialise(old, old_bytes, header, added_columns, [cells for _, _, cells in new_records])
        if explain:
            result.understood, result.changes = _understood(data, payload, [r for _, r, _ in new_records], new_name)
        if show is not None:
            show(result)
        if dry_run:
            return result

        # ---- write: backup, record, table (atomic); undo the record if the table fails ----
        created_record = False
        try:
            result.backup = backup_file(data) if data.exists() else None
            if record_target is not None and record_bytes is not None and not record_target.exists():
                atomic_write_bytes(record_target, record_bytes)
                created_record = True
                result.evidence_written = record_target
            atomic_write_bytes(data, payload)
        except BaseException as exc:
            if created_record:
                try:
                    record_target.unlink()
                except OSError:
                    pass
            if isinstance(exc, OSError):
                raise TrialDataError([Problem(str(data), None, None, None,
                                              f"could not be written ({exc.strerror or exc}); "
                                              "the previous file is unchanged")]) from exc
            raise
        return result


def _normalised_ref(by_name: dict[str, str], evidence, ev_dir: Path | None) -> str | None:
    """``doi:...`` for a source_ref written as a DOI URL / bare DOI / PMID form of its record's id."""
    ref = by_name.get("source_ref", "")
    sid = by_name.get("source_id", "")
    if not ref or not sid or re.fullmatch(r"(?:doi:10\.\S+|pmid:\d+|pmcid:PMC\d+|url:\S+)", ref):
        return None
    from trialsynth.data.io import load_yaml
    from trialsynth.data.provenance import normalise_source_ref

    candidates = []
    if evidence is not None and Path(os.fspath(evidence)).stem == sid:
        candidates.append(Path(os.fspath(evidence)))
    if ev_dir is not None:
        candidates += [ev_dir / f"{sid}{ext}" for ext in (".yaml", ".yml")]
    for path in candidates:
        if path.is_file():
            try:
                record = load_yaml(path)
            except TrialDataError:
                return None  # reported by the record checks
            return normalise_source_ref(ref, record) if isinstance(record, dict) else None
    return None


def _understood(data: Path, payload: bytes, new_rownums: list[int], new_name: str) -> tuple[list[str], list[str]]:
    """The new rows as the report's analysis sees them, with the pooled groups' k before -> after,
    and the pooled cells they change, classified as the change report classifies them
    (:func:`trialsynth.report.changes.diff_states`: new cell, estimate moved within its class,
    conclusion changed, certainty changed, heterogeneity changed class, with the trials behind it).

    Runs :func:`trialsynth.report.analysis.run_analysis` (loading, windows, effects, the population
    filter, one row per trial per window, pooling) on the table without and with the new rows.
    The side inputs that only the claims read (published estimates, evidence quotes, claims) are
    left out: they change no effect size and no pooled group, and skipping them keeps the time
    spent holding the data file's lock short."""
    from trialsynth.cli._understood import understood_rows
    from trialsynth.report.analysis import POOLED_CONDITIONS, run_analysis

    try:
        with tempfile.TemporaryDirectory(prefix="trialsynth-add-") as tmp:
            nothing = Path(tmp) / "none"
            kwargs = dict(reviews_path=nothing / "reviews.csv", evidence_dir=nothing,
                          claims_path=nothing / "claims.yaml")
            before = run_analysis(data, **kwargs) if data.exists() else None
            (Path(tmp) / "table").mkdir()
            combined = Path(tmp) / "table" / data.name
            combined.write_bytes(payload)
            after = run_analysis(combined, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the rows are valid; the description is extra
        return [f"(the new rows could not be run through the analysis: {type(exc).__name__}: {exc}; "
                "this is a bug, please report it)"], []
    if after.problem_items or len(after.effects) < len(new_rownums):
        return ["(the analysis did not accept the combined table: " + "; ".join(after.problems[:3]) + ")"], []
    labels = list(after.effects.index[-len(new_rownums):])
    names = {label: f"row {r} of {new_name}" for label, r in zip(labels, new_rownums)}
    lines = understood_rows(after, labels, before=before, names=names, conditions=POOLED_CONDITIONS)
    return lines, _classified_changes(before, after)


def _classified_changes(before, after) -> list[str]:
    """The change report's cell-by-cell lines for ``before`` -> ``after`` (two analyses)."""
    from trialsynth.report.changes import cell_change_lines, diff_states, make_state

    if before is None or before.problem_items:
        return []

    def state(an):
        return make_state(an.trials, an.pooled, None, profile=an.profile, sof=an.sof, selected=an.selected)

    changes = diff_states(state(before), state(after))
    return [line.replace("**", "") for line in cell_change_lines(changes)] or ["no pooled cell changes"]


def _describe_row(rownum: int, new_by_combined: dict[int, int], new_name: str, data: Path) -> str:
    if rownum in new_by_combined:
        return f"row {new_by_combined[rownum]} of {new_name}"
    return f"row {rownum} of {data}"


def _provenance_problems(new_records, header, new_name, records, evidence) -> list[Problem]:
    """Numbers of the new rows against their quotes, and the incoming record's structure."""
    try:
        from trialsynth.data import provenance
    except ImportError:  # pragma: no cover - provenance is part of the package
        return []
    check_rows = getattr(provenance, "check_trials", None)
    check_records = getattr(provenance, "check_records", None)
    out: list[Problem] = []
    import pandas as pd

    if evidence is not None and check_records is not None:
        stem = Path(os.fspath(evidence)).stem
        if stem in records and isinstance(records[stem], dict):
            try:
                for p in check_records({stem: records[stem]}, directory=str(Path(os.fspath(evidence)).parent)):
                    out.append(Problem(os.fspath(evidence), p.row, p.column, p.value, p.message))
            except Exception as exc:  # a checker bug must not hide as success
                out.append(Problem(os.fspath(evidence), None, None, None, f"record check failed: {exc}"))
    sid_at = header.index("source_id") if "source_id" in header else None
    checkable = [rec for rec in new_records
                 if sid_at is not None and isinstance(records.get(rec[2][sid_at]), dict)]
    if check_rows is not None and checkable:
        new_records = checkable
        frame = pd.DataFrame([cells for _, _, cells in new_records], columns=header, dtype=object)
        usable = {k: v for k, v in records.items() if isinstance(v, dict)}
        try:
            found = check_rows(frame, usable, file=new_name)
        except Exception as exc:
            return out + [Problem(new_name, None, None, None, f"provenance check failed: {exc}")]
        for p in found:
            row = p.row
            if isinstance(row, int) and 2 <= row < 2 + len(new_records):
                row = new_records[row - 2][1]
            out.append(Problem(new_name, row, p.column, p.value, p.message))
    return out


def _serialise(old, old_bytes: bytes, header: list[str], added_columns: list[str],
               new_rows: list[list[str]]) -> bytes:
    """The new file: existing bytes kept as they are, new rows appended in the file's style."""
    encoding = old.encoding if old_bytes else "utf-8"
    if encoding == "utf-8-sig":
        encoding = "utf-8"  # the BOM is already in old_bytes
    ending = _line_ending(old_bytes) if old_bytes else "\n"
    numeric_idx = set()
    if old.decimal == ",":
        from trialsynth.data.loading import _NUMERIC

        numeric_idx = {i for i, c in enumerate(header) if c in set(_NUMERIC)}

    def dump(rows: list[list[str]], *, localise: bool = True) -> str:
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, delimiter=old.delimiter if old_bytes else ",", lineterminator=ending)
        for row in rows:
            writer.writerow([c.replace(".", ",") if localise and i in numeric_idx and c else c
                             for i, c in enumerate(row)])
        return buf.getvalue()

    def encode(text: str) -> bytes:
        try:
            return text.encode(encoding)
        except UnicodeEncodeError as exc:
            raise TrialDataError([Problem(old.path, None, None, exc.object[exc.start:exc.end],
                                          f"the table is stored as {encoding} and cannot hold this "
                                          "character; save it as UTF-8 first")]) from None

    if not old_bytes:
        return encode(dump([header] + new_rows))
    if not added_columns:
        prefix = old_bytes
        if not prefix.endswith((b"\n", b"\r")):
            prefix += ending.encode(encoding)
        return prefix + encode(dump(new_rows))
    # new columns: rewrite the whole table (same cells, wider header)
    existing = [header] + [cells + [""] * (len(header) - len(cells)) for _, cells in old.rows]
    bom = b"\xef\xbb\xbf" if old.encoding == "utf-8-sig" else b""
    return bom + encode(old.preamble + dump(existing, localise=False) + dump(new_rows))


def _show(result: AddResult) -> None:
    """Print the notes and the rows as understood, before add_trials writes anything."""
    for note in result.notes:
        print(f"note: {note}")
    if result.understood:
        print("as the analysis understands the new rows:")
        for line in result.understood:
            print(f"  {line}")
    if result.changes:
        print("what the change report will say, cell by cell (classes against the MID, not p < 0.05):")
        for line in result.changes:
            print(f"  {line}")


def run(args: argparse.Namespace) -> int:
    result = add_trials(args.file, args.data, evidence=args.evidence, evidence_dir=args.evidence_dir,
                        check_evidence=not args.no_evidence_check, dry_run=args.dry_run,
                        lock_timeout=args.lock_timeout, show=_show)
    if result.dry_run:
        print(f"OK (dry run): {result.added_rows} row(s) would be added to {result.data_path} "
              f"({result.total_rows} rows in all); nothing was written")
        return 0
    print(f"OK: added {result.added_rows} row(s) to {result.data_path} ({result.total_rows} rows in all)")
    if result.backup is not None:
        print(f"backup: {result.backup}")
    if result.evidence_written is not None:
        print(f"evidence record: {result.evidence_written}")
    return 0
