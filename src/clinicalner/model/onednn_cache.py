"""A bounded oneDNN primitive cache, so that tagging with bfloat16 on a CPU keeps flat memory.

On a CPU with native bfloat16, PyTorch runs the encoder's matrix products through oneDNN, which
builds (JIT-compiles) one "primitive" per matrix shape and keeps it in a process-wide cache of
1,024 entries by default. Tagging pads each batch to its own longest window and packs as many
windows as fit, so almost every batch has a shape of its own, and the cache fills with
primitives that are never used again: measured on the e5-small model (BENCHMARKS.md), resident
memory grew by about 84 KiB per note over the first 10,000 notes, more than a gigabyte before
the cache would start evicting. Reuse that matters happens inside one batch (the twelve layers
share a handful of shapes), so a small cache loses nothing measurable and memory stays flat.

oneDNN reads the capacity from ``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` once, when it creates its
first primitive in the process, and PyTorch does not export the function that changes it later.
:func:`bound_primitive_cache` therefore sets the variable, unless the user already has, before
anything in the process has run a oneDNN operation: the tagger calls it before it loads a
model. A process that has already run bfloat16 matrix products keeps its first capacity.
"""

from __future__ import annotations

import os

ENV = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
CAPACITY = 64
"""Primitives kept: a batch needs about six (attention projections, FFN in and out, the heads)
in float and a few more for reorders, so 64 hold several batches' worth."""


def bound_primitive_cache(capacity: int = CAPACITY) -> bool:
    """Bound oneDNN's primitive cache to ``capacity`` entries unless ``ONEDNN_PRIMITIVE_CACHE_CAPACITY``
    is already set; returns whether this call set it. Effective only before the process's
    first oneDNN primitive (see the module docstring)."""
    if capacity < 0:
        raise ValueError(f"capacity must be >= 0, not {capacity}")
    if os.environ.get(ENV, "").strip():
        return False
    os.environ[ENV] = str(capacity)
    return True
