"""The pooled tables as RevMan's data-package CSVs (the layout RevMan Web exports and reads).

:func:`revman_tables` lays the report's pooled cells out as the two analysis files of a
Cochrane data package (Cochrane, "Data package specification", RevMan knowledge base;
see :mod:`trialsynth.data.importers.cochrane_package` for the columns):

* ``<ID>-overall-estimates-and-settings.csv``: one row per pooled cell (an *analysis*: group =
  the comparator, number = the outcome x time window), with its settings (generic inverse
  variance on the analysis scale, the effect measure, random effects, the profile's tau2
  estimator and CI method) and the pooled result (estimate, CI, prediction interval, tau2, Chi2,
  df, P, I2, the test statistic and P);
* ``<ID>-data-rows.csv``: one row per study x cell, with ``GIV Mean`` / ``GIV SE`` (the study's
  effect on the analysis scale: log for ratios, "Log-scale data" TRUE), the arm sizes, its
  percent weight and its effect and CI on the display scale (ratios as ratios).

The files read back with :func:`trialsynth.data.importers.read_cochrane_data_package` and re-pool
to their own stored results (a test checks it), which is what "importable" means here: RevMan's
own exchange layout, complete enough for a re-analysis. Cells are written in a fixed order, every
number as the shortest text that reads back to the same double, so the files are byte-stable.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["revman_tables", "write_revman_csv", "SETTINGS_COLUMNS", "ROWS_COLUMNS"]

SETTINGS_COLUMNS = (
    "Analysis group", "Analysis number", "Analysis name", "Analysis group name", "Data source", "Data type",
    "Log-scale data", "Experimental group label", "Control group label", "Statistical method", "Effect measure",
    "Analysis model", "Heterogeneity estimator", "CI method", "Subgroup estimates", "Overall estimates",
    "Test for subgroup differences", "Swap event and non-event", "CI/PI level", "Graph label (left)",
    "Graph label (right)", "Experimental N", "Control N", "Mean", "CI start", "CI end", "PI start", "PI end",
    "Heterogeneity Tau²", "Heterogeneity Chi²", "Heterogeneity df", "Heterogeneity P", "Heterogeneity I²",
    "Effect Z", "Effect T", "Effect P", "Analysis ID",
)
ROWS_COLUMNS = (
    "Analysis group", "Analysis number", "Analysis name", "Subgroup", "Study", "Study year", "GIV Mean", "GIV SE",
    "Experimental N", "Control N", "Weight", "Mean", "CI start", "CI end", "Footnotes",
)

_MEASURE_NAMES = {"SMD": "Std. Mean Difference", "MD": "Mean Difference", "RR": "Risk Ratio", "OR": "Odds Ratio",
                  "RD": "Risk Difference"}
_COMPARATORS = ("sham", "no_treatment", "usual_care", "active")
_OUTCOMES = ("pain", "function", "responder", "quality_of_life", "global")
_WINDOWS = ("immediate", "short", "intermediate", "long")
_ESTIMATORS = {"REML": "REML", "DL": "DerSimonian-Laird", "PM": "Paule-Mandel", "EE": "", "FE": ""}


def _num(x) -> str:
    """A number as the shortest text that reads back to the same double (no rounding: the file
    re-pools to its own stored results to the last digit)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(v):
        return ""
    if v == 0:
        return "0"
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _order(value: str, order: tuple) -> int:
    return order.index(value) if value in order else len(order)


