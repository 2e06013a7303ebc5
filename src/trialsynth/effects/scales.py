"""Which scale a measure is analysed on, and how it is shown to a reader.

Ratio measures (risk ratio, odds ratio, ...) are pooled on the log scale, where the sampling
distribution is close to normal, and are *read* as ratios: a reader sees ``RR 1.33 (1.04 to 1.70)``,
never the log value 0.29 under the label "RR" (Cochrane Handbook, version 6.4, section 10.3.1:
"ratio measures ... are analysed on the log scale and back-transformed for presentation"; metafor's
``predict(res, transf=exp)``). Every table, export and figure of the package goes through
:func:`display_values` and :func:`format_effect` so that one rule decides this everywhere.

This module is the single list of log-scale measures; :mod:`trialsynth.pooling`,
:mod:`trialsynth.claims`, :mod:`trialsynth.grade`, :mod:`trialsynth.plots` and
:mod:`trialsynth.report` import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: measures whose analysis scale is the natural log of a ratio (exp gives the ratio a reader sees):
#: the binary ratios, their Mantel-Haenszel and Peto forms, the ratio of means (ROM, ROMC), the
#: variability ratios (VR, CVR), the paired-binary ratios (MPRR, MPOR, MPORC, MPPETO), the log mean
#: (MNLN) and the SMD re-expressed as a log odds ratio (D2ORN, D2ORL), as in metafor's ``escalc``
#: (whose ``yi`` for these is the log ratio).
RATIO_MEASURES: frozenset[str] = frozenset({
    "RR", "OR", "HR", "IRR", "ROM", "ROMC", "PETO", "PETO_OR", "VR", "CVR",
    "MPRR", "MPOR", "MPORC", "MPPETO", "MNLN", "D2ORN", "D2ORL",
    "MH-OR", "MH-RR", "MH-IRR", "OR_MH", "RR_MH",
})

#: prefixes that name the log-scale form of a ratio measure explicitly (``logRR``)
_LOG_PREFIXES = ("LOG", "LN")


def base_measure(measure: str | None) -> str:
    """The measure's name without a log prefix: ``"logRR"`` -> ``"RR"``, ``"SMD"`` -> ``"SMD"``."""
    text = str(measure or "").strip()
    upper = text.upper()
    for prefix in _LOG_PREFIXES:
        if upper.startswith(prefix) and upper[len(prefix):] in RATIO_MEASURES:
            return text[len(prefix):]
    return text


def is_ratio(measure: str | None) -> bool:
    """True when ``measure`` is a ratio analysed on the log scale (``RR``, ``OR``, ``logRR`` ...)."""
    return base_measure(measure).upper() in RATIO_MEASURES


def log_name(measure: str) -> str:
    """The name of a ratio measure's log scale (``"RR"`` -> ``"logRR"``); other measures unchanged."""
    base = base_measure(measure)
    return f"log{base}" if is_ratio(base) else base


def null_value(measure: str | None) -> float:
    """No effect on the display scale: 1 for ratios, 0 for differences."""
    return 1.0 if is_ratio(measure) else 0.0


