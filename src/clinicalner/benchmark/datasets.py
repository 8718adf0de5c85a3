"""Benchmark datasets: built-in recipes for the corpora in the shared folder, and custom ones.

A recipe says where a corpus's training and evaluation documents are, how its entity types
map onto the benchmark's labels, and whether documents left without a span are dropped.

The four English sets follow the M42 clinical NER benchmark (Abdul et al., 2024): types are
mapped to OMOP domains (``condition``, ``drug``, ``procedure``, ``measurement``, ``gene``,
``gene variant``), types without a domain are dropped, documents left with no span are
dropped, and the evaluation split is the validation (dev) split. Chia has no official split:
M42 used its own, which is not published as a file, so ours is recomputed here (trials shuffled
with seed 42, 80/10/10, the 10 % validation part evaluated). Because it is a different draw,
Chia scores are comparable between runs of this benchmark but not number for number with
M42's leaderboard. Trials rather than files are split so that the inclusion and exclusion
criteria of one trial, which share most of their vocabulary, never sit on both sides.

The MultiClinAI-style sets keep their own types (DISEASE, SYMPTOM, PROCEDURE) and keep every
document, as the shared task scores them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clinicalner.document import Document, Span

CORPORA_ENV = "CLINICALNER_CORPORA"

# OMOP-style domains of the M42 benchmark, source type -> domain. Types missing here are dropped.
NCBI_MAP: dict[str, str] = {
    "SpecificDisease": "condition",
    "DiseaseClass": "condition",
    "Modifier": "condition",
    "CompositeMention": "condition",
}
BC5CDR_MAP: dict[str, str] = {"Chemical": "drug", "Disease": "condition"}
# BioRED's PubTator files spell the types out; the short names are those M42 documents.
BIORED_MAP: dict[str, str] = {
    "GeneOrGeneProduct": "gene",
    "Gene": "gene",
    "DiseaseOrPhenotypicFeature": "condition",
    "Disease": "condition",
    "ChemicalEntity": "drug",
    "Chemical": "drug",
    "SequenceVariant": "gene variant",
    "Variant": "gene variant",
}
CHIA_MAP: dict[str, str] = {
    "Condition": "condition",
    "Drug": "drug",
    "Procedure": "procedure",
    "Measurement": "measurement",
}
MULTICLINAI_LABELS = ("DISEASE", "SYMPTOM", "PROCEDURE")

CHIA_SEED = 42
CHIA_FRACTIONS = (0.8, 0.1, 0.1)


def default_corpora_root() -> Path:
    """``$CLINICALNER_CORPORA``, else ``../shared/corpora`` from the working folder, else
    ``/work/shared/corpora`` (the first that exists; the first candidate when none does)."""
    env = os.environ.get(CORPORA_ENV)
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd().parent / "shared" / "corpora", Path("/work/shared/corpora")]
    for path in candidates:
        if path.is_dir():
            return path
    return candidates[0]


class Reader:
    """Reads corpus paths, each once: the train and eval parts of Chia come from one read.

    One reader lives as long as one dataset, so a corpus edited on disk is read afresh by the
    next benchmark (a process-wide cache would hand back stale documents).
    """

    def __init__(self) -> None:
        self._docs: dict[tuple[str, str | None, bool, str | None], list[Document]] = {}
        self.skipped = 0  # problems lenient reads skipped (a count: messages may quote note text)

    def __call__(
        self, path: Path, format: str | None = None, *, lenient: bool = False, language: str | None = None
    ) -> list[Document]:
        key = (str(Path(path).resolve()), format, lenient, language)
        if key not in self._docs:
            from clinicalner.io import read_corpus

            corpus = read_corpus(path, format, lenient=lenient, language=language)
            self._docs[key] = list(corpus.documents)
            self.skipped += len(corpus.skipped)
        return self._docs[key]


def map_labels(
    documents: Iterable[Document], label_map: Mapping[str, str] | None, *, drop_empty: bool = False
) -> tuple[list[Document], int]:
    """Documents with spans relabelled by ``label_map`` (unmapped types dropped), and the number
    of documents dropped for having no span left (only with ``drop_empty``).

    ``annotated_labels`` is mapped too, so masking of unannotated types keeps working.
    """
    out: list[Document] = []
    dropped = 0
    for doc in documents:
        if label_map is None:
            mapped = doc
        else:
            spans = [_relabel(s, label_map[s.label]) for s in doc.spans if s.label in label_map]
            annotated = doc.annotated_labels
            if annotated is not None:
                annotated = frozenset(label_map[label] for label in annotated if label in label_map)
            mapped = replace(doc, spans=spans, annotated_labels=annotated, metadata=dict(doc.metadata))
        if drop_empty and not mapped.spans:
            dropped += 1
            continue
        out.append(mapped)
    return out, dropped


def _relabel(span: Span, label: str) -> Span:
    return span if span.label == label else replace(span, label=label)


def chia_trial(doc_id: str) -> str:
    """``NCT00050349_exc`` -> ``NCT00050349``: both criteria files of a trial."""
    stem = doc_id.rsplit("/", 1)[-1]
    for suffix in ("_inc", "_exc"):
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def group_split(
    ids: Sequence[str],
    group: Callable[[str], str] = chia_trial,
    seed: int = CHIA_SEED,
    fractions: Sequence[float] = CHIA_FRACTIONS,
) -> dict[str, str]:
    """Assign each id to ``train``/``validation``/``test`` by shuffling its group (seeded).

    Groups are sorted before the shuffle so the result depends on the set of ids only,
    not on the order files were listed in.
    """
    groups = sorted({group(i) for i in ids})
    random.Random(seed).shuffle(groups)
    n = len(groups)
    n_train = round(fractions[0] * n)
    n_val = round(fractions[1] * n)
    part: dict[str, str] = {}
    for k, g in enumerate(groups):
        part[g] = "train" if k < n_train else "validation" if k < n_train + n_val else "test"
    return {i: part[group(i)] for i in ids}


# ---------------------------------------------------------------------------------------------
# Recipes

Loader = Callable[[Path, Reader], list[Document]]


@dataclass(frozen=True)
class Recipe:
    """How to build one benchmark dataset from a corpora root."""

    name: str
    description: str
    labels: tuple[str, ...]
    train: Loader
    eval: Loader
    label_map: Mapping[str, str] | None = None
    drop_empty: bool = False
    required: tuple[str, ...] = ()
    language: str | None = None
    note: str = ""

    def available(self, root: Path) -> bool:
        return all((Path(root) / rel).exists() for rel in self.required)


def _brat(rel: str, **kw: Any) -> Loader:
    return lambda root, read: read(Path(root) / rel, "brat", **kw)


def _pubtator(rel: str, first: int | None = None, skip_ids_of: str | None = None) -> Loader:
    def load(root: Path, read: Reader) -> list[Document]:
        docs = read(Path(root) / rel, "pubtator")
        if skip_ids_of is not None:
            # The training file also holds the development abstracts: keep only the others.
            skip = {d.id for d in read(Path(root) / skip_ids_of, "pubtator")}
            docs = [d for d in docs if d.id not in skip]
        return docs[:first] if first is not None else docs

    return load


def _chia(part: str) -> Loader:
    def load(root: Path, read: Reader) -> list[Document]:
        docs = read(Path(root) / "chia" / "chia_with_scope", "brat", lenient=True, language="en")
        assignment = group_split([d.id for d in docs])
        return [d for d in docs if assignment[d.id] == part]

    return load


def _multiclinai(split: str, languages: Sequence[str]) -> Loader:
    def load(root: Path, read: Reader) -> list[Document]:
        docs: list[Document] = []
        for lang in languages:
            docs += read(Path(root) / "multiclinai-en-es" / lang / split, "multiclinai", language=lang)
        return docs

    return load


_M42 = "M42 clinical NER benchmark set (OMOP labels, validation split, empty documents dropped)"

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            "ncbi-disease",
            f"NCBI disease, {_M42}",
            ("condition",),
            train=_brat("ncbi-disease/train", language="en"),
            eval=_brat("ncbi-disease/devel", language="en"),
            label_map=NCBI_MAP,
            drop_empty=True,
            required=("ncbi-disease/train", "ncbi-disease/devel"),
            language="en",
        ),
        Recipe(
            "bc5cdr",
            f"BC5CDR, {_M42}",
            ("condition", "drug"),
            train=_pubtator(
                "bc5cdr/CDR_TrainingSet.PubTator.txt", skip_ids_of="bc5cdr/CDR_DevelopmentSet.PubTator.txt"
            ),
            eval=_pubtator("bc5cdr/CDR_DevelopmentSet.PubTator.txt"),
            label_map=BC5CDR_MAP,
            drop_empty=True,
            required=("bc5cdr/CDR_TrainingSet.PubTator.txt", "bc5cdr/CDR_DevelopmentSet.PubTator.txt"),
            language="en",
            note="the training file of this copy also holds the development abstracts; they are left out",
        ),
        Recipe(
            "biored",
            f"BioRED, {_M42}",
            ("condition", "drug", "gene", "gene variant"),
            train=_pubtator("biored/Train.PubTator"),
            eval=_pubtator("biored/Dev.PubTator"),
            label_map=BIORED_MAP,
            drop_empty=True,
            required=("biored/Train.PubTator", "biored/Dev.PubTator"),
            language="en",
        ),
        Recipe(
            "chia",
            f"Chia, {_M42}",
            ("condition", "drug", "measurement", "procedure"),
            train=_chia("train"),
            eval=_chia("validation"),
            label_map=CHIA_MAP,
            drop_empty=True,
            required=("chia/chia_with_scope",),
            language="en",
            note=(
                "no official split: trials shuffled with seed 42 and split 80/10/10, validation evaluated; "
                "not the same documents as M42's own split; malformed .ann lines skipped (lenient read)"
            ),
        ),
        Recipe(
            "multiclinai-en-es",
            "MultiClinAI English and Spanish dev (one entity type annotated per document)",
            MULTICLINAI_LABELS,
            train=_multiclinai("train", ("en", "es")),
            eval=_multiclinai("dev", ("en", "es")),
            required=("multiclinai-en-es/en/dev", "multiclinai-en-es/es/dev"),
        ),
        Recipe(
            "multiclinai-en",
            "MultiClinAI English dev",
            MULTICLINAI_LABELS,
            train=_multiclinai("train", ("en",)),
            eval=_multiclinai("dev", ("en",)),
            required=("multiclinai-en-es/en/dev",),
            language="en",
        ),
        Recipe(
            "multiclinai-es",
            "MultiClinAI Spanish dev",
            MULTICLINAI_LABELS,
            train=_multiclinai("train", ("es",)),
            eval=_multiclinai("dev", ("es",)),
            required=("multiclinai-en-es/es/dev",),
            language="es",
        ),
        Recipe(
            "spaccc-es",
            "SpaCCC Spanish dev (all three types on every document)",
            MULTICLINAI_LABELS,
            train=_brat("spaccc-es/train", language="es"),
            eval=_brat("spaccc-es/dev", language="es"),
            required=("spaccc-es/train", "spaccc-es/dev"),
            language="es",
        ),
    ]
}

M42_DATASETS = ("ncbi-disease", "chia", "biored", "bc5cdr")


# ---------------------------------------------------------------------------------------------
# Datasets


@dataclass
class Dataset:
    """Evaluation documents, training documents (loaded on first use) and the label set."""

    name: str
    labels: tuple[str, ...]
    eval: list[Document]
    train_loader: Callable[[], list[Document]] | None = None
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    _train: list[Document] | None = None
    _fingerprint: str | None = None
    _train_fingerprint: str | None = None

    @property
    def train(self) -> list[Document]:
        if self._train is None:
            if self.train_loader is None:
                raise ValueError(
                    f"dataset {self.name!r} has no training documents (give 'train' in the config)"
                )
            self._train = self.train_loader()
            self.info["train_documents"] = len(self._train)
        return self._train

    @property
    def has_train(self) -> bool:
        return self._train is not None or self.train_loader is not None

    @property
    def fingerprint(self) -> str:
        """Changes when anything scored changes: ids, texts, spans, annotated types, labels."""
        if self._fingerprint is None:
            self._fingerprint = documents_fingerprint(self.eval, extra={"labels": list(self.labels)})
        return self._fingerprint

    @property
    def train_fingerprint(self) -> str:
        if self._train_fingerprint is None:
            self._train_fingerprint = documents_fingerprint(self.train)
        return self._train_fingerprint

    def summary(self) -> dict[str, Any]:
        spans: dict[str, int] = {}
        for doc in self.eval:
            for s in doc.spans:
                spans[s.label] = spans.get(s.label, 0) + 1
        return {
            "name": self.name,
            "description": self.description,
            "labels": list(self.labels),
            "documents": len(self.eval),
            "spans": dict(sorted(spans.items())),
            "fingerprint": self.fingerprint,
            **self.info,
        }


def documents_fingerprint(documents: Iterable[Document], extra: Mapping[str, Any] | None = None) -> str:
    """A content hash of documents as the benchmark uses them (order matters: scorers are order-aware)."""
    h = hashlib.sha256()
    if extra:
        h.update(json.dumps(extra, sort_keys=True).encode())
    for doc in documents:
        annotated = sorted(doc.annotated_labels) if doc.annotated_labels is not None else None
        spans = [[s.start, s.end, s.label, list(s.fragments) if s.fragments else None] for s in doc.spans]
        head = json.dumps([doc.id, doc.language, annotated, spans], ensure_ascii=False)
        h.update(head.encode("utf-8"))
        h.update(b"\0")
        h.update(doc.text.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def load_recipe(name: str, root: str | Path | None = None) -> Dataset:
    """A built-in dataset (see :data:`RECIPES`) from the corpora root."""
    if name not in RECIPES:
        raise KeyError(f"unknown dataset recipe {name!r}; built-in: {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    base = Path(root) if root is not None else default_corpora_root()
    missing = [rel for rel in recipe.required if not (base / rel).exists()]
    if missing:
        raise FileNotFoundError(
            f"dataset {name!r}: {', '.join(str(base / m) for m in missing)} not found "
            f"(set the corpora root with [benchmark] corpora = ... or ${CORPORA_ENV})"
        )
    read = Reader()
    raw = recipe.eval(base, read)
    eval_docs, dropped = map_labels(raw, recipe.label_map, drop_empty=recipe.drop_empty)

    def train() -> list[Document]:
        docs, _ = map_labels(recipe.train(base, read), recipe.label_map, drop_empty=recipe.drop_empty)
        return docs

    info: dict[str, Any] = {"recipe": name, "documents_read": len(raw), "documents_dropped_empty": dropped}
    if read.skipped:
        info["problems_skipped"] = read.skipped
    if recipe.note:
        info["note"] = recipe.note
    return Dataset(name, recipe.labels, eval_docs, train, recipe.description, info)


def load_custom(
    name: str,
    eval: str | Path,
    *,
    train: str | Path | None = None,
    format: str | None = None,
    label_map: Mapping[str, str] | None = None,
    labels: Sequence[str] | None = None,
    drop_empty: bool = False,
    lenient: bool = False,
    language: str | None = None,
    description: str = "",
) -> Dataset:
    """A dataset from corpus paths in any format :func:`clinicalner.io.read_corpus` reads."""
    read = Reader()
    raw = read(Path(eval), format, lenient=lenient, language=language)
    eval_docs, dropped = map_labels(raw, label_map, drop_empty=drop_empty)
    if labels is None:
        if label_map is not None:
            labels = sorted(set(label_map.values()))
        else:
            found: set[str] = set()
            for doc in eval_docs:
                found |= doc.labels()
                if doc.annotated_labels:
                    found |= doc.annotated_labels
            labels = sorted(found)
    train_loader = None
    if train is not None:
        train_path = Path(train)

        def train_loader() -> list[Document]:
            docs = read(train_path, format, lenient=lenient, language=language)
            return map_labels(docs, label_map, drop_empty=drop_empty)[0]

    info: dict[str, Any] = {"documents_read": len(raw), "documents_dropped_empty": dropped, "path": str(eval)}
    if read.skipped:
        info["problems_skipped"] = read.skipped
    return Dataset(name, tuple(labels), eval_docs, train_loader, description, info)
