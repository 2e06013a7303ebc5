"""The summary-of-findings table in GRADEpro's layout, for export (HTML here, DOCX in
:mod:`trialsynth.grade.export_docx`).

GRADEpro GDT's summary-of-findings table (Guyatt GH et al. GRADE guidelines 12: preparing
summary of findings tables, binary outcomes. J Clin Epidemiol 2013;66:158-172; GRADE guidelines
13: continuous outcomes, 2013;66:173-183; Carrasco-Labra A et al. J Clin Epidemiol
2016;74:7-18, the format GRADEpro prints) has one table per comparison and one row per outcome
with the columns

    Outcomes | Anticipated absolute effects* (95% CI): risk with comparator, risk with
    intervention | Relative effect (95% CI) | No of participants (studies) | Certainty of the
    evidence (GRADE) | Comments

and, under the table, the explanation of the asterisk, the abbreviations, GRADE's four certainty
grades (Balshem H et al. J Clin Epidemiol 2011;64:401-406, table 2) and the lettered
explanations of every downgrade.

The cells are computed from the SoF draft (:func:`trialsynth.grade.draft_sof`) and the study
rows that entered each pooled cell:

* **binary outcomes** (RR, OR, RD): the comparator's risk is the study-population risk, all
  comparator-arm events over all comparator-arm participants of the cell's studies (GRADE
  guidelines 12, "study population"); the risk with the intervention applies the pooled ratio
  and its CI to it (RR: ACR x RR; OR: ACR x OR / (1 - ACR + ACR x OR); RD: ACR + RD), per 1,000,
  with the difference "N more/fewer per 1,000 (from ... to ...)";
* **continuous outcomes**: the comparator's mean where every study of the cell reports arm means
  on one scale and of one kind (final values or changes): the mean, or the range of the means
  across comparator groups; the difference as GRADEpro writes it ("SMD 0.31 lower (0.55 lower to
  0.06 lower)"), on the orientation the effects stage gives every scale (lower favours the
  intervention, stated in a footnote);
* certainty with GRADE's symbols, the downgrades as lettered footnotes, and GRADE's
  plain-language statement (Santesso N et al. 2020) in the comments; ratios as ratios.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from trialsynth.errors import ArgumentError

__all__ = ["GradeproSoF", "SofSection", "gradepro_sof", "sof_to_gradepro_html", "GRADEPRO_HEADERS"]

#: the column headers, in GRADEpro's order (the two risk columns sit under one spanning header)
GRADEPRO_HEADERS = ("Outcomes", "Risk with {comparator}", "Risk with {intervention}", "Relative effect (95% CI)",
                    "\u2116 of participants (studies)", "Certainty of the evidence (GRADE)", "Comments")

_OUTCOME_ORDER = ("pain", "function", "responder", "quality_of_life", "global")
_COMPARATOR_ORDER = ("sham", "no_treatment", "usual_care", "active")
_WINDOW_ORDER = ("immediate", "short", "intermediate", "long")
_OUTCOME_NAMES = {"pain": "Pain", "function": "Function (disability)", "responder": "Responders",
                  "quality_of_life": "Quality of life", "global": "Global improvement"}
_WINDOW_TEXT = {
    "immediate": "immediately after treatment (up to 1 week after the last session)",
    "short": "short term (over 1 week to 3 months after treatment)",
    "intermediate": "intermediate term (over 3 to under 12 months after treatment)",
    "long": "long term (12 months or more after treatment)",
}
_MEASURE_NAMES = {"RR": "risk ratio", "OR": "odds ratio", "RD": "risk difference", "MD": "mean difference",
                  "SMD": "standardised mean difference"}


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


@dataclass
class SofSection:
    """One comparison's table: title, PICO lines and the outcome rows (GRADEpro cells as text)."""

    comparator: str
    title: str
    population: str
    setting: str
    intervention: str
    comparison: str
    rows: list = field(default_factory=list)


