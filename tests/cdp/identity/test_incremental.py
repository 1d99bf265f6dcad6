from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.identity import (
    ClusteringPolicy,
    IdentityState,
    assign_stable_ids,
    cluster_records,
    update_incrementally,
)

T0 = dt.datetime(2025, 1, 1)
POLICY = ClusteringPolicy(max_cluster_size=4)
NO_KEYS = pl.DataFrame(schema={"source": pl.String, "record_id": pl.String})


def keys(*record_ids: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"source": ["s"] * len(record_ids), "record_id": list(record_ids)}, schema=NO_KEYS.schema
    )


def touching(edges: pl.DataFrame, record_ids: set[str]) -> pl.DataFrame:
    ids = pl.Series(sorted(record_ids), dtype=pl.String).implode()
    return edges.filter(pl.col("record_id_l").is_in(ids) | pl.col("record_id_r").is_in(ids))


def scenario(build):
    """Four loads: (all current records, all current edges, new or changed ids, removed ids, changed ids)."""
    edges1 = build.edges(("01", "02", 0.99), ("02", "03", 0.95), ("04", "05", 0.97), ("05", "06", 0.7))
    records1 = build.records(("01", "tA"), "02", "03", "04", "05", "06")
    # Batch 2: 07 bridges customers {01,02,03} and {04,05}; 08 carries a conflicting token.
    records2 = build.records(("01", "tA"), "02", "03", "04", "05", "06", "07", ("08", "tB"), "09")
    edges2 = pl.concat(
        [edges1, build.edges(("03", "07", 0.99), ("07", "04", 0.92), ("08", "02", 0.98), ("09", "06", 0.96))]
    )
    # Batch 3: 03 is erased; 05 changes (its link to 04 weakens into the review band).
    records3 = records2.filter(pl.col("record_id") != "03")
    edges3 = pl.concat(
        [
            edges2.filter(
                ~pl.col("record_id_l").is_in(["03", "05"]) & ~pl.col("record_id_r").is_in(["03", "05"])
            ),
            build.edges(("04", "05", 0.6), ("05", "06", 0.7)),
        ]
    )
    # Batch 4: 10 joins 06/09, and a new pair of strangers arrives.
    records4 = pl.concat([records3, build.records("10", "11", "12")])
    edges4 = pl.concat([edges3, build.edges(("10", "09", 0.99), ("11", "12", 0.55))])
    return [
        (records1, edges1, {"01", "02", "03", "04", "05", "06"}, set(), set()),
        (records2, edges2, {"07", "08", "09"}, set(), set()),
        (records3, edges3, {"05"}, {"03"}, {"05"}),
        (records4, edges4, {"10", "11", "12"}, set(), set()),
    ]


def test_incremental_loads_equal_full_refreshes_ids_and_log_included(build):
    decisions = build.decisions(cannot=(("06", "10"),))
    full: IdentityState | None = None
    incremental: IdentityState | None = None
    edges_so_far = build.edges()
    queue = None
    for number, (records, edges, fresh, removed, changed) in enumerate(scenario(build), start=1):
        run_time = T0 + dt.timedelta(days=number)
        clustered = cluster_records(records, edges, policy=POLICY, decisions=decisions)
        full = assign_stable_ids(clustered.assignments, full, run_id=f"r{number}", run_time=run_time)
        if incremental is None:
            incremental, edges_so_far, queue = full, edges, clustered.review_queue
            continue
        result = update_incrementally(
            incremental,
            edges_so_far,
            touching(edges, fresh | changed),
            records=records,
            removed=keys(*removed),
            changed=keys(*changed),
            policy=POLICY,
            decisions=decisions,
            run_id=f"r{number}",
            run_time=run_time,
            previous_review_queue=queue,
        )
        incremental, edges_so_far, queue = result.state, result.edges, result.review_queue

        assert_frame_equal(incremental.clusters.sort("record_id"), full.clusters.sort("record_id"))
        assert_frame_equal(incremental.changes, full.changes, check_row_order=False)
        assert_frame_equal(incremental.merged_into, full.merged_into, check_row_order=False)
        assert_frame_equal(queue, clustered.review_queue, check_row_order=False)
        assert edges_so_far.height == edges.height
    # 08's token conflicts with 01's; the cannot-link keeps 06 from 10, so 06 loses its weaker link to 09.
    assert build.groups(incremental.clusters) == [
        ["01", "02"],
        ["04", "07"],
        ["05"],
        ["06"],
        ["08"],
        ["09", "10"],
        ["11"],
        ["12"],
    ]
    assert queue.select("record_id_l", "record_id_r", "reason").sort("record_id_l").rows() == [
        ("02", "08", "national_id_conflict"),
        ("04", "05", "review_band"),
        ("05", "06", "review_band"),
        ("06", "09", "cannot_link"),
        ("11", "12", "review_band"),
    ]


