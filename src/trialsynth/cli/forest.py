"""``trialsynth forest``: the forest plots of one outcome and comparator, exactly as the report draws them.

The data go through the report's own pipeline (:func:`trialsynth.report.analysis.run_analysis`:
load and validate, windows, effect sizes, the population filter, one row per trial per window,
pooling under the profile) and the report's figure builder
(:func:`trialsynth.report.figures.plan_figures`), so ``forest_pain_sham_immediate`` is the same
population and the same picture whichever command wrote it. Options that change what is pooled
(``--conditions``, ``--measure``, ``--binary-measure``, ``--profile``) also change the file names
(e.g. ``forest_pain_sham_immediate_md``), so a file name never means two analyses.

A comparison is the comparator class, with ``_addon`` when acupuncture was added to the
comparator's care (``--comparator usual_care_addon``: acupuncture + usual care vs usual care):
add-on and head-to-head trials answer different questions and are never pooled together
(:mod:`trialsynth.data.cells`); their files are ``forest_pain_usual_care_addon_<window>``.
"""

from __future__ import annotations

import argparse

from trialsynth.errors import ArgumentError, TrialsynthError

FORMATS = ("svg", "pdf", "png")
WINDOWS = ("immediate", "short", "intermediate", "long")
DEFAULT_OUT = "reports/figures"


def add_common(p: argparse.ArgumentParser) -> None:
    """Options shared by ``forest`` and ``figures`` (what is pooled, and how files are written)."""
    from trialsynth.report.analysis import DEFAULT_PROFILE, POOLED_CONDITIONS

    p.add_argument("--data", default="data/trials.csv", help="trial records (default: %(default)s)")
    p.add_argument("--profile", default=DEFAULT_PROFILE,
                   help="pooling profile: cochrane-2025, metafor-default, revman5-legacy (default: %(default)s)")
    p.add_argument("--conditions", default=",".join(POOLED_CONDITIONS), metavar="LIST",
                   help="populations to pool, comma-separated (chronic_lbp, mixed_lbp, acute_lbp, subacute_lbp, "
                        "acute_subacute_lbp, sciatica), or 'all' (default: %(default)s, as the report)")
    p.add_argument("--measure", default="SMD", choices=("SMD", "MD"),
                   help="measure for continuous outcomes (default: %(default)s)")
    p.add_argument("--binary-measure", default="RR", choices=("RR", "OR", "RD"),
                   help="measure for responder outcomes (default: %(default)s)")
    p.add_argument("--style", default="cochrane", choices=("cochrane", "jama"),
                   help="house style (default: %(default)s)")
    p.add_argument("--format", dest="formats", action="append", choices=FORMATS, metavar="FORMAT",
                   help="svg, pdf or png; repeat for several (default: svg)")
    p.add_argument("--dpi", type=int, default=300, help="PNG resolution (default: %(default)s)")
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s, as the report)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forest",
        help="forest plots of one outcome and comparator (per window, and windows together), as in the report",
        description="Pool the trials of one outcome and comparator class per follow-up window with the "
        "report's pipeline and population, and draw their forest plots as the report does: one per window "
        "and, when every window is drawn, one with the windows as subgroups.",
    )
    add_common(p)
    p.add_argument("--outcome", default="pain", help="outcome: pain, function or responder (default: %(default)s)")
    p.add_argument("--comparator", default="sham",
                   help="comparison: sham, usual_care, no_treatment, active, or one of them with _addon for acupuncture "
                        "added to that care, e.g. usual_care_addon (default: %(default)s)")
    p.add_argument("--window", dest="windows", action="append", metavar="WINDOW",
                   help="immediate, short, intermediate or long; repeat for several (default: every window with "
                        "data, plus the figure of all windows together)")
    p.add_argument("--sort", choices=("year", "effect", "weight"), default=None, help="order of the studies")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- shared with `figures`


def conditions_of(text: str):
    """``--conditions``: a tuple of condition names, or None for 'all'."""
    from trialsynth.data.schema import column

    if text.strip().lower() == "all":
        return None
    names = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    known = tuple(column("condition").enum or ())
    unknown = [c for c in names if c not in known]
    if not names or unknown:
        raise ArgumentError(f"--conditions: unknown condition(s) {unknown or [text]}; expected some of "
                            f"{', '.join(known)} (comma-separated), or 'all'")
    return names


