"""Daily loads: ingesting batches one at a time gives exactly what a full ingest of them all gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.config import load_config
from cdp.ingest import map_sources, standardize_frame, standardize_mapped
from cdp.ingest.changes import TableChanges, table_changes
from cdp.ingest.incremental import map_increment, merge_increment
from cdp.ingest.merge import apply_increment, sort_table
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
FRAME_TABLES = TABLES[:6]
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


def test_table_changes_give_the_merged_tables_batch_by_batch(bank: Path, tmp_path: Path) -> None:
    """Changes against the published Parquet file equal the merged table, erasure of a co-holder included."""
    config = load_config(bank / "sources.yaml")
    merged: dict[str, pl.DataFrame | None] = dict.fromkeys(TABLES)
    published: dict[str, Path | None] = dict.fromkeys(FRAME_TABLES)
    for batch in ("01", "02", "03"):
        if batch == "03":
            _erase_a_core_customer_with_links(bank)
        _land(bank, batch)
        increment = map_increment(config, merged["files"])
        merged["files"] = merge_increment("files", merged["files"], increment)
        for table in FRAME_TABLES:
            merged[table] = merge_increment(table, merged[table], increment)
            changes = table_changes(
                table,
                standardize_frame(table, getattr(increment, table)),
                deleted_keys=increment.deleted_keys.get(table),
                erased_keys=increment.erased_keys,
                base=None if increment.full else published[table],
            )
            assert changes.is_full == (batch == "01")
            assert_frame_equal(changes.collect(), merged[table])
            assert_frame_equal(changes.scan().collect(), merged[table])
            staged = tmp_path / "staged" / batch / table
            changes.write(staged)
            assert_frame_equal(TableChanges.read(staged).collect(), merged[table])
            path = tmp_path / batch / f"{table}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            merged[table].write_parquet(path)
            published[table] = path
        if batch == "03":
            # Only the batch travels: a fraction of the table, not all of it.
            parties = table_changes(
                "parties",
                standardize_frame("parties", increment.parties),
                deleted_keys=increment.deleted_keys.get("parties"),
                erased_keys=increment.erased_keys,
                base=published["parties"],
            )
            assert 0 < parties.upserts.height < merged["parties"].height / 2


def test_erasing_a_co_holder_keeps_the_other_holders_of_the_account(tmp_path: Path) -> None:
    previous = pl.DataFrame(
        {
            "account_source": ["acc", "acc", "acc"],
            "account_id": ["1", "1", "2"],
            "party_source": ["core", "core", "core"],
            "party_record_id": ["p1", "p9", "p9"],
            "role": ["primary", "joint", "primary"],
        }
    )
    base = tmp_path / "account_holders.parquet"
    sort_table("account_holders", previous).write_parquet(base)
    erased = pl.DataFrame({"source": ["core"], "record_id": ["p9"]})

    changes = table_changes(
        "account_holders", previous.clear(), deleted_keys=None, erased_keys=erased, base=base
    )

    assert changes.collect().select("account_id", "party_record_id").rows() == [("1", "p1")]
    assert changes.deleted.rows() == [("acc", "2")]
    expected = apply_increment(previous, previous.clear(), table="account_holders", erased_keys=erased)
    assert_frame_equal(changes.collect(), expected)
