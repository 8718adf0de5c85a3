"""The service's knobs in one frozen dataclass: limits, batching, security."""

from __future__ import annotations

from dataclasses import dataclass

#: Defaults printed at start-up (``clinicalner serve`` says which limits it runs with).
DEFAULT_MAX_CHARS = 100_000
DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_WAIT_MS = 5.0
DEFAULT_MAX_QUEUE = 256


@dataclass(frozen=True)
class ServeSettings:
    """How the service behaves.

    ``max_chars``: the longest text of one document; ``max_batch``: the most documents in one
    ``/v1/tag/batch`` body (both answered with 413 naming the limit). ``max_wait_ms``: how long
    the batcher waits for more requests before a forward pass; ``batching`` False runs each
    request's windows alone (the benchmark's "batcher off"). ``max_queue``: requests waiting
    for the model past which new ones get 503 with Retry-After. ``api_key``: the bearer token
    every ``/v1`` route needs (None: no key). ``cors_origins``: origins allowed by CORS (empty:
    CORS off).
    """

    max_chars: int = DEFAULT_MAX_CHARS
    max_batch: int = DEFAULT_MAX_BATCH
    max_wait_ms: float = DEFAULT_MAX_WAIT_MS
    batching: bool = True
    max_queue: int = DEFAULT_MAX_QUEUE
    threshold: float = 0.0
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_chars < 1 or self.max_batch < 1 or self.max_queue < 1:
            raise ValueError("max_chars, max_batch and max_queue must be at least 1")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be 0 or more, not {self.max_wait_ms}")
        if self.api_key is not None and not self.api_key:
            raise ValueError("the API key is empty")

    @property
    def max_body_bytes(self) -> int:
        """The largest request body read: a full batch of the longest texts, each character
        written as a 6-byte JSON escape, plus room for the other fields."""
        return self.max_batch * (self.max_chars * 6 + 4096) + 65536