@dataclass
class GradeproSoF:
    """The whole SoF in GRADEpro's layout: one :class:`SofSection` per comparator, the lettered
    explanations and the standard notes under the tables."""

    sections: list
    footnotes: list
    notes: list
    intervention: str = "Acupuncture"

    def headers(self, section: SofSection) -> list[str]:
        return [h.format(comparator=section.comparison, intervention=self.intervention.lower())
                for h in GRADEPRO_HEADERS]

    def to_frame(self) -> pd.DataFrame:
        """Every row of every section, flat (one column per GRADEpro column, plus the comparison)."""
        records = []
        for s in self.sections:
            for r in s.rows:
                records.append({"comparison": s.title, "outcome": r["outcome"], "risk_comparator": r["risk_comparator"],
                                "risk_intervention": r["risk_intervention"], "relative": r["relative"],
                                "participants": r["participants"], "certainty": r["certainty"],
                                "footnote_letters": ",".join(r["letters"]), "comments": r["comments"]})
        return pd.DataFrame(records)

    def to_html(self) -> str:
        """The tables as an HTML fragment (escaped), GRADEpro's layout."""
        esc = html.escape
        parts = []
        for s in self.sections:
            h = self.headers(s)
            parts.append(f"<section class='sof-section'><h2>{esc(s.title)}</h2>"
                         f"<p class='pico'><b>Patient or population:</b> {esc(s.population)}<br>"
                         f"<b>Setting:</b> {esc(s.setting)}<br><b>Intervention:</b> {esc(s.intervention)}<br>"
                         f"<b>Comparison:</b> {esc(s.comparison)}</p>")
            parts.append("<table class='gradepro'><thead><tr>"
                         f"<th rowspan='2'>{esc(h[0])}</th>"
                         "<th colspan='2'>Anticipated absolute effects<sup>*</sup> (95% CI)</th>"
                         + "".join(f"<th rowspan='2'>{esc(x)}</th>" for x in h[3:]) + "</tr><tr>"
                         f"<th>{esc(h[1])}</th><th>{esc(h[2])}</th></tr></thead><tbody>")
            for r in s.rows:
                sup = f"<sup>{esc(','.join(r['letters']))}</sup>" if r["letters"] else ""
                cert_class = "cert-" + r["certainty_level"].replace(" ", "-")
                parts.append("<tr>"
                             f"<td class='outcome'>{_outcome_cell(r['outcome'])}</td>"
                             f"<td>{_lines(r['risk_comparator'])}</td><td>{_lines(r['risk_intervention'])}</td>"
                             f"<td class='num'>{_lines(r['relative'])}</td><td class='num'>{esc(r['participants'])}</td>"
                             f"<td class='{cert_class}'>{esc(r['certainty'])}{sup}</td>"
                             f"<td>{_lines(r['comments'])}</td></tr>")
            parts.append("</tbody></table></section>")
        parts.append("<div class='sof-notes'>" + "".join(f"<p>{esc(n)}</p>" for n in self.notes) + "</div>")
        if self.footnotes:
            parts.append("<div class='sof-explanations'><h3>Explanations</h3>"
                         + "".join(f"<p><sup>{esc(_letter(i))}</sup> {esc(n)}</p>" for i, n in enumerate(self.footnotes))
                         + "</div>")
        return "".join(parts)


def _outcome_cell(text: str) -> str:
    """The outcome's name in bold, its follow-up under it."""
    head, _, rest = str(text).partition("\n")
    return f"<b>{html.escape(head)}</b>" + (f"<br>{_lines(rest)}" if rest else "")


def _lines(text: str) -> str:
    return "<br>".join(html.escape(part) for part in str(text).split("\n"))


def _letter(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26]


def _per_1000(risk: float) -> int:
    """A risk per 1,000, held inside 0 to 1,000 (a CI of a ratio can reach past a risk of 1)."""
    return int(round(1000 * min(1.0, max(0.0, risk))))


def _count(n: int) -> str:
    return f"{n:,}"


