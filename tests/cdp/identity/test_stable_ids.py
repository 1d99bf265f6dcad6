from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.identity import (
    ClusteringPolicy,
    IdentityState,
    assign_stable_ids,
    cluster_records,
    resolve_customer_id,
    resolve_customer_ids,
)

T0 = dt.datetime(2025, 1, 1)


def cid(key: str) -> str:
    return "C" + hashlib.sha256(key.encode()).hexdigest()[:16]


def run(build, records, edges, previous, number, *, decisions=None):
    clustered = cluster_records(
        records, edges, policy=ClusteringPolicy(), decisions=decisions or build.decisions()
    )
    return assign_stable_ids(
        clustered.assignments, previous, run_id=f"r{number}", run_time=T0 + dt.timedelta(days=number)
    )


def events_of(state: IdentityState, run_id: str) -> list[tuple]:
    return (
        state.changes.filter(pl.col("run_id") == run_id)
        .select("event", "customer_id", "other_customer_id", "record_id")
        .rows()
    )


def customer_of(state: IdentityState, record_id: str) -> str:
    return state.clusters.filter(pl.col("record_id") == record_id)["customer_id"].item()


def test_first_run_ids_are_opaque_hashes_of_the_smallest_record_key(build):
    state = run(build, build.records("1", "2", "3"), build.edges(("2", "1", 0.99)), None, 1)

    expected = pl.DataFrame(
        {
            "source": ["s"] * 3,
            "record_id": ["1", "2", "3"],
            "customer_id": [cid("s:1"), cid("s:1"), cid("s:3")],
        }
    )
    assert_frame_equal(state.clusters, expected)
    assert events_of(state, "r1") == [
        ("created", cid("s:1"), None, None),
        ("created", cid("s:3"), None, None),
        ("record_added", cid("s:1"), None, "1"),
        ("record_added", cid("s:1"), None, "2"),
        ("record_added", cid("s:3"), None, "3"),
    ]


def test_same_inputs_give_same_ids_and_a_rerun_logs_nothing(build):
    records = build.records("1", "2", "3", "4")
    edges = build.edges(("1", "2", 0.99), ("3", "4", 0.95))

    first = run(build, records, edges, None, 1)
    independent = run(build, records.reverse(), edges.reverse(), None, 1)
    again = run(build, records, edges, first, 2)

    assert_frame_equal(first.clusters, independent.clusters)
    assert_frame_equal(again.clusters, first.clusters)
    assert_frame_equal(again.changes, first.changes)
    assert_frame_equal(again.merged_into, first.merged_into)


def test_unrelated_new_record_changes_no_existing_id(build):
    edges = build.edges(("1", "2", 0.99))
    first = run(build, build.records("1", "2", "3"), edges, None, 1)

    second = run(build, build.records("1", "2", "3", "9"), edges, first, 2)

    assert_frame_equal(second.clusters.filter(pl.col("record_id") != "9"), first.clusters)
    assert events_of(second, "r2") == [
        ("created", cid("s:9"), None, None),
        ("record_added", cid("s:9"), None, "9"),
    ]


def test_new_record_matching_a_customer_takes_its_id(build):
    first = run(build, build.records("5", "6"), build.edges(("5", "6", 0.99)), None, 1)

    # The newcomer has the smallest key of the cluster, yet the customer keeps its ID.
    second = run(
        build, build.records("1", "5", "6"), build.edges(("5", "6", 0.99), ("1", "5", 0.97)), first, 2
    )

    assert second.clusters["customer_id"].unique().to_list() == [cid("s:5")]
    assert events_of(second, "r2") == [("record_added", cid("s:5"), None, "1")]


def test_merge_keeps_the_oldest_customer_and_records_it(build):
    first = run(build, build.records("5"), build.edges(), None, 1)
    second = run(build, build.records("1", "5"), build.edges(), first, 2)
    older, younger = cid("s:5"), cid("s:1")
    assert younger < older  # so the survivor below is chosen by age, not by ID order

    third = run(build, build.records("1", "5"), build.edges(("1", "5", 0.99)), second, 3)

    assert third.clusters["customer_id"].to_list() == [older, older]
    assert events_of(third, "r3") == [
        ("merged", younger, older, None),
        ("record_removed", younger, older, "1"),
        ("record_added", older, younger, "1"),
    ]
    assert_frame_equal(
        third.merged_into,
        pl.DataFrame(
            {
                "customer_id": [younger],
                "merged_into": [older],
                "merged_at": [T0 + dt.timedelta(days=3)],
                "run_id": ["r3"],
            },
            schema=third.merged_into.schema,
        ),
    )
    assert resolve_customer_id(younger, third.merged_into) == older
    assert resolve_customer_id(older, third.merged_into) == older


def test_merge_of_customers_created_together_keeps_the_smallest_id(build):
    first = run(build, build.records("1", "5"), build.edges(), None, 1)

    second = run(build, build.records("1", "5"), build.edges(("1", "5", 0.99)), first, 2)

    assert second.clusters["customer_id"].unique().to_list() == [min(cid("s:1"), cid("s:5"))]


