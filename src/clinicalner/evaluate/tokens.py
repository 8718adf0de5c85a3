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
from itertools import chain

import numpy as np

from .prepare import Prepared

Array = np.ndarray
TokenSpans = Callable[[str, "str | None"], Iterable[tuple[int, int]]]

DEFAULT_PATTERN = r"\w+|[^\w\s]"


def resolve_tokenizer(
    tokenize: Callable[[str], Iterable[tuple[int, int]]] | re.Pattern[str] | str | None,
) -> tuple[TokenSpans, str]:
    """A ``(text, language) -> [(start, end), ...]`` function and a name for the report.

    ``tokenize`` may be None (the default words), a tokenizer name as
    :func:`clinicalner.evaluate.splitters.token_splitter` reads it (``words``, ``gliner``,
    ``re:<regex>``, a tokenizer.json, a folder, a hub id ``org/name``: the same names as
    ``clinicalner evaluate --tokenizer`` and the benchmark's ``tokenize``), a compiled regular
    expression (each match is a token) or a callable taking the text and returning (start,
    end) pairs.
    """
    if tokenize is None:
        from clinicalner.text.words import word_spans

        return (lambda text, language: word_spans(text, language)), "clinicalner.text.words.word_spans"
    if isinstance(tokenize, str):
        from .splitters import token_splitter

        return resolve_tokenizer(token_splitter(tokenize))
    if isinstance(tokenize, re.Pattern):
        pattern = tokenize
        return (lambda text, language: [m.span() for m in pattern.finditer(text)]), f"regex {pattern.pattern}"
    if callable(tokenize):
        fn = tokenize
        return (lambda text, language: fn(text)), getattr(fn, "__name__", type(fn).__name__)
    raise TypeError(
        "tokenize must be None, a tokenizer name, a compiled regular expression or a callable, "
        f"not {type(tokenize).__name__}"
    )


def token_labels(n_chars: int, spans: Iterable[tuple[int, int, int]], tokens: Array, n_labels: int) -> Array:
    """Majority label of each token of one text; ``n_labels`` stands for ``O``.

    ``tokens`` is an (n, 2) array of offsets.
    """
    chars = paint(n_chars, spans, n_labels)
    return majority(chars, tokens[:, 0], tokens[:, 1], n_labels)


def paint(n_chars: int, spans: Iterable[tuple[int, int, int]], n_labels: int, offset: int = 0) -> Array:
    """Per-character labels, spans in order (a later span overwrites an earlier one)."""
    chars = np.full(n_chars, n_labels, dtype=np.int16 if n_labels < 32767 else np.int64)
    paint_into(chars, spans, offset)
    return chars


def paint_into(
    chars: Array, spans: Iterable[tuple[int, int, int]], offset: int = 0, limit: int | None = None
) -> None:
    """Write span labels into ``chars`` starting at ``offset`` (clipped to ``[offset, limit)``)."""
    hi = len(chars) if limit is None else limit
    for s, e, lab in spans:
        a, b = max(offset + s, offset), min(offset + e, hi)
        if a < b:
            chars[a:b] = lab


def majority(chars: Array, starts: Array, ends: Array, n_labels: int) -> Array:
    """Label covering most characters of each token (ties: lowest label index, ``O`` last).

    Counts inside a token come from one cumulative count per label over the whole character
    array, so a batch of documents costs a few array passes however many tokens it has; only
    tokens touching an entity character are voted on, the rest are ``O``.
    """
    n = len(chars)
    ts = np.clip(starts, 0, n)
    te = np.clip(ends, 0, n)
    labels = np.full(len(ts), n_labels, dtype=np.int64)
    cum = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(chars != n_labels, out=cum[1:])
    touched = np.flatnonzero((cum[te] - cum[ts] > 0) & (te > ts))
    if len(touched) == 0:
        return labels
    ts, te = ts[touched], te[touched]
    best = te - ts - (cum[te] - cum[ts])  # characters outside every span: the O count
    votes = np.full(len(touched), n_labels, dtype=np.int64)
    present = np.flatnonzero(np.bincount(chars, minlength=n_labels + 1)[:n_labels])
    for lab in present[::-1].tolist():
        np.cumsum(chars == lab, out=cum[1:])
        count = cum[te] - cum[ts]
        # visiting labels from last to first with >= lets the lowest index win ties, and any
        # entity label beat O on a tie
        better = count >= best
        votes[better] = lab
        best[better] = count[better]
    labels[touched] = votes
    return labels


