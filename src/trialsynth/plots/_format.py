"""Formatting numbers for figures (display only: nothing here computes a statistic)."""

from __future__ import annotations

import math

import numpy as np

from trialsynth.effects.scales import RATIO_MEASURES as _SCALES_RATIO_MEASURES

#: measures whose analysis scale is the log of a ratio
#: the measures analysed on the log scale: the effects stage's one list
RATIO_MEASURES = _SCALES_RATIO_MEASURES

MEASURE_NAMES = {
    "RR": "Risk ratio",
    "OR": "Odds ratio",
    "HR": "Hazard ratio",
    "IRR": "Incidence rate ratio",
    "ROM": "Ratio of means",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Std. mean difference",
    "ZCOR": "Fisher's z",
    "COR": "Correlation",
    "GEN": "Effect size",
}


def measure_name(measure: str | None) -> str:
    """Human name of an effect measure (``"RR"`` -> ``"Risk ratio"``)."""
    if not measure:
        return "Effect size"
    return MEASURE_NAMES.get(str(measure).upper(), str(measure))


def is_ratio_measure(measure: str | None) -> bool:
    return bool(measure) and str(measure).upper() in RATIO_MEASURES


def fmt_num(value, digits: int = 2, ratio: bool = False) -> str:
    """Fixed decimals, a true minus sign, and an empty string for missing values. A ``ratio``
    never reads 0.00: a small one keeps ``digits`` significant figures (0.00074), a huge one
    has no decimals (3698), as every table prints them
    (:func:`trialsynth.effects.scales.format_number`)."""
    if value is None:
        return ""
    value = float(value)
    if not math.isfinite(value):
        return "" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if ratio:
        from trialsynth.effects.scales import format_number

        return format_number(value, digits, ratio=True).replace("-", "\u2212")
    text = f"{value:.{digits}f}"
    if text.startswith("-"):
        # "-0.00" rounds to zero: print it unsigned
        text = text[1:] if float(text) == 0 else "\u2212" + text[1:]
    return text


def fmt_tick(value: float) -> str:
    """A tick label as a plain number: 0.25, 0.5, 1, 2, 10 (never 1e0, never 2.0)."""
    if value == 0:
        return "0"
    text = f"{value:.6g}"
    if "e" in text:  # very small or large: still plain
        text = np.format_float_positional(value, trim="-")
    if text.startswith("-"):
        text = "\u2212" + text[1:]
    return text


def round_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Ticks at multiples of 1, 2 or 5 x 10^n inside [low, high] (at most ``most`` + 1 of them)."""
    from matplotlib.ticker import MaxNLocator

    values = MaxNLocator(nbins=most, steps=[1, 2, 5, 10]).tick_values(low, high)
    span = high - low
    return [float(round(v, 12)) for v in values if low - span * 1e-9 <= v <= high + span * 1e-9]


def fmt_ci(estimate, low, high, digits: int = 2, style: str = "brackets", ratio: bool = False) -> str:
    """``"0.49 [0.34, 0.70]"`` (brackets) or ``"0.49 (0.34-0.70)"`` (parentheses, JAMA:
    an en dash, or "to" when a bound is negative); empty when the estimate is missing."""
    if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)):
        return ""
    return f"{fmt_num(estimate, digits, ratio)} {fmt_interval(low, high, digits, style, ratio)}"


def fmt_interval(low, high, digits: int = 2, style: str = "brackets", ratio: bool = False) -> str:
    """``"[0.34, 0.70]"`` or ``"(0.34-0.70)"`` / ``"(−0.9 to −0.1)"``."""
    lo, hi = fmt_num(low, digits, ratio), fmt_num(high, digits, ratio)
    if style == "parentheses":
        negative = (low is not None and float(low) < 0) or (high is not None and float(high) < 0)
        return f"({lo} to {hi})" if negative else f"({lo}–{hi})"
    return f"[{lo}, {hi}]"


def fmt_p(p, style: str = "revman") -> str:
    """A p-value with its ``P`` as the style prints it.

    ``revman``: ``P = 0.03``, ``P = 0.0008``, ``P < 0.00001`` (RevMan's floor);
    ``jama``: ``P = .03``, ``P < .001`` (no leading zero, floor .001);
    ``plain``: ``p = 0.031``, ``p < 0.0001``.
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    p = float(p)
    if style == "jama":
        if p < 0.001:
            return "P < .001"
        text = f"{p:.3f}" if p < 0.01 else f"{p:.2f}"
        if text == "1.00":
            return "P > .99"
        return "P = " + text.lstrip("0")
    if style == "revman":
        return fmt_revman_p(p)
    if p < 0.0001:
        return "p < 0.0001"
    return f"p = {p:.4f}" if p < 0.001 else f"p = {p:.3f}"


def fmt_revman_p(p: float) -> str:
    """RevMan prints small p with up to five decimals: ``P = 0.0002``, ``P < 0.00001``."""
    if p < 0.00001:
        return "P < 0.00001"
    for decimals in (2, 3, 4, 5):
        text = f"{p:.{decimals}f}"
        if float(text) != 0 and (decimals > 2 or p >= 0.01):
            return "P = " + text
    return "P < 0.00001"


def fmt_percent(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.{digits}f}%"


def fmt_count(value) -> str:
    if value is None:
        return ""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(value):
        return ""
    return f"{int(round(value))}" if value == round(value) else f"{value:g}"


def merge_methods_texts(texts, unit: str = "per subgroup") -> list[str]:
    """One methods sentence for several fits that differ only in their number of studies.

    ``"... of 13 studies ... t distribution with 12 degrees of freedom ..."`` and the same
    sentence for 7 studies become ``"... per subgroup ... with k − 1 degrees of freedom ..."``;
    sentences that differ otherwise are all kept.
    """
    import re

    texts = [t for t in dict.fromkeys(t for t in texts if t)]
    if len(texts) < 2:
        return texts
    if len({re.sub(r"\d+", "#", t) for t in texts}) != 1:
        return texts
    text = re.sub(r"\bof \d+ stud(?:y|ies)\b", unit, texts[0])
    text = re.sub(r"\bwith \d+ degrees? of freedom\b", "with k \u2212 1 degrees of freedom", text)
    return [text]
