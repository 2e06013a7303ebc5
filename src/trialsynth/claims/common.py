"""What every claim check shares: the verdict vocabulary, the :class:`Verdict` record, and
reading and classifying the pooled frame (cells in words, MIDs, effect classes).

Split out of :mod:`trialsynth.claims.verdicts`, which runs the checks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialsynth.claims.effects import (
    BENEFIT_CLASSES,
    DEFAULT_MID_SMD,
    NO_CLEAR_DIFFERENCE,
    SCALE_MIDS,
    bayes_probability_text,
    benefit_sign,
    classify_effect,
    format_effect,
    format_interval,
    is_ratio,
    mid_for,
)
from trialsynth.claims.records import Claim
from trialsynth.data.cells import ANY, COMPARATOR_WORDS, as_add_on, comparison_label
from trialsynth.errors import ArgumentError

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
MIXED = "mixed"
INSUFFICIENT = "insufficient evidence"
VERDICTS = (SUPPORTED, CONTRADICTED, MIXED, INSUFFICIENT)

EARLY_WINDOWS = ("immediate", "short")
LATE_WINDOWS = ("intermediate", "long")
WINDOW_ORDER = ("immediate", "short", "intermediate", "long")
#: the comparator classes in words (one list, :data:`trialsynth.data.cells.COMPARATOR_WORDS`)
COMPARATOR_LABELS = {k: v for k, v in COMPARATOR_WORDS.items() if k != ANY}

CONDITION_LABELS = {
    "chronic_lbp": "chronic low back pain",
    "mixed_lbp": "persistent low back pain of mixed or unstated duration",
    "acute_lbp": "acute low back pain",
    "subacute_lbp": "subacute low back pain",
    "acute_subacute_lbp": "acute or subacute low back pain",
    "sciatica": "sciatica",
    "any": "any population",
}

# a part of a claim either agrees, disagrees or cannot be tested
AGREES, DISAGREES, UNTESTED = "agrees", "disagrees", "untested"


#: how a piece of evidence bears on a claim, in the order a reader wants them
FOR, AGAINST, NOT_TESTED = "for", "against", "not tested"
_STANCE = {AGREES: FOR, DISAGREES: AGAINST, UNTESTED: NOT_TESTED}


@dataclass(frozen=True)
class Verdict:
    """The verdict on one claim.

    ``reason`` is the full account (every number cited); ``summary`` one sentence a reader takes
    in at a glance (at most about 40 words); ``evidence`` the same numbers as a list of
    ``(stance, text)`` with stance ``for``, ``against`` or ``not tested``, so that a page can show
    the evidence for and against as a list instead of one run-on paragraph; ``method_dependent``
    the estimates whose class changes between method profiles (their conclusion is not robust).
    """

    claim_id: str
    check: str
    verdict: str
    reason: str
    parts: tuple = field(default_factory=tuple)  # (description, AGREES/DISAGREES/UNTESTED)
    summary: str = ""
    evidence: tuple = field(default_factory=tuple)  # (FOR/AGAINST/NOT_TESTED, text)
    method_dependent: tuple = field(default_factory=tuple)  # descriptions of method-dependent estimates

    def as_dict(self) -> dict:
        return {"claim_id": self.claim_id, "check": self.check, "verdict": self.verdict, "reason": self.reason,
                "summary": self.summary or _first_sentence(self.verdict, self.reason)}

    def evidence_for(self) -> list[str]:
        return [t for s, t in self.evidence if s == FOR]

    def evidence_against(self) -> list[str]:
        return [t for s, t in self.evidence if s == AGAINST]

    def evidence_untested(self) -> list[str]:
        return [t for s, t in self.evidence if s == NOT_TESTED]


def _first_sentence(verdict: str, reason: str, words: int = 40) -> str:
    """A fallback summary: the verdict and the start of the reason, cut at ``words`` words."""
    head = str(reason).split(" | ")[0].split(". ")[0]
    tokens = head.split()
    text = " ".join(tokens[:words]) + (" ..." if len(tokens) > words else "")
    return f"{verdict.capitalize()}: {text}" if text else verdict.capitalize()


def _stanced(parts_texts) -> tuple:
    """``[(outcome, text)]`` -> ``((stance, text), ...)`` (AGREES -> for, ...)."""
    return tuple((_STANCE.get(o, NOT_TESTED), t) for o, t in parts_texts)


def _depends(row: Mapping) -> bool:
    value = row.get("conclusion_depends_on_method")
    return bool(value) and str(value).strip().lower() not in ("false", "0", "nan", "none", "")


def _depends_note(row: Mapping) -> str:
    how = row.get("method_classes")
    return " [not robust: the class depends on the method" + (f": {how}" if isinstance(how, str) and how else "") + "]"


def _comparison(row: Mapping) -> tuple:
    """A row's comparison: ``(comparator_class, add_on)``; rows without ``add_on`` (published
    estimates) are read as head to head."""
    return (str(row.get("comparator_class")), as_add_on(row.get("add_on")))


def _comparison_words(comp: tuple) -> str:
    """"acupuncture + usual care vs usual care" (:func:`trialsynth.data.cells.comparison_label`)."""
    return comparison_label(*comp)


def _cell_name(row: Mapping) -> str:
    """"Pain: acupuncture vs sham, immediately after treatment" (:func:`trialsynth.data.cells.cell_label`)."""
    from trialsynth.data.cells import cell_label

    return cell_label(row)


def combine(parts: Sequence[str]) -> str:
    """Overall verdict from part outcomes: all agree -> supported, all disagree -> contradicted,
    both -> mixed, none testable -> insufficient evidence (untested parts are ignored)."""
    tested = [p for p in parts if p in (AGREES, DISAGREES)]
    if not tested:
        return INSUFFICIENT
    if all(p == AGREES for p in tested):
        return SUPPORTED
    if all(p == DISAGREES for p in tested):
        return CONTRADICTED
    return MIXED


# --------------------------------------------------------------------------- inputs


def _empty_pooled() -> pd.DataFrame:
    return pd.DataFrame(columns=["outcome", "comparator_class", "add_on", "window", "k", "estimate", "ci_low", "ci_high", "measure"])


def _check_frame(df, name: str, required: Iterable[str]) -> pd.DataFrame:
    if df is None:
        return None
    if not isinstance(df, pd.DataFrame):
        raise ArgumentError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing and len(df):
        raise ArgumentError(f"{name}: missing column(s) {', '.join(missing)}")
    return df


_REVIEW_ALIASES = {
    "review_id": ("review_id", "source_id", "review", "study_id", "id"),
    "outcome": ("outcome",),
    "comparator_class": ("comparator_class", "comparator", "comparison"),
    "window": ("window",),
    "timepoint_label": ("timepoint_label", "time_point", "timepoint", "follow_up", "time_label", "window_label"),
    "measure": ("measure", "effect_measure"),
    "estimate": ("estimate", "effect", "pooled_effect"),
    "ci_low": ("ci_low", "effect_ci_low", "lower"),
    "ci_high": ("ci_high", "effect_ci_high", "upper"),
    "k": ("k", "n_studies", "studies"),
    "participants": ("participants", "n_participants", "n"),
    "i2": ("i2", "I2"),
    "certainty": ("certainty", "grade", "grade_certainty", "quality"),
    "condition": ("condition", "population"),
}


def normalise_reviews(reviews: pd.DataFrame | None) -> pd.DataFrame:
    """``data/reviews.csv`` with canonical column names (``review_id``, ``outcome``,
    ``comparator_class``, ``window``, ``timepoint_label``, ``measure``, ``estimate``, ``ci_low``,
    ``ci_high``, ``k``, ``participants``, ``i2``, ``certainty``, ``condition``); unknown columns are kept."""
    cols = list(_REVIEW_ALIASES)
    if reviews is None or len(reviews) == 0:
        return pd.DataFrame(columns=cols)
    if not isinstance(reviews, pd.DataFrame):
        raise ArgumentError(f"reviews: expected a pandas DataFrame, got {type(reviews).__name__}")
    out = pd.DataFrame(index=reviews.index)
    for name, aliases in _REVIEW_ALIASES.items():
        for alias in aliases:
            if alias in reviews.columns:
                out[name] = reviews[alias]
                break
        else:
            out[name] = pd.NA
    for c in reviews.columns:
        if c not in out.columns:
            out[c] = reviews[c]
    for c in ("estimate", "ci_low", "ci_high", "i2"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    # reviews print ratios as ratios; every frame the checks read holds them on the log scale
    ratio = out["measure"].map(lambda m: is_ratio(None if pd.isna(m) else str(m))).astype(bool)
    if ratio.any():
        for c in ("estimate", "ci_low", "ci_high"):
            values = out.loc[ratio, c].astype(float)
            out.loc[ratio, c] = np.log(values.where(values > 0))
    return out


def _filter(df: pd.DataFrame, column: str, values: Sequence[str]) -> pd.DataFrame:
    if not values or column not in df.columns:
        return df
    return df[df[column].astype(str).isin([str(v) for v in values])]


def _select_pooled(pooled: pd.DataFrame | None, claim: Claim, *, windows=None, comparators=None, outcomes=None) -> pd.DataFrame:
    df = pooled if pooled is not None else _empty_pooled()
    df = _filter(df, "outcome", outcomes if outcomes is not None else (claim.outcomes or ("pain",)))
    df = _filter(df, "comparator_class", comparators if comparators is not None else claim.comparator_classes)
    df = _filter(df, "window", windows if windows is not None else claim.windows)
    add_on = claim.params.get("add_on")
    if add_on is not None and "add_on" in df.columns:
        # a claim about one kind of comparison only (add_on: true or false; absent: both)
        df = df[df["add_on"].map(as_add_on) == as_add_on(add_on)]
    if claim.conditions and "condition" in df.columns:
        df = _filter(df, "condition", claim.conditions)
    return df


def _window_rank(w) -> int:
    return WINDOW_ORDER.index(w) if w in WINDOW_ORDER else len(WINDOW_ORDER)


def describe_pooled_row(row: Mapping, *, mid: float) -> str:
    """One pooled row in words with its numbers: comparator, window, effect, CI, PI, k, I2, class."""
    measure = str(row.get("measure") or "SMD")
    cls_label = _classify_row(row, mid)
    parts = [format_effect(measure, row.get("estimate"), row.get("ci_low"), row.get("ci_high"))]
    pi = format_interval(row.get("pi_low"), row.get("pi_high"), measure=measure)
    if pi != "n/a":
        parts.append(f"PI {pi}")
    k = row.get("k")
    if k is not None and not (isinstance(k, float) and math.isnan(k)):
        parts.append(f"k={int(k)}")
    i2 = row.get("i2")
    if i2 is not None and _isfinite(i2):
        parts.append(f"I2={float(i2):.0f}%")
    text = f"{_cell_name(row)}: {', '.join(parts)} -> {cls_label}"
    bayes = bayes_probability_text(row, short=True)
    return text + (f" ({bayes})" if bayes else "") + (_depends_note(row) if _depends(row) else "")


def _isfinite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


#: MIDs of a mean difference on a 0-100 scale when the instrument has no entry in
#: :data:`~trialsynth.claims.effects.SCALE_MIDS` (:data:`trialsynth.claims.effects.MD_MIDS`):
#: pain 15 points, function 10 points. Other ranges are scaled linearly.
from trialsynth.claims.effects import MD_MIDS  # noqa: E402

#: instruments whose SCALE_MIDS entry holds on one range only (the VAS is printed 0-100 or 0-10)
_RANGE_DEPENDENT = {"VAS": 100.0}


def _scale_range(row: Mapping) -> float | None:
    try:
        low, high = float(row.get("scale_min")), float(row.get("scale_max"))
    except (TypeError, ValueError):
        return None
    return high - low if math.isfinite(low) and math.isfinite(high) and high > low else None


def row_mid(row: Mapping, mid: float) -> float | None:
    """The MID for one row, on the row's own scale.

    ``mid`` (SMD units) for SMDs; for ratios (on the log scale) GRADE's default RR 0.75 / 1.25
    (:func:`~trialsynth.claims.effects.mid_for`), whatever ``mid`` holds. For a mean difference
    (``measure`` MD) it comes from the row's ``scale``, ``scale_min`` and ``scale_max``:

    * an instrument in :data:`~trialsynth.claims.effects.SCALE_MIDS` (Ostelo et al. 2008): its
      MID, rescaled by the printed range for the VAS (15 of 100 is 1.5 of 10);
    * otherwise the outcome's :data:`MD_MIDS` (per 100 points) times the printed range / 100;
    * None (unknown) when the range is not printed: a mean difference of 1.2 means an important
      change on a 0-10 scale and a trivial one on 0-100, so it is never guessed.
    """
    if str(row.get("measure") or "SMD").upper() != "MD":
        return mid_for(str(row.get("measure") or "SMD"), mid, row.get("outcome"))
    scale = str(row.get("scale") or "").strip()
    width = _scale_range(row)
    if scale in SCALE_MIDS:
        if scale not in _RANGE_DEPENDENT:
            return SCALE_MIDS[scale]
        return None if width is None else SCALE_MIDS[scale] * width / _RANGE_DEPENDENT[scale]
    base = MD_MIDS.get(str(row.get("outcome")))
    if base is None or width is None:
        return None
    return base * width / 100.0


def _oriented(row: Mapping) -> Mapping:
    """A published row whose scale is higher-is-better gets its sign flipped (negative favours acupuncture)."""
    hib = row.get("higher_is_better")
    if str(hib).strip().lower() in ("true", "1", "yes") and str(row.get("measure") or "").upper() in ("MD", "SMD"):
        row = dict(row)
        row["estimate"], row["ci_low"], row["ci_high"] = -row["estimate"], -row["ci_high"], -row["ci_low"]
    return row


def _classify_row(row: Mapping, mid: float) -> str:
    row = _oriented(row)
    return classify_effect(row.get("estimate"), row.get("ci_low"), row.get("ci_high"), mid=row_mid(row, mid), measure=str(row.get("measure") or "SMD")).label


def _too_imprecise(row: Mapping, mid: float) -> bool:
    """True when the row's CI contains both no effect and an important benefit (``|x| >= MID`` on
    acupuncture's side): such an estimate can neither confirm nor refute a claimed benefit (the
    imprecision criterion of GRADE, Guyatt et al. 2011, J Clin Epidemiol 64:1283, GRADE 6)."""
    row = _oriented(row)
    try:
        low, high = float(row.get("ci_low")), float(row.get("ci_high"))
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(low) and math.isfinite(high)):
        return False
    sign = benefit_sign(str(row.get("measure") or "SMD"))
    low_b, high_b = sorted((sign * low, sign * high))
    row_mid_value = row_mid(row, mid)
    return row_mid_value is not None and low_b <= 0.0 <= high_b and high_b >= row_mid_value


def _judge_effect(row: Mapping, cls: str, want: str, mid: float) -> str:
    """AGREES when the class matches ``want`` (``benefit`` or ``no_difference``); UNTESTED when a
    benefit is wanted and the estimate is too imprecise to tell (:func:`_too_imprecise`);
    DISAGREES otherwise."""
    ok = (cls in BENEFIT_CLASSES) if want == "benefit" else (cls == NO_CLEAR_DIFFERENCE)
    if ok:
        return AGREES
    if want == "benefit" and cls == NO_CLEAR_DIFFERENCE and _too_imprecise(row, mid):
        return UNTESTED
    return DISAGREES


IMPRECISE_NOTE = " (too imprecise to test: the CI holds both no effect and the MID)"


def _mid(claim: Claim, mid: float | None) -> float:
    value = claim.params.get("mid", mid if mid is not None else DEFAULT_MID_SMD)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"mid: expected a positive number, got {value!r}") from None
    if not value > 0:
        raise ArgumentError(f"mid: expected a positive number, got {value!r}")
    return value


def _rows(df: pd.DataFrame) -> list[dict]:
    return df.to_dict("records") if df is not None and len(df) else []


# --------------------------------------------------------------------------- checks


def _norm_certainty(value) -> str:
    return str(value).strip().lower().replace("_", " ").replace("-", " ")


def _select_reviews(reviews, claim: Claim, review_id=None) -> pd.DataFrame:
    df = normalise_reviews(reviews)
    if review_id:
        ids = [review_id] if isinstance(review_id, str) else list(review_id)
        df = df[df["review_id"].astype(str).isin([str(i) for i in ids])]
    if claim.outcomes:
        df = df[df["outcome"].isna() | df["outcome"].astype(str).isin(claim.outcomes)]
    if claim.comparator_classes:
        df = df[df["comparator_class"].isna() | df["comparator_class"].astype(str).isin(claim.comparator_classes)]
    labels = claim.params.get("review_timepoints") or claim.params.get("timepoint_labels") or claim.params.get("review_windows")
    if labels:
        labels = [labels] if isinstance(labels, str) else list(labels)
        df = df[df["timepoint_label"].astype(str).isin(labels) | df["window"].astype(str).isin(labels)]
    elif claim.windows:
        df = df[df["window"].isna() | df["window"].astype(str).isin(claim.windows)]
    return df


def _describe_review(r: Mapping, mid: float) -> str:
    measure = str(r.get("measure") if isinstance(r.get("measure"), str) else "SMD")
    bits = [format_effect(measure, r.get("estimate"), r.get("ci_low"), r.get("ci_high"))]
    for key, fmt in (("k", "k={}"), ("i2", "I2={:.0f}%"), ("certainty", "certainty {}")):
        v = r.get(key)
        if v is not None and not (isinstance(v, float) and math.isnan(v)) and v is not pd.NA and str(v) not in ("", "nan", "<NA>"):
            if key == "i2":
                v = float(v)
            elif key == "k" and _isfinite(v):
                v = int(float(v))  # a count, never "k=5.0"
            bits.append(fmt.format(v))
    when = r.get("timepoint_label") if isinstance(r.get("timepoint_label"), str) else r.get("window")
    if not _window_known(when):
        when = "time point not placed in a window"
    comp = r.get("comparator_class")
    where = ", ".join(str(x) for x in (r.get("outcome"), f"vs {comp}" if isinstance(comp, str) else None, when) if isinstance(x, str))
    return f"{where}: {', '.join(bits)} -> {_classify_row(r, mid)}"


def _norm_text(text: str) -> str:
    t = str(text).replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", "-")
    return " ".join(t.lower().split())


def _short_list(items, n: int = 3) -> str:
    items = list(dict.fromkeys(items))
    if not items:
        return "no source"
    text = ", ".join(items[:n])
    return text + (f" and {len(items) - n} more" if len(items) > n else "")


def _line_agrees(line: str) -> bool:
    """A trial line "... -> <class>; expected <want>" agrees when its class matches."""
    got = line.rsplit(" -> ", 1)[-1].split(";")[0].strip()
    want = line.rsplit("expected ", 1)[-1].strip()
    return (got in BENEFIT_CLASSES) if want == "benefit" else (got == NO_CLEAR_DIFFERENCE)


def _window_known(value) -> bool:
    return isinstance(value, str) and value.strip() not in ("", "nan", "<NA>")
