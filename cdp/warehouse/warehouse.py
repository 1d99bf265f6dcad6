"""The published warehouse: one DuckDB file plus a Parquet snapshot of every table.

DuckDB is the system of record: its commit is the moment a publish happens. The Parquet snapshot
follows it (see :mod:`cdp.warehouse.publish` for the order and what readers can see in between).
DuckDB lets one process write, or many read, a file at a time; a reader that meets a publish in
progress retries for ``lock_timeout`` seconds and then gets a :class:`WarehouseBusyError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from cdp.errors import CdpError, NotFoundError
from cdp.warehouse.files import check_table_name
from cdp.warehouse.masking import quote

if TYPE_CHECKING:
    from cdp.warehouse.publish import PublishReport, TableDelta

log = logging.getLogger(__name__)

DUCKDB_FILE = "cdp.duckdb"
PUBLISH_LOG = "_cdp_publish_log"
INTERNAL_PREFIX = "_cdp_"
_RETRY_SLEEP = (0.05, 0.1, 0.2, 0.5)

#: Catalog answers by (DuckDB file, question), shared by every Warehouse of the process: each
#: stage builds its own, and a daily run would otherwise open the file about fifty times. An answer is
#: kept with the file's inode, size and mtime, so a file a purge rewrote (a new inode) is asked again.
_CATALOG_CACHE: dict[tuple[str, str], tuple[tuple[int, ...], Any]] = {}


class WarehouseBusyError(CdpError):
    """Another process holds the warehouse (a publish in progress, or readers blocking a publish)."""


def _is_lock_conflict(error: Exception) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text or "different configuration" in text


class Warehouse:
    """A warehouse folder: ``cdp.duckdb``, ``parquet/`` (the current snapshot), ``models/`` and ``state/``.

    Args:
        root: The warehouse folder; created by the first publish.
        lock_timeout: Seconds to keep retrying when another process holds the DuckDB file.

    Example:
        >>> warehouse = Warehouse(tmp_path / "warehouse")
        >>> warehouse.publish({"customers": pl.DataFrame({"customer_id": ["C1"]})}, run_id="r1").rows
        {'customers': 1}
        >>> warehouse.read("customers").height
        1
    """

    def __init__(self, root: str | Path, *, lock_timeout: float = 10.0) -> None:
        self.root = Path(root)
        self.duckdb_path = self.root / DUCKDB_FILE
        self.parquet_dir = self.root / "parquet"
        self.models_dir = self.root / "models"
        #: What a stage keeps between runs beside the published tables (never read as a table).
        self.state_dir = self.root / "state"
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"Warehouse({str(self.root)!r})"

    def connect(self, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """Open the DuckDB file, retrying while another process holds a conflicting lock.

        The caller closes the connection. Keep read-write connections short: while one is open, no
        other process can read the warehouse.

        Raises:
            NotFoundError: ``read_only`` and the warehouse has never been published.
            WarehouseBusyError: The lock stayed taken for ``lock_timeout`` seconds.
        """
        if read_only and not self.duckdb_path.exists():
            raise NotFoundError(
                f"no warehouse at {self.root}: {self.duckdb_path.name} does not exist; run `cdp run` first"
            )
        if not read_only:
            self.root.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        attempt = 0
        while True:
            try:
                return duckdb.connect(str(self.duckdb_path), read_only=read_only)
            except (duckdb.IOException, duckdb.ConnectionException) as error:
                if not _is_lock_conflict(error):
                    raise
                if time.monotonic() >= deadline:
                    action = "read" if read_only else "publish to"
                    holder = "being published by another process" if read_only else "open in another process"
                    raise WarehouseBusyError(
                        f"cannot {action} warehouse {self.root}: it is {holder}; retry when it finishes"
                    ) from None
                time.sleep(_RETRY_SLEEP[min(attempt, len(_RETRY_SLEEP) - 1)])
                attempt += 1

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = self.connect(read_only=True)
        try:
            yield connection
        finally:
            connection.close()

    def _file_state(self) -> tuple[int, ...]:
        """Changes whenever the DuckDB file (or its write-ahead log) is written."""
        state: list[int] = []
        for path in (self.duckdb_path, self.duckdb_path.with_name(self.duckdb_path.name + ".wal")):
            try:
                stat = path.stat()
            except FileNotFoundError:
                state += [-1, -1, -1]
                continue
            state += [stat.st_ino, stat.st_size, stat.st_mtime_ns]
        return tuple(state)

    def _catalog(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` remembered until the DuckDB file changes: a stage asks "is table X
        published?" dozens of times, and each question would otherwise open the file."""
        state = self._file_state()
        key = (str(self.duckdb_path.absolute()), name)
        cached = _CATALOG_CACHE.get(key)
        if cached is not None and cached[0] == state:
            return cached[1]
        value = compute()
        _CATALOG_CACHE[key] = (state, value)
        return value

    def tables(self) -> list[str]:
        """Published table names (base tables in schema ``main``, internal ones excluded), sorted."""
        if not self.duckdb_path.exists():
            return []

        def names() -> list[str]:
            with self._reader() as connection:
                return _table_names(connection)

        return list(self._catalog("tables", names))

    def views(self) -> list[str]:
        """View names in schema ``main`` (masked views included), sorted."""
        if not self.duckdb_path.exists():
            return []
        with self._reader() as connection:
            rows = connection.execute(
                "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
                "AND schema_name = 'main' AND NOT internal ORDER BY view_name"
            ).fetchall()
        return [row[0] for row in rows]

    def exists(self, name: str) -> bool:
        """Whether table ``name`` has been published."""
        return name in self.tables()

    def read(self, name: str) -> pl.DataFrame:
        """The current published version of table ``name``.

        Raises:
            NotFoundError: No such table (the message lists the tables there are).
            WarehouseBusyError: A publish held the file for longer than ``lock_timeout``.
        """
        check_table_name(name)
        with self._reader() as connection:
            names = _table_names(connection)
            if name not in names:
                listed = ", ".join(names) or "none"
                raise NotFoundError(f"table {name!r} is not in warehouse {self.root} (tables: {listed})")
            # Polars cannot import DuckDB INTERVALs (from polars Durations), so they travel as microseconds.
            columns = table_columns(connection, name)
            intervals = [column for column, data_type in columns if data_type == "INTERVAL"]
            selected = ", ".join(
                f"epoch_us({quote(column)}) AS {quote(column)}" if column in intervals else quote(column)
                for column, _ in columns
            )
            frame: pl.DataFrame = connection.sql(f"SELECT {selected} FROM main.{quote(name)}").pl()
            return frame.with_columns(pl.col(intervals).cast(pl.Duration("us"))) if intervals else frame

    def query(self, sql: str, *, params: Sequence[object] | None = None) -> pl.DataFrame:
        """Run one SQL statement on a read-only connection and return its rows.

        Args:
            sql: The query; values go in ``params`` as ``?`` or ``$1`` placeholders, never in the text.
            params: Bound parameter values.
        """
        with self._reader() as connection:
            relation = connection.sql(sql, params=list(params) if params is not None else None)
            return relation_to_polars(relation)

    def publish_log(self) -> pl.DataFrame:
        """One row per publish: sequence number, run id, time, snapshot and row counts (JSON)."""
        if not self.duckdb_path.exists():
            return pl.DataFrame()

        def rows() -> pl.DataFrame:
            with self._reader() as connection:
                if not _has_table(connection, PUBLISH_LOG):
                    return pl.DataFrame()
                log_rows: pl.DataFrame = connection.sql(f"SELECT * FROM main.{PUBLISH_LOG} ORDER BY seq").pl()
                return log_rows

        log: pl.DataFrame = self._catalog("publish_log", rows)
        return log.clone()

    def publish(
        self,
        tables: Mapping[str, pl.DataFrame | pl.LazyFrame | Path | TableDelta],
        *,
        run_id: str,
        views: Mapping[str, str] | None = None,
        replace_all: bool = False,
        purge_freed_space: bool = False,
    ) -> PublishReport:
        """Publish ``tables`` atomically to DuckDB and the Parquet snapshot.

        See :func:`cdp.warehouse.publish.publish_tables` for the guarantees, and for
        ``purge_freed_space`` (what a run that applies erasures asks for).
        """
        from cdp.warehouse.publish import publish_tables

        return publish_tables(
            self,
            tables,
            run_id=run_id,
            views=views or {},
            replace_all=replace_all,
            purge_freed_space=purge_freed_space,
        )

    def repair(self) -> str | None:
        """Make the Parquet snapshot match DuckDB after a publish was killed between the two.

        Returns:
            The snapshot ``parquet/`` points at afterwards, or None for an empty warehouse.
        """
        from cdp.warehouse.publish import repair_snapshot

        return repair_snapshot(self)


