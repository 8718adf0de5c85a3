"""A linear-chain CRF over word positions, one per entity type.

Transitions the tag scheme forbids (``O -> I`` in BIO) are fixed at a large negative score,
so training never spends probability mass on them and Viterbi never produces them.
Decoding happens in numpy (``clinicalner.tag_sequences.decode.viterbi``) from the exported scores.
"""

from __future__ import annotations

import torch
from torch import nn

FORBIDDEN = -1e4


def allowed_matrix(tags: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(transitions, start, end) masks of what a single-type scheme allows."""
    k = len(tags)
    trans = torch.ones(k, k, dtype=torch.bool)
    start = torch.ones(k, dtype=torch.bool)
    end = torch.ones(k, dtype=torch.bool)
    inside = {"I", "E"}
    for i, a in enumerate(tags):
        for j, b in enumerate(tags):
            if "B" in tags or "S" in tags:
                if b in inside and a not in ("B", "I"):
                    trans[i, j] = False
                if "E" in tags and a in ("B", "I") and b not in inside:
                    trans[i, j] = False
        if a in inside and "B" in tags:
            start[i] = False
        if "E" in tags and a in ("B", "I"):
            end[i] = False
    return trans, start, end


class CRF(nn.Module):
    def __init__(self, tags: tuple[str, ...]) -> None:
        super().__init__()
        k = len(tags)
        self.transitions = nn.Parameter(torch.zeros(k, k))
        self.start = nn.Parameter(torch.zeros(k))
        self.end = nn.Parameter(torch.zeros(k))
        trans, start, end = allowed_matrix(tags)
        self.register_buffer("trans_penalty", (~trans).float() * FORBIDDEN, persistent=False)
        self.register_buffer("start_penalty", (~start).float() * FORBIDDEN, persistent=False)
        self.register_buffer("end_penalty", (~end).float() * FORBIDDEN, persistent=False)

    def scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            self.transitions + self.trans_penalty,
            self.start + self.start_penalty,
            self.end + self.end_penalty,
        )

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per sequence.

        emissions (B, W, K), tags (B, W) long, mask (B, W) bool with mask[:, 0] True for
        non-empty sequences. Empty sequences give 0.
        """
        trans, start, end = self.scores()
        _b, w, _ = emissions.shape
        tags = tags.clamp(min=0)
        maskf = mask.to(emissions.dtype)
        lengths = mask.sum(1)
        # Score of the gold path.
        first = emissions[:, 0].gather(1, tags[:, :1]).squeeze(1) + start[tags[:, 0]]
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        step = trans[tags[:, :-1], tags[:, 1:]] + emit[:, 1:]
        gold = first + (step * maskf[:, 1:]).sum(1)
        last_idx = (lengths - 1).clamp(min=0)
        last_tag = tags.gather(1, last_idx.unsqueeze(1)).squeeze(1)
        gold = gold + end[last_tag]
        # Partition function by the forward algorithm.
        alpha = start.unsqueeze(0) + emissions[:, 0]
        for t in range(1, w):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans.unsqueeze(0), dim=1) + emissions[:, t]
            m = mask[:, t].unsqueeze(1)
            alpha = torch.where(m, nxt, alpha)
        log_z = torch.logsumexp(alpha + end.unsqueeze(0), dim=1)
        nll = log_z - gold
        return torch.where(lengths > 0, nll, torch.zeros_like(nll))
