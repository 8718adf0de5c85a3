"""The validation split: carved from the training documents, never from dev.

Every choice a run makes (the epoch it keeps, when it stops) is made on these documents, so
the dev sets stay a measurement. The split is seeded and by document, and near-duplicate
documents (the same case report in two corpora, or one case cut into several documents) fall
on the same side: otherwise validation would score notes the model trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from clinicalner.text.overlap import near_duplicate_groups

#: Below this many documents a corpus gives none to validation: a handful of notes is all the
#: training it has, and a validation score on one or two notes would choose nothing.
MIN_DOCUMENTS = 10


def validation_split(
    texts: Sequence[str], sources: Sequence[int], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Indices of (train, validation) documents.

    About ``fraction`` of each source corpus goes to validation (rounded, none from a corpus of
    fewer than :data:`MIN_DOCUMENTS`), whole near-duplicate groups at a time, in a seeded order.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"the validation fraction must be in [0, 1), not {fraction}")
    n = len(texts)
    if fraction == 0 or n == 0:
        return list(range(n)), []
    per_source: dict[int, int] = {}
    for s in sources:
        per_source[s] = per_source.get(s, 0) + 1
    target = {s: (round(fraction * c) if c >= MIN_DOCUMENTS else 0) for s, c in per_source.items()}
    groups = near_duplicate_groups(texts)
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    taken = dict.fromkeys(per_source, 0)
    val: list[int] = []
    rng = np.random.default_rng([seed, 7])
    for g in rng.permutation(len(members)).tolist():
        idx = members[g]
        need: dict[int, int] = {}
        for i in idx:
            need[sources[i]] = need.get(sources[i], 0) + 1
        if all(taken[s] + k <= target[s] for s, k in need.items()):
            val.extend(idx)
            for s, k in need.items():
                taken[s] += k
        if all(taken[s] >= target[s] for s in target):
            break
    chosen = set(val)
    return [i for i in range(n) if i not in chosen], sorted(val)
