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
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.benchmark.config import BenchmarkConfig, ConfigError, TaggerSpec
from clinicalner.benchmark.datasets import Dataset
from clinicalner.document import Document, Span
from clinicalner.evaluate.splitters import GLINER_WORDS as GLINER_WORDS  # re-exported
from clinicalner.evaluate.splitters import KEYWORDS, REGEX_PREFIX, TokenizerError, token_splitter
from clinicalner.predict import loading
from clinicalner.predict.stream import distinct_texts, tag_distinct, widened_labels

log = logging.getLogger(__name__)

CACHE_VERSION = 2
GOLD_DIR = "_gold"  # runs/_gold/<dataset>.jsonl: the exported gold, shared by every tagger
# Files bigger than this are fingerprinted by size and modification time, not content.
HASH_LIMIT = 1 << 20
# Option names whose values never enter a fingerprint or a report: a name is cut at "_" and "-"
# and hidden when a piece is one of these (hf_token, access_token, api-key), so that max_tokens
# (which changes an LLM's answers) is not taken for a secret. A name ending in "env" (api_key_env)
# names the environment variable that holds the secret, not the secret: it stays.
_SECRET_PARTS = frozenset({"key", "apikey", "token", "password", "secret", "authorization"})
_PARTS = re.compile(r"[_-]+")
_LEXICON_OPTIONS = {"min_count", "min_length", "across_labels", "backend"}
_TERM_LIST_OPTIONS = {"across_labels", "backend"}
# Options that change speed, not predictions: left out of fingerprints, so that a run made on a
# GPU is reused on a laptop.
_NEUTRAL_OPTIONS = {"device", "batch_tokens", "concurrency", "timeout", "max_retries", "backoff", "backend"}
_MODEL_OPTIONS = {
    "device",
    "batch_tokens",
    "threshold",
    "postprocess",
    "max_length",
    "stride",
    "windows",
    "precision",
    "quantize",
}


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


def model_signature(path: Path) -> list[Any]:
    """:func:`path_signature` of a model folder, and of every member a logit ensemble's
    ``ensemble.json`` names (members usually live beside the ensemble folder, not in it)."""
    out: list[Any] = []
    seen: set[Path] = set()
    todo = [path]
    while todo:
        p = todo.pop(0)
        if p.resolve() in seen:
            continue
        seen.add(p.resolve())
        out.append([os.path.relpath(p, path), path_signature(p)])
        spec = _read_json(p / "ensemble.json") if p.is_dir() else None
        if spec is not None and isinstance(spec.get("models"), list):
            todo += [p / str(m) for m in spec["models"]]
    return out


def is_secret(name: str) -> bool:
    """Whether an option's value must stay out of fingerprints and reports (see _SECRET_PARTS)."""
    parts = [p for p in _PARTS.split(str(name).lower()) if p]
    return bool(parts) and parts[-1] != "env" and not _SECRET_PARTS.isdisjoint(parts)


def public_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if not is_secret(k)}


