"""The HTML page: self-contained, with the plots embedded and the tables escaped."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from clinicalner.benchmark.html import render_html, write_html
from clinicalner.benchmark.leaderboard import Leaderboard
from clinicalner.benchmark.results import RunResult

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


def test_page_embeds_png_plots_and_the_tables(tmp_path: Path) -> None:
    path = write_html(_board(), tmp_path / "page.html")
    page = path.read_text("utf-8")
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [alt for alt, _ in images] == [
        "per-dataset box plots",
        "per-entity bars",  # one per leaderboard metric
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
    body = re.search(r"<tbody>(.*?)</tbody>", page)
    assert body is not None
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1))]
    # lex: mean(50, 70) = 60.00 on both datasets: ranked. model: 90.00, but on A only: listed
    # below, unranked, with its datasets shown (it would otherwise win on an easier subset).
    assert rows[0][:3] == ["1", "&lt;b&gt;lex&lt;/b&gt;", "60.00"] and rows[0][-1] == "2/2"
    assert rows[1][0] == "—" and rows[1][1].startswith("model <span") and rows[1][2] == "90.00"
    assert rows[1][-1] == "1/2: A"
    assert "not ranked" in page
    first = re.search(r"<tbody><tr class=\"best\">(.*?)</tr>", page)
    assert first is not None and '<span class="muted">0</span>' in first.group(1)  # same rank under strict


def _png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def test_plots_stay_readable_with_ten_taggers_and_do_not_draw_missing_values(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from clinicalner.benchmark import html as page

    taggers = [f"model-{k}-a-rather-long-name/finetuned-on-everything" for k in range(10)]
    labels = ["condition", "drug", "gene", "gene variant", "procedure"]
    runs = {}
    for k, t in enumerate(taggers):
        for d in ("A", "B", "C"):
            if k == 9 and d != "A":
                continue  # one tagger on one dataset only: no gene score
            per = {"": {"precision": 0.5, "recall": 0.5, "f1": 0.5}}
            for label in labels[:3] if d == "A" else labels:
                per[label] = {"precision": 0.6, "recall": 0.4, "f1": k / 10}
            runs[(t, d)] = RunResult(t, d, {}, {"span": per, "strict": per})
    datasets = [{"name": d, "labels": labels[:3] if d == "A" else labels} for d in ("A", "B", "C")]
    board = Leaderboard("ten", taggers, datasets, runs, "span", ("strict",))
    images = [page.entity_bars(board), page.dataset_boxes(board), page.precision_recall(board)]
    for data in images:
        width, height = _png_size(data)
        assert width <= 1200, "wider than the page: the browser would shrink the text"
        assert height < 4000
    figures = []
    monkeypatch.setattr(page, "_png", lambda fig: figures.append(fig) or "")
    page.entity_bars(board, "span")
    (fig,) = figures
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == labels
    gene_variant = panels[3]
    # The partial tagger has no gene-variant score: "n/a" and no bar, never a bar at 0.
    assert len(gene_variant.patches) == 9
    assert [t.get_text() for t in gene_variant.texts].count("n/a") == 1
    assert all(lbl.get_text().count("\n") <= 2 for lbl in panels[0].get_yticklabels())
