"""Classify a pooled (or single-trial) effect against the null and a minimal important difference.

Every verdict in :mod:`trialsynth.claims.verdicts` is built from these classes, so that the
wording "benefit", "small benefit" and "no clear difference" means the same thing everywhere.

Direction convention (shared with :mod:`trialsynth.effects`): continuous outcomes are oriented so
that a **negative** effect favours acupuncture; ratio measures (RR, OR, ...) are pooled on the log
scale, where a **positive** value favours acupuncture (more responders).

Minimal important difference
----------------------------
The default MID on the standardised-mean-difference scale is 0.5 SD: Norman GR, Sloan JA,
Wyrwich KW. *Interpretation of changes in health-related quality of life: the remarkable
universality of half a standard deviation.* Med Care 2003;41(5):582-592 (minimal important
differences across 38 studies clustered at about half a standard deviation). Scale-specific
alternatives for low back pain (:data:`SCALE_MIDS`) come from Ostelo RW et al. *Interpreting change scores for pain and functional status in low back pain:
towards international consensus regarding minimal important change.* Spine 2008;33(1):90-94.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trialsynth.errors import ArgumentError

#: Default minimal important difference in SMD units (Norman, Sloan & Wyrwich 2003).
DEFAULT_MID_SMD = 0.5
MID_SOURCE = (
    "MID = 0.5 SD on the SMD scale: Norman GR, Sloan JA, Wyrwich KW. Med Care 2003;41(5):582-592 "
    "('the remarkable universality of half a standard deviation')."
)

#: Minimal important change per scale for low back pain, Ostelo et al. Spine 2008;33(1):90-94
#: (consensus minimal important change: VAS 15 of 100, NRS 2 of 10, RMDQ 5, ODI 10). Used when a
#: result is pooled as a mean difference on that scale.
SCALE_MIDS = {
    "VAS": 15.0,  # 0-100 mm
    "NRS": 2.0,  # 0-10
    "RMDQ": 5.0,
    "ODI": 10.0,
}

RATIO_MEASURES = frozenset({"RR", "OR", "PETO", "IRR", "ROM", "HR"})

# effect classes, from best to worst for acupuncture
IMPORTANT_BENEFIT = "important benefit"
SMALL_BENEFIT = "small benefit"
NO_CLEAR_DIFFERENCE = "no clear difference"
HARM = "favours control"
NO_DATA = "no data"
#: a statistically clear benefit whose size cannot be set beside a MID (a mean difference on a
#: scale whose range the source does not print)
UNSIZED_BENEFIT = "benefit (size unknown)"

BENEFIT_CLASSES = (IMPORTANT_BENEFIT, SMALL_BENEFIT, UNSIZED_BENEFIT)


def benefit_sign(measure: str | None) -> int:
    """+1 when larger values favour acupuncture (log ratio measures), -1 otherwise (oriented SMD/MD)."""
    return 1 if (measure or "").upper() in RATIO_MEASURES else -1


@dataclass(frozen=True)
class EffectClass:
    """The class of one effect with the numbers it was derived from."""

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    mid: float
    measure: str

    @property
    def is_benefit(self) -> bool:
        return self.label in BENEFIT_CLASSES


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def classify_effect(estimate, ci_low, ci_high, *, mid: float = DEFAULT_MID_SMD, measure: str = "SMD") -> EffectClass:
    """Classify one effect.

    Rules (``s`` = +1 or -1 from :func:`benefit_sign`, so ``s * x > 0`` means ``x`` favours
    acupuncture):

    * ``no data``: any of estimate, ci_low, ci_high missing or not finite;
    * ``favours control``: the whole CI lies on the control side of 0;
    * ``no clear difference``: the CI contains 0;
    * ``important benefit``: the CI excludes 0 on the acupuncture side and the point estimate
      reaches the MID (``|estimate| >= mid``);
    * ``small benefit``: the CI excludes 0 on the acupuncture side but ``|estimate| < mid``
      (statistically clear, below the minimal important difference);
    * ``benefit (size unknown)``: the CI excludes 0 on the acupuncture side and ``mid`` is None
      (no MID on this scale is known, e.g. a mean difference whose scale range is not reported).

    Parameters
    ----------
    estimate, ci_low, ci_high : float
        The effect and its confidence limits, on the analysis scale (log scale for ratios).
    mid : float or None
        Minimal important difference (> 0) on the same scale; None when it is not known.
    measure : str
        Effect measure, used only for the direction (see :func:`benefit_sign`).
    """
    if mid is not None and not (_finite(mid) and float(mid) > 0):
        raise ArgumentError(f"mid: expected a positive number or None (unknown), got {mid!r}")
    mid_value = math.nan if mid is None else float(mid)
    if not (_finite(estimate) and _finite(ci_low) and _finite(ci_high)):
        return EffectClass(NO_DATA, math.nan, math.nan, math.nan, mid_value, str(measure))
    est, lo, hi = float(estimate), float(ci_low), float(ci_high)
    if lo > hi:
        raise ArgumentError(f"ci_low: expected ci_low <= ci_high, got {lo} > {hi}")
    sign = benefit_sign(measure)
    # the CI bound nearest the null, on the benefit-positive scale
    lo_b, hi_b = sorted((sign * lo, sign * hi))
    if hi_b < 0:
        label = HARM
    elif lo_b <= 0:
        label = NO_CLEAR_DIFFERENCE
    elif mid is None:
        label = UNSIZED_BENEFIT
    elif sign * est >= float(mid):
        label = IMPORTANT_BENEFIT
    else:
        label = SMALL_BENEFIT
    return EffectClass(label, est, lo, hi, mid_value, str(measure))


def format_effect(measure: str, estimate, ci_low, ci_high, *, digits: int = 2) -> str:
    """``SMD -0.40 (95% CI -0.54 to -0.25)``; ``no estimate`` when missing."""
    if not (_finite(estimate) and _finite(ci_low) and _finite(ci_high)):
        return f"{measure} no estimate"
    return f"{measure} {float(estimate):.{digits}f} (95% CI {float(ci_low):.{digits}f} to {float(ci_high):.{digits}f})"


def format_interval(low, high, *, digits: int = 2) -> str:
    if not (_finite(low) and _finite(high)):
        return "n/a"
    return f"{float(low):.{digits}f} to {float(high):.{digits}f}"
