"""The staging IO manager: what a run stages is what the next step reads, whatever an earlier run left."""

from __future__ import annotations

import threading
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import assets.resources as resources
from assets.resources import StagedParquetIOManager
from cdp.ingest.changes import TableChanges

KEY = dg.AssetKey("customer_attribute_lineage")
WHOLE = pl.DataFrame({"customer_id": ["c1", "c2"], "attribute": ["email", "phone"]})


def _changes(base: Path) -> TableChanges:
    return TableChanges(
        "customer_attribute_lineage",
        WHOLE.head(1),
        pl.DataFrame(schema={"customer_id": pl.String()}),
        base,
        key=("customer_id",),
        order=("customer_id",),
    )


def _load(manager: StagedParquetIOManager, **metadata: object) -> object:
    context = dg.build_input_context(
        asset_key=KEY, definition_metadata=metadata, dagster_type=dg.PythonObjectDagsterType(pl.DataFrame)
    )
    return manager.load_input(context)


def _hold_parquet_writes(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make staged Parquet writes wait until the returned event is set."""
    released = threading.Event()
    real_write = resources.write_parquet_atomic

    def held_write(frame: pl.DataFrame, path: Path) -> None:
        released.wait(timeout=10)
        real_write(frame, path)

    monkeypatch.setattr(resources, "write_parquet_atomic", held_write)
    return released


def test_a_frame_staged_after_changes_is_what_is_read(tmp_path: Path) -> None:
    manager = StagedParquetIOManager(base_dir=str(tmp_path / "staging"))
    base = tmp_path / "published.parquet"
    WHOLE.write_parquet(base)
    manager.handle_output(dg.build_output_context(asset_key=KEY), _changes(base))
    assert isinstance(_load(manager, changes=True), TableChanges)

    # The next run builds the table whole (a full build): the earlier changes must not be read.
    rebuilt = WHOLE.with_columns(attribute=pl.lit("address"))
    manager.handle_output(dg.build_output_context(asset_key=KEY), rebuilt)
    assert_frame_equal(_load(manager, changes=True), rebuilt)
    assert_frame_equal(_load(manager, lazy=True).collect(), rebuilt)


def test_changes_staged_after_a_frame_are_what_is_read(tmp_path: Path) -> None:
    manager = StagedParquetIOManager(base_dir=str(tmp_path / "staging"))
    base = tmp_path / "published.parquet"
    WHOLE.write_parquet(base)
    manager.handle_output(dg.build_output_context(asset_key=KEY), WHOLE.head(0))
    manager.handle_output(dg.build_output_context(asset_key=KEY), _changes(base))
    staged = _load(manager, changes=True)
    assert isinstance(staged, TableChanges)
    assert_frame_equal(staged.collect(), WHOLE.sort("customer_id"))
    assert not (tmp_path / "staging" / "customer_attribute_lineage.parquet").exists()


def test_a_background_write_is_waited_for_by_its_reader(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    released = _hold_parquet_writes(monkeypatch)
    manager = StagedParquetIOManager(base_dir=str(tmp_path / "staging"), background_writes=True)
    manager.handle_output(dg.build_output_context(asset_key=KEY), WHOLE)
    staged = tmp_path / "staging" / "customer_attribute_lineage.parquet"
    assert not staged.exists()  # still being written while the next step starts
    threading.Timer(0.2, released.set).start()
    assert_frame_equal(_load(manager), WHOLE)
    # The publish step's reader gets the file's path only once it is whole.
    manager.handle_output(dg.build_output_context(asset_key=KEY), WHOLE.head(1))
    assert _load(manager, file=True) == staged
    assert_frame_equal(pl.read_parquet(staged), WHOLE.head(1))


def test_a_failed_background_write_fails_its_reader_and_the_run(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken_write(frame: pl.DataFrame, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(resources, "write_parquet_atomic", broken_write)
    manager = StagedParquetIOManager(base_dir=str(tmp_path / "staging"), background_writes=True)
    manager.handle_output(dg.build_output_context(asset_key=KEY), WHOLE)
    with pytest.raises(OSError, match="disk full"):
        _load(manager)
    manager.handle_output(dg.build_output_context(asset_key=KEY), WHOLE)
    failure = resources.finish_staged_writes()
    assert failure is not None and "customer_attribute_lineage.parquet" in failure and "disk full" in failure
    assert resources.finish_staged_writes() is None


def test_changes_written_in_the_background_are_waited_for_by_their_reader(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch
) -> None:
    released = threading.Event()
    real_write = TableChanges.write

    def slow_write(self: TableChanges, folder: Path) -> None:
        released.wait(timeout=10)
        real_write(self, folder)

    monkeypatch.setattr(TableChanges, "write", slow_write)
    base = tmp_path / "published.parquet"
    WHOLE.write_parquet(base)
    manager = StagedParquetIOManager(base_dir=str(tmp_path / "staging"), background_writes=True)
    manager.handle_output(dg.build_output_context(asset_key=KEY), _changes(base))
    folder = tmp_path / "staging" / "customer_attribute_lineage.changes"
    assert not TableChanges.staged_at(folder)  # still being written while the next step starts
    threading.Timer(0.2, released.set).start()

    staged = _load(manager, changes=True)

    assert isinstance(staged, TableChanges)
    assert_frame_equal(staged.upserts, WHOLE.head(1))
    assert resources.finish_staged_writes() is None


def test_a_handed_off_frame_is_read_from_memory_but_the_publish_reads_the_whole_file(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch
) -> None:
    released = _hold_parquet_writes(monkeypatch)
    manager = StagedParquetIOManager(
        base_dir=str(tmp_path / "staging"), background_writes=True, memory_handoff_mb=64
    )
    manager.handle_output(dg.build_output_context(asset_key=KEY), WHOLE)

    # The next step gets the frame itself while its file is still being written.
    assert _load(manager) is WHOLE
    staged = tmp_path / "staging" / "customer_attribute_lineage.parquet"
    assert not staged.exists()
    threading.Timer(0.2, released.set).start()
    assert _load(manager, file=True) == staged
    assert_frame_equal(pl.read_parquet(staged), WHOLE)
    assert resources.finish_staged_writes() is None

    # A run's hand-offs end with it: the next run reads what is on disk.
    reread = _load(manager)
    assert reread is not WHOLE
    assert_frame_equal(reread, WHOLE)


def test_handed_off_changes_build_their_whole_table_once(tmp_path: Path) -> None:
    base = tmp_path / "published.parquet"
    WHOLE.write_parquet(base)
    manager = StagedParquetIOManager(
        base_dir=str(tmp_path / "staging"), background_writes=True, memory_handoff_mb=64
    )
    changes = _changes(base)
    manager.handle_output(dg.build_output_context(asset_key=KEY), changes)

    whole = _load(manager)
    assert_frame_equal(whole, WHOLE.sort("customer_id"))
    assert _load(manager) is whole
    assert _load(manager, changes=True) is not changes  # the publish reads the staged folder
    # Once built, the whole table no longer needs the published file.
    base.unlink()
    assert_frame_equal(changes.scan().collect(), WHOLE.sort("customer_id"))
    assert resources.finish_staged_writes() is None


def test_an_output_over_the_memory_budget_is_read_back_from_disk(tmp_path: Path) -> None:
    big = pl.DataFrame({"customer_id": [f"c{index}" for index in range(200_000)], "attribute": "email"})
    manager = StagedParquetIOManager(
        base_dir=str(tmp_path / "staging"), background_writes=True, memory_handoff_mb=1
    )
    manager.handle_output(dg.build_output_context(asset_key=KEY), big)
    loaded = _load(manager)
    assert loaded is not big
    assert_frame_equal(loaded, big)
    assert resources.finish_staged_writes() is None
