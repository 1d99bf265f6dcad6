from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cdp.identity import (
    ClusteringPolicy,
    assign_stable_ids,
    cluster_records,
    load_decisions,
    update_incrementally,
)

T0 = dt.datetime(2025, 1, 1)
POLICY = ClusteringPolicy()


@pytest.fixture
def decisions(tmp_path):
    path = tmp_path / "identity_decisions.csv"
    path.write_text(
        "decision,source_l,record_id_l,source_r,record_id_r,decided_by,decided_at,reason\n"
        "must_link,s,2,s,1,steward_a,2025-01-01,same customer per branch visit\n"
        "cannot_link,s,3,s,4,steward_b,2025-01-01,father and son\n"
    )
    return load_decisions(path)


def customer(state, record_id: str) -> str:
    return state.clusters.filter(pl.col("record_id") == record_id)["customer_id"].item()


@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_decisions_hold_across_runs_and_a_retrained_model(build, decisions, mode):
    records1 = build.records("1", "2", "3", "4")
    edges1 = build.edges(("1", "2", 0.55), ("3", "4", 0.99))
    first = cluster_records(records1, edges1, policy=POLICY, decisions=decisions)
    state = assign_stable_ids(first.assignments, None, run_id="r1", run_time=T0)
    assert customer(state, "1") == customer(state, "2")
    assert customer(state, "3") != customer(state, "4")
    assert first.review_queue.is_empty()  # both decided pairs are settled, not queued

    # Run 2: a retrained model scores the pairs differently, and newcomers link to both sides.
    records2 = pl.concat([records1, build.records("5", "6")])
    new_edges = build.edges(
        ("1", "2", 0.2), ("3", "4", 0.9999), ("4", "5", 0.99), ("5", "3", 0.97), ("6", "1", 0.99)
    )
    if mode == "full":
        second = cluster_records(records2, new_edges, policy=POLICY, decisions=decisions)
        after = assign_stable_ids(second.assignments, state, run_id="r2", run_time=T0 + dt.timedelta(days=1))
        queue = second.review_queue
    else:
        result = update_incrementally(
            state,
            edges1,
            new_edges,
            records=records2,
            removed=pl.DataFrame(schema={"source": pl.String, "record_id": pl.String}),
            changed=build.records("1", "2", "3", "4").select("source", "record_id"),
            policy=POLICY,
            decisions=decisions,
            run_id="r2",
            run_time=T0 + dt.timedelta(days=1),
            previous_review_queue=first.review_queue,
        )
        after, queue = result.state, result.review_queue

    assert customer(after, "1") == customer(after, "2") == customer(after, "6") == customer(state, "1")
    assert customer(after, "3") != customer(after, "4")
    assert customer(after, "5") == customer(after, "4")  # 5-4 is the stronger link; 5-3 is refused
    assert queue.select("record_id_l", "record_id_r", "reason").rows() == [("3", "5", "cannot_link")]
