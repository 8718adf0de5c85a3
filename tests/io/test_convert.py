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
    assert "2 problems skipped while reading (lenient)" in report.summary()
    assert [s.key for s in read_corpus(tmp_path / "o.jsonl").documents[0].spans] == [(0, 14, "S")]


def test_bare_tsv_cannot_become_brat(tmp_path: Path) -> None:
    pred = tmp_path / "pred.tsv"
    pred.write_text("filename\tlabel\tstart_span\tend_span\ttext\nn1\tS\t0\t5\tDolor\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="has no text"):
        convert(pred, tmp_path / "out", "brat")
    assert not (tmp_path / "out").exists()
    report = convert(pred, tmp_path / "p.jsonl", "jsonl")  # JSONL can say "no text"
    assert report.spans == 1


def test_summary_names_unrepresentable_spans(tmp_path: Path) -> None:
    src = _brat(tmp_path / "src", "T1\tS 0 5;17 23\tDolor fiebre\n")
    report = convert(src, tmp_path / "o.tsv", "tsv")
    assert report.lost == 1
    assert "1 spans not written: discontinuous" in report.summary()
    assert report.examples == ["n1: 0-5;17-23 S (discontinuous (the TSV holds one start and end per span))"]
