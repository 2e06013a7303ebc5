"""Claims about the pattern across cells: "mixed results" (some comparisons and times show a
benefit, others none) and durability (a benefit that lasts, or fades, after treatment ends).
"""

from __future__ import annotations

from trialsynth.claims.common import (
    AGAINST,
    AGREES,
    CONTRADICTED,
    DISAGREES,
    EARLY_WINDOWS,
    FOR,
    INSUFFICIENT,
    LATE_WINDOWS,
    NOT_TESTED,
    SUPPORTED,
    UNTESTED,
    Verdict,
    _cell_name,
    _classify_row,
    _comparison,
    _comparison_words,
    _depends,
    _describe_review,
    _isfinite,
    _mid,
    _rows,
    _select_pooled,
    _select_reviews,
    _stanced,
    _window_rank,
    combine,
    describe_pooled_row,
)
from trialsynth.claims.effects import (
    BENEFIT_CLASSES,
    HARM,
    IMPORTANT_BENEFIT,
    NO_CLEAR_DIFFERENCE,
    NO_DATA,
    SMALL_BENEFIT,
    UNSIZED_BENEFIT,
)
from trialsynth.claims.records import Claim, require_claim
from trialsynth.data.cells import as_add_on, comparison_label


def check_mixed_results(claim: Claim, pooled=None, reviews=None, *, mid: float | None = None, **_) -> Verdict:
    """A claim that the evidence is *mixed*.

    Rule (the decision rule of ``evidence/claims.yaml``, claim C1): classify every pooled estimate
    the claim concerns (outcome x comparator x window, see
    :func:`trialsynth.claims.effects.classify_effect`) and every matching published estimate
    ("cells"). **Supported** when at least one cell shows a benefit (CI excludes no effect) and at
    least one shows no clear difference or a benefit below the MID; **contradicted** when every cell
    is an important benefit (uniformly positive) or no cell shows a benefit (uniformly null);
    **insufficient evidence** with fewer than two cells. The reason spells out the pattern by
    comparator and by window, so "mixed" is explained, not asserted.
    """
    require_claim(claim)
    mid = _mid(claim, mid)
    rows = _rows(_select_pooled(pooled, claim))
    rows = [r for r in rows if _classify_row(r, mid) != NO_DATA]
    review_rows = _rows(_select_reviews(reviews, claim))
    review_rows = [r for r in review_rows if _classify_row(r, mid) != NO_DATA]
    classes = [_classify_row(r, mid) for r in rows] + [_classify_row(r, mid) for r in review_rows]
    lines = []
    by_comp: dict[tuple, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (str(_comparison(r)), _window_rank(r.get("window")))):
        by_comp.setdefault(_comparison(r), []).append(r)
    for comp, comp_rows in by_comp.items():
        lines.append("; ".join(describe_pooled_row(r, mid=mid) for r in comp_rows))
    for r in review_rows:
        lines.append(f"published {r.get('review_id')}: " + _describe_review(r, mid))
    pattern = _explain_pattern(rows, mid)
    n_benefit = sum(c in BENEFIT_CLASSES for c in classes)
    n_weak = sum(c in (NO_CLEAR_DIFFERENCE, SMALL_BENEFIT, HARM) for c in classes)
    tally = ", ".join(f"{classes.count(c)} {c}" for c in (IMPORTANT_BENEFIT, SMALL_BENEFIT, UNSIZED_BENEFIT, NO_CLEAR_DIFFERENCE, HARM) if classes.count(c))
    if len(classes) < 2:
        verdict = INSUFFICIENT
        head = f"only {len(classes)} estimable cell(s) for this outcome, comparator and window set; mixed results need at least two"
    elif n_benefit >= 1 and n_weak >= 1:
        verdict = SUPPORTED
        head = f"{len(classes)} cells: {tally} (MID {mid:g}): some show a benefit, others none or one below the MID"
    elif n_benefit == 0:
        verdict = CONTRADICTED
        head = f"{len(classes)} cells: {tally}: no cell shows a benefit, so the evidence is uniformly null, not mixed"
    else:
        verdict = CONTRADICTED
        every = ("an important benefit" if all(c == IMPORTANT_BENEFIT for c in classes)
                 else "a benefit (important, or of unknown size where the scale range is not printed)")
        head = f"{len(classes)} cells: {tally} (MID {mid:g}): every cell is {every}, so the evidence is uniformly positive, not mixed"
    reason = head + (". " + pattern if pattern else "") + (". Estimates: " + " | ".join(lines) if lines else "")
    parts = tuple((describe_pooled_row(r, mid=mid), _classify_row(r, mid)) for r in rows)
    unstable = tuple(_cell_name(r) for r in rows if _depends(r))
    # evidence: each estimate under its class (a mixed claim is made of the contrast between them)
    evidence = tuple((FOR if verdict == SUPPORTED else AGAINST if verdict == CONTRADICTED else NOT_TESTED,
                      f"{_classify_row(r, mid)}: {describe_pooled_row(r, mid=mid)}") for r in rows)
    evidence += tuple((FOR if verdict == SUPPORTED else NOT_TESTED, f"{_classify_row(r, mid)}: published {r.get('review_id')}: "
                       + _describe_review(r, mid)) for r in review_rows)
    if verdict == SUPPORTED:
        comps = {_comparison(r) for r in rows if _classify_row(r, mid) == IMPORTANT_BENEFIT}
        names = [comparison_label(*c, short=True) for c in sorted(comps, key=str)]
        names = names[:2] + ([f"{len(names) - 2} more"] if len(names) > 2 else [])  # the summary stays one short sentence
        where = (" (" + "; ".join(names) + ")") if names else ""
        n_imp = classes.count(IMPORTANT_BENEFIT)
        n_none = classes.count(NO_CLEAR_DIFFERENCE) + classes.count(HARM)
        n_other = len(classes) - n_imp - n_none
        summary = (f"Supported: of {len(classes)} estimates, {n_imp} show an important benefit{where}, "
                   f"{n_other} a smaller one and {n_none} no clear difference: it depends on comparison "
                   "and follow-up.")
    elif verdict == CONTRADICTED:
        summary = f"Contradicted: {head.split(': ', 1)[-1]}."
    else:
        summary = f"Insufficient evidence: {head}."
    if unstable:
        summary += f" {len(unstable)} depend on the method profile."
    return Verdict(claim.id, "mixed_results", verdict, reason, parts, summary=summary, evidence=evidence,
                   method_dependent=unstable)


