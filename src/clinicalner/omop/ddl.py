"""The OMOP CDM v5.4 ``NOTE`` and ``NOTE_NLP`` tables, and our bookkeeping table.

Column names, types and sizes follow the v5.4 DDL (``OMOP_CDMv5.4_Field_Level.csv``): the
``snippet`` and ``lexical_variant`` columns hold 250 characters, ``"offset"`` 50 (a reserved
word, so SQLAlchemy quotes it), ``term_modifiers`` 2000. ``clinicalner_tagged_note`` records
which notes an ``nlp_system`` has finished, including notes where it found nothing, so a
rerun skips them; it is written in the same transaction as the note's ``NOTE_NLP`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

NOTE = "note"
NOTE_NLP = "note_nlp"
TAGGED = "clinicalner_tagged_note"

SNIPPET_SIZE = 250
LEXICAL_SIZE = 250
OFFSET_SIZE = 50
SYSTEM_SIZE = 250
MODIFIERS_SIZE = 2000


@dataclass(frozen=True)
class Tables:
    """The three tables bound to one schema (None: the connection's default)."""

    note: sa.Table
    note_nlp: sa.Table
    tagged: sa.Table


def tables(schema: str | None = None) -> Tables:
    """Fresh table objects for ``schema``."""
    meta = sa.MetaData(schema=schema)
    note = sa.Table(
        NOTE,
        meta,
        sa.Column("note_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("person_id", sa.Integer, nullable=False),
        sa.Column("note_date", sa.Date, nullable=False),
        sa.Column("note_datetime", sa.DateTime),
        sa.Column("note_type_concept_id", sa.Integer, nullable=False),
        sa.Column("note_class_concept_id", sa.Integer, nullable=False),
        sa.Column("note_title", sa.String(250)),
        sa.Column("note_text", sa.Text, nullable=False),
        sa.Column("encoding_concept_id", sa.Integer, nullable=False),
        sa.Column("language_concept_id", sa.Integer, nullable=False),
        sa.Column("provider_id", sa.Integer),
        sa.Column("visit_occurrence_id", sa.Integer),
        sa.Column("visit_detail_id", sa.Integer),
        sa.Column("note_source_value", sa.String(50)),
        sa.Column("note_event_id", sa.BigInteger),
        sa.Column("note_event_field_concept_id", sa.Integer),
    )
    note_nlp = sa.Table(
        NOTE_NLP,
        meta,
        sa.Column("note_nlp_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("note_id", sa.Integer, nullable=False, index=True),
        sa.Column("section_concept_id", sa.Integer),
        sa.Column("snippet", sa.String(SNIPPET_SIZE)),
        sa.Column("offset", sa.String(OFFSET_SIZE)),
        sa.Column("lexical_variant", sa.String(LEXICAL_SIZE), nullable=False),
        sa.Column("note_nlp_concept_id", sa.Integer),
        sa.Column("note_nlp_source_concept_id", sa.Integer),
        sa.Column("nlp_system", sa.String(SYSTEM_SIZE)),
        sa.Column("nlp_date", sa.Date, nullable=False),
        sa.Column("nlp_datetime", sa.DateTime),
        sa.Column("term_exists", sa.String(1)),
        sa.Column("term_temporal", sa.String(50)),
        sa.Column("term_modifiers", sa.String(MODIFIERS_SIZE)),
    )
    tagged = sa.Table(
        TAGGED,
        meta,
        sa.Column("note_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("nlp_system", sa.String(SYSTEM_SIZE), primary_key=True),
        sa.Column("nlp_datetime", sa.DateTime, nullable=False),
        sa.Column("spans", sa.Integer, nullable=False),
    )
    return Tables(note, note_nlp, tagged)


def check_table(engine: sa.Engine, table: sa.Table) -> list[str]:
    """What stops us from using ``table`` as it exists in the database: missing columns, and
    text columns shorter than we write. Empty when it fits (extra columns are fine)."""
    found = {c["name"].lower(): c for c in sa.inspect(engine).get_columns(table.name, schema=table.schema)}
    problems = []
    for column in table.columns:
        have = found.get(column.name)
        if have is None:
            problems.append(f"column {column.name} is missing")
            continue
        want = getattr(column.type, "length", None)
        size = getattr(have["type"], "length", None)
        if want is not None and size is not None and size < want:
            problems.append(f"column {column.name} holds {size} characters, v5.4 says {want}")
    return problems


def prepare(engine: sa.Engine, t: Tables, create: bool) -> None:
    """Check NOTE, create or check NOTE_NLP (``create``), create our bookkeeping table.

    Raises ``ValueError`` naming the table and what does not fit.
    """
    try:
        inspector = sa.inspect(engine)
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise ValueError(
            f"{engine.url.render_as_string(hide_password=True)}: cannot connect: {reason}"
        ) from None
    where = f" in schema {t.note.schema}" if t.note.schema else ""
    if not inspector.has_table(NOTE, schema=t.note.schema):
        raise ValueError(f"{engine.url.render_as_string(hide_password=True)}: no {NOTE} table{where}")
    missing = [
        c
        for c in ("note_id", "note_text", "language_concept_id")
        if c not in {x["name"].lower() for x in inspector.get_columns(NOTE, schema=t.note.schema)}
    ]
    if missing:
        raise ValueError(f"the {NOTE} table{where} has no {', '.join(missing)} column (OMOP CDM v5.4)")
    if not inspector.has_table(NOTE_NLP, schema=t.note_nlp.schema):
        if not create:
            raise ValueError(f"no {NOTE_NLP} table{where}: pass --create to make it with the v5.4 DDL")
        t.note_nlp.create(engine)
    else:
        problems = check_table(engine, t.note_nlp)
        if problems:
            raise ValueError(f"the {NOTE_NLP} table{where} does not fit OMOP CDM v5.4: {'; '.join(problems)}")
    if not inspector.has_table(TAGGED, schema=t.tagged.schema):
        t.tagged.create(engine)
