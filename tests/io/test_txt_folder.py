"""A folder of .txt files: documents without spans, read one at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.io import detect_format, iter_documents, read_corpus, write_corpus


def test_read_folder_recursively_exact_text(tmp_path: Path) -> None:
    (tmp_path / "notes" / "es").mkdir(parents=True)
    (tmp_path / "notes" / "a.txt").write_bytes("línea 1\r\nlínea 2".encode())
    (tmp_path / "notes" / "es" / "b.txt").write_bytes("\ufeffcon BOM".encode())
    assert detect_format(tmp_path / "notes") == "txt"
    docs = list(iter_documents(tmp_path / "notes", language="es"))
    assert [(d.id, d.text, d.spans, d.language) for d in docs] == [
        ("a", "línea 1\r\nlínea 2", [], "es"),
        ("b", "con BOM", [], "es"),
    ]
    assert docs[1].metadata["folder"] == "es" and docs[1].metadata["bom"] is True
    assert detect_format(tmp_path / "notes" / "a.txt") == "txt"
    assert [d.id for d in read_corpus(tmp_path / "notes" / "a.txt").documents] == ["a"]


def test_write_reports_spans_it_cannot_hold(tmp_path: Path) -> None:
    docs = [Document("a", "uno\r\n", [Span(0, 3, "X")], metadata={"folder": "x/y"})]
    report = write_corpus(docs, tmp_path / "out", "txt")
    assert report.lost == 1 and (tmp_path / "out" / "x" / "y" / "a.txt").read_bytes() == b"uno\r\n"


def test_bad_encoding_named(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"ok\n\xe9t\xe9\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(tmp_path)
    assert e.value.line == 2 and "byte offset 3" in e.value.message
    assert read_corpus(tmp_path, lenient=True).documents == []


def test_bad_ids_and_duplicates(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="cannot be used as a file name"):
        write_corpus([Document("../up", "x")], tmp_path / "o", "txt")
    with pytest.raises(CorpusError, match="appears twice"):
        write_corpus([Document("a", "x"), Document("a", "y")], tmp_path / "o", "txt")
    assert not (tmp_path / "o").exists()


def test_repeated_file_names_are_refused_before_reading(tmp_path: Path) -> None:
    """a.txt and sub/a.txt would both be 'a' in a TSV: their spans mixed under one name."""
    (tmp_path / "notes" / "sub").mkdir(parents=True)
    (tmp_path / "notes" / "a.txt").write_text("uno", encoding="utf-8")
    (tmp_path / "notes" / "b.txt").write_text("dos", encoding="utf-8")
    (tmp_path / "notes" / "sub" / "a.txt").write_text("tres", encoding="utf-8")
    docs = iter_documents(tmp_path / "notes")
    with pytest.raises(CorpusError, match=r"the file name a.txt is used twice \(also a.txt in ") as e:
        next(docs)  # refused before the first document, not after tagging half the folder
    assert e.value.file == str(tmp_path / "notes" / "sub" / "a.txt")
    corpus = read_corpus(tmp_path / "notes", lenient=True)
    assert [d.id for d in corpus.documents] == ["a", "b"] and len(corpus.skipped) == 1
