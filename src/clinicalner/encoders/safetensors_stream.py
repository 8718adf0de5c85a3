"""Write a float32 ``.safetensors`` file tensor by tensor, chunk by chunk.

``safetensors.numpy.save_file`` first turns every array into a ``bytes`` copy, so
saving a 470 MB encoder needs the weights twice in memory. The format is a
length-prefixed JSON header followed by the raw little-endian data, which we can
stream: the header only needs each tensor's shape, known before any data exists.
Dequantised weights therefore go from the source file to the disk in bounded memory.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """A tensor to write: ``produce`` yields float32 chunks whose sizes sum to ``prod(shape)``."""

    name: str
    shape: tuple[int, ...]
    produce: Callable[[], Iterable[np.ndarray]]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * 4


def write_safetensors(
    path: str | Path,
    tensors: list[TensorSpec],
    metadata: dict[str, str] | None = None,
    on_tensor: Callable[[TensorSpec], None] | None = None,
) -> None:
    """Write ``tensors`` (in the given order) to ``path``; ``on_tensor`` is called after each one."""
    header: dict[str, object] = {"__metadata__": {"format": "pt", **(metadata or {})}}
    offset = 0
    for spec in tensors:
        if spec.name in header:
            raise ValueError(f"duplicate tensor name {spec.name!r}")
        header[spec.name] = {
            "dtype": "F32",
            "shape": list(spec.shape),
            "data_offsets": [offset, offset + spec.nbytes],
        }
        offset += spec.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the data buffer starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for spec in tensors:
            written = 0
            for chunk in _as_float32(spec.produce()):
                f.write(memoryview(chunk).cast("B"))
                written += chunk.nbytes
            if written != spec.nbytes:
                raise ValueError(f"tensor {spec.name!r}: produced {written} bytes, expected {spec.nbytes}")
            if on_tensor is not None:
                on_tensor(spec)


def _as_float32(chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    for chunk in chunks:
        yield np.ascontiguousarray(chunk, dtype="<f4").reshape(-1)
