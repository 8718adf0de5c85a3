"""Where a tagger goes wrong: an error taxonomy per language and type.

Strict F1 says how often a span is exactly right, not why the others are not. The classes
below are the ones shared-task error analyses use, and each suggests its own fix:

- ``boundary``: a prediction overlaps a gold span of the same type but its edges differ;
  the sub-kind says which edge is longer or shorter (span-edge snapping, post-processing);
- ``type``: same offsets, another type; ``type+boundary``: overlapping, another type and
  other edges (type heads, label confusions in the data);
- ``missed``: a gold span no prediction overlaps (recall);
- ``spurious``: a prediction that overlaps no gold span (precision).

Pairing is one-to-one and on the clean views of :mod:`clinicalner.evaluate.prepare` (a repeated
span counts once, unannotated types are masked as the metrics mask them): exact matches first,
then same offsets with another type, then same-type overlaps, then other-type overlaps, each
step greedy on the largest overlap. Examples are span strings only (capped), never the note
text around them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clinicalner.evaluate.prepare import Prepared

CATEGORIES = ("boundary", "type", "type+boundary", "missed", "spurious")
#: Examples kept per (language, type, category) and characters kept per example string.
EXAMPLES = 3
CAP = 80
UNKNOWN = "(unknown)"


def cap(text: str, limit: int = CAP) -> str:
    """A span string for a report: one line, at most ``limit`` characters."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


@dataclass
class ErrorRow:
    language: str
    label: str
    category: str
    kind: str  # boundary sub-kind ("left longer, right =") or the category again
    count: int
    examples: list[str] = field(default_factory=list)


