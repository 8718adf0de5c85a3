"""CoNLL BIO: reading plain and offset files, writing with per-label layers, what BIO cannot hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError, Problems
from clinicalner.io import detect_format, read_corpus, write_corpus
from clinicalner.io.conll import read_file


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_read_two_column_bio_rebuilds_text(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "dev.conll",
        "-DOCSTART- -X- O O\n\n"
        "Mujer\tO\nfiebre\tB-SYMPTOM\nalta\tI-SYMPTOM\n.\tO\n\n"
        "dolor\tB-SYMPTOM\ntos\tB-SYMPTOM\n\n"
        "-DOCSTART-\tcase2\n\n"
        "HTA\tI-DISEASE\ny\tO\nDM\tB-DISEASE\n",
    )
    assert detect_format(path) == "conll"
    docs = read_corpus(path, language="es").documents
    assert [d.id for d in docs] == ["dev-00001", "case2"]
    assert docs[0].text == "Mujer fiebre alta .\ndolor tos"
    assert [(s.key, s.text) for s in docs[0].spans] == [
        ((6, 17, "SYMPTOM"), "fiebre alta"),
        ((20, 25, "SYMPTOM"), "dolor"),
        ((26, 29, "SYMPTOM"), "tos"),
    ]
    assert [s.key for s in docs[1].spans] == [(0, 3, "DISEASE"), (6, 8, "DISEASE")]  # IOB1 I- opens a span
    assert docs[0].language == "es" and docs[0].metadata["split"] == "dev"


def test_read_conll2003_space_separated_and_bioes(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "x.bio",
        "EU NNP B-NP S-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\ncall NN I-NP E-MISC\n",
    )
    (doc,) = read_corpus(path).documents
    assert doc.text == "EU rejects German call"
    assert [s.key for s in doc.spans] == [(0, 2, "ORG"), (11, 22, "MISC")]


def test_bad_tag_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.conll", "a\tO\nb\tBX\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert (e.value.file, e.value.line) == (str(path), 2) and "tag 'BX'" in e.value.message
    problems = Problems(lenient=True)
    (doc,) = list(read_file(path, problems))
    assert doc.spans == [] and len(problems.skipped) == 1


def test_bad_tag_holding_words_is_not_quoted(tmp_path: Path) -> None:
    """A text column misread as the tag column: the message gives its length, not the words."""
    path = _write(tmp_path / "x.conll", "a\tO\nb\tJuan Garcia, 46\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert "tag <15 characters>" in e.value.message and "Juan" not in str(e.value)


def test_missing_tag_and_bad_offsets(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.conll", "a\tO\nlonely\n")
    with pytest.raises(CorpusError, match=r"x.conll:2: expected a token and a tag"):
        read_corpus(path)
    path = _write(tmp_path / "y.conll", "abc\t0\t5\tO\n")
    with pytest.raises(CorpusError, match=r"y.conll:1: token offsets 0-5 do not fit a token of length 3"):
        read_corpus(path)


def test_write_then_read_keeps_offsets(tmp_path: Path) -> None:
    text = "Dolor\ttorácico\r\nsin fiebre.  HTA-2"
    spans = [Span(0, 14, "SYMPTOM"), Span(20, 26, "SYMPTOM"), Span(29, 32, "DISEASE")]
    doc = Document("d1", text, spans, language="es")
    report = write_corpus([doc], tmp_path / "o.conll", "conll")
    assert (report.documents, report.spans, report.lost) == (1, 3, 0)
    lines = (tmp_path / "o.conll").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "-DOCSTART-\td1"
    assert lines[2:4] == ["Dolor\t0\t5\tB-SYMPTOM", "torácico\t6\t14\tI-SYMPTOM"]
    (back,) = read_corpus(tmp_path / "o.conll").documents
    assert back.id == "d1"
    assert [s.key for s in back.spans] == [s.key for s in spans]
    # whitespace normalised (a newline opens each sentence), offsets kept
    assert back.text.replace("\n", " ") == "Dolor torácico  sin fiebre.  HTA-2"
    assert back.text.startswith("Dolor torácico\n")


def test_cross_type_overlap_gets_label_columns(tmp_path: Path) -> None:
    text = "dolor de cabeza intenso"
    spans = [Span(0, 15, "SYMPTOM"), Span(9, 15, "ANATOMY"), Span(16, 23, "SYMPTOM")]
    report = write_corpus([Document("d", text, spans)], tmp_path / "o.conll", "conll")
    assert report.lost == 0 and report.notes
    rows = [ln.split("\t") for ln in (tmp_path / "o.conll").read_text(encoding="utf-8").split("\n")[2:6]]
    assert rows == [
        ["dolor", "0", "5", "B-SYMPTOM", "O", "B-SYMPTOM"],
        ["de", "6", "8", "I-SYMPTOM", "O", "I-SYMPTOM"],
        ["cabeza", "9", "15", "I-SYMPTOM", "B-ANATOMY", "I-SYMPTOM"],
        ["intenso", "16", "23", "B-SYMPTOM", "O", "B-SYMPTOM"],
    ]
    (back,) = read_corpus(tmp_path / "o.conll").documents
    assert sorted(s.key for s in back.spans) == sorted(s.key for s in spans)


def test_unrepresentable_spans_are_counted(tmp_path: Path) -> None:
    text = "antiHTA y dolor de cabeza"
    spans = [
        Span(7, 9, "DRUG"),  # starts on whitespace: no token can start there
        Span(10, 25, "S"),
        Span(19, 25, "S"),  # nested in a span of its own type
        Span(10, 25, "X", fragments=((10, 15), (19, 25))),  # discontinuous
        Span(10, 15, "S"),  # overlaps the first S as well
        Span(10, 25, "S"),  # an exact duplicate: written once, not lost
    ]
    report = write_corpus([Document("d", text, spans)], tmp_path / "o.conll", "conll")
    assert dict(report.unrepresentable) == {
        "starts or ends on whitespace (a token holds none)": 1,
        "overlaps another span of its type (BIO holds one per token)": 2,
        "discontinuous (BIO holds contiguous spans)": 1,
    }
    assert report.spans == 1 and any("1 duplicate" in n for n in report.notes)
    (back,) = read_corpus(tmp_path / "o.conll").documents
    assert [s.key for s in back.spans] == [(10, 25, "S")]


def test_spans_ending_inside_a_word_split_the_token(tmp_path: Path) -> None:
    """Chia's ``TC cerebra|l``: the word is written as two tokens, and the span comes back."""
    text = "TC cerebral y antiHTA, HTAx2."
    spans = [
        Span(0, 10, "Procedure"),
        Span(18, 21, "Drug"),
        Span(23, 26, "Condition"),
        Span(26, 28, "Multiplier"),
    ]
    report = write_corpus([Document("d", text, spans)], tmp_path / "o.conll", "conll")
    assert report.lost == 0 and report.spans == 4
    lines = (tmp_path / "o.conll").read_text(encoding="utf-8").split("\n")
    assert "cerebra\t3\t10\tI-Procedure" in lines and "l\t10\t11\tO" in lines
    assert "anti\t14\t18\tO" in lines and "HTA\t18\t21\tB-Drug" in lines
    (back,) = read_corpus(tmp_path / "o.conll").documents
    assert [s.key for s in back.spans] == [s.key for s in spans]
    assert all(back.text[s.start : s.end] == text[s.start : s.end] for s in spans)


