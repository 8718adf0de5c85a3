"""Tagging for the service: a loaded tagger behind its batcher, giving ``predict``'s spans.

A transformer model goes through its three stages: windows are planned in the request's
thread, the forward pass runs in the batcher with other requests' windows, and pooling and
decoding come back to the request's thread. Any other tagger runs whole in the batcher's
worker, one request at a time. Either way a text gets the spans ``clinicalner predict`` writes
for it (same decoding, post-processing and threshold; a label filter comes last).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from clinicalner.document import Document, Span
from clinicalner.serve.batcher import Batcher
from clinicalner.serve.settings import ServeSettings


def has_stages(tagger: Any) -> bool:
    """Whether the tagger exposes plan / forward / pool stages the batcher can use."""
    return all(hasattr(tagger, n) for n in ("plan_windows", "forward_windows", "pool_logits", "tokenizer"))


class TaggingService:
    """One tagger and its batcher; ``await tag(documents)`` gives each document's spans."""

    def __init__(self, tagger: Any, settings: ServeSettings) -> None:
        self.tagger = tagger
        self.settings = settings
        self.staged = has_stages(tagger)
        self.batcher = Batcher(
            tagger.forward_windows if self.staged else None,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            batching=settings.batching,
            max_windows=max(1, getattr(tagger, "batch_tokens", 8192) // 16),
        )
        self._encode_lock = (
            threading.Lock()
        )  # one tokenizer call at a time: HF fast tokenizers are not re-entrant

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.tagger.labels)

    async def tag(self, documents: Sequence[Document]) -> list[list[Span]]:
        """Spans per document, in order (raises :class:`~clinicalner.serve.batcher.Overloaded`)."""
        todo = [d for d in documents if d.text]
        if not todo:
            return [[] for _ in documents]
        if self.staged:
            found = await self._tag_staged(todo)
        else:
            future = self.batcher.call(lambda: [list(d.spans) for d in self.tagger.tag(todo)])
            found = await asyncio.wrap_future(future)
        threshold = self.settings.threshold
        if threshold > 0:
            found = [[s for s in spans if s.score is None or s.score >= threshold] for spans in found]
        it = iter(found)
        return [next(it) if d.text else [] for d in documents]

    async def _tag_staged(self, documents: Sequence[Document]) -> list[list[Span]]:
        from clinicalner.model.inputs import encode_documents

        tagger = self.tagger

        def prepare() -> tuple[Any, Any, list[Any]]:
            with self._encode_lock:
                encoded = encode_documents(list(documents), tagger.tokenizer, tagger._backend)
            plans = tagger.plan_windows(encoded)
            rows = [enc.ids[a:b] for enc, wins in zip(encoded, plans, strict=True) for a, b in wins]
            return encoded, plans, rows

        encoded, plans, rows = await asyncio.to_thread(prepare)
        emissions = await asyncio.wrap_future(self.batcher.windows(rows))

        def finish() -> list[list[Span]]:
            pooled = tagger.pool_logits(encoded, plans, emissions)
            return [tagger.decode_document(e, p) for e, p in zip(encoded, pooled, strict=True)]

        return await asyncio.to_thread(finish)

    def close(self) -> None:
        self.batcher.close()
