"""The DuckDB half of a publish: one transaction that swaps every table, view and masked view.

Tables load from Arrow (the Polars frame is registered, not inserted row by row). The transaction
also appends the ``_cdp_publish_log`` row naming the Parquet snapshot prepared for it, so the log's
last row always says which snapshot matches DuckDB.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from cdp.warehouse.faults import fault_point
from cdp.warehouse.masking import MASKED_PREFIX, masked_view_name, masked_view_sql, quote
from cdp.warehouse.warehouse import PUBLISH_LOG, _table_names, table_columns

if TYPE_CHECKING:
    from cdp.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

#: Per table: the rows deleted by the changes applied since it was last loaded whole.
TABLE_LOADS = "_cdp_table_loads"
#: A table taken as changes is reloaded whole once the rows those changes deleted pass this
#: share of its rows. With DuckDB's vacuum off (see ``commit_publish``) deleted rows keep their
#: space until the table is reloaded, so this bounds the dead space of a daily-loaded table.
RELOAD_AFTER_DELETED_SHARE = 0.2
#: ... and past this many rows: below it the dead space is too small to be worth a reload.
RELOAD_AFTER_DELETED_ROWS = 100_000


@dataclass(frozen=True)
class DeltaLoad:
    """Apply a table's changes to the version DuckDB holds, checked against the new snapshot file.

    Attributes:
        snapshot_file: the new version's Parquet file (its schema and row count are the check,
            and the fallback when the delta does not apply).
        upserts: rows to insert.
        replaced_keys: key columns of the rows to delete first.
    """

    snapshot_file: Path
    upserts: pl.DataFrame
    replaced_keys: pl.DataFrame


@dataclass(frozen=True)
class Unchanged:
    """Keep the table DuckDB holds: the new snapshot file has the very bytes it was last brought to."""

    snapshot_file: Path


def commit_publish(
    warehouse: Warehouse,
    tables: Mapping[str, pl.DataFrame | Path | DeltaLoad | Unchanged],
    *,
    seq: int,
    run_id: str,
    snapshot: str,
    views: Mapping[str, str],
    dropped: tuple[str, ...],
    rows: Mapping[str, int],
    replace_all: bool,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Swap ``tables`` (and views, masked views, the publish-log row) into DuckDB in one transaction.

    ``tables`` maps each table to its frame, or to its Parquet file in the new snapshot (a table
    published from a LazyFrame): DuckDB then reads the file, so the table never sits in memory whole.
    A :class:`DeltaLoad` deletes the replaced keys and inserts the upserts instead; when the table's
    columns differ from the new file's, or the row count afterwards does not match it, the table
    is reloaded from the file in the same transaction. So is a table once the rows its changes
    deleted since it was last loaded whole pass ``RELOAD_AFTER_DELETED_SHARE`` of it (and
    ``RELOAD_AFTER_DELETED_ROWS``): the reload reclaims their space. An :class:`Unchanged` table
    is left as it is (a re-run with nothing new reloads nothing), unless DuckDB lacks it.

    On any error the transaction rolls back and DuckDB keeps the previous version of everything.
    The CHECKPOINT after COMMIT folds the WAL into the file; its failure does not undo the publish.

    Returns:
        The masked views now in the warehouse, the tables applied as changes, the tables
        reloaded whole to reclaim the space of the rows earlier changes deleted, and the tables
        left unchanged.
    """
    connection = warehouse.connect(read_only=False)
    applied: list[str] = []
    compacted: list[str] = []
    kept: list[str] = []
    try:
        # DuckDB's checkpoint vacuum merges the row groups that parallel loads leave part-filled:
        # at a million customers it cost 8-14 s on the publish's checkpoint and again on the next
        # one, for every publish. Without it tables keep a few more row groups, and rows a daily
        # publish deletes keep their space until the table is next reloaded (see TABLE_LOADS).
        connection.execute("SET max_vacuum_tasks = 0")
        connection.execute("BEGIN TRANSACTION")
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS main.{PUBLISH_LOG} "
            "(seq BIGINT, run_id VARCHAR, published_at TIMESTAMP, snapshot VARCHAR, table_rows VARCHAR)"
        )
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS main.{TABLE_LOADS} (table_name VARCHAR, deleted_rows BIGINT)"
        )
        existing_views = set(_view_names(connection))
        existing_tables = set(_table_names(connection))
        for name in sorted(tables):
            if name in existing_views:
                connection.execute(f"DROP VIEW main.{quote(name)}")
            incoming = tables[name]
            if isinstance(incoming, Unchanged):
                if name in existing_tables:
                    kept.append(name)
                    continue
                incoming = incoming.snapshot_file
            if isinstance(incoming, DeltaLoad):
                deleted = _apply_delta(connection, name, incoming, expected_rows=rows[name])
                if deleted is not None:
                    deleted += _deleted_since_load(connection, name)
                    if not _worth_reloading(deleted, rows=rows[name]):
                        _record_deleted(connection, name, deleted)
                        applied.append(name)
                        fault_point("duckdb")
                        continue
                    # The reload below replaces what was just applied, and reclaims the space.
                    compacted.append(name)
                incoming = incoming.snapshot_file
            if isinstance(incoming, pl.DataFrame):
                connection.register("_cdp_incoming", incoming)
                connection.execute(
                    f"CREATE OR REPLACE TABLE main.{quote(name)} AS SELECT * FROM _cdp_incoming"
                )
                connection.unregister("_cdp_incoming")
            else:
                # The path is the publish's own snapshot file (folder + table name), not user input.
                source = str(incoming).replace("'", "''")
                connection.execute(
                    f"CREATE OR REPLACE TABLE main.{quote(name)} AS SELECT * FROM read_parquet('{source}')"
                )
            _record_deleted(connection, name, 0)
            fault_point("duckdb")
        for name in dropped:
            connection.execute(f"DROP TABLE main.{quote(name)}")
            connection.execute(f"DELETE FROM main.{TABLE_LOADS} WHERE table_name = ?", [name])
        if replace_all:
            for name in existing_views - set(views):
                connection.execute(f"DROP VIEW IF EXISTS main.{quote(name)}")
        for name, sql in views.items():
            connection.execute(f"CREATE OR REPLACE VIEW main.{quote(name)} AS {sql}")
        masked = _refresh_masked_views(connection)
        connection.execute(
            f"INSERT INTO main.{PUBLISH_LOG} VALUES (?, ?, ?, ?, ?)",
            [
                seq,
                run_id,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                snapshot,
                json.dumps(dict(sorted(rows.items()))),
            ],
        )
        connection.execute("COMMIT")
    except BaseException:
        _rollback_quietly(connection)
        connection.close()
        raise
    try:
        # Folding the WAL into the file now keeps readers from replaying it; the commit is durable either way.
        connection.execute("CHECKPOINT")
    except duckdb.Error as error:
        log.warning("checkpoint after publish failed (the publish is committed): %s", type(error).__name__)
    finally:
        connection.close()
    return masked, tuple(applied), tuple(compacted), tuple(kept)


