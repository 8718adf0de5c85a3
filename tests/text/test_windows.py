from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicalner.text.sentences import sentence_spans
from clinicalner.text.windows import (
    char_ranges_to_token_ranges,
    pool_windows,
    sentence_windows,
    sliding_windows,
    span_centred_windows,
)
from clinicalner.text.words import word_spans


def test_sliding_windows_last_window_flush_with_end() -> None:
    assert sliding_windows(10, 4, 3) == [(0, 4), (3, 7), (6, 10)]
    assert sliding_windows(11, 4, 3) == [(0, 4), (3, 7), (6, 10), (7, 11)]
    assert sliding_windows(3, 4, 2) == [(0, 3)]
    assert sliding_windows(0, 4, 2) == []


@pytest.mark.parametrize(("size", "stride"), [(0, 1), (4, 0), (4, 5)])
def test_sliding_windows_rejects_bad_sizes(size: int, stride: int) -> None:
    with pytest.raises(ValueError):
        sliding_windows(10, size, stride)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), st.integers(1, 50), st.data())
def test_sliding_windows_cover_everything(n: int, size: int, data: st.DataObject) -> None:
    stride = data.draw(st.integers(1, size))
    windows = sliding_windows(n, size, stride)
    covered = np.zeros(n, dtype=int)
    for a, b in windows:
        assert 0 <= a < b <= n and b - a == min(size, n)
        covered[a:b] += 1
    assert (covered > 0).all()
    if n:
        assert windows[-1][1] == n
        assert all(b[0] - a[0] <= stride for a, b in itertools.pairwise(windows))


def test_sentence_windows_pack_whole_sentences() -> None:
    sentences = [(0, 3), (3, 7), (7, 8), (8, 12)]
    assert sentence_windows(sentences, 8) == [(0, 8), (8, 12)]
    assert sentence_windows(sentences, 4) == [(0, 3), (3, 7), (7, 8), (8, 12)]


def test_sentence_windows_long_sentence_falls_back_to_sliding() -> None:
    sentences = [(0, 2), (2, 12), (12, 14)]
    assert sentence_windows(sentences, 4, stride=3) == [(0, 2), (2, 6), (5, 9), (8, 12), (12, 14)]


def test_sentence_windows_skip_empty_and_keep_gaps_inside() -> None:
    assert sentence_windows([(0, 2), (2, 2), (3, 5)], 5) == [(0, 5)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 15), max_size=20), st.integers(1, 12))
def test_sentence_windows_cover_every_token_within_the_limit(lengths: list[int], max_tokens: int) -> None:
    bounds = np.cumsum([0, *lengths]).tolist()
    sentences = list(itertools.pairwise(bounds))
    windows = sentence_windows(sentences, max_tokens)
    covered = np.zeros(bounds[-1], dtype=bool)
    starts = set(bounds)
    for a, b in windows:
        assert b - a <= max_tokens
        covered[a:b] = True
    assert covered.all()
    # a window that fits whole sentences starts and ends on sentence boundaries
    for a, b in windows:
        inside = [(s, e) for s, e in sentences if a <= s < b]
        if inside and all(e - s <= max_tokens for s, e in inside):
            assert a in starts and b in starts


def test_span_centred_windows_balance_context_with_whole_sentences() -> None:
    sentences = [(0, 4), (4, 8), (8, 12), (12, 16), (16, 20)]
    # the span is in the middle sentence: one sentence on each side fits in 12 tokens
    assert span_centred_windows([(9, 10)], sentences, 12) == [(4, 16)]
    # at the start, context can only grow to the right
    assert span_centred_windows([(1, 2)], sentences, 12) == [(0, 12)]
    # two spans in one sentence give one window
    assert span_centred_windows([(9, 10), (10, 11)], sentences, 12) == [(4, 16)]


def test_span_centred_windows_span_crossing_sentences_and_too_long() -> None:
    sentences = [(0, 4), (4, 8), (8, 30)]
    assert span_centred_windows([(3, 5)], sentences, 8) == [(0, 8)]
    # the span's sentence (22 tokens) is longer than 10: a token window centred on the span
    assert span_centred_windows([(19, 21)], sentences, 10) == [(15, 25)]
    # clipped at the end of the text
    assert span_centred_windows([(28, 30)], sentences, 10) == [(20, 30)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10), min_size=1, max_size=15), st.integers(1, 20), st.data())
