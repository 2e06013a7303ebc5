"""Argument checks shared by the effects stage (internal).

Every check raises :class:`trialsynth.errors.ArgumentError` naming the argument,
the offending positions and what was expected, so that no bad input turns into a
silent NaN further down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError

_SHOW = 5  # positions listed in a message before "..."


def positions(mask: np.ndarray) -> str:
    """The 0-based positions where ``mask`` is true, abbreviated after a few."""
    where = np.flatnonzero(mask)
    shown = ", ".join(str(int(i)) for i in where[:_SHOW])
    if where.size > _SHOW:
        shown += f", ... ({where.size} in all)"
    return shown


def as_float_array(name: str, value, *, allow_nan: bool = False) -> np.ndarray:
    """Convert one array argument to a 1-D float array, or raise naming it."""
    if value is None:
        raise ArgumentError(f"{name}: a value is required, got None")
    if isinstance(value, str | bytes):
        raise ArgumentError(f"{name}: expected numbers, got the string {value!r}")
    try:
        if isinstance(value, pd.Series | pd.Index):
            arr = value.to_numpy(dtype=float, na_value=np.nan)  # nullable Int64/boolean with <NA>
        else:
            arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"{name}: expected numbers ({exc})") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ArgumentError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if not allow_nan:
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ArgumentError(
                f"{name}: expected finite numbers, found NaN or infinity at position(s) "
                f"{positions(bad)}"
            )
    return arr


def same_length(arrays: Mapping[str, np.ndarray]) -> int:
    """Check that every array has the same length and return it."""
    lengths = {name: arr.shape[0] for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ArgumentError(f"arrays must have the same length; got {shown}")
    n = next(iter(lengths.values())) if lengths else 0
    if n == 0:
        raise ArgumentError(f"arrays must not be empty; got {', '.join(lengths)} of length 0")
    return n


def require(name: str, bad: np.ndarray, expected: str) -> None:
    """Raise naming ``name`` when any element of the boolean array ``bad`` is true."""
    if np.any(bad):
        raise ArgumentError(f"{name}: expected {expected}, violated at position(s) {positions(bad)}")


def common_index(values: Sequence) -> pd.Index | None:
    """The index shared by the pandas Series among ``values`` (None if none or they differ)."""
    idx = [v.index for v in values if isinstance(v, pd.Series)]
    if not idx:
        return None
    first = idx[0]
    if all(i.equals(first) for i in idx[1:]):
        return first
    return None
