"""A daily run whose last linkage state is gone scores every pair again, and says why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assets.resources import RunOptions
from assets.runner import run_pipeline
from cdp.runmodes import FULL, INCREMENTAL, LINKAGE_STATE
from cdp.synth import generate_bank
from cdp.warehouse import Warehouse

AS_OF = "2026-10-31"


def _land_and_run(bank: Path, warehouse: Path, batch: int) -> dict[str, object]:
    shutil.copytree(bank / "batches" / f"{batch:02d}", bank / "landing", dirs_exist_ok=True)
    run = run_pipeline(
        config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=RunOptions(as_of=AS_OF)
    )
    assert run.success, run.error
    return Warehouse(warehouse).read("identity_runs").row(-1, named=True)


def test_a_lost_linkage_state_makes_the_next_run_full_and_the_one_after_incremental(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank, warehouse = tmp_path / "bank", tmp_path / "warehouse"
    generate_bank(bank, persons=50, seed=5, months=0, batches=3)
    shutil.copyfile(
        Path(__file__).resolve().parents[2] / "data" / "sample" / "linkage_model.json",
        bank / "linkage_model.json",
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (bank / "landing").mkdir(exist_ok=True)
    assert _land_and_run(bank, warehouse, 1)["mode"] == FULL

    # The state records how far each record's pairs below the edge floor may have drifted since it
    # was scored; without it, that is unknown.
    shutil.rmtree(Warehouse(warehouse).state_dir / LINKAGE_STATE)
    lost = _land_and_run(bank, warehouse, 2)
    assert (lost["mode"], lost["reason"]) == (FULL, "the last run's linkage state was not kept")

    kept = _land_and_run(bank, warehouse, 3)
    assert (kept["mode"], kept["reason"]) == (INCREMENTAL, "previous state reusable")
