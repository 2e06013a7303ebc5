"""The joint window model, the time-response model and the durability analysis on our trials."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialsynth.effects.covariance import within_trial_cov
from trialsynth.errors import ArgumentError
from trialsynth.pooling.longitudinal import (
    SENSITIVITY_RHOS,
    durability_analysis,
    rcs_basis,
    time_response,
    window_model,
)

ROOT = Path(__file__).resolve().parents[2]


def _trials(seed=4, n=16, slope=0.08, times=(0.0, 4.0, 13.0, 26.0, 52.0)):
    """SMD-like estimates of n trials at 2-4 follow-ups, the benefit shrinking by ``slope`` per
    unit of log(1 + weeks)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n):
        m = int(rng.integers(2, 5))
        for w in sorted(rng.choice(times, size=m, replace=False)):
            rows.append({"study_id": f"S{t:02d}", "comparison_id": "acu_vs_sham", "comparator_class": "sham",
                         "outcome": "pain", "scale": "VAS", "measure": "SMD", "data_shape": "contrast",
                         "timepoint_weeks": w + 8, "weeks_after": w, "n1": 60, "n2": 60})
    df = pd.DataFrame(rows)
    u = dict(zip(df["study_id"].unique(), rng.normal(0, 0.1, n)))
    df["vi"] = 2 / 60 + 0.5 ** 2 / 240
    df["yi"] = -0.6 + slope * np.log1p(df["weeks_after"]) + df["study_id"].map(u) + rng.normal(0, 0.12, len(df))
    windows = pd.cut(df["weeks_after"], [-0.1, 1, 13, 51.9, np.inf], labels=["immediate", "short", "intermediate", "long"])
    df["window"] = windows.astype(str)
    return df


def test_rcs_basis_is_linear_beyond_the_outer_knots():
    knots = [0.5, 2.0, 3.5]
    x = np.linspace(4, 8, 9)
    B = rcs_basis(x, knots)
    assert B.shape == (9, 2)
    assert np.allclose(np.diff(B[:, 1], 2), 0, atol=1e-12)  # linear past the last knot
    x = np.linspace(-3, 0.5, 8)
    assert np.allclose(rcs_basis(x, knots)[:, 1], 0)  # and 0 before the first
    with pytest.raises(ArgumentError):
        rcs_basis(x, [1.0, 1.0, 2.0])


def test_window_model_contrast_is_the_difference_of_its_cells():
    df = _trials()
    cov = within_trial_cov(df, rho=0.5)
    wm = window_model(df, cov)
    cells = wm.cells.set_index("window")
    c = wm.contrasts().set_index("contrast")
    long_short = c.loc["long - short"]
    assert long_short["estimate"] == pytest.approx(cells.loc["long", "estimate"] - cells.loc["short", "estimate"])
    vb = wm.fit.vcov
    i, j = wm.fit.coef_names.index("cell[sham:long]"), wm.fit.coef_names.index("cell[sham:short]")
    assert long_short["se"] == pytest.approx(math.sqrt(vb[i, i] + vb[j, j] - 2 * vb[i, j]))
    assert long_short["k_both"] >= 1 and long_short["fades"] == (long_short["estimate"] > 0)
    # the joint model borrows: its long-term CI is narrower than a pool of the long rows alone would be
    assert cells.loc["long", "k_trials"] == df.loc[df.window == "long", "study_id"].nunique()


def test_window_model_missing_window_gives_a_row_with_the_reason():
    df = _trials()
    df = df[df["window"] != "long"]
    wm = window_model(df, within_trial_cov(df))
    row = wm.contrasts().set_index("contrast").loc["long - short"]
    assert math.isnan(row["estimate"]) and "no trial in the long window" in row["note"]


def test_time_response_finds_the_decay_and_the_mid_crossing():
    df = _trials(n=30, slope=0.12)
    cov = within_trial_cov(df, rho=0.5)
    tr = time_response(df, cov)
    assert tr.decay["p_value"] < 0.05 and tr.decay["slope"] > 0
    assert "less benefit later" in tr.decay["direction"]
    assert tr.curve["weeks"].min() == 0 and tr.curve["weeks"].max() == df["weeks_after"].max()
    assert (tr.curve["pi_low"] <= tr.curve["ci_low"]).all()
    m = tr.mid_crossing
    assert m["threshold"] == -0.5
    assert np.isfinite(m["weeks"])
    # the curve equals the MID at the crossing, and the crossing lies inside its CI
    b = tr.fit.coefficients["estimate"]
    assert b["intrcpt"] + b["log1p_weeks"] * math.log1p(m["weeks"]) == pytest.approx(-0.5, abs=1e-8)
    assert m["ci_low"] <= m["weeks"] <= m["ci_high"]
    spline = time_response(df, cov, form="spline")
    assert spline.decay["df"] == 2 and len(spline.knots) == 3
    assert spline.fit.coef_names == ["intrcpt", "log1p_weeks", "rcs1"]


def test_time_response_random_slope_only_when_the_data_carry_it():
    df = _trials(n=30)
    tr = time_response(df, within_trial_cov(df))
    assert tr.random_slope and tr.fit.sigma2.size == 2
    # two trials keep all their follow-ups, the others one each: too few for a slope variance
    two = df[df["study_id"].isin(["S00", "S01"])]
    single = df[~df["study_id"].isin(["S00", "S01"])].groupby("study_id").head(1)
    sub = pd.concat([two, single])
    tr2 = time_response(sub, within_trial_cov(sub))
    assert not tr2.random_slope and any("no random slope" in n for n in tr2.notes)


def test_durability_analysis_sensitivity_over_rho():
    df = _trials()
    d = durability_analysis(df, rho=0.5)
    assert set(d.sensitivity["rho"]) == set(SENSITIVITY_RHOS)
    at = d.sensitivity[(d.sensitivity["rho"] == 0.5) & (d.sensitivity["contrast"] == "long - short")]
    main = d.contrasts[d.contrasts["contrast"] == "long - short"]
    assert at["estimate"].iloc[0] == pytest.approx(main["estimate"].iloc[0])
    assert set(d.curves) == {("sham", "log"), ("sham", "spline")}
    table = d.curve_table()
    assert list(table["form"]) == ["log", "spline"]


def test_durability_stage_on_the_trials():
    from trialsynth.report.stages import compute_effects, durability_stage, load_trials_stage, pool_cells

    effects = compute_effects(load_trials_stage(ROOT / "data" / "trials.csv"))
    pooled = pool_cells(effects, "cochrane-2025")
    d = durability_stage(effects, pooled, outcome="pain")
    assert d.outcome == "pain" and d.measure == "SMD"
    comps = set(d.contrasts["comparator"])  # comparisons in words: add-on and head-to-head apart
    sham, addon = "acupuncture vs sham", "acupuncture + usual care vs usual care"
    assert {sham, addon} <= comps
    uc = d.contrasts.set_index(["comparator", "contrast"]).loc[(addon, "long - short")]
    assert np.isfinite(uc["estimate"]) and uc["k_later"] >= 1
    assert {"separate_estimate", "separate_k"} <= set(d.cells.columns)
    # every comparator x window cell of the joint model has its separate pool beside it
    assert d.cells["separate_k"].notna().all()
    assert set(d.sensitivity["rho"]) == set(SENSITIVITY_RHOS)
    assert (sham, "log") in d.curves and (addon, "log") in d.curves
    cov = d.covariance
    assert cov.tag_counts()["exact"] > 0 and cov.tag_counts()["assumed"] > 0
