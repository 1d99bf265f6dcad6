"""Quality gates: load the frames into a scratch DuckDB, run the GX suites, publish Data Docs."""

from __future__ import annotations

import html
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import polars as pl

from cdp.quality.report import ExpectationOutcome, QualityReport
from cdp.quality.suites import SUITES, Check, suite_checks

log = logging.getLogger(__name__)


def validate_tables(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    *,
    suites: Sequence[str] = SUITES,
    docs_dir: Path | None = None,
) -> QualityReport:
    """Run the Great Expectations suites on in-memory tables.

    The frames are copied into an in-memory DuckDB database and validated there through a GX SQL
    data source, so the checks run as SQL. Checks that need a missing table or column fail (if
    mandatory) or are skipped (range checks), never crash.

    Args:
        tables: Table name -> frame; the suites read ``customer_360``, ``identity_clusters`` and
            ``std_parties``.
        suites: Suites to run: ``customer_360`` and/or ``identity``.
        docs_dir: Where to publish the Data Docs HTML (``<docs_dir>/<suites>/index.html``, replacing
            the previous docs of the same suites); None to skip.

    Returns:
        Every outcome; ``success`` only when all passed.

    Example:
        >>> report = validate_tables({"customer_360": c360, "identity_clusters": clusters,
        ...                           "std_parties": parties}, suites=("customer_360",))
        >>> report.success, [outcome.expectation for outcome in report.failures()]
        (True, [])
    """
    started = time.perf_counter()
    checks = [check for suite in suites for check in suite_checks(suite)]
    runnable, blocked, skipped = _plan(checks, tables)
    outcomes: dict[str, ExpectationOutcome] = {outcome.expectation: outcome for outcome in blocked}
    docs_index: Path | None = None
    database = _load(_needed_columns(runnable, tables))
    try:
        with tempfile.TemporaryDirectory(prefix="cdp-quality-") as scratch:
            docs_build = Path(scratch) / "docs" if docs_dir is not None else None
            if runnable:
                from cdp.quality.gx_runner import run_checks

                outcomes.update(
                    {
                        outcome.expectation: outcome
                        for outcome in run_checks(database, runnable, docs_build=docs_build)
                    }
                )
            if docs_dir is not None and docs_build is not None:
                docs_index = _install_docs(docs_build, Path(docs_dir), key="-".join(suites), blocked=blocked)
    finally:
        database.close()
    results = [outcomes[check.qualified_name] for check in checks if check.qualified_name in outcomes]
    report = QualityReport(
        success=all(outcome.success for outcome in results),
        results=results,
        skipped=skipped,
        docs_index=docs_index,
        seconds=time.perf_counter() - started,
    )
    log.info(
        "quality %s: %d/%d expectations passed, %d skipped in %.1fs",
        ",".join(suites),
        len(results) - len(report.failures()),
        len(results),
        len(skipped),
        report.seconds,
    )
    return report


def _plan(
    checks: Sequence[Check], tables: Mapping[str, pl.DataFrame | pl.LazyFrame]
) -> tuple[list[Check], list[ExpectationOutcome], list[str]]:
    """Split checks into runnable ones, failures for missing inputs, and skipped optional checks."""
    runnable, blocked, skipped = [], [], []
    for check in checks:
        needs = {check.table: check.columns, **check.other_tables}
        problems = []
        for table, columns in needs.items():
            if table not in tables:
                problems.append(f"table {table} was not provided")
                continue
            present = tables[table].collect_schema().names()
            missing = [column for column in columns if column not in present]
            problems += [f"column {column!r} is missing from {table}" for column in missing]
        if not problems:
            runnable.append(check)
        elif check.mandatory:
            blocked.append(
                ExpectationOutcome(
                    check.suite,
                    check.qualified_name,
                    check.column_label,
                    False,
                    "not run",
                    "; ".join(problems),
                )
            )
        else:
            skipped.append(f"{check.qualified_name}: {'; '.join(problems)}")
    return runnable, blocked, skipped


def _needed_columns(
    checks: Sequence[Check], tables: Mapping[str, pl.DataFrame | pl.LazyFrame]
) -> dict[str, pl.DataFrame]:
    """Each table the checks read, cut down to the columns they use (loading is the slow part);
    a lazy table is only read for those columns."""
    columns: dict[str, set[str]] = {}
    for check in checks:
        columns.setdefault(check.table, set()).update(check.columns)
        for table, other in check.other_tables.items():
            columns.setdefault(table, set()).update(other)
    # At least one column, or the row count (which some checks compare) would be lost.
    loaded: dict[str, pl.DataFrame] = {}
    for name, used in sorted(columns.items()):
        present = tables[name].collect_schema().names()
        selected = tables[name].lazy().select([c for c in present if c in used] or present[:1])
        loaded[name] = selected.collect()
    return loaded


def _load(tables: Mapping[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB database holding ``tables``; GX's queries run on cursors of it.

    In memory, not a scratch file: the tables are read once, and writing and checkpointing a file
    took three times as long as the copy (1.4 s against 0.45 s for two million-row tables).
    """
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET preserve_insertion_order = false")
        for name, frame in tables.items():
            connection.register("_incoming", frame)
            connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _incoming')
            connection.unregister("_incoming")
    except BaseException:
        connection.close()
        raise
    return connection


def _install_docs(build: Path, docs_dir: Path, *, key: str, blocked: Sequence[ExpectationOutcome]) -> Path:
    """Replace ``docs_dir/<key>`` with the new site in two renames, and refresh the top index."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    if not (build / "index.html").exists():
        build.mkdir(parents=True, exist_ok=True)
        (build / "index.html").write_text("<html><body><p>No expectation could run.</p></body></html>")
    if blocked:
        (build / "not_run.html").write_text(
            "<html><body><h1>Checks that could not run</h1><ul>"
            + "".join(f"<li>{html.escape(o.expectation)}: {html.escape(o.details)}</li>" for o in blocked)
            + "</ul></body></html>"
        )
    incoming = docs_dir / f".{key}.{os.getpid()}.new"
    retired = docs_dir / f".{key}.{os.getpid()}.old"
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.copytree(build, incoming)
    target = docs_dir / key
    if target.exists():
        os.replace(target, retired)
    os.replace(incoming, target)
    shutil.rmtree(retired, ignore_errors=True)
    sites = sorted(
        path.name for path in docs_dir.iterdir() if path.is_dir() and not path.name.startswith(".")
    )
    (docs_dir / "index.html").write_text(
        "<html><head><title>cdp quality</title></head><body><h1>cdp data quality</h1><ul>"
        + "".join(
            f'<li><a href="{html.escape(name)}/index.html">{html.escape(name)}</a></li>' for name in sites
        )
        + "</ul></body></html>"
    )
    return target / "index.html"
