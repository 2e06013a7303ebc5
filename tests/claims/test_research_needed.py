"""Claim C7, "more high-quality acupuncture research is needed": judged cell by cell from the
required information size and the trial sequential monitoring boundaries
(trialsynth.claims.research_needed), on small crafted tables and on the shipped data."""

from pathlib import Path

import pandas as pd
import pytest

from trialsynth.claims import CONTRADICTED, INSUFFICIENT, MIXED, SUPPORTED, claims_from_records, evaluate_claim
from trialsynth.claims.records import CHECK_KINDS
from trialsynth.claims.verdicts import CHECKS
from trialsynth.diagnostics import sequential as S
from trialsynth.grade import information_size as I

ROOT = Path(__file__).resolve().parents[2]


def claim(**kw):
    base = {"id": "C7", "article_text": "more high-quality acupuncture research is needed", "check": "research_needed",
            "outcome": ["pain"], "comparator_classes": ["sham", "usual_care"]}
    base.update(kw)
    return claims_from_records([base])[0]


def info_row(comparator, status, more, *, ris=126, participants=300, remaining=0):
    return {"outcome": "pain", "comparator_class": comparator, "window": "short", "measure": "SMD", "k": 2,
            "participants": participants, "basis": "MID 0.5 SD", "diversity": 0.0, "ris_unadjusted": 125.6, "ris": ris,
            "ris_power90": 169, "fraction": participants / ris, "reached": participants >= ris, "remaining": remaining,
            "tsa_status": status, "tsa_z": 2.5, "tsa_boundary": 1.96, "tsa_summary": f"{status}: z = 2.50, boundary \u00b11.96",
            "more_research": more, "settled": more in I.SETTLED, "more_research_text": "SMD -0.40 (-0.60 to -0.20)"}


def pooled(*comparators):
    return pd.DataFrame([{"outcome": "pain", "comparator_class": c, "window": "short", "k": 2, "study_ids": f"{c}1; {c}2"}
                         for c in comparators])


def trials(comparator, rob, n=(100, 100)):
    return pd.DataFrame([{"study_id": f"{comparator}{i + 1}", "outcome": "pain", "comparator_class": comparator,
                          "window": "short", "rob": r, "n1": m / 2, "n2": m / 2} for i, (r, m) in enumerate(zip(rob, n))])


def test_registered_as_a_check_kind():
    assert "research_needed" in CHECKS and "research_needed" in CHECK_KINDS
    assert claim().check == "research_needed"


def test_every_cell_open_supports_every_cell_settled_contradicts():
    open_ = pd.DataFrame([info_row("sham", S.INCONCLUSIVE, I.OPEN_INFORMATION, participants=40, remaining=86),
                          info_row("usual_care", S.BENEFIT_CROSSED, I.OPEN_MID)])
    v = evaluate_claim(claim(), information=open_)
    assert v.verdict == SUPPORTED and "2 of 2 pain questions still need trials" in v.summary
    assert len(v.evidence_for()) == 2 and not v.evidence_against()
    assert "Sensitivity analysis" in v.reason and "Cochrane Handbook" in v.reason

    settled = pd.DataFrame([info_row("sham", S.BENEFIT_CROSSED, I.FIRM_SMALL),
                            info_row("usual_care", S.FUTILE, I.FIRM_NO_IMPORTANT)])
    v = evaluate_claim(claim(), information=settled)
    assert v.verdict == CONTRADICTED and len(v.evidence_against()) == 2
    assert "2 of 2 pain questions are settled" in v.summary


def test_some_of_each_is_mixed_and_the_summary_says_why():
    table = pd.DataFrame([info_row("sham", S.BENEFIT_CROSSED, I.OPEN_NULL),
                          info_row("usual_care", S.BENEFIT_CROSSED, I.FIRM_IMPORTANT)])
    v = evaluate_claim(claim(), information=table)
    assert v.verdict == MIXED
    assert v.summary.startswith("Mixed: 1 of 2") and "CI includes no effect: 1" in v.summary
    assert len(v.summary.split()) <= 45


def test_firm_evidence_from_trials_not_at_low_risk_of_bias_still_needs_high_quality_trials():
    table = pd.DataFrame([info_row("sham", S.BENEFIT_CROSSED, I.FIRM_SMALL, ris=150)])
    # every trial judged; those at low risk of bias hold 100 of the 150 participants required
    v = evaluate_claim(claim(), information=table, pooled=pooled("sham"), trials=trials("sham", ["low", "high"]))
    assert v.verdict == SUPPORTED and "do" in v.reason and "not rest on high-quality trials" in v.reason
    # low risk of bias for both: the firm evidence stands
    v = evaluate_claim(claim(), information=table, pooled=pooled("sham"), trials=trials("sham", ["low", "low"]))
    assert v.verdict == CONTRADICTED
    # risk of bias not entered for one trial: 'high-quality' is not tested, the TSA part stands
    v = evaluate_claim(claim(), information=table, pooled=pooled("sham"), trials=trials("sham", ["low", None]))
    assert v.verdict == CONTRADICTED and "risk of bias entered for 1 of 2 trials" in v.reason


def test_nothing_to_judge_is_insufficient_evidence():
    assert evaluate_claim(claim(), information=None).verdict == INSUFFICIENT
    table = pd.DataFrame([info_row("sham", "", I.NOT_ASSESSABLE)])
    assert evaluate_claim(claim(), information=table).verdict == INSUFFICIENT


@pytest.mark.slow
def test_the_seventh_claim_on_the_shipped_data():
    from trialsynth.report.analysis import run_analysis

    an = run_analysis(ROOT / "data" / "trials.csv")
    row = an.verdicts.set_index("claim_id").loc["C7_more_research_needed"]
    assert row["article_text"] == "That said, more high-quality acupuncture research is needed."
    assert row["verdict"] in (SUPPORTED, MIXED, CONTRADICTED)
    cells = an.information[an.information["outcome"].isin(["pain", "function"])
                           & an.information["comparator_class"].isin(["sham", "no_treatment", "usual_care"])]
    n_open = int(cells["more_research"].str.startswith("more trials needed").sum())
    n_settled = int(cells["settled"].sum())
    expected = SUPPORTED if n_settled == 0 else CONTRADICTED if n_open == 0 else MIXED
    assert row["verdict"] == expected and f"{n_settled} of {len(cells)}" in row["summary"]
    assert len(row["evidence_for"]) == n_open and len(row["evidence_against"]) == n_settled
