"""The NOTE_NLP table: created with the v5.4 DDL on request, refused with a reason when it does not fit."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

import sqlalchemy as sa

from clinicalner import api
from clinicalner.omop.ddl import tables

from .notes import make_notes, nlp_rows
from .test_tag import NOTES


@pytest.fixture
def terms(tmp_path: Path) -> Path:
    path = tmp_path / "terms.tsv"
    path.write_text("fiebre\tSYMPTOM\ndiabetes\tDISEASE\npneumonia\tDISEASE\n", encoding="utf-8")
    return path


def test_no_note_nlp_without_create_is_refused(database, terms: Path) -> None:
    make_notes(database, NOTES)
    with pytest.raises(ValueError, match=r"no note_nlp table.*--create"):
        api.omop_tag(terms, database.url, schema=database.schema, progress=False)


def test_a_note_nlp_that_does_not_fit_is_refused(database, terms: Path) -> None:
    make_notes(database, NOTES)
    engine = database.engine()
    meta = sa.MetaData(schema=database.schema)
    sa.Table(
        "note_nlp",
        meta,
        sa.Column("note_nlp_id", sa.Integer, primary_key=True),
        sa.Column("note_id", sa.Integer),
        sa.Column("snippet", sa.String(20)),
    ).create(engine)
    engine.dispose()
    with pytest.raises(
        ValueError, match=r"does not fit OMOP CDM v5\.4: .*snippet holds 20 characters.*offset is missing"
    ):
        api.omop_tag(terms, database.url, schema=database.schema, create=True, progress=False)


def test_no_note_table_and_no_database_are_refused(tmp_path: Path, terms: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such SQLite database"):
        api.omop_tag(terms, tmp_path / "missing.sqlite", progress=False)
    empty = tmp_path / "empty.sqlite"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    with pytest.raises(ValueError, match="no note table"):
        api.omop_tag(terms, empty, progress=False)
    with pytest.raises(ValueError, match="cannot connect"):
        api.omop_tag(terms, "postgresql+psycopg://nobody@127.0.0.1:1/none", progress=False)


def test_filters_pick_notes_by_date_type_and_id(database, terms: Path) -> None:
    import datetime

    make_notes(database, NOTES)  # note k: date 2024-01-01 + k days, type 44814637 when k is odd
    s = api.omop_tag(
        terms,
        database.url,
        schema=database.schema,
        create=True,
        progress=False,
        note_date_from=datetime.date(2024, 1, 3),
        note_date_to=datetime.date(2024, 1, 9),
        note_type_concept_id=[44814637],
        note_id_to=7,
        nlp_system="f",
    )
    assert s.notes == 3  # notes 3, 5, 7
    engine = database.engine()
    t = tables(database.schema)
    with engine.connect() as conn:
        done = sorted(r[0] for r in conn.execute(sa.select(t.tagged.c.note_id)))
    engine.dispose()
    assert done == [3, 5, 7]


def test_languages_and_concepts_reach_the_rows(database, tmp_path: Path, terms: Path) -> None:
    make_notes(database, NOTES)
    concepts = tmp_path / "concepts.tsv"
    concepts.write_text("label\tconcept_id\tsource_concept_id\nDISEASE\t4274025\t45\n", encoding="utf-8")
    api.omop_tag(terms, database.url, schema=database.schema, create=True, concepts=concepts, progress=False)
    rows = nlp_rows(database)
    assert {(r[5], r[6]) for r in rows if "label=DISEASE" in r[4]} == {(4274025, 45)}
    assert {(r[5], r[6]) for r in rows if "label=SYMPTOM" in r[4]} == {(0, 0)}
    bad = tmp_path / "bad.tsv"
    bad.write_text("ALLERGY\t1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="ALLERGY"):
        api.omop_tag(terms, database.url, schema=database.schema, concepts=bad, progress=False)


def test_language_concepts_map_to_languages(tmp_path: Path) -> None:
    from clinicalner.errors import CorpusError
    from clinicalner.omop.languages import language_of, load_language_map

    table = load_language_map(None)
    assert language_of(4180186, table, None) == "en"
    assert language_of(0, table, "es") == "es"
    extra = tmp_path / "lang.tsv"
    extra.write_text("concept_id\tlanguage\n123\tnl\n", encoding="utf-8")
    assert language_of(123, load_language_map(extra), None) == "nl"
    extra.write_text("123\tklingon\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"lang\.tsv:1: .*klingon"):
        load_language_map(extra)
