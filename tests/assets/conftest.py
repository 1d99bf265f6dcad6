"""Shared set-up of the pipeline tests that land generated batches one day at a time."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cdp.synth import generate_bank

SHARED_MODEL = Path(__file__).resolve().parents[2] / "data" / "sample" / "linkage_model.json"


@pytest.fixture
def small_bank(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[Path, Path]]:
    """``small_bank(persons=, seed=, batches=)``: a bank generated as batches under ``tmp_path``
    (no transaction history), scored with the shipped linkage model, an empty ``landing`` folder
    and its own Dagster home. Returns the bank folder and the warehouse folder to run into."""

    def make(*, persons: int, seed: int, batches: int) -> tuple[Path, Path]:
        bank = tmp_path / "bank"
        generate_bank(bank, persons=persons, seed=seed, months=0, batches=batches)
        shutil.copyfile(SHARED_MODEL, bank / "linkage_model.json")
        (bank / "landing").mkdir(exist_ok=True)
        home = tmp_path / "dagster_home"
        home.mkdir()
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        return bank, tmp_path / "warehouse"

    return make
