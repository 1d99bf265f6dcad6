"""Daily loads through the real asset graph: batches landed one at a time, then a full refresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.resources import RunOptions
from assets.runner import run_pipeline
from cdp.resolve.evaluate import evaluate_clusters
from cdp.synth import generate_bank
from cdp.warehouse import Warehouse

AS_OF = "2026-10-31"
BATCHES = 3
FEATURE_TABLES = ("customer_features", "customer_life_events")


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Land three weekly batches one by one, running the pipeline after each, then a full refresh."""
    root = tmp_path_factory.mktemp("daily")
    bank = root / "bank"
    generate_bank(bank, persons=300, seed=11, months=2, batches=BATCHES)
    shared_model = Path(__file__).resolve().parents[2] / "data" / "sample" / "linkage_model.json"
    shutil.copyfile(shared_model, bank / "linkage_model.json")
    warehouse = root / "warehouse"
    snapshots: list[pl.DataFrame] = []
    feature_runs: list[dict[str, object]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))
        (bank / "landing").mkdir(exist_ok=True)
        for number in range(1, BATCHES + 1):
            shutil.copytree(bank / "batches" / f"{number:02d}", bank / "landing", dirs_exist_ok=True)
            run = run_pipeline(
                config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=RunOptions(as_of=AS_OF)
            )
            assert run.success, run.error
            snapshots.append(Warehouse(warehouse).read("identity_clusters"))
            feature_runs.append(_materialization_metadata("customer_features"))
        daily_publish = _materialization_metadata("warehouse_snapshot")
        daily_features = {name: Warehouse(warehouse).read(name) for name in FEATURE_TABLES}
        again = run_pipeline(
            config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=RunOptions(as_of=AS_OF)
        )
        assert again.success, again.error
        feature_runs.append(_materialization_metadata("customer_features"))
        rerun_publish = _materialization_metadata("warehouse_snapshot")
        after_rerun = {
            name: Warehouse(warehouse).read(name)
            for name in ("identity_clusters", "identity_changes", "segment_membership")
        }
        full = run_pipeline(
            config_path=bank / "sources.yaml",
            warehouse_dir=warehouse,
            options=RunOptions(as_of=AS_OF, full_refresh=True),
        )
        assert full.success, full.error
    return {
        "bank": bank,
        "warehouse": Warehouse(warehouse),
        "snapshots": snapshots,
        "after_rerun": after_rerun,
        "full_run_id": full.run_id,
        "daily_features": daily_features,
        "feature_runs": feature_runs,
        "rerun_publish": rerun_publish,
        "daily_publish": daily_publish,
    }


def _materialization_metadata(asset: str) -> dict[str, object]:
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    assert event is not None and event.asset_materialization is not None
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def test_later_batches_run_incrementally_and_say_so(daily: dict[str, object]) -> None:
    warehouse = daily["warehouse"]
    assert isinstance(warehouse, Warehouse)
    modes = warehouse.read("identity_runs").select("mode", "reason").rows()
    assert modes[0] == ("full", "no previous identity run")
    assert [mode for mode, _ in modes[1:BATCHES]] == ["incremental"] * (BATCHES - 1)
    assert modes[-1] == ("full", "--full-refresh")
    runs = warehouse.read("identity_runs")
    # An incremental run scores only the batch, never the whole base.
    assert (runs["scored_records"][1:BATCHES] < runs["records"][1:BATCHES]).all()
    files = warehouse.read("ingest_files")
    # Every batch's files were ingested once each, across all four systems.
    assert files["source"].n_unique() >= 4
    assert files["file"].is_unique().all()
    assert files["file"].str.extract(r"_(\d{8})\.").n_unique() == BATCHES


def test_a_rerun_with_no_new_extracts_changes_no_id_and_logs_no_event(daily: dict[str, object]) -> None:
    snapshots = daily["snapshots"]
    after_rerun = daily["after_rerun"]
    assert isinstance(snapshots, list) and isinstance(after_rerun, dict)
    assert (
        after_rerun["identity_clusters"]
        .sort("source", "record_id")
        .equals(snapshots[-1].sort("source", "record_id"))
    )
    warehouse = daily["warehouse"]
    assert isinstance(warehouse, Warehouse)
    rerun = warehouse.read("identity_runs").row(BATCHES, named=True)
    assert rerun["mode"] == "incremental" and rerun["identity_events"] == 0 and rerun["scored_records"] == 0
    # Nothing to resolve: the previous state is reused without comparing every record with yesterday's.
    assert rerun["reason"] == "no party record or steward decision changed"
    assert rerun["records"] == warehouse.read("identity_runs")["records"][BATCHES - 1]


def test_existing_customers_keep_their_ids_across_batches(daily: dict[str, object]) -> None:
    snapshots = daily["snapshots"]
    assert isinstance(snapshots, list)
    first, last = snapshots[0], snapshots[-1]
    kept = first.join(last, on=["source", "record_id"], suffix="_later")
    moved = kept.filter(pl.col("customer_id") != pl.col("customer_id_later"))
    # A record changes customer only through a logged merge or split, never silently.
    warehouse = daily["warehouse"]
    assert isinstance(warehouse, Warehouse)
    logged = warehouse.read("identity_changes").filter(pl.col("event").is_in(["merged", "split"]))
    assert moved["customer_id"].is_in(logged["customer_id"].implode()).all()
    assert moved.height <= 0.02 * kept.height


