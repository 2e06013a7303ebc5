"""Priors for :func:`trialsynth.pool_bayes`: ``trialsynth.priors.HalfNormal(0.5)`` and the rest.

A short public path to :mod:`trialsynth.pooling.priors`, where they are defined and documented.
"""

from trialsynth.pooling.priors import (  # noqa: F401 - re-exported
    Exponential,
    Fixed,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    Jeffreys,
    LogNormal,
    LogStudentT,
    Normal,
    PointMass,
    Rhodes2015,
    TauPrior,
    Turner2015,
    Uniform,
    empirical_prior_table,
)

__all__ = [
    "Exponential", "Fixed", "HalfCauchy", "HalfNormal", "HalfStudentT", "Jeffreys", "LogNormal", "LogStudentT", "Normal",
    "PointMass", "Rhodes2015", "TauPrior", "Turner2015", "Uniform", "empirical_prior_table",
]
