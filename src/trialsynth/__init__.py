"""trialsynth: evidence synthesis for clinical trials in notebooks.

The package is organised by stage, dependencies pointing one way::

    data -> effects -> pooling -> diagnostics -> plots, claims, grade, report -> cli

Public names are re-exported here and imported lazily, so that
``import trialsynth`` (and the command line) stays fast.
"""

from __future__ import annotations

from trialsynth._lazy import lazy_exports

from trialsynth._version import __version__

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
    "within_trial_cov": "trialsynth.effects.covariance",
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
    "pool_multivariate": "trialsynth.pooling.multivariate",
    "MultivariateResult": "trialsynth.pooling.multivariate",
    "window_model": "trialsynth.pooling.longitudinal",
    "time_response": "trialsynth.pooling.longitudinal",
    # diagnostics
    "leave_one_out": "trialsynth.diagnostics.sensitivity",
    "influence": "trialsynth.diagnostics.sensitivity",
    "cumulative": "trialsynth.diagnostics.sensitivity",
    "gosh": "trialsynth.diagnostics.sensitivity",
    "egger_test": "trialsynth.diagnostics.small_study",
    "rank_test": "trialsynth.diagnostics.small_study",
    "trim_and_fill": "trialsynth.diagnostics.small_study",
    "funnel_coordinates": "trialsynth.diagnostics.small_study",
    # plots
    "forest_plot": "trialsynth.plots.forest",
    "short_long_panel": "trialsynth.plots.panels",
    "funnel_plot": "trialsynth.plots.funnel",
    "time_response_plot": "trialsynth.plots.time_response",
    "save_figure": "trialsynth.plots.export",
}

__all__ = ["__version__", *sorted(_API)]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _API)
