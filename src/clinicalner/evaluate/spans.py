"""Span matching kernels shared by every span metric.

All functions work on parallel integer arrays (one row per span: a group id, which
is a document or a (document, label) pair, a start and an end) so that whole corpora
are matched with a handful of sorts and ``searchsorted`` calls instead of nested
Python loops over every gold/prediction pair. Offsets are half-open unless a
function says otherwise.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

Array = np.ndarray

_EMPTY = np.zeros(0, dtype=np.int64)
_KEY_LIMIT = 2**62


def row_ids(*columns: Array) -> Array:
    """Dense ids for rows that are equal on every column (row i of each array).

    Ids follow the sorted order of the column tuples, so equal tuples share an id whichever
    side (gold or prediction) they came from when the arrays are concatenated. The columns are
    folded into one mixed-radix integer key (re-densified whenever the next column would
    overflow it), so the whole job is one single-column sort.
    """
    n = len(columns[0])
    if n == 0:
        return _EMPTY.copy()
    key = np.zeros(n, dtype=np.int64)
    span = 1
    for col in columns:
        col = np.asarray(col, dtype=np.int64)
        lo = int(col.min())
        width = int(col.max()) - lo + 1
        if span * width >= _KEY_LIMIT:
            uniq, key = np.unique(key, return_inverse=True)
            span = len(uniq)
        if span * width >= _KEY_LIMIT:
            values, col = np.unique(col, return_inverse=True)
            lo, width = 0, len(values)
        key = key * width + (col - lo)
        span *= width
    return np.unique(key, return_inverse=True)[1].astype(np.int64, copy=False).reshape(n)


def rank_within(ids: Array) -> Array:
    """For each row, how many earlier rows (in array order) share its id."""
    n = len(ids)
    if n == 0:
        return _EMPTY.copy()
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    first = np.ones(n, dtype=bool)
    first[1:] = s[1:] != s[:-1]
    run_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - run_start
    return rank


def first_occurrence(*columns: Array) -> Array:
    """Mask keeping the first row of every run of equal tuples (pandas ``drop_duplicates``)."""
    return rank_within(row_ids(*columns)) == 0


def exact_matching(gold: Sequence[Array], pred: Sequence[Array]) -> tuple[Array, Array]:
    """One-to-one matching of rows with equal key columns.

    Within one key the k-th gold row (in array order) takes the k-th prediction row: this is
    what "each gold, in file order, takes the first unmatched equal prediction" does, and
    with an equivalence relation greedy matching is also maximum.
    Returns boolean masks (gold matched, prediction matched).
    """
    ng = len(gold[0])
    npr = len(pred[0])
    if ng == 0 or npr == 0:
        return np.zeros(ng, dtype=bool), np.zeros(npr, dtype=bool)
    ids = row_ids(*(np.concatenate([g, p]) for g, p in zip(gold, pred, strict=True)))
    gid, pid = ids[:ng], ids[ng:]
    k = int(ids.max()) + 1
    count_g = np.bincount(gid, minlength=k)
    count_p = np.bincount(pid, minlength=k)
    return rank_within(gid) < count_p[gid], rank_within(pid) < count_g[pid]


def overlap_pairs(
    q_group: Array,
    q_start: Array,
    q_end: Array,
    t_group: Array,
    t_start: Array,
    t_end: Array,
    *,
    inclusive: bool = False,
) -> tuple[Array, Array]:
    """Every (query, target) pair in the same group whose intervals overlap.

    Half-open (default): the pair shares at least one character, ``max(start) < min(end)``;
    touching spans do not overlap. ``inclusive=True`` treats both ends as inclusive, as
    nervaluate does with ``range(start, end + 1)``: ``max(start) <= min(end)``.

    Targets are sorted by (group, start); the candidates of one query are the targets of its
    group starting in ``[q.start - L, q.end]`` where L is the longest target of the group, so the
    work is proportional to the number of near neighbours, not to the product of the sides.
    Pairs come back ordered by query index, then by target start.
    """
    nq = len(q_start)
    nt = len(t_start)
    if nq == 0 or nt == 0:
        return _EMPTY.copy(), _EMPTY.copy()
    t_len = np.maximum(t_end - t_start, 0)
    n_groups = int(max(q_group.max(), t_group.max())) + 1
    max_len = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(max_len, t_group, t_len)
    # Dense ranks of target starts keep the combined (group, start) key small whatever the offsets.
    uniq = np.unique(t_start)
    width = len(uniq) + 2
    t_rank = np.searchsorted(uniq, t_start)
    key = t_group * width + t_rank
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    slack = 0 if inclusive else 1
    lo_val = q_start - max_len[q_group] + slack
    hi_val = q_end - slack
    lo = np.searchsorted(uniq, lo_val, side="left")
    hi = np.searchsorted(uniq, hi_val, side="right") - 1
    left = np.searchsorted(key_sorted, q_group * width + lo, side="left")
    right = np.searchsorted(key_sorted, q_group * width + hi, side="right")
    counts = np.maximum(right - left, 0)
    total = int(counts.sum())
    if total == 0:
        return _EMPTY.copy(), _EMPTY.copy()
    qi = np.repeat(np.arange(nq), counts)
    offsets = np.cumsum(counts) - counts
    tj = order[left[qi] + (np.arange(total) - offsets[qi])]
    if inclusive:
        ok = (np.maximum(q_start[qi], t_start[tj]) <= np.minimum(q_end[qi], t_end[tj])) & (
            q_start[qi] <= q_end[qi]
        )
        ok &= t_start[tj] <= t_end[tj]
    else:
        ok = np.minimum(q_end[qi], t_end[tj]) - np.maximum(q_start[qi], t_start[tj]) > 0
    return qi[ok], tj[ok]


def _interval_matching(
    a_start: list[int], a_end: list[int], b_start: list[int], b_end: list[int]
) -> list[tuple[int, int]]:
    """Maximum matching of two interval sets on half-open overlap, in O(n log n).

    Sweep all intervals by end. The unmatched interval x that ends first is matched to the
    unmatched, not yet swept interval of the other side that starts before x ends and ends
    earliest. Exchange argument: in any maximum matching, x's partner and the partner of
    that earliest-ending interval can be swapped without losing an edge, because every
    remaining interval ends no earlier than x. Intervals already swept and left unmatched
    cannot overlap x (they would have taken it).
    """
    sides = ((a_start, a_end), (b_start, b_end))
    events = sorted([(e, 0, i) for i, e in enumerate(a_end)] + [(e, 1, j) for j, e in enumerate(b_end)])
    by_start = [sorted(range(len(s)), key=s.__getitem__) for s, _ in sides]
    pointer = [0, 0]
    heaps: list[list[tuple[int, int]]] = [[], []]
    swept = [[False] * len(a_start), [False] * len(b_start)]
    matched = [[False] * len(a_start), [False] * len(b_start)]
    pairs: list[tuple[int, int]] = []
    for end, side, i in events:
        swept[side][i] = True
        if matched[side][i]:
            continue
        other = 1 - side
        o_start, o_end = sides[other]
        order = by_start[other]
        p = pointer[other]
        heap = heaps[other]
        while p < len(order) and o_start[order[p]] < end:
            k = order[p]
            heapq.heappush(heap, (o_end[k], k))
            p += 1
        pointer[other] = p
        while heap and (swept[other][heap[0][1]] or matched[other][heap[0][1]]):
            heapq.heappop(heap)
        if heap and sides[side][0][i] < end:
            _, k = heapq.heappop(heap)
            matched[side][i] = True
            matched[other][k] = True
            pairs.append((i, k) if side == 0 else (k, i))
    return pairs


def piece_overlap_pairs(
    g_group: Array,
    g_pieces: tuple[Array, Array, Array],
    p_group: Array,
    p_pieces: tuple[Array, Array, Array],
) -> tuple[Array, Array]:
    """Every (gold, prediction) pair in the same group that shares a character of a fragment.

    ``*_pieces`` are (row, start, end) per fragment (a contiguous span is one fragment), so a
    discontinuous span overlaps only what its fragments touch, not the gap between them.
    Pairs are unique and ordered by gold row, then prediction row.
    """
    gr, gs, ge = g_pieces
    pr, ps, pe = p_pieces
    qi, tj = overlap_pairs(g_group[gr], gs, ge, p_group[pr], ps, pe)
    if len(qi) == 0:
        return qi, tj
    gi, pj = gr[qi], pr[tj]
    width = int(pj.max()) + 1
    uniq = np.unique(gi * width + pj)
    return uniq // width, uniq % width


def _augmenting_matching(edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Maximum bipartite matching of any small graph (augmenting paths, Kuhn's algorithm).

    The interval sweep relies on overlap being an interval relation; spans that overlap
    through their fragments are not intervals, so their clusters come here.
    """
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
    left: dict[int, int] = {}  # gold -> prediction
    right: dict[int, int] = {}  # prediction -> gold
    for root in adj:
        parent: dict[int, int] = {}  # prediction -> the gold that reached it
        stack = [(root, iter(adj[root]))]
        free: int | None = None
        while stack and free is None:
            a, it = stack[-1]
            for b in it:
                if b in parent:
                    continue
                parent[b] = a
                if b not in right:
                    free = b
                else:
                    stack.append((right[b], iter(adj[right[b]])))
                break
            else:
                stack.pop()
        b = free
        while b is not None:  # flip the path: every gold on it takes the prediction that reached it
            a = parent[b]
            nxt = left.get(a)
            left[a] = b
            right[b] = a
            b = nxt
    return list(left.items())


