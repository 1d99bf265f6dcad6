from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import typer
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from cdp.cli.sql_cmds import register
from cdp.errors import CdpError
from cdp.warehouse import Warehouse
from cdp.warehouse.sql import QueryRejectedError, check_read_only_query, run_query


@pytest.fixture
def warehouse(tmp_path: Path, people: pl.DataFrame) -> Warehouse:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"people": people}, run_id="r1")
    return warehouse


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "SELECT 1 UNION ALL SELECT 2",
        "DESCRIBE people",
        "SHOW TABLES",
        "SUMMARIZE people",
        "FROM people SELECT source",
    ],
)
def test_read_only_statements_are_accepted(sql: str) -> None:
    assert check_read_only_query(sql) == sql


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DROP TABLE people", "not DROP"),
        ("INSERT INTO people VALUES (1)", "not INSERT"),
        ("COPY people TO 'out.csv'", "not COPY"),
        ("ATTACH 'other.duckdb' AS o", "not ATTACH"),
        ("SELECT 1; DROP TABLE people", "exactly one statement"),
        ("SELECT * INTO copy_of FROM people", "INTO"),
        ("SELEC 1", "only SELECT|cannot parse"),
    ],
)
def test_anything_else_is_rejected(sql: str, reason: str) -> None:
    with pytest.raises(QueryRejectedError, match=reason):
        check_read_only_query(sql)


def test_unmasked_query_reads_tables_but_not_files(warehouse: Warehouse) -> None:
    assert run_query(warehouse, "SELECT count(*) AS n FROM people")["n"].to_list() == [3]
    with pytest.raises(CdpError, match="disabled by configuration"):
        run_query(warehouse, f"SELECT * FROM read_parquet('{warehouse.parquet_dir}/people.parquet')")


def test_masked_session_reaches_only_masked_views(warehouse: Warehouse) -> None:
    result = run_query(
        warehouse, "SELECT first_name, email FROM masked_people ORDER BY record_id", masked=True
    )
    assert_frame_equal(
        result,
        pl.DataFrame({"first_name": ["m***", "J***", None], "email": ["m***@example.com", None, "***"]}),
    )
    for sql in (
        "SELECT * FROM people",
        "SELECT (SELECT max(first_name) FROM people)",
        "SELECT * FROM _cdp_warehouse.main.people",
        "SELECT * FROM query_table('people')",
        "SELECT * FROM read_parquet('x.parquet')",
    ):
        with pytest.raises(QueryRejectedError):
            run_query(warehouse, sql, masked=True)


def test_cdp_sql_command_formats_and_rejects(warehouse: Warehouse) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()

    as_json = runner.invoke(
        app, ["sql", "SELECT record_id FROM people ORDER BY 1", "-w", str(warehouse.root), "--format", "json"]
    )
    as_csv = runner.invoke(
        app,
        [
            "sql",
            "SELECT record_id FROM masked_people ORDER BY 1",
            "-w",
            str(warehouse.root),
            "--format",
            "csv",
            "--masked",
        ],
    )
    rejected = runner.invoke(app, ["sql", "DELETE FROM people", "-w", str(warehouse.root)])

    assert json.loads(as_json.stdout) == [{"record_id": "1"}, {"record_id": "2"}, {"record_id": "3"}]
    assert as_csv.stdout == "record_id\n1\n2\n3\n"
    assert isinstance(rejected.exception, QueryRejectedError)
