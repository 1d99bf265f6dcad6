"""A publish that is SIGKILLed mid-way leaves every table readable at its previous version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from cdp.warehouse import Warehouse, WarehouseBusyError
from cdp.warehouse.faults import FAULT_ENV, MARKER_ENV

REPO = Path(__file__).resolve().parents[3]
BIG_ROWS = 400_000

_PUBLISHER = """
import sys
import polars as pl
from cdp.warehouse import Warehouse

root, rows = sys.argv[1], int(sys.argv[2])
ids = pl.arange(0, rows, eager=True)
big = pl.DataFrame({"id": ids, "label": ids.cast(pl.String)})
Warehouse(root).publish({"big": big, "small": big.head(7)}, run_id="killed")
"""

_LOCK_HOLDER = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
open(sys.argv[2], "w").write("locked")
time.sleep(120)
"""


def _wait_for(marker: Path, process: subprocess.Popen[bytes], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(
                f"child exited early ({process.returncode}): {process.stderr.read().decode()[-2000:]}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("child never reached the fault point")
        time.sleep(0.05)


def _start(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen([sys.executable, "-c", script, *args], env=full_env, stderr=subprocess.PIPE)


def _assert_version(
    warehouse: Warehouse, *, duckdb_rows: dict[str, int], parquet_rows: dict[str, int]
) -> None:
    assert {name: warehouse.read(name).height for name in duckdb_rows} == duckdb_rows
    assert {
        name: pl.read_parquet(warehouse.parquet_dir / f"{name}.parquet").height for name in parquet_rows
    } == parquet_rows


@pytest.fixture
def published(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "wh")
    base = pl.DataFrame({"id": [1, 2, 3], "label": ["a", "b", "c"]})
    warehouse.publish({"big": base, "small": base.head(2), "other": base.head(1)}, run_id="before")
    return warehouse


@pytest.mark.parametrize("point", ["parquet", "duckdb"])
def test_sigkill_before_commit_keeps_previous_version_everywhere(
    published: Warehouse, tmp_path: Path, point: str
) -> None:
    marker = tmp_path / "reached"
    child = _start(
        _PUBLISHER,
        str(published.root),
        str(BIG_ROWS),
        env={FAULT_ENV: f"{point}:pause", MARKER_ENV: str(marker)},
    )
    _wait_for(marker, child)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    before = {"big": 3, "small": 2, "other": 1}
    _assert_version(Warehouse(published.root), duckdb_rows=before, parquet_rows=before)
    assert published.publish_log()["run_id"].to_list() == ["before"]

    after = Warehouse(published.root).publish(
        {"small": pl.DataFrame({"id": [9], "label": ["z"]})}, run_id="after"
    )
    assert after.carried == ("big", "other")
    _assert_version(
        published,
        duckdb_rows={"big": 3, "small": 1, "other": 1},
        parquet_rows={"big": 3, "small": 1, "other": 1},
    )
    assert sorted(os.listdir(published.root / "parquet_snapshots")) == ["000001-before", after.snapshot.name]


def test_sigkill_between_commit_and_swap_is_rolled_forward_by_the_next_publish(
    published: Warehouse, tmp_path: Path
) -> None:
    marker = tmp_path / "reached"
    child = _start(
        _PUBLISHER, str(published.root), "1000", env={FAULT_ENV: "swap:pause", MARKER_ENV: str(marker)}
    )
    _wait_for(marker, child)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    # DuckDB committed the new version; Parquet still shows the whole previous one, never a mix.
    _assert_version(
        published,
        duckdb_rows={"big": 1000, "small": 7, "other": 1},
        parquet_rows={"big": 3, "small": 2, "other": 1},
    )
    published.publish({"other": pl.DataFrame({"id": [5], "label": ["e"]})}, run_id="rerun")
    _assert_version(
        published,
        duckdb_rows={"big": 1000, "small": 7, "other": 1},
        parquet_rows={"big": 1000, "small": 7, "other": 1},
    )


def test_reading_while_another_process_holds_the_file_is_a_clear_error(
    published: Warehouse, tmp_path: Path
) -> None:
    marker = tmp_path / "locked"
    holder = _start(_LOCK_HOLDER, str(published.duckdb_path), str(marker))
    try:
        _wait_for(marker, holder)
        with pytest.raises(WarehouseBusyError, match="being published by another process; retry"):
            Warehouse(published.root, lock_timeout=0.3).read("big")
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    assert Warehouse(published.root).read("big").height == 3
