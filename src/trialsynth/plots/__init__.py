"""Figures drawn from results (never computing statistics): forest, funnel and friends.

Every function returns a :class:`matplotlib.figure.Figure` (never an Axes), laid
out so that no label clips and the height follows the number of rows; write it
with :func:`save_figure` (deterministic SVG, PDF with embedded fonts, PNG).

========================  ==========================================================
``forest_plot``           studies, diamond, prediction interval, heterogeneity, subgroups, RoB
``short_long_panel``      short- vs long-term forest panels on a shared axis
``funnel_plot``           contour-enhanced funnel plot with trim-and-fill's imputed studies
``leave_one_out_plot``    forest-style plot of the pooled effect omitting each study
``cumulative_plot``       forest-style cumulative meta-analysis
``gosh_plot``             estimate vs I² over subsets (scatter or hexbin)
``rob_traffic_light``     risk-of-bias grid (study x domain) and a summary bar chart
``effect_by_time_plot``   pooled effect with CI against weeks after treatment ended
``favours_labels``        which side favours whom, from the results' ``favourable_direction``
``prior_sensitivity_plot`` one cell's Bayesian posterior under several tau priors
``time_response_plot``    a time-response model's pooled curve, bands, trials and MID crossing
``sequential_plot``       trial sequential analysis: cumulative z-curve, boundaries, RIS
``save_figure``           write SVG/PDF/PNG atomically, byte-identical across runs
``get_style``             house styles ``cochrane`` and ``jama``
========================  ==========================================================
"""

from __future__ import annotations

from trialsynth._lazy import lazy_exports

_API = {
    "forest_plot": "trialsynth.plots.forest",
    "ForestLayout": "trialsynth.plots.forest",
    "short_long_panel": "trialsynth.plots.panels",
    "funnel_plot": "trialsynth.plots.funnel",
    "leave_one_out_plot": "trialsynth.plots.sensitivity",
    "cumulative_plot": "trialsynth.plots.sensitivity",
    "gosh_plot": "trialsynth.plots.sensitivity",
    "rob_traffic_light": "trialsynth.plots.rob",
    "effect_by_time_plot": "trialsynth.plots.time",
    "favours_labels": "trialsynth.plots.favours",
    "prior_sensitivity_plot": "trialsynth.plots.bayes",
    "time_response_plot": "trialsynth.plots.time_response",
    "sequential_plot": "trialsynth.plots.sequential",
    "evidence_grid_plot": "trialsynth.plots.evidence_grid",
    "save_figure": "trialsynth.plots.export",
    "figure_bytes": "trialsynth.plots.export",
    "get_style": "trialsynth.plots.styles",
    "HouseStyle": "trialsynth.plots.styles",
    "STYLES": "trialsynth.plots.styles",
}

__all__ = sorted(_API)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _API)
