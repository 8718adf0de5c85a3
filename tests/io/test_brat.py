"""BRAT standoff: T lines, discontinuous spans, other line kinds, CRLF, BOM, malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.io import detect_format, read_corpus, write_corpus

TEXT = "Inclusion:\r\nType 2 diabetes mellitus\r\nno Cardiac or renal disease\r\n"


def _pair(folder: Path, name: str, text: str, ann: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_bytes(text.encode("utf-8"))
    (folder / f"{name}.ann").write_bytes(ann.encode("utf-8"))
    return folder / f"{name}.ann"


def _offsets(text: str, piece: str) -> tuple[int, int]:
    a = text.index(piece)
    return a, a + len(piece)


def test_t_lines_crlf_offsets_and_discontinuous(tmp_path: Path) -> None:
    a, b = _offsets(TEXT, "Type 2 diabetes mellitus")
    c, d = _offsets(TEXT, "Cardiac")
    e, f = _offsets(TEXT, "disease")
    ann = (
        f"T1\tCondition {a} {b}\tType 2 diabetes mellitus\n"
        f"T2\tCondition {e} {f};{c} {d}\tdisease Cardiac\n"  # fragments in file order, as Chia writes them
        "R1\thas_scope Arg1:T1 Arg2:T2\t\n"
        "A1\tNegated T2\n"
        "N1\tReference T1 MeSH:D003924\tdiabetes\n"
        "*\tOR T1 T2\n"
        "#1\tAnnotatorNotes T1\tchecked\n"
        "E1\tEvent:T1\n"
        "M1\tSpeculation E1\n"
        "\n"
    )
    _pair(tmp_path, "NCT1_inc", TEXT, ann)
    assert detect_format(tmp_path) == "brat"
    (doc,) = read_corpus(tmp_path).documents
    assert doc.text == TEXT
    assert doc.spans[0] == Span(a, b, "Condition", "Type 2 diabetes mellitus")
    disc = doc.spans[1]
    assert disc.fragments == ((c, d), (e, f)) and (disc.start, disc.end) == (c, f)
    assert disc.text == "Cardiac disease"  # kept in offset order
    brat = doc.metadata["brat"]
    assert brat["relations"] == ["R1\thas_scope Arg1:T1 Arg2:T2\t"]
    assert brat["attributes"] == ["A1\tNegated T2", "M1\tSpeculation E1"]
    assert brat["normalizations"] == ["N1\tReference T1 MeSH:D003924\tdiabetes"]
    assert brat["equivalences"] == ["*\tOR T1 T2"]
    assert brat["notes"] == ["#1\tAnnotatorNotes T1\tchecked"]
    assert brat["events"] == ["E1\tEvent:T1"]
    assert brat["ids"] == {"T1": 0, "T2": 1}


def test_span_enclosing_crlf_whose_text_omits_the_cr(tmp_path: Path) -> None:
    a, b = _offsets(TEXT, "mellitus\r\nno")
    _pair(tmp_path, "d", TEXT, f"T1\tCondition {a} {b}\tmellitus\nno\n")
    (doc,) = read_corpus(tmp_path).documents
    assert doc.spans[0].text == "mellitus\r\nno"


def test_continuation_line_of_a_span_text(tmp_path: Path) -> None:
    a, b = _offsets(TEXT, "Type 2 diabetes mellitus\r\nno Cardiac")
    ann = f"T1\tScope {a} {b}\tType 2 diabetes mellitus\n no Cardiac\nT2\tCondition 0 9\tInclusion\n"
    _pair(tmp_path, "d", TEXT, ann)
    (doc,) = read_corpus(tmp_path).documents
    assert [s.key for s in doc.spans] == [(a, b, "Scope"), (0, 9, "Condition")]


def test_stray_line_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    ann = _pair(tmp_path, "d", TEXT, "T1\tCondition 0 9\tInclusion\nCar disease\nT2\tCondition 0 4\tIncl\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(tmp_path)
    assert (e.value.file, e.value.line) == (str(ann), 2)
    assert "not a BRAT annotation line" in e.value.message
    assert "nor continue the text of T1 on line 1" in e.value.message
    assert e.value.message.endswith("skip it with --lenient")  # the CLI spelling, not lenient=True
    corpus = read_corpus(tmp_path, lenient=True)
    assert [s.key for s in corpus.documents[0].spans] == [(0, 9, "Condition"), (0, 4, "Condition")]
    assert [(err.line) for err in corpus.skipped] == [2]


def test_unknown_kind_is_an_error_lenient_skips(tmp_path: Path) -> None:
    _pair(tmp_path, "d", TEXT, "T1\tCondition 0 9\tInclusion\nX1\tsomething T1\n")
    with pytest.raises(CorpusError, match=r"d\.ann:2: unknown BRAT annotation kind 'X1'"):
        read_corpus(tmp_path)
    corpus = read_corpus(tmp_path, lenient=True)
    assert len(corpus.documents[0].spans) == 1 and len(corpus.skipped) == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("T1\tCondition 0 999\tInclusion", "outside the text"),
        ("T1\tCondition 5 2\tx", "empty or reversed span 5-2"),
        ("T1\tCondition 1 2x\tx", "bad offsets '1 2x'"),
        # words in the offsets are more likely note text than a typo: only their length is shown
        ("T1\tCondition Juan Garcia\tx", "bad offsets <11 characters>"),
        ("T1\tCondition\tx", "expected 'LABEL START END'"),
        (
            "T1\tCondition 0 9\tExclusion",
            "the file says 'Exclusion' but the text at those offsets is 'Inclusion'",
        ),
    ],
)
def test_malformed_t_lines(tmp_path: Path, line: str, message: str) -> None:
    ann = _pair(tmp_path, "d", TEXT, f"T9\tCondition 12 16\tType\n{line}\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(tmp_path)
    assert (e.value.file, e.value.line) == (str(ann), 2)
    assert message in e.value.message
    assert [s.key for s in read_corpus(tmp_path, lenient=True).documents[0].spans] == [(12, 16, "Condition")]


def test_duplicate_id(tmp_path: Path) -> None:
    _pair(tmp_path, "d", TEXT, "T1\tCondition 0 9\tInclusion\nT1\tCondition 12 16\tType\n")
    with pytest.raises(CorpusError, match=r":2: annotation id T1 is used twice"):
        read_corpus(tmp_path)


def test_missing_text_file(tmp_path: Path) -> None:
    ann = _pair(tmp_path, "d", TEXT, "T1\tCondition 0 9\tInclusion\n")
    (tmp_path / "d.txt").unlink()
    with pytest.raises(CorpusError, match=r"no text file d\.txt") as e:
        read_corpus(tmp_path, format="brat")
    assert e.value.file == str(ann)
    corpus = read_corpus(tmp_path, format="brat", lenient=True)
    assert corpus.documents == [] and len(corpus.skipped) == 1


def test_bad_utf8_names_byte_offset_and_line(tmp_path: Path) -> None:
    _pair(tmp_path, "d", "ok", "T1\tX 0 2\tok\n")
    (tmp_path / "d.txt").write_bytes(b"line one\nna\xefve\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(tmp_path)
    assert e.value.line == 2 and "byte offset 11" in e.value.message and "0xef" in e.value.message


def test_bad_utf8_in_an_ann_costs_one_line_when_lenient(tmp_path: Path) -> None:
    text = "Fiebre alta y tos."
    _pair(tmp_path, "d", text, "")
    (tmp_path / "d.ann").write_bytes(b"T1\tS 0 6\tFiebre\nT2\tS 14 17\tt\xf3s\nT3\tS 7 11\talta\n")
    with pytest.raises(CorpusError) as e:
        read_corpus(tmp_path)
    assert (e.value.line, "byte offset 28" in e.value.message) == (2, True)
    corpus = read_corpus(tmp_path, lenient=True)
    (doc,) = corpus.documents
    assert [s.key for s in doc.spans] == [(0, 6, "S"), (7, 11, "S")]
    assert [(Path(err.file or "").name, err.line) for err in corpus.skipped] == [("d.ann", 2)]


def test_an_empty_label_is_named_as_such(tmp_path: Path) -> None:
    _pair(tmp_path, "d", "Fiebre alta", "T1\t 0 6\tFiebre\n")
    with pytest.raises(CorpusError, match="T1: missing label"):
        read_corpus(tmp_path)


def test_bom_is_stripped_and_offsets_follow(tmp_path: Path) -> None:
    # brat counts the BOM as a character: offsets 1-5 name "Type" in "\ufeffType 2"
    _pair(tmp_path, "a", "\ufeffType 2", "T1\tX 1 5\tType\n")
    # a tool that read the file with utf-8-sig: offsets 0-4; the stored text decides
    _pair(tmp_path, "b", "\ufeffType 2", "T1\tX 0 4\tType\n")
    docs = read_corpus(tmp_path).documents
    assert [(d.text, d.spans[0].key, d.metadata["bom"]) for d in docs] == [
        ("Type 2", (0, 4, "X"), True),
        ("Type 2", (0, 4, "X"), True),
    ]


def test_txt_without_ann_is_unannotated_and_readme_ignored(tmp_path: Path) -> None:
    _pair(tmp_path / "train", "a", "uno", "T1\tX 0 3\tuno\n")
    (tmp_path / "train" / "b.txt").write_text("dos", encoding="utf-8")
    (tmp_path / "README.txt").write_text("about", encoding="utf-8")
    docs = read_corpus(tmp_path, language="es").documents
    assert [(d.id, len(d.spans), d.metadata["folder"], d.metadata["split"], d.language) for d in docs] == [
        ("a", 1, "train", "train", "es"),
        ("b", 0, "train", "train", "es"),
    ]


def test_write_and_read_back(tmp_path: Path) -> None:
    docs = [
        Document(
            "d.1",  # a dot in the id must not be taken for an extension
            TEXT,
            [
                Span(12, 36, "Condition", ""),
                Span(41, 65, "Condition", "", fragments=((41, 48), (58, 65))),
                Span(28, 40, "Multi", ""),  # encloses a CRLF
            ],
            metadata={"folder": "sub/dir"},
        ),
        Document("e", "", []),
    ]
    report = write_corpus(docs, tmp_path / "out", "brat")
    assert (report.documents, report.spans, report.lost) == (2, 3, 0)
    ann = (tmp_path / "out" / "sub" / "dir" / "d.1.ann").read_text(encoding="utf-8")
    assert "T2\tCondition 41 48;58 65\tCardiac disease\n" in ann
    assert "T3\tMulti 28 40\tmellitus no\n" in ann  # a CRLF inside a span written as one space
    back = {d.id: d for d in read_corpus(tmp_path / "out").documents}
    assert back["d.1"].text == TEXT
    assert [(s.key, s.fragments) for s in back["d.1"].spans] == [(s.key, s.fragments) for s in docs[0].spans]
    assert back["d.1"].metadata["folder"] == "sub/dir"
    assert back["e"].spans == [] and back["e"].text == ""


def test_write_reports_labels_brat_cannot_hold(tmp_path: Path) -> None:
    report = write_corpus([Document("d", "ab cd", [Span(0, 2, "two words")])], tmp_path / "o", "brat")
    assert (
        report.lost == 1
        and report.unrepresentable["label is empty or holds whitespace (BRAT labels cannot)"] == 1
    )


def test_write_refuses_documents_without_text(tmp_path: Path) -> None:
    doc = Document("d", "", [Span(0, 2, "X", "ab")], metadata={"has_text": False})
    with pytest.raises(CorpusError, match="attach_texts"):
        write_corpus([doc], tmp_path / "o", "brat")
    assert not (tmp_path / "o").exists()


def test_n_and_note_lines_are_written_back_the_rest_counted(tmp_path: Path) -> None:
    a, b = _offsets(TEXT, "Type 2 diabetes mellitus")
    c, d = _offsets(TEXT, "renal disease")
    ann = (
        "T3\tBad label 0 9\tInclusion\n"  # a label with a space: not written, so T ids shift
        f"T5\tCondition {a} {b}\tType 2 diabetes mellitus\n"
        f"T7\tCondition {c} {d}\trenal disease\n"
        "R1\thas_scope Arg1:T5 Arg2:T7\t\n"
        "N1\tReference T7 MeSH:D007674\trenal disease\n"
        "N2\tReference T5 MeSH:D003924\tdiabetes\n"
        "#1\tAnnotatorNotes T5\tchecked\n"
        "#2\tAnnotatorNotes R1\ton a relation\n"
    )
    _pair(tmp_path / "in", "d", TEXT, ann.replace("T3\tBad label 0 9\tInclusion\n", ""))
    (doc,) = read_corpus(tmp_path / "in").documents
    assert doc.metadata["brat"]["keys"] == {"T5": [a, b, "Condition"], "T7": [c, d, "Condition"]}
    doc.spans.insert(0, Span(0, 9, "Bad label"))  # shifts the spans BRAT writes
    doc.metadata["brat"]["ids"] = {"T5": 1, "T7": 2}
    report = write_corpus([doc], tmp_path / "out", "brat")
    written = next((tmp_path / "out").rglob("d.ann")).read_text(encoding="utf-8").splitlines()
    assert written == [
        f"T1\tCondition {a} {b}\tType 2 diabetes mellitus",
        f"T2\tCondition {c} {d}\trenal disease",
        "R1\thas_scope Arg1:T1 Arg2:T2\t",
        "N1\tReference T2 MeSH:D007674\trenal disease",
        "N2\tReference T1 MeSH:D003924\tdiabetes",
        "#1\tAnnotatorNotes T1\tchecked",
        "#2\tAnnotatorNotes R1\ton a relation",
    ]
    assert report.metadata_lost == {}
    assert "not written (brat has no place" not in report.summary()
    (back,) = read_corpus(tmp_path / "out").documents
    assert back.metadata["brat"]["normalizations"] == written[3:5]


def test_every_kind_of_line_is_written_back_renumbered(tmp_path: Path) -> None:
    """BRAT to BRAT keeps R, E, A/M, * lines too; a line naming a span that is gone (or a line
    that is gone) is counted, not written with a T id that now names another span."""
    a, b = _offsets(TEXT, "Type 2 diabetes mellitus")
    c, d = _offsets(TEXT, "renal disease")
    ann = (
        "T2\tCondition 0 9\tInclusion\n"
        f"T5\tCondition {a} {b}\tType 2 diabetes mellitus\n"
        f"T7\tCondition {c} {d}\trenal disease\n"
        "R1\tOR Arg1:T5 Arg2:T7\t\n"
        "R2\tHas_scope Arg1:T2 Arg2:T7\t\n"
        "E1\tCondition:T5 Theme:T7\n"
        "E2\tCondition:T2 Theme:T5\n"
        "A1\tNegated E1\n"
        "A2\tNegated E2\n"
        "M1\tSpeculated T7\n"
        "*\tOR T5 T7\n"
        "*\tOR T2 T5\n"
        "#1\tAnnotatorNotes A2\ton an attribute of a dropped event\n"
    )
    _pair(tmp_path / "in", "d", TEXT, ann)
    (doc,) = read_corpus(tmp_path / "in").documents
    doc = doc.with_spans(doc.spans[1:])  # T2 is gone (a prediction that missed it)
    doc.metadata["brat"]["ids"] = {"T5": 0, "T7": 1}
    report = write_corpus([doc], tmp_path / "out", "brat")
    written = next((tmp_path / "out").rglob("d.ann")).read_text(encoding="utf-8").splitlines()
    assert written == [
        f"T1\tCondition {a} {b}\tType 2 diabetes mellitus",
        f"T2\tCondition {c} {d}\trenal disease",
        "R1\tOR Arg1:T1 Arg2:T2\t",
        "E1\tCondition:T1 Theme:T2",
        "A1\tNegated E1",
        "M1\tSpeculated T2",
        "*\tOR T1 T2",
    ]
    lost = {k.split(" lines")[0]: n for k, n in report.metadata_lost.items()}
    assert lost == {
        "BRAT relations": 1,
        "BRAT events": 1,
        "BRAT attributes": 1,
        "BRAT equivalences": 1,
        "BRAT notes": 1,
    }
    (back,) = read_corpus(tmp_path / "out").documents  # what was written reads back
    assert len(back.spans) == 2 and back.metadata["brat"]["events"] == ["E1\tCondition:T1 Theme:T2"]


def test_n_lines_of_replaced_spans_are_not_written(tmp_path: Path) -> None:
    """Predictions copy the gold metadata with other spans: its N lines no longer apply."""
    a, b = _offsets(TEXT, "Type 2 diabetes mellitus")
    _pair(
        tmp_path / "in",
        "d",
        TEXT,
        f"T1\tCondition {a} {b}\tx\nN1\tReference T1 MeSH:D003924\tdiabetes\n".replace(
            "\tx\n", "\tType 2 diabetes mellitus\n"
        ),
    )
    (doc,) = read_corpus(tmp_path / "in").documents
    pred = doc.with_spans([Span(a, a + 6, "Condition")])
    report = write_corpus([pred], tmp_path / "out", "brat")
    assert "N1" not in next((tmp_path / "out").rglob("d.ann")).read_text(encoding="utf-8")
    assert report.metadata_lost["BRAT normalizations lines (a span they name is not written)"] == 1
