"""Dagster resources: thin configurable handles on the cdp library, one set per environment."""

import datetime as dt
import pickle
import shutil
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from cdp.engine import DuckDBEngine, LinkageEngine, SparkEngine
from cdp.ingest.changes import TableChanges
from cdp.warehouse import Warehouse, write_parquet_atomic


class SourcesResource(dg.ConfigurableResource):
    """Where the source config and the steward-maintained files (decisions, erasure register) live."""

    config_path: str
    decisions_path: str | None = None
    survivorship_path: str | None = None
    segments_path: str | None = None

    def config_file(self) -> Path:
        return Path(self.config_path).resolve()

    def decisions_file(self) -> Path:
        if self.decisions_path:
            return Path(self.decisions_path)
        return self.config_file().parent / "identity_decisions.csv"

    def survivorship_file(self) -> Path | None:
        return Path(self.survivorship_path) if self.survivorship_path else None

    def segments_file(self) -> Path | None:
        return Path(self.segments_path) if self.segments_path else None


class WarehouseResource(dg.ConfigurableResource):
    """The published warehouse: DuckDB file plus a Parquet snapshot of every table."""

    root: str

    def warehouse(self) -> Warehouse:
        return Warehouse(Path(self.root))


class RunOptions(dg.ConfigurableResource):
    """Per-run switches set by ``cdp run`` flags."""

    retrain: bool = False
    full_refresh: bool = False
    as_of: str | None = None
    match_threshold: float = 0.8
    max_cluster_size: int = 20
    #: ``duckdb`` (one machine) or ``spark`` (Splink on a local Spark session; a cluster in prod).
    linkage_engine: str = "duckdb"

    def as_of_date(self) -> dt.date:
        return dt.date.fromisoformat(self.as_of) if self.as_of else dt.date.today()


class LinkageBackend(dg.ConfigurableResource, ABC):
    """Hands out the Splink engine: DuckDB on one machine, Spark beyond it."""

    @abstractmethod
    def engine(self) -> LinkageEngine: ...


class DuckDBLinkageBackend(LinkageBackend):
    memory_limit: str | None = None
    temp_directory: str | None = None

    def engine(self) -> LinkageEngine:
        return DuckDBEngine(memory_limit=self.memory_limit, temp_directory=self.temp_directory)


class SparkLinkageBackend(LinkageBackend):
    master: str = "local[*]"

    def engine(self) -> LinkageEngine:
        return SparkEngine(master=self.master)