def test_split_at() -> None:
    from clinicalner.io.conll import split_at

    assert split_at([(0, 5), (6, 10)], [2, 5, 6, 8, 9, 20]) == [(0, 2), (2, 5), (6, 8), (8, 9), (9, 10)]
    assert split_at([(0, 5)], []) == [(0, 5)]


def test_sentences_never_break_inside_a_span(tmp_path: Path) -> None:
    text = "dolor\nde cabeza.\nfiebre"
    write_corpus([Document("d", text, [Span(0, 15, "S")])], tmp_path / "o.conll", "conll")
    body = (tmp_path / "o.conll").read_text(encoding="utf-8").split("\n\n")
    assert body[1].split("\n")[:3] == ["dolor\t0\t5\tB-S", "de\t6\t8\tI-S", "cabeza\t9\t15\tI-S"]
    (back,) = read_corpus(tmp_path / "o.conll").documents
    assert back.spans[0].key == (0, 15, "S")


def test_token_reading_docstart_and_empty_document(tmp_path: Path) -> None:
    docs = [Document("a", "-DOCSTART- x", [Span(11, 12, "X")]), Document("empty", "")]
    write_corpus(docs, tmp_path / "o.conll", "conll")
    back = read_corpus(tmp_path / "o.conll").documents
    assert [(d.id, [s.key for s in d.spans]) for d in back] == [("a", [(11, 12, "X")]), ("empty", [])]


def test_document_without_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="has no text"):
        write_corpus([Document("a", "", metadata={"has_text": False})], tmp_path / "o.conll", "conll")


def test_whitespace_the_format_cannot_keep_is_reported(tmp_path: Path) -> None:
    """Gaps read back as spaces (a newline where a sentence starts), trailing whitespace goes:
    the report counts the documents whose text comes back otherwise, and is right about it."""
    docs = [
        Document("kept", "Fiebre alta.\nTos seca.", [Span(0, 6, "S")]),
        Document("moved", " \nPatients have  fever.\t\n", [Span(16, 21, "S")]),
        Document("crlf", "Dolor\r\ntorácico.", []),
    ]
    report = write_corpus(docs, tmp_path / "o.conll", "conll")
    back = {d.id: d.text for d in read_corpus(tmp_path / "o.conll").documents}
    changed = [d.id for d in docs if back[d.id] != d.text]
    assert changed == ["moved", "crlf"]
    assert f"{len(changed)} documents: whitespace of the text not kept" in report.summary()
    assert "(moved, crlf)" in report.summary()
    report = write_corpus(docs[:1], tmp_path / "k.conll", "conll")
    assert "whitespace of the text" not in report.summary()


def test_an_absurd_token_offset_is_an_error_not_an_allocation(tmp_path: Path) -> None:
    path = tmp_path / "big.conll"
    path.write_text("Fiebre\t0\t6\tB-SYMPTOM\ny\t1000000000000\t1000000000001\tO\n", "utf-8")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert (e.value.file, e.value.line) == (str(path), 2) and "far beyond" in e.value.message


@pytest.mark.parametrize("number", ["1³", "١", "１"])
def test_offsets_in_other_digits_are_an_error_naming_file_and_line(tmp_path: Path, number: str) -> None:
    path = tmp_path / "sup.conll"
    path.write_text(f"Fiebre\t0\t6\tB-SYMPTOM\ny\t{number}\t8\tO\n", "utf-8")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert (e.value.file, e.value.line) == (str(path), 2)


@pytest.mark.parametrize("number", ["1³", "١", "１"])
def test_a_lone_token_with_offsets_in_other_digits_is_an_error(tmp_path: Path, number: str) -> None:
    path = tmp_path / "sup.conll"
    path.write_text(f"diabetes\t{number}\t21\tB-DISEASE\n", "utf-8")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert (e.value.file, e.value.line) == (str(path), 1)
