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
    "risk_of_bias": "Share of the assessed pooled weight from studies judged at high risk of bias >= {rob_very_serious:.0%} -> very serious; "
                    "share from studies not at low risk (high, some concerns or unclear) >= {rob_serious:.0%} -> serious; "
                    "else not serious (GRADE guidelines 4, Guyatt 2011, J Clin Epidemiol 64:407-415: judge by where most of the information comes from). "
                    "A study without an entered judgement is not counted as not low: when no study of a row has one, the domain reads "
                    "'not assessed: reviewer to judge', nothing is downgraded and the row's certainty is marked provisional.",
    "inconsistency": "I2 >= {i2_very_serious:g}% and a prediction interval spanning both an important benefit (-MID) and an important harm (+MID) -> very serious; "
                     "I2 >= {i2_serious:g}%, or a prediction interval that includes no effect while the CI excludes it -> serious; "
                     "else not serious; one study -> not serious (inconsistency not assessable). "
                     "(GRADE guidelines 7, Guyatt 2011, J Clin Epidemiol 64:1294-1302; I2 bands of the Cochrane Handbook 10.10.2.)",
    "indirectness": "Not computed from the data: population, intervention, comparator and outcome directness is a reviewer's judgement "
                    "(GRADE guidelines 8, Guyatt 2011, J Clin Epidemiol 64:1303-1310). Default not serious; edit the field.",
    "imprecision": "CI includes both an important benefit (<= -MID) and an important harm (>= +MID) -> very serious; "
                   "CI includes no effect, or crosses the MID threshold, or the total sample is below the optimal information size "
                   "(OIS: a single trial with two-sided alpha {alpha:g} and power {power:g} to detect the MID; for a ratio, a 25% relative change "
                   "of the comparator's median risk), or the effect's class changes between the shipped method profiles "
                   "(conclusion_depends_on_method) -> serious; else not serious "
                   "(GRADE guidelines 6, Guyatt 2011, J Clin Epidemiol 64:1283-1293). Where the report has computed a cell's "
                   "required information size (RIS), the OIS is that RIS: the same single-trial size (for a ratio, "
                   "4(z+z)²p(1-p)/δ² with the comparator arms' pooled risk) divided by 1 - D² for the "
                   "diversity of the random-effects meta-analysis (Wetterslev et al. 2009, BMC Med Res Methodol 9:86). "
                   "MID: {mid_source} Thresholds for {ratio_mid_source}",
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


#: the reason of a domain no one has judged yet (risk of bias without any entered judgement; its
#: level is :data:`NOT_ASSESSED`, which downgrades nothing and makes the certainty provisional)
PROVISIONAL_NOTE = "not assessed: reviewer to judge"


def judge_risk_of_bias(rob: Sequence, weights: Sequence | None = None, *, serious: float = 0.5, very_serious: float = 0.5) -> Judgement:
    """Risk of bias from the studies' overall judgements, weighted by their pooled weight.

    Only studies with an entered judgement are weighed: a study whose risk of bias nobody has
    assessed is not counted as "not low" (that would silently cost every row a level). When no
    study of the group has a judgement the domain is ``not assessed`` ("not assessed: reviewer to
    judge"), downgrades nothing, and the row's certainty is provisional (see
    :func:`trialsynth.grade.sof.recompute_certainty`); when some have none, the reason names them
    and the shares are of the assessed weight.

    Parameters
    ----------
    rob : sequence of str
        Per study: ``low``, ``some_concerns``, ``high``, ``unclear`` or missing.
    weights : sequence of float, optional
        Per-study weights (any scale); equal weights when omitted.
    serious, very_serious : float
        Thresholds on the weight share (see :data:`RULES`).
    """
    rob = ["" if (r is None or (isinstance(r, float) and math.isnan(r))) else str(r).strip().lower().replace(" ", "_") for r in rob]
    if not rob:
        return Judgement(NOT_SERIOUS, 0, "no studies")
    if weights is None:
        weights = [1.0] * len(rob)
    weights = [float(w) if _finite(w) else 0.0 for w in weights]
    if len(weights) != len(rob):
        raise ArgumentError(f"weights: expected {len(rob)} values (one per study), got {len(weights)}")
    known = ("low", "some_concerns", "high", "unclear")
    assessed = [(r, w) for r, w in zip(rob, weights) if r in known]
    missing = len(rob) - len(assessed)
    if not assessed:
        return Judgement(NOT_ASSESSED, 0, f"{PROVISIONAL_NOTE} (no risk-of-bias judgement entered for the {len(rob)} "
                                                   f"{'study' if len(rob) == 1 else 'studies'})")
    total = sum(w for _, w in assessed) or 1.0
    high = sum(w for r, w in assessed if r == "high") / total
    not_low = sum(w for r, w in assessed if r != "low") / total
    counts = {lvl: sum(1 for r, _ in assessed if r == lvl) for lvl in known}
    text = ", ".join(f"{n} {lvl.replace('_', ' ')}" for lvl, n in counts.items() if n)
    if missing:
        text += f", {missing} {PROVISIONAL_NOTE}"
    detail = f"{text}; {high:.0%} of the assessed weight at high risk, {not_low:.0%} not at low risk"
    if high >= very_serious and high > 0:
        return Judgement(VERY_SERIOUS, 2, detail)
    if not_low >= serious:
        return Judgement(SERIOUS, 1, detail)
    return Judgement(NOT_SERIOUS, 0, detail)


