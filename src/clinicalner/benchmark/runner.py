"""Running taggers over datasets, with a cache so that only what changed runs again.

A run (one tagger on one dataset) is keyed by three fingerprints:

- the tagger's: what decides its predictions (a model folder's files, a lexicon's settings and
  training documents, a predictions file's content, an LLM's endpoint, model and prompt);
- the dataset's: the evaluation documents and labels, content-hashed;
- the scoring's: metrics, labels, bootstrap, token splitter and toolkit version.

``runs/<tagger>/<dataset>.spans.json`` keeps the predictions (offsets and labels only, no note
text) under the first two; ``runs/<tagger>/<dataset>.json`` keeps the scores under all three.
Adding a tagger runs only that tagger; changing a metric rescores from the kept predictions
without tagging again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.benchmark.config import BenchmarkConfig, ConfigError, TaggerSpec
from clinicalner.benchmark.datasets import Dataset
from clinicalner.document import Document, Span

log = logging.getLogger(__name__)

CACHE_VERSION = 1
# Files bigger than this are fingerprinted by size and modification time, not content.
HASH_LIMIT = 1 << 20
# GLiNER's word splitter (the tokens M42 scores GLiNER models on).
GLINER_WORDS = r"\w+(?:[-_]\w+)*|\S"
# Option names whose values never enter a fingerprint or a report.
_SECRET = re.compile(r"(api_?key|token|secret|password)(?!_env)", re.IGNORECASE)
_LEXICON_OPTIONS = {"min_count", "min_length", "across_labels", "backend"}
# Options that change speed, not predictions: left out of fingerprints, so that a run made on a
# GPU is reused on a laptop.
_NEUTRAL_OPTIONS = {"device", "batch_tokens", "concurrency", "timeout", "max_retries", "backoff", "backend"}
_MODEL_OPTIONS = {"device", "batch_tokens", "threshold", "postprocess"}


@dataclass
class RunResult:
    """One tagger on one dataset: scores, timing and what was counted on the way.

    ``scores[metric][label]`` holds ``{"precision", "recall", "f1"}``; label ``""`` is the
    metric over all labels.
    """

    tagger: str
    dataset: str
    key: dict[str, str]
    scores: dict[str, dict[str, dict[str, float]]]
    timing: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    retagged: bool = True

    def get(self, metric: str, label: str | None = None) -> dict[str, float] | None:
        return self.scores.get(metric, {}).get(label or "")

    def f1(self, metric: str, label: str | None = None) -> float | None:
        s = self.get(metric, label)
        return None if s is None else s["f1"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cache_version": CACHE_VERSION,
            "tagger": self.tagger,
            "dataset": self.dataset,
            "key": self.key,
            "scores": self.scores,
            "timing": self.timing,
            "info": self.info,
            "report": self.report,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        return cls(
            data["tagger"],
            data["dataset"],
            dict(data["key"]),
            data["scores"],
            dict(data.get("timing", {})),
            dict(data.get("info", {})),
            dict(data.get("report", {})),
            cached=True,
            retagged=False,
        )


def slug(name: str) -> str:
    """A file-name-safe form of a tagger or dataset name (the name itself stays in the JSON)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    if s == name:
        return s
    # Changed names get a hash of the original so that "a/b" and "a_b" never share files.
    return f"{s or '_'}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_signature(path: Path) -> list[Any]:
    """Content hash for small files (configs, term lists), size + mtime for big ones (weights)."""
    stat = path.stat()
    if stat.st_size <= HASH_LIMIT:
        return [path.name, stat.st_size, hashlib.sha256(path.read_bytes()).hexdigest()]
    return [path.name, stat.st_size, stat.st_mtime_ns]


def path_signature(path: Path) -> list[Any]:
    """Signature of a file, or of every file under a folder (relative names, sorted)."""
    if path.is_file():
        return [file_signature(path)]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    out = []
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        sig = file_signature(f)
        sig[0] = f.relative_to(path).as_posix()
        out.append(sig)
    return out


def public_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if not _SECRET.search(k)}


def _version() -> str:
    from clinicalner import __version__

    return __version__


# ---------------------------------------------------------------------------------------------
# Label mapping of predictions


def map_predictions(
    docs: Iterable[Document], label_map: Mapping[str, str] | None, labels: Sequence[str]
) -> tuple[list[Document], int]:
    """Rename predicted labels to the dataset's and drop spans of other types.

    Without a map, a label equal to a dataset label ignoring case is renamed to it
    (``Condition`` -> ``condition``). Returns the documents and the number of spans dropped.
    """
    wanted = set(labels)
    folded = {label.lower(): label for label in labels}
    dropped = 0
    out = []
    for doc in docs:
        spans: list[Span] = []
        for s in doc.spans:
            label = label_map.get(s.label, s.label) if label_map else s.label
            if label not in wanted:
                label = folded.get(label.lower(), label)
            if label not in wanted:
                dropped += 1
                continue
            spans.append(s if label == s.label else replace(s, label=label))
        out.append(doc.with_spans(spans))
    return out, dropped


