"""Dataclass fields computed on first read.

A result object can hold a field as :class:`Deferred` (a module-level function and its
arguments); :class:`LazyField` evaluates it the first time the attribute is read and stores
the value, so rarely read outputs (information criteria, percent weights) cost nothing for
callers that never look at them, and the object reads exactly as if they had been computed
eagerly.  A :class:`Deferred` pickles and copies like its arguments (the function must be
importable), so result objects stay picklable.
"""

from __future__ import annotations

from dataclasses import MISSING


class Deferred:
    """``func(*args)``, evaluated by :class:`LazyField` when the attribute is first read."""

    __slots__ = ("func", "args")

    def __init__(self, func, *args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return (Deferred, (self.func, *self.args))

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Deferred({getattr(self.func, '__name__', self.func)!r})"


class LazyField:
    """A dataclass field (descriptor-typed, see the :mod:`dataclasses` docs) that may be
    assigned a :class:`Deferred`; reading it evaluates and caches the value.

    ``default_factory`` (when given) makes the field's default a fresh value per instance:
    the dataclass default is None and a None read is replaced by ``default_factory()``.
    """

    def __init__(self, default=MISSING, default_factory=None):
        self.default = None if default_factory is not None else default
        self.default_factory = default_factory

    def __set_name__(self, owner, name):
        self.name = name
        self.slot = "_lazy_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:  # class access: dataclasses asks for the default this way
            if self.default is MISSING:
                raise AttributeError(self.name)
            return self.default
        value = obj.__dict__[self.slot]
        if type(value) is Deferred:
            value = value.func(*value.args)
            obj.__dict__[self.slot] = value
        elif value is None and self.default_factory is not None:
            value = self.default_factory()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value

    @staticmethod
    def raw(obj, name: str):
        """The stored value of field ``name`` of ``obj`` without evaluating a Deferred."""
        return obj.__dict__["_lazy_" + name]


__all__ = ["Deferred", "LazyField"]
