"""The one display formatter: how every table a person reads shows its numbers.

Every table of the notebooks, ``reports/index.html`` and the exports goes through
:func:`display_table`, so that a reader sees the same thing everywhere:

* an effect as ``SMD -0.31 (-0.55 to -0.06)`` with its measure on every row, ratios as ratios
  (``RR 1.33 (1.04 to 1.70)``, back-transformed from the log scale by
  :mod:`trialsynth.effects.scales`), and the prediction interval as ``-0.76 to 0.15``;
* readable headers ("Comparator", "Time after treatment", "I²"), never ``comparator_class``;
* counts as integers (``k = 6``, ``1232`` participants, never ``1232.0``), I² as ``43%``, p-values
  as ``0.015`` or ``<0.001``;
* long notes as footnote markers (a, b, ...) listed once under the table, instead of a column
  that makes each row twenty lines tall;
* text left-aligned, numbers right-aligned.

It only formats: every number comes from the stage that computed it. The CSV exports keep full
precision and say their scale in their column names (``log_estimate`` for ratios).
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from trialsynth.data.cells import ANY, COMPARATOR_WORDS
from trialsynth.effects.scales import (
    base_measure,
    display_values,
    format_effect,
    format_number,
    is_ratio,
)

#: readable names of the columns the package's frames use
HEADERS: dict[str, str] = {
    "study_id": "Study",
    "comparison_id": "Comparison",
    "outcome": "Outcome",
    "comparator_class": "Comparator",
    "comparator": "Comparator",
    "comparison": "Comparison",
    "add_on": "Acupuncture added to the comparator's care",
    "our_comparison": "Our comparison",
    "treatment_course": "Treatment",
    "sham_type": "Sham type",
    "value_type": "Value type",
    "conclusion_depends_on_sensitivity": "Sensitive",
    "sensitivity_changes": "Which sensitivity analysis",
    "window": "Time after treatment",
    "condition": "Population",
    "k": "Studies",
    "participants": "Participants",
    "n1": "n (intervention)",
    "n2": "n (control)",
    "measure": "Measure",
    "effect": "Effect (95% CI)",
    "pi": "95% prediction interval",
    "tau2": "\u03c4\u00b2",
    "tau": "\u03c4",
    "i2": "I\u00b2",
    "q": "Q",
    "q_p_value": "p (heterogeneity)",
    "p_value": "p",
    "profile": "Method profile",
    "study_ids": "Studies included",
    "claim_id": "Claim",
    "check": "Check",
    "verdict": "Verdict",
    "reason": "Reason",
    "year": "Year",
    "country": "Country",
    "comparators": "Comparators",
    "outcomes": "Outcomes",
    "data_shapes": "Data shapes",
    "rows": "Rows",
    "rob": "Risk of bias",
    "source_ref": "Source",
    "source_location": "Location in source",
    "quote_ids": "Quotes",
    "timepoint_weeks": "Week",
    "weeks_after": "Weeks after treatment",
    "yi": "Effect (analysis scale)",
    "vi": "Variance",
    "approximate": "Approximate",
    "certainty": "Certainty",
    "certainty_text": "Certainty",
    "statement": "What happens",
    "effect_text": "Effect (95% CI)",
    "fit": "Fit",
    "estimate": "Estimate",
    "ci_low": "CI low",
    "ci_high": "CI high",
    "pi_low": "PI low",
    "pi_high": "PI high",
    "conclusion_depends_on_method": "Depends on method",
    "effect_class": "Class",
    "published": "Published",
    "published_k": "Studies (published)",
    "ours": "Our re-pooling",
    "ours_k": "Studies (ours)",
    "ours_studies": "Our studies",
    "review": "Review",
    "source": "Source",
}

#: columns holding counts (shown as integers)
COUNT_COLUMNS = frozenset({"k", "participants", "n1", "n2", "rows", "year", "published_k", "ours_k", "q_df", "downgrades",
                           "n", "studies", "events1", "events2"})
#: columns holding p-values
P_COLUMNS = frozenset({"p_value", "q_p_value", "pval", "p"})
#: columns holding percentages (I²)
PERCENT_COLUMNS = frozenset({"i2"})

WINDOW_NAMES = {
    "immediate": "immediately after",
    "short": "short term",
    "intermediate": "intermediate term",
    "long": "long term",
}
#: the comparator classes in words (one list, :data:`trialsynth.data.cells.COMPARATOR_WORDS`)
COMPARATOR_NAMES = {k: v for k, v in COMPARATOR_WORDS.items() if k != ANY}


CONDITION_NAMES = {
    "chronic_lbp": "chronic LBP",
    "mixed_lbp": "LBP, mixed or unstated duration",
    "acute_lbp": "acute LBP",
    "subacute_lbp": "subacute LBP",
    "acute_subacute_lbp": "acute or subacute LBP",
    "sciatica": "sciatica",
}
DATA_SHAPE_NAMES = {
    "arm_continuous": "arm means",
    "arm_binary": "arm events",
    "contrast": "difference with CI/SE",
    "test_only": "p-value or test only",
}
OUTCOME_NAMES = {"quality_of_life": "quality of life"}
#: coded values of data columns, as a reader reads them (:func:`value_words`)
VALUE_NAMES = {"condition": CONDITION_NAMES, "comparator_class": COMPARATOR_NAMES, "window": WINDOW_NAMES,
               "data_shape": DATA_SHAPE_NAMES, "outcome": OUTCOME_NAMES}


def value_words(column: str, value) -> str:
    """A coded value of ``column`` in words (``("condition", "chronic_lbp")`` -> "chronic LBP");
    other values as they are."""
    return VALUE_NAMES.get(column, {}).get(str(value), str(value))


def header(column: str) -> str:
    """The readable header of ``column`` (``comparator_class`` -> ``Comparator``)."""
    if column in HEADERS:
        return HEADERS[column]
    text = str(column)
    if text != text.lower() or " " in text or "-" in text:  # already a header, or a name ("cochrane-2025")
        return text
    return text.replace("_", " ").capitalize()


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() in ("", "nan", "<NA>", "None")


def format_count(value) -> str:
    """``6``, never ``6.0``; empty when missing."""
    if _missing(value):
        return ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(round(v))) if math.isfinite(v) and v == round(v) else format_number(v, 1)


def format_p(value) -> str:
    """``0.015``, ``0.30``, ``<0.001``; empty when missing."""
    if _missing(value):
        return ""
    p = float(value)
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def format_percent(value) -> str:
    return "" if _missing(value) else f"{float(value):.0f}%"


def format_probability(value, digits: int = 1) -> str:
    """A probability (0-1) as a percentage a reader reads, never rounded to 0% or 100%:
    ``98.5%``, ``>99.9%``, ``<0.1%`` (``digits`` 1); ``>99%``, ``<1%`` (``digits`` 0); empty when
    missing."""
    if _missing(value):
        return ""
    text = f"{100 * float(value):.{digits}f}"
    step = 10.0 ** -digits  # the last digit shown
    if float(text) >= 100:
        return f">{100 - step:.{digits}f}%"
    if float(text) <= 0:
        return f"<{step:.{digits}f}%"
    return text + "%"


def format_value(column: str, value, digits: int = 2) -> str:
    """One cell as a reader sees it (by the column's kind)."""
    if _missing(value):
        return ""
    if column == "add_on" and str(value).strip().lower() in ("true", "false", "1", "0"):
        return "add-on" if str(value).strip().lower() in ("true", "1") else "head to head"
    if isinstance(value, str) and column in VALUE_NAMES:  # coded values in words ("quality_of_life")
        return value_words(column, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column in COUNT_COLUMNS:
        return format_count(value)
    if column in P_COLUMNS:
        return format_p(value)
    if column in PERCENT_COLUMNS:
        return format_percent(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "dtype", None) is not None and
                                    str(getattr(value, "dtype")).startswith("float")):
        v = float(value)
        if column in ("tau2", "vi"):
            return f"{v:.3g}" if v != 0 else "0"
        if v == round(v) and abs(v) < 1e6 and column not in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "yi"):
            return str(int(v))
        return format_number(v, digits)
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if column == "window":
        return WINDOW_NAMES.get(text, text)
    if column in ("comparator_class", "comparator"):
        return COMPARATOR_NAMES.get(text, text.replace("_", " "))
    if column == "study_ids":
        return ", ".join(s.strip() for s in text.replace(";", ",").split(",") if s.strip())
    return text


