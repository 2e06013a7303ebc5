"""GOSH past one machine: subsets enumerated from integer ranges on the workers.

A GOSH analysis (Olkin, Dahabreh & Trikalinos 2012, *Res Synth Methods* 3:214-223, "GOSH - a
graphical display of study heterogeneity") fits the meta-analytic model to every non-empty subset
of the k studies: ``2**k - 1`` fits, 4,194,303 for k = 22.  Subset ``s`` (an integer in
``1 .. 2**k - 1``) contains study ``j`` when bit ``j`` of ``s`` is set, so a chunk of work is only
a pair of integers ``(start, stop)``: each worker expands its own range into inclusion masks and
fits them with :func:`trialsynth.pool_batch`.  The client never holds more than the inputs and the
results.  When ``max_subsets`` is smaller than ``2**k - 1`` a random sample of subset numbers is
drawn instead (as metafor's ``gosh(subsets=)`` does), each chunk from its own
:class:`numpy.random.SeedSequence` child, so the sample is the same wherever the chunks run.

The local path (``client=None``) and a Dask cluster (``client=Client(...)``) give identical
results; see :mod:`trialsynth.pooling.distributed` for how to point at a cluster.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError
from trialsynth.pooling.distributed import run_chunks

__all__ = ["gosh_distributed", "GOSH_COLUMNS", "subset_masks"]

#: Columns of the table :func:`gosh_distributed` returns (besides ``subset`` and ``k``).
GOSH_COLUMNS = ("estimate", "tau2", "i2", "h2", "q")

_MAX_K_ALL = 30  # 2**30 - 1 fits: beyond this, ask for a random sample (max_subsets)
_MAX_K = 62  # subset numbers are int64


def subset_masks(subsets: np.ndarray, k: int) -> np.ndarray:
    """Inclusion masks (``len(subsets) x k`` booleans) of subset numbers: bit j = study j."""
    subsets = np.asarray(subsets, dtype=np.int64)
    return ((subsets[:, None] >> np.arange(k, dtype=np.int64)) & 1).astype(bool)


def _fit_subsets(subsets: np.ndarray, yi: np.ndarray, vi: np.ndarray, method: str) -> dict[str, np.ndarray]:
    from trialsynth import pool_batch

    masks = subset_masks(subsets, yi.size)
    y = np.where(masks, yi, np.nan)
    v = np.where(masks, vi, np.nan)
    res = pool_batch(y, v, method=method)
    out = {"subset": subsets, "k": masks.sum(axis=1).astype(np.int16)}
    for name in GOSH_COLUMNS:
        out[name] = np.asarray(getattr(res, name), dtype=float)
    return out


def _gosh_range(start: int, stop: int, *, yi: np.ndarray, vi: np.ndarray, method: str) -> dict[str, np.ndarray]:
    """One chunk: every subset number in ``start .. stop - 1``."""
    return _fit_subsets(np.arange(start, stop, dtype=np.int64), yi, vi, method)


def _gosh_sample(
    n: int, entropy: int, spawn_key: tuple, *, yi: np.ndarray, vi: np.ndarray, method: str
) -> dict[str, np.ndarray]:
    """One chunk of a random sample: ``n`` subset numbers drawn uniformly from ``1 .. 2**k - 1``."""
    seed = np.random.SeedSequence(entropy, spawn_key=spawn_key)
    rng = np.random.default_rng(seed)
    subsets = rng.integers(1, 2 ** int(yi.size), size=n, dtype=np.int64)
    return _fit_subsets(subsets, yi, vi, method)


def _as_inputs(yi: Any, vi: Any, method: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    if hasattr(yi, "yi") and hasattr(yi, "vi"):  # a MetaResult
        result = yi
        if vi is not None:
            raise ArgumentError("vi: give either a fitted MetaResult or yi and vi, not both")
        yi, vi = result.yi, result.vi
        method = method or getattr(result, "method", None)
    method = method or "REML"
    try:
        yi = np.asarray(yi, dtype=float)
        vi = np.asarray(vi, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"yi, vi: expected numeric one-dimensional arrays ({exc})") from None
    if yi.ndim != 1 or vi.shape != yi.shape:
        raise ArgumentError(f"yi, vi: expected two one-dimensional arrays of equal length, got {yi.shape} and {vi.shape}")
    if not (np.all(np.isfinite(yi)) and np.all(np.isfinite(vi))):
        raise ArgumentError("yi, vi: expected finite numbers (drop missing studies before a GOSH analysis)")
    if np.any(vi <= 0):
        raise ArgumentError("vi: expected positive sampling variances")
    if yi.size < 2:
        raise ArgumentError(f"yi: expected at least 2 studies for a GOSH analysis, got {yi.size}")
    return yi, vi, str(method)


def gosh_distributed(
    yi: Any,
    vi: Any = None,
    *,
    method: str | None = None,
    max_subsets: int | None = None,
    chunk_size: int = 1 << 16,
    seed: int = 0,
    client: Any = None,
    progress: bool = True,
    workers: int | None = None,
) -> pd.DataFrame:
    """Fit the model to every subset of studies (or a random sample of them), in chunks.

    Parameters
    ----------
    yi, vi : array_like or MetaResult
        Effect sizes and sampling variances (k studies), or a fitted ``MetaResult`` as ``yi``
        (then its ``method`` is the default).
    method : str
        Heterogeneity estimator of every subset fit (as :func:`trialsynth.pool`); default
        ``"REML"`` (or the MetaResult's method).
    max_subsets : int or None
        None fits all ``2**k - 1`` subsets (k <= 30).  A number smaller than that draws this
        many subset numbers uniformly at random (with replacement), seeded by ``seed``.
    chunk_size : int
        Subsets per task (a chunk's memory is about ``chunk_size * k * 40`` bytes).
    seed : int
        Entropy of the random sample (ignored when all subsets are fitted).
    client : dask.distributed.Client or None
        None runs locally on threads; a Client runs one task per chunk on the cluster.
    progress : bool
        Show a progress bar (tqdm locally, dask's progress on a cluster).
    workers : int or None
        Threads of the local path (default: the CPUs available).

    Returns
    -------
    pandas.DataFrame
        One row per subset fit, in subset-number order (or draw order for a sample):
        ``subset`` (int64 bit mask; bit j set = study j included, j counted from 0), ``k``
        (studies in the subset), ``estimate``, ``tau2``, ``i2`` (percent), ``h2``, ``q``.
    """
    yi, vi, method = _as_inputs(yi, vi, method)
    k = int(yi.size)
    if int(chunk_size) < 1:
        raise ArgumentError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    if k > _MAX_K:
        raise ArgumentError(f"yi: at most {_MAX_K} studies are supported, got {k}")
    total = (1 << k) - 1
    shared = {"yi": yi, "vi": vi, "method": method}
    if max_subsets is None or int(max_subsets) >= total:
        if k > _MAX_K_ALL:
            raise ArgumentError(
                f"max_subsets: {k} studies have {total:,} subsets; give max_subsets to fit a random sample"
            )
        bounds = list(range(1, total + 1, chunk_size)) + [total + 1]
        chunks = list(zip(bounds[:-1], bounds[1:]))
        parts = run_chunks(_gosh_range, chunks, client=client, progress=progress,
                           description=f"GOSH k={k}", workers=workers, **shared)
    else:
        n = int(max_subsets)
        if n < 1:
            raise ArgumentError(f"max_subsets: expected a positive integer or None, got {max_subsets!r}")
        sizes = [chunk_size] * (n // chunk_size) + ([n % chunk_size] if n % chunk_size else [])
        root = np.random.SeedSequence(int(seed))
        chunks = [(size, root.entropy, child.spawn_key) for size, child in zip(sizes, root.spawn(len(sizes)))]
        parts = run_chunks(_gosh_sample, chunks, client=client, progress=progress,
                           description=f"GOSH k={k} (sample)", workers=workers, **shared)
    columns = ("subset", "k", *GOSH_COLUMNS)
    frame = pd.DataFrame({name: np.concatenate([p[name] for p in parts]) for name in columns})
    frame.attrs["method"] = method
    frame.attrs["k"] = k
    frame.attrs["sampled"] = max_subsets is not None and int(max_subsets) < total
    return frame
