"""Corpus statistics: counts, overlaps, span lengths in words, tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from clinicalner.document import Document, Span
from clinicalner.io import read_corpus, write_corpus
from clinicalner.stats import corpus_stats, stats


def _docs() -> list[Document]:
    text = "dolor de cabeza intenso y fiebre alta"
    return [
        Document(
            "a",
            text,
            [
                Span(0, 15, "SYMPTOM"),  # dolor de cabeza: 3 words
                Span(9, 15, "ANATOMY"),  # inside it: cross-type overlap
                Span(0, 23, "SYMPTOM"),  # overlaps the first SYMPTOM: same-type overlap
                Span(26, 37, "SYMPTOM"),  # fiebre alta
                Span(26, 37, "SYMPTOM"),  # an exact duplicate
                Span(0, 37, "X", fragments=((0, 5), (33, 37))),  # discontinuous: dolor ... alta
            ],
            "es",
            metadata={"split": "train", "folder": "es/train/symptom"},
        ),
        Document("b", "sin hallazgos", [], "en", metadata={"split": "dev"}),
    ]


def test_counts() -> None:
    st = corpus_stats(_docs())
    assert (st.documents, st.documents_without_spans, st.words, st.characters) == (2, 1, 9, 50)
    assert (st.spans, st.discontinuous, st.duplicates) == (6, 1, 1)
    # SYMPTOM 0-15 and 0-23 overlap each other; ANATOMY 9-15 overlaps both; X touches "dolor" and "alta"
    assert st.overlapping_same_type == 2
    assert st.overlapping_cross_type == 6
    assert st.labels["SYMPTOM"].spans == 4 and st.labels["SYMPTOM"].documents == 1
    assert st.labels["SYMPTOM"].span_words == 3 + 4 + 2 + 2
    assert st.labels["X"].span_words == 2 and st.labels["X"].discontinuous == 1
    assert st.span_words == 11 + 1 + 2
    assert st.mean_span_words == pytest.approx(14 / 6)
    assert st.languages["es"].spans == 6 and st.languages["en"].documents == 1
    assert st.splits["dev"].words == 2 and st.splits["train"].labels["SYMPTOM"] == 4
    assert list(st.folders) == ["es/train/symptom"]


def test_outputs() -> None:
    st = corpus_stats(_docs())
    d = st.to_dict()
    assert d["spans"] == 6 and d["labels"]["SYMPTOM"]["mean_words"] == pytest.approx(2.75)
    assert d["splits"]["train"]["labels"] == {"ANATOMY": 1, "SYMPTOM": 4, "X": 1}
    md = st.to_markdown()
    assert "| spans | 6 |" in md
    assert "| SYMPTOM | 4 | 1 | 2.75 | 0 |" in md
    assert "| language | documents | words | spans | ANATOMY | SYMPTOM | X |" in md
    console = Console(record=True, width=120)
    console.print(st.to_rich())
    shown = console.export_text()
    assert "spans overlapping one of the same type" in shown and "SYMPTOM" in shown


def test_stats_of_a_path_a_corpus_and_documents(tmp_path: Path) -> None:
    write_corpus(_docs(), tmp_path / "c.jsonl", "jsonl")
    from_path = stats(tmp_path / "c.jsonl")
    from_corpus = stats(read_corpus(tmp_path / "c.jsonl"))
    from_docs = stats(iter(_docs()))
    assert from_path.to_dict() == from_corpus.to_dict() == from_docs.to_dict()


def test_lenient_skips_are_counted(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text('{"id": "a", "text": "x"}\n{bad\n', encoding="utf-8")
    st = stats(tmp_path / "c.jsonl", lenient=True)
    assert (st.documents, st.skipped) == (1, 1)
    assert "| problems skipped while reading | 1 |" in st.to_markdown()


def test_lenient_skips_are_each_named(tmp_path: Path) -> None:
    """A count alone ("4 problems skipped") leaves the user to hunt for them: file, line, reason."""
    lines = ['{"id": "a", "text": "x"}'] + ["{bad"] * 12
    (tmp_path / "c.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    st = stats(tmp_path / "c.jsonl", lenient=True)
    assert st.skipped == 12
    assert (
        st.skipped_problems[0] == f"{tmp_path / 'c.jsonl'}:2: not valid JSON: Expecting property name "
        "enclosed in double quotes at column 2"
    )
    assert len(st.skipped_problems) == 11 and st.skipped_problems[-1] == "and 2 more"
    assert f"- {tmp_path / 'c.jsonl'}:11: not valid JSON" in st.to_markdown()
    console = Console(width=300, record=True)
    console.print(st.to_rich())
    out = console.export_text()
    assert f"{tmp_path / 'c.jsonl'}:3: not valid JSON" in out and "and 2 more" in out
    assert st.to_dict()["skipped_problems"] == st.skipped_problems


def test_multiclinai_tables(corpora_dir: Path) -> None:
    path = corpora_dir / "multiclinai-en-es" / "es" / "dev"
    if not path.exists():
        pytest.skip("multiclinai-en-es not in the shared corpora")
    st = stats(path)
    assert st.documents == 88 and st.spans == 2613
    assert {k: g.spans for k, g in st.folders.items()} == {
        "es/dev/disease": 807,
        "es/dev/procedure": 887,
        "es/dev/symptom": 919,
    }
    assert st.overlapping_same_type == st.overlapping_cross_type == st.discontinuous == 0
    assert 2.0 < st.mean_span_words < 5.0


def test_repeated_ids_are_flagged_not_silently_counted() -> None:
    """BC5CDR's training file repeats the development abstracts; per-type folders are not repeats."""
    a = Document("123", "fiebre alta", [Span(0, 6, "S")], metadata={"split": "train"})
    b = Document("123", "fiebre alta", [Span(0, 6, "S")], metadata={"split": "dev"})
    c = Document("123", "fiebre alta", [Span(7, 11, "S")], metadata={"split": "dev"})
    st = corpus_stats([a, b, c])
    assert (st.documents, st.repeated_documents, st.repeated_identical) == (3, 2, 1)
    assert (
        "| documents repeating an earlier id (counted again) | 2 (1 identical copies) |" in st.to_markdown()
    )
    typed = [
        Document("d", "fiebre", [Span(0, 6, "S")], "es", frozenset({"S"})),
        Document("d", "fiebre", [], "es", frozenset({"D"})),
    ]
    assert corpus_stats(typed).repeated_documents == 0
    assert corpus_stats(typed).to_dict()["repeated_documents"] == 0


def test_text_less_documents_show_na_words() -> None:
    docs = [Document("a", "", [Span(0, 6, "S")], metadata={"has_text": False})]
    st = corpus_stats(docs)
    md = st.to_markdown()
    assert "| words | n/a (no texts) |" in md and "| mean span length (words) | n/a (no texts) |" in md
    assert "| S | 1 | 1 | n/a | 0 |" in md


def test_terminal_tables_fit_80_columns_uncut() -> None:
    labels = [f"Label{i}" for i in range(10)]
    docs = [
        Document(
            f"d{i}",
            "fiebre alta " * 5000,
            [Span(0, 6, lab) for lab in labels],
            metadata={"split": split},
        )
        for i, split in enumerate(["train", "dev", "test"] * 3)
    ]
    st = corpus_stats(docs)
    console = Console(record=True, width=80, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(st.to_rich())
    shown = console.export_text()
    assert "…" not in shown
    assert "90,000" in shown  # words, whole
    assert "spans per type" in shown and "Label9" in shown
    assert max(len(line.rstrip()) for line in shown.splitlines()) <= 80
