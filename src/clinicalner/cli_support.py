"""What every CLI module shares: the console, how paths are printed, and the one-line errors.

Kept apart from ``cli.py`` so the command groups in their own modules (``cli_classify``,
``cli_service``) import it without importing ``cli``, which registers them (no cycle).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from clinicalner.errors import CorpusError


def _console() -> Console:
    """The output console: wide when stdout is not a terminal (a file, a pipe).

    Rich falls back to 80 columns there and cuts table cells (``32,8…``); a file should get
    whole numbers. ``COLUMNS``, when set, still decides.
    """
    isatty = getattr(sys.stdout, "isatty", None)
    if (isatty is None or not isatty()) and not os.environ.get("COLUMNS"):
        return Console(width=200)
    return Console()


console = _console()


def shown(path: str | Path) -> str:
    """A path as every command prints it: relative to the working folder when it lies inside,
    else absolute, so that one run never mixes ``m/model`` with ``/home/x/m/model``."""
    full = Path(os.path.abspath(path))
    try:
        return full.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return str(full)


F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Turn bad input into one clear line and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CorpusError as exc:
            typer.echo(f"error: {exc}", err=True)  # one unwrapped line, easy to grep
            raise typer.Exit(2) from None
        except (OSError, ValueError) as exc:  # OSError: a disk full, a permission lost mid-run
            typer.echo(f"error: {exc}", err=True)  # one unwrapped line, easy to grep
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]
