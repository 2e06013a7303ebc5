"""Verdicts on claims: pure functions over the pooled frame, trial rows and published reviews.

Each check returns a :class:`Verdict` whose ``verdict`` is one of

* ``supported``: every evaluable part of the claim agrees with the data;
* ``contradicted``: every evaluable part disagrees;
* ``mixed``: some parts agree and some disagree (the reason says which);
* ``insufficient evidence``: nothing in the data can test the claim.

and whose ``reason`` cites the numbers (pooled estimates with CI, PI, k and I2; trial rows with
their p-values; published estimates from ``data/reviews.csv``). Inputs are DataFrames:

``pooled``
    :meth:`trialsynth.pooling.grouped.GroupedResults.to_frame` (columns ``outcome``,
    ``comparator_class``, ``window``, ``k``, ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``,
    ``pi_high``, ``i2``, ``measure``...), optionally with a ``condition`` column.
``trials``
    trial rows (:func:`trialsynth.effects.records.effects_from_trials` output, or the raw rows):
    ``study_id``, ``outcome``, ``comparator_class``, ``window``, and ``yi``/``vi`` or
    ``p_value``/``p_qualifier``/``direction``.
``reviews``
    ``data/reviews.csv`` (see :func:`normalise_reviews` for the columns recognised).
``sof``
    a summary-of-findings draft (:func:`trialsynth.grade.draft_sof`) with ``certainty``.

The checks live in one module per kind of claim: :mod:`~trialsynth.claims.common` (what they
share), :mod:`~trialsynth.claims.check_mixed` (the pattern across cells: mixed results,
durability), :mod:`~trialsynth.claims.check_trial` (one trial's result),
:mod:`~trialsynth.claims.check_pooled` (pooled effects, published reviews, certainty) and
:mod:`~trialsynth.claims.check_sources` (statements, documentary facts, research needed). This
module runs them by name (:data:`CHECKS`) and re-exports their names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialsynth.claims.check_mixed import (
    _explain_pattern,
    check_durability,
    check_mixed_results,
)
from trialsynth.claims.check_pooled import (
    STATEMENT_EFFECTS,
    UNKNOWN_WINDOW_NOTE,
    _cell_key,
    _certainty_lookup,
    _judge_certainty_statement,
    _statement_backed,
    _statement_for,
    _statement_key,
    _statements,
    check_certainty,
    check_pooled_effect,
    check_review_result,
)
from trialsynth.claims.check_sources import (
    _same_value,
    check_documentary,
    check_research_needed,
    check_source_statement,
)
from trialsynth.claims.check_trial import (
    AFTER_TREATMENT,
    END_OF_TREATMENT,
    _phase,
    _trial_row_class,
    _weeks_after,
    check_trial_result,
)
from trialsynth.claims.common import (
    _RANGE_DEPENDENT,
    _REVIEW_ALIASES,
    _STANCE,
    AGAINST,
    AGREES,
    COMPARATOR_LABELS,
    CONDITION_LABELS,
    CONTRADICTED,
    DISAGREES,
    EARLY_WINDOWS,
    FOR,
    IMPRECISE_NOTE,
    INSUFFICIENT,
    LATE_WINDOWS,
    MIXED,
    NOT_TESTED,
    SUPPORTED,
    UNTESTED,
    VERDICTS,
    WINDOW_ORDER,
    Verdict,
    _cell_name,
    _check_frame,
    _classify_row,
    _comparison,
    _comparison_words,
    _depends,
    _depends_note,
    _describe_review,
    _empty_pooled,
    _filter,
    _first_sentence,
    _isfinite,
    _judge_effect,
    _line_agrees,
    _mid,
    _norm_certainty,
    _norm_text,
    _oriented,
    _rows,
    _scale_range,
    _select_pooled,
    _select_reviews,
    _short_list,
    _stanced,
    _too_imprecise,
    _window_known,
    _window_rank,
    combine,
    describe_pooled_row,
    normalise_reviews,
    row_mid,
)
from trialsynth.claims.records import Claim, require_claim

CHECKS = {
    "mixed_results": check_mixed_results,
    "durability": check_durability,
    "trial_result": check_trial_result,
    "pooled_effect": check_pooled_effect,
    "review_result": check_review_result,
    "certainty": check_certainty,
    "source_statement": check_source_statement,
    "documentary": check_documentary,
    "research_needed": check_research_needed,
}


def evaluate_claim(claim: Claim, *, pooled=None, trials=None, reviews=None, sof=None, mid: float | None = None, subset_pooled=None,
                   quotes: Mapping[str, str] | None = None, information: pd.DataFrame | None = None,
                   durability=None) -> Verdict:
    """Run the claim's check; a claim with no known check gets ``insufficient evidence`` saying so.
    ``durability``: the joint models of every follow-up, outcome -> Durability
    (:func:`trialsynth.report.stages.durability_stage`); the claims about how long the effect
    lasts read them too (:mod:`trialsynth.claims.durability`)."""
    from trialsynth.claims.durability import with_joint_model

    require_claim(claim)
    func = CHECKS.get(claim.check)
    if func is None:
        return Verdict(claim.id, claim.check or "none", INSUFFICIENT, f"no automatic check for this claim (check {claim.check or 'not named'!r}; known: {', '.join(CHECKS)})")
    verdict = func(claim, pooled=pooled, trials=trials, reviews=reviews, sof=sof, mid=mid, subset_pooled=subset_pooled,
                   quotes=quotes, information=information, durability=durability)
    return with_joint_model(verdict, claim, durability) if durability is not None else verdict


def evaluate_claims(claims: Sequence[Claim], *, pooled=None, trials=None, reviews=None, sof=None, mid: float | None = None,
                    subset_pooled: Mapping[str, pd.DataFrame] | None = None, quotes: Mapping[str, str] | None = None,
                    information: pd.DataFrame | None = None, durability=None) -> pd.DataFrame:
    """One row per claim: ``claim_id``, ``check``, ``verdict``, ``reason``, ``article_text``,
    ``outcome``, ``comparators``, ``windows``. ``subset_pooled`` maps a claim id to a re-pooling
    restricted as that claim says (see :func:`trialsynth.claims.analysis.claim_subsets`);
    ``information`` is the required information size and trial sequential analysis of every
    pooled cell (:func:`trialsynth.grade.information_size.assess_cells`); ``durability`` the joint
    models of every follow-up per outcome (the durability claims read their contrasts and curves)."""
    rows = []
    for claim in claims:
        v = evaluate_claim(claim, pooled=pooled, trials=trials, reviews=reviews, sof=sof, mid=mid,
                           subset_pooled=(subset_pooled or {}).get(claim.id), quotes=quotes, information=information,
                           durability=durability)
        rows.append({
            "claim_id": claim.id,
            "check": v.check,
            "verdict": v.verdict,
            "reason": v.reason,
            "summary": v.summary or _first_sentence(v.verdict, v.reason),
            "evidence_for": v.evidence_for(),
            "evidence_against": v.evidence_against(),
            "evidence_untested": v.evidence_untested(),
            "depends_on_method": bool(v.method_dependent),
            "method_dependent": list(v.method_dependent),
            "article_text": claim.text,
            "outcome": ", ".join(claim.outcomes),
            "comparators": ", ".join(claim.comparator_classes),
            "windows": ", ".join(claim.windows),
        })
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


#: the columns of :func:`evaluate_claims`
VERDICT_COLUMNS = ["claim_id", "check", "verdict", "reason", "summary", "evidence_for", "evidence_against", "evidence_untested",
                   "depends_on_method", "method_dependent", "article_text", "outcome", "comparators", "windows"]

#: every name of the check modules, re-exported (callers import them from here)
__all__ = [
    "SUPPORTED",
    "CONTRADICTED",
    "MIXED",
    "INSUFFICIENT",
    "VERDICTS",
    "EARLY_WINDOWS",
    "LATE_WINDOWS",
    "WINDOW_ORDER",
    "COMPARATOR_LABELS",
    "CONDITION_LABELS",
    "AGREES",
    "DISAGREES",
    "UNTESTED",
    "FOR",
    "AGAINST",
    "NOT_TESTED",
    "_STANCE",
    "Verdict",
    "_first_sentence",
    "_stanced",
    "_depends",
    "_depends_note",
    "_comparison",
    "_comparison_words",
    "_cell_name",
    "combine",
    "_empty_pooled",
    "_check_frame",
    "_REVIEW_ALIASES",
    "normalise_reviews",
    "_filter",
    "_select_pooled",
    "_window_rank",
    "describe_pooled_row",
    "_isfinite",
    "_RANGE_DEPENDENT",
    "_scale_range",
    "row_mid",
    "_oriented",
    "_classify_row",
    "_too_imprecise",
    "_judge_effect",
    "IMPRECISE_NOTE",
    "_mid",
    "_rows",
    "_norm_certainty",
    "_select_reviews",
    "_describe_review",
    "_norm_text",
    "_short_list",
    "_line_agrees",
    "_window_known",
    "check_mixed_results",
    "_explain_pattern",
    "check_durability",
    "_trial_row_class",
    "_weeks_after",
    "END_OF_TREATMENT",
    "AFTER_TREATMENT",
    "_phase",
    "check_trial_result",
    "_certainty_lookup",
    "check_pooled_effect",
    "UNKNOWN_WINDOW_NOTE",
    "STATEMENT_EFFECTS",
    "_cell_key",
    "_statements",
    "_statement_key",
    "_statement_backed",
    "_statement_for",
    "_judge_certainty_statement",
    "check_review_result",
    "check_certainty",
    "check_source_statement",
    "check_documentary",
    "_same_value",
    "check_research_needed",
    "CHECKS",
    "VERDICT_COLUMNS",
    "evaluate_claim",
    "evaluate_claims",
]
