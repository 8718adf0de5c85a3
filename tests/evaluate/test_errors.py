"""The error taxonomy: each class on a hand-made case, and its renderings."""

from __future__ import annotations

import json

from clinicalner.document import Document, Span
from clinicalner.evaluate import score
from clinicalner.evaluate.errors import cap

TEXT = "Dolor torácico intenso y fiebre alta; se realizó una radiografía de tórax sin neumonía."


def _doc(spans: list[tuple[str, str]], lang: str = "es") -> Document:
    out = []
    for surface, label in spans:
        start = TEXT.index(surface)
        out.append(Span(start, start + len(surface), label))
    return Document("n1", TEXT, spans=out, language=lang)


def _errors(gold: list[tuple[str, str]], pred: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    report = score([_doc(gold)], [_doc(pred)], metrics=["strict"], errors=True)
    return report, {(r.label, r.category, r.kind): r for r in report.errors.rows}


def test_each_class_once() -> None:
    gold = [
        ("Dolor torácico", "SYMPTOM"),  # right edge too long in the prediction
        ("fiebre alta", "SYMPTOM"),  # predicted as another type, same offsets
        ("radiografía de tórax", "PROCEDURE"),  # exact
        ("neumonía", "DISEASE"),  # missed
    ]
    pred = [
        ("Dolor torácico intenso", "SYMPTOM"),
        ("fiebre alta", "DISEASE"),
        ("radiografía de tórax", "PROCEDURE"),
        ("realizó", "PROCEDURE"),  # spurious
    ]
    report, rows = _errors(gold, pred)
    assert report.errors.correct == 1 and report.errors.total == 4
    b = rows[("SYMPTOM", "boundary", "left =, right longer")]
    assert b.count == 1 and b.examples == ["“Dolor torácico” → “Dolor torácico intenso”"]
    assert rows[("SYMPTOM", "type", "type")].examples == ["“fiebre alta” → “fiebre alta” as DISEASE"]
    assert rows[("DISEASE", "missed", "missed")].examples == ["“neumonía”"]
    assert rows[("PROCEDURE", "spurious", "spurious")].examples == ["“realizó”"]
    assert report.errors.by_category() == {
        "boundary": 1,
        "type": 1,
        "type+boundary": 0,
        "missed": 1,
        "spurious": 1,
    }


def test_shorter_on_both_sides_and_type_with_boundary() -> None:
    _, rows = _errors(
        [("radiografía de tórax", "PROCEDURE"), ("Dolor torácico intenso", "SYMPTOM")],
        [("de", "PROCEDURE"), ("torácico intenso y fiebre", "DISEASE")],
    )
    assert rows[("PROCEDURE", "boundary", "left shorter, right shorter")].count == 1
    assert rows[("SYMPTOM", "type+boundary", "type+boundary")].count == 1


def test_one_to_one_and_counts_add_up_to_strict() -> None:
    gold = [("Dolor torácico", "SYMPTOM"), ("fiebre alta", "SYMPTOM")]
    # Two predictions overlap one gold span: one is a boundary error, the other is spurious.
    pred = [("Dolor torácico intenso", "SYMPTOM"), ("Dolor", "SYMPTOM"), ("fiebre alta", "SYMPTOM")]
    report, rows = _errors(gold, pred)
    m = report.metric("strict")
    cats = report.errors.by_category()
    assert report.errors.correct == m.counts["tp"]
    assert cats["boundary"] + cats["type"] + cats["type+boundary"] + cats["missed"] == m.counts["fn"]
    assert cats["boundary"] + cats["type"] + cats["type+boundary"] + cats["spurious"] == m.counts["fp"]
    assert rows[("SYMPTOM", "boundary", "left =, right longer")].count == 1


def test_renderings_carry_the_taxonomy_and_never_the_note() -> None:
    report, _ = _errors([("neumonía", "DISEASE")], [("sin neumonía", "DISEASE")])
    data = json.loads(report.to_json())["errors"]
    assert data["by_category"]["boundary"] == {"count": 1, "share": 1.0}
    md = report.to_markdown()
    assert "### Errors" in md and "left longer, right =" in md
    assert TEXT not in md and TEXT not in report.to_json()
    assert "errors" not in json.loads(score([_doc([])], [_doc([])], metrics=["strict"]).to_json())


def test_examples_are_capped() -> None:
    assert cap("x" * 200) == "x" * 79 + "…"
    assert cap("a\nb\tc") == "a b c"
