"""Persistent, opaque customer IDs on top of record clusters, with an append-only change log.

Rules (all deterministic, so the same inputs always give the same IDs):

- A new customer's ID is ``'C' + sha256(smallest record key)[:16]`` (hex), where a record key is
  the string ``source:record_id`` and keys compare byte-wise. If that ID was ever used before
  (live, merged away or only logged), or two new customers would share it, the later one (by
  smallest record key) retries with ``sha256(key + '#' + attempt)``: a retired ID is never reused.
- Each previous customer has a *home*: the new cluster holding most of its *own* records, those
  it did not take in by absorbing a retired customer (ties: most of all its records, then the
  part whose smallest record of that customer has the smallest key; a customer with no own
  record left is homed by all its records). A cluster keeps the ID of a customer whose home it
  is; a cluster that is home to several customers is a merge and keeps the *survivor*: the one
  created first (earliest ``created`` event time in the change log; customers without one
  predate the log and count as oldest), then the lexicographically smallest ID. The others go
  to ``merged_into``.
- A customer's records that end up outside its home are a split: that cluster takes the ID of a
  customer homed there, else a revived ID (below), else a new ID.
- Undoing a merge revives the retired ID. The records a retired customer held when it was merged
  are read from the change log (its ``record_removed`` events of the merge run towards the
  survivor). When the survivor is split, each retired customer it absorbed (directly) is homed
  like a live one, over those records it still holds; if that home is no live customer's home
  and those records are more than half of the cluster's records, the cluster takes the retired
  ID back: its ``merged_into`` row is removed and the survivor logs a ``split`` towards it (no
  ``created``). At most one retired ID can hold more than half, so there is no tie. Otherwise a
  retired ID is never used again, and a new ID never takes a retired one.
- Records that are gone leave their customer (``record_removed``); a customer with no records left
  simply has no rows in ``identity_clusters``: there is no separate "retired" event.

Events: ``created`` (customer_id), ``merged`` (customer_id = retired ID, other_customer_id =
survivor), ``split`` (customer_id = the ID that lost records, other_customer_id = where they went;
detail says when that is a revived ID),
``record_added`` / ``record_removed`` (customer_id, source, record_id; other_customer_id = the
customer the record came from / went to, when any). Replaying the record events in order rebuilds
``identity_clusters`` exactly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable

import polars as pl

from cdp.identity.model import (
    CHANGE_COLUMNS,
    KEYS,
    MERGED_INTO_COLUMNS,
    IdentityState,
    naive_utc,
    record_key_expr,
)
from cdp.schemas.canonical import CLUSTER_COLUMNS, conform

log = logging.getLogger(__name__)


def assign_stable_ids(
    assignments: pl.DataFrame, previous: IdentityState | None, *, run_id: str, run_time: dt.datetime
) -> IdentityState:
    """Turn this run's clusters into customer IDs that carry over from ``previous``.

    Args:
        assignments: one row per current record: source, record_id, cluster_key (any label).
        previous: the last published state, or None on the first run.
        run_id: identifies this run in the change log.
        run_time: when this run happened (naive UTC).

    Returns:
        The new state: clusters, ``merged_into`` (revived IDs leave it) and the change log with
        this run's events appended (none when nothing changed).

    Example:
        >>> a = pl.DataFrame({"source": ["s"], "record_id": ["1"], "cluster_key": ["s:1"]})
        >>> assign_stable_ids(a, None, run_id="r1", run_time=dt.datetime(2024, 1, 1)).clusters.row(0)
        ('s', '1', 'C1b25f38c1aa8553b')
    """
    previous = (previous or IdentityState.empty()).conformed()
    run_time = naive_utc(run_time)
    clusters, events, merged_into = match_ids(
        assignments, previous.clusters, history=previous, run_id=run_id, run_time=run_time
    )
    return IdentityState(
        clusters=clusters, merged_into=merged_into, changes=pl.concat([previous.changes, events])
    )


def match_ids(
    assignments: pl.DataFrame,
    previous_clusters: pl.DataFrame,
    *,
    history: IdentityState,
    run_id: str,
    run_time: dt.datetime,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Match clusters to ``previous_clusters``; ``history`` supplies every ID ever used and ages.

    Row order follows ``assignments`` (then ``previous_clusters`` for removed records), so sorted
    inputs give sorted outputs without paying for another sort.

    Returns:
        The new cluster rows, this run's events and the whole ``merged_into`` after this run
        (``history``'s rows, less the revived IDs, plus this run's merges).
    """
    rows = assignments.select(*KEYS, "cluster_key").join(
        previous_clusters.select(*KEYS, old=pl.col("customer_id")),
        on=list(KEYS),
        how="left",
        maintain_order="left",
    )
    unchanged = _unchanged(rows, previous_clusters)
    moving = (
        rows.join(unchanged, on="cluster_key", how="anti", maintain_order="left")
        if unchanged.height
        else rows
    ).with_columns(key=record_key_expr())
    survivors, merged_pairs, splits, revived = _resolve_owners(moving, history=history)
    unowned = (
        moving.group_by("cluster_key")
        .agg(pl.col("key").min())
        .filter(~pl.col("cluster_key").is_in(pl.Series(list(survivors), dtype=pl.String).implode()))
        .sort("key")
    )
    minted = dict(
        zip(
            unowned["cluster_key"].to_list(), mint_ids(unowned["key"].to_list(), history=history), strict=True
        )
    )
    owner = pl.DataFrame(
        {"cluster_key": [*survivors, *minted], "customer_id": [*survivors.values(), *minted.values()]},
        schema={"cluster_key": pl.String(), "customer_id": pl.String()},
    )
    moved = moving.join(owner, on="cluster_key", how="left", maintain_order="left")
    clusters = (
        rows.join(pl.concat([unchanged, owner]), on="cluster_key", how="left", maintain_order="left")
        if unchanged.height
        else moved
    ).select(*KEYS, "customer_id")
    gone = previous_clusters.join(assignments.select(KEYS), on=list(KEYS), how="anti", maintain_order="left")
    events = _events(
        moved=moved,
        gone=gone,
        created=sorted(minted.values()),
        merged=merged_pairs,
        splits=[(old, (survivors | minted)[key], n) for old, key, n in splits],
        revived=revived,
        run_id=run_id,
        run_time=run_time,
    )
    merged = pl.DataFrame(
        [(retired, survivor, run_time, run_id) for retired, survivor in merged_pairs],
        schema=dict(MERGED_INTO_COLUMNS),
        orient="row",
    )
    kept = history.merged_into
    if revived:
        kept = kept.filter(
            ~pl.col("customer_id").is_in(pl.Series(sorted(revived), dtype=pl.String).implode())
        )
    log.info(
        "stable ids: %d records, %d clusters kept, %d new ids, %d merges, %d splits, %d revived, "
        "%d records gone",
        rows.height,
        unchanged.height,
        len(minted),
        len(merged_pairs),
        len(splits),
        len(revived),
        gone.height,
    )
    return conform(clusters, CLUSTER_COLUMNS), events, pl.concat([kept, merged])


