"""pool() guards, MetaResult methods and method profiles."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import trialsynth
from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import MetaWarning, pool
from trialsynth.pooling.profiles import PROFILES, get_profile

YI = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02])
VI = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.07])


def quiet(*args, **kwargs):
    kwargs.setdefault("warn", False)
    return pool(*args, **kwargs)


def test_public_names_resolve():
    assert trialsynth.pool is pool
    assert trialsynth.MetaResult.__name__ == "MetaResult"
    assert callable(trialsynth.pool_batch)
    assert "cochrane-2025" in trialsynth.PROFILES
    assert trialsynth.get_profile("metafor-default").test == "z"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(yi=[0.1, 0.2], vi=[0.1]), "vi"),
        (dict(yi=[0.1, np.nan], vi=[0.1, 0.1]), "yi"),
        (dict(yi=[0.1, 0.2], vi=[0.1, np.nan]), "vi"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.0]), "vi"),
        (dict(yi=[0.1, 0.2], vi=[0.1, -1.0]), "vi"),
        (dict(yi=[0.1, 0.2], sei=[0.1, 0.0]), "sei"),
        (dict(yi=[0.1, 0.2]), "vi"),
        (dict(yi=[], vi=[]), "yi"),
        (dict(yi=[[0.1, 0.2]], vi=[[0.1, 0.2]]), "yi"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.1], method="XYZ"), "method"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.1], test="t-test"), "test"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.1], level=120), "level"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.1], profile="revman6"), "profile"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.1], labels=["a"]), "labels"),
        (dict(yi=["a", "b"], vi=[0.1, 0.1]), "yi"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ArgumentError) as err:
        pool(**kwargs)
    assert name in str(err.value)


def test_unknown_profile_lists_valid_names():
    with pytest.raises(ArgumentError) as err:
        get_profile("nope")
    for name in PROFILES:
        assert name in str(err.value)


def test_k1_returns_the_study_with_warning():
    with pytest.warns(MetaWarning, match="only one study"):
        res = pool([0.4], [0.04], method="REML", test="knha")
    assert res.estimate == 0.4 and res.tau2 == 0.0 and res.k == 1
    assert math.isclose(res.se, 0.2)
    assert math.isnan(res.pi_low) and math.isnan(res.i2)
    assert any("only one study" in w for w in res.warnings)
    assert res.test == "knha" and res.dfs is None  # z used, and said so
    assert any("k >= 2" in w for w in res.warnings)


def test_k2_warns_and_fits():
    res = quiet([0.1, 0.5], [0.02, 0.03], method="REML", test="knha")
    assert res.k == 2 and res.dfs == 1
    assert any("two studies" in w for w in res.warnings)


def test_tau2_and_i2_never_negative_on_homogeneous_data():
    yi = np.array([0.10, 0.11, 0.09, 0.10, 0.105])
    vi = np.full(5, 0.05)
    for method in ("DL", "HE", "HS", "HSk", "ML", "REML", "EB", "PM", "PMM", "GENQ", "EE"):
        res = quiet(yi, vi, method=method)
        assert res.tau2 >= 0 and res.i2 >= 0, method
        assert res.q < res.q_df
    assert quiet(yi, vi, method="SJ").tau2 > 0  # SJ is positive by construction


def test_hksj_narrowing_warning_and_adhoc_never_narrows():
    yi = np.array([0.10, 0.11, 0.09, 0.10, 0.105])
    vi = np.full(5, 0.05)
    with pytest.warns(MetaWarning, match="narrows"):
        knha = pool(yi, vi, method="REML", test="knha")
    z = quiet(yi, vi, method="REML", test="z")
    adhoc = quiet(yi, vi, method="REML", test="adhoc")
    assert knha.s2w < 1
    assert (knha.ci_high - knha.ci_low) < (z.ci_high - z.ci_low)
    assert (adhoc.ci_high - adhoc.ci_low) >= (z.ci_high - z.ci_low)
    assert not any("narrows" in w for w in adhoc.warnings)


def test_nonconvergence_is_reported():
    res = quiet(YI, VI, method="REML", maxiter=2)
    assert not res.converged
    assert any("did not converge" in w for w in res.warnings)


def test_sei_equals_vi():
    a = quiet(YI, VI)
    b = quiet(YI, sei=np.sqrt(VI))
    assert math.isclose(a.estimate, b.estimate, rel_tol=1e-12)


def test_profiles_set_method_test_and_pi():
    c = quiet(YI, VI, profile="cochrane-2025")
    assert (c.method, c.test, c.profile, c.pi_df) == ("REML", "knha", "cochrane-2025", 12.0)
    m = quiet(YI, VI, profile="metafor-default")
    assert (m.method, m.test, m.pi_df) == ("REML", "z", None)
    r = quiet(YI, VI, profile="revman5-legacy")
    assert (r.method, r.test) == ("DL", "z")
    # explicit arguments override the profile
    o = quiet(YI, VI, profile="cochrane-2025", method="PM")
    assert o.method == "PM" and o.test == "knha"
    for name, prof in PROFILES.items():
        assert prof.description and prof.methods_text and prof.name == name


def test_cochrane_pi_uses_t_with_k_minus_1_df():
    from scipy import stats
    res = quiet(YI, VI, profile="cochrane-2025")
    half = stats.t.ppf(0.975, len(YI) - 1) * math.sqrt(res.se ** 2 + res.tau2)
    assert math.isclose(res.pi_high - res.estimate, half, rel_tol=1e-12)
    hts = quiet(YI, VI, profile="cochrane-2025", pi_method="hts")
    half2 = stats.t.ppf(0.975, len(YI) - 2) * math.sqrt(hts.se ** 2 + hts.tau2)
    assert math.isclose(hts.pi_high - hts.estimate, half2, rel_tol=1e-12)


def test_summary_and_text_outputs():
    res = quiet(YI, VI, profile="cochrane-2025", measure="RR", labels=[f"s{i}" for i in range(13)])
    text = res.summary()
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "Profile: cochrane-2025" in text and "tval" in text and "Q(df = 12)" in text
    assert f"{res.estimate:.4f}" in text
    assert "cochrane-2025" in res.methods_text() and "12 degrees of freedom" in res.methods_text()
    html = res._repr_html_()
    assert "<table>" in html and "cochrane-2025" in html
    ee = quiet(YI, VI, method="EE")
    assert "Common-Effect Model" in ee.summary() and "common-effect" in ee.methods_text()


def test_frames():
    labels = [f"s{i}" for i in range(13)]
    res = quiet(YI, VI, measure="OR", labels=labels)
    one = res.to_frame()
    assert len(one) == 1 and one.loc[0, "estimate"] == res.estimate
    assert math.isclose(one.loc[0, "exp_estimate"], math.exp(res.estimate))
    sf = res.study_frame()
    assert list(sf["label"]) == labels
    assert math.isclose(sf["weight"].sum(), 100.0)
    assert np.allclose(sf["ci_high"] - sf["yi"], 1.959963984540054 * np.sqrt(VI))
    assert res.conf_int() == (res.ci_low, res.ci_high)
    h = res.heterogeneity_ci()
    assert list(h.index) == ["tau2", "tau", "i2", "h2"]
    assert list(h.columns) == ["estimate", "ci_low", "ci_high"]
    assert isinstance(h, pd.DataFrame)


def test_exp_only_for_ratio_measures():
    res = quiet(YI, VI, measure="RR")
    assert res.is_ratio
    e = res.exp()
    assert math.isclose(e["ci_low"], math.exp(res.ci_low)) and math.isclose(e["pi_high"], math.exp(res.pi_high))
    smd = quiet(YI, VI, measure="SMD")
    assert not smd.is_ratio
    with pytest.raises(ArgumentError, match="ratio"):
        smd.exp()


def test_warnings_are_emitted_and_collected():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = pool([0.4], [0.04])
    assert [str(w.message) for w in caught] == res.warnings


def test_level_changes_interval():
    a = quiet(YI, VI, level=95)
    b = quiet(YI, VI, level=0.90)  # read as 90%
    assert b.level == 90 and (b.ci_high - b.ci_low) < (a.ci_high - a.ci_low)


def test_identical_effects_under_knha_warn_instead_of_crashing():
    res = quiet([0.2, 0.2, 0.2], [0.1, 0.05, 0.2], test="knha")
    assert res.se == 0.0 and math.isinf(res.statistic)
    assert any("standard error of the pooled effect is 0" in w for w in res.warnings)


def test_k1_methods_text_and_forest_say_z_not_t():
    # with one study the HKSJ request falls back to a Wald interval; nothing may claim "t, 0 df"
    from trialsynth.plots import forest_plot

    res = quiet([0.4], [0.04], method="REML", test="knha")
    text = res.methods_text()
    assert "normal distribution" in text and "0 degrees of freedom" not in text
    fig = forest_plot(res)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert any("z = 2.00" in t.lower() for t in texts), texts
    assert not any("t = " in t for t in texts)


# A REML fit whose tau2 (about 1.36e-6) is tiny next to its within-study variances (0.01-0.08):
# row 1849 of benchmarks/run.py's simulate_meta_analyses(default_rng(SEED), 10000, 10). With a
# stopping rule relative to tau2 alone, rounding noise in the score exceeded the step the rule
# asked for, and pool / pool_batch reported non-convergence after maxiter (the batch path ran
# 10,000 iterations for this one row).
TINY_TAU2_YI = [0.4272751831980752, 0.24777393980205414, 0.507760051120439, 0.1426708168291973, -0.03886185284943394, 0.16706252904942298, 0.3827346178954014, 0.47586019249582223, 0.22240783562988675, 0.4506518224424214]
TINY_TAU2_VI = [0.061507936507936505, 0.03888888888888889, 0.03989165230238857, 0.0122334455667789, 0.07507002801120448, 0.026268115942028984, 0.016418644693149673, 0.024414620217018845, 0.016964924838940586, 0.06347826086956522]


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_tiny_positive_tau2_converges(method):
    res = quiet(TINY_TAU2_YI, TINY_TAU2_VI, method=method)
    assert res.converged and not any("converge" in w for w in res.warnings)
    batch = trialsynth.pool_batch(np.array([TINY_TAU2_YI]), np.array([TINY_TAU2_VI]), method=method)
    assert bool(batch.converged[0])
    assert math.isclose(batch.tau2[0], res.tau2, rel_tol=1e-8, abs_tol=1e-15)
    if method == "REML":
        assert 1e-6 < res.tau2 < 2e-6
