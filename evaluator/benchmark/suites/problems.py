"""Why a suite was refused: every problem found in every file, each as ``file:line: reason`` (``file: reason``
for a problem of the whole file).

Importing is all-or-nothing, so a loader never stops at the first bad row: it collects every problem and the
importer refuses the whole suite with all of them at once, letting an organizer fix a file in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a row (or a whole file, line 0) cannot be imported."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        """``file:line: reason``; a whole-file problem (line 0) reads ``file: reason`` (there is no line 0)."""
        return f"{self.file}: {self.reason}" if self.line <= 0 else f"{self.file}:{self.line}: {self.reason}"


class SuiteError(Exception):
    """A suite operation was refused; ``problems`` lists every reason as ``file:line: reason`` strings."""

    def __init__(self, problems: list[str] | list[Problem], summary: str | None = None) -> None:
        self.problems: list[str] = [str(p) for p in problems]
        self.summary = summary or f"suite refused: {len(self.problems)} problem(s)"
        super().__init__(self.summary + "".join(f"\n  {p}" for p in self.problems))
