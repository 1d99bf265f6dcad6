"""Incremental identity updates: re-cluster only the components a batch touches.

A component's clustering depends only on its own records, edges and decisions, so recomputing
every component that holds a new, changed or removed record, an endpoint of a new edge, or a
record named by a steward decision (one in force now, or one the previous state was built with
that is gone or changed kind), and carrying the rest over untouched, gives the clusters a full
refresh would give. The affected set is closed over link edges (``match_probability >=
threshold`` and must-links) and over previous customers (a customer is recomputed whole or not
at all), so the guard's splits are recomputed per whole component too.

Known limit: a change of ``ClusteringPolicy`` needs a full refresh (``cluster_records`` +
``assign_stable_ids``).
"""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl

from cdp.identity.cluster import cluster_records
from cdp.identity.decisions import withdrawn_decisions
from cdp.identity.graph import canonical_pairs, endpoints, key_hash
from cdp.identity.ids import match_ids
from cdp.identity.model import (
    KEYS,
    PAIR_KEYS,
    REVIEW_BAND,
    REVIEW_COLUMNS,
    ClusteringPolicy,
    Decisions,
    IdentityState,
    IncrementalResult,
    naive_utc,
)
from cdp.schemas.canonical import conform

log = logging.getLogger(__name__)

_LEFT = ["source_l", "record_id_l"]
_RIGHT = ["source_r", "record_id_r"]


def update_incrementally(
    previous: IdentityState,
    previous_edges: pl.DataFrame,
    new_edges: pl.DataFrame,
    *,
    records: pl.DataFrame,
    removed: pl.DataFrame,
    policy: ClusteringPolicy,
    decisions: Decisions,
    run_id: str,
    run_time: dt.datetime,
    changed: pl.DataFrame | None = None,
    previous_review_queue: pl.DataFrame | None = None,
    reweighed: pl.DataFrame | None = None,
    previous_decisions: Decisions | None = None,
) -> IncrementalResult:
    """Apply one batch on top of the previous identity state.

    Args:
        previous: the last published identity state.
        previous_edges: the edge table that state was built from.
        new_edges: every scored pair that involves a new or changed record.
        records: ALL current party records (source, record_id, national_id_token); records of the
            previous state missing here count as removed.
        removed: keys (source, record_id) of records deleted at the source or erased; they leave
            their customers even if still present in ``records``.
        policy: clustering policy (must equal the one the previous state was built with).
        decisions: the steward's decisions in force.
        run_id: identifies this run in the change log.
        run_time: when this run happened (naive UTC).
        changed: keys of previously known records whose content changed; their previous edges are
            dropped in favour of ``new_edges``.
        previous_review_queue: the last published review queue; its rows away from the affected
            records are carried over. Without it, ``review_queue`` holds the affected rows only.
        reweighed: keys of unchanged records with a reused edge whose new weight moved it across
            the threshold, the review band or the floor: their components are re-clustered too.
        previous_decisions: the decisions ``previous`` was built with. The records of a decision
            withdrawn since (or turned from must-link to cannot-link or back) are re-clustered, so
            the withdrawal applies at once, as in a full refresh. None: the same as ``decisions``.

    Returns:
        The new state, the affected customer IDs, the merged edge table and the review queue.
    """
    keys = list(KEYS)
    previous = previous.conformed()
    run_time = naive_utc(run_time)
    gone_input = removed.select(keys).unique()
    current = records.join(gone_input, on=keys, how="anti")
    current_keys = current.select(keys)
    prev = previous.clusters
    gone = prev.select(keys).join(current_keys, on=keys, how="anti")
    touched = (
        changed.select(keys).unique()
        if changed is not None
        else pl.DataFrame(schema=prev.select(keys).schema)
    )
    dropped = pl.concat([gone, touched]).unique()
    arrivals = current_keys.join(prev.select(keys), on=keys, how="anti")
    fresh_edges = _new_edges(new_edges, current_keys)
    edges = pl.concat(
        [_carried_edges(previous_edges, fresh_edges, dropped, arrivals), fresh_edges], how="diagonal_relaxed"
    )

    decided = canonical_pairs(
        pl.concat([decisions.must_link.select(PAIR_KEYS), decisions.cannot_link.select(PAIR_KEYS)])
    )
    withdrawn = withdrawn_decisions(previous_decisions, decisions)
    seeds = pl.concat(
        [
            arrivals,
            touched,
            pl.DataFrame(schema=prev.select(keys).schema) if reweighed is None else reweighed.select(keys),
            endpoints(fresh_edges),
            endpoints(decided),
            endpoints(withdrawn),
            _mates(prev, gone),
        ]
    ).unique()
    seeds = seeds.join(gone, on=keys, how="anti")
    links = pl.concat(
        [
            edges.filter(pl.col("match_probability") >= policy.threshold).select(PAIR_KEYS),
            decisions.must_link.select(PAIR_KEYS),
        ]
    )
    affected = _closure(seeds, links, prev, current_keys)

    result = cluster_records(
        current.join(affected, on=keys, how="semi"),
        edges.join(affected, left_on=_LEFT, right_on=keys, how="semi").join(
            affected, left_on=_RIGHT, right_on=keys, how="semi"
        ),
        policy=policy,
        decisions=decisions,
    )
    old_ids = prev.join(pl.concat([affected, gone]), on=keys, how="semi")["customer_id"].unique()
    recomputed_before = prev.filter(pl.col("customer_id").is_in(old_ids.implode()))
    rebuilt, events, merged_into = match_ids(
        result.assignments,
        recomputed_before,
        history=previous,
        run_id=run_id,
        run_time=run_time,
    )
    # Carried rows keep their previous order and recomputed rows follow: deterministic without
    # paying for a sort of every record.
    clusters = pl.concat(
        [prev.filter(~pl.col("customer_id").is_in(old_ids.implode())).select(rebuilt.columns), rebuilt]
    )
    state = IdentityState(
        clusters=clusters,
        merged_into=merged_into,
        changes=pl.concat([previous.changes, events]),
    )
    reach = pl.concat([affected, gone])
    review = _review_queue(result.review_queue, edges, reach, decided, previous_review_queue, policy=policy)
    affected_ids = _changed_customers(recomputed_before, rebuilt)
    log.info(
        "incremental identity: %d seeds (%d withdrawn decisions), %d affected records, %d gone, "
        "%d affected customers, %d events",
        seeds.height,
        withdrawn.height,
        affected.height,
        gone.height,
        affected_ids.len(),
        events.height,
    )
    return IncrementalResult(
        state=state,
        affected_customer_ids=affected_ids,
        edges=edges,
        review_queue=review,
        guard_flags=result.guard_flags,
        affected_records=affected.height,
    )