def test_only_affected_customers_are_recomputed(build):
    records = build.records("1", "2", "3", "4", "5", "6")
    edges = build.edges(("1", "2", 0.99), ("3", "4", 0.99), ("5", "6", 0.99))
    clustered = cluster_records(records, edges, policy=POLICY, decisions=build.decisions())
    state = assign_stable_ids(clustered.assignments, None, run_id="r1", run_time=T0)
    joined = state.clusters.filter(pl.col("record_id") == "3")["customer_id"].item()

    result = update_incrementally(
        state,
        edges,
        build.edges(("7", "3", 0.99)),
        records=pl.concat([records, build.records("7", "8")]),
        removed=keys("5"),
        policy=POLICY,
        decisions=build.decisions(),
        run_id="r2",
        run_time=T0 + dt.timedelta(days=1),
    )

    untouched = state.clusters.filter(pl.col("record_id").is_in(["1", "2"]))
    assert_frame_equal(result.state.clusters.filter(pl.col("record_id").is_in(["1", "2"])), untouched)
    new_id = result.state.clusters.filter(pl.col("record_id") == "8")["customer_id"].item()
    survivor_of_5 = state.clusters.filter(pl.col("record_id") == "5")["customer_id"].item()
    assert result.affected_customer_ids.to_list() == sorted({joined, new_id, survivor_of_5})
    assert result.state.clusters.filter(pl.col("record_id") == "7")["customer_id"].item() == joined
    assert result.affected_records == 5  # 3, 4, 7, 8, and 6 (left behind by 5)
    assert result.edges.select("record_id_l", "record_id_r").rows() == [("1", "2"), ("3", "4"), ("3", "7")]


def test_rerun_with_nothing_new_logs_nothing(build):
    records = build.records("1", "2", "3")
    edges = build.edges(("1", "2", 0.99))
    clustered = cluster_records(records, edges, policy=POLICY, decisions=build.decisions())
    state = assign_stable_ids(clustered.assignments, None, run_id="r1", run_time=T0)

    result = update_incrementally(
        state,
        edges,
        build.edges(),
        records=records,
        removed=NO_KEYS,
        policy=POLICY,
        decisions=build.decisions(),
        run_id="r2",
        run_time=T0 + dt.timedelta(days=1),
    )

    assert_frame_equal(result.state.clusters, state.clusters)
    assert_frame_equal(result.state.changes, state.changes)
    assert result.affected_records == 0


def random_world(seed: int, size: int) -> tuple[list[tuple[str, str, str | None]], list[list]]:
    """People of 1-8 records (some sharing a national-ID token, a few typos) and scored pairs."""
    rng = random.Random(seed)
    records: list[tuple[str, str, str | None]] = []
    person: list[int] = []
    while len(records) < size:
        token = f"t{len(records)}" if rng.random() < 0.5 else None
        who = len(records)
        for _ in range(rng.choice([1, 1, 2, 2, 3, 5, 8])):
            carried = (
                token if rng.random() < 0.7 else (f"typo{len(records)}" if rng.random() < 0.05 else None)
            )
            records.append((rng.choice(["a", "b"]), f"{len(records):04d}", carried))
            person.append(who)
    edges: list[list] = []
    for i in range(len(records)):
        for j in range(i + 1, min(len(records), i + 12)):
            if person[i] == person[j] and rng.random() < 0.7:
                p = rng.choice([0.91, 0.95, 0.99, 0.999])
            elif rng.random() < 0.04:
                p = rng.choice([0.6, 0.8, 0.95])
            else:
                continue
            left, right = (i, j) if rng.random() < 0.5 else (j, i)
            edges.append([*records[left][:2], *records[right][:2], p, rng.uniform(0, 30), "splink"])
    return records, edges