def _unchanged(rows: pl.DataFrame, previous_clusters: pl.DataFrame) -> pl.DataFrame:
    """Clusters that are exactly one previous customer (no record in, none out): they keep its ID."""
    if previous_clusters.is_empty():
        return pl.DataFrame(schema={"cluster_key": pl.String(), "customer_id": pl.String()})
    previous_sizes = previous_clusters.group_by("customer_id").agg(previous_n=pl.len())
    return (
        rows.group_by("cluster_key")
        .agg(n=pl.len(), olds=pl.col("old").n_unique(), old=pl.col("old").first())
        .join(previous_sizes, left_on="old", right_on="customer_id", how="inner")
        .filter((pl.col("olds") == 1) & (pl.col("n") == pl.col("previous_n")))
        .select("cluster_key", customer_id="old")
    )


def _resolve_owners(
    moving: pl.DataFrame, *, history: IdentityState
) -> tuple[dict[str, str], list[tuple[str, str]], list[tuple[str, str, int]], set[str]]:
    """Pick which previous (or revived) ID each changed cluster keeps.

    Returns (cluster_key -> surviving ID, [(retired ID, survivor)], [(old ID, cluster_key,
    records)], revived IDs).
    """
    previous = moving.drop_nulls("old")
    split_olds = (
        previous.group_by("old").agg(parts=pl.col("cluster_key").n_unique()).filter(pl.col("parts") > 1)
    )
    origin = _merge_origins(previous, split_olds["old"], history=history)
    parts = (
        previous.join(origin, on=list(KEYS), how="left")
        .with_columns(own=pl.col("origin").is_null())
        .group_by("old", "cluster_key")
        .agg(n=pl.len(), own=pl.col("own").sum(), key=pl.col("key").min())
        .sort(["old", "own", "n", "key"], descending=[False, True, True, False])
        .with_columns(home=pl.int_range(pl.len()).over("old") == 0)
    )
    homes = parts.filter("home").group_by("cluster_key").agg(pl.col("old").sort()).sort("cluster_key")
    contested = [old for olds in homes["old"].to_list() if len(olds) > 1 for old in olds]
    age = _creation_times(history.changes, contested)
    survivors: dict[str, str] = {}
    merged: list[tuple[str, str]] = []
    for key, olds in homes.iter_rows():
        survivor = min(olds, key=lambda old: (age.get(old) is not None, age.get(old) or dt.datetime.min, old))
        survivors[key] = survivor
        merged.extend((old, survivor) for old in olds if old != survivor)
    revived = _revivals(previous.join(origin, on=list(KEYS), how="inner"), moving, homed=set(survivors))
    survivors |= revived
    splits = parts.filter(~pl.col("home")).select("old", "cluster_key", "n").rows()
    return survivors, sorted(merged), splits, set(revived.values())


