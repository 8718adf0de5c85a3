"""The validation split keeps every label x language group's share; upsampling repeats classes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from clinicalner.classify.data import LabelledText
from clinicalner.classify.split import epoch_indices, length_batches, parse_factors, stratified_split


def _texts() -> list[LabelledText]:
    out = []
    for lang, n_pos, n_neg in (("en", 20, 80), ("es", 10, 30), ("it", 1, 3)):
        out += [LabelledText(f"{lang}p{i}", "t", "ADE", lang) for i in range(n_pos)]
        out += [LabelledText(f"{lang}n{i}", "t", "NO_ADE", lang) for i in range(n_neg)]
    return out


def test_split_is_stratified_and_seeded() -> None:
    texts = _texts()
    train, valid = stratified_split(texts, 0.1, seed=3)
    assert len(train) + len(valid) == len(texts)
    assert not {t.id for t in train} & {t.id for t in valid}
    groups = Counter((t.label, t.language) for t in valid)
    assert groups[("ADE", "en")] == 2 and groups[("NO_ADE", "en")] == 8
    assert groups[("ADE", "es")] == 1 and groups[("NO_ADE", "es")] == 3
    assert groups[("ADE", "it")] == 0  # a group of one stays in train
    assert groups[("NO_ADE", "it")] == 1  # a small group gives at least one
    assert stratified_split(texts, 0.1, seed=3) == (train, valid)
    assert stratified_split(texts, 0.1, seed=4)[1] != valid


def test_upsampling_repeats_a_class() -> None:
    labels = ["ADE"] * 4 + ["NO"] * 10
    order = epoch_indices(labels, {"ADE": 3}, seed=1, epoch=0)
    counts = Counter(labels[i] for i in order)
    assert counts == {"ADE": 12, "NO": 10}
    assert Counter(order.tolist())[0] == 3
    half = epoch_indices(labels, {"ADE": 1.5}, seed=1, epoch=0)
    assert Counter(labels[i] for i in half)["ADE"] == 6
    assert np.array_equal(order, epoch_indices(labels, {"ADE": 3}, seed=1, epoch=0))
    assert not np.array_equal(order, epoch_indices(labels, {"ADE": 3}, seed=1, epoch=1))


def test_batches_cover_the_epoch() -> None:
    order = np.arange(50)
    batches = length_batches(order, list(range(50)), 8, seed=0, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(50))
    assert max(len(b) for b in batches) == 8


@pytest.mark.parametrize("spec", [["ADE"], ["ADE=x"], ["ADE=0"], ["=2"]])
def test_bad_upsampling_specs(spec: list[str]) -> None:
    with pytest.raises(ValueError, match=r"LABEL=FACTOR|not a number"):
        parse_factors(spec)
