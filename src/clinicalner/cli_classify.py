"""The ``clinicalner classify`` commands: a thin Typer layer over the ``classify_*`` API functions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from clinicalner import api
from clinicalner.cli_support import console, friendly

classify_app = typer.Typer(
    help="Classify whole texts (e.g. adverse drug events): train, predict, evaluate, ensemble.",
    no_args_is_help=True,
)


def _split(values: list[str] | None) -> list[str] | None:
    """``--labels A,B`` and ``--labels A --labels B`` alike."""
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@classify_app.command("train")
@friendly
def classify_train(
    corpora: Annotated[
        list[Path] | None,
        typer.Argument(help="Training files (JSONL or TSV: id, text, label, optional language)."),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the classifier.")] = Path(
        "classifier"
    ),
    base_model: Annotated[
        str | None,
        typer.Option(help="Encoder (name, hub id or folder), or 'tfidf' for TF-IDF + logistic regression."),
    ] = None,
    dev: Annotated[
        list[Path] | None,
        typer.Option(help="Validation file(s). Default: a split of train stratified by label x language."),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config; options given here override it.")] = None,
    pooling: Annotated[str | None, typer.Option(help="Text vector: mean (default) or cls.")] = None,
    upsample: Annotated[
        list[str] | None, typer.Option(help="LABEL=FACTOR, e.g. ADE=3: that class seen 3x an epoch.")
    ] = None,
    class_weights: Annotated[
        str | None, typer.Option(help="Loss weights: none (default), inverse or sqrt_inverse.")
    ] = None,
    positive: Annotated[
        str | None, typer.Option(help="Positive class of a binary task (default: the rarer one).")
    ] = None,
    validation_fraction: Annotated[
        float | None, typer.Option(help="Share of train held out when no --dev (default 0.1).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 5).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Texts per batch (default 16).")] = None,
    grad_accum: Annotated[int | None, typer.Option(help="Batches per optimiser step.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Encoder learning rate (5e-5).")] = None,
    max_length: Annotated[int | None, typer.Option(help="Subwords per text, longer cut (256).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the split, batches and head.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (0: torch default).")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N steps (smoke runs).")] = None,
    freeze_embeddings: Annotated[
        bool | None,
        typer.Option(
            "--freeze-embeddings/--train-embeddings", help="Freeze the word embeddings (default: frozen)."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar.")] = True,
) -> None:
    """Train a text classifier; the best epoch on validation macro F1 is kept."""
    result = api.classify_train(
        [str(c) for c in corpora or []],
        output,
        base_model=base_model,
        dev=[str(d) for d in dev] if dev else None,
        config=config,
        pooling=pooling,
        upsample=upsample,
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
        resume=resume,
        progress=progress,
    )
    best = f"{result.best_macro_f1:.4f}" if result.best_macro_f1 is not None else "n/a"
    console.print(f"validation: {result.validation}")
    console.print(f"best epoch {result.best_epoch}: validation macro F1 {best}")
    if result.threshold is not None:
        console.print(f"positive-class threshold chosen on validation: {result.threshold:.2f}")
    console.print(f"saved to {result.output}")


@classify_app.command("predict")
@friendly
def classify_predict(
    model: Annotated[str, typer.Argument(help="Classifier folder, or a served model name with --base-url.")],
    input: Annotated[Path, typer.Argument(help="Texts to classify (JSONL or TSV with id and text).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions (.tsv or .jsonl).")],
    threshold: Annotated[
        float | None, typer.Option(help="P(positive) threshold (default: the one saved in the model).")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 64,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint: classify with that LLM.")
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option(help="LLM: negative,positive labels (default NO_ADE,ADE).")
    ] = None,
    question: Annotated[str | None, typer.Option(help="LLM: the yes/no question asked.")] = None,
    top_logprobs: Annotated[int, typer.Option(help="LLM: log-probabilities asked per token.")] = 5,
    concurrency: Annotated[int, typer.Option(help="LLM: requests in flight at once.")] = 1,
    api_key_env: Annotated[
        str, typer.Option(help="LLM: environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
) -> None:
    """Predict a label and a probability per text."""
    summary = api.classify_predict(
        model,
        input,
        output,
        threshold=threshold,
        device=device,
        batch_size=batch_size,
        base_url=base_url,
        labels=_split(labels),
        question=question,
        top_logprobs=top_logprobs,
        concurrency=concurrency,
        api_key_env=api_key_env,
    )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.labels.items()))
    console.print(
        f"{summary.texts} texts in {summary.seconds:.1f}s ({summary.texts_per_second:.1f} texts/s): {counts}"
    )
    if summary.flags:
        console.print("flags: " + ", ".join(f"{k} {v}" for k, v in summary.flags.items()))
    console.print(f"wrote {summary.output}")


def _print_report(report: Any) -> None:
    table = Table(title=f"{report.n} texts")
    for col in ("class", "P", "R", "F1", "support"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for c in report.classes:
        s = report.per_class[c]
        table.add_row(
            c, f"{s['precision']:.4f}", f"{s['recall']:.4f}", f"{s['f1']:.4f}", str(int(s["support"]))
        )
    m = report.macro
    table.add_row("macro", f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", str(report.n))
    console.print(table)
    ci = report.intervals.get("macro_f1")
    console.print(
        f"accuracy {report.accuracy:.4f}" + (f" | macro F1 95% CI {ci[0]:.4f}-{ci[1]:.4f}" if ci else "")
    )
    conf = Table(title="confusion (rows gold, columns predicted)")
    conf.add_column("")
    for c in report.classes:
        conf.add_column(c, justify="right")
    for c, row in zip(report.classes, report.confusion, strict=True):
        conf.add_row(c, *(str(v) for v in row))
    console.print(conf)
    if report.languages:
        lt = Table(title="by language")
        for col in ("language", "seen", "texts", "macro F1", "accuracy"):
            lt.add_column(col)
        for lang, s in report.languages.items():
            seen = {True: "yes", False: "UNSEEN", None: "?"}[s["seen"]]
            lt.add_row(lang, seen, str(s["n"]), f"{s['macro_f1']:.4f}", f"{s['accuracy']:.4f}")
        console.print(lt)
    if report.sweep:
        best = max(report.sweep, key=lambda r: r["macro_f1"])
        console.print(
            f"threshold sweep ({report.positive}): best macro F1 {best['macro_f1']:.4f} at "
            f"{best['threshold']:.2f}; average precision {report.pr_curve['average_precision'][0]:.4f}"
        )
    if report.flags:
        console.print("flags: " + ", ".join(f"{k} {v}" for k, v in report.flags.items()))


@classify_app.command("evaluate")
@friendly
def classify_evaluate(
    gold: Annotated[Path, typer.Argument(help="Gold texts with labels (JSONL or TSV).")],
    pred: Annotated[Path, typer.Argument(help="Predictions (from classify predict or ensemble).")],
    positive: Annotated[str | None, typer.Option(help="Positive class (default: the rarer).")] = None,
    train_languages: Annotated[
        list[str] | None,
        typer.Option(help="Languages seen in training, e.g. en,es (default: from the predictions)."),
    ] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for 95% intervals (0: none).")] = 0,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Report file (.json or .md).")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Precision-recall curve image (.png; needs the plots extra).")
    ] = None,
) -> None:
    """Score predictions: per-class and macro P/R/F1, confusion, languages, thresholds."""
    report = api.classify_evaluate(
        gold,
        pred,
        positive=positive,
        train_languages=_split(train_languages),
        bootstrap=bootstrap,
        seed=seed,
        output=output,
        plot=plot,
    )
    _print_report(report)


@classify_app.command("ensemble")
@friendly
def classify_ensemble(
    preds: Annotated[list[Path], typer.Argument(help="Prediction files of two or more classifiers.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Combined predictions (.tsv/.jsonl).")],
    method: Annotated[str, typer.Option(help="hard (majority), soft (mean P) or weighted.")] = "soft",
    weights: Annotated[
        list[str] | None, typer.Option(help="One weight per file, e.g. 0.81,0.79 (validation F1).")
    ] = None,
    positive: Annotated[str | None, typer.Option(help="Positive class, with --threshold.")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Soft: predict --positive when its mean P reaches this.")
    ] = None,
) -> None:
    """Combine classifiers by hard, soft or weighted voting."""
    w = _split(weights)
    try:
        numbers = [float(x) for x in w] if w else None
    except ValueError:
        raise ValueError(f"--weights must be numbers, not {w}") from None
    path = api.classify_ensemble(
        [str(p) for p in preds],
        output,
        method=method,
        weights=numbers,
        positive=positive,
        threshold=threshold,
    )
    console.print(f"wrote {path}")
