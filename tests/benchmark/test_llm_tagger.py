"""An LLM tagger in the benchmark, against a local fake OpenAI-style endpoint."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from clinicalner.benchmark import BenchmarkConfig, ConfigError, TaggerSpec, benchmark
from clinicalner.evaluate import score
from clinicalner.io import read_corpus

from .conftest import FIXTURES

# What the fake model answers to "What describes <type> in the text?", whatever the text.
ANSWERS = {"condition": ["Cough", "Pneumonia", "asthma"], "drug": ["amoxicillin", "insulin"], "procedure": []}


class FakeChat:
    """Answers the list prompt from ANSWERS and records the types it was asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                question = re.fullmatch(r"What describes (.+) in the text\?", body["messages"][-1]["content"])
                assert question is not None
                chat.asked.append(question.group(1))
                reply = {
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": json.dumps(ANSWERS[question.group(1)]),
                            },
                        }
                    ]
                }
                data = json.dumps(reply).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()


@pytest.fixture
def chat() -> Iterator[FakeChat]:
    fake = FakeChat()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def _config(chat: FakeChat, **options: Any) -> BenchmarkConfig:
    config = BenchmarkConfig.load(FIXTURES / "bench.toml")
    config.taggers = [
        TaggerSpec(
            "llm",
            "llm",
            options={"base_url": chat.url, "model": "fake", "prompt": "list", "api_key_env": None, **options},
        )
    ]
    config.html = False
    return config


def test_llm_tagger_is_built_per_dataset_for_its_labels(chat: FakeChat, tmp_path: Path) -> None:
    from clinicalner.predict.llm import LLMTagger

    board = benchmark(_config(chat), output=tmp_path, progress=False)
    # ward: 3 documents × 2 types; notes: 2 documents × 3 types.
    assert sorted(chat.asked) == sorted(["condition", "drug"] * 3 + ["condition", "drug", "procedure"] * 2)
    run = board.run("llm", "notes")
    assert run.info["tagger_stats"]["requests"] == 6
    gold = read_corpus(FIXTURES / "notes" / "dev.jsonl").documents
    direct = LLMTagger(
        chat.url, "fake", labels=["condition", "drug", "procedure"], prompt="list", api_key_env=None
    )
    expected = score(
        gold, list(direct.tag(d.with_spans([]) for d in gold)), labels=["condition", "drug", "procedure"]
    )
    assert run.f1("strict") == pytest.approx(expected.metric("strict").f1, abs=1e-12)
    assert 0 < run.f1("strict") < 1
    # A second run asks nothing: the runs are cached under the endpoint, model and prompt.
    asked = len(chat.asked)
    again = benchmark(_config(chat), output=tmp_path, progress=False)
    assert len(chat.asked) == asked and again.run("llm", "ward").cached
    # Another prompt setting is another tagger: all 12 questions again.
    benchmark(_config(chat, max_chars=500), output=tmp_path, progress=False)
    assert len(chat.asked) == asked + 12


def test_unknown_llm_option_is_a_config_error(chat: FakeChat, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="llm"):
        benchmark(_config(chat, temprature=0.0), output=tmp_path, progress=False)
