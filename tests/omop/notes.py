"""Writing a NOTE table for the tests, and reading NOTE_NLP back in a comparable form."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa

from clinicalner.document import Document
from clinicalner.omop.ddl import tables

ENGLISH = 4180186


def make_notes(db: object, docs: Sequence[Document], note_type: int = 44814637) -> None:
    """A v5.4 NOTE table holding ``docs`` (ids 1..n; dates one day apart from 2024-01-01)."""
    engine = db.engine()  # type: ignore[attr-defined]
    t = tables(db.schema)  # type: ignore[attr-defined]
    t.note.create(engine)
    start = datetime.date(2024, 1, 1)
    rows = [
        {
            "note_id": k,
            "person_id": 1,
            "note_date": start + datetime.timedelta(days=k),
            "note_type_concept_id": note_type if k % 2 else 0,
            "note_class_concept_id": 0,
            "note_text": d.text,
            "encoding_concept_id": 0,
            "language_concept_id": ENGLISH if d.language == "en" else 0,
        }
        for k, d in enumerate(docs, 1)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(t.note), rows)
    engine.dispose()


def nlp_rows(db: object, nlp_system: str | None = None) -> list[tuple]:
    """NOTE_NLP rows without the columns a rerun changes (note_nlp_id, dates), sorted."""
    engine = db.engine()  # type: ignore[attr-defined]
    n = tables(db.schema).note_nlp  # type: ignore[attr-defined]
    query = sa.select(
        n.c.note_id,
        n.c.offset,
        n.c.lexical_variant,
        n.c.snippet,
        n.c.term_modifiers,
        n.c.note_nlp_concept_id,
        n.c.note_nlp_source_concept_id,
        n.c.nlp_system,
    )
    if nlp_system is not None:
        query = query.where(n.c.nlp_system == nlp_system)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(query)]
        ids = [r[0] for r in conn.execute(sa.select(n.c.note_nlp_id))]
    engine.dispose()
    assert len(ids) == len(set(ids)), "note_nlp_id must be unique"
    return sorted(rows, key=lambda r: (r[0], int(r[1]), r[4]))
