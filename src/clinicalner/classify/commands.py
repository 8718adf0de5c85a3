"""The ``classify`` commands as Python functions; :mod:`clinicalner.api` re-exports them by name.

Each reads its inputs, calls the library, writes its outputs atomically and returns a
result object the CLI prints. Heavy imports (torch, sklearn) happen inside the functions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinicalner.classify.data import text_format


def classify_train(
    corpora: Sequence[str | Path] | None,
    output: str | Path,
    base_model: str | None = None,
    dev: Sequence[str | Path] | None = None,
    config: str | Path | None = None,
    pooling: str | None = None,
    upsample: Sequence[str] | None = None,
    class_weights: str | None = None,
    positive: str | None = None,
    validation_fraction: float | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    grad_accum: int | None = None,
    learning_rate: float | None = None,
    max_length: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    device: str | None = None,
    max_steps: int | None = None,
    freeze_embeddings: bool | None = None,
    resume: bool = False,
    progress: bool = True,
) -> Any:
    """Train a text classifier (``base_model="tfidf"``: the TF-IDF + logistic regression baseline).

    Options given here override the config file. Without ``dev``, a validation split of the
    training texts (stratified by label x language) selects the best epoch by macro F1 and the
    positive class's threshold; the model folder keeps both, with ``train_config.toml``.
    """
    from clinicalner.classify.config import ClassifyConfig
    from clinicalner.classify.train import train_classifier

    cfg = ClassifyConfig.load(config) if config else ClassifyConfig()
    if not corpora and not cfg.corpora:
        raise ValueError("no training corpora: give CORPORA" + (f" ({config} names none)" if config else ""))
    cfg = cfg.replace(
        corpora=[str(c) for c in corpora or []] or None,
        dev=[str(d) for d in dev] if dev else None,
        output=str(output),
        base_model=base_model,
        pooling=pooling,
        upsample=list(upsample) if upsample else None,
        class_weights=class_weights,
        positive=positive,
        validation_fraction=validation_fraction,
        epochs=epochs,
        batch_size=batch_size,
        grad_accum=grad_accum,
        learning_rate=learning_rate,
        max_length=max_length,
        seed=seed,
        threads=threads,
        device=device,
        max_steps=max_steps,
        freeze_embeddings=freeze_embeddings,
    )
    return train_classifier(cfg, resume=resume, progress=progress)


@dataclass
class ClassifyPredictSummary:
    texts: int
    seconds: float
    output: Path
    labels: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds if self.seconds else 0.0


def classify_predict(
    model: str | Path,
    input: str | Path,
    output: str | Path,
    threshold: float | None = None,
    device: str = "auto",
    batch_size: int = 64,
    base_url: str | None = None,
    labels: Sequence[str] | None = None,
    question: str | None = None,
    top_logprobs: int = 5,
    concurrency: int = 1,
    api_key_env: str | None = "OPENAI_API_KEY",
) -> ClassifyPredictSummary:
    """Label and probability per text of ``input`` (JSONL/TSV), written to ``output`` (.tsv/.jsonl).

    ``model`` is a classifier folder, or with ``base_url`` the name of a chat model served
    behind an OpenAI-compatible endpoint (the LLM classifier; ``labels`` = negative, positive).
    ``threshold`` overrides the positive class's threshold saved in the model.
    """
    from clinicalner.classify.data import read_texts, write_predictions
    from clinicalner.classify.predict import load_classifier, to_predictions

    text_format(output)  # a bad output suffix fails before any work
    texts = read_texts(input)
    clf = None if base_url else load_classifier(model, device=device, batch_size=batch_size)
    t0 = time.perf_counter()  # prediction time only: loading a model is not per-text work
    if base_url:
        from clinicalner.classify.llm import QUESTION, LLMClassifier

        llm = LLMClassifier(
            base_url,
            str(model),
            tuple(labels) if labels else ("NO_ADE", "ADE"),
            question=question or QUESTION,
            top_logprobs=top_logprobs,
            concurrency=concurrency,
            api_key_env=api_key_env,
        )
        preds = llm.predict(texts, threshold=threshold)
    else:
        assert clf is not None
        preds = to_predictions(texts, clf.probabilities([t.text for t in texts]), clf.config, threshold)
    seconds = time.perf_counter() - t0
    write_predictions(output, preds)
    counts: dict[str, int] = {}
    flags: dict[str, int] = {}
    for p in preds:
        counts[p.label] = counts.get(p.label, 0) + 1
        if p.flag:
            flags[p.flag] = flags.get(p.flag, 0) + 1
    return ClassifyPredictSummary(len(texts), seconds, Path(output), counts, flags)


def classify_evaluate(
    gold: str | Path,
    pred: str | Path,
    positive: str | None = None,
    train_languages: Sequence[str] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    output: str | Path | None = None,
    plot: str | Path | None = None,
) -> Any:
    """Score predictions against gold labels by id: macro and per-class P/R/F1, accuracy,
    confusion, per-language scores (unseen languages marked, from ``train_languages`` or the
    predictions' ``seen_language``), a threshold sweep and PR curve, bootstrap intervals.
    ``output`` (.json or .md) writes the report; ``plot`` (.png/.svg/.pdf) the PR curve."""
    from clinicalner.classify.data import read_predictions, read_texts
    from clinicalner.classify.report import REPORT_SUFFIXES, plot_pr_curve, score_predictions, write_report

    if output is not None and Path(output).suffix.lower() not in REPORT_SUFFIXES:
        raise ValueError(f"{output}: a report ends in .json or .md")
    gold_texts = read_texts(gold, require_labels=True)
    report = score_predictions(
        gold_texts,
        read_predictions(pred),
        positive=positive,
        train_languages=train_languages,
        bootstrap=bootstrap,
        seed=seed,
        gold_path=gold,
    )
    if output is not None:
        write_report(report, output)
    if plot is not None:
        plot_pr_curve(report, plot)
    return report


def classify_ensemble(
    preds: Sequence[str | Path],
    output: str | Path,
    method: str = "soft",
    weights: Sequence[float] | None = None,
    positive: str | None = None,
    threshold: float | None = None,
) -> Path:
    """Vote over prediction files (encoder, TF-IDF and LLM alike): ``hard``, ``soft`` (mean
    probabilities) or ``weighted`` (``weights``, one per file, e.g. validation F1)."""
    from clinicalner.classify.data import read_predictions, write_predictions
    from clinicalner.classify.ensemble import vote_texts

    text_format(output)
    members = [read_predictions(p) for p in preds]
    voted = vote_texts(
        members,
        method,
        weights=weights,
        positive=positive,
        threshold=threshold,
        names=[str(p) for p in preds],
    )
    return write_predictions(output, voted)
