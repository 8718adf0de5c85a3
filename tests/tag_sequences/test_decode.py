from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicalner.document import Span
from clinicalner.tag_sequences.decode import (
    allowed_end,
    allowed_start,
    allowed_transitions,
    can_follow,
    can_start,
    decode,
    decode_spans,
    is_valid,
    repair,
    softmax,
    span_confidence,
    viterbi,
    viterbi_batch,
)
from clinicalner.tag_sequences.schemes import SCHEMES, tag_names
from clinicalner.text.words import word_spans


@pytest.mark.parametrize(
    ("tags", "scheme", "expected"),
    [
        (["O", "I-X", "I-X", "O"], "BIO", ["O", "B-X", "I-X", "O"]),
        (["B-X", "I-Y", "I-Y"], "BIO", ["B-X", "B-Y", "I-Y"]),
        (["I-X", "B-X", "O"], "BIO", ["B-X", "B-X", "O"]),
        (["B-X", "I-X", "O", "B-X"], "BIOES", ["B-X", "E-X", "O", "S-X"]),
        (["E-X", "I-X", "I-X"], "BIOES", ["S-X", "B-X", "E-X"]),
        (["B-X", "I-Y", "E-Y"], "BIOES", ["S-X", "B-Y", "E-Y"]),
        (["S-X", "E-X"], "BIOES", ["S-X", "S-X"]),
        (["B-X", "I-X", "B-X"], "IO", ["I-X", "I-X", "I-X"]),
        (["I", "O", "I", "I"], "BIOES", ["S", "O", "B", "E"]),
        ([], "BIO", []),
    ],
)
def test_repair_policy(tags: list[str], scheme: str, expected: list[str]) -> None:
    assert repair(tags, scheme) == expected
    assert is_valid(repair(tags, scheme), scheme)


def test_is_valid() -> None:
    assert is_valid(["O", "B-X", "I-X", "B-Y"], "BIO")
    assert not is_valid(["O", "I-X"], "BIO")
    assert not is_valid(["B-X", "I-Y"], "BIO")
    assert not is_valid(["B-X"], "BIOES")
    assert is_valid(["B-X", "E-X", "S-Y"], "BIOES")
    assert not is_valid(["B-X", "O"], "IO")  # B is not an IO tag
    assert not is_valid(["E-X"], "BIO")
    assert is_valid(["I-X", "I-Y", "O"], "IO")


def test_allowed_masks_for_bio() -> None:
    names = tag_names(["X", "Y"], "BIO")  # O B-X I-X B-Y I-Y
    allowed = allowed_transitions(names, "BIO")
    assert allowed[:, 2].tolist() == [False, True, True, False, False]  # I-X only after B-X/I-X
    assert allowed[:, 1].all()
    assert allowed_start(names, "BIO").tolist() == [True, True, False, True, False]
    assert allowed_end(names, "BIO").all()