def _new_edges(new_edges: pl.DataFrame, current_keys: pl.DataFrame) -> pl.DataFrame:
    """New pairs among current records, one row per unordered pair (the last one given wins)."""
    keys = list(KEYS)
    # Probe the (large) record table with the (small) set of endpoints, never the other way round.
    known = current_keys.join(endpoints(new_edges).unique(), on=keys, how="semi")
    return (
        canonical_pairs(new_edges)
        .join(known, left_on=_LEFT, right_on=keys, how="semi", maintain_order="left")
        .join(known, left_on=_RIGHT, right_on=keys, how="semi", maintain_order="left")
        .unique(subset=list(PAIR_KEYS), keep="last", maintain_order=True)
    )


def _carried_edges(
    previous_edges: pl.DataFrame, fresh: pl.DataFrame, dropped: pl.DataFrame, arrivals: pl.DataFrame
) -> pl.DataFrame:
    """Previous pairs that still hold: no dropped endpoint and not re-scored in ``fresh``."""
    keys = list(KEYS)
    kept = previous_edges.join(dropped, left_on=_LEFT, right_on=keys, how="anti", maintain_order="left").join(
        dropped, left_on=_RIGHT, right_on=keys, how="anti", maintain_order="left"
    )
    # Only a fresh pair between two already-known records can repeat a previous pair; usually none.
    rescored = (
        fresh.select(PAIR_KEYS)
        .join(arrivals, left_on=_LEFT, right_on=keys, how="anti")
        .join(arrivals, left_on=_RIGHT, right_on=keys, how="anti")
    )
    if rescored.is_empty():
        return kept
    flipped = rescored.select(
        source_l="source_r", record_id_l="record_id_r", source_r="source_l", record_id_r="record_id_l"
    )
    return kept.join(rescored, on=list(PAIR_KEYS), how="anti", maintain_order="left").join(
        flipped, on=list(PAIR_KEYS), how="anti", maintain_order="left"
    )


def _mates(prev: pl.DataFrame, of: pl.DataFrame) -> pl.DataFrame:
    """Keys of every record that shared a previous customer with a record of ``of``."""
    customers = prev.join(of, on=list(KEYS), how="semi").select("customer_id").unique()
    return prev.join(customers, on="customer_id", how="semi").select(KEYS)


