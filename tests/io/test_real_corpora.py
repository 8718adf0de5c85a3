"""The shared corpora load with the counts measured on them (skipped when they are absent)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from clinicalner.errors import CorpusError
from clinicalner.io import Corpus, detect_format, read_corpus


def _corpus(corpora_dir: Path, name: str, **kw: object) -> Corpus:
    path = corpora_dir / name
    if not path.exists():
        pytest.skip(f"{name} not in the shared corpora")
    return read_corpus(path, **kw)  # type: ignore[arg-type]


def _by(corpus: Corpus, key: str) -> tuple[dict[str, int], dict[str, int]]:
    docs: Counter[str] = Counter()
    spans: Counter[str] = Counter()
    for d in corpus.documents:
        k = d.language if key == "language" else d.metadata.get(key)
        docs[k] += 1
        spans[k] += len(d.spans)
    return dict(docs), dict(spans)


def _labels(corpus: Corpus) -> dict[str, int]:
    return dict(Counter(s.label for d in corpus.documents for s in d.spans))


def test_multiclinai_en_es(corpora_dir: Path) -> None:
    t = time.perf_counter()
    corpus = _corpus(corpora_dir, "multiclinai-en-es")
    elapsed = time.perf_counter() - t
    assert corpus.format == "multiclinai" and corpus.skipped == []
    assert len(corpus.documents) == 878
    assert sum(len(d.spans) for d in corpus.documents) == 24920
    assert _by(corpus, "language") == ({"en": 437, "es": 441}, {"en": 11897, "es": 13023})
    assert _by(corpus, "split") == ({"dev": 175, "train": 703}, {"dev": 4741, "train": 20179})
    assert _labels(corpus) == {"SYMPTOM": 9141, "DISEASE": 8042, "PROCEDURE": 7737}
    docs, spans = _by(corpus, "folder")
    assert (docs["es/dev/symptom"], spans["es/dev/symptom"]) == (29, 919)
    assert (docs["en/train/disease"], spans["en/train/disease"]) == (122, 3513)
    for d in corpus.documents:  # one type per document, named by its folder
        assert d.annotated_labels == frozenset({d.metadata["folder"].split("/")[2].upper()})
        assert d.labels() <= d.annotated_labels
    assert elapsed < 3.0  # well under a second or two on an idle machine


def test_spaccc_es(corpora_dir: Path) -> None:
    corpus = _corpus(corpora_dir, "spaccc-es", language="es")
    assert corpus.format == "brat"
    assert _by(corpus, "split") == ({"dev": 60, "train": 302}, {"dev": 2254, "train": 11216})
    assert _labels(corpus) == {"PROCEDURE": 5189, "DISEASE": 3842, "SYMPTOM": 4439}
    assert {d.language for d in corpus.documents} == {"es"}
    assert all(d.annotated_labels is None for d in corpus.documents)  # all three types on every document


def test_ncbi_disease(corpora_dir: Path) -> None:
    corpus = _corpus(corpora_dir, "ncbi-disease")
    assert corpus.format == "brat"
    assert _by(corpus, "split") == (
        {"dev": 100, "test": 100, "train": 593},
        {"dev": 787, "test": 960, "train": 5145},
    )
    assert _labels(corpus) == {
        "SpecificDisease": 3939,
        "DiseaseClass": 1016,
        "Modifier": 1767,
        "CompositeMention": 170,
    }
    # N lines (normalisations) are kept, pointing at the spans through their T ids
    assert (
        sum(len(d.metadata["brat"]["normalizations"]) for d in corpus.documents if "brat" in d.metadata)
        == 7038
    )
    doc = next(d for d in corpus.documents if d.id == "8589722")
    first = doc.metadata["brat"]["normalizations"][0]
    assert first.startswith("N1\tReference T1 MeSH:")
    assert doc.metadata["brat"]["ids"]["T1"] == 0
    assert {d.id for d in corpus.documents} >= {"8528200", "8528200.1"}  # the duplicated abstract, both kept


def test_bc5cdr(corpora_dir: Path) -> None:
    corpus = _corpus(corpora_dir, "bc5cdr")
    assert corpus.format == "pubtator"
    assert _by(corpus, "split") == (
        {"dev": 500, "test": 500, "train": 1000},
        {"dev": 9591, "test": 9809, "train": 18976},
    )
    assert _labels(corpus) == {"Chemical": 21282, "Disease": 17094}
    train = read_corpus(corpora_dir / "bc5cdr" / "CDR_TrainingSet.PubTator.txt").documents
    dev = read_corpus(corpora_dir / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt").documents
    assert [d.id for d in train[500:]] == [d.id for d in dev]  # the README's caution, checked
    assert sum(len(d.spans) for d in train[:500]) == 9385  # the official training split
    composite = [k for d in train for k, v in d.metadata["pubtator"].get("ids", {}).items() if len(v) > 1]
    assert len(composite) > 50  # composite mentions keep their extra column
    doc = train[0]
    assert doc.id == "227508" and doc.text[doc.spans[0].start : doc.spans[0].end] == "Naloxone"
    assert doc.metadata["pubtator"]["relations"][0][0] == "CID"


def test_biored(corpora_dir: Path) -> None:
    corpus = _corpus(corpora_dir, "biored")
    assert corpus.format == "pubtator"
    assert _by(corpus, "split") == (
        {"dev": 100, "test": 100, "train": 400},
        {"dev": 3533, "test": 3535, "train": 13351},
    )
    assert _labels(corpus) == {
        "GeneOrGeneProduct": 6697,
        "DiseaseOrPhenotypicFeature": 5545,
        "ChemicalEntity": 4429,
        "OrganismTaxon": 2192,
        "SequenceVariant": 1381,
        "CellLine": 175,
    }
    relations = sum(len(d.metadata["pubtator"].get("relations", [])) for d in corpus.documents)
    assert relations == 6503  # relation lines are kept aside, never taken for mentions


def test_chia_lenient(corpora_dir: Path) -> None:
    corpus = _corpus(corpora_dir, "chia", lenient=True)
    assert corpus.format == "brat"
    assert len(corpus.documents) == 2000
    assert sum(len(d.spans) for d in corpus.documents) == 48869
    assert sum(s.is_discontinuous for d in corpus.documents for s in d.spans) == 1822
    assert len(_labels(corpus)) == 31
    # CRLF counted: spans enclosing a \r that their stored text omitted are read fine
    assert sum("\r" in s.text for d in corpus.documents for s in d.spans) == 20
    where = sorted((Path(e.file or "").name, e.line) for e in corpus.skipped)
    assert where == [
        ("NCT02590822_exc.ann", 56),
        ("NCT02739295_exc.ann", 9),
        ("NCT02739295_exc.ann", 10),
        ("NCT03460002_inc.ann", 6),
    ]
    # a span text broken over lines by the file is read whole (NCT01907230_inc T15)
    doc = next(d for d in corpus.documents if d.id == "NCT01907230_inc")
    assert any(s.start == 0 and s.is_discontinuous and "\r" in s.text for s in doc.spans)


def test_chia_strict_names_the_stray_line(corpora_dir: Path) -> None:
    path = corpora_dir / "chia" / "chia_with_scope"
    if not path.exists():
        pytest.skip("chia not in the shared corpora")
    assert detect_format(path) == "brat"
    with pytest.raises(CorpusError) as e:
        read_corpus(path)
    assert Path(e.value.file or "").name == "NCT02590822_exc.ann" and e.value.line == 56
    assert "not a BRAT annotation line" in e.value.message and "--lenient" in e.value.message
