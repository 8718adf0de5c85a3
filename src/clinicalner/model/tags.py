"""The bridge between word-level tag strings (``clinicalner.tagging``) and the tag ids of a head.

Each entity type has its own head with the scheme's single-type alphabet (``O B I`` for BIO).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from clinicalner.document import Span


def word_tag_ids(
    words: np.ndarray, spans: Sequence[Span], label: str, scheme: str, tags: Sequence[str]
) -> np.ndarray:
    """Tag id per word for one entity type."""
    from clinicalner.tagging.schemes import spans_to_tags

    index = {t: i for i, t in enumerate(tags)}
    strings = spans_to_tags(
        [tuple(w) for w in words.tolist()], [s for s in spans if s.label == label], scheme, label=label
    )
    return np.asarray([index[_bare(t)] for t in strings.tags], dtype=np.int64)


def ids_to_spans(
    ids: Sequence[int], words: np.ndarray, label: str, scheme: str, tags: Sequence[str]
) -> list[tuple[int, int, int, int]]:
    """Spans as (first_word, last_word_inclusive, char_start, char_end) from repaired tag ids."""
    out: list[tuple[int, int, int, int]] = []
    start = -1
    for i, t in enumerate(ids):
        tag = tags[t]
        begins = tag in ("B", "S") or (tag == "I" and start < 0) or (tag == "E" and start < 0)
        if tag == "O":
            if start >= 0:
                out.append((start, i - 1, int(words[start, 0]), int(words[i - 1, 1])))
            start = -1
            continue
        if begins or (scheme == "IO" and start < 0):
            if start >= 0:
                out.append((start, i - 1, int(words[start, 0]), int(words[i - 1, 1])))
            start = i
        if tag in ("E", "S"):
            out.append((start, i, int(words[start, 0]), int(words[i, 1])))
            start = -1
    if start >= 0:
        n = len(ids) - 1
        out.append((start, n, int(words[start, 0]), int(words[n, 1])))
    return out


def _bare(tag: str) -> str:
    """``B-DISEASE`` -> ``B``; ``O`` stays."""
    return tag.split("-", 1)[0] if tag != "O" else "O"
