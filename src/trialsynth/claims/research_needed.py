"""Is more (high-quality) research needed? A claim check on the information size and the boundaries.

:func:`check_research_needed` reads, for every pooled cell the claim concerns, the required
information size and the trial sequential analysis of
:func:`trialsynth.grade.information_size.assess_cells` (the report's ``information`` table):

* a cell whose z-curve has crossed neither monitoring boundary before its required information
  size is reached is **open**: more trials are needed to settle it (the part *agrees* with "more
  research is needed");
* a cell whose z-curve crossed a boundary, or whose information size is reached without a
  crossing, has firm evidence in the sense of the TSA manual (Thorlund et al. 2011): the part
  *disagrees*, unless the trials' risk of bias is entered and the trials at low risk of bias
  alone fall short of the information size (then the firm evidence does not rest on high-quality
  trials, and the part agrees with "more *high-quality* research is needed");
* a cell whose information size cannot be computed is untested.

The verdict combines the parts (:func:`trialsynth.claims.verdicts.combine`): every cell open ->
supported; every cell firm -> contradicted; some of each -> mixed. The trial sequential analysis is
a sensitivity analysis (Cochrane Handbook 6.4, section 22.3.2), and the reason says so.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from trialsynth.claims.common import (
    AGREES,
    DISAGREES,
    INSUFFICIENT,
    UNTESTED,
    Verdict,
    _cell_name,
    _filter,
    _stanced,
    combine,
)
from trialsynth.claims.records import Claim, require_claim
from trialsynth.pooling.grouped import split_study_ids

__all__ = ["check_research_needed"]


def _true(value) -> bool:
    return bool(value) and str(value).strip().lower() not in ("false", "0", "nan", "none", "")


def _quality(cell: Mapping, pooled: pd.DataFrame | None, trials: pd.DataFrame | None, keys) -> tuple[int, int, float]:
    """(trials with a risk-of-bias judgement, trials, participants in trials at low risk of bias) of a cell."""
    if pooled is None or trials is None or len(trials) == 0 or "rob" not in trials.columns:
        return 0, 0, 0.0
    m = pooled
    for c in keys:
        if c in m.columns:
            m = m[m[c].astype(str) == str(cell.get(c))]
    ids = split_study_ids(m["study_ids"].iloc[0]) if len(m) and "study_ids" in m.columns else []
    rows = trials
    for c in keys:
        if c in rows.columns:
            rows = rows[rows[c].astype(str) == str(cell.get(c))]
    name = "label" if "label" in rows.columns else "study_id"
    rows = rows[rows[name].astype(str).isin(ids)].drop_duplicates(name) if name in rows.columns else rows.iloc[0:0]
    rob = rows["rob"].astype(object).where(rows["rob"].notna(), "").astype(str).str.strip().str.lower()
    judged = rob.isin(["low", "some_concerns", "some concerns", "high", "unclear"])
    n = pd.to_numeric(rows.get("n1"), errors="coerce").fillna(0) + pd.to_numeric(rows.get("n2"), errors="coerce").fillna(0)
    return int(judged.sum()), len(rows), float(n[rob == "low"].sum())


def check_research_needed(claim: Claim, information: pd.DataFrame | None = None, pooled=None, trials=None, sof=None,
                          **_) -> Verdict:
    """"More (high-quality) research is needed", judged cell by cell from the required information
    size and the trial sequential monitoring boundaries (see the module docstring).

    Reads from the claim: ``outcome`` (default pain), ``comparator_classes``, ``windows`` (empty:
    all) and ``conditions`` (when the table has a ``condition`` column). ``information`` is the
    report's information table; ``pooled`` and ``trials`` (the rows with ``rob``, ``n1``, ``n2``)
    give each cell's trials and their risk of bias; ``sof`` adds each cell's GRADE certainty as
    context (not counted).
    """
    from trialsynth.diagnostics.sequential import SENSITIVITY_NOTE

    require_claim(claim)
    if information is None or len(information) == 0:
        return Verdict(claim.id, "research_needed", INSUFFICIENT,
                       "no information sizes were computed (no pooled cells, or the stage did not run)",
                       summary="Insufficient evidence: no pooled cell has a required information size to compare with.")
    df = _filter(information, "outcome", claim.outcomes or ("pain",))
    df = _filter(df, "comparator_class", claim.comparator_classes)
    df = _filter(df, "window", claim.windows)
    if claim.conditions and "condition" in df.columns:
        df = _filter(df, "condition", claim.conditions)
    # the table's own key columns: every column before its first value column, ``measure``
    keys = list(df.columns[: list(df.columns).index("measure")]) if "measure" in df.columns else ["outcome", "comparator_class", "window"]
    certainty = {}
    if sof is not None and len(sof) and "certainty" in sof.columns:
        shared = [c for c in keys if c in sof.columns]
        certainty = {tuple(str(r.get(c)) for c in shared): str(r.get("certainty")) for r in sof.to_dict("records")}
    parts, lines, open_cells, firm_cells = [], [], [], []
    judged_total = trials_total = 0
    for cell in df.to_dict("records"):
        name = _cell_name(cell)
        status = str(cell.get("more_research") or "")
        judged, k, low_n = _quality(cell, pooled, trials, keys)
        judged_total, trials_total = judged_total + judged, trials_total + k
        cert = certainty.get(tuple(str(cell.get(c)) for c in keys if sof is not None and c in sof.columns))
        cert_text = f"; GRADE certainty {cert}" if cert and cert != "None" else ""
        text = f"{name}: {status}. {cell.get('more_research_text')}; TSA: {cell.get('tsa_summary')}"
        if status.startswith("more trials needed"):
            parts.append((name, AGREES))
            open_cells.append((name, cell))
            lines.append(text + cert_text)
        elif _true(cell.get("settled")):
            ris = float(cell["ris"])
            if k and judged == k and low_n < ris:
                parts.append((name, AGREES))
                open_cells.append((name, cell))
                lines.append(text + f"; but trials at low risk of bias hold only {low_n:,.0f} of the {ris:,.0f} participants "
                             f"required, so the firm evidence does not rest on high-quality trials{cert_text}")
            else:
                parts.append((name, DISAGREES))
                firm_cells.append((name, cell))
                quality = ("" if k and judged == k else
                           f"; risk of bias entered for {judged} of {k} trials (whether the information comes from "
                           "high-quality trials is not tested)")
                lines.append(text + quality + cert_text)
        else:
            parts.append((name, UNTESTED))
            lines.append(f"{name}: {cell.get('more_research_text') or 'information size not computable'}")
    verdict = combine([p for _, p in parts])
    notes = [SENSITIVITY_NOTE]
    if trials_total:
        notes.append(f"Risk of bias is entered for {judged_total} of the {trials_total} trial results behind these cells; "
                     "'high-quality' is tested only where every trial of a cell is judged.")
    notes.append("By GRADE's definitions (Balshem et al. 2011, J Clin Epidemiol 64:401-406, Table 2) evidence of low or "
                 "very low certainty is likely to change with further research; the certainties are shown, not counted.")
    reason = " | ".join(lines + notes) if lines else "no pooled cell of the claim's outcomes and comparators"
    evidence = _stanced([(p, ln) for (_, p), ln in zip(parts, lines)]) + tuple(("not tested", n) for n in notes)
    summary = _summary(verdict, open_cells, firm_cells, len(parts), " and ".join(claim.outcomes or ("pain",)))
    return Verdict(claim.id, "research_needed", verdict, reason, tuple(parts), summary=summary, evidence=evidence)


def _summary(verdict: str, open_cells, firm_cells, n: int, outcomes: str) -> str:
    """About 40 words: how many questions are settled (one named) and why the others are open."""
    if not n or (not open_cells and not firm_cells):
        return f"{verdict.capitalize()}: no cell's information size could be computed."
    bits = []
    if firm_cells:
        name, cell = firm_cells[0]
        bits.append(f"{len(firm_cells)} of {n} {outcomes} questions are settled "
                    f"(e.g. {name}: {str(cell.get('more_research')).replace('firm evidence of ', '')})")
    if open_cells:
        why = {"not reached": 0, "spans the MID": 0, "includes no effect": 0, "low risk of bias": 0}
        for _name, cell in open_cells:
            status = str(cell.get("more_research"))
            key = next((k for k in why if k in status), "low risk of bias")
            why[key] += 1
        words = {"not reached": "information size not reached", "spans the MID": "CI spans the MID",
                 "includes no effect": "CI includes no effect", "low risk of bias": "too few trials at low risk of bias"}
        reasons = "; ".join(f"{words[k]}: {v}" for k, v in why.items() if v)
        bits.append(f"{len(open_cells)}{'' if firm_cells else f' of {n} {outcomes} questions'} still need trials ({reasons})")
    return f"{verdict.capitalize()}: " + "; ".join(bits) + "."
