"""GRADE summary-of-findings drafts computed from the data, every judgement an editable field.

``draft_sof(pooled, studies)`` gives one row per outcome x comparator x window: risk of bias from
the records' ``rob``, inconsistency from I2 and the prediction interval, imprecision from the CI
against a minimal important difference and the optimal information size, publication bias only
where k >= 10, indirectness as an editable field; certainty starts at high for randomised trials.
"""

from trialsynth.grade.information_size import InformationSize  # the module stays trialsynth.grade.information_size
from trialsynth.grade.rules import CERTAINTY_LEVELS, DOMAINS, RULES, Judgement, optimal_information_size
from trialsynth.grade.sof import (
    GradeSettings,
    apply_overrides,
    draft_sof,
    neutralise_cell,
    recompute_certainty,
    sof_table_html,
    sof_to_csv,
    sof_to_html,
    sof_to_markdown,
)

__all__ = [
    "CERTAINTY_LEVELS", "DOMAINS", "GradeSettings", "InformationSize", "Judgement", "RULES", "apply_overrides", "draft_sof",
    "neutralise_cell", "optimal_information_size", "recompute_certainty", "sof_table_html", "sof_to_csv", "sof_to_html", "sof_to_markdown",
]
