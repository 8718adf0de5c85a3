"""JSONL: one document per line, every field kept, bad lines named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.io import detect_format, iter_documents, read_corpus, write_corpus
from clinicalner.io.convert import convert


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    doc = Document(
        "n1",
        "Dolor\u2028torácico 😀\r\nfin",
        [
            Span(0, 5, "S", "Dolor", score=0.75),
            Span(0, 14, "S", "Dolor torácico", fragments=((0, 5), (6, 14))),
        ],
        "es",
        frozenset({"S", "D"}),
        {"folder": "es/dev/symptom", "n": 3},
    )
    report = write_corpus([doc, Document("n2", "")], tmp_path / "c.jsonl", "jsonl")
    assert (report.documents, report.spans) == (2, 2)
    assert detect_format(tmp_path / "c.jsonl") == "jsonl"
    back = read_corpus(tmp_path / "c.jsonl").documents
    assert back[0].text == doc.text and back[0].spans == doc.spans
    assert (back[0].language, back[0].annotated_labels) == ("es", frozenset({"S", "D"}))
    assert back[0].metadata == {"folder": "es/dev/symptom", "n": 3, "source": str(tmp_path / "c.jsonl")}
    first = json.loads((tmp_path / "c.jsonl").read_text(encoding="utf-8").split("\n")[0])
    assert first["spans"][0] == {"start": 0, "end": 5, "label": "S", "text": "Dolor", "score": 0.75}
    assert first["annotated_labels"] == ["D", "S"]
    assert back[1].annotated_labels is None and back[1].metadata["source"] == str(tmp_path / "c.jsonl")


def test_language_fills_only_missing(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "a", "text": "x", "language": "en"}\n\n{"id": "b", "text": "y"}\n', encoding="utf-8"
    )
    assert [d.language for d in iter_documents(path, language="es")] == ["en", "es"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "a line must hold a JSON object"),
        ('{"id": "a"}', "needs a string 'id' and a string 'text'"),
        ('{"id": "a", "text": "abc", "spans": [{"start": 0, "end": 9, "label": "X"}]}', "outside the text"),
        ('{"id": "a", "text": "abc", "spans": [{"start": 0, "label": "X"}]}', "span 0 is not an object"),
        (
            '{"id": "a", "text": "abc", "spans": [{"start": 0, "end": 2, "label": "X", "text": "zz"}]}',
            "says 'zz'",
        ),
    ],
)
def test_malformed_lines(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "ok", "text": "fine"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert (e.value.file, e.value.line) == (str(path), 2) and message in e.value.message
    lenient = read_corpus(path, lenient=True)
    assert lenient.documents[0].id == "ok" and len(lenient.skipped) == 1


def test_bad_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"id": "a", "text": "x"}\n{"id": "b", "text": "\xc3("}\n')
    with pytest.raises(CorpusError, match=r"c.jsonl:2: not valid UTF-8 at byte offset 46"):
        read_corpus(path)


def test_streams_one_document_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n{broken\n', encoding="utf-8")
    it = iter_documents(path)
    assert next(it).id == "a"  # the bad second line is not read before the first document is out
    with pytest.raises(CorpusError):
        next(it)


def test_documents_without_text_are_refused(tmp_path: Path) -> None:
    """A bare TSV has no texts: "text": "" could not be read back against its spans."""
    bare = tmp_path / "p.tsv"
    bare.write_text("filename\tlabel\tstart_span\tend_span\ttext\nd\tS\t0\t6\tfiebre\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"p.tsv: document 'd' has no text.*JSONL needs it"):
        convert(bare, tmp_path / "o.jsonl", "jsonl")
    assert not (tmp_path / "o.jsonl").exists()
