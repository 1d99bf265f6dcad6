"""Read-only SQL for analysts: statement checks and the masked session behind ``cdp sql --masked``.

The unmasked session is a ``read_only`` DuckDB connection on the warehouse file with file access
switched off, so only the warehouse can be read and nothing can be written.

The masked session is a separate in-memory DuckDB that attaches the warehouse read-only under an
internal alias and defines one ``masked_<table>`` view per table (the same definitions publish
stores in the warehouse). The query must only name those views (or its own CTEs): any other table,
a schema- or catalog-qualified name, or a table function is rejected before it runs, and file
access, Python replacement scans and configuration changes are switched off. Limits: this is a
guard rail for a CLI, not an access-control boundary. Someone who can read ``cdp.duckdb`` can open
it directly; real separation needs OS permissions (or a separately published masked copy).
"""

from __future__ import annotations

from collections.abc import Collection

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from cdp.errors import CdpError
from cdp.warehouse.masking import masked_view_name, masked_view_sql, quote
from cdp.warehouse.warehouse import (
    Warehouse,
    WarehouseBusyError,
    _is_lock_conflict,
    _table_names,
    relation_to_polars,
    table_columns,
)

_ALLOWED_STATEMENTS = (exp.Select, exp.SetOperation, exp.Subquery, exp.Describe, exp.Show, exp.Summarize)
_FORBIDDEN_NODES = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Copy,
    exp.Attach,
    exp.Detach,
    exp.Command,
    exp.Pragma,
    exp.Set,
    exp.Use,
    exp.TruncateTable,
    exp.Into,
)
_WAREHOUSE_ALIAS = "_cdp_warehouse"


class QueryRejectedError(CdpError):
    """The SQL is not a single read-only query, or reaches outside what the session exposes."""


def check_read_only_query(sql: str, *, allowed_tables: Collection[str] | None = None) -> str:
    """Accept exactly one SELECT / WITH / DESCRIBE / SHOW / SUMMARIZE statement.

    Args:
        sql: The statement text (DuckDB dialect).
        allowed_tables: When given, the only table names the query may reference (plus its own CTEs),
            unqualified; table functions are then refused too.

    Returns:
        ``sql`` unchanged.

    Raises:
        QueryRejectedError: Anything else, with the reason.

    Example:
        >>> check_read_only_query("select count(*) from customer_360")
        'select count(*) from customer_360'
    """
    try:
        statements = [statement for statement in sqlglot.parse(sql, read="duckdb") if statement is not None]
    except ParseError as error:
        raise QueryRejectedError(f"cannot parse the query: {str(error).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryRejectedError(f"expected exactly one statement, got {len(statements)}")
    statement = statements[0]
    if not isinstance(statement, _ALLOWED_STATEMENTS):
        raise QueryRejectedError(
            f"only SELECT, WITH, DESCRIBE, SHOW and SUMMARIZE are allowed, not {statement.key.upper()}"
        )
    if forbidden := next(statement.find_all(*_FORBIDDEN_NODES), None):
        raise QueryRejectedError(
            f"the query contains a {forbidden.key.upper()} clause; only reads are allowed"
        )
    if allowed_tables is not None:
        _check_tables(statement, allowed_tables)
    return sql


def _check_tables(statement: exp.Expression, allowed: Collection[str]) -> None:
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    permitted = {name.lower() for name in allowed} | ctes
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryRejectedError(
                f"table functions such as {table.this.sql('duckdb')} are not allowed here"
            )
        if table.args.get("db") or table.args.get("catalog"):
            raise QueryRejectedError(
                f"qualified name {table.sql('duckdb')} is not allowed here; use the view name"
            )
        if table.name.lower() not in permitted:
            shown = ", ".join(sorted(allowed)[:8]) + (", ..." if len(allowed) > 8 else "")
            raise QueryRejectedError(
                f"{table.name!r} is not reachable in a masked session; use one of: {shown}"
            )


def masked_session(warehouse: Warehouse) -> tuple[duckdb.DuckDBPyConnection, tuple[str, ...]]:
    """An in-memory DuckDB exposing only the warehouse's masked views, and their names.

    Raises:
        NotFoundError: The warehouse has never been published.
        WarehouseBusyError: A publish holds the file.
    """
    probe = warehouse.connect(read_only=True)
    probe.close()
    connection = duckdb.connect(":memory:")
    try:
        connection.execute(f"ATTACH ? AS {_WAREHOUSE_ALIAS} (READ_ONLY)", [str(warehouse.duckdb_path)])
    except duckdb.IOException as error:
        connection.close()
        if _is_lock_conflict(error):
            raise WarehouseBusyError(
                f"warehouse {warehouse.root} is being published by another process; retry"
            ) from None
        raise
    source = connection.cursor()
    source.execute(f"USE {_WAREHOUSE_ALIAS}")
    names = []
    for table in _table_names(source):
        columns = table_columns(source, table)
        view = masked_view_name(table)
        sql = masked_view_sql(f"{_WAREHOUSE_ALIAS}.main.{quote(table)}", columns)
        connection.execute(f"CREATE VIEW memory.main.{quote(view)} AS {sql}")
        names.append(view)
    source.close()
    for setting in (
        "SET enable_external_access = false",
        "SET python_enable_replacements = false",
        "SET lock_configuration = true",
    ):
        connection.execute(setting)
    return connection, tuple(names)


def run_query(warehouse: Warehouse, sql: str, *, masked: bool = False) -> pl.DataFrame:
    """Run an analyst's read-only query and return the rows.

    Args:
        warehouse: The warehouse to query.
        sql: One SELECT / WITH / DESCRIBE / SHOW / SUMMARIZE statement.
        masked: Run in the masked session (only ``masked_<table>`` views reachable).

    Raises:
        QueryRejectedError: The statement is not allowed.
        CdpError: DuckDB rejected the query (message without a traceback).
    """
    check_read_only_query(sql)
    if masked:
        connection, views = masked_session(warehouse)
        check_read_only_query(sql, allowed_tables=views)
    else:
        connection = warehouse.connect(read_only=True)
        connection.execute("SET enable_external_access = false")
    try:
        return relation_to_polars(connection.sql(sql))
    except duckdb.Error as error:
        raise CdpError(f"query failed: {str(error).splitlines()[0]}") from None
    finally:
        connection.close()
