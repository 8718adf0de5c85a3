"""Matching kernels against brute force on random interval sets."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicalner.evaluate.spans import (
    dice_scores,
    exact_matching,
    first_occurrence,
    greedy_first_overlap,
    max_overlap_matching,
    overlap_pairs,
    rank_within,
    row_ids,
)

A = np.asarray


def _arrays(rows: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    g, s, e = zip(*rows, strict=True)
    return A(g, dtype=np.int64), A(s, dtype=np.int64), A(e, dtype=np.int64)


def _brute_pairs(q, t, inclusive):
    out = []
    for i, (qg, qs, qe) in enumerate(q):
        for j, (tg, ts, te) in enumerate(t):
            if qg != tg:
                continue
            ok = max(qs, ts) <= min(qe, te) if inclusive else min(qe, te) - max(qs, ts) > 0
            if ok:
                out.append((i, j))
    return sorted(out)


def _max_matching_size(gold, pred) -> int:
    """Kuhn's augmenting paths: obviously correct, slow, fine for a dozen spans."""
    adj = [
        [j for j, p in enumerate(pred) if g[0] == p[0] and min(g[2], p[2]) - max(g[1], p[1]) > 0]
        for g in gold
    ]
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in adj[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    return sum(augment(i, set()) for i in range(len(gold)))


interval = st.tuples(st.integers(0, 2), st.integers(0, 30), st.integers(1, 8)).map(
    lambda t: (t[0], t[1], t[1] + t[2])
)


@settings(max_examples=300, deadline=None)
@given(st.lists(interval, max_size=12), st.lists(interval, max_size=12), st.booleans())
def test_overlap_pairs_equal_brute_force(q, t, inclusive):
    qi, tj = overlap_pairs(*_arrays(q), *_arrays(t), inclusive=inclusive)
    assert sorted(zip(qi.tolist(), tj.tolist(), strict=True)) == _brute_pairs(q, t, inclusive)


def test_overlap_pairs_touching_and_huge_offsets():
    q = _arrays([(0, 0, 5), (0, 10**12, 10**12 + 3)])
    t = _arrays([(0, 5, 10), (0, 10**12 + 2, 10**12 + 9)])
    qi, tj = overlap_pairs(*q, *t)
    assert list(zip(qi.tolist(), tj.tolist(), strict=True)) == [(1, 1)]
    qi, tj = overlap_pairs(*q, *t, inclusive=True)
    assert list(zip(qi.tolist(), tj.tolist(), strict=True)) == [(0, 0), (1, 1)]


@settings(max_examples=300, deadline=None)
@given(st.lists(interval, max_size=12), st.lists(interval, max_size=12))
def test_max_overlap_matching_is_maximum_and_valid(gold, pred):
    mg, mp = max_overlap_matching(*_arrays(gold), *_arrays(pred))
    pairs = [(i, int(j)) for i, j in enumerate(mg.tolist()) if j >= 0]
    # consistent both ways, one-to-one, every pair overlaps within its group
    assert sum(mp >= 0) == len(pairs)
    assert all(mp[j] == i for i, j in pairs)
    for i, j in pairs:
        g, p = gold[i], pred[j]
        assert g[0] == p[0] and min(g[2], p[2]) - max(g[1], p[1]) > 0
    assert len(pairs) == _max_matching_size(gold, pred)


def test_max_overlap_matching_beats_greedy():
    # gold A=[0,10) B=[8,12); predictions P1=[8,9) P2=[0,3): greedy A->P1 starves B
    gold = [(0, 0, 10), (0, 8, 12)]
    pred = [(0, 8, 9), (0, 0, 3)]
    mg, _ = max_overlap_matching(*_arrays(gold), *_arrays(pred))
    assert mg.tolist() == [1, 0]
    pairs = overlap_pairs(*_arrays(gold), *_arrays(pred))
    gg, gp = greedy_first_overlap(2, 2, pairs)
    assert gg.tolist() == [True, False]
    assert gp.tolist() == [True, False]


def test_long_chain_matching_is_fast_and_maximum():
    # one tangled component of 4,000 spans: the sweep must stay O(n log n)
    n = 2000
    gold = [(0, 10 * i, 10 * i + 12) for i in range(n)]
    pred = [(0, 10 * i + 5, 10 * i + 17) for i in range(n)]
    mg, _mp = max_overlap_matching(*_arrays(gold), *_arrays(pred))
    assert int((mg >= 0).sum()) == n


def test_exact_matching_pairs_kth_with_kth():
    g = (A([0, 0, 0, 1]), A([1, 1, 2, 1]))
    p = (A([0, 1, 1, 0]), A([1, 1, 1, 3]))
    mg, mp = exact_matching(g, p)
    assert mg.tolist() == [True, False, False, True]
    assert mp.tolist() == [True, True, False, False]


def test_row_ids_rank_and_first_occurrence():
    a, b = A([3, 1, 3, 1, 3]), A([0, 0, 0, 2, 0])
    ids = row_ids(a, b)
    assert ids[0] == ids[2] == ids[4] and len(set(ids.tolist())) == 3
    assert rank_within(ids).tolist() == [0, 0, 1, 0, 2]
    assert first_occurrence(a, b).tolist() == [True, True, False, True, False]


def test_dice_scores_match_formula():
    rng = random.Random(3)
    gold = [(0, s, s + rng.randint(1, 9)) for s in (rng.randint(0, 40) for _ in range(30))]
    pred = [(0, s, s + rng.randint(1, 9)) for s in (rng.randint(0, 40) for _ in range(30))]
    G, P = _arrays(gold), _arrays(pred)
    bg, bp = dice_scores(G[1], G[2], P[1], P[2], overlap_pairs(*G, *P))

    def dice(g, p):
        inter = max(0, min(g[2], p[2]) - max(g[1], p[1]))
        if inter == 0:
            return 0.0
        r, pr = inter / (g[2] - g[1]), inter / (p[2] - p[1])
        return 2 * pr * r / (pr + r)

    assert bg.tolist() == [max([dice(g, p) for p in pred] + [0.0]) for g in gold]
    assert bp.tolist() == [max([dice(g, p) for g in gold] + [0.0]) for p in pred]


@pytest.mark.parametrize("n_gold,n_pred", [(0, 0), (0, 3), (3, 0)])
def test_empty_sides(n_gold, n_pred):
    g = _arrays([(0, i, i + 1) for i in range(n_gold)])
    p = _arrays([(0, i, i + 1) for i in range(n_pred)])
    mg, mp = max_overlap_matching(*g, *p)
    assert (mg == -1).all() and (mp == -1).all() and len(mg) == n_gold and len(mp) == n_pred
    eg, ep = exact_matching(g, p)
    assert not eg.any() and not ep.any()


def _brute_matching_size(edges: list[tuple[int, int]]) -> int:
    """Brute force: the largest set of edges sharing no vertex."""
    if not edges:
        return 0
    (a, b), rest = edges[0], edges[1:]
    without = _brute_matching_size(rest)
    with_it = 1 + _brute_matching_size([(x, y) for x, y in rest if x != a and y != b])
    return max(without, with_it)


@pytest.mark.parametrize("seed", range(40))
def test_augmenting_matching_is_maximum_on_any_graph(seed):
    from clinicalner.evaluate.spans import _augmenting_matching

    rng = random.Random(seed)
    edges = sorted({(rng.randrange(6), rng.randrange(6)) for _ in range(rng.randrange(1, 14))})
    pairs = _augmenting_matching(edges)
    assert len({a for a, _ in pairs}) == len({b for _, b in pairs}) == len(pairs)
    assert set(pairs) <= set(edges)
    assert len(pairs) == _brute_matching_size(edges)