def max_overlap_matching(
    g_group: Array,
    g_start: Array,
    g_end: Array,
    p_group: Array,
    p_start: Array,
    p_end: Array,
    pairs: tuple[Array, Array] | None = None,
    irregular: tuple[Array, Array] | None = None,
) -> tuple[Array, Array]:
    """Maximum one-to-one matching of gold and predicted spans on same-group half-open overlap.

    Returns, for each gold row, the index of its predicted partner or -1, and the reverse.
    Isolated overlapping pairs (each side overlapping only the other) are matched in bulk;
    only the remaining tangled clusters go through the interval sweep, or, for a group holding
    a span marked in ``irregular`` (discontinuous: ``pairs`` then come from its fragments), through
    a general augmenting-path matching of the given pairs.
    """
    ng, npr = len(g_start), len(p_start)
    match_g = np.full(ng, -1, dtype=np.int64)
    match_p = np.full(npr, -1, dtype=np.int64)
    if pairs is None:
        pairs = overlap_pairs(g_group, g_start, g_end, p_group, p_start, p_end)
    gi, pj = pairs
    if len(gi) == 0:
        return match_g, match_p
    deg_g = np.bincount(gi, minlength=ng)
    deg_p = np.bincount(pj, minlength=npr)
    simple = (deg_g[gi] == 1) & (deg_p[pj] == 1)
    match_g[gi[simple]] = pj[simple]
    match_p[pj[simple]] = gi[simple]
    rest_g = np.unique(gi[~simple])
    if len(rest_g) == 0:
        return match_g, match_p
    rest_p = np.unique(pj[~simple])
    rg_group = g_group[rest_g]
    rp_group = p_group[rest_p]
    og = np.argsort(rg_group, kind="stable")
    op = np.argsort(rp_group, kind="stable")
    rest_g, rg_group = rest_g[og], rg_group[og]
    rest_p, rp_group = rest_p[op], rp_group[op]
    groups, g_first = np.unique(rg_group, return_index=True)
    g_bounds = np.append(g_first, len(rest_g)).tolist()
    p_lo = np.searchsorted(rp_group, groups, side="left").tolist()
    p_hi = np.searchsorted(rp_group, groups, side="right").tolist()
    gs, ge = g_start[rest_g].tolist(), g_end[rest_g].tolist()
    ps, pe = p_start[rest_p].tolist(), p_end[rest_p].tolist()
    rest_g_list, rest_p_list = rest_g.tolist(), rest_p.tolist()
    general: dict[int, list[tuple[int, int]]] = {}
    if irregular is not None and (irregular[0][rest_g].any() or irregular[1][rest_p].any()):
        odd = set(rg_group[irregular[0][rest_g]].tolist()) | set(rp_group[irregular[1][rest_p]].tolist())
        tangled_g, tangled_p = gi[~simple], pj[~simple]
        for a, b, grp in zip(
            tangled_g.tolist(), tangled_p.tolist(), g_group[tangled_g].tolist(), strict=True
        ):
            if grp in odd:
                general.setdefault(grp, []).append((a, b))
    for edges in general.values():
        for gidx, pidx in _augmenting_matching(edges):
            match_g[gidx] = pidx
            match_p[pidx] = gidx
    for k in range(len(groups)):
        if general and int(groups[k]) in general:
            continue
        a0, a1 = g_bounds[k], g_bounds[k + 1]
        b0, b1 = p_lo[k], p_hi[k]
        for i, j in _interval_matching(gs[a0:a1], ge[a0:a1], ps[b0:b1], pe[b0:b1]):
            gidx, pidx = rest_g_list[a0 + i], rest_p_list[b0 + j]
            match_g[gidx] = pidx
            match_p[pidx] = gidx
    return match_g, match_p


