"""A self-contained HTML page that shows documents with their entities highlighted.

People check a tagger by reading its output; this page puts gold and predicted spans side
by side with one colour per type, and needs no server or internet to open.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from clinicalner.atomic import atomic_write
from clinicalner.document import Document, Span

PALETTE = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#e9d5ff", "#fed7aa", "#a5f3fc", "#fbcfe8")


def _colours(labels: Sequence[str]) -> dict[str, str]:
    return {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(sorted(labels))}


def render_spans(text: str, spans: Sequence[Span], colours: dict[str, str]) -> str:
    """Text with <mark> elements; overlapping spans are shown by their outermost one and
    listed in its tooltip, so nothing is hidden."""
    out: list[str] = []
    pos = 0
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    i = 0
    while i < len(ordered):
        s = ordered[i]
        if s.start < pos:
            i += 1
            continue
        inner = [t for t in ordered[i + 1 :] if t.start < s.end]
        out.append(html.escape(text[pos : s.start]))
        tip = f"{s.label}" + (f" {s.score:.2f}" if s.score is not None else "")
        if inner:
            tip += " | also: " + ", ".join(t.label for t in inner)
        out.append(
            f'<mark style="background:{colours.get(s.label, "#eee")}" title="{html.escape(tip)}">'
            f"{html.escape(text[s.start : s.end])}<sub>{html.escape(s.label)}</sub></mark>"
        )
        pos = s.end
        i += 1
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def write_html(
    predicted: Sequence[Document],
    path: str | Path,
    gold: Sequence[Document] | None = None,
    title: str = "clinicalner",
) -> Path:
    labels = sorted(
        {s.label for d in predicted for s in d.spans} | {s.label for d in gold or () for s in d.spans}
    )
    colours = _colours(labels)
    gold_by_id = {d.id: d for d in gold or ()}
    legend = " ".join(f'<mark style="background:{c}">{html.escape(lab)}</mark>' for lab, c in colours.items())
    rows = []
    for doc in predicted:
        g = gold_by_id.get(doc.id)
        cells = [f"<td><h3>{html.escape(doc.id)}</h3>{render_spans(doc.text, doc.spans, colours)}</td>"]
        if g is not None:
            cells.append(f"<td>{render_spans(g.text, g.spans, colours)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "<tr><th>predicted</th><th>gold</th></tr>" if gold else "<tr><th>predicted</th></tr>"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;line-height:1.7}}td{{vertical-align:top;padding:0 1em 1em 0;width:50%}}
mark{{padding:0 2px;border-radius:3px}}sub{{font-size:60%;margin-left:2px;color:#444}}</style></head>
<body><h1>{html.escape(title)}</h1><p>{legend}</p><table>{head}{"".join(rows)}</table></body></html>"""
    path = Path(path)
    with atomic_write(path) as f:
        f.write(page)
    return path
