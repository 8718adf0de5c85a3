"""Tagging and training speed on a GPU: clinicalner against the Hugging Face pipeline, side by side.

For a machine with CUDA (it refuses to run without one). The model hub and the corpora are not
needed: the encoder is built here with multilingual-e5-small's shape (a 12-layer BERT, hidden
384, 12 heads, 1,536 intermediate) and random weights, and the documents are the built-in
example notes in seven languages, joined into notes of about ``--notes-per-doc`` notes each.
Speed depends on the shape and the number of subwords, not on the weights, so the figures
transfer to the trained e5-small; quality does not (random weights): this script measures
speed only. Both systems get the same encoder, the same documents and the same GPU:

1. the standard recipe: ``AutoModelForTokenClassification`` tagged with the
   ``token-classification`` pipeline (``aggregation_strategy="simple"``, stride 32), one
   document at a time as its documentation shows, and again with ``batch_size=32``;
2. clinicalner's ``TransformerTagger`` (windows of many documents batched by length), with
   ``--precision auto`` (bfloat16 on a GPU that has it) and ``fp32``, at two batch sizes.

Systems take turns for ``--repeats`` rounds; the median is kept. Training speed (subword
tokens per second of ``train_model``, one epoch) is measured for bf16 mixed precision and fp32.

Run:  python benchmarks/bench_gpu.py --docs 1000 --repeats 3 --output benchmarks/out/gpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from clinicalner.document import Document, Span
from clinicalner.sample_notes import load_examples


def joined_notes(n_docs: int, per_doc: int, seed: int = 0) -> list[Document]:
    """``n_docs`` documents, each ``per_doc`` example notes joined by a blank line, spans kept."""
    notes = load_examples()
    rng = random.Random(seed)
    docs = []
    for i in range(n_docs):
        parts, spans, pos = [], [], 0
        for note in rng.sample(notes, per_doc):
            spans.extend(Span(s.start + pos, s.end + pos, s.label, s.text) for s in note.spans)
            parts.append(note.text)
            pos += len(note.text) + 2
        docs.append(
            Document(
                f"doc{i}", "\n\n".join(parts), spans, "es", frozenset({"DISEASE", "SYMPTOM", "PROCEDURE"})
            )
        )
    return docs


def build_models(root: Path, docs: list[Document]) -> tuple[Path, Path, Path]:
    """The e5-small-shaped encoder, a clinicalner model on it, and the HF token classifier on it."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from clinicalner.encoders.tiny import build_tiny_encoder
    from clinicalner.model.config import ModelConfig
    from clinicalner.model.store import build_model, save_model

    enc = build_tiny_encoder(
        root / "enc", "unigram", hidden=384, layers=12, heads=12, vocab_from=[d.text for d in docs[:200]]
    )
    torch.manual_seed(0)
    labels = ["DISEASE", "PROCEDURE", "SYMPTOM"]
    model, tok = build_model(
        ModelConfig(labels=labels, max_length=256, stride=192, windows="sentence"), str(enc)
    )
    ours = save_model(model, tok, root / "ours")
    tags = ["O"] + [f"{p}-{lab}" for lab in labels for p in ("B", "I")]
    hf = AutoModelForTokenClassification.from_pretrained(
        str(enc),
        num_labels=len(tags),
        id2label=dict(enumerate(tags)),
        label2id={t: i for i, t in enumerate(tags)},
    )
    hf.save_pretrained(root / "hf")
    AutoTokenizer.from_pretrained(str(enc)).save_pretrained(root / "hf")
    return enc, ours, root / "hf"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1000, help="documents to tag")
    parser.add_argument("--notes-per-doc", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-docs", type=int, default=400, help="documents for the training-speed epoch")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/gpu.json"))
    parser.add_argument("--device", default="cuda", help="cpu only to smoke-test this script")
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    from clinicalner.predict.engine import TransformerTagger
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.loop import train_model

    gpu = args.device.startswith("cuda")
    if gpu and not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py measures a GPU; no CUDA device is visible here")
    docs = joined_notes(args.docs, args.notes_per_doc)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        enc, ours, hf = build_models(root, docs)
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(hf))
        subwords = sum(
            len(e.ids)
            for e in tok.backend_tokenizer.encode_batch([d.text for d in docs], add_special_tokens=False)
        )

        def hf_system(batch_size: int) -> Any:
            pipe = pipeline(
                "token-classification",
                model=str(hf),
                aggregation_strategy="simple",
                stride=32,
                device=args.device,
            )
            texts = [d.text for d in docs]
            return lambda: list(pipe(texts, batch_size=batch_size))

        def ours_system(precision: str, batch_tokens: int) -> Any:
            tagger = TransformerTagger(
                ours, device=args.device, precision=precision, batch_tokens=batch_tokens
            )
            return lambda: list(tagger.tag(docs))

        systems = {
            "HF pipeline (simple, stride 32), one document at a time, fp32": hf_system(1),
            "HF pipeline (simple, stride 32), batch_size 32, fp32": hf_system(32),
            "clinicalner, auto precision, batch 8,192 subwords (default)": ours_system("auto", 8192),
            "clinicalner, auto precision, batch 65,536 subwords": ours_system("auto", 65536),
            "clinicalner, fp32, batch 8,192 subwords": ours_system("fp32", 8192),
        }
        times: dict[str, list[float]] = {name: [] for name in systems}
        for run in systems.values():  # warm-up: CUDA kernels, cuBLAS handles
            run()
        for r in range(args.repeats):
            for name, run in systems.items():
                if gpu:
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                run()
                if gpu:
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - t0)
            print(f"round {r + 1}/{args.repeats}", flush=True)
        base = statistics.median(times["HF pipeline (simple, stride 32), one document at a time, fp32"])
        rows = []
        for name, ts in times.items():
            t = statistics.median(ts)
            rows.append(
                {
                    "system": name,
                    "median_seconds": round(t, 3),
                    "subwords_per_second": round(subwords / t),
                    "speed_vs_pipeline": round(base / t, 2),
                }
            )

        train = joined_notes(args.train_docs, args.notes_per_doc, seed=1)
        speeds: dict[str, list[float]] = {"bf16 mixed precision": [], "fp32": []}
        cold: dict[str, int] = {}
        for r in range(1 + args.repeats):  # round 0 is the cold start (new shapes); settings take turns
            for name in speeds:
                cfg = TrainConfig(
                    output=str(root / f"train-{r}-{name[:4]}"),
                    base_model=str(enc),
                    epochs=1,
                    device=args.device,
                    mixed_precision=name != "fp32",
                    keep_best=False,
                    labels=["DISEASE", "PROCEDURE", "SYMPTOM"],
                    crf=False,  # softmax heads, as BENCHMARKS.md's GPU figures were measured
                )
                done = train_model(cfg, train_docs=[train], dev_docs=[], progress=False)
                if r:
                    speeds[name].append(done.train_tokens_per_second)
                else:
                    cold[name] = round(done.train_tokens_per_second)
        training = {name: round(statistics.median(v)) for name, v in speeds.items()}
        training.update({f"{name}, first run (cold)": v for name, v in cold.items()})

    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{torch.cuda.get_device_name(0) if gpu else 'CPU'}, {platform.machine()}, torch {torch.__version__}",
        "documents": len(docs),
        "subwords": subwords,
        "repeats": args.repeats,
        "tagging": rows,
        "training_tokens_per_second": training,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print("\n| system | median s | subwords/s | speed vs pipeline |\n|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['system']} | {r['median_seconds']:.3f} | {r['subwords_per_second']:,} | {r['speed_vs_pipeline']:.2f}x |"
        )


if __name__ == "__main__":
    main()
