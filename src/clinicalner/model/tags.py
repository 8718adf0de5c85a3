"""The bridge between word-level tag strings (``clinicalner.tag_sequences``) and the tag ids of a head.

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
    from clinicalner.tag_sequences.schemes import spans_to_tags

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


def word_runs(ids: Sequence[int] | np.ndarray, scheme: str, tags: Sequence[str]) -> np.ndarray:
    """The mentions of a tag-id sequence as an (n, 2) array of (first_word, last_word_inclusive).

    Reads exactly as :func:`ids_to_spans` does (the decoder's hot path: one call per document
    and type), but for BIO and IO without a Python loop over words: a mention begins at ``B``
    or at an ``I`` that nothing continues (``I`` after ``O``; in IO any ``I`` after a non-``I``)
    and runs while ``I`` follows. BIOES takes the loop.
    """
    arr = np.asarray(ids, dtype=np.int64)
    n = arr.shape[0]
    if scheme not in ("BIO", "IO") or n == 0:
        if n == 0:
            return np.zeros((0, 2), dtype=np.int64)
        runs = [
            (a, b) for a, b, _, _ in ids_to_spans(arr.tolist(), np.zeros((n, 2), np.int64), "", scheme, tags)
        ]
        return np.asarray(runs, dtype=np.int64).reshape(-1, 2)
    o, i = tags.index("O"), tags.index("I")
    prev = np.empty_like(arr)
    prev[0] = o
    prev[1:] = arr[:-1]
    is_i = arr == i
    opens = (arr == tags.index("B")) | (is_i & (prev == o)) if scheme == "BIO" else is_i & (prev != i)
    starts = np.flatnonzero(opens)
    not_i = np.append(np.flatnonzero(~is_i), n)
    ends = not_i[np.searchsorted(not_i, starts, side="right")] - 1
    return np.stack([starts, ends], axis=1)
