"""within_trial_cov: exact shared-arm terms, assumed time correlations, attrition, tags, PD checks.

The formulas are checked against the variances they must reduce to, against closed forms for
simple cases (Gleser & Olkin 2009, eqs. 19.15-19.19; Wei & Higgins 2013, section 2) and against
the empirical covariance of simulated trials.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trialsynth.effects.covariance import DEFAULT_RHO, within_trial_cov
from trialsynth.effects.measures import effect_sizes
from trialsynth.errors import ArgumentError


def _md_rows(shared=True):
    """A three-arm trial: verum (n 100, sd 20) vs sham (n 90, sd 22) and vs usual care (n 80, sd 18), at one time."""
    base = dict(study_id="G", outcome="pain", scale="VAS", timepoint_weeks=6.0, data_shape="arm_continuous",
                measure="MD", value_type="final")
    rows = pd.DataFrame([
        {**base, "comparison_id": "v_vs_s", "n1": 100, "mean1": 40.0, "sd1": 20.0, "n2": 90, "mean2": 45.0, "sd2": 22.0},
        {**base, "comparison_id": "v_vs_u", "n1": 100, "mean1": 40.0, "sd1": 20.0, "n2": 80, "mean2": 50.0, "sd2": 18.0},
    ])
    if shared:
        rows["shared_arm"] = "arm1"
        rows["shared_arm_id"] = "G_verum"
    es = effect_sizes("MD", n1=rows.n1, mean1=rows.mean1, sd1=rows.sd1, n2=rows.n2, mean2=rows.mean2, sd2=rows.sd2)
    rows["yi"], rows["vi"] = es["yi"].to_numpy(), es["vi"].to_numpy()
    return rows


def test_shared_arm_md_covariance_is_the_shared_arms_variance_and_exact():
    rows = _md_rows()
    cov = within_trial_cov(rows)
    assert cov.matrix[0, 1] == pytest.approx(20.0 ** 2 / 100)  # Var(mean of the verum arm)
    assert cov.tags[0, 1] == "exact" and cov.tags[0, 0] == "exact"
    assert np.allclose(np.diag(cov.matrix), rows["vi"])
    # without the shared-arm columns the comparisons are (wrongly) independent: 0, exact
    cov0 = within_trial_cov(_md_rows(shared=False))
    assert cov0.matrix[0, 1] == 0.0 and cov0.tags[0, 1] == "exact"


def test_shared_comparator_arm_has_the_same_positive_covariance():
    rows = _md_rows()
    rows["shared_arm"] = "arm2"
    rows["shared_arm_id"] = "G_control"
    rows.loc[1, ["n2", "sd2"]] = [90, 22.0]
    cov = within_trial_cov(rows)
    assert cov.matrix[0, 1] == pytest.approx(22.0 ** 2 / 90)  # (-1)(-1) Var(mean of the shared arm 2)


def _smd_rows(d1=-0.4, d2=-0.2, n=(100, 90, 80)):
    base = dict(study_id="G", outcome="pain", scale="VAS", timepoint_weeks=6.0, data_shape="arm_continuous",
                measure="SMD", shared_arm="arm1", shared_arm_id="G_verum")
    n0, n1, n2 = n
    rows = pd.DataFrame([{**base, "comparison_id": "a", "n1": n0, "n2": n1, "yi": d1},
                         {**base, "comparison_id": "b", "n1": n0, "n2": n2, "yi": d2}])
    rows["vi"] = [1 / n0 + 1 / n1 + d1 ** 2 / (2 * (n0 + n1)), 1 / n0 + 1 / n2 + d2 ** 2 / (2 * (n0 + n2))]
    return rows


def test_shared_arm_smd_covariance_gleser_olkin():
    rows = _smd_rows()
    cov = within_trial_cov(rows)
    n0, n1, n2 = 100, 90, 80
    expected = 1 / n0 + (-0.4) * (-0.2) * n0 / (2 * (n0 + n1) * (n0 + n2))
    assert cov.matrix[0, 1] == pytest.approx(expected, rel=1e-12)
    assert cov.tags[0, 1] == "exact"


def test_shared_arm_smd_covariance_matches_simulation():
    """Hedges' g of two comparisons sharing an arm, each with its own pooled SD: the empirical
    covariance over 40,000 simulated trials is within 4% of the formula."""
    rng = np.random.default_rng(20261201)
    n0, n1, n2, reps = 30, 25, 20, 40_000
    mu = (0.0, 0.5, 0.3)  # arm means (SD 1): d = -0.5 and -0.3 for shared - other
    a = rng.normal(mu[0], 1, (reps, n0))
    b = rng.normal(mu[1], 1, (reps, n1))
    c = rng.normal(mu[2], 1, (reps, n2))

    def g(x, y):
        es = effect_sizes("SMD", n1=np.full(reps, x.shape[1]), mean1=x.mean(1), sd1=x.std(1, ddof=1),
                          n2=np.full(reps, y.shape[1]), mean2=y.mean(1), sd2=y.std(1, ddof=1))
        return es["yi"].to_numpy()

    g1, g2 = g(a, b), g(a, c)
    rows = _smd_rows(d1=float(g1.mean()), d2=float(g2.mean()), n=(n0, n1, n2))
    cov = within_trial_cov(rows)
    emp = np.cov(g1, g2)[0, 1]
    assert cov.matrix[0, 1] == pytest.approx(emp, rel=0.04)


def _two_times(measure="SMD", n=((100, 100), (90, 85)), d=(-0.4, -0.3)):
    base = dict(study_id="B", comparison_id="acu_vs_sham", outcome="pain", scale="VAS", measure=measure,
                data_shape="contrast")
    rows = pd.DataFrame([{**base, "timepoint_weeks": 8.0, "n1": n[0][0], "n2": n[0][1], "yi": d[0]},
                         {**base, "timepoint_weeks": 26.0, "n1": n[1][0], "n2": n[1][1], "yi": d[1]}])
    rows["vi"] = [1 / a + 1 / b + y ** 2 / (2 * (a + b)) for (a, b), y in zip(n, d)]
    return rows


def test_time_covariance_wei_higgins_with_attrition():
    rows = _two_times()
    rho = 0.6
    cov = within_trial_cov(rows, rho=rho)
    (a1, b1), (a2, b2) = (100, 100), (90, 85)
    mean_part = rho * (min(a1, a2) / (a1 * a2) + min(b1, b2) / (b1 * b2))
    sd_part = (-0.4) * (-0.3) * rho ** 2 * (min(a1, a2) + min(b1, b2)) / (2 * (a1 + b1) * (a2 + b2))
    assert cov.matrix[0, 1] == pytest.approx(mean_part + sd_part, rel=1e-12)
    assert cov.tags[0, 1] == "assumed"
    # without attrition it is Wei & Higgins' rho (1/n1 + 1/n2) + rho^2 d1 d2 / (2 N)
    full = within_trial_cov(_two_times(n=((100, 100), (100, 100))), rho=rho)
    assert full.matrix[0, 1] == pytest.approx(rho * 0.02 + rho ** 2 * 0.12 / 400, rel=1e-12)
    assert within_trial_cov(rows, rho=0.0).matrix[0, 1] == 0.0


def test_time_covariance_of_a_contrast_splits_vi_by_one_over_n():
    rows = _two_times(measure="MD", n=((50, 50), (50, 50)), d=(-5.0, -3.0))
    rows["vi"] = [16.0, 25.0]
    cov = within_trial_cov(rows, rho=0.5)
    assert cov.matrix[0, 1] == pytest.approx(0.5 * math.sqrt(16 * 25))
    assert cov.tags[0, 1] == "assumed"


def test_binary_shared_arm_log_rr_and_log_or():
    base = dict(study_id="G", outcome="responder", scale="responder", timepoint_weeks=26.0, data_shape="arm_binary",
                shared_arm="arm1", shared_arm_id="G_verum")
    for measure, share in (("RR", 1 / 184 - 1 / 387), ("OR", 1 / 184 + 1 / (387 - 184))):
        rows = pd.DataFrame([{**base, "comparison_id": "s", "events1": 184, "n1": 387, "events2": 171, "n2": 387},
                             {**base, "comparison_id": "u", "events1": 184, "n1": 387, "events2": 106, "n2": 388}])
        es = effect_sizes(measure, events1=rows.events1, n1=rows.n1, events2=rows.events2, n2=rows.n2)
        rows["yi"], rows["vi"], rows["measure"] = es["yi"].to_numpy(), es["vi"].to_numpy(), measure
        cov = within_trial_cov(rows)
        assert cov.matrix[0, 1] == pytest.approx(share, rel=1e-12), measure
        assert cov.tags[0, 1] == "exact"


def test_declared_correlations_override_the_default_with_their_source():
    rows = pd.concat([_two_times(), _two_times().assign(study_id="C")], ignore_index=True)
    declared = pd.DataFrame({"study_id": ["C"], "rho": [0.8], "source": ["doi:10.1/x, table 2"]})
    cov = within_trial_cov(rows, correlations=declared)
    table = cov.rho.set_index("study_id")
    assert table.loc["B", "rho"] == DEFAULT_RHO and "assumed" in table.loc["B", "source"]
    assert table.loc["C", "rho"] == 0.8 and "table 2" in table.loc["C", "source"]
    assert cov.matrix[2, 3] > cov.matrix[0, 1]


def test_not_positive_definite_raises_or_is_repaired_keeping_variances():
    # three rows at one time sharing arms inconsistently: a covariance larger than the variances allow
    base = dict(study_id="X", outcome="pain", scale="VAS", measure="MD", data_shape="contrast", n1=50, n2=50)
    rows = pd.DataFrame([{**base, "comparison_id": "a", "timepoint_weeks": 1.0, "yi": 1.0, "vi": 10.0},
                         {**base, "comparison_id": "a", "timepoint_weeks": 2.0, "yi": 1.0, "vi": 0.1},
                         {**base, "comparison_id": "a", "timepoint_weeks": 3.0, "yi": 1.0, "vi": 10.0}])
    # rho = 0.95 across three times is fine; force a failure with rho close to -1
    with pytest.raises(ArgumentError, match="not positive definite"):
        within_trial_cov(rows, rho=-0.99)
    fixed = within_trial_cov(rows, rho=-0.99, on_not_pd="repair")
    assert np.allclose(np.diag(fixed.matrix), rows["vi"])
    assert np.linalg.eigvalsh(fixed.matrix).min() > 0
    assert (fixed.tags == "repaired").sum() >= 2 and fixed.tag_counts()["repaired"] >= 1
    assert any("repaired" in n for n in fixed.notes)


def test_refusals():
    rows = _two_times()
    with pytest.raises(ArgumentError, match="missing column"):
        within_trial_cov(rows.drop(columns="timepoint_weeks"))
    bad = rows.copy()
    bad.loc[0, "vi"] = np.nan
    with pytest.raises(ArgumentError, match="no usable yi/vi"):
        within_trial_cov(bad)
    mixed = rows.copy()
    mixed.loc[1, "outcome"] = "function"
    with pytest.raises(ArgumentError, match="several outcomes"):
        within_trial_cov(mixed)
    assert within_trial_cov(mixed, rho_outcomes=0.4).matrix[0, 1] > 0
    with pytest.raises(ArgumentError, match="rho"):
        within_trial_cov(rows, rho=1.0)
    nan_n = rows.copy()
    nan_n.loc[1, "n1"] = np.nan
    with pytest.raises(ArgumentError, match="arms' sizes"):
        within_trial_cov(nan_n)


def test_on_the_trials_data_gerac_shares_its_verum_arm(tmp_path):
    from pathlib import Path

    from trialsynth.report.stages import compute_effects, load_trials_stage

    root = Path(__file__).resolve().parents[2]
    eff = compute_effects(load_trials_stage(root / "data" / "trials.csv")).effects
    rows = eff[(eff["study_id"] == "Haake2007") & (eff["outcome"].astype(str) == "pain") & eff["yi"].notna()]
    cov = within_trial_cov(rows, rho=0.5)
    pos = {(c, t): i for i, (c, t) in enumerate(zip(rows["comparison_id"], rows["timepoint_weeks"]))}
    same_time = cov.matrix[pos[("verum_vs_sham", 6.0)], pos[("verum_vs_conventional", 6.0)]]
    assert cov.tags[pos[("verum_vs_sham", 6.0)], pos[("verum_vs_conventional", 6.0)]] == "exact"
    assert same_time == pytest.approx(1 / 370 + rows["yi"].iloc[0] * rows["yi"].iloc[3] * 370
                                      / (2 * (370 + 375) * (370 + 361)), rel=1e-3)
    assert np.linalg.eigvalsh(cov.matrix).min() > 0
