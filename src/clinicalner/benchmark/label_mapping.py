"""Predictions made comparable with a dataset's gold: paired with its documents, labels renamed.

A tagger's labels (``DISEASE``) are rarely a dataset's (``condition``): a label map renames
them, spans of other types are dropped and counted (a wrong map must not silently throw most
spans away), and predicted documents are paired with the gold copies they belong to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from clinicalner.document import Document, Span


def map_predictions(
    docs: Iterable[Document], label_map: Mapping[str, str] | None, labels: Sequence[str]
) -> tuple[list[Document], int]:
    """Rename predicted labels to the dataset's and drop spans of other types.

    Without a map, a label equal to a dataset label ignoring case is renamed to it
    (``Condition`` -> ``condition``). Returns the documents and the number of spans dropped.

    A many-to-one map (``DISEASE`` and ``SYMPTOM`` -> ``condition``) turns one mention that two
    heads found into two identical spans; they are merged into one (the higher score kept, at
    the place of the first), because nervaluate 0.1.8, M42's span metric, counts every copy as
    another correct prediction. Merged copies are not counted in the returned number; see
    :func:`map_predictions_counted` for both counts.
    """
    out, counts = map_predictions_counted(docs, label_map, labels)
    return out, counts["spans_outside_labels"]


def map_predictions_counted(
    docs: Iterable[Document], label_map: Mapping[str, str] | None, labels: Sequence[str]
) -> tuple[list[Document], dict[str, Any]]:
    """:func:`map_predictions` with the counts of spans dropped (``spans_outside_labels``) and of
    duplicates merged (``duplicate_spans_merged``).

    When spans were dropped, ``labels_outside`` counts them per predicted label (``"DISEASE"``,
    or ``"DISEASE->condition"`` when the map renamed it to a label the dataset lacks): the
    leaderboard's notes name them, since a wrong map can silently throw most spans away."""
    wanted = set(labels)
    folded = {label.lower(): label for label in labels}
    dropped = duplicates = 0
    outside: Counter[str] = Counter()
    out = []
    for doc in docs:
        kept: dict[tuple[int, int, str, Any], Span] = {}
        for s in doc.spans:
            label = label_map.get(s.label, s.label) if label_map else s.label
            if label not in wanted:
                label = folded.get(label.lower(), label)
            if label not in wanted:
                dropped += 1
                outside[s.label if label == s.label else f"{s.label}->{label}"] += 1
                continue
            span = s if label == s.label else replace(s, label=label)
            key = (span.start, span.end, label, span.fragments)
            first = kept.get(key)
            if first is None:
                kept[key] = span
                continue
            duplicates += 1
            if (span.score or 0.0) > (first.score or 0.0) or (first.score is None and span.score is not None):
                kept[key] = span  # dict keeps the first one's position
        out.append(doc.with_spans(kept.values()))
    counts: dict[str, Any] = {"spans_outside_labels": dropped, "duplicate_spans_merged": duplicates}
    if outside:
        counts["labels_outside"] = dict(outside.most_common())
    return out, counts


def align_to_gold(
    pred: Iterable[Document], gold: Sequence[Document]
) -> tuple[list[Document], dict[str, int]]:
    """Predictions in the order of the gold documents, one per gold document.

    A predicted document is paired with the gold document of the same id in the same folder:
    the MultiClinAI release keeps every note once per entity-type folder under one id, and each
    copy must get its own folder's predictions, not those of all three. Predictions without a
    folder (a JSONL file) go to every gold copy of their id; when folders exist on both sides
    but none matches, the id's predictions of all folders are pooled. Predicted documents of
    ids the dataset does not score (a file made before empty documents were dropped) are left
    out and counted; a gold document without prediction gets none.
    """
    by_key: dict[tuple[str | None, str], list[Span]] = {}
    by_id: dict[str, list[Span]] = {}
    for doc in pred:
        by_key.setdefault((doc.metadata.get("folder"), doc.id), []).extend(doc.spans)
        by_id.setdefault(doc.id, []).extend(doc.spans)
    gold_ids = {d.id for d in gold}
    extra = sum(1 for i in by_id if i not in gold_ids)
    missing = sum(1 for d in gold if d.id not in by_id)
    out = []
    for doc in gold:
        spans = by_key.get((doc.metadata.get("folder"), doc.id))
        if spans is None:
            spans = by_key.get((None, doc.id))
        if spans is None:
            spans = by_id.get(doc.id, [])
        out.append(doc.with_spans(spans))
    return out, {"prediction_documents_ignored": extra, "prediction_documents_missing": missing}
