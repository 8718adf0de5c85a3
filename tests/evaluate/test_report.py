"""The terminal report: readable at 80 columns, full metric names, notes on what was dropped."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from clinicalner.document import Document, Span
from clinicalner.evaluate import METRICS, score

TEXT = "fiebre alta y tos seca con dolor torácico intenso"


def _gold() -> list[Document]:
    return [
        Document(
            f"d{i}",
            TEXT,
            [
                Span(0, 11, "SYMPTOM"),
                Span(14, 22, "SYMPTOM"),
                Span(27, 41, "SYMPTOM"),
                Span(27, 32, "DISEASE"),
            ],
            "es",
            metadata={"folder": "es/train/symptom"},
        )
        for i in range(3)
    ]


def _pred() -> list[Document]:
    g = _gold()
    return [
        g[0].with_spans([Span(0, 11, "SYMPTOM"), Span(0, 11, "SYMPTOM"), Span(14, 17, "SYMPTOM")]),
        g[1],
        Document("x9", TEXT, [Span(0, 6, "SYMPTOM")], "es"),
    ]


def _render(report, width: int) -> str:
    console = Console(record=True, width=width, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(report.to_rich())
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120])
def test_every_metric_and_number_shows_whole_at_80_columns(width):
    r = score(_gold(), _pred(), breakdowns=("label", "language", "folder", "document"), bootstrap=20)
    shown = _render(r, width)
    assert "…" not in shown
    for name in METRICS:  # full names, all four nervaluate variants told apart
        assert name in shown, name
    assert max(len(line.rstrip()) for line in shown.splitlines()) <= width
    assert f"gold_score_sum={_fmt(r.metric('multiclinai_char').counts['gold_score_sum'])}" in shown
    # breakdowns in long format: the group, its sizes, then one row per key metric
    assert "By label" in shown and "SYMPTOM" in shown and "x9" in shown
    assert "metric(s) per group" in shown  # says where the other metrics are


def _fmt(v: float | int) -> str:
    return str(v) if isinstance(v, int) else f"{v:.4f}"


def test_notes_say_what_was_dropped_masked_and_missed():
    gold = _gold()
    for d in gold:
        d.annotated_labels = frozenset({"SYMPTOM"})
    pred = _pred()
    pred[1] = pred[1].with_spans([*pred[1].spans, Span(33, 41, "DISEASE")])
    r = score(gold, pred)
    notes = "\n".join(r.notes())
    assert (
        "duplicate predictions (same document, label and offsets) dropped by the official variants: 1"
        in notes
    )
    assert "repeated predictions (same fragments too) counted once by the clean metrics: 1" in notes
    assert "predictions masked: a type their gold document does not annotate: 2" in notes
    assert "gold documents without predictions (their spans are missed): 1" in notes
    assert "predicted documents without gold" in notes
    shown = _render(r, 80)
    assert "Notes" in shown and "predictions masked" in shown
    assert "### Notes" in r.to_markdown()


def test_token_metrics_on_gold_without_text_are_not_computable():
    gold = [Document("d", "", [Span(0, 6, "S")], metadata={"has_text": False})]
    pred = [Document("d", "", [Span(0, 6, "S")], metadata={"has_text": False})]
    r = score(gold, pred, breakdowns=("label", "document"))
    m = r.metric("m42_token_micro")
    assert not m.computable and "no text" in (m.not_computable or "")
    assert r.breakdown("label", "S", "m42_token_macro").not_computable
    assert r.metric("strict").f1 == 1.0
    d = json.loads(r.to_json())
    assert d["metrics"]["m42_token_weighted"]["f1"] is None
    assert "no text" in d["metrics"]["m42_token_weighted"]["not_computable"]
    shown = _render(r, 80)
    assert "n/a" in shown and "0.0000" not in shown.split("m42_token_micro", 1)[1].splitlines()[0]
    assert "| m42_token_micro | n/a |" in r.to_markdown()


def test_token_metrics_with_texts_are_computed():
    r = score(_gold(), _gold(), metrics=["m42_token_micro"])
    assert r.metric("m42_token_micro").computable and r.metric("m42_token_micro").f1 == 1.0


def test_report_format_comes_from_the_suffix_and_others_are_refused(tmp_path):
    """rep.html used to get JSON, silently; the API refuses it before reading anything."""
    from clinicalner import api
    from clinicalner.io import write_corpus

    report = score(_gold(), _pred(), metrics=["strict"])
    assert json.loads(report.save(tmp_path / "r.json").read_text())["metrics"]["strict"]
    assert report.save(tmp_path / "r.md").read_text().startswith("## Evaluation")
    for name in ("r.html", "r"):
        with pytest.raises(ValueError, match=r"name it \.json or \.md"):
            report.save(tmp_path / name)
        assert not (tmp_path / name).exists()
    write_corpus(_gold(), tmp_path / "g.jsonl", "jsonl")
    with pytest.raises(ValueError, match=r"rep.html: cannot write a report as '.html'"):
        api.evaluate(tmp_path / "no-such-gold", tmp_path / "g.jsonl", output=tmp_path / "rep.html")
    assert not (tmp_path / "rep.html").exists()
