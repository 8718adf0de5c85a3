"""Scoring across label sets: map predicted labels to the gold's before scoring.

A DISEASE / SYMPTOM / PROCEDURE model scored against a corpus that labels disorders and
symptoms together (E3C's CLINENTITY, SiMoNERo's DISO) needs its labels mapped first:
``DISEASE=DISO SYMPTOM=DISO PROCEDURE=PROC``. Three rules make the number fair:

- a predicted label absent from the map is kept unchanged; ``PRED=`` (nothing after ``=``)
  drops that label's predictions (E3C has no procedures: ``PROCEDURE=``);
- two predictions that become identical (a DISEASE and a SYMPTOM on the same words, both now
  DISO) count once, keeping the higher confidence: the model said one thing about those words;
- a gold type that no mapped prediction label can be (SiMoNERo's ANAT and CHEM for our
  model) is not scored: the model cannot produce it, so its recall of 0 would measure the
  label sets, not the model. Those types are named, with their span counts, in the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from clinicalner.document import Document, Span


def parse_label_map(items: Mapping[str, str | None] | Sequence[str] | None) -> dict[str, str | None]:
    """``["DISEASE=DISO", "PROCEDURE="]`` (or a dict) as ``{"DISEASE": "DISO", "PROCEDURE": None}``.

    A malformed item, or one label mapped to two targets, is a ``ValueError`` naming it.
    """
    if not items:
        return {}
    pairs: list[tuple[str, str | None]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), (str(v) if v else None)) for k, v in items.items()]
    else:
        for item in items:
            pred, sep, gold = item.partition("=")
            if not sep or not pred.strip():
                raise ValueError(f"--label-map {item!r}: expected PRED=GOLD (PRED= drops that label)")
            pairs.append((pred.strip(), gold.strip() or None))
    out: dict[str, str | None] = {}
    for pred, gold in pairs:
        if pred in out and out[pred] != gold:
            raise ValueError(f"--label-map: {pred} is mapped to both {out[pred]} and {gold}")
        out[pred] = gold
    return out


@dataclass
class LabelMapResult:
    """The mapped predictions and what mapping did to them (counts for the report)."""

    documents: list[Document]
    mapped: int = 0
    dropped: int = 0
    merged: int = 0
    produced: frozenset[str] = frozenset()
    not_produced: dict[str, int] = field(default_factory=dict)

    def stats(self) -> dict[str, int]:
        return {
            "label_map_mapped_spans": self.mapped,
            "label_map_dropped_spans": self.dropped,
            "label_map_merged_spans": self.merged,
            "gold_spans_of_types_not_produced": sum(self.not_produced.values()),
        }

    def warnings(self) -> list[str]:
        out = []
        if self.merged:
            out.append(
                f"--label-map: {self.merged} predictions became identical to another once mapped: counted once"
            )
        if self.not_produced:
            listed = ", ".join(f"{lab} ({n} spans)" for lab, n in sorted(self.not_produced.items()))
            out.append(
                f"gold types the predictions cannot produce under --label-map, not scored: {listed} "
                f"(the mapped prediction labels are {', '.join(sorted(self.produced)) or 'none'})"
            )
        return out


def map_labels(
    predictions: Iterable[Document], mapping: Mapping[str, str | None], gold: Iterable[Document] = ()
) -> LabelMapResult:
    """Map, drop and merge predicted spans (see the module docstring); find unproducible gold types."""
    result = LabelMapResult([])
    seen_labels: set[str] = set()
    for doc in predictions:
        best: dict[tuple[int, int, str, tuple[tuple[int, int], ...] | None], Span] = {}
        for span in doc.spans:
            label: str | None = span.label
            if span.label in mapping:
                label = mapping[span.label]
                if label is None:
                    result.dropped += 1
                    continue
                if label != span.label:
                    result.mapped += 1
                    span = Span(span.start, span.end, label, span.text, span.score, span.fragments)
            key = (span.start, span.end, span.label, span.fragments)
            old = best.get(key)
            if old is None:
                best[key] = span
                continue
            result.merged += 1
            if (span.score or 0.0) > (old.score or 0.0):
                best[key] = span
        seen_labels.update(s.label for s in best.values())
        mapped_doc = doc.with_spans(best.values())
        if doc.annotated_labels is not None:
            mapped_doc.annotated_labels = frozenset(
                t for lab in doc.annotated_labels if (t := mapping.get(lab, lab)) is not None
            )
        result.documents.append(mapped_doc)
    produced = {t for t in mapping.values() if t is not None} | seen_labels
    result.produced = frozenset(produced)
    missing: Counter[str] = Counter()
    for g in gold:
        missing.update(s.label for s in g.spans if s.label not in produced)
    result.not_produced = dict(missing)
    return result
