"""Provenance checks: every number in the data files is printed in a quoted source.

The evidence base (``evidence/<source_id>.yaml``, format in ``evidence/README.md``) holds, per
source, verbatim quotes ``Qid -> {text, location, url}``. ``data/trials.csv`` and
``data/reviews.csv`` name, on every row, the record (``source_id``) and the quotes
(``quote_ids``) that print the row's numbers. The functions here check that mechanically:

* every numeric cell appears as a number token in one of the row's quotes (by absolute value;
  the sign of change scores and contrasts is a data-entry convention), or is recomputed from
  quoted numbers / other cells by the conversion named in the row's ``derived`` column;
* the direction of every row agrees with what its quotes state in words ("improved more in the
  acupuncture group") and in signed numbers ("difference −3.8 (95% CI −12.4 to 4.9)"), so that
  a sign slip, which the absolute-value match cannot see, is caught
  (:func:`trialsynth.data.direction.direction_problems`);
* every ``source_id`` has a record and every quote id exists in it;
* every record is well formed and used by some row or claim (no orphans).

All checks are pure functions over DataFrames and parsed YAML dicts and return a list of
:class:`trialsynth.errors.Problem` (empty = all good). File reading is confined to the thin
loaders at the end (:func:`load_records`, :func:`load_claims`, :func:`check_repository`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from trialsynth.data.direction import direction_problems
from trialsynth.errors import Problem, TrialDataError

__all__ = [
    "REVIEW_FILE",
    "CONVERSIONS",
    "PHRASE_CONVERSIONS",
    "ROW_CONVERSIONS",
    "SCALE_RANGES",
    "SHAM_TYPE_WORDS",
    "TRIAL_NUMERIC_COLUMNS",
    "REVIEW_NUMERIC_COLUMNS",
    "number_tokens",
    "normalise_source_ref",
    "parse_derived",
    "check_records",
    "check_identifiers",
    "check_trials",
    "check_reviews",
    "check_claims",
    "orphaned_records",
    "check_all",
    "combine_problems",
    "load_records",
    "load_claims",
    "check_repository",
]

#: numeric columns of ``data/trials.csv`` whose values must be printed in a quote
TRIAL_NUMERIC_COLUMNS: tuple[str, ...] = (
    "sessions", "sessions_per_week", "session_minutes", "treatment_weeks",
    "scale_min", "scale_max", "timepoint_weeks", "weeks_after_treatment",
    "n1", "mean1", "sd1", "se1", "ci_low1", "ci_high1",
    "n2", "mean2", "sd2", "se2", "ci_low2", "ci_high2",
    "events1", "events2", "baseline_mean1", "baseline_mean2",
    "effect", "effect_ci_low", "effect_ci_high", "effect_se",
    "p_value", "test_statistic",
)

#: numeric columns of ``data/reviews.csv`` whose values must be printed in a quote
REVIEW_NUMERIC_COLUMNS: tuple[str, ...] = (
    "estimate", "ci_low", "ci_high", "k", "n_participants", "i2", "scale_min", "scale_max",
)

#: standard ranges of the instruments named in ``scale`` (a property of the scale, not the trial)
SCALE_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "VAS": ((0, 100), (0, 10)),
    "NRS": ((0, 10),),
    "RMDQ": ((0, 24), (0, 23)),
    "ODI": ((0, 100),),
    "SF36_BP": ((0, 100),),
    "SF12_PCS": ((0, 100),),
    "HFAQ": ((0, 100),),
}

_NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "once": 1, "twice": 2,
}
_TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

# digits with optional thousands separators and decimals, or a bare leading-dot decimal (.036)
_NUMBER_RE = re.compile(r"(?<![0-9.])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)")
_WORD_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)?")


def number_tokens(text: str) -> set[Decimal]:
    """Unsigned numbers printed in ``text``.

    Digits (``28.7``, ``1,549`` -> 1549, ``.036`` -> 0.036, ``3.4%`` -> 3.4, a range
    ``13.9-30.0`` -> 13.9 and 30.0) and English number words (``three``, ``Twenty-four``,
    ``once``/``twice``). Signs are dropped: matching is by absolute value.
    """
    tokens: set[Decimal] = set()
    for match in _NUMBER_RE.finditer(text):
        tokens.add(Decimal(match.group(0).replace(",", "")))
    for match in _WORD_RE.finditer(text):
        word = match.group(0).lower()
        parts = word.split("-")
        if len(parts) == 2 and parts[0] in _TENS and parts[1] in _NUMBER_WORDS \
                and _NUMBER_WORDS[parts[1]] < 10:
            tokens.add(Decimal(_NUMBER_WORDS[parts[0]] + _NUMBER_WORDS[parts[1]]))
            continue
        for part in parts:
            if part in _NUMBER_WORDS:
                tokens.add(Decimal(_NUMBER_WORDS[part]))
    return tokens


def _close(a: Decimal, b: Decimal, tol: Decimal) -> bool:
    return abs(a - b) <= tol


# unary conversions: value is derived from one quoted number token
CONVERSIONS: dict[str, Callable[[Decimal, set[Decimal]], bool]] = {
    "negate": lambda v, toks: any(abs(v) == t for t in toks),
    "percent_to_proportion": lambda v, toks: any(abs(v) == t / 100 for t in toks),
    "months_to_weeks": lambda v, toks: any(
        _close(abs(v), t * 52 / 12, Decimal("0.05")) for t in toks),
    "days_to_weeks": lambda v, toks: any(_close(abs(v), t / 7, Decimal("0.05")) for t in toks),
    "years_to_weeks": lambda v, toks: any(abs(v) == t * 52 for t in toks),
    "minutes_to_weeks": lambda v, toks: any(
        _close(abs(v), t / 10080, Decimal("0.05")) for t in toks),
}
# two-token conversions (still named in ``derived`` as ``column=conversion``):
# ``sum_printed``: the value is the sum of two printed numbers, possibly the same number printed
# twice (a course "over 12 weeks" followed by maintenance "during the next 12 weeks" = 24 weeks);
# ``equal_allocation``: an arm size not printed per arm, taken as the printed total divided by the
# printed number of arms, rounded to a whole participant ("800 participants ... randomized into
# these three groups in a 1:1:1 ratio" -> 267), the assumption of equal allocation the Cochrane
# Handbook (section 6.5.2) allows when a trial prints only its total.
CONVERSIONS["sum_printed"] = lambda v, toks: any(abs(v) == a + b for a in toks for b in toks)
CONVERSIONS["equal_allocation"] = lambda v, toks: any(
    abs(v) == (a / b).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    for a in toks for b in toks if 2 <= b <= 6 and b == b.to_integral_value() and a > 10 * b)
# ``percent_of_printed`` (events1 / events2 only): responders not printed as a count, taken as a
# printed percentage of the row's own arm size n1 / n2, which must be printed too, rounded to a
# whole participant ("60.7 (387)" -> 235 of 387). Checked in ``_check_numbers``, which knows the row.
EVENT_ARM_SIZE: dict[str, str] = {"events1": "n1", "events2": "n2"}


def _percent_of_arm(value: Decimal, tokens: set[Decimal], n: Decimal | None) -> bool:
    if n is None or n not in tokens:
        return False
    return any(abs(value) == (t * n / 100).quantize(Decimal(1), rounding="ROUND_HALF_UP")
               for t in tokens if t <= 100)
CONVERSIONS["negate"].__doc__ = "the printed number had the opposite orientation"

#: what each unary conversion computes from a printed token (for the "nearest" hint)
_CONVERTED: dict[str, Callable[[Decimal], Decimal]] = {
    "negate": lambda t: t,
    "percent_to_proportion": lambda t: t / 100,
    "months_to_weeks": lambda t: t * 52 / 12,
    "days_to_weeks": lambda t: t / 7,
    "years_to_weeks": lambda t: t * 52,
    "minutes_to_weeks": lambda t: t / 10080,
}


def _converted_hint(conv: str, value: Decimal, tokens: set[Decimal]) -> str:
    """``"; nearest: 3 printed -> 13.0 weeks"``: the printed number whose conversion is closest."""
    convert = _CONVERTED.get(conv)
    if convert is None or not tokens:
        return ""
    nearest = sorted(tokens, key=lambda t: (abs(convert(t) - value), t))[:2]
    shown = ", ".join(f"{_plain(t)} -> {_plain(convert(t).quantize(Decimal('0.01')).normalize())}"
                      for t in nearest)
    return f"; {conv} of the nearest printed numbers: {shown}"


# phrase conversions: a time point the source states in words, not digits. The value is fixed
# and one of the row's quotes must contain the phrase. "immediately after" (the treatment or
# session) is 0 weeks after it: the Cochrane Back and Neck group's immediate follow-up is
# "< 7 days after the end of the sessions" (Mu J et al., Cochrane Database Syst Rev
# 2020;12:CD013814, doi:10.1002/14651858.CD013814, summary of findings tables; see
# trialsynth.data.windows), whose target is the end of treatment, 0 weeks.
PHRASE_CONVERSIONS: dict[str, tuple[Decimal, re.Pattern[str]]] = {
    "immediately_after": (Decimal(0), re.compile(r"\bimmediately\s+after\b", re.IGNORECASE)),
}

# row conversions: value is computed from two other cells of the same row
ROW_CONVERSIONS: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "sum": lambda a, b: a + b,
    "difference": lambda a, b: a - b,
    "product": lambda a, b: a * b,
    "quotient": lambda a, b: a / b,
}

_DERIVED_RE = re.compile(r"^\s*([a-z_0-9]+)\s*=\s*([a-z_]+)\s*(?:\(\s*([a-z_0-9]+)\s*,\s*([a-z_0-9]+)\s*\))?\s*$")


def parse_derived(spec: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Parse a ``derived`` cell: ``col=conv;col=conv(a,b)`` -> {col: (conv, args)}.

    Raises ``ValueError`` naming the part that does not parse.
    """
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    if not spec or not spec.strip():
        return out
    for part in spec.split(";"):
        if not part.strip():
            continue
        match = _DERIVED_RE.match(part)
        if match is None:
            raise ValueError(f"cannot parse derived entry {part!r}; expected column=conversion "
                             "or column=conversion(column_a,column_b)")
        column, conv, a, b = match.groups()
        out[column] = (conv, (a, b) if a else ())
    return out


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN
        return True
    return isinstance(value, str) and value.strip() == ""


