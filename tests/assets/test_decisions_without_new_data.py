"""A steward's decision landing on a day without new extracts still applies; the same decisions on
the next such day leave the identity state untouched (and cost no record comparison)."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl

from assets.resources import RunOptions
from assets.runner import run_pipeline
from cdp.identity.decisions import DECISION_FILE_COLUMNS
from cdp.warehouse import Warehouse

AS_OF = "2026-10-31"


def _run(bank: Path, warehouse: Path) -> None:
    run = run_pipeline(
        config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=RunOptions(as_of=AS_OF)
    )
    assert run.success, run.error


def _last_identity_run(warehouse: Path) -> dict[str, object]:
    return Warehouse(warehouse).read("identity_runs").row(-1, named=True)


def test_a_new_decision_applies_without_new_data_and_the_same_decisions_reuse_the_state(
    small_bank: Callable[..., tuple[Path, Path]],
) -> None:
    bank, warehouse = small_bank(persons=150, seed=3, batches=1)
    shutil.copytree(bank / "batches" / "01", bank / "landing", dirs_exist_ok=True)
    _run(bank, warehouse)
    clusters = Warehouse(warehouse).read("identity_clusters")
    pair = (
        clusters.filter(
            pl.col("customer_id").is_in(
                clusters["customer_id"].filter(clusters["customer_id"].is_duplicated()).implode()
            )
        )
        .sort("customer_id", "source", "record_id")
        .head(2)
    )
    (left_source, left_id, customer), (right_source, right_id, _) = pair.select(
        "source", "record_id", "customer_id"
    ).rows()

    with (bank / "identity_decisions.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECISION_FILE_COLUMNS)
        writer.writerow(
            [
                "cannot_link",
                left_source,
                left_id,
                right_source,
                right_id,
                "steward",
                "2026-11-01",
                "two people",
            ]
        )
        # A decision naming a record the bank no longer holds: queued for the steward, and counted.
        writer.writerow(
            [
                "must_link",
                left_source,
                left_id,
                left_source,
                "no-such-record",
                "steward",
                "2026-11-01",
                "typo",
            ]
        )
    _run(bank, warehouse)
    decided = _last_identity_run(warehouse)
    after = Warehouse(warehouse).read("identity_clusters")
    _run(bank, warehouse)
    again = _last_identity_run(warehouse)

    # No extract landed, yet the decision was applied: the two records now belong to two customers.
    assert decided["mode"] == "incremental" and decided["new_records"] == 0
    assert decided["reason"] == "previous state reusable"
    assert decided["identity_events"] > 0
    owners = after.filter(
        ((pl.col("source") == left_source) & (pl.col("record_id") == left_id))
        | ((pl.col("source") == right_source) & (pl.col("record_id") == right_id))
    )["customer_id"]
    assert owners.n_unique() == 2 and customer in owners.to_list()
    # The same decisions and no new record: the state is reused, nothing moves, nothing is logged.
    assert again["reason"] == "no party record or steward decision changed"
    assert again["identity_events"] == 0 and again["decisions_version"] == decided["decisions_version"]
    assert decided["unknown_record_decisions"] == again["unknown_record_decisions"] == 1
    queue = Warehouse(warehouse).read("identity_review_queue").filter(pl.col("reason") == "unknown_record")
    assert queue.select("record_id_l", "record_id_r").rows() == [(left_id, "no-such-record")]
    assert (
        Warehouse(warehouse)
        .read("identity_clusters")
        .sort("source", "record_id")
        .equals(after.sort("source", "record_id"))
    )
