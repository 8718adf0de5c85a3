"""The demo's HTML page: aligned columns, misses and false positives marked, every label shown."""

from __future__ import annotations

import re
from pathlib import Path

from clinicalner.document import Document, Span
from clinicalner.highlight import compare, render_spans, write_html

TEXT = "Dolor torácico y fiebre.\nNo HTA."


def _span(a: int, b: int, label: str, score: float | None = None) -> Span:
    return Span(a, b, label, TEXT[a:b], score)


def test_two_labels_on_one_span_both_show() -> None:
    spans = [_span(0, 14, "SYMPTOM"), _span(0, 14, "DISEASE"), _span(0, 5, "PROCEDURE")]
    page = render_spans(TEXT, spans, {"SYMPTOM": "#fde68a", "DISEASE": "#bfdbfe", "PROCEDURE": "#bbf7d0"})
    labels = re.findall(r"<sub[^>]*>([^<]*)</sub>", page)
    assert sorted(labels) == ["DISEASE", "PROCEDURE", "SYMPTOM"]
    assert "box-shadow" in page  # the spans under the first are drawn as stripes
    assert re.sub(r"<[^>]+>", "", re.sub(r"<sub[^>]*>[^<]*</sub>", "", page)) == TEXT.replace("\n", "")


def test_misses_and_false_positives_are_marked() -> None:
    gold = [_span(0, 14, "SYMPTOM"), _span(17, 23, "SYMPTOM"), _span(28, 31, "DISEASE")]
    pred = [_span(0, 14, "SYMPTOM"), _span(17, 23, "DISEASE"), _span(0, 5, "SYMPTOM")]
    pred_marks, gold_marks = compare(pred, gold)
    assert pred_marks == ["ok", "fp", "fp"]
    assert gold_marks == ["ok", "miss", "miss"]
    colours = {"SYMPTOM": "#fde68a", "DISEASE": "#bfdbfe"}
    page = render_spans(TEXT, gold, colours, gold_marks)
    assert page.count('<sub class="miss">') == 2 and 'class="miss"' in page
    page = render_spans(TEXT, pred, colours, pred_marks)
    assert page.count('<sub class="fp">') == 2


def test_columns_start_on_the_same_line(tmp_path: Path) -> None:
    gold = [Document("n1", TEXT, [_span(0, 14, "SYMPTOM")], "es"), Document("n2", "HTA", [], "es")]
    pred = [d.with_spans([]) for d in gold]
    page = write_html(pred, tmp_path / "p.html", gold=gold).read_text(encoding="utf-8")
    # The document id is a row of its own spanning both columns, not a heading inside one cell.
    assert '<th class="doc" colspan="2">n1</th>' in page
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", page)
    assert len(cells) == 2
    assert not any(c.startswith("<h") for row in cells for c in row)
    assert '<sub class="miss">SYMPTOM missed</sub>' in page
    alone = write_html(pred, tmp_path / "q.html").read_text(encoding="utf-8")
    assert "<th>gold</th>" not in alone and "missed" not in alone