def test_span_centred_windows_contain_their_span(
    lengths: list[int], max_tokens: int, data: st.DataObject
) -> None:
    bounds = np.cumsum([0, *lengths]).tolist()
    n = bounds[-1]
    sentences = list(itertools.pairwise(bounds))
    start = data.draw(st.integers(0, n - 1))
    end = data.draw(st.integers(start + 1, min(n, start + max_tokens)))
    windows = span_centred_windows([(start, end)], sentences, max_tokens)
    assert len(windows) == 1
    a, b = windows[0]
    assert 0 <= a <= start < end <= b <= n and b - a <= max_tokens


def test_char_ranges_to_token_ranges_with_real_text() -> None:
    text = "Dolor torácico.\r\nFiebre 38,5 °C 😷. Fin"
    words = word_spans(text)
    sentences = sentence_spans(text, "es")
    ranges = char_ranges_to_token_ranges(sentences, words)
    assert [[text[a:b] for a, b in words[s:e]] for s, e in ranges] == [
        ["Dolor", "torácico", "."],
        ["Fiebre", "38,5", "°C", "😷", "."],
        ["Fin"],
    ]
    # a span cutting into words maps to every word it overlaps; whitespace maps to nothing
    assert char_ranges_to_token_ranges([(2, 9), (15, 17)], words) == [(0, 2), (3, 3)]


def _naive_pool(
    n: int, windows: list[tuple[int, int]], logits: list[np.ndarray], weighting: str
) -> np.ndarray:
    out = np.zeros((n, logits[0].shape[1]))
    for t in range(n):
        total = np.zeros(logits[0].shape[1])
        weight = 0.0
        for (a, b), arr in zip(windows, logits, strict=True):
            if a <= t < b:
                i, length = t - a, b - a
                w = 1.0 if weighting == "mean" else float(min(i + 1, length - i))
                total += w * arr[i]
                weight += w
        out[t] = total / weight
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(1, 10),
    st.integers(1, 10),
    st.sampled_from(["mean", "triangular"]),
    st.integers(0, 2**31),
)
def test_pool_windows_equals_naive_loop(n: int, size: int, stride: int, weighting: str, seed: int) -> None:
    stride = min(stride, size)
    windows = sliding_windows(n, size, stride)
    rng = np.random.default_rng(seed)
    extra = [(int(a), int(a) + int(rng.integers(1, n - a + 1))) for a in rng.integers(0, n, size=2)]
    windows = windows + extra  # windows of arbitrary lengths and overlaps
    logits = [rng.normal(size=(b - a, 3)).astype(np.float32) for a, b in windows]
    pooled = pool_windows(n, windows, logits, weighting)
    assert pooled.dtype == np.float32 and pooled.shape == (n, 3)
    np.testing.assert_allclose(pooled, _naive_pool(n, windows, logits, weighting), rtol=1e-5, atol=1e-6)


def test_pool_windows_trailing_dimensions_and_dtype() -> None:
    windows = [(0, 3), (2, 4)]
    logits = [np.ones((3, 2, 5)), np.full((2, 2, 5), 3.0)]
    pooled = pool_windows(4, windows, logits)
    assert pooled.shape == (4, 2, 5) and pooled.dtype == np.float64
    np.testing.assert_allclose(pooled[:, 0, 0], [1.0, 1.0, 2.0, 3.0])


def test_pool_windows_uncovered_tokens() -> None:
    with pytest.raises(ValueError, match="in no window"):
        pool_windows(4, [(0, 2)], [np.zeros((2, 3))])
    filled = pool_windows(4, [(0, 2)], [np.ones((2, 3))], fill=-1.0)
    np.testing.assert_array_equal(filled[:, 0], [1.0, 1.0, -1.0, -1.0])


def test_pool_windows_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        pool_windows(4, [(0, 4)], [np.zeros((3, 2))])
    with pytest.raises(ValueError, match="weighting"):
        pool_windows(2, [(0, 2)], [np.zeros((2, 2))], weighting="gaussian")
