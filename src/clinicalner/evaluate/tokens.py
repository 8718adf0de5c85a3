"""Token-level scores as the M42 benchmark computes them (its §3.2.1), over words.

Each document's text is cut into tokens; each token takes the label that covers the
majority of its characters (a character map built from the spans in order, a later span
overwriting an earlier one; characters outside every span are ``O``; a zero-width token is
``O``). All tokens of all documents are then scored like scikit-learn's
``classification_report(gold, pred, labels=<the entity types>)``: ``O`` is left out of the
label list, so "micro" is P/R/F1 over entity-labelled tokens only, "macro" is the unweighted
mean over the types (a type absent from both sides scores 0 and counts), "weighted" weighs
each type by its gold support.

Differences from M42, both deliberate: M42 tokenises with each evaluated model's own
tokenizer, which makes scores incomparable across models, so here the tokenizer is fixed
and pluggable (default: :func:`clinicalner.text.words.word_spans` when available, else the
regex ``\\w+|[^\\w\\s]``). A tie between labels inside a token, which M42 breaks arbitrarily
(``max(set(...))``), goes to an entity type before ``O`` and then to the type listed first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np

from .prepare import Prepared

Array = np.ndarray
TokenSpans = Callable[[str, "str | None"], Iterable[tuple[int, int]]]

DEFAULT_PATTERN = r"\w+|[^\w\s]"


def resolve_tokenizer(
    tokenize: Callable[[str], Iterable[tuple[int, int]]] | str | None,
) -> tuple[TokenSpans, str]:
    """A ``(text, language) -> [(start, end), ...]`` function and a name for the report.

    ``tokenize`` may be None (the default words), a regular expression (each match is a
    token) or a callable taking the text and returning (start, end) pairs.
    """
    if tokenize is None:
        try:
            from clinicalner.text.words import word_spans
        except ImportError:
            return resolve_tokenizer(DEFAULT_PATTERN)
        return (lambda text, language: word_spans(text, language)), "clinicalner.text.words.word_spans"
    if isinstance(tokenize, str):
        pattern = re.compile(tokenize)
        return (lambda text, language: ((m.start(), m.end()) for m in pattern.finditer(text))), (
            f"regex {tokenize}"
        )
    if callable(tokenize):
        fn = tokenize
        return (lambda text, language: fn(text)), getattr(fn, "__name__", type(fn).__name__)
    raise TypeError(f"tokenize must be None, a regular expression or a callable, not {type(tokenize).__name__}")


def token_labels(n_chars: int, spans: Iterable[tuple[int, int, int]], tokens: Array, n_labels: int) -> Array:
    """Majority label of each token; ``n_labels`` stands for ``O``.

    ``tokens`` is an (n, 2) array of offsets. Label counts inside a token come from cumulative
    per-label character counts, so a document costs a few array passes whatever its length.
    """
    if len(tokens) == 0:
        return np.zeros(0, dtype=np.int64)
    chars = np.full(n_chars, n_labels, dtype=np.int64)
    for s, e, lab in spans:
        chars[max(s, 0) : max(e, 0)] = lab
    cum = np.zeros((n_chars + 1, n_labels + 1), dtype=np.int64)
    if n_chars:
        cum[np.arange(1, n_chars + 1), chars] = 1
        np.cumsum(cum, axis=0, out=cum)
    ts = np.clip(tokens[:, 0], 0, n_chars)
    te = np.clip(tokens[:, 1], 0, n_chars)
    counts = cum[te] - cum[ts]
    labels = np.argmax(counts, axis=1)
    labels[te <= ts] = n_labels
    return labels


def token_family(prep: Prepared, tokenize: TokenSpans) -> Array:
    """(documents, labels, 3) table of token tp, fp, fn per entity type."""
    n_labels = prep.n_labels
    size = n_labels + 1
    out = np.zeros((prep.n_docs, n_labels, 3))
    g, p = prep.gold, prep.pred
    g_bounds = np.searchsorted(g.doc, np.arange(prep.n_docs + 1)).tolist()
    p_bounds = np.searchsorted(p.doc, np.arange(prep.n_docs + 1)).tolist()
    g_rows = list(zip(g.start.tolist(), g.end.tolist(), g.label.tolist(), strict=True))
    p_rows = list(zip(p.start.tolist(), p.end.tolist(), p.label.tolist(), strict=True))
    for d in range(prep.n_docs):
        text = prep.text(d)
        doc = prep.gold_docs[d] or prep.pred_docs[d]
        spans = list(tokenize(text, doc.language if doc is not None else None))
        if not spans:
            continue
        tokens = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        gt = token_labels(len(text), g_rows[g_bounds[d] : g_bounds[d + 1]], tokens, n_labels)
        pt = token_labels(len(text), p_rows[p_bounds[d] : p_bounds[d + 1]], tokens, n_labels)
        conf = np.bincount(gt * size + pt, minlength=size * size).reshape(size, size)
        tp = np.diag(conf)[:n_labels]
        out[d, :, 0] = tp
        out[d, :, 1] = conf[:, :n_labels].sum(axis=0) - tp
        out[d, :, 2] = conf[:n_labels, :].sum(axis=1) - tp
    return out
