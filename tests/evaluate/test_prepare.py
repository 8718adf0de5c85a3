"""Pairing gold and predictions: (language, id) keys, copies of one document, ambiguity."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner import api
from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError
from clinicalner.evaluate import score

ES = "Paciente con fiebre y diabetes."
CS = "Pacient s horečkou a cukrovkou."


def _parallel() -> list[Document]:
    """A parallel corpus may use the same file names in every language (different texts)."""
    return [
        Document("doc1", ES, [Span(13, 19, "SYMPTOM"), Span(22, 30, "DISEASE")], "es"),
        Document("doc1", CS, [Span(10, 18, "SYMPTOM"), Span(21, 30, "DISEASE")], "cs"),
    ]


def test_documents_of_one_id_in_two_languages_stay_apart():
    gold = _parallel()
    r = score(gold, gold, metrics=["strict", "multiclinai_strict"], breakdowns=("language", "document"))
    for name in ("strict", "multiclinai_strict"):
        assert r.metric(name).counts == {"tp": 4, "fp": 0, "fn": 0}, name
    assert set(r.breakdowns["language"]) == {"cs", "es"}
    assert set(r.breakdowns["document"]) == {"es/doc1", "cs/doc1"}
    assert r.stats["gold_documents"] == 2


def test_a_prediction_in_one_language_is_not_credited_to_the_other():
    gold = _parallel()
    pred = [gold[0]]  # Spanish only
    r = score(gold, pred, metrics=["strict"], breakdowns=("language",))
    assert r.breakdown("language", "es", "strict").f1 == 1.0
    assert r.breakdown("language", "cs", "strict").recall == 0.0


def test_language_less_predictions_against_repeated_ids_are_an_error():
    gold = _parallel()
    pred = [Document("doc1", "", [Span(13, 19, "SYMPTOM")], None, metadata={"has_text": False})]
    with pytest.raises(CorpusError, match=r"1 document id.*several languages.*one language at a time"):
        score(gold, pred)


def test_language_less_predictions_pair_by_id_when_it_is_unique():
    gold = [_parallel()[0], Document("doc2", ES, [Span(0, 8, "X")], "cs")]
    pred = [
        Document("doc1", ES, [Span(13, 19, "SYMPTOM"), Span(22, 30, "DISEASE")]),
        Document("doc2", ES, [Span(0, 8, "X")]),
    ]
    r = score(gold, pred, metrics=["strict"])
    assert r.metric("strict").counts == {"tp": 3, "fp": 0, "fn": 0}


def test_a_language_the_gold_never_names_pairs_by_id():
    """Predictions in a folder whose name only looks like a language code ('run-it')."""
    gold = [_parallel()[0]]
    pred = [Document("doc1", ES, list(gold[0].spans), "it")]
    assert score(gold, pred, metrics=["strict"]).metric("strict").f1 == 1.0


def test_copies_of_one_document_are_merged_and_their_spans_counted_once():
    """BC5CDR's training file repeats the development abstracts."""
    a = Document("123", ES, [Span(13, 19, "S"), Span(22, 30, "D")], metadata={"source": "train.txt"})
    b = Document("123", ES, [Span(13, 19, "S"), Span(22, 30, "D")], metadata={"source": "dev.txt"})
    r = score([a, b], [a, b], metrics=["strict", "multiclinai_strict", "nervaluate_0.1.8_strict"])
    for name in ("strict", "multiclinai_strict"):
        assert r.metric(name).counts == {"tp": 2, "fp": 0, "fn": 0}, name
    assert r.stats["gold_spans_repeated_in_copies"] == 2
    assert r.stats["gold_document_copies_merged"] == 1
    assert any("'123' in dev.txt and train.txt" in w and "2 dropped" in w for w in r.warnings)


def test_per_type_copies_keep_all_their_spans():
    """The MultiClinAI per-type folders: one text, one type per copy."""
    s = Document("d", ES, [Span(13, 19, "SYMPTOM")], "es", frozenset({"SYMPTOM"}))
    d = Document("d", ES, [Span(22, 30, "DISEASE")], "es", frozenset({"DISEASE"}))
    r = score([s, d], [s, d], metrics=["strict"])
    assert r.metric("strict").counts == {"tp": 2, "fp": 0, "fn": 0}
    assert not r.warnings and r.stats["gold_spans_repeated_in_copies"] == 0


def test_a_span_written_twice_in_one_copy_stays_twice():
    a = Document("d", ES, [Span(13, 19, "S"), Span(13, 19, "S")])
    b = Document("d", ES, [Span(13, 19, "S")])
    r = score([a, b], [b], metrics=["multiclinai_strict"])
    assert r.metric("multiclinai_strict").counts == {"tp": 1, "fp": 0, "fn": 1}
    assert r.stats["gold_spans_repeated_in_copies"] == 1


