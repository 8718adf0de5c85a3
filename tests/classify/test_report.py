"""The evaluation report: unseen languages, missing predictions, JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinicalner.classify.data import LabelledText, TextPrediction
from clinicalner.classify.report import score_predictions, write_report
from clinicalner.errors import CorpusError

GOLD = [
    LabelledText("1", "t", "ADE", "en"),
    LabelledText("2", "t", "NO_ADE", "en"),
    LabelledText("3", "t", "NO_ADE", "en"),
    LabelledText("4", "t", "ADE", "it"),
    LabelledText("5", "t", "NO_ADE", "it"),
]


def pred(doc_id: str, p: float, seen: bool | None = None) -> TextPrediction:
    return TextPrediction(doc_id, "ADE" if p >= 0.5 else "NO_ADE", {"ADE": p, "NO_ADE": 1 - p}, None, seen)


PRED = [pred("1", 0.9), pred("2", 0.6), pred("3", 0.1), pred("4", 0.3), pred("5", 0.2)]


def test_scores_and_unseen_languages() -> None:
    r = score_predictions(GOLD, PRED, train_languages=["en"])
    assert r.positive == "ADE"
    assert r.confusion == [[1, 1], [1, 2]]
    assert r.per_class["ADE"]["f1"] == pytest.approx(0.5)
    assert r.macro_f1 == pytest.approx((0.5 + 2 / 3) / 2, abs=1e-6)
    assert r.accuracy == pytest.approx(0.6)
    assert r.languages["en"]["seen"] is True and r.languages["it"]["seen"] is False
    assert r.languages["it"]["n"] == 2
    row = next(x for x in r.sweep if x["threshold"] == 0.25)
    assert row["recall"] == 1.0


def test_seen_marks_come_from_the_predictions() -> None:
    marked = [pred(p.id, p.probabilities["ADE"], seen=p.id in "123") for p in PRED]
    r = score_predictions(GOLD, marked)
    assert r.languages["it"]["seen"] is False and r.languages["en"]["seen"] is True


def test_missing_prediction_is_an_error() -> None:
    with pytest.raises(CorpusError, match=r"1 gold texts have no prediction \(first: \['5'\]\)"):
        score_predictions(GOLD, PRED[:4])


def test_reports_on_disk(tmp_path: Path) -> None:
    r = score_predictions(GOLD, PRED, bootstrap=50, seed=1)
    data = json.loads(write_report(r, tmp_path / "r.json").read_text())
    assert data["macro"]["f1"] == r.macro_f1 and len(data["bootstrap_95"]["macro_f1"]) == 2
    md = write_report(r, tmp_path / "r.md").read_text()
    assert "| ADE |" in md and "Confusion" in md and "Threshold sweep (ADE)" in md
    with pytest.raises(ValueError, match=r"\.json or \.md"):
        write_report(r, tmp_path / "r.txt")
