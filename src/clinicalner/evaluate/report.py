"""The result of an evaluation and its renderings (JSON, Markdown, a rich terminal table).

Numbers are kept unrounded; only the renderings round (4 decimals, like the official
scorers). Note text is never part of a report: documents appear by id only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write

POLICY = (
    "Documents are paired by id; the scored documents are the union of both sides.",
    "Predictions in a document absent from gold are false positives (official MultiClinAI behaviour), "
    "except for 'multicardioner', which ignores predictions in documents without gold spans.",
    "A gold document without predictions has all its spans missed.",
    "Duplicate predictions (same document, label, start, end) are dropped, first kept, except for "
    "nervaluate_0.1.8_* (which counts each copy) and the token metrics (unaffected).",
    "Duplicate gold spans are kept: each costs recall where the metric is one-to-one.",
    "Overlap is half-open (touching spans do not overlap) except in nervaluate_0.1.8_*, which uses "
    "inclusive ends.",
    "Macro averages are unweighted means over the evaluation's label set (the 'labels' argument, else "
    "the types seen in gold, predictions or annotated_labels); a label absent from both sides scores 0. "
    "In language, folder and document breakdowns without explicit labels, labels absent from both "
    "sides of the group are left out of its averages.",
)


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


@dataclass(frozen=True)
class MetricResult:
    """One metric on one slice of the data."""

    name: str
    precision: float
    recall: float
    f1: float
    counts: dict[str, float | int] = field(default_factory=dict)
    macro_precision: float | None = None
    macro_recall: float | None = None
    macro_f1: float | None = None
    ci: dict[str, tuple[float, float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "counts": dict(self.counts),
        }
        if self.macro_f1 is not None:
            out["macro"] = {
                "precision": self.macro_precision,
                "recall": self.macro_recall,
                "f1": self.macro_f1,
            }
        if self.ci is not None:
            out["ci95"] = {k: list(v) for k, v in self.ci.items()}
        return out


@dataclass
class EvaluationReport:
    """Scores overall and per breakdown; ``report.metric("strict").f1``."""

    metrics: dict[str, MetricResult]
    breakdowns: dict[str, dict[str, dict[str, MetricResult]]]
    sizes: dict[str, dict[str, dict[str, int]]]
    labels: tuple[str, ...]
    stats: dict[str, int]
    settings: dict[str, Any]

    def metric(self, name: str) -> MetricResult:
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"metric {name!r} was not computed; computed: {', '.join(self.metrics)}") from None

    def __getitem__(self, name: str) -> MetricResult:
        return self.metric(name)

    def breakdown(self, kind: str, key: str, name: str) -> MetricResult:
        """One metric on one breakdown group, e.g. ``breakdown("label", "DISEASE", "strict")``."""
        return self.breakdowns[kind][key][name]

    # ------------------------------------------------------------------ renderings

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "breakdowns": {
                kind: {
                    key: {"size": self.sizes[kind][key], **{m: r.to_dict() for m, r in results.items()}}
                    for key, results in groups.items()
                }
                for kind, groups in self.breakdowns.items()
            },
            "labels": list(self.labels),
            "stats": dict(self.stats),
            "settings": dict(self.settings),
            "policy": list(POLICY),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def _overall_rows(self) -> tuple[list[str], list[list[str]]]:
        with_ci = any(r.ci for r in self.metrics.values())
        head = ["metric", "precision", "recall", "F1"]
        if with_ci:
            head.append("F1 95% CI")
        head += ["macro F1", "counts"]
        rows = []
        for name, r in self.metrics.items():
            row = [name, f"{r.precision:.4f}", f"{r.recall:.4f}", f"{r.f1:.4f}"]
            if with_ci:
                row.append(f"{r.ci['f1'][0]:.4f}–{r.ci['f1'][1]:.4f}" if r.ci else "")
            row.append("" if r.macro_f1 is None else f"{r.macro_f1:.4f}")
            row.append(" ".join(f"{k}={_fmt_count(v)}" for k, v in r.counts.items()))
            rows.append(row)
        return head, rows

    def _breakdown_rows(self, kind: str) -> tuple[list[str], list[list[str]]]:
        names = list(self.metrics)
        head = [kind, "gold", "predicted", *(f"{n} F1" for n in names)]
        rows = []
        for key, results in self.breakdowns[kind].items():
            size = self.sizes[kind][key]
            rows.append(
                [key, str(size["gold"]), str(size["predicted"]), *(f"{results[n].f1:.4f}" for n in names)]
            )
        return head, rows

    def to_markdown(self) -> str:
        def table(head: list[str], rows: list[list[str]]) -> list[str]:
            esc = [[c.replace("|", "\\|") for c in r] for r in [head, *rows]]
            lines = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in head) + "|"]
            lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
            return lines

        s = self.stats
        out = [
            "## Evaluation",
            "",
            f"{s['gold_documents']} gold documents, {s['predicted_documents']} predicted documents; "
            f"{s['gold_spans']} gold spans, {s['predicted_spans']} predicted spans; "
            f"labels: {', '.join(self.labels) or '(none)'}.",
            "",
            *table(*self._overall_rows()),
        ]
        for kind in self.breakdowns:
            out += ["", f"### By {kind}", "", *table(*self._breakdown_rows(kind))]
        return "\n".join(out) + "\n"

    def to_rich(self) -> Any:
        """A rich renderable (``rich.console.Group`` of tables) for ``Console().print``."""
        from rich.console import Group
        from rich.table import Table

        def table(title: str, head: list[str], rows: list[list[str]]) -> Table:
            t = Table(title=title, title_justify="left")
            for i, h in enumerate(head):
                t.add_column(h, justify="left" if i == 0 or h == "counts" else "right")
            for r in rows:
                t.add_row(*r)
            return t

        parts = [table("Scores", *self._overall_rows())]
        parts += [table(f"By {kind}", *self._breakdown_rows(kind)) for kind in self.breakdowns]
        return Group(*parts)

    def save(self, path: str | Path) -> Path:
        """Write the report atomically: ``.md`` as Markdown, anything else as JSON."""
        path = Path(path)
        text = self.to_markdown() if path.suffix.lower() in (".md", ".markdown") else self.to_json()
        with atomic_write(path) as f:
            f.write(text)
        return path


def _fmt_count(v: float | int) -> str:
    return str(v) if isinstance(v, int) else f"{v:.4f}"
