"""Which texts validate a run, and how often each class is seen in training.

DNT's recipe: when no dev set is given, hold out a validation split stratified by label x
language (every language keeps its class balance, a rare language is not left out), and
upsample the positive class (``ADE=3``: each ADE text three times per epoch). Both are
seeded and pure, so a resumed run draws exactly the same split and the same batches.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from clinicalner.classify.data import LabelledText


def stratified_split(
    texts: Sequence[LabelledText], fraction: float, seed: int
) -> tuple[list[LabelledText], list[LabelledText]]:
    """(train, validation): ``fraction`` of every (label, language) group, at least one text
    from a group of two or more, none from a group of one (it could not be trained on)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be between 0 and 1, not {fraction}")
    groups: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
    for i, t in enumerate(texts):
        groups[(t.label, t.language)].append(i)
    rng = np.random.default_rng(seed)
    held: set[int] = set()
    for key in sorted(groups, key=lambda k: (str(k[0]), str(k[1]))):
        idx = groups[key]
        if len(idx) < 2:
            continue
        n = min(len(idx) - 1, max(1, round(fraction * len(idx))))
        held.update(int(i) for i in rng.choice(idx, size=n, replace=False))
    train = [t for i, t in enumerate(texts) if i not in held]
    valid = [t for i, t in enumerate(texts) if i in held]
    return train, valid


def parse_factors(specs: Sequence[str] | Mapping[str, float] | None) -> dict[str, float]:
    """``["ADE=3"]`` (or ``{"ADE": 3}``) to ``{"ADE": 3.0}``; a factor must be positive."""
    if not specs:
        return {}
    items = specs.items() if isinstance(specs, Mapping) else (s.partition("=")[::2] for s in specs)
    out: dict[str, float] = {}
    for label, value in items:
        try:
            factor = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"upsampling {label!r}: {value!r} is not a number (write LABEL=FACTOR)"
            ) from None
        if not label or factor <= 0 or math.isnan(factor):
            raise ValueError(f"upsampling {label!r}={value!r}: write LABEL=FACTOR with a positive factor")
        out[str(label).strip()] = factor
    return out


def epoch_indices(labels: Sequence[str], factors: Mapping[str, float], seed: int, epoch: int) -> np.ndarray:
    """The training texts of one epoch, shuffled: each text of label L ``factors[L]`` times
    (whole copies, plus a seeded sample for the fractional part); deterministic in (seed, epoch)."""
    rng = np.random.default_rng([seed, epoch])
    arr = np.asarray(labels)
    chosen: list[np.ndarray] = []
    for label in sorted(set(labels)):
        idx = np.nonzero(arr == label)[0]
        w = factors.get(label, 1.0)
        whole, frac = math.floor(w), w - math.floor(w)
        chosen.extend([idx] * whole)
        if frac > 0:
            chosen.append(rng.choice(idx, size=max(1, round(frac * idx.size)), replace=False))
    order = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    rng.shuffle(order)
    return order


def length_batches(
    order: np.ndarray, lengths: Sequence[int], batch_size: int, seed: int, epoch: int
) -> list[list[int]]:
    """Batches of similar length (less padding), in a seeded random order."""
    rng = np.random.default_rng([seed, epoch, 1])
    lens = np.asarray(lengths)[order] if len(order) else np.zeros(0, dtype=np.int64)
    batches: list[list[int]] = []
    bucket = batch_size * 32
    for a in range(0, len(order), bucket):
        part = order[a : a + bucket]
        part = part[np.argsort(lens[a : a + bucket], kind="stable")]
        batches.extend(part[b : b + batch_size].tolist() for b in range(0, len(part), batch_size))
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]
