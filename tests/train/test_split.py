import pytest

from clinicalner.train.split import MIN_DOCUMENTS, validation_split


def _texts(n: int, prefix: str) -> list[str]:
    return [f"{prefix} nota {i} " + " ".join(f"w{prefix}{i}x{k}" for k in range(20)) for i in range(n)]


def test_fraction_per_corpus_seeded_and_disjoint() -> None:
    texts = _texts(40, "a") + _texts(20, "b")
    sources = [0] * 40 + [1] * 20
    train, val = validation_split(texts, sources, 0.1, seed=13)
    assert sorted(train + val) == list(range(60))
    assert sum(sources[i] == 0 for i in val) == 4 and sum(sources[i] == 1 for i in val) == 2
    assert validation_split(texts, sources, 0.1, seed=13) == (train, val)
    assert validation_split(texts, sources, 0.1, seed=14)[1] != val


def test_near_duplicates_never_straddle() -> None:
    texts = _texts(30, "a")
    # Each of the first ten notes appears again in a second corpus, re-tokenised.
    texts += [t.replace(" ", "  ") for t in texts[:10]]
    sources = [0] * 30 + [1] * 10
    _train, val = validation_split(texts, sources, 0.2, seed=3)
    for i in range(10):
        assert (i in val) == (30 + i in val)


def test_small_corpora_give_nothing_and_bad_fractions_are_refused() -> None:
    texts = _texts(MIN_DOCUMENTS - 1, "a")
    assert validation_split(texts, [0] * len(texts), 0.5, seed=1)[1] == []
    assert validation_split(texts, [0] * len(texts), 0.0, seed=1) == (list(range(len(texts))), [])
    with pytest.raises(ValueError, match="fraction"):
        validation_split(texts, [0] * len(texts), 1.0, seed=1)