def _worth_reloading(deleted_rows: int, *, rows: int) -> bool:
    return deleted_rows > max(RELOAD_AFTER_DELETED_SHARE * rows, RELOAD_AFTER_DELETED_ROWS)


def _deleted_since_load(connection: duckdb.DuckDBPyConnection, name: str) -> int:
    row = connection.execute(
        f"SELECT deleted_rows FROM main.{TABLE_LOADS} WHERE table_name = ?", [name]
    ).fetchone()
    return int(row[0]) if row else 0


def _record_deleted(connection: duckdb.DuckDBPyConnection, name: str, deleted_rows: int) -> None:
    connection.execute(f"DELETE FROM main.{TABLE_LOADS} WHERE table_name = ?", [name])
    connection.execute(f"INSERT INTO main.{TABLE_LOADS} VALUES (?, ?)", [name, deleted_rows])


def _apply_delta(
    connection: duckdb.DuckDBPyConnection, name: str, delta: DeltaLoad, *, expected_rows: int
) -> int | None:
    """Delete the replaced keys and insert the upserts: the rows deleted, or None when the changes
    do not fit (the caller then reloads the table, which replaces what was applied)."""
    source = str(delta.snapshot_file).replace("'", "''")
    wanted = connection.execute(f"DESCRIBE SELECT * FROM read_parquet('{source}')").fetchall()
    if [(row[0], row[1]) for row in wanted] != table_columns(connection, name):
        log.info("publish %s: columns changed, reloading the whole table", name)
        return None
    table = f"main.{quote(name)}"
    keys = delta.replaced_keys.columns
    deleted = 0
    if delta.replaced_keys.height:
        connection.register("_cdp_replaced", delta.replaced_keys)
        matches = " AND ".join(f"t.{quote(key)} IS NOT DISTINCT FROM r.{quote(key)}" for key in keys)
        result = connection.execute(f"DELETE FROM {table} AS t USING _cdp_replaced AS r WHERE {matches}")
        deleted = int((result.fetchone() or (0,))[0])
        connection.unregister("_cdp_replaced")
    if delta.upserts.height:
        connection.register("_cdp_upserts", delta.upserts)
        connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _cdp_upserts")
        connection.unregister("_cdp_upserts")
    (count,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
    if count != expected_rows:
        log.warning(
            "publish %s: %d rows after applying the changes, the new version has %d; reloading",
            name,
            count,
            expected_rows,
        )
        return None
    return deleted


def _refresh_masked_views(connection: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    tables = _table_names(connection)
    wanted = {masked_view_name(name): name for name in tables}
    for view in _view_names(connection):
        if view.startswith(MASKED_PREFIX) and view not in wanted:
            connection.execute(f"DROP VIEW main.{quote(view)}")
    for view, table in wanted.items():
        sql = masked_view_sql(f"main.{quote(table)}", table_columns(connection, table))
        connection.execute(f"CREATE OR REPLACE VIEW main.{quote(view)} AS {sql}")
    return tuple(sorted(wanted))


def _view_names(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal"
    ).fetchall()
    return [row[0] for row in rows]


def _rollback_quietly(connection: duckdb.DuckDBPyConnection) -> None:
    try:
        connection.execute("ROLLBACK")
    except duckdb.Error:
        log.debug("rollback after a failed publish found no open transaction")
