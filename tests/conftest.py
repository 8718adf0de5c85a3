"""Shared test fixtures.

The real corpora live outside the repository (``../shared/corpora``) and are never copied in:
tests that read them skip cleanly on a machine that does not have them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def corpora_path() -> Path | None:
    """Where the shared corpora are: ``$CLINICALNER_CORPORA``, else ``../shared/corpora``, else None."""
    env = os.environ.get("CLINICALNER_CORPORA")
    for candidate in (Path(env) if env else None, _DEFAULT, Path("/work/shared/corpora")):
        if candidate is not None and candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    path = corpora_path()
    if path is None:
        pytest.skip("shared corpora not available (set CLINICALNER_CORPORA)")
    return path