def _thresholds(mid: float, harm_mid: float | None) -> tuple[float, float]:
    mid = _mid(mid)
    return mid, (mid if harm_mid is None else _mid(harm_mid))


def _fmt_scale(display, *values) -> str:
    shown = display(*values) if display else values
    return " to ".join(f"{float(v):.2f}" for v in shown)


def judge_inconsistency(i2, ci_low, ci_high, pi_low, pi_high, k: int, *, mid: float, benefit_sign: int = -1,
                        serious_i2: float = 50.0, very_serious_i2: float = 75.0, harm_mid: float | None = None,
                        display=None) -> Judgement:
    """Inconsistency from I2 and the prediction interval (see :data:`RULES`).

    ``mid`` and ``harm_mid`` are the distances from no effect to an important benefit and an
    important harm on the analysis scale (``harm_mid`` defaults to ``mid``; for a ratio on the log
    scale they are ``log 1.25`` and ``-log 0.75``). ``display`` (optional) maps analysis-scale
    values to what the reason prints (``exp`` for ratios).
    """
    mid, harm = _thresholds(mid, harm_mid)
    if k is None or int(k) < 2:
        return Judgement(NOT_SERIOUS, 0, "one study: inconsistency not assessable")
    i2_v = float(i2) if _finite(i2) else 0.0
    have_pi = _finite(pi_low) and _finite(pi_high)
    text = f"I2 = {i2_v:.0f}%"
    if have_pi:
        text += f", PI {_fmt_scale(display, pi_low, pi_high)}"
    else:
        text += ", no prediction interval"
    ci_excludes_null = _finite(ci_low) and _finite(ci_high) and (float(ci_low) > 0 or float(ci_high) < 0)
    pi_includes_null = have_pi and float(pi_low) <= 0 <= float(pi_high)
    lo_b, hi_b = sorted((benefit_sign * float(pi_low), benefit_sign * float(pi_high))) if have_pi else (0.0, 0.0)
    pi_spans_both = have_pi and lo_b <= -harm and hi_b >= mid
    if i2_v >= very_serious_i2 and pi_spans_both:
        return Judgement(VERY_SERIOUS, 2, text + ": considerable heterogeneity and the PI spans both an important benefit and an important harm")
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


