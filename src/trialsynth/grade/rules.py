"""GRADE domain rules: each a pure function returning a :class:`Judgement` (level, downgrade, reason).

Certainty starts at **high** for randomised trials and each domain may downgrade it by one level
(``serious``) or two (``very serious``): Guyatt GH et al. *GRADE guidelines: 1-9*, J Clin Epidemiol
2011;64 (risk of bias: 4, 407-415; publication bias: 5, 1277-1282; imprecision: 6, 1283-1293;
inconsistency: 7, 1294-1302; indirectness: 8, 1303-1310), and the Cochrane Handbook chapter 14
(Schünemann et al., version 6.4, 2023). The thresholds below are the stated defaults of this
draft; every judgement is an editable field (see :func:`trialsynth.grade.apply_overrides`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from statistics import NormalDist

from trialsynth.errors import ArgumentError

NOT_SERIOUS, SERIOUS, VERY_SERIOUS = "not serious", "serious", "very serious"
DOWNGRADES = {NOT_SERIOUS: 0, SERIOUS: 1, VERY_SERIOUS: 2}
# publication bias uses its own words
UNDETECTED, SUSPECTED, NOT_ASSESSED = "undetected", "suspected", "not assessed"
STRONGLY_SUSPECTED = "strongly suspected"
PUBLICATION_DOWNGRADES = {UNDETECTED: 0, NOT_ASSESSED: 0, SUSPECTED: 1, STRONGLY_SUSPECTED: 2}

CERTAINTY_LEVELS = ("very low", "low", "moderate", "high")
DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")

RULES = {
    "start": "Randomised trials start at high certainty (GRADE guidelines 3, Balshem 2011, J Clin Epidemiol 64:401-406); "
             "each domain below downgrades by 0, 1 (serious) or 2 (very serious) levels; certainty never goes below very low.",
    "risk_of_bias": "Share of the pooled weight from studies judged at high risk of bias >= {rob_very_serious:.0%} -> very serious; "
                    "share from studies not at low risk (high, some concerns, unclear or not assessed) >= {rob_serious:.0%} -> serious; "
                    "else not serious (GRADE guidelines 4, Guyatt 2011, J Clin Epidemiol 64:407-415: judge by where most of the information comes from).",
    "inconsistency": "I2 >= {i2_very_serious:g}% and a prediction interval spanning both an important benefit (-MID) and an important harm (+MID) -> very serious; "
                     "I2 >= {i2_serious:g}%, or a prediction interval that includes no effect while the CI excludes it -> serious; "
                     "else not serious; one study -> not serious (inconsistency not assessable). "
                     "(GRADE guidelines 7, Guyatt 2011, J Clin Epidemiol 64:1294-1302; I2 bands of the Cochrane Handbook 10.10.2.)",
    "indirectness": "Not computed from the data: population, intervention, comparator and outcome directness is a reviewer's judgement "
                    "(GRADE guidelines 8, Guyatt 2011, J Clin Epidemiol 64:1303-1310). Default not serious; edit the field.",
    "imprecision": "CI includes both an important benefit (<= -MID) and an important harm (>= +MID) -> very serious; "
                   "CI includes no effect, or crosses the MID threshold, or the total sample is below the optimal information size "
                   "(OIS: a single trial with two-sided alpha {alpha:g} and power {power:g} to detect the MID) -> serious; else not serious "
                   "(GRADE guidelines 6, Guyatt 2011, J Clin Epidemiol 64:1283-1293). MID: {mid_source}",
    "publication_bias": "Assessed only with k >= {min_k_publication} studies (Cochrane Handbook 13.3.5.4; Sterne 2011, BMJ 343:d4002): "
                        "Egger's regression test p < {egger_alpha:g} -> suspected (downgrade 1); else undetected. With fewer studies: not assessed, no downgrade.",
}


@dataclass(frozen=True)
class Judgement:
    """A domain's judgement: ``level`` (e.g. ``serious``), ``downgrade`` (0, 1, 2) and the ``reason``."""

    level: str
    downgrade: int
    reason: str


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _mid(mid) -> float:
    if not (_finite(mid) and float(mid) > 0):
        raise ArgumentError(f"mid: expected a positive number, got {mid!r}")
    return float(mid)


