"""LLM tagger against a fake OpenAI-compatible server on 127.0.0.1: prompts, alignment, retries, stats."""

from __future__ import annotations

import itertools
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from clinicalner.document import Document, Span
from clinicalner.predict.llm import LLMError, LLMTagger, chunk_spans
from clinicalner.predict.llm_align import EchoAligner, find_occurrences, parse_html_spans, parse_list
from clinicalner.predict.tagger import Tagger
from fake_openai import FakeServer, Reply, completion


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


def html_text(body: dict) -> str:
    """The note text inside our HTML prompt."""
    return body["messages"][-1]["content"].split("\n\nText:\n", 1)[1]


def mark(text: str, marks: list[tuple[str, str]]) -> str:
    """Wrap the first occurrence of each mention, as a well-behaved model would."""
    for mention, cls in marks:
        text = text.replace(mention, f'<span class="{cls}">{mention}</span>', 1)
    return text


NOTE = "Paciente con DIABETES mellitus tipo 2\r\ny dolor torácico 😀 leve.\tNiega fiebre."


def tagger(server: FakeServer, **kwargs: Any) -> LLMTagger:
    kwargs.setdefault("labels", ["DISEASE", "SYMPTOM"])
    kwargs.setdefault("backoff", 0.0)
    return LLMTagger(server.url, "fake-model", **kwargs)


def spans_of(tagger: LLMTagger, text: str) -> list[tuple[int, int, str, str]]:
    doc = next(tagger.tag([Document("n1", text)]))
    for s in doc.spans:
        assert text[s.start : s.end] == s.text
    return [(s.start, s.end, s.label, s.text) for s in doc.spans]


EXPECTED = [
    (13, 30, "DISEASE", "DIABETES mellitus"),
    (41, 55, "SYMPTOM", "dolor torácico"),
    (70, 76, "SYMPTOM", "fiebre"),
]


