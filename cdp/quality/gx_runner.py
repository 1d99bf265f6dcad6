"""Run :class:`~cdp.quality.suites.Check` lists as Great Expectations checkpoints on a DuckDB database.

GX reaches DuckDB through SQLAlchemy and ``duckdb-engine``. duckdb-engine's cursors share their
connection's one result set, and GX reads a result only after returning the connection to the pool,
whose rollback wipes it: every metric then comes back empty ("list index out of range", GX issue
#11579). :class:`_CursorPerQuery` gives each cursor its own DuckDB cursor, so results survive.
The context is ephemeral (in memory), analytics and progress bars are off, and nothing leaves the
machine.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb

from cdp.quality.report import ExpectationOutcome
from cdp.quality.suites import Check

log = logging.getLogger(__name__)

_SAMPLE = 5
_DATASOURCE = "cdp_quality"
_META_KEY = "cdp_check"


#: GIL switch interval while the background import runs. At Python's default (5 ms) the import
#: thread, pure Python, keeps the GIL for 5 ms each time the main thread comes back from native
#: Polars or DuckDB work, and a step making thousands of such calls ran 40-60% slower (a 1M-record
#: daily identity step: 16 s instead of 10 s). A short interval hands the GIL back at once.
_PREFETCH_SWITCH_INTERVAL = 0.0002

_prefetch_lock = threading.Lock()
_prefetch: threading.Thread | None = None


def prefetch_great_expectations() -> None:
    """Start importing Great Expectations on a background thread, once per process.

    Importing GX takes about 4 s of pure Python (its expectation classes are pydantic models built
    at import). Started while a step runs native Polars or DuckDB work, which releases the GIL, the
    import overlaps it instead of delaying the quality gate that follows. A failed prefetch is
    harmless: the gate then imports GX itself and reports any error there. While the import runs
    the interpreter switches threads more often (``_PREFETCH_SWITCH_INTERVAL``), so the step's own
    thread is not kept waiting for the GIL.
    """
    global _prefetch
    with _prefetch_lock:
        if _prefetch is not None:
            return
        _prefetch = threading.Thread(target=_import_great_expectations, name="gx-prefetch", daemon=True)
        _prefetch.start()


def _import_great_expectations() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, _PREFETCH_SWITCH_INTERVAL))
    try:
        import great_expectations  # noqa: F401
        import great_expectations.data_context.types.base  # noqa: F401
    except Exception as error:  # the gate's own import will raise it where it can be reported
        log.debug("background import of great_expectations failed: %s", type(error).__name__)
    finally:
        sys.setswitchinterval(interval)


def _connection_factory(database: duckdb.DuckDBPyConnection) -> Callable[[], Any]:
    from duckdb_engine import ConnectionWrapper, CursorWrapper

    class _CursorPerQuery(ConnectionWrapper):
        def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
            super().__init__(connection)
            self._raw = connection

        def cursor(self) -> CursorWrapper:
            return CursorWrapper(self._raw.cursor(), self)

    def connect() -> _CursorPerQuery:
        # A cursor is a new connection to the same (in-memory) database, so it sees its tables.
        return _CursorPerQuery(database.cursor())

    return connect


def _context(docs_build: Path | None) -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if docs_build is not None:
        sites["cdp"] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_build)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def run_checks(
    database: duckdb.DuckDBPyConnection, checks: Sequence[Check], *, docs_build: Path | None
) -> list[ExpectationOutcome]:
    """Validate ``checks`` against the tables of ``database`` in one GX checkpoint.

    Args:
        database: A DuckDB connection whose database holds every table the checks name; GX
            queries it through cursors and never writes.
        checks: Checks whose tables and columns are known to exist.
        docs_build: Folder for the Data Docs site, or None to skip Data Docs.

    Returns:
        One outcome per check, in the order given.
    """
    context = _context(docs_build)
    # Imported only now: _context has switched GX analytics off before GX's first import.
    import great_expectations as gx

    source = context.data_sources.add_sql(
        name=_DATASOURCE,
        connection_string="duckdb:///:memory:",
        kwargs={"creator": _connection_factory(database)},
    )
    by_batch: dict[tuple[str, str], list[Check]] = defaultdict(list)
    for check in checks:
        by_batch[(check.suite, check.table)].append(check)
    assets: dict[str, Any] = {}
    definitions = []
    for (suite_name, table), batch_checks in by_batch.items():
        if table not in assets:
            assets[table] = source.add_table_asset(
                name=table, table_name=table
            ).add_batch_definition_whole_table(table)
        suite = context.suites.add(gx.ExpectationSuite(name=f"{suite_name}.{table}"))
        for check in batch_checks:
            expectation_class = getattr(gx.expectations, check.expectation)
            suite.add_expectation(expectation_class(**check.kwargs, meta={_META_KEY: check.qualified_name}))
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{suite_name}.{table}", data=assets[table], suite=suite)
            )
        )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="cdp_quality",
            validation_definitions=definitions,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": _SAMPLE},
        )
    )
    try:
        result = checkpoint.run()
        if docs_build is not None:
            # Once for all suites: GX's UpdateDataDocsAction would rebuild the whole site per suite.
            context.build_data_docs()
    finally:
        source.get_engine().dispose()
    by_name = {check.qualified_name: check for check in checks}
    outcomes: dict[str, ExpectationOutcome] = {}
    for suite_result in result.run_results.values():
        for item in suite_result.results:
            check = by_name[item.expectation_config.meta[_META_KEY]]
            outcome = _outcome(check, item)
            if (
                not outcome.success
                and check.expectation == "UnexpectedRowsExpectation"
                and not outcome.details
            ):
                outcome = replace(outcome, details=_sample_unexpected_rows(database, check))
            outcomes[check.qualified_name] = outcome
    return [outcomes[check.qualified_name] for check in checks]


def _sample_unexpected_rows(database: duckdb.DuckDBPyConnection, check: Check) -> str:
    """A few offending rows of a failed unexpected-rows check (GX's SUMMARY format leaves them out).

    The queries select keys only, so the sample never carries PII.
    """
    table = '"' + check.table.replace('"', '""') + '"'
    query = str(check.kwargs["unexpected_rows_query"]).format(batch=table)
    connection = database.cursor()
    try:
        relation = connection.sql(f"SELECT * FROM ({query}) LIMIT {_SAMPLE}")
        rows = [dict(zip(relation.columns, values, strict=True)) for values in relation.fetchall()]
    finally:
        connection.close()
    return "e.g. " + "; ".join(_row_text(row) for row in rows) if rows else ""


def _outcome(check: Check, item: Any) -> ExpectationOutcome:
    success = bool(item.success)
    result: dict[str, Any] = dict(item.result or {})
    error = _exception_message(item.exception_info)
    if error:
        return ExpectationOutcome(
            check.suite, check.qualified_name, check.column_label, False, "error", error
        )
    details = ""
    if result.get("unexpected_count") is not None:
        count, total = result["unexpected_count"], result.get("element_count")
        percent = result.get("unexpected_percent") or 0.0
        observed = f"{count} unexpected of {total} ({percent:.2f}%)"
        sample = result.get("partial_unexpected_list") or []
        if sample:
            details = "e.g. " + ", ".join(str(value) for value in sample[:_SAMPLE])
    else:
        value = result.get("observed_value")
        observed = "n/a" if value is None else str(value)
        if check.expectation == "UnexpectedRowsExpectation":
            observed = f"{value} unexpected rows"
    return ExpectationOutcome(
        check.suite, check.qualified_name, check.column_label, success, observed, details
    )


def _row_text(row: Any) -> str:
    if isinstance(row, dict):
        return ", ".join(f"{key}={value}" for key, value in row.items())
    return str(row)


def _exception_message(info: Any) -> str:
    """The first raised exception in GX's ``exception_info`` (flat or keyed by metric), else ''."""
    if not info:
        return ""
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            message = str(entry.get("exception_message") or "unknown error")
            return message.splitlines()[0][:300]
    return ""
