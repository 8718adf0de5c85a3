"""``predict --engine ray`` on a local 2-CPU Ray cluster against local ``predict``: same spans, overhead.

The notes are generated as in ``bench_stream.py`` (varied, from the built-in notes) and tagged
with a lexicon built from the built-in notes' mentions, or with ``--model``. Local ``predict``
writes JSONL; the Ray run (a local cluster started with ``num_cpus=2``, ``--actors`` taggers)
writes Parquet span rows. The spans are compared document for document; the times include
the whole run (for Ray: starting the cluster, the actors, reading and writing).

Run:  python benchmarks/bench_ray.py [--notes 20000] [--actors 2] [--model MODEL_DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
from bench_stream import generate

from clinicalner import api
from clinicalner.io import read_corpus, write_corpus
from clinicalner.sample_notes import load_examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=20000)
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--model", type=Path)
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = args.model
        if model is None:
            write_corpus(load_examples(), root / "examples.jsonl", "jsonl")
            model = root / "lexicon"
            api.lexicon(root / "examples.jsonl", model)
        notes = root / "notes.jsonl"
        generate(args.notes, notes)
        t0 = time.perf_counter()
        api.predict(model, notes, root / "local.jsonl", progress=False)
        local_s = time.perf_counter() - t0
        local = {
            d.id: sorted((s.start, s.end, s.label, s.text) for s in d.spans)
            for d in read_corpus(root / "local.jsonl").documents
            if d.spans
        }
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        started_s = time.perf_counter() - t0
        s = api.predict(model, notes, root / "ray.parquet", engine="ray", actors=args.actors, progress=False)
        ray_s = time.perf_counter() - t0
        ray.shutdown()
        frame = pd.read_parquet(root / "ray.parquet")
        got: dict[str, list] = {}
        for r in frame.itertuples(index=False):
            got.setdefault(r.id, []).append((int(r.start), int(r.end), r.label, r.text))
        same = {k: sorted(v) for k, v in got.items()} == local
        print(
            json.dumps(
                {
                    "notes": args.notes,
                    "spans": s.spans,
                    "same_spans": same,
                    "local_seconds": round(local_s, 1),
                    "ray_seconds_total": round(ray_s, 1),
                    "ray_cluster_start_seconds": round(started_s, 1),
                    "ray_over_local": round(ray_s / local_s, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
