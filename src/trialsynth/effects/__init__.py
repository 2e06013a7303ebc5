"""Stage 2, effects: effect-size measures and conversions between reported statistics.

* :mod:`trialsynth.effects.measures`: :func:`effect_sizes` (metafor ``escalc`` semantics);
* :mod:`trialsynth.effects.conversions`: SE/CI to SD, medians to means, change-score SDs,
  p-values to SMDs, combining arms, contrasts to ``yi``/``vi``;
* :mod:`trialsynth.effects.records`: :func:`effects_from_trials`, rows of ``trials.csv`` to
  oriented ``yi``/``vi``.
"""

from trialsynth.effects.measures import MEASURES, RATIO_MEASURES, effect_sizes, hedges_correction

__all__ = ["MEASURES", "RATIO_MEASURES", "effect_sizes", "hedges_correction"]
