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
    HARM,
    IMPORTANT_BENEFIT,
    NO_CLEAR_DIFFERENCE,
    NO_DATA,
    SCALE_MIDS,
    SMALL_BENEFIT,
    UNSIZED_BENEFIT,
    benefit_sign,
    classify_effect,
    format_effect,
    is_ratio,
    format_interval,
    mid_for,
)
from trialsynth.claims.records import Claim, require_claim
from trialsynth.data.cells import COMPARATOR_WORDS, as_add_on, cell_label, comparison_label
from trialsynth.errors import ArgumentError

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
MIXED = "mixed"
INSUFFICIENT = "insufficient evidence"
VERDICTS = (SUPPORTED, CONTRADICTED, MIXED, INSUFFICIENT)

EARLY_WINDOWS = ("immediate", "short")
LATE_WINDOWS = ("intermediate", "long")
WINDOW_ORDER = ("immediate", "short", "intermediate", "long")
COMPARATOR_LABELS = {
    "sham": "sham",
    "no_treatment": "no treatment / waiting list",
    "usual_care": "usual care",
    "active": "active treatment",
}

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
    return text + (_depends_note(row) if _depends(row) else "")


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


def _norm_certainty(value) -> str:
    return str(value).strip().lower().replace("_", " ").replace("-", " ")


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


def _window_known(value) -> bool:
    return isinstance(value, str) and value.strip() not in ("", "nan", "<NA>")


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


def _norm_text(text: str) -> str:
    t = str(text).replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", "-")
    return " ".join(t.lower().split())


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


#: the checks whose claims are about how long the effect lasts when they span several windows:
#: they also read the joint model of every follow-up (:mod:`trialsynth.claims.durability`), with
#: the stance its reading takes on the claim (None: context, not tested)
JOINT_MODEL_STANCES: dict[str, dict] = {
    # "others suggest it doesn't provide ... long-lasting pain relief": a fading effect is for it
    "mixed_results": {"fades": FOR},
    # "benefits can last until the next follow-up visit": fading is against it; no clear change or
    # more benefit later is consistent with it
    # (no clear change is for it only when the latest window still shows a clear benefit)
    "review_result": {"fades": AGAINST, "no clear change, benefit later": FOR, "more benefit later": FOR},
    # a claim about one trial's own finding: the pooled model is context
    "trial_result": {},
}


def _comparisons_of(claim: Claim) -> list[str]:
    """The claim's comparisons in words, head-to-head and add-on (the durability stage's names)."""
    classes = claim.comparator_classes or tuple(COMPARATOR_WORDS)
    return [comparison_label(c, a) for c in classes for a in (False, True)]


def _with_joint_model(verdict: Verdict, claim: Claim, durability) -> Verdict:
    """``verdict`` with the joint model's reading of the claim's comparisons added to its reason
    and evidence (claims of :data:`JOINT_MODEL_STANCES` spanning two or more windows)."""
    from dataclasses import replace

    from trialsynth.claims.durability import NO_CLEAR_CHANGE, NOT_ESTIMABLE, readings_for

    if claim.check not in JOINT_MODEL_STANCES or (claim.windows and len(claim.windows) < 2):
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


def evaluate_claim(claim: Claim, *, pooled=None, trials=None, reviews=None, sof=None, mid: float | None = None, subset_pooled=None,
                   quotes: Mapping[str, str] | None = None, information: pd.DataFrame | None = None,
                   durability=None) -> Verdict:
    """Run the claim's check; a claim with no known check gets ``insufficient evidence`` saying so.
    ``durability``: the joint models of every follow-up, outcome -> Durability
    (:func:`trialsynth.report.stages.durability_stage`); the durability claims read them too."""
    require_claim(claim)
    func = CHECKS.get(claim.check)
    if func is None:
        return Verdict(claim.id, claim.check or "none", INSUFFICIENT, f"no automatic check for this claim (check {claim.check or 'not named'!r}; known: {', '.join(CHECKS)})")
    verdict = func(claim, pooled=pooled, trials=trials, reviews=reviews, sof=sof, mid=mid, subset_pooled=subset_pooled,
                   quotes=quotes, information=information, durability=durability)
    return _with_joint_model(verdict, claim, durability) if durability is not None else verdict


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
