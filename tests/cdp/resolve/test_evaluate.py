from __future__ import annotations

import polars as pl
import pytest

from cdp.resolve import baseline_clusters, evaluate_clusters


def _truth() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["s"] * 6,
            "record_id": ["1", "2", "3", "4", "5", "6"],
            "entity_id": ["A", "A", "A", "B", "B", "C"],
        }
    )


def test_pairwise_and_bcubed_metrics_on_a_hand_built_example() -> None:
    clusters = pl.DataFrame(
        {
            "source": ["s"] * 6,
            "record_id": ["1", "2", "3", "4", "5", "6"],
            "customer_id": ["x", "x", "y", "y", "y", "z"],
        }
    )
    report = evaluate_clusters(clusters, _truth())
    # true pairs 12 13 23 45; predicted 12 34 35 45; shared 12 45
    assert (report.pairwise_precision, report.pairwise_recall, report.pairwise_f1) == (0.5, 0.5, 0.5)
    # per record precision 1 1 1/3 2/3 2/3 1, recall 2/3 2/3 1/3 1 1 1
    assert report.bcubed_precision == pytest.approx(14 / 18)
    assert report.bcubed_recall == pytest.approx(14 / 18)
    assert report.bcubed_f1 == pytest.approx(14 / 18)
    assert (report.over_merged_clusters, report.under_merged_entities) == (1, 1)
    assert report.over_merged_examples == [["s:3", "s:4", "s:5"]]
    assert report.under_merged_examples == [["s:1", "s:2", "s:3"]]


def test_missing_records_are_singletons_and_baseline_is_reported() -> None:
    clusters = pl.DataFrame({"source": ["s", "s"], "record_id": ["1", "2"], "cluster_id": ["x", "x"]})
    report = evaluate_clusters(clusters, _truth(), baseline=clusters)
    assert report.pairwise_precision == 1.0
    assert report.pairwise_recall == 0.25
    assert report.summary()["baseline_pairwise_f1"] == report.pairwise_f1


def test_baseline_groups_exact_name_and_dob_only() -> None:
    parties = pl.DataFrame(
        {
            "source": ["a", "b", "c", "d"],
            "record_id": ["1", "1", "1", "1"],
            "first_name": ["ann", "ann", "ann", None],
            "last_name": ["lee", "lee", "lee", "lee"],
            "date_of_birth": ["1990-01-01", "1990-01-01", "1990-01-02", "1990-01-01"],
        }
    )
    expected = pl.DataFrame(
        {"source": ["a", "b", "c", "d"], "record_id": ["1"] * 4, "cluster_id": ["a:1", "a:1", "c:1", "d:1"]}
    )
    assert baseline_clusters(parties).equals(expected)
