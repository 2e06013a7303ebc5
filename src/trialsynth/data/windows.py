"""Time windows: which follow-up a row belongs to, and one row per trial per window.

A :class:`TimeWindow` is an interval of **weeks after the end of treatment** (the last session)
with a *target*: the time point a window prefers when a trial reports several inside it.

Default windows (:data:`DEFAULT_WINDOWS`)
-----------------------------------------
The Cochrane Back and Neck group's immediate / short / intermediate / long term, with the
boundaries used by the Cochrane review of acupuncture for chronic non-specific low back pain
(Mu J, Furlan AD, Lam WY, Hsu MY, Ning Z, Lao L. Cochrane Database Syst Rev 2020;12:CD013814,
doi:10.1002/14651858.CD013814), which was prepared under the group's method guideline
(Furlan AD, Malmivaara A, Chou R, et al. 2015 Updated Method Guideline for Systematic Reviews
in the Cochrane Back and Neck Group. Spine 2015;40(21):1660-73,
doi:10.1097/BRS.0000000000001061):

================  =====================================  ==========================  ========
window            definition                             weeks after treatment       target
================  =====================================  ==========================  ========
``immediate``     "< 7 days after the end of the         0 <= w <= 1                 0
                  sessions" (Mu 2020, summary of
                  findings tables)
``short``         "8 days to 3 months" (Mu 2020,         1 < w <= 13                 13
                  summary of findings tables)
``intermediate``  more than 3 months, less than 12       13 < w < 52                 26
                  months
``long``          12 months or more                      w >= 52                     52
================  =====================================  ==========================  ========

Why these: they are the windows of the review whose pooled estimates the article under test
cites, so re-pooled estimates can be set beside it window by window.  The immediate and short
boundaries are quoted verbatim from the review's summary-of-findings table 3 ("Follow-up:
immediately after; < 7 days after the end of the sessions", "Follow-up: short term; 8 days to
3 months"; recorded in ``evidence/Mu2020.yaml`` quotes Q1-Q3, read on PMC8095030, and checked
by ``tests/data/test_windows.py``); Yang et al. 2024 (Glob Adv Integr Med Health
13:27536130241261161, doi:10.1177/27536130241261161) restates them as "up to 7 days after the
end of the sessions" and "between 8 days to 3 months".  The intermediate and long boundaries follow the
same group's convention (3 to 12 months; 12 months or more); we could not read their exact
wording in either source, so treat them as the documented default and change them where a
protocol says otherwise.  Day 7 exactly (1 week) is counted as *immediate*, so that the windows
leave no gap between "< 7 days" and "8 days"; 3 months = 13 weeks; 12 months = 52 weeks.

Targets: ``immediate`` prefers the end of treatment; ``short``, ``intermediate`` and ``long``
prefer 3, 6 and 12 months, the conventional short/intermediate/long follow-ups of back pain
trials.  All of it is configurable: pass your own windows to :func:`assign_windows`,
:func:`select_per_window` and :func:`trialsynth.data.loading.load_trials`
(e.g. ``make_windows({"early": (0, 13, 4), "late": (13, None, 52)})`` in a notebook).

Selection rule (:func:`select_per_window`)
------------------------------------------
Within one study x comparator_class x outcome x window, keep the row whose weeks after
treatment is closest to the window's target (``rule="closest"``; or ``"latest"``,
``"earliest"``); ties go to the lowest ``priority`` (1 = preferred; empty = last), then to the
earlier row of the file.  So no trial is counted twice in one window's pooled estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError, Problem, TrialDataError

__all__ = [
    "TimeWindow",
    "DEFAULT_WINDOWS",
    "make_windows",
    "weeks_after_treatment",
    "window_of",
    "assign_windows",
    "select_per_window",
    "selection_report",
    "describe_windows",
    "SELECTION_KEYS",
]

#: Columns that define one pooled estimate's unit: one row per study per group.
SELECTION_KEYS: tuple[str, ...] = ("study_id", "comparator_class", "outcome", "window")


@dataclass(frozen=True)
class TimeWindow:
    """An interval of weeks after the end of treatment.

    Attributes
    ----------
    name : str
        Short name used in the ``window`` column (``immediate``, ``short``, ...).
    lower, upper : float
        Bounds in weeks after the last session (``upper`` may be ``math.inf``).
    target : float
        Preferred time point inside the window (weeks after the last session).
    lower_inclusive, upper_inclusive : bool
        Whether the bounds belong to the window.
    label : str
        Human-readable label for tables and plots.
    definition : str
        The definition as its source states it, with the source.
    """

    name: str
    lower: float
    upper: float
    target: float
    lower_inclusive: bool = True
    upper_inclusive: bool = True
    label: str = ""
    definition: str = ""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ArgumentError("TimeWindow name must be a non-empty string")
        for attr in ("lower", "upper", "target"):
            value = getattr(self, attr)
            if not isinstance(value, (int, float)) or value != value:
                raise ArgumentError(f"TimeWindow {self.name!r}: {attr} must be a number, got {value!r}")
        if not self.lower < self.upper:
            raise ArgumentError(f"TimeWindow {self.name!r}: lower ({self.lower}) must be below upper ({self.upper})")
        if not (self.lower <= self.target <= self.upper) or math.isinf(self.target):
            raise ArgumentError(f"TimeWindow {self.name!r}: target ({self.target}) must lie in "
                                f"[{self.lower}, {self.upper}] and be finite")

    def contains(self, weeks: float) -> bool:
        """Whether ``weeks`` (after the end of treatment) falls in the window."""
        if weeks is None or weeks != weeks:
            return False
        above = weeks >= self.lower if self.lower_inclusive else weeks > self.lower
        below = weeks <= self.upper if self.upper_inclusive else weeks < self.upper
        return bool(above and below)

    def describe(self) -> str:
        lo = "[" if self.lower_inclusive else "("
        hi = "]" if self.upper_inclusive and not math.isinf(self.upper) else ")"
        upper = "inf" if math.isinf(self.upper) else f"{self.upper:g}"
        return f"{self.name} {lo}{self.lower:g}, {upper}{hi} weeks after treatment (target {self.target:g})"


DEFAULT_WINDOWS: tuple[TimeWindow, ...] = (
    TimeWindow("immediate", 0.0, 1.0, 0.0, True, True, "Immediately after treatment",
               "< 7 days after the end of the sessions (Mu 2020, CD013814)"),
    TimeWindow("short", 1.0, 13.0, 13.0, False, True, "Short term (up to 3 months)",
               "8 days to 3 months after the end of the sessions (Mu 2020, CD013814)"),
    TimeWindow("intermediate", 13.0, 52.0, 26.0, False, False, "Intermediate term (3 to 12 months)",
               "more than 3 months and less than 12 months (Cochrane Back and Neck convention)"),
    TimeWindow("long", 52.0, math.inf, 52.0, True, False, "Long term (12 months or more)",
               "12 months or more (Cochrane Back and Neck convention)"),
)


def make_windows(spec: Mapping[str, Sequence[float | None]]) -> tuple[TimeWindow, ...]:
    """Windows from ``{name: (lower, upper, target)}`` in weeks after treatment.

    ``upper=None`` means no upper bound.  Bounds are lower-inclusive, upper-exclusive
    (except an unbounded last window), so consecutive windows never overlap.
    """
    if not isinstance(spec, Mapping) or not spec:
        raise ArgumentError("spec must be a non-empty mapping {name: (lower, upper, target)}")
    out = []
    for name, bounds in spec.items():
        try:
            lower, upper, target = bounds
        except (TypeError, ValueError):
            raise ArgumentError(f"spec[{name!r}] must be (lower, upper, target), got {bounds!r}") from None
        upper = math.inf if upper is None else float(upper)
        out.append(TimeWindow(str(name), float(lower), upper, float(target), True, False,
                              str(name), "user-defined"))
    _check_windows(out)
    return tuple(out)


def _check_windows(windows: Iterable[TimeWindow]) -> tuple[TimeWindow, ...]:
    ws = tuple(windows)
    if not ws or not all(isinstance(w, TimeWindow) for w in ws):
        raise ArgumentError("windows must be a non-empty sequence of TimeWindow")
    names = [w.name for w in ws]
    if len(set(names)) != len(names):
        raise ArgumentError(f"windows: names must be unique, got {names}")
    for i, a in enumerate(ws):
        for b in ws[i + 1:]:
            lo, hi = max(a.lower, b.lower), min(a.upper, b.upper)
            overlap = lo < hi or (lo == hi and a.contains(lo) and b.contains(lo))
            if overlap:
                raise ArgumentError(f"windows: {a.name!r} and {b.name!r} overlap; a time point "
                                    "must fall in at most one window")
    return ws


def weeks_after_treatment(df: pd.DataFrame) -> pd.Series:
    """Weeks after the end of treatment per row: ``weeks_after_treatment`` where given, else
    ``timepoint_weeks - treatment_weeks`` (NaN when neither can be had)."""
    for col in ("timepoint_weeks",):
        if col not in df.columns:
            raise ArgumentError(f"df must have a {col!r} column")
    given = _as_float(df["weeks_after_treatment"]) if "weeks_after_treatment" in df else None
    tp = _as_float(df["timepoint_weeks"])
    tw = _as_float(df["treatment_weeks"]) if "treatment_weeks" in df else pd.Series(np.nan, index=df.index)
    computed = tp - tw
    if given is None:
        return computed.rename("weeks_after")
    return given.where(given.notna(), computed).rename("weeks_after")


def _as_float(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("float64")


def window_of(weeks: float, windows: Sequence[TimeWindow] = DEFAULT_WINDOWS) -> str | None:
    """The name of the window containing ``weeks``, or ``None``."""
    for w in windows:
        if w.contains(weeks):
            return w.name
    return None


def _row_label(df: pd.DataFrame, idx) -> int | None:
    try:
        return int(idx)
    except (TypeError, ValueError):
        return None


def assign_windows(df: pd.DataFrame, windows: Sequence[TimeWindow] = DEFAULT_WINDOWS, *,
                   on_outside: str = "raise") -> pd.DataFrame:
    """Add ``weeks_after`` (float) and ``window`` (categorical, in window order) columns.

    Parameters
    ----------
    df : DataFrame
        Trial rows (as :func:`~trialsynth.data.loading.load_trials` returns them; the index is
        the spreadsheet row number).
    windows : sequence of TimeWindow
        Non-overlapping windows (default :data:`DEFAULT_WINDOWS`).
    on_outside : {"raise", "drop", "keep"}
        Rows outside every window (or without a computable time): ``"raise"`` a
        :class:`~trialsynth.errors.TrialDataError` listing them; ``"drop"`` them (recorded in
        ``result.attrs["outside_windows"]``); ``"keep"`` them with ``window`` missing.

    Returns
    -------
    DataFrame
        A copy of ``df`` with the two columns added.
    """
    if not isinstance(df, pd.DataFrame):
        raise ArgumentError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if on_outside not in ("raise", "drop", "keep"):
        raise ArgumentError(f"on_outside must be 'raise', 'drop' or 'keep', got {on_outside!r}")
    ws = _check_windows(windows)
    out = df.copy()
    weeks = weeks_after_treatment(out)
    names = [window_of(w, ws) for w in weeks]
    out["weeks_after"] = weeks.to_numpy()
    out["window"] = pd.Categorical(names, categories=[w.name for w in ws])
    outside = out.index[out["window"].isna()]
    if len(outside):
        source = str(df.attrs.get("source", "<trials>"))
        problems = []
        for idx in outside:
            wk = out.at[idx, "weeks_after"]
            if wk != wk:
                msg = ("cannot place the time point in a window: give weeks_after_treatment, "
                       "or treatment_weeks with timepoint_weeks")
                problems.append(Problem(source, _row_label(df, idx), "weeks_after_treatment", None, msg))
            else:
                msg = (f"{wk:g} weeks after treatment lies outside every time window ("
                       + "; ".join(w.describe() for w in ws) + ")")
                problems.append(Problem(source, _row_label(df, idx), "weeks_after_treatment",
                                        f"{wk:g}", msg))
        if on_outside == "raise":
            raise TrialDataError(problems)
        if on_outside == "drop":
            out = out.drop(index=outside)
            out.attrs["outside_windows"] = [str(p) for p in problems]
    return out


def select_per_window(df: pd.DataFrame, rule: str = "closest", *,
                      windows: Sequence[TimeWindow] = DEFAULT_WINDOWS,
                      keys: Sequence[str] = SELECTION_KEYS) -> pd.DataFrame:
    """Keep one row per study x comparator_class x outcome x window.

    Parameters
    ----------
    df : DataFrame
        Trial rows; when it has no ``window`` column, :func:`assign_windows` is applied first
        (with ``windows``, raising on rows outside every window).
    rule : {"closest", "latest", "earliest"}
        ``closest``: the row whose weeks after treatment is nearest the window's target;
        ``latest`` / ``earliest``: the last / first time point in the window.
        Ties go to the lowest ``priority`` (empty counts as lowest preference), then to the
        earlier row (smaller index, i.e. spreadsheet row).
    windows : sequence of TimeWindow
        Used for the targets and, if needed, to assign windows.
    keys : sequence of str
        The grouping (default :data:`SELECTION_KEYS`).

    Returns
    -------
    DataFrame
        The selected rows in their original order; ``attrs["dropped_rows"]`` lists the index
        labels of the rows not kept, and ``attrs["selection"]`` says for every group with more
        than one candidate which row was kept, which were dropped and what decided it
        (``"closest"``/``"latest"``/``"earliest"``, ``"priority"`` or ``"file order"``);
        :func:`selection_report` gives the same as a DataFrame.

    Notes
    -----
    Several comparisons of one study with the same comparator class (two acupuncture arms
    against one sham arm) fall in one group, so only one enters a pooled estimate: pooling
    both would count the shared control arm twice (Cochrane Handbook for Systematic Reviews
    of Interventions, version 6.4, section 23.3.4, recommends combining the arms or splitting
    the shared group instead; do that in the data, with ``priority``, if wanted).
    """
    if not isinstance(df, pd.DataFrame):
        raise ArgumentError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if rule not in ("closest", "latest", "earliest"):
        raise ArgumentError(f"rule must be 'closest', 'latest' or 'earliest', got {rule!r}")
    ws = _check_windows(windows)
    data = df if "window" in df.columns and "weeks_after" in df.columns else assign_windows(df, ws)
    missing = [k for k in keys if k not in data.columns]
    if missing:
        raise ArgumentError(f"df lacks the grouping column(s) {missing}")
    if data.empty:
        out = data.copy()
        out.attrs["dropped_rows"] = []
        return out
    targets = {w.name: w.target for w in ws}
    weeks = data["weeks_after"].astype("float64").to_numpy()
    win = data["window"].astype("object").to_numpy()
    if rule == "closest":
        score = np.array([abs(wk - targets[w]) if w in targets else np.inf
                          for wk, w in zip(weeks, win)])
    elif rule == "latest":
        score = -weeks
    else:
        score = weeks.copy()
    if "priority" in data.columns:
        prio = pd.to_numeric(data["priority"], errors="coerce").astype("float64").fillna(np.inf).to_numpy()
    else:
        prio = np.full(len(data), np.inf)
    order_frame = pd.DataFrame({
        "_score": np.round(score, 9),  # treat float noise as a tie
        "_prio": prio,
        "_pos": np.arange(len(data)),
    })
    for k in keys:
        order_frame[k] = data[k].astype("object").to_numpy()
    order_frame = order_frame[order_frame[list(keys)].notna().all(axis=1)]
    order_frame = order_frame.sort_values(["_score", "_prio", "_pos"], kind="mergesort")
    chosen = order_frame.drop_duplicates(subset=list(keys), keep="first")["_pos"].to_numpy()
    chosen = np.sort(chosen)
    out = data.iloc[chosen].copy()
    kept = set(chosen.tolist())
    out.attrs["dropped_rows"] = [_plain(data.index[i]) for i in range(len(data)) if i not in kept]
    decisions = []
    for key, group in order_frame.groupby(list(keys), sort=False, observed=True, dropna=True):
        if len(group) < 2:
            continue
        first, second = group.iloc[0], group.iloc[1]
        if first["_score"] != second["_score"]:
            decided = rule
        elif first["_prio"] != second["_prio"]:
            decided = "priority"
        else:
            decided = "file order"
        entry = {k: _plain(v) for k, v in zip(keys, key if isinstance(key, tuple) else (key,))}
        entry.update(kept=_plain(data.index[int(first["_pos"])]),
                     dropped=[_plain(data.index[int(p)]) for p in group["_pos"].iloc[1:]],
                     decided_by=decided)
        decisions.append(entry)
    out.attrs["selection"] = decisions
    return out


def _plain(value):
    """numpy scalars -> Python scalars (attrs must stay comparable and printable)."""
    return value.item() if hasattr(value, "item") else value


def selection_report(selected: pd.DataFrame) -> pd.DataFrame:
    """The decisions of :func:`select_per_window` as a tidy DataFrame (one row per group with
    more than one candidate: the group keys, ``kept``, ``dropped``, ``decided_by``)."""
    if not isinstance(selected, pd.DataFrame) or "selection" not in selected.attrs:
        raise ArgumentError("selected must be a DataFrame returned by select_per_window")
    return pd.DataFrame(selected.attrs["selection"])


def describe_windows(windows: Sequence[TimeWindow] = DEFAULT_WINDOWS) -> pd.DataFrame:
    """The windows as a table (name, label, lower, upper, target, bounds, definition), e.g. for
    a methods section or a notebook."""
    ws = _check_windows(windows)
    return pd.DataFrame([{
        "name": w.name, "label": w.label, "lower_weeks": w.lower, "upper_weeks": w.upper,
        "target_weeks": w.target,
        "bounds": ("[" if w.lower_inclusive else "(") + f"{w.lower:g}, "
                  + ("inf)" if math.isinf(w.upper) else f"{w.upper:g}" + ("]" if w.upper_inclusive else ")")),
        "definition": w.definition,
    } for w in ws])