def align_to_gold(
    pred: Iterable[Document], gold: Sequence[Document]
) -> tuple[list[Document], dict[str, int]]:
    """Predictions in the order of the gold documents, one per gold document.

    Predicted documents of ids the dataset does not score (a file made before empty documents
    were dropped) are left out and counted; a gold document without prediction gets none.
    """
    by_id: dict[str, list[Span]] = {}
    for doc in pred:
        by_id.setdefault(doc.id, []).extend(doc.spans)
    gold_ids = {d.id for d in gold}
    extra = sum(1 for i in by_id if i not in gold_ids)
    missing = sum(1 for d in gold if d.id not in by_id)
    out = [doc.with_spans(by_id.get(doc.id, [])) for doc in gold]
    return out, {"prediction_documents_ignored": extra, "prediction_documents_missing": missing}


# ---------------------------------------------------------------------------------------------
# Tagger sources


class MissingPredictions(FileNotFoundError):
    """A predictions tagger has no file for a dataset."""


class TaggerSource:
    """Builds the tagger of one spec when (and only when) some dataset needs tagging.

    A model is loaded once and shared by all datasets; a lexicon is built per dataset from
    that dataset's training split; an LLM is built per dataset for its labels.
    """

    def __init__(self, spec: TaggerSpec) -> None:
        self.spec = spec
        self._shared: Any = None
        self.load_seconds = 0.0

    # -- fingerprints ----------------------------------------------------------------------

    def fingerprint(self, dataset: Dataset) -> str | None:
        """None when the tagger's identity cannot be known (a Python object without fingerprint)."""
        spec = self.spec
        base: dict[str, Any] = {
            "kind": spec.kind,
            "label_map": spec.label_map_for(dataset.name),
            "options": {k: v for k, v in public_options(spec.options).items() if k not in _NEUTRAL_OPTIONS},
        }
        if spec.kind == "model":
            assert spec.path is not None
            base["files"] = path_signature(spec.path)
        elif spec.kind == "lexicon":
            base["version"] = _version()
            base["labels"] = list(dataset.labels)
            if spec.path is not None:
                base["terms"] = path_signature(spec.path)
            else:
                base["train"] = dataset.train_fingerprint
        elif spec.kind == "predictions":
            base["format"] = spec.format
            base["files"] = path_signature(self.predictions_path(dataset))
        elif spec.kind == "llm":
            base["labels"] = list(dataset.labels)
            base["version"] = _version()
        elif spec.kind == "object":
            if spec.fingerprint is None:
                return None
            base["fingerprint"] = spec.fingerprint
        return _hash(base)

    def predictions_path(self, dataset: Dataset) -> Path:
        spec = self.spec
        if dataset.name in spec.files:
            path = spec.files[dataset.name]
            if not path.exists():
                raise MissingPredictions(
                    f"tagger {spec.name!r}: {path} (predictions for {dataset.name!r}) not found"
                )
            return path
        if spec.path is None:
            raise MissingPredictions(f"tagger {spec.name!r}: no predictions for dataset {dataset.name!r}")
        if spec.path.is_file():
            return spec.path
        for candidate in (spec.path / dataset.name, spec.path / slug(dataset.name)):
            if candidate.is_dir():
                return candidate
        found = sorted(
            p for p in spec.path.glob(f"{glob_escape(dataset.name)}.*") if not p.name.startswith(".")
        )
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ConfigError(
                f"tagger {spec.name!r}: several prediction files for {dataset.name!r} in {spec.path}: "
                f"{', '.join(p.name for p in found)}; name one with files.{dataset.name} = ..."
            )
        raise MissingPredictions(
            f"tagger {spec.name!r}: no predictions for dataset {dataset.name!r} "
            f"(looked for {spec.path / dataset.name} and {spec.path / dataset.name}.*)"
        )

    # -- tagging ---------------------------------------------------------------------------

    def tagger_for(self, dataset: Dataset) -> Any:
        spec = self.spec
        t0 = time.perf_counter()
        if spec.kind == "object":
            tagger = spec.tagger
        elif spec.kind == "model":
            if self._shared is None:
                from clinicalner.api import load_tagger

                self._check_options(_MODEL_OPTIONS)
                self._shared = load_tagger(spec.path, **spec.options)
                self.load_seconds = time.perf_counter() - t0
            tagger = self._shared
        elif spec.kind == "lexicon":
            from clinicalner.predict.lexicon import LexiconTagger

            self._check_options(_LEXICON_OPTIONS)
            if spec.path is not None:
                if self._shared is None:
                    self._shared = LexiconTagger.load(spec.path, backend=spec.options.get("backend", "auto"))
                tagger = self._shared
            else:
                tagger = LexiconTagger.from_documents(
                    dataset.train, labels=dataset.labels, name=spec.name, **spec.options
                )
            self.load_seconds = time.perf_counter() - t0
        elif spec.kind == "llm":
            try:
                from clinicalner.predict.llm import LLMTagger
            except ImportError as e:  # pragma: no cover - depends on the install
                raise ConfigError(f"tagger {spec.name!r}: the LLM tagger is not available ({e})") from e
            options = dict(spec.options)
            options.setdefault("name", spec.name)
            try:
                tagger = LLMTagger(labels=list(dataset.labels), **options)
            except TypeError as e:
                raise ConfigError(f"tagger {spec.name!r}: {e}") from e
            self.load_seconds = time.perf_counter() - t0
        else:  # pragma: no cover - config checks kinds
            raise ConfigError(f"tagger {spec.name!r}: kind {spec.kind!r} does not tag")
        return tagger

    def _check_options(self, allowed: set[str]) -> None:
        unknown = set(self.spec.options) - allowed
        if unknown:
            raise ConfigError(
                f"tagger {self.spec.name!r} ({self.spec.kind}): unknown option(s) {sorted(unknown)}; "
                f"allowed: {sorted(allowed)}"
            )

    def read_predictions(self, dataset: Dataset) -> list[Document]:
        from clinicalner.io import attach_texts, read_corpus

        path = self.predictions_path(dataset)
        docs = read_corpus(path, self.spec.format).documents
        if any(not d.text for d in docs):
            docs = attach_texts(docs, dataset.eval)
        return docs

    def tokenizer(self, tagger: Any) -> Callable[[str], list[tuple[int, int]]] | str | None:
        """What the token-level metrics split text with (see :class:`TaggerSpec`)."""
        choice = self.spec.tokenize or ("model" if self.spec.kind == "model" else "words")
        if choice == "words":
            return None
        if choice == "gliner":
            return GLINER_WORDS
        if choice.startswith("re:"):
            return choice[3:]
        if choice == "model":
            hf = getattr(tagger, "tokenizer", None) if tagger is not None else self._shared_tokenizer()
            if hf is None:
                return None
            from clinicalner.model.inputs import backend_tokenizer

            return _offsets_of(backend_tokenizer(hf))
        path = Path(choice)
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.is_file():
            raise ConfigError(
                f"tagger {self.spec.name!r}: tokenize = {choice!r} is not words, gliner, model, re:<regex> "
                "or a tokenizer.json"
            )
        from tokenizers import Tokenizer

        return _offsets_of(Tokenizer.from_file(str(path)))

    def _shared_tokenizer(self) -> Any:
        """The model's tokenizer without loading the network (a rescore from cached predictions)."""
        if self.spec.kind != "model" or self.spec.path is None:
            return None
        if self._shared is not None:
            return getattr(self._shared, "tokenizer", None)
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.spec.path))

    def tokenize_name(self) -> str:
        return self.spec.tokenize or ("model" if self.spec.kind == "model" else "words")