def _postprocess_defaults() -> dict[str, Any]:
    import dataclasses

    from clinicalner.predict.postprocess import PostprocessConfig

    return dataclasses.asdict(PostprocessConfig())


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

    A many-to-one map (``DISEASE`` and ``SYMPTOM`` -> ``condition``) turns one mention that two
    heads found into two identical spans; they are merged into one (the higher score kept, at
    the place of the first), because nervaluate 0.1.8, M42's span metric, counts every copy as
    another correct prediction. Merged copies are not counted in the returned number; see
    :func:`map_predictions_counted` for both counts.
    """
    out, counts = map_predictions_counted(docs, label_map, labels)
    return out, counts["spans_outside_labels"]


def map_predictions_counted(
    docs: Iterable[Document], label_map: Mapping[str, str] | None, labels: Sequence[str]
) -> tuple[list[Document], dict[str, Any]]:
    """:func:`map_predictions` with the counts of spans dropped (``spans_outside_labels``) and of
    duplicates merged (``duplicate_spans_merged``).

    When spans were dropped, ``labels_outside`` counts them per predicted label (``"DISEASE"``,
    or ``"DISEASE->condition"`` when the map renamed it to a label the dataset lacks): the
    leaderboard's notes name them, since a wrong map can silently throw most spans away."""
    wanted = set(labels)
    folded = {label.lower(): label for label in labels}
    dropped = duplicates = 0
    outside: Counter[str] = Counter()
    out = []
    for doc in docs:
        kept: dict[tuple[int, int, str, Any], Span] = {}
        for s in doc.spans:
            label = label_map.get(s.label, s.label) if label_map else s.label
            if label not in wanted:
                label = folded.get(label.lower(), label)
            if label not in wanted:
                dropped += 1
                outside[s.label if label == s.label else f"{s.label}->{label}"] += 1
                continue
            span = s if label == s.label else replace(s, label=label)
            key = (span.start, span.end, label, span.fragments)
            first = kept.get(key)
            if first is None:
                kept[key] = span
                continue
            duplicates += 1
            if (span.score or 0.0) > (first.score or 0.0) or (first.score is None and span.score is not None):
                kept[key] = span  # dict keeps the first one's position
        out.append(doc.with_spans(kept.values()))
    counts: dict[str, Any] = {"spans_outside_labels": dropped, "duplicate_spans_merged": duplicates}
    if outside:
        counts["labels_outside"] = dict(outside.most_common())
    return out, counts


