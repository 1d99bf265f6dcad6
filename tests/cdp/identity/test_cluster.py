from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import ConfigError
from cdp.identity import ClusteringPolicy, cluster_records


def test_links_at_or_above_threshold_form_clusters_labelled_by_smallest_key(build):
    records = build.records("1", "2", "3", "4", "5")
    edges = build.edges(("2", "1", 0.95), ("3", "2", 0.9), ("4", "5", 0.89))

    result = cluster_records(records, edges, policy=ClusteringPolicy(), decisions=build.decisions())

    expected = pl.DataFrame(
        {
            "source": ["s"] * 5,
            "record_id": ["1", "2", "3", "4", "5"],
            "cluster_key": ["s:1", "s:1", "s:1", "s:4", "s:5"],
        }
    )
    assert_frame_equal(result.assignments, expected)
    assert result.review_queue.select("record_id_l", "record_id_r", "reason").rows() == [
        ("4", "5", "review_band")
    ]
    assert result.guard_flags.is_empty()


def test_token_conflict_never_merges_and_is_queued_for_review(build):
    # 1 and 3 carry different national IDs; 2 (no token) links strongly to both.
    records = build.records(("1", "tokA"), ("2", None), ("3", "tokB"))
    edges = build.edges(("1", "2", 0.99), ("2", "3", 0.95))

    result = cluster_records(records, edges, policy=ClusteringPolicy(), decisions=build.decisions())

    assert result.assignments["cluster_key"].to_list() == ["s:1", "s:1", "s:3"]
    assert_frame_equal(
        result.review_queue.select("record_id_l", "record_id_r", "match_probability", "reason"),
        pl.DataFrame(
            {
                "record_id_l": ["2"],
                "record_id_r": ["3"],
                "match_probability": [0.95],
                "reason": ["national_id_conflict"],
            }
        ),
    )
    assert_frame_equal(
        result.guard_flags,
        pl.DataFrame(
            {
                "source": ["s"],
                "record_id": ["1"],
                "records": [3],
                "clusters": [2],
                "refused_merges": [1],
                "reasons": ["national_id_conflict"],
            }
        ),
    )


def test_same_token_and_null_tokens_merge_freely(build):
    records = build.records(("1", "tokA"), ("2", None), ("3", "tokA"))
    edges = build.edges(("1", "2", 0.99), ("2", "3", 0.95))

    result = cluster_records(records, edges, policy=ClusteringPolicy(), decisions=build.decisions())

    assert result.assignments["cluster_key"].unique().to_list() == ["s:1"]
    assert result.guard_flags.is_empty()


def test_oversize_guard_caps_clusters_and_queues_the_refused_merge(build):
    # A chain 1-2-3-4-5 with the weakest link in the middle; the cap is 3.
    records = build.records("1", "2", "3", "4", "5")
    edges = build.edges(("1", "2", 0.999), ("2", "3", 0.99), ("3", "4", 0.91), ("4", "5", 0.995))

    result = cluster_records(
        records, edges, policy=ClusteringPolicy(max_cluster_size=3), decisions=build.decisions()
    )

    assert build.groups(result.assignments, "cluster_key") == [["1", "2", "3"], ["4", "5"]]
    assert result.review_queue.select("record_id_l", "record_id_r", "reason").rows() == [
        ("3", "4", "max_cluster_size")
    ]
    assert result.guard_flags.select("records", "clusters", "reasons").rows() == [(5, 2, "max_cluster_size")]


def test_cannot_link_splits_a_transitive_chain_at_its_weakest_link(build):
    records = build.records("1", "2", "3")
    edges = build.edges(("1", "2", 0.99), ("2", "3", 0.93))

    result = cluster_records(
        records, edges, policy=ClusteringPolicy(), decisions=build.decisions(cannot=(("3", "1"),))
    )

    assert build.groups(result.assignments, "cluster_key") == [["1", "2"], ["3"]]
    assert result.review_queue.select("record_id_l", "record_id_r", "reason").rows() == [
        ("2", "3", "cannot_link")
    ]


def test_must_link_joins_unscored_pairs_and_decided_pairs_leave_the_band(build):
    records = build.records("1", "2", "3")
    edges = build.edges(("1", "2", 0.7))

    result = cluster_records(
        records, edges, policy=ClusteringPolicy(), decisions=build.decisions(must=(("2", "1"),), cannot=())
    )

    assert build.groups(result.assignments, "cluster_key") == [["1", "2"], ["3"]]
    assert result.review_queue.is_empty()


