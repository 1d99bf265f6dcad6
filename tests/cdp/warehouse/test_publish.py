from __future__ import annotations

import datetime as dt
import hashlib
import os
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import CdpError, NotFoundError
from cdp.warehouse import Warehouse, read_staged, stage, write_parquet_atomic
from cdp.warehouse.faults import FAULT_ENV, InjectedFault


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_then_read_roundtrips_duckdb_and_parquet(tmp_path: Path, people: pl.DataFrame) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    report = warehouse.publish({"people": people}, run_id="run-1")

    assert report.rows == {"people": 3}
    assert warehouse.tables() == ["people"]
    assert warehouse.exists("people") and not warehouse.exists("nope")
    assert_frame_equal(warehouse.read("people"), people)
    assert_frame_equal(pl.read_parquet(warehouse.parquet_dir / "people.parquet"), people)
    assert warehouse.parquet_dir.is_symlink()
    assert warehouse.publish_log()["run_id"].to_list() == ["run-1"]


def test_catalog_answers_are_shared_and_follow_another_instances_publish(
    tmp_path: Path, people: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Warehouse of a folder shares one catalog cache, refreshed whenever the file changes."""
    reader, writer = Warehouse(tmp_path / "wh"), Warehouse(tmp_path / "wh")
    writer.publish({"people": people}, run_id="run-1")
    assert reader.tables() == ["people"]
    opened: list[bool] = []
    connect = Warehouse.connect
    monkeypatch.setattr(
        Warehouse, "connect", lambda self, **kwargs: opened.append(True) or connect(self, **kwargs)
    )

    assert Warehouse(tmp_path / "wh").tables() == ["people"]
    assert Warehouse(tmp_path / "wh").exists("people")
    assert opened == []  # answered from the cache the first instance filled

    writer.publish({"people": people, "pets": people}, run_id="run-2")

    assert reader.tables() == ["people", "pets"]
    assert reader.publish_log()["run_id"].to_list() == ["run-1", "run-2"]


def test_query_binds_parameters_read_only(tmp_path: Path, people: pl.DataFrame) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"people": people}, run_id="r1")

    result = warehouse.query(
        "SELECT record_id FROM people WHERE source = ? ORDER BY record_id", params=["card"]
    )

    assert_frame_equal(result, pl.DataFrame({"record_id": ["2"]}))


def test_read_of_a_missing_table_names_table_and_warehouse(tmp_path: Path, people: pl.DataFrame) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with pytest.raises(NotFoundError, match="no warehouse"):
        warehouse.read("people")
    warehouse.publish({"people": people}, run_id="r1")
    with pytest.raises(NotFoundError, match=r"'customers' is not in warehouse .*wh.*tables: people"):
        warehouse.read("customers")


def test_republishing_the_same_frames_gives_identical_contents_and_parquet_bytes(
    tmp_path: Path, people: pl.DataFrame, counts: pl.DataFrame
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    first = warehouse.publish({"people": people, "counts": counts}, run_id="same")
    second = warehouse.publish({"people": people, "counts": counts}, run_id="same")

    assert first.snapshot != second.snapshot
    for name in ("people", "counts"):
        assert _digest(first.snapshot / f"{name}.parquet") == _digest(second.snapshot / f"{name}.parquet")
    assert_frame_equal(warehouse.read("people"), people)
    assert warehouse.publish_log()["seq"].to_list() == [1, 2]


def test_unpublished_tables_carry_over_by_hard_link(
    tmp_path: Path, people: pl.DataFrame, counts: pl.DataFrame
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    first = warehouse.publish({"people": people, "counts": counts}, run_id="r1")
    new_counts = pl.DataFrame({"source": ["x"], "rows": [1]})
    second = warehouse.publish({"counts": new_counts}, run_id="r2")

    assert second.carried == ("people",)
    assert_frame_equal(warehouse.read("people"), people)
    assert_frame_equal(pl.read_parquet(warehouse.parquet_dir / "people.parquet"), people)
    assert_frame_equal(pl.read_parquet(warehouse.parquet_dir / "counts.parquet"), new_counts)
    assert os.path.samefile(first.snapshot / "people.parquet", second.snapshot / "people.parquet")


def test_replace_all_drops_tables_views_and_their_masked_views(
    tmp_path: Path, people: pl.DataFrame, counts: pl.DataFrame
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish(
        {"people": people, "counts": counts}, run_id="r1", views={"core_people": "SELECT * FROM people"}
    )
    report = warehouse.publish({"counts": counts}, run_id="r2", replace_all=True)

    assert report.dropped == ("people",)
    assert warehouse.tables() == ["counts"]
    assert warehouse.views() == ["masked_counts"]
    assert sorted(path.name for path in warehouse.parquet_dir.iterdir()) == [
        "_manifest.json",
        "counts.parquet",
    ]


def test_only_the_current_and_previous_snapshots_are_kept(tmp_path: Path, counts: pl.DataFrame) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    for run in ("a", "b", "c", "d"):
        warehouse.publish({"counts": counts}, run_id=run)

    assert sorted(os.listdir(tmp_path / "wh" / "parquet_snapshots")) == ["000003-c", "000004-d"]
    assert os.readlink(warehouse.parquet_dir) == "parquet_snapshots/000004-d"


@pytest.mark.parametrize("point", ["parquet", "duckdb"])
def test_failed_publish_leaves_previous_version_and_next_publish_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, people: pl.DataFrame, counts: pl.DataFrame, point: str
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"people": people, "counts": counts}, run_id="r1")
    monkeypatch.setenv(FAULT_ENV, f"{point}:raise")

    with pytest.raises(InjectedFault):
        warehouse.publish({"people": people.head(1), "counts": counts.head(1)}, run_id="r2")

    assert_frame_equal(warehouse.read("people"), people)
    assert_frame_equal(warehouse.read("counts"), counts)
    assert_frame_equal(pl.read_parquet(warehouse.parquet_dir / "people.parquet"), people)
    assert os.listdir(tmp_path / "wh" / "parquet_snapshots") == ["000001-r1"]
    monkeypatch.delenv(FAULT_ENV)
    warehouse.publish({"people": people.head(1)}, run_id="r3")
    assert warehouse.read("people").height == 1
    assert pl.read_parquet(warehouse.parquet_dir / "people.parquet").height == 1


def test_crash_after_commit_is_repaired_by_rolling_the_snapshot_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counts: pl.DataFrame
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"counts": counts}, run_id="r1")
    monkeypatch.setenv(FAULT_ENV, "swap:raise")
    with pytest.raises(InjectedFault):
        warehouse.publish({"counts": counts.head(1)}, run_id="r2")
    monkeypatch.delenv(FAULT_ENV)

    assert warehouse.read("counts").height == 1
    assert pl.read_parquet(warehouse.parquet_dir / "counts.parquet").height == 2
    assert warehouse.repair() == "000002-r2"
    assert pl.read_parquet(warehouse.parquet_dir / "counts.parquet").height == 1


def test_lost_snapshot_is_rebuilt_from_duckdb(tmp_path: Path, people: pl.DataFrame) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    report = warehouse.publish({"people": people}, run_id="r1")
    warehouse.parquet_dir.unlink()
    for file in report.snapshot.iterdir():
        file.unlink()
    report.snapshot.rmdir()

    assert warehouse.repair() == "000001-r1"
    assert_frame_equal(pl.read_parquet(warehouse.parquet_dir / "people.parquet"), people)


@pytest.mark.parametrize(
    ("tables", "run_id", "message"),
    [
        ({"bad name": pl.DataFrame({"a": [1]})}, "r1", "letters, digits and underscores"),
        ({"_cdp_x": pl.DataFrame({"a": [1]})}, "r1", "reserved"),
        ({"masked_x": pl.DataFrame({"a": [1]})}, "r1", "reserved"),
        ({"ok": pl.DataFrame({"a": [1]})}, "../evil", "run id"),
    ],
)
def test_publish_rejects_bad_names(
    tmp_path: Path, tables: dict[str, pl.DataFrame], run_id: str, message: str
) -> None:
    with pytest.raises(CdpError, match=message):
        Warehouse(tmp_path / "wh").publish(tables, run_id=run_id)


def test_write_parquet_atomic_replaces_and_leaves_no_temp_file(tmp_path: Path, counts: pl.DataFrame) -> None:
    path = tmp_path / "counts.parquet"
    write_parquet_atomic(counts.head(1), path)
    write_parquet_atomic(counts, path)

    assert_frame_equal(pl.read_parquet(path), counts)
    assert os.listdir(tmp_path) == ["counts.parquet"]


def test_stage_and_read_staged_roundtrip(tmp_path: Path, counts: pl.DataFrame) -> None:
    stage(counts, staging_dir=tmp_path / "run-7", name="counts")

    assert_frame_equal(read_staged(staging_dir=tmp_path / "run-7", name="counts"), counts)
    with pytest.raises(NotFoundError, match="no staged table 'people'"):
        read_staged(staging_dir=tmp_path / "run-7", name="people")


def test_nested_temporal_and_null_types_roundtrip_through_duckdb(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "posted": [dt.datetime(2024, 1, 1, 12), None],
            "gap": [dt.timedelta(days=1, microseconds=3), None],
            "amount": pl.Series([Decimal("1.50"), None], dtype=pl.Decimal(10, 2)),
            "identifiers": [["core:1", "card:9"], []],
            "detail": [{"rule": "trust_order", "rank": 1}, None],
            "small": pl.Series([1, None], dtype=pl.UInt8),
            "nothing": pl.Series([None, None], dtype=pl.Null),
        }
    )
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"mixed": frame}, run_id="r1")

    assert_frame_equal(warehouse.read("mixed"), frame)
    with pytest.raises(CdpError, match="epoch_us"):
        warehouse.query("SELECT gap FROM mixed")
