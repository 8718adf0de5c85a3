"""clinicalner omop tag: NOTE -> NOTE_NLP in SQLite and PostgreSQL, incremental and crash-safe."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

import sqlalchemy as sa

from clinicalner import api
from clinicalner.document import Document
from clinicalner.omop import tag as omop_tag_module
from clinicalner.omop.ddl import tables
from clinicalner.omop.rows import parse_modifiers
from clinicalner.predict.loading import load_tagger
from clinicalner.sample_notes import load_examples
from tiny_training import THREE

from .notes import make_notes, nlp_rows

GOLD = THREE + load_examples("dev")
NOTES = [d.with_spans([]) for d in GOLD]


@pytest.fixture
def lexicon(tmp_path: Path) -> Path:
    terms = sorted({(s.text, s.label) for d in GOLD for s in d.spans if "\t" not in s.text})
    path = tmp_path / "terms.tsv"
    path.write_text("".join(f"{t}\t{label}\n" for t, label in terms), encoding="utf-8")
    return path


def _tag(model: Path, db, **kw):  # type: ignore[no-untyped-def]
    return api.omop_tag(model, db.url, schema=db.schema, progress=False, **kw)


def test_fills_note_nlp_with_the_spans_predict_gives(database, lexicon: Path, tmp_path: Path) -> None:
    make_notes(database, NOTES)
    summary = _tag(lexicon, database, create=True, nlp_system="lex v1")
    assert summary.notes == len(NOTES) and summary.already_done == 0
    predicted = api.tag_documents(
        lexicon, [Document(str(k), d.text, language=d.language) for k, d in enumerate(NOTES, 1)]
    )
    want = sorted((int(d.id), s.start, s.end, s.label, s.text) for d in predicted for s in d.spans)
    rows = nlp_rows(database)
    assert len(rows) == summary.spans == len(want) > 5
    got = []
    for note_id, offset, lexical, snippet, modifiers, concept, source, system in rows:
        mods = parse_modifiers(modifiers)
        got.append((note_id, int(offset), int(mods["end"]), mods["label"], lexical))
        assert lexical in snippet and len(snippet) <= 250
        assert (concept, source, system) == (0, 0, "lex v1")
    assert sorted(got) == want
    engine = database.engine()
    n = tables(database.schema).note_nlp
    with engine.connect() as conn:
        dates = conn.execute(sa.select(n.c.nlp_date, n.c.nlp_datetime, n.c.term_exists)).all()
    engine.dispose()
    assert all(d == datetime.datetime.now(datetime.UTC).date() or d is not None for d, _, _ in dates)
    assert all(dt is not None and exists is None for _, dt, exists in dates)


def test_a_second_run_skips_done_notes_and_rerun_replaces_them(database, lexicon: Path) -> None:
    make_notes(database, NOTES)
    first = _tag(lexicon, database, create=True, nlp_system="lex")
    rows = nlp_rows(database)
    again = _tag(lexicon, database, nlp_system="lex")
    assert again.notes == 0 and again.already_done == len(NOTES)
    assert nlp_rows(database) == rows
    redo = _tag(lexicon, database, nlp_system="lex", rerun=True)
    assert redo.notes == len(NOTES) and redo.spans == first.spans
    assert nlp_rows(database) == rows  # replaced, not duplicated
    other = _tag(lexicon, database, nlp_system="lex v2")  # another system tags everything
    assert other.notes == len(NOTES)
    assert len(nlp_rows(database)) == 2 * len(rows)


def test_a_crash_inside_a_batch_leaves_whole_notes_and_a_rerun_finishes(
    database, lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_notes(database, NOTES)
    real_row = omop_tag_module.note_nlp_row
    calls = {"n": 0}

    def dies_midway(*a, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 9:  # inside the second batch's transaction, rows already built
            raise KeyboardInterrupt
        return real_row(*a, **kw)

    monkeypatch.setattr(omop_tag_module, "note_nlp_row", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        _tag(lexicon, database, create=True, nlp_system="lex", batch_notes=3)
    monkeypatch.setattr(omop_tag_module, "note_nlp_row", real_row)
    partial = nlp_rows(database)
    assert len(partial) > 0
    done_notes = {r[0] for r in partial}
    assert done_notes <= {1, 2, 3}  # the first batch only: whole notes
    _tag(lexicon, database, nlp_system="lex", batch_notes=3)
    _tag(lexicon, database, nlp_system="lex-clean")  # one clean run, told apart by its nlp_system
    assert _strip(nlp_rows(database, "lex")) == _strip(nlp_rows(database, "lex-clean"))


def _strip(rows: list[tuple]) -> list[tuple]:
    """All columns but nlp_system."""
    return [r[:-1] for r in rows]


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    code = "from clinicalner.cli import app; app()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _count_done(db) -> int:  # type: ignore[no-untyped-def]
    engine = db.engine()
    t = tables(db.schema)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t.tagged)).scalar_one()
    except sa.exc.SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def test_sigkill_in_the_middle_then_rerun_leaves_the_rows_of_one_clean_run(
    database, lexicon: Path, tmp_path: Path
) -> None:
    many = [
        Document(str(k), NOTES[k % len(NOTES)].text, language=NOTES[k % len(NOTES)].language)
        for k in range(400)
    ]
    make_notes(database, many)
    schema = ["--schema", database.schema] if database.schema else []
    args = [
        "omop",
        "tag",
        str(lexicon),
        "--db",
        database.url,
        "--create",
        "--batch-notes",
        "2",
        "--no-progress",
        *schema,
    ]
    proc = _cli(*args, "--nlp-system", "lex")
    deadline = time.monotonic() + 300  # the CLI starting up on a busy machine
    while _count_done(database) < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed: give it more notes"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    killed_at = _count_done(database)
    assert 20 <= killed_at < len(many)
    partial = nlp_rows(database)
    assert {r[0] for r in partial} <= set(range(1, killed_at + 1))
    # The rerun and a clean run (told apart by its nlp_system) in-process: one CLI start is enough.
    rerun = _tag(lexicon, database, nlp_system="lex", batch_notes=50)
    assert rerun.already_done == killed_at and rerun.notes == len(many) - killed_at
    _tag(lexicon, database, nlp_system="lex-clean", batch_notes=50)
    assert _strip(nlp_rows(database, "lex")) == _strip(nlp_rows(database, "lex-clean"))
    assert len(nlp_rows(database, "lex")) > len(many)


def test_the_tiny_model_gives_predicts_spans(database, tmp_path: Path, trained_model: Path) -> None:
    make_notes(database, NOTES)
    _tag(trained_model, database, create=True, device="cpu", precision="fp32")
    tagger = load_tagger(trained_model, device="cpu", precision="fp32")
    docs = [
        Document(str(k), d.text, language="en" if d.language == "en" else None)
        for k, d in enumerate(NOTES, 1)
    ]
    want = sorted((int(d.id), s.start, s.end, s.label) for d in tagger.tag(docs) for s in d.spans)
    got = sorted(
        (r[0], int(r[1]), int(parse_modifiers(r[4])["end"]), parse_modifiers(r[4])["label"])
        for r in nlp_rows(database)
    )
    assert got == want and want
