"""Transfer to Italian and Romanian: a model trained on Spanish and English, scored on E3C and
SiMoNERo, beside a lexicon tagger built from the same training spans and the model's own
Spanish dev score; plus tagging speed per language.

For each model given (``name=path`` or a path) and for the lexicon baseline:

- **e3c-it** (E3C layer 1, Italian, 36 case reports, UIMA XMI): gold CLINENTITY = disorders
  and symptoms, so predictions are mapped ``DISEASE=CLINENTITY SYMPTOM=CLINENTITY
  PROCEDURE=`` (E3C has no procedures: those predictions are dropped, not counted wrong).
- **simonero-ro** (SiMoNERo dev, Romanian, 443 sentences, CoNLL-U): ``DISEASE=DISO
  SYMPTOM=DISO PROCEDURE=PROC``; its ANAT and CHEM cannot be produced and are not scored
  (the report names them). Orphan ``I-`` tags start spans (the reader's default).
- **Spanish dev** (``spaccc-es/dev``, and ``multiclinai-en-es/es/dev`` with its per-type
  masking): the model's own labels, no mapping.

Scores are strict and relaxed F1 per (mapped) type and micro over types, with 95 % bootstrap
intervals over documents (``--bootstrap``; the dev sets are small, the intervals are wide:
read them before reading a difference). They are computed by ``clinicalner evaluate`` itself
(``api.evaluate`` on the predictions written as JSONL), so every number can be redone with the
CLI: the exact commands are written into ``results.md``.

The lexicon tagger (``--no-lexicon`` skips it) holds every mention annotated in the training
sets (``spaccc-es/train``, ``multiclinai-en-es/{es,en}/train``) seen at least
``--lexicon-min-count`` times, matched case- and accent-insensitively: the cross-lingual floor
a model must beat (Italian and Romanian share many Latin/Greek medical terms with Spanish).

Speed: per evaluation set, documents, words (the toolkit's word splitter), subwords (the
model's tokenizer), subwords per word, and tagging throughput in words/s, from the wall time
of tagging alone (reading and scoring excluded). On a shared or busy machine say so beside
the numbers.

Run (CPU, about 10 minutes for multilingual-e5-small on 2 cores):
  python benchmarks/bench_languages.py path/to/model --output benchmarks/out/languages
  python benchmarks/bench_languages.py before=m0 after=m1 --bootstrap 1000 --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinicalner import api
from clinicalner.document import Document
from clinicalner.io import read_corpus, write_corpus
from clinicalner.text.words import word_spans

SOURCE_LABEL_MAP = {
    "e3c-it": ["DISEASE=CLINENTITY", "SYMPTOM=CLINENTITY", "PROCEDURE="],
    "simonero-ro": ["DISEASE=DISO", "SYMPTOM=DISO", "PROCEDURE=PROC"],
}
LEXICON_TRAIN = ("spaccc-es/train", "multiclinai-en-es/es/train", "multiclinai-en-es/en/train")


@dataclass
class EvalSet:
    """One evaluation set: where its gold is, its language, and the label map it needs."""

    name: str
    path: Path
    language: str
    label_map: list[str] = field(default_factory=list)
    role: str = "transfer"  # or "source" (the model's own language and labels)


def eval_sets(corpora: Path, spanish: list[str]) -> list[EvalSet]:
    wanted = [
        EvalSet("e3c-it", corpora / "e3c-it", "it", SOURCE_LABEL_MAP["e3c-it"]),
        EvalSet("simonero-ro", corpora / "simonero-ro", "ro", SOURCE_LABEL_MAP["simonero-ro"]),
    ]
    if "spaccc" in spanish:
        wanted.append(EvalSet("spaccc-es-dev", corpora / "spaccc-es" / "dev", "es", role="source"))
    if "multiclinai" in spanish:
        wanted.append(
            EvalSet("multiclinai-es-dev", corpora / "multiclinai-en-es" / "es" / "dev", "es", role="source")
        )
    missing = [s.name for s in wanted if not s.path.exists()]
    if missing:
        print(f"skipped (not in {corpora}): {', '.join(missing)}")
    return [s for s in wanted if s.path.exists()]


def build_lexicon(corpora: Path, min_count: int) -> Any:
    from clinicalner.predict.lexicon import LexiconTagger

    docs: list[Document] = []
    for rel in LEXICON_TRAIN:
        if (corpora / rel).exists():
            docs.extend(read_corpus(corpora / rel).documents)
    if not docs:
        raise SystemExit(f"no training corpus for the lexicon under {corpora} ({', '.join(LEXICON_TRAIN)})")
    return LexiconTagger.from_documents(docs, min_count=min_count, name="lexicon-es-en")


def subword_counts(tagger: Any, docs: list[Document]) -> int | None:
    """Subwords of the texts under the model's own tokenizer (None for a tagger without one)."""
    tokenizer = getattr(tagger, "tokenizer", None)
    if tokenizer is None:
        return None
    from clinicalner.model.inputs import backend_tokenizer

    backend = backend_tokenizer(tokenizer)
    return sum(len(e.ids) for e in backend.encode_batch([d.text for d in docs], add_special_tokens=False))


