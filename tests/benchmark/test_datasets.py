"""Dataset recipes: label mapping, dropped documents, the Chia split, and the real corpora."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from clinicalner.benchmark.datasets import (
    BC5CDR_MAP,
    BIORED_MAP,
    CHIA_MAP,
    MULTICLINAI_LABELS,
    RECIPES,
    chia_trial,
    default_corpora_root,
    documents_fingerprint,
    group_split,
    load_custom,
    load_recipe,
    map_labels,
)
from clinicalner.document import Document, Span

# -- pure parts ---------------------------------------------------------------------------


def test_map_labels_relabels_drops_and_counts() -> None:
    docs = [
        Document(
            "a",
            "x" * 20,
            [Span(0, 2, "Disease"), Span(3, 5, "Species"), Span(6, 8, "Chemical")],
            annotated_labels=frozenset({"Disease", "Species"}),
        ),
        Document("b", "x" * 20, [Span(0, 2, "Species")]),
        Document("c", "x" * 20, []),
    ]
    mapping = {"Disease": "condition", "Chemical": "drug"}
    out, dropped = map_labels(docs, mapping, drop_empty=True)
    assert [d.id for d in out] == ["a"] and dropped == 2
    assert [(s.start, s.label) for s in out[0].spans] == [(0, "condition"), (6, "drug")]
    assert out[0].annotated_labels == frozenset({"condition"})
    assert docs[0].spans[0].label == "Disease"  # the input is not changed
    kept, dropped = map_labels(docs, mapping)
    assert [d.id for d in kept] == ["a", "b", "c"] and dropped == 0
    same, _ = map_labels(docs, None, drop_empty=True)
    assert [d.id for d in same] == ["a", "b"]


def test_group_split_is_deterministic_and_keeps_trials_together() -> None:
    ids = [f"NCT{n:08d}_{part}" for n in range(200) for part in ("inc", "exc")]
    split = group_split(ids)
    shuffled = ids[:]
    random.Random(7).shuffle(shuffled)
    assert group_split(shuffled) == split
    by_trial: dict[str, set[str]] = {}
    for i, part in split.items():
        by_trial.setdefault(chia_trial(i), set()).add(part)
    assert all(len(parts) == 1 for parts in by_trial.values())
    counts = Counter(split[f"NCT{n:08d}_inc"] for n in range(200))
    assert counts == {"train": 160, "validation": 20, "test": 20}
    assert group_split(ids, seed=43) != split


def test_documents_fingerprint() -> None:
    a = [Document("1", "fever", [Span(0, 5, "SYMPTOM")])]
    assert documents_fingerprint(a) == documents_fingerprint(
        [Document("1", "fever", [Span(0, 5, "SYMPTOM")])]
    )
    for other in (
        [Document("1", "fevers", [Span(0, 5, "SYMPTOM")])],
        [Document("1", "fever", [Span(0, 4, "SYMPTOM")])],
        [Document("2", "fever", [Span(0, 5, "SYMPTOM")])],
        [Document("1", "fever", [Span(0, 5, "SYMPTOM")], annotated_labels=frozenset({"SYMPTOM"}))],
    ):
        assert documents_fingerprint(other) != documents_fingerprint(a)
    assert documents_fingerprint(a, {"labels": ["x"]}) != documents_fingerprint(a)


def test_custom_dataset_from_fixtures(fixtures: Path) -> None:
    ward = load_custom(
        "ward",
        fixtures / "ward" / "dev",
        train=fixtures / "ward" / "train",
        format="brat",
        label_map={"Disease": "condition", "Drug": "drug"},
        drop_empty=True,
    )
    assert ward.labels == ("condition", "drug")
    assert [d.id for d in ward.eval] == ["d1", "d2", "d4"]
    assert ward.info["documents_dropped_empty"] == 1
    assert {s.label for d in ward.train for s in d.spans} == {"condition", "drug"}  # Anatomy dropped
    d2 = next(d for d in ward.eval if d.id == "d2")
    assert [d2.text[s.start : s.end] for s in d2.spans] == [
        "Asthma exacerbation",
        "salbutamol",
        "hypertension",
    ]
    notes = load_custom("notes", fixtures / "notes" / "dev.jsonl")
    assert notes.labels == ("condition", "drug", "procedure")  # inferred from the spans
    assert not notes.has_train
    with pytest.raises(ValueError, match="no training documents"):
        _ = notes.train


def test_recipe_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KeyError, match="unknown dataset recipe 'ncbi'"):
        load_recipe("ncbi", tmp_path)
    with pytest.raises(FileNotFoundError, match="ncbi-disease/devel"):
        load_recipe("ncbi-disease", tmp_path)
    monkeypatch.setenv("CLINICALNER_CORPORA", str(tmp_path))
    assert default_corpora_root() == tmp_path


# -- real corpora (skipped when absent) --------------------------------------------------


def _pubtator_mentions(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in path.read_text("utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) >= 5 and cols[1].isdigit() and cols[2].isdigit():
            counts[cols[4]] += 1
    return counts


def _pubtator_ids(path: Path) -> list[str]:
    return [line.split("|", 1)[0] for line in path.read_text("utf-8").splitlines() if "|t|" in line]


def test_ncbi_disease(corpora_dir: Path) -> None:
    d = load_recipe("ncbi-disease", corpora_dir)
    anns = sorted((corpora_dir / "ncbi-disease" / "devel").glob("*.ann"))
    t_lines = [sum(1 for line in a.read_text("utf-8").splitlines() if line.startswith("T")) for a in anns]
    assert len(d.eval) == sum(1 for n in t_lines if n) and d.info["documents_dropped_empty"] == t_lines.count(
        0
    )
    assert sum(len(doc.spans) for doc in d.eval) == sum(t_lines)
    assert {s.label for doc in d.eval for s in doc.spans} == {"condition"}
    assert d.labels == ("condition",)
    assert len(d.train) == len(list((corpora_dir / "ncbi-disease" / "train").glob("*.txt")))


def test_bc5cdr(corpora_dir: Path) -> None:
    d = load_recipe("bc5cdr", corpora_dir)
    dev = corpora_dir / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt"
    raw = _pubtator_mentions(dev)
    labels = Counter(s.label for doc in d.eval for s in doc.spans)
    assert labels == {BC5CDR_MAP[k]: v for k, v in raw.items() if k in BC5CDR_MAP}
    assert len(d.eval) + d.info["documents_dropped_empty"] == len(_pubtator_ids(dev))
    # Training: the official 500 abstracts, none of the development ones.
    assert len(d.train) == 500
    assert not {doc.id for doc in d.train} & set(_pubtator_ids(dev))


def test_biored(corpora_dir: Path) -> None:
    d = load_recipe("biored", corpora_dir)
    raw = _pubtator_mentions(corpora_dir / "biored" / "Dev.PubTator")
    expected: Counter[str] = Counter()
    for k, v in raw.items():
        if k in BIORED_MAP:
            expected[BIORED_MAP[k]] += v
    assert Counter(s.label for doc in d.eval for s in doc.spans) == expected
    assert set(expected) == {"condition", "drug", "gene", "gene variant"} == set(d.labels)
    assert raw["OrganismTaxon"] > 0 and raw["CellLine"] > 0  # present in the file, dropped here
    assert all(doc.spans for doc in d.eval)


def test_chia_split(corpora_dir: Path) -> None:
    d = load_recipe("chia", corpora_dir)
    files = sorted(p.stem for p in (corpora_dir / "chia" / "chia_with_scope").glob("*.txt"))
    split = group_split(files)
    validation = {i for i, part in split.items() if part == "validation"}
    assert d.info["documents_read"] == len(validation)
    assert len(d.eval) + d.info["documents_dropped_empty"] == len(validation)
    assert {doc.id for doc in d.eval} <= validation
    assert all(doc.spans for doc in d.eval)
    assert {s.label for doc in d.eval for s in doc.spans} == set(CHIA_MAP.values()) == set(d.labels)
    train_trials = {chia_trial(doc.id) for doc in d.train}
    assert not train_trials & {chia_trial(doc.id) for doc in d.eval}
    # Deterministic: a second load picks the same documents, spans and all.
    assert load_recipe("chia", corpora_dir).fingerprint == d.fingerprint
    assert "seed 42" in d.info["note"]


def test_multiclinai_and_spaccc(corpora_dir: Path) -> None:
    d = load_recipe("multiclinai-en-es", corpora_dir)
    root = corpora_dir / "multiclinai-en-es"
    n_txt = {lang: len(list((root / lang / "dev").glob("*/txt/*.txt"))) for lang in ("en", "es")}
    assert Counter(doc.language for doc in d.eval) == n_txt
    for doc in d.eval:
        assert doc.annotated_labels is not None and len(doc.annotated_labels) == 1
        assert doc.labels() <= doc.annotated_labels
    assert d.labels == MULTICLINAI_LABELS and d.info["documents_dropped_empty"] == 0
    en = load_recipe("multiclinai-en", corpora_dir)
    assert len(en.eval) == n_txt["en"] and {doc.language for doc in en.eval} == {"en"}
    sp = load_recipe("spaccc-es", corpora_dir)
    assert len(sp.eval) == len(list((corpora_dir / "spaccc-es" / "dev").glob("*.txt")))
    assert {s.label for doc in sp.eval for s in doc.spans} == set(MULTICLINAI_LABELS)


def test_every_recipe_is_listed_with_its_files(corpora_dir: Path) -> None:
    assert all(recipe.available(corpora_dir) for recipe in RECIPES.values())
