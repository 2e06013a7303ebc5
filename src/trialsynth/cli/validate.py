"""``trialsynth validate [PATH]``: check a trial table and print every problem, one per line."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check data/trials.csv (or PATH): every problem with file, row, column and value",
        description="Check a trial table against the schema of data/README.md. Prints one line "
        "per problem (file, spreadsheet row, column, value, what was expected) and exits 1 when "
        "there are problems; prints a one-line summary and exits 0 otherwise.",
    )
    p.add_argument("path", nargs="?", default="data/trials.csv",
                   help="the CSV file (default: %(default)s)")
    p.add_argument("--evidence-dir", default=None, metavar="DIR",
                   help="also check that every source_id has its record DIR/<source_id>.yaml "
                   "(with --provenance the default is evidence/)")
    p.add_argument("--provenance", action="store_true",
                   help="also check every number against the quotes its row names, and the sign of "
                   "every effect against the direction the quotes state (trialsynth.data.provenance), "
                   "using the records in --evidence-dir (default: evidence/)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="when the file is valid, also print every row as the analysis understands it: "
                   "window, the effect it computes, which arm that favours, and the pooled group it "
                   "enters (the same pipeline as trialsynth report)")
    p.add_argument("--problems-csv", default=None, metavar="FILE",
                   help="also write the problems as a CSV table (file, row, column, value, message) "
                   "to open beside the data in a spreadsheet; cells are formula-neutralised")
    p.add_argument("--quiet", action="store_true", help="print nothing when the file is valid")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trialsynth.data.loading import check_trials

    if args.provenance and args.evidence_dir is None:
        args.evidence_dir = "evidence"
    report = check_trials(args.path, evidence_dir=args.evidence_dir, provenance=args.provenance)
    if args.problems_csv:
        from trialsynth.data.io import write_csv_safely

        write_csv_safely([{"file": p.file, "row": "" if p.row is None else p.row,
                           "column": p.column or "", "value": "" if p.value is None else p.value,
                           "message": p.message} for p in report.problems],
                         args.problems_csv, columns=["file", "row", "column", "value", "message"])
    if report.problems:
        for note in report.notes:
            print(f"note: {args.path}: {note}", file=sys.stderr)
        for problem in report.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{args.path}: {len(report.problems)} problem(s)", file=sys.stderr)
        return 1
    if not args.quiet:
        note = f" ({'; '.join(report.notes)})" if report.notes else ""
        print(f"OK {report.summary()}{note}")
    if args.verbose:
        for line in _understood(args.path, args.evidence_dir):
            print(line)
    return 0


def _understood(path: str, evidence_dir: str | None) -> list[str]:
    """Every row of ``path`` as :func:`trialsynth.report.analysis.run_analysis` sees it."""
    from trialsynth.cli._understood import understood_rows
    from trialsynth.report.analysis import POOLED_CONDITIONS, run_analysis

    analysis = run_analysis(path, evidence_dir=evidence_dir)
    if analysis.problem_items:
        return [f"error: {p}" for p in analysis.problems]
    return understood_rows(analysis, list(analysis.effects.index), conditions=POOLED_CONDITIONS)
