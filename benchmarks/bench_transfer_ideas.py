"""Transfer ideas measured one at a time: the same model, E3C Italian and SiMoNERo Romanian dev.

Issue 14 asks to raise transfer to Italian and Romanian without target-language labels in
training, measuring each idea alone against the model as it is. This script loads one model
once, runs the encoder once per (set, window plan, text transform), and decodes the cached
word scores under each tagging-time variant (confidence threshold, post-processing steps,
overlap resolution after the label map, a lexicon's matches merged in). Every variant is
scored by ``api.evaluate`` (strict and relaxed, label-mapped as ``bench_languages.py`` does)
with bootstrap intervals over documents.

**These dev sets are used for selection here**: a variant picked for being best on them is
scored on the same texts, so its gain is an optimistic estimate (both sets are small; read
the intervals, and prefer settings that win on both languages).

Run (CPU, a few minutes for multilingual-e5-small on 2 cores):
  python benchmarks/bench_transfer_ideas.py /work/runs/joint-e4 --output benchmarks/out/transfer
  python benchmarks/bench_transfer_ideas.py MODEL --only baseline,one-sentence --bootstrap 1000
  python benchmarks/bench_transfer_ideas.py MODEL --crosslingual LEXICON_DIR   # + its variants
  # the lexicon's variants only, on the baseline predictions a full run left in --output:
  python benchmarks/bench_transfer_ideas.py MODEL --output OUT --crosslingual XL --only lexicon-from-baseline
  python benchmarks/bench_transfer_ideas.py MODEL --output OUT --rescore   # score OUT's predictions again
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from clinicalner import api
from clinicalner.document import Document, Span
from clinicalner.io import read_corpus, write_corpus
from clinicalner.predict.postprocess import PostprocessConfig

LABEL_MAPS = {
    "e3c-it": {"DISEASE": "CLINENTITY", "SYMPTOM": "CLINENTITY", "PROCEDURE": None},
    "simonero-ro": {"DISEASE": "DISO", "SYMPTOM": "DISO", "PROCEDURE": "PROC"},
}


@dataclass(frozen=True)
class Variant:
    """One idea: how the encoder is run (windows, text transform) and how spans are decoded."""

    name: str
    windows: str = "model"  # model | sentence | one-sentence | sliding
    lowercase: bool = False
    threshold: float = 0.0
    postprocess: PostprocessConfig | bool = True
    resolve_overlaps: bool = False  # after the label map: one span per overlapping group
    lexicon: str | None = None  # "surface" or "crosslingual": its matches merged in
    lexicon_min_score: float = 0.0  # lexicon matches scored below it (a similarity) are left out
    lexicon_alone: bool = False  # the lexicon's matches instead of the model's spans


def variants(crosslingual: bool) -> list[Variant]:
    out = [
        Variant("baseline"),
        Variant("one-sentence windows", windows="one-sentence"),
        Variant("sliding windows", windows="sliding"),
        Variant("lower-cased input", lowercase=True),
        Variant("no post-processing", postprocess=False),
        Variant("no surface merge", postprocess=PostprocessConfig(merge=False)),
        Variant("merge min ratio 0.1", postprocess=PostprocessConfig(merge_min_ratio=0.1)),
        Variant("resolve mapped overlaps", resolve_overlaps=True),
    ]
    out += [Variant(f"threshold {t}", threshold=t) for t in (0.5, 0.6, 0.7, 0.8, 0.9)]
    out += [Variant("+ surface lexicon es/en", lexicon="surface")]
    if crosslingual:
        for t in (0.86, 0.88, 0.9, 0.92, 0.94):
            out += [Variant(f"+ cross-lingual lexicon >= {t}", lexicon="crosslingual", lexicon_min_score=t)]
            out += [
                Variant(
                    f"cross-lingual lexicon alone >= {t}",
                    lexicon="crosslingual",
                    lexicon_min_score=t,
                    lexicon_alone=True,
                )
            ]
    return out


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Among overlapping spans of one (mapped) label keep the best-scored (then the longest)."""
    kept: list[Span] = []
    ranked = sorted(spans, key=lambda s: (-(s.score or 0.0), -(s.end - s.start), s.start))
    for s in ranked:
        if not any(k.label == s.label and k.start < s.end and s.start < k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: (s.start, s.end, s.label))


