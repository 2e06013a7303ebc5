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

from trialsynth.claims.effects import (
    DEFAULT_MID_SMD,
    MID_SOURCE,
    RATIO_MID_HIGH,
    RATIO_MID_LOW,
    RATIO_MID_SOURCE,
    MD100,
    bayes_probability_text,
    benefit_sign,
    classify_effect,
    mid_for,
)
from trialsynth.effects.scales import display_values, format_effect, is_ratio
from trialsynth.data.io import atomic_write_text, neutralise_cell
from trialsynth.errors import ArgumentError
from trialsynth.grade import rules as R

from trialsynth.data.cells import CELL_KEY  # noqa: E402 - one definition of a cell

#: the columns that define a SoF row: the pooled cell (outcome x comparator class x add-on x window)
KEY = CELL_KEY
#: the key columns a pooled frame must have (``add_on`` is read as head to head when absent, for
#: frames made before add-on comparisons were their own cells)
REQUIRED_KEY = ("outcome", "comparator_class", "window")


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
    #: appreciable benefit / harm on a ratio measure when no MID is given (GRADE's RR 0.75 / 1.25)
    ratio_low: float = RATIO_MID_LOW
    ratio_high: float = RATIO_MID_HIGH
    ratio_mid_source: str = RATIO_MID_SOURCE
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
                   min_k_publication=self.min_k_publication, egger_alpha=self.egger_alpha, ratio_mid_source=self.ratio_mid_source)
        out = {k: v.format(**fmt) for k, v in R.RULES.items()}
        out["imprecision"] += f" With MID {self.mid:g} the OIS is {self.optimal_information_size} participants."
        return out


#: ``estimate`` ... ``pi_high`` are on the display scale (ratios as ratios); for ratio measures the
#: analysis (log) values are kept in ``log_estimate`` ... ``log_pi_high``
SOF_COLUMNS = [
    *KEY, "k", "trials", "participants", "measure", "estimate", "ci_low", "ci_high", "pi_low", "pi_high",
    "log_estimate", "log_ci_low", "log_ci_high", "log_pi_low", "log_pi_high", "i2", "effect_text",
    "design", "start",
    *[c for d in R.DOMAINS for c in (d, f"{d}_reason", f"{d}_rule")],
    "conclusion_depends_on_method", "downgrades", "certainty", "provisional", "certainty_text", "statement",
    "footnotes", "profile", "study_ids",
]

#: GRADE's certainty symbols, as GRADEpro prints them
CERTAINTY_SYMBOLS = {"high": "\u2295\u2295\u2295\u2295", "moderate": "\u2295\u2295\u2295\u25ef",
                     "low": "\u2295\u2295\u25ef\u25ef", "very low": "\u2295\u25ef\u25ef\u25ef"}

#: what an outcome's improvement is called in a plain-language statement
OUTCOME_PHRASES = {
    "pain": ("reduce", "reduces", "pain"),
    "function": ("improve", "improves", "function"),
    "responder": ("increase", "increases", "the number of people who respond"),
    "quality_of_life": ("improve", "improves", "quality of life"),
    "global": ("improve", "improves", "global improvement"),
}


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


from trialsynth.pooling.grouped import split_study_ids as _study_ids  # noqa: E402 - one parser of study_ids


def _group_studies(studies: pd.DataFrame | None, key: Mapping, ids: list[str], columns=KEY) -> pd.DataFrame:
    """The rows of ``studies`` behind one SoF row: its cell (matched on ``columns``), and its
    pooled labels (``label``, ``study_id`` plus the comparison where a trial gives two comparisons
    whose shared arm was split, else ``study_id``), one row per label, so that the split n of a
    shared arm is counted once (Cochrane Handbook 23.3.4)."""
    if studies is None or len(studies) == 0:
        return pd.DataFrame()
    m = studies
    for col in columns:
        if col in m.columns and key.get(col) is not None:
            m = m[m[col].astype(str) == str(key[col])]
    name = "label" if "label" in m.columns else "study_id"
    if ids and name in m.columns:
        m = m[m[name].astype(str).isin(ids)]
    if name in m.columns:
        m = m.drop_duplicates(name)
    return m


