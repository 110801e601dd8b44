"""Links -> clusters -> master customer ids that stay put from one run to the next."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(ids: pd.Series, pairs: pd.DataFrame) -> np.ndarray:
    """Connected components of the link graph: a cluster label per record (order of `ids`)."""
    index = pd.Index(ids)
    left = index.get_indexer(pairs["unique_id_l"])
    right = index.get_indexer(pairs["unique_id_r"])
    ok = (left >= 0) & (right >= 0)
    n = len(index)
    graph = coo_matrix((np.ones(ok.sum()), (left[ok], right[ok])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def stable_ids(ids: pd.Series, labels: np.ndarray, previous: dict[str, str]) -> list[str]:
    """A master id per record. A cluster keeps the id most of its records had before; when two
    clusters claim one id (a split), the bigger keeps it; brand-new clusters get new numbers."""
    members: dict[int, list[int]] = {}
    for pos, label in enumerate(labels):
        members.setdefault(int(label), []).append(pos)
    taken: set[str] = set()
    out: list[str | None] = [None] * len(ids)
    fresh: list[int] = []
    numbers = [int(v[1:]) for v in previous.values() if v[1:].isdigit()]
    next_number = max(numbers, default=0) + 1
    id_list = list(ids)
    for label in sorted(members, key=lambda k: -len(members[k])):
        votes = Counter(previous[id_list[p]] for p in members[label] if id_list[p] in previous)
        chosen = next((cid for cid, _ in votes.most_common() if cid not in taken), None)
        if chosen is None:
            fresh.append(label)
            continue
        taken.add(chosen)
        for p in members[label]:
            out[p] = chosen
    for label in sorted(fresh, key=lambda k: min(id_list[p] for p in members[k])):
        cid = f"C{next_number:07d}"
        next_number += 1
        for p in members[label]:
            out[p] = cid
    return out  # type: ignore[return-value]


def pair_quality(predicted: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the true one (same index)."""
    def pairs(counts: pd.Series) -> float:
        return float((counts * (counts - 1) / 2).sum())

    both = pd.DataFrame({"p": predicted, "t": truth}).dropna()
    tp = pairs(both.groupby(["p", "t"]).size())
    pred = pairs(both.groupby("p").size())
    true = pairs(both.groupby("t").size())
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true, "predicted_pairs": pred}


def components_keeping_apart(ids: pd.Series, pairs: pd.DataFrame, apart: list[tuple[str, str]]) -> np.ndarray:
    """Connected components where the given pairs never end up together.

    Edges are added strongest first (Kruskal's order); an edge that would join two groups
    holding a kept-apart pair is skipped. Union-find written out because no library offers
    union-find with cannot-link constraints.
    """
    index = {u: i for i, u in enumerate(ids)}
    parent = list(range(len(index)))
    forbidden: dict[int, set[int]] = {}
    for a, b in apart:
        if a in index and b in index:
            forbidden.setdefault(index[a], set()).add(index[b])
            forbidden.setdefault(index[b], set()).add(index[a])

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    order = pairs.sort_values("match_probability", ascending=False, kind="stable")
    for left, right in zip(order["unique_id_l"], order["unique_id_r"], strict=True):
        if left not in index or right not in index:
            continue
        a, b = root(index[left]), root(index[right])
        if a == b:
            continue
        fa, fb = forbidden.get(a, set()), forbidden.get(b, set())
        if any(root(x) == b for x in fa) or any(root(x) == a for x in fb):
            continue
        parent[b] = a
        if fb:
            forbidden[a] = fa | fb
    return np.array([root(i) for i in range(len(index))])
