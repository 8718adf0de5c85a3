"""One sentence per window (a tagging-time choice for text unlike the training data)."""

from __future__ import annotations

from clinicalner.model.subword_windows import one_sentence_windows


def test_each_sentence_is_its_own_window() -> None:
    assert one_sentence_windows([(0, 5), (5, 9), (9, 30)], size=32, stride=16) == [(0, 5), (5, 9), (9, 30)]


def test_a_sentence_longer_than_a_window_slides_inside_itself() -> None:
    wins = one_sentence_windows([(0, 4), (4, 44)], size=16, stride=12)
    assert wins[0] == (0, 4)
    inner = wins[1:]
    assert inner[0] == (4, 20) and inner[-1] == (28, 44)
    assert all(b - a == 16 and a >= 4 and b <= 44 for a, b in inner)
    covered = {i for a, b in inner for i in range(a, b)}
    assert covered == set(range(4, 44))
