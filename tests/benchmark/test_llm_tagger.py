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
        self.fail: set[str] = set()  # types whose question is answered HTTP 400
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                question = re.fullmatch(r"What describes (.+) in the text\?", body["messages"][-1]["content"])
                assert question is not None
                chat.asked.append(question.group(1))
                if question.group(1) in chat.fail:
                    data = b'{"error": {"message": "refused"}}'
                    self.send_response(400)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
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


def test_unmatched_mentions_are_shown_in_the_leaderboard(chat: FakeChat, tmp_path: Path) -> None:
    config = _config(chat)
    config.html = True
    board = benchmark(config, output=tmp_path, progress=False)
    rows = {(r["tagger"], r["dataset"]): r for r in board.llm_rows()}
    stats = board.run("llm", "notes").info["tagger_stats"]
    assert rows[("llm", "notes")]["unmatched"] == stats["unmatched"] > 0  # "asthma" is not in the notes
    md = (tmp_path / "leaderboard.md").read_text("utf-8")
    assert "## LLM answers" in md
    section = md.split("## LLM answers", 1)[1]
    line = next(x for x in section.splitlines() if x.startswith("| llm | notes |"))
    assert f"| {stats['matched']} | {stats['unmatched']} |" in line
    page = (tmp_path / "leaderboard.html").read_text("utf-8")
    assert '<h2 id="llm">LLM answers</h2>' in page


def test_a_run_with_failed_chunks_is_not_cached(chat: FakeChat, tmp_path: Path) -> None:
    chat.fail = {"procedure"}
    config = _config(chat, on_error="skip")
    board = benchmark(config, output=tmp_path, progress=False)
    run = board.run("llm", "notes")
    assert run.info["tagger_stats"]["failed_chunks"] == 2 and "2 chunk(s) failed" in run.info["incomplete"]
    assert any("llm × notes" in n and "not cached" in n for n in board.notes)
    assert not (tmp_path / "runs" / "llm" / "notes.spans.json").exists()
    assert board.run("llm", "ward").info.get("incomplete") is None
    asked = len(chat.asked)
    # The endpoint works again: the incomplete run is asked again, the complete one is reused.
    chat.fail = set()
    again = benchmark(config, output=tmp_path, progress=False)
    assert len(chat.asked) == asked + 6  # notes: 2 documents × 3 types
    assert again.run("llm", "ward").cached and not again.run("llm", "notes").cached
    assert again.run("llm", "notes").info.get("incomplete") is None
    assert benchmark(config, output=tmp_path, progress=False).run("llm", "notes").cached


def test_options_of_every_tagger_are_checked_before_any_runs(chat: FakeChat, tmp_path: Path) -> None:
    config = _config(chat)
    config.taggers.append(TaggerSpec("lex", "lexicon", options={"min_cont": 2}))
    with pytest.raises(ConfigError, match="min_cont"):
        benchmark(config, output=tmp_path, progress=False)
    assert chat.asked == []  # the LLM, first in the list, never ran
    config = _config(chat, prompt="htlm")
    with pytest.raises(ConfigError, match="prompt"):
        benchmark(config, output=tmp_path, progress=False)
    config = _config(chat)
    config.taggers.append(
        TaggerSpec("terms", "lexicon", path=FIXTURES / "terms.tsv", options={"min_count": 2})
    )
    with pytest.raises(ConfigError, match="term-list lexicon"):
        benchmark(config, output=tmp_path, progress=False)
    assert chat.asked == []
