"""Stage 4, diagnostics: heterogeneity, sensitivity analyses, small-study effects."""

from trialsynth._lazy import lazy_exports

# public name -> module that defines it (imported on first access)
_API: dict[str, str] = {
    "heterogeneity_summary": "trialsynth.diagnostics.heterogeneity",
    "higgins_thompson_ci": "trialsynth.diagnostics.heterogeneity",
    "leave_one_out": "trialsynth.diagnostics.sensitivity",
    "cumulative": "trialsynth.diagnostics.sensitivity",
    "influence": "trialsynth.diagnostics.sensitivity",
    "gosh": "trialsynth.diagnostics.sensitivity",
    "egger_test": "trialsynth.diagnostics.small_study",
    "rank_test": "trialsynth.diagnostics.small_study",
    "trim_and_fill": "trialsynth.diagnostics.small_study",
    "funnel_coordinates": "trialsynth.diagnostics.small_study",
    "peters_test": "trialsynth.diagnostics.binary_bias",
    "harbord_test": "trialsynth.diagnostics.binary_bias",
    "fail_safe_n": "trialsynth.diagnostics.fail_safe",
    "excess_significance_test": "trialsynth.diagnostics.excess_significance",
    "henmi_copas": "trialsynth.diagnostics.henmi_copas",
    "selection_model": "trialsynth.diagnostics.selection",
    "small_study_summary": "trialsynth.diagnostics.bias_summary",
    "bayes_cell_rows": "trialsynth.diagnostics.bayes_cells",
    "prior_sensitivity": "trialsynth.diagnostics.bayes_cells",
    "sequential_analysis": "trialsynth.diagnostics.sequential",
    "spending_boundaries": "trialsynth.diagnostics.sequential",
}

__all__ = sorted(_API)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _API)
