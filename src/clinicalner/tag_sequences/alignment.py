"""Subword <-> word alignment from a tokenizer's offset mapping.

The model reads subwords, tags are written over words (:mod:`clinicalner.text.words`). The
only bridge used is the character offsets a fast tokenizer returns (``return_offsets_mapping``),
never the tokenizer's own idea of words, so any Hugging Face tokenizer works the same way.

Offsets conventions handled:

- ``(0, 0)`` marks a special token (``<s>``, ``</s>``, padding): word ``-1``.
- A subword whose characters are all outside words (a bare space, with ``trim_offsets`` off)
  belongs to no word: word ``-1``.
- *Shared* subwords: SentencePiece tokenizers (XLM-R) emit a bare ``"▁"`` piece with empty
  offsets or with the same offsets as the piece after it, and byte-fallback pieces of one
  character (an emoji as four ``<0x..>`` bytes) all carry that character's offsets. Of a run
  of subwords with identical offsets only the *last* is kept (for ``"▁" "("`` that is the real
  piece; for byte pieces any one is as good), and empty or overlapping ones are dropped. Shared
  subwords get no training label and no say in word scores, and since scores are read per word
  they never break a mention: they simply extend whatever their word is tagged.
- A subword that straddles two words (rare: ``5º`` when the words are ``5`` and ``ºC``) belongs
  to the first; the second word reads its scores from that same subword.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clinicalner.tag_sequences.schemes import check_scheme, make_tag, parse_tag

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_SPIECE_SPACE = "\u2581"


@dataclass(frozen=True)
class Alignment:
    """How the subwords of one encoded sequence map onto words.

    ``word_ids[i]``: word of subword ``i`` or -1 (special, whitespace). ``special[i]``: offsets
    ``(0, 0)``. ``shared[i]``: a SentencePiece artefact (see module docstring). ``first[i]``: the
    subword that carries its word's label when labelling the first subword.
    ``word_first_subword[w]``: the first kept subword overlapping word ``w``, -1 when none (the
    word was truncated away).
    """

    word_ids: IntArray
    special: BoolArray
    shared: BoolArray
    first: BoolArray
    word_first_subword: IntArray

    @property
    def kept(self) -> BoolArray:
        """Subwords that take part in training and scoring: in a word, and not shared."""
        return (self.word_ids >= 0) & ~self.shared

    @property
    def n_words(self) -> int:
        return int(self.word_first_subword.shape[0])


def align_subwords(
    offsets: Sequence[tuple[int, int]] | npt.ArrayLike,
    word_spans: Sequence[tuple[int, int]],
    *,
    tokens: Sequence[str] | None = None,
    char_offset: int = 0,
) -> Alignment:
    """Align subword offsets with word spans of the same text.

    ``char_offset`` is added to every non-special offset: encode a window ``text[c0:c1]`` and
    pass ``char_offset=c0`` to align with the document's word spans. ``tokens`` (the subword
    strings) lets bare ``"▁"`` pieces be recognised even when their offsets are not shared.
    """
    off = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    n = off.shape[0]
    if tokens is not None and len(tokens) != n:
        raise ValueError(f"{len(tokens)} tokens for {n} offsets")
    special = (off[:, 0] == 0) & (off[:, 1] == 0)
    starts = off[:, 0] + char_offset
    ends = off[:, 1] + char_offset
    if np.any(ends < starts):
        raise ValueError("offsets with end before start")

    shared = np.zeros(n, dtype=bool)
    normal = np.flatnonzero(~special)
    for k, i in enumerate(normal):
        if starts[i] == ends[i] or (tokens is not None and tokens[i] == _SPIECE_SPACE):
            shared[i] = True
        elif k + 1 < len(normal):
            j = normal[k + 1]
            if starts[j] == starts[i] and ends[j] == ends[i]:
                shared[i] = True  # keep the last of a run with identical offsets
    previous_end = -1
    for i in normal:
        if shared[i]:
            continue
        if starts[i] < previous_end:
            shared[i] = True
        else:
            previous_end = int(ends[i])

    word_starts = [a for a, _ in word_spans]
    word_ends = [b for _, b in word_spans]
    n_words = len(word_spans)
    word_ids = np.full(n, -1, dtype=np.int64)
    word_first = np.full(n_words, -1, dtype=np.int64)
    for i in normal:
        s, e = int(starts[i]), int(ends[i])
        lo = bisect_right(word_ends, s)
        if s == e:  # empty piece: the word it sits in, if any
            if lo < n_words and word_starts[lo] <= s:
                word_ids[i] = lo
            continue
        hi = bisect_left(word_starts, e)
        if lo >= hi:
            continue
        word_ids[i] = lo
        if not shared[i]:
            for w in range(lo, hi):
                if word_first[w] < 0:
                    word_first[w] = i
    first = np.zeros(n, dtype=bool)
    has_word = (word_ids >= 0) & ~shared
    idx = np.flatnonzero(has_word)
    first[idx] = word_first[word_ids[idx]] == idx
    return Alignment(
        word_ids=word_ids, special=special, shared=shared, first=first, word_first_subword=word_first
    )


def _subword_tags(tag: str, n: int, scheme: str) -> list[str]:
    """How one word's tag spreads over its ``n`` subwords so the subword sequence stays valid."""
    prefix, label = parse_tag(tag)
    if n == 1 or prefix in ("O", "I") or scheme == "IO":
        return [tag] * n
    inner = make_tag("I", label)
    if prefix == "B":
        return [tag] + [inner] * (n - 1)
    if prefix == "E":
        return [inner] * (n - 1) + [tag]
    return [make_tag("B", label)] + [inner] * (n - 2) + [make_tag("E", label)]  # S