def map_labels(spans: list[Span], mapping: dict[str, str | None]) -> list[Span]:
    """Spans under the gold's labels; two that become identical count once (the best-scored),
    as ``evaluate --label-map`` does."""
    best: dict[tuple[int, int, str], Span] = {}
    for s in spans:
        target = mapping.get(s.label, s.label)
        if not target:
            continue
        m = replace(s, label=target)
        kept = best.get(m.key)
        if kept is None or (m.score or 0.0) > (kept.score or 0.0):
            best[m.key] = m
    return sorted(best.values(), key=lambda s: (s.start, s.end, s.label))


def score(gold: Path, pred: Path, mapping: dict[str, str | None], bootstrap: int, seed: int) -> Any:
    """Strict and relaxed scores on the labels the mapped predictions can have (SiMoNERo's ANAT
    and CHEM are left out, as ``evaluate --label-map`` leaves them out)."""
    labels = sorted({v for v in mapping.values() if v})
    return api.evaluate(
        gold, pred, metrics=["strict", "relaxed"], labels=labels, bootstrap=bootstrap, seed=seed
    )


def merge_lexicon(model: list[Span], lexicon: list[Span]) -> list[Span]:
    """The model's spans plus every lexicon match that overlaps none of them."""
    out = list(model)
    for s in lexicon:
        if not any(m.start < s.end and s.start < m.end for m in model):
            out.append(s)
    return sorted(out, key=lambda s: (s.start, s.end, s.label))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model")
    parser.add_argument(
        "--corpora", type=Path, default=Path(os.environ.get("CLINICALNER_CORPORA", "../shared/corpora"))
    )
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/transfer"))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated variant names (default: all)")
    parser.add_argument("--sets", default="e3c-it,simonero-ro", help="comma-separated: e3c-it, simonero-ro")
    parser.add_argument("--crosslingual", type=Path, help="a cross-lingual lexicon folder to merge in")
    parser.add_argument("--lexicon-min-count", type=int, default=2)
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="score the predictions already under --output again (no tagging), e.g. after a scoring fix",
    )
    args = parser.parse_args()
    if args.rescore:
        rescore(args)
        return
    if args.crosslingual is not None and args.only == "lexicon-from-baseline":
        lexicon_from_baseline(args)
        return

    import torch

    torch.set_num_threads(args.threads)
    from clinicalner.model.inputs import encode_documents

    tagger = api.load_tagger(args.model, device="cpu")
    todo = variants(args.crosslingual is not None)
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        todo = [v for v in todo if v.name in wanted]
    lexicons: dict[str, Any] = {}
    if any(v.lexicon == "surface" for v in todo):
        import sys

        sys.path.insert(0, str(Path(__file__).parent))
        import bench_languages as bl

        lexicons["surface"] = bl.build_lexicon(args.corpora, args.lexicon_min_count)
    if args.crosslingual is not None:
        lexicons["crosslingual"] = api.load_tagger(args.crosslingual)

    sets = [
        ("e3c-it", args.corpora / "e3c-it", "it"),
        ("simonero-ro", args.corpora / "simonero-ro", "ro"),
    ]
    chosen = {x.strip() for x in args.sets.split(",")}
    sets = [s for s in sets if s[0] in chosen]
    results: dict[str, Any] = {"model": args.model, "machine": machine(), "bootstrap": args.bootstrap}
    results["scores"] = {}
    for set_name, path, language in sets:
        gold = read_corpus(path).documents
        inputs = [d.with_spans([]) for d in gold]
        for d in inputs:
            d.language = d.language or language
        cache: dict[tuple[str, bool], tuple[Any, Any, Any, Any, float]] = {}
        lex_spans: dict[str, list[list[Span]]] = {}
        for v in todo:
            key = (v.windows, v.lowercase)
            if key not in cache:
                tagger.windows = tagger.config.tagging_windows if v.windows == "model" else v.windows
                docs = [lowercased(d) for d in inputs] if v.lowercase else inputs
                t0 = time.perf_counter()
                enc = encode_documents(docs, tagger.tokenizer, tagger._backend)
                scores = tagger.word_scores(enc)
                crf = tagger.crf_numpy()
                paths = tagger.crf_paths(scores, crf) if crf is not None else [None] * len(scores)
                cache[key] = (enc, scores, crf, paths, time.perf_counter() - t0)
            enc, scores, crf, paths, seconds = cache[key]
            tagger.threshold, tagger.postprocess = v.threshold, v.postprocess
            mapping = LABEL_MAPS[set_name]
            preds: list[Document] = []
            for i, (e, sc, p) in enumerate(zip(enc, scores, paths, strict=True)):
                spans = tagger.decode(e, sc, crf, paths=p)
                text = inputs[i].text
                spans = [s.with_text(text) for s in spans]
                spans = map_labels(spans, mapping)
                if v.resolve_overlaps:
                    spans = resolve_overlaps(spans)
                if v.lexicon:
                    if v.lexicon not in lex_spans:
                        lex_docs = list(lexicons[v.lexicon].tag(inputs))
                        lex_spans[v.lexicon] = [map_labels(list(d.spans), mapping) for d in lex_docs]
                    found = [s for s in lex_spans[v.lexicon][i] if (s.score or 1.0) >= v.lexicon_min_score]
                    spans = found if v.lexicon_alone else merge_lexicon(spans, found)
                doc = inputs[i].with_spans(spans)
                doc.language = gold[i].language
                preds.append(doc)
            out = args.output / slug(v.name) / f"{set_name}.jsonl"
            out.parent.mkdir(parents=True, exist_ok=True)
            write_corpus(preds, out, "jsonl")
            report = score(path, out, mapping, args.bootstrap, args.seed)
            row = {
                "strict": cell(report.metric("strict")),
                "relaxed": cell(report.metric("relaxed")),
                "per_label": {
                    lab: cell(report.breakdown("label", lab, "strict"))
                    for lab in report.labels
                    if lab in set(mapping.values())
                },
                "encoder_seconds": round(seconds, 1),
                "predicted": sum(len(d.spans) for d in preds),
            }
            results["scores"].setdefault(set_name, {})[v.name] = row
            s = row["strict"]
            print(
                f"{set_name:12} {v.name:28} strict P {s['precision']:.3f} R {s['recall']:.3f} "
                f"F1 {fmt(s)}  relaxed F1 {fmt(row['relaxed'])}",
                flush=True,
            )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (args.output / "results.md").write_text(markdown(results), encoding="utf-8")
    print(f"wrote {args.output / 'results.md'}")


