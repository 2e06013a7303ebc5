"""The article's summary, reproduced or corrected from the pooled evidence and the verdicts."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from trialsynth.claims.effects import BENEFIT_CLASSES, DEFAULT_MID_SMD, IMPORTANT_BENEFIT, NO_DATA, classify_effect, mid_for
from trialsynth.claims.verdicts import COMPARATOR_LABELS, VERDICTS, WINDOW_ORDER, describe_pooled_row


def evidence_pattern(pooled: pd.DataFrame | None, *, outcome: str = "pain", mid: float = DEFAULT_MID_SMD) -> pd.DataFrame:
    """One row per comparator: the effect class in each window (``immediate`` ... ``long``).

    This is the table that makes "mixed results" visible: read across a row for durability, down a
    column for the comparator.
    """
    cols = ["comparator_class", *WINDOW_ORDER]
    if pooled is None or len(pooled) == 0:
        return pd.DataFrame(columns=cols)
    df = pooled[pooled["outcome"].astype(str) == outcome]
    out = []
    for comp in sorted(df["comparator_class"].astype(str).unique()):
        row = {"comparator_class": comp}
        for w in WINDOW_ORDER:
            m = df[(df["comparator_class"].astype(str) == comp) & (df["window"].astype(str) == w)]
            if len(m) == 0:
                row[w] = NO_DATA
            else:
                r = m.iloc[0]
                measure = str(r.get("measure") or "SMD")
                row[w] = classify_effect(r["estimate"], r["ci_low"], r["ci_high"], mid=mid_for(measure, mid), measure=measure).label
        out.append(row)
    return pd.DataFrame(out, columns=cols)


GRID_COLUMNS = ["comparator_class", "window", "effect_class", "effect_text", "k", "conclusion_depends_on_method", "method_classes"]


def evidence_grid(pooled: pd.DataFrame | None, *, outcome: str = "pain", mid: float = DEFAULT_MID_SMD,
                  comparators: Sequence[str] | None = None) -> pd.DataFrame:
    """The comparator x time-window grid of one outcome in long form, one row per cell: its class
    (as :func:`evidence_pattern`), the pooled effect with its CI as a reader reads it, k, and
    whether the class depends on the method profile. Cells with no pooled estimate are rows too
    (class ``no data``), so that a figure of the grid shows the gaps."""
    from trialsynth.effects.scales import format_effect

    comps = list(comparators) if comparators else sorted(
        set(pooled["comparator_class"].astype(str)) if pooled is not None and len(pooled) else set())
    rows = []
    df = pooled[pooled["outcome"].astype(str) == outcome] if pooled is not None and len(pooled) else None
    for comp in comps:
        for w in WINDOW_ORDER:
            m = df[(df["comparator_class"].astype(str) == comp) & (df["window"].astype(str) == w)] if df is not None else []
            if len(m) == 0:
                rows.append({"comparator_class": comp, "window": w, "effect_class": NO_DATA, "effect_text": "", "k": 0,
                             "conclusion_depends_on_method": False, "method_classes": ""})
                continue
            r = m.iloc[0]
            measure = str(r.get("measure") or "SMD")
            depends = r.get("conclusion_depends_on_method")
            rows.append({
                "comparator_class": comp, "window": w,
                "effect_class": classify_effect(r["estimate"], r["ci_low"], r["ci_high"], mid=mid_for(measure, mid), measure=measure).label,
                "effect_text": format_effect(measure, r["estimate"], r["ci_low"], r["ci_high"]),
                "k": int(r["k"]),
                "conclusion_depends_on_method": bool(depends) if depends is not None and not pd.isna(depends) else False,
                "method_classes": str(r.get("method_classes") or ""),
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
        comp = prow["comparator_class"]
        label = COMPARATOR_LABELS.get(comp, comp)
        benefit_w = [w for w in WINDOW_ORDER if prow[w] in BENEFIT_CLASSES]
        important_w = [w for w in WINDOW_ORDER if prow[w] == IMPORTANT_BENEFIT]
        unclear_w = [w for w in WINDOW_ORDER if prow[w] not in BENEFIT_CLASSES and prow[w] != NO_DATA]
        if important_w:
            s = f"versus {label}, an important benefit in the {', '.join(important_w)} term"
        elif benefit_w:
            s = f"versus {label}, a statistically clear but small benefit (below the MID of {mid:g}) in the {', '.join(benefit_w)} term"
        else:
            s = f"versus {label}, no clear benefit"
        if unclear_w and benefit_w:
            s += f", not clear in the {', '.join(unclear_w)} term"
        sentences.append(s)
    lines.append("What the pooled data say on " + outcome + ": " + "; ".join(sentences) + ".")
    detail = [describe_pooled_row(r, mid=mid) for r in df.sort_values(["comparator_class", "window"]).to_dict("records")]
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