def judge_risk_of_bias(rob: Sequence, weights: Sequence | None = None, *, serious: float = 0.5, very_serious: float = 0.5) -> Judgement:
    """Risk of bias from the studies' overall judgements, weighted by their pooled weight.

    Parameters
    ----------
    rob : sequence of str
        Per study: ``low``, ``some_concerns``, ``high``, ``unclear`` or missing.
    weights : sequence of float, optional
        Per-study weights (any scale); equal weights when omitted.
    serious, very_serious : float
        Thresholds on the weight share (see :data:`RULES`).
    """
    rob = ["" if (r is None or (isinstance(r, float) and math.isnan(r))) else str(r).strip().lower() for r in rob]
    if not rob:
        return Judgement(NOT_SERIOUS, 0, "no studies")
    if weights is None:
        weights = [1.0] * len(rob)
    weights = [float(w) if _finite(w) else 0.0 for w in weights]
    if len(weights) != len(rob):
        raise ArgumentError(f"weights: expected {len(rob)} values (one per study), got {len(weights)}")
    total = sum(weights) or 1.0
    high = sum(w for r, w in zip(rob, weights) if r == "high") / total
    not_low = sum(w for r, w in zip(rob, weights) if r != "low") / total
    counts = {lvl: sum(1 for r in rob if r == lvl) for lvl in ("low", "some_concerns", "high", "unclear")}
    counts["not assessed"] = sum(1 for r in rob if r not in ("low", "some_concerns", "high", "unclear"))
    text = ", ".join(f"{n} {lvl.replace('_', ' ')}" for lvl, n in counts.items() if n)
    detail = f"{text}; {high:.0%} of the weight at high risk, {not_low:.0%} not at low risk"
    if high >= very_serious and high > 0:
        return Judgement(VERY_SERIOUS, 2, detail)
    if not_low >= serious:
        return Judgement(SERIOUS, 1, detail)
    return Judgement(NOT_SERIOUS, 0, detail)


def judge_inconsistency(i2, ci_low, ci_high, pi_low, pi_high, k: int, *, mid: float, benefit_sign: int = -1,
                        serious_i2: float = 50.0, very_serious_i2: float = 75.0) -> Judgement:
    """Inconsistency from I2 and the prediction interval (see :data:`RULES`)."""
    mid = _mid(mid)
    if k is None or int(k) < 2:
        return Judgement(NOT_SERIOUS, 0, "one study: inconsistency not assessable")
    i2_v = float(i2) if _finite(i2) else 0.0
    have_pi = _finite(pi_low) and _finite(pi_high)
    text = f"I2 = {i2_v:.0f}%"
    if have_pi:
        text += f", PI {float(pi_low):.2f} to {float(pi_high):.2f}"
    else:
        text += ", no prediction interval"
    ci_excludes_null = _finite(ci_low) and _finite(ci_high) and (float(ci_low) > 0 or float(ci_high) < 0)
    pi_includes_null = have_pi and float(pi_low) <= 0 <= float(pi_high)
    pi_spans_both = have_pi and float(pi_low) <= -mid and float(pi_high) >= mid
    if i2_v >= very_serious_i2 and pi_spans_both:
        return Judgement(VERY_SERIOUS, 2, text + f": considerable heterogeneity and the PI spans both +/-{mid:g}")
    if i2_v >= serious_i2:
        return Judgement(SERIOUS, 1, text + f": I2 >= {serious_i2:g}%")
    if ci_excludes_null and pi_includes_null:
        return Judgement(SERIOUS, 1, text + ": the PI includes no effect although the CI excludes it")
    return Judgement(NOT_SERIOUS, 0, text)