def _decimal(value: Any) -> Decimal | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, float):
            return Decimal(repr(value))
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _split_ids(value: Any) -> list[str]:
    if _blank(value):
        return []
    return [part.strip() for part in str(value).split(";") if part.strip()]


def check_records(records: Mapping[str, Mapping[str, Any]], *, directory: str = "evidence") -> list[Problem]:
    """Check the structure of every evidence record (keyed by file stem)."""
    problems: list[Problem] = []
    for stem, record in records.items():
        file = f"{directory}/{stem}.yaml"
        if not isinstance(record, Mapping):
            problems.append(Problem(file, None, None, None, "record is not a YAML mapping"))
            continue
        if record.get("id") != stem:
            problems.append(Problem(file, None, "id", str(record.get("id")),
                                    f"record id must equal the file name stem {stem!r}"))
        for key in ("citation", "kind", "urls", "quotes"):
            if key not in record:
                problems.append(Problem(file, None, key, None, f"missing required key {key!r}"))
        if record.get("kind") == REVIEW_FILE:
            for key in ("file", "sha256"):
                if _blank(record.get(key)):
                    problems.append(Problem(file, None, key, None,
                                            f"a {REVIEW_FILE} record (rows imported from a review file) needs "
                                            f"{key!r}: the file's name and its SHA-256"))
        if record.get("kind") in ("trial", "review") and not (record.get("doi") or record.get("pmid")) \
                and record.get("identifiers") != "not found":
            problems.append(Problem(file, None, "doi", None, "a trial or review record needs a doi or pmid "
                                    "(or 'identifiers: not found' when none was printed in any source read)"))
        urls = {u.get("url") for u in record.get("urls") or [] if isinstance(u, Mapping)}
        for u in record.get("urls") or []:
            if not isinstance(u, Mapping) or not u.get("url") or not u.get("accessed"):
                problems.append(Problem(file, None, "urls", str(u), "each url entry needs url and accessed"))
        quotes = record.get("quotes") or {}
        if not isinstance(quotes, Mapping):
            problems.append(Problem(file, None, "quotes", None, "quotes must be a mapping Qid -> {text, location, url}"))
            continue
        for qid, quote in quotes.items():
            if not isinstance(quote, Mapping):
                problems.append(Problem(file, None, f"quotes.{qid}", None, "quote must be a mapping"))
                continue
            for key in ("text", "location", "url"):
                if _blank(quote.get(key)):
                    problems.append(Problem(file, None, f"quotes.{qid}.{key}", None, f"quote needs {key!r}"))
            if quote.get("url") and quote.get("url") not in urls:
                problems.append(Problem(file, None, f"quotes.{qid}.url", str(quote.get("url")),
                                        "quote url is not listed under the record's urls"))
    return problems


