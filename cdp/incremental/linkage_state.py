"""The linkage input and placeholder counts of the last resolved population, kept between runs.

Every identity run needs two things computed over every party record, not just the batch:
Splink's prepared input (:func:`cdp.resolve.prepare.prepare_linkage_input`: term frequencies,
blocking candidates and re-weighing read it) and the records per value of each screened column
(what placeholders are judged from). Both change only where the batch changes them, so a run
keeps them in the warehouse's state folder and the next one patches them with its batch instead
of recomputing them from a million records. With them goes one thing that cannot be recomputed:
per record not scored since, how far its pairs below the edge floor may have risen so far
(:func:`cdp.resolve.reweigh.risen_records`); a run that finds no state scores everything again.

A state is trusted only for the population it was computed from: it is saved under the id of the
run that computed it and loaded only when that run is the last one the warehouse published (a run
that failed before publishing leaves a state nobody loads), with the same code version. Cheap
checks (row count, records per column) catch anything else, and a state that fails them is
recomputed. The folder keeps the state of the last published run and of the newest run only, so
an erased record's values leave it within two runs, as they leave the Parquet snapshots; a
publish that applies new erasures calls :func:`prune_linkage_states` to drop every state but the
one the next run loads at once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from cdp.warehouse.files import fsync_path

if TYPE_CHECKING:
    from cdp.resolve.prepare import PlaceholderValues

log = logging.getLogger(__name__)

_PREPARED = "prepared.parquet"
_COUNTS = "value_counts.parquet"
_DRIFT = "drift.parquet"
_POPULATIONS = "populations.parquet"
_META = "state.json"
#: Background saves still writing, by state folder.
_PENDING: dict[Path, threading.Thread] = {}


@dataclass(frozen=True)
class LinkageState:
    """One population's prepared linkage input and records per screened value.

    Attributes:
        prepared: :func:`~cdp.resolve.prepare.prepare_linkage_input` of every record, with the
            population's own placeholders nulled.
        value_counts: :func:`~cdp.resolve.prepare.value_counts` of the same records.
        drift: per record not scored since its values became rarer, how far its pairs may have
            risen so far (:attr:`cdp.resolve.reweigh.RecordDrift.carried`).
        populations: :func:`cdp.resolve.reweigh.population_profile` of the last full scoring and
            of every run since, oldest first (None: not recorded, and not checked).
    """

    prepared: pl.DataFrame
    value_counts: Mapping[str, pl.DataFrame]
    drift: pl.DataFrame = field(default_factory=lambda: _no_drift())
    populations: pl.DataFrame | None = None


def population_linkage_state(parties: pl.DataFrame, *, model_json: str | None = None) -> LinkageState:
    """The state of ``parties`` computed from scratch (a first or full run): placeholders found
    from the value counts, then every record prepared with them. With the ``model_json`` they are
    scored with, the population's profile starts the record of populations since this scoring."""
    from cdp.resolve.prepare import placeholder_flips, prepare_linkage_input, value_counts
    from cdp.resolve.reweigh import population_profile

    counts = value_counts(parties)
    placeholders, _ = placeholder_flips(parties, arrived=None, departed=None, counts=counts)
    prepared = prepare_linkage_input(parties, placeholders=placeholders)
    populations = None if model_json is None else population_profile(prepared, model_json)
    return LinkageState(prepared, counts, populations=populations)


def counts_fit(counts: Mapping[str, pl.DataFrame], parties: pl.DataFrame) -> bool:
    """Whether ``counts`` can be ``parties``' value counts: every column counts as many records
    as ``parties`` has non-null screened values in it (a cheap check; it needs no grouping)."""
    from cdp.resolve.prepare import PLACEHOLDER_COLUMNS, screened_non_null

    expected = screened_non_null(parties, PLACEHOLDER_COLUMNS)
    return set(expected) == set(counts) and all(
        int(counts[column]["records"].sum()) == records for column, records in expected.items()
    )


def patched_linkage_input(
    previous: pl.DataFrame, *, batch: pl.DataFrame, removed: pl.DataFrame, placeholders: PlaceholderValues
) -> pl.DataFrame:
    """Yesterday's prepared input with the ``batch`` records (new, changed, or holding a value whose
    placeholder status flipped) prepared again and the ``removed`` keys dropped.

    Equal to preparing every record of today's population when ``previous`` was prepared from the
    population before the batch: preparing is row by row except for the placeholders, and every
    record whose placeholders changed is in ``batch``. Sorted by ``unique_id`` like a fresh one.
    """
    from cdp.resolve.prepare import prepare_linkage_input

    ids = pl.concat_str(["source", "record_id"], separator=":")
    gone = pl.concat([batch.select(unique_id=ids), removed.select(unique_id=ids)])["unique_id"]
    kept = previous.filter(~pl.col("unique_id").is_in(gone.implode()))
    # Both sides are sorted by unique_id: a linear merge, not a sort of a million strings.
    return kept.merge_sorted(prepare_linkage_input(batch, placeholders=placeholders), key="unique_id")


def _run_folder(folder: Path, run_id: str) -> Path:
    return folder / run_id


