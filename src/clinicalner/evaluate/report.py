"""The result of an evaluation and its renderings (JSON, Markdown, a rich terminal table).

Numbers are kept unrounded; only the renderings round (4 decimals, like the official
scorers). Note text is never part of a report: documents appear by id only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinicalner.atomic import atomic_write

if TYPE_CHECKING:
    from clinicalner.errors import CorpusError

POLICY = (
    "Documents are paired by language and id; the scored documents are the union of both sides.",
    "Predictions in a document absent from gold are false positives (official MultiClinAI behaviour), "
    "except for 'multicardioner', which ignores predictions in documents without gold spans.",
    "A gold document without predictions has all its spans missed.",
    "Duplicate predictions (same document, label, start, end; for the clean metrics also the same "
    "fragments) are dropped, first kept, except for nervaluate_0.1.8_* (which counts each copy) and the "
    "token metrics (unaffected).",
    "A parallel corpus may use the same file names in every language; a side that does not know the "
    "language pairs by id, and an id found under several languages is then an error.",
    "Copies of one document (same language and id, same text: per-type folders, a file repeating "
    "another's abstracts) are merged, and spans repeated across copies are counted once.",
    "The clean metrics (strict, relaxed, semeval_*) count an exactly repeated span (gold or predicted) "
    "once, and compare a discontinuous span by its fragments. The official variants keep their peers' "
    "rules: a repeated gold span costs recall (multiclinai_*, multicardioner) and discontinuous "
    "spans are compared by their outer bounds.",
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
    not_computable: str | None = None  # why, when the data cannot give this metric (numbers are NaN)

    @property
    def computable(self) -> bool:
        return self.not_computable is None

    def to_dict(self) -> dict[str, Any]:
        if self.not_computable is not None:
            return {"precision": None, "recall": None, "f1": None, "not_computable": self.not_computable}
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
    warnings: list[str] = field(default_factory=list)
    # The error taxonomy (:class:`clinicalner.evaluate.errors.ErrorAnalysis`) when asked for.
    errors: Any = None

    def note_skipped(self, side: str, skipped: Sequence[CorpusError]) -> None:
        """Record the lines ``--lenient`` skipped on one side (``gold`` or ``predicted``): a count
        in the stats and the first few as warnings, whichever path read the files."""
        from clinicalner.io.common import skipped_lines

        self.stats[f"{side}_problems_skipped"] = len(skipped)
        self.warnings.extend(f"{side}: skipped (--lenient): {ln}" for ln in skipped_lines(skipped))

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
            "warnings": list(self.warnings),
            "settings": dict(self.settings),
            "policy": list(POLICY),
            **({"errors": self.errors.to_dict()} if self.errors is not None else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def _summary_line(self) -> str:
        s = self.stats
        return (
            f"{s['gold_documents']} gold documents, {s['predicted_documents']} predicted documents; "
            f"{s['gold_spans']} gold spans, {s['predicted_spans']} predicted spans; "
            f"labels: {', '.join(self.labels) or '(none)'}."
        )

    def notes(self) -> list[str]:
        """What was dropped, merged, masked or skipped on the way, in words (non-zero counts only)."""
        out = [f"{text}: {self.stats[key]:,}" for key, text in STAT_NOTES if self.stats.get(key)]
        why: dict[str, list[str]] = {}
        for name, r in self.metrics.items():
            if r.not_computable is not None:
                why.setdefault(r.not_computable, []).append(name)
        out += [f"{', '.join(names)} not computable: {reason}" for reason, names in why.items()]
        return out + list(self.warnings)

    def _overall_rows(self) -> tuple[list[str], list[list[str]]]:
        with_ci = any(r.ci for r in self.metrics.values())
        head = ["metric", "precision", "recall", "F1"]
        if with_ci:
            head.append("F1 95% CI")
        head += ["macro F1", "counts"]
        rows = []
        for name, r in self.metrics.items():
            if not r.computable:
                rows.append(
                    [name, NA, NA, NA, *([NA] if with_ci else []), NA, f"not computable: {r.not_computable}"]
                )
                continue
            row = [name, f"{r.precision:.4f}", f"{r.recall:.4f}", f"{r.f1:.4f}"]
            if with_ci:
                row.append(f"{r.ci['f1'][0]:.4f}–{r.ci['f1'][1]:.4f}" if r.ci else "")
            row.append("" if r.macro_f1 is None else f"{r.macro_f1:.4f}")
            row.append(_counts(r))
            rows.append(row)
        return head, rows

    def _breakdown_rows(self, kind: str) -> tuple[list[str], list[list[str]]]:
        names = list(self.metrics)
        head = [kind, "gold", "predicted", *(f"{n} F1" for n in names)]
        rows = []
        for key, results in self.breakdowns[kind].items():
            size = self.sizes[kind][key]
            rows.append([key, str(size["gold"]), str(size["predicted"]), *(_f1(results[n]) for n in names)])
        return head, rows

    def key_metrics(self, limit: int = 4) -> list[str]:
        """The metrics a terminal breakdown shows: all when few, else the usual headline ones."""
        names = [n for n, r in self.metrics.items() if r.computable]
        if len(names) <= limit:
            return names
        preferred = [n for n in KEY_METRICS if n in names]
        rest = [n for n in names if n not in preferred]
        return (preferred + rest)[:limit]

    def to_markdown(self) -> str:
        def table(head: list[str], rows: list[list[str]]) -> list[str]:
            esc = [[c.replace("|", "\\|") for c in r] for r in [head, *rows]]
            lines = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in head) + "|"]
            lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
            return lines

        out = ["## Evaluation", "", self._summary_line(), "", *table(*self._overall_rows())]
        notes = self.notes()
        if notes:
            out += ["", "### Notes", "", *(f"- {n}" for n in notes)]
        for kind in self.breakdowns:
            out += ["", f"### By {kind}", "", *table(*self._breakdown_rows(kind))]
        if self.errors is not None:
            out += ["", self.errors.to_markdown().rstrip("\n")]
        return "\n".join(out) + "\n"

    def to_rich(self) -> Any:
        """A rich renderable for ``Console().print``, readable at 80 columns.

        Scores and counts are two narrow tables (full metric names, numbers never wrapped);
        breakdowns are in long format, one row per group and key metric, so their width does
        not grow with the number of metrics; then the notes (what was dropped, masked, merged
        or skipped) and warnings.
        """
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        def new_table(title: str, caption: str | None = None) -> Table:
            return Table(
                title=title,
                title_justify="left",
                caption=caption,
                caption_justify="left",
                box=box.SIMPLE_HEAD,
                show_edge=False,
                pad_edge=False,
            )

        parts: list[Any] = [Text(self._summary_line())]
        with_ci = any(r.ci for r in self.metrics.values())
        scores = new_table("Scores")
        scores.add_column("metric", no_wrap=True)
        for h in ("P", "R", "F1", *(["F1 95% CI"] if with_ci else []), "macro F1"):
            scores.add_column(h, justify="right", no_wrap=True)
        counts = new_table("Counts")
        counts.add_column("metric", no_wrap=True)
        counts.add_column("counts", overflow="fold")
        for name, r in self.metrics.items():
            if not r.computable:
                scores.add_row(name, NA, NA, NA, *([NA] if with_ci else []), NA)
                counts.add_row(name, "not computable (see the notes)")
                continue
            ci = [f"{r.ci['f1'][0]:.4f}–{r.ci['f1'][1]:.4f}" if r.ci else ""] if with_ci else []
            macro = "" if r.macro_f1 is None else f"{r.macro_f1:.4f}"
            scores.add_row(name, f"{r.precision:.4f}", f"{r.recall:.4f}", f"{r.f1:.4f}", *ci, macro)
            counts.add_row(name, _counts(r))
        parts += [Text(""), scores, Text(""), counts]

        shown = self.key_metrics()
        hidden = [n for n in self.metrics if n not in shown]
        caption = f"+{len(hidden)} metric(s) per group: --json, --markdown, -o report.md" if hidden else None
        for kind, groups in self.breakdowns.items():
            t = new_table(f"By {kind}", caption)
            t.add_column(kind, overflow="fold")
            t.add_column("gold", justify="right", no_wrap=True)
            t.add_column("pred", justify="right", no_wrap=True)
            t.add_column("metric", no_wrap=True)
            for h in ("P", "R", "F1"):
                t.add_column(h, justify="right", no_wrap=True)
            for key, results in groups.items():
                size = self.sizes[kind][key]
                for i, name in enumerate(shown):
                    r = results[name]
                    first = i == 0
                    t.add_row(
                        key if first else "",
                        str(size["gold"]) if first else "",
                        str(size["predicted"]) if first else "",
                        name,
                        f"{r.precision:.4f}",
                        f"{r.recall:.4f}",
                        f"{r.f1:.4f}",
                        end_section=i == len(shown) - 1 and len(shown) > 1,
                    )
            parts += [Text(""), t]
        notes = self.notes()
        if notes:
            parts += [Text(""), Text("Notes", style="italic")]
            parts += [Text(f"- {n}") for n in notes]
        if self.errors is not None:
            parts += [Text(""), self.errors.to_rich()]
        return Group(*parts)

    def save(self, path: str | Path) -> Path:
        """Write the report atomically: ``.json`` as JSON, ``.md`` as Markdown (see :func:`report_format`)."""
        path = Path(path)
        text = self.to_markdown() if report_format(path) == "markdown" else self.to_json()
        with atomic_write(path) as f:
            f.write(text)
        return path


def report_format(path: str | Path) -> str:
    """``json`` or ``markdown``, from the suffix of the file a report is written to.

    Any other suffix is a ``ValueError``: ``rep.html`` used to get JSON, silently.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".md", ".markdown"):
        return "markdown"
    raise ValueError(
        f"{path}: cannot write a report as {suffix or 'a file without a suffix'!r}; "
        "name it .json or .md (Markdown)"
    )