def lexicon_from_baseline(args: argparse.Namespace) -> None:
    """The cross-lingual lexicon's variants without running the model again: its matches are
    merged into (or replace) the baseline predictions a full run saved under ``--output``."""
    from clinicalner.io import read_corpus as read

    lexicon = api.load_tagger(args.crosslingual)
    sets = {"e3c-it": (args.corpora / "e3c-it", "it"), "simonero-ro": (args.corpora / "simonero-ro", "ro")}
    chosen = {x.strip() for x in args.sets.split(",")}
    for set_name, (gold_path, language) in sets.items():
        base = args.output / "baseline" / f"{set_name}.jsonl"
        if set_name not in chosen or not base.is_file():
            continue
        model_docs = read(base).documents
        inputs = [d.with_spans([]) for d in model_docs]
        for d in inputs:
            d.language = d.language or language
        mapping = LABEL_MAPS[set_name]
        found = [map_labels(list(d.spans), mapping) for d in lexicon.tag(inputs)]
        for v in variants(True):
            if v.lexicon != "crosslingual":
                continue
            docs = []
            for m, lex in zip(model_docs, found, strict=True):
                kept = [s for s in lex if (s.score or 1.0) >= v.lexicon_min_score]
                spans = kept if v.lexicon_alone else merge_lexicon(list(m.spans), kept)
                docs.append(m.with_spans(spans))
            out = args.output / slug(v.name) / f"{set_name}.jsonl"
            out.parent.mkdir(parents=True, exist_ok=True)
            write_corpus(docs, out, "jsonl")
            report = score(gold_path, out, mapping, args.bootstrap, args.seed)
            st, rl = cell(report.metric("strict")), cell(report.metric("relaxed"))
            print(
                f"{set_name:12} {v.name:34} strict P {st['precision']:.3f} R {st['recall']:.3f} "
                f"F1 {fmt(st)}  relaxed F1 {fmt(rl)}  spans {sum(len(d.spans) for d in docs)}",
                flush=True,
            )


