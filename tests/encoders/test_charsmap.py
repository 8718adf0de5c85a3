from __future__ import annotations

import random
import struct

import pytest

from clinicalner.encoders.charsmap import build_precompiled_charsmap

normalizers = pytest.importorskip("tokenizers.normalizers")


def _normalizer(table: dict[str, str]) -> normalizers.Precompiled:
    return normalizers.Precompiled(build_precompiled_charsmap(table))


def test_mapped_characters_are_replaced_and_others_kept() -> None:
    table = {
        "\u00a0": " ",  # no-break space -> space
        "\x01": "",  # control character deleted
        "ﬁ": "fi",  # one character -> two
        "Ａ": "A",  # 3-byte key
        "𝐀": "A",  # 4-byte key
        "é": "e",  # 2-byte key sharing its lead byte with other Latin-1 letters
        "\u2581": " ",
    }
    norm = _normalizer(table)
    for source, target in table.items():
        assert norm.normalize_str(source) == target
    for kept in ["a", "è", "ê", "Ｂ", "𝐁", "😀", "中", " "]:
        assert norm.normalize_str(kept) == kept
    assert norm.normalize_str("Ａ\x01ﬁé\u00a0𝐀") == "Afie A"


def test_random_table_round_trips() -> None:
    rng = random.Random(7)
    pool = [cp for cp in range(0x20, 0x30000) if not 0xD800 <= cp < 0xE000]
    keys = rng.sample(pool, 3000)
    table = {chr(cp): "".join(chr(rng.choice(pool)) for _ in range(rng.randint(0, 3))) for cp in keys}
    norm = _normalizer(table)
    for source, target in table.items():
        assert norm.normalize_str(source) == target
    unmapped = [chr(cp) for cp in rng.sample(pool, 3000) if chr(cp) not in table]
    for char in unmapped:
        assert norm.normalize_str(char) == char


def test_blob_layout() -> None:
    blob = build_precompiled_charsmap({"a": "b"})
    (trie_bytes,) = struct.unpack_from("<I", blob)
    assert trie_bytes % 4 == 0
    assert trie_bytes // 4 >= 256  # every child block stays inside the array
    assert blob[4 + trie_bytes :] == b"b\0"


@pytest.mark.parametrize("table", [{"": "x"}, {"a\0": "x"}, {"a": "x\0"}])
def test_rejects_keys_or_values_with_nul(table: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        build_precompiled_charsmap(table)
