"""Bootstrap confidence intervals over documents, without re-scoring anything.

Every metric is a function of per-document count vectors, so a resample of documents is a
vector of multiplicities ``w`` (how many times each document was drawn) and its counts are
``w @ counts``. A block of resamples is one matrix product; the metric's summariser then runs
on all of them at once. Documents, not spans, are resampled because spans of one document
are not independent.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

Array = np.ndarray

LEVEL = 0.95
_BLOCK_CELLS = 4_000_000  # resamples x documents held in memory at once


def resample_indices(n_docs: int, n_resamples: int, seed: int, stream: int = 0) -> Iterator[Array]:
    """Blocks of resamples, each row the drawn document indices; deterministic in (seed, stream).

    ``stream`` separates independent draws (one per breakdown group) under one seed.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))
    block = max(1, min(n_resamples, _BLOCK_CELLS // max(n_docs, 1)))
    done = 0
    while done < n_resamples:
        b = min(block, n_resamples - done)
        yield rng.integers(0, n_docs, size=(b, n_docs)) if n_docs else np.zeros((b, 0), dtype=np.int64)
        done += b


def multiplicities(indices: Array, n_docs: int) -> Array:
    """(resamples, documents) matrix of how often each document was drawn."""
    b = indices.shape[0]
    flat = (indices + (np.arange(b) * n_docs)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n_docs).reshape(b, n_docs).astype(np.float64)


def resampled_counts(table: Array, weights: Array) -> Array:
    """Counts of every resample: ``weights @ table`` keeping the (labels, fields) shape."""
    n = table.shape[0]
    flat = table.reshape(n, int(np.prod(table.shape[1:], dtype=np.int64)))
    return (weights @ flat).reshape((weights.shape[0], *table.shape[1:]))


def interval(samples: Array, level: float = LEVEL) -> tuple[Array, Array]:
    """Percentile interval along the first axis."""
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail], axis=0)
    return lo, hi
