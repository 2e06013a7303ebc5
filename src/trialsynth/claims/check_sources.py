"""Claims checked against their sources' words (statements, documentary facts) and "more
research is needed" (:mod:`trialsynth.claims.research_needed`).
"""

from __future__ import annotations

from collections.abc import Mapping

from trialsynth.claims.common import (
    AGREES,
    DISAGREES,
    UNTESTED,
    Verdict,
    _isfinite,
    _norm_certainty,
    _norm_text,
    _rows,
    _stanced,
    combine,
    normalise_reviews,
)
from trialsynth.claims.records import Claim, require_claim
from trialsynth.errors import ArgumentError


def check_source_statement(claim: Claim, quotes: Mapping[str, str] | None = None, reviews=None, **_) -> Verdict:
    """A claim that restates a source (a guideline's evidence grades, a coverage rule).

    Parameters read from the claim: ``statements``, a list of ``{quote: "<source>#<Qid>",
    contains: "<words>"}``; optional ``cross_check: {cells: {condition: ...}, all_certainty_in:
    [...]}`` against the published certainties in ``data/reviews.csv``.

    Rule: each statement agrees when the verbatim quote contains the words (case and typographic
    quotes ignored), disagrees when the quote exists without them, and is untested when the quote is
    not in the evidence base. The cross-check, when present and when matching published rows
    exist, is one more part: it agrees when all their certainties are among the listed levels.
    """
    require_claim(claim)
    quotes = quotes or {}
    statements = claim.params.get("statements") or []
    parts, lines = [], []
    for st in statements:
        ref, words = str(st.get("quote")), str(st.get("contains"))
        if ref not in quotes:
            parts.append((ref, UNTESTED))
            lines.append(f"{ref}: quote not in the evidence base")
            continue
        ok = _norm_text(words) in _norm_text(quotes[ref])
        parts.append((ref, AGREES if ok else DISAGREES))
        lines.append(f"{ref} {'prints' if ok else 'does not print'} \"{words}\"")
    cross = claim.params.get("cross_check")
    if isinstance(cross, Mapping):
        levels = {_norm_certainty(x) for x in (cross.get("all_certainty_in") or [])}
        rev = normalise_reviews(reviews)
        cells = cross.get("cells") or {}
        m = rev[rev["certainty"].notna() & (rev["certainty"].astype(str) != "")]
        for col, val in (cells.items() if isinstance(cells, Mapping) else []):
            if col in m.columns:
                vals = [val] if isinstance(val, str) else list(val)
                m = m[m[col].astype(str).isin([str(v) for v in vals])]
        if len(m) and levels:
            found = [(r.get("review_id"), r.get("outcome"), r.get("comparator_class"), str(r.get("certainty"))) for r in _rows(m)]
            ok = all(_norm_certainty(c) in levels for *_x, c in found)
            parts.append(("cross-check", AGREES if ok else DISAGREES))
            lines.append(f"cross-check, published certainties for {cells}: " + "; ".join(f"{a} {b} vs {c}: {d}" for a, b, c, d in found)
                         + f" ({'all' if ok else 'not all'} within {', '.join(sorted(levels))})")
    verdict = combine([p[1] for p in parts])
    reason = " | ".join(lines) if lines else "the claim record lists no quoted statement to check"
    evidence = _stanced(zip([p[1] for p in parts], lines))
    n_ok = sum(1 for p in parts if p[1] == AGREES)
    summary = f"{verdict.capitalize()}: {n_ok} of {len(parts)} quoted statements say what the article says."
    return Verdict(claim.id, "source_statement", verdict, reason, tuple(parts), summary=summary, evidence=evidence)


def check_documentary(claim: Claim, **_) -> Verdict:
    """A claim about a document rather than trial data (e.g. Medicare's coverage rule).

    Parameters read from the claim: ``article_values`` (what the article states, a mapping) and
    ``source_values`` (what the quoted source states, same keys; ``source`` / ``quote_ids`` name it).
    Rule: each key present in both agrees when the values are equal; keys missing in the source
    are untested.
    """
    require_claim(claim)
    article = claim.params.get("article_values") or {}
    source = claim.params.get("source_values") or {}
    if not isinstance(article, Mapping) or not isinstance(source, Mapping):
        raise ArgumentError("article_values/source_values: expected mappings of the stated facts")
    parts, lines = [], []
    for key, stated in article.items():
        if key not in source:
            parts.append((key, UNTESTED))
            lines.append(f"{key}: article {stated!r}, not in the source")
            continue
        same = _same_value(stated, source[key])
        parts.append((key, AGREES if same else DISAGREES))
        lines.append(f"{key}: article {stated!r}, source {source[key]!r}" + ("" if same else " (differs)"))
    verdict = combine([p[1] for p in parts])
    where = claim.params.get("source") or claim.params.get("source_id") or ""
    quotes = claim.params.get("quote_ids")
    cite = f" [{where}{', quotes ' + str(quotes) if quotes else ''}]" if where or quotes else ""
    reason = ("; ".join(lines) if lines else "no stated values to compare") + cite
    evidence = _stanced(zip([p[1] for p in parts], lines))
    n_ok = sum(1 for p in parts if p[1] == AGREES)
    summary = f"{verdict.capitalize()}: {n_ok} of {len(parts)} stated facts match {where or 'the source'}."
    return Verdict(claim.id, "documentary", verdict, reason, tuple(parts), summary=summary, evidence=evidence)






def _same_value(a, b) -> bool:
    if _isfinite(a) and _isfinite(b):
        return abs(float(a) - float(b)) < 1e-9
    return str(a).strip().lower() == str(b).strip().lower()


def check_research_needed(claim: Claim, **kwargs) -> Verdict:
    """"More (high-quality) research is needed", judged per pooled cell of the claim's outcomes and
    comparators (:func:`trialsynth.claims.research_needed.check_research_needed`).

    Each cell has a required information size (participants to detect the MID with alpha 0.05 and
    power 80%, divided by 1 - D2) and a trial sequential analysis (Lan-DeMets O'Brien-Fleming
    boundaries over the cumulative z-curve; a sensitivity analysis). A cell is settled when a
    boundary is crossed, or the information size is reached, and the pooled CI decides the
    question against the MID; then the part disagrees with "more research is needed", unless
    every trial's risk of bias is entered and those at low risk fall short of the information
    size. Otherwise the part agrees. All parts agree -> supported; all disagree -> contradicted;
    both -> mixed; no computable information size -> insufficient evidence."""
    from trialsynth.claims.research_needed import check_research_needed as check

    return check(claim, **kwargs)
