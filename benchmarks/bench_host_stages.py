"""Host-side stages of tagging, before and after a commit, in one process on the same inputs.

The end-to-end host time of tagging SpaCCC dev is about 0.2 CPU seconds (``bench_roofline.py``),
too little for whole-run timings on a shared machine to separate a change from noise. Here each
stage that changed runs alone, many times, alternating the code of ``--before`` (read with
``git show`` and loaded as a module) with the working tree's, on the corpus's real documents:

- window planning: ``sentence_token_ranges`` for every document (sentence cuts to subwords);
- span texts: ``Span.with_text`` on the spans a tagger returns (one per gold mention here).

Outputs are compared (same ranges, equal spans) before any time is kept; the best
CPU time of ``--repeats`` rounds is reported.

Run:  python benchmarks/bench_host_stages.py --before 57fe8c8 --model /work/runs/joint-e4 \
          --input /work/shared/corpora/spaccc-es/dev
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np


def module_at(commit: str, path: str, name: str) -> types.ModuleType:
    """The file ``path`` as it was at ``commit``, loaded as a fresh module ``name``."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=root, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(name)
    module.__file__ = f"{commit}:{path}"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def best_cpu(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="57fe8c8", help="the commit to compare against")
    parser.add_argument("--model", default="/work/runs/joint-e4", help="its tokenizer cuts the subwords")
    parser.add_argument("--input", default="/work/shared/corpora/spaccc-es/dev")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    from clinicalner.document import Span
    from clinicalner.io import read_corpus
    from clinicalner.model import subword_windows
    from clinicalner.model.inputs import encode_documents
    from clinicalner.model.store import load_saved_tokenizer

    old_windows = module_at(args.before, "src/clinicalner/model/subword_windows.py", "before_subword_windows")

    docs = list(read_corpus(args.input))
    encoded = encode_documents(docs, load_saved_tokenizer(Path(args.model)))
    rows: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {}

    rows["window planning (sentence cuts)"] = (
        lambda: [old_windows.sentence_token_ranges(e) for e in encoded],
        lambda: [subword_windows.sentence_token_ranges(e) for e in encoded],
    )

    spans = [(d.text, s) for d in docs for s in d.spans if not s.is_discontinuous]

    def old_with_text() -> list[Span]:
        return [replace(s, text=t[s.start : s.end]) for t, s in spans]

    rows["span texts (Span.with_text)"] = (old_with_text, lambda: [s.with_text(t) for t, s in spans])

    words = sum(e.words.shape[0] for e in encoded)
    print(f"{len(docs)} notes, {words:,} words, {len(spans):,} spans; best CPU time of {args.repeats}")
    print()
    print("| stage | before (ms) | after (ms) | speed-up |")
    print("|---|---:|---:|---:|")
    for name, (before, after) in rows.items():
        a, b = before(), after()
        same = (a == b).all() if isinstance(a, np.ndarray) else a == b
        if not same:
            raise SystemExit(f"{name}: before and after disagree")
        t_before = t_after = float("inf")
        for _ in range(2):  # alternate, so a load change hits both
            t_before = min(t_before, best_cpu(before, args.repeats))
            t_after = min(t_after, best_cpu(after, args.repeats))
        print(f"| {name} | {t_before * 1e3:.1f} | {t_after * 1e3:.1f} | {t_before / t_after:.2f}x |")


if __name__ == "__main__":
    main()
