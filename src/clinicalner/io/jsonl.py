"""JSON Lines: one document per line.

``{"id", "text", "language", "spans": [{"start", "end", "label", "text", "score"?,
"fragments"?}], "annotated_labels", "metadata"}``. Only ``id`` and ``text`` are required.
The file is read line by line (bounded memory) and spans are checked against the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.document import Document, Span, make_span
from clinicalner.errors import CorpusError, Problems
from clinicalner.io.common import BOM, WriteReport, need_text, open_regular


def read_file(path: Path, problems: Problems, language: str | None = None) -> Iterator[Document]:
    path = Path(path)
    offset = 0
    with open_regular(path) as f:
        for no, raw in enumerate(f, 1):
            start = offset
            offset += len(raw)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.report(
                    CorpusError(f"not valid UTF-8 at byte offset {start + e.start} ({e.reason})", path, no)
                )
                continue
            if no == 1:
                line = line.removeprefix(BOM)
            if not line.strip():
                continue
            try:
                doc = from_json(json.loads(line), path, no, problems)
            except json.JSONDecodeError as e:
                problems.report(CorpusError(f"not valid JSON: {e.msg} at column {e.colno}", path, no))
                continue
            except CorpusError as err:
                problems.report(err)
                continue
            if doc.language is None:
                doc.language = language
            doc.metadata.setdefault("source", str(path))
            yield doc


def from_json(
    obj: Any, path: Path | str | None = None, line: int | None = None, problems: Problems | None = None
) -> Document:
    """A Document from its JSON object; bad spans go to ``problems`` (raise without one)."""
    if not isinstance(obj, dict):
        raise CorpusError("a line must hold a JSON object", path, line)
    doc_id, text = obj.get("id"), obj.get("text")
    if not isinstance(doc_id, (str, int)) or not isinstance(text, str):
        raise CorpusError("a document needs a string 'id' and a string 'text'", path, line)
    labels = obj.get("annotated_labels")
    meta = obj.get("metadata") or {}
    if not isinstance(meta, dict):
        raise CorpusError("'metadata' must be an object", path, line)
    doc = Document(
        str(doc_id),
        text,
        [],
        obj.get("language"),
        frozenset(labels) if labels is not None else None,
        dict(meta),
    )
    spans: list[Span] = []
    for k, s in enumerate(obj.get("spans") or []):
        try:
            spans.append(doc.check_span(_span(s, k, path, line), str(path) if path else None, line))
        except CorpusError as err:
            if problems is None:
                raise
            problems.report(err)
    doc.spans = spans
    return doc


def _span(s: Any, k: int, path: Path | str | None, line: int | None) -> Span:
    try:
        frags = s.get("fragments")
        return make_span(
            int(s["start"]),
            int(s["end"]),
            str(s["label"]),
            str(s.get("text") or ""),
            None if s.get("score") is None else float(s["score"]),
            [(int(a), int(b)) for a, b in frags] if frags else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CorpusError(
            f"span {k} is not an object with integer 'start', 'end' and a 'label'", path, line
        ) from None


def to_json(doc: Document) -> dict[str, Any]:
    spans = []
    for s in doc.spans:
        d: dict[str, Any] = {"start": s.start, "end": s.end, "label": s.label, "text": s.text}
        if s.score is not None:
            d["score"] = s.score
        if s.fragments:
            d["fragments"] = [list(f) for f in s.fragments]
        spans.append(d)
    return {
        "id": doc.id,
        "text": doc.text,
        "language": doc.language,
        "spans": spans,
        "annotated_labels": sorted(doc.annotated_labels) if doc.annotated_labels is not None else None,
        "metadata": doc.metadata,
    }


def write_file(documents: Iterable[Document], path: Path) -> WriteReport:
    """One JSON object per document; a document without text (a bare TSV) is refused:
    its spans could not be read back against ``"text": ""``."""
    report = WriteReport(Path(path), "jsonl")
    with atomic_write(path) as f:
        for doc in documents:
            need_text(doc, "JSONL")
            f.write(json.dumps(to_json(doc), ensure_ascii=False, default=str) + "\n")
            report.documents += 1
            report.spans += len(doc.spans)
    return report
