"""Reading labelled texts and prediction files: formats, validation with file and line, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.classify.data import (
    LabelledText,
    TextPrediction,
    read_predictions,
    read_texts,
    write_predictions,
)
from clinicalner.errors import CorpusError


def test_jsonl_and_tsv_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"id": "1", "text": "Rash after amoxicillin 😀", "label": "ADE", "language": "en"}\n\n'
        '{"id": 2, "text": "Dolor torácico", "label": "NO_ADE"}\n',
        encoding="utf-8",
    )
    (tmp_path / "a.tsv").write_text(
        "id\ttext\tlabel\tlanguage\n1\tRash after amoxicillin 😀\tADE\ten\n2\tDolor torácico\tNO_ADE\t\n",
        encoding="utf-8",
    )
    expected = [
        LabelledText("1", "Rash after amoxicillin 😀", "ADE", "en"),
        LabelledText("2", "Dolor torácico", "NO_ADE", None),
    ]
    assert read_texts(tmp_path / "a.jsonl") == expected
    assert read_texts(tmp_path / "a.tsv") == expected


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (
            '{"id": "1", "text": "x", "label": "A"}\n{"id": "1", "text": "y", "label": "B"}\n',
            2,
            "repeats line 1",
        ),
        ('{"id": "1", "text": "x", "label": "A"}\nnot json\n', 2, "not a JSON object"),
        ('{"id": "1", "text": "   ", "label": "A"}\n', 1, "no 'text'"),
        ('{"text": "x", "label": "A"}\n', 1, "no 'id'"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError) as err:
        read_texts(path)
    assert err.value.line == line and message in str(err.value) and str(path) in str(err.value)


def test_labels_required_for_training(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_text('{"id": "1", "text": "x"}\n', encoding="utf-8")
    assert read_texts(path)[0].label is None
    with pytest.raises(CorpusError, match="no 'label'"):
        read_texts(path, require_labels=True)


def test_tsv_wrong_column_count(tmp_path: Path) -> None:
    path = tmp_path / "b.tsv"
    path.write_text("id\ttext\tlabel\n1\ttext\twith\textra\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"b.tsv:2: 4 columns"):
        read_texts(path)


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl"])
def test_predictions_round_trip(tmp_path: Path, suffix: str) -> None:
    preds = [
        TextPrediction("a", "ADE", {"ADE": 0.75, "NO_ADE": 0.25}, "en", True, ""),
        TextPrediction("b", "NO_ADE", {"ADE": 0.125, "NO_ADE": 0.875}, "it", False, "no_logprobs"),
        TextPrediction("c", "NO_ADE", {"ADE": 0.5, "NO_ADE": 0.5}, None, None, ""),
    ]
    path = write_predictions(tmp_path / f"p{suffix}", preds)
    assert read_predictions(path) == preds
    assert "Rash" not in path.read_text(encoding="utf-8")  # no text in a prediction file


def test_prediction_probabilities_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "p.tsv"
    path.write_text("id\tlabel\tp_ADE\na\tADE\t1.5\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"p.tsv:2: probability of 'ADE' is outside"):
        read_predictions(path)


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="unknown suffix"):
        write_predictions(tmp_path / "p.xml", [])
