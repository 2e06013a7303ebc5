"""``trialsynth forest``: forest plots of one outcome and comparison, per follow-up window.

The data go through the same stages as the report: ``load_trials`` ->
``assign_windows`` / ``select_per_window`` -> ``effects_from_trials`` ->
``pool_groups`` (with the chosen profile) -> ``forest_plot`` -> ``save_figure``.

A comparison is the comparator class, with ``_addon`` when acupuncture was added to the
comparator's care (``usual_care_addon``: acupuncture + usual care vs usual care): add-on and
head-to-head trials answer different questions and are never pooled together
(:mod:`trialsynth.data.cells`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trialsynth.errors import ArgumentError

FORMATS = ("svg", "pdf", "png")


def add_common(p: argparse.ArgumentParser) -> None:
    """Options shared by ``forest`` and ``figures``."""
    p.add_argument("--data", default="data/trials.csv", help="trial records (default: %(default)s)")
    p.add_argument("--profile", default="cochrane-2025",
                   help="pooling profile: cochrane-2025, metafor-default, revman5-legacy (default: %(default)s)")
    p.add_argument("--measure", default="SMD", choices=("SMD", "MD"),
                   help="measure for continuous outcomes (default: %(default)s)")
    p.add_argument("--binary-measure", default="RR", choices=("RR", "OR", "RD"),
                   help="measure for responder outcomes (default: %(default)s)")
    p.add_argument("--style", default="cochrane", help="house style: cochrane or jama (default: %(default)s)")
    p.add_argument("--format", dest="formats", action="append", choices=FORMATS, metavar="FORMAT",
                   help="svg, pdf or png; repeat for several (default: svg)")
    p.add_argument("--dpi", type=int, default=300, help="PNG resolution (default: %(default)s)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forest",
        help="forest plots of one outcome and comparator (per window, and windows together)",
        description="Pool the trials of one outcome and comparator class per follow-up window and draw "
        "their forest plots (one per window, plus one with the windows as subgroups).",
    )
    add_common(p)
    p.add_argument("--outcome", default="pain", help="outcome (default: %(default)s)")
    p.add_argument("--comparator", default="sham",
                   help="comparison: sham, usual_care, no_treatment, active, or one of them with _addon for acupuncture "
                        "added to that care, e.g. usual_care_addon (default: %(default)s)")
    p.add_argument("--window", dest="windows", action="append", metavar="WINDOW",
                   help="immediate, short, intermediate or long; repeat for several (default: every window with data)")
    p.add_argument("--sort", choices=("year", "effect", "weight"), default=None, help="order of the studies")
    p.add_argument("--out", default="figures", help="output folder (default: %(default)s)")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- the pipeline


def prepare(data_path: str, *, measure: str = "SMD", binary_measure: str = "RR", profile: str = "cochrane-2025"):
    """Load, window, select, compute effects and pool: returns (effects frame, GroupedResults)."""
    from trialsynth.data.loading import load_trials
    from trialsynth.data.windows import assign_windows, select_per_window
    from trialsynth.effects.records import effects_from_trials

    try:
        from trialsynth.pooling.grouped import pool_groups
    except ImportError as exc:  # the pooling stage lands separately
        from trialsynth.errors import TrialsynthError

        raise TrialsynthError(f"this build has no pooling stage yet ({exc}); figures need pool_groups") from None

    trials = load_trials(data_path)
    windowed = assign_windows(trials, on_outside="drop")
    selected = select_per_window(windowed)
    effects = effects_from_trials(selected, measure=measure, binary_measure=binary_measure)
    effects = effects[effects["yi"].notna() & effects["vi"].notna()]
    effects = effects.assign(comparison=comparison_keys(effects))
    grouped = pool_groups(effects, by=("outcome", "comparison", "window"), profile=profile)
    return effects, grouped


def comparison_keys(effects):
    """Each row's comparison: its comparator class, with ``_addon`` when acupuncture was added to
    the comparator's care (``add_on``)."""
    from trialsynth.data.cells import as_add_on

    add = effects["add_on"] if "add_on" in effects.columns else [False] * len(effects)
    return [f"{c}_addon" if as_add_on(a) is True else str(c) for c, a in zip(effects["comparator_class"].astype(str), add)]


def comparison_words(comparison) -> str:
    """``usual_care_addon`` -> "acupuncture + usual care vs usual care"; ``sham`` -> "acupuncture vs sham"."""
    from trialsynth.data.cells import comparison_label

    text = str(comparison)
    if text.endswith("_addon"):
        return comparison_label(text[: -len("_addon")], True)
    return comparison_label(text, False)


def group_rows(effects, key):
    """The effect rows of one (outcome, comparison, window) group, in data order."""
    outcome, comparison, window = key
    column = "comparison" if "comparison" in effects.columns else "comparator_class"
    mask = (
        (effects["outcome"].astype(str) == str(outcome))
        & (effects[column].astype(str) == str(comparison))
        & (effects["window"].astype(str) == str(window))
    )
    return effects[mask]


