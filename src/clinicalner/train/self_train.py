"""One round of self-training for a language with no labelled data.

A model trained on Spanish and English tags unlabelled texts of the target language; the
spans it is confident about (mean tag probability at least ``threshold``) become
pseudo-labels, every other word counts as outside. The model is then fine-tuned briefly,
starting from its own weights (``init_from``), on those pseudo-labelled texts mixed with a
sample of its source training documents (so it does not drift from what it knew), and saved
as a new model folder. No target label is read: spans already in the target files are
dropped before tagging.

The round is cheap on purpose (one epoch or ``max_steps`` by default, a lower learning rate,
no validation split: nothing labelled in the target language to choose an epoch on). Score
the result on a labelled target dev set with ``evaluate``; that set then chooses the
threshold, and says so.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clinicalner.document import Document

log = logging.getLogger(__name__)


@dataclass
class PseudoLabels:
    """What tagging the targets gave: documents, spans kept and dropped by the threshold, per label."""

    documents: int = 0
    kept: int = 0
    dropped: int = 0
    per_label: dict[str, int] = field(default_factory=dict)


@dataclass
class SelfTrainResult:
    output: Path
    pseudo: PseudoLabels
    source_documents: int
    train: Any  # the TrainResult of the fine-tuning


def pseudo_label(
    tagger: Any, documents: Sequence[Document], threshold: float
) -> tuple[list[Document], PseudoLabels]:
    """Tag ``documents`` (their own spans ignored) and keep the spans scored at least ``threshold``.

    The pseudo-labelled documents annotate every label of the tagger: a word outside a kept
    span is a negative example, which is what lowers a transferred model's false alarms.
    """
    from clinicalner.predict.stream import tag_stream

    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], not {threshold}")
    inputs = [d.with_spans([]) for d in documents]
    for d in inputs:
        d.annotated_labels = None
    stats = PseudoLabels(documents=len(inputs))
    out: list[Document] = []
    for doc in tag_stream(tagger, inputs, restrict_labels=False):
        keep = [s for s in doc.spans if s.score is None or s.score >= threshold]
        stats.dropped += len(doc.spans) - len(keep)
        stats.kept += len(keep)
        for s in keep:
            stats.per_label[s.label] = stats.per_label.get(s.label, 0) + 1
        out.append(replace(doc.with_spans([replace(s, score=None) for s in keep]), annotated_labels=None))
    return out, stats


def self_train(
    model: str | Path,
    target: Sequence[str | Path],
    output: str | Path,
    *,
    source: Sequence[str | Path] | None = None,
    threshold: float = 0.5,
    source_documents: int = 200,
    target_language: str | None = None,
    epochs: int = 1,
    max_steps: int = 0,
    learning_rate: float = 5e-5,
    batch_size: int | None = None,
    seed: int = 13,
    threads: int = 0,
    device: str | None = None,
    progress: bool = True,
    lenient: bool = False,
) -> SelfTrainResult:
    """Pseudo-label ``target`` with ``model``, fine-tune a copy of it on them plus
    ``source_documents`` sampled documents of ``source`` (default: the corpora the model was
    trained on, from its ``train_config.toml``; 0 = target only), save it to ``output``."""
    from clinicalner.io import read_corpus
    from clinicalner.io.destination import check_output
    from clinicalner.predict.loading import load_tagger
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.loop import train_model

    model = Path(model)
    saved = model / "train_config.toml"
    if not saved.is_file():
        raise FileNotFoundError(
            f"{model}: no train_config.toml: self-training needs a model clinicalner trained"
        )
    if not target:
        raise ValueError("no target texts to pseudo-label")
    if source_documents < 0:
        raise ValueError(f"source_documents must be 0 or more, not {source_documents}")
    check_output(Path(output), inputs=[Path(p) for p in target], models=[model])
    base = TrainConfig.load(saved)

    tagger = load_tagger(model, device=device or "auto")
    targets: list[Document] = []
    for p in target:
        for d in read_corpus(p, lenient=lenient, language=target_language).documents:
            if d.language is None and target_language:
                d.language = target_language
            targets.append(d)
    pseudo, stats = pseudo_label(tagger, targets, threshold)
    del tagger
    log.info(
        "self-train: %d target documents, %d pseudo-spans kept, %d dropped",
        stats.documents,
        stats.kept,
        stats.dropped,
    )

    sources = list(source) if source is not None else list(base.corpora)
    picked: list[Document] = []
    if source_documents and sources:
        pool = [d for p in sources for d in read_corpus(p, lenient=lenient).documents]
        rng = random.Random(seed)
        picked = rng.sample(pool, min(source_documents, len(pool)))
    corpora = [c for c in (picked, pseudo) if c]
    cfg = base.replace(
        corpora=[str(p) for p in sources] if picked else None,
        dev=None,
        output=str(output),
        init_from=str(model.resolve()),
        epochs=epochs,
        max_steps=max_steps,
        learning_rate=learning_rate,
        # the heads keep their ratio to the encoder's rate (a tenth of the rate: a tenth for both)
        head_learning_rate=base.head_learning_rate * learning_rate / base.learning_rate,
        batch_size=batch_size,
        seed=seed,
        threads=threads or None,
        device=device,
        corpus_weights=None,
    )
    cfg = cfg.replace()  # a copy: the fields below have no "not given" value in replace
    cfg.dev = []
    cfg.corpus_weights = []
    cfg.validation = 0.0
    cfg.patience = 0
    cfg.keep_best = False
    cfg.exclude_dev_overlap = False
    result = train_model(cfg, progress=progress, train_docs=corpora, dev_docs=[])
    return SelfTrainResult(Path(output), stats, len(picked), result)
