"""DNT's enumerated-token prompt: numbered tokens out, ``<index> : <token> : <label>`` lines back."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from clinicalner.document import Document
from clinicalner.predict.llm import LLMTagger
from clinicalner.predict.llm_align import group_token_labels, parse_token_lines, place_token
from fake_llm import FakeServer, completion

# "dolor" twice: only the second one is a symptom; the index says which.
NOTE = "Refiere dolor leve. Paciente con DIABETES mellitus\r\ny dolor torácico 😀.\tNiega fiebre."


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


def numbered(body: dict) -> dict[int, str]:
    text = body["messages"][-1]["content"].split("\nTokens:\n", 1)[1]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+) : (.*)$", text, re.M)}


def answer_for(body: dict, wanted: list[tuple[str, str, int]]) -> str:
    """Lines for the ``n``-th occurrence (1-based) of each word, as a careful model would write."""
    tokens = numbered(body)
    lines = []
    for word, label, nth in wanted:
        idx = [k for k, w in tokens.items() if w == word][nth - 1]
        lines.append(f"{idx} : {word} : {label}")
    return "\n".join(lines)


def tag(server: FakeServer, text: str = NOTE) -> list[tuple[int, int, str, str]]:
    llm = LLMTagger(server.url, "m", ["DISEASE", "SYMPTOM"], prompt="tokens", backoff=0.0)
    doc = next(llm.tag([Document("n1", text, "es")]))
    for s in doc.spans:
        assert text[s.start : s.end] == s.text
    return [(s.start, s.end, s.label, s.text) for s in doc.spans]


def test_indices_place_repeated_words_exactly(server: FakeServer) -> None:
    server.respond = lambda body: completion(
        "Here are the entities:\n"
        + answer_for(
            body,
            [
                ("DIABETES", "disease", 1),
                ("mellitus", "disease", 1),
                ("dolor", "symptom", 2),
                ("torácico", "symptom", 1),
                ("fiebre", "symptom", 1),
            ],
        )
    )
    spans = tag(server)
    second = NOTE.index("dolor", NOTE.index("dolor") + 1)
    assert spans == [
        (NOTE.index("DIABETES"), NOTE.index("DIABETES") + 17, "DISEASE", "DIABETES mellitus"),
        (second, second + 14, "SYMPTOM", "dolor torácico"),
        (NOTE.index("fiebre"), NOTE.index("fiebre") + 6, "SYMPTOM", "fiebre"),
    ]
    body = server.requests[0][2]
    tokens = numbered(body)
    assert tokens[2] == "dolor" and "😀" in tokens.values() and len(server.requests) == 1
    assert '"<index> : <token> : <type>"' in body["messages"][-1]["content"]


def test_miscounted_unknown_and_invented_tokens(server: FakeServer) -> None:
    # 'fiebre' is token 15; the model says 14 (off by one: forgiven). 'tos' is not in the text.
    server.respond = lambda body: completion(
        "14 : fiebre : symptom\n4 : tos : symptom\n5 : con : drug\n2 : leve : O"
    )
    llm = LLMTagger(server.url, "m", ["DISEASE", "SYMPTOM"], prompt="tokens", backoff=0.0)
    doc = next(llm.tag([Document("n1", NOTE)]))
    assert [(s.text, s.label) for s in doc.spans] == [("fiebre", "SYMPTOM")]
    assert (llm.stats.matched, llm.stats.unmatched, llm.stats.unknown_labels) == (1, 1, 1)


def test_none_and_malformed_replies(server: FakeServer) -> None:
    replies = iter(["none", "I cannot help with that."])
    server.respond = lambda body: completion(next(replies))
    llm = LLMTagger(server.url, "m", ["DISEASE"], prompt="tokens", backoff=0.0)
    docs = list(llm.tag([Document("a", "Sin hallazgos."), Document("b", "Sin hallazgos.")]))
    assert [d.spans for d in docs] == [[], []]
    assert llm.stats.malformed == 1


def test_parsing_and_grouping() -> None:
    reply = "```\n- 3 : a:b : Disease\n4 : : : disease\n`7 : x : symptom`\n```"
    assert parse_token_lines(reply) == [(3, "a:b", "disease"), (4, ":", "disease"), (7, "x", "symptom")]
    assert parse_token_lines("") == [] and parse_token_lines("nothing here") is None
    assert place_token(["a", "B", "c", "b"], 3, "b") == 3
    assert place_token(["a", "B", "c"], 0, "b") == 1
    assert place_token(["a", "b"], 0, "z") is None
    assert group_token_labels({1: "D", 2: "D", 3: "S", 5: "S"}) == [(1, 2, "D"), (3, 3, "S"), (5, 5, "S")]