@pytest.mark.parametrize("seed", range(6))
def test_random_batches_with_changes_and_erasures_equal_a_full_refresh(build, seed):
    records, edges = random_world(seed, size=160)
    rng = random.Random(seed)
    decided = [
        tuple(f"{records[i][0]}:{records[i][1]}" for i in rng.sample(range(len(records)), 2))
        for _ in range(6)
    ]
    decisions = build.decisions(must=tuple(decided[:3]), cannot=tuple(decided[3:]))
    order = rng.sample(range(len(records)), len(records))
    batches = [sorted(order[k::4]) for k in range(4)]
    loaded: set[int] = set()
    state: IdentityState | None = None
    known_edges = queue = None
    for number, batch in enumerate(batches, start=1):
        removed = rng.sample(sorted(loaded), 3) if loaded else []
        loaded -= set(removed)
        changed = rng.sample(sorted(loaded), 3) if loaded else []
        for index in changed:  # a changed record gets a new token and loses some of its pairs
            source, record_id, token = records[index]
            records[index] = (source, record_id, None if token else f"new{index}")
            edges = [e for e in edges if (record_id not in (e[1], e[3])) or rng.random() < 0.5]
        loaded |= set(batch)
        current = pl.DataFrame(
            [records[i] for i in sorted(loaded)],
            schema=["source", "record_id", "national_id_token"],
            orient="row",
        )
        live = {records[i][1] for i in loaded}
        current_edges = pl.DataFrame(
            [e for e in edges if e[1] in live and e[3] in live], schema=build.edges().schema, orient="row"
        )
        run_time = T0 + dt.timedelta(days=number)
        if state is None:
            clustered = cluster_records(current, current_edges, policy=POLICY, decisions=decisions)
            state = assign_stable_ids(clustered.assignments, None, run_id="r1", run_time=run_time)
            known_edges, queue = current_edges, clustered.review_queue
            continue
        fresh = {records[i][1] for i in [*batch, *changed]}
        result = update_incrementally(
            state,
            known_edges,
            touching(current_edges, fresh),
            records=current,
            removed=pl.DataFrame([records[i][:2] for i in removed], schema=NO_KEYS.schema, orient="row"),
            changed=pl.DataFrame([records[i][:2] for i in changed], schema=NO_KEYS.schema, orient="row"),
            policy=POLICY,
            decisions=decisions,
            run_id=f"r{number}",
            run_time=run_time,
            previous_review_queue=queue,
        )
        state, known_edges, queue = result.state, result.edges, result.review_queue

    full = cluster_records(current, current_edges, policy=POLICY, decisions=decisions)
    assert build.groups(state.clusters) == build.groups(full.assignments, "cluster_key")
    assert_frame_equal(queue, full.review_queue, check_row_order=False)
    assert known_edges.height == current_edges.height


def _start(build, records, edges, decisions):
    clustered = cluster_records(records, edges, policy=POLICY, decisions=decisions)
    return assign_stable_ids(clustered.assignments, None, run_id="r1", run_time=T0)


def _step(build, state, previous_edges, new_edges, records, decisions, **extra):
    return update_incrementally(
        state,
        previous_edges,
        new_edges,
        records=records,
        removed=extra.pop("removed", NO_KEYS),
        policy=POLICY,
        decisions=decisions,
        run_id="r2",
        run_time=T0 + dt.timedelta(days=1),
        **extra,
    )


def test_changed_record_without_new_edges_leaves_its_customer(build):
    records = build.records("1", "2", "3")
    edges = build.edges(("1", "2", 0.99), ("2", "3", 0.99))
    state = _start(build, records, edges, build.decisions())

    result = _step(build, state, edges, build.edges(), records, build.decisions(), changed=keys("3"))

    assert build.groups(result.state.clusters) == [["1", "2"], ["3"]]
    assert result.edges.select("record_id_l", "record_id_r").rows() == [("1", "2")]


def test_a_new_decision_applies_without_any_new_data(build):
    records = build.records("1", "2", "3")
    edges = build.edges(("1", "2", 0.99), ("2", "3", 0.95))
    state = _start(build, records, edges, build.decisions())

    result = _step(build, state, edges, build.edges(), records, build.decisions(cannot=(("1", "3"),)))

    assert build.groups(result.state.clusters) == [["1", "2"], ["3"]]
    assert result.review_queue.select("record_id_l", "record_id_r", "reason").rows() == [
        ("2", "3", "cannot_link")
    ]


