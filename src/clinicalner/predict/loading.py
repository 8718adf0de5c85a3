"""A tagger from a path: one registry of tagger kinds, each recognised by what its folder holds.

A new kind (a GLiNER folder, a served model) is added with :func:`register_tagger_kind`, never
with another branch in a dispatcher: ``predict``, ``ensemble``, the benchmark runner and the
service all load through :func:`load_tagger`. Heavy imports (torch) happen inside a kind's
loader, so importing this module stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TaggerKind:
    """A kind of tagger folder: ``matches`` says whether a path is one, ``load`` builds it."""

    name: str
    matches: Callable[[Path], bool]
    load: Callable[[Path, dict[str, Any]], Any]


_KINDS: list[TaggerKind] = []


def register_tagger_kind(kind: TaggerKind) -> TaggerKind:
    """Add a kind; kinds are tried in the order they were registered, the first match loads."""
    if any(k.name == kind.name for k in _KINDS):
        raise ValueError(f"tagger kind {kind.name!r} is already registered")
    _KINDS.append(kind)
    return kind


def tagger_kinds() -> list[str]:
    """The registered kinds' names, in the order they are tried."""
    return [k.name for k in _KINDS]


def _load_logit_ensemble(path: Path, options: dict[str, Any]) -> Any:
    from clinicalner.predict.logit_ensemble import LogitEnsembleTagger

    spec = json.loads((path / "ensemble.json").read_text(encoding="utf-8"))
    members = [path / m for m in spec.get("models", [])]
    return LogitEnsembleTagger(members, spec.get("weights"), **options)


def _load_model(path: Path, options: dict[str, Any]) -> Any:
    from clinicalner.predict.engine import TransformerTagger

    return TransformerTagger(path, **options)


def _is_text_classifier(path: Path) -> bool:
    from clinicalner.classify.config import is_classifier_folder

    return is_classifier_folder(path)


def _refuse_text_classifier(path: Path, options: dict[str, Any]) -> Any:
    raise ValueError(
        f"{path}: a text classifier (clinicalner classify train), not a span tagger; "
        "use `clinicalner classify predict`"
    )


# Before "model": a classifier folder holds clinicalner.json too.
register_tagger_kind(TaggerKind("text_classifier", _is_text_classifier, _refuse_text_classifier))
register_tagger_kind(
    TaggerKind("logit_ensemble", lambda p: (p / "ensemble.json").is_file(), _load_logit_ensemble)
)
register_tagger_kind(TaggerKind("model", lambda p: (p / "clinicalner.json").is_file(), _load_model))


def load_tagger(
    model: str | Path,
    *,
    device: str = "auto",
    batch_tokens: int | None = None,
    threshold: float = 0.0,
    postprocess: bool | None = None,
    merge_min_ratio: float | None = None,
    quantize: bool = False,
    max_length: int | None = None,
    stride: int | None = None,
    windows: str | None = None,
    precision: str = "auto",
    runtime: str = "auto",
) -> Any:
    """A tagger from a path: a trained model folder, a logit ensemble (a folder holding
    ``ensemble.json``: ``{"models": [...], "weights": [...]}``, paths relative to it), any
    other registered kind, or a lexicon (folder or term-list TSV).

    Options that only a transformer model has (``quantize``, ``max_length``, ``stride``,
    ``windows``, ``postprocess`` and ``batch_tokens`` given at all, a ``device`` or
    ``precision`` other than auto) are an error for a lexicon rather than silently ignored.
    For a model, ``postprocess`` None means on and ``batch_tokens`` None means 8192.
    ``merge_min_ratio`` lets the merge step ask the model before joining two spans across a
    gap (see :class:`~clinicalner.predict.postprocess.PostprocessConfig`); it needs
    post-processing on.
    ``runtime`` (auto, torch, onnx) picks what runs a model's network: ONNX Runtime needs a
    folder written by ``clinicalner export``.
    """
    path = Path(model)
    post: Any = True if postprocess is None else postprocess
    if merge_min_ratio is not None:
        if post is False:
            raise ValueError("merge_min_ratio tunes the post-processing; it cannot go with postprocess off")
        if not merge_min_ratio >= 0:
            raise ValueError(f"merge_min_ratio must be 0 or more, not {merge_min_ratio}")
        from clinicalner.predict.postprocess import PostprocessConfig

        post = PostprocessConfig(merge_min_ratio=merge_min_ratio)
    options: dict[str, Any] = {
        "device": device,
        "batch_tokens": 8192 if batch_tokens is None else batch_tokens,
        "threshold": threshold,
        "postprocess": post,
        "quantize": quantize,
        "max_length": max_length,
        "stride": stride,
        "windows": windows,
        "precision": precision,
        "runtime": runtime,
    }
    if path.is_dir():
        for kind in _KINDS:
            if kind.matches(path):
                return kind.load(path, options)
    return _load_lexicon(
        model,
        path,
        options,
        given={"postprocess": postprocess, "merge_min_ratio": merge_min_ratio, "batch_tokens": batch_tokens},
    )


def _load_lexicon(model: str | Path, path: Path, options: dict[str, Any], given: dict[str, Any]) -> Any:
    """The fallback kind: a lexicon folder or term list, refusing the options it has no use for."""
    from clinicalner.predict.lexicon import CONFIG_FILE, LexiconTagger

    if not path.exists():
        raise FileNotFoundError(f"{model}: no such model folder, lexicon folder or term list")
    if path.is_dir() and not (path / CONFIG_FILE).is_file():
        # Checked before the options: "a lexicon has no device" would mislead for an empty folder.
        raise FileNotFoundError(
            f"{model}: neither a trained model (no clinicalner.json / model.safetensors) nor a lexicon "
            f"(no {CONFIG_FILE}): give a folder written by `clinicalner train` or `clinicalner lexicon`"
        )
    if path.is_dir() or path.suffix.lower() in (".tsv", ".txt"):
        model_only = (
            [n for n in ("quantize", "max_length", "stride", "windows") if options[n] not in (None, False)]
            + [n for n, v in given.items() if v is not None]
            + [n for n in ("device", "precision", "runtime") if options[n] != "auto"]
        )
        if model_only:
            raise ValueError(
                f"{model}: a lexicon has no {', '.join(model_only)} (a transformer-model option)"
            )
        return LexiconTagger.load(path) if path.is_dir() else LexiconTagger.from_tsv(path)
    raise FileNotFoundError(f"{model}: not a clinicalner model folder, a lexicon folder or a term list")
