"""Method sensitivity: one pooled result refitted under each shipped method profile.

Tools differ silently in their defaults (:mod:`trialsynth.pooling.profiles`), and with two or
three trials the choice can decide the conclusion: Hartung-Knapp-Sidik-Jonkman with k = 2 and
Q close to 0 gives an interval far narrower than the Wald one, while its ad hoc variant (never
narrower; Knapp & Hartung 2003; Jackson et al. 2017, Stat Med 36:3923-3934) and RevMan 5's
DerSimonian-Laird with Wald intervals do not. :func:`refit_profiles` refits the same trials
under each profile; the claims stage classifies each refit against the MID
(:func:`trialsynth.claims.effects.method_dependence`), which gives the
``conclusion_depends_on_method`` flag of every pooled row.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError

REFIT_COLUMNS = ["profile", "method", "test", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2",
                 "p_value", "measure", "note"]


def refit_profiles(result, profiles: Sequence[str] | None = None) -> pd.DataFrame:
    """The trials of ``result`` (a :class:`~trialsynth.pooling.results.MetaResult`) pooled under
    each of ``profiles`` (default :data:`~trialsynth.pooling.profiles.SENSITIVITY_PROFILES`), one
    row each with :data:`REFIT_COLUMNS` on the analysis scale (logs for ratios). ``note`` holds
    the fit's warnings (e.g. "HKSJ narrows the confidence interval"), one line each."""
    from trialsynth.pooling.fit import pool
    from trialsynth.pooling.profiles import SENSITIVITY_PROFILES, get_profile

    if not hasattr(result, "yi") or not hasattr(result, "vi"):
        raise ArgumentError(f"result: expected a pooled result with yi and vi, got {type(result).__name__}")
    names = tuple(profiles) if profiles is not None else SENSITIVITY_PROFILES
    yi = np.asarray(result.yi, dtype=float)
    vi = np.asarray(result.vi, dtype=float)
    rows = []
    for name in names:
        prof = get_profile(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # collected in the result's warnings
            fit = pool(yi, vi, profile=prof.name, measure=getattr(result, "measure", None),
                       labels=list(getattr(result, "labels", [])) or None, level=getattr(result, "level", 95))
        rows.append({"profile": prof.name, "method": fit.method, "test": fit.test if fit.dfs is not None or fit.test == "z" else "z",
                     "k": fit.k, "estimate": fit.estimate, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
                     "pi_low": fit.pi_low, "pi_high": fit.pi_high, "tau2": fit.tau2, "i2": fit.i2, "p_value": fit.p_value,
                     "measure": fit.measure, "note": " | ".join(fit.warnings)})
    return pd.DataFrame(rows, columns=REFIT_COLUMNS)


__all__ = ["REFIT_COLUMNS", "refit_profiles"]
