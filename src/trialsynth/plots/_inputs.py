"""Turn results and tidy frames into what a figure draws (no statistics are computed here).

Every figure reads numbers that the engine already computed: a
:class:`~trialsynth.pooling.results.MetaResult` (its ``study_frame()`` and
pooled attributes), a one-row ``to_frame()``, a ``dict``, or a tidy
:class:`pandas.DataFrame` of study rows. Values stay on the *analysis* scale
(log ratios for ratio measures) until drawing, where ``to_display`` maps them
to the axis (``exp`` for ratios, a back-transform of coordinates, not an estimate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError
from trialsynth.plots._format import is_ratio_measure
from trialsynth.plots.favours import favourable_direction_of

#: per-study columns a tidy frame must have
STUDY_COLUMNS = ("label", "estimate", "ci_low", "ci_high")
#: optional per-study columns that figures use when present
ARM_COLUMNS = ("n1", "mean1", "sd1", "events1", "n2", "mean2", "sd2", "events2")


@dataclass
class Pooled:
    """A pooled row: the diamond, its interval texts, heterogeneity and the overall test."""

    estimate: float
    ci_low: float
    ci_high: float
    label: str = "Total"
    pi_low: float | None = None
    pi_high: float | None = None
    tau2: float | None = None
    i2: float | None = None
    q: float | None = None
    q_df: float | None = None
    q_p_value: float | None = None
    statistic: float | None = None
    p_value: float | None = None
    test: str | None = None
    dfs: float | None = None
    k: int | None = None
    method: str | None = None
    level: float | None = None
    profile: str | None = None
    measure: str | None = None
    methods_text: str | None = None
    warnings: tuple = ()
    fitted_method: str | None = None  # the model actually fitted (EE for one study)
    favourable_direction: str | None = None  # "lower" / "higher": the side favouring the intervention


@dataclass
class SubgroupTest:
    """The test for subgroup differences, as given (Q between, its df and p, optional I²)."""

    q: float
    df: float
    p_value: float
    i2: float | None = None


@dataclass
class Section:
    """One block of a forest plot: optional heading, study rows, optional pooled row."""

    heading: str | None
    studies: pd.DataFrame
    pooled: Pooled | None
    extra: dict = field(default_factory=dict)


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _get(obj, *names, default=None):
    """First attribute / key / one-row-frame column of ``obj`` among ``names``."""
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj:
                return obj[name]
        elif isinstance(obj, pd.DataFrame):
            if name in obj.columns:
                return obj[name].iloc[0]
        elif isinstance(obj, pd.Series):
            if name in obj.index:
                return obj[name]
        else:
            value = getattr(obj, name, None)
            if value is not None:
                return value
    return default


def is_result(obj) -> bool:
    """Does ``obj`` look like a MetaResult (study_frame() plus a pooled estimate)?"""
    return hasattr(obj, "study_frame") and hasattr(obj, "estimate")


def pooled_from(obj, label: str | None = None) -> Pooled:
    """A :class:`Pooled` from a MetaResult, a ``to_frame()`` row, a Series or a dict."""
    if isinstance(obj, Pooled):
        if label is not None:
            obj.label = label
        return obj
    if isinstance(obj, pd.DataFrame) and len(obj) != 1:
        raise ArgumentError(f"pooled: expected a one-row DataFrame, got {len(obj)} rows")
    estimate = _num(_get(obj, "estimate", "b"))
    ci_low = _num(_get(obj, "ci_low", "ci.lb"))
    ci_high = _num(_get(obj, "ci_high", "ci.ub"))
    if estimate is None or ci_low is None or ci_high is None:
        raise ArgumentError(
            "pooled: expected estimate, ci_low and ci_high (a MetaResult, a to_frame() row or a dict)"
        )
    methods_text = None
    if hasattr(obj, "methods_text") and callable(obj.methods_text):
        methods_text = obj.methods_text()
    elif isinstance(obj, Mapping):
        methods_text = obj.get("methods_text")
    test = _get(obj, "test")
    return Pooled(
        estimate=estimate,
        ci_low=ci_low,
        ci_high=ci_high,
        label=label if label is not None else str(_get(obj, "label", default="Total")),
        pi_low=_num(_get(obj, "pi_low", "pi.lb")),
        pi_high=_num(_get(obj, "pi_high", "pi.ub")),
        tau2=_num(_get(obj, "tau2")),
        i2=_num(_get(obj, "i2", "I2")),
        q=_num(_get(obj, "q", "QE")),
        q_df=_num(_get(obj, "q_df")),
        q_p_value=_num(_get(obj, "q_p_value", "QEp")),
        statistic=_num(_get(obj, "statistic", "zval")),
        p_value=_num(_get(obj, "p_value", "pval")),
        test=None if test is None else str(test),
        dfs=_num(_get(obj, "dfs")),
        k=None if _num(_get(obj, "k")) is None else int(_num(_get(obj, "k"))),
        method=None if _get(obj, "method") is None else str(_get(obj, "method")),
        level=_num(_get(obj, "level")),
        profile=None if _get(obj, "profile") is None else str(_get(obj, "profile")),
        measure=None if _get(obj, "measure") is None else str(_get(obj, "measure")),
        methods_text=methods_text,
        warnings=_warnings_of(obj),
        fitted_method=None if _get(obj, "fitted_method") is None else str(_get(obj, "fitted_method")),
        favourable_direction=favourable_direction_of(obj),
    )


def _warnings_of(obj) -> tuple:
    found = _get(obj, "warnings")
    if isinstance(found, str):
        return (found,)
    if isinstance(found, (list, tuple)):
        return tuple(str(w) for w in found if w)
    return ()


def subgroup_test_from(obj) -> SubgroupTest | None:
    """A :class:`SubgroupTest` from a subgroups result, a dict or a tuple (q, df, p[, i2])."""
    if obj is None:
        return None
    if isinstance(obj, SubgroupTest):
        return obj
    if isinstance(obj, (tuple, list)):
        if len(obj) not in (3, 4):
            raise ArgumentError("subgroup_test: expected (q, df, p_value) or (q, df, p_value, i2)")
        return SubgroupTest(*[float(v) for v in obj[:3]], i2=_num(obj[3]) if len(obj) == 4 else None)
    # a subgroups result may nest the test in an attribute
    for nested in ("between_separate", "test", "between", "difference_test"):
        inner = _get(obj, nested) if not isinstance(obj, Mapping) else obj.get(nested)
        if inner is not None and not isinstance(inner, (str, float, int)):
            found = subgroup_test_from(inner)
            if found is not None:
                return found
    q = _num(_get(obj, "q_between", "qm", "q_b", "QM", "q", "statistic"))
    df = _num(_get(obj, "q_between_df", "qm_df", "df_between", "df", "q_df"))
    p = _num(_get(obj, "q_between_p_value", "qm_p_value", "p_between", "p_value", "q_p_value"))
    if q is None or df is None or p is None:
        raise ArgumentError(
            "subgroup_test: expected the test for subgroup differences as q, df and p_value "
            f"(got {type(obj).__name__} without them)"
        )
    return SubgroupTest(q=q, df=df, p_value=p, i2=_num(_get(obj, "i2_between", "i2")))


def studies_from_result(result, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-study rows from ``result.study_frame()``, joined with optional ``data`` (arms, year, RoB)."""
    frame = result.study_frame().copy()
    if "estimate" not in frame.columns:
        if "yi" not in frame.columns:
            raise ArgumentError("result: study_frame() has neither 'estimate' nor 'yi'")
        frame = frame.rename(columns={"yi": "estimate"})
    if "label" not in frame.columns:
        frame["label"] = [f"Study {i + 1}" for i in range(len(frame))]
    return _join_data(frame, data)


