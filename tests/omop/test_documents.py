"""The omop corpus format: NOTE (+ NOTE_NLP) rows <-> Documents, for convert and evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from clinicalner import api
from clinicalner.document import Document
from clinicalner.io import detect_format, read_corpus, write_corpus

from .test_tag import GOLD


def test_convert_to_omop_and_back_keeps_texts_and_spans(tmp_path: Path) -> None:
    write_corpus(GOLD, tmp_path / "gold.jsonl", "jsonl")
    report = api.convert(tmp_path / "gold.jsonl", tmp_path / "gold.sqlite", to="omop")
    assert report.documents == len(GOLD) and report.spans == sum(len(d.spans) for d in GOLD)
    assert report.metadata_lost["documents' language"] == sum(d.language != "en" for d in GOLD)
    assert detect_format(tmp_path / "gold.sqlite") == "omop"
    api.convert(tmp_path / "gold.sqlite", tmp_path / "back.jsonl", to="jsonl")
    back = read_corpus(tmp_path / "back.jsonl").documents
    assert [d.id for d in back] == [str(k) for k in range(1, len(GOLD) + 1)]  # ids become note_ids
    for original, again in zip(GOLD, back, strict=True):
        assert again.text == original.text
        assert [(s.start, s.end, s.label, s.text) for s in again.sorted_spans()] == [
            (s.start, s.end, s.label, s.text) for s in original.sorted_spans()
        ]
    with pytest.raises(FileExistsError):
        api.convert(tmp_path / "gold.jsonl", tmp_path / "gold.sqlite", to="omop")


def test_omop_tag_output_is_scored_like_any_corpus(tmp_path: Path) -> None:
    terms = tmp_path / "terms.tsv"
    found = sorted({(s.text, s.label) for d in GOLD for s in d.spans if "\t" not in s.text})
    terms.write_text("".join(f"{t}\t{label}\n" for t, label in found[::2]), encoding="utf-8")
    numbered = [Document(str(k), d.text, d.spans, d.language) for k, d in enumerate(GOLD, 1)]
    write_corpus(numbered, tmp_path / "gold.jsonl", "jsonl")
    write_corpus([d.with_spans([]) for d in numbered], tmp_path / "notes.sqlite", "omop")
    api.omop_tag(terms, tmp_path / "notes.sqlite", create=True, progress=False)
    via_omop = api.evaluate(tmp_path / "gold.jsonl", tmp_path / "notes.sqlite", metrics=["strict"])
    api.predict(terms, tmp_path / "gold.jsonl", tmp_path / "p.jsonl", progress=False)
    via_files = api.evaluate(tmp_path / "gold.jsonl", tmp_path / "p.jsonl", metrics=["strict"])
    assert 0 < via_omop.metric("strict").f1 < 1
    assert via_omop.metric("strict").f1 == via_files.metric("strict").f1
