"""Corpus files in and out: MultiClinAI TSV trees, BRAT, PubTator, CoNLL BIO, JSONL, plain text,
UIMA XMI (E3C, WebAnno, INCEpTION) and CoNLL-U.

``read_corpus`` / ``iter_documents`` turn a file or folder into Documents (the format is
detected when not given), ``write_corpus`` writes them back in any format, atomically.
Bad input raises one :class:`~clinicalner.errors.CorpusError` naming file and line;
``lenient=True`` skips the bad part and records it in ``Corpus.skipped`` instead.

``language`` fills the language of documents whose files do not say it (folder names of
the MultiClinAI tree and JSONL records do); it never overrides what the data says.
``options`` (:class:`~clinicalner.io.options.ReaderOptions`) says what to read from XMI and
CoNLL-U files (the annotation type, the tag column, document grouping); others ignore it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clinicalner.document import Document
from clinicalner.errors import CorpusError, Problems
from clinicalner.io import brat, conll, conllu, jsonl, multiclinai, pubtator, txt, xmi
from clinicalner.io.common import WriteReport, missing, skipped_lines, visible
from clinicalner.io.destination import check_output, writes_folder
from clinicalner.io.detect import (
    CONLL_SUFFIXES,
    JSONL_SUFFIXES,
    detect_format,
    is_pubtator_file,
    is_xmi_file,
)
from clinicalner.io.multiclinai import attach_texts
from clinicalner.io.options import ReaderOptions, reader_options

FORMATS = ("multiclinai", "tsv", "brat", "pubtator", "conll", "jsonl", "txt", "xmi", "conllu", "omop")

__all__ = [
    "FORMATS",
    "Corpus",
    "ReaderOptions",
    "WriteReport",
    "attach_texts",
    "detect_format",
    "iter_documents",
    "read_corpus",
    "reader_options",
    "skipped_lines",
    "write_corpus",
]


@dataclass
class Corpus:
    """Documents read from ``path``, and the problems skipped on the way (lenient reading)."""

    documents: list[Document]
    path: Path
    format: str
    skipped: list[CorpusError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.documents)

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown corpus format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt


def _files(root: Path, keep) -> list[Path]:  # type: ignore[no-untyped-def]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = visible(dirnames)
        out.extend(Path(dirpath) / n for n in visible(filenames) if keep(Path(dirpath) / n))
    return out


def iter_documents(
    path: str | Path,
    format: str | None = None,
    *,
    lenient: bool = False,
    language: str | None = None,
    skipped: list[CorpusError] | None = None,
    options: ReaderOptions | None = None,
) -> Iterator[Document]:
    """Documents one at a time; memory stays bounded for folders of files and for JSONL.

    ``skipped``, when given, collects what lenient reading skipped.
    """
    p = Path(path)
    if not p.exists():
        raise missing(p)
    fmt = _check_format(format or detect_format(p))
    problems = Problems(lenient, skipped if skipped is not None else [])
    if fmt == "omop":  # an OMOP CDM database (SQLite file): NOTE + NOTE_NLP rows
        from clinicalner.io.omop import read_database

        yield from read_database(p, language)
        return
    if fmt in ("multiclinai", "tsv"):
        if p.is_file():
            yield from multiclinai.read_bare(p, problems, language)
        elif multiclinai.find_groups(p):
            yield from multiclinai.read_tree(p, problems, language)
        else:
            files = _files(p, lambda f: f.suffix.lower() == ".tsv")
            _found(files, p, fmt, "a txt/ folder of texts or .tsv files")
            for f in files:
                yield from multiclinai.read_bare(f, problems, language)
    elif fmt == "brat":
        if p.is_dir():
            found = _files(p, lambda f: f.suffix.lower() in (".ann", ".txt"))
            _found(found, p, fmt, ".ann and .txt files")
            if format is not None and not any(f.suffix.lower() == ".ann" for f in found):
                _found([], p, fmt, ".ann files (annotations)")  # forced: zero spans must not pass silently
        yield from brat.read_folder(p, problems, language)
    elif fmt == "txt":
        if p.is_dir():
            _found(_files(p, lambda f: f.suffix.lower() == ".txt"), p, fmt, ".txt files")
        yield from txt.read_folder(p, problems, language)
    elif fmt in ("xmi", "conllu"):
        opts = options or ReaderOptions()
        if fmt == "xmi":
            files = [p] if p.is_file() else _files(p, is_xmi_file)
            _found(files, p, fmt, "UIMA XMI files (.xmi, .xml)")
            for f in files:
                yield from xmi.read_file(f, problems, language, opts.xmi_types)
        else:
            files = [p] if p.is_file() else _files(p, lambda f: f.suffix.lower() in conllu.CONLLU_SUFFIXES)
            _found(files, p, fmt, "CoNLL-U files (.conllu)")
            for f in files:
                yield from conllu.read_file(f, problems, language, opts)
    else:
        reader = {"pubtator": pubtator.read_file, "conll": conll.read_file, "jsonl": jsonl.read_file}[fmt]
        keep = {
            "pubtator": is_pubtator_file,
            "conll": lambda f: f.suffix.lower() in CONLL_SUFFIXES,
            "jsonl": lambda f: f.suffix.lower() in JSONL_SUFFIXES,
        }[fmt]
        files = [p] if p.is_file() else _files(p, keep)
        _found(
            files,
            p,
            fmt,
            {"pubtator": "PubTator files", "conll": "CoNLL files", "jsonl": ".jsonl files"}[fmt],
        )
        for f in files:
            yield from reader(f, problems, language)


def _found(files: list[Path], root: Path, fmt: str, what: str) -> None:
    """A folder read as ``fmt`` must hold some of its files: else the format is wrong, say so."""
    if files:
        return
    try:
        detected = f"; it looks like {detect_format(root)}"
    except CorpusError:
        detected = ""
    raise CorpusError(f"no {what} here to read as {fmt}{detected}", root)


def read_corpus(
    path: str | Path,
    format: str | None = None,
    *,
    lenient: bool = False,
    language: str | None = None,
    options: ReaderOptions | None = None,
) -> Corpus:
    """All documents of a file or folder (format detected when not given)."""
    p = Path(path)
    fmt = _check_format(format or detect_format(p))
    skipped: list[CorpusError] = []
    docs = list(iter_documents(p, fmt, lenient=lenient, language=language, skipped=skipped, options=options))
    return Corpus(docs, p, fmt, skipped)


def write_corpus(documents: Iterable[Document], path: str | Path, format: str) -> WriteReport:
    """Write documents as ``format``; nothing appears at ``path`` unless the whole write succeeds.

    Folder formats: ``brat``, ``txt``, and ``tsv``/``multiclinai`` (the simplified MultiClinAI
    tree when documents carry ``folder`` metadata, else one TSV + ``txt/``; a path ending in
    ``.tsv`` gets a single bare TSV, no texts). File formats: ``jsonl``, ``conll``, ``pubtator``.
    ``xmi`` writes a folder of ``.xmi`` files INCEpTION imports; ``conllu`` one file.
    """
    p = Path(path)
    fmt = _check_format(format)
    check_output(p, folder=writes_folder(p, fmt))
    try:
        return _write(documents, p, fmt)
    except CorpusError as e:
        raise e.at(p) from None  # a document's error (a bad id) names the output it was going to


def _write(documents: Iterable[Document], p: Path, fmt: str) -> WriteReport:
    if fmt in ("tsv", "multiclinai"):
        if p.suffix.lower() == ".tsv":
            return multiclinai.write_bare(documents, p)
        return multiclinai.write_tree(documents, p)
    if fmt == "brat":
        return brat.write_folder(documents, p)
    if fmt == "omop":
        from clinicalner.io.omop import write_database

        return write_database(documents, p)
    if fmt == "txt":
        return txt.write_folder(documents, p)
    if fmt == "xmi":
        return xmi.write_folder(documents, p)
    if p.is_dir():
        raise CorpusError(f"is a folder; {fmt} is written to one file: give a file name", p)
    writer = {
        "jsonl": jsonl.write_file,
        "conll": conll.write_file,
        "pubtator": pubtator.write_file,
        "conllu": conllu.write_file,
    }[fmt]
    return writer(documents, p)