def tag_set(tagger: Any, es: EvalSet, out: Path) -> dict[str, Any]:
    """Tag one set (timed), write the predictions as JSONL, return the speed figures."""
    from clinicalner.predict.stream import tag_stream

    gold = read_corpus(es.path).documents
    # the language helps sentence splitting; the predictions keep the gold's (pairing is by it)
    inputs = [d.with_spans([]) for d in gold]
    for d in inputs:
        d.language = d.language or es.language
    t0 = time.perf_counter()
    tagged = list(tag_stream(tagger, inputs, restrict_labels=False))
    seconds = time.perf_counter() - t0
    for g, p in zip(gold, tagged, strict=True):
        p.language = g.language
    write_corpus(tagged, out, "jsonl")
    distinct = list({d.text: d for d in gold}.values())  # tag_stream tags each text once
    words = sum(len(word_spans(d.text, es.language)) for d in distinct)
    subwords = subword_counts(tagger, distinct)
    return {
        "documents": len(gold),
        "distinct_texts": len(distinct),
        "words": words,
        "subwords": subwords,
        "subwords_per_word": round(subwords / words, 3) if subwords else None,
        "seconds": round(seconds, 3),
        "words_per_second": round(words / seconds, 1) if seconds > 0 else None,
        "subwords_per_second": round(subwords / seconds, 1) if subwords and seconds > 0 else None,
        "predicted_spans": sum(len(d.spans) for d in tagged),
    }


def score_set(es: EvalSet, pred: Path, bootstrap: int, seed: int) -> dict[str, Any]:
    """Strict and relaxed F1 (micro and per type) with bootstrap intervals, via api.evaluate."""
    report = api.evaluate(
        es.path,
        pred,
        metrics=["strict", "relaxed"],
        breakdowns=("label",),
        bootstrap=bootstrap,
        seed=seed,
        label_map=es.label_map or None,
    )

    def cell(r: Any) -> dict[str, Any]:
        out = {"precision": round(r.precision, 4), "recall": round(r.recall, 4), "f1": round(r.f1, 4)}
        if r.ci:
            out["f1_ci"] = [round(x, 4) for x in r.ci["f1"]]
        return out

    result: dict[str, Any] = {
        "labels": list(report.labels),
        "micro": {m: cell(report.metric(m)) for m in ("strict", "relaxed")},
        "per_label": {
            lab: {m: cell(report.breakdown("label", lab, m)) for m in ("strict", "relaxed")}
            | {"gold": report.sizes["label"][lab].get("gold", 0)}
            for lab in report.labels
        },
        "warnings": list(report.warnings),
        "stats": {k: v for k, v in report.stats.items() if isinstance(v, int)},
    }
    return result


