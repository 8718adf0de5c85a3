"""One encoder, one head per entity type, optional CRF per type.

Per-type heads (rather than one softmax over ``B-DISEASE, B-SYMPTOM, ...``) are what let a
token be inside a disease and a symptom at once (SpaCCC has such cross-type overlaps), and
what lets a document that annotates only symptoms train the symptom head alone.
"""

from __future__ import annotations

import torch
from torch import nn

from clinicalner.model.config import ModelConfig
from clinicalner.model.crf import CRF
from clinicalner.model.heads import make_head


class MultiHeadTagger(nn.Module):
    def __init__(self, encoder: nn.Module, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        n_tags = len(config.tags)
        self.heads = nn.ModuleList(
            make_head(config.head, hidden, n_tags, config.dropout, config.mlp_hidden) for _ in config.labels
        )
        self.crfs = nn.ModuleList(CRF(config.tags) for _ in config.labels) if config.crf else None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Emission scores (B, L, T, K): batch, subword, entity type, tag."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        hidden = out.last_hidden_state
        return torch.stack([head(hidden) for head in self.heads], dim=2)

    def freeze_word_embeddings(self) -> int:
        """Freeze the input embedding matrix: most of a multilingual encoder's parameters, and
        most of the optimiser's time on CPU. Returns the number of frozen parameters."""
        emb = self.encoder.get_input_embeddings()
        emb.weight.requires_grad_(False)
        return int(emb.weight.numel())

    def crf_scores(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None:
        if self.crfs is None:
            return None
        return [crf.scores() for crf in self.crfs]
