"""Atomic, idempotent publishing of a run's tables to DuckDB and Parquet.

Order of one publish (under an exclusive ``.publish.lock`` file lock, so publishes never overlap):

1. **Prepare the Parquet snapshot** in ``parquet_snapshots/<seq>-<run_id>/``: the run's tables are
   written, unpublished tables are hard-linked from the current snapshot (or exported from DuckDB if
   that snapshot cannot be trusted), and ``_manifest.json`` is written last. Readers see nothing yet.
2. **Commit DuckDB** in one transaction: ``CREATE OR REPLACE TABLE`` per table (loaded from Arrow),
   or, for a table handed over as a :class:`TableDelta` of the version DuckDB holds, a ``DELETE`` of
   the replaced keys and an ``INSERT`` of the upserts; a table whose new file has the very bytes of
   the one DuckDB last took is left alone (an unchanged ``TableDelta`` is not even rewritten: its
   file is hard-linked into the snapshot); dropped tables (``replace_all``), views,
   masked views and a ``_cdp_publish_log`` row naming the snapshot. This COMMIT is the publish:
   before it every reader sees the previous version everywhere.
3. **Swap** the ``parquet`` symlink to the new snapshot (one ``rename``), then prune old snapshots.
4. **Purge** (only when asked to, e.g. by a run that applied new erasures): prune every snapshot but
   the new one and rewrite the DuckDB file without its freed blocks
   (:func:`~cdp.warehouse.compaction.compact_duckdb_file`), so deleted values leave the disk now,
   not one or more runs later. A ``.purge_pending`` marker, written before the commit and removed
   after the rewrite, makes the next publish purge if this one dies or fails on the way.

Between 2 and 3 (microseconds, or longer only if the process dies there) DuckDB readers see the new
version while Parquet readers still see the whole previous one: never a mix inside either store.
The next publish, or :meth:`Warehouse.repair`, rolls the link forward to the snapshot named in the
last ``_cdp_publish_log`` row, so a re-run repairs the mismatch.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from cdp.errors import CdpError
from cdp.warehouse.compaction import Compaction, compact_duckdb_file
from cdp.warehouse.faults import fault_point
from cdp.warehouse.files import check_table_name, fsync_path, same_bytes, write_parquet_atomic
from cdp.warehouse.masking import MASKED_PREFIX
from cdp.warehouse.snapshots import (
    Manifest,
    current_snapshot,
    link_or_copy,
    list_snapshots,
    point_parquet_at,
    prune_snapshots,
    read_manifest,
    snapshot_name,
    snapshot_seq,
    snapshots_root,
    write_manifest,
)
from cdp.warehouse.transaction import DeltaLoad, Unchanged, commit_publish
from cdp.warehouse.warehouse import (
    INTERNAL_PREFIX,
    PUBLISH_LOG,
    WarehouseBusyError,
    _has_table,
    _table_names,
)

if TYPE_CHECKING:
    from cdp.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LOCK_FILE = ".publish.lock"
#: Present from the start of a purging publish until its purge is done: a publish that finds it
#: purges too, so a purge cut short by a crash or an error is never forgotten.
PURGE_MARKER = ".purge_pending"


@dataclass(frozen=True)
class PublishReport:
    """What one publish did.

    Attributes:
        run_id: The run that published.
        seq: Publish sequence number (1 for the first publish of a warehouse).
        snapshot: The Parquet snapshot folder ``parquet/`` now points at.
        rows: Row count of each table this run published.
        carried: Tables kept at their previous version (not in this publish).
        dropped: Tables removed by ``replace_all``.
        views: Views created from the ``views`` argument.
        masked_views: Masked views (re)created, one per table in the warehouse.
        applied_as_changes: Tables DuckDB took as their changes (delete + insert), not reloaded.
        compacted: Tables handed over as changes but reloaded whole, because the rows their changes
            deleted since the last whole load passed ``RELOAD_AFTER_DELETED_SHARE`` of the table.
        unchanged: Tables whose new version is byte for byte the published one: DuckDB kept them
            as they were and the snapshot shares their files with the previous one.
        purge: The rewrite of the DuckDB file when this publish purged freed space, else None.
        seconds: Wall time of the publish.
    """

    run_id: str
    seq: int
    snapshot: Path
    rows: dict[str, int]
    carried: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    masked_views: tuple[str, ...] = field(default=())
    applied_as_changes: tuple[str, ...] = ()
    compacted: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    purge: Compaction | None = None
    seconds: float = 0.0

    def as_metadata(self) -> dict[str, Any]:
        """Flat key/value pairs for run metadata."""
        return {
            "publish_seq": self.seq,
            "snapshot": self.snapshot.name,
            "seconds": round(self.seconds, 3),
            "carried": ", ".join(self.carried),
            "dropped": ", ".join(self.dropped),
            "applied_as_changes": ", ".join(self.applied_as_changes),
            "compacted": ", ".join(self.compacted),
            "unchanged": ", ".join(self.unchanged),
            "purged_freed_space": self.purge is not None,
            **(
                {
                    "purge_seconds": round(self.purge.seconds, 3),
                    "duckdb_bytes_before_purge": self.purge.bytes_before,
                    "duckdb_bytes": self.purge.bytes_after,
                }
                if self.purge is not None
                else {}
            ),
            **{f"rows/{name}": rows for name, rows in sorted(self.rows.items())},
        }


@dataclass(frozen=True)
class TableDelta:
    """A table's new version given as its changes to the published version.

    The Parquet snapshot still gets the whole new version (``table``); DuckDB, when it holds
    exactly ``base``'s version, only deletes the rows of ``replaced_keys`` and inserts
    ``upserts``: a daily batch then costs DuckDB its size, not the table's (rewriting and
    checkpointing a million-row table took seconds per table).

    Attributes:
        table: the whole new version, lazily (sorted as the table is published).
        upserts: rows added; they replace every published row with their key.
        replaced_keys: key columns of every published row replaced or removed.
        base: the published Parquet file these changes apply to.
    """

    table: pl.LazyFrame
    upserts: pl.DataFrame
    replaced_keys: pl.DataFrame
    base: Path

    @property
    def is_empty(self) -> bool:
        """No row added, replaced or removed: the new version is ``base`` itself."""
        return self.upserts.is_empty() and self.replaced_keys.is_empty()


@dataclass(frozen=True)
class _State:
    last_seq: int
    last_snapshot: str | None
    last_run_id: str | None
    tables: tuple[str, ...]


def publish_tables(
    warehouse: Warehouse,
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame | Path | TableDelta],
    *,
    run_id: str,
    views: Mapping[str, str],
    replace_all: bool,
    purge_freed_space: bool = False,
) -> PublishReport:
    """Publish ``tables`` so that every reader sees either all of the previous version or all of this one.

    Args:
        warehouse: Target warehouse (created on first publish).
        tables: Table name -> frame. Names are plain identifiers, not starting with ``_cdp_`` or ``masked_``.
            A LazyFrame (a scan of a staged file) is streamed to the snapshot, and DuckDB loads every
            table from the snapshot's Parquet, so publishing never needs all tables in memory. A
            :class:`TableDelta` is applied to DuckDB as its changes when DuckDB holds its base. A
            Path is a Parquet file written by :func:`~cdp.warehouse.files.write_parquet_atomic`
            (a staged table): it is hard-linked into the snapshot as it is, never rewritten.
        run_id: The publishing run; letters, digits, ``.``, ``_`` and ``-``.
        views: View name -> SELECT text (trusted code, not user input), created after the tables.
        replace_all: Drop every table and view not in this publish, instead of keeping them.
        purge_freed_space: Leave no trace of the rows this publish removes: keep only the new
            Parquet snapshot and rewrite the DuckDB file without its freed blocks. For a run that
            applies erasures; it costs a copy of the whole database.

    Raises:
        CdpError: A bad table, view or run name.
        WarehouseBusyError: Another process is publishing, or readers held DuckDB past the timeout.
        CompactionError: The rewrite failed after the publish committed; the publish stands, the
            old file is kept, and the next publish purges again.
    """
    started = time.perf_counter()
    _check_request(tables, run_id=run_id, views=views)
    root = warehouse.root
    root.mkdir(parents=True, exist_ok=True)
    with _publish_lock(root, timeout=warehouse.lock_timeout):
        if purge_freed_space:
            _mark_purge_pending(root)
        purge = (root / PURGE_MARKER).exists()
        state = _read_state(warehouse)
        trusted = _roll_forward(root, state)
        previous = current_snapshot(root)
        seq = max([state.last_seq, *(snapshot_seq(name) or 0 for name in list_snapshots(root))]) + 1
        name = snapshot_name(seq, run_id)
        folder = snapshots_root(root) / name
        carried = () if replace_all else tuple(sorted(set(state.tables) - set(tables)))
        dropped = tuple(sorted(set(state.tables) - set(tables))) if replace_all else ()
        rows: dict[str, int] = {}
        try:
            folder.mkdir(parents=True)
            for table in sorted(tables):
                path = folder / f"{table}.parquet"
                incoming = tables[table]
                if isinstance(incoming, Path):
                    link_or_copy(incoming, path)
                elif isinstance(incoming, TableDelta) and incoming.is_empty and incoming.base.exists():
                    # Snapshots are immutable, so an unchanged table shares its file with the last one.
                    link_or_copy(incoming.base, path)
                else:
                    write_parquet_atomic(
                        incoming.table if isinstance(incoming, TableDelta) else incoming, path
                    )
                rows[table] = pl.scan_parquet(path).select(pl.len()).collect().item()
                fault_point("parquet")
            carried_rows = _carry(warehouse, carried, folder, source=previous if trusted else None)
            write_manifest(folder, Manifest(run_id=run_id, seq=seq, rows={**rows, **carried_rows}))
            masked, applied, compacted, unchanged = commit_publish(
                warehouse,
                {
                    table: _duckdb_load(
                        frame,
                        folder / f"{table}.parquet",
                        published=_published_file(root, state, table) if trusted else None,
                    )
                    for table, frame in tables.items()
                },
                seq=seq,
                run_id=run_id,
                snapshot=name,
                views=views,
                dropped=dropped,
                rows={**rows, **carried_rows},
                replace_all=replace_all,
            )
        except BaseException:
            # Nothing was committed: the half-built snapshot must not look like a published one.
            shutil.rmtree(folder, ignore_errors=True)
            raise
        fault_point("swap")
        point_parquet_at(root, name)
        # A purge drops the previous snapshot too: a reader that resolved the link just before the
        # swap may then miss its files, the price of the erased values leaving the disk now.
        prune_snapshots(root, keep={name} | ({previous} if previous and not purge else set()))
        compaction = _purge_freed_space(warehouse) if purge else None
    report = PublishReport(
        run_id=run_id,
        seq=seq,
        snapshot=folder,
        rows=rows,
        carried=carried,
        dropped=dropped,
        views=tuple(sorted(views)),
        masked_views=masked,
        applied_as_changes=applied,
        compacted=compacted,
        unchanged=unchanged,
        purge=compaction,
        seconds=time.perf_counter() - started,
    )
    log.info(
        "published run %s as #%d: %d tables, %d carried, %d dropped in %.2fs",
        run_id,
        seq,
        len(rows),
        len(carried),
        len(dropped),
        report.seconds,
    )
    return report


def repair_snapshot(warehouse: Warehouse) -> str | None:
    """Point ``parquet/`` at the snapshot DuckDB's last publish names, rebuilding it from DuckDB if lost."""
    if not warehouse.duckdb_path.exists():
        return current_snapshot(warehouse.root)
    with _publish_lock(warehouse.root, timeout=warehouse.lock_timeout):
        state = _read_state(warehouse)
        previous = current_snapshot(warehouse.root)
        if state.last_snapshot is None or _roll_forward(warehouse.root, state):
            return current_snapshot(warehouse.root)
        folder = snapshots_root(warehouse.root) / state.last_snapshot
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        rows = _carry(warehouse, state.tables, folder, source=None)
        write_manifest(folder, Manifest(run_id=state.last_run_id or "unknown", seq=state.last_seq, rows=rows))
        point_parquet_at(warehouse.root, state.last_snapshot)
        prune_snapshots(warehouse.root, keep={state.last_snapshot} | ({previous} if previous else set()))
        log.warning("rebuilt parquet snapshot %s from DuckDB", state.last_snapshot)
        return state.last_snapshot