def test_withdrawn_must_link_is_applied_when_its_customer_is_touched_and_no_record_is_lost(build):
    records = build.records("1", "2")
    state = _start(build, records, build.edges(), build.decisions(must=(("1", "2"),)))
    assert build.groups(state.clusters) == [["1", "2"]]

    result = _step(
        build,
        state,
        build.edges(),
        build.edges(("1", "3", 0.99)),
        pl.concat([records, build.records("3")]),
        build.decisions(),
    )

    assert build.groups(result.state.clusters) == [["1", "3"], ["2"]]


def test_a_rescored_pair_replaces_the_previous_score_in_either_orientation(build):
    records = build.records("1", "2", "3")
    edges = build.edges(("1", "2", 0.95), ("2", "3", 0.99))
    state = _start(build, records, edges, build.decisions())

    result = _step(build, state, edges, build.edges(("2", "1", 0.6)), records, build.decisions())

    assert result.edges.select("record_id_l", "record_id_r", "match_probability").rows() == [
        ("2", "3", 0.99),
        ("1", "2", 0.6),
    ]
    assert build.groups(result.state.clusters) == [["1"], ["2", "3"]]


def test_a_customer_clustered_again_to_the_same_records_is_not_affected(build):
    records = build.records("1", "2", "3", "4")
    edges = build.edges(("1", "2", 0.99), ("3", "4", 0.99))
    state = _start(build, records, edges, build.decisions())
    ids = dict(zip(state.clusters["record_id"], state.clusters["customer_id"], strict=True))

    # Records 1 and 2 are clustered again (a re-weighed edge), and 4 joins a new record 5.
    result = _step(
        build,
        state,
        edges,
        build.edges(("4", "5", 0.99)),
        pl.concat([records, build.records("5")]),
        build.decisions(),
        reweighed=keys("1", "2"),
    )

    assert result.affected_records == 5
    assert result.affected_customer_ids.to_list() == [ids["4"]]
    assert result.state.changes.filter(pl.col("run_id") == "r2").height == 1


def _equal_to_a_full_refresh(build, state, records, edges, decisions, result):
    """The incremental ``result`` matches re-clustering everything on top of ``state``."""
    clustered = cluster_records(records, edges, policy=POLICY, decisions=decisions)
    full = assign_stable_ids(clustered.assignments, state, run_id="r2", run_time=T0 + dt.timedelta(days=1))
    assert_frame_equal(result.state.clusters.sort("record_id"), full.clusters.sort("record_id"))
    assert_frame_equal(result.state.changes, full.changes, check_row_order=False)
    assert_frame_equal(result.state.merged_into, full.merged_into, check_row_order=False)
    assert_frame_equal(result.review_queue, clustered.review_queue, check_row_order=False)


def test_a_removed_cannot_link_merges_at_once_as_a_full_refresh_does(build):
    records = build.records("1", "2", "3", "4")
    edges = build.edges(("1", "2", 0.99), ("2", "3", 0.99), ("3", "4", 0.99))
    before = build.decisions(cannot=(("2", "3"),))
    state = _start(build, records, edges, before)
    assert build.groups(state.clusters) == [["1", "2"], ["3", "4"]]

    result = _step(build, state, edges, build.edges(), records, build.decisions(), previous_decisions=before)

    assert build.groups(result.state.clusters) == [["1", "2", "3", "4"]]
    _equal_to_a_full_refresh(build, state, records, edges, build.decisions(), result)


def test_a_removed_must_link_splits_at_once_as_a_full_refresh_does(build):
    records = build.records("1", "2", "3")
    edges = build.edges(("1", "2", 0.99))
    before = build.decisions(must=(("2", "3"),))
    state = _start(build, records, edges, before)
    assert build.groups(state.clusters) == [["1", "2", "3"]]

    result = _step(build, state, edges, build.edges(), records, build.decisions(), previous_decisions=before)

    assert build.groups(result.state.clusters) == [["1", "2"], ["3"]]
    _equal_to_a_full_refresh(build, state, records, edges, build.decisions(), result)


