"""Fixtures of the benchmark tests: the hand-made corpora under ``fixtures/`` and a tagging counter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixtures (for tests that change a corpus or a predictions file)."""
    dest = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, dest)
    return dest


class TagCounter:
    """Counts documents tagged by every LexiconTagger (patched ``tag``) per call."""

    def __init__(self) -> None:
        self.calls = 0
        self.documents = 0


@pytest.fixture
def tag_counter(monkeypatch: pytest.MonkeyPatch) -> TagCounter:
    from clinicalner.predict.lexicon import LexiconTagger

    counter = TagCounter()
    original = LexiconTagger.tag

    def counting_tag(self, documents):  # type: ignore[no-untyped-def]
        counter.calls += 1
        for doc in original(self, documents):
            counter.documents += 1
            yield doc

    monkeypatch.setattr(LexiconTagger, "tag", counting_tag)
    return counter
