"""The HTML page: self-contained, with the plots embedded and the tables escaped."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from clinicalner.benchmark.html import render_html, write_html
from clinicalner.benchmark.leaderboard import Leaderboard
from clinicalner.benchmark.runner import RunResult

PNG = b"\x89PNG\r\n\x1a\n"


def _board() -> Leaderboard:
    def run(tagger: str, dataset: str, f1: float) -> RunResult:
        scores = {
            m: {
                "": {"precision": f1, "recall": f1, "f1": f1},
                "condition": {"precision": f1, "recall": f1, "f1": f1},
            }
            for m in ("span", "strict")
        }
        return RunResult(tagger, dataset, {}, scores, timing={"seconds": 0.5, "documents_per_second": 8.0})

    runs = [run("<b>lex</b>", "A", 0.5), run("<b>lex</b>", "B", 0.7), run("model", "A", 0.9)]
    datasets = [
        {
            "name": "A",
            "labels": ["condition"],
            "documents": 4,
            "spans": {"condition": 9},
            "note": "split & seed 42",
        },
        {"name": "B", "labels": ["condition"], "documents": 2, "spans": {"condition": 3}},
    ]
    return Leaderboard(
        "My <benchmark>",
        ["<b>lex</b>", "model"],
        datasets,
        {(r.tagger, r.dataset): r for r in runs},
        "span",
        ("strict",),
        notes=["a & b"],
    )


def test_page_embeds_three_png_plots_and_the_tables(tmp_path: Path) -> None:
    path = write_html(_board(), tmp_path / "page.html")
    page = path.read_text("utf-8")
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [alt for alt, _ in images] == [
        "per-dataset box plots",
        "per-entity bars",
        "precision-recall scatter",
    ]
    for _, data in images:
        assert base64.b64decode(data).startswith(PNG)
    # Self-contained: nothing is fetched from elsewhere.
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert (
        page.count("<table>") == 1 + 2 + 2 + 2
    )  # leaderboard, per dataset ×2, per entity ×2, datasets+timing
    # Names are escaped, never interpreted.
    assert "&lt;b&gt;lex&lt;/b&gt;" in page and "<b>lex</b>" not in page
    assert "<title>My &lt;benchmark&gt;</title>" in page
    assert "split &amp; seed 42" in page and "<li>a &amp; b</li>" in page


def test_leaderboard_row_of_the_page() -> None:
    page = render_html(_board())
    first = re.search(r"<tbody><tr class=\"best\">(.*?)</tr>", page)
    assert first is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", first.group(1))
    # model: 90.00 on A only; lex: mean(50, 70) = 60.00 on both.
    assert cells[:3] == ["1", "model", "90.00"]
    assert cells[-1] == "1/2"
    assert '<span class="muted">0</span>' in first.group(1)  # same rank under strict
