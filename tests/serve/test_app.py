"""The REST service: predict's spans, the bad-input table, security, the access log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from clinicalner import api
from clinicalner.io import read_corpus, write_corpus
from clinicalner.serve.run import build_app
from clinicalner.serve.settings import ServeSettings
from tiny_trained import NOTES

LIMITS = ServeSettings(max_chars=200, max_batch=3)


@pytest.fixture(scope="module")
def client(tiny_model: Path) -> Iterator[TestClient]:
    with TestClient(build_app(tiny_model, LIMITS, device="cpu", precision="fp32")) as c:
        yield c


@pytest.fixture(scope="module")
def predicted(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """What `predict` writes for NOTES, per document id: (start, end, label, text, score)."""
    root = tmp_path_factory.mktemp("predict")
    write_corpus(NOTES, root / "in.jsonl", "jsonl")
    api.predict(
        tiny_model, root / "in.jsonl", root / "out.jsonl", device="cpu", precision="fp32", progress=False
    )
    docs = read_corpus(root / "out.jsonl").documents
    assert sum(len(d.spans) for d in docs) > 3, "the tiny model should find some entities"
    return {d.id: [(s.start, s.end, s.label, s.text, s.score) for s in d.spans] for d in docs}


def _spans(answer: dict[str, Any]) -> list[tuple]:
    return [(s["start"], s["end"], s["label"], s["text"], s["score"]) for s in answer["spans"]]


def test_tag_gives_the_spans_predict_gives(client: TestClient, predicted: dict) -> None:
    for doc in NOTES:
        r = client.post("/v1/tag", json={"text": doc.text, "language": doc.language, "id": doc.id})
        assert r.status_code == 200, r.text
        assert r.json()["id"] == doc.id
        assert _spans(r.json()) == predicted[doc.id], doc.id


def test_batch_gives_the_spans_predict_gives(tiny_model: Path, predicted: dict) -> None:
    with TestClient(build_app(tiny_model, ServeSettings(), device="cpu", precision="fp32")) as c:
        body = {"documents": [{"text": d.text, "language": d.language, "id": d.id} for d in NOTES]}
        r = c.post("/v1/tag/batch", json=body)
    assert r.status_code == 200, r.text
    for answer in r.json()["documents"]:
        assert _spans(answer) == predicted[answer["id"]]


def test_labels_filter_the_spans(client: TestClient, predicted: dict) -> None:
    doc = next(d for d in NOTES if {s[2] for s in predicted[d.id]} >= {"SYMPTOM"} and len(d.text) <= 200)
    r = client.post("/v1/tag", json={"text": doc.text, "language": doc.language, "labels": ["SYMPTOM"]})
    assert _spans(r.json()) == [s for s in predicted[doc.id] if s[2] == "SYMPTOM"]


JSON = {"content-type": "application/json"}

#: (what, body bytes, status, words the answer must contain)
BAD_INPUT = [
    ("not JSON", b'{"text": ', 422, ["json_invalid"]),
    ("no text", b'{"language": "es"}', 422, ['"text"', "missing"]),
    ("text not a string", b'{"text": 5}', 422, ['"text"']),
    ("unknown field", b'{"text": "x", "txt": "y"}', 422, ['"txt"', "extra"]),
    ("labels not a list", b'{"text": "x", "labels": "DISEASE"}', 422, ['"labels"']),
    ("unknown label", b'{"text": "x", "labels": ["DISEASE", "ALLERGY"]}', 422, ["ALLERGY", "labels"]),
    ("text over max_chars", json.dumps({"text": "a" * 201}).encode(), 413, ["max_chars", "200"]),
    ("undecodable bytes", b'{"text": "fiebre \xff\xfe"}', 400, ["UTF-8", "byte"]),
    ("empty text", b'{"text": ""}', 200, ['"spans":[]']),
]


@pytest.mark.parametrize(("what", "body", "status", "words"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_gets_a_clear_answer(
    client: TestClient, what: str, body: bytes, status: int, words: list
) -> None:
    r = client.post("/v1/tag", content=body, headers=JSON)
    assert r.status_code == status, r.text
    for word in words:
        assert word in r.text, (what, r.text)
    assert "fiebre" not in r.text  # the input is never echoed back


BAD_BATCHES = [
    ("documents missing", {}, 422, ['"documents"']),
    ("over max_batch", {"documents": [{"text": "x"}] * 4}, 413, ["max_batch", "3"]),
    ("one text over max_chars", {"documents": [{"text": "x"}, {"text": "a" * 201}]}, 413, ["documents.1"]),
    ("bad label in the second", {"documents": [{"text": "x"}, {"text": "x", "labels": ["X"]}]}, 422, ["1"]),
]


@pytest.mark.parametrize(("what", "body", "status", "words"), BAD_BATCHES, ids=[b[0] for b in BAD_BATCHES])
def test_bad_batch_gets_a_clear_answer(
    client: TestClient, what: str, body: dict, status: int, words: list
) -> None:
    r = client.post("/v1/tag/batch", json=body)
    assert r.status_code == status, r.text
    for word in words:
        assert word in r.text, (what, r.text)


def test_body_over_the_byte_limit_is_413_before_parsing(client: TestClient) -> None:
    body = b"x" * (LIMITS.max_body_bytes + 1)
    r = client.post("/v1/tag", content=body, headers=JSON)
    assert r.status_code == 413 and "max_body_bytes" in r.text


def test_model_health_ready_and_openapi(client: TestClient) -> None:
    info = client.get("/v1/model").json()
    assert info["labels"] == ["DISEASE", "PROCEDURE", "SYMPTOM"]
    assert info["base_model"] and info["training_config_digest"].startswith("sha256:")
    assert "dev_strict_f1" in info["validation"]
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ready").json()["ready"] is True
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/tag", "/v1/tag/batch", "/v1/model", "/health", "/ready"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_the_page_and_its_assets_come_from_the_app(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200


def test_note_text_never_reaches_the_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    secret = "Paciente Zacarías con fiebre"
    with caplog.at_level(logging.DEBUG):
        client.post(
            "/v1/tag?note=" + "Zacarías", json={"text": secret, "id": "n1"}, headers={"X-Request-ID": "r-42"}
        )
        client.post("/v1/tag", content=b'{"text": "Zacar\xc3\xadas', headers=JSON)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("clinicalner.serve")]
    assert any("r-42 POST /v1/tag 200" in line for line in lines), lines
    assert any(" 422 " in line for line in lines)
    server_side = [
        r for r in caplog.records if not r.name.startswith("httpx")
    ]  # the test client logs its URL
    assert all("Zacar" not in r.getMessage() for r in server_side)


def test_api_key_is_required_when_set(tiny_model: Path) -> None:
    settings = ServeSettings(api_key="s3cret")
    with TestClient(build_app(tiny_model, settings, device="cpu", precision="fp32")) as c:
        assert c.get("/health").status_code == 200  # probes need no key
        assert c.post("/v1/tag", json={"text": "x"}).status_code == 401
        wrong = {"Authorization": "Bearer s3cre"}
        assert c.post("/v1/tag", json={"text": "x"}, headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        assert c.post("/v1/tag", json={"text": "x"}, headers=right).status_code == 200
        assert c.get("/v1/model", headers=right).status_code == 200


def test_cors_is_off_unless_an_origin_is_given(tiny_model: Path, client: TestClient) -> None:
    origin = {"Origin": "https://ehr.example.org"}
    assert "access-control-allow-origin" not in client.get("/health", headers=origin).headers
    settings = ServeSettings(cors_origins=("https://ehr.example.org",))
    with TestClient(build_app(tiny_model, settings, device="cpu", precision="fp32")) as c:
        allowed = c.get("/health", headers=origin).headers
        assert allowed["access-control-allow-origin"] == "https://ehr.example.org"


def test_a_lexicon_is_served_too(tmp_path: Path) -> None:
    terms = tmp_path / "terms.tsv"
    terms.write_text("fiebre\tSYMPTOM\ndiabetes\tDISEASE\n", encoding="utf-8")
    with TestClient(build_app(terms, ServeSettings())) as c:
        r = c.post("/v1/tag", json={"text": "Fiebre y diabetes."})
        assert r.status_code == 200
        assert [(s["label"], s["text"]) for s in r.json()["spans"]] == [
            ("SYMPTOM", "Fiebre"),
            ("DISEASE", "diabetes"),
        ]


def test_an_unexpected_error_is_a_500_that_logs_no_text(
    client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]

    async def broken(documents: Any) -> Any:
        raise RuntimeError(f"tokenizer choked on {documents[0].text!r}")

    monkeypatch.setattr(service, "tag", broken)
    with caplog.at_level(logging.DEBUG):
        r = client.post("/v1/tag", json={"text": "Paciente Zacarías"}, headers={"X-Request-ID": "r-500"})
    assert r.status_code == 500 and "r-500" in r.text and "Zacar" not in r.text
    assert any("RuntimeError" in rec.getMessage() for rec in caplog.records)
    assert all("Zacar" not in rec.getMessage() for rec in caplog.records if not rec.name.startswith("httpx"))
