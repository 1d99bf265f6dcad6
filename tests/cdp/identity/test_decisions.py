from __future__ import annotations

import datetime as dt
import logging

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import ConfigError
from cdp.identity import (
    DECISION_COLUMNS,
    ClusteringPolicy,
    assign_stable_ids,
    cluster_records,
    decisions_version,
    load_decisions,
    update_incrementally,
)

T0 = dt.datetime(2025, 1, 1)

HEADER = "decision,source_l,record_id_l,source_r,record_id_r,decided_by,decided_at,reason\n"


def test_missing_file_means_no_decisions(tmp_path):
    for path in (None, tmp_path / "absent.csv"):
        decisions = load_decisions(path)
        assert decisions.must_link.is_empty() and decisions.cannot_link.is_empty()
        assert decisions.must_link.schema == pl.Schema(DECISION_COLUMNS)


def test_pairs_are_oriented_and_the_latest_decision_wins(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text(
        HEADER
        + "must_link,card,9,core,1,ana,2025-01-02,same passport\n"
        + "cannot_link,core,5,core,6,ana,2025-01-02T10:00:00Z,twins\n"
        # A later decision on the same pair (written the other way round) replaces the first.
        + "cannot_link,core,1,card,9,bo,2025-02-01,passport was forged\n"
    )

    decisions = load_decisions(path)

    assert decisions.must_link.is_empty()
    assert_frame_equal(
        decisions.cannot_link,
        pl.DataFrame(
            {
                "source_l": ["card", "core"],
                "record_id_l": ["9", "5"],
                "source_r": ["core", "core"],
                "record_id_r": ["1", "6"],
                "decided_by": ["bo", "ana"],
                "decided_at": [dt.datetime(2025, 2, 1), dt.datetime(2025, 1, 2, 10)],
                "reason": ["passport was forged", "twins"],
            },
            schema=dict(DECISION_COLUMNS),
        ),
    )


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("merge,core,1,core,2,ana,2025-01-02,x", "column decision"),
        ("must_link,core,,core,2,ana,2025-01-02,x", "column record_id_l is empty"),
        ("must_link,core,1,core,2,,2025-01-02,x", "column decided_by is empty"),
        ("must_link,core,1,core,2,ana,yesterday,x", "column decided_at"),
        ("must_link,core,1,core,2,ana,2025-01-02,", "column reason is empty"),
        ("cannot_link,core,1,core,1,ana,2025-01-02,x", "itself"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path, row, problem):
    path = tmp_path / "decisions.csv"
    path.write_text(HEADER + "must_link,core,7,core,8,ana,2025-01-02,ok\n" + row + "\n")

    with pytest.raises(ConfigError, match=rf"decisions.csv: line 3: .*{problem}"):
        load_decisions(path)


def test_missing_columns_are_reported(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text("decision,source_l,record_id_l\nmust_link,core,1\n")

    with pytest.raises(ConfigError, match="line 1: missing column.*source_r"):
        load_decisions(path)


def test_the_decisions_version_follows_the_pairs_in_force_not_the_file_layout(tmp_path):
    def version(*rows: str) -> str:
        path = tmp_path / "decisions.csv"
        path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
        return decisions_version(load_decisions(path))

    base = version(
        "must_link,card,9,core,1,ana,2025-01-02,same passport",
        "cannot_link,core,5,core,6,ana,2025-01-02,twins",
    )

    # Line order, pair orientation and who/when/why do not change which pairs are in force.
    assert (
        version(
            "cannot_link,core,6,core,5,bo,2025-03-01,other words", "must_link,card,9,core,1,ana,2025-01-02,x"
        )
        == base
    )
    # A new pair, a pair changing kind, or a pair withdrawn does.
    assert (
        version(
            "must_link,card,9,core,1,ana,2025-01-02,x",
            "cannot_link,core,5,core,6,a,2025-01-02,t",
            "must_link,core,2,core,3,a,2025-01-02,t",
        )
        != base
    )
    assert (
        version("must_link,card,9,core,1,ana,2025-01-02,x", "must_link,core,5,core,6,a,2025-01-02,t") != base
    )
    assert version("must_link,card,9,core,1,ana,2025-01-02,x") != base
    assert decisions_version(load_decisions(None)) != base


def test_an_unknown_source_is_rejected_naming_the_file_line_and_column(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text(
        HEADER
        + "must_link,core,7,core,8,ana,2025-01-02,ok\n"
        + "cannot_link,core,1,crad,2,ana,2025-01-02,x\n"
    )

    with pytest.raises(
        ConfigError,
        match=r"decisions.csv: line 3: column source_r: unknown source 'crad'; expected one of card, core",
    ):
        load_decisions(path, sources=("core", "card"))
    assert load_decisions(path).cannot_link.height == 1  # unchecked without the source names


def test_decisions_naming_missing_records_are_queued_and_the_others_still_apply(build, caplog):
    records = build.records("1", "2", "3", "4")
    decisions = build.decisions(must=(("1", "2"), ("3", "gone")), cannot=(("x:7", "4"),))

    with caplog.at_level(logging.WARNING, logger="cdp.identity.decisions"):
        result = cluster_records(records, build.edges(), decisions=decisions)

    assert build.groups(result.assignments, "cluster_key") == [["1", "2"], ["3"], ["4"]]
    assert result.review_queue.select(
        "source_l", "record_id_l", "source_r", "record_id_r", "match_reason", "reason"
    ).rows() == [
        ("s", "3", "s", "gone", "must_link", "unknown_record"),
        ("s", "4", "x", "7", "cannot_link", "unknown_record"),
    ]
    assert "2 steward decision(s) name a record that does not exist" in caplog.text
    assert "gone" not in caplog.text  # counts only: no record ids in the log


def test_a_must_link_to_a_deleted_record_leaves_the_other_record_and_is_queued(build):
    records = build.records("1", "2", "3")
    edges = build.edges(("2", "3", 0.99))
    decisions = build.decisions(must=(("1", "2"),))
    state = assign_stable_ids(
        cluster_records(records, edges, decisions=decisions).assignments, None, run_id="r1", run_time=T0
    )
    assert state.clusters["customer_id"].n_unique() == 1
    remaining = records.filter(pl.col("record_id") != "1")

    result = update_incrementally(
        state,
        edges,
        edges.clear(),
        records=remaining,
        removed=remaining.clear().select("source", "record_id"),
        policy=ClusteringPolicy(),
        decisions=decisions,
        run_id="r2",
        run_time=T0 + dt.timedelta(days=1),
    )

    assert build.groups(result.state.clusters) == [["2", "3"]]
    full = cluster_records(remaining, edges, decisions=decisions)
    assert_frame_equal(result.review_queue, full.review_queue, check_row_order=False)
    assert result.review_queue.select("record_id_l", "record_id_r", "reason").rows() == [
        ("1", "2", "unknown_record")
    ]