def test_a_must_link_overrides_the_national_id_guard_but_model_links_do_not(build):
    records = build.records(("1", "tokA"), ("2", "tokB"), ("3", "tokB"), ("4", "tokC"))
    edges = build.edges(("2", "3", 0.99), ("1", "4", 0.99))

    result = cluster_records(
        records, edges, policy=ClusteringPolicy(), decisions=build.decisions(must=(("1", "2"),))
    )

    # 3 shares 2's token, so its model link may join the steward's pair; 4 brings a third token.
    assert build.groups(result.assignments, "cluster_key") == [["1", "2", "3"], ["4"]]
    assert result.review_queue.select("record_id_l", "record_id_r", "match_reason", "reason").rows() == [
        ("1", "4", "splink", "national_id_conflict")
    ]


def test_a_cannot_link_still_beats_a_must_link(build):
    records = build.records(("1", "tokA"), ("2", "tokB"), "3")

    result = cluster_records(
        records,
        build.edges(),
        policy=ClusteringPolicy(),
        decisions=build.decisions(must=(("1", "3"), ("2", "3")), cannot=(("1", "2"),)),
    )

    assert build.groups(result.assignments, "cluster_key") == [["1", "3"], ["2"]]
    assert result.review_queue.select("record_id_l", "record_id_r", "reason").rows() == [
        ("2", "3", "cannot_link")
    ]


def test_must_links_may_exceed_the_size_cap_but_model_links_may_not(build):
    records = build.records("1", "2", "3", "4")
    edges = build.edges(("3", "4", 0.99))

    result = cluster_records(
        records,
        edges,
        policy=ClusteringPolicy(max_cluster_size=2),
        decisions=build.decisions(must=(("1", "2"), ("2", "3"))),
    )

    assert build.groups(result.assignments, "cluster_key") == [["1", "2", "3"], ["4"]]
    assert result.review_queue.select("record_id_l", "record_id_r", "reason").rows() == [
        ("3", "4", "max_cluster_size")
    ]


def test_clustering_is_deterministic_whatever_the_row_order(build):
    records = build.records(("1", "tokA"), "2", ("3", "tokB"), "4", "5", "6")
    edges = build.edges(
        ("1", "2", 0.99),
        ("2", "3", 0.99),
        ("3", "4", 0.95),
        ("4", "5", 0.95),
        ("5", "6", 0.6),
        ("1", "6", 0.99),
    )
    policy = ClusteringPolicy(max_cluster_size=3)

    first = cluster_records(records, edges, policy=policy, decisions=build.decisions())
    second = cluster_records(records.reverse(), edges.reverse(), policy=policy, decisions=build.decisions())

    assert_frame_equal(first.assignments, second.assignments)
    assert_frame_equal(first.review_queue, second.review_queue)
    assert_frame_equal(first.guard_flags, second.guard_flags)


def test_edges_naming_unknown_records_are_ignored(build):
    result = cluster_records(
        build.records("1"),
        build.edges(("1", "gone", 0.99)),
        policy=ClusteringPolicy(),
        decisions=build.decisions(),
    )

    assert result.assignments["cluster_key"].to_list() == ["s:1"]


@pytest.mark.parametrize(
    "settings",
    [{"threshold": 0.0}, {"threshold": 1.5}, {"review_band": (0.9, 0.5)}, {"max_cluster_size": 0}],
)
def test_bad_policy_is_a_config_error(settings):
    with pytest.raises(ConfigError, match="clustering policy"):
        ClusteringPolicy(**settings)


def test_float_noise_in_a_weight_does_not_reorder_the_guards_merges(build):
    # 2 (no token) links 1 (tokA) and 3 (tokB) equally strongly: the tie goes to the smaller keys,
    # so 1 and 2 merge and 2-3 is refused. An edge re-weighed on a later day may carry the same
    # weight give or take 1e-14; the guard must decide exactly as on a fresh score.
    records = build.records(("1", "tokA"), ("2", None), ("3", "tokB"))
    tied = build.edges(("1", "2", 0.95), ("2", "3", 0.95))
    noisy = tied.with_columns(
        pl.when(pl.col("record_id_l") == "2")
        .then(pl.col("match_weight") + 1e-12)
        .otherwise(pl.col("match_weight"))
        .alias("match_weight"),
        pl.when(pl.col("record_id_l") == "2")
        .then(pl.col("match_probability") + 1e-15)
        .otherwise(pl.col("match_probability"))
        .alias("match_probability"),
    )

    fresh = cluster_records(records, tied, decisions=build.decisions())
    reweighed = cluster_records(records, noisy, decisions=build.decisions())

    assert fresh.assignments["cluster_key"].to_list() == ["s:1", "s:1", "s:3"]
    assert_frame_equal(reweighed.assignments, fresh.assignments)
    # A real difference in weight still wins over the key order.
    stronger = tied.with_columns(
        pl.when(pl.col("record_id_l") == "2")
        .then(pl.col("match_weight") + 0.01)
        .otherwise(pl.col("match_weight"))
    )
    assert cluster_records(records, stronger).assignments["cluster_key"].to_list() == ["s:1", "s:2", "s:2"]
