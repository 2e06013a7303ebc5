"""Claim records: the article's checkable statements, read from ``evidence/claims.yaml``.

A record names the article's words, what the claim is about (outcome, comparator classes,
condition, time windows) and which *check* tests it. The loader accepts the spellings an
extractor is likely to use (``article_text`` or ``text``, ``comparators`` or
``comparator_classes``, ``check`` or ``kind``...) and keeps every other key in
:attr:`Claim.params`, where the checks read their own parameters (``expected``,
``claimed_certainty``, ``article_values``, ``source_values``, ``review_id``, ``study_id``,
``sessions_per_week``...).

YAML is read with ``yaml.safe_load`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialsynth.errors import ArgumentError, Problem, TrialDataError

#: canonical check kinds and the spellings accepted for each
CHECK_KINDS: dict[str, tuple[str, ...]] = {
    "mixed_results": ("mixed_results", "pooled_effect_pattern", "mixed", "mixed_across_comparators", "heterogeneity_across_comparators", "consistency"),
    "durability": ("durability", "short_vs_long", "short_term_only", "temporary_effect", "duration"),
    "trial_result": ("trial_result", "single_trial", "trial", "trial_finding"),
    "pooled_effect": ("pooled_effect", "effect", "immediate_effect", "effect_with_certainty", "pooled"),
    "review_result": ("review_result", "review", "published_review", "review_finding"),
    "certainty": ("certainty", "evidence_level", "certainty_by_condition", "grade", "quality_of_evidence"),
    "source_statement": ("source_statement", "statement", "quote_check"),
    "documentary": ("documentary", "external", "coverage", "source_fact", "document", "policy", "fact"),
    "research_needed": ("research_needed", "more_research", "information_size", "more_research_needed"),
}
_KIND_BY_ALIAS = {alias: kind for kind, aliases in CHECK_KINDS.items() for alias in aliases}

_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "claim_id"),
    "text": ("article_text", "article_words", "text", "words", "quote", "claim"),
    "check": ("check", "kind", "check_kind", "test", "analysis"),
    "outcome": ("outcome", "outcomes"),
    "comparator_classes": ("comparator_classes", "comparator_class", "comparators", "comparator"),
    "conditions": ("conditions", "condition"),
    "windows": ("windows", "window", "time_windows"),
    "rules": ("rules", "decision_rules", "decision"),
}


@dataclass(frozen=True)
class Claim:
    """One checkable claim.

    Attributes
    ----------
    id : str
    text : str
        The article's words.
    check : str
        One of :data:`CHECK_KINDS` (``""`` when the record names none and none can be inferred).
    outcomes, comparator_classes, conditions, windows : tuple of str
        What the claim concerns; empty = any.
    rules : dict
        The record's decision rules as written (``supported``, ``contradicted``, ``open``...).
    params : dict
        Every other key of the record.
    """

    id: str
    text: str
    check: str
    outcomes: tuple[str, ...] = ()
    comparator_classes: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()
    rules: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return self.outcomes[0] if self.outcomes else "pain"


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
        return tuple(p for p in parts if p and p.lower() not in {"any", "all"})
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return (str(value),)


def _pick(record: Mapping, name: str) -> tuple[str | None, Any]:
    for key in _ALIASES[name]:
        if key in record:
            return key, record[key]
    return None, None


def normalise_check(value: Any) -> str:
    """The canonical check kind for a spelling, or ``""`` when unknown."""
    if value is None:
        return ""
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    return _KIND_BY_ALIAS.get(key, "")


def infer_check(params: Mapping, windows: tuple[str, ...], comparators: tuple[str, ...]) -> str:
    """Guess the check of a record that names none, from the parameters it carries."""
    if "article_values" in params or "source_values" in params:
        return "documentary"
    if "claimed_certainty" in params:
        return "certainty"
    if "study_id" in params or "study" in params:
        return "trial_result"
    if "review_id" in params:
        return "review_result"
    return ""


def _find(obj: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` anywhere in a nested mapping/list."""
    found = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if k == key:
                found.append(v)
            found.extend(_find(v, key))
    elif isinstance(obj, list):
        for v in obj:
            found.extend(_find(v, key))
    return found


def _adapt_decision(check: str, params: dict, rules: Mapping) -> str:
    """Read the parameters a check needs out of a record's structured ``decision.rule``.

    The evidence base writes decision rules as small mappings (``{cell: ..., benefit: true,
    certainty_in: [...]}``, ``{quote: SRC#Q1, contains: "..."}``); this maps them onto the checks'
    parameters so that the record, not the code, states what counts as support.
    """
    rule = rules.get("rule") if isinstance(rules, Mapping) else None
    if not isinstance(rule, Mapping):
        return check
    supported = rule.get("supported")
    if check == "certainty" and "claimed_certainty" not in params:
        levels = _find(supported, "certainty_in")
        if levels:
            params.setdefault("claimed_certainty", list(levels[0]))
            params.setdefault("published_first", True)
            return "pooled_effect"
    if check == "durability":
        review_ids = _find(supported, "review_id")
        if review_ids:
            params.setdefault("review_id", review_ids[0])
            params.setdefault("require_review", True)
            windows = _find(supported, "window_in")
            if windows:
                params.setdefault("review_windows", list(windows[0]))
            return "review_result"
    if check == "trial_result":
        at_least = _find(rule.get("timing"), "weeks_after_treatment_at_least")
        if at_least:
            params.setdefault("article_weeks_after_treatment", at_least[0])
        if _find(supported, "weeks_after_treatment") or _find(supported, "weeks_after_treatment_min"):
            params.setdefault("by_phase", True)
    if check == "source_statement":
        statements = [s for s in (supported.get("all", []) if isinstance(supported, Mapping) else []) if isinstance(s, Mapping) and "quote" in s]
        params.setdefault("statements", statements)
        cross = rule.get("cross_check")
        if isinstance(cross, Mapping):
            params.setdefault("cross_check", dict(cross))
    return check


