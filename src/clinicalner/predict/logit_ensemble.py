"""Logit averaging: several models that share a tokenizer tag as one.

Span voting (``ensemble.py``) combines decisions; averaging combines beliefs before any
decision, which is what the strongest MultiClinAI ensembles did for models of one family
(different seeds or schemes of one encoder). The documents are tokenised once, every member
scores every word, the word-level probabilities are averaged (CRF members: emissions and
transition scores are averaged), and one decoding turns the average into spans.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clinicalner.document import Document
from clinicalner.model.inputs import encode_documents
from clinicalner.predict.engine import TransformerTagger


class LogitEnsembleTagger:
    """Averages the word scores of models with the same tokenizer, labels, scheme and CRF setting."""

    def __init__(
        self,
        models: Sequence[str | Path | TransformerTagger],
        weights: Sequence[float] | None = None,
        *,
        device: str = "auto",
        postprocess: object = True,
        chunk_documents: int = 64,
        name: str | None = None,
        **options: Any,
    ) -> None:
        """``options`` (batch_tokens, threshold, quantize, max_length, stride, windows, precision)
        go to every member."""
        if len(models) < 2:
            raise ValueError("a logit ensemble needs at least two models")
        self.members = [
            m
            if isinstance(m, TransformerTagger)
            else TransformerTagger(m, device=device, postprocess=postprocess, **options)
            for m in models
        ]
        first = self.members[0]
        vocab = first.tokenizer.backend_tokenizer.to_str()
        for m in self.members[1:]:
            if m.tokenizer.backend_tokenizer.to_str() != vocab:
                raise ValueError(
                    f"{m.name}: a different tokenizer from {first.name}; use span voting instead"
                )
            mine, theirs = _tag_space(m), _tag_space(first)
            differ = [f"{k} {mine[k]} vs {theirs[k]}" for k in mine if mine[k] != theirs[k]]
            if differ:
                raise ValueError(
                    f"{m.name}: {'; '.join(differ)} in {first.name}: logits only average over one tag "
                    "space; use span voting (clinicalner ensemble) instead"
                )
        w = np.asarray(weights if weights is not None else [1.0] * len(self.members), dtype=np.float64)
        if len(w) != len(self.members) or (w <= 0).any():
            raise ValueError("one positive weight per model")
        self.weights = w / w.sum()
        self.labels = first.labels
        # The members' one tokenizer: what the text is cut into, e.g. for token-level metrics
        # that score a model on its own sub-words (the benchmark's tokenize = "model").
        self.tokenizer = first.tokenizer
        self.name = name or "logit-ensemble(" + ",".join(m.name for m in self.members) + ")"
        self.chunk_documents = chunk_documents
        self._crf = self._mean_crf()

    @property
    def tokens_seen(self) -> int:
        return sum(m.tokens_seen for m in self.members)

    def _mean_crf(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
        crfs = [m.crf_numpy() for m in self.members]
        if crfs[0] is None:
            return None
        out = []
        for t in range(len(self.labels)):
            out.append(
                tuple(sum(w * c[t][k] for w, c in zip(self.weights, crfs, strict=True)) for k in range(3))
            )
        return out  # type: ignore[return-value]

    def average(self, per_member: Sequence[np.ndarray]) -> np.ndarray:
        """Weighted mean of word scores: of probabilities for softmax heads, of emissions for CRFs."""
        if self._crf is not None:
            return sum(w * s for w, s in zip(self.weights, per_member, strict=True))  # type: ignore[return-value]
        probs = sum(w * np.exp(s) for w, s in zip(self.weights, per_member, strict=True))
        return np.log(np.maximum(probs, 1e-12)).astype(np.float32)

    def tag(self, documents: Iterable[Document]) -> Iterator[Document]:
        first = self.members[0]
        it = iter(documents)
        while True:
            chunk = list(itertools.islice(it, self.chunk_documents))
            if not chunk:
                return
            encoded = encode_documents(chunk, first.tokenizer, first._backend)
            scores = [m.word_scores(encoded) for m in self.members]
            averaged = [self.average([s[d] for s in scores]) for d in range(len(encoded))]
            paths = first.crf_paths(averaged, self._crf) if self._crf is not None else [None] * len(averaged)
            for enc, avg, ids in zip(encoded, averaged, paths, strict=True):
                yield enc.doc.with_spans(first.decode(enc, avg, crf=self._crf, paths=ids))


def _tag_space(tagger: TransformerTagger) -> dict[str, Any]:
    """What must match for two models' word scores to be averaged tag by tag."""
    return {"labels": tagger.labels, "scheme": tagger.config.scheme, "CRF": tagger.model.crfs is not None}