def _exp(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    if math.isnan(v):
        return math.nan
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


def display_values(measure: str | None, *values) -> tuple[float, ...]:
    """``values`` given on the analysis scale, put on the display scale (exp for ratios).

    >>> display_values("RR", 0.0, math.log(2))
    (1.0, 2.0)
    >>> display_values("SMD", -0.3)
    (-0.3,)
    """
    if is_ratio(measure):
        return tuple(_exp(v) for v in values)
    out = []
    for v in values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(math.nan)
    return tuple(out)


def analysis_values(measure: str | None, *values) -> tuple[float, ...]:
    """The inverse of :func:`display_values`: ratios to their logs (non-positive ratios -> NaN)."""
    if not is_ratio(measure):
        return display_values(measure, *values)
    out = []
    for v in values:
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = math.nan
        out.append(math.log(x) if x > 0 else math.nan)
    return tuple(out)


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def format_number(value, digits: int = 2, *, ratio: bool = False) -> str:
    """Fixed decimals; ``-0.00`` prints unsigned; empty for a missing value.

    ``ratio``: a ratio is positive, so a small one keeps ``digits`` significant figures instead of
    rounding to ``0.00`` (``0.00034``), and a huge one prints without decimals (``3698``): a
    reader never sees a ratio limit of zero."""
    if not _finite(value):
        return ""
    v = float(value)
    if ratio and 0 < abs(v) < 10 ** -digits * 5:
        return f"{v:.{digits}g}" if "e" not in f"{v:.{digits}g}" else f"{v:.{digits - 1}e}"
    if ratio and abs(v) >= 1000:
        return f"{v:.0f}"
    text = f"{v:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def format_interval(low, high, *, measure: str | None = None, digits: int = 2) -> str:
    """``"-0.55 to -0.06"`` (or ``"1.04 to 1.70"`` for a ratio given on the log scale)."""
    low, high = display_values(measure, low, high)
    if not (_finite(low) and _finite(high)):
        return "n/a"
    r = is_ratio(measure)
    return f"{format_number(low, digits, ratio=r)} to {format_number(high, digits, ratio=r)}"


def format_effect(measure: str | None, estimate, ci_low, ci_high, *, digits: int = 2, label: bool = True,
                  level: float | None = None) -> str:
    """One effect as a reader sees it: ``SMD -0.31 (-0.55 to -0.06)``, ``RR 1.33 (1.04 to 1.70)``.

    ``estimate``, ``ci_low`` and ``ci_high`` are on the analysis scale (log for ratios); ratios are
    back-transformed. ``label=False`` leaves out the measure; ``level`` (e.g. 95) writes
    ``(95% CI ...)``. A missing number gives ``"SMD no estimate"``.
    """
    name = base_measure(measure) or "effect"
    est, lo, hi = display_values(measure, estimate, ci_low, ci_high)
    prefix = f"{name} " if label else ""
    if not _finite(est):
        return f"{prefix}no estimate".strip()
    if not (_finite(lo) and _finite(hi)):
        return f"{prefix}{format_number(est, digits, ratio=is_ratio(measure))}"
    ci = f"{level:g}% CI " if level else ""
    r = is_ratio(measure)
    return (f"{prefix}{format_number(est, digits, ratio=r)} ({ci}{format_number(lo, digits, ratio=r)} to "
            f"{format_number(hi, digits, ratio=r)})")


def wald_interval(yi, vi, *, level: float = 95.0) -> tuple[float, float]:
    """The normal-theory interval ``yi -/+ z_{1-alpha/2} sqrt(vi)`` of one effect on the analysis
    scale (what metafor's ``summary.escalc`` and RevMan print beside each study); NaN when
    missing."""
    from statistics import NormalDist

    if not (_finite(yi) and _finite(vi)) or float(vi) < 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(1 - (1 - level / 100) / 2)
    half = z * math.sqrt(float(vi))
    return (float(yi) - half, float(yi) + half)


def display_frame_columns(measure: str | None, row: dict, columns: Iterable[str] = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"),
                          *, keep_log: bool = True) -> dict:
    """A copy of ``row`` with ``columns`` on the display scale; for a ratio measure the analysis
    values are kept as ``log_<column>`` (``keep_log``) so that every column says its scale."""
    out = dict(row)
    ratio = is_ratio(measure)
    for col in columns:
        if col not in row:
            continue
        if ratio and keep_log:
            out[f"log_{col}"] = row[col]
        out[col] = display_values(measure, row[col])[0]
    return out


__all__ = [
    "RATIO_MEASURES", "analysis_values", "base_measure", "display_frame_columns", "display_values", "format_effect",
    "format_interval", "format_number", "is_ratio", "log_name", "null_value", "wald_interval",
]
