"""A table handed over as its changes: DuckDB applies only them, Parquet gets the whole version."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import CdpError
from cdp.warehouse import TableDelta, Warehouse, write_parquet_atomic
from cdp.warehouse.faults import FAULT_ENV, InjectedFault

KEYS = ["source", "record_id"]
YESTERDAY = pl.DataFrame(
    {"source": ["core"] * 4, "record_id": ["1", "2", "3", "4"], "name": ["ann", "bob", "cy", "di"]}
)
UPSERTS = pl.DataFrame({"source": ["core", "core"], "record_id": ["2", "5"], "name": ["rob", "eve"]})
REMOVED = pl.DataFrame({"source": ["core"], "record_id": ["3"]})
#: yesterday minus records 2 (replaced) and 3 (removed), plus the upserts, in key order
TODAY = pl.DataFrame(
    {"source": ["core"] * 4, "record_id": ["1", "2", "4", "5"], "name": ["ann", "rob", "di", "eve"]}
)


def _delta(base: Path, upserts: pl.DataFrame = UPSERTS) -> TableDelta:
    replaced = pl.concat([upserts.select(KEYS), REMOVED])
    kept = pl.scan_parquet(base).join(replaced.lazy(), on=KEYS, how="anti")
    whole = pl.concat([kept, upserts.lazy()]).sort(KEYS)
    return TableDelta(whole, upserts, replaced, base)


def _published(warehouse: Warehouse, name: str) -> Path:
    return Path(os.path.realpath(warehouse.parquet_dir / f"{name}.parquet"))


def test_duckdb_applies_the_changes_and_parquet_gets_the_whole_version(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"parties": YESTERDAY, "other": YESTERDAY}, run_id="r1")
    report = warehouse.publish({"parties": _delta(_published(warehouse, "parties"))}, run_id="r2")

    assert report.rows == {"parties": 4}
    assert report.applied_as_changes == ("parties",)
    assert_frame_equal(pl.read_parquet(warehouse.parquet_dir / "parties.parquet"), TODAY)
    in_duckdb = warehouse.read("parties")
    assert_frame_equal(in_duckdb.sort(KEYS), TODAY)
    # The upserts were appended rather than the table rewritten: they come last in storage order.
    assert in_duckdb["record_id"].to_list()[-2:] == ["2", "5"]
    assert_frame_equal(warehouse.read("other"), YESTERDAY)


def test_changes_to_an_older_version_reload_the_whole_table(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"parties": YESTERDAY}, run_id="r1")
    stale_base = tmp_path / "copy.parquet"
    YESTERDAY.write_parquet(stale_base)
    report = warehouse.publish({"parties": _delta(stale_base)}, run_id="r2")

    assert report.applied_as_changes == ()
    # Loaded from the new snapshot file, so DuckDB holds it in the published (key) order.
    assert_frame_equal(warehouse.read("parties"), TODAY)


def test_changes_that_do_not_add_up_reload_the_whole_table(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"parties": YESTERDAY}, run_id="r1")
    base = _published(warehouse, "parties")
    # Upserts that disagree with the whole version: the row count after the delta gives it away.
    delta = _delta(base)
    inconsistent = TableDelta(delta.table, UPSERTS.head(1), delta.replaced_keys, base)
    report = warehouse.publish({"parties": inconsistent}, run_id="r2")

    assert report.applied_as_changes == ()
    assert_frame_equal(warehouse.read("parties"), TODAY)


def test_a_failed_delta_publish_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"parties": YESTERDAY}, run_id="r1")
    monkeypatch.setenv(FAULT_ENV, "duckdb:raise")
    with pytest.raises(InjectedFault):
        warehouse.publish({"parties": _delta(_published(warehouse, "parties"))}, run_id="r2")

    assert_frame_equal(warehouse.read("parties"), YESTERDAY)
    assert_frame_equal(pl.read_parquet(warehouse.parquet_dir / "parties.parquet"), YESTERDAY)


def test_a_staged_parquet_file_is_linked_into_the_snapshot_not_rewritten(tmp_path: Path) -> None:
    staged = tmp_path / "staged.parquet"
    write_parquet_atomic(YESTERDAY, staged)
    warehouse = Warehouse(tmp_path / "wh")
    report = warehouse.publish({"parties": staged}, run_id="r1")

    published = warehouse.parquet_dir / "parties.parquet"
    assert report.rows == {"parties": 4}
    assert os.path.samefile(published, staged)
    assert_frame_equal(warehouse.read("parties"), YESTERDAY)
    # The staging area rewrites its files by rename, so the published snapshot keeps its bytes.
    write_parquet_atomic(TODAY, staged)
    assert_frame_equal(pl.read_parquet(published), YESTERDAY)


def test_a_missing_staged_file_is_refused_before_anything_changes(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"parties": YESTERDAY}, run_id="r1")
    with pytest.raises(CdpError, match="does not exist"):
        warehouse.publish({"parties": tmp_path / "nope.parquet"}, run_id="r2")
    assert_frame_equal(warehouse.read("parties"), YESTERDAY)
