"""Input handling shared by the diagnostics: ``yi, vi`` arrays or a fitted result."""

from __future__ import annotations

import numpy as np

from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import study_labels


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
    return y, v, study_labels(labels, y.size), fit


def small_k_warning(test_name: str, k: int) -> str | None:
    """The warning for asymmetry tests on fewer than 10 studies."""
    if k < 10:
        return (
            f"{test_name} with k = {k} < 10 studies has too little power to distinguish chance from "
            "real asymmetry (Sterne et al. 2011, BMJ 343:d4002; Cochrane Handbook 13.3.5.4)"
        )
    return None


def fit_options(fit, method, test, level):
    """method/test/level from the arguments, else from a fitted result, else metafor's defaults."""
    if method is None:
        method = getattr(fit, "method", None) or "REML"
    if test is None:
        test = getattr(fit, "test", None) or "z"
    if level is None:
        level = getattr(fit, "level", None) or 95.0
    return method, test, float(level)


def model_fit(yi, vi, X=None, *, method="REML", test="z", level=95.0):
    """A (mixed-effects) model fit from the pooling stage (``trialsynth.pooling.fit.fit_model``)."""
    from trialsynth.pooling.fit import fit_model

    return fit_model(np.asarray(yi, float), np.asarray(vi, float), X, method=method, test=test, level=level)


def pooled(yi, vi, *, method="REML", test="z", level=95.0, labels=None, measure=None):
    """An intercept-only fit as :func:`trialsynth.pool` gives it (warnings kept, not emitted)."""
    from trialsynth.pooling.fit import pool

    return pool(yi, vi, method=method, test=test, level=level, labels=labels, measure=measure, warn=False)


def cumulative_order(order, k: int) -> np.ndarray:
    """The positions in the order a cumulative analysis adds studies.

    ``order`` is None (input order), a permutation of 0..k-1, or sort keys of length
    k (such as publication years), sorted stably.
    """
    if order is None:
        return np.arange(k)
    keys = np.asarray(order)
    if keys.shape != (k,):
        raise ArgumentError(f"order: expected {k} values (one per study), got shape {keys.shape}")
    is_permutation = np.issubdtype(keys.dtype, np.integer) and np.array_equal(np.sort(keys), np.arange(k))
    return keys.astype(int) if is_permutation else np.argsort(keys, kind="stable")
