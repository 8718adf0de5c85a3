"""ASGI middleware: the access log, the request id, and the body's size and encoding.

The access log holds what an operator needs and nothing a note could leak through: method,
path (never the query string), status, bytes in and out, duration and the request id. The
body limit is enforced before any parsing, so an oversized body costs at most the limit in
memory and gets 413 naming it; a body that is not UTF-8 gets 400 naming the first bad byte.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

access_log = logging.getLogger("clinicalner.serve.access")

Scope = dict[str, Any]


class AccessLogMiddleware:
    """Logs one line per HTTP request and sets ``X-Request-ID`` (the client's, or a new one).

    It also catches what a route raises unexpectedly and answers 500 itself, logging only the
    exception's type: Starlette's own error handler would log the traceback and message, and a
    message can quote the text it failed on.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if given and len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        sizes = {"in": 0, "out": 0, "status": 500}

        async def counting_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                sizes["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                sizes["status"] = message["status"]
                message = dict(message)
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                sizes["out"] += len(message.get("body", b""))
            await send(message)

        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started |= message["type"] == "http.response.start"
            await counting_send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception as exc:
            logging.getLogger("clinicalner.serve").error(
                "request %s failed: %s", request_id, type(exc).__name__
            )
            if not started:
                await _answer(tracking_send, 500, f"internal error (request {request_id})")
        finally:
            access_log.info(
                "%s %s %s %d in=%d out=%d %.1fms",
                request_id,
                scope["method"],
                scope["path"],
                sizes["status"],
                sizes["in"],
                sizes["out"],
                (time.perf_counter() - t0) * 1000,
            )


class BodyGuardMiddleware:
    """Answers 413 to a body over ``limit`` bytes (by Content-Length, or while reading it) and
    400 to one that is not UTF-8 (JSON is UTF-8 by definition)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _answer(send, 413, self._too_large)
            return
        chunks: list[bytes] = []
        total = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            total += len(body)
            if total > self.limit:
                await _answer(send, 413, self._too_large)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            await _answer(send, 400, f"request body is not UTF-8 (byte {exc.start} is invalid)")
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @property
    def _too_large(self) -> str:
        return f"request body over the limit of {self.limit} bytes (max_body_bytes)"


async def _answer(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
