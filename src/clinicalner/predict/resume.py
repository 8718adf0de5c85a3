"""A journal that lets an interrupted ``predict`` pick up where it stopped.

Why: tagging a hospital archive takes hours; a killed run (a pre-empted node, an out-of-memory
kill, Ctrl-C) must not start over, and must never leave a half-written output. ``predict``
appends every tagged document, in input order, to a hidden JSON Lines journal beside the output
(``.<output name>.predict-journal.jsonl``), flushed and synced every chunk; only once the
whole input is tagged is the output written from the journal (atomically, as every output is)
and the journal removed. A kill can only tear the journal's last line, which recovery cuts off.

Resuming skips the documents the journal holds: they are the first documents of the input, in
order (a run tags its input front to back), so the resumed output is the one an uninterrupted
run writes, document for document. The journal's ids are checked against the input's first
documents: a changed input is an error, never a silently mixed output.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from clinicalner.document import Document
from clinicalner.errors import CorpusError
from clinicalner.io.jsonl import from_json, to_json


def journal_path(output: str | Path) -> Path:
    """Where the journal of a run writing ``output`` lives (hidden: readers skip it)."""
    out = Path(output)
    return out.with_name(f".{out.name}.predict-journal.jsonl")


def recover(path: Path) -> int:
    """Cut a torn last line off the journal at ``path``; return how many documents it holds.

    Every complete line must be a document: a bad one is an error naming the line.
    """
    if not path.exists():
        return 0
    with path.open("r+b") as f:
        data_end = f.seek(0, os.SEEK_END)
        # Find the last newline from the end, in blocks (the journal can be gigabytes).
        pos, keep = data_end, 0
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            idx = block.rfind(b"\n")
            if idx >= 0:
                keep = pos + idx + 1
                break
        if keep != data_end:
            f.truncate(keep)
    count = 0
    for _ in _read(path):
        count += 1
    return count


def _read(path: Path) -> Iterator[Document]:
    with path.open("rb") as f:
        for no, raw in enumerate(f, 1):
            try:
                yield from_json(json.loads(raw.decode("utf-8")), path, no)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise CorpusError("not a journal line (delete the journal to start over)", path, no) from None


def journal_documents(path: Path) -> Iterator[Document]:
    """The journal's documents, in order, read line by line (bounded memory)."""
    return _read(path)


def skip_done(documents: Iterable[Document], path: Path, done: int) -> Iterator[Document]:
    """``documents`` without the first ``done``, checking their ids against the journal's."""
    it = iter(documents)
    checked = 0
    for journaled, doc in zip(_read(path), itertools.islice(it, done), strict=False):
        checked += 1
        if journaled.id != doc.id:
            raise CorpusError(
                f"the input changed since the interrupted run: document {checked} is {doc.id!r} in the "
                f"input but {journaled.id!r} in the journal (delete the journal, or run without --resume)",
                path,
                checked,
            )
    if checked < done:
        raise CorpusError(
            f"the journal holds {done} documents but the input only {checked}: the input changed since "
            "the interrupted run (delete the journal, or run without --resume)",
            path,
        )
    yield from it


class JournalWriter:
    """Appends tagged documents to the journal, synced to disk every ``sync_every`` documents."""

    def __init__(self, path: Path, append: bool, sync_every: int = 256) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.sync_every = sync_every
        self._f: IO[str] = path.open("a" if append else "w", encoding="utf-8", newline="")
        self._pending = 0

    def write(self, doc: Document) -> None:
        self._f.write(json.dumps(to_json(doc), ensure_ascii=False, default=str) + "\n")
        self._pending += 1
        if self._pending >= self.sync_every:
            self.sync()

    def sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())
        self._pending = 0

    def close(self) -> None:
        if not self._f.closed:
            self.sync()
            self._f.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
