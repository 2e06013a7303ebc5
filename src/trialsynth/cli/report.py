"""``trialsynth report``: validate the data, run the analysis, execute the notebooks, write reports/."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="build reports/: executed notebooks, figures, tables, change report")
    p.add_argument("--data", default="data/trials.csv", help="trial records (default: %(default)s)")
    p.add_argument("--out", default="reports", help="output folder (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trialsynth.report.build import build_report

    index = build_report(data_path=args.data, out_dir=args.out)
    print(f"report written: {index}")
    return 0
