"""What the joint model of every follow-up says about durability, for the claim checks.

The claims about how long acupuncture's effect lasts (the article's "doesn't provide ...
long-lasting pain relief", the 2019 review's "benefits can last until the next follow-up visit",
the 2023 trial's "no evidence of long-term benefits eight weeks after treatment") are read against
the separate pools of each window *and* against the joint model of
:func:`trialsynth.pooling.longitudinal.durability_analysis`: the later-minus-earlier contrasts of
one model of every follow-up (with their CIs, so that "not clear later" is not mistaken for "less
later"), the test of change in the effect-against-time curve, and whether the reading holds over
the assumed within-person correlations of the sensitivity analysis (Ishak et al. 2007).

:func:`joint_readings` turns a :class:`~trialsynth.pooling.longitudinal.Durability` into one
:class:`JointReading` per comparison: ``fades`` (a contrast or the curve shows clearly less
benefit later, and nothing shows more), ``more benefit later`` (the reverse), ``no clear change``
(estimable, but every CI includes no change, or the two disagree) or ``not estimable``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FADES = "fades"
MORE_LATER = "more benefit later"
NO_CLEAR_CHANGE = "no clear change"
NOT_ESTIMABLE = "not estimable"
#: the p-value below which the curve's test of change over time is read as a change
ALPHA = 0.05


@dataclass(frozen=True)
class JointReading:
    """The joint model's reading of one comparison (in words, as the durability stage names it)."""

    comparison: str
    reading: str
    text: str
    robust_to_rho: bool | None = None
    #: the joint model's estimate in the comparison's latest window shows a clear benefit (CI
    #: excluding no effect on the benefit side); None without a cell
    later_benefit: bool | None = None


def _window_words(window) -> str:
    from trialsynth.display import value_words

    return value_words("window", window)


def _side(est, lo, hi, fades) -> str:
    if not (np.isfinite(est) and np.isfinite(lo) and np.isfinite(hi)):
        return NOT_ESTIMABLE
    if lo <= 0 <= hi:
        return NO_CLEAR_CHANGE
    return FADES if fades else MORE_LATER


def _combine(sides: Sequence[str]) -> str:
    clear = {s for s in sides if s in (FADES, MORE_LATER)}
    if len(clear) == 1:
        return clear.pop()
    if clear or any(s == NO_CLEAR_CHANGE for s in sides):
        return NO_CLEAR_CHANGE
    return NOT_ESTIMABLE


def _later_benefit(durability, comp) -> bool | None:
    from trialsynth.claims.effects import benefit_sign

    cells = getattr(durability, "cells", None)
    if cells is None or len(cells) == 0 or "comparator" not in cells:
        return None
    from trialsynth.pooling.longitudinal import WINDOW_ORDER

    c = cells[cells["comparator"].astype(str) == comp]
    c = c[c["window"].isin(WINDOW_ORDER)]
    if len(c) == 0:
        return None
    last = c.loc[c["window"].map(WINDOW_ORDER.index).idxmax()]
    sign = benefit_sign(getattr(durability, "measure", None))
    bound = last["ci_high"] if sign < 0 else last["ci_low"]
    return bool(np.isfinite(bound) and sign * bound > 0)


def joint_readings(durability, comparisons: Sequence[str] | None = None) -> list[JointReading]:
    """One :class:`JointReading` per comparison of ``durability`` (all, or those named in
    ``comparisons``, in that order), reading its estimable contrasts (CI excluding 0 on either
    side) and its log-form curve (the test of change at ``ALPHA``)."""
    if durability is None:
        return []
    from trialsynth.effects.scales import format_effect

    contrasts = getattr(durability, "contrasts", None)
    sens = getattr(durability, "sensitivity", None)
    curves = getattr(durability, "curves", {}) or {}
    present = set()
    if contrasts is not None and len(contrasts):
        present |= set(contrasts["comparator"].astype(str))
    present |= {str(c) for c, _f in curves}
    names = [c for c in (comparisons if comparisons is not None else sorted(present)) if c in present]
    out = []
    for comp in dict.fromkeys(names):
        sides, texts = [], []
        if contrasts is not None and len(contrasts):
            for r in contrasts[contrasts["comparator"].astype(str) == comp].itertuples():
                if not np.isfinite(r.estimate):
                    continue
                side = _side(r.estimate, r.ci_low, r.ci_high, r.fades)
                sides.append(side)
                texts.append(f"{_window_words(r.later)} minus {_window_words(r.earlier)} "
                             f"{format_effect(r.measure, r.estimate, r.ci_low, r.ci_high)} ({side})")
        tr = curves.get((comp, "log"))
        if tr is not None:
            d = tr.decay
            p = d.get("p_value", math.nan)
            fading = str(d.get("direction", "")).startswith("less benefit")
            side = (NOT_ESTIMABLE if not np.isfinite(p) else
                    (FADES if fading else MORE_LATER) if p < ALPHA else NO_CLEAR_CHANGE)
            sides.append(side)
            texts.append(f"curve over weeks after treatment: test of change p = {p:.2g} ({side})")
        reading = _combine(sides)
        robust = None
        if sens is not None and len(sens) and reading != NOT_ESTIMABLE:
            s = sens[(sens["comparator"].astype(str) == comp) & np.isfinite(sens["estimate"].astype(float))]
            if len(s):
                per_rho = [_side(r.estimate, r.ci_low, r.ci_high, r.fades) for r in s.itertuples()]
                robust = len(set(per_rho)) == 1
                rhos = sorted(set(float(x) for x in s["rho"]))
                span = f"{rhos[0]:g} to {rhos[-1]:g}"
                texts.append(f"the contrasts read the same at every assumed within-person correlation from {span}"
                             if robust else f"the contrasts' reading changes with the assumed within-person correlation ({span})")
        rho = getattr(durability, "rho", math.nan)
        text = (f"{comp}: " + ("; ".join(texts) if texts else "nothing estimable")
                + (f" (within-person correlation {rho:g}, assumed)" if np.isfinite(rho) else ""))
        out.append(JointReading(comp, reading, text, robust, _later_benefit(durability, comp)))
    return out


