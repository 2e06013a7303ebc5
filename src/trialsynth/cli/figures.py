"""``trialsynth figures``: every standard figure into one folder (default ``reports/figures/``, as the report).

The report's pipeline and population (:func:`trialsynth.report.analysis.run_analysis`) and the
report's figure builder (:func:`trialsynth.report.figures.plan_figures`): per pooled group a forest
plot (arm columns, † for approximated effects, risk of bias when judged) and, with at least three
studies, funnel (with trim-and-fill), leave-one-out, cumulative and GOSH plots; per outcome x
comparator the windows together and the short- beside the longer-term panel; per outcome the
pooled effect against weeks after treatment; the risk-of-bias summary. ``figures.json`` lists
every file with what it shows, and what was not drawn and why ("k = 2 < 3").
"""

from __future__ import annotations

import argparse

from trialsynth.cli.forest import add_common, analysis_for, stem_suffix, write


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "figures",
        help="every standard figure (forest, panels, funnel, sensitivity, RoB, effect by time), as in the report",
        description="Pool every outcome x comparator x window with the report's pipeline and population and "
        "write every standard figure the report draws (same file names), with figures.json listing them "
        "and what was not drawn and why.",
    )
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trialsynth.report.figures import KINDS, plan_figures

    an = analysis_for(args)
    plan = plan_figures(an, KINDS, style=args.style, suffix=stem_suffix(args))
    return write(plan, args, manifest=True)