def _risk_with(measure: str, acr: float, ratio_or_rd: float) -> float:
    if measure == "RR":
        return acr * ratio_or_rd
    if measure == "OR":
        return acr * ratio_or_rd / (1 - acr + acr * ratio_or_rd)
    return acr + ratio_or_rd  # RD


def _more_fewer(diff: int) -> str:
    return f"{_count(abs(diff))} {'more' if diff > 0 else 'fewer'}" if diff != 0 else "0 fewer"


def _group_rows(studies: pd.DataFrame | None, rec: Mapping) -> pd.DataFrame:
    if studies is None or len(studies) == 0:
        return pd.DataFrame()
    m = studies
    for c in ("outcome", "comparator_class", "window"):
        if c in m.columns:
            m = m[m[c].astype(str) == str(rec.get(c))]
    ids = [s for s in str(rec.get("study_ids") or "").replace(",", ";").split(";") if s.strip()]
    if ids and "study_id" in m.columns:
        m = m[m["study_id"].astype(str).isin([s.strip() for s in ids])]
    return m


def _comparator_risk(rows: pd.DataFrame) -> tuple[float | None, str]:
    if not {"events2", "n2"} <= set(rows.columns) or len(rows) == 0:
        return None, "no study of the cell reports comparator-arm events"
    ev = pd.to_numeric(rows["events2"], errors="coerce")
    n = pd.to_numeric(rows["n2"], errors="coerce")
    ok = ev.notna() & n.notna() & (n > 0)
    if not ok.all():
        return None, f"{int((~ok).sum())} of {len(rows)} studies report no comparator-arm events"
    return float(ev[ok].sum() / n[ok].sum()), f"{int(ev[ok].sum())} events in {int(n[ok].sum())} comparator participants"


def _comparator_mean(rows: pd.DataFrame, outcome: str) -> str | None:
    needed = {"mean2", "scale", "value_type"}
    if not needed <= set(rows.columns) or len(rows) == 0:
        return None
    means = pd.to_numeric(rows["mean2"], errors="coerce")
    if means.isna().any() or rows["scale"].astype(str).nunique() != 1 or rows["value_type"].astype(str).nunique() != 1:
        return None
    scale = str(rows["scale"].iloc[0])
    if scale == "other":
        return None
    kind = "change from baseline" if str(rows["value_type"].iloc[0]) == "change" else "score"
    name = _OUTCOME_NAMES.get(outcome, outcome).split(" (")[0].lower()
    lo, hi = float(means.min()), float(means.max())
    what = f"The mean {name} {kind} ({scale})"
    if len(means) == 1 or lo == hi:
        return f"{what} was {lo:g}"
    return f"{what} ranged across comparator groups from {lo:g} to {hi:g}"


def _difference_text(measure: str, est: float, lo: float, hi: float, digits: int = 2) -> str:
    def word(x: float) -> str:
        return f"{abs(x):.{digits}f} {'lower' if x < 0 else 'higher'}" if round(x, digits) != 0 else f"{0:.{digits}f}"

    return f"{measure} {word(est)} ({word(lo)} to {word(hi)})"