@dataclass
class ErrorAnalysis:
    """Error counts per (language, type, category, sub-kind), with a few examples each."""

    rows: list[ErrorRow]
    correct: int

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)

    def by_category(self) -> dict[str, int]:
        out = dict.fromkeys(CATEGORIES, 0)
        for r in self.rows:
            out[r.category] += r.count
        return out

    def to_dict(self) -> dict[str, Any]:
        total = max(1, self.total)
        return {
            "correct": self.correct,
            "errors": self.total,
            "by_category": {
                k: {"count": v, "share": round(v / total, 4)} for k, v in self.by_category().items()
            },
            "rows": [
                {
                    "language": r.language,
                    "label": r.label,
                    "category": r.category,
                    "kind": r.kind,
                    "count": r.count,
                    "share": round(r.count / total, 4),
                    "examples": r.examples,
                }
                for r in self.rows
            ],
        }

    def to_markdown(self) -> str:
        total = max(1, self.total)
        out = [
            "### Errors",
            "",
            f"{self.correct:,} exact matches; {self.total:,} errors.",
            "",
            "| category | count | share |",
            "|---|---|---|",
        ]
        out += [f"| {k} | {v:,} | {v / total:.1%} |" for k, v in self.by_category().items()]
        out += [
            "",
            "| language | type | category | kind | count | share | examples |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            ex = "; ".join(e.replace("|", "\\|") for e in r.examples)
            out.append(
                f"| {r.language} | {r.label} | {r.category} | {r.kind} | {r.count:,} | {r.count / total:.1%} | {ex} |"
            )
        return "\n".join(out) + "\n"

    def to_rich(self) -> Any:
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        total = max(1, self.total)
        head = Table(
            title="Errors", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
        )
        for col, just in (("category", "left"), ("count", "right"), ("share", "right")):
            head.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
        for k, v in self.by_category().items():
            head.add_row(k, f"{v:,}", f"{v / total:.1%}")
        rows = Table(
            title="Errors by language and type",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        rows.add_column("lang", no_wrap=True)
        rows.add_column("type", no_wrap=True)
        rows.add_column("error", overflow="fold")
        rows.add_column("n", justify="right", no_wrap=True)
        rows.add_column("share", justify="right", no_wrap=True)
        rows.add_column("e.g.", overflow="fold", max_width=34)
        for r in self.rows:
            kind = r.category if r.kind == r.category else f"{r.category}: {r.kind}"
            rows.add_row(
                r.language,
                r.label,
                kind,
                f"{r.count:,}",
                f"{r.count / total:.1%}",
                r.examples[0] if r.examples else "",
            )
        return Group(Text(f"{self.correct:,} exact matches; {self.total:,} errors."), head, Text(""), rows)


def _edge(p: int, g: int, left: bool) -> str:
    if p == g:
        return "="
    longer = p < g if left else p > g
    return "longer" if longer else "shorter"


def analyse_errors(prep: Prepared) -> ErrorAnalysis:
    """The taxonomy of every error in a prepared evaluation (see the module docstring)."""
    gold, pred = prep.gold_clean, prep.pred_clean
    counts: Counter[tuple[str, str, str, str]] = Counter()
    examples: dict[tuple[str, str, str, str], list[str]] = {}
    correct = 0
    g_order = np.argsort(gold.doc, kind="stable")
    p_order = np.argsort(pred.doc, kind="stable")
    g_bounds = np.searchsorted(gold.doc[g_order], np.arange(prep.n_docs + 1))
    p_bounds = np.searchsorted(pred.doc[p_order], np.arange(prep.n_docs + 1))

    def note(d: int, label: int, category: str, kind: str, example: str) -> None:
        doc = prep.gold_docs[d] or prep.pred_docs[d]
        lang = (doc.language if doc is not None else None) or UNKNOWN
        key = (lang, prep.labels[label], category, kind)
        counts[key] += 1
        kept = examples.setdefault(key, [])
        if len(kept) < EXAMPLES and example and example not in kept:
            kept.append(example)

    for d in range(prep.n_docs):
        text = prep.text(d)
        gi = g_order[g_bounds[d] : g_bounds[d + 1]]
        pi = p_order[p_bounds[d] : p_bounds[d + 1]]
        g = [(int(gold.start[i]), int(gold.end[i]), int(gold.label[i])) for i in gi]
        p = [(int(pred.start[i]), int(pred.end[i]), int(pred.label[i])) for i in pi]
        g_free = set(range(len(g)))
        p_free = set(range(len(p)))

        def s(span: tuple[int, int, int], text: str = text) -> str:
            return f"“{cap(text[span[0] : span[1]])}”" if text else f"[{span[0]}:{span[1]}]"

        exact = {(a, b, lab): k for k, (a, b, lab) in enumerate(g)}
        for k, span in enumerate(p):
            j = exact.get(span)
            if j is not None and j in g_free:
                g_free.discard(j)
                p_free.discard(k)
                correct += 1
        steps = (
            ("type", lambda gs, ps: gs[:2] == ps[:2] and gs[2] != ps[2]),
            ("boundary", lambda gs, ps: gs[2] == ps[2]),
            ("type+boundary", lambda gs, ps: gs[2] != ps[2]),
        )
        for category, fits in steps:
            pairs = []
            for k in p_free:
                for j in g_free:
                    ov = min(p[k][1], g[j][1]) - max(p[k][0], g[j][0])
                    if ov > 0 and fits(g[j], p[k]):
                        pairs.append((-ov, j, k))
            for _, j, k in sorted(pairs):
                if j not in g_free or k not in p_free:
                    continue
                g_free.discard(j)
                p_free.discard(k)
                gs, ps = g[j], p[k]
                kind = category
                if category == "boundary":
                    kind = f"left {_edge(ps[0], gs[0], True)}, right {_edge(ps[1], gs[1], False)}"
                example = f"{s(gs)} → {s(ps)}"
                if category != "boundary":
                    example += f" as {prep.labels[ps[2]]}"
                note(d, gs[2], category, kind, example)
        for j in sorted(g_free):
            note(d, g[j][2], "missed", "missed", s(g[j]))
        for k in sorted(p_free):
            note(d, p[k][2], "spurious", "spurious", s(p[k]))
    order = {c: i for i, c in enumerate(CATEGORIES)}
    rows = [
        ErrorRow(lang, label, cat, kind, n, examples.get((lang, label, cat, kind), []))
        for (lang, label, cat, kind), n in counts.items()
    ]
    rows.sort(key=lambda r: (r.language, r.label, order[r.category], -r.count, r.kind))
    return ErrorAnalysis(rows, correct)