_BATCH_CHARS = 4_000_000


def token_family(prep: Prepared, tokenize: TokenSpans) -> Array:
    """(documents, labels, 3) table of token tp, fp, fn per entity type.

    Documents are processed in batches: their texts laid end to end in one character array,
    so painting, majority votes and confusion counts are whole-array operations.
    """
    n_labels = prep.n_labels
    size = n_labels + 1
    out = np.zeros((prep.n_docs, n_labels, 3))
    g, p = prep.gold, prep.pred
    g_bounds = np.searchsorted(g.doc, np.arange(prep.n_docs + 1)).tolist()
    p_bounds = np.searchsorted(p.doc, np.arange(prep.n_docs + 1)).tolist()
    g_rows = list(zip(g.start.tolist(), g.end.tolist(), g.label.tolist(), strict=True))
    p_rows = list(zip(p.start.tolist(), p.end.tolist(), p.label.tolist(), strict=True))
    dtype = np.int16 if n_labels < 32767 else np.int64

    def flush(batch: list[int], texts: list[str], token_lists: list[list[tuple[int, int]]]) -> None:
        lengths = [len(t) for t in texts]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        total = int(offsets[-1])
        gold_chars = np.full(total, n_labels, dtype=dtype)
        pred_chars = np.full(total, n_labels, dtype=dtype)
        for k, d in enumerate(batch):
            lo, hi = int(offsets[k]), int(offsets[k + 1])
            paint_into(gold_chars, g_rows[g_bounds[d] : g_bounds[d + 1]], lo, hi)
            paint_into(pred_chars, p_rows[p_bounds[d] : p_bounds[d + 1]], lo, hi)
        counts = [len(t) for t in token_lists]
        flat = np.fromiter(chain.from_iterable(chain.from_iterable(token_lists)), np.int64, 2 * sum(counts))
        flat = flat.reshape(-1, 2)
        local_len = np.repeat(np.asarray(lengths, dtype=np.int64), counts)
        base = np.repeat(offsets[:-1], counts)
        # clip to the token's own document before shifting, so a token never reads a neighbour
        starts = base + np.clip(flat[:, 0], 0, local_len)
        ends = base + np.clip(flat[:, 1], 0, local_len)
        gt = majority(gold_chars, starts, ends, n_labels)
        pt = majority(pred_chars, starts, ends, n_labels)
        doc_of = np.repeat(np.asarray(batch, dtype=np.int64), counts)
        conf = np.bincount((doc_of * size + gt) * size + pt, minlength=prep.n_docs * size * size).reshape(
            prep.n_docs, size, size
        )
        tp = np.diagonal(conf, axis1=1, axis2=2)[:, :n_labels]
        out[:, :, 0] += tp
        out[:, :, 1] += conf[:, :, :n_labels].sum(axis=1) - tp
        out[:, :, 2] += conf[:, :n_labels, :].sum(axis=2) - tp

    batch: list[int] = []
    texts: list[str] = []
    token_lists: list[list[tuple[int, int]]] = []
    chars = 0
    for d in range(prep.n_docs):
        text = prep.text(d)
        doc = prep.gold_docs[d] or prep.pred_docs[d]
        tokens = list(tokenize(text, doc.language if doc is not None else None))
        if not tokens:
            continue
        batch.append(d)
        texts.append(text)
        token_lists.append(tokens)
        chars += len(text)
        if chars >= _BATCH_CHARS:
            flush(batch, texts, token_lists)
            batch, texts, token_lists, chars = [], [], [], 0
    if batch:
        flush(batch, texts, token_lists)
    return out
