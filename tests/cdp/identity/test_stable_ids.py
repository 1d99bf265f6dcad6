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


def test_a_retired_id_is_not_given_to_a_part_made_mostly_of_other_records(build):
    pair = build.edges(("1", "5", 0.99))
    first = run(build, build.records("1", "2", "5"), pair, None, 1)
    merged = run(
        build, build.records("1", "2", "5"), pl.concat([pair, build.edges(("1", "2", 0.99))]), first, 2
    )
    survivor, retired = cid("s:1"), cid("s:2")
    assert merged.merged_into.select("customer_id", "merged_into").rows() == [(retired, survivor)]

    # {2, 3}: only half of it is what the retired customer held, so it gets a new ID.
    records = build.records("1", "2", "3", "5")
    split = run(build, records, pl.concat([pair, build.edges(("2", "3", 0.99))]), merged, 3)

    assert [customer_of(split, r) for r in ("1", "5")] == [survivor, survivor]
    assert customer_of(split, "2") not in (survivor, retired)
    assert split.merged_into.select("customer_id", "merged_into").rows() == [(retired, survivor)]


def test_undoing_a_merge_gives_the_retired_id_back_and_the_survivor_keeps_its_own_records(build):
    older, younger = cid("s:1"), cid("s:2")
    records = build.records("1", "2", "3", "4")
    family = build.edges(("2", "3", 0.99), ("3", "4", 0.99))
    first = run(build, build.records("1"), build.edges(), None, 1)
    second = run(build, records, family, first, 2)
    merged = run(build, records, pl.concat([family, build.edges(("1", "2", 0.99))]), second, 3)
    assert merged.clusters["customer_id"].unique().to_list() == [older]

    # A steward's cannot-link undoes the merge: the absorbed customer holds more records than the
    # survivor's own, yet each side gets its own ID back.
    undone = run(
        build,
        records,
        pl.concat([family, build.edges(("1", "2", 0.99))]),
        merged,
        4,
        decisions=build.decisions(cannot=(("1", "2"),)),
    )

    assert [customer_of(undone, r) for r in ("1", "2", "3", "4")] == [older, younger, younger, younger]
    assert undone.merged_into.is_empty()
    assert resolve_customer_id(younger, undone.merged_into) == younger
    assert events_of(undone, "r4") == [
        ("split", older, younger, None),
        *[("record_removed", older, younger, r) for r in ("2", "3", "4")],
        *[("record_added", younger, older, r) for r in ("2", "3", "4")],
    ]
    split = undone.changes.filter((pl.col("run_id") == "r4") & (pl.col("event") == "split"))
    assert split["detail"].to_list() == ["3 record(s) split off, merge undone"]


def test_a_revived_id_can_be_merged_and_revived_again(build):
    records = build.records("1", "2")
    first = run(build, records, build.edges(), None, 1)
    link = build.edges(("1", "2", 0.99))
    state = first
    for number in range(2, 6):
        state = run(build, records, link if number % 2 == 0 else build.edges(), state, number)
        expected = [cid("s:1")] * 2 if number % 2 == 0 else [cid("s:1"), cid("s:2")]
        assert state.clusters.sort("record_id")["customer_id"].to_list() == expected
    assert state.merged_into.is_empty()
    assert "created" not in state.changes.filter(pl.col("run_id") != "r1")["event"].to_list()


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
