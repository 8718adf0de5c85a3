"""A self-contained HTML page that shows documents with their entities highlighted.

People check a tagger by reading its output; this page puts predicted and gold spans side by
side, one colour per type, and needs no server or internet to open. Each document is a row
under its own heading (so both columns start on the same line); with gold given, a predicted
span that is not in the gold (same offsets and label) is marked as a false positive and a gold
span that was not predicted as missed. Overlapping spans are all drawn: a stripe per extra
span under the text, and every label, two labels on one span included, written where its
span ends.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from pathlib import Path

from clinicalner.atomic import atomic_write
from clinicalner.document import Document, Span

PALETTE = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#e9d5ff", "#fed7aa", "#a5f3fc", "#fbcfe8")

#: What a span's mark says about it, with gold known: (css class, word in the label, tooltip).
STATUS = {
    "fp": ("fp", "FP", "false positive: not in the gold"),
    "miss": ("miss", "missed", "missed: not predicted"),
    "ok": ("ok", "", "correct"),
}


def _colours(labels: Sequence[str]) -> dict[str, str]:
    return {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(sorted(labels))}


def _key(s: Span) -> tuple[int, int, str, tuple[tuple[int, int], ...] | None]:
    return (s.start, s.end, s.label, s.fragments)


def _pieces(s: Span) -> tuple[tuple[int, int], ...]:
    return s.fragments or ((s.start, s.end),)


def render_spans(
    text: str,
    spans: Sequence[Span],
    colours: dict[str, str],
    status: Sequence[str | None] | None = None,
) -> str:
    """Text with every span drawn, overlaps included; ``status[i]`` (``fp``, ``miss``, ``ok``)
    marks span ``i`` when the gold is known.

    The text is cut at every span boundary; each piece is one ``<mark>`` coloured by the first
    span covering it, with a stripe underneath per further span, and a tooltip naming them all.
    Each span's label follows its last character, so two labels on one span both show.
    """
    marks = list(status) if status is not None else [None] * len(spans)
    cuts = {0, len(text)}
    for s in spans:
        for a, b in _pieces(s):
            cuts.update((a, b))
    bounds = sorted(c for c in cuts if 0 <= c <= len(text))
    order = sorted(range(len(spans)), key=lambda i: (spans[i].start, -spans[i].end, spans[i].label))
    ends: dict[int, list[int]] = {}
    for i in order:
        ends.setdefault(_pieces(spans[i])[-1][1], []).append(i)
    out: list[str] = []
    for a, b in itertools.pairwise(bounds):
        piece = html.escape(text[a:b]).replace("\n", "<br>")
        covering = [i for i in order if any(x <= a and b <= y for x, y in _pieces(spans[i]))]
        if not covering:
            out.append(piece)
        else:
            first = spans[covering[0]]
            stripes = ", ".join(
                f"inset 0 -{3 * (n + 1)}px 0 {colours.get(spans[i].label, '#ccc')}"
                for n, i in enumerate(covering[1:])
            )
            style = f"background:{colours.get(first.label, '#eee')}" + (
                f";box-shadow:{stripes}" if stripes else ""
            )
            classes = sorted({STATUS[m][0] for i in covering if (m := marks[i]) is not None and m != "ok"})
            tip = "; ".join(_describe(spans[i], marks[i]) for i in covering)
            cls = f' class="{" ".join(classes)}"' if classes else ""
            out.append(f'<mark{cls} style="{style}" title="{html.escape(tip)}">{piece}</mark>')
        out.extend(_label(spans[i], marks[i]) for i in ends.get(b, ()))
    return "".join(out)


def _describe(s: Span, mark: str | None) -> str:
    score = f" {s.score:.2f}" if s.score is not None else ""
    return f"{s.label}{score}" + (f" ({STATUS[mark][2]})" if mark is not None else "")


def _label(s: Span, mark: str | None) -> str:
    cls, word, _ = STATUS[mark] if mark is not None else ("", "", "")
    text = html.escape(s.label) + (f" {word}" if word else "")
    return f'<sub class="{cls}">{text}</sub>' if cls and word else f"<sub>{text}</sub>"


def compare(predicted: Sequence[Span], gold: Sequence[Span]) -> tuple[list[str], list[str]]:
    """The mark of each predicted span (``ok`` or ``fp``) and of each gold span (``ok`` or ``miss``):
    exact offsets, fragments and label, as the strict metric matches them."""
    gold_keys = {_key(s) for s in gold}
    pred_keys = {_key(s) for s in predicted}
    return (
        ["ok" if _key(s) in gold_keys else "fp" for s in predicted],
        ["ok" if _key(s) in pred_keys else "miss" for s in gold],
    )


_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;line-height:2.1}
table{border-collapse:collapse;width:100%}td{vertical-align:top;padding:0 1em 1em 0;width:50%}
th.doc{text-align:left;border-top:1px solid #ccc;padding-top:.6em}
mark{padding:0 1px;border-radius:3px}sub{font-size:60%;margin:0 2px;color:#444}
mark.fp{outline:2px dashed #b91c1c}mark.miss{outline:2px solid #b91c1c}
sub.fp,sub.miss{color:#b91c1c;font-weight:bold}"""


def write_html(
    predicted: Sequence[Document],
    path: str | Path,
    gold: Sequence[Document] | None = None,
    title: str = "clinicalner",
) -> Path:
    """Write the page; with ``gold``, each document shows predicted and gold columns with
    false positives and misses marked."""
    labels = sorted(
        {s.label for d in predicted for s in d.spans} | {s.label for d in gold or () for s in d.spans}
    )
    colours = _colours(labels)
    gold_by_id = {d.id: d for d in gold or ()}
    legend = " ".join(f'<mark style="background:{c}">{html.escape(lab)}</mark>' for lab, c in colours.items())
    if gold is not None:
        legend += (
            ' &nbsp; <mark class="fp" style="background:#fff">FP</mark> predicted, not in the gold (same offsets and label)'
            ' &nbsp; <mark class="miss" style="background:#fff">missed</mark> in the gold, not predicted'
        )
    columns = 2 if gold is not None else 1
    rows = []
    if gold is not None:
        rows.append("<tr><th>predicted</th><th>gold</th></tr>")
    for doc in predicted:
        g = gold_by_id.get(doc.id)
        rows.append(f'<tr><th class="doc" colspan="{columns}">{html.escape(doc.id)}</th></tr>')
        if gold is None:
            rows.append(f"<tr><td>{render_spans(doc.text, doc.spans, colours)}</td></tr>")
            continue
        if g is None:
            rows.append(f"<tr><td>{render_spans(doc.text, doc.spans, colours)}</td><td>(no gold)</td></tr>")
            continue
        pred_marks, gold_marks = compare(doc.spans, g.spans)
        rows.append(
            f"<tr><td>{render_spans(doc.text, doc.spans, colours, pred_marks)}</td>"
            f"<td>{render_spans(g.text, g.spans, colours, gold_marks)}</td></tr>"
        )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body><h1>{html.escape(title)}</h1><p>{legend}</p><table>{"".join(rows)}</table></body></html>"""
    path = Path(path)
    with atomic_write(path) as f:
        f.write(page)
    return path
