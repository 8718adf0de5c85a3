"""What the token-level metrics cut text into, named the same way everywhere.

A benchmark tagger's ``tokenize`` and ``clinicalner evaluate --tokenizer`` take the same names
and are resolved here, by one function, so that a leaderboard cell can be scored again with
``clinicalner evaluate`` and give the same number (M42 scores each model on its own sub-word
tokens, so the token metrics depend on this choice):

- ``words`` (or None): the toolkit's word splitter (the evaluator's default);
- ``gliner``: GLiNER's word regex;
- ``re:<regex>``: every match of the regex is a token;
- a ``tokenizer.json`` file;
- a folder: a model written by ``clinicalner train`` or any Hugging Face tokenizer folder
  (loaded as the model tagger loads it), a logit-ensemble folder (its first member's tokenizer:
  members share one), or a folder holding only a ``tokenizer.json``;
- any other name: a Hugging Face hub id (needs ``transformers``, and the network unless cached).

Only the chosen tokenizer's offsets count; special tokens are never added.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

# GLiNER's word splitter (the tokens M42 scores GLiNER models on).
GLINER_WORDS = r"\w+(?:[-_]\w+)*|\S"
WORDS = "words"

TokenSplitter = Callable[[str], list[tuple[int, int]]]


class TokenizerError(ValueError):
    """A tokenizer name that names nothing loadable."""


def model_tokenizer_path(path: str | Path) -> Path:
    """The folder a model's tokenizer lives in: a logit ensemble's first member, else ``path``.

    A logit ensemble's members must share one tokenizer (``LogitEnsembleTagger`` checks), so the
    first one speaks for all; the ensemble folder itself holds only ``ensemble.json``.
    """
    path = Path(path)
    seen: set[Path] = set()
    while (path / "ensemble.json").is_file() and path.resolve() not in seen:
        seen.add(path.resolve())
        try:
            spec = json.loads((path / "ensemble.json").read_text(encoding="utf-8"))
            first = spec["models"][0]
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            raise TokenizerError(
                f"{path / 'ensemble.json'}: no 'models' list to take the tokenizer from"
            ) from None
        path = path / str(first)
    return path


def offsets_of(backend: Any) -> TokenSplitter:
    """Offsets of the sub-words a ``tokenizers.Tokenizer`` cuts a text into (no special tokens)."""
    backend = _plain(backend)

    def model_tokens(text: str) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in backend.encode(text, add_special_tokens=False).offsets]

    return model_tokens


def hf_splitter(tokenizer: Any) -> TokenSplitter:
    """The splitter of a loaded Hugging Face (fast) tokenizer, as the model tagger holds it."""
    return offsets_of(tokenizer.backend_tokenizer)


def load_hf_tokenizer(name_or_dir: str | Path) -> Any:
    """A Hugging Face tokenizer the way the model tagger loads its own (``AutoTokenizer``)."""
    try:
        from transformers import AutoTokenizer
    except ImportError as e:  # pragma: no cover - depends on the install
        raise TokenizerError(f"tokenizer {str(name_or_dir)!r} needs transformers ({e})") from e
    target = name_or_dir
    if Path(name_or_dir).is_dir():
        target = model_tokenizer_path(name_or_dir)
    try:
        return AutoTokenizer.from_pretrained(str(target))
    except (OSError, ValueError) as e:
        raise TokenizerError(f"cannot load a tokenizer from {str(target)!r}: {e}") from None


def token_splitter(
    choice: str | Path | None, *, model: Any = None, model_path: str | Path | None = None
) -> TokenSplitter | str | None:
    """What :func:`clinicalner.evaluate.score` takes as ``tokenize`` for a tokenizer name.

    ``choice="model"`` (the benchmark's default for models) uses ``model`` (a loaded Hugging
    Face tokenizer) or else loads the tokenizer of ``model_path``; see the module docstring for
    the other names. Returns None for the default words, a regex string, or a function.
    """
    if choice is None or choice == WORDS:
        return None
    if isinstance(choice, str):
        if choice == "gliner":
            return GLINER_WORDS
        if choice.startswith("re:"):
            return choice[3:]
        if choice == "model":
            if model is not None:
                return hf_splitter(model)
            if model_path is None:
                raise TokenizerError("tokenizer 'model' needs a model: name its folder instead")
            return hf_splitter(load_hf_tokenizer(model_path))
    path = Path(choice)
    if path.is_file():
        return _from_file(path)
    if path.is_dir():
        folder = model_tokenizer_path(path)
        if (folder / "tokenizer_config.json").is_file() or (folder / "config.json").is_file():
            return hf_splitter(load_hf_tokenizer(folder))
        if (folder / "tokenizer.json").is_file():
            return _from_file(folder / "tokenizer.json")
        raise TokenizerError(
            f"{path}: a folder without a tokenizer (no tokenizer.json or tokenizer_config.json)"
        )
    text = str(choice)
    if text.startswith((".", "/", "~")) or text.endswith((".json", "/")):
        raise TokenizerError(f"tokenizer {text!r}: no such file or folder")
    try:
        return hf_splitter(load_hf_tokenizer(text))  # a hub id
    except TokenizerError:
        raise TokenizerError(
            f"tokenizer {text!r}: not words, gliner, model, re:<regex>, a tokenizer.json, a tokenizer or "
            "model folder, or a Hugging Face tokenizer that can be loaded"
        ) from None


def _from_file(path: Path) -> TokenSplitter:
    from tokenizers import Tokenizer

    try:
        return offsets_of(Tokenizer.from_file(str(path)))
    except Exception as e:  # the Rust tokenizer raises its own exception type
        raise TokenizerError(f"{path}: not a tokenizer.json ({e})") from None


def _plain(backend: Any) -> Any:
    """A copy without truncation or padding: a whole text is cut, however long."""
    from tokenizers import Tokenizer

    plain = Tokenizer.from_str(backend.to_str())
    plain.no_truncation()
    plain.no_padding()
    return plain