def test_html_prompt_exact_echo_gives_exact_offsets(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINICALNER_TEST_KEY", "sk-secret")
    server.respond = lambda body: completion(
        mark(
            html_text(body),
            [("DIABETES mellitus", "disease"), ("dolor torácico", "symptom"), ("fiebre", "symptom")],
        )
    )
    llm = tagger(server, api_key_env="CLINICALNER_TEST_KEY")
    assert isinstance(llm, Tagger)
    assert llm.labels == ("DISEASE", "SYMPTOM")
    assert spans_of(llm, NOTE) == EXPECTED
    path, headers, body = server.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-secret"
    assert body["model"] == "fake-model"
    assert body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert html_text(body) == NOTE.strip()
    assert "disease, symptom" in body["messages"][1]["content"]
    assert "sk-secret" not in repr(llm.client)
    assert llm.stats.as_dict() == {
        "documents": 1,
        "chunks": 1,
        "requests": 1,
        "retries": 0,
        "failed_chunks": 0,
        "mentions": 3,
        "matched": 3,
        "unmatched": 0,
        "unknown_labels": 0,
        "malformed": 0,
        "spans": 3,
    }


def test_html_echo_with_altered_whitespace_case_and_accents(server: FakeServer) -> None:
    def respond(body: dict) -> Reply:
        echo = mark(
            html_text(body),
            [("DIABETES mellitus", "disease"), ("dolor torácico", "symptom"), ("fiebre", "symptom")],
        )
        echo = re.sub(r"\s+", " ", echo).replace("torácico", "toracico").replace("DIABETES", "Diabetes")
        return completion("```html\n" + echo + "\n```")

    server.respond = respond
    llm = tagger(server)
    assert spans_of(llm, NOTE) == EXPECTED
    assert llm.stats.unmatched == 0


def test_html_echo_that_drops_and_changes_text_and_hallucinates(server: FakeServer) -> None:
    def respond(body: dict) -> Reply:
        echo = (
            html_text(body)
            .replace(" leve", "")
            .replace("mellitus", "melitus")
            .replace("Paciente", "El paciente")
        )
        echo = mark(echo, [("DIABETES melitus", "disease"), ("dolor torácico", "Symptom"), ("😀", "drug")])
        echo = echo.replace("Niega fiebre.", 'Niega <span class="symptom">fiebre alta persistente</span>.')
        return completion("Output:\n" + echo)

    server.respond = respond
    llm = tagger(server)
    assert spans_of(llm, NOTE) == EXPECTED[:2]
    stats = llm.stats
    assert (stats.mentions, stats.matched, stats.unmatched, stats.unknown_labels) == (3, 2, 1, 1)


def test_list_prompt_finds_every_occurrence_and_counts_hallucinations(server: FakeServer) -> None:
    text = "Dolor torácico y DOLOR lumbar; diabetes  mellitus\r\ntipo 2. Dolor-"
    answers = {
        "disease": '["diabetes mellitus tipo 2", "cáncer de pulmón"]',
        "sign or symptom": '```json\n["dolor torácico", "dolor", "Dolor"]\n```',
        "drug": "The text mentions no drugs.",
    }

    def respond(body: dict) -> Reply:
        messages = body["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert messages[1]["content"] == f"Text: {text}"
        asked = re.fullmatch(r"What describes (.+) in the text\?", messages[3]["content"])
        assert asked is not None
        return completion(answers[asked.group(1)])

    server.respond = respond
    llm = tagger(
        server,
        labels=None,
        prompt="list",
        label_map={"disease": "DISEASE", "Sign or symptom": "SYMPTOM", "drug": "DRUG"},
    )
    assert llm.classes == ("disease", "sign or symptom", "drug")
    assert spans_of(llm, text) == [
        (0, 14, "SYMPTOM", "Dolor torácico"),
        (17, 22, "SYMPTOM", "DOLOR"),
        (31, 57, "DISEASE", "diabetes  mellitus\r\ntipo 2"),
        (59, 64, "SYMPTOM", "Dolor"),
    ]
    stats = llm.stats
    assert stats.requests == 3
    assert (stats.mentions, stats.matched, stats.unmatched, stats.malformed) == (4, 3, 1, 1)


def test_rate_limit_then_success_backs_off(server: FakeServer) -> None:
    calls: list[int] = []

    def respond(body: dict) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            return 429, {"error": {"message": "slow down"}}, {"Retry-After": "2"}
        if len(calls) in (2, 3):
            return 503, b"<html>busy</html>", {}
        return completion(mark(html_text(body), [("fiebre", "symptom")]))

    server.respond = respond
    sleeps: list[float] = []
    llm = tagger(server, backoff=0.5, sleep=sleeps.append)
    assert spans_of(llm, NOTE) == [EXPECTED[2]]
    assert sleeps == [2.0, 1.0, 2.0]  # Retry-After wins over 0.5; then 0.5 * 2**1, 0.5 * 2**2
    assert (llm.stats.requests, llm.stats.retries) == (4, 3)
    assert len(server.requests) == 4


def test_errors_give_up_or_skip(server: FakeServer) -> None:
    server.respond = lambda body: (500, {"error": {"message": "boom"}}, {})
    llm = tagger(server, max_retries=2)
    with pytest.raises(LLMError, match=r"giving up after 3 attempts.*HTTP 500: boom"):
        list(llm.tag([Document("n1", NOTE)]))
    assert len(server.requests) == 3

    server.requests.clear()
    server.respond = lambda body: (400, {"error": {"message": "context too long"}}, {})
    with pytest.raises(LLMError, match="HTTP 400: context too long"):
        list(tagger(server).tag([Document("n1", NOTE)]))
    assert len(server.requests) == 1  # a client error is not retried

    server.respond = lambda body: (200, {"unexpected": True}, {})
    with pytest.raises(LLMError, match="not an OpenAI chat completion"):
        list(tagger(server).tag([Document("n1", NOTE)]))

    server.respond = lambda body: (401, {"error": "bad key"}, {})
    skipping = tagger(server, on_error="skip")
    docs = list(skipping.tag([Document("n1", NOTE), Document("n2", "Fiebre.")]))
    assert [d.spans for d in docs] == [[], []]
    assert skipping.stats.failed_chunks == 2


def test_timeout_is_retried(server: FakeServer) -> None:
    calls: list[int] = []

    def respond(body: dict) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(1.0)
        return completion(mark(html_text(body), [("fiebre", "symptom")]))

    server.respond = respond
    llm = tagger(server, timeout=0.3, max_retries=1)
    assert spans_of(llm, NOTE) == [EXPECTED[2]]
    assert llm.stats.retries == 1


def test_long_documents_are_chunked_with_offsets_kept(server: FakeServer) -> None:
    sentences = ["Refiere dolor torácico opresivo.", "Antecedente de asma.", "Niega fiebre 😀.", "Sin más."]
    text = "\r\n".join(sentences) + "\r\nAsma bronquial controlada."
    server.respond = lambda body: completion(
        mark(
            html_text(body),
            [("dolor torácico", "symptom"), ("asma", "disease"), ("Asma", "disease"), ("fiebre", "symptom")],
        )
    )
    llm = tagger(server, max_chars=40)
    got = spans_of(llm, text)
    assert [s[3] for s in got] == ["dolor torácico", "asma", "fiebre", "Asma"]
    assert [text.index("dolor"), text.index("asma"), text.index("fiebre"), text.index("Asma")] == [
        s[0] for s in got
    ]
    chunks = chunk_spans(text, 40)
    assert llm.stats.requests == len(chunks) == llm.stats.chunks
    assert sorted(html_text(b) for _, _, b in server.requests) == sorted(text[a:b] for a, b in chunks)


def test_concurrent_requests_give_the_same_spans(server: FakeServer) -> None:
    text = " ".join(["Dolor de cabeza y fiebre."] * 6)
    server.respond = lambda body: completion('["fiebre", "dolor de cabeza"]')
    serial = tagger(server, prompt="list", labels=["SYMPTOM"], max_chars=60)
    parallel = tagger(server, prompt="list", labels=["SYMPTOM"], max_chars=60, concurrency=4)
    a, b = spans_of(serial, text), spans_of(parallel, text)
    assert a == b
    assert len(a) == 12
    assert serial.stats.chunks == parallel.stats.chunks > 1


def test_requests_overlap_across_documents(server: FakeServer) -> None:
    """Most notes are one chunk: concurrency must reach across documents, in order and bounded."""
    in_flight = [0, 0]  # now, most at once

    def respond(body: dict) -> Reply:
        with server.lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.1)
        with server.lock:
            in_flight[0] -= 1
        text = html_text(body)
        return completion(mark(text, [("fiebre", "symptom")]))

    server.respond = respond
    docs = [Document(f"d{i}", f"Nota {i}: fiebre alta.") for i in range(12)]
    llm = tagger(server, concurrency=4)
    out = list(llm.tag(iter(docs)))
    assert [d.id for d in out] == [d.id for d in docs]
    assert all([(s.start, s.text) for s in d.spans] == [(d.text.index("fiebre"), "fiebre")] for d in out)
    assert 2 <= in_flight[1] <= 4  # one-chunk documents, yet several requests at once
    assert llm.stats.documents == 12 and llm.stats.requests == 12
    serial = tagger(server)
    assert list(serial.tag(docs)) == out


def test_concurrent_tagging_stops_at_the_first_error(server: FakeServer) -> None:
    calls: list[int] = []

    def respond(body: dict) -> Reply:
        with server.lock:
            calls.append(1)
        time.sleep(0.02)
        return 400, {"error": {"message": "no"}}, {}

    server.respond = respond
    docs = [Document(f"d{i}", "fiebre") for i in range(200)]
    with pytest.raises(LLMError, match="HTTP 400"):
        list(tagger(server, concurrency=4).tag(iter(docs)))
    assert len(calls) < 200  # queued requests were cancelled, not all sent


def test_note_text_never_reaches_the_logs(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def respond(body: dict) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            return 503, {"error": {"message": "overloaded"}}, {}
        return completion(mark(html_text(body), [("fiebre", "symptom")]))

    server.respond = respond
    with caplog.at_level(logging.DEBUG, logger="clinicalner"):
        spans_of(tagger(server), NOTE)
    assert "retry 1/4" in caplog.text
    for word in ("Paciente", "DIABETES", "fiebre", "torácico"):
        assert word not in caplog.text


def test_chunk_spans_pack_sentences_and_cut_long_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    # the built-in rule (sentence ends and line breaks), not the shared sentence splitter
    monkeypatch.setitem(sys.modules, "clinicalner.text.sentences", None)
    text = "  Uno dos.\nTres cuatro cinco seis siete ocho.  Nueve.\n\n"
    chunks = chunk_spans(text, 20)
    assert [text[a:b] for a, b in chunks] == ["Uno dos.", "Tres cuatro cinco", "seis siete ocho.", "Nueve."]
    assert chunk_spans("x" * 25, 10) == [(0, 10), (10, 20), (20, 25)]
    assert chunk_spans(" \r\n\t", 10) == []
    assert chunk_spans("Uno. Dos. Tres.", 100) == [(0, 15)]


def test_chunk_spans_invariants_with_whatever_splitter_is_installed() -> None:
    text = "Refiere dolor.\r\n\r\nAsma 😀 desde la infancia; tratamiento con salbutamol inhalado. " * 20
    chunks = chunk_spans(text, 120)
    assert all(0 < b - a <= 120 for a, b in chunks)
    assert all(a2 >= b1 for (_, b1), (a2, _) in itertools.pairwise(chunks))
    covered = "".join(text[a:b] for a, b in chunks)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text)
    assert all(not text[a].isspace() and not text[b - 1].isspace() for a, b in chunks)


def test_alignment_helpers() -> None:
    plain, mentions = parse_html_spans("<span class='a'>x &amp; y</span> <br> <SPAN class=B >z</span >")
    assert plain == "x & y <br> z"
    assert [(m.start, m.end, m.cls, m.text) for m in mentions] == [(0, 5, "a", "x & y"), (11, 12, "b", "z")]
    original = "Dolor  EN el\r\npecho, sin fiebre."
    aligner = EchoAligner(original, "dolor en el pecho sin fiebre")
    assert aligner.map_range(0, 17) == (0, 19)
    assert aligner.map_range(22, 28) == (25, 31)
    assert find_occurrences("Ca: cancer, CA y ca.", "ca") == [(0, 2), (12, 14), (17, 19)]
    assert parse_list('["a", 2, ""]') == ["a", "2"]
    assert parse_list("Answer: []") == []
    assert parse_list("no list here") is None
    assert Span(0, 1, "X").key == (0, 1, "X")
