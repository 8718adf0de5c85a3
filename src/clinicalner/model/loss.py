"""The joint, masked training loss.

A type's loss is multiplied by the document's ``type_mask``: a MultiClinAI SYMPTOM document
says nothing about diseases, so its unlabelled disease mentions must not teach the disease
head that they are ``O``. Fully annotated corpora (SpaCCC) have every type unmasked, so one
model learns from both kinds of data at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clinicalner.model.network import MultiHeadTagger


def joint_loss(
    model: MultiHeadTagger,
    emissions: torch.Tensor,
    batch: dict[str, torch.Tensor],
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean loss over the (example, type) pairs that are annotated.

    ``batch`` holds ``labels`` (B, L, T) with -100 where a subword carries no label,
    ``type_mask`` (B, T) and, for a CRF, ``word_pos``/``word_mask``/``word_labels`` (B, W[, T]).
    ``class_weights`` is (T, K).
    """
    type_mask = batch["type_mask"].to(emissions.dtype)
    n_types = emissions.shape[2]
    total = emissions.new_zeros(())
    denom = emissions.new_zeros(())
    for t in range(n_types):
        active = type_mask[:, t]
        if not bool(active.any()):
            continue
        if model.crfs is not None:
            pos = batch["word_pos"]
            em = emissions[:, :, t].gather(1, pos.unsqueeze(2).expand(-1, -1, emissions.shape[3]))
            tags = batch["word_labels"][:, :, t]
            mask = batch["word_mask"] & (tags >= 0)
            nll = model.crfs[t].nll(em.float(), tags, mask)
            n_words = mask.sum(1).clamp(min=1).to(nll.dtype)
            total = total + (nll / n_words * active).sum()
            denom = denom + active.sum()
        else:
            labels = batch["labels"][:, :, t]
            logits = emissions[:, :, t].float()
            w = class_weights[t] if class_weights is not None else None
            ce = F.cross_entropy(
                logits.transpose(1, 2), labels, weight=w, ignore_index=-100, reduction="none"
            )
            valid = (labels != -100).to(ce.dtype) * active.unsqueeze(1)
            norm = (w[labels.clamp(min=0)] * valid).sum() if w is not None else valid.sum()
            total = total + (ce * valid).sum() / norm.clamp(min=1e-6) * (valid.sum() > 0)
            denom = denom + (valid.sum() > 0).to(denom.dtype)
    if not bool(denom > 0):
        # Nothing in this batch is annotated: a zero that is still part of the graph, so
        # ``backward()`` works (a plain constant has no grad_fn) and every gradient is zero.
        return emissions.sum() * 0.0
    return total / denom