def _merge_origins(previous: pl.DataFrame, split_olds: pl.Series, *, history: IdentityState) -> pl.DataFrame:
    """For records of a split customer that a retired customer brought in when it was merged into
    it: source, record_id and that retired ID (``origin``); the latest merge wins."""
    empty = pl.DataFrame(schema={"source": pl.String(), "record_id": pl.String(), "origin": pl.String()})
    if split_olds.is_empty() or history.merged_into.is_empty():
        return empty
    absorbed = history.merged_into.filter(pl.col("merged_into").is_in(split_olds.implode()))
    if absorbed.is_empty():
        return empty
    brought = history.changes.filter(
        (pl.col("event") == "record_removed") & pl.col("customer_id").is_in(absorbed["customer_id"].implode())
    ).join(
        absorbed.select("customer_id", "merged_into", "merged_at", "run_id"),
        left_on=["customer_id", "other_customer_id", "run_id"],
        right_on=["customer_id", "merged_into", "run_id"],
        how="inner",
    )
    # Only records the survivor still holds can go back; a record brought twice goes to the latest.
    return (
        brought.join(previous, left_on=[*KEYS, "other_customer_id"], right_on=[*KEYS, "old"], how="semi")
        .sort("merged_at", "customer_id")
        .unique(subset=list(KEYS), keep="last")
        .select(*KEYS, origin="customer_id")
    )


def _revivals(brought: pl.DataFrame, moving: pl.DataFrame, *, homed: set[str]) -> dict[str, str]:
    """cluster_key -> retired ID for clusters no live customer calls home and where more than half
    of the records are ones that retired ID held when it was merged (its home among the parts)."""
    if brought.is_empty():
        return {}
    sizes = moving.group_by("cluster_key").agg(size=pl.len())
    homes = (
        brought.group_by("origin", "cluster_key")
        .agg(n=pl.len(), key=pl.col("key").min())
        .sort(["origin", "n", "key"], descending=[False, True, False])
        .filter(pl.int_range(pl.len()).over("origin") == 0)
        .join(sizes, on="cluster_key")
        .filter((pl.col("n") * 2 > pl.col("size")) & ~pl.col("cluster_key").is_in(sorted(homed)))
    )
    return dict(homes.select("cluster_key", "origin").iter_rows())


def _creation_times(changes: pl.DataFrame, ids: list[str]) -> dict[str, dt.datetime]:
    if not ids or changes.is_empty():
        return {}
    created = (
        changes.filter((pl.col("event") == "created") & pl.col("customer_id").is_in(pl.Series(ids).implode()))
        .group_by("customer_id")
        .agg(pl.col("changed_at").min())
    )
    return dict(created.iter_rows())


