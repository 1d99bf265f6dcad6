"""``cdp sql`` and ``cdp docs``: read-only queries on the warehouse, and the generated data dictionary."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

DEFAULT_WAREHOUSE = Path("warehouse")
DEFAULT_DICTIONARY = Path("docs/data_dictionary.md")

WarehouseOption = Annotated[
    Path, typer.Option("--warehouse", "-w", help="Warehouse folder: cdp.duckdb plus Parquet of every table.")
]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def print_frame(frame: pl.DataFrame, *, output: OutputFormat, max_rows: int) -> None:
    """Write query results to stdout as a rich table (first ``max_rows`` rows), CSV or JSON rows."""
    if output is OutputFormat.csv:
        sys.stdout.write(frame.write_csv())
        return
    if output is OutputFormat.json:
        sys.stdout.write(frame.write_json() + "\n")
        return
    console = Console(highlight=False)
    table = Table(*frame.columns, show_lines=False)
    for row in frame.head(max_rows).iter_rows():
        table.add_row(*("∅" if value is None else str(value) for value in row))
    console.print(table)
    shown = min(frame.height, max_rows)
    more = f", showing the first {shown}" if frame.height > max_rows else ""
    sys.stdout.flush()  # keep the count after the table when stdout is a pipe
    Console(stderr=True, highlight=False).print(f"[dim]{frame.height} rows{more}[/]")


def register(app: typer.Typer) -> None:
    @app.command("sql")
    def sql(
        query: Annotated[
            str, typer.Argument(help="One SELECT / WITH / DESCRIBE / SHOW / SUMMARIZE statement.")
        ],
        warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
        output: Annotated[
            OutputFormat, typer.Option("--format", "-f", help="Output format.")
        ] = OutputFormat.table,
        masked: Annotated[
            bool, typer.Option(help="Only the masked_<table> views are reachable (no PII, no tokens).")
        ] = False,
        max_rows: Annotated[int, typer.Option(help="Rows shown in table format (csv/json print all).")] = 100,
    ) -> None:
        """Run a read-only SQL query against the published warehouse."""
        from cdp.warehouse import Warehouse
        from cdp.warehouse.sql import run_query

        frame = run_query(Warehouse(warehouse), query, masked=masked)
        print_frame(frame, output=output, max_rows=max_rows)

    @app.command("docs")
    def docs(
        warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
        out: Annotated[
            Path, typer.Option("--out", "-o", help="Markdown file to write.")
        ] = DEFAULT_DICTIONARY,
    ) -> None:
        """Generate the data dictionary (tables, columns, types, PII, masked views) from the warehouse."""
        from cdp.warehouse import Warehouse
        from cdp.warehouse.dictionary import write_data_dictionary

        path = write_data_dictionary(Warehouse(warehouse), out)
        Console(stderr=True, highlight=False).print(f"[green]wrote[/] {path}")