def effect_text(row: Mapping, *, prefix: str = "", digits: int = 2) -> str:
    """``SMD -0.31 (-0.55 to -0.06)`` from a row's ``measure``, ``estimate``, ``ci_low``, ``ci_high``
    (analysis scale: ratios are back-transformed); ``prefix`` names other columns (``log_``...)."""
    return format_effect(str(row.get("measure") or "SMD"), row.get(prefix + "estimate"), row.get(prefix + "ci_low"),
                         row.get(prefix + "ci_high"), digits=digits)


def interval_text(row: Mapping, low: str = "pi_low", high: str = "pi_high", *, digits: int = 2) -> str:
    """``-0.76 to 0.15`` (a ratio's interval back-transformed); empty when missing."""
    measure = str(row.get("measure") or "SMD")
    lo, hi = display_values(measure, row.get(low), row.get(high))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    r = is_ratio(measure)
    return f"{format_number(lo, digits, ratio=r)} to {format_number(hi, digits, ratio=r)}"


@dataclass
class DisplayTable:
    """A table ready to read: string cells, readable headers, footnotes listed once.

    ``frame`` holds the cells (strings), ``numeric`` the names of the right-aligned columns,
    ``footnotes`` the notes in marker order (``a``, ``b``, ...), ``caption`` an optional title.
    """

    frame: pd.DataFrame
    numeric: set = field(default_factory=set)
    footnotes: list = field(default_factory=list)
    caption: str | None = None
    html_columns: set = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.frame)

    def to_html(self, *, classes: str = "trialsynth display") -> str:
        """An escaped HTML table (cells named in ``html_columns`` are trusted markup made here)."""
        esc = _html.escape
        parts = [f"<table class='{esc(classes)}'>"]
        if self.caption:
            parts.append(f"<caption>{esc(self.caption)}</caption>")
        parts.append("<thead><tr>")
        for col in self.frame.columns:
            align = "right" if col in self.numeric else "left"
            parts.append(f"<th style='text-align:{align}'>{esc(str(col))}</th>")
        parts.append("</tr></thead><tbody>")
        for rec in self.frame.itertuples(index=False):
            parts.append("<tr>")
            for col, value in zip(self.frame.columns, rec):
                align = "right" if col in self.numeric else "left"
                cell = str(value) if col in self.html_columns else esc(str(value))
                nowrap = ";white-space:nowrap" if col in self.numeric else ""
                parts.append(f"<td style='text-align:{align}{nowrap}'>{cell}</td>")
            parts.append("</tr>")
        parts.append("</tbody></table>")
        if self.footnotes:  # the letters are written out: a notebook's CSS may renumber an <ol type='a'>
            parts.append("<div class='footnotes' style='font-size:90%;margin-top:.3em'>"
                         + "".join(f"<div><sup>{_marker(i)}</sup> {esc(n)}</div>" for i, n in enumerate(self.footnotes)) + "</div>")
        return "".join(parts)

    def to_markdown(self) -> str:
        cols = list(self.frame.columns)

        def cell(v):
            return str(v).replace("|", "\\|").replace("\n", " ")

        lines = ["| " + " | ".join(cell(c) for c in cols) + " |",
                 "|" + "".join("---:|" if c in self.numeric else "---|" for c in cols)]
        for rec in self.frame.itertuples(index=False):
            lines.append("| " + " | ".join(cell(v) for v in rec) + " |")
        if self.footnotes:
            lines.append("")
            lines += [f"{_marker(i)}. {n}" for i, n in enumerate(self.footnotes)]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.frame.to_string(index=False) + ("\n" + "\n".join(f"{_marker(i)}. {n}" for i, n in enumerate(self.footnotes))
                                                    if self.footnotes else "")