def claim_from_record(record: Mapping, *, index: int = 0, file: str = "<claims>") -> Claim:
    """Build a :class:`Claim` from one mapping; raise :class:`TrialDataError` naming what is wrong.

    A nested ``concerns:`` mapping (outcome, comparator_class, condition, windows, study...) is
    read as if its keys were top-level; a structured ``decision.rule`` fills the check's
    parameters (see :func:`_adapt_decision`).
    """
    if not isinstance(record, Mapping):
        raise TrialDataError([Problem(file, None, None, repr(record)[:60], f"claim {index + 1}: expected a mapping of fields")])
    concerns = record.get("concerns")
    if isinstance(concerns, Mapping):
        record = {**{k: v for k, v in record.items() if k != "concerns"}, **{k: v for k, v in concerns.items() if k not in record}}
        if "study" in record and "study_id" not in record:
            record["study_id"] = record["study"]
    used: set[str] = set()
    values: dict[str, Any] = {}
    for name in _ALIASES:
        key, value = _pick(record, name)
        if key is not None:
            used.add(key)
        values[name] = value
    problems = []
    claim_id = values["id"]
    if not claim_id:
        problems.append(Problem(file, None, "id", None, f"claim {index + 1}: every claim needs an id"))
    text = values["text"]
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    if not text:
        problems.append(Problem(file, None, "article_text", None, f"claim {claim_id or index + 1}: the article's words are missing"))
    if problems:
        raise TrialDataError(problems)
    params = {k: v for k, v in record.items() if k not in used}
    comparators = _as_tuple(values["comparator_classes"])
    windows = _as_tuple(values["windows"])
    check = normalise_check(values["check"]) or infer_check(params, windows, comparators)
    rules = values["rules"]
    if isinstance(rules, str):
        rules = {"rule": rules}
    for key in ("supports", "supported", "support", "contradicts", "contradicted", "open", "leaves_open", "insufficient"):
        if key in params and isinstance(params[key], str):
            rules = {**(rules or {}), key: params[key]}
    check = _adapt_decision(check, params, rules or {})
    return Claim(
        id=str(claim_id),
        text=" ".join(str(text).split()),
        check=check,
        outcomes=_as_tuple(values["outcome"]),
        comparator_classes=comparators,
        conditions=_as_tuple(values["conditions"]),
        windows=windows,
        rules=dict(rules or {}),
        params=params,
    )


def claims_from_records(records: Any, *, file: str = "<claims>") -> list[Claim]:
    """Claims from a parsed YAML document: a list of records or a mapping with a ``claims`` list."""
    if isinstance(records, Mapping):
        if "claims" not in records:
            raise TrialDataError([Problem(file, None, "claims", None, "expected a top-level 'claims:' list")])
        records = records["claims"]
    if records is None:
        return []
    if not isinstance(records, list):
        raise TrialDataError([Problem(file, None, "claims", type(records).__name__, "expected a list of claim records")])
    claims = []
    problems = []
    for i, rec in enumerate(records):
        try:
            claims.append(claim_from_record(rec, index=i, file=file))
        except TrialDataError as exc:
            problems.extend(exc.items)
    seen: set[str] = set()
    for c in claims:
        if c.id in seen:
            problems.append(Problem(file, None, "id", c.id, "duplicate claim id"))
        seen.add(c.id)
    if problems:
        raise TrialDataError(problems)
    return claims


def load_claims(path: str | Path) -> list[Claim]:
    """Read ``evidence/claims.yaml`` (``yaml.safe_load``) into a list of :class:`Claim`.

    A missing file raises :class:`TrialDataError`; use :func:`claims_from_records` for data
    already in memory.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise TrialDataError([Problem(str(path), None, None, None, "claims file not found")])
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TrialDataError([Problem(str(path), None, None, None, f"not valid YAML: {exc}")]) from None
    return claims_from_records(doc, file=str(path))


def load_quotes(evidence_dir: str | Path) -> dict[str, str]:
    """Every verbatim quote of the evidence records, keyed ``"<source_id>#<quote id>"``.

    Reads ``evidence/*.yaml`` (except ``claims.yaml``) with ``yaml.safe_load``; a record's quotes
    are ``quotes: {Q1: {text: ...}}`` (or ``Q1: "text"``). A missing folder gives ``{}``.
    """
    import yaml

    out: dict[str, str] = {}
    folder = Path(evidence_dir)
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "claims.yaml":
            continue
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TrialDataError([Problem(str(path), None, None, None, f"not valid YAML: {exc}")]) from None
        source = str(doc.get("id") or path.stem) if isinstance(doc, Mapping) else path.stem
        quotes = doc.get("quotes") if isinstance(doc, Mapping) else None
        if not isinstance(quotes, Mapping):
            continue
        for qid, q in quotes.items():
            text = q.get("text") if isinstance(q, Mapping) else q
            if text is not None:
                out[f"{source}#{qid}"] = str(text)
    return out


def require_claim(claim: Any) -> Claim:
    if not isinstance(claim, Claim):
        raise ArgumentError(f"claim: expected a trialsynth.claims.Claim, got {type(claim).__name__}")
    return claim