def subword_label_ids(
    word_tags: Sequence[str],
    alignment: Alignment,
    tag_names: Sequence[str],
    scheme: str,
    strategy: str = "first",
    ignore_index: int = -100,
) -> IntArray:
    """Training labels per subword from word tags.

    ``"first"``: the first kept subword of a word carries the word's tag, the rest get
    ``ignore_index``. ``"all"``: every kept subword is labelled, the tag spread so the subword
    sequence is valid in the scheme (``B`` word -> ``B I I``, BIOES ``S`` word -> ``B I E``).
    Specials, shared and whitespace subwords always get ``ignore_index``.
    """
    name = check_scheme(scheme)
    if strategy not in ("first", "all"):
        raise ValueError(f"unknown label strategy {strategy!r} (use 'first' or 'all')")
    if len(word_tags) != alignment.n_words:
        raise ValueError(f"{len(word_tags)} word tags for {alignment.n_words} aligned words")
    index = {t: i for i, t in enumerate(tag_names)}
    missing = sorted({t for t in word_tags if t not in index})
    if missing:
        raise ValueError(f"tags {missing} are not among the tag names {list(tag_names)}")
    labels = np.full(alignment.word_ids.shape[0], ignore_index, dtype=np.int64)
    kept = np.flatnonzero(alignment.kept)
    if strategy == "first":
        firsts = np.flatnonzero(alignment.first)
        labels[firsts] = [index[word_tags[w]] for w in alignment.word_ids[firsts]]
        return labels
    by_word: dict[int, list[int]] = {}
    for i in kept:
        by_word.setdefault(int(alignment.word_ids[i]), []).append(int(i))
    for w, subs in by_word.items():
        for i, tag in zip(subs, _subword_tags(word_tags[w], len(subs), name), strict=True):
            labels[i] = index[tag]
    return labels


def word_scores(
    subword_scores: npt.ArrayLike,
    alignment: Alignment,
    method: str = "first",
    fill: float = float("nan"),
) -> npt.NDArray[np.floating]:
    """Per-word scores (logits or log-probabilities) from per-subword scores, shape ``(W, K)``.

    ``"first"`` reads the first kept subword, matching ``"first"`` training; ``"mean"`` averages
    a word's kept subwords, matching ``"all"`` training. A word no kept subword reaches (cut
    off by truncation) gets ``fill`` (NaN by default, so the gap is visible).
    """
    scores = np.asarray(subword_scores)
    if scores.shape[0] != alignment.word_ids.shape[0]:
        raise ValueError(f"{scores.shape[0]} subword score rows for {alignment.word_ids.shape[0]} subwords")
    dtype = np.result_type(scores.dtype, np.float32)
    out = np.full((alignment.n_words, *scores.shape[1:]), fill, dtype=dtype)
    reached = alignment.word_first_subword >= 0
    out[reached] = scores[alignment.word_first_subword[reached]]
    if method == "first":
        return out
    if method != "mean":
        raise ValueError(f"unknown word scoring {method!r} (use 'first' or 'mean')")
    kept = np.flatnonzero(alignment.kept)
    words = alignment.word_ids[kept]
    sums = np.zeros((alignment.n_words, *scores.shape[1:]), dtype=np.float64)
    np.add.at(sums, words, scores[kept])
    counts = np.bincount(words, minlength=alignment.n_words)
    own = counts > 0
    out[own] = (sums[own] / counts[own].reshape(-1, *([1] * (scores.ndim - 1)))).astype(dtype)
    return out