def _changed_customers(before: pl.DataFrame, after: pl.DataFrame) -> pl.Series:
    """Customers that gained, lost or changed a record (recomputed ones left as they were are not:
    downstream tables do not change for them)."""
    assignment = [*KEYS, "customer_id"]
    left = before.select(assignment).join(after.select(assignment), on=assignment, how="anti")
    joined = after.select(assignment).join(before.select(assignment), on=assignment, how="anti")
    return pl.concat([left["customer_id"], joined["customer_id"]]).unique().sort().rename("customer_id")


def _closure(
    seeds: pl.DataFrame, links: pl.DataFrame, prev: pl.DataFrame, current: pl.DataFrame
) -> pl.DataFrame:
    """Grow ``seeds`` over link edges and previous customers until nothing new is reached.

    The walk runs on 64-bit hashes of record keys, so each step is an integer join. A hash
    collision can only add records (every record with a reached hash is taken, with all its links
    and customer mates), and recomputing extra components is harmless, so no result depends on it.
    """
    hashed = links.select(left=key_hash("source_l", "record_id_l"), right=key_hash("source_r", "record_id_r"))
    members = prev.select(node=key_hash("source", "record_id"), customer=pl.col("customer_id").hash())
    affected = seeds.select(node=key_hash("source", "record_id")).unique()
    frontier = affected
    while frontier.height:
        customers = members.join(frontier, on="node", how="semi").select("customer").unique()
        reached = pl.concat(
            [
                hashed.join(frontier, left_on="left", right_on="node", how="semi").select(node="right"),
                hashed.join(frontier, left_on="right", right_on="node", how="semi").select(node="left"),
                members.join(customers, on="customer", how="semi").select("node"),
            ]
        )
        frontier = reached.unique().join(affected, on="node", how="anti")
        affected = pl.concat([affected, frontier])
    return current.filter(key_hash("source", "record_id").is_in(affected["node"].implode())).select(KEYS)


def _review_queue(
    recomputed: pl.DataFrame,
    edges: pl.DataFrame,
    reach: pl.DataFrame,
    decided: pl.DataFrame,
    previous_queue: pl.DataFrame | None,
    *,
    policy: ClusteringPolicy,
) -> pl.DataFrame:
    """Recomputed rows, band pairs leaving the affected set, and untouched previous rows."""
    keys = list(KEYS)
    band = edges.filter(pl.col("match_probability").is_between(*policy.review_band, closed="left"))
    leaving = (
        pl.concat(
            [
                band.join(reach, left_on=_LEFT, right_on=keys, how="semi").join(
                    reach, left_on=_RIGHT, right_on=keys, how="anti"
                ),
                band.join(reach, left_on=_RIGHT, right_on=keys, how="semi").join(
                    reach, left_on=_LEFT, right_on=keys, how="anti"
                ),
            ]
        )
        .pipe(canonical_pairs)
        .join(decided, on=list(PAIR_KEYS), how="anti")
        .with_columns(reason=pl.lit(REVIEW_BAND))
        .sort(*PAIR_KEYS)
    )
    parts = [recomputed, conform(leaving, REVIEW_COLUMNS)]
    if previous_queue is not None:
        untouched = (
            conform(previous_queue, REVIEW_COLUMNS)
            .join(reach, left_on=_LEFT, right_on=keys, how="anti", maintain_order="left")
            .join(reach, left_on=_RIGHT, right_on=keys, how="anti", maintain_order="left")
            .join(decided, on=list(PAIR_KEYS), how="anti", maintain_order="left")
        )
        parts.append(_with_current_weights(untouched, edges))
    return pl.concat(parts)


def _with_current_weights(rows: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with the probability and weight their pair's edge has today.

    Stored edges are re-weighed as the population changes (term frequencies, prior), and a full
    run's queue takes its numbers from today's edges; a carried row must not keep yesterday's.
    A row without an edge (a decision naming an unknown record) keeps its own.
    """
    if rows.is_empty():
        return rows
    record_ids = pl.concat([rows["record_id_l"], rows["record_id_r"]]).unique().implode()
    pair = list(PAIR_KEYS)
    today = canonical_pairs(
        edges.filter(
            pl.col("record_id_l").is_in(record_ids) | pl.col("record_id_r").is_in(record_ids)
        ).select(*pair, "match_probability", "match_weight")
    ).unique(pair, keep="first", maintain_order=True)
    has_edge = pl.col("_edge_probability").is_not_null()
    return (
        rows.join(
            today.rename({"match_probability": "_edge_probability", "match_weight": "_edge_weight"}),
            on=pair,
            how="left",
            maintain_order="left",
        )
        .with_columns(
            match_probability=pl.when(has_edge).then("_edge_probability").otherwise("match_probability"),
            match_weight=pl.when(has_edge).then("_edge_weight").otherwise("match_weight"),
        )
        .select(rows.columns)
    )
