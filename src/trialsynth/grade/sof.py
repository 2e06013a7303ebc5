"""A GRADE summary-of-findings draft per outcome x comparator x window, computed from the data.

:func:`draft_sof` takes the pooled frame (``GroupedResults.to_frame()``) and the study rows that
entered it (with ``rob``, ``n1``, ``n2`` and, when available, the pooled weights) and returns one
row per group with, for every domain, three columns: ``<domain>`` (the judgement word, editable),
``<domain>_reason`` (the numbers behind it) and ``<domain>_rule`` (the rule as text). Certainty
starts at high and is recomputed from the judgements by :func:`recompute_certainty`, so a reviewer
who edits a field (in the CSV, or with :func:`apply_overrides`) gets a consistent rating.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trialsynth.claims.effects import DEFAULT_MID_SMD, MID_SOURCE, benefit_sign
from trialsynth.data.io import atomic_write_text, neutralise_cell
from trialsynth.errors import ArgumentError
from trialsynth.grade import rules as R

KEY = ("outcome", "comparator_class", "window")


@dataclass(frozen=True)
class GradeSettings:
    """Thresholds of the draft. Defaults and their sources are in :data:`trialsynth.grade.rules.RULES`."""

    mid: float = DEFAULT_MID_SMD
    mid_source: str = MID_SOURCE
    alpha: float = 0.05
    power: float = 0.80
    ois: int | None = None  # None: computed from the MID
    rob_serious: float = 0.5
    rob_very_serious: float = 0.5
    i2_serious: float = 50.0
    i2_very_serious: float = 75.0
    min_k_publication: int = 10
    egger_alpha: float = 0.10
    design: str = "randomised trials"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if not (isinstance(self.mid, (int, float)) and self.mid > 0):
            raise ArgumentError(f"mid: expected a positive number, got {self.mid!r}")

    @property
    def optimal_information_size(self) -> int:
        return int(self.ois) if self.ois else R.optimal_information_size(self.mid, alpha=self.alpha, power=self.power)

    def rules(self) -> dict[str, str]:
        """The rule text of every domain with this draft's thresholds filled in."""
        fmt = dict(rob_serious=self.rob_serious, rob_very_serious=self.rob_very_serious, i2_serious=self.i2_serious,
                   i2_very_serious=self.i2_very_serious, alpha=self.alpha, power=self.power, mid_source=self.mid_source,
                   min_k_publication=self.min_k_publication, egger_alpha=self.egger_alpha)
        out = {k: v.format(**fmt) for k, v in R.RULES.items()}
        out["imprecision"] += f" With MID {self.mid:g} the OIS is {self.optimal_information_size} participants."
        return out


SOF_COLUMNS = [
    *KEY, "k", "participants", "measure", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2", "effect_text",
    "design", "start",
    *[c for d in R.DOMAINS for c in (d, f"{d}_reason", f"{d}_rule")],
    "downgrades", "certainty", "footnotes", "profile", "study_ids",
]


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _study_ids(value) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [s.strip() for s in value.replace(";", ",").split(",") if s.strip()]
    return [str(v) for v in value]


def _group_studies(studies: pd.DataFrame | None, key: Mapping, ids: list[str]) -> pd.DataFrame:
    if studies is None or len(studies) == 0:
        return pd.DataFrame()
    m = studies
    for col in KEY:
        if col in m.columns and key.get(col) is not None:
            m = m[m[col].astype(str) == str(key[col])]
    if ids and "study_id" in m.columns:
        m = m[m["study_id"].astype(str).isin(ids)]
    if "study_id" in m.columns:
        m = m.drop_duplicates("study_id")
    return m


