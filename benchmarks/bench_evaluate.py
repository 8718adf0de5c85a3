"""Our MultiClinAI strict + character-overlap scoring vs the official algorithm, on a whole corpus.

The official evaluator (nlp4bia-bsc/MultiClinAIEval, src/evaluate.py) groups rows with
``DataFrame.iterrows`` and compares every gold span with every prediction of its document in
Python loops. A faithful re-implementation of that algorithm is ``official_multiclinai.py``
beside this file (the package never uses it). Both sides score the whole multiclinai-en-es
corpus against a seeded perturbation of itself (spans dropped, edges shifted, labels changed,
duplicates and spurious spans added, one predicted document absent from gold); the numbers must
be identical, then each is timed (median of several repeats, data already in memory: a
DataFrame for the official algorithm, Documents for ours).

``--tsv-repeats N`` times the WHOLE process instead, as a user runs it: the dev part (en + es)
and its perturbation are written N times under other document names into two bare TSVs
(``--workdir``), then ``python official_multiclinai.py --reference GOLD --pred PRED`` and
``clinicalner evaluate -m multiclinai_strict -m multiclinai_char GOLD PRED`` run as
subprocesses, taking turns, each timed by its CPU time (user + sys, from ``wait4``: the
machine may be loaded); ``--before REV`` also times the package as of that git revision (its
``src/`` exported to the work folder). The reports of every clinicalner variant must be
identical (``--json``), and their strict and char numbers equal to the official script's.

Run:  python benchmarks/bench_evaluate.py [--corpus PATH] [--repeats 5] [--seed 0]
      python benchmarks/bench_evaluate.py --tsv-repeats 104 --repeats 3 [--before 57fe8c8]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd
from official_multiclinai import official, rounded

from clinicalner.document import Document, Span
from clinicalner.evaluate import score
from clinicalner.io import write_corpus

CORPORA = Path(
    os.environ.get("CLINICALNER_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")
)


# ---------------------------------------------------------------- corpus
def load_corpus(path: Path) -> list[Document]:
    """clinicalner.io when it is there; otherwise the MultiClinAI TSV layout read directly."""
    try:
        from clinicalner.io import read_corpus
    except ImportError:
        read_corpus = None
    if read_corpus is not None:
        return list(read_corpus(path, "multiclinai").documents)
    docs: list[Document] = []
    for tsv in sorted(path.glob("*/*/*/*.tsv")):
        folder = tsv.parent
        spans: dict[str, list[Span]] = {}
        with tsv.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                spans.setdefault(row["filename"], []).append(
                    Span(int(row["start_span"]), int(row["end_span"]), row["label"], row["text"])
                )
        label = folder.name.upper()
        for txt in sorted((folder / "txt").glob("*.txt")):
            text = txt.read_text(encoding="utf-8")
            docs.append(
                Document(
                    txt.stem,
                    text,
                    spans.get(txt.stem, []),
                    folder.parts[-3],
                    frozenset({label}),
                    {"folder": "/".join(folder.parts[-3:])},
                )
            )
    return docs


def perturb(docs: list[Document], seed: int) -> list[Document]:
    """A prediction-like copy: ~8% dropped, ~10% shifted, ~5% relabelled, ~2% duplicated, ~6% spurious."""
    rng = random.Random(seed)
    labels = sorted({s.label for d in docs for s in d.spans})
    out = []
    for doc in docs:
        n = len(doc.text)
        spans: list[Span] = []
        for s in doc.spans:
            roll = rng.random()
            if roll < 0.08:
                continue
            if roll < 0.18:
                start = min(max(0, s.start + rng.randint(-3, 3)), n - 1)
                end = min(n, max(start + 1, s.end + rng.randint(-3, 3)))
                spans.append(Span(start, end, s.label))
            elif roll < 0.23:
                spans.append(Span(s.start, s.end, rng.choice([x for x in labels if x != s.label])))
            else:
                spans.append(Span(s.start, s.end, s.label))
            if rng.random() < 0.02:
                spans.append(spans[-1])
        for _ in range(max(1, round(0.06 * len(doc.spans)))):
            start = rng.randrange(0, max(1, n - 1))
            spans.append(Span(start, min(n, start + rng.randint(3, 25)), rng.choice(labels)))
        rng.shuffle(spans)
        out.append(doc.with_spans(spans))
    out.append(
        Document("not_in_gold", "spurious text " * 10, [Span(0, 8, labels[0]), Span(9, 13, labels[-1])])
    )
    return out


def frame(docs: list[Document]) -> pd.DataFrame:
    """The official loader's result: filename, label, off0, off1 (int), span; rows in document order."""
    rows = [(d.id, s.label, s.start, s.end, s.text) for d in docs for s in d.spans]
    df = pd.DataFrame(rows, columns=["filename", "label", "off0", "off1", "span"])
    return df.astype({"off0": int, "off1": int})