def _explain_pattern(rows: list[dict], mid: float) -> str:
    """Words for the two sources of mixedness: comparator (sham vs others) and durability."""
    sentences = []
    by_comp: dict[tuple, list[str]] = {}
    for r in rows:
        by_comp.setdefault(_comparison(r), []).append(_classify_row(r, mid))
    benefit_comps = sorted((c for c, cl in by_comp.items() if IMPORTANT_BENEFIT in cl), key=str)
    weak_comps = sorted((c for c, cl in by_comp.items() if IMPORTANT_BENEFIT not in cl), key=str)
    if benefit_comps and weak_comps:
        sentences.append(
            "By comparison: an important benefit for "
            + " and ".join(_comparison_words(c) for c in benefit_comps)
            + ", but at most a small or unclear effect for "
            + " and ".join(_comparison_words(c) for c in weak_comps)
        )
    durable = []
    for comp in sorted(by_comp, key=str):
        early = [r for r in rows if _comparison(r) == comp and r.get("window") in EARLY_WINDOWS]
        late = [r for r in rows if _comparison(r) == comp and r.get("window") in LATE_WINDOWS]
        if early and late:
            e = any(_classify_row(r, mid) in BENEFIT_CLASSES for r in early)
            late_benefit = [r for r in late if _classify_row(r, mid) in BENEFIT_CLASSES]
            lt = bool(late_benefit)
            words = _comparison_words(comp)
            if e and not lt:
                durable.append(f"for {words} the benefit seen early is not clear later")
            elif e and lt:
                robust = [r for r in late_benefit if not _depends(r)]
                if robust:
                    durable.append(f"for {words} a benefit persists into the later windows")
                else:
                    ks = ", ".join(f"k = {int(r['k'])}" for r in late_benefit if _isfinite(r.get("k")))
                    durable.append(f"for {words} a later benefit is seen only under the default "
                                   f"method ({ks}) and not under its never-narrower variant, so it is not robust")
    if durable:
        sentences.append("By time: " + "; ".join(durable))
    return ". ".join(sentences)


