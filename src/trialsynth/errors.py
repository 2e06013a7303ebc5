"""Exceptions shared by every stage.

A :class:`TrialsynthError` is a *user* error: the command line prints its
message (one line per problem) and exits non-zero, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class TrialsynthError(Exception):
    """Base class of errors caused by the user's input or arguments."""

    def problems(self) -> list[str]:
        """One line per problem, as the command line prints them."""
        return [str(self)]


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Attributes
    ----------
    file : str
        The file's path as the user gave it.
    row : int or None
        The row number as a spreadsheet shows it (the header is row 1).
    column : str or None
        The column's name.
    value : str or None
        The offending value, as written.
    message : str
        What is wrong and what was expected.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.message}{shown}"


class TrialDataError(TrialsynthError, ValueError):
    """A data file failed validation; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self._problems = list(problems)
        head = f"{len(self._problems)} problem(s) found"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self._problems))

    @property
    def items(self) -> list[Problem]:
        return list(self._problems)

    def problems(self) -> list[str]:
        return [str(p) for p in self._problems]


class ArgumentError(TrialsynthError, ValueError):
    """An argument to a public function was not what it expects (names the argument)."""
