"""Claims about a pooled effect, a published review's result and the certainty of the evidence:
our re-pooling beside the published estimates, and certainty statements backed by quotes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialsynth.claims.common import (
    _STANCE,
    AGAINST,
    AGREES,
    CONDITION_LABELS,
    CONTRADICTED,
    DISAGREES,
    IMPRECISE_NOTE,
    INSUFFICIENT,
    MIXED,
    NOT_TESTED,
    SUPPORTED,
    UNTESTED,
    Verdict,
    _cell_name,
    _classify_row,
    _comparison,
    _depends,
    _describe_review,
    _filter,
    _judge_effect,
    _mid,
    _norm_certainty,
    _norm_text,
    _rows,
    _select_pooled,
    _select_reviews,
    _short_list,
    _stanced,
    _window_known,
    _window_rank,
    combine,
    describe_pooled_row,
    normalise_reviews,
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
from trialsynth.data.cells import as_add_on, cell_label
from trialsynth.errors import ArgumentError


def _certainty_lookup(sof, claim: Claim, row: Mapping) -> str | None:
    if sof is None or len(sof) == 0 or "certainty" not in sof.columns:
        return None
    m = sof
    for col in ("outcome", "comparator_class", "window"):
        if col in m.columns:
            m = m[m[col].astype(str) == str(row.get(col))]
    if "add_on" in m.columns and "add_on" in row:
        m = m[m["add_on"].map(as_add_on) == as_add_on(row.get("add_on"))]
    if claim.conditions and "condition" in m.columns:
        m = _filter(m, "condition", claim.conditions)
    if len(m) == 0:
        return None
    return str(m["certainty"].iloc[0])




def check_pooled_effect(claim: Claim, pooled=None, sof=None, reviews=None, *, mid: float | None = None,
                        quotes: Mapping[str, str] | None = None, **_) -> Verdict:
    """A claim that acupuncture has an effect in given windows, optionally "with moderate evidence".

    Parameters read from the claim: ``expected`` (``benefit``, default, or ``no_difference``),
    ``claimed_certainty`` (a certainty or list: ``high``, ``moderate``, ``low``, ``very low``),
    ``published_first`` (true: judge by the published estimates of ``data/reviews.csv`` that carry
    a certainty, and use our re-pooling with our GRADE draft only when there is none).

    Rule, per estimate the claim concerns (outcome x comparator x window): it agrees when its class
    matches ``expected`` (benefit = CI excludes 0 on acupuncture's side) and, when a certainty is
    claimed, its certainty is among the claimed ones; it disagrees otherwise. Untested (ignored by
    the verdict, but listed in the reason): an estimate without a certainty when a certainty is
    claimed, and an estimate whose CI holds both no effect and the MID (too imprecise to tell a
    benefit from none, :func:`_too_imprecise`).

    Two further rules:

    * a published estimate whose time point the source does not state (empty ``window``) cannot
      test a claim about particular windows: it is listed but untested;
    * ``certainty_statements`` (a list, see :func:`_judge_certainty_statement`) are a review's
      verbatim statement of certainty and direction for a cell when it prints no number we hold
      (e.g. "Low-certainty evidence: acupuncture offers greater pain relief in the immediate term
      ... compared to sham. However, the difference was not clinically significant."). Each is one
      part, judged like an estimate of that class and certainty, unless the same review's numeric
      estimate for the same cell is in ``reviews``: then the estimate is judged instead (the number
      decides the class) and, when it prints no certainty, carries the statement's level, named as
      such in the reason; the statement is not counted twice.

    When the parts disagree (verdict ``mixed``) the reason opens by naming which sources agree
    and which do not, so the disagreement between reviews is stated, not averaged away.
    """
    require_claim(claim)
    mid = _mid(claim, mid)
    want = str(claim.params.get("expected") or "benefit")
    claimed = claim.params.get("claimed_certainty")
    if isinstance(claimed, str):
        claimed = [claimed]
    claimed_set = {_norm_certainty(c) for c in (claimed or [])}
    candidates = []  # (text, class, certainty or None, source)
    numeric_cells = set()  # (review_id, outcome, comparator, window) of published numeric estimates
    statements = _statements(claim, "certainty_statements")
    for r in _rows(_select_reviews(reviews, claim)):
        if _classify_row(r, mid) == NO_DATA:
            continue
        cert = r.get("certainty") if isinstance(r.get("certainty"), str) and r.get("certainty") else None
        text = f"published {r.get('review_id')}: {_describe_review(r, mid)}"
        if claim.windows and not _window_known(r.get("window")):
            candidates.append((text + UNKNOWN_WINDOW_NOTE.format(windows=", ".join(claim.windows)), NO_DATA, cert, "unplaced", r))
            continue
        numeric_cells.add(_cell_key(r))
        if cert is None:
            # the review's number is held but its certainty only in words: the backed statement supplies it
            st = _statement_for(statements, _cell_key(r), quotes)
            if st is not None:
                cert = str(st.get("certainty"))
                text += f" (certainty {cert} as stated in {st.get('quote')}" + (", a secondary report" if st.get("secondary") else "") + ")"
        candidates.append((text, _classify_row(r, mid), cert, "published", r))
    for r in sorted(_rows(_select_pooled(pooled, claim)), key=lambda r: (str(_comparison(r)), _window_rank(r.get("window")))):
        if _classify_row(r, mid) == NO_DATA:
            continue
        cert = _certainty_lookup(sof, claim, r)
        text = "our re-pooling: " + describe_pooled_row(r, mid=mid) + (f", draft GRADE certainty {cert}" if cert else "")
        candidates.append((text, _classify_row(r, mid), cert, "ours", r))
    if claim.params.get("published_first") and claimed_set:
        published = [c for c in candidates if c[3] == "published" and c[2]]
        if published:
            candidates = published + [c for c in candidates if c[3] == "ours"]
    parts, lines, labels = [], [], []
    for text, cls, cert, source, row in candidates:
        stated = text.rsplit("(certainty ", 1)[-1].split(")")[0] if " as stated in " in text else None
        labels.append(("our re-pooling" if source == "ours" else f"published {row.get('review_id')}")
                      + (f" (certainty {stated})" if stated else f" (certainty {cert})" if cert else ""))
        if source == "unplaced":
            parts.append((text, UNTESTED))
            lines.append(text)
            continue
        judged = _judge_effect(row, cls, want, mid)
        if judged == AGREES and cls == SMALL_BENEFIT:
            text += " [statistically clear but below the MID]"
        if judged == UNTESTED:
            outcome = UNTESTED
            text += IMPRECISE_NOTE
        elif judged == DISAGREES:
            outcome = DISAGREES
        elif claimed_set and cert is None:
            outcome = UNTESTED
            text += " (no certainty rating)"
        elif claimed_set and _norm_certainty(cert) not in claimed_set:
            outcome = DISAGREES
            text += f" (claimed: {' or '.join(sorted(claimed_set))})"
        else:
            outcome = AGREES
        parts.append((text, outcome))
        lines.append(text)
    for st in statements:
        text, outcome = _judge_certainty_statement(st, claim, quotes, want, claimed_set, numeric_cells)
        if outcome is None:
            continue
        parts.append((text, outcome))
        lines.append(text)
        labels.append(f"{st.get('review_id') or str(st.get('quote')).split('#')[0]} as stated in {st.get('quote')}"
                      + (f" (certainty {st.get('certainty')}, {str(st.get('effect')).replace('_', ' ')})" if st.get("certainty") else ""))
    verdict = combine([p[1] for p in parts])
    head = ""
    if verdict == MIXED:
        head = ("the sources disagree. Agreeing: " + "; ".join(lab for lab, (_t, o) in zip(labels, parts) if o == AGREES)
                + ". Disagreeing: " + "; ".join(lab for lab, (_t, o) in zip(labels, parts) if o == DISAGREES) + ". Details: ")
    reason = (f"expected {want.replace('_', ' ')}" + (f" with {' or '.join(sorted(claimed_set))} certainty" if claimed_set else "") + f" (MID {mid:g}): "
              + head + (" | ".join(lines) if lines else "no estimate for this outcome, comparator and window"))
    evidence = _stanced((o, t) for t, o in parts)
    agree = [lab for lab, (_t, o) in zip(labels, parts) if o == AGREES]
    disagree = [lab for lab, (_t, o) in zip(labels, parts) if o == DISAGREES]
    if verdict == MIXED:
        summary = f"Mixed. For: {_short_list(agree)}. Against: {_short_list(disagree)}."
    elif verdict == SUPPORTED:
        summary = f"Supported by {_short_list(agree)}."
    elif verdict == CONTRADICTED:
        summary = f"Contradicted by {_short_list(disagree)}."
    else:
        summary = "Insufficient evidence: no estimate could test the claim."
    unstable = tuple(_cell_name(r) for *_x, source, r in candidates if source == "ours" and _depends(r))
    if unstable:
        summary += f" Our re-pooling of {', '.join(unstable)} depends on the method profile."
    return Verdict(claim.id, "pooled_effect", verdict, reason, tuple(parts), summary=summary, evidence=evidence,
                   method_dependent=unstable)


UNKNOWN_WINDOW_NOTE = " (time point not stated by the source: cannot test a claim about the {windows} window; not counted)"

#: what a certainty statement may say of the effect, and the class it stands for
STATEMENT_EFFECTS = {
    "benefit": UNSIZED_BENEFIT,                # better than the comparator, size not stated
    "important_benefit": IMPORTANT_BENEFIT,    # better, and said to be clinically important
    "small_benefit": SMALL_BENEFIT,            # better, but said not to be clinically important
    "no_difference": NO_CLEAR_DIFFERENCE,      # no (significant / superior) difference
    "harm": HARM,
}




def _cell_key(row: Mapping) -> tuple[str, str, str, str]:
    return tuple(str(row.get(c) or "") for c in ("review_id", "outcome", "comparator_class", "window"))


def _statements(claim: Claim, key: str) -> list[Mapping]:
    items = claim.params.get(key) or []
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, Mapping) for i in items):
        raise ArgumentError(f"{key}: expected a list of mappings (quote, contains, certainty, effect, cell), got {items!r}")
    return list(items)


def _statement_key(st: Mapping) -> tuple[str, str, str, str]:
    cell = st.get("cell") if isinstance(st.get("cell"), Mapping) else {}
    review = str(st.get("review_id") or str(st.get("quote") or "").split("#", 1)[0])
    return (review, str(cell.get("outcome") or ""), str(cell.get("comparator_class") or ""), str(cell.get("window") or ""))


def _statement_backed(st: Mapping, quotes: Mapping[str, str] | None) -> bool:
    ref, words = str(st.get("quote") or ""), str(st.get("contains") or "")
    return bool(quotes) and ref in quotes and bool(words) and _norm_text(words) in _norm_text(quotes[ref])


def _statement_for(statements: Sequence[Mapping], key: tuple, quotes: Mapping[str, str] | None) -> Mapping | None:
    """The backed certainty statement of the same review for the same cell, if any."""
    for st in statements:
        if _statement_key(st) == key and st.get("certainty") and _statement_backed(st, quotes):
            return st
    return None


def _judge_certainty_statement(st: Mapping, claim: Claim, quotes: Mapping[str, str] | None, want: str,
                               claimed_set: set[str], numeric_cells: set) -> tuple[str, str | None]:
    """(reason text, AGREES / DISAGREES / UNTESTED, or None when the statement is about another cell).

    A statement is ``{quote: "<source>#<Qid>", contains: "<words of the quote>", review_id,
    certainty, effect, cell: {outcome, comparator_class, window}, graded_with, secondary}``:
    ``effect`` is one of :data:`STATEMENT_EFFECTS` (what the quoted words say of the effect),
    ``certainty`` the level the words state, ``graded_with`` ``GRADE`` when the source says the
    level is a GRADE rating, ``secondary`` true when the quote is another author's report of the
    review. Rule: untested when the quote is not in the evidence base or does not print
    ``contains`` (a record that does not back the statement is never used), or when the same
    review's numeric estimate for the cell is present (that estimate is judged instead, with this
    statement's certainty if it prints none); otherwise it agrees when the effect matches
    ``expected`` and (if a certainty is claimed) the level is among the claimed ones.
    """
    cell = st.get("cell") or {}
    if not isinstance(cell, Mapping):
        raise ArgumentError(f"certainty_statements: 'cell' must be a mapping, got {cell!r}")
    for key, allowed in (("outcome", claim.outcomes), ("comparator_class", claim.comparator_classes), ("window", claim.windows)):
        value = cell.get(key)
        if value is not None and allowed and str(value) not in allowed:
            return "", None
    effect = str(st.get("effect") or "")
    if effect not in STATEMENT_EFFECTS:
        raise ArgumentError(f"certainty_statements: effect must be one of {', '.join(STATEMENT_EFFECTS)}, got {effect!r}")
    ref, words = str(st.get("quote") or ""), str(st.get("contains") or "")
    review = str(st.get("review_id") or ref.split("#", 1)[0])
    cert = st.get("certainty")
    where = ", ".join(str(cell.get(k)) for k in ("outcome", "comparator_class", "window") if cell.get(k))
    graded = str(st.get("graded_with") or "not stated")
    label = (f"statement {ref} ({review}" + ("; a secondary report" if st.get("secondary") else "") + ")")
    text = (f"{label}: {where}: {effect.replace('_', ' ')}, certainty {cert or 'not stated'}"
            + ("" if graded.upper() == "GRADE" else f" (grading method {graded})"))
    quotes = quotes or {}
    if ref not in quotes:
        return text + " (quote not in the evidence base; not counted)", UNTESTED
    if not words or _norm_text(words) not in _norm_text(quotes[ref]):
        return text + f" (the quote does not print \"{words}\"; not counted)", UNTESTED
    if _statement_key(st) in numeric_cells:
        return text + " (the same review's numeric estimate for this cell is judged instead; not counted twice)", UNTESTED
    cls = STATEMENT_EFFECTS[effect]
    effect_ok = (cls in BENEFIT_CLASSES) if want == "benefit" else (cls == NO_CLEAR_DIFFERENCE)
    if not effect_ok:
        return text + f" (expected {want.replace('_', ' ')})", DISAGREES
    if cls == SMALL_BENEFIT:
        text += " [a benefit, but not clinically important]"
    if claimed_set:
        if not cert:
            return text + " (no certainty stated)", UNTESTED
        if _norm_certainty(cert) not in claimed_set:
            return text + f" (claimed: {' or '.join(sorted(claimed_set))})", DISAGREES
    return text, AGREES






def check_review_result(claim: Claim, reviews=None, pooled=None, *, mid: float | None = None, subset_pooled=None, **_) -> Verdict:
    """A claim about what a published review found (e.g. "a 2019 review found benefits last until
    the next follow-up with 1-3 sessions a week").

    Parameters read from the claim: ``review_id`` (the id in ``data/reviews.csv``), ``expected``
    (``benefit`` default or ``no_difference``), ``review_timepoints`` (the review's own time-point
    labels, e.g. ``follow-up``), ``unverifiable`` (parts of the claim no source could confirm).

    Rule: each matching published estimate agrees when its class matches ``expected``; when
    ``subset_pooled`` is given (our re-pooling restricted as the claim says, e.g. to trials with 1-3
    sessions a week) each of its estimates in the claim's windows is a further part. Parts the
    record lists as ``unverifiable`` are named in the reason; they cannot raise the verdict.
    """
    require_claim(claim)
    mid = _mid(claim, mid)
    want = str(claim.params.get("expected") or "benefit")
    review_id = claim.params.get("review_id")
    rows = [r for r in _rows(_select_reviews(reviews, claim, review_id)) if _classify_row(r, mid) != NO_DATA]
    parts, lines, labels = [], [], []
    for r in rows:
        judged = _judge_effect(r, _classify_row(r, mid), want, mid)
        parts.append(("review", judged))
        labels.append(f"{r.get('review_id')}'s {r.get('outcome')} estimate "
                      + (f"({r.get('window')})" if _window_known(r.get("window")) else "(time point not placed in a window)"))
        lines.append(f"published {r.get('review_id')}: {_describe_review(r, mid)}"
                     + (IMPRECISE_NOTE if judged == UNTESTED else ""))
    if subset_pooled is not None:
        sub = [r for r in _rows(_select_pooled(subset_pooled, claim)) if _classify_row(r, mid) != NO_DATA]
        if claim.windows:
            lines.append("our re-pooling is restricted as the claim says and read in the window(s) "
                         + ", ".join(claim.windows))
        for r in sub:
            judged = _judge_effect(r, _classify_row(r, mid), want, mid)
            parts.append(("re-pooled", judged))
            labels.append(f"our re-pooling ({r.get('window')})")
            lines.append("our re-pooling of the matching trials: " + describe_pooled_row(r, mid=mid)
                         + (IMPRECISE_NOTE if judged == UNTESTED else ""))
    verdict = combine([p[1] for p in parts])
    if not rows:
        tested = sum(1 for p in parts if p[1] in (AGREES, DISAGREES))
        lines.insert(0, f"no published estimate for {review_id or 'this claim'} in reviews.csv"
                     + (f", so the verdict rests on our re-pooling alone ({tested} estimate(s) of the trials we hold), "
                        "not on what the review itself found" if tested else ""))
        if claim.params.get("require_review") and verdict in (SUPPORTED, MIXED):
            # the claim is about what the review found: our data can contradict its substance but not confirm the review
            verdict = INSUFFICIENT
            lines.append("the claim is about the review's finding, which our re-pooling alone cannot confirm")
    unverifiable = claim.params.get("unverifiable")
    if unverifiable:
        items = [unverifiable] if isinstance(unverifiable, str) else list(unverifiable)
        lines.append("not checkable from any source reached: " + "; ".join(str(i) for i in items))
        if verdict == SUPPORTED:
            lines.append("so the claim is supported only as far as the checkable part goes")
    head = ""
    if verdict == MIXED:
        head = ("the parts disagree. Agreeing: " + "; ".join(lab for lab, p in zip(labels, parts) if p[1] == AGREES)
                + ". Disagreeing: " + "; ".join(lab for lab, p in zip(labels, parts) if p[1] == DISAGREES) + ". Details: ")
    reason = f"expected {want.replace('_', ' ')} (MID {mid:g}): " + head + " | ".join(lines)
    evidence = tuple((_STANCE.get(o, NOT_TESTED), lab) for lab, (_n, o) in zip(labels, parts))
    evidence += tuple((NOT_TESTED, ln) for ln in lines if ln.startswith(("not checkable", "no published")))
    agree = [lab for lab, p in zip(labels, parts) if p[1] == AGREES]
    disagree = [lab for lab, p in zip(labels, parts) if p[1] == DISAGREES]
    summary = {MIXED: f"Mixed. For: {_short_list(agree)}. Against: {_short_list(disagree)}.",
               SUPPORTED: f"Supported by {_short_list(agree)}.",
               CONTRADICTED: f"Contradicted by {_short_list(disagree)}.",
               INSUFFICIENT: "Insufficient evidence: the review's own estimate is not in the data."}[verdict]
    if unverifiable:
        summary += " Part of the claim is printed in no source reached."
    return Verdict(claim.id, "review_result", verdict, reason, tuple(parts), summary=summary, evidence=evidence)


def check_certainty(claim: Claim, sof=None, reviews=None, **_) -> Verdict:
    """A claim about the certainty of evidence (e.g. "low- to moderate-quality evidence for chronic,
    low-quality for acute low back pain").

    Parameter read from the claim: ``claimed_certainty``, a mapping condition -> certainty or list
    of certainties (or one value for every condition of the claim).

    Rule, per condition: collect the GRADE certainties of the SoF draft rows for that condition (and
    the outcome and comparators of the claim) and of the matching published estimates with a
    certainty; the condition agrees when all fall among the claimed levels, disagrees when none do,
    and is mixed when some do. No certainty for a condition: untested.
    """
    require_claim(claim)
    claimed = claim.params.get("claimed_certainty")
    if claimed is None:
        return Verdict(claim.id, "certainty", INSUFFICIENT, "the claim record states no claimed_certainty to check")
    if not isinstance(claimed, Mapping):
        claimed = {c: claimed for c in (claim.conditions or ("any",))}
    sof_df = sof if sof is not None else pd.DataFrame()
    rev = normalise_reviews(reviews)
    parts, lines = [], []
    for condition, levels in claimed.items():
        levels = [levels] if isinstance(levels, str) else list(levels)
        want = {_norm_certainty(x) for x in levels}
        found: list[tuple[str, str]] = []
        if len(sof_df) and "certainty" in sof_df.columns:
            m = _filter(sof_df, "outcome", claim.outcomes)
            m = _filter(m, "comparator_class", claim.comparator_classes)
            if condition != "any":
                m = m[m["condition"].astype(str) == str(condition)] if "condition" in m.columns else m.iloc[0:0]
            for r in _rows(m):
                found.append((f"our SoF {cell_label(r)}", str(r.get("certainty"))))
        if len(rev):
            m = rev[rev["certainty"].notna() & (rev["certainty"].astype(str) != "")]
            if condition != "any":
                m = m[m["condition"].astype(str) == str(condition)]
            m = _filter(m, "outcome", claim.outcomes) if claim.outcomes else m
            seen = set()
            for r in _rows(m):
                # one rating per review x outcome x comparator x window: the same result printed as an MD
                # and as an SMD (Mu 2020 Summary of findings 3) is one GRADE judgement, not two
                key = (_cell_key(r), _norm_certainty(r.get("certainty")))
                if key in seen:
                    continue
                seen.add(key)
                comp = r.get("comparator_class")
                found.append((f"published {r.get('review_id')} {r.get('outcome')}" + (f" vs {comp}" if isinstance(comp, str) else ""),
                              str(r.get("certainty"))))
        if not found:
            parts.append((condition, UNTESTED))
            lines.append(f"{condition}: no certainty rating in the data (claimed {', '.join(levels)})")
            continue
        hits = [_norm_certainty(c) in want for _, c in found]
        outcome = AGREES if all(hits) else (DISAGREES if not any(hits) else MIXED)
        parts.append((condition, outcome))
        lines.append(f"{condition}: claimed {' or '.join(levels)}; found " + "; ".join(f"{w}: {c}" for w, c in found))
    flat = []
    for _, o in parts:
        flat.extend([AGREES, DISAGREES] if o == MIXED else [o])
    verdict = combine(flat)
    evidence = tuple((_STANCE.get(o, AGAINST if o == MIXED else NOT_TESTED), ln) for (_c, o), ln in zip(parts, lines))
    summary = f"{verdict.capitalize()}: " + "; ".join(
        f"{CONDITION_LABELS.get(c, c)}: {'rated as claimed' if o == AGREES else 'partly as claimed' if o == MIXED else 'not as claimed' if o == DISAGREES else 'no rating found'}"
        for c, o in parts) + "."
    return Verdict(claim.id, "certainty", verdict, " | ".join(lines), tuple(parts), summary=summary, evidence=evidence)
