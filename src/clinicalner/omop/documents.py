"""NOTE (+ NOTE_NLP) rows <-> Documents: a warehouse read and written like any corpus.

Reading: one Document per ``NOTE`` row (id: ``note_id``; language from
``language_concept_id``), its spans from the ``NOTE_NLP`` rows of one ``nlp_system`` (or of
all, when none is named): start from ``"offset"``, end and label from ``term_modifiers`` as
``clinicalner omop tag`` writes them (a row without an end spans its ``lexical_variant``; a
row without a label is labelled with its ``note_nlp_concept_id``).

Writing: a new database (an SQLite file that must not exist yet, or a URL whose ``NOTE``
table is empty) gets ``NOTE`` rows and one ``NOTE_NLP`` row per span. A document id that is
an integer becomes the ``note_id``; otherwise notes are numbered 1, 2, ... and the id is kept
in ``note_source_value`` (cut to its 50 characters). CDM columns a Document has no value for
are 0 (no matching concept) or today's date.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.io.common import WriteReport
from clinicalner.omop.database import display, engine_for
from clinicalner.omop.ddl import NOTE_NLP, tables
from clinicalner.omop.languages import LANGUAGE_CONCEPTS, language_of
from clinicalner.omop.rows import note_nlp_row, parse_modifiers


def read_omop(
    db: str | Path, schema: str | None = None, nlp_system: str | None = None, language: str | None = None
) -> Iterator[Document]:
    """Documents from ``db``'s NOTE table with spans from NOTE_NLP (see the module doc)."""
    engine = engine_for(db)
    t = tables(schema)
    inspector = sa.inspect(engine)
    if not inspector.has_table(t.note.name, schema=schema):
        raise CorpusError(f"no {t.note.name} table (OMOP CDM)", display(engine))
    has_nlp = inspector.has_table(NOTE_NLP, schema=schema)
    n = t.note_nlp.c
    with engine.connect() as conn:
        notes = conn.execute(
            sa.select(t.note.c.note_id, t.note.c.note_text, t.note.c.language_concept_id).order_by(
                t.note.c.note_id
            )
        )
        for note in notes:
            spans: list[Span] = []
            text = note.note_text or ""
            if has_nlp:
                query = sa.select(
                    n.note_nlp_id, n.offset, n.lexical_variant, n.note_nlp_concept_id, n.term_modifiers
                )
                query = query.where(n.note_id == note.note_id)
                if nlp_system is not None:
                    query = query.where(n.nlp_system == nlp_system)
                for row in conn.execute(query.order_by(n.note_nlp_id)):
                    spans.append(_span(row, text, display(engine)))
            doc = Document(
                str(note.note_id),
                text,
                language=language_of(note.language_concept_id, LANGUAGE_CONCEPTS, language),
            )
            yield doc.with_spans(spans)


def _span(row: Any, text: str, where: str) -> Span:
    mods = parse_modifiers(row.term_modifiers)
    try:
        start = int(row.offset)
        end = int(mods["end"]) if "end" in mods else start + len(row.lexical_variant or "")
        score = float(mods["score"]) if "score" in mods else None
    except (TypeError, ValueError):
        raise CorpusError(
            f"NOTE_NLP row {row.note_nlp_id}: offset {row.offset!r} or term_modifiers end/score is not a number",
            where,
        ) from None
    if not 0 <= start < end <= len(text):
        raise CorpusError(f"NOTE_NLP row {row.note_nlp_id}: span {start}-{end} is outside its note", where)
    label = mods.get("label") or str(row.note_nlp_concept_id or 0)
    return Span(start, end, label, text[start:end], score)


def write_omop(
    documents: Iterable[Document],
    db: str | Path,
    schema: str | None = None,
    nlp_system: str = "clinicalner convert",
) -> WriteReport:
    """Write ``documents`` as NOTE + NOTE_NLP rows into a new database.

    An SQLite file is written beside its destination and renamed into place when complete.
    A discontinuous span (NOTE_NLP holds one offset and an end) is not written: it is counted
    in the report, as every writer does with what its format cannot hold.
    """
    text = str(db)
    if "://" not in text:
        path = Path(text)
        if path.exists():
            raise FileExistsError(f"{path}: exists; convert writes a new SQLite database")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            engine = engine_for(tmp, must_exist=False)
            report = _write(documents, engine, schema, nlp_system, WriteReport(path, "omop"))
            engine.dispose()
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return report
    return _write(documents, engine_for(text), schema, nlp_system, WriteReport(Path(text), "omop"))


def _write(
    documents: Iterable[Document], engine: sa.Engine, schema: str | None, nlp_system: str, report: WriteReport
) -> WriteReport:
    t = tables(schema)
    t.note.metadata.create_all(engine, tables=[t.note, t.note_nlp, t.tagged])
    today = datetime.date.today()
    when = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    concept_of = {code: concept for concept, code in LANGUAGE_CONCEPTS.items()}
    with engine.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(t.note)).scalar_one():
            raise ValueError(
                f"{display(engine)}: the {t.note.name} table is not empty; convert writes new notes only"
            )
        next_nlp = 1
        seen: set[int] = set()
        for numbered, doc in enumerate(documents, 1):
            note_id = int(doc.id) if doc.id.isdigit() else numbered
            if note_id in seen:
                raise ValueError(f"document {doc.id}: note_id {note_id} is used twice")
            seen.add(note_id)
            conn.execute(
                sa.insert(t.note),
                {
                    "note_id": note_id,
                    "person_id": 0,
                    "note_date": today,
                    "note_type_concept_id": 0,
                    "note_class_concept_id": 0,
                    "note_text": doc.text,
                    "encoding_concept_id": 0,
                    "language_concept_id": concept_of.get(doc.language or "", 0),
                    "note_source_value": doc.id[:50],
                },
            )
            rows = []
            for span in doc.sorted_spans():
                if span.is_discontinuous:
                    report.drop(doc, span, "discontinuous (NOTE_NLP holds one offset and an end)")
                    continue
                report.spans += 1
                rows.append(
                    {"note_nlp_id": next_nlp, **note_nlp_row(note_id, doc.text, span, nlp_system, when, {})}
                )
                next_nlp += 1
            if rows:
                conn.execute(sa.insert(t.note_nlp), rows)
            report.documents += 1
            report.tally_metadata(doc, ("language",) if doc.language in concept_of else ())
    return report