def readings_for(durability: Mapping | object | None, outcome: str | None, comparisons: Sequence[str]) -> list[JointReading]:
    """:func:`joint_readings` of the durability analysis of ``outcome`` (``durability`` a mapping
    outcome -> Durability, or one Durability) for ``comparisons``."""
    if durability is None:
        return []
    if isinstance(durability, Mapping):
        durability = durability.get(str(outcome)) if outcome is not None else None
    return joint_readings(durability, comparisons)


#: the checks whose claims are about how long the effect lasts when they span several windows:
#: they also read the joint model (:func:`with_joint_model`), with the stance each reading takes
#: on the claim (a reading not listed is context: not tested)
JOINT_MODEL_STANCES: dict[str, dict] = {
    # "others suggest it doesn't provide ... long-lasting pain relief": a fading effect is for it
    "mixed_results": {FADES: "for"},
    # "benefits can last until the next follow-up visit": fading is against it; more benefit later,
    # or no clear change while the latest window still shows a clear benefit, is for it
    "review_result": {FADES: "against", f"{NO_CLEAR_CHANGE}, benefit later": "for", MORE_LATER: "for"},
    # a claim about one trial's own finding: the pooled model is context
    "trial_result": {},
}


def reads_joint_model(claim) -> bool:
    """Does ``claim`` read the joint model: a check of :data:`JOINT_MODEL_STANCES` (or
    ``durability``) over two or more windows (or none named)?"""
    return ((claim.check in JOINT_MODEL_STANCES or claim.check == "durability")
            and not (claim.windows and len(claim.windows) < 2))


def _comparisons_of(claim) -> list[str]:
    """The claim's comparisons in words, head-to-head and add-on (the durability stage's names)."""
    from trialsynth.data.cells import COMPARATOR_WORDS, comparison_label

    classes = claim.comparator_classes or tuple(COMPARATOR_WORDS)
    return [comparison_label(c, a) for c in classes for a in (False, True)]


def with_joint_model(verdict, claim, durability):
    """``verdict`` with the joint model's reading of the claim's comparisons added to its reason
    and evidence (claims of :data:`JOINT_MODEL_STANCES` that :func:`reads_joint_model`); the
    verdict itself is the check's (the ``durability`` check reads the model in its rule)."""
    from dataclasses import replace

    from trialsynth.claims.common import NOT_TESTED

    if claim.check not in JOINT_MODEL_STANCES or not reads_joint_model(claim):
        return verdict
    outcome = claim.outcomes[0] if claim.outcomes else "pain"
    readings = [r for r in readings_for(durability, outcome, _comparisons_of(claim)) if r.reading != NOT_ESTIMABLE]
    if not readings:
        return verdict
    stances = JOINT_MODEL_STANCES[claim.check]

    def stance(r):
        key = f"{r.reading}, benefit later" if r.reading == NO_CLEAR_CHANGE and r.later_benefit else r.reading
        return stances.get(key, NOT_TESTED)

    evidence = tuple((stance(r), f"joint model, {r.reading}: {r.text}") for r in readings)
    reason = verdict.reason + " | Joint model of every follow-up (does the effect fade?): " + "; ".join(
        f"{r.comparison}: {r.reading}" for r in readings) + ". Details: " + " | ".join(r.text for r in readings)
    return replace(verdict, reason=reason, evidence=tuple(verdict.evidence) + evidence)


__all__ = ["ALPHA", "FADES", "JOINT_MODEL_STANCES", "JointReading", "MORE_LATER", "NOT_ESTIMABLE", "NO_CLEAR_CHANGE",
           "joint_readings", "reads_joint_model", "readings_for", "with_joint_model"]
