"""A database from what a user types: an SQLAlchemy URL, or a path to an SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def engine_for(db: str | Path, must_exist: bool = True) -> Any:
    """An engine for ``db``: any SQLAlchemy URL (``postgresql+psycopg://...``), or a file path,
    read as SQLite. A path that does not exist is an error when ``must_exist`` (SQLite would
    silently create an empty database and then find no ``NOTE`` table)."""
    import sqlalchemy as sa

    text = str(db)
    if "://" in text:
        try:
            return sa.create_engine(text)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise ValueError(f"cannot use database URL: {exc}") from None
        except ModuleNotFoundError as exc:
            raise ValueError(
                f"the database driver {exc.name} is not installed (PostgreSQL: pip install -e '.[omop]')"
            ) from None
    path = Path(text)
    if must_exist and not path.is_file():
        raise FileNotFoundError(f"{path}: no such SQLite database file (or give an SQLAlchemy URL)")
    return sa.create_engine(f"sqlite:///{path.resolve()}")


def display(engine: Any) -> str:
    """The engine's URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)