@pytest.mark.parametrize("seed", range(4))
def test_random_decisions_added_and_withdrawn_equal_a_full_refresh(build, seed):
    records, edge_rows = random_world(seed, size=120)
    rng = random.Random(seed)
    current = pl.DataFrame(records, schema=["source", "record_id", "national_id_token"], orient="row")
    edges = pl.DataFrame(edge_rows, schema=build.edges().schema, orient="row")
    keys_of = [f"{source}:{record_id}" for source, record_id, _ in records]
    pool = [tuple(rng.sample(keys_of, 2)) for _ in range(12)]
    kinds = [rng.choice(["must", "cannot"]) for _ in pool]

    def decisions_from(chosen: list[int]):
        return build.decisions(
            must=tuple(pool[i] for i in chosen if kinds[i] == "must"),
            cannot=tuple(pool[i] for i in chosen if kinds[i] == "cannot"),
        )

    chosen = rng.sample(range(len(pool)), 6)
    decisions = decisions_from(chosen)
    clustered = cluster_records(current, edges, policy=POLICY, decisions=decisions)
    full = incremental = assign_stable_ids(clustered.assignments, None, run_id="r1", run_time=T0)
    queue = clustered.review_queue
    for number in range(2, 6):
        # Each day the steward withdraws two decisions, adds two and turns one round.
        withdrawn = set(rng.sample(chosen, 2))
        chosen = [i for i in chosen if i not in withdrawn]
        chosen += rng.sample([i for i in range(len(pool)) if i not in chosen], 2)
        flipped = rng.choice(chosen)
        kinds[flipped] = "must" if kinds[flipped] == "cannot" else "cannot"
        previous, decisions = decisions, decisions_from(chosen)
        run_time = T0 + dt.timedelta(days=number)
        clustered = cluster_records(current, edges, policy=POLICY, decisions=decisions)
        full = assign_stable_ids(clustered.assignments, full, run_id=f"r{number}", run_time=run_time)
        result = update_incrementally(
            incremental,
            edges,
            edges.clear(),
            records=current,
            removed=NO_KEYS,
            policy=POLICY,
            decisions=decisions,
            run_id=f"r{number}",
            run_time=run_time,
            previous_review_queue=queue,
            previous_decisions=previous,
        )
        incremental, queue = result.state, result.review_queue

        assert_frame_equal(incremental.clusters.sort("record_id"), full.clusters.sort("record_id"))
        assert_frame_equal(incremental.changes, full.changes, check_row_order=False)
        assert_frame_equal(incremental.merged_into, full.merged_into, check_row_order=False)
        assert_frame_equal(queue, clustered.review_queue, check_row_order=False)


def test_undoing_a_merge_incrementally_revives_the_retired_id_as_a_full_refresh_does(build):
    records = build.records("1", "2", "3", "4")
    family = build.edges(("2", "3", 0.99), ("3", "4", 0.99))
    linked = pl.concat([family, build.edges(("1", "2", 0.99))])
    apart = _start(build, records, family, build.decisions())
    merged = assign_stable_ids(
        cluster_records(records, linked, policy=POLICY).assignments, apart, run_id="r1b", run_time=T0
    )
    assert merged.merged_into.height == 1
    cannot = build.decisions(cannot=(("1", "2"),))

    result = _step(build, merged, linked, build.edges(), records, cannot)

    assert_frame_equal(result.state.clusters.sort("record_id"), apart.clusters.sort("record_id"))
    assert result.state.merged_into.is_empty()
    _equal_to_a_full_refresh(build, merged, records, linked, cannot, result)


def test_a_carried_review_row_takes_the_weight_its_edge_has_today(build):
    """Stored edges are re-weighed as the population grows; a review row away from the batch
    must show today's probability, as a full run's queue does, not the one of the day it was queued."""
    records = build.records("01", "02", "03")
    edges = build.edges(("01", "02", 0.6))
    first = cluster_records(records, edges, policy=POLICY, decisions=build.decisions())
    state = assign_stable_ids(first.assignments, None, run_id="r1", run_time=T0)
    reweighed = build.edges(("01", "02", 0.62))
    today = pl.concat([records, build.records("04")])

    result = update_incrementally(
        state,
        reweighed,
        build.edges(),
        records=today,
        removed=NO_KEYS,
        policy=POLICY,
        decisions=build.decisions(),
        run_id="r2",
        run_time=T0 + dt.timedelta(days=1),
        previous_review_queue=first.review_queue,
    )

    full = cluster_records(today, reweighed, policy=POLICY, decisions=build.decisions())
    assert result.review_queue["match_probability"].to_list() == [0.62]
    assert_frame_equal(result.review_queue, full.review_queue, check_row_order=False)