def revman_tables(results: dict, selected: pd.DataFrame | None = None, *, intervention: str = "Acupuncture",
                  review_id: str = "TRIALSYNTH") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two data-package tables (settings and data rows) for ``results``.

    Parameters
    ----------
    results : dict
        ``(outcome, comparator_class, add_on, window) -> MetaResult`` (the report's
        :meth:`~trialsynth.report.analysis.Analysis.results`).
    selected : DataFrame, optional
        The study rows that entered the cells (``study_id``, ``outcome``, ``comparator_class``,
        ``add_on``, ``window``, ``year``, ``n1``, ``n2``), for years and arm sizes.

    One analysis group per comparison: an add-on comparison ("Acupuncture + usual care versus
    usual care") is its own group, never mixed with the head-to-head one. The graph labels follow
    the result's ``favourable_direction`` (which side of the null favours the intervention).
    """
    from trialsynth.data.cells import ADD_ON_WORDS, as_add_on
    from trialsynth.display import COMPARATOR_NAMES, WINDOW_NAMES
    from trialsynth.effects.scales import base_measure, is_ratio

    keys = sorted(results, key=lambda k: (_order(str(k[1]), _COMPARATORS), str(k[1]), str(as_add_on(k[2])),
                                          _order(str(k[0]), _OUTCOMES), str(k[0]), _order(str(k[3]), _WINDOWS)))
    settings, rows = [], []
    group_no: dict[str, int] = {}
    number_in_group: dict[str, int] = {}
    for key in keys:
        outcome, comp, window = str(key[0]), str(key[1]), str(key[3])
        add_on = as_add_on(key[2]) is True
        res = results[key]
        group = (comp, add_on)
        g = group_no.setdefault(group, len(group_no) + 1)
        n = number_in_group[group] = number_in_group.get(group, 0) + 1
        measure = base_measure(getattr(res, "measure", None) or "SMD")
        log = is_ratio(measure)
        back = (lambda x: math.exp(x) if math.isfinite(x) else x) if log else (lambda x: x)
        name = f"{outcome.replace('_', ' ').capitalize()}, {WINDOW_NAMES.get(window, window)}"
        control = COMPARATOR_NAMES.get(comp, comp)
        experimental = intervention
        if add_on:
            arm1, arm2 = ADD_ON_WORDS.get(comp, ("acupuncture + other care", "other care alone"))
            experimental = intervention + arm1[len("acupuncture"):] if arm1.startswith("acupuncture") else arm1
            control = arm2
        group_name = f"{experimental} versus {control}"
        direction = getattr(res, "favourable_direction", None)
        intervention_left = (direction == "lower") if direction in ("lower", "higher") else not log
        part = pd.DataFrame()
        if selected is not None and len(selected):
            part = selected
            for col, val in (("outcome", outcome), ("comparator_class", comp), ("window", window)):
                part = part[part[col].astype(str) == val]
            if "add_on" in part.columns:
                part = part[[as_add_on(v) is add_on for v in part["add_on"]]]
        frame = res.study_frame()
        n1_total = n2_total = 0.0
        n_known = True
        for i, rec in frame.reset_index(drop=True).iterrows():
            label = str(rec["label"])
            match = part[part["study_id"].astype(str) == label] if len(part) and "study_id" in part.columns else part
            first = match.iloc[0] if len(match) else None
            n1 = first["n1"] if first is not None and "n1" in match.columns else np.nan
            n2 = first["n2"] if first is not None and "n2" in match.columns else np.nan
            if pd.notna(n1) and pd.notna(n2):
                n1_total += float(n1)
                n2_total += float(n2)
            else:
                n_known = False
            year = first["year"] if first is not None and "year" in match.columns else ""
            rows.append({"Analysis group": g, "Analysis number": n, "Analysis name": name, "Subgroup": "",
                         "Study": label, "Study year": "" if pd.isna(year) else str(int(year)) if year != "" else "",
                         "GIV Mean": _num(rec["yi"]), "GIV SE": _num(rec["se"]),
                         "Experimental N": "" if pd.isna(n1) else str(int(n1)),
                         "Control N": "" if pd.isna(n2) else str(int(n2)),
                         "Weight": _num(rec["weight"]), "Mean": _num(back(float(rec["yi"]))),
                         "CI start": _num(back(float(rec["ci_low"]))), "CI end": _num(back(float(rec["ci_high"]))),
                         "Footnotes": ""})
        test = str(getattr(res, "test", "z"))
        method = str(getattr(res, "fitted_method", None) or getattr(res, "method", "REML"))
        hksj = test in ("knha", "adhoc") and method != "EE"
        df = getattr(res, "q_df", np.nan)
        settings.append({
            "Analysis group": g, "Analysis number": n, "Analysis name": name, "Analysis group name": group_name,
            "Data source": "Custom input", "Data type": "Generic inverse variance",
            "Log-scale data": "TRUE" if log else "FALSE", "Experimental group label": experimental,
            "Control group label": control, "Statistical method": "Inverse Variance",
            "Effect measure": _MEASURE_NAMES.get(measure, measure),
            "Analysis model": "Fixed Effect" if method == "EE" else "Random Effects",
            "Heterogeneity estimator": _ESTIMATORS.get(method, method), "CI method": "HKSJ" if hksj else "Wald",
            "Subgroup estimates": "FALSE", "Overall estimates": "TRUE", "Test for subgroup differences": "FALSE",
            "Swap event and non-event": "FALSE", "CI/PI level": f"{float(getattr(res, 'level', 95)):g}%",
            "Graph label (left)": f"Favours {experimental.lower()}" if intervention_left else f"Favours {control}",
            "Graph label (right)": f"Favours {control}" if intervention_left else f"Favours {experimental.lower()}",
            "Experimental N": str(int(n1_total)) if n_known else "", "Control N": str(int(n2_total)) if n_known else "",
            "Mean": _num(back(float(res.estimate))), "CI start": _num(back(float(res.ci_low))),
            "CI end": _num(back(float(res.ci_high))), "PI start": _num(back(float(res.pi_low))),
            "PI end": _num(back(float(res.pi_high))),
            "Heterogeneity Tau²": _num(res.tau2) if method != "EE" else "", "Heterogeneity Chi²": _num(res.q),
            "Heterogeneity df": _num(df), "Heterogeneity P": _num(res.q_p_value) if df and df > 0 else "",
            "Heterogeneity I²": _num(res.i2) if df and df > 0 else "",
            "Effect Z": "" if hksj else _num(res.statistic), "Effect T": _num(res.statistic) if hksj else "",
            "Effect P": _num(res.p_value), "Analysis ID": f"{review_id}-{g}.{n}",
        })
    return (pd.DataFrame(settings, columns=list(SETTINGS_COLUMNS)), pd.DataFrame(rows, columns=list(ROWS_COLUMNS)))


def write_revman_csv(results: dict, folder: str | os.PathLike, selected: pd.DataFrame | None = None, *,
                     review_id: str = "TRIALSYNTH", **kwargs) -> list[Path]:
    """Write ``<review_id>-overall-estimates-and-settings.csv`` and ``<review_id>-data-rows.csv``
    (UTF-8 with a byte-order mark, as the Cochrane Library's files; formula-neutralised) into
    ``folder/<review_id>-analysis-data/``; returns the paths."""
    from trialsynth.data.io import atomic_write_bytes, neutralise_cell

    import csv
    import io

    settings, rows = revman_tables(results, selected, review_id=review_id, **kwargs)
    target = Path(os.fspath(folder)) / f"{review_id}-analysis-data"
    written = []
    for suffix, table in (("overall-estimates-and-settings", settings), ("data-rows", rows)):
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(list(table.columns))
        for rec in table.itertuples(index=False):
            writer.writerow([neutralise_cell(str(v)) for v in rec])
        written.append(atomic_write_bytes(target / f"{review_id}-{suffix}.csv",
                                          b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")))
    return written