def _identifier_printed(ident: str, printed: str) -> bool:
    """True when ``ident`` occurs in ``printed``, case-insensitively, ignoring whitespace in both."""
    squeeze = re.compile(r"\s+")
    return squeeze.sub("", ident).lower() in squeeze.sub("", printed).lower()


def check_identifiers(records: Mapping[str, Mapping[str, Any]], *, directory: str = "evidence") -> list[Problem]:
    """Every record's ``doi`` / ``pmid`` must be printed in one of its quotes or urls.

    Whitespace inside a printed identifier is ignored: a PDF text layer can break a DOI after its
    slash ("10.1136/ acupmed-2013-010333"), and the quote keeps the break verbatim.

    Kept apart from :func:`check_records` (structure only) so that tools checking a single
    incoming record's structure are not bound by it; :func:`check_all` applies both.
    """
    problems: list[Problem] = []
    for stem, record in records.items():
        if not isinstance(record, Mapping):
            continue
        urls = [u.get("url") for u in record.get("urls") or [] if isinstance(u, Mapping)]
        printed = " ".join(str(q.get("text", "")) for q in (record.get("quotes") or {}).values()
                           if isinstance(q, Mapping)) + " " + " ".join(str(u) for u in urls)
        for key in ("doi", "pmid"):
            ident = record.get(key)
            if ident and not _identifier_printed(str(ident), printed):
                problems.append(Problem(f"{directory}/{stem}.yaml", None, key, str(ident),
                                        "identifier not printed in any quote or url of the record"))
    return problems


