"""The required information size (RIS) of a meta-analysis, its diversity adjustment, and how GRADE
imprecision and the per-cell table read it.

References
----------
* TSA manual (Thorlund K, Engstrøm J, Wetterslev J, Brok J, Imberger G, Gluud C. User manual for
  Trial Sequential Analysis (TSA). Copenhagen Trial Unit, 2011; English version 2017-10-10,
  ctu.dk/tsa), worked example of the information size (smoking cessation): control event
  proportion 14%, a 20% relative increase, alpha 5%, beta 20%, no heterogeneity correction ->
  RIS 5218. The inputs are those the project's research notes read in the manual
  (shared/research/anchors-2.md, section 3.3); the manual's page was not reached in a stored
  copy.
* RTSA 0.2.2 vignette (Sørensen AL, Olsen MH, Lange T, Gluud C; CRAN 2023), printed designs, as
  recorded in the same notes: RR 0.9 with control risk 0.1, alpha 0.05, beta 0.1 -> 36136; RR 0.9
  with control risk 0.2, beta 0.2 -> 12080, and 17258 with D2 = 0.3 (RTSA rounds the unadjusted
  size up first: ceil(12080 / 0.7)); RR 0.9 with control risk 0.1, beta 0.2 -> 26993; MD 0.5
  with SD 1, beta 0.1 -> 169.
* D2 = (V_R - V_F) / V_R (Wetterslev et al. 2009, BMC Med Res Methodol 9:86) against metafor
  3.8.1's variances of the random-effects and common-effect estimates
  (reference/make_information_size.R -> reference/information_size.json; BCG trials, Colditz et
  al. 1994; Normand 1999).
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.grade import draft_sof
from trialsynth.grade import information_size as I
from trialsynth.grade import rules as R

HERE = Path(__file__).resolve().parent


def test_tsa_manual_worked_example_is_5218():
    raw = I.ris_binary(0.14, 0.20, alpha=0.05, power=0.80)
    assert raw == pytest.approx(5217.26, abs=0.01)
    assert I.information_size("binary", control_risk=0.14, relative_change=0.20).required == 5218


@pytest.mark.parametrize("risk, change, power, expected", [
    (0.1, -0.1, 0.9, 36136),
    (0.2, -0.1, 0.8, 12080),
    (0.1, -0.1, 0.8, 26993),
])
def test_rtsa_vignette_binary_designs(risk, change, power, expected):
    assert I.information_size("binary", control_risk=risk, relative_change=change, power=power).required == expected


def test_rtsa_vignette_continuous_design_and_the_rounding_convention():
    assert I.information_size("continuous", mid=0.5, sd=1.0, power=0.9).required == 169
    adjusted = I.information_size("binary", control_risk=0.2, relative_change=-0.1, power=0.8, diversity=0.3)
    # rounded once, at the end: ceil(12079.43 / 0.7) = 17257; RTSA's printed 17258 rounds 12080 first
    assert adjusted.required == 17257 and math.ceil(12080 / 0.7) == 17258
    assert adjusted.adjusted == pytest.approx(I.ris_binary(0.2, -0.1) / 0.7)


def test_mean_difference_scales_with_the_sd():
    assert I.ris_continuous(10, sd=20) == pytest.approx(I.ris_continuous(0.5))
    assert I.ris_continuous(0.25) == pytest.approx(4 * I.ris_continuous(0.5))


def test_single_trial_ris_agrees_with_grade_ois():
    """Without heterogeneity the RIS is GRADE's optimal information size (Guyatt 2011): 126 for
    0.5 SD at power 0.80 (the OIS rounds up per arm, the RIS once; here they agree)."""
    assert I.information_size("continuous", mid=0.5).required == R.optimal_information_size(0.5) == 126


def test_diversity_matches_metafor_variances():
    ref = json.loads((HERE / "reference" / "information_size.json").read_text())
    for name, case in ref["cases"].items():
        d2 = I.diversity(case["vi"], case["tau2"])
        assert d2 == pytest.approx(case["d2"], rel=1e-9), name
        assert d2 >= case["i2"] / 100 - 1e-9, name  # D2 >= I2 (Wetterslev 2009)
    assert I.diversity([0.1, 0.2], 0.0) == 0.0 and I.diversity([0.1], 0.5) == 0.0


def test_bad_inputs_are_refused_by_name():
    with pytest.raises(ArgumentError, match="mid"):
        I.ris_continuous(0)
    with pytest.raises(ArgumentError, match="control_risk"):
        I.ris_binary(1.2, 0.2)
    with pytest.raises(ArgumentError, match="relative_change"):
        I.ris_binary(0.9, 0.5)  # takes the risk above 1
    with pytest.raises(ArgumentError, match="diversity"):
        I.information_size("continuous", mid=0.5, diversity=1.0)
    with pytest.raises(ArgumentError, match="kind"):
        I.information_size("ordinal", mid=0.5)
    with pytest.raises(ArgumentError, match="power"):
        I.ris_continuous(0.5, power=1.0)


def test_research_status_reads_the_boundaries_and_the_ci_against_the_mid():
    from trialsynth.diagnostics import sequential as S

    st = I.research_status
    assert st(S.BENEFIT_CROSSED, -0.9, -0.6, mid=0.5) == I.FIRM_IMPORTANT
    assert st(S.BENEFIT_CROSSED, -0.19, -0.08, mid=0.5) == I.FIRM_SMALL
    assert st(S.BENEFIT_CROSSED, -0.55, -0.06, mid=0.5) == I.OPEN_MID  # a benefit, but is it important?
    assert st(S.BENEFIT_CROSSED, -1.11, 0.21, mid=0.5) == I.OPEN_NULL  # the main (HKSJ) CI disagrees
    assert st(S.FUTILE, -0.2, 0.2, mid=0.5) == I.FIRM_NO_IMPORTANT
    assert st(S.FUTILE, -1.9, 1.9, mid=0.5) == I.OPEN_MID
    assert st(S.HARM_CROSSED, 0.2, 0.6, mid=0.5) == I.FIRM_HARM
    assert st(S.INCONCLUSIVE, -0.9, -0.6, mid=0.5) == I.OPEN_INFORMATION
    # ratios: benefit above 1 on the log scale
    assert st(S.BENEFIT_CROSSED, math.log(1.3), math.log(1.6), mid=math.log(1.25), benefit_sign=1) == I.FIRM_IMPORTANT


# ------------------------------------------------------------------ every cell, and GRADE


def _cells():
    from trialsynth.pooling.grouped import pool_groups

    rows = pd.DataFrame({
        "study_id": ["A", "B", "C", "D", "E"], "year": [2001, 2004, 2002, 2003, 2005],
        "outcome": "pain", "comparator_class": ["sham"] * 3 + ["usual_care"] * 2, "window": "short",
        "yi": [-0.6, -0.1, -0.35, -0.5, -0.45], "vi": [0.04, 0.02, 0.03, 0.05, 0.06], "measure": "SMD",
        "n1": [50, 100, 70, 40, 35], "n2": [50, 100, 70, 40, 35], "rob": ["low", "low", "high", None, None],
    })
    grouped = pool_groups(rows, by=("outcome", "comparator_class", "window"), profile="cochrane-2025")
    return rows, grouped


def test_assess_cells_gives_participants_d2_ris_and_the_tsa():
    rows, grouped = _cells()
    frame, analyses = I.assess_cells(grouped.to_frame(), grouped.results, rows, key_columns=grouped.by)
    sham = frame.set_index("comparator_class").loc["sham"]
    res = grouped.results[("pain", "sham", "short")]
    assert sham["participants"] == 440 and sham["diversity"] == pytest.approx(I.diversity(res.vi, res.tau2))
    assert sham["ris"] == I.information_size("continuous", mid=0.5, diversity=sham["diversity"]).required
    assert sham["ris_power90"] > sham["ris"]
    tsa = analyses[("pain", "sham", "short")]
    assert tsa.looks["added"].tolist() == ["A", "C", "B"]  # by year
    assert sham["tsa_status"] == tsa.status and sham["more_research"] in (*I.SETTLED, I.OPEN_MID, I.OPEN_NULL,
                                                                          I.OPEN_INFORMATION)
    assert list(frame.columns) == [*grouped.by, *I.INFORMATION_COLUMNS]


def test_cells_without_participants_are_not_assessable():
    rows, grouped = _cells()
    frame, analyses = I.assess_cells(grouped.to_frame(), grouped.results, rows.drop(columns=["n1"]), key_columns=grouped.by)
    assert (frame["more_research"] == I.NOT_ASSESSABLE).all() and not analyses


def test_grade_imprecision_reads_the_heterogeneity_adjusted_ris():
    rows, grouped = _cells()
    pooled = grouped.to_frame()
    frame, _ = I.assess_cells(pooled, grouped.results, rows, key_columns=grouped.by)
    # a cell holding fewer participants than its RIS is downgraded for imprecision, naming the RIS
    frame.loc[frame["comparator_class"] == "usual_care", "ris"] = 10_000
    sof = draft_sof(pooled, rows, information=frame).set_index("comparator_class")
    assert "participants vs RIS 10000 (D\u00b2 " in sof.loc["usual_care", "imprecision_reason"]
    assert "fewer participants than the RIS" in sof.loc["usual_care", "imprecision_reason"]
    assert sof.loc["usual_care", "imprecision"] in (R.SERIOUS, R.VERY_SERIOUS)
    # without the table the single-trial OIS is used, as before
    plain = draft_sof(pooled, rows).set_index("comparator_class")
    assert "vs OIS 126" in plain.loc["usual_care", "imprecision_reason"]
    assert "Wetterslev et al. 2009" in R.RULES["imprecision"]
