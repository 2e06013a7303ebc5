"""Input handling shared by the diagnostics: ``yi, vi`` arrays or a fitted result."""

from __future__ import annotations

import numpy as np

from trialsynth.errors import ArgumentError


def study_arrays(yi, vi=None, *, sei=None, labels=None, min_k: int = 1):
    """Return ``(yi, vi, labels, fit)`` from arrays or from a fitted result.

    ``yi`` may be a fitted result (anything with ``yi`` and ``vi``
    attributes, such as :class:`trialsynth.MetaResult`); its ``labels``,
    ``method`` and ``test`` are then used by the caller through ``fit``.
    """
    fit = None
    if hasattr(yi, "yi") and hasattr(yi, "vi"):
        fit = yi
        if labels is None:
            labels = getattr(fit, "labels", None)
        yi, vi = fit.yi, fit.vi
    try:
        y = np.asarray(yi, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ArgumentError(f"yi: expected numbers, got {yi!r}") from None
    if vi is None and sei is None:
        raise ArgumentError("vi: give the sampling variances (vi) or standard errors (sei)")
    if vi is not None and sei is not None:
        raise ArgumentError("vi, sei: give one of them, not both")
    if vi is None:
        try:
            s = np.asarray(sei, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ArgumentError(f"sei: expected numbers, got {sei!r}") from None
        name = "sei"
        v = s**2
        check = s
    else:
        try:
            v = np.asarray(vi, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ArgumentError(f"vi: expected numbers, got {vi!r}") from None
        name = "vi"
        check = v
    if y.size != v.size:
        raise ArgumentError(f"yi, {name}: must have the same length, got {y.size} and {v.size}")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ArgumentError(f"yi: missing or infinite values at positions {bad.tolist()}")
    bad = np.flatnonzero(~np.isfinite(check))
    if bad.size:
        raise ArgumentError(f"{name}: missing or infinite values at positions {bad.tolist()}")
    bad = np.flatnonzero(check <= 0)
    if bad.size:
        raise ArgumentError(f"{name}: must be > 0, got {check[bad].tolist()} at positions {bad.tolist()}")
    if y.size < min_k:
        raise ArgumentError(f"yi: needs at least {min_k} studies, got {y.size}")
    if labels is None:
        labels = [str(i + 1) for i in range(y.size)]
    else:
        labels = [str(x) for x in labels]
        if len(labels) != y.size:
            raise ArgumentError(f"labels: expected {y.size} labels, got {len(labels)}")
    return y, v, labels, fit


def small_k_warning(test_name: str, k: int) -> str | None:
    """The warning for asymmetry tests on fewer than 10 studies."""
    if k < 10:
        return (
            f"{test_name} with k = {k} < 10 studies has too little power to distinguish chance from "
            "real asymmetry (Sterne et al. 2011, BMJ 343:d4002; Cochrane Handbook 13.3.5.4)"
        )
    return None
