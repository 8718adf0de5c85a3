"""Fingerprints that key the benchmark's cache: files, folders, models, options, names.

A cached run is reused only while what decides it is unchanged: the content of small files
(configs, term lists), the size and modification time of big ones (weights), the options that
change predictions (secrets never enter), the toolkit version and the post-processing defaults.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clinicalner.benchmark.results import read_json

# Files bigger than this are fingerprinted by size and modification time, not content.
HASH_LIMIT = 1 << 20
# Option names whose values never enter a fingerprint or a report: a name is cut at "_" and "-"
# and hidden when a piece is one of these (hf_token, access_token, api-key), so that max_tokens
# (which changes an LLM's answers) is not taken for a secret. A name ending in "env" (api_key_env)
# names the environment variable that holds the secret, not the secret: it stays.
_SECRET_PARTS = frozenset({"key", "apikey", "token", "password", "secret", "authorization"})
_PARTS = re.compile(r"[_-]+")


def slug(name: str) -> str:
    """A file-name-safe form of a tagger or dataset name (the name itself stays in the JSON)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    if s == name:
        return s
    # Changed names get a hash of the original so that "a/b" and "a_b" never share files.
    return f"{s or '_'}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def digest(obj: Any) -> str:
    """A short stable hash of a JSON-able value (keys sorted)."""
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
        spec = read_json(p / "ensemble.json") if p.is_dir() else None
        if spec is not None and isinstance(spec.get("models"), list):
            todo += [p / str(m) for m in spec["models"]]
    return out


def is_secret(name: str) -> bool:
    """Whether an option's value must stay out of fingerprints and reports (see _SECRET_PARTS)."""
    parts = [p for p in _PARTS.split(str(name).lower()) if p]
    return bool(parts) and parts[-1] != "env" and not _SECRET_PARTS.isdisjoint(parts)


def public_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that may be shown and fingerprinted: secrets left out."""
    return {k: v for k, v in options.items() if not is_secret(k)}


def postprocess_defaults() -> dict[str, Any]:
    """The post-processing defaults: they decide predictions and change between commits."""
    import dataclasses

    from clinicalner.predict.postprocess import PostprocessConfig

    return dataclasses.asdict(PostprocessConfig())


def toolkit_version() -> str:
    """clinicalner's version (the engine's windows, pooling and decoding)."""
    from clinicalner import __version__

    return __version__
