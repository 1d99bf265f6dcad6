"""Pruning the linkage states after an erasure keeps only the one the next run loads."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cdp.incremental.linkage_state import (
    LinkageState,
    load_linkage_state,
    prune_linkage_states,
    save_linkage_state,
)

CODE = "v1"


def _state(record: str) -> LinkageState:
    return LinkageState(pl.DataFrame({"unique_id": [record]}), {})


def test_prune_keeps_only_the_named_run_and_it_still_loads(tmp_path: Path) -> None:
    folder = tmp_path / "linkage"
    save_linkage_state(folder, _state("core:1"), run_id="r1", code_version=CODE, keep=None)
    save_linkage_state(folder, _state("core:2"), run_id="r2", code_version=CODE, keep="r1")
    assert sorted(path.name for path in folder.iterdir()) == ["r1", "r2"]

    removed = prune_linkage_states(folder, keep="r2")

    assert removed == ["r1"]
    assert [path.name for path in folder.iterdir()] == ["r2"]
    loaded = load_linkage_state(folder, run_id="r2", code_version=CODE)
    assert loaded is not None
    assert loaded.prepared["unique_id"].to_list() == ["core:2"]


def test_prune_waits_for_a_background_save(tmp_path: Path) -> None:
    folder = tmp_path / "linkage"
    save_linkage_state(folder, _state("core:1"), run_id="r1", code_version=CODE, keep=None)
    save_linkage_state(folder, _state("core:2"), run_id="r2", code_version=CODE, keep="r1", background=True)

    prune_linkage_states(folder, keep="r2")

    assert [path.name for path in folder.iterdir()] == ["r2"]
    assert load_linkage_state(folder, run_id="r2", code_version=CODE) is not None


def test_prune_without_a_run_to_keep_empties_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "linkage"
    save_linkage_state(folder, _state("core:1"), run_id="r1", code_version=CODE, keep=None)

    assert prune_linkage_states(folder, keep=None) == ["r1"]
    assert list(folder.iterdir()) == []
    assert prune_linkage_states(tmp_path / "missing", keep="r1") == []
