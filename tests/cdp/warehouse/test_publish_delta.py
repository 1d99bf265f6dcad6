"""A table handed over as its changes: DuckDB applies only them, Parquet gets the whole version."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import CdpError
from cdp.warehouse import TableDelta, Warehouse, transaction, write_parquet_atomic
from cdp.warehouse.faults import FAULT_ENV, InjectedFault
from cdp.warehouse.transaction import TABLE_LOADS

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


def _deleted_since_load(warehouse: Warehouse, name: str) -> int:
    with warehouse.connect() as connection:
        row = connection.execute(
            f"SELECT deleted_rows FROM {TABLE_LOADS} WHERE table_name = ?", [name]
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_table_whose_changes_deleted_too_many_rows_is_reloaded_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted rows keep their space in DuckDB (vacuum is off), so they are counted, and once they
    pass the threshold the table is reloaded from the snapshot, which reclaims it."""
    monkeypatch.setattr(transaction, "RELOAD_AFTER_DELETED_ROWS", 0)
    bank = pl.DataFrame(
        {"source": ["core"] * 30, "record_id": [f"{i:02d}" for i in range(30)], "name": ["x"] * 30}
    )
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"parties": bank}, run_id="r0")
    seen: list[tuple[tuple[str, ...], tuple[str, ...], int]] = []
    for day in range(1, 4):
        # Each day one record is renamed and one removed: two more deleted rows of about 30.
        base = _published(warehouse, "parties")
        current = pl.read_parquet(base)
        renamed = current.head(1).with_columns(name=pl.lit(f"day{day}"))
        removed = current.slice(1, 1).select(KEYS)
        replaced = pl.concat([renamed.select(KEYS), removed])
        whole = pl.concat([current.join(replaced, on=KEYS, how="anti"), renamed]).sort(KEYS)
        report = warehouse.publish(
            {"parties": TableDelta(whole.lazy(), renamed, replaced, base)}, run_id=f"r{day}"
        )
        assert_frame_equal(warehouse.read("parties").sort(KEYS), whole)
        seen.append((report.applied_as_changes, report.compacted, _deleted_since_load(warehouse, "parties")))

    # 2 then 4 deleted rows stay under 20% of 29 and 28 rows; 6 of 27 do not: reloaded, count reset.
    assert seen == [(("parties",), (), 2), (("parties",), (), 4), ((), ("parties",), 0)]


def test_the_rows_a_change_deletes_are_counted_not_its_keys(tmp_path: Path) -> None:
    """A customer-keyed table deletes every row of a replaced customer: three rows for one key."""
    lineage = pl.DataFrame({"customer_id": ["a"] * 3 + ["b"] * 3, "attribute": ["x", "y", "z"] * 2})
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"lineage": lineage}, run_id="r1")
    base = _published(warehouse, "lineage")
    rebuilt = pl.DataFrame({"customer_id": ["a"], "attribute": ["x"]})
    replaced = pl.DataFrame({"customer_id": ["a"]})
    whole = pl.concat([lineage.filter(pl.col("customer_id") != "a"), rebuilt]).sort("customer_id")
    report = warehouse.publish({"lineage": TableDelta(whole.lazy(), rebuilt, replaced, base)}, run_id="r2")

    assert report.applied_as_changes == ("lineage",)
    assert _deleted_since_load(warehouse, "lineage") == 3
    assert_frame_equal(
        warehouse.read("lineage").sort("customer_id", "attribute"), whole.sort("customer_id", "attribute")
    )


def test_an_unchanged_delta_shares_its_file_and_duckdb_keeps_its_table(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"parties": YESTERDAY}, run_id="r1")
    warehouse.publish({"parties": _delta(_published(warehouse, "parties"))}, run_id="r2")
    base = _published(warehouse, "parties")
    nothing = TableDelta(pl.scan_parquet(base), UPSERTS.clear(), REMOVED.clear(), base)

    report = warehouse.publish({"parties": nothing}, run_id="r3")

    assert report.unchanged == ("parties",)
    assert report.applied_as_changes == ()
    assert report.rows == {"parties": 4}
    # Linked, not rewritten: the new snapshot's file is the previous one's.
    assert _published(warehouse, "parties").parent != base.parent
    assert os.path.samefile(_published(warehouse, "parties"), base)
    # Not reloaded either: r2's appended upserts still come last in DuckDB's storage order.
    assert warehouse.read("parties")["record_id"].to_list()[-2:] == ["2", "5"]
    assert_frame_equal(warehouse.read("parties").sort(KEYS), TODAY)


def test_a_staged_file_with_the_published_bytes_is_kept_and_other_bytes_are_loaded(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    first, same, other = (tmp_path / f"{name}.parquet" for name in ("first", "same", "other"))
    write_parquet_atomic(YESTERDAY, first)
    write_parquet_atomic(YESTERDAY, same)
    write_parquet_atomic(TODAY, other)
    warehouse.publish({"parties": first}, run_id="r1")

    kept = warehouse.publish({"parties": same}, run_id="r2")
    loaded = warehouse.publish({"parties": other}, run_id="r3")

    assert kept.unchanged == ("parties",)
    assert loaded.unchanged == ()
    assert_frame_equal(warehouse.read("parties"), TODAY)
    assert_frame_equal(pl.read_parquet(warehouse.parquet_dir / "parties.parquet"), TODAY)


def test_a_table_missing_from_duckdb_is_loaded_even_when_its_file_is_unchanged(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    staged = tmp_path / "staged.parquet"
    write_parquet_atomic(YESTERDAY, staged)
    warehouse.publish({"parties": staged}, run_id="r1")
    with warehouse.connect(read_only=False) as connection:
        connection.execute("DROP TABLE parties")

    report = warehouse.publish({"parties": staged}, run_id="r2")

    assert report.unchanged == ()
    assert_frame_equal(warehouse.read("parties"), YESTERDAY)
