"""Documents to model inputs: one tokenizer pass per document, then windows of subwords.

The whole document is tokenised once (the fast tokenizer's Rust backend, in parallel
across documents) and subwords are aligned to our words by character offsets. Windows are
then cut from the subword sequence, so a long note costs one tokenisation however many
windows it needs, and every window's subwords map back to exact characters.

No torch here: training and tagging turn these arrays into tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clinicalner.document import Document


@dataclass
class EncodedDocument:
    """A document's subwords aligned to its words.

    ``sub_word[i]`` is the word subword ``i`` belongs to (-1: none, e.g. a zero-width
    piece). ``sub_first[i]`` is True for the subword that carries its word's tag. A word
    with no subword of its own (the tokenizer merged it into the previous word's piece,
    e.g. ``/dl`` after ``mg``) has ``word_shared`` True and ``word_sub`` pointing at the
    covering piece: when tagging it continues the current span, it never starts one.
    ``word_sub`` is -1 for a word no subword covers (it is always ``O``).
    """

    doc: Document
    words: np.ndarray  # (W, 2) int64 char offsets
    ids: np.ndarray  # (N,) int64 subword ids, no special tokens
    offsets: np.ndarray  # (N, 2)
    sub_word: np.ndarray  # (N,) int64
    sub_first: np.ndarray  # (N,) bool
    word_sub: np.ndarray  # (W,) int64
    word_shared: np.ndarray  # (W,) bool

    @property
    def n_subwords(self) -> int:
        return int(self.ids.shape[0])


def backend_tokenizer(tokenizer: Any) -> Any:
    """The Rust tokenizer without truncation, padding or special tokens: we cut windows ourselves."""
    backend = tokenizer.backend_tokenizer
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(backend.to_str())
    backend.no_truncation()
    backend.no_padding()
    return backend


def duplicate_pieces(offsets: np.ndarray) -> np.ndarray:
    """(N,) True for a piece with exactly the offsets of the next one.

    Of a run of pieces with identical offsets (a bare "▁" before "(" or an emoji, the byte
    pieces of one emoji) only the last carries the word: the others hold no content of their
    own, so they never carry a tag, in training or tagging.
    """
    dup = np.zeros(offsets.shape[0], dtype=bool)
    if offsets.shape[0] > 1:
        dup[:-1] = (offsets[:-1, 0] == offsets[1:, 0]) & (offsets[:-1, 1] == offsets[1:, 1])
    return dup


def align(offsets: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Subword/word alignment from character offsets; vectorised.

    A subword belongs to the word containing its first non-space character. Pieces with
    empty offsets, or with exactly the offsets of the next piece (SentencePiece byte
    fallback splits one character into several pieces), are never a word's first piece.
    """
    n = offsets.shape[0]
    w = words.shape[0]
    sub_word = np.full(n, -1, dtype=np.int64)
    sub_first = np.zeros(n, dtype=bool)
    word_sub = np.full(w, -1, dtype=np.int64)
    word_shared = np.zeros(w, dtype=bool)
    if n == 0 or w == 0:
        return sub_word, sub_first, word_sub, word_shared
    starts, ends = offsets[:, 0], offsets[:, 1]
    nonempty = ends > starts
    # First word whose end is beyond the piece start: the word the piece starts in, or the
    # next word when the piece starts on whitespace.
    cand = np.searchsorted(words[:, 1], starts, side="right")
    cand_ok = cand < w
    cand_c = np.minimum(cand, w - 1)
    hits = nonempty & cand_ok & (words[cand_c, 0] < ends)
    sub_word[hits] = cand_c[hits]
    dup = duplicate_pieces(offsets)
    # A word's tag goes on its earliest piece that has content of its own.
    idx = np.nonzero(hits & ~dup)[0]
    wids = sub_word[idx]
    _, keep = np.unique(wids, return_index=True)
    idx = idx[keep]
    sub_first[idx] = True
    word_sub[sub_word[idx]] = idx
    # Words with no own piece: covered by a piece that started in an earlier word.
    missing = np.nonzero(word_sub < 0)[0]
    if missing.size:
        ws = words[missing, 0]
        pos = np.searchsorted(starts, ws, side="right") - 1
        ok = (pos >= 0) & (ends[np.maximum(pos, 0)] > ws)
        word_sub[missing[ok]] = pos[ok]
        word_shared[missing[ok]] = True
    return sub_word, sub_first, word_sub, word_shared


def encode_documents(
    docs: Sequence[Document], tokenizer: Any, backend: Any | None = None, words: Sequence[Any] | None = None
) -> list[EncodedDocument]:
    from clinicalner.text.words import word_spans

    backend = backend or backend_tokenizer(tokenizer)
    encs = backend.encode_batch([d.text for d in docs], add_special_tokens=False)
    out = []
    for i, (doc, enc) in enumerate(zip(docs, encs, strict=True)):
        ws = words[i] if words is not None else word_spans(doc.text, doc.language)
        warr = np.asarray(ws, dtype=np.int64).reshape(-1, 2)
        offs = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        ids = np.asarray(enc.ids, dtype=np.int64)
        sw, sf, wsub, wsh = align(offs, warr)
        out.append(EncodedDocument(doc, warr, ids, offs, sw, sf, wsub, wsh))
    return out


#: On CUDA, batches are padded to a multiple of this many subwords (see :func:`padded_length`).
CUDA_PAD_MULTIPLE = 64


def padded_length(n: int, device: str, limit: int | None = None) -> int:
    """The length a batch whose longest row has ``n`` subwords is padded to on ``device``.

    On CUDA, a multiple of 64 (at most ``limit``, the window length, so positions stay
    inside the encoder's embeddings): in bfloat16 PyTorch runs attention through cuDNN, which
    builds (and compiles) an execution plan for each new (batch, length) shape; padding each
    batch to its own longest row makes up to ``limit`` distinct lengths, rounding makes
    ``limit / 64``. The extra positions are masked, so results do not change. What it buys
    is bounded, not large: on an H200 (``benchmarks/bench_gpu.py``, BENCHMARKS.md) the first
    bf16 epoch of a 300-note run still pays about 3.5 s of one-time set-up with or without it,
    and warm throughput was the same within noise. Elsewhere no extra padding: on a CPU every
    padded position costs compute and there is no plan to build.
    """
    if n <= 0 or device.partition(":")[0] != "cuda":
        return n
    rounded = -(-n // CUDA_PAD_MULTIPLE) * CUDA_PAD_MULTIPLE
    if limit is not None:
        rounded = min(rounded, max(limit, n))
    return rounded


def special_ids(tokenizer: Any) -> tuple[int | None, int | None, int]:
    """(prefix, suffix, pad) ids wrapping each window, as the encoder was pretrained."""
    cls = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return cls, sep, int(pad)
