"""Tag OMOP ``NOTE`` rows and write ``NOTE_NLP``: incremental, one transaction per batch.

Notes are read in ``note_id`` order, a batch at a time (keyset pagination: memory stays
bounded however big the table). Each batch is tagged, then its ``NOTE_NLP`` rows and its
``clinicalner_tagged_note`` marks are written in one transaction: a run killed at any moment
leaves whole notes only, and the next run skips the notes marked done by the same
``nlp_system`` (``rerun`` replaces their rows instead), so it finishes the job without a
duplicate row. Filters are SQLAlchemy expressions over typed values, never SQL text.
On PostgreSQL each batch takes a lock on ``NOTE_NLP`` for its ids (``max + 1``), so two
writers cannot hand out the same ``note_nlp_id``.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from clinicalner.document import Document
from clinicalner.omop.concepts import load_concepts
from clinicalner.omop.database import display, engine_for
from clinicalner.omop.ddl import SYSTEM_SIZE, Tables, prepare, tables
from clinicalner.omop.languages import language_of, load_language_map
from clinicalner.omop.rows import note_nlp_row


@dataclass
class OmopTagSummary:
    """What a run did: notes tagged now, spans written, notes already done and left alone."""

    notes: int
    spans: int
    already_done: int
    seconds: float
    nlp_system: str
    database: str

    @property
    def notes_per_second(self) -> float:
        return self.notes / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class NoteFilter:
    """Which notes to tag: dates inclusive, note types, an id range; None means no limit."""

    note_date_from: datetime.date | None = None
    note_date_to: datetime.date | None = None
    note_type_concept_ids: tuple[int, ...] = ()
    note_id_from: int | None = None
    note_id_to: int | None = None

    def clauses(self, note: sa.Table) -> list[Any]:
        c = note.c
        out: list[Any] = []
        if self.note_date_from is not None:
            out.append(c.note_date >= self.note_date_from)
        if self.note_date_to is not None:
            out.append(c.note_date <= self.note_date_to)
        if self.note_type_concept_ids:
            out.append(c.note_type_concept_id.in_(self.note_type_concept_ids))
        if self.note_id_from is not None:
            out.append(c.note_id >= self.note_id_from)
        if self.note_id_to is not None:
            out.append(c.note_id <= self.note_id_to)
        return out


def default_nlp_system(model: str | Path, tagger: Any) -> str:
    """``clinicalner <version> <model name> [<training config digest>]``: a new model, or the
    same name retrained, is a different system (so its notes are tagged again)."""
    import hashlib

    from clinicalner import __version__

    path = Path(model)
    name = getattr(tagger, "name", None) or path.name
    digest = ""
    if path.is_dir() and (path / "train_config.toml").is_file():
        digest = " sha256:" + hashlib.sha256((path / "train_config.toml").read_bytes()).hexdigest()[:12]
    return f"clinicalner {__version__} {name}{digest}"[:SYSTEM_SIZE]


def omop_tag(
    tagger: Any,
    db: str | Path,
    *,
    nlp_system: str,
    language: str | None = None,
    language_map: str | Path | None = None,
    concepts: str | Path | None = None,
    create: bool = False,
    rerun: bool = False,
    batch_notes: int = 64,
    where: NoteFilter | None = None,
    schema: str | None = None,
    threshold: float = 0.0,
    progress: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> OmopTagSummary:
    """Tag the notes of ``db`` with ``tagger`` (see the module doc); returns what was done."""
    from clinicalner.predict.stream import tag_stream

    if batch_notes < 1:
        raise ValueError("batch_notes must be at least 1")
    if not nlp_system or len(nlp_system) > SYSTEM_SIZE:
        raise ValueError(f"nlp_system must be 1 to {SYSTEM_SIZE} characters")
    languages = load_language_map(language_map)
    concept_table = load_concepts(concepts)
    unknown = sorted(set(concept_table) - set(tagger.labels))
    if unknown:
        raise ValueError(
            f"{concepts}: label(s) {', '.join(unknown)} are not the tagger's ({', '.join(tagger.labels)})"
        )
    engine = engine_for(db)
    t = tables(schema)
    prepare(engine, t, create)
    filters = (where or NoteFilter()).clauses(t.note)
    done = sa.exists().where(t.tagged.c.note_id == t.note.c.note_id, t.tagged.c.nlp_system == nlp_system)
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(t.note).where(*filters)).scalar_one()
        already = conn.execute(
            sa.select(sa.func.count()).select_from(t.note).where(*filters, done)
        ).scalar_one()
    todo = total if rerun else total - already
    counts = {"notes": 0, "spans": 0}
    t0 = time.perf_counter()
    with _progress(progress, todo) as advance:
        last: int | None = None
        batch_no = 0
        while True:
            query = sa.select(t.note.c.note_id, t.note.c.note_text, t.note.c.language_concept_id).where(
                *filters
            )
            if last is not None:
                query = query.where(t.note.c.note_id > last)
            if not rerun:
                query = query.where(~done)
            with engine.connect() as conn:
                rows = conn.execute(query.order_by(t.note.c.note_id).limit(batch_notes)).all()
            if not rows:
                break
            last = rows[-1].note_id
            docs = [
                Document(
                    str(r.note_id),
                    r.note_text or "",
                    language=language_of(r.language_concept_id, languages, language),
                )
                for r in rows
            ]
            found = list(tag_stream(tagger, docs, restrict_labels=False, threshold=threshold))
            spans = _write_batch(engine, t, rows, found, nlp_system, concept_table, rerun)
            counts["notes"] += len(rows)
            counts["spans"] += spans
            batch_no += 1
            advance(len(rows))
            if on_batch is not None:
                on_batch(batch_no)
    return OmopTagSummary(
        counts["notes"],
        counts["spans"],
        0 if rerun else already,
        time.perf_counter() - t0,
        nlp_system,
        display(engine),
    )


def _write_batch(
    engine: sa.Engine,
    t: Tables,
    rows: Sequence[Any],
    found: Sequence[Document],
    nlp_system: str,
    concepts: dict[str, tuple[int, int]],
    rerun: bool,
) -> int:
    """One transaction: (rerun: delete the notes' old rows,) insert the new rows and marks."""
    when = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    ids = [r.note_id for r in rows]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            name = t.note_nlp.name if t.note_nlp.schema is None else f"{t.note_nlp.schema}.{t.note_nlp.name}"
            quoted = ".".join(conn.dialect.identifier_preparer.quote(p) for p in name.split("."))
            conn.execute(sa.text(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE"))
        if rerun:
            conn.execute(
                sa.delete(t.note_nlp).where(
                    t.note_nlp.c.note_id.in_(ids), t.note_nlp.c.nlp_system == nlp_system
                )
            )
            conn.execute(
                sa.delete(t.tagged).where(t.tagged.c.note_id.in_(ids), t.tagged.c.nlp_system == nlp_system)
            )
        next_id = (conn.execute(sa.select(sa.func.max(t.note_nlp.c.note_nlp_id))).scalar() or 0) + 1
        out: list[dict[str, Any]] = []
        marks: list[dict[str, Any]] = []
        for row, doc in zip(rows, found, strict=True):
            text = row.note_text or ""
            for span in sorted(doc.spans, key=lambda s: (s.start, s.end, s.label)):
                out.append(
                    {
                        "note_nlp_id": next_id,
                        **note_nlp_row(row.note_id, text, span, nlp_system, when, concepts),
                    }
                )
                next_id += 1
            marks.append(
                {
                    "note_id": row.note_id,
                    "nlp_system": nlp_system,
                    "nlp_datetime": when,
                    "spans": len(doc.spans),
                }
            )
        if out:
            conn.execute(sa.insert(t.note_nlp), out)
        conn.execute(sa.insert(t.tagged), marks)
    return len(out)


class _progress:
    """A progress bar on stderr with notes/s, only on a terminal; yields ``advance(n)``."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total

    def __enter__(self) -> Callable[[int], None]:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        err = Console(stderr=True)
        self.bar = Progress(
            TextColumn("{task.completed}/{task.total} notes"),
            BarColumn(),
            TextColumn("{task.fields[rate]:.1f} notes/s"),
            TimeElapsedColumn(),
            console=err,
            disable=not self.enabled or not err.is_terminal,
            transient=True,
        )
        self.bar.__enter__()
        task = self.bar.add_task("omop", total=self.total, rate=0.0)
        t0 = time.perf_counter()

        def advance(n: int) -> None:
            done = self.bar.tasks[0].completed + n
            self.bar.update(task, advance=n, rate=done / max(time.perf_counter() - t0, 1e-9))

        return advance

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)