class StagedParquetIOManager(dg.ConfigurableIOManager):
    """Stages each asset's output until the final publish swaps the tables into the warehouse.

    Frames are staged as Parquet; a standardized table's :class:`TableChanges` as its batch
    (upserts and deleted keys) plus the published file it applies to; the one internal object
    (the ingest increment, never published) is pickled. Staging is per asset key and atomic, so a
    failed run never corrupts the published tables and a re-run of a subset of assets reads the
    last good upstream output.

    An input annotated ``TableChanges``, or declared with ``changes`` metadata (the publish step),
    gets the changes; one declared ``file`` the staged Parquet file's path (the publish links it
    into the snapshot); one declared ``lazy`` a lazy scan of the whole table; any other input the
    whole table, loaded.

    With ``background_writes`` (a run in this process whose caller then calls
    :func:`finish_staged_writes`, as ``cdp run`` does: a step process of the multiprocess executor
    could exit before its thread finished) a frame is written on a background thread while the
    next step starts (changes too: their folder); whoever reads, replaces or removes that file first
    waits for the write, and a failed write fails the step that reads it, so nothing unwritten is
    published.

    With ``memory_handoff_mb`` (the same in-process runs) the last outputs, up to that many MB,
    are also kept in memory, and a step reading one gets the object itself instead of reading
    the file back (``TableChanges`` keep what they collected, so the whole table is built once
    per run). The publish step's inputs (``file``, ``changes`` and ``lazy``) always come from
    disk, after the write: what is published is what was staged.
    """

    base_dir: str
    background_writes: bool = False
    memory_handoff_mb: int = 0

    def _path(self, context: dg.OutputContext | dg.InputContext, suffix: str) -> Path:
        return Path(self.base_dir, *context.asset_key.path).with_suffix(suffix)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        # An asset may stage a frame one run and changes the next (lineage: whole on a full build,
        # changes on a daily run); what a previous run staged must never be read instead.
        if isinstance(obj, TableChanges):
            folder = self._path(context, ".changes")
            _wait_for_write(folder)
            self._discard(context, ".parquet", ".pickle")
            if self.background_writes:
                _PENDING_WRITES[folder] = _STAGING_WRITER.submit(obj.write, folder)
            else:
                obj.write(folder)
            self._hand_off(folder, obj, obj.upserts.estimated_size() + obj.deleted.estimated_size())
            context.add_output_metadata(
                {"upserts": obj.upserts.height, "deleted": obj.deleted.height, "full": obj.is_full}
            )
            return
        # Changes are read first when staged, so they go before the new file is written.
        self._discard(context, ".changes")
        if isinstance(obj, pl.DataFrame):
            path = self._path(context, ".parquet")
            path.parent.mkdir(parents=True, exist_ok=True)
            _wait_for_write(path)
            if self.background_writes:
                _PENDING_WRITES[path] = _STAGING_WRITER.submit(write_parquet_atomic, obj, path)
            else:
                write_parquet_atomic(obj, path)
            self._hand_off(path, obj, obj.estimated_size())
            self._discard(context, ".pickle")
            context.add_output_metadata({"rows": obj.height, "staged_at": dg.MetadataValue.path(str(path))})
            return
        path = self._path(context, ".pickle")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".pickle.tmp")
        temporary.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        temporary.replace(path)
        self._discard(context, ".parquet")

    def _discard(self, context: dg.OutputContext, *suffixes: str) -> None:
        """Remove what an earlier run staged for this asset in another form."""
        for suffix in suffixes:
            stale = self._path(context, suffix)
            _HANDOFF.forget(stale)
            _wait_for_write(stale)
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink(missing_ok=True)

    def load_input(self, context: dg.InputContext) -> Any:
        # An input declared lazy (the publish step) streams the table instead of loading it.
        metadata = context.definition_metadata or {}
        lazy = metadata.get("lazy", False)
        changes = self._path(context, ".changes")
        parquet = self._path(context, ".parquet")
        from_disk = lazy or metadata.get("file", False) or metadata.get("changes", False)
        if not from_disk:
            handed = _HANDOFF.get(changes)
            handed = _HANDOFF.get(parquet) if handed is None else handed
            if isinstance(handed, TableChanges) and context.dagster_type.typing_type is not TableChanges:
                return handed.collect()
            if handed is not None:
                return handed
        _wait_for_write(changes)
        if TableChanges.staged_at(changes):
            staged = TableChanges.read(changes)
            if context.dagster_type.typing_type is TableChanges or metadata.get("changes", False):
                return staged
            return staged.scan() if lazy else staged.collect()
        _wait_for_write(parquet)
        if parquet.exists():
            if metadata.get("file", False):
                return parquet
            return pl.scan_parquet(parquet) if lazy else pl.read_parquet(parquet)
        # Only this IO manager writes these files, inside the run's own staging folder.
        return pickle.loads(self._path(context, ".pickle").read_bytes())  # noqa: S301

    def _hand_off(self, path: Path, obj: pl.DataFrame | TableChanges, size: int) -> None:
        if self.memory_handoff_mb > 0:
            _HANDOFF.keep(path, obj, size, budget=self.memory_handoff_mb * 2**20)


class _Handoff:
    """The newest staged outputs of this process's run, kept in memory up to a byte budget.

    Oldest out first. Entries are dropped when their asset stages something else and cleared at
    the end of every run (:func:`finish_staged_writes`), so a run never sees another's objects.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[Path, tuple[pl.DataFrame | TableChanges, int]] = OrderedDict()

    def keep(self, path: Path, obj: pl.DataFrame | TableChanges, size: int, *, budget: int) -> None:
        with self._lock:
            self._kept.pop(path, None)
            if size > budget:
                return
            self._kept[path] = (obj, size)
            while sum(kept_size for _, kept_size in self._kept.values()) > budget:
                self._kept.popitem(last=False)

    def get(self, path: Path) -> pl.DataFrame | TableChanges | None:
        with self._lock:
            kept = self._kept.get(path)
        return None if kept is None else kept[0]

    def forget(self, path: Path) -> None:
        with self._lock:
            self._kept.pop(path, None)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_HANDOFF = _Handoff()


#: One writer thread: staged writes land in the order the steps made them.
_STAGING_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdp-staging")
_PENDING_WRITES: dict[Path, Future[None]] = {}


def _wait_for_write(path: Path) -> None:
    """Block until a background write of ``path`` has finished; raise what it raised."""
    pending = _PENDING_WRITES.pop(path, None)
    if pending is not None:
        pending.result()


def finish_staged_writes() -> str | None:
    """Wait for every background write and drop the run's in-memory outputs; the first failed
    write's message, if any failed."""
    _HANDOFF.clear()
    failure = None
    for path in list(_PENDING_WRITES):
        try:
            _wait_for_write(path)
        except Exception as error:  # noqa: BLE001 - reported to the caller as the run's error
            failure = failure or f"staging {path.name} failed: {error}"
    return failure
