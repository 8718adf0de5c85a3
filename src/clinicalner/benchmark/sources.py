"""Tagger sources: where a benchmark tagger comes from, what it is fingerprinted by, how it tags.

One :class:`TaggerSource` per configured tagger: a model folder (loaded once, shared by every
dataset), a lexicon (a term list, or built from each dataset's training split), a predictions
file or folder, an LLM endpoint, or a Python object.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clinicalner.benchmark.config import ConfigError, TaggerSpec
from clinicalner.benchmark.datasets import Dataset
from clinicalner.benchmark.fingerprints import (
    digest,
    model_signature,
    path_signature,
    postprocess_defaults,
    public_options,
    slug,
    toolkit_version,
)
from clinicalner.document import Document
from clinicalner.evaluate.splitters import KEYWORDS, REGEX_PREFIX, TokenizerError, token_splitter
from clinicalner.predict import loading

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
            base["version"] = toolkit_version()  # the engine's windows, pooling and decoding
            # The post-processing defaults decide predictions too, and they change between
            # commits of one version (the merge rule did): a run made under others is stale.
            base["postprocess_defaults"] = postprocess_defaults()
        elif spec.kind == "lexicon":
            base["version"] = toolkit_version()
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
            base["version"] = toolkit_version()
        elif spec.kind == "object":
            if spec.fingerprint is None:
                return None
            base["fingerprint"] = spec.fingerprint
        return digest(base)

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
    """``name`` with glob metacharacters escaped (a dataset named ``a[1]``)."""
    return re.sub(r"([*?\[\]])", r"[\1]", name)
