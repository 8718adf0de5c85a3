from __future__ import annotations

import numpy as np
import pytest

from clinicalner.document import Span
from clinicalner.tag_sequences.alignment import align_subwords, subword_label_ids, word_scores
from clinicalner.tag_sequences.decode import is_valid
from clinicalner.tag_sequences.schemes import spans_to_tags, tag_names, tags_to_spans
from clinicalner.text.words import word_spans

TEXT = "(fiebre) 😷 de 38,5"
# words: ( fiebre ) 😷 de 38,5
WORDS = word_spans(TEXT)
# Offsets as an XLM-R-like tokenizer gives them: a bare "▁" sharing "("'s offsets, "fie" "bre",
# a "▁" over the space, an emoji in four byte-fallback pieces with the same offsets, "▁de",
# "38" "," "5", with <s> and </s> specials.
TOKENS = [
    "<s>",
    "▁",
    "(",
    "fie",
    "bre",
    ")",
    "▁",
    "<0xF0>",
    "<0x9F>",
    "<0x98>",
    "<0xB7>",
    "▁de",
    "▁38",
    ",",
    "5",
    "</s>",
]
OFFSETS = [
    (0, 0), (0, 1), (0, 1), (1, 4), (4, 7), (7, 8), (8, 9),
    (9, 10), (9, 10), (9, 10), (9, 10), (10, 13), (13, 16), (16, 17), (17, 18), (0, 0),
]  # fmt: skip


def test_words_of_the_fixture() -> None:
    assert [TEXT[a:b] for a, b in WORDS] == ["(", "fiebre", ")", "😷", "de", "38,5"]


def test_align_subwords_xlmr_like_offsets() -> None:
    al = align_subwords(OFFSETS, WORDS)
    assert al.special.tolist() == [True] + [False] * 14 + [True]
    assert al.word_ids.tolist() == [-1, 0, 0, 1, 1, 2, -1, 3, 3, 3, 3, 4, 5, 5, 5, -1]
    # the bare "▁" before "(" and the first three emoji bytes share offsets: only the last is kept
    assert (
        al.shared.tolist() == [False, True, False, False, False, False, False, True, True, True] + [False] * 6
    )
    assert np.flatnonzero(al.first).tolist() == [2, 3, 5, 10, 11, 12]
    assert al.word_first_subword.tolist() == [2, 3, 5, 10, 11, 12]
    assert al.n_words == 6


def test_bare_spiece_token_recognised_by_its_string() -> None:
    offsets = [(0, 0), (0, 1), (1, 7), (0, 0)]
    words = word_spans("(fiebre")
    assert not align_subwords(offsets, words).shared.any()
    al = align_subwords([(0, 0), (0, 0), (0, 1), (1, 7)], words, tokens=["<s>", "▁", "(", "fiebre"])
    assert al.special.tolist() == [True, True, False, False]  # (0, 0) is always a special
    al = align_subwords([(0, 1), (0, 1), (1, 7)], words, tokens=["▁", "(", "fiebre"])
    assert al.shared.tolist() == [True, False, False]


def test_empty_and_overlapping_offsets_are_shared() -> None:
    words = word_spans("abc def")
    al = align_subwords([(0, 3), (3, 3), (4, 4), (4, 7), (5, 7)], words)
    assert al.shared.tolist() == [False, True, True, False, True]
    # an empty piece belongs to the word it sits at the start or inside of, none in a gap
    assert al.word_ids.tolist() == [0, -1, 1, 1, 1]
    assert al.word_first_subword.tolist() == [0, 3]


