"""One span -> one ``NOTE_NLP`` row, and back: the columns' contents in one place.

``term_modifiers`` carries what the CDM has no column for, as ``key=value`` pairs joined by
``;``: ``label=DISEASE;end=42;score=0.9731`` (``end`` is the exclusive end character
offset, ``score`` the tagger's confidence, left out when it has none). :func:`parse_modifiers`
reads it back. ``term_exists`` and ``term_temporal`` are left NULL: the taggers do not assess
negation or time, and NULL says "not assessed" where "Y" would claim it.
"""

from __future__ import annotations

import datetime
from typing import Any

from clinicalner.document import Span
from clinicalner.omop.ddl import LEXICAL_SIZE, MODIFIERS_SIZE, SNIPPET_SIZE


def snippet(text: str, start: int, end: int, size: int = SNIPPET_SIZE) -> str:
    """The span with as much context on each side as fits in ``size`` characters."""
    if end - start >= size:
        return text[start : start + size]
    room = size - (end - start)
    left = min(start, room // 2)
    right = min(len(text) - end, room - left)
    left = min(start, room - right)
    return text[start - left : end + right]


def modifiers(span: Span) -> str:
    """``label=...;end=...;score=...`` (see the module doc)."""
    if any(c in span.label for c in ";="):
        raise ValueError(f"label {span.label!r} contains ';' or '=', which term_modifiers cannot hold")
    parts = [f"label={span.label}", f"end={span.end}"]
    if span.score is not None:
        parts.append(f"score={span.score:.4f}")
    return ";".join(parts)[:MODIFIERS_SIZE]


def parse_modifiers(value: str | None) -> dict[str, str]:
    """``term_modifiers`` back to a dict (pairs without ``=`` are ignored)."""
    out: dict[str, str] = {}
    for part in (value or "").split(";"):
        key, sep, val = part.partition("=")
        if sep:
            out[key.strip()] = val.strip()
    return out


def note_nlp_row(
    note_id: int,
    text: str,
    span: Span,
    nlp_system: str,
    when: datetime.datetime,
    concepts: dict[str, tuple[int, int]],
) -> dict[str, Any]:
    """The ``NOTE_NLP`` row of one span (without ``note_nlp_id``, given at insert time)."""
    concept, source = concepts.get(span.label, (0, 0))
    return {
        "note_id": note_id,
        "section_concept_id": 0,
        "snippet": snippet(text, span.start, span.end),
        "offset": str(span.start),
        "lexical_variant": text[span.start : span.end][:LEXICAL_SIZE],
        "note_nlp_concept_id": concept,
        "note_nlp_source_concept_id": source,
        "nlp_system": nlp_system,
        "nlp_date": when.date(),
        "nlp_datetime": when,
        "term_exists": None,
        "term_temporal": None,
        "term_modifiers": modifiers(span),
    }