def gradepro_sof(sof: pd.DataFrame, studies: pd.DataFrame | None = None, *, intervention: str = "Acupuncture",
                 population: str = "adults with low back pain", setting: str = "outpatients (the trials' settings)",
                 condition_text: str = "low back pain") -> GradeproSoF:
    """The SoF draft (:func:`trialsynth.grade.draft_sof`) laid out as GRADEpro prints it.

    Parameters
    ----------
    sof : DataFrame
        The draft (display scale: ratios as ratios), one row per outcome x comparator x window.
    studies : DataFrame, optional
        The study rows that entered the cells (``study_id``, ``outcome``, ``comparator_class``,
        ``window``, ``events2``, ``n2``, ``mean2``, ``scale``, ``value_type``): the comparator's
        risk and mean come from them. Without them those cells read "not available".
    intervention, population, setting, condition_text : str
        The table titles and PICO lines.
    """
    from trialsynth.display import COMPARATOR_NAMES, format_count
    from trialsynth.effects.scales import format_number, is_ratio

    if not isinstance(sof, pd.DataFrame):
        raise ArgumentError(f"sof: expected the SoF DataFrame of draft_sof, got {type(sof).__name__}")
    footnotes: list[str] = []

    def letter_for(text: str) -> str:
        if text not in footnotes:
            footnotes.append(text)
        return _letter(footnotes.index(text))

    sections = []
    comparators = [c for c in _COMPARATOR_ORDER if len(sof) and c in set(sof["comparator_class"].astype(str))]
    comparators += sorted(set(sof["comparator_class"].astype(str)) - set(comparators)) if len(sof) else []
    used_measures: set[str] = set()
    for comp in comparators:
        name = COMPARATOR_NAMES.get(comp, comp)
        part = sof[sof["comparator_class"].astype(str) == comp].copy()
        part["_o"] = part["outcome"].astype(str).map(lambda o: _OUTCOME_ORDER.index(o) if o in _OUTCOME_ORDER else 99)
        part["_w"] = part["window"].astype(str).map(lambda w: _WINDOW_ORDER.index(w) if w in _WINDOW_ORDER else 99)
        section = SofSection(comparator=comp, title=f"{intervention} compared with {name} for {condition_text}",
                             population=population, setting=setting, intervention=intervention.lower(),
                             comparison=name)
        for rec in part.sort_values(["_o", "_w"]).to_dict("records"):
            measure = str(rec.get("measure") or "")
            used_measures.add(measure)
            est, lo, hi = (rec.get(c) for c in ("estimate", "ci_low", "ci_high"))
            rows = _group_rows(studies, rec)
            letters = []
            for note in [n.strip() for n in str(rec.get("footnotes") or "").split(" | ") if n.strip()]:
                letters.append(letter_for(note))
            comments = [str(rec.get("statement") or "")]
            outcome = str(rec.get("outcome"))
            outcome_text = (f"{_OUTCOME_NAMES.get(outcome, outcome.capitalize())}\n"
                            f"assessed {_WINDOW_TEXT.get(str(rec.get('window')), str(rec.get('window')))}")
            if is_ratio(measure) or measure == "RD":
                acr, how = _comparator_risk(rows)
                relative = (f"{measure} {format_number(est, ratio=True)}\n({format_number(lo, ratio=True)} to "
                            f"{format_number(hi, ratio=True)})") if measure != "RD" else "\u2014"
                if acr is not None and all(_finite(x) for x in (est, lo, hi)):
                    r_mid, r_lo, r_hi = (_risk_with(measure, acr, float(x)) for x in (est, lo, hi))
                    base = _per_1000(acr)
                    risk_c = f"{_count(base)} per 1,000"
                    d_mid, d_lo, d_hi = (_per_1000(x) - base for x in (r_mid, r_lo, r_hi))
                    risk_i = (f"{_count(_per_1000(r_mid))} per 1,000\n({_count(_per_1000(r_lo))} to "
                              f"{_count(_per_1000(r_hi))})\n"
                              f"{_more_fewer(d_mid)} per 1,000\n(from {_more_fewer(d_lo)} to {_more_fewer(d_hi)})")
                    if any(not 0 <= x <= 1 for x in (r_mid, r_lo, r_hi)):
                        letters.append(letter_for("The CI of the ratio reaches past a risk of 0 or 1,000 per 1,000: "
                                                  "the absolute risks are held at those limits."))
                    letters.append(letter_for(f"Risk with {name}: the study-population risk of the comparator arms "
                                              f"({how} in this cell); the risk with {intervention.lower()} applies "
                                              f"the pooled {_MEASURE_NAMES.get(measure, measure)} and its 95% CI to it."))
                else:
                    risk_c = "not available"
                    risk_i = "not available"
                    letters.append(letter_for(f"No comparator risk: {how}; absolute effects are not computed."))
            else:
                relative = "\u2014"
                mean_text = _comparator_mean(rows, outcome)
                risk_c = mean_text if mean_text else "not available"
                if not mean_text:
                    letters.append(letter_for("No comparator mean: the cell's studies report different scales or kinds "
                                              "of score, or no arm means; the difference is standardised."
                                              if measure == "SMD" else
                                              "No comparator mean: not every study of the cell reports arm means on one scale."))
                risk_i = _difference_text(measure, float(est), float(lo), float(hi)) \
                    if all(_finite(x) for x in (est, lo, hi)) else "no estimate"
                letters.append(letter_for(f"{measure}: the {_MEASURE_NAMES.get(measure, measure)}, oriented so that values "
                                          f"below 0 (lower) favour {intervention.lower()}; scales on which a higher score "
                                          "is better are reversed (trialsynth effects stage)."))
            n_text = format_count(rec.get("participants"))
            k = format_count(rec.get("k"))
            if rec.get("provisional"):
                comments.append("Certainty provisional: risk of bias not assessed.")
            section.rows.append({
                "outcome": outcome_text, "risk_comparator": risk_c, "risk_intervention": risk_i, "relative": relative,
                "participants": f"{n_text or 'unknown'}\n({k} RCT{'' if k == '1' else 's'})",
                "certainty": str(rec.get("certainty_text") or rec.get("certainty") or ""),
                "certainty_level": str(rec.get("certainty") or "very low"),
                "letters": sorted(set(letters), key=lambda x: (len(x), x)), "comments": "\n".join(c for c in comments if c),
            })
        sections.append(section)
    abbreviations = ["CI: confidence interval"] + [f"{m}: {_MEASURE_NAMES[m]}" for m in sorted(used_measures)
                                                    if m in _MEASURE_NAMES]
    notes = [
        f"*The risk with {intervention.lower()} (and its 95% CI) is computed from the risk in the comparison group "
        "and the relative effect of the intervention (and its 95% CI); for continuous outcomes the difference is "
        f"that of {intervention.lower()} from the comparator.",
        "; ".join(abbreviations) + ".",
        "GRADE certainty of the evidence (Balshem et al. 2011, table 2): high, the true effect is very likely close "
        "to the estimate; moderate, it is probably close but may be substantially different; low, it may be "
        "substantially different; very low, it is probably substantially different.",
        "This is a draft computed from the data: every judgement is an editable field with its reason "
        "(reports/tables/sof.csv).",
    ]
    return GradeproSoF(sections=sections, footnotes=footnotes, notes=notes, intervention=intervention)