def _join_data(frame: pd.DataFrame, data: pd.DataFrame | None) -> pd.DataFrame:
    if data is None:
        return frame.reset_index(drop=True)
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError(f"data: expected a DataFrame of study rows, got {type(data).__name__}")
    data = data.reset_index(drop=True)
    extra = [c for c in data.columns if c not in frame.columns]
    if "label" in data.columns and set(data["label"].astype(str)) >= set(frame["label"].astype(str)):
        if data["label"].duplicated().any():
            raise ArgumentError("data: 'label' values must be unique to join study rows")
        joined = frame.merge(data[["label", *extra]], on="label", how="left", sort=False)
        return joined.reset_index(drop=True)
    if len(data) != len(frame):
        raise ArgumentError(
            f"data: expected {len(frame)} study rows in the result's order (or a 'label' column "
            f"matching the result's labels), got {len(data)} rows"
        )
    out = frame.reset_index(drop=True)
    for column in extra:
        out[column] = data[column].to_numpy()
    return out


def studies_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentError(f"data: expected a DataFrame, got {type(frame).__name__}")
    frame = frame.copy()
    if "estimate" not in frame.columns and "yi" in frame.columns:
        frame = frame.rename(columns={"yi": "estimate"})
    if "label" not in frame.columns:
        for alt in ("study", "study_id"):
            if alt in frame.columns:
                frame["label"] = frame[alt].astype(str)
                break
    missing = [c for c in STUDY_COLUMNS if c not in frame.columns]
    if missing:
        raise ArgumentError(
            f"data: the study frame lacks column(s) {missing}; expected {list(STUDY_COLUMNS)} "
            "(plus optional weight, n1/mean1/sd1/events1, n2/..., year, risk-of-bias columns)"
        )
    for column in ("estimate", "ci_low", "ci_high", "weight"):
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame.reset_index(drop=True)


