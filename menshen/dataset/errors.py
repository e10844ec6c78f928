"""Problems found in a dataset, always located by file, line and column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in one row: `file:line:column value — reason`."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f":{self.column}"
        value = "" if self.value is None else f" {_short(self.value)!r}"
        return f"{where}{value} — {self.reason}"


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit] + f"…(+{len(value) - limit} chars)"


class DatasetError(Exception):
    """The dataset cannot be used at all (exit code 3, nothing is written)."""

    def __init__(self, problem: Problem | str, hint: str = ""):
        self.problem = problem
        self.hint = hint
        super().__init__(str(problem) + (f"\n  {hint}" if hint else ""))
