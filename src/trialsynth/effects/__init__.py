"""Stage 2, effects: effect-size measures and conversions between reported statistics.

* :mod:`trialsynth.effects.measures`: :func:`effect_sizes` (metafor ``escalc`` semantics);
* :mod:`trialsynth.effects.conversions`: SE/CI to SD, medians to means, change-score SDs,
  p-values to SMDs, combining arms, contrasts to ``yi``/``vi``;
* :mod:`trialsynth.effects.records`: :func:`effects_from_trials`, rows of ``trials.csv`` to
  oriented ``yi``/``vi``;
* :mod:`trialsynth.effects.aggregation`: :func:`aggregate_effects`, correlated estimates of one
  trial combined into one (metafor's ``aggregate``);
* measure families: :mod:`~trialsynth.effects.paired`, :mod:`~trialsynth.effects.variability`,
  :mod:`~trialsynth.effects.binary_continuous`, :mod:`~trialsynth.effects.association`.
"""

from trialsynth.effects.aggregation import aggregate_effects
from trialsynth.effects.conversions import (
    change_correlation,
    change_sd,
    combine_arms,
    contrast_to_yi_vi,
    critical_value,
    days_to_weeks,
    expected_normal_quartile_range,
    expected_normal_range,
    median_to_mean_sd,
    months_to_weeks,
    sd_from_ci,
    sd_from_se,
    se_from_ci,
    smd_from_p,
    smd_from_t,
    t_from_p,
)
from trialsynth.effects.measures import MEASURES, RATIO_MEASURES, VTYPES, effect_sizes, hedges_correction
from trialsynth.effects.records import effects_from_trials

__all__ = [
    "MEASURES",
    "RATIO_MEASURES",
    "VTYPES",
    "aggregate_effects",
    "change_correlation",
    "change_sd",
    "combine_arms",
    "contrast_to_yi_vi",
    "critical_value",
    "days_to_weeks",
    "effect_sizes",
    "effects_from_trials",
    "expected_normal_quartile_range",
    "expected_normal_range",
    "hedges_correction",
    "median_to_mean_sd",
    "months_to_weeks",
    "sd_from_ci",
    "sd_from_se",
    "se_from_ci",
    "smd_from_p",
    "smd_from_t",
    "t_from_p",
]