_STYLE = (
    "body{font:14px/1.4 Arial,Helvetica,sans-serif;max-width:90em;margin:1em auto;color:#222}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin:1.2em 0 .3em}"
    "table.gradepro{border-collapse:collapse;width:100%;font-size:13px}"
    "table.gradepro th{background:#dde6ee;border:1px solid #8aa;padding:4px 6px;vertical-align:middle}"
    "table.gradepro td{border:1px solid #8aa;padding:4px 6px;vertical-align:top}"
    "td.num{text-align:center;white-space:nowrap}"
    ".cert-high{background:#cfe8cf}.cert-moderate{background:#e5f0c8}.cert-low{background:#f7e3bf}"
    ".cert-very-low{background:#f2c4c4}.pico{margin:.2em 0 .5em}.sof-notes p,.sof-explanations p{margin:.2em 0;"
    "font-size:12px}"
)


def sof_to_gradepro_html(sof: pd.DataFrame, studies: pd.DataFrame | None = None, *,
                         title: str = "Summary of findings (GRADEpro layout, draft)", **kwargs) -> str:
    """A standalone, escaped HTML page of the SoF in GRADEpro's layout (:func:`gradepro_sof`)."""
    table = gradepro_sof(sof, studies, **kwargs)
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{table.to_html()}</body></html>\n")