def test_allowed_masks_for_bioes_untyped() -> None:
    names = tag_names(None, "BIOES")  # O B I E S
    allowed = allowed_transitions(names, "BIOES")
    expected = np.array(
        [
            [1, 1, 0, 0, 1],  # after O
            [0, 0, 1, 1, 0],  # after B
            [0, 0, 1, 1, 0],  # after I
            [1, 1, 0, 0, 1],  # after E
            [1, 1, 0, 0, 1],  # after S
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(allowed, expected)
    assert allowed_start(names, "BIOES").tolist() == [True, True, False, False, True]
    assert allowed_end(names, "BIOES").tolist() == [True, False, False, True, True]


def test_viterbi_prefers_valid_path_over_argmax() -> None:
    names = tag_names(None, "BIO")
    # argmax would give O I I (invalid); the best valid path is O B I
    emissions = np.log(np.array([[0.9, 0.05, 0.05], [0.1, 0.4, 0.5], [0.1, 0.1, 0.8]]))
    path = viterbi(
        emissions,
        allowed=allowed_transitions(names, "BIO"),
        allowed_start=allowed_start(names, "BIO"),
        allowed_end=allowed_end(names, "BIO"),
    )
    assert [names[i] for i in path] == ["O", "B", "I"]
    assert decode(emissions, names, "BIO", "argmax") == ["O", "B", "I"]  # repaired


def test_viterbi_uses_transition_scores() -> None:
    emissions = np.array([[1.0, 0.0], [1.0, 1.1]])
    assert viterbi(emissions) == [0, 1]
    assert viterbi(emissions, transitions=[[0.5, 0.0], [0.0, 0.0]]) == [0, 0]
    assert viterbi(emissions, start=[0.0, 2.0]) == [1, 1]
    assert viterbi(emissions, end=[1.0, 0.0]) == [0, 0]
    assert viterbi(np.zeros((0, 2))) == []


def test_viterbi_errors() -> None:
    with pytest.raises(ValueError, match="no tag sequence"):
        viterbi(np.zeros((2, 2)), allowed=np.zeros((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="NaN"):
        viterbi(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="shapes"):
        viterbi(np.zeros((2, 2)), transitions=np.zeros((3, 3)))


def _brute_force(
    em: np.ndarray, trans: np.ndarray, start: np.ndarray, end: np.ndarray, allowed: np.ndarray,
    a_start: np.ndarray, a_end: np.ndarray,
) -> float:  # fmt: skip
    best = -np.inf
    n, k = em.shape
    for path in itertools.product(range(k), repeat=n):
        if not a_start[path[0]] or not a_end[path[-1]]:
            continue
        if not all(allowed[a, b] for a, b in itertools.pairwise(path)):
            continue
        score = start[path[0]] + end[path[-1]] + sum(em[t, y] for t, y in enumerate(path))
        score += sum(trans[a, b] for a, b in itertools.pairwise(path))
        best = max(best, score)
    return best


def _path_score(
    path: list[int], em: np.ndarray, trans: np.ndarray, start: np.ndarray, end: np.ndarray
) -> float:
    score = start[path[0]] + end[path[-1]] + sum(em[t, y] for t, y in enumerate(path))
    return float(score + sum(trans[a, b] for a, b in itertools.pairwise(path)))


_SMALL_TAGSETS = {"BIO": ["A", "B"], "IO": ["A", "B"], "BIOES": ["A"]}


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 2**31), with_crf=st.booleans())
def test_viterbi_equals_brute_force_and_is_valid(scheme: str, n: int, seed: int, with_crf: bool) -> None:
    names = tag_names(_SMALL_TAGSETS[scheme], scheme)
    k = len(names)
    rng = np.random.default_rng(seed)
    em = np.log(softmax(rng.normal(size=(n, k)) * 3))
    trans = rng.normal(size=(k, k)) if with_crf else np.zeros((k, k))
    start = rng.normal(size=k) if with_crf else np.zeros(k)
    end = rng.normal(size=k) if with_crf else np.zeros(k)
    allowed, a_start, a_end = (
        allowed_transitions(names, scheme),
        allowed_start(names, scheme),
        allowed_end(names, scheme),
    )
    path = viterbi(em, trans, start, end, allowed, a_start, a_end)
    tags = [names[i] for i in path]
    assert is_valid(tags, scheme)
    assert _path_score(path, em, trans, start, end) == pytest.approx(
        _brute_force(em, trans, start, end, allowed, a_start, a_end)
    )
    if not with_crf:
        assert decode(em, names, scheme, "viterbi") == tags


_ANY_TAG = st.sampled_from(["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "E-Y", "S-Y"])


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=200, deadline=None)
@given(tags=st.lists(_ANY_TAG, max_size=12))
def test_repair_always_yields_valid_sequences(scheme: str, tags: list[str]) -> None:
    fixed = repair(tags, scheme)
    assert len(fixed) == len(tags)
    assert is_valid(fixed, scheme)
    assert repair(fixed, scheme) == fixed  # valid sequences are left alone
    # repair never invents a mention on an O word, nor drops one
    assert [t == "O" for t in fixed] == [t == "O" for t in tags]


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_valid_sequences_are_fixed_points(scheme: str, data: st.DataObject) -> None:
    names = tag_names(["X", "Y"], scheme)
    tags: list[str] = []
    for _ in range(data.draw(st.integers(0, 10))):
        if tags:
            options = [t for t in names if can_follow(tags[-1], t, scheme)]
        else:
            options = [t for t in names if can_start(t, scheme)]
        tags.append(data.draw(st.sampled_from(options)))
    if tags and not is_valid(tags, scheme):
        return  # ended inside a BIOES mention; not a valid sequence
    assert repair(tags, scheme) == tags


def test_span_confidence_mean_and_min() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.3, 0.6]])
    ids = [0, 1, 2]
    assert span_confidence(probs, ids, 1, 3) == pytest.approx(0.65)
    assert span_confidence(probs, ids, 1, 3, "min") == pytest.approx(0.6)
    with pytest.raises(ValueError):
        span_confidence(probs, ids, 2, 2)
    with pytest.raises(ValueError, match="confidence"):
        span_confidence(probs, ids, 0, 1, "median")


