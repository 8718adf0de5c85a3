"""MultiCardioNER evaluator: the official toy suite (shared corpora) and a hand-made copy of its idea."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.evaluate import format_multicardioner_results, multicardioner_official, score

pytest.importorskip("pandas")

HEADER = ["filename", "label", "start_span", "end_span", "text"]

# The official toy files' printed totals (evaluator-vectors.md §2.3): precision, recall, F-score.
EXPECTED = {
    "all_correct": (1.0, 1.0, 1.0),
    "all_correct+repeated": (1.0, 1.0, 1.0),
    "all_correct+files_not_in_gs": (1.0, 1.0, 1.0),
    "all_incorrect": (0.0, 0.0, 0),
    "some_correct": (1.0, 0.5577, 0.716),
    "some_correct+incorrect_span": (0.8056, 0.5577, 0.6591),
    "some_correct+incorrect_text": (1.0, 0.5577, 0.716),
}


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _documents(rows: list[dict[str, str]]) -> list[Document]:
    """Documents without text: the span texts come from the TSV, which is what the metric compares."""
    by: dict[str, list[Span]] = {}
    for r in rows:
        by.setdefault(r["filename"], []).append(
            Span(int(r["start_span"]), int(r["end_span"]), r["label"], r["text"])
        )
    return [Document(k, "", v) for k, v in by.items()]


def _fixture_dir(corpora_dir: Path) -> Path:
    base = corpora_dir / "evaluator-fixtures" / "multicardioner"
    if not base.is_dir():
        pytest.skip("MultiCardioNER fixtures not available")
    return base


@pytest.mark.parametrize("case", list(EXPECTED))
def test_official_toy_suite(corpora_dir, case):
    base = _fixture_dir(corpora_dir)
    pred = base / "pred" / f"multicardioner_test_task1_{case}.tsv"
    scores = multicardioner_official(base / "ref" / "multicardioner_test_task1_toy.tsv", pred)
    total = scores["total"]
    assert (total["precision"], total["recall"], total["f_score"]) == EXPECTED[case]
    (printed,) = (base / "pred" / "results").glob(f"*_{case}.txt")
    assert format_multicardioner_results(scores) == printed.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", list(EXPECTED))
def test_documents_on_toy_suite(corpora_dir, case):
    base = _fixture_dir(corpora_dir)
    gold = _documents(_read_rows(base / "ref" / "multicardioner_test_task1_toy.tsv"))
    pred = _documents(_read_rows(base / "pred" / f"multicardioner_test_task1_{case}.tsv"))
    if any(s.end <= s.start for d in pred for s in d.spans):
        # Asked for explicitly, the MultiClinAI rule refuses such spans...
        with pytest.raises(CorpusError, match=r"end <= start.*--invalid-predictions false_positive"):
            score(gold, pred, metrics=["multicardioner"], invalid_predictions="error")
    # ...and by default multicardioner alone follows its official scorer: they are unmatched predictions.
    m = score(gold, pred, metrics=["multicardioner"], breakdowns=()).metric("multicardioner")
    p, r, f = EXPECTED[case]
    assert (round(m.precision, 4), round(m.recall, 4), round(m.f1, 4)) == (p, r, f)


# ------------------------------------------------------------------ inline copy of the idea

GOLD = [
    ("c1", "ENFERMEDAD", 0, 3, "HTA"),
    ("c1", "ENFERMEDAD", 10, 20, "dislipemia"),
    ("c1", "ENFERMEDAD", 30, 47, "diabetes mellitus"),
    ("c2", "ENFERMEDAD", 5, 16, "miocarditis"),
]
INLINE = {
    "all_correct": (GOLD, (1.0, 1.0, 1.0)),
    "repeated": (GOLD + GOLD[:2], (1.0, 1.0, 1.0)),
    "files_not_in_gs": ([*GOLD, ("c9", "ENFERMEDAD", 0, 3, "HTA")], (1.0, 1.0, 1.0)),
    "some_correct": (GOLD[:2], (1.0, 0.5, 0.6667)),
    "incorrect_span": ([*GOLD[:2], ("c2", "ENFERMEDAD", 4, 16, "miocarditis")], (0.6667, 0.5, 0.5714)),
    # a wrong-text copy listed after the right row is removed by de-duplication...
    "incorrect_text_after": ([*GOLD[:2], ("c1", "ENFERMEDAD", 0, 3, "HT")], (1.0, 0.5, 0.6667)),
    # ...but listed first it survives and fails the text comparison
    "incorrect_text_first": ([("c1", "ENFERMEDAD", 0, 3, "HT"), *GOLD[:2]], (0.5, 0.25, 0.3333)),
    "wrong_label": ([("c1", "SINTOMA", 0, 3, "HTA")], (0.0, 0.0, 0)),
}


def _write(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)
    return path


@pytest.mark.parametrize("case", list(INLINE))
def test_inline_suite(tmp_path, case):
    rows, expected = INLINE[case]
    gold_tsv, pred_tsv = _write(tmp_path / "g.tsv", GOLD), _write(tmp_path / "p.tsv", rows)
    total = multicardioner_official(gold_tsv, pred_tsv)["total"]
    assert (total["precision"], total["recall"], total["f_score"]) == expected
    docs = score(
        _documents(_read_rows(gold_tsv)),
        _documents(_read_rows(pred_tsv)),
        metrics=["multicardioner"],
        breakdowns=(),
    ).metric("multicardioner")
    assert (round(docs.precision, 4), round(docs.recall, 4), round(docs.f1, 4)) == expected


def test_mapping_and_per_document_scores(tmp_path):
    gold_tsv = _write(tmp_path / "g.tsv", GOLD)
    masked = [("m1" if r[0] == "c1" else "m2", *r[1:]) for r in GOLD] + [("m3", "ENFERMEDAD", 0, 3, "HTA")]
    pred_tsv = _write(tmp_path / "p.tsv", masked)
    mapping = tmp_path / "map.tsv"
    mapping.write_text("c1\tm1\nc2\tm2\n", encoding="utf-8")
    scores = multicardioner_official(gold_tsv, pred_tsv, mapping)
    assert scores["total"] == {"recall": 1.0, "precision": 1.0, "f_score": 1.0}
    assert set(scores) == {"c1", "c2", "total"}
    assert multicardioner_official(gold_tsv, pred_tsv, {"m1": "c1"})["total"]["recall"] == 0.75
    text = format_multicardioner_results(scores, verbose=True)
    assert "Results for document: c1\n" in text and text.endswith("Micro-average F-score: 1.0\n")


def test_text_is_read_from_the_document_when_spans_carry_none():
    text = "Paciente con HTA y dislipemia."
    gold = Document("c1", text, [Span(13, 16, "E"), Span(19, 29, "E")])
    pred = Document("c1", text, [Span(13, 16, "E"), Span(19, 29, "E", "dislipemi")])
    m = score([gold], [pred], metrics=["multicardioner", "strict"], breakdowns=())
    assert m.metric("multicardioner").counts == {"tp": 1, "fp": 1, "fn": 1}
    assert m.metric("strict").counts == {"tp": 2, "fp": 0, "fn": 0}
