"""Augmentation keeps every offset exact, draws rare forms first, and validates paraphrases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicalner.cli import app
from clinicalner.document import Document, Span, surface
from clinicalner.errors import CorpusError
from clinicalner.io import read_corpus, write_corpus
from clinicalner.predict.llm import ChatClient
from clinicalner.sample_notes import parse_marked
from clinicalner.train.augment import (
    AugmentStats,
    load_dictionary,
    paraphrase,
    rebuild,
    replace_mentions,
)
from fake_llm import FakeServer, completion

NOTE = parse_marked(
    "Paciente con [fiebre]{SYMPTOM} y [tos seca]{SYMPTOM}; [neumonía]{DISEASE} tratada. "
    "Se hizo una [radiografía]{PROCEDURE} 😀 sin [dolor]{SYMPTOM}.",
    "n1",
    "es",
)


def _reads_back(doc: Document) -> None:
    for s in doc.spans:
        assert surface(doc.text, s.start, s.end, s.fragments) == s.text


def test_replacement_moves_every_later_span_and_keeps_overlaps_and_fragments() -> None:
    text = NOTE.text
    nested = Span(text.index("tos"), text.index("tos") + 3, "SYMPTOM", "tos")  # inside "tos seca"
    a, b = text.index("radiografía"), text.index("dolor")
    broken = Span(a, b + 5, "PROCEDURE", fragments=((a, a + 11), (b, b + 5))).with_text(text)
    doc = Document("n1", text, [*NOTE.spans, nested, broken], language="es")
    fever = next(i for i, s in enumerate(doc.spans) if s.text == "fiebre")
    new = rebuild(doc, {fever: "fiebre alta de 39 ºC"}, "n1.aug1")
    _reads_back(new)
    assert new.text.startswith("Paciente con fiebre alta de 39 ºC y tos seca")
    assert [s.text for s in new.spans][1:] == [s.text for s in doc.spans][1:]
    assert new.metadata["augmented_from"] == "n1"


def test_copies_are_seeded_exact_and_skip_overlapping_mentions() -> None:
    text = NOTE.text
    nested = Span(text.index("tos"), text.index("tos") + 3, "SYMPTOM", "tos")
    doc = Document("n1", text, [*NOTE.spans, nested], language="es", annotated_labels=NOTE.annotated_labels)
    other = parse_marked(
        "[disnea]{SYMPTOM}, [asma]{DISEASE}, [ecografía]{PROCEDURE}, [mareo]{SYMPTOM}.", "n2"
    )
    stats = AugmentStats()
    out = replace_mentions([doc, other], copies=3, rate=1.0, seed=5, stats=stats)
    assert out and all(d.id.startswith(("n1.aug", "n2.aug")) for d in out)
    for d in out:
        _reads_back(d)
        # "tos seca" and "tos" overlap: neither is ever replaced.
        if d.id.startswith("n1"):
            assert "tos seca" in d.text and d.annotated_labels == doc.annotated_labels
    assert stats.skipped_overlapping == 2  # two spans, counted once per document
    again = replace_mentions([doc, other], copies=3, rate=1.0, seed=5)
    assert [(d.id, d.text) for d in again] == [(d.id, d.text) for d in out]


def test_rare_forms_come_first() -> None:
    pool = {"SYMPTOM": Counter({"fiebre": 99, "astenia": 1})}
    doc = parse_marked("Refiere [mareo]{SYMPTOM}.", "r")
    picks = Counter(d.spans[0].text for d in replace_mentions([doc], copies=200, rate=1.0, pool=pool, seed=1))
    assert picks["astenia"] > 150 and picks["fiebre"] > 0


def test_dictionary_variants_win_and_respect_the_label(tmp_path: Path) -> None:
    path = tmp_path / "variants.tsv"
    path.write_text(
        "# term\treplacement\tlabel\nfiebre\tpirexia\tSYMPTOM\nfiebre\tNOPE\tDISEASE\n", encoding="utf-8"
    )
    words = load_dictionary(path)
    doc = parse_marked("Con [Fiebre]{SYMPTOM}.", "d")
    out = replace_mentions([doc], rate=1.0, dictionary=words, pool={}, seed=0)
    assert [d.spans[0].text for d in out] == ["pirexia"]
    (tmp_path / "bad.tsv").write_text("only-one-column\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"bad\.tsv:1: expected"):
        load_dictionary(tmp_path / "bad.tsv")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


def test_paraphrases_are_kept_only_with_the_same_mentions(server: FakeServer) -> None:
    doc = parse_marked(
        "Tiene [fiebre]{SYMPTOM}. Se hizo [ecografía]{PROCEDURE}. Sin [asma]{DISEASE}. Con [tos]{SYMPTOM}.",
        "p",
        "es",
    )
    replies = iter(
        [
            "Presenta [fiebre]{SYMPTOM} desde ayer.",  # kept
            "Se realizó una [ecografía]{DISEASE}.",  # type changed: dropped
            "Niega [asma]{DISEASE} y [tos]{SYMPTOM}.",  # a mention added: dropped
            "Con [tos]{SYMPTOM}.",  # unchanged: dropped
        ]
    )
    server.respond = lambda body: completion(next(replies))
    stats = AugmentStats()
    out = paraphrase([doc], ChatClient(server.url, "m", api_key_env=None), stats=stats)
    assert [d.text for d in out] == ["Presenta fiebre desde ayer."]
    assert out[0].spans[0].label == "SYMPTOM" and out[0].metadata["augmented_from"] == "p"
    assert stats.paraphrases_kept == 1 and stats.paraphrases_dropped == 3
    assert stats.drop_reasons == Counter({"mentions changed": 2, "unchanged": 1})
    prompt = server.requests[0][2]["messages"][1]["content"]
    assert "Tiene [fiebre]{SYMPTOM}." in prompt and "ecografía" not in prompt


def test_cli_writes_copies_and_refuses_to_write_into_its_input(tmp_path: Path) -> None:
    corpus = tmp_path / "train.jsonl"
    write_corpus([NOTE], corpus, "jsonl")
    out = tmp_path / "aug.jsonl"
    r = CliRunner().invoke(app, ["augment", str(corpus), "-o", str(out), "--copies", "2", "--rate", "1"])
    assert r.exit_code == 0, r.output
    assert "augmented documents" in r.output and "fiebre" not in r.output
    docs = read_corpus(out).documents
    assert len(docs) == 2
    for d in docs:
        _reads_back(d)
    folder = tmp_path / "brat"
    folder.mkdir()
    r = CliRunner().invoke(app, ["augment", str(folder), "-o", str(folder / "aug.jsonl")])
    assert r.exit_code == 2 and "inside" in r.output
