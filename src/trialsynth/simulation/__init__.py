"""Simulation studies: interval coverage over grids of scenarios, locally or on Dask.

``coverage_study`` runs the simulation (:mod:`trialsynth.simulation.coverage`);
``plot_coverage`` draws its table (:mod:`trialsynth.simulation.plots`).
"""

from __future__ import annotations

from trialsynth.simulation.coverage import INTERVALS, coverage_study, simulate_mean_differences

__all__ = ["INTERVALS", "coverage_study", "simulate_mean_differences", "plot_coverage"]


def __getattr__(name: str):
    if name == "plot_coverage":  # matplotlib is imported only when a figure is asked for
        from trialsynth.simulation.plots import plot_coverage

        return plot_coverage
    raise AttributeError(f"module 'trialsynth.simulation' has no attribute {name!r}")
