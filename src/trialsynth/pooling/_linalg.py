"""Small linear-algebra helpers for weighted least squares in meta-analysis models.

All functions are pure and work on 1-D outcome arrays with a (k x p) design
matrix ``X``.  The notation follows Viechtbauer (2005, Journal of Educational
and Behavioral Statistics 30(3), 261-293): ``W = diag(w)``,
``P = W - W X (X'WX)^{-1} X'W`` (the "residual-maker" of weighted least squares,
so that ``y'Py`` is the weighted residual sum of squares).
"""

from __future__ import annotations

import numpy as np


def intercept_design(k: int) -> np.ndarray:
    """The (k x 1) design of an intercept-only model."""
    return np.ones((k, 1))


def wls(yi: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares.

    Returns ``b = (X'WX)^{-1} X'W y`` and ``(X'WX)^{-1}``.
    """
    xtw = X.T * w
    xtwx = xtw @ X
    xtwx_inv = _inv(xtwx)
    b = xtwx_inv @ (xtw @ yi)
    return b, xtwx_inv


def p_matrix(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``P = W - W X (X'WX)^{-1} X'W`` for weights ``w``."""
    wx = X * w[:, None]
    xtwx_inv = _inv(X.T @ wx)
    return np.diag(w) - wx @ xtwx_inv @ wx.T


def quad_p(yi: np.ndarray, X: np.ndarray, w: np.ndarray) -> float:
    """``y'Py``: the weighted residual sum of squares (a generalised Q)."""
    b, _ = wls(yi, X, w)
    resid = yi - X @ b
    return float(np.sum(w * resid * resid))


def _inv(a: np.ndarray) -> np.ndarray:
    if a.shape == (1, 1):
        return np.array([[1.0 / a[0, 0]]])
    return np.linalg.inv(a)


def logdet(a: np.ndarray) -> float:
    """log |det(a)| of a small symmetric positive-definite matrix."""
    sign, value = np.linalg.slogdet(a)
    return float(value)


def raise_malloc_mmap_threshold() -> None:
    """Free one 32 MB block so that glibc serves later (m x k) temporaries from its heap.

    glibc's malloc gives every block above its mmap threshold (128 kB at start) fresh pages
    from the kernel, and each page faults on first touch; freeing a larger mapped block
    raises the threshold to that size (mallopt(3), "M_MMAP_THRESHOLD", dynamic adjustment).
    Importing pandas or scipy.stats happened to do this; without them a 10,000 x 10 batch
    spent most of its time in page faults (DL 2.0 ms instead of 0.7 ms), and so did a single
    fit with k = 100,000 (every 800 kB temporary of :func:`trialsynth.pool` a fresh mapping).
    Called once when the fitting modules are imported; harmless elsewhere.
    """
    block = np.empty(4_000_000)
    del block


#: OpenBLAS splits a dot product over threads above this length (interface/dot.c); on a
#: loaded machine waking those threads costs more than the product (a 100,000-long ddot took
#: 1-25 ms instead of 0.05 ms with two busy cores), so longer vectors are summed in slices
_DOT_SLICE = 8192


def vdot(a: np.ndarray, b: np.ndarray) -> float:
    """``a @ b`` for 1-D float arrays, on one thread: slices of at most 8,192 elements go to
    BLAS one by one, below OpenBLAS's threading threshold."""
    n = a.size
    if n <= _DOT_SLICE:
        return float(a @ b)
    total = 0.0
    for start in range(0, n, _DOT_SLICE):
        stop = start + _DOT_SLICE
        total += float(a[start:stop] @ b[start:stop])
    return total
