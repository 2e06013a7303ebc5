"""Fail-safe N (file-drawer analysis): Rosenthal, Orwin and Rosenberg.

How many unpublished studies averaging a null result would have to sit in file
drawers to bring the combined result down to non-significance (Rosenthal,
Rosenberg) or to a trivial size (Orwin). Reproduces metafor 3.8's ``fsn``.

The fail-safe N is reported because reviewers meet it in older reviews; it is a
poor guide to publication bias: it assumes the missing studies average exactly
no effect, ignores heterogeneity and (Rosenthal's) the size of the effect, and
has no sampling distribution (Becker 2005, in Rothstein, Sutton & Borenstein
(eds.), *Publication Bias in Meta-Analysis*, ch. 7; the Cochrane Handbook,
chapter 13, does not recommend it). Every result carries that caveat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.diagnostics._inputs import study_arrays
from trialsynth.errors import ArgumentError

__all__ = ["FAIL_SAFE_TYPES", "FailSafeNResult", "fail_safe_n"]

#: Methods of :func:`fail_safe_n`.
FAIL_SAFE_TYPES = ("Rosenthal", "Orwin", "Rosenberg")

_CAVEAT = (
    "the fail-safe N assumes the missing studies average no effect and ignores heterogeneity; it "
    "is not a test of publication bias (Becker 2005; Cochrane Handbook ch. 13)"
)


@dataclass
class FailSafeNResult:
    """A fail-safe N.

    Attributes
    ----------
    type : {"Rosenthal", "Orwin", "Rosenberg"}
    fail_safe_n : int
        The number of null studies that would have to be added (0 when the
        observed result is already non-significant, or already below the target).
    alpha : float
        The significance level (Rosenthal: one-sided; Rosenberg: two-sided).
    p_value : float or None
        Rosenthal: Stouffer's combined one-sided p-value of the observed studies;
        Rosenberg: the two-sided p-value of the common-effect estimate; Orwin: None.
    mean_effect : float or None
        Orwin: the (unweighted or weighted) mean effect; Rosenberg: the common-effect
        estimate; Rosenthal: None.
    target : float or None
        Orwin: the mean effect the added studies would bring the mean down to.
    k : int
    raw : float
        The fail-safe number before rounding up.
    warnings : list of str
    """

    type: str
    fail_safe_n: int
    alpha: float
    p_value: float | None
    mean_effect: float | None
    target: float | None
    k: int
    raw: float
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "method": f"fail-safe N ({self.type})", "fail_safe_n": self.fail_safe_n, "alpha": self.alpha,
            "p_value": self.p_value, "mean_effect": self.mean_effect, "target": self.target, "k": self.k,
        }])


def _round_up(raw: float) -> int:
    """The next whole study (a rounding residue of an exact integer is not one more)."""
    return math.ceil(raw - 1e-9 * max(1.0, abs(raw)))


def fail_safe_n(
    yi,
    vi=None,
    *,
    sei=None,
    type: str = "Rosenthal",
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
) -> FailSafeNResult:
    r"""Fail-safe N of Rosenthal (1979), Orwin (1983) or Rosenberg (2005).

    With :math:`z_i = y_i/\sqrt{v_i}`:

    ``"Rosenthal"``
        Rosenthal, R. (1979). The "file drawer problem" and tolerance for null
        results. *Psychol Bull* 86:638-641: Stouffer's sum
        :math:`Z = \sum z_i/\sqrt{k}` stays significant (one-sided, level ``alpha``)
        until :math:`N = (\sum z_i)^2/z_{1-\alpha}^2 - k` null studies are added.
    ``"Orwin"``
        Orwin, R. G. (1983). A fail-safe N for effect size in meta-analysis. *J Educ
        Stat* 8:157-159: :math:`N = k(\bar y - y_c)/y_c` studies of effect 0
        bring the mean :math:`\bar y` down to the target :math:`y_c`. The mean is
        unweighted (Orwin's) or, with ``weighted=True``, inverse-variance weighted;
        the target defaults to half the mean (metafor's default, which it calls
        arbitrary: give a value that is clinically trivial).
    ``"Rosenberg"``
        Rosenberg, M. S. (2005). The file-drawer problem revisited: a general
        weighted method for calculating fail-safe numbers in meta-analysis.
        *Evolution* 59:464-468: the common-effect z test
        :math:`\sum w_i y_i/\sqrt{\sum w_i}` stays significant (two-sided) until
        :math:`N = k\,[(\sum w_i y_i)^2/(z_{1-\alpha/2}^2 \sum w_i) - 1]` studies of
        effect 0 and average weight :math:`\sum w_i/k` are added (normal, not t,
        quantiles, as metafor).

    N is rounded up to a whole study; it is 0 when the result is not significant
    to begin with (or the mean is already below the target).

    Parameters
    ----------
    yi, vi : array-like
        Effects and sampling variances, or a fitted result as ``yi``.
    sei : array-like, optional
        Standard errors instead of ``vi``.
    type : {"Rosenthal", "Orwin", "Rosenberg"}
    alpha : float
        Significance level (Rosenthal and Rosenberg).
    target : float, optional
        Orwin's target mean effect (its sign is taken to be that of the mean).
    weighted : bool
        Orwin with the inverse-variance weighted mean.

    Returns
    -------
    FailSafeNResult
    """
    if type not in FAIL_SAFE_TYPES:
        raise ArgumentError(f"type: expected one of {', '.join(FAIL_SAFE_TYPES)}, got {type!r}")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ArgumentError(f"alpha: expected a significance level in (0, 1), got {alpha!r}")
    y, v, _, _ = study_arrays(yi, vi, sei=sei, min_k=1)
    k = y.size
    notes = [_CAVEAT]
    if type == "Rosenthal":
        z_sum = float(np.sum(y / np.sqrt(v)))
        p = float(stats.norm.sf(abs(z_sum) / math.sqrt(k)))
        raw = z_sum**2 / stats.norm.ppf(1 - alpha) ** 2 - k
        n = _round_up(raw) if p < alpha else 0
        return FailSafeNResult("Rosenthal", max(n, 0), float(alpha), p, None, None, k, raw, notes)
    w = 1 / v
    if type == "Rosenberg":
        estimate = float(np.sum(w * y) / np.sum(w))
        p = float(2 * stats.norm.sf(abs(estimate) * math.sqrt(np.sum(w))))
        raw = k * (np.sum(w * y) ** 2 / (stats.norm.ppf(1 - alpha / 2) ** 2 * np.sum(w)) - 1)
        n = _round_up(raw) if p < alpha else 0
        return FailSafeNResult("Rosenberg", max(n, 0), float(alpha), p, estimate, None, k, float(raw), notes)
    mean = float(np.sum(w * y) / np.sum(w)) if weighted else float(np.mean(y))
    if target is None:
        target = mean / 2
    elif not (isinstance(target, int | float) and math.isfinite(target) and target != 0):
        raise ArgumentError(f"target: expected a non-zero finite mean effect, got {target!r}")
    target = math.copysign(abs(float(target)), mean)
    if mean == 0:
        raise ArgumentError("yi: the mean effect is 0, so no target can be reached by adding null studies")
    raw = k * (mean - target) / target
    n = _round_up(raw) if abs(mean) > abs(target) else 0
    return FailSafeNResult("Orwin", max(n, 0), float(alpha), None, mean, target, k, raw, notes)
