"""The whole asset graph on the committed sample, run in-process exactly as ``cdp run`` runs it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets import customer_360 as customer_360_assets
from assets.resources import RunOptions
from assets.runner import PipelineRun, run_pipeline
from cdp.pipeline import PUBLISHED_TABLES
from cdp.warehouse import Warehouse

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
AS_OF = "2026-10-31"


def _run(config: Path, warehouse: Path) -> PipelineRun:
    return run_pipeline(config_path=config, warehouse_dir=warehouse, options=RunOptions(as_of=AS_OF))


@pytest.fixture(scope="module")
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("dagster_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, dagster_home: Path) -> tuple[Path, PipelineRun]:
    warehouse = tmp_path_factory.mktemp("warehouse")
    run = _run(SAMPLE / "sources.yaml", warehouse)
    assert run.success, run.error
    return warehouse, run


def test_sample_run_publishes_every_table_to_duckdb_and_parquet(published: tuple[Path, PipelineRun]) -> None:
    root, _ = published
    warehouse = Warehouse(root)
    assert set(PUBLISHED_TABLES) <= set(warehouse.tables())
    for table in PUBLISHED_TABLES:
        assert (root / "parquet" / f"{table}.parquet").exists(), table
    assert {"masked_customer_360", "masked_std_parties"} <= set(
        warehouse.query("select table_name from information_schema.tables where table_type = 'VIEW'")[
            "table_name"
        ]
    )


def test_every_accepted_party_record_is_in_exactly_one_customer(published: tuple[Path, PipelineRun]) -> None:
    warehouse = Warehouse(published[0])
    parties = warehouse.read("std_parties").select("source", "record_id")
    clusters = warehouse.read("identity_clusters")
    assert clusters.height == parties.height
    assert clusters.select("source", "record_id").is_duplicated().sum() == 0
    assert parties.join(clusters, on=["source", "record_id"], how="anti").is_empty()
    customers = warehouse.read("customer_360")
    assert customers["customer_id"].is_unique().all()
    assert set(customers["customer_id"]) == set(clusters["customer_id"])


def test_the_samples_correction_file_upserts_and_quarantines(published: tuple[Path, PipelineRun]) -> None:
    warehouse = Warehouse(published[0])
    corrections = "core/customers_20261031_corrections.csv"
    rejects = warehouse.read("rejects").filter(pl.col("file") == corrections)
    assert rejects.select("line", "column", "reason").rows() == [
        (3, "date_of_birth", "expression failed on a present value of birth_dt"),
        (4, "record_id", "missing record_id"),
        (5, "record_id", "duplicate record_id"),
    ]
    moved = warehouse.read("std_parties").filter(pl.col("record_id") == "0613398400")
    assert moved.select("city", "postcode", "source_file").row(0) == ("miami beach", "33139", corrections)


def test_counts_reconcile_for_every_file(published: tuple[Path, PipelineRun]) -> None:
    reconciliation = Warehouse(published[0]).read("ingest_reconciliation")
    assert reconciliation.height >= 12
    assert (
        reconciliation["rows_read"] == reconciliation["rows_accepted"] + reconciliation["rows_rejected"]
    ).all()


def test_a_second_run_on_the_same_inputs_changes_nothing(
    published: tuple[Path, PipelineRun], dagster_home: Path
) -> None:
    root, first = published
    warehouse = Warehouse(root)
    before = {
        table: warehouse.read(table) for table in ("identity_clusters", "customer_360", "customer_features")
    }
    second = _run(SAMPLE / "sources.yaml", root)
    assert second.success, second.error
    for table, frame in before.items():
        assert_frame_equal(warehouse.read(table), frame, check_row_order=False)
    changes = warehouse.read("identity_changes")
    assert set(changes["run_id"]) == {first.run_id}, "a re-run with no new data must log no identity event"


def test_a_failed_quality_check_blocks_publishing(
    published: tuple[Path, PipelineRun], dagster_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "warehouse"
    shutil.copytree(published[0], root)
    warehouse = Warehouse(root)
    published_before = warehouse.read("customer_360")
    build = customer_360_assets.build_customer_tables

    def duplicated_customer(**kwargs: object) -> object:
        built = build(**kwargs)
        tables = built.tables
        doubled = pl.concat([tables.customer_360, tables.customer_360.head(1)])
        duplicated = replace(tables, customer_360=doubled)
        return replace(built, tables=duplicated)

    monkeypatch.setattr(customer_360_assets, "build_customer_tables", duplicated_customer)
    run = _run(SAMPLE / "sources.yaml", root)
    assert not run.success
    assert run.error is not None and "customer_360_quality" in run.error
    assert "customer_id" in run.error
    assert_frame_equal(warehouse.read("customer_360"), published_before)


def test_bad_rows_are_quarantined_with_file_line_column_and_reason(
    dagster_home: Path, tmp_path: Path
) -> None:
    config_dir = tmp_path / "extracts"
    shutil.copytree(SAMPLE, config_dir)
    customers = config_dir / "core" / "customers_20261031.csv"
    lines_before = len(customers.read_text().splitlines())
    with customers.open("a") as extract:
        extract.write(
            "0999999991,Ann,,Lee,13/45/1987,123-45-6789,1,Main St,,Miami,FL,33874,,,ann@x.com,"
            "02/03/2022,N,N,039,2022-02-03,A\n"
            ",Bob,,Ray,01/02/1980,223-45-6789,1,Main St,,Miami,FL,33874,,,bob@x.com,"
            "02/03/2022,N,N,039,2022-02-03,A\n"
        )
    warehouse = tmp_path / "warehouse"
    run = _run(config_dir / "sources.yaml", warehouse)
    assert run.success, run.error
    rejects = Warehouse(warehouse).read("rejects").filter(pl.col("file").str.ends_with(customers.name))
    assert rejects.select("line", "column").sort("line").rows() == [
        (lines_before + 1, "date_of_birth"),
        (lines_before + 2, "record_id"),
    ]
    assert (rejects["source"] == "core_customers").all()
    assert rejects["reason"].str.len_chars().min() > 0
    row = (
        Warehouse(warehouse)
        .read("ingest_reconciliation")
        .filter(pl.col("file").str.ends_with(customers.name))
    )
    assert row.select("rows_read", "rows_accepted", "rows_rejected").row(0) == (
        lines_before + 1,
        lines_before - 1,
        2,
    )


def test_an_extract_missing_a_mapped_column_fails_with_a_clear_message(
    dagster_home: Path, tmp_path: Path
) -> None:
    config_dir = tmp_path / "extracts"
    shutil.copytree(SAMPLE, config_dir)
    customers = config_dir / "core" / "customers_20261031.csv"
    frame = pl.read_csv(customers, infer_schema=False)
    frame.drop("email_addr").write_csv(customers)
    run = _run(config_dir / "sources.yaml", tmp_path / "warehouse")
    assert not run.success
    assert run.error is not None
    assert customers.name in run.error and "email_addr" in run.error
    assert "Traceback" not in run.error
    assert not Warehouse(tmp_path / "warehouse").exists("customer_360")


def test_segment_export_from_the_published_warehouse_reconciles_and_names_its_run(
    published: tuple[Path, PipelineRun], tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from cdp.cli import app

    root, run = published
    out = tmp_path / "offers.csv"
    result = CliRunner().invoke(
        app,
        [
            "export",
            "mass_affluent",
            "--channel",
            "email",
            "--purpose",
            "marketing",
            "--out",
            str(out),
            "--holdout",
            "10",
            "--campaign",
            "C1",
            "-w",
            str(root),
            "--as-of",
            AS_OF,
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_name("offers.csv.manifest.json").read_text())
    assert manifest["data_run_id"] in {run.run_id, *Warehouse(root).publish_log()["run_id"]}
    assert manifest["members"] == manifest["excluded_total"] + manifest["holdout"] + manifest["exported"]
    exported = pl.read_csv(out)
    assert exported.height == manifest["exported"]
    assert exported.columns == ["customer_id", "first_name", "email"]


def test_no_raw_national_id_reaches_any_staged_or_published_table(
    published: tuple[Path, PipelineRun],
) -> None:
    root, _ = published
    extracts = sorted((SAMPLE / "core").glob("customers_*.csv"))
    customers = pl.concat([pl.read_csv(path, infer_schema=False) for path in extracts])
    raw_ids = customers["ssn"].drop_nulls().str.strip_chars()
    forms = pl.concat([raw_ids, raw_ids.str.replace_all(r"\D", "")]).unique().implode()
    files = sorted(root.rglob("*.parquet"))
    assert any("_staging" in str(path) for path in files)
    assert any("parquet_snapshots" in path.parts for path in files)
    for path in files:
        frame = pl.read_parquet(path)
        for column in [name for name, dtype in frame.schema.items() if dtype == pl.String]:
            values = frame.get_column(column).drop_nulls()
            leaked = values.is_in(forms).any() or values.str.contains(r"\b\d{3}-\d{2}-\d{4}\b").any()
            assert not leaked, f"raw national ID in {path.relative_to(root)}:{column}"


def test_features_do_not_depend_on_row_order_or_thread_scheduling(
    published: tuple[Path, PipelineRun],
) -> None:
    import datetime as dt

    from cdp.features import build_customer_features

    warehouse = Warehouse(published[0])
    names = ("std_transactions", "std_accounts", "std_account_holders", "std_events", "std_parties")
    tables = {name: warehouse.read(name) for name in (*names, "identity_clusters", "customer_360")}

    def features(seed: int | None) -> pl.DataFrame:
        frames = {
            k: v if seed is None else v.sample(fraction=1.0, shuffle=True, seed=seed)
            for k, v in tables.items()
        }
        return build_customer_features(
            transactions=frames["std_transactions"],
            accounts=frames["std_accounts"],
            account_holders=frames["std_account_holders"],
            events=frames["std_events"],
            parties=frames["std_parties"],
            clusters=frames["identity_clusters"],
            customers=frames["customer_360"],
            as_of=dt.date.fromisoformat(AS_OF),
        ).features.sort("customer_id")

    reference = features(None)
    for seed in (1, 2):
        assert_frame_equal(features(seed), reference)
    assert_frame_equal(features(None), reference)