def analysis_for(args: argparse.Namespace):
    """The report's analysis of ``args.data`` with the command's options (invalid data raises)."""
    from trialsynth.report.analysis import run_analysis

    an = run_analysis(args.data, args.profile, conditions=conditions_of(args.conditions), measure=args.measure,
                      binary_measure=args.binary_measure, raise_invalid=True)
    if not an.results():
        raise TrialsynthError(f"{args.data}: nothing was pooled" + (f" ({'; '.join(an.notes)})" if an.notes else ""))
    return an


def stem_suffix(args: argparse.Namespace) -> str:
    """"" for the report's analysis; otherwise what differs (``_md``, ``_or``, ``_acute_lbp``,
    ``_metafor_default``), so that a file name always means one analysis."""
    from trialsynth.report.analysis import DEFAULT_PROFILE, POOLED_CONDITIONS

    parts = []
    conditions = conditions_of(args.conditions)
    if conditions is None:
        parts.append("all_conditions")
    elif set(conditions) != set(POOLED_CONDITIONS):
        parts += sorted(conditions)
    if args.measure != "SMD":
        parts.append(args.measure.lower())
    if args.binary_measure != "RR":
        parts.append(args.binary_measure.lower())
    if args.profile != DEFAULT_PROFILE:
        parts.append(args.profile.replace("-", "_"))
    return "".join(f"_{p}" for p in parts)


def write(plan, args: argparse.Namespace, *, manifest: bool = False) -> int:
    """Write the plan's figures into ``args.out`` ("figures 3/43: <stem>" as each is drawn, then
    every file written)."""
    from pathlib import Path

    from trialsynth.report.figures import write_figures, write_manifest

    out = Path(args.out)
    formats = tuple(args.formats or ("svg",))
    notes: list[str] = []

    made = write_figures(plan.jobs, out, formats, notes=notes, dpi=args.dpi, progress=lambda line: print(line, flush=True))
    for figure in made:
        for name in figure["files"]:
            print(out / name)
    if manifest:
        print(write_manifest(out, plan, made, profile=args.profile, style=args.style))
    if notes:
        raise TrialsynthError("; ".join(notes))
    return 0


def comparison_of(text: str) -> tuple[str, bool]:
    """``--comparator``: ``"usual_care_addon"`` -> ("usual_care", True) (acupuncture added to usual
    care), ``"sham"`` -> ("sham", False)."""
    text = str(text)
    if text.endswith("_addon"):
        return text[: -len("_addon")], True
    return text, False


def comparison_name(comparator, add_on) -> str:
    """The ``--comparator`` value of a cell: ``usual_care_addon`` or ``sham``."""
    from trialsynth.data.cells import as_add_on

    return f"{comparator}_addon" if as_add_on(add_on) is True else str(comparator)


def run(args: argparse.Namespace) -> int:
    from trialsynth.data.cells import as_add_on
    from trialsynth.report.figures import plan_figures

    an = analysis_for(args)
    comparator, add_on = comparison_of(args.comparator)
    keys = [k for k in an.results()
            if str(k[0]) == args.outcome and str(k[1]) == comparator and as_add_on(k[2]) is add_on]
    if not keys:
        available = sorted({f"{k[0]}/{comparison_name(k[1], k[2])}" for k in an.results()})
        raise ArgumentError(
            f"--outcome/--comparator: no pooled trials for outcome {args.outcome!r} and comparison "
            f"{args.comparator!r} in {args.data}; available: {', '.join(available) or 'none'}"
        )
    kinds = ("forest", "forest_by_window")
    if args.windows:
        unknown = [w for w in args.windows if w not in WINDOWS]
        if unknown:
            raise ArgumentError(f"--window: unknown window(s) {unknown}; expected some of {list(WINDOWS)}")
        missing = [w for w in args.windows if w not in {str(k[3]) for k in keys}]
        if missing:
            have = ", ".join(str(k[3]) for k in keys)
            raise ArgumentError(f"--window: no pooled trials in window(s) {missing} (windows with data: {have})")
        keys = [k for k in keys if str(k[3]) in args.windows]
        kinds = ("forest",)  # the figure of all windows is drawn only with all of them
    plan = plan_figures(an, kinds, style=args.style, sort_by=args.sort, keys=keys, suffix=stem_suffix(args))
    return write(plan, args)
