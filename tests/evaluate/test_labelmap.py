"""--label-map: predictions mapped before scoring, merged duplicates, unproducible gold types."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicalner import api
from clinicalner.cli import app
from clinicalner.document import Document, Span
from clinicalner.evaluate.labelmap import map_labels, parse_label_map
from clinicalner.io import write_corpus

TEXT = "Dolor torácico y fiebre; se realizó ecografía del hígado."


def _span(word: str, label: str, score: float | None = None) -> Span:
    i = TEXT.index(word)
    return Span(i, i + len(word), label, word, score)


GOLD = [
    Document(
        "n1",
        TEXT,
        [
            _span("Dolor torácico", "DISO"),
            _span("fiebre", "DISO"),
            _span("ecografía", "PROC"),
            _span("hígado", "ANAT"),
        ],
        "es",
    )
]
PRED = [
    Document(
        "n1",
        TEXT,
        [
            _span("Dolor torácico", "SYMPTOM", 0.6),
            _span("Dolor torácico", "DISEASE", 0.9),  # same words: one DISO once mapped
            _span("fiebre", "SYMPTOM", 0.8),
            _span("ecografía", "PROCEDURE", 0.7),
        ],
        "es",
    )
]
MAP = ["DISEASE=DISO", "SYMPTOM=DISO", "PROCEDURE=PROC"]


def test_parse() -> None:
    assert parse_label_map(["A=B", " C = D ", "E="]) == {"A": "B", "C": "D", "E": None}
    assert parse_label_map({"A": "B"}) == {"A": "B"} and parse_label_map(None) == {}
    with pytest.raises(ValueError, match="expected PRED=GOLD"):
        parse_label_map(["DISEASE"])
    with pytest.raises(ValueError, match="mapped to both"):
        parse_label_map(["A=B", "A=C"])


def test_map_merges_identical_and_names_unproducible_types() -> None:
    result = map_labels(PRED, parse_label_map(MAP), GOLD)
    (doc,) = result.documents
    assert sorted((s.text, s.label, s.score) for s in doc.spans) == [
        ("Dolor torácico", "DISO", 0.9),  # the higher confidence kept
        ("ecografía", "PROC", 0.7),
        ("fiebre", "DISO", 0.8),
    ]
    assert (result.mapped, result.merged, result.dropped) == (4, 1, 0)
    assert result.not_produced == {"ANAT": 1}
    assert PRED[0].spans[0].label == "SYMPTOM"  # the input is not changed
    dropped = map_labels(PRED, parse_label_map(["PROCEDURE="]), GOLD)
    assert dropped.dropped == 1 and {s.label for s in dropped.documents[0].spans} == {"SYMPTOM", "DISEASE"}


def _files(tmp_path: Path) -> tuple[Path, Path]:
    write_corpus(GOLD, tmp_path / "gold.jsonl", "jsonl")
    write_corpus(PRED, tmp_path / "pred.jsonl", "jsonl")
    return tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"


def test_api_evaluate_with_label_map(tmp_path: Path) -> None:
    gold, pred = _files(tmp_path)
    plain = api.evaluate(gold, pred, metrics=["strict"])
    assert plain.metric("strict").counts["tp"] == 0  # no label in common
    report = api.evaluate(gold, pred, metrics=["strict", "multiclinai_strict"], label_map=MAP)
    # ANAT cannot be produced: not scored, so recall is 3/3, not 3/4; the merged pair counts once
    assert report.labels == ("DISO", "PROC")
    assert report.metric("strict").f1 == pytest.approx(1.0)
    assert report.metric("multiclinai_strict").f1 == pytest.approx(1.0)
    assert report.stats["label_map_merged_spans"] == 1
    assert report.stats["gold_spans_of_types_not_produced"] == 1
    assert any("ANAT (1 spans)" in w for w in report.warnings)
    forced = api.evaluate(gold, pred, metrics=["strict"], labels=["DISO", "PROC", "ANAT"], label_map=MAP)
    assert forced.metric("strict").recall == pytest.approx(0.75)  # asked for: scored


def test_cli_label_map(tmp_path: Path) -> None:
    gold, pred = _files(tmp_path)
    args = ["evaluate", str(gold), str(pred), "-m", "strict", "--json"]
    for m in MAP:
        args += ["--label-map", m]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert '"label_map_merged_spans": 1' in result.output
    bad = CliRunner().invoke(app, ["evaluate", str(gold), str(pred), "--label-map", "DISEASE"])
    assert bad.exit_code == 2 and "expected PRED=GOLD" in bad.output
