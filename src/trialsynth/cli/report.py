"""``trialsynth report``: validate the data, run the analysis, execute the notebooks, write reports/."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="build reports/: executed notebooks, figures, tables, change report",
        description="Validate the trial table, pool it under a method profile, and write the report "
        "into the output folder (default reports/): index.html, the executed notebooks, figures in "
        "reports/figures, tables in reports/tables, exports, timings.json and changes.md (what moved "
        "since the last run).",
    )
    p.add_argument("--data", default="data/trials.csv", help="trial records (default: %(default)s)")
    p.add_argument("--out", default="reports", help="output folder (default: %(default)s)")
    p.add_argument("--profile", default="cochrane-2025", help="method profile (default: %(default)s)")
    p.add_argument("--notebooks", default=None, help="folder of notebooks to execute (default: ./notebooks)")
    p.add_argument("--no-notebooks", action="store_true", help="skip executing the notebooks")
    p.add_argument("--notebook-mode", choices=["shared", "parallel"], default="shared",
                   help="shared: one kernel runs the notebooks in turn (default); parallel: one kernel each")
    p.add_argument("--jobs", type=int, default=None, help="parallel mode: notebooks run at once (default: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from trialsynth.report.build import build_report

    try:
        index = build_report(data_path=args.data, out_dir=args.out, profile=args.profile, notebooks_dir=args.notebooks,
                             execute_notebooks=not args.no_notebooks, jobs=args.jobs, notebook_mode=args.notebook_mode,
                             progress=lambda line: print(line, flush=True))
    except RuntimeError as exc:  # a notebook failed: the report exists and says which
        print(f"error: {exc}")
        return 1
    timings = json.loads((Path(args.out) / "timings.json").read_text(encoding="utf-8"))
    print(f"open {index} ({timings.get('total', 0):.1f} s in all; stage times in {Path(args.out) / 'timings.json'})")
    return 0