# ---------------------------------------------------------------- ours
def ours(gold: list[Document], pred: list[Document]) -> dict[str, dict[str, float]]:
    # mask_unannotated=False: the official evaluator knows nothing of annotated types, so a
    # relabelled prediction is a false positive there too.
    r = score(
        gold, pred, metrics=["multiclinai_strict", "multiclinai_char"], breakdowns=(), mask_unannotated=False
    )
    s, c = r.metric("multiclinai_strict"), r.metric("multiclinai_char")
    strict = rounded(s.precision, s.recall)
    strict.update(tp=s.counts["tp"], fp=s.counts["fp"], fn=s.counts["fn"])
    char = rounded(c.precision, c.recall)
    char.update(n_gold=c.counts["n_gold"], n_pred=c.counts["n_pred"])
    return {"strict": strict, "char_f1": char}


def timed(fn: Any, repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


# ---------------------------------------------------------------- the whole process, from bare TSVs
STRICT_CHAR = ["-m", "multiclinai_strict", "-m", "multiclinai_char"]


def write_tsvs(corpus: Path, workdir: Path, repeats: int, seed: int) -> tuple[Path, Path]:
    """Gold and predicted bare TSVs: the dev part (en + es) and its perturbation, ``repeats`` times."""
    dev = [d for d in load_corpus(corpus) if d.metadata.get("split") == "dev"]
    pred = perturb(dev, seed)
    gold_tsv, pred_tsv = workdir / "gold.tsv", workdir / "pred.tsv"
    for docs, path in ((dev, gold_tsv), (pred, pred_tsv)):
        copies = (dataclasses.replace(d, id=f"r{k:03d}_{d.id}") for k in range(repeats) for d in docs)
        path.unlink(missing_ok=True)
        write_corpus(copies, path, "tsv")
    return gold_tsv, pred_tsv


def export_src(rev: str, workdir: Path) -> Path:
    """``src/`` of the package as of git revision ``rev``, exported under ``workdir``."""
    repo = Path(__file__).resolve().parents[1]
    out = workdir / f"src-{rev}"
    shutil.rmtree(out, ignore_errors=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", rev, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(workdir / f"tmp-{rev}", filter="data")
    (workdir / f"tmp-{rev}" / "src").rename(out)
    shutil.rmtree(workdir / f"tmp-{rev}")
    return out


def whole_process(args: argparse.Namespace) -> None:
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    gold_tsv, pred_tsv = write_tsvs(args.corpus, workdir, args.tsv_repeats, args.seed)
    here = Path(__file__).resolve().parent
    official_cmd = [sys.executable, str(here / "official_multiclinai.py"), "--reference", str(gold_tsv)]
    official_cmd += ["--pred", str(pred_tsv)]
    exe = Path(sys.executable).with_name("clinicalner")
    cli = [str(exe)] if exe.exists() else [sys.executable, "-c", "from clinicalner.cli import app; app()"]
    ours_cmd = [*cli, "evaluate", *STRICT_CHAR, str(gold_tsv), str(pred_tsv)]
    variants: dict[str, dict[str, str]] = {"now": dict(os.environ, PYTHONPATH=str(here.parent / "src"))}
    if args.before:
        variants[f"before ({args.before})"] = dict(
            os.environ, PYTHONPATH=str(export_src(args.before, workdir))
        )

    outputs = {
        name: (_cpu(ours_cmd, env)[2], _cpu([*ours_cmd, "--json"], env)[2]) for name, env in variants.items()
    }
    first = next(iter(outputs))
    for name, out in outputs.items():
        assert out == outputs[first], f"the output of {name} differs from {first}'s"
    first_report = json.loads(outputs[first][1])
    mine = _from_report(first_report)

    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    cpu: dict[str, list[float]] = {"official": [], **{n: [] for n in variants}}
    wall: dict[str, list[float]] = {k: [] for k in cpu}
    for _ in range(args.repeats):  # taking turns, so that a change of load hits every variant
        for name in cpu:
            c, w, out = _cpu(official_cmd if name == "official" else ours_cmd, variants.get(name))
            if name == "official":  # every run of the official script gives our numbers
                assert json.loads(out) == mine, f"numbers differ:\nours     {mine}\nofficial {out}"
            cpu[name].append(c)
            wall[name].append(w)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    s, c = mine["strict"], mine["char_f1"]
    print(f"gold: {gold_tsv} ({s['tp'] + s['fn']} spans), predictions: {pred_tsv}")
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"load average before / after the runs {' '.join(load_before)} / {' '.join(load)}"
    )
    print(
        f"identical numbers: strict P/R/F {s['precision']}/{s['recall']}/{s['f1']} "
        f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']}); char P/R/F {c['precision']}/{c['recall']}/{c['f1']}"
    )
    print()
    print("| whole process | CPU s (user + sys), each run | median | wall s, median | speed-up (CPU) |")
    print("|---|---|---:|---:|---:|")
    base = statistics.median(cpu["official"])
    for name in cpu:
        med = statistics.median(cpu[name])
        runs = " / ".join(f"{x:.2f}" for x in cpu[name])
        label = (
            "official script (pandas + nested loops)"
            if name == "official"
            else f"clinicalner evaluate, {name}"
        )
        print(f"| {label} | {runs} | {med:.2f} | {statistics.median(wall[name]):.2f} | {base / med:.1f}x |")


def _cpu(cmd: list[str], env: dict[str, str] | None) -> tuple[float, float, str]:
    """Run ``cmd``: its CPU seconds (user + sys of the process and its children), wall seconds, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:4])} ... failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}"
        )
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall, proc.stdout.decode()


def _from_report(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The official script's numbers, from a ``clinicalner evaluate --json`` report."""
    s, c = report["metrics"]["multiclinai_strict"], report["metrics"]["multiclinai_char"]
    strict = rounded(s["precision"], s["recall"])
    strict.update({k: int(s["counts"][k]) for k in ("tp", "fp", "fn")})
    char = rounded(c["precision"], c["recall"])
    char.update({k: int(c["counts"][k]) for k in ("n_gold", "n_pred")})
    return {"strict": strict, "char_f1": char}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPORA / "multiclinai-en-es")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--tsv-repeats",
        type=int,
        default=0,
        help="time the whole process on N copies of dev (104: ~494k spans)",
    )
    ap.add_argument("--workdir", type=Path, default=Path(__file__).resolve().parent / "out" / "evaluate_tsv")
    ap.add_argument("--before", help="also time the package as of this git revision (e.g. 57fe8c8)")
    args = ap.parse_args()
    if args.tsv_repeats:
        whole_process(args)
        return

    gold = load_corpus(args.corpus)
    pred = perturb(gold, args.seed)
    df_gold, df_pred = frame(gold), frame(pred)
    n_gold, n_pred = len(df_gold), len(df_pred)

    t_official, r_official = timed(lambda: official(df_gold, df_pred), args.repeats)
    t_ours, r_ours = timed(lambda: ours(gold, pred), max(args.repeats, 10))
    assert r_ours == r_official, f"numbers differ:\nours     {r_ours}\nofficial {r_official}"
    t_all, _ = timed(lambda: score(gold, pred, breakdowns=("label", "language", "folder")), args.repeats)

    print(f"corpus: {args.corpus} ({len(gold)} documents, {n_gold} gold spans, {n_pred} predicted spans)")
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    s, c = r_ours["strict"], r_ours["char_f1"]
    print(
        f"identical numbers: strict P/R/F {s['precision']}/{s['recall']}/{s['f1']} "
        f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']}); char P/R/F {c['precision']}/{c['recall']}/{c['f1']}"
    )
    print()
    print("| scorer | strict + char F1, median seconds | speed-up |")
    print("|---|---|---|")
    print(f"| official algorithm (pandas iterrows + nested loops) | {t_official:.3f} | 1x |")
    print(f"| clinicalner.evaluate.score | {t_ours:.4f} | {t_official / t_ours:.0f}x |")
    print(f"| clinicalner.evaluate.score, all 17 metrics + 3 breakdowns | {t_all:.3f} | — |")


if __name__ == "__main__":
    main()
