"""Hard, soft and weighted voting over text predictions."""

from __future__ import annotations

import pytest

from clinicalner.classify.data import TextPrediction
from clinicalner.classify.ensemble import vote_texts


def P(doc_id: str, p_ade: float, flag: str = "") -> TextPrediction:
    label = "ADE" if p_ade >= 0.5 else "NO_ADE"
    return TextPrediction(doc_id, label, {"ADE": p_ade, "NO_ADE": 1 - p_ade}, "en", True, flag)


A = [P("x", 0.9), P("y", 0.45), P("z", 0.2)]
B = [P("x", 0.6), P("y", 0.4), P("z", 0.55)]
C = [P("x", 0.2), P("y", 0.7, "no_logprobs"), P("z", 0.6)]


def labels(preds: list[TextPrediction]) -> list[str]:
    return [p.label for p in preds]


def test_hard_voting_is_the_majority() -> None:
    out = vote_texts([A, B, C], "hard")
    assert labels(out) == ["ADE", "NO_ADE", "ADE"]
    assert out[0].probabilities == {"ADE": pytest.approx(2 / 3), "NO_ADE": pytest.approx(1 / 3)}
    assert out[1].flag == "no_logprobs"


def test_hard_tie_goes_to_the_higher_mean_probability() -> None:
    # Every text is a 1-1 tie; mean P(ADE): x .55, y .575, z .40.
    assert labels(vote_texts([A, C], "hard")) == ["ADE", "ADE", "NO_ADE"]


def test_soft_voting_averages_probabilities() -> None:
    out = vote_texts([A, B, C], "soft")
    assert out[1].probabilities["ADE"] == pytest.approx((0.45 + 0.4 + 0.7) / 3)
    assert labels(out) == ["ADE", "ADE", "NO_ADE"]
    assert labels(vote_texts([A, B, C], "soft", positive="ADE", threshold=0.55)) == [
        "ADE",
        "NO_ADE",
        "NO_ADE",
    ]


def test_weighted_voting() -> None:
    out = vote_texts([A, B, C], "weighted", weights=[1.0, 1.0, 4.0])
    assert out[0].probabilities["ADE"] == pytest.approx((0.9 + 0.6 + 0.8) / 6)
    assert labels(out) == ["NO_ADE", "ADE", "ADE"]
    with pytest.raises(ValueError, match="one weight per member"):
        vote_texts([A, B], "weighted")
    with pytest.raises(ValueError, match="2 weights for 3 members"):
        vote_texts([A, B, C], "weighted", weights=[1, 2])


def test_members_must_cover_the_same_texts() -> None:
    with pytest.raises(ValueError, match=r"b does not predict the same texts as a \(1 missing"):
        vote_texts([A, B[:2]], "soft", names=["a", "b"])


def test_soft_voting_needs_probabilities() -> None:
    bare = [TextPrediction(p.id, p.label) for p in B]
    with pytest.raises(ValueError, match="use --method hard"):
        vote_texts([A, bare], "soft")
    assert labels(vote_texts([A, bare, C], "hard")) == ["ADE", "NO_ADE", "ADE"]
