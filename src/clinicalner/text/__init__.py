"""Words, sentences and windows: how a document is cut before a model sees it.

Everything here returns half-open character offsets into the text exactly as given
(CRLF kept), so spans map back to the document without any re-alignment.
"""

from clinicalner.text.sentences import sentence_spans
from clinicalner.text.windows import (
    char_ranges_to_token_ranges,
    pool_windows,
    sentence_windows,
    sliding_windows,
    span_centred_windows,
)
from clinicalner.text.words import word_spans

__all__ = [
    "char_ranges_to_token_ranges",
    "pool_windows",
    "sentence_spans",
    "sentence_windows",
    "sliding_windows",
    "span_centred_windows",
    "word_spans",
]