def test_daily_loads_match_a_full_refresh_and_the_truth(daily: dict[str, object]) -> None:
    bank, warehouse, snapshots = daily["bank"], daily["warehouse"], daily["snapshots"]
    assert isinstance(bank, Path) and isinstance(warehouse, Warehouse) and isinstance(snapshots, list)
    incremental, full = snapshots[-1], warehouse.read("identity_clusters")
    truth = full.select("source", "record_id", entity_id="customer_id")
    between = evaluate_clusters(incremental, truth)
    assert between.bcubed_f1 >= 0.999
    ground_truth = pl.read_csv(bank / "truth.csv", schema_overrides={"record_id": pl.String})
    assert (
        evaluate_clusters(incremental, ground_truth).bcubed_f1
        >= evaluate_clusters(full, ground_truth).bcubed_f1 - 0.002
    )
    # The full refresh kept existing customers' IDs by overlap.
    same = incremental.join(full, on=["source", "record_id"], suffix="_full")
    assert (same["customer_id"] == same["customer_id_full"]).mean() >= 0.99


def test_daily_feature_refreshes_match_the_full_refresh(daily: dict[str, object]) -> None:
    """Batches 2 and 3 refreshed features only for touched customers; the result is the full build's."""
    warehouse, daily_features = daily["warehouse"], daily["daily_features"]
    assert isinstance(warehouse, Warehouse) and isinstance(daily_features, dict)
    runs = daily["feature_runs"]
    assert isinstance(runs, list)
    assert runs[0]["mode"] == "full"
    # Weekly batches bring transactions for most of this small bank's customers: built in full.
    assert all(run["mode"] == "full" for run in runs[1:BATCHES])
    # The re-run without new extracts touched nobody: features spliced, nothing rebuilt.
    assert (runs[BATCHES]["mode"], runs[BATCHES]["rebuilt_customers"]) == ("incremental", 0)
    for name in FEATURE_TABLES:
        full = warehouse.read(name)
        assert full.height > 0
        assert_frame_equal(daily_features[name], full, check_row_order=True)


def test_the_change_log_is_only_ever_appended_to(daily: dict[str, object]) -> None:
    """Each run appends its events to identity_changes; no run rewrites what was logged before."""
    warehouse, after_rerun = daily["warehouse"], daily["after_rerun"]
    assert isinstance(warehouse, Warehouse) and isinstance(after_rerun, dict)
    earlier = after_rerun["identity_changes"]
    in_duckdb = warehouse.read("identity_changes")
    in_parquet = pl.read_parquet(warehouse.parquet_dir / "identity_changes.parquet")
    assert earlier.height > 0 and in_duckdb.height >= earlier.height
    assert_frame_equal(in_duckdb.head(earlier.height), earlier)
    assert_frame_equal(in_parquet, in_duckdb)
    # The daily runs handed DuckDB only the new events (and the standardized tables' changes).
    daily_publish, rerun_publish = daily["daily_publish"], daily["rerun_publish"]
    assert isinstance(daily_publish, dict) and isinstance(rerun_publish, dict)
    applied = str(daily_publish["applied_as_changes"]).split(", ")
    assert {"identity_changes", "std_parties", "customer_attribute_lineage"} <= set(applied)
    # The re-run with nothing new left those tables, and what identity published, as they were.
    unchanged = set(str(rerun_publish["unchanged"]).split(", "))
    assert {"identity_changes", "std_parties", "customer_attribute_lineage"} <= unchanged
    assert {"identity_clusters", "identity_edges", "identity_merged_into"} <= unchanged
    assert not {"identity_runs", "customer_360_runs"} & unchanged
    assert rerun_publish["applied_as_changes"] == ""
    run_order = warehouse.read("identity_runs")["run_id"].to_list()
    logged_runs = in_duckdb["run_id"].unique(maintain_order=True).to_list()
    assert logged_runs == [run for run in run_order if run in set(logged_runs)]


def test_segments_are_evaluated_only_for_changed_customers_and_match_a_full_evaluation(
    daily: dict[str, object],
) -> None:
    warehouse, after_rerun = daily["warehouse"], daily["after_rerun"]
    assert isinstance(warehouse, Warehouse) and isinstance(after_rerun, dict)
    runs = warehouse.read("segment_runs")
    assert runs["mode"][0] == "full" and runs["reason"][0] == "no previous segment run"
    # The re-run without new extracts changed no 360 or feature row: nobody was evaluated.
    rerun = runs.row(BATCHES, named=True)
    assert (rerun["mode"], rerun["evaluated_customers"]) == ("incremental", 0)
    # The full refresh evaluated everyone again and found the same members: no entry, no exit.
    assert runs["evaluated_customers"][-1] == runs["customers"][-1]
    assert_frame_equal(warehouse.read("segment_membership"), after_rerun["segment_membership"])
