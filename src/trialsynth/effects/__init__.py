"""Stage 2, effects: effect-size measures and conversions between reported statistics.

* :mod:`trialsynth.effects.measures`: :func:`effect_sizes` (metafor ``escalc`` semantics);
* :mod:`trialsynth.effects.conversions`: SE/CI to SD, medians to means, change-score SDs,
  p-values to SMDs, combining arms, contrasts to ``yi``/``vi``;
* :mod:`trialsynth.effects.records`: :func:`effects_from_trials`, rows of ``trials.csv`` to
  oriented ``yi``/``vi``;
* :mod:`trialsynth.effects.covariance`: :func:`within_trial_cov`, the sampling covariance of a
  trial's estimates across time points and comparisons sharing an arm;
* :mod:`trialsynth.effects.scales`: which measures are ratios on the log scale, and how an effect
  is shown to a reader (ratios as ratios);
* :mod:`trialsynth.effects.aggregation`: :func:`aggregate_effects`, correlated estimates of one
  trial combined into one (metafor's ``aggregate``);
* measure families: :mod:`~trialsynth.effects.paired`, :mod:`~trialsynth.effects.variability`,
  :mod:`~trialsynth.effects.binary_continuous`, :mod:`~trialsynth.effects.association`.

Names are imported on first use (:mod:`trialsynth._lazy`), so that the light modules (``scales``)
can be imported by the pooling results without loading pandas and scipy.stats.
"""

from __future__ import annotations

from trialsynth._lazy import lazy_exports

_CONVERSIONS = (
    "change_correlation", "change_sd", "combine_arms", "contrast_to_yi_vi", "critical_value", "days_to_weeks",
    "expected_normal_quartile_range", "expected_normal_range", "median_to_mean_sd", "months_to_weeks", "sd_from_ci",
    "sd_from_se", "se_from_ci", "smd_from_p", "smd_from_t", "t_from_p",
)

# public name -> module that defines it
_API: dict[str, str] = {
    **{name: "trialsynth.effects.conversions" for name in _CONVERSIONS},
    "MEASURES": "trialsynth.effects.measures",
    "RATIO_MEASURES": "trialsynth.effects.measures",
    "VTYPES": "trialsynth.effects.measures",
    "effect_sizes": "trialsynth.effects.measures",
    "hedges_correction": "trialsynth.effects.measures",
    "effects_from_trials": "trialsynth.effects.records",
    "aggregate_effects": "trialsynth.effects.aggregation",
    "within_trial_cov": "trialsynth.effects.covariance",
    "WithinTrialCov": "trialsynth.effects.covariance",
    "format_effect": "trialsynth.effects.scales",
    "display_values": "trialsynth.effects.scales",
    "is_ratio": "trialsynth.effects.scales",
}

__all__ = sorted(_API)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _API)
