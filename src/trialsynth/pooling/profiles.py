"""Named method profiles: which estimator, test, CI for tau2 and prediction interval.

Defaults differ silently between tools, so every result records the profile that
produced it and :meth:`MetaResult.summary` prints it.

* ``cochrane-2025``: the random-effects methods Cochrane adopted for RevMan (Cochrane
  Methods, "Random-effects meta-analysis methods in intervention reviews",
  https://methods.cochrane.org/methods-cochrane/random-effects-meta-analysis-methods-intervention-reviews,
  endorsed September 2022, addendum May 2024, in RevMan from January 2025): REML for tau2,
  the Hartung-Knapp-Sidik-Jonkman CI for the summary effect, the Q-profile CI for tau2,
  I2 computed from tau2, and a prediction interval "using the t-distribution".  The page
  does not state the degrees of freedom; we use k - 1 (the HKSJ degrees of freedom, which is
  also what metafor's ``predict()`` uses under ``test="knha"``), not the k - 2 of Higgins,
  Thompson & Spiegelhalter (2009), which remains available as ``pi_method="hts"``.
* ``cochrane-2025-adhoc``: ``cochrane-2025`` with the Hartung-Knapp ad hoc rule: the scale
  factor of the HKSJ variance is ``max(1, s2w)``, so the interval is never narrower than the
  Wald-type one with the same t quantile (Knapp & Hartung 2003, Stat Med 22:2693; Jackson D et
  al. 2017, Stat Med 36:3923-3934; metafor ``test="adhoc"``). With two trials whose Q is close
  to 0 the plain HKSJ interval can be far narrower than the Wald one; this variant shows
  whether a conclusion rests on that. ``cochrane-2025`` itself stays what RevMan computes.
* ``metafor-default``: ``rma()``'s defaults in metafor 3.8: REML, Wald z test and CI,
  normal-quantile prediction interval, Q-profile CI from ``confint()``.
* ``revman5-legacy``: RevMan 5 (Cochrane Handbook v5.1, section 9.4): inverse-variance
  common effect, DerSimonian-Laird random effects, Wald z intervals, no prediction interval
  printed by default (we give the normal-quantile one for reference).
"""

from __future__ import annotations

from dataclasses import dataclass

from trialsynth.errors import ArgumentError


@dataclass(frozen=True)
class Profile:
    """A named set of method choices.

    Attributes
    ----------
    name : str
    method : str
        tau2 estimator for random effects.
    test : str
        ``z``, ``knha`` or ``adhoc``.
    pi_method : str
        Prediction interval rule (see :func:`trialsynth.pooling.fit.prediction_interval`).
    tau2_ci : str
        Confidence interval for tau2 (``QP`` = Q-profile, Viechtbauer 2007).
    fixed_method : str
        The common-effect method the profile pairs with the random-effects one.
    description : str
        One line describing the profile.
    methods_text : str
        A sentence for a methods section.
    """

    name: str
    method: str
    test: str
    pi_method: str
    tau2_ci: str
    fixed_method: str
    description: str
    methods_text: str


PROFILES: dict[str, Profile] = {
    "cochrane-2025": Profile(
        name="cochrane-2025",
        method="REML",
        test="knha",
        pi_method="t",
        tau2_ci="QP",
        fixed_method="EE",
        description=(
            "Cochrane/RevMan 2025 random effects: REML tau2, Hartung-Knapp-Sidik-Jonkman CI "
            "(t, k-1 df), Q-profile CI for tau2, t-based prediction interval (k-1 df)"
        ),
        methods_text=(
            "Random-effects meta-analysis with the restricted maximum-likelihood (REML) "
            "estimator of tau2, Hartung-Knapp-Sidik-Jonkman confidence intervals (t distribution "
            "with k-1 degrees of freedom), a Q-profile confidence interval for tau2 and a "
            "prediction interval based on the t distribution with k-1 degrees of freedom, as "
            "adopted by Cochrane for RevMan in 2025"
        ),
    ),
    "cochrane-2025-adhoc": Profile(
        name="cochrane-2025-adhoc",
        method="REML",
        test="adhoc",
        pi_method="t",
        tau2_ci="QP",
        fixed_method="EE",
        description=(
            "cochrane-2025 with the ad hoc rule that never makes the HKSJ CI narrower than the "
            "Wald-type CI (Knapp & Hartung 2003): REML tau2, t with k-1 df, Q-profile CI for tau2"
        ),
        methods_text=(
            "Random-effects meta-analysis with the REML estimator of tau2 and Hartung-Knapp-"
            "Sidik-Jonkman confidence intervals with the ad hoc correction that never makes them "
            "narrower than the Wald-type interval (Knapp & Hartung 2003), a Q-profile confidence "
            "interval for tau2 and a prediction interval based on the t distribution with k-1 "
            "degrees of freedom"
        ),
    ),
    "metafor-default": Profile(
        name="metafor-default",
        method="REML",
        test="z",
        pi_method="normal",
        tau2_ci="QP",
        fixed_method="EE",
        description=(
            "metafor rma() defaults: REML tau2, Wald z CI, normal-quantile prediction "
            "interval, Q-profile CI for tau2"
        ),
        methods_text=(
            "Random-effects meta-analysis with the restricted maximum-likelihood (REML) "
            "estimator of tau2 and Wald-type (normal) confidence and prediction intervals, "
            "matching the defaults of metafor's rma()"
        ),
    ),
    "revman5-legacy": Profile(
        name="revman5-legacy",
        method="DL",
        test="z",
        pi_method="normal",
        tau2_ci="QP",
        fixed_method="EE",
        description=(
            "RevMan 5 legacy: inverse-variance fixed effect or DerSimonian-Laird random "
            "effects with Wald z confidence intervals"
        ),
        methods_text=(
            "Random-effects meta-analysis with the DerSimonian-Laird estimator of tau2 and "
            "Wald-type (normal) confidence intervals (inverse-variance fixed effect for "
            "common-effect analyses), as in RevMan 5"
        ),
    ),
}


#: the profiles a conclusion is checked against (``conclusion_depends_on_method``): the default,
#: its never-narrower variant, and RevMan 5's DerSimonian-Laird with Wald intervals
SENSITIVITY_PROFILES: tuple[str, ...] = ("cochrane-2025", "cochrane-2025-adhoc", "revman5-legacy")


def get_profile(name: str) -> Profile:
    """Return the named profile, or raise ArgumentError listing the valid names."""
    if isinstance(name, Profile):
        return name
    if not isinstance(name, str) or name.strip().lower() not in PROFILES:
        raise ArgumentError(
            f"profile must be one of {', '.join(sorted(PROFILES))}; got {name!r}"
        )
    return PROFILES[name.strip().lower()]


__all__ = ["PROFILES", "Profile", "SENSITIVITY_PROFILES", "get_profile"]