def draft_sof(pooled: pd.DataFrame, studies: pd.DataFrame | None = None, *, settings: GradeSettings | None = None,
              egger_p: Mapping | None = None, weights: Mapping | None = None, extra_keys: Sequence[str] = ()) -> pd.DataFrame:
    """Draft the SoF table.

    Parameters
    ----------
    pooled : DataFrame
        One row per group with ``outcome``, ``comparator_class``, ``window``, ``k``, ``estimate``,
        ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``, ``i2``, ``measure``, ``study_ids``.
    studies : DataFrame, optional
        The study rows (``study_id``, the key columns, ``rob``, ``n1``, ``n2``). Without it risk of
        bias is "not assessed" for every study (serious) and participants are unknown.
    egger_p : mapping, optional
        Group key tuple -> Egger test p-value (used only when k >= 10).
    weights : mapping, optional
        Group key tuple -> {study_id: weight}; equal weights when absent.
    extra_keys : sequence of str
        Further grouping columns of ``pooled`` to carry (e.g. ``condition``).
    """
    settings = settings or GradeSettings()
    if not isinstance(pooled, pd.DataFrame):
        raise ArgumentError(f"pooled: expected a pandas DataFrame, got {type(pooled).__name__}")
    missing = [c for c in (*KEY, "k", "estimate", "ci_low", "ci_high") if c not in pooled.columns]
    if missing and len(pooled):
        raise ArgumentError(f"pooled: missing column(s) {', '.join(missing)}")
    rules = settings.rules()
    ois = settings.optimal_information_size
    rows = []
    for rec in pooled.to_dict("records"):
        key = tuple(rec.get(c) for c in KEY)
        ids = _study_ids(rec.get("study_ids"))
        grp = _group_studies(studies, rec, ids)
        measure = str(rec.get("measure") or "SMD")
        sign = benefit_sign(measure)
        k = int(rec["k"]) if _finite(rec.get("k")) else 0
        rob_values = list(grp["rob"]) if "rob" in grp.columns else ["" for _ in (ids or range(k))]
        w_map = (weights or {}).get(key)
        w = [float(w_map.get(s, 0.0)) for s in grp["study_id"]] if (w_map and "study_id" in grp.columns) else None
        participants = math.nan
        if {"n1", "n2"} <= set(grp.columns) and len(grp):
            n = pd.to_numeric(grp["n1"], errors="coerce") + pd.to_numeric(grp["n2"], errors="coerce")
            if n.notna().all():
                participants = float(n.sum())
        rob = R.judge_risk_of_bias(rob_values, w, serious=settings.rob_serious, very_serious=settings.rob_very_serious)
        inc = R.judge_inconsistency(rec.get("i2"), rec.get("ci_low"), rec.get("ci_high"), rec.get("pi_low"), rec.get("pi_high"), k,
                                    mid=settings.mid, benefit_sign=sign, serious_i2=settings.i2_serious, very_serious_i2=settings.i2_very_serious)
        imp = R.judge_imprecision(rec.get("ci_low"), rec.get("ci_high"), participants, mid=settings.mid, ois=ois, benefit_sign=sign)
        pub = R.judge_publication_bias(k, (egger_p or {}).get(key), min_k=settings.min_k_publication, alpha=settings.egger_alpha)
        ind = R.Judgement(R.NOT_SERIOUS, 0, "not assessed from the data (reviewer's judgement)")
        row = {c: rec.get(c) for c in KEY}
        for c in extra_keys:
            row[c] = rec.get(c)
        row.update({
            "k": k, "participants": participants, "measure": measure,
            "estimate": rec.get("estimate"), "ci_low": rec.get("ci_low"), "ci_high": rec.get("ci_high"),
            "pi_low": rec.get("pi_low"), "pi_high": rec.get("pi_high"), "i2": rec.get("i2"),
            "effect_text": _effect_text(measure, rec), "design": settings.design, "start": "high",
            "profile": rec.get("profile"), "study_ids": ";".join(ids),
        })
        for name, j in (("risk_of_bias", rob), ("inconsistency", inc), ("indirectness", ind), ("imprecision", imp), ("publication_bias", pub)):
            row[name] = j.level
            row[f"{name}_reason"] = j.reason
            row[f"{name}_rule"] = rules[name]
        rows.append(row)
    cols = list(KEY) + list(extra_keys) + [c for c in SOF_COLUMNS if c not in KEY]
    table = pd.DataFrame(rows, columns=cols)
    return recompute_certainty(table)


def _effect_text(measure: str, rec: Mapping) -> str:
    if not all(_finite(rec.get(c)) for c in ("estimate", "ci_low", "ci_high")):
        return "no estimate"
    return f"{measure} {float(rec['estimate']):.2f} ({float(rec['ci_low']):.2f} to {float(rec['ci_high']):.2f})"


def recompute_certainty(table: pd.DataFrame) -> pd.DataFrame:
    """Recompute ``downgrades``, ``certainty`` and ``footnotes`` from the domain fields (after edits)."""
    out = table.copy()
    downs, certs, notes = [], [], []
    for rec in out.to_dict("records"):
        total = 0
        foot = []
        for d in R.DOMAINS:
            n = R.downgrade_of(d, rec[d])
            total += n
            if n:
                foot.append(f"{d.replace('_', ' ')} -{n}: {rec.get(f'{d}_reason', '')}")
        downs.append(total)
        certs.append(R.certainty_from_downgrades(total, start=str(rec.get("start") or "high")))
        notes.append(" | ".join(foot))
    out["downgrades"] = downs
    out["certainty"] = certs
    out["footnotes"] = notes
    return out