def check_durability(claim: Claim, pooled=None, *, mid: float | None = None, durability=None, **_) -> Verdict:
    """A claim that the effect is temporary: present early, absent later.

    Rule, per comparator the claim concerns: the *early* windows (``early_windows``, default
    immediate and short) must show a benefit (important or small; CI excludes 0) and the *late*
    windows (``late_windows``, default intermediate and long) must not. A comparator agrees when
    both hold, disagrees when the early benefit is missing or the benefit persists late, and is
    untested when either side has no estimate. With ``durability`` (the joint model of every
    follow-up, outcome -> Durability) an early benefit is then read against the joint model's
    later-minus-earlier contrasts and curve (:func:`trialsynth.claims.durability.joint_readings`):
    clearly less benefit later agrees, clearly more disagrees, and "none clear later" in the
    separate windows that the joint model does not show as a change is untested (not clear later
    is not the same as less later). Parts are combined by :func:`combine`.
    """
    from trialsynth.claims.durability import FADES, MORE_LATER, NOT_ESTIMABLE, readings_for

    require_claim(claim)
    mid = _mid(claim, mid)
    early_w = tuple(claim.params.get("early_windows") or EARLY_WINDOWS)
    late_w = tuple(claim.params.get("late_windows") or LATE_WINDOWS)
    rows = _rows(_select_pooled(pooled, claim, windows=early_w + late_w))
    classes = claim.comparator_classes or tuple(sorted({str(r.get("comparator_class")) for r in rows}))
    present = {_comparison(r) for r in rows}
    # one part per comparison (a comparator class with add-on and head-to-head trials gives two)
    comps = [c for cls in classes for c in sorted((p for p in present if p[0] == cls), key=str)
             or [(cls, as_add_on(claim.params.get("add_on")))]]
    joint = {r.comparison: r for r in readings_for(durability, claim.outcomes[0] if claim.outcomes else "pain",
                                                     [comparison_label(*c) for c in comps])}
    parts, lines = [], []
    for comp in comps:
        comp_rows = [r for r in rows if _comparison(r) == comp]
        early = [r for r in comp_rows if r.get("window") in early_w and _classify_row(r, mid) != NO_DATA]
        late = [r for r in comp_rows if r.get("window") in late_w and _classify_row(r, mid) != NO_DATA]
        label = comparison_label(*comp)
        if not early or not late:
            missing = " and ".join(x for x, rs in (("early", early), ("late", late)) if not rs)
            parts.append((label, UNTESTED))
            lines.append(f"{label}: no {missing} estimate")
            continue
        e_benefit = any(_classify_row(r, mid) in BENEFIT_CLASSES for r in early)
        l_rows = [r for r in late if _classify_row(r, mid) in BENEFIT_CLASSES]
        l_benefit = bool(l_rows)
        numbers = "; ".join(describe_pooled_row(r, mid=mid) for r in sorted(early + late, key=lambda r: _window_rank(r.get("window"))))
        if e_benefit and not l_benefit:
            outcome, words = AGREES, "benefit early, none clear later (temporary)"
        elif e_benefit and l_benefit and all(_depends(r) for r in l_rows):
            outcome, words = UNTESTED, "a later benefit that depends on the method (not robust): cannot tell whether it lasts"
        elif e_benefit and l_benefit:
            outcome, words = DISAGREES, "the benefit persists into the late windows"
        else:
            outcome, words = DISAGREES, "no clear early benefit"
        jr = joint.get(label)
        if jr is not None and jr.reading != NOT_ESTIMABLE and e_benefit:
            if jr.reading == FADES:
                outcome, words = AGREES, "benefit early, and the joint model shows less benefit later (temporary)"
            elif jr.reading == MORE_LATER:
                outcome, words = DISAGREES, "the joint model shows more benefit later, not less"
            elif outcome == AGREES:
                outcome, words = UNTESTED, ("benefit early and none clear later in the separate windows, but the joint "
                                            "model finds no clear change between windows: not shown to fade")
            numbers += f"; {jr.text}"
        parts.append((label, outcome))
        lines.append(f"{label}: {words} [{numbers}]")
    verdict = combine([p[1] for p in parts])
    reason = f"early windows {', '.join(early_w)} vs late windows {', '.join(late_w)} (MID {mid:g}): " + (" | ".join(lines) if lines else "no pooled estimates")
    evidence = _stanced(zip([p[1] for p in parts], lines))
    said = "; ".join(f"{line.split(' [')[0]}" for line in lines)
    summary = f"{verdict.capitalize()}: {said}." if said else f"{verdict.capitalize()}: no pooled estimates."
    unstable = tuple(_cell_name(r) for r in rows if _depends(r))
    return Verdict(claim.id, "durability", verdict, reason, tuple(parts), summary=summary, evidence=evidence,
                   method_dependent=unstable)