def optimal_information_size_binary(control_risk: float, *, relative_change: float = 0.25, alpha: float = 0.05,
                                    power: float = 0.8) -> int:
    """Total participants a single two-arm trial needs to detect a relative change of the risk.

    ``n per arm = (z_{1-alpha/2} + z_{power})^2 [p_c (1 - p_c) + p_t (1 - p_t)] / (p_c - p_t)^2`` with
    ``p_t = p_c (1 + relative_change)`` (capped below 1; a negative ``relative_change`` is a risk
    reduction), the two-proportion sample size that GRADE guidelines 6 (Guyatt 2011, J Clin
    Epidemiol 64:1283-1293, section 6.4 and Fig. 4) uses for the OIS of a binary outcome with
    alpha 0.05, power 0.80 and a relative risk change of 25%.
    """
    if not (_finite(control_risk) and 0 < float(control_risk) < 1):
        raise ArgumentError(f"control_risk: expected a proportion strictly between 0 and 1, got {control_risk!r}")
    if not (_finite(relative_change) and float(relative_change) != 0 and float(relative_change) > -1):
        raise ArgumentError(f"relative_change: expected a non-zero number above -1, got {relative_change!r}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ArgumentError("alpha, power: expected numbers strictly between 0 and 1")
    pc = float(control_risk)
    pt = min(pc * (1 + float(relative_change)), 1 - 1e-9)
    z = NormalDist().inv_cdf
    per_arm = (z(1 - alpha / 2) + z(power)) ** 2 * (pc * (1 - pc) + pt * (1 - pt)) / (pc - pt) ** 2
    return 2 * math.ceil(per_arm)


def judge_imprecision(ci_low, ci_high, participants, *, mid: float, ois: int | None, benefit_sign: int = -1,
                      harm_mid: float | None = None, display=None, threshold_text: str | None = None,
                      method_dependent: str | None = None, ois_label: str = "OIS", bayes: str | None = None) -> Judgement:
    """Imprecision from the CI against the MID and the total sample against the OIS (see :data:`RULES`).

    ``benefit_sign`` is -1 when negative effects favour the intervention (oriented SMD/MD), +1 for
    log ratios of a good outcome. ``mid`` and ``harm_mid`` are the distances from no effect to an
    important benefit and harm on the analysis scale (``harm_mid`` defaults to ``mid``); for ratios
    they are ``log 1.25`` and ``-log 0.75`` (GRADE's RR 0.75 / 1.25), ``display`` prints the CI as
    ratios and ``threshold_text`` names the thresholds. ``ois`` None: not computable (e.g. no
    control risk for a binary outcome); it is then not used. ``method_dependent`` (a sentence):
    the effect's class changes between the method profiles (see
    :func:`trialsynth.pooling.profiles.conclusion_depends_on_method`): the interval the conclusion
    rests on is not robust, which is serious imprecision at least. ``ois_label`` names the size in
    the reason: ``OIS`` (GRADE's single-trial optimal information size) or, when ``ois`` is the
    meta-analysis' heterogeneity-adjusted required information size, e.g. ``RIS {} (D2 65%)`` (``{}``
    is replaced by the size). ``bayes`` (a sentence,
    :func:`trialsynth.claims.effects.bayes_probability_text`): the cell's Bayesian probabilities of
    a benefit and of one beyond the MID, added to the reason so that a reader sees how likely an
    important effect is; it does not change the level (the Bayesian class already counts in
    ``method_dependent``).
    """
    judgement = _judge_imprecision(ci_low, ci_high, participants, mid=mid, ois=ois, benefit_sign=benefit_sign,
                                   harm_mid=harm_mid, display=display, threshold_text=threshold_text,
                                   method_dependent=method_dependent, ois_label=ois_label)
    if bayes:
        return Judgement(judgement.level, judgement.downgrade, f"{judgement.reason}. {bayes}")
    return judgement


def _judge_imprecision(ci_low, ci_high, participants, *, mid, ois, benefit_sign, harm_mid, display, threshold_text,
                       method_dependent, ois_label) -> Judgement:
    mid, harm = _thresholds(mid, harm_mid)
    if not (_finite(ci_low) and _finite(ci_high)):
        return Judgement(VERY_SERIOUS, 2, "no confidence interval")
    lo_b, hi_b = sorted((benefit_sign * float(ci_low), benefit_sign * float(ci_high)))  # benefit-positive scale
    n = float(participants) if _finite(participants) else math.nan
    text = f"CI {_fmt_scale(display, ci_low, ci_high)} vs {threshold_text or f'MID {mid:g}'}"
    short = ois_label.split(" ")[0]
    size = ois_label.format(ois) if "{}" in ois_label else f"{ois_label} {ois}"
    if ois:
        text += f"; {int(n)} participants vs {size}" if not math.isnan(n) else f"; participants unknown ({size})"
    elif not math.isnan(n):
        text += f"; {int(n)} participants ({short} not computable)"
    if hi_b >= mid and lo_b <= -harm:
        return Judgement(VERY_SERIOUS, 2, text + ": the CI includes both an important benefit and an important harm")
    reasons = []
    if lo_b <= 0 <= hi_b:
        reasons.append("the CI includes no effect")
    elif lo_b < mid < hi_b:
        reasons.append("the CI crosses the MID (important and unimportant effects both compatible)")
    if ois and (math.isnan(n) or n < ois):
        reasons.append(f"fewer participants than the {short}" if not math.isnan(n) else "sample size unknown")
    if method_dependent:
        reasons.append(f"the conclusion depends on the method ({method_dependent})")
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
    if domain == "publication_bias":
        table = PUBLICATION_DOWNGRADES
    elif domain == "risk_of_bias":
        table = {**DOWNGRADES, NOT_ASSESSED: 0}  # not judged yet: provisional, not a downgrade
    else:
        table = DOWNGRADES
    key = str(level).strip().lower().replace("_", " ")
    if key not in table:
        raise ArgumentError(f"{domain}: expected one of {', '.join(table)}, got {level!r}")
    return table[key]