def rescore(args: argparse.Namespace) -> None:
    """Score every ``VARIANT/SET.jsonl`` under ``--output`` (as written by a run) again."""
    from clinicalner.io import read_corpus as read

    paths = {"e3c-it": args.corpora / "e3c-it", "simonero-ro": args.corpora / "simonero-ro"}
    results: dict[str, Any] = {"model": args.model, "machine": machine(), "bootstrap": args.bootstrap}
    results["scores"] = {}
    for folder in sorted(p for p in args.output.iterdir() if p.is_dir()):
        for set_name, gold in paths.items():
            pred = folder / f"{set_name}.jsonl"
            if not pred.is_file():
                continue
            mapping = {v: v for v in LABEL_MAPS[set_name].values() if v}
            docs = [d.with_spans(map_labels(list(d.spans), mapping)) for d in read(pred).documents]
            fixed = folder / f"{set_name}.rescored.jsonl"
            write_corpus(docs, fixed, "jsonl")
            report = score(gold, fixed, LABEL_MAPS[set_name], args.bootstrap, args.seed)
            row = {"strict": cell(report.metric("strict")), "relaxed": cell(report.metric("relaxed"))}
            results["scores"].setdefault(set_name, {})[folder.name] = row
            st = row["strict"]
            print(
                f"{set_name:12} {folder.name:28} strict P {st['precision']:.3f} R {st['recall']:.3f} "
                f"F1 {fmt(st)}  relaxed F1 {fmt(row['relaxed'])}",
                flush=True,
            )
    (args.output / "rescored.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (args.output / "rescored.md").write_text(markdown(results), encoding="utf-8")


def lowercased(doc: Document) -> Document:
    """The document with its text lower-cased, where that keeps every offset (else as is)."""
    low = doc.text.lower()
    if len(low) != len(doc.text):
        return doc
    out = doc.with_spans([])
    return replace(out, text=low)


def cell(r: Any) -> dict[str, Any]:
    out = {"precision": round(r.precision, 4), "recall": round(r.recall, 4), "f1": round(r.f1, 4)}
    if r.ci:
        out["f1_ci"] = [round(x, 4) for x in r.ci["f1"]]
    return out


def fmt(c: dict[str, Any]) -> str:
    ci = c.get("f1_ci")
    return f"{c['f1']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def markdown(results: dict[str, Any]) -> str:
    names: list[str] = []
    for by in results["scores"].values():
        names += [n for n in by if n not in names]
    sets = list(results["scores"])
    head = " | ".join(f"{s} strict F1 [95 % CI] | {s} relaxed F1" for s in sets)
    lines = [
        f"Model `{results['model']}`; {results['machine']}; bootstrap {results['bootstrap']}.",
        "",
        f"| idea | {head} |",
        "|---|" + "---:|---:|" * len(sets),
    ]
    for n in names:
        cells = []
        for s in sets:
            row = results["scores"][s].get(n)
            cells += [fmt(row["strict"]), fmt(row["relaxed"])] if row else ["", ""]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
