"""Training windows and their subword labels, on hand-made alignments (no tokenizer needed)."""

from __future__ import annotations

import numpy as np
import pytest

from clinicalner.document import Document, Span
from clinicalner.model.config import SCHEME_TAGS
from clinicalner.model.inputs import EncodedDocument, align
from clinicalner.train.examples import build_examples

TEXT = "Dolor 😷 fiebre"
WORDS = np.array([[0, 5], [6, 7], [8, 14]])
# multilingual-e5's SentencePiece pieces: "▁Dolor" "▁" "😷" "▁fie" "bre"; the bare "▁" has the
# emoji's offsets (it is a shared piece, never a word's first), then an empty piece.
PIECES = ["▁Dolor", "▁", "😷", "▁fie", "bre", "▁"]
OFFSETS = np.array([[0, 5], [6, 7], [6, 7], [8, 11], [11, 14], [14, 14]])


def _encoded(spans: list[Span]) -> EncodedDocument:
    sub_word, sub_first, word_sub, word_shared = align(OFFSETS, WORDS)
    ids = np.arange(10, 10 + len(PIECES), dtype=np.int64)
    return EncodedDocument(
        Document("d", TEXT, spans, "es"), WORDS, ids, OFFSETS, sub_word, sub_first, word_sub, word_shared
    )


def _labels(enc: EncodedDocument, strategy: str) -> dict[str, int]:
    (ex,) = build_examples(
        [enc],
        ["SYMPTOM"],
        "BIO",
        SCHEME_TAGS["BIO"],
        max_length=16,
        stride=8,
        windows="sliding",
        label_strategy=strategy,
        specials=(1, 2, 0),
    )
    return {f"{i}:{p}": int(lab) for i, (p, lab) in enumerate(zip(PIECES, ex.labels[1:-1, 0], strict=True))}


@pytest.mark.parametrize("strategy", ["first", "all"])
def test_shared_and_empty_pieces_get_no_training_label(strategy):
    """With ``all``, the bare "▁" sharing the emoji's offsets got the inside tag (I) before the
    emoji's own B: a piece without content of its own must be masked (-100) as with ``first``."""
    enc = _encoded([Span(6, 7, "SYMPTOM", "😷"), Span(8, 14, "SYMPTOM", "fiebre")])
    labels = _labels(enc, strategy)
    assert labels["1:▁"] == -100 and labels["5:▁"] == -100
    assert labels["2:😷"] == 1 and labels["3:▁fie"] == 1 and labels["0:▁Dolor"] == 0
    assert labels["4:bre"] == (2 if strategy == "all" else -100)


def test_all_strategy_labels_continuations_outside_mentions_o():
    labels = _labels(_encoded([Span(6, 7, "SYMPTOM", "😷")]), "all")
    assert labels == {"0:▁Dolor": 0, "1:▁": -100, "2:😷": 1, "3:▁fie": 0, "4:bre": 0, "5:▁": -100}
