"""Daily loads: ingesting batches one at a time gives exactly what a full ingest of them all gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.config import load_config
from cdp.ingest import map_sources, standardize_mapped
from cdp.ingest.incremental import map_increment, merge_increment
from cdp.ingest.merge import sort_table
from cdp.synth import generate_bank

TABLES = (
    "parties",
    "accounts",
    "account_holders",
    "transactions",
    "events",
    "consents",
    "rejects",
    "reconciliation",
    "files",
)
#: Sorts after batch 02's customer file and before batch 03's.
EXTRA_FILE = "core/customers_20261024_fix.csv"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bank")
    generate_bank(out, persons=300, seed=7, batches=3)
    _add_corrections(out)
    return out


@pytest.fixture
def bank(generated: Path, tmp_path: Path) -> Path:
    """A fresh copy (empty landing folder, no erasure register) for each test."""
    return Path(shutil.copytree(generated, tmp_path / "bank"))


def _add_corrections(out: Path) -> None:
    """Batch 02 also carries a correction file: an update, a deletion and two kinds of reject."""
    first = pl.read_csv(next((out / "batches/01/core").glob("customers_*.csv")), infer_schema=False)
    rows = pl.concat(
        [
            first[0].with_columns(last_nm=pl.lit("Correctedname")),
            first[1].with_columns(record_status=pl.lit("D")),
            first[2].with_columns(birth_dt=pl.lit("13/45/1990")),
            first[3],
            first[3],
        ]
    )
    rows.write_csv(out / "batches/02" / EXTRA_FILE)


def _land(bank: Path, batch: str) -> None:
    for system in (bank / "batches" / batch).iterdir():
        shutil.copytree(system, bank / "landing" / system.name, dirs_exist_ok=True)


def _erase_a_core_customer_with_links(bank: Path) -> str:
    holders = pl.read_csv(next((bank / "batches/01/core").glob("accounts_*.csv")), infer_schema=False)
    consents = pl.read_csv(next((bank / "batches/01/core").glob("branch_consents_*.csv")), infer_schema=False)
    cif = holders.join(consents.select(pl.col("cif").alias("cif_no")), on="cif_no")["cif_no"].sort()[0]
    (bank / "erasure_requests.csv").write_text(
        f"source,record_id,requested_at,reference\ncore_customers,{cif},2026-10-30,DPO-1\n", encoding="utf-8"
    )
    return cif


def _person_rows(state: dict[str, pl.DataFrame], record_id: str) -> dict[str, int]:
    return {
        "parties": state["parties"].filter(source="core_customers", record_id=record_id).height,
        "account_holders": state["account_holders"]
        .filter(party_source="core_customers", party_record_id=record_id)
        .height,
        "consents": state["consents"].filter(party_source="core_customers", party_record_id=record_id).height,
    }


def test_batches_ingested_one_by_one_equal_a_full_ingest(bank: Path) -> None:
    config = load_config(bank / "sources.yaml")
    first = pl.read_csv(next((bank / "batches/01/core").glob("customers_*.csv")), infer_schema=False)
    updated, deleted = first["cif_no"][0], first["cif_no"][1]
    state: dict[str, pl.DataFrame | None] = dict.fromkeys(TABLES)
    seen: dict[str, dict[str, pl.DataFrame]] = {}
    erased = ""
    for batch in ("01", "02", "03"):
        if batch == "03":
            erased = _erase_a_core_customer_with_links(bank)
        _land(bank, batch)
        increment = map_increment(config, state["files"])
        assert increment.requires_full_reason is None
        assert increment.full == (batch == "01")
        for table in TABLES:
            state[table] = merge_increment(table, state[table], increment)
        seen[batch] = {table: frame for table, frame in state.items() if frame is not None}

    full = standardize_mapped(map_sources(config))
    for table in TABLES[:-1]:
        assert_frame_equal(seen["03"][table], sort_table(table, getattr(full, table)), check_row_order=True)
    assert seen["03"]["files"].height == full.reconciliation.height == seen["03"]["reconciliation"].height
    assert (
        seen["03"]["files"]
        .select("source", "file", "rows_read")
        .equals(seen["03"]["reconciliation"].select("source", "file", "rows_read"))
    )

    corrected = seen["02"]["parties"].filter(source="core_customers", record_id=updated)
    assert corrected.select("last_name", "source_file").rows() == [("correctedname", f"landing/{EXTRA_FILE}")]
    assert seen["01"]["parties"].filter(source="core_customers", record_id=deleted).height == 1
    assert seen["02"]["parties"].filter(source="core_customers", record_id=deleted).height == 0
    assert sorted(seen["02"]["rejects"].filter(file=f"landing/{EXTRA_FILE}")["reason"].to_list()) == [
        "duplicate record_id",
        "expression failed on a present value of birth_dt",
    ]
    before, after = _person_rows(seen["02"], erased), _person_rows(seen["03"], erased)
    assert min(before.values()) >= 1
    assert after == {"parties": 0, "account_holders": 0, "consents": 0}


def test_a_rerun_without_new_files_changes_nothing(bank: Path) -> None:
    config = load_config(bank / "sources.yaml")
    for batch in ("01", "02", "03"):
        _land(bank, batch)
    increment = map_increment(config, None)
    files = merge_increment("files", None, increment)
    parties = merge_increment("parties", None, increment)

    again = map_increment(config, files)

    assert (again.full, again.requires_full_reason, again.files.height) == (False, None, 0)
    assert_frame_equal(merge_increment("parties", parties, again), parties)
    assert_frame_equal(merge_increment("files", files, again), files)
