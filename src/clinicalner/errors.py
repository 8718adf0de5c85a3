"""Errors for malformed input, and the strict/lenient policy readers share.

Every reader reports a problem through :class:`Problems` so that one flag decides,
in one place, whether bad input stops the run (the default: nothing is silently lost)
or is skipped and counted (``--lenient``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class CorpusError(ValueError):
    """Bad input: says which file, which line (1-based) and what is wrong.

    The message must never contain note text beyond the span strings being compared
    (those are needed to fix the file, and they are the user's own data on their screen).
    """

    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.file is None:
            # No placeholder such as "<input>": a message without a file says what it can.
            return self.message if self.line is None else f"line {self.line}: {self.message}"
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"

    def at(self, file: str | Path) -> CorpusError:
        """This error, placed in ``file`` when it names none (a writer names its output path)."""
        if self.file is None:
            self.file = str(file)
            self.args = (str(self),)
        return self


@dataclass
class Problems:
    """Strict by default: the first problem raises. Lenient: problems are collected and skipped."""

    lenient: bool = False
    skipped: list[CorpusError] = field(default_factory=list)

    def report(self, error: CorpusError) -> None:
        if not self.lenient:
            raise error
        self.skipped.append(error)

    def __len__(self) -> int:
        return len(self.skipped)
