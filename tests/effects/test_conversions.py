"""Conversions: published worked examples (cited), exact identities, and errors.

Published values used (Cochrane Handbook, Higgins et al. eds.; the same examples are
in version 5.1 and 6.x):
* 6.5.2.2 (5.1: 7.7.3.2): CI widths of 3.92, 3.29 and 5.15 SEs for 95%, 90% and 99%
  intervals; for a group of 25, the t value 2.0639 and the divisor 2 x 2.0639 = 4.128.
* 6.5.2.3 (5.1: 7.7.3.3): P = 0.008 with groups of 25 and 22 gives t = 2.78
  (``=tinv(0.008, 45)``), and an MD of 3.8 then has SE 3.8/2.78 = 1.37.
* 5.1, 16.4.6.4 (cross-over example, the change-SD formula of 6.5.2.8): SDs 2.38 and
  2.21 with correlation 0.68 and 10 participants give SE(MD) = 0.583; an SD of
  differences of 2 gives 0.632.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from trialsynth.effects import conversions as cv
from trialsynth.effects import effect_sizes
from trialsynth.errors import ArgumentError


# ------------------------------------------------------------------ Handbook 6.5.2.2
def test_handbook_6_5_2_2_normal_divisors():
    for level, width in [(95, 3.92), (90, 3.29), (99, 5.15)]:
        assert 2 * cv.critical_value(level) == pytest.approx(width, abs=0.005)


def test_handbook_6_5_2_2_t_divisor_for_n25():
    t = cv.critical_value(95, df=24)
    assert round(float(t), 4) == 2.0639
    assert round(2 * float(t), 3) == 4.128
    # the SD from a CI for a group of 25 uses that divisor
    sd = cv.sd_from_ci(10.0, 14.128, 25)
    assert sd == pytest.approx(np.sqrt(25) * 4.128 / (2 * float(t)), rel=1e-12)


def test_sd_from_se_and_ci_normal_large_n():
    assert cv.sd_from_se(2.0, 100) == pytest.approx(20.0)
    # n >= 60 uses 1.96: width 3.92 SEs -> SE 1 -> SD sqrt(n)
    assert cv.sd_from_ci(5 - 1.959963984540054, 5 + 1.959963984540054, 100) == pytest.approx(10.0, rel=1e-12)
    # auto switches at n = 60, and the methods can be forced
    np.testing.assert_allclose(
        cv.sd_from_ci([0, 0], [2, 2], [59, 60]),
        [np.sqrt(59) * 2 / (2 * stats.t.isf(0.025, 58)), np.sqrt(60) * 2 / (2 * 1.959963984540054)],
        rtol=1e-12,
    )
    # the t quantile is larger, so the t-based SD is smaller
    assert cv.sd_from_ci(0, 2, 200, distribution="t") < cv.sd_from_ci(0, 2, 200, distribution="normal")


# ------------------------------------------------------------------ Handbook 6.5.2.3
def test_handbook_6_5_2_3_p_to_t_and_se():
    t = cv.t_from_p(0.008, 25 + 22 - 2)
    assert round(float(t), 2) == 2.78
    assert round(3.8 / float(t), 2) == 1.37


def test_smd_from_t_matches_effect_sizes_smd_exactly():
    # for the pooled-variance t statistic the conversion is exact
    n1, m1, s1, n2, m2, s2 = 25, 12.0, 4.0, 22, 9.5, 5.0
    sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    t = (m1 - m2) / (sp * np.sqrt(1 / n1 + 1 / n2))
    direct = effect_sizes("SMD", n1=[n1], mean1=[m1], sd1=[s1], n2=[n2], mean2=[m2], sd2=[s2])
    via_t = cv.smd_from_t(t, n1, n2)
    np.testing.assert_allclose(via_t[["yi", "vi"]], direct[["yi", "vi"]], rtol=1e-12)
    p = 2 * stats.t.sf(abs(t), n1 + n2 - 2)
    via_p = cv.smd_from_p(p, n1, n2, sign=1)
    np.testing.assert_allclose(via_p[["yi", "vi"]], direct[["yi", "vi"]], rtol=1e-9)
    assert cv.smd_from_p(p, n1, n2, sign=-1)["yi"].iloc[0] == pytest.approx(-direct["yi"].iloc[0])


def test_smd_from_p_less_than_is_conservative():
    exact = cv.smd_from_p(0.003, 30, 30)["yi"].iloc[0]
    bound = cv.smd_from_p(0.01, 30, 30, qualifier="<")["yi"].iloc[0]
    assert 0 < bound < exact


def test_smd_from_p_refuses_greater_than_and_no_direction():
    with pytest.raises(ArgumentError, match="qualifier"):
        cv.smd_from_p(0.05, 30, 30, qualifier=">")
    with pytest.raises(ArgumentError, match="sign"):
        cv.smd_from_p(0.05, 30, 30, sign=0)
    with pytest.raises(ArgumentError, match="^p:"):
        cv.t_from_p(0.0, 10)


def test_contrast_ratio_on_log_scale():
    # RR 0.75 (0.60 to 0.94): SE = (ln 0.94 - ln 0.60)/3.92 (Handbook 6.5.2.3)
    out = cv.contrast_to_yi_vi(0.75, ci_low=0.60, ci_high=0.94, measure="RR")
    z = stats.norm.isf(0.025)
    assert out["yi"].iloc[0] == pytest.approx(np.log(0.75))
    assert out["sei"].iloc[0] == pytest.approx((np.log(0.94) - np.log(0.60)) / (2 * z))
    assert out["vi"].iloc[0] == pytest.approx(out["sei"].iloc[0] ** 2)
    md = cv.contrast_to_yi_vi([3.8, -1.0], ci_low=[1.2, -2.0], ci_high=[6.4, 0.0], measure="MD")
    np.testing.assert_allclose(md["sei"], [5.2 / (2 * z), 2 / (2 * z)])
    t_based = cv.contrast_to_yi_vi(3.8, ci_low=1.2, ci_high=6.4, measure="MD", df=45)
    assert t_based["sei"].iloc[0] == pytest.approx(5.2 / (2 * stats.t.isf(0.025, 45)))
    given = cv.contrast_to_yi_vi(-0.4, se=0.2, measure="SMD")
    assert given["vi"].iloc[0] == pytest.approx(0.04)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(effect=0.75, ci_low=0.8, ci_high=0.94, measure="RR"), "ci_low"),
        (dict(effect=-0.5, ci_low=0.6, ci_high=0.94, measure="OR"), "effect"),
        (dict(effect=1.0, ci_low=0.0, ci_high=2.0, measure="HRX"), "measure"),
        (dict(effect=1.0, measure="MD"), "ci_low, ci_high"),
        (dict(effect=1.0, se=0.5, ci_low=0.0, ci_high=2.0, measure="MD"), "se"),
        (dict(effect=1.0, se=0.0, measure="MD"), "se"),
        (dict(effect=1.0, ci_low=2.0, ci_high=0.0, measure="MD"), "ci_high"),
    ],
)
def test_contrast_errors(kwargs, name):
    with pytest.raises(ArgumentError, match=f"^{name}"):
        cv.contrast_to_yi_vi(**kwargs)


# ------------------------------------------------------------------ Handbook 6.5.2.8
def test_handbook_16_4_6_4_sd_of_differences():
    sd_diff = cv.change_sd(2.38, 2.21, 0.68)
    assert round(float(sd_diff / np.sqrt(10)), 3) == 0.583
    assert round(2 / np.sqrt(10), 3) == 0.632
    # the correlation is recovered from the three SDs (the inverse formula of 6.5.2.8)
    assert cv.change_correlation(2.38, 2.21, sd_diff) == pytest.approx(0.68, rel=1e-12)


def test_change_sd_is_sd_of_differences_on_data():
    rng = np.random.default_rng(7)
    base = rng.normal(50, 10, 400)
    final = 0.6 * base + rng.normal(0, 8, 400)
    r = np.corrcoef(base, final)[0, 1]
    got = cv.change_sd(base.std(ddof=1), final.std(ddof=1), r)
    assert got == pytest.approx((final - base).std(ddof=1), rel=1e-12)


def test_change_errors():
    with pytest.raises(ArgumentError, match="^corr:"):
        cv.change_sd(5, 5, 1.5)
    with pytest.raises(ArgumentError, match="^sd_change:"):
        cv.change_correlation(1.0, 1.0, 3.0)


# ------------------------------------------------------------------ Handbook 6.5.2.10
def test_combine_arms_equals_pooled_sample():
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 3, 37), rng.normal(14, 5, 51)
    out = cv.combine_arms(a.size, a.mean(), a.std(ddof=1), b.size, b.mean(), b.std(ddof=1))
    both = np.concatenate([a, b])
    assert out["n"].iloc[0] == 88
    assert out["mean"].iloc[0] == pytest.approx(both.mean(), rel=1e-12)
    assert out["sd"].iloc[0] == pytest.approx(both.std(ddof=1), rel=1e-12)


def test_combine_arms_vectorised_and_errors():
    out = cv.combine_arms([10, 20], [1.0, 2.0], [1.0, 1.0], [10, 20], [1.0, 2.0], [1.0, 1.0])
    # equal means: SD = sqrt(2 (n - 1) / (2 n - 1)) for two groups of n with SD 1
    np.testing.assert_allclose(out["sd"], np.sqrt([18 / 19, 38 / 39]), rtol=1e-12)
    np.testing.assert_allclose(out["mean"], [1.0, 2.0])
    with pytest.raises(ArgumentError, match="^sd2:"):
        cv.combine_arms(10, 1, 1, 10, 1, -1)
    with pytest.raises(ArgumentError, match="same length"):
        cv.combine_arms([10, 20], 1, 1, [10, 20, 30], 1, 1)


# ------------------------------------------------------------------ medians
def _xi(n):
    return 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def _eta(n):
    return 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


def test_median_scenarios_wan_formulas():
    n = np.array([20, 20, 20])
    out = cv.median_to_mean_sd(
        n, [30.0, 30.0, 30.0], q1=[np.nan, 22.0, 22.0], q3=[np.nan, 41.0, 41.0],
        minimum=[5.0, 5.0, np.nan], maximum=[70.0, 70.0, np.nan], mean_method="wan", sd_method="wan",
    )
    assert list(out["scenario"]) == ["S1", "S2", "S3"]
    # Wan eq. 2 (Hozo et al. 2005), eq. 10, eq. 14
    np.testing.assert_allclose(
        out["mean"], [(5 + 60 + 70) / 4 + (5 - 60 + 70) / 80, (5 + 44 + 60 + 82 + 70) / 8, (22 + 30 + 41) / 3]
    )
    # n = 20 <= 50: exact expected range (Wan Table 1); Q = ceil(19/4) = 5 for the IQR (Table 2)
    xi = cv.expected_normal_range(20)
    eta = cv.expected_normal_quartile_range(5)
    np.testing.assert_allclose(out["sd"], [65 / xi, 65 / (2 * xi) + 19 / (2 * eta), 19 / eta], rtol=1e-12)
    # above n = 50 (range) and n = 201 (IQR) Blom's approximations are used
    big = cv.median_to_mean_sd([60, 300], [30.0, 30.0], minimum=[5.0, np.nan], maximum=[70.0, np.nan],
                               q1=[np.nan, 22.0], q3=[np.nan, 41.0], sd_method="wan")
    np.testing.assert_allclose(big["sd"], [65 / _xi(60), 19 / _eta(300)], rtol=1e-12)


def test_expected_normal_range_reproduces_published_d2():
    # Expected range of n standard normals: the d2 constants (e.g. Montgomery, Introduction to
    # Statistical Quality Control, Appendix Table VI), the values of Wan et al. (2014) Table 1.
    d2 = {2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326, 6: 2.534, 7: 2.704, 8: 2.847, 9: 2.970,
          10: 3.078, 15: 3.472, 20: 3.735, 25: 3.931}
    got = cv.expected_normal_range(np.array(list(d2)))
    np.testing.assert_allclose(np.round(got, 3), list(d2.values()), atol=1e-12)
    assert cv.expected_normal_range(2) == pytest.approx(2 / np.sqrt(np.pi), rel=1e-10)  # exact


def test_expected_quartile_range_matches_quadrature_and_limit():
    from scipy import integrate
    from scipy.special import comb

    q = 3
    n, r = 4 * q + 1, 3 * q + 1
    dens = lambda x: x * n * comb(n - 1, r - 1) * stats.norm.cdf(x) ** (r - 1) * stats.norm.sf(x) ** (n - r) * stats.norm.pdf(x)  # noqa: E731
    ref = 2 * integrate.quad(dens, -np.inf, np.inf, epsabs=1e-13)[0]
    assert cv.expected_normal_quartile_range(q) == pytest.approx(ref, rel=1e-9)
    # tends to the IQR of the standard normal, 2 * 0.6745 = 1.349, and to Blom's formula
    assert cv.expected_normal_quartile_range(2000) == pytest.approx(2 * stats.norm.ppf(0.75), rel=1e-3)
    assert cv.expected_normal_quartile_range(50) == pytest.approx(_eta(201), rel=1e-3)


def test_median_luo_shi_formulas():
    n = 50.0
    out = cv.median_to_mean_sd(n, 30.0, q1=22.0, q3=41.0, minimum=5.0, maximum=70.0)
    w1, w2 = 2.2 / (2.2 + n**0.75), 0.7 - 0.72 / n**0.55
    assert out["mean"].iloc[0] == pytest.approx(w1 * 75 / 2 + w2 * 63 / 2 + (1 - w1 - w2) * 30)
    # Shi et al. 2020 shortcut: (b - a)/theta1(n) + (q3 - q1)/theta2(n)
    theta1 = (2 + 0.14 * n**0.6) * stats.norm.ppf((n - 0.375) / (n + 0.25))
    theta2 = (2 + 2 / (0.07 * n**0.6)) * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    assert out["sd"].iloc[0] == pytest.approx(65 / theta1 + 19 / theta2, rel=1e-12)
    s3 = cv.median_to_mean_sd(n, 30.0, q1=22.0, q3=41.0)
    w = 0.7 + 0.39 / n
    assert s3["mean"].iloc[0] == pytest.approx(w * 63 / 2 + (1 - w) * 30)
    s1 = cv.median_to_mean_sd(n, 30.0, minimum=5.0, maximum=70.0)
    w = 4 / (4 + n**0.75)
    assert s1["mean"].iloc[0] == pytest.approx(w * 75 / 2 + (1 - w) * 30)


def test_median_estimators_recover_normal_parameters():
    # For the exact quantiles of a normal sample, the estimators return mu and about sigma
    # (eta(n) -> 2 * 0.6745 = 1.349, the IQR of a standard normal).
    mu, sigma, n = 40.0, 12.0, 400
    q = stats.norm.ppf([0.25, 0.75], mu, sigma)
    out = cv.median_to_mean_sd(n, mu, q1=q[0], q3=q[1])
    assert out["mean"].iloc[0] == pytest.approx(mu)
    assert out["sd"].iloc[0] == pytest.approx(sigma, rel=0.01)


def test_blom_xi_approximates_expected_range():
    # Blom's formula, used by Wan above n = 50 and inside Shi's shortcut, is within 2% for n >= 5
    for n in (5, 10, 25, 50):
        assert _xi(n) == pytest.approx(float(cv.expected_normal_range(n)), rel=0.02)


def test_median_errors():
    with pytest.raises(ArgumentError, match="^q3: give q1 and q3 together"):
        cv.median_to_mean_sd(20, 30, q1=22)
    with pytest.raises(ArgumentError, match="^q1:.*IQR"):
        cv.median_to_mean_sd(20, 30)
    with pytest.raises(ArgumentError, match="^q1:"):
        cv.median_to_mean_sd(20, 30, q1=35, q3=41)
    with pytest.raises(ArgumentError, match="^minimum:"):
        cv.median_to_mean_sd(20, 30, minimum=31, maximum=40)
    with pytest.raises(ArgumentError, match="^mean_method:"):
        cv.median_to_mean_sd(20, 30, q1=22, q3=41, mean_method="hozo")
    with pytest.raises(ArgumentError, match="^n:"):
        cv.median_to_mean_sd(1, 30, q1=22, q3=41)


# ------------------------------------------------------------------ time units
def test_time_units():
    np.testing.assert_allclose(cv.months_to_weeks([3, 6, 12]), [13.0, 26.0, 52.0])
    assert cv.days_to_weeks(14) == pytest.approx(2.0)
    with pytest.raises(ArgumentError, match="^months:"):
        cv.months_to_weeks(-1)


def test_level_and_nan_errors():
    with pytest.raises(ArgumentError, match="^level:"):
        cv.critical_value(0.95)
    with pytest.raises(ArgumentError, match="^se:.*NaN"):
        cv.sd_from_se(np.nan, 10)
    with pytest.raises(ArgumentError, match="^n:"):
        cv.sd_from_ci(0, 1, 1)


# ------------------------------------------------------------------ metafor reference for SMD from t / p
def test_smd_from_t_and_p_match_metafor():
    """Reference: reference/smd_from_test.json from make_escalc_extra.R (metafor 3.8 escalc with ti)."""
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "reference/smd_from_test.json").read_text())
    t = ref["from_t"]
    got = cv.smd_from_t(t["ti"], t["n1"], t["n2"])
    np.testing.assert_allclose(got["yi"], t["yi"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got["vi"], t["vi"], rtol=1e-8, atol=1e-10)
    p = ref["from_p"]
    df = np.add(p["n1"], p["n2"]) - 2
    np.testing.assert_allclose(cv.t_from_p(p["p"], df), p["t"], rtol=1e-8)
    got = cv.smd_from_p(p["p"], p["n1"], p["n2"], sign=1)
    np.testing.assert_allclose(got["yi"], p["yi"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got["vi"], p["vi"], rtol=1e-8, atol=1e-10)
