"""What a benchmark run leaves on disk: its scores (:class:`RunResult`) and its predicted spans.

``runs/<tagger>/<dataset>.json`` holds a :class:`RunResult`; ``<dataset>.spans.json`` the
predictions as rows of offsets, label, score and fragments (:func:`span_row`), never note text.
Both carry ``cache_version``: a file of another version is stale and made again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinicalner.document import Span

CACHE_VERSION = 2


@dataclass
class RunResult:
    """One tagger on one dataset: scores, timing and what was counted on the way.

    ``scores[metric][label]`` holds ``{"precision", "recall", "f1"}``; label ``""`` is the
    metric over all labels.
    """

    tagger: str
    dataset: str
    key: dict[str, str]
    scores: dict[str, dict[str, dict[str, float]]]
    timing: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    retagged: bool = True

    def get(self, metric: str, label: str | None = None) -> dict[str, float] | None:
        return self.scores.get(metric, {}).get(label or "")

    def f1(self, metric: str, label: str | None = None) -> float | None:
        s = self.get(metric, label)
        return None if s is None else s["f1"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cache_version": CACHE_VERSION,
            "tagger": self.tagger,
            "dataset": self.dataset,
            "key": self.key,
            "scores": self.scores,
            "timing": self.timing,
            "info": self.info,
            "report": self.report,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        return cls(
            data["tagger"],
            data["dataset"],
            dict(data["key"]),
            data["scores"],
            dict(data.get("timing", {})),
            dict(data.get("info", {})),
            dict(data.get("report", {})),
            cached=True,
            retagged=False,
        )


def extract_scores(report: Any, labels: Iterable[str]) -> dict[str, dict[str, dict[str, float]]]:
    """P/R/F1 of every metric the report has, overall (``""``) and per label (a label neither
    side has is absent from the report's label breakdown, and so from the result).

    All metrics are kept, not only the leaderboard's, so that another ``rank_by`` or
    ``compare`` reuses cached runs as they are. A metric the data cannot give (the token
    metrics on gold without texts: ``not_computable``, NaN numbers) is left out: NaN is not
    JSON and would poison every mean; the leaderboard shows it as n/a.
    """
    per_label = report.breakdowns.get("label", {})
    out: dict[str, dict[str, dict[str, float]]] = {}
    for metric, overall in report.metrics.items():
        if not overall.computable:
            continue
        found = [("", overall)]
        found += [(label, per_label[label][metric]) for label in labels if metric in per_label.get(label, {})]
        out[metric] = {
            label: {"precision": float(m.precision), "recall": float(m.recall), "f1": float(m.f1)}
            for label, m in found
        }
    return out


def span_row(s: Span) -> list[Any]:
    """A span as a compact JSON row: start, end, label[, score[, fragments]]."""
    row: list[Any] = [s.start, s.end, s.label]
    if s.score is not None or s.fragments:
        row.append(s.score)
    if s.fragments:
        row.append([list(f) for f in s.fragments])
    return row


def row_span(row: Sequence[Any], text: str) -> Span:
    """The span a :func:`span_row` row stands for, its surface taken from ``text``."""
    start, end, label = int(row[0]), int(row[1]), str(row[2])
    score = row[3] if len(row) > 3 else None
    fragments = tuple((int(a), int(b)) for a, b in row[4]) if len(row) > 4 and row[4] else None
    return Span(start, end, label, "", score, fragments).with_text(text)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when it is missing, unreadable or not an object (stale)."""
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
