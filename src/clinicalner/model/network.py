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

    def freeze_lower_layers(self, n: int) -> int:
        """Freeze the embeddings (all of them: words, positions, types, their layer norm) and the
        lowest ``n`` transformer layers; returns the number of parameters frozen here.

        Why: fine-tuning every layer on Spanish and English moves the lower layers, whose
        representations are the most language-neutral part of a multilingual encoder, towards
        the source languages; keeping them fixed is the usual recipe for zero-shot transfer to
        languages without labels (and each frozen layer also saves its share of the backward
        pass). ``n`` larger than the encoder's depth is an error, not a silent cap.
        """
        layers = self._encoder_layers()
        if not 0 <= n <= len(layers):
            raise ValueError(
                f"freeze_layers must be between 0 and {len(layers)} (the encoder's layers), not {n}"
            )
        if n == 0:
            return 0
        modules: list[nn.Module] = [self.encoder.get_input_embeddings()]
        embeddings = getattr(self.encoder, "embeddings", None)
        if isinstance(embeddings, nn.Module):
            modules.append(embeddings)
        modules.extend(layers[:n])
        frozen = 0
        for module in modules:  # a parameter met twice is already frozen the second time
            for p in module.parameters():
                frozen += p.numel() if p.requires_grad else 0
                p.requires_grad_(False)
        return frozen

    def _encoder_layers(self) -> nn.ModuleList:
        """The encoder's stack of transformer layers (BERT, XLM-R, E5, DeBERTa: ``encoder.layer``)."""
        stack = getattr(getattr(self.encoder, "encoder", None), "layer", None)
        if not isinstance(stack, nn.ModuleList):
            raise ValueError(
                f"freeze_layers: cannot find the transformer layers of {type(self.encoder).__name__} "
                "(expected encoder.layer)"
            )
        return stack

    def crf_scores(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None:
        if self.crfs is None:
            return None
        return [crf.scores() for crf in self.crfs]
