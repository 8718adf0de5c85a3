import itertools

import pytest

torch = pytest.importorskip("torch")

from clinicalner.model.crf import CRF, FORBIDDEN, allowed_matrix  # noqa: E402


def test_bio_constraints():
    trans, start, end = allowed_matrix(("O", "B", "I"))
    # O -> I is the only forbidden transition; I cannot start a sequence.
    assert not trans[0, 2]
    assert trans[1, 2] and trans[2, 2] and trans[0, 1] and trans[2, 1]
    assert not start[2] and start[0] and start[1]
    assert end.all()


def test_bioes_constraints():
    tags = ("O", "B", "I", "E", "S")
    trans, _start, end = allowed_matrix(tags)
    ix = {t: i for i, t in enumerate(tags)}
    assert trans[ix["B"], ix["I"]] and trans[ix["B"], ix["E"]]
    assert not trans[ix["B"], ix["O"]] and not trans[ix["B"], ix["S"]]
    assert not trans[ix["O"], ix["E"]] and not trans[ix["E"], ix["I"]]
    assert not end[ix["B"]] and not end[ix["I"]]


def test_nll_matches_brute_force():
    torch.manual_seed(0)
    tags = ("O", "B", "I")
    crf = CRF(tags)
    with torch.no_grad():
        crf.transitions.normal_()
        crf.start.normal_()
        crf.end.normal_()
    emissions = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    gold = torch.tensor([[1, 2, 0, 1], [0, 1, 2, 0]])
    nll = crf.nll(emissions, gold, mask)
    trans, start, end = crf.scores()
    for b in range(2):
        n = int(mask[b].sum())

        def path_score(path, b=b):
            s = start[path[0]] + emissions[b, 0, path[0]]
            for t in range(1, len(path)):
                s = s + trans[path[t - 1], path[t]] + emissions[b, t, path[t]]
            return s + end[path[-1]]

        all_scores = torch.stack([path_score(p) for p in itertools.product(range(3), repeat=n)])
        expected = torch.logsumexp(all_scores, 0) - path_score(gold[b, :n].tolist())
        assert torch.allclose(nll[b], expected, atol=1e-4)


def test_forbidden_paths_get_no_mass():
    crf = CRF(("O", "B", "I"))
    trans, start, _ = (x.detach() for x in crf.scores())
    assert float(trans[0, 2]) <= FORBIDDEN / 2
    assert float(start[2]) <= FORBIDDEN / 2
