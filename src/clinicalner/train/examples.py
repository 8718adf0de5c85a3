"""Training examples: merged documents, cut into windows, labelled per entity type.

Two details matter for the MultiClinAI data. The release ships each document once per
entity type (a ``disease`` folder and a ``symptom`` folder with the same text); those copies
are merged into one example carrying all their types, so the encoder sees each text once
per epoch with every label it has. And a type a document does not annotate gets
``type_mask = 0``, so its loss is not computed there (see ``model/loss.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clinicalner.document import Document
from clinicalner.model.inputs import EncodedDocument
from clinicalner.model.tags import word_tag_ids


def merge_documents(docs: Sequence[Document]) -> list[Document]:
    """Documents with identical text become one carrying the union of spans and annotated types.

    ``annotated_labels`` None (everything annotated) wins over any subset.
    """
    by_text: dict[str, Document] = {}
    order: list[str] = []
    for doc in docs:
        prev = by_text.get(doc.text)
        if prev is None:
            by_text[doc.text] = doc.with_spans(doc.spans)
            order.append(doc.text)
            continue
        seen = {s.key for s in prev.spans}
        prev.spans.extend(s for s in doc.spans if s.key not in seen)
        if prev.annotated_labels is None or doc.annotated_labels is None:
            prev.annotated_labels = None
        else:
            prev.annotated_labels = prev.annotated_labels | doc.annotated_labels
        prev.metadata.setdefault("merged_ids", [prev.id]).append(doc.id)
    return [by_text[t] for t in order]


@dataclass
class Example:
    """One window: subword ids with specials, labels (L, T), word positions for a CRF."""

    ids: np.ndarray  # (L,)
    labels: np.ndarray  # (L, T), -100 = no label
    type_mask: np.ndarray  # (T,) float32
    word_pos: np.ndarray  # (W,) positions in ids of the words' first subwords
    word_labels: np.ndarray  # (W, T)
    source: int = 0  # index of the corpus it came from (for sampling weights)


def sentence_token_ranges(enc: EncodedDocument) -> list[tuple[int, int]]:
    """Sentences as subword ranges [a, b)."""
    from clinicalner.text.sentences import sentence_spans

    if enc.n_subwords == 0:
        return []
    starts = enc.offsets[:, 0]
    cuts = {0, enc.n_subwords}
    for s, _ in sentence_spans(enc.doc.text, enc.doc.language):
        cuts.add(int(np.searchsorted(starts, s, side="left")))
    bounds = sorted(c for c in cuts if 0 <= c <= enc.n_subwords)
    # Every subword lies in exactly one range: pieces between sentences join the previous one.
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def window_ranges(enc: EncodedDocument, size: int, stride: int, mode: str) -> list[tuple[int, int]]:
    """Subword ranges of the training windows (``size`` excludes the special tokens)."""
    from clinicalner.text.windows import sentence_windows, sliding_windows, span_centred_windows

    if enc.n_subwords == 0:
        return []
    if mode == "sentence":
        return [tuple(w) for w in sentence_windows(sentence_token_ranges(enc), size)]
    if mode == "span_centred":
        return [
            tuple(w)
            for w in span_centred_windows(
                span_token_ranges(enc), sentence_token_ranges(enc), size, enc.n_subwords
            )
        ]
    return [tuple(w) for w in sliding_windows(enc.n_subwords, size, stride)]


def span_token_ranges(enc: EncodedDocument) -> list[tuple[int, int]]:
    """Each gold span as the subword range [a, b) of the pieces that overlap it."""
    if enc.n_subwords == 0:
        return []
    starts, ends = enc.offsets[:, 0], enc.offsets[:, 1]
    out = []
    for span in enc.doc.spans:
        a = int(np.searchsorted(ends, span.start, side="right"))
        b = int(np.searchsorted(starts, span.end, side="left"))
        if b > a:
            out.append((a, b))
    return out


def build_examples(
    encoded: Sequence[EncodedDocument],
    labels: Sequence[str],
    scheme: str,
    tags: Sequence[str],
    *,
    max_length: int,
    stride: int,
    windows: str,
    label_strategy: str,
    specials: tuple[int | None, int | None, int],
    sources: Sequence[int] | None = None,
) -> list[Example]:
    cls_id, sep_id, _ = specials
    n_pre = 1 if cls_id is not None else 0
    n_post = 1 if sep_id is not None else 0
    size = max_length - n_pre - n_post
    inside = tags.index("I") if "I" in tags else None
    examples: list[Example] = []
    for k, enc in enumerate(encoded):
        doc = enc.doc
        type_mask = np.asarray([1.0 if doc.annotates(lab) else 0.0 for lab in labels], dtype=np.float32)
        w = enc.words.shape[0]
        wtags = np.full((w, len(labels)), -100, dtype=np.int64)
        for t, lab in enumerate(labels):
            if type_mask[t]:
                wtags[:, t] = word_tag_ids(enc.words, doc.spans, lab, scheme, tags)
        sub_labels = np.full((enc.n_subwords, len(labels)), -100, dtype=np.int64)
        owners = enc.word_sub >= 0
        own = owners & ~enc.word_shared
        sub_labels[enc.word_sub[own]] = wtags[own]
        if label_strategy == "all" and inside is not None:
            cont = (enc.sub_word >= 0) & ~enc.sub_first
            wl = wtags[enc.sub_word[cont]]
            wl = np.where((wl > 0) & (wl != -100), inside, wl)
            sub_labels[cont] = wl
        for a, b in window_ranges(enc, size, stride, windows):
            ids = enc.ids[a:b]
            lab = sub_labels[a:b]
            if cls_id is not None:
                ids = np.concatenate(([cls_id], ids))
                lab = np.concatenate((np.full((1, len(labels)), -100), lab))
            if sep_id is not None:
                ids = np.concatenate((ids, [sep_id]))
                lab = np.concatenate((lab, np.full((1, len(labels)), -100)))
            in_win = own & (enc.word_sub >= a) & (enc.word_sub < b)
            widx = np.nonzero(in_win)[0]
            examples.append(
                Example(
                    ids=ids.astype(np.int64),
                    labels=lab.astype(np.int64),
                    type_mask=type_mask,
                    word_pos=(enc.word_sub[widx] - a + n_pre).astype(np.int64),
                    word_labels=wtags[widx],
                    source=sources[k] if sources is not None else 0,
                )
            )
    return examples


def class_weights(examples: Sequence[Example], n_types: int, n_tags: int, mode: str) -> np.ndarray | None:
    """(T, K) weights from label counts, normalised so the mean weight of seen tags is 1."""
    if mode == "none":
        return None
    counts = np.ones((n_types, n_tags), dtype=np.float64)
    for ex in examples:
        for t in range(n_types):
            col = ex.labels[:, t]
            col = col[col >= 0]
            if col.size:
                counts[t] += np.bincount(col, minlength=n_tags)
    freq = counts / counts.sum(1, keepdims=True)
    w = 1.0 / freq
    if mode == "sqrt_inverse":
        w = np.sqrt(w)
    w = w / w.mean(1, keepdims=True)
    return w.astype(np.float32)


def collate(batch: Sequence[Example], pad_id: int) -> dict[str, np.ndarray]:
    """Pad a batch to its longest window (dynamic padding)."""
    n = len(batch)
    length = max(len(ex.ids) for ex in batch)
    words = max(1, max(len(ex.word_pos) for ex in batch))
    n_types = batch[0].labels.shape[1]
    ids = np.full((n, length), pad_id, dtype=np.int64)
    mask = np.zeros((n, length), dtype=np.int64)
    labels = np.full((n, length, n_types), -100, dtype=np.int64)
    word_pos = np.zeros((n, words), dtype=np.int64)
    word_mask = np.zeros((n, words), dtype=bool)
    word_labels = np.full((n, words, n_types), -100, dtype=np.int64)
    type_mask = np.zeros((n, n_types), dtype=np.float32)
    for i, ex in enumerate(batch):
        m = len(ex.ids)
        ids[i, :m] = ex.ids
        mask[i, :m] = 1
        labels[i, :m] = ex.labels
        k = len(ex.word_pos)
        word_pos[i, :k] = ex.word_pos
        word_mask[i, :k] = True
        word_labels[i, :k] = ex.word_labels
        type_mask[i] = ex.type_mask
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": labels,
        "word_pos": word_pos,
        "word_mask": word_mask,
        "word_labels": word_labels,
        "type_mask": type_mask,
    }