def _mark_purge_pending(root: Path) -> None:
    with open(root / PURGE_MARKER, "w") as handle:
        os.fsync(handle.fileno())
    fsync_path(root)


def _purge_freed_space(warehouse: Warehouse) -> Compaction:
    """Rewrite the DuckDB file (under the publish lock), then clear the pending-purge marker."""
    compaction = compact_duckdb_file(warehouse.duckdb_path)
    (warehouse.root / PURGE_MARKER).unlink(missing_ok=True)
    fsync_path(warehouse.root)
    return compaction


def _published_file(root: Path, state: _State, table: str) -> Path | None:
    """The Parquet file of ``table`` in the snapshot DuckDB's last publish wrote, if DuckDB has it."""
    if state.last_snapshot is None or table not in state.tables:
        return None
    return snapshots_root(root) / state.last_snapshot / f"{table}.parquet"


def _duckdb_load(
    frame: pl.DataFrame | pl.LazyFrame | Path | TableDelta, snapshot_file: Path, *, published: Path | None
) -> pl.DataFrame | Path | DeltaLoad | Unchanged:
    """How DuckDB takes one table: from memory, from the new snapshot file, as a delta, or not at
    all when the new file holds the very bytes DuckDB last loaded or was brought up to."""
    if isinstance(frame, pl.DataFrame):
        return frame
    if published is not None and published.exists() and same_bytes(snapshot_file, published):
        return Unchanged(snapshot_file)
    if (
        isinstance(frame, TableDelta)
        and published is not None
        and published.exists()
        and os.path.samefile(frame.base, published)
    ):
        return DeltaLoad(snapshot_file, frame.upserts, frame.replaced_keys)
    return snapshot_file


