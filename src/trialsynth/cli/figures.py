"""``trialsynth figures``: every standard figure into one folder (default ``reports/figures/``).

Per outcome x comparator: a forest plot per window, the windows together, the
paired short- vs long-term panel; per pooled group with enough studies: funnel,
leave-one-out and cumulative plots (GOSH up to 15 studies); per outcome: the
pooled effect against weeks after treatment; and the risk-of-bias summary.
A ``figures.json`` manifest lists every file with what it shows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from trialsynth.cli.forest import (
    WINDOW_TITLES,
    _align_labels,
    add_common,
    comparison_words,
    favours_for,
    forest_for_group,
    group_rows,
    prepare,
    study_data,
)

#: fewest studies for funnel, leave-one-out and cumulative plots; most studies for GOSH (2^k subsets)
MIN_K_DIAGNOSTICS = 3
MAX_K_GOSH = 15
WINDOW_ORDER = ("immediate", "short", "intermediate", "long")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "figures",
        help="every standard figure (forest, panels, funnel, sensitivity, RoB, effect by time)",
        description="Pool every outcome x comparison (comparator, add-on or head to head) x window and write the "
        "standard figures.",
    )
    add_common(p)
    p.add_argument("--out", default="reports/figures", help="output folder (default: %(default)s)")
    p.set_defaults(func=run)


def _title(outcome, comparator, suffix=""):
    """"Pain, acupuncture + usual care vs usual care: ..." (``comparator`` is a comparison key of
    :func:`trialsynth.cli.forest.comparison_keys`)."""
    text = f"{str(outcome).replace('_', ' ').capitalize()}, {comparison_words(comparator)}"
    return text + (f": {suffix}" if suffix else "")


def _optional(name):
    """A diagnostics function of the engine, or None when this build lacks it."""
    import trialsynth

    try:
        return getattr(trialsynth, name)
    except (AttributeError, ImportError):
        return None


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from trialsynth.data.windows import DEFAULT_WINDOWS
    from trialsynth.plots import (
        cumulative_plot,
        effect_by_time_plot,
        forest_plot,
        funnel_plot,
        get_style,
        gosh_plot,
        leave_one_out_plot,
        rob_traffic_light,
        save_figure,
        short_long_panel,
    )

    style = get_style(args.style)
    formats = tuple(args.formats or ("svg",))
    out = Path(args.out)
    effects, grouped = prepare(args.data, measure=args.measure, binary_measure=args.binary_measure,
                               profile=args.profile)
    manifest = []
    skipped = []

    def save(fig, stem, kind, description):
        paths = save_figure(fig, out / stem, formats, dpi=args.dpi)
        manifest.append({"figure": kind, "description": description, "files": [p.name for p in paths]})
        for path in paths:
            print(path)

    def ordered(keys):
        return sorted(keys, key=lambda k: (str(k[0]), str(k[1]), WINDOW_ORDER.index(str(k[2]))
                                           if str(k[2]) in WINDOW_ORDER else 99))

    keys = ordered(grouped.results)
    pairs = list(dict.fromkeys((k[0], k[1]) for k in keys))
    leave_one_out = _optional("leave_one_out")
    cumulative = _optional("cumulative")
    trim_and_fill = _optional("trim_and_fill")
    gosh = _optional("gosh")
    funnel_coordinates = _optional("funnel_coordinates")

    for key in keys:
        outcome, comparator, window = (str(v) for v in key)
        result = grouped.results[key]
        rows = group_rows(effects, key)
        stem = f"{outcome}_{comparator}_{window}"
        fig = forest_for_group(result, rows, style=style,
                               title=_title(outcome, comparator, WINDOW_TITLES.get(window, window)))
        save(fig, f"forest_{stem}", "forest", f"forest plot, {outcome} vs {comparator}, {window}")
        k = int(getattr(result, "k", len(rows)))
        if k < MIN_K_DIAGNOSTICS:
            skipped.append(f"{stem}: k = {k} < {MIN_K_DIAGNOSTICS}, no funnel or sensitivity plots")
            continue
        filled = trim_and_fill(result) if trim_and_fill is not None else None
        funnel_data = result
        if funnel_coordinates is not None:
            funnel_data = funnel_coordinates(filled if filled is not None else result)
        save(funnel_plot(funnel_data, trimfill=filled, measure=result.measure, style=style,
                         title=_title(outcome, comparator, window)),
             f"funnel_{stem}", "funnel", f"contour-enhanced funnel plot, {outcome} vs {comparator}, {window}")
        if leave_one_out is not None:
            save(leave_one_out_plot(leave_one_out(result), result, style=style,
                                    title=_title(outcome, comparator, f"{window}, leave one out")),
                 f"leave_one_out_{stem}", "leave_one_out", f"leave-one-out, {outcome} vs {comparator}, {window}")
        if cumulative is not None:
            save(cumulative_plot(cumulative(result), result, style=style,
                                 title=_title(outcome, comparator, f"{window}, cumulative")),
                 f"cumulative_{stem}", "cumulative", f"cumulative meta-analysis, {outcome} vs {comparator}, {window}")
        if gosh is not None and k <= MAX_K_GOSH:
            save(gosh_plot(gosh(result), result, style=style, title=_title(outcome, comparator, f"{window}, GOSH")),
                 f"gosh_{stem}", "gosh", f"GOSH plot, {outcome} vs {comparator}, {window}")

    for outcome, comparator in pairs:
        pair_keys = [k for k in keys if (k[0], k[1]) == (outcome, comparator)]
        windows = {str(k[2]): k for k in pair_keys}
        if len(pair_keys) > 1:
            sections, data = {}, {}
            for key in pair_keys:
                heading = WINDOW_TITLES.get(str(key[2]), str(key[2]))
                sections[heading] = grouped.results[key]
                data[heading] = study_data(group_rows(effects, key))
                _align_labels(grouped.results[key], data[heading])
            fig = forest_plot(sections, study_data=data, style=style,
                              favours=favours_for(grouped.results[pair_keys[0]]),
                              title=_title(outcome, comparator, "by time after treatment"))
            save(fig, f"forest_{outcome}_{comparator}_by_window", "forest_by_window",
                 f"forest plot with windows as subgroups, {outcome} vs {comparator}")
        later = next((w for w in ("long", "intermediate") if w in windows), None)
        if "short" in windows and later is not None:
            fig = short_long_panel(grouped.results[windows["short"]], grouped.results[windows[later]],
                                   headings=(WINDOW_TITLES["short"], WINDOW_TITLES[later]), style=style,
                                   favours=favours_for(grouped.results[windows["short"]]),
                                   title=_title(outcome, comparator, f"short term and {later} term"))
            save(fig, f"panel_{outcome}_{comparator}_short_{later}", "short_long_panel",
                 f"paired short- and {later}-term panels, {outcome} vs {comparator}")

    table = grouped.to_frame()
    targets = {w.name: w.target for w in DEFAULT_WINDOWS}
    table = table.assign(weeks_after_treatment=[targets.get(str(w)) for w in table["window"]])
    for outcome in dict.fromkeys(table["outcome"].astype(str)):
        part = table[table["outcome"].astype(str) == outcome]
        for measure in dict.fromkeys(part["measure"].astype(str)):
            subset = part[part["measure"].astype(str) == measure]
            fig = effect_by_time_plot(subset, style=style, favours=favours_for(subset.iloc[0]),
                                      title=f"{outcome.replace('_', ' ').capitalize()}: "
                                      "pooled effect by time after treatment (window targets)")
            save(fig, f"effect_by_time_{outcome}_{measure}", "effect_by_time",
                 f"pooled {measure} by weeks after treatment, {outcome}")

    if "rob" in effects.columns and effects["rob"].notna().any():
        rob = (effects[effects["rob"].notna()].drop_duplicates("study_id")[["study_id", "rob"]]
               .rename(columns={"study_id": "label", "rob": "Overall"}))
        save(rob_traffic_light(pd.DataFrame(rob).reset_index(drop=True), style=style,
                               title="Risk of bias (overall judgement per study)"),
             "rob_summary", "rob_traffic_light", "overall risk of bias per study")

    manifest_path = out / "figures.json"
    from trialsynth.data.io import atomic_write_bytes

    atomic_write_bytes(manifest_path, (json.dumps({"profile": args.profile, "style": style.name, "figures": manifest,
                                              "skipped": skipped}, indent=2) + "\n").encode())
    print(manifest_path)
    return 0