def study_data(rows):
    """Per-study extras for the plot: label, year, arm summaries, overall risk of bias."""
    import pandas as pd

    out = pd.DataFrame({"label": rows["study_id"].astype(str).to_numpy()})
    approximate = rows["approximate"].fillna(False).astype(bool).to_numpy() if "approximate" in rows else None
    if approximate is not None and approximate.any():
        out["display_label"] = [f"{label} \u2020" if approx else label
                                for label, approx in zip(out["label"], approximate)]
    for column in ("year", "n1", "n2", "mean1", "sd1", "mean2", "sd2", "events1", "events2"):
        if column in rows.columns:
            out[column] = rows[column].to_numpy()
    if "rob" in rows.columns and rows["rob"].notna().any():
        out["RoB"] = rows["rob"].astype("string").fillna("").to_numpy()
    return out


def _footnote(result, rows) -> str:
    parts = []
    if hasattr(result, "methods_text"):
        parts.append(result.methods_text())
    if "approximate" in rows and rows["approximate"].fillna(False).astype(bool).any():
        parts.append("\u2020 Effect size approximated (see the derivation column of the effects table).")
    return "\n".join(parts)


WINDOW_TITLES = {
    "immediate": "Immediately after treatment",
    "short": "Short term (up to 3 months after treatment)",
    "intermediate": "Intermediate term (3 to 12 months)",
    "long": "Long term (12 months or more)",
}


def forest_for_group(result, rows, *, style, sort=None, title=None):
    from trialsynth.plots import forest_plot

    data = study_data(rows)
    _align_labels(result, data)
    rob = ["RoB"] if "RoB" in data.columns else None
    favours = favours_for(result)
    if style.name == "jama":
        favours = tuple(f.replace("Favours", "Favors") for f in favours)
    return forest_plot(result, study_data=data, style=style, sort_by=sort, rob=rob, favours=favours,
                       footnote=_footnote(result, rows), title=title)


def _align_labels(result, data) -> None:
    """Join by position when the result's labels are not the study ids (same order as the rows)."""
    labels = [str(v) for v in result.study_frame()["label"]]
    if len(labels) != len(data):
        raise ArgumentError(
            f"internal: the pooled result has {len(labels)} studies but the group has {len(data)} rows"
        )
    if set(labels) != set(data["label"]):
        data["label"] = labels


def favours_for(result, arm_labels=("Acupuncture", "Control")):
    """Which side favours whom: continuous effects are oriented so that negative favours
    acupuncture; for responder outcomes (RR, OR, RD) a positive effect favours acupuncture."""
    measure = str(getattr(result, "measure", "") or "").upper()
    left, right = f"Favours {arm_labels[0].lower()}", f"Favours {arm_labels[1].lower()}"
    return (right, left) if measure in ("RR", "OR", "RD") else (left, right)


def run(args: argparse.Namespace) -> int:
    from trialsynth.plots import forest_plot, get_style, save_figure

    style = get_style(args.style)
    formats = tuple(args.formats or ("svg",))
    effects, grouped = prepare(args.data, measure=args.measure, binary_measure=args.binary_measure,
                               profile=args.profile)
    keys = [k for k in grouped.results if str(k[0]) == args.outcome and str(k[1]) == args.comparator]
    if not keys:
        available = sorted({f"{k[0]}/{k[1]}" for k in grouped.results})
        raise ArgumentError(
            f"--outcome/--comparator: no pooled trials for outcome {args.outcome!r} and comparator "
            f"{args.comparator!r} in {args.data}; available: {', '.join(available) or 'none'}"
        )
    order = ["immediate", "short", "intermediate", "long"]
    keys.sort(key=lambda k: order.index(str(k[2])) if str(k[2]) in order else len(order))
    if args.windows:
        unknown = [w for w in args.windows if w not in order]
        if unknown:
            raise ArgumentError(f"--window: unknown window(s) {unknown}; expected some of {order}")
        missing = [w for w in args.windows if w not in {str(k[2]) for k in keys}]
        if missing:
            have = ", ".join(str(k[2]) for k in keys)
            raise ArgumentError(f"--window: no pooled trials in window(s) {missing} (windows with data: {have})")
        keys = [k for k in keys if str(k[2]) in args.windows]
    out = Path(args.out)
    written = []
    for key in keys:
        result = grouped.results[key]
        rows = group_rows(effects, key)
        fig = forest_for_group(result, rows, style=style, sort=args.sort,
                               title=f"{args.outcome.replace('_', ' ').capitalize()}, {comparison_words(args.comparator)}: "
                                     f"{WINDOW_TITLES.get(str(key[2]), key[2])}")
        written += save_figure(fig, out / f"forest_{args.outcome}_{args.comparator}_{key[2]}", formats, dpi=args.dpi)
    if len(keys) > 1:
        sections, data = {}, {}
        for key in keys:
            rows = group_rows(effects, key)
            heading = WINDOW_TITLES.get(str(key[2]), str(key[2]))
            sections[heading] = grouped.results[key]
            data[heading] = study_data(rows)
            _align_labels(grouped.results[key], data[heading])
        fig = forest_plot(sections, study_data=data, style=style, sort_by=args.sort,
                          favours=favours_for(grouped.results[keys[0]]),
                          title=f"{args.outcome.replace('_', ' ').capitalize()}, {comparison_words(args.comparator)}, "
                                "by time after treatment")
        written += save_figure(fig, out / f"forest_{args.outcome}_{args.comparator}_by_window", formats, dpi=args.dpi)
    for path in written:
        print(path)
    return 0
