"""PubTator: title + " " + abstract offsets, id columns, composite mentions, relation lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.io import detect_format, read_corpus, write_corpus

TITLE = "Naloxone reverses the antihypertensive effect of clonidine."
ABSTRACT = "Ocular and auditory toxicity was seen in hypertensive rats."
FULL = f"{TITLE} {ABSTRACT}"


def _off(piece: str) -> tuple[int, int]:
    a = FULL.index(piece)
    return a, a + len(piece)


def _sample() -> str:
    n = _off("Naloxone")
    c = _off("Ocular and auditory toxicity")
    h = _off("hypertensive")
    return (
        f"227508|t|{TITLE}\r\n"
        f"227508|a|{ABSTRACT}\r\n"
        f"227508\t{n[0]}\t{n[1]}\tNaloxone\tChemical\tD009270\r\n"
        f"227508\t{c[0]}\t{c[1]}\tOcular and auditory toxicity\tDisease\tD014786|D006311\tOcular toxicity|auditory toxicity\r\n"
        f"227508\t{h[0]}\t{h[1]}\thypertensive\tDisease\r\n"
        "227508\tCID\tD009270\tD006973\r\n"
        "227508\tAssociation\tD009270\tD006973\tNovel\r\n"
        "\r\n"
        "99|t|Short title only.\n"
        "99|a|\n"
        "99\t0\t5\tShort\tThing\t-1\n"
    )


def test_read_offsets_ids_relations(tmp_path: Path) -> None:
    path = tmp_path / "CDR_TrainingSet.PubTator.txt"
    path.write_bytes(_sample().encode())
    assert detect_format(path) == "pubtator"
    assert detect_format(tmp_path) == "pubtator"
    docs = read_corpus(path).documents
    assert [d.id for d in docs] == ["227508", "99"]
    d = docs[0]
    assert d.text == FULL
    assert [(s.key, s.text) for s in d.spans] == [
        ((*_off("Naloxone"), "Chemical"), "Naloxone"),
        ((*_off("Ocular and auditory toxicity"), "Disease"), "Ocular and auditory toxicity"),
        ((*_off("hypertensive"), "Disease"), "hypertensive"),
    ]
    a, b = _off("Ocular and auditory toxicity")
    assert d.metadata["pubtator"]["ids"][f"{a} {b} Disease"] == [
        "D014786|D006311",
        "Ocular toxicity|auditory toxicity",
    ]
    assert d.metadata["pubtator"]["relations"] == [
        ["CID", "D009270", "D006973"],
        ["Association", "D009270", "D006973", "Novel"],
    ]
    assert d.metadata["split"] == "train" and d.metadata["title_end"] == len(TITLE)
    assert docs[1].text == "Short title only. "  # title, one space, (empty) abstract


def test_write_and_read_back_keeps_ids_and_relations(tmp_path: Path) -> None:
    src = tmp_path / "in.PubTator"
    src.write_bytes(_sample().encode())
    docs = read_corpus(src).documents
    report = write_corpus(docs, tmp_path / "out.pubtator", "pubtator")
    assert (report.documents, report.spans, report.lost) == (2, 4, 0)
    written = (tmp_path / "out.pubtator").read_text(encoding="utf-8")
    assert (
        "\tOcular and auditory toxicity\tDisease\tD014786|D006311\tOcular toxicity|auditory toxicity\n"
        in written
    )
    assert "227508\tCID\tD009270\tD006973\n" in written
    back = read_corpus(tmp_path / "out.pubtator").documents
    for a, b in zip(docs, back, strict=True):
        assert (a.id, a.text, a.spans) == (b.id, b.text, b.spans)
        assert a.metadata["pubtator"] == b.metadata["pubtator"]


def test_write_plain_document_splits_at_first_line_break(tmp_path: Path) -> None:
    text = "Title line\r\nAbstract one.\nTwo."
    doc = Document(
        "7", text, [Span(0, 5, "X"), Span(12, 20, "Y"), Span(8, 14, "Z", fragments=((8, 10), (12, 14)))]
    )
    report = write_corpus([doc], tmp_path / "o.pubtator", "pubtator")
    assert report.lost == 1 and "discontinuous" in report.examples[0]
    lines = (tmp_path / "o.pubtator").read_text(encoding="utf-8").split("\n")
    assert lines[:2] == ["7|t|Title line ", "7|a|Abstract one. Two."]
    (back,) = read_corpus(tmp_path / "o.pubtator").documents
    assert back.text == "Title line  Abstract one. Two."  # line breaks became spaces; offsets unchanged
    assert [s.key for s in back.spans] == [(0, 5, "X"), (12, 20, "Y")]


def test_title_only_document_reads_back_unchanged(tmp_path: Path) -> None:
    write_corpus([Document("5", "Only a title", [Span(0, 4, "X")])], tmp_path / "t.pubtator", "pubtator")
    (back,) = read_corpus(tmp_path / "t.pubtator").documents
    assert back.text == "Only a title" and back.spans == [Span(0, 4, "X", "Only")]


@pytest.mark.parametrize(
    ("lines", "line_no", "message"),
    [
        (["1|t|abc", "1\t0\t9\tabc\tX"], 2, "outside the text"),
        (["1|t|abc", "1\t0\t3\tabd\tX"], 2, "the file says 'abd'"),
        (["1|t|abc", "1\t0\t3\tabc"], 2, "mention line has 4 columns"),
        (["1|t|abc", "2\t0\t3\tabc\tX"], 2, "line for document '2' inside document '1'"),
        (["1\t0\t3\tabc\tX"], 1, "before any title line"),
        (["1|t|abc", "garbage"], 2, "not a PubTator line"),
        (["1|t|abc", "2|a|def"], 2, "abstract line for '2' without its title line"),
        # mention lines with bad offsets are errors, not relation lines
        (["1|t|Fever", "1\tzero\t5\tFever\tSymptom\tD1"], 2, "mention line with bad offsets"),
        (["1|t|Fever", "1\t5\t12a\tFever\tSymptom"], 2, "start '5' and end '12a'"),
        (["1|t|Fever", "1\t-1\t5\tFever\tSymptom"], 2, "mention line with bad offsets"),
        (["1|t|Fever", "1\t0.0\t5\tFever\tSymptom"], 2, "mention line with bad offsets"),
        (["1|t|Fever x", "1\t0\t5\tFever\tS", "1\tnone\t9\tx\tS"], 3, "mention line with bad offsets"),
    ],
)
def test_malformed(tmp_path: Path, lines: list[str], line_no: int, message: str) -> None:
    path = tmp_path / "x.pubtator"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert (e.value.file, e.value.line) == (str(path), line_no)
    assert message in e.value.message
    assert len(read_corpus(path, lenient=True).skipped) == 1


def test_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.pubtator"
    path.write_bytes(b"1|t|abc\n1|a|d\xffe\n")
    with pytest.raises(CorpusError, match=r"x.pubtator:2: not valid UTF-8: byte 0xff at byte offset 13"):
        read_corpus(path)


def test_bom_at_file_start(tmp_path: Path) -> None:
    path = tmp_path / "x.pubtator"
    path.write_bytes("\ufeff1|t|abc\n1\t0\t3\tabc\tX\n".encode())
    (doc,) = read_corpus(path).documents
    assert doc.id == "1" and doc.spans[0].key == (0, 3, "X")


def test_id_that_pubtator_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="cannot be a PubTator id"):
        write_corpus([Document("a|b", "x")], tmp_path / "o.pubtator", "pubtator")


def test_relation_lines_with_numeric_ids_stay_relations(tmp_path: Path) -> None:
    """BioRED's relations name genes by number: ``PMID Association 4683 D009369 No``."""
    path = tmp_path / "x.pubtator"
    path.write_text(
        "1|t|BRCA1 and cancer\n1\t0\t5\tBRCA1\tGene\t672\n1\tAssociation\t672\tD009369\tNo\n"
        "1\tBind\t672\t4086\tNovel\n",
        encoding="utf-8",
    )
    (doc,) = read_corpus(path).documents
    assert doc.metadata["pubtator"]["relations"] == [
        ["Association", "672", "D009369", "No"],
        ["Bind", "672", "4086", "Novel"],
    ]