def test_subword_straddling_two_words() -> None:
    text = "38.5ºC"  # words 38.5 | ºC ; a tokenizer piece "5º" crosses the boundary
    words = word_spans(text)
    assert [text[a:b] for a, b in words] == ["38.5", "ºC"]
    al = align_subwords([(0, 3), (3, 5), (5, 6)], words)
    assert al.word_ids.tolist() == [0, 0, 1]
    assert al.word_first_subword.tolist() == [0, 1]  # ºC reads the straddling piece
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    np.testing.assert_array_equal(word_scores(scores, al, "first"), [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(word_scores(scores, al, "mean"), [[0.5, 0.5], [5.0, 5.0]])


def test_char_offset_aligns_a_window_with_document_words() -> None:
    doc = "Dolor.\r\nFiebre alta"
    words = word_spans(doc)
    window = doc[8:]  # encoded alone, offsets relative to the window
    al = align_subwords([(0, 0), (0, 3), (3, 6), (7, 11), (0, 0)], words, char_offset=8)
    assert window[0:6] == "Fiebre"
    assert al.word_ids.tolist() == [-1, 2, 2, 3, -1]
    assert al.word_first_subword.tolist() == [-1, -1, 1, 3]


N = None


@pytest.mark.parametrize(
    ("scheme", "strategy", "expected"),
    [
        # subwords: ▁ ( fie bre ) ▁ b0 b1 b2 b3 ▁de ▁38 , 5  (specials dropped)
        ("BIO", "first", [N, "O", "B", N, "I", N, N, N, N, "I", "I", "O", N, N]),
        ("BIO", "all", [N, "O", "B", "I", "I", N, N, N, N, "I", "I", "O", "O", "O"]),
        ("BIOES", "all", [N, "O", "B", "I", "I", N, N, N, N, "I", "E", "O", "O", "O"]),
        ("BIOES", "first", [N, "O", "B", N, "I", N, N, N, N, "I", "E", "O", N, N]),
        ("IO", "all", [N, "O", "I", "I", "I", N, N, N, N, "I", "I", "O", "O", "O"]),
    ],
)
def test_subword_label_ids(scheme: str, strategy: str, expected: list[str | None]) -> None:
    span = Span(WORDS[1][0], WORDS[4][1], "S")  # "fiebre) 😷 de"
    tags = spans_to_tags(WORDS, [span], scheme, label="S").tags
    names = tag_names(None, scheme)
    labels = subword_label_ids(tags, align_subwords(OFFSETS, WORDS), names, scheme, strategy)
    assert labels[0] == -100 and labels[-1] == -100
    assert [None if i == -100 else names[i] for i in labels[1:-1]] == expected
    if strategy == "all":
        assert is_valid([names[i] for i in labels if i != -100], scheme)


def test_single_word_bioes_s_spreads_to_b_e() -> None:
    words = word_spans("fiebre")
    al = align_subwords([(0, 3), (3, 6)], words)
    names = tag_names(None, "BIOES")
    labels = subword_label_ids(["S"], al, names, "BIOES", "all")
    assert [names[i] for i in labels] == ["B", "E"]
    assert [names[i] if i >= 0 else None for i in subword_label_ids(["S"], al, names, "BIOES")] == ["S", None]


def test_subword_label_ids_errors() -> None:
    al = align_subwords(OFFSETS, WORDS)
    with pytest.raises(ValueError, match="not among"):
        subword_label_ids(["O", "B-X", "O", "O", "O", "O"], al, ["O", "B", "I"], "BIO")
    with pytest.raises(ValueError, match="word tags"):
        subword_label_ids(["O"], al, ["O", "B", "I"], "BIO")
    with pytest.raises(ValueError, match="strategy"):
        subword_label_ids(["O"] * 6, al, ["O", "B", "I"], "BIO", "last")


def test_word_scores_first_and_mean_skip_shared_and_specials() -> None:
    al = align_subwords(OFFSETS, WORDS)
    scores = np.arange(16 * 2, dtype=np.float32).reshape(16, 2)
    first = word_scores(scores, al, "first")
    np.testing.assert_array_equal(first[:, 0], [4, 6, 10, 20, 22, 24])
    mean = word_scores(scores, al, "mean")
    # fiebre = mean of fie, bre; the emoji = its last byte only; 38,5 = mean of 3 pieces
    np.testing.assert_allclose(mean[:, 0], [4, 7, 10, 20, 22, 26])
    assert mean.dtype == np.float32


def test_word_scores_for_truncated_words_use_fill() -> None:
    al = align_subwords([(0, 0), (0, 3), (0, 0)], word_spans("abc def"))
    out = word_scores(np.ones((3, 2)), al)
    assert np.isnan(out[1]).all() and (out[0] == 1).all()
    assert (word_scores(np.ones((3, 2)), al, fill=0.0)[1] == 0).all()


def test_with_a_trained_sentencepiece_tokenizer() -> None:
    tokenizers = pytest.importorskip("tokenizers")
    corpus = [
        "Paciente con fiebre de 38,5 °C y dolor torácico.",
        "Pacient přichází pro bolest na hrudi.",
    ] * 20
    tok = tokenizers.SentencePieceUnigramTokenizer()
    tok.train_from_iterator(
        corpus, vocab_size=60, show_progress=False, special_tokens=["<unk>"], unk_token="<unk>"
    )
    text = "(fiebre) 😷 de 38,5°C\r\nbolest (HTA)"
    enc = tok.encode(text)
    words = word_spans(text)
    al = align_subwords(enc.offsets, words, tokens=enc.tokens)
    # every word is reached, and every kept subword overlaps its word
    assert (al.word_first_subword >= 0).all()
    for i in np.flatnonzero(al.kept):
        s, e = enc.offsets[i]
        a, b = words[al.word_ids[i]]
        assert s < b and a < e, (enc.tokens[i], (s, e), text[a:b])
    # word tags written on subwords and read back as words give the same spans
    span = Span(text.index("fiebre"), text.index("fiebre") + 6, "S")
    tags = spans_to_tags(words, [span], "BIO", label="S").tags
    names = tag_names(None, "BIO")
    labels = subword_label_ids(tags, al, names, "BIO", "all")
    one_hot = np.where(labels[:, None] == np.arange(3), 5.0, 0.0)
    back_tags = [names[i] for i in word_scores(one_hot, al, "mean").argmax(1)]
    assert tags_to_spans(back_tags, words, "BIO", label="S", text=text) == [
        Span(span.start, span.end, "S", "fiebre")
    ]
