"""What the baseline scripts share: the notes each trains on, validates on and is scored on.

The baselines (``bench_hf_recipe.py``, ``bench_spacy.py``) follow clinicalner's selection
discipline, so their rows stand beside ours in the accuracy table of ``bench_accuracy.py``:

- training documents that overlap a dev document are dropped
  (:func:`clinicalner.text.overlap.overlapping`; the corpora share case reports);
- a validation split is carved from what is left with
  :func:`clinicalner.train.split.validation_split` (seeded, by document, near-duplicates on one
  side), the same fraction and seed as ``clinicalner train``'s defaults;
- every choice (learning rate, epoch, best spaCy model) is made on that split; the dev sets are
  only scored.

The steps are those of ``clinicalner train`` (per-type copies merged within a corpus, documents
annotating none of the labels dropped, then the two hold-outs). With ``like=MODEL`` the split is
the one a trained clinicalner model recorded (:func:`clinicalner.train.loop.held_out_documents`),
so a baseline trains and validates on exactly our model's notes.

Rows are written in ``bench_accuracy.py``'s format: strict and relaxed F1 as macro averages over
the three types, micro strict F1 with a 95 % bootstrap interval over documents, per-type strict F1.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hf_baseline import CORPORA

from clinicalner.document import Document

#: The dev sets of the accuracy table (as in ``bench_accuracy.py``): scored, never chosen on.
DEV_SETS = {
    "SpaCCC dev": CORPORA / "spaccc-es" / "dev",
    "MultiClinAI es dev": CORPORA / "multiclinai-en-es" / "es" / "dev",
    "MultiClinAI en dev": CORPORA / "multiclinai-en-es" / "en" / "dev",
}
#: The training sets beside them: what one joint clinicalner model trains on.
TRAIN_SETS = [
    CORPORA / "spaccc-es" / "train",
    CORPORA / "multiclinai-en-es" / "es" / "train",
    CORPORA / "multiclinai-en-es" / "en" / "train",
]
LABELS = ["DISEASE", "PROCEDURE", "SYMPTOM"]


@dataclass
class Split:
    """The training and validation documents of a baseline, and how many were excluded."""

    train: list[Document]
    validation: list[Document]
    excluded: int


def load_dev(limit: int = 0) -> dict[str, list[Document]]:
    """The dev sets; ``limit`` keeps the first N distinct texts of each (with all their copies)."""
    from clinicalner.io import read_corpus

    out = {}
    for name, path in DEV_SETS.items():
        docs = read_corpus(path).documents
        if limit:
            keep = list(dict.fromkeys(d.text for d in docs))[:limit]
            docs = [d for d in docs if d.text in set(keep)]
        out[name] = docs
    return out


def split(
    train_paths: Sequence[Path | str],
    dev: Sequence[Document],
    labels: Sequence[str] = LABELS,
    fraction: float | None = None,
    seed: int | None = None,
    limit: int = 0,
) -> Split:
    """Training and validation documents as ``clinicalner train`` would divide them.

    ``fraction`` and ``seed`` default to :class:`~clinicalner.train.config.TrainConfig`'s.
    ``limit`` keeps the first N documents of each corpus (smoke runs only).
    """
    from clinicalner.text.overlap import overlapping
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.examples import annotating_documents, merge_documents
    from clinicalner.train.loop import load_corpora
    from clinicalner.train.split import validation_split

    defaults = TrainConfig()
    fraction = defaults.validation if fraction is None else fraction
    seed = defaults.seed if seed is None else seed
    corpora = load_corpora([str(p) for p in train_paths])
    merged = [merge_documents(c)[: limit or None] for c in corpora]
    docs = [d for c in merged for d in c]
    sources = [k for k, c in enumerate(merged) for _ in c]
    keep = annotating_documents(docs, labels)
    docs, sources = [docs[i] for i in keep], [sources[i] for i in keep]
    hit = overlapping([d.text for d in docs], [d.text for d in dev]) if dev else [False] * len(docs)
    docs = [d for d, h in zip(docs, hit, strict=True) if not h]
    sources = [s for s, h in zip(sources, hit, strict=True) if not h]
    train_idx, val_idx = validation_split([d.text for d in docs], sources, fraction, seed)
    if not val_idx:
        raise ValueError(
            "no validation documents: every corpus has fewer than 10 documents left "
            "(a --limit under 10 gives none) or the validation fraction is 0"
        )
    return Split([docs[i] for i in train_idx], [docs[i] for i in val_idx], sum(hit))


def split_like(model: Path | str) -> Split:
    """The split a trained clinicalner model's run made (its training config names the corpora)."""
    from clinicalner.train.loop import held_out_documents

    held = held_out_documents(model)
    return Split(held.train, held.validation, len(held.excluded))


