"""Run independent chunks of work locally or on a Dask cluster, with identical results.

Long computations in trialsynth (GOSH over millions of subsets, simulation studies) are split
into *chunks* whose inputs are fixed before anything runs: a range of integers, a seed spawned
from a :class:`numpy.random.SeedSequence`.  A chunk's result therefore does not depend on where
or when it runs, and :func:`run_chunks` returns the results **in chunk order** whichever
executor computed them, so that the local path (``client=None``) and a Dask cluster give the
same numbers bit for bit.

Pointing at a real cluster::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")   # the scheduler's address
    trialsynth.simulation.coverage_study(..., client=client)

The workers need trialsynth (and numpy/scipy) importable, at the same version as the client.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from trialsynth.errors import ArgumentError

__all__ = ["run_chunks", "default_workers"]


def default_workers() -> int:
    """Threads used by the local path: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _one_blas_thread():
    """Context limiting BLAS to one thread (threadpoolctl), or a no-op when it is missing.

    Dask's worker processes run BLAS on one thread; a multi-threaded BLAS in this process may
    split a row sum differently and change the last bit of a result.  Pinning BLAS to one thread
    in every chunk makes the local path and a cluster bit-identical (and avoids oversubscribing
    the cores the chunk threads already use).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional (bench extra): without it results may differ in the last bit
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _call_with_one_blas_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one chunk on a Dask worker with BLAS pinned to one thread."""
    with _one_blas_thread():
        return func(*args, **kwargs)


def _check_client(client: Any) -> None:
    if client is None:
        return
    if not (hasattr(client, "map") and hasattr(client, "gather")):
        raise ArgumentError(
            "client: expected a dask.distributed.Client (for example Client('tcp://scheduler:8786')) "
            f"or None for the local path, got {type(client).__name__}"
        )


def run_chunks(
    func: Callable[..., Any],
    chunks: Sequence[tuple],
    *,
    client: Any = None,
    progress: bool = True,
    description: str = "chunks",
    workers: int | None = None,
    **shared: Any,
) -> list[Any]:
    """Evaluate ``func(*chunk, **shared)`` for every chunk and return the results in chunk order.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled to Dask workers).  It must be deterministic in
        its arguments: randomness comes in through a seed that is part of the chunk.
    chunks : sequence of tuples
        Positional arguments of each call.
    client : dask.distributed.Client or None
        None runs the chunks in this process on a pool of ``workers`` threads (numpy releases
        the GIL in its array loops, so threads use every core).  A Client submits one task per
        chunk; ``shared`` arguments are scattered to the workers once.
    progress : bool
        Show a progress bar: tqdm locally, ``dask.distributed.progress`` on a cluster.
    description : str
        Label of the progress bar.
    workers : int or None
        Threads of the local path; default :func:`default_workers`.
    **shared
        Keyword arguments passed unchanged to every call (data common to all chunks).

    Returns
    -------
    list
        ``[func(*chunks[0], **shared), func(*chunks[1], **shared), ...]``.
    """
    _check_client(client)
    chunks = [tuple(c) for c in chunks]
    if client is None:
        n_threads = default_workers() if workers is None else int(workers)
        if n_threads < 1:
            raise ArgumentError(f"workers: expected a positive number of threads, got {workers!r}")
        bar = _tqdm(total=len(chunks), description=description, enabled=progress)
        results: list[Any] = [None] * len(chunks)
        with _one_blas_thread():
            try:
                if n_threads == 1 or len(chunks) <= 1:
                    for i, chunk in enumerate(chunks):
                        results[i] = func(*chunk, **shared)
                        bar.update(1)
                else:
                    with ThreadPoolExecutor(max_workers=n_threads) as pool:
                        futures = [pool.submit(func, *chunk, **shared) for chunk in chunks]
                        for i, future in enumerate(futures):
                            results[i] = future.result()
                            bar.update(1)
            finally:
                bar.close()
        return results

    import numpy as np

    # arrays go to the workers once; small values travel with each task
    scattered = {
        name: client.scatter(value, broadcast=True) if isinstance(value, np.ndarray) else value
        for name, value in shared.items()
    }
    futures = [client.submit(_call_with_one_blas_thread, func, *chunk, pure=False, **scattered) for chunk in chunks]
    if progress:
        from dask.distributed import progress as dask_progress

        dask_progress(futures)
    return client.gather(futures)


class _NoBar:
    def update(self, n: int) -> None:  # noqa: D401 - trivial
        pass

    def close(self) -> None:
        pass


def _tqdm(total: int, description: str, enabled: bool):
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is an optional (bench) dependency
        return _NoBar()
    return tqdm(total=total, desc=description, leave=False)
