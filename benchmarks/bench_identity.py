"""Benchmark the identity stage on synthetic edges.

Builds N party records (4 sources) grouped into synthetic people, about 1.5 edges per record
(strong links inside a person, review-band pairs and a few false strong links across people, some
national-ID token typos so the guard has work), then times:

1. ``cluster_records`` + ``assign_stable_ids`` on the full set (first run, no previous state);
2. the same with the previous state and no change (must log nothing);
3. ``update_incrementally`` with a batch of new records (half of them joining existing people).

Usage::

    python benchmarks/bench_identity.py --records 1000000 --batch 10000
    python benchmarks/bench_identity.py --records 1000000 --compare-splink   # also time Splink's CC
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import polars as pl

from cdp.identity import ClusteringPolicy, Decisions, assign_stable_ids, cluster_records, update_incrementally

T = TypeVar("T")
SOURCES = np.array(["core_customers", "card_holders", "mortgage_borrowers", "digital_users"])


def synthetic(n: int, *, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records (source, record_id, national_id_token) and scored edges among them."""
    rng = np.random.default_rng(seed)
    sizes = np.minimum(rng.geometric(0.35, size=n), 15)
    person = np.repeat(np.arange(n), sizes)[:n]
    person = person[rng.permutation(n)]
    has_token = rng.random(person.max() + 1) < 0.6
    carries = has_token[person] & (rng.random(n) < 0.85)
    typo = carries & (rng.random(n) < 0.003)
    records = pl.DataFrame(
        {
            "source": SOURCES[rng.integers(0, len(SOURCES), n)],
            "record_id": np.char.zfill(np.arange(n).astype(str), 9),
            "person": person,
            "carries": carries,
            "typo": typo,
        }
    ).select(
        "source",
        "record_id",
        national_id_token=pl.when("typo")
        .then(pl.format("typo{}", "record_id"))
        .when("carries")
        .then(pl.format("tok{}", "person")),
    )
    order = np.argsort(person, kind="stable")
    start = np.searchsorted(person[order], person[order])
    size = np.bincount(person)[person[order]]
    lefts, rights, probs = [], [], []
    for _ in range(3):
        partner = order[start + (rng.random(n) * size).astype(np.int64)]
        lefts.append(order)
        rights.append(partner)
        probs.append(rng.choice([0.92, 0.97, 0.99, 0.9999], size=n))
    cross = int(n * 0.3)
    lefts.append(rng.integers(0, n, cross))
    rights.append(rng.integers(0, n, cross))
    probs.append(np.where(rng.random(cross) < 0.02, 0.95, rng.uniform(0.5, 0.9, cross)))
    left, right, prob = np.concatenate(lefts), np.concatenate(rights), np.concatenate(probs)
    low, high = np.minimum(left, right), np.maximum(left, right)
    pairs = pl.DataFrame({"a": low, "b": high, "match_probability": prob}).filter(pl.col("a") != pl.col("b"))
    pairs = pairs.unique(["a", "b"], keep="first", maintain_order=True)
    keys = records.select("source", "record_id")
    edges = pl.DataFrame(
        {
            "source_l": keys["source"].gather(pairs["a"]),
            "record_id_l": keys["record_id"].gather(pairs["a"]),
            "source_r": keys["source"].gather(pairs["b"]),
            "record_id_r": keys["record_id"].gather(pairs["b"]),
            "match_probability": pairs["match_probability"],
        }
    ).with_columns(
        match_weight=(pl.col("match_probability") / (1 - pl.col("match_probability"))).log(2),
        match_reason=pl.lit("splink"),
    )
    return records, edges


def timed(label: str, action: Callable[[], T]) -> T:
    """Run ``action`` and print its wall time and the CPU time it used (all threads)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = action()
    print(f"{label:<48} {time.perf_counter() - start:8.2f} s wall {time.process_time() - cpu:8.2f} s cpu")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--compare-splink", action="store_true")
    args = parser.parse_args()

    records, edges = timed(
        "generate synthetic data", lambda: synthetic(args.records + args.batch, seed=args.seed)
    )
    rng = np.random.default_rng(args.seed + 1)
    held = pl.Series(rng.choice(records.height, args.batch, replace=False)).sort()
    batch = records[held]
    initial = records.join(batch.select("source", "record_id"), on=["source", "record_id"], how="anti")
    # Synthetic record ids are unique across sources, so the id alone finds a batch record's edges.
    held_ids = batch["record_id"].implode()
    on_edge_l = pl.col("record_id_l").is_in(held_ids)
    on_edge_r = pl.col("record_id_r").is_in(held_ids)
    touching = edges.filter(on_edge_l | on_edge_r)
    initial_edges = edges.filter(~(on_edge_l | on_edge_r))
    print(
        f"records {initial.height:,} + batch {batch.height:,}; "
        f"edges {initial_edges.height:,} + {touching.height:,}"
    )

    policy = ClusteringPolicy()
    decisions = Decisions.none()
    run_time = dt.datetime(2025, 1, 1)
    start = time.perf_counter()
    clustered = timed(
        "cluster_records", lambda: cluster_records(initial, initial_edges, policy=policy, decisions=decisions)
    )
    state = timed(
        "assign_stable_ids (first run)",
        lambda: assign_stable_ids(clustered.assignments, None, run_id="r1", run_time=run_time),
    )
    print(f"{'  = full batch total':<48} {time.perf_counter() - start:8.2f} s")
    print(
        f"  customers {state.clusters['customer_id'].n_unique():,}, "
        f"guarded components {clustered.guard_flags.height:,}, "
        f"review rows {clustered.review_queue.height:,}, events {state.changes.height:,}"
    )
    again = timed(
        "assign_stable_ids (re-run, nothing changed)",
        lambda: assign_stable_ids(
            clustered.assignments, state, run_id="r2", run_time=run_time + dt.timedelta(days=1)
        ),
    )
    assert again.changes.height == state.changes.height, "a re-run with no change must log nothing"

    result = timed(
        f"update_incrementally (+{batch.height:,} records)",
        lambda: update_incrementally(
            state,
            initial_edges,
            touching,
            records=records,
            removed=pl.DataFrame(schema={"source": pl.String(), "record_id": pl.String()}),
            policy=policy,
            decisions=decisions,
            run_id="r3",
            run_time=run_time + dt.timedelta(days=2),
            previous_review_queue=clustered.review_queue,
        ),
    )
    print(
        f"  affected records {result.affected_records:,}, "
        f"affected customers {result.affected_customer_ids.len():,}, "
        f"events {result.state.changes.height - state.changes.height:,}"
    )
    if args.compare_splink:
        compare_splink(initial, initial_edges, policy.threshold)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


def compare_splink(records: pl.DataFrame, edges: pl.DataFrame, threshold: float) -> None:
    """Time Splink's own connected components on the same links (plain CC, no guard)."""
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    nodes = records.select(unique_id=pl.concat_str("source", pl.lit(":"), "record_id"))
    links = edges.select(
        unique_id_l=pl.concat_str("source_l", pl.lit(":"), "record_id_l"),
        unique_id_r=pl.concat_str("source_r", pl.lit(":"), "record_id_r"),
        match_probability="match_probability",
    )
    db_api = DuckDBAPI()

    def run() -> int:
        clusters = cluster_pairwise_predictions_at_threshold(
            nodes.to_arrow(),
            links.to_arrow(),
            db_api=db_api,
            node_id_column_name="unique_id",
            threshold_match_probability=threshold,
        )
        return len(clusters.as_duckdbpyrelation().fetchall())

    timed("splink cluster_pairwise_predictions_at_threshold", run)


if __name__ == "__main__":
    main()
