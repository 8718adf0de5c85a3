"""What each post-processing step is worth, on SpaCCC dev.

Tags SpaCCC dev once with a trained model and post-processing off, then applies the
post-processing of :mod:`clinicalner.predict.postprocess` in several variants to the same raw
spans: none, the default (all steps), and the default with one step left out at a time.
Strict F1 is what the MultiClinAI ranking uses, so a step earns its place by strict F1.

Run: python benchmarks/bench_postprocess.py [--model benchmarks/out/engine/clinicalner]
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

VARIANTS: dict[str, PostprocessConfig | None] = {
    "none (raw decoded spans)": None,
    "default (all steps)": PostprocessConfig(),
    "without snap_to_words": PostprocessConfig(snap_to_words=False),
    "without trim": PostprocessConfig(trim=False),
    "without merge": PostprocessConfig(merge=False),
    "merge without space joiner": PostprocessConfig(merge_joiners="-/\u2010\u2011"),
    "without drop_short": PostprocessConfig(drop_short=False),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("benchmarks/out/engine/clinicalner"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/postprocess.json"))
    args = parser.parse_args()

    from clinicalner.evaluate import score
    from clinicalner.io import read_corpus
    from clinicalner.predict.engine import TransformerTagger

    dev = read_corpus(CORPORA / "spaccc-es" / "dev").documents
    labels = sorted({s.label for d in dev for s in d.spans})
    raw = list(TransformerTagger(args.model, postprocess=False).tag(dev))
    rows = {}
    for name, cfg in VARIANTS.items():
        pred = (
            raw
            if cfg is None
            else [Document.with_spans(d, postprocess(d.text, d.spans, cfg, d.language)) for d in raw]
        )
        r = score(dev, pred, metrics=["strict", "relaxed"], labels=labels, breakdowns=("label",))
        rows[name] = {
            "strict": round(r.metric("strict").f1, 4),
            "relaxed": round(r.metric("relaxed").f1, 4),
            "spans": sum(len(d.spans) for d in pred),
            **{lab: round(r.breakdown("label", lab, "strict").f1, 4) for lab in labels},
            "config": dataclasses.asdict(cfg) if cfg else None,
        }
    result = {"date": time.strftime("%Y-%m-%d"), "model": str(args.model), "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    base = rows["default (all steps)"]["strict"]
    print(
        f"| post-processing (SpaCCC dev) | strict F1 | relaxed F1 | {' | '.join(labels)} | spans | vs default |"
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
