"""Errors for malformed input, and the strict/lenient policy readers share.

Every reader reports a problem through :class:`Problems` so that one flag decides,
in one place, whether bad input stops the run (the default: nothing is silently lost)
or is skipped and counted (``--lenient``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: How many characters of a span string an error message may quote.
QUOTE_LIMIT = 80


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a string an error message quotes (a span text, a term), cut at ``limit``.

    Every message that quotes text goes through here: an offset typo once printed a whole
    note (PHI) and one 50 MB row produced 75 MB of error output. A longer string is cut with
    an ellipsis and its length: ``'diabetes mellitus tipo 2 con…' (5012 characters)``.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


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
