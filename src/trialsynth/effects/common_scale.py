"""Mean differences on a common 0-100 scale.

Cochrane reviews of back pain report pain and function as mean differences on 0-100 scales
(Mu et al. 2020, CD013814, summary of findings 3: "VAS (0 to 100 ...)", "HFAQ (0 to 100 ...)";
``evidence/Mu2020.yaml`` Q1, Q2), with a clinically important difference of 15 points on a 0-100
pain scale (Q13). An instrument with a printed range ``[scale_min, scale_max]`` is put on that
scale by a linear change of units, which multiplies a mean difference and its standard error by
the same constant::

    MD_100 = MD * 100 / (scale_max - scale_min),    SE_100 = SE * 100 / (scale_max - scale_min)

(a difference does not depend on the scale's origin, only on its width). A mean difference on
one scale may combine change-from-baseline and final-value trials (Cochrane Handbook for
Systematic Reviews of Interventions v6.4, section 10.5.2: "the MD method" may mix them; the SMD
may not), which is why the report's rule for a cell that holds both is to pool it as ``MD100``
when every trial's instrument has a printed range (:mod:`trialsynth.effects.value_types`).

A row whose range is not printed gets no 0-100 value: a range is never guessed from the
instrument's name (a VAS is printed 0-10 as often as 0-100).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.effects.records import effects_from_trials

#: the measure name of a mean difference on the common 0-100 scale
MD100 = "MD100"
METHOD = ("MD on a common 0-100 scale: the MD and its SE times 100/(scale_max - scale_min), a linear change of "
          "units (Mu 2020 CD013814 reports pain and function MDs on 0-100 scales; mixing change and final values is "
          "allowed for MDs, Cochrane Handbook 10.5.2)")


def effects_on_100(df: pd.DataFrame, *, binary_measure: str = "RR") -> pd.DataFrame:
    """Effect sizes of ``df`` as :func:`~trialsynth.effects.records.effects_from_trials` with
    ``measure="MD"``, continuous rows rescaled to a 0-100 scale (measure ``MD100``).

    Continuous rows without a printed ``scale_min``/``scale_max`` are unusable (reason "scale
    range not printed"); responder rows are returned as ``binary_measure`` unchanged.
    """
    out = effects_from_trials(df, measure="MD", binary_measure=binary_measure)
    cont = out["measure"].astype(str) == "MD"
    low = pd.to_numeric(out.get("scale_min", pd.Series(np.nan, index=out.index)), errors="coerce")
    high = pd.to_numeric(out.get("scale_max", pd.Series(np.nan, index=out.index)), errors="coerce")
    width = (high - low).where(high > low)
    factor = 100.0 / width
    ok = cont & factor.notna() & out["usable"].astype(bool)
    no_range = cont & factor.isna() & out["usable"].astype(bool)
    out.loc[cont, "measure"] = MD100
    out.loc[ok, "yi"] = out.loc[ok, "yi"] * factor[ok]
    out.loc[ok, "sei"] = out.loc[ok, "sei"] * factor[ok]
    out.loc[ok, "vi"] = out.loc[ok, "sei"] ** 2
    out.loc[ok, "derivation"] = (out.loc[ok, "derivation"].astype(str) + "; rescaled to 0-100: x 100/"
                                 + width[ok].map("{:g}".format) + " (" + METHOD + ")")
    for col in ("yi", "vi", "sei"):
        out.loc[no_range, col] = np.nan
    out.loc[no_range, "usable"] = False
    out.loc[no_range, "derivation"] = ""
    out.loc[no_range, "reason"] = "scale range not printed: no common 0-100 scale (a range is never guessed)"
    return out


__all__ = ["MD100", "METHOD", "effects_on_100"]