def optimal_information_size(mid: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Total participants a single two-arm trial needs to detect a standardised difference ``mid``.

    ``n per arm = 2 (z_{1-alpha/2} + z_{power})^2 / mid^2`` (the conventional sample-size formula for
    comparing two means with unit SD; GRADE guidelines 6, Guyatt 2011, section on the optimal
    information size). Returns the total of both arms, rounded up per arm.
    """
    mid = _mid(mid)
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ArgumentError("alpha, power: expected numbers strictly between 0 and 1")
    z = NormalDist().inv_cdf
    per_arm = 2 * (z(1 - alpha / 2) + z(power)) ** 2 / mid**2
    return 2 * math.ceil(per_arm)


def judge_imprecision(ci_low, ci_high, participants, *, mid: float, ois: int, benefit_sign: int = -1) -> Judgement:
    """Imprecision from the CI against the MID and the total sample against the OIS (see :data:`RULES`).

    ``benefit_sign`` is -1 when negative effects favour the intervention (oriented SMD/MD), +1 for
    log ratios.
    """
    mid = _mid(mid)
    if not (_finite(ci_low) and _finite(ci_high)):
        return Judgement(VERY_SERIOUS, 2, "no confidence interval")
    lo_b, hi_b = sorted((benefit_sign * float(ci_low), benefit_sign * float(ci_high)))  # benefit-positive scale
    n = float(participants) if _finite(participants) else math.nan
    text = f"CI {float(ci_low):.2f} to {float(ci_high):.2f} vs MID {mid:g}"
    text += f"; {int(n)} participants vs OIS {ois}" if not math.isnan(n) else f"; participants unknown (OIS {ois})"
    if hi_b >= mid and lo_b <= -mid:
        return Judgement(VERY_SERIOUS, 2, text + ": the CI includes both an important benefit and an important harm")
    reasons = []
    if lo_b <= 0 <= hi_b:
        reasons.append("the CI includes no effect")
    elif lo_b < mid < hi_b:
        reasons.append("the CI crosses the MID (important and unimportant effects both compatible)")
    if math.isnan(n) or n < ois:
        reasons.append("fewer participants than the OIS" if not math.isnan(n) else "sample size unknown")
    if reasons:
        return Judgement(SERIOUS, 1, text + ": " + "; ".join(reasons))
    return Judgement(NOT_SERIOUS, 0, text)


def judge_publication_bias(k: int, egger_p=None, *, min_k: int = 10, alpha: float = 0.10) -> Judgement:
    """Publication bias: assessed only with ``k >= min_k`` (see :data:`RULES`)."""
    if k is None or int(k) < min_k:
        return Judgement(NOT_ASSESSED, 0, f"k = {int(k or 0)} < {min_k}: small-study tests not meaningful")
    if not _finite(egger_p):
        return Judgement(NOT_ASSESSED, 0, f"k = {int(k)}: Egger's test not available")
    if float(egger_p) < alpha:
        return Judgement(SUSPECTED, 1, f"k = {int(k)}, Egger's test p = {float(egger_p):.3f} < {alpha:g}")
    return Judgement(UNDETECTED, 0, f"k = {int(k)}, Egger's test p = {float(egger_p):.3f}")


def certainty_from_downgrades(total: int, *, start: str = "high") -> str:
    """``high`` minus ``total`` levels, never below ``very low``."""
    if start not in CERTAINTY_LEVELS:
        raise ArgumentError(f"start: expected one of {', '.join(CERTAINTY_LEVELS)}, got {start!r}")
    idx = CERTAINTY_LEVELS.index(start) - int(total)
    return CERTAINTY_LEVELS[max(idx, 0)]


def downgrade_of(domain: str, level: str) -> int:
    """The number of levels a judgement word removes (used when a reviewer edits a field)."""
    table = PUBLICATION_DOWNGRADES if domain == "publication_bias" else DOWNGRADES
    key = str(level).strip().lower().replace("_", " ")
    if key not in table:
        raise ArgumentError(f"{domain}: expected one of {', '.join(table)}, got {level!r}")
    return table[key]
