"""Streaming ``predict``: resident memory stays flat from 10,000 to 100,000 notes.

100,000 varied notes are generated from the built-in notes (seeded): each is two to six
sentences drawn from the notes of one language, shuffled, with its ages, doses and numbers
changed, so no two texts are alike (the stream's cache of repeated texts does not help). They
are tagged with a lexicon built from the built-in notes' mentions (cheap: memory, not the
encoder, is what is measured), in a fresh process per size, through ``clinicalner.api.predict``
(journal, then the output written from it) to a JSONL or TSV file. Each child reports its
peak resident set size (``ru_maxrss``) and time. Determinism: the 10,000-note run is repeated
and must give the same bytes, and each output's documents are the input's, in input order
(the 100,000 run's first 10,000 documents are the 10,000 run's).

Run:  python benchmarks/bench_stream.py [--sizes 10000 50000 100000] [--format jsonl|tsv]
      [--model MODEL_DIR --model-notes 5000]   (a trained model on a subset, optionally)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from clinicalner import api
from clinicalner.io import write_corpus
from clinicalner.sample_notes import load_examples

_SENTENCE = re.compile(r"[^.]+\.\s*")
_NUMBER = re.compile(r"\d+")

CHILD = """
import json, resource, sys, time
from clinicalner import api
t0 = time.perf_counter()
s = api.predict(sys.argv[1], sys.argv[2], sys.argv[3], progress=False)
print(json.dumps({"documents": s.documents, "spans": s.spans, "seconds": round(time.perf_counter() - t0, 2),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def generate(n: int, path: Path, seed: int = 0) -> None:
    """``n`` varied notes as JSONL (id, text, language), written line by line."""
    rng = random.Random(seed)
    by_language: dict[str, list[str]] = {}
    for doc in load_examples():
        by_language.setdefault(doc.language or "und", []).extend(
            m.group(0).strip() for m in _SENTENCE.finditer(doc.text)
        )
    languages = sorted(by_language)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            lang = languages[i % len(languages)]
            pool = by_language[lang]
            sentences = [rng.choice(pool) for _ in range(rng.randint(2, 6))]
            text = " ".join(_NUMBER.sub(lambda m: str(rng.randint(1, 99)), s) for s in sentences)
            f.write(json.dumps({"id": f"note{i:06d}", "text": text, "language": lang}, ensure_ascii=False))
            f.write("\n")


def run_child(model: Path, notes: Path, out: Path) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(notes), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def ids_in_order(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["id"] for line in f]


def head(src: Path, n: int, dst: Path) -> None:
    with src.open(encoding="utf-8") as f, dst.open("w", encoding="utf-8") as g:
        for k, line in enumerate(f):
            if k == n:
                break
            g.write(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 100000])
    parser.add_argument("--format", choices=["jsonl", "tsv"], default="jsonl")
    parser.add_argument("--model", type=Path, help="also tag --model-notes notes with this model")
    parser.add_argument("--model-notes", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus = root / "examples.jsonl"
        write_corpus(load_examples(), corpus, "jsonl")
        lexicon = root / "lexicon"
        api.lexicon(corpus, lexicon)
        everything = root / "notes.jsonl"
        generate(max(args.sizes), everything)
        rows = []
        outputs: dict[int, Path] = {}
        for n in sorted(args.sizes):
            notes = root / f"notes{n}.jsonl"
            head(everything, n, notes)
            out = root / f"out{n}.{args.format}"
            result = run_child(lexicon, notes, out)
            result["notes"] = n
            result["output_mib"] = round(out.stat().st_size / 2**20, 1)
            if args.format == "jsonl":
                assert ids_in_order(out) == ids_in_order(notes), "output order is not the input order"
            outputs[n] = out
            rows.append(result)
            print(json.dumps(result), flush=True)
        smallest = min(args.sizes)
        again = root / f"again.{args.format}"
        run_child(lexicon, root / f"notes{smallest}.jsonl", again)
        same = again.read_bytes() == outputs[smallest].read_bytes()
        if args.format == "jsonl":  # the same documents and spans (metadata names the input file)
            largest = outputs[max(args.sizes)]
            with largest.open(encoding="utf-8") as f, outputs[smallest].open(encoding="utf-8") as g:
                for a, b in zip(f, g, strict=False):
                    x, y = json.loads(a), json.loads(b)
                    x.pop("metadata"), y.pop("metadata")
                    same = same and x == y
        print(
            json.dumps(
                {"deterministic": same, "sha256_smallest": hashlib.sha256(again.read_bytes()).hexdigest()}
            )
        )
        if args.model is not None:
            notes = root / "model_notes.jsonl"
            head(everything, args.model_notes, notes)
            result = run_child(args.model, notes, root / f"model_out.{args.format}")
            result["notes"] = args.model_notes
            result["model"] = str(args.model)
            print(json.dumps(result))
        print("\n| notes | peak RSS (MiB) | seconds | spans | output (MiB) |\n|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['notes']:,} | {r['peak_rss_mib']} | {r['seconds']} | {r['spans']:,} | {r['output_mib']} |"
            )


if __name__ == "__main__":
    main()
