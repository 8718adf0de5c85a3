"""The batcher: concurrent requests share forward passes, one at a time, with a queue limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from clinicalner.serve.batcher import Batcher, Overloaded


class Recorder:
    """A forward stage that records each call's window count and never runs two at once."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[int] = []
        self.delay = delay
        self.running = 0
        self.overlapped = False

    def __call__(self, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.running += 1
        self.overlapped |= self.running > 1
        time.sleep(self.delay)
        self.calls.append(len(rows))
        self.running -= 1
        return [np.asarray(r) * 2 for r in rows]


def _submit_together(batcher: Batcher, n: int) -> list[list[np.ndarray]]:
    barrier = threading.Barrier(n)

    def one(k: int) -> list[np.ndarray]:
        barrier.wait()
        return batcher.windows([np.array([k, k + 1]), np.array([k])]).result(10)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_concurrent_requests_share_one_forward_pass() -> None:
    forward = Recorder()
    batcher = Batcher(forward, max_wait_ms=300)
    results = _submit_together(batcher, 8)
    batcher.close()
    assert sum(forward.calls) == 16
    assert len(forward.calls) <= 2  # gathered (the first may have left before the others came)
    for k, out in enumerate(results):  # every request gets its own windows back
        assert [o.tolist() for o in out] == [[2 * k, 2 * k + 2], [2 * k]]


def test_batching_off_runs_each_request_alone() -> None:
    forward = Recorder()
    batcher = Batcher(forward, max_wait_ms=300, batching=False)
    _submit_together(batcher, 5)
    batcher.close()
    assert forward.calls == [2] * 5


def test_never_two_forward_passes_at_once_and_queue_limit() -> None:
    forward = Recorder(delay=0.2)
    batcher = Batcher(forward, max_wait_ms=0, max_queue=2, batching=False)
    first = batcher.windows([np.array([1])])
    second = batcher.windows([np.array([2])])
    with pytest.raises(Overloaded, match="queue limit 2"):
        batcher.windows([np.array([3])])
    assert first.result(5)[0].tolist() == [2] and second.result(5)[0].tolist() == [4]
    assert batcher.windows([np.array([5])]).result(5)[0].tolist() == [10]  # room again
    batcher.close()
    assert not forward.overlapped


def test_a_failing_forward_fails_only_its_requests() -> None:
    def broken(rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise RuntimeError("out of memory")

    batcher = Batcher(broken, max_wait_ms=0)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.windows([np.array([1])]).result(5)
    assert batcher.call(lambda: 42).result(5) == 42
    batcher.close()


def test_live_server_gathers_concurrent_clients_and_answers_503_past_the_queue(
    tiny_model: Path, live_server: type
) -> None:
    pytest.importorskip("torch")
    import httpx

    from clinicalner.serve.run import build_app
    from clinicalner.serve.settings import ServeSettings
    from tiny_trained import NOTES

    app = build_app(tiny_model, ServeSettings(max_wait_ms=50), device="cpu", precision="fp32")
    service = app.state.service
    with live_server(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        alone = [client.post("/v1/tag", json={"text": d.text, "language": d.language}).json() for d in NOTES]
        passes = service.batcher.passes

        def post(k: int) -> dict:
            d = NOTES[k % len(NOTES)]
            return client.post("/v1/tag", json={"text": d.text, "language": d.language}).json()

        with ThreadPoolExecutor(10) as pool:
            together = list(pool.map(post, range(len(NOTES))))
        assert service.batcher.passes - passes < len(NOTES)  # some requests shared a pass
        assert [a["spans"] for a in together] == [a["spans"] for a in alone]

        service.batcher.max_queue = 0  # a full queue: the next request is turned away at once
        busy = client.post("/v1/tag", json={"text": "fiebre"})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert client.get("/ready").status_code == 503
        service.batcher.max_queue = 256
