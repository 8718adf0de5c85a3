"""Where int8 loses accuracy: quantise one kind of linear layer at a time, torch and ONNX Runtime.

For a trained model and a gold corpus (default: /work/runs/joint-e4 on SpaCCC dev), every
variant tags the same notes with the same windows, batch size and 2 threads; the table gives
strict macro F1, the change against the float32 torch baseline of the same run, the share of
spans identical to the baseline's, and the tagging time, wall clock and process CPU seconds
(best of the interleaved runs: each round runs every variant once, so that the load of a busy
machine hits all of them alike; CPU seconds are less hit by other jobs, but count threads that
spin while waiting).

Variants are spelt ``RUNTIME:PRECISION[:GRANULARITY][:only=KINDS|:skip=KINDS]``:
``torch:fp32``, ``torch:int8:pt`` (today's --quantize: every layer, one weight scale per
matrix), ``torch:int8:pc:only=ffn_out`` (per-channel weights, FFN output layers only),
``onnx:fp32``, ``onnx:int8:pc:skip=ffn_out,heads``. Kinds: qkv, attn_out, ffn_in, ffn_out,
heads (see clinicalner.model.quantize).

It also prints the activations each kind of layer takes in (``--outlier-notes`` notes, float
model): the largest |x|, the 99.9th percentile and their ratio. Dynamic int8 quantises each
activation tensor with one scale from its range, so a kind whose inputs have a few huge
values leaves few of the 256 levels for the rest.

Run:  python benchmarks/bench_quantize.py [--model DIR] [--gold DIR] [--docs N] [--repeats R]
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clinicalner.document import Document
from clinicalner.model.quantize import LAYER_KINDS, layer_kind, quantize_layers
from clinicalner.predict.engine import TransformerTagger

MODEL = Path("/work/runs/joint-e4")
SPACCC_DEV = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "spaccc-es" / "dev"

DEFAULT_VARIANTS = (
    ["torch:fp32", "torch:int8:pt", "torch:int8:pc"]
    + [f"torch:int8:{g}:only={k}" for k in LAYER_KINDS for g in ("pt", "pc")]
    + [
        "torch:int8:pc:skip=ffn_out",
        "torch:int8:pc:skip=ffn_out,heads",
        "onnx:fp32",
        "onnx:int8:pc",
        "onnx:int8:pc:skip=ffn_out",
        "onnx:int8:pc:skip=ffn_out,heads",
    ]
)


def parse_variant(spec: str) -> dict[str, Any]:
    parts = spec.split(":")
    runtime, precision = parts[0], parts[1]
    out: dict[str, Any] = {"runtime": runtime, "precision": precision, "per_channel": True, "kinds": None}
    for p in parts[2:]:
        if p in ("pc", "pt"):
            out["per_channel"] = p == "pc"
        elif p.startswith("only="):
            out["kinds"] = tuple(p[5:].split(","))
        elif p.startswith("skip="):
            skip = set(p[5:].split(","))
            out["kinds"] = tuple(k for k in LAYER_KINDS if k not in skip)
        else:
            raise SystemExit(f"bad variant {spec!r}: unknown part {p!r}")
    if runtime not in ("torch", "onnx") or precision not in ("fp32", "int8"):
        raise SystemExit(f"bad variant {spec!r}")
    if out["kinds"] is None:
        out["kinds"] = LAYER_KINDS
    return out


def build(spec: str, base: Any, tok: Any, workdir: Path, batch_tokens: int) -> TransformerTagger:
    v = parse_variant(spec)
    tagger = TransformerTagger(base, tok, device="cpu", precision="fp32", batch_tokens=batch_tokens)
    if v["runtime"] == "torch":
        if v["precision"] == "int8":
            tagger.model = quantize_layers(copy.deepcopy(base), v["kinds"], v["per_channel"])
        return tagger
    from clinicalner.export.onnx_model import OnnxNetwork, export_onnx, quantize_onnx

    fp32 = workdir / "fp32.onnx"
    if not fp32.is_file():
        export_onnx(base, fp32)
    path = fp32
    if v["precision"] == "int8":
        path = workdir / (spec.replace(":", "_").replace("=", "-").replace(",", "+") + ".onnx")
        skip = [k for k in LAYER_KINDS if k not in v["kinds"]]
        quantize_onnx(fp32, path, skip=skip, per_channel=v["per_channel"])
    tagger.model = OnnxNetwork(base, path, threads=torch.get_num_threads())
    return tagger


def span_keys(docs: list[Document]) -> set[tuple[str, int, int, str]]:
    return {(d.id, s.start, s.end, s.label) for d in docs for s in d.spans}


def strict_macro(gold: list[Document], pred: list[Document]) -> float:
    from clinicalner.evaluate.scoring import score

    report = score(gold, pred, metrics=["strict"])
    f1 = report["strict"].macro_f1
    return float(f1 if f1 is not None else report["strict"].f1)


def outliers(model: Any, tok: Any, docs: list[Document]) -> dict[str, dict[str, float]]:
    """Per layer kind: the largest |input| over its layers, the 99.9th percentile, their ratio."""
    stats: dict[str, list[tuple[str, float, float]]] = {k: [] for k in LAYER_KINDS}
    hooks = []

    def hook(name: str, kind: str) -> Any:
        def run(_m: Any, args: tuple[Any, ...]) -> None:
            x = args[0].detach().float().abs().flatten()
            sample = x if x.numel() <= 2_000_000 else x[torch.randperm(x.numel())[:2_000_000]]
            stats[kind].append((name, float(x.max()), float(torch.quantile(sample, 0.999))))

        return run

    for name, module in model.named_modules():
        kind = layer_kind(name)
        if isinstance(module, torch.nn.Linear) and kind is not None:
            hooks.append(module.register_forward_pre_hook(hook(name, kind)))
    try:
        tagger = TransformerTagger(model, tok, device="cpu", precision="fp32", postprocess=False)
        list(tagger.tag(docs))
    finally:
        for h in hooks:
            h.remove()
    out = {}
    for kind, rows in stats.items():
        if not rows:
            continue
        worst = max(rows, key=lambda r: r[1])
        out[kind] = {
            "max_abs": round(max(r[1] for r in rows), 2),
            "p99.9_abs": round(float(np.median([r[2] for r in rows])), 3),
            "max_over_p99.9": round(max(r[1] / max(r[2], 1e-9) for r in rows), 1),
            "worst_layer": worst[0].replace("encoder.encoder.", ""),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--gold", type=Path, default=SPACCC_DEV)
    parser.add_argument("--docs", type=int, default=0, help="first N notes only (0: all)")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds after the scoring one")
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--outlier-notes", type=int, default=5)
    parser.add_argument("--variants", nargs="*", default=DEFAULT_VARIANTS)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    from clinicalner.io import read_corpus
    from clinicalner.model.store import load_model

    gold = sorted(read_corpus(args.gold), key=lambda d: d.id)
    if args.docs:
        gold = gold[: args.docs]
    docs = [d.with_spans([]) for d in gold]
    base, tok = load_model(args.model, "cpu")
    base.eval()
    result: dict[str, Any] = {
        "model": str(args.model),
        "notes": f"{args.gold} ({len(docs)} notes)",
        "threads": torch.get_num_threads(),
        "batch_tokens": args.batch_tokens,
        "max_length": base.config.max_length,
        "load_average_start": list(np.round(__import__("os").getloadavg(), 2)),
    }
    if args.outlier_notes:
        result["activations"] = outliers(base, tok, docs[: args.outlier_notes])
        print(json.dumps({"activations": result["activations"]}, indent=1), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        taggers: dict[str, TransformerTagger] = {}
        times: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}  # process CPU seconds: less hit by other jobs' load
        rows: dict[str, dict[str, Any]] = {}
        reference: set[tuple[str, int, int, str]] | None = None
        for spec in args.variants:  # round 0: built, scored and timed one after the other
            t0 = time.perf_counter()
            tagger = build(spec, base, tok, Path(tmp), args.batch_tokens)
            built = time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            pred = list(tagger.tag(docs))
            times[spec] = [time.perf_counter() - t0]
            cpu[spec] = [time.process_time() - c0]
            keys = span_keys(pred)
            reference = keys if reference is None else reference
            rows[spec] = {
                "strict_macro_f1": round(strict_macro(gold, pred), 4),
                "same_spans_as_first": round(len(keys & reference) / max(1, len(keys | reference)), 4),
            }
            print(spec, rows[spec], f"built in {built:.0f} s, tagged in {times[spec][0]:.1f} s", flush=True)
            if args.repeats:  # kept for the timed rounds (memory: one model copy per variant)
                taggers[spec] = tagger
            del tagger
        for _ in range(args.repeats):  # interleaved: the load of a busy machine hits all alike
            for spec, tagger in taggers.items():
                t0, c0 = time.perf_counter(), time.process_time()
                list(tagger.tag(docs))
                times[spec].append(time.perf_counter() - t0)
                cpu[spec].append(time.process_time() - c0)
    first = next(iter(rows))
    base_f1, base_s, base_c = rows[first]["strict_macro_f1"], min(times[first]), min(cpu[first])
    for spec, row in rows.items():
        row["delta_points"] = round(100 * (row["strict_macro_f1"] - base_f1), 2)
        row["seconds"] = round(min(times[spec]), 2)
        row["speedup"] = round(base_s / min(times[spec]), 2)
        row["cpu_seconds"] = round(min(cpu[spec]), 2)
        row["cpu_speedup"] = round(base_c / min(cpu[spec]), 2)
    result["load_average_end"] = list(np.round(__import__("os").getloadavg(), 2))
    result["variants"] = rows
    print(
        f"\n{'variant':38} {'strict F1':>9} {'Δ pts':>6} {'same':>6} {'wall s':>7} {'speed':>6} {'cpu s':>7} {'speed':>6}"
    )
    for spec, row in rows.items():
        print(
            f"{spec:38} {row['strict_macro_f1']:9.4f} {row['delta_points']:6.2f} "
            f"{row['same_spans_as_first']:6.3f} {row['seconds']:7.2f} {row['speedup']:5.2f}x "
            f"{row['cpu_seconds']:7.2f} {row['cpu_speedup']:5.2f}x"
        )
    print(json.dumps({k: v for k, v in result.items() if k != "variants"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
