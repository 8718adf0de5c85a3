"""The joint masked loss: annotated (example, type) pairs only, and always differentiable."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from clinicalner.model.config import SCHEME_TAGS  # noqa: E402
from clinicalner.model.crf import CRF  # noqa: E402
from clinicalner.model.loss import joint_loss  # noqa: E402

TAGS = SCHEME_TAGS["BIO"]


def _batch(type_mask: list[list[float]], length: int = 6) -> dict[str, torch.Tensor]:
    n, n_types = len(type_mask), len(type_mask[0])
    labels = torch.randint(0, len(TAGS), (n, length, n_types))
    labels[:, 0] = -100  # the special token
    return {
        "labels": labels,
        "type_mask": torch.tensor(type_mask),
        "word_pos": torch.arange(1, length).repeat(n, 1),
        "word_mask": torch.ones(n, length - 1, dtype=torch.bool),
        "word_labels": torch.zeros(n, length - 1, n_types, dtype=torch.long),
    }


def _model(crf: bool, n_types: int) -> SimpleNamespace:
    return SimpleNamespace(crfs=torch.nn.ModuleList(CRF(TAGS) for _ in range(n_types)) if crf else None)


@pytest.mark.parametrize("crf", [False, True])
def test_a_batch_with_no_annotated_type_gives_a_differentiable_zero(crf):
    """A batch of windows from documents annotating none of the trained types used to return
    a constant, and ``backward()`` raised 'element 0 of tensors does not require grad'."""
    torch.manual_seed(0)
    emissions = torch.randn(2, 6, 2, len(TAGS), requires_grad=True)
    batch = _batch([[0.0, 0.0], [0.0, 0.0]])
    loss = joint_loss(_model(crf, 2), emissions, batch)
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert emissions.grad is not None and not emissions.grad.any()


@pytest.mark.parametrize("crf", [False, True])
def test_masked_types_do_not_change_the_loss(crf):
    torch.manual_seed(0)
    model = _model(crf, 2)
    emissions = torch.randn(2, 6, 2, len(TAGS), requires_grad=True)
    batch = _batch([[1.0, 0.0], [1.0, 0.0]])
    loss = joint_loss(model, emissions, batch)
    assert float(loss.detach()) > 0.0
    # Whatever the masked type's labels say, the loss is the same: it is not computed.
    other = dict(batch, labels=batch["labels"].clone(), word_labels=batch["word_labels"].clone())
    other["labels"][:, 1:, 1] = (other["labels"][:, 1:, 1] + 1) % len(TAGS)
    other["word_labels"][:, :, 1] = 1
    assert float(joint_loss(model, emissions, other).detach()) == pytest.approx(float(loss.detach()))
    loss.backward()
    assert not emissions.grad[:, :, 1].any() and emissions.grad[:, :, 0].any()