def apply_overrides(table: pd.DataFrame, overrides: Sequence[Mapping]) -> pd.DataFrame:
    """Apply a reviewer's edits and recompute certainty.

    Each override is a mapping with the key columns (``outcome``, ``comparator_class``, ``window``),
    ``domain`` (one of :data:`trialsynth.grade.rules.DOMAINS`), ``level`` and ``reason``. The reason
    is required: an edited judgement must say why.
    """
    out = table.copy()
    for i, ov in enumerate(overrides):
        domain = ov.get("domain")
        if domain not in R.DOMAINS:
            raise ArgumentError(f"overrides[{i}].domain: expected one of {', '.join(R.DOMAINS)}, got {domain!r}")
        R.downgrade_of(domain, ov.get("level"))
        if not ov.get("reason"):
            raise ArgumentError(f"overrides[{i}].reason: an edited judgement needs a reason")
        mask = pd.Series(True, index=out.index)
        for c in KEY:
            if c in ov:
                mask &= out[c].astype(str) == str(ov[c])
        if not mask.any():
            raise ArgumentError(f"overrides[{i}]: no SoF row matches {', '.join(f'{c}={ov[c]!r}' for c in KEY if c in ov)}")
        out.loc[mask, domain] = str(ov["level"]).strip().lower().replace("_", " ")
        out.loc[mask, f"{domain}_reason"] = f"edited: {ov['reason']}"
    return recompute_certainty(out)


# ------------------------------------------------------------------------- exports

DISPLAY_COLUMNS = ["outcome", "comparator_class", "window", "k", "participants", "effect_text", "risk_of_bias", "inconsistency",
                   "indirectness", "imprecision", "publication_bias", "certainty", "footnotes"]

def sof_to_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the full table (every field, reason and rule) as CSV, formula-injection safe, atomically."""
    safe = table.map(neutralise_cell)
    text = safe.to_csv(index=False)
    return atomic_write_text(Path(path), text)


def sof_to_markdown(table: pd.DataFrame, *, settings: GradeSettings | None = None) -> str:
    """A Markdown SoF table (display columns), then the rules of each domain."""
    settings = settings or GradeSettings()
    cols = [c for c in DISPLAY_COLUMNS if c in table.columns]

    def cell(v):
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:g}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(c.replace("_", " ") for c in cols) + " |", "|" + "---|" * len(cols)]
    for rec in table[cols].to_dict("records"):
        lines.append("| " + " | ".join(cell(rec[c]) for c in cols) + " |")
    lines.append("")
    lines.append("**Rules** (every judgement is a draft; edit the field and give a reason):")
    lines.append("")
    for domain, text in settings.rules().items():
        lines.append(f"* **{domain.replace('_', ' ')}**: {text}")
    return "\n".join(lines) + "\n"


def sof_to_html(table: pd.DataFrame, *, settings: GradeSettings | None = None, title: str = "Summary of findings (GRADE draft)") -> str:
    """A standalone, escaped HTML page of the SoF table with the rules."""
    settings = settings or GradeSettings()
    cols = [c for c in DISPLAY_COLUMNS if c in table.columns]
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in cols)
    body = []
    for rec in table[cols].to_dict("records"):
        cells = []
        for c in cols:
            v = rec[c]
            v = "" if isinstance(v, float) and math.isnan(v) else (f"{v:g}" if isinstance(v, float) else str(v))
            cls = f" class='cert-{v.replace(' ', '-')}'" if c == "certainty" else ""
            cells.append(f"<td{cls}>{html.escape(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    rules = "".join(f"<li><b>{html.escape(d.replace('_', ' '))}</b>: {html.escape(t)}</li>" for d, t in settings.rules().items())
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>table{{border-collapse:collapse;font:13px sans-serif}}"
        "td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top}th{background:#eee}"
        ".cert-high{background:#cfe8cf}.cert-moderate{background:#e5f0c8}.cert-low{background:#f7e3bf}.cert-very-low{background:#f2c4c4}</style>"
        f"</head><body><h1>{html.escape(title)}</h1><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<h2>Rules</h2><ul>{rules}</ul></body></html>\n"
    )


def sof_table_html(table: pd.DataFrame) -> str:
    """The SoF display columns as an HTML fragment (for notebooks)."""
    cols = [c for c in DISPLAY_COLUMNS if c in table.columns]
    return table[cols].to_html(index=False, escape=True, na_rep="")


