"""An erasure reaches the identity change log: the events stay, the erased record's key goes."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from assets.resources import RunOptions
from assets.runner import run_pipeline
from cdp.warehouse import Warehouse

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def test_an_erased_record_is_no_longer_named_by_the_identity_change_log(
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
    before = Warehouse(warehouse).read("identity_changes")
    erased = before.filter(pl.col("event") == "record_added").row(0, named=True)
    (bank / "erasure_requests.csv").write_text(
        f"source,record_id,requested_at,reference\n{erased['source']},{erased['record_id']},2026-11-01,DSR-1\n"
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
