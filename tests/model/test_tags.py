"""Tag ids to mentions: the decoder's array fast path reads exactly as the reference loop."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicalner.model.config import SCHEME_TAGS
from clinicalner.model.tags import ids_to_spans, word_runs


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["BIO", "IO", "BIOES"]), st.data())
def test_word_runs_equal_the_reference_reading(scheme, data):
    tags = SCHEME_TAGS[scheme]
    ids = data.draw(st.lists(st.integers(0, len(tags) - 1), max_size=40))
    words = np.asarray([(2 * k, 2 * k + 1) for k in range(len(ids))], dtype=np.int64).reshape(-1, 2)
    expected = [(a, b) for a, b, _, _ in ids_to_spans(ids, words, "X", scheme, tags)]
    got = word_runs(np.asarray(ids, dtype=np.int64), scheme, tags)
    assert got.shape == (len(expected), 2)
    assert [tuple(r) for r in got.tolist()] == expected


def test_word_runs_on_a_hand_made_bio_sequence():
    o, b, i = 0, 1, 2
    ids = [i, i, o, b, b, i, o, i, b]
    assert word_runs(ids, "BIO", SCHEME_TAGS["BIO"]).tolist() == [[0, 1], [3, 3], [4, 5], [7, 7], [8, 8]]
