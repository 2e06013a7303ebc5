"""Entry point of the ``trialsynth`` command line.

Each subcommand lives in its own module of this package and provides
``add_parser(subparsers)`` (which sets ``func`` on its parser).  User errors
(:class:`trialsynth.errors.TrialsynthError`) are printed one line per problem
with exit status 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from trialsynth._version import __version__
from trialsynth.errors import TrialsynthError

# subcommand modules, in the order --help lists them
SUBCOMMANDS = ["validate", "report", "forest", "figures", "add_trial", "import_revman"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trialsynth",
        description="Evidence synthesis for clinical trials: validate trial records, "
        "pool them, draw forest plots and build the report.",
    )
    parser.add_argument("--version", action="version", version=f"trialsynth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"trialsynth.cli.{name}")
        except ModuleNotFoundError as exc:  # a subcommand not built yet
            if exc.name != f"trialsynth.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except TrialsynthError as exc:
        for line in exc.problems():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
