"""Documents cut into subword windows: the same cuts for training and for tagging.

A model trained on windows packed from whole sentences sees a sentence boundary at a window
edge, never a mention cut in half; tagging with the same cuts needs no overlap there, so
each subword goes through the encoder once (sliding windows with an overlap cost 15-30 %
more). Sentences longer than a window fall back to sliding windows.
"""

from __future__ import annotations

import itertools

import numpy as np

from clinicalner.model.inputs import EncodedDocument


def sentence_token_ranges(enc: EncodedDocument) -> list[tuple[int, int]]:
    """Sentences as subword ranges [a, b)."""
    from clinicalner.text.sentences import sentence_spans

    if enc.n_subwords == 0:
        return []
    sentences = sentence_spans(enc.doc.text, enc.doc.language)
    first_chars = np.fromiter((s for s, _ in sentences), dtype=np.int64, count=len(sentences))
    # One vectorised search for all sentence starts (a Python call per sentence was most of
    # window planning); np.unique sorts and drops repeated cuts, so every range is non-empty.
    cuts = np.searchsorted(enc.offsets[:, 0], first_chars, side="left")
    bounds = np.unique(np.concatenate(([0, enc.n_subwords], cuts))).tolist()
    # Every subword lies in exactly one range: pieces between sentences join the previous one.
    return list(itertools.pairwise(bounds))


def window_ranges(enc: EncodedDocument, size: int, stride: int, mode: str) -> list[tuple[int, int]]:
    """Subword ranges of the windows (``size`` excludes the special tokens).

    ``stride`` is the step of sliding windows, also inside sentences longer than ``size``.
    """
    from clinicalner.text.windows import sentence_windows, sliding_windows, span_centred_windows

    if enc.n_subwords == 0:
        return []
    if mode == "sentence":
        return [tuple(w) for w in sentence_windows(sentence_token_ranges(enc), size, stride)]
    if mode == "one-sentence":
        return one_sentence_windows(sentence_token_ranges(enc), size, stride)
    if mode == "span_centred":
        return [
            tuple(w)
            for w in span_centred_windows(
                span_token_ranges(enc), sentence_token_ranges(enc), size, enc.n_subwords
            )
        ]
    return [tuple(w) for w in sliding_windows(enc.n_subwords, size, stride)]


def one_sentence_windows(sentences: list[tuple[int, int]], size: int, stride: int) -> list[tuple[int, int]]:
    """Each sentence its own window (a longer one gets sliding windows of its own).

    A tagging-time choice for text unlike the training data: the encoder sees one sentence
    at a time, whatever the neighbouring sentences are, as a model trained on packed windows
    still mostly does near a sentence's middle. Costs more windows, no extra subwords.
    """
    from clinicalner.text.windows import sliding_windows

    out: list[tuple[int, int]] = []
    for a, b in sentences:
        if b - a > size:
            out.extend((a + x, a + y) for x, y in sliding_windows(b - a, size, stride))
        else:
            out.append((a, b))
    return out


def span_token_ranges(enc: EncodedDocument) -> list[tuple[int, int]]:
    """Each gold span as the subword range [a, b) of the pieces that overlap it."""
    if enc.n_subwords == 0:
        return []
    starts, ends = enc.offsets[:, 0], enc.offsets[:, 1]
    out = []
    for span in enc.doc.spans:
        a = int(np.searchsorted(ends, span.start, side="right"))
        b = int(np.searchsorted(starts, span.end, side="left"))
        if b > a:
            out.append((a, b))
    return out
