"""The ``self-train`` command (issue 14): a thin layer over :func:`clinicalner.api.self_train`.

Its own module, registered by ``cli.py`` with :func:`register`, so that the transfer work
touches the shared CLI file in two lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from clinicalner import api


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    """Add ``self-train`` to the main command."""
    app.command(name="self-train")(friendly(self_train))


def self_train(
    model: Annotated[
        Path, typer.Argument(help="A model folder clinicalner trained (with train_config.toml).")
    ],
    target: Annotated[
        list[Path],
        typer.Argument(
            help="Unlabelled texts of the target language: any corpus format or a folder of .txt "
            "(spans in them are ignored)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the new model.")],
    source: Annotated[
        list[Path] | None,
        typer.Option(
            help="Labelled corpora to mix in (repeatable). Default: the model's own training corpora."
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(
            help="Keep a predicted span as a pseudo-label when its confidence is at least this (a CRF "
            "model's confidences are low: the median on E3C is 0.53, see BENCHMARKS.md)."
        ),
    ] = 0.5,
    source_documents: Annotated[
        int, typer.Option(help="Source documents sampled into the mix (0: pseudo-labels only).")
    ] = 200,
    target_language: Annotated[
        str | None, typer.Option(help="The targets' language where the files do not say it (it, ro, ...).")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Epochs of fine-tuning.")] = 1,
    max_steps: Annotated[int, typer.Option(help="Stop after this many optimiser steps (0: no limit).")] = 0,
    learning_rate: Annotated[
        float, typer.Option(help="Encoder learning rate; the heads keep the model's ratio to it.")
    ] = 5e-5,
    batch_size: Annotated[int | None, typer.Option(help="Windows per batch (default: the model's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the source sample and the training order.")] = 13,
    threads: Annotated[int, typer.Option(help="CPU threads for torch (0: its default).")] = 0,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = None,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Skip malformed lines and say how many.")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress.")] = True,
) -> None:
    """One round of self-training for a language without labelled data: pseudo-label the targets
    with MODEL, keep confident spans, fine-tune a copy of MODEL on them plus source documents."""
    r = api.self_train(
        model,
        target,
        output,
        source=source,
        threshold=threshold,
        source_documents=source_documents,
        target_language=target_language,
        epochs=epochs,
        max_steps=max_steps,
        learning_rate=learning_rate,
        batch_size=batch_size,
        seed=seed,
        threads=threads,
        device=device,
        lenient=lenient,
        progress=progress,
    )
    labels = ", ".join(f"{k} {v:,}" for k, v in sorted(r.pseudo.per_label.items()))
    typer.echo(
        f"pseudo-labels: {r.pseudo.kept:,} spans kept ({labels}), {r.pseudo.dropped:,} below {threshold}, "
        f"in {r.pseudo.documents:,} target documents; {r.source_documents:,} source documents mixed in; "
        f"model -> {r.output}"
    )
