"""A publish that applies new erasures leaves no byte of the erased values on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.incremental.linkage_state import LinkageState, save_linkage_state
from cdp.pipeline import publish_run
from cdp.privacy.erasure import newly_erased_customers
from cdp.runmodes import LINKAGE_STATE
from cdp.warehouse import TableDelta, Warehouse
from cdp.warehouse.compaction import compaction_path, wal_path
from cdp.warehouse.faults import FAULT_ENV
from cdp.warehouse.publish import PURGE_MARKER
from cdp.warehouse.snapshots import list_snapshots

REPO = Path(__file__).resolve().parents[3]
CANARY = "erasure-canary-7f3a9c@example.org"
ERASED_ID = "C001234"
VIEWS = {"customer_ids": "SELECT customer_id FROM main.customers"}


def _customers(rows: int = 5_000) -> pl.DataFrame:
    ids = [f"C{i:06d}" for i in range(rows)]
    return pl.DataFrame(
        {
            "customer_id": ids,
            "email": [CANARY if key == ERASED_ID else f"person{key}@example.com" for key in ids],
            "full_name": [f"Person {key}" for key in ids],
        }
    )


def _accounts() -> pl.DataFrame:
    return pl.DataFrame({"account_id": ["A1", "A2"], "balance": [10.5, 0.0]})


def _canary_bytes(warehouse: Warehouse) -> int:
    return warehouse.duckdb_path.read_bytes().count(CANARY.encode())


def _erase_canary(warehouse: Warehouse) -> TableDelta:
    """The customers table without the erased row, as the delete a daily run applies."""
    customers = _customers()
    return TableDelta(
        customers.filter(pl.col("customer_id") != ERASED_ID).lazy(),
        upserts=customers.clear(),
        replaced_keys=pl.DataFrame({"customer_id": [ERASED_ID]}),
        base=warehouse.parquet_dir / "customers.parquet",
    )


@pytest.fixture
def published(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "warehouse")
    warehouse.publish({"customers": _customers(), "accounts": _accounts()}, run_id="r1", views=VIEWS)
    assert _canary_bytes(warehouse) == 1
    return warehouse


def test_purging_publish_removes_deleted_values_from_the_file_and_keeps_everything_else(
    published: Warehouse,
) -> None:
    views_before = published.views()

    report = published.publish(
        {"customers": _erase_canary(published)}, run_id="r2", views=VIEWS, purge_freed_space=True
    )

    assert report.applied_as_changes == ("customers",)
    assert report.purge is not None
    assert report.purge.bytes_after < report.purge.bytes_before
    assert _canary_bytes(published) == 0
    assert published.tables() == ["accounts", "customers"]
    assert published.views() == views_before
    assert published.query("SELECT count(*) AS n FROM customer_ids")["n"].item() == 4_999
    assert_frame_equal(published.read("accounts"), _accounts())
    assert_frame_equal(
        published.read("customers").sort("customer_id"),
        _customers().filter(pl.col("customer_id") != ERASED_ID),
    )
    assert published.publish_log()["run_id"].to_list() == ["r1", "r2"]
    assert published.query("SELECT count(*) AS n FROM _cdp_table_loads")["n"].item() == 2
    assert not (published.root / PURGE_MARKER).exists()
    assert not compaction_path(published.duckdb_path).exists()
    assert not wal_path(published.duckdb_path).exists()


def test_the_same_delete_without_purge_leaves_the_values_in_the_file(published: Warehouse) -> None:
    """The leak the purge exists for: if DuckDB ever wipes freed blocks, this test says so."""
    report = published.publish({"customers": _erase_canary(published)}, run_id="r2")

    assert report.purge is None
    assert _canary_bytes(published) == 1


def test_purging_publish_keeps_only_the_new_snapshot(published: Warehouse) -> None:
    published.publish({"accounts": _accounts()}, run_id="r2")
    assert len(list_snapshots(published.root)) == 2

    report = published.publish({"customers": _erase_canary(published)}, run_id="r3", purge_freed_space=True)

    assert list_snapshots(published.root) == [report.snapshot.name]
    assert pl.read_parquet(published.parquet_dir / "customers.parquet").height == 4_999
    # Tables the purge did not publish are carried into the one snapshot left.
    assert_frame_equal(pl.read_parquet(published.parquet_dir / "accounts.parquet"), _accounts())


def test_compaction_failing_before_the_replace_keeps_a_whole_file_and_the_next_publish_purges(
    published: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def failing_replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        if Path(target) == published.duckdb_path:
            raise OSError("disk went away")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk went away"):
        published.publish({"customers": _erase_canary(published)}, run_id="r2", purge_freed_space=True)
    monkeypatch.setattr(os, "replace", real_replace)

    # The publish committed; the old file is whole and readable, and still holds the canary.
    assert published.read("customers").height == 4_999
    assert published.publish_log()["run_id"].to_list() == ["r1", "r2"]
    assert not compaction_path(published.duckdb_path).exists()
    assert (published.root / PURGE_MARKER).exists()
    assert _canary_bytes(published) == 1

    report = published.publish({"accounts": _accounts()}, run_id="r3")

    assert report.purge is not None
    assert _canary_bytes(published) == 0
    assert not (published.root / PURGE_MARKER).exists()


_KILLED_PURGE = """
import sys
from pathlib import Path
import polars as pl
from cdp.warehouse import Warehouse

