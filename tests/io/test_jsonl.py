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
        ('{"id": "a"}', "field 'text' must be a string, not null"),
        ('{"id": "a", "text": "abc", "spans": [{"start": 0, "end": 9, "label": "X"}]}', "outside the text"),
        (
            '{"id": "a", "text": "abc", "spans": [{"start": 0, "label": "X"}]}',
            "field 'spans[0].end' must be an integer, not null",
        ),
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


_TEXT = "Fiebre y tos."


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"spans": 5}, "spans"),
        ({"annotated_labels": 5}, "annotated_labels"),
        ({"annotated_labels": "SYMPTOM"}, "annotated_labels"),
        ({"language": 5}, "language"),
        ({"id": 1.5}, "id"),
        ({"id": True}, "id"),
        ({"metadata": {"brat": {"relations": 5}}}, "metadata.brat.relations"),
        ({"metadata": {"pubtator": {"ids": 5}}}, "metadata.pubtator.ids"),
        ({"metadata": {"folder": 5}}, "metadata.folder"),
        ({"spans": [{"start": 0.7, "end": 6, "label": "S"}]}, "spans[0].start"),
        ({"spans": [{"start": True, "end": 6, "label": "S"}]}, "spans[0].start"),
        ({"spans": [{"start": "0", "end": 6, "label": "S"}]}, "spans[0].start"),
        ({"spans": [{"start": 0, "end": 6, "label": None}]}, "spans[0].label"),
        ({"spans": [{"start": 0, "end": 6, "label": 7}]}, "spans[0].label"),
        ({"spans": [{"start": 0, "end": 6, "label": "S", "score": "high"}]}, "spans[0].score"),
        ({"spans": [{"start": 0, "end": 6, "label": "S", "fragments": 5}]}, "spans[0].fragments"),
        ({"spans": [[0, 6, "S"]]}, "spans[0]"),
    ],
)
def test_wrong_types_are_errors_naming_line_and_field(tmp_path: Path, fields: dict, field: str) -> None:
    """A value of the wrong type is never coerced (13.7 -> 13, true -> 1, null -> "None")."""
    path = tmp_path / "c.jsonl"
    obj = {"id": "a", "text": _TEXT, **fields}
    path.write_text('{"id": "ok", "text": "fine"}\n' + json.dumps(obj) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert (e.value.file, e.value.line) == (str(path), 2)
    assert f"field {field!r} must be" in e.value.message


def test_deeply_nested_json_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "text": "x", "spans": ' + "[" * 100000 + "]" * 100000 + "}\n", "utf-8")
    with pytest.raises(CorpusError, match="nested too deeply"):
        read_corpus(path)
