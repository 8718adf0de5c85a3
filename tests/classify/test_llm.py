"""The LLM classifier against a fake OpenAI-compatible server: logprob confidences and fallbacks."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from clinicalner.classify.data import LabelledText
from clinicalner.classify.llm import LLMClassifier, digit_logprobs, p_one
from clinicalner.predict.llm import LLMError
from fake_llm import FakeServer, Reply


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


def with_logprobs(answer: str, top: list[tuple[str, float]]) -> Reply:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": answer},
        "logprobs": {
            "content": [
                {
                    "token": answer,
                    "logprob": dict(top).get(answer, -0.1),
                    "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top],
                }
            ]
        },
    }
    return 200, {"choices": [choice]}, {}


def text_only(answer: str) -> Reply:
    return 200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]}, {}


TEXTS = [
    LabelledText("a", "Rash caused by amoxicillin.", None, "en"),
    LabelledText("b", "Dolor torácico sin fiebre.", None, "es"),
]


def test_confidence_is_the_softmax_over_0_and_1(server: FakeServer) -> None:
    def respond(body: dict) -> Reply:
        text = body["messages"][-1]["content"]
        if "amoxicillin" in text:
            return with_logprobs("1", [("1", math.log(0.6)), ("0", math.log(0.2)), ("Yes", math.log(0.1))])
        return with_logprobs("0", [("0", math.log(0.7)), (" 1", math.log(0.05)), ("1", math.log(0.05))])

    server.respond = respond
    llm = LLMClassifier(server.url, "fake-model", ("NO_ADE", "ADE"), sleep=lambda s: None)
    preds = llm.predict(TEXTS)
    assert [p.label for p in preds] == ["ADE", "NO_ADE"]
    assert preds[0].probabilities["ADE"] == pytest.approx(0.6 / 0.8)
    assert preds[1].probabilities["ADE"] == pytest.approx(0.1 / 0.8)  # " 1" and "1" pooled
    assert [p.flag for p in preds] == ["", ""]
    _, _, body = server.requests[0]
    assert body["max_tokens"] == 1 and body["logprobs"] is True and body["top_logprobs"] == 5
    assert body["temperature"] == 0 and body["model"] == "fake-model"
    assert "Answer 1 for yes and 0 for no" in body["messages"][-1]["content"]
    assert body["messages"][-1]["content"].endswith("Text: Rash caused by amoxicillin.")
    assert llm.stats.with_logprobs == 2 and llm.stats.requests == 2


def test_no_logprobs_falls_back_to_the_text_with_a_flag(server: FakeServer) -> None:
    answers = iter(["1", "maybe"])
    server.respond = lambda body: text_only(next(answers))
    llm = LLMClassifier(server.url, "m", ("NO_ADE", "ADE"))
    preds = llm.predict(TEXTS)
    assert (preds[0].label, preds[0].probabilities["ADE"], preds[0].flag) == ("ADE", 1.0, "no_logprobs")
    assert (preds[1].label, preds[1].probabilities["ADE"], preds[1].flag) == ("NO_ADE", 0.5, "unparsed")
    assert llm.stats.no_logprobs == 1 and llm.stats.unparsed == 1


def test_a_digit_missing_from_top_logprobs_gets_no_mass() -> None:
    choice = with_logprobs("1", [("1", -0.01), ("Yes", -5.0)])[1]["choices"][0]
    lp = digit_logprobs(choice)
    assert lp is not None and lp["0"] == -math.inf and p_one(lp) == 1.0
    assert digit_logprobs({"message": {"content": "1"}}) is None
    assert digit_logprobs({"logprobs": {"content": []}}) is None


def test_server_errors_are_reported(server: FakeServer) -> None:
    server.respond = lambda body: (400, {"error": {"message": "logprobs not supported"}}, {})
    llm = LLMClassifier(server.url, "m", ("NO_ADE", "ADE"))
    with pytest.raises(LLMError, match="HTTP 400: logprobs not supported"):
        llm.predict(TEXTS)


def test_concurrent_requests_keep_the_order(server: FakeServer) -> None:
    server.respond = lambda body: with_logprobs(
        "1" if "amoxicillin" in body["messages"][-1]["content"] else "0", [("1", -0.2), ("0", -1.7)]
    )
    llm = LLMClassifier(server.url, "m", ("NO_ADE", "ADE"), concurrency=4)
    texts = [LabelledText(str(i), TEXTS[i % 2].text) for i in range(12)]
    preds = llm.predict(texts)
    assert [p.id for p in preds] == [str(i) for i in range(12)]
    assert len(server.requests) == 12


def test_two_distinct_labels_required() -> None:
    with pytest.raises(ValueError, match="two labels"):
        LLMClassifier("http://127.0.0.1:9", "m", ("ADE",))


def test_threshold_moves_the_decision_but_not_an_unparsed_reply(server: FakeServer) -> None:
    answers = iter([with_logprobs("1", [("1", math.log(0.6)), ("0", math.log(0.4))]), text_only("?")])
    server.respond = lambda body: next(answers)
    llm = LLMClassifier(server.url, "m", ("NO_ADE", "ADE"))
    preds = llm.predict(TEXTS, threshold=0.3)
    assert [(p.label, p.flag) for p in preds] == [("ADE", ""), ("NO_ADE", "unparsed")]