def test_one_id_with_two_texts_is_an_error():
    a = Document("d", ES, [], metadata={"source": "a.txt"})
    b = Document("d", CS, [], metadata={"source": "b.txt"})
    with pytest.raises(CorpusError, match="appears twice with different texts"):
        score([a, b], [a])


def test_unknown_labels_are_an_error_or_a_warning():
    gold = _parallel()
    with pytest.raises(CorpusError, match=r"DISEAS.*the labels there are: DISEASE, SYMPTOM"):
        score(gold, gold, labels=["DISEAS"])
    r = score(gold, gold, labels=["DISEASE", "DISEAS"], metrics=["strict"])
    assert any("DISEAS are in neither" in w for w in r.warnings)
    assert r.metric("strict").recall == 1.0


def _release_tree(root: Path) -> Path:
    """Two languages of the release layout with repeated file names and different texts."""
    for lang, text, spans in (
        ("es", ES, [("SYMPTOM", 13, 19)]),
        ("cz", CS, [("SYMPTOM", 10, 18)]),
    ):
        group = root / f"MultiClinNER-{lang}" / f"MultiClinNER-{lang}-train" / "symptom"
        (group / "txt").mkdir(parents=True)
        (group / "tsv").mkdir()
        (group / "txt" / "doc1.txt").write_text(text, encoding="utf-8")
        rows = "".join(f"doc1\t{lab}\t{a}\t{b}\t{text[a:b]}\n" for lab, a, b in spans)
        (group / "tsv" / f"multiclinner_{lang}-train_symptom.tsv").write_text(
            "filename\tlabel\tstart_span\tend_span\ttext\n" + rows, encoding="utf-8"
        )
    return root


def test_release_tree_against_itself_scores_every_language(tmp_path):
    root = _release_tree(tmp_path / "rel")
    r = api.evaluate(root, root, metrics=["strict"], breakdowns=("language",))
    assert r.metric("strict").counts == {"tp": 2, "fp": 0, "fn": 0}
    assert set(r.breakdowns["language"]) == {"cs", "es"}


def test_bare_tsv_against_a_multilingual_release_is_refused(tmp_path):
    root = _release_tree(tmp_path / "rel")
    pred = tmp_path / "pred.tsv"
    pred.write_text(
        "filename\tlabel\tstart_span\tend_span\ttext\ndoc1\tSYMPTOM\t13\t19\tfiebre\n", encoding="utf-8"
    )
    with pytest.raises(CorpusError, match=r"pred.tsv.*1 predicted document id.*several languages"):
        api.evaluate(root, pred, metrics=["strict"])
    # one language at a time works
    r = api.evaluate(root / "MultiClinNER-es", pred, metrics=["strict"])
    assert r.metric("strict").f1 == 1.0


@pytest.mark.parametrize("order", [1, -1], ids=["exact first", "language-less first"])
def test_an_exact_and_a_language_less_prediction_of_one_document_are_merged(order):
    """Both predicted copies pair with the one gold document: none of their spans may vanish."""
    text = "hello world foo"
    gold = [Document("d1", text, [Span(0, 5, "D")], "en")]
    pred = [
        Document("d1", text, [Span(0, 5, "D")], "en"),
        Document("d1", "", [Span(6, 11, "D"), Span(12, 15, "D")], None),
    ][::order]
    r = score(gold, pred, metrics=["multiclinai_strict", "strict"], breakdowns=())
    for name in ("multiclinai_strict", "strict"):
        assert r.metric(name).counts == {"tp": 1, "fp": 2, "fn": 0}, name
    assert r.stats["predicted_document_copies_merged"] == 1
    assert r.stats["predicted_documents_without_gold"] == 0


def test_an_exact_and_a_language_less_prediction_repeating_a_span_count_it_once():
    gold = [Document("d1", ES, [Span(13, 19, "S")], "es")]
    pred = [Document("d1", ES, [Span(13, 19, "S")], "es"), Document("d1", ES, [Span(13, 19, "S")])]
    r = score(gold, pred, metrics=["multiclinai_strict"], breakdowns=())
    assert r.metric("multiclinai_strict").counts == {"tp": 1, "fp": 0, "fn": 0}
    assert r.stats["predicted_spans_repeated_in_copies"] == 1


def test_two_predictions_of_one_gold_document_with_different_texts_are_an_error():
    gold = [_parallel()[0]]
    pred = [
        Document("doc1", ES, [], "es", metadata={"source": "es/doc1.txt"}),
        Document("doc1", CS, [], None, metadata={"source": "pred/doc1.txt"}),
    ]
    with pytest.raises(CorpusError, match=r"'doc1' \(es\).*'doc1' \(no language\).*texts differ"):
        score(gold, pred)


def test_two_predicted_languages_for_a_language_less_gold_document_are_an_error():
    gold = [Document("doc1", "", [Span(13, 19, "SYMPTOM")], None, metadata={"has_text": False})]
    with pytest.raises(CorpusError, match=r"several languages"):
        score(gold, _parallel())
