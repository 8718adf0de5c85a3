"""An encoder with a pooled classification head: the span tagger's encoder, one vector per text.

Pooling: ``mean`` over the text's subwords (what e5 was trained with, and the better choice
for sentence-level labels on small data) or ``cls`` (the first token, the BERT/XLM-R
recipe DNT fine-tuned). The head is dropout + one linear layer; it is a separate module
from the encoder so :func:`clinicalner.train.optim.build_optimizer` gives it its own rate.
"""

from __future__ import annotations

import torch
from torch import nn

from clinicalner.classify.config import ClassifierConfig


class TextClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(hidden, len(config.labels)))

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.config.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits (B, C): batch, class."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return self.head(self.pool(out.last_hidden_state, attention_mask))

    def freeze_word_embeddings(self) -> int:
        emb = self.encoder.get_input_embeddings()
        emb.weight.requires_grad_(False)
        return int(emb.weight.numel())