def distinct(docs: Sequence[Document]) -> list[Document]:
    """One document per text: MultiClinAI keeps a copy per type folder; tag each text once."""
    unique: dict[str, Document] = {}
    for d in docs:
        unique.setdefault(d.text, d)
    return list(unique.values())


def spread(gold: Sequence[Document], tagged: Sequence[Document]) -> list[Document]:
    """Each gold document with the predictions made on its text (see :func:`distinct`)."""
    by_text = {d.text: d for d in tagged}
    return [d.with_spans(by_text[d.text].spans) for d in gold]


def scores(
    gold: Sequence[Document],
    pred: Sequence[Document],
    labels: Sequence[str] = LABELS,
    bootstrap: int = 0,
    errors: bool = False,
) -> dict[str, Any]:
    """One row of the accuracy table (every accuracy script writes these keys); with ``errors``
    also the error taxonomy, as a dict and as Markdown."""
    from clinicalner.evaluate import score

    report = score(
        list(gold),
        list(pred),
        metrics=["strict", "relaxed"],
        labels=list(labels),
        bootstrap=bootstrap,
        seed=0,
        errors=errors,
    )
    strict, relaxed = report.metric("strict"), report.metric("relaxed")
    per = {lab: round(report.breakdown("label", lab, "strict").f1, 4) for lab in labels}
    out: dict[str, Any] = {
        "strict_macro": round(
            strict.macro_f1 if strict.macro_f1 is not None else float(np.mean(list(per.values()))), 4
        ),
        "relaxed_macro": round(relaxed.macro_f1 or 0.0, 4),
        "strict_micro": round(strict.f1, 4),
        "per_type": per,
    }
    if strict.ci:
        out["strict_micro_ci"] = [round(x, 4) for x in strict.ci["f1"]]
    if errors:
        out["errors"] = report.errors.to_dict()
        out["errors_markdown"] = report.errors.to_markdown()
    return out


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The table ``bench_accuracy.py`` prints, for these systems."""
    sets = list(DEV_SETS)
    head = "| system | " + " | ".join(f"{s} strict | {s} relaxed" for s in sets) + " |"
    lines = [head, "|---|" + "---|---|" * len(sets)]
    for system, r in results.items():
        cells = []
        for s in sets:
            d = r["dev"].get(s)
            if d is None:
                cells += ["", ""]
                continue
            ci = d.get("strict_micro_ci")
            extra = f" (micro {d['strict_micro']:.3f}, {ci[0]:.3f}–{ci[1]:.3f})" if ci else ""
            cells += [f"{d['strict_macro']:.4f}{extra}", f"{d['relaxed_macro']:.4f}"]
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(output: Path, results: dict[str, dict[str, Any]], extra: dict[str, Any]) -> str:
    """``accuracy.json`` (``bench_accuracy.py``'s layout, plus ``extra``) and ``accuracy.md``."""
    from clinicalner.atomic import atomic_write

    output.mkdir(parents=True, exist_ok=True)
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        **extra,
        "results": results,
    }
    with atomic_write(output / "accuracy.json") as f:
        f.write(json.dumps(record, indent=2, ensure_ascii=False))
    table = markdown(results)
    with atomic_write(output / "accuracy.md") as f:
        f.write(table)
    return table


def load_split(args: Any) -> tuple[dict[str, list[Document]], Split]:
    """The dev sets and the training split a baseline script works on (``--like MODEL`` or our
    own split of ``--train``), with the counts printed: what every baseline script starts with."""
    dev = load_dev(args.limit)
    all_dev = [d for docs in dev.values() for d in docs]
    data = (
        split_like(args.like)
        if args.like
        else split(args.train, all_dev, LABELS, seed=args.seed, limit=args.limit)
    )
    print(
        f"{len(data.train)} training documents, {len(data.validation)} validation, "
        f"{data.excluded} excluded (they overlap dev)",
        flush=True,
    )
    return dev, data
