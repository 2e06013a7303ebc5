"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists its public names with the module defining each; a name is imported on first
access, so ``import trialsynth`` and the command line start without numpy, scipy or matplotlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, namespace: dict, api: Mapping[str, str]) -> tuple[Callable, Callable]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public names are ``api``
    (name -> defining module); a resolved name is cached in ``namespace`` (the package's globals)."""

    def __getattr__(name: str):
        try:
            module = api[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(api))

    return __getattr__, __dir__
