"""A daily batch on a bank without transaction history: features and segments follow only the
customers the batch touched, through the real asset graph, and equal a full refresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.resources import RunOptions
from assets.runner import run_pipeline
from cdp import runmodes
from cdp.synth import generate_bank
from cdp.warehouse import Warehouse

AS_OF = "2026-10-31"
REFRESHED = ("customer_features", "customer_life_events", "segment_membership")


def _metadata(asset: str) -> dict[str, object]:
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    assert event is not None and event.asset_materialization is not None
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Batch 01, then batch 02 (new, changed and deleted records, no transactions), then --full-refresh."""
    bank = tmp_path_factory.mktemp("bank")
    generate_bank(bank, persons=300, seed=5, months=0, batches=2)
    shutil.copyfile(
        Path(__file__).resolve().parents[2] / "data" / "sample" / "linkage_model.json",
        bank / "linkage_model.json",
    )
    warehouse = tmp_path_factory.mktemp("warehouse")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))
        (bank / "landing").mkdir(exist_ok=True)
        for number in (1, 2):
            shutil.copytree(bank / "batches" / f"{number:02d}", bank / "landing", dirs_exist_ok=True)
            run = run_pipeline(
                config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=RunOptions(as_of=AS_OF)
            )
            assert run.success, run.error
        day_two = {name: Warehouse(warehouse).read(name) for name in REFRESHED}
        day_two_features = _metadata("customer_features")
        full = run_pipeline(
            config_path=bank / "sources.yaml",
            warehouse_dir=warehouse,
            options=RunOptions(as_of=AS_OF, full_refresh=True),
        )
        assert full.success, full.error
        # The same extracts again, as if cdp had been upgraded in between.
        patch.setattr(runmodes, "code_version", lambda: "upgraded0000")
        upgraded = run_pipeline(
            config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=RunOptions(as_of=AS_OF)
        )
        assert upgraded.success, upgraded.error
    return {"warehouse": Warehouse(warehouse), "day_two": day_two, "day_two_features": day_two_features}


def test_the_second_day_refreshes_only_the_touched_customers(two_days: dict[str, object]) -> None:
    warehouse, features = two_days["warehouse"], two_days["day_two_features"]
    assert isinstance(warehouse, Warehouse) and isinstance(features, dict)
    identity, built, segments = (
        warehouse.read(name).row(1, named=True)
        for name in ("identity_runs", "customer_360_runs", "segment_runs")
    )
    assert identity["mode"] == built["mode"] == "incremental"
    assert 0 < built["rebuilt_customers"] < built["customers"]
    assert features["mode"] == "incremental"
    assert 0 < int(str(features["rebuilt_customers"])) < built["customers"]
    assert segments["mode"] == "incremental"
    assert 0 < segments["evaluated_customers"] < segments["customers"]


def test_the_refreshed_features_and_segments_equal_a_full_refresh(two_days: dict[str, object]) -> None:
    warehouse, day_two = two_days["warehouse"], two_days["day_two"]
    assert isinstance(warehouse, Warehouse) and isinstance(day_two, dict)
    last_segment_run = warehouse.read("segment_runs").row(-2, named=True)
    assert last_segment_run["mode"] == "full"
    # Same customers and IDs (the full refresh keeps them by overlap), so the same rows.
    assert_frame_equal(
        warehouse.read("customer_360").select("customer_id"),
        day_two["customer_features"].select("customer_id"),
    )
    for name in REFRESHED:
        rebuilt = warehouse.read(name)
        assert rebuilt.height > 0, name
        assert_frame_equal(day_two[name], rebuilt, check_row_order=True)
    # Customers the second day created were evaluated that day: some already hold a stay.
    second_run = warehouse.read("identity_runs")["run_id"][1]
    created = warehouse.read("identity_changes").filter(
        (pl.col("run_id") == second_run) & (pl.col("event") == "created")
    )["customer_id"]
    assert created.len() > 0
    assert day_two["segment_membership"]["customer_id"].is_in(created.implode()).any()


def test_a_run_after_an_upgrade_rebuilds_every_stage_and_keeps_the_ids(two_days: dict[str, object]) -> None:
    """Tables a different cdp built are not spliced into: each stage runs in full and says why."""
    warehouse = two_days["warehouse"]
    assert isinstance(warehouse, Warehouse)
    logs = {name: warehouse.read(name) for name in ("identity_runs", "customer_360_runs", "segment_runs")}
    for name, log in logs.items():
        before, after = log.row(-2, named=True), log.row(-1, named=True)
        assert before["code_version"] != "upgraded0000" and after["code_version"] == "upgraded0000", name
        assert after["mode"] == "full", name
    assert (
        logs["identity_runs"]["reason"][-1]
        == f"cdp code changed ({logs['identity_runs']['code_version'][-2]} -> upgraded0000)"
    )
    assert logs["segment_runs"]["reason"][-1].startswith("cdp code changed")
    # Nothing else changed: a full rebuild on the same extracts keeps every ID and logs no event.
    assert logs["identity_runs"]["identity_events"][-1] == 0
