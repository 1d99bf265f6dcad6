"""A daily run scores every pair again, and says why, when its last linkage state is gone or the
population drifted too far since its last full scoring."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assets.resources import RunOptions
from assets.runner import run_pipeline
from cdp.runmodes import FULL, INCREMENTAL, LINKAGE_STATE
from cdp.warehouse import Warehouse

AS_OF = "2026-10-31"


def _land_and_run(bank: Path, warehouse: Path, batch: int) -> dict[str, object]:
    shutil.copytree(bank / "batches" / f"{batch:02d}", bank / "landing", dirs_exist_ok=True)
    run = run_pipeline(
        config_path=bank / "sources.yaml", warehouse_dir=warehouse, options=RunOptions(as_of=AS_OF)
    )
    assert run.success, run.error
    return Warehouse(warehouse).read("identity_runs").row(-1, named=True)


def test_a_lost_linkage_state_or_a_drifted_population_makes_a_daily_run_full(
    small_bank: Callable[..., tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    bank, warehouse = small_bank(persons=50, seed=5, batches=4)
    assert _land_and_run(bank, warehouse, 1)["mode"] == FULL

    # The state records how far each record's pairs below the edge floor may have drifted since it
    # was scored; without it, that is unknown.
    shutil.rmtree(Warehouse(warehouse).state_dir / LINKAGE_STATE)
    lost = _land_and_run(bank, warehouse, 2)
    assert (lost["mode"], lost["reason"]) == (FULL, "the last run's linkage state was not kept")

    # The full run keeps a state with the population it scored: the next day is incremental.
    kept = _land_and_run(bank, warehouse, 3)
    assert (kept["mode"], kept["reason"]) == (INCREMENTAL, "previous state reusable")

    # Every day moves the prior and the columns' totals a little; with no budget left for that,
    # the day's population has drifted too far from the ones its pairs were scored in.
    monkeypatch.setattr("cdp.resolve.reweigh.POPULATION_DRIFT_BITS", -1.0)
    drifted = _land_and_run(bank, warehouse, 4)
    assert drifted["mode"] == FULL
    assert str(drifted["reason"]).startswith("the population changed since it was last scored in full")
    assert drifted["scored_records"] == drifted["records"]
