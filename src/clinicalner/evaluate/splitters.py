"""What the token-level metrics cut text into, named the same way everywhere.

:func:`clinicalner.evaluate.score` (``tokenize=``), ``clinicalner evaluate --tokenizer`` and a
benchmark tagger's ``tokenize`` take the same names and are resolved here, by one function, so
that a leaderboard cell can be scored again with ``clinicalner evaluate`` and give the same
number (M42 scores each model on its own sub-word tokens, so the token metrics depend on this
choice):

- ``words`` (or None): the toolkit's word splitter (the evaluator's default);
- ``gliner``: GLiNER's word regex;
- ``re:<regex>``: every match of the regex is a token;
- ``model``: the benchmark's name for "the tagger's own tokenizer" (it hands the tokenizer in);
- a ``tokenizer.json`` file;
- a folder: a model written by ``clinicalner train`` or any Hugging Face tokenizer folder
  (loaded as the model tagger loads it), a logit-ensemble folder (its first member's tokenizer:
  members share one), or a folder holding only a ``tokenizer.json``;
- a Hugging Face hub id written ``org/name`` (needs ``transformers``): the local cache is tried
  first, the network only after it. A bare word that is none of the above is an error with the
  nearest name suggested, never a hub lookup: a typo must not wait on the network (DESIGN: no
  network unless the user names a remote model).

Only the chosen tokenizer's offsets count; special tokens are never added. Nothing here
imports torch or transformers until a model tokenizer is named: evaluating stays light.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

# GLiNER's word splitter (the tokens M42 scores GLiNER models on).
GLINER_WORDS = r"\w+(?:[-_]\w+)*|\S"
WORDS = "words"
KEYWORDS = (WORDS, "gliner", "model")
REGEX_PREFIX = "re:"

TokenSplitter = Callable[[str], list[tuple[int, int]]]

# A hub id: one "org/name", each part of letters, digits, '-', '_' or '.' (no path syntax).
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


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


def offsets_of(backend: Any, name: str = "model_tokens") -> TokenSplitter:
    """Offsets of the sub-words a ``tokenizers.Tokenizer`` cuts a text into (no special tokens).

    ``name`` is what a report records as its tokenizer.
    """
    backend = _plain(backend)

    def model_tokens(text: str) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in backend.encode(text, add_special_tokens=False).offsets]

    model_tokens.__name__ = name
    return model_tokens


def hf_splitter(tokenizer: Any, name: str = "model_tokens") -> TokenSplitter:
    """The splitter of a loaded Hugging Face (fast) tokenizer, as the model tagger holds it."""
    return offsets_of(tokenizer.backend_tokenizer, name)


def load_hf_tokenizer(name_or_dir: str | Path, *, local_files_only: bool = False) -> Any:
    """A Hugging Face tokenizer the way the model tagger loads its own (``AutoTokenizer``)."""
    try:
        from transformers import AutoTokenizer
    except ImportError as e:  # pragma: no cover - depends on the install
        raise TokenizerError(f"tokenizer {str(name_or_dir)!r} needs transformers ({e})") from e
    target = name_or_dir
    if Path(name_or_dir).is_dir():
        target = model_tokenizer_path(name_or_dir)
    try:
        return AutoTokenizer.from_pretrained(str(target), local_files_only=local_files_only)
    except (OSError, ValueError) as e:
        raise TokenizerError(f"cannot load a tokenizer from {str(target)!r}: {e}") from None


def looks_like_hub_id(text: str) -> bool:
    """``org/name`` and not a path to somewhere that exists (``models/ner`` with a ``models``
    folder here is a missing folder, not a hub id)."""
    return _HUB_ID.fullmatch(text) is not None and not Path(text).parent.exists()


def token_splitter(choice: str | Path | None, *, model: Any = None) -> TokenSplitter | re.Pattern[str] | None:
    """What :func:`clinicalner.evaluate.score` takes as ``tokenize`` for a tokenizer name.

    Returns None for the default words, a compiled regex for ``gliner`` and ``re:<regex>``,
    else a function returning (start, end) pairs. ``choice="model"`` (the benchmark's default
    for models) uses ``model``, a loaded Hugging Face tokenizer; see the module docstring for
    the other names. Raises :class:`TokenizerError` (a ``ValueError``) for a name that names
    nothing loadable.
    """
    if choice is None or choice == WORDS:
        return None
    if isinstance(choice, str):
        if choice == "gliner":
            return re.compile(GLINER_WORDS)
        if choice.startswith(REGEX_PREFIX):
            try:
                return re.compile(choice[len(REGEX_PREFIX) :])
            except re.error as e:
                raise TokenizerError(f"tokenizer {choice!r}: not a regular expression ({e})") from None
        if choice == "model":
            if model is not None:
                return hf_splitter(model)
            raise TokenizerError("tokenizer 'model' needs a model: name its folder instead")
    path = Path(choice)
    if path.is_file():
        return _from_file(path)
    if path.is_dir():
        folder = model_tokenizer_path(path)
        if (folder / "tokenizer_config.json").is_file() or (folder / "config.json").is_file():
            return hf_splitter(load_hf_tokenizer(folder), f"tokenizer {path}")
        if (folder / "tokenizer.json").is_file():
            return _from_file(folder / "tokenizer.json")
        raise TokenizerError(
            f"{path}: a folder without a tokenizer (no tokenizer.json or tokenizer_config.json)"
        )
    text = str(choice)
    if looks_like_hub_id(text):
        try:  # the Hugging Face cache first: no network for a tokenizer already here
            return hf_splitter(load_hf_tokenizer(text, local_files_only=True), f"tokenizer {text}")
        except TokenizerError:
            pass
        try:
            return hf_splitter(load_hf_tokenizer(text), f"tokenizer {text}")
        except TokenizerError as e:
            raise TokenizerError(
                f"tokenizer {text!r}: no such file or folder, and no Hugging Face tokenizer of that id "
                f"in the cache or on the hub ({e})"
            ) from None
    if text.startswith((".", "/", "~")) or text.endswith((".json", "/")) or "/" in text or "\\" in text:
        raise TokenizerError(f"tokenizer {text!r}: no such file or folder")
    near = difflib.get_close_matches(text, KEYWORDS, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    raise TokenizerError(
        f"unknown tokenizer {text!r}: {hint}a tokenizer is one of {', '.join(KEYWORDS)}, "
        f"{REGEX_PREFIX}<regex> (a regular expression), a tokenizer.json, a tokenizer or model folder, "
        "or a Hugging Face hub id written org/name"
    )


def _from_file(path: Path) -> TokenSplitter:
    from tokenizers import Tokenizer

    try:
        return offsets_of(Tokenizer.from_file(str(path)), f"tokenizer {path}")
    except Exception as e:  # the Rust tokenizer raises its own exception type
        raise TokenizerError(f"{path}: not a tokenizer.json ({e})") from None


def _plain(backend: Any) -> Any:
    """A copy without truncation or padding: a whole text is cut, however long.

    ``clinicalner.model.inputs.backend_tokenizer`` does the same for a loaded model, but
    importing it imports the model package and so torch, which evaluating must not need.
    """
    from tokenizers import Tokenizer

    plain = Tokenizer.from_str(backend.to_str())
    plain.no_truncation()
    plain.no_padding()
    return plain
