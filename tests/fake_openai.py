"""A fake OpenAI-compatible chat endpoint on 127.0.0.1, scripted per test.

Shared by the span LLM tagger's tests and the text classifier's: ``respond(body) -> Reply``
decides each answer, ``requests`` records what the client sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, Any, dict[str, str]]  # status, JSON payload (or raw bytes), headers


def completion(content: str) -> Reply:
    return 200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}, {}


class FakeServer:
    """An OpenAI-style chat endpoint whose answers a test scripts with ``respond(body) -> Reply``."""

    def __init__(self) -> None:
        self.respond: Callable[[dict], Reply] = lambda body: completion("")
        self.requests: list[tuple[str, dict[str, str], dict]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append((self.path, dict(self.headers), body))
                status, payload, headers = server.respond(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
