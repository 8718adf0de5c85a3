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
            except RecursionError:
                problems.report(CorpusError("JSON nested too deeply to be a document", path, no))
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
    """A Document from its JSON object; bad spans go to ``problems`` (raise without one).

    Every field's type is checked (:func:`check_fields`): a value of the wrong type is an
    error naming the line and the field, never coerced (``13.7`` is not offset 13, ``true`` is
    not 1, ``"label": null`` is not the label ``"None"``, ``"annotated_labels": "SYMPTOM"`` is
    not the letters S, Y, M...).
    """
    check_fields(obj, path, line, spans=False)
    labels = obj.get("annotated_labels")
    doc = Document(
        str(obj["id"]),
        obj["text"],
        [],
        obj.get("language"),
        frozenset(labels) if labels is not None else None,
        dict(obj.get("metadata") or {}),
    )
    spans: list[Span] = []
    for k, s in enumerate(obj.get("spans") or []):
        try:
            _check_span(s, f"spans[{k}]", _bad(path, line))
            spans.append(doc.check_span(_span(s), str(path) if path else None, line))
        except CorpusError as err:
            if problems is None:
                raise
            problems.report(err)
    doc.spans = spans
    return doc


def _span(s: dict[str, Any]) -> Span:
    """A span from its object, once :func:`_check_span` found every field of the right type."""
    frags = s.get("fragments")
    return make_span(
        s["start"],
        s["end"],
        s["label"],
        s.get("text") or "",
        None if s.get("score") is None else float(s["score"]),
        [(a, b) for a, b in frags] if frags else None,
    )


# ---------------------------------------------------------------------------------------------
# Field types: one validator, so that no reader downstream meets a number where it expects a list.


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number"
    )


# metadata keys the readers and writers use, and what each must hold
_META_TYPES: dict[str, tuple[str, Any]] = {
    "folder": ("a string", lambda v: isinstance(v, str)),
    "split": ("a string", lambda v: isinstance(v, str)),
    "source": ("a string", lambda v: isinstance(v, str)),
    "has_text": ("true or false", lambda v: isinstance(v, bool)),
    "bom": ("true or false", lambda v: isinstance(v, bool)),
    "title_end": ("an integer", _is_int),
}


def _bad(path: Path | str | None, line: int | None) -> Any:
    def bad(field: str, want: str, value: Any) -> CorpusError:
        return CorpusError(f"field {field!r} must be {want}, not {_type_name(value)}", path, line)

    return bad


def check_fields(
    obj: Any, path: Path | str | None = None, line: int | None = None, spans: bool = True
) -> None:
    """Raise :class:`CorpusError` naming the line and the field when a value has the wrong type.

    ``null`` stands for "absent" in every optional field. ``spans=False`` checks only that
    ``spans`` is an array, leaving each span to the caller (lenient reading skips one bad span,
    not its document).
    """
    bad = _bad(path, line)

    if not isinstance(obj, dict):
        raise CorpusError(f"a line must hold a JSON object, not {_type_name(obj)}", path, line)
    if not (isinstance(obj.get("id"), str) or _is_int(obj.get("id"))):
        raise bad("id", "a string (or an integer)", obj.get("id"))
    if not isinstance(obj.get("text"), str):
        raise bad("text", "a string", obj.get("text"))
    if obj.get("language") is not None and not isinstance(obj["language"], str):
        raise bad("language", "a string or null", obj["language"])
    if obj.get("annotated_labels") is not None and not _is_str_list(obj["annotated_labels"]):
        raise bad("annotated_labels", "an array of strings or null", obj["annotated_labels"])
    meta = obj.get("metadata")
    if meta is not None:
        if not isinstance(meta, dict):
            raise bad("metadata", "an object or null", meta)
        _check_metadata(meta, bad)
    listed = obj.get("spans")
    if listed is None:
        return
    if not isinstance(listed, list):
        raise bad("spans", "an array of span objects or null", listed)
    for k, s in enumerate(listed if spans else ()):
        _check_span(s, f"spans[{k}]", bad)


def _check_span(s: Any, where: str, bad: Any) -> None:
    if not isinstance(s, dict):
        raise bad(where, "an object with 'start', 'end' and 'label'", s)
    for key in ("start", "end"):
        if not _is_int(s.get(key)):
            raise bad(f"{where}.{key}", "an integer", s.get(key))
    if not isinstance(s.get("label"), str):
        raise bad(f"{where}.label", "a string", s.get("label"))
    if s.get("text") is not None and not isinstance(s["text"], str):
        raise bad(f"{where}.text", "a string or null", s["text"])
    if s.get("score") is not None and not _is_number(s["score"]):
        raise bad(f"{where}.score", "a number or null", s["score"])
    frags = s.get("fragments")
    if frags is not None and not (
        isinstance(frags, list)
        and all(isinstance(f, list) and len(f) == 2 and all(_is_int(x) for x in f) for f in frags)
    ):
        raise bad(f"{where}.fragments", "an array of [start, end] integer pairs or null", frags)


def _check_metadata(meta: dict[str, Any], bad: Any) -> None:
    for key, (want, ok) in _META_TYPES.items():
        if meta.get(key) is not None and not ok(meta[key]):
            raise bad(f"metadata.{key}", want, meta[key])
    brat = meta.get("brat")
    if brat is not None:
        if not isinstance(brat, dict):
            raise bad("metadata.brat", "an object", brat)
        for kind, value in brat.items():
            if kind == "ids":
                if not (isinstance(value, dict) and all(_is_int(i) for i in value.values())):
                    raise bad("metadata.brat.ids", "an object of integers", value)
            elif kind == "keys":
                if not (isinstance(value, dict) and all(isinstance(v, list) for v in value.values())):
                    raise bad("metadata.brat.keys", "an object of arrays", value)
            elif not _is_str_list(value):
                raise bad(f"metadata.brat.{kind}", "an array of strings (annotation lines)", value)
    pub = meta.get("pubtator")
    if pub is not None:
        if not isinstance(pub, dict):
            raise bad("metadata.pubtator", "an object", pub)
        ids = pub.get("ids")
        if ids is not None and not (isinstance(ids, dict) and all(_is_str_list(v) for v in ids.values())):
            raise bad("metadata.pubtator.ids", "an object of arrays of strings", ids)
        rel = pub.get("relations")
        if rel is not None and not (isinstance(rel, list) and all(_is_str_list(r) for r in rel)):
            raise bad("metadata.pubtator.relations", "an array of arrays of strings", rel)


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