def load_linkage_state(folder: Path, *, run_id: str, code_version: str) -> LinkageState | None:
    """The state saved by run ``run_id`` with this code version, or None."""
    wait_for_saves(folder)
    run_folder = _run_folder(folder, run_id)
    meta = _read_meta(run_folder)
    if meta is None or meta.get("code_version") != code_version:
        return None
    try:
        prepared = pl.read_parquet(run_folder / _PREPARED)
        counts = pl.read_parquet(run_folder / _COUNTS)
        drift = pl.read_parquet(run_folder / _DRIFT)
        populations = pl.read_parquet(run_folder / _POPULATIONS) if meta.get("populations") else None
    except (OSError, pl.exceptions.PolarsError) as error:
        log.warning("linkage state of run %s unreadable (%s): recomputing", run_id, type(error).__name__)
        return None
    by_column = {
        str(column): frame.drop("column")
        for (column,), frame in counts.partition_by("column", as_dict=True, maintain_order=False).items()
    }
    columns = [str(column) for column in meta["columns"]]
    return LinkageState(
        prepared, {column: by_column.get(column, _empty_counts()) for column in columns}, drift, populations
    )


def save_linkage_state(
    folder: Path,
    state: LinkageState,
    *,
    run_id: str,
    code_version: str,
    keep: str | None,
    background: bool = False,
) -> None:
    """Save ``state`` as run ``run_id``'s, then drop every other run's state but ``keep``'s.

    The metadata file goes last, so a state cut short by a crash is never loaded. With
    ``background`` the files are written on a thread while the run goes on (the next load waits
    for it; a failed save only costs the next run the recomputation, and is logged).
    """
    wait_for_saves(folder)
    if not background:
        _save(folder, state, run_id=run_id, code_version=code_version, keep=keep)
        return

    def save() -> None:
        try:
            _save(folder, state, run_id=run_id, code_version=code_version, keep=keep)
        except Exception as error:  # noqa: BLE001 - the run must not fail for a cache
            log.warning("linkage state of run %s not saved: %s", run_id, type(error).__name__)

    # Not a daemon: the process finishes the write before it exits.
    thread = threading.Thread(target=save, name="cdp-linkage-state")
    _PENDING[folder] = thread
    thread.start()


def wait_for_saves(folder: Path) -> None:
    """Block until a background save into ``folder`` (if any) has finished."""
    thread = _PENDING.pop(folder, None)
    if thread is not None:
        thread.join()


def _save(folder: Path, state: LinkageState, *, run_id: str, code_version: str, keep: str | None) -> None:
    run_folder = _run_folder(folder, run_id)
    shutil.rmtree(run_folder, ignore_errors=True)
    run_folder.mkdir(parents=True)
    # LZ4, not the warehouse's zstd: this file is written every run and read by the next one only.
    state.prepared.write_parquet(run_folder / _PREPARED, compression="lz4", statistics=False)
    counts = pl.concat(
        [
            frame.select(pl.lit(column).alias("column"), "value", "records")
            for column, frame in state.value_counts.items()
        ]
        or [_empty_counts().select(pl.lit(None, pl.String).alias("column"), "value", "records")]
    )
    counts.write_parquet(run_folder / _COUNTS, compression="lz4", statistics=False)
    state.drift.write_parquet(run_folder / _DRIFT, compression="lz4", statistics=False)
    if state.populations is not None:
        state.populations.write_parquet(run_folder / _POPULATIONS, statistics=False)
    _write_meta(
        run_folder,
        code_version=code_version,
        columns=list(state.value_counts),
        populations=state.populations is not None,
    )
    _prune(folder, keep={run_id, *([keep] if keep else [])})


def carry_linkage_state(folder: Path, *, from_run: str, to_run: str, code_version: str) -> bool:
    """Let run ``to_run``, which changed no party record, reuse ``from_run``'s state (linked, not
    copied). Returns whether there was a state to carry."""
    wait_for_saves(folder)
    source = _run_folder(folder, from_run)
    meta = _read_meta(source)
    if meta is None or meta.get("code_version") != code_version:
        return False
    target = _run_folder(folder, to_run)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    populations = bool(meta.get("populations"))
    for name in (_PREPARED, _COUNTS, _DRIFT, *([_POPULATIONS] if populations else [])):
        try:
            os.link(source / name, target / name)
        except OSError:
            shutil.copy2(source / name, target / name)
    _write_meta(
        target,
        code_version=code_version,
        columns=[str(column) for column in meta["columns"]],
        populations=populations,
    )
    _prune(folder, keep={from_run, to_run})
    return True


def prune_linkage_states(folder: Path, *, keep: str | None) -> list[str]:
    """Delete every run's state but ``keep``'s (the last published identity run: the only one the
    next run loads), waiting first for a background save to finish.

    Returns:
        The run ids whose state was deleted, sorted.
    """
    wait_for_saves(folder)
    if not folder.is_dir():
        return []
    removed = _prune(folder, keep={keep} if keep else set())
    if removed:
        log.info("pruned the linkage state of %d earlier run(s)", len(removed))
    return removed


def _no_drift() -> pl.DataFrame:
    from cdp.resolve.reweigh import no_drift

    return no_drift()


def _empty_counts() -> pl.DataFrame:
    return pl.DataFrame(schema={"value": pl.String(), "records": pl.Int64()})


def _read_meta(run_folder: Path) -> dict[str, Any] | None:
    try:
        meta: dict[str, Any] = json.loads((run_folder / _META).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return meta


def _write_meta(run_folder: Path, *, code_version: str, columns: list[str], populations: bool) -> None:
    temporary = run_folder / f".{_META}.tmp"
    temporary.write_text(
        json.dumps({"code_version": code_version, "columns": columns, "populations": populations})
    )
    temporary.replace(run_folder / _META)
    fsync_path(run_folder)


def _prune(folder: Path, *, keep: set[str]) -> list[str]:
    removed: list[str] = []
    for run_folder in folder.iterdir():
        if run_folder.is_dir() and run_folder.name not in keep:
            shutil.rmtree(run_folder, ignore_errors=True)
            removed.append(run_folder.name)
    return sorted(removed)
