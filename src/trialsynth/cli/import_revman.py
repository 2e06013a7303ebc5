"""``trialsynth import-revman FILE``: read a RevMan 5 file or a Cochrane data package, validate
the trial rows it yields, write them with their provenance, and a parity report.

1. Read FILE safely (``.rm5``: :func:`trialsynth.data.importers.read_revman5`; a ``.zip`` or a
   folder: :func:`~trialsynth.data.importers.read_cochrane_data_package`). A hostile file (a
   document type declaration, entity expansion, path traversal in a zip, a zip bomb) is refused
   with one line naming the file.
2. Re-pool every analysis with the method the file names and compare with the results it stores
   (:func:`trialsynth.pooling.revman_parity.revman_parity`): ``parity.md`` and ``parity.csv``.
3. Map the study rows into the trial schema with the reviewer's ``--mapping`` (YAML, see
   :mod:`trialsynth.data.importers.mapping`; without one a ``mapping-template.yaml`` to fill in
   is written) and validate them against the schema and their provenance: each row says
   "imported from FILE, analysis X.Y" and quotes the file's stored values through the evidence
   record written beside it. Only when every row is valid are ``trials.csv`` and
   ``evidence/<source_id>.yaml`` written; add them to the data with ``trialsynth add-trial``.
   Otherwise the rows go to ``rejected-rows.csv`` and ``problems.csv`` names each problem's row
   there, its column, and the study and analysis of FILE the row came from.

Everything goes into ``--out`` (default ``imports/<name of FILE>``); files there from an earlier
import are replaced only with ``--force``, and an existing mapping template is never replaced.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


_SHOWN = 25


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-revman", aliases=["import_revman"],
        help="import a RevMan 5 file (.rm5) or a Cochrane data package (.zip): validated trial rows with "
        "provenance, and a parity report re-pooling every analysis against the file's stored results",
        description="Read a RevMan 5 review file (.rm5, XML) or a Cochrane data package (the zip of CSVs "
        "RevMan Web and the Cochrane Library export, or the folder it was extracted to), safely. Write "
        "into --out: parity.md / parity.csv (every analysis re-pooled with the method the file names: "
        "IV, Mantel-Haenszel or Peto, fixed or DerSimonian-Laird random, Wald z, beside the stored "
        "results), the analyses and study rows as read, and, with --mapping, the rows mapped into the "
        "trial schema (trials.csv) with provenance 'imported from FILE, analysis X.Y' and the evidence "
        "record that quotes the file (evidence/<source_id>.yaml), written only when every row validates. "
        "Without --mapping a mapping-template.yaml is written to fill in.",
    )
    p.add_argument("file", help="the .rm5 file, the data package .zip, or its extracted folder")
    p.add_argument("--mapping", default=None, metavar="MAP.yaml",
                   help="the reviewer's mapping of analyses to the schema's columns (condition, comparator "
                   "class, outcome, scale, time points); see trialsynth.data.importers.mapping")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: imports/<name of FILE>)")
    p.add_argument("--force", action="store_true", help="replace the outputs of an earlier import in --out")
    p.set_defaults(func=run)


def _read(path: str):
    from trialsynth.data.importers import read_cochrane_data_package, read_revman5
    from trialsynth.errors import Problem, TrialDataError

    p = Path(path)
    if p.is_dir() or p.suffix.lower() == ".zip":
        return read_cochrane_data_package(p)
    if p.suffix.lower() == ".rm5" or p.suffix.lower() == ".xml":
        return read_revman5(p)
    if not p.exists():
        raise TrialDataError([Problem(path, None, None, None, "file not found")])
    head = p.read_bytes()[:4] if p.is_file() else b""
    if head.startswith(b"PK"):
        return read_cochrane_data_package(p)
    return read_revman5(p)


def run(args: argparse.Namespace) -> int:
    from trialsynth.data.importers import mapping_template, review_to_trials
    from trialsynth.data.io import atomic_write_text, load_yaml, write_csv_safely
    from trialsynth.errors import Problem, TrialDataError
    from trialsynth.pooling.revman_parity import revman_parity

    review = _read(args.file)
    out = Path(args.out) if args.out else Path("imports") / Path(args.file).name.replace(".", "_")
    generated = ["parity.md", "parity.csv", "analyses.csv", "study-rows.csv", "risk-of-bias.csv", "trials.csv",
                 "problems.csv", "rejected-rows.csv"]
    existing = [name for name in generated if (out / name).exists()]
    if existing and not args.force:
        raise TrialDataError([Problem(str(out), None, None, ", ".join(existing),
                                      "holds the outputs of an earlier import; use --force to replace them, "
                                      "or --out for another folder")])
    print(review.summary())
    out.mkdir(parents=True, exist_ok=True)
    parity = revman_parity(review)
    atomic_write_text(out / "parity.md", parity.to_markdown())
    write_csv_safely(parity.values, out / "parity.csv")
    write_csv_safely(review.to_frame(), out / "analyses.csv")
    write_csv_safely(review.rows.drop(columns=["value_texts"]), out / "study-rows.csv")
    if len(review.risk_of_bias):
        write_csv_safely(review.risk_of_bias, out / "risk-of-bias.csv")
    print(parity.summary() + f": {out / 'parity.md'}")
    if not len(parity.analyses):
        print(f"warning: {args.file} holds no analyses: nothing to re-pool or import", file=sys.stderr)
    elif not parity.all_agree:
        print(f"warning: some stored results are not reproduced; see {out / 'parity.md'}", file=sys.stderr)

    if args.mapping is None:
        template = out / "mapping-template.yaml"
        if template.exists():
            print(f"no --mapping given; {template} exists already (not replaced): fill it in and pass it as --mapping")
        else:
            atomic_write_text(template, mapping_template(review))
            print(f"no --mapping given: wrote {template}; fill it in and run again with --mapping {template}")
    mapping = {} if args.mapping is None else load_yaml(args.mapping)
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise TrialDataError([Problem(args.mapping, None, None, None, "is not a YAML mapping (key: value)")])
    rows_file = str(out / "trials.csv")
    result = review_to_trials(review, mapping, file_label=Path(args.file).name,
                              mapping_label=Path(args.mapping).name if args.mapping else "mapping.yaml",
                              rows_file=rows_file)
    for line in result.skipped:
        print(f"skipped: {line}")
    for line in result.notes:
        print(f"note: {line}")
    if result.problems or not len(result.trials):
        # trials.csv is not written: the problems name the rows in rejected-rows.csv, which is,
        # and say which study row of which analysis of FILE each one came from
        rejected = str(out / "rejected-rows.csv")
        if len(result.trials):
            write_csv_safely(result.trials, rejected)
        origin = {i + 2: f"{rec.get('study_id')}, {rec.get('source_location')}"
                  for i, rec in enumerate(result.trials.to_dict("records"))} if len(result.trials) else {}
        problems = [Problem(rejected if q.file == rows_file else q.file, q.row, q.column, q.value,
                            q.message + (f" [{origin[q.row]}]" if q.file == rows_file and q.row in origin else ""))
                    for q in result.problems]
        write_csv_safely([{"file": q.file, "row": "" if q.row is None else q.row, "column": q.column or "",
                           "value": "" if q.value is None else q.value, "message": q.message} for q in problems],
                         out / "problems.csv", columns=["file", "row", "column", "value", "message"])
        n_all = len(problems)
        missing = sorted({q.column for q in problems if q.column and "missing value" in q.message})
        if args.mapping is None and missing:
            # no mapping yet: the columns it must give, not one line per row and column
            print(f"without --mapping the {len(result.trials)} rows lack what only a mapping gives: "
                  + ", ".join(missing) + f" (each problem in {out / 'problems.csv'})", file=sys.stderr)
            problems = [q for q in problems if not (q.column in missing and "missing value" in q.message)]
        for problem in problems[:_SHOWN]:
            print(f"error: {problem}", file=sys.stderr)
        if len(problems) > _SHOWN:
            from collections import Counter

            counts = Counter(q.column or "(row)" for q in problems)
            print(f"... and {len(problems) - _SHOWN} more; by column: "
                  + ", ".join(f"{c} {n}" for c, n in counts.most_common()) + f" (all in {out / 'problems.csv'})",
                  file=sys.stderr)
        what = f"{n_all} problem(s)" if n_all else "no rows to import"
        print(f"{args.file}: {what}; trials.csv and the evidence record were not written", file=sys.stderr)
        return 1
    import yaml

    for stale in ("problems.csv", "rejected-rows.csv"):  # an earlier failed import's (replaced under --force)
        (out / stale).unlink(missing_ok=True)
    record_path = out / "evidence" / f"{result.record['id']}.yaml"
    write_csv_safely(result.trials, rows_file, neutralise=False)
    atomic_write_text(record_path, yaml.safe_dump(result.record, sort_keys=False, allow_unicode=True, width=100))
    print(f"OK {len(result.trials)} rows from {len(set(result.trials['source_location']))} analyses: {rows_file} "
          f"and {record_path}; append them with: trialsynth add-trial {rows_file} --evidence {record_path}")
    return 0
