"""The ``omop`` corpus format: an OMOP CDM database (an SQLite file) read and written through
:mod:`clinicalner.omop.documents`, so ``convert``, ``stats`` and ``evaluate`` take a warehouse
like any corpus. (From Python, :func:`clinicalner.omop.documents.read_omop` also takes any
SQLAlchemy URL.) Needs the ``omop`` extra.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from clinicalner.document import Document
from clinicalner.io.common import WriteReport


def _require() -> None:
    from clinicalner.extras import require

    require({"sqlalchemy": "omop"}, "the omop format")


def read_database(path: Path, language: str | None = None) -> Iterator[Document]:
    """Documents of an OMOP SQLite file: NOTE rows with the spans of all NOTE_NLP rows."""
    _require()
    from clinicalner.omop.documents import read_omop

    yield from read_omop(path, language=language)


def write_database(documents: Iterable[Document], path: Path) -> WriteReport:
    """A new OMOP SQLite file holding ``documents`` as NOTE + NOTE_NLP rows."""
    _require()
    from clinicalner.omop.documents import write_omop

    return write_omop(documents, path)
