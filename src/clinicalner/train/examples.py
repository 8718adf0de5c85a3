"""Training examples: merged documents, cut into windows, labelled per entity type.

Two details matter for the MultiClinAI data. The release ships each document once per
entity type (a ``disease`` folder and a ``symptom`` folder with the same text); those copies
are merged into one example carrying all their types, so the encoder sees each text once
per epoch with every label it has. And a type a document does not annotate gets
``type_mask = 0``, so its loss is not computed there (see ``model/loss.py``). A document
that annotates none of the trained types (a SYMPTOM folder when training ``--label
DISEASE``) teaches nothing and makes no windows: a batch of only such windows would have no
loss at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clinicalner.document import Document
from clinicalner.model.inputs import EncodedDocument, duplicate_pieces, padded_length
from clinicalner.model.subword_windows import window_ranges
from clinicalner.model.tags import word_tag_ids

log = logging.getLogger(__name__)


def annotating_documents(docs: Sequence[Document], labels: Sequence[str]) -> list[int]:
    """Indices of the documents that annotate at least one of ``labels`` (the others teach nothing)."""
    return [i for i, d in enumerate(docs) if any(d.annotates(lab) for lab in labels)]


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
    unannotated = 0
    for k, enc in enumerate(encoded):
        doc = enc.doc
        type_mask = np.asarray([1.0 if doc.annotates(lab) else 0.0 for lab in labels], dtype=np.float32)
        if not type_mask.any():
            unannotated += 1
            continue
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
            # Continuation pieces with content of their own; a piece sharing the next one's
            # offsets (a bare "▁" before an emoji) or an empty one stays unlabelled (-100).
            has_content = (enc.offsets[:, 1] > enc.offsets[:, 0]) & ~duplicate_pieces(enc.offsets)
            cont = (enc.sub_word >= 0) & ~enc.sub_first & has_content
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
                    word_labels=valid_word_paths(wtags[widx], scheme, tags),
                    source=sources[k] if sources is not None else 0,
                )
            )
    if unannotated:
        log.info("%d document(s) annotate none of the trained labels: no windows made", unannotated)
    return examples


def valid_word_paths(word_labels: np.ndarray, scheme: str, tags: Sequence[str]) -> np.ndarray:
    """Per type, the word tags of one window made a valid sequence of ``scheme``.

    A window cut inside a mention starts on ``I`` (or, with BIOES, ends on ``B``/``I``), and a
    word skipped because it shares a subword with its neighbour can leave ``O`` before ``I``.
    A CRF forbids those paths with -1e4 scores, so their gold score would swamp the loss
    (about 10 000 per window); the repaired path (``I`` -> ``B`` at a cut, ``B`` -> ``S`` ...)
    is the reading the tagger can produce. Columns of unannotated types (-100) are left alone.
    """
    from clinicalner.tag_sequences.decode import is_valid, repair

    out = word_labels.copy()
    for t in range(out.shape[1]):
        col = out[:, t]
        if col.size == 0 or (col < 0).any():
            continue
        names = [tags[i] for i in col]
        if not is_valid(names, scheme):
            out[:, t] = [tags.index(x) for x in repair(names, scheme)]
    return out


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


def collate(
    batch: Sequence[Example], pad_id: int, device: str = "cpu", max_length: int | None = None
) -> dict[str, np.ndarray]:
    """Pad a batch to its longest window (dynamic padding), rounded up on CUDA so the number
    of distinct shapes stays small (:func:`~clinicalner.model.inputs.padded_length`)."""
    n = len(batch)
    length = padded_length(max(len(ex.ids) for ex in batch), device, max_length)
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
