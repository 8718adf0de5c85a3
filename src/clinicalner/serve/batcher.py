"""One batcher per model: windows of concurrent requests share one forward pass.

A request encodes its text and cuts it into windows in its own thread, then hands the windows
to the batcher. The batcher's single worker thread takes the first waiting request, keeps
collecting the windows of requests that arrive within ``max_wait_ms`` (up to a batch's worth),
and runs :meth:`~clinicalner.predict.engine.TransformerTagger.forward_windows` once over all of
them; each request then pools and decodes its own windows. Ten clients thus get close to
``predict``'s batch throughput, and there is never more than one forward pass at a time.

Taggers without a forward stage of their own (a lexicon, an LLM endpoint, an ensemble) go
through :meth:`Batcher.call`: run whole, one request at a time, on the same worker thread.
Past ``max_queue`` waiting requests, :class:`Overloaded` is raised at once (the service
answers 503 with Retry-After) instead of letting latency grow without bound.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Overloaded(RuntimeError):
    """More requests are waiting than the queue limit allows."""


@dataclass
class _Windows:
    rows: Sequence[np.ndarray]
    future: Future = field(default_factory=Future)


@dataclass
class _Call:
    fn: Callable[[], Any]
    future: Future = field(default_factory=Future)


_STOP = object()


class Batcher:
    """Runs ``forward`` (windows -> emissions) on gathered windows in one worker thread.

    ``forward`` is :meth:`TransformerTagger.forward_windows` or any function with its
    contract: a list of subword-id arrays in, one emission array per window out, in order.
    """

    def __init__(
        self,
        forward: Callable[[Sequence[np.ndarray]], list[np.ndarray]] | None,
        *,
        max_wait_ms: float = 5.0,
        max_windows: int = 512,
        max_queue: int = 256,
        batching: bool = True,
    ) -> None:
        self._forward = forward
        self.max_wait = max_wait_ms / 1000.0
        self.max_windows = max_windows
        self.max_queue = max_queue
        self.batching = batching
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._waiting = 0
        self.passes = 0  # forward passes run (a gathered group counts once)
        self.requests = 0
        self._thread = threading.Thread(target=self._run, name="clinicalner-batcher", daemon=True)
        self._thread.start()

    # -- submitting ---------------------------------------------------------------------
    def windows(self, rows: Sequence[np.ndarray]) -> Future:
        """A future for the emissions of ``rows``, computed with other requests' windows."""
        if self._forward is None:
            raise TypeError("this batcher has no forward stage; use call()")
        return self._submit(_Windows(rows))

    def call(self, fn: Callable[[], Any]) -> Future:
        """A future for ``fn()``, run alone on the worker thread (taggers without stages)."""
        return self._submit(_Call(fn))

    @property
    def waiting(self) -> int:
        """Requests submitted and not finished."""
        return self._waiting

    def _submit(self, job: _Windows | _Call) -> Future:
        with self._lock:
            if self._waiting >= self.max_queue:
                raise Overloaded(f"{self._waiting} requests are waiting (queue limit {self.max_queue})")
            self._waiting += 1
        job.future.add_done_callback(self._done)
        self._queue.put(job)
        return job.future

    def _done(self, _: Future) -> None:
        with self._lock:
            self._waiting -= 1

    def close(self, timeout: float | None = 30.0) -> None:
        """Finish what was submitted, then stop the worker."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    # -- the worker ---------------------------------------------------------------------
    def _run(self) -> None:
        carry: Any = None
        while True:
            job = carry if carry is not None else self._queue.get()
            carry = None
            if job is _STOP:
                return
            if isinstance(job, _Call):
                self._execute(job)
                continue
            group = [job]
            n = len(job.rows)
            deadline = time.monotonic() + self.max_wait
            while self.batching and n < self.max_windows:
                left = deadline - time.monotonic()
                try:
                    nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(nxt, _Windows):
                    carry = nxt  # a call or the stop sign: after this group
                    break
                group.append(nxt)
                n += len(nxt.rows)
            self._forward_group(group)

    def _execute(self, job: _Call) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        self.requests += 1
        try:
            job.future.set_result(job.fn())
        except BaseException as exc:  # handed to the request that asked
            job.future.set_exception(exc)

    def _forward_group(self, group: list[_Windows]) -> None:
        group = [j for j in group if j.future.set_running_or_notify_cancel()]
        if not group:
            return
        rows = [r for j in group for r in j.rows]
        self.requests += len(group)
        try:
            assert self._forward is not None
            out = self._forward(rows) if rows else []
            self.passes += 1
        except BaseException as exc:
            for j in group:
                j.future.set_exception(exc)
            return
        k = 0
        for j in group:
            j.future.set_result(out[k : k + len(j.rows)])
            k += len(j.rows)
