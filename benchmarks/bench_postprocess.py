"""What each post-processing step is worth, on SpaCCC dev (or any dev set).

Runs the model once over the dev set (word scores), then decodes the same scores with the
post-processing of :mod:`clinicalner.predict.postprocess` in several variants: none, the
default (all steps; the merge joins on surface characters alone, so ``HTA/DM`` becomes one
span), the default with one step left out at a time, and the merge step asking the model,
``merge_min_ratio`` swept from 0.02 to 1 (never joining across a gap unless the model finds the
joined reading likelier). Strict F1 is what the MultiClinAI ranking uses, so a step earns its
place by strict F1. The last row applies the default post-processing to the gold spans
themselves: what a perfect tagger would keep. Run it on a dev set of another language than the
model's training data too: that is where asking the model goes wrong (BENCHMARKS.md).

Run: python benchmarks/bench_postprocess.py [--model benchmarks/out/engine/clinicalner]
     [--dev ../shared/corpora/multiclinai-en-es/es/dev]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from hf_baseline import CORPORA

from clinicalner.document import Document
from clinicalner.predict.postprocess import PostprocessConfig, postprocess

_DEFAULT = PostprocessConfig()
VARIANTS: dict[str, PostprocessConfig | None] = {
    "none (raw decoded spans)": None,
    "default (all steps)": _DEFAULT,
    "without snap_to_words": PostprocessConfig(snap_to_words=False),
    "without trim": PostprocessConfig(trim=False),
    "without merge": PostprocessConfig(merge=False),
    "without drop_short": PostprocessConfig(drop_short=False),
    "merge without the space joiner": PostprocessConfig(merge_joiners="-/\u2010\u2011"),
    **{
        f"merge asks the model, merge_min_ratio {r:g}": PostprocessConfig(merge_min_ratio=r)
        for r in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
        if r != _DEFAULT.merge_min_ratio
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("benchmarks/out/engine/clinicalner"))
    parser.add_argument("--dev", type=Path, default=CORPORA / "spaccc-es" / "dev")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/postprocess.json"))
    args = parser.parse_args()

    from clinicalner.evaluate import score
    from clinicalner.io import read_corpus
    from clinicalner.model.inputs import encode_documents
    from clinicalner.predict.engine import TransformerTagger
    from clinicalner.train.examples import merge_documents

    dev = merge_documents(read_corpus(args.dev).documents)  # MultiClinAI: one copy per text
    labels = sorted({s.label for d in dev for s in d.spans})
    tagger = TransformerTagger(args.model)
    encoded = encode_documents(dev, tagger.tokenizer)
    scores = tagger.word_scores(encoded)

    def decoded(cfg: PostprocessConfig | None) -> list[Document]:
        tagger.postprocess = cfg if cfg is not None else False
        return [enc.doc.with_spans(tagger.decode(enc, sc)) for enc, sc in zip(encoded, scores, strict=True)]

    def row(pred: list[Document], cfg: PostprocessConfig | None) -> dict:
        r = score(dev, pred, metrics=["strict", "relaxed"], labels=labels, breakdowns=("label",))
        return {
            "strict": round(r.metric("strict").f1, 4),
            "relaxed": round(r.metric("relaxed").f1, 4),
            "spans": sum(len(d.spans) for d in pred),
            **{lab: round(r.breakdown("label", lab, "strict").f1, 4) for lab in labels},
            "config": dataclasses.asdict(cfg) if cfg else None,
        }

    rows = {name: row(decoded(cfg), cfg) for name, cfg in VARIANTS.items()}
    gold_pp = [d.with_spans(postprocess(d.text, d.spans, _DEFAULT, d.language)) for d in dev]
    rows["gold spans through the default post-processing (a perfect tagger's ceiling)"] = row(
        gold_pp, _DEFAULT
    )
    result = {"date": time.strftime("%Y-%m-%d"), "model": str(args.model), "dev": str(args.dev), "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    base = rows["default (all steps)"]["strict"]
    print(
        f"| post-processing ({args.dev}) | strict F1 | relaxed F1 | {' | '.join(labels)} | spans | vs default |"
    )
    print("|---|---|---|" + "---|" * len(labels) + "---|---|")
    for name, r in rows.items():
        per = " | ".join(f"{r[lab]:.4f}" for lab in labels)
        print(
            f"| {name} | {r['strict']:.4f} | {r['relaxed']:.4f} | {per} | {r['spans']} | "
            f"{100 * (r['strict'] - base):+.2f} |"
        )


if __name__ == "__main__":
    main()
