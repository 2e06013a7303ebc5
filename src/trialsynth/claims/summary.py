"""The article's summary, reproduced or corrected from the pooled evidence and the verdicts."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from trialsynth.claims.effects import (
    BENEFIT_CLASSES,
    DEFAULT_MID_SMD,
    IMPORTANT_BENEFIT,
    NO_DATA,
    classify_effect,
    mid_for,
)
from trialsynth.claims.verdicts import VERDICTS, WINDOW_ORDER, describe_pooled_row
from trialsynth.data.cells import as_add_on, comparison_label

_COMPARATOR_ORDER = ("sham", "no_treatment", "usual_care", "active", "any")


def _comparisons(df: pd.DataFrame | None, comparators: Sequence[str] | None = None) -> list[tuple]:
    """The ``(comparator_class, add_on)`` pairs of ``df`` (head to head before add-on), in
    comparator order; ``comparators`` adds head-to-head rows for classes with no cell, so that a
    figure shows their gaps."""
    pairs = set()
    if df is not None and len(df):
        add = df["add_on"] if "add_on" in df.columns else pd.Series(False, index=df.index)
        pairs = {(str(c), as_add_on(a)) for c, a in zip(df["comparator_class"].astype(str), add)}
    if comparators:
        pairs = {p for p in pairs if p[0] in comparators}
        for c in comparators:
            if not any(p[0] == c for p in pairs):
                pairs.add((c, False))
    order = {c: i for i, c in enumerate(comparators or _COMPARATOR_ORDER)}
    return sorted(pairs, key=lambda p: (order.get(p[0], 99), p[0], str(p[1])))


def _cells_of(df: pd.DataFrame | None, comp: tuple, window: str) -> pd.DataFrame:
    if df is None or len(df) == 0:
        return pd.DataFrame()
    add = df["add_on"].map(as_add_on) if "add_on" in df.columns else pd.Series(False, index=df.index)
    return df[(df["comparator_class"].astype(str) == comp[0]) & (add == comp[1]) & (df["window"].astype(str) == window)]


def _class(r, mid: float, outcome: str) -> str:
    measure = str(r.get("measure") or "SMD")
    return classify_effect(r["estimate"], r["ci_low"], r["ci_high"], mid=mid_for(measure, mid, outcome), measure=measure).label


def evidence_pattern(pooled: pd.DataFrame | None, *, outcome: str = "pain", mid: float = DEFAULT_MID_SMD) -> pd.DataFrame:
    """One row per comparison (comparator class and add-on): the effect class in each window
    (``immediate`` ... ``long``).

    This is the table that makes "mixed results" visible: read across a row for durability, down a
    column for the comparison. ``comparison`` says it in words ("acupuncture + usual care vs usual
    care"); add-on and head-to-head comparisons are separate rows.
    """
    cols = ["comparator_class", "add_on", "comparison", *WINDOW_ORDER]
    if pooled is None or len(pooled) == 0:
        return pd.DataFrame(columns=cols)
    df = pooled[pooled["outcome"].astype(str) == outcome]
    out = []
    for comp in _comparisons(df):
        row = {"comparator_class": comp[0], "add_on": comp[1], "comparison": comparison_label(*comp)}
        for w in WINDOW_ORDER:
            m = _cells_of(df, comp, w)
            row[w] = NO_DATA if len(m) == 0 else _class(m.iloc[0], mid, outcome)
        out.append(row)
    return pd.DataFrame(out, columns=cols)


GRID_COLUMNS = ["comparator_class", "add_on", "comparison", "window", "effect_class", "effect_text", "k",
                "conclusion_depends_on_method", "method_classes", "conclusion_depends_on_sensitivity", "sensitivity_changes"]


def _flag(value) -> bool:
    return bool(value) if value is not None and not pd.isna(value) else False


def evidence_grid(pooled: pd.DataFrame | None, *, outcome: str = "pain", mid: float = DEFAULT_MID_SMD,
                  comparators: Sequence[str] | None = None) -> pd.DataFrame:
    """The comparison x time-window grid of one outcome in long form, one row per cell: its class
    (as :func:`evidence_pattern`), the pooled effect with its CI as a reader reads it, k, and
    whether the class depends on the method profile or on a sensitivity analysis. Each comparison
    (comparator class x add-on) is its own row of cells; cells with no pooled estimate are rows too
    (class ``no data``), so that a figure of the grid shows the gaps."""
    from trialsynth.effects.scales import format_effect

    df = pooled[pooled["outcome"].astype(str) == outcome] if pooled is not None and len(pooled) else None
    rows = []
    for comp in _comparisons(df, comparators):
        for w in WINDOW_ORDER:
            m = _cells_of(df, comp, w)
            base = {"comparator_class": comp[0], "add_on": comp[1], "comparison": comparison_label(*comp), "window": w}
            if len(m) == 0:
                rows.append({**base, "effect_class": NO_DATA, "effect_text": "", "k": 0, "conclusion_depends_on_method": False,
                             "method_classes": "", "conclusion_depends_on_sensitivity": False, "sensitivity_changes": ""})
                continue
            r = m.iloc[0]
            measure = str(r.get("measure") or "SMD")
            rows.append({
                **base,
                "effect_class": _class(r, mid, outcome),
                "effect_text": format_effect(measure, r["estimate"], r["ci_low"], r["ci_high"]),
                "k": int(r["k"]),
                "conclusion_depends_on_method": _flag(r.get("conclusion_depends_on_method")),
                "method_classes": str(r.get("method_classes") or ""),
                "conclusion_depends_on_sensitivity": _flag(r.get("conclusion_depends_on_sensitivity")),
                "sensitivity_changes": str(r.get("sensitivity_changes") or ""),
            })
    return pd.DataFrame(rows, columns=GRID_COLUMNS)


def summarise_article(verdicts: pd.DataFrame, pooled: pd.DataFrame | None, *, outcome: str = "pain", mid: float = DEFAULT_MID_SMD,
                      article_summary: str | None = None) -> str:
    """The article's summary with what the data say beside it, as plain text (Markdown-safe).

    It lists, per comparator, where the pooled effect is an important benefit, a small benefit or
    unclear, then the count of verdicts, then a corrected summary sentence built only from those
    classes (no number is typed in: every figure comes from ``pooled``).
    """
    lines = []
    if article_summary:
        lines.append(f"The article says: \"{' '.join(article_summary.split())}\"")
    counts = verdicts["verdict"].value_counts() if verdicts is not None and len(verdicts) else pd.Series(dtype=int)
    if len(counts):
        lines.append("Verdicts: " + ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS if counts.get(v, 0)))
    pattern = evidence_pattern(pooled, outcome=outcome, mid=mid)
    if len(pattern) == 0:
        lines.append(f"The data hold no pooled {outcome} estimate, so the summary can be neither reproduced nor corrected.")
        return "\n\n".join(lines)
    sentences = []
    df = pooled[pooled["outcome"].astype(str) == outcome]
    for _, prow in pattern.iterrows():
        label = comparison_label(prow["comparator_class"], prow["add_on"])
        benefit_w = [w for w in WINDOW_ORDER if prow[w] in BENEFIT_CLASSES]
        important_w = [w for w in WINDOW_ORDER if prow[w] == IMPORTANT_BENEFIT]
        unclear_w = [w for w in WINDOW_ORDER if prow[w] not in BENEFIT_CLASSES and prow[w] != NO_DATA]
        if important_w:
            s = f"{label}: an important benefit in the {', '.join(important_w)} term"
        elif benefit_w:
            s = f"{label}: a statistically clear but small benefit (below the MID of {mid:g}) in the {', '.join(benefit_w)} term"
        else:
            s = f"{label}: no clear benefit"
        if unclear_w and benefit_w:
            s += f", not clear in the {', '.join(unclear_w)} term"
        sentences.append(s)
    lines.append("What the pooled data say on " + outcome + ": " + "; ".join(sentences) + ".")
    detail = [describe_pooled_row(r, mid=mid) for r in df.sort_values([c for c in ("comparator_class", "add_on", "window") if c in df.columns]).to_dict("records")]
    lines.append("Numbers: " + " | ".join(detail))
    any_important = (pattern[list(WINDOW_ORDER)] == IMPORTANT_BENEFIT).any().any()
    sham = pattern[pattern["comparator_class"] == "sham"]
    sham_important = bool(len(sham)) and (sham[list(WINDOW_ORDER)] == IMPORTANT_BENEFIT).any().any()
    late_benefit = (pattern[["intermediate", "long"]].isin(BENEFIT_CLASSES)).any().any()
    corrected = "Corrected summary: acupuncture "
    corrected += "relieves back pain more than no treatment or usual care" if any_important else "shows at most small effects on back pain"
    if len(sham):
        corrected += ", but its advantage over sham needling is " + ("clinically important" if sham_important else "small or unclear")
    corrected += "; " + ("some benefit is still measurable in the later windows" if late_benefit else "no benefit is clear beyond the short term") + "."
    lines.append(corrected)
    return "\n\n".join(lines)


__all__: Sequence[str] = ["GRID_COLUMNS", "evidence_grid", "evidence_pattern", "summarise_article"]
