"""The durability claims read the joint model of every follow-up (issue 15, item 4): its
later-minus-earlier contrasts, its curve's test of change and their sensitivity to rho."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from trialsynth.claims import CONTRADICTED, INSUFFICIENT, SUPPORTED, claims_from_records, evaluate_claim
from trialsynth.claims.durability import FADES, MORE_LATER, NO_CLEAR_CHANGE, NOT_ESTIMABLE, joint_readings
from trialsynth.claims.verdicts import AGAINST, FOR, NOT_TESTED

SHAM = "acupuncture vs sham"
UC = "acupuncture vs usual care"


def contrast(comp, later, earlier, est, lo, hi, rho=0.5):
    # a difference of SMDs: positive = less benefit later (fades)
    return {"rho": rho, "comparator": comp, "contrast": f"{later} - {earlier}", "later": later, "earlier": earlier,
            "measure": "SMD", "estimate": est, "se": 0.1, "statistic": 0.0, "p_value": 0.5, "ci_low": lo, "ci_high": hi,
            "k_later": 2, "k_earlier": 3, "k_both": 2, "fades": bool(np.isfinite(est) and est > 0), "note": ""}


def curve(p, fading):
    return SimpleNamespace(decay={"p_value": p, "direction": "less benefit later (the effect moves towards no effect)"
                                  if fading else "no less benefit later"})


def durability(rows, curves=None, sens=None, cells=None):
    c = pd.DataFrame(rows)
    return SimpleNamespace(contrasts=c, sensitivity=pd.DataFrame(sens if sens is not None else rows),
                           curves=curves or {}, cells=pd.DataFrame(cells or []), rho=0.5, measure="SMD")


def claim(check, **kw):
    base = {"id": "c1", "article_text": "words", "check": check, "outcome": "pain"}
    base.update(kw)
    return claims_from_records([base])[0]


def test_readings_from_contrasts_and_curve():
    d = durability([contrast(SHAM, "long", "short", 0.3, 0.1, 0.5),                 # clearly less later
                    contrast(UC, "intermediate", "immediate", 0.05, -0.1, 0.2),     # CI includes 0
                    contrast("acupuncture vs no treatment / waiting list", "long", "short", np.nan, np.nan, np.nan)],
                   curves={(SHAM, "log"): curve(0.01, True), (UC, "log"): curve(0.01, False)})
    r = {x.comparison: x for x in joint_readings(d)}
    assert r[SHAM].reading == FADES
    assert "long term minus short term SMD 0.30 (0.10 to 0.50)" in r[SHAM].text
    assert "test of change p = 0.01" in r[SHAM].text
    # the contrast is unclear but the curve shows more benefit later: one clear side
    assert r[UC].reading == MORE_LATER
    assert r["acupuncture vs no treatment / waiting list"].reading == NOT_ESTIMABLE
    # a clear contrast against a clear curve the other way: no clear change
    d2 = durability([contrast(SHAM, "long", "short", 0.3, 0.1, 0.5)], curves={(SHAM, "log"): curve(0.001, False)})
    assert joint_readings(d2)[0].reading == NO_CLEAR_CHANGE
    # only the comparisons asked for, in that order
    assert [x.comparison for x in joint_readings(d, [UC, SHAM, "absent"])] == [UC, SHAM]


def test_reading_robustness_over_rho():
    main = [contrast(SHAM, "long", "short", 0.3, 0.1, 0.5)]
    sens = [contrast(SHAM, "long", "short", 0.3, 0.1, 0.5, rho=0.0), contrast(SHAM, "long", "short", 0.3, -0.1, 0.7, rho=0.9)]
    r = joint_readings(durability(main, sens=sens))[0]
    assert r.robust_to_rho is False and "changes with the assumed within-person correlation (0 to 0.9)" in r.text
    r = joint_readings(durability(main, sens=[sens[0]]))[0]
    assert r.robust_to_rho is True


def pooled(rows):
    return pd.DataFrame([{"outcome": "pain", "comparator_class": c, "window": w, "k": 3, "estimate": e, "ci_low": lo,
                          "ci_high": hi, "pi_low": lo - 0.2, "pi_high": hi + 0.2, "tau2": 0.01, "i2": 25.0, "measure": "SMD"}
                         for c, w, e, lo, hi in rows])


@pytest.mark.parametrize("est, lo, hi, expected, words", [
    (0.3, 0.1, 0.5, SUPPORTED, "joint model shows less benefit later"),
    (-0.3, -0.5, -0.1, CONTRADICTED, "more benefit later, not less"),
    (0.1, -0.1, 0.3, INSUFFICIENT, "not shown to fade"),
])
def test_durability_check_reads_the_contrast_not_only_the_windows(est, lo, hi, expected, words):
    # separate windows: benefit early, none clear late (temporary by the windows alone)
    p = pooled([("sham", "immediate", -0.3, -0.5, -0.1), ("sham", "long", -0.05, -0.2, 0.1)])
    c = claim("durability", comparator_classes=["sham"])
    assert evaluate_claim(c, pooled=p).verdict == SUPPORTED
    d = {"pain": durability([contrast(SHAM, "long", "immediate", est, lo, hi)])}
    v = evaluate_claim(c, pooled=p, durability=d)
    assert v.verdict == expected and words in v.reason
    assert "long term minus immediate" in v.reason


def test_review_claim_gets_the_joint_model_as_evidence():
    c = claim("review_result", review_id="R", comparator_classes=["sham"], windows=["short", "intermediate"])
    reviews = pd.DataFrame([{"review_id": "R", "outcome": "pain", "comparator_class": "sham", "window": "short", "k": 5,
                             "measure": "SMD", "estimate": -0.4, "ci_low": -0.6, "ci_high": -0.2}])
    base = evaluate_claim(c, reviews=reviews)
    cells = [{"comparator": SHAM, "window": "intermediate", "estimate": -0.3, "ci_low": -0.45, "ci_high": -0.12}]
    flat = durability([contrast(SHAM, "intermediate", "immediate", 0.01, -0.1, 0.13)], cells=cells)
    v = evaluate_claim(c, reviews=reviews, durability={"pain": flat})
    assert v.verdict == base.verdict  # context for the verdict's parts, not a new part
    assert "Joint model of every follow-up (does the effect fade?): acupuncture vs sham: no clear change" in v.reason
    assert [s for s, t in v.evidence if t.startswith("joint model")] == [FOR]  # flat, and a clear benefit later
    gone = durability([contrast(SHAM, "intermediate", "immediate", 0.01, -0.1, 0.13)],
                      cells=[{**cells[0], "ci_high": 0.05}])
    v = evaluate_claim(c, reviews=reviews, durability={"pain": gone})
    assert [s for s, t in v.evidence if t.startswith("joint model")] == [NOT_TESTED]  # flat, but no benefit later
    fading = durability([contrast(SHAM, "intermediate", "immediate", 0.3, 0.1, 0.5)], cells=cells)
    v = evaluate_claim(c, reviews=reviews, durability={"pain": fading})
    assert [s for s, t in v.evidence if t.startswith("joint model")] == [AGAINST]
    # a claim about one window does not read the joint model
    one = claim("review_result", review_id="R", comparator_classes=["sham"], windows=["short"])
    assert "Joint model" not in evaluate_claim(one, reviews=reviews, durability={"pain": fading}).reason


def test_the_shipped_durability_claims_read_the_joint_model():
    from trialsynth.report.analysis import run_analysis

    an = run_analysis("data/trials.csv", "cochrane-2025", None)
    assert "pain" in an.stages["durability"]
    v = an.verdicts.set_index("claim_id")
    for cid in ("C1_mixed_results", "C2_liu2023_short_term_only", "C4_2019_review_benefit_to_next_visit"):
        assert "Joint model of every follow-up" in v.loc[cid, "reason"], cid
    assert "Joint model" not in v.loc["C3_moderate_evidence_immediate_relief", "reason"]
    # the views reuse the stage's joint model rather than fitting it again
    from trialsynth.report import views

    assert views.durability(an, "pain") is an.stages["durability"]["pain"]
    # the front page's grid says which model reads durability; the short/long panels carry the joint estimates
    from trialsynth.report import figures
    from trialsynth.report.index_page import _model_line

    assert "joint model of every follow-up (pain" in _model_line(an)
    panels = [j for j in figures.figure_jobs(an, ("short_long_panel",)) if j.key[0] == "pain"]
    assert panels and all("joint" in j.options for j in panels)
    cells = an.stages["durability"]["pain"].cells.set_index(["comparator", "window"])
    sham = next(j for j in panels if j.key[1:] == ("sham", False))
    assert sham.options["joint"][0] == pytest.approx(tuple(cells.loc[("acupuncture vs sham", "short"),
                                                                      ["estimate", "ci_low", "ci_high"]]))
