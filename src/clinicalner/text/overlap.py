"""Near-duplicate texts, found by shared word 12-grams.

Why this exists: the public clinical corpora reuse the same case reports. Here, 47 of the 60
SpaCCC dev notes reappear (re-tokenised) in MultiClinAI's Spanish train set, and about a quarter
of MultiClinAI's dev documents share their paragraphs with its own train documents (the release
cut one case into per-type documents). Exact text comparison misses all of it (whitespace and
document boundaries differ), so a joint model trained on both would be scored on notes it read.
Word n-gram "shingles" over lower-cased alphanumeric words survive re-tokenisation; two texts
overlap when a large enough share of one's shingles occurs in the other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"\w+")

#: Words per shingle: long enough that shared clinical boilerplate ("the patient was admitted
#: to the ...") rarely matches, short enough to survive a changed paragraph boundary.
SHINGLE_WORDS = 12
#: Share of a text's shingles found in another for the two to count as overlapping.
OVERLAP_THRESHOLD = 0.2


def shingles(text: str, n: int = SHINGLE_WORDS) -> set[int]:
    """Hashes of the text's word n-grams (lower-cased, punctuation ignored).

    A text shorter than ``n`` words has one shingle, itself, so short notes still compare.
    """
    words = _WORD.findall(text.lower())
    if not words:
        return set()
    if len(words) < n:
        return {hash(tuple(words))}
    return {hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)}


def overlapping(
    texts: Sequence[str], others: Sequence[str], threshold: float = OVERLAP_THRESHOLD
) -> list[bool]:
    """For each text, whether more than ``threshold`` of its shingles occur in ``others``."""
    pool: set[int] = set()
    for t in others:
        pool |= shingles(t)
    out = []
    for t in texts:
        s = shingles(t)
        out.append(bool(s) and len(s & pool) / len(s) > threshold)
    return out


def near_duplicate_groups(texts: Sequence[str], threshold: float = OVERLAP_THRESHOLD) -> list[int]:
    """A group number per text: texts that overlap (directly or through others) share one.

    Two texts are joined when the shingles they share are more than ``threshold`` of either
    one's shingles, so a paragraph inside a longer document joins that document. Union-find
    over an index from shingle to texts: linear in the corpus size for real corpora.
    """
    sets = [shingles(t) for t in texts]
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index: dict[int, list[int]] = {}
    for i, s in enumerate(sets):
        for h in s:
            index.setdefault(h, []).append(i)
    for i, s in enumerate(sets):
        shared: dict[int, int] = {}
        for h in s:
            for j in index[h]:
                if j != i:
                    shared[j] = shared.get(j, 0) + 1
        for j, count in shared.items():
            if count / max(1, min(len(s), len(sets[j]))) > threshold:
                parent[find(i)] = find(j)
    roots: dict[int, int] = {}
    return [roots.setdefault(find(i), len(roots)) for i in range(len(texts))]
