"""effects_from_trials: each data shape, orientation, unusable rows with reasons, and errors.

Expected values are recomputed independently with effect_sizes / scipy on the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trialsynth.effects import effect_sizes
from trialsynth.effects.measures import hedges_correction
from trialsynth.effects.records import OUTPUT_COLUMNS, effects_from_trials
from trialsynth.errors import ArgumentError

Z = stats.norm.isf(0.025)


def row(**kw):
    base = dict(study_id="S", comparison_id="acu_vs_sham", outcome="pain", higher_is_better=False)
    base.update(kw)
    return base


def frame(*rows):
    return pd.DataFrame(list(rows))


def cont(**kw):
    return row(data_shape="arm_continuous", value_type="final", n1=40, mean1=30.0, n2=42, mean2=38.0, **kw)


# ------------------------------------------------------------------ arm_continuous
def test_arm_continuous_sd_se_ci_and_orientation():
    df = frame(
        cont(sd1=10.0, sd2=12.0),
        cont(se1=10 / np.sqrt(40), se2=12 / np.sqrt(42)),
        cont(ci_low1=25.0, ci_high1=35.0, ci_low2=33.0, ci_high2=43.0),
        cont(sd1=10.0, sd2=12.0, higher_is_better=True),
    )
    out = effects_from_trials(df, "SMD")
    ref = effect_sizes("SMD", n1=[40], mean1=[30.0], sd1=[10.0], n2=[42], mean2=[38.0], sd2=[12.0])
    assert out["yi"].iloc[0] == pytest.approx(ref["yi"].iloc[0], rel=1e-12)
    assert out["vi"].iloc[0] == pytest.approx(ref["vi"].iloc[0], rel=1e-12)
    assert out["yi"].iloc[1] == pytest.approx(ref["yi"].iloc[0], rel=1e-12)  # SE -> SD exact
    sd1 = np.sqrt(40) * 10 / (2 * stats.t.isf(0.025, 39))  # n < 60: t with n-1 df
    sd2 = np.sqrt(42) * 10 / (2 * stats.t.isf(0.025, 41))
    ref_ci = effect_sizes("SMD", n1=[40], mean1=[30.0], sd1=[sd1], n2=[42], mean2=[38.0], sd2=[sd2])
    assert out["yi"].iloc[2] == pytest.approx(ref_ci["yi"].iloc[0], rel=1e-12)
    assert "t with n1-1 df" in out["derivation"].iloc[2]
    # higher is better: the sign flips so that negative favours acupuncture
    assert out["yi"].iloc[3] == pytest.approx(-ref["yi"].iloc[0], rel=1e-12)
    assert "flipped" in out["derivation"].iloc[3]
    assert out["usable"].all() and not out["approximate"].any()
    assert (out["measure"] == "SMD").all()
    assert "change" not in out["derivation"].iloc[0]
    changed = effects_from_trials(frame(cont(sd1=10.0, sd2=12.0) | {"value_type": "change"}), "SMD")
    assert changed["derivation"].iloc[0].endswith("; change-from-baseline scores")
    md = effects_from_trials(df, "MD")
    np.testing.assert_allclose(md["yi"], [-8.0, -8.0, -8.0, 8.0])
    assert md["vi"].iloc[0] == pytest.approx(100 / 40 + 144 / 42)


def test_arm_continuous_without_dispersion_is_unusable_with_reason():
    out = effects_from_trials(frame(cont(sd1=10.0)), "SMD")
    assert not out["usable"].iloc[0]
    assert np.isnan(out["yi"].iloc[0]) and np.isnan(out["vi"].iloc[0])
    assert out["reason"].iloc[0] == "no SD, SE or 95% CI for arm 2"


# ------------------------------------------------------------------ arm_binary
def test_arm_binary_measures_and_zero_cells():
    df = frame(
        row(outcome="responder", higher_is_better=True, data_shape="arm_binary", n1=34, events1=16, n2=16, events2=2),
        row(outcome="responder", higher_is_better=True, data_shape="arm_binary", n1=20, events1=5, n2=20, events2=0),
    )
    for bm in ("RR", "OR", "RD"):
        out = effects_from_trials(df, binary_measure=bm)
        ref = effect_sizes(bm, events1=[16, 5], n1=[34, 20], events2=[2, 0], n2=[16, 20])
        np.testing.assert_allclose(out["yi"], ref["yi"], rtol=1e-12)
        np.testing.assert_allclose(out["vi"], ref["vi"], rtol=1e-12)
        assert (out["measure"] == bm).all()
        assert "zero cell" in out["derivation"].iloc[1]
    assert effects_from_trials(df)["yi"].iloc[0] > 0  # responders: not flipped, > 0 favours acupuncture


# ------------------------------------------------------------------ contrast
def contrast(**kw):
    return row(data_shape="contrast", **kw)


def test_contrast_md_as_md_and_as_smd():
    df = frame(
        contrast(effect_measure="MD", effect=-5.1, effect_ci_low=-13.9, effect_ci_high=3.7),
        contrast(effect_measure="MD", effect=5.6, effect_ci_low=-0.2, effect_ci_high=11.4, n1=160, n2=81,
                 higher_is_better=True),
        contrast(effect_measure="MD", effect=-4.0, effect_ci_low=-7.0, effect_ci_high=-1.0, n1=30, n2=30),
        contrast(effect_measure="MD", effect=-4.0, effect_ci_low=-7.0, effect_ci_high=-1.0, n1=30, n2=30,
                 sd1=6.0, sd2=5.0),
    )
    md = effects_from_trials(df, "MD")
    np.testing.assert_allclose(md["yi"], [-5.1, -5.6, -4.0, -4.0])
    assert md["sei"].iloc[0] == pytest.approx(17.6 / (2 * Z))
    t58 = stats.t.isf(0.025, 58)
    assert md["sei"].iloc[2] == pytest.approx(6.0 / (2 * t58))  # small arms: t with n1+n2-2 df
    smd = effects_from_trials(df, "SMD")
    # no arm sizes: not guessed
    assert not smd["usable"].iloc[0] and "not guessed" in smd["reason"].iloc[0]
    # SD from the SE of the MD (Handbook 6.5.2.3), then Hedges' g; approximate
    se = 11.6 / (2 * Z)
    sd = se / np.sqrt(1 / 160 + 1 / 81)
    g = hedges_correction([239.0])[0] * 5.6 / sd
    assert smd["yi"].iloc[1] == pytest.approx(-g, rel=1e-12)
    assert smd["vi"].iloc[1] == pytest.approx(1 / 160 + 1 / 81 + g**2 / (2 * 241), rel=1e-12)
    assert smd["approximate"].iloc[1]
    # with the arms' SDs: pooled SD, not approximate
    sp = np.sqrt((29 * 36 + 29 * 25) / 58)
    assert smd["yi"].iloc[3] == pytest.approx(hedges_correction([58.0])[0] * -4.0 / sp, rel=1e-12)
    assert not smd["approximate"].iloc[3]


def test_contrast_ratio_and_measure_mismatch():
    df = frame(
        contrast(outcome="responder", higher_is_better=True, effect_measure="RR", effect=1.5,
                 effect_ci_low=1.1, effect_ci_high=2.05),
        contrast(outcome="responder", higher_is_better=True, effect_measure="RD", effect=0.202,
                 effect_ci_low=0.134, effect_ci_high=0.267, n1=387, n2=388),
        contrast(effect_measure="SMD", effect=-0.4, effect_se=0.15),
    )
    rr = effects_from_trials(df, "MD", binary_measure="RR")
    assert rr["yi"].iloc[0] == pytest.approx(np.log(1.5))
    assert rr["sei"].iloc[0] == pytest.approx((np.log(2.05) - np.log(1.1)) / (2 * Z))
    assert not rr["usable"].iloc[1] and rr["reason"].iloc[1] == "reported as RD; RR needs the arm counts"
    assert not rr["usable"].iloc[2] and "reported as an SMD" in rr["reason"].iloc[2]
    rd = effects_from_trials(df, "SMD", binary_measure="RD")
    assert rd["yi"].iloc[1] == pytest.approx(0.202)
    assert rd["sei"].iloc[1] == pytest.approx(0.133 / (2 * Z))
    assert rd["yi"].iloc[2] == pytest.approx(-0.4) and rd["vi"].iloc[2] == pytest.approx(0.0225)


def test_contrast_without_precision():
    out = effects_from_trials(frame(contrast(effect_measure="MD", effect=-3.0)), "MD")
    assert out["reason"].iloc[0] == "contrast without a CI or SE"


# ------------------------------------------------------------------ test_only
def only_test(**kw):
    base = dict(data_shape="test_only", n1=11, n2=11, p_qualifier="=", direction="favours_intervention")
    base.update(kw)
    return row(**base)


def test_test_only_p_values_and_statistics():
    df = frame(
        only_test(p_value=0.036),
        only_test(p_value=0.036, direction="favours_control", higher_is_better=True),
        only_test(p_value=0.01, p_qualifier="<"),
        only_test(p_value=0.05, p_qualifier=">", direction="none"),
        only_test(p_value=0.05, p_qualifier=">"),
        only_test(p_value=0.2, direction="none"),
        only_test(test_statistic=2.5, statistic_type="t", p_value=np.nan),
        only_test(p_value=0.03, outcome="responder"),
    )
    out = effects_from_trials(df, "SMD")
    t = stats.t.isf(0.018, 20)
    g = hedges_correction([20.0])[0] * t * np.sqrt(2 / 11)
    assert out["yi"].iloc[0] == pytest.approx(-g, rel=1e-10)  # favours acupuncture -> negative
    assert out["vi"].iloc[0] == pytest.approx(2 / 11 + g**2 / 44, rel=1e-10)
    assert out["yi"].iloc[1] == pytest.approx(g, rel=1e-10)  # direction decides; no extra flip
    t01 = stats.t.isf(0.005, 20)
    assert out["yi"].iloc[2] == pytest.approx(-hedges_correction([20.0])[0] * t01 * np.sqrt(2 / 11))
    assert "conservative" in out["derivation"].iloc[2]
    assert "direction" in out["reason"].iloc[3]
    assert "'> x'" in out["reason"].iloc[4]
    assert "direction" in out["reason"].iloc[5]
    assert out["yi"].iloc[6] == pytest.approx(-hedges_correction([20.0])[0] * 2.5 * np.sqrt(2 / 11))
    assert "responder" in out["reason"].iloc[7]
    assert out.loc[out["usable"], "approximate"].all()
    assert list(out["usable"]) == [True, True, True, False, False, False, True, False]
    md = effects_from_trials(df, "MD")
    assert not md["usable"].any()


# ------------------------------------------------------------------ table contract
def test_keeps_columns_index_and_order():
    df = frame(cont(sd1=10.0, sd2=12.0, notes="x"), only_test(p_value=0.04))
    df.index = ["a", "b"]
    out = effects_from_trials(df)
    assert list(out.columns) == list(df.columns) + list(OUTPUT_COLUMNS)
    assert list(out.index) == ["a", "b"]
    pd.testing.assert_frame_equal(out[df.columns], df)
    assert out["reason"].eq("").all()


def test_data_csv_rows_all_get_an_answer():
    path = Path(__file__).resolve().parents[2] / "data" / "trials.csv"
    if not path.exists():
        pytest.skip("no data/trials.csv in this checkout")
    df = pd.read_csv(path)
    for measure in ("SMD", "MD"):
        out = effects_from_trials(df, measure)
        assert len(out) == len(df)
        assert (out["usable"] == np.isfinite(out["yi"])).all()
        assert (out.loc[~out["usable"], "reason"] != "").all()
        assert (out.loc[out["usable"], "derivation"] != "").all()
        assert (out.loc[out["usable"], "vi"] > 0).all()


@pytest.mark.parametrize(
    ("df", "kwargs", "match"),
    [
        (frame(cont(sd1=1.0, sd2=1.0)), {"measure": "RR"}, "^measure:"),
        (frame(cont(sd1=1.0, sd2=1.0)), {"binary_measure": "HR"}, "^binary_measure:"),
        (frame(cont(sd1=1.0, sd2=1.0, yi=0.1)), {}, "^df: already has column"),
        (frame(cont(sd1=1.0, sd2=1.0)).drop(columns="higher_is_better"), {}, "higher_is_better"),
        (frame(cont(sd1=1.0, sd2=1.0)).drop(columns="mean2"), {}, "mean2"),
        (frame(row(data_shape="arm_counts")), {}, "^data_shape:.*S/acu_vs_sham"),
        (frame(cont(sd1=-1.0, sd2=1.0)), {}, "^sd1:"),
        (frame(row(data_shape="arm_binary", n1=10, events1=11, n2=10, events2=1)), {}, "^events1:"),
        (frame(row(data_shape="arm_binary", n1=0, events1=0, n2=10, events2=1)), {}, "^n1:"),
        (frame(cont(sd1=1.0, sd2=1.0, higher_is_better="maybe")), {}, "^higher_is_better:"),
        (frame(only_test(p_value=1.5)), {}, "^p_value:"),
    ],
)
def test_errors_name_the_column(df, kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        effects_from_trials(df, **kwargs)
