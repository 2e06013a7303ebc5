"""Classify a pooled (or single-trial) effect against the null and a minimal important difference.

Every verdict in :mod:`trialsynth.claims.verdicts` is built from these classes, so that the
wording "benefit", "small benefit" and "no clear difference" means the same thing everywhere.

Direction convention (shared with :mod:`trialsynth.effects`): continuous outcomes are oriented so
that a **negative** effect favours acupuncture; ratio measures (RR, OR, ...) are pooled on the log
scale, where a **positive** value favours acupuncture (more responders). Every frame these
functions read holds ratios on the log scale (the analysis scale); what a reader sees is
back-transformed by :mod:`trialsynth.effects.scales`.

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

from trialsynth.effects.scales import is_ratio  # noqa: E402 - the one list of log-scale measures

#: GRADE's default thresholds of an appreciable effect on a ratio scale when no MID is given: a
#: relative risk reduction or increase of 25%, i.e. RR 0.75 and 1.25 (Guyatt GH et al. GRADE
#: guidelines 6. Rating the quality of evidence - imprecision. J Clin Epidemiol 2011;64:1283-1293,
#: section 6.3 and Fig. 3; Schünemann et al., Cochrane Handbook 6.4, section 14.2.2). Used for
#: every ratio measure (RR, OR, ...) pooled on the log scale.
RATIO_MID_LOW = 0.75
RATIO_MID_HIGH = 1.25
RATIO_MID_SOURCE = (
    "ratios: RR 0.75 / 1.25 (a 25% relative reduction or increase), GRADE's default without a MID: "
    "Guyatt GH et al. J Clin Epidemiol 2011;64:1283-1293 (GRADE 6)."
)


def ratio_mid(sign: int = 1) -> float:
    """The log-scale distance from no effect to an appreciable *benefit* on a ratio measure:
    ``log(1.25)`` when larger ratios favour the intervention (``sign`` +1, e.g. responders),
    ``-log(0.75)`` when smaller ratios do (``sign`` -1, e.g. adverse events)."""
    return math.log(RATIO_MID_HIGH) if sign > 0 else -math.log(RATIO_MID_LOW)


def ratio_harm(sign: int = 1) -> float:
    """The log-scale distance from no effect to an appreciable *harm* (the other threshold)."""
    return -math.log(RATIO_MID_LOW) if sign > 0 else math.log(RATIO_MID_HIGH)


#: MIDs of a mean difference on a 0-100 scale (measure ``MD100``, and an MD whose instrument has
#: no entry in :data:`SCALE_MIDS`): pain 15 points (the Cochrane review's predefined clinically
#: relevant difference, "15 points difference on a 0 to 100 scale for pain intensity", Mu 2020 via
#: evidence/Mu2020.yaml Q13; Ostelo 2008's VAS 15), function 10 points (Ostelo 2008: ODI 10 of 100).
MD_MIDS = {"pain": 15.0, "function": 10.0}

#: the measure name of a mean difference on the common 0-100 scale (trialsynth.effects.common_scale)
MD100 = "MD100"


def mid_for(measure: str | None, mid: float | None = DEFAULT_MID_SMD, outcome: str | None = None) -> float | None:
    """The MID on ``measure``'s analysis scale: ``mid`` (SMD units, or the scale's own for MD) for
    differences, :func:`ratio_mid` for ratios (log scale), whatever SMD value ``mid`` holds; for
    ``MD100`` (a mean difference on 0-100) the outcome's :data:`MD_MIDS` entry (None when the
    outcome has none: the size is then not judged)."""
    if is_ratio(measure):
        return ratio_mid(benefit_sign(measure))
    if str(measure or "").upper() == MD100:
        return MD_MIDS.get(str(outcome)) if outcome is not None else None
    return mid

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
    return 1 if is_ratio(measure) else -1


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
    """``SMD -0.40 (-0.54 to -0.25)``, ``RR 1.33 (1.04 to 1.70)`` (ratios back-transformed from
    the log scale); ``SMD no estimate`` when missing. The one formatter:
    :func:`trialsynth.effects.scales.format_effect`."""
    from trialsynth.effects.scales import format_effect as _format

    return _format(measure, estimate, ci_low, ci_high, digits=digits)


def format_interval(low, high, *, digits: int = 2, measure: str | None = None) -> str:
    """``-0.55 to -0.06`` (a ratio given on the log scale is back-transformed); ``n/a`` when missing."""
    from trialsynth.effects.scales import format_interval as _format

    return _format(low, high, measure=measure, digits=digits)


@dataclass(frozen=True)
class MethodDependence:
    """The class of one pooled cell under each method profile.

    ``classes`` maps profile -> class label; ``depends`` is True when they are not all the same
    (``conclusion_depends_on_method``); ``text`` says it in words, e.g. "small benefit under
    cochrane-2025, but no clear difference under cochrane-2025-adhoc".
    """

    active: str
    classes: dict
    intervals: dict

    @property
    def depends(self) -> bool:
        return len(set(self.classes.values())) > 1

    @property
    def text(self) -> str:
        if not self.depends:
            return ""
        own = self.classes.get(self.active)
        # the Bayesian refit (profile "bayes") is a method, not a profile: said in words
        others = [f"{cls} with Bayesian pooling" if name == "bayes" else f"{cls} under {name}"
                  for name, cls in self.classes.items() if name != self.active and cls != own]
        return f"{own} under {self.active}" + (f" ({self.intervals[self.active]})" if self.active in self.intervals else "") + \
            ", but " + "; ".join(f"{o} ({self.intervals[n]})" if n in self.intervals else o
                                 for o, n in zip(others, [n for n, c in self.classes.items() if n != self.active and c != own]))


def method_dependence(refits, *, active: str, mid: float = DEFAULT_MID_SMD, outcome: str | None = None) -> MethodDependence:
    """Classify a cell's refits (:func:`trialsynth.diagnostics.method_profiles.refit_profiles`,
    one row per profile, analysis scale) and say whether the class depends on the profile.

    The class is :func:`classify_effect` against the MID of the measure (:func:`mid_for`); the
    intervals are formatted as a reader sees them (ratios as ratios).
    """
    classes, intervals = {}, {}
    for row in (refits.to_dict("records") if hasattr(refits, "to_dict") else list(refits)):
        measure = str(row.get("measure") or "SMD")
        name = str(row.get("profile"))
        classes[name] = classify_effect(row.get("estimate"), row.get("ci_low"), row.get("ci_high"),
                                        mid=mid_for(measure, mid, outcome), measure=measure).label
        # a Bayesian refit (test "posterior") gives a credible interval
        kind = "CrI " if str(row.get("test")) == "posterior" else "CI "
        intervals[name] = kind + format_interval(row.get("ci_low"), row.get("ci_high"), measure=measure)
    if active not in classes:
        raise ArgumentError(f"active: the refits hold no row for profile {active!r} (profiles: {', '.join(classes)})")
    return MethodDependence(active=active, classes=classes, intervals=intervals)


def bayes_probability_text(row, *, short: bool = False) -> str:
    """A pooled cell's Bayesian probabilities in words a reader understands, or ``""`` when the
    row has none (k = 1, or no Bayesian row).

    ``row`` is a pooled row with the Bayesian columns of
    :data:`trialsynth.report.stages.BAYES_POOLED_COLUMNS`: ``p_benefit`` (posterior probability
    that the mean effect favours the intervention), ``p_beyond_mid`` (that it does so by more than
    the minimal important difference), ``p_new_beyond_mid`` (that a new trial's true effect does),
    ``bayes_prior`` (the prior on tau, by its paper) and ``k``. With three trials or fewer the
    posterior of tau is essentially its prior, and the sentence says so. ``short``: the
    chances of some benefit and of one beyond the MID only (for a claim's evidence line); else
    the new trial's chance, the prior and the caveat too (for a GRADE reason). Probabilities are never rounded to 0% or 100%
    (:func:`trialsynth.display.format_probability`).

    Example: "Bayesian pooling (Rhodes 2015 prior on the heterogeneity): 98.5% chance of some
    benefit, 9.2% chance of a benefit beyond the minimal important difference, 17.4% chance that
    a new trial's true effect is beyond it".
    """
    from trialsynth.display import format_probability

    get = row.get if hasattr(row, "get") else (lambda key, default=None: getattr(row, key, default))
    benefit = format_probability(get("p_benefit"))
    if not benefit:
        return ""
    parts = [f"{benefit} chance of some benefit"]
    beyond, new = format_probability(get("p_beyond_mid")), format_probability(get("p_new_beyond_mid"))
    if beyond:
        parts.append(f"{beyond} chance of a benefit beyond the minimal important difference")
    if new:
        parts.append(f"{new} chance that a new trial's true effect is beyond it" if beyond
                     else f"{new} chance that a new trial's true effect is beyond the minimal important difference")
    if short:
        return f"Bayesian: {benefit} chance of some benefit" + (f", {beyond} of one beyond the MID" if beyond else "")
    prior = get("bayes_prior")
    prior = str(prior).split(" (")[0] if isinstance(prior, str) and prior else ""
    head = f"Bayesian pooling ({prior} prior on the heterogeneity)" if prior else "Bayesian pooling"
    text = f"{head}: " + ", ".join(parts)
    try:
        k = int(get("k"))
    except (TypeError, ValueError):
        k = None
    if k is not None and k <= 3:
        text += (f" (with {k} trials the heterogeneity is essentially what the prior assumes, so these "
                 "probabilities lean on the prior)")
    return text