def greedy_first_overlap(n_gold: int, n_pred: int, pairs: tuple[Array, Array]) -> tuple[Array, Array]:
    """Each gold, in array order, takes the first (lowest index) unmatched overlapping prediction.

    This is the order-dependent greedy of the first MultiClinAI "partial" metric; it is not a
    maximum matching (a gold that grabs a shared prediction can starve a later gold).
    """
    matched_g = np.zeros(n_gold, dtype=bool)
    matched_p = np.zeros(n_pred, dtype=bool)
    gi, pj = pairs
    if len(gi) == 0:
        return matched_g, matched_p
    order = np.lexsort((pj, gi))
    taken: set[int] = set()
    done = -1
    for g, p in zip(gi[order].tolist(), pj[order].tolist(), strict=True):
        if g == done or p in taken:
            continue
        taken.add(p)
        matched_g[g] = True
        done = g
    matched_p[list(taken)] = True
    return matched_g, matched_p


def dice_scores(
    g_start: Array, g_end: Array, p_start: Array, p_end: Array, pairs: tuple[Array, Array]
) -> tuple[Array, Array]:
    """Best character-overlap (Dice) score of each gold and each prediction over the given pairs.

    The score of a pair is computed exactly as the official MultiClinAI evaluator does
    (``2*p*r/(p+r)`` with p = inter/len_pred, r = inter/len_gold) so the floats agree bit for
    bit; pairs that do not share a character score 0, so only overlapping pairs are needed.
    """
    best_g = np.zeros(len(g_start), dtype=np.float64)
    best_p = np.zeros(len(p_start), dtype=np.float64)
    gi, pj = pairs
    if len(gi) == 0:
        return best_g, best_p
    inter = (np.minimum(g_end[gi], p_end[pj]) - np.maximum(g_start[gi], p_start[pj])).astype(np.float64)
    recall = inter / (g_end[gi] - g_start[gi])
    precision = inter / (p_end[pj] - p_start[pj])
    score = 2 * precision * recall / (precision + recall)
    np.maximum.at(best_g, gi, score)
    np.maximum.at(best_p, pj, score)
    return best_g, best_p