def relation_to_polars(relation: duckdb.DuckDBPyRelation | None) -> pl.DataFrame:
    """A query result as a Polars frame; an empty frame for statements without rows.

    Raises:
        CdpError: A result column has a type Polars cannot import (INTERVAL: select ``epoch_us(col)``).
    """
    if relation is None:
        return pl.DataFrame()
    try:
        frame: pl.DataFrame = relation.pl()
    except pl.exceptions.ComputeError as error:
        raise CdpError(
            f"the result cannot be converted to Polars ({str(error).splitlines()[0]}); "
            "cast INTERVAL columns with epoch_us(column)"
        ) from None
    return frame


def _table_names(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal AND NOT starts_with(table_name, ?) ORDER BY table_name",
        [INTERNAL_PREFIX],
    ).fetchall()
    return [row[0] for row in rows]


def _has_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = connection.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ?",
        [name],
    ).fetchall()
    return bool(rows)


def table_columns(
    connection: duckdb.DuckDBPyConnection, name: str, *, database: str | None = None
) -> list[tuple[str, str]]:
    """``(column, duckdb_type)`` of a table in schema ``main``, in table order."""
    rows = connection.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = coalesce(?, current_database()) AND schema_name = 'main' AND table_name = ? "
        "ORDER BY column_index",
        [database, name],
    ).fetchall()
    return [(row[0], row[1]) for row in rows]
