"""Claims about one trial's result (e.g. "a 2023 trial found a short-term effect but no benefit
8 weeks after treatment"), judged from its rows' effects or p-values and their timing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from trialsynth.claims.common import (
    AGAINST,
    AGREES,
    COMPARATOR_LABELS,
    DISAGREES,
    FOR,
    INSUFFICIENT,
    Verdict,
    _check_frame,
    _comparison,
    _comparison_words,
    _filter,
    _isfinite,
    _line_agrees,
    _mid,
    _rows,
    combine,
    row_mid,
)
from trialsynth.claims.effects import (
    BENEFIT_CLASSES,
    HARM,
    NO_CLEAR_DIFFERENCE,
    NO_DATA,
    SMALL_BENEFIT,
    classify_effect,
    format_effect,
)
from trialsynth.claims.records import Claim, require_claim


def _trial_row_class(row: Mapping, mid: float, alpha: float = 0.05) -> tuple[str, str]:
    """(class, text) for one trial row: from yi/vi when present, else from its reported p-value."""
    yi, vi = row.get("yi"), row.get("vi")
    measure = str(row.get("measure") or "SMD")
    if _isfinite(yi) and _isfinite(vi) and float(vi) > 0:
        se = math.sqrt(float(vi))
        lo, hi = float(yi) - 1.959963984540054 * se, float(yi) + 1.959963984540054 * se
        cls = classify_effect(yi, lo, hi, mid=row_mid(row, mid), measure=measure).label
        text = format_effect(measure, yi, lo, hi)
        if bool(row.get("approximate")) is True:
            text += " (approximate, from a p-value)"
        return cls, text
    p = row.get("p_value")
    if not _isfinite(p):
        return NO_DATA, "no effect or p-value"
    p = float(p)
    qualifier = str(row.get("p_qualifier") or "=").strip()
    direction = str(row.get("direction") or "").strip()
    text = f"p {qualifier} {p:g}" + (f", {direction.replace('_', ' ')}" if direction else "")
    significant = (qualifier in ("=", "<", "<=") and p < alpha) or (qualifier in ("<", "<=") and p <= alpha)
    if qualifier in (">", ">="):
        significant = False
    if not significant:
        return NO_CLEAR_DIFFERENCE, text
    if direction == "favours_intervention":
        return SMALL_BENEFIT, text + " (significant; size unknown)"
    if direction == "favours_control":
        return HARM, text
    return NO_DATA, text + " (direction not reported)"


def _weeks_after(row: Mapping) -> float | None:
    for col in ("weeks_after_treatment", "weeks_after"):
        if _isfinite(row.get(col)):
            return float(row[col])
    tp, tw = row.get("timepoint_weeks"), row.get("treatment_weeks")
    if _isfinite(tp) and _isfinite(tw):
        return float(tp) - float(tw)
    return None


END_OF_TREATMENT, AFTER_TREATMENT = "end_of_treatment", "after_treatment"


def _phase(row: Mapping) -> str:
    """``end_of_treatment`` (less than 1 week after the last session) or ``after_treatment``; from
    ``weeks_after_treatment`` (or ``timepoint_weeks - treatment_weeks``), else from the window."""
    wa = _weeks_after(row)
    if wa is not None:
        return END_OF_TREATMENT if wa < 1 else AFTER_TREATMENT
    return END_OF_TREATMENT if str(row.get("window")) == "immediate" else AFTER_TREATMENT


def check_trial_result(claim: Claim, trials=None, *, mid: float | None = None, **_) -> Verdict:
    """A claim about what one trial found (e.g. "a 2023 trial found a short-term effect, and no
    long-term benefit eight weeks after treatment stopped").

    Parameters read from the claim: ``study_id`` (required), ``comparison_id`` (optional filter),
    ``expected`` (mapping phase or window -> ``benefit`` / ``no_difference``; default
    ``end_of_treatment: benefit, after_treatment: no_difference``, phases from
    ``weeks_after_treatment``: under 1 week = end of treatment), ``article_weeks_after_treatment``
    (the delay the article states for the later assessment).

    Rule: each expected phase (or window) with rows agrees when every row there shows the expected
    class (from the effect and its CI, or from the reported p-value and direction at alpha 0.05),
    and disagrees otherwise; phases without rows are untested. When the article's stated delay
    differs from the data's, the timing sub-claim is reported as open in the reason (the records
    flag the trial's wording as ambiguous), not counted against the claim.
    """
    require_claim(claim)
    mid = _mid(claim, mid)
    study = claim.params.get("study_id") or claim.params.get("study")
    if not study:
        return Verdict(claim.id, "trial_result", INSUFFICIENT, "the claim record names no study_id to check")
    df = trials if trials is not None else pd.DataFrame()
    _check_frame(df, "trials", ["study_id"])
    rows = df[df["study_id"].astype(str) == str(study)] if len(df) else df
    if len(rows):
        rows = _filter(rows, "outcome", claim.outcomes)
        rows = _filter(rows, "comparator_class", claim.comparator_classes)
        comparison = claim.params.get("comparison_id")
        if comparison and "comparison_id" in rows.columns:
            rows = rows[rows["comparison_id"].astype(str) == str(comparison)]
    expected = claim.params.get("expected") or {END_OF_TREATMENT: "benefit", AFTER_TREATMENT: "no_difference"}
    by_phase = any(k in (END_OF_TREATMENT, AFTER_TREATMENT) for k in expected)
    parts, lines = [], []
    for key, want in expected.items():
        if by_phase:
            sel = [r for r in _rows(rows) if _phase(r) == key]
        else:
            sel = [r for r in _rows(rows) if str(r.get("window")) == str(key)]
        found = []
        for r in sorted(sel, key=lambda r: float(r.get("timepoint_weeks") or 0)):
            cls, text = _trial_row_class(r, mid)
            if cls == NO_DATA:
                continue
            ok = (cls in BENEFIT_CLASSES) if want == "benefit" else (cls == NO_CLEAR_DIFFERENCE)
            found.append(ok)
            when = f"week {float(r['timepoint_weeks']):g}" if _isfinite(r.get("timepoint_weeks")) else str(r.get("window"))
            wa = _weeks_after(r)
            if wa is not None:
                when += f", {wa:g} weeks after the last session"
            comp = _comparison_words(_comparison(r))
            lines.append(f"{r.get('outcome')}, {comp} ({key.replace('_', ' ')}, {when}): {text} -> {cls}; expected {want.replace('_', ' ')}")
        if found:
            parts.append((key, AGREES if all(found) else DISAGREES))
    verdict = combine([p[1] for p in parts])
    reason = f"{study}: " + (" | ".join(lines) if lines else "no rows of this study in the data")
    stated = claim.params.get("article_weeks_after_treatment")
    if _isfinite(stated) and len(rows):
        later = sorted({w for w in (_weeks_after(r) for r in _rows(rows)) if w is not None and w >= 1})
        if later and all(abs(w - float(stated)) > 0.5 for w in later):
            reason += (
                f". Timing sub-claim open: the article says {float(stated):g} weeks after treatment stopped; the data's later "
                f"assessment is {', '.join(f'{w:g}' for w in later)} week(s) after the last session"
            )
        elif later:
            reason += f". Timing: the later assessment is {', '.join(f'{w:g}' for w in later)} week(s) after the last session, as the article says"
    comps = sorted({str(c) for c in rows["comparator_class"]}) if len(rows) and "comparator_class" in rows.columns else []
    if comps:
        reason += ". Comparator(s): " + ", ".join(COMPARATOR_LABELS.get(c, c) for c in comps)
    ns = []
    if len(rows) and {"n1", "n2"} <= set(rows.columns):
        ns = sorted({(int(a), int(b)) for a, b in zip(rows["n1"], rows["n2"]) if _isfinite(a) and _isfinite(b)})
    if ns:
        reason += "; arm sizes " + ", ".join(f"{a} vs {b}" for a, b in ns)
    evidence = tuple((FOR if "; expected " in ln and _line_agrees(ln) else AGAINST, ln) for ln in lines)
    bits = []
    for key, outcome in parts:
        bits.append(f"{key.replace('_', ' ')} {'as claimed' if outcome == AGREES else 'not as claimed'}")
    size = f" ({ns[0][0]} vs {ns[0][1]} patients)" if ns else ""
    summary = (f"{verdict.capitalize()}: {study}{size}: " + ("; ".join(bits) if bits else "no usable rows") + ".")
    if "Timing sub-claim open" in reason:
        summary += " The article's timing differs from the trial's."
    return Verdict(claim.id, "trial_result", verdict, reason, tuple(parts), summary=summary, evidence=evidence)
