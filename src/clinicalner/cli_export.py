"""The ``export`` command: a thin layer over :func:`clinicalner.api.export`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from clinicalner import api
from clinicalner.cli_support import console, shown


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    """Add ``export`` to the main command."""
    app.command(name="export")(friendly(export))


def export(
    model: Annotated[Path, typer.Argument(help="Trained model folder (written by clinicalner train).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to write: the model folder plus model.onnx.")
    ],
    to: Annotated[str, typer.Option("--to", help="Target format; only onnx (ONNX Runtime).")] = "onnx",
    quantize: Annotated[
        bool,
        typer.Option(
            "--quantize",
            help="int8 weights (dynamic quantisation), except the layer kinds of --keep-float.",
        ),
    ] = False,
    keep_float: Annotated[
        list[str] | None,
        typer.Option(
            "--keep-float",
            metavar="KIND",
            help="With --quantize, a layer kind left in float32 (repeat it): qkv, attn_out, "
            "ffn_in, ffn_out, heads. Default: ffn_out and heads (BENCHMARKS.md).",
        ),
    ] = None,
    per_channel: Annotated[
        bool,
        typer.Option(
            "--per-channel/--per-tensor", help="With --quantize: one weight scale per row or per matrix."
        ),
    ] = True,
    check: Annotated[
        Path | None,
        typer.Option(
            help="Corpus whose first notes the accuracy gate tags with torch and with the export "
            "(default: the built-in example notes)."
        ),
    ] = None,
    check_notes: Annotated[int, typer.Option(help="How many notes the gate tags.")] = 20,
    tolerance: Annotated[
        float | None,
        typer.Option(
            help="Share of spans (0 to 1) that may differ from the torch model's before the "
            "export is refused; default 0.01, or 0.2 with --quantize."
        ),
    ] = None,
) -> None:
    """Export a model for ONNX Runtime; refused when it tags differently from torch.

    Tag with the exported folder as with any model: predict picks ONNX Runtime by itself.
    """
    s = api.export(
        model,
        to=to,
        output=output,
        quantize=quantize,
        keep_float=keep_float,
        per_channel=per_channel,
        check=check,
        check_notes=check_notes,
        tolerance=tolerance,
    )
    kept = f", {', '.join(s.float_kinds)} kept in float32" if s.float_kinds else ""
    g = s.gate
    console.print(
        f"exported {s.precision}{kept} -> {shown(s.output)} in {s.seconds:.0f} s; gate: {g.same} of "
        f"{g.torch_spans} torch spans the same on {g.notes} notes ({g.differing_share:.1%} differ, "
        f"tolerance {g.tolerance:.1%})",
        highlight=False,
    )