def _check_numbers(
    row: Mapping[str, Any],
    row_number: int,
    file: str,
    numeric_columns: Iterable[str],
    records: Mapping[str, Mapping[str, Any]],
    *,
    scale_column: str | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    source_id = "" if _blank(row.get("source_id")) else str(row.get("source_id")).strip()
    record = records.get(source_id)
    if record is None:
        problems.append(Problem(file, row_number, "source_id", source_id,
                                f"no evidence record evidence/{source_id}.yaml"))
        return problems
    quotes = record.get("quotes") or {}
    quote_ids = _split_ids(row.get("quote_ids"))
    if not quote_ids:
        problems.append(Problem(file, row_number, "quote_ids", "", "a row must name at least one quote"))
    texts: list[str] = []
    for qid in quote_ids:
        if qid not in quotes:
            problems.append(Problem(file, row_number, "quote_ids", qid,
                                    f"quote {qid} does not exist in evidence/{source_id}.yaml"))
        else:
            texts.append(str(quotes[qid].get("text", "")))
    tokens: set[Decimal] = set()
    for text in texts:
        tokens |= number_tokens(text)
    try:
        derived = parse_derived("" if _blank(row.get("derived")) else str(row.get("derived")))
    except ValueError as exc:
        problems.append(Problem(file, row_number, "derived", str(row.get("derived")), str(exc)))
        derived = {}
    for column in derived:
        if column not in numeric_columns:
            problems.append(Problem(file, row_number, "derived", column,
                                    f"derived names {column!r}, which is not a checked numeric column"))
    ids = ";".join(quote_ids)
    for column in numeric_columns:
        if column not in row:
            continue
        raw = row.get(column)
        if _blank(raw):
            continue
        value = _decimal(raw)
        if value is None:
            problems.append(Problem(file, row_number, column, str(raw), "not a number"))
            continue
        if column in derived:
            conv, args = derived[column]
            if conv in PHRASE_CONVERSIONS:
                fixed, pattern = PHRASE_CONVERSIONS[conv]
                if args:
                    problems.append(Problem(file, row_number, "derived", conv, f"{conv} takes no arguments"))
                elif value != fixed or not any(pattern.search(text) for text in texts):
                    problems.append(Problem(file, row_number, column, str(raw),
                                            f"{conv} means {fixed} and needs the phrase "
                                            f"{pattern.pattern!r} in quotes {ids} of evidence/{source_id}.yaml"))
            elif conv == "percent_of_printed":
                if args or column not in EVENT_ARM_SIZE:
                    problems.append(Problem(file, row_number, "derived", conv,
                                            f"{conv} takes no arguments and applies to events1/events2 only"))
                elif not _percent_of_arm(value, tokens, _decimal(row.get(EVENT_ARM_SIZE[column]))):
                    problems.append(Problem(file, row_number, column, str(raw),
                                            f"{conv}: no percentage printed in quotes {ids} of "
                                            f"evidence/{source_id}.yaml gives this value as a share of "
                                            f"{EVENT_ARM_SIZE[column]} (itself printed)"))
            elif conv in CONVERSIONS:
                if args:
                    problems.append(Problem(file, row_number, "derived", conv, f"{conv} takes no arguments"))
                elif not CONVERSIONS[conv](value, tokens):
                    problems.append(Problem(file, row_number, column, str(raw),
                                            f"not {conv} of any number printed in quotes {ids} of "
                                            f"evidence/{source_id}.yaml"
                                            + _converted_hint(conv, abs(value), tokens)))
            elif conv in ROW_CONVERSIONS:
                if len(args) != 2:
                    problems.append(Problem(file, row_number, "derived", conv,
                                            f"{conv} needs two column arguments, e.g. {conv}(a,b)"))
                    continue
                a, b = (_decimal(row.get(args[0])), _decimal(row.get(args[1])))
                if a is None or b is None:
                    problems.append(Problem(file, row_number, column, str(raw),
                                            f"{conv}({args[0]},{args[1]}) needs both cells filled"))
                    continue
                try:
                    expected = ROW_CONVERSIONS[conv](a, b)
                except (ArithmeticError, InvalidOperation):
                    problems.append(Problem(file, row_number, column, str(raw), f"{conv} cannot be computed"))
                    continue
                if not _close(value, expected, Decimal("1e-9")):
                    problems.append(Problem(file, row_number, column, str(raw),
                                            f"{conv}({args[0]},{args[1]}) = {expected}, not this value"))
            else:
                known = sorted(CONVERSIONS) + ["percent_of_printed"] + sorted(PHRASE_CONVERSIONS) \
                    + sorted(ROW_CONVERSIONS)
                problems.append(Problem(file, row_number, "derived", conv,
                                        f"unknown conversion; expected one of {', '.join(known)}"))
            continue
        if scale_column and column in ("scale_min", "scale_max") \
                and str(row.get(scale_column, "")).strip() in SCALE_RANGES:
            # a standard instrument: its range is a property of the scale, checked against the table
            scale = str(row.get(scale_column, "")).strip()
            lo, hi = _decimal(row.get("scale_min")), _decimal(row.get("scale_max"))
            if not any(lo == Decimal(r[0]) and hi == Decimal(r[1]) for r in SCALE_RANGES[scale]):
                allowed = ", ".join(f"{a}-{b}" for a, b in SCALE_RANGES[scale])
                problems.append(Problem(file, row_number, column, str(raw),
                                        f"not the standard range of scale {scale!r} ({allowed})"))
            continue
        if abs(value) in tokens:
            continue
        problems.append(Problem(file, row_number, column, str(raw),
                                f"number not printed in quotes {ids} of evidence/{source_id}.yaml "
                                "(and not named in derived)" + _nearest(abs(value), tokens)))
    return problems


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _nearest(value: Decimal, candidates: Iterable[Decimal], *, what: str = "nearest printed value") -> str:
    """``"; nearest printed value 9.4"`` (empty when nothing was printed)."""
    candidates = list(candidates)
    if not candidates:
        return ""
    best = min(candidates, key=lambda t: (abs(t - value), t))
    return f"; {what} {_plain(best)}"


_DOI_FORMS = re.compile(r"^(?:doi\s*:\s*)?(?:https?://)?(?:dx\.)?(?:doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_PMID_FORMS = re.compile(r"^(?:pmid\s*:?\s*|(?:https?://)?pubmed\.ncbi\.nlm\.nih\.gov/)?(\d{1,9})/?$",
                         re.IGNORECASE)


def normalise_source_ref(ref: str, record: Mapping[str, Any] | None) -> str | None:
    """The canonical ``doi:...`` / ``pmid:...`` for a reference written another way, when it is
    the record's: ``https://doi.org/10.1093/aje/kwj224``, ``doi.org/...``, ``DOI: 10....``, a bare
    ``10.1093/...``, ``PMID: 16...``, a PubMed URL.  ``None`` when ``ref`` is already canonical,
    blank, or not the record's identifier."""
    if record is None or _blank(ref):
        return None
    ref = str(ref).strip()
    doi = str(record.get("doi") or "").strip()
    pmid = str(record.get("pmid") or "").strip()
    m = _DOI_FORMS.match(ref)
    if m and doi and m.group(1).rstrip(".").lower() == doi.lower():
        canonical = f"doi:{doi}"
        return None if ref == canonical else canonical
    m = _PMID_FORMS.match(ref)
    if m and pmid and m.group(1) == pmid:
        canonical = f"pmid:{pmid}"
        return None if ref == canonical else canonical
    return None


def _record_identifiers(record: Mapping[str, Any]) -> str:
    """``"doi:10.1093/aje/kwj224"``, ``"doi:... or pmid:..."``: what a row citing it must write."""
    parts = []
    if record.get("doi"):
        parts.append(f"doi:{record.get('doi')}")
    if record.get("pmid"):
        parts.append(f"pmid:{record.get('pmid')}")
    return " or ".join(parts)


def _check_source_ref(row: Mapping[str, Any], row_number: int, file: str,
                      records: Mapping[str, Mapping[str, Any]], *, allow_url: bool = False) -> list[Problem]:
    record = records.get(str(row.get("source_id", "")).strip())
    ref = "" if _blank(row.get("source_ref")) else str(row.get("source_ref")).strip()
    if record is None:
        return []
    where = f"evidence/{record.get('id')}.yaml"
    kind, _, ident = ref.partition(":")
    if record.get("kind") == REVIEW_FILE and (kind != "doi" or not record.get("doi")):
        # rows imported from a review file cite the file (or the review's DOI, checked below)
        if kind == "file" and ident == str(record.get("file") or ""):
            return []
        expected = f"doi:{record.get('doi')} or file:{record.get('file')}" if record.get("doi") \
            else f"file:{record.get('file')}"
        return [Problem(file, row_number, "source_ref", ref,
                        f"a row imported from a review file cites it: expected {expected} ({where})")]
    if kind == "file":
        return [Problem(file, row_number, "source_ref", ref,
                        f"file: cites a review file; {where} is not a {REVIEW_FILE} record")]
    if allow_url and kind == "url" and not (record.get("doi") or record.get("pmid")):
        urls = {u.get("url") for u in record.get("urls") or [] if isinstance(u, Mapping)}
        if ident in urls:
            return []
        return [Problem(file, row_number, "source_ref", ref,
                        f"url: must be one of the urls of {where}")]
    if not (record.get("doi") or record.get("pmid")):
        said = " (it says identifiers: not found)" if record.get("identifiers") == "not found" else ""
        urls = [u.get("url") for u in record.get("urls") or [] if isinstance(u, Mapping) and u.get("url")]
        cite = (f"cite one of its urls (e.g. url:{urls[0]}), or " if allow_url and urls else "")
        return [Problem(file, row_number, "source_ref", ref,
                        f"{where} has no doi or pmid{said}: {cite}add the publication's doi: (or pmid:) "
                        "to the record, with a url or quote that prints it")]
    known = {"doi": str(record.get("doi") or "").lower(), "pmid": str(record.get("pmid") or "")}
    if kind in known and ident and known[kind] and ident.lower() == known[kind].lower():
        return []
    expected = _record_identifiers(record)
    if not ref:
        message = f"write {expected} (the identifier of {where})"
    elif normalise_source_ref(ref, record):
        message = f"write it as {normalise_source_ref(ref, record)}"
    else:
        message = f"not the identifier of {where}: expected {expected}"
    return [Problem(file, row_number, "source_ref", ref, message)]


def _check_direction(row: Mapping[str, Any], row_number: int, file: str,
                     records: Mapping[str, Mapping[str, Any]], other_labels: Iterable[str] = ()) -> list[Problem]:
    """The row's direction against what its quotes state (:mod:`trialsynth.data.direction`)."""
    source_id = "" if _blank(row.get("source_id")) else str(row.get("source_id")).strip()
    record = records.get(source_id)
    if not isinstance(record, Mapping):
        return []
    quotes = record.get("quotes") or {}
    if not isinstance(quotes, Mapping):
        return []
    texts = {qid: str(quotes[qid].get("text", "")) for qid in _split_ids(row.get("quote_ids"))
             if isinstance(quotes.get(qid), Mapping)}
    try:
        derived = {column: conv for column, (conv, _) in
                   parse_derived("" if _blank(row.get("derived")) else str(row.get("derived"))).items()}
    except ValueError:
        derived = {}  # reported by the number check
    return direction_problems(row, texts, file=file, row_number=row_number,
                              source=f"evidence/{source_id}.yaml", derived=derived,
                              other_labels=tuple(other_labels))


def _arm_labels_by_study(trials: pd.DataFrame) -> dict[str, dict[str, set[str]]]:
    """study_id -> comparison_id -> its arm labels (to tell a three-arm trial's arms apart)."""
    out: dict[str, dict[str, set[str]]] = {}
    for column in ("study_id", "comparison_id", "intervention_label", "comparator_label"):
        if column not in trials.columns:
            return out
    for study, comparison, a, b in zip(trials["study_id"], trials["comparison_id"],
                                       trials["intervention_label"], trials["comparator_label"]):
        labels = out.setdefault(str(study), {}).setdefault(str(comparison), set())
        labels |= {str(x) for x in (a, b) if not _blank(x)}
    return out


#: words a quote must contain to back each ``sham_type`` (case-insensitive): what the sham *was*
SHAM_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "penetrating": ("minimal acupuncture", "superficial needling", "unspecific needling", "minimal needling",
                    "shallow needling"),
    "non_penetrating": ("without a needle", "non-penetrating", "nonpenetrating", "not penetrat", "blunt",
                        "toothpick", "retractable"),
    "placebo_tens": ("tens", "transcutaneous electrical nerve stimulation"),
}


def _check_sham_type(row: Mapping[str, Any], row_number: int, file: str,
                     records: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """A row's ``sham_type`` must be backed by its ``sham_type_quote``: a quote of the row's record
    that names that kind of sham (:data:`SHAM_TYPE_WORDS`)."""
    kind = "" if _blank(row.get("sham_type")) else str(row.get("sham_type")).strip()
    if not kind:
        return []
    qid = "" if _blank(row.get("sham_type_quote")) else str(row.get("sham_type_quote")).strip()
    record = records.get(str(row.get("source_id", "")).strip())
    if record is None:
        return []
    quote = (record.get("quotes") or {}).get(qid)
    if quote is None:
        return [Problem(file, row_number, "sham_type_quote", qid,
                        f"no quote {qid!r} in evidence/{record.get('id')}.yaml to back sham_type {kind}")]
    text = " ".join(str(quote.get("text", "") if isinstance(quote, Mapping) else quote).lower().split())
    words = SHAM_TYPE_WORDS.get(kind, ())
    if not any(w in text for w in words):
        return [Problem(file, row_number, "sham_type", kind,
                        f"quote {qid} of evidence/{record.get('id')}.yaml does not describe a {kind} sham "
                        f"(expected one of: {', '.join(words)})")]
    return []


#: the record kind of rows imported from another tool's review file (``trialsynth import-revman``)
REVIEW_FILE = "review_file"

_IMPORTED_LOCATION = re.compile(r"^imported from (?P<file>.+), analysis (?P<analysis>\d+\.\d+)$")


def _quote_text(row: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    quotes = record.get("quotes") or {}
    return " ".join(str(quotes[q].get("text", "")) for q in _split_ids(row.get("quote_ids"))
                    if isinstance(quotes.get(q), Mapping))


def _check_imported_location(row: Mapping[str, Any], row_number: int, file: str,
                             record: Mapping[str, Any]) -> list[Problem]:
    """A row of a review_file record says where in the file it is: "imported from FILE, analysis X.Y",
    and its first quote is that analysis' row of the file."""
    location = "" if _blank(row.get("source_location")) else str(row.get("source_location")).strip()
    match = _IMPORTED_LOCATION.match(location)
    where = f"evidence/{record.get('id')}.yaml"
    if match is None:
        return [Problem(file, row_number, "source_location", location,
                        "a row imported from a review file says 'imported from FILE, analysis X.Y'")]
    if Path(match.group("file")).name != str(record.get("file") or ""):
        return [Problem(file, row_number, "source_location", location,
                        f"names another file than {where} ({record.get('file')})")]
    ids = _split_ids(row.get("quote_ids"))
    quote = (record.get("quotes") or {}).get(ids[0]) if ids else None
    if not isinstance(quote, Mapping) or f"analysis {match.group('analysis')}" not in str(quote.get("location", "")):
        return [Problem(file, row_number, "quote_ids", ";".join(ids),
                        f"the first quote must be the file's row of analysis {match.group('analysis')} in {where}")]
    return []


def check_trials(trials: pd.DataFrame, records: Mapping[str, Mapping[str, Any]], *,
                 file: str = "data/trials.csv") -> list[Problem]:
    """Check every numeric cell of the trials table against its row's quotes, and every sham type
    against the quote it names."""
    problems: list[Problem] = []
    arms_by_study = _arm_labels_by_study(trials)
    for position, (_, row) in enumerate(trials.iterrows()):
        row_number = position + 2  # header is row 1
        row_map = row.to_dict()
        own = {str(row_map.get("intervention_label")), str(row_map.get("comparator_label"))}
        others = {label for comparison, labels in arms_by_study.get(str(row_map.get("study_id")), {}).items()
                  if comparison != str(row_map.get("comparison_id")) for label in labels} - own
        problems += _check_source_ref(row_map, row_number, file, records, allow_url=True)
        problems += _check_sham_type(row_map, row_number, file, records)
        problems += _check_numbers(row_map, row_number, file, TRIAL_NUMERIC_COLUMNS, records,
                                   scale_column="scale")
        problems += _check_direction(row_map, row_number, file, records, sorted(others))
        record = records.get(str(row_map.get("source_id", "")).strip())
        year = row_map.get("year")
        imported = isinstance(record, Mapping) and record.get("kind") == REVIEW_FILE
        if imported:
            problems += _check_imported_location(row_map, row_number, file, record)
        if record is not None and not _blank(year):
            year_text = str(year).strip()
            if year_text.endswith(".0"):
                year_text = year_text[:-2]
            if imported:
                # a review file's citation is the review's: the study's year is in its own row
                if year_text not in _quote_text(row_map, record):
                    problems.append(Problem(file, row_number, "year", str(year),
                                            f"year does not appear in the quotes {row_map.get('quote_ids')} "
                                            f"of evidence/{record.get('id')}.yaml (the study's row in the file)"))
            elif year_text not in str(record.get("citation", "")):
                problems.append(Problem(file, row_number, "year", str(year),
                                        f"year does not appear in the citation of evidence/{record.get('id')}.yaml"))
    return problems


def check_reviews(reviews: pd.DataFrame, records: Mapping[str, Mapping[str, Any]], *,
                  file: str = "data/reviews.csv") -> list[Problem]:
    """Check every numeric cell of the published-estimates table against its row's quotes."""
    problems: list[Problem] = []
    for position, (_, row) in enumerate(reviews.iterrows()):
        problems += _check_source_ref(row.to_dict(), position + 2, file, records, allow_url=True)
        problems += _check_numbers(row.to_dict(), position + 2, file, REVIEW_NUMERIC_COLUMNS, records,
                                   scale_column="scale")
    return problems


def check_claims(claims: Iterable[Mapping[str, Any]], records: Mapping[str, Mapping[str, Any]], *,
                 file: str = "evidence/claims.yaml") -> list[Problem]:
    """Check that each claim's sources and quotes exist and its article text is quoted verbatim."""
    problems: list[Problem] = []
    for position, claim in enumerate(claims):
        cid = str(claim.get("id", f"#{position + 1}"))
        for key in ("id", "article_text", "article_quote", "check", "outcome", "decision", "sources"):
            if key not in claim:
                problems.append(Problem(file, None, f"{cid}.{key}", None, f"claim needs {key!r}"))
        decision = claim.get("decision") or {}
        for key in ("supported", "contradicted", "open"):
            if not isinstance(decision, Mapping) or key not in decision:
                problems.append(Problem(file, None, f"{cid}.decision.{key}", None,
                                        "each claim states what supports, contradicts and leaves it open"))
        refs = _as_list(claim.get("article_quote"))
        texts = _as_list(claim.get("article_text"))
        if len(refs) != len(texts):
            problems.append(Problem(file, None, f"{cid}.article_text", None,
                                    "article_text must give one text per article_quote"))
        for ref, text in zip(refs, texts):
            rid, _, qid = str(ref).partition("#")
            quote = ((records.get(rid) or {}).get("quotes") or {}).get(qid)
            if quote is None:
                problems.append(Problem(file, None, f"{cid}.article_quote", str(ref), "no such record quote"))
            elif str(quote.get("text", "")).strip() != str(text).strip():
                problems.append(Problem(file, None, f"{cid}.article_text", str(text)[:60],
                                        f"article_text differs from the verbatim quote {ref}"))
        source_values = claim.get("source_values")
        if isinstance(source_values, Mapping) and claim.get("source"):
            srec = records.get(str(claim.get("source")))
            if srec is None:
                problems.append(Problem(file, None, f"{cid}.source", str(claim.get("source")), "no such evidence record"))
            else:
                toks: set[Decimal] = set()
                for qid in _as_list(claim.get("quote_ids")):
                    quote = (srec.get("quotes") or {}).get(qid)
                    if quote is None:
                        problems.append(Problem(file, None, f"{cid}.quote_ids", str(qid), "quote does not exist in the record"))
                    else:
                        toks |= number_tokens(str(quote.get("text", "")))
                for key, value in source_values.items():
                    number = _decimal(value) if isinstance(value, (int, float, str)) else None
                    if number is not None and abs(number) not in toks:
                        problems.append(Problem(file, None, f"{cid}.source_values.{key}", str(value),
                                                f"not printed in the quotes of evidence/{claim.get('source')}.yaml"))
        for entry in claim.get("sources") or []:
            sid = str(entry.get("source_id", ""))
            record = records.get(sid)
            if record is None:
                problems.append(Problem(file, None, f"{cid}.sources", sid, f"no evidence record evidence/{sid}.yaml"))
                continue
            for qid in entry.get("quote_ids") or []:
                if qid not in (record.get("quotes") or {}):
                    problems.append(Problem(file, None, f"{cid}.sources", f"{sid}#{qid}",
                                            "quote does not exist in the record"))
    return problems


def orphaned_records(records: Mapping[str, Any], trials: pd.DataFrame, reviews: pd.DataFrame,
                     claims: Iterable[Mapping[str, Any]], *, directory: str = "evidence") -> list[Problem]:
    """Records used by no row of trials/reviews and by no claim."""
    used: set[str] = set()
    for table in (trials, reviews):
        if "source_id" in table:
            used |= {str(s).strip() for s in table["source_id"] if not _blank(s)}
    for claim in claims:
        used |= {str(ref).partition("#")[0] for ref in _as_list(claim.get("article_quote"))}
        used |= {str(e.get("source_id", "")) for e in claim.get("sources") or []}
    return [Problem(f"{directory}/{rid}.yaml", None, None, rid,
                    "orphaned record: no row of data/trials.csv or data/reviews.csv and no claim uses it")
            for rid in sorted(set(records) - used)]


def combine_problems(first: Iterable[Problem], second: Iterable[Problem]) -> list[Problem]:
    """``first`` (e.g. the schema check) followed by ``second`` (this module's), each cell once.

    A problem of ``second`` on a cell that ``first`` already reports is merged into that problem
    (its message appended: "missing value ...; write doi:10.1093/..."), or dropped when it only
    repeats that the cell is not a number."""
    out = list(first)
    at = {(p.file, p.row, p.column): i for i, p in enumerate(out) if p.column is not None}
    for p in second:
        i = at.get((p.file, p.row, p.column))
        if i is None:
            out.append(p)
        elif p.message != "not a number" and p.message not in out[i].message:
            q = out[i]
            out[i] = Problem(q.file, q.row, q.column, q.value, f"{q.message}; {p.message}")
    return out


def check_all(trials: pd.DataFrame, reviews: pd.DataFrame, records: Mapping[str, Mapping[str, Any]],
              claims: list[Mapping[str, Any]]) -> list[Problem]:
    """Every provenance check at once."""
    return (check_records(records) + check_identifiers(records) + check_trials(trials, records)
            + check_reviews(reviews, records)
            + check_claims(claims, records) + orphaned_records(records, trials, reviews, claims))


# ---------------------------------------------------------------- thin loaders (file reading)

def load_records(directory: str | Path) -> dict[str, dict[str, Any]]:
    """Read every ``*.yaml`` record in ``directory`` except ``claims.yaml``, keyed by file stem."""
    import yaml

    out: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        if path.name == "claims.yaml":
            continue
        with path.open(encoding="utf-8") as handle:
            try:
                out[path.stem] = yaml.safe_load(handle)
            except yaml.YAMLError as exc:
                raise TrialDataError([Problem(str(path), None, None, None, f"not valid YAML: {exc}")]) from None
    return out


def load_claims(path: str | Path) -> list[dict[str, Any]]:
    """Read ``evidence/claims.yaml`` (a mapping with a ``claims`` list)."""
    import yaml

    with Path(path).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return list(data.get("claims", []))


def _read_csv_as_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def check_repository(root: str | Path) -> list[Problem]:
    """Load ``data/trials.csv``, ``data/reviews.csv`` and ``evidence/`` under ``root`` and check them."""
    root = Path(root)
    records = load_records(root / "evidence")
    claims = load_claims(root / "evidence" / "claims.yaml")
    trials = _read_csv_as_text(root / "data" / "trials.csv")
    reviews = _read_csv_as_text(root / "data" / "reviews.csv")
    return check_all(trials, reviews, records, claims)
