"""Fixtures for the OMOP tests: a database with a NOTE table, in SQLite and in PostgreSQL.

PostgreSQL runs where ``CLINICALNER_TEST_POSTGRES_URL`` names a server (``.ci/run`` starts
a throwaway one); each test gets its own schema, dropped afterwards. Elsewhere the
PostgreSQL cases skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sa = pytest.importorskip("sqlalchemy")

POSTGRES_ENV = "CLINICALNER_TEST_POSTGRES_URL"


@dataclass
class Database:
    url: str
    schema: str | None

    def engine(self) -> sa.Engine:
        from clinicalner.omop.database import engine_for

        return engine_for(self.url, must_exist=False)


def _postgres(tmp_name: str) -> Iterator[Database]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server for the tests ({POSTGRES_ENV} is unset; .ci/run starts one)")
    pytest.importorskip("psycopg")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV} does not answer: {type(exc).__name__}")
    schema = f"t_{tmp_name}_{uuid.uuid4().hex[:8]}".lower()
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    try:
        yield Database(url, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database: an SQLite file, or a fresh schema on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield Database(str(tmp_path / "cdm.sqlite"), None)
    else:
        yield from _postgres("omop")


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    from tiny_trained import shared_tiny_model

    return shared_tiny_model(tmp_path_factory)