def test_decode_spans_with_per_type_head_on_hard_text() -> None:
    text = "Dolor torácico\r\ny fiebre 😷 alta; боль"
    words = word_spans(text)  # Dolor torácico y fiebre 😷 alta ; боль
    names = tag_names(None, "BIO")
    best = ["B", "I", "O", "B", "I", "I", "O", "B"]
    logits = np.full((len(words), 3), -2.0)
    for i, tag in enumerate(best):
        logits[i, names.index(tag)] = 2.0
    for method in ("argmax", "viterbi"):
        spans = decode_spans(logits, words, names, "BIO", method=method, label="SYMPTOM", text=text)
        assert [s.text for s in spans] == ["Dolor torácico", "fiebre 😷 alta", "боль"]
        assert all(s.text == text[s.start : s.end] for s in spans)
        p = float(softmax(logits)[0, 1])
        assert all(s.score == pytest.approx(p) for s in spans)
        assert all(isinstance(s, Span) and s.label == "SYMPTOM" for s in spans)


def test_decode_rejects_bad_input() -> None:
    names = tag_names(None, "BIO")
    with pytest.raises(ValueError, match="do not match"):
        decode(np.zeros((2, 4)), names, "BIO")
    with pytest.raises(ValueError, match="NaN"):
        decode(np.full((1, 3), np.nan), names, "BIO")
    with pytest.raises(ValueError, match="method"):
        decode(np.zeros((1, 3)), names, "BIO", "beam")


def test_softmax_is_stable_and_normalised() -> None:
    probs = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), -np.inf]]))
    np.testing.assert_allclose(probs, [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0]], atol=1e-12)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("seed", range(8))
def test_viterbi_batch_equals_step_by_step(scheme: str, seed: int) -> None:
    """Random scores, lengths (empty rows too), per-row CRF scores, the scheme's masks and ties."""
    names = tag_names(["X", "Y"] if seed % 2 else ["X"], scheme)
    k = len(names)
    rng = np.random.default_rng(seed)
    rows, longest = 23, 17
    lengths = rng.integers(0, longest + 1, size=rows)
    lengths[0] = longest
    # Coarse integer scores on half the seeds, so that ties happen and must break alike.
    em = rng.normal(size=(rows, longest, k)) * 3
    trans = rng.normal(size=(rows, k, k))
    start, end = rng.normal(size=(rows, k)), rng.normal(size=(rows, k))
    if seed % 4 < 2:
        em, trans, start, end = (np.round(x) for x in (em, trans, start, end))
    em[np.arange(longest)[None, :] >= lengths[:, None]] = np.nan  # padding is never read
    masks = allowed_transitions(names, scheme), allowed_start(names, scheme), allowed_end(names, scheme)
    paths = viterbi_batch(em, lengths, trans, start, end, *masks)
    assert paths.shape == (rows, longest)
    for r in range(rows):
        n = int(lengths[r])
        expected = viterbi(em[r, :n], trans[r], start[r], end[r], *masks)
        assert paths[r, :n].tolist() == expected
        assert (paths[r, n:] == -1).all()
    # Shared (K, K) scores and no masks: the same as the plain decoder too.
    shared = viterbi_batch(np.nan_to_num(em), lengths, trans[0], start[0], end[0])
    for r in range(rows):
        n = int(lengths[r])
        assert shared[r, :n].tolist() == viterbi(np.nan_to_num(em[r, :n]), trans[0], start[0], end[0])


def test_viterbi_batch_errors() -> None:
    em = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match="B, T, K"):
        viterbi_batch(em[0], [3, 3])
    with pytest.raises(ValueError, match="lengths"):
        viterbi_batch(em, [4, 1])
    with pytest.raises(ValueError, match="transitions of shape"):
        viterbi_batch(em, [3, 1], np.zeros((2, 2)))
    bad = em.copy()
    bad[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        viterbi_batch(bad, [3, 1])
    assert viterbi_batch(bad, [3, 0])[1].tolist() == [-1, -1, -1]  # NaN past the length is padding
    with pytest.raises(ValueError, match="no tag sequence"):
        viterbi_batch(em, [3, 1], allowed_start=np.zeros(3, dtype=bool))
    assert viterbi_batch(np.zeros((0, 0, 3)), np.zeros(0, dtype=np.int64)).shape == (0, 0)