root = Path(sys.argv[1])
customers = pl.read_parquet(root / "parquet" / "customers.parquet")
kept = customers.filter(pl.col("customer_id") != sys.argv[2])
Warehouse(root).publish({"customers": kept}, run_id="killed", purge_freed_space=True)
"""


def test_process_killed_before_the_replace_leaves_the_old_file_whole(published: Warehouse) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), FAULT_ENV: "compact:exit"}
    finished = subprocess.run(
        [sys.executable, "-c", _KILLED_PURGE, str(published.root), ERASED_ID],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert finished.returncode == 70, finished.stderr.decode()[-2000:]

    assert compaction_path(published.duckdb_path).exists()
    assert published.read("customers").height == 4_999
    assert published.tables() == ["accounts", "customers"]
    assert (published.root / PURGE_MARKER).exists()

    report = published.publish({"accounts": _accounts()}, run_id="after-kill")

    assert report.purge is not None
    assert _canary_bytes(published) == 0
    assert not compaction_path(published.duckdb_path).exists()
    assert published.read("customers").height == 4_999


def _erased(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": list(ids), "erased_records": [1] * len(ids)})


def _save_state(folder: Path, run_id: str, *, keep: str | None) -> None:
    state = LinkageState(pl.DataFrame({"unique_id": ["core:1"]}), {})
    save_linkage_state(folder, state, run_id=run_id, code_version="v1", keep=keep)


def _identity_runs(*run_ids: str) -> pl.DataFrame:
    return pl.DataFrame({"run_id": list(run_ids)})


def test_publish_run_purges_when_erased_customers_gains_a_customer(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    linkage = warehouse.state_dir / LINKAGE_STATE
    first = publish_run(
        warehouse, {"erased_customers": _erased(), "identity_runs": _identity_runs("r1")}, run_id="r1"
    )
    _save_state(linkage, "r1", keep=None)
    erasing = publish_run(
        warehouse,
        {"erased_customers": _erased("C1"), "identity_runs": _identity_runs("r1", "r2")},
        run_id="r2",
    )
    _save_state(linkage, "r2", keep="r1")
    _save_state(linkage, "r3", keep="r2")
    unchanged = publish_run(
        warehouse,
        {"erased_customers": _erased("C1"), "identity_runs": _identity_runs("r1", "r2", "r3")},
        run_id="r3",
    )
    assert (first["purged_freed_space"], erasing["purged_freed_space"]) == (False, True)
    assert unchanged["purged_freed_space"] is False
    assert sorted(path.name for path in linkage.iterdir()) == ["r2", "r3"]

    _save_state(linkage, "r4", keep="r3")
    erasing = publish_run(
        warehouse,
        {"erased_customers": _erased("C1", "C2"), "identity_runs": _identity_runs("r1", "r2", "r3", "r4")},
        run_id="r4",
    )

    assert erasing["newly_erased_customers"] == 1
    assert erasing["purged_freed_space"] is True
    assert [path.name for path in linkage.iterdir()] == ["r4"]
    assert len(list_snapshots(warehouse.root)) == 1


@pytest.mark.parametrize(
    ("previously", "expected"),
    [
        (None, ["C1", "C2"]),
        (_erased(), ["C1", "C2"]),
        (_erased("C1"), ["C2"]),
        (_erased("C1", "C2"), []),
    ],
)
def test_newly_erased_customers_are_those_the_published_version_lacks(
    previously: pl.DataFrame | None, expected: list[str], tmp_path: Path
) -> None:
    run = _erased("C2", "C1", "C1")
    staged = tmp_path / "erased_customers.parquet"
    run.write_parquet(staged)

    for erased in (run, run.lazy(), staged):
        result = newly_erased_customers(erased, published=previously)
        assert_frame_equal(result, pl.DataFrame({"customer_id": expected}, schema={"customer_id": pl.String}))


def test_erasing_another_record_of_an_erased_customer_is_a_new_erasure_and_purges(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    publish_run(warehouse, {"erased_customers": _erased("C1")}, run_id="r1")
    second_record = _erased("C1").with_columns(erased_records=pl.lit(2, dtype=pl.Int64))

    erasing = publish_run(warehouse, {"erased_customers": second_record}, run_id="r2")
    again = publish_run(warehouse, {"erased_customers": second_record}, run_id="r3")

    assert (erasing["newly_erased_customers"], erasing["purged_freed_space"]) == (1, True)
    assert (again["newly_erased_customers"], again["purged_freed_space"]) == (0, False)


def test_a_new_erasure_request_purges_even_when_no_customer_held_the_record(tmp_path: Path) -> None:
    # The record was deleted at its source before it was erased: no customer held it any more,
    # yet its consents and links were on file until this erasure removed them.
    warehouse = Warehouse(tmp_path / "warehouse")
    parties = pl.DataFrame({"source": ["core"], "record_id": ["1"]})
    first_request = pl.DataFrame({"source": ["core"], "record_id": ["gone"]})
    both_requests = pl.DataFrame({"source": ["card", "core"], "record_id": ["7", "gone"]})

    def publish(run_id: str, keys: pl.DataFrame) -> dict[str, object]:
        tables = {"std_parties": parties, "erased_customers": _erased()}
        return publish_run(warehouse, tables, run_id=run_id, erased_keys=keys)

    first = publish("r1", first_request)
    erasing = publish("r2", both_requests)
    again = publish("r3", both_requests)
    withdrawn = publish("r4", both_requests.head(1))

    # The first publish had nothing to purge: ingestion dropped the record before it was published.
    assert (first["new_erasure_requests"], first["purged_freed_space"]) == (0, False)
    assert (erasing["new_erasure_requests"], erasing["purged_freed_space"]) == (1, True)
    assert (again["new_erasure_requests"], again["purged_freed_space"]) == (0, False)
    assert (withdrawn["new_erasure_requests"], withdrawn["purged_freed_space"]) == (0, False)


def test_a_customer_added_for_holding_an_erased_customers_records_does_not_purge(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    publish_run(warehouse, {"erased_customers": _erased("C1")}, run_id="r1")
    # A split gave the erased person's other record a new ID: nothing erased is left to remove.
    successor = pl.DataFrame({"customer_id": ["C1", "C5"], "erased_records": [1, 0]})

    split = publish_run(warehouse, {"erased_customers": successor}, run_id="r2")

    assert (split["newly_erased_customers"], split["purged_freed_space"]) == (0, False)


def test_the_applied_requests_are_kept_as_digests_not_as_record_keys(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    tables = {"std_parties": pl.DataFrame({"source": ["core"], "record_id": ["1"]})}
    keys = pl.DataFrame({"source": ["core"], "record_id": ["0153238614"]})

    publish_run(warehouse, tables, run_id="r1", erased_keys=keys)

    kept = (warehouse.state_dir / "applied_erasures.parquet").read_bytes()
    assert b"0153238614" not in kept
    assert pl.read_parquet(warehouse.state_dir / "applied_erasures.parquet").height == 1
