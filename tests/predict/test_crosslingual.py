"""The cross-lingual lexicon: candidates, nearest neighbours, the saved folder, the CLI option."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clinicalner.document import Document, Span
from clinicalner.io import write_corpus
from clinicalner.predict.crosslingual import (
    TextEmbedder,
    build_crosslingual,
    build_crosslingual_lexicon,
    candidate_phrases,
    crosslingual_terms,
    nearest,
    source_terms,
)
from clinicalner.predict.lexicon import LexiconTagger, Term

# A stand-in for a multilingual encoder: these Italian/Romanian forms "mean" the Spanish ones.
MEANING = {
    "fiebre": "fever",
    "febbre": "fever",
    "febră": "fever",
    "dolor abdominal": "abdominal pain",
    "dolore addominale": "abdominal pain",
    "durere abdominală": "abdominal pain",
    "neumonía": "pneumonia",
    "polmonite": "pneumonia",
    "apendicectomía": "appendectomy",
    "appendicectomia": "appendectomy",
}


class FakeEmbedder:
    """Unit vectors: one axis per meaning in MEANING, a hashed random direction for anything else."""

    def __init__(self) -> None:
        self.axes = sorted(set(MEANING.values()))
        self.calls: list[int] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        dim = len(self.axes) + 64
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, t in enumerate(texts):
            meaning = MEANING.get(t.lower())
            if meaning is not None:
                out[i, self.axes.index(meaning)] = 1.0
            else:
                rng = np.random.default_rng(sum(map(ord, t)) + len(t))
                v = rng.normal(size=64)
                out[i, len(self.axes) :] = v / np.linalg.norm(v)
        return out


def doc(text: str, spans: list[tuple[str, str]], doc_id: str, language: str) -> Document:
    out = []
    for surface, label in spans:
        start = text.index(surface)
        out.append(Span(start, start + len(surface), label, surface))
    return Document(doc_id, text, out, language=language)


SOURCE = [
    doc("Fiebre y dolor abdominal.", [("Fiebre", "SYMPTOM"), ("dolor abdominal", "SYMPTOM")], "s1", "es"),
    doc("Fiebre alta, neumonía.", [("Fiebre", "SYMPTOM"), ("neumonía", "DISEASE")], "s2", "es"),
    doc(
        "Neumonía tras apendicectomía.",
        [("Neumonía", "DISEASE"), ("apendicectomía", "PROCEDURE")],
        "s3",
        "es",
    ),
    doc(
        "Se hizo apendicectomía y dolor abdominal.",
        [("apendicectomía", "PROCEDURE"), ("dolor abdominal", "SYMPTOM")],
        "s4",
        "es",
    ),
]
TARGET = [
    Document("t1", "La paziente ha febbre e dolore addominale. Poi polmonite.", [], language="it"),
    Document("t2", "Pacientul are febră. Tensiunea este normală.", [], language="ro"),
]


def test_source_terms_count_and_label() -> None:
    terms = source_terms(SOURCE, min_count=2)
    assert {(t.surface.lower(), t.label) for t in terms} == {
        ("fiebre", "SYMPTOM"),
        ("dolor abdominal", "SYMPTOM"),
        ("neumonía", "DISEASE"),
        ("apendicectomía", "PROCEDURE"),
    }
    assert source_terms(SOURCE, min_count=3) == []


def test_candidates_stay_inside_sentences_and_skip_short_edges() -> None:
    cands = candidate_phrases(TARGET, max_words=3)
    assert "dolore addominale" in cands and "febbre" in cands and "febră" in cands
    assert not any(c.startswith(("e ", "La ")) or c.endswith(" e") for c in cands)
    assert "addominale Poi" not in cands  # a sentence boundary lies between them
    assert all(len(c.split()) <= 3 for c in cands)
    assert len(cands) == len(set(cands))
    with pytest.raises(ValueError, match="max_words"):
        candidate_phrases(TARGET, max_words=0)


def test_nearest_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    q = rng.normal(size=(50, 8)).astype(np.float32)
    k = rng.normal(size=(20, 8)).astype(np.float32)
    best, sim = nearest(q, k, block=7)
    full = q @ k.T
    assert np.array_equal(best, full.argmax(1))
    assert np.allclose(sim, full.max(1))


def test_terms_above_threshold_get_the_neighbours_label() -> None:
    src = [Term("fiebre", "SYMPTOM"), Term("neumonía", "DISEASE")]
    kept = crosslingual_terms(src, ["febbre", "polmonite", "tensiunea"], FakeEmbedder(), 0.9)
    assert {(t.surface, t.label) for t in kept} == {("febbre", "SYMPTOM"), ("polmonite", "DISEASE")}
    assert all(t.score == pytest.approx(1.0) for t in kept)
    assert crosslingual_terms(src, [], FakeEmbedder()) == []
    with pytest.raises(ValueError, match="no source terms"):
        crosslingual_terms([], ["febbre"], FakeEmbedder())


def test_built_tagger_tags_target_text_without_target_labels() -> None:
    tagger, info = build_crosslingual(SOURCE, TARGET, FakeEmbedder(), min_similarity=0.9, max_words=3)
    assert info.source_terms == 4 and info.kept == len(tagger)
    tagged = next(iter(tagger.tag([TARGET[0]])))
    found = {(s.text, s.label) for s in tagged.spans}
    assert found == {("febbre", "SYMPTOM"), ("dolore addominale", "SYMPTOM"), ("polmonite", "DISEASE")}


def test_build_saves_a_lexicon_folder_and_ignores_target_spans(tmp_path: Path) -> None:
    src = tmp_path / "src.jsonl"
    tgt = tmp_path / "tgt.jsonl"
    write_corpus(SOURCE, src, "jsonl")
    # a gold span in the target must not leak into the lexicon
    leaked = doc("La paziente ha tensione alta.", [("tensione alta", "DISEASE")], "t3", "it")
    write_corpus([*TARGET, leaked], tgt, "jsonl")
    out = tmp_path / "xl"
    build = build_crosslingual_lexicon([src], [tgt], out, embedder=FakeEmbedder(), min_similarity=0.9)
    assert build.terms == 4 and build.source == "crosslingual"
    loaded = LexiconTagger.load(out)
    assert {t.surface for t in loaded.terms} == {"febbre", "dolore addominale", "polmonite", "febră"}
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert "crosslingual" in json.dumps(config)
    with pytest.raises(ValueError, match="min_similarity"):
        build_crosslingual_lexicon([src], [tgt], tmp_path / "x2", embedder=FakeEmbedder(), min_similarity=0)
    from clinicalner.errors import CorpusError

    plain = tmp_path / "plain.jsonl"
    write_corpus([Document("p", "Tensiunea este normală.", [], language="ro")], plain, "jsonl")
    with pytest.raises(CorpusError, match="lower --min-similarity"):
        build_crosslingual_lexicon([src], [plain], tmp_path / "x3", embedder=FakeEmbedder())
    with pytest.raises(CorpusError, match="no such file"):
        build_crosslingual_lexicon([src], [tmp_path / "nope"], tmp_path / "x4", embedder=FakeEmbedder())


def test_text_embedder_gives_unit_vectors(tmp_path: Path) -> None:
    from tiny_training import tiny_encoder

    enc = tiny_encoder(tmp_path, "unigram")
    vectors = TextEmbedder(enc, batch_size=2).embed(["fiebre", "dolor abdominal agudo", "febbre"])
    assert vectors.shape[0] == 3
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = TextEmbedder(enc, batch_size=3).embed(["febbre", "fiebre"])
    assert np.allclose(again[1], vectors[0], atol=1e-5)  # batching and order do not change a vector


def test_forms_the_lexicon_cannot_tell_apart_keep_one_label() -> None:
    """'Febră' (nearest: a symptom) and 'febra' (nearest: a disease) fold to one lexicon key:
    the more similar one is kept, instead of a lexicon that refuses a term with two labels."""

    table = {"fiebre": [1.0, 0.0], "neumonía": [0.0, 1.0], "Febră": [1.0, 0.0], "febra": [0.3, 0.95]}

    class Leaning:
        def embed(self, texts: list[str]) -> np.ndarray:
            vectors = np.array([table[t] for t in texts], dtype=np.float32)
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    src = [Term("fiebre", "SYMPTOM"), Term("neumonía", "DISEASE")]
    kept = crosslingual_terms(src, ["febra", "Febră"], Leaning(), 0.9)
    assert [(t.surface, t.label) for t in kept] == [("Febră", "SYMPTOM")]
    LexiconTagger(kept)  # builds: no term with two labels