def _offsets_of(backend: Any) -> Callable[[str], list[tuple[int, int]]]:
    def model_tokens(text: str) -> list[tuple[int, int]]:
        return [tuple(o) for o in backend.encode(text, add_special_tokens=False).offsets]  # type: ignore[misc]

    return model_tokens


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", name)


# ---------------------------------------------------------------------------------------------
# The runner


class Runner:
    """Runs every tagger on every dataset, reusing cached runs; see the module docstring."""

    def __init__(
        self,
        config: BenchmarkConfig,
        datasets: Sequence[Dataset],
        output: Path,
        *,
        force: bool = False,
        progress: bool = True,
    ) -> None:
        self.config = config
        self.datasets = list(datasets)
        self.output = Path(output)
        self.force = force
        self.progress = progress
        self.sources = {spec.name: TaggerSource(spec) for spec in config.taggers}

    def run_dir(self, tagger: str) -> Path:
        return self.output / "runs" / slug(tagger)

    def scoring_key(self, source: TaggerSource, dataset: Dataset) -> str:
        cfg = self.config
        return _hash(
            {
                "version": _version(),
                "metrics": self.metric_names(),
                "labels": list(dataset.labels),
                "bootstrap": cfg.bootstrap,
                "seed": cfg.seed,
                "mask_unannotated": cfg.mask_unannotated,
                "tokenize": source.tokenize_name(),
            }
        )

    def metric_names(self) -> list[str] | None:
        if self.config.metrics is None:
            return None
        return list(dict.fromkeys([*self.config.metrics, *self.config.leaderboard_metrics]))

    def run(self) -> dict[tuple[str, str], RunResult]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        results: dict[tuple[str, str], RunResult] = {}
        pairs = [(s, d) for s in self.config.taggers for d in self.datasets]
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, disable=not self.progress, transient=False) as bar:
            overall = bar.add_task("benchmark", total=len(pairs))
            for spec, dataset in pairs:
                bar.update(overall, description=f"{spec.name} × {dataset.name}")
                try:
                    result = self.run_one(spec, dataset, bar)
                except MissingPredictions as e:
                    if not self.config.skip_missing:
                        raise
                    log.warning("%s (skipped)", e)
                    bar.advance(overall)
                    continue
                results[(spec.name, dataset.name)] = result
                bar.advance(overall)
        return results

    def run_one(self, spec: TaggerSpec, dataset: Dataset, bar: Any = None) -> RunResult:
        source = self.sources[spec.name]
        tagger_fp = source.fingerprint(dataset)
        key = {
            "tagger": tagger_fp or "uncachable",
            "dataset": dataset.fingerprint,
            "scoring": self.scoring_key(source, dataset),
        }
        run_path = self.run_dir(spec.name) / f"{slug(dataset.name)}.json"
        spans_path = self.run_dir(spec.name) / f"{slug(dataset.name)}.spans.json"
        cachable = tagger_fp is not None and not self.force
        if cachable and run_path.is_file():
            cached = _read_json(run_path)
            if (
                cached is not None
                and cached.get("cache_version") == CACHE_VERSION
                and cached.get("key") == key
            ):
                return RunResult.from_dict(cached)
        predictions: list[Document] | None = None
        timing: dict[str, Any] = {}
        info: dict[str, Any] = {}
        tagger: Any = None
        if cachable and spans_path.is_file():
            predictions, timing, info = self._read_spans(spans_path, key, dataset)
        retagged = predictions is None
        if predictions is None:
            predictions, timing, info, tagger = self._predict(source, dataset, bar)
            self._write_spans(spans_path, key, predictions, timing, info)
        result = self._score(source, tagger, dataset, predictions, key, timing, info)
        result.retagged = retagged
        with atomic_write(run_path) as f:
            json.dump(result.to_dict(), f, indent=1, ensure_ascii=False)
            f.write("\n")
        return result

    # -- predictions -----------------------------------------------------------------------

    def _predict(
        self, source: TaggerSource, dataset: Dataset, bar: Any
    ) -> tuple[list[Document], dict[str, Any], dict[str, Any], Any]:
        spec = source.spec
        info: dict[str, Any] = {"kind": spec.kind}
        tagger = None
        if spec.kind == "predictions":
            t0 = time.perf_counter()
            raw = source.read_predictions(dataset)
            path = source.predictions_path(dataset)
            info["source"] = str(path)
            timing: dict[str, Any] = {"external": True, "read_seconds": round(time.perf_counter() - t0, 4)}
        else:
            tagger = source.tagger_for(dataset)
            raw, timing = self._tag(tagger, dataset, bar)
            timing["load_seconds"] = round(source.load_seconds, 4)
            stats = getattr(tagger, "stats", None)
            if stats is not None and hasattr(stats, "as_dict"):
                info["tagger_stats"] = stats.as_dict()
            if hasattr(tagger, "__len__") and spec.kind == "lexicon":
                info["lexicon_terms"] = len(tagger)
        aligned, counts = align_to_gold(raw, dataset.eval)
        mapped, outside = map_predictions(aligned, spec.label_map_for(dataset.name), dataset.labels)
        info.update(counts)
        info["spans_outside_labels"] = outside
        info["spans"] = sum(len(d.spans) for d in mapped)
        return mapped, timing, info, tagger

    def _tag(self, tagger: Any, dataset: Dataset, bar: Any) -> tuple[list[Document], dict[str, Any]]:
        task = None
        if bar is not None:
            task = bar.add_task(f"  tagging {dataset.name}", total=len(dataset.eval))
        # Tag copies without the gold spans: a tagger must never see the answers.
        inputs = (replace(d, spans=[], metadata=dict(d.metadata)) for d in dataset.eval)
        out: list[Document] = []
        t0 = time.perf_counter()
        for doc in tagger.tag(inputs):
            out.append(doc)
            if task is not None:
                bar.advance(task)
        seconds = time.perf_counter() - t0
        if task is not None:
            bar.remove_task(task)
        chars = sum(len(d.text) for d in dataset.eval)
        timing = {
            "seconds": round(seconds, 4),
            "documents": len(out),
            "characters": chars,
            "documents_per_second": round(len(out) / seconds, 1) if seconds else None,
            "characters_per_second": round(chars / seconds) if seconds else None,
        }
        tokens = getattr(tagger, "tokens_seen", None)
        if isinstance(tokens, int) and tokens:
            timing["tokens"] = tokens
        return out, timing

    def _write_spans(
        self,
        path: Path,
        key: Mapping[str, str],
        docs: Sequence[Document],
        timing: Mapping[str, Any],
        info: Mapping[str, Any],
    ) -> None:
        data = {
            "cache_version": CACHE_VERSION,
            "key": {"tagger": key["tagger"], "dataset": key["dataset"]},
            "timing": dict(timing),
            "info": dict(info),
            "documents": [[d.id, [_span_row(s) for s in d.spans]] for d in docs],
        }
        with atomic_write(path) as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))

    def _read_spans(
        self, path: Path, key: Mapping[str, str], dataset: Dataset
    ) -> tuple[list[Document] | None, dict[str, Any], dict[str, Any]]:
        data = _read_json(path)
        want = {"tagger": key["tagger"], "dataset": key["dataset"]}
        if data is None or data.get("cache_version") != CACHE_VERSION or data.get("key") != want:
            return None, {}, {}
        rows = data["documents"]
        if len(rows) != len(dataset.eval) or any(
            r[0] != d.id for r, d in zip(rows, dataset.eval, strict=True)
        ):
            return None, {}, {}
        docs = [
            d.with_spans(_row_span(r, d.text) for r in spans)
            for (_, spans), d in zip(rows, dataset.eval, strict=True)
        ]
        return docs, dict(data.get("timing", {})), dict(data.get("info", {}))

    # -- scoring ---------------------------------------------------------------------------

    def _score(
        self,
        source: TaggerSource,
        tagger: Any,
        dataset: Dataset,
        predictions: list[Document],
        key: dict[str, str],
        timing: dict[str, Any],
        info: dict[str, Any],
    ) -> RunResult:
        from clinicalner.evaluate import score

        cfg = self.config
        t0 = time.perf_counter()
        report = score(
            dataset.eval,
            predictions,
            metrics=self.metric_names(),
            labels=list(dataset.labels),
            breakdowns=("label",),
            bootstrap=cfg.bootstrap,
            seed=cfg.seed,
            tokenize=source.tokenizer(tagger),
            mask_unannotated=cfg.mask_unannotated,
        )
        scoring_seconds = time.perf_counter() - t0
        scores = extract_scores(report, dataset.labels)
        timing = {**timing, "scoring_seconds": round(scoring_seconds, 4)}
        info = {**info, "tokenize": source.tokenize_name()}
        return RunResult(source.spec.name, dataset.name, key, scores, timing, info, report.to_dict())