def draft_sof(pooled: pd.DataFrame, studies: pd.DataFrame | None = None, *, settings: GradeSettings | None = None,
              egger_p: Mapping | None = None, weights: Mapping | None = None, extra_keys: Sequence[str] = (),
              information: pd.DataFrame | None = None) -> pd.DataFrame:
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
    information : DataFrame, optional
        Each cell's required information size (:func:`trialsynth.grade.information_size.assess_cells`:
        the key columns, ``ris``, ``diversity``): imprecision then compares the participants with
        that heterogeneity-adjusted size instead of the single-trial OIS (GRADE's optimal
        information size criterion applied to the meta-analysis; Wetterslev et al. 2009).
    """
    settings = settings or GradeSettings()
    if not isinstance(pooled, pd.DataFrame):
        raise ArgumentError(f"pooled: expected a pandas DataFrame, got {type(pooled).__name__}")
    missing = [c for c in (*REQUIRED_KEY, "k", "estimate", "ci_low", "ci_high") if c not in pooled.columns]
    key_cols = KEY if "add_on" in pooled.columns else REQUIRED_KEY
    if missing and len(pooled):
        raise ArgumentError(f"pooled: missing column(s) {', '.join(missing)}")
    rules = settings.rules()
    ois_continuous = settings.optimal_information_size
    ris = _information_lookup(information)
    rows = []
    for rec in pooled.to_dict("records"):
        key = tuple(rec.get(c) for c in key_cols)
        ids = _study_ids(rec.get("study_ids"))
        grp = _group_studies(studies, rec, ids)
        measure = str(rec.get("measure") or "SMD")
        sign = benefit_sign(measure)
        ratio = is_ratio(measure)
        k = int(rec["k"]) if _finite(rec.get("k")) else 0
        rob_values = list(grp["rob"]) if "rob" in grp.columns else ["" for _ in (ids or range(k))]
        w_map = (weights or {}).get(key)
        name = "label" if "label" in grp.columns else "study_id"
        w = [float(w_map.get(str(s), 0.0)) for s in grp[name]] if (w_map and name in grp.columns) else None
        participants = math.nan
        if {"n1", "n2"} <= set(grp.columns) and len(grp):
            n = pd.to_numeric(grp["n1"], errors="coerce") + pd.to_numeric(grp["n2"], errors="coerce")
            if n.notna().all():
                participants = float(n.sum())
        if ratio:
            # appreciable benefit / harm on the log scale: log 1.25 and -log 0.75 when more is better
            up, down = math.log(settings.ratio_high), -math.log(settings.ratio_low)
            mid, harm_mid = (up, down) if sign > 0 else (down, up)
            name = measure.upper()
            scale = dict(mid=mid, harm_mid=harm_mid, display=lambda *v: display_values(measure, *v),
                         threshold_text=f"{name} {settings.ratio_low:g} / {settings.ratio_high:g}")
            ois = _binary_ois(grp, settings)
        elif measure.upper() == MD100:
            # a mean difference on 0-100: the outcome's MID in points (pain 15, function 10)
            md_mid = mid_for(measure, settings.mid, rec.get("outcome")) or settings.mid
            mid, scale, ois = md_mid, dict(mid=md_mid), ois_continuous
        else:
            mid, scale, ois = settings.mid, dict(mid=settings.mid), ois_continuous
        ois_label = "OIS"
        cell_ris = ris(rec)
        if cell_ris is not None:
            ois, ois_label = cell_ris
        depends = bool(rec.get("conclusion_depends_on_method")) if _known(rec.get("conclusion_depends_on_method")) else False
        depends_text = str(rec.get("method_classes") or "") if depends else None
        rob = R.judge_risk_of_bias(rob_values, w, serious=settings.rob_serious, very_serious=settings.rob_very_serious)
        inc = R.judge_inconsistency(rec.get("i2"), rec.get("ci_low"), rec.get("ci_high"), rec.get("pi_low"), rec.get("pi_high"), k,
                                    benefit_sign=sign, serious_i2=settings.i2_serious, very_serious_i2=settings.i2_very_serious,
                                    **{k_: v for k_, v in scale.items() if k_ != "threshold_text"})
        imp = R.judge_imprecision(rec.get("ci_low"), rec.get("ci_high"), participants, ois=ois, benefit_sign=sign,
                                  method_dependent=depends_text or ("see the method-profile comparison" if depends else None),
                                  ois_label=ois_label, bayes=bayes_probability_text(rec) or None, **scale)
        pub = R.judge_publication_bias(k, (egger_p or {}).get(key), min_k=settings.min_k_publication, alpha=settings.egger_alpha)
        ind = R.Judgement(R.NOT_SERIOUS, 0, "not assessed from the data (reviewer's judgement)")
        row = {c: rec.get(c, False) for c in KEY}
        for c in extra_keys:
            row[c] = rec.get(c)
        shown = display_values(measure, *(rec.get(c) for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")))
        n_trials = int(grp["study_id"].nunique()) if "study_id" in grp.columns and len(grp) else k
        row.update({
            "k": k, "trials": n_trials, "participants": participants, "measure": measure,
            **dict(zip(("estimate", "ci_low", "ci_high", "pi_low", "pi_high"), shown)),
            **{f"log_{c}": (rec.get(c) if ratio else math.nan) for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")},
            "i2": rec.get("i2"),
            "effect_text": format_effect(measure, rec.get("estimate"), rec.get("ci_low"), rec.get("ci_high")),
            "design": settings.design, "start": "high",
            "conclusion_depends_on_method": depends,
            "effect_class": classify_effect(rec.get("estimate"), rec.get("ci_low"), rec.get("ci_high"), mid=mid, measure=measure).label,
            "point_size": _point_size(rec.get("estimate"), sign, mid),
            "profile": rec.get("profile"), "study_ids": ";".join(ids),
        })
        for name, j in (("risk_of_bias", rob), ("inconsistency", inc), ("indirectness", ind), ("imprecision", imp), ("publication_bias", pub)):
            row[name] = j.level
            row[f"{name}_reason"] = j.reason
            row[f"{name}_rule"] = rules[name]
        rows.append(row)
    cols = list(KEY) + list(extra_keys) + [c for c in SOF_COLUMNS if c not in KEY] + ["effect_class", "point_size"]
    table = pd.DataFrame(rows, columns=cols)
    return recompute_certainty(table)


def _information_lookup(information: pd.DataFrame | None):
    """A function cell record -> (RIS, label) from an information-size table, or None for a cell
    it has no finite RIS for (matched on the key columns the table shares with :data:`KEY`)."""
    if information is None or len(information) == 0 or "ris" not in information.columns:
        return lambda rec: None
    cols = [c for c in KEY if c in information.columns]
    table = {tuple(str(r.get(c)) for c in cols): r for r in information.to_dict("records")}

    def lookup(rec):
        row = table.get(tuple(str(rec.get(c)) for c in cols))
        if row is None or not _finite(row.get("ris")):
            return None
        d2 = row.get("diversity")
        label = f"RIS {{}} (D² {float(d2):.0%})" if _finite(d2) else "RIS"
        return int(row["ris"]), label

    return lookup


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def _point_size(estimate, sign: int, mid: float) -> str:
    """Where the point estimate lies, for the plain-language statement (GRADE guidelines 26):
    ``important`` (beyond the MID on the benefit side), ``small`` (between no effect and the MID),
    ``none`` (exactly none), ``harm`` (on the control side) or ``unknown``."""
    if not _finite(estimate):
        return "unknown"
    b = sign * float(estimate)
    if b >= mid:
        return "important"
    if b > 0:
        return "small"
    return "none" if b == 0 else "harm"


def _binary_ois(grp: pd.DataFrame, settings: GradeSettings) -> int | None:
    """The OIS of a binary outcome from the comparator arms' median risk (None when the rows carry
    no event counts): :func:`trialsynth.grade.rules.optimal_information_size_binary` with a 25%
    relative change (``ratio_high``), as GRADE guidelines 6 does."""
    if not {"events2", "n2"} <= set(grp.columns) or len(grp) == 0:
        return None
    risk = pd.to_numeric(grp["events2"], errors="coerce") / pd.to_numeric(grp["n2"], errors="coerce")
    risk = risk[(risk > 0) & (risk < 1)]
    if len(risk) == 0:
        return None
    return R.optimal_information_size_binary(float(risk.median()), relative_change=settings.ratio_high - 1,
                                             alpha=settings.alpha, power=settings.power)


def plain_language_statement(outcome: str, certainty: str, point_size: str, *, intervention: str = "acupuncture",
                             provisional: bool = False) -> str:
    """GRADE's informative statement of a finding (Santesso N et al. GRADE guidelines 26:
    informative statements to communicate the findings of systematic reviews of interventions.
    J Clin Epidemiol 2020;119:126-135, Table 2), as GRADEpro writes it: the certainty sets the verb
    (high: "reduces", moderate: "probably reduces", low: "may reduce", very low: "the evidence is
    very uncertain"), the size of the point estimate sets "slightly" (below the MID) or "little to
    no difference" (none).
    """
    verb, verbs, obj = OUTCOME_PHRASES.get(str(outcome), ("improve", "improves", str(outcome)))
    cert = str(certainty)
    if cert == "very low" or point_size == "unknown":
        text = f"The evidence is very uncertain about the effect of {intervention} on {obj}."
    else:
        hedge = {"high": "", "moderate": "probably ", "low": "may "}[cert]
        third = cert != "low"  # "reduces", "probably reduces"; but "may reduce"
        if point_size in ("important", "small"):
            core = (verbs if third else verb) + (" " + obj) + (" slightly" if point_size == "small" else "")
        elif point_size == "none":
            core = ("results" if third else "result") + f" in little to no difference in {obj}"
        else:  # the point estimate favours the comparator
            worse = {"pain": ("increase", "increases", "pain"), "function": ("worsen", "worsens", "function"),
                     "responder": ("reduce", "reduces", "the number of people who respond")}
            w_verb, w_verbs, w_obj = worse.get(str(outcome), ("worsen", "worsens", obj))
            core = f"{w_verbs if third else w_verb} {w_obj}"
        text = f"{intervention.capitalize()} {hedge}{core}."
    if provisional:
        text += " (provisional)"
    return text


def recompute_certainty(table: pd.DataFrame) -> pd.DataFrame:
    """Recompute ``downgrades``, ``certainty``, ``provisional``, ``certainty_text``, ``statement``
    and ``footnotes`` from the domain fields (after edits).

    A row whose risk of bias nobody has judged (``not assessed``) keeps its certainty from the
    other domains and is marked ``provisional``; its ``certainty_text`` says so.
    """
    out = table.copy()
    downs, certs, notes, provisional, texts, statements = [], [], [], [], [], []
    for rec in out.to_dict("records"):
        total = 0
        foot = []
        for d in R.DOMAINS:
            n = R.downgrade_of(d, rec[d])
            total += n
            if n:
                foot.append(f"{d.replace('_', ' ').capitalize()} ({'-' + str(n)}): {rec.get(f'{d}_reason', '')}")
        prov = str(rec.get("risk_of_bias")).strip().lower() == R.NOT_ASSESSED
        if prov:
            foot.append(f"Risk of bias: {R.PROVISIONAL_NOTE}; the certainty is provisional.")
        cert = R.certainty_from_downgrades(total, start=str(rec.get("start") or "high"))
        downs.append(total)
        certs.append(cert)
        provisional.append(prov)
        texts.append(f"{CERTAINTY_SYMBOLS[cert]} {cert.capitalize()}" + (" (provisional)" if prov else ""))
        # the certainty cell says "(provisional)"; the statement stays GRADEpro's sentence
        statements.append(plain_language_statement(rec.get("outcome"), cert, str(rec.get("point_size") or "unknown")))
        notes.append(" | ".join(foot))
    out["downgrades"] = downs
    out["certainty"] = certs
    out["provisional"] = provisional
    out["certainty_text"] = texts
    out["statement"] = statements
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

DISPLAY_COLUMNS = ["outcome", "comparator_class", "add_on", "window", "k", "participants", "effect_text", "risk_of_bias", "inconsistency",
                   "indirectness", "imprecision", "publication_bias", "certainty", "footnotes"]


def _outcome_label(rec: Mapping) -> str:
    """"Pain: acupuncture + usual care vs usual care, intermediate term"."""
    from trialsynth.data.cells import cell_label

    return cell_label(rec)


def _trials_text(rec: Mapping, k: str) -> str:
    """"3 RCTs", or "1 RCT, 2 comparisons" when a trial gives two comparisons (shared arm split)."""
    from trialsynth.display import format_count

    trials = format_count(rec.get("trials")) or k
    text = f"{trials} RCT{'' if trials == '1' else 's'}"
    return text + (f", {k} comparisons" if trials != k and k else "")


def sof_display(table: pd.DataFrame):
    """The SoF as a reader sees it, in GRADEpro's layout: outcome, participants (studies),
    effect (95% CI, ratios as ratios), certainty (symbols), what happens (the plain-language
    statement), the five domain judgements, and lettered footnotes listed once under the table.
    Returns a :class:`trialsynth.display.DisplayTable`."""
    from trialsynth.display import display_table, format_count

    if table is None or len(table) == 0:
        return display_table(pd.DataFrame())
    rows = []
    for rec in table.to_dict("records"):
        n = format_count(rec.get("participants"))
        k = format_count(rec.get("k"))
        row = {
            "Outcome": _outcome_label(rec),
            "Participants (studies)": f"{n or 'unknown'} ({_trials_text(rec, k)})",
            "Effect (95% CI)": rec.get("effect_text"),
            "Certainty": rec.get("certainty_text") or rec.get("certainty"),
            "What happens": rec.get("statement") or "",
        }
        for d in R.DOMAINS:
            row[d.replace("_", " ").capitalize()] = rec.get(d)
        row["Notes"] = rec.get("footnotes")
        rows.append(row)
    frame = pd.DataFrame(rows)
    shown = display_table(frame, notes=("Notes",), effect=False, pi=False, keep=tuple(frame.columns))
    shown.numeric = {"Participants (studies)", "Effect (95% CI)"}
    return shown


def sof_to_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the full table (every field, reason and rule) as CSV, formula-injection safe, atomically.

    ``estimate`` ... ``pi_high`` are on the display scale (ratios as ratios, as ``measure`` says);
    a ratio's log values are in ``log_estimate`` ... ``log_pi_high``."""
    safe = table.map(neutralise_cell)
    text = safe.to_csv(index=False)
    return atomic_write_text(Path(path), text)


def sof_to_markdown(table: pd.DataFrame, *, settings: GradeSettings | None = None) -> str:
    """A Markdown SoF table (GRADEpro layout, :func:`sof_display`), then the rules of each domain."""
    settings = settings or GradeSettings()
    lines = [sof_display(table).to_markdown()]
    lines.append("**Rules** (every judgement is a draft; edit the field and give a reason):")
    lines.append("")
    for domain, text in settings.rules().items():
        lines.append(f"* **{domain.replace('_', ' ')}**: {text}")
    return "\n".join(lines) + "\n"


def sof_to_html(table: pd.DataFrame, *, settings: GradeSettings | None = None, title: str = "Summary of findings (GRADE draft)") -> str:
    """A standalone, escaped HTML page of the SoF table (GRADEpro layout) with the rules."""
    settings = settings or GradeSettings()
    body = sof_table_html(table)
    rules = "".join(f"<li><b>{html.escape(d.replace('_', ' '))}</b>: {html.escape(t)}</li>" for d, t in settings.rules().items())
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>table{{border-collapse:collapse;font:13px sans-serif}}"
        "td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top}th{background:#eee}"
        ".cert-high{background:#cfe8cf}.cert-moderate{background:#e5f0c8}.cert-low{background:#f7e3bf}.cert-very-low{background:#f2c4c4}"
        "body{font:14px/1.4 sans-serif;max-width:80em;margin:1em auto}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}"
        f"<h2>Rules</h2><ul>{rules}</ul></body></html>\n"
    )


def sof_table_html(table: pd.DataFrame) -> str:
    """The SoF (GRADEpro layout, :func:`sof_display`) as an HTML fragment, certainty cells coloured."""
    shown = sof_display(table)
    page = shown.to_html(classes="trialsynth sof")
    if table is None or len(table) == 0:
        return page
    for cert in ("very low", "high", "moderate", "low"):  # "very low" first: "low" is inside it
        sym = CERTAINTY_SYMBOLS[cert] + " " + cert.capitalize()
        page = page.replace(f">{html.escape(sym)}", f" class='cert-{cert.replace(' ', '-')}'>{html.escape(sym)}")
    return page
