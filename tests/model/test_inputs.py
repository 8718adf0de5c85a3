import numpy as np

from clinicalner.model.inputs import align


def test_align_first_pieces_and_shared_words():
    # text: "mg/dl fever"  words: mg / dl fever
    words = np.array([[0, 2], [2, 3], [3, 5], [6, 11]])
    # pieces: "mg" "/dl" "▁fe"(with leading space 5..8) "ver"
    offsets = np.array([[0, 2], [2, 5], [5, 8], [8, 11]])
    sub_word, sub_first, word_sub, word_shared = align(offsets, words)
    assert sub_word.tolist() == [0, 1, 3, 3]
    assert sub_first.tolist() == [True, True, True, False]
    # "dl" has no piece of its own: it is covered by "/dl" (piece 1) and marked shared.
    assert word_sub.tolist() == [0, 1, 1, 2]
    assert word_shared.tolist() == [False, False, True, False]


def test_align_byte_fallback_duplicates_and_empty_pieces():
    # One emoji split into three byte pieces with identical offsets, then an empty piece.
    words = np.array([[0, 1], [2, 6]])
    offsets = np.array([[0, 1], [0, 1], [0, 1], [2, 2], [2, 6]])
    sub_word, sub_first, word_sub, word_shared = align(offsets, words)
    assert sub_first.tolist() == [False, False, True, False, True]
    assert sub_word.tolist() == [0, 0, 0, -1, 1]
    assert word_sub.tolist() == [2, 4]
    assert not word_shared.any()


def test_align_uncovered_word_is_minus_one():
    words = np.array([[0, 3], [4, 5]])
    offsets = np.array([[0, 3]])
    _, _, word_sub, word_shared = align(offsets, words)
    assert word_sub.tolist() == [0, -1]
    assert not word_shared.any()


def test_padded_length_rounds_to_64_on_cuda_only():
    from clinicalner.model.inputs import padded_length

    # CPU and MPS: the batch's own longest row, no extra compute.
    assert [padded_length(n, "cpu") for n in (1, 37, 64, 65, 256)] == [1, 37, 64, 65, 256]
    assert padded_length(37, "mps") == 37
    # CUDA (any index): a multiple of 64, so cuDNN sees a handful of shapes.
    assert [padded_length(n, "cuda") for n in (1, 37, 64, 65, 200)] == [64, 64, 64, 128, 256]
    assert padded_length(65, "cuda:1") == 128
    # Never past the window length (the encoder's positions), never below the row itself.
    assert padded_length(200, "cuda", limit=230) == 230
    assert padded_length(200, "cuda", limit=256) == 256
    assert padded_length(200, "cuda", limit=100) == 200
    assert padded_length(0, "cuda") == 0
    lengths = {padded_length(n, "cuda", limit=512) for n in range(1, 513)}
    assert lengths == {64 * k for k in range(1, 9)}