def extract_scores(report: Any, labels: Iterable[str]) -> dict[str, dict[str, dict[str, float]]]:
    """P/R/F1 of every metric the report has, overall (``""``) and per label (a label neither
    side has is absent from the report's label breakdown, and so from the result).

    All metrics are kept, not only the leaderboard's, so that another ``rank_by`` or
    ``compare`` reuses cached runs as they are.
    """
    per_label = report.breakdowns.get("label", {})
    out: dict[str, dict[str, dict[str, float]]] = {}
    for metric, overall in report.metrics.items():
        found = [("", overall)]
        found += [(label, per_label[label][metric]) for label in labels if metric in per_label.get(label, {})]
        out[metric] = {
            label: {"precision": float(m.precision), "recall": float(m.recall), "f1": float(m.f1)}
            for label, m in found
        }
    return out


def _span_row(s: Span) -> list[Any]:
    row: list[Any] = [s.start, s.end, s.label]
    if s.score is not None or s.fragments:
        row.append(s.score)
    if s.fragments:
        row.append([list(f) for f in s.fragments])
    return row


def _row_span(row: Sequence[Any], text: str) -> Span:
    start, end, label = int(row[0]), int(row[1]), str(row[2])
    score = row[3] if len(row) > 3 else None
    fragments = tuple((int(a), int(b)) for a, b in row[4]) if len(row) > 4 and row[4] else None
    return Span(start, end, label, "", score, fragments).with_text(text)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