def _marker(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26]


def display_table(df: pd.DataFrame, *, columns: Sequence[str] | None = None, effect: bool | None = None,
                  pi: bool | None = None, notes: Sequence[str] | str = (), rename: Mapping[str, str] | None = None,
                  digits: int = 2, caption: str | None = None, effect_header: str = "Effect (95% CI)",
                  keep: Sequence[str] = ()) -> DisplayTable:
    """Format ``df`` for reading (see the module docstring).

    Parameters
    ----------
    df : DataFrame
        Rows on the analysis scale (ratios as logs) when they carry ``measure``, ``estimate``,
        ``ci_low`` and ``ci_high``.
    columns : sequence of str, optional
        The columns to show, in order. ``"effect"`` stands for the formatted effect (measure,
        estimate and CI in one cell) and ``"pi"`` for the prediction interval.
    effect, pi : bool, optional
        Replace ``measure``/``estimate``/``ci_low``/``ci_high`` by one effect cell and
        ``pi_low``/``pi_high`` by one interval cell (default: when those columns are present).
    notes : str or sequence of str
        Columns whose text becomes footnote markers: the cell shows ``a``, ``b`` ... and each
        distinct note is listed once under the table.
    rename : mapping, optional
        Headers to use instead of :data:`HEADERS`.
    keep : sequence of str
        Columns shown as they are (already formatted text).
    """
    if df is None or len(df) == 0:
        return DisplayTable(pd.DataFrame({"": ["(no rows)"]}))
    if isinstance(notes, str):
        notes = (notes,)
    has_effect = {"estimate", "ci_low", "ci_high"} <= set(df.columns)
    effect = has_effect if effect is None else (effect and has_effect)
    pi = ({"pi_low", "pi_high"} <= set(df.columns)) if pi is None else pi
    if columns is None:
        columns = []
        for c in df.columns:
            if effect and c in ("estimate", "ci_low", "ci_high", "measure"):
                if "effect" not in columns:
                    columns.append("effect")
                continue
            if pi and c in ("pi_low", "pi_high"):
                if "pi" not in columns:
                    columns.append("pi")
                continue
            if c.startswith("log_") or c in ("se", "vi") and effect:
                continue
            columns.append(c)
    rename = dict(rename or {})
    records = df.to_dict("records")
    out: dict[str, list[str]] = {}
    numeric: set = set()
    footnotes: list[str] = []
    index: dict[str, int] = {}
    for col in columns:
        name = rename.get(col) or (effect_header if col == "effect" else header(col))
        values = []
        for rec in records:
            if col == "effect":
                values.append(effect_text(rec, digits=digits))
            elif col == "pi":
                values.append(interval_text(rec, digits=digits))
            elif col in notes:
                text = "" if _missing(rec.get(col)) else " ".join(str(rec.get(col)).split())
                if not text:
                    values.append("")
                    continue
                marks = []
                for piece in [t.strip() for t in text.split(" | ") if t.strip()]:
                    if piece not in index:
                        index[piece] = len(footnotes)
                        footnotes.append(piece)
                    marks.append(_marker(index[piece]))
                values.append(", ".join(dict.fromkeys(marks)))
            elif col in keep:
                values.append("" if _missing(rec.get(col)) else str(rec.get(col)))
            elif col == "measure":
                values.append(base_measure(rec.get(col)) if not _missing(rec.get(col)) else "")
            else:
                values.append(format_value(col, rec.get(col), digits))
        if col in ("effect", "pi") or col in COUNT_COLUMNS or col in P_COLUMNS or col in PERCENT_COLUMNS or (
                col in df.columns and pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])):
            numeric.add(name)
        out[name] = values
    return DisplayTable(pd.DataFrame(out), numeric=numeric, footnotes=footnotes, caption=caption)


def ratio_display_check(text: str) -> list[str]:
    """Every ``RR x (a to b)`` / ``OR x (a to b)`` in ``text`` whose interval is not positive or
    does not contain its estimate (used by the tests of every page the report writes)."""
    import re

    problems = []
    number = r"(-?\d+(?:\.\d+)?(?:e-?\d+)?)"
    for m in re.finditer(rf"\b(RR|OR|HR|IRR|ROM)\s+{number}\s+\(\s*(?:95% CI\s+)?{number}\s+to\s+{number}\s*\)", text):
        est, lo, hi = (float(m.group(i)) for i in (2, 3, 4))
        if lo <= 0 or hi <= 0 or est <= 0 or not (lo <= est <= hi):
            problems.append(m.group(0))
    return problems


def is_ratio_measure(measure) -> bool:
    return is_ratio(None if _missing(measure) else str(measure))


__all__ = ["DisplayTable", "HEADERS", "display_table", "effect_text", "format_count", "format_p", "format_percent",
           "format_probability",
           "format_value", "header", "interval_text", "ratio_display_check"]
