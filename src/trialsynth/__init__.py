"""trialsynth: evidence synthesis for clinical trials in notebooks.

The package is organised by stage, dependencies pointing one way::

    data -> effects -> pooling -> diagnostics -> plots, claims, grade, report -> cli

Public names are re-exported here and imported lazily, so that
``import trialsynth`` (and the command line) stays fast.
"""

from __future__ import annotations

from trialsynth._lazy import lazy_exports

from trialsynth._version import __version__
from trialsynth.diagnostics import _API as _DIAGNOSTICS_API

# public name -> module that defines it
_API: dict[str, str] = {
    # data
    "load_trials": "trialsynth.data.loading",
    "TrialDataError": "trialsynth.errors",
    "TrialsynthError": "trialsynth.errors",
    "DEFAULT_WINDOWS": "trialsynth.data.windows",
    "assign_windows": "trialsynth.data.windows",
    "select_per_window": "trialsynth.data.windows",
    # effects
    "effect_sizes": "trialsynth.effects.measures",
    "effects_from_trials": "trialsynth.effects.records",
    "aggregate_effects": "trialsynth.effects.aggregation",
    # pooling
    "pool": "trialsynth.pooling.fit",
    "MetaResult": "trialsynth.pooling.results",
    "pool_batch": "trialsynth.pooling.batch",
    "pool_mh": "trialsynth.pooling.mantel_haenszel",
    "pool_peto": "trialsynth.pooling.mantel_haenszel",
    "meta_regression": "trialsynth.pooling.regression",
    "subgroups": "trialsynth.pooling.subgroups",
    "PROFILES": "trialsynth.pooling.profiles",
    "get_profile": "trialsynth.pooling.profiles",
    "pool_groups": "trialsynth.pooling.grouped",
    "permutation_test": "trialsynth.pooling.regression",
    "RegressionResult": "trialsynth.pooling.regression",
    "ContrastTest": "trialsynth.pooling.regression",
    "heterogeneity_ci": "trialsynth.pooling.confint",
    # diagnostics (trialsynth.diagnostics lists them)
    **_DIAGNOSTICS_API,
    # plots
    "forest_plot": "trialsynth.plots.forest",
    "short_long_panel": "trialsynth.plots.panels",
    "funnel_plot": "trialsynth.plots.funnel",
    "save_figure": "trialsynth.plots.export",
}

__all__ = ["__version__", *sorted(_API)]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _API)
