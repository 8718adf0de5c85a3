"""Windows over token sequences, and pooling of the logits predicted on overlapping windows.

An encoder sees at most a few hundred subwords, a clinical note thousands. All functions here
work on *token indices* (word positions from :func:`~clinicalner.text.words.word_spans`) and
return half-open ``(start, end)`` ranges, so the same code serves words or subwords.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Range = tuple[int, int]


def sliding_windows(n_tokens: int, size: int, stride: int) -> list[Range]:
    """Windows of ``size`` tokens every ``stride`` tokens, the last one flush with the end.

    The last window is moved back to end exactly at ``n_tokens`` rather than left short: a
    full window gives the tokens near the end as much context as any other.
    """
    if size <= 0 or stride <= 0:
        raise ValueError(f"window size and stride must be positive, got size={size}, stride={stride}")
    if stride > size:
        raise ValueError(f"stride {stride} larger than window size {size} would leave tokens uncovered")
    if n_tokens <= 0:
        return []
    if n_tokens <= size:
        return [(0, n_tokens)]
    windows = [(s, s + size) for s in range(0, n_tokens - size + 1, stride)]
    if windows[-1][1] < n_tokens:
        windows.append((n_tokens - size, n_tokens))
    return windows


def sentence_windows(
    sentence_token_ranges: Sequence[Range], max_tokens: int, stride: int | None = None
) -> list[Range]:
    """Pack whole consecutive sentences into windows of at most ``max_tokens`` tokens.

    A window runs from its first sentence's start to its last sentence's end (tokens between
    sentences ride along). A sentence longer than ``max_tokens`` gets sliding windows of its
    own (``stride`` defaults to half the window), so no token is ever left out. Empty
    sentences are skipped; ranges must be in order (an overlap with the previous one is cut).
    """
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    step = stride if stride is not None else max(1, max_tokens // 2)
    windows: list[Range] = []
    current: list[int] | None = None
    previous_end = 0
    for raw_start, end in sentence_token_ranges:
        if raw_start < previous_end and end > previous_end and raw_start < end:
            raw_start = previous_end
        if raw_start >= end:
            continue
        if raw_start < previous_end:
            raise ValueError(f"sentence ranges out of order at {(raw_start, end)}")
        start = raw_start
        previous_end = end
        if end - start > max_tokens:
            if current is not None:
                windows.append((current[0], current[1]))
                current = None
            windows.extend((start + a, start + b) for a, b in sliding_windows(end - start, max_tokens, step))
        elif current is not None and end - current[0] <= max_tokens:
            current[1] = end
        else:
            if current is not None:
                windows.append((current[0], current[1]))
            current = [start, end]
    if current is not None:
        windows.append((current[0], current[1]))
    return windows


def span_centred_windows(
    span_token_ranges: Sequence[Range],
    sentence_token_ranges: Sequence[Range],
    max_tokens: int,
    n_tokens: int | None = None,
) -> list[Range]:
    """One training window per annotated span: its sentences plus whole sentences around it.

    Starting from the sentences the span touches, whole sentences are added on the side with
    less context so far, while the window stays within ``max_tokens`` (the DT4H recipe: every
    mention is seen with balanced context and never with a sentence cut in half). When the
    span's own sentences are too long, the window is ``max_tokens`` tokens centred on the span
    and clipped to the text. Identical windows are returned once, sorted.
    """
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    sentences = [(s, e) for s, e in sentence_token_ranges if s < e]
    total = n_tokens
    if total is None:
        total = max([e for _, e in sentences] + [e for _, e in span_token_ranges] + [0])
    starts = [s for s, _ in sentences]
    ends = [e for _, e in sentences]
    windows: set[Range] = set()
    for s, e in span_token_ranges:
        if s >= e:
            continue
        first = bisect_right(ends, s)  # first sentence ending after the span starts
        last = bisect_left(starts, e) - 1  # last sentence starting before the span ends
        if first > last:  # the span lies between sentences
            lo, hi = s, e
        else:
            lo, hi = min(s, starts[first]), max(e, ends[last])
        if hi - lo > max_tokens:
            centre = (s + e) // 2
            begin = max(0, min(centre - max_tokens // 2, total - max_tokens))
            windows.add((begin, min(total, begin + max_tokens)))
            continue
        left, right = first - 1, last + 1
        while True:
            can_left = left >= 0 and hi - starts[left] <= max_tokens
            can_right = right < len(sentences) and ends[right] - lo <= max_tokens
            if not (can_left or can_right):
                break
            if can_left and (not can_right or s - lo <= hi - e):
                lo = starts[left]
                left -= 1
            else:
                hi = ends[right]
                right += 1
        windows.add((lo, hi))
    return sorted(windows)


def char_ranges_to_token_ranges(char_ranges: Sequence[Range], word_spans: Sequence[Range]) -> list[Range]:
    """Map character ranges (sentences, spans) to the range of words they overlap.

    A range overlapping no word (only whitespace) maps to an empty range at its position.
    """
    starts = [a for a, _ in word_spans]
    ends = [b for _, b in word_spans]
    out: list[Range] = []
    for cs, ce in char_ranges:
        first = bisect_right(ends, cs)
        last = bisect_left(starts, ce)
        out.append((first, max(first, last)))
    return out


def _window_weights(length: int, weighting: str) -> npt.NDArray[np.float64]:
    if weighting == "mean":
        return np.ones(length)
    if weighting == "triangular":
        i = np.arange(length)
        return np.minimum(i + 1, length - i).astype(np.float64)
    raise ValueError(f"unknown weighting {weighting!r} (use 'mean' or 'triangular')")


def pool_windows(
    n_tokens: int,
    windows: Sequence[Range],
    logits_per_window: Sequence[npt.ArrayLike],
    weighting: str = "mean",
    fill: float | None = None,
) -> npt.NDArray[np.floating]:
    """Average per-window logits into one array of shape ``(n_tokens, ...)``.

    ``"mean"`` weighs every window equally; ``"triangular"`` weighs a token by its distance
    from its window's edge (weight ``min(i + 1, length - i)``), since a token near an edge has
    seen context on one side only. A token no window covers is an error unless ``fill`` is
    given: silently predicting nothing for part of a document is what this guards against.
    The result keeps the inputs' floating dtype (at least float32); sums are in float64.
    """
    if len(windows) != len(logits_per_window):
        raise ValueError(f"{len(windows)} windows but {len(logits_per_window)} logit arrays")
    arrays = [np.asarray(a) for a in logits_per_window]
    if not arrays:
        if n_tokens and fill is None:
            raise ValueError(f"no windows cover the {n_tokens} tokens")
        return np.full((n_tokens,), np.nan if fill is None else fill, dtype=np.float32)
    tail = arrays[0].shape[1:]
    acc = np.zeros((n_tokens, *tail), dtype=np.float64)
    weight_sum = np.zeros(n_tokens, dtype=np.float64)
    for (start, end), logits in zip(windows, arrays, strict=True):
        if not 0 <= start <= end <= n_tokens:
            raise ValueError(f"window {(start, end)} is outside 0..{n_tokens}")
        if logits.shape != (end - start, *tail):
            raise ValueError(f"window {(start, end)} has logits of shape {logits.shape}")
        weights = _window_weights(end - start, weighting)
        acc[start:end] += logits * weights.reshape(-1, *([1] * len(tail)))
        weight_sum[start:end] += weights
    covered = weight_sum > 0
    if fill is None and not covered.all():
        raise ValueError(f"{int((~covered).sum())} of {n_tokens} tokens are in no window")
    out = np.full_like(acc, np.nan if fill is None else fill)
    out[covered] = acc[covered] / weight_sum[covered].reshape(-1, *([1] * len(tail)))
    dtype = np.result_type(np.float32, *(a.dtype for a in arrays))
    return out.astype(dtype, copy=False)
