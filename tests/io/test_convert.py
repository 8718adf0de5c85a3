"""convert(): what ``clinicalner convert IN OUT --to FORMAT`` runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.errors import CorpusError
from clinicalner.io import read_corpus
from clinicalner.io.convert import convert

TEXT = "Dolor torácico y fiebre.\r\nNo HTA."


def _brat(folder: Path, ann: str) -> Path:
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "n1.txt").write_bytes(TEXT.encode())
    (folder / "train" / "n1.ann").write_text(ann, encoding="utf-8")
    return folder


@pytest.mark.parametrize("to", ["tsv", "brat", "conll", "jsonl", "pubtator", "txt"])
def test_brat_to_every_format(tmp_path: Path, to: str) -> None:
    src = _brat(tmp_path / "src", "T1\tS 0 14\tDolor torácico\nT2\tS 17 23\tfiebre\nT3\tD 29 32\tHTA\n")
    out = tmp_path / ("out" if to in ("tsv", "brat", "txt") else f"out.{to}")
    report = convert(src, out, to, language="es")
    assert report.documents == 1 and report.format == to
    (doc,) = read_corpus(out).documents
    if to == "txt":
        assert report.lost == 3 and doc.spans == []
    else:
        assert report.lost == 0 and report.spans == 3
        assert [s.key for s in doc.sorted_spans()] == [(0, 14, "S"), (17, 23, "S"), (29, 32, "D")]
    if to in ("tsv", "brat", "txt"):
        assert doc.metadata["folder"] == "train"  # the split folder is kept
    if to == "jsonl":
        assert doc.language == "es"


def test_lenient_conversion_reports_what_was_skipped(tmp_path: Path) -> None:
    src = _brat(tmp_path / "src", "T1\tS 0 14\tDolor torácico\nQ1\tnonsense\nT2\tS 17 99\tfiebre\n")
    with pytest.raises(CorpusError, match=r"n1.ann:2: unknown BRAT annotation kind 'Q1'"):
        convert(src, tmp_path / "o.jsonl", "jsonl")
    assert not (tmp_path / "o.jsonl").exists()  # nothing half-written
    report = convert(src, tmp_path / "o.jsonl", "jsonl", lenient=True)
    assert [e.line for e in report.skipped] == [2, 3]
    summary = report.summary()
    assert "2 problems skipped while reading (--lenient):" in summary
    # each one named: file, line and reason
    assert "n1.ann:2: unknown BRAT annotation kind 'Q1'" in summary
    assert "n1.ann:3: T2: span 17-99 (S) is outside the text" in summary
    assert [s.key for s in read_corpus(tmp_path / "o.jsonl").documents[0].spans] == [(0, 14, "S")]


def test_bare_tsv_cannot_become_brat(tmp_path: Path) -> None:
    pred = tmp_path / "pred.tsv"
    pred.write_text("filename\tlabel\tstart_span\tend_span\ttext\nn1\tS\t0\t5\tDolor\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="has no text"):
        convert(pred, tmp_path / "out", "brat")
    assert not (tmp_path / "out").exists()
    with pytest.raises(CorpusError, match="has no text"):  # nor JSONL: it could not be read back
        convert(pred, tmp_path / "p.jsonl", "jsonl")
    report = convert(pred, tmp_path / "p2.tsv", "tsv")  # a bare TSV stays a bare TSV
    assert report.spans == 1


def test_summary_names_unrepresentable_spans(tmp_path: Path) -> None:
    src = _brat(tmp_path / "src", "T1\tS 0 5;17 23\tDolor fiebre\n")
    report = convert(src, tmp_path / "o.tsv", "tsv")
    assert report.lost == 1
    assert "1 spans not written: discontinuous" in report.summary()
    assert report.examples == ["n1: 0-5;17-23 S (discontinuous (the TSV holds one start and end per span))"]


def test_output_inside_the_input_is_refused(tmp_path: Path) -> None:
    src = _brat(tmp_path / "src", "T1\tS 0 14\tDolor torácico\n")
    for out, to, why in (
        (src / "sub", "brat", "inside the input folder"),
        (src / "train" / "o.jsonl", "jsonl", "inside the input folder"),
        (src, "brat", "the output is the input"),
        (tmp_path, "brat", "holds the input"),
    ):
        with pytest.raises(CorpusError, match=why):
            convert(src, out, to)
    # untouched, and no temp folder left
    assert sorted(p.name for p in src.rglob("*")) == ["n1.ann", "n1.txt", "train"]


@pytest.mark.parametrize("fmt", ["brat", "tsv", "txt", "jsonl"])
def test_readers_skip_hidden_files_and_folders(tmp_path: Path, fmt: str) -> None:
    """A temp folder of a write in progress, an editor's backup: not corpus data."""
    src = _brat(tmp_path / "src", "T1\tS 0 14\tDolor torácico\n")
    out = tmp_path / ("out.jsonl" if fmt == "jsonl" else "out")
    convert(src, out, fmt)
    root = out.parent / "hidden_copy" if fmt == "jsonl" else out
    if fmt == "jsonl":
        root.mkdir()
        (root / "a.jsonl").write_bytes(out.read_bytes())
        (root / ".backup.jsonl").write_bytes(out.read_bytes())
    import shutil

    for item in list(root.iterdir()):
        if item.is_dir():
            shutil.copytree(item, root / f".{item.name}.x1y2.tmp")
    assert len(read_corpus(root).documents) == 1


