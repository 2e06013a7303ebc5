"""Checking a text's claims against the pooled evidence, with computed verdicts.

``load_claims`` reads ``evidence/claims.yaml``; ``evaluate_claims`` runs each claim's check
(pure functions of the pooled frame, trial rows, published reviews and the SoF draft) and returns
one row per claim with ``verdict`` (supported / contradicted / mixed / insufficient evidence) and a
``reason`` citing the numbers.
"""

from trialsynth.claims.effects import (
    DEFAULT_MID_SMD,
    MID_SOURCE,
    SCALE_MIDS,
    classify_effect,
)
from trialsynth.claims.records import (
    CHECK_KINDS,
    Claim,
    claims_from_records,
    load_claims,
)
from trialsynth.claims.summary import evidence_grid, evidence_pattern, summarise_article
from trialsynth.claims.verdicts import (
    CONTRADICTED,
    INSUFFICIENT,
    MIXED,
    SUPPORTED,
    VERDICTS,
    Verdict,
    combine,
    evaluate_claim,
    evaluate_claims,
    normalise_reviews,
)

__all__ = [
    "CHECK_KINDS", "CONTRADICTED", "Claim", "DEFAULT_MID_SMD", "INSUFFICIENT", "MID_SOURCE", "MIXED", "SCALE_MIDS",
    "SUPPORTED", "VERDICTS", "Verdict", "claims_from_records", "classify_effect", "combine", "evaluate_claim",
    "evaluate_claims", "evidence_grid", "evidence_pattern", "load_claims", "normalise_reviews", "summarise_article",
]