def test_merged_into_chains_resolve_to_the_survivor():
    merged_into = pl.DataFrame({"customer_id": ["Ca", "Cb", "Cx"], "merged_into": ["Cb", "Cc", "Cy"]})

    assert resolve_customer_id("Ca", merged_into) == "Cc"
    assert resolve_customer_ids(pl.Series("id", ["Ca", "Cb", "Cc", "Cx"]), merged_into).to_list() == [
        "Cc",
        "Cc",
        "Cc",
        "Cy",
    ]
    with pytest.raises(ValueError, match="cycle"):
        resolve_customer_id("Ca", pl.DataFrame({"customer_id": ["Ca", "Cb"], "merged_into": ["Cb", "Ca"]}))


def test_split_leaves_the_id_with_the_larger_part(build):
    records = build.records("1", "2", "3")
    first = run(build, records, build.edges(("1", "2", 0.99), ("2", "3", 0.99)), None, 1)

    # Evidence changes: 1 now stands alone, 2 and 3 stay together (the larger part).
    second = run(build, records, build.edges(("2", "3", 0.99)), first, 2)

    assert second.clusters["customer_id"].to_list() == [cid("s:1#1"), cid("s:1"), cid("s:1")]
    assert events_of(second, "r2") == [
        ("created", cid("s:1#1"), None, None),
        ("split", cid("s:1"), cid("s:1#1"), None),
        ("record_removed", cid("s:1"), cid("s:1#1"), "1"),
        ("record_added", cid("s:1#1"), cid("s:1"), "1"),
    ]


def test_split_tie_goes_to_the_part_with_the_smallest_record_key(build):
    records = build.records("1", "2")
    first = run(build, records, build.edges(("1", "2", 0.99)), None, 1)

    second = run(build, records, build.edges(), first, 2)

    assert customer_of(second, "1") == cid("s:1")
    assert customer_of(second, "2") == cid("s:2")


def test_retired_ids_are_never_reused(build):
    records = build.records("1", "2")
    first = run(build, records, build.edges(), None, 1)
    merged = run(build, records, build.edges(("1", "2", 0.99)), first, 2)
    retired = merged.merged_into["customer_id"].item()

    split = run(build, records, build.edges(), merged, 3)

    assert retired not in split.clusters["customer_id"].to_list()
    assert split.clusters["customer_id"].n_unique() == 2


def test_deleted_record_leaves_its_customer(build):
    first = run(build, build.records("1", "2", "3"), build.edges(("1", "2", 0.99)), None, 1)

    second = run(build, build.records("1", "3"), build.edges(), first, 2)

    assert second.clusters.rows() == [("s", "1", cid("s:1")), ("s", "3", cid("s:3"))]
    assert events_of(second, "r2") == [("record_removed", cid("s:1"), None, "2")]


def test_customer_losing_its_last_record_has_no_rows_and_no_extra_event(build):
    first = run(build, build.records("1", "2"), build.edges(), None, 1)

    second = run(build, build.records("1"), build.edges(), first, 2)

    assert second.clusters["customer_id"].to_list() == [cid("s:1")]
    assert events_of(second, "r2") == [("record_removed", cid("s:2"), None, "2")]


def test_replaying_record_events_rebuilds_the_clusters(build):
    state = None
    steps = [
        (build.records("1", "2", "3", "4"), build.edges(("1", "2", 0.99))),
        (
            build.records("1", "2", "3", "4", "5"),
            build.edges(("1", "2", 0.99), ("2", "3", 0.99), ("4", "5", 0.99)),
        ),
        (build.records("1", "3", "4", "5"), build.edges(("4", "5", 0.99), ("1", "4", 0.99))),
        (build.records("1", "3", "4", "5"), build.edges(("3", "5", 0.99))),
    ]
    for number, (records, edges) in enumerate(steps, start=1):
        state = run(build, records, edges, state, number)

    membership: dict[tuple[str, str], str] = {}
    record_events = state.changes.filter(pl.col("event").is_in(["record_added", "record_removed"]))
    for event, customer, source, record_id in record_events.select(
        "event", "customer_id", "source", "record_id"
    ).iter_rows():
        if event == "record_added":
            assert (source, record_id) not in membership
            membership[(source, record_id)] = customer
        else:
            assert membership.pop((source, record_id)) == customer
    assert (
        sorted((*key, customer) for key, customer in membership.items())
        == state.clusters.sort("source", "record_id").rows()
    )


def test_state_read_back_with_other_dtypes_and_an_aware_run_time_is_accepted(build):
    first = run(build, build.records("1", "2"), build.edges(), None, 1)
    read_back = IdentityState(
        clusters=first.clusters,
        merged_into=first.merged_into.with_columns(pl.col("merged_at").cast(pl.Datetime("ns"))),
        changes=first.changes.with_columns(pl.col("changed_at").cast(pl.Datetime("ns"))),
    )
    aware = dt.datetime(2025, 1, 2, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))

    second = assign_stable_ids(
        pl.DataFrame({"source": ["s", "s"], "record_id": ["1", "2"], "cluster_key": ["s:1", "s:1"]}),
        read_back,
        run_id="r2",
        run_time=aware,
    )

    assert second.changes.schema == first.changes.schema
    assert second.changes.filter(pl.col("run_id") == "r2")["changed_at"].unique().to_list() == [
        dt.datetime(2025, 1, 2, 10)
    ]
