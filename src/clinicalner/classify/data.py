"""Labelled texts and predictions on disk: JSONL or TSV, validated line by line.

A classification corpus holds ``id``, ``text``, ``label`` (absent or empty for texts to
classify) and optionally ``language``. A prediction file holds no text (it is PHI and the
gold file has it): ``id``, ``label``, one ``p_<class>`` column per class, ``language``,
``seen_language`` (whether the classifier saw that language in training) and ``flag``
(how the prediction was obtained when not the normal way, e.g. ``no_logprobs``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clinicalner.atomic import atomic_write
from clinicalner.errors import CorpusError

FORMATS = ("jsonl", "tsv")


@dataclass(frozen=True)
class LabelledText:
    """One text to classify; ``label`` is None for unlabelled input."""

    id: str
    text: str
    label: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class TextPrediction:
    """A classifier's answer for one text: the chosen label and a probability per class."""

    id: str
    label: str
    probabilities: dict[str, float] = field(default_factory=dict)
    language: str | None = None
    seen_language: bool | None = None
    flag: str = ""


def text_format(path: str | Path) -> str:
    """``jsonl`` or ``tsv`` from the suffix (``.json`` and ``.jsonl`` read as JSON lines)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".tsv", ".txt", ".csv"):
        return "tsv"
    raise CorpusError(f"unknown suffix {suffix!r}: use .jsonl or .tsv", path)


def _rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    """(line number, record) pairs of a JSONL or TSV file (TSV: a header row names the columns)."""
    if not path.is_file():
        raise CorpusError("no such file", path)
    if text_format(path) == "jsonl":
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as e:
                    raise CorpusError(f"not a JSON object ({e.msg})", path, n) from None
                if not isinstance(record, dict):
                    raise CorpusError("not a JSON object", path, n)
                yield n, record
        return
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        for n, row in enumerate(reader, 2):
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise CorpusError(f"{len(row)} columns, the header has {len(header)}", path, n)
            yield n, dict(zip(header, row, strict=True))


def _field(record: dict[str, object], key: str, path: Path, line: int, required: bool) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise CorpusError(f"no {key!r}", path, line)
        return None
    if not isinstance(value, (str, int)):
        raise CorpusError(f"{key!r} must be a string", path, line)
    return str(value)


def read_texts(path: str | Path, require_labels: bool = False) -> list[LabelledText]:
    """The texts of a JSONL or TSV file; a missing id or text, or a repeated id, is an error."""
    path = Path(path)
    out: list[LabelledText] = []
    seen: dict[str, int] = {}
    for n, record in _rows(path):
        doc_id = _field(record, "id", path, n, True)
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise CorpusError("no 'text' (or it is empty)", path, n)
        label = _field(record, "label", path, n, require_labels)
        assert doc_id is not None
        if doc_id in seen:
            raise CorpusError(f"id {doc_id!r} repeats line {seen[doc_id]}", path, n)
        seen[doc_id] = n
        out.append(LabelledText(doc_id, text, label, _field(record, "language", path, n, False)))
    if not out:
        raise CorpusError("no texts", path)
    return out


def read_many(paths: Sequence[str | Path], require_labels: bool = False) -> list[list[LabelledText]]:
    return [read_texts(p, require_labels) for p in paths]


def _prob_columns(predictions: Sequence[TextPrediction]) -> list[str]:
    classes: dict[str, None] = {}
    for p in predictions:
        classes.update(dict.fromkeys(p.probabilities))
    return list(classes)


def write_predictions(path: str | Path, predictions: Sequence[TextPrediction]) -> Path:
    """Write predictions atomically, as TSV or JSONL by the suffix."""
    path = Path(path)
    fmt = text_format(path)
    classes = _prob_columns(predictions)
    buf = io.StringIO()
    if fmt == "jsonl":
        for p in predictions:
            record = {
                "id": p.id,
                "label": p.label,
                "probabilities": {c: round(v, 6) for c, v in p.probabilities.items()},
                "language": p.language,
                "seen_language": p.seen_language,
                "flag": p.flag,
            }
            buf.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writerow(["id", "label", *(f"p_{c}" for c in classes), "language", "seen_language", "flag"])
        for p in predictions:
            seen = "" if p.seen_language is None else str(int(p.seen_language))
            probs = [f"{p.probabilities[c]:.6f}" if c in p.probabilities else "" for c in classes]
            writer.writerow([p.id, p.label, *probs, p.language or "", seen, p.flag])
    with atomic_write(path) as f:
        f.write(buf.getvalue())
    return path


def read_predictions(path: str | Path) -> list[TextPrediction]:
    """Predictions written by :func:`write_predictions` (or by hand: ``id`` and ``label`` suffice)."""
    path = Path(path)
    out: list[TextPrediction] = []
    seen: set[str] = set()
    for n, record in _rows(path):
        doc_id = _field(record, "id", path, n, True)
        label = _field(record, "label", path, n, True)
        assert doc_id is not None and label is not None
        if doc_id in seen:
            raise CorpusError(f"id {doc_id!r} predicted twice", path, n)
        seen.add(doc_id)
        raw = record.get("probabilities")
        if raw is None:
            raw = {k[2:]: v for k, v in record.items() if k.startswith("p_") and v not in ("", None)}
        if not isinstance(raw, dict):
            raise CorpusError("'probabilities' must be an object", path, n)
        probs: dict[str, float] = {}
        for cls, value in raw.items():
            try:
                probs[str(cls)] = float(value)
            except (TypeError, ValueError):
                raise CorpusError(f"probability of {cls!r} is not a number", path, n) from None
            if not (0.0 <= probs[str(cls)] <= 1.0) or math.isnan(probs[str(cls)]):
                raise CorpusError(f"probability of {cls!r} is outside [0, 1]", path, n)
        seen_raw = record.get("seen_language")
        seen_language = None if seen_raw in (None, "") else seen_raw in (True, 1, "1", "true", "True")
        flag = record.get("flag") or ""
        out.append(
            TextPrediction(
                doc_id,
                label,
                probs,
                _field(record, "language", path, n, False),
                seen_language,
                str(flag),
            )
        )
    if not out:
        raise CorpusError("no predictions", path)
    return out