def _fmt_count(v: float | int) -> str:
    return str(v) if isinstance(v, int) else f"{v:.4f}"


def _counts(r: MetricResult) -> str:
    return " ".join(f"{k}={_fmt_count(v)}" for k, v in r.counts.items())


def _f1(r: MetricResult) -> str:
    return f"{r.f1:.4f}" if r.computable else NA


NA = "n/a"

# The metrics a terminal breakdown shows first when many were computed.
KEY_METRICS = ("strict", "relaxed", "multiclinai_char", "semeval_ent_type", "m42_token_micro")

# report.stats keys worth a line when they are not zero, and what they mean.
STAT_NOTES = (
    ("gold_problems_skipped", "problems skipped while reading the gold (--lenient)"),
    ("predicted_problems_skipped", "problems skipped while reading the predictions (--lenient)"),
    ("gold_documents_without_predictions", "gold documents without predictions (their spans are missed)"),
    (
        "predicted_documents_without_gold",
        "predicted documents without gold (false positives; multicardioner ignores them)",
    ),
    ("predicted_spans_unannotated_type", "predictions masked: a type their gold document does not annotate"),
    (
        "predicted_span_duplicates",
        "duplicate predictions (same document, label and offsets) dropped by the official variants",
    ),
    ("predicted_span_repeats", "repeated predictions (same fragments too) counted once by the clean metrics"),
    ("gold_span_repeats", "repeated gold spans (same fragments too) counted once by the clean metrics"),
    ("gold_spans_other_labels", "gold spans of labels not evaluated (--label)"),
    ("predicted_spans_other_labels", "predicted spans of labels not evaluated (--label)"),
    (
        "invalid_predictions_counted_as_false_positives",
        "predicted spans with end <= start or past the end of the text counted as false positives",
    ),
    (
        "documents_with_different_text",
        "WARNING: predicted documents whose text differs from their gold text (their offsets were "
        "scored against the gold text: were the predictions made on another version of the notes?)",
    ),
)