def align_to_gold(
    pred: Iterable[Document], gold: Sequence[Document]
) -> tuple[list[Document], dict[str, int]]:
    """Predictions in the order of the gold documents, one per gold document.

    A predicted document is paired with the gold document of the same id in the same folder:
    the MultiClinAI release keeps every note once per entity-type folder under one id, and each
    copy must get its own folder's predictions, not those of all three. Predictions without a
    folder (a JSONL file) go to every gold copy of their id; when folders exist on both sides
    but none matches, the id's predictions of all folders are pooled. Predicted documents of
    ids the dataset does not score (a file made before empty documents were dropped) are left
    out and counted; a gold document without prediction gets none.
    """
    by_key: dict[tuple[str | None, str], list[Span]] = {}
    by_id: dict[str, list[Span]] = {}
    for doc in pred:
        by_key.setdefault((doc.metadata.get("folder"), doc.id), []).extend(doc.spans)
        by_id.setdefault(doc.id, []).extend(doc.spans)
    gold_ids = {d.id for d in gold}
    extra = sum(1 for i in by_id if i not in gold_ids)
    missing = sum(1 for d in gold if d.id not in by_id)
    out = []
    for doc in gold:
        spans = by_key.get((doc.metadata.get("folder"), doc.id))
        if spans is None:
            spans = by_key.get((None, doc.id))
        if spans is None:
            spans = by_id.get(doc.id, [])
        out.append(doc.with_spans(spans))
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
            base["files"] = model_signature(spec.path)
            base["version"] = _version()  # the engine's windows, pooling and decoding
            # The post-processing defaults decide predictions too, and they change between
            # commits of one version (the merge rule did): a run made under others is stale.
            base["postprocess_defaults"] = _postprocess_defaults()
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
                self.check_options()
                self._shared = loading.load_tagger(spec.path, **spec.options)
                self.load_seconds = time.perf_counter() - t0
            tagger = self._shared
        elif spec.kind == "lexicon":
            from clinicalner.predict.lexicon import LexiconTagger

            self.check_options()
            if spec.path is not None:
                if self._shared is None:
                    self._shared = LexiconTagger.load(
                        spec.path,
                        backend=spec.options.get("backend", "auto"),
                        across_labels=spec.options.get("across_labels"),
                    )
                tagger = self._shared
            else:
                tagger = LexiconTagger.from_documents(
                    dataset.train, labels=dataset.labels, name=spec.name, **spec.options
                )
            self.load_seconds = time.perf_counter() - t0
        elif spec.kind == "llm":
            tagger = self._llm(dataset.labels)
            self.load_seconds = time.perf_counter() - t0
        else:  # pragma: no cover - config checks kinds
            raise ConfigError(f"tagger {spec.name!r}: kind {spec.kind!r} does not tag")
        return tagger

    def check_options(self, labels: Sequence[str] = ("X",)) -> None:
        """Refuse options this kind of tagger does not take, before any tagger runs.

        An LLM tagger is built (no request is sent) with ``labels`` to let its constructor
        check every option and value.
        """
        spec = self.spec
        allowed = {
            "model": _MODEL_OPTIONS,
            "lexicon": _TERM_LIST_OPTIONS if spec.path is not None else _LEXICON_OPTIONS,
        }.get(spec.kind)
        if allowed is not None:
            unknown = set(spec.options) - allowed
            if unknown:
                what = "term-list lexicon" if spec.kind == "lexicon" and spec.path is not None else spec.kind
                raise ConfigError(
                    f"tagger {spec.name!r} ({what}): unknown option(s) {sorted(unknown)}; "
                    f"allowed: {sorted(allowed)}"
                )
        if spec.kind == "llm":
            self._llm(labels)
        if spec.tokenize is not None and spec.tokenize != "model":
            # a bad regex, a tokenizer file or folder that does not load, a typo fail here
            self.tokenizer(None)

    def _llm(self, labels: Sequence[str]) -> Any:
        try:
            from clinicalner.predict.llm import LLMTagger
        except ImportError as e:  # pragma: no cover - depends on the install
            raise ConfigError(f"tagger {self.spec.name!r}: the LLM tagger is not available ({e})") from e
        options = dict(self.spec.options)
        options.setdefault("name", self.spec.name)
        try:
            return LLMTagger(labels=list(labels), **options)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"tagger {self.spec.name!r}: {e}") from e

    def read_predictions(self, dataset: Dataset) -> list[Document]:
        from clinicalner.io import attach_texts, read_corpus

        path = self.predictions_path(dataset)
        docs = read_corpus(path, self.spec.format).documents
        if any(not d.text for d in docs):
            docs = attach_texts(docs, dataset.eval)
        return docs

    def tokenizer(self, tagger: Any) -> Callable[[str], list[tuple[int, int]]] | str | None:
        """What the token-level metrics split text with (see :class:`TaggerSpec`).

        Resolved by :func:`clinicalner.evaluate.splitters.token_splitter`, the function behind
        ``clinicalner evaluate --tokenizer`` too, so that a run can be scored again from the
        files it writes (see :meth:`evaluate_tokenizer`).
        """
        choice = self.tokenize_name()
        try:
            if choice != "model":
                return token_splitter(choice)
            hf = getattr(tagger, "tokenizer", None) if tagger is not None else None
            if hf is None and self._shared is not None:
                hf = getattr(self._shared, "tokenizer", None)
            if hf is not None:
                return token_splitter("model", model=hf)
            if self.spec.kind == "model" and self.spec.path is not None:
                # A rescore from cached predictions: the tokenizer alone, not the network.
                return token_splitter(self.spec.path)
            raise TokenizerError("this tagger has no tokenizer of its own; name a tokenizer.json or folder")
        except TokenizerError as e:
            raise ConfigError(f"tagger {self.spec.name!r}: tokenize = {choice!r}: {e}") from None

    def tokenize_name(self) -> str:
        return self.spec.tokenize or ("model" if self.spec.kind == "model" else "words")

    def evaluate_tokenizer(self) -> str | None:
        """The ``clinicalner evaluate --tokenizer`` value that scores like this tagger's runs
        (None: the default words, or a Python tagger object whose tokenizer has no name)."""
        choice = self.tokenize_name()
        if choice == "words":
            return None
        if choice == "model":
            if self.spec.kind == "model" and self.spec.path is not None:
                return str(self.spec.path.resolve())  # the command runs in the results folder
            return None
        if choice not in KEYWORDS and not choice.startswith(REGEX_PREFIX) and Path(choice).exists():
            return str(Path(choice).resolve())
        return choice


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
        self._gold_exported: set[str] = set()  # datasets whose gold this run has written

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

    def validate(self) -> None:
        """Every tagger's options and files checked before any tagger runs: a typo in the last
        tagger must not cost the hour the first ones take."""
        for spec in self.config.taggers:
            source = self.sources[spec.name]
            if spec.kind == "model":
                if spec.path is None:
                    raise ConfigError(f"tagger {spec.name!r}: a model tagger needs 'path'")
                if not (
                    (spec.path / "clinicalner.json").is_file() or (spec.path / "ensemble.json").is_file()
                ):
                    raise ConfigError(
                        f"tagger {spec.name!r}: {spec.path} is not a model folder (no clinicalner.json "
                        "or ensemble.json)"
                    )
            if spec.kind == "lexicon" and spec.path is not None and not spec.path.exists():
                raise ConfigError(f"tagger {spec.name!r}: term list {spec.path} not found")
            if spec.kind == "llm":
                for dataset in self.datasets:  # the label set is the dataset's
                    source.check_options(dataset.labels)
            else:
                source.check_options()

    def run(self) -> dict[tuple[str, str], RunResult]:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.validate()
        results: dict[tuple[str, str], RunResult] = {}
        pairs = [(s, d) for s in self.config.taggers for d in self.datasets]
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        # Progress on stderr: stdout carries the leaderboard (`benchmark cfg > lb.md`).
        console = Console(stderr=True)
        with Progress(*columns, console=console, disable=not self.progress, transient=False) as bar:
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
        gold_path, pred_path = self.export_paths(spec.name, dataset.name)
        export = self.config.export
        if export:
            self._export_gold(dataset, gold_path)
        command = self.evaluate_command(source, dataset)
        cachable = tagger_fp is not None and not self.force
        if cachable and run_path.is_file() and (not export or pred_path.is_file()):
            cached = _read_json(run_path)
            if (
                cached is not None
                and cached.get("cache_version") == CACHE_VERSION
                and cached.get("key") == key
                # a run recorded with another command (an older file layout) is rescored
                and (cached.get("info") or {}).get("evaluate_command") == command
            ):
                return RunResult.from_dict(cached)
        predictions: list[Document] | None = None
        timing: dict[str, Any] = {}
        info: dict[str, Any] = {}
        tagger: Any = None
        if cachable and spans_path.is_file():
            predictions, timing, info = self._read_spans(spans_path, key, dataset)
        retagged = predictions is None
        complete = True
        if predictions is None:
            predictions, timing, info, tagger = self._predict(source, dataset, bar)
            failed = int((info.get("tagger_stats") or {}).get("failed_chunks") or 0)
            complete = failed == 0
            if complete:
                self._write_spans(spans_path, key, predictions, timing, info)
            else:
                # Chunks given up (an LLM with on_error="skip"): scored as they are, but never
                # reused as if complete: the next run asks again.
                info["incomplete"] = f"{failed} chunk(s) failed and were skipped"
                log.warning("%s × %s: %s; the run is not cached", spec.name, dataset.name, info["incomplete"])
        result = self._score(source, tagger, dataset, predictions, key, timing, info)
        result.retagged = retagged
        if not complete:
            result.key = {**key, "complete": "no"}  # never equal to a run's key: not a cache hit
        if export:
            self._export_predictions(predictions, pred_path)
            # the copy of the gold this tagger's folder held before the gold moved to runs/_gold/
            pred_path.with_name(f"{slug(dataset.name)}.gold.jsonl").unlink(missing_ok=True)
        result.info["evaluate_command"] = command
        if not export:
            result.info["evaluate_note"] = (
                "export = true writes the files this command reads (they hold note text)"
            )
        elif source.tokenize_name() == "model" and source.evaluate_tokenizer() is None:
            result.info["evaluate_note"] = (
                "token metrics used the tagger object's own tokenizer, which has no name for --tokenizer"
            )
        with atomic_write(run_path) as f:
            json.dump(result.to_dict(), f, indent=1, ensure_ascii=False)
            f.write("\n")
        return result

    # -- files that ``clinicalner evaluate`` reads -----------------------------------------

    def export_paths(self, tagger: str, dataset: str) -> tuple[Path, Path]:
        """``runs/_gold/<dataset>.jsonl`` and ``runs/<tagger>/<dataset>.pred.jsonl``: what
        ``clinicalner evaluate`` reads to score as a run was scored (written with ``export = true``).

        The gold is the same for every tagger, so it is written once per dataset; ``_gold`` can
        never be a tagger's folder (:func:`slug` strips a leading underscore).
        """
        return (
            self.output / "runs" / GOLD_DIR / f"{slug(dataset)}.jsonl",
            self.run_dir(tagger) / f"{slug(dataset)}.pred.jsonl",
        )

    def evaluate_command(self, source: TaggerSource, dataset: Dataset) -> str:
        """The ``clinicalner evaluate`` command, run from the results folder, that scores the
        exported files of this run to the same numbers."""
        import shlex

        rel = [
            p.relative_to(self.output).as_posix() for p in self.export_paths(source.spec.name, dataset.name)
        ]
        return shlex.join(["clinicalner", "evaluate", *rel, *self.evaluate_args(source, dataset)])

    def evaluate_args(self, source: TaggerSource, dataset: Dataset) -> list[str]:
        """The options of ``clinicalner evaluate`` that score as this run was scored."""
        cfg = self.config
        args: list[str] = []
        for label in dataset.labels:
            args += ["-l", label]
        for metric in self.metric_names() or []:
            args += ["-m", metric]
        tokenizer = source.evaluate_tokenizer()
        if tokenizer is not None:
            args += ["--tokenizer", tokenizer]
        if cfg.bootstrap:
            args += ["--bootstrap", str(cfg.bootstrap), "--seed", str(cfg.seed)]
        if not cfg.mask_unannotated:
            args.append("--no-mask-unannotated")
        return args

    def _export_gold(self, dataset: Dataset, path: Path) -> None:
        """The scored gold (after the dataset's label mapping) as JSONL, once per dataset and
        benchmark run: it holds note text, as the corpus does, so it is opt-in (``export``)."""
        if dataset.name in self._gold_exported:
            return
        from clinicalner.io import write_corpus

        write_corpus(dataset.eval, path, "jsonl")
        self._gold_exported.add(dataset.name)

    def _export_predictions(self, predictions: Sequence[Document], path: Path) -> None:
        """The scored predictions (mapped and aligned) as JSONL; they hold the note text too."""
        from clinicalner.io import write_corpus

        write_corpus(predictions, path, "jsonl")

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
        mapped, mapped_counts = map_predictions_counted(
            aligned, spec.label_map_for(dataset.name), dataset.labels
        )
        if spec.kind != "predictions":
            # Copies tagged once (distinct_texts) each keep what their own tagging gave: not the
            # types asked for the other copies (false positives with mask_unannotated = false).
            mapped = [
                d.with_spans([s for s in d.spans if s.label not in extra]) if extra else d
                for d, extra in zip(mapped, widened_labels(dataset.eval), strict=True)
            ]
        info.update(counts)
        info.update(mapped_counts)
        info["spans"] = sum(len(d.spans) for d in mapped)
        return mapped, timing, info, tagger

    def _tag(self, tagger: Any, dataset: Dataset, bar: Any) -> tuple[list[Document], dict[str, Any]]:
        # Tag copies without the gold spans: a tagger must never see the answers. Each distinct
        # text once: MultiClinAI holds every note once per type folder.
        inputs = [replace(d, spans=[], metadata=dict(d.metadata)) for d in dataset.eval]
        task = None
        if bar is not None:
            task = bar.add_task(f"  tagging {dataset.name}", total=len(distinct_texts(inputs)[0]))
        t0 = time.perf_counter()
        out, unique = tag_distinct(tagger, inputs, None if task is None else lambda: bar.advance(task))
        seconds = time.perf_counter() - t0
        if task is not None:
            bar.remove_task(task)
        chars = sum(len(d.text) for d in unique)
        timing = {
            "seconds": round(seconds, 4),
            "documents": len(unique),
            "characters": chars,
            "documents_per_second": round(len(unique) / seconds, 1) if seconds else None,
            "characters_per_second": round(chars / seconds) if seconds else None,
        }
        if len(unique) != len(inputs):
            timing["document_copies"] = len(inputs)
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
    ``compare`` reuses cached runs as they are. A metric the data cannot give (the token
    metrics on gold without texts: ``not_computable``, NaN numbers) is left out: NaN is not
    JSON and would poison every mean; the leaderboard shows it as n/a.
    """
    per_label = report.breakdowns.get("label", {})
    out: dict[str, dict[str, dict[str, float]]] = {}
    for metric, overall in report.metrics.items():
        if not overall.computable:
            continue
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