def test_metadata_a_format_cannot_hold_is_counted(tmp_path: Path) -> None:
    # a MultiClinAI type folder: language and annotated type come from the folder names
    group = tmp_path / "mc" / "es" / "dev" / "symptom"
    (group / "txt").mkdir(parents=True)
    (group / "txt" / "n1.txt").write_bytes(TEXT.encode())
    (group / "es_dev_symptom.tsv").write_text(
        "filename\tlabel\tstart_span\tend_span\ttext\nn1\tSYMPTOM\t17\t23\tfiebre\n", encoding="utf-8"
    )
    report = convert(tmp_path / "mc", tmp_path / "o.conll", "conll")
    summary = report.summary()
    assert "not written (conll has no place for them): 1 documents' language" in summary
    assert "1 documents' annotated types (reading back, every type counts as annotated)" in summary
    # a tree keeps them through its folder names
    assert convert(tmp_path / "mc", tmp_path / "tree", "tsv").metadata_lost == {}
    assert convert(tmp_path / "mc", tmp_path / "b", "brat").metadata_lost == {}
    # PubTator ids and relations have no place in BRAT or a TSV
    pub = tmp_path / "p.pubtator"
    pub.write_text(
        "1|t|Fever here\n1\t0\t5\tFever\tDisease\tD005334\n1\tCID\tD1\tD005334\n\n", encoding="utf-8"
    )
    for to, out in (("brat", tmp_path / "pb"), ("tsv", tmp_path / "pt.tsv")):
        lost = convert(pub, out, to).metadata_lost
        assert lost == {"PubTator mention ids (MeSH...)": 1, "PubTator relation lines": 1}, to
    assert convert(pub, tmp_path / "back.pubtator", "pubtator").metadata_lost == {}


def test_pubtator_line_break_note_is_one_line(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(25):
        (src / f"n{i}.txt").write_text("Title\nbody text", encoding="utf-8")
        (src / f"n{i}.ann").write_text("", encoding="utf-8")
    report = convert(src, tmp_path / "o.pubtator", "pubtator")
    assert report.notes == [
        "25 documents: line breaks in the text written as spaces, offsets unchanged (n0, n1, n10, ...)"
    ]


@pytest.mark.parametrize(
    "name, fmt", [("o.jsonl", "jsonl"), ("o.CONLL", "conll"), ("o.tsv", "tsv"), ("o", "brat")]
)
def test_the_output_suffix_says_the_format_when_to_is_not_given(tmp_path: Path, name: str, fmt: str) -> None:
    src = _brat(tmp_path / "src", "T1\tS 0 14\tDolor torácico\n")
    report = convert(src, tmp_path / name)
    assert report.format == fmt
    assert [s.text for s in read_corpus(tmp_path / name, fmt).documents[0].spans] == ["Dolor torácico"]


def test_an_unknown_output_suffix_without_to_fails_before_reading(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'\.xml'.*pass --to"):
        convert(tmp_path / "missing", tmp_path / "o.xml")
    assert not (tmp_path / "o.xml").exists()
