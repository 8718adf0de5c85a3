"""The ``serve`` command and the ``omop`` group: thin layers over :mod:`clinicalner.api`.

Kept out of ``cli.py`` (which registers them with :func:`register`) because they are a
world of their own: a long-running server and a database client.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from clinicalner import api


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    """Add ``serve`` and ``omop`` to the main command."""
    app.command(name="serve")(friendly(serve))
    omop = typer.Typer(
        help="OMOP CDM v5.4: tag the NOTE table, write NOTE_NLP (any SQLAlchemy database).",
        no_args_is_help=True,
    )
    omop.command(name="tag")(friendly(omop_tag))
    app.add_typer(omop, name="omop")


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
    )


def omop_tag(
    model: Annotated[
        Path, typer.Argument(help="Model folder, logit ensemble folder, lexicon folder or term-list TSV.")
    ],
    db: Annotated[
        str,
        typer.Option(
            help="SQLAlchemy URL (postgresql+psycopg://user@host/db) or the path of an SQLite file."
        ),
    ],
    create: Annotated[
        bool, typer.Option("--create", help="Create NOTE_NLP with the v5.4 DDL when it is missing.")
    ] = False,
    rerun: Annotated[
        bool,
        typer.Option(
            "--rerun", help="Tag again notes this nlp_system already did (their rows are replaced)."
        ),
    ] = False,
    language: Annotated[
        str | None,
        typer.Option(help="Language of notes whose language_concept_id is 0 or not in the table."),
    ] = None,
    language_map: Annotated[
        Path | None,
        typer.Option(help="TSV of concept_id, language adding to the language table that ships."),
    ] = None,
    concepts: Annotated[
        Path | None,
        typer.Option(
            help="TSV of label, concept_id[, source_concept_id] for note_nlp_concept_id (default 0)."
        ),
    ] = None,
    note_date_from: Annotated[
        datetime.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only notes on or after this date (YYYY-MM-DD)."),
    ] = None,
    note_date_to: Annotated[
        datetime.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only notes on or before this date (YYYY-MM-DD)."),
    ] = None,
    note_type_concept_id: Annotated[
        list[int] | None, typer.Option(help="Only notes of this note_type_concept_id (repeatable).")
    ] = None,
    note_id_from: Annotated[int | None, typer.Option(help="Only notes with note_id >= this.")] = None,
    note_id_to: Annotated[int | None, typer.Option(help="Only notes with note_id <= this.")] = None,
    schema: Annotated[str | None, typer.Option(help="Database schema of the CDM tables.")] = None,
    nlp_system: Annotated[
        str | None,
        typer.Option(
            help="The nlp_system written and used to skip done notes (default: clinicalner "
            "version, model name and training config digest)."
        ),
    ] = None,
    batch_notes: Annotated[int, typer.Option(help="Notes per batch (one transaction each).")] = 64,
    threshold: Annotated[float, typer.Option(help="Drop spans with confidence below this.")] = 0.0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps (a model's option).")] = "auto",
    batch_tokens: Annotated[
        int | None, typer.Option(help="Subword tokens per forward batch (a model's option).")
    ] = None,
    precision: Annotated[str, typer.Option(help="auto, fp32 or bf16 (a model's option).")] = "auto",
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar.")] = True,
) -> None:
    """Tag OMOP NOTE rows and write one NOTE_NLP row per span.

    Incremental: notes already tagged by the same nlp_system are skipped, and each batch is one transaction, so a killed run leaves whole notes and a rerun finishes the job.

    Needs the omop extra: pip install -e '.\\[omop]'.
    """
    summary = api.omop_tag(
        model,
        db,
        language=language,
        language_map=language_map,
        concepts=concepts,
        create=create,
        rerun=rerun,
        batch_notes=batch_notes,
        note_date_from=note_date_from.date() if note_date_from else None,
        note_date_to=note_date_to.date() if note_date_to else None,
        note_type_concept_id=note_type_concept_id or (),
        note_id_from=note_id_from,
        note_id_to=note_id_to,
        schema=schema,
        nlp_system=nlp_system,
        threshold=threshold,
        device=device,
        batch_tokens=batch_tokens,
        precision=precision,
        progress=progress,
    )
    typer.echo(
        f"{summary.notes} notes tagged, {summary.spans} NOTE_NLP rows written "
        f"({summary.notes_per_second:.1f} notes/s); {summary.already_done} already done by "
        f"'{summary.nlp_system}' were skipped; database {summary.database}"
    )
