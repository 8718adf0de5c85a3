"""The ``serve`` command and the ``omop`` group: thin layers over :mod:`clinicalner.api`.

Kept out of ``cli.py`` (which registers them with :func:`register`) because they are a
world of their own: a long-running server and a database client.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from clinicalner import api


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    """Add ``serve`` and ``omop`` to the main command."""
    app.command(name="serve")(friendly(serve))


def serve(
    model: Annotated[
        Path, typer.Argument(help="Model folder, logit ensemble folder, lexicon folder or term-list TSV.")
    ],
    host: Annotated[
        str, typer.Option(help="Interface to bind; anything but loopback needs --api-key-env.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    max_chars: Annotated[
        int | None, typer.Option(help="Longest text of one document (413 past it); default 100000.")
    ] = None,
    max_batch: Annotated[
        int | None, typer.Option(help="Most documents in one /v1/tag/batch body (413 past it); default 64.")
    ] = None,
    max_wait_ms: Annotated[
        float | None,
        typer.Option(help="How long the batcher waits for more requests before a forward pass; default 5."),
    ] = None,
    batching: Annotated[
        bool,
        typer.Option(
            "--batching/--no-batching",
            help="Gather concurrent requests into one forward pass (default), or run each alone.",
        ),
    ] = True,
    max_queue: Annotated[
        int | None,
        typer.Option(help="Requests waiting for the model past which new ones get 503; default 256."),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Environment variable holding the API key clients send as 'Authorization: Bearer "
            "KEY' (the key itself never goes on the command line)."
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(help="Allow browser calls from this origin (repeatable); CORS is off without it."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps (a model's option).")] = "auto",
    batch_tokens: Annotated[
        int | None, typer.Option(help="Subword tokens per forward batch (a model's option); default 8192.")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Drop spans with confidence below this.")] = 0.0,
    precision: Annotated[str, typer.Option(help="auto, fp32 or bf16 (a model's option).")] = "auto",
) -> None:
    """Serve a tagger over HTTP: POST /v1/tag, /v1/tag/batch, GET /v1/model, a web page at /.

    The same text gets the same spans as `clinicalner predict`; OpenAPI docs at /docs.

    Note text never reaches the log. Needs the serve extra: pip install -e '.\\[serve]'.
    """
    api.serve(
        model,
        host=host,
        port=port,
        max_chars=max_chars,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        batching=batching,
        max_queue=max_queue,
        api_key_env=api_key_env,
        cors_origin=cors_origin or (),
        device=device,
        batch_tokens=batch_tokens,
        threshold=threshold,
        precision=precision,
        announce=lambda line: typer.echo(line, err=True),
    )
