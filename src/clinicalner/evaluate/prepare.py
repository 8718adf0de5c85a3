"""Pairing gold and predicted documents and flattening their spans into arrays.

Every metric sees the same prepared data, so the policies live here, once:

- Documents are keyed by (language, id): a parallel corpus may use the same file names in
  every language. A gold and a predicted document pair when their keys are equal; when one
  side does not know the language (a bare predictions TSV) they pair by id alone, and an id
  the gold has under several languages is then an error (which language a row means cannot be
  told): score one language at a time, or give the predictions as a tree whose folders name
  the language. A predicted language the gold never names (a folder name that only looks like
  a language code) counts as none. When several predicted documents pair with one gold
  document (its exact key and a language-less copy) they are copies and merged as below; with
  two different texts that is an error.
- Several documents with one key on one side are copies of one document and are merged: the
  MultiClinAI per-type folders hold one text once per entity type (annotated types are
  united), and BC5CDR's training file repeats the development abstracts. Spans present in an
  earlier copy are not added again (a multiset union: a span written twice in one copy stays
  twice), counted in ``stats["gold_spans_repeated_in_copies"]`` and warned about. Copies must
  share their text: one key with two different texts is an error.
- The documents scored are the union of both sides, gold order first. A predicted document
  with no gold counterpart keeps its predictions, which are false positives for the
  MultiClinAI-style metrics (the official evaluator does this); a gold document without
  predictions has all its spans missed.
- ``labels`` restricts both sides to those types (the official ``--entity`` filter and
  nervaluate's ``tags``). Without it the types are those of the gold spans, the gold
  documents' ``annotated_labels`` and the surviving predictions. A requested label found on
  neither side is a warning; when none is found, an error naming the labels there are.
- With ``mask_unannotated`` a prediction whose type its gold document does not annotate
  (``Document.annotated_labels``) is ignored, not a false positive: a MultiClinAI SYMPTOM
  document says nothing about diseases.
- A span with ``end <= start`` is an error (the official MultiClinAI evaluator refuses the whole
  run), and so is a prediction that ends past the end of its document's text, when the text is known
  (the gold's; a bare TSV without texts cannot be checked): such a prediction is a bug of the
  tagger or of the file, not a near miss. With ``invalid_predictions="false_positive"`` such
  *predicted* spans are instead counted
  as false positives by every metric, as the MultiCardioNER evaluator does: each is replaced by a
  unique one-character span beyond the end of any text, which matches and overlaps nothing.
- Two views of the spans. The bug-compatible official variants see every row as their peers
  do: a discontinuous span by its outer bounds (the official TSV formats have no fragments),
  gold rows never de-duplicated. The clean metrics (``strict``, ``relaxed``, ``semeval_*``)
  see :attr:`Prepared.gold_clean` and :attr:`Prepared.pred_clean`: a discontinuous span is its
  fragments (``shape``), so it equals only a span with the same fragments and overlaps through
  its fragments only, and an exactly repeated span (same document, label and fragments) is one
  mention: a duplicated annotation line is not two mentions.
- Token metrics cut the gold document's text; a predicted document's text is used only when
  there is no gold one (``stats["documents_with_different_text"]`` counts disagreements).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

import numpy as np

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError

from .spans import first_occurrence

Array = np.ndarray
Key = tuple[str | None, str]  # (language, id)

_START, _END, _LABEL = attrgetter("start"), attrgetter("end"), attrgetter("label")
_FRAGMENTS = attrgetter("fragments")

INVALID_HINT = (
    "to count them as false positives (as the MultiCardioNER scorer does) pass "
    "--invalid-predictions false_positive"
)


@dataclass
class SpanArrays:
    """One side's spans as parallel arrays (document index, label index, start, end, shape).

    Rows are in document order, and within a document in the order of ``Document.spans``:
    the order-dependent peers (nervaluate, the greedy official matchers) depend on it.
    ``rows`` points into ``source``, the side's flattened Span objects, which only the
    text-comparing metric and the fragments need. ``shape`` is 0 for a contiguous span and
    otherwise an id of its fragments, shared by both sides of one evaluation.
    """

    doc: Array
    label: Array
    start: Array
    end: Array
    rows: Array
    source: list[Span]
    shape: Array

    def __len__(self) -> int:
        return len(self.start)

    def take(self, mask: Array) -> SpanArrays:
        idx = np.flatnonzero(mask)
        return SpanArrays(
            self.doc[idx],
            self.label[idx],
            self.start[idx],
            self.end[idx],
            self.rows[idx],
            self.source,
            self.shape[idx],
        )

    @property
    def spans(self) -> list[Span]:
        return [self.source[i] for i in self.rows.tolist()]

    def group(self, n_labels: int) -> Array:
        """The (document, label) cell of each span, as one integer."""
        return self.doc * n_labels + self.label

    @property
    def irregular(self) -> Array:
        """Which rows are discontinuous (matched through their fragments by the clean metrics)."""
        return self.shape != 0

    def pieces(self) -> tuple[Array, Array, Array]:
        """(row, start, end) of every fragment; a contiguous span is its own single fragment."""
        disc = np.flatnonzero(self.shape != 0)
        if len(disc) == 0:
            return np.arange(len(self), dtype=np.int64), self.start, self.end
        rows: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        for i, r in zip(disc.tolist(), self.rows[disc].tolist(), strict=True):
            for a, b in self.source[r].fragments or ():
                rows.append(i)
                starts.append(a)
                ends.append(b)
        plain = np.flatnonzero(self.shape == 0)
        row = np.concatenate([plain, np.asarray(rows, dtype=np.int64)])
        start = np.concatenate([self.start[plain], np.asarray(starts, dtype=np.int64)])
        end = np.concatenate([self.end[plain], np.asarray(ends, dtype=np.int64)])
        order = np.argsort(row, kind="stable")
        return row[order], start[order], end[order]


@dataclass
class Prepared:
    """Both sides of an evaluation, aligned on one document index and one label index."""

    doc_ids: list[str]
    gold_docs: list[Document | None]
    pred_docs: list[Document | None]
    labels: tuple[str, ...]
    gold: SpanArrays
    pred: SpanArrays
    stats: dict[str, int]
    cache: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_docs(self) -> int:
        return len(self.doc_ids)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @property
    def pred_unique(self) -> SpanArrays:
        """Predictions with duplicates (same document, label, start, end) dropped, first kept.

        The official scorers' ``drop_duplicates``: fragments are not looked at.
        """
        if "pred_unique" not in self.cache:
            p = self.pred
            self.cache["pred_unique"] = p.take(first_occurrence(p.doc, p.label, p.start, p.end))
        return self.cache["pred_unique"]

    @property
    def gold_clean(self) -> SpanArrays:
        """Gold mentions for the clean metrics: one row per distinct (document, label, fragments)."""
        if "gold_clean" not in self.cache:
            g = self.gold
            self.cache["gold_clean"] = g.take(first_occurrence(g.doc, g.label, g.start, g.end, g.shape))
        return self.cache["gold_clean"]

    @property
    def pred_clean(self) -> SpanArrays:
        """Predictions for the clean metrics: one row per distinct (document, label, fragments)."""
        if "pred_clean" not in self.cache:
            p = self.pred
            self.cache["pred_clean"] = p.take(first_occurrence(p.doc, p.label, p.start, p.end, p.shape))
        return self.cache["pred_clean"]

    def clean_stats(self) -> dict[str, int]:
        """How many repeated spans the clean views drop (two extra sorts: ask only when a clean
        metric is computed, which builds those views anyway)."""
        return {
            "predicted_span_repeats": len(self.pred) - len(self.pred_clean),
            "gold_span_repeats": len(self.gold) - len(self.gold_clean),
        }

    def text(self, d: int) -> str:
        """The text a document's tokens come from: the gold one, else the prediction's."""
        doc = self.gold_docs[d] or self.pred_docs[d]
        return doc.text if doc is not None else ""

    def cells(self, doc: Array, label: Array, weights: Array | None = None) -> Array:
        """Sum ``weights`` (or count rows) into a (documents, labels) table."""
        n = self.n_docs * self.n_labels
        flat = np.bincount(doc * self.n_labels + label, weights=weights, minlength=n)
        return flat.reshape(self.n_docs, self.n_labels)


# --------------------------------------------------------------------------- pairing


def _span_identity(s: Span) -> tuple[Any, ...]:
    return (s.start, s.end, s.label, s.fragments)


def _where(doc: Document) -> str:
    return str(doc.metadata.get("source") or "?")


def _merge(docs: Sequence[Document], side: str) -> tuple[Document, int]:
    """One document from the copies of one (language, id); and how many spans were repeats."""
    if len(docs) == 1:
        return docs[0], 0
    texts = [d for d in docs if d.text]
    for d in texts[1:]:
        if d.text != texts[0].text:
            lang = f" ({docs[0].language})" if docs[0].language else ""
            raise CorpusError(
                f"{side} document {docs[0].id!r}{lang} appears twice with different texts "
                f"({_where(texts[0])} and {_where(d)}): document ids must be unique per language",
                d.metadata.get("source"),
            )
    spans = list(docs[0].spans)
    have = Counter(_span_identity(s) for s in spans)
    repeated = 0
    for d in docs[1:]:
        mine: Counter[tuple[Any, ...]] = Counter()
        for s in d.spans:
            k = _span_identity(s)
            mine[k] += 1
            if mine[k] <= have[k]:
                repeated += 1  # this copy only repeats a span an earlier copy has
                continue
            spans.append(s)
        have |= mine
    annotated: frozenset[str] | None = frozenset()
    for d in docs:
        if d.annotated_labels is None:
            annotated = None
            break
        annotated = annotated | d.annotated_labels  # type: ignore[operator]
    base = texts[0] if texts else docs[0]
    merged = replace(base, spans=spans, annotated_labels=annotated, metadata=dict(base.metadata))
    return merged, repeated


@dataclass
class _Side:
    docs: dict[Key, Document]
    copies: int  # input documents folded into an earlier one with the same key
    repeated: int  # spans of those copies that repeated a span already there
    example: str | None  # one repeated document, for the warning


def _by_key(docs: Iterable[Document], side: str) -> _Side:
    groups: dict[Key, list[Document]] = {}
    for d in docs:
        groups.setdefault((d.language, d.id), []).append(d)
    out: dict[Key, Document] = {}
    copies = repeated = 0
    example = None
    for k, v in groups.items():
        if len(v) == 1:  # the usual case, kept cheap: this runs once per document
            out[k] = v[0]
            continue
        out[k], r = _merge(v, side)
        copies += len(v) - 1
        repeated += r
        if r and example is None:
            sources = sorted({_where(d) for d in v})
            example = f"{k[1]!r} in {' and '.join(sources)}"
    return _Side(out, copies, repeated, example)


def _pair(
    gold: dict[Key, Document], pred: dict[Key, Document]
) -> tuple[dict[Key, Key | None], dict[Key, list[Key]]]:
    """For every predicted key, the gold key it is scored against (None: no gold document);
    and, for each gold key that several predicted keys pair with, those keys in order.

    Several predicted keys may pair with one gold document (its exact key and a language-less
    or unknown-language copy): they are copies of one prediction and :func:`prepare` merges
    them, as it merges copies with one key. Their texts must agree (an empty text agrees with
    any). Two predicted *languages* for one language-less gold document are ambiguous: which
    language the gold means cannot be told.
    """
    by_id: dict[str, list[Key]] = {}
    for k in gold:
        by_id.setdefault(k[1], []).append(k)
    # A language the gold never names came from a folder name that only looks like one
    # (predictions written to ".../run-it/"): such a document pairs by id, like one without.
    gold_languages = {k[0] for k in gold}
    out: dict[Key, Key | None] = {}
    ambiguous: dict[str, list[Key]] = {}
    taken: dict[Key, Key] = {}  # gold key -> the first predicted key paired with it
    shared: dict[Key, list[Key]] = {}
    for pk in pred:
        target: Key | None = None
        if pk in gold:
            target = pk
        else:
            lang, doc_id = pk
            candidates = by_id.get(doc_id, [])
            if lang is not None and lang in gold_languages:
                # a gold document that names another language is another document
                candidates = [k for k in candidates if k[0] is None]
            if len(candidates) == 1:
                target = candidates[0]
            elif len(candidates) > 1:
                ambiguous[doc_id] = candidates
                continue
        if target is not None:
            other = taken.get(target)
            if other is not None:
                if target[0] is None and other[0] is not None and pk[0] is not None:
                    # two predicted languages for one language-less gold document
                    ambiguous[target[1]] = [other, pk]
                    continue
                first, second = pred[other], pred[pk]
                if first.text and second.text and first.text != second.text:
                    raise CorpusError(
                        f"predicted documents {_show_key(other)} ({_where(first)}) and {_show_key(pk)} "
                        f"({_where(second)}) both pair with gold document {_show_key(target)} but their "
                        "texts differ: give the predictions of one language, or name the language "
                        "of every predicted document",
                        second.metadata.get("source"),
                    )
                shared.setdefault(target, [other]).append(pk)
            else:
                taken[target] = pk
        out[pk] = target
    if ambiguous:
        doc_id, keys = next(iter(ambiguous.items()))
        langs = ", ".join(sorted(str(k[0]) for k in keys))
        raise CorpusError(
            f"{len(ambiguous)} document id(s) appear under several languages on one side but with no "
            f"language on the other (e.g. {doc_id!r}: {langs}), so which document a span belongs to "
            "cannot be told: score one language at a time (the gold folder of one language), or give the predictions as a tree whose "
            "folders name the language (MultiClinNER-<lang>/... or <lang>/<split>/<type>/)"
        )
    return out, shared


def _show_key(k: Key) -> str:
    return f"{k[1]!r} ({k[0] or 'no language'})"


def _display_ids(keys: list[Key]) -> list[str]:
    """Document names for reports: the id, prefixed with the language where ids repeat."""
    n = Counter(k[1] for k in keys)
    return [f"{k[0]}/{k[1]}" if n[k[1]] > 1 else k[1] for k in keys]


# --------------------------------------------------------------------------- flattening


def _flatten(
    docs: list[Document | None], label_index: dict[str, int], shapes: dict[tuple[tuple[int, int], ...], int]
) -> tuple[Array, Array, Array, Array, list[Span], Array]:
    spans: list[Span] = []
    counts: list[int] = []
    for doc in docs:
        n = 0 if doc is None else len(doc.spans)
        if n:
            spans.extend(doc.spans)  # type: ignore[union-attr]
        counts.append(n)
    n = len(spans)
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), counts)
    start = np.fromiter(map(_START, spans), dtype=np.int64, count=n)
    end = np.fromiter(map(_END, spans), dtype=np.int64, count=n)
    names = list(map(_LABEL, spans))
    for name in dict.fromkeys(names):
        label_index.setdefault(name, len(label_index))
    label = np.fromiter(map(label_index.__getitem__, names), dtype=np.int64, count=n)
    shape = np.zeros(n, dtype=np.int64)
    if not any(map(_FRAGMENTS, spans)):  # the usual case, checked at C speed
        return doc, label, start, end, spans, shape
    for i, s in enumerate(spans):
        if s.fragments is not None and len(s.fragments) > 1:
            shape[i] = shapes.setdefault(s.fragments, len(shapes) + 1)
    return doc, label, start, end, spans, shape


def _text_lengths(gold_docs: list[Document | None], pred_docs: list[Document | None]) -> Array:
    """Per document, the length of the text its spans are scored on (the gold's), -1 unknown.

    A bare TSV without its texts knows none: then a span's end cannot be checked.
    """
    out = np.full(len(gold_docs), -1, dtype=np.int64)
    for k, (g, p) in enumerate(zip(gold_docs, pred_docs, strict=True)):
        text = g.text if g is not None and g.text else (p.text if p is not None else "")
        if text:
            out[k] = len(text)
    return out


def _invalid(doc: Array, start: Array, end: Array, lengths: Array) -> Array:
    """Spans that end before they start, or past the end of a known text."""
    limit = lengths[doc] if len(doc) else np.zeros(0, dtype=np.int64)
    return (end <= start) | ((limit >= 0) & (end > limit))


def _check(
    side: str,
    docs: list[Document | None],
    doc_ids: list[str],
    doc: Array,
    start: Array,
    end: Array,
    spans: list[Span],
    lengths: Array,
) -> None:
    bad = np.flatnonzero(_invalid(doc, start, end, lengths))
    if len(bad):
        i = int(bad[0])
        s = spans[i]
        d = docs[int(doc[i])]
        source = d.metadata.get("source") if d is not None else None
        line = _line_of(source, d.id if d is not None else "", s) if source else None
        hint = ""
        if side == "predicted":
            official = "the official MultiClinAI scorer refuses such a file; " if s.end <= s.start else ""
            hint = f"; {official}{INVALID_HINT}"
        what = (
            "has end <= start"
            if s.end <= s.start
            else f"ends past the end of its text (length {int(lengths[int(doc[i])])})"
        )
        raise CorpusError(
            f"{side} span {s.start}-{s.end} ({s.label}) of document {doc_ids[int(doc[i])]!r} {what} "
            f"({len(bad)} invalid spans: end <= start or past the end of the text){hint}",
            source,
            line,
        )


def _line_of(source: str, doc_id: str, span: Span) -> int | None:
    """The line of a TSV row holding this span, looked up only to name it in an error."""
    if not str(source).lower().endswith(".tsv"):
        return None
    try:
        from pathlib import Path

        from clinicalner.errors import Problems
        from clinicalner.io.multiclinai import read_rows

        for r in read_rows(Path(source), Problems(lenient=True)):
            if r.doc == doc_id and (r.start, r.end, r.label) == (span.start, span.end, span.label):
                return r.line
    except (OSError, CorpusError):
        return None
    return None


def prepare(
    gold: Iterable[Document],
    pred: Iterable[Document],
    *,
    labels: Sequence[str] | None = None,
    mask_unannotated: bool = True,
    invalid_predictions: str = "error",
) -> Prepared:
    if invalid_predictions not in ("error", "false_positive"):
        raise ValueError(
            f"invalid_predictions must be 'error' or 'false_positive', not {invalid_predictions!r}"
        )
    gold_side = _by_key(gold, "gold")
    pred_side = _by_key(pred, "predicted")
    gold_map, pred_map = gold_side.docs, pred_side.docs
    pairing, shared = _pair(gold_map, pred_map)
    paired = {g: pred_map[p] for p, g in pairing.items() if g is not None}
    for g_key, p_keys in shared.items():
        # several predicted keys for one gold document (its own and a language-less copy):
        # copies of one prediction, merged like copies with one key (_pair checked the texts)
        paired[g_key], r = _merge([pred_map[k] for k in p_keys], "predicted")
        pred_side.copies += len(p_keys) - 1
        pred_side.repeated += r
        if r and pred_side.example is None:
            pred_side.example = (
                f"{g_key[1]!r} in {' and '.join(sorted({_where(pred_map[k]) for k in p_keys}))}"
            )
    unpaired = [p for p, g in pairing.items() if g is None]
    keys = list(gold_map) + unpaired
    gold_docs: list[Document | None] = [*gold_map.values(), *([None] * len(unpaired))]
    pred_docs: list[Document | None] = [paired.get(k) for k in gold_map] + [pred_map[k] for k in unpaired]
    doc_ids = _display_ids(keys)

    index: dict[str, int] = {}
    shapes: dict[tuple[tuple[int, int], ...], int] = {}
    g_doc, g_lab, g_start, g_end, g_spans, g_shape = _flatten(gold_docs, index, shapes)
    p_doc, p_lab, p_start, p_end, p_spans, p_shape = _flatten(pred_docs, index, shapes)
    lengths = _text_lengths(gold_docs, pred_docs)
    # Gold spans were checked against their text by the readers; only end <= start is looked at.
    unknown = np.full(len(keys), -1, dtype=np.int64)
    _check("gold", gold_docs, doc_ids, g_doc, g_start, g_end, g_spans, unknown)
    invalid = np.flatnonzero(_invalid(p_doc, p_start, p_end, lengths))
    if len(invalid) and invalid_predictions == "false_positive":
        far = 1 << 40  # beyond any text: overlaps nothing, equals nothing
        p_start = p_start.copy()
        p_end = p_end.copy()
        p_shape = p_shape.copy()
        p_start[invalid] = far + 2 * np.arange(len(invalid))
        p_end[invalid] = p_start[invalid] + 1
        p_shape[invalid] = 0
        p_spans = list(p_spans)
        for k, i in enumerate(invalid.tolist()):
            p_spans[i] = replace(
                p_spans[i], start=int(p_start[i]), end=int(p_end[i]), text=f"\x00invalid{k}", fragments=None
            )
    elif len(invalid):
        _check("predicted", pred_docs, doc_ids, p_doc, p_start, p_end, p_spans, lengths)
    counts = {
        "invalid_predictions_counted_as_false_positives": len(invalid)
        if invalid_predictions == "false_positive"
        else 0,
        "gold_documents": len(gold_map),
        "predicted_documents": len(pred_map),
        "predicted_documents_without_gold": len(unpaired),
        "gold_documents_without_predictions": len(gold_map) - len(paired),
    }
    return assemble(
        doc_ids,
        gold_docs,
        pred_docs,
        index,
        (g_doc, g_lab, g_start, g_end, g_spans, g_shape),
        (p_doc, p_lab, p_start, p_end, p_spans, p_shape),
        labels=labels,
        mask_unannotated=mask_unannotated,
        counts=counts,
        copies=(gold_side, pred_side),
    )


Flat = tuple[Array, Array, Array, Array, list[Span], Array]  # doc, label, start, end, spans, shape


def assemble(
    doc_ids: list[str],
    gold_docs: list[Document | None],
    pred_docs: list[Document | None],
    index: dict[str, int],
    gold: Flat,
    pred: Flat,
    *,
    labels: Sequence[str] | None,
    mask_unannotated: bool,
    counts: dict[str, int],
    copies: tuple[_Side, _Side],
) -> Prepared:
    """The label universe, label filter and masking, stats and warnings, from flattened spans.

    Shared by :func:`prepare` and the columnar path (:mod:`clinicalner.evaluate.columnar`),
    which flattens a bare TSV without a ``Span`` per row: the policies stay in one place.
    ``index`` maps the labels met so far to their column in ``gold``/``pred``'s label codes.
    """
    g_doc, g_lab, g_start, g_end, g_spans, g_shape = gold
    p_doc, p_lab, p_start, p_end, p_spans, p_shape = pred
    gold_side, pred_side = copies
    for d in gold_docs:
        if d is not None and d.annotated_labels:
            for lab in sorted(d.annotated_labels):
                index.setdefault(lab, len(index))
    names = list(index)
    n_all = len(names)

    warnings: list[str] = []
    keep_label = np.ones(n_all, dtype=bool)
    if labels is not None:
        wanted = list(dict.fromkeys(labels))
        absent = [lab for lab in wanted if lab not in index]
        if absent and names and len(absent) == len(wanted):
            raise CorpusError(
                f"label(s) {', '.join(absent)} are in neither the gold nor the predictions; "
                f"the labels there are: {', '.join(sorted(names))} (labels are case-sensitive)"
            )
        if absent:
            warnings.append(
                f"label(s) {', '.join(absent)} are in neither the gold nor the predictions (they score 0); "
                f"the labels there are: {', '.join(sorted(names))}"
            )
        keep_label = np.array([n in set(wanted) for n in names], dtype=bool)

    p_keep = keep_label[p_lab] if len(p_lab) else np.zeros(0, dtype=bool)
    masked = 0
    if mask_unannotated and len(p_lab):
        restricted = [d for d, g in enumerate(gold_docs) if g is not None and g.annotated_labels is not None]
        if restricted:
            allowed = np.ones((len(doc_ids), n_all), dtype=bool)
            for d in restricted:
                allowed[d] = False
                ann = gold_docs[d].annotated_labels  # type: ignore[union-attr]
                allowed[d, [index[lab] for lab in ann]] = True  # type: ignore[union-attr]
            ok = allowed[p_doc, p_lab]
            masked = int((p_keep & ~ok).sum())
            p_keep &= ok
    g_keep = keep_label[g_lab] if len(g_lab) else np.zeros(0, dtype=bool)

    if labels is not None:
        universe = list(dict.fromkeys(labels))
    else:
        present = set(np.flatnonzero(np.bincount(g_lab[g_keep], minlength=n_all)).tolist())
        present |= set(np.flatnonzero(np.bincount(p_lab[p_keep], minlength=n_all)).tolist())
        for d in gold_docs:
            if d is not None and d.annotated_labels:
                present.update(index[lab] for lab in d.annotated_labels)
        universe = sorted(names[i] for i in present)
    remap = np.full(n_all + 1, -1, dtype=np.int64)
    for new, name in enumerate(universe):
        if name in index:
            remap[index[name]] = new

    def side(
        doc: Array, lab: Array, start: Array, end: Array, spans: list[Span], shape: Array, keep: Array
    ) -> SpanArrays:
        idx = np.flatnonzero(keep)
        return SpanArrays(doc[idx], remap[lab[idx]], start[idx], end[idx], idx, spans, shape[idx])

    g = side(g_doc, g_lab, g_start, g_end, g_spans, g_shape, g_keep)
    p = side(p_doc, p_lab, p_start, p_end, p_spans, p_shape, p_keep)
    stats = {
        **counts,
        "gold_spans": len(g),
        "predicted_spans": len(p),
        "gold_spans_other_labels": int((~g_keep).sum()),
        "predicted_spans_other_labels": int((~keep_label[p_lab]).sum()) if len(p_lab) else 0,
        "predicted_spans_unannotated_type": masked,
        "documents_with_different_text": sum(
            1
            for gd, pd_ in zip(gold_docs, pred_docs, strict=True)
            if gd is not None and pd_ is not None and pd_.text and gd.text and pd_.text != gd.text
        ),
        "gold_document_copies_merged": gold_side.copies,
        "predicted_document_copies_merged": pred_side.copies,
        "gold_spans_repeated_in_copies": gold_side.repeated,
        "predicted_spans_repeated_in_copies": pred_side.repeated,
    }
    for name, s in (("gold", gold_side), ("predicted", pred_side)):
        if s.repeated:
            warnings.append(
                f"{s.copies} {name} documents appear more than once with the same id and text "
                f"(e.g. {s.example}); spans repeated in those copies were counted once ({s.repeated} dropped)"
            )
    prepared = Prepared(doc_ids, gold_docs, pred_docs, tuple(universe), g, p, stats, warnings=warnings)
    prepared.stats["predicted_span_duplicates"] = len(p) - len(prepared.pred_unique)
    return prepared
