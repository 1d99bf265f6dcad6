"""Graph kernels: record indexing, connected components and the constrained greedy union-find.

Records are numbered in record-key order (the string ``source:record_id``, compared byte-wise), so
a smaller node number is always a smaller record key. Everything downstream leans on that: a
component's label (its smallest node) is its smallest record key, and breaking ties by node number
is breaking them by record key, whatever subset of records is being clustered (which keeps
incremental runs equal to full ones).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from cdp.identity.model import (
    CANNOT_LINK,
    KEYS,
    MAX_CLUSTER_SIZE,
    NATIONAL_ID_CONFLICT,
    PAIR_KEYS,
    record_key_expr,
)


def index_records(records: pl.DataFrame) -> pl.DataFrame:
    """Number records in record-key order: node (Int64), source, record_id, key, national_id_token.

    Raises:
        ValueError: the same record key appears twice (an upstream contract breach).
    """
    token = pl.col("national_id_token") if "national_id_token" in records.columns else pl.lit(None)
    index = records.select(*KEYS, key=record_key_expr(), national_id_token=token.cast(pl.String)).sort("key")
    if index["key"].null_count():
        raise ValueError(f"identity: {index['key'].null_count()} records have a null source or record_id")
    duplicated = index.select((pl.col("key") == pl.col("key").shift(1)).sum()).item()
    if duplicated:
        raise ValueError(f"identity: {duplicated} duplicate record keys (source:record_id) in the records")
    return index.with_row_index("node").with_columns(pl.col("node").cast(pl.Int64))


def map_pairs(pairs: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """Replace the four key columns of ``pairs`` by canonical node numbers ``a < b``.

    Pairs naming an unknown record, and self-pairs, are dropped; other columns are kept.
    """
    nodes = index.select(*KEYS, "node")
    left = nodes.rename({"source": "source_l", "record_id": "record_id_l", "node": "node_l"})
    right = nodes.rename({"source": "source_r", "record_id": "record_id_r", "node": "node_r"})
    mapped = pairs.join(left, on=["source_l", "record_id_l"], how="inner").join(
        right, on=["source_r", "record_id_r"], how="inner"
    )
    return (
        mapped.with_columns(a=pl.min_horizontal("node_l", "node_r"), b=pl.max_horizontal("node_l", "node_r"))
        .filter(pl.col("a") != pl.col("b"))
        .drop(*PAIR_KEYS, "node_l", "node_r")
    )


def endpoints(pairs: pl.DataFrame) -> pl.DataFrame:
    """Both records (``source``, ``record_id``) of every pair, one row per end (not deduplicated)."""
    return pl.concat(
        [
            pairs.select(source="source_l", record_id="record_id_l"),
            pairs.select(source="source_r", record_id="record_id_r"),
        ]
    )


def key_hash(source: str, record_id: str) -> pl.Expr:
    """A 64-bit hash of a record key, for walking the link graph with integer joins."""
    return pl.struct(pl.col(source).alias("source"), pl.col(record_id).alias("record_id")).hash()


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Label every node 0..n-1 with the smallest node of its connected component.

    Min-label hooking with pointer jumping: each round hooks the larger root of every
    still-split edge under the smaller one, then flattens the trees. Rounds are few (logarithmic
    in practice) and each is a handful of vectorized passes.
    """
    parent = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return parent
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while True:
        root_a = parent[a]
        root_b = parent[b]
        split = root_a != root_b
        if not split.any():
            return parent
        root_a, root_b = root_a[split], root_b[split]
        np.minimum.at(parent, np.maximum(root_a, root_b), np.minimum(root_a, root_b))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        a, b = a[split], b[split]


def constrained_union(
    nodes: np.ndarray,
    tokens: Sequence[str | None],
    links: pl.DataFrame,
    cannot: pl.DataFrame,
    *,
    max_size: int,
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Greedy union-find over ``links`` in their given order, refusing merges that break a rule.

    A merge is refused when a cannot-link pair would end up together, and, for model links only,
    when the two sets hold different national-ID tokens (neither set's tokens include the
    other's) or when the merged set would exceed ``max_size``. A steward's must-link overrides
    the national-ID and size rules: it is a human decision with who, when and why. A set joined
    that way holds several tokens, and a model link may still add a record carrying one of them.
    Refused pairs can never be joined later, because every rule stays broken for any superset.

    Args:
        nodes: the sorted node numbers taking part.
        tokens: national-ID token per entry of ``nodes`` (None when unknown).
        links: ordered rows with columns ``a``, ``b``, ``is_must``.
        cannot: cannot-link pairs ``a``, ``b`` among ``nodes``.
        max_size: the cluster size cap.

    Returns:
        The new label (smallest node of its set) per entry of ``nodes``, and the refused links as
        (row position in ``links``, reason).
    """
    position = {int(node): i for i, node in enumerate(nodes.tolist())}
    parent = list(range(len(nodes)))
    size = [1] * len(nodes)
    token: list[frozenset[str]] = [frozenset() if t is None else frozenset((t,)) for t in tokens]
    forbidden: dict[int, set[int]] = {}
    for x, y in zip(cannot["a"].to_list(), cannot["b"].to_list(), strict=True):
        forbidden.setdefault(position[x], set()).add(position[y])
        forbidden.setdefault(position[y], set()).add(position[x])

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def kept_apart(rx: int, ry: int) -> bool:
        of_x, of_y = forbidden.get(rx, set()), forbidden.get(ry, set())
        if len(of_x) <= len(of_y):
            return any(find(z) == ry for z in of_x)
        return any(find(z) == rx for z in of_y)

    refused: list[tuple[int, str]] = []
    rows = zip(links["a"].to_list(), links["b"].to_list(), links["is_must"].to_list(), strict=True)
    for row, (x, y, is_must) in enumerate(rows):
        rx, ry = find(position[x]), find(position[y])
        if rx == ry:
            continue
        tx, ty = token[rx], token[ry]
        if not is_must and not (tx <= ty or ty <= tx):
            refused.append((row, NATIONAL_ID_CONFLICT))
        elif kept_apart(rx, ry):
            refused.append((row, CANNOT_LINK))
        elif not is_must and size[rx] + size[ry] > max_size:
            refused.append((row, MAX_CLUSTER_SIZE))
        else:
            # The smaller position becomes the root, so a root is always its set's smallest node.
            low, high = min(rx, ry), max(rx, ry)
            parent[high] = low
            size[low] += size[high]
            token[low] = tx | ty
            if high in forbidden:
                forbidden.setdefault(low, set()).update(forbidden.pop(high))
    labels = nodes[np.fromiter((find(i) for i in range(len(nodes))), dtype=np.int64, count=len(nodes))]
    return labels, refused


def canonical_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    """Orient every pair so that the left record key is the smaller one."""
    swap = record_key_expr("source_l", "record_id_l") > record_key_expr("source_r", "record_id_r")
    return pairs.with_columns(
        source_l=pl.when(swap).then("source_r").otherwise("source_l"),
        record_id_l=pl.when(swap).then("record_id_r").otherwise("record_id_l"),
        source_r=pl.when(swap).then("source_l").otherwise("source_r"),
        record_id_r=pl.when(swap).then("record_id_l").otherwise("record_id_r"),
    )