def _already_used(candidates: list[str], history: IdentityState) -> set[str]:
    """The candidates that the history already mentions anywhere (live, merged away or logged)."""
    if not candidates:
        return set()
    columns = [
        history.clusters["customer_id"],
        history.merged_into["customer_id"],
        history.merged_into["merged_into"],
        history.changes["customer_id"],
        history.changes["other_customer_id"],
    ]
    if all(column.is_empty() for column in columns):
        return set()
    wanted = pl.Series(candidates, dtype=pl.String).implode()
    return {value for column in columns for value in column.filter(column.is_in(wanted)).to_list()}


def mint_ids(keys: list[str], *, history: IdentityState | None = None) -> list[str]:
    """New IDs for clusters named by their smallest record keys, never reusing an ID.

    Clashes (with the history or among the new IDs) are settled in smallest-key order, so the
    outcome never depends on input order.

    Example:
        >>> mint_ids(["s:1"])
        ['C1b25f38c1aa8553b']
    """
    history = history or IdentityState.empty()
    candidates = ["C" + hashlib.sha256(key.encode()).hexdigest()[:16] for key in keys]
    used = _already_used(candidates, history)
    duplicated = pl.Series(candidates, dtype=pl.String).is_duplicated()
    if not used and not duplicated.any():
        return candidates
    taken = set(used)
    result = list(candidates)

    def retry(position: int, attempt: int) -> str:
        return "C" + hashlib.sha256(f"{keys[position]}#{attempt}".encode()).hexdigest()[:16]

    # The history is large: look up the first few retries of every clash in one pass rather
    # than one pass per retry.
    clashing = [position for position, candidate in enumerate(candidates) if candidate in used]
    clashing += [position for position in range(len(keys)) if duplicated[position]]
    prefetched = {retry(position, attempt) for position in clashing for attempt in (1, 2, 3)}
    taken |= _already_used(sorted(prefetched), history)
    for position in sorted(range(len(keys)), key=keys.__getitem__):
        attempt = 0
        candidate = candidates[position]
        while candidate in taken:
            attempt += 1
            candidate = retry(position, attempt)
            if candidate not in prefetched:
                taken |= _already_used([candidate], history)
        taken.add(candidate)
        result[position] = candidate
    return result


def _events(
    *,
    moved: pl.DataFrame,
    gone: pl.DataFrame,
    created: list[str],
    merged: list[tuple[str, str]],
    splits: list[tuple[str, str, int]],
    revived: set[str],
    run_id: str,
    run_time: dt.datetime,
) -> pl.DataFrame:
    changed = moved.filter(pl.col("old").is_null() | (pl.col("old") != pl.col("customer_id")))
    added = changed.select(
        *KEYS,
        event=pl.lit("record_added"),
        customer_id="customer_id",
        other_customer_id="old",
        detail=pl.when(pl.col("old").is_null()).then(pl.lit("new record")).otherwise(pl.lit("moved")),
    )
    left = changed.drop_nulls("old").select(
        *KEYS,
        event=pl.lit("record_removed"),
        customer_id="old",
        other_customer_id="customer_id",
        detail=pl.lit("moved"),
    )
    removed = gone.select(
        *KEYS,
        event=pl.lit("record_removed"),
        customer_id="customer_id",
        other_customer_id=pl.lit(None, pl.String),
        detail=pl.lit("record no longer present"),
    )
    births = pl.DataFrame({"customer_id": created}, schema={"customer_id": pl.String()}).select(
        event=pl.lit("created"), customer_id="customer_id", detail=pl.lit("new customer")
    )
    customer_events = _customer_events(
        [("merged", retired, survivor, "merged into survivor") for retired, survivor in merged]
        + sorted(
            ("split", old, new, f"{n} record(s) split off" + (", merge undone" if new in revived else ""))
            for old, new, n in splits
        )
    )
    # Removals before additions, so replaying record events in log order rebuilds the clusters.
    events = pl.concat([births, customer_events, left, removed, added], how="diagonal_relaxed").with_columns(
        run_id=pl.lit(run_id), changed_at=pl.lit(run_time, dtype=pl.Datetime("us"))
    )
    return conform(events, CHANGE_COLUMNS)


def _customer_events(rows: Iterable[tuple[str, str, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        list(rows),
        schema={
            "event": pl.String(),
            "customer_id": pl.String(),
            "other_customer_id": pl.String(),
            "detail": pl.String(),
        },
        orient="row",
    )