def normalise_sections(
    data,
    pooled=None,
    *,
    study_data=None,
) -> list[Section]:
    """Sections of a forest plot from a result, a frame, or a list/dict of (heading, result)."""
    if is_result(data):
        return [Section(None, studies_from_result(data, study_data), pooled_from(data))]
    if isinstance(data, pd.DataFrame):
        studies = studies_from_frame(data)
        if study_data is not None:
            studies = _join_data(studies, study_data)
        return [Section(None, studies, None if pooled is None else pooled_from(pooled))]
    items = None
    if isinstance(data, Mapping):
        items = list(data.items())
    elif isinstance(data, (list, tuple)) and all(isinstance(i, (list, tuple)) and len(i) == 2 for i in data):
        items = [tuple(i) for i in data]
    else:
        results = _get(data, "fits", "results", "groups")
        if isinstance(results, Mapping):
            items = [(_heading(k), v) for k, v in results.items()]
    if items is None:
        raise ArgumentError(
            "data: expected a MetaResult, a DataFrame of study rows, a dict/list of (heading, result) "
            f"or a subgroups result, got {type(data).__name__}"
        )
    if not items:
        raise ArgumentError("data: no subgroups to draw")
    sections = []
    for heading, item in items:
        section_data = None
        if isinstance(study_data, Mapping):
            section_data = study_data.get(heading)
        if is_result(item):
            sections.append(Section(str(heading), studies_from_result(item, section_data), pooled_from(item, "Subtotal")))
        elif isinstance(item, pd.DataFrame):
            sections.append(Section(str(heading), studies_from_frame(item), None))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], pd.DataFrame):
            sections.append(Section(str(heading), studies_from_frame(item[0]), pooled_from(item[1], "Subtotal")))
        else:
            raise ArgumentError(
                f"data: subgroup {heading!r} must be a MetaResult, a study DataFrame or "
                f"(DataFrame, pooled), got {type(item).__name__}"
            )
    return sections


def _heading(key) -> str:
    if isinstance(key, tuple):
        return ", ".join(str(k) for k in key)
    return str(key)


def measure_of(sections: list[Section], measure: str | None) -> str | None:
    if measure is not None:
        return measure
    for section in sections:
        if section.pooled is not None and section.pooled.measure:
            return section.pooled.measure
        if "measure" in section.studies.columns and section.studies["measure"].notna().any():
            return str(section.studies["measure"].dropna().iloc[0])
    return None


class DisplayTransform:
    """Analysis-scale values to axis values (``exp`` for a ratio measure given as log ratios);
    ``ratio`` says whether the values shown are ratios (formatted so a limit never reads 0.00)."""

    def __init__(self, exponentiate: bool, ratio: bool):
        self.exponentiate = exponentiate
        self.ratio = ratio

    def __call__(self, value):
        if value is None or not self.exponentiate:
            return value
        return np.exp(value)


def display_transform(measure: str | None, frame_scale: str = "analysis") -> DisplayTransform:
    """Map analysis-scale values to axis values: exp for ratio measures on the analysis scale."""
    if frame_scale not in ("analysis", "display"):
        raise ArgumentError(f"frame_scale: expected 'analysis' or 'display', got {frame_scale!r}")
    ratio = is_ratio_measure(measure)
    return DisplayTransform(ratio and frame_scale == "analysis", ratio)


def as_float_array(values: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name}: expected numbers") from None
