"""Spans to tag sequences and back: label schemes, subword alignment, decoding (numpy only)."""

from clinicalner.tag_sequences.alignment import Alignment, align_subwords, subword_label_ids, word_scores
from clinicalner.tag_sequences.decode import (
    allowed_end,
    allowed_start,
    allowed_transitions,
    decode,
    decode_spans,
    is_valid,
    repair,
    span_confidence,
    viterbi,
    viterbi_batch,
)
from clinicalner.tag_sequences.schemes import (
    SCHEMES,
    Tagging,
    chunks,
    spans_to_tags,
    tag_names,
    tags_to_spans,
)

__all__ = [
    "SCHEMES",
    "Alignment",
    "Tagging",
    "align_subwords",
    "allowed_end",
    "allowed_start",
    "allowed_transitions",
    "chunks",
    "decode",
    "decode_spans",
    "is_valid",
    "repair",
    "span_confidence",
    "spans_to_tags",
    "subword_label_ids",
    "tag_names",
    "tags_to_spans",
    "viterbi",
    "viterbi_batch",
    "word_scores",
]