def _f1(c: dict[str, Any]) -> str:
    ci = c.get("f1_ci")
    return f"{c['f1']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Transfer to Italian and Romanian",
        "",
        f"Machine: {results['machine']}. Bootstrap: {results['bootstrap']} resamples over documents "
        "(95 % intervals in brackets).",
        "",
        "| set | tagger | type | gold | strict P | strict R | strict F1 | relaxed F1 |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for set_name, by_tagger in results["scores"].items():
        for tagger, s in by_tagger.items():
            rows = [("all (micro)", s["micro"], sum(v["gold"] for v in s["per_label"].values()))]
            rows += [(lab, v, v["gold"]) for lab, v in s["per_label"].items()]
            for lab, v, n in rows:
                st, rl = v["strict"], v["relaxed"]
                lines.append(
                    f"| {set_name} | {tagger} | {lab} | {n} | {st['precision']:.3f} | {st['recall']:.3f} "
                    f"| {_f1(st)} | {_f1(rl)} |"
                )
    lines += [
        "",
        "## Tagging speed per language",
        "",
        "| set | tagger | documents | words | subwords | subwords/word | seconds | words/s | subwords/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for set_name, by_tagger in results["speed"].items():
        for tagger, v in by_tagger.items():
            sw = v["subwords"] if v["subwords"] is not None else "n/a"
            spw = v["subwords_per_word"] if v["subwords_per_word"] is not None else "n/a"
            lines.append(
                f"| {set_name} | {tagger} | {v['distinct_texts']} | {v['words']} | {sw} | {spw} "
                f"| {v['seconds']} | {v['words_per_second']} | {v['subwords_per_second'] or 'n/a'} |"
            )
    lines += ["", "## Notes", ""]
    for set_name, by_tagger in results["scores"].items():
        for tagger, s in by_tagger.items():
            lines += [f"- {set_name} / {tagger}: {w}" for w in s["warnings"]]
    lines += ["", "## Reproduce one score with the CLI", ""]
    lines += [f"    {c}" for c in results["commands"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="*", help="model folders, as PATH or NAME=PATH")
    parser.add_argument(
        "--corpora", type=Path, default=Path(os.environ.get("CLINICALNER_CORPORA", "../shared/corpora"))
    )
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/languages"))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--spanish", default="spaccc,multiclinai", help="Spanish dev sets: spaccc, multiclinai"
    )
    parser.add_argument("--no-lexicon", action="store_true", help="skip the lexicon baseline")
    parser.add_argument("--lexicon-min-count", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2, help="torch threads on CPU")
    parser.add_argument(
        "--windows",
        action="append",
        default=[],
        metavar="NAME=MODE",
        help="tag model NAME with these windows (sentence, one-sentence, sliding) instead of its own; "
        "a tagging-time idea of issue 14 (e.g. after=m --windows after=one-sentence)",
    )
    args = parser.parse_args()
    if not args.models and args.no_lexicon:
        parser.error("nothing to run: give a model, or leave the lexicon on")

    sets = eval_sets(args.corpora, [s.strip() for s in args.spanish.split(",") if s.strip()])
    taggers: dict[str, Any] = {}
    windows = dict(w.split("=", 1) for w in args.windows)
    for spec in args.models:
        name, sep, path = spec.partition("=")
        name, path = (name, path) if sep else (Path(spec).name, spec)
        import torch

        torch.set_num_threads(args.threads)
        taggers[name] = api.load_tagger(path, device=args.device, windows=windows.get(name))
    if not args.no_lexicon:
        t0 = time.perf_counter()
        taggers["lexicon-es-en"] = build_lexicon(args.corpora, args.lexicon_min_count)
        print(f"lexicon: {len(taggers['lexicon-es-en'])} terms in {time.perf_counter() - t0:.1f} s")

    args.output.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, device {args.device}",
        "bootstrap": args.bootstrap,
        "models": {n: s for n, s in zip(list(taggers), args.models, strict=False)},
        "scores": {},
        "speed": {},
        "commands": [],
    }
    for es in sets:
        for name, tagger in taggers.items():
            pred = args.output / name / f"{es.name}.jsonl"
            speed = tag_set(tagger, es, pred)
            scores = score_set(es, pred, args.bootstrap, args.seed)
            results["speed"].setdefault(es.name, {})[name] = speed
            results["scores"].setdefault(es.name, {})[name] = scores
            micro = scores["micro"]["strict"]["f1"]
            print(f"{es.name:20} {name:20} strict F1 {micro:.3f}  {speed['words_per_second']} words/s")
        example = next(iter(taggers))
        maps = " ".join(f"--label-map {m}" for m in es.label_map)
        results["commands"].append(
            f"clinicalner evaluate {es.path} {args.output / example / (es.name + '.jsonl')} "
            f"-m strict -m relaxed --bootstrap {args.bootstrap} {maps}".rstrip()
        )
    (args.output / "results.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (args.output / "results.md").write_text(markdown(results), encoding="utf-8")
    print(f"wrote {args.output / 'results.md'} and results.json")


if __name__ == "__main__":
    main()
