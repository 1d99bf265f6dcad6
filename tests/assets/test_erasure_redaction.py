"""An erasure reaches the identity change log (the events stay, the erased record's key goes) and
the segment history (the erased customer's stays go)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from assets.resources import RunOptions
from assets.runner import run_pipeline
from cdp.warehouse import Warehouse

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def test_an_erased_record_leaves_the_change_log_and_its_customer_leaves_the_segment_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    bank = tmp_path / "bank"
    shutil.copytree(SAMPLE, bank)
    warehouse = tmp_path / "warehouse"
    options = RunOptions(as_of="2026-10-31")
    first = run_pipeline(config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=options)
    assert first.success, first.error
    published = Warehouse(warehouse)
    before = published.read("identity_changes")
    # A record of a customer who is in a segment, so the erasure has a segment stay to remove.
    in_segments = published.read("segment_membership").select("customer_id").unique()
    candidates = published.read("identity_clusters").join(in_segments, on="customer_id", how="semi")
    erased = (
        before.filter(pl.col("event") == "record_added")
        .join(candidates.select("source", "record_id"), on=["source", "record_id"], how="semi")
        .row(0, named=True)
    )
    customer = candidates.filter(
        (pl.col("source") == erased["source"]) & (pl.col("record_id") == erased["record_id"])
    )["customer_id"].item()
    (bank / "erasure_requests.csv").write_text(
        f"source,record_id,requested_at,reference\n{erased['source']},{erased['record_id']},2026-11-01,DSR-1\n"
    )
    # A steward's decision about the erased record must not bring its key back (as a review row).
    (bank / "identity_decisions.csv").write_text(
        "decision,source_l,record_id_l,source_r,record_id_r,decided_by,decided_at,reason\n"
        f"cannot_link,{erased['source']},{erased['record_id']},{erased['source']},0,steward,2026-11-01,check\n"
    )

    second = run_pipeline(config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=options)

    assert second.success, second.error
    after = Warehouse(warehouse).read("identity_changes")
    named = (pl.col("source") == erased["source"]) & (pl.col("record_id") == erased["record_id"])
    assert before.filter(named).height >= 1
    assert after.filter(named).is_empty()
    # Nothing is dropped from the append-only log: the earlier events are all there, in order,
    # and only the erased record's key is blank in them.
    kept = after.head(before.height)
    assert kept.drop("record_id").equals(before.drop("record_id"))
    blanked = before.with_row_index().filter(named)["index"]
    assert kept[blanked, "record_id"].null_count() == blanked.len()
    assert after.height > before.height  # the erasure's own record_removed event was appended
    assert Warehouse(warehouse).read("erased_customers")["customer_id"].to_list() == [customer]
    history = Warehouse(warehouse).read("segment_membership")
    assert history.filter(pl.col("customer_id") == customer).is_empty()
    queue = Warehouse(warehouse).read("identity_review_queue")
    assert queue.filter(
        ((pl.col("source_l") == erased["source"]) & (pl.col("record_id_l") == erased["record_id"]))
        | ((pl.col("source_r") == erased["source"]) & (pl.col("record_id_r") == erased["record_id"]))
    ).is_empty()
