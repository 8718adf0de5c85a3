"""The network: a Hugging Face encoder with one tagging head (and optional CRF) per entity type.

Importing this package imports torch; the rest of clinicalner does not need it.
"""

from clinicalner.model.config import ModelConfig
from clinicalner.model.network import MultiHeadTagger
from clinicalner.model.store import load_model, save_model

__all__ = ["ModelConfig", "MultiHeadTagger", "load_model", "save_model"]