def _check_request(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame | Path | TableDelta],
    *,
    run_id: str,
    views: Mapping[str, str],
) -> None:
    if not _RUN_ID.fullmatch(run_id):
        raise CdpError(f"run id {run_id!r} must be 1-128 letters, digits, '.', '_' or '-'")
    for name in [*tables, *views]:
        check_table_name(name)
        if name.startswith((INTERNAL_PREFIX, MASKED_PREFIX)):
            raise CdpError(
                f"{name!r}: names starting with {INTERNAL_PREFIX!r} or {MASKED_PREFIX!r} are reserved"
            )
    for name, frame in tables.items():
        if not isinstance(frame, (pl.DataFrame, pl.LazyFrame, Path, TableDelta)):
            raise CdpError(
                f"table {name!r} must be a polars DataFrame, LazyFrame, Parquet file or TableDelta, "
                f"not {type(frame).__name__}"
            )
        if isinstance(frame, Path) and not frame.is_file():
            raise CdpError(f"table {name!r}: Parquet file {frame} does not exist")
    if clash := sorted(set(tables) & set(views)):
        raise CdpError(f"names used for both a table and a view: {', '.join(clash)}")


@contextmanager
def _publish_lock(root: Path, *, timeout: float) -> Iterator[None]:
    # flock is released by the kernel when the holder dies, so a SIGKILLed publish never wedges the next one.
    with open(root / _LOCK_FILE, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        f"warehouse {root} is being published by another process; retry when it finishes"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_state(warehouse: Warehouse) -> _State:
    if not warehouse.duckdb_path.exists():
        return _State(0, None, None, ())
    connection = warehouse.connect(read_only=True)
    try:
        tables = tuple(_table_names(connection))
        if not _has_table(connection, PUBLISH_LOG):
            return _State(0, None, None, tables)
        row = connection.execute(
            f"SELECT seq, snapshot, run_id FROM main.{PUBLISH_LOG} ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    if row is None:
        return _State(0, None, None, tables)
    return _State(int(row[0]), str(row[1]), str(row[2]), tables)


def _roll_forward(root: Path, state: _State) -> bool:
    """Point ``parquet/`` at DuckDB's last snapshot if it lags; True when Parquet now matches DuckDB."""
    current = current_snapshot(root)
    if state.last_snapshot is None:
        return False
    if current == state.last_snapshot:
        return True
    if read_manifest(snapshots_root(root) / state.last_snapshot) is None:
        return False
    log.warning(
        "parquet snapshot %s lagged DuckDB's last publish; rolling forward to %s",
        current,
        state.last_snapshot,
    )
    point_parquet_at(root, state.last_snapshot)
    return True


def _carry(
    warehouse: Warehouse, names: tuple[str, ...], folder: Path, *, source: str | None
) -> dict[str, int]:
    """Bring unpublished tables into the new snapshot: hard links when trusted, else exports from DuckDB."""
    rows: dict[str, int] = {}
    manifest = read_manifest(snapshots_root(warehouse.root) / source) if source else None
    for name in names:
        file = snapshots_root(warehouse.root) / source / f"{name}.parquet" if source else None
        if manifest is not None and file is not None and file.exists() and name in manifest.rows:
            link_or_copy(file, folder / file.name)
            rows[name] = manifest.rows[name]
        else:
            frame = warehouse.read(name)
            write_parquet_atomic(frame, folder / f"{name}.parquet")
            rows[name] = frame.height
    return rows
